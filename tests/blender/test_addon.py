"""The Blender add-on driven through the real ``bpy`` module, headless (docs/conventions.md, Blender).

bpy allows one Blender per process, so every Blender test lives in this module (one xdist group). Scenes are tiny:
32x20 images, 6 frames. Each test starts from an empty home file saved as ``tmp_path/scene.blend``; the add-on stays
enabled for the whole module (its own test disables and re-enables it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402  (ships with bpy)

from image_dynamics import io, render, spectral  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings, plan  # noqa: E402

from .conftest import asymmetric_pixels, raise_error  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ADDON = "blender_addon"

from blender_addon import (  # noqa: E402
    blender_image,
    engine,
    headless,
    jobs,
    motion,
    panels,
    preferences,
    properties,
    setups,
    warmup,
)
from blender_addon import scene as scene_module  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.xdist_group("blender")]

WIDTH, HEIGHT = 32, 20
START, END, FPS = 3, 8, 24  # 6 frames from scene frame 3
FRAMES = END - START + 1


@pytest.fixture
def scene(tmp_path):
    """An empty saved scene (tmp_path/scene.blend): frames 3-8 at 24 fps, Workbench showing flat texture colour."""
    bpy.ops.wm.read_homefile(use_empty=True)
    motion.clear_memory()
    sc = bpy.context.scene
    sc.frame_start, sc.frame_end = START, END
    sc.render.fps, sc.render.fps_base = FPS, 1.0
    sc.render.engine = "BLENDER_WORKBENCH"
    sc.display.shading.light = "FLAT"
    sc.display.shading.color_type = "TEXTURE"
    sc.display.render_aa = "OFF"
    sc.view_settings.view_transform = "Standard"
    sc.render.image_settings.file_format = "PNG"
    settings = sc.image_dynamics
    settings.coherence_px, settings.amplitude_px = 8.0, 3.0
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.cache_dir, prefs.model_dir = str(tmp_path / "cache"), ""
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    return sc


@pytest.fixture
def still(scene, tmp_path):
    """The asymmetric test image as a PNG file loaded into Blender and chosen in the sidebar."""
    path = io.write_png(tmp_path / "still.png", asymmetric_pixels(), "srgb")
    image = bpy.data.images.load(str(path))
    scene.image_dynamics.image = image
    return image


def bake_folder(tmp_path: Path, stem: str = "still") -> Path:
    return tmp_path / "image_dynamics" / stem


def engine_motion(pixels: np.ndarray, settings) -> spectral.SpectralVolume:
    """The motion the add-on should have computed, straight from the engine."""
    params = ProceduralParams(seed=settings.seed, coherence_px=settings.coherence_px,
                              strength_px=settings.amplitude_px)
    return procedural_motion(pixels, params=params)


def engine_render(pixels: np.ndarray, settings, frames: int = FRAMES):
    """(plan, renderer) the engine makes for the scene's settings: loop of ``frames`` at the scene fps."""
    render_plan = plan(engine_motion(pixels, settings),
                       RenderSettings(fps=FPS, loop_frames=frames, frames=(0, frames)))
    return render_plan, FrameRenderer(pixels, render_plan.motion)


def render_frame(scene, frame: int, path: Path) -> np.ndarray:
    """Render one scene frame to a PNG and read it back top-down: float32 [H, W, 3]."""
    scene.frame_set(frame)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return io.read_image(path).pixels[..., :3]


# ----------------------------------------------------------------------------------------------------------------------
# Registration


def _registered() -> dict[str, bool]:
    return {"scene_prop": hasattr(bpy.types.Scene, "image_dynamics"),
            "image_prop": hasattr(bpy.types.Image, "image_dynamics"),
            "operator": hasattr(bpy.types, "IMAGE_DYNAMICS_OT_bake"),
            "panel": hasattr(bpy.types, "IMAGE_DYNAMICS_PT_motion_view_3d"),
            "compositor_panel": hasattr(bpy.types, "IMAGE_DYNAMICS_PT_setups_compositor"),
            "cli": headless._handle is not None}


def test_register_unregister_twice_leaves_nothing_behind():
    handlers = {name: len(getattr(bpy.app.handlers, name)) for name in dir(bpy.app.handlers)
                if isinstance(getattr(bpy.app.handlers, name), list)}
    assert all(_registered().values())
    for _ in range(2):
        addon_utils.disable(ADDON, default_set=True)
        assert not any(_registered().values()), _registered()
        assert jobs.active() is None
        assert ADDON not in bpy.context.preferences.addons
        addon_utils.enable(ADDON, default_set=True, handle_error=raise_error)
        assert all(_registered().values()), _registered()
    after = {name: len(getattr(bpy.app.handlers, name)) for name in handlers}
    assert after == handlers


