"""ONNX export and the onnxruntime path: packages, parity with torch, sampler, providers, cache, CLI, bad input.

One tiny package is built per session: a ``tiny``-configuration :class:`MotionModel` with seeded random weights (its
zero-initialised layers, such as the frequency-attention output projections, randomised too, so every path of every
graph matters), saved as a run folder's ``model.pt`` and exported with fp16 copies. Parity tests compare the real
exported graphs with torch on real inputs from a synthetic dataset made here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from image_dynamics import spectral  # noqa: E402
from image_dynamics.cli import main  # noqa: E402
from image_dynamics.data.normalise import norm_stats_from_json, normalise  # noqa: E402
from image_dynamics.data.shards import load_all, read_info  # noqa: E402
from image_dynamics.data.synth import generate_dataset  # noqa: E402
from image_dynamics.errors import CancelledError, InputError, OutputError  # noqa: E402
from image_dynamics.frames import check_aspect  # noqa: E402
from image_dynamics.jobs import CancelToken  # noqa: E402
from image_dynamics.model import cache as motion_cache  # noqa: E402
from image_dynamics.model import package as pkg_mod  # noqa: E402
from image_dynamics.model import predict as predict_mod  # noqa: E402
from image_dynamics.model import providers  # noqa: E402
from image_dynamics.model.package import ModelPackage, ModelPackageError, find_models, resolve_model  # noqa: E402
from image_dynamics.model.predict import MotionPredictor, predict_motion  # noqa: E402
from image_dynamics.model.processing import (  # noqa: E402
    energy_from_log,
    exposure_key,
    fit_to_model_grid,
    normalise_exposure,
    prepare_images,
)
from image_dynamics.model.sampler import ddim_timesteps, sample_latents  # noqa: E402
from image_dynamics.train import diffusion  # noqa: E402
from image_dynamics.train.configs import get_config, override_fields  # noqa: E402
from image_dynamics.train.export import export_package  # noqa: E402
from image_dynamics.train.loop import train_regression  # noqa: E402
from image_dynamics.train.model import MotionModel, export_graphs  # noqa: E402

from .conftest import edit_manifest, load_script  # noqa: E402

W, H = 64, 40
#: measured: the full 10-step sample differs from torch by at most ~1.3e-6 of its largest coefficient (fp32, CPU)
SAMPLE_RTOL = 1e-4
#: measured: fp16 graphs on onnxruntime's CPU kernels differ from fp32 by at most ~0.4 % of the output range
FP16_RTOL = 2e-2


def _cuda_works() -> bool:
    providers.reset_probe_cache()
    return providers.probe_provider("cuda") is None


# ----------------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runtime_data") / "data"
    generate_dataset(folder, 8, width=W, height=H)
    return folder


@pytest.fixture(scope="session")
def samples(dataset: Path) -> dict[str, np.ndarray]:
    return load_all(read_info(dataset))


@pytest.fixture(scope="session")
def run_dir(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with a tiny model.pt (with a motion-energy network) whose every layer is active."""
    torch.manual_seed(0)
    model = MotionModel(get_config("tiny"), read_info(dataset).norm_stats_path.read_text(), (W, H),
                        data_note="8 synthetic test scenes")
    model.attach_energy_net()
    with torch.no_grad():
        for param in model.parameters():
            if torch.count_nonzero(param) == 0:  # zero-initialised layers (attention outputs, norms' biases)
                param.normal_(0.0, 0.05)
        k, c = model.latent_shape[:2]
        gen = torch.Generator().manual_seed(1)
        model.set_latent_stats((0.1 * torch.randn(k, c, generator=gen)).numpy(),
                               (0.5 + torch.rand(k, c, generator=gen)).numpy())
    model.unet.set_frequency_attention(True)
    run = tmp_path_factory.mktemp("runtime_run")
    model.save(run / "model.pt")
    return run


