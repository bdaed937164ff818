"""Dataset access for training: shards resized to the model grid, deterministic batches, the latent cache.

Units: a dataset's coefficients are pixels of its own grid (``dataset.json`` width x height) and its normalisation
statistics refer to that grid. When a configuration trains at another size of the same aspect ratio, images and
coefficient *maps* are resized but the *values* stay in dataset-grid pixels, so the dataset's statistics apply
unchanged; :class:`~.model.MotionModel` records that grid (``coeff_grid``) and rescales its predictions to the output
grid.

Batches are functions of ``(seed, stage, step)`` only, so a resumed run draws exactly the batches an uninterrupted run
would have drawn.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..atomic import atomic_output
from ..data import normalise as norm
from ..data.shards import DatasetInfo, iter_shards, read_info
from ..errors import InputError
from .configs import TrainConfig


@dataclass
class TrainData:
    """A dataset opened for one configuration."""

    info: DatasetInfo
    config: TrainConfig
    stats: Any                   #: what :func:`image_dynamics.data.normalise.load_norm_stats` returns
    stats_json: str              #: the statistics file's text (stored in checkpoints and model packages)

    @property
    def needs_resize(self) -> bool:
        return (self.info.width, self.info.height) != (self.config.width, self.config.height)

    @property
    def coeff_grid(self) -> tuple[int, int]:
        """(width, height) of the grid whose pixels the coefficient values (and the statistics) are in."""
        return self.info.width, self.info.height

    def normalise(self, channels: np.ndarray) -> np.ndarray:
        """float ``[..., K, 4, H, W]`` coefficient channels (dataset pixels) -> normalised float32."""
        return np.asarray(norm.normalise(np.asarray(channels, dtype=np.float32), self.stats), dtype=np.float32)

    def fingerprint(self) -> str:
        """Identifies the dataset's content listing (count, shards, statistics) for cache validation."""
        key = json.dumps([str(self.info.folder.resolve()), self.info.count, list(self.info.shards), self.stats_json])
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def open_training_data(data_dir: str | os.PathLike, config: TrainConfig) -> TrainData:
    """Open ``data_dir`` for ``config``; raise :class:`InputError` when the two do not fit together."""
    info = read_info(data_dir)
    if info.num_bands != config.num_bands:
        raise InputError(f"{info.folder}: the dataset has K = {info.num_bands} frequency bands but config "
                         f"'{config.name}' models K = {config.num_bands}. Generate data with {config.num_bands} bands "
                         "or choose a matching configuration.")
    if info.width * config.height != info.height * config.width:
        raise InputError(f"{info.folder}: the dataset's images are {info.width}x{info.height} but config "
                         f"'{config.name}' trains at {config.width}x{config.height}, a different aspect ratio. "
                         f"Generate data at {config.width}x{config.height} (or a multiple of it).")
    stats_path = info.norm_stats_path
    if not stats_path.exists():
        raise InputError(f"{stats_path}: normalisation statistics are missing. Compute them with "
                         f"`image-dynamics data stats {info.folder}` (the data commands write them when they finish).")
    stats = norm.load_norm_stats(stats_path)
    return TrainData(info, config, stats, stats_path.read_text())


