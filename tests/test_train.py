"""Torch side of the motion model: network shapes, VAE learning, DDIM determinism, checkpoints and resume, ONNX export.

Everything runs the ``tiny`` configuration (64x40 images, x4 latents) on a small dataset made here: ellipses that either
sway (yellow-green, amplitude growing towards their top, a Gaussian spectrum around a random frequency) or stay still
(grey), on a dark noisy background.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from image_dynamics.data.normalise import compute_norm_stats, save_norm_stats  # noqa: E402
from image_dynamics.data.shards import ShardWriter, load_all, read_info  # noqa: E402
from image_dynamics.errors import CancelledError, InputError, OutputError  # noqa: E402
from image_dynamics.model.package import shipped_models_dir  # noqa: E402
from image_dynamics.train.configs import TrainConfig, config_names, get_config, scale_batches  # noqa: E402
from image_dynamics.train.diffusion import (  # noqa: E402
    NoiseSchedule,
    ddim_sample,
    ddim_sigma,
    ddim_step,
    ddim_timesteps,
    split_prediction,
)
from image_dynamics.train.image_encoder import ImageEncoder  # noqa: E402
from image_dynamics.train.loop import (  # noqa: E402
    load_motion_model,
    model_from_checkpoint,
    plan_stages,
    train,
    train_regression,
)
from image_dynamics.train.model import MotionModel, export_graphs  # noqa: E402
from image_dynamics.train.regression import RegressionModel, RegressionUNet  # noqa: E402
from image_dynamics.train.unet import LatentUNet  # noqa: E402
from image_dynamics.train.vae import SpectralVAE, vae_loss  # noqa: E402

W, H, K = 64, 40, 16


def make_dataset(folder: Path, count: int, seed: int = 0, width: int = W, height: int = H) -> Path:
    """Write a small learnable dataset (see the module docstring) with its normalisation statistics."""
    rng = np.random.default_rng(seed)
    freqs = np.arange(K, dtype=np.float32) * 0.2
    writer = ShardWriter(folder, width, height, freqs, 30.0, 150, "test", shard_size=16)
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(count):
        image = (rng.integers(0, 60, 3)[None, None] + rng.integers(0, 20, (height, width, 3))).astype(np.uint8)
        coeffs = np.zeros((K, 2, height, width), np.complex64)
        for _ in range(rng.integers(2, 5)):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            rx, ry = rng.uniform(6, 20) * width / W, rng.uniform(5, 15) * height / H
            inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
            if rng.random() < 0.6:
                image[inside] = (rng.integers(150, 230), rng.integers(180, 250), rng.integers(0, 80))
                f0, a0 = rng.uniform(0.4, 2.0), rng.uniform(0.5, 4.0)
                spectrum = a0 * np.exp(-0.5 * ((freqs - f0) / 0.4) ** 2)
                gain = np.clip((cy + ry - yy[inside]) / (2 * ry), 0, 1)
                for k in range(1, K):
                    phase = rng.uniform(0, 2 * np.pi) + 0.1 * xx[inside]
                    coeffs[k, 0][inside] = spectrum[k] * gain * np.exp(1j * phase)
                    coeffs[k, 1][inside] = 0.3 * spectrum[k] * gain * np.exp(1j * (phase + 1.0))
            else:
                image[inside] = rng.integers(90, 140)
                coeffs[:, :, inside] = 0
        writer.add(image, coeffs, i, "test")
    info = writer.close()
    save_norm_stats(compute_norm_stats(info), info.norm_stats_path)
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("train_data") / "data", 32)


@pytest.fixture(scope="module")
def stats_json(dataset: Path) -> str:
    return read_info(dataset).norm_stats_path.read_text()


@pytest.fixture(autouse=True)
def _two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def tiny_model(stats_json: str, seed: int = 0, config: TrainConfig | None = None) -> MotionModel:
    torch.manual_seed(seed)
    return MotionModel(config or get_config("tiny"), stats_json).eval()


def patched_config() -> TrainConfig:
    """``tiny`` with the default configuration's patchified U-Net (p = 2) and four encoder levels."""
    return dataclasses.replace(get_config("tiny"), name="tiny-patch2", height=48, unet_patch=2,
                               encoder_channels=(16, 24, 32, 48), regression_channels=(16, 24, 32, 48),
                               energy_channels=(16, 24, 32, 48)).validate()


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ----------------------------------------------------------------------------------------------------------------------
# configurations


def test_configs_are_consistent_and_named():
    assert config_names() == ("tiny", "default", "large")
    for name in config_names():
        cfg = get_config(name)
        assert cfg.name == name and cfg.num_bands == 16 and cfg.latent_channels == 4
        assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    default = get_config("default")
    assert (default.width, default.height) == (256, 160)
    assert default.latent_size == (64, 40) and default.feature_stride == 8
    with pytest.raises(InputError, match="unknown model configuration 'huge'.*tiny, default, large"):
        get_config("huge")
    bad = dataclasses.replace(get_config("tiny"), width=60)
    with pytest.raises(InputError, match="60x40 must be a multiple of 8"):
        bad.validate()


def test_plan_stages_splits_steps_in_proportion():
    cfg = dataclasses.replace(get_config("tiny"), vae_steps=150, diffusion_steps=250, attention_steps=40)
    assert plan_stages(cfg, ("vae", "diffusion", "freq_attention"), None) == {"vae": 150, "diffusion": 250,
                                                                               "freq_attention": 40}
    plan = plan_stages(cfg, ("vae", "diffusion", "freq_attention"), 44)
    assert plan == {"vae": 15, "diffusion": 25, "freq_attention": 4}
    plan = plan_stages(cfg, ("vae", "diffusion", "freq_attention"), 9)  # 3.07 / 5.11 / 0.82, rounded down to 3/5/1
    assert plan == {"vae": 3, "diffusion": 5, "freq_attention": 1}
    plan = plan_stages(cfg, ("vae", "diffusion", "freq_attention"), 3)
    assert plan == {"vae": 1, "diffusion": 1, "freq_attention": 1}
    with pytest.raises(InputError, match="at least 3"):
        plan_stages(cfg, ("vae", "diffusion", "freq_attention"), 2)


