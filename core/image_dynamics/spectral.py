"""Spectral volumes: per-pixel Fourier coefficients of oscillating motion, their file format and their inverse DFT.

Conventions (docs/conventions.md):

- ``coeffs`` is complex64 ``[K, 2, H, W]``; component 0 is x (right), 1 is y (down), in pixels of this volume's
  own grid.
- Coefficients are one-sided amplitudes: ``d_t = Re sum_k S_k exp(2 pi i f_k t / fps)`` reconstructs a trajectory
  directly, with ``S_0 = X_0 / T`` and ``S_k = 2 X_k / T`` for the FFT ``X`` of ``T`` samples.
- Rendering anchors motion so frame 0 is the input image: ``a_t = d_t - d_0``; an optional decay time ``tau`` (seconds)
  multiplies it by ``exp(-t / (fps * tau))`` so motion settles instead of looping.
- ``t`` is measured in frames of the volume's own ``fps`` and may be fractional (slow motion, other output frame rates).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import limits, npz_reader
from .atomic import atomic_output
from .errors import MotionFileError

FORMAT_VERSION = 1
#: Files that hold a flow field (the optional ``flow`` key) are version 2, so older programs refuse them with a clear
#: line instead of silently dropping the flow; every other file stays version 1.
FLOW_FORMAT_VERSION = 2
REQUIRED_KEYS = ("coeffs", "freqs_hz", "fps", "meta")
#: Largest motion file read, expanded: 2 GB of coefficients (a 256 x 256 grid of 16 bands is 8 MB).
MAX_MOTION_BYTES = 2 * 1024**3
#: Deepest nesting of the free-form ``meta`` object.
MAX_META_DEPTH = 32
_MOTION_MEMBERS = {
    "coeffs": npz_reader.Member("cfiu", None, MAX_MOTION_BYTES),
    "freqs_hz": npz_reader.Member("fiuc", None, 1 << 20),
    "fps": npz_reader.Member("fiucbU", None, 1 << 10),
    "meta": npz_reader.Member("U", None, 4 << 20),
    "flow": npz_reader.Member("fiuc", None, MAX_MOTION_BYTES, required=False),
}
#: GID's window: 150 samples (the input frame and the 149 after it) at 30 fps, first 16 DFT terms (0 to 3.0 Hz).
DEFAULT_WINDOW_FRAMES = 150
DEFAULT_FPS = 30.0
DEFAULT_K = 16


@dataclass(frozen=True, eq=False)
class SpectralVolume:
    """Motion of every pixel as a sum of damped-free oscillations.

    Attributes:
        coeffs: complex64 ``[K, 2, H, W]``, one-sided amplitudes in pixels (x right, y down).
        freqs_hz: float32 ``[K]``, non-negative frequency of each band in Hz.
        fps: frames per second of the time axis ``t``.
        meta: free-form JSON-serialisable facts (model, seed, source size, window frames, ...).
        decay_s: optional settling time tau in seconds; ``None`` means the motion loops forever.
        flow: optional float32 ``[2, H, W]`` static velocity field on the same grid, grid pixels per second (x right,
            y down), for motion that travels instead of oscillating (see :mod:`image_dynamics.flow`); ``None``: none.
    """

    coeffs: np.ndarray
    freqs_hz: np.ndarray
    fps: float
    meta: dict[str, Any] = field(default_factory=dict)
    decay_s: float | None = None
    flow: np.ndarray | None = None

    @property
    def num_bands(self) -> int:
        return int(self.coeffs.shape[0])

    @property
    def height(self) -> int:
        return int(self.coeffs.shape[2])

    @property
    def width(self) -> int:
        return int(self.coeffs.shape[3])

    def with_(self, **changes: Any) -> SpectralVolume:
        """A copy with some fields replaced (the volume itself is never modified)."""
        return replace(self, **changes)

    def natural_period_frames(self) -> int:
        """Length in frames of one seamless loop of this volume as it is.

        The window length recorded in ``meta['window_frames']`` when the frequencies are its harmonics (files made by
        :func:`from_trajectories` and the model), otherwise the period of the smallest positive frequency, rounded.
        """
        positive = self.freqs_hz[self.freqs_hz > 0]
        window = self.meta.get("window_frames")
        if window:
            base = self.fps / float(window)
            if np.allclose(positive / base, np.round(positive / base), atol=1e-3):
                return int(window)
        if positive.size == 0:
            return int(window or DEFAULT_WINDOW_FRAMES)
        return max(2, int(round(self.fps / float(positive.min()))))


def _fail(path: str | os.PathLike | None, what: str, fix: str) -> MotionFileError:
    where = f"{path}: " if path is not None else ""
    return MotionFileError(f"{where}{what}. {fix}")


def validate(sv: SpectralVolume, path: str | os.PathLike | None = None) -> SpectralVolume:
    """Check every field of a spectral volume and return it; raise :class:`MotionFileError` saying what is wrong."""
    c, f = sv.coeffs, sv.freqs_hz
    regenerate = "Re-create the file with `image-dynamics motion` or `image-dynamics predict`."
    if not isinstance(c, np.ndarray) or c.ndim != 4 or c.shape[1] != 2:
        shape = getattr(c, "shape", None)
        raise _fail(path, f"'coeffs' must have shape [K, 2, H, W] (K bands, x/y, rows, columns), got {shape}",
                    regenerate)
    if not np.iscomplexobj(c):
        raise _fail(path, f"'coeffs' must be complex (complex64), got {c.dtype}", regenerate)
    if c.shape[0] == 0:
        raise _fail(path, "'coeffs' has K = 0 frequency bands, so there is no motion to render", regenerate)
    if c.shape[2] < 1 or c.shape[3] < 1:
        raise _fail(path, f"'coeffs' has an empty image grid {c.shape[2]}x{c.shape[3]}", regenerate)
    if not isinstance(f, np.ndarray) or f.ndim != 1 or f.shape[0] != c.shape[0]:
        raise _fail(path, f"'freqs_hz' must be a 1-D array of K = {c.shape[0]} frequencies, "
                          f"got shape {getattr(f, 'shape', None)}", regenerate)
    if not np.issubdtype(f.dtype, np.floating):
        raise _fail(path, f"'freqs_hz' must be floating point, got {f.dtype}", regenerate)
    if not np.all(np.isfinite(f)) or np.any(f < 0):
        raise _fail(path, f"'freqs_hz' must be finite and non-negative, got {np.array2string(f, precision=3)}",
                    regenerate)
    if not np.all(np.isfinite(c.real)) or not np.all(np.isfinite(c.imag)):
        bad = int(np.count_nonzero(~(np.isfinite(c.real) & np.isfinite(c.imag))))
        raise _fail(path, f"'coeffs' holds {bad} NaN or infinite values", regenerate)
    fps_ok = isinstance(sv.fps, (int, float, np.floating, np.integer)) and math.isfinite(float(sv.fps))
    if not (fps_ok and float(sv.fps) > 0):
        raise _fail(path, f"'fps' must be a positive number, got {sv.fps!r}", regenerate)
    if sv.decay_s is not None and not (math.isfinite(sv.decay_s) and sv.decay_s > 0):
        raise _fail(path, f"decay time must be a positive number of seconds, got {sv.decay_s!r}",
                    "Use --decay with a value > 0.")
    if not isinstance(sv.meta, dict):
        raise _fail(path, f"'meta' must be a JSON object, got {type(sv.meta).__name__}", regenerate)
    if sv.flow is not None:
        v = sv.flow
        if not isinstance(v, np.ndarray) or v.shape != (2,) + c.shape[2:] or not np.issubdtype(v.dtype, np.floating):
            raise _fail(path, f"'flow' must be a float velocity field [2, H, W] = [2, {c.shape[2]}, {c.shape[3]}] "
                              f"on the coefficients' grid, got shape {getattr(v, 'shape', None)} "
                              f"dtype {getattr(v, 'dtype', None)}", "Re-create it with `image-dynamics motion flow`.")
        if not np.all(np.isfinite(v)):
            raise _fail(path, f"'flow' holds {int(np.count_nonzero(~np.isfinite(v)))} NaN or infinite values",
                        "Re-create it with `image-dynamics motion flow`.")
    return sv


def make(coeffs: np.ndarray, freqs_hz: np.ndarray, fps: float, meta: dict[str, Any] | None = None,
         decay_s: float | None = None, flow: np.ndarray | None = None) -> SpectralVolume:
    """Build and validate a spectral volume, normalising dtypes (complex64 coefficients, float32 frequencies/flow)."""
    sv = SpectralVolume(np.ascontiguousarray(coeffs, dtype=np.complex64), np.asarray(freqs_hz, dtype=np.float32),
                        float(fps), dict(meta or {}), decay_s,
                        None if flow is None else np.ascontiguousarray(flow, dtype=np.float32))
    return validate(sv)


# ----------------------------------------------------------------------------------------------------------------------
# File format


def save(sv: SpectralVolume, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``sv`` as an ``.npz`` (keys coeffs, freqs_hz, fps, meta), via a temporary file renamed into place."""
    validate(sv)
    meta = dict(sv.meta)
    meta["format_version"] = FORMAT_VERSION if sv.flow is None else FLOW_FORMAT_VERSION
    extra = {} if sv.flow is None else {"flow": sv.flow.astype(np.float32)}
    if sv.decay_s is not None:
        meta["decay_s"] = float(sv.decay_s)
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, coeffs=sv.coeffs.astype(np.complex64), freqs_hz=sv.freqs_hz.astype(np.float32),
                                fps=np.float64(sv.fps), meta=np.array(json.dumps(meta)), **extra)
    return path


