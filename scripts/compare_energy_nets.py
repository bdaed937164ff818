"""The model card's "looked at" figure: labelled photos, one row each, beside the motion of several energy networks.

Usage: .venv/bin/python scripts/compare_energy_nets.py -o docs/images/realphoto_rl23.jpg
       --photo docs/realphoto_validation:courtyard_laundry [--photo SET:NAME ...]
       --model "release 7=/work/runs/release7_pkg/default" [--model "CAPTION=MODEL" ...] [--width 256] [--threads 2]

Each row: the photo with its labels over it (red moving, blue static), then each network's motion RMS, as
``scripts/eval_photos_energy_net.py`` scores it (the network alone, deterministic, in pixels of the photo at 512 px
wide), on the photo sets' colour scale (inferno, square root, 0 to 2 px), titled with its AUC and mean. MODEL is
anything ``load_motion_model`` reads: a package folder (its calibration gain applied), a run's ``model.pt`` or a
snapshot. Panels are shown ``--width`` px wide.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from image_dynamics.realphoto import (
    LabelledPhoto,
    colour_rms,
    label_overlay,
    load_photo_set,
    motion_rms,
    photo_metrics,
    titled,
)
from image_dynamics.train.loop import load_motion_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_photos_energy_net import energy_volume_predictor  # noqa: E402

GAP_PX = 4


def parse_pair(text: str, sep: str, what: str) -> tuple[str, str]:
    """``"a<sep>b"`` -> ``("a", "b")``, refusing text without the separator."""
    left, found, right = text.partition(sep)
    if not found or not left or not right:
        raise SystemExit(f"{what} {text!r}: write it as LEFT{sep}RIGHT")
    return left, right


def panel(rgb: np.ndarray, title: str, width: int) -> np.ndarray:
    """uint8 ``[h + 22, width, 3]``: ``rgb`` resized to ``width`` px wide under a title bar."""
    height = round(rgb.shape[0] * width / rgb.shape[1])
    return titled(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA), title)


def side_by_side(panels: list[np.ndarray], axis: int) -> np.ndarray:
    """Panels joined along ``axis`` (1: a row, 0: a column) with white gaps of ``GAP_PX``."""
    shape = list(panels[0].shape)
    shape[axis] = GAP_PX
    gap = np.full(shape, 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [gap, p]
    return np.concatenate(out, axis=axis)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True, type=Path)
    ap.add_argument("--photo", action="append", required=True, help="SET_FOLDER:NAME, one per row")
    ap.add_argument("--model", action="append", required=True, help="CAPTION=MODEL, one per column")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    sets: dict[str, dict[str, LabelledPhoto]] = {}
    photos = []
    for spec in args.photo:
        folder, name = parse_pair(spec, ":", "--photo")
        if folder not in sets:
            sets[folder] = {p.name: p for p in load_photo_set(folder)}
        if name not in sets[folder]:
            raise SystemExit(f"--photo {spec}: no photo {name!r} in {folder}")
        photos.append(sets[folder][name])
    rows = [[panel(label_overlay(p.image, p.labels), p.name, args.width)] for p in photos]
    for spec in args.model:
        caption, path = parse_pair(spec, "=", "--model")
        predict = energy_volume_predictor(load_motion_model(path))
        for row, photo in zip(rows, photos):
            rms = motion_rms(predict(photo.image, 0), photo.image)
            metrics = photo_metrics(rms, photo.labels)
            auc = "" if metrics["auc"] is None else f" AUC {metrics['auc']:.2f},"
            row.append(panel(colour_rms(rms), f"{caption}:{auc} {metrics['mean_rms_px']:.2f} px", args.width))
    figure = side_by_side([side_by_side(r, axis=1) for r in rows], axis=0)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(figure).save(args.output, quality=88)
    print(f"wrote {args.output} ({figure.shape[1]}x{figure.shape[0]})")


if __name__ == "__main__":
    main()
