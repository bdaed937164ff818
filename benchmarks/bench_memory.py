"""Peak traced memory of rendering one frame of a very large image (the reliability goal: 8000x8000 within 3 GB).

Run: ``.venv/bin/python benchmarks/bench_memory.py [--width 8000 --height 8000] [--channels 3] [--amplitude 3]
[--frames 1] [--stages]``

What is measured: ``tracemalloc``'s peak (numpy's buffers and Python objects; native allocations of OpenCV's PNG
encoder are not traced) while :func:`image_dynamics.bake.bake` renders one frame (``--frames 20:21``) of the image
under procedural motion (``--amplitude`` grid pixels on a 256-pixel grid: 3 moves up to about 100 pixels at
8000x8000, a spread of splat importance that makes the splat sums float64, the larger case; 0.5 keeps them float32)
and writes it as an 8-bit PNG through the atomic commit, the way ``image-dynamics render``
does. The decoded input image (float32 ``[H, W, C]``, 0.77 GB at 8000x8000 RGB) is made before tracing starts and is
not counted, as in ``limits.RENDER_BYTES_PER_PIXEL``. The numba kernels are compiled on a small image first.

``--stages`` also prints the peak of each step on its own (renderer set-up, one full-resolution flow, the warp, the PNG
encoding) with what each step keeps alive, to show where the peak comes from.

``--speed`` also times the warp of one frame splatted in windows against the whole frame at once (untraced, best of
two), to show what the windows cost.

The last line compares the measurement with ``limits.render_memory`` (the estimate every entry point checks against
the available memory): the estimate must not be below it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI does

import argparse  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from image_dynamics import io, limits  # noqa: E402
from image_dynamics.bake import OutputSpec, bake  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings, plan  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "core/image_dynamics/samples/forest.jpg"
GB = 1e9


def make_image(width: int, height: int, channels: int) -> io.LoadedImage:
    """The sample photograph resized to ``width`` x ``height``: float32 ``[H, W, channels]`` sRGB 0..1."""
    src = io.read_image(SAMPLE).pixels[..., :3]
    pixels = cv2.resize(src, (width, height), interpolation=cv2.INTER_LINEAR)
    if channels == 4:
        alpha = np.ones((height, width, 1), dtype=np.float32)
        alpha[: height // 8] = 0.0  # a transparent band: the RGBA path (premultiplication) really runs
        pixels = np.concatenate([pixels, alpha], axis=2)
    return io.LoadedImage(pixels=np.ascontiguousarray(pixels, dtype=np.float32), colorspace="srgb", bit_depth=8,
                          has_alpha=channels == 4, path=SAMPLE)


def warm_up() -> None:
    """Compile every numba kernel the render uses on a small image (compilation allocates too)."""
    small = make_image(96, 96, 3)
    motion = procedural_motion(small.pixels, params=ProceduralParams(strength_px=4.0, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        for channels in (3, 4):
            image = make_image(96, 96, channels)
            bake(image, plan(motion, RenderSettings(frames=(20, 21))), OutputSpec(Path(tmp), f"w{channels}"))


def measure_bake(image: io.LoadedImage, motion, folder: Path, frames: int) -> tuple[int, float]:
    """Peak traced bytes and seconds of ``bake`` writing frames 20 .. 20 + frames - 1 as PNGs."""
    render_plan = plan(motion, RenderSettings(frames=(20, 20 + frames)))
    spec = OutputSpec(folder, "big", formats=("png",))
    tracemalloc.start()
    started = time.perf_counter()
    bake(image, render_plan, spec)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, seconds


def measure_stages(image: io.LoadedImage, motion) -> None:
    """Peak of each step, each one traced on its own, and what stays allocated after it."""
    render_plan = plan(motion, RenderSettings(frames=(20, 21)))
    tracemalloc.start()
    steps = []

    def step(name: str, fn):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
        steps.append((name, peak - before, current))
        return result

    renderer = step("renderer set-up (upsampler, importance, warper)",
                    lambda: FrameRenderer(image.pixels, render_plan.motion))
    flow = step("one full-resolution flow", lambda: next(renderer.flows(render_plan.times)))
    frame = step("warp (splat, normalise, fill holes)", lambda: renderer.frame(flow))
    step("PNG encoding (uint8 copy; the encoder's own buffers are not traced)",
         lambda: io.to_display_uint8(frame, image.colorspace))
    tracemalloc.stop()
    for name, peak, current in steps:
        print(f"  {name:<72} peak +{peak / GB:5.2f} GB, then held {current / GB:5.2f} GB")


def renderer_sums_float64(image: io.LoadedImage, motion) -> bool:
    """Whether the splat sums of this image and motion are float64 (importance spread above 50)."""
    from image_dynamics import frames, render, spectral

    scaled = frames.to_image_pixels(motion, image.width, image.height)
    grid = spectral.mean_motion_magnitude(scaled, frames.weight_times(scaled))
    return float(grid.max() - grid.min()) > render.FLOAT32_LOG_RANGE


def measure_speed(image: io.LoadedImage, motion) -> None:
    """Seconds of one warp in windows (the default above 9 megapixels) and of the whole frame at once, best of 2."""
    from image_dynamics import render

    render_plan = plan(motion, RenderSettings(frames=(20, 21)))
    renderer = FrameRenderer(image.pixels, render_plan.motion)
    flow = next(renderer.flows(render_plan.times))
    whole = render.Warper(renderer.image, renderer.importance, window_rows=renderer.height)
    out = np.empty_like(renderer.image)
    for name, warper in (("windows", renderer.warper), ("whole frame", whole)):
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            warper.warp(flow, out)
            best = min(best, time.perf_counter() - started)
        print(f"  warp of one frame, {name}: {best:.2f} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=8000)
    ap.add_argument("--height", type=int, default=8000)
    ap.add_argument("--channels", type=int, choices=(3, 4), default=3)
    ap.add_argument("--amplitude", type=float, default=3.0, help="motion amplitude in grid pixels (default 3)")
    ap.add_argument("--frames", type=int, default=1, help="frames to bake (default 1)")
    ap.add_argument("--stages", action="store_true", help="also trace each step on its own")
    ap.add_argument("--speed", action="store_true", help="also time the warp in windows against the whole frame")
    args = ap.parse_args(argv)

    warm_up()
    image = make_image(args.width, args.height, args.channels)
    small = cv2.resize(image.pixels, (256, round(256 * args.height / args.width)), interpolation=cv2.INTER_AREA)
    motion = procedural_motion(small, params=ProceduralParams(strength_px=args.amplitude, seed=1))
    pixels = args.width * args.height
    print(f"{args.width}x{args.height} {'RGBA' if args.channels == 4 else 'RGB'} ({pixels / 1e6:.0f} MP), motion grid "
          f"{motion.width}x{motion.height}, input image {image.pixels.nbytes / GB:.2f} GB (not counted); "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    if args.stages:
        measure_stages(image, motion)
    if args.speed:
        measure_speed(image, motion)
    with tempfile.TemporaryDirectory() as tmp:
        peak, seconds = measure_bake(image, motion, Path(tmp), args.frames)
    estimate = limits.render_memory(args.width, args.height, args.channels)
    sums = "float64" if renderer_sums_float64(image, motion) else "float32"
    print(f"{args.frames} frame(s) rendered and written as PNG in {seconds:.1f} s ({sums} splat sums): "
          f"peak traced memory {peak / GB:.2f} GB "
          f"({peak / pixels:.1f} bytes per pixel); process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB:.2f} GB (includes the input image)")
    verdict = "covers" if estimate.bytes >= peak else "is BELOW"
    print(f"limits.render_memory estimate {estimate.gb:.2f} GB ({estimate.bytes / pixels:.0f} B/px) {verdict} the "
          "measured peak")


if __name__ == "__main__":
    main()
