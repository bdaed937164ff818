"""One full 1920x1080 frame from a K = 16 spectral volume: IDFT + edge-aware upsampling + softmax splat + hole fill.

Run: ``.venv/bin/python benchmarks/bench_render.py [--width 1920 --height 1080 --rounds 15]``

Compares, in one process on the same image and motion:
  - the engine's frame path (:class:`image_dynamics.frames.FrameRenderer`: IDFT on the 256-wide motion grid, upsampled
    edge-aware to the image, numba splat + push-pull fill),
  - a torch-eager reference: the same IDFT as a matrix product and bilinear upsampling in torch, then the 4-tap
    ``index_add_`` softmax splat of ``bench_splat.torch_reference`` (community style), ``torch.set_num_threads(2)``.
Prints median/best ms per frame and the speed-up over the torch reference.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # numba and torch OpenMP pools must not spin against each other

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_splat import time_rounds, torch_reference  # noqa: E402

from image_dynamics import io, spectral  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "core/image_dynamics/samples/forest.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()

    src = io.read_image(SAMPLE).pixels
    image = cv2.resize(src, (args.width, args.height), interpolation=cv2.INTER_CUBIC).clip(0, 1).astype(np.float32)
    motion = procedural_motion(image, params=ProceduralParams(strength_px=8.0))
    renderer = FrameRenderer(image, motion)
    times = np.arange(1, 151, dtype=np.float64)
    state = {"i": 0}

    def engine_frame() -> np.ndarray:
        t = times[state["i"] % len(times)]
        state["i"] += 1
        return renderer.frame(renderer.displacement(renderer.grid_displacements(np.array([t]))[0]))

    engine_frame()  # JIT warm-up
    results = {"engine (numba)": time_rounds(engine_frame, args.rounds)}

    import torch

    torch.set_num_threads(2)
    splat_torch = torch_reference(torch)
    coeffs = torch.from_numpy(spectral.stacked_coeffs(renderer.motion))
    t_image = torch.from_numpy(image)
    t_importance = torch.from_numpy(renderer.importance)

    def torch_frame():
        t = times[state["i"] % len(times)]
        state["i"] += 1
        basis = torch.from_numpy(spectral.displacement_basis(renderer.motion, np.array([t])).astype(np.float32))
        grid = (basis @ coeffs).reshape(1, 2, motion.height, motion.width)
        flow = torch.nn.functional.interpolate(grid, size=(args.height, args.width), mode="bilinear",
                                               align_corners=False)[0]
        return splat_torch(t_image, flow, t_importance)

    torch_frame()
    results["torch eager reference"] = time_rounds(torch_frame, args.rounds)

    ref = statistics.median(results["torch eager reference"])
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.width}x{args.height} RGB, "
          f"K = {motion.num_bands}, motion grid {motion.width}x{motion.height}, torch {torch.__version__}")
    print(f"{'path':26s} {'median ms':>10s} {'best ms':>9s} {'speed-up vs torch':>18s}")
    for name, rounds in results.items():
        med = statistics.median(rounds)
        print(f"{name:26s} {1000 * med:10.1f} {1000 * min(rounds):9.1f} {ref / med:17.2f}x")


if __name__ == "__main__":
    main()
