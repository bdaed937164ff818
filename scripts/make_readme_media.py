"""Render the README's pictures of an image (default: the bundled sample): input, looping GIF, and a strip of frames
+ motion energy.

Usage: .venv/bin/python scripts/make_readme_media.py [--source model|procedural] [--image PATH --name NAME]
(default: the shipped model, as the demo; seed 0; the bundled forest photo as ``forest``)
Writes docs/images/<name>_input.png, <name>.gif (every second frame of the 150-frame loop, 15 fps, seamless) and
<name>_strip.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from image_dynamics import io, spectral
from image_dynamics.frames import FrameRenderer
from image_dynamics.procedural import ProceduralParams, procedural_motion
from image_dynamics.settings import RenderSettings, plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core/image_dynamics/samples/forest.jpg"
OUT = ROOT / "docs/images"


def energy_picture(motion: spectral.SpectralVolume, width: int, height: int) -> np.ndarray:
    """uint8 [H, W, 3]: sqrt of motion energy, normalised to its 99th percentile, as a grey map at image size."""
    e = np.sqrt(spectral.motion_energy(motion))
    e = np.clip(e / max(np.percentile(e, 99), 1e-9), 0, 1)
    e = cv2.resize(e, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.repeat((e * 255).astype(np.uint8)[..., None], 3, axis=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=("model", "procedural"), default="model")
    ap.add_argument("--image", type=Path, default=SAMPLE, help="picture to animate (default: the bundled sample)")
    ap.add_argument("--name", default="forest", help="file name stem of the pictures written")
    args = ap.parse_args()
    name = args.name
    image = io.read_image(args.image)
    if args.source == "model":
        from image_dynamics.model.predict import predict_motion

        motion = predict_motion(image.pixels)
    else:
        motion = procedural_motion(image.pixels, params=ProceduralParams())
    render_plan = plan(motion, RenderSettings())
    renderer = FrameRenderer(image.pixels, render_plan.motion)
    OUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(io.to_display_uint8(image.pixels, image.colorspace)).save(OUT / f"{name}_input.png")
    picks = {0, 37, 75, 112}
    strip = []
    gif_path = OUT / f"{name}.gif"
    with io.GifWriter(gif_path, fps=15, max_side=320) as gif:
        for t, frame in zip(render_plan.times, renderer.frames(render_plan.times)):
            display = io.to_display_uint8(frame, image.colorspace)[..., :3]
            if int(t) % 2 == 0:
                gif.write(display)
            if int(t) in picks:
                strip.append(display)
    strip.append(energy_picture(motion, image.width, image.height))
    small = [cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA) for f in strip]
    gap = np.full((small[0].shape[0], 4, 3), 255, np.uint8)
    row = np.concatenate([x for f in small for x in (f, gap)][:-1], axis=1)
    Image.fromarray(row).save(OUT / f"{name}_strip.png", optimize=True)
    print(f"wrote {OUT}/{name}_input.png, {name}.gif ({gif_path.stat().st_size / 1e6:.1f} MB), {name}_strip.png")


if __name__ == "__main__":
    main()
