"""Evaluation metrics: exact values on hand-made cases, and the ordering oracle > baselines on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from image_dynamics import evaluation as ev
from image_dynamics.data.synth import generate_dataset


def test_roc_auc_matches_hand_counts_and_handles_ties():
    assert ev.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert ev.roc_auc([1, 1, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.5)
    assert ev.roc_auc([0, 1, 2, 3], [0, 0, 1, 1]) == 1.0
    assert ev.roc_auc([3, 2], [1, 1]) == 0.5  # one class only


def test_pearson_of_a_constant_map_is_zero():
    true = np.random.default_rng(0).random((2, 4, 5))
    assert np.all(ev.pearson_per_image(np.ones_like(true), true) == 0)
    np.testing.assert_allclose(ev.pearson_per_image(3 * true + 1, true), 1.0)


def test_band_log_power_error_is_zero_for_the_truth_and_one_decade_for_10x_power():
    rng = np.random.default_rng(1)
    coeffs = (rng.normal(size=(2, 4, 2, 3, 3)) + 1j * rng.normal(size=(2, 4, 2, 3, 3))).astype(np.complex64)
    freqs = np.array([0, 0.2, 0.4, 0.6])
    assert ev.band_log_power_error(coeffs, coeffs, freqs).max() == 0
    np.testing.assert_allclose(ev.band_log_power_error(coeffs * np.sqrt(10), coeffs, freqs), 1.0, atol=1e-3)


def test_truth_beats_the_baselines_on_every_metric(tmp_path):
    info = generate_dataset(tmp_path / "test", 6, seed=5, width=64, height=40)
    data = ev.load_test_set(info, psnr_samples=2)
    offset = {"i": 0}

    def oracle(images, seed):
        start = offset["i"] % len(data.images)
        offset["i"] += len(images)
        return data.coeffs[start:start + len(images)]

    truth = ev.evaluate(oracle, data)["mean"]
    zero = ev.evaluate(ev.zero_motion(16), data)["mean"]
    mean = ev.evaluate(ev.mean_spectrum(data.coeffs), data)["mean"]
    assert truth["energy_corr"] == pytest.approx(1.0) and truth["moving_auc"] == pytest.approx(1.0)
    assert truth["band_log_power_err"] == 0
    for baseline in (zero, mean):
        assert baseline["energy_corr"] == 0 and baseline["moving_auc"] == 0.5
        assert truth["psnr_db"] > baseline["psnr_db"]
    assert mean["band_log_power_err"] < zero["band_log_power_err"]


def test_a_metric_that_was_not_measured_says_so_instead_of_nan(tmp_path, capsys):
    from image_dynamics.cli import main

    info = generate_dataset(tmp_path / "test", 2, seed=3, width=40, height=32)
    data = ev.load_test_set(info, psnr_samples=0)
    result = ev.evaluate(ev.zero_motion(16), data)
    assert "psnr_db" not in result["mean"]
    assert ev.format_metric(result, "psnr_db") == "not measured"
    assert ev.format_metric(result, "moving_auc") == "    0.500 +-  0.000"
    assert main(["-q", "eval", "--data", str(tmp_path / "test"), "--psnr-samples", "0"]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert header.split()[-1] == "psnr_db"
    assert row.startswith("zero motion") and row.endswith("not measured") and "nan" not in row
