"""Forward warping of images by softmax splatting, hole filling, and backward (compositor) maps.

Maps and fields in this module (engine convention, docs/conventions.md: pixels, origin top-left, x right, **y down**):

- *forward displacement* ``flow`` float32 ``[2, H, W]``: source pixel ``p`` goes to ``p + flow(p)`` (a frame's ``d_t``);
- *importance* float32 ``[H, W]``: GID's splat weight ``W(p) = mean_t |d_t(p)|`` in pixels; where several sources land
  on one pixel, the one with larger ``beta * W`` is in front (softmax splatting, Niklaus & Liu 2020);
- *compositor map* (backward) ``vmap`` float32 ``[2, H, W]``: ``v(p + d(p)) = d(p)``, so ``out(q) = in(q - v(q))`` (what
  Blender's compositor Displace node does, once io flips y; this module never flips y).

Each source pixel is spread over the 4 pixels around its target with bilinear weights times
``exp(beta * importance - max(beta * importance))``; targets outside the image are dropped. The result is normalised
by the summed weights, and pixels nothing landed on (holes) are filled by push-pull (a pyramid of masked means), never
black.

Two interchangeable back ends compute the splat and the fill: ``"numba"`` (compiled scatter kernels, the fast path, in
:mod:`image_dynamics.splat_kernels`) and ``"numpy"`` (the reference: ``np.bincount`` scatter, vectorised pyramid).
:class:`Warper` is the per-image form of :func:`warp_image` for many frames (softmax weights computed once, buffers
reused, the flow optionally upsampled inside the splat): same frames, bit for bit, in about half the time.

Threads: numba's parallel kernels run under :data:`PARALLEL_LOCK`, so a preview, a bake and a prediction on different
threads take turns frame by frame instead of entering numba's thread pool at once (its ``workqueue`` layer, the one
left where no OpenMP or TBB library is found, aborts the process on concurrent use; on 2 cores two frames at once would
only fight over them).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from . import splat_kernels, splat_windows
from .errors import InputError

#: Held around every launch of numba's parallel kernels (render and upsampling); re-entrant.
PARALLEL_LOCK = threading.RLock()

BACKENDS = ("numba", "numpy")
#: Largest spread of ``beta * importance`` whose softmax weights (down to ``e**-50`` times a bilinear fraction) stay
#: well inside float32's normal range; a larger spread accumulates in float64 instead so no weight underflows to 0.
FLOAT32_LOG_RANGE = 50.0
#: Below this, float64 weights would underflow: such sources count as equal, but still land (``e**-700`` > 0).
FLOAT64_LOG_FLOOR = -700.0
#: A :class:`Warper` of at most this many pixels keeps its accumulators between frames (about 20 bytes a pixel: 170 MB
#: at 3840x2160); larger images (8K) allocate a smaller window of them per frame (:data:`WINDOW_BYTES`).
KEEP_BUFFERS_MAX_PIXELS = 9_000_000
#: Larger images splat into a window of target rows at a time (:mod:`image_dynamics.splat_windows`, same frames bit
#: for bit) whose accumulator holds about this many bytes (at least 4 scatter bands, so both phases run in parallel):
#: 256 MB instead of 1 GB (float32) or 2 GB (float64) for the whole of an 8000x8000 RGB frame.
WINDOW_BYTES = 256 * 2**20


# ----------------------------------------------------------------------------------------------------------------------
# Validation


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
    return backend


def _as_image(image: np.ndarray, name: str, channels: tuple[int, ...] | None = None) -> np.ndarray:
    """C-contiguous float32 ``[H, W, C]``; integer images keep their values (0..255 stays 0..255)."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1 or (channels is not None and arr.shape[2] not in channels):
        want = " or ".join(str(c) for c in channels) if channels else "C"
        raise InputError(f"{name} must be an array [H, W, {want}] (rows, columns, channels), got shape {arr.shape}.")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} must hold numbers (float or integer pixels), got dtype {arr.dtype}.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _as_field(field: np.ndarray, name: str, height: int, width: int) -> np.ndarray:
    """C-contiguous float32 ``[2, H, W]`` displacement field matching the image size."""
    arr = np.asarray(field)
    if arr.shape != (2, height, width):
        raise InputError(f"{name} must be a displacement field [2, H, W] = [2, {height}, {width}] (x then y, pixels) "
                         f"matching the image, got shape {arr.shape}. Resize the field to the image first.")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{name} must be floating point (pixels), got dtype {arr.dtype}.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _as_importance(importance: np.ndarray, height: int, width: int) -> np.ndarray:
    arr = np.asarray(importance)
    if arr.shape != (height, width):
        raise InputError(f"importance must be a map [H, W] = [{height}, {width}] (GID's mean motion magnitude, pixels) "
                         f"matching the image, got shape {arr.shape}.")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise InputError(f"importance holds {int(np.count_nonzero(~np.isfinite(arr)))} NaN or infinite values; "
                         "it must be finite (recompute it from the motion file).")
    return arr


