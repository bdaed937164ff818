"""Procedural motion (stochastic motion textures without a model): layout, determinism, physics and the heuristic."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from image_dynamics import procedural, spectral
from image_dynamics.errors import InputError
from image_dynamics.procedural import ProceduralParams, procedural_motion


# Subnormal floats say nothing about these properties, and a library that switches the FPU to flush-to-zero in the same
# test process would make hypothesis refuse strategies that may produce them.
def floats(*args, **kwargs):
    return st.floats(*args, allow_subnormal=False, **kwargs)


def noise_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)


def everywhere(height: int, width: int) -> np.ndarray:
    return np.ones((height, width), dtype=np.float32)


def band_power(sv: spectral.SpectralVolume) -> np.ndarray:
    """Mean over pixels of |S_k|^2 (x and y), float64 [K]."""
    return (np.abs(sv.coeffs.astype(np.complex128)) ** 2).sum(axis=1).mean(axis=(1, 2))


def correlation_at_lag(field: np.ndarray, lag: int) -> float:
    """|<z(p) conj z(p + lag x)>| / <|z|^2> pooled over the leading axes of a complex field [..., H, W]."""
    left, right = field[..., :, :-lag], field[..., :, lag:]
    return float(np.abs(np.mean(left * np.conj(right))) / np.mean(np.abs(field) ** 2))


# ----------------------------------------------------------------------------------------------------------------------
# Layout and metadata


@pytest.mark.parametrize(("height", "width", "max_side", "grid"), [
    (300, 500, 64, (64, 38)),  # landscape: 300 * 64 / 500 = 38.4
    (500, 300, 64, (38, 64)),  # portrait
    (20, 30, 256, (30, 20)),  # small images are never upsampled
    (1080, 1920, 256, (256, 144)),
    (100, 1000, 256, (256, 26)),
    (10, 1000, 256, (256, 3)),  # too thin to keep the aspect ratio on the grid: the mask is checked against the image
])
def test_grid_keeps_aspect_ratio(height: int, width: int, max_side: int, grid: tuple[int, int]) -> None:
    assert procedural.grid_size(width, height, max_side) == grid
    params = ProceduralParams(grid_max_side=max_side, num_bands=4)
    sv = procedural_motion(noise_image(height, width), everywhere(height, width), params)
    assert (sv.width, sv.height) == grid
    assert sv.meta["source_size"] == [width, height]


def test_layout_and_meta() -> None:
    params = ProceduralParams(seed=42, num_bands=12, fps=24.0, window_frames=120, grid_max_side=40)
    sv = procedural_motion(noise_image(30, 40), None, params)
    assert sv.coeffs.shape == (12, 2, 30, 40) and sv.coeffs.dtype == np.complex64
    np.testing.assert_allclose(sv.freqs_hz, np.arange(12) * 24.0 / 120, rtol=1e-6)
    assert sv.fps == 24.0 and sv.decay_s is None
    assert np.all(sv.coeffs[0] == 0)  # 0 Hz band
    assert sv.meta["source"] == "procedural" and sv.meta["seed"] == 42 and sv.meta["window_frames"] == 120
    assert sv.meta["params"]["dominant_hz"] == params.dominant_hz and sv.meta["params"]["num_bands"] == 12
    assert sv.natural_period_frames() == 120
    json.dumps(sv.meta)  # serialisable as it is


def test_volume_saves_and_loads(tmp_path: Path) -> None:
    params = ProceduralParams(num_bands=6, grid_max_side=32, dominant_hz=np.float32(0.75))  # numpy scalars too
    sv = procedural_motion(noise_image(24, 32), None, params)
    loaded = spectral.load(spectral.save(sv, tmp_path / "motion.npz"))
    np.testing.assert_array_equal(loaded.coeffs, sv.coeffs)
    assert loaded.meta["params"]["dominant_hz"] == 0.75 and loaded.meta["source"] == "procedural"


def test_deterministic_by_seed_and_seed_changes_output() -> None:
    image, mask = noise_image(48, 64), everywhere(48, 64)
    first = procedural_motion(image, mask, ProceduralParams(seed=7, num_bands=6))
    again = procedural_motion(image.copy(), mask.copy(), ProceduralParams(seed=7, num_bands=6))
    np.testing.assert_array_equal(first.coeffs, again.coeffs)
    other = procedural_motion(image, mask, ProceduralParams(seed=8, num_bands=6))
    assert not np.allclose(other.coeffs, first.coeffs)
    # different seed, same statistics: the energy is of the same size
    ratio = spectral.motion_energy(other).mean() / spectral.motion_energy(first).mean()
    assert 0.7 < ratio < 1.4


# ----------------------------------------------------------------------------------------------------------------------
# Mask, strength and direction


def test_mask_zero_regions_are_static() -> None:
    image = noise_image(96, 128)
    mask = np.ones((96, 128), dtype=np.float32)
    mask[:, :64] = 0.0  # left half static
    mask[70:, 64:] = 0.0  # and the bottom right
    sv = procedural_motion(image, mask, ProceduralParams(grid_max_side=64))  # grid 64 x 48, 2 x 2 blocks
    energy = spectral.motion_energy(sv, include_dc=True)
    assert energy[:, :32].max() < 1e-6 and energy[35:, 32:].max() < 1e-6
    assert energy[:34, 32:].min() > 1e-3  # the moving part really moves


def test_mask_half_strength_halves_amplitude_and_raises_frequency() -> None:
    image = noise_image(32, 32)
    params = ProceduralParams(grid_max_side=32, coherence_px=4.0)
    full = procedural_motion(image, everywhere(32, 32), params)
    half = procedural_motion(image, np.full((32, 32), 0.5, dtype=np.float32), params)
    ratio = math.sqrt(spectral.motion_energy(half).mean() / spectral.motion_energy(full).mean())
    assert ratio == pytest.approx(0.5, rel=0.1)
    mean_freq = [float(np.sum(band_power(sv) * sv.freqs_hz) / np.sum(band_power(sv))) for sv in (full, half)]
    assert mean_freq[1] > mean_freq[0]  # stiffer parts oscillate faster


def test_mask_with_other_aspect_ratio_is_refused() -> None:
    with pytest.raises(InputError, match="make a mask the size of the image"):
        procedural_motion(noise_image(40, 60), everywhere(40, 40))
    sv = procedural_motion(noise_image(40, 60), everywhere(80, 120), ProceduralParams(num_bands=3))
    assert (sv.width, sv.height) == (60, 40)


@settings(max_examples=10, deadline=None)
@given(strength=floats(0.0, 50.0), factor=floats(0.1, 5.0))
def test_strength_scales_linearly(strength: float, factor: float) -> None:
    image, mask = noise_image(16, 24), everywhere(16, 24)
    base = procedural_motion(image, mask, ProceduralParams(strength_px=strength, num_bands=5))
    scaled = procedural_motion(image, mask, ProceduralParams(strength_px=strength * factor, num_bands=5))
    np.testing.assert_allclose(scaled.coeffs, base.coeffs * np.float32(factor), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize(("direction", "scale"), [(0.0, 1), (30.0, 2), (90.0, 2), (-135.0, 1)])
def test_full_directionality_moves_only_along_direction(direction: float, scale: int) -> None:
    height, width = 32 * scale, 48 * scale  # grid 48 x 32 either way: equal x and y scale
    params = ProceduralParams(direction_deg=direction, directionality=1.0, grid_max_side=48, num_bands=8)
    sv = procedural_motion(noise_image(height, width), everywhere(height, width), params)
    angle = math.radians(direction)
    across = -math.sin(angle) * sv.coeffs[:, 0] + math.cos(angle) * sv.coeffs[:, 1]
    along = math.cos(angle) * sv.coeffs[:, 0] + math.sin(angle) * sv.coeffs[:, 1]
    assert np.abs(across).max() <= 1e-6 * np.abs(along).max()
    assert np.abs(along).max() > 0.1


@pytest.mark.parametrize(("directionality", "expected_ratio"), [(0.0, 1.0), (0.5, 1 / 3)])
def test_directionality_sets_energy_ratio_across_to_along(directionality: float, expected_ratio: float) -> None:
    params = ProceduralParams(direction_deg=90.0, directionality=directionality, grid_max_side=64, coherence_px=3.0)
    sv = procedural_motion(noise_image(64, 64), everywhere(64, 64), params)
    along = np.sum(np.abs(sv.coeffs[:, 1]) ** 2)  # 90 degrees: along y
    across = np.sum(np.abs(sv.coeffs[:, 0]) ** 2)
    assert across / along == pytest.approx(expected_ratio, rel=0.1)


@pytest.mark.parametrize(("height", "width", "max_side", "strength", "directionality"), [
    (192, 288, 96, 6.0, 0.5),  # grid is a third of the image
    (160, 256, 256, 4.0, 0.0),  # grid at image size
    (300, 300, 100, 9.0, 1.0),
])
def test_displacement_at_source_resolution_is_of_the_order_of_strength(height: int, width: int, max_side: int,
                                                                       strength: float, directionality: float) -> None:
    params = ProceduralParams(strength_px=strength, grid_max_side=max_side, directionality=directionality,
                              coherence_px=12.0)
    sv = procedural_motion(noise_image(height, width), everywhere(height, width), params)
    fields = spectral.displacements(sv, np.arange(150))
    scale = np.array([width / sv.width, height / sv.height]).reshape(1, 2, 1, 1)
    peak = np.hypot(*(fields * scale).transpose(1, 0, 2, 3)).max(axis=0)  # source pixels, per grid pixel
    assert np.median(peak) == pytest.approx(strength, rel=0.25)
    assert np.percentile(peak, 99) < 3.5 * strength


# ----------------------------------------------------------------------------------------------------------------------
# Spectrum and spatial coherence


@pytest.mark.parametrize("dominant", [0.4, 1.0, 1.8])
def test_spectrum_peaks_at_dominant_frequency(dominant: float) -> None:
    params = ProceduralParams(dominant_hz=dominant, grid_max_side=48)
    sv = procedural_motion(noise_image(48, 48), everywhere(48, 48), params)
    power = band_power(sv)
    assert power[0] == 0.0
    peak_hz = float(sv.freqs_hz[np.argmax(power)])
    assert abs(peak_hz - dominant) <= 0.2 + 1e-6  # within one band spacing


@pytest.mark.parametrize("falloff", [1.0, 2.0, 3.0])
def test_spectrum_falls_off_beyond_resonance(falloff: float) -> None:
    params = ProceduralParams(dominant_hz=0.3, falloff=falloff, grid_max_side=48)
    sv = procedural_motion(noise_image(48, 48), everywhere(48, 48), params)
    beyond = sv.freqs_hz >= 1.5  # at least 5x the natural frequency
    slope = np.polyfit(np.log(sv.freqs_hz[beyond]), 0.5 * np.log(band_power(sv)[beyond]), 1)[0]
    assert slope == pytest.approx(-falloff, abs=0.25)


def test_oscillator_spectrum_is_normalised_and_resonant() -> None:
    freqs = spectral.harmonic_freqs()
    natural = np.array([[0.6, 1.4]])
    shape = procedural.oscillator_spectrum(freqs, natural, falloff=2.0)
    np.testing.assert_allclose((shape ** 2).sum(axis=0), 1.0)
    assert np.all(shape[0] == 0)
    assert freqs[np.argmax(shape[:, 0, 0])] == pytest.approx(0.6)
    assert freqs[np.argmax(shape[:, 0, 1])] == pytest.approx(1.4)


@pytest.mark.parametrize(("size", "max_side", "coherence"), [(128, 128, 12.0), (256, 128, 24.0)])
def test_coefficients_are_correlated_over_the_coherence_length(size: int, max_side: int, coherence: float) -> None:
    params = ProceduralParams(coherence_px=coherence, grid_max_side=max_side, directionality=0.0)
    sv = procedural_motion(noise_image(size, size), everywhere(size, size), params)
    fields = sv.coeffs[1:].astype(np.complex128)  # [K-1, 2, h, w]
    grid_coherence = coherence * max_side / size
    near = correlation_at_lag(fields, int(round(grid_coherence / 4)))
    at_length = correlation_at_lag(fields, int(round(grid_coherence)))
    far = correlation_at_lag(fields, int(round(3 * grid_coherence)))
    assert near == pytest.approx(math.exp(-1 / 16), abs=0.05)
    assert at_length == pytest.approx(math.exp(-1), abs=0.08)  # 1/e at the coherence length
    assert far < 0.06
    # the phase alone is coherent too: neighbours' phase differences are small, distant ones uniform
    phase_near = np.angle(fields[..., :, :-1] * np.conj(fields[..., :, 1:]))
    phase_far = np.angle(fields[..., :, :-36] * np.conj(fields[..., :, 36:]))
    assert np.mean(np.cos(phase_near)) > 0.9 and abs(np.mean(np.cos(phase_far))) < 0.1


def test_coherent_noise_statistics() -> None:
    rng = np.random.default_rng(3)
    field = procedural.coherent_noise(rng, 96, 96, sigma=4.0, count=8)
    assert field.shape == (8, 96, 96)
    assert np.mean(np.abs(field) ** 2) == pytest.approx(1.0, rel=0.1)
    for lag in (2, 4, 8):
        assert correlation_at_lag(field, lag) == pytest.approx(math.exp(-lag ** 2 / 64), abs=0.06)
    assert abs(np.corrcoef(field.real.ravel(), field.imag.ravel())[0, 1]) < 0.05
    white = procedural.coherent_noise(np.random.default_rng(4), 64, 64, sigma=0.0, count=4)
    assert correlation_at_lag(white, 1) < 0.05


# ----------------------------------------------------------------------------------------------------------------------
# Mobility heuristic (no mask)


def sky_and_foliage(height: int = 96, width: int = 96, seed: int = 0) -> np.ndarray:
    """Flat blue-grey sky above row height / 3, green textured foliage below."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), dtype=np.float32)
    image[:] = (0.62, 0.72, 0.85)
    leaves = rng.random((height, width)).astype(np.float32)
    top = height // 3
    image[top:, :, 0] = 0.15 + 0.2 * leaves[top:]
    image[top:, :, 1] = 0.35 + 0.4 * leaves[top:]
    image[top:, :, 2] = 0.10 + 0.15 * leaves[top:]
    return image


