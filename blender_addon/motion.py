"""Where motion comes from, and the caches that keep edits from ever recomputing it (worker thread; no ``bpy``).

A :class:`MotionRequest` is built on the main thread from the scene settings and the image's pixels (plain data);
:func:`compute` runs in a worker and returns the spectral volume from, in order: the in-memory cache, the engine's
disk cache (``image_dynamics.model.cache``, in the preferences' Cache Folder, which Clear Cache empties), or the
source itself (procedural, the motion model, or a motion file). Model predictions are cached by the engine's own
predictor (its key: pixels, model package sha256, seed, sampler settings, colour encoding); procedural motion is
stored in the same folder under this module's key. Nothing is cached twice.

The in-memory key covers the image's pixels and everything that shapes the *predicted* motion (source, seed, steps,
guidance, model package and its sha256, procedural parameters, file), and nothing that is an edit (strength, gains,
cuts, decay, loop, mask): changing an edit reuses the cached volume and only re-bakes.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import engine
from .engine import UserError

SOURCES = ("MODEL", "PROCEDURAL", "FILE")
#: Volumes kept in memory (a 256x160 grid with 16 bands is 10 MB).
MEMORY_CACHE_SIZE = 8

_memory: collections.OrderedDict[str, Any] = collections.OrderedDict()
_summaries: dict[str, MotionSummary] = {}
_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class MotionRequest:
    """Everything needed to produce the motion of one image, as plain data.

    Attributes:
        image_name: the Blender image (for messages and to record the result).
        pixels: float32 ``[H, W, C]`` top-down engine pixels (see ``blender_image.image_pixels``).
        colorspace: ``'srgb'`` or ``'linear'``.
        source: ``'MODEL'``, ``'PROCEDURAL'`` or ``'FILE'``.
        seed, steps, guidance: model sampling settings (0 steps / 0 guidance: the model's defaults; seed also seeds
            the procedural source).
        procedural: keyword arguments of ``image_dynamics.procedural.ProceduralParams`` (seed excluded).
        motion_file: absolute path of the ``.npz`` for the FILE source.
        package_path: folder of the model package (MODEL source), as resolved on the main thread.
        package_sha256: that package's sha256 (``ModelPackage.sha256``): part of every cache key of its motion.
        provider: where the model runs: ``'auto'``, ``'cuda'`` or ``'cpu'`` (preferences > Compute Device).
        cache_dir: folder of the disk cache (preferences > Cache Folder), '' for none.
    """

    image_name: str
    pixels: np.ndarray
    colorspace: str
    source: str
    seed: int = 0
    steps: int = 0
    guidance: float = 0.0
    procedural: dict[str, float] = field(default_factory=dict)
    motion_file: str = ""
    package_path: str = ""
    package_sha256: str = ""
    provider: str = "auto"
    cache_dir: str = ""

    def key(self) -> str:
        """Cache key: SHA-1 of the pixels and of the settings that shape the predicted motion."""
        digest = hashlib.sha1()
        digest.update(json.dumps([list(self.pixels.shape), self.colorspace, self.source]).encode())
        if self.source == "FILE":
            try:
                stat = os.stat(self.motion_file)
                digest.update(json.dumps([self.motion_file, stat.st_mtime_ns, stat.st_size]).encode())
            except OSError:
                digest.update(self.motion_file.encode())
            return "file-" + digest.hexdigest()[:20]
        digest.update(np.ascontiguousarray(self.pixels, dtype=np.float32).tobytes())
        settings: dict[str, Any] = {"seed": self.seed}
        if self.source == "MODEL":
            settings.update(steps=self.steps, guidance=self.guidance, package=self.package_path,
                            package_sha256=self.package_sha256)
        else:
            settings.update(self.procedural)
        digest.update(json.dumps(settings, sort_keys=True).encode())
        return f"{self.source.lower()}-{digest.hexdigest()[:20]}"


@dataclass(frozen=True)
class MotionSummary:
    """What the panels show about a volume: bands, grid, and each band's share of the motion energy."""

    key: str
    grid: tuple[int, int]
    freqs_hz: tuple[float, ...]
    energy_share: tuple[float, ...]
    rms_px: float


@dataclass(frozen=True, eq=False)
class MotionResult:
    """A computed (or cached) volume and where it came from: ``'memory'``, ``'disk'``, ``'file'`` or ``'computed'``."""

    key: str
    volume: Any
    origin: str
    seconds: float
    summary: MotionSummary
    image_name: str = ""