def _resize_stack(stack: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize ``[n, H, W, C]`` maps with area averaging (downsizing) or bilinear (upsizing); C <= 512."""
    shrinking = width < stack.shape[2]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    out = [cv2.resize(item, (width, height), interpolation=interp) for item in stack]
    return np.stack([o if o.ndim == 3 else o[..., None] for o in out])


def resize_sample_arrays(images: np.ndarray, coeffs: np.ndarray, width: int, height: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``[n, H, W, 3]`` and coefficient channels ``[n, K, 4, H, W]`` on a ``width x height`` grid.

    Coefficient values are not rescaled (they stay in the source grid's pixels, see the module docstring).
    """
    n, k, c, h, w = coeffs.shape
    if (w, h) == (width, height):
        return images, coeffs
    images = _resize_stack(images, width, height)
    maps = coeffs.reshape(n, k * c, h, w).transpose(0, 2, 3, 1).astype(np.float32)
    maps = _resize_stack(maps, width, height).transpose(0, 3, 1, 2).reshape(n, k, c, height, width)
    return images, maps.astype(coeffs.dtype)


class ShardStream:
    """Whole samples shard by shard, in an order fixed by ``(seed, stage_key)``, normalised once per shard.

    ``shard_for(step)`` names the shard that batch ``step`` draws from: consecutive blocks of ``batches_per_shard``
    steps share a shard, and every epoch visits all shards in a fresh permutation. The next shard is loaded, resized
    and normalised in a background thread (zlib and numpy release the GIL for most of it). Prepared shards stay in
    memory up to ``cache_bytes`` (least recently used ones go first), so a small dataset is read once.
    """

    def __init__(self, data: TrainData, seed: int, stage_key: int, batches_per_shard: int,
                 cache_bytes: int = 1 << 30) -> None:
        self.data, self.seed, self.stage_key = data, int(seed), int(stage_key)
        self.batches_per_shard = max(1, int(batches_per_shard))
        self.cache_bytes = int(cache_bytes)
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self._pending: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._errors: dict[int, BaseException] = {}

    def shard_for(self, step: int) -> int:
        n = len(self.data.info.shards)
        epoch, pos = divmod(step // self.batches_per_shard, n)
        return int(np.random.default_rng([self.seed, self.stage_key, epoch]).permutation(n)[pos])

    def _load(self, index: int) -> None:
        try:
            info = dataclasses.replace(self.data.info, shards=(self.data.info.shards[index],))
            shard = next(iter_shards(info))
            images, coeffs = resize_sample_arrays(shard["images"], shard["coeffs"], self.data.config.width,
                                                  self.data.config.height)
            normalised = np.empty(coeffs.shape, np.float16)
            for i in range(coeffs.shape[0]):  # one sample at a time keeps the float32 copy small
                normalised[i] = self.data.normalise(coeffs[i])
            # moving pixels (any band, any channel), from the bits: float16 arithmetic in numpy is slow
            moving = ((normalised.view(np.uint16) & 0x7FFF) != 0).any(axis=(1, 2))
            with self._lock:
                self._cache[index] = (images, normalised, moving)
        except BaseException as exc:  # re-raised in the consumer thread
            with self._lock:
                self._errors[index] = exc

    def _prefetch(self, index: int) -> None:
        with self._lock:
            if index in self._cache or index in self._pending:
                return
            thread = threading.Thread(target=self._load, args=(index,), daemon=True)
            self._pending[index] = thread
        thread.start()

    def samples(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The shard for ``step``: images uint8 ``[n, h, w, 3]``, normalised channels float16 ``[n, K, 4, h, w]`` and
        moving-pixel masks bool ``[n, h, w]``."""
        index = self.shard_for(step)
        self._prefetch(index)
        self._pending[index].join()
        with self._lock:
            if index in self._errors:
                raise self._errors.pop(index)
            arrays = self._cache[index]
            self._cache.move_to_end(index)
            while len(self._cache) > 1 and sum(a.nbytes for v in self._cache.values() for a in v) > self.cache_bytes:
                oldest = next(iter(self._cache))
                del self._cache[oldest]
                self._pending.pop(oldest, None)
        following = self.shard_for((step // self.batches_per_shard + 1) * self.batches_per_shard)
        if following != index:
            self._prefetch(following)
        return arrays


def step_rng(seed: int, stage_key: int, step: int) -> np.random.Generator:
    """The generator for one training step: a pure function of (seed, stage, step)."""
    return np.random.default_rng([int(seed), int(stage_key), int(step)])


def vae_batch(stream: ShardStream, step: int, batch: int, crop: tuple[int, int], num_bands: int,
              motion_fraction: float = 0.0) -> np.ndarray:
    """Normalised band-slice crops float32 ``[batch, 4, crop_h, crop_w]``: random sample, band, position and flip.

    With probability ``motion_fraction`` a crop is centred on a random moving pixel of its sample (when it has one):
    most of a scene is static, and crops of zeros teach an autoencoder nothing after the first steps.
    A horizontal flip negates the x components (x.re, x.im), a vertical flip the y components, so flipped slices are
    motion fields that could really occur.
    """
    _, coeffs, moving_masks = stream.samples(step)
    rng = step_rng(stream.seed, stream.stage_key, step)
    cw, ch = crop
    n, _, _, h, w = coeffs.shape
    picks = rng.integers(0, n, batch)
    bands = rng.integers(0, num_bands, batch)
    ys = rng.integers(0, h - ch + 1, batch)
    xs = rng.integers(0, w - cw + 1, batch)
    centre = rng.random(batch) < motion_fraction
    choice = rng.random(batch)
    for j in np.flatnonzero(centre):
        moving = np.flatnonzero(moving_masks[picks[j]].ravel())
        if moving.size:
            y, x = divmod(int(moving[int(choice[j] * moving.size)]), w)
            ys[j] = min(max(y - ch // 2, 0), h - ch)
            xs[j] = min(max(x - cw // 2, 0), w - cw)
    flips = rng.random((batch, 2)) < 0.5
    crops = np.stack([coeffs[i, k, :, y:y + ch, x:x + cw] for i, k, y, x in zip(picks, bands, ys, xs)])
    crops = crops.astype(np.float32)  # [B, 4, ch, cw]
    for j in range(batch):
        if flips[j, 0]:
            crops[j] = crops[j, :, :, ::-1] * np.array([-1, -1, 1, 1], np.float32)[:, None, None]
        if flips[j, 1]:
            crops[j] = crops[j, :, ::-1, :] * np.array([1, 1, -1, -1], np.float32)[:, None, None]
    return np.ascontiguousarray(crops)


def regression_batch(stream: ShardStream, step: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 ``[batch, h, w, 3]``, normalised channels float32 ``[batch, K, 4, h, w]``) with random flips."""
    images, coeffs, _ = stream.samples(step)
    rng = step_rng(stream.seed, stream.stage_key, step)
    picks = rng.integers(0, coeffs.shape[0], batch)
    flips = rng.random(batch) < 0.5
    imgs = images[picks].copy()
    target = coeffs[picks].astype(np.float32)
    for j in np.flatnonzero(flips):
        imgs[j] = imgs[j, :, ::-1]
        target[j] = target[j, :, :, :, ::-1] * np.array([-1, -1, 1, 1], np.float32)[None, :, None, None]
    return imgs, np.ascontiguousarray(target)


# ----------------------------------------------------------------------------------------------------------------------
# latent cache (stage 2 and 3 train on VAE latents, computed once)


@dataclass
class LatentCache:
    """Every sample's image on the model grid and the VAE posterior means of its K band slices."""

    images: np.ndarray       #: uint8 [N, h, w, 3]
    latents: np.ndarray      #: float16 [N, K, C_lat, h / D, w / D]
    key: str                 #: dataset fingerprint + VAE weights hash

    def latent_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per (band, channel) mean and standard deviation, float32 ``[K, C_lat]`` each (std floored at 1e-3)."""
        lat = self.latents.astype(np.float32)
        mean = lat.mean(axis=(0, 3, 4))
        std = np.maximum(lat.std(axis=(0, 3, 4)), 1e-3)
        return mean.astype(np.float32), std.astype(np.float32)


def build_latent_cache(data: TrainData, encode_fn, key: str, path: Path, progress=None) -> LatentCache:
    """Encode every sample with ``encode_fn(normalised [K, 4, h, w]) -> [K, C_lat, h', w']`` and save to ``path``.

    A cache already at ``path`` with the same ``key`` is reused.
    """
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                if str(npz["key"]) == key:
                    return LatentCache(npz["images"], npz["latents"], key)
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale: rebuild below
    images, latents = [], []
    done = 0
    for shard in iter_shards(data.info):
        imgs, coeffs = resize_sample_arrays(shard["images"], shard["coeffs"], data.config.width, data.config.height)
        for i in range(coeffs.shape[0]):
            latents.append(np.asarray(encode_fn(data.normalise(coeffs[i])), dtype=np.float16))
        images.append(imgs)
        done += coeffs.shape[0]
        if progress is not None:
            progress(done, data.info.count)
    cache = LatentCache(np.concatenate(images), np.stack(latents), key)
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, images=cache.images, latents=cache.latents, key=np.array(key))
    return cache
