"""Real videos to spectral volumes: motion recovered from encoded synthetic clips, time resampling, rejection of camera
motion, large motion, short and corrupt clips, and datasets written from a folder of videos."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from image_dynamics import spectral
from image_dynamics.data import shards, synth, videos
from image_dynamics.data.normalise import load_norm_stats
from image_dynamics.errors import CancelledError, InputError
from image_dynamics.io_video import VideoWriter, video_frames

W, H = 256, 160
MEADOW_SEED = 12  # a meadow: grass, flowers and trees sway in front of static sky, hills and ground


def _encode(path: Path, frames: np.ndarray, fps: float) -> Path:
    with VideoWriter(path, fps=fps, preset="veryfast") as video:
        for frame in frames:
            video.write(frame)
    return path


def _texture(seed: int) -> np.ndarray:
    """float32 [H, W, 3] in 0..255: blurred noise, detailed enough for optical flow everywhere."""
    noise = np.random.default_rng(seed).uniform(0, 255, (H, W, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def _square_clip(times_s: np.ndarray, amplitude: float, freq_hz: float,
                 size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A textured square at the centre oscillating in x, ``amplitude * sin(2 pi f t)`` px, on a still background.

    Returns uint8 frames [N, H, W, 3] and the bool [H, W] mask of the square in frame 0.
    """
    background, square = _texture(0), _texture(1)
    alpha = np.zeros((H, W), np.float32)
    y0, x0 = (H - size) // 2, (W - size) // 2
    alpha[y0:y0 + size, x0:x0 + size] = 1.0
    layer = np.concatenate([square * alpha[..., None], alpha[..., None]], axis=-1)  # premultiplied
    frames = []
    for t in times_s:
        shift = np.float32([[1, 0, amplitude * np.sin(2 * np.pi * freq_hz * t)], [0, 1, 0]])
        moved = cv2.warpAffine(layer, shift, (W, H), flags=cv2.INTER_LINEAR)
        frames.append(np.clip(background * (1 - moved[..., 3:]) + moved[..., :3], 0, 255).round().astype(np.uint8))
    return np.stack(frames), alpha.astype(bool)


def _inside(mask: np.ndarray, margin: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)).astype(bool)


def _farther_than(mask: np.ndarray, distance: float) -> np.ndarray:
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) > distance


def _band_share(volume: spectral.SpectralVolume, band: int, pixels: np.ndarray) -> float:
    """Fraction of the (non-DC) motion energy of ``pixels`` that lies in ``band``."""
    energy = (np.abs(volume.coeffs[1:]) ** 2).sum(axis=1)[:, pixels].sum(axis=1)
    return float(energy[band - 1] / energy.sum())


@pytest.fixture(scope="module")
def meadow(tmp_path_factory: pytest.TempPathFactory) -> tuple[synth.SyntheticSample, np.ndarray, Path]:
    """The true 150 frames (30 fps) of a synthetic meadow and their H.264 MP4."""
    sample = synth.render_sample(MEADOW_SEED, W, H)
    frames = sample.frames(np.arange(150))
    path = _encode(tmp_path_factory.mktemp("meadow") / "meadow.mp4", frames, 30)
    return sample, frames, path


# ----------------------------------------------------------------------------------------------------------------------
# Motion recovered from videos