class RecordingLayout:
    """Stands in for ``UILayout`` (headless Blender has none): checks every property and operator a panel names."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def __getattr__(self, name):
        if name in {"row", "column", "box", "split"}:
            return lambda *args, **kwargs: RecordingLayout(self.seen)
        if name in {"label", "progress", "separator"}:
            return lambda *args, **kwargs: self.seen.append(f"{name}:{kwargs.get('text', '')}")
        raise AttributeError(name)

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        self.seen.append(f"prop:{name}")

    def template_ID(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        self.seen.append(f"template_ID:{name}")

    def operator(self, idname, **kwargs):
        module, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, module), name), idname
        self.seen.append(f"operator:{idname}")


def draw_all_panels(space_suffix: str = "view_3d") -> list[str]:
    seen: list[str] = []
    for cls in panels.classes:
        if cls.bl_idname.endswith(space_suffix):
            cls.draw(type("PanelSelf", (), {"layout": RecordingLayout(seen)})(), bpy.context)
    return seen


@pytest.fixture
def no_model_packages(monkeypatch, tmp_path):
    """Hide every installed model package (the shipped ones included) from the add-on."""
    from image_dynamics.model import package

    monkeypatch.setattr(package, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    monkeypatch.setenv("IMAGE_DYNAMICS_MODELS", str(tmp_path / "no-models"))
    engine.forget_model_status()
    yield
    engine.forget_model_status()


def test_panels_draw_every_control_in_each_state(scene, still, no_model_packages):
    assert {cls.bl_space_type for cls in panels.classes} == {"IMAGE_EDITOR", "VIEW_3D", "NODE_EDITOR"}
    assert all(cls.bl_category == "Image Dynamics" for cls in panels.classes)
    settings = scene.image_dynamics
    for source, control in (("PROCEDURAL", "prop:dominant_hz"), ("MODEL", "label:No motion model installed yet"),
                            ("FILE", "prop:motion_file")):
        settings.motion_source = source
        seen = draw_all_panels()
        assert control in seen and "operator:image_dynamics.predict" in seen and "operator:image_dynamics.bake" in seen
    assert "label:Predict to see the motion spectrum" in seen
    settings.motion_source, settings.output_kind = "PROCEDURAL", "BOTH"
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    seen = draw_all_panels("compositor")
    assert "prop:displacement_forward" in seen and any(s.startswith("label:Bake: 6 frames") for s in seen)
    spectrum = [s for s in seen if re.match(r"label: *\d+\.\d Hz ", s)]
    assert len(spectrum) == 16 and spectrum[0].endswith(" 0.0%")  # the plot: one row per band, 0 Hz never moves
    job = jobs.Job("Baking test", lambda progress: None)
    jobs._active = job
    try:
        assert "operator:image_dynamics.cancel" in draw_all_panels()
    finally:
        jobs._active = None


# ----------------------------------------------------------------------------------------------------------------------
# Blender image <-> engine array


def test_blender_image_rows_are_turned_top_down(scene, still, tmp_path):
    expected = io.read_image(tmp_path / "still.png")
    pixels, colorspace = blender_image.image_pixels(still)
    assert colorspace == "srgb" and pixels.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_allclose(pixels, expected.pixels, atol=1e-6)
    # Blender's own buffer: the red marker (top left of the picture) is in its *last* rows
    raw = np.array(still.pixels[:], dtype=np.float32).reshape(HEIGHT, WIDTH, 4)
    assert np.allclose(raw[HEIGHT - 1, 0, :3], (1, 0, 0)) and not np.allclose(raw[0, 0, :3], (1, 0, 0))


def test_float_images_round_trip_with_straight_alpha(scene, tmp_path):
    rgba = np.concatenate([asymmetric_pixels() * 1.5, np.linspace(0.2, 1.0, WIDTH * HEIGHT, dtype=np.float32)
                           .reshape(HEIGHT, WIDTH, 1)], axis=2)
    image = blender_image.array_to_image(rgba, "float rgba", colorspace="linear")
    raw = blender_image.blender_to_array(image)
    np.testing.assert_allclose(raw[..., :3], rgba[..., :3] * rgba[..., 3:], rtol=1e-6)  # float buffers: premultiplied
    pixels, colorspace = blender_image.image_pixels(image)
    assert colorspace == "linear"
    np.testing.assert_allclose(pixels, rgba, rtol=1e-5)
    # an EXR written by the engine (premultiplied on disk) reads back as the engine reads it
    io.write_exr_image(tmp_path / "rgba.exr", rgba, "linear")
    loaded = bpy.data.images.load(str(tmp_path / "rgba.exr"))
    np.testing.assert_allclose(blender_image.image_pixels(loaded)[0], io.read_image(tmp_path / "rgba.exr").pixels,
                               rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------------------------------
# Predict, cache, bake


def test_predict_is_cached_and_edits_never_recompute(scene, still, monkeypatch):
    import image_dynamics.procedural as procedural_module

    calls = []
    original = procedural_module.procedural_motion
    monkeypatch.setattr(procedural_module, "procedural_motion", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert bpy.ops.image_dynamics.predict() == {"FINISHED"}
    key = still.image_dynamics.motion_key
    assert key.startswith("procedural-") and len(calls) == 1
    summary = motion.summary_for(still.name)
    assert summary.grid == (WIDTH, HEIGHT) and len(summary.freqs_hz) == 16
    assert summary.energy_share[0] == 0 and abs(sum(summary.energy_share) - 1) < 1e-6
    settings = scene.image_dynamics
    settings.strength, settings.band_gains[2] = 0.5, 0.3
    settings.output_kind = "SEQUENCE"
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    assert len(calls) == 1 and still.image_dynamics.motion_key == key  # the bake reused the cached volume
    settings.seed = 7  # a motion setting: new key, computed again
    assert bpy.ops.image_dynamics.predict() == {"FINISHED"}
    assert len(calls) == 2 and still.image_dynamics.motion_key != key


def keyframe_linear(settings, path: str, keys: tuple[tuple[int, float], ...], index: int = -1):
    """Keyframe ``settings.<path>[index]`` (or a scalar ``path``) at ``(frame, value)`` keys, linear in between."""
    for frame, value in keys:
        if index < 0:
            setattr(settings, path, value)
        else:
            getattr(settings, path)[index] = value
        settings.keyframe_insert(path, index=index, frame=frame)
    curve = scene_module.find_fcurve(bpy.context.scene, f"image_dynamics.{path}", max(index, 0))
    assert curve is not None and len(curve.keyframe_points) == len(keys)
    for point in curve.keyframe_points:
        point.interpolation = "LINEAR"
    return curve


def forward_maps(folder: Path) -> list[np.ndarray]:
    return [io.read_displacement_exr(folder / f"still_forward_{i:04d}.exr")[0] for i in range(1, FRAMES + 1)]


def displacement_only(settings) -> None:
    settings.output_kind, settings.displacement_compositor, settings.overwrite = "DISPLACEMENT", False, True


def test_animated_strength_varies_frame_by_frame(scene, still, tmp_path):
    settings = scene.image_dynamics
    displacement_only(settings)
    assert scene_module.animated_edits(scene, FRAMES) is None  # nothing keyframed: the un-animated path
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}  # strength 1, the reference
    reference = forward_maps(bake_folder(tmp_path))
    curve = keyframe_linear(settings, "strength", ((START, 0.0), (END, 2.0)))
    strengths = [2.0 * i / (FRAMES - 1) for i in range(FRAMES)]
    for i, strength in enumerate(strengths):  # the F-curve sampling agrees with Blender's own evaluation
        scene.frame_set(START + i)
        assert settings.strength == pytest.approx(strength, abs=1e-6)
        assert curve.evaluate(START + i) == pytest.approx(strength, abs=1e-6)
    scene.frame_set(END)  # the current frame no longer matters
    assert scene_module.animated_edits(scene, FRAMES).band_gains is None
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    animated = forward_maps(bake_folder(tmp_path))
    assert np.abs(reference[3]).max() > 0.5  # the reference really moves
    for i, strength in enumerate(strengths):
        np.testing.assert_allclose(animated[i], strength * reference[i], atol=1e-4, err_msg=f"frame {i}")


def test_animated_band_gain_varies_frame_by_frame(scene, still, tmp_path):
    settings = scene.image_dynamics
    displacement_only(settings)
    settings.seamless = False  # the natural 5 s loop: bands stay at k * 0.2 Hz, where the static curve is read too
    band = 2  # the 1.0 Hz control point
    gains = [1.0 - i / (FRAMES - 1) for i in range(FRAMES)]
    statics = {}
    for i in (0, 2, FRAMES - 1):  # static bakes at the values the animated curve takes on these frames
        settings.band_gains[band] = gains[i]
        assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
        statics[i] = forward_maps(bake_folder(tmp_path))[i]
    assert np.abs(statics[0] - statics[FRAMES - 1]).max() > 0.05  # the 1 Hz bands carry visible motion
    keyframe_linear(settings, "band_gains", ((START, 1.0), (END, 0.0)), index=band)
    scene.frame_set(START + 1)
    animation = scene_module.animated_edits(scene, FRAMES)
    assert animation.strengths is None
    assert [dict(curve)[1.0] for curve in animation.band_gains] == pytest.approx(gains, abs=1e-6)
    assert all(dict(curve)[0.5] == 1.0 for curve in animation.band_gains)  # unanimated bands keep their value
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    animated = forward_maps(bake_folder(tmp_path))
    for i, expected in statics.items():
        np.testing.assert_allclose(animated[i], expected, atol=1e-4, err_msg=f"frame {i}")


def test_bake_writes_the_engines_frames_for_the_scene(scene, still, tmp_path):
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    folder = bake_folder(tmp_path)
    assert sorted(os.listdir(folder)) == [f"still_{i:04d}.png" for i in range(1, FRAMES + 1)]
    state = still.image_dynamics
    assert (state.bake_dir, state.bake_frames, state.bake_start, state.bake_format) == (
        "//image_dynamics/still/", FRAMES, START, "png")
    assert state.bake_fps == FPS and state.bake_loops
    pixels = blender_image.image_pixels(still)[0]
    render_plan, renderer = engine_render(pixels, scene.image_dynamics)
    assert render_plan.loop_frames == FRAMES
    for index, flow in enumerate(renderer.flows(render_plan.times)):
        expected = io.to_display_uint8(renderer.frame(flow), "srgb")
        written = io.to_display_uint8(io.read_image(folder / f"still_{index + 1:04d}.png").pixels, "srgb")
        np.testing.assert_array_equal(written, expected)
    first, third = (io.read_image(folder / f"still_{i:04d}.png").pixels for i in (1, 3))
    assert np.abs(first - third).mean() > 0.01  # it really moves


def test_packed_and_generated_images_bake_from_their_pixels(scene, tmp_path):
    generated = blender_image.array_to_image(asymmetric_pixels(2), "painted", colorspace="srgb")
    assert generated.source == "GENERATED"
    packed_path = io.write_png(tmp_path / "packed.png", asymmetric_pixels(3), "srgb")
    packed = bpy.data.images.load(str(packed_path))
    packed.pack()
    os.remove(packed_path)
    for image, stem, seed in ((generated, "painted", 2), (packed, "packed", 3)):
        assert bpy.ops.image_dynamics.bake(image_name=image.name) == {"FINISHED"}
        first = io.read_image(bake_folder(tmp_path, stem) / f"{stem}_0001.png").pixels
        np.testing.assert_allclose(first, asymmetric_pixels(seed), atol=0.5 / 255)  # frame 0 is the still


def test_save_motion_beside_the_blend_and_bake_from_it(scene, still, tmp_path):
    assert bpy.ops.image_dynamics.predict() == {"FINISHED"}
    assert bpy.ops.image_dynamics.save_motion() == {"FINISHED"}
    settings = scene.image_dynamics
    assert settings.motion_source == "FILE"
    assert settings.motion_file == "//image_dynamics/still/still_motion.npz"
    saved = spectral.load(tmp_path / "image_dynamics" / "still" / "still_motion.npz")
    expected = engine_motion(blender_image.image_pixels(still)[0], settings)
    np.testing.assert_array_equal(saved.coeffs, expected.coeffs)
    motion.clear_memory()
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    assert still.image_dynamics.motion_key.startswith("file-")
    assert len(os.listdir(bake_folder(tmp_path))) == FRAMES + 1


# ----------------------------------------------------------------------------------------------------------------------
# Setups and renders


def test_material_plays_the_sequence_in_step_with_the_scene(scene, still, tmp_path):
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    assert bpy.ops.image_dynamics.setup_material() == {"FINISHED"}
    material = bpy.data.materials[f"ID {still.name}"]
    node = material.node_tree.nodes["ID Frames"]
    sequence = node.image
    assert sequence.source == "SEQUENCE" and sequence.colorspace_settings.name == "sRGB"
    assert sequence.filepath == "//image_dynamics/still/still_0001.png"
    user = node.image_user
    assert (user.frame_duration, user.frame_start, user.frame_offset) == (FRAMES, START, 0)
    assert user.use_cyclic and user.use_auto_refresh
    emission = material.node_tree.nodes["Emission"]
    assert emission.inputs["Color"].links[0].from_node == node
    plane = bpy.data.objects[f"ID {still.name} plane"]
    assert plane.data.materials[0] == material and scene.camera.data.type == "ORTHO"
    assert (scene.render.resolution_x, scene.render.resolution_y) == (WIDTH, HEIGHT)
    folder = bake_folder(tmp_path)
    rendered = {}
    for offset in (0, 2, FRAMES):  # FRAMES: one loop later, cyclic, shows frame 0 again
        rendered[offset] = render_frame(scene, START + offset, tmp_path / f"render_{offset}.png")
    for offset, file_index in ((0, 1), (2, 3), (FRAMES, 1)):
        baked = io.read_image(folder / f"still_{file_index:04d}.png").pixels
        assert np.abs(rendered[offset] - baked).max() <= 2.5 / 255, offset
    assert np.abs(rendered[0] - rendered[2]).mean() > 0.01  # the texture advanced with the scene frame


def compositor_nodes(scene):
    """``(tree, output socket)`` of the scene's compositor: the 5.0 node group's output, or 4.x's Composite node."""
    if hasattr(scene, "compositing_node_group"):
        tree = scene.compositing_node_group
        return tree, next(n for n in tree.nodes if n.bl_idname == "NodeGroupOutput").inputs[0]
    tree = scene.node_tree
    return tree, next(n for n in tree.nodes if n.bl_idname == "CompositorNodeComposite").inputs["Image"]