def load(path: str | os.PathLike) -> SpectralVolume:
    """Read and validate a spectral-volume ``.npz``; a :class:`MotionFileError` says what is wrong and how to fix it."""
    path = Path(path)
    if not path.exists():
        raise MotionFileError(f"{path}: motion file not found. Check the path, or make one with "
                              "`image-dynamics motion procedural IMAGE -o FILE.npz`.")
    arrays = npz_reader.read(path, _MOTION_MEMBERS, MotionFileError,
                             "Re-create the file with `image-dynamics motion` or `image-dynamics predict`.",
                             "motion file")
    coeffs, freqs, fps_arr, meta_arr = (arrays[k] for k in REQUIRED_KEYS)
    flow = arrays.get("flow")
    regenerate = "Re-create the file."
    if fps_arr.shape != () or fps_arr.dtype.kind not in "iuf":
        raise _fail(path, f"'fps' must be a single number (real), got shape {fps_arr.shape} dtype {fps_arr.dtype}",
                    regenerate)
    fps = float(fps_arr)
    if not (math.isfinite(fps) and fps > 0):
        raise _fail(path, f"'fps' must be a positive number, got {fps!r}", regenerate)
    if not limits.MIN_FPS <= fps <= limits.MAX_FPS:
        raise _fail(path, f"'fps' is {fps:g}; a motion file's fps must be from {limits.MIN_FPS:g} to "
                          f"{limits.MAX_FPS:g}", regenerate)
    if meta_arr.shape != ():
        raise _fail(path, f"'meta' must be one JSON text, got shape {meta_arr.shape}", regenerate)
    try:
        meta = json.loads(str(meta_arr))
    except json.JSONDecodeError as exc:
        raise _fail(path, f"'meta' is not valid JSON ({exc})", regenerate) from None
    except RecursionError:
        raise _fail(path, "'meta' is nested too deeply", regenerate) from None
    if not isinstance(meta, dict):
        raise _fail(path, "'meta' must be a JSON object", regenerate)
    if _depth(meta) > MAX_META_DEPTH:
        raise _fail(path, f"'meta' is nested more than {MAX_META_DEPTH} levels deep", regenerate)
    version = meta.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > FLOW_FORMAT_VERSION:
        raise _fail(path, f"format version {version!r} is newer than this program reads ({FLOW_FORMAT_VERSION})",
                    "Update image-dynamics.")
    window = meta.get("window_frames")
    if window is not None and not (isinstance(window, int) and not isinstance(window, bool)
                                   and 1 <= window <= limits.MAX_FRAMES):
        raise _fail(path, f"meta 'window_frames' must be a whole number of frames from 1 to {limits.MAX_FRAMES}, "
                          f"got {window!r}"[:300], regenerate)
    decay = meta.pop("decay_s", None)
    if decay is not None and not (isinstance(decay, (int, float)) and not isinstance(decay, bool)):
        raise _fail(path, f"meta 'decay_s' must be a number of seconds, got {decay!r}"[:300], regenerate)
    if isinstance(decay, int):
        decay = float(decay) if abs(decay) < 2**53 else math.inf
    if decay is not None and math.isfinite(decay) and decay > 0 \
            and not limits.MIN_DECAY_S <= decay <= limits.MAX_DECAY_S:
        raise _fail(path, f"meta 'decay_s' is {decay:g}; a decay time must be from {limits.MIN_DECAY_S:g} to "
                          f"{limits.MAX_DECAY_S:g} seconds", regenerate)
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf and are refused below
        if np.iscomplexobj(coeffs) and coeffs.dtype != np.complex64:
            coeffs = coeffs.astype(np.complex64)
        if np.issubdtype(freqs.dtype, np.floating) and freqs.dtype != np.float32:
            freqs = freqs.astype(np.float32)
    if flow is not None and flow.dtype.kind == "f" and flow.dtype != np.float32:
        flow = flow.astype(np.float32)
    sv = SpectralVolume(coeffs, freqs, fps, meta, None if decay is None else float(decay), flow)
    return validate(sv, path)


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_META_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


