"""Edits of spectral volumes: damping curve, cuts, strength, loop length, time stretch, decay, mask
(docs/conventions.md)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from image_dynamics import edits, spectral
from image_dynamics.errors import InputError
from image_dynamics.spectral import SpectralVolume


# Subnormal floats say nothing about these properties, and a library that switches the FPU to flush-to-zero in the same
# test process would make hypothesis refuse strategies that may produce them.
def floats(*args, **kwargs):
    return st.floats(*args, allow_subnormal=False, **kwargs)

FAST = settings(max_examples=40, deadline=None)


def gid_volume(seed: int = 0, height: int = 6, width: int = 8, bands: int = 16, fps: float = 30.0,
               window: int = 150, source_size: list[int] | None = None) -> SpectralVolume:
    """Random motion on GID's layout: harmonics of a 150-frame window at 30 fps, about 1 px per band."""
    rng = np.random.default_rng(seed)
    coeffs = rng.normal(size=(bands, 2, height, width)) + 1j * rng.normal(size=(bands, 2, height, width))
    meta = {"window_frames": window, "model": "test"}
    if source_size is not None:
        meta["source_size"] = source_size
    return spectral.make(coeffs / math.sqrt(2), spectral.harmonic_freqs(bands, window, fps), fps, meta)


def volume_with_freqs(freqs: list[float], seed: int = 0, fps: float = 30.0) -> SpectralVolume:
    rng = np.random.default_rng(seed)
    shape = (len(freqs), 2, 2, 3)
    coeffs = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return spectral.make(coeffs, np.asarray(freqs, dtype=np.float64), fps, {"window_frames": 150})


def total_energy(sv: SpectralVolume) -> float:
    return float(np.sum(np.abs(sv.coeffs.astype(np.complex128)) ** 2))


def assert_unchanged(original: SpectralVolume, snapshot: tuple[np.ndarray, np.ndarray, float, dict]) -> None:
    coeffs, freqs, fps, meta = snapshot
    np.testing.assert_array_equal(original.coeffs, coeffs)
    np.testing.assert_array_equal(original.freqs_hz, freqs)
    assert original.fps == fps and original.meta == meta


def snapshot(sv: SpectralVolume) -> tuple[np.ndarray, np.ndarray, float, dict]:
    return sv.coeffs.copy(), sv.freqs_hz.copy(), sv.fps, dict(sv.meta)


frequency_lists = st.lists(floats(0.0, 5.0, allow_nan=False, width=32), min_size=1, max_size=10, unique=True)


# ----------------------------------------------------------------------------------------------------------------------
# Contract tests (docs/conventions.md)


@pytest.mark.parametrize(("loop_frames", "fps", "volume_fps"), [
    (150, None, 30.0),  # the natural window
    (97, None, 30.0),  # a prime length: every band re-binned
    (48, 24.0, 30.0),  # 2 s at 24 fps = 60 frames at 30 fps: the time axis stays 30 fps
    (101, 23.976, 23.976),  # 101 frames at 23.976 fps is no whole number of 30 fps frames: re-timed
])
def test_loop_is_seamless_and_really_moves(loop_frames: int, fps: float | None, volume_fps: float) -> None:
    sv = gid_volume(seed=loop_frames)
    looped = edits.loop_to(sv, loop_frames, fps=fps)
    out_fps = fps or sv.fps
    assert looped.fps == volume_fps
    end = loop_frames * looped.fps / out_fps  # frame L of the output, in frames of the looped volume
    start_end = spectral.displacements(looped, np.array([0.0, end]))
    np.testing.assert_allclose(start_end[1], start_end[0], atol=1e-4)
    assert np.abs(start_end[0]).max() == 0.0
    middle = spectral.displacements(looped, np.array([end / 2]))[0]
    assert np.median(np.hypot(middle[0], middle[1])) > 1.0  # the loop really moves (about 1 px per band)
    # and the same time in the original motion is not a loop point: the edit is what made it seamless
    original_end = spectral.displacements(sv, np.array([loop_frames * sv.fps / out_fps]))[0]
    if loop_frames * sv.fps / out_fps != 150:
        assert np.abs(original_end).max() > 0.5
    assert looped.natural_period_frames() == round(end)
    assert looped.meta["loop_frames"] == loop_frames and looped.meta["loop_fps"] == out_fps
    assert looped.meta["window_frames"] == round(end)
    assert looped.meta["model"] == "test"


