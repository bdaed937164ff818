"""Real videos to training samples: dense flow from the first frame, rejection of unusable clips, spectral volumes.

One *window* of a video becomes one sample (an image and its spectral volume), following GID's recipe:

1. **Frames**: every decoded frame is centre-cropped to the target aspect ratio (never stretched) and resized to the
   target size (area averaging when shrinking). Flow is computed at that size, so displacements are pixels of the
   sample's own grid (x right, y down, docs/conventions.md).
2. **Time base**: ``window_frames`` samples at 30 fps (150 = 5 s, as in GID). A video at another frame rate is *not*
   resampled by blending frames (a blend of two frames is a double image that no flow explains, and nearest-frame
   picking jitters the time axis by up to half a source frame). Instead flow is computed from the window's first frame
   to the source frames on either side of each 30 fps instant ``n / 30`` s, and trajectory sample ``n`` is the linear
   interpolation in time of those two displacement fields (see :func:`resample_plan`). Motion is smooth at frame-rate
   scale, so this is accurate where the flow is; at 30 fps it reduces to one flow per frame.
3. **Flow**: OpenCV's DIS optical flow (medium preset: coarse-to-fine patch search with variational refinement) or
   Farneback (pyramidal), from the window's first frame to every later frame: the trajectories of the frame-0 pixels.
   Each field is initialised with the previous one (frame-0 trajectories change little from frame to frame), which
   follows large smooth motion that a fresh coarse-to-fine search loses (a 25 px sway: 0.1 px error instead of 26).
   With ``consistency`` on, the backward flow is computed too and a pixel fails the forward-backward check when
   ``|w + w_b|^2 > 0.01 (|w|^2 + |w_b|^2) + 0.5 px^2`` (Sundaram et al. 2010; ``w_b`` is the backward flow at
   ``p + w``). A failing pixel's displacement in that frame is replaced by the Gaussian-weighted mean (sigma 4 px at
   256x160) of the reliable displacements around it, or 0 where hardly any reliable pixel is within 3 sigma:
   occluded and disoccluded pixels take their surroundings' motion instead of a wild vector. (A weighted mean rather
   than a median: one blur per frame instead of a sort per pixel, and the same result inside a coherent region.)
4. **Rejection** (checked on every ``check_every``-th flow field and the last, so a bad clip stops early), each with a
   reason string that starts with its kind:

   - ``camera motion``: a similarity transform (translation, rotation, zoom) fitted with RANSAC to the flow explains at
     least half of the pixels (within 0.5 px) and moves the image by at least ``camera_motion_px`` somewhere (pans,
     tilts, zooms, drift, shake). A still camera fits the identity, which is no motion.
   - ``too large motion``: the 95th percentile of displacement magnitudes over the image exceeds
     ``max_displacement_px`` (flow from the first frame is not reliable that far, and such motion is not the small
     oscillation the model learns).
   - ``unreliable flow`` (checked first): more than ``max_unreliable_fraction`` of pixels fail the forward-backward
     check in a checked flow field or on average over the window (scene cuts, heavy blur, noise, fast occlusions).
   - ``too short``, ``unreadable``, ``unknown frame rate``: from decoding.

   Pixel thresholds are given at 256x160 and scale with the target size's diagonal.
5. **Spectrum**: :func:`image_dynamics.spectral.from_trajectories` at 30 fps (first ``num_bands`` DFT terms).

:func:`videos_to_dataset` turns a folder of videos into a sharded dataset (source ``videos``) with ``norm_stats.json``,
``rejected.json`` (every dropped clip or window and why) and ``sources.json`` (which video and time each sample is).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import spectral
from ..atomic import atomic_output
from ..errors import CancelledError, InputError
from ..io_video import video_frames, video_info
from ..jobs import is_cancelled
from . import shards
from .normalise import NormAccumulator, save_norm_stats

__all__ = ["FLOW_METHODS", "SOURCE", "TARGET_FPS", "VIDEO_SUFFIXES", "Limits", "VideoSample", "crop_box",
           "find_videos", "fit_frame", "resample_plan", "video_to_spectral", "video_windows", "videos_to_dataset"]

SOURCE = "videos"  # recorded in dataset.json
TARGET_FPS = spectral.DEFAULT_FPS  # the time base of every sample (GID: 30 fps)
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm")
FLOW_METHODS = ("dis", "farneback")
REFERENCE_SIZE = (256, 160)  # the size the pixel thresholds of :class:`Limits` are given at
REJECTED_NAME = "rejected.json"
SOURCES_NAME = "sources.json"

_FB_RELATIVE, _FB_ABSOLUTE = 0.01, 0.5  # forward-backward tolerance: 1 % of the squared lengths + 0.5 px^2
_FILL_SIGMA_PX = 4.0  # Gaussian radius (at 256x160) of the fill of unreliable pixels
_FILL_MIN_WEIGHT = 1e-3  # below this much nearby reliable weight, an unreliable pixel gets 0
_RANSAC_THRESHOLD_PX = 0.5  # a pixel follows the global motion when within this distance of it (at 256x160)
_GRID_STEP_PX = 4  # the global-motion fit uses every 4th pixel in x and y (at 256x160)


@dataclass(frozen=True)
class Limits:
    """When a window is rejected. Pixel values are at 256x160 and scale with the target size's diagonal.

    Attributes:
        camera_motion_px: a global similarity motion at least this large (largest displacement it gives any image
            corner or the centre) counts as camera motion ...
        camera_inlier_fraction: ... when it explains at least this fraction of the pixels.
        max_displacement_px: reject when the ``displacement_percentile`` of displacement magnitudes over the image
            exceeds this, in any checked frame.
        displacement_percentile: see above (95 by default).
        max_unreliable_fraction: reject when more than this fraction of pixels fail the forward-backward check in a
            checked flow field or averaged over the window's (only with the consistency check on).
        check_every: run the camera and displacement checks on every n-th flow field (and the last).
    """

    camera_motion_px: float = 1.0
    camera_inlier_fraction: float = 0.5
    max_displacement_px: float = 10.0
    displacement_percentile: float = 95.0
    max_unreliable_fraction: float = 0.3
    check_every: int = 10


@dataclass(frozen=True, eq=False)
class VideoSample:
    """One window of a video: the sample it gives, or why it was rejected.

    Attributes:
        path: the video file.
        window: index of the window in the video (0 = the first).
        start_s: time of the window's first frame in the video, seconds.
        image: uint8 ``[H, W, 3]`` RGB, the window's first frame at the target size (``None`` if rejected before
            decoding it).
        volume: the spectral volume (30 fps, ``window_frames`` window, pixels of the target grid), ``None`` if
            rejected.
        reason: ``None`` when accepted; otherwise why, starting with the kind (``camera motion``, ``too large
            motion``, ``unreliable flow``, ``too short``, ``unreadable``, ``unknown frame rate``).
        measures: what was measured: ``source_fps``, ``camera_motion_px`` and ``camera_inliers`` (largest global
            motion seen and the fraction of pixels it explained), ``displacement_px`` (largest percentile
            displacement), ``unreliable_fraction``, ``flow_fields``, ``seconds`` (flow and checks of this window).
    """

    path: Path
    window: int
    start_s: float
    image: np.ndarray | None
    volume: spectral.SpectralVolume | None
    reason: str | None
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.reason is None


# ----------------------------------------------------------------------------------------------------------------------
# Frames and time


def crop_box(source_width: int, source_height: int, width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, w, h)`` of the largest centred box of the source with the target's aspect ratio ``width / height``."""
    if source_width * height > source_height * width:  # source is wider: crop the sides
        box_w, box_h = max(1, round(source_height * width / height)), source_height
    else:  # source is taller: crop top and bottom
        box_w, box_h = source_width, max(1, round(source_width * height / width))
    return (source_width - box_w) // 2, (source_height - box_h) // 2, box_w, box_h


