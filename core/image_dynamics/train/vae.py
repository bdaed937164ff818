"""Spectral VAE: one normalised frequency slice (x.re, x.im, y.re, y.im) <-> a small continuous latent (GID).

Shapes (``D = 2 ** len(config.vae_channels)``, the latent downsampling):

- ``encode``: ``[N, 4, H, W] -> (mean, logvar)`` each ``[N, latent_channels, H/D, W/D]``;
- ``decode``: ``[N, latent_channels, H/D, W/D] -> [N, 4, H, W]`` (normalised channels, as the data after
  :func:`image_dynamics.data.normalise.normalise`).

No normalisation layers: they would discard each slice's overall amplitude (see :class:`~.layers.ResBlock`). The same
weights serve every band (the U-Net knows the band; the VAE only compresses a motion field). The first layer
is a stride-2 convolution and the last a pixel shuffle, so no convolution runs at full resolution: a band slice is
smooth at the pixel scale and full-resolution layers would dominate the cost.

Loss (GID): L1 + 0.2 x multi-scale gradient L1 + 1e-6 x KL, where L1 terms are means over elements and the KL is summed
over latent elements and averaged over the batch (the LDM convention, so 1e-6 is a real, small pull towards N(0, 1)).
The L1 terms are smoothed below ``config.vae_l1_beta`` (0.05 in normalised units; see :func:`smooth_l1`): with plain L1
a small VAE on mostly-static data settles on predicting no motion at all.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .configs import TrainConfig
from .layers import Downsample, ResBlock, Upsample

SLICE_CHANNELS = 4  # x.re, x.im, y.re, y.im of one band


class SpectralEncoder(nn.Module):
    """Band slice ``[N, 4, H, W]`` -> latent moments ``[N, 2 * latent_channels, H/D, W/D]`` (mean, logvar)."""

    def __init__(self, channels: tuple[int, ...], blocks: int, latent_channels: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(SLICE_CHANNELS, channels[0], 3, stride=2, padding=1)
        layers: list[nn.Module] = []
        for i, ch in enumerate(channels):
            layers += [ResBlock(ch, ch, norm=False) for _ in range(blocks)]
            if i + 1 < len(channels):
                layers.append(Downsample(ch, channels[i + 1]))
        layers.append(ResBlock(channels[-1], channels[-1], norm=False))
        self.body = nn.Sequential(*layers)
        self.conv_out = nn.Conv2d(channels[-1], 2 * latent_channels, 3, padding=1)
        self.latent_channels = latent_channels

    @torch.no_grad()
    def init_posterior(self) -> None:
        """Start with a small posterior spread (std ~0.05): with unit noise at initialisation the latent would carry
        almost nothing, and the decoder would settle on predicting zero motion before the encoder caught up."""
        self.conv_out.weight[self.latent_channels:].mul_(0.1)
        self.conv_out.bias[self.latent_channels:].fill_(-6.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(F.silu(self.body(self.conv_in(x))))


class SpectralDecoder(nn.Module):
    """Latent ``[N, latent_channels, H/D, W/D]`` -> band slice ``[N, 4, H, W]`` (normalised channels)."""

    def __init__(self, channels: tuple[int, ...], blocks: int, latent_channels: int) -> None:
        super().__init__()
        rev = channels[::-1]
        self.conv_in = nn.Conv2d(latent_channels, rev[0], 3, padding=1)
        layers: list[nn.Module] = [ResBlock(rev[0], rev[0], norm=False)]
        for i, ch in enumerate(rev):
            layers += [ResBlock(ch, ch, norm=False) for _ in range(blocks)]
            if i + 1 < len(rev):
                layers.append(Upsample(ch, rev[i + 1]))
        self.body = nn.Sequential(*layers)
        # the last x2 is a pixel shuffle: 4 output channels x (2 x 2) sub-pixels from the /2 features
        self.conv_out = nn.Conv2d(rev[-1], SLICE_CHANNELS * 4, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.conv_out(F.silu(self.body(self.conv_in(z))))
        return F.pixel_shuffle(h, 2)


def _variance_preserving_init(module: nn.Module) -> None:
    """Gain-1 He initialisation and residual branches that start at zero.

    Without normalisation layers PyTorch's default initialisation shrinks activations ~1.7x per convolution, so a
    fresh VAE's latent is mostly posterior noise and its output near zero; L1 then holds the decoder at "no motion"
    (the median of mostly static data) for hundreds of steps. With this initialisation the latent and the output
    start at the input's scale.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="linear")
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, ResBlock):
            nn.init.kaiming_normal_(m.conv1.weight, nonlinearity="relu")
            nn.init.zeros_(m.conv2.weight)


