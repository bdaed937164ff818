"""What energy correlation can any predictor that sees only the image reach on our synthetic or Blender scenes?

Usage: .venv/bin/python scripts/energy_ceiling.py [--seed 7919] [--count 64] [--json OUT]
       .venv/bin/python scripts/energy_ceiling.py --render [--seed 2] [--count 64] [--json OUT]   (needs bpy)

Some of a scene's motion amplitudes are random factors the image does not show (how far a grass row, a tree, a bush
or a flame sways; :func:`~image_dynamics.data.scenes.motion.hidden_gain`). Rendering the same scenes
again with every such factor at its root mean square gives the motion energy that appearance determines; its
per-image Pearson correlation with the true energy bounds eval's energy correlation from above (it still knows
every visible attribute exactly, so a real model scores lower). Prints the bound per scene family and overall, and
the same bound for a predictor that knows that energy only as means over the model's 4-px latent cells.

``--render`` does the same for the Blender generator (``data render``; :func:`~image_dynamics.data.render.worker.
ceiling_truths`: one render of the passes, two truths), scored over each scene's known pixels as ``eval`` scores
them; the scenes are those of the *current* generator, so a set made by an older one (``source`` in its
``dataset.json``) needs the code of that version.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from image_dynamics.data.scenes.motion import expected_hidden_gains
from image_dynamics.data.synth import render_sample, sample_seed
from image_dynamics.evaluation import cell_mean, pearson_per_image

LATENT_CELL_PX = 4


def scene_bounds(seed: int) -> tuple[str, float, float]:
    """``(family, bound, bound at latent-cell resolution)`` for the scene of ``seed``."""
    true = render_sample(seed)
    with expected_hidden_gains():
        expected = render_sample(seed)
    if not np.array_equal(true.image, expected.image):
        raise RuntimeError(f"scene {seed}: the image changed with the hidden gains; the bound would be invalid")
    e_true = true.motion_energy()[None].astype(np.float64)
    e_expected = expected.motion_energy()[None].astype(np.float64)
    full = float(pearson_per_image(e_expected, e_true)[0])
    cells = float(pearson_per_image(cell_mean(e_expected, LATENT_CELL_PX), e_true)[0])
    return true.family, full, cells


def render_scene_bounds(seed: int, width: int = 256, height: int = 160) -> tuple[str, float, float]:
    """:func:`scene_bounds` for the Blender scene of ``seed``, over its known pixels."""
    from image_dynamics.data.render.scene import layout
    from image_dynamics.data.render.worker import ceiling_truths

    truth, expected = ceiling_truths(seed, width, height, threads=1)
    known = truth.known.astype(bool)[None]
    e_true = (np.abs(truth.coeffs[1:]) ** 2).sum(axis=(0, 1))[None].astype(np.float64)
    e_expected = (np.abs(expected.coeffs[1:]) ** 2).sum(axis=(0, 1))[None].astype(np.float64)
    full = float(pearson_per_image(e_expected, e_true, known)[0])
    cells = float(pearson_per_image(cell_mean(e_expected, LATENT_CELL_PX), e_true, known)[0])
    return layout(seed, width, height).family, full, cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7919, help="dataset seed (7919: the held-out set)")
    ap.add_argument("--count", type=int, default=64, help="scenes (the first ones of the set)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--render", action="store_true", help="the Blender generator's scenes (data render)")
    args = ap.parse_args()
    bounds = render_scene_bounds if args.render else scene_bounds
    per_family: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for index in range(args.count):
        family, full, cells = bounds(sample_seed(args.seed, index))
        per_family[family].append((full, cells))
    rows = {name: np.array(v) for name, v in sorted(per_family.items())}
    everything = np.concatenate(list(rows.values()))
    report = {"scenes": args.count, "dataset_seed": args.seed, "generator": "render" if args.render else "synth",
              "bound": float(everything[:, 0].mean()), f"bound_cell_{LATENT_CELL_PX}px": float(everything[:, 1].mean()),
              "families": {name: {"scenes": len(v), "bound": float(v[:, 0].mean()),
                                  f"bound_cell_{LATENT_CELL_PX}px": float(v[:, 1].mean())} for name, v in rows.items()}}
    for name, v in rows.items():
        print(f"{name:10s} {len(v):3d} scenes  bound {v[:, 0].mean():.3f}  at {LATENT_CELL_PX}-px cells "
              f"{v[:, 1].mean():.3f}")
    print(f"{'all':10s} {len(everything):3d} scenes  bound {report['bound']:.3f}  at {LATENT_CELL_PX}-px cells "
          f"{report[f'bound_cell_{LATENT_CELL_PX}px']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