def fit_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 ``[height, width, 3]``: ``frame`` centre-cropped to the target aspect ratio, then resized (no stretching).

    Shrinking averages areas (no aliasing); enlarging interpolates bilinearly.
    """
    x0, y0, box_w, box_h = crop_box(frame.shape[1], frame.shape[0], width, height)
    cropped = frame[y0:y0 + box_h, x0:x0 + box_w]
    if (box_w, box_h) == (width, height):
        return np.ascontiguousarray(cropped)
    shrink = box_w >= width and box_h >= height
    return cv2.resize(cropped, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def resample_plan(window_frames: int, source_fps: float,
                  target_fps: float = TARGET_FPS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which source frames give each target-rate trajectory sample.

    Sample ``n`` (time ``n / target_fps`` s) lies at source position ``s = n * source_fps / target_fps`` frames after
    the window's first frame; its displacement is ``(1 - w) d[lower] + w d[upper]`` with ``lower = floor(s)``,
    ``upper = lower + 1`` (or ``lower`` when ``s`` is a whole frame) and ``w = s - lower``.

    Returns:
        ``lower`` int64 ``[window_frames]``, ``upper`` int64 ``[window_frames]``, ``weight`` float64
        ``[window_frames]``, all relative to the window's first source frame.
    """
    position = np.arange(window_frames, dtype=np.float64) * float(source_fps) / float(target_fps)
    nearest = np.round(position)
    position = np.where(np.abs(position - nearest) < 1e-6, nearest, position)  # whole frames stay whole
    lower = np.floor(position).astype(np.int64)
    weight = position - lower
    upper = np.where(weight > 0, lower + 1, lower)
    return lower, upper, weight


