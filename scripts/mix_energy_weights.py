"""A motion model whose energy network is a mix, in weight space, of a model and a fine-tune of it (WiSE-FT:
Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022); rules r26 and r27 in docs/model-card.md.

Usage: .venv/bin/python scripts/mix_energy_weights.py BASE TUNED --amount A -o OUT.pt

BASE and TUNED are anything :func:`image_dynamics.train.loop.load_motion_model` reads (a package folder, a run's
``model.pt``, a snapshot); TUNED must be stage-4 training from BASE, so that the two are one network. The output's
energy network is ``(1 - A) x BASE + A x TUNED``, parameter by parameter; every other part of the model (VAE, image
encoder, denoiser, statistics) is BASE's, since stage 4 trains only the energy network. OUT is a model file that
``export``, ``eval_photos_energy_net.py`` and ``eval_energy_net.py`` take like any snapshot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

ENERGY_PREFIX = "energy."


def mix_energy_state(base: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], amount: float
                     ) -> dict[str, torch.Tensor]:
    """The state dict with every floating-point tensor of the energy network (keys ``energy.*``) at
    ``(1 - amount) x base + amount x tuned`` (``amount`` in [0, 1]) and everything else ``base``'s."""
    if not 0.0 <= amount <= 1.0:
        raise SystemExit(f"--amount {amount}: give a share of the fine-tune between 0 and 1")
    if base.keys() != tuned.keys():
        raise SystemExit("the two models' weights do not match: TUNED must be a fine-tune of BASE's configuration")
    if not any(k.startswith(ENERGY_PREFIX) for k in base):
        raise SystemExit("BASE has no motion-energy network to mix")
    return {k: ((1 - amount) * v + amount * tuned[k]).to(v.dtype)
            if k.startswith(ENERGY_PREFIX) and v.is_floating_point() else v for k, v in base.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("tuned")
    ap.add_argument("--amount", type=float, required=True, help="the fine-tune's share, 0 (BASE) to 1 (TUNED)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: remove it or name another file")
    from image_dynamics.train.loop import load_motion_model

    model = load_motion_model(args.base)
    model.load_state_dict(mix_energy_state(model.state_dict(), load_motion_model(args.tuned).state_dict(),
                                           args.amount))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"wrote {args.out}: energy network {1 - args.amount:g} x {args.base} + {args.amount:g} x {args.tuned}")


if __name__ == "__main__":
    main()
