"""Procedural scenes with exact motion: (image, spectral volume) pairs for training and evaluating the motion model.

Each sample is a scene of 2-D layers in painter's order (see :mod:`.scenes`): sky, terrain, ground, rocks, buildings,
fences and hedges never move; grass, flowers, trees, water, cloth and flames move by smooth sums of sinusoids over their
frame-0 positions. A pixel's trajectory over the 150-frame, 30 fps window is that of the surface point its top layer
shows in frame 0 (coverage-weighted on anti-aliased edges), and the spectral volume is the first 16 DFT terms of that
trajectory in the one-sided scaling of :func:`image_dynamics.spectral.from_trajectories`, computed in closed form (equal
to the FFT of the sampled trajectories to float precision, and about fifty times faster).

``render_sample(seed)`` is a pure function of its arguments; ``generate_dataset`` writes shards of many samples, each
stored with the seed that re-renders it, so evaluation can draw the true frames of any stored sample.
See ``docs/data.md`` for the scene families and for what is exact and what is approximated.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import spectral
from ..errors import CancelledError, InputError
from ..jobs import ordered_map
from . import shards
from .normalise import NormAccumulator, save_norm_stats
from .scenes import families
from .scenes.canvas import KIND_NAMES, MOVING_KINDS, STATIC_KINDS, Scene
from .scenes.motion import FPS, NUM_BANDS, WINDOW_FRAMES, spectrum_matrix, stack_real, trajectory_matrix

__all__ = ["FAMILIES", "KIND_NAMES", "MOVING_KINDS", "STATIC_KINDS", "SyntheticSample", "generate_dataset",
           "render_sample", "sample_seed"]

FAMILIES = families.FAMILIES
SOURCE = "synthetic-v1"  # recorded in dataset.json: bump when scenes change so old and new data are not mixed


@dataclass(eq=False)
class SyntheticSample:
    """One rendered scene and its exact motion.

    Attributes:
        seed: the seed that renders this sample (``render_sample(seed, width, height)`` gives it back).
        family: scene family, one of :data:`FAMILIES`.
        image: uint8 ``[H, W, 3]`` sRGB, frame 0.
        coeffs: complex64 ``[16, 2, H, W]`` spectral volume coefficients (pixels, x right, y down), one-sided as in
            docs/conventions.md, for ``freqs_hz``.
        freqs_hz: float32 ``[16]``: 0, 0.2, ..., 3.0 Hz.
        kinds: uint8 ``[H, W]``: index into :data:`KIND_NAMES` of the layer covering most of each pixel.
        moving_cover: float32 ``[H, W]``: how much of each pixel moving layers cover (0: the pixel is exactly static).
        motion_freqs_hz: float64 ``[J]``: the scene's own motion frequencies (harmonic or not).
        motion_coeffs: complex64 ``[J, 2, H, W]``: each pixel's coefficient at each of those frequencies; the
            trajectory is ``Re sum_j c_j (exp(2 pi i f_j t / 30) - 1)`` exactly.
    """

    seed: int
    family: str
    image: np.ndarray
    coeffs: np.ndarray
    freqs_hz: np.ndarray
    kinds: np.ndarray
    moving_cover: np.ndarray
    motion_freqs_hz: np.ndarray
    motion_coeffs: np.ndarray
    _scene: Scene = field(repr=False)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def trajectories(self, window: int = WINDOW_FRAMES) -> np.ndarray:
        """float32 ``[window, 2, H, W]``: exact displacement of each pixel's frame-0 surface point over the window."""
        weights = trajectory_matrix(self.motion_freqs_hz, window).astype(np.float32)
        flat = weights @ stack_real(self.motion_coeffs) if self.motion_freqs_hz.size else \
            np.zeros((window, 2 * self.height * self.width), np.float32)
        return flat.reshape(window, 2, self.height, self.width)

    def frames(self, times: np.ndarray | float) -> np.ndarray:
        """uint8 ``[N, H, W, 3]``: the true frames at frame times ``times`` (30 fps; fractional allowed).

        Every moving layer is re-sampled with its own motion at time t (see :meth:`Scene.frame`); ``frames(0)`` equals
        :attr:`image` exactly.
        """
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        return np.stack([self._scene.frame(float(t)) for t in times]) if times.size else \
            np.zeros((0, self.height, self.width, 3), np.uint8)

    def spectral_volume(self) -> spectral.SpectralVolume:
        """The coefficients as a :class:`~image_dynamics.spectral.SpectralVolume` (30 fps, 150-frame window)."""
        return spectral.make(self.coeffs, self.freqs_hz, FPS, {
            "window_frames": WINDOW_FRAMES, "source": SOURCE, "seed": int(self.seed), "family": self.family,
            "source_size": [self.width, self.height]})

    def motion_energy(self) -> np.ndarray:
        """float32 ``[H, W]`` ``E(p) = sum_k>0 |S_k,x|^2 + |S_k,y|^2`` (docs/conventions.md), squared pixels."""
        return (np.abs(self.coeffs[1:]) ** 2).sum(axis=(0, 1)).astype(np.float32)


