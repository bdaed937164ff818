"""Training on several datasets with weights, and the `known` mask: statistics over the mixture, batches drawn by
weight, unknown pixels out of every loss, of the statistics and of every evaluation metric."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from image_dynamics import evaluation as ev  # noqa: E402
from image_dynamics.data.normalise import NormAccumulator, compute_norm_stats, save_norm_stats  # noqa: E402
from image_dynamics.data.shards import ShardWriter, read_info  # noqa: E402
from image_dynamics.errors import InputError  # noqa: E402
from image_dynamics.train.configs import get_config  # noqa: E402
from image_dynamics.train.data import (  # noqa: E402
    ShardStream,
    loss_weights,
    open_training_data,
    parse_data_spec,
    regression_batch,
    vae_batch,
)
from image_dynamics.train.diffusion import NoiseSchedule, diffusion_loss  # noqa: E402
from image_dynamics.train.energy_net import energy_loss  # noqa: E402
from image_dynamics.train.model import load_payload  # noqa: E402
from image_dynamics.train.vae import SpectralVAE, vae_loss  # noqa: E402

W, H, K = 64, 40, 16


def make_dataset(folder: Path, count: int, seed: int, amplitude: float = 1.0, unknown_junk: bool = False) -> Path:
    """Swaying discs on noise. ``unknown_junk``: the right quarter of every sample is marked unknown and carries
    huge motion there (what a reader that honours ``known`` must never see)."""
    rng = np.random.default_rng(seed)
    freqs = np.arange(K, dtype=np.float32) * 0.2
    writer = ShardWriter(folder, W, H, freqs, 30.0, 150, "test", shard_size=8)
    yy, xx = np.mgrid[0:H, 0:W]
    for i in range(count):
        image = rng.integers(0, 60, (H, W, 3)).astype(np.uint8)
        coeffs = np.zeros((K, 2, H, W), np.complex64)
        cx, cy, r = rng.uniform(10, 34), rng.uniform(8, 32), rng.uniform(6, 12)  # left of x = 48
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        image[inside] = (200, 230, 40)
        for k in range(1, 6):
            coeffs[k, 0][inside] = amplitude * rng.uniform(0.2, 1.0) * np.exp(1j * rng.uniform(0, 6.28))
        known = None
        if unknown_junk:
            known = np.ones((H, W), np.uint8)
            known[:, 48:] = 0
            coeffs[1:, :, :, 48:] = 50.0
        writer.add(image, coeffs, i, "test", known=known)
    info = writer.close()
    save_norm_stats(compute_norm_stats(info), info.norm_stats_path)
    return folder


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mixture")
    return {"a": make_dataset(root / "a", 16, 0), "big": make_dataset(root / "big", 16, 1, amplitude=10.0),
            "junk": make_dataset(root / "junk", 16, 0, unknown_junk=True)}


def test_parse_data_spec():
    assert parse_data_spec("data/train") == (Path("data/train"), 1.0)
    assert parse_data_spec("data/train:2.5") == (Path("data/train"), 2.5)
    assert parse_data_spec("C:/odd:name") == (Path("C:/odd:name"), 1.0)  # not a number: part of the name
    with pytest.raises(InputError, match="positive number"):
        parse_data_spec("data/train:-1")


def test_unknown_pixels_are_left_out_of_the_statistics(sets):
    plain = json.loads(read_info(sets["a"]).norm_stats_path.read_text())["scales"]
    junk = json.loads(read_info(sets["junk"]).norm_stats_path.read_text())["scales"]
    # the same discs (seed 0), all left of the unknown quarter: the junk there changes nothing
    np.testing.assert_allclose(junk, plain, rtol=1e-6)
    assert max(junk) < 5  # the 50 px junk would have set the 95th percentile of every band


def test_mixture_statistics_follow_the_weights(sets):
    cfg = get_config("tiny")
    a = open_training_data(sets["a"], cfg).stats.scales
    big = open_training_data(sets["big"], cfg).stats.scales
    even = open_training_data([(sets["a"], 1.0), (sets["big"], 1.0)], cfg).stats.scales
    heavy = open_training_data([(sets["a"], 1.0), (sets["big"], 9.0)], cfg).stats.scales
    band = 2
    assert a[band] < even[band] < heavy[band] <= big[band] * 1.001
    # a mixture with one dominant source tends to its statistics
    near_a = open_training_data([(sets["a"], 1000.0), (sets["big"], 1.0)], cfg).stats.scales
    np.testing.assert_allclose(near_a[1:6], a[1:6], rtol=0.02)


def test_mixture_accumulator_weighs_by_share_not_size():
    small = NormAccumulator(1)
    small.add(np.full((1, 1, 4, 4, 4), 1.0, np.float32))
    large = NormAccumulator(1)
    large.add(np.full((9, 1, 4, 4, 4), 8.0, np.float32))
    median = NormAccumulator.mixture([small, large], [3.0, 1.0]).result(50.0).scales[0]
    assert median == pytest.approx(1.0, rel=0.01)  # 75 % of the draws come from the small set
    with pytest.raises(ValueError):
        NormAccumulator.mixture([small], [0.0])


def test_open_training_data_refuses_bad_mixtures_and_caches_statistics(sets, tmp_path):
    cfg = get_config("tiny")
    with pytest.raises(InputError, match="given twice"):
        open_training_data([sets["a"], (sets["a"], 2.0)], cfg)
    other = ShardWriter(tmp_path / "wide", 128, 80, np.arange(K, dtype=np.float32) * 0.2, 30.0, 150, "test")
    other.add(np.zeros((80, 128, 3), np.uint8), np.zeros((K, 2, 80, 128), np.complex64), 0)
    other.close()
    with pytest.raises(InputError, match="needs one grid"):
        open_training_data([sets["a"], tmp_path / "wide"], cfg)
    cache = tmp_path / "mix.json"
    data = open_training_data([(sets["a"], 1.0), (sets["big"], 3.0)], cfg, stats_cache=cache)
    assert data.weights == pytest.approx((0.25, 0.75)) and data.count == 32
    assert json.loads(cache.read_text())["stats_json"] == data.stats_json
    again = open_training_data([(sets["a"], 1.0), (sets["big"], 3.0)], cfg, stats_cache=cache)
    assert again.stats_json == data.stats_json and again.fingerprint() == data.fingerprint()
    assert open_training_data([(sets["a"], 1.0), (sets["big"], 1.0)], cfg).fingerprint() != data.fingerprint()


def test_batches_come_from_each_source_by_weight(sets):
    data = open_training_data([(sets["a"], 1.0), (sets["big"], 3.0)], get_config("tiny"))
    stream = ShardStream(data, seed=4, stage_key=5, batches_per_shard=1)
    sources = [data.shard_list[stream.shard_for(step)][0] for step in range(800)]
    assert np.mean(sources) == pytest.approx(0.75, abs=0.05)
    again = ShardStream(data, seed=4, stage_key=5, batches_per_shard=1)
    assert [again.shard_for(s) for s in range(50)] == [stream.shard_for(s) for s in range(50)]


def test_batches_carry_known_masks_flipped_with_the_data(sets):
    data = open_training_data(sets["junk"], get_config("tiny"))
    stream = ShardStream(data, seed=0, stage_key=1, batches_per_shard=2)
    images, target, known = regression_batch(stream, 3, 6, with_known=True)
    assert known.shape == (6, H, W) and known.dtype == np.float32
    # the unknown quarter is on the right, or on the left in a flipped sample
    for mask in known:
        assert (mask[:, 48:].max() == 0 and mask[:, :48].min() == 1) or (mask[:, :16].max() == 0)
    crops, masks = vae_batch(stream, 3, 8, (32, 32), K, with_known=True)
    assert masks.shape == (8, 1, 32, 32) and set(np.unique(masks)) <= {0.0, 1.0}
    _, _, moving, known_all = stream.samples(3)
    assert not (moving & ~known_all).any()  # a pixel of unknown motion is never a crop centre
    # realism changes the pictures, not the targets
    realistic, target2, _ = regression_batch(stream, 3, 6, with_known=True, realism=1.0)
    assert np.array_equal(target, target2)
    # so does re-exposing, and it leaves the camera's own draws as they were (its own stream)
    exposed, target3, known3 = regression_batch(stream, 3, 6, with_known=True, realism=1.0, exposure=1.0)
    assert np.array_equal(target, target3) and np.array_equal(known, known3)
    assert not np.array_equal(exposed, realistic)
    assert np.array_equal(regression_batch(stream, 3, 6, realism=1.0, exposure=0.0)[0], realistic)
    # zooming changes pictures, targets and masks together, from its own stream: the camera's draws are kept
    zoomed, target4, known4 = regression_batch(stream, 3, 6, with_known=True, zoom=1.0, zoom_max=3.0)
    assert not np.array_equal(target, target4) and not np.array_equal(images, zoomed)
    assert zoomed.shape == images.shape and target4.shape == target.shape and known4.shape == known.shape
    again = regression_batch(stream, 3, 6, with_known=True, zoom=1.0, zoom_max=3.0)
    assert all(np.array_equal(x, y) for x, y in zip(again, (zoomed, target4, known4)))


def test_every_loss_ignores_unknown_pixels():
    torch.manual_seed(0)
    cfg = get_config("tiny")
    vae = SpectralVAE(cfg)
    known = torch.ones(2, 1, 32, 32)
    known[:, :, :, 20:] = 0
    junk = torch.randn(2, 4, 32, 32)
    junk[:, :, :, 20:] = 100.0
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    # energy loss: target changes at unknown pixels change nothing
    pred = torch.randn(2, K, 40, 64)
    target = torch.randn(2, K, 40, 64)
    mask = torch.ones(2, 40, 64)
    mask[:, :, 50:] = 0
    changed = target.clone()
    changed[:, :, :, 50:] += 5.0
    a, _ = energy_loss(pred, target, 1e-4, 0.25, mask)
    b, _ = energy_loss(pred, changed, 1e-4, 0.25, mask)
    c, _ = energy_loss(pred, changed, 1e-4, 0.25)
    assert a.item() == pytest.approx(b.item(), rel=1e-6) and c.item() != pytest.approx(a.item(), rel=1e-3)
    # diffusion loss: cells of weight 0 do not count
    schedule = NoiseSchedule("cosine", 1000, "v")
    x0 = torch.randn(2, 3, 4, 10, 16)
    noise = torch.randn_like(x0)
    t = torch.tensor([10, 500])
    weight = torch.ones(2, 1, 1, 10, 16)
    weight[..., 12:] = 0
    x0_changed = x0.clone()
    x0_changed[..., 12:] += 3.0

    def denoise(x_t, tt):
        return x_t * 0.5

    d1 = diffusion_loss(denoise, schedule, x0, t, noise, weight)
    d2 = diffusion_loss(denoise, schedule, x0_changed, t, noise, weight)
    assert d1.item() == pytest.approx(d2.item(), rel=1e-6)
    # the VAE's reconstruction terms: the mean over known elements only (plain L1 here, beta 0)
    plain = dataclasses.replace(cfg, vae_l1_beta=0.0, vae_grad_weight=0.0, vae_kl_weight=0.0)
    with torch.no_grad():
        recon, _, _ = vae(junk, gen())
        _, metrics = vae_loss(vae, junk, plain, gen(), known)
    assert metrics["l1"] == pytest.approx((recon - junk).abs()[..., :20].mean().item(), rel=1e-5)
    assert metrics["loss"] == pytest.approx(metrics["l1"], rel=1e-6)


def test_unknown_pixels_count_at_energy_unknown_weight_when_asked():
    known = np.array([[1.0, 0.0, 0.5]], np.float32)
    assert np.allclose(loss_weights(known, 0.0), known)  # 0: left out, as before
    assert np.allclose(loss_weights(known, 0.4), [[1.0, 0.4, 0.7]])  # a zoom's half-known pixel in between
    assert loss_weights(known, 0.4).dtype == np.float32
    with pytest.raises(InputError, match="energy_unknown_weight must be in"):
        dataclasses.replace(get_config("tiny"), energy_unknown_weight=1.5).validate()
    # the energy loss sees a target change at unknown pixels once they weigh something, and more as they weigh more
    torch.manual_seed(0)
    pred, target = torch.randn(2, K, 40, 64), torch.randn(2, K, 40, 64)
    changed = target.clone()
    changed[:, :, :, 50:] += 5.0
    known = np.ones((2, 40, 64), np.float32)
    known[:, :, 50:] = 0

    def excess(weight):
        w = torch.from_numpy(loss_weights(known, weight))
        return energy_loss(pred, changed, 1e-4, 0.25, w)[0].item() - energy_loss(pred, target, 1e-4, 0.25, w)[0].item()

    assert excess(0.0) == pytest.approx(0.0, abs=1e-6)
    assert 0 < excess(0.3) < excess(1.0)


def test_stage_energy_trains_unknown_pixels_at_their_weight(sets, tmp_path, monkeypatch):
    """The energy stage passes the known masks through :func:`loss_weights` with the run's weight."""
    import image_dynamics.train.energy_net as energy_net
    import image_dynamics.train.loop as loop

    seen = []
    real = energy_net.energy_loss

    def spy(pred_log, target_log, floor, level_weight, known=None, **kw):
        seen.append(None if known is None else known.numpy().copy())
        return real(pred_log, target_log, floor, level_weight, known, **kw)

    monkeypatch.setattr(energy_net, "energy_loss", spy)  # stage 4's batch_energy_loss calls it
    cfg = dataclasses.replace(get_config("tiny"), vae_steps=1, diffusion_steps=1, energy_steps=2,
                              energy_unknown_weight=0.25)
    loop.train(cfg, sets["junk"], tmp_path / "run", device="cpu", stages=("vae", "diffusion", "energy"))
    assert len(seen) == 2 and all(w is not None for w in seen)
    assert all(set(np.unique(w)) == {0.25, 1.0} for w in seen)  # the unknown quarter at 0.25, the rest whole


