"""Named hyperparameter sets of the motion model and its training.

Three configurations:

``tiny``
    For tests and smoke runs: 64x40 images (data of the same aspect ratio is resized), x4 latents of 16x10, narrow
    networks, half the DDIM steps. Its 440 steps take under a minute on a 2-core CPU.

``default``
    The shipped model, sized for CPU-only training (30-45 minutes on 2 cores) and CPU inference (seconds):

    - 256x160 (GID's training size). The spectral VAE downsamples x4 (latents 64x40x4 per band): at x8 its
      reconstructions lost too much (on the synthetic set, held-out L1 at 0.72 of the all-zero guess and motion-energy
      correlation 0.69 after 400 steps, against 0.44 and 0.81 for x4), and the latent caps everything downstream.
    - The U-Net runs on 2x2 patches of the latent (DiT-style patchify in, pixel shuffle out), so its levels are
      32x20, 16x10 and 8x5 with widths 64/128/192 and two residual blocks per level: about 0.7 GMAC per band slice,
      at the resolution where 2 CPU cores run convolutions efficiently (64-channel layers at 32x20 reach ~2.5x the
      throughput of 32-channel layers at 64x40). Frequency attention at 16x10, 8x5 and the middle block, where K = 16
      tokens per location cost little.
    - 20 DDIM steps by default (GID used 250). With v-prediction, a cosine schedule whose last step has almost no
      signal, and "trailing" timesteps, 20 deterministic steps suffice. Classifier-free guidance 3 by default: on 32
      held-out synthetic scenes it raised moving/static AUC from 0.86 to 0.90 and energy correlation from 0.12 to
      0.20, and brought the predicted motion energy from a tenth of the true energy to about 0.7 of it (guidance 4
      does no better, 5 overshoots to 2.7x). It costs a second denoiser call per step (onnxruntime batches the
      pair): image to coefficients takes 2.5 s through onnxruntime and 3.7 s in torch on 2 cores.
    - About 11 M parameters (U-Net 9.0 M, image encoder 1.6 M, VAE 0.4 M): 42 MB in fp32, 21 MB in fp16, well under
      the 64 MB package limit.
    - Stage lengths for about 30 minutes on 2 quiet cores: VAE 1500 steps of 48 64x64 crops (0.13 s each), latent
      cache of 2000 samples (0.06 s each, 2-3 min with shard loading), per-frequency diffusion 2400 steps of
      8 images x 4 bands (0.46 s each), frequency attention 500 steps of 2 images x 16 bands (0.26 s each).

``large``
    For users with a GPU: x4 latents without patchify (the U-Net at 64x40), wider networks, 50 DDIM steps by default,
    much longer training.

Every hyperparameter lives in :class:`TrainConfig`; :func:`get_config` returns one by name.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..model.processing import ENERGY_GAIN_RANGE, ENERGY_INPUT_KEY_RANGE
from .framing import MAX_ZOOM


@dataclass(frozen=True)
class TrainConfig:
    """All hyperparameters of the networks, the diffusion process and training (sizes in pixels, W x H)."""

    name: str

    # --- data ---------------------------------------------------------------------------------------------------------
    num_bands: int = 16                  #: K frequency bands per pixel (data must match)
    width: int = 256                     #: model input width; data of the same aspect ratio is resized to it
    height: int = 160                    #: model input height

    # --- spectral VAE (one 4-channel band slice <-> latent) -----------------------------------------------------------
    latent_channels: int = 4             #: GID: a 4-channel continuous latent
    vae_channels: tuple[int, ...] = (32, 64)  #: widths at /2, /4, ...; len = log2(latent downsampling)
    vae_blocks: int = 1                  #: residual blocks per resolution (encoder and decoder)
    vae_l1_beta: float = 0.05            #: L1 turns quadratic below this error (normalised units; 0 = plain L1)
    vae_grad_weight: float = 0.2         #: weight of the multi-scale gradient L1 loss (GID)
    vae_kl_weight: float = 1e-6          #: weight of the KL term (summed over latent elements, GID)
    vae_grad_scales: int = 3             #: scales of the gradient loss (full, /2, /4, ...)

    # --- image encoder (conditioning pyramid) -------------------------------------------------------------------------
    encoder_channels: tuple[int, ...] = (32, 48, 96, 128, 192)  #: widths at /2, /4, ... (len = log2(down) + levels - 1)
    encoder_blocks: int = 1              #: residual blocks per resolution

    # --- U-Net denoiser -----------------------------------------------------------------------------------------------
    unet_patch: int = 2                  #: the U-Net runs on p x p latent cells (2: at half the latent size)
    unet_channels: tuple[int, ...] = (64, 128, 192)  #: widths at latent /p, /2p, /4p ...
    unet_blocks: int = 2                 #: residual blocks per level on the way down (up: same, after the skip)
    freq_attention_levels: tuple[int, ...] = (1, 2)  #: U-Net levels with attention across the K bands (+ middle)
    spatial_attention_mid: bool = True   #: self-attention over positions in the middle block (lowest resolution)
    attention_head_dim: int = 32         #: channels per attention head

    # --- diffusion ----------------------------------------------------------------------------------------------------
    train_timesteps: int = 1000          #: T of the forward process
    beta_schedule: str = "cosine"        #: "cosine" (Nichol & Dhariwal) or "linear" (DDPM)
    prediction: str = "v"                #: "v" (velocity) or "epsilon"
    sample_steps: int = 20               #: default DDIM steps
    sample_eta: float = 0.0              #: default DDIM eta (0 = deterministic given the initial noise)
    guidance: float = 3.0                #: default classifier-free guidance scale (1 = off: one denoiser call per step)
    cond_dropout: float = 0.1            #: probability of dropping the image condition while training (for guidance)

    # --- stage 1: VAE -------------------------------------------------------------------------------------------------
    vae_steps: int = 1500
    vae_batch: int = 48                  #: band-slice crops per step
    vae_crop: tuple[int, int] = (64, 64)  #: crop width, height (multiples of the latent downsampling)
    vae_lr: float = 1e-3
    vae_motion_crops: float = 0.75       #: share of crops centred on a moving pixel (scenes are mostly static)

    # --- stage 2: per-frequency diffusion (image encoder trained jointly) ---------------------------------------------
    diffusion_steps: int = 2400
    diffusion_batch: int = 8             #: images per step
    bands_per_image: int = 4             #: random bands per image per step (all K would repeat the same image)
    diffusion_lr: float = 4e-4
    ema_decay: float = 0.995             #: EMA of denoiser and encoder weights, with warm-up min(d, (1+n)/(10+n))

    # --- stage 3: frequency-attention fine-tune -----------------------------------------------------------------------
    attention_steps: int = 500
    attention_batch: int = 2             #: images per step, each with all K bands
    attention_lr: float = 3e-4
    freeze_base: bool = True             #: GID: freeze the per-frequency U-Net, train only the attention layers

    # --- stage 4: motion-energy network (how much each pixel moves; the runtime rescales samples to it) -------------
    energy_channels: tuple[int, ...] = (32, 48, 96, 128, 160)  #: decoder widths at /2, /4, ... (one per encoder level)
    energy_full_channels: int = 32       #: width of the full-resolution stage that sees the image again
    energy_floor: float = 1e-4           #: squared pixels added before the log (0.01 px RMS: far below visible motion)
    energy_steps: int = 1500
    energy_batch: int = 8                #: images per step
    energy_lr: float = 1e-3
    energy_level_weight: float = 0.25    #: weight of the mean-band-power term of the loss
    #: weight of the mean-aimed (Itakura-Saito) term over energy_mean_pool cells; 0 = log-L1 only (releases 2-4)
    energy_mean_weight: float = 0.5
    energy_mean_pool: int = 4            #: cell size of that term (image pixels; a divisor of width and height)
    energy_mean_ratio_cap: float = 50.0  #: above this under-prediction ratio the term grows only linearly in log
    #: batches drawn from one shard in stage 4 before the next (shard_batches elsewhere): its batch is whole images, so
    #: 16 batches of a Blender shard (8 scenes) were the same 8 pictures 16 times, and the network swung from shard to
    #: shard (releases 2-4 and the first release 5 candidate were trained with 16)
    energy_shard_batches: int = 2
    #: EMA of the energy network's weights (warm-up as ema_decay's; 0: none, the last step's weights, as releases
    #: 2-4 and the release 5 candidates 1-2 were exported): one batch is 8 pictures, so the live weights swing with
    #: the last few batches (a rock garden's AUC 0.88 -> 0.75 between two checkpoints 200 steps apart)
    energy_ema_decay: float = 0.995
    #: exported packages fill the energy a sample cannot carry with motion coherent over this many grid pixels
    #: (:func:`image_dynamics.model.processing.coherent_fill`); 0: no fill (release 4 was exported without)
    energy_fill_px: float = 4.0
    #: the energy network sees each image re-exposed to this log-average luminance, in training and in the exported
    #: package (:func:`image_dynamics.model.processing.energy_net_input`); 0: the image as it is (releases 1-5)
    energy_input_key: float = 0.0
    #: every band energy the network says is multiplied by this (``scripts/calibrate_energy_gain.py`` fits it on
    #: rendered data after training; 1: as trained, releases 1-6). Training never sees it: the loss is on the
    #: network's own output, and a run continuing a model's energy network starts again at 1
    energy_gain: float = 1.0
    #: weight in stage 4's loss of the pixels whose motion is unknown (silhouettes, thin stems and blades, defocus),
    #: with the estimate their shard stores (the moving surface's trajectory times its coverage); 0: left out, as
    #: releases 1-6 were trained. Why: most thin plant structure is unknown at the grid's size (in the specimen set
    #: 80 % of the unknown pixels move more than 0.5 px), so with 0 no loss ever says that a stem moves
    energy_unknown_weight: float = 0.0
    #: per-source exceptions to ``energy_unknown_weight``: ``NAME=WEIGHT`` pairs, comma-separated, where NAME is a
    #: ``--data`` folder's name (e.g. ``render_specimen_v10_256=1``); "": every source uses the one weight. Why: the
    #: unknown pixels of plant close-ups are thin stems that move, those of a forest are crown edges against rock and
    #: sky, and counting the latter taught a network that rock beside leaves moves (rule r60, docs/rules.md)
    energy_unknown_weight_sources: str = ""
    #: stage 4 trains the decoder and heads alone, the network's image encoder kept as the run started it (a
    #: continued model's own). Why: a fine-tune that changes the features as well can lose what the model did well
    #: on pictures unlike its new data (rule r48, docs/rules.md); False: the whole network trains (releases 1-7)
    energy_freeze_encoder: bool = False
    #: weight in stage 4's loss of a term that keeps the network saying what the network its run started from says
    #: on the same pictures (the mean ``|log(E + floor)|`` difference, :func:`~.energy_net.keep_loss`); needs
    #: ``--init-from``. Why: what a continued network forgets is what its start did well on pictures unlike the new
    #: data (the places, rule r51 in docs/rules.md: learning without forgetting); 0: no such term (releases 1-7)
    energy_keep_weight: float = 0.0
    #: the energy network reads each picture and its mirror image and their log energies are averaged, in every
    #: prediction and in the exported package (``energy.flip_average``); training never sees it. Why: it was trained
    #: on randomly flipped pictures, so both readings estimate the same motion and their mean errs less (rule r50,
    #: docs/rules.md); False: one reading (releases 1-7)
    energy_flip_average: bool = False

    # --- regression baseline ------------------------------------------------------------------------------------------
    regression_channels: tuple[int, ...] = (48, 96, 192, 320, 384)  #: decoder widths at /2, /4, ... (mirrors encoder)
    regression_steps: int = 1500
    regression_batch: int = 8
    regression_lr: float = 1e-3

    # --- optimisation and bookkeeping ---------------------------------------------------------------------------------
    warmup_steps: int = 100              #: linear LR warm-up at the start of each stage, then cosine decay to 10%
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    checkpoint_every: int = 100          #: steps between checkpoints (also at the end of every stage and on cancel)
    #: steps between kept copies of the trained model so far (EMA weights, what ``model.pt`` would be had the run
    #: ended there) in ``snapshots/model_stepNNNNNN.pt``, to choose among afterwards; 0: none
    snapshot_every: int = 0
    shard_batches: int = 16              #: batches drawn from one loaded shard before moving to the next
    photo_realism: float = 0.0           #: strength of the training-time camera (train.augment; 0 off, 1 as designed)
    #: share of stage 4's pictures re-exposed to a random exposure before the camera (train.augment.re_expose; 0 off,
    #: as releases 1-5 were trained)
    photo_exposure: float = 0.0
    #: share of stage 4's pictures seen through a longer lens: a window cropped and resampled to the grid, its motion
    #: scaled with it (train.framing.zoom_in; 0 off, as releases 1-5 were trained), magnified by up to
    #: ``photo_zoom_max``
    photo_zoom: float = 0.0
    photo_zoom_max: float = 2.0

    # ------------------------------------------------------------------------------------------------------------------
    @property
    def latent_downsample(self) -> int:
        return 2 ** len(self.vae_channels)

    @property
    def latent_size(self) -> tuple[int, int]:
        """Latent (width, height) of one band slice."""
        return self.width // self.latent_downsample, self.height // self.latent_downsample

    @property
    def feature_stride(self) -> int:
        """Image pixels per cell of the U-Net's first level (latent downsampling x patch size)."""
        return self.latent_downsample * self.unet_patch

    @property
    def unet_levels(self) -> int:
        return len(self.unet_channels)

    @property
    def embed_dim(self) -> int:
        return 4 * self.unet_channels[0]

    def stage_steps(self) -> dict[str, int]:
        return {"vae": self.vae_steps, "diffusion": self.diffusion_steps, "freq_attention": self.attention_steps,
                "energy": self.energy_steps}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error, missing keys take their defaults."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(f"unknown configuration field(s) {', '.join(unknown)}; this checkpoint was written by a "
                             "newer image-dynamics. Update image-dynamics.")
        typed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**typed)

    def unknown_weights_by_source(self) -> dict[str, float]:
        """:attr:`energy_unknown_weight_sources` read: ``{folder name: weight in [0, 1]}``; raises
        :class:`InputError` for a pair that is not ``NAME=WEIGHT`` or a weight outside [0, 1]."""
        weights: dict[str, float] = {}
        for pair in filter(None, (p.strip() for p in self.energy_unknown_weight_sources.split(","))):
            name, sep, text = pair.partition("=")
            try:
                weight = float(text)
            except ValueError:
                weight = float("nan")
            if not sep or not name.strip() or not 0 <= weight <= 1:
                raise InputError(f"config '{self.name}': energy_unknown_weight_sources needs NAME=WEIGHT pairs, "
                                 f"comma-separated, each weight in [0, 1] (e.g. render_specimen_v10_256=1); got "
                                 f"{pair!r}")
            weights[name.strip()] = weight
        return weights

    def unknown_weight_for(self, source_name: str) -> float:
        """Stage 4's loss weight of unknown pixels in the source folder named ``source_name``."""
        return self.unknown_weights_by_source().get(source_name, self.energy_unknown_weight)

    def validate(self) -> TrainConfig:
        """Check that the sizes fit together; raise :class:`InputError` saying which do not."""
        down = self.feature_stride * 2 ** (self.unet_levels - 1)
        if self.width % down or self.height % down:
            raise InputError(f"config '{self.name}': {self.width}x{self.height} must be a multiple of {down} "
                             f"(latent x{self.latent_downsample}, patch {self.unet_patch}, {self.unet_levels} "
                             "U-Net levels)")
        if self.unet_patch not in (1, 2, 4):
            raise InputError(f"config '{self.name}': unet_patch must be 1, 2 or 4")
        levels = int(math.log2(self.feature_stride)) + self.unet_levels - 1
        if len(self.encoder_channels) != levels:
            raise InputError(f"config '{self.name}': encoder_channels needs {levels} widths (one per stride "
                             f"/2 .. /{down}), got {len(self.encoder_channels)}")
        if len(self.regression_channels) != len(self.encoder_channels):
            raise InputError(f"config '{self.name}': regression_channels must have one width per encoder level")
        if len(self.energy_channels) != len(self.encoder_channels):
            raise InputError(f"config '{self.name}': energy_channels must have one width per encoder level")
        if not 0.0 <= self.photo_exposure <= 1.0:
            raise InputError(f"config '{self.name}': photo_exposure is a share of the pictures, 0..1, got "
                             f"{self.photo_exposure}")
        if not 0.0 <= self.photo_zoom <= 1.0:
            raise InputError(f"config '{self.name}': photo_zoom is a share of the pictures, 0..1, got "
                             f"{self.photo_zoom}")
        if not 1.0 <= self.photo_zoom_max <= MAX_ZOOM:
            raise InputError(f"config '{self.name}': photo_zoom_max is a magnification, 1..{MAX_ZOOM}, got "
                             f"{self.photo_zoom_max}")
        if not (0.0 <= self.photo_realism <= 4.0):
            raise InputError(f"config '{self.name}': photo_realism must be in 0..4 (0 off, 1 as designed), got "
                             f"{self.photo_realism}")
        if self.energy_mean_weight < 0 or self.energy_mean_pool < 1 or self.width % self.energy_mean_pool \
                or self.height % self.energy_mean_pool or not self.energy_mean_ratio_cap > 1:
            raise InputError(f"config '{self.name}': energy_mean_weight must be >= 0, energy_mean_pool a divisor of "
                             f"{self.width} and {self.height}, energy_mean_ratio_cap above 1")
        if not self.energy_keep_weight >= 0:
            raise InputError(f"config '{self.name}': energy_keep_weight must be 0 or more, got "
                             f"{self.energy_keep_weight}")
        if not 0 <= self.energy_unknown_weight <= 1:
            raise InputError(f"config '{self.name}': energy_unknown_weight must be in [0, 1], got "
                             f"{self.energy_unknown_weight}")
        self.unknown_weights_by_source()  # raises InputError for a malformed list
        if not 0 <= self.energy_ema_decay < 1:
            raise InputError(f"config '{self.name}': energy_ema_decay must be in [0, 1), got {self.energy_ema_decay}")
        if self.snapshot_every < 0:
            raise InputError(f"config '{self.name}': snapshot_every must be 0 (no snapshots) or a number of steps, got "
                             f"{self.snapshot_every}")
        if self.energy_shard_batches < 1:
            raise InputError(f"config '{self.name}': energy_shard_batches must be at least 1")
        if not self.energy_floor > 0:
            raise InputError(f"config '{self.name}': energy_floor must be positive, got {self.energy_floor}")
        if not (self.energy_fill_px == 0 or 0.5 <= self.energy_fill_px <= max(self.width, self.height)):
            raise InputError(f"config '{self.name}': energy_fill_px must be 0 (no fill) or between 0.5 and "
                             f"{max(self.width, self.height)} grid pixels, got {self.energy_fill_px}")
        low, high = ENERGY_INPUT_KEY_RANGE
        if not (self.energy_input_key == 0 or low <= self.energy_input_key <= high):
            raise InputError(f"config '{self.name}': energy_input_key must be 0 (the image as it is) or an exposure "
                             f"key between {low} and {high}, got {self.energy_input_key}")
        if not ENERGY_GAIN_RANGE[0] <= self.energy_gain <= ENERGY_GAIN_RANGE[1]:
            raise InputError(f"config '{self.name}': energy_gain must be between {ENERGY_GAIN_RANGE[0]} and "
                             f"{ENERGY_GAIN_RANGE[1]}, got {self.energy_gain}")
        if any(lvl < 0 or lvl >= self.unet_levels for lvl in self.freq_attention_levels):
            raise InputError(f"config '{self.name}': freq_attention_levels {self.freq_attention_levels} outside "
                             f"0..{self.unet_levels - 1}")
        cw, ch = self.vae_crop
        if cw % self.latent_downsample or ch % self.latent_downsample or cw > self.width or ch > self.height:
            raise InputError(f"config '{self.name}': vae_crop {cw}x{ch} must fit the image and be a multiple of "
                             f"{self.latent_downsample}")
        if self.beta_schedule not in ("cosine", "linear"):
            raise InputError(f"config '{self.name}': beta_schedule must be 'cosine' or 'linear'")
        if self.prediction not in ("v", "epsilon"):
            raise InputError(f"config '{self.name}': prediction must be 'v' or 'epsilon'")
        if not 1 <= self.bands_per_image <= self.num_bands:
            raise InputError(f"config '{self.name}': bands_per_image must be in 1..{self.num_bands}")
        for width in (*self.unet_channels, *self.encoder_channels, *self.vae_channels, *self.regression_channels,
                      *self.energy_channels):
            if width < 8 or width % 8:
                raise InputError(f"config '{self.name}': channel width {width} must be a multiple of 8")
        if any(c % self.attention_head_dim for c in self.unet_channels):
            raise InputError(f"config '{self.name}': U-Net widths must be multiples of attention_head_dim")
        return self


