"""Baking a 1080p loop to a PNG sequence: time, overlap of writing with rendering, and peak memory.

Run: ``.venv/bin/python benchmarks/bench_bake.py [--frames 150] [--width 1920 --height 1080]``

Three runs in one process on the same image and motion:
  1. render only (frames computed and dropped),
  2. encode only (the same number of PNG encodes of one frame, serially),
  3. the real bake (render + PNG writers in threads + staging + commit).
It prints the bake time against ``render + encode`` (a ratio below 1 means writing overlapped rendering) and the peak
memory: traced numpy/Python allocations (tracemalloc) and the process's peak resident size, against the size of the
whole sequence held in memory (what a naive bake would need).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI does: idle numba threads must not starve writers

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from image_dynamics import io  # noqa: E402
from image_dynamics.bake import OutputSpec, bake  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings, plan  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "core/image_dynamics/samples/forest.jpg"


def load_sample(width: int, height: int) -> io.LoadedImage:
    src = io.read_image(SAMPLE)
    pixels = cv2.resize(src.pixels, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    return io.LoadedImage(pixels=pixels.astype(np.float32), colorspace="srgb", bit_depth=8, has_alpha=False,
                          path=SAMPLE)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args(argv)

    image = load_sample(args.width, args.height)
    motion = procedural_motion(image.pixels, params=ProceduralParams(strength_px=8.0, seed=0))
    render_plan = plan(motion, RenderSettings(frames=(0, args.frames)))
    FrameRenderer(image.pixels, render_plan.motion).frames(render_plan.times[:2]).__next__()  # JIT warm-up

    t0 = time.perf_counter()
    renderer = FrameRenderer(image.pixels, render_plan.motion)
    last = None
    for frame in renderer.frames(render_plan.times):
        last = frame  # kept to time the PNG encoder on a real frame
    render_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for i in range(args.frames):
            io.write_frame(Path(tmp) / f"f{i}.png", last, "srgb", "png")
        encode_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        tracemalloc.start()
        t0 = time.perf_counter()
        result = bake(image, render_plan, OutputSpec(Path(tmp) / "out", "bench", formats=("png",)))
        bake_s = time.perf_counter() - t0
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(result.files) == args.frames

    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    sequence_bytes = args.frames * image.pixels.nbytes
    mb = 1024 * 1024
    print(f"machine: {sys.platform}, {__import__('os').cpu_count()} cores; {args.width}x{args.height}, "
          f"{args.frames} frames, K = {motion.num_bands}, grid {motion.width}x{motion.height}")
    print(f"render only      : {render_s:7.2f} s  ({1000 * render_s / args.frames:6.1f} ms/frame)")
    print(f"PNG encode only  : {encode_s:7.2f} s  ({1000 * encode_s / args.frames:6.1f} ms/frame, one thread)")
    print(f"bake (overlapped): {bake_s:7.2f} s  ({1000 * bake_s / args.frames:6.1f} ms/frame)")
    print(f"  bake / (render + encode) = {bake_s / (render_s + encode_s):.2f}   (1.0 = no overlap)")
    print(f"peak traced memory during bake: {traced_peak / mb:7.1f} MB; process peak RSS: {rss_peak / mb:7.1f} MB")
    print(f"  vs the whole float sequence held in memory ({sequence_bytes / mb:.0f} MB): "
          f"traced peak ratio {traced_peak / sequence_bytes:.3f}")


if __name__ == "__main__":
    main()
