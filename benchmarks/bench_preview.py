"""The live preview: a 960x540 preview frame against the renderer before the fast frame path (child processes, as in
bench_render.py), its quality against the full-resolution bake, and the add-on's main-thread ticks and edit-to-frame
latency in a real ``bpy`` session playing a 1920x1080 image.

Run: ``.venv/bin/python benchmarks/bench_preview.py [--frames 30 --rounds 3 --seconds 8]``

Also: the engine's cost of an edit (re-plan, the edit's splat weight, the frame, Blender's pixel layout) on one thread.

Targets (issue 16): a preview frame (IDFT at grid resolution, upsampling, splat, hole fill) <= 20 ms on 2 cores; every
main-thread tick <= 20 ms; an edit shows in <= 0.1 s; preview frames within 1/255 mean absolute difference of the
bake's frames at the same size.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI and the add-on: idle numba threads sleep

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import ROOT, compare, load_average, machine, reference_commit, reference_source, report  # noqa: E402


def quality(scratch: Path, frames: int = 8) -> None:
    """Preview frames vs the engine at preview size (same maths) and vs the 1080p bake's frames downscaled."""
    import cv2
    from bench_render import test_scene

    from image_dynamics import spectral
    from image_dynamics.frames import FrameRenderer
    from image_dynamics.preview import PreviewPlayer
    from image_dynamics.settings import RenderSettings, plan

    image_path, motion_path = test_scene(1920, 1080, scratch)
    image, motion = np.load(image_path), spectral.load(motion_path)
    settings = RenderSettings(fps=24, loop_frames=120, strength=1.0)
    player = PreviewPlayer(image, motion, settings, clock=lambda: 0.0)
    render_plan = plan(motion, settings)
    bake = FrameRenderer(image, render_plan.motion)
    player.frame_count()  # prepares the preview image
    small = FrameRenderer(player.preview_pixels, render_plan.motion)
    width, height = player.size
    same, bake_mad, still_mad = [], [], []
    for index in np.linspace(5, 115, frames).astype(int):
        shown = player.render_index(int(index))
        times = render_plan.times[index:index + 1]
        engine = small.frame(small.displacement(small.grid_displacements(times)[0]))
        full = bake.frame(bake.displacement(bake.grid_displacements(times)[0]))
        downscaled = cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA)
        same.append(float(np.abs(shown - engine).max()))
        bake_mad.append(float(np.abs(shown - downscaled).mean()) * 255)
        still_mad.append(float(np.abs(player.preview_pixels - downscaled).mean()) * 255)
    print(f"quality, {width}x{height} preview of a 1920x1080 image, {frames} frames of a 120-frame loop:")
    print(f"  preview vs engine frame at preview size: largest |difference| {max(same):.2e}")
    print(f"  preview vs 1080p bake frame downscaled (area): mean |difference| {statistics.mean(bake_mad):.3f}/255 "
          f"(largest frame {max(bake_mad):.3f}/255)")
    print(f"  the still vs the same downscaled frames (how much they move): {statistics.mean(still_mad):.3f}/255")


def edit_cost(scratch: Path, repeats: int = 15) -> None:
    """The engine's side of an edit at 960x540, on this thread: re-plan (probe plan, the edit's splat weight, new
    softmax weights), the frame, and the pixel layout Blender takes; median and best of ``repeats``."""
    from dataclasses import replace

    from bench_render import test_scene

    from image_dynamics import spectral
    from image_dynamics.preview import FastPlan, PreviewPlayer, bottom_up_rgba, mean_motion_magnitude
    from image_dynamics.settings import RenderSettings

    image_path, motion_path = test_scene(1920, 1080, scratch)
    image, motion = np.load(image_path), spectral.load(motion_path)
    settings = RenderSettings(fps=24, loop_frames=120, strength=1.0)
    player = PreviewPlayer(image, motion, settings, clock=lambda: 0.0)
    for index in range(3):
        player.step(index / 24)  # prepares, warms the kernels up
    volume, stacked = player._volume, player._stacked
    stages: dict[str, list[float]] = {}

    def timed(name, call, *args):
        began = time.perf_counter()
        result = call(*args)
        stages.setdefault(name, []).append(time.perf_counter() - began)
        return result

    for repeat in range(repeats):
        edited = replace(settings, strength=1.0 + 0.1 * (repeat % 2 + 1))
        fast = timed("probe plan", FastPlan.make, volume, edited)
        timed("splat weight of the edit (60 frames on the grid)", mean_motion_magnitude, fast, stacked,
              volume.height, volume.width)
        player.update(edited)
        frame = timed("update + step: re-plan and the frame due (960x540)", player.step, 37 / 24)
        timed("frame in Blender's layout (bottom_up_rgba)", bottom_up_rgba, frame.pixels)
    print(f"edit at {player.size[0]}x{player.size[1]} on one thread (engine), {repeats} edits:")
    for name, seconds in stages.items():
        print(f"  {name:52s} median {1000 * statistics.median(seconds):6.2f} ms, best {1000 * min(seconds):6.2f} ms")