_CONFIGS: dict[str, TrainConfig] = {
    "tiny": TrainConfig(
        name="tiny", width=64, height=40,
        vae_channels=(16, 24), vae_blocks=1,
        encoder_channels=(16, 32, 48), encoder_blocks=1,
        unet_patch=1, unet_channels=(32, 48), unet_blocks=1, freq_attention_levels=(1,), attention_head_dim=16,
        sample_steps=10, guidance=1.0,
        vae_steps=300, vae_batch=32, vae_crop=(32, 32), vae_lr=2e-3,
        diffusion_steps=250, diffusion_batch=8, bands_per_image=4, diffusion_lr=1e-3, ema_decay=0.9,
        attention_steps=40, attention_batch=2, attention_lr=1e-3,
        regression_channels=(16, 32, 48), regression_steps=300, regression_batch=8, regression_lr=2e-3,
        energy_channels=(16, 32, 48), energy_full_channels=16, energy_steps=150, energy_batch=8, energy_lr=2e-3,
        energy_ema_decay=0.9,
        warmup_steps=10, checkpoint_every=50, shard_batches=8,
    ),
    "default": TrainConfig(name="default"),
    "large": TrainConfig(
        name="large",
        vae_channels=(64, 128), vae_blocks=2,
        encoder_channels=(64, 128, 256, 384), encoder_blocks=2,
        unet_patch=1, unet_channels=(128, 256, 384), unet_blocks=2, freq_attention_levels=(1, 2),
        attention_head_dim=64,
        sample_steps=50,
        vae_steps=20000, vae_batch=64, vae_crop=(128, 128), vae_lr=5e-4,
        diffusion_steps=200000, diffusion_batch=32, bands_per_image=4, diffusion_lr=1e-4, ema_decay=0.9999,
        attention_steps=30000, attention_batch=8, attention_lr=1e-4,
        regression_channels=(128, 256, 512, 768), regression_steps=100000, regression_batch=32,
        regression_lr=3e-4,
        energy_channels=(64, 128, 256, 384), energy_full_channels=48, energy_steps=30000, energy_batch=32,
        energy_lr=3e-4, energy_ema_decay=0.999,
        warmup_steps=1000, checkpoint_every=1000, shard_batches=32,
    ),
}


