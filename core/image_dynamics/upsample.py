"""Edge-aware upsampling of grid-resolution fields (displacements, splat importance) to the full-resolution image.

The motion model and the procedural source work on a small grid (about 256x160); frames are rendered at the image's own
resolution. Each frame's 2-channel displacement is upsampled here by joint bilateral upsampling guided by the image, so
motion stops at object borders (a moving leaf next to a static wall) instead of bleeding ``W / w`` pixels across them.

Pixel-centre convention (the one ``cv2.resize`` uses): grid cell ``(i, j)`` covers image pixels
``[j W/w, (j+1) W/w) x [i H/h, (i+1) H/h)``; image pixel ``(y, x)`` samples the grid at ``u = (x + 0.5) w / W - 0.5``,
``v = (y + 0.5) h / H - 0.5``; taps beyond the grid replicate its border cells.

Weights: for an image pixel ``p`` at grid position ``(v, u)`` the taps ``q`` are the ``2r x 2r`` grid cells around it
(the 2x2 bilinear neighbours for ``r = 1``), and

    w(p, q) = tent_r(v - q_i) * tent_r(u - q_j) * exp(-|G(p) - G_lo(q)|^2 / (2 sigma_color^2)),   normalised to sum 1,

with ``tent_r(d) = max(0, 1 - |d| / r)`` (bilinear for ``r = 1``), ``G`` the guide on a perceptual scale and ``G_lo``
its area average over each grid cell. The weights depend on the guide only, so upsampling is a linear operator of the
field: they are computed once per image and reused for every frame and for every other grid field.

Memory: tap indices are separable (int32 row taps ``[H, 2r]`` and column taps ``[W, 2r]``); per pixel only the
``(2r)^2`` float32 weights are stored, ``4 (2r)^2`` bytes: 16 B/px for ``r = 1`` (33 MB at 1920x1080, 133 MB at
3840x2160), 64 B/px for ``r = 2``. Images above ``max_cached_pixels`` keep nothing per pixel: every ``apply`` recomputes
the weights ``tile_rows`` rows at a time (a ``tile_rows * W * 4 (2r)^2`` byte buffer), so 8K (530 MB of weights) stays
bounded at the cost of recomputing them per frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from .errors import InputError
from .render import PARALLEL_LOCK

try:
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; the numpy path keeps the module usable without it
    njit = prange = None

HAVE_NUMBA = njit is not None
#: Above this many image pixels (a little more than 3840x2160) the per-pixel weights are not cached.
DEFAULT_MAX_CACHED_PIXELS = 9_000_000
#: Pixels per tile when weights are computed tile by tile (bounds the numpy reference path's temporaries too).
TILE_PIXELS = 1 << 19
BACKENDS = ("auto", "numba", "numpy")

# sRGB encoding, continued above 1.0 by a logarithm with the same slope, so HDR highlights keep their order.
_SRGB_SLOPE_AT_1 = 1.055 / 2.4


def compress_linear(values: np.ndarray) -> np.ndarray:
    """Scene-linear values on a perceptual scale for the range kernel, float32 of the same shape.

    The sRGB encoding on ``[0, 1]`` (so an EXR guide and the same image as an sRGB PNG compare alike), continued above 1
    by ``1 + 0.4396 ln x`` (same value and slope at 1), so highlights stay ordered without dominating. Negative values
    and NaN map to 0, +inf to the value of the largest float32.
    """
    x = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=np.finfo(np.float32).max, neginf=0.0)
    x = np.maximum(x, np.float32(0.0))
    unit = np.minimum(x, np.float32(1.0))
    low = np.where(unit <= 0.0031308, unit * np.float32(12.92),
                   np.float32(1.055) * np.power(unit, np.float32(1 / 2.4)) - np.float32(0.055))
    high = np.float32(1.0) + np.float32(_SRGB_SLOPE_AT_1) * np.log(np.maximum(x, np.float32(1.0)))
    return np.where(x <= 1.0, low, high).astype(np.float32)


def grid_shape_for(width: int, height: int, max_side: int = 256) -> tuple[int, int]:
    """Grid ``(h, w)`` for an image of ``width x height`` pixels: longest side ``max_side``, aspect ratio kept.

    Each side is at least 1; an image no larger than ``max_side`` keeps its own size (a grid finer than the image
    would only cost time).
    """
    for name, value in (("width", width), ("height", height), ("max_side", max_side)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"grid_shape_for: {name} must be a positive integer, got {value!r}.")
    longest = max(width, height)
    if longest <= max_side:
        return int(height), int(width)
    scale = max_side / longest
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_area(image: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Area-average float ``[H, W, C]`` (or ``[H, W]``) to ``shape = (h, w)``: float32 ``[h, w, C]`` (or ``[h, w]``).

    ``cv2.INTER_AREA``: each output pixel is the mean of the image over its cell (fractional overlaps weighted) when
    shrinking; when enlarging cv2 interpolates instead. A non-contiguous input is copied once for cv2.
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"resize_area: image must have shape [H, W] or [H, W, C], got {arr.shape}.")
    h, w = _check_shape(shape, "resize_area: shape")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    out = cv2.resize(np.ascontiguousarray(arr), (w, h), interpolation=cv2.INTER_AREA)
    if arr.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel axis
        out = out[:, :, None]
    return np.ascontiguousarray(out, dtype=np.float32)


def upsample_bilinear(field: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Plain bilinear resampling of float ``[C, h, w]`` (or ``[h, w]``) to ``shape = (H, W)``: float32 ``[C, H, W]``.

    ``cv2.resize`` with ``INTER_LINEAR`` per channel: half-pixel centres, border cells replicated. Values are not scaled
    (for displacements use :meth:`EdgeAwareUpsampler.apply_displacement` or multiply by ``W / w`` and ``H / h``).
    """
    arr = np.asarray(field, dtype=np.float32)
    if arr.ndim not in (2, 3) or arr.shape[-2] < 1 or arr.shape[-1] < 1:
        raise InputError(f"upsample_bilinear: field must have shape [C, h, w] or [h, w], got {arr.shape}.")
    height, width = _check_shape(shape, "upsample_bilinear: shape")
    planes = arr[None] if arr.ndim == 2 else arr
    out = np.empty((planes.shape[0], height, width), dtype=np.float32)
    for c, plane in enumerate(planes):
        out[c] = cv2.resize(np.ascontiguousarray(plane), (width, height), interpolation=cv2.INTER_LINEAR)
    return out[0] if arr.ndim == 2 else out


