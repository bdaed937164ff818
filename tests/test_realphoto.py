"""The real-photo check (image_dynamics.realphoto, `image-dynamics eval-photos`): reading labelled photo sets, the
motion RMS and per-image figures of the protocol, the report and pictures, and the command's errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from image_dynamics import realphoto, spectral
from image_dynamics.cli import main
from image_dynamics.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, pixels: np.ndarray) -> None:
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), pixels)


def _photo_set(folder: Path, size=(128, 80)) -> tuple[np.ndarray, np.ndarray]:
    """One photo: a red left half (to move) and a grey right half (static), labels with an unlabelled band."""
    w, h = size
    image = np.full((h, w, 3), 128, np.uint8)
    image[:, : w // 2] = (200, 30, 30)
    labels = np.full((h, w), 128, np.uint8)
    labels[:, : w // 2] = 255
    labels[:, w // 2 - 4: w // 2 + 4] = 0
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "scene.png", image)
    _write(folder / "scene_labels.png", labels)
    return image, labels


def _volume_moving_red(image: np.ndarray, seed: int, grid=(64, 40), amplitude=1.0) -> spectral.SpectralVolume:
    """A fake predictor: x motion of ``amplitude`` grid px (+ 0.1 px per seed) in band 1 where the image is red."""
    gw, gh = grid
    red = cv2.resize((image[..., 0] > 150).astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
    coeffs = np.zeros((16, 2, gh, gw), np.complex64)
    coeffs[1, 0] = (amplitude + 0.1 * seed) * red
    return spectral.make(coeffs, spectral.harmonic_freqs(16), 30.0, {"window_frames": 150})


def test_load_resizes_to_512_wide_labels_nearest(tmp_path):
    _photo_set(tmp_path / "set")
    (tmp_path / "set" / "README.md").write_text("not a photo")
    photos = realphoto.load_photo_set(tmp_path / "set")
    assert [p.name for p in photos] == ["scene"]
    photo = photos[0]
    assert photo.image.shape == (320, 512, 3) and photo.labels.shape == (320, 512)
    assert photo.source_size == (128, 80)
    assert set(np.unique(photo.labels)) == {0, 128, 255}  # nearest neighbour: no blended label values


@pytest.mark.parametrize("breakage, message", [
    ("orphan", "a label map without its image"), ("unlabelled", "no label map"), ("value", "value 77 at x=3, y=2"),
    ("size", "label map is 64x40"), ("colour", "labels must be grey"), ("empty", "no <name>.png"),
])
def test_bad_photo_sets_are_refused_with_one_clear_line(tmp_path, breakage, message):
    folder = tmp_path / "set"
    _, labels = _photo_set(folder)
    if breakage == "orphan":
        _write(folder / "other_labels.png", labels)
    elif breakage == "unlabelled":
        _write(folder / "other.png", np.zeros((8, 8, 3), np.uint8))
    elif breakage == "value":
        labels[2, 3] = 77
        _write(folder / "scene_labels.png", labels)
    elif breakage == "size":
        _write(folder / "scene_labels.png", labels[:40, :64])
    elif breakage == "colour":
        _write(folder / "scene_labels.png", np.stack([labels, labels, labels // 2], axis=-1))
    elif breakage == "empty":
        for p in folder.iterdir():
            p.unlink()
    with pytest.raises(InputError, match=message):
        realphoto.load_photo_set(folder)


def test_motion_rms_is_in_pixels_of_the_512_px_image():
    image = np.full((320, 512, 3), 100, np.uint8)
    coeffs = np.zeros((16, 2, 40, 64), np.complex64)
    coeffs[2, 0] = 0.5 + 0.5j         # |S| = 0.707 grid px in x: 8x that in image pixels
    coeffs[3, 1] = 0.25               # 0.25 grid px in y: 8x too (the grid is 1/8 of the image both ways)
    coeffs[0, 0] = 5.0                # a 0 Hz offset is no motion
    rms = realphoto.motion_rms(spectral.make(coeffs, spectral.harmonic_freqs(16), 30.0), image)
    expected = np.sqrt(((8 * np.sqrt(0.5)) ** 2 + (8 * 0.25) ** 2) / 2)
    assert rms.shape == (320, 512) and rms.dtype == np.float32
    np.testing.assert_allclose(rms, expected, rtol=1e-4)
    # and it is the RMS of the displacement over one loop (harmonic bands: exact)
    sv = spectral.make(coeffs, spectral.harmonic_freqs(16), 30.0)
    d = spectral.displacements(sv, np.arange(150.0))[:, :, 0, 0] * 8  # [T, 2] at one pixel, image pixels
    assert np.sqrt(((d - d.mean(axis=0)) ** 2).sum(axis=1).mean()) == pytest.approx(expected, rel=1e-4)


def test_photo_metrics_auc_means_and_fractions():
    labels = np.array([[255, 255, 128, 128, 0]], np.uint8)
    rms = np.array([[1.0, 0.8, 0.1, 0.2, 9.0]], np.float32)
    m = realphoto.photo_metrics(rms, labels)
    assert m["auc"] == 1.0  # the unlabelled 9 px pixel is left out
    assert m["mean_rms_px"] == pytest.approx(rms.mean())
    assert m["moving_fraction"] == pytest.approx(3 / 5)  # 1.0, 0.8 and 9.0 exceed 0.5 px
    assert m["labelled_moving_fraction"] == 1.0 and m["labelled_moving_share"] == pytest.approx(2 / 5)
    assert m["mean_rms_moving_px"] == pytest.approx(0.9) and m["mean_rms_static_px"] == pytest.approx(0.15)
    assert realphoto.photo_metrics(rms[:, ::-1].copy(), labels[:, ::-1].copy())["auc"] == 1.0
    inverted = realphoto.photo_metrics(np.array([[0.1, 0.2, 1.0, 0.8, 0]], np.float32), labels)
    assert inverted["auc"] == 0.0
    static_only = realphoto.photo_metrics(rms, np.full_like(labels, 128))
    assert static_only["auc"] is None and static_only["mean_rms_moving_px"] is None
    assert static_only["labelled_moving_fraction"] is None and static_only["labelled_moving_share"] == 0.0


def test_evaluate_averages_seeds_and_writes_report_and_pictures(tmp_path):
    _photo_set(tmp_path / "set")
    photos = realphoto.load_photo_set(tmp_path / "set")
    report, pictures = realphoto.evaluate_photos(photos, _volume_moving_red, seeds=(0, 2))
    (entry,) = report["images"]
    assert entry["auc"] == pytest.approx(1.0) and entry["per_seed_auc"] == [pytest.approx(1.0)] * 2
    # amplitude (1.0 + 0.1 seed) grid px x 8 = 8 and 9.6 image px; RMS averaged over the seeds, not the energies
    moving_rms = np.mean([8.0, 9.6]) / np.sqrt(2)
    assert entry["mean_rms_moving_px"] == pytest.approx(moving_rms, rel=2e-3)
    assert entry["mean_rms_static_px"] < 0.01
    assert report["summary"]["images_auc_at_least_0.8"] == 1 and report["protocol"]["seeds"] == [0, 2]
    assert pictures["scene"].shape == (320 + 22, 4 * 512 + 12, 3) and pictures["scene"].dtype == np.uint8
    written = realphoto.write_outputs(report, pictures, tmp_path / "r.json", tmp_path / "pics")
    assert json.loads((tmp_path / "r.json").read_text())["images"][0]["name"] == "scene"
    assert (tmp_path / "pics" / "scene.png").is_file() and len(written) == 2
    before = (tmp_path / "r.json").read_bytes()
    with pytest.raises(Exception, match="exists|already"):
        realphoto.write_outputs(report, pictures, tmp_path / "r.json", tmp_path / "pics")
    assert (tmp_path / "r.json").read_bytes() == before


def test_inverted_predictor_scores_below_half(tmp_path):
    _photo_set(tmp_path / "set")
    photos = realphoto.load_photo_set(tmp_path / "set")

    def moves_static(image, seed):
        flipped = image.copy()
        flipped[..., 0] = np.where(image[..., 0] > 150, 0, 255)
        return _volume_moving_red(flipped, seed)

    report, _ = realphoto.evaluate_photos(photos, moves_static, seeds=(0,), pictures=False)
    assert report["images"][0]["auc"] < 0.05


def test_cli_bad_folder_exits_2_with_one_line(tmp_path, capsys):
    assert main(["eval-photos", str(tmp_path / "missing"), "-o", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "photo folder not found" in err[0]
    assert main(["eval-photos", str(tmp_path), "-o", str(tmp_path / "r.txt")]) == 2
    assert "name it FILE.json" in capsys.readouterr().err


def test_cli_runs_the_shipped_model(tmp_path, capsys):
    folder = tmp_path / "set"
    _photo_set(folder, size=(64, 40))
    out = tmp_path / "report.json"
    assert main(["-q", "eval-photos", str(folder), "-o", str(out), "--seeds", "0", "--provider", "cpu",
                 "--no-pictures"]) == 0
    report = json.loads(out.read_text())
    assert report["model"]["sha256"] and report["protocol"]["width_px"] == 512
    assert not (tmp_path / "report_pictures").exists()
    assert 0.0 <= report["images"][0]["auc"] <= 1.0
    # a second run refuses to replace the report before predicting anything
    assert main(["-q", "eval-photos", str(folder), "-o", str(out), "--seeds", "0"]) == 2


def test_development_set_is_complete():
    photos = realphoto.load_photo_set(REPO / "docs" / "realphoto")
    names = {p.name for p in photos}
    assert {"sunset_sea", "sunset_waterfront", "forest_path", "forest_rocks", "sunrise_trees", "city_carpark",
            "plant_wall", "grass_rocks", "flowers_sky"} <= names
    for p in photos:
        if p.name == "city_carpark":
            assert not (p.labels == 255).any() and (p.labels == 128).mean() > 0.5
        else:
            assert (p.labels == 255).sum() > 2000 and (p.labels == 128).sum() > 2000, p.name