# ----------------------------------------------------------------------------------------------------------------------
# networks


def test_shapes_through_every_network():
    cfg = get_config("tiny")
    torch.manual_seed(0)
    vae, encoder = SpectralVAE(cfg), ImageEncoder(cfg)
    unet = LatentUNet(cfg, encoder.pyramid_channels, encoder.global_channels)
    slices = torch.randn(5, 4, H, W)
    mean, logvar = vae.encode(slices)
    assert mean.shape == logvar.shape == (5, 4, H // 4, W // 4)
    assert vae.decode(mean).shape == (5, 4, H, W)

    image = torch.rand(2, 3, H, W)
    pyramid, global_feat = encoder(image)
    assert [tuple(p.shape) for p in pyramid] == [(2, 32, 10, 16), (2, 48, 5, 8)]
    assert global_feat.shape == (2, 48)

    # stage 1: a subset of bands per image, one time per slice
    latents = torch.randn(2, 3, 4, 10, 16)
    bands = torch.tensor([[0, 5, 9], [15, 2, 7]])
    out = unet(latents, torch.tensor([[10.0, 500.0, 999.0], [0.0, 3.0, 4.0]]), pyramid, global_feat, bands)
    assert out.shape == latents.shape
    # sampling: all K bands, one time per image, frequency attention on
    unet.set_frequency_attention(True)
    full = torch.randn(2, K, 4, 10, 16)
    assert unet(full, torch.tensor([999.0, 10.0]), pyramid, global_feat).shape == full.shape

    assert RegressionUNet(cfg)(image).shape == (2, K, 4, H, W)

    # a patchified U-Net (p = 2) runs at half the latent grid and still returns full latents
    cfg2 = patched_config()
    encoder2 = ImageEncoder(cfg2)
    unet2 = LatentUNet(cfg2, encoder2.pyramid_channels, encoder2.global_channels)
    pyramid2, global2 = encoder2(torch.rand(2, 3, 48, W))
    assert [tuple(p.shape) for p in pyramid2] == [(2, 32, 6, 8), (2, 48, 3, 4)]
    latents2 = torch.randn(2, K, 4, 12, 16)
    assert unet2(latents2, torch.tensor([5.0, 50.0]), pyramid2, global2).shape == latents2.shape


def test_band_slices_are_processed_independently_without_frequency_attention():
    """Per-frequency U-Net: a slice's output depends on its own latent and band, not on the other bands' latents."""
    cfg = get_config("tiny")
    torch.manual_seed(1)
    encoder = ImageEncoder(cfg)
    unet = LatentUNet(cfg, encoder.pyramid_channels, encoder.global_channels).eval()
    pyramid, global_feat = encoder(torch.rand(1, 3, H, W))
    x = torch.randn(1, K, 4, 10, 16)
    t = torch.tensor([300.0])
    with torch.no_grad():
        ref = unet(x, t, pyramid, global_feat)
        y = x.clone()
        y[:, 5:] = torch.randn_like(y[:, 5:])
        changed = unet(y, t, pyramid, global_feat)
        # the same slice given as band 3 alone, through the subset path
        alone = unet(x[:, 3:4], t, pyramid, global_feat, torch.tensor([[3]]))
    torch.testing.assert_close(changed[:, :5], ref[:, :5], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(changed[:, 5:], ref[:, 5:])
    torch.testing.assert_close(alone[:, 0], ref[:, 3], rtol=1e-5, atol=1e-5)


def test_frequency_attention_is_identity_at_init_and_couples_bands_once_trained():
    cfg = get_config("tiny")
    torch.manual_seed(2)
    encoder = ImageEncoder(cfg)
    unet = LatentUNet(cfg, encoder.pyramid_channels, encoder.global_channels).eval()
    assert not unet.frequency_attention_enabled
    pyramid, global_feat = encoder(torch.rand(2, 3, H, W))
    x, t = torch.randn(2, K, 4, 10, 16), torch.tensor([100.0, 800.0])
    with torch.no_grad():
        bypassed = unet(x, t, pyramid, global_feat)
        unet.set_frequency_attention(True)
        enabled = unet(x, t, pyramid, global_feat)
    torch.testing.assert_close(enabled, bypassed, rtol=0, atol=0)
    # once its output projections are non-zero, changing one band changes the others' outputs
    with torch.no_grad():
        for layer in unet.frequency_attention_layers():
            layer.attn.out.weight.normal_(0, 0.5)
        y = x.clone()
        y[:, 7] += 1.0
        a, b = unet(x, t, pyramid, global_feat), unet(y, t, pyramid, global_feat)
    assert (a[:, :7] - b[:, :7]).abs().max() > 1e-3


def test_vae_reconstruction_loss_decreases_over_30_steps(dataset: Path):
    from image_dynamics.train.data import ShardStream, open_training_data, vae_batch

    cfg = get_config("tiny")
    data = open_training_data(dataset, cfg)
    stream = ShardStream(data, seed=0, stage_key=1, batches_per_shard=4)
    torch.manual_seed(0)
    vae = SpectralVAE(cfg)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr)
    fixed = torch.from_numpy(vae_batch(stream, 1000, 32, cfg.vae_crop, K))  # a held-out batch
    with torch.no_grad():
        before = (vae.decode(vae.encode(fixed)[0]) - fixed).abs().mean().item()
    for i in range(30):
        loss, _ = vae_loss(vae, torch.from_numpy(vae_batch(stream, i, 32, cfg.vae_crop, K)), cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = (vae.decode(vae.encode(fixed)[0]) - fixed).abs().mean().item()
    assert after < 0.75 * before


# ----------------------------------------------------------------------------------------------------------------------
# diffusion


def test_ddim_timesteps_and_schedule_are_explicit():
    np.testing.assert_array_equal(ddim_timesteps(1000, 20), np.arange(999, 0, -50))
    np.testing.assert_array_equal(ddim_timesteps(1000, 3), [999, 666, 332])
    with pytest.raises(InputError, match="between 1 and 1000"):
        ddim_timesteps(1000, 0)
    sched = NoiseSchedule("cosine", 1000, "v")
    a = sched.alphas_cumprod
    assert a.dtype == np.float64 and a.shape == (1000,)
    assert np.all(np.diff(a) < 0) and 0.999 < a[0] < 1 and a[-1] < 1e-6
    # v-prediction round trip: the true v recovers x0 and eps exactly
    x0, eps = torch.randn(3, 4), torch.randn(3, 4)
    t = torch.tensor([10, 500, 990])
    xt = sched.add_noise(x0, eps, t)
    v = sched.target(x0, eps, t)
    for i in range(3):
        rx0, reps = split_prediction(xt[i], v[i], float(a[t[i]]), "v")
        torch.testing.assert_close(rx0, x0[i], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(reps, eps[i], rtol=1e-4, atol=1e-4)


def test_ddim_step_is_the_same_formula_in_numpy_and_torch():
    rng = np.random.default_rng(0)
    x0, eps, noise = (rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3))
    sigma = ddim_sigma(0.3, 0.6, eta=0.7)
    expected = np.sqrt(0.6) * x0 + np.sqrt(1 - 0.6 - sigma ** 2) * eps + sigma * noise
    np.testing.assert_allclose(ddim_step(x0, eps, 0.6, sigma, noise), expected, rtol=1e-6)
    got = ddim_step(torch.from_numpy(x0), torch.from_numpy(eps), 0.6, sigma, torch.from_numpy(noise))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    assert ddim_sigma(0.3, 0.6, eta=0.0) == 0.0


def test_ddim_sampler_matches_a_plain_numpy_loop():
    """The documented recipe (numpy noise per seed, trailing timesteps, v-split, DDIM step) reproduces ddim_sample."""
    sched = NoiseSchedule("cosine", 1000, "v")
    shape = (2, 1, 3, 3)

    def denoise(x, t, conditional):  # a fixed affine "network"
        return 0.5 * x - 0.001 * t.view(-1, 1, 1, 1, 1)

    got = ddim_sample(denoise, sched, shape, seeds=[5, 6], steps=4, eta=0.5).numpy()
    rngs = [np.random.default_rng(5), np.random.default_rng(6)]
    x = np.stack([r.standard_normal(shape, dtype=np.float32) for r in rngs])
    ts = ddim_timesteps(1000, 4)
    for i, t in enumerate(ts):
        a = sched.alphas_cumprod[t]
        a_prev = sched.alphas_cumprod[ts[i + 1]] if i + 1 < len(ts) else 1.0
        v = 0.5 * x - 0.001 * t
        x0, eps = np.sqrt(a) * x - np.sqrt(1 - a) * v, np.sqrt(1 - a) * x + np.sqrt(a) * v
        sigma = 0.5 * np.sqrt((1 - a_prev) / (1 - a)) * np.sqrt(1 - a / a_prev)
        noise = np.stack([r.standard_normal(shape, dtype=np.float32) for r in rngs])
        x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - sigma ** 2) * eps + sigma * noise
    np.testing.assert_allclose(got, x, rtol=1e-4, atol=1e-5)


def test_predict_is_deterministic_under_a_seed_and_seeds_differ(stats_json: str):
    model = tiny_model(stats_json)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (2, H, W, 3), dtype=np.uint8)
    a = model.predict(images, seed=3, steps=4)
    b = model.predict(images, seed=3, steps=4)
    c = model.predict(images, seed=4, steps=4)
    assert a.dtype == np.complex64 and a.shape == (2, K, 2, H, W)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4
    # each image's result depends only on (image, seed): alone or in a batch, the same
    np.testing.assert_allclose(model.predict(images[1], seed=3, steps=4)[0], a[1], rtol=1e-4, atol=1e-5)
    # stochastic DDIM (eta > 0) and guidance are deterministic too
    e1 = model.predict(images, seed=3, steps=3, eta=1.0, guidance=2.0)
    np.testing.assert_array_equal(e1, model.predict(images, seed=3, steps=3, eta=1.0, guidance=2.0))
    assert np.abs(e1 - model.predict(images, seed=3, steps=3)).max() > 1e-4