def test_all_zero_gains_give_zero_displacement_everywhere() -> None:
    sv = gid_volume(seed=1)
    silent = edits.band_gains(sv, [(0.0, 0.0), (3.0, 0.0)])
    fields = spectral.displacements(silent, np.linspace(0, 300, 41))
    assert np.all(fields == 0.0)
    assert np.all(spectral.motion_energy(silent, include_dc=True) == 0.0)


@FAST
@given(freqs=frequency_lists, loop_frames=st.integers(2, 400),
       fps=st.sampled_from([None, 12.0, 24.0, 25.0, 29.97, 30.0, 60.0]), seed=st.integers(0, 1000))
def test_loop_to_properties(freqs: list[float], loop_frames: int, fps: float | None, seed: int) -> None:
    sv = volume_with_freqs(freqs, seed)
    before = snapshot(sv)
    looped = edits.loop_to(sv, loop_frames, fps=fps)
    assert_unchanged(sv, before)
    harmonic = (fps or sv.fps) / loop_frames
    multiples = looped.freqs_hz.astype(np.float64) / harmonic
    # every frequency is an integer multiple of fps / L: seamless
    assert np.all(np.abs(multiples - np.round(multiples)) <= 1e-5 * np.maximum(1, multiples))
    # unique, ascending
    assert np.all(np.diff(looped.freqs_hz) > 0)
    # no positive band maps to 0 Hz; 0 Hz stays 0 Hz
    source = sv.freqs_hz
    assert (looped.freqs_hz == 0).any() == (source == 0).any()
    assert np.count_nonzero(looped.freqs_hz > 0) >= min(1, np.count_nonzero(source > 0))
    # each positive band went to its nearest harmonic, or to the first one: physical speed kept within h / 2
    for f in source[source > 0].astype(np.float64):
        target = max(1, math.floor(f / harmonic + 0.5)) * harmonic
        assert np.isclose(looped.freqs_hz.astype(np.float64), target, rtol=1e-5).any()
        assert abs(target - f) <= max(harmonic / 2, harmonic - f) * (1 + 1e-5) + 1e-6
    # merged bands add: the complex sum over bands (the un-anchored frame 0) is unchanged
    np.testing.assert_allclose(looped.coeffs.sum(axis=0), sv.coeffs.sum(axis=0), atol=1e-5)
    # total |S|^2 is preserved when no two bands collide
    if looped.num_bands == sv.num_bands:
        assert total_energy(looped) == pytest.approx(total_energy(sv), rel=1e-6)
    # the loop is seamless in the looped volume's own frames
    end = loop_frames * looped.fps / (fps or sv.fps)
    assert looped.natural_period_frames() == round(end)
    fields = spectral.displacements(looped, np.array([end]))
    scale = max(float(np.abs(sv.coeffs).sum(axis=0).max()), 1.0)
    # float32 storage of the frequencies (relative error 6e-8) shifts the phase at the loop end by
    # 2 pi f t 6e-8 / fps radians: the error grows with frequency and loop length, on top of float32 rounding
    phase_error = 2 * np.pi * float(looped.freqs_hz.max()) * 6e-8 * end / looped.fps
    assert np.abs(fields).max() <= (2e-5 + phase_error) * scale


def test_loop_to_rebins_to_nearest_harmonic_and_adds_collisions() -> None:
    # 120 frames at 30 fps: harmonics every 0.25 Hz (all frequencies here are exact in float32)
    freqs = [0.0, 0.0625, 0.2, 0.375, 0.5, 1.25]
    sv = volume_with_freqs(freqs, seed=3)
    looped = edits.loop_to(sv, 120)
    np.testing.assert_array_equal(looped.freqs_hz, np.array([0.0, 0.25, 0.5, 1.25], dtype=np.float32))
    c = sv.coeffs
    np.testing.assert_array_equal(looped.coeffs[0], c[0])  # 0 Hz stays
    np.testing.assert_allclose(looped.coeffs[1], c[1] + c[2], atol=1e-6)  # 0.0625 (nearest 0 Hz) and 0.2 -> 0.25
    np.testing.assert_allclose(looped.coeffs[2], c[3] + c[4], atol=1e-6)  # 0.375 is halfway: goes up; 0.5 stays
    np.testing.assert_array_equal(looped.coeffs[3], c[5])
    assert looped.coeffs.dtype == np.complex64 and looped.freqs_hz.dtype == np.float32


