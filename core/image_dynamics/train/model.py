"""``MotionModel``: image -> spectral-volume coefficients with the latent diffusion model, and its checkpoint files.

Pipeline of :meth:`MotionModel.predict` (the ONNX runtime repeats it with the graphs of :func:`export_graphs`):

1. images -> float ``[B, 3, h, w]`` on the model grid (resized if needed);
2. image encoder -> conditioning pyramid + global feature;
3. DDIM over latents ``[B, K, C_lat, h/D, w/D]`` (unit-scaled: ``z = latent * latent_std + latent_mean`` per band and
   channel);
4. VAE decoder per band slice -> normalised channels ``[B, K, 4, h, w]``;
5. denormalise with the dataset statistics -> pixels of ``coeff_grid``;
6. when the model has a motion-energy network (stage 4): rescale each pixel's sampled motion to the network's band
   energies (:func:`~image_dynamics.model.processing.match_band_energy`);
7. resize to the output grid and rescale x by ``W_out / W_grid`` and y by ``H_out / H_grid``; complex64
   ``[B, K, 2, H, W]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_output
from ..errors import InputError
from ..model import processing
from ..model.processing import channels_to_output, energy_from_log, energy_net_input, load_stats_json, prepare_images  # noqa: F401
from ..spectral import DEFAULT_FPS, DEFAULT_WINDOW_FRAMES, harmonic_freqs
from .configs import TrainConfig, get_config
from .diffusion import NoiseSchedule, ddim_sample
from .energy_net import MotionEnergyNet, energy_net_input_tensor
from .image_encoder import ImageEncoder
from .unet import LatentUNet
from .vae import SpectralVAE

CHECKPOINT_FORMAT = 1


# ----------------------------------------------------------------------------------------------------------------------
# numpy pre- and post-processing (shared with the regression baseline and the ONNX runtime, which must not import
# torch, so they live in image_dynamics.model.processing and are re-exported here)


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N`` as a torch device; a clear error otherwise."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device '{device}' was requested but this PyTorch sees no CUDA GPU. Use --device cpu "
                         "(or auto), or install a CUDA build of PyTorch.")
    try:
        return torch.device(device)
    except RuntimeError:
        raise InputError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None


# ----------------------------------------------------------------------------------------------------------------------


class CheckpointedModel(nn.Module):
    """What every trained model here shares: its configuration and data facts, and the checkpoint file format.

    Subclasses set ``checkpoint_kind`` (checked on load) and build their networks after calling this ``__init__``.
    Attributes: ``config``, ``stats_json`` (the dataset's normalisation statistics), ``coeff_grid`` (W, H of the grid
    whose pixels the denormalised coefficients are in), ``freqs_hz``, ``fps``, ``window_frames``, ``data_note``.
    """

    checkpoint_kind = ""

    def __init__(self, config: TrainConfig, stats_json: str = "", coeff_grid: tuple[int, int] | None = None,
                 freqs_hz: Sequence[float] | None = None, fps: float = DEFAULT_FPS,
                 window_frames: int = DEFAULT_WINDOW_FRAMES, data_note: str = "") -> None:
        super().__init__()
        self.config = config
        self.stats_json = stats_json
        self.coeff_grid = tuple(coeff_grid or (config.width, config.height))
        self.freqs_hz = [float(f) for f in (freqs_hz if freqs_hz is not None
                                            else harmonic_freqs(config.num_bands, window_frames, fps))]
        self.fps = float(fps)
        self.window_frames = int(window_frames)
        self.data_note = data_note

    def facts(self) -> dict[str, Any]:
        """Everything besides the weights that a checkpoint (and later a model package) records."""
        return {"config_name": self.config.name, "config": self.config.to_dict(), "stats_json": self.stats_json,
                "coeff_grid": list(self.coeff_grid), "freqs_hz": list(self.freqs_hz), "fps": self.fps,
                "window_frames": self.window_frames, "data_note": self.data_note}

    @classmethod
    def from_facts(cls, facts: dict[str, Any]):
        """A fresh (untrained) model for the configuration and data facts of a checkpoint."""
        return cls(config_from_facts(facts), facts["stats_json"], tuple(facts["coeff_grid"]), facts["freqs_hz"],
                   facts["fps"], facts["window_frames"], facts.get("data_note", ""))

    def save(self, path: str | os.PathLike) -> Path:
        """Write weights and facts to ``path`` (temporary name, then renamed)."""
        payload = {"kind": self.checkpoint_kind, "format_version": CHECKPOINT_FORMAT, **self.facts(),
                   "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}
        return save_payload(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu"):
        """The model saved at ``path`` on ``device``, in eval mode; :class:`InputError` for another kind of file."""
        return cls.from_payload(load_payload(path, cls.checkpoint_kind), path, device)

    @classmethod
    def from_payload(cls, payload: dict[str, Any], path: str | os.PathLike, device: str | torch.device = "cpu"):
        """The model in ``payload``, a checkpoint already read from ``path`` (named in errors), in eval mode."""
        model = cls.from_facts(payload)
        try:
            model.load_state_dict(payload["state_dict"])
        except RuntimeError as exc:
            raise InputError(f"{path}: weights do not fit configuration '{model.config.name}' ({exc})") from None
        return model.to(resolve_device(device)).eval()


class MotionModel(CheckpointedModel):
    """The latent diffusion motion model: VAE, image encoder, U-Net denoiser, schedule, normalisation facts.

    Attributes beyond the networks and :class:`CheckpointedModel`'s facts: ``latent_mean`` / ``latent_std`` buffers
    ``[K, C_lat]`` (unit-scaling of VAE latents per band and channel).
    """

    checkpoint_kind = "motion_model"

    def __init__(self, config: TrainConfig, stats_json: str = "", coeff_grid: tuple[int, int] | None = None,
                 freqs_hz: Sequence[float] | None = None, fps: float = DEFAULT_FPS,
                 window_frames: int = DEFAULT_WINDOW_FRAMES, data_note: str = "") -> None:
        super().__init__(config, stats_json, coeff_grid, freqs_hz, fps, window_frames, data_note)
        self.vae = SpectralVAE(config)
        self.encoder = ImageEncoder(config)
        self.unet = LatentUNet(config, self.encoder.pyramid_channels, self.encoder.global_channels)
        self.schedule = NoiseSchedule(config.beta_schedule, config.train_timesteps, config.prediction)
        self.register_buffer("latent_mean", torch.zeros(config.num_bands, config.latent_channels))
        self.register_buffer("latent_std", torch.ones(config.num_bands, config.latent_channels))
        self.energy: MotionEnergyNet | None = None  # stage 4 adds it (models trained before it have none)
        #: False for a model rebuilt from an exported package (:mod:`.recover`): the VAE encoder is not in packages
        self.vae_encoder_trained = True

    def adopt_structure(self, facts: dict[str, Any]) -> None:
        """Switch the optional parts as a checkpoint's ``facts`` record them: frequency attention on or off, and a
        motion-energy network added when it had one (call before loading weights that include it)."""
        self.unet.set_frequency_attention(bool(facts.get("frequency_attention", True)))
        if facts.get("energy_net", False) and self.energy is None:
            self.attach_energy_net()

    def attach_energy_net(self) -> MotionEnergyNet:
        """Add a motion-energy network whose image encoder starts as a copy of this model's trained one."""
        net = MotionEnergyNet(self.config).to(self.latent_mean.device)
        net.encoder.load_state_dict(self.encoder.state_dict())
        self.energy = net
        return net

    # --- pieces -------------------------------------------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """``(K, C_lat, h, w)`` of one image's latents."""
        lw, lh = self.config.latent_size
        return self.config.num_bands, self.config.latent_channels, lh, lw

    def set_latent_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.latent_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.latent_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def scale_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE latents ``[B, K, C, h, w]`` -> unit-scaled diffusion space."""
        return (latents - self.latent_mean[None, :, :, None, None]) / self.latent_std[None, :, :, None, None]

    def decode_latents(self, scaled: torch.Tensor) -> torch.Tensor:
        """Unit-scaled latents ``[B, K, C, h, w]`` -> normalised channels ``[B, K, 4, H, W]``."""
        b, k, c, h, w = scaled.shape
        z = scaled * self.latent_std[None, :, :, None, None] + self.latent_mean[None, :, :, None, None]
        out = self.vae.decode(z.reshape(b * k, c, h, w))
        return out.view(b, k, *out.shape[1:])

    def denoise(self, latents: torch.Tensor, timesteps: torch.Tensor, pyramid: Sequence[torch.Tensor],
                global_feat: torch.Tensor, conditional: bool = True) -> torch.Tensor:
        """U-Net prediction; ``conditional=False`` replaces the image features by zeros (the guidance baseline)."""
        if not conditional:
            pyramid = [torch.zeros_like(p) for p in pyramid]
            global_feat = torch.zeros_like(global_feat)
        return self.unet(latents, timesteps, tuple(pyramid), global_feat)

    # --- inference ----------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_normalised(self, image: torch.Tensor, seeds: Sequence[int], steps: int, eta: float = 0.0,
                          guidance: float = 1.0, progress: Callable[[int, int], None] | None = None,
                          cancel: Callable[[], bool] | None = None) -> torch.Tensor:
        """Images float ``[B, 3, h, w]`` (model grid, 0..1) -> normalised channels ``[B, K, 4, h, w]``."""
        pyramid, global_feat = self.encoder(image)

        def denoise(x: torch.Tensor, t: torch.Tensor, conditional: bool) -> torch.Tensor:
            return self.denoise(x, t, pyramid, global_feat, conditional)

        latents = ddim_sample(denoise, self.schedule, self.latent_shape, seeds, steps, eta, guidance,
                              device=image.device, progress=progress, cancel=cancel)
        return self.decode_latents(latents)

    @torch.no_grad()
    def band_energy(self, image: torch.Tensor) -> np.ndarray:
        """Images float ``[B, 3, h, w]`` (model grid, 0..1) -> the energy network's band energies float32
        ``[B, K, h, w]`` in squared pixels of the data's grid."""
        if self.energy is None:
            raise InputError("this motion model has no motion-energy network; train its 'energy' stage first")
        image = energy_net_input_tensor(image, self.config.energy_input_key)

        def run(batch: np.ndarray) -> np.ndarray:
            return self.energy(torch.from_numpy(np.ascontiguousarray(batch)).to(image.device)).float().cpu().numpy()

        log_energy = processing.read_energy_net(run, image.float().cpu().numpy(), self.config.energy_flip_average)
        return energy_from_log(log_energy, self.config.energy_floor, self.config.energy_gain)

    @torch.no_grad()
    def predict(self, images: np.ndarray, seed: int | Sequence[int] = 0, steps: int | None = None,
                eta: float | None = None, guidance: float | None = None,
                progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None, use_energy_net: bool = True) -> np.ndarray:
        """Spectral-volume coefficients for each image.

        Args:
            images: uint8 ``[B, H, W, 3]`` (0..255) or float (0..1), sRGB as stored; one ``[H, W, 3]`` image is a batch
                of one. Other sizes than the model's are resized in and out.
            seed: one seed for every image (each image's result depends only on it and the image) or one per image.
            steps, eta, guidance: DDIM settings; ``None`` takes the configuration's defaults.
            use_energy_net: rescale each sample to the motion-energy network's band energies when the model has one
                (:func:`~image_dynamics.model.processing.match_band_energy`); False gives the diffusion sample alone.
        Returns:
            complex64 ``[B, K, 2, H, W]``: one-sided amplitudes in pixels of the input grid (x right, y down).
        """
        cfg = self.config
        arr = np.asarray(images)
        out_h, out_w = (arr.shape[0], arr.shape[1]) if arr.ndim == 3 else (arr.shape[1], arr.shape[2])
        batch = prepare_images(arr, cfg.width, cfg.height)
        seeds = [int(seed)] * batch.shape[0] if np.isscalar(seed) else [int(s) for s in seed]
        if len(seeds) != batch.shape[0]:
            raise InputError(f"got {len(seeds)} seeds for {batch.shape[0]} images; give one seed or one per image")
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            image = torch.from_numpy(batch).to(device)
            normalised = self.sample_normalised(
                image, seeds, steps or cfg.sample_steps, cfg.sample_eta if eta is None else eta,
                cfg.guidance if guidance is None else guidance, progress, cancel)
            energy = self.band_energy(image) if use_energy_net and self.energy is not None else None
        finally:
            self.train(was_training)
        stats = load_stats_json(self.stats_json)
        channels = normalised.float().cpu().numpy()
        fill = None
        if energy is not None and cfg.energy_fill_px > 0:  # as an exported package does (model/predict.py)
            one = (1, *channels.shape[1:])
            fill = np.concatenate([processing.coherent_fill(one, cfg.energy_fill_px, s) for s in seeds])
        return channels_to_output(channels, stats, self.coeff_grid, out_w, out_h, band_energy=energy, fill=fill)

    # --- files --------------------------------------------------------------------------------------------------------
    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "frequency_attention": self.unet.frequency_attention_enabled,
                "energy_net": self.energy is not None, "vae_encoder_trained": self.vae_encoder_trained}

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> MotionModel:
        model = super().from_facts(facts)
        model.adopt_structure(facts)
        model.vae_encoder_trained = bool(facts.get("vae_encoder_trained", True))
        return model


