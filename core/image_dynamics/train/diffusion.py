"""Noise schedule, training objective and DDIM sampler of the latent diffusion model.

Choices (and why):

- **Cosine schedule** (Nichol & Dhariwal 2021) over ``T = 1000`` steps, betas clipped at 0.999, so the last step has
  almost no signal left (``alpha_bar[T-1]`` ~ 1e-8): sampling starts from what the model was trained on.
- **v-prediction** (Salimans & Ho 2022): the network predicts ``v = sqrt(a) * eps - sqrt(1 - a) * x0``. Unlike
  epsilon it stays well defined at the near-zero-signal end (where ``x0`` from epsilon would divide by
  ``sqrt(a)`` ~ 1e-4), and it behaves well with few sampling steps, which CPU inference needs.
- **DDIM** with *trailing* timesteps (``T-1, T-1-T/S, ...``; Lin et al. 2024): the first step is at the noisiest time.

Everything the runtime needs is explicit, so a numpy re-implementation is a few lines:

- ``alphas_cumprod``: float64 table ``[T]`` (:func:`make_alphas_cumprod`);
- ``ddim_timesteps(T, S)``: int64 ``[S]``, descending; step ``i`` goes from ``t_i`` to ``t_{i+1}`` (``alpha_bar = 1``
  after the last);
- per step: ``x0 = sqrt(a) x - sqrt(1-a) v``, ``eps = sqrt(1-a) x + sqrt(a) v`` (:func:`split_prediction`), then
  :func:`ddim_step`;
- noise: numpy ``default_rng(seed)`` per image; ``x_T = rng.standard_normal((K, C, h, w), float32)`` and, only when
  ``eta > 0``, one more such draw per step (including the last, where its weight is 0) — the same stream in torch and
  in numpy, so a numpy sampler reproduces a torch sample exactly up to float error.
- classifier-free guidance: ``v = v_uncond + g * (v_cond - v_uncond)`` where the unconditional model sees all-zero image
  features (training drops the condition to zeros with probability ``cond_dropout``); ``g = 1`` skips the second call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..errors import InputError

# the DDIM arithmetic is shared with the numpy runtime (it works on numpy arrays and torch tensors alike)
from ..model.sampler import (  # noqa: F401 (re-exported)
    ddim_sigma,
    ddim_step,
    ddim_timesteps,
    sample_latents,
    split_prediction,
)


def make_alphas_cumprod(kind: str, timesteps: int) -> np.ndarray:
    """``alpha_bar[t] = prod_{s<=t} (1 - beta_s)`` as float64 ``[T]`` for a ``"cosine"`` or ``"linear"`` schedule."""
    if kind == "cosine":
        s = 0.008
        f = np.cos((np.arange(timesteps + 1, dtype=np.float64) / timesteps + s) / (1 + s) * math.pi / 2) ** 2
        betas = np.clip(1.0 - f[1:] / f[:-1], 0.0, 0.999)
    elif kind == "linear":
        betas = np.linspace(1e-4, 0.02, timesteps, dtype=np.float64)
    else:
        raise InputError(f"unknown beta schedule '{kind}'; use 'cosine' or 'linear'")
    return np.cumprod(1.0 - betas)


class NoiseSchedule:
    """The forward process and its parametrisation; ``alphas_cumprod`` is the float64 table the sampler uses."""

    def __init__(self, kind: str = "cosine", timesteps: int = 1000, prediction: str = "v") -> None:
        if prediction not in ("v", "epsilon"):
            raise InputError(f"unknown prediction '{prediction}'; use 'v' or 'epsilon'")
        self.kind, self.timesteps, self.prediction = kind, int(timesteps), prediction
        self.alphas_cumprod = make_alphas_cumprod(kind, self.timesteps)
        self._table = torch.from_numpy(self.alphas_cumprod.astype(np.float32))

    def _alpha(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        a = self._table.to(like.device)[t.long()]
        return a.reshape(*t.shape, *([1] * (like.dim() - t.dim())))

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x_t = sqrt(a_t) x0 + sqrt(1 - a_t) noise``; ``t`` indexes the leading dims of ``x0``."""
        a = self._alpha(t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the network learns to output: v or epsilon."""
        if self.prediction == "epsilon":
            return noise
        a = self._alpha(t, x0)
        return a.sqrt() * noise - (1 - a).sqrt() * x0


def diffusion_loss(denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], schedule: NoiseSchedule,
                   x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
                   weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error of ``denoise(x_t, t)`` against the schedule's target.

    ``x0``, ``noise``: ``[B, Kb, C, h, w]``; ``t``: int64 ``[B]`` or ``[B, Kb]`` (one time per image or per slice).
    ``weight``: broadcastable to ``x0`` (e.g. ``[B, 1, 1, h, w]``, the known fraction of each latent cell's
    motion): a weighted mean, so cells whose motion is unknown do not count.
    """
    x_t = schedule.add_noise(x0, noise, t)
    se = (denoise(x_t, t.float()) - schedule.target(x0, noise, t)) ** 2
    if weight is None:
        return torch.mean(se)
    w = weight.to(se.dtype).expand_as(se)
    return (se * w).sum() / w.sum().clamp_min(1.0)


@torch.no_grad()
def ddim_sample(denoise: Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor], schedule: NoiseSchedule,
                shape: tuple[int, ...], seeds: Sequence[int], steps: int, eta: float = 0.0, guidance: float = 1.0,
                device: torch.device | str = "cpu",
                progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> torch.Tensor:
    """Sample latents ``[B, *shape]`` (``shape = (K, C, h, w)``), one image per seed, deterministic under the seeds.

    ``denoise(x_t, t, conditional)`` returns the network output for ``x_t`` ``[B, *shape]`` at float times
    ``t`` ``[B]``, with (``conditional=True``) or without (all-zero image features) the image condition.
    ``progress(done, total)`` is called after every step; ``cancel()`` returning True raises :class:`CancelledError`.
    The steps are those of the runtime's numpy sampler (:func:`~image_dynamics.model.sampler.sample_latents`, one
    definition of DDIM); only the network runs in torch.
    """

    def denoise_numpy(x: np.ndarray, t: np.ndarray, conditional: bool) -> np.ndarray:
        out = denoise(torch.from_numpy(x).to(device), torch.from_numpy(t).to(device), conditional)
        return out.float().cpu().numpy()

    x = sample_latents(denoise_numpy, schedule.alphas_cumprod, schedule.prediction, shape, seeds, steps, eta,
                       guidance, progress, cancel)
    return torch.from_numpy(x).to(device)
