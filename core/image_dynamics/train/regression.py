"""Direct-regression baseline: a U-Net from the image straight to normalised coefficients, trained with L1.

It answers "does diffusion help?" in the evaluation: same data, same normalisation, same image encoder design and a
decoder sized so the whole network has about as many parameters as the diffusion model's encoder + denoiser + VAE
decoder. Being deterministic, it predicts the conditional median of the motion, which blurs phases and tends to
under-predict energy where motion is uncertain.

``RegressionUNet.forward(image [B, 3, H, W] 0..1) -> [B, K, 4, H, W]`` normalised channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..spectral import DEFAULT_FPS, DEFAULT_WINDOW_FRAMES
from .configs import TrainConfig
from .image_encoder import ImageEncoder, PyramidDecoder
from .model import CheckpointedModel, channels_to_output, load_stats_json, prepare_images


class RegressionUNet(PyramidDecoder):
    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.num_bands = config.num_bands
        self.encoder = ImageEncoder(config)
        self.build_decoder(config.encoder_channels, config.regression_channels)
        dec = config.regression_channels
        # outputs at /2, then a pixel shuffle to full resolution (as the VAE decoder); no GroupNorm before the head:
        # it would discard each image's overall motion amplitude
        self.conv_out = nn.Conv2d(dec[0], config.num_bands * 4 * 4, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h = self.decode(self.encoder.stage_outputs(image))
        out = F.pixel_shuffle(self.conv_out(F.silu(h)), 2)
        return out.view(out.shape[0], self.num_bands, 4, out.shape[2], out.shape[3])


def regression_loss(net: RegressionUNet, images: torch.Tensor, target: torch.Tensor,
                    known: torch.Tensor | None = None) -> torch.Tensor:
    """Mean L1 between predicted and true normalised channels ``[B, K, 4, H, W]``; with ``known`` float
    ``[B, H, W]`` (1 where the motion is known) over known pixels only."""
    error = (net(images) - target).abs()
    if known is None:
        return error.mean()
    w = known[:, None, None].to(error.dtype).expand_as(error)
    return (error * w).sum() / w.sum().clamp_min(1.0)


class RegressionModel(CheckpointedModel):
    """The baseline with the same ``predict`` and checkpoint interface as :class:`~.model.MotionModel`."""

    checkpoint_kind = "regression_model"

    def __init__(self, config: TrainConfig, stats_json: str = "", coeff_grid: tuple[int, int] | None = None,
                 freqs_hz: Sequence[float] | None = None, fps: float = DEFAULT_FPS,
                 window_frames: int = DEFAULT_WINDOW_FRAMES, data_note: str = "") -> None:
        super().__init__(config, stats_json, coeff_grid, freqs_hz, fps, window_frames, data_note)
        self.net = RegressionUNet(config)

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