def softmax_weights(importance: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Per-source splat weight ``exp(beta * importance - max(beta * importance))``, ``[H, W]`` in ``(0, 1]``.

    float32 when the spread of ``beta * importance`` is at most :data:`FLOAT32_LOG_RANGE`, else float64 (and the
    exponent is floored at :data:`FLOAT64_LOG_FLOOR`) so that no source silently gets weight 0. The accumulators of a
    splat take the same dtype.
    """
    if not math.isfinite(beta):
        raise InputError(f"beta (softmax splat sharpness) must be a finite number, got {beta!r}.")
    scaled = np.float32(beta) * importance.astype(np.float32, copy=False)
    top, bottom = float(scaled.max()), float(scaled.min())
    if math.isfinite(top - bottom) and top - bottom <= FLOAT32_LOG_RANGE:
        scaled -= np.float32(top)
        return np.exp(scaled, out=scaled)
    scaled = importance.astype(np.float64)
    scaled *= float(beta)  # in place: the same values as beta * importance without a second full-size array
    scaled -= scaled.max()
    np.maximum(scaled, FLOAT64_LOG_FLOOR, out=scaled)
    return np.exp(scaled, out=scaled)


# ----------------------------------------------------------------------------------------------------------------------
# Splatting


def _splat_numpy(values: np.ndarray, flow: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference scatter: the same taps and weights as the numba kernel, summed with ``np.bincount`` in float64."""
    height, width, channels = values.shape
    tx = (np.arange(width, dtype=np.float64)[None, :] + flow[0]).ravel()
    ty = (np.arange(height, dtype=np.float64)[:, None] + flow[1]).ravel()
    with np.errstate(invalid="ignore"):
        lands = (tx > -1.0) & (tx < width) & (ty > -1.0) & (ty < height)
    src = np.flatnonzero(lands)
    tx, ty = tx[src], ty[src]
    x0, y0 = np.floor(tx), np.floor(ty)
    ax, ay = tx - x0, ty - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    e = weights.ravel()[src].astype(np.float64)
    flat_values = values.reshape(-1, channels)[src].astype(np.float64)
    size = height * width
    weight_sum = np.zeros(size, dtype=np.float64)
    accum = np.zeros((size, channels), dtype=np.float64)
    for dy in (0, 1):
        for dx in (0, 1):
            xx, yy = x0 + dx, y0 + dy
            w = (ax if dx else 1.0 - ax) * (ay if dy else 1.0 - ay) * e
            ok = (xx >= 0) & (xx < width) & (yy >= 0) & (yy < height) & (w != 0.0)
            index, w = yy[ok] * width + xx[ok], w[ok]
            weight_sum += np.bincount(index, weights=w, minlength=size)
            for c in range(channels):
                accum[:, c] += np.bincount(index, weights=w * flat_values[ok, c], minlength=size)
    dtype = weights.dtype
    return accum.reshape(height, width, channels).astype(dtype), weight_sum.reshape(height, width).astype(dtype)


def _splat_numba(values: np.ndarray, flow: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width, channels = values.shape
    accum = np.zeros((height, width, channels), dtype=weights.dtype)
    weight_sum = np.zeros((height, width), dtype=weights.dtype)
    with PARALLEL_LOCK:
        splat_kernels.splat_parallel(values, flow, weights, accum, weight_sum, float(np.abs(flow[1]).max()))
    return accum, weight_sum


def softmax_splat(values: np.ndarray, flow: np.ndarray, importance: np.ndarray, beta: float = 1.0,
                  backend: str = "numba") -> tuple[np.ndarray, np.ndarray]:
    """Forward-splat ``values`` along ``flow`` with softmax weights; un-normalised.

    Args:
        values: ``[H, W, C]`` per-pixel values to carry (colour, premultiplied colour + alpha, displacements, ...).
        flow: float ``[2, H, W]`` forward displacement in pixels (x right, y down): source ``p`` lands at
            ``p + flow(p)``.
        importance: float ``[H, W]`` splat importance (GID: mean motion magnitude in pixels); larger is in front.
        beta: softmax sharpness; 0 averages overlapping sources, large values keep only the most important one.
        backend: ``"numba"`` (compiled, fast) or ``"numpy"`` (reference).

    Returns:
        ``(accum, weight_sum)``: ``accum[q] = sum_p w_p(q) values[p]`` ``[H, W, C]`` and
        ``weight_sum[q] = sum_p w_p(q)`` ``[H, W]``, where ``w_p(q)`` is the bilinear weight of ``p``'s target at
        ``q`` times :func:`softmax_weights`. float32, or float64 when the importance spread needs it. Pixels with
        ``weight_sum == 0`` are holes; targets outside the image are dropped.
    """
    _check_backend(backend)
    values = _as_image(values, "values")
    height, width = values.shape[:2]
    flow = _as_field(flow, "flow", height, width)
    weights = softmax_weights(_as_importance(importance, height, width), beta)
    return (_splat_numba if backend == "numba" else _splat_numpy)(values, flow, weights)


# ----------------------------------------------------------------------------------------------------------------------
# Hole filling: push-pull over a pyramid of masked 2x2 means, then bilinear push back into the holes


def _normalise_numpy(accum: np.ndarray, weight_sum: np.ndarray,
                     min_weight: float) -> tuple[np.ndarray, np.ndarray, int]:
    covered = weight_sum > min_weight
    out = np.zeros(accum.shape, dtype=np.float32)
    np.divide(accum, weight_sum[..., None], out=out, where=covered[..., None], casting="unsafe")
    return out, covered, int(covered.size - np.count_nonzero(covered))


def _pull_numpy(values: np.ndarray, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    height, width, channels = values.shape
    ch, cw = (height + 1) // 2, (width + 1) // 2
    padded = np.zeros((2 * ch, 2 * cw, channels), dtype=np.float32)
    padded[:height, :width] = values  # holes already hold 0, so they add nothing
    mask = np.zeros((2 * ch, 2 * cw), dtype=np.float32)
    mask[:height, :width] = covered
    sums = padded[0::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 0::2] + padded[1::2, 1::2]
    counts = mask[0::2, 0::2] + mask[0::2, 1::2] + mask[1::2, 0::2] + mask[1::2, 1::2]
    coarse_covered = counts > 0
    coarse = np.zeros_like(sums)
    np.divide(sums, counts[..., None], out=coarse, where=coarse_covered[..., None])
    return coarse, coarse_covered, int(coarse_covered.size - np.count_nonzero(coarse_covered))


def _push_numpy(values: np.ndarray, covered: np.ndarray, coarse: np.ndarray) -> None:
    ys, xs = np.nonzero(~covered)
    ch, cw = coarse.shape[:2]
    v = np.clip(ys * 0.5 - 0.25, 0.0, ch - 1.0)
    u = np.clip(xs * 0.5 - 0.25, 0.0, cw - 1.0)
    v0, u0 = v.astype(np.int64), u.astype(np.int64)
    v1, u1 = np.minimum(v0 + 1, ch - 1), np.minimum(u0 + 1, cw - 1)
    fv = (v - v0).astype(np.float32)[:, None]
    fu = (u - u0).astype(np.float32)[:, None]
    one = np.float32(1.0)
    top = coarse[v0, u0] * (one - fu) + coarse[v0, u1] * fu
    bottom = coarse[v1, u0] * (one - fu) + coarse[v1, u1] * fu
    values[ys, xs] = top * (one - fv) + bottom * fv


def fill_holes(values: np.ndarray, weight_sum: np.ndarray, min_weight: float = 0.0,
               backend: str = "numba") -> np.ndarray:
    """Normalise a splat and fill its holes.

    Args:
        values: ``[H, W, C]`` un-normalised accumulator from :func:`softmax_splat`.
        weight_sum: ``[H, W]`` summed splat weights from :func:`softmax_splat`.
        min_weight: pixels with ``weight_sum <= min_weight`` are holes. The default 0 makes every pixel that any source
            reached count as covered: softmax weights are scaled by the global maximum, so their size says how
            important a source is relative to the whole image, not how well a pixel is covered.
        backend: ``"numba"`` or ``"numpy"``; both compute the same arithmetic.

    Returns:
        float32 ``[H, W, C]``: ``values / weight_sum`` where covered; holes hold a smooth blend of the nearest covered
        pixels (push-pull: masked 2x2 means down a pyramid, then bilinear interpolation back up), at borders and in
        large holes alike. Only if nothing at all was covered is the result all zeros.
    """
    _check_backend(backend)
    values = np.asarray(values)
    weight_sum = np.asarray(weight_sum)
    if values.ndim != 3 or weight_sum.shape != values.shape[:2]:
        raise InputError(f"fill_holes needs values [H, W, C] and weight_sum [H, W] of the same H, W; got shapes "
                         f"{values.shape} and {weight_sum.shape}.")
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float32)
    weight_sum = weight_sum.astype(values.dtype, copy=False)
    values = np.ascontiguousarray(values)
    weight_sum = np.ascontiguousarray(weight_sum)
    if backend == "numba":
        out = np.empty(values.shape, dtype=np.float32)
        covered = np.empty(values.shape[:2], dtype=np.bool_)
        with PARALLEL_LOCK:
            holes = splat_kernels.normalise(values, weight_sum, values.dtype.type(min_weight), out, covered)
            if 0 < holes < covered.size:
                _push_pull(out, covered, holes, splat_kernels.pull, splat_kernels.push)
        return out
    out, covered, holes = _normalise_numpy(values, weight_sum, min_weight)
    if 0 < holes < covered.size:
        _push_pull(out, covered, holes, _pull_numpy, _push_numpy)
    return out


def _push_pull(out: np.ndarray, covered: np.ndarray, holes: int, pull, push) -> None:
    """Fill the holes of ``out`` in place: pull down a pyramid until a level has none, push back up to ``out``."""
    levels = [(out, covered)]
    while holes and (levels[-1][1].shape[0] > 1 or levels[-1][1].shape[1] > 1):
        coarse, coarse_covered, holes = pull(*levels[-1])
        levels.append((coarse, coarse_covered))
    for (fine, fine_covered), (coarse, _) in zip(levels[-2::-1], levels[:0:-1], strict=True):
        push(fine, fine_covered, coarse)


# ----------------------------------------------------------------------------------------------------------------------
# Public warps


def warp_image(image: np.ndarray, flow: np.ndarray, importance: np.ndarray, beta: float = 1.0,
               backend: str = "numba") -> np.ndarray:
    """Forward-warp an image: softmax splat along ``flow``, normalise, fill holes.

    Args:
        image: ``[H, W, 3]`` or ``[H, W, 4]`` (straight alpha) pixels as stored: any range (0..1, 0..255, linear > 1).
        flow: float ``[2, H, W]`` forward displacement in pixels (x right, y down).
        importance: float ``[H, W]``; larger is in front where sources overlap.
        beta: softmax sharpness (see :func:`softmax_splat`).
        backend: ``"numba"`` or ``"numpy"``.

    Returns:
        float32 array of the image's shape. RGBA is splatted premultiplied and un-premultiplied afterwards, so fully
        transparent pixels lend no colour to their neighbours; where the result is fully transparent its colour is 0.
        An all-zero ``flow`` returns a bit-exact copy of the input (frame 0 of every loop).
    """
    _check_backend(backend)
    image = _as_image(image, "image", channels=(3, 4))
    height, width = image.shape[:2]
    flow = _as_field(flow, "flow", height, width)
    importance = _as_importance(importance, height, width)
    if not flow.any():  # frame 0 of every loop: nothing moves, and the input comes back bit-exact
        return image.copy()
    if backend == "numba":
        return Warper(image, importance, beta).warp(flow)
    rgba = image.shape[2] == 4
    if rgba:
        image = _premultiply_numpy(image)
    accum, weight_sum = softmax_splat(image, flow, importance, beta, backend)
    out = fill_holes(accum, weight_sum, backend=backend)
    if rgba:
        _unpremultiply_numpy(out)
    return out


class Warper:
    """Forward-warps one image by many flows: :func:`warp_image` (numba back end) with the per-image work done once.

    The softmax weights, the premultiplied image (RGBA, at the first frame) and the accumulation buffers are made
    once and reused, so a frame allocates only its output; the normalisation, the first pull of the hole fill and the
    un-premultiplication share one pass, and only the holes are visited by the last push. :meth:`warp_grid` upsamples
    the flow into a reused buffer. Frames equal :func:`warp_image`'s (numba) bit for bit, since it runs through a
    warper too.

    One warper serves one thread at a time (its buffers are shared between calls); every call holds
    :data:`PARALLEL_LOCK`. The image is referenced, not copied.

    Memory: an image that keeps no buffers (above :data:`KEEP_BUFFERS_MAX_PIXELS`) is splatted a window of target rows
    at a time (:mod:`image_dynamics.splat_windows`), so its accumulator is about :data:`WINDOW_BYTES`, not
    ``H * W * (C + 1)`` values, and an RGBA image's premultiplied copy is made per window, never whole; the frames are
    the same bit for bit.

    Args:
        image: ``[H, W, 3]`` or ``[H, W, 4]`` (straight alpha) pixels as stored; a float32 C-contiguous array is
            referenced, anything else converted once.
        importance: float ``[H, W]`` splat importance (larger in front).
        beta: softmax sharpness (see :func:`softmax_splat`).
        keep_buffers: keep the accumulators between frames; default: for images up to
            :data:`KEEP_BUFFERS_MAX_PIXELS`.
        window_rows: target rows per accumulator window; default: the whole image when buffers are kept, else
            about :data:`WINDOW_BYTES` (and at least 4 scatter bands). Rounded up to an even number.
    """

    def __init__(self, image: np.ndarray, importance: np.ndarray, beta: float = 1.0,
                 keep_buffers: bool | None = None, window_rows: int | None = None) -> None:
        image = _as_image(image, "image", channels=(3, 4))
        self.height, self.width, self.channels = image.shape
        self.image = image  # a float32 C-contiguous input is referenced, not copied: do not modify it
        self.rgba = self.channels == 4
        self._premultiplied: np.ndarray | None = None  # RGBA: made on first whole-frame warp (see _values)
        self.weights = softmax_weights(_as_importance(importance, self.height, self.width), beta)
        self.keep_buffers = (self.height * self.width <= KEEP_BUFFERS_MAX_PIXELS if keep_buffers is None
                             else bool(keep_buffers))
        self._buffers: tuple[np.ndarray, ...] | None = None
        self._flow: np.ndarray | None = None  # warp_grid's upsampled flow, reused
        if window_rows is not None and (not isinstance(window_rows, (int, np.integer)) or window_rows < 1):
            raise InputError(f"Warper: window_rows must be a positive whole number of rows, got {window_rows!r}.")
        self.window_rows = None if window_rows is None else int(window_rows) + int(window_rows) % 2

    @property
    def _values(self) -> np.ndarray:
        """What is splatted, float32 ``[H, W, C]``: the image, or for RGBA its premultiplied copy (made once; a warper
        that splats in windows premultiplies each window's source rows instead and never makes it)."""
        if not self.rgba:
            return self.image
        if self._premultiplied is None:
            with PARALLEL_LOCK:
                self._premultiplied = splat_kernels.premultiply(self.image)
        return self._premultiplied

    def _window_values(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo .. hi - 1`` of :attr:`_values` (RGBA: premultiplied now, the same values element by element)."""
        if not self.rgba:
            return self.image[lo:hi]
        if self._premultiplied is not None:
            return self._premultiplied[lo:hi]
        return splat_kernels.premultiply(self.image[lo:hi])

    def _make_buffers(self) -> tuple[np.ndarray, ...]:
        """``(acc, covered, coarse, coarse_covered, pair_holes)``, kept between frames when :attr:`keep_buffers`."""
        if self._buffers is not None:
            return self._buffers
        ch, cw = (self.height + 1) // 2, (self.width + 1) // 2
        buffers = (np.empty((self.height, self.width, self.channels + 1), dtype=self.weights.dtype),
                   np.empty((self.height, self.width), dtype=np.bool_), np.empty((ch, cw, self.channels), np.float32),
                   np.empty((ch, cw), dtype=np.bool_), np.empty(ch, dtype=np.int64))
        if self.keep_buffers:
            self._buffers = buffers
        return buffers

    def _out(self, out: np.ndarray | None) -> np.ndarray:
        shape = (self.height, self.width, self.channels)
        if out is None:
            return np.empty(shape, dtype=np.float32)
        if (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float32
                or not out.flags.c_contiguous or not out.flags.writeable):
            raise InputError(f"Warper: out must be a writable C-contiguous float32 array of shape {shape}, got "
                             f"{getattr(out, 'dtype', type(out).__name__)} {np.shape(out)}.")
        return out

    def warp(self, flow: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The image forward-warped by ``flow`` float ``[2, H, W]`` (pixels, x right, y down): float32 ``[H, W, C]``,
        written into ``out`` when given (float32, C-contiguous, the image's shape)."""
        flow = _as_field(flow, "flow", self.height, self.width)
        out = self._out(out)
        moves, max_abs_flow_y = splat_kernels.flow_extent(flow)
        if not moves:  # frame 0 of every loop: the input comes back bit-exact
            out[...] = self.image
            return out
        return self._warp(flow, float(max_abs_flow_y), out)

    def warp_grid(self, grid_flow: np.ndarray, upsampler, out: np.ndarray | None = None) -> np.ndarray:
        """``warp(upsampler.apply(grid_flow))`` without a full-resolution flow allocated per frame or scanned twice.

        Args:
            grid_flow: float ``[2, h, w]`` forward displacement on the upsampler's grid, already in image pixels.
            upsampler: an :class:`~image_dynamics.upsample.EdgeAwareUpsampler` to this image's size.
            out: optional float32 output, as in :meth:`warp`.
        """
        grid = np.ascontiguousarray(grid_flow, dtype=np.float32)
        if grid.ndim != 3 or grid.shape[0] != 2 or tuple(grid.shape[1:]) != tuple(upsampler.grid_shape):
            raise InputError(f"Warper.warp_grid: grid_flow must be [2, h, w] = [2, {upsampler.grid_shape[0]}, "
                             f"{upsampler.grid_shape[1]}] (the upsampler's grid), got shape {grid.shape}.")
        if tuple(upsampler.full_shape) != (self.height, self.width):
            raise InputError(f"Warper.warp_grid: the upsampler is for {upsampler.full_shape[1]}x"
                             f"{upsampler.full_shape[0]} pixels but the image is {self.width}x{self.height}.")
        out = self._out(out)
        if not grid.any():  # upsampled values are first + weighted differences of 0: exactly 0 everywhere
            out[...] = self.image
            return out
        if self._flow is None:
            self._flow = np.empty((2, self.height, self.width), dtype=np.float32)
        upsampler.apply_into(grid, self._flow)
        # Upsampled values are convex combinations of grid values (weights >= 0 summing to 1), up to rounding.
        bound = float(np.abs(grid[1]).max()) * (1.0 + 1e-5) + 1e-3
        return self._warp(self._flow, bound, out)

    def _window_rows(self, band_rows: int) -> int:
        """Target rows per accumulator window for a frame scattered in bands of ``band_rows`` (0: serially)."""
        if self.window_rows is not None:
            return min(self.window_rows, self.height)
        if self.keep_buffers:
            return self.height
        row_bytes = self.width * (self.channels + 1) * self.weights.dtype.itemsize
        rows = max(WINDOW_BYTES // row_bytes, 4 * band_rows, 2)
        return min(self.height, rows + rows % 2)

    def _warp(self, flow: np.ndarray, max_abs_flow_y: float, out: np.ndarray) -> np.ndarray:
        window = self._window_rows(splat_kernels.band_rows_for(self.height, self.width, max_abs_flow_y))
        if window < self.height:
            return self._warp_windows(flow, max_abs_flow_y, out, window)
        acc, covered, coarse, coarse_covered, pair_holes = self._make_buffers()
        with PARALLEL_LOCK:
            splat_kernels.splat_packed(self._values, flow, self.weights, acc, max_abs_flow_y)
            coarse_holes = splat_kernels.normalise_pull_packed(acc, acc.dtype.type(0.0), self.rgba, out, covered,
                                                               coarse, coarse_covered, pair_holes)
            return self._fill_holes(out, covered, coarse, coarse_covered, pair_holes, int(coarse_holes))

    def _warp_windows(self, flow: np.ndarray, max_abs_flow_y: float, out: np.ndarray, window: int) -> np.ndarray:
        """:meth:`_warp` a window of ``window`` (even) target rows at a time: the same frame, bit for bit.

        Each window gets exactly the additions the whole-frame accumulator gets in its rows
        (:func:`splat_windows.splat_window`, with the whole frame's scatter bands) and is normalised and pulled to the
        first coarse level by the same kernel, on the matching rows of ``out`` and of the coarse level (windows start
        on even rows, so no 2x2 block is split)."""
        ch, cw = (self.height + 1) // 2, (self.width + 1) // 2
        covered = np.empty((self.height, self.width), dtype=np.bool_)
        coarse = np.empty((ch, cw, self.channels), np.float32)
        coarse_covered = np.empty((ch, cw), dtype=np.bool_)
        pair_holes = np.empty(ch, dtype=np.int64)
        acc = np.empty((window, self.width, self.channels + 1), dtype=self.weights.dtype)
        band_rows = splat_kernels.band_rows_for(self.height, self.width, max_abs_flow_y)
        coarse_holes = 0
        with PARALLEL_LOCK:
            for row0 in range(0, self.height, window):
                row1 = min(self.height, row0 + window)
                part = acc[:row1 - row0]
                splat_windows.splat_window(self._window_values, flow, self.weights, part, row0, max_abs_flow_y,
                                           band_rows)
                j0, j1 = row0 // 2, (row1 + 1) // 2
                coarse_holes += int(splat_kernels.normalise_pull_packed(
                    part, acc.dtype.type(0.0), self.rgba, out[row0:row1], covered[row0:row1], coarse[j0:j1],
                    coarse_covered[j0:j1], pair_holes[j0:j1]))
            del acc, part
            return self._fill_holes(out, covered, coarse, coarse_covered, pair_holes, coarse_holes)

    def _fill_holes(self, out: np.ndarray, covered: np.ndarray, coarse: np.ndarray, coarse_covered: np.ndarray,
                    pair_holes: np.ndarray, coarse_holes: int) -> np.ndarray:
        """Push-pull the holes of a normalised frame ``out`` from its first coarse level (held lock)."""
        with PARALLEL_LOCK:
            if not pair_holes.any() or coarse_holes == coarse_covered.size:
                return out  # no holes, or nothing landed at all (then every pixel is 0, as fill_holes leaves it)
            if coarse_holes:
                _push_pull(coarse, coarse_covered, int(coarse_holes), splat_kernels.pull_serial,
                           splat_kernels.push_serial)
            splat_kernels.push_holes(out, covered, coarse, self.rgba, pair_holes)
        return out


def _premultiply_numpy(image: np.ndarray) -> np.ndarray:
    alpha = image[..., 3:]
    return np.concatenate([image[..., :3] * alpha, alpha], axis=2)


def _unpremultiply_numpy(image: np.ndarray) -> None:
    alpha = image[..., 3:]
    np.divide(image[..., :3], alpha, out=image[..., :3], where=alpha > 0)
    image[..., :3][alpha[..., 0] <= 0] = 0.0


def compositor_map(flow: np.ndarray, importance: np.ndarray, beta: float = 1.0, backend: str = "numba") -> np.ndarray:
    """The backward map of a forward displacement: ``v(p + d(p)) = d(p)``, holes filled.

    Computed by splatting the displacement itself with the same softmax weights as :func:`warp_image`, so
    ``backward_warp(image, compositor_map(d, W))`` matches ``warp_image(image, d, W)`` away from occlusions and holes.

    Args:
        flow: float ``[2, H, W]`` forward displacement ``d`` in pixels (x right, y down).
        importance: float ``[H, W]``.
        beta: softmax sharpness.
        backend: ``"numba"`` or ``"numpy"``.

    Returns:
        float32 ``[2, H, W]`` compositor (backward) map ``v``, engine convention (y down): ``out(q) = in(q - v(q))``.
        Blender's compositor Displace node wants y up; io flips it, not this function.
    """
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise InputError(f"flow must be a displacement field [2, H, W] (x then y, pixels), got shape {flow.shape}.")
    height, width = flow.shape[1:]
    flow = _as_field(flow, "flow", height, width)
    importance = _as_importance(importance, height, width)
    if not flow.any():
        return np.zeros_like(flow)
    accum, weight_sum = softmax_splat(np.ascontiguousarray(flow.transpose(1, 2, 0)), flow, importance, beta, backend)
    return np.ascontiguousarray(fill_holes(accum, weight_sum, backend=backend).transpose(2, 0, 1))


def samples_inside(vmap: np.ndarray) -> np.ndarray:
    """A compositor map whose sample points ``q - v(q)`` are clamped into the picture (pixel centres 0..W-1, 0..H-1).

    :func:`backward_warp` gives the same picture with either map (it replicates the edges), but a compositor that
    does not replicate edges (Blender 4.x's Displace node: transparent outside) needs the clamped one: no edge holes.

    Args:
        vmap: float ``[2, H, W]`` compositor map in pixels (engine convention, y down).

    Returns:
        float32 ``[2, H, W]``.
    """
    vmap = np.asarray(vmap, dtype=np.float32)
    height, width = vmap.shape[1:]
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    return np.stack([xs - np.clip(xs - vmap[0], 0.0, width - 1.0),
                     ys - np.clip(ys - vmap[1], 0.0, height - 1.0)]).astype(np.float32)


def backward_warp(image: np.ndarray, vmap: np.ndarray) -> np.ndarray:
    """``out(q) = in(q - v(q))`` with bilinear sampling and clamped (edge-replicated) borders.

    The reference for :func:`compositor_map` and what Blender's compositor Displace node does (in its y-up frame).

    Args:
        image: ``[H, W, C]`` or ``[H, W]`` pixels.
        vmap: float ``[2, H, W]`` compositor (backward) map in pixels, engine convention (x right, y down).

    Returns:
        float32 array of the image's shape.
    """
    arr = np.asarray(image)
    flat = arr.ndim == 2
    img = _as_image(arr[..., None] if flat else arr, "image")
    height, width = img.shape[:2]
    vmap = _as_field(vmap, "vmap", height, width)
    if not np.isfinite(vmap).all():
        raise InputError(f"vmap holds {int(np.count_nonzero(~np.isfinite(vmap)))} NaN or infinite values; "
                         "a compositor map must be finite.")
    sx = np.clip(np.arange(width, dtype=np.float64)[None, :] - vmap[0], 0.0, width - 1.0)
    sy = np.clip(np.arange(height, dtype=np.float64)[:, None] - vmap[1], 0.0, height - 1.0)
    x0, y0 = sx.astype(np.int64), sy.astype(np.int64)  # non-negative after clipping, so truncation is floor
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx = (sx - x0)[..., None]
    fy = (sy - y0)[..., None]
    top = img[y0, x0] * (1.0 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1.0 - fx) + img[y1, x1] * fx
    out = (top * (1.0 - fy) + bottom * fy).astype(np.float32)
    return out[..., 0] if flat else out
