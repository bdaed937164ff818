"""Does a motion predictor see motion in appearance? Metrics on a held-out set with known motion (numpy only).

A *predictor* is any function ``predict(images uint8 [B, H, W, 3], seed) -> coeffs complex64 [B, K, 2, H, W]``
(pixels of the image grid): the diffusion model through torch or onnxruntime, the regression baseline, or the two
trivial baselines below. Metrics (docs/conventions.md motion energy ``E(p) = sum_k |S_k,x|^2 + |S_k,y|^2``
over bands with f > 0):

- ``energy_corr``: Pearson correlation of predicted and true ``E`` over the pixels of each image, averaged over images
  (a constant map scores 0);
- ``moving_auc``: area under the ROC curve of predicted ``E`` for separating moving pixels (true RMS motion above
  ``MOVING_RMS_PX``) from static ones, pooled over the set;
- ``band_log_power_err``: mean over bands and images of ``|log10 P_pred,k - log10 P_true,k|`` with ``P_k`` the image's
  mean power in band k (does it put energy at the right frequencies);
- ``psnr_db``: PSNR of frames rendered by the engine with the predicted motion against the true frames of the scene
  (synthetic sets only), averaged over a few frame times;
and, because samples are stochastic, each metric's mean and standard deviation over seeds. Pixels whose true motion
a held-out set marks unknown (a shard's ``known`` array) are left out of the first three metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .data.shards import DatasetInfo, iter_shards
from .normalisation import channels_to_coeffs

Predictor = Callable[[np.ndarray, int], np.ndarray]
#: A pixel "moves" when its RMS displacement over the loop exceeds this (pixels); energy = 2 * rms^2 per bands sum.
MOVING_RMS_PX = 0.1
#: Power floor for log-power errors (px^2): below visible motion, all values are equally "none".
POWER_FLOOR = 1e-6
PSNR_TIMES = (15.0, 40.0, 75.0, 110.0)


def motion_energy(coeffs: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """``E`` float64 ``[B, H, W]`` from coefficients ``[B, K, 2, H, W]``, bands with f > 0 only."""
    moving = np.asarray(freqs_hz) > 0
    return (np.abs(coeffs[:, moving]) ** 2).sum(axis=(1, 2)).astype(np.float64)


def cell_mean(energy: np.ndarray, cell: int) -> np.ndarray:
    """``[B, H, W]`` maps replaced by their means over ``cell`` x ``cell`` blocks (H, W divisible by ``cell``): what a
    predictor that knows them only at that resolution could say (diagnostics of the energy correlation)."""
    b, h, w = energy.shape
    means = energy.reshape(b, h // cell, cell, w // cell, cell).mean(axis=(2, 4))
    return np.repeat(np.repeat(means, cell, axis=1), cell, axis=2)


def pearson_per_image(pred: np.ndarray, true: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    """Correlation over pixels for each image ``[B]``; 0 where either map is constant. ``known`` bool ``[B, H, W]``:
    only those pixels count."""
    p = pred.reshape(len(pred), -1).astype(np.float64)
    t = true.reshape(len(true), -1).astype(np.float64)
    w = np.ones_like(p) if known is None else known.reshape(len(known), -1).astype(np.float64)
    n = np.maximum(w.sum(axis=1, keepdims=True), 1.0)
    p = (p - (p * w).sum(axis=1, keepdims=True) / n) * w
    t = (t - (t * w).sum(axis=1, keepdims=True) / n) * w
    denom = np.sqrt((p * p).sum(axis=1) * (t * t).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (p * t).sum(axis=1) / denom
    return np.where(denom > 0, r, 0.0)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with ties averaged); 0.5 when one class is missing."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def band_log_power_error(pred: np.ndarray, true: np.ndarray, freqs_hz: np.ndarray,
                         known: np.ndarray | None = None) -> np.ndarray:
    """``|log10 P_pred - log10 P_true|`` per image and band ``[B, K']`` (bands with f > 0); with ``known`` bool
    ``[B, H, W]`` the mean powers are over known pixels only."""
    moving = np.asarray(freqs_hz) > 0
    pp = (np.abs(pred[:, moving]) ** 2).sum(axis=2)  # [B, K', H, W]
    tp = (np.abs(true[:, moving]) ** 2).sum(axis=2)
    if known is None:
        p, t = pp.mean(axis=(2, 3)), tp.mean(axis=(2, 3))
    else:
        w = known[:, None].astype(np.float64)
        area = np.maximum(w.sum(axis=(2, 3)), 1.0)
        p, t = (pp * w).sum(axis=(2, 3)) / area, (tp * w).sum(axis=(2, 3)) / area
    return np.abs(np.log10(p + POWER_FLOOR) - np.log10(t + POWER_FLOOR))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (peak 255)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def render_psnr(image: np.ndarray, coeffs: np.ndarray, true_frames: np.ndarray, freqs_hz: np.ndarray, fps: float,
                window_frames: int, times: Sequence[float] = PSNR_TIMES) -> float:
    """Mean PSNR of engine frames under ``coeffs`` ``[K, 2, H, W]`` against ``true_frames`` uint8 ``[N, H, W, 3]``."""
    from . import spectral
    from .frames import FrameRenderer

    motion = spectral.make(coeffs, freqs_hz, fps, {"window_frames": window_frames})
    renderer = FrameRenderer(image.astype(np.float32) / 255.0, motion)
    values = []
    for frame, truth in zip(renderer.frames(np.asarray(times, dtype=np.float64)), true_frames):
        values.append(psnr((np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8), truth))
    return float(np.mean(values))


@dataclass
class TestSet:
    """A held-out set in memory: images uint8 ``[N, H, W, 3]``, true coeffs complex64 ``[N, K, 2, H, W]``."""

    images: np.ndarray
    coeffs: np.ndarray
    sample_ids: np.ndarray
    freqs_hz: np.ndarray
    fps: float
    window_frames: int
    source: str
    true_frames: dict[int, np.ndarray] = field(default_factory=dict)
    known: np.ndarray | None = None  #: bool [N, H, W], where the true motion is known (None: everywhere)


def load_test_set(info: DatasetInfo, limit: int | None = None, psnr_samples: int = 0) -> TestSet:
    """Read up to ``limit`` samples; for synthetic sets render the true frames of the first ``psnr_samples``."""
    images, coeffs, ids, known = [], [], [], []
    for shard in iter_shards(info):
        images.append(shard["images"])
        coeffs.append(channels_to_coeffs(shard["coeffs"]))
        ids.append(shard["sample_ids"])
        known.append(None if "known" not in shard else np.asarray(shard["known"]) != 0)
        if limit is not None and sum(len(i) for i in images) >= limit:
            break
    masks = None
    if any(k is not None for k in known):
        masks = np.concatenate([np.ones(i.shape[:3], bool) if k is None else k for i, k in zip(images, known)])[:limit]
    data = TestSet(np.concatenate(images)[:limit], np.concatenate(coeffs)[:limit], np.concatenate(ids)[:limit],
                   info.freqs_hz, info.fps, info.window_frames, info.source, known=masks)
    if psnr_samples and info.source.startswith("synth"):
        from .data.synth import render_sample

        for i in range(min(psnr_samples, len(data.images))):
            sample = render_sample(int(data.sample_ids[i]), info.width, info.height)
            data.true_frames[i] = sample.frames(np.asarray(PSNR_TIMES))
    return data


def evaluate(predict: Predictor, data: TestSet, seeds: Sequence[int] = (0,), batch: int = 8,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """All metrics for one predictor: per seed, then mean and std over seeds."""
    per_seed = []
    total = len(seeds) * len(data.images)
    done = 0
    for seed in seeds:
        preds = []
        for start in range(0, len(data.images), batch):
            preds.append(np.asarray(predict(data.images[start:start + batch], int(seed)), dtype=np.complex64))
            done += len(preds[-1])
            if progress is not None:
                progress(done, total)
        pred = np.concatenate(preds)
        e_pred, e_true = motion_energy(pred, data.freqs_hz), motion_energy(data.coeffs, data.freqs_hz)
        moving = e_true > 2 * MOVING_RMS_PX ** 2
        known = data.known  # unknown pixels are in no metric (PSNR compares whole frames)
        metrics = {
            "energy_corr": float(pearson_per_image(e_pred, e_true, known).mean()),
            "moving_auc": roc_auc(e_pred, moving) if known is None else roc_auc(e_pred[known], moving[known]),
            "band_log_power_err": float(band_log_power_error(pred, data.coeffs, data.freqs_hz, known).mean()),
        }
        if data.true_frames:
            metrics["psnr_db"] = float(np.mean([render_psnr(data.images[i], pred[i], frames, data.freqs_hz, data.fps,
                                                            data.window_frames)
                                                for i, frames in data.true_frames.items()]))
        per_seed.append(metrics)
    keys = per_seed[0].keys()
    return {"seeds": list(map(int, seeds)), "per_seed": per_seed,
            "mean": {k: float(np.mean([m[k] for m in per_seed])) for k in keys},
            "std": {k: float(np.std([m[k] for m in per_seed])) for k in keys}}


def format_metric(result: dict, key: str) -> str:
    """``"mean +- std"`` of metric ``key`` of an :func:`evaluate` result for a report table, or ``"not measured"``
    where the metric was not computed (``psnr_db`` without ``--psnr-samples``): never a NaN that looks like a result."""
    mean = result["mean"].get(key)
    if mean is None or not np.isfinite(mean):
        return "not measured"
    return f"{mean:9.3f} +- {result['std'].get(key, 0.0):6.3f}"


# ----------------------------------------------------------------------------------------------------------------------
# Baselines


def zero_motion(num_bands: int) -> Predictor:
    """Predicts no motion at all (the rendered video repeats the input frame)."""

    def predict(images: np.ndarray, seed: int) -> np.ndarray:
        b, h, w = images.shape[:3]
        return np.zeros((b, num_bands, 2, h, w), np.complex64)

    return predict


def mean_spectrum(train_coeffs: np.ndarray) -> Predictor:
    """Predicts the training set's mean magnitude per band and component at every pixel (zero phase).

    ``train_coeffs`` complex ``[N, K, 2, H, W]``; the mean of complex values would be ~0 (random phases), so the mean
    magnitude is the informative constant.
    """
    profile = np.abs(train_coeffs).mean(axis=(0, 3, 4)).astype(np.complex64)  # [K, 2]

    def predict(images: np.ndarray, seed: int) -> np.ndarray:
        b, h, w = images.shape[:3]
        return np.broadcast_to(profile[None, :, :, None, None], (b, *profile.shape, h, w)).copy()

    return predict
