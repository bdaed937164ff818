"""One frame (IDFT on the motion grid + edge-aware upsampling + softmax splat + hole fill) against the renderer before
the fast frame path, each in its own child process, on the same image and motion, in one run.

Run: ``.venv/bin/python benchmarks/bench_render.py [--sizes 1920x1080,960x540 --frames 30 --rounds 3]``

- *reference*: the engine as of the commit before ``render.Warper`` existed (``--reference REV`` overrides), exported
  read-only with ``git archive`` into a cache folder and imported from there;
- *current*: this checkout's engine, both the bake's path (``FrameRenderer.frame(displacement(...))``, a new
  full-resolution flow per frame) and the preview's (``FrameRenderer.frame_from_grid``).

Children alternate (reference, current, reference, ...) so that a change in the machine's load hits both; each child
warms its kernels up (numba's cache) and times ``--frames`` consecutive frames of the loop. Prints the load average,
the CPU and its vector extensions (lscpu), median and best ms per frame, and the ratio of medians.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI and the add-on: idle numba threads sleep

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core/image_dynamics/samples/forest.jpg"
CACHE = Path(tempfile.gettempdir()) / "image_dynamics_bench_reference"
#: Vector extensions worth naming (lscpu's flags).
FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni")

CHILD = r"""
import json, os, sys, time
source, image_path, motion_path, frames, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, source)
import numpy as np
import image_dynamics
assert image_dynamics.__file__.startswith(source), image_dynamics.__file__
import numba
from image_dynamics import spectral
from image_dynamics.frames import FrameRenderer
image, motion = np.load(image_path), spectral.load(motion_path)
renderer = FrameRenderer(image, motion)
if mode == "grid":
    frame = lambda t: renderer.frame_from_grid(renderer.grid_displacements(np.array([t]))[0])
else:
    frame = lambda t: renderer.frame(renderer.displacement(renderer.grid_displacements(np.array([t]))[0]))
for t in (1.0, 2.0, 3.0):
    frame(t)
seconds, cpu = [], []
for t in np.arange(4, 4 + frames, dtype=np.float64):
    began, began_cpu = time.perf_counter(), time.process_time()
    frame(t)
    seconds.append(time.perf_counter() - began)
    cpu.append(time.process_time() - began_cpu)
print(json.dumps({"seconds": seconds, "cpu": cpu, "threads": numba.get_num_threads(),
                  "layer": numba.threading_layer()}))
"""


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def reference_commit(rev: str | None) -> str:
    """``rev``, else the parent of the commit that added ``class Warper`` to render.py, else HEAD (not committed)."""
    if rev:
        return git("rev-parse", rev)
    added = git("log", "--format=%H", "-S", "class Warper", "--", "core/image_dynamics/render.py").splitlines()
    return git("rev-parse", f"{added[-1]}^" if added else "HEAD")


def reference_source(commit: str) -> Path:
    """The engine package of ``commit``, exported once (read-only git) to a cache folder: the ``core`` folder."""
    folder = CACHE / commit
    if not (folder / "core/image_dynamics/__init__.py").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "core/image_dynamics"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "core"


def machine() -> str:
    """CPU model, cores and the vector extensions it has (lscpu)."""
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"{platform.machine()}, {os.cpu_count()} cores"
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    model = fields.get("Model name", platform.machine()).strip()
    return f"{model}, {os.cpu_count()} cores, {' '.join(f for f in FLAGS if f in flags)}"


def load_average() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def test_scene(width: int, height: int, scratch: Path, base: tuple[int, int] = (1920, 1080)) -> tuple[Path, Path]:
    """The sample photo at ``width x height`` and its procedural motion (made on the ``base``-size image, so every
    size plays the same motion grid), saved for the children: ``(image.npy, motion.npz)``."""
    import cv2

    from image_dynamics import io, spectral
    from image_dynamics.procedural import ProceduralParams, procedural_motion

    src = io.read_image(SAMPLE).pixels
    full = cv2.resize(src, base, interpolation=cv2.INTER_CUBIC).clip(0, 1).astype(np.float32)
    motion_path = scratch / "motion.npz"
    if not motion_path.exists():
        spectral.save(procedural_motion(full, params=ProceduralParams(strength_px=8.0)), motion_path)
    image = full if (width, height) == base else cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA)
    image_path = scratch / f"image_{width}x{height}.npy"
    np.save(image_path, np.ascontiguousarray(image, dtype=np.float32))
    return image_path, motion_path


def run_child(source: Path, image: Path, motion: Path, frames: int, mode: str) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, "-c", CHILD, str(source), str(image), str(motion), str(frames), mode],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(width: int, height: int, frames: int, rounds: int, reference: Path, scratch: Path,
            paths: tuple[str, ...] = ("split", "grid")) -> dict[str, list[float]]:
    """Alternate reference and current children; all per-frame seconds of each path."""
    image, motion = test_scene(width, height, scratch)
    current = ROOT / "core"
    results: dict[str, dict[str, list[float]]] = {"reference": {"seconds": [], "cpu": []}}
    results.update({f"current {p}": {"seconds": [], "cpu": []} for p in paths})
    for _ in range(rounds):
        runs = [("reference", reference, "split")] + [(f"current {p}", current, p) for p in paths]
        for key, source, mode in runs:
            child = run_child(source, image, motion, frames, mode)
            results[key]["seconds"] += child["seconds"]
            results[key]["cpu"] += child["cpu"]
    return results


def report(title: str, results: dict[str, dict[str, list[float]]]) -> None:
    """Wall-clock median and best per frame, the ratio of medians, and the CPU time per frame (both threads: less
    sensitive to other tenants' load than wall time)."""
    ref = statistics.median(results["reference"]["seconds"])
    ref_cpu = statistics.median(results["reference"]["cpu"])
    print(title)
    print(f"  {'path':34s} {'median ms':>10s} {'best ms':>8s} {'vs reference':>13s} {'CPU ms':>7s} {'CPU ratio':>10s}")
    names = {"reference": "reference (before Warper)", "current split": "current, bake path (frame(flow))",
             "current grid": "current, preview path (from grid)"}
    for key, runs in results.items():
        med, cpu = statistics.median(runs["seconds"]), statistics.median(runs["cpu"])
        print(f"  {names[key]:34s} {1000 * med:10.1f} {1000 * min(runs['seconds']):8.1f} {ref / med:12.2f}x "
              f"{1000 * cpu:7.1f} {ref_cpu / cpu:9.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1920x1080,960x540", help="comma-separated WxH")
    ap.add_argument("--frames", type=int, default=30, help="frames timed per child")
    ap.add_argument("--rounds", type=int, default=3, help="reference/current child pairs")
    ap.add_argument("--reference", default=None, help="git revision of the reference renderer")
    args = ap.parse_args()
    commit = reference_commit(args.reference)
    reference = reference_source(commit)
    print(f"{machine()}; reference {commit[:10]}; load average before {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench_render_") as scratch:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.lower().split("x"))
            results = compare(width, height, args.frames, args.rounds, reference, Path(scratch))
            report(f"{width}x{height}, {args.rounds} x {args.frames} frames each; load average now {load_average()}",
                   results)


if __name__ == "__main__":
    main()
