"""Continue a trained motion model on a GPU for a fixed wall-clock budget (a lent machine, a cloud instance).

Usage (from the repository root, ``core`` importable)::

    PYTHONPATH=core python3 scripts/continue_on_gpu.py --init-from model.pt --norm-stats norm_stats.json \
        --out OUT --budget-s 530 [--batch-multiplier 4] [--count 2000] [--seed 3]

1. Makes the training set in ``/tmp`` (``--count`` scenes of dataset seed 0, all cores but one) unless
   ``--data`` names one, and writes ``--norm-stats`` (the model's statistics) over its own: the same scenes made under
   another numpy or OpenCV differ only in rounding.
2. Probes: a new ``train --init-from`` run, cancelled after ``--probe`` diffusion steps, gives the step time.
3. Resumes that run with as many steps as fit the rest of the budget (a deadline cancel is the safety net).
4. Writes the EMA model to ``OUT``: ``model.pt`` when the run finished, else built from its checkpoint. ``--split-mib``
   cuts it into parts where only small files can be copied back; ``cat model.pt.part* > model.pt`` joins them.
5. Times torch prediction of the result on the device.

What the first such run taught (docs/model-card.md, "A short GPU continuation"): making the data and the latent cache
took 5.7 of 9 minutes on a 16-core H200 machine, and 2,346 steps at a re-warmed learning rate made the model worse.
Give it a budget for 10,000 steps or more.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from image_dynamics.data.synth import generate_dataset
from image_dynamics.errors import CancelledError
from image_dynamics.train import loop
from image_dynamics.train.configs import get_config
from image_dynamics.train.model import MotionModel


class Clock:
    """Seconds since the start and a log line printer (stdout and ``OUT/job.log``)."""

    def __init__(self, log_path: Path) -> None:
        self.start = time.time()
        self.log = open(log_path, "a")

    def elapsed(self) -> float:
        return time.time() - self.start

    def say(self, *parts: object) -> None:
        line = f"[{self.elapsed():7.1f}s] " + " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--init-from", type=Path, required=True, help="the trained model.pt to continue")
    p.add_argument("--norm-stats", type=Path, help="the model's norm_stats.json, written over the made data's")
    p.add_argument("--out", type=Path, required=True, help="folder for model.pt (or its parts), metrics, job.log")
    p.add_argument("--budget-s", type=float, required=True, help="wall-clock seconds for everything")
    p.add_argument("--data", type=Path, help="an existing training set (default: make one in /tmp)")
    p.add_argument("--count", type=int, default=2000, help="scenes to make (default 2000, the shipped set)")
    p.add_argument("--batch-multiplier", type=int, default=4)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--probe", type=int, default=150, help="diffusion steps timed before sizing the run")
    p.add_argument("--device", default="cuda")
    p.add_argument("--run", type=Path, default=Path("/tmp/id_run"), help="the run folder (checkpoints)")
    p.add_argument("--split-mib", type=int, default=0, help="cut model.pt into parts of this many MiB (0: whole)")
    return p.parse_args(argv)


def make_data(args: argparse.Namespace, clock: Clock) -> Path:
    data = args.data or Path("/tmp/id_train")
    if not (data / "dataset.json").exists():
        generate_dataset(data, args.count, seed=0, workers=max(1, (os.cpu_count() or 2) - 1))
    if args.norm_stats is not None:
        shipped = args.norm_stats.read_text()
        made = np.array(json.loads((data / "norm_stats.json").read_text())["scales"])
        model = np.array(json.loads(shipped)["scales"])
        clock.say(f"data ready; its normalisation scales differ from the model's by up to "
                  f"{np.max(np.abs(made / model - 1)):.1e} (relative): using the model's")
        (data / "norm_stats.json").write_text(shipped)
    return data


def train_run(args: argparse.Namespace, data: Path, steps: int, cancel, clock: Clock) -> bool:
    """Run or resume the continuation; False when ``cancel`` stopped it (its checkpoint keeps it)."""

    def progress(p: loop.TrainProgress) -> None:
        state.update(stage=p.stage, stage_step=p.stage_step)
        if p.stage != "latent_cache" and p.stage_step % 500 == 0:
            clock.say(f"{p.stage} {p.stage_step}/{p.stage_steps} step {p.step}/{p.total_steps}",
                      {k: round(v, 5) for k, v in p.metrics.items()})

    try:
        loop.train("default", data, args.run, steps=steps, seed=args.seed, device=args.device, progress=progress,
                   cancel=lambda: cancel(state), init_from=args.init_from, batch_multiplier=args.batch_multiplier)
        return True
    except CancelledError as exc:
        clock.say("stopped:", exc)
        return False


state: dict[str, object] = {"stage": None, "stage_step": 0}


def probe_step_time(args: argparse.Namespace, data: Path, clock: Clock) -> float:
    """Median seconds per diffusion step over a probe (bf16 autocast; fp32 if that fails)."""
    def probed(s):
        return s["stage"] == "diffusion" and s["stage_step"] >= args.probe

    try:
        train_run(args, data, 10 ** 6, probed, clock)
    except Exception:
        clock.say("probe failed under bf16 autocast, retrying in fp32:\n" + traceback.format_exc())
        loop._autocast = lambda device: torch.autocast(device.type, enabled=False)
        shutil.rmtree(args.run, ignore_errors=True)
        train_run(args, data, 10 ** 6, probed, clock)
    metrics = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()]
    return float(np.median([m["seconds"] for m in metrics[args.probe // 3:]]))


def deliver(model_path: Path, args: argparse.Namespace) -> list[Path]:
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.run / "metrics.jsonl", args.out / "metrics.jsonl")
    if args.split_mib <= 0:
        return [Path(shutil.copy(model_path, args.out / "model.pt"))]
    blob, part = model_path.read_bytes(), args.split_mib * 2 ** 20
    paths = []
    for i in range(0, len(blob), part):
        paths.append(args.out / f"model.pt.part{i // part}")
        paths[-1].write_bytes(blob[i:i + part])
    return paths


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    clock = Clock(args.out / "job.log")
    clock.say("python", sys.version.split()[0], "numpy", np.__version__, "torch", torch.__version__,
              torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA",
              "batch multiplier", args.batch_multiplier, "budget", args.budget_s)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True

    data = make_data(args, clock)
    per_step = probe_step_time(args, data, clock)
    reserve = 45.0  # checkpoint, model, copies
    usable = args.budget_s - clock.elapsed() - reserve
    cfg = get_config("default")
    attention_share = cfg.attention_steps / (cfg.diffusion_steps + cfg.attention_steps)
    # attention steps assumed 1.2x as long, 12 % slack
    total = int(args.probe + usable / (per_step * 1.12 * (1 - attention_share + 1.2 * attention_share)))
    clock.say(f"probe: {per_step * 1000:.1f} ms a step; planning {total} steps for {usable:.0f} s")
    deadline = clock.start + args.budget_s - reserve + 15
    finished = False
    if total <= args.probe:
        clock.say("no time left beyond the probe: keeping the probe's weights")
    else:
        try:
            finished = train_run(args, data, total, lambda s: time.time() > deadline, clock)
        except Exception:
            clock.say("the run failed:\n" + traceback.format_exc())
    model_path = args.run / "model.pt"
    if not finished:  # the EMA weights the checkpoint holds
        model_path = loop.model_from_checkpoint(args.run / "checkpoint.pt").save(args.run / "model_cut.pt")
    paths = deliver(model_path, args)
    clock.say("model:", ", ".join(p.name for p in paths))

    if args.budget_s - clock.elapsed() > 20:
        model = MotionModel.load(model_path, device=args.device)
        images = np.load(sorted(data.glob("shard_*.npz"))[0])["images"][:4]
        for batch in (1, 4):
            model.predict(images[:batch], seed=0)  # warm-up
            start = time.perf_counter()
            for _ in range(3):
                model.predict(images[:batch], seed=0)  # returns numpy: synchronised
            clock.say(f"torch {args.device} predict, {batch} image(s): {(time.perf_counter() - start) / 3:.3f} s")
    clock.say("done")
    return 0


if __name__ == "__main__":  # the data workers are spawned: they import this file
    sys.exit(main())