@pytest.fixture(scope="session")
def package_dir(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_package(run_dir, tmp_path_factory.mktemp("packages") / "tiny", fp16=True)


@pytest.fixture(scope="session")
def torch_model(run_dir: Path) -> MotionModel:
    return MotionModel.load(run_dir / "model.pt")


@pytest.fixture(scope="session")
def predictor(package_dir: Path) -> MotionPredictor:
    return MotionPredictor(package_dir, provider="cpu")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each test has its own result cache, no packages from the environment, fresh probes; torch on one thread
    (on a shared 2-core machine two spinning OpenMP threads are far slower than one)."""
    monkeypatch.setenv(motion_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(pkg_mod.MODELS_ENV, raising=False)
    providers.reset_probe_cache()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    providers.reset_probe_cache()


def copy_package(package_dir: Path, dest: Path, fp16: bool = False) -> Path:
    """A writable copy of the package (fp32 graphs only unless ``fp16``)."""
    shutil.copytree(package_dir, dest, ignore=None if fp16 else shutil.ignore_patterns("*.fp16.onnx"))
    if not fp16:
        doc = json.loads((dest / "model.json").read_text())
        doc["files"] = {k: v for k, v in doc["files"].items() if ".fp16." not in k}
        for graph in doc["graphs"].values():
            graph.pop("fp16", None)
        (dest / "model.json").write_text(json.dumps(doc))
    return dest


# ----------------------------------------------------------------------------------------------------------------------
# export


def test_export_writes_a_complete_checked_package(package_dir: Path, torch_model: MotionModel):
    doc = json.loads((package_dir / "model.json").read_text())
    names = {p.name for p in package_dir.iterdir()}
    graphs = ("image_encoder", "denoiser", "vae_decoder", "energy_net")
    assert names == {"model.json", *(f"{g}.onnx" for g in graphs), *(f"{g}.fp16.onnx" for g in graphs)}
    assert not [p for p in package_dir.parent.iterdir() if p.name.startswith(".")]  # no staging left
    for name, entry in doc["files"].items():
        assert entry == {"sha256": pkg_mod.file_sha256(package_dir / name),
                         "bytes": (package_dir / name).stat().st_size}
    cfg = torch_model.config
    assert doc["num_bands"] == 16 and doc["resolution"] == {"width": W, "height": H} and doc["coeff_grid"] == [W, H]
    assert doc["latent"]["shape"] == [16, cfg.latent_channels, H // 4, W // 4]
    assert doc["fps"] == 30.0 and doc["window_frames"] == 150 and doc["freqs_hz"][:3] == [0.0, 0.2, 0.4]
    sampler = doc["sampler"]
    assert (sampler["steps"], sampler["eta"], sampler["guidance"]) == (cfg.sample_steps, cfg.sample_eta, cfg.guidance)
    assert sampler["prediction"] == "v" and sampler["schedule"] == "cosine" and sampler["train_timesteps"] == 1000
    np.testing.assert_array_equal(sampler["alphas_cumprod"], diffusion.make_alphas_cumprod("cosine", 1000))
    assert doc["normalisation"] == json.loads(torch_model.stats_json)
    assert doc["graphs"]["denoiser"]["inputs"] == ["latents", "timesteps", "feature_0", "feature_1", "global_feature"]
    assert doc["opset"] == 18 and doc["data_note"] == "8 synthetic test scenes" and "GPL" in doc["licence"]
    assert set(doc["software"]) >= {"torch", "onnx", "onnxruntime"}
    assert max(doc["export"]["parity_max_abs_diff_fp32"].values()) <= 1e-3
    assert doc["energy"] == {"floor": cfg.energy_floor, "fill_coherence_px": cfg.energy_fill_px}
    assert doc["training"]["energy_net_trained"]
    assert doc["graphs"]["energy_net"]["outputs"] == ["log_band_energy"]
    package = ModelPackage.load(package_dir)
    assert package.has_fp16 and package.num_bands == 16 and package.latent_shape == tuple(doc["latent"]["shape"])
    assert package.has_energy_net and package.energy_floor == cfg.energy_floor


def test_export_refuses_an_existing_package_and_replaces_it_only_when_asked(run_dir: Path, tmp_path: Path):
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "old.txt").write_text("user file")
    with pytest.raises(OutputError, match="already holds files"):
        export_package(run_dir, out)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    export_package(run_dir, out, overwrite=True, name="renamed", licence="CC0", data_note="none")
    doc = json.loads((out / "model.json").read_text())
    assert (doc["name"], doc["licence"], doc["data_note"]) == ("renamed", "CC0", "none")
    assert not (out / "old.txt").exists() and [p.name for p in tmp_path.iterdir()] == ["pkg"]


def test_a_failed_export_leaves_nothing_behind(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from image_dynamics.train import export as export_mod

    def fail(path, doc):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_mod, "_write_json", fail)
    with pytest.raises(OSError, match="No space"):
        export_package(run_dir, tmp_path / "pkg")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------------------------------
# parity with torch


@pytest.fixture(scope="session")
def real_graph_io(torch_model: MotionModel, samples) -> tuple[dict, dict]:
    """Feeds and torch outputs per graph: two real images, their real latents (VAE means of their true spectral
    volumes, unit-scaled) noised at t = 999 and t = 250."""
    model = torch_model
    images = torch.from_numpy(prepare_images(samples["images"][:2], W, H))
    channels = normalise(samples["coeffs"][:2].astype(np.float32), norm_stats_from_json(model.stats_json))
    with torch.no_grad():
        pyramid, global_feat = model.encoder(images)
        mean, _ = model.vae.encode(torch.from_numpy(channels).reshape(-1, 4, H, W))
        clean = model.scale_latents(mean.view(2, *model.latent_shape))
        t = torch.tensor([999.0, 250.0])
        noisy = model.schedule.add_noise(clean, torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)),
                                         t.long())
        expected = {"image_encoder": (*pyramid, global_feat),
                    "denoiser": (model.unet(noisy, t, pyramid, global_feat),),
                    "vae_decoder": (model.decode_latents(clean),),
                    "energy_net": (model.energy(images),)}
    feeds = {"image_encoder": {"image": images.numpy()}, "energy_net": {"image": images.numpy()},
             "denoiser": {"latents": noisy.numpy(), "timesteps": t.numpy(), "feature_0": pyramid[0].numpy(),
                          "feature_1": pyramid[1].numpy(), "global_feature": global_feat.numpy()},
             "vae_decoder": {"latents": clean.numpy()}}
    return feeds, {g: [e.numpy() for e in out] for g, out in expected.items()}


def test_each_graph_matches_torch_on_real_inputs(package_dir: Path, real_graph_io):
    """fp32 onnxruntime vs torch, per graph, on a batch of two (the batch axis is dynamic; export used one)."""
    feeds, expected = real_graph_io
    for graph in expected:
        session = ort.InferenceSession(str(package_dir / f"{graph}.onnx"), providers=["CPUExecutionProvider"])
        got = session.run(None, feeds[graph])
        for g, e in zip(got, expected[graph], strict=True):
            assert g.shape == e.shape
            assert np.abs(g - e).max() <= 1e-3, graph
            assert np.abs(e).max() > 1e-2  # the comparison is not between near-zero outputs


def test_fp16_graphs_stay_close_to_fp32(package_dir: Path, real_graph_io):
    """What runs here: the fp16 graphs on onnxruntime's CPU kernels (the GPU is their target; see the gpu tests)."""
    feeds, expected = real_graph_io
    for graph in expected:
        session = ort.InferenceSession(str(package_dir / f"{graph}.fp16.onnx"), providers=["CPUExecutionProvider"])
        for g, e in zip(session.run(None, feeds[graph]), expected[graph], strict=True):
            assert g.dtype == np.float32  # inputs and outputs stay float32
            assert np.abs(g - e).max() <= FP16_RTOL * np.abs(e).max(), graph


def test_a_full_sample_matches_torch_end_to_end(predictor: MotionPredictor, torch_model: MotionModel, samples):
    image = samples["images"][3]
    for settings in ({}, {"eta": 1.0}, {"steps": 5, "eta": 0.5, "guidance": 2.0}):
        expected = torch_model.predict(image, seed=7, **settings)[0]
        got = predictor.predict(image, seed=7, cache=False, **settings).coeffs
        assert got.shape == expected.shape == (16, 2, H, W)
        assert np.abs(got - expected).max() <= SAMPLE_RTOL * np.abs(expected).max(), settings


def test_the_energy_net_rescales_each_pixel_and_packages_without_one_give_the_sample_alone(
        predictor: MotionPredictor, torch_model: MotionModel, package_dir: Path, samples, tmp_path: Path):
    image = samples["images"][2]
    rescaled = predictor.predict(image, seed=4, cache=False)
    alone = predictor.predict(image, seed=4, cache=False, use_energy_net=False)
    assert rescaled.meta["energy_net"] and not alone.meta["energy_net"]
    expected = torch_model.predict(image, seed=4, use_energy_net=False)[0]
    assert np.abs(alone.coeffs - expected).max() <= SAMPLE_RTOL * np.abs(expected).max()
    # the rescaled motion is the sample times one gain per pixel, the gain that makes its energy the network's
    with torch.no_grad():
        target = torch_model.band_energy(torch.from_numpy(prepare_images(image, W, H)))[0, 1:].sum(axis=0)
    sampled = (np.abs(alone.coeffs[1:]) ** 2).sum(axis=(0, 1))
    gain = np.minimum(np.sqrt(target / np.maximum(sampled, 1e-12)), 4.0)
    capped = gain >= 4.0 - 1e-4  # (the fill itself is tested in test_energy_net.py)
    np.testing.assert_allclose((rescaled.coeffs * ~capped)[1:], (alone.coeffs * gain[None, None] * ~capped)[1:],
                               rtol=1e-4, atol=1e-6 * np.abs(alone.coeffs).max())
    assert not np.allclose(rescaled.coeffs, alone.coeffs)
    # where the capped gain falls short, the package's coherent fill brings the energy up to the network's
    got = (np.abs(rescaled.coeffs[1:]) ** 2).sum(axis=(0, 1))
    np.testing.assert_allclose(got[capped], np.asarray(target)[capped], rtol=2e-3)
    # an older package (three graphs, no 'energy') loads and gives the sample alone
    old = copy_package(package_dir, tmp_path / "old")
    (old / "energy_net.onnx").unlink()
    edit_manifest(old, lambda d: (d["graphs"].pop("energy_net"), d.pop("energy")), rehash=True)
    package = ModelPackage.load(old)
    assert not package.has_energy_net and package.summary()["energy_net"] is False
    without = MotionPredictor(package, provider="cpu").predict(image, seed=4, cache=False)
    assert not without.meta["energy_net"]
    np.testing.assert_array_equal(without.coeffs, alone.coeffs)
    # an energy graph without its floor is refused, saying what is missing
    broken = copy_package(package_dir, tmp_path / "broken")
    edit_manifest(broken, lambda d: d.pop("energy"))
    with pytest.raises(ModelPackageError, match="'energy_net' graph but no 'energy'"):
        ModelPackage.load(broken)
    edit_manifest(broken, lambda d: d.update(energy={"floor": 0}))
    with pytest.raises(ModelPackageError, match="'energy.floor' must be positive, got 0"):
        ModelPackage.load(broken)


def check_energy_field(package: Path, tmp_path: Path, field: str, other: float, bad: float, message: str) -> None:
    """An ``energy`` field of ``package``'s model.json is part of the package's hash (so of every cached result's
    key), and a bad value is refused with one line naming the field (``message``)."""
    changed = copy_package(package, tmp_path / f"{field}_other")
    edit_manifest(changed, lambda d: d["energy"].update({field: other}))
    same = copy_package(package, tmp_path / f"{field}_same")
    assert ModelPackage.load(changed).sha256 != ModelPackage.load(same).sha256
    broken = copy_package(package, tmp_path / f"{field}_broken")
    edit_manifest(broken, lambda d: d["energy"].update({field: bad}))
    with pytest.raises(ModelPackageError, match=message):
        ModelPackage.load(broken)


def test_a_package_with_an_energy_input_key_feeds_its_network_the_re_exposed_image(
        run_dir: Path, torch_model: MotionModel, predictor: MotionPredictor, samples, tmp_path: Path, capsys):
    """``export --energy-input-key``: the package records the key (model.json and the configuration it carries), the
    runtime feeds the energy network the image re-exposed to it, and torch (a model rebuilt from the package, or one
    whose configuration names the key) agrees with the package end to end."""
    assert run("-q", "export", run_dir, "-o", tmp_path / "keyed", "--energy-input-key", "0.05") == 0
    doc = json.loads((tmp_path / "keyed" / "model.json").read_text())
    assert doc["energy"]["input_key"] == 0.05 and doc["training"]["config"]["energy_input_key"] == 0.05
    keyed = MotionPredictor(tmp_path / "keyed", provider="cpu")
    assert keyed.package.energy_input_key == 0.05 and keyed.package.summary()["energy_input_key"] == 0.05
    assert predictor.package.energy_input_key is None and "energy_input_key" not in predictor.package.summary()
    image = samples["images"][2]
    batch = prepare_images(image, W, H)
    assert abs(exposure_key(batch)[0] - 0.05) > 0.01  # the key changes what the network sees
    with torch.no_grad():
        plain = torch_model.band_energy(torch.from_numpy(batch))
        re_exposed = torch_model.band_energy(torch.from_numpy(normalise_exposure(batch, 0.05)))
    assert not np.allclose(plain, re_exposed, rtol=0.05)
    keyed_model = MotionModel.load(run_dir / "model.pt")
    keyed_model.config = dataclasses.replace(keyed_model.config, energy_input_key=0.05)
    with torch.no_grad():
        np.testing.assert_allclose(keyed_model.band_energy(torch.from_numpy(batch)), re_exposed, rtol=1e-5, atol=1e-9)
    got = keyed.predict(image, seed=4, cache=False).coeffs
    expected = keyed_model.predict(image, seed=4)[0]
    assert np.abs(got - expected).max() <= SAMPLE_RTOL * np.abs(expected).max()
    assert not np.allclose(got, predictor.predict(image, seed=4, cache=False).coeffs)
    check_energy_field(tmp_path / "keyed", tmp_path, "input_key", 0.06, 3,
                       "'energy.input_key' must be an exposure key between 0.01 and 0.5")
    capsys.readouterr()
    assert run("export", run_dir, "-o", tmp_path / "bad", "--energy-input-key", "2") == 2
    assert "energy_input_key must be 0 (the image as it is) or an exposure key between 0.01 and 0.5, got 2.0" in \
        capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_a_package_with_an_energy_gain_moves_every_pixel_that_much_more_and_nothing_else(
        run_dir: Path, torch_model: MotionModel, predictor: MotionPredictor, samples, tmp_path: Path, capsys):
    """``export --energy-gain G``: the package records the calibration (model.json and the configuration it carries),
    every pixel's energy is G times the uncalibrated package's (the floor taken off first, so still stays still), a
    model rebuilt from it or configured with it agrees in torch, the gain is part of the package's hash, and a bad gain
    gets one line naming the field or the option."""
    assert run("-q", "export", run_dir, "-o", tmp_path / "gained", "--energy-gain", "6.5") == 0
    doc = json.loads((tmp_path / "gained" / "model.json").read_text())
    assert doc["energy"]["gain"] == 6.5 and doc["training"]["config"]["energy_gain"] == 6.5
    gained = MotionPredictor(tmp_path / "gained", provider="cpu")
    assert gained.package.energy_gain == 6.5 and gained.package.summary()["energy_gain"] == 6.5
    assert predictor.package.energy_gain == 1.0 and "energy_gain" not in predictor.package.summary()
    image = samples["images"][2]
    plain = predictor.predict(image, seed=4, cache=False).coeffs
    got = gained.predict(image, seed=4, cache=False).coeffs
    energy = lambda c: (np.abs(c[1:]) ** 2).sum(axis=(0, 1))  # noqa: E731 - [H, W] squared pixels
    moving = energy(plain) > 1e-6
    np.testing.assert_allclose(energy(got)[moving], 6.5 * energy(plain)[moving], rtol=2e-3)
    batch = prepare_images(image, W, H)
    with torch.no_grad():
        uncalibrated = torch_model.band_energy(torch.from_numpy(batch))
        calibrated_model = MotionModel.load(run_dir / "model.pt")
        calibrated_model.config = dataclasses.replace(calibrated_model.config, energy_gain=6.5)
        np.testing.assert_allclose(calibrated_model.band_energy(torch.from_numpy(batch)), 6.5 * uncalibrated,
                                   rtol=1e-5, atol=1e-9)
    expected = calibrated_model.predict(image, seed=4)[0]
    assert np.abs(got - expected).max() <= SAMPLE_RTOL * np.abs(expected).max()
    # the floor inside log(E + floor) comes off before the gain: a still pixel is not lifted to gain x floor
    np.testing.assert_array_equal(energy_from_log(np.log(np.full(3, 1e-4, np.float32)), 1e-4, 6.5), 0.0)
    check_energy_field(tmp_path / "gained", tmp_path, "gain", 6.6, 0,
                       "'energy.gain' must be a calibration factor between 0.01 and 100")
    capsys.readouterr()
    assert run("export", run_dir, "-o", tmp_path / "bad", "--energy-gain", "500") == 2
    assert "energy_gain must be between 0.01 and 100.0, got 500.0" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_a_package_that_averages_mirror_images_says_of_a_mirrored_picture_the_mirrored_motion(
        run_dir: Path, torch_model: MotionModel, predictor: MotionPredictor, samples, tmp_path: Path):
    """Rule r50's ``energy_flip_average``: a model configured with it (``scripts/model_with.py``) is exported with
    ``energy.flip_average``; its energy network's log output is the mean of the picture's and the mirrored
    picture's, mirrored back, so a mirrored picture gets exactly the mirrored energy (one reading does not); the
    package's runtime and torch agree end to end, and the field is part of the hash and checked."""
    flipped_file = tmp_path / "flipped.pt"
    model = MotionModel.load(run_dir / "model.pt")
    model.config = override_fields(model.config, ["energy_flip_average=true"])
    model.save(flipped_file)
    assert run("-q", "export", flipped_file, "-o", tmp_path / "flipped") == 0
    doc = json.loads((tmp_path / "flipped" / "model.json").read_text())
    assert doc["energy"]["flip_average"] is True and doc["training"]["config"]["energy_flip_average"] is True
    flipped = MotionPredictor(tmp_path / "flipped", provider="cpu")
    assert flipped.package.energy_flip_average and flipped.package.summary()["energy_flip_average"] is True
    assert not predictor.package.energy_flip_average and "energy_flip_average" not in predictor.package.summary()
    image = samples["images"][2]
    batch = prepare_images(image, W, H)
    mirrored = np.ascontiguousarray(batch[..., ::-1])
    flipped_model = MotionModel.load(flipped_file)
    with torch.no_grad():
        log_net = lambda x: torch_model.energy(torch.from_numpy(x)).numpy()  # noqa: E731 - [B, K, h, w]
        expected_log = 0.5 * (log_net(batch) + log_net(mirrored)[..., ::-1])
        np.testing.assert_allclose(flipped_model.band_energy(torch.from_numpy(batch)),
                                   energy_from_log(expected_log, torch_model.config.energy_floor),
                                   rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(flipped_model.band_energy(torch.from_numpy(mirrored)),
                                   flipped_model.band_energy(torch.from_numpy(batch))[..., ::-1], rtol=1e-5, atol=1e-9)
        once = torch_model.band_energy(torch.from_numpy(batch))
        assert not np.allclose(torch_model.band_energy(torch.from_numpy(mirrored)), once[..., ::-1], rtol=1e-3)
    got = flipped.predict(image, seed=4, cache=False).coeffs
    expected = flipped_model.predict(image, seed=4)[0]
    assert np.abs(got - expected).max() <= SAMPLE_RTOL * np.abs(expected).max()
    assert not np.allclose(got, predictor.predict(image, seed=4, cache=False).coeffs)
    check_energy_field(tmp_path / "flipped", tmp_path, "flip_average", False, "yes",
                       "'energy.flip_average' must be true or false, got 'yes'")


def test_model_with_changes_a_setting_and_refuses_bad_fields_and_existing_files(run_dir: Path, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    """scripts/model_with.py: the weights copied as they are with the setting changed; a field that does not exist,
    one that shapes the networks and a value of the wrong type each get one line and write nothing; an existing
    file is never overwritten."""
    model_with = load_script("model_with")

    def main_with(*args) -> None:
        monkeypatch.setattr("sys.argv", ["model_with.py", *map(str, args)])
        model_with.main()

    out = tmp_path / "flipped.pt"
    main_with(run_dir / "model.pt", out, "energy_flip_average=true")
    changed, original = MotionModel.load(out), MotionModel.load(run_dir / "model.pt")
    assert changed.config.energy_flip_average and not original.config.energy_flip_average
    assert all(torch.equal(a, b) for a, b in zip(changed.state_dict().values(), original.state_dict().values()))
    for setting, message in (("no_such_field=1", "no configuration field 'no_such_field'"),
                             ("width=128", "'width' shapes the networks or the data"),
                             ("energy_flip_average=maybe", "'maybe' is not a bool")):
        with pytest.raises(SystemExit, match=message):
            main_with(run_dir / "model.pt", tmp_path / "bad.pt", setting)
        assert not (tmp_path / "bad.pt").exists()
    before = out.read_bytes()
    with pytest.raises(SystemExit, match="exists: choose another name"):
        main_with(run_dir / "model.pt", out, "energy_flip_average=false")
    assert out.read_bytes() == before


def test_a_release_is_assembled_from_the_base_package_and_the_candidates_energy_network(
        run_dir: Path, package_dir: Path, samples, tmp_path: Path):
    """scripts/assemble_release.py: the base's graphs byte for byte, the candidate's energy network, its model.json
    with the lineage's data note; the result loads with every hash checked, predicts like the candidate, and an
    existing folder is never overwritten."""
    assemble_release = load_script("assemble_release")
    model = MotionModel.load(run_dir / "model.pt")
    with torch.no_grad():
        next(model.energy.parameters()).mul_(0.5)  # a trained-again energy network: other weights
    model.save(tmp_path / "candidate.pt")
    assert run("-q", "export", tmp_path / "candidate.pt", "-o", tmp_path / "candidate") == 0
    out = tmp_path / "release"
    package = assemble_release.assemble(package_dir, tmp_path / "candidate", out, "the whole lineage", "kept")
    for name in ("image_encoder.onnx", "denoiser.onnx", "vae_decoder.onnx"):
        assert (out / name).read_bytes() == (package_dir / name).read_bytes()
    assert (out / "energy_net.onnx").read_bytes() == (tmp_path / "candidate" / "energy_net.onnx").read_bytes()
    assert package.data_note == "the whole lineage" and package.doc["export"]["note"] == "kept"
    image = samples["images"][1]
    got = MotionPredictor(out, provider="cpu").predict(image, seed=2, cache=False).coeffs
    expected = MotionPredictor(tmp_path / "candidate", provider="cpu").predict(image, seed=2, cache=False).coeffs
    assert np.abs(got - expected).max() <= SAMPLE_RTOL * np.abs(expected).max()
    with pytest.raises(SystemExit, match="exists"):
        assemble_release.assemble(package_dir, tmp_path / "candidate", out, "again", "again")


def test_numpy_sampler_reproduces_the_torch_sampler_step_for_step():
    for train_steps, steps in ((1000, 1), (1000, 7), (1000, 20), (1000, 250), (100, 33)):
        np.testing.assert_array_equal(ddim_timesteps(train_steps, steps), diffusion.ddim_timesteps(train_steps, steps))
    schedule = diffusion.NoiseSchedule("cosine", 1000, "v")
    shape = (3, 2, 4, 5)

    def affine(x, t, conditional):  # a fixed "network" whose conditional and unconditional outputs differ
        return (0.5 if conditional else 0.2) * x - 0.001 * t.reshape(-1, *[1] * (x.ndim - 1))

    expected = diffusion.ddim_sample(lambda x, t, c: affine(x, t, c), schedule, shape, [4, 9], steps=6, eta=0.7,
                                     guidance=1.5).numpy()
    got = sample_latents(affine, schedule.alphas_cumprod, "v", shape, [4, 9], steps=6, eta=0.7, guidance=1.5)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------------------------------
# sampling behaviour


def test_same_seed_same_motion_other_seed_other_motion(predictor: MotionPredictor, samples):
    image = samples["images"][1]
    a = predictor.predict(image, seed=1, cache=False)
    b = predictor.predict(image, seed=1, cache=False)
    c = predictor.predict(image, seed=2, cache=False)
    np.testing.assert_array_equal(a.coeffs, b.coeffs)
    assert np.abs(a.coeffs - c.coeffs).max() > 0.05 * np.abs(a.coeffs).max()
    assert a.meta["seed"] == 1 and a.meta["steps"] == 10 and a.meta["provider"] == "cpu"
    assert a.meta["package_sha256"] == predictor.package.sha256 and a.meta["source_size"] == [W, H]
    assert a.freqs_hz.shape == (16,) and a.natural_period_frames() == 150


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "7", True])
def test_the_python_api_checks_the_seed_against_the_limit_before_any_work(predictor: MotionPredictor, samples,
                                                                          seed, tmp_path):
    from image_dynamics import limits

    with pytest.raises(InputError, match=f"seed.*(0 to {limits.MAX_SEED}|whole number)"):
        predictor.predict(samples["images"][0], seed=seed, cache_folder=tmp_path)
    assert not any(tmp_path.iterdir())  # refused before the cache was looked at
    assert limits.check_seed(np.int64(2**32 - 1), "seed") == 2**32 - 1


def test_progress_once_per_step_and_cancel_between_steps(predictor: MotionPredictor, samples):
    calls = []
    predictor.predict(samples["images"][0], seed=0, steps=6, cache=False, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 6) for i in range(1, 7)]

    token = CancelToken()
    seen = []

    def cancel_at_two(done, total):
        seen.append(done)
        if done == 2:
            token.cancel()

    runs = predictor.graph_runs
    with pytest.raises(CancelledError, match="after 2 of 6 steps"):
        predictor.predict(samples["images"][0], seed=0, steps=6, progress=cancel_at_two, cancel=token)
    assert seen == [1, 2] and predictor.graph_runs == runs + 3  # encoder + two denoiser steps, no decoder
    assert motion_cache.cache_size() == (0, 0)  # nothing cached for a cancelled run
    with pytest.raises(CancelledError):
        predictor.predict(samples["images"][0], cancel=lambda: True)


