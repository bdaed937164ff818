"""Held-out metrics of motion-energy networks alone, computed by the same code as `image-dynamics eval`.

Usage: .venv/bin/python scripts/eval_energy_net.py DATASET [--limit 128] [--threads 2] [--by-family] [MODEL ...]

MODEL is a training run's ``model.pt`` (or a snapshot, its folder, its ``checkpoint.pt``) or a model package folder
(its weights rebuilt by ``train.recover``): anything :func:`image_dynamics.train.loop.load_motion_model` reads.

Each model's energy network predicts every band's energy ``E_k`` [px^2 of the 256x160 grid]; a predictor whose
coefficients carry ``sqrt(E_k)`` goes through :func:`image_dynamics.evaluation.evaluate`. A package with the coherent
fill (``energy.fill_coherence_px``) gives every pixel exactly its network's total energy, so the energy correlation
and the moving/static AUC printed here are what ``eval`` reports for that package, in seconds instead of an hour of
diffusion sampling on 2 cores; the band error (``band_log_power_err``, how far each scene's mean band power is off,
natural log) is not exactly (a package keeps each sample's band shares). The shipped package (its torch weights
rebuilt by ``train.recover``) is always scored first, for reference.
``--by-family`` also scores each scene family (a sample's ``kinds``) on its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import torch

from image_dynamics.data.shards import DatasetInfo, read_info
from image_dynamics.evaluation import TestSet, evaluate, load_test_set
from image_dynamics.model.package import shipped_models_dir
from image_dynamics.train.loop import load_motion_model
from image_dynamics.train.model import MotionModel


def energy_predictor(model: MotionModel, energy_of=None):
    """``predict(images uint8 [B, H, W, 3], seed) -> complex64 [B, K, 2, H, W]`` carrying the network's band
    energies (x real part ``sqrt(E_k)``, the rest 0). ``energy_of(model, image [H, W, 3]) -> [K, H, W]``, if given,
    runs the network on each picture its own way (``scripts/tiled_energy_probe.py``); by default the batch at once."""
    def predict(images: np.ndarray, seed: int) -> np.ndarray:
        if energy_of is None:
            energy = model.band_energy(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0)  # [B, K, H, W]
        else:
            energy = np.stack([energy_of(model, image) for image in images]).astype(np.float32)
        coeffs = np.zeros((energy.shape[0], energy.shape[1], 2, *energy.shape[2:]), np.complex64)
        coeffs[:, :, 0] = np.sqrt(energy)
        return coeffs

    return predict


def scene_families(info: DatasetInfo, count: int) -> np.ndarray:
    """The scene family (``kinds``) of each of the first ``count`` samples (str ``[count]``), in
    :func:`load_test_set`'s order; reads only that array of each shard, not the images and coefficients again."""
    names: list[str] = []
    for name in info.shards:
        with np.load(info.folder / name, allow_pickle=False) as npz:
            names += [str(k) for k in npz["kinds"]]
        if len(names) >= count:
            break
    return np.asarray(names[:count])


def subset(data: TestSet, rows: np.ndarray) -> TestSet:
    """The samples ``rows`` (bool ``[N]``) of ``data`` (no true frames: the energy figures do not use them)."""
    return dataclasses.replace(data, images=data.images[rows], coeffs=data.coeffs[rows],
                               sample_ids=data.sample_ids[rows], true_frames={},
                               known=None if data.known is None else data.known[rows])


def scores(model: MotionModel, data: TestSet) -> dict[str, float]:
    result = evaluate(energy_predictor(model), data, seeds=(0,))["mean"]
    return {k: result[k] for k in ("energy_corr", "moving_auc", "band_log_power_err")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="held-out dataset folder")
    ap.add_argument("models", nargs="*", help="model.pt files or package folders with an energy network")
    ap.add_argument("--limit", type=int, default=128, help="the first N samples (default 128)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--by-family", action="store_true", help="also score each scene family on its own")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    info = read_info(args.data)
    data = load_test_set(info, limit=args.limit)
    families = scene_families(info, len(data.images)) if args.by_family else None
    models = {"shipped default": load_motion_model(shipped_models_dir() / "default")}
    models.update({path: load_motion_model(path) for path in args.models})
    report = {}
    for name, model in models.items():
        report[name] = whole = scores(model, data)
        print(f"{name}: energy correlation {whole['energy_corr']:.3f}, AUC {whole['moving_auc']:.3f}, band error "
              f"{whole['band_log_power_err']:.2f}", flush=True)
        if families is not None:
            whole["families"] = {}
            for family in sorted(set(families)):
                rows = families == family
                part = whole["families"][family] = {"scenes": int(rows.sum()), **scores(model, subset(data, rows))}
                print(f"    {family} ({part['scenes']} scenes): energy correlation {part['energy_corr']:.3f}, "
                      f"AUC {part['moving_auc']:.3f}, band error {part['band_log_power_err']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"data": args.data, "limit": args.limit, "models": report}, f, indent=1)


if __name__ == "__main__":
    main()
