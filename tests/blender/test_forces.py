"""The Forces panel's engine path through the real ``bpy`` module: keyframed impulse Empties and animated Wind fields
baked through the add-on's Bake operator, compared with the engine's modal simulation of the same forces.

Tiny scenes: a 32x20 image, 30 frames at 24 fps. Runs in the same process (xdist group) as test_addon.py.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from image_dynamics import io, modal  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ADDON = "blender_addon"

from blender_addon import blender_image, forces, motion  # noqa: E402

from .conftest import asymmetric_pixels  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.xdist_group("blender")]

WIDTH, HEIGHT = 32, 20
START, END, FPS = 1, 30, 24
FRAMES = END - START + 1


@pytest.fixture
def scene(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    motion.clear_memory()
    sc = bpy.context.scene
    sc.frame_start, sc.frame_end = START, END
    sc.render.fps, sc.render.fps_base = FPS, 1.0
    settings = sc.image_dynamics
    settings.motion_source = "PROCEDURAL"
    settings.coherence_px, settings.amplitude_px = 8.0, 3.0
    settings.output_kind, settings.displacement_forward, settings.displacement_compositor = "BOTH", True, False
    settings.overwrite = True
    bpy.context.preferences.addons[ADDON].preferences.cache_dir = str(tmp_path / "cache")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    sc.image_dynamics_forces.use_forces = True
    return sc


@pytest.fixture
def still(scene, tmp_path):
    path = io.write_png(tmp_path / "still.png", asymmetric_pixels(), "srgb")
    image = bpy.data.images.load(str(path))
    scene.image_dynamics.image = image
    return image


def folder(tmp_path: Path) -> Path:
    return tmp_path / "image_dynamics" / "still"


def forward_maps(tmp_path: Path) -> np.ndarray:
    return np.stack([io.read_displacement_exr(folder(tmp_path) / f"still_forward_{i:04d}.exr")[0]
                     for i in range(1, FRAMES + 1)])


def world_point(x: float, y: float) -> tuple[float, float, float]:
    """World location of image pixel (x, y) on the default image plane (2 units high, centred at the origin)."""
    width = 2.0 * WIDTH / HEIGHT
    return ((x + 0.5) / WIDTH - 0.5) * width, (0.5 - (y + 0.5) / HEIGHT) * 2.0, 0.0


def engine_maps(still, the_forces, damping_ratio: float = 0.05) -> np.ndarray:
    """The engine's forward maps for the scene: procedural motion of the same pixels, the modal plan, the renderer."""
    pixels = blender_image.image_pixels(still)[0]
    settings = bpy.context.scene.image_dynamics
    volume = procedural_motion(pixels, params=ProceduralParams(seed=settings.seed, coherence_px=settings.coherence_px,
                                                               strength_px=settings.amplitude_px))
    render_plan = modal.modal_plan(volume, the_forces, WIDTH, HEIGHT, RenderSettings(fps=FPS, frames=(0, FRAMES)),
                                   damping_ratio=damping_ratio)
    renderer = FrameRenderer(pixels, render_plan.motion)
    return np.stack(list(renderer.flows(render_plan.times, basis=render_plan.basis)))


def key(owner, path: str, keys, interpolation: str = "LINEAR") -> None:
    for frame, value in keys:
        if path.startswith("["):
            owner[path[2:-2]] = value
        else:
            target, attribute = (owner.field, "strength") if path == "field.strength" else (owner, path)
            setattr(target, attribute, value)
        owner.keyframe_insert(path, frame=frame)
    for curve in _fcurves(owner):
        for point in curve.keyframe_points:
            point.interpolation = interpolation


def _fcurves(owner):
    action = owner.animation_data.action
    if not hasattr(owner.animation_data, "action_slot"):  # Blender 4.2-4.3: actions hold their F-curves directly
        yield from action.fcurves
        return
    slot = owner.animation_data.action_slot
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot)
            if bag is not None:
                yield from bag.fcurves


def test_the_default_plane_maps_world_points_to_pixels(scene, still):
    plane = forces.image_plane(still)
    assert plane.point((0.0, 0.0, 0.0)) == pytest.approx(((WIDTH - 1) / 2, (HEIGHT - 1) / 2))
    width = 2.0 * WIDTH / HEIGHT
    assert plane.point((-width / 2, 1.0, 5.0)) == pytest.approx((-0.5, -0.5))  # top-left corner, any height above
    assert plane.point(world_point(3.0, 17.0)) == pytest.approx((3.0, 17.0))
    assert plane.direction((1.0, 0.0, 0.0)) == pytest.approx((1.0, 0.0))
    assert plane.direction((0.0, 1.0, 0.0)) == pytest.approx((0.0, -1.0))  # world +Y is up the picture: y down < 0
    assert plane.direction((0.0, 0.0, 1.0)) == pytest.approx((0.0, 0.0))


