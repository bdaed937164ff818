"""Numba's render kernels compiled once, at enable, by a child process, into a folder the extension owns.

The engine's splatting and resampling kernels are numba functions compiled on first use (about 25 s on one core) and
cached on disk. Left alone, that happens inside the first bake, behind a progress bar. So when the add-on is enabled,
:func:`start` points ``NUMBA_CACHE_DIR`` at the add-on's own folder (which also spares users without a writable home
folder numba's "no locator available" error at import) and starts a child Python that runs one tiny bake of each
kind, filling that cache. A bake that starts while the child still runs waits for it as a stage of its own
(:func:`wait`, "compiling render kernels"), then loads the compiled kernels from the cache. A cache from another CPU,
Python or path is ignored by numba, which is why nothing compiled is shipped in the zip.

This module imports neither ``bpy`` nor the add-on package: the child runs this very file (:data:`CHILD_RUN_NAME`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: numba's variable for its cache folder (read when numba is imported).
CACHE_ENV = "NUMBA_CACHE_DIR"
#: The stage a waiting bake shows.
STAGE = "compiling render kernels (first run only)"
#: Typical compile time of every kernel on one core, in seconds: the stage's scale (it never reaches its end early).
EXPECTED_S = 30
#: ``__name__`` under which the child runs this file.
CHILD_RUN_NAME = "__image_dynamics_warmup__"
#: Modules the child needs; without any of them there is nothing to compile (the add-on reports what is missing).
NEEDED = ("image_dynamics", "numba", "cv2", "PIL", "OpenEXR")

#: Engine modules holding numba kernels: their files' times are part of :func:`cache_stamp`.
KERNEL_MODULES = ("splat_kernels.py", "upsample.py")
#: The engine module whose import fixes where its kernels are cached (numba picks the folder at decoration).
KERNELS_MODULE = "image_dynamics.splat_kernels"
#: File (in the cache folder) saying which engine the cache was last filled for; a match skips the child.
STAMP = "warmup.json"

_child: subprocess.Popen | None = None
_started = 0.0
_lock = threading.Lock()


def configure(folder: str) -> str:
    """Make ``folder`` numba's cache folder unless the user set ``NUMBA_CACHE_DIR``; returns the folder in use."""
    chosen = os.environ.get(CACHE_ENV) or folder
    os.makedirs(chosen, exist_ok=True)
    os.environ[CACHE_ENV] = chosen
    numba = sys.modules.get("numba")
    if numba is not None:  # imported before the add-on was enabled: tell it too (kernels imported later use it)
        numba.config.CACHE_DIR = chosen
    return chosen


def dependencies_present() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in NEEDED)


