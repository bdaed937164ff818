"""The limits of every request, checked before any work starts, in one place.

Every entry point (CLI, add-on, Python) calls these checks before reading large inputs or rendering, so an absurd
value ends with one line naming the limit ("at most 100000 frames", "needs about 9.1 GB") instead of a traceback or
an out-of-memory crash half way. docs/reliability.md lists the same values.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from .errors import InputError

#: Frames one render may write (a loop, a --frames range or a decay's settling time).
MAX_FRAMES = 100_000
#: Largest output frame number (file names stay at most 7 digits).
MAX_FRAME_NUMBER = 9_999_999
#: Output and motion frame rates, frames per second.
MIN_FPS, MAX_FPS = 0.1, 1000.0
#: Slow-motion factor (2 = half speed).
MIN_SLOW_MOTION, MAX_SLOW_MOTION = 0.001, 1000.0
#: Decay (settling) time, seconds.
MIN_DECAY_S, MAX_DECAY_S = 0.001, 3600.0
#: Amplitude factor of --strength and of band gains.
MAX_STRENGTH = 1000.0
#: Frequencies of cuts and band-gain curves, Hz.
MAX_HZ = 1000.0
#: Lengths in image pixels (mask feather, procedural coherence and amplitude).
MAX_PIXELS_LENGTH = 100_000.0
#: Softmax-splatting sharpness.
MAX_SPLAT_BETA = 1000.0
#: Seeds: what every random generator of the engine (numpy, torch) accepts.
MAX_SEED = 2**32 - 1
#: Image sides and area.
MAX_IMAGE_SIDE = 65_535
MAX_IMAGE_PIXELS = 400_000_000
#: Bytes per image pixel at the peak of rendering one RGB frame of an image of at most WINDOWED_RENDER_MIN_PIXELS,
#: whose splat sums cover the whole frame (the upsampler's cached weights, the softmax weights, the sums, the
#: importance map, one flow, one frame and its PNG encoding), measured with tracemalloc (benchmarks/bench_memory.py)
#: at 3000x3000: 93.8 B/px when the importance spread makes the sums float64 (73.8 float32); with a margin.
RENDER_BYTES_PER_PIXEL = 112
#: Larger images are splatted a window of rows at a time (render.Warper, render.KEEP_BUFFERS_MAX_PIXELS) and keep no
#: upsampling weights: one 8000x8000 RGB frame rendered and written as PNG peaks at 2.63 GB (41.0 B/px, float64 sums;
#: 37.0 float32), a bake of several frames no higher (bake writes a frame this large before rendering the next); this
#: is that with a margin.
WINDOWED_RENDER_BYTES_PER_PIXEL = 52
#: Images with more pixels than this render in windows (the same number as render.KEEP_BUFFERS_MAX_PIXELS).
WINDOWED_RENDER_MIN_PIXELS = 9_000_000
#: Extra bytes per pixel of an RGBA image (its premultiplied copy, a 4-channel frame and sums): 3000x3000 RGBA
#: measured 123.8 B/px; in windows, where the premultiplied copy is made per window, 8000x8000 RGBA 47.9 B/px.
ALPHA_BYTES_PER_PIXEL = 36
WINDOWED_ALPHA_BYTES_PER_PIXEL = 8
#: Neither includes the decoded input image itself, which is in memory before the check.
#: Share of the available memory one request may plan to use.
MEMORY_SHARE = 0.9


def _number(value: object, option: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{option} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise InputError(f"{option} must be a finite number, got {value!r}.")
    return number


def check_range(value: object, option: str, low: float, high: float, low_inclusive: bool = True,
                unit: str = "") -> float:
    """Return ``value`` as a float if ``low <= value <= high`` (``low < value`` unless ``low_inclusive``); otherwise
    raise :class:`InputError` naming ``option`` and both bounds."""
    number = _number(value, option)
    unit = f" {unit}" if unit else ""
    if number > high:
        raise InputError(f"{option} {number:g} is too large: at most {high:g}{unit}.")
    if number < low or (not low_inclusive and number == low):
        bound = f"at least {low:g}" if low_inclusive else f"more than {low:g}"
        raise InputError(f"{option} {number:g} is too small: {bound}{unit}.")
    return number


def check_seed(seed: object, option: str = "--seed") -> int:
    """Return ``seed`` as an int in ``0 .. 2**32 - 1``; otherwise raise :class:`InputError`."""
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise InputError(f"{option} must be a whole number from 0 to {MAX_SEED}, got {seed!r}.")
    value = int(seed)  # type: ignore[call-overload]
    if not 0 <= value <= MAX_SEED:
        raise InputError(f"{option} {value} is out of range: seeds are whole numbers from 0 to {MAX_SEED}.")
    return value


def check_frame_count(count: int, what: str = "this render") -> int:
    """Refuse more than :data:`MAX_FRAMES` frames before any file name is built."""
    if count > MAX_FRAMES:
        raise InputError(f"{what} would write {count} frames; at most {MAX_FRAMES} frames per render. Render a "
                         "shorter range with --frames A:B (farm chunks compose), a shorter --decay or a lower --fps.")
    return int(count)


def check_frame_range(start: int, stop: int) -> None:
    """A ``--frames START:STOP`` range: non-negative, non-empty, numbers at most :data:`MAX_FRAME_NUMBER`."""
    if start < 0 or stop <= start:
        raise InputError(f"--frames {start}:{stop} is empty or negative; give START:STOP with 0 <= START < STOP "
                         "(STOP exclusive, frame 0 is the input image).")
    check_frame_count(stop - start, f"--frames {start}:{stop}")
    if stop - 1 > MAX_FRAME_NUMBER:
        raise InputError(f"--frames {start}:{stop}: frame numbers go up to {MAX_FRAME_NUMBER} at most.")


def check_image_size(width: int, height: int, where: str = "the image") -> None:
    """Refuse images wider or taller than :data:`MAX_IMAGE_SIDE` or larger than :data:`MAX_IMAGE_PIXELS`."""
    if width < 1 or height < 1:
        raise InputError(f"{where} is empty ({width}x{height} pixels).")
    if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise InputError(f"{where} is {width}x{height} pixels; at most {MAX_IMAGE_SIDE} pixels a side and "
                         f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels. Downscale it first.")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``, else free physical pages), or
    ``None`` when the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak memory a request is expected to need, bytes, and what it is for."""

    bytes: int
    what: str

    @property
    def gb(self) -> float:
        return self.bytes / 1e9