def _check_size(width: int, height: int) -> None:
    if int(width) < 32 or int(height) < 32:
        raise InputError(f"image size {width}x{height} is too small for a scene; use at least 32x32 "
                         "(the model trains at 256x160).")


def render_sample(seed: int, width: int = 256, height: int = 160, *, family: str | None = None,
                  harmonic_only: bool = False) -> SyntheticSample:
    """Render the scene of ``seed``: frame 0, its exact spectral volume and labels.

    Args:
        seed: any non-negative integer; the same seed and arguments give the same sample bit for bit.
        width, height: image size in pixels.
        family: force a scene family (one of :data:`FAMILIES`) instead of drawing one from the seed.
        harmonic_only: drop the motion terms whose frequency is not a multiple of 0.2 Hz (the image is unchanged);
            the motion then loops exactly over 150 frames and 16 bands hold it without truncation when all its
            frequencies are at most 3 Hz.
    """
    _check_size(width, height)
    if family is not None and family not in FAMILIES:
        raise InputError(f"unknown scene family {family!r}; choose one of {', '.join(FAMILIES)}.")
    rng = np.random.default_rng(int(seed))
    chosen = families.random_family(rng)  # drawn even when forced, so the rest of the stream does not depend on it
    family = family or chosen
    scene = Scene(int(width), int(height), harmonic_only=harmonic_only)
    families.build(scene, rng, family)
    rendered = scene.render()
    freqs = np.asarray(rendered.freqs, dtype=np.float64)
    if freqs.size:
        matrix = spectrum_matrix(freqs, NUM_BANDS, WINDOW_FRAMES).astype(np.float32)  # [2K, 2J]
        spectrum = matrix @ stack_real(rendered.coeffs)
        coeffs = (spectrum[:NUM_BANDS] + 1j * spectrum[NUM_BANDS:]).astype(np.complex64)
    else:
        coeffs = np.zeros((NUM_BANDS, 2 * height * width), np.complex64)
    return SyntheticSample(int(seed), family, rendered.image, coeffs.reshape(NUM_BANDS, 2, height, width),
                           spectral.harmonic_freqs(NUM_BANDS, WINDOW_FRAMES, FPS), rendered.kinds,
                           rendered.moving_cover, freqs, rendered.coeffs, scene)


def sample_seed(dataset_seed: int, index: int) -> int:
    """The seed of sample ``index`` of the dataset made with ``dataset_seed`` (distinct datasets, distinct scenes)."""
    state = np.random.SeedSequence([int(dataset_seed), int(index)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 62) - 1)


#: Smallest normal float16 (2^-14 px). Shards store float16; smaller magnitudes (Gaussian tails, spectral leakage) are
#: stored as 0: they are far below any visible motion, and converting float16 subnormals is ten times slower.
_STORAGE_TINY = np.float32(2.0 ** -14)


