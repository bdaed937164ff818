"""Edits of a spectral volume: damping curve, frequency cuts, strength, loop length, time stretch, decay and mask.

Every function is pure: it takes a :class:`~image_dynamics.spectral.SpectralVolume` and returns a new, validated one;
the input is never modified. Coefficients stay on the volume's own grid and in its pixels (docs/conventions.md).

Loop length (docs/conventions.md): a loop of ``L`` output frames at ``fps`` is seamless when every frequency is an
integer multiple of ``fps / L``. :func:`loop_to` keeps the physical speed of the motion by moving each band to its
nearest harmonic; :func:`time_stretch_to` instead scales all frequencies so the volume's natural period becomes the
loop.

Time axis of a looped volume: the result keeps ``sv.fps`` when the loop is a whole number of ``sv.fps`` frames
(``L * sv.fps / fps`` is an integer, always so when ``fps == sv.fps``) and records it in ``meta['window_frames']``, so
:meth:`SpectralVolume.natural_period_frames` returns the loop length in the volume's own frames. Otherwise (for
example 100 frames at 24 fps of a 29.97 fps volume) no whole number of ``sv.fps`` frames is one loop, so the result's
time axis becomes the output rate: ``fps`` is set to the requested ``fps`` and ``window_frames`` to ``L``. Frequencies
stay in Hz either way, so the motion itself is the same; callers must take frame times from the *returned* volume's
``fps`` (output frame ``i`` is at ``t = i * result.fps / fps``). ``meta['loop_frames']`` and ``meta['loop_fps']``
record the request.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from . import spectral
from .errors import InputError
from .spectral import SpectralVolume

#: Largest relative difference between the aspect ratios of a mask and of the image (or grid) that is resampled.
MASK_ASPECT_TOLERANCE = 0.02
#: Relative tolerance when comparing a cut frequency with band frequencies stored as float32.
_FREQ_TOLERANCE = 1e-6


# ----------------------------------------------------------------------------------------------------------------------
# Argument checks


def _finite(name: str, value: Any) -> float:
    """``value`` as a float, or :class:`InputError` naming the argument when it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InputError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def _non_negative(name: str, value: Any, hint: str = "") -> float:
    number = _finite(name, value)
    if number < 0:
        raise InputError(f"{name} must be >= 0, got {number:g}.{' ' + hint if hint else ''}")
    return number


def _positive(name: str, value: Any, hint: str = "") -> float:
    number = _finite(name, value)
    if number <= 0:
        raise InputError(f"{name} must be > 0, got {number:g}.{' ' + hint if hint else ''}")
    return number


def _loop_length(loop_frames: Any) -> int:
    if isinstance(loop_frames, bool) or not isinstance(loop_frames, numbers.Integral) or int(loop_frames) < 2:
        raise InputError(f"loop_frames must be a whole number of frames >= 2, got {loop_frames!r}. "
                         "A loop of L frames repeats frame 0 at frame L.")
    return int(loop_frames)


def _with_coeffs(sv: SpectralVolume, coeffs: np.ndarray, **changes: Any) -> SpectralVolume:
    """A validated copy with new coefficients that never share memory with the input's."""
    coeffs = np.ascontiguousarray(coeffs, dtype=np.complex64)
    if np.shares_memory(coeffs, sv.coeffs):
        coeffs = coeffs.copy()
    return spectral.validate(sv.with_(coeffs=coeffs, **changes))


# ----------------------------------------------------------------------------------------------------------------------
# Amplitude edits