def test_unknown_pixels_weigh_their_sources_weight_where_one_is_named(sets, tmp_path, monkeypatch):
    """``energy_unknown_weight_sources`` sets one folder's weight of unknown pixels; the others keep the run's."""
    import image_dynamics.train.energy_net as energy_net
    import image_dynamics.train.loop as loop

    cfg = dataclasses.replace(get_config("tiny"), energy_unknown_weight_sources=" junk2=0.5 , other=1")
    assert cfg.validate().unknown_weights_by_source() == {"junk2": 0.5, "other": 1.0}
    assert cfg.unknown_weight_for("junk2") == 0.5 and cfg.unknown_weight_for("junk") == 0.0
    for bad in ("junk2", "junk2=2", "=0.5", "junk2=half"):
        with pytest.raises(InputError, match="energy_unknown_weight_sources needs NAME=WEIGHT"):
            dataclasses.replace(cfg, energy_unknown_weight_sources=bad).validate()

    second = make_dataset(tmp_path / "junk2", 16, 1, unknown_junk=True)
    # a name that is no --data folder's is refused before anything trains, naming the folders there are
    with pytest.raises(InputError, match=r"names other, but no --data folder .* the folders are junk, junk2\."):
        loop.train(dataclasses.replace(cfg, vae_steps=1, diffusion_steps=1, energy_steps=1),
                   [(sets["junk"], 1.0), (second, 1.0)], tmp_path / "refused", device="cpu")
    assert not (tmp_path / "refused").exists()
    cfg = dataclasses.replace(cfg, energy_unknown_weight_sources="junk2=0.5")
    seen = []
    real = energy_net.energy_loss

    def spy(pred_log, target_log, floor, level_weight, known=None, **kw):
        seen.append(frozenset(np.unique(known.numpy()).tolist()))
        return real(pred_log, target_log, floor, level_weight, known, **kw)

    monkeypatch.setattr(energy_net, "energy_loss", spy)
    cfg = dataclasses.replace(cfg, vae_steps=1, diffusion_steps=1, energy_steps=8, energy_shard_batches=1)
    loop.train(cfg, [(sets["junk"], 1.0), (second, 1.0)], tmp_path / "run", device="cpu",
               stages=("vae", "diffusion", "energy"))
    # batches of junk leave its unknown quarter out (the run's 0), batches of junk2 weigh it 0.5
    assert set(seen) == {frozenset({0.0, 1.0}), frozenset({0.5, 1.0})}