def _window_start_frames(source_fps: float, window_frames: int, first: int) -> Iterator[int]:
    """Source frame index of each window's first frame: consecutive windows that do not overlap in time."""
    step = max(1, math.ceil(window_frames * source_fps / TARGET_FPS - 1e-6))
    start = first
    while True:
        yield start
        start += step


# ----------------------------------------------------------------------------------------------------------------------
# Flow


def _flow_function(method: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]:
    """``flow(gray0, gray1, initial) -> float32 [H, W, 2]``: where each pixel of ``gray0`` is in ``gray1`` (x, y px).

    ``initial`` (or ``None``) is a first guess, refined coarse to fine; it is not modified.
    """
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b, initial: dis.calc(a, b, None if initial is None else initial.copy())
    # Farneback: 4 pyramid levels (x0.5), 9 px windows (sharper at motion boundaries than the usual 15), 3 iterations.

    def farneback(a: np.ndarray, b: np.ndarray, initial: np.ndarray | None) -> np.ndarray:
        flags = 0 if initial is None else cv2.OPTFLOW_USE_INITIAL_FLOW
        guess = None if initial is None else initial.copy()
        return cv2.calcOpticalFlowFarneback(a, b, guess, 0.5, 4, 9, 3, 5, 1.1, flags)

    return farneback