def test_motion_energy_of_an_encoded_synthetic_clip_follows_the_true_energy(meadow) -> None:
    sample, frames, path = meadow
    start = time.perf_counter()
    result = videos.video_to_spectral(path)
    seconds = time.perf_counter() - start
    assert result.accepted, result.reason
    sv = result.volume
    assert sv.coeffs.shape == (16, 2, H, W) and sv.fps == 30.0
    np.testing.assert_allclose(sv.freqs_hz, np.arange(16) * 0.2, atol=1e-6)
    assert sv.meta["window_frames"] == 150 and sv.meta["source"] == "videos" and sv.meta["source_fps"] == 30.0
    assert result.image.shape == (H, W, 3) and result.image.dtype == np.uint8
    np.testing.assert_array_equal(result.image, next(video_frames(path)))  # the decoded first frame, same size
    assert np.abs(result.image.astype(np.int16) - frames[0]).mean() < 8  # the true frame 0 through H.264 (4:2:0)
    measured, true = spectral.motion_energy(sv), sample.motion_energy()
    r = float(np.corrcoef(measured.ravel(), true.ravel())[0, 1])
    moving = sample.moving_cover > 0
    static_far = _farther_than(moving, 6)  # flow spreads motion a few pixels across edges
    print(f"\nmeadow seed {MEADOW_SEED}: energy r = {r:.3f}; static mean E {measured[static_far].mean():.4f} vs moving "
          f"{measured[moving].mean():.3f} (true {true[moving].mean():.3f}) px^2; {seconds:.2f} s per clip; "
          f"measures {result.measures}")
    assert r > 0.5
    assert static_far.mean() > 0.3  # the check below covers a large part of the image
    assert measured[static_far].mean() < 0.1 * measured[moving].mean()
    assert np.percentile(measured[static_far], 90) < 0.05
    assert result.measures["camera_motion_px"] < 0.5 and result.measures["displacement_px"] < 3
    assert result.measures["flow_fields"] == 149


def test_oscillation_amplitude_and_frequency_are_recovered(tmp_path: Path) -> None:
    frames, square = _square_clip(np.arange(60) / 30, amplitude=2.0, freq_hz=1.5)
    result = videos.video_to_spectral(_encode(tmp_path / "square.mp4", frames, 30), window_frames=60)
    assert result.accepted, result.reason
    sv = result.volume
    np.testing.assert_allclose(sv.freqs_hz, np.arange(16) * 0.5, atol=1e-6)  # 60 frames at 30 fps: 0.5 Hz bands
    inner = _inside(square, 6)
    assert np.median(np.abs(sv.coeffs[3, 0][inner])) == pytest.approx(2.0, rel=0.1)  # 1.5 Hz = band 3, x
    assert np.median(np.abs(sv.coeffs[3, 1][inner])) < 0.05  # no y motion
    assert _band_share(sv, 3, inner) > 0.98
    assert spectral.motion_energy(sv)[_farther_than(square, 10)].max() < 0.1  # the background stays still


def test_a_25_fps_clip_is_resampled_to_30_fps(tmp_path: Path) -> None:
    frames, square = _square_clip(np.arange(62) / 25, amplitude=2.0, freq_hz=1.5)
    path = _encode(tmp_path / "square25.mp4", frames, 25)
    result = videos.video_to_spectral(path, window_frames=60)
    assert result.accepted, result.reason
    sv, inner = result.volume, _inside(square, 6)
    assert sv.fps == 30.0 and sv.meta["window_frames"] == 60 and result.measures["source_fps"] == 25.0
    assert result.measures["flow_fields"] == 50  # source frames 1..50 cover 59 / 30 s = 49.2 frames at 25 fps
    assert np.median(np.abs(sv.coeffs[3, 0][inner])) == pytest.approx(2.0, rel=0.1)
    assert _band_share(sv, 3, inner) > 0.95
    # Read as if it were 30 fps, the same clip plays 20 % fast: 1.8 Hz, between bands, energy smeared.
    wrong = videos.video_to_spectral(path, window_frames=60, fps=30)
    assert wrong.accepted and _band_share(wrong.volume, 3, inner) < 0.8


