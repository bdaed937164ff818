"""How rendered water looks beside the water of the real photos that no model here moves (docs/model-card.md, RL13).

Usage: .venv/bin/python scripts/water_appearance.py [--water DATASET] [--shards 6]

For the rendered water (a render set of water families; pixels whose motion is known and whose moving energy is above
0.25 squared pixels) and for the labelled moving water of three photos (the dusk sea, the waterfront, the Venice
quay), resized to the model grid (256x160), it prints the medians per family of:
- ``lum``: mean sRGB-encoded grey level, 0..1;
- ``fine``: mean absolute difference from a 1.5-px Gaussian blur (texture at the scale of ripples);
- ``mid``: mean absolute difference of 1.5-px and 6-px Gaussian blurs (wavelets a few pixels long);
- ``sat``: mean HSV saturation, 0..1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

DOCS = Path(__file__).resolve().parents[1] / "docs"
PHOTOS = [("realphoto", "sunset_sea"), ("realphoto", "sunset_waterfront"), ("realphoto_validation", "venice_quay")]


def appearance(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The four figures of uint8 RGB ``image`` ``[H, W, 3]`` over boolean ``mask`` ``[H, W]``."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    fine = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.5))
    mid = np.abs(cv2.GaussianBlur(grey, (0, 0), 6.0) - cv2.GaussianBlur(grey, (0, 0), 1.5))
    sat = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32) / 255.0
    return {"lum": float(grey[mask].mean()), "fine": float(fine[mask].mean()), "mid": float(mid[mask].mean()),
            "sat": float(sat[mask].mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--water", type=Path, default=Path("/work/datasets/render_water_v12_256"))
    ap.add_argument("--shards", type=int, default=6)
    args = ap.parse_args()
    by_family: dict[str, list[dict[str, float]]] = {}
    for shard in sorted(args.water.glob("shard_*.npz"))[:args.shards]:
        z = np.load(shard)
        for image, coeffs, known, kind in zip(z["images"], z["coeffs"], z["known"], z["kinds"]):
            c = coeffs.astype(np.float32)
            mask = (known > 0) & ((c[1:] ** 2).sum(axis=(0, 1)) > 0.25)
            if mask.sum() > 500:
                by_family.setdefault(str(kind), []).append(appearance(np.ascontiguousarray(image), mask))
    for family, rows in sorted(by_family.items()):
        medians = {k: round(float(np.median([r[k] for r in rows])), 3) for k in rows[0]}
        print(f"rendered {family:<18} ({len(rows)} scenes) {medians}")
    for folder, name in PHOTOS:
        image = np.asarray(Image.open(DOCS / folder / f"{name}.png").convert("RGB"))
        labels = np.asarray(Image.open(DOCS / folder / f"{name}_labels.png").convert("L"))
        image = cv2.resize(image, (256, 160), interpolation=cv2.INTER_AREA)
        labels = cv2.resize(labels, (256, 160), interpolation=cv2.INTER_NEAREST)
        figures = {k: round(v, 3) for k, v in appearance(image, labels == 255).items()}
        print(f"photo    {name:<18} {figures}")


if __name__ == "__main__":
    main()
