"""Render the README's flow picture: a lagoon current flowing as a seamless loop, made with the command line.

The picture is a crop of the "sunset" sky HDRI that ships inside the bpy wheel (CC0, Greg Zaal / Poly Haven: Venice
sunset), tone-mapped to sRGB. Arrows on the water (slow near the horizon, faster near the quay, as perspective makes
them) and a flow mask of the water go through `image-dynamics motion flow` and `image-dynamics render`.

Usage: .venv/bin/python scripts/make_flow_media.py
Writes docs/images/flow_lagoon_arrows.png (the input with its arrows and the flow mask's outline) and
docs/images/flow_lagoon.gif (the 40-frame loop at 20 fps).
"""

from __future__ import annotations

import glob
import json
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from image_dynamics import io
from image_dynamics.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs/images"
#: rows, columns of the crop in the 1024x512 equirectangular HDRI: sky, the lagoon's horizon, water and the quay
CROP = (slice(215, 350), slice(280, 680))
#: The water, in crop pixels: from the horizon down to the curved quay edge.
WATER = [(22, 45), (399, 43), (399, 95), (330, 113), (250, 124), (150, 126), (95, 111), (48, 85), (22, 69)]
#: A current flowing right, faster where the water is nearer (image pixels, pixels per second).
ARROWS = [{"from": [70, 53], "to": [90, 53], "speed": 3},
          {"from": [250, 51], "to": [270, 50], "speed": 3},
          {"from": [120, 85], "to": [140, 87], "speed": 7},
          {"from": [300, 80], "to": [320, 81], "speed": 7},
          {"from": [200, 113], "to": [220, 115], "speed": 11},
          {"from": [360, 95], "to": [380, 95], "speed": 10}]
LOOP_FRAMES, FPS = 40, 20


def sky_hdri() -> Path:
    found = sorted(glob.glob(str(ROOT / ".venv/lib/python3*/site-packages/bpy/*/datafiles/studiolights/world/"
                                 "sunset.exr")))
    if not found:
        sys.exit("the bpy wheel's studio lights are not installed in .venv (pip install the 'blender' extra)")
    return Path(found[-1])


def tone_mapped(linear: np.ndarray) -> np.ndarray:
    """float32 sRGB 0..1 from scene-linear: Reinhard x / (1 + x) with an exposure of 1.6."""
    return io.linear_to_srgb(np.clip(1.6 * linear / (1.0 + linear), 0.0, 1.0)).astype(np.float32)


def with_arrows(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 RGB: the picture, the flow mask's outline and the arrows (tips scaled to show their speed)."""
    out = io.to_display_uint8(picture, "srgb")[..., :3].copy()
    outline, _ = cv2.findContours((mask > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, outline, -1, (80, 200, 255), 1, lineType=cv2.LINE_AA)
    for arrow in ARROWS:
        (x0, y0), (x1, y1) = arrow["from"], arrow["to"]
        length = np.hypot(x1 - x0, y1 - y0)
        tip = (x0 + (x1 - x0) / length * 4 * arrow["speed"], y0 + (y1 - y0) / length * 4 * arrow["speed"])
        cv2.arrowedLine(out, (int(x0), int(y0)), (int(round(tip[0])), int(round(tip[1]))), (255, 230, 60), 2,
                        line_type=cv2.LINE_AA, tipLength=0.3)
    return out


def main() -> int:
    linear = io.read_image(sky_hdri()).pixels[CROP][..., :3]
    picture = tone_mapped(linear)
    height, width = picture.shape[:2]
    mask = np.zeros((height, width), np.float32)
    cv2.fillPoly(mask, [np.array(WATER, np.int32)], 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        io.write_png(tmp / "lagoon.png", picture, "srgb")
        io.write_png(tmp / "water.png", np.repeat(mask[..., None], 3, axis=2), "srgb")
        (tmp / "arrows.json").write_text(json.dumps(ARROWS))
        code = cli(["-q", "motion", "flow", str(tmp / "lagoon.png"), "--arrows", str(tmp / "arrows.json"),
                    "--flow-mask", str(tmp / "water.png"), "-o", str(tmp / "lagoon.npz")])
        code = code or cli(["-q", "render", str(tmp / "lagoon.png"), "--motion", str(tmp / "lagoon.npz"),
                            "--flow-mask", str(tmp / "water.png"), "--loop-frames", str(LOOP_FRAMES),
                            "--fps", str(FPS), "--format", "gif", "-o", str(tmp / "out")])
        if code:
            return code
        OUT.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / "out" / "lagoon.gif", OUT / "flow_lagoon.gif")
    cv2.imwrite(str(OUT / "flow_lagoon_arrows.png"), with_arrows(picture, mask)[..., ::-1])
    print(f"wrote {OUT / 'flow_lagoon_arrows.png'} and {OUT / 'flow_lagoon.gif'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