# ----------------------------------------------------------------------------------------------------------------------
# Analysis and synthesis


def harmonic_freqs(num_bands: int = DEFAULT_K, window_frames: int = DEFAULT_WINDOW_FRAMES,
                   fps: float = DEFAULT_FPS) -> np.ndarray:
    """The first ``num_bands`` DFT frequencies of a ``window_frames`` window: ``k * fps / window_frames`` Hz."""
    return (np.arange(num_bands, dtype=np.float64) * fps / window_frames).astype(np.float32)


def from_trajectories(trajectories: np.ndarray, fps: float = DEFAULT_FPS, num_bands: int = DEFAULT_K,
                      meta: dict[str, Any] | None = None) -> SpectralVolume:
    """Spectral volume of a motion sequence, as GID computes it.

    Args:
        trajectories: float ``[T, 2, H, W]`` displacement of every pixel from its frame-0 position, in pixels
            (x right, y down), frame 0 included (normally all zeros).
        fps: frame rate of the sequence.
        num_bands: K, how many DFT terms to keep (at most ``T // 2 + 1``).

    Returns:
        A volume with ``freqs_hz[k] = k * fps / T`` and one-sided coefficients ``S_0 = X_0 / T``, ``S_k = 2 X_k / T``.
    """
    traj = np.asarray(trajectories)
    if traj.ndim != 4 or traj.shape[1] != 2:
        raise ValueError(f"trajectories must have shape [T, 2, H, W], got {traj.shape}")
    frames = traj.shape[0]
    if not 1 <= num_bands <= frames // 2 + 1:
        raise ValueError(f"num_bands must be between 1 and T // 2 + 1 = {frames // 2 + 1}, got {num_bands}")
    spectrum = np.fft.rfft(traj.astype(np.float64), axis=0)[:num_bands]
    scale = np.full((num_bands, 1, 1, 1), 2.0 / frames)
    scale[0] = 1.0 / frames
    if frames % 2 == 0 and num_bands == frames // 2 + 1:
        scale[-1] = 1.0 / frames  # the Nyquist term is real and appears once
    info = {"window_frames": frames, "source": "trajectories"}
    info.update(meta or {})
    return make(spectrum * scale, harmonic_freqs(num_bands, frames, fps), fps, info)