def _consistent(forward: np.ndarray, backward: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray) -> np.ndarray:
    """bool ``[H, W]``: pixels whose forward flow and the backward flow where they land cancel (within tolerance)."""
    back = cv2.remap(backward, grid_x + forward[..., 0], grid_y + forward[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    mismatch = ((forward + back) ** 2).sum(axis=-1)
    tolerance = _FB_RELATIVE * ((forward ** 2).sum(axis=-1) + (back ** 2).sum(axis=-1)) + _FB_ABSOLUTE
    return mismatch <= tolerance  # pixels that leave the frame are compared with the edge's backward flow


def _fill_unreliable(flow: np.ndarray, reliable: np.ndarray, sigma: float) -> np.ndarray:
    """``flow`` with unreliable pixels set to the Gaussian-weighted mean of reliable neighbours (0 if none near)."""
    if reliable.all():
        return flow
    weight = reliable.astype(np.float32)
    total = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    summed = cv2.GaussianBlur(flow * weight[..., None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    filled = np.where((total > _FILL_MIN_WEIGHT)[..., None], summed / np.maximum(total, _FILL_MIN_WEIGHT)[..., None],
                      0.0).astype(np.float32)
    return np.where(reliable[..., None], flow, filled)


def _global_motion(flow: np.ndarray, points: np.ndarray, probes: np.ndarray, threshold: float) -> tuple[float, float]:
    """Fit a similarity transform to the flow at ``points`` with RANSAC.

    Returns ``(motion_px, inlier_fraction)``: the largest displacement the transform gives a probe point (image corners
    and centre) and the fraction of points within ``threshold`` px of it.
    """
    xs, ys = points[:, 0].astype(np.int64), points[:, 1].astype(np.int64)
    moved = points + flow[ys, xs]
    matrix, inliers = cv2.estimateAffinePartial2D(points, moved, method=cv2.RANSAC, ransacReprojThreshold=threshold,
                                                  maxIters=500, confidence=0.99)
    if matrix is None:
        return 0.0, 0.0
    mapped = probes @ matrix[:, :2].T + matrix[:, 2]
    return float(np.hypot(*(mapped - probes).T).max()), float(inliers.mean())


# ----------------------------------------------------------------------------------------------------------------------
# One window


@dataclass(frozen=True)
class _Options:
    width: int
    height: int
    window_frames: int
    num_bands: int
    flow: str
    consistency: bool
    limits: Limits

    @property
    def pixel_scale(self) -> float:
        """Target pixels per reference (256x160) pixel, measured along the diagonal."""
        return math.hypot(self.width, self.height) / math.hypot(*REFERENCE_SIZE)


def _check_options(width: int, height: int, window_frames: int, fps: float | None, num_bands: int, flow: str,
                   limits: Limits) -> None:
    if int(width) < 16 or int(height) < 16:
        raise InputError(f"sample size {width}x{height} is too small for optical flow; use at least 16x16 "
                         "(the model trains at 256x160).")
    if int(window_frames) < 2:
        raise InputError(f"window_frames must be at least 2, got {window_frames}.")
    if not 1 <= int(num_bands) <= int(window_frames) // 2 + 1:
        raise InputError(f"num_bands must be between 1 and window_frames // 2 + 1 = {int(window_frames) // 2 + 1}, "
                         f"got {num_bands}.")
    if flow not in FLOW_METHODS:
        raise InputError(f"unknown optical flow method {flow!r}; choose one of {', '.join(FLOW_METHODS)}.")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate must be a positive number of frames per second, got {fps!r}.")
    if int(limits.check_every) < 1:
        raise InputError(f"Limits.check_every must be at least 1, got {limits.check_every}.")


def _window_sample(path: Path, window: int, start_s: float, source_fps: float, image: np.ndarray,
                   gray: dict[int, np.ndarray], start: int, opts: _Options) -> VideoSample:
    """Flow, checks and spectrum of one window whose source frames (``start`` + offsets) are all in ``gray``."""
    began = time.perf_counter()
    lower, upper, weight = resample_plan(opts.window_frames, source_fps)
    offsets = sorted({int(o) for o in np.concatenate([lower, upper]) if o > 0})
    flow = _flow_function(opts.flow)
    scale, limits = opts.pixel_scale, opts.limits
    h, w = opts.height, opts.width
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    step = max(1, round(_GRID_STEP_PX * scale))
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    probes = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [(w - 1) / 2, (h - 1) / 2]], np.float32)
    measures = {"source_fps": float(source_fps), "camera_motion_px": 0.0, "camera_inliers": 0.0,
                "displacement_px": 0.0, "unreliable_fraction": 0.0, "flow_fields": 0.0}

    def rejected(reason: str) -> VideoSample:
        measures["seconds"] = time.perf_counter() - began
        return VideoSample(path, window, start_s, image, None, reason, measures)

    first = gray[start]
    fields: dict[int, np.ndarray] = {0: np.zeros((h, w, 2), np.float32)}
    unreliable = []
    at = f" (window {window} from {start_s:.2f} s)" if window or start_s else ""
    previous, previous_back = None, None
    for i, offset in enumerate(offsets):
        # Each field starts from the previous one: the frame-0 trajectories grow a little per frame, so a large but
        # smooth motion is followed all the way instead of being searched for afresh (where DIS loses it).
        forward = flow(first, gray[start + offset], previous)
        if opts.consistency:
            previous_back = flow(gray[start + offset], first, previous_back)
            reliable = _consistent(forward, previous_back, grid_x, grid_y)
            unreliable.append(1.0 - float(reliable.mean()))
            forward = _fill_unreliable(forward, reliable, _FILL_SIGMA_PX * scale)
        fields[offset] = previous = forward
        measures["flow_fields"] += 1
        if unreliable:
            measures["unreliable_fraction"] = float(np.mean(unreliable))
        if i % limits.check_every != limits.check_every - 1 and i != len(offsets) - 1:
            continue
        # Judge reliability first: motion measured on a flow that fails the forward-backward check is meaningless.
        if unreliable and unreliable[-1] > limits.max_unreliable_fraction:
            return rejected(f"unreliable flow: {100 * unreliable[-1]:.0f}% of pixels fail the forward-backward "
                            f"check at {offset / source_fps:.2f} s into the window{at} (limit "
                            f"{100 * limits.max_unreliable_fraction:.0f}%); a scene cut, blur, noise or fast "
                            "occlusions")
        motion, inliers = _global_motion(forward, points, probes, _RANSAC_THRESHOLD_PX * scale)
        if inliers >= limits.camera_inlier_fraction and motion > measures["camera_motion_px"]:
            measures["camera_motion_px"], measures["camera_inliers"] = motion, inliers
        if inliers >= limits.camera_inlier_fraction and motion >= limits.camera_motion_px * scale:
            return rejected(f"camera motion: a global shift/rotation/zoom of {motion:.1f} px explains "
                            f"{100 * inliers:.0f}% of the pixels at {offset / source_fps:.2f} s into the window{at} "
                            f"(limit {limits.camera_motion_px * scale:.1f} px); use footage from a fixed camera")
        magnitude = np.hypot(forward[..., 0], forward[..., 1])
        displacement = float(np.percentile(magnitude, limits.displacement_percentile))
        measures["displacement_px"] = max(measures["displacement_px"], displacement)
        if displacement > limits.max_displacement_px * scale:
            return rejected(f"too large motion: {limits.displacement_percentile:g}th-percentile displacement "
                            f"{displacement:.1f} px at {offset / source_fps:.2f} s into the window{at} "
                            f"(limit {limits.max_displacement_px * scale:.1f} px at {w}x{h}); the model learns "
                            "small oscillations")
    if measures["unreliable_fraction"] > limits.max_unreliable_fraction:
        return rejected(f"unreliable flow: {100 * measures['unreliable_fraction']:.0f}% of pixels fail the "
                        f"forward-backward check on average{at} (limit {100 * limits.max_unreliable_fraction:.0f}%); "
                        "scene cuts, blur, noise or fast occlusions")
    trajectories = np.empty((opts.window_frames, 2, h, w), np.float32)  # [T, 2, H, W], x then y
    for n, (below, above, frac) in enumerate(zip(lower, upper, weight)):
        blend = fields[int(below)] if frac == 0 else (1 - frac) * fields[int(below)] + frac * fields[int(above)]
        trajectories[n] = blend.transpose(2, 0, 1)
    del fields
    meta = {"source": SOURCE, "video": str(path), "window": int(window), "start_s": float(start_s),
            "source_fps": float(source_fps), "flow": opts.flow, "consistency": bool(opts.consistency)}
    volume = spectral.from_trajectories(trajectories, TARGET_FPS, opts.num_bands, meta)
    measures["seconds"] = time.perf_counter() - began
    return VideoSample(path, window, start_s, image, volume, None, measures)


# ----------------------------------------------------------------------------------------------------------------------
# Whole videos


def _iter_windows(path: Path, opts: _Options, fps: float | None, start_s: float,
                  max_windows: int | None) -> Iterator[VideoSample]:
    """Decode ``path`` once, streaming, and yield one :class:`VideoSample` per window (rejections included).

    A window that the video ends inside is not yielded, unless it is the first (then it is rejected as too short).
    Frames are kept only while a window still needs them.
    """
    def failed(reason: str, window: int = 0, start: float = start_s) -> VideoSample:
        return VideoSample(path, window, start, None, None, reason, {})

    try:
        source_fps = float(fps) if fps is not None else video_info(path).fps
    except InputError as exc:
        yield failed(f"unreadable: {exc}")
        return
    if not (math.isfinite(source_fps) and source_fps > 0):
        yield failed("unknown frame rate: the file does not say its frames per second; pass fps=")
        return
    try:
        frames = video_frames(path)
    except InputError as exc:
        yield failed(f"unreadable: {exc}")
        return
    lower, upper, _ = resample_plan(opts.window_frames, source_fps)
    span = int(upper.max())  # source frames after the first that one window needs
    needed = {0, *(int(o) for o in lower), *(int(o) for o in upper)}
    starts = _window_start_frames(source_fps, opts.window_frames, round(start_s * source_fps))
    window, start = 0, next(starts)
    gray: dict[int, np.ndarray] = {}
    image: np.ndarray | None = None
    count = 0
    try:
        for index, frame in enumerate(frames):
            count = index + 1
            if index < start or index - start not in needed:
                continue
            fitted = fit_frame(frame, opts.width, opts.height)
            if index == start:
                image = fitted
            gray[index] = cv2.cvtColor(fitted, cv2.COLOR_RGB2GRAY)
            if index < start + span:
                continue
            yield _window_sample(path, window, start / source_fps, source_fps, image, gray, start, opts)
            window += 1
            if max_windows is not None and window >= max_windows:
                return
            start = next(starts)
            gray = {i: g for i, g in gray.items() if i >= start}
            image = fitted if index == start else None  # the next window may start on this very frame
    except InputError as exc:  # truncated in the middle of a frame
        yield failed(f"unreadable: {exc}", window, start / source_fps)
        return
    finally:
        frames.close()
    if window == 0:
        have = max(0, count - start)
        needs = span + 1
        yield failed(f"too short: {have} frames at {source_fps:g} fps from {start / source_fps:.2f} s "
                     f"({have / source_fps:.2f} s); a window of {opts.window_frames} frames at {TARGET_FPS:g} fps "
                     f"needs {needs} source frames ({(opts.window_frames - 1) / TARGET_FPS:.2f} s after its first)")


def video_windows(path: str | os.PathLike, width: int = 256, height: int = 160, window_frames: int = 150,
                  fps: float | None = None, num_bands: int = spectral.DEFAULT_K, flow: str = "dis", *,
                  consistency: bool = True, start_s: float = 0.0, max_windows: int | None = None,
                  limits: Limits = Limits()) -> Iterator[VideoSample]:
    """Every non-overlapping window of a video, in order, as :class:`VideoSample` (accepted or with a reason).

    Windows follow each other in time (window ``j`` starts ``j * window_frames / 30`` s after ``start_s``, rounded up
    to a source frame); the tail too short for a whole window is dropped. Arguments as :func:`video_to_spectral`;
    ``max_windows`` stops after that many windows (and stops decoding).
    """
    _check_options(width, height, window_frames, fps, num_bands, flow, limits)
    if max_windows is not None and max_windows < 1:
        raise InputError(f"max_windows must be at least 1, got {max_windows}.")
    opts = _Options(int(width), int(height), int(window_frames), int(num_bands), flow, bool(consistency), limits)
    return _iter_windows(Path(path), opts, fps, max(0.0, float(start_s)), max_windows)


def video_to_spectral(path: str | os.PathLike, width: int = 256, height: int = 160, window_frames: int = 150,
                      fps: float | None = None, num_bands: int = spectral.DEFAULT_K, flow: str = "dis", *,
                      consistency: bool = True, start_s: float = 0.0, limits: Limits = Limits()) -> VideoSample:
    """The sample of one window of a video: its first frame and spectral volume, or why the window is rejected.

    Args:
        path: a video file ffmpeg reads.
        width, height: sample size in pixels; frames are centre-cropped to this aspect ratio, then resized.
        window_frames: trajectory samples at 30 fps (150 = 5 s, as GID).
        fps: the video's frame rate; ``None`` reads it from the file (pass it for files that do not say).
        num_bands: K, DFT terms kept (0 to ``(K - 1) * 30 / window_frames`` Hz).
        flow: ``"dis"`` (OpenCV DIS, medium preset) or ``"farneback"``.
        consistency: run the forward-backward check and fill failing pixels from reliable neighbours (twice the
            flow work).
        start_s: where the window starts in the video, seconds (rounded to a frame).
        limits: rejection thresholds.

    Returns:
        A :class:`VideoSample`; a bad file is a rejection (``reason``), not an exception. Bad arguments raise
        :class:`InputError`.
    """
    return next(video_windows(path, width, height, window_frames, fps, num_bands, flow, consistency=consistency,
                              start_s=start_s, max_windows=1, limits=limits))


# ----------------------------------------------------------------------------------------------------------------------
# Datasets


def find_videos(input_dir: str | os.PathLike) -> list[Path]:
    """Video files (``.mp4 .mov .avi .mkv .webm``, any case) under ``input_dir``, recursively, sorted; hidden ones
    (a name starting with ``.``) are skipped."""
    folder = Path(input_dir)
    if not folder.exists():
        raise InputError(f"{folder}: folder not found. Give the folder that holds your videos.")
    if not folder.is_dir():
        raise InputError(f"{folder}: is a file, not a folder. Give the folder that holds your videos.")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _write_json(path: Path, doc: Any) -> None:
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def videos_to_dataset(input_dir: str | os.PathLike, out_dir: str | os.PathLike, width: int = 256, height: int = 160,
                      window_frames: int = 150, num_bands: int = spectral.DEFAULT_K, flow: str = "dis", *,
                      consistency: bool = True, split: bool = True, max_windows_per_video: int | None = None,
                      shard_size: int = 64, limits: Limits = Limits(),
                      progress: Callable[[int, int], None] | None = None, cancel: Any = None,
                      overwrite: bool = False) -> tuple[shards.DatasetInfo, list[tuple[Path, str]]]:
    """Turn every usable window of every video under ``input_dir`` into a sharded dataset in ``out_dir``.

    Writes ``dataset.json`` and shards (source ``videos``, kind ``video``, sample ids 0, 1, ... in order),
    ``norm_stats.json``, ``rejected.json`` (``[{"path", "reason"}]``, paths relative to ``input_dir``) and
    ``sources.json`` (``[{"id", "path", "window", "start_s", "source_fps", ...measures}]``).

    Args:
        input_dir: folder searched recursively for ``.mp4 .mov .avi .mkv .webm`` files.
        out_dir: dataset folder (created); refused if it holds a dataset unless ``overwrite`` (then the old index,
            shards, statistics and lists are deleted before the first video is read).
        split: take every non-overlapping window of a long video (at most ``max_windows_per_video``), not just the
            first.
        progress: called as ``progress(done_videos, total_videos)`` after each video.
        cancel: an object with a ``cancelled`` attribute, or a callable returning True, checked between windows.
            Cancelling keeps the finished samples and writes a valid index, statistics and lists;
            :class:`CancelledError` is raised if no sample was finished.
        Other arguments as :func:`video_to_spectral`.

    Returns:
        ``(info, rejected)``: the :class:`~image_dynamics.data.shards.DatasetInfo` written and ``(path, reason)`` for
        every dropped video or window.

    Raises:
        InputError: the folder is missing, holds no video files, or no window of any video is usable (the message gives
            the first reasons; all are in ``rejected.json``).
    """
    _check_options(width, height, window_frames, None, num_bands, flow, limits)
    if int(shard_size) < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}.")
    folder, out_dir = Path(input_dir), Path(out_dir)
    videos = find_videos(folder)
    if not videos:
        raise InputError(f"{folder}: no video files here (looked for {' '.join(VIDEO_SUFFIXES)}, in subfolders too). "
                         "Put your clips in this folder or point to the folder that holds them.")
    if overwrite and (out_dir / shards.INDEX_NAME).exists():
        shards.remove_dataset(out_dir, (REJECTED_NAME, SOURCES_NAME))
    freqs = spectral.harmonic_freqs(num_bands, window_frames, TARGET_FPS)
    writer = shards.ShardWriter(out_dir, width, height, freqs, TARGET_FPS, window_frames, SOURCE,
                                shard_size=shard_size, overwrite=overwrite)
    stats = NormAccumulator(int(num_bands))
    rejected: list[tuple[Path, str]] = []
    sources: list[dict[str, Any]] = []
    max_windows = max_windows_per_video if split else 1
    cancelled = False
    for done, video in enumerate(videos, start=1):
        windows = video_windows(video, width, height, window_frames, None, num_bands, flow, consistency=consistency,
                                max_windows=max_windows, limits=limits)
        for sample in windows:
            if sample.accepted:
                writer.add(sample.image, sample.volume.coeffs, len(sources), "video")
                stats.add(shards.coeffs_to_channels(sample.volume.coeffs).astype(np.float16))  # as stored
                sources.append({"id": len(sources), "path": str(video.relative_to(folder)), "window": sample.window,
                                "start_s": round(sample.start_s, 4),
                                **{k: round(v, 4) for k, v in sample.measures.items()}})
            else:
                rejected.append((video, sample.reason))
            if is_cancelled(cancel):
                cancelled = True
                windows.close()
                break
        if progress is not None:
            progress(done, len(videos))
        if cancelled or is_cancelled(cancel):
            cancelled = True
            break
    _write_json(out_dir / REJECTED_NAME, [{"path": str(p.relative_to(folder)), "reason": r} for p, r in rejected])
    if not sources:
        if cancelled:
            raise CancelledError(f"{out_dir}: making the video dataset was cancelled before the first sample; no "
                                 "samples were written.")
        listed = "; ".join(f"{p.name}: {r}" for p, r in rejected[:3])
        more = f" (and {len(rejected) - 3} more)" if len(rejected) > 3 else ""
        raise InputError(f"{folder}: none of the {len(videos)} videos gave a usable {window_frames}-frame window — "
                         f"{listed}{more}. Every reason is in {out_dir / REJECTED_NAME}. Use clips of at least "
                         f"{(window_frames - 1) / TARGET_FPS:.1f} s from a fixed camera with small motion.")
    info = writer.close()
    save_norm_stats(stats.result(freqs_hz=freqs), info.norm_stats_path)
    _write_json(out_dir / SOURCES_NAME, sources)
    return info, rejected