def test_compositor_displaces_the_still_with_the_compositor_maps(scene, still, tmp_path):
    settings = scene.image_dynamics
    settings.output_kind, settings.displacement_forward = "DISPLACEMENT", False
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    assert sorted(os.listdir(bake_folder(tmp_path)))[0] == "still_compositor_0001.exr"
    assert bpy.ops.image_dynamics.setup_compositor() == {"FINISHED"}
    tree, output = compositor_nodes(scene)
    displace = tree.nodes["ID Displace"]
    maps = tree.nodes["ID Compositor Maps"]
    if "Displacement" in displace.inputs:  # 5.0+: the map is the displacement vector
        assert displace.inputs["Displacement"].links[0].from_node == maps
        assert displace.inputs["Image"].links[0].from_node == tree.nodes["ID Still"]
    elif displace.bl_idname == "CompositorNodeMixRGB":  # 4.5: four nearest reads mixed bilinearly
        taps = [tree.nodes[f"ID Tap {dx}{dy}"] for dx in (0, 1) for dy in (0, 1)]
        assert all(t.filter_type == "NEAREST" and t.inputs["Image"].links[0].from_node == tree.nodes["ID Still"]
                   for t in taps)
        assert tree.nodes["ID Map Channels"].inputs["Image"].links[0].from_node == maps
    else:  # 4.2: the map's channels are the per-pixel scales of a constant (1, 1) vector
        channels = tree.nodes["ID Map Channels"]
        assert channels.inputs["Image"].links[0].from_node == maps and not displace.inputs["Vector"].links
        assert displace.inputs["X Scale"].links[0].from_socket == channels.outputs["Red"]
        assert displace.inputs["Y Scale"].links[0].from_socket == channels.outputs["Green"]
        assert displace.inputs["Image"].links[0].from_node == tree.nodes["ID Still"]
    assert tree.nodes["ID Still"].image == still
    assert maps.image.source == "SEQUENCE" and maps.image.colorspace_settings.name == "Non-Color"
    assert maps.image.filepath == "//image_dynamics/still/still_compositor_0001.exr"
    assert maps.image.name == "still_compositor_####.exr"
    assert (maps.frame_duration, maps.frame_start, maps.use_cyclic) == (FRAMES, START, True)
    assert output.links[0].from_node == displace
    assert scene.render.use_compositing
    pixels = blender_image.image_pixels(still)[0]
    render_plan, renderer = engine_render(pixels, settings)
    flows = list(renderer.flows(render_plan.times))
    index = 2
    vmap, header = io.read_displacement_exr(bake_folder(tmp_path) / f"still_compositor_{index + 1:04d}.exr")
    assert header["map"] == "compositor"
    np.testing.assert_allclose(vmap, renderer.compositor_map(flows[index]), atol=1e-5)
    rendered = render_frame(scene, START + index, tmp_path / "composite.png")
    # the Displace node computes out(q) = in(q - v(q)) with v y-up in the file: the engine's backward warp (the
    # compositor interpolates scene-linear values)
    expected = io.linear_to_srgb(render.backward_warp(io.srgb_to_linear(pixels), vmap))
    assert np.abs(rendered - expected).max() <= 3 / 255
    engine_frame = renderer.frame(flows[index])
    moved = np.abs(engine_frame - pixels).mean()
    assert np.abs(rendered - engine_frame).mean() < 0.35 * moved  # close to the splatted frame, far from the still


