"""scripts/mix_energy_weights.py: only the energy network is mixed, by the share asked, and bad input is refused."""

from __future__ import annotations

import pytest
import torch

from .conftest import load_script


@pytest.fixture(scope="module")
def mix():
    return load_script("mix_energy_weights")


def _state(value: float) -> dict[str, torch.Tensor]:
    return {"energy.head.weight": torch.full((2, 3), value), "energy.steps": torch.tensor([int(value)]),
            "unet.conv.weight": torch.full((4,), value), "vae.decoder.bias": torch.full((1,), value)}


def test_the_energy_network_is_mixed_and_the_rest_is_the_base(mix):
    out = mix.mix_energy_state(_state(1.0), _state(3.0), 0.25)
    assert torch.allclose(out["energy.head.weight"], torch.full((2, 3), 1.5))
    assert out["energy.steps"].item() == 1  # integer buffers are the base's
    assert torch.equal(out["unet.conv.weight"], torch.full((4,), 1.0))
    assert torch.equal(out["vae.decoder.bias"], torch.full((1,), 1.0))
    assert torch.equal(mix.mix_energy_state(_state(1.0), _state(3.0), 1.0)["energy.head.weight"],
                       torch.full((2, 3), 3.0))


def test_bad_input_is_refused(mix):
    with pytest.raises(SystemExit, match="between 0 and 1"):
        mix.mix_energy_state(_state(1.0), _state(3.0), 1.5)
    other = _state(3.0)
    other["energy.extra"] = torch.zeros(1)
    with pytest.raises(SystemExit, match="do not match"):
        mix.mix_energy_state(_state(1.0), other, 0.5)
    with pytest.raises(SystemExit, match="no motion-energy network"):
        mix.mix_energy_state({"unet.w": torch.zeros(1)}, {"unet.w": torch.zeros(1)}, 0.5)