def gain_curve(points: Sequence[tuple[float, float]] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a damping curve and return it sorted by frequency: float64 ``hz [M]`` and ``gain [M]``.

    Raises :class:`InputError` (naming the offending point) unless there is at least one point, every point is a pair
    ``(hz, gain)`` of finite numbers with ``hz >= 0`` and ``gain >= 0``, and no frequency is given twice.
    """
    try:
        table = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"band gains must be (hz, gain) pairs of numbers, got {points!r}.") from None
    if table.size == 0:
        raise InputError("band gains need at least one (hz, gain) point; give e.g. [(0, 1), (3, 0)] to fade out "
                         "fast motion.")
    if table.ndim != 2 or table.shape[1] != 2:
        raise InputError(f"band gains must be (hz, gain) pairs, got an array of shape {table.shape}.")
    for index, (hz, gain) in enumerate(table):
        where = f"band gain point {index} ({hz:g} Hz, gain {gain:g})"
        if not (math.isfinite(hz) and math.isfinite(gain)):
            raise InputError(f"{where} is not finite; give finite numbers.")
        if hz < 0:
            raise InputError(f"{where} has a negative frequency; frequencies are >= 0 Hz.")
        if gain < 0:
            raise InputError(f"{where} has a negative gain; gains are >= 0 (0 removes a band, 1 keeps it).")
    order = np.argsort(table[:, 0], kind="stable")
    hz, gain = table[order, 0], table[order, 1]
    repeated = hz[1:][np.diff(hz) == 0]
    if repeated.size:
        raise InputError(f"band gains give {repeated[0]:g} Hz more than once; give each frequency once "
                         "(for a step, use two close frequencies such as 1.0 and 1.001 Hz).")
    return hz, gain


def band_gains(sv: SpectralVolume, points: Sequence[tuple[float, float]] | np.ndarray) -> SpectralVolume:
    """Multiply each band by the artist's damping curve evaluated at its frequency.

    Args:
        sv: the volume.
        points: ``(hz, gain)`` pairs in any order. The gain of a band at ``f`` Hz is the piecewise-linear
            interpolation of the points at ``f``, constant beyond the first and last point. See :func:`gain_curve`.

    Returns:
        The volume with ``coeffs[k] * gain(freqs_hz[k])``.
    """
    hz, gain = gain_curve(points)
    per_band = np.interp(sv.freqs_hz.astype(np.float64), hz, gain)
    return _with_coeffs(sv, sv.coeffs * per_band.astype(np.float32).reshape(-1, 1, 1, 1))


def frequency_cut(sv: SpectralVolume, low_hz: float | None = None, high_hz: float | None = None) -> SpectralVolume:
    """Zero the bands outside ``[low_hz, high_hz]`` (a hard cut; both edges inclusive, ``None`` = no limit).

    A band is kept when ``low_hz <= f <= high_hz``, compared with a relative tolerance of 1e-6 so that a cut given as
    ``0.6`` keeps the band stored as float32 ``0.6000000238``. The band count and frequencies are unchanged.
    """
    low = None if low_hz is None else _non_negative("low cut (Hz)", low_hz)
    high = None if high_hz is None else _non_negative("high cut (Hz)", high_hz)
    if low is not None and high is not None and low > high:
        raise InputError(f"low cut {low:g} Hz is above high cut {high:g} Hz, so nothing would move; swap them.")
    freqs = sv.freqs_hz.astype(np.float64)
    keep = np.ones(freqs.shape, dtype=bool)
    if low is not None:
        keep &= freqs >= low - _FREQ_TOLERANCE * max(low, 1.0)
    if high is not None:
        keep &= freqs <= high + _FREQ_TOLERANCE * max(high, 1.0)
    return _with_coeffs(sv, sv.coeffs * keep.astype(np.float32).reshape(-1, 1, 1, 1))


def scale_strength(sv: SpectralVolume, factor: float) -> SpectralVolume:
    """Magnify (``factor > 1``) or minify (``factor < 1``) every amplitude; ``0`` freezes the image."""
    gain = _non_negative("strength", factor, "1 keeps the motion, 2 doubles it, 0.5 halves it.")
    return _with_coeffs(sv, sv.coeffs * np.float32(gain))


def with_decay(sv: SpectralVolume, tau_s: float | None) -> SpectralVolume:
    """Set the settling time tau in seconds (``a_t * exp(-t / (fps * tau))``); ``None`` makes the motion loop again."""
    tau = None if tau_s is None else _positive("decay time tau_s (seconds)", tau_s,
                                               "Use None for motion that loops forever.")
    return _with_coeffs(sv, sv.coeffs, decay_s=tau)


# ----------------------------------------------------------------------------------------------------------------------
# Loop length and time stretch


def _exact(value: float) -> Fraction:
    """A frame rate as an exact fraction (29.97 -> 2997/100, 30000/1001 stays itself)."""
    return Fraction(value).limit_denominator(1_000_000)


def _loop_timing(sv: SpectralVolume, loop_frames: int, fps: float) -> tuple[float, int]:
    """The time axis of a volume looping every ``loop_frames`` frames at ``fps``: ``(volume fps, window frames)``.

    Keeps ``sv.fps`` when the loop is a whole number of its frames, else switches to ``fps`` (see the module notes).
    """
    frames_at_volume_rate = Fraction(loop_frames) * _exact(sv.fps) / _exact(fps)
    if frames_at_volume_rate.denominator == 1:
        return sv.fps, int(frames_at_volume_rate)
    return fps, loop_frames


def _loop_meta(sv: SpectralVolume, loop_frames: int, fps: float, window_frames: int, **extra: Any) -> dict[str, Any]:
    meta = dict(sv.meta)
    meta.update(loop_frames=loop_frames, loop_fps=fps, window_frames=window_frames, **extra)
    return meta


def loop_to(sv: SpectralVolume, loop_frames: int, fps: float | None = None) -> SpectralVolume:
    """Make the motion loop seamlessly every ``loop_frames`` frames at ``fps``, keeping its physical speed.

    Each band with ``f > 0`` moves to the nearest harmonic ``n * fps / loop_frames`` (``n = floor(f / h + 1/2)``, so a
    band exactly halfway goes up); a band whose nearest harmonic is 0 Hz goes to the first harmonic, so motion never
    freezes; bands landing on the same harmonic add as complex numbers; 0 Hz bands stay at 0 Hz.

    Args:
        sv: the volume.
        loop_frames: L, output frames in one loop (frame L repeats frame 0), >= 2.
        fps: the output frame rate; the loop lasts ``loop_frames / fps`` seconds. Defaults to ``sv.fps``.

    Returns:
        A volume with unique, ascending frequencies, all multiples of ``fps / loop_frames``, and ``meta`` recording
        ``loop_frames``, ``loop_fps`` and ``window_frames``. Its time axis is ``sv.fps`` when the loop is a whole number
        of ``sv.fps`` frames, else ``fps`` (module notes); ``natural_period_frames()`` is the loop in its own frames.
    """
    loop_frames = _loop_length(loop_frames)
    out_fps = sv.fps if fps is None else _positive("fps", fps)
    harmonic_hz = out_fps / loop_frames
    freqs = sv.freqs_hz.astype(np.float64)
    index = np.floor(freqs / harmonic_hz + 0.5).astype(np.int64)
    index[(freqs > 0) & (index < 1)] = 1
    index[freqs == 0] = 0
    targets, slot = np.unique(index, return_inverse=True)
    merged = np.zeros((targets.size,) + sv.coeffs.shape[1:], dtype=np.complex128)
    for band, destination in enumerate(slot.reshape(-1)):
        merged[destination] += sv.coeffs[band]
    volume_fps, window = _loop_timing(sv, loop_frames, out_fps)
    new_freqs = (targets.astype(np.float64) * harmonic_hz).astype(np.float32)
    return _with_coeffs(sv, merged, freqs_hz=new_freqs, fps=float(volume_fps),
                        meta=_loop_meta(sv, loop_frames, out_fps, window))


def time_stretch_to(sv: SpectralVolume, loop_frames: int, fps: float | None = None) -> SpectralVolume:
    """Speed the motion up or slow it down so the volume's natural period becomes ``loop_frames`` frames at ``fps``.

    All frequencies are multiplied by ``(sv.natural_period_frames() / sv.fps) / (loop_frames / fps)``; harmonics of the
    natural period become harmonics of the loop, so the result is exactly seamless when the input was. Nothing is
    re-binned (no two bands merge). ``meta['time_stretch']`` records the frequency factor (> 1: faster). The time axis
    follows the same rule as :func:`loop_to`.
    """
    loop_frames = _loop_length(loop_frames)
    out_fps = sv.fps if fps is None else _positive("fps", fps)
    period_s = sv.natural_period_frames() / sv.fps
    factor = period_s / (loop_frames / out_fps)
    new_freqs = (sv.freqs_hz.astype(np.float64) * factor).astype(np.float32)
    volume_fps, window = _loop_timing(sv, loop_frames, out_fps)
    meta = _loop_meta(sv, loop_frames, out_fps, window, time_stretch=factor)
    return _with_coeffs(sv, sv.coeffs, freqs_hz=new_freqs, fps=float(volume_fps), meta=meta)


def slow_motion_times(num_frames: int, factor: float, start: float = 0.0) -> np.ndarray:
    """Frame times for slow motion: float64 ``[num_frames]``, ``start + i / factor`` (factor 2 = half speed).

    Times are in frames of the volume's fps and may be fractional; pass them to :func:`spectral.displacements`.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, numbers.Integral) or num_frames < 0:
        raise InputError(f"num_frames must be a whole number >= 0, got {num_frames!r}.")
    speed = _positive("slow-motion factor", factor, "2 plays at half speed, 0.5 at double speed.")
    begin = _finite("start time (frames)", start)
    return begin + np.arange(int(num_frames), dtype=np.float64) / speed


# ----------------------------------------------------------------------------------------------------------------------
# Masks


def _source_size(meta: dict[str, Any]) -> tuple[float, float] | None:
    """``meta['source_size']`` as ``(width, height)`` when it is a pair of positive numbers, else ``None``."""
    size = meta.get("source_size")
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        return None
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in size):
        return None
    return float(size[0]), float(size[1])


