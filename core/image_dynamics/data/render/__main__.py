"""``python -m image_dynamics.data.render OUT --count N --seed S``: render (or resume) a dataset of Blender scenes.

The same as ``image-dynamics data render`` (see docs/data.md), for long background runs.
"""

from __future__ import annotations

import argparse
import sys
import time

from ...errors import ImageDynamicsError
from .dataset import generate_render_dataset, parse_families


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m image_dynamics.data.render", description=__doc__)
    parser.add_argument("out", help="dataset folder (resumed if it already holds a render dataset)")
    parser.add_argument("--count", type=int, required=True, help="total samples wanted")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (held-out sets use another)")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=160)
    parser.add_argument("--shard-size", type=int, default=8)
    parser.add_argument("--samples", type=int, default=16, help="Cycles samples per pixel (denoised)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="Cycles threads per worker (0: all cores)")
    parser.add_argument("--families", help="comma-separated scene families to render (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="delete the dataset in OUT and start afresh")
    args = parser.parse_args(argv)

    def progress(done: int, count: int, per_sample: float) -> None:
        print(f"{time.strftime('%H:%M:%S')} {done}/{count} samples, {per_sample:.1f} s per sample", flush=True)

    try:
        info = generate_render_dataset(args.out, args.count, args.seed, args.width, args.height, args.shard_size,
                                       args.samples, args.workers, args.threads, args.overwrite,
                                       parse_families(args.families), progress)
    except ImageDynamicsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{info.folder}: {info.count} samples in {len(info.shards)} shards")
    return 0


if __name__ == "__main__":
    sys.exit(main())