def test_cache_hit_returns_the_same_motion_without_running_any_graph(package_dir: Path, samples, tmp_path: Path):
    predictor = MotionPredictor(package_dir, provider="cpu")
    image = samples["images"][2]
    first = predictor.predict(image, seed=3)
    runs = predictor.graph_runs
    assert runs == 1 + 10 + 1 + 1 and not predictor.last_from_cache  # encoder, 10 steps, decoder, energy net
    again = predictor.predict(image, seed=3)
    assert predictor.graph_runs == runs and predictor.last_from_cache
    np.testing.assert_array_equal(again.coeffs, first.coeffs)
    assert again.meta["seed"] == 3
    assert motion_cache.cache_size()[0] == 1
    # another seed, other steps, another image: misses
    predictor.predict(image, seed=4)
    predictor.predict(image, seed=3, steps=4)
    predictor.predict(image[::-1].copy(), seed=3)
    predictor.predict(image, seed=3, use_energy_net=False)
    assert motion_cache.cache_size()[0] == 5 and predictor.graph_runs > runs
    # a fresh predictor on the same package finds the cache on disk; a corrupt entry is a miss, then replaced
    fresh = MotionPredictor(package_dir, provider="cpu")
    fresh.predict(image, seed=3)
    assert fresh.graph_runs == 0
    key = motion_cache.cache_key(motion_cache.image_sha256(image), fresh.package.sha256, 3, 10, 0.0, 1.0, "fp32",
                                 "srgb", energy_net=True)
    motion_cache.cache_path(key).write_bytes(b"garbage")
    for _ in range(2):
        np.testing.assert_array_equal(fresh.predict(image, seed=3).coeffs, first.coeffs)
    assert fresh.graph_runs == 13  # recomputed once, then cached again
    assert motion_cache.clear_cache()[0] == 5 and motion_cache.cache_size() == (0, 0)


