"""``data render``: a resumable sharded dataset of Blender-rendered scenes with exact motion (no bpy here).

Sample ``i`` of a dataset made with seed ``S`` is the scene ``layout(sample_seed(S, i))`` (the seeds of
:func:`image_dynamics.data.synth.sample_seed`), rendered by worker processes that import :mod:`bpy` (see
:mod:`.worker`); this process only writes shards. ``dataset.json`` is rewritten after each shard, so a run that is
killed keeps every finished shard, and running the same command again resumes after the last one: at most one
shard's samples are rendered twice (an error in a scene keeps the samples before it, as a short shard).
``norm_stats.json`` (over known pixels only) is written when the run finishes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ... import spectral
from ...errors import CancelledError, InputError
from ...jobs import ordered_map
from .. import shards
from ..normalise import compute_norm_stats, save_norm_stats
from ..synth import sample_seed
from .motion import FPS
from .scene import FAMILIES, MAX_EXPOSURE_SHIFT, SOURCE
from .truth import NUM_BANDS, WINDOW_FRAMES


def _render_job(job: tuple) -> tuple:
    """Runs in a worker process: the only place this package's bpy side is imported."""
    import importlib
    import sys

    if "bpy" not in sys.modules:
        # a process spawned by one that imported bpy inherits the Blender script folders bpy put on sys.path, where
        # a Python-only `bpy` package would shadow the real module; bpy puts them back when it is imported
        sys.path[:] = [p for p in sys.path if not ("scripts" in Path(p).parts and
                                                   ("bpy" in Path(p).parts or "blender" in Path(p).parts))]
    return importlib.import_module(f"{__package__}.worker").render_job(job)


def generate_render_dataset(out_dir: str | os.PathLike, count: int, seed: int = 0, width: int = 256,
                            height: int = 160, shard_size: int = 8, samples: int = 16, workers: int = 1,
                            threads: int = 1, overwrite: bool = False, families: tuple[str, ...] | None = None,
                            exposure_stops: float = 0.0, progress: Callable[[int, int, float], None] | None = None,
                            cancel: Any = None) -> shards.DatasetInfo:
    """Render scenes into ``out_dir`` until it holds ``count`` samples, resuming a dataset that is already there.

    Args:
        out_dir: dataset folder; if it already holds a render dataset of the same size it is continued (unless
            ``overwrite``: then its shards are deleted first).
        count: total number of samples wanted (not the number to add).
        seed: dataset seed (training and held-out sets use different seeds, so their scenes differ).
        shard_size: samples per shard: what a killed run can lose.
        samples: Cycles samples per pixel (denoised).
        workers: rendering processes (0: render in this process, for tests and debugging); threads: Cycles
            threads per process (0: all cores).
        families: render only scenes of these families (None: all, in their usual proportions), drawn among them
            with their weights; recorded in ``source`` (``blender-v7 families=a,b``), so a folder resumes only with
            the same families.
        exposure_stops: shift every scene's exposure by this many stops (negative: darker), recorded in ``source``
            (``exposure=-1.9``) so a folder resumes only with the same shift; 0 renders the scenes as they are.
        progress: called as ``progress(done, count, seconds_per_sample)`` after each sample.
        cancel: object with ``cancelled`` or a callable, checked between samples; a cancelled run keeps what is
            written and can be resumed.
    """
    if int(count) < 1:
        raise InputError(f"--count must be at least 1, got {count}.")
    if int(width) < 32 or int(height) < 32:
        raise InputError(f"image size {width}x{height} is too small; use at least 32x32 (training uses 256x160).")
    families = tuple(dict.fromkeys(families)) if families else None
    unknown = [f for f in families or () if f not in FAMILIES]
    if unknown:
        raise InputError(f"--families: no family {unknown[0]!r}; choose among {', '.join(FAMILIES)}.")
    exposure_stops = float(exposure_stops)
    if not (math.isfinite(exposure_stops) and abs(exposure_stops) <= MAX_EXPOSURE_SHIFT):
        raise InputError(f"--exposure {exposure_stops:g}: give a shift in stops between -{MAX_EXPOSURE_SHIFT:g} and "
                         f"{MAX_EXPOSURE_SHIFT:g} (photographs sit about 1-2 stops below the renders: -1.9).")
    source = f"{SOURCE} families={','.join(families)}" if families else SOURCE
    if exposure_stops != 0.0:
        source += f" exposure={exposure_stops:g}"
    out_dir = Path(out_dir)
    freqs = spectral.harmonic_freqs(NUM_BANDS, WINDOW_FRAMES, FPS)
    if overwrite and (out_dir / shards.INDEX_NAME).exists():
        shards.remove_dataset(out_dir)
    if (out_dir / shards.INDEX_NAME).exists():
        writer = shards.ShardWriter.resume(out_dir, width, height, freqs, FPS, WINDOW_FRAMES, source, shard_size)
    else:
        writer = shards.ShardWriter(out_dir, width, height, freqs, FPS, WINDOW_FRAMES, source, shard_size)
    start = writer.count
    jobs = [(sample_seed(seed, i), int(width), int(height), int(threads), int(samples), families, exposure_stops)
            for i in range(start, int(count))]
    done, began = start, time.perf_counter()
    try:
        for sample_id, family, image, channels, known in _rendered(jobs, workers, cancel):
            writer.add_channels(image, channels, sample_id, family, known)
            done += 1
            if progress is not None:
                progress(done, int(count), (time.perf_counter() - began) / (done - start))
    except BaseException:
        try:  # keep the samples finished before the failure (a short shard), so nothing is rendered twice
            writer.close()
        except BaseException:
            writer.abandon()
        raise
    if writer.count == 0 and not writer._pending:
        writer.abandon()
        raise CancelledError(f"{out_dir}: rendering was cancelled before the first sample; nothing written.")
    info = writer.close()
    save_norm_stats(compute_norm_stats(info), info.norm_stats_path)
    return info


def parse_families(text: str | None) -> tuple[str, ...] | None:
    """``"rockery,lake"`` -> ``("rockery", "lake")``; None or blank -> None (every family)."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    return names or None


def _rendered(jobs: list[tuple], workers: int, cancel: Any):
    """Yield rendered samples in order from ``workers`` spawned processes (bpy is imported there only; ``workers`` 0
    renders here, for tests)."""
    return ordered_map(_render_job, jobs, workers, cancel, in_process=workers <= 0)
