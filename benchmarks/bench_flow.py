"""A flow frame against an oscillation frame at 1920x1080, in one process on the same image.

Run: ``.venv/bin/python benchmarks/bench_flow.py [--width 1920 --height 1080 --rounds 15 --loop 150]``

Three frame paths, each timed per frame (median and best of ``--rounds``, loop steps cycling through the loop):
  - oscillation: :class:`image_dynamics.frames.FrameRenderer` (IDFT on the motion grid, edge-aware upsampling, one
    softmax splat + push-pull fill), K = 16 procedural motion;
  - pure flow: :class:`image_dynamics.flow.FlowRenderer` with zero coefficients and a drift inside a flow mask
    covering the top ``--flow-fraction`` of the picture (default half): two upsamplings, the symmetric splat (two
    splats into one accumulator over the mask's box grown by the largest displacement, one fill), compositing; the
    oscillation layer is the still, copied;
  - flow + oscillation: the same flow on the procedural motion (three upsamplings, the oscillation frame's splat and
    the symmetric splat's two).
The Euler integration of the field (once per renderer, on the motion grid) is timed separately.
Prints ms per frame and the ratio to the oscillation frame, with the CPU and the load average.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_splat import time_rounds  # noqa: E402

from image_dynamics import controls, io, spectral  # noqa: E402
from image_dynamics.flow import FlowRenderer  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "core/image_dynamics/samples/forest.jpg"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = next((f for f in Path("/proc/cpuinfo").read_text().splitlines() if f.startswith("flags")), "")
                simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "fma") if f" {f}" in flags]
                return f"{line.split(':', 1)[1].strip()} ({', '.join(simd)}), {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--loop", type=int, default=150)
    ap.add_argument("--flow-fraction", type=float, default=0.5,
                    help="fraction of the picture's rows (from the top) inside the flow mask (default 0.5)")
    args = ap.parse_args()

    src = io.read_image(SAMPLE).pixels
    image = cv2.resize(src, (args.width, args.height), interpolation=cv2.INTER_CUBIC).clip(0, 1).astype(np.float32)
    size = (args.width, args.height)
    motion = procedural_motion(image, params=ProceduralParams(strength_px=8.0))
    motion = motion.with_(meta={**motion.meta, "window_frames": args.loop})
    mask = np.zeros((args.height, args.width), np.float32)
    mask[: max(1, round(args.height * args.flow_fraction))] = 1.0  # the top rows flow (a sky, say)
    still = spectral.make(np.zeros((1, 2, motion.height, motion.width)), [0.0], motion.fps,
                          {"window_frames": args.loop})
    pure = controls.apply_controls(still, size, drift=(40.0, 0.0), flow_mask=mask, flow_feather_px=8.0)
    both = controls.apply_controls(motion, size, drift=(40.0, 0.0), flow_mask=mask, flow_feather_px=8.0)
    dt = 1.0 / motion.fps

    oscillation = FrameRenderer(image, motion)
    flow_only = FlowRenderer(image, pure, args.loop, dt, flow_mask=mask, flow_feather_px=8.0)
    started = time.perf_counter()
    flow_only.integrated()
    integrate_ms = 1e3 * (time.perf_counter() - started)
    flow_and_sway = FlowRenderer(image, both, args.loop, dt, flow_mask=mask, flow_feather_px=8.0)
    flow_and_sway.integrated()

    steps = np.arange(1, args.loop, dtype=np.int64)
    state = {"i": 0}

    def next_step() -> int:
        state["i"] += 1
        return int(steps[state["i"] % steps.size])

    def oscillation_frame():
        t = float(next_step())
        return oscillation.frame(oscillation.displacement(oscillation.grid_displacements(np.array([t]))[0]))

    def pure_flow_frame():
        step = next_step()
        grid = flow_only.base.grid_displacements(np.array([float(step)]))[0]
        return flow_only.frame(flow_only.fields(step, grid))

    def flow_and_sway_frame():
        step = next_step()
        grid = flow_and_sway.base.grid_displacements(np.array([float(step)]))[0]
        return flow_and_sway.frame(flow_and_sway.fields(step, grid))

    results = {}
    for name, fn in (("oscillation frame", oscillation_frame), ("pure flow frame", pure_flow_frame),
                     ("flow + oscillation frame", flow_and_sway_frame)):
        fn()  # JIT warm-up
        results[name] = time_rounds(fn, args.rounds)
    reference = statistics.median(results["oscillation frame"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.width}x{args.height}, motion grid {motion.width}x{motion.height}, loop {args.loop} frames, "
          f"flow mask over {args.flow_fraction:.0%} of the rows; "
          f"{cpu_name()}; load average {load:.1f}")
    print(f"Euler integration, both directions, once per renderer: {integrate_ms:.0f} ms")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"  {name:26s} {1e3 * median:7.1f} ms median ({1e3 * min(times):.1f} best)  {median / reference:.2f}x")


if __name__ == "__main__":
    main()