def test_predict_motion_keeps_its_predictor_and_uses_the_cache(package_dir: Path, samples, monkeypatch):
    monkeypatch.setattr(predict_mod, "_PREDICTORS", type(predict_mod._PREDICTORS)())
    image = samples["images"][4]
    a = predict_motion(image, model=package_dir, seed=0, provider="cpu")
    (held,) = predict_mod._PREDICTORS.values()
    b = predict_motion(image, model=package_dir, seed=0, provider="cpu")
    assert list(predict_mod._PREDICTORS.values()) == [held] and held.last_from_cache
    np.testing.assert_array_equal(a.coeffs, b.coeffs)
    c = predict_motion(image, model=package_dir, seed=0, provider="cpu", cache=False)
    np.testing.assert_array_equal(a.coeffs, c.coeffs)
    # float input of the same pixels predicts the same motion (a different cache key, same numbers)
    d = predict_motion(image.astype(np.float32) / 255, model=package_dir, seed=0, provider="cpu")
    np.testing.assert_allclose(d.coeffs, a.coeffs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size", [(256, 40), (64, 200), (640, 401), (1000, 10)])
def test_images_of_other_aspect_ratios_are_padded_and_cropped_not_stretched(predictor: MotionPredictor, samples,
                                                                             size):
    width, height = size
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    sv = predictor.predict(image, seed=0, steps=2, cache=False)
    fit = fit_to_model_grid(width, height, W, H)
    assert (sv.width, sv.height) == (fit.width, fit.height)
    assert sv.width == W or sv.height == H  # the largest grid of the image's aspect inside the model grid
    # within half a grid pixel of the image's aspect ratio
    assert abs(sv.width / sv.height - width / height) <= 0.5 * (width / height) / min(sv.width, sv.height) + 1e-9
    pad = sv.meta["padding"]
    assert (pad["left"] + pad["right"] + sv.width, pad["top"] + pad["bottom"] + sv.height) == (W, H)
    assert abs(pad["left"] - pad["right"]) <= 1 and abs(pad["top"] - pad["bottom"]) <= 1
    assert sv.meta["source_size"] == [width, height]
    if min(sv.width, sv.height) >= 10:
        check_aspect(sv, width, height)  # the renderer accepts it


def test_padded_prediction_is_the_crop_of_the_model_on_the_mirrored_image(predictor: MotionPredictor, samples):
    """A 4:1 strip: the model sees the strip resized to 64x16 and mirror-padded to 64x40; the volume is rows 12..28."""
    strip = samples["images"][5][:16]  # 64x16, aspect 4
    sv = predictor.predict(strip, seed=2, steps=3, cache=False)
    assert (sv.width, sv.height) == (64, 16) and sv.meta["padding"] == {"left": 0, "top": 12, "right": 0,
                                                                         "bottom": 12}
    mirrored = np.pad(strip, ((12, 12), (0, 0), (0, 0)), mode="symmetric")
    full = predictor.predict(mirrored, seed=2, steps=3, cache=False)
    np.testing.assert_array_equal(sv.coeffs, full.coeffs[:, :, 12:28])


def test_bad_pixels_and_settings_are_clear_errors(predictor: MotionPredictor):
    image = np.zeros((H, W, 3), np.uint8)
    with pytest.raises(InputError, match=r"\[H, W, 3\]"):
        predictor.predict(np.zeros((H, W, 2), np.uint8))
    with pytest.raises(InputError, match="NaN"):
        predictor.predict(np.full((H, W, 3), np.nan, np.float32))
    with pytest.raises(InputError, match="steps must be between 1 and 1000"):
        predictor.predict(image, steps=0)
    with pytest.raises(InputError, match="eta must be >= 0"):
        predictor.predict(image, eta=-1)
    with pytest.raises(InputError, match="colorspace"):
        predictor.predict(image, colorspace="rec2020")


# ----------------------------------------------------------------------------------------------------------------------
# bad packages


def test_truncated_graph_is_named_with_both_hashes(package_dir: Path, tmp_path: Path):
    folder = copy_package(package_dir, tmp_path / "p")
    graph = folder / "denoiser.onnx"
    expected = pkg_mod.file_sha256(graph)
    data = graph.read_bytes()
    graph.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelPackageError) as err:
        ModelPackage.load(folder)
    text = str(err.value)
    assert str(graph) in text and expected in text and pkg_mod.file_sha256(graph) in text and "truncated" in text