def test_predict_resizes_in_and_out_keeping_pixel_units(stats_json: str):
    """An image twice the model size gives the model-size motion, upsampled and doubled (pixels of the output)."""
    import cv2

    model = tiny_model(stats_json)
    small = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    large = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)  # area-downsizes back to `small` exactly
    out_small = model.predict(small, seed=0, steps=2)[0]
    out_large = model.predict(large, seed=0, steps=2)[0]
    assert out_large.shape == (K, 2, 2 * H, 2 * W)
    for part in (np.real, np.imag):
        maps = part(out_small).reshape(2 * K, H, W).transpose(1, 2, 0)
        expected = cv2.resize(maps, (2 * W, 2 * H), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1) * 2
        np.testing.assert_allclose(part(out_large).reshape(2 * K, 2 * H, 2 * W), expected, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------------------
# training loop


def short_config(**changes) -> TrainConfig:
    """``tiny`` with the stage proportions the training tests count on (steps=10 -> 3 VAE, 5 diffusion, 1 attention,
    1 energy; steps=7 continuing a model -> 5 diffusion, 1 attention, 1 energy)."""
    return dataclasses.replace(get_config("tiny"), vae_steps=150, diffusion_steps=250, attention_steps=40,
                               energy_steps=60, **changes)


def test_train_resume_continues_exactly_where_it_stopped(dataset: Path, tmp_path: Path):
    cfg = short_config()
    straight = tmp_path / "straight"
    model_path = train(cfg, dataset, straight, steps=10, seed=1, device="cpu")
    full = read_metrics(straight / "metrics.jsonl")
    assert [m["step"] for m in full] == list(range(1, 11))
    assert [m["stage"] for m in full] == ["vae"] * 3 + ["diffusion"] * 5 + ["freq_attention", "energy"]
    assert model_path == straight / "model.pt" and model_path.exists()

    # the same run, cancelled during stage 2 and resumed
    stopped = tmp_path / "stopped"
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 5  # five steps run, the sixth is cancelled

    with pytest.raises(CancelledError, match="step 5 .*resume"):
        train(cfg, dataset, stopped, steps=10, seed=1, device="cpu", cancel=cancel)
    assert [m["step"] for m in read_metrics(stopped / "metrics.jsonl")] == [1, 2, 3, 4, 5]
    seen = []
    train(cfg, dataset, stopped, steps=10, seed=1, device="cpu", progress=seen.append)
    resumed = read_metrics(stopped / "metrics.jsonl")
    assert [m["step"] for m in resumed] == list(range(1, 11))
    assert [p.step for p in seen if p.stage != "latent_cache"] == [6, 7, 8, 9, 10]
    np.testing.assert_allclose([m["loss"] for m in resumed], [m["loss"] for m in full], rtol=1e-4)

    # the trained model loads with its facts and frequency attention on
    model = MotionModel.load(stopped / "model.pt")
    assert model.config.name == "tiny" and model.unet.frequency_attention_enabled and model.energy is not None
    assert model.coeff_grid == (W, H) and len(model.freqs_hz) == K
    assert model.predict(np.zeros((H, W, 3), np.uint8), seed=0, steps=2).shape == (1, K, 2, H, W)
    # a finished run asked again does nothing more
    train("tiny", dataset, stopped, steps=10, device="cpu")
    assert len(read_metrics(stopped / "metrics.jsonl")) == 10
    assert not (stopped / "latents.npz").exists()  # the finished run dropped its latent cache


def test_a_new_run_continues_a_trained_model_keeping_its_vae(dataset: Path, tmp_path: Path):
    cfg = short_config()
    first = train(cfg, dataset, tmp_path / "first", steps=10, seed=1, device="cpu")
    base = MotionModel.load(first)
    cont = tmp_path / "cont"
    seen = []
    model_path = train(cfg, dataset, cont, steps=7, device="cpu", init_from=first.parent, progress=seen.append)
    log = read_metrics(cont / "metrics.jsonl")
    assert [m["stage"] for m in log] == ["diffusion"] * 5 + ["freq_attention", "energy"]  # no VAE stage
    assert [m["step"] for m in log] == list(range(1, 8))
    assert {p.stage for p in seen} <= {"latent_cache", "diffusion", "freq_attention", "energy"}
    model = MotionModel.load(model_path)
    for key, value in base.vae.state_dict().items():
        torch.testing.assert_close(model.vae.state_dict()[key], value, rtol=0, atol=0)
    moved = [not torch.equal(model.unet.state_dict()[k], v) for k, v in base.unet.state_dict().items()]
    assert any(moved)  # stages 2 and 3 trained on from the model's weights

    # cancelled mid-way, the run resumes from its own checkpoint (init_from is not needed again) and ends the same
    stopped = tmp_path / "stopped"
    calls = []
    with pytest.raises(CancelledError):
        train(cfg, dataset, stopped, steps=7, device="cpu", init_from=first,
              cancel=lambda: calls.append(1) or len(calls) > 3)  # three steps run, the fourth is cancelled
    checkpoint = torch.load(stopped / "checkpoint.pt", weights_only=True)
    assert checkpoint["plan"] == {"vae": 0, "diffusion": 5, "freq_attention": 1, "energy": 1}
    assert checkpoint["init_from"] == str(first)
    train(cfg, dataset, stopped, device="cpu")
    resumed = read_metrics(stopped / "metrics.jsonl")
    assert [m["step"] for m in resumed] == list(range(1, 8))
    np.testing.assert_allclose([m["loss"] for m in resumed], [m["loss"] for m in log], rtol=1e-4)


def test_stage_energy_adds_a_motion_energy_network_to_a_model_trained_without_one(dataset: Path, tmp_path: Path):
    cfg = short_config()
    first = train(cfg, dataset, tmp_path / "first", steps=9, seed=1, device="cpu",
                  stages=("vae", "diffusion", "freq_attention"))
    base = MotionModel.load(first)
    assert base.energy is None and not base.facts()["energy_net"]
    assert [m["stage"] for m in read_metrics(tmp_path / "first" / "metrics.jsonl")][-1] == "freq_attention"
    model_path = train(cfg, dataset, tmp_path / "energy", device="cpu", init_from=first, stages=("energy",))
    log = read_metrics(tmp_path / "energy" / "metrics.jsonl")
    assert [m["stage"] for m in log] == ["energy"] * cfg.energy_steps
    assert {"l1", "corr", "level", "lr"} <= set(log[0])
    assert np.mean([m["loss"] for m in log[-10:]]) < np.mean([m["loss"] for m in log[:10]])
    model = MotionModel.load(model_path)
    assert model.energy is not None
    assert model.unet.frequency_attention_enabled  # stage 3 was not run again, yet its attention stays on
    calls = []  # the same run cut during stage 4 and resumed keeps it on too
    with pytest.raises(CancelledError):
        train(cfg, dataset, tmp_path / "cut", device="cpu", init_from=first, stages=("energy",),
              cancel=lambda: calls.append(1) or len(calls) > 3)
    resumed = MotionModel.load(train(cfg, dataset, tmp_path / "cut", device="cpu"))
    assert resumed.unet.frequency_attention_enabled and resumed.energy is not None
    # the energy network is written with its EMA weights, and a cut run resumes its average
    checkpoint = torch.load(tmp_path / "energy" / "checkpoint.pt", weights_only=True)
    shadow, live = checkpoint["energy_ema"]["shadow"], checkpoint["model"]
    for key, value in model.energy.state_dict().items():
        torch.testing.assert_close(value, shadow[key], rtol=0, atol=0)
        torch.testing.assert_close(resumed.energy.state_dict()[key], value, rtol=1e-3, atol=1e-5)
    assert any(not torch.equal(shadow[k], live[f"energy.{k}"]) for k in shadow)
    # a checkpoint from before the energy EMA (no average saved) resumes, its average restarting from the live weights
    old_calls = []
    with pytest.raises(CancelledError):
        train(cfg, dataset, tmp_path / "old", device="cpu", init_from=first, stages=("energy",),
              cancel=lambda: old_calls.append(1) or len(old_calls) > 3)
    old = torch.load(tmp_path / "old" / "checkpoint.pt", weights_only=True)
    del old["energy_ema"]
    torch.save(old, tmp_path / "old" / "checkpoint.pt")
    assert MotionModel.load(train(cfg, dataset, tmp_path / "old", device="cpu")).energy is not None
    for key, value in base.state_dict().items():  # everything else is the model it continued
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)
    moved = [not torch.equal(model.energy.encoder.state_dict()[k], v) for k, v in base.encoder.state_dict().items()]
    assert any(moved)  # its encoder started as the model's and trained on
    image = load_all(read_info(dataset))["images"][:2]
    rescaled = model.predict(image, seed=3, steps=2)
    alone = model.predict(image, seed=3, steps=2, use_energy_net=False)
    assert not np.allclose(rescaled, alone)
    # one gain per pixel: the ratio of any two bands of a pixel is the sample's (where the gain is not capped; above
    # the cap the package's coherent fill adds motion, tested in test_energy_net.py)
    k1, k2 = 2, 5
    gain2 = (np.abs(rescaled[:, 1:]) ** 2).sum(axis=(1, 2)) / np.maximum((np.abs(alone[:, 1:]) ** 2).sum(axis=(1, 2)),
                                                                        1e-20)
    uncapped = gain2 < 16.0 * (1 - 1e-3)
    assert uncapped.mean() > 0.2
    both = (np.abs(alone[:, k1, 0]) > 1e-3) & (np.abs(alone[:, k2, 0]) > 1e-3) & uncapped
    np.testing.assert_allclose(rescaled[:, k1, 0][both] / rescaled[:, k2, 0][both],
                               alone[:, k1, 0][both] / alone[:, k2, 0][both], rtol=1e-3)


