"""The model card's figure: held-out synthetic scenes, their true motion energy and the shipped model's prediction.

Usage: .venv/bin/python scripts/make_model_card_figure.py --data DATA/test [--model default] [--count 6] [--seed 0]
Writes docs/images/model_energy_heldout.png: one row per scene (input | true energy | predicted energy), energies as
sqrt(E) on one colour scale per row (the true energy's 99.5th percentile), so too weak or too strong predictions show.
Also writes docs/images/forest_model_energy.png: the bundled photo and the model's motion energy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from image_dynamics import io, spectral
from image_dynamics.data.shards import channels_to_coeffs, iter_shards, read_info
from image_dynamics.evaluation import motion_energy
from image_dynamics.model.predict import MotionPredictor

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs/images"
SAMPLE = ROOT / "core/image_dynamics/samples/forest.jpg"


def colour(energy: np.ndarray, scale: float) -> np.ndarray:
    """uint8 ``[H, W, 3]`` viridis picture of ``sqrt(energy / scale)`` clipped to 1."""
    grey = (np.clip(np.sqrt(energy / max(scale, 1e-12)), 0, 1) * 255).astype(np.uint8)
    return cv2.applyColorMap(grey, cv2.COLORMAP_VIRIDIS)[..., ::-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="held-out dataset folder")
    ap.add_argument("--model", default="default", help="model package name or folder")
    ap.add_argument("--count", type=int, default=6, help="scenes (the first ones of the set)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    predictor = MotionPredictor(args.model, provider="cpu")
    shard = next(iter_shards(read_info(args.data)))
    images = shard["images"][:args.count]
    true = channels_to_coeffs(shard["coeffs"][:args.count].astype(np.float32))
    freqs = read_info(args.data).freqs_hz
    rows = []
    for image, coeffs in zip(images, true):
        predicted = predictor.predict(image, seed=args.seed, cache=False)
        e_true, e_pred = motion_energy(coeffs[None], freqs)[0], spectral.motion_energy(predicted)
        scale = float(np.percentile(e_true, 99.5))
        gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate([image, gap, colour(e_true, scale), gap, colour(e_pred, scale)], axis=1))
    sep = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    grid = np.concatenate([x for r in rows for x in (r, sep)][:-1], axis=0)
    OUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(OUT / "model_energy_heldout.png", optimize=True)

    photo = io.read_image(SAMPLE)
    display = io.to_display_uint8(photo.pixels, photo.colorspace)[..., :3]
    energy = spectral.motion_energy(predictor.predict(photo.pixels, seed=args.seed, cache=False))
    energy = cv2.resize(energy, (photo.width, photo.height), interpolation=cv2.INTER_LINEAR)
    gap = np.full((photo.height, 4, 3), 255, np.uint8)
    pair = np.concatenate([display, gap, colour(energy, float(np.percentile(energy, 99.5)))], axis=1)
    Image.fromarray(pair).save(OUT / "forest_model_energy.png", optimize=True)
    print(f"wrote {OUT / 'model_energy_heldout.png'} and {OUT / 'forest_model_energy.png'}")


if __name__ == "__main__":
    main()
