"""Sharded datasets of (image, spectral volume) pairs on disk.

Layout of a dataset folder::

    dataset.json        format_version, count, width, height, num_bands, fps, window_frames, freqs_hz, source, shards
    shard_00000.npz     images uint8 [n, H, W, 3]; coeffs float16 [n, K, 4, H, W]; sample_ids int64 [n]; kinds str [n];
                        optional known uint8 [n, H, W] (1 = the pixel's motion is known; without it: all known)
    ...
    norm_stats.json     per-frequency normalisation (see :mod:`image_dynamics.normalisation`), written after the data

``coeffs`` channels are (x.real, x.imag, y.real, y.imag) of the one-sided spectral-volume coefficients in pixels of the
image grid (docs/conventions.md); float16 halves the size and is ample for pixel-scale motion. Every shard is written
under a temporary name and renamed, and ``dataset.json`` is rewritten after each shard, so an interrupted run keeps
what it finished; :meth:`ShardWriter.resume` appends to such a dataset, so a long run resumes losing at most the
shard it was filling.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..errors import InputError
from ..normalisation import channels_to_coeffs, coeffs_to_channels  # noqa: F401 (the shard layout of coeffs)

FORMAT_VERSION = 1
INDEX_NAME = "dataset.json"


@dataclass(frozen=True)
class DatasetInfo:
    """What ``dataset.json`` says about a dataset folder."""

    folder: Path
    count: int
    width: int
    height: int
    num_bands: int
    fps: float
    window_frames: int
    freqs_hz: np.ndarray
    shards: tuple[str, ...]
    source: str

    @property
    def norm_stats_path(self) -> Path:
        return self.folder / "norm_stats.json"


class ShardWriter:
    """Appends samples to a dataset folder, one shard of ``shard_size`` samples at a time.

    With ``write_threads`` > 1, shards are compressed and written by that many threads (zlib releases the GIL), so
    a process fed by parallel renderers is not held up by compression; ``dataset.json`` still lists only finished
    shards, in order. :meth:`close` waits for them all.
    """

    def __init__(self, folder: str | os.PathLike, width: int, height: int, freqs_hz: np.ndarray, fps: float,
                 window_frames: int, source: str, shard_size: int = 64, overwrite: bool = False,
                 write_threads: int = 1) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if (self.folder / INDEX_NAME).exists() and not overwrite:
            raise InputError(f"{self.folder}: already holds a dataset ({INDEX_NAME}). Choose an empty folder or pass "
                             "--overwrite.")
        self.width, self.height = int(width), int(height)
        self.freqs_hz = np.asarray(freqs_hz, dtype=np.float32)
        self.fps, self.window_frames, self.source = float(fps), int(window_frames), source
        self.shard_size = shard_size
        self.shards: list[str] = []
        self.count = 0
        self._pending: list[tuple[np.ndarray, np.ndarray, int, str, np.ndarray | None]] = []
        self._threads = int(write_threads)
        self._pool = ThreadPoolExecutor(self._threads) if self._threads > 1 else None
        self._writing: deque[tuple[str, int, Future]] = deque()  # submitted shards, oldest first
        self._queued = 0  # shards named so far (written or being written)

    @classmethod
    def resume(cls, folder: str | os.PathLike, width: int, height: int, freqs_hz: np.ndarray, fps: float,
               window_frames: int, source: str, shard_size: int = 64) -> ShardWriter:
        """A writer that appends to the dataset in ``folder`` (made by the same generator at the same size): its
        index is kept, new shards are numbered after the listed ones (a shard written but never indexed, from a run
        that was killed, is written over). Raises :class:`InputError` if the dataset does not match."""
        info = read_info(folder)
        wanted = (int(width), int(height), str(source), int(np.asarray(freqs_hz).shape[0]), float(fps),
                  int(window_frames))
        found = (info.width, info.height, info.source, info.num_bands, info.fps, info.window_frames)
        if wanted != found:
            raise InputError(f"{info.folder}: cannot resume: it holds {found[0]}x{found[1]} samples of "
                             f"{found[2]!r} ({found[3]} bands, {found[4]} fps, {found[5]} frames), not "
                             f"{wanted[0]}x{wanted[1]} of {wanted[2]!r}. Use another folder or --overwrite.")
        writer = cls(folder, width, height, freqs_hz, fps, window_frames, source, shard_size, overwrite=True)
        writer.shards = list(info.shards)
        writer.count = info.count
        writer._queued = len(info.shards)
        return writer

    def add(self, image: np.ndarray, coeffs: np.ndarray, sample_id: int, kind: str = "",
            known: np.ndarray | None = None) -> None:
        """Queue one sample: image uint8 ``[H, W, 3]``, coeffs complex ``[K, 2, H, W]`` on the same grid, optional
        ``known`` ``[H, W]`` (nonzero where the motion is known; None: all known)."""
        k = self.freqs_hz.shape[0]
        if coeffs.shape != (k, 2, self.height, self.width):
            raise ValueError(f"coeffs must be [{k}, 2, {self.height}, {self.width}], got {coeffs.shape}")
        self.add_channels(image, coeffs_to_channels(coeffs).astype(np.float16), sample_id, kind, known)

    def add_channels(self, image: np.ndarray, channels: np.ndarray, sample_id: int, kind: str = "",
                     known: np.ndarray | None = None) -> None:
        """Queue one sample already in storage form: float16 channels ``[K, 4, H, W]`` (see
        :func:`coeffs_to_channels`), so a rendering worker can do the conversion; ``known`` as in :meth:`add`.
        A shard holds a ``known`` array when any of its samples has one (the others are all known)."""
        k = self.freqs_hz.shape[0]
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise ValueError(f"image must be uint8 [{self.height}, {self.width}, 3], got {image.dtype} {image.shape}")
        if channels.shape != (k, 4, self.height, self.width) or channels.dtype != np.float16:
            raise ValueError(f"channels must be float16 [{k}, 4, {self.height}, {self.width}], got {channels.dtype} "
                             f"{channels.shape}")
        if known is not None:
            known = np.asarray(known)
            if known.shape != (self.height, self.width):
                raise ValueError(f"known must be [{self.height}, {self.width}], got {known.shape}")
            known = (known != 0).astype(np.uint8)
        self._pending.append((image, channels, int(sample_id), kind, known))
        if len(self._pending) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Write queued samples as one shard (in a writer thread when there are some) and update the index."""
        if self._pending:
            name = f"shard_{self._queued:05d}.npz"
            self._queued += 1
            images, coeffs, ids, kinds, known = zip(*self._pending)
            arrays = {"images": np.stack(images), "coeffs": np.stack(coeffs),
                      "sample_ids": np.asarray(ids, dtype=np.int64), "kinds": np.asarray(kinds, dtype=str)}
            if any(k is not None for k in known):
                ones = np.ones((self.height, self.width), np.uint8)
                arrays["known"] = np.stack([ones if k is None else k for k in known])
            count = len(self._pending)
            self._pending.clear()
            if self._pool is None:
                _write_shard(self.folder / name, arrays)
                self._finished(name, count)
            else:
                self._writing.append((name, count, self._pool.submit(_write_shard, self.folder / name, arrays)))
        self._collect(wait=len(self._writing) > 2 * self._threads)  # bounds the shards held in memory

    def _collect(self, wait: bool) -> None:
        """Index the shards whose writing has finished, oldest first; with ``wait``, wait for the oldest."""
        while self._writing and (wait or self._writing[0][2].done()):
            name, count, future = self._writing.popleft()
            future.result()  # a write error surfaces here
            self._finished(name, count)
            wait = False

    def _finished(self, name: str, count: int) -> None:
        self.shards.append(name)
        self.count += count
        self._write_index()

    def _write_index(self) -> None:
        index = {"format_version": FORMAT_VERSION, "count": self.count, "width": self.width, "height": self.height,
                 "num_bands": int(self.freqs_hz.shape[0]), "fps": self.fps, "window_frames": self.window_frames,
                 "freqs_hz": [float(f) for f in self.freqs_hz], "source": self.source, "shards": self.shards}
        with atomic_output(self.folder / INDEX_NAME, overwrite=True) as tmp:
            tmp.write_text(json.dumps(index, indent=1))

    def close(self) -> DatasetInfo:
        """Write what is queued, wait for every shard and return the dataset's info."""
        try:
            self.flush()
            while self._writing:
                self._collect(wait=True)
        finally:
            self.abandon()
        return read_info(self.folder)

    def abandon(self) -> None:
        """Wait for the writer threads and stop them; a shard not yet indexed stays out of ``dataset.json``."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _write_shard(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def remove_dataset(folder: str | os.PathLike, extra_names: tuple[str, ...] = ()) -> None:
    """Delete a dataset's index, shard files (``shard_NNNNN.npz``), statistics and ``extra_names`` from ``folder``.

    Used before writing a new dataset over an old one (``--overwrite``), so no stale shard of a bigger old dataset
    survives; other files in the folder are left alone.
    """
    folder = Path(folder)
    for path in [*folder.glob("shard_[0-9][0-9][0-9][0-9][0-9].npz"), folder / "norm_stats.json",
                 *(folder / n for n in extra_names), folder / INDEX_NAME]:
        if path.is_file():
            path.unlink()


def read_info(folder: str | os.PathLike) -> DatasetInfo:
    """Read and check ``dataset.json``; raise :class:`InputError` saying what is wrong with the folder."""
    folder = Path(folder)
    index_path = folder / INDEX_NAME
    if not folder.is_dir():
        raise InputError(f"{folder}: dataset folder not found. Make one with `image-dynamics data synth -o {folder}`.")
    if not index_path.exists():
        raise InputError(f"{folder}: no {INDEX_NAME} here, so this is not a dataset (or it is empty). "
                         f"Make one with `image-dynamics data synth -o {folder} --count N`.")
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{index_path}: unreadable dataset index ({exc}). Re-create the dataset.") from None
    if index.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(f"{index_path}: dataset format {index.get('format_version')} is newer than this program "
                         f"reads ({FORMAT_VERSION}). Update image-dynamics.")
    if not index.get("shards") or index.get("count", 0) <= 0:
        raise InputError(f"{folder}: the dataset is empty (no samples). Generate data into it first.")
    missing = [s for s in index["shards"] if not (folder / s).exists()]
    if missing:
        raise InputError(f"{folder}: shard file(s) {', '.join(missing[:3])} listed in {INDEX_NAME} are missing. "
                         "Re-create the dataset or restore the files.")
    return DatasetInfo(folder, int(index["count"]), int(index["width"]), int(index["height"]), int(index["num_bands"]),
                       float(index["fps"]), int(index["window_frames"]),
                       np.asarray(index["freqs_hz"], dtype=np.float32), tuple(index["shards"]), str(index["source"]))


def iter_shards(info: DatasetInfo) -> Iterator[dict[str, np.ndarray]]:
    """Yield each shard as a dict of arrays (images, coeffs float16 channels, sample_ids, kinds), checking shapes."""
    for name in info.shards:
        path = info.folder / name
        try:
            with np.load(path, allow_pickle=False) as npz:
                shard = {k: npz[k] for k in ("images", "coeffs", "sample_ids", "kinds")}
                if "known" in npz.files:  # optional uint8 [n, H, W], 1 = motion known (absent: all known)
                    shard["known"] = npz["known"]
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: corrupt or incomplete shard ({exc}). Re-create the dataset.") from None
        expected = (info.height, info.width)
        if "known" in shard and shard["known"].shape != shard["images"].shape[:3]:
            raise InputError(f"{path}: its known mask has shape {shard['known'].shape}, not {shard['images'].shape[:3]}"
                             " (one [H, W] mask per sample). Re-create the dataset.")
        if shard["images"].shape[1:3] != expected or shard["coeffs"].shape[-2:] != expected:
            raise InputError(f"{path}: samples of size {shard['images'].shape[2]}x{shard['images'].shape[1]} in a "
                             f"dataset of {info.width}x{info.height}: mixed sizes. Keep one size per dataset.")
        yield shard


def known_mask(shard: dict[str, np.ndarray]) -> np.ndarray:
    """uint8 ``[n, H, W]``: a shard's ``known`` array, or all ones for a shard without one (motion known everywhere)."""
    if "known" in shard:
        return shard["known"]
    n, h, w = shard["images"].shape[:3]
    return np.ones((n, h, w), np.uint8)


def load_all(info: DatasetInfo) -> dict[str, np.ndarray]:
    """All shards concatenated (images uint8 [N,H,W,3], coeffs float16 [N,K,4,H,W], sample_ids, kinds; and known
    uint8 [N,H,W] when some shard has it, all ones for the shards without)."""
    parts = list(iter_shards(info))
    keys = ("images", "coeffs", "sample_ids", "kinds")
    out = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    if any("known" in p for p in parts):
        out["known"] = np.concatenate([known_mask(p) for p in parts])
    return out