def test_flat_sky_is_static_and_textured_foliage_moves() -> None:
    image = sky_and_foliage()
    mobility = procedural.image_mobility(image, 96, 96)
    assert mobility[:26].max() < 0.01
    assert mobility[40:].mean() > 0.5
    sv = procedural_motion(image, None, ProceduralParams(grid_max_side=96))
    energy = spectral.motion_energy(sv)
    assert energy[:26].mean() < 1e-3 * energy[40:].mean()


def test_upper_parts_of_foliage_move_more() -> None:
    mobility = procedural.image_mobility(sky_and_foliage(), 96, 96)
    upper, lower = mobility[36:50].mean(), mobility[84:].mean()
    assert mobility[60:70].mean() > lower
    assert upper > 1.3 * lower


def test_grey_texture_moves_less_than_green_texture() -> None:
    image = sky_and_foliage()
    grey = image.copy()
    grey[32:] = grey[32:].mean(axis=2, keepdims=True)
    grey[32:, :, 2] += 0.02  # a slight tint, still colourful overall because of the sky
    grey_motion = procedural.image_mobility(grey, 96, 96)[40:].mean()
    assert grey_motion < 0.5 * procedural.image_mobility(image, 96, 96)[40:].mean()


def test_flat_image_does_not_move_and_transparent_pixels_are_static() -> None:
    flat = np.full((40, 60, 3), 0.5, dtype=np.float32)
    assert procedural.image_mobility(flat, 60, 40).max() == 0.0
    with_alpha = np.concatenate([sky_and_foliage(), np.ones((96, 96, 1), dtype=np.float32)], axis=2)
    with_alpha[:, 48:, 3] = 0.0
    mobility = procedural.image_mobility(with_alpha, 96, 96)
    assert mobility[:, 49:].max() == 0.0 and mobility[40:, :40].mean() > 0.5
    small = procedural.image_mobility(with_alpha, 24, 24)  # large image: shrunk before measuring
    assert small[:, 13:].max() == 0.0 and small[10:, :10].mean() > 0.5


