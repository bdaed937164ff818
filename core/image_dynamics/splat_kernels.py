"""Compiled (numba) kernels behind :mod:`image_dynamics.render`: the softmax-splat scatter and the push-pull hole fill.

These are the fast paths; :mod:`image_dynamics.render` holds the pure-numpy reference of the same arithmetic and the
public, validated API. Everything here assumes already-validated, C-contiguous arrays:

- ``values`` float32 ``[H, W, C]``; ``flow`` float32 ``[2, H, W]`` forward displacement in pixels (x right, y down):
  source pixel ``(y, x)`` lands at ``(y + flow[1], x + flow[0])``;
- ``softmax_w`` ``[H, W]`` the per-source softmax weight ``exp(beta * importance - max)``, float32 or float64;
- ``accum`` ``[H, W, C]`` and ``weight_sum`` ``[H, W]`` accumulators (zeroed by the caller), same float dtype.

Target coordinates and bilinear weights are computed in float64 so that positions stay sub-pixel exact on 8K images
(float32 has a 5e-4 px step above 4096). Non-finite flow values make ``tx > -1`` false, so such sources are dropped.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

#: Images smaller than this are splatted on one thread: thread start-up costs more than it saves.
PARALLEL_MIN_PIXELS = 1 << 16


@njit(cache=True, nogil=True)
def _splat_rows(values, flow, softmax_w, accum, weight_sum, row_start, row_end):
    height, width, channels = values.shape
    acc_type = weight_sum.dtype.type  # weights are rounded once to the accumulator type: float32 math in the hot loop
    for y in range(row_start, row_end):
        for x in range(width):
            tx = x + np.float64(flow[0, y, x])
            ty = y + np.float64(flow[1, y, x])
            # Written so that NaN compares false: a source with a non-finite target is dropped.
            if not (tx > -1.0 and tx < width and ty > -1.0 and ty < height):
                continue
            fx0 = math.floor(tx)
            fy0 = math.floor(ty)
            x0 = int(fx0)
            y0 = int(fy0)
            ax = tx - fx0
            ay = ty - fy0
            e = np.float64(softmax_w[y, x])
            top = (1.0 - ay) * e
            bottom = ay * e
            w00 = acc_type((1.0 - ax) * top)
            w01 = acc_type(ax * top)
            w10 = acc_type((1.0 - ax) * bottom)
            w11 = acc_type(ax * bottom)
            if x0 >= 0 and y0 >= 0 and x0 + 1 < width and y0 + 1 < height:  # all 4 taps inside: no checks
                weight_sum[y0, x0] += w00
                weight_sum[y0, x0 + 1] += w01
                weight_sum[y0 + 1, x0] += w10
                weight_sum[y0 + 1, x0 + 1] += w11
                for c in range(channels):
                    v = values[y, x, c]
                    accum[y0, x0, c] += w00 * v
                    accum[y0, x0 + 1, c] += w01 * v
                    accum[y0 + 1, x0, c] += w10 * v
                    accum[y0 + 1, x0 + 1, c] += w11 * v
            else:
                for tap in range(4):
                    yy = y0 + (tap >> 1)
                    xx = x0 + (tap & 1)
                    if yy < 0 or yy >= height or xx < 0 or xx >= width:
                        continue
                    w = w00 if tap == 0 else (w01 if tap == 1 else (w10 if tap == 2 else w11))
                    weight_sum[yy, xx] += w
                    for c in range(channels):
                        accum[yy, xx, c] += w * values[y, x, c]


@njit(cache=True, nogil=True)
def splat_serial(values, flow, softmax_w, accum, weight_sum):
    """Scatter every source pixel's 4 bilinear taps into ``accum``/``weight_sum`` on one thread (row-major order)."""
    _splat_rows(values, flow, softmax_w, accum, weight_sum, 0, values.shape[0])


