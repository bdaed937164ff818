"""Predicted spectral volumes cached on disk, so edits and re-renders never run the model again.

A result is stored as a motion file ``<key>.npz`` in the cache folder (``$IMAGE_DYNAMICS_CACHE``, else
``$XDG_CACHE_HOME/image-dynamics/motion``, else ``~/.cache/image-dynamics/motion``), where the key is the sha256 of:
the image pixels (dtype, shape and bytes), the model package's hash (its ``model.json``, which lists every file's
hash), the seed, the sampler settings (steps, eta, guidance), the graph precision and the colour encoding of the
input. Files are written atomically; an unreadable entry counts as a miss and is replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import spectral
from ..errors import ImageDynamicsError

CACHE_ENV = "IMAGE_DYNAMICS_CACHE"
CACHE_FORMAT = 1  # bump when what a key means changes (e.g. a new way of fitting images to the model grid)


def cache_dir() -> Path:
    """Where cached motion lives (not created here)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "image-dynamics" / "motion"


def image_sha256(pixels: np.ndarray) -> str:
    """sha256 of an image array's dtype, shape and bytes (C order)."""
    arr = np.ascontiguousarray(pixels)
    digest = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


def cache_key(image_hash: str, package_sha256: str, seed: int, steps: int, eta: float, guidance: float,
              precision: str, colorspace: str, energy_net: bool = False) -> str:
    """The hex key of one prediction (``energy_net``: whether the package's motion-energy network rescaled it)."""
    facts: dict[str, Any] = {"format": CACHE_FORMAT, "image": image_hash, "package": package_sha256,
                             "seed": int(seed), "steps": int(steps), "eta": float(eta), "guidance": float(guidance),
                             "precision": precision, "colorspace": colorspace, "energy_net": bool(energy_net)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def cache_path(key: str, folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / f"{key}.npz"


def load_cached(key: str, folder: Path | None = None) -> spectral.SpectralVolume | None:
    """The cached volume for ``key``, or ``None`` (missing or unreadable)."""
    path = cache_path(key, folder)
    if not path.is_file():
        return None
    try:
        return spectral.load(path)
    except (ImageDynamicsError, OSError, ValueError, MemoryError):
        # an unreadable entry is a miss: it is removed and the model runs again
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def store(key: str, sv: spectral.SpectralVolume, folder: Path | None = None) -> Path | None:
    """Write ``sv`` under ``key`` atomically; a cache that cannot be written is skipped (returns ``None``)."""
    try:
        return spectral.save(sv, cache_path(key, folder), overwrite=True)
    except (ImageDynamicsError, OSError):
        return None


def cache_size(folder: str | os.PathLike | None = None) -> tuple[int, int]:
    """``(entries, bytes)`` of the cache."""
    root = Path(folder) if folder is not None else cache_dir()
    files = [p for p in root.glob("*.npz") if p.is_file() and not p.name.startswith(".")] if root.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


def clear_cache(folder: str | os.PathLike | None = None) -> tuple[int, int]:
    """Delete every cached result (and stale temporary files); returns ``(entries, bytes)`` removed."""
    root = Path(folder) if folder is not None else cache_dir()
    count, size = cache_size(root)
    if root.is_dir():
        for path in [*root.glob("*.npz"), *root.glob(".*.tmp.npz")]:
            with contextlib.suppress(OSError):
                path.unlink()
    return count, size