def marker_image(width: int = 64, height: int = 40) -> np.ndarray:
    """float32 [H, W, 3] sRGB: smooth colour ramps (red below 0.45) and a pure red 6x4 marker near the top left."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([0.1 + 0.3 * x / width, 0.4 + 0.2 * np.sin(x / 6.0) * np.cos(y / 5.0), 0.2 + 0.4 * y / height], -1)
    img[6:10, 8:14] = (1.0, 0.0, 0.0)
    return img.astype(np.float32)


def marker_centre(pixels: np.ndarray) -> tuple[float, float]:
    """Centre ``(x, y)`` of the red marker's pixels (weighted by how red they are), engine pixel coordinates."""
    redness = np.clip((pixels[..., 0] - 0.5) * 2, 0, 1) * np.clip(1 - 2 * pixels[..., 1], 0, 1)
    ys, xs = np.mgrid[0:pixels.shape[0], 0:pixels.shape[1]]
    return float((xs * redness).sum() / redness.sum()), float((ys * redness).sum() / redness.sum())


def test_compositor_setup_equals_the_backward_warp_up_to_the_edges(scene, tmp_path):
    """A 3-8 px map that reaches every edge: the compositor render is the engine's backward warp within 3/255 at every
    pixel, opaque everywhere (no edge holes), and the asymmetric marker lands on the same pixel, on every Blender."""
    width, height = 64, 40
    pixels = marker_image(width, height)
    path = io.write_png(tmp_path / "marker.png", pixels, "srgb")
    image = bpy.data.images.load(str(path))
    y, x = np.mgrid[0:height, 0:width]
    field = np.stack([4.5 + 1.5 * np.sin(2 * np.pi * x / width),  # 3..6 px right: the left edge samples outside
                      2.5 + 1.5 * np.cos(2 * np.pi * y / height + x / 30.0)]).astype(np.float32)  # 1..4 px down
    magnitude = np.hypot(*field)
    assert magnitude.min() >= 3 and magnitude.max() <= 8 and (x - field[0] < 0).any() and (y - field[1] < 0).any()
    vmap = render.samples_inside(field)  # what the bake writes
    io.write_displacement_exr(tmp_path / "marker_compositor_0001.exr", vmap, "compositor")
    state = image.image_dynamics
    state.bake_dir, state.bake_stem, state.bake_frames, state.bake_start = "//", "marker", 1, 1
    state.bake_compositor, state.bake_loops = True, True
    scene.image_dynamics.image = image
    assert bpy.ops.image_dynamics.setup_compositor() == {"FINISHED"}
    scene.render.image_settings.file_format = "OPEN_EXR"  # float output: no 8-bit rounding in what is measured
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.film_transparent = True
    scene.frame_set(1)
    scene.render.filepath = str(tmp_path / "composite.exr")
    bpy.ops.render.render(write_still=True)
    rendered = io.read_image(tmp_path / "composite.exr").pixels
    assert rendered.shape == (height, width, 4)
    expected = io.linear_to_srgb(render.backward_warp(io.srgb_to_linear(pixels), field))
    error = np.abs(io.linear_to_srgb(rendered[..., :3]) - expected).max()
    print(f"compositor on Blender {bpy.app.version_string}: max error {error * 255:.2f}/255, "
          f"lowest alpha {rendered[..., 3].min():.4f}")
    assert error <= 3 / 255
    assert rendered[..., 3].min() >= 0.999
    got, want = marker_centre(io.linear_to_srgb(rendered[..., :3])), marker_centre(expected)
    assert abs(got[0] - want[0]) < 0.1 and abs(got[1] - want[1]) < 0.1, (got, want)
    assert abs(want[0] - marker_centre(pixels)[0]) > 3  # the marker really moved


def test_displace_modifier_moves_vertices_by_the_forward_maps(scene, still, tmp_path):
    settings = scene.image_dynamics
    settings.output_kind, settings.displacement_compositor = "DISPLACEMENT", False
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    assert bpy.ops.image_dynamics.setup_displace(max_side=64) == {"FINISHED"}
    obj = bpy.data.objects[f"ID {still.name} displaced"]
    modifier = obj.modifiers["Image Dynamics"]
    texture = modifier.texture
    assert texture.image.colorspace_settings.name == "Non-Color" and not texture.use_clamp
    assert (modifier.direction, modifier.texture_coords, modifier.mid_level) == ("RGB_TO_XYZ", "UV", 0.0)
    base = np.array([v.co[:] for v in obj.data.vertices]).reshape(HEIGHT, WIDTH, 3)  # one vertex per pixel
    units_per_pixel = setups.PLANE_HEIGHT / HEIGHT
    assert modifier.strength == pytest.approx(units_per_pixel)
    for index in (0, 2, 4):
        scene.frame_set(START + index)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        moved = np.array([v.co[:] for v in evaluated.data.vertices]).reshape(HEIGHT, WIDTH, 3)
        forward, header = io.read_displacement_exr(bake_folder(tmp_path) / f"still_forward_{index + 1:04d}.exr")
        assert header["map"] == "forward"
        delta = (moved - base) / units_per_pixel
        np.testing.assert_allclose(delta[..., 0], forward[0], atol=1e-4)  # x right
        np.testing.assert_allclose(-delta[..., 1], forward[1], atol=1e-4)  # engine y down = Blender -Y
        assert np.abs(delta[..., 2]).max() == 0
    assert np.abs(forward).max() > 0.5  # frame 4 really moves


