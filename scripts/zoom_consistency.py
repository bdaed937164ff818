"""Is a motion-energy network consistent about scale? Each photo's centre, enlarged, against the whole photo.

Usage: .venv/bin/python scripts/zoom_consistency.py MODEL FOLDER [FOLDER ...] [--zooms 1.5,2,3] [--threads 2]

A central crop ``1/m`` of a photo, resized back to the photo's size, is what a lens ``m`` times longer would see, so
its motion in pixels should be ``m`` times the motion the network predicts for the same region of the whole photo.
For every photo (``<name>.png``, labels ignored) and zoom this prints the mean predicted RMS motion of the enlarged
crop (pixels of the 256-px grid, over bands above 0 Hz) beside ``m`` x the whole photo's over that region; their
ratio is 1 for a network that reads what things are rather than how large they look. MODEL is anything
:func:`image_dynamics.train.loop.load_motion_model` reads (a package folder, a run's ``model.pt``, a snapshot).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_photos_energy_net import whole_picture_energy  # noqa: E402

from image_dynamics.train.loop import load_motion_model  # noqa: E402


def rms_map(model, image: np.ndarray) -> np.ndarray:
    """float ``[h, w]``: the network's RMS motion per grid pixel (sqrt of its total energy above 0 Hz)."""
    return np.sqrt(whole_picture_energy(model, image)[1:].sum(axis=0))


def central_crop(array: np.ndarray, zoom: float) -> np.ndarray:
    """The centre ``1/zoom`` of an ``[H, W, ...]`` array."""
    h, w = round(array.shape[0] / zoom), round(array.shape[1] / zoom)
    y0, x0 = (array.shape[0] - h) // 2, (array.shape[1] - w) // 2
    return array[y0:y0 + h, x0:x0 + w]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--zooms", default="1.5,2,3")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_motion_model(args.model)
    zooms = [float(z) for z in args.zooms.split(",")]
    for folder in args.folders:
        for path in sorted(folder.glob("*.png")):
            if path.stem.endswith("_labels"):
                continue
            image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            whole = rms_map(model, image)
            cells = [f"{path.stem:20s} whole {whole.mean():.3f} px"]
            for zoom in zooms:
                enlarged = cv2.resize(central_crop(image, zoom), image.shape[1::-1], interpolation=cv2.INTER_CUBIC)
                predicted, expected = rms_map(model, enlarged).mean(), zoom * central_crop(whole, zoom).mean()
                cells.append(f"x{zoom:g}: {predicted:.3f} vs {expected:.3f} ({predicted / max(expected, 1e-9):.2f}x)")
            print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
