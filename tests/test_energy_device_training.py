"""scripts/energy_pack.py and scripts/train_energy_device.py: the energy network's data packed to travel to a lent GPU
and trained there by stage 4's step."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from image_dynamics.data.shards import ShardWriter
from image_dynamics.train.configs import get_config
from image_dynamics.train.energy_net import MotionEnergyNet
from image_dynamics.train.model import MotionModel

from .conftest import load_script, textured_rgb

pack = load_script("energy_pack")
device_training = load_script("train_energy_device")

W, H = 64, 40  # the tiny configuration's grid
FLOOR = 1e-4


def write_dataset(folder: Path, amplitude: float, count: int = 3, known_rows: int = H) -> Path:
    """``count`` textured scenes moving ``amplitude`` px in x in band 1 everywhere (5 px at 0 Hz in band 0)."""
    freqs = np.arange(16, dtype=np.float32) * 0.2
    writer = ShardWriter(folder, W, H, freqs, 30.0, 150, "test", shard_size=2)
    for i in range(count):
        coeffs = np.zeros((16, 2, H, W), np.complex64)
        coeffs[0, 0] = 5.0
        coeffs[1, 0] = amplitude
        known = np.zeros((H, W), np.uint8)
        known[:known_rows] = 1
        writer.add(textured_rgb(H, W, seed=i), coeffs, i, kind="meadow", known=known)
    writer.close()
    return folder


def init_and_pack(tmp_path: Path, scenes: int) -> Path:
    """A tiny model with an energy network saved at ``tmp_path/model.pt`` (returned), prepared into ``init/``, and a
    pack ``pack/`` of one dataset of ``scenes`` meadow scenes: what a device run takes."""
    model = MotionModel(get_config("tiny"))
    model.attach_energy_net()
    model_path = model.save(tmp_path / "model.pt")
    device_training.prepare(str(model_path), tmp_path / "init")
    write_dataset(tmp_path / "meadow", amplitude=2.0, count=scenes)
    pack.main([str(tmp_path / "pack"), str(tmp_path / "meadow")])
    return model_path


def test_quantised_log_energy_is_within_half_a_step_and_keeps_rest_at_zero():
    energy = np.array([0.0, 1e-6, 1e-3, 0.37, 4.0, 950.0], np.float32)
    log_back = pack.dequantise_log_energy(pack.quantise_log_energy(energy, FLOOR), FLOOR)
    assert np.abs(log_back - np.log(energy + FLOOR)).max() <= 0.5 / pack.STEPS_PER_LOG + 1e-6
    assert log_back[0] == np.float32(math.log(FLOOR))  # no motion stays exactly no motion


def test_pack_reads_back_as_the_shards_and_splits_over_folders(tmp_path):
    a = write_dataset(tmp_path / "meadow_a", amplitude=2.0, known_rows=30)
    b = write_dataset(tmp_path / "meadow_b", amplitude=0.5, count=2)
    assert pack.main([str(tmp_path / "pack"), f"{a}:1", f"{b}:3", "--per-file", "2"]) == 0
    packed = pack.load_pack([tmp_path / "pack"])
    assert packed.names == ["meadow-a", "meadow-b"] and packed.weights == [1.0, 3.0]
    assert packed.images.shape == (5, H, W, 3) and packed.log_energy_codes.shape == (5, 16, H, W)
    first = np.flatnonzero(packed.source == 0)[0]
    # JPEG 95 with 4:2:0 chroma: the flat half exact to a level or two, the random texture only correlated
    original = textured_rgb(H, W, seed=0).astype(float)
    assert np.abs(packed.images[first, H // 2:] - original[H // 2:]).mean() < 2
    assert np.corrcoef(packed.images[first].ravel(), original.ravel())[0, 1] > 0.9
    log_e = pack.dequantise_log_energy(packed.log_energy_codes[first], FLOOR)
    assert log_e[1] == pytest.approx(np.full((H, W), math.log(4.0 + FLOOR)), abs=1 / 16)
    assert log_e[0] == pytest.approx(np.full((H, W), math.log(25.0 + FLOOR)), abs=1 / 16)
    assert packed.known[first, :30].all() and not packed.known[first, 30:].any()
    # each dataset drawn by its weight, its scenes evenly: 3 scenes share 1/4, 2 share 3/4
    assert packed.sample_probabilities == pytest.approx([1 / 12] * 3 + [3 / 8] * 2)
    # the files of one pack moved into two folders (two calls of a lent machine) read back as the same set
    split = tmp_path / "split"
    for i, f in enumerate(sorted((tmp_path / "pack").glob("*.npz"))):
        folder = split / f"part{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder)
        shutil.copy(tmp_path / "pack" / "manifest.json", folder)
    again = pack.load_pack(sorted(split.iterdir()))
    assert again.names == packed.names and len(again.images) == 5
    assert sorted(again.log_energy_codes.sum(axis=(1, 2, 3)).tolist()) == \
        sorted(packed.log_energy_codes.sum(axis=(1, 2, 3)).tolist())


def test_zoomed_batches_scale_energy_as_the_square_of_the_magnification(tmp_path):
    write_dataset(tmp_path / "uniform", amplitude=1.5, count=2)
    pack.main([str(tmp_path / "pack"), str(tmp_path / "uniform")])
    device_training._PACK = pack.load_pack([tmp_path / "pack"])
    images, log_e, known = device_training.energy_batch(step=4, seed=1, batch=16, zoom=0.5, zoom_max=3.0, realism=0.0)
    assert images.shape == (16, H, W, 3) and log_e.shape == (16, 16, H, W) and known.shape == (16, H, W)
    gain = np.sqrt(np.exp(log_e[:, 1]).mean(axis=(1, 2)) / 1.5 ** 2)  # amplitude growth of each picture
    zoomed = gain > 1.05
    assert zoomed.any() and (~zoomed).any()
    assert gain[~zoomed] == pytest.approx(1.0, abs=0.04)
    assert (gain[zoomed] <= 3.0 * 1.04).all()
    # a zoom magnifies a uniform motion uniformly: the energy stays flat over the picture
    assert np.ptp(log_e[zoomed, 1], axis=(1, 2)).max() < 0.2
    # and the same step draws the same batch
    again = device_training.energy_batch(step=4, seed=1, batch=16, zoom=0.5, zoom_max=3.0, realism=0.0)
    assert np.array_equal(again[1], log_e) and np.array_equal(again[0], images)


def test_train_on_a_pack_and_merge_into_a_model(tmp_path):
    model_path = init_and_pack(tmp_path, scenes=4)
    device_training.main(["train", "--init", str(tmp_path / "init"), "--pack", str(tmp_path / "pack"),
                          "--out", str(tmp_path / "run"), "--seconds", "600", "--max-steps", "6", "--workers", "1",
                          "--prefetch", "2", "--snapshots", "2", "--timing-from", "1", "--timing-steps", "1",
                          "--set", "energy_batch=2", "--set", "photo_realism=0"])
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["steps"] == 6 and run["counts"] == [4]
    snapshots = sorted((tmp_path / "run").glob("energy_step*.pt"))
    assert [s.name for s in snapshots] == ["energy_step000003.pt", "energy_step000006.pt"]
    before = torch.load(tmp_path / "init" / "energy_init.pt")
    after = torch.load(snapshots[-1])
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it trained
    device_training.merge(str(model_path), str(snapshots[-1]), str(tmp_path / "merged.pt"))
    merged = MotionModel.load(tmp_path / "merged.pt")
    for k, v in merged.energy.state_dict().items():
        assert torch.equal(v, after[k].float())
    assert merged.config.energy_gain == 1.0
    assert isinstance(merged.energy, MotionEnergyNet)


def test_split_pack_deals_every_dataset_over_the_parts(tmp_path):
    write_dataset(tmp_path / "meadow_a", amplitude=2.0, count=4)
    write_dataset(tmp_path / "meadow_b", amplitude=0.5, count=4)
    pack.main([str(tmp_path / "pack"), str(tmp_path / "meadow_a"), str(tmp_path / "meadow_b"), "--per-file", "2"])
    assert pack.main(["split", str(tmp_path / "pack"), "2"]) == 0
    parts = [tmp_path / "pack_part1", tmp_path / "pack_part2"]
    for part in parts:  # one file of each dataset in each part
        assert sorted(pack.dataset_of(f.name) for f in part.glob("*.npz")) == ["meadow-a", "meadow-b"]
    whole, union = pack.load_pack([tmp_path / "pack"]), pack.load_pack(parts)
    assert union.names == whole.names and len(union.images) == len(whole.images) == 8
    assert pack.load_pack(parts[:1]).names == ["meadow-a", "meadow-b"]  # one part alone: the same mixture


def test_training_code_imports_without_openexr():
    """A lent GPU machine's image has no OpenEXR; only EXR files need it, so training must import without it."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['OpenEXR'] = None\n"
            "import image_dynamics.train.loop, image_dynamics.train.energy_net, image_dynamics.model.processing\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_run_goes_on_from_an_earlier_one(tmp_path):
    """Over several leases: the second run starts from the first's raw weights, average and optimiser state, and
    draws the batches after the first's."""
    init_and_pack(tmp_path, scenes=4)
    common = ["--init", str(tmp_path / "init"), "--pack", str(tmp_path / "pack"), "--seconds", "600", "--workers",
              "1", "--prefetch", "2", "--snapshots", "1", "--timing-from", "1", "--timing-steps", "1",
              "--set", "energy_batch=2", "--set", "photo_realism=0", "--set", "photo_exposure=0.5"]
    device_training.main(["train", "--out", str(tmp_path / "first"), "--max-steps", "4", *common])
    device_training.main(["train", "--out", str(tmp_path / "second"), "--max-steps", "3",
                          "--resume", str(tmp_path / "first"), *common])
    second = json.loads((tmp_path / "second" / "run.json").read_text())
    assert second["first_step"] == 4 and second["steps"] == 3
    weights = [torch.load(tmp_path / run / "state_weights.pt") for run in ("first", "second")]
    assert weights[0]["ema_updates"] + 3 == weights[1]["ema_updates"]
    optimiser = [torch.load(tmp_path / run / "state_optimizer.pt") for run in ("first", "second")]
    steps = [float(next(iter(o["state"].values()))["step"]) for o in optimiser]
    assert steps == [4.0, 7.0]  # AdamW's own count went on: its moments were loaded, not started again
    # and the raw weights moved on from where the first run left them
    first_raw, second_raw = weights[0]["raw"], weights[1]["raw"]
    assert any(not torch.equal(first_raw[k], second_raw[k]) for k in first_raw)