def scale_batches(config: TrainConfig, multiplier: int) -> TrainConfig:
    """``config`` with every stage's batch (VAE crops, diffusion and attention images, regression images) times
    ``multiplier``; learning rates and step counts stay as they are.

    A GPU runs a batch several times the CPU-sized default in about the same time per step, so the same steps see
    that many times more samples.
    """
    if not isinstance(multiplier, int) or multiplier < 1:
        raise InputError(f"batch multiplier must be a whole number of at least 1, got {multiplier!r}")
    if multiplier == 1:
        return config
    return dataclasses.replace(config, vae_batch=config.vae_batch * multiplier,
                               diffusion_batch=config.diffusion_batch * multiplier,
                               attention_batch=config.attention_batch * multiplier,
                               regression_batch=config.regression_batch * multiplier,
                               energy_batch=config.energy_batch * multiplier)


def config_names() -> tuple[str, ...]:
    return tuple(_CONFIGS)


def get_config(name: str | TrainConfig) -> TrainConfig:
    """The configuration called ``name`` (a :class:`TrainConfig` passes through, validated)."""
    if isinstance(name, TrainConfig):
        return name.validate()
    if name not in _CONFIGS:
        raise InputError(f"unknown model configuration '{name}'. Choose one of: {', '.join(_CONFIGS)}.")
    return _CONFIGS[name].validate()


