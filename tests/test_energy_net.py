"""The motion-energy network's pieces: rescaling a sample to an energy map, the energy targets and the loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from image_dynamics.data.normalise import NormStats, normalise
from image_dynamics.io import srgb_to_linear
from image_dynamics.model.processing import (
    MAX_ENERGY_GAIN,
    coherent_fill,
    energy_from_log,
    energy_net_input,
    exposure_key,
    match_band_energy,
    normalise_exposure,
)

K, H, W = 5, 6, 7


def _sample(seed: int = 0) -> np.ndarray:
    """float32 channels ``[1, K, 4, H, W]`` of a sample whose frame-0 displacement is zero (as the data's are)."""
    rng = np.random.default_rng(seed)
    pixels = rng.normal(0.0, 1.0, (1, K, 4, H, W)).astype(np.float32)
    pixels[:, 0, 0:2] = -pixels[:, 1:, 0:2].sum(axis=1)  # band 0 (real x, y) cancels the rest at t = 0
    pixels[:, 0, 2:4] = 0.0
    return pixels


def test_each_pixel_gets_the_target_energy_with_one_gain_for_all_its_bands():
    pixels = _sample()
    target = np.random.default_rng(1).uniform(0.2, 3.0, (1, K, H, W)).astype(np.float32) * \
        np.square(pixels).sum(axis=2)  # gains between sqrt(0.2) and sqrt(3): under the cap
    out = match_band_energy(pixels, target)
    np.testing.assert_allclose(np.square(out[:, 1:]).sum(axis=(1, 2)), target[:, 1:].sum(axis=1), rtol=1e-5)
    gain = np.sqrt(target[:, 1:].sum(axis=1) / np.square(pixels[:, 1:]).sum(axis=(1, 2)))
    np.testing.assert_allclose(out, pixels * gain[:, None, None], rtol=1e-5, atol=1e-6)  # one gain per pixel
    np.testing.assert_allclose(out[:, :, 0:2].sum(axis=1), 0.0, atol=1e-5)  # frame 0 still shows the image


def test_the_gain_is_capped_and_a_still_pixel_stays_still():
    pixels = _sample()
    pixels[..., 0, 0] = 0.0  # a pixel the sample does not move
    target = np.full((1, K, H, W), 1e3, np.float32)
    out = match_band_energy(pixels, target)
    assert np.all(out[..., 0, 0] == 0.0)
    np.testing.assert_allclose(out[..., 1:, 1:], pixels[..., 1:, 1:] * MAX_ENERGY_GAIN, rtol=1e-6)
    np.testing.assert_array_equal(match_band_energy(pixels, np.zeros_like(target)), 0.0)  # the network says "still"


def test_coherent_fill_has_unit_energy_everywhere_moves_neighbours_alike_and_follows_its_seed():
    fill = coherent_fill((1, 3, 4, 48, 64), 4.0, seed=0)
    np.testing.assert_allclose(np.square(fill).sum(axis=2), 1.0, rtol=1e-5)  # every pixel and band: energy 1
    np.testing.assert_array_equal(fill, coherent_fill((1, 3, 4, 48, 64), 4.0, seed=0))
    assert np.abs(fill - coherent_fill((1, 3, 4, 48, 64), 4.0, seed=1)).mean() > 0.3

    def neighbour_correlation(field: np.ndarray, step: int) -> float:
        a, b = field[..., :, :-step].ravel(), field[..., :, step:].ravel()
        return float(np.corrcoef(a, b)[0, 1])

    assert neighbour_correlation(fill, 1) > 0.9  # a patch sways together ...
    assert neighbour_correlation(fill, 24) < 0.3  # ... and patches far apart do not
    assert neighbour_correlation(coherent_fill((1, 3, 4, 48, 64), 1.0, seed=0), 4) < \
        neighbour_correlation(fill, 4)  # the coherence length is what it says


def test_the_fill_supplies_exactly_the_energy_a_sample_cannot_carry_in_the_networks_band_shares():
    pixels = _sample()
    pixels[..., 0, 0] = 0.0  # a pixel the sample does not move
    bands = np.random.default_rng(2).uniform(0.5, 2.0, (1, K, H, W)).astype(np.float32)
    target = bands * 1e3  # far above what the capped gain can reach anywhere
    fill = coherent_fill(pixels.shape, 2.0, seed=0)
    out = match_band_energy(pixels, target, fill=fill)
    total = np.square(out[:, 1:]).sum(axis=(1, 2))
    np.testing.assert_allclose(total, target[:, 1:].sum(axis=1), rtol=1e-4)  # every pixel: the network's energy
    assert np.all(total[:, 1:, 1:] > np.square(pixels[:, 1:] * MAX_ENERGY_GAIN).sum(axis=(1, 2))[:, 1:, 1:])
    # the still pixel moves now, by the network's own band energies
    still = np.square(out[0, 1:, :, 0, 0]).sum(axis=1)
    np.testing.assert_allclose(still, target[0, 1:, 0, 0], rtol=1e-4)
    # where the gain is not capped the fill adds nothing: the sample's own spectrum, only rescaled
    reachable = np.square(pixels).sum(axis=2)
    np.testing.assert_array_equal(match_band_energy(pixels, reachable, fill=fill), match_band_energy(pixels, reachable))
    np.testing.assert_array_equal(match_band_energy(pixels, np.zeros_like(target), fill=fill), 0.0)


def test_normalise_exposure_brings_each_image_to_the_key_and_keeps_its_colours():
    rng = np.random.default_rng(3)
    dark = rng.random((3, 12, 20), np.float32) * 0.3          # a dim picture: key well below 0.05
    bright = 0.4 + rng.random((3, 12, 20), np.float32) * 0.5  # a bright one: key above 0.2
    batch = np.stack([dark, bright])
    keys = exposure_key(batch)
    assert keys[0] < 0.05 < 0.2 < keys[1]
    out = normalise_exposure(batch, 0.1)
    assert out.shape == batch.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    # darkened: nothing clips, so the key is met (up to the log's floor); brightened: a little clips, so nearly
    np.testing.assert_allclose(exposure_key(out[1:]), [0.1], rtol=5e-3)
    assert (out[1] < batch[1]).all() and (out[0] >= batch[0]).all() and abs(exposure_key(out[:1])[0] - 0.1) < 0.01
    # one factor on linear light per image: every unclipped pixel's channels keep their ratios
    lin_in, lin_out = srgb_to_linear(batch[1]), srgb_to_linear(out[1])
    np.testing.assert_allclose(lin_out / lin_in, np.full_like(lin_in, (lin_out / lin_in).mean()), rtol=1e-3)
    # no key: the image as it is
    np.testing.assert_array_equal(energy_net_input(batch, None), batch)
    np.testing.assert_array_equal(energy_net_input(batch, 0.0), batch)
    np.testing.assert_array_equal(energy_net_input(batch, 0.1), out)


def test_energy_from_log_inverts_the_networks_log_and_never_goes_negative():
    energy = np.array([0.0, 1e-5, 0.3, 12.0], np.float32)
    np.testing.assert_allclose(energy_from_log(np.log(energy + 1e-4), 1e-4), energy, rtol=1e-4, atol=1e-7)
    assert energy_from_log(np.array([-50.0], np.float32), 1e-4)[0] == 0.0


def test_targets_are_the_log_band_energies_of_the_denormalised_channels_and_a_perfect_guess_costs_nothing():
    torch = pytest.importorskip("torch")
    from image_dynamics.train.energy_net import energy_loss, log_band_energy_targets

    stats = NormStats(95.0, np.arange(K, dtype=np.float32) * 0.2, np.linspace(0.5, 2.0, K).astype(np.float32), 1,
                      np.ones(K, np.int64))
    pixels = _sample(3)
    target = log_band_energy_targets(normalise(pixels, stats), stats, 1e-4)
    np.testing.assert_allclose(target, np.log(np.square(pixels).sum(axis=2) + 1e-4), rtol=1e-5, atol=1e-5)
    target_t = torch.from_numpy(np.concatenate([target, target + np.float32(0.5)]))
    loss, terms = energy_loss(target_t, target_t, 1e-4, level_weight=0.25)
    assert terms["l1"] == 0.0 and terms["level"] == pytest.approx(0.0, abs=1e-6)
    assert terms["corr"] == pytest.approx(1.0, abs=1e-6) and float(loss) == pytest.approx(0.0, abs=1e-6)
    loss, terms = energy_loss(target_t + 1.0, target_t, 1e-4, level_weight=0.25)  # e times too much everywhere
    assert terms["l1"] == pytest.approx(1.0, rel=1e-5) and terms["level"] > 0.9 and terms["corr"] > 0.99


def test_mean_aimed_divergence_is_least_at_the_mean_of_alike_scenes_not_their_median():
    torch = pytest.importorskip("torch")
    from image_dynamics.train.energy_net import mean_aimed_divergence

    # five scenes that look alike: four nearly still, one moving a lot (heavy-tailed, as motion energy is)
    truth = torch.tensor([1e-3, 1e-3, 1e-3, 1e-3, 4.0]).reshape(5, 1, 1, 1).expand(5, 2, 4, 4).contiguous()
    guesses = torch.logspace(-4, 1, 301)
    costs = [float(mean_aimed_divergence(g.expand_as(truth), truth, 1e-4, pool=4, ratio_cap=1e6)) for g in guesses]
    best = float(guesses[int(np.argmin(costs))])
    assert best == pytest.approx(float(truth[:, 0, 0, 0].mean()), rel=0.05)  # 0.8008, the mean; the median is 1e-3
    assert float(mean_aimed_divergence(truth, truth, 1e-4, pool=2, ratio_cap=50.0)) == pytest.approx(0.0, abs=1e-6)


def test_mean_aimed_divergence_grows_linearly_in_log_beyond_the_cap_and_leaves_unknown_cells_out():
    torch = pytest.importorskip("torch")
    from image_dynamics.train.energy_net import mean_aimed_divergence

    pred = torch.full((1, 1, 4, 8), 1e-4)
    truth = torch.full((1, 1, 4, 8), 1e-4)
    truth[..., 4:] = 1e6 * 2e-4 - 1e-4  # the right cell: 1e6 x too little predicted
    cap = 50.0
    u = np.log(1e6)
    expected_right = cap - np.log(cap) - 1 + (cap - 1) * (u - np.log(cap))
    value = float(mean_aimed_divergence(pred, truth, 1e-4, pool=4, ratio_cap=cap))
    assert value == pytest.approx(expected_right / 2, rel=1e-4)  # two cells, the left one exact
    known = torch.ones(1, 4, 8)
    known[:, :, 4:] = 0.0  # the bad cell unknown: nothing left to count against
    assert float(mean_aimed_divergence(pred, truth, 1e-4, pool=4, ratio_cap=cap, known=known)) == pytest.approx(0.0)
    known[:, 2:, 4:] = 1.0  # half known: counted, over its known pixels only
    assert float(mean_aimed_divergence(pred, truth, 1e-4, pool=4, ratio_cap=cap, known=known)) == pytest.approx(
        expected_right / 2, rel=1e-4)


def test_energy_loss_adds_the_mean_aimed_term_only_when_weighted_and_the_config_checks_its_cells():
    torch = pytest.importorskip("torch")
    from image_dynamics.errors import InputError
    from image_dynamics.train.configs import get_config
    from image_dynamics.train.energy_net import energy_loss, mean_aimed_divergence

    target = torch.log(torch.rand(2, K, 8, 8) + 1e-4)
    pred = target - 2.0  # e^2 times too little everywhere
    plain, terms = energy_loss(pred, target, 1e-4, level_weight=0.25)
    assert "mean" not in terms
    weighted, terms = energy_loss(pred, target, 1e-4, level_weight=0.25, mean_weight=0.5, mean_pool=4)
    pe, te = (pred.exp() - 1e-4).clamp_min(0), (target.exp() - 1e-4).clamp_min(0)
    expected = float(mean_aimed_divergence(pe[:, 1:], te[:, 1:], 1e-4, 4, 50.0))
    assert terms["mean"] == pytest.approx(expected, rel=1e-5) and expected > 1.0
    assert float(weighted) == pytest.approx(float(plain) + 0.5 * expected, rel=1e-5)
    with pytest.raises(InputError, match="energy_mean_pool"):
        get_config(dataclasses.replace(get_config("default"), energy_mean_pool=3))
    with pytest.raises(InputError, match="energy_shard_batches"):
        get_config(dataclasses.replace(get_config("default"), energy_shard_batches=0))
