"""Motion of scene layers: smooth per-pixel sums of sinusoids, with exact trajectories and their exact DFT.

A layer's motion is a sum of terms. A term has a frequency ``f`` (Hz) and a complex coefficient field ``c(p)`` (pixels,
x and y components) over the layer's frame-0 positions ``p``; the surface point seen at ``p`` in frame 0 is displaced at
frame time ``t`` (frames at :data:`FPS`) by the anchored sum

    ``d(p, t) = Re sum_terms c(p) (exp(2 pi i f t / FPS) - 1)``,

so ``d(p, 0) = 0`` exactly: frame 0 is the rendered image. Because ``d`` is linear in the coefficients, a pixel's whole
trajectory over the window and its DFT are fixed linear maps of its per-frequency coefficients
(:func:`trajectory_matrix`, :func:`spectrum_matrix`): the spectral volume of a sample costs one small matrix
product instead of an FFT of 150 frames, and equals ``spectral.from_trajectories`` of the sampled trajectories to float
precision.
Frequencies that are multiples of ``FPS / WINDOW_FRAMES`` (0.2 Hz) loop exactly over the window; others leak into
neighbouring bands exactly as the FFT of a real clip would.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

FPS = 30.0
WINDOW_FRAMES = 150
NUM_BANDS = 16
BASE_HZ = FPS / WINDOW_FRAMES  # 0.2 Hz: the window's fundamental
#: Bound on |grad d| of a layer over all times (< 1 keeps its warp one-to-one and its fixed-point inverse converging).
#: The bound sums every term's gradient as if all were in phase, so the largest actual gradient is usually far lower.
MAX_GRADIENT = 0.8


_EXPECTED_HIDDEN_GAINS = contextvars.ContextVar("expected_hidden_gains", default=False)


def hidden_gain(rng: np.random.Generator, low: float, high: float) -> float:
    """An amplitude factor drawn uniformly from ``[low, high]`` that the rendered image does not show.

    How far a grass row, a tree, a bush or a flame sways varies between objects that look alike, so no predictor
    that sees only the image can know it. (Cloth amplitudes are not hidden: frame 0 draws the cloth displaced, so its
    folds show them. The wind's strength scales a scene's wind-driven motion alike.)

    Under :func:`expected_hidden_gains` the draw still consumes the generator (the scene and its image stay the same)
    but the factor is its root mean square ``sqrt(E[u^2])``: the motion energy becomes the best estimate from
    appearance alone, which bounds what a model can score (``scripts/energy_ceiling.py``).
    """
    drawn = float(rng.uniform(low, high))
    if _EXPECTED_HIDDEN_GAINS.get():
        return math.sqrt((low * low + low * high + high * high) / 3.0)
    return drawn


@contextlib.contextmanager
def expected_hidden_gains() -> Iterator[None]:
    """Within this context every :func:`hidden_gain` is its root mean square instead of its random draw."""
    token = _EXPECTED_HIDDEN_GAINS.set(True)
    try:
        yield
    finally:
        _EXPECTED_HIDDEN_GAINS.reset(token)


def harmonic(k: int) -> float:
    """The k-th harmonic of the window in Hz (k * 0.2 Hz at 30 fps over 150 frames)."""
    return k * BASE_HZ


def is_harmonic(freq_hz: float) -> bool:
    """Whether ``freq_hz`` loops exactly over the window (an integer multiple of :data:`BASE_HZ`)."""
    ratio = freq_hz / BASE_HZ
    return abs(ratio - round(ratio)) < 1e-6


@dataclass(frozen=True)
class Term:
    """One sinusoid of a layer's motion: ``c(p) = amp * envelope(p) * exp(i wavevec . p)``.

    The envelope is the product of an axial ramp ``s ** power`` with ``s = clip(((p - origin) . axis) / length, 0,
    s_max)`` (bending that grows along a stem, a flag, a flame; omitted when ``axis`` is None) and an optional Gaussian
    blob ``exp(-((x - cx) / rx)^2 - ((y - cy) / ry)^2)`` (leaf flutter in a tree crown). ``wavevec`` (radians per pixel)
    makes the phase vary over the layer: a gust travelling across grass, a wave running along a flag, neighbouring
    blades out of phase.

    Attributes:
        freq_hz: frequency in Hz.
        amp: complex amplitudes (x, y) in pixels where the envelope is 1.
    """

    freq_hz: float
    amp: tuple[complex, complex]
    origin: tuple[float, float] = (0.0, 0.0)
    axis: tuple[float, float] | None = None
    length: float = 1.0
    power: float = 1.0
    s_max: float = 1.0
    blob: tuple[float, float, float, float] | None = None
    wavevec: tuple[float, float] = (0.0, 0.0)

    def envelope(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        env = np.ones(np.broadcast_shapes(x.shape, y.shape), dtype=np.float32)
        if self.axis is not None:
            s = ((x - self.origin[0]) * self.axis[0] + (y - self.origin[1]) * self.axis[1]) / self.length
            env = env * np.clip(s, 0.0, self.s_max) ** self.power
        if self.blob is not None:
            cx, cy, rx, ry = self.blob
            env = env * np.exp(-((x - cx) / rx) ** 2 - ((y - cy) / ry) ** 2)
        return env.astype(np.float32, copy=False)

    def coeff(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """complex64 ``[2, ...]``: the (x, y) coefficient at image positions ``x``, ``y`` (float arrays, pixels)."""
        env = self.envelope(x, y).astype(np.complex64)
        if self.wavevec != (0.0, 0.0):
            env = env * np.exp(1j * (self.wavevec[0] * x + self.wavevec[1] * y)).astype(np.complex64)
        return np.stack([env * np.complex64(self.amp[0]), env * np.complex64(self.amp[1])])

    def bound(self) -> float:
        """Upper bound of ``|c(p)|`` over the plane, in pixels."""
        ramp = self.s_max ** self.power if self.axis is not None else 1.0
        return float(math.hypot(abs(self.amp[0]), abs(self.amp[1])) * ramp)


@dataclass
class MotionField:
    """The motion of one layer: a sum of terms (:class:`Term` or anything with ``freq_hz``, ``coeff``, ``bound``).

    ``gain`` scales all terms; the scene lowers it when a layer would fold over itself (see :data:`MAX_GRADIENT`).
    """

    terms: list = field(default_factory=list)
    gain: float = 1.0

    def freqs(self) -> list[float]:
        return sorted({float(t.freq_hz) for t in self.terms})

    def coefficients(self, x: np.ndarray, y: np.ndarray, freqs: list[float]) -> np.ndarray:
        """complex64 ``[len(freqs), 2, ...]``: summed coefficients per frequency of ``freqs`` (others are ignored)."""
        index = {f: j for j, f in enumerate(freqs)}
        out = np.zeros((len(freqs), 2, *np.broadcast_shapes(x.shape, y.shape)), dtype=np.complex64)
        for term in self.terms:
            j = index.get(float(term.freq_hz))
            if j is not None:
                out[j] += term.coeff(x, y)
        if self.gain != 1.0:
            out *= np.float32(self.gain)
        return out

    def bound(self) -> float:
        """Upper bound of ``|d(p, t)|`` over the plane and all times, in pixels."""
        return 2.0 * self.gain * sum(t.bound() for t in self.terms)


def phase_weights(freqs: list[float] | np.ndarray, times: np.ndarray) -> np.ndarray:
    """float64 ``[N, 2J]``: weights ``w`` with ``d(t) = w @ [Re c; Im c]`` at frame times ``times``; d(0) = 0.

    ``Re(c (e^{i phi} - 1)) = Re c (cos phi - 1) - Im c sin phi`` with ``phi = 2 pi f t / FPS``.
    """
    phi = 2.0 * np.pi * np.asarray(times, dtype=np.float64).reshape(-1, 1) * np.asarray(freqs, np.float64)[None] / FPS
    return np.concatenate([np.cos(phi) - 1.0, -np.sin(phi)], axis=1)


def trajectory_matrix(freqs: list[float] | np.ndarray, window: int = WINDOW_FRAMES) -> np.ndarray:
    """float64 ``[window, 2J]``: the anchored trajectory over frames ``0 .. window-1`` from ``[Re c; Im c]``."""
    return phase_weights(freqs, np.arange(window))


def spectrum_matrix(freqs: list[float] | np.ndarray, num_bands: int = NUM_BANDS,
                    window: int = WINDOW_FRAMES) -> np.ndarray:
    """float64 ``[2K, 2J]``: ``[Re S; Im S]`` of the first K one-sided DFT coefficients of the sampled trajectory.

    The same scaling as ``spectral.from_trajectories`` (``S_0 = X_0 / T``, ``S_k = 2 X_k / T``), applied to the
    trajectory matrix, so it holds for any frequencies, harmonic or not.
    """
    traj = trajectory_matrix(freqs, window)  # [T, 2J]
    k = np.arange(num_bands)[:, None]
    dft = np.exp(-2j * np.pi * k * np.arange(window)[None] / window)  # [K, T]
    scale = np.full((num_bands, 1), 2.0 / window)
    scale[0] = 1.0 / window
    if window % 2 == 0 and num_bands == window // 2 + 1:
        scale[-1] = 1.0 / window
    spectrum = scale * (dft @ traj)  # [K, 2J] complex
    return np.concatenate([spectrum.real, spectrum.imag], axis=0)


def stack_real(coeffs: np.ndarray) -> np.ndarray:
    """complex ``[J, ...]`` -> float32 ``[2J, prod(...)]`` as ``[Re; Im]`` rows (the operand of the matrices above)."""
    flat = coeffs.reshape(coeffs.shape[0], -1)
    return np.ascontiguousarray(np.concatenate([flat.real, flat.imag], axis=0), dtype=np.float32)
