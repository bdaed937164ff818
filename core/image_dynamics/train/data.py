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
from .augment import exposure_rng, photo_realism, re_expose, realism_rng
from .configs import TrainConfig
from .framing import zoom_in, zoom_rng


@dataclass
class TrainData:
    """One dataset, or a weighted mixture of several, opened for one configuration.

    ``info`` is the first source's (every source has the same grid, bands, fps and window); ``sources`` and
    ``weights`` (normalised to sum 1: each source's share of the training draws) list them all. A single folder is
    a mixture of one.
    """

    info: DatasetInfo
    config: TrainConfig
    stats: Any                   #: what :func:`image_dynamics.data.normalise.load_norm_stats` returns
    stats_json: str              #: the statistics' JSON text (stored in checkpoints and model packages)
    sources: tuple[DatasetInfo, ...] = ()
    weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.sources:
            self.sources, self.weights = (self.info,), (1.0,)

    @property
    def needs_resize(self) -> bool:
        return (self.info.width, self.info.height) != (self.config.width, self.config.height)

    @property
    def coeff_grid(self) -> tuple[int, int]:
        """(width, height) of the grid whose pixels the coefficient values (and the statistics) are in."""
        return self.info.width, self.info.height

    @property
    def count(self) -> int:
        """Samples over all sources."""
        return sum(s.count for s in self.sources)

    @property
    def shard_list(self) -> list[tuple[int, int]]:
        """Every shard as ``(source index, shard index within it)``, sources in order."""
        return [(i, j) for i, src in enumerate(self.sources) for j in range(len(src.shards))]

    def normalise(self, channels: np.ndarray) -> np.ndarray:
        """float ``[..., K, 4, H, W]`` coefficient channels (dataset pixels) -> normalised float32."""
        return np.asarray(norm.normalise(np.asarray(channels, dtype=np.float32), self.stats), dtype=np.float32)

    def fingerprint(self) -> str:
        """Identifies the data's content listing (sources, counts, shards, weights, statistics) for cache validation."""
        listing = [[str(s.folder.resolve()), s.count, list(s.shards)] for s in self.sources]
        if len(self.sources) == 1:  # as before mixtures existed, so a single folder's cache stays valid
            listing = listing[0]
        key = json.dumps([*listing, self.stats_json] if len(self.sources) == 1 else
                         [listing, list(self.weights), self.stats_json])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def note(self) -> str:
        """What data trained a model, in words (model cards and packages)."""
        parts = [f"{s.count} samples from {s.folder.name} ({s.source})" for s in self.sources]
        if len(self.sources) > 1:
            parts = [f"{p} at weight {w:.2f}" for p, w in zip(parts, self.weights)]
        return ", ".join(parts) + f", {self.info.width}x{self.info.height}"


def parse_data_spec(text: str | os.PathLike) -> tuple[Path, float]:
    """``DIR`` or ``DIR:WEIGHT`` -> (folder, weight > 0); a colon followed by something that is not a number is part
    of the folder's name. Raises :class:`InputError` for a weight that is not a positive finite number."""
    text = str(text)
    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            return Path(text), 1.0
        if not (weight > 0 and np.isfinite(weight)):
            raise InputError(f"--data {text}: the weight after ':' must be a positive number, got {tail!r}.")
        return Path(head), weight
    return Path(text), 1.0


def _known_of(shard: dict[str, np.ndarray]) -> np.ndarray | None:
    known = shard.get("known")
    return None if known is None else np.asarray(known) != 0


def mixture_norm_stats(sources: list[DatasetInfo], weights: list[float]) -> Any:
    """Normalisation statistics of a weighted mixture (read shard by shard; unknown pixels left out): each source
    counts by its weight, not its size (:meth:`~image_dynamics.data.normalise.NormAccumulator.mixture`)."""
    parts = []
    for info in sources:
        acc = norm.NormAccumulator(info.num_bands)
        for shard in iter_shards(info):
            acc.add(shard["coeffs"], shard.get("known"))
        parts.append(acc)
    return norm.NormAccumulator.mixture(parts, weights).result(norm.DEFAULT_PERCENTILE, sources[0].freqs_hz)