# ----------------------------------------------------------------------------------------------------------------------
# checkpoint files


def config_from_facts(facts: dict[str, Any]) -> TrainConfig:
    """The configuration stored in a checkpoint (the named one when they agree, so code defaults stay visible)."""
    stored = TrainConfig.from_dict(facts["config"])
    return get_config(stored)


def save_payload(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` under a temporary name in the same folder, then an atomic rename."""
    path = Path(path)
    with atomic_output(path, overwrite=True) as tmp:
        torch.save(payload, tmp)
    return path


def load_payload(path: str | os.PathLike, kind: str | tuple[str, ...]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_payload`, checking its kind (or one of ``kind``) and format version."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise InputError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc}). It may be truncated; use an "
                         "earlier checkpoint or train again.") from None
    if not isinstance(payload, dict) or payload.get("kind") not in kinds:
        found = payload.get("kind") if isinstance(payload, dict) else type(payload).__name__
        wanted = " or ".join(k.replace("_", " ") for k in kinds)
        raise InputError(f"{path}: this is not a {wanted} checkpoint (found {found!r})")
    if payload.get("format_version", 0) > CHECKPOINT_FORMAT:
        raise InputError(f"{path}: checkpoint format {payload['format_version']} is newer than this program reads "
                         f"({CHECKPOINT_FORMAT}). Update image-dynamics.")
    return payload


