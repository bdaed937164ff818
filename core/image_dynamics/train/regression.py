"""Direct-regression baseline: a U-Net from the image straight to normalised coefficients, trained with L1.

It answers "does diffusion help?" in the evaluation: same data, same normalisation, same image encoder design and a
decoder sized so the whole network has about as many parameters as the diffusion model's encoder + denoiser + VAE
decoder. Being deterministic, it predicts the conditional median of the motion, which blurs phases and tends to
under-predict energy where motion is uncertain.

``RegressionUNet.forward(image [B, 3, H, W] 0..1) -> [B, K, 4, H, W]`` normalised channels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..spectral import DEFAULT_FPS, DEFAULT_WINDOW_FRAMES, harmonic_freqs
from .configs import TrainConfig
from .image_encoder import ImageEncoder
from .layers import ResBlock, Upsample
from .model import (
    CHECKPOINT_FORMAT,
    _resolve_device,
    channels_to_output,
    config_from_facts,
    load_payload,
    load_stats_json,
    prepare_images,
    save_payload,
)


class RegressionUNet(nn.Module):
    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.num_bands = config.num_bands
        self.encoder = ImageEncoder(config)
        enc, dec = config.encoder_channels, config.regression_channels
        self.bottom = ResBlock(enc[-1], dec[-1])
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for i in reversed(range(len(dec) - 1)):
            self.ups.append(Upsample(dec[i + 1], dec[i]))
            self.blocks.append(ResBlock(dec[i] + enc[i], dec[i]))
        # outputs at /2, then a pixel shuffle to full resolution (as the VAE decoder); no GroupNorm before the head:
        # it would discard each image's overall motion amplitude
        self.conv_out = nn.Conv2d(dec[0], config.num_bands * 4 * 4, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = self.encoder.stage_outputs(image)
        h = self.bottom(skips[-1])
        for j, (up, block) in enumerate(zip(self.ups, self.blocks)):
            level = len(skips) - 2 - j
            h = block(torch.cat([up(h), skips[level]], dim=1))
        out = F.pixel_shuffle(self.conv_out(F.silu(h)), 2)
        return out.view(out.shape[0], self.num_bands, 4, out.shape[2], out.shape[3])


def regression_loss(net: RegressionUNet, images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 between predicted and true normalised channels ``[B, K, 4, H, W]``."""
    return (net(images) - target).abs().mean()


class RegressionModel(nn.Module):
    """The baseline with the same ``predict`` and checkpoint interface as :class:`~.model.MotionModel`."""

    def __init__(self, config: TrainConfig, stats_json: str = "", coeff_grid: tuple[int, int] | None = None,
                 freqs_hz: Sequence[float] | None = None, fps: float = DEFAULT_FPS,
                 window_frames: int = DEFAULT_WINDOW_FRAMES, data_note: str = "") -> None:
        super().__init__()
        self.config = config
        self.net = RegressionUNet(config)
        self.stats_json = stats_json
        self.coeff_grid = tuple(coeff_grid or (config.width, config.height))
        self.freqs_hz = [float(f) for f in (freqs_hz if freqs_hz is not None
                                            else harmonic_freqs(config.num_bands, window_frames, fps))]
        self.fps = float(fps)
        self.window_frames = int(window_frames)
        self.data_note = data_note

    @torch.no_grad()
    def predict(self, images: np.ndarray, seed: int | Sequence[int] = 0, steps: int | None = None,
                **_ignored: Any) -> np.ndarray:
        """complex64 ``[B, K, 2, H, W]`` for uint8 / float ``[B, H, W, 3]`` images (``seed`` and ``steps`` unused:
        the baseline is deterministic)."""
        arr = np.asarray(images)
        out_h, out_w = (arr.shape[0], arr.shape[1]) if arr.ndim == 3 else (arr.shape[1], arr.shape[2])
        batch = prepare_images(arr, self.config.width, self.config.height)
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            normalised = self.net(torch.from_numpy(batch).to(device))
        finally:
            self.train(was_training)
        return channels_to_output(normalised.float().cpu().numpy(), load_stats_json(self.stats_json),
                                  self.coeff_grid, out_w, out_h)

    def facts(self) -> dict[str, Any]:
        return {"config_name": self.config.name, "config": self.config.to_dict(), "stats_json": self.stats_json,
                "coeff_grid": list(self.coeff_grid), "freqs_hz": list(self.freqs_hz), "fps": self.fps,
                "window_frames": self.window_frames, "data_note": self.data_note}

    def save(self, path: str | os.PathLike) -> Path:
        payload = {"kind": "regression_model", "format_version": CHECKPOINT_FORMAT, **self.facts(),
                   "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}
        return save_payload(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> RegressionModel:
        payload = load_payload(path, "regression_model")
        model = cls(config_from_facts(payload), payload["stats_json"], tuple(payload["coeff_grid"]),
                    payload["freqs_hz"], payload["fps"], payload["window_frames"], payload.get("data_note", ""))
        try:
            model.load_state_dict(payload["state_dict"])
        except RuntimeError as exc:
            raise InputError(f"{path}: weights do not fit configuration '{model.config.name}' ({exc})") from None
        return model.to(_resolve_device(device)).eval()
