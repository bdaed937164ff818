"""Convolutional image encoder giving the conditioning features (trained with the denoiser; no downloaded backbone).

``forward(image)`` with ``image`` float ``[B, 3, H, W]`` in 0..1 (sRGB as stored) returns

- ``pyramid``: tuple of ``config.unet_levels`` feature maps; level ``l`` is ``[B, C_l, h / 2**l, w / 2**l]``, where
  ``h x w`` is the U-Net's first grid (the image size / ``config.feature_stride``) and ``C_l`` the encoder width there;
- ``global_feat``: ``[B, encoder_channels[-1]]``, the mean of the deepest features (scene-wide facts such as wind
  strength that every pixel's motion shares).

The encoder runs once per image per sample, not per band or per step, so it may be deeper than the denoiser.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .configs import TrainConfig
from .layers import Downsample, ResBlock, Upsample


class ImageEncoder(nn.Module):
    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        ch = config.encoder_channels
        self.stem = nn.Conv2d(3, ch[0], 3, stride=2, padding=1)
        self.stages = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i, c in enumerate(ch):
            self.stages.append(nn.Sequential(*[ResBlock(c, c) for _ in range(config.encoder_blocks)]))
            if i + 1 < len(ch):
                self.downs.append(Downsample(c, ch[i + 1]))
        # stage i has stride 2 ** (i + 1); the pyramid starts at the latent stride
        self.first_output = int(math.log2(config.feature_stride)) - 1
        self.pyramid_channels = tuple(ch[self.first_output:])
        self.global_channels = ch[-1]

    def stage_outputs(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's output, strides /2 .. deepest (the regression baseline uses them all as skips)."""
        h = self.stem(image * 2.0 - 1.0)
        outputs = []
        for i, stage in enumerate(self.stages):
            h = stage(h)
            outputs.append(h)
            if i < len(self.downs):
                h = self.downs[i](h)
        return outputs

    def forward(self, image: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        pyramid = tuple(self.stage_outputs(image)[self.first_output:])
        return pyramid, pyramid[-1].mean(dim=(2, 3))


class PyramidDecoder(nn.Module):
    """Base of the networks that decode every stage of an :class:`ImageEncoder` back up, U-Net style: the deepest
    stage through a residual block, then per level up a x2 :class:`Upsample` and a residual block over it
    concatenated with that stage's skip. ``decode(skips)`` gives ``[B, decoder_channels[0], H / 2, W / 2]``.

    Subclasses call :meth:`build_decoder` in ``__init__`` (the modules keep the names ``bottom``, ``ups`` and
    ``blocks``, as checkpoints store them).
    """

    def build_decoder(self, encoder_channels: tuple[int, ...], decoder_channels: tuple[int, ...]) -> None:
        enc, dec = encoder_channels, decoder_channels
        self.bottom = ResBlock(enc[-1], dec[-1])
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for i in reversed(range(len(dec) - 1)):
            self.ups.append(Upsample(dec[i + 1], dec[i]))
            self.blocks.append(ResBlock(dec[i] + enc[i], dec[i]))

    def decode(self, skips: list[torch.Tensor]) -> torch.Tensor:
        h = self.bottom(skips[-1])
        for j, (up, block) in enumerate(zip(self.ups, self.blocks)):
            h = block(torch.cat([up(h), skips[len(skips) - 2 - j]], dim=1))
        return h
