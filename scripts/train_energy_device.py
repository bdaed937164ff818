"""Train the motion-energy network alone on a lent GPU machine, from packed data (``scripts/energy_pack.py``).

Why: the CPU runs of stage 4 (``image-dynamics train --stages energy``) see about 1 step of 8 images per second on
2 cores, so every release so far trained its energy network for a few thousand images; a lent GPU (15 minutes, a
64 MiB carry) can show it a hundred times as many, if the data travels packed and nothing else does. The step is
stage 4's: the same network, loss (:func:`~image_dynamics.train.energy_net.energy_loss`), camera, zoom, warm-up and
cosine learning rate, gradient clip and weight average; only the batches come from the pack, drawn by worker
processes (each a pure function of seed and step), and the targets are the pack's quantised band energies.

    python scripts/train_energy_device.py prepare MODEL OUT_DIR
        here: OUT_DIR/energy_init.pt (the model's energy network, float16) and OUT_DIR/config.json
    python scripts/train_energy_device.py train --init DIR --pack DIR [DIR ...] --out DIR --seconds S [options]
        there: trains for S seconds of steps (the count fixed after a timed warm-up, so the learning-rate schedule
        ends where the run ends) and writes the averaged weights at --snapshots even points, float16, and the state
        a later run goes on from (--resume DIR: a run over several leases)
    python scripts/train_energy_device.py merge MODEL SNAPSHOT OUT_MODEL_PT
        here: MODEL with its energy network's weights replaced by SNAPSHOT's, gain 1 (calibrate it again)

On a lent machine (run RL13, docs/model-card.md; 708 s of a 900-s lease): the checkout must travel under 64 MiB, so
untrack all but ``core/`` (less the model package), ``scripts/`` and ``pyproject.toml`` for the calls (``git rm
--cached`` with those paths in ``.git/info/exclude``; ``git reset`` after), and carry an ignored folder holding one
part of the pack (``energy_pack.py split``) and, in the first call, ``prepare``'s folder. The first call copies its part
to ``/root/stash`` and runs a short smoke ``train`` (the step time); the next copies its part; the last copies its part
and runs ``train --pack /root/stash/part*`` with ``--seconds`` about 60 s under the call's limit. Calls must follow
within the machine's 30 s of warmth, or the stash is gone (the run then trains on what it has and ``run.json`` says
so). Snapshots and ``state_*.pt`` come back from ``$OUT``: at most 8 files of 16 MiB.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "core"))
sys.path.insert(0, str(ROOT / "scripts"))

#: generator stream of the packed batches (stage 4's key in the CPU loop is 5; this keeps its own)
STAGE_KEY = 15

_PACK = None  # the worker processes' pack, inherited at fork


def energy_batch(step: int, seed: int, batch: int, zoom: float, zoom_max: float, realism: float,
                 exposure: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step ``step``'s batch from the global pack: (images uint8 ``[B, H, W, 3]``, ``log(E + floor)`` float32
    ``[B, K, H, W]``, known float32 ``[B, H, W]``), drawn, flipped, zoomed, re-exposed and passed through the camera
    as :func:`image_dynamics.train.data.regression_batch` does (framing, light, then the camera)."""
    from energy_pack import dequantise_log_energy

    from image_dynamics.train.data import light_and_camera, step_rng
    from image_dynamics.train.framing import zoom_in, zoom_rng

    pack = _PACK
    rng = step_rng(seed, STAGE_KEY, step)
    picks = rng.choice(len(pack.images), batch, p=pack.sample_probabilities)
    flips = rng.random(batch) < 0.5
    images = pack.images[picks].copy()
    log_e = dequantise_log_energy(pack.log_energy_codes[picks], pack.floor)
    known = pack.known[picks].astype(np.float32)
    for j in np.flatnonzero(flips):  # energy has no sign, so a mirror image only mirrors it
        images[j], log_e[j], known[j] = images[j, :, ::-1], log_e[j, :, :, ::-1], known[j, :, ::-1]
    if zoom > 0:
        b, k, h, w = log_e.shape
        # zoom_in takes normalised channels sign(n) n^2 = amplitude in pixels; an energy's amplitude is sqrt(E), so
        # n = E^(1/4). Its 4 channels per band carry 4 bands here; channels 2-3 scale by H/h instead of W/w, which
        # differ only by the window's rounding to whole pixels (< 1 %).
        n = np.sqrt(np.sqrt(np.clip(np.exp(log_e) - pack.floor, 0.0, None))).reshape(b, k // 4, 4, h, w)
        images, n, known = zoom_in(images, n, known, zoom_rng(seed, STAGE_KEY, step), zoom, zoom_max)
        log_e = np.log(n.reshape(b, k, h, w) ** 4 + np.float32(pack.floor)).astype(np.float32)
    images = light_and_camera(images, seed, STAGE_KEY, step, exposure, realism)
    return np.ascontiguousarray(images), np.ascontiguousarray(log_e), np.ascontiguousarray(known)


def _batch_job(args: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return energy_batch(*args)


def prepare(model_path: str, out: Path) -> None:
    import torch

    from image_dynamics.train.loop import load_motion_model

    model = load_motion_model(model_path)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() for k, v in model.energy.state_dict().items()}, out / "energy_init.pt")
    config = dataclasses.replace(model.config, energy_gain=1.0)
    (out / "config.json").write_text(json.dumps({"config": config.to_dict()}, indent=1) + "\n")
    print(f"energy network of {model_path} -> {out}")


