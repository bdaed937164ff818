"""Re-create core/image_dynamics/samples/forest.jpg from the CC0 Poly Haven HDRI inside the bpy wheel.

Usage: python scripts/make_sample.py   (needs `pip install bpy==5.0.1 OpenEXR pillow`)
"""

from pathlib import Path

import numpy as np
import OpenEXR
from PIL import Image


def main() -> None:
    import bpy  # noqa: F401  (only to locate the wheel's data files)

    root = Path(bpy.__file__).parent
    source = next(root.glob("*/datafiles/studiolights/world/forest.exr"))
    hdr = OpenEXR.File(str(source)).channels()["RGB"].pixels
    crop = np.clip(hdr[40:360, 380:892], 0, None) * 0.9
    tone = crop / (1 + crop)  # Reinhard: keeps the sky's blue instead of clipping it to white
    srgb = np.where(tone <= 0.0031308, 12.92 * tone, 1.055 * np.power(tone, 1 / 2.4) - 0.055)
    out = Path(__file__).resolve().parents[1] / "core/image_dynamics/samples/forest.jpg"
    Image.fromarray((np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8)).save(out, quality=92)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
