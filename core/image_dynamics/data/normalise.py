"""Normalisation statistics of a dataset: per-band streaming histograms of moving-pixel coefficient magnitudes.

What the statistics mean and how coefficients are normalised with them is :mod:`image_dynamics.normalisation`; this
module computes them over data far larger than memory (shard by shard) and reads and writes their JSON file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..errors import InputError
from ..normalisation import (  # noqa: F401 (the statistics' type and maths, used through this module by training)
    ABSOLUTE_FLOOR,
    DEFAULT_PERCENTILE,
    MIN_MOTION,
    RELATIVE_FLOOR,
    NormStats,
    coeffs_to_channels,
    denormalise,
    norm_stats_from_json,
    norm_stats_to_json,
    normalise,
    same_normalisation,
)
from .shards import DatasetInfo, iter_shards

_LOG_LO, _LOG_HI, _BINS = -6.0, 4.0, 9216  # histogram over 1e-6 .. 1e4 px, 0.25 % per bin


class NormAccumulator:
    """Streams coefficient channels into per-band log histograms of moving-pixel magnitudes."""

    def __init__(self, num_bands: int) -> None:
        self.num_bands = int(num_bands)
        self.hist = np.zeros((self.num_bands, _BINS), dtype=np.int64)
        self.count = 0

    def add(self, channels: np.ndarray, known: np.ndarray | None = None) -> None:
        """Add samples: float channels ``[N, K, 4, H, W]`` or ``[K, 4, H, W]`` (one sample).

        ``known``: optional ``[N, H, W]`` (or ``[H, W]``) mask, nonzero where the motion is known; pixels whose motion
        is unknown are left out (a shard without the mask counts as all known).
        """
        ch = np.asarray(channels)
        if ch.ndim == 4:
            ch = ch[None]
        if ch.ndim != 5 or ch.shape[1] != self.num_bands or ch.shape[2] != 4:
            raise ValueError(f"channels must be [N, {self.num_bands}, 4, H, W], got {ch.shape}")
        if known is not None:
            known = np.asarray(known)
            known = known[None] if known.ndim == 2 else known
            if known.shape != (ch.shape[0], *ch.shape[3:]):
                raise ValueError(f"known must be [{ch.shape[0]}, {ch.shape[3]}, {ch.shape[4]}], got {known.shape}")
        for i, sample in enumerate(ch):
            mags = np.abs(sample.astype(np.float32))  # [K, 4, H, W]
            moving = mags.max(axis=(0, 1)) > MIN_MOTION  # [H, W]
            if known is not None:
                moving &= known[i] != 0
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

    @classmethod
    def mixture(cls, parts: list[NormAccumulator], weights: list[float]) -> NormAccumulator:
        """The statistics of a weighted mixture of datasets: each part's histogram counts as its share of samples,
        ``weights[i]`` (normalised to sum 1) per sample of part ``i`` rather than its own size, so the percentile is
        the one of the mixture training draws from. Counts are rescaled to integers (the total of all parts' values,
        at least 2^40), which moves no percentile by more than the histogram's own rounding."""
        if not parts or len(parts) != len(weights):
            raise ValueError("give one weight per part, and at least one part")
        if any(p.num_bands != parts[0].num_bands for p in parts):
            raise ValueError("cannot mix statistics of different band counts")
        w = np.asarray(weights, dtype=np.float64)
        if np.any(w <= 0) or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be positive, got {weights}")
        w = w / w.sum()
        mixed = np.zeros_like(parts[0].hist, dtype=np.float64)
        for part, share in zip(parts, w):
            if part.count:
                mixed += part.hist * (share / part.count)
        total = max(float(sum(p.hist.sum() for p in parts)), 2.0 ** 40)
        out = cls(parts[0].num_bands)
        out.hist = np.rint(mixed * (total / max(mixed.sum(axis=1).max(), 1e-300))).astype(np.int64)
        out.count = int(sum(p.count for p in parts))
        return out

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
            acc.add(shard["coeffs"], shard.get("known"))
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
