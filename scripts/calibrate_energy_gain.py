"""Fit the motion-energy network's calibration gain on rendered data: how much more the scenes truly move than it says.

Usage: .venv/bin/python scripts/calibrate_energy_gain.py MODEL --data DIR[:WEIGHT] [--data ...] [--threads 2]
       [--json OUT] [--out MODEL_FILE]

MODEL is anything :func:`image_dynamics.train.loop.load_motion_model` reads (a run's ``model.pt``, a snapshot, a
package folder). Each dataset's scenes go through the energy network (with the gain the model already carries); over
every known pixel the mean true energy ``T_d`` and mean predicted energy ``P_d`` of the bands above 0 Hz are summed
(squared grid pixels), and the printed gain is

    g = model's gain * sum_d w_d T_d / sum_d w_d P_d,

the one scalar that makes the network's mean energy over the mixture (each dataset weighted as ``train`` draws it) the
data's. Why a scalar, and why the mean: the network is trained with a log-space L1 that aims at the median of what
alike-looking scenes do, and on a mixture whose 2-D synthetic scenes move 5-10x less than the renders, so it says a
fraction of the motion of the rendered world (release 6: a ninth of its own training renders' energy). One gain on
every band of every pixel leaves every AUC, every per-image correlation and every ratio of two pictures' motion as they
were; only how much things move changes. Fit it on renders (photographs have no known motion) that the model was
trained on or that are held out from nothing else: never on a set used to score it.

``image-dynamics export --energy-gain G`` (``energy.gain`` in the package's ``model.json``) applies it; ``--out``
writes MODEL as a model file carrying the gain, rounded to 3 significant digits as rule r30 has it, for scoring
candidates calibrated (``scripts/specimen_candidates.sh``, run RL11).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import torch

from image_dynamics.data.shards import iter_shards, known_mask, read_info
from image_dynamics.evaluation import motion_energy
from image_dynamics.model.processing import ENERGY_GAIN_RANGE
from image_dynamics.normalisation import channels_to_coeffs
from image_dynamics.train.data import parse_data_spec
from image_dynamics.train.loop import load_motion_model
from image_dynamics.train.model import MotionModel


@dataclass(frozen=True)
class DatasetEnergy:
    """One dataset's mean moving energies over its known pixels (squared grid pixels) and its mixture weight."""

    name: str
    weight: float
    mean_true: float
    mean_pred: float
    known_pixels: int
    #: per family (a scene's ``kinds``): the median over its scenes of true / predicted mean moving energy, how far
    #: one picture's level is off (a scalar gain can only fit these if they agree)
    family_ratios: dict[str, float]


def rounded_gain(gain: float) -> float:
    """The gain as a model or package records it: 3 significant digits (rule r30; more would claim a precision the
    fit over a few hundred scenes does not have)."""
    return float(f"{gain:.3g}")


def mixture_gain(datasets: list[DatasetEnergy]) -> float:
    """``sum_d w_d T_d / sum_d w_d P_d``: the factor that makes the weighted mean predicted energy the true one."""
    true = sum(d.weight * d.mean_true for d in datasets)
    pred = sum(d.weight * d.mean_pred for d in datasets)
    if not pred > 0:
        raise ValueError("the network predicts no motion on this data; a gain cannot be fitted")
    return true / pred


def dataset_energy(model: MotionModel, folder: str, weight: float, batch: int = 8) -> DatasetEnergy:
    """Mean true and predicted moving energy over every known pixel of every scene in ``folder``."""
    info = read_info(folder)
    sum_true = sum_pred = 0.0
    count = 0
    ratios: dict[str, list[float]] = {}
    freqs = np.asarray(info.freqs_hz)
    for shard in iter_shards(info):
        known = np.asarray(known_mask(shard)) != 0  # bool [n, H, W]
        true = motion_energy(channels_to_coeffs(shard["coeffs"]), freqs)  # [n, H, W]
        kinds = shard["kinds"] if "kinds" in shard else np.full(len(true), "")
        for start in range(0, len(true), batch):
            images = torch.from_numpy(shard["images"][start:start + batch]).permute(0, 3, 1, 2).float() / 255.0
            pred = np.asarray(model.band_energy(images), np.float64)[:, freqs > 0].sum(axis=1)  # [b, H, W]
            for j, mask in enumerate(known[start:start + batch]):
                scene_true, scene_pred = float(true[start + j][mask].sum()), float(pred[j][mask].sum())
                sum_true, sum_pred, count = sum_true + scene_true, sum_pred + scene_pred, count + int(mask.sum())
                if scene_pred > 0 and mask.any():
                    ratios.setdefault(str(kinds[start + j]), []).append(scene_true / scene_pred)
    if count == 0:
        raise ValueError(f"{folder}: no known pixels")
    return DatasetEnergy(str(folder), weight, sum_true / count, sum_pred / count, count,
                         {kind: float(np.median(r)) for kind, r in sorted(ratios.items())})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", action="append", required=True, metavar="DIR[:WEIGHT]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument("--out", help="write MODEL with the fitted gain here (a model file, as a run's model.pt)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_motion_model(args.model).eval()
    rows = []
    for entry in args.data:
        folder, weight = parse_data_spec(entry)  # as `train --data` reads it
        row = dataset_energy(model, str(folder), weight)
        rows.append(row)
        print(f"{folder}: weight {weight:g}, true {row.mean_true:.4f}, predicted {row.mean_pred:.4f} px^2 "
              f"(x{row.mean_true / max(row.mean_pred, 1e-12):.2f}), {row.known_pixels} known pixels")
        families = ", ".join(f"{kind or '-'} x{ratio:.2f}" for kind, ratio in row.family_ratios.items())
        print(f"    median per scene by family: {families}")
    current = float(model.config.energy_gain)
    gain = current * mixture_gain(rows)
    print(f"gain: {rounded_gain(gain):g} (the model's own: {current:g}; RMS x{gain ** 0.5 / current ** 0.5:.2f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "gain": gain, "model_gain": current,
                       "datasets": [row.__dict__ for row in rows]}, f, indent=1)
    if args.out:
        low, high, fitted = *ENERGY_GAIN_RANGE, rounded_gain(gain)
        if not low <= fitted <= high:
            raise SystemExit(f"--out: a gain of {fitted:g} is outside {low:g}..{high:g}; a network this far off needs "
                             "training, not a calibration. Nothing was written.")
        model.config = dataclasses.replace(model.config, energy_gain=fitted).validate()
        model.save(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