def _check_fits(info: DatasetInfo, config: TrainConfig) -> None:
    if info.num_bands != config.num_bands:
        raise InputError(f"{info.folder}: the dataset has K = {info.num_bands} frequency bands but config "
                         f"'{config.name}' models K = {config.num_bands}. Generate data with {config.num_bands} bands "
                         "or choose a matching configuration.")
    if info.width * config.height != info.height * config.width:
        raise InputError(f"{info.folder}: the dataset's images are {info.width}x{info.height} but config "
                         f"'{config.name}' trains at {config.width}x{config.height}, a different aspect ratio. "
                         f"Generate data at {config.width}x{config.height} (or a multiple of it).")


def _check_unknown_weight_sources(infos: list[DatasetInfo], config: TrainConfig) -> None:
    # a misspelt folder would otherwise leave the run training as if the setting were not there
    names = {info.folder.name for info in infos}
    missing = sorted(set(config.unknown_weights_by_source()) - names)
    if missing:
        raise InputError(f"energy_unknown_weight_sources names {', '.join(missing)}, but no --data folder is called "
                         f"that; the folders are {', '.join(sorted(names))}. Name a folder as its last path part.")


def open_training_data(data_dir: str | os.PathLike | list | tuple, config: TrainConfig,
                       stats_cache: str | os.PathLike | None = None) -> TrainData:
    """Open a dataset folder, or a weighted mixture, for ``config``; raise :class:`InputError` when they do not fit.

    ``data_dir``: one folder, or a list of folders and/or ``(folder, weight)`` pairs (weights > 0, default 1; each
    source's share of the training draws is its weight over the sum). One folder of weight 1 uses its own
    ``norm_stats.json``; a mixture's statistics are computed over the mixture (:func:`mixture_norm_stats`) and kept
    in ``stats_cache`` (a JSON file, reused while the sources and weights are the same).
    """
    specs = [data_dir] if isinstance(data_dir, (str, os.PathLike)) else list(data_dir)
    if not specs:
        raise InputError("no training data given; pass --data DIR (repeat it, as DIR:WEIGHT, for a mixture).")
    pairs = [(Path(s[0]), float(s[1])) if isinstance(s, (tuple, list)) else (Path(s), 1.0) for s in specs]
    for folder, weight in pairs:
        if not (weight > 0 and np.isfinite(weight)):
            raise InputError(f"{folder}: a source's weight must be a positive number, got {weight}.")
    infos = [read_info(folder) for folder, _ in pairs]
    resolved = [i.folder.resolve() for i in infos]
    if len(set(resolved)) != len(resolved):
        raise InputError(f"{infos[0].folder}: the same dataset is given twice; give each folder once and use its "
                         "weight (DIR:WEIGHT) to draw more from it.")
    for info in infos:
        _check_fits(info, config)
    _check_unknown_weight_sources(infos, config)
    first = infos[0]
    for info in infos[1:]:
        if (info.width, info.height) != (first.width, first.height):
            raise InputError(f"{info.folder}: {info.width}x{info.height} images, but {first.folder} has "
                             f"{first.width}x{first.height}; a mixture needs one grid (coefficients are in its "
                             "pixels). Generate the data at the same size.")
        if (info.fps, info.window_frames) != (first.fps, first.window_frames) or not np.allclose(
                info.freqs_hz, first.freqs_hz, rtol=0, atol=1e-6):
            raise InputError(f"{info.folder}: other frequency bands, fps or window than {first.folder}; a mixture "
                             "needs the same spectral-volume layout.")
    weights = np.asarray([w for _, w in pairs], np.float64)
    weights = tuple(float(w) for w in weights / weights.sum())
    if len(infos) == 1:
        stats_path = first.norm_stats_path
        if not stats_path.exists():
            raise InputError(f"{stats_path}: normalisation statistics are missing. Compute them with "
                             f"`image-dynamics data stats {first.folder}` (the data commands write them when they "
                             "finish).")
        return TrainData(first, config, norm.load_norm_stats(stats_path), stats_path.read_text(), (first,), weights)
    key = json.dumps([[str(i.folder.resolve()), i.count, list(i.shards)] for i in infos] + [list(weights)])
    cache = Path(stats_cache) if stats_cache is not None else None
    if cache is not None and cache.exists():
        try:
            doc = json.loads(cache.read_text())
            if doc.get("key") == key:
                text = doc["stats_json"]
                return TrainData(first, config, norm.norm_stats_from_json(text, str(cache)), text, tuple(infos),
                                 weights)
        except (OSError, ValueError, KeyError, InputError):
            pass  # unreadable or stale: computed again below
    stats = mixture_norm_stats(infos, list(weights))
    text = norm.norm_stats_to_json(stats)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cache, overwrite=True) as tmp:
            tmp.write_text(json.dumps({"key": key, "stats_json": text}))
    return TrainData(first, config, stats, text, tuple(infos), weights)


