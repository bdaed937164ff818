"""Render the README's strip of a poked branch springing back (image_dynamics.modal) from the bundled sample.

Usage: .venv/bin/python scripts/make_poke_strip.py
Writes docs/images/poke_strip.png: six crops around the poked crown of the big tree in forest.jpg, from the still
(the arrow shows the poke: 24 px to the right at t = 0.1 s) through the swing to the settled picture, with a red dot
on the poked pixel and a cross where it rests, and prints how far the poked pixel went. Motion: procedural (seed 0,
coherence 40 px), damping ratio 0.15.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from image_dynamics import io, modal
from image_dynamics.frames import FrameRenderer
from image_dynamics.procedural import ProceduralParams, procedural_motion
from image_dynamics.settings import RenderSettings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core/image_dynamics/samples/forest.jpg"
OUT = ROOT / "docs/images/poke_strip.png"
AT, FORCE, POKE_TIME, ZETA, FPS = (236.0, 80.0), (24.0, 0.0), 0.1, 0.15, 30.0
CROP = (176, 40, 296, 130)  # x0, y0, x1, y1 in image pixels
SCALE = 2
TIMES = (0.0, 0.4, 0.8, 1.4, 2.4, 12.0)


def main() -> None:
    image = io.read_image(SAMPLE)
    motion = procedural_motion(image.pixels, params=ProceduralParams(seed=0, coherence_px=40.0))
    force = modal.Force(FORCE, AT, time=POKE_TIME)
    render_plan = modal.modal_plan(motion, [force], image.width, image.height, RenderSettings(fps=FPS),
                                   damping_ratio=ZETA, length_s=max(TIMES))
    renderer = FrameRenderer(image.pixels, render_plan.motion)
    wanted = [int(round(t * FPS)) for t in TIMES]
    tiles, poked = [], []
    for number, flow in zip(render_plan.frame_numbers, renderer.flows(render_plan.times, basis=render_plan.basis)):
        poked.append(flow[:, int(AT[1]), int(AT[0])].copy())
        if number not in wanted:
            continue
        frame = io.to_display_uint8(renderer.frame(flow), image.colorspace)[..., :3]
        x0, y0, x1, y1 = CROP
        tile = np.ascontiguousarray(cv2.resize(frame[y0:y1, x0:x1], None, fx=SCALE, fy=SCALE,
                                               interpolation=cv2.INTER_CUBIC))
        rest = (int(SCALE * (AT[0] - x0)), int(SCALE * (AT[1] - y0)))
        cv2.drawMarker(tile, rest, (255, 255, 255), cv2.MARKER_CROSS, 14, 2)
        if number == 0:
            end = (rest[0] + int(SCALE * FORCE[0]), rest[1] + int(SCALE * FORCE[1]))
            cv2.arrowedLine(tile, rest, end, (255, 60, 40), 3, tipLength=0.3)
        else:
            dot = (int(round(SCALE * (AT[0] + poked[-1][0] - x0))), int(round(SCALE * (AT[1] + poked[-1][1] - y0))))
            cv2.circle(tile, dot, 5, (255, 40, 40), -1, cv2.LINE_AA)
        label = f"t = {number / FPS:.1f} s"
        cv2.putText(tile, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(tile, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
    strip = np.concatenate([part for tile in tiles for part in (tile, gap)][:-1], axis=1)
    io.write_png(OUT, strip.astype(np.float32) / 255, "srgb")
    along = np.array(poked) @ (np.array(FORCE) / np.hypot(*FORCE))
    print(f"wrote {OUT} ({strip.shape[1]}x{strip.shape[0]}); poked pixel: first peak {along.max():.2f} px along the "
          f"force at t = {along.argmax() / FPS:.2f} s (|F| = {np.hypot(*FORCE):g} px, zeta {ZETA}), "
          f"|d| at {TIMES[-1]:g} s = {np.hypot(*poked[-1]):.3f} px")


if __name__ == "__main__":
    main()
