"""Staged training with checkpoints, resume and a metrics log.

:func:`train` runs four stages (the first three are GID's recipe):

1. ``vae``: the spectral VAE on random band-slice crops (L1 + 0.2 gradient + 1e-6 KL);
2. ``diffusion``: the per-frequency latent denoiser and the image encoder, jointly, on cached VAE latents
   (``bands_per_image`` random bands of each image per step, one diffusion time per slice, condition dropout);
3. ``freq_attention``: the frequency-attention layers switched on and fine-tuned with all K bands of each image at one
   shared time (the rest frozen when ``freeze_base``), starting from the stage-2 EMA weights;
4. ``energy``: the motion-energy network (:mod:`.energy_net`), its image encoder started from the trained one,
   regresses each pixel's band energies from the image (log-space L1 + energy correlation + mean band power); the
   runtime rescales every sample to it.

:func:`train` with ``init_from`` continues a trained motion model in a new run: its VAE is kept (stage 1 is skipped, so
the latents and normalisation stay those of the model) and stages 2 to 4 start from its weights. This is how a longer
training (a GPU session, say) builds on the shipped weights instead of starting over; ``stages`` picks which of them
run (``("energy",)`` adds a motion-energy network to a model trained without one).

:func:`train_regression` trains the direct-regression baseline with the same machinery (one stage, ``regression``).

Files in ``out_dir`` (motion model / regression baseline):

- ``checkpoint.pt`` / ``regression_checkpoint.pt``: everything needed to resume (weights, EMA, optimiser, position),
  rewritten under a temporary name and renamed every ``checkpoint_every`` steps, at every stage end and on cancel;
- ``metrics.jsonl`` / ``regression_metrics.jsonl``: one JSON object per step (stage, step, loss terms, lr, seconds);
  on resume, lines after the checkpoint's step are dropped so the log matches the weights;
- ``model.pt`` / ``regression.pt``: the trained model (EMA weights) for :meth:`~.model.MotionModel.load`,
  written after stage 2 and again after stage 3;
- ``snapshots/model_stepNNNNNN.pt`` (only with ``snapshot_every`` > 0): the model as ``model.pt`` would have been at
  that step, kept to choose among (a training step of the whole run, counted over all stages);
- ``latents.npz``: the latent cache of stages 2 and 3 (rebuilt if the VAE or the data changed; deleted when the run
  is complete, as it is large: about 0.45 MB per sample at 256x160).

Randomness: weights are initialised from ``seed``; every batch, crop, flip, diffusion time and noise draw is a function
of ``(seed, stage, step)`` through numpy generators, so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_output
from ..data import normalise as norm
from ..errors import CancelledError, InputError, OutputError
from .augment import photo_realism, realism_rng
from .configs import TrainConfig, get_config, override_fields, scale_batches, scale_learning_rates
from .data import (
    ShardStream,
    TrainData,
    build_latent_cache,
    open_training_data,
    regression_batch,
    step_rng,
    vae_batch,
)
from .diffusion import diffusion_loss
from .energy_net import batch_energy_loss, energy_net_input_tensor, keep_loss, log_band_energy_targets
from .model import CHECKPOINT_FORMAT, MotionModel, config_from_facts, load_payload, resolve_device, save_payload
from .regression import RegressionModel, regression_loss
from .vae import vae_loss

MOTION_STAGES = ("vae", "diffusion", "freq_attention", "energy")
STAGE_KEYS = {"vae": 1, "diffusion": 2, "freq_attention": 3, "regression": 4, "energy": 5}


@dataclass
class TrainProgress:
    """What a progress callback receives after every step (and while the latent cache is built)."""

    stage: str
    stage_step: int
    stage_steps: int
    step: int
    total_steps: int
    metrics: dict[str, float] = field(default_factory=dict)


ProgressFn = Callable[[TrainProgress], None]
CancelFn = Callable[[], bool]


def plan_stages(config: TrainConfig, stages: tuple[str, ...], steps: int | None) -> dict[str, int]:
    """Steps per stage: the configuration's, or ``steps`` in total split in the configuration's proportions
    (every stage at least one step)."""
    lengths = {"regression": config.regression_steps, **config.stage_steps()}
    base = {s: lengths[s] for s in stages}
    if steps is None:
        return base
    if steps < len(stages):
        raise InputError(f"steps must be at least {len(stages)} (one per stage: {', '.join(stages)}), got {steps}")
    total = sum(base.values())
    plan = {s: max(1, int(math.floor(n * steps / total))) for s, n in base.items()}
    order = sorted(stages, key=lambda s: -base[s])
    i = 0
    while sum(plan.values()) < steps:  # hand out the rounding remainder, longest stage first
        plan[order[i % len(order)]] += 1
        i += 1
    while sum(plan.values()) > steps:
        biggest = max(plan, key=plan.get)
        plan[biggest] -= 1
    return plan


def _plan(config: TrainConfig, stages: tuple[str, ...], steps: int | None, payload: dict[str, Any] | None,
          skipped: tuple[str, ...] = ()) -> dict[str, int]:
    """Steps per stage; ``skipped`` stages get none (a run started from a trained model skips the VAE).

    A resumed run keeps its plan (and its skipped stages) unless ``steps`` is given anew.
    """
    if payload is not None:
        old = payload.get("plan", {})
        skipped = tuple(s for s in stages if int(old.get(s, 1)) == 0)
        if steps is None and set(old) == set(stages):
            return {s: int(old[s]) for s in stages}
    split = plan_stages(config, tuple(s for s in stages if s not in skipped), steps)
    return {s: split.get(s, 0) for s in stages}


def learning_rate(base: float, step: int, total: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10% of ``base`` at ``total``."""
    warm = min(1.0, (step + 1) / max(1, warmup))
    progress = min(1.0, step / max(1, total - 1))
    return base * warm * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _image_batch(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` -> float ``[B, 3, H, W]`` in 0..1 on ``device``."""
    return images.to(device).permute(0, 3, 1, 2).float() / 255.0


def _seed_everything(seed: int) -> None:
    """Seed weight initialisation (batches and noise use their own per-step generators)."""
    torch.manual_seed(seed)


class _EMA:
    """Exponential moving average of named parameters, decay ``min(d, (1 + n) / (10 + n))`` after ``n`` updates."""

    def __init__(self, named: dict[str, torch.nn.Parameter], decay: float, warmed: bool = False) -> None:
        """``warmed``: the weights are already an average (a trained model), so skip the warm-up and average at
        ``decay`` from the first update."""
        self.decay = decay
        # the warm-up ends once (1 + n) / (10 + n) reaches the decay
        self.updates = math.ceil((10 * decay - 1) / (1 - decay)) if warmed and decay < 1 else 0
        self.shadow = {k: p.detach().clone() for k, p in named.items()}

    @torch.no_grad()
    def update(self, named: dict[str, torch.nn.Parameter]) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, p in named.items():
            if p.requires_grad:  # a frozen weight is its own average: averaging it with itself would only round it
                self.shadow[k].mul_(d).add_(p.detach(), alpha=1 - d)
        self.updates += 1

    @torch.no_grad()
    def copy_to(self, named: dict[str, torch.nn.Parameter]) -> None:
        for k, p in named.items():
            p.copy_(self.shadow[k])

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "shadow": {k: v.cpu() for k, v in self.shadow.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        for k, v in state["shadow"].items():
            self.shadow[k].copy_(v)


# ----------------------------------------------------------------------------------------------------------------------


class _Run:
    """Files, position and bookkeeping of one training run (motion model or regression baseline)."""

    def __init__(self, out_dir: Path, kind: str) -> None:
        self.out_dir = out_dir
        self.kind = kind
        prefix = "" if kind == "motion" else "regression_"
        self.checkpoint_path = out_dir / f"{prefix}checkpoint.pt"
        self.metrics_path = out_dir / f"{prefix}metrics.jsonl"
        self.model_path = out_dir / ("model.pt" if kind == "motion" else "regression.pt")
        self.stage_index = 0
        self.stage_step = 0
        self.step = 0
        self.elapsed_s = 0.0

    def trim_metrics(self) -> None:
        """Drop log lines written after the checkpoint we resume from (they belong to lost steps)."""
        if not self.metrics_path.exists():
            return
        kept = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= self.step:
                    kept.append(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
        with atomic_output(self.metrics_path, overwrite=True) as tmp:
            tmp.write_text("".join(k + "\n" for k in kept))

    def log(self, record: dict[str, Any]) -> None:
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def _check_resume(payload: dict[str, Any], path: Path, config_name: str, kind: str, data: TrainData) -> TrainData:
    """Refuse to resume a run of another kind, configuration or normalisation; returns ``data`` normalised by the
    run's own statistics."""
    if payload.get("run_kind") != kind:
        raise InputError(f"{path}: this checkpoint belongs to a {payload.get('run_kind')} run, not a {kind} run. "
                         "Use another --out folder.")
    if payload["config_name"] != config_name:
        raise InputError(f"{path}: this run was trained with config '{payload['config_name']}', not "
                         f"'{config_name}'. Resume it with --config {payload['config_name']}, or start the "
                         f"'{config_name}' run in another --out folder.")
    # a run that continues a trained model normalises its data by that model's statistics (see _read_init_model)
    adopt = _with_model_statistics if payload.get("init_from") else _with_statistics
    same = adopt(data, payload["stats_json"], path)
    if same is None:
        raise InputError(f"{path}: the run was trained with other normalisation statistics than {data.info.folder} "
                         "has now (different data?). Resume with the original data, or start a new run in another "
                         "--out folder.")
    return same


def _with_statistics(data: TrainData, stats_json: str, where: Path) -> TrainData | None:
    """``data`` normalised by ``stats_json`` (a checkpoint's) when the two statistics agree, to float rounding of
    the same data regenerated elsewhere; None when they do not. The run then keeps the checkpoint's exact text."""
    if stats_json == data.stats_json:
        return data
    stats = norm.norm_stats_from_json(stats_json, str(where))
    if not norm.same_normalisation(stats, data.stats):
        return None
    return dataclasses.replace(data, stats=stats, stats_json=stats_json)


def _with_model_statistics(data: TrainData, stats_json: str, where: Path) -> TrainData | None:
    """``data`` normalised by a trained model's statistics ``stats_json``, whatever its own scales: a model's latent
    space is defined by the statistics it was trained with, so a continuation on new data (a mixture with the
    Blender-rendered scenes, say) keeps them. None when the two cannot describe the same coefficients (other bands,
    frequencies or percentile)."""
    same = _with_statistics(data, stats_json, where)
    if same is not None:
        return same
    stats = norm.norm_stats_from_json(stats_json, str(where))
    if (stats.percentile != data.stats.percentile or stats.scales.shape != data.stats.scales.shape
            or not np.allclose(stats.freqs_hz, data.stats.freqs_hz, rtol=0, atol=1e-6)):
        return None
    return dataclasses.replace(data, stats=stats, stats_json=stats_json)


def _prepare_run(kind: str, config_name: str | TrainConfig, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 resume: bool, overwrite: bool) -> tuple[_Run, TrainConfig, TrainData, dict[str, Any] | None]:
    config = get_config(config_name)
    requested_name = config.name
    run = _Run(Path(out_dir), kind)
    run.out_dir.mkdir(parents=True, exist_ok=True)
    payload = None
    if run.checkpoint_path.exists():
        if resume:
            payload = load_payload(run.checkpoint_path, "training_run")
            config = config_from_facts(payload)
        elif not overwrite:
            raise OutputError(f"{run.checkpoint_path}: a training run is already here. Resume it (the default), "
                              "pass overwrite to start again from scratch, or choose another --out folder.")
    data = open_training_data(data_dir, config, stats_cache=run.out_dir / "mixture_stats.json")
    if payload is not None:
        data = _check_resume(payload, run.checkpoint_path, requested_name, kind, data)
        run.stage_index, run.stage_step = int(payload["stage_index"]), int(payload["stage_step"])
        run.step, run.elapsed_s = int(payload["step"]), float(payload.get("elapsed_s", 0.0))
        run.trim_metrics()
    elif run.metrics_path.exists():
        run.metrics_path.unlink()  # a fresh run starts a fresh log
    return run, config, data, payload


def _data_note(data: TrainData) -> str:
    return data.note()


# ----------------------------------------------------------------------------------------------------------------------


class _Stage:
    """One stage: its trainable parameters, optimiser and step function."""

    name: str

    def __init__(self, trainer: Any, steps: int) -> None:
        self.t = trainer
        self.steps = steps
        self.optimizer: torch.optim.Optimizer | None = None
        self.base_lr = 0.0
        self.skipped = 0  #: steps left out for a non-finite loss or gradient (see :meth:`apply`)

    def begin(self, fresh: bool) -> None:
        """Set up (caches, switches); ``fresh`` when the stage starts at its step 0 (not resumed mid-way)."""

    def step(self, i: int) -> dict[str, float]:
        raise NotImplementedError

    def end(self) -> None:
        """Called once the stage has run all its steps."""

    def make_optimizer(self, params: list[torch.nn.Parameter], lr: float, weight_decay: float) -> None:
        self.base_lr = lr
        self.optimizer = new_optimizer(params, lr, weight_decay)

    def apply(self, loss: torch.Tensor, i: int, config: TrainConfig) -> float:
        """Backward, clip, optimiser step at this step's learning rate; returns the learning rate."""
        lr = learning_rate(self.base_lr, i, self.steps, config.warmup_steps)
        if not optimiser_step(self.optimizer, loss, lr, config.grad_clip):
            self.skipped += 1
        return lr


def new_optimizer(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """Every stage's optimiser: AdamW with betas (0.9, 0.99)."""
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))


def optimiser_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, lr: float, grad_clip: float) -> bool:
    """Backward, clip the gradient norm to ``grad_clip``, step at ``lr``; False when the step was left out."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
    if not torch.isfinite(norm):
        # a non-finite loss or gradient (one batch's degenerate case) would turn every weight into NaN for good:
        # the step is left out (and counted by the caller)
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    return True


def _autocast(device: torch.device):
    """bf16 autocast on CUDA (the large config's speed), plain fp32 on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


class _Trainer:
    """Drives the stages of one run: steps, logging, progress, cancel, checkpoints."""

    def __init__(self, run: _Run, config: TrainConfig, data: TrainData, seed: int, device: torch.device,
                 progress: ProgressFn | None, cancel: CancelFn | None, plan: dict[str, int]) -> None:
        self.run, self.config, self.data, self.seed, self.device = run, config, data, seed, device
        self.progress, self.cancel = progress, cancel
        self.stages: list[_Stage] = []
        self.plan = plan
        self.init_from: str | None = None  #: the trained model this run started from, if any

    def new_model(self, model_class: type) -> Any:
        """A fresh model of ``model_class`` for this run's configuration and data, on the run's device."""
        info = self.data.info
        return model_class(self.config, self.data.stats_json, self.data.coeff_grid, info.freqs_hz.tolist(), info.fps,
                           info.window_frames, _data_note(self.data)).to(self.device)

    # subclasses: payload_state(), load_state(), write_model(), finish()
    def payload_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def write_model(self, path: Path | None = None) -> None:
        """Save the trained model (its averaged weights where it keeps averages) at ``path`` or the run's model file."""
        raise NotImplementedError

    def save_checkpoint(self, stage: _Stage | None) -> None:
        payload = {"kind": "training_run", "format_version": CHECKPOINT_FORMAT, "run_kind": self.run.kind,
                   "config_name": self.config.name, "config": self.config.to_dict(), "seed": self.seed,
                   "stats_json": self.data.stats_json, "stage_index": self.run.stage_index,
                   "stage_step": self.run.stage_step, "step": self.run.step, "elapsed_s": self.run.elapsed_s,
                   "plan": dict(self.plan), **self.payload_state()}
        if self.init_from is not None:
            payload["init_from"] = self.init_from
        if stage is not None and stage.optimizer is not None and self.run.stage_step > 0:
            payload["optimizer"] = stage.optimizer.state_dict()
        save_payload(payload, self.run.checkpoint_path)

    def execute(self, optimizer_state: dict[str, Any] | None) -> None:
        total = sum(self.plan.values())
        done_before = sum(s.steps for s in self.stages[:self.run.stage_index])
        for si in range(self.run.stage_index, len(self.stages)):
            stage = self.stages[si]
            if stage.steps == 0:  # a stage the run leaves out (see ``stages`` of :func:`train`)
                self.run.stage_index, self.run.stage_step = si + 1, 0
                continue
            fresh = self.run.stage_step == 0
            stage.begin(fresh)
            if not fresh and optimizer_state is not None and stage.optimizer is not None:
                stage.optimizer.load_state_dict(optimizer_state)
            optimizer_state = None
            while self.run.stage_step < stage.steps:
                if self.cancel is not None and self.cancel():
                    self.save_checkpoint(stage)
                    raise CancelledError(f"training cancelled at step {self.run.step} ({stage.name} "
                                         f"{self.run.stage_step}/{stage.steps}); the checkpoint "
                                         f"{self.run.checkpoint_path} keeps it: run the same command to resume")
                start = time.perf_counter()
                with _autocast(self.device):
                    metrics = stage.step(self.run.stage_step)
                seconds = time.perf_counter() - start
                self.run.stage_step += 1
                self.run.step += 1
                self.run.elapsed_s += seconds
                record = {"step": self.run.step, "stage": stage.name, "stage_step": self.run.stage_step,
                          **{k: round(v, 6) for k, v in metrics.items()}, "seconds": round(seconds, 4)}
                if stage.skipped:
                    record["skipped_nonfinite"] = stage.skipped  # steps of this stage left out so far (this session)
                self.run.log(record)
                if self.progress is not None:
                    self.progress(TrainProgress(stage.name, self.run.stage_step, stage.steps,
                                                done_before + self.run.stage_step, total, metrics))
                if self.run.step % self.config.checkpoint_every == 0 and self.run.stage_step < stage.steps:
                    self.save_checkpoint(stage)
                if self.config.snapshot_every and self.run.step % self.config.snapshot_every == 0:
                    snapshots = self.run.out_dir / "snapshots"
                    snapshots.mkdir(exist_ok=True)
                    self.write_model(snapshots / f"model_step{self.run.step:06d}.pt")
            stage.end()
            done_before += stage.steps
            self.run.stage_index, self.run.stage_step = si + 1, 0
            self.save_checkpoint(None)


# ----------------------------------------------------------------------------------------------------------------------
# motion model


def _ema_parameters(model: MotionModel) -> dict[str, torch.nn.Parameter]:
    """The parameters the EMA averages (image encoder and denoiser; the VAE is trained before), by name."""
    return {f"{m}.{k}": p for m, module in (("encoder", model.encoder), ("unet", model.unet))
            for k, p in module.named_parameters()}


def model_from_checkpoint(path: str | os.PathLike) -> MotionModel:
    """The motion model a run's ``checkpoint.pt`` holds, with its EMA weights: what ``model.pt`` would be had the run
    ended there (frequency attention on once stage 3 has begun). For runs stopped early by a deadline or a crash."""
    return _model_from_run_payload(load_payload(path, "training_run"), Path(path))


def load_motion_model(path: str | os.PathLike) -> MotionModel:
    """A trained motion model from any file or folder that holds one: a ``model.pt`` or a snapshot of one, a run
    folder holding a ``model.pt``, a run's ``checkpoint.pt`` (its averaged weights, as :func:`model_from_checkpoint`)
    or an exported model package (rebuilt from its graphs by :mod:`.recover`)."""
    path, is_package = _model_file(path)
    if is_package:
        from .recover import rebuild_from_package

        return rebuild_from_package(path)[0]
    payload = load_payload(path, ("motion_model", "training_run"))
    if payload["kind"] == "training_run":
        return _model_from_run_payload(payload, path)
    return MotionModel.from_payload(payload, path)


def _model_file(path: str | os.PathLike) -> tuple[Path, bool]:
    """``(path, is_package)``: an exported package's folder, or the model file (a run folder's ``model.pt``)."""
    path = Path(path)
    if path.is_dir() and not (path / "model.pt").exists() and (path / "model.json").exists():
        return path, True
    return (path / "model.pt" if path.is_dir() else path), False


def _model_from_run_payload(payload: dict[str, Any], path: Path) -> MotionModel:
    """:func:`model_from_checkpoint` of a checkpoint already read from ``path`` (named in errors)."""
    if payload.get("run_kind") != "motion":
        raise InputError(f"{path}: this checkpoint belongs to a {payload.get('run_kind')} run, not a motion model run.")
    attention = int(payload["stage_index"]) >= MOTION_STAGES.index("freq_attention")
    model = MotionModel.from_facts({**payload["facts"], "frequency_attention": attention})
    model.load_state_dict(payload["model"])
    _copy_average(_ema_parameters(model), payload["ema"])
    if payload.get("energy_ema") is not None and model.energy is not None:
        _copy_average(_energy_parameters(model), payload["energy_ema"])
    return model


def _copy_average(named: dict[str, torch.nn.Parameter], state: dict[str, Any]) -> None:
    """Set parameters ``named`` to the averages of an :class:`_EMA` ``state_dict`` (its decay does not matter here)."""
    ema = _EMA(named, 0.0)
    ema.load_state_dict(state)
    ema.copy_to(named)


def _energy_parameters(model: MotionModel) -> dict[str, torch.nn.Parameter]:
    """The motion-energy network's parameters, by name (averaged by their own EMA in stage 4)."""
    return dict(model.energy.named_parameters())


class _MotionTrainer(_Trainer):
    def __init__(self, run: _Run, config: TrainConfig, data: TrainData, seed: int, device: torch.device,
                 progress: ProgressFn | None, cancel: CancelFn | None, plan: dict[str, int]) -> None:
        super().__init__(run, config, data, seed, device, progress, cancel, plan)
        self.model = self.new_model(MotionModel)
        self.ema = _EMA(self._ema_named(), config.ema_decay)
        self.energy_ema: _EMA | None = None  #: made by stage 4, once the model has its energy network
        self.cache = None
        self.stages = [_VAEStage(self, plan["vae"]), _DiffusionStage(self, plan["diffusion"]),
                       _AttentionStage(self, plan["freq_attention"]), _EnergyStage(self, plan["energy"])]

    def _ema_named(self) -> dict[str, torch.nn.Parameter]:
        return _ema_parameters(self.model)

    def payload_state(self) -> dict[str, Any]:
        return {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "ema": self.ema.state_dict(), "facts": self.model.facts(),
                "energy_ema": None if self.energy_ema is None else self.energy_ema.state_dict()}

    def load_state(self, payload: dict[str, Any]) -> None:
        # as saved: a run resumed in stage 4 keeps the attention stage 3 switched on (no later stage switches it)
        self.model.adopt_structure(payload["facts"])
        self.model.vae_encoder_trained = bool(payload["facts"].get("vae_encoder_trained", True))
        self.model.load_state_dict(payload["model"])
        self.ema.load_state_dict(payload["ema"])
        if payload.get("energy_ema") is not None:  # checkpoints from before the energy EMA have none: stage 4 makes it
            self.energy_ema = _EMA(_energy_parameters(self.model), self.config.energy_ema_decay)
            self.energy_ema.load_state_dict(payload["energy_ema"])

    def averages(self) -> list[tuple[_EMA, dict[str, torch.nn.Parameter]]]:
        """Each EMA with the live parameters it averages."""
        pairs = [(self.ema, self._ema_named())]
        if self.energy_ema is not None:
            pairs.append((self.energy_ema, _energy_parameters(self.model)))
        return pairs

    def start_from(self, model_payload: dict[str, Any], path: Path) -> None:
        """Take all weights of a trained model (a ``model.pt`` payload): VAE, image encoder, denoiser and its
        motion-energy network when it has one."""
        # as trained: a run that skips stage 3 (--stages energy) must not drop the model's frequency attention
        self.model.adopt_structure(model_payload)
        self.model.vae_encoder_trained = bool(model_payload.get("vae_encoder_trained", True))
        self.model.load_state_dict(model_payload["state_dict"])
        self.ema = _EMA(self._ema_named(), self.config.ema_decay, warmed=True)
        self.init_from = str(path)

    def ensure_cache(self) -> None:
        """The latent cache for stages 2 and 3, and the latent scaling it implies."""
        if self.cache is not None:
            return
        vae = self.model.vae.eval()
        for p in vae.parameters():
            p.requires_grad_(False)
        digest = torch.cat([p.detach().flatten().cpu() for p in vae.parameters()]).numpy().tobytes()
        key = f"{self.data.fingerprint()}-{hashlib.sha256(digest).hexdigest()[:16]}"

        @torch.no_grad()
        def encode(channels: np.ndarray) -> np.ndarray:
            mean, _ = vae.encode(torch.from_numpy(channels).to(self.device))
            return mean.float().cpu().numpy()

        def report(done: int, count: int) -> None:
            if self.progress is not None:
                self.progress(TrainProgress("latent_cache", done, count, self.run.step, sum(self.plan.values())))

        start = time.perf_counter()
        self.cache = build_latent_cache(self.data, encode, key, self.run.out_dir / "latents.npz", report)
        self.draw_p = self.cache.draw_weights(self.data.weights)
        self.known_t = None if self.cache.known is None else torch.from_numpy(self.cache.known)  # [N, h, w]
        self.run.elapsed_s += time.perf_counter() - start
        mean, std = self.cache.latent_stats()
        self.model.set_latent_stats(mean, std)
        self.latents_t = torch.from_numpy(self.cache.latents)  # float16 [N, K, C, h, w]
        self.images_t = torch.from_numpy(self.cache.images)    # uint8 [N, H, W, 3]

    def batch_images(self, idx: np.ndarray, realism_rng: np.random.Generator | None = None) -> torch.Tensor:
        """Images of samples ``idx`` as float ``[B, 3, H, W]``; through the training camera
        (:func:`~.augment.photo_realism`) when the configuration asks for it and ``realism_rng`` is given."""
        images = self.images_t[torch.from_numpy(idx)]
        if realism_rng is not None and self.config.photo_realism > 0:
            images = torch.from_numpy(photo_realism(images.numpy(), realism_rng, self.config.photo_realism))
        return _image_batch(images, self.device)

    def batch_known(self, idx: np.ndarray) -> torch.Tensor | None:
        """Known fraction of each latent cell ``[B, 1, 1, h, w]`` of samples ``idx`` (None when all is known)."""
        if self.known_t is None:
            return None
        return self.known_t[torch.from_numpy(idx)].float()[:, None, None].to(self.device)

    def batch_latents(self, idx: np.ndarray, bands: np.ndarray) -> torch.Tensor:
        """Unit-scaled latents ``[B, Kb, C, h, w]`` of images ``idx`` and bands ``bands`` ``[B, Kb]``."""
        lat = self.latents_t[torch.from_numpy(idx)[:, None], torch.from_numpy(bands)].float().to(self.device)
        mean = self.model.latent_mean[torch.from_numpy(bands).to(self.device)][..., None, None]
        std = self.model.latent_std[torch.from_numpy(bands).to(self.device)][..., None, None]
        return (lat - mean) / std

    def condition(self, images: torch.Tensor, keep: np.ndarray, grad: bool) -> tuple[tuple, torch.Tensor]:
        """Image features with dropped conditions zeroed (``keep`` bool ``[B]``)."""
        with torch.set_grad_enabled(grad):
            pyramid, global_feat = self.model.encoder(images)
        mask = torch.from_numpy(keep.astype(np.float32)).to(self.device)
        return tuple(p * mask[:, None, None, None] for p in pyramid), global_feat * mask[:, None]

    def denoising_step(self, stage: _Stage, i: int, per_frequency: bool) -> dict[str, float]:
        """One diffusion training step of ``stage``.

        ``per_frequency`` (stage 2): each image contributes ``bands_per_image`` random band slices, each at its own
        diffusion time, denoised independently. Otherwise (stage 3, frequency attention): all K bands of an image at
        one time, so the attention sees a whole spectral volume. The encoder learns only where the stage trains it.
        """
        cfg = self.config
        rng = step_rng(self.seed, STAGE_KEYS[stage.name], i)
        n = self.cache.latents.shape[0]
        b = cfg.diffusion_batch if per_frequency else cfg.attention_batch
        idx = rng.choice(n, b, replace=n < b, p=self.draw_p)
        if per_frequency:
            bands = np.argsort(rng.random((b, cfg.num_bands)), axis=1)[:, :cfg.bands_per_image]
            times = rng.integers(0, cfg.train_timesteps, (b, cfg.bands_per_image))
        else:
            bands = np.tile(np.arange(cfg.num_bands), (b, 1))
            times = rng.integers(0, cfg.train_timesteps, b)
        noise = rng.standard_normal((b, bands.shape[1], *self.model.latent_shape[1:]), dtype=np.float32)
        keep = rng.random(b) >= cfg.cond_dropout
        x0 = self.batch_latents(idx, bands)
        realism = realism_rng(self.seed, STAGE_KEYS[stage.name], i)
        pyramid, global_feat = self.condition(self.batch_images(idx, realism), keep,
                                              grad=per_frequency or not cfg.freeze_base)
        band_idx = torch.from_numpy(bands).to(self.device) if per_frequency else None

        def denoise(x_t: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
            return self.model.unet(x_t, tt, pyramid, global_feat, band_idx)

        loss = diffusion_loss(denoise, self.model.schedule, x0, torch.from_numpy(times).to(self.device),
                              torch.from_numpy(noise).to(self.device), self.batch_known(idx))
        lr = stage.apply(loss, i, cfg)
        self.ema.update(self._ema_named())
        return {"loss": loss.item(), "lr": lr}

    def write_model(self, path: Path | None = None) -> None:
        """Save the EMA weights as ``model.pt`` (or at ``path``: a snapshot); the live weights stay as they are."""
        pairs = self.averages()
        live = [{k: p.detach().clone() for k, p in named.items()} for _, named in pairs]
        for ema, named in pairs:
            ema.copy_to(named)
        try:
            self.model.save(path or self.run.model_path)
        finally:
            with torch.no_grad():
                for (_, named), kept in zip(pairs, live):
                    for k, p in named.items():
                        p.copy_(kept[k])


class _VAEStage(_Stage):
    name = "vae"

    def begin(self, fresh: bool) -> None:
        cfg = self.t.config
        self.stream = ShardStream(self.t.data, self.t.seed, STAGE_KEYS["vae"], cfg.shard_batches)
        self.t.model.vae.train()
        self.make_optimizer(list(self.t.model.vae.parameters()), cfg.vae_lr, cfg.weight_decay)

    def step(self, i: int) -> dict[str, float]:
        cfg = self.t.config
        crops, known = vae_batch(self.stream, i, cfg.vae_batch, cfg.vae_crop, cfg.num_bands, cfg.vae_motion_crops,
                                 with_known=True)
        gen = torch.Generator().manual_seed(int(step_rng(self.t.seed, STAGE_KEYS["vae"], i).integers(2 ** 62)))
        mask = None if known.min() == 1.0 else torch.from_numpy(known).to(self.t.device)
        loss, metrics = vae_loss(self.t.model.vae, torch.from_numpy(crops).to(self.t.device), cfg, generator=gen,
                                 known=mask)
        metrics["lr"] = self.apply(loss, i, cfg)
        return metrics


class _DiffusionStage(_Stage):
    name = "diffusion"

    def begin(self, fresh: bool) -> None:
        t, cfg = self.t, self.t.config
        t.ensure_cache()
        t.model.unet.set_frequency_attention(False)
        t.model.encoder.train()
        t.model.unet.train()
        params = list(t.model.encoder.parameters()) + list(t.model.unet.parameters())
        self.make_optimizer(params, cfg.diffusion_lr, cfg.weight_decay)

    def step(self, i: int) -> dict[str, float]:
        return self.t.denoising_step(self, i, per_frequency=True)

    def end(self) -> None:
        self.t.write_model()


class _AttentionStage(_Stage):
    name = "freq_attention"

    def begin(self, fresh: bool) -> None:
        t, cfg = self.t, self.t.config
        t.ensure_cache()
        if fresh:
            # GID: start from the per-frequency model (here its EMA weights) and fine-tune the attention on top
            t.ema.copy_to(t._ema_named())
            t.ema.updates = 0
        t.model.unet.set_frequency_attention(True)
        if cfg.freeze_base:
            for p in (*t.model.encoder.parameters(), *t.model.unet.parameters()):
                p.requires_grad_(False)
            params = t.model.unet.frequency_attention_parameters()
            for p in params:
                p.requires_grad_(True)
        else:
            params = list(t.model.encoder.parameters()) + list(t.model.unet.parameters())
        t.model.encoder.train(not cfg.freeze_base)
        t.model.unet.train()
        self.make_optimizer(params, cfg.attention_lr, cfg.weight_decay)

    def step(self, i: int) -> dict[str, float]:
        return self.t.denoising_step(self, i, per_frequency=False)

    def end(self) -> None:
        self.t.write_model()


class _EnergyStage(_Stage):
    name = "energy"

    def begin(self, fresh: bool) -> None:
        t, cfg = self.t, self.t.config
        trained_before = t.model.energy is not None  # continued from a model, or resumed here
        if not trained_before:
            t.ema.copy_to(t._ema_named())  # the network's encoder starts from the motion model's (EMA) encoder
            t.model.attach_energy_net()
        if t.energy_ema is None:
            # a trained network's weights count as an average already: no warm-up towards them
            t.energy_ema = _EMA(_energy_parameters(t.model), cfg.energy_ema_decay, warmed=trained_before)
        self.stream = ShardStream(t.data, t.seed, STAGE_KEYS["energy"], cfg.energy_shard_batches)
        self.start_net = self._start_net() if cfg.energy_keep_weight > 0 else None
        t.model.energy.train()
        t.model.energy.freeze_encoder(cfg.energy_freeze_encoder)
        trained = [p for p in t.model.energy.parameters() if p.requires_grad]
        self.make_optimizer(trained, cfg.energy_lr, cfg.weight_decay)

    def step(self, i: int) -> dict[str, float]:
        t, cfg = self.t, self.t.config
        images, target, known = regression_batch(self.stream, i, cfg.energy_batch, with_known=True,
                                                 realism=cfg.photo_realism, exposure=cfg.photo_exposure,
                                                 zoom=cfg.photo_zoom, zoom_max=cfg.photo_zoom_max)
        # what the exported package will feed it (after the camera: a photo's own exposure)
        imgs = energy_net_input_tensor(_image_batch(torch.from_numpy(images), t.device), cfg.energy_input_key)
        target_log = torch.from_numpy(log_band_energy_targets(target, t.data.stats, cfg.energy_floor)).to(t.device)
        pred_log = t.model.energy(imgs)
        loss, metrics = batch_energy_loss(pred_log, target_log, known, cfg, self.stream.source_for(i).folder.name)
        if self.start_net is not None:
            with torch.no_grad():
                start_log = self.start_net(imgs)
            keep = keep_loss(pred_log, start_log)
            loss = loss + cfg.energy_keep_weight * keep
            metrics.update(loss=loss.item(), keep=keep.item())
        metrics["lr"] = self.apply(loss, i, cfg)
        t.energy_ema.update(_energy_parameters(t.model))
        return metrics

    def _start_net(self) -> torch.nn.Module:
        """The energy network the run started from (its ``--init-from`` model's, read again so that a resumed run
        has it too), frozen, for :attr:`~.configs.TrainConfig.energy_keep_weight`'s term."""
        start = load_motion_model(self.t.init_from).energy if self.t.init_from is not None else None
        if start is None:
            raise InputError("energy_keep_weight keeps a continued energy network near its start: continue a model "
                             "that has one (--init-from) or leave it at 0")
        start.requires_grad_(False)
        return start.to(self.t.device).eval()

    def end(self) -> None:
        self.t.write_model()


def _read_init_model(init_from: str | os.PathLike, config: TrainConfig, data: TrainData
                     ) -> tuple[dict[str, Any], Path, TrainConfig, TrainData]:
    """The trained motion model a new run starts from (``model.pt``, a run folder holding one, or an exported model
    package, rebuilt by :mod:`.recover`), checked against
    the run's configuration name and data; returns its payload, path, stored configuration and the data normalised
    by the model's own statistics."""
    path, is_package = _model_file(init_from)
    if is_package:
        from .recover import package_payload  # an exported package: its torch model rebuilt from the graphs
        payload = package_payload(path)
    else:
        payload = load_payload(path, "motion_model")
    if payload["config_name"] != config.name:
        raise InputError(f"{path}: this model was trained with config '{payload['config_name']}', not "
                         f"'{config.name}'. Continue it with --config {payload['config_name']}.")
    same = _with_model_statistics(data, payload["stats_json"], path)
    if same is None:
        raise InputError(f"{path}: this model was trained on coefficients of other bands than {data.info.folder} "
                         "holds (frequencies or normalisation percentile differ). Continue it on data with its "
                         "bands, or train a new model on this data.")
    return payload, path, config_from_facts(payload), same


def _skipped_stages(stages: tuple[str, ...], run_stages: tuple[str, ...] | None, from_model: bool) -> tuple[str, ...]:
    """The stages a new run leaves out: those not in ``run_stages`` (all run when ``None``), and the VAE of a model
    it continues (``from_model``); :class:`InputError` for a choice that cannot make a model."""
    if run_stages is None:
        return ("vae",) if from_model else ()
    unknown = [s for s in run_stages if s not in stages]
    if unknown or not run_stages:
        raise InputError(f"unknown training stage(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(stages)}.")
    if from_model and "vae" in run_stages:
        raise InputError("a run continuing a trained model (--init-from) keeps its VAE; leave 'vae' out of --stages.")
    if not from_model and not {"vae", "diffusion"} <= set(run_stages):
        raise InputError("a new model needs the 'vae' and 'diffusion' stages; add them to --stages, or continue a "
                         "trained model with --init-from.")
    return tuple(s for s in stages if s not in run_stages)


def _start(trainer_class: type[_Trainer], kind: str, stages: tuple[str, ...], config_name: str | TrainConfig,
           data_dir: str | os.PathLike, out_dir: str | os.PathLike, steps: int | None, resume: bool, overwrite: bool,
           seed: int, device: str, progress: ProgressFn | None, cancel: CancelFn | None,
           init_from: str | os.PathLike | None = None, batch_multiplier: int = 1,
           run_stages: tuple[str, ...] | None = None, photo_realism: float | None = None,
           lr_scale: float | None = None, settings: tuple[str, ...] = ()) -> tuple[_Run, _Trainer]:
    """Open (or resume) a run, build its trainer and run the stages still to do; returns (run, trainer).

    ``init_from`` (motion runs) and ``batch_multiplier`` apply to a new run only: a resumed run already holds the
    weights it started from and keeps the batch sizes it was started with.
    """
    dev = resolve_device(device)
    scale_batches(get_config(config_name), batch_multiplier)  # refuse a bad multiplier before writing anything
    if lr_scale is not None:
        scale_learning_rates(get_config(config_name), lr_scale)  # and a bad learning-rate scale
    override_fields(get_config(config_name), settings)  # and a bad --set
    new_folder = not Path(out_dir).exists()
    try:
        run, config, data, payload = _prepare_run(kind, config_name, data_dir, out_dir, resume, overwrite)
        init = None
        if payload is None and init_from is not None:
            init, init_path, config, data = _read_init_model(init_from, config, data)  # the model's own settings
        skipped = _skipped_stages(stages, run_stages, init is not None) if payload is None else ()
        if init is not None and not init.get("vae_encoder_trained", True) and \
                {"diffusion", "freq_attention"} - set(skipped):
            raise InputError(f"{init_path}: this model was rebuilt from an exported package, which holds no VAE "
                             "encoder, so it cannot encode new latents for the diffusion stages; continue it with "
                             "--stages energy.")
    except InputError:
        if new_folder and Path(out_dir).is_dir() and not any(Path(out_dir).iterdir()):
            Path(out_dir).rmdir()  # a refused run leaves no empty folder behind
        raise
    if payload is not None:
        seed = int(payload["seed"])  # a resumed run keeps its own seed
    else:
        config = scale_batches(config, batch_multiplier)
        if photo_realism is not None:
            config = dataclasses.replace(config, photo_realism=float(photo_realism)).validate()
        if lr_scale is not None:
            config = scale_learning_rates(config, lr_scale)
        if init is not None and "energy" not in skipped:
            # a calibration belongs to the weights it was fitted on: once they train, it is fitted again
            config = dataclasses.replace(config, energy_gain=1.0).validate()
        config = override_fields(config, settings)
    _seed_everything(seed)
    plan = _plan(config, stages, steps, payload, skipped=skipped)
    trainer = trainer_class(run, config, data, seed, dev, progress, cancel, plan)
    if payload is not None:
        trainer.load_state(payload)
        trainer.init_from = payload.get("init_from")
    elif init is not None:
        trainer.start_from(init, init_path)
    if run.stage_index < len(stages):  # stages left out (no steps) are passed over by execute
        trainer.execute(payload.get("optimizer") if payload else None)
    return run, trainer


def train(config_name: str | TrainConfig, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
          steps: int | None = None, resume: bool = True, seed: int = 0, device: str = "auto",
          progress: ProgressFn | None = None, cancel: CancelFn | None = None, overwrite: bool = False,
          init_from: str | os.PathLike | None = None, batch_multiplier: int = 1,
          stages: tuple[str, ...] | None = None, photo_realism: float | None = None,
          lr_scale: float | None = None, settings: tuple[str, ...] = ()) -> Path:
    """Train the motion model; returns the path of ``model.pt``.

    Args:
        config_name: ``tiny``, ``default`` or ``large`` (or a :class:`TrainConfig`).
        data_dir: a dataset folder (``dataset.json``, shards, ``norm_stats.json``), or several as a list of folders
            and ``(folder, weight)`` pairs: a mixture, each folder drawn in proportion to its weight, normalised by
            statistics over the mixture (:func:`~.data.open_training_data`). Pixels a shard marks unknown
            (``known`` = 0) are left out of every loss and of the statistics.
        out_dir: the run folder (checkpoints, metrics log, model).
        steps: total optimisation steps over all stages, split in the configuration's proportions; ``None`` takes
            the configuration's stage lengths. A resumed run may change it: the current stage then runs to its new
            length (finished stages stay finished).
        resume: continue from ``out_dir/checkpoint.pt`` when it exists (a run of another configuration raises
            :class:`InputError`); the run keeps its own seed.
        seed: seeds initialisation and every batch of a new run.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        progress: called with a :class:`TrainProgress` after each step.
        cancel: polled before each step; returning True saves a checkpoint and raises :class:`CancelledError`.
        overwrite: with ``resume=False``, replace an existing run instead of refusing.
        init_from: a trained motion model (``model.pt`` or its run folder) for a new run to continue: its VAE is kept
            and stage 1 skipped; the later stages start from its weights (``steps`` are split between them). It must
            have this configuration's name and the data's normalisation statistics; its stored hyperparameters
            govern the run. Ignored when the run folder holds a checkpoint to resume.
        batch_multiplier: a new run's batches of every stage times this (learning rates unchanged): on a GPU a
            larger batch costs about the same time per step. A resumed run keeps the batches it started with.
        stages: the stages a new run trains (default: all of :data:`MOTION_STAGES`, less the VAE with
            ``init_from``); a new model needs ``vae`` and ``diffusion``, a continued one keeps its VAE. E.g.
            ``("energy",)`` with ``init_from`` adds a motion-energy network to a model trained without one. A
            resumed run keeps its own choice.
        photo_realism: a new run's strength of the training-time camera (:mod:`.augment`: noise, JPEG, blur,
            defocus, chromatic aberration, downscaling on the images of stages 2 to 4); ``None`` keeps the
            configuration's (0, off, for the named ones). Stored in the run's configuration, so a resume keeps it.
        lr_scale: a new run's learning rates of every stage times this (a continuation on new data may want less
            than the stored ones); stored in the run's configuration.
        settings: ``FIELD=VALUE`` assignments to a new run's training hyperparameters, applied last
            (:func:`~.configs.override_fields`); stored in the run's configuration.
    """
    run, trainer = _start(_MotionTrainer, "motion", MOTION_STAGES, config_name, data_dir, out_dir, steps, resume,
                          overwrite, seed, device, progress, cancel, init_from, batch_multiplier, stages,
                          photo_realism, lr_scale, tuple(settings))
    if run.stage_index >= len(MOTION_STAGES) and not run.model_path.exists():
        trainer.write_model()
    # a finished run never reads its latent cache again (it is large: ~0.45 MB per sample at 256x160)
    (run.out_dir / "latents.npz").unlink(missing_ok=True)
    return run.model_path


# ----------------------------------------------------------------------------------------------------------------------
# regression baseline


class _RegressionTrainer(_Trainer):
    def __init__(self, run: _Run, config: TrainConfig, data: TrainData, seed: int, device: torch.device,
                 progress: ProgressFn | None, cancel: CancelFn | None, plan: dict[str, int]) -> None:
        super().__init__(run, config, data, seed, device, progress, cancel, plan)
        self.model = self.new_model(RegressionModel)
        self.stages = [_RegressionStage(self, plan["regression"])]

    def payload_state(self) -> dict[str, Any]:
        return {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}, "facts": self.model.facts()}

    def load_state(self, payload: dict[str, Any]) -> None:
        self.model.load_state_dict(payload["model"])

    def write_model(self, path: Path | None = None) -> None:
        """Save the weights as ``regression.pt`` (or at ``path``: a snapshot)."""
        self.model.save(path or self.run.model_path)


class _RegressionStage(_Stage):
    name = "regression"

    def begin(self, fresh: bool) -> None:
        cfg = self.t.config
        self.stream = ShardStream(self.t.data, self.t.seed, STAGE_KEYS["regression"], cfg.shard_batches)
        self.t.model.train()
        self.make_optimizer(list(self.t.model.parameters()), cfg.regression_lr, cfg.weight_decay)

    def step(self, i: int) -> dict[str, float]:
        t, cfg = self.t, self.t.config
        images, target, known = regression_batch(self.stream, i, cfg.regression_batch, with_known=True,
                                                 realism=cfg.photo_realism)
        imgs = _image_batch(torch.from_numpy(images), t.device)
        mask = None if known.min() == 1.0 else torch.from_numpy(known).to(t.device)
        loss = regression_loss(t.model.net, imgs, torch.from_numpy(target).to(t.device), known=mask)
        return {"loss": loss.item(), "lr": self.apply(loss, i, cfg)}

    def end(self) -> None:
        self.t.write_model()


def train_regression(config_name: str | TrainConfig, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                     steps: int | None = None, resume: bool = True, seed: int = 0, device: str = "auto",
                     progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                     overwrite: bool = False, batch_multiplier: int = 1, photo_realism: float | None = None) -> Path:
    """Train the direct-regression baseline (same arguments as :func:`train`); returns the path of ``regression.pt``.

    Files: ``regression_checkpoint.pt``, ``regression_metrics.jsonl``, ``regression.pt`` (so it may share a run
    folder with the motion model).
    """
    run, trainer = _start(_RegressionTrainer, "regression", ("regression",), config_name, data_dir, out_dir, steps,
                          resume, overwrite, seed, device, progress, cancel, batch_multiplier=batch_multiplier,
                          photo_realism=photo_realism)
    if run.stage_index >= 1 and not run.model_path.exists():
        trainer.write_model()
    return run.model_path
