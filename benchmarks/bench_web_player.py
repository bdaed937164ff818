"""Frame time of the web player in headless Chromium at 1080p (software renderer, or the GPU with --gpu).

Run: ``.venv/bin/python benchmarks/bench_web_player.py [--frames 20] [--width 1920 --height 1080] [--gpu]``

Exports the bundled forest photograph (resized to the size asked) under procedural motion with ``export_web``, opens
``index.html?bench=N`` by its file:// URL in headless Chromium and prints what the page measured: the mean and median
time of one frame (inverse DFT, upsampling, splatting every pixel, hole filling, drawing), each frame waited for with
a one-pixel ``readPixels``, and a per-stage breakdown. Without ``--gpu`` WebGL2 runs on SwiftShader (on the CPU): that
figure is a software renderer's, not a GPU's. The engine's own frame time at the same size is printed beside it.

``--compare-mesh`` also measures the alternative the player was chosen against: a mesh warp in the style of the GID
authors' web demo (``benchmarks/web_mesh_warp.js``, injected into a copy of the page): its frame time, and how far
each warp's frame is from the engine's at the same size (mean absolute difference, overall and over the pixels the
engine moves by more than 4/255).
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from image_dynamics import io
from image_dynamics.frames import FrameRenderer
from image_dynamics.procedural import ProceduralParams, procedural_motion
from image_dynamics.settings import RenderSettings, plan
from image_dynamics.web import export_web
from image_dynamics.web.browser import HeadlessChromium

SAMPLE = Path(__file__).resolve().parents[1] / "core/image_dynamics/samples/forest.jpg"


def load_sample(width: int, height: int) -> io.LoadedImage:
    src = io.read_image(SAMPLE)
    pixels = cv2.resize(src.pixels, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    return io.LoadedImage(pixels=pixels.astype(np.float32), colorspace="srgb", bit_depth=8, has_alpha=False,
                          path=SAMPLE)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


COMPARE_FRAME = 37
MESH_SCRIPT = Path(__file__).with_name("web_mesh_warp.js")
TIME_MESH = """
(() => {
  const player = imageDynamicsPlayer.player;
  meshWarp.render(player, 1, false);
  const start = performance.now();
  for (let i = 0; i < %d; i++) meshWarp.render(player, (i * 7 + 1) %% player.osc.loop, false);
  const ms = (performance.now() - start) / %d;
  const bytes = meshWarp.render(player, %d, true);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return {ms, pixels: btoa(s)};
})()
"""


def compare_mesh(browser: HeadlessChromium, index: Path, image: io.LoadedImage, motion, frames: int) -> dict:
    """Frame time and difference from the engine of the player (points) and of the mesh warp, at the image's size."""
    page = index.read_text(encoding="utf-8")
    mesh_page = index.with_name("mesh.html")
    mesh_page.write_text(page.replace("</body>", "<script>\n" + MESH_SCRIPT.read_text() + "\n</script>\n</body>"),
                         encoding="utf-8")
    if browser.open(mesh_page.resolve().as_uri() + f"?frame={COMPARE_FRAME}", timeout=1200) != "ready":
        raise SystemExit(f"the page did not run: {browser.message()}")
    height, width = image.height, image.width
    points = np.frombuffer(base64.b64decode(browser.evaluate("imageDynamicsPlayer.readPixelsBase64()")), np.uint8)
    mesh = browser.evaluate(TIME_MESH % (frames, frames, COMPARE_FRAME))
    mesh_px = np.frombuffer(base64.b64decode(mesh["pixels"]), np.uint8)
    render_plan = plan(motion, RenderSettings())
    renderer = FrameRenderer(image.pixels, render_plan.motion)
    time_of_frame = COMPARE_FRAME * render_plan.motion.fps / render_plan.fps
    engine = io.to_display_uint8(next(renderer.frames(np.array([time_of_frame]))), "srgb").astype(np.int16)
    still = io.to_display_uint8(image.pixels, "srgb").astype(np.int16)
    moving = np.abs(engine - still).max(axis=2) > 4
    out = {}
    for name, pixels, ms in (("player (points, softmax splat)", points, None), ("mesh warp (GID demo style)", mesh_px,
                                                                                mesh["ms"])):
        frame = pixels.reshape(height, width, 4)[..., :3].astype(np.int16)
        out[name] = {"ms": ms if ms is not None else float("nan"), "mad": float(np.abs(frame - engine).mean()),
                     "mad_moving": float(np.abs(frame - engine)[moving].mean()),
                     "engine_motion": float(np.abs(engine - still)[moving].mean())}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--gpu", action="store_true", help="let Chromium use the GPU instead of SwiftShader")
    ap.add_argument("--compare-mesh", action="store_true", help="also measure the mesh-warp alternative")
    args = ap.parse_args(argv)

    image = load_sample(args.width, args.height)
    motion = procedural_motion(image.pixels, params=ProceduralParams(strength_px=8.0, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        result = export_web(image, motion, Path(tmp) / "player", RenderSettings())
        print(f"page: {result.size_bytes / 1e6:.2f} MB ({result.width}x{result.height} image, {result.bands} bands "
              f"on a {result.grid[1]}x{result.grid[0]} grid)")
        with HeadlessChromium(gpu=args.gpu, window=(args.width, args.height + 200), timeout=1200) as browser:
            url = result.index.resolve().as_uri() + f"?bench={args.frames}"
            state = browser.open(url, timeout=1200)
            if state != "ready":
                raise SystemExit(f"the page did not run: {browser.message()}")
            bench = browser.evaluate("window.imageDynamicsBench")
            if args.compare_mesh:
                compared = compare_mesh(browser, result.index, image, motion, args.frames)
    print(f"browser ({bench['renderer']}, float blend {bench['float_blend']}): {bench['width']}x{bench['height']}, "
          f"{bench['frames']} frames: mean {bench['mean_ms']:.1f} ms, median {bench['median_ms']:.1f} ms per frame")
    print("  stages (each waited for): " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in bench["stages_ms"].items()))

    render_plan = plan(motion, RenderSettings())
    renderer = FrameRenderer(image.pixels, render_plan.motion)
    times = render_plan.times[1:6]
    next(renderer.frames(times[:1]))  # JIT warm-up
    start = time.perf_counter()
    for _ in renderer.frames(times):
        pass
    engine_ms = (time.perf_counter() - start) / len(times) * 1000
    print(f"engine (numba, {os.cpu_count()} CPU threads): {engine_ms:.1f} ms per frame at the same size")
    if args.compare_mesh:
        for name, row in compared.items():
            print(f"{name}: {row['ms']:.1f} ms per frame; vs the engine's frame {COMPARE_FRAME}: mean abs diff "
                  f"{row['mad']:.2f}/255 overall, {row['mad_moving']:.2f}/255 on the moving pixels (the engine moves "
                  f"them by {row['engine_motion']:.2f}/255)")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
