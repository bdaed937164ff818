"""The softmax-splat scatter into a window of target rows: the memory-bounded form of ``splat_kernels.splat_packed``.

A very large image (8000x8000) needs an accumulator ``[H, W, C + 1]`` of 1 GB (float32) or 2 GB (float64) when the
whole frame is splatted at once. :class:`image_dynamics.render.Warper` instead accumulates the target rows
``row0 .. row0 + R - 1`` in a window ``acc`` float ``[R, W, C + 1]``, normalises them, and goes on to the next window.

Bit-identical to the whole-frame scatter: every target cell receives the same additions in the same order. The
whole-frame banded scatter (``splat_kernels._splat_packed_banded``) runs the even source bands, then the odd ones,
each band's rows in ascending order; here the same bands run in the same two phases, restricted to the source rows
``lo .. hi - 1`` that can reach the window (rows further away add nothing to it), and taps outside the window are
dropped. The serial scatter (``band_rows == 0``) runs the same rows in ascending order. The arithmetic of one source
is that of ``splat_kernels._scatter_row`` (float64 target position, weights rounded once to the accumulator type).

Arrays as in :mod:`image_dynamics.splat_kernels`: ``values`` float32 ``[H, W, C]``, ``flow`` float32 ``[2, H, W]``
(pixels, x right, y down), ``softmax_w`` float32 or float64 ``[H, W]``; ``acc`` of the weights' dtype, zeroed by the
caller.
"""

from __future__ import annotations

import math

import numba
from numba import njit, prange

from . import splat_kernels


@njit(cache=True, nogil=True, boundscheck=False)
def _scatter_row_window(src, fx_row, fy_row, w_row, acc, y, row0, height):
    """Scatter source row ``y`` (its values ``src`` ``[W, C]``) of an image of ``height`` rows into the window ``acc``
    holding target rows ``row0 .. row0 + len(acc) - 1``."""
    width, channels = src.shape
    rows = acc.shape[0]
    acc_type = acc.dtype.type
    for x in range(width):
        inside, x0, y0, w00, w01, w10, w11 = splat_kernels.bilinear_taps(x, y, fx_row[x], fy_row[x], w_row[x], width,
                                                                        height, acc_type)
        if not inside:
            continue
        wy0 = y0 - row0
        if x0 >= 0 and x0 + 1 < width and wy0 >= 0 and wy0 + 1 < rows and y0 + 1 < height:  # 4 taps in the window
            acc[wy0, x0, channels] += w00
            acc[wy0, x0 + 1, channels] += w01
            acc[wy0 + 1, x0, channels] += w10
            acc[wy0 + 1, x0 + 1, channels] += w11
            for c in range(channels):
                v = src[x, c]
                acc[wy0, x0, c] += w00 * v
                acc[wy0, x0 + 1, c] += w01 * v
                acc[wy0 + 1, x0, c] += w10 * v
                acc[wy0 + 1, x0 + 1, c] += w11 * v
        else:
            for tap in range(4):
                yy = y0 + (tap >> 1)
                xx = x0 + (tap & 1)
                wy = yy - row0
                if yy < 0 or yy >= height or xx < 0 or xx >= width or wy < 0 or wy >= rows:
                    continue
                w = w00 if tap == 0 else (w01 if tap == 1 else (w10 if tap == 2 else w11))
                acc[wy, xx, channels] += w
                for c in range(channels):
                    acc[wy, xx, c] += w * src[x, c]


@njit(cache=True, nogil=True)
def splat_window_serial(values, flow, softmax_w, acc, row0, lo, hi):
    """Source rows ``lo .. hi - 1`` in ascending order into the window (the order of the serial scatter); ``values``
    holds the source rows from ``lo`` on (row ``y`` is ``values[y - lo]``)."""
    height = flow.shape[1]
    for y in range(lo, hi):
        _scatter_row_window(values[y - lo], flow[0, y], flow[1, y], softmax_w[y], acc, y, row0, height)


@njit(cache=True, parallel=True, nogil=True)
def _splat_window_banded(values, flow, softmax_w, acc, row0, lo, hi, band_rows):
    height = flow.shape[1]
    first = lo // band_rows
    last = (hi - 1) // band_rows
    for parity in range(2):
        k0 = first + (parity - first) % 2  # the first band of this parity at or after ``first``
        count = (last - k0) // 2 + 1 if k0 <= last else 0
        for i in prange(count):  # bands of one parity never write the same row (splat_kernels.splat_banded)
            k = k0 + 2 * i
            start = max(k * band_rows, lo)
            stop = min((k + 1) * band_rows, hi)
            for y in range(start, stop):
                _scatter_row_window(values[y - lo], flow[0, y], flow[1, y], softmax_w[y], acc, y, row0, height)


def source_rows(row0: int, row1: int, height: int, max_abs_flow_y: float) -> tuple[int, int]:
    """``(lo, hi)``: the source rows whose taps can land in target rows ``row0 .. row1 - 1`` (a tap is at most
    ``max |flow_y| + 1`` rows from its source); all rows when the bound is not finite."""
    if not math.isfinite(max_abs_flow_y):
        return 0, height
    reach = math.ceil(max_abs_flow_y) + 2
    return max(0, row0 - reach), min(height, row1 + reach)


def splat_window(values, flow, softmax_w, acc, row0: int, max_abs_flow_y: float, band_rows: int) -> None:
    """Zero the window ``acc`` ``[R, W, C + 1]`` and scatter into it what the whole-frame scatter with ``band_rows``
    (``splat_kernels.band_rows_for``; 0 = serial) puts into target rows ``row0 .. row0 + R - 1``, bit for bit.

    ``values``: the whole image's ``[H, W, C]``, or a callable ``values(lo, hi)`` returning its rows ``lo .. hi - 1``
    (C-contiguous ``[hi - lo, W, C]``), e.g. premultiplied on the fly, so the whole premultiplied image never exists.
    """
    if acc.size >= splat_kernels.PARALLEL_ZERO_VALUES and band_rows:
        splat_kernels._zero_rows(acc)  # as the whole-frame scatter zeroes its sums
    else:
        acc.fill(0.0)
    lo, hi = source_rows(row0, row0 + acc.shape[0], flow.shape[1], max_abs_flow_y)
    values = values(lo, hi) if callable(values) else values[lo:hi]
    if band_rows:
        with numba.parallel_chunksize(1):  # dynamic hand-out of bands, as the whole-frame scatter
            _splat_window_banded(values, flow, softmax_w, acc, row0, lo, hi, band_rows)
    else:
        splat_window_serial(values, flow, softmax_w, acc, row0, lo, hi)
