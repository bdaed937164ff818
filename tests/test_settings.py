"""Render plans: default frame counts, loop lengths, output fps, slow motion, decay, and setting validation."""

from __future__ import annotations

import numpy as np
import pytest

from image_dynamics import spectral
from image_dynamics.errors import InputError
from image_dynamics.settings import RenderSettings, plan


def gid_volume(height: int = 6, width: int = 8, seed: int = 0) -> spectral.SpectralVolume:
    """A GID-shaped volume: 16 bands at k * 0.2 Hz, random coefficients, motion in every band but DC."""
    rng = np.random.default_rng(seed)
    coeffs = (rng.normal(size=(16, 2, height, width)) + 1j * rng.normal(size=(16, 2, height, width))) * 0.5
    coeffs[0] = 0
    return spectral.make(coeffs, spectral.harmonic_freqs(16, 150, 30.0), 30.0, {"window_frames": 150})


def test_default_plan_is_one_natural_loop_at_file_fps():
    p = plan(gid_volume(), RenderSettings())
    assert p.fps == 30.0 and p.loop_frames == 150
    assert p.frame_numbers.tolist() == list(range(150))
    np.testing.assert_allclose(p.times, np.arange(150))


def test_other_output_fps_keeps_duration_and_seams():
    p = plan(gid_volume(), RenderSettings(fps=24))
    assert p.loop_frames == 120  # 5 s at 24 fps
    np.testing.assert_allclose(p.times[1], 30 / 24)
    end = spectral.displacements(p.motion, [120 * 30 / 24])[0]
    np.testing.assert_allclose(end, 0, atol=1e-3)


@pytest.mark.parametrize("stretch", [False, True])
def test_loop_frames_make_frame_L_equal_frame_0(stretch):
    p = plan(gid_volume(), RenderSettings(loop_frames=48, time_stretch=stretch))
    assert p.loop_frames == 48 and len(p.times) == 48
    fields = spectral.displacements(p.motion, [0, 24 * 30 / 30, 48 * 30 / 30])
    assert np.abs(fields[1]).max() > 0.1  # it really moves inside the loop
    np.testing.assert_allclose(fields[2], fields[0], atol=1e-3)


def test_slow_motion_halves_the_time_step_and_doubles_the_loop():
    p = plan(gid_volume(), RenderSettings(slow_motion=2.0))
    assert p.loop_frames == 300
    np.testing.assert_allclose(p.times[:3], [0, 0.5, 1.0])


def test_frame_range_and_decay():
    p = plan(gid_volume(), RenderSettings(frames=(10, 20)))
    assert p.frame_numbers.tolist() == list(range(10, 20))
    d = plan(gid_volume(), RenderSettings(decay_s=1.0))
    assert d.loop_frames is None and d.motion.decay_s == 1.0
    assert len(d.times) >= int(4.6 * 30)
    last = spectral.displacements(d.motion, d.times[-1:])[0]
    first = spectral.displacements(d.motion, d.times[10:11])[0]
    assert np.abs(last).max() < 0.02 * np.abs(first).max() + 1e-6


@pytest.mark.parametrize("settings, needle", [
    (RenderSettings(fps=0), "--fps"),
    (RenderSettings(loop_frames=1), "--loop-frames"),
    (RenderSettings(frames=(5, 5)), "--frames"),
    (RenderSettings(strength=-1), "--strength"),
    (RenderSettings(decay_s=float("nan")), "--decay"),
    (RenderSettings(low_cut_hz=2, high_cut_hz=1), "--low-cut"),
    (RenderSettings(slow_motion=0), "--slow-motion"),
])
def test_bad_settings_name_the_option(settings, needle):
    with pytest.raises(InputError, match=needle):
        plan(gid_volume(), settings)