def phase_matrix(freqs_hz: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """``exp(2 pi i f_k t / fps)`` as complex128 ``[N, K]`` for N frame times ``t`` (frames, may be fractional)."""
    t = np.asarray(times, dtype=np.float64).reshape(-1, 1)
    return np.exp(2j * np.pi * np.asarray(freqs_hz, dtype=np.float64).reshape(1, -1) * t / float(fps))


def displacement_basis(sv: SpectralVolume, times: np.ndarray) -> np.ndarray:
    """Real weights ``B [N, 2K]`` so that ``a_t = B @ [Re S; Im S]`` is the anchored (and decayed) displacement.

    ``Re(S e^{i phi}) = Re S cos phi - Im S sin phi``; subtracting the value at ``t = 0`` anchors frame 0 to the input.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    phases = phase_matrix(sv.freqs_hz, times, sv.fps) - 1.0  # anchored: e^{i phi(t)} - e^{i phi(0)}
    basis = np.concatenate([phases.real, -phases.imag], axis=1)
    if sv.decay_s is not None:
        basis *= np.exp(-times / (sv.fps * sv.decay_s))[:, None]
    return basis


def stacked_coeffs(sv: SpectralVolume) -> np.ndarray:
    """float32 ``[2K, 2*H*W]``: real parts of all bands then imaginary parts, each band flattened (x plane, then y)."""
    flat = sv.coeffs.reshape(sv.num_bands, -1)
    return np.ascontiguousarray(np.concatenate([flat.real, flat.imag], axis=0), dtype=np.float32)


def displacements(sv: SpectralVolume, times: np.ndarray | float) -> np.ndarray:
    """Anchored displacement fields at frame times ``times`` as one matrix product.

    Args:
        sv: the spectral volume.
        times: ``[N]`` frame times in frames of ``sv.fps`` (fractional allowed).

    Returns:
        float32 ``[N, 2, H, W]``: ``a_t = Re sum_k S_k (e^{2 pi i f_k t / fps} - 1)``, times the decay envelope if set.
    """
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    basis = displacement_basis(sv, times).astype(np.float32)
    return (basis @ stacked_coeffs(sv)).reshape(times.size, 2, sv.height, sv.width)


def raw_displacement(sv: SpectralVolume, t: float) -> np.ndarray:
    """Un-anchored ``d_t = Re sum_k S_k exp(2 pi i f_k t / fps)`` as float32 ``[2, H, W]`` (for checks and analysis)."""
    phase = phase_matrix(sv.freqs_hz, np.array([t]), sv.fps)[0]
    return np.tensordot(phase, sv.coeffs.astype(np.complex128), axes=(0, 0)).real.astype(np.float32)


def motion_energy(sv: SpectralVolume, include_dc: bool = False) -> np.ndarray:
    """``E(p) = sum_k |S_k,x(p)|^2 + |S_k,y(p)|^2`` in squared pixels, float32 ``[H, W]``.

    The 0 Hz band is a constant offset that anchoring removes, so it is left out unless ``include_dc``.
    """
    bands = sv.coeffs if include_dc else sv.coeffs[sv.freqs_hz > 0]
    return (np.abs(bands) ** 2).sum(axis=(0, 1)).astype(np.float32)


def band_energy_share(sv: SpectralVolume) -> np.ndarray:
    """Each band's share of the volume's motion energy (its ``sum_p |S_k,x|^2 + |S_k,y|^2`` over the total), float64
    ``[K]`` summing to 1 (all zeros for a volume without motion); what ``info`` and the add-on's spectrum plot show."""
    per_band = (np.abs(sv.coeffs.astype(np.complex128)) ** 2).sum(axis=(1, 2, 3))
    total = float(per_band.sum())
    return per_band / total if total > 0 else np.zeros_like(per_band)


def rms_amplitude(sv: SpectralVolume) -> float:
    """The volume's RMS oscillation amplitude in grid pixels: ``sqrt(mean_p E(p) / 2)`` (a sinusoid of amplitude A
    has mean square A^2 / 2)."""
    return float(np.sqrt(motion_energy(sv).mean() / 2.0))


def mean_motion_magnitude(sv: SpectralVolume, times: np.ndarray) -> np.ndarray:
    """GID's splat weight ``W(p) = mean_t |a_t(p)|`` over frame times ``times``, float32 ``[H, W]`` in pixels.

    Computed in chunks of frames so memory stays at a few fields at this volume's resolution.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    total = np.zeros((sv.height, sv.width), dtype=np.float64)
    coeffs = stacked_coeffs(sv)
    for start in range(0, times.size, 16):
        chunk = times[start:start + 16]
        fields = (displacement_basis(sv, chunk).astype(np.float32) @ coeffs).reshape(chunk.size, 2, sv.height, sv.width)
        total += np.sqrt(fields[:, 0] ** 2 + fields[:, 1] ** 2).sum(axis=0)  # 7x faster than np.hypot
    return (total / max(times.size, 1)).astype(np.float32)