def start(folder: str) -> subprocess.Popen | None:
    """Configure the cache folder and start the compiling child (``None`` when the engine or numba is missing, when the
    kernels were imported already in this process, so they keep the cache folder they found, or when the cache is
    filled for this engine already).

    The child inherits this process's module search path (``PYTHONPATH``: Blender adds the extension's own
    site-packages there) and writes its output to ``warmup.log`` in the cache folder.
    """
    global _child, _started
    folder = configure(folder)
    if not dependencies_present() or KERNELS_MODULE in sys.modules:
        return None  # nothing to compile with; or the kernels were imported before (they keep their cache folder)
    stop()
    stamp = cache_stamp()
    if _read_stamp(folder) == stamp:  # filled for this engine, numba and Python already
        return None
    env = {**os.environ, CACHE_ENV: folder,
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))}
    with open(os.path.join(folder, "warmup.log"), "wb") as log:
        child = subprocess.Popen([python_executable(), "-c", _CHILD_CODE, str(Path(__file__).resolve()),
                                  os.path.join(folder, STAMP), json.dumps(stamp)],
                                 env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    with _lock:
        _child, _started = child, time.monotonic()
    return child


def cache_stamp() -> dict[str, object]:
    """What the cache was compiled for: the engine's kernel files (path, time, size), numba and Python versions.

    Computed without importing the engine (enabling stays instant). numba checks its own cache entries too; this
    only saves starting a child that would find everything compiled already.
    """
    spec = importlib.util.find_spec("image_dynamics")
    folder = os.path.dirname(spec.origin) if spec is not None and spec.origin else ""
    kernels = {}
    for name in KERNEL_MODULES:
        try:
            info = os.stat(os.path.join(folder, name))
            kernels[name] = [os.path.join(folder, name), info.st_mtime_ns, info.st_size]
        except OSError:
            kernels[name] = None
    return {"kernels": kernels, "numba": importlib.metadata.version("numba"), "python": sys.version}


def _read_stamp(folder: str) -> dict[str, object] | None:
    try:
        with open(os.path.join(folder, STAMP), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def python_executable() -> str:
    """The Python interpreter of this Blender (``sys.executable`` is Python's, in Blender and in the bpy module)."""
    return sys.executable


def running() -> bool:
    with _lock:
        return _child is not None and _child.poll() is None


def wait(progress, timeout_s: float = 600.0) -> bool:
    """Worker thread: wait for a running child as the stage :data:`STAGE` (seconds as steps, Esc cancels).

    Returns True when there was a child to wait for. A child that does not finish within ``timeout_s`` is left
    alone (the bake then compiles what it needs itself).
    """
    with _lock:
        child, started = _child, _started
    if child is None or child.poll() is not None:
        return False
    progress.start(STAGE, EXPECTED_S)
    shown = 0
    while child.poll() is None and time.monotonic() - started < timeout_s:
        progress.cancel.raise_if_cancelled()
        elapsed = min(int(time.monotonic() - started), EXPECTED_S - 1)
        if elapsed > shown:
            progress.advance(elapsed - shown)
            shown = elapsed
        time.sleep(0.1)
    if shown < EXPECTED_S:
        progress.advance(EXPECTED_S - shown)
    return True


def stop() -> None:
    """End a running child (add-on disabled); what it compiled so far stays cached."""
    global _child
    with _lock:
        child, _child = _child, None
    if child is not None and child.poll() is None:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()


def warm_kernels() -> None:
    """Child process: a tiny bake of each kind the add-on makes, so that every kernel it calls gets compiled.

    8-bit RGB and float RGBA images, frames and both displacement maps; a small image (the serial splat) and one of
    256x256 pixels (the parallel one).
    """
    import numpy as np

    from image_dynamics.bake import OutputSpec, bake
    from image_dynamics.io import LoadedImage
    from image_dynamics.procedural import ProceduralParams, procedural_motion
    from image_dynamics.settings import RenderSettings, plan

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="image_dynamics_warmup_") as scratch:
        for size, channels, colorspace, fmt in ((24, 3, "srgb", "png"), (24, 4, "linear", "exr"),
                                                (256, 3, "srgb", "png")):
            pixels = rng.random((size, size, channels), dtype=np.float32)
            volume = procedural_motion(pixels, params=ProceduralParams(seed=0, coherence_px=8.0))
            render_plan = plan(volume, RenderSettings(fps=24.0, loop_frames=2, frames=(0, 2), mask_feather_px=2.0),
                               mask=np.ones((size, size), np.float32))
            image = LoadedImage(pixels, colorspace, 8 if colorspace == "srgb" else 32, channels == 4,
                                Path(f"warmup{size}{channels}"))
            spec = OutputSpec(folder=Path(scratch) / f"{size}_{channels}", stem="warmup", formats=(fmt,),
                              displacement=("forward", "compositor"), overwrite=True)
            bake(image, render_plan, spec)


#: Run in the child: load this file by path (no package, no bpy), call :func:`warm_kernels`, then write the stamp
#: (argv: this file, the stamp's path, the stamp as JSON).
_CHILD_CODE = ("import runpy, sys, time; began = time.monotonic(); "
               f"runpy.run_path(sys.argv[1], run_name={CHILD_RUN_NAME!r}); "
               "open(sys.argv[2], 'w', encoding='utf-8').write(sys.argv[3]); "
               "print(f'image_dynamics: render kernels compiled in {time.monotonic() - began:.1f} s', flush=True)")

if __name__ == CHILD_RUN_NAME:
    warm_kernels()
