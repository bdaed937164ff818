"""A trainable model rebuilt from an exported package (train/recover.py) and continued with ``--init-from PACKAGE``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from image_dynamics.data.shards import read_info
from image_dynamics.data.synth import generate_dataset
from image_dynamics.errors import InputError
from image_dynamics.model.package import ModelPackageError
from image_dynamics.model.processing import energy_net_input
from image_dynamics.train.configs import get_config
from image_dynamics.train.export import export_package
from image_dynamics.train.loop import train
from image_dynamics.train.model import MotionModel
from image_dynamics.train.recover import check_recovered, package_payload, rebuild_from_package

from .conftest import edit_manifest

W, H = 64, 40


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recover_data") / "data"
    generate_dataset(folder, 8, width=W, height=H)
    return folder


@pytest.fixture(scope="module")
def original(dataset: Path) -> MotionModel:
    """A tiny model with every layer active (no zero-initialised layer that a wrong mapping could hide behind)."""
    torch.manual_seed(0)
    model = MotionModel(get_config("tiny"), read_info(dataset).norm_stats_path.read_text(), (W, H))
    model.attach_energy_net()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
        k, c = model.latent_shape[:2]
        model.set_latent_stats((0.1 * torch.randn(k, c)).numpy(), (0.5 + torch.rand(k, c)).numpy())
    model.unet.set_frequency_attention(True)
    return model.eval()


@pytest.fixture(scope="module")
def package(original: MotionModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_package(original, tmp_path_factory.mktemp("recover_pkg") / "tiny")


def test_every_weight_but_the_vae_encoder_comes_back_exactly(original: MotionModel, package: Path):
    rebuilt, missing = rebuild_from_package(package)
    assert missing and all(k.startswith("vae.encoder.") for k in missing)
    assert not rebuilt.vae_encoder_trained and rebuilt.unet.frequency_attention_enabled and rebuilt.energy is not None
    want, got = original.state_dict(), rebuilt.state_dict()
    for key in want:
        if key not in missing:
            assert torch.allclose(want[key], got[key], atol=1e-6), key
    diffs = check_recovered(rebuilt, package)
    assert set(diffs) == {"image_encoder", "denoiser", "vae_decoder", "energy_net"}
    assert max(diffs.values()) < 1e-4


def test_a_package_is_continued_in_its_energy_stage_only(dataset: Path, package: Path, tmp_path: Path):
    payload = package_payload(package)
    assert payload["vae_encoder_trained"] is False and payload["stats_json"] == json.dumps(
        json.loads((package / "model.json").read_text())["normalisation"])
    model_path = train("tiny", dataset, tmp_path / "energy", steps=3, device="cpu", init_from=package,
                       stages=("energy",))
    continued = MotionModel.load(model_path)
    assert not continued.vae_encoder_trained  # the marker travels with the continued model
    with pytest.raises(InputError, match="no VAE encoder.*--stages energy"):
        train("tiny", dataset, tmp_path / "diffusion", steps=3, device="cpu", init_from=package,
              stages=("diffusion", "energy"))
    with pytest.raises(InputError, match="no VAE encoder"):
        train("tiny", dataset, tmp_path / "all", steps=3, device="cpu", init_from=model_path)
    assert not (tmp_path / "diffusion").exists() and not (tmp_path / "all").exists()


def test_with_an_energy_input_key_stage_4_trains_on_what_the_package_will_feed(dataset: Path, package: Path,
                                                                             tmp_path: Path, monkeypatch):
    """``--set energy_input_key=K``: every training batch reaches the energy network re-exposed to K (as the exported
    package will feed it), the key travels with the model and its package, and a model rebuilt from that package
    keeps it."""
    from image_dynamics.train import energy_net

    seen = []

    def recording(images, key):
        seen.append((images.shape, key))
        return energy_net_input(images, key)

    monkeypatch.setattr(energy_net, "energy_net_input", recording)  # stage 4 feeds the network through it
    model_path = train("tiny", dataset, tmp_path / "keyed", steps=2, device="cpu", init_from=package,
                       stages=("energy",), settings=("energy_input_key=0.08",))
    assert len(seen) == 2 and all(key == 0.08 and shape[1] == 3 for shape, key in seen)
    assert MotionModel.load(model_path).config.energy_input_key == 0.08
    export_package(model_path, tmp_path / "pkg")
    rebuilt, _ = rebuild_from_package(tmp_path / "pkg")
    assert rebuilt.config.energy_input_key == 0.08
    seen.clear()
    train("tiny", dataset, tmp_path / "plain", steps=1, device="cpu", init_from=package, stages=("energy",))
    assert seen == []  # no key: the images as they are, no call


def test_a_calibration_gain_travels_with_the_package_and_is_dropped_once_the_energy_network_trains(
        original: MotionModel, dataset: Path, tmp_path: Path):
    """A model rebuilt from a calibrated package keeps its gain; continuing its energy network starts again at 1
    (the gain was fitted on the old weights; scripts/calibrate_energy_gain.py fits it anew), unless ``--set`` names
    one."""
    calibrated = export_package(original, tmp_path / "calibrated", energy_gain=3.0)
    rebuilt, _ = rebuild_from_package(calibrated)
    assert rebuilt.config.energy_gain == 3.0
    continued = MotionModel.load(train("tiny", dataset, tmp_path / "energy", steps=1, device="cpu",
                                       init_from=calibrated, stages=("energy",)))
    assert continued.config.energy_gain == 1.0
    chosen = MotionModel.load(train("tiny", dataset, tmp_path / "chosen", steps=1, device="cpu",
                                    init_from=calibrated, stages=("energy",), settings=("energy_gain=2.0",)))
    assert chosen.config.energy_gain == 2.0


def test_a_package_whose_weights_cannot_all_be_placed_is_refused(package: Path, tmp_path: Path):
    import shutil

    import onnx

    broken = tmp_path / "broken"
    shutil.copytree(package, broken)
    graph_path = broken / "energy_net.onnx"
    proto = onnx.load(str(graph_path))
    folded = {i.name for i in proto.graph.initializer if i.name.startswith("onnx::")}
    node = next(n for n in proto.graph.node if n.op_type == "Mul" and set(n.input) & folded)  # a norm's weight
    node.name = "/somewhere_else/Mul"  # its scope no longer names a module of the model
    onnx.save(proto, str(graph_path))
    with pytest.raises(ModelPackageError, match="sha256"):  # the package's own check sees the changed file first
        package_payload(broken)
    edit_manifest(broken, lambda doc: None, rehash=True)  # an export that placed its weights where none belong
    with pytest.raises(InputError, match="lacks weights for 1 parameters"):
        package_payload(broken)


def test_a_package_without_its_training_facts_is_refused_in_one_line(package: Path, tmp_path: Path):
    import shutil

    broken = tmp_path / "no_training"
    shutil.copytree(package, broken)
    edit_manifest(broken, lambda doc: doc.pop("training"))
    with pytest.raises(InputError, match="does not record its training configuration"):
        rebuild_from_package(broken)