def render_memory(width: int, height: int, channels: int = 3) -> MemoryEstimate:
    """Peak memory of rendering a ``width`` x ``height`` image with ``channels`` (3 or 4), bytes: one frame's peak,
    since frames stream (a bake of N frames needs no more). The input image itself is not included."""
    pixels = int(width) * int(height)
    if pixels > WINDOWED_RENDER_MIN_PIXELS:
        per_pixel = WINDOWED_RENDER_BYTES_PER_PIXEL + WINDOWED_ALPHA_BYTES_PER_PIXEL * (channels == 4)
    else:
        per_pixel = RENDER_BYTES_PER_PIXEL + ALPHA_BYTES_PER_PIXEL * (channels == 4)
    return MemoryEstimate(pixels * per_pixel, f"rendering {width}x{height} frames")


def check_memory(estimate: MemoryEstimate, available: int | None = None) -> None:
    """Refuse a request that needs more than :data:`MEMORY_SHARE` of the available memory, saying how much."""
    available = available_memory() if available is None else available
    if available is None:
        return
    if estimate.bytes > MEMORY_SHARE * available:
        raise InputError(f"{estimate.what} needs about {estimate.gb:.1f} GB of memory, but only about "
                         f"{available / 1e9:.1f} GB are available. Render a smaller image, or close other programs.")


def check_render_settings(settings: object) -> None:
    """Check every number of a :class:`~image_dynamics.settings.RenderSettings` against its limit."""
    s = settings
    if s.fps is not None:
        check_range(s.fps, "--fps", MIN_FPS, MAX_FPS, unit="frames per second")
    check_range(s.strength, "--strength", 0.0, MAX_STRENGTH)
    if s.decay_s is not None:
        check_range(s.decay_s, "--decay", MIN_DECAY_S, MAX_DECAY_S, unit="seconds")
    check_range(s.slow_motion, "--slow-motion", MIN_SLOW_MOTION, MAX_SLOW_MOTION)
    for option, hz in (("--low-cut", s.low_cut_hz), ("--high-cut", s.high_cut_hz)):
        if hz is not None:
            check_range(hz, option, 0.0, MAX_HZ, unit="Hz")
    for hz, gain in s.band_gains:
        check_range(hz, "--band-gains frequency", 0.0, MAX_HZ, unit="Hz")
        check_range(gain, "--band-gains gain", 0.0, MAX_STRENGTH)
    check_range(s.mask_feather_px, "--mask-feather", 0.0, MAX_PIXELS_LENGTH, unit="pixels")
    check_range(s.splat_beta, "--splat-beta", 0.0, MAX_SPLAT_BETA)
    if s.loop_frames is not None:
        if s.loop_frames < 2:
            raise InputError(f"--loop-frames must be at least 2 frames, got {s.loop_frames}.")
        check_frame_count(s.loop_frames, f"--loop-frames {s.loop_frames}")
    if s.frames is not None:
        check_frame_range(*s.frames)


def check_render_request(image: object, render_plan: object, spec: object | None = None) -> None:
    """Before rendering: the planned frame count, the image's size and the memory one frame needs.

    ``image`` is an :class:`~image_dynamics.io.LoadedImage` (or anything with ``width``, ``height``, ``pixels``),
    ``render_plan`` a :class:`~image_dynamics.settings.RenderPlan`.
    """
    check_frame_count(len(render_plan.frame_numbers))
    check_image_size(image.width, image.height)
    pixels = getattr(image, "pixels", None)
    channels = pixels.shape[2] if pixels is not None else 3
    check_memory(render_memory(image.width, image.height, channels))
    if pixels is not None and not np.isfinite(pixels).all():
        bad = int(np.count_nonzero(~np.isfinite(pixels)))
        raise InputError(f"{getattr(image, 'path', 'the image')}: holds {bad} NaN or infinite pixel values, which "
                         "would render as holes. Replace them in the compositor (e.g. clamp or fill) and save again.")


def check_procedural(params: object) -> None:
    """Check the numbers of :class:`~image_dynamics.procedural.ProceduralParams` against their limits."""
    p = params
    check_range(p.dominant_hz, "--dominant-hz", 0.0, MAX_HZ, low_inclusive=False, unit="Hz")
    check_range(p.falloff, "--falloff", 0.0, 100.0)
    check_range(p.direction_deg, "--direction", -360.0, 360.0, unit="degrees")
    check_range(p.directionality, "--directionality", 0.0, 1.0)
    check_range(p.coherence_px, "--coherence", 0.0, MAX_PIXELS_LENGTH, low_inclusive=False, unit="pixels")
    check_range(p.strength_px, "--amplitude", 0.0, MAX_PIXELS_LENGTH, unit="pixels")
    check_seed(p.seed)