def test_stage_choices_that_cannot_make_a_model_are_refused(dataset: Path, tmp_path: Path, capsys):
    cfg = short_config()
    with pytest.raises(InputError, match="unknown training stage.*polish.*choose from vae, diffusion"):
        train(cfg, dataset, tmp_path / "a", steps=4, device="cpu", stages=("diffusion", "polish"))
    with pytest.raises(InputError, match="new model needs the 'vae' and 'diffusion' stages"):
        train(cfg, dataset, tmp_path / "b", steps=4, device="cpu", stages=("energy",))
    first = train(cfg, dataset, tmp_path / "first", steps=10, device="cpu")
    with pytest.raises(InputError, match="keeps its VAE; leave 'vae' out"):
        train(cfg, dataset, tmp_path / "c", steps=4, device="cpu", init_from=first, stages=("vae", "energy"))
    assert not any((tmp_path / name).exists() for name in "abc")
    from image_dynamics.cli import main

    code = main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "d"), "--stages",
                 "energy"])
    err = capsys.readouterr().err
    assert code == 2 and "needs the 'vae' and 'diffusion' stages" in err and "Traceback" not in err


def test_continuing_a_model_of_another_config_or_data_is_refused(dataset: Path, tmp_path: Path):
    first = train(short_config(), dataset, tmp_path / "first", steps=5, device="cpu")
    with pytest.raises(InputError, match=r"trained with config 'tiny', not 'default'.*--config tiny"):
        train("default", dataset, tmp_path / "a", device="cpu", init_from=first)
    with pytest.raises(InputError, match="not a motion model checkpoint"):
        train("tiny", dataset, tmp_path / "c", steps=3, device="cpu", init_from=first.parent / "checkpoint.pt")
    with pytest.raises(InputError, match="not found"):
        train("tiny", dataset, tmp_path / "d", steps=3, device="cpu", init_from=tmp_path / "missing.pt")
    assert not any((tmp_path / name).exists() for name in "acd")  # refused runs leave no empty folders


