"""How an energy network moves water as pictures are made softer, darker, smaller or brighter: rendered water with
known motion, and the validation view of the Venice sea (docs/model-card.md, "Other directions" item 10).

Usage: .venv/bin/python scripts/water_probe.py MODEL --water DATASET [--limit 48]

MODEL is anything ``scripts/eval_photos_energy_net.py`` takes. DATASET is a render set of water families (e.g.
``data render --families coast,lake,waterfront``). For each edit of the pictures it prints, over the rendered
scenes, the network's mean motion on the pixels whose true motion is known and above 0.5 px, and the share of them
it moves above 0.5 px; then, on ``docs/realphoto_validation/venice_quay``, its mean motion on the labelled sea and
on the labelled static parts. Motion is the eval-photos protocol's RMS over the loop in pixels of a 512-px-wide
picture, from the energy network alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from eval_photos_energy_net import whole_picture_energy

from image_dynamics.data.shards import read_info
from image_dynamics.evaluation import load_test_set, motion_energy
from image_dynamics.realphoto import MOVING_PX, WIDTH, load_photo_set, loop_rms
from image_dynamics.train.loop import load_motion_model

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _scale(img: np.ndarray, factor: float) -> np.ndarray:
    return np.clip(img.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def _smaller(img: np.ndarray, factor: float) -> np.ndarray:
    h, w = img.shape[:2]
    low = cv2.resize(img, (int(w * factor), int(h * factor)), interpolation=cv2.INTER_AREA)
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)


def _sharpen(img: np.ndarray, amount: float) -> np.ndarray:
    soft = cv2.GaussianBlur(img, (0, 0), 1.5).astype(np.float32)
    return np.clip(img.astype(np.float32) * (1 + amount) - amount * soft, 0, 255).astype(np.uint8)


#: the edits, each ``uint8 [H, W, 3] -> uint8 [H, W, 3]`` (8-bit sRGB values scaled, so "darker" is not an exposure
#: change in linear light; it is what a darker JPEG would show)
EDITS = {
    "as is": lambda x: x,
    "blur 1 px": lambda x: cv2.GaussianBlur(x, (0, 0), 1.0),
    "blur 2 px": lambda x: cv2.GaussianBlur(x, (0, 0), 2.0),
    "quarter size": lambda x: _smaller(x, 0.25),
    "sharpen": lambda x: _sharpen(x, 1.5),
    "darker x0.5": lambda x: _scale(x, 0.5),
    "brighter x1.8": lambda x: _scale(x, 1.8),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--water", required=True, help="a render set of water scenes")
    ap.add_argument("--limit", type=int, default=48)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = load_motion_model(args.model)
    positive = np.asarray(model.freqs_hz) > 0
    scale = WIDTH / model.config.width

    def rms(image: np.ndarray) -> np.ndarray:
        return loop_rms(whole_picture_energy(model, image)[positive].sum(0)) * scale

    data = load_test_set(read_info(args.water), limit=args.limit)
    truth = loop_rms(motion_energy(data.coeffs, data.freqs_hz)) * scale  # [N, H, W]
    known = data.known if data.known is not None else np.ones(truth.shape, bool)
    print(f"rendered water ({len(truth)} scenes): mean motion on truly moving pixels, share above {MOVING_PX} px")
    for name, edit in EDITS.items():
        means, shares = [], []
        for image, true, ok in zip(data.images, truth, known):
            moving = ok & (true > MOVING_PX)
            if moving.sum() >= 200:
                got = rms(edit(image))[moving]
                means.append(got.mean())
                shares.append((got > MOVING_PX).mean())
        print(f"  {name:14s} {np.mean(means):.3f} px  {100 * np.mean(shares):.1f} %  ({len(means)} scenes)")
    quay = {p.name: p for p in load_photo_set(DOCS / "realphoto_validation")}["venice_quay"]
    labels = cv2.resize(quay.labels, (model.config.width, model.config.height), interpolation=cv2.INTER_NEAREST)
    print("venice_quay: mean motion of the sea / of the static parts (px)")
    for name, edit in EDITS.items():
        got = rms(edit(quay.image))
        print(f"  {name:14s} {got[labels == 255].mean():.4f} / {got[labels == 128].mean():.4f}")


if __name__ == "__main__":
    main()