def _render_for_dataset(args: tuple[int, int, int]) -> tuple[int, str, np.ndarray, np.ndarray, NormAccumulator]:
    """Render one dataset sample in storage form: ``(seed, family, image, float16 channels [K, 4, H, W], its
    normalisation histogram)``. Tiny values are flushed to 0 first. Everything per sample happens here, so parallel
    workers leave the parent only the merging and writing."""
    seed, width, height = args
    sample = render_sample(seed, width, height)
    parts = np.stack([sample.coeffs.real, sample.coeffs.imag])
    parts[np.abs(parts) < _STORAGE_TINY] = 0.0
    channels = shards.coeffs_to_channels((parts[0] + 1j * parts[1]).astype(np.complex64)).astype(np.float16)
    stats = NormAccumulator(NUM_BANDS)
    stats.add(channels)  # as stored
    return seed, sample.family, sample.image, channels, stats


def generate_dataset(out_dir: str | os.PathLike, count: int, seed: int = 0, width: int = 256, height: int = 160,
                     shard_size: int = 64, overwrite: bool = False, progress: Callable[[int, int], None] | None = None,
                     cancel: Any = None, workers: int = 1) -> shards.DatasetInfo:
    """Render ``count`` samples into a sharded dataset folder, then write its normalisation statistics beside it.

    Args:
        out_dir: dataset folder (created); refused if it already holds a dataset unless ``overwrite`` (then the old
            index, the shards it lists and the statistics are deleted before the first new sample is rendered).
        count: number of samples.
        seed: dataset seed; sample i is ``render_sample(sample_seed(seed, i))``, stored under that id.
        shard_size: samples per shard file.
        progress: called as ``progress(done, count)`` after each sample.
        cancel: an object with a ``cancelled`` attribute, or a callable returning True, checked between samples.
            Cancelling keeps every finished sample (the last shard may be short) and leaves a valid index and
            statistics; :class:`CancelledError` is raised only if no sample was finished.
        workers: processes rendering in parallel (1 renders in this process).

    Returns:
        The :class:`~image_dynamics.data.shards.DatasetInfo` of what was written.
    """
    _check_size(width, height)
    if int(count) < 1:
        raise InputError(f"--count must be at least 1, got {count}.")
    if int(shard_size) < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}.")
    out_dir = Path(out_dir)
    if overwrite and (out_dir / shards.INDEX_NAME).exists():
        shards.remove_dataset(out_dir)
    freqs = spectral.harmonic_freqs(NUM_BANDS, WINDOW_FRAMES, FPS)
    # with parallel renderers, compression would hold the parent up: shards are written by threads
    writer = shards.ShardWriter(out_dir, width, height, freqs, FPS, WINDOW_FRAMES, SOURCE, shard_size=shard_size,
                                overwrite=overwrite, write_threads=min(4, int(workers)))
    stats = NormAccumulator(NUM_BANDS)
    jobs = [(sample_seed(seed, i), int(width), int(height)) for i in range(int(count))]
    done = 0
    try:
        for sample_id, family, image, channels, sample_stats in _rendered(jobs, workers, cancel):
            writer.add_channels(image, channels, sample_id, family)
            stats.merge(sample_stats)
            done += 1
            if progress is not None:
                progress(done, int(count))
    except BaseException:
        writer.abandon()
        raise
    if done == 0:
        writer.abandon()
        raise CancelledError(f"{out_dir}: dataset generation was cancelled before the first sample; nothing written.")
    info = writer.close()
    save_norm_stats(stats.result(freqs_hz=freqs), info.norm_stats_path)
    return info


def _rendered(jobs: list[tuple[int, int, int]], workers: int, cancel: Any):
    """Yield rendered samples in order (in this process for one worker), stopping cleanly when ``cancel`` says so."""
    return ordered_map(_render_for_dataset, jobs, workers, cancel, in_process=workers <= 1)


def benchmark(count: int = 8, width: int = 256, height: int = 160, seed: int = 0) -> dict[str, float]:
    """Seconds per sample of :func:`render_sample` over ``count`` samples of a dataset seed.

    Returns wall-clock mean and max, and the mean CPU time of this process (steadier on a shared machine).
    """
    wall, cpu = [], []
    for i in range(count):
        start, start_cpu = time.perf_counter(), time.process_time()
        render_sample(sample_seed(seed, i), width, height)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"mean_s": float(np.mean(wall)), "max_s": float(np.max(wall)), "cpu_mean_s": float(np.mean(cpu)),
            "count": float(count)}
