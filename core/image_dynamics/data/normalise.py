"""Per-frequency normalisation of spectral-volume coefficients, as in GID: divide by a scale, then signed square root.

The model sees coefficient channels ``[..., K, 4, H, W]`` (x.re, x.im, y.re, y.im per band, pixels; see
:mod:`image_dynamics.data.shards`) as ``n = sign(c) sqrt(|c| / scale_k)``; :func:`denormalise` inverts it exactly.

Which magnitudes set ``scale_k``: the absolute values of the four real channels of band k (``|x.re|``, ``|x.im|``,
``|y.re|``, ``|y.im|``, the very numbers the scale divides), pooled over every *moving* pixel of every sample: a pixel
whose largest channel over all bands exceeds ``min_motion`` pixels (1e-3). Static pixels are left out because they
are most of a scene and would drive the percentile of the faint high bands to zero. ``scale_k`` is the ``percentile``
(95th) of those values, so about 95 % of moving-pixel channel values land in ``[-1, 1]`` after normalising.
The percentile is read from a streaming histogram with log-spaced bins (0.25 % wide, interpolated within the bin), so
datasets far larger than memory are handled shard by shard and the same numbers come out for arrays and folders.
A band with no energy would get a scale of 0: scales are floored at ``max(1e-3 px, 1e-2 * largest scale)``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..errors import InputError
from .shards import DatasetInfo, coeffs_to_channels, iter_shards

FORMAT_VERSION = 1
DEFAULT_PERCENTILE = 95.0
MIN_MOTION = 1e-3  # pixels: a pixel moves when some channel of some band exceeds this
ABSOLUTE_FLOOR = 1e-3  # pixels
RELATIVE_FLOOR = 1e-2  # of the largest band scale
_LOG_LO, _LOG_HI, _BINS = -6.0, 4.0, 9216  # histogram over 1e-6 .. 1e4 px, 0.25 % per bin


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


class NormAccumulator:
    """Streams coefficient channels into per-band log histograms of moving-pixel magnitudes."""

    def __init__(self, num_bands: int) -> None:
        self.num_bands = int(num_bands)
        self.hist = np.zeros((self.num_bands, _BINS), dtype=np.int64)
        self.count = 0

    def add(self, channels: np.ndarray) -> None:
        """Add samples: float channels ``[N, K, 4, H, W]`` or ``[K, 4, H, W]`` (one sample)."""
        ch = np.asarray(channels)
        if ch.ndim == 4:
            ch = ch[None]
        if ch.ndim != 5 or ch.shape[1] != self.num_bands or ch.shape[2] != 4:
            raise ValueError(f"channels must be [N, {self.num_bands}, 4, H, W], got {ch.shape}")
        for sample in ch:
            mags = np.abs(sample.astype(np.float32))  # [K, 4, H, W]
            moving = mags.max(axis=(0, 1)) > MIN_MOTION  # [H, W]
            for k in range(self.num_bands):
                values = mags[k][:, moving].ravel()
                idx = _bin_index(values)
                self.hist[k] += np.bincount(idx, minlength=_BINS)
            self.count += 1

    def merge(self, other: NormAccumulator) -> None:
        """Add what ``other`` (of the same band count) accumulated, e.g. one sample's histogram from a worker."""
        if other.num_bands != self.num_bands:
            raise ValueError(f"cannot merge statistics of {other.num_bands} bands into {self.num_bands}")
        self.hist += other.hist
        self.count += other.count

    def result(self, percentile: float = DEFAULT_PERCENTILE, freqs_hz: np.ndarray | None = None) -> NormStats:
        if not 0.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (0, 100], got {percentile}")
        raw = np.array([_percentile_from_hist(h, percentile) for h in self.hist], dtype=np.float64)
        floor = max(ABSOLUTE_FLOOR, RELATIVE_FLOOR * float(raw.max(initial=0.0)))
        scales = np.maximum(raw, floor).astype(np.float32)
        freqs = np.zeros(self.num_bands, np.float32) if freqs_hz is None else np.asarray(freqs_hz, np.float32)
        return NormStats(float(percentile), freqs, scales, self.count, self.hist.sum(axis=1))


