"""Flow arrows, anchors and drift in Blender (blender_addon/flow.py), driven through the real ``bpy`` module headless.

Coordinates are checked with an asymmetric arrow (pointing right and down in the picture, off-centre), on the default
plane and on a moved, turned and scaled plane; annotation strokes come from the committed tests/data/
flow_annotations.blend (made with bpy 4.2 by scripts/make_flow_annotation_blend.py: 4.5 and 5.0 cannot make strokes
through the API). Bakes run through the add-on's Bake operator and are compared with the engine's own path.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from mathutils import Euler, Matrix, Vector  # noqa: E402

from image_dynamics import controls, io  # noqa: E402
from image_dynamics.flow import FlowRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings, plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ADDON = "blender_addon"

from blender_addon import blender_image, flow  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.xdist_group("blender")]

WIDTH, HEIGHT = 32, 20  # the default plane is 3.2 x 2 units: 10 pixels per unit
FRAMES, FPS = 6, 24
ANNOTATIONS = ROOT / "tests" / "data" / "flow_annotations.blend"


def textured(seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    img = np.stack([0.3 + 0.4 * x / WIDTH, 0.5 + 0.3 * np.sin(x / 1.7 + y / 2.3), 0.2 + 0.4 * y / HEIGHT], axis=-1)
    img += rng.normal(0, 0.08, img.shape)
    img[:3, :5] = (1.0, 0.0, 0.0)  # marker at the top left
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture
def scene(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    sc = bpy.context.scene
    sc.frame_start, sc.frame_end = 1, FRAMES
    sc.render.fps, sc.render.fps_base = FPS, 1.0
    bpy.context.preferences.addons[ADDON].preferences.cache_dir = str(tmp_path / "cache")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    return sc


@pytest.fixture
def still(scene, tmp_path):
    path = io.write_png(tmp_path / "still.png", textured(), "srgb")
    image = bpy.data.images.load(str(path))
    scene.image_dynamics.image = image
    return image


def arrow_empty(start, end, speed: float | None = None, name: str = "Arrow") -> bpy.types.Object:
    """A Single Arrow Empty from ``start`` to ``end`` (world XY), in the flow collection."""
    direction = Vector(end) - Vector(start)
    obj = bpy.data.objects.new(name, None)
    obj.empty_display_type = "SINGLE_ARROW"
    obj.empty_display_size = direction.length
    obj.location = start
    obj.rotation_mode = "QUATERNION"
    obj.rotation_quaternion = direction.to_track_quat("Z", "Y")
    if speed is not None:
        obj[flow.SPEED_KEY] = speed
    flow.flow_collection(bpy.context.scene).objects.link(obj)
    bpy.context.view_layer.update()
    return obj


# ----------------------------------------------------------------------------------------------------------------------
# Coordinates


def test_corners_and_an_asymmetric_arrow_land_on_the_right_pixels(scene, still):
    plane, size = flow.image_plane(still)
    assert size == pytest.approx((3.2, 2.0))
    to_px = lambda p: flow.blender_to_pixels(p, plane, size, (WIDTH, HEIGHT))  # noqa: E731
    assert to_px((-1.6, 1.0, 0.0)) == pytest.approx((-0.5, -0.5))  # top-left corner of the picture
    assert to_px((1.6, -1.0, 0.0)) == pytest.approx((WIDTH - 0.5, HEIGHT - 0.5))  # bottom-right
    # pointing right and down in the picture: x grows, and y (down in engine pixels) grows too
    arrow_empty((-1.0, 0.5, 0.0), (-0.25, 0.2, 0.0), speed=40.0)
    drawing = flow.read_drawing(scene, still)
    assert drawing.arrow_names == ["arrow 'Arrow'"]
    record = drawing.arrows[0]
    assert record["from"] == pytest.approx([5.5, 4.5], abs=1e-4)
    assert record["to"] == pytest.approx([13.0, 7.5], abs=1e-4)
    assert record["speed"] == 40.0


def test_a_moved_turned_scaled_plane_carries_its_arrows(scene, still):
    mesh = bpy.data.meshes.new("m")
    plane_obj = bpy.data.objects.new(f"ID {still.name} plane", mesh)
    scene.collection.objects.link(plane_obj)
    plane_obj.matrix_world = (Matrix.Translation((10.0, -3.0, 1.0)) @ Euler((0, 0, math.pi / 2)).to_matrix().to_4x4()
                              @ Matrix.Diagonal((2.0, 2.0, 2.0, 1.0)))
    bpy.context.view_layer.update()
    local_start, local_end = Vector((-1.0, 0.5, 0.0)), Vector((-0.25, 0.2, 0.0))
    world = plane_obj.matrix_world
    arrow_empty(world @ local_start, world @ local_end)
    drawing = flow.read_drawing(scene, still)
    assert drawing.arrows[0]["from"] == pytest.approx([5.5, 4.5], abs=1e-4)
    assert drawing.arrows[0]["to"] == pytest.approx([13.0, 7.5], abs=1e-4)
    assert "speed" not in drawing.arrows[0]  # its length per second


def test_curves_and_empties_give_arrows_and_anchors(scene, still):
    curve = bpy.data.curves.new("c", type="CURVE")
    spline = curve.splines.new("POLY")
    spline.points.add(2)
    for point, co in zip(spline.points, ((0.0, 0.0, 0.0, 1.0), (0.4, 0.1, 0.0, 1.0), (0.8, -0.5, 0.0, 1.0))):
        point.co = co
    drawn = bpy.data.objects.new("Drawn", curve)
    drawn[flow.SPEED_KEY] = 12.5
    stroke = bpy.data.objects.new("Bank", curve.copy())
    stroke[flow.ROLE_KEY], stroke[flow.RADIUS_KEY] = "anchor", 3.0
    pin = bpy.data.objects.new("Pin", None)
    pin.empty_display_type, pin.empty_display_size, pin.location = "SPHERE", 0.2, (1.0, 0.0, 0.0)
    for obj in (drawn, stroke, pin):
        flow.flow_collection(scene).objects.link(obj)
    bpy.context.view_layer.update()
    drawing = flow.read_drawing(scene, still)
    assert drawing.arrow_names == ["arrow curve 'Drawn'"]
    assert drawing.arrows[0] == {"from": pytest.approx([15.5, 9.5]), "to": pytest.approx([23.5, 14.5]),
                                 "speed": 12.5}
    assert drawing.anchor_names == ["anchor stroke 'Bank'", "anchor 'Pin'"]
    assert drawing.anchors[0]["stroke"][1] == pytest.approx([19.5, 8.5]) and drawing.anchors[0]["radius"] == 3.0
    assert drawing.anchors[1] == {"at": pytest.approx([25.5, 9.5]), "radius": pytest.approx(2.0)}


def test_annotation_strokes_from_a_committed_blend(tmp_path):
    bpy.ops.wm.open_mainfile(filepath=str(ANNOTATIONS))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "annotated.blend"))  # never write the committed file
    image = blender_image.array_to_image(textured(), "painted")
    drawing = flow.read_drawing(bpy.context.scene, image)
    assert drawing.arrows == [{"from": pytest.approx([5.5, 4.5]), "to": pytest.approx([20.5, 7.5])}]
    assert drawing.arrow_names == ["annotation stroke 0 of layer 'Arrows'"]
    stroke = drawing.anchors[0]["stroke"]
    assert stroke[0] == pytest.approx([0.5, 17.5]) and stroke[2] == pytest.approx([30.5, 16.5])


# ----------------------------------------------------------------------------------------------------------------------
# Bakes


def _flow_mask(name: str = "river") -> bpy.types.Image:
    values = np.zeros((HEIGHT, WIDTH), np.float32)
    values[6:14, 4:28] = 1.0
    return blender_image.array_to_image(values, name)


def test_flow_bakes_through_the_engine_path_and_stays_in_its_mask(scene, still, tmp_path):
    settings, flow_settings = scene.image_dynamics, scene.image_dynamics_flow
    settings.motion_source, settings.amplitude_px = "PROCEDURAL", 0.0  # nothing oscillates: pure flow
    flow_settings.flow_mask, flow_settings.flow_feather_px = _flow_mask(), 0.0
    arrow_empty((-0.9, 0.0, 0.0), (-0.3, -0.1, 0.0), speed=30.0)
    assert bpy.ops.image_dynamics.bake() == {"FINISHED"}
    folder = tmp_path / "image_dynamics" / "still"
    assert sorted(os.listdir(folder)) == [f"still_{i:04d}.png" for i in range(1, FRAMES + 1)]
    baked = [io.read_image(folder / f"still_{i:04d}.png").pixels for i in range(1, FRAMES + 1)]

    # the engine's own path: the same controls, plan and renderer
    pixels = blender_image.image_pixels(still)[0]
    arrows = controls.parse_arrows(flow.read_drawing(scene, still).arrows, (WIDTH, HEIGHT))
    mask = blender_image.mask_values(flow_settings.flow_mask)
    motion = procedural_motion(pixels, params=ProceduralParams(seed=settings.seed, coherence_px=settings.coherence_px,
                                                               strength_px=0.0))
    motion = controls.apply_controls(motion, (WIDTH, HEIGHT), arrows=arrows, flow_mask=mask)
    render_plan = plan(motion, RenderSettings(fps=FPS, loop_frames=FRAMES, frames=(0, FRAMES)))
    renderer = FlowRenderer(pixels, render_plan.motion, FRAMES, 1.0 / FPS, flow_mask=mask)
    for index, frame in enumerate(renderer.frames(render_plan.times)):
        np.testing.assert_array_equal(io.to_display_uint8(baked[index], "srgb"), io.to_display_uint8(frame, "srgb"))
    outside = np.ones((HEIGHT, WIDTH), bool)
    outside[5:15, 3:29] = False
    for frame in baked:
        np.testing.assert_array_equal(frame[outside], baked[0][outside])
    np.testing.assert_array_equal(io.to_display_uint8(baked[0], "srgb"), io.to_display_uint8(pixels, "srgb"))
    assert np.abs(baked[3][7:13, 6:26] - baked[0][7:13, 6:26]).mean() > 0.02  # the river flows


def test_bad_flow_drawings_are_reported_and_nothing_is_written(scene, still, tmp_path):
    folder = tmp_path / "image_dynamics" / "still"
    flow_settings = scene.image_dynamics_flow
    flat = arrow_empty((0.0, 0.0, 0.0), (0.5, 0.0, 0.0), name="Flat")
    flat.scale = (1.0, 1.0, 0.0)  # squashed along its axis: start and tip coincide
    bpy.context.view_layer.update()
    with pytest.raises(RuntimeError, match=r"arrow 'Flat' has zero length"):
        bpy.ops.image_dynamics.bake()
    flat.scale, flat.location = (1.0, 1.0, 1.0), (5.0, 0.0, 0.0)
    bpy.context.view_layer.update()
    with pytest.raises(RuntimeError, match=r"arrow 'Flat' 'from' \[65.5, 9.5\] is outside the 32x20 image"):
        bpy.ops.image_dynamics.bake()
    flat.location = (0.0, 0.0, 0.0)
    flat[flow.SPEED_KEY] = -4.0
    bpy.context.view_layer.update()
    with pytest.raises(RuntimeError, match=r"arrow 'Flat' has a negative speed -4"):
        bpy.ops.image_dynamics.bake()
    flat[flow.SPEED_KEY] = 4.0
    flow_settings.flow_mask = blender_image.array_to_image(np.ones((10, 40), np.float32), "wide")
    with pytest.raises(RuntimeError, match=r"Flow Mask 'wide' is 40x10 but the image is 32x20"):
        bpy.ops.image_dynamics.bake()
    flow_settings.flow_mask = None
    scene.image_dynamics.output_kind = "BOTH"
    with pytest.raises(RuntimeError, match=r"Displacement maps cannot be baked with a flow"):
        bpy.ops.image_dynamics.bake()
    assert not folder.exists() or not any(folder.iterdir())


def test_panel_operators_add_arrows_and_anchors(scene, still):
    bpy.ops.image_dynamics.add_flow_arrow()
    bpy.ops.image_dynamics.add_flow_anchor()
    collection = bpy.data.collections[flow.COLLECTION]
    kinds = sorted(o.empty_display_type for o in collection.objects)
    assert kinds == ["SINGLE_ARROW", "SPHERE"]
    drawing = flow.read_drawing(scene, still)
    start, end = drawing.arrows[0]["from"], drawing.arrows[0]["to"]
    assert end[0] > start[0] and end[1] == pytest.approx(start[1], abs=1e-4)  # points right on the plane
    assert drawing.arrows[0]["speed"] == flow.DEFAULT_ARROW_SPEED
