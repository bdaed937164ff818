"""Edge-aware upsampling: pixel-centre convention, exactness, edges, displacement scaling, tiling, memory bound."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from image_dynamics import upsample as up
from image_dynamics.errors import InputError
from image_dynamics.upsample import (
    EdgeAwareUpsampler,
    axis_taps,
    compress_linear,
    grid_shape_for,
    resize_area,
    upsample_bilinear,
)

BACKENDS = ["numpy"] + (["numba"] if up.HAVE_NUMBA else [])
needs_numba = pytest.mark.skipif(not up.HAVE_NUMBA, reason="numba is not installed")


def random_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, channels), dtype=np.float32)


def random_field(channels: int, height: int, width: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((channels, height, width)).astype(np.float32)


def bleed_width(profile: np.ndarray, tol: float = 1e-3) -> int:
    """How many samples of a 0-to-1 step profile lie strictly between the two levels."""
    return int(np.count_nonzero((profile > tol) & (profile < 1 - tol)))


def step_scene(height: int = 48, width: int = 64, edge_x: int = 32, grid: tuple[int, int] = (6, 8),
               noise: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Guide black left of ``edge_x`` and white from it on (plus a little noise); field 0 on grid cells fully left of
    the edge, 1 on cells fully right, the mean of the two for a cell the edge cuts."""
    guide = np.zeros((height, width, 3), dtype=np.float32)
    guide[:, edge_x:] = 1.0
    guide = np.clip(guide + noise * np.random.default_rng(3).standard_normal(guide.shape), 0, 1).astype(np.float32)
    cell_width = width / grid[1]
    starts = np.arange(grid[1]) * cell_width
    covered_right = np.clip((starts + cell_width - edge_x) / cell_width, 0, 1)  # part of each cell right of the edge
    field = np.broadcast_to(covered_right, grid)[None].astype(np.float32)
    return guide, field


# ----------------------------------------------------------------------------------------------------------------------
# Pixel-centre convention and plain resampling


def test_axis_taps_follow_half_pixel_centres_with_replicated_border():
    idx, weights = axis_taps(8, 4, radius=1)  # u = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, ..., 3.25
    assert idx.dtype == np.int32 and weights.dtype == np.float32 and idx.shape == weights.shape == (8, 2)
    np.testing.assert_array_equal(idx, [[0, 0], [0, 1], [0, 1], [1, 2], [1, 2], [2, 3], [2, 3], [3, 3]])
    np.testing.assert_allclose(weights[:3], [[0.25, 0.75], [0.75, 0.25], [0.25, 0.75]])
    np.testing.assert_allclose(weights[7], [0.75, 0.25])
    idx2, weights2 = axis_taps(8, 4, radius=2)  # x = 3: u = 1.25 -> cells 0..3 with tent weights / 2
    np.testing.assert_array_equal(idx2[3], [0, 1, 2, 3])
    np.testing.assert_allclose(weights2[3], [0.375, 0.875, 0.625, 0.125] / np.float32(2))
    np.testing.assert_allclose(weights2.sum(axis=1), 1, atol=1e-6)


@pytest.mark.parametrize("grid, full", [((9, 14), (37, 53)), ((8, 12), (32, 48)), ((5, 3), (5, 30))])
def test_bilinear_reference_places_a_ramp_on_pixel_centres(grid, full):
    h, w = grid
    height, width = full
    field = np.stack([np.broadcast_to(np.arange(w, dtype=np.float32), grid),
                      np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], grid)])
    out = upsample_bilinear(field, full)
    u = np.clip((np.arange(width) + 0.5) * w / width - 0.5, 0, w - 1)
    v = np.clip((np.arange(height) + 0.5) * h / height - 0.5, 0, h - 1)
    np.testing.assert_allclose(out[0], np.broadcast_to(u, full), atol=1e-5)
    np.testing.assert_allclose(out[1], np.broadcast_to(v[:, None], full), atol=1e-5)
    assert upsample_bilinear(field[0], full).shape == full


# ----------------------------------------------------------------------------------------------------------------------
# Exactness and the constant-guide limit


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("max_cached_pixels", [10**9, 0])
def test_constant_field_is_preserved_exactly(backend, radius, max_cached_pixels):
    ups = EdgeAwareUpsampler(random_image(29, 41), (7, 10), radius=radius, backend=backend, tile_rows=8,
                             max_cached_pixels=max_cached_pixels)
    field = np.empty((2, 7, 10), dtype=np.float32)
    field[0], field[1] = 3.7, -1.25
    out = ups.apply(field)
    assert out.dtype == np.float32 and out.shape == (2, 29, 41)
    assert np.all(out[0] == np.float32(3.7)) and np.all(out[1] == np.float32(-1.25))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("radius", [1, 2])