def test_truncated_graph_with_matching_hashes_is_refused_by_onnxruntime_clearly(package_dir: Path, tmp_path: Path):
    folder = copy_package(package_dir, tmp_path / "p")
    graph = folder / "vae_decoder.onnx"
    graph.write_bytes(graph.read_bytes()[:5000])
    edit_manifest(folder, lambda d: None, rehash=True)
    predictor = MotionPredictor(folder, provider="cpu")
    with pytest.raises(ModelPackageError, match=r"vae_decoder.onnx: onnxruntime .* cannot load this graph"):
        predictor.predict(np.zeros((H, W, 3), np.uint8), cache=False)


def test_modified_and_missing_files_are_named(package_dir: Path, tmp_path: Path):
    folder = copy_package(package_dir, tmp_path / "p")
    graph = folder / "image_encoder.onnx"
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(ModelPackageError, match=r"image_encoder.onnx: sha256 mismatch: expected [0-9a-f]{64}, actual "
                                                r"[0-9a-f]{64}\. The file was modified"):
        ModelPackage.load(folder)
    graph.unlink()
    with pytest.raises(ModelPackageError, match="image_encoder.onnx: missing from model package"):
        ModelPackage.load(folder)
    ModelPackage.load(folder, verify=False)  # the manifest itself is fine


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / "model.json").write_text('{"format_version": 1, "name": '), "corrupt, not valid JSON"),
    (lambda p: (p / "model.json").unlink(), r"not a model package \(no model.json"),
    (lambda p: edit_manifest(p, lambda d: d.pop("opset")), r"missing field\(s\) opset"),
    (lambda p: edit_manifest(p, lambda d: [d.pop("licence"), d["sampler"].pop("eta")]),
     r"missing field\(s\) licence"),
    (lambda p: edit_manifest(p, lambda d: d["sampler"].pop("alphas_cumprod")), r"sampler.alphas_cumprod"),
    (lambda p: edit_manifest(p, lambda d: d.update(format_version=2)),
     "package format 2 is newer than this image-dynamics reads"),
    (lambda p: edit_manifest(p, lambda d: d.update(num_bands=8)), "'freqs_hz' must list K = 8"),
    (lambda p: edit_manifest(p, lambda d: d["graphs"]["denoiser"].update(fp32="gone.onnx")),
     "names 'gone.onnx', which 'files' does not list"),
    (lambda p: edit_manifest(p, lambda d: d["files"]["denoiser.onnx"].update(sha256="x")), "64 hex digits"),
])
def test_broken_manifests_say_what_is_wrong(package_dir: Path, tmp_path: Path, damage, message):
    folder = copy_package(package_dir, tmp_path / "p")
    damage(folder)
    with pytest.raises(ModelPackageError, match=message):
        ModelPackage.load(folder)


