"""DDIM in numpy: the sampler of ``train/diffusion.py`` step for step, driving any denoiser (an ONNX graph).

The recipe (the same numbers as the torch sampler, so a sample agrees with torch up to float error):

- timesteps: *trailing*, ``round(arange(T, 0, -T/S)) - 1``, descending from ``T - 1`` (:func:`ddim_timesteps`);
- noise: ``x_T = default_rng(seed).standard_normal((K, C, h, w), float32)`` per image and, only when ``eta > 0``, one
  more such draw from the same generator per step (including the last, where its weight is 0);
- per step ``t_i -> t_{i+1}`` (``alpha_bar = 1`` after the last): the network output is split into ``(x0, eps)``
  (v- or epsilon-prediction), then ``x = sqrt(a') x0 + sqrt(1 - a' - sigma^2) eps + sigma noise`` with DDIM's sigma;
- classifier-free guidance ``g != 1``: ``v = v_uncond + g (v_cond - v_uncond)``, where the unconditional prediction is
  the one made with all-zero image features.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import CancelledError, InputError
from ..jobs import is_cancelled

#: ``denoise(x [B, K, C, h, w] float32, t [B] float32, conditional) -> prediction`` like ``x``.
Denoiser = Callable[[np.ndarray, np.ndarray, bool], np.ndarray]
#: ``denoise_guided(x, t, guidance) -> guided prediction``: a denoiser that does the guidance itself (one batched run).
GuidedDenoiser = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def ddim_timesteps(train_timesteps: int, steps: int) -> np.ndarray:
    """Trailing DDIM timesteps, int64 ``[steps]``, descending from ``T - 1``."""
    if not 1 <= int(steps) <= train_timesteps:
        raise InputError(f"sampling steps must be between 1 and {train_timesteps}, got {steps}")
    ts = np.round(np.arange(train_timesteps, 0, -train_timesteps / steps)).astype(np.int64) - 1
    return ts[:steps]


def check_sampler_settings(steps: int, eta: float, guidance: float, train_timesteps: int) -> tuple[int, float, float]:
    """``(steps, eta, guidance)`` as given by a user (CLI flags, export defaults), checked against a schedule of
    ``train_timesteps`` steps; :class:`InputError` naming the flag otherwise."""
    if not 1 <= int(steps) <= train_timesteps:
        raise InputError(f"--steps must be between 1 and {train_timesteps}, got {steps}")
    if not (math.isfinite(eta) and eta >= 0):
        raise InputError(f"--eta must be >= 0 (0 = deterministic DDIM), got {eta}")
    if not (math.isfinite(guidance) and guidance >= 0):
        raise InputError(f"--guidance must be a number >= 0 (1 = off), got {guidance}")
    return int(steps), float(eta), float(guidance)


def ddim_sigma(alpha_bar: float, alpha_bar_prev: float, eta: float) -> float:
    """DDIM's ``sigma_t``: 0 for ``eta = 0`` (deterministic), DDPM-like for ``eta = 1``."""
    return eta * math.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar)) * math.sqrt(1 - alpha_bar / alpha_bar_prev)


def split_prediction(x_t: np.ndarray, prediction: np.ndarray, alpha_bar: float, kind: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(x0, eps)`` from the noisy sample and the network output (``kind`` ``'v'`` or ``'epsilon'``).

    Plain arithmetic, so the torch trainer uses it on tensors too (one definition of the DDIM maths).
    """
    a, s = math.sqrt(alpha_bar), math.sqrt(1.0 - alpha_bar)
    if kind == "v":
        return a * x_t - s * prediction, s * x_t + a * prediction
    return (x_t - s * prediction) / a, prediction


def ddim_step(x0: np.ndarray, eps: np.ndarray, alpha_bar_prev: float, sigma: float,
              noise: np.ndarray | None = None) -> np.ndarray:
    """``x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps + sigma noise``."""
    out = math.sqrt(alpha_bar_prev) * x0 + math.sqrt(max(1.0 - alpha_bar_prev - sigma ** 2, 0.0)) * eps
    if noise is not None and sigma > 0:
        out = out + sigma * noise
    return out


def sample_latents(denoise: Denoiser | GuidedDenoiser, alphas_cumprod: np.ndarray, prediction: str,
                   shape: tuple[int, ...], seeds: Sequence[int], steps: int, eta: float = 0.0, guidance: float = 1.0,
                   progress: Callable[[int, int], None] | None = None, cancel: Any = None,
                   guided: bool = False) -> np.ndarray:
    """Sample float32 latents ``[B, *shape]`` (``shape = (K, C, h, w)``), one image per seed.

    Args:
        denoise: ``denoise(x, t, conditional)`` (a :data:`Denoiser`), or with ``guided=True``
            ``denoise(x, t, guidance)`` returning the already guided prediction (a :data:`GuidedDenoiser`, which can
            run the conditional and unconditional predictions as one batch).
        alphas_cumprod: float64 ``[T]`` table of the noise schedule.
        prediction: ``'v'`` or ``'epsilon'``: what the network predicts.
        seeds: one seed per image; each image's noise comes only from its own generator.
        steps, eta, guidance: DDIM steps, stochasticity (0 = deterministic) and classifier-free guidance scale.
        progress: called as ``progress(done, steps)`` after every step.
        cancel: a :class:`~image_dynamics.jobs.CancelToken` or a callable, checked before every step; a cancellation
            raises :class:`CancelledError`.
    """
    table = np.asarray(alphas_cumprod, dtype=np.float64)
    if prediction not in ("v", "epsilon"):
        raise InputError(f"unknown prediction '{prediction}'; use 'v' or 'epsilon'")
    steps, eta, guidance = check_sampler_settings(steps, eta, guidance, table.shape[0])
    timesteps = ddim_timesteps(table.shape[0], steps)
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    x = np.stack([r.standard_normal(shape, dtype=np.float32) for r in rngs])
    for i, t in enumerate(timesteps):
        if is_cancelled(cancel):
            raise CancelledError(f"sampling cancelled after {i} of {len(timesteps)} steps")
        t_batch = np.full((x.shape[0],), float(t), dtype=np.float32)
        if guided:
            pred = denoise(x, t_batch, guidance)
        else:
            pred = denoise(x, t_batch, True)
            if guidance != 1.0:
                pred_uncond = denoise(x, t_batch, False)
                pred = pred_uncond + guidance * (pred - pred_uncond)
        a_t = float(table[t])
        a_prev = float(table[timesteps[i + 1]]) if i + 1 < len(timesteps) else 1.0
        x0, eps = split_prediction(x, pred, a_t, prediction)
        sigma = ddim_sigma(a_t, a_prev, eta)
        noise = np.stack([r.standard_normal(shape, dtype=np.float32) for r in rngs]) if eta > 0 else None
        x = ddim_step(x0, eps, a_prev, sigma, noise).astype(np.float32, copy=False)
        if progress is not None:
            progress(i + 1, len(timesteps))
    return x