def _resize_stack(stack: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize ``[n, H, W, C]`` maps with area averaging (downsizing) or bilinear (upsizing); C <= 512."""
    shrinking = width < stack.shape[2]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    out = [cv2.resize(item, (width, height), interpolation=interp) for item in stack]
    return np.stack([o if o.ndim == 3 else o[..., None] for o in out])


def resize_known(known: np.ndarray | None, width: int, height: int) -> np.ndarray | None:
    """bool ``[n, H, W]`` known masks on a ``width x height`` grid: a resized pixel is known only when everything it
    is made of is (area coverage 1 when shrinking; bilinear weights all on known pixels when enlarging)."""
    if known is None or known.shape[1:] == (height, width):
        return known
    cover = _resize_stack(known.astype(np.float32)[..., None], width, height)[..., 0]
    return cover >= 1.0 - 1e-4


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
    steps share a shard. With one source, every epoch visits all shards in a fresh permutation. With a mixture, each
    block first draws its source with the sources' weights, then takes that source's shard at the block's place in
    the source's own permutations (so each source's shards are still visited evenly). The next shard is loaded,
    resized and normalised in a background thread (zlib and numpy release the GIL for most of it). Prepared shards
    stay in memory up to ``cache_bytes`` (least recently used ones go first), so a small dataset is read once.
    """

    def __init__(self, data: TrainData, seed: int, stage_key: int, batches_per_shard: int,
                 cache_bytes: int = 1 << 30) -> None:
        self.data, self.seed, self.stage_key = data, int(seed), int(stage_key)
        self.batches_per_shard = max(1, int(batches_per_shard))
        self.cache_bytes = int(cache_bytes)
        self._shards = data.shard_list
        self._cache: OrderedDict[int, tuple[np.ndarray, ...]] = OrderedDict()
        self._pending: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._errors: dict[int, BaseException] = {}

    def shard_for(self, step: int) -> int:
        """Index into ``data.shard_list`` of the shard batch ``step`` draws from."""
        block = step // self.batches_per_shard
        sources = self.data.sources
        if len(sources) == 1:
            n = len(self._shards)
            epoch, pos = divmod(block, n)
            return int(np.random.default_rng([self.seed, self.stage_key, epoch]).permutation(n)[pos])
        source = int(np.random.default_rng([self.seed, self.stage_key, block, 1]).choice(len(sources),
                                                                                           p=self.data.weights))
        n = len(sources[source].shards)
        epoch, pos = divmod(block, n)
        local = int(np.random.default_rng([self.seed, self.stage_key, epoch, 2, source]).permutation(n)[pos])
        return self._shards.index((source, local))

    def source_for(self, step: int) -> DatasetInfo:
        """The source (of ``data.sources``) whose shard batch ``step`` draws from."""
        return self.data.sources[self._shards[self.shard_for(step)][0]]

    def _load(self, index: int) -> None:
        try:
            source, local = self._shards[index]
            src = self.data.sources[source]
            info = dataclasses.replace(src, shards=(src.shards[local],))
            shard = next(iter_shards(info))
            images, coeffs = resize_sample_arrays(shard["images"], shard["coeffs"], self.data.config.width,
                                                  self.data.config.height)
            known = resize_known(_known_of(shard), self.data.config.width, self.data.config.height)
            if known is None:
                known = np.ones(images.shape[:3], bool)
            normalised = np.empty(coeffs.shape, np.float16)
            for i in range(coeffs.shape[0]):  # one sample at a time keeps the float32 copy small
                normalised[i] = self.data.normalise(coeffs[i])
            # moving pixels (any band, any channel), from the bits: float16 arithmetic in numpy is slow
            moving = ((normalised.view(np.uint16) & 0x7FFF) != 0).any(axis=(1, 2)) & known
            with self._lock:
                self._cache[index] = (images, normalised, moving, known)
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

    def samples(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The shard for ``step``: images uint8 ``[n, h, w, 3]``, normalised channels float16 ``[n, K, 4, h, w]``,
        moving-pixel masks bool ``[n, h, w]`` (known pixels only) and known masks bool ``[n, h, w]``."""
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
              motion_fraction: float = 0.0, with_known: bool = False):
    """Normalised band-slice crops float32 ``[batch, 4, crop_h, crop_w]``: random sample, band, position and flip.

    With probability ``motion_fraction`` a crop is centred on a random moving pixel of its sample (when it has one):
    most of a scene is static, and crops of zeros teach an autoencoder nothing after the first steps.
    A horizontal flip negates the x components (x.re, x.im), a vertical flip the y components, so flipped slices are
    motion fields that could really occur. ``with_known``: also return the crops' known masks, float32
    ``[batch, 1, crop_h, crop_w]`` (1 known, 0 unknown), flipped alike.
    """
    _, coeffs, moving_masks, known = stream.samples(step)
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
    masks = np.stack([known[i, y:y + ch, x:x + cw] for i, y, x in zip(picks, ys, xs)]).astype(np.float32)
    for j in range(batch):
        if flips[j, 0]:
            crops[j] = crops[j, :, :, ::-1] * np.array([-1, -1, 1, 1], np.float32)[:, None, None]
            masks[j] = masks[j, :, ::-1]
        if flips[j, 1]:
            crops[j] = crops[j, :, ::-1, :] * np.array([1, 1, -1, -1], np.float32)[:, None, None]
            masks[j] = masks[j, ::-1, :]
    if with_known:
        return np.ascontiguousarray(crops), np.ascontiguousarray(masks[:, None])
    return np.ascontiguousarray(crops)


def loss_weights(known: np.ndarray, unknown_weight: float) -> np.ndarray:
    """float32 per-pixel loss weights ``[...]`` from known masks ``[...]`` (1 known, 0 unknown, fractions where a
    zoom mixed them): known pixels weigh 1, unknown ones ``unknown_weight`` (0: left out)."""
    known = np.asarray(known, np.float32)
    return (known + np.float32(unknown_weight) * (1.0 - known)).astype(np.float32)


def light_and_camera(images: np.ndarray, seed: int, stage_key: int, step: int, exposure: float, realism: float
                     ) -> np.ndarray:
    """uint8 ``[B, H, W, 3]`` -> uint8 ``[B, H, W, 3]``: the last two of a batch's edits, in their order: ``exposure``
    > 0 re-exposes that share of the pictures (:func:`~.augment.re_expose`), then ``realism`` > 0 passes them through
    :func:`~.augment.photo_realism` at that strength; each draws from its own stream of ``(seed, stage_key, step)``."""
    if exposure > 0:
        images = re_expose(images, exposure_rng(seed, stage_key, step), exposure)
    if realism > 0:
        images = photo_realism(images, realism_rng(seed, stage_key, step), realism)
    return images


def regression_batch(stream: ShardStream, step: int, batch: int, with_known: bool = False,
                     realism: float = 0.0, exposure: float = 0.0, zoom: float = 0.0, zoom_max: float = 2.0):
    """(images uint8 ``[batch, h, w, 3]``, normalised channels float32 ``[batch, K, 4, h, w]``) with random flips;
    ``with_known`` adds the known masks, float32 ``[batch, h, w]``. ``zoom`` > 0 magnifies that share of the
    pictures, targets and masks with them, by up to ``zoom_max`` (:func:`~.framing.zoom_in`, draws from
    :func:`~.framing.zoom_rng`); ``exposure`` > 0 then re-exposes that share of the images
    (:func:`~.augment.re_expose`, draws from :func:`~.augment.exposure_rng`); ``realism`` > 0 last passes them
    through :func:`~.augment.photo_realism` at that strength (draws from :func:`~.augment.realism_rng`): framing,
    light, then the camera."""
    images, coeffs, _, known = stream.samples(step)
    rng = step_rng(stream.seed, stream.stage_key, step)
    picks = rng.integers(0, coeffs.shape[0], batch)
    flips = rng.random(batch) < 0.5
    imgs = images[picks].copy()
    target = coeffs[picks].astype(np.float32)
    masks = known[picks].astype(np.float32)
    for j in np.flatnonzero(flips):
        imgs[j] = imgs[j, :, ::-1]
        target[j] = target[j, :, :, :, ::-1] * np.array([-1, -1, 1, 1], np.float32)[None, :, None, None]
        masks[j] = masks[j, :, ::-1]
    if zoom > 0:
        framing = zoom_rng(stream.seed, stream.stage_key, step)
        imgs, target, masks = zoom_in(imgs, target, masks, framing, zoom, zoom_max)
    imgs = light_and_camera(imgs, stream.seed, stream.stage_key, step, exposure, realism)
    if with_known:
        return imgs, np.ascontiguousarray(target), np.ascontiguousarray(masks)
    return imgs, np.ascontiguousarray(target)


# ----------------------------------------------------------------------------------------------------------------------
# latent cache (stage 2 and 3 train on VAE latents, computed once)


@dataclass
class LatentCache:
    """Every sample's image on the model grid, the VAE posterior means of its K band slices, which source it came
    from and how much of each latent cell's motion is known."""

    images: np.ndarray       #: uint8 [N, h, w, 3]
    latents: np.ndarray      #: float16 [N, K, C_lat, h / D, w / D]
    key: str                 #: dataset fingerprint + VAE weights hash
    sources: np.ndarray | None = None   #: int16 [N], index into ``TrainData.sources`` (None: all from one)
    known: np.ndarray | None = None     #: float16 [N, h / D, w / D], known fraction of each cell (None: all known)

    def latent_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per (band, channel) mean and standard deviation, float32 ``[K, C_lat]`` each (std floored at 1e-3), over
        the cells whose motion is fully known."""
        lat = self.latents.astype(np.float32)
        if self.known is None:
            mean = lat.mean(axis=(0, 3, 4))
            std = np.maximum(lat.std(axis=(0, 3, 4)), 1e-3)
            return mean.astype(np.float32), std.astype(np.float32)
        w = (self.known.astype(np.float32) >= 1.0).astype(np.float32)[:, None, None]  # [N, 1, 1, h, w]
        total = max(float(w.sum()), 1.0)
        mean = (lat * w).sum(axis=(0, 3, 4)) / total
        var = (((lat - mean[None, :, :, None, None]) ** 2) * w).sum(axis=(0, 3, 4)) / total
        return mean.astype(np.float32), np.maximum(np.sqrt(var), 1e-3).astype(np.float32)

    def draw_weights(self, weights: tuple[float, ...]) -> np.ndarray | None:
        """Per-sample probabilities float64 ``[N]`` that give each source its weight (None for one source)."""
        if self.sources is None or len(weights) <= 1:
            return None
        counts = np.bincount(self.sources.astype(np.int64), minlength=len(weights)).astype(np.float64)
        share = np.asarray(weights, np.float64)[self.sources] / counts[self.sources]
        return share / share.sum()


def build_latent_cache(data: TrainData, encode_fn, key: str, path: Path, progress=None,
                       downsample: int | None = None) -> LatentCache:
    """Encode every sample with ``encode_fn(normalised [K, 4, h, w]) -> [K, C_lat, h', w']`` and save to ``path``.

    A cache already at ``path`` with the same ``key`` is reused. ``downsample`` (the latent's, e.g. 4): with data
    that has ``known`` masks, each latent cell's known fraction is stored too.
    """
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                if str(npz["key"]) == key:
                    return LatentCache(npz["images"], npz["latents"], key,
                                       npz["sources"] if "sources" in npz.files else None,
                                       npz["known"] if "known" in npz.files else None)
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale: rebuild below
    images, latents, sources, known_cells = [], [], [], []
    any_known = False
    done = 0
    for index, info in enumerate(data.sources):
        for shard in iter_shards(info):
            imgs, coeffs = resize_sample_arrays(shard["images"], shard["coeffs"], data.config.width,
                                                data.config.height)
            known = resize_known(_known_of(shard), data.config.width, data.config.height)
            any_known |= known is not None
            for i in range(coeffs.shape[0]):
                lat = np.asarray(encode_fn(data.normalise(coeffs[i])), dtype=np.float16)
                latents.append(lat)
                mask = np.ones(imgs.shape[1:3], np.float32) if known is None else known[i].astype(np.float32)
                cells = cv2.resize(mask, (lat.shape[-1], lat.shape[-2]), interpolation=cv2.INTER_AREA)
                known_cells.append(cells.astype(np.float16))
            images.append(imgs)
            sources.append(np.full(coeffs.shape[0], index, np.int16))
            done += coeffs.shape[0]
            if progress is not None:
                progress(done, data.count)
    cache = LatentCache(np.concatenate(images), np.stack(latents), key,
                        np.concatenate(sources) if len(data.sources) > 1 else None,
                        np.stack(known_cells) if any_known else None)
    arrays = {"images": cache.images, "latents": cache.latents, "key": np.array(key)}
    if cache.sources is not None:
        arrays["sources"] = cache.sources
    if cache.known is not None:
        arrays["known"] = cache.known
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return cache