def axis_taps(n_out: int, n_in: int, radius: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Taps of one axis: output sample ``x`` reads input cells ``idx[x]`` with tent weights ``weight[x]``.

    Returns int32 ``[n_out, 2r]`` indices (clamped to ``[0, n_in - 1]``, i.e. border replicated) and float32
    ``[n_out, 2r]`` weights summing to 1, for the position ``u = (x + 0.5) n_in / n_out - 0.5``.
    """
    u = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    cells = np.floor(u).astype(np.int64)[:, None] + np.arange(1 - radius, radius + 1)[None, :]
    weights = np.maximum(0.0, 1.0 - np.abs(u[:, None] - cells) / radius)
    weights /= weights.sum(axis=1, keepdims=True)  # the tent sums to r over the lattice
    return np.clip(cells, 0, n_in - 1).astype(np.int32), weights.astype(np.float32)


def _check_shape(shape: Sequence[int], what: str) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in shape)
        ok = all(int(s) == s for s in shape) and h >= 1 and w >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"{what} must be two positive integers (rows, columns), got {shape!r}.")
    return h, w


# ----------------------------------------------------------------------------------------------------------------------
# Kernels: weights of a row tile, and the gather. The numpy versions are the reference; the numba ones do the same
# arithmetic per pixel. The gather computes v0 + sum_k w_k (v_k - v0) (v0 = first tap), equal to sum_k w_k v_k when the
# weights sum to 1, and exact for constant fields (every difference is 0).


def _tile_weights_numpy(guide: np.ndarray, lo: np.ndarray, row_idx: np.ndarray, row_w: np.ndarray,
                        col_idx: np.ndarray, col_w: np.ndarray, inv_two_sigma2: float, out: np.ndarray) -> None:
    """Normalised weights of a tile: guide ``[rows, W, C]``, lo ``[h, w, C]``, row taps ``[rows, n]``, column taps
    ``[W, n]`` -> out ``[rows, W, n*n]``."""
    rows, width, channels = guide.shape
    n = row_idx.shape[1]
    ii, jj = row_idx[:, None, :, None], col_idx[None, :, None, :]
    d2 = np.zeros((rows, width, n, n), dtype=np.float32)
    for c in range(channels):
        diff = lo[:, :, c][ii, jj] - guide[:, :, c][:, :, None, None]
        d2 += diff * diff
    spatial = row_w[:, None, :, None] * col_w[None, :, None, :]
    # Subtracting the smallest distance among taps that count cancels in the normalisation and keeps the closest
    # tap's range factor at 1, so the sum never underflows to 0 however far the colours are.
    d2 -= np.where(spatial > 0, d2, np.float32(np.inf)).min(axis=(2, 3), keepdims=True)
    weights = spatial * np.exp(-d2 * np.float32(inv_two_sigma2))
    weights /= weights.sum(axis=(2, 3), keepdims=True)
    out[...] = weights.reshape(rows, width, n * n)


def _gather_numpy(field: np.ndarray, row_idx: np.ndarray, col_idx: np.ndarray, weights: np.ndarray,
                  scales: np.ndarray, out: np.ndarray, out_row0: int) -> None:
    """``out[c, out_row0 + r, x] = scales[c] * sum_k weights[r, x, k] field[c, tap_k]`` for a tile of rows."""
    rows, width, taps = weights.shape
    ii, jj = row_idx[:, None, :, None], col_idx[None, :, None, :]
    for c in range(field.shape[0]):
        values = field[c][ii, jj].reshape(rows, width, taps)
        first = values[:, :, :1]
        out[c, out_row0:out_row0 + rows] = scales[c] * (first[:, :, 0] + (weights * (values - first)).sum(axis=2))


if HAVE_NUMBA:

    @njit(parallel=True, cache=True, nogil=True)
    def _tile_weights_numba(guide, lo, row_idx, row_w, col_idx, col_w, inv_two_sigma2, out):  # pragma: no cover
        rows, width, channels = guide.shape
        n = row_idx.shape[1]
        inv = np.float32(inv_two_sigma2)
        for r in prange(rows):
            d2 = np.empty(n * n, dtype=np.float32)
            spatial = np.empty(n * n, dtype=np.float32)
            for x in range(width):
                d2_min = np.float32(np.inf)
                for a in range(n):
                    i = row_idx[r, a]
                    for b in range(n):
                        j = col_idx[x, b]
                        s = np.float32(0.0)
                        for c in range(channels):
                            diff = lo[i, j, c] - guide[r, x, c]
                            s += diff * diff
                        k = a * n + b
                        d2[k] = s
                        spatial[k] = row_w[r, a] * col_w[x, b]
                        if spatial[k] > 0 and s < d2_min:
                            d2_min = s
                total = np.float32(0.0)
                for k in range(n * n):
                    wk = spatial[k] * np.exp(-(d2[k] - d2_min) * inv)  # float32 exp: twice as fast as math.exp
                    out[r, x, k] = wk
                    total += wk
                for k in range(n * n):
                    out[r, x, k] /= total

    @njit(parallel=True, cache=True, nogil=True)
    def _gather_numba(field, row_idx, col_idx, weights, scales, out, out_row0):  # pragma: no cover
        rows, width, _ = weights.shape
        n = row_idx.shape[1]
        for r in prange(rows):
            y = out_row0 + r
            for c in range(field.shape[0]):
                plane = field[c]
                scale = scales[c]
                for x in range(width):
                    first = plane[row_idx[r, 0], col_idx[x, 0]]
                    acc = np.float32(0.0)
                    for a in range(n):
                        i = row_idx[r, a]
                        for b in range(n):
                            acc += weights[r, x, a * n + b] * (plane[i, col_idx[x, b]] - first)
                    out[c, y, x] = scale * (first + acc)

    @njit(parallel=True, cache=True, nogil=True)
    def _gather_bilinear_numba(field, row_idx, col_idx, weights, scales, out, out_row0):  # pragma: no cover
        # _gather_numba unrolled for 2x2 taps (radius 1): the same sums in the same order, three times faster.
        rows, width, _ = weights.shape
        for r in prange(rows):
            y = out_row0 + r
            for c in range(field.shape[0]):
                top = field[c, row_idx[r, 0]]
                bottom = field[c, row_idx[r, 1]]
                scale = scales[c]
                for x in range(width):
                    j0 = col_idx[x, 0]
                    j1 = col_idx[x, 1]
                    first = top[j0]
                    acc = (weights[r, x, 1] * (top[j1] - first) + weights[r, x, 2] * (bottom[j0] - first)
                           + weights[r, x, 3] * (bottom[j1] - first))
                    out[c, y, x] = scale * (first + acc)


# ----------------------------------------------------------------------------------------------------------------------


class EdgeAwareUpsampler:
    """Joint bilateral upsampling from a grid ``(h, w)`` to a guide image ``[H, W, C]`` with weights fixed per image.

    Args:
        guide: float ``[H, W, C]`` (C = 3 RGB or 4 RGBA; ``[H, W]`` grey also works): the full-resolution image. All
            channels enter the colour distance (an alpha edge is an object edge too). Values as stored: sRGB 0..1 for
            8/16-bit files; for scene-linear (EXR) guides pass ``linear_guide=True`` so they are compressed with
            :func:`compress_linear` first. In tiled mode the upsampler keeps a reference to it: do not modify it.
        grid_shape: ``(h, w)`` of the fields to upsample.
        sigma_color: range-kernel width in guide units (0.1 = a tenth of the sRGB range).
        radius: spatial support ``r`` in grid cells: ``2r x 2r`` taps with a tent of radius ``r`` (1 = bilinear).
        tile_rows: rows per tile when weights are computed (default: about ``TILE_PIXELS`` pixels per tile).
        max_cached_pixels: images with more pixels keep no per-pixel weights (see the module docstring).
        linear_guide: the guide is scene-linear; compare colours on :func:`compress_linear`'s scale.
        backend: ``"numba"`` (compiled, parallel), ``"numpy"`` (the reference) or ``"auto"`` (numba when installed).
    """

    def __init__(self, guide: np.ndarray, grid_shape: Sequence[int], sigma_color: float = 0.1, radius: int = 1,
                 tile_rows: int | None = None, max_cached_pixels: int = DEFAULT_MAX_CACHED_PIXELS, *,
                 linear_guide: bool = False, backend: str = "auto") -> None:
        guide = np.asarray(guide)
        if guide.ndim == 2:
            guide = guide[:, :, None]
        if guide.ndim != 3 or guide.shape[0] < 1 or guide.shape[1] < 1 or not 1 <= guide.shape[2] <= 4:
            raise InputError(f"EdgeAwareUpsampler: guide must be an image [H, W, C] with C = 1 to 4, got shape "
                             f"{guide.shape}.")
        if not np.issubdtype(guide.dtype, np.floating):
            raise InputError(f"EdgeAwareUpsampler: guide must be floating point (0..1 for sRGB), got {guide.dtype}; "
                             "convert 8/16-bit images with image / 255 or / 65535.")
        h, w = _check_shape(grid_shape, "EdgeAwareUpsampler: grid_shape")
        if not (isinstance(sigma_color, (int, float, np.floating, np.integer)) and math.isfinite(sigma_color)
                and sigma_color > 0):
            raise InputError(f"EdgeAwareUpsampler: sigma_color must be a positive number, got {sigma_color!r}.")
        if not isinstance(radius, (int, np.integer)) or radius < 1:
            raise InputError(f"EdgeAwareUpsampler: radius must be an integer >= 1 (grid cells), got {radius!r}.")
        if tile_rows is not None and (not isinstance(tile_rows, (int, np.integer)) or tile_rows < 1):
            raise InputError(f"EdgeAwareUpsampler: tile_rows must be a positive integer or None, got {tile_rows!r}.")
        if backend not in BACKENDS:
            raise InputError(f"EdgeAwareUpsampler: backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
        if backend == "numba" and not HAVE_NUMBA:
            raise InputError("EdgeAwareUpsampler: backend 'numba' asked for but numba is not installed; "
                             "install numba or use backend='numpy'.")

        height, width = guide.shape[:2]
        self._full_shape = (int(height), int(width))
        self._grid_shape = (h, w)
        self.sigma_color = float(sigma_color)
        self.radius = int(radius)
        self.linear_guide = bool(linear_guide)
        self.backend = ("numba" if HAVE_NUMBA else "numpy") if backend == "auto" else backend
        self.tile_rows = int(tile_rows) if tile_rows is not None else max(1, min(height, TILE_PIXELS // width))
        self.cached = height * width <= max_cached_pixels
        if self.backend == "numpy":
            self._gather = _gather_numpy
        else:
            self._gather = _gather_bilinear_numba if self.radius == 1 else _gather_numba
        self._inv_two_sigma2 = 1.0 / (2.0 * self.sigma_color ** 2)
        self._row_idx, self._row_w = axis_taps(height, h, self.radius)
        self._col_idx, self._col_w = axis_taps(width, w, self.radius)
        # Area average in the guide's own (linear or sRGB) values, then the same scale as the full-resolution pixels.
        self._guide_lo = np.ascontiguousarray(self._perceptual(resize_area(guide, (h, w))))
        self._guide: np.ndarray | None = guide
        self._weights: np.ndarray | None = None
        if self.cached:
            self._weights = np.empty((height, width, self.taps_per_pixel), dtype=np.float32)
            for y0 in range(0, height, self.tile_rows):
                y1 = min(y0 + self.tile_rows, height)
                self._compute_weights(y0, y1, self._weights[y0:y1])
            self._guide = None  # no longer needed: let the caller free it

    # -- properties -----------------------------------------------------------------------------------------------

    @property
    def full_shape(self) -> tuple[int, int]:
        """``(H, W)`` of the output (the guide image)."""
        return self._full_shape

    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(h, w)`` of the input fields."""
        return self._grid_shape

    @property
    def taps_per_pixel(self) -> int:
        """``(2r)^2`` grid cells read per output pixel."""
        return (2 * self.radius) ** 2

    @property
    def bytes_per_pixel(self) -> int:
        """Bytes of cached weights per output pixel: ``4 (2r)^2`` (16 for r = 1)."""
        return 4 * self.taps_per_pixel

    @property
    def weights(self) -> np.ndarray | None:
        """Cached normalised weights float32 ``[H, W, (2r)^2]`` (tap ``k = a * 2r + b`` reads row tap a, column tap b),
        or ``None`` in tiled mode."""
        return self._weights

    @property
    def row_taps(self) -> tuple[np.ndarray, np.ndarray]:
        """int32 grid-row indices ``[H, 2r]`` and float32 spatial weights ``[H, 2r]`` of every image row."""
        return self._row_idx, self._row_w

    @property
    def column_taps(self) -> tuple[np.ndarray, np.ndarray]:
        """int32 grid-column indices ``[W, 2r]`` and float32 spatial weights ``[W, 2r]`` of every image column."""
        return self._col_idx, self._col_w

    @property
    def nbytes(self) -> int:
        """Bytes this upsampler holds in its own tables (not counting the guide it references in tiled mode)."""
        tables = (self._row_idx, self._row_w, self._col_idx, self._col_w, self._guide_lo, self._weights)
        return sum(t.nbytes for t in tables if t is not None)

    def __repr__(self) -> str:
        mode = "cached" if self.cached else f"tiled ({self.tile_rows} rows)"
        return (f"EdgeAwareUpsampler(grid={self._grid_shape}, full={self._full_shape}, sigma_color={self.sigma_color}, "
                f"radius={self.radius}, {mode}, backend={self.backend!r})")

    # -- applying ---------------------------------------------------------------------------------------------------

    def apply(self, field: np.ndarray) -> np.ndarray:
        """Upsample float ``[C, h, w]`` (or ``[h, w]``) to float32 ``[C, H, W]`` (or ``[H, W]``); values unchanged."""
        return self.apply_rows(field, 0, self._full_shape[0])

    def apply_into(self, field: np.ndarray, out: np.ndarray) -> np.ndarray:
        """As :meth:`apply`, writing into ``out`` (float32, C-contiguous, ``[C, H, W]`` or ``[H, W]``); returns it."""
        return self.apply_rows(field, 0, self._full_shape[0], out)

    def apply_displacement(self, field: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Upsample a displacement float ``[2, h, w]`` in grid pixels to float32 ``[2, H, W]`` in image pixels.

        Component 0 (x) is multiplied by ``W / w`` and component 1 (y) by ``H / h``.
        """
        arr = np.asarray(field)
        if arr.ndim != 3 or arr.shape[0] != 2:
            raise InputError(f"apply_displacement: field must be a displacement [2, h, w] (x, y), "
                             f"got shape {arr.shape}.")
        (height, width), (h, w) = self._full_shape, self._grid_shape
        return self._apply(arr, 0, height, out, np.array([width / w, height / h], dtype=np.float32))

    def apply_rows(self, field: np.ndarray, y0: int, y1: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``y0:y1`` of :meth:`apply` (float32 ``[C, y1 - y0, W]``), so very large frames can be streamed in
        bands; in tiled mode only those rows' weights are computed."""
        return self._apply(field, y0, y1, out, None)

    def _apply(self, field: np.ndarray, y0: int, y1: int, out: np.ndarray | None,
               scales: np.ndarray | None) -> np.ndarray:
        arr = np.asarray(field)
        planar = arr.ndim == 2
        if planar:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1:] != self._grid_shape:
            raise InputError(f"EdgeAwareUpsampler: field must have shape [C, {self._grid_shape[0]}, "
                             f"{self._grid_shape[1]}] (the grid this upsampler was built for), got {np.shape(field)}.")
        height, width = self._full_shape
        if not (isinstance(y0, (int, np.integer)) and isinstance(y1, (int, np.integer)) and 0 <= y0 < y1 <= height):
            raise InputError(f"EdgeAwareUpsampler: row range must satisfy 0 <= y0 < y1 <= {height}, got {y0}:{y1}.")
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        channels = arr.shape[0]
        shape = (y1 - y0, width) if planar else (channels, y1 - y0, width)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float32
              or not out.flags.c_contiguous or not out.flags.writeable):
            raise InputError(f"EdgeAwareUpsampler: out must be a writable C-contiguous float32 array of shape "
                             f"{shape}, got {getattr(out, 'dtype', type(out).__name__)} {np.shape(out)}.")
        target = out[None] if planar else out  # always [C, rows, W] for the kernels
        if scales is None:
            scales = np.ones(channels, dtype=np.float32)
        gather = self._gather
        if self._weights is not None:
            with PARALLEL_LOCK:
                gather(arr, self._row_idx[y0:y1], self._col_idx, self._weights[y0:y1], scales, target, 0)
            return out
        buffer = np.empty((min(self.tile_rows, y1 - y0), width, self.taps_per_pixel), dtype=np.float32)
        for t0 in range(y0, y1, self.tile_rows):
            t1 = min(t0 + self.tile_rows, y1)
            weights = buffer[:t1 - t0]
            self._compute_weights(t0, t1, weights)
            with PARALLEL_LOCK:
                gather(arr, self._row_idx[t0:t1], self._col_idx, weights, scales, target, t0 - y0)
        return out

    # -- weights ----------------------------------------------------------------------------------------------------

    def _perceptual(self, values: np.ndarray) -> np.ndarray:
        """Guide values on the scale the range kernel compares: compressed if linear, else as given (made finite)."""
        if self.linear_guide:
            return compress_linear(values)
        values = np.asarray(values, dtype=np.float32)
        if not np.isfinite(values).all():
            values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0)
        return values

    def _compute_weights(self, y0: int, y1: int, out: np.ndarray) -> None:
        """Normalised weights of image rows ``y0:y1`` into ``out`` float32 ``[y1 - y0, W, (2r)^2]``."""
        assert self._guide is not None
        guide = np.ascontiguousarray(self._perceptual(self._guide[y0:y1]))
        kernel = _tile_weights_numba if self.backend == "numba" else _tile_weights_numpy
        with PARALLEL_LOCK:
            kernel(guide, self._guide_lo, self._row_idx[y0:y1], self._row_w[y0:y1], self._col_idx, self._col_w,
                   self._inv_two_sigma2, out)
