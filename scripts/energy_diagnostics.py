"""Why is the energy correlation what it is? Splits `eval`'s energy correlation into "where" and "how much".

Usage: .venv/bin/python scripts/energy_diagnostics.py --data DATA/test [--model default] [--count 32] [--seeds 0,1]
Prints (and with --json writes) for the model on the first ``count`` held-out scenes:

- ``energy_corr``: eval's metric (per-image Pearson of predicted and true ``E``, mean over images and seeds);
- ``corr_within_moving``: the same over truly moving pixels only: does it know *how much* each moving pixel moves?
- ``corr_if_where_were_exact``: its prediction set to 0 outside the truly moving pixels;
- ``corr_sqrt_energy`` / ``corr_log_energy``: Pearson of RMS amplitude and of log energy (less ruled by the tails);
- ``seed_to_seed_corr``: how alike two samples are (a perfect sampler scores the same against the truth);
- ``corr_mean_over_seeds``: the energy averaged over the seeds against the truth;
and, from the truth alone, what a predictor that knew the true energy only as means over c x c pixel cells would
score (``ceiling_cell_{c}px``), and the median share of an image's energy variance held by its top 1 % of pixels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from image_dynamics.data.shards import read_info
from image_dynamics.evaluation import MOVING_RMS_PX, cell_mean, load_test_set, motion_energy, pearson_per_image
from image_dynamics.model.predict import package_predictor

CELLS = (2, 4, 8)


def pearson_within(pred: np.ndarray, true: np.ndarray, mask: np.ndarray, min_pixels: int = 50) -> float:
    """Mean over images of the Pearson correlation over the pixels of ``mask`` (images with fewer are skipped)."""
    r = [np.corrcoef(p[m], t[m])[0, 1] for p, t, m in zip(pred, true, mask) if m.sum() >= min_pixels]
    return float(np.nanmean(r)) if r else float("nan")


def top_share(energy: np.ndarray, fraction: float = 0.01) -> float:
    """Median over images of the share of ``sum (E - mean)^2`` held by the top ``fraction`` of pixels."""
    shares = []
    for e in energy.reshape(len(energy), -1):
        dev = np.sort(e)[::-1] - e.mean()
        total = (dev ** 2).sum()
        if total > 0:
            shares.append((dev[:max(1, int(len(dev) * fraction))] ** 2).sum() / total)
    return float(np.median(shares))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="held-out dataset folder")
    ap.add_argument("--model", default="default", help="model package name or folder")
    ap.add_argument("--count", type=int, default=32, help="scenes (the first ones of the set)")
    ap.add_argument("--seeds", default="0,1", help="sampling seeds, comma-separated (two or more for seed figures)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    data = load_test_set(read_info(args.data), limit=args.count)
    true = motion_energy(data.coeffs, data.freqs_hz)
    moving = true > 2 * MOVING_RMS_PX ** 2
    predict = package_predictor(args.model)
    seeds = [int(s) for s in args.seeds.split(",")]
    preds = [motion_energy(np.concatenate([predict(data.images[i:i + 8], s) for i in range(0, len(true), 8)]),
                           data.freqs_hz) for s in seeds]

    def per_seed(score) -> float:
        return float(np.mean([score(p) for p in preds]))

    report = {
        "scenes": len(true), "seeds": seeds,
        "energy_corr": per_seed(lambda p: pearson_per_image(p, true).mean()),
        "corr_within_moving": per_seed(lambda p: pearson_within(p, true, moving)),
        "corr_if_where_were_exact": per_seed(lambda p: pearson_per_image(p * moving, true).mean()),
        "corr_sqrt_energy": per_seed(lambda p: pearson_per_image(np.sqrt(p), np.sqrt(true)).mean()),
        "corr_log_energy": per_seed(lambda p: pearson_per_image(np.log10(p + 1e-3), np.log10(true + 1e-3)).mean()),
        "top1pct_variance_share": top_share(true),
        **{f"ceiling_cell_{c}px": float(pearson_per_image(cell_mean(true, c), true).mean()) for c in CELLS},
    }
    if len(preds) > 1:
        pairs = [(i, j) for i in range(len(preds)) for j in range(i)]
        report["seed_to_seed_corr"] = float(np.mean([pearson_per_image(preds[i], preds[j]).mean() for i, j in pairs]))
        report["corr_mean_over_seeds"] = float(pearson_per_image(np.mean(preds, axis=0), true).mean())
    for key, value in report.items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