def test_batch_multiplier_scales_a_new_runs_batches_and_a_resumed_run_keeps_them(dataset: Path, tmp_path: Path,
                                                                                 monkeypatch):
    cfg = short_config()
    assert scale_batches(cfg, 1) is cfg
    tripled = scale_batches(cfg, 3)
    assert (tripled.vae_batch, tripled.diffusion_batch, tripled.attention_batch, tripled.regression_batch) == (
        3 * cfg.vae_batch, 3 * cfg.diffusion_batch, 3 * cfg.attention_batch, 3 * cfg.regression_batch)
    assert (tripled.diffusion_lr, tripled.diffusion_steps, tripled.name) == (cfg.diffusion_lr, cfg.diffusion_steps,
                                                                             cfg.name)
    for bad in (0, -2, 1.5):
        with pytest.raises(InputError, match="batch multiplier must be a whole number"):
            scale_batches(cfg, bad)

    import image_dynamics.train.loop as loop
    batches = []
    real_loss = loop.diffusion_loss

    def counting_loss(denoise, schedule, x0, *args):
        batches.append(tuple(x0.shape[:2]))
        return real_loss(denoise, schedule, x0, *args)

    monkeypatch.setattr(loop, "diffusion_loss", counting_loss)
    first = train(cfg, dataset, tmp_path / "first", steps=10, seed=1, device="cpu")
    run = tmp_path / "run"
    calls = []
    with pytest.raises(CancelledError):
        train(cfg, dataset, run, steps=7, device="cpu", init_from=first, batch_multiplier=2,
              cancel=lambda: calls.append(1) or len(calls) > 2)  # two steps run, the third is cancelled
    stored = torch.load(run / "checkpoint.pt", weights_only=True)["config"]
    assert (stored["diffusion_batch"], stored["attention_batch"], stored["energy_batch"]) == (
        2 * cfg.diffusion_batch, 2 * cfg.attention_batch, 2 * cfg.energy_batch)
    batches.clear()
    train(cfg, dataset, run, device="cpu")  # resumed without the multiplier: the run keeps its batches
    per_frequency = (2 * cfg.diffusion_batch, cfg.bands_per_image)
    assert batches == [per_frequency] * 3 + [(2 * cfg.attention_batch, K)]
    assert MotionModel.load(run / "model.pt").config.diffusion_batch == 2 * cfg.diffusion_batch