def test_a_package_whose_graphs_are_for_another_k_is_refused(package_dir: Path, tmp_path: Path):
    """model.json describes a consistent K = 8 model, but the graphs are the K = 16 ones."""
    folder = copy_package(package_dir, tmp_path / "p")

    def to_k8(doc):
        doc["num_bands"] = 8
        doc["freqs_hz"] = doc["freqs_hz"][:8]
        doc["latent"]["shape"][0] = 8
        norm = doc["normalisation"]
        for key in ("freqs_hz", "scales", "values"):
            norm[key] = norm[key][:8]

    edit_manifest(folder, to_k8)
    package = ModelPackage.load(folder)
    assert package.num_bands == 8
    with pytest.raises(ModelPackageError, match="works on K = 16 frequency bands but model.json says K = 8"):
        MotionPredictor(package, provider="cpu").load_sessions()


def test_an_opset_newer_than_the_installed_onnxruntime_is_refused(package_dir: Path, monkeypatch):
    monkeypatch.setattr(ort, "__version__", "1.13.1")
    with pytest.raises(ModelPackageError, match=r"opset 18, which onnxruntime 1.13.1 cannot run .* needs 1.14"):
        ModelPackage.load(package_dir)


# ----------------------------------------------------------------------------------------------------------------------
# finding packages


