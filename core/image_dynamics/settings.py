"""What an artist sets for one render: motion edits and the frames to produce, and how they become a plan.

:class:`RenderSettings` is shared by the CLI and the Blender add-on; :func:`plan` turns a spectral volume and settings
into the edited volume and the list of frame times to render (docs/conventions.md, Render defaults and Loop length).
Animated edits (strength and band gains that change over the shot) are per-frame band gains on top of the plan's motion:
:func:`animated_gains` computes them, :func:`with_frame_gains` attaches them to a plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from . import edits, limits
from .errors import InputError
from .frames import validate_frame_gains
from .spectral import SpectralVolume


@dataclass(frozen=True)
class RenderSettings:
    """Edits and timing of one render. ``None`` means "the motion file's own value".

    Attributes:
        fps: output frame rate (time sampling); defaults to the motion file's fps.
        loop_frames: loop length in output frames; every band is re-binned to a harmonic of ``fps / loop_frames``
            (physical speed kept) or, with ``time_stretch``, the whole motion is sped up or slowed to fit.
        frames: ``(start, stop)`` output frame numbers, 0-based, stop exclusive; defaults to one loop.
        strength: global amplitude factor (magnify > 1, minify < 1).
        band_gains: ``((hz, gain), ...)`` damping curve, linearly interpolated over Hz.
        low_cut_hz / high_cut_hz: bands outside ``[low, high]`` are removed.
        decay_s: settling time tau in seconds (motion fades out and the clip ends on the input image).
        slow_motion: playback slow-down factor (2 = half speed, fractional frame times).
        mask_feather_px: Gaussian feather of the motion mask, in image pixels.
        splat_beta: softmax-splatting sharpness per pixel of mean motion (larger: moving things stay in front).
    """

    fps: float | None = None
    loop_frames: int | None = None
    frames: tuple[int, int] | None = None
    strength: float = 1.0
    band_gains: tuple[tuple[float, float], ...] = ()
    low_cut_hz: float | None = None
    high_cut_hz: float | None = None
    decay_s: float | None = None
    time_stretch: bool = False
    slow_motion: float = 1.0
    mask_feather_px: float = 8.0
    splat_beta: float = 1.0


@dataclass(frozen=True)
class RenderPlan:
    """The edited motion and the frames to render.

    Attributes:
        motion: the edited spectral volume (its time axis is still ``motion.fps`` frames).
        frame_numbers: int ``[N]`` output frame numbers, 0-based (file ``_0001`` is frame 0).
        times: float64 ``[N]`` times of those frames in frames of ``motion.fps``.
        fps: output frame rate.
        loop_frames: output frames in one loop (frame ``loop_frames`` would repeat frame 0); ``None`` with decay.
        frame_gains: optional float64 ``[N, K]``: band ``k`` of frame ``n`` is scaled by ``frame_gains[n, k]``
            (animated strength and band gains, see :func:`animated_gains`); ``None``: every frame as ``motion`` is.
        basis: optional float32 ``[N, 2K]`` weights of ``[Re S; Im S]`` per frame replacing the inverse DFT (modal
            dynamics: :meth:`image_dynamics.modal.ModalResponse.render_basis`); ``None``: the motion's own loop.
    """

    motion: SpectralVolume
    frame_numbers: np.ndarray
    times: np.ndarray
    fps: float
    loop_frames: int | None
    frame_gains: np.ndarray | None = None
    basis: np.ndarray | None = None

    def __post_init__(self) -> None:
        gains = validate_frame_gains(self.frame_gains, len(self.times), self.motion.num_bands)
        object.__setattr__(self, "frame_gains", gains)
        if self.basis is not None:
            basis = np.asarray(self.basis, dtype=np.float32)
            if basis.shape != (len(self.times), 2 * self.motion.num_bands) or not np.all(np.isfinite(basis)):
                raise InputError(f"RenderPlan.basis must be finite, shape [frames, 2 x bands] = [{len(self.times)}, "
                                 f"{2 * self.motion.num_bands}], got {basis.shape}.")
            object.__setattr__(self, "basis", basis)


def _check_positive(name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be a number {bound}, got {value}.")


def validate_settings(settings: RenderSettings) -> None:
    """Raise :class:`InputError` naming the first bad setting and its allowed range (limits: :mod:`.limits`)."""
    _check_positive("--fps", settings.fps)
    _check_positive("--strength", settings.strength, allow_zero=True)
    _check_positive("--decay", settings.decay_s)
    _check_positive("--slow-motion", settings.slow_motion)
    _check_positive("--low-cut", settings.low_cut_hz, allow_zero=True)
    _check_positive("--high-cut", settings.high_cut_hz, allow_zero=True)
    _check_positive("--mask-feather", settings.mask_feather_px, allow_zero=True)
    _check_positive("--splat-beta", settings.splat_beta, allow_zero=True)
    if settings.loop_frames is not None and settings.loop_frames < 2:
        raise InputError(f"--loop-frames must be at least 2 frames, got {settings.loop_frames}.")
    if settings.frames is not None:
        start, stop = settings.frames
        if start < 0 or stop <= start:
            raise InputError(f"--frames {start}:{stop} is empty or negative; give START:STOP with 0 <= START < STOP "
                             "(STOP exclusive, frame 0 is the input image).")
    if (settings.low_cut_hz is not None and settings.high_cut_hz is not None
            and settings.low_cut_hz > settings.high_cut_hz):
        raise InputError(f"--low-cut {settings.low_cut_hz} Hz is above --high-cut {settings.high_cut_hz} Hz: "
                         "nothing would move. Swap them.")
    limits.check_render_settings(settings)


def edit_motion(sv: SpectralVolume, settings: RenderSettings, mask: np.ndarray | None = None) -> SpectralVolume:
    """Apply the amplitude edits (gains, cuts, strength, mask, decay); timing edits are done by :func:`plan`."""
    if settings.band_gains:
        sv = edits.band_gains(sv, settings.band_gains)
    if settings.low_cut_hz is not None or settings.high_cut_hz is not None:
        sv = edits.frequency_cut(sv, settings.low_cut_hz, settings.high_cut_hz)
    if settings.strength != 1.0:
        sv = edits.scale_strength(sv, settings.strength)
    if mask is not None:
        sv = edits.apply_mask(sv, mask, feather_px=settings.mask_feather_px)
    if settings.decay_s is not None:
        sv = edits.with_decay(sv, settings.decay_s)
    return sv


def plan(sv: SpectralVolume, settings: RenderSettings, mask: np.ndarray | None = None) -> RenderPlan:
    """Edit the motion and list the frames to render.

    Output frame ``i`` shows motion time ``i / (fps * slow_motion)`` seconds, i.e. ``t = i * sv.fps / (fps * slow)``
    frames of the volume. With no frame options: one loop of the volume's natural period (150 frames at 30 fps for a
    GID window); with ``loop_frames`` L: the motion is re-binned so that output frame L equals frame 0; with a decay
    and no loop or frame range: enough frames for the motion to settle to 1% (about 4.6 tau).
    """
    validate_settings(settings)
    fps = float(settings.fps or sv.fps)
    motion_rate = fps * settings.slow_motion  # output frames per second of motion time
    sv = edit_motion(sv, settings, mask)
    loop_frames: int | None
    if settings.loop_frames is not None:
        loop_frames = int(settings.loop_frames)
        fit = edits.time_stretch_to if settings.time_stretch else edits.loop_to
        sv = fit(sv, loop_frames, fps=motion_rate)
    else:
        period_s = sv.natural_period_frames() / sv.fps
        loop_frames = max(2, int(round(period_s * motion_rate)))
        if abs(loop_frames / motion_rate - period_s) > 1e-6 * period_s:
            # the natural period is not a whole number of output frames: re-bin so the loop stays seamless
            sv = edits.loop_to(sv, loop_frames, fps=motion_rate)
    if settings.frames is not None:
        start, stop = settings.frames
    elif sv.decay_s is not None:
        start, stop = 0, max(2, int(math.ceil(4.6 * sv.decay_s * motion_rate)) + 1)
    else:
        start, stop = 0, loop_frames
    if sv.decay_s is not None:
        loop_frames = None
    limits.check_frame_count(stop - start)  # before any per-frame array exists
    numbers = np.arange(start, stop, dtype=np.int64)
    times = numbers.astype(np.float64) * sv.fps / motion_rate
    return RenderPlan(sv, numbers, times, fps, loop_frames)


def animated_gains(motion: SpectralVolume, strengths: Sequence[float] | np.ndarray | None = None,
                   band_gain_points_per_frame: Sequence[Sequence[tuple[float, float]]] | None = None) -> np.ndarray:
    """Per-frame, per-band gains of animated strength and band gains: float64 ``[N, K]`` for ``RenderPlan.frame_gains``.

    ``G[n, k] = strengths[n] * gain_n(motion.freqs_hz[k])`` where ``gain_n`` is frame ``n``'s damping curve, the same
    piecewise-linear interpolation over Hz as :func:`edits.band_gains`. Give the *plan's* motion: after a loop re-bin
    its bands sit at the harmonics actually rendered, which is where the curve is read (the static
    ``RenderSettings.band_gains`` is applied before re-binning, at the original frequencies).

    Args:
        motion: the volume that will be rendered (``RenderPlan.motion``), K bands.
        strengths: ``[N]`` amplitude factor of each rendered frame (>= 0), or ``None`` for 1.
        band_gain_points_per_frame: N damping curves, one ``((hz, gain), ...)`` per rendered frame, or ``None`` for
            no damping.

    Raises :class:`InputError` naming the frame when a value is negative or not finite, when both are ``None``, or
    when their frame counts differ.
    """
    if strengths is None and band_gain_points_per_frame is None:
        raise InputError("animated_gains needs per-frame strengths or per-frame band gains (or both); "
                         "give None as RenderPlan.frame_gains for an un-animated render.")
    counts = {}
    if strengths is not None:
        try:
            factors = np.asarray(strengths, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"per-frame strengths must be numbers, got {strengths!r}.") from None
        if factors.ndim != 1:
            raise InputError(f"per-frame strengths must be a 1-D list, one per frame, got shape {factors.shape}.")
        for frame, value in enumerate(factors):
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"strength at frame {frame} is {value:g}; strengths must be finite and >= 0 "
                                 "(1 keeps the motion, 0 freezes it).")
        counts["strengths"] = factors.size
    if band_gain_points_per_frame is not None:
        counts["band gains"] = len(band_gain_points_per_frame)
    if len(set(counts.values())) > 1:
        raise InputError(f"per-frame strengths and band gains must cover the same frames, got {counts['strengths']} "
                         f"strengths and {counts['band gains']} band-gain curves.")
    num_frames = next(iter(counts.values()))
    freqs = motion.freqs_hz.astype(np.float64)
    gains = np.ones((num_frames, motion.num_bands), dtype=np.float64)
    if band_gain_points_per_frame is not None:
        for frame, points in enumerate(band_gain_points_per_frame):
            try:
                hz, gain = edits.gain_curve(points)
            except InputError as exc:
                raise InputError(f"band gains at frame {frame}: {exc}") from None
            gains[frame] = np.interp(freqs, hz, gain)
    if strengths is not None:
        gains *= factors[:, None]
    return gains


def with_frame_gains(render_plan: RenderPlan, frame_gains: np.ndarray | None) -> RenderPlan:
    """``render_plan`` with per-frame band gains ``[N, K]`` (validated; ``None`` removes them)."""
    return replace(render_plan, frame_gains=frame_gains)