def test_loop_to_low_band_never_freezes() -> None:
    sv = volume_with_freqs([0.01], seed=2)
    looped = edits.loop_to(sv, 30)  # first harmonic 1 Hz
    np.testing.assert_allclose(looped.freqs_hz, [1.0])
    half = spectral.displacements(looped, np.array([15.0]))[0]
    assert np.abs(half).max() > 0.1


def test_loop_to_natural_window_changes_nothing_but_meta() -> None:
    sv = gid_volume(seed=4)
    looped = edits.loop_to(sv, 150)
    np.testing.assert_array_equal(looped.coeffs, sv.coeffs)
    np.testing.assert_array_equal(looped.freqs_hz, sv.freqs_hz)
    assert looped.natural_period_frames() == 150


def test_loop_to_rejects_bad_lengths_and_rates() -> None:
    sv = gid_volume()
    for bad in (1, 0, -5, 2.5, True, "60"):
        with pytest.raises(InputError, match="loop_frames must be a whole number of frames >= 2"):
            edits.loop_to(sv, bad)  # type: ignore[arg-type]
    for bad_fps in (0.0, -24.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="fps must be"):
            edits.loop_to(sv, 60, fps=bad_fps)
    assert edits.loop_to(sv, np.int64(60)).meta["loop_frames"] == 60


# ----------------------------------------------------------------------------------------------------------------------
# Time stretch


def test_time_stretch_scales_frequencies_to_the_loop() -> None:
    sv = gid_volume(seed=7)  # natural period 150 frames at 30 fps = 5 s
    faster = edits.time_stretch_to(sv, 75)  # 2.5 s: twice as fast
    np.testing.assert_allclose(faster.freqs_hz, sv.freqs_hz * 2, rtol=1e-6)
    np.testing.assert_array_equal(faster.coeffs, sv.coeffs)
    assert faster.natural_period_frames() == 75 and faster.meta["time_stretch"] == pytest.approx(2.0)
    same_seconds = edits.time_stretch_to(sv, 120, fps=24.0)  # 5 s at 24 fps: nothing changes
    np.testing.assert_allclose(same_seconds.freqs_hz, sv.freqs_hz, rtol=1e-6)
    assert same_seconds.fps == 30.0 and same_seconds.natural_period_frames() == 150
    slower = edits.time_stretch_to(sv, 200, fps=24.0)  # 8.33 s: frame 200 at 24 fps = 250 frames at 30 fps
    assert slower.meta["time_stretch"] == pytest.approx(5 / (200 / 24))
    fields = spectral.displacements(slower, np.array([125.0, 250.0]))
    np.testing.assert_allclose(fields[1], 0.0, atol=1e-4)
    assert np.median(np.hypot(fields[0, 0], fields[0, 1])) > 1.0


@FAST
@given(loop_frames=st.integers(2, 500), fps=st.sampled_from([None, 24.0, 23.976, 50.0]), seed=st.integers(0, 100))
def test_time_stretch_is_seamless_when_input_was(loop_frames: int, fps: float | None, seed: int) -> None:
    sv = gid_volume(seed=seed, height=2, width=3)
    before = snapshot(sv)
    stretched = edits.time_stretch_to(sv, loop_frames, fps=fps)
    assert_unchanged(sv, before)
    out_fps = fps or sv.fps
    harmonic = out_fps / loop_frames
    multiples = stretched.freqs_hz.astype(np.float64) / harmonic
    np.testing.assert_allclose(multiples, np.arange(16), atol=1e-4)  # harmonic k stays harmonic k: no merging
    end = loop_frames * stretched.fps / out_fps
    assert stretched.natural_period_frames() == round(end)
    np.testing.assert_allclose(spectral.displacements(stretched, np.array([end]))[0], 0.0, atol=2e-4)


# ----------------------------------------------------------------------------------------------------------------------
# Amplitude edits