def merge(model_path: str, snapshot: str, out_path: str) -> None:
    import torch

    from image_dynamics.train.loop import load_motion_model

    model = load_motion_model(model_path)
    state = torch.load(snapshot, map_location="cpu", weights_only=True)
    model.energy.load_state_dict({k: v.float() for k, v in state.items()})
    model.config = dataclasses.replace(model.config, energy_gain=1.0)
    model.save(out_path)
    print(f"{model_path} with the energy network of {snapshot} -> {out_path}")


def _moments_cast(state: dict, cast) -> dict:
    """An optimiser ``state_dict`` with ``cast`` applied to every floating tensor moment (the scalar step counts
    kept as they are)."""
    state = dict(state)
    state["state"] = {k: {name: (cast(v) if v.is_floating_point() and v.dim() > 0 else v)
                          for name, v in moments.items()} for k, moments in state["state"].items()}
    return state


def save_state(out: Path, net, ema, optimizer) -> None:
    """What a later run needs to go on (``--resume OUT``), in two files of at most 16 MiB (what a lent machine's call
    returns): ``state_weights.pt`` (the raw and the averaged weights, float16) and ``state_optimizer.pt`` (AdamW's
    moments, bfloat16: their range matters more than their last digits)."""
    import torch

    torch.save({"raw": {k: v.detach().cpu().half() for k, v in net.state_dict().items()},
                "ema": {k: v.detach().cpu().half() for k, v in ema.shadow.items()}, "ema_updates": ema.updates},
               out / "state_weights.pt")
    torch.save(_moments_cast(optimizer.state_dict(), lambda v: v.to(torch.bfloat16)), out / "state_optimizer.pt")


def check_resumable(folder: Path) -> None:
    """Stop with one line, before anything is loaded, unless ``folder`` holds what :func:`resume` reads."""
    missing = [name for name in ("state_weights.pt", "state_optimizer.pt", "run.json") if not (folder / name).exists()]
    if missing:
        raise SystemExit(f"--resume {folder}: no {', '.join(missing)} there; give the --out folder of a run that "
                         "finished (runs before --resume existed saved no state). Nothing was trained.")


def resume(folder: Path, net, ema, optimizer) -> int:
    """Load :func:`save_state`'s files from an earlier run's ``folder`` into ``net``, ``ema`` and ``optimizer``;
    returns the global step the earlier run ended at (from its ``run.json``)."""
    import torch

    weights = torch.load(folder / "state_weights.pt")
    net.load_state_dict({k: v.float() for k, v in weights["raw"].items()})
    for k, v in weights["ema"].items():
        ema.shadow[k].copy_(v.float())
    ema.updates = int(weights["ema_updates"])
    optimizer.load_state_dict(_moments_cast(torch.load(folder / "state_optimizer.pt"), lambda v: v.float()))
    done = json.loads((folder / "run.json").read_text())
    return int(done["first_step"]) + int(done["steps"])