def mask_on_grid(mask: np.ndarray, width: int, height: int, feather_px: float = 0.0,
                 source_size: tuple[float, float] | None = None, name: str = "mask") -> np.ndarray:
    """Resample a motion mask to a ``width`` x ``height`` grid and feather it.

    Args:
        mask: ``[h, w]`` (or ``[h, w, 1]``) real values in 0..1 (0 = static, 1 = full motion), any size whose aspect
            ratio is within 2 % of the source image's (when ``source_size`` is given) or else of the grid's.
        width, height: the grid size.
        feather_px: sigma of the Gaussian feather in source-image pixels (0 = none).
        source_size: ``(width, height)`` of the source image, for the aspect check and to convert ``feather_px`` to
            grid pixels (separately for x and y); ``None`` treats ``feather_px`` as grid pixels. Sigma is capped at
            twice the grid's long side.
        name: what to call the mask in error messages.

    Returns:
        float32 ``[height, width]`` in 0..1: area-averaged when shrinking, bilinear when enlarging, then blurred.
    """
    values = np.asarray(mask)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise InputError(f"{name} must be a 2-D [height, width] array of values in 0..1, got shape {values.shape}.")
    if values.dtype == bool:
        values = values.astype(np.float32)
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise InputError(f"{name} must hold real numbers in 0..1, got dtype {values.dtype}.")
    values = values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{name} holds NaN or infinite values; give values in 0..1.")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 1:
        raise InputError(f"{name} values must be in 0..1 (0 = static, 1 = full motion), got {low:g}..{high:g}. "
                         "Divide an 8-bit mask by 255.")
    mask_h, mask_w = values.shape
    # the grid of a very elongated image cannot keep its aspect ratio exactly: compare with the image when known
    if source_size:
        reference, aspect = f"the image is {source_size[0]:g}x{source_size[1]:g}", source_size[0] / source_size[1]
    else:
        reference, aspect = f"the motion grid is {width}x{height}", width / height
    if abs((mask_w / mask_h) / aspect - 1) > MASK_ASPECT_TOLERANCE:
        raise InputError(f"{name} is {mask_w}x{mask_h} (aspect {mask_w / mask_h:.3f}) but {reference} "
                         f"(aspect {aspect:.3f}); make a mask the size of the image.")
    if (mask_w, mask_h) != (width, height):
        shrinking = mask_w >= width and mask_h >= height
        values = cv2.resize(values, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    feather = _non_negative("mask feather (pixels)", feather_px)
    if feather > 0:
        scale_x, scale_y = (width / source_size[0], height / source_size[1]) if source_size else (1.0, 1.0)
        limit = 2.0 * max(width, height)
        sigma_x, sigma_y = min(feather * scale_x, limit), min(feather * scale_y, limit)
        values = cv2.GaussianBlur(values, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y, borderType=cv2.BORDER_REPLICATE)
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def apply_mask(sv: SpectralVolume, mask: np.ndarray, feather_px: float = 0.0) -> SpectralVolume:
    """Multiply the motion by a mask (0 = static, 1 = unchanged), resampled to the volume grid and feathered.

    Args:
        sv: the volume.
        mask: ``[h, w]`` values in 0..1, any size with the image's aspect ratio (within 2 %; the image size is
            ``meta['source_size']``, or the volume grid's when absent).
        feather_px: Gaussian feather sigma in source-image pixels, converted with ``meta['source_size']``
            (``[width, height]``) when present, else taken as volume pixels. 0 = a hard edge.
    """
    weights = mask_on_grid(mask, sv.width, sv.height, feather_px, _source_size(sv.meta))
    return _with_coeffs(sv, sv.coeffs * weights[None, None])