def test_heuristic_on_the_bundled_forest_photo() -> None:
    path = resources.files("image_dynamics") / "samples" / "forest.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0  # 512 x 320
    mobility = procedural.image_mobility(image, 256, 160)
    sky = mobility[5:20, 150:210]  # open sky above the path (image rows 10-40, columns 300-420)
    crown = mobility[30:60, 85:130]  # the big tree's crown (image rows 60-120, columns 170-260)
    gravel = mobility[140:160, 20:80]  # the gravel path in front
    assert sky.max() < 0.05
    assert crown.mean() > 0.4
    assert gravel.mean() < 0.5 * crown.mean()


def test_grayscale_image_is_accepted() -> None:
    rng = np.random.default_rng(1)
    gray = np.zeros((80, 80, 1), dtype=np.float32)  # black above row 20, textured below
    gray[20:] = rng.random((60, 80, 1))
    mobility = procedural.image_mobility(gray, 40, 40)
    assert mobility[:5].max() < 0.01  # 10 image pixels (5 grid pixels) or more from the texture
    assert mobility[15:].mean() > 0.4


# ----------------------------------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(("field", "value", "message"), [
    ("dominant_hz", 0.0, "dominant_hz must be a finite number > 0"),
    ("falloff", -1.0, "falloff must be a finite number >= 0"),
    ("direction_deg", float("nan"), "direction_deg must be a finite number"),
    ("directionality", 1.5, "directionality must be a finite number >= 0 and <= 1"),
    ("coherence_px", 0.0, "coherence_px must be a finite number > 0"),
    ("strength_px", -2.0, "strength_px must be a finite number >= 0"),
    ("fps", float("inf"), "fps must be a finite number > 0"),
    ("seed", -1, "seed must be a whole number >= 0"),
    ("seed", 1.5, "seed must be a whole number >= 0"),
    ("num_bands", 0, "num_bands must be a whole number >= 1"),
    ("num_bands", 77, "num_bands 77 exceeds the 76 distinct frequencies of a 150-frame window"),
    ("window_frames", 1, "window_frames must be a whole number >= 2"),
    ("grid_max_side", 0, "grid_max_side must be a whole number >= 1"),
    ("strength_px", True, "strength_px must be a finite number"),
])
def test_params_are_validated(field: str, value: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        ProceduralParams(**{field: value})
    assert message in str(info.value)


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((10, 10)), "[height, width, 1, 3 or 4]"),
    (np.zeros((10, 10, 2)), "[height, width, 1, 3 or 4]"),
    (np.zeros((0, 10, 3)), "image is empty"),
    (np.zeros((10, 10, 3), dtype=np.complex64), "real numbers"),
    ([[0.0]], "[height, width, 1, 3 or 4]"),
])
def test_bad_images_are_refused(image: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        procedural_motion(image)  # type: ignore[arg-type]
    assert message in str(info.value)