# ----------------------------------------------------------------------------------------------------------------------
# Errors surface as reports with what to do


def _error(operator, match: str, **kwargs) -> None:
    with pytest.raises(RuntimeError, match=match):
        operator(**kwargs)


def test_errors_are_reported_with_what_to_do(scene, still, tmp_path, no_model_packages):
    bake = bpy.ops.image_dynamics.bake
    settings = scene.image_dynamics
    settings.image = None
    _error(bake, r"No image selected\. Choose one")
    missing = bpy.data.images.load(str(tmp_path / "still.png"), check_existing=False)
    missing.filepath = str(tmp_path / "gone.png")
    missing.reload()
    _error(bake, r"has no pixels: its file .*gone\.png is missing or unreadable\. Relink", image_name=missing.name)
    settings.image = still
    scene.frame_end = START
    _error(bake, r"frame range 3-3 is 1 frame\(s\); a loop needs at least 2")
    scene.frame_end = END
    settings.motion_source = "MODEL"
    _error(bake, r"No motion model package is installed.*Procedural")
    _error(bpy.ops.image_dynamics.predict, r"No motion model package")
    settings.motion_source = "FILE"
    settings.motion_file = "//nowhere.npz"
    _error(bake, r"nowhere\.npz not found")
    settings.motion_source = "PROCEDURAL"
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    settings.output_dir = str(blocker) + "/"
    _error(bake, r"a_file is a file, not a folder")
    settings.output_dir = "//image_dynamics/"
    assert bake() == {"FINISHED"}
    _error(bake, r"already holds a bake .*Overwrite")
    settings.overwrite = True
    assert bake() == {"FINISHED"}
    settings.output_kind = "DISPLACEMENT"
    settings.displacement_forward = settings.displacement_compositor = False
    _error(bake, r"neither Forward nor Compositor")
    settings.output_kind = "SEQUENCE"
    _error(bpy.ops.image_dynamics.setup_displace, r"no bake with forward displacement maps")
    bpy.ops.wm.read_homefile(use_empty=True)  # unsaved .blend, relative output folder
    image = blender_image.array_to_image(asymmetric_pixels(), "unsaved", colorspace="srgb")
    bpy.context.scene.image_dynamics.image = image
    _error(bake, r"relative to the \.blend, which is not saved yet\. Save the \.blend first")


def test_unwritable_folder_is_reported(scene, still, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anywhere: deny it the way permissions would
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: (Path(path) != locked or not mode & os.W_OK)
                            and real_access(path, mode))
    scene.image_dynamics.output_dir = str(locked) + "/"
    _error(bpy.ops.image_dynamics.bake, r"locked is not writable\. Choose a folder you can write to")
    assert os.listdir(locked) == []


# ----------------------------------------------------------------------------------------------------------------------
# Jobs: worker thread, main-thread polling, cancel


def test_worker_thread_job_keeps_main_thread_callbacks_short(scene, tmp_path):
    forest = bpy.data.images.load(str(ROOT / "core" / "image_dynamics" / "samples" / "forest.jpg"))
    scene.image_dynamics.image = forest
    scene.image_dynamics.output_kind = "BOTH"
    for make in (scene_module.predict_job, scene_module.bake_job):
        job = jobs.begin(make(bpy.context, forest), threaded=True)
        assert job.state == jobs.RUNNING
        while not job.poll():
            time.sleep(0.005)
        jobs.release(job)
        assert job.state == jobs.DONE, job.message
        print(f"{job.label}: {len(job.poll_seconds)} polls, longest {max(job.poll_seconds) * 1000:.2f} ms, "
              f"work {job.finished_at - job.started:.2f} s")
        assert len(job.poll_seconds) > 3  # it ran while the main thread kept polling
        assert max(job.poll_seconds) < 0.1
    assert len(os.listdir(bake_folder(tmp_path, "forest"))) == 3 * FRAMES


def test_cancel_mid_bake_leaves_no_files(scene, still, tmp_path):
    scene.frame_end = START + 39  # 40 frames, so the cancel lands mid-bake
    job = scene_module.bake_job(bpy.context, still)
    job.progress.callback = lambda done, total, stage: job.cancel() if stage == "rendering" and done >= 2 else None
    jobs.begin(job, threaded=True)
    while not job.poll():
        time.sleep(0.005)
    jobs.release(job)
    assert job.state == jobs.CANCELLED and "nothing was written" in job.message
    folder = bake_folder(tmp_path)
    assert not folder.exists() or os.listdir(folder) == []
    assert still.image_dynamics.bake_frames == 0


# ----------------------------------------------------------------------------------------------------------------------
# Command line and packaging


def test_command_line_handler_bakes_and_reports(scene, still, tmp_path, capsys, no_model_packages):
    assert headless.main(["bake", "--image", still.name, "--output", "//out/", "--loop-frames", "4",
                          "--kind", "both", "--displacement", "forward", "--setup", "material,displace",
                          "--save"]) == 0
    out = capsys.readouterr().out
    assert "Baked 4 frames" in out and "material setup done" in out
    files = sorted(os.listdir(tmp_path / "out" / "still"))
    assert files == [f"still_{i:04d}.png" for i in range(1, 5)] + [f"still_forward_{i:04d}.exr" for i in range(1, 5)]
    assert bpy.data.objects.get(f"ID {still.name} displaced") is not None
    assert headless.main(["bake", "--image", still.name, "--output", "//out/", "--loop-frames", "4"]) == 1
    assert "already holds a bake" in capsys.readouterr().err
    assert headless.main(["bake", "--image", "nope.png"]) == 1
    assert "no image of that name" in capsys.readouterr().err
    assert headless.main(["bake", "--image", still.name, "--source", "model"]) == 1
    assert "No motion model package" in capsys.readouterr().err
    assert headless.main(["bake"]) == 2  # usage error: argparse says what is missing
    assert headless.main(["predict", "--image", str(tmp_path / "still.png"), "--source", "procedural",
                          "--save-motion"]) == 0
    assert (tmp_path / "out" / "still" / "still_motion.npz").is_file()  # the .blend saved --output //out/


