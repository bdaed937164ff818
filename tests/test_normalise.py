"""Per-frequency normalisation: signed square root and its exact inverse, percentiles on known data, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from image_dynamics.data import normalise as norm
from image_dynamics.data import shards
from image_dynamics.errors import InputError


def _stats(scales) -> norm.NormStats:
    scales = np.asarray(scales, np.float32)
    return norm.NormStats(95.0, np.arange(scales.size, dtype=np.float32) * 0.2, scales, 1,
                          np.ones(scales.size, np.int64))


def test_normalise_is_signed_sqrt_of_scaled_values() -> None:
    stats = _stats([2.0, 0.5])
    channels = np.zeros((2, 4, 1, 3), np.float32)
    channels[0, 0, 0] = [8.0, -8.0, 0.0]
    channels[1, 3, 0] = [2.0, -0.125, 0.5]
    out = norm.normalise(channels, stats)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, 0], [2.0, -2.0, 0.0])
    np.testing.assert_allclose(out[1, 3, 0], [2.0, -0.5, 1.0])


def test_denormalise_inverts_normalise() -> None:
    rng = np.random.default_rng(0)
    stats = _stats(rng.uniform(0.01, 5.0, 16))
    channels = (rng.standard_normal((3, 16, 4, 5, 7)) * rng.uniform(0.001, 10, (1, 16, 1, 1, 1))).astype(np.float32)
    back = norm.denormalise(norm.normalise(channels, stats), stats)
    np.testing.assert_allclose(back, channels, rtol=2e-6, atol=1e-9)
    assert np.array_equal(np.sign(back), np.sign(channels))


def test_wrong_number_of_bands_is_refused() -> None:
    with pytest.raises(InputError, match="expected"):
        norm.normalise(np.zeros((3, 4, 2, 2), np.float32), _stats([1.0, 1.0]))


def test_percentile_over_moving_pixels_of_known_data() -> None:
    """Band k holds |values| uniform on [1, 100] * (k + 1) at moving pixels; static pixels (all zero) are ignored."""
    rng = np.random.default_rng(1)
    n, k, h, w = 3, 4, 40, 40
    channels = np.zeros((n, k, 4, h, w), np.float32)
    moving = rng.random((n, h, w)) < 0.15
    for b in range(k):
        values = rng.uniform(1.0, 100.0, (n, 4, h, w)) * (b + 1) * rng.choice([-1, 1], (n, 4, h, w))
        channels[:, b] = np.where(moving[:, None], values, 0.0)
    stats = norm.compute_norm_stats(channels, percentile=95)
    for b in range(k):
        picked = np.abs(channels[:, b].transpose(1, 0, 2, 3)[:, moving])
        expected = np.percentile(picked, 95)
        assert stats.scales[b] == pytest.approx(expected, rel=5e-3)
        assert stats.values[b] == picked.size
    assert stats.count == n and stats.percentile == 95
    # including the static zeros would have given a much smaller scale
    assert np.percentile(np.abs(channels[:, 0]), 95) < 0.8 * stats.scales[0]


def test_empty_band_gets_the_floor_not_zero() -> None:
    channels = np.zeros((1, 3, 4, 8, 8), np.float32)
    channels[0, 0] = 50.0
    channels[0, 1] = 0.2
    stats = norm.compute_norm_stats(channels)
    assert stats.scales[0] == pytest.approx(50.0, rel=5e-3)
    assert stats.scales[2] == pytest.approx(0.5, rel=5e-3)  # floor: 1 % of the largest band
    assert stats.scales[1] == pytest.approx(0.5, rel=5e-3)  # 0.2 px is below the floor too
    assert np.all(np.isfinite(norm.normalise(channels, stats)))


def test_complex_coefficients_give_the_same_stats_as_channels() -> None:
    rng = np.random.default_rng(2)
    coeffs = (rng.standard_normal((2, 3, 2, 6, 6)) + 1j * rng.standard_normal((2, 3, 2, 6, 6))).astype(np.complex64)
    a = norm.compute_norm_stats(coeffs)
    b = norm.compute_norm_stats(shards.coeffs_to_channels(coeffs))
    assert np.array_equal(a.scales, b.scales)


def test_stats_of_a_dataset_folder_equal_stats_of_its_arrays(tmp_path) -> None:
    rng = np.random.default_rng(3)
    freqs = np.arange(4, dtype=np.float32) * 0.2
    writer = shards.ShardWriter(tmp_path, 6, 5, freqs, 30.0, 150, "test", shard_size=2)
    all_coeffs = []
    for i in range(5):
        coeffs = (rng.standard_normal((4, 2, 5, 6)) * (rng.random((1, 1, 5, 6)) < 0.5)).astype(np.complex64)
        writer.add(np.zeros((5, 6, 3), np.uint8), coeffs, i)
        all_coeffs.append(coeffs)
    info = writer.close()
    from_folder = norm.compute_norm_stats(info)
    stored = shards.load_all(info)["coeffs"]
    from_arrays = norm.compute_norm_stats(stored, freqs_hz=freqs)
    assert np.array_equal(from_folder.scales, from_arrays.scales)
    np.testing.assert_array_equal(from_folder.freqs_hz, freqs)
    assert from_folder.count == 5


def test_save_and_load_round_trip(tmp_path) -> None:
    stats = norm.NormStats(95.0, np.arange(3, dtype=np.float32) * 0.2, np.float32([1.5, 0.25, 0.01]), 42,
                           np.array([10, 20, 30]))
    path = norm.save_norm_stats(stats, tmp_path / "norm_stats.json")
    doc = json.loads(path.read_text())
    assert doc["percentile"] == 95.0 and doc["count"] == 42 and len(doc["freqs_hz"]) == 3
    back = norm.load_norm_stats(path)
    assert np.array_equal(back.scales, stats.scales) and np.array_equal(back.freqs_hz, stats.freqs_hz)
    assert back.count == 42 and back.percentile == 95.0 and back.values.tolist() == [10, 20, 30]


def test_json_text_round_trip_as_embedded_in_checkpoints() -> None:
    stats = norm.compute_norm_stats(np.ones((1, 2, 4, 3, 3), np.float32) * np.float32([[[[[2.0]]], [[[0.5]]]]]))
    back = norm.norm_stats_from_json(norm.norm_stats_to_json(stats))
    assert np.array_equal(back.scales, stats.scales) and back.count == 1
    with pytest.raises(InputError, match="checkpoint x"):
        norm.norm_stats_from_json("[]", "checkpoint x")


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("{not json", "unreadable"),
    ('{"percentile": 95, "count": 1, "freqs_hz": [0, 0.2], "scales": [1.0]}', "same length"),
    ('{"percentile": 95, "count": 1, "freqs_hz": [0], "scales": [0.0]}', "positive"),
    ('{"percentile": 95, "freqs_hz": [0], "scales": [1.0]}', "count"),
])
def test_bad_stats_files_say_what_is_wrong(tmp_path, content, message) -> None:
    path = tmp_path / "norm_stats.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        norm.load_norm_stats(path)