@FAST
@given(a=floats(0.0, 10.0), b=floats(0.0, 10.0), seed=st.integers(0, 100))
def test_strength_is_linear(a: float, b: float, seed: int) -> None:
    sv = gid_volume(seed=seed, height=3, width=4)
    before = snapshot(sv)
    scaled = edits.scale_strength(sv, a)
    assert_unchanged(sv, before)
    np.testing.assert_allclose(scaled.coeffs, sv.coeffs * np.float32(a), rtol=1e-6, atol=0)
    np.testing.assert_allclose(edits.scale_strength(scaled, b).coeffs, sv.coeffs * np.float32(a) * np.float32(b),
                               rtol=1e-5, atol=1e-30)
    times = np.array([7.0, 40.5])
    np.testing.assert_allclose(spectral.displacements(scaled, times), a * spectral.displacements(sv, times),
                               rtol=1e-4, atol=1e-4 * max(a, 1))


@FAST
@given(curve_a=st.lists(st.tuples(floats(0, 4), floats(0, 3)), min_size=1, max_size=5,
                        unique_by=lambda p: p[0]),
       curve_b=st.lists(st.tuples(floats(0, 4), floats(0, 3)), min_size=1, max_size=5,
                        unique_by=lambda p: p[0]))
def test_gains_compose_multiplicatively(curve_a: list[tuple[float, float]], curve_b: list[tuple[float, float]]) -> None:
    sv = gid_volume(seed=11, height=2, width=3)
    before = snapshot(sv)
    once = edits.band_gains(sv, curve_a)
    assert_unchanged(sv, before)
    twice = edits.band_gains(once, curve_b)
    f = sv.freqs_hz.astype(np.float64)
    hz_a, gain_a = edits.gain_curve(curve_a)
    hz_b, gain_b = edits.gain_curve(curve_b)
    product = np.interp(f, hz_a, gain_a) * np.interp(f, hz_b, gain_b)
    np.testing.assert_allclose(twice.coeffs, sv.coeffs * product.reshape(-1, 1, 1, 1), rtol=1e-5, atol=1e-6)
    # the product sampled at the band frequencies is itself a curve giving the same result
    combined = edits.band_gains(sv, list(zip(f, product, strict=True)))
    np.testing.assert_allclose(combined.coeffs, twice.coeffs, rtol=1e-5, atol=1e-6)


def test_band_gains_interpolate_linearly_and_hold_beyond_the_ends() -> None:
    sv = gid_volume(seed=2)  # bands at 0, 0.2, ..., 3.0 Hz
    edited = edits.band_gains(sv, [(1.0, 0.5), (0.4, 1.0), (2.0, 0.0)])  # any order
    expected = np.interp(np.arange(16) * 0.2, [0.4, 1.0, 2.0], [1.0, 0.5, 0.0])
    assert expected[0] == 1.0 and expected[-1] == 0.0  # constant beyond the ends
    np.testing.assert_allclose(edited.coeffs, sv.coeffs * expected.reshape(-1, 1, 1, 1).astype(np.float32),
                               rtol=1e-6)
    # 0.7 Hz is between 0.4 (gain 1) and 1.0 (gain 0.5): 0.75
    band_07 = 3  # 0.6 Hz
    ratio = edited.coeffs[band_07] / sv.coeffs[band_07]
    np.testing.assert_allclose(ratio, 1.0 - 0.5 * (0.6 - 0.4) / 0.6, rtol=1e-5)
    single = edits.band_gains(sv, [(1.3, 0.25)])
    np.testing.assert_allclose(single.coeffs, edits.scale_strength(sv, 0.25).coeffs)


@pytest.mark.parametrize(("points", "message"), [
    ([], "at least one"),
    ([(0.5, 1.0), (0.5, 0.0)], "give 0.5 Hz more than once"),
    ([(0.2, -0.1)], "point 0 (0.2 Hz, gain -0.1) has a negative gain"),
    ([(0.2, 1.0), (-1.0, 1.0)], "point 1 (-1 Hz, gain 1) has a negative frequency"),
    ([(0.2, float("nan"))], "point 0 (0.2 Hz, gain nan) is not finite"),
    ([(float("inf"), 1.0)], "is not finite"),
    ([(0.2, 1.0, 3.0)], "(hz, gain) pairs, got an array of shape (1, 3)"),
    ([0.2, 1.0], "(hz, gain) pairs, got an array of shape (2,)"),
    ([("a", 1.0)], "must be (hz, gain) pairs of numbers"),
])
def test_band_gains_reject_bad_curves(points: list, message: str) -> None:
    with pytest.raises(InputError) as info:
        edits.band_gains(gid_volume(), points)
    assert message in str(info.value)