def test_the_shipped_model_predicts_and_bakes_through_the_add_on(scene, still, tmp_path, capsys):
    engine.forget_model_status()
    assert headless.main(["bake", "--image", still.name, "--source", "model", "--output", "//model_out/",
                          "--loop-frames", "4", "--kind", "both", "--displacement", "forward"]) == 0
    folder = tmp_path / "model_out" / "still"
    assert sorted(os.listdir(folder))[:4] == [f"still_{i:04d}.png" for i in range(1, 5)]
    forward, _ = io.read_displacement_exr(folder / "still_forward_0001.exr")
    assert np.abs(forward).max() == 0  # frame 0 is the still
    later = [io.read_displacement_exr(folder / f"still_forward_{i:04d}.exr")[0] for i in range(2, 5)]
    assert max(np.abs(f).max() for f in later) > 0  # the model's motion moves something

    # the sampler settings reach the model and key the cache: guidance 1 (off) and 2 steps give other motion
    assert headless.main(["bake", "--image", still.name, "--source", "model", "--output", "//model_out2/",
                          "--loop-frames", "4", "--kind", "displacement", "--displacement", "forward",
                          "--steps", "2", "--guidance", "1"]) == 0
    other = io.read_displacement_exr(tmp_path / "model_out2" / "still" / "still_forward_0002.exr")[0]
    assert not np.allclose(other, later[0])
    assert headless.main(["bake", "--image", still.name, "--guidance", "-1", "--output", "//x/"]) == 1
    assert "--guidance must be 0" in capsys.readouterr().err
    assert headless.main(["bake", "--image", still.name, "--steps", "-1", "--output", "//x/"]) == 1
    assert "--steps must be 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


INSTALL_AND_BAKE = """
import json, os, sys
import bpy
zip_path, out = sys.argv[-2], sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
name = "bl_ext.user_default.image_dynamics"
addon = sys.modules[name]
site = os.path.join(os.environ["BLENDER_USER_RESOURCES"], "extensions", ".local", "lib", "python3.11",
                    "site-packages")
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out, "farm.blend"))
image = addon.blender_image.array_to_image([[[0.2, 0.6, 0.1]] * 24] * 16, "leaf", colorspace="srgb")
status = addon.headless.main(["bake", "--image", "leaf", "--loop-frames", "4", "--output", "//baked/"])
result = {"enabled": name in bpy.context.preferences.addons, "status": status,
          "prefs": bpy.context.preferences.addons[name].preferences.bl_rna.identifier,
          "wheel_installed": os.path.isfile(os.path.join(site, "image_dynamics", "bake.py")),
          "files": sorted(os.listdir(os.path.join(out, "baked", "leaf")))}
bpy.ops.extensions.package_uninstall(repo_index=1, pkg_id="image_dynamics")
result["removed"] = not hasattr(bpy.types.Scene, "image_dynamics") and name not in bpy.context.preferences.addons
print("RESULT " + json.dumps(result))
"""


@pytest.fixture(scope="module")
def plain_zip(tmp_path_factory) -> Path:
    """The extension zip without dependencies (engine wheel, the shipped model inside it), built once."""
    folder = tmp_path_factory.mktemp("extension")
    script = ROOT / "scripts" / "build_extension.py"
    subprocess.run([sys.executable, str(script), "--output-dir", str(folder / "dist"), "--build-dir",
                    str(folder / "build")], check=True, capture_output=True, text=True)
    return folder / "dist" / f"image_dynamics-{engine.addon_version()}.zip"


def test_extension_zip_builds_validates_installs_and_bakes(tmp_path, plain_zip):
    archive = plain_zip
    version = engine.addon_version()
    wheel = f"wheels/image_dynamics-{version}-py3-none-any.whl"
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        manifest = zf.read("blender_manifest.toml").decode()
        with zf.open(wheel) as fh, zipfile.ZipFile(fh) as engine_wheel:
            packaged = set(engine_wheel.namelist())
    assert {"__init__.py", "warmup.py", "scene.py", "work.py", "blender_manifest.toml", wheel} <= names
    assert "image_dynamics/models/default/model.json" in packaged  # the shipped model travels inside the wheel
    assert not any("__pycache__" in n for n in names)
    assert f'"./{wheel}"' in manifest and "[permissions]" in manifest
    print(f"plain zip: {archive.stat().st_size / 1e6:.1f} MB")
    from scripts.build_extension import find_blender_ext

    check = subprocess.run([sys.executable, str(find_blender_ext()), "validate", str(archive)], capture_output=True,
                           text=True)
    assert check.returncode == 0 and "Success" in check.stdout, check.stdout + check.stderr
    # install it the way Blender does (its extension installer, into a scratch user folder), enable, bake, remove
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "user")}
    child = subprocess.run([sys.executable, "-c", INSTALL_AND_BAKE, str(archive), str(tmp_path)], env=env,
                           capture_output=True, text=True, timeout=300)
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, child.stdout[-2000:] + child.stderr[-2000:]
    result = json.loads(lines[0][len("RESULT "):])
    assert result == {"enabled": True, "status": 0, "prefs": "ImageDynamicsPreferences", "wheel_installed": True,
                      "files": [f"leaf_{i:04d}.png" for i in range(1, 5)], "removed": True}


#: Installs a zip into the Blender of this Python (argv: zip, scratch folder, mode), then reports as JSON:
#: mode "missing": draws the panels and preferences, runs every operator and the command-line handler;
#: mode "predict": predicts with the Model source (no preference set) and bakes.
INSTALL_AND_RUN = """
import contextlib, io, json, os, sys
import bpy
zip_path, out, mode = sys.argv[-3], sys.argv[-2], sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
name = "bl_ext.user_default.image_dynamics"
addon = sys.modules[name]
result = {"enabled": name in bpy.context.preferences.addons}
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out, "scene.blend"))
image = bpy.data.images.new("leaf", 24, 16)
image.pixels.foreach_set([0.2, 0.6, 0.1, 1.0] * (24 * 16))
bpy.context.scene.image_dynamics.image = image


class Layout:
    def __init__(self, seen):
        self.seen = seen

    def __getattr__(self, attr):
        if attr in {"row", "column", "box", "split"}:
            return lambda *a, **k: Layout(self.seen)
        return lambda *a, **k: self.seen.append(k.get("text", "")) if attr == "label" else None


def draw(cls, owner=None):
    seen = []
    cls.draw(owner or type("Self", (), {"layout": Layout(seen)})(), bpy.context)
    return seen


if mode == "missing":
    labels = []
    for cls in addon.panels.classes:
        if cls.bl_idname.endswith("view_3d"):
            labels += draw(cls)
    prefs = bpy.context.preferences.addons[name].preferences
    seen = []
    type(prefs).draw(type("Self", (), {"layout": Layout(seen), "compute_device": "AUTO", "cache_dir": "",
                                       "model_dir": ""})(), bpy.context)
    result["labels"] = labels + seen
    reports = {}
    for op in ("predict", "bake", "save_motion", "setup_material", "setup_compositor", "setup_displace",
               "detect_devices", "clear_cache"):
        try:
            reports[op] = str(getattr(bpy.ops.image_dynamics, op)())
        except RuntimeError as exc:
            reports[op] = str(exc)
    result["reports"] = reports
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        result["cli_status"] = addon.headless.main(["bake", "--image", "leaf"])
    result["cli"] = err.getvalue()
else:
    bpy.context.scene.image_dynamics.motion_source = "MODEL"
    result["predict"] = str(bpy.ops.image_dynamics.predict(image_name="leaf"))
    result["key"] = image.image_dynamics.motion_key
    result["status"] = addon.headless.main(["bake", "--image", "leaf", "--loop-frames", "3", "--output", "//out/",
                                            "--steps", "2"])
    result["files"] = sorted(os.listdir(os.path.join(out, "out", "leaf")))
print("RESULT " + json.dumps(result))
"""


