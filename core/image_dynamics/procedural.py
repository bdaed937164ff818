"""Procedural motion: a spectral volume for an image with no model, in the spirit of stochastic motion textures.

Chuang et al. (SIGGRAPH 2005, "Animating pictures with stochastic motion textures") animate plants and trees as
damped harmonic oscillators driven by spectrally filtered wind noise. This module builds the same kind of motion
directly in the spectral-volume form (docs/conventions.md), band by band:

``S_k(p) = s * m(p) * A(f_k; f_n(p)) * (u * a_par * N1_k(p) + v * a_perp * N2_k(p))``

- ``A(f; f_n)``: amplitude spectrum of a driven damped oscillator with natural frequency ``f_n`` and damping ratio
  :data:`DAMPING_RATIO`, ``|H(r)| = 1 / sqrt((1 - r^2)^2 + (2 zeta r)^2)`` with ``r = f / f_n``, times a wind spectrum
  ``(1 + r^2)^((2 - falloff) / 2)``: flat below the resonance, and chosen so the product falls as ``f^-falloff``
  beyond it (the oscillator alone falls as ``f^-2``, so ``falloff = 2`` is white wind, larger values are wind with
  less fast gusting, smaller values wind whose flutter grows with frequency). Normalised per pixel so that
  ``sum_k A_k^2 = 1`` over the positive bands; the 0 Hz band is zero.
- ``f_n(p) = dominant_hz * 2^(0.2 g(p)) * sqrt(2 - m(p))``: a smooth random field ``g`` (unit variance, coherence
  twice the motion's) spreads the natural frequencies of different branches by about 0.2 octave; less mobile (stiffer)
  parts oscillate faster.
- ``N1_k, N2_k``: complex Gaussian noise low-pass filtered with a Gaussian of sigma ``coherence_px / 2``, so the
  correlation of two pixels' coefficients (amplitude and phase) is ``exp(-d^2 / coherence_px^2)``: it falls to
  ``1/e`` at ``d = coherence_px``. Independent per band, deterministic by seed.
- ``u`` is the main sway direction, ``v`` perpendicular to it; ``a_par = sqrt((1 + directionality) / 2)``,
  ``a_perp = sqrt((1 - directionality) / 2)``.
- ``m(p)`` in 0..1 is the mobility: the mask when one is given, else :func:`image_mobility` (a heuristic).
- ``s = strength_px / PEAK_TO_RMS``: the expected RMS over a loop of the anchored displacement of a fully mobile
  pixel is ``s`` source pixels, and its peak over one loop is typically (median) ``strength_px``.

Coefficients are in pixels of the volume grid: x components are divided by ``W / w`` and y by ``H / h``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from . import spectral
from .edits import mask_on_grid
from .errors import InputError
from .spectral import SpectralVolume

#: Damping ratio zeta of every pixel's oscillator (0.15: a clear resonance, settling in a few periods).
DAMPING_RATIO = 0.15
#: Standard deviation, in octaves, of the natural frequency across the image.
NATURAL_FREQUENCY_SPREAD_OCTAVES = 0.2
#: Median over fully mobile pixels of (peak anchored displacement over one loop) / (expected RMS, sqrt of the motion
#: energy), measured: 1.77 for the defaults, 1.6..1.9 over dominant 0.3..1.5 Hz, falloff 1..4, directionality 0..1 and
#: coherence 8..150 px. Converts strength_px (a typical peak) to the RMS the coefficients are scaled to.
PEAK_TO_RMS = 1.75


@dataclass(frozen=True)
class ProceduralParams:
    """Settings of :func:`procedural_motion`. Lengths are in pixels of the source image.

    Attributes:
        dominant_hz: the typical natural (resonant) frequency of the swaying parts, Hz (> 0).
        falloff: exponent of the motion's amplitude spectrum beyond the resonance, ``|S(f)| ~ f^-falloff`` (>= 0).
        direction_deg: main sway direction in image coordinates: 0 = along x (right), 90 = along y (down), 45 = down
            and to the right. A sway is an oscillation, so 0 and 180 are the same.
        directionality: 0 = isotropic motion, 1 = all motion along ``direction_deg``.
        coherence_px: spatial coherence length: coefficients of pixels this far apart are correlated by 1/e (> 0).
        strength_px: typical peak displacement of a fully mobile pixel over one loop (>= 0).
        seed: random seed (>= 0); the same seed and settings give the same volume.
        num_bands: K, frequency bands ``k * fps / window_frames`` for k = 0..K-1 (at most window_frames // 2 + 1).
        fps: frame rate of the volume's time axis.
        window_frames: loop length in frames (the natural period of the result).
        grid_max_side: longest side of the volume grid (the image is never upsampled).
    """

    dominant_hz: float = 0.5
    falloff: float = 2.0
    direction_deg: float = 0.0
    directionality: float = 0.5
    coherence_px: float = 48.0
    strength_px: float = 6.0
    seed: int = 0
    num_bands: int = spectral.DEFAULT_K
    fps: float = spectral.DEFAULT_FPS
    window_frames: int = spectral.DEFAULT_WINDOW_FRAMES
    grid_max_side: int = 256

    def __post_init__(self) -> None:
        def real(name: str, low: float, low_inclusive: bool, high: float = math.inf) -> None:
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
            if ok:
                value = float(value)
                ok = (value >= low if low_inclusive else value > low) and value <= high
            if not ok:
                bound = f"{'>=' if low_inclusive else '>'} {low:g}" + (f" and <= {high:g}" if high < math.inf else "")
                raise InputError(f"procedural {name} must be a finite number {bound}, got {getattr(self, name)!r}.")
            object.__setattr__(self, name, value)  # plain float: meta stays JSON-serialisable

        def whole(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise InputError(f"procedural {name} must be a whole number >= {low}, got {value!r}.")
            object.__setattr__(self, name, int(value))

        real("dominant_hz", 0.0, False)
        real("falloff", 0.0, True)
        real("direction_deg", -math.inf, False)
        real("directionality", 0.0, True, 1.0)
        real("coherence_px", 0.0, False)
        real("strength_px", 0.0, True)
        real("fps", 0.0, False)
        whole("seed", 0)
        whole("window_frames", 2)
        whole("num_bands", 1)
        whole("grid_max_side", 1)
        if self.num_bands > self.window_frames // 2 + 1:
            raise InputError(f"procedural num_bands {self.num_bands} exceeds the {self.window_frames // 2 + 1} "
                             f"distinct frequencies of a {self.window_frames}-frame window; lower num_bands or "
                             "raise window_frames.")


def grid_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(grid_width, grid_height)``: the image size scaled so its longer side is at most ``max_side`` (never up)."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def _smoothstep(low: float, high: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - low) / (high - low), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


#: Local RMS of fine-detail contrast (detail / (local mean + 0.05), image normalised to its 99th percentile) mapped
#: to 0..1. Measured on the bundled forest photo: sky 0.002, gravel 0.07, rocks 0.095, tree crowns 0.11 (medians).
TEXTURE_CONTRAST = (0.03, 0.10)
#: Chromatic excess green ``(2G - R - B) / (R + G + B)`` mapped to 0..1 (foliage is green, sky and stone are not).
VEGETATION_EXCESS_GREEN = (0.02, 0.10)
#: Fraction of the grid height over which motion grows from a part's lowest point to full (taller parts sway more).
ROOT_HEIGHT_FRACTION = 0.2


def image_mobility(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Guess how freely each part of an image moves, on a ``width`` x ``height`` grid: float32 ``[height, width]`` 0..1.

    A heuristic for foliage in wind, not scene understanding:

    1. Texture: fine detail relative to local brightness, measured at twice the grid resolution. Foliage is
       textured; sky, water surfaces seen from afar, walls and smooth ground are flat and stay static.
    2. Colour: green parts (chromatic excess green) get full motion, other textured parts a quarter of it, so
       gravel, rocks and fences move little. Images without colour skip this cue.
    3. Height: along each column, motion grows with the distance above the bottom of a moving region
       (``1 - exp(-d / (0.2 h))``, from 35 % at the bottom): a plant rooted at its lowest point sways most at the top.
    4. Alpha (4-channel images): transparent pixels are static.

    Known failures: textured static things that are green (moss on stone, painted walls), smooth moving things
    (water, cloth, hair, smoke), and tree tops cut by the top border. Give a mask for those.
    """
    pixels = np.asarray(image, dtype=np.float32)
    channels = pixels.shape[2]
    src_h, src_w = pixels.shape[:2]
    if src_w > 2 * width or src_h > 2 * height:  # shrink first: full-resolution copies of large images are costly
        pixels = cv2.resize(pixels, (2 * width, 2 * height), interpolation=cv2.INTER_AREA).reshape(
            2 * height, 2 * width, channels)
    pixels = np.nan_to_num(pixels)
    colour = np.clip(pixels[..., :3] if channels >= 3 else np.repeat(pixels[..., :1], 3, axis=2), 0.0, None)
    luminance = colour @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    luminance = luminance / max(float(np.percentile(luminance, 99)), 1e-6)  # exposure-independent (sRGB or linear)

    # contrast of the fine detail, normalised per pixel before averaging so that dark flat regions next to texture
    # do not amplify the texture that the averaging spreads into them
    local_mean = cv2.GaussianBlur(luminance, (0, 0), 1.0, borderType=cv2.BORDER_REPLICATE)
    contrast = (luminance - local_mean) / (np.abs(local_mean) + 0.05)
    energy = cv2.GaussianBlur(contrast * contrast, (0, 0), 1.25, borderType=cv2.BORDER_REPLICATE)
    texture = _smoothstep(*TEXTURE_CONTRAST, np.sqrt(energy))

    total = colour.sum(axis=2) + 1e-6
    chroma = (np.abs(colour[..., 0] - colour[..., 1]) + np.abs(colour[..., 1] - colour[..., 2])) / total
    if float(chroma.mean()) > 0.02:
        excess_green = (2.0 * colour[..., 1] - colour[..., 0] - colour[..., 2]) / total
        # averaged over a few leaves: sky seen through a crown should not make the crown static
        excess_green = cv2.GaussianBlur(excess_green.astype(np.float32), (0, 0), 2.0, borderType=cv2.BORDER_REPLICATE)
        texture = texture * (0.25 + 0.75 * _smoothstep(*VEGETATION_EXCESS_GREEN, excess_green))

    mobility = cv2.resize(texture.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    # distance above the bottom of each moving region, per column; a light blur first closes gaps between leaves
    moving = cv2.GaussianBlur(mobility, (0, 0), 1.5, borderType=cv2.BORDER_REPLICATE) > 0.2
    above_root = np.zeros((height, width), dtype=np.float32)
    run = np.zeros(width, dtype=np.float32)
    for row in range(height - 1, -1, -1):
        run = (run + 1.0) * moving[row]
        above_root[row] = run
    growth = 1.0 - np.exp(-above_root / (ROOT_HEIGHT_FRACTION * height))
    # columns are measured independently: smooth across them so neighbouring columns do not streak
    growth = cv2.GaussianBlur(growth.astype(np.float32), (0, 0), sigmaX=3.0, sigmaY=1.0,
                              borderType=cv2.BORDER_REPLICATE)
    mobility = mobility * (0.35 + 0.65 * growth)
    mobility = cv2.GaussianBlur(mobility.astype(np.float32), (0, 0), 1.0, borderType=cv2.BORDER_REPLICATE)
    if channels == 4:
        alpha = np.ascontiguousarray(np.clip(pixels[..., 3], 0.0, 1.0))
        mobility = mobility * cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    return np.clip(mobility, 0.0, 1.0).astype(np.float32)


def coherent_noise(rng: np.random.Generator, height: int, width: int, sigma: float, count: int) -> np.ndarray:
    """Stationary complex Gaussian noise low-pass filtered to ``sigma`` pixels: complex128 ``[count, h, w]``.

    Each field has expected ``|z|^2 = 1`` at every pixel and correlation ``exp(-d^2 / (4 sigma^2))`` between pixels
    ``d`` apart; real and imaginary parts are independent. White noise is drawn directly in the Fourier domain of a
    grid padded by ``3 sigma`` (at most the image's larger side) so the periodic FFT does not tie opposite borders.
    """
    pad = int(math.ceil(min(3.0 * sigma, float(max(height, width)))))
    rows, cols = cv2.getOptimalDFTSize(height + 2 * pad), cv2.getOptimalDFTSize(width + 2 * pad)
    fy = np.fft.fftfreq(rows).reshape(-1, 1)
    fx = np.fft.fftfreq(cols).reshape(1, -1)
    transfer = np.exp(-2.0 * math.pi ** 2 * sigma ** 2 * (fy * fy + fx * fx))
    transfer *= rows * cols / math.sqrt(float(np.sum(transfer * transfer)))  # unit expected power after ifft2
    white = rng.standard_normal((2, count, rows, cols))
    spectrum = (white[0] + 1j * white[1]) * (transfer / math.sqrt(2.0))
    return np.fft.ifft2(spectrum, axes=(-2, -1))[:, pad:pad + height, pad:pad + width]


def oscillator_spectrum(freqs_hz: np.ndarray, natural_hz: np.ndarray, falloff: float) -> np.ndarray:
    """Normalised amplitude spectrum ``A_k(p)``: float64 ``[K, h, w]`` with ``sum_k A_k^2 = 1`` over ``f_k > 0``.

    ``A = |H(r)| * (1 + r^2)^((2 - falloff) / 2)``, ``r = f / f_n`` (module notes); 0 for the 0 Hz band.
    """
    ratio = np.asarray(freqs_hz, dtype=np.float64).reshape(-1, 1, 1) / natural_hz[None]
    response = 1.0 / np.sqrt((1.0 - ratio ** 2) ** 2 + (2.0 * DAMPING_RATIO * ratio) ** 2)
    amplitude = response * (1.0 + ratio ** 2) ** ((2.0 - falloff) / 2.0)
    amplitude[np.asarray(freqs_hz).reshape(-1) <= 0] = 0.0
    norm = np.sqrt(np.sum(amplitude ** 2, axis=0, keepdims=True))
    return np.divide(amplitude, norm, out=np.zeros_like(amplitude), where=norm > 0)


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise InputError(f"image must be a float array [height, width, 1, 3 or 4], got "
                         f"{getattr(image, 'shape', type(image).__name__)}.")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InputError(f"image is empty ({image.shape[1]}x{image.shape[0]} pixels).")
    if not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
        raise InputError(f"image must hold real numbers, got dtype {image.dtype}.")
    return image


def procedural_motion(image: np.ndarray, mask: np.ndarray | None = None,
                      params: ProceduralParams = ProceduralParams()) -> SpectralVolume:  # noqa: B008 (frozen, immutable)
    """Swaying motion for ``image`` without a model (module notes for the model).

    Args:
        image: float32 ``[H, W, C]`` (C = 1, 3 or 4), values as stored (sRGB 0..1 or linear).
        mask: optional ``[h, w]`` mobility in 0..1 (0 = static), any size with the image's aspect ratio (within 2 %);
            without one, :func:`image_mobility` guesses from the image.
        params: the motion's character and the volume's layout.

    Returns:
        A volume on a grid of at most ``grid_max_side`` keeping the aspect ratio, ``freqs_hz = k * fps /
        window_frames``, coefficients in grid pixels, meta ``{'source': 'procedural', 'params', 'seed',
        'source_size': [W, H], 'window_frames'}``.
    """
    image = _check_image(image)
    src_h, src_w = image.shape[:2]
    width, height = grid_size(src_w, src_h, params.grid_max_side)
    scale_x, scale_y = src_w / width, src_h / height
    if mask is None:
        mobility = image_mobility(image, width, height).astype(np.float64)
    else:
        mobility = mask_on_grid(mask, width, height, source_size=(src_w, src_h)).astype(np.float64)

    freqs = spectral.harmonic_freqs(params.num_bands, params.window_frames, params.fps)
    rng = np.random.default_rng(params.seed)
    sigma = params.coherence_px / 2.0 / math.sqrt(scale_x * scale_y)  # grid pixels
    spread = coherent_noise(rng, height, width, 2.0 * sigma, 1)[0].real * math.sqrt(2.0)
    natural_hz = (params.dominant_hz * np.exp2(NATURAL_FREQUENCY_SPREAD_OCTAVES * spread)
                  * np.sqrt(2.0 - mobility))
    shape = oscillator_spectrum(freqs, natural_hz, params.falloff)

    angle = math.radians(params.direction_deg)
    along = np.array([math.cos(angle), math.sin(angle)]) * math.sqrt((1.0 + params.directionality) / 2.0)
    across = np.array([-math.sin(angle), math.cos(angle)]) * math.sqrt((1.0 - params.directionality) / 2.0)
    to_grid = np.array([1.0 / scale_x, 1.0 / scale_y]).reshape(2, 1, 1)  # source pixels -> grid pixels per axis
    envelope = (params.strength_px / PEAK_TO_RMS) * mobility

    coeffs = np.zeros((params.num_bands, 2, height, width), dtype=np.complex64)
    for band in range(params.num_bands):
        if freqs[band] <= 0:
            continue  # the 0 Hz band is a constant offset that anchoring removes: leave it zero
        sway, cross = coherent_noise(rng, height, width, sigma, 2)
        weight = envelope * shape[band]
        vector = along.reshape(2, 1, 1) * sway[None] + across.reshape(2, 1, 1) * cross[None]
        coeffs[band] = weight[None] * vector * to_grid

    meta = {"source": "procedural", "params": asdict(params), "seed": params.seed,
            "source_size": [int(src_w), int(src_h)], "window_frames": params.window_frames}
    return spectral.make(coeffs, freqs, params.fps, meta)