def test_frequency_cut_keeps_inclusive_band_range() -> None:
    sv = gid_volume(seed=3)  # 0, 0.2, ..., 3.0 Hz stored as float32
    cut = edits.frequency_cut(sv, low_hz=0.4, high_hz=0.6)
    kept = [np.any(cut.coeffs[k] != 0) for k in range(16)]
    assert kept == [k in (2, 3) for k in range(16)]  # 0.4 and 0.6 Hz kept: both edges inclusive
    np.testing.assert_array_equal(cut.coeffs[2:4], sv.coeffs[2:4])
    np.testing.assert_array_equal(cut.freqs_hz, sv.freqs_hz)
    low_only = edits.frequency_cut(sv, low_hz=1.0)
    assert [bool(np.any(low_only.coeffs[k])) for k in range(16)] == [k >= 5 for k in range(16)]
    high_only = edits.frequency_cut(sv, high_hz=0.21)
    assert [bool(np.any(high_only.coeffs[k])) for k in range(16)] == [k <= 1 for k in range(16)]
    untouched = edits.frequency_cut(sv)
    np.testing.assert_array_equal(untouched.coeffs, sv.coeffs)


def test_frequency_cut_rejects_bad_ranges() -> None:
    sv = gid_volume()
    with pytest.raises(InputError, match="low cut 2 Hz is above high cut 1 Hz"):
        edits.frequency_cut(sv, 2.0, 1.0)
    with pytest.raises(InputError, match="high cut \\(Hz\\) must be >= 0"):
        edits.frequency_cut(sv, None, -1.0)
    with pytest.raises(InputError, match="low cut \\(Hz\\) must be a finite number"):
        edits.frequency_cut(sv, float("nan"))


def test_strength_rejects_negative_and_non_finite() -> None:
    sv = gid_volume()
    with pytest.raises(InputError, match="strength must be >= 0, got -1. 1 keeps the motion"):
        edits.scale_strength(sv, -1.0)
    with pytest.raises(InputError, match="strength must be a finite number"):
        edits.scale_strength(sv, float("inf"))


def test_with_decay_sets_and_clears() -> None:
    sv = gid_volume()
    decayed = edits.with_decay(sv, 1.5)
    assert decayed.decay_s == 1.5 and sv.decay_s is None
    assert edits.with_decay(decayed, None).decay_s is None
    t = np.array([45.0])
    np.testing.assert_allclose(spectral.displacements(decayed, t),
                               spectral.displacements(sv, t) * np.float32(math.exp(-45 / (30 * 1.5))), atol=1e-5)
    for bad in (0.0, -2.0, float("nan")):
        with pytest.raises(InputError, match="decay time tau_s"):
            edits.with_decay(sv, bad)


