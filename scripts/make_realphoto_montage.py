"""The README's and model card's real-photo figure: a few of `eval-photos`' pictures stacked into one image.

Usage: .venv/bin/python scripts/make_realphoto_montage.py PICTURES_DIR -o docs/images/realphoto_release5.jpg
       [--names sunset_sea,forest_rocks,plant_wall,city_carpark] [--width 1236] [--captions "release 5,..."]
PICTURES_DIR is the picture folder `image-dynamics eval-photos` writes (input | labels | motion RMS | a frame, one
picture per photo); each chosen picture becomes one row, resized to ``--width``. ``--captions`` (one per row, comma
separated) writes a label in the row's top right corner, e.g. which model made it when rows compare models.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DEFAULT_NAMES = "sunset_sea,sunset_waterfront,forest_rocks,plant_wall,city_carpark"


def montage(rows: list[Image.Image], width: int, gap: int = 6, captions: list[str] | None = None) -> Image.Image:
    """The pictures one under the other, each scaled to ``width`` px, ``gap`` px of white between them; each row's
    caption, if given, on a white box in its top right corner."""
    scaled = [r.convert("RGB").resize((width, round(r.height * width / r.width)), Image.LANCZOS) for r in rows]
    for row, caption in zip(scaled, captions or []):
        draw = ImageDraw.Draw(row)
        left, top, right, bottom = draw.textbbox((0, 0), caption)
        x, y = width - (right - left) - 8, 2
        draw.rectangle((x - 4, y, width, y + bottom - top + 6), fill=(255, 255, 255))
        draw.text((x, y + 2), caption, fill=(0, 0, 0))
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
    ap.add_argument("--captions", help="one label per row, comma separated")
    args = ap.parse_args()
    rows = []
    for name in args.names.split(","):
        found = sorted(args.pictures.glob(f"{name}.*"))
        if not found:
            raise SystemExit(f"{args.pictures}: no picture named {name}.* (eval-photos writes one per photo)")
        rows.append(Image.open(found[0]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    captions = args.captions.split(",") if args.captions else None
    if captions is not None and len(captions) != len(rows):
        raise SystemExit(f"--captions has {len(captions)} labels for {len(rows)} rows: give one per row")
    montage(rows, args.width, captions=captions).save(args.output, quality=88)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