def test_stage_energy_with_a_frozen_encoder_trains_the_decoder_alone(sets, tmp_path):
    """``energy_freeze_encoder`` keeps the continued network's encoder bit for bit and trains everything after it."""
    import image_dynamics.train.loop as loop
    from image_dynamics.train.model import MotionModel

    cfg = dataclasses.replace(get_config("tiny"), vae_steps=1, diffusion_steps=1, energy_steps=2)
    first = MotionModel.load(loop.train(cfg, sets["junk"], tmp_path / "first", device="cpu",
                                        stages=("vae", "diffusion", "energy")))
    # a continued model's stored hyperparameters govern its run: the option comes as --set does
    second = MotionModel.load(loop.train(cfg, sets["junk"], tmp_path / "second", steps=3, device="cpu",
                                         init_from=tmp_path / "first", stages=("energy",),
                                         settings=("energy_freeze_encoder=true",)))
    before, after = first.energy.state_dict(), second.energy.state_dict()
    encoder = [k for k in before if k.startswith("encoder.")]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)
    assert any(not torch.equal(before[k], after[k]) for k in before if not k.startswith("encoder."))


def test_eval_leaves_unknown_pixels_out_of_every_metric():
    rng = np.random.default_rng(0)
    coeffs = np.zeros((2, K, 2, 8, 8), np.complex64)
    coeffs[:, 1, 0] = rng.uniform(0, 2, (2, 8, 8))
    known = np.ones((2, 8, 8), bool)
    known[:, :, 6:] = False
    data = ev.TestSet(np.zeros((2, 8, 8, 3), np.uint8), coeffs, np.arange(2), np.arange(K) * 0.2, 30.0, 150, "t",
                      known=known)

    def wrong_where_unknown(images, seed):
        pred = coeffs.copy()
        pred[:, 1, 0, :, 6:] = 30.0 * rng.uniform(0.5, 1, (2, 8, 2))
        return pred

    result = ev.evaluate(wrong_where_unknown, data)["mean"]
    assert result["energy_corr"] == pytest.approx(1.0) and result["moving_auc"] == pytest.approx(1.0)
    assert result["band_log_power_err"] == pytest.approx(0.0, abs=1e-9)
    data.known = None
    assert ev.evaluate(wrong_where_unknown, data)["mean"]["energy_corr"] < 0.5


