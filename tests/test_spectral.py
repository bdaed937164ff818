"""Spectral volumes: file format round trip, validation of bad files, analysis/synthesis maths (docs/conventions.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from image_dynamics import spectral
from image_dynamics.errors import MotionFileError, OutputError
from image_dynamics.spectral import SpectralVolume


def random_volume(seed: int = 0, bands: int = 4, height: int = 5, width: int = 7, fps: float = 30.0,
                  window: int = 150) -> SpectralVolume:
    rng = np.random.default_rng(seed)
    coeffs = rng.normal(size=(bands, 2, height, width)) + 1j * rng.normal(size=(bands, 2, height, width))
    meta = {"window_frames": window, "model": "test", "seed": seed, "source_size": [width * 4, height * 4]}
    return spectral.make(coeffs, spectral.harmonic_freqs(bands, window, fps), fps, meta)


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def good_arrays(volume: SpectralVolume | None = None) -> dict[str, np.ndarray]:
    volume = volume or random_volume()
    return {"coeffs": volume.coeffs, "freqs_hz": volume.freqs_hz, "fps": np.float64(volume.fps),
            "meta": np.array(json.dumps(volume.meta))}


# ----------------------------------------------------------------------------------------------------------------------
# File round trip


def test_save_load_round_trip_keeps_every_field(tmp_path: Path) -> None:
    volume = random_volume(seed=3).with_(decay_s=1.25)
    path = spectral.save(volume, tmp_path / "motion.npz")
    loaded = spectral.load(path)
    assert loaded.coeffs.dtype == np.complex64 and loaded.freqs_hz.dtype == np.float32
    np.testing.assert_array_equal(loaded.coeffs, volume.coeffs)
    np.testing.assert_array_equal(loaded.freqs_hz, volume.freqs_hz)
    assert loaded.fps == volume.fps
    assert loaded.decay_s == 1.25
    assert loaded.meta == {**volume.meta, "format_version": spectral.FORMAT_VERSION}
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_save_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = spectral.save(random_volume(seed=1), tmp_path / "motion.npz")
    with pytest.raises(OutputError, match="already exists"):
        spectral.save(random_volume(seed=2), path)
    spectral.save(random_volume(seed=2), path, overwrite=True)
    np.testing.assert_array_equal(spectral.load(path).coeffs, random_volume(seed=2).coeffs)


def test_load_accepts_complex128_and_converts(tmp_path: Path) -> None:
    arrays = good_arrays()
    arrays["coeffs"] = arrays["coeffs"].astype(np.complex128)
    loaded = spectral.load(write_npz(tmp_path / "wide.npz", **arrays))
    assert loaded.coeffs.dtype == np.complex64


# ----------------------------------------------------------------------------------------------------------------------
# Validation of bad files: every case raises MotionFileError naming the path and the problem


def _bad_cases() -> dict[str, tuple[dict[str, np.ndarray], str]]:
    base = good_arrays()
    coeffs = base["coeffs"]
    nan_coeffs = coeffs.copy()
    nan_coeffs[1, 0, 2, 3] = np.nan
    inf_coeffs = coeffs.copy()
    inf_coeffs[0, 1, 0, 0] = complex(0, np.inf)
    nan_freqs = base["freqs_hz"].copy()
    nan_freqs[2] = np.nan
    negative_freqs = base["freqs_hz"].copy()
    negative_freqs[1] = -0.2
    newer = json.dumps({"format_version": spectral.FLOW_FORMAT_VERSION + 1})
    return {
        "missing meta": ({k: v for k, v in base.items() if k != "meta"}, "missing key(s) meta"),
        "missing coeffs and fps": ({k: v for k, v in base.items() if k in ("freqs_hz", "meta")},
                                   "missing key(s) coeffs, fps"),
        "coeffs 3-D": ({**base, "coeffs": coeffs[:, 0]}, "'coeffs' must have shape [K, 2, H, W]"),
        "coeffs 3 components": ({**base, "coeffs": np.concatenate([coeffs, coeffs[:, :1]], axis=1)},
                                "'coeffs' must have shape [K, 2, H, W]"),
        "freqs wrong length": ({**base, "freqs_hz": base["freqs_hz"][:3]}, "'freqs_hz' must be a 1-D array of K = 4"),
        "freqs 2-D": ({**base, "freqs_hz": base["freqs_hz"].reshape(2, 2)}, "'freqs_hz' must be a 1-D array"),
        "freqs integer": ({**base, "freqs_hz": np.arange(4)}, "'freqs_hz' must be floating point"),
        "freqs NaN": ({**base, "freqs_hz": nan_freqs}, "'freqs_hz' must be finite and non-negative"),
        "freqs negative": ({**base, "freqs_hz": negative_freqs}, "'freqs_hz' must be finite and non-negative"),
        "coeffs NaN": ({**base, "coeffs": nan_coeffs}, "'coeffs' holds 1 NaN or infinite values"),
        "coeffs inf": ({**base, "coeffs": inf_coeffs}, "'coeffs' holds 1 NaN or infinite values"),
        "coeffs real": ({**base, "coeffs": coeffs.real.astype(np.float32)}, "'coeffs' must be complex"),
        "K = 0": ({**base, "coeffs": coeffs[:0], "freqs_hz": base["freqs_hz"][:0]}, "K = 0 frequency bands"),
        "empty grid": ({**base, "coeffs": coeffs[:, :, :0]}, "empty image grid 0x7"),
        "fps zero": ({**base, "fps": np.float64(0.0)}, "'fps' must be a positive number"),
        "fps negative": ({**base, "fps": np.float64(-30.0)}, "'fps' must be a positive number"),
        "fps NaN": ({**base, "fps": np.float64(np.nan)}, "'fps' must be a positive number"),
        "fps array": ({**base, "fps": np.array([30.0, 24.0])}, "'fps' must be a single number"),
        "fps text": ({**base, "fps": np.array("30")}, "'fps' must be a single number"),
        "meta not JSON": ({**base, "meta": np.array("{not json")}, "'meta' is not valid JSON"),
        "meta a list": ({**base, "meta": np.array("[1, 2]")}, "'meta' must be a JSON object"),
        "newer version": ({**base, "meta": np.array(newer)},
                          f"format version {spectral.FLOW_FORMAT_VERSION + 1} is newer than this program reads"),
        "decay negative": ({**base, "meta": np.array(json.dumps({"decay_s": -1.0}))},
                           "decay time must be a positive number of seconds"),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
def test_load_rejects_bad_file_naming_path_and_problem(tmp_path: Path, case: str) -> None:
    arrays, problem = _bad_cases()[case]
    path = write_npz(tmp_path / "bad motion.npz", **arrays)
    with pytest.raises(MotionFileError) as info:
        spectral.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert problem in message


def test_load_rejects_truncated_file(tmp_path: Path) -> None:
    path = spectral.save(random_volume(height=20, width=20), tmp_path / "motion.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MotionFileError, match=re.escape(f"{path}: not a readable motion file")) as info:
        spectral.load(path)
    assert "truncated" in str(info.value)


def test_load_rejects_other_kind_of_file(tmp_path: Path) -> None:
    path = tmp_path / "image.npz"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(MotionFileError, match=re.escape(f"{path}: not a readable motion file")):
        spectral.load(path)


def test_load_rejects_pickled_object_arrays(tmp_path: Path) -> None:
    arrays = good_arrays()
    arrays["meta"] = np.array([{"a": 1}], dtype=object)
    path = write_npz(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(MotionFileError, match=re.escape(f"{path}: not a readable motion file")):
        spectral.load(path)


def test_load_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.npz"
    with pytest.raises(MotionFileError, match=re.escape(f"{path}: motion file not found")) as info:
        spectral.load(path)
    assert "image-dynamics motion procedural" in str(info.value)


def test_make_validates_and_normalises_dtypes() -> None:
    coeffs = np.ones((2, 2, 3, 4), dtype=np.complex128)
    volume = spectral.make(coeffs, np.array([0.0, 0.2]), 30, {"a": 1})
    assert volume.coeffs.dtype == np.complex64 and volume.freqs_hz.dtype == np.float32
    assert isinstance(volume.fps, float) and volume.fps == 30.0
    assert (volume.num_bands, volume.height, volume.width) == (2, 3, 4)
    with pytest.raises(MotionFileError, match="'fps' must be a positive number"):
        spectral.make(coeffs, np.array([0.0, 0.2]), 0.0)
    with pytest.raises(MotionFileError, match="decay time must be a positive number"):
        spectral.make(coeffs, np.array([0.0, 0.2]), 30.0, decay_s=0.0)


def test_with_never_modifies_the_original() -> None:
    volume = random_volume()
    before = volume.coeffs.copy()
    other = volume.with_(coeffs=volume.coeffs * 2, fps=24.0)
    np.testing.assert_array_equal(volume.coeffs, before)
    assert volume.fps == 30.0 and other.fps == 24.0


# ----------------------------------------------------------------------------------------------------------------------
# Analysis and synthesis


def band_limited_trajectories(rng: np.random.Generator, frames: int, bands: int, height: int = 3,
                              width: int = 4) -> np.ndarray:
    """Real trajectories [T, 2, H, W] made of DFT harmonics 0..bands-1 of a T-frame window (harmonic 1..bands-1
    strictly below Nyquist), with random amplitudes and phases."""
    t = np.arange(frames, dtype=np.float64).reshape(-1, 1, 1, 1)
    traj = np.broadcast_to(rng.normal(size=(1, 2, height, width)), (frames, 2, height, width)).copy()
    for k in range(1, bands):
        amplitude = rng.uniform(0.1, 3.0, size=(1, 2, height, width))
        phase = rng.uniform(0, 2 * np.pi, size=(1, 2, height, width))
        traj += amplitude * np.cos(2 * np.pi * k * t / frames + phase)
    return traj


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(8, 160), bands=st.integers(1, 16),
       fps=st.sampled_from([24.0, 25.0, 30.0, 60.0]))
def test_trajectories_fft_idft_round_trip_is_exact_for_band_limited_motion(seed: int, frames: int, bands: int,
                                                                          fps: float) -> None:
    bands = max(1, min(bands, (frames - 1) // 2))  # strictly below Nyquist
    traj = band_limited_trajectories(np.random.default_rng(seed), frames, bands)
    volume = spectral.from_trajectories(traj, fps=fps, num_bands=bands)
    np.testing.assert_allclose(volume.freqs_hz, np.arange(bands) * fps / frames, rtol=1e-6)
    assert volume.meta["window_frames"] == frames
    assert volume.natural_period_frames() == frames
    for t in (0, 1, frames // 3, frames - 1):
        np.testing.assert_allclose(spectral.raw_displacement(volume, t), traj[t], atol=2e-4)
    anchored = spectral.displacements(volume, np.arange(frames))
    np.testing.assert_allclose(anchored, (traj - traj[0]).astype(np.float32), atol=5e-4)


@pytest.mark.parametrize("frames", [10, 11])
def test_all_bands_reconstruct_any_real_trajectory_including_nyquist(frames: int) -> None:
    traj = np.random.default_rng(frames).normal(size=(frames, 2, 2, 3))
    volume = spectral.from_trajectories(traj, fps=30.0, num_bands=frames // 2 + 1)
    reconstructed = np.stack([spectral.raw_displacement(volume, t) for t in range(frames)])
    np.testing.assert_allclose(reconstructed, traj, atol=1e-5)


def test_coefficient_scale_is_one_sided_amplitude() -> None:
    frames, fps = 150, 30.0
    t = np.arange(frames).reshape(-1, 1, 1, 1)
    traj = np.zeros((frames, 2, 1, 1))
    traj[:, 0] = 2.5 + 4.0 * np.cos(2 * np.pi * 3 * t[:, 0] / frames + 0.7)  # x: offset and 0.6 Hz sway
    traj[:, 1] = 1.5 * np.sin(2 * np.pi * 1 * t[:, 0] / frames)  # y: 0.2 Hz
    volume = spectral.from_trajectories(traj, fps=fps)
    np.testing.assert_allclose(volume.freqs_hz[:4], [0.0, 0.2, 0.4, 0.6], rtol=1e-6)
    assert volume.coeffs[0, 0, 0, 0] == pytest.approx(2.5, abs=1e-5)
    assert volume.coeffs[3, 0, 0, 0] == pytest.approx(4.0 * np.exp(0.7j), abs=1e-5)
    assert volume.coeffs[1, 1, 0, 0] == pytest.approx(-1.5j, abs=1e-5)
    assert spectral.motion_energy(volume)[0, 0] == pytest.approx(4.0**2 + 1.5**2, rel=1e-5)
    assert spectral.motion_energy(volume, include_dc=True)[0, 0] == pytest.approx(2.5**2 + 4.0**2 + 1.5**2, rel=1e-5)


def test_from_trajectories_rejects_bad_shapes_and_band_counts() -> None:
    with pytest.raises(ValueError, match="shape"):
        spectral.from_trajectories(np.zeros((10, 3, 2, 2)))
    with pytest.raises(ValueError, match="num_bands must be between 1 and T // 2 \\+ 1 = 6"):
        spectral.from_trajectories(np.zeros((10, 2, 2, 2)), num_bands=7)


def test_anchoring_makes_frame_zero_the_input_image() -> None:
    volume = random_volume(seed=5)
    fields = spectral.displacements(volume, np.array([0.0, 7.0, 33.5]))
    assert fields.shape == (3, 2, 5, 7) and fields.dtype == np.float32
    np.testing.assert_array_equal(fields[0], 0.0)
    for index, t in enumerate([0.0, 7.0, 33.5]):
        expected = spectral.raw_displacement(volume, t) - spectral.raw_displacement(volume, 0.0)
        np.testing.assert_allclose(fields[index], expected, atol=1e-4)
    assert np.abs(fields[1]).max() > 0.5  # the motion is not trivially zero


def test_decay_envelope_multiplies_anchored_motion() -> None:
    volume = random_volume(seed=6)
    tau = 0.8
    decayed = volume.with_(decay_s=tau)
    times = np.array([0.0, 3.0, 24.0, 60.0, 150.0])
    plain = spectral.displacements(volume, times)
    faded = spectral.displacements(decayed, times)
    envelope = np.exp(-times / (volume.fps * tau))
    np.testing.assert_allclose(faded, plain * envelope.reshape(-1, 1, 1, 1).astype(np.float32), atol=1e-5)
    assert np.abs(faded[-1]).max() < 2e-3 * np.abs(plain[-1]).max() + 1e-6  # settled to the input image


def test_natural_period_frames_uses_window_or_lowest_frequency() -> None:
    volume = random_volume(bands=4, window=150)
    assert volume.natural_period_frames() == 150
    off_grid = volume.with_(freqs_hz=np.array([0.0, 0.5, 1.0, 1.5], dtype=np.float32))  # not harmonics of 0.2 Hz
    assert off_grid.natural_period_frames() == 60  # 1 / 0.5 Hz at 30 fps
    no_window = off_grid.with_(meta={})
    assert no_window.natural_period_frames() == 60
    static = volume.with_(freqs_hz=np.zeros(4, dtype=np.float32))
    assert static.natural_period_frames() == 150


def test_harmonic_freqs_match_gid_window() -> None:
    freqs = spectral.harmonic_freqs()
    assert freqs.dtype == np.float32 and freqs.shape == (16,)
    np.testing.assert_allclose(freqs, np.arange(16) * 0.2, rtol=1e-6)
    assert freqs[-1] == pytest.approx(3.0)


def test_mean_motion_magnitude_is_mean_length_of_anchored_displacement() -> None:
    volume = random_volume(seed=9)
    times = np.linspace(0, 150, 37, endpoint=False)  # more than one 16-frame chunk
    fields = spectral.displacements(volume, times)
    expected = np.hypot(fields[:, 0], fields[:, 1]).mean(axis=0)
    np.testing.assert_allclose(spectral.mean_motion_magnitude(volume, times), expected, rtol=1e-5, atol=1e-6)


def test_stacked_coeffs_and_basis_reproduce_the_complex_sum() -> None:
    volume = random_volume(seed=4, bands=3)
    times = np.array([2.0, 9.25])
    basis = spectral.displacement_basis(volume, times)
    assert basis.shape == (2, 6)
    direct = np.einsum("nk,kchw->nchw", spectral.phase_matrix(volume.freqs_hz, times, volume.fps) - 1,
                       volume.coeffs.astype(np.complex128)).real
    np.testing.assert_allclose((basis @ spectral.stacked_coeffs(volume)).reshape(direct.shape), direct, atol=1e-5)


def test_band_energy_share_and_rms_amplitude_are_the_one_summary_of_a_volume():
    coeffs = np.zeros((3, 2, 4, 5), np.complex64)
    coeffs[1, 0] = 2.0  # 2 px in x at band 1 everywhere: energy 4 per pixel
    coeffs[2, 1] = 1.0j  # 1 px in y at band 2: energy 1 per pixel
    sv = spectral.make(coeffs, np.array([0.0, 0.2, 0.4], np.float32), fps=30.0)
    assert spectral.band_energy_share(sv) == pytest.approx([0.0, 0.8, 0.2])
    assert spectral.rms_amplitude(sv) == pytest.approx(np.sqrt(5.0 / 2.0))
    still = spectral.make(np.zeros_like(coeffs), sv.freqs_hz, fps=30.0)
    assert spectral.band_energy_share(still).tolist() == [0.0, 0.0, 0.0]