def test_slow_motion_times() -> None:
    np.testing.assert_array_equal(edits.slow_motion_times(5, 2.0), [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(edits.slow_motion_times(3, 0.5, start=10.0), [10.0, 12.0, 14.0])
    times = edits.slow_motion_times(0, 4.0)
    assert times.shape == (0,) and times.dtype == np.float64
    with pytest.raises(InputError, match="slow-motion factor must be > 0"):
        edits.slow_motion_times(4, 0.0)
    with pytest.raises(InputError, match="num_frames must be a whole number"):
        edits.slow_motion_times(-1, 2.0)


# ----------------------------------------------------------------------------------------------------------------------
# Masks


def test_mask_of_zeros_freezes_and_of_ones_keeps() -> None:
    sv = gid_volume(seed=5)
    frozen = edits.apply_mask(sv, np.zeros((6, 8), dtype=np.float32))
    assert np.all(frozen.coeffs == 0)
    same = edits.apply_mask(sv, np.ones((60, 80)), feather_px=5.0)
    np.testing.assert_array_equal(same.coeffs, sv.coeffs)


def test_mask_at_image_size_is_area_averaged_to_the_grid() -> None:
    sv = gid_volume(seed=6, source_size=[32, 24])
    before = snapshot(sv)
    grid_mask = np.random.default_rng(1).random((6, 8)).astype(np.float32)
    image_mask = np.kron(grid_mask, np.ones((4, 4), dtype=np.float32))  # 32 x 24, each grid pixel a 4x4 block
    masked = edits.apply_mask(sv, image_mask)
    assert_unchanged(sv, before)
    np.testing.assert_allclose(masked.coeffs, sv.coeffs * grid_mask[None, None], rtol=1e-6)
    # a boolean mask and one with a trailing channel axis are accepted too
    boolean = edits.apply_mask(sv, image_mask[..., None] > 0.5)
    np.testing.assert_allclose(boolean.coeffs, sv.coeffs * (grid_mask > 0.5)[None, None], rtol=1e-6)


@pytest.mark.parametrize(("source_size", "sigma_grid"), [([160, 120], 2.0), (None, 8.0)])
def test_mask_feather_is_in_source_pixels(source_size: list[int] | None, sigma_grid: float) -> None:
    sv = gid_volume(seed=7, height=30, width=40, source_size=source_size)
    mask = np.zeros((120, 160), dtype=np.float32)
    mask[:, 80:] = 1.0  # step at the middle column: grid columns >= 20 move
    weights = edits.apply_mask(sv, mask, feather_px=8.0).coeffs[0, 0, 10] / sv.coeffs[0, 0, 10]
    edge = 19.5  # between grid columns 19 and 20
    for column in (17, 19, 20, 21, 23):
        expected = 0.5 * (1 + math.erf((column - edge) / (sigma_grid * math.sqrt(2))))
        assert weights[column].real == pytest.approx(expected, abs=0.02)


def test_mask_with_wrong_aspect_ratio_is_refused() -> None:
    sv = gid_volume(height=6, width=8, source_size=[800, 600])
    with pytest.raises(InputError) as info:
        edits.apply_mask(sv, np.ones((600, 900)))
    message = str(info.value)
    assert "900x600" in message and "the image is 800x600" in message and "make a mask the size of the image" in message
    edits.apply_mask(sv, np.ones((600, 808)))  # 1 % off: resampled, accepted
    without_size = gid_volume(height=6, width=8)
    expected = "mask is 9x6 (aspect 1.500) but the motion grid is 8x6 (aspect 1.333)"
    with pytest.raises(InputError, match=re.escape(expected)):
        edits.apply_mask(without_size, np.ones((6, 9)))


@pytest.mark.parametrize(("mask", "message"), [
    (np.full((6, 8), 255.0), "values must be in 0..1"),
    (np.full((6, 8), -0.5), "values must be in 0..1"),
    (np.full((6, 8), np.nan), "NaN or infinite"),
    (np.ones((6, 8, 3)), "2-D [height, width]"),
    (np.ones(8), "2-D [height, width]"),
    (np.ones((6, 8), dtype=np.complex64), "real numbers"),
])
def test_mask_rejects_bad_values(mask: np.ndarray, message: str) -> None:
    with pytest.raises(InputError) as info:
        edits.apply_mask(gid_volume(), mask)
    assert message in str(info.value)


def test_mask_rejects_negative_feather() -> None:
    with pytest.raises(InputError, match="mask feather \\(pixels\\) must be >= 0"):
        edits.apply_mask(gid_volume(), np.ones((6, 8)), feather_px=-1.0)


@FAST
@given(gain=floats(0, 2), loop_frames=st.integers(10, 300), tau=floats(0.1, 10))
def test_no_edit_mutates_its_input(gain: float, loop_frames: int, tau: float) -> None:
    sv = gid_volume(seed=12, height=3, width=4, source_size=[8, 6])
    assume(loop_frames != 150)
    before = snapshot(sv)
    results = [
        edits.band_gains(sv, [(0.0, gain), (3.0, 1.0)]),
        edits.frequency_cut(sv, 0.2, 2.0),
        edits.scale_strength(sv, gain),
        edits.loop_to(sv, loop_frames),
        edits.time_stretch_to(sv, loop_frames),
        edits.with_decay(sv, tau),
        edits.apply_mask(sv, np.full((6, 8), 0.5), feather_px=1.0),
    ]
    assert_unchanged(sv, before)
    for result in results:
        assert not np.shares_memory(result.coeffs, sv.coeffs)  # editing a result in place cannot touch the input
        assert result.coeffs.dtype == np.complex64 and result.freqs_hz.dtype == np.float32
