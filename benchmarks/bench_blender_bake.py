"""Clicking Bake in Blender against the engine's own bake: 1080p, 150 frames, PNG, in one process.

Run: ``.venv/bin/python benchmarks/bench_blender_bake.py [--frames 150] [--width 1920 --height 1080]``

1. engine: ``image_dynamics.bake.bake`` on the image's pixels with the same motion and plan (the reference);
2. add-on: what a click on Bake does (``scene.bake_job`` reads the settings and copies the pixels out of the Blender
   image on the main thread, a worker thread runs predict-from-cache + the same engine bake, and the main thread polls
   every 0.1 s as the modal operator's timer does, the last poll recording the result on the image).

Both use motion already in the cache (Predict was pressed before). The two alternate ``--repeats`` times (the machine is
shared, so single runs vary by 20-30 %); the best of each is compared. Prints the times, the add-on's overhead and the
longest main-thread callbacks (reading settings and pixels, and each poll).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core" / "image_dynamics" / "samples" / "forest.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import bpy

    addon_utils = importlib.import_module("addon_utils")  # Blender's own module: importable once bpy is

    from image_dynamics import io
    from image_dynamics.bake import OutputSpec, bake
    from image_dynamics.jobs import Progress

    sys.path.insert(0, str(ROOT))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    from blender_addon import jobs, motion
    from blender_addon import scene as scene_module

    work = Path(tempfile.mkdtemp(prefix="bench_blender_"))
    pixels = cv2.resize(io.read_image(SAMPLE).pixels, (args.width, args.height), interpolation=cv2.INTER_CUBIC)
    still = io.write_png(work / "still.png", pixels.clip(0, 1), "srgb")
    bpy.ops.wm.save_as_mainfile(filepath=str(work / "bench.blend"))
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, args.frames
    scene.render.fps, scene.render.fps_base = 30, 1.0
    image = bpy.data.images.load(str(still))
    scene.image_dynamics.image = image
    bpy.context.preferences.addons["blender_addon"].preferences.cache_dir = str(work / "cache")
    assert bpy.ops.image_dynamics.predict() == {"FINISHED"}

    # 1. the engine alone, on the same pixels, motion and plan
    scene.image_dynamics.overwrite = True
    request = scene_module.bake_request(bpy.context, image)
    volume = motion.compute(request.motion, Progress()).volume
    from image_dynamics.settings import plan

    render_plan = plan(volume, request.settings)
    loaded = io.LoadedImage(request.motion.pixels, "srgb", 8, False, still)
    engine_runs, addon_runs, clicks, polls = [], [], [], []
    for _ in range(args.repeats):
        began = time.perf_counter()
        bake(loaded, render_plan, OutputSpec(folder=work / "engine", stem="still", overwrite=True), Progress())
        engine_runs.append(time.perf_counter() - began)

        # 2. the add-on, as a click: request on the main thread, worker thread, polling every 0.1 s
        began = time.perf_counter()
        job = scene_module.bake_job(bpy.context, image)
        clicks.append(time.perf_counter() - began)
        jobs.begin(job, threaded=True)
        while not job.poll():
            time.sleep(jobs.POLL_INTERVAL_S)
        jobs.release(job)
        addon_runs.append(time.perf_counter() - began)
        assert job.state == jobs.DONE, job.message
        polls += job.poll_seconds
    engine_s, addon_s = min(engine_runs), min(addon_runs)
    print(f"{args.frames} frames {args.width}x{args.height} PNG, best of {args.repeats} alternating runs")
    print(f"  engine bake:           {engine_s:6.2f} s ({args.frames / engine_s:.2f} frames/s); runs "
          + ", ".join(f"{t:.2f}" for t in engine_runs))
    print(f"  add-on, click to done: {addon_s:6.2f} s ({addon_s / engine_s:.3f}x the engine, "
          f"{addon_s - engine_s:+.2f} s); runs " + ", ".join(f"{t:.2f}" for t in addon_runs))
    print(f"  main thread: reading settings and pixels {max(clicks) * 1000:.1f} ms, "
          f"longest of {len(polls)} polls {max(polls) * 1000:.2f} ms")
    written = sorted((work / "image_dynamics" / "still").glob("still_*.png"))
    same = all(np.array_equal(io.read_image(a).pixels, io.read_image(work / "engine" / a.name).pixels)
               for a in written[:: max(1, len(written) // 5)])
    print(f"  add-on frames equal the engine's (sampled): {same}; files in {work}")


if __name__ == "__main__":
    main()