def install_and_run(python: str, archive: Path, folder: Path, mode: str) -> dict:
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(folder / "user")}
    env.pop("PYTHONPATH", None)
    env.pop("IMAGE_DYNAMICS_MODELS", None)
    child = subprocess.run([python, "-c", INSTALL_AND_RUN, str(archive), str(folder), mode], env=env,
                           capture_output=True, text=True, timeout=480, cwd=folder)
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, child.stdout[-3000:] + child.stderr[-3000:]
    return json.loads(lines[0][len("RESULT "):])


BPY_ONLY = os.environ.get("IMAGE_DYNAMICS_BPY_ONLY_PYTHON", "")


@pytest.mark.skipif(not BPY_ONLY, reason="no bpy-only Python given ($IMAGE_DYNAMICS_BPY_ONLY_PYTHON, set by "
                                         "scripts/blender_envs.sh and scripts/test.sh)")
def test_plain_zip_in_a_bare_blender_names_the_missing_module_and_the_zip_to_install(tmp_path, plain_zip):
    missing = subprocess.run([BPY_ONLY, "-c", "import importlib.util as u; print(u.find_spec('cv2') is None)"],
                             capture_output=True, text=True).stdout.strip()
    assert missing == "True"  # a Blender as shipped: no OpenCV, Pillow, OpenEXR, numba
    result = install_and_run(BPY_ONLY, plain_zip, tmp_path, "missing")
    assert result["enabled"]
    zip_name = f"image_dynamics-{engine.addon_version()}-linux_x64.zip"
    assert f"Missing Python module 'cv2': install {zip_name}" in result["labels"]  # the panel says it
    assert any("'cv2'" in label and "--with-deps" in label for label in result["labels"])  # and the preferences
    assert set(result["reports"]) == {"predict", "bake", "save_motion", "setup_material", "setup_compositor",
                                      "setup_displace", "detect_devices", "clear_cache"}
    for operator, report in [*result["reports"].items(), ("command line", result["cli"])]:
        line = report.strip()
        assert "\n" not in line and "Traceback" not in line, (operator, report)
        assert "'cv2' (opencv-python-headless) is missing" in line and zip_name in line, (operator, report)
    assert result["cli_status"] == 1 and result["cli"].startswith("image_dynamics: error: ")


WITH_DEPS_ZIP = os.environ.get("IMAGE_DYNAMICS_WITH_DEPS_ZIP", "")


@pytest.mark.skipif(not (BPY_ONLY and WITH_DEPS_ZIP), reason="no --with-deps zip given "
                                                             "($IMAGE_DYNAMICS_WITH_DEPS_ZIP, set by "
                                                             "scripts/blender_envs.sh)")
def test_zip_with_dependencies_in_a_bare_blender_predicts_with_the_shipped_model(tmp_path):
    result = install_and_run(BPY_ONLY, Path(WITH_DEPS_ZIP), tmp_path, "predict")
    assert result["enabled"] and result["predict"] == "{'FINISHED'}"
    assert result["key"].startswith("model-")
    assert result["status"] == 0 and result["files"] == [f"leaf_{i:04d}.png" for i in range(1, 4)]


# ----------------------------------------------------------------------------------------------------------------------
# Versions, one rule per thing, one cache, worker threads


def test_path_options_follow_the_blender_version():
    assert properties._path_options((4, 2, 23)) == set()  # 4.2 refuses the option: the classes would not register
    assert properties._path_options((4, 4, 3)) == set()
    assert properties._path_options((4, 5, 0)) == {"PATH_SUPPORTS_BLEND_RELATIVE"}
    assert properties.PATH_OPTIONS == properties._path_options(tuple(bpy.app.version))
    assert "motion_file" in bpy.context.scene.image_dynamics.bl_rna.properties  # registered on this Blender


def test_sequence_files_are_named_by_the_engines_rule(scene, still, tmp_path, monkeypatch):
    state = still.image_dynamics
    state.bake_dir, state.bake_stem, state.bake_format = "//baked/", "still", "png"
    assert setups.sequence_file(state, "frames") == str(tmp_path / "baked" / io.sequence_name("still", 0, "png"))
    assert setups.sequence_label(state, "compositor") == io.sequence_pattern("still_compositor", "exr")
    monkeypatch.setattr(io, "sequence_name", lambda stem, index, ext: f"{stem}.{index + 1:05d}.{ext}")
    monkeypatch.setattr(io, "sequence_pattern", lambda stem, ext: f"{stem}.#####.{ext}")
    assert setups.sequence_file(state, "forward") == str(tmp_path / "baked" / "still_forward.00001.exr")
    assert setups.sequence_label(state, "frames") == "still.#####.png"