def blender_session(seconds: float, edit_every: float = 0.5) -> None:
    """Play a 1920x1080 image through the add-on (worker thread), tick when the timer would (the interval each tick
    returns), edit Strength."""
    try:
        import bpy
    except ImportError:
        print("bpy is not installed: the add-on's ticks were not measured")
        return
    import addon_utils  # ships with bpy, importable once bpy is

    from image_dynamics import io

    sys.path.insert(0, str(ROOT))
    from blender_addon import preview

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 150
    scene.render.fps, scene.render.fps_base = 24, 1.0
    with tempfile.TemporaryDirectory(prefix="bench_preview_") as scratch:
        import cv2

        src = io.read_image(ROOT / "core/image_dynamics/samples/forest.jpg").pixels
        full = cv2.resize(src, (1920, 1080), interpolation=cv2.INTER_CUBIC).clip(0, 1).astype(np.float32)
        path = io.write_png(Path(scratch) / "forest.png", full, "srgb")
        scene.image_dynamics.image = bpy.data.images.load(str(path))
        scene.image_dynamics.amplitude_px = 8.0
        began = time.perf_counter()
        session = preview.play(bpy.context, threaded=True)
        play_ms = 1000 * (time.perf_counter() - began)
        start = time.monotonic()
        while not session.swaps and time.monotonic() - start < 120:
            time.sleep(preview.tick() or preview.TICK_S)
        first_frame_s = time.monotonic() - start
        session.tick_seconds.clear()
        session.tick_cpu_seconds.clear()
        swaps_before = len(session.swaps)
        start = last_edit = time.monotonic()
        strength = 1.0
        while time.monotonic() - start < seconds:
            if time.monotonic() - last_edit > edit_every:
                strength = 2.0 if strength == 1.0 else 1.0
                scene.image_dynamics.strength = strength
                last_edit = time.monotonic()
            time.sleep(preview.tick() or preview.TICK_S)  # as Blender's timer: the interval the tick returns
        ticks = sorted(session.tick_seconds)
        tick_cpu = sorted(session.tick_cpu_seconds)
        swapped = len(session.swaps) - swaps_before
        latency, rendered = session.edit_latency, session.edit_rendered
        preview.stop()
        session.player.join(10)
    width, height = session.player.size
    print(f"add-on, 1920x1080 image previewed at {width}x{height}, 24 fps scene, {seconds:g} s, Strength edited every "
          f"{edit_every:g} s:")
    print(f"  Play click (pixel copy, player, preview image) {play_ms:.1f} ms on the main thread; first frame after "
          f"{first_frame_s:.2f} s (motion computed)")
    print(f"  {swapped / seconds:.1f} frames swapped per second; {len(ticks)} ticks: median "
          f"{1000 * statistics.median(ticks):.2f} ms, 99th percentile {1000 * ticks[int(0.99 * (len(ticks) - 1))]:.2f} "
          f"ms, longest {1000 * ticks[-1]:.2f} ms; main-thread CPU time in a tick: median "
          f"{1000 * statistics.median(tick_cpu):.2f} ms, longest {1000 * tick_cpu[-1]:.2f} ms")
    if latency:
        print(f"  edit to swapped frame: {len(latency)} edits, median {1000 * statistics.median(latency):.1f} ms, "
              f"longest {1000 * max(latency):.1f} ms; of which edit to the frame published (re-plan, waiting for the "
              f"frame in flight, rendering): median {1000 * statistics.median(rendered):.1f} ms, longest "
              f"{1000 * max(rendered):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30, help="frames timed per child process")
    ap.add_argument("--rounds", type=int, default=3, help="reference/current child pairs")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the add-on session")
    ap.add_argument("--reference", default=None, help="git revision of the reference renderer")
    args = ap.parse_args()
    commit = reference_commit(args.reference)
    print(f"{machine()}; reference {commit[:10]}; load average before {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench_preview_") as scratch:
        results = compare(960, 540, args.frames, args.rounds, reference_source(commit), Path(scratch),
                          paths=("grid",))
        report(f"960x540 preview frame, {args.rounds} x {args.frames} frames each; load average now "
               f"{load_average()}", results)
        quality(Path(scratch))
        edit_cost(Path(scratch))
    blender_session(args.seconds)
    print(f"load average after {load_average()}")


if __name__ == "__main__":
    main()