def test_find_and_resolve_models(package_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pkg_mod, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    assert find_models() == []
    with pytest.raises(ModelPackageError, match="no model package named 'default' is installed"):
        resolve_model(None)
    monkeypatch.setenv(pkg_mod.MODELS_ENV, str(package_dir.parent))
    (found,) = find_models()
    assert (found.name, found.path, found.source) == ("tiny", package_dir.resolve(), pkg_mod.MODELS_ENV)
    assert resolve_model("tiny") == package_dir.resolve()
    assert resolve_model(str(package_dir)) == package_dir
    assert resolve_model(package_dir / "model.json") == package_dir
    other = copy_package(package_dir, tmp_path / "mine" / "default")
    assert pkg_mod.default_model_available([tmp_path / "mine"])
    assert resolve_model(None, folders=[tmp_path / "mine"]) == other.resolve()
    with pytest.raises(ModelPackageError, match=r"no model package named 'nope' .*found: tiny"):
        resolve_model("nope")
    with pytest.raises(ModelPackageError, match="model package not found"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ModelPackageError, match="model package not found"):
        ModelPackage.load(tmp_path / "missing")


# ----------------------------------------------------------------------------------------------------------------------
# providers


def test_probe_model_is_the_documented_conv_relu():
    model = onnx.load_from_string(providers.PROBE_MODEL)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["Conv", "Relu"]
    used, out = providers._run_probe(["CPUExecutionProvider"])
    assert used == ["CPUExecutionProvider"]
    np.testing.assert_array_equal(out, [[[[0.0, 0.0], [2.0, 4.0]]]])


def test_cpu_needs_no_probe_and_physical_cores_are_counted():
    choice = providers.choose_providers("cpu")
    assert (choice.name, choice.providers, choice.notice) == ("cpu", ["CPUExecutionProvider"], None)
    assert 1 <= providers.physical_cores() <= len(os.sched_getaffinity(0))
    options = providers.session_options(choice)
    assert options.intra_op_num_threads == providers.physical_cores()
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with pytest.raises(InputError, match="unknown provider 'gpu'"):
        providers.choose_providers("gpu")


def test_auto_without_a_working_gpu_falls_back_to_cpu_saying_why_once(caplog):
    if _cuda_works():
        pytest.skip("this machine has a working CUDA provider")
    with caplog.at_level(logging.WARNING, logger="image_dynamics.model"):
        first = providers.choose_providers("auto")
        second = providers.choose_providers("auto")
    assert first.name == second.name == "cpu" and first.notice == second.notice
    assert first.notice.startswith("image-dynamics: running the motion model on the CPU, not the GPU: ")
    assert any(reason in first.notice for reason in ("no NVIDIA driver", "no CUDA libraries", "has no CUDA",
                                                      "failed its probe", "no CUDA build"))
    assert "\n" not in first.notice and [r.getMessage() for r in caplog.records] == [first.notice]


def _pretend_cuda_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(providers, "missing_gpu_libraries", lambda name="cuda": None)


def test_a_cuda_provider_that_fails_its_probe_run_gives_cpu_and_one_clear_line(monkeypatch, caplog):
    _pretend_cuda_is_installed(monkeypatch)

    def failing_run(provider_list):
        raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected ; GPU=0\nstack trace line")

    monkeypatch.setattr(providers, "_run_probe", failing_run)
    with caplog.at_level(logging.WARNING, logger="image_dynamics.model"):
        choice = providers.choose_providers("cuda")
        providers.choose_providers("cuda")
    assert choice.name == "cpu" and choice.providers == ["CPUExecutionProvider"]
    assert choice.notice == ("image-dynamics: running the motion model on the CPU, not the CUDA: "
                             "CUDAExecutionProvider failed its probe (RuntimeError: CUDA failure 100: no "
                             "CUDA-capable device is detected ; GPU=0).")
    assert len(caplog.records) == 1


def test_a_cuda_session_that_silently_lands_on_the_cpu_is_not_trusted(monkeypatch):
    _pretend_cuda_is_installed(monkeypatch)
    monkeypatch.setattr(providers, "_run_probe", lambda p: (["CPUExecutionProvider"], providers._PROBE_OUTPUT))
    choice = providers.choose_providers("auto", notify=False)
    assert choice.name == "cpu" and "fell back to CPUExecutionProvider" in choice.notice
    monkeypatch.setattr(providers, "_run_probe", lambda p: (["CUDAExecutionProvider"], providers._PROBE_OUTPUT))
    providers.reset_probe_cache()
    assert providers.choose_providers("auto").name == "cuda"


def test_a_gpu_provider_that_fails_at_run_time_finishes_on_the_cpu(package_dir: Path, samples, monkeypatch):
    """The probe passed, the sessions opened, then the first GPU run fails: the CPU finishes with the same result."""
    expected = MotionPredictor(package_dir, provider="cpu").predict(samples["images"][6], seed=5, cache=False)
    gpu = providers.ProviderChoice("auto", "cuda", ["CPUExecutionProvider"])  # opens; runs fail: no CUDA memory
    monkeypatch.setattr(predict_mod, "choose_providers", lambda requested, notify=True: gpu)
    predictor = MotionPredictor(package_dir, notify=False)
    assert predictor.provider == "cuda" and predictor.precision == "fp16"
    sv = predictor.predict(samples["images"][6], seed=5, cache=False)
    assert predictor.provider == "cpu" and sv.meta["provider"] == "cpu" and sv.meta["precision"] == "fp32"
    assert predictor.notice.startswith("image-dynamics: running the motion model on the CPU, not CUDA: it failed "
                                       "while running the model (")
    np.testing.assert_array_equal(sv.coeffs, expected.coeffs)


def test_a_gpu_session_that_lands_on_the_cpu_falls_back_when_opening(package_dir: Path, samples, monkeypatch):
    gpu = providers.ProviderChoice("cuda", "cuda", [("CUDAExecutionProvider", {"device_id": 0}),
                                                    "CPUExecutionProvider"])
    monkeypatch.setattr(predict_mod, "choose_providers", lambda requested, notify=True: gpu)
    if _cuda_works():
        pytest.skip("CUDA really works here")
    predictor = MotionPredictor(package_dir, notify=False)
    predictor.load_sessions()
    assert predictor.provider == "cpu" and "its sessions failed to open" in predictor.notice


def test_explain_providers_reports_each_provider():
    text = providers.explain_providers()
    assert text.startswith(f"onnxruntime {ort.__version__}")
    assert "CPU: " in text and text.splitlines()[-1].startswith("auto uses: ")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert "\nCUDA: " in text


# ----------------------------------------------------------------------------------------------------------------------
# CLI


def run(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def image_png(tmp_path: Path, samples) -> Path:
    from PIL import Image

    path = tmp_path / "scene.png"
    Image.fromarray(np.concatenate([samples["images"][0], samples["images"][1]], axis=1)).save(path)  # 128x40
    return path


def test_cli_predict_writes_motion_and_reuses_the_cache(tmp_path: Path, image_png: Path, package_dir: Path, capsys):
    out = tmp_path / "motion.npz"
    assert run("predict", image_png, "-o", out, "--model", package_dir, "--seed", "4", "--steps", "3",
               "--provider", "cpu") == 0
    sv = spectral.load(out)
    assert (sv.width, sv.height, sv.num_bands) == (64, 20, 16)
    assert sv.meta["source"] == "model" and sv.meta["seed"] == 4 and sv.meta["steps"] == 3
    assert sv.meta["source_size"] == [128, 40]
    text = capsys.readouterr().out
    assert "wrote" in text and "64x20 grid for a 128x40 image" in text and "cpu" in text
    assert run("predict", image_png, "-o", out, "--model", package_dir, "--seed", "4", "--steps", "3",
               "--provider", "cpu", "--overwrite") == 0
    assert "from the cache" in capsys.readouterr().out
    np.testing.assert_array_equal(spectral.load(out).coeffs, sv.coeffs)


@pytest.mark.parametrize("args, message", [
    (["--model", "nope"], "no model package named 'nope'"),
    (["--steps", "0"], "steps must be between 1 and 1000"),
    (["--guidance", "-1"], "--guidance must be a number >= 0"),
    (["-o", "x.png"], "motion files are .npz"),
    (["--model", "{tmp}/missing"], "model package not found"),
])
def test_cli_predict_bad_input_exits_2_without_traceback(tmp_path, image_png, package_dir, capsys, args, message):
    base = ["predict", image_png, "-o", tmp_path / "m.npz", "--provider", "cpu"]
    if "--model" not in args:
        base += ["--model", package_dir]
    assert run(*base, *[a.replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("image-dynamics: error: ")


def test_cli_predict_refuses_to_overwrite_and_reports_a_broken_package(tmp_path, image_png, package_dir, capsys):
    out = tmp_path / "m.npz"
    out.write_bytes(b"keep")
    assert run("predict", image_png, "-o", out, "--model", package_dir) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep"
    broken = copy_package(package_dir, tmp_path / "broken")
    (broken / "denoiser.onnx").write_bytes(b"\x08")
    assert run("predict", image_png, "-o", tmp_path / "n.npz", "--model", broken) == 2
    err = capsys.readouterr().err
    assert "denoiser.onnx: sha256 mismatch" in err and "Traceback" not in err


def test_cli_models_lists_packages_and_providers(package_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pkg_mod, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    assert run("models") == 0
    assert "no motion model packages installed" in capsys.readouterr().out
    monkeypatch.setenv(pkg_mod.MODELS_ENV, str(package_dir.parent))
    assert run("models") == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny: K=16, 64x40, ") and "(+fp16)" in out and "licence: GPL" in out
    assert "motion-energy network" in out
    assert "providers:" in out and "auto uses: " in out and "cache: 0 result(s)" in out
    assert run("models", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["models"][0]["name"] == "tiny" and doc["models"][0]["ok"] and doc["models"][0]["K"] == 16
    broken = copy_package(package_dir, tmp_path / "pk" / "broken")
    (broken / "model.json").write_text("{")
    monkeypatch.setenv(pkg_mod.MODELS_ENV, str(tmp_path / "pk"))
    assert run("models") == 0
    assert "broken: BROKEN: " in capsys.readouterr().out


def test_cli_export_happy_path_and_bad_input(run_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "onnx" / "mine"
    assert run("-q", "export", run_dir, "-o", out) == 0
    assert ModelPackage.load(out).name == "mine"
    assert run("export", run_dir, "-o", out) == 2
    err = capsys.readouterr().err
    assert "already holds files" in err and "--overwrite" in err and "Traceback" not in err
    assert run("export", tmp_path / "no_run", "-o", tmp_path / "x") == 2
    assert "no such run folder or checkpoint" in capsys.readouterr().err
    (tmp_path / "empty_run").mkdir()
    assert run("export", tmp_path / "empty_run", "-o", tmp_path / "y") == 2
    assert "no model.pt in this run folder" in capsys.readouterr().err
    assert run("export", run_dir, "-o", tmp_path / "z", "--opset", "9") == 2
    assert "--opset must be between" in capsys.readouterr().err
    assert run("export", run_dir, "-o", tmp_path / "g", "--guidance", "nan") == 2
    assert "--guidance must be a number >= 0" in capsys.readouterr().err
    assert run("export", run_dir, "-o", tmp_path / "s", "--steps", "0") == 2
    assert "--steps must be between 1 and 1000" in capsys.readouterr().err
    assert run("export", run_dir, "-o", tmp_path / "e", "--eta", "-1") == 2
    assert "--eta must be >= 0" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in ("x", "z", "g", "s", "e"))


def test_export_records_chosen_sampler_defaults_and_the_attention_as_trained(run_dir: Path, tmp_path: Path):
    assert run("-q", "export", run_dir, "-o", tmp_path / "tuned", "--guidance", "2.5", "--steps", "7") == 0
    tuned = ModelPackage.load(tmp_path / "tuned")
    assert (tuned.sampler.guidance, tuned.sampler.steps, tuned.sampler.eta) == (2.5, 7, 0.0)
    assert json.loads((tmp_path / "tuned" / "model.json").read_text())["training"]["frequency_attention_trained"]

    # a stage-2 model (attention never trained, so the identity) is exported without the attention layers
    stage2 = MotionModel.load(run_dir / "model.pt")
    stage2.unet.set_frequency_attention(False)
    stage2.save(tmp_path / "stage2.pt")
    export_package(tmp_path / "stage2.pt", tmp_path / "stage2")
    doc = json.loads((tmp_path / "stage2" / "model.json").read_text())
    assert doc["training"]["frequency_attention_trained"] is False
    nodes = {name: len(onnx.load(str(folder / "denoiser.onnx")).graph.node)
             for name, folder in (("with", tmp_path / "tuned"), ("without", tmp_path / "stage2"))}
    assert nodes["without"] < nodes["with"]


def test_cli_animate_with_the_model_and_the_procedural_fallback(tmp_path, image_png, package_dir, monkeypatch,
                                                               capsys):
    monkeypatch.setattr(pkg_mod, "shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    assert run("animate", image_png, "-o", tmp_path / "a", "--loop-frames", "4", "--format", "png",
               "--save-motion", tmp_path / "a.npz") == 0
    assert "no default motion model package is installed" in capsys.readouterr().err
    assert spectral.load(tmp_path / "a.npz").meta["source"] == "procedural"
    assert run("-q", "animate", image_png, "-o", tmp_path / "b", "--loop-frames", "4", "--format", "png",
               "--model", package_dir, "--steps", "2", "--save-motion", tmp_path / "b.npz") == 0
    assert spectral.load(tmp_path / "b.npz").meta["source"] == "model"
    assert len(list((tmp_path / "b").glob("scene_*.png"))) == 4
    # a default package installed: the model is the default source
    copy_package(package_dir, tmp_path / "models" / "default")
    monkeypatch.setenv(pkg_mod.MODELS_ENV, str(tmp_path / "models"))
    assert run("-q", "animate", image_png, "-o", tmp_path / "c", "--loop-frames", "4", "--format", "png",
               "--steps", "2", "--save-motion", tmp_path / "c.npz") == 0
    assert spectral.load(tmp_path / "c.npz").meta["source"] == "model"


# ----------------------------------------------------------------------------------------------------------------------
# GPU (skipped without a working CUDA provider)


@pytest.mark.gpu
def test_gpu_fp32_and_fp16_agree_with_the_cpu(package_dir: Path, samples):
    if not _cuda_works():
        pytest.skip(f"no working CUDA provider: {providers.probe_provider('cuda')}")
    image = samples["images"][0]
    cpu = MotionPredictor(package_dir, provider="cpu").predict(image, seed=1, cache=False).coeffs
    scale = np.abs(cpu).max()
    gpu32 = MotionPredictor(package_dir, provider="cuda", precision="fp32")
    sv = gpu32.predict(image, seed=1, cache=False)
    assert gpu32.provider == "cuda" and sv.meta["precision"] == "fp32"
    assert np.abs(sv.coeffs - cpu).max() <= 1e-3 * scale
    gpu16 = MotionPredictor(package_dir, provider="cuda")
    sv16 = gpu16.predict(image, seed=1, cache=False)
    assert gpu16.provider == "cuda" and sv16.meta["precision"] == "fp16"
    assert np.abs(sv16.coeffs - cpu).max() <= 0.1 * scale  # fp16 through 10 DDIM steps: a loose bound


@pytest.mark.gpu
def test_gpu_graph_parity_per_graph_fp32(package_dir: Path, samples):
    if not _cuda_works():
        pytest.skip(f"no working CUDA provider: {providers.probe_provider('cuda')}")
    images = prepare_images(samples["images"][:2], W, H)
    cpu = ort.InferenceSession(str(package_dir / "image_encoder.onnx"), providers=["CPUExecutionProvider"])
    gpu = ort.InferenceSession(str(package_dir / "image_encoder.onnx"),
                               providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert gpu.get_providers()[0] == "CUDAExecutionProvider"
    for a, b in zip(cpu.run(None, {"image": images}), gpu.run(None, {"image": images})):
        assert np.abs(a - b).max() <= 1e-3


def test_export_graphs_spec_matches_the_package_graph_names(torch_model: MotionModel, package_dir: Path):
    doc = json.loads((package_dir / "model.json").read_text())
    for name, spec in export_graphs(torch_model).items():
        assert doc["graphs"][name]["inputs"] == spec["input_names"]
        assert doc["graphs"][name]["outputs"] == spec["output_names"]


def test_the_runtime_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys; import image_dynamics.model.predict, image_dynamics.model.cache, image_dynamics.cli; "
            "assert 'torch' not in sys.modules and 'onnx' not in sys.modules, sorted(sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_inference_runtime_never_imports_training_data_code():
    import subprocess
    import sys

    code = ("import sys; import image_dynamics.model.predict, image_dynamics.model.cache; "
            "bad = sorted(m for m in sys.modules if m.startswith(('image_dynamics.data', 'image_dynamics.train'))); "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_cli_eval_compares_the_package_torch_checkpoint_and_baselines(tmp_path, dataset, run_dir, package_dir,
                                                                       capsys):
    report = tmp_path / "report.json"
    regression = train_regression("tiny", dataset, tmp_path / "reg_run", steps=2, device="cpu")
    code = run("-q", "eval", "--data", dataset, "--train-data", dataset, "--checkpoint", run_dir / "model.pt",
               "--checkpoint", regression, "--model", package_dir, "--seeds", "0,1", "--steps", "3", "--guidance", "2",
               "--psnr-samples", "2", "-o", report)
    assert code == 0
    results = json.loads(report.read_text())["results"]
    assert set(results) == {"zero motion", "mean spectrum", str(run_dir / "model.pt"), str(regression),
                            f"onnx:{package_dir}"}
    assert results[str(regression)]["seeds"] == [0]  # deterministic: evaluated once
    assert results[str(run_dir / "model.pt")]["seeds"] == [0, 1]
    torch_mean, onnx_mean = results[str(run_dir / "model.pt")]["mean"], results[f"onnx:{package_dir}"]["mean"]
    for key in ("energy_corr", "moving_auc", "band_log_power_err", "psnr_db"):
        assert onnx_mean[key] == pytest.approx(torch_mean[key], rel=1e-3, abs=1e-3)  # the same model, two runtimes
    assert results["zero motion"]["mean"]["moving_auc"] == 0.5
    assert "energy_corr" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    assert run("-q", "eval", "--data", dataset, "--model", package_dir, "--guidance", "nan", "-o", bad) == 2
    err = capsys.readouterr().err
    assert "--guidance must be a number >= 0" in err and "Traceback" not in err and not bad.exists()
    # a training run's checkpoint is neither model: say so (read once, not once per model kind)
    torch.save({"kind": "training_run", "format_version": 1}, tmp_path / "checkpoint.pt")
    assert run("-q", "eval", "--data", dataset, "--checkpoint", tmp_path / "checkpoint.pt", "-o", bad) == 2
    err = capsys.readouterr().err
    assert "not a motion model or regression model checkpoint (found 'training_run')" in err
    assert "Traceback" not in err and not bad.exists()


def test_running_the_model_leaves_the_processs_floating_point_state_alone(predictor, samples):
    """Flush-to-zero set by an inference runtime would leak into the host (numpy, Blender): subnormals must survive."""
    predictor.predict(samples["images"][0], seed=0, steps=2, cache=False)
    tiny = np.float32(1e-40)  # a float32 subnormal
    assert tiny != 0 and np.float32(2e-38) / np.float32(1e4) != 0