def test_resample_plan_interpolates_between_the_source_frames_around_each_30_fps_instant() -> None:
    lower, upper, weight = videos.resample_plan(7, 25.0)
    np.testing.assert_array_equal(lower, [0, 0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(upper, [0, 1, 2, 3, 4, 5, 5])
    np.testing.assert_allclose(weight, [0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0], atol=1e-12)
    lower, upper, weight = videos.resample_plan(5, 60.0)
    np.testing.assert_array_equal(lower, [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(upper, lower)
    assert not weight.any()
    lower, upper, weight = videos.resample_plan(4, 30.0)
    np.testing.assert_array_equal(lower, np.arange(4))
    np.testing.assert_array_equal(upper, np.arange(4))


def test_frames_are_centre_cropped_to_the_target_aspect_never_stretched() -> None:
    assert videos.crop_box(320, 160, 256, 160) == (32, 0, 256, 160)  # wider: sides cropped
    assert videos.crop_box(640, 480, 256, 160) == (0, 40, 640, 400)  # taller: top and bottom cropped
    assert videos.crop_box(512, 320, 256, 160) == (0, 0, 512, 320)
    frame = np.random.default_rng(0).integers(0, 256, (160, 320, 3), dtype=np.uint8)
    np.testing.assert_array_equal(videos.fit_frame(frame, 256, 160), frame[:, 32:288])
    # A 4:3 frame holding a centred disc: after fitting to 16:10 the disc is still round.
    big = np.zeros((480, 640, 3), np.uint8)
    cv2.circle(big, (320, 240), 150, (255, 255, 255), -1)
    fitted = videos.fit_frame(big, 256, 160)[..., 0] > 127
    ys, xs = np.nonzero(fitted)
    assert fitted.shape == (160, 256)
    assert (xs.max() - xs.min()) == pytest.approx(ys.max() - ys.min(), abs=1)
    assert (xs.max() - xs.min()) == pytest.approx(2 * 150 * 256 / 640, abs=2)


def test_videos_of_other_sizes_and_aspects_become_samples_of_the_target_size(tmp_path: Path) -> None:
    frames, _ = _square_clip(np.arange(20) / 30, amplitude=1.0, freq_hz=1.5)
    frames = np.stack([cv2.resize(f, (320, 240), interpolation=cv2.INTER_LINEAR) for f in frames])  # 4:3
    path = _encode(tmp_path / "four_three.mp4", frames, 30)
    result = videos.video_to_spectral(path, window_frames=20, num_bands=8)
    assert result.accepted, result.reason
    assert result.volume.coeffs.shape == (8, 2, H, W) and result.volume.meta["window_frames"] == 20
    np.testing.assert_array_equal(result.image, videos.fit_frame(next(video_frames(path)), W, H))


def test_forward_backward_check_flags_mismatches_and_fills_them_from_reliable_neighbours() -> None:
    grid_y, grid_x = np.mgrid[0:32, 0:48].astype(np.float32)
    forward = np.zeros((32, 48, 2), np.float32)
    forward[..., 0] = 2.0
    backward = -forward.copy()
    backward[10:20, 20:30, 0] = 2.0  # where these pixels land, the way back does not return
    reliable = videos._consistent(forward, backward, grid_x, grid_y)
    assert reliable[:, :17].all() and reliable[:, 31:].all()
    assert not reliable[12:18, 20:26].any()
    garbage = forward.copy()
    garbage[~reliable] = [40.0, -30.0]
    filled = videos._fill_unreliable(garbage, reliable, 4.0)
    np.testing.assert_allclose(filled, forward, atol=1e-4)  # the neighbours' motion, not the wild vectors
    assert not videos._fill_unreliable(garbage, np.zeros((32, 48), bool), 4.0).any()  # nothing reliable: 0


# ----------------------------------------------------------------------------------------------------------------------
# Rejections


def test_a_panning_clip_is_rejected_for_camera_motion(meadow, tmp_path: Path) -> None:
    _, frames, _ = meadow
    panned = np.stack([cv2.warpAffine(f, np.float32([[1, 0, 0.25 * t], [0, 1, 0.05 * t]]), (W, H),
                                      borderMode=cv2.BORDER_REFLECT) for t, f in enumerate(frames[:60])])
    result = videos.video_to_spectral(_encode(tmp_path / "pan.mp4", panned, 30), window_frames=60)
    assert not result.accepted and result.volume is None
    assert result.reason.startswith("camera motion:"), result.reason
    assert "fixed camera" in result.reason
    assert result.measures["camera_inliers"] >= 0.5 and result.measures["camera_motion_px"] >= 1.0
    assert result.measures["flow_fields"] == 10  # stopped at the first check


def test_huge_motion_is_rejected(tmp_path: Path) -> None:
    frames, _ = _square_clip(np.arange(60) / 30, amplitude=25.0, freq_hz=0.5)
    result = videos.video_to_spectral(_encode(tmp_path / "huge.mp4", frames, 30), window_frames=60)
    assert not result.accepted
    assert result.reason.startswith("too large motion:"), result.reason
    assert result.measures["displacement_px"] > 15  # the square really is followed 20+ px


def test_a_scene_cut_is_rejected_as_unreliable_flow(meadow, tmp_path: Path) -> None:
    _, frames, _ = meadow
    cut = np.concatenate([frames[:30], frames[30:60, :, ::-1]])  # the second half is another picture
    result = videos.video_to_spectral(_encode(tmp_path / "cut.mp4", cut, 30), window_frames=60)
    assert not result.accepted
    assert result.reason.startswith("unreliable flow:"), result.reason
    assert "1.00 s into the window" in result.reason  # the first check after the cut (flow field 30)
    # Without the forward-backward check the nonsense flow across the cut is caught as too large motion instead.
    unchecked = videos.video_to_spectral(tmp_path / "cut.mp4", window_frames=60, consistency=False)
    assert not unchecked.accepted and unchecked.reason.startswith("too large motion:"), unchecked.reason


def test_a_short_clip_is_rejected_with_its_length(meadow, tmp_path: Path) -> None:
    _, frames, _ = meadow
    result = videos.video_to_spectral(_encode(tmp_path / "short.mp4", frames[:60], 30))
    assert not result.accepted
    assert result.reason.startswith("too short: 60 frames at 30 fps"), result.reason
    assert "150 frames" in result.reason


@pytest.mark.parametrize("content", ["random", "truncated", "empty"])
def test_corrupt_files_are_rejected_not_raised(meadow, tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.mp4"
    if content == "random":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    elif content == "truncated":
        path.write_bytes(meadow[2].read_bytes()[:30000])  # index intact (faststart), most frame data missing
    else:
        path.write_bytes(b"")
    result = videos.video_to_spectral(path)
    assert not result.accepted and result.volume is None
    assert result.reason.startswith(("unreadable:", "too short:")), result.reason
    if content != "truncated":
        assert result.reason.startswith("unreadable:") and str(path) in result.reason


def test_bad_arguments_raise_input_errors(meadow) -> None:
    path = meadow[2]
    with pytest.raises(InputError, match="optical flow method"):
        videos.video_to_spectral(path, flow="lucas")
    with pytest.raises(InputError, match="num_bands"):
        videos.video_to_spectral(path, window_frames=20, num_bands=16)
    with pytest.raises(InputError, match="frame rate"):
        videos.video_to_spectral(path, fps=0)


# ----------------------------------------------------------------------------------------------------------------------
# Datasets


def test_folder_of_videos_becomes_a_dataset_with_rejections_listed(meadow, tmp_path: Path) -> None:
    _, frames, meadow_path = meadow
    clips = tmp_path / "clips"
    (clips / "sub").mkdir(parents=True)
    (clips / "meadow.mp4").write_bytes(meadow_path.read_bytes())
    _encode(clips / "sub" / "short.MOV", frames[:40], 30)  # subfolders and any case of the suffix are read
    (clips / "corrupt.mp4").write_bytes(b"not a video at all" * 100)
    (clips / "notes.txt").write_text("ignored")
    out = tmp_path / "dataset"
    calls = []
    info, rejected = videos.videos_to_dataset(clips, out, window_frames=60, progress=lambda d, t: calls.append((d, t)))

    assert calls == [(1, 3), (2, 3), (3, 3)]
    # 150 frames give two whole 60-frame windows (frames 0-59 and 60-119); the last 30 frames are dropped.
    assert info.count == 2 and info.source == "videos" and info.window_frames == 60 and info.fps == 30.0
    assert (info.width, info.height, info.num_bands) == (W, H, 16)
    data = shards.load_all(info)
    assert data["sample_ids"].tolist() == [0, 1] and data["kinds"].tolist() == ["video", "video"]
    decoded = list(video_frames(meadow_path))
    np.testing.assert_array_equal(data["images"][0], decoded[0])
    np.testing.assert_array_equal(data["images"][1], decoded[60])
    expected = [s.volume.coeffs for s in videos.video_windows(meadow_path, window_frames=60)]
    assert len(expected) == 2
    np.testing.assert_allclose(shards.channels_to_coeffs(data["coeffs"]), np.stack(expected), atol=2e-3, rtol=2e-3)

    assert sorted((p.name, r.split(":")[0]) for p, r in rejected) == [("corrupt.mp4", "unreadable"),
                                                                       ("short.MOV", "too short")]
    listed = json.loads((out / "rejected.json").read_text())
    assert sorted(e["path"] for e in listed) == ["corrupt.mp4", "sub/short.MOV"]
    assert all(e["reason"] for e in listed)
    sources = json.loads((out / "sources.json").read_text())
    assert [(s["id"], s["path"], s["window"], s["start_s"]) for s in sources] == [(0, "meadow.mp4", 0, 0.0),
                                                                                  (1, "meadow.mp4", 1, 2.0)]
    stats = load_norm_stats(info.norm_stats_path)
    assert stats.count == 2 and stats.num_bands == 16

    with pytest.raises(InputError, match="already holds a dataset"):
        videos.videos_to_dataset(clips, out, window_frames=60)
    # Overwriting replaces the old dataset; cancelling after the first window keeps that one sample.
    (clips / "corrupt.mp4").unlink()
    (clips / "sub" / "short.MOV").unlink()
    info, rejected = videos.videos_to_dataset(clips, out, window_frames=60, overwrite=True, cancel=lambda: True)
    assert rejected == [] and json.loads((out / "rejected.json").read_text()) == []
    assert info.count == 1 and sorted(p.name for p in out.glob("shard_*.npz")) == ["shard_00000.npz"]
    assert len(json.loads((out / "sources.json").read_text())) == 1


def test_empty_or_missing_folders_raise_input_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no video files"):
        videos.videos_to_dataset(empty, tmp_path / "out")
    (empty / "readme.txt").write_text("no clips here")
    (empty / ".hidden.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match="no video files"):
        videos.videos_to_dataset(empty, tmp_path / "out")
    with pytest.raises(InputError, match="folder not found"):
        videos.videos_to_dataset(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_without_usable_clips_raises_and_lists_why(meadow, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    _encode(clips / "short.mp4", meadow[1][:20], 30)
    (clips / "broken.webm").write_bytes(b"\x00" * 5000)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"none of the 2 videos .*short.mp4: too short.*rejected.json"):
        videos.videos_to_dataset(clips, out, window_frames=60)
    assert len(json.loads((out / "rejected.json").read_text())) == 2
    assert not (out / shards.INDEX_NAME).exists()


def test_cancel_before_the_first_sample_raises_cancelled(meadow, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "broken.mp4").write_bytes(b"\x00" * 5000)
    (clips / "meadow.mp4").write_bytes(meadow[2].read_bytes())
    with pytest.raises(CancelledError):
        videos.videos_to_dataset(clips, tmp_path / "out", window_frames=60, cancel=lambda: True)
