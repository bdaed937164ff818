"""A very large image is splatted a window of target rows at a time: the same frames, bit for bit, as all at once."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from image_dynamics import render, splat_kernels, splat_windows
from image_dynamics.errors import InputError
from image_dynamics.upsample import EdgeAwareUpsampler


def _scene(height: int, width: int, channels: int, motion_px: float, spread: float, seed: int):
    """Image, flow with holes, overlaps, targets outside the picture and a few NaN sources, importance."""
    rng = np.random.default_rng(seed)
    image = rng.random((height, width, channels), dtype=np.float32)
    if channels == 4:
        image[: height // 5, :, 3] = 0.0  # transparent band
        image[height // 2:, : width // 3, 3] = 0.5
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    flow = np.stack([motion_px * np.sin(y / 7.0 + x / 11.0), motion_px * np.cos(x / 5.0 - y / 13.0)])
    flow += rng.normal(0.0, 0.6, flow.shape).astype(np.float32)
    flow[:, height // 3: height // 3 + 4, width // 2: width // 2 + 9] = 3 * motion_px  # a tear: holes behind it
    flow[0, 5, 7] = np.nan  # a NaN x drops the source; y stays finite, so the scatter bands stay as they are
    importance = (spread * rng.random((height, width))).astype(np.float32)
    return image, np.ascontiguousarray(flow, dtype=np.float32), importance


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("spread", [4.0, 400.0], ids=["float32-sums", "float64-sums"])
@pytest.mark.parametrize("size", [(61, 47), (288, 256)], ids=["serial", "banded"])
def test_windows_give_the_whole_frame_bit_for_bit(channels, spread, size):
    height, width = size
    image, flow, importance = _scene(height, width, channels, 4.0, spread, seed=channels)
    whole = render.Warper(image, importance).warp(flow)
    assert render.Warper(image, importance).weights.dtype == (np.float64 if spread > 50 else np.float32)
    band_rows = splat_kernels.band_rows_for(height, width, float(splat_kernels.flow_extent(flow)[1]))
    if height > 100 and numba.get_num_threads() > 1:
        assert band_rows > 0  # this case really runs the banded scatter
    for rows in (1, 2, 6, 17, 64, height - 1):
        windowed = render.Warper(image, importance, window_rows=rows).warp(flow)
        np.testing.assert_array_equal(windowed, whole, err_msg=f"window of {rows} rows")
    assert np.isfinite(whole).all()


def test_windows_bit_for_bit_without_nan_bound_and_through_warp_grid():
    height, width = 96, 80
    image, flow, importance = _scene(height, width, 3, 6.0, 2.0, seed=9)
    flow[1, 40, 40] = np.nan  # flow_extent's bound is NaN: every source row is visited for every window
    np.testing.assert_array_equal(render.Warper(image, importance, window_rows=8).warp(flow),
                                  render.Warper(image, importance).warp(flow))
    upsampler = EdgeAwareUpsampler(image, (12, 10))
    grid = np.random.default_rng(3).normal(0, 5, (2, 12, 10)).astype(np.float32)
    np.testing.assert_array_equal(render.Warper(image, importance, window_rows=10).warp_grid(grid, upsampler),
                                  render.Warper(image, importance).warp_grid(grid, upsampler))


def test_a_warper_without_kept_buffers_chooses_windows_of_bounded_size(monkeypatch):
    image, flow, importance = _scene(64, 40, 3, 3.0, 2.0, seed=1)
    whole = render.Warper(image, importance).warp(flow)
    monkeypatch.setattr(render, "WINDOW_BYTES", 40 * 4 * 4 * 10)  # ten rows of float32 sums
    warper = render.Warper(image, importance, keep_buffers=False)
    assert warper._window_rows(0) == 10 and warper._window_rows(6) == 24  # at least 4 bands
    np.testing.assert_array_equal(warper.warp(flow), whole)
    assert render.Warper(image, importance)._window_rows(0) == 64  # kept buffers: the whole frame


def test_source_rows_reach_every_tap_of_a_window():
    assert splat_windows.source_rows(10, 20, 100, 3.2) == (4, 26)
    assert splat_windows.source_rows(0, 20, 100, 0.0) == (0, 22)
    assert splat_windows.source_rows(90, 100, 100, float("nan")) == (0, 100)


@pytest.mark.parametrize("rows", [0, -2, 2.5, "4"])
def test_window_rows_must_be_a_positive_whole_number(rows):
    image, _, importance = _scene(8, 8, 3, 1.0, 1.0, seed=0)
    with pytest.raises(InputError, match="window_rows must be a positive whole number"):
        render.Warper(image, importance, window_rows=rows)
