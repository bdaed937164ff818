"""Compiled (numba) kernels of the live preview: the splat weight of an edit, and frames in a host's pixel layout.

- :func:`mean_magnitude`: GID's splat weight ``W(p) = mean_t |a_t(p)|`` on the motion grid straight from the unedited
  coefficients and per-time weights, in one pass that keeps each pixel block's coefficients in cache and never stores
  a displacement field (the engine's :func:`image_dynamics.spectral.mean_motion_magnitude` stores 16 fields at a
  time and sums them with numpy: same values up to float32 rounding, 5-10x slower);
- :func:`pack_rgba_bottom_up`: an engine frame (top-down, 3 or 4 channels) as the rows-bottom-up RGBA float32 layout
  of Blender's ``Image.pixels`` (and OpenGL textures), alpha 1 for RGB, optionally premultiplied.

Arrays are validated by the callers (:mod:`image_dynamics.preview`); every kernel assumes C-contiguous float32 input.
Callers hold :data:`image_dynamics.render.PARALLEL_LOCK` around them (numba's parallel layer).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

#: Grid pixels per block of :func:`mean_magnitude` (its coefficients, 2K x 2 x block floats, stay in L2 cache).
BLOCK = 512


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def mean_magnitude(time_weights, stacked, out):  # pragma: no cover - compiled; tested through its callers
    """``out[p] = mean_t sqrt(ax_t(p)^2 + ay_t(p)^2)`` with ``a_t = time_weights[t] @ stacked``.

    Vectorised across the pixels of a block (``fastmath``: the order of float32 sums may change, not their terms).

    Args:
        time_weights: float32 ``[T, J]`` (J = 2K: real parts' weights, then imaginary parts').
        stacked: float32 ``[J, 2, n]``: the coefficients, x plane then y plane of the n grid pixels.
        out: float32 ``[n]``, written.
    """
    samples, terms = time_weights.shape
    n = out.size
    blocks = (n + BLOCK - 1) // BLOCK
    for block in prange(blocks):
        start = block * BLOCK
        stop = min(n, start + BLOCK)
        size = stop - start
        ax = np.empty(size, dtype=np.float32)
        ay = np.empty(size, dtype=np.float32)
        total = np.zeros(size, dtype=np.float64)
        for t in range(samples):
            ax[:] = 0.0
            ay[:] = 0.0
            for j in range(terms):
                w = time_weights[t, j]
                sx = stacked[j, 0, start:stop]
                sy = stacked[j, 1, start:stop]
                for i in range(size):
                    ax[i] += w * sx[i]
                    ay[i] += w * sy[i]
            for i in range(size):
                total[i] += math.sqrt(ax[i] * ax[i] + ay[i] * ay[i])
        for i in range(size):
            out[start + i] = np.float32(total[i] / max(samples, 1))


@njit(cache=True, parallel=True, nogil=True)
def pack_rgba_bottom_up(frame, out, premultiply):  # pragma: no cover - compiled; tested through its callers
    """``out[H-1-y, x] = frame[y, x]`` as RGBA: alpha 1 for 3 channels; colour times alpha when ``premultiply``.

    Args:
        frame: float32 ``[H, W, C]``, C = 3 or 4 (straight alpha), rows top-down.
        out: float32 ``[H, W, 4]``, written, rows bottom-up.
        premultiply: multiply colour by alpha (Blender's float buffers hold premultiplied alpha).
    """
    height, width, channels = frame.shape
    for y in prange(height):
        row = height - 1 - y
        for x in range(width):
            alpha = frame[y, x, 3] if channels == 4 else np.float32(1.0)
            scale = alpha if premultiply else np.float32(1.0)
            out[row, x, 0] = frame[y, x, 0] * scale
            out[row, x, 1] = frame[y, x, 1] * scale
            out[row, x, 2] = frame[y, x, 2] * scale
            out[row, x, 3] = alpha