def test_training_on_a_mixture_with_unknown_pixels_end_to_end(sets, tmp_path, capsys):
    """Through the command line: two weighted folders, one with unknown pixels full of junk, the camera on."""
    from image_dynamics.cli import main

    out = tmp_path / "run"
    assert main(["-q", "train", "--config", "tiny", "--data", f"{sets['a']}:1", "--data", f"{sets['junk']}:2",
                 "--out", str(out), "--steps", "4", "--device", "cpu", "--photo-realism", "1"]) == 0
    payload = load_payload(out / "model.pt", "motion_model")
    mix = json.loads((out / "mixture_stats.json").read_text())["stats_json"]
    assert payload["stats_json"] == mix
    assert payload["config"]["photo_realism"] == 1.0
    assert max(json.loads(mix)["scales"]) < 5  # the junk stayed out
    assert "at weight 0.67" in payload["data_note"]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and all(np.isfinite(r["loss"]) for r in lines)
    assert main(["-q", "train", "--config", "tiny", "--data", f"{sets['a']}:0", "--out", str(tmp_path / "x")]) == 2
    assert "positive number" in capsys.readouterr().err


def test_stage_energy_keep_term_holds_a_continued_network_near_its_start(sets, tmp_path):
    """``energy_keep_weight`` adds the mean log difference from the start network's reading of the same batch: 0 at
    the first step (the network is its start), recorded in the metrics, and a run with a heavy weight ends nearer its
    start than the same run without; a model with no energy network to keep is refused."""
    import image_dynamics.train.loop as loop
    from image_dynamics.train.model import MotionModel

    cfg = dataclasses.replace(get_config("tiny"), vae_steps=1, diffusion_steps=1, energy_steps=2)
    loop.train(cfg, sets["a"], tmp_path / "first", device="cpu", stages=("vae", "diffusion", "energy"))
    start = MotionModel.load(tmp_path / "first" / "model.pt")
    images = torch.rand(2, 3, cfg.height, cfg.width)

    def moved(name: str, weight: float) -> float:
        out = loop.train(cfg, sets["a"], tmp_path / name, steps=12, device="cpu", init_from=tmp_path / "first",
                         stages=("energy",), settings=(f"energy_keep_weight={weight}", "energy_lr=3e-3",
                                                       "energy_ema_decay=0"))
        with torch.no_grad():
            return float((MotionModel.load(out).energy(images) - start.energy(images)).abs().mean())

    free, kept = moved("free", 0), moved("kept", 50)
    assert kept < 0.3 * free
    rows = [json.loads(line) for line in (tmp_path / "kept" / "metrics.jsonl").read_text().splitlines()]
    keeps = [r["keep"] for r in rows if r.get("stage") == "energy"]
    assert len(keeps) == 12 and keeps[0] == pytest.approx(0.0, abs=1e-6) and max(keeps) > 0
    with pytest.raises(InputError, match="energy_keep_weight keeps a continued energy network"):
        loop.train(cfg, sets["a"], tmp_path / "no_start", device="cpu", stages=("vae", "diffusion", "energy"),
                   settings=("energy_keep_weight=1",))
