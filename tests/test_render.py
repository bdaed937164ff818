"""Forward warping (softmax splatting), hole filling and compositor maps: exact behaviour on small images.

Fields are engine convention: [2, H, W], pixels, x right, y down; source p lands at p + d(p).
"""

from __future__ import annotations

import numpy as np
import pytest

from image_dynamics import render, splat_kernels
from image_dynamics.errors import InputError
from image_dynamics.render import backward_warp, compositor_map, fill_holes, softmax_splat, warp_image

BACKENDS = ("numba", "numpy")


def uniform_flow(dx: float, dy: float, height: int, width: int) -> np.ndarray:
    flow = np.empty((2, height, width), dtype=np.float32)
    flow[0], flow[1] = dx, dy
    return flow


def smooth_flow(height: int, width: int, amplitude: float, seed: int) -> np.ndarray:
    """A smooth random field: a few low-frequency sinusoids per component, peak about ``amplitude`` pixels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    flow = np.zeros((2, height, width))
    for comp in range(2):
        for _ in range(3):
            kx, ky = rng.uniform(-2, 2, size=2) * 2 * np.pi / np.array([width, height])
            flow[comp] += np.sin(kx * xx + ky * yy + rng.uniform(0, 2 * np.pi))
    return (amplitude / 3 * flow).astype(np.float32)


def smooth_image(height: int, width: int, channels: int = 3) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [0.5 + 0.4 * np.sin(xx / (5 + 2 * c) + yy / (7 + c)) for c in range(channels)]
    return np.stack(planes, axis=-1).astype(np.float32)


def magnitude(flow: np.ndarray) -> np.ndarray:
    return np.hypot(flow[0], flow[1]).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------------
# Exact geometry


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_displacement_shifts_exactly_and_fills_vacated_border(backend):
    rng = np.random.default_rng(1)
    height, width = 20, 28
    image = rng.uniform(0.2, 1.0, size=(height, width, 3)).astype(np.float32)
    flow = uniform_flow(3, -2, height, width)
    importance = rng.uniform(0, 2, size=(height, width)).astype(np.float32)  # one source per pixel: weights cancel

    accum, weight_sum = softmax_splat(image, flow, importance, backend=backend)
    expected_holes = np.zeros((height, width), dtype=bool)
    expected_holes[height - 2:, :] = True
    expected_holes[:, :3] = True
    np.testing.assert_array_equal(weight_sum == 0, expected_holes)

    out = warp_image(image, flow, importance, backend=backend)
    assert out.dtype == np.float32 and out.shape == image.shape
    np.testing.assert_allclose(out[:height - 2, 3:], image[2:, :width - 3], rtol=0, atol=1e-6)
    vacated = out[expected_holes]
    assert np.isfinite(vacated).all()
    assert vacated.min() >= image.min() - 1e-6 and vacated.max() <= image.max() + 1e-6  # blends of pixels, not black


@pytest.mark.parametrize("backend", BACKENDS)
def test_half_pixel_displacement_gives_bilinear_average(backend):
    rng = np.random.default_rng(2)
    image = rng.random((9, 11, 3), dtype=np.float32)
    flat = np.zeros((9, 11), dtype=np.float32)

    out = warp_image(image, uniform_flow(0.5, 0, 9, 11), flat, backend=backend)
    np.testing.assert_allclose(out[:, 1:], (image[:, :-1] + image[:, 1:]) / 2, atol=1e-6)
    np.testing.assert_allclose(out[:, 0], image[:, 0], atol=1e-6)  # only source 0's half lands there

    out = warp_image(image, uniform_flow(0.5, 0.5, 9, 11), flat, backend=backend)
    four = (image[:-1, :-1] + image[:-1, 1:] + image[1:, :-1] + image[1:, 1:]) / 4
    np.testing.assert_allclose(out[1:, 1:], four, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_half_pixel_displacement_weights_sources_by_softmax_of_importance(backend):
    rng = np.random.default_rng(3)
    image = rng.random((6, 10, 3), dtype=np.float32)
    importance = rng.uniform(0, 3, size=(6, 10)).astype(np.float32)
    beta = 1.7
    out = warp_image(image, uniform_flow(0.5, 0, 6, 10), importance, beta=beta, backend=backend)
    e = np.exp(beta * importance.astype(np.float64))[..., None]
    expected = (e[:, :-1] * image[:, :-1] + e[:, 1:] * image[:, 1:]) / (e[:, :-1] + e[:, 1:])
    np.testing.assert_allclose(out[:, 1:], expected, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mover_in_front", [True, False])
def test_occlusion_larger_importance_wins_as_beta_grows(backend, mover_in_front):
    image = np.full((8, 12, 3), 0.5, dtype=np.float32)
    mover, resident = np.float32([1.0, 0.0, 0.0]), np.float32([0.0, 0.0, 1.0])
    image[4, 3], image[4, 7] = mover, resident
    flow = np.zeros((2, 8, 12), dtype=np.float32)
    flow[0, 4, 3] = 4.0  # (4, 3) lands exactly on (4, 7), which stays
    importance = np.full((8, 12), 0.5, dtype=np.float32)
    importance[4, 3] = 2.0 if mover_in_front else 0.1
    winner = mover if mover_in_front else resident

    errors = []
    for beta in (0.0, 1.0, 4.0, 40.0):
        out = warp_image(image, flow, importance, beta=beta, backend=backend)
        e_mover, e_resident = np.exp(beta * float(importance[4, 3])), np.exp(beta * 0.5)
        expected = (e_mover * mover + e_resident * resident) / (e_mover + e_resident)
        np.testing.assert_allclose(out[4, 7], expected, atol=1e-6)
        errors.append(np.abs(out[4, 7] - winner).max())
        assert 0.0 <= out[4, 3].min() and out[4, 3].max() <= 1.0  # the vacated pixel is filled from neighbours
    np.testing.assert_allclose(errors[0], 0.5, atol=1e-6)  # beta = 0: a plain average
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-6


# ----------------------------------------------------------------------------------------------------------------------
# Alpha and value ranges


@pytest.mark.parametrize("backend", BACKENDS)
def test_rgba_integer_shift_moves_alpha_with_colour(backend):
    rng = np.random.default_rng(4)
    image = rng.random((16, 18, 4), dtype=np.float32)
    image[..., 3][rng.random((16, 18)) < 0.3] = 0.0
    image[..., :3][image[..., 3] == 0] = 0.0  # straight colour of fully transparent pixels is 0 on output
    out = warp_image(image, uniform_flow(-2, 1, 16, 18), np.ones((16, 18), np.float32), backend=backend)
    assert out.dtype == np.float32 and out.shape == image.shape
    np.testing.assert_allclose(out[1:, :-2], image[:-1, 2:], atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_transparent_pixels_lend_no_colour(backend):
    image = np.zeros((6, 10, 4), dtype=np.float32)
    image[:, :5] = [0.0, 1.0, 0.0, 1.0]  # opaque green
    image[:, 5:] = [1.0, 0.0, 0.0, 0.0]  # fully transparent, with bright red left in its colour channels
    out = warp_image(image, uniform_flow(0.5, 0, 6, 10), np.zeros((6, 10), np.float32), backend=backend)
    np.testing.assert_allclose(out[:, 5, 3], 0.5, atol=1e-6)  # half green, half transparent
    np.testing.assert_allclose(out[:, 1:6, :3], np.broadcast_to([0.0, 1.0, 0.0], (6, 5, 3)), atol=1e-6)
    assert out[..., 0].max() == 0.0  # no red anywhere
    np.testing.assert_array_equal(out[:, 7:], 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_opaque_alpha_stays_opaque_under_smooth_motion(backend):
    image = smooth_image(24, 30, 4)
    image[..., 3] = 1.0
    flow = smooth_flow(24, 30, 3.0, seed=5)
    out = warp_image(image, flow, magnitude(flow), backend=backend)
    np.testing.assert_allclose(out[..., 3], 1.0, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_value_range_is_kept_for_8bit_range_and_linear_hdr(backend):
    image = smooth_image(24, 30)
    flow = smooth_flow(24, 30, 2.5, seed=6)
    importance = magnitude(flow)
    unit = warp_image(image, flow, importance, backend=backend)
    np.testing.assert_allclose(warp_image(image * 255, flow, importance, backend=backend), unit * 255, rtol=1e-5)
    as_uint8 = np.round(image * 255).astype(np.uint8)
    np.testing.assert_array_equal(warp_image(as_uint8, flow, importance, backend=backend),
                                  warp_image(as_uint8.astype(np.float32), flow, importance, backend=backend))

    hdr = image * 50.0  # scene-linear values far above 1 are not clipped
    shifted = warp_image(hdr, uniform_flow(1, 2, 24, 30), importance, backend=backend)
    np.testing.assert_allclose(shifted[2:, 1:], hdr[:-2, :-1], rtol=1e-6)
    assert shifted.max() > 40.0


# ----------------------------------------------------------------------------------------------------------------------
# Identity, constancy, hole filling


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("channels", [3, 4])
def test_zero_flow_returns_input_exactly(backend, channels):
    rng = np.random.default_rng(7)
    image = rng.random((13, 17, channels), dtype=np.float32)
    zero = np.zeros((2, 13, 17), np.float32)
    importance = rng.random((13, 17), dtype=np.float32)
    np.testing.assert_array_equal(warp_image(image, zero, importance, backend=backend), image)
    np.testing.assert_array_equal(compositor_map(zero, importance, backend=backend), zero)
    # The splat itself is exact too when every weight is 1 (uniform importance): one tap of weight 1 per pixel.
    accum, weight_sum = softmax_splat(image, zero, np.ones((13, 17), np.float32), backend=backend)
    np.testing.assert_array_equal(fill_holes(accum, weight_sum, backend=backend), image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_image_stays_constant_under_any_flow(backend):
    rng = np.random.default_rng(8)
    flow = (rng.normal(size=(2, 32, 32)) * 6).astype(np.float32)  # wild motion: many holes, many sources leave
    importance = rng.random((32, 32), dtype=np.float32) * 4
    accum, weight_sum = softmax_splat(np.ones((32, 32, 3), np.float32), flow, importance, backend=backend)
    assert (weight_sum == 0).sum() > 50  # the case really has holes to fill
    for value in ([0.3, 0.6, 0.9], [0.25, 0.5, 0.75, 0.8]):
        image = np.broadcast_to(np.float32(value), (32, 32, len(value))).copy()
        out = warp_image(image, flow, importance, beta=2.0, backend=backend)
        np.testing.assert_allclose(out, image, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_border_hole_is_filled_from_the_nearest_region(backend):
    values = np.zeros((64, 64, 1), np.float32)
    weight_sum = np.zeros((64, 64), np.float32)
    weight_sum[:, 16:] = 2.0
    values[:, 16:48] = 0.7 * 2.0  # un-normalised: value times weight
    values[:, 48:] = 0.1 * 2.0
    out = fill_holes(values, weight_sum, backend=backend)[..., 0]
    np.testing.assert_allclose(out[:, 16:48], 0.7, atol=1e-6)
    np.testing.assert_allclose(out[:, 48:], 0.1, atol=1e-6)
    assert out[:, :16].min() > 0.65 and out[:, :16].max() <= 0.7 + 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_holes_take_plausible_neighbour_values(backend):
    ramp = np.broadcast_to(np.arange(40, dtype=np.float32) / 40, (30, 40))[..., None].copy()
    weight_sum = np.ones((30, 40), np.float32)
    holes = [(5, 7), (12, 20), (0, 0), (29, 39), (17, 33)]
    for y, x in holes:
        weight_sum[y, x] = 0.0
    out = fill_holes(ramp * weight_sum[..., None], weight_sum, backend=backend)
    for y, x in holes:
        assert abs(out[y, x, 0] - ramp[y, x, 0]) <= 1.5 / 40
    covered = weight_sum > 0
    np.testing.assert_array_equal(out[covered], ramp[covered])


@pytest.mark.parametrize("backend", BACKENDS)
def test_fill_holes_edge_cases(backend):
    empty = fill_holes(np.zeros((5, 7, 3), np.float32), np.zeros((5, 7), np.float32), backend=backend)
    np.testing.assert_array_equal(empty, 0.0)  # nothing landed: nothing to fill from
    one = np.zeros((5, 7, 2), np.float32)
    weight = np.zeros((5, 7), np.float32)
    one[2, 3], weight[2, 3] = [0.5, 3.0], 0.5
    np.testing.assert_allclose(fill_holes(one, weight, backend=backend), np.broadcast_to([1.0, 6.0], (5, 7, 2)))
    below = fill_holes(one, weight, min_weight=0.5, backend=backend)
    np.testing.assert_array_equal(below, 0.0)  # weight 0.5 is not above min_weight: no covered pixel left


# ----------------------------------------------------------------------------------------------------------------------
# Compositor (backward) maps


def test_backward_warp_convention_moves_content_by_v():
    rng = np.random.default_rng(16)
    image = rng.random((20, 24, 2), dtype=np.float32)
    out = backward_warp(image, uniform_flow(5, 3, 20, 24))
    rows = np.maximum(np.arange(20) - 3, 0)[:, None]  # out(q) = in(q - v): content moves 5 px right, 3 px down
    cols = np.maximum(np.arange(24) - 5, 0)[None, :]  # clamped: the border pixels are replicated
    np.testing.assert_array_equal(out, image[rows, cols])
    half = backward_warp(image[..., 0], uniform_flow(0.5, 0, 20, 24))
    np.testing.assert_allclose(half[:, 1:], (image[:, :-1, 0] + image[:, 1:, 0]) / 2, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_compositor_map_of_uniform_motion_is_that_motion_everywhere(backend):
    vmap = compositor_map(uniform_flow(3, -2, 16, 20), np.ones((16, 20), np.float32), backend=backend)
    np.testing.assert_allclose(vmap, uniform_flow(3, -2, 16, 20), atol=1e-6)  # holes filled with neighbours' motion


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [9, 10])
def test_compositor_map_carries_displacement_to_its_landing_point(backend, seed):
    flow = smooth_flow(48, 56, 1.5, seed=seed)
    vmap = compositor_map(flow, magnitude(flow), backend=backend)
    assert vmap.shape == (2, 48, 56) and vmap.dtype == np.float32

    def landing_error(v):  # |v(p + d(p)) - d(p)| in the interior
        landed = backward_warp(v.transpose(1, 2, 0), -flow).transpose(2, 0, 1)
        return np.abs(landed - flow)[:, 6:-6, 6:-6]

    error = landing_error(vmap)
    assert error.mean() < 0.01 and error.max() < 0.05
    assert landing_error(flow).mean() > 0.04  # d itself, not carried to where pixels land, is far off


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [9, 10])
def test_compositor_map_with_backward_warp_reproduces_forward_warp(backend, seed):
    image = smooth_image(48, 56)
    flow = smooth_flow(48, 56, 1.5, seed=seed)
    importance = magnitude(flow)
    forward = warp_image(image, flow, importance, backend=backend)
    backward = backward_warp(image, compositor_map(flow, importance, backend=backend))
    diff = np.abs(forward - backward)[6:-6, 6:-6]
    assert diff.mean() < 2.5e-3 and diff.max() < 2e-2
    naive = np.abs(forward - backward_warp(image, flow))[6:-6, 6:-6]
    assert naive.mean() > 3e-3  # the test can tell a wrong map


# ----------------------------------------------------------------------------------------------------------------------
# Back ends and kernels


def test_numpy_and_numba_backends_agree():
    rng = np.random.default_rng(11)
    height, width = 40, 52
    image = rng.random((height, width, 3), dtype=np.float32) * 3
    flow = smooth_flow(height, width, 4.0, seed=12) + rng.normal(size=(2, height, width)).astype(np.float32)
    flow[0, :3, :] += 60.0  # some sources leave the image
    flow[1, 10, 10] = np.nan  # a broken value drops its source in both back ends
    importance = magnitude(np.nan_to_num(flow))
    results = {b: softmax_splat(image, flow, importance, beta=0.6, backend=b) for b in BACKENDS}
    (acc_a, w_a), (acc_b, w_b) = results["numba"], results["numpy"]
    assert acc_a.dtype == acc_b.dtype == np.float32
    np.testing.assert_allclose(acc_a, acc_b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w_a, w_b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(w_a == 0, w_b == 0)
    filled = [fill_holes(acc, w, backend=b) for b, (acc, w) in results.items()]
    np.testing.assert_allclose(filled[0], filled[1], rtol=1e-5, atol=1e-5)
    warped = [warp_image(image, flow, importance, backend=b) for b in BACKENDS]
    np.testing.assert_allclose(warped[0], warped[1], rtol=1e-5, atol=1e-5)
    assert np.isfinite(warped[0]).all()


def test_wide_importance_spread_accumulates_in_float64_without_losing_sources():
    rng = np.random.default_rng(13)
    image = rng.random((24, 30, 3), dtype=np.float32)
    flow = smooth_flow(24, 30, 3.0, seed=14)
    importance = np.linspace(0, 400, 24 * 30, dtype=np.float32).reshape(24, 30)  # e**-400 underflows float32
    coverage = softmax_splat(image, flow, np.zeros_like(importance))[1] > 0
    results = [softmax_splat(image, flow, importance, backend=b) for b in BACKENDS]
    for accum, weight_sum in results:
        assert accum.dtype == weight_sum.dtype == np.float64
        np.testing.assert_array_equal(weight_sum > 0, coverage)
    norm = [acc / np.where(w > 0, w, 1)[..., None] for acc, w in results]
    np.testing.assert_allclose(norm[0], norm[1], rtol=1e-6, atol=1e-6)


def test_banded_parallel_kernel_matches_serial_kernel():
    rng = np.random.default_rng(15)
    height, width = 96, 70
    values = rng.random((height, width, 3), dtype=np.float32)
    flow = (rng.uniform(-2.5, 2.5, size=(2, height, width))).astype(np.float32)
    weights = render.softmax_weights(rng.random((height, width), dtype=np.float32), 2.0)
    outputs = []
    for band_rows in (0, 8, 13):  # 8 rows is the race-free minimum for |flow_y| <= 2.5
        accum, weight_sum = np.zeros((height, width, 3), np.float32), np.zeros((height, width), np.float32)
        if band_rows:
            splat_kernels.splat_banded(values, flow, weights, accum, weight_sum, band_rows)
        else:
            splat_kernels.splat_serial(values, flow, weights, accum, weight_sum)
        outputs.append((accum, weight_sum))
    for accum, weight_sum in outputs[1:]:
        np.testing.assert_allclose(accum, outputs[0][0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(weight_sum, outputs[0][1], rtol=1e-6, atol=1e-7)


def test_public_numba_path_on_an_image_large_enough_for_bands_matches_numpy():
    height, width = 256, 272  # above PARALLEL_MIN_PIXELS: splat_parallel uses bands when numba has 2+ threads
    assert splat_kernels.band_rows_for(height, width, 3.0, threads=2) > 0
    image = smooth_image(height, width)
    flow = smooth_flow(height, width, 3.0, seed=17)
    importance = magnitude(flow)
    numba_out, numpy_out = (softmax_splat(image, flow, importance, backend=b) for b in BACKENDS)
    np.testing.assert_allclose(numba_out[0], numpy_out[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numba_out[1], numpy_out[1], rtol=1e-5, atol=1e-6)


def test_band_rows_respect_the_race_free_bound_and_never_depend_on_the_machine():
    assert splat_kernels.band_rows_for(1080, 1920, 3.2) == 17  # 64 bands: 4 per parity for 8 threads
    assert splat_kernels.band_rows_for(1080, 1920, 99.5) == 2 * (100 + 1)  # 6 bands
    assert splat_kernels.band_rows_for(1080, 1920, 200.0) == 0  # fewer than 4 bands: serial
    assert splat_kernels.band_rows_for(1080, 1920, float("nan")) == 0
    assert splat_kernels.band_rows_for(32, 32, 1.0) == 0
    for threads in (1, 2, 3, 64):  # the order of additions, so every bit of a frame, is the same on every machine
        assert splat_kernels.band_rows_for(1080, 1920, 3.2, threads=threads) == 17


def test_frames_do_not_depend_on_the_number_of_threads():
    import os
    import subprocess
    import sys

    code = ("import hashlib, numpy as np; from image_dynamics import render; rng = np.random.default_rng(5); "
            "img = rng.random((300, 260, 3), dtype=np.float32); "
            "flow = (4 * rng.standard_normal((2, 300, 260))).astype(np.float32); "
            "imp = rng.random((300, 260), dtype=np.float32); "
            "print(hashlib.sha256(render.Warper(img, imp).warp(flow).tobytes()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_NUM_THREADS": str(threads)},
                              capture_output=True, text=True, check=True).stdout for threads in (1, 2, 3)}
    assert len(digests) == 1


# ----------------------------------------------------------------------------------------------------------------------
# Errors a caller can cause


def test_bad_inputs_raise_clear_errors():
    image = np.zeros((8, 9, 3), np.float32)
    importance = np.zeros((8, 9), np.float32)
    with pytest.raises(InputError, match=r"flow must be a displacement field \[2, H, W\] = \[2, 8, 9\]"):
        warp_image(image, np.zeros((2, 9, 8), np.float32), importance)
    with pytest.raises(InputError, match=r"image must be an array \[H, W, 3 or 4\]"):
        warp_image(np.zeros((8, 9, 2), np.float32), np.zeros((2, 8, 9), np.float32), importance)
    broken = importance.copy()
    broken[3, 3] = np.nan
    with pytest.raises(InputError, match="importance holds 1 NaN"):
        warp_image(image, np.ones((2, 8, 9), np.float32), broken)
    with pytest.raises(InputError, match="backend must be one of numba, numpy"):
        softmax_splat(image, np.zeros((2, 8, 9), np.float32), importance, backend="torch")
    with pytest.raises(InputError, match="vmap holds"):
        backward_warp(image, np.full((2, 8, 9), np.inf, np.float32))
