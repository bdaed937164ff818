"""The coefficient representation the motion model sees: channel packing, and per-frequency normalisation of
spectral-volume coefficients as in GID: divide by a scale, then signed square root.

The model sees coefficient channels ``[..., K, 4, H, W]`` (x.re, x.im, y.re, y.im per band, pixels; see
:func:`coeffs_to_channels`) as ``n = sign(c) sqrt(|c| / scale_k)``; :func:`denormalise` inverts it exactly.

Which magnitudes set ``scale_k``: the absolute values of the four real channels of band k (``|x.re|``, ``|x.im|``,
``|y.re|``, ``|y.im|``, the very numbers the scale divides), pooled over every *moving* pixel of every sample: a pixel
whose largest channel over all bands exceeds ``min_motion`` pixels (1e-3). Static pixels are left out because they
are most of a scene and would drive the percentile of the faint high bands to zero. ``scale_k`` is the ``percentile``
(95th) of those values, so about 95 % of moving-pixel channel values land in ``[-1, 1]`` after normalising.
The percentile is read from a streaming histogram with log-spaced bins (0.25 % wide, interpolated within the bin), so
datasets far larger than memory are handled shard by shard and the same numbers come out for arrays and folders.
A band with no energy would get a scale of 0: scales are floored at ``max(1e-3 px, 1e-2 * largest scale)``.

Shared by the inference runtime (:mod:`image_dynamics.model`) and training (:mod:`image_dynamics.train`); computing the
statistics over a dataset lives with the data (:mod:`image_dynamics.data.normalise`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError

FORMAT_VERSION = 1
DEFAULT_PERCENTILE = 95.0
MIN_MOTION = 1e-3  # pixels: a pixel moves when some channel of some band exceeds this
ABSOLUTE_FLOOR = 1e-3  # pixels
RELATIVE_FLOOR = 1e-2  # of the largest band scale


def coeffs_to_channels(coeffs: np.ndarray) -> np.ndarray:
    """complex ``[..., K, 2, H, W]`` -> float ``[..., K, 4, H, W]`` as (x.re, x.im, y.re, y.im)."""
    stacked = np.stack([coeffs.real, coeffs.imag], axis=-3)  # [..., K, 2, 2(re/im), H, W]
    return stacked.reshape(*coeffs.shape[:-3], 4, *coeffs.shape[-2:])


def channels_to_coeffs(channels: np.ndarray) -> np.ndarray:
    """float ``[..., K, 4, H, W]`` -> complex64 ``[..., K, 2, H, W]`` (inverse of :func:`coeffs_to_channels`)."""
    ch = np.asarray(channels, dtype=np.float32)
    pairs = ch.reshape(*ch.shape[:-3], 2, 2, *ch.shape[-2:])
    return (pairs[..., 0, :, :] + 1j * pairs[..., 1, :, :]).astype(np.complex64)


@dataclass(frozen=True, eq=False)
class NormStats:
    """Per-frequency normalisation scales.

    Attributes:
        percentile: which percentile of moving-pixel channel magnitudes set the scales (95 as in GID).
        freqs_hz: float32 ``[K]``, the band frequencies the scales belong to.
        scales: float32 ``[K]``, pixels, floored so none is 0.
        count: how many samples the statistics were computed over.
        values: int64 ``[K]``, how many channel values of moving pixels went into each band's percentile.
    """

    percentile: float
    freqs_hz: np.ndarray
    scales: np.ndarray
    count: int
    values: np.ndarray

    @property
    def num_bands(self) -> int:
        return int(self.scales.shape[0])


def _band_scales(channels: np.ndarray, stats: NormStats) -> np.ndarray:
    if channels.ndim < 4 or channels.shape[-3] != 4 or channels.shape[-4] != stats.num_bands:
        raise InputError(f"coefficient channels of shape {channels.shape} do not match the normalisation statistics "
                         f"(expected [..., {stats.num_bands}, 4, H, W]). Use statistics computed for this model/data.")
    return stats.scales.astype(np.float32).reshape(-1, 1, 1, 1)


def signed_sqrt(scaled: np.ndarray) -> np.ndarray:
    """float32 ``sign(x) * sqrt(|x|)``: the compression :func:`normalise` applies after dividing by the band scale."""
    x = np.asarray(scaled, dtype=np.float32)
    return (np.sign(x) * np.sqrt(np.abs(x))).astype(np.float32)


def signed_square(normalised: np.ndarray) -> np.ndarray:
    """float32 ``sign(n) * n^2``, the inverse of :func:`signed_sqrt`: normalised channels in units of their band
    scale, linear in pixels (so they can be interpolated or scaled without the statistics)."""
    n = np.asarray(normalised, dtype=np.float32)
    return (np.sign(n) * n * n).astype(np.float32)


def normalise(channels: np.ndarray, stats: NormStats) -> np.ndarray:
    """float32 ``sign(c) * sqrt(|c| / scale_k)`` of channels ``[..., K, 4, H, W]`` (pixels)."""
    ch = np.asarray(channels, dtype=np.float32)
    return signed_sqrt(ch / _band_scales(ch, stats))


def denormalise(normalised: np.ndarray, stats: NormStats) -> np.ndarray:
    """Exact inverse of :func:`normalise`: float32 ``sign(n) * n^2 * scale_k`` in pixels."""
    n = np.asarray(normalised, dtype=np.float32)
    return (signed_square(n) * _band_scales(n, stats)).astype(np.float32)


def norm_stats_to_json(stats: NormStats) -> str:
    """The JSON text of ``stats`` (what :func:`save_norm_stats` writes; checkpoints and model packages embed it)."""
    doc = {
        "format_version": FORMAT_VERSION,
        "method": "scale_k = percentile of |x.re|, |x.im|, |y.re|, |y.im| of band k over moving pixels; "
                  "normalised = sign(c) * sqrt(|c| / scale_k)",
        "percentile": stats.percentile,
        "freqs_hz": [float(f) for f in stats.freqs_hz],
        "scales": [float(s) for s in stats.scales],
        "count": int(stats.count),
        "values": [int(v) for v in stats.values],
        "min_motion_px": MIN_MOTION,
        "floor_px": [ABSOLUTE_FLOOR, RELATIVE_FLOOR],
    }
    return json.dumps(doc, indent=1)


def norm_stats_from_json(text: str, where: str = "normalisation statistics") -> NormStats:
    """Parse and check statistics from JSON text; raise :class:`InputError` naming ``where`` and what is wrong."""
    redo = "Recompute them with compute_norm_stats (they are written beside the data by `image-dynamics data synth`)."
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: unreadable normalisation statistics ({exc}). {redo}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: normalisation statistics must be a JSON object. {redo}")
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(f"{where}: statistics format {doc.get('format_version')} is newer than this program reads "
                         f"({FORMAT_VERSION}). Update image-dynamics.")
    try:
        scales = np.asarray(doc["scales"], dtype=np.float32)
        freqs = np.asarray(doc["freqs_hz"], dtype=np.float32)
        percentile, count = float(doc["percentile"]), int(doc["count"])
        values = np.asarray(doc.get("values", [0] * scales.size), dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: normalisation statistics miss or garble a field ({exc}). {redo}") from None
    if scales.ndim != 1 or scales.size == 0 or freqs.shape != scales.shape or values.shape != scales.shape:
        raise InputError(f"{where}: 'scales', 'freqs_hz' and 'values' must be lists of the same length K > 0. {redo}")
    if not np.all(np.isfinite(scales)) or np.any(scales <= 0) or not math.isfinite(percentile):
        raise InputError(f"{where}: every scale must be a positive number, got {scales.tolist()}. {redo}")
    return NormStats(percentile, freqs, scales, count, values)


def same_normalisation(a: NormStats, b: NormStats, rtol: float = 2e-3) -> bool:
    """Whether ``a`` and ``b`` normalise alike: same percentile and bands, every scale within ``rtol``.

    The same dataset regenerated under another numpy or OpenCV (float rounding in the scene code) has scales that
    differ in the fourth digit (up to 5e-4 relative was seen); a model does not notice that, other data would differ
    far more.
    """
    return (a.percentile == b.percentile and a.scales.shape == b.scales.shape
            and np.allclose(a.freqs_hz, b.freqs_hz, rtol=0, atol=1e-6)
            and np.allclose(a.scales, b.scales, rtol=rtol, atol=0))