# ----------------------------------------------------------------------------------------------------------------------
# ONNX graph wrappers (fixed positional inputs, frequency attention on)


class EncoderGraph(nn.Module):
    """``image [B, 3, h, w] (0..1) -> (pyramid_0, ..., pyramid_{L-1}, global_feat)``."""

    def __init__(self, model: MotionModel) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pyramid, global_feat = self.encoder(image)
        return (*pyramid, global_feat)


class DenoiserGraph(nn.Module):
    """``(latents [B, K, C, h, w], timesteps [B] float, pyramid_0..L-1, global_feat) -> prediction [B, K, C, h, w]``."""

    def __init__(self, model: MotionModel) -> None:
        super().__init__()
        self.unet = model.unet

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor, *features: torch.Tensor) -> torch.Tensor:
        return self.unet(latents, timesteps, tuple(features[:-1]), features[-1])


class DecoderGraph(nn.Module):
    """``unit-scaled latents [B, K, C, h, w] -> normalised channels [B, K, 4, H, W]`` (latent scaling included)."""

    def __init__(self, model: MotionModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model.decode_latents(latents)


def export_graphs(model: MotionModel, batch: int = 1) -> dict[str, dict[str, Any]]:
    """The graphs to export (three, and ``energy_net`` when the model has one), each with example inputs,
    input/output names and dynamic batch axes.

    The denoiser is exported as trained: with its frequency attention when stage 3 ran, without it otherwise (untrained
    attention is zero-initialised, the identity, so leaving it out changes nothing but the cost).
    """
    cfg = model.config
    device = next(model.parameters()).device
    image = torch.rand(batch, 3, cfg.height, cfg.width, device=device)
    with torch.no_grad():
        pyramid, global_feat = model.encoder(image)
    levels = [f"feature_{i}" for i in range(len(pyramid))]
    k, c, h, w = model.latent_shape
    latents = torch.randn(batch, k, c, h, w, device=device)
    timesteps = torch.full((batch,), 500.0, device=device)
    feats = (*pyramid, global_feat)
    batch_axis = {0: "batch"}
    graphs = {
        "image_encoder": {"module": EncoderGraph(model), "args": (image,), "input_names": ["image"],
                          "output_names": [*levels, "global_feature"],
                          "dynamic_axes": {n: batch_axis for n in ["image", *levels, "global_feature"]}},
        "denoiser": {"module": DenoiserGraph(model), "args": (latents, timesteps, *feats),
                     "input_names": ["latents", "timesteps", *levels, "global_feature"], "output_names": ["prediction"],
                     "dynamic_axes": {n: batch_axis for n in ["latents", "timesteps", *levels, "global_feature",
                                                              "prediction"]}},
        "vae_decoder": {"module": DecoderGraph(model), "args": (latents,), "input_names": ["latents"],
                        "output_names": ["channels"], "dynamic_axes": {"latents": batch_axis, "channels": batch_axis}},
    }
    if model.energy is not None:
        # the network itself: image [B, 3, h, w] -> log(E_k + energy_floor) [B, K, h, w]
        graphs["energy_net"] = {"module": model.energy, "args": (image,), "input_names": ["image"],
                                "output_names": ["log_band_energy"],
                                "dynamic_axes": {"image": batch_axis, "log_band_energy": batch_axis}}
    return graphs


def describe(model: nn.Module) -> dict[str, Any]:
    """Parameter counts per network and fp32 size in MB (for reports and model cards)."""
    parts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    total = sum(parts.values())
    return {"parameters": parts, "total_parameters": total, "fp32_mb": round(total * 4 / 2 ** 20, 2)}

