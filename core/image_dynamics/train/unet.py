"""Latent denoiser: a U-Net over the band slices of a spectral volume, conditioned on the image.

``forward(latents, timesteps, pyramid, global_feat, band_idx=None) -> prediction``

- ``latents``: float ``[B, Kb, C_lat, h, w]``, noisy latents of ``Kb`` bands per image (``Kb = K`` when sampling);
- ``timesteps``: float ``[B]`` (one diffusion time per image) or ``[B, Kb]`` (per band slice, stage-1 training);
- ``pyramid``, ``global_feat``: the image encoder's outputs (all zeros = the unconditional model used by guidance);
- ``band_idx``: int64 ``[B, Kb]``, which band each slice is; ``None`` means all K bands in order (sampling, export);
- returns ``[B, Kb, C_lat, h, w]``: v (or epsilon) prediction per slice.

Per-frequency processing: bands are folded into the batch (``[B * Kb, C, h, w]``), each told its band through a
learned frequency embedding added to the timestep embedding. The image features modulate every residual block by a
spatial scale and shift computed once per image and broadcast over its bands.

Frequency-coordinated denoising (GID): :class:`~.layers.FrequencyAttention` layers at the low-resolution levels (and
the middle) let the bands of one image exchange information at each location. They start as the identity (zero output
projection) and are bypassed until :meth:`LatentUNet.set_frequency_attention` switches them on for stage 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .configs import TrainConfig
from .layers import Downsample, FrequencyAttention, ResBlock, SpatialAttention, Upsample, group_norm, timestep_embedding


class LatentUNet(nn.Module):
    def __init__(self, config: TrainConfig, pyramid_channels: tuple[int, ...], global_channels: int) -> None:
        super().__init__()
        ch = config.unet_channels
        emb = config.embed_dim
        self.num_bands = config.num_bands
        self.latent_channels = config.latent_channels
        self.time_channels = ch[0]
        self.time_mlp = nn.Sequential(nn.Linear(ch[0], emb), nn.SiLU(), nn.Linear(emb, emb))
        self.band_embedding = nn.Embedding(config.num_bands, emb)
        self.global_proj = nn.Linear(global_channels, emb)
        self.register_buffer("all_bands", torch.arange(config.num_bands, dtype=torch.int64), persistent=False)

        self.patch = config.unet_patch
        # patch > 1: a p x p, stride-p convolution in and a pixel shuffle out ("patchify", as in DiT): the network
        # runs at 1/p of the latent size, which is where its cost is, while the latent keeps the VAE's finer grid
        if self.patch > 1:
            self.conv_in = nn.Conv2d(config.latent_channels, ch[0], self.patch, stride=self.patch)
        else:
            self.conv_in = nn.Conv2d(config.latent_channels, ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        for lvl, c in enumerate(ch):
            c_in = ch[lvl - 1] if lvl else ch[0]
            blocks = [ResBlock(c_in if i == 0 else c, c, emb, pyramid_channels[lvl]) for i in range(config.unet_blocks)]
            self.down_blocks.append(nn.ModuleList(blocks))
            if lvl + 1 < len(ch):
                self.downsamples.append(Downsample(c, c))

        c_mid = ch[-1]
        self.mid1 = ResBlock(c_mid, c_mid, emb, pyramid_channels[-1])
        self.mid_spatial = SpatialAttention(c_mid, config.attention_head_dim) if config.spatial_attention_mid else None
        self.mid_freq = FrequencyAttention(c_mid, config.attention_head_dim)
        self.mid2 = ResBlock(c_mid, c_mid, emb, pyramid_channels[-1])

        self.up_blocks = nn.ModuleList()
        self.upsamples = nn.ModuleList()
        for lvl in reversed(range(len(ch))):
            c = ch[lvl]
            c_from = ch[lvl + 1] if lvl + 1 < len(ch) else c_mid
            if lvl + 1 < len(ch):
                self.upsamples.append(Upsample(c_from, c))
            blocks = [ResBlock(2 * c if i == 0 else c, c, emb, pyramid_channels[lvl])
                      for i in range(config.unet_blocks)]
            self.up_blocks.append(nn.ModuleList(blocks))

        # frequency attention after the down blocks and after the up blocks of the chosen levels
        self.freq_levels = tuple(sorted(config.freq_attention_levels))
        heads = config.attention_head_dim
        self.freq_down = nn.ModuleDict({str(lvl): FrequencyAttention(ch[lvl], heads) for lvl in self.freq_levels})
        self.freq_up = nn.ModuleDict({str(lvl): FrequencyAttention(ch[lvl], heads) for lvl in self.freq_levels})
        # per-level projection of the band embedding to token width (tells each attention token its band)
        token_levels = sorted({*self.freq_levels, len(ch) - 1})
        self.band_tokens = nn.ModuleDict({str(lvl): nn.Linear(emb, ch[lvl]) for lvl in token_levels})

        self.norm_out = group_norm(ch[0])
        self.conv_out = nn.Conv2d(ch[0], config.latent_channels * self.patch ** 2, 3, padding=1)

    # ------------------------------------------------------------------------------------------------------------------
    def frequency_attention_layers(self) -> list[FrequencyAttention]:
        return [self.mid_freq, *self.freq_down.values(), *self.freq_up.values()]

    def set_frequency_attention(self, enabled: bool) -> None:
        """Switch the frequency-attention layers on (stage 2, export) or bypass them (stage 1)."""
        for layer in self.frequency_attention_layers():
            layer.enabled = bool(enabled)

    @property
    def frequency_attention_enabled(self) -> bool:
        return self.mid_freq.enabled

    def frequency_attention_parameters(self) -> list[nn.Parameter]:
        """What stage 2 trains when the base is frozen: the attention layers and their band-token projections."""
        params = [p for layer in self.frequency_attention_layers() for p in layer.parameters()]
        return params + list(self.band_tokens.parameters())

    # ------------------------------------------------------------------------------------------------------------------
    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor, pyramid: tuple[torch.Tensor, ...] | list,
                global_feat: torch.Tensor, band_idx: torch.Tensor | None = None) -> torch.Tensor:
        b, kb, c_lat, h, w = latents.shape
        if band_idx is None:
            band_idx = self.all_bands.unsqueeze(0).expand(b, self.num_bands)
        t = timesteps.reshape(b, -1).expand(b, kb).reshape(-1)
        band_emb = self.band_embedding(band_idx)  # [B, Kb, E]
        emb = self.time_mlp(timestep_embedding(t, self.time_channels)).view(b, kb, -1)
        emb = (emb + band_emb + self.global_proj(global_feat).unsqueeze(1)).reshape(b * kb, -1)
        tokens = {key: proj(band_emb) for key, proj in self.band_tokens.items()}  # [B, Kb, C_level]

        x = self.conv_in(latents.reshape(b * kb, c_lat, h, w))
        skips = []
        for lvl, blocks in enumerate(self.down_blocks):
            for block in blocks:
                x = block(x, emb, pyramid[lvl])
            if str(lvl) in self.freq_down:
                x = self.freq_down[str(lvl)](x, tokens[str(lvl)])
            skips.append(x)
            if lvl < len(self.downsamples):
                x = self.downsamples[lvl](x)

        last = str(len(self.down_blocks) - 1)
        x = self.mid1(x, emb, pyramid[-1])
        if self.mid_spatial is not None:
            x = self.mid_spatial(x)
        x = self.mid_freq(x, tokens[last])
        x = self.mid2(x, emb, pyramid[-1])

        for i, blocks in enumerate(self.up_blocks):
            lvl = len(self.up_blocks) - 1 - i
            if i > 0:
                x = self.upsamples[i - 1](x)
            x = torch.cat([x, skips[lvl]], dim=1)
            for block in blocks:
                x = block(x, emb, pyramid[lvl])
            if str(lvl) in self.freq_up:
                x = self.freq_up[str(lvl)](x, tokens[str(lvl)])

        out = self.conv_out(F.silu(self.norm_out(x)))
        if self.patch > 1:
            out = F.pixel_shuffle(out, self.patch)
        return out.view(b, kb, c_lat, h, w)