def test_batches_are_re_exposed_as_stage_4s_and_their_targets_kept(tmp_path):
    write_dataset(tmp_path / "meadow", amplitude=1.0, count=2)
    pack.main([str(tmp_path / "pack"), str(tmp_path / "meadow")])
    device_training._PACK = pack.load_pack([tmp_path / "pack"])
    plain = device_training.energy_batch(step=2, seed=3, batch=6, zoom=0.0, zoom_max=2.0, realism=0.0)
    lit = device_training.energy_batch(step=2, seed=3, batch=6, zoom=0.0, zoom_max=2.0, realism=0.0, exposure=1.0)
    assert not np.array_equal(plain[0], lit[0])  # every picture re-exposed ...
    assert np.array_equal(plain[1], lit[1]) and np.array_equal(plain[2], lit[2])  # ... its motion unchanged


def test_resuming_from_a_folder_without_state_says_so_and_trains_nothing(tmp_path):
    init_and_pack(tmp_path, scenes=2)
    (tmp_path / "old_run").mkdir()
    (tmp_path / "old_run" / "energy_step000010.pt").write_bytes(b"")  # snapshots only, as RL13 left
    with pytest.raises(SystemExit) as stopped:
        device_training.main(["train", "--init", str(tmp_path / "init"), "--pack", str(tmp_path / "pack"),
                              "--out", str(tmp_path / "new"), "--seconds", "60", "--workers", "1", "--prefetch", "1",
                              "--resume", str(tmp_path / "old_run")])
    message = str(stopped.value)
    assert "--resume" in message and "state_weights.pt" in message and "Nothing was trained" in message
    assert not list((tmp_path / "new").glob("*.pt"))
