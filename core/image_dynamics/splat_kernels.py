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
#: Accumulators with fewer values than this (a 1280x720 RGB frame has 3.7 M) are zeroed on one thread.
PARALLEL_ZERO_VALUES = 1 << 22


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


@njit(cache=True, parallel=True, nogil=True)
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


#: The band layout is the one for this many threads on every machine, whatever it has: the order in which a pixel's
#: contributions are added follows the bands, so a layout that followed the thread count would make a frame's last
#: bits depend on the machine (farm chunks rendered on different machines must equal one render, docs/reliability.md).
BAND_LAYOUT_THREADS = 8


def band_rows_for(height: int, width: int, max_abs_flow_y: float, threads: int | None = None) -> int:
    """Rows per band for :func:`splat_banded`, or 0 when the serial kernel is the only safe choice.

    Aims at four bands per thread and parity for :data:`BAND_LAYOUT_THREADS` threads (handed out one at a time,
    :func:`splat_parallel`, so that a thread the OS pauses holds up little work); bands are never thinner than the
    race-free bound. The result depends on the image and the motion only, never on the machine: ``threads`` is
    accepted for callers of the earlier signature and ignored. With one thread the banded kernels run their bands one
    after another, in the same order of additions.
    """
    if height * width < PARALLEL_MIN_PIXELS or not math.isfinite(max_abs_flow_y):
        return 0
    min_rows = 2 * (math.ceil(max_abs_flow_y) + 1)
    rows = max(min_rows, -(-height // (8 * BAND_LAYOUT_THREADS)))
    if -(-height // rows) < 4:  # fewer than two bands per parity: nothing could run side by side
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


@njit(cache=True, parallel=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _pull_rows(values, covered, coarse, coarse_covered, row_start, row_end):
    """Coarse rows ``row_start:row_end`` of :func:`pull` (``coarse`` zeroed by the caller); returns their holes."""
    height, width, channels = values.shape
    cw = coarse.shape[1]
    holes = 0
    for j in range(row_start, row_end):
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
    return holes


@njit(cache=True, parallel=True, nogil=True)
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
        row_holes[j] = _pull_rows(values, covered, coarse, coarse_covered, j, j + 1)
    return coarse, coarse_covered, row_holes.sum()


@njit(cache=True, nogil=True)
def pull_serial(values, covered):
    """:func:`pull` on the calling thread: for the small coarse levels, where waking numba's threads costs more (on
    a loaded machine, milliseconds per launch) than the work."""
    height, width, channels = values.shape
    ch = (height + 1) // 2
    cw = (width + 1) // 2
    coarse = np.zeros((ch, cw, channels), dtype=np.float32)
    coarse_covered = np.zeros((ch, cw), dtype=np.bool_)
    holes = _pull_rows(values, covered, coarse, coarse_covered, 0, ch)
    return coarse, coarse_covered, holes


@njit(cache=True, nogil=True, inline="always")
def _coarse_sample(coarse, y, x, target):
    """``target[c]`` = the bilinear sample of the half-resolution level ``coarse`` at fine pixel ``(y, x)`` (pixel
    centres aligned: fine ``y`` sits at coarse ``y / 2 - 0.25``, clamped to the edges), for every channel c."""
    ch, cw = coarse.shape[0], coarse.shape[1]
    one = np.float32(1.0)
    v = min(max(y * 0.5 - 0.25, 0.0), ch - 1.0)
    v0 = int(v)
    v1 = min(v0 + 1, ch - 1)
    fv = np.float32(v - v0)
    u = min(max(x * 0.5 - 0.25, 0.0), cw - 1.0)
    u0 = int(u)
    u1 = min(u0 + 1, cw - 1)
    fu = np.float32(u - u0)
    for c in range(target.shape[0]):
        top = coarse[v0, u0, c] * (one - fu) + coarse[v0, u1, c] * fu
        bottom = coarse[v1, u0, c] * (one - fu) + coarse[v1, u1, c] * fu
        target[c] = top * (one - fv) + bottom * fv


@njit(cache=True, nogil=True)
def _push_rows(values, covered, coarse, row_start, row_end):
    """Rows ``row_start:row_end`` of :func:`push`."""
    width = values.shape[1]
    for y in range(row_start, row_end):
        for x in range(width):
            if not covered[y, x]:
                _coarse_sample(coarse, y, x, values[y, x])


@njit(cache=True, parallel=True, nogil=True)
def push(values, covered, coarse):
    """Fill the holes of ``values`` in place by bilinear interpolation of the (fully filled) coarser level.

    Fine pixel ``i`` sits at coarse coordinate ``i / 2 - 0.25`` (pixel centres), clamped at the borders.
    """
    for y in prange(values.shape[0]):
        _push_rows(values, covered, coarse, y, y + 1)


@njit(cache=True, nogil=True)
def push_serial(values, covered, coarse):
    """:func:`push` on the calling thread (see :func:`pull_serial`)."""
    _push_rows(values, covered, coarse, 0, values.shape[0])


# ----------------------------------------------------------------------------------------------------------------------
# Straight <-> premultiplied alpha for [H, W, 4] images (strided numpy ops on the colour planes are 10x slower).


@njit(cache=True, parallel=True, nogil=True)
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


@njit(cache=True, parallel=True, nogil=True)
def unpremultiply(image):
    """In place: colour divided by alpha where alpha > 0, else 0 (a fully transparent pixel has no colour)."""
    height, width = image.shape[0], image.shape[1]
    for y in prange(height):
        for x in range(width):
            a = image[y, x, 3]
            for c in range(3):
                image[y, x, c] = image[y, x, c] / a if a > 0 else np.float32(0.0)


# ----------------------------------------------------------------------------------------------------------------------
# The whole-frame path behind render.Warper: packed accumulators, one fused normalise + first pull, sparse push into
# the full-resolution holes. Same arithmetic as splat_parallel + normalise + pull + push above (bit-identical frames),
# with no per-frame allocation of full-size buffers and one pass less over the full-resolution image.
#
# ``acc`` float ``[H, W, C + 1]``: channels 0..C-1 the weighted sums of ``values``, channel C the summed weights (the
# ``accum`` and ``weight_sum`` of splat_parallel, interleaved so one tap touches one cache line, not two arrays).


@njit(cache=True, nogil=True, inline="always")
def bilinear_taps(x, y, fx, fy, weight, width, height, acc_type):
    """Where source pixel ``(x, y)`` moved by ``(fx, fy)`` lands and its four bilinear tap weights, each ``weight``
    times the tap's area share, rounded once to ``acc_type``: ``(inside, x0, y0, w00, w01, w10, w11)`` with ``inside``
    False for a target off the frame or non-finite (dropped). The one rule of every forward splat kernel."""
    tx = x + np.float64(fx)
    ty = y + np.float64(fy)
    # Written so that NaN compares false: a source with a non-finite target is dropped.
    if not (tx > -1.0 and tx < width and ty > -1.0 and ty < height):
        return False, 0, 0, acc_type(0.0), acc_type(0.0), acc_type(0.0), acc_type(0.0)
    fx0 = math.floor(tx)
    fy0 = math.floor(ty)
    ax = tx - fx0
    ay = ty - fy0
    e = np.float64(weight)
    top = (1.0 - ay) * e
    bottom = ay * e
    return (True, int(fx0), int(fy0), acc_type((1.0 - ax) * top), acc_type(ax * top), acc_type((1.0 - ax) * bottom),
            acc_type(ax * bottom))


@njit(cache=True, nogil=True, boundscheck=False)
def _scatter_row(values, fx_row, fy_row, w_row, acc, y):
    """Scatter source row ``y`` (flow ``fx_row``, ``fy_row`` float32 ``[W]``, softmax weights ``w_row`` ``[W]``) into
    ``acc``: the arithmetic of :func:`_splat_rows` (weights rounded once to the accumulator type, taps outside dropped,
    same order), on flat unsigned indices (no negative-index wrap-around checks in the hot loop: 15 % faster)."""
    height, width, channels = values.shape
    packed = channels + 1
    acc_type = acc.dtype.type
    flat = acc.reshape(-1)
    src = values[y].reshape(-1)
    stride = np.uint64(packed)
    row = np.uint64(packed * width)
    for x in range(width):
        inside, x0, y0, w00, w01, w10, w11 = bilinear_taps(x, y, fx_row[x], fy_row[x], w_row[x], width, height,
                                                          acc_type)
        if not inside:
            continue
        first = np.uint64(x * channels)
        if x0 >= 0 and y0 >= 0 and x0 + 1 < width and y0 + 1 < height:  # all 4 taps inside: no checks
            b00 = np.uint64((y0 * width + x0) * packed)
            b01 = b00 + stride
            b10 = b00 + row
            b11 = b10 + stride
            last = np.uint64(channels)
            flat[b00 + last] += w00
            flat[b01 + last] += w01
            flat[b10 + last] += w10
            flat[b11 + last] += w11
            for c in range(channels):
                v = src[first + np.uint64(c)]
                k = np.uint64(c)
                flat[b00 + k] += w00 * v
                flat[b01 + k] += w01 * v
                flat[b10 + k] += w10 * v
                flat[b11 + k] += w11 * v
        else:
            for tap in range(4):
                yy = y0 + (tap >> 1)
                xx = x0 + (tap & 1)
                if yy < 0 or yy >= height or xx < 0 or xx >= width:
                    continue
                w = w00 if tap == 0 else (w01 if tap == 1 else (w10 if tap == 2 else w11))
                base = (yy * width + xx) * packed
                flat[base + channels] += w
                for c in range(channels):
                    flat[base + c] += w * src[x * channels + c]


@njit(cache=True, nogil=True)
def _packed_rows(values, flow, softmax_w, acc, row_start, row_end):
    for y in range(row_start, row_end):
        _scatter_row(values, flow[0, y], flow[1, y], softmax_w[y], acc, y)


@njit(cache=True, nogil=True)
def _splat_packed_serial(values, flow, softmax_w, acc):
    acc[...] = 0.0
    _packed_rows(values, flow, softmax_w, acc, 0, values.shape[0])


@njit(cache=True, parallel=True, nogil=True)
def _zero_rows(acc):
    for y in prange(acc.shape[0]):
        acc[y] = 0.0


@njit(cache=True, parallel=True, nogil=True)
def _splat_packed_banded(values, flow, softmax_w, acc, band_rows):
    # Race-free by the argument of splat_banded: bands of one parity are >= 2 (max |flow_y| + 1) rows apart.
    height = values.shape[0]
    num_bands = (height + band_rows - 1) // band_rows
    for parity in range(2):
        for k in prange((num_bands - parity + 1) // 2):
            start = (2 * k + parity) * band_rows
            _packed_rows(values, flow, softmax_w, acc, start, min(height, start + band_rows))


@njit(cache=True, nogil=True)
def flow_extent(flow):
    """``(moves, max_abs_y)`` of a flow ``[2, H, W]`` in one pass without temporaries: whether any value is non-zero
    (NaN counts, as in ``ndarray.any``) and ``max |flow_y|`` (NaN if any y value is NaN)."""
    moves = False
    top = 0.0
    nan = False
    for comp in range(2):
        plane = flow[comp]
        for y in range(plane.shape[0]):
            for x in range(plane.shape[1]):
                v = plane[y, x]
                if v != 0:
                    moves = True
                if comp == 1:
                    a = abs(v)
                    if a > top:
                        top = a
                    elif a != a:
                        nan = True
    return moves, (np.nan if nan else top)


def splat_packed(values, flow, softmax_w, acc, max_abs_flow_y: float) -> None:
    """Zero ``acc`` float ``[H, W, C + 1]`` and scatter every source of ``values`` float32 ``[H, W, C]`` along ``flow``
    float32 ``[2, H, W]`` into it, banded in parallel where that pays (as :func:`splat_parallel`); ``max_abs_flow_y``
    must bound ``|flow_y|`` (it sizes the race-free bands)."""
    band_rows = band_rows_for(values.shape[0], values.shape[1], max_abs_flow_y)
    if band_rows:
        if acc.size >= PARALLEL_ZERO_VALUES:
            _zero_rows(acc)
        else:  # one memset: cheaper than waking the pool, which costs milliseconds on a loaded machine
            acc.fill(0.0)
        with numba.parallel_chunksize(1):  # dynamic hand-out of bands
            _splat_packed_banded(values, flow, softmax_w, acc, band_rows)
    else:
        _splat_packed_serial(values, flow, softmax_w, acc)


@njit(cache=True, parallel=True, nogil=True)
def normalise_pull_packed(acc, min_weight, rgba, out, covered, coarse, coarse_covered, pair_holes):
    """Normalise ``acc`` into ``out`` and compute the first coarse level of the push-pull pyramid in the same pass.

    ``out`` float32 ``[H, W, C]`` gets ``acc / weight`` where ``weight > min_weight`` (``covered`` set), else 0; with
    ``rgba`` the colour is also un-premultiplied (``c / a``, 0 where ``a <= 0``). ``coarse`` float32
    ``[ceil(H/2), ceil(W/2), C]`` (zeroed here) gets the mean of each 2x2 block's covered *premultiplied* values, as
    :func:`pull` computes it from the normalised image (same summation order). ``pair_holes`` int64 ``[ceil(H/2)]``
    gets the holes of image rows ``2j`` and ``2j + 1``. Returns the number of coarse holes.
    """
    height, width, packed = acc.shape
    channels = packed - 1
    ch, cw = coarse.shape[0], coarse.shape[1]
    coarse_holes = np.zeros(ch, dtype=np.int64)
    for j in prange(ch):
        holes = 0
        counts = np.zeros(cw, dtype=np.int64)
        for i in range(cw):
            for c in range(channels):
                coarse[j, i, c] = 0.0
        for y in range(2 * j, min(2 * j + 2, height)):
            for x in range(width):
                w = acc[y, x, channels]
                i = x >> 1
                if w > min_weight:
                    covered[y, x] = True
                    counts[i] += 1
                    for c in range(channels):
                        p = np.float32(acc[y, x, c] / w)
                        coarse[j, i, c] += p
                        out[y, x, c] = p
                    if rgba:
                        a = out[y, x, 3]
                        for c in range(3):
                            out[y, x, c] = out[y, x, c] / a if a > 0 else np.float32(0.0)
                else:
                    covered[y, x] = False
                    holes += 1
                    for c in range(channels):
                        out[y, x, c] = 0.0
        empty = 0
        for i in range(cw):
            n = counts[i]
            if n > 0:
                coarse_covered[j, i] = True
                for c in range(channels):
                    coarse[j, i, c] /= np.float32(n)
            else:
                coarse_covered[j, i] = False
                empty += 1
        pair_holes[j] = holes
        coarse_holes[j] = empty
    return coarse_holes.sum()


@njit(cache=True, nogil=True)
def push_holes(out, covered, coarse, rgba, pair_holes):
    """Fill only the holes of ``out`` (``covered`` False) from the filled level ``coarse``: :func:`push`'s arithmetic
    on the premultiplied values, then un-premultiplied when ``rgba``. Visits only the row pairs ``2j, 2j + 1`` whose
    ``pair_holes[j]`` is non-zero (from :func:`normalise_pull_packed`), serially: holes are few."""
    height, width = out.shape[0], out.shape[1]
    for y in range(height):
        if pair_holes[y >> 1] == 0:
            continue
        for x in range(width):
            if covered[y, x]:
                continue
            _coarse_sample(coarse, y, x, out[y, x])
            if rgba:
                a = out[y, x, 3]
                for c in range(3):
                    out[y, x, c] = out[y, x, c] / a if a > 0 else np.float32(0.0)
