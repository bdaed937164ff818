"""The README's and model card's real-photo figure: a few of `eval-photos`' pictures stacked into one image.

Usage: .venv/bin/python scripts/make_realphoto_montage.py PICTURES_DIR -o docs/images/realphoto_release5.jpg
       [--names sunset_sea,forest_rocks,plant_wall,city_carpark] [--width 1236]
PICTURES_DIR is the picture folder `image-dynamics eval-photos` writes (input | labels | motion RMS | a frame, one
picture per photo); each chosen picture becomes one row, resized to ``--width``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_NAMES = "sunset_sea,sunset_waterfront,forest_rocks,plant_wall,city_carpark"


def montage(rows: list[Image.Image], width: int, gap: int = 6) -> Image.Image:
    """The pictures one under the other, each scaled to ``width`` px, ``gap`` px of white between them."""
    scaled = [r.convert("RGB").resize((width, round(r.height * width / r.width)), Image.LANCZOS) for r in rows]
    height = sum(r.height for r in scaled) + gap * (len(scaled) - 1)
    canvas = Image.fromarray(np.full((height, width, 3), 255, np.uint8))
    y = 0
    for r in scaled:
        canvas.paste(r, (0, y))
        y += r.height + gap
    return canvas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pictures", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--names", default=DEFAULT_NAMES)
    ap.add_argument("--width", type=int, default=1236)
    args = ap.parse_args()
    rows = []
    for name in args.names.split(","):
        found = sorted(args.pictures.glob(f"{name}.*"))
        if not found:
            raise SystemExit(f"{args.pictures}: no picture named {name}.* (eval-photos writes one per photo)")
        rows.append(Image.open(found[0]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    montage(rows, args.width).save(args.output, quality=88)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
