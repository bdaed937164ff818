"""scripts/make_dataset_figure.py: the true motion it draws is the eval-photos protocol's RMS, unknown pixels marked."""

from __future__ import annotations

import numpy as np
import pytest

from image_dynamics import spectral
from image_dynamics.realphoto import colour_rms

from .conftest import load_script


@pytest.fixture(scope="module")
def figure():
    return load_script("make_dataset_figure")


def test_true_rms_is_the_loop_rms_of_the_displacement_scaled_to_the_figure_width(figure):
    freqs = spectral.harmonic_freqs(16)
    coeffs = np.zeros((16, 4, 2, 3), np.float16)
    coeffs[0, 0] = 5.0  # the 0 Hz band is the loop's mean offset: no motion
    coeffs[3, 0, 0, 0] = 0.6  # x real: a one-sided coefficient, so a 0.6-px cosine at that pixel
    coeffs[5, 3, 1, 2] = 0.8  # y imaginary
    rms = figure.true_rms(coeffs, freqs, scale=2.0)
    assert rms.shape == (2, 3)
    assert rms[0, 0] == pytest.approx(0.6 / np.sqrt(2) * 2, rel=1e-3)  # RMS of A cos is A / sqrt(2)
    assert rms[1, 2] == pytest.approx(0.8 / np.sqrt(2) * 2, rel=1e-3)
    assert rms[0, 1] == 0.0


def test_sample_panels_mark_unknown_pixels_and_share_only_known_ones(figure):
    image = np.full((20, 30, 3), 128, np.uint8)
    rms = np.zeros((20, 30), np.float32)
    rms[:, :10] = 1.0
    known = np.ones((20, 30), np.uint8)
    known[:, 20:] = 0
    panels = figure.sample_panels(image, rms, known, "specimen")
    assert panels.shape == (20 + 22, 60, 3)
    motion = panels[22:, 30:]
    assert (motion[:, 20:] == figure.UNKNOWN_RGB).all()
    assert (motion[:, :10] == colour_rms(rms)[:, :10]).all() and not (motion[:, 10:20] == motion[:, :10]).all()


def test_predicted_rms_measures_a_network_s_band_energies_as_true_rms_measures_the_truth(figure):
    freqs = spectral.harmonic_freqs(16)
    coeffs = np.zeros((16, 4, 2, 3), np.float16)
    coeffs[3, 0, 0, 0] = 0.6
    coeffs[7, 1, 1, 1] = 0.5
    coeffs[0, 0] = 3.0  # the 0 Hz band: no motion, whatever a network says of it
    energy = coeffs.astype(np.float32).__pow__(2).sum(axis=1)  # [K, h, w]: squared pixels per band
    energy[0] = 9.0
    assert np.allclose(figure.predicted_rms(energy, 2.0), figure.true_rms(coeffs, freqs, 2.0), rtol=1e-3)


def test_photo_and_model_panels(figure):
    image = np.full((20, 30, 3), 90, np.uint8)
    photo = figure.sample_panels(image, None, None, "a photo")
    assert photo.shape == (42, 60, 3) and (photo[22:, 30:] == figure.NO_TRUTH_RGB).all()
    rms = np.zeros((20, 30), np.float32)
    rms[:5] = 1.0  # a quarter of the picture above 0.5 px
    panel = figure.model_panel(rms, "release 6")
    assert panel.shape == (42, 30, 3) and (panel[22:] == colour_rms(rms)).all()


def test_a_photo_with_a_label_map_beside_it_shows_its_labels(figure, tmp_path):
    from PIL import Image

    image = np.full((20, 30, 3), 90, np.uint8)
    labels = np.zeros((40, 60), np.uint8)
    labels[:, :20], labels[:, 40:] = 255, 128  # moving left, static right, unlabelled between
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "quay.png")
    Image.fromarray(labels).save(tmp_path / "quay_labels.png")
    small = figure.photo_label_map(tmp_path / "quay.png", (30, 20))
    assert small.shape == (20, 30) and set(np.unique(small)) == {0, 128, 255}  # nearest: no blended values
    assert figure.photo_label_map(tmp_path / "none.png", (30, 20)) is None
    panel = figure.sample_panels(image, None, None, "quay", small)[22:, 30:].astype(int)
    left, middle, right = panel[:, 2], panel[:, 15], panel[:, 28]
    assert (left[:, 0] > left[:, 2]).all() and (right[:, 2] > right[:, 0]).all()  # red moving, blue static
    assert (middle == 90).all()  # unlabelled pixels as they are


def test_sample_indices_are_read_or_refused_in_one_line(figure):
    assert figure.parse_samples("3, 2,3") == [2, 3] and figure.parse_samples("") is None
    for bad in ("two", "2;3", "-1", ","):
        with pytest.raises(SystemExit, match="--samples"):
            figure.parse_samples(bad)