def scale_learning_rates(config: TrainConfig, factor: float) -> TrainConfig:
    """``config`` with the learning rate of every stage times ``factor`` (> 0, at most 10)."""
    if not (isinstance(factor, (int, float)) and 0 < factor <= 10):
        raise InputError(f"the learning-rate scale must be a number above 0 and at most 10, got {factor!r}")
    rates = {f.name: getattr(config, f.name) * float(factor) for f in dataclasses.fields(config)
             if f.name.endswith("_lr")}
    return dataclasses.replace(config, **rates).validate()


#: fields that shape the networks or define what the data means: a continued model's must stay its own, and a new
#: model's are chosen by naming a configuration
STRUCTURAL_FIELDS = frozenset({
    "name", "num_bands", "width", "height", "latent_channels", "vae_channels", "vae_blocks", "encoder_channels",
    "encoder_blocks", "unet_patch", "unet_channels", "unet_blocks", "freq_attention_levels", "spatial_attention_mid",
    "attention_head_dim", "energy_channels", "energy_full_channels", "energy_floor", "regression_channels",
    "train_timesteps", "beta_schedule", "prediction", "vae_crop"})


def override_fields(config: TrainConfig, assignments: list[str] | tuple[str, ...]) -> TrainConfig:
    """``config`` with ``FIELD=VALUE`` assignments applied (training hyperparameters only: loss weights, steps,
    batches, learning rates, ...; not :data:`STRUCTURAL_FIELDS`), each value read as its field's type; validated."""
    types = {f.name: type(getattr(config, f.name)) for f in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    for assignment in assignments:
        field, sep, text = assignment.partition("=")
        field, text = field.strip(), text.strip()
        if not sep or not field or not text:
            raise InputError(f"--set {assignment!r}: write FIELD=VALUE, e.g. --set energy_mean_weight=0")
        if field not in types:
            raise InputError(f"--set {assignment!r}: no configuration field '{field}'. Fields are listed in "
                             "image_dynamics/train/configs.py (TrainConfig).")
        if field in STRUCTURAL_FIELDS:
            raise InputError(f"--set {assignment!r}: '{field}' shapes the networks or the data; choose it with "
                             "--config (a continued model keeps its own)")
        kind = types[field]
        try:
            if kind is bool:
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                changes[field] = text.lower() in ("true", "1")
            else:
                changes[field] = kind(text)
        except ValueError:
            raise InputError(f"--set {assignment!r}: '{text}' is not a {kind.__name__}, which '{field}' "
                             "needs") from None
    return dataclasses.replace(config, **changes).validate()
