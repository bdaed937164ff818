"""Artist controls: arrows densified into a flow field, drift, anchors, strength maps, direction hints, and their
readers (validated, one-line errors, fuzzed from the committed corpus in tests/data/controls)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from image_dynamics import controls, flow, io, spectral
from image_dynamics.errors import InputError
from image_dynamics.frames import FrameRenderer

CORPUS = Path(__file__).resolve().parent / "data" / "controls"
IMAGE_SIZE = (120, 80)  # W, H of the image the corpus was drawn on


def river_mask(width: int = 120, height: int = 80) -> np.ndarray:
    """A diagonal band 30 px wide, white = flows."""
    y, x = np.mgrid[0:height, 0:width]
    return (np.abs(y - (25 + 0.35 * x)) < 15).astype(np.float32)


def load(name: str):
    return json.loads((CORPUS / name).read_text())


# ----------------------------------------------------------------------------------------------------------------------
# Arrows


def test_arrows_are_reproduced_at_their_starts_within_5_percent_and_5_degrees():
    width, height = IMAGE_SIZE
    grid_w, grid_h = 60, 40  # half the image: velocities are scaled both ways
    arrows = controls.read_arrows(CORPUS / "arrows_river.json", IMAGE_SIZE)
    mask = controls.flow_mask_on_grid(river_mask(), grid_w, grid_h, IMAGE_SIZE)
    field = controls.densify_arrows(arrows, grid_w, grid_h, IMAGE_SIZE, mask)
    assert field.shape == (2, grid_h, grid_w) and field.dtype == np.float32
    for arrow in arrows:
        want = np.array(arrow.velocity)
        got = np.array(flow.velocity_at(field, *arrow.start, IMAGE_SIZE))
        if np.linalg.norm(want) == 0:
            assert np.linalg.norm(got) < 0.05
            continue
        assert abs(np.linalg.norm(got) / np.linalg.norm(want) - 1) < 0.05
        angle = math.degrees(math.atan2(got[1], got[0]) - math.atan2(want[1], want[0]))
        assert abs((angle + 180) % 360 - 180) < 5
    assert arrows[1].speed is None and arrows[1].velocity == pytest.approx((30.0, 8.0))  # its length per second


def test_densified_field_stays_in_the_mask_and_falls_to_zero_at_its_edge():
    grid_w, grid_h = 60, 40
    mask = controls.flow_mask_on_grid(river_mask(), grid_w, grid_h, IMAGE_SIZE)
    field = controls.densify_arrows(controls.read_arrows(CORPUS / "arrows_river.json", IMAGE_SIZE),
                                    grid_w, grid_h, IMAGE_SIZE, mask)
    speed = np.hypot(field[0], field[1])
    assert np.all(speed[mask < 0.5] == 0)
    inside = (mask >= 0.5).astype(np.uint8)
    # cells right at the edge (one step from outside) move at most about half as fast as their neighbours inside
    distance = cv2.distanceTransform(np.pad(inside, 1, constant_values=1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    neighbourhood = cv2.dilate(speed, np.ones((5, 5), np.uint8))
    edge = (distance > 0) & (distance <= 1)
    assert np.median(speed[distance >= 3]) > 5
    assert np.median(speed[edge] / neighbourhood[edge]) <= 0.55
    assert speed[edge].max() <= 0.55 * speed.max()


def test_arrow_starting_outside_the_flow_mask_is_refused():
    mask = controls.flow_mask_on_grid(river_mask(), 60, 40, IMAGE_SIZE)
    arrows = controls.parse_arrows([{"from": [110, 2], "to": [115, 2]}], IMAGE_SIZE)
    with pytest.raises(InputError, match=r"arrow 0 starts at \[110, 2\], outside the flow mask"):
        controls.densify_arrows(arrows, 60, 40, IMAGE_SIZE, mask)


def test_drift_is_uniform_inside_the_mask_in_grid_pixels():
    mask = np.zeros((40, 60), np.float32)
    mask[10:20, 5:50] = 1
    field = controls.uniform_drift((12.0, -4.0), 60, 40, IMAGE_SIZE, mask)
    np.testing.assert_allclose(field[:, 15, 20], [6.0, -2.0])  # half-size grid: half the pixels per second
    assert not field[:, mask == 0].any()
    assert controls.parse_drift("12,-4.5") == (12.0, -4.5)


@pytest.mark.parametrize(("data", "message"), [
    ([{"from": [130, 2], "to": [5, 5]}], r"arrow 0 'from' \[130, 2\] is outside the 120x80 image"),
    ([{"from": [5, 5], "to": [5, 90]}], r"arrow 0 'to' \[5, 90\] is outside the 120x80 image"),
    ([{"from": [5, 5], "to": [5, 5]}], "arrow 0 has zero length"),
    ([{"from": [5, 5], "to": [9, 5], "speed": -3}], "arrow 0 has a negative speed -3"),
    ([{"from": [5, 5], "to": [9, 5], "speed": "fast"}], "arrow 0 'speed' must be a number"),
    ([{"from": [5, 5], "to": [9, 5], "sped": 3}], "unknown key"),
    ({"from": [5, 5]}, "arrows must be a JSON list"),
    ([], "the arrows list is empty"),
    ([{"from": [5, 5], "to": [9, 5]}, {"from": [5, 5], "to": [5, 9]}], "arrows 0 and 1 start at the same point"),
])
def test_bad_arrows_are_one_clear_line(data, message):
    with pytest.raises(InputError, match=message) as info:
        controls.parse_arrows(data, IMAGE_SIZE)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("content", "message"), [
    (None, "arrows file not found"),
    (b"[{\"from\": [1, 2],", "not valid JSON \\(line 1"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
])
def test_unreadable_arrows_file_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / "arrows.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        controls.read_arrows(path, IMAGE_SIZE)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_direction_hint_and_drift_arguments():
    assert controls.parse_direction_hint("C:/masks/reeds.png:-30") == ("C:/masks/reeds.png", -30.0)
    for bad in ("reeds.png", "reeds.png:north", ":45", "m.png:nan"):
        with pytest.raises(InputError, match="--direction-hint"):
            controls.parse_direction_hint(bad)
    for bad in ("3", "a,b", "1,2,3", "inf,0"):
        with pytest.raises(InputError, match="--drift"):
            controls.parse_drift(bad)


# ----------------------------------------------------------------------------------------------------------------------
# Anchors


def random_motion(grid_w: int, grid_h: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    coeffs = (rng.normal(size=(4, 2, grid_h, grid_w)) + 1j * rng.normal(size=(4, 2, grid_h, grid_w))) * 3
    coeffs[0] = 0
    velocity = rng.normal(size=(2, grid_h, grid_w)).astype(np.float32) * 10
    return spectral.make(coeffs, [0.0, 0.5, 1.0, 1.5], 30.0, {"window_frames": 60, "source_size": list(IMAGE_SIZE)},
                         flow=velocity)


def test_anchors_pin_oscillation_and_flow_at_the_anchor():
    width, height = IMAGE_SIZE
    sv = random_motion(40, 27)  # a grid that does not divide the image evenly
    anchors = controls.read_anchors(CORPUS / "anchors_mixed.json", IMAGE_SIZE)
    gain = controls.anchor_gain(anchors, sv.width, sv.height, IMAGE_SIZE)
    pinned = controls.scale_motion(sv, gain)
    image = np.random.default_rng(2).random((height, width, 3)).astype(np.float32)
    renderer = FrameRenderer(image, pinned)
    points = [(20, 15), (5, 60), (40, 62), (60, 60), (80, 58)]  # the point, and on the stroke
    for grid_field in renderer.grid_displacements(np.linspace(0, 60, 13)):
        full = renderer.displacement(grid_field)
        for x, y in points:
            assert np.hypot(*full[:, y, x]) <= 0.05
    travelled = flow.euler_displacements(pinned.flow, 30, 1 / 30)
    for x, y in points:
        vx, vy = flow.velocity_at(pinned.flow, x, y, IMAGE_SIZE)
        assert math.hypot(vx, vy) <= 0.05
        gx, gy = (x + 0.5) * sv.width / width - 0.5, (y + 0.5) * sv.height / height - 0.5
        moved = flow.sample_bilinear(travelled[-1], np.array([gx]), np.array([gy]))[:, 0]
        assert np.hypot(*moved) * width / sv.width <= 0.05
    # far from every anchor the motion is untouched
    assert gain[0, -1] == 1.0
    np.testing.assert_array_equal(pinned.coeffs[:, :, 0, -1], sv.coeffs[:, :, 0, -1])


@pytest.mark.parametrize(("data", "message"), [
    ([{"at": [1, 2], "stroke": [[1, 2]], "radius": 3}], "needs exactly one of 'at'"),
    ([{"stroke": [], "radius": 1}], "'stroke' must be a non-empty list"),
    ([{"at": [1, 2], "radius": 0}], "radius 0; give a radius > 0"),
    ([{"at": [1, 2]}], "has no 'radius'"),
    ([{"at": [500, 2], "radius": 3}], r"'at' \[500, 2\] is outside"),
    ([{"stroke": [[1, 2], [3]], "radius": 3}], "stroke point 1 must be a point"),
])
def test_bad_anchors_are_one_clear_line(data, message):
    with pytest.raises(InputError, match=message) as info:
        controls.parse_anchors(data, IMAGE_SIZE)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------------------------------------------------
# Strength map and direction hint


def test_strength_map_scales_8_bit_to_0_2_and_keeps_exr_values(tmp_path):
    grey = np.full((40, 60), 255, np.uint8)
    grey[:, :30] = 0
    png = tmp_path / "s.png"
    io.write_png(png, np.repeat(grey[..., None], 3, axis=2) / np.float32(255), "srgb")
    values = controls.read_strength_map(png)
    assert values[0, 0] == 0 and values[0, -1] == pytest.approx(2.0)
    exr = tmp_path / "s.exr"
    io.write_exr_image(exr, np.full((40, 60, 3), 3.5, np.float32), "linear")
    assert controls.read_strength_map(exr) == pytest.approx(3.5)
    sv = random_motion(30, 20)
    scaled = controls.scale_motion(sv, controls.strength_on_grid(values, 30, 20, (60, 40)))
    np.testing.assert_allclose(scaled.coeffs[:, :, :, -1], 2 * sv.coeffs[:, :, :, -1], rtol=1e-6)
    assert not scaled.coeffs[:, :, :, 0].any() and not scaled.flow[:, :, 0].any()
    with pytest.raises(InputError, match=r"strength map is 60x40 \(aspect 1.500\) but the image is 120x40"):
        controls.strength_on_grid(values, 30, 20, (120, 40))


def test_negative_strength_map_is_refused(tmp_path):
    exr = tmp_path / "neg.exr"
    io.write_exr_image(exr, np.full((8, 8, 3), -0.5, np.float32), "linear")
    with pytest.raises(InputError, match="negative values"):
        controls.read_strength_map(exr)


def test_direction_hint_turns_sway_keeping_energy_and_phase_of_projection():
    sv = random_motion(12, 8, seed=5)
    region = np.zeros((8, 12), np.float32)
    region[:, 6:] = 1.0
    turned = controls.direction_hint(sv, region, 30.0)
    u = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))])
    inside, outside = turned.coeffs[:, :, :, 6:], turned.coeffs[:, :, :, :6]
    np.testing.assert_array_equal(outside, sv.coeffs[:, :, :, :6])
    energy_before = (np.abs(sv.coeffs[:, :, :, 6:]) ** 2).sum(axis=1)
    np.testing.assert_allclose((np.abs(inside) ** 2).sum(axis=1), energy_before, rtol=1e-5)
    # every band now sways along u: the component across u is 0
    across = -u[1] * inside[:, 0] + u[0] * inside[:, 1]
    assert np.abs(across).max() < 1e-4
    projection_before = u[0] * sv.coeffs[1:, 0, :, 6:] + u[1] * sv.coeffs[1:, 1, :, 6:]
    projection_after = u[0] * inside[1:, 0] + u[1] * inside[1:, 1]
    np.testing.assert_allclose(np.angle(projection_after * np.conj(projection_before)), 0, atol=1e-4)


# ----------------------------------------------------------------------------------------------------------------------
# Fuzz: readers never crash, from the committed corpus mutated


def _mutations(seed_doc):
    json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30),
                          st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
    json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(st.sampled_from(
                                                                   ["from", "to", "speed", "at", "stroke", "radius",
                                                                    "x"]), inner, max_size=4)), max_leaves=6)

    @st.composite
    def mutate(draw):
        doc = copy.deepcopy(seed_doc)
        for _ in range(draw(st.integers(0, 4))):
            if not isinstance(doc, list) or not doc:
                doc = draw(json_any)
                continue
            index = draw(st.integers(0, len(doc) - 1))
            choice = draw(st.integers(0, 3))
            if choice == 0:
                doc[index] = draw(json_any)
            elif choice == 1 and isinstance(doc[index], dict) and doc[index]:
                key = draw(st.sampled_from(sorted(doc[index])))
                doc[index][key] = draw(json_any)
            elif choice == 2:
                doc.pop(index)
            else:
                doc.append(draw(json_any))
        return doc

    return mutate()


CORPUS_DOCS = [load(p.name) for p in sorted(CORPUS.glob("*.json"))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(CORPUS_DOCS))).flatmap(lambda i: _mutations(CORPUS_DOCS[i])))
def test_fuzz_parsers_raise_only_input_errors(doc):
    for parse in (controls.parse_arrows, controls.parse_anchors):
        try:
            result = parse(doc, IMAGE_SIZE)
        except InputError as exc:
            assert "\n" not in str(exc) and str(exc)
        else:
            assert isinstance(result, list) and result


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([p.name for p in sorted(CORPUS.glob("*.json"))]),
       st.integers(0, 400))
def test_fuzz_files_raise_only_input_errors(tmp_path_factory, noise, name, cut):
    folder = tmp_path_factory.mktemp("fuzz")
    raw = (CORPUS / name).read_bytes()
    path = folder / "c.json"
    path.write_bytes(raw[:cut] + noise + raw[cut:])
    for read in (controls.read_arrows, controls.read_anchors):
        try:
            read(path, IMAGE_SIZE)
        except InputError as exc:
            assert "\n" not in str(exc)