def test_a_keyframed_impulse_at_frame_20_rests_until_then_and_moves_after(scene, still, tmp_path):
    empty = forces.add_impulse(scene, world_point(20.0, 6.0), radius=3.0)
    empty.rotation_euler = (0.0, 0.0, math.radians(30))  # X arrow 30 degrees up from the picture's x axis
    key(empty, f'["{forces.IMPULSE}"]', ((19, 0.0), (20, 4.0), (21, 0.0)), "CONSTANT")
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    maps = forward_maps(tmp_path)
    still_png = io.to_display_uint8(blender_image.image_pixels(still)[0], "srgb")
    for number in range(1, 20):  # scene frames 1-19 (files _0001 .. _0019), and the impulse's own instant
        frame = io.to_display_uint8(io.read_image(folder(tmp_path) / f"still_{number:04d}.png").pixels, "srgb")
        np.testing.assert_array_equal(frame, still_png, err_msg=f"frame {number}")
        assert not maps[number - 1].any()
    for number in range(21, 26):
        assert np.abs(maps[number - 1]).max() > 0.05, number
    assert scene.frame_current == 1  # the evaluation put the current frame back
    direction = (math.cos(math.radians(30)), -math.sin(math.radians(30)))
    expected = engine_maps(still, [modal.Force((4.0 * direction[0], 4.0 * direction[1]), (20.0, 6.0),
                                               time=19 / FPS, radius=3.0)])
    np.testing.assert_allclose(maps, expected, atol=1e-4)


def test_an_animated_wind_field_drives_the_engine_simulation_and_scales_linearly(scene, still, tmp_path):
    assert bpy.ops.object.effector_add(type="WIND", location=(0.3, -0.2, 1.0)) == {"FINISHED"}
    wind = bpy.context.active_object
    assert wind.field.type == "WIND"
    wind.rotation_euler = (math.radians(-40), math.radians(50), 0.0)  # its Z axis has x and y parts in the plane
    scene.image_dynamics_forces.wind_scale = 2.5
    keys = ((1, 0.0), (8, 3.0), (16, -1.0), (30, 0.5))
    key(wind, "field.strength", keys)
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    baked = forward_maps(tmp_path)
    # the same per-frame force curve, built here from the keys (linear) and the field's Z axis
    z_axis = wind.matrix_world.to_3x3().col[2].normalized()
    direction = np.array([z_axis.x, -z_axis.y])
    assert np.hypot(*direction) > 0.3
    strengths = np.interp(np.arange(START, END + 1), [f for f, _ in keys], [v for _, v in keys])
    times = np.arange(FRAMES) / FPS
    gusts = [modal.Force(unit, None, 0.0, times[-1], curve=tuple(zip(times, 2.5 * strengths * component)))
             for unit, component in (((1.0, 0.0), direction[0]), ((0.0, 1.0), direction[1]))]
    expected = engine_maps(still, gusts)
    assert np.abs(expected).max() > 0.05
    np.testing.assert_allclose(baked, expected, atol=1e-4)
    key(wind, "field.strength", tuple((frame, 2 * value) for frame, value in keys))
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    np.testing.assert_allclose(forward_maps(tmp_path), 2 * baked, atol=1e-4)


def test_forces_errors_say_what_to_fix(scene, still):
    with pytest.raises(Exception, match="nothing pushes the picture"):
        bpy.ops.image_dynamics.bake()
    empty = forces.add_impulse(scene, world_point(40.0, 6.0), impulse=2.0)  # right of the picture
    with pytest.raises(Exception, match=r"Impulse 'Impulse' at frame 1 is outside the picture"):
        bpy.ops.image_dynamics.bake()
    empty.location = world_point(10.0, 6.0)
    empty.rotation_euler = (0.0, math.radians(90), 0.0)  # X arrow straight down into the picture
    with pytest.raises(Exception, match="points straight at the picture"):
        bpy.ops.image_dynamics.bake()
    scene.image_dynamics_forces.use_forces = False
    assert forces.request(scene, still, FRAMES, FPS) is None
