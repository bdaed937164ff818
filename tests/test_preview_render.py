"""The fast frame path (render.Warper): the same frames as the split splat + fill kernels, bit for bit."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from image_dynamics import render, splat_kernels
from image_dynamics.errors import InputError
from image_dynamics.upsample import EdgeAwareUpsampler


def split_path(image: np.ndarray, flow: np.ndarray, importance: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """warp_image as it was before Warper: numba splat, numba fill, premultiplied alpha around them."""
    rgba = image.shape[2] == 4
    values = splat_kernels.premultiply(image) if rgba else image
    accum, weight_sum = render.softmax_splat(values, flow, importance, beta)
    out = render.fill_holes(accum, weight_sum)
    if rgba:
        splat_kernels.unpremultiply(out)
    return out


def smooth_flow(height: int, width: int, amplitude: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.random(4) * 6.0
    return np.stack([amplitude * np.sin(xx / 9 + phase[0]) * np.cos(yy / 7 + phase[1]),
                     amplitude * np.cos(xx / 11 + phase[2] + yy / 5 + phase[3])]).astype(np.float32)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("amplitude", [0.7, 6.0])
def test_warper_equals_split_kernels(channels, amplitude):
    height, width = 300, 260  # above PARALLEL_MIN_PIXELS: the banded parallel splat runs
    rng = np.random.default_rng(1)
    image = rng.random((height, width, channels), dtype=np.float32)
    if channels == 4:
        image[..., 3] = (rng.random((height, width)) > 0.3).astype(np.float32)
    flow = smooth_flow(height, width, amplitude)
    importance = np.hypot(flow[0], flow[1])
    expected = split_path(image, flow, importance)
    holes = int((render.softmax_splat(image, flow, importance)[1] == 0).sum())
    warper = render.Warper(image, importance)
    np.testing.assert_array_equal(warper.warp(flow), expected)
    np.testing.assert_array_equal(render.warp_image(image, flow, importance), expected)
    out = np.full_like(image, np.nan)
    assert warper.warp(flow, out) is out  # the reused buffers leave nothing behind from the previous frame
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(render.Warper(image, importance, keep_buffers=False).warp(flow), expected)
    if amplitude > 1:
        assert holes > 0  # the hole fill ran


def test_warper_float64_weights_and_empty_frames():
    height, width = 40, 50
    image = np.random.default_rng(2).random((height, width, 3), dtype=np.float32)
    flow = smooth_flow(height, width, 3.0)
    importance = np.linspace(0, 80, height * width, dtype=np.float32).reshape(height, width)  # spread > 50: float64
    warper = render.Warper(image, importance)
    assert warper.weights.dtype == np.float64
    np.testing.assert_array_equal(warper.warp(flow), split_path(image, flow, importance))
    np.testing.assert_array_equal(warper.warp(np.zeros_like(flow)), image)  # frame 0: bit-exact input
    gone = np.full_like(flow, 1e6)  # everything lands outside: nothing to fill from, all zeros like fill_holes
    np.testing.assert_array_equal(warper.warp(gone), split_path(image, gone, importance))
    np.testing.assert_array_equal(warper.warp(gone), 0.0)


def test_warp_grid_equals_warp_of_the_upsampled_flow():
    height, width = 90, 120
    rng = np.random.default_rng(3)
    image = rng.random((height, width, 3), dtype=np.float32)
    upsampler = EdgeAwareUpsampler(image, (18, 24))
    grid = rng.normal(0, 3, (2, 18, 24)).astype(np.float32)
    flow = upsampler.apply(grid)
    importance = np.hypot(flow[0], flow[1])
    warper = render.Warper(image, importance)
    np.testing.assert_array_equal(warper.warp_grid(grid, upsampler), warper.warp(flow))
    np.testing.assert_array_equal(warper.warp_grid(np.zeros_like(grid), upsampler), image)
    with pytest.raises(InputError, match="upsampler's grid"):
        warper.warp_grid(grid[:, :10], upsampler)
    with pytest.raises(InputError, match="out must be"):
        warper.warp(flow, np.empty((height, width, 3), dtype=np.float64))


def test_parallel_kernels_take_turns_across_threads():
    """Two threads warping at once (a preview and a bake) get the frames each would get alone."""
    height, width = 260, 300
    rng = np.random.default_rng(4)
    image = rng.random((height, width, 3), dtype=np.float32)
    flows = [smooth_flow(height, width, 4.0, seed) for seed in range(6)]
    importance = np.hypot(flows[0][0], flows[0][1])
    alone = [split_path(image, f, importance) for f in flows]
    results: dict[int, list[np.ndarray]] = {}

    def work(key: int) -> None:
        warper = render.Warper(image, importance)
        results[key] = [warper.warp(f) for f in flows]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for key in range(2):
        for got, want in zip(results[key], alone, strict=True):
            np.testing.assert_array_equal(got, want)
