"""Building blocks shared by the networks.

Everything here exports to ONNX (opset 17+): no data-dependent Python control flow in ``forward`` (branches depend only
on constructor arguments and tensor ranks), no complex tensors, attention written with plain matmul + softmax.

Shapes: feature maps are ``[N, C, H, W]``; when K frequency bands are folded into the batch, ``N = B * K`` with the
bands of one image adjacent (``x.view(B, K, ...)`` recovers them).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 16 groups (as many as divide ``channels``)."""
    return nn.GroupNorm(math.gcd(channels, 16), channels, eps=1e-5)


def zero_module(module: nn.Module) -> nn.Module:
    """Zero every parameter of ``module`` (residual branches that start as the identity)."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class Downsample(nn.Module):
    """Stride-2 3x3 convolution: ``[N, C_in, H, W] -> [N, C_out, H/2, W/2]``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """3x3 convolution, then nearest x2: ``[N, C_in, H, W] -> [N, C_out, 2H, 2W]``.

    Convolving before upsampling costs a quarter of the usual order; the residual blocks that follow smooth the
    nearest-neighbour steps.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), scale_factor=2.0, mode="nearest")


class ResBlock(nn.Module):
    """Pre-activation residual block with optional modulation.

    ``forward(x, emb=None, cond=None)``:

    - ``x``: ``[N, C_in, H, W]`` with ``N = B * Kb`` (bands folded into the batch) or ``N = B``;
    - ``emb``: ``[N, emb_dim]`` per-sample embedding -> channel-wise scale and shift after the second norm;
    - ``cond``: ``[B, cond_ch, H, W]`` per-image feature map -> spatial scale and shift (FiLM), computed once per image
      and broadcast over the ``Kb`` bands of that image (cheaper than concatenating it to every band slice).

    ``norm=False`` drops the GroupNorms: per-sample normalisation discards each sample's overall amplitude, which is the
    very thing the spectral VAE must carry from input to output.
    """

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int | None = None, cond_ch: int | None = None,
                 norm: bool = True) -> None:
        super().__init__()
        self.out_ch = out_ch
        self.norm1 = group_norm(in_ch) if norm else nn.Identity()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2 = group_norm(out_ch) if norm else nn.Identity()
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, 2 * out_ch) if emb_dim else None
        self.cond_proj = nn.Conv2d(cond_ch, 2 * out_ch, 1) if cond_ch else None
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h)
        if self.emb_proj is not None and emb is not None:
            scale, shift = self.emb_proj(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        if self.cond_proj is not None and cond is not None:
            n, c, hh, ww = h.shape
            scale, shift = self.cond_proj(cond).unsqueeze(1).chunk(2, dim=2)  # [B, 1, C, H, W] each
            h = (h.view(cond.shape[0], -1, c, hh, ww) * (1 + scale) + shift).view(n, c, hh, ww)
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over tokens ``[N, L, C] -> [N, L, C]`` (plain matmul + softmax, exports to ONNX)."""

    def __init__(self, channels: int, head_dim: int) -> None:
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.head_dim = channels // self.heads
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n, length, c = tokens.shape
        qkv = self.qkv(tokens).view(n, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [N, heads, L, d]
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (self.head_dim ** -0.5), dim=-1)
        mixed = torch.matmul(weights, v).transpose(1, 2).reshape(n, length, c)
        return self.out(mixed)


class SpatialAttention(nn.Module):
    """Residual self-attention over the positions of each slice: ``[N, C, H, W] -> [N, C, H, W]``."""

    def __init__(self, channels: int, head_dim: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.attn = Attention(channels, head_dim)
        zero_module(self.attn.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        tokens = self.norm(x).view(n, c, h * w).transpose(1, 2)
        return x + self.attn(tokens).transpose(1, 2).reshape(n, c, h, w)


class FrequencyAttention(nn.Module):
    """GID's frequency-coordinated denoising: attention across the bands of one image at each spatial location.

    ``forward(x, band_emb)`` with ``x`` ``[B * Kb, C, H, W]`` (bands adjacent) and ``band_emb`` ``[B, Kb, C]``
    (which band each token is). The output projection starts at zero, so a fresh layer is the identity: stage 1
    trains the U-Net per frequency with the layer switched off (``enabled = False``: bypassed); stage 2 switches it
    on and fine-tunes it.
    ``enabled`` is a Python attribute fixed before tracing, so the exported graph has no branch.
    """

    def __init__(self, channels: int, head_dim: int) -> None:
        super().__init__()
        self.enabled = False
        self.norm = nn.LayerNorm(channels)
        self.attn = Attention(channels, head_dim)
        zero_module(self.attn.out)

    def forward(self, x: torch.Tensor, band_emb: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        n, c, h, w = x.shape
        b, kb = band_emb.shape[0], band_emb.shape[1]
        # [B*Kb, C, H, W] -> [B, H*W, Kb, C]: one sequence of Kb band tokens per image and location
        tokens = x.view(b, kb, c, h * w).permute(0, 3, 1, 2)
        tokens = self.norm(tokens) + band_emb.unsqueeze(1)
        mixed = self.attn(tokens.reshape(b * h * w, kb, c)).view(b, h * w, kb, c)
        return x + mixed.permute(0, 2, 3, 1).reshape(n, c, h, w)


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (float) timesteps ``[N] -> [N, dim]`` (cos half, then sin half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