def test_black_opaque_mask_moves_nothing_in_the_add_on_and_the_cli(scene, still, tmp_path):
    """One mask rule (image_dynamics.io.mask_from_pixels) for files read by the CLI and images in Blender."""
    masks = {"black_opaque": np.zeros((HEIGHT, WIDTH, 4), np.float32) + [0, 0, 0, 1],
             "painted_alpha": np.zeros((HEIGHT, WIDTH, 4), np.float32),
             "white_half_transparent": np.ones((HEIGHT, WIDTH, 4), np.float32),
             "colour": np.concatenate([asymmetric_pixels(), np.ones((HEIGHT, WIDTH, 1), np.float32)], axis=2)}
    masks["painted_alpha"][..., 3] = np.linspace(0, 1, WIDTH)[None, :]
    masks["white_half_transparent"][:, : WIDTH // 2, 3] = 0.0
    for name, rgba in masks.items():
        path = io.write_png(tmp_path / f"{name}.png", rgba, "srgb")
        in_blender = blender_image.mask_values(bpy.data.images.load(str(path)))
        np.testing.assert_allclose(in_blender, io.read_grayscale(path), atol=1e-6, err_msg=name)
    assert io.read_grayscale(tmp_path / "black_opaque.png").max() == 0  # the CLI used to say: everything moves
    assert io.read_grayscale(tmp_path / "white_half_transparent.png")[:, : WIDTH // 2].max() == 0
    settings = scene.image_dynamics
    displacement_only(settings)
    settings.mask = bpy.data.images["black_opaque.png"]
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    assert max(np.abs(f).max() for f in forward_maps(bake_folder(tmp_path))) == 0


def test_model_status_refreshes_when_a_package_appears(scene, tmp_path, no_model_packages, monkeypatch):
    from image_dynamics.model import package

    assert engine.model_available()[0] is False
    folder = tmp_path / "my-models"
    (folder / "default").mkdir(parents=True)
    for file in (package.Path(package.__file__).parents[1] / "models" / "default").iterdir():
        (folder / "default" / file.name).symlink_to(file)
    assert engine.model_available()[0] is False  # kept for a moment: panels redraw many times a second
    bpy.context.preferences.addons[ADDON].preferences.model_dir = str(folder)  # the preference's update refreshes
    available, why = engine.model_available(preferences.model_folder())
    assert available and "default" in why
    monkeypatch.setenv("IMAGE_DYNAMICS_MODELS", str(folder))  # installed behind the add-on's back
    monkeypatch.setattr(engine, "MODEL_STATUS_TTL_S", 0.0)
    assert engine.model_available()[0] is True


def test_worker_modules_never_import_bpy():
    """The worker side (work, motion, warmup) runs without bpy: a package stub with ``bpy`` blocked imports them."""
    code = ("import sys, types; sys.modules['bpy'] = None; "
            f"package = types.ModuleType('blender_addon'); package.__path__ = [{str(ROOT / 'blender_addon')!r}]; "
            "sys.modules['blender_addon'] = package; "
            "import blender_addon.work, blender_addon.motion, blender_addon.warmup; "
            "print(sorted(m for m in sys.modules if m.startswith('blender_addon.')))")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert "blender_addon.scene" not in child.stdout and "blender_addon.work" in child.stdout


def test_save_motion_runs_in_a_worker_thread(scene, still, tmp_path):
    job = jobs.begin(scene_module.save_motion_job(bpy.context, still), threaded=True)
    assert job.state == jobs.RUNNING
    while not job.poll():
        time.sleep(0.005)
    jobs.release(job)
    assert job.state == jobs.DONE, job.message
    assert max(job.poll_seconds) < 0.1 and job._thread is not None
    settings = scene.image_dynamics
    assert settings.motion_source == "FILE" and settings.motion_file == "//image_dynamics/still/still_motion.npz"
    assert (tmp_path / "image_dynamics" / "still" / "still_motion.npz").is_file()
    assert "Saved the motion of 'still.png'" in job.message


def test_model_motion_is_cached_once_keyed_by_the_package_and_read_in_its_colour_space(scene, tmp_path, monkeypatch):
    import shutil

    from image_dynamics.model import package
    from image_dynamics.model.predict import predict_motion

    models = tmp_path / "models"
    shutil.copytree(package.Path(package.__file__).parents[1] / "models" / "default", models / "default")
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.model_dir = str(models)
    cache = tmp_path / "cache"
    linear = np.ascontiguousarray(io.srgb_to_linear(asymmetric_pixels()) * 1.7)  # an HDR still, scene-linear
    image = blender_image.array_to_image(linear, "hdr", colorspace="linear")
    settings = scene.image_dynamics
    settings.image, settings.motion_source, settings.steps = image, "MODEL", 2
    assert bpy.ops.image_dynamics.predict() == {"FINISHED"}
    key = image.image_dynamics.motion_key
    assert key.startswith("model-")
    volume = motion.cached(key)
    pixels = blender_image.image_pixels(image)[0]
    as_linear = predict_motion(pixels, models / "default", seed=0, steps=2, colorspace="linear", cache=False)
    as_srgb = predict_motion(pixels, models / "default", seed=0, steps=2, colorspace="srgb", cache=False)
    np.testing.assert_array_equal(volume.coeffs, as_linear.coeffs)  # the image went in as scene-linear
    assert not np.allclose(as_linear.coeffs, as_srgb.coeffs)
    cached_files = sorted(cache.glob("*.npz"))
    assert len(cached_files) == 1  # once, in the Cache Folder preference's folder
    assert not any(Path(os.environ["IMAGE_DYNAMICS_CACHE"]).glob("*.npz"))  # and nowhere else
    # a replaced package (its model.json changed) is a new key: the old motion is not served for it
    manifest = models / "default" / "model.json"
    manifest.write_text(manifest.read_text().replace('"data_note": "', '"data_note": "retrained: '))
    motion.clear_memory()
    assert bpy.ops.image_dynamics.predict() == {"FINISHED"}
    assert image.image_dynamics.motion_key != key and len(list(cache.glob("*.npz"))) == 2
    assert bpy.ops.image_dynamics.clear_cache() == {"FINISHED"}
    assert not any(cache.glob("*.npz")) and motion.cached(key) is None


def test_numba_kernels_compile_at_enable_and_a_bake_waits_for_them(scene, still, tmp_path, monkeypatch):
    assert os.environ[warmup.CACHE_ENV] == preferences.numba_cache_folder()  # set when the add-on was enabled
    folder = tmp_path / "numba"
    monkeypatch.setenv(warmup.CACHE_ENV, str(folder))
    assert warmup.start(str(folder)) is None  # this process imported the kernels first: they keep their cache
    monkeypatch.delitem(sys.modules, warmup.KERNELS_MODULE)  # as in Blender, where the add-on is enabled first
    child = warmup.start(str(folder))  # an empty cache: the child compiles every kernel
    assert child is not None and warmup.running()
    stages = []
    job = scene_module.bake_job(bpy.context, still)
    job.progress.callback = lambda done, total, stage: stages.append((stage, done, total))
    jobs.begin(job, threaded=False)
    assert job.state == jobs.DONE, job.message
    assert stages[0][0] == warmup.STAGE and child.poll() == 0  # compiling first, as its own stage, until the end
    compiling = [done for stage, done, _ in stages if stage == warmup.STAGE]
    assert compiling == sorted(compiling) and compiling[-1] == warmup.EXPECTED_S  # never backwards, then complete
    assert [stage for stage, _, _ in stages if stage != warmup.STAGE][0] == "procedural motion"
    assert any(folder.rglob("*.nbi")) and (folder / warmup.STAMP).is_file()  # the cache is the add-on's folder
    assert "render kernels compiled" in (folder / "warmup.log").read_text()
    assert warmup.start(str(folder)) is None  # filled for this engine already: no second child


def test_build_extension_says_what_to_install_for_an_old_setuptools(monkeypatch, capsys):
    import importlib.metadata

    from scripts import build_extension

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "65.5.0" if name == "setuptools" else real(name))
    with pytest.raises(SystemExit) as exc:
        build_extension.main(["--output-dir", "/nonexistent/dist"])
    message = str(exc.value)
    assert "\n" not in message and "setuptools >= 77" in message and "65.5.0" in message
    assert "pip install 'setuptools>=77' wheel" in message


def test_device_texts_name_the_cuda_that_onnxruntime_gpu_needs():
    gpu = dict((item[0], item[2]) for item in preferences.DEVICES)["GPU"]
    assert "CUDA 13" in gpu and "cuDNN 9" in gpu and "CUDA 12" not in gpu
    lines = preferences.detect_devices()
    from image_dynamics.model.providers import explain_providers

    assert lines == explain_providers().splitlines()  # the engine's one device report