def test_cli_refuses_a_batch_multiplier_below_one_before_writing_anything(dataset: Path, tmp_path: Path, capsys):
    from image_dynamics.cli import main

    code = main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "run"),
                 "--batch-multiplier", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "batch multiplier must be a whole number of at least 1" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def _copy_with_scaled_statistics(dataset: Path, folder: Path, factor: float) -> Path:
    """The dataset's files in ``folder`` with every normalisation scale times ``factor``."""
    import shutil

    shutil.copytree(dataset, folder)
    stats_path = read_info(folder).norm_stats_path
    doc = json.loads(stats_path.read_text())
    doc["scales"] = [s * factor for s in doc["scales"]]
    stats_path.write_text(json.dumps(doc, indent=1))
    return folder


def test_the_same_data_regenerated_with_float_rounding_differences_still_continues_a_model(dataset: Path,
                                                                                           tmp_path: Path):
    cfg = short_config()
    first = train(cfg, dataset, tmp_path / "first", steps=5, device="cpu")
    model_stats = MotionModel.load(first).stats_json
    # another numpy / OpenCV regenerates the same scenes with scales differing in the 4th digit
    rounded = _copy_with_scaled_statistics(dataset, tmp_path / "rounded", 1.0005)
    calls = []
    with pytest.raises(CancelledError):
        train(cfg, rounded, tmp_path / "cont", steps=6, device="cpu", init_from=first,
              cancel=lambda: calls.append(1) or len(calls) > 2)
    assert torch.load(tmp_path / "cont" / "checkpoint.pt", weights_only=True)["stats_json"] == model_stats
    model_path = train(cfg, rounded, tmp_path / "cont", device="cpu")  # resumes on the rounded copy too
    assert MotionModel.load(model_path).stats_json == model_stats  # the model keeps its own statistics
    # a resumed run of a new model refuses data whose statistics changed under it
    other = _copy_with_scaled_statistics(dataset, tmp_path / "other", 1.01)
    with pytest.raises(InputError, match="other normalisation statistics"):
        train(cfg, other, tmp_path / "first", steps=9, device="cpu")


def test_a_model_continued_on_other_data_keeps_its_own_statistics(dataset: Path, tmp_path: Path):
    cfg = short_config()
    first = train(cfg, dataset, tmp_path / "first", steps=5, device="cpu")
    model_stats = MotionModel.load(first).stats_json
    other = _copy_with_scaled_statistics(dataset, tmp_path / "other", 1.5)  # data that moves more: other scales
    assert read_info(other).norm_stats_path.read_text() != model_stats
    calls = []
    with pytest.raises(CancelledError):
        train(cfg, other, tmp_path / "cont", steps=6, device="cpu", init_from=first,
              cancel=lambda: calls.append(1) or len(calls) > 2)
    model_path = train(cfg, other, tmp_path / "cont", device="cpu")  # and resumes on it
    assert MotionModel.load(model_path).stats_json == model_stats
    # coefficients of other bands cannot be described by the model's statistics
    doc = json.loads(read_info(other).norm_stats_path.read_text())
    doc["freqs_hz"] = [f * 2 for f in doc["freqs_hz"]]
    read_info(other).norm_stats_path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="other bands"):
        train(cfg, other, tmp_path / "new", steps=6, device="cpu", init_from=first)


def test_the_model_of_a_checkpoint_is_the_model_the_run_writes(dataset: Path, tmp_path: Path):
    cfg = short_config()
    finished = train(cfg, dataset, tmp_path / "done", steps=10, seed=1, device="cpu")
    written, rebuilt = MotionModel.load(finished), model_from_checkpoint(tmp_path / "done" / "checkpoint.pt")
    assert rebuilt.unet.frequency_attention_enabled
    assert rebuilt.state_dict().keys() == written.state_dict().keys()
    for key, value in written.state_dict().items():
        torch.testing.assert_close(rebuilt.state_dict()[key], value, rtol=0, atol=0)
    # stopped during stage 2: its EMA weights, frequency attention still off
    calls = []
    with pytest.raises(CancelledError):
        train(cfg, dataset, tmp_path / "cut", steps=10, seed=1, device="cpu",
              cancel=lambda: calls.append(1) or len(calls) > 5)
    cut = model_from_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert not cut.unet.frequency_attention_enabled
    assert cut.predict(np.zeros((H, W, 3), np.uint8), seed=0, steps=2).shape == (1, K, 2, H, W)
    train_regression(cfg, dataset, tmp_path / "reg", steps=2, device="cpu")
    with pytest.raises(InputError, match="regression run, not a motion model run"):
        model_from_checkpoint(tmp_path / "reg" / "regression_checkpoint.pt")
    with pytest.raises(InputError, match="not a training run checkpoint .found 'motion_model'"):
        model_from_checkpoint(finished)


