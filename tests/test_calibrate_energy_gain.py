"""scripts/calibrate_energy_gain.py: the gain that makes an energy network's mean energy over a mixture the data's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from image_dynamics.data.shards import ShardWriter, read_info

from .conftest import load_script

W, H, K = 16, 8, 4


class ConstantEnergy:
    """A stand-in network that says every band of every pixel moves ``value`` squared pixels."""

    def __init__(self, value: float, gain: float = 1.0) -> None:
        self.value = value
        self.config = type("Config", (), {"energy_gain": gain})()

    def band_energy(self, images: torch.Tensor) -> np.ndarray:
        return np.full((images.shape[0], K, H, W), self.value, np.float32)


def write_dataset(folder: Path, amplitude: float, known_rows: int, count: int = 3) -> Path:
    """``count`` scenes whose x motion has ``amplitude`` px in band 1 (and 5 px at 0 Hz, which must not count); only
    the first ``known_rows`` rows are known."""
    freqs = np.arange(K, dtype=np.float32) * 0.2
    writer = ShardWriter(folder, W, H, freqs, 30.0, 150, "test", shard_size=2)
    for i in range(count):
        coeffs = np.zeros((K, 2, H, W), np.complex64)
        coeffs[0, 0] = 5.0
        coeffs[1, 0] = amplitude
        known = np.zeros((H, W), np.uint8)
        known[:known_rows] = 1
        writer.add(np.zeros((H, W, 3), np.uint8), coeffs, i, kind="meadow", known=known)
    writer.close()
    return folder


def test_the_gain_weights_each_dataset_as_training_draws_it_and_counts_known_pixels_only(tmp_path: Path):
    script = load_script("calibrate_energy_gain")
    fast = write_dataset(tmp_path / "fast", amplitude=3.0, known_rows=2)  # true energy 9 px^2 where known
    slow = write_dataset(tmp_path / "slow", amplitude=1.0, known_rows=8)  # 1 px^2
    model = ConstantEnergy(0.25)  # 3 moving bands x 0.25 = 0.75 px^2 predicted everywhere
    rows = [script.dataset_energy(model, str(fast), 2.0), script.dataset_energy(model, str(slow), 1.0)]
    assert rows[0].known_pixels == 3 * 2 * W and rows[1].known_pixels == 3 * H * W
    assert rows[0].mean_true == pytest.approx(9.0) and rows[0].mean_pred == pytest.approx(0.75)
    assert script.mixture_gain(rows) == pytest.approx((2 * 9.0 + 1.0) / (3 * 0.75))
    assert rows[0].family_ratios == {"meadow": pytest.approx(12.0)} and rows[1].family_ratios["meadow"] == \
        pytest.approx(1 / 0.75)
    with pytest.raises(ValueError, match="predicts no motion"):
        script.mixture_gain([script.dataset_energy(ConstantEnergy(0.0), str(slow), 1.0)])
    assert read_info(fast).count == 3


def test_out_writes_the_model_with_its_fitted_gain_rounded_as_a_package_records_it(tmp_path: Path, monkeypatch,
                                                                                   capsys):
    """``--out``: the model, weights unchanged, carrying the fitted gain to 3 significant digits, so it says that
    much more motion than the model given; the JSON keeps the unrounded fit."""
    from image_dynamics.data.synth import generate_dataset
    from image_dynamics.train.configs import get_config
    from image_dynamics.train.model import MotionModel

    script = load_script("calibrate_energy_gain")
    assert script.rounded_gain(8.7499) == 8.75 and script.rounded_gain(12.74) == 12.7
    data = tmp_path / "data"
    generate_dataset(data, 4, width=64, height=40)
    torch.manual_seed(0)
    model = MotionModel(get_config("tiny"), read_info(data).norm_stats_path.read_text(), (64, 40))
    model.attach_energy_net()
    source = model.save(tmp_path / "model.pt")
    argv = ["calibrate_energy_gain.py", str(source), "--data", f"{data}:1", "--threads", "1",
            "--json", str(tmp_path / "fit.json"), "--out", str(tmp_path / "calibrated.pt")]
    monkeypatch.setattr("sys.argv", argv)
    # an untrained head says almost no motion: a gain past 100 is refused in one line, and no model is written
    with pytest.raises(SystemExit, match="outside 0.01..100; a network this far off needs training"):
        script.main()
    assert not (tmp_path / "calibrated.pt").exists()
    with torch.no_grad():
        model.energy.head.bias += float(np.log(300.0))  # about 0.03 px^2 everywhere: within reach of a gain
    model.save(source)
    script.main()
    fitted = __import__("json").loads((tmp_path / "fit.json").read_text())["gain"]
    calibrated = MotionModel.load(tmp_path / "calibrated.pt")
    assert calibrated.config.energy_gain == script.rounded_gain(fitted) != 1.0
    images = torch.rand(2, 3, 40, 64)
    np.testing.assert_allclose(calibrated.band_energy(images), calibrated.config.energy_gain *
                               MotionModel.load(source).band_energy(images), rtol=1e-5, atol=1e-12)
    assert f"gain: {script.rounded_gain(fitted):g}" in capsys.readouterr().out