class SpectralVAE(nn.Module):
    """Encoder + decoder; ``forward(x) -> (reconstruction, mean, logvar)`` with a reparameterised sample."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.latent_channels = config.latent_channels
        self.downsample = config.latent_downsample
        self.encoder = SpectralEncoder(config.vae_channels, config.vae_blocks, config.latent_channels)
        self.decoder = SpectralDecoder(config.vae_channels, config.vae_blocks, config.latent_channels)
        _variance_preserving_init(self)
        self.encoder.init_posterior()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, 4, H, W] -> (mean, logvar)``, each ``[N, latent_channels, H/D, W/D]`` (logvar clamped to [-30, 20])."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, logvar = self.encode(x)
        # drawn on the CPU (where the step's generator lives) so runs on CPU and CUDA see the same noise
        noise = torch.randn(mean.shape, generator=generator, dtype=torch.float32).to(mean.device, mean.dtype)
        z = mean + torch.exp(0.5 * logvar) * noise
        return self.decode(z), mean, logvar


def smooth_l1(error: torch.Tensor, beta: float, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``|e| - beta / 2`` (``e^2 / (2 beta)`` below ``beta``): L1 whose gradient fades for tiny errors.

    Plain L1 pushes every output by the same amount towards its target's sign. Motion data are mostly exact zeros
    (static pixels), so a decoder whose outputs are near zero receives a +-1 push from every static pixel, noise that
    drowns the few moving ones, and L1 holds it at "no motion". Below ``beta`` the push shrinks with the error.
    ``beta = 0`` is plain L1. ``weight`` (broadcastable to ``error``, e.g. 1 where the motion is known, 0 where it is
    not) makes it a weighted mean; an all-zero weight gives 0.
    """
    if beta <= 0:
        per = error.abs()
    else:
        per = F.smooth_l1_loss(error, torch.zeros_like(error), beta=beta, reduction="none")
    if weight is None:
        return per.mean()
    w = weight.expand_as(per)
    return (per * w).sum() / w.sum().clamp_min(1.0)


def gradient_l1(pred: torch.Tensor, target: torch.Tensor, scales: int, beta: float = 0.0,
                known: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over ``scales`` (full, /2, /4, ...) of the (smooth) L1 difference of horizontal and vertical finite
    differences. ``known`` ``[N, 1, H, W]`` (1 known, 0 not): only differences between two known pixels count (at
    coarser scales, between cells that are entirely known)."""
    total = pred.new_zeros(())
    for s in range(scales):
        if s:
            pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
            if known is not None:
                known = (F.avg_pool2d(known, 2) >= 1.0 - 1e-6).to(known.dtype)
        if pred.shape[-1] < 2 or pred.shape[-2] < 2:
            break
        dx = (pred[..., :, 1:] - pred[..., :, :-1]) - (target[..., :, 1:] - target[..., :, :-1])
        dy = (pred[..., 1:, :] - pred[..., :-1, :]) - (target[..., 1:, :] - target[..., :-1, :])
        if known is None:
            total = total + smooth_l1(dx, beta) + smooth_l1(dy, beta)
        else:
            total = total + smooth_l1(dx, beta, known[..., :, 1:] * known[..., :, :-1]) \
                + smooth_l1(dy, beta, known[..., 1:, :] * known[..., :-1, :])
    return total / scales


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, 1)) summed over latent elements, averaged over the batch."""
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)
    return kl.flatten(1).sum(dim=1).mean()


def vae_loss(vae: SpectralVAE, x: torch.Tensor, config: TrainConfig, generator: torch.Generator | None = None,
             known: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """GID's VAE objective on band slices ``x`` ``[N, 4, H, W]``; returns (loss, metrics). ``known`` float
    ``[N, 1, H, W]`` (1 where the motion is known): unknown pixels are left out of both reconstruction terms."""
    recon, mean, logvar = vae(x, generator)
    l1 = smooth_l1(recon - x, config.vae_l1_beta, known)
    grad = gradient_l1(recon, x, config.vae_grad_scales, config.vae_l1_beta, known)
    kl = kl_divergence(mean, logvar)
    loss = l1 + config.vae_grad_weight * grad + config.vae_kl_weight * kl
    return loss, {"loss": loss.item(), "l1": l1.item(), "grad_l1": grad.item(), "kl": kl.item()}
