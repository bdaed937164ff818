"""Real-photo figures of motion-energy networks alone, computed by the same code as `image-dynamics eval-photos`.

Usage: .venv/bin/python scripts/eval_photos_energy_net.py FOLDER MODEL [MODEL ...] [--threads 2] [--json OUT]

FOLDER is a labelled photo set (``docs/realphoto_validation`` to choose, ``docs/realphoto`` to report). MODEL is a
training run's ``model.pt``, a snapshot of one (``snapshots/model_stepNNNNNN.pt``, written with ``--set
snapshot_every=N``), a run's ``checkpoint.pt`` (its averaged weights) or a model package folder. Each network's band
energies go through :func:`image_dynamics.realphoto.evaluate_photos` as a volume carrying ``sqrt(E_k)``: with the
coherent fill every pixel of a package moves exactly its network's energy, so the AUCs and motion printed here are
what ``eval-photos`` reports for a package made from the model (to about 0.01: the fill's band shares and the
image's own edges differ slightly), in seconds per model instead of minutes of diffusion sampling. The energy network
is deterministic, so one seed. The photos must have the model grid's aspect ratio (the sets here are 512x320).

For each model: every photo's AUC and mean motion, and the validation rule's score (docs/realphoto_validation): the
mean AUC of the photos that have one, and the mean motion of those that have only static labels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from image_dynamics import spectral
from image_dynamics.errors import InputError
from image_dynamics.model.processing import prepare_images
from image_dynamics.realphoto import evaluate_photos, load_photo_set
from image_dynamics.train.loop import load_motion_model
from image_dynamics.train.model import MotionModel


def whole_picture_energy(model: MotionModel, image: np.ndarray) -> np.ndarray:
    """float ``[K, h, w]``: the network's band energies (squared grid pixels) for the picture resized to its grid."""
    cfg = model.config
    with torch.no_grad():
        return np.asarray(model.band_energy(torch.from_numpy(prepare_images(image, cfg.width, cfg.height)))[0])


def energy_volume_predictor(model: MotionModel, energy_of=whole_picture_energy):
    """``predict(image uint8 [H, W, 3], seed) -> SpectralVolume`` on the model grid whose x coefficients are the
    network's ``sqrt(E_k)`` (the rest 0): its motion energy is the network's. ``energy_of(model, image) ->
    [K, h, w]`` says how the network is run on a picture (the whole picture at once unless a probe says otherwise)."""
    cfg = model.config

    def predict(image: np.ndarray, seed: int) -> spectral.SpectralVolume:
        h, w = image.shape[:2]
        if abs(w / h - cfg.width / cfg.height) > 0.01:
            raise InputError(f"a {w}x{h} photo: this script needs the model grid's aspect ratio "
                             f"({cfg.width}x{cfg.height}); use image-dynamics eval-photos with a package")
        energy = energy_of(model, image)  # [K, h, w]
        coeffs = np.zeros((energy.shape[0], 2, *energy.shape[1:]), np.complex64)
        coeffs[:, 0] = np.sqrt(energy)
        return spectral.make(coeffs, np.asarray(model.freqs_hz), model.fps)

    return predict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="labelled photo set (<name>.png and <name>_labels.png)")
    ap.add_argument("models", nargs="+", help="model.pt, snapshots, checkpoint.pt or package folders")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    photos = load_photo_set(args.folder)
    out = {"folder": args.folder, "models": {}}
    for path in args.models:
        predict = energy_volume_predictor(load_motion_model(path))
        report, _ = evaluate_photos(photos, predict, seeds=(0,), pictures=False)
        images = report["images"]
        aucs = [i["auc"] for i in images if i["auc"] is not None]
        still = [i["mean_rms_px"] for i in images if i["labelled_moving_px"] == 0]
        score = {"mean_auc": float(np.mean(aucs)) if aucs else None,
                 "static_only_mean_rms_px": float(np.mean(still)) if still else None}
        out["models"][path] = {"score": score, "images": images}
        cells = " ".join(f"{i['name']} {'-' if i['auc'] is None else format(i['auc'], '.2f')}/"
                         f"{i['mean_rms_px']:.3f}px" for i in images)
        mean_auc = "-" if score["mean_auc"] is None else format(score["mean_auc"], ".3f")
        still_px = "-" if score["static_only_mean_rms_px"] is None else format(score["static_only_mean_rms_px"], ".3f")
        print(f"{path}: mean AUC {mean_auc}, static-only {still_px} px | {cells}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