def train(args: argparse.Namespace) -> None:
    global _PACK
    import torch
    from energy_pack import load_pack

    from image_dynamics.train.configs import override_fields
    from image_dynamics.train.energy_net import MotionEnergyNet, batch_energy_loss, energy_net_input_tensor
    from image_dynamics.train.loop import _EMA, _image_batch, learning_rate, new_optimizer, optimiser_step
    from image_dynamics.train.model import config_from_facts

    started = time.time()
    if args.resume is not None:
        check_resumable(args.resume)
    config = config_from_facts(json.loads((args.init / "config.json").read_text()))
    config = override_fields(config, args.set)
    _PACK = load_pack(args.pack, workers=args.workers)
    print(f"pack: {len(_PACK.images)} scenes from {dict(zip(_PACK.names, _PACK.weights))} "
          f"({time.time() - started:.0f} s)", flush=True)
    from multiprocessing import get_context
    # the workers fork before CUDA starts: a pool forked from a process holding a CUDA context hung on terminate
    pool = get_context("fork").Pool(args.workers)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    net = MotionEnergyNet(config)
    net.load_state_dict({k: v.float() for k, v in torch.load(args.init / "energy_init.pt").items()})
    net.to(device).train()
    named = dict(net.named_parameters())
    ema = _EMA(named, config.energy_ema_decay, warmed=True)
    optimizer = new_optimizer(net.parameters(), config.energy_lr, config.weight_decay)
    first_step = 0
    if args.resume is not None:
        first_step = resume(args.resume, net, ema, optimizer)
        print(f"resumed {args.resume}: its weights, average and optimiser state; batches from step {first_step}",
              flush=True)
    batch = config.energy_batch
    job = (args.seed, batch, config.photo_zoom, config.photo_zoom_max, config.photo_realism, config.photo_exposure)
    args.out.mkdir(parents=True, exist_ok=True)
    log = open(args.out / "metrics.jsonl", "w")

    total = args.max_steps
    # batches are drawn at global step numbers, so a resumed run draws new ones; the schedule is this run's own
    pending: deque = deque(pool.apply_async(_batch_job, ((first_step + s, *job),)) for s in range(args.prefetch))
    timed_from = None
    snapshots_at: list[int] = []
    i = 0
    while i < total:
        images, log_e, known = pending.popleft().get()
        pending.append(pool.apply_async(_batch_job, ((first_step + i + args.prefetch, *job),)))  # bounded queue
        # as stage 4: what the exported package will feed it
        imgs = energy_net_input_tensor(_image_batch(torch.from_numpy(images), device), config.energy_input_key)
        target = torch.from_numpy(log_e).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            pred = net(imgs)
        loss, metrics = batch_energy_loss(pred.float(), target, known, config)
        lr = learning_rate(config.energy_lr, i, total, config.warmup_steps)
        if optimiser_step(optimizer, loss, lr, config.grad_clip):  # a non-finite step is left out, as in stage 4
            ema.update(named)
        i += 1
        if i == args.timing_from:
            timed_from = time.time()
        if timed_from is not None and i == args.timing_from + args.timing_steps:
            per_step = (time.time() - timed_from) / args.timing_steps
            left = args.seconds - (time.time() - started)
            total = min(args.max_steps, i + max(0, int(left / per_step)))
            snapshots_at = sorted({round(total * (s + 1) / args.snapshots) for s in range(args.snapshots)})
            print(f"{per_step * 1000:.0f} ms a step of {batch}: {total} steps in all, snapshots at {snapshots_at}",
                  flush=True)
        if i % 50 == 0 or i == total:
            record = {"step": i, "lr": lr, "t": round(time.time() - started, 1), **metrics}
            log.write(json.dumps(record) + "\n")
            log.flush()
            if i % 250 == 0:
                print(json.dumps(record), flush=True)
        if i in snapshots_at or i == total:
            shadow = {k: v.detach().to("cpu", torch.float16) for k, v in ema.shadow.items()}
            state = {k: shadow[k] if k in shadow else v.detach().cpu().half() for k, v in net.state_dict().items()}
            torch.save(state, args.out / f"energy_step{i:06d}.pt")
    log.close()
    save_state(args.out, net, ema, optimizer)
    (args.out / "run.json").write_text(json.dumps({
        "first_step": first_step, "steps": i, "batch": batch, "resumed_from": str(args.resume or ""),
        "seconds": round(time.time() - started, 1), "seed": args.seed,
        "config": config.to_dict(), "pack": dict(zip(_PACK.names, _PACK.weights)),
        "counts": np.bincount(_PACK.source).tolist(), "device": torch.cuda.get_device_name() if
        device.type == "cuda" else "cpu"}, indent=1) + "\n")
    pool.terminate()
    print(f"done: {i} steps in {time.time() - started:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("model")
    p.add_argument("out", type=Path)
    m = sub.add_parser("merge")
    m.add_argument("model")
    m.add_argument("snapshot")
    m.add_argument("out")
    t = sub.add_parser("train")
    t.add_argument("--init", type=Path, required=True)
    t.add_argument("--pack", type=Path, nargs="+", required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--seconds", type=float, required=True, help="wall-clock budget from start, loading included")
    t.add_argument("--max-steps", type=int, default=100000)
    t.add_argument("--snapshots", type=int, default=4)
    t.add_argument("--workers", type=int, default=14)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--prefetch", type=int, default=32, help="batches drawn ahead by the workers")
    t.add_argument("--timing-from", type=int, default=20, help="steps before timing starts (warm-up, cuDNN search)")
    t.add_argument("--timing-steps", type=int, default=40)
    t.add_argument("--set", action="append", default=[], help="FIELD=VALUE of the training configuration")
    t.add_argument("--resume", type=Path, help="an earlier run's --out: go on from its weights, average and optimiser "
                   "(a new schedule over this run's steps; give warmup_steps a few steps)")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.model, args.out)
    elif args.command == "merge":
        merge(args.model, args.snapshot, args.out)
    else:
        train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