def _bin_index(values: np.ndarray) -> np.ndarray:
    logs = np.log10(np.maximum(values, 10.0 ** _LOG_LO))
    idx = ((logs - _LOG_LO) / (_LOG_HI - _LOG_LO) * _BINS).astype(np.int64)
    return np.clip(idx, 0, _BINS - 1)


def _percentile_from_hist(hist: np.ndarray, percentile: float) -> float:
    total = int(hist.sum())
    if total == 0:
        return 0.0
    target = percentile / 100.0 * total
    cum = np.cumsum(hist)
    b = int(np.searchsorted(cum, target, side="left"))
    before = cum[b - 1] if b > 0 else 0
    frac = (target - before) / max(int(hist[b]), 1)
    log = _LOG_LO + (b + float(np.clip(frac, 0.0, 1.0))) * (_LOG_HI - _LOG_LO) / _BINS
    return 10.0 ** log


def compute_norm_stats(info_or_arrays: DatasetInfo | np.ndarray, percentile: float = DEFAULT_PERCENTILE,
                       freqs_hz: np.ndarray | None = None) -> NormStats:
    """Per-frequency scales from a dataset folder's shards or from arrays in memory.

    Args:
        info_or_arrays: a :class:`DatasetInfo` (read shard by shard), real channels ``[N, K, 4, H, W]``, or complex
            coefficients ``[N, K, 2, H, W]``.
        percentile: percentile of moving-pixel channel magnitudes per band.
        freqs_hz: the band frequencies to record (taken from the dataset when given one).
    """
    if isinstance(info_or_arrays, DatasetInfo):
        info = info_or_arrays
        acc = NormAccumulator(info.num_bands)
        for shard in iter_shards(info):
            acc.add(shard["coeffs"])
        return acc.result(percentile, info.freqs_hz)
    arrays = np.asarray(info_or_arrays)
    if np.iscomplexobj(arrays):
        if arrays.ndim != 5 or arrays.shape[2] != 2:
            raise ValueError(f"complex coefficients must be [N, K, 2, H, W], got {arrays.shape}")
        arrays = coeffs_to_channels(arrays)
    if arrays.ndim != 5 or arrays.shape[2] != 4:
        raise ValueError(f"channels must be [N, K, 4, H, W], got {arrays.shape}")
    acc = NormAccumulator(arrays.shape[1])
    acc.add(arrays)
    return acc.result(percentile, freqs_hz)


def _band_scales(channels: np.ndarray, stats: NormStats) -> np.ndarray:
    if channels.ndim < 4 or channels.shape[-3] != 4 or channels.shape[-4] != stats.num_bands:
        raise InputError(f"coefficient channels of shape {channels.shape} do not match the normalisation statistics "
                         f"(expected [..., {stats.num_bands}, 4, H, W]). Use statistics computed for this model/data.")
    return stats.scales.astype(np.float32).reshape(-1, 1, 1, 1)


def normalise(channels: np.ndarray, stats: NormStats) -> np.ndarray:
    """float32 ``sign(c) * sqrt(|c| / scale_k)`` of channels ``[..., K, 4, H, W]`` (pixels)."""
    ch = np.asarray(channels, dtype=np.float32)
    scaled = ch / _band_scales(ch, stats)
    return (np.sign(scaled) * np.sqrt(np.abs(scaled))).astype(np.float32)


def denormalise(normalised: np.ndarray, stats: NormStats) -> np.ndarray:
    """Exact inverse of :func:`normalise`: float32 ``sign(n) * n^2 * scale_k`` in pixels."""
    n = np.asarray(normalised, dtype=np.float32)
    return (np.sign(n) * n * n * _band_scales(n, stats)).astype(np.float32)


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


def save_norm_stats(stats: NormStats, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write ``stats`` as JSON (replacing the file atomically unless ``overwrite`` is False)."""
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(norm_stats_to_json(stats))
    return path


def load_norm_stats(path: str | os.PathLike) -> NormStats:
    """Read statistics written by :func:`save_norm_stats`; raise :class:`InputError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: normalisation statistics not found. Recompute them with compute_norm_stats "
                         "(they are written beside the data by `image-dynamics data synth`).")
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: unreadable normalisation statistics ({exc.strerror}).") from None
    return norm_stats_from_json(text, str(path))