def test_a_crash_loses_only_the_steps_since_the_last_checkpoint(dataset: Path, tmp_path: Path):
    cfg = short_config(checkpoint_every=3)  # steps=8 -> 2 VAE, 5 diffusion, 1 attention
    run = tmp_path / "run"

    def crash_at_step_5(progress) -> None:
        if progress.step == 5:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        train(cfg, dataset, run, steps=8, device="cpu", progress=crash_at_step_5)
    # checkpoints: step 2 (end of the VAE stage), step 3 (every 3 steps); steps 4-5 were logged but not saved
    assert len(read_metrics(run / "metrics.jsonl")) == 5
    seen = []
    train(cfg, dataset, run, steps=8, device="cpu", progress=seen.append)
    assert [p.step for p in seen if p.stage != "latent_cache"] == [4, 5, 6, 7, 8]
    assert [m["step"] for m in read_metrics(run / "metrics.jsonl")] == list(range(1, 9))


def test_resuming_with_another_config_is_refused(dataset: Path, tmp_path: Path):
    run = tmp_path / "run"
    with pytest.raises(CancelledError):
        train("tiny", dataset, run, steps=6, device="cpu", cancel=lambda: True)
    with pytest.raises(InputError, match=r"trained with config 'tiny', not 'default'.*--config tiny"):
        train("default", dataset, run, device="cpu")
    with pytest.raises(OutputError, match="already here"):
        train("tiny", dataset, run, device="cpu", resume=False)


def test_data_that_does_not_fit_the_config_is_refused(tmp_path: Path):
    folder = tmp_path / "square"
    make_dataset(folder, 2, width=48, height=48)
    with pytest.raises(InputError, match="48x48.*64x40, a different aspect ratio"):
        train("tiny", folder, tmp_path / "run", steps=3, device="cpu")
    with pytest.raises(InputError, match="not found"):
        train("tiny", tmp_path / "missing", tmp_path / "run2", steps=3, device="cpu")


def test_train_regression_baseline(dataset: Path, tmp_path: Path):
    path = train_regression("tiny", dataset, tmp_path, steps=4, device="cpu")
    assert path == tmp_path / "regression.pt"
    metrics = read_metrics(tmp_path / "regression_metrics.jsonl")
    assert [m["stage"] for m in metrics] == ["regression"] * 4
    model = RegressionModel.load(path)
    pred = model.predict(np.zeros((2, H, W, 3), np.uint8))
    assert pred.dtype == np.complex64 and pred.shape == (2, K, 2, H, W)
    with pytest.raises(InputError, match="not a motion model checkpoint"):
        MotionModel.load(path)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable checkpoint"):
        MotionModel.load(path)


# ----------------------------------------------------------------------------------------------------------------------
# ONNX


@pytest.mark.parametrize("patched", [False, True], ids=["tiny", "patch2"])
def test_onnx_export_of_encoder_denoiser_and_decoder(stats_json: str, tmp_path: Path, patched: bool):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = tiny_model(stats_json, config=patched_config() if patched else None)
    if patched:
        model.attach_energy_net()
    graphs = export_graphs(model, batch=1)
    assert set(graphs) == {"image_encoder", "denoiser", "vae_decoder", *(["energy_net"] if patched else [])}
    for name, spec in graphs.items():
        path = tmp_path / f"{name}.onnx"
        with torch.no_grad():
            torch.onnx.export(spec["module"], spec["args"], str(path), input_names=spec["input_names"],
                              output_names=spec["output_names"], dynamic_axes=spec["dynamic_axes"], opset_version=18,
                              dynamo=False)
        onnx.checker.check_model(onnx.load(str(path)))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {n: a.numpy() for n, a in zip(spec["input_names"], spec["args"])}
        got = session.run(None, feeds)
        with torch.no_grad():
            expected = spec["module"](*spec["args"])
        expected = expected if isinstance(expected, tuple) else (expected,)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e.numpy(), rtol=1e-3, atol=1e-4)


def test_stats_travel_with_the_model(stats_json: str, tmp_path: Path):
    model = tiny_model(stats_json)
    model.save(tmp_path / "m.pt")
    loaded = MotionModel.load(tmp_path / "m.pt")
    assert loaded.stats_json == stats_json
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)


def test_cli_refuses_to_continue_a_model_as_the_regression_baseline(dataset: Path, tmp_path: Path, capsys):
    from image_dynamics.cli import main

    code = main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "run"), "--regression",
                 "--init-from", str(tmp_path / "model.pt")])
    err = capsys.readouterr().err
    assert code == 2 and "--init-from and --stages are for the motion model" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_warmed_ema_averages_at_its_decay_from_the_first_update():
    from image_dynamics.train.loop import _EMA

    weight = torch.nn.Parameter(torch.zeros(3))
    fresh, warmed = _EMA({"w": weight}, 0.995), _EMA({"w": weight}, 0.995, warmed=True)
    with torch.no_grad():
        weight.fill_(1.0)
    fresh.update({"w": weight})
    warmed.update({"w": weight})
    torch.testing.assert_close(fresh.shadow["w"], torch.full((3,), 0.9))  # warm-up: decay 1/10 at first
    torch.testing.assert_close(warmed.shadow["w"], torch.full((3,), 0.005))  # a trained model's average moves slowly


