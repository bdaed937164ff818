"""Motion-energy network: how much each pixel moves in each band, regressed straight from the image.

The diffusion model samples *how* a scene moves (frequencies, phases, directions that agree between neighbours), but
its amplitudes are only loosely right: a sample's motion energy correlates with the truth at about 0.36 on held-out
scenes while appearance alone determines it almost completely (``scripts/energy_ceiling.py``: 0.99). Energy has no
phase, so unlike the coefficients it is a well-posed regression target; this network learns it directly and the
runtime rescales each sample to it (:func:`image_dynamics.model.processing.match_band_energy`).

``MotionEnergyNet.forward(image [B, 3, H, W] 0..1) -> [B, K, H, W]``: ``log(E_k + floor)``, the log of each band's
energy ``E_k = |S_k,x|^2 + |S_k,y|^2`` in squared pixels of the training data's grid, at full resolution. It is a
U-Net over the image encoder's pyramid (the encoder starts from the motion model's trained one) with a last
full-resolution stage that sees the image again, so single blades and flag hems get their own energy.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import normalise as norm
from ..model.processing import energy_net_input
from .configs import TrainConfig
from .data import loss_weights
from .image_encoder import ImageEncoder, PyramidDecoder


class MotionEnergyNet(PyramidDecoder):
    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.num_bands = config.num_bands
        self.floor = float(config.energy_floor)
        self.encoder = ImageEncoder(config)
        self.build_decoder(config.encoder_channels, config.energy_channels)
        full = config.energy_full_channels
        self.to_full = nn.Conv2d(config.energy_channels[0], full * 4, 3, padding=1)  # /2 -> full size by pixel shuffle
        self.refine = nn.Sequential(nn.Conv2d(full + 3, full, 3, padding=1), nn.SiLU(),
                                    nn.Conv2d(full, full, 3, padding=1), nn.SiLU())
        self.head = nn.Conv2d(full, config.num_bands, 3, padding=1)
        self.encoder_frozen = False

    def freeze_encoder(self, frozen: bool) -> None:
        """Train the decoder and heads alone (``frozen``: the encoder's weights get no gradient) or the whole
        network (:attr:`~.configs.TrainConfig.energy_freeze_encoder`)."""
        self.encoder_frozen = frozen
        self.encoder.requires_grad_(not frozen)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.encoder_frozen:
            # no graph through a frozen encoder. Its outputs are made contiguous because torch 2.13's channels-last
            # GroupNorm backward crashes (a segfault) when its input needs no gradient, as these do not; the
            # training batches arrive channels-last (NHWC pictures permuted)
            with torch.no_grad():
                skips = [s.contiguous() for s in self.encoder.stage_outputs(image)]
        else:
            skips = self.encoder.stage_outputs(image)
        full = F.pixel_shuffle(self.to_full(F.silu(self.decode(skips))), 2)
        h = self.refine(torch.cat([full, image * 2.0 - 1.0], dim=1))
        # an output of 0 means "no motion": the floor's log, so an untrained head starts at rest
        return self.head(h) + math.log(self.floor)


def energy_net_input_tensor(image: torch.Tensor, input_key: float | None) -> torch.Tensor:
    """:func:`~image_dynamics.model.processing.energy_net_input` on a float ``[B, 3, h, w]`` tensor: the image
    itself, or re-exposed to ``input_key`` on the CPU and brought back to its device."""
    if not input_key:
        return image
    return torch.from_numpy(energy_net_input(image.float().cpu().numpy(), input_key)).to(image.device)


def band_energy(log_energy: torch.Tensor, floor: float) -> torch.Tensor:
    """``[B, K, H, W]`` band energies (squared pixels, >= 0) from the network's ``log(E + floor)``."""
    return (log_energy.float().exp() - floor).clamp_min(0.0)


def log_band_energy_targets(normalised: np.ndarray, stats: norm.NormStats, floor: float) -> np.ndarray:
    """float32 ``log(E_k + floor)`` ``[B, K, H, W]`` of normalised channels ``[B, K, 4, H, W]`` (denormalised to
    pixels of the data's grid)."""
    pixels = np.asarray(norm.denormalise(np.asarray(normalised, dtype=np.float32), stats), dtype=np.float32)
    return np.log((pixels * pixels).sum(axis=2) + np.float32(floor)).astype(np.float32)


def _pearson_per_image(pred: torch.Tensor, true: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image Pearson correlation over pixels ``[B]``; ``weight`` ``[B, H, W]`` (0 leaves a pixel out, 1 counts it
    whole; fractions scale its deviations)."""
    p, t = pred.flatten(1), true.flatten(1)
    w = torch.ones_like(p) if weight is None else weight.flatten(1).to(p.dtype)
    n = w.sum(dim=1, keepdim=True).clamp_min(1.0)
    p = (p - (p * w).sum(dim=1, keepdim=True) / n) * w
    t = (t - (t * w).sum(dim=1, keepdim=True) / n) * w
    # the epsilon inside the roots: a constant map (a still scene) would otherwise give sqrt(0), whose gradient is inf
    return (p * t).sum(dim=1) / ((p.square().sum(dim=1) + 1e-12).sqrt() * (t.square().sum(dim=1) + 1e-12).sqrt())


def mean_aimed_divergence(pred_e: torch.Tensor, true_e: torch.Tensor, floor: float, pool: int, ratio_cap: float,
                          known: torch.Tensor | None = None) -> torch.Tensor:
    """Mean Itakura-Saito divergence of the local mean energies ``[B, K, H, W]`` (squared pixels) over
    ``pool`` x ``pool`` cells: ``r - log r - 1`` with ``r = (T + floor) / (P + floor)``, ``T`` and ``P`` the true
    and predicted cell means over known pixels.

    Why: the expected divergence is smallest when ``P`` is the *mean* of ``T`` over scenes that look alike, where a
    log-space L1 aims at the median. Motion energy is heavy-tailed (a few pixels of a scene move most), so a median
    predicts a fraction of the motion a user expects to see. The divergence is scale-free: a still rock and a
    fast flag weigh the same per cell. Above ``ratio_cap`` times too little it grows linearly in ``log r``, so one
    outlier cell cannot dominate a batch (its gradient is capped at ``ratio_cap - 1``).

    ``known`` float ``[B, H, W]`` (1 where the motion is known): cells less than half known are left out.
    """
    w = torch.ones_like(true_e[:, :1]) if known is None else known[:, None].to(true_e.dtype)  # [B, 1, H, W]
    area = F.avg_pool2d(w, pool)
    pred_cell = F.avg_pool2d(pred_e * w, pool) / area.clamp_min(1e-6)
    true_cell = F.avg_pool2d(true_e * w, pool) / area.clamp_min(1e-6)
    u = torch.log(true_cell + floor) - torch.log(pred_cell + floor)  # log r
    cap = math.log(ratio_cap)
    inside = u.clamp_max(cap)
    divergence = inside.exp() - inside - 1.0 + (ratio_cap - 1.0) * (u - cap).clamp_min(0.0)
    use = (area >= 0.5).to(divergence.dtype).expand_as(divergence)
    return (divergence * use).sum() / use.sum().clamp_min(1.0)


def batch_energy_loss(pred_log: torch.Tensor, target_log: torch.Tensor, known: np.ndarray, config: TrainConfig,
                      source_name: str = "") -> tuple[torch.Tensor, dict[str, float]]:
    """:func:`energy_loss` of one training batch as stage 4 weighs it: ``known`` float ``[B, H, W]`` masks (1 known,
    0 unknown, fractions where a zoom mixed them) become per-pixel weights, unknown pixels at the weight of the batch's
    source folder ``source_name`` (:meth:`~.configs.TrainConfig.unknown_weight_for`), left out when every pixel weighs
    1; the terms' weights are the configuration's."""
    weights = loss_weights(known, config.unknown_weight_for(source_name))
    mask = None if weights.min() == 1.0 else torch.from_numpy(weights).to(pred_log.device)
    return energy_loss(pred_log, target_log, config.energy_floor, config.energy_level_weight, known=mask,
                       mean_weight=config.energy_mean_weight, mean_pool=config.energy_mean_pool,
                       mean_ratio_cap=config.energy_mean_ratio_cap)


def keep_loss(pred_log: torch.Tensor, start_log: torch.Tensor) -> torch.Tensor:
    """Mean ``|pred_log - start_log|`` over pixels and bands (``[B, K, H, W]`` each, ``log(E + floor)``): how far a
    continued network's reading of a batch has moved from its start's
    (:attr:`~.configs.TrainConfig.energy_keep_weight`).
    Every pixel counts, known or not: the start's reading is defined everywhere."""
    return (pred_log.float() - start_log.float()).abs().mean()


def energy_loss(pred_log: torch.Tensor, target_log: torch.Tensor, floor: float, level_weight: float,
                known: torch.Tensor | None = None, mean_weight: float = 0.0, mean_pool: int = 4,
                mean_ratio_cap: float = 50.0) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss of :class:`MotionEnergyNet` and its terms.

    - ``l1``: mean ``|log(E_pred + floor) - log(E_true + floor)|`` over pixels and bands (every pixel counts,
      static ones too);
    - ``corr``: per-image Pearson correlation of the total moving energy (bands 1..K-1), eval's energy correlation;
      the loss has ``1 - corr``, which rewards getting the few pixels that move most right;
    - ``level``: ``|log|`` ratio of predicted and true mean band power per image (eval's band log-power error in
      natural log), weighted ``level_weight``: the log-space L1 alone aims at the median and would under-shoot the
      mean of a skewed distribution;
    - ``mean``: :func:`mean_aimed_divergence` of the moving bands over ``mean_pool`` cells, weighted
      ``mean_weight`` (0: left out, as releases 2-4 were trained), which pulls each region's energy to the mean of
      scenes that look alike.

    ``known`` float ``[B, H, W]``: per-pixel weights (1 where the motion is known, 0 to leave a pixel out,
    between for :attr:`~.configs.TrainConfig.energy_unknown_weight`); every term is weighted by them.
    """
    pred_e, true_e = band_energy(pred_log, floor), band_energy(target_log, floor)
    if known is None:
        l1 = (pred_log - target_log).abs().mean()
        pred_p, true_p = pred_e[:, 1:].mean(dim=(2, 3)), true_e[:, 1:].mean(dim=(2, 3))
    else:
        w = known[:, None].to(pred_log.dtype)  # [B, 1, H, W]
        l1 = ((pred_log - target_log).abs() * w).sum() / (w.sum() * pred_log.shape[1]).clamp_min(1.0)
        area = w.sum(dim=(2, 3)).clamp_min(1.0)  # [B, 1]
        pred_p, true_p = (pred_e[:, 1:] * w).sum(dim=(2, 3)) / area, (true_e[:, 1:] * w).sum(dim=(2, 3)) / area
    corr = _pearson_per_image(pred_e[:, 1:].sum(dim=1), true_e[:, 1:].sum(dim=1), known).mean()
    level = (torch.log(pred_p + 1e-6) - torch.log(true_p + 1e-6)).abs().mean()
    loss = l1 + (1.0 - corr) + level_weight * level
    terms = {"l1": l1.item(), "corr": corr.item(), "level": level.item()}
    if mean_weight > 0:
        mean = mean_aimed_divergence(pred_e[:, 1:], true_e[:, 1:], floor, mean_pool, mean_ratio_cap, known)
        loss = loss + mean_weight * mean
        terms["mean"] = mean.item()
    return loss, {"loss": loss.item(), **terms}