def summarize(key: str, volume) -> MotionSummary:
    """Band energies of a volume (engine's motion-energy definition, per band), for the spectrum plot."""
    from image_dynamics import spectral

    return MotionSummary(key, (volume.width, volume.height), tuple(float(f) for f in volume.freqs_hz),
                         tuple(float(e) for e in spectral.band_energy_share(volume)), spectral.rms_amplitude(volume))


def cached(key: str) -> Any | None:
    """The volume cached in memory under ``key``, or None."""
    with _lock:
        volume = _memory.get(key)
        if volume is not None:
            _memory.move_to_end(key)
        return volume


def remember(key: str, volume) -> None:
    with _lock:
        _memory[key] = volume
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_CACHE_SIZE:
            _memory.popitem(last=False)


def summary_for(image_name: str) -> MotionSummary | None:
    """The summary of the motion last delivered for an image (for panels), or None."""
    return _summaries.get(image_name)


def set_summary(image_name: str, summary: MotionSummary) -> None:
    _summaries[image_name] = summary


def clear_memory() -> None:
    """Forget every cached volume and summary (add-on disabled, or Clear Cache)."""
    with _lock:
        _memory.clear()
    _summaries.clear()


def _predict_model(request: MotionRequest, progress):
    """Run the motion model (worker thread): ``(volume, 'disk' | 'computed')``.

    The engine's predictor caches the result in the request's cache folder under its own key; the image goes in
    with its colour encoding (a linear EXR/HDR/16-bit image is not taken for sRGB).
    """
    from image_dynamics.model.package import ModelPackage
    from image_dynamics.model.predict import get_predictor

    package = ModelPackage.load(request.package_path, verify=False)
    if package.sha256 != request.package_sha256:
        raise UserError(f"The model package {request.package_path} changed while the job was starting; run it again.")
    predictor = get_predictor(package, request.provider)

    def on_step(done: int, total: int) -> None:
        if progress.stage != "predicting motion":
            progress.start("predicting motion", total)
        progress.advance()

    volume = predictor.predict(request.pixels, seed=request.seed, steps=request.steps or None,
                               guidance=request.guidance or None, progress=on_step, cancel=progress.cancel,
                               colorspace=request.colorspace, cache_folder=request.cache_dir or None)
    return volume, ("disk" if predictor.last_from_cache else "computed")


def _procedural(request: MotionRequest, progress):
    """Procedural motion (worker thread), through the engine's disk cache under the request's key."""
    from image_dynamics.model import cache as disk_cache
    from image_dynamics.procedural import ProceduralParams, procedural_motion

    folder = Path(request.cache_dir) if request.cache_dir else None
    key = request.key()
    if folder is not None:
        volume = disk_cache.load_cached(key, folder)
        if volume is not None:
            return volume, "disk"
    params = ProceduralParams(seed=request.seed, **request.procedural)
    progress.start("procedural motion", 1)
    volume = procedural_motion(request.pixels, params=params)
    progress.advance()
    if folder is not None and disk_cache.store(key, volume, folder) is None:
        print(f"image_dynamics: could not write the motion cache {disk_cache.cache_path(key, folder)}")
    return volume, "computed"


def compute(request: MotionRequest, progress) -> MotionResult:
    """The request's spectral volume (worker thread): memory cache, disk cache, or the source; then cached."""
    from image_dynamics import spectral

    engine.require()
    if request.source not in SOURCES:
        raise UserError(f"Unknown motion source {request.source!r}; choose one of {', '.join(SOURCES)}.")
    began = time.monotonic()
    key = request.key()
    volume = cached(key)
    origin = "memory"
    if volume is None:
        if request.source == "FILE":
            if not request.motion_file:
                raise UserError("Motion source is Motion File but no file is set. Choose a .npz motion file in "
                                "Image Dynamics > Motion, or switch the source to Procedural.")
            volume, origin = spectral.load(request.motion_file), "file"
        elif request.source == "MODEL":
            volume, origin = _predict_model(request, progress)
        else:
            volume, origin = _procedural(request, progress)
    remember(key, volume)
    return MotionResult(key, volume, origin, time.monotonic() - began, summarize(key, volume), request.image_name)


def save(volume, path: str | os.PathLike) -> Path:
    """Write a volume as a motion file (``.npz``), replacing an older one (the engine writes it atomically)."""
    from image_dynamics import spectral

    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise UserError(f"{path}: motion files are .npz; give the file name the .npz extension.")
    return spectral.save(volume, path, overwrite=True)