def test_learning_rates_scale_together_and_absurd_scales_are_refused():
    from image_dynamics.train.configs import scale_learning_rates

    cfg = get_config("default")
    scaled = scale_learning_rates(cfg, 0.3)
    rates = [f.name for f in dataclasses.fields(cfg) if f.name.endswith("_lr")]
    assert len(rates) >= 5 and all(getattr(scaled, r) == pytest.approx(getattr(cfg, r) * 0.3) for r in rates)
    for bad in (0, -1, float("nan"), 11, "2"):
        with pytest.raises(InputError, match="learning-rate scale"):
            scale_learning_rates(cfg, bad)


def test_a_step_with_a_non_finite_loss_is_left_out_and_the_weights_stay_finite():
    from image_dynamics.train.loop import _Stage

    weight = torch.nn.Parameter(torch.ones(3))
    stage = _Stage(trainer=None, steps=10)
    stage.make_optimizer([weight], lr=0.1, weight_decay=0.0)
    cfg = get_config("tiny")
    stage.apply((weight * float("nan")).sum(), 5, cfg)
    assert stage.skipped == 1 and torch.equal(weight.detach(), torch.ones(3))
    stage.apply(weight.square().sum(), 6, cfg)  # a finite step still trains
    assert stage.skipped == 1 and torch.all(weight.detach() < 1.0)


def test_the_energy_correlation_of_a_still_scene_has_a_finite_gradient():
    from image_dynamics.train.energy_net import energy_loss

    pred = torch.full((1, 4, 6, 8), -9.0, requires_grad=True)  # a constant map: every pixel the same
    target = torch.full((1, 4, 6, 8), float(np.log(1e-4)))  # a scene that does not move
    loss, _ = energy_loss(pred, target, 1e-4, level_weight=0.25)
    loss.backward()
    assert torch.isfinite(loss) and torch.all(torch.isfinite(pred.grad))


def test_cli_lr_scale_is_stored_in_the_run_and_a_bad_one_is_refused_before_writing_anything(dataset: Path,
                                                                                            tmp_path: Path, capsys):
    from image_dynamics.cli import main

    code = main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "bad"),
                 "--lr-scale", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "learning-rate scale must be a number above 0" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()
    assert main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "run"), "--steps", "4",
                 "--lr-scale", "0.5"]) == 0
    stored = MotionModel.load(tmp_path / "run" / "model.pt").config
    assert stored.energy_lr == pytest.approx(get_config("tiny").energy_lr * 0.5)


def test_cli_set_overrides_a_training_field_stores_it_and_refuses_structure_and_bad_values(dataset: Path,
                                                                                           tmp_path: Path, capsys):
    from image_dynamics.cli import main

    for bad, why in (("energy_channels=8", "shapes the networks"), ("energy_mean_weight=lots", "is not a float"),
                     ("no_such_field=1", "no configuration field"), ("energy_mean_weight", "write FIELD=VALUE"),
                     ("energy_mean_weight=-1", "energy_mean_weight must be >= 0"),
                     ("energy_ema_decay=1", "energy_ema_decay must be in [0, 1)")):
        code = main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "bad"),
                     "--set", bad])
        err = capsys.readouterr().err
        assert code == 2 and why in err and "Traceback" not in err, (bad, err)
        assert not (tmp_path / "bad").exists()
    assert main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(tmp_path / "run"), "--steps", "4",
                 "--set", "energy_mean_weight=0", "--set", "energy_shard_batches=16"]) == 0
    stored = MotionModel.load(tmp_path / "run" / "model.pt").config
    assert stored.energy_mean_weight == 0.0 and stored.energy_shard_batches == 16


def test_snapshots_keep_the_model_every_n_steps(dataset: Path, tmp_path: Path):
    first = train(short_config(), dataset, tmp_path / "first", steps=9, seed=1, device="cpu",
                  stages=("vae", "diffusion", "freq_attention"))
    assert not (tmp_path / "first" / "snapshots").exists()  # off unless asked for
    cfg = short_config()
    # a continued run takes its model's stored hyperparameters; --set changes them (as `train --set` does)
    final = MotionModel.load(train(cfg, dataset, tmp_path / "energy", device="cpu", init_from=first, steps=6,
                                   stages=("energy",), settings=("snapshot_every=2",)))
    kept = sorted(p.name for p in (tmp_path / "energy" / "snapshots").iterdir())
    assert kept == ["model_step000002.pt", "model_step000004.pt", "model_step000006.pt"]
    last = MotionModel.load(tmp_path / "energy" / "snapshots" / "model_step000006.pt")
    early = MotionModel.load(tmp_path / "energy" / "snapshots" / "model_step000002.pt")
    for key, value in final.state_dict().items():  # the last snapshot is model.pt: the averaged weights
        torch.testing.assert_close(last.state_dict()[key], value, rtol=0, atol=0)
    assert any(not torch.equal(early.energy.state_dict()[k], v) for k, v in final.energy.state_dict().items())
    with pytest.raises(InputError, match="snapshot_every must be 0"):
        dataclasses.replace(cfg, snapshot_every=-1).validate()
    # one loader reads them all: a snapshot, a run folder, its checkpoint (averaged weights), an exported package
    for source in (tmp_path / "energy" / "snapshots" / "model_step000006.pt", tmp_path / "energy",
                   tmp_path / "energy" / "checkpoint.pt"):
        loaded = load_motion_model(source)
        for key, value in final.state_dict().items():
            torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    assert load_motion_model(shipped_models_dir() / "default").energy is not None
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="broken.pt"):
        load_motion_model(tmp_path / "broken.pt")