def test_weights_are_normalised_and_stored_compactly(backend, radius):
    ups = EdgeAwareUpsampler(random_image(23, 31), (5, 7), radius=radius, backend=backend)
    taps = (2 * radius) ** 2
    assert ups.weights.shape == (23, 31, taps) and ups.weights.dtype == np.float32
    assert np.all(ups.weights >= 0)
    np.testing.assert_allclose(ups.weights.sum(axis=2), 1, atol=1e-6)
    row_idx, _ = ups.row_taps
    col_idx, _ = ups.column_taps
    assert row_idx.dtype == col_idx.dtype == np.int32
    assert row_idx.shape == (23, 2 * radius) and col_idx.shape == (31, 2 * radius)
    assert ups.bytes_per_pixel == 4 * taps
    assert ups.nbytes >= 23 * 31 * ups.bytes_per_pixel


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("grid, full", [((9, 14), (37, 53)), ((8, 12), (32, 48)), ((4, 4), (8, 8)), ((8, 8), (4, 4))])
def test_constant_guide_gives_plain_bilinear_upsampling(backend, grid, full):
    guide = np.full((*full, 3), 0.4, dtype=np.float32)
    field = random_field(2, *grid)
    out = EdgeAwareUpsampler(guide, grid, backend=backend).apply(field)
    np.testing.assert_allclose(out, upsample_bilinear(field, full), atol=2e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wider_tent_reproduces_a_linear_ramp_in_the_interior(backend):
    h, w, height, width = 10, 12, 40, 60
    field = np.broadcast_to(np.arange(w, dtype=np.float32) * 2 - 3, (1, h, w))
    ups = EdgeAwareUpsampler(np.full((height, width, 3), 0.5, np.float32), (h, w), radius=2, backend=backend)
    out = ups.apply(field)[0]
    u = (np.arange(width) + 0.5) * w / width - 0.5
    interior = (np.floor(u) - 1 >= 0) & (np.floor(u) + 2 <= w - 1)  # no tap is clamped at the border
    np.testing.assert_allclose(out[:, interior], np.broadcast_to(u[interior] * 2 - 3, (height, interior.sum())),
                               atol=1e-5)
    # ... and is smoother than bilinear: an impulse spreads over 4 cells instead of 2
    impulse = np.zeros((1, h, w), np.float32)
    impulse[0, 5, 6] = 1
    spread = np.count_nonzero(ups.apply(impulse)[0, 22] > 0)
    assert spread == np.count_nonzero(np.abs(u - 6) < 2) > np.count_nonzero(np.abs(u - 6) < 1)


# ----------------------------------------------------------------------------------------------------------------------
# Edges


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("edge_x", [32, 36])  # on a grid-cell border (cells are 8 px wide), and through a cell's middle
def test_motion_stops_sharply_at_an_image_edge(backend, radius, edge_x):
    guide, field = step_scene(edge_x=edge_x)
    out = EdgeAwareUpsampler(guide, field.shape[1:], radius=radius, backend=backend).apply(field)[0]
    np.testing.assert_allclose(out[:, :edge_x], 0, atol=1e-6)
    np.testing.assert_allclose(out[:, edge_x:], 1, atol=1e-6)
    assert max(bleed_width(row) for row in out) == 0
    # plain bilinear ramps over a grid cell (8 pixels) on the aligned edge
    if edge_x == 32:
        assert all(bleed_width(row) == 8 for row in upsample_bilinear(field, guide.shape[:2])[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_guides_compare_colours_perceptually(backend):
    # a dark scene-linear edge (0.001 | 0.03, i.e. sRGB 0.013 | 0.19): small in linear values, clear to the eye
    guide, field = step_scene(noise=0.0)
    hdr = np.where(guide > 0.5, np.float32(0.03), np.float32(0.001))
    sharp = EdgeAwareUpsampler(hdr, field.shape[1:], linear_guide=True, backend=backend).apply(field)[0]
    raw = EdgeAwareUpsampler(hdr, field.shape[1:], backend=backend).apply(field)[0]
    step = (np.arange(64) >= 32).astype(np.float32)
    assert np.abs(sharp - step).max() < 0.02
    assert np.abs(raw - step).max() > 0.2


def test_compress_linear_is_srgb_below_one_and_logarithmic_above():
    x = np.array([0.0, 0.002, 0.0031308, 0.18, 0.5, 1.0], dtype=np.float32)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(compress_linear(x), srgb, atol=1e-6)
    hdr = np.geomspace(0.5, 1e4, 200).astype(np.float32)
    y = compress_linear(hdr)
    assert np.all(np.diff(y) > 0)
    np.testing.assert_allclose(compress_linear(np.float32([1.001])), 1 + 0.001 * 1.055 / 2.4, atol=1e-5)
    np.testing.assert_allclose(compress_linear(np.float32([np.e])), 1 + 1.055 / 2.4, atol=1e-6)
    special = compress_linear(np.array([np.nan, -2.0, np.inf], dtype=np.float32))
    assert special[0] == 0 and special[1] == 0 and np.isfinite(special[2])


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_finite_guide_pixels_do_not_poison_the_output(backend):
    guide = random_image(20, 24)
    guide[5, 7] = np.nan
    guide[11, 3] = np.inf
    ups = EdgeAwareUpsampler(guide, (5, 6), backend=backend)
    assert np.all(np.isfinite(ups.apply(random_field(2, 5, 6))))
    np.testing.assert_allclose(ups.weights.sum(axis=2), 1, atol=1e-6)


# ----------------------------------------------------------------------------------------------------------------------
# Displacements, paths and API


@pytest.mark.parametrize("backend", BACKENDS)
def test_displacement_is_scaled_to_image_pixels(backend):
    grid, full = (9, 14), (37, 53)
    ups = EdgeAwareUpsampler(random_image(*full), grid, backend=backend)
    constant = np.empty((2, *grid), np.float32)
    constant[0], constant[1] = 1.5, -2.0
    out = ups.apply_displacement(constant)
    assert np.all(out[0] == np.float32(1.5) * np.float32(53 / 14))
    assert np.all(out[1] == np.float32(-2.0) * np.float32(37 / 9))
    field = random_field(2, *grid)
    expected = ups.apply(field) * np.array([53 / 14, 37 / 9], np.float32)[:, None, None]
    np.testing.assert_allclose(ups.apply_displacement(field), expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(InputError, match=r"\[2, h, w\]"):
        ups.apply_displacement(random_field(3, *grid))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("radius", [1, 2])
def test_tiled_path_equals_cached_path_exactly(backend, radius):
    guide, field = random_image(45, 61, channels=4), random_field(3, 11, 16)
    cached = EdgeAwareUpsampler(guide, (11, 16), radius=radius, backend=backend)
    tiled = EdgeAwareUpsampler(guide, (11, 16), radius=radius, backend=backend, tile_rows=7, max_cached_pixels=0)
    assert cached.cached and cached.weights is not None
    assert not tiled.cached and tiled.weights is None
    full = cached.apply(field)
    np.testing.assert_array_equal(tiled.apply(field), full)
    np.testing.assert_array_equal(tiled.apply_displacement(field[:2]), cached.apply_displacement(field[:2]))
    for ups in (cached, tiled):
        np.testing.assert_array_equal(ups.apply_rows(field, 10, 30), full[:, 10:30])
        np.testing.assert_array_equal(ups.apply_rows(field, 44, 45), full[:, 44:45])


@needs_numba
@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("linear_guide", [False, True])
def test_numba_path_agrees_with_numpy_reference(radius, linear_guide):
    guide = random_image(33, 47) * (4 if linear_guide else 1)
    field = random_field(2, 8, 11)
    fast = EdgeAwareUpsampler(guide, (8, 11), radius=radius, backend="numba", linear_guide=linear_guide)
    reference = EdgeAwareUpsampler(guide, (8, 11), radius=radius, backend="numpy", linear_guide=linear_guide)
    np.testing.assert_allclose(fast.weights, reference.weights, atol=1e-6)
    np.testing.assert_allclose(fast.apply(field), reference.apply(field), atol=1e-5)


@needs_numba
def test_unrolled_bilinear_gather_equals_generic_gather_exactly():
    ups = EdgeAwareUpsampler(random_image(30, 40), (6, 9), backend="numba")
    field, scales = random_field(2, 6, 9), np.float32([1.0, 2.5])
    generic, unrolled = (np.zeros((2, 30, 40), np.float32) for _ in range(2))
    args = (field, ups.row_taps[0], ups.column_taps[0], ups.weights, scales)
    up._gather_numba(*args, generic, 0)
    up._gather_bilinear_numba(*args, unrolled, 0)
    np.testing.assert_array_equal(generic, unrolled)


@pytest.mark.parametrize("backend", BACKENDS)
def test_degenerate_grids(backend):
    guide = random_image(8, 8)
    one = np.full((2, 1, 1), 0.3, dtype=np.float32)
    out = EdgeAwareUpsampler(guide, (1, 1), backend=backend).apply(one)
    assert out.shape == (2, 8, 8) and np.all(out == np.float32(0.3))
    for grid in [(1, 5), (6, 1), (4, 4)]:
        field = random_field(2, *grid)
        flat = np.full((8, 8, 3), 0.7, np.float32)
        np.testing.assert_allclose(EdgeAwareUpsampler(flat, grid, backend=backend).apply(field),
                                   upsample_bilinear(field, (8, 8)), atol=2e-6)
    single_pixel = EdgeAwareUpsampler(np.ones((1, 1, 3), np.float32), (3, 3), backend=backend)
    np.testing.assert_allclose(single_pixel.apply(random_field(1, 3, 3))[0, 0, 0], random_field(1, 3, 3)[0, 1, 1])


def test_planar_fields_and_apply_into():
    ups = EdgeAwareUpsampler(random_image(21, 26), (5, 6))
    field = random_field(2, 5, 6)
    full = ups.apply(field)
    np.testing.assert_array_equal(ups.apply(field[1]), full[1])
    out = np.zeros((2, 21, 26), np.float32)
    assert ups.apply_into(field, out) is out
    np.testing.assert_array_equal(out, full)
    assert ups.full_shape == (21, 26) and ups.grid_shape == (5, 6)
    with pytest.raises(InputError, match="out must be"):
        ups.apply_into(field, np.zeros((2, 21, 26), np.float64))
    with pytest.raises(InputError, match=r"\[C, 5, 6\]"):
        ups.apply(random_field(2, 6, 5))
    with pytest.raises(InputError, match="row range"):
        ups.apply_rows(field, 5, 22)


def test_8k_tiled_mode_keeps_memory_bounded():
    height, width = 4320, 7680
    guide = np.zeros((height, width, 1), np.float32)  # grey, so the test itself stays at 133 MB
    guide[:, 3855:] = 1.0  # an image edge through the centre of grid cell 128 (cells are 30 px wide)
    grid = grid_shape_for(width, height)
    assert grid == (144, 256)
    tracemalloc.start()
    try:
        ups = EdgeAwareUpsampler(guide, grid)
        field = np.zeros((1, *grid), np.float32)
        field[..., 129:] = 1.0
        field[..., 128] = 0.5
        band = ups.apply_rows(field, 2000, 2000 + ups.tile_rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not ups.cached and ups.weights is None
    assert ups.bytes_per_pixel * height * width > 500e6  # what caching would have cost
    assert ups.nbytes < 1e6 and peak < 40e6
    assert band.shape == (1, ups.tile_rows, width)
    # one grey channel separates black from the half-grey cell less than RGB would: allow 1e-3
    np.testing.assert_allclose(band[0, :, :3855], 0, atol=1e-3)
    np.testing.assert_allclose(band[0, :, 3855:], 1, atol=1e-3)
    assert max(bleed_width(row) for row in band[0]) == 0


# ----------------------------------------------------------------------------------------------------------------------
# Helpers and argument checks


def test_resize_area_averages_cells():
    image = random_image(6, 8, channels=4)
    expected = image.reshape(3, 2, 4, 2, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(resize_area(image, (3, 4)), expected, atol=1e-6)
    assert resize_area(image[:, :, :1], (3, 4)).shape == (3, 4, 1)
    np.testing.assert_allclose(resize_area(image[:, :, 0], (3, 4)), expected[:, :, 0], atol=1e-6)
    np.testing.assert_allclose(resize_area(image, (5, 3)), cv2.resize(image, (3, 5), interpolation=cv2.INTER_AREA))


def test_grid_shape_for_keeps_the_aspect_ratio():
    assert grid_shape_for(1920, 1080) == (144, 256)
    assert grid_shape_for(1080, 1920) == (256, 144)
    assert grid_shape_for(7680, 4320, max_side=512) == (288, 512)
    assert grid_shape_for(256, 160) == (160, 256)
    assert grid_shape_for(100, 50) == (50, 100)
    assert grid_shape_for(100000, 7) == (1, 256)
    with pytest.raises(InputError, match="width"):
        grid_shape_for(0, 10)


@pytest.mark.parametrize("kwargs, match", [
    ({"guide": np.zeros((8, 8, 3), np.uint8)}, "floating point"),
    ({"guide": np.zeros((8, 8, 5), np.float32)}, r"\[H, W, C\]"),
    ({"grid_shape": (0, 4)}, "grid_shape"),
    ({"sigma_color": 0.0}, "sigma_color"),
    ({"radius": 0}, "radius"),
    ({"tile_rows": 0}, "tile_rows"),
    ({"backend": "cuda"}, "backend"),
])
def test_bad_arguments_are_explained(kwargs, match):
    args = {"guide": random_image(8, 8), "grid_shape": (4, 4)}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        EdgeAwareUpsampler(**args)
