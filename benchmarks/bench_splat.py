"""Time softmax splatting + hole filling of one 1920x1080 RGB frame: numba, numpy, and a torch-eager reference.

Run: ``.venv/bin/python benchmarks/bench_splat.py [--height 1080 --width 1920 --rounds 15]``

The torch reference is written here the way community re-implementations of softmax splatting do it on the CPU:
float32 coordinates, four bilinear taps, ``index_add_`` per tap, ``torch.set_num_threads(2)``, and the plain
normalise ``accum / (weight_sum + 1e-7)`` (holes stay black). Our paths also fill holes (push-pull), so their numbers
include more work. All paths get the same frame and a realistic displacement: a smooth field of a few pixels,
upsampled from a model-sized grid (256x160) like the engine's frames, with GID's importance ``W = |d|``-style weights.

Prints ms/frame (median and best of the timed rounds, after warm-up so no JIT compile is timed) and the speed-up of
each path over the torch reference measured in the same process.

Thread pools: numba (OpenMP layer) and torch each bring their own OpenMP runtime, whose idle threads busy-wait after
every parallel region; on 2 shared cores the two runtimes then slow each other down several-fold, and interleaved
timings measure that fight rather than either path. The script therefore defaults to ``OMP_WAIT_POLICY=PASSIVE``
(threads sleep when idle); run with ``OMP_WAIT_POLICY=ACTIVE`` to see the difference.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before numba/torch load their OpenMP runtimes

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import cv2  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

from image_dynamics import render  # noqa: E402


def realistic_frame(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGB image with edges and texture, a smooth displacement field (peak ~4 px) and its importance map."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((height // 8, width // 8, 3), dtype=np.float32)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_NEAREST)  # blocks: hard edges
    image += 0.1 * rng.random((height, width, 3), dtype=np.float32)  # fine texture
    model_grid = rng.normal(size=(160, 256, 2)).astype(np.float32)
    model_grid = cv2.GaussianBlur(model_grid, (0, 0), 6)
    model_grid *= 4.0 / np.abs(model_grid).max()
    flow = cv2.resize(model_grid, (width, height), interpolation=cv2.INTER_CUBIC).transpose(2, 0, 1)
    flow = np.ascontiguousarray(flow, dtype=np.float32)
    importance = np.hypot(flow[0], flow[1]).astype(np.float32)
    return np.clip(image, 0, 1), flow, importance


def torch_reference(torch):
    """Softmax splat + plain normalise in torch eager, as community CPU ports write it."""

    def splat(image, flow, importance, beta: float = 1.0):
        height, width, channels = image.shape
        gy, gx = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                                indexing="ij")
        tx, ty = gx + flow[0], gy + flow[1]
        x0, y0 = torch.floor(tx), torch.floor(ty)
        ax, ay = tx - x0, ty - y0
        x0, y0 = x0.long(), y0.long()
        metric = beta * importance
        e = torch.exp(metric - metric.max())
        values = image.reshape(-1, channels)
        accum = torch.zeros(height * width, channels, dtype=torch.float32)
        weight_sum = torch.zeros(height * width, dtype=torch.float32)
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            xx, yy = x0 + dx, y0 + dy
            w = (ax if dx else 1 - ax) * (ay if dy else 1 - ay) * e
            valid = ((xx >= 0) & (xx < width) & (yy >= 0) & (yy < height)).reshape(-1)
            index = (yy * width + xx).reshape(-1)[valid]
            w = w.reshape(-1)[valid]
            accum.index_add_(0, index, values[valid] * w[:, None])
            weight_sum.index_add_(0, index, w)
        normalised = accum / (weight_sum[:, None] + 1e-7)
        return normalised.reshape(height, width, channels), weight_sum.reshape(height, width)

    return splat


def time_rounds(fn: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per fast path (numpy: a third)")
    args = parser.parse_args()

    image, flow, importance = realistic_frame(args.height, args.width)
    paths: dict[str, Callable[[], object]] = {}

    def ours(backend: str, fill: bool = True) -> Callable[[], object]:
        def run():
            accum, weight_sum = render.softmax_splat(image, flow, importance, backend=backend)
            return render.fill_holes(accum, weight_sum, backend=backend) if fill else accum

        return run

    paths["numba splat+fill"] = ours("numba")
    paths["numba splat only"] = ours("numba", fill=False)
    paths["numpy splat+fill"] = ours("numpy")
    try:
        import torch
    except ImportError as exc:  # the train extra is not installed
        torch = None
        print(f"torch unavailable ({exc}); no reference column")
    if torch is not None:
        torch.set_num_threads(2)
        splat_torch = torch_reference(torch)
        t_image, t_flow, t_importance = (torch.from_numpy(a) for a in (image, flow, importance))
        paths["torch eager splat+normalise"] = lambda: splat_torch(t_image, t_flow, t_importance)

    # Same answer where pixels are covered (the paths differ only in hole handling).
    ours_out = paths["numba splat+fill"]()
    if torch is not None:
        t_out, t_w = splat_torch(t_image, t_flow, t_importance)
        covered = t_w.numpy() > 1e-3
        print(f"max |numba - torch| on covered pixels: {np.abs(ours_out - t_out.numpy())[covered].max():.2e}")
    holes = int((render.softmax_splat(image, flow, importance)[1] == 0).sum())
    print(f"frame {args.width}x{args.height} RGB, |d| max {np.abs(flow).max():.2f} px, holes filled: {holes}")

    for fn in paths.values():  # warm-up: JIT compile (cached on disk after the first run), caches, allocator
        fn()
    results: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):  # interleaved so load from other users of the machine hits every path alike
        for name, fn in paths.items():
            if name.startswith("numpy") and len(results[name]) >= max(3, args.rounds // 3):
                continue
            results[name] += time_rounds(fn, 1)

    one_thread = {}
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    one_thread["numba splat+fill, 1 thread"] = time_rounds(paths["numba splat+fill"], max(5, args.rounds // 2))
    numba.set_num_threads(threads)
    results.update(one_thread)

    ref = statistics.median(results["torch eager splat+normalise"]) if torch is not None else None
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {threads} numba threads "
          f"({numba.threading_layer()} layer, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}), "
          f"torch {torch.__version__ if torch else '-'} with {torch.get_num_threads() if torch else '-'} threads")
    print(f"{'path':34s} {'median ms':>10s} {'best ms':>9s} {'speed-up vs torch':>18s}")
    for name, times in results.items():
        med, best = 1000 * statistics.median(times), 1000 * min(times)
        ratio = f"{1000 * ref / med:17.2f}x" if ref else f"{'-':>18s}"
        print(f"{name:34s} {med:10.1f} {best:9.1f} {ratio}")


if __name__ == "__main__":
    main()