@njit(cache=True, parallel=True)
def splat_banded(values, flow, softmax_w, accum, weight_sum, band_rows):
    """Scatter in horizontal source bands, even bands in parallel, then odd bands in parallel.

    Race-free without atomics or per-thread copies when ``band_rows >= 2 * (ceil(max |flow_y|) + 1)``: a band's
    targets then stay within ``ceil(max |flow_y|) + 1`` rows of it, so two bands of the same parity never write the
    same row. The caller guarantees that bound (see :func:`band_rows_for`).
    """
    height = values.shape[0]
    num_bands = (height + band_rows - 1) // band_rows
    for parity in range(2):
        for k in prange((num_bands - parity + 1) // 2):
            start = (2 * k + parity) * band_rows
            _splat_rows(values, flow, softmax_w, accum, weight_sum, start, min(height, start + band_rows))


def band_rows_for(height: int, width: int, max_abs_flow_y: float, threads: int | None = None) -> int:
    """Rows per band for :func:`splat_banded`, or 0 when the serial kernel is the better (or only safe) choice.

    Aims at four bands per thread and parity, handed out one at a time (:func:`splat_parallel`), so that a thread the
    OS pauses (the cores are shared) holds up little work; bands are never thinner than the race-free bound.
    """
    threads = numba.get_num_threads() if threads is None else threads
    if threads < 2 or height * width < PARALLEL_MIN_PIXELS or not math.isfinite(max_abs_flow_y):
        return 0
    min_rows = 2 * (math.ceil(max_abs_flow_y) + 1)
    rows = max(min_rows, -(-height // (8 * threads)))
    if -(-height // rows) < 4:  # fewer than two bands per parity: nothing runs side by side
        return 0
    return rows


def splat_parallel(values, flow, softmax_w, accum, weight_sum, max_abs_flow_y: float) -> None:
    """Scatter with :func:`splat_banded` where it pays (large image, several threads, bounded motion), else serially."""
    band_rows = band_rows_for(values.shape[0], values.shape[1], max_abs_flow_y)
    if band_rows:
        with numba.parallel_chunksize(1):  # dynamic hand-out of bands
            splat_banded(values, flow, softmax_w, accum, weight_sum, band_rows)
    else:
        splat_serial(values, flow, softmax_w, accum, weight_sum)


# ----------------------------------------------------------------------------------------------------------------------
# Hole filling (push-pull). Same arithmetic as the numpy reference in render.py.


@njit(cache=True, parallel=True)
def normalise(accum, weight_sum, min_weight, out, covered):
    """``out = accum / weight_sum`` where ``weight_sum > min_weight`` (``covered`` set), else 0; returns #holes."""
    height, width, channels = accum.shape
    row_holes = np.zeros(height, dtype=np.int64)
    for y in prange(height):
        holes = 0
        for x in range(width):
            w = weight_sum[y, x]
            if w > min_weight:
                covered[y, x] = True
                for c in range(channels):
                    out[y, x, c] = accum[y, x, c] / w
            else:
                covered[y, x] = False
                holes += 1
                for c in range(channels):
                    out[y, x, c] = 0.0
        row_holes[y] = holes
    return row_holes.sum()


@njit(cache=True, parallel=True)
def pull(values, covered):
    """One level down the pyramid: each coarse pixel is the mean of its covered 2x2 children (ceil-halved size).

    Returns ``(coarse_values, coarse_covered, coarse_holes)``. Children are summed in the order (0,0), (0,1), (1,0),
    (1,1), as in the numpy reference.
    """
    height, width, channels = values.shape
    ch = (height + 1) // 2
    cw = (width + 1) // 2
    coarse = np.zeros((ch, cw, channels), dtype=np.float32)
    coarse_covered = np.zeros((ch, cw), dtype=np.bool_)
    row_holes = np.zeros(ch, dtype=np.int64)
    for j in prange(ch):
        holes = 0
        for i in range(cw):
            n = 0
            for dy in range(2):
                y = 2 * j + dy
                for dx in range(2):
                    x = 2 * i + dx
                    if y < height and x < width and covered[y, x]:
                        n += 1
                        for c in range(channels):
                            coarse[j, i, c] += values[y, x, c]
            if n > 0:
                coarse_covered[j, i] = True
                for c in range(channels):
                    coarse[j, i, c] /= np.float32(n)
            else:
                holes += 1
        row_holes[j] = holes
    return coarse, coarse_covered, row_holes.sum()


@njit(cache=True, parallel=True)
def push(values, covered, coarse):
    """Fill the holes of ``values`` in place by bilinear interpolation of the (fully filled) coarser level.

    Fine pixel ``i`` sits at coarse coordinate ``i / 2 - 0.25`` (pixel centres), clamped at the borders.
    """
    height, width, channels = values.shape
    ch, cw = coarse.shape[0], coarse.shape[1]
    one = np.float32(1.0)
    for y in prange(height):
        v = min(max(y * 0.5 - 0.25, 0.0), ch - 1.0)
        v0 = int(v)
        v1 = min(v0 + 1, ch - 1)
        fv = np.float32(v - v0)
        for x in range(width):
            if covered[y, x]:
                continue
            u = min(max(x * 0.5 - 0.25, 0.0), cw - 1.0)
            u0 = int(u)
            u1 = min(u0 + 1, cw - 1)
            fu = np.float32(u - u0)
            for c in range(channels):
                top = coarse[v0, u0, c] * (one - fu) + coarse[v0, u1, c] * fu
                bottom = coarse[v1, u0, c] * (one - fu) + coarse[v1, u1, c] * fu
                values[y, x, c] = top * (one - fv) + bottom * fv


# ----------------------------------------------------------------------------------------------------------------------
# Straight <-> premultiplied alpha for [H, W, 4] images (strided numpy ops on the colour planes are 10x slower).


@njit(cache=True, parallel=True)
def premultiply(image):
    """float32 ``[H, W, 4]`` copy of a straight-alpha image with colour multiplied by alpha."""
    height, width = image.shape[0], image.shape[1]
    out = np.empty((height, width, 4), dtype=np.float32)
    for y in prange(height):
        for x in range(width):
            a = image[y, x, 3]
            for c in range(3):
                out[y, x, c] = image[y, x, c] * a
            out[y, x, 3] = a
    return out


@njit(cache=True, parallel=True)
def unpremultiply(image):
    """In place: colour divided by alpha where alpha > 0, else 0 (a fully transparent pixel has no colour)."""
    height, width = image.shape[0], image.shape[1]
    for y in prange(height):
        for x in range(width):
            a = image[y, x, 3]
            for c in range(3):
                image[y, x, c] = image[y, x, c] / a if a > 0 else np.float32(0.0)
