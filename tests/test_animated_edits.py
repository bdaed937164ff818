"""Animated edits: per-frame, per-band gains on the inverse-DFT basis (strength, band gains keyframed over a shot)."""

from __future__ import annotations

import numpy as np
import pytest

from image_dynamics import io, spectral
from image_dynamics.bake import OutputSpec, bake
from image_dynamics.errors import InputError
from image_dynamics.frames import FrameRenderer
from image_dynamics.settings import RenderPlan, RenderSettings, animated_gains, plan, with_frame_gains

from .conftest import textured_rgb

FRAMES = 8


def small_volume(height: int = 6, width: int = 8, seed: int = 0) -> spectral.SpectralVolume:
    """Eight bands at k * 0.5 Hz (fps 24, a 48-frame window), random coefficients, motion in every band but DC."""
    rng = np.random.default_rng(seed)
    coeffs = (rng.normal(size=(8, 2, height, width)) + 1j * rng.normal(size=(8, 2, height, width))) * 0.15
    coeffs[0] = 0
    return spectral.make(coeffs, spectral.harmonic_freqs(8, 48, 24.0), 24.0, {"window_frames": 48})


@pytest.fixture(scope="module")
def setup():
    """(image pixels [24, 32, 3], plan of 8 frames, renderer) shared by the tests of this module."""
    pixels = textured_rgb(24, 32).astype(np.float32) / 255
    render_plan = plan(small_volume(), RenderSettings(frames=(0, FRAMES)))
    return pixels, render_plan, FrameRenderer(pixels, render_plan.motion)


def test_animated_strength_scales_each_frame_exactly(setup):
    _, render_plan, renderer = setup
    strengths = np.linspace(0.0, 2.0, FRAMES)
    gains = animated_gains(render_plan.motion, strengths)
    assert gains.shape == (FRAMES, render_plan.motion.num_bands)
    plain = renderer.grid_displacements(render_plan.times)
    animated = renderer.grid_displacements(render_plan.times, gains)
    assert np.abs(plain[3]).max() > 1  # really moving
    for i, strength in enumerate(strengths):
        np.testing.assert_allclose(animated[i], strength * plain[i], atol=1e-5)
    flows = list(renderer.flows(render_plan.times, gains, chunk=3))  # chunking keeps each frame's own gains
    plain_flows = list(renderer.flows(render_plan.times))
    for i, strength in enumerate(strengths):
        np.testing.assert_allclose(flows[i], strength * plain_flows[i], atol=1e-5)


def test_band_gain_zeroing_a_band_removes_exactly_that_band(setup):
    _, render_plan, renderer = setup
    motion = render_plan.motion
    band = 3  # 1.5 Hz
    assert motion.freqs_hz[band] == pytest.approx(1.5)
    keep = ((0.0, 1.0), (3.5, 1.0))
    notch = ((0.0, 1.0), (1.0, 1.0), (1.5, 0.0), (2.0, 1.0), (3.5, 1.0))
    zeroed_frames = {2, 5}
    curves = [notch if i in zeroed_frames else keep for i in range(FRAMES)]
    gains = animated_gains(motion, band_gain_points_per_frame=curves)
    expected_gains = np.ones((FRAMES, motion.num_bands))
    expected_gains[sorted(zeroed_frames), band] = 0.0
    np.testing.assert_array_equal(gains, expected_gains)
    plain = renderer.grid_displacements(render_plan.times)
    animated = renderer.grid_displacements(render_plan.times, gains)
    without_band = FrameRenderer(setup[0], motion.with_(coeffs=np.where(
        (np.arange(motion.num_bands) == band)[:, None, None, None], 0, motion.coeffs).astype(np.complex64)))
    only_others = without_band.grid_displacements(render_plan.times)
    for i in range(FRAMES):
        np.testing.assert_allclose(animated[i], only_others[i] if i in zeroed_frames else plain[i], atol=1e-5)
    assert np.abs(plain[2] - only_others[2]).max() > 0.1  # the band did contribute there


def test_strengths_and_curves_multiply_and_curve_is_read_at_each_band():
    motion = small_volume()
    curves = [((0.0, 1.0), (3.5, 0.0))] * 3  # linear fade over Hz: band k at k/2 Hz gets 1 - k/7
    gains = animated_gains(motion, [0.5, 1.0, 2.0], curves)
    ramp = 1 - np.arange(8) * 0.5 / 3.5
    np.testing.assert_allclose(gains, np.array([0.5, 1.0, 2.0])[:, None] * ramp[None], rtol=1e-6)


def _fixed_order_sum(weights: np.ndarray, stacked: np.ndarray) -> np.ndarray:
    out = stacked[0] * weights[0]
    for term in range(1, weights.size):
        out = out + weights[term] * stacked[term]
    return out


def test_no_frame_gains_is_bit_identical(setup):
    _, render_plan, renderer = setup
    basis = spectral.displacement_basis(render_plan.motion, render_plan.times).astype(np.float32)
    stacked = spectral.stacked_coeffs(renderer.motion)
    # the plain basis summed term by term in a fixed order per frame (FrameRenderer.grid_displacements' order)
    before = np.stack([_fixed_order_sum(row, stacked) for row in basis]).reshape(FRAMES, 2, 6, 8)
    assert np.array_equal(renderer.grid_displacements(render_plan.times), before)
    np.testing.assert_allclose(before.reshape(FRAMES, -1), basis @ stacked, rtol=1e-5, atol=1e-6)
    assert render_plan.frame_gains is None


def test_bake_applies_the_plans_frame_gains(tmp_path):
    pixels = textured_rgb(24, 32).astype(np.float32) / 255
    image = io.LoadedImage(pixels, "srgb", 8, False, tmp_path / "still.png")
    render_plan = plan(small_volume(), RenderSettings(frames=(0, 4)))
    strengths = [0.0, 0.5, 1.0, 2.0]
    animated = with_frame_gains(render_plan, animated_gains(render_plan.motion, strengths))
    bake(image, render_plan, OutputSpec(tmp_path / "plain", "s", formats=(), displacement=("forward",)))
    bake(image, animated, OutputSpec(tmp_path / "anim", "s", formats=("png",), displacement=("forward",)))
    for i, strength in enumerate(strengths):
        plain = io.read_displacement_exr(tmp_path / "plain" / f"s_forward_{i + 1:04d}.exr")[0]
        scaled = io.read_displacement_exr(tmp_path / "anim" / f"s_forward_{i + 1:04d}.exr")[0]
        np.testing.assert_allclose(scaled, strength * plain, atol=1e-5)
    first = io.read_image(tmp_path / "anim" / "s_0001.png").pixels
    np.testing.assert_allclose(first, pixels, atol=0.5 / 255)  # strength 0 is the still


@pytest.mark.parametrize("gains, needle", [
    (np.ones((FRAMES, 7)), r"shape \[frames, bands\] = \[8, 8\]"),
    (np.ones(FRAMES), r"shape"),
    (np.full((FRAMES, 8), np.nan), r"frame 0, band 0 is nan"),
    (np.where(np.arange(8)[None] == 5, -1.0, np.ones((FRAMES, 8))) * (np.arange(FRAMES)[:, None] >= 4),
     r"frame 4, band 5 is -1"),
    (np.ones((FRAMES, 8), dtype=complex), r"real numbers"),
])
def test_bad_frame_gains_raise(setup, gains, needle):
    _, render_plan, renderer = setup
    with pytest.raises(InputError, match=needle):
        with_frame_gains(render_plan, gains)
    with pytest.raises(InputError, match=needle):
        RenderPlan(render_plan.motion, render_plan.frame_numbers, render_plan.times, render_plan.fps,
                   render_plan.loop_frames, gains)
    with pytest.raises(InputError, match=needle):
        renderer.grid_displacements(render_plan.times, gains)


@pytest.mark.parametrize("strengths, curves, needle", [
    ([1.0, -0.5, 1.0], None, r"strength at frame 1 is -0\.5"),
    ([1.0, 1.0, float("nan")], None, r"strength at frame 2 is nan"),
    (None, [((0, 1),), ((0, 1), (1, float("nan")))], r"band gains at frame 1: band gain point 1 .* not finite"),
    (None, [((0, -1),)], r"band gains at frame 0: .* negative gain"),
    ([1.0, 1.0], [((0, 1),)] * 3, r"same frames, got 2 strengths and 3 band-gain curves"),
    ([[1.0]], None, r"1-D"),
    (None, None, r"needs per-frame strengths or per-frame band gains"),
])
def test_bad_animated_values_name_the_frame(strengths, curves, needle):
    with pytest.raises(InputError, match=needle):
        animated_gains(small_volume(), strengths, curves)
