"""``data``: training data (synthetic scenes, Blender-rendered scenes, real videos) and its normalisation statistics."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..jobs import Progress
from .common import EXIT_OK, ProgressBar, parse_size, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="make training data (synthetic scenes, real videos)")
    dsub = p.add_subparsers(dest="data_source", required=True, metavar="SOURCE")
    q = dsub.add_parser("synth", help="procedural scenes with exact motion and their spectral volumes")
    q.add_argument("-o", "--output", type=Path, required=True, help="dataset folder")
    q.add_argument("--count", type=int, required=True, help="number of samples")
    q.add_argument("--seed", type=int, default=0, help="dataset seed (held-out sets: use another seed)")
    q.add_argument("--size", default="256x160", metavar="WxH", help="sample size (default 256x160)")
    q.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    q.add_argument("--overwrite", action="store_true", help="replace a dataset already in the folder")
    q.set_defaults(run=cmd_data_synth)
    q = dsub.add_parser("render", help="photoreal 3-D scenes rendered with Blender (Cycles, CPU) and their exact "
                        "motion; resumes a run that was stopped")
    q.add_argument("-o", "--output", type=Path, required=True,
                   help="dataset folder; if it holds a render dataset of the same size, rendering continues there")
    q.add_argument("--count", type=int, required=True, help="total number of samples the folder should hold")
    q.add_argument("--seed", type=int, default=0, help="dataset seed (held-out sets: use another seed)")
    q.add_argument("--size", default="256x160", metavar="WxH", help="sample size (default 256x160)")
    q.add_argument("--samples", type=int, default=16, help="Cycles samples per pixel, denoised (default 16)")
    q.add_argument("--shard-size", type=int, default=8, help="samples per shard: what a killed run loses (default 8)")
    q.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    q.add_argument("--threads", type=int, default=0,
                   help="Cycles threads per process (default 0: all cores; 1 leaves the other cores to others)")
    q.add_argument("--families", metavar="NAME[,NAME]",
                   help="render only these scene families (default: all, in their usual proportions; "
                        "docs/data.md lists them)")
    q.add_argument("--exposure", type=float, default=0.0, metavar="STOPS",
                   help="shift every scene's exposure by STOPS (negative: darker; the renders come out about two "
                        "stops brighter than photographs, docs/data.md; default 0)")
    q.add_argument("--overwrite", action="store_true", help="delete the dataset already in the folder and start afresh")
    q.set_defaults(run=cmd_data_render)
    q = dsub.add_parser("videos", help="your own footage: optical flow from the first frame, FFT to spectral volumes")
    q.add_argument("videos", type=Path, help="folder of video files (mp4, mov, avi, mkv, webm)")
    q.add_argument("-o", "--output", type=Path, required=True, help="dataset folder")
    q.add_argument("--size", default="256x160", metavar="WxH", help="sample size (default 256x160)")
    q.add_argument("--flow", choices=("dis", "farneback"), default="dis", help="optical flow method (default dis)")
    q.add_argument("--max-windows", type=int, help="at most this many 150-frame windows per video")
    q.add_argument("--overwrite", action="store_true", help="replace a dataset already in the folder")
    q.set_defaults(run=cmd_data_videos)
    q = dsub.add_parser("stats", help="(re)compute the per-frequency normalisation statistics of a dataset")
    q.add_argument("dataset", type=Path)
    q.set_defaults(run=cmd_data_stats)


def cmd_data_synth(args: argparse.Namespace) -> int:
    from ..data.synth import generate_dataset

    if args.count < 1:
        raise InputError(f"--count must be at least 1, got {args.count}.")
    width, height = parse_size(args.size)
    bar = ProgressBar(args.quiet)
    token = Progress().cancel
    try:
        info = generate_dataset(args.output, args.count, seed=args.seed, width=width, height=height,
                                overwrite=args.overwrite, workers=max(1, args.workers),
                                progress=lambda done, total: bar(done, total, "scenes"), cancel=token)
    finally:
        bar.close()
    say(args, f"wrote {info.count} samples ({info.width}x{info.height}, {info.num_bands} bands) in "
               f"{len(info.shards)} shards to {info.folder}, with {info.norm_stats_path.name}")
    return EXIT_OK


def cmd_data_render(args: argparse.Namespace) -> int:
    import importlib.util

    from ..data.render.dataset import generate_render_dataset, parse_families

    for name, value, low in (("--count", args.count, 1), ("--samples", args.samples, 1),
                             ("--shard-size", args.shard_size, 1), ("--workers", args.workers, 1),
                             ("--threads", args.threads, 0)):
        if value < low:
            raise InputError(f"{name} must be at least {low}, got {value}.")
    if importlib.util.find_spec("bpy") is None:  # found, not imported: only the worker processes import it
        raise InputError("data render needs Blender's Python module bpy (Python 3.11), which is not installed. "
                         "Install it with: pip install 'image-dynamics[blender]'.")
    width, height = parse_size(args.size)
    bar = ProgressBar(args.quiet)
    try:
        info = generate_render_dataset(args.output, args.count, seed=args.seed, width=width, height=height,
                                       shard_size=args.shard_size, samples=args.samples, workers=args.workers,
                                       threads=args.threads, overwrite=args.overwrite,
                                       families=parse_families(args.families), exposure_stops=args.exposure,
                                       progress=lambda done, total, _seconds: bar(done, total, "scenes"),
                                       cancel=Progress().cancel)
    finally:
        bar.close()
    say(args, f"{info.folder}: {info.count} samples ({info.width}x{info.height}, {info.num_bands} bands, with a "
               f"known mask) in {len(info.shards)} shards, with {info.norm_stats_path.name}")
    return EXIT_OK


def cmd_data_videos(args: argparse.Namespace) -> int:
    from ..data.videos import videos_to_dataset

    width, height = parse_size(args.size)
    bar = ProgressBar(args.quiet)
    try:
        info, rejected = videos_to_dataset(args.videos, args.output, width=width, height=height, flow=args.flow,
                                           max_windows_per_video=args.max_windows, overwrite=args.overwrite,
                                           progress=lambda done, total: bar(done, total, "videos"),
                                           cancel=Progress().cancel)
    finally:
        bar.close()
    say(args, f"wrote {info.count} samples in {len(info.shards)} shards to {info.folder}")
    for path, reason in rejected:
        say(args, f"  dropped {path}: {reason}")
    return EXIT_OK


def cmd_data_stats(args: argparse.Namespace) -> int:
    from ..data.normalise import compute_norm_stats, save_norm_stats
    from ..data.shards import read_info

    info = read_info(args.dataset)
    stats = compute_norm_stats(info)
    save_norm_stats(stats, info.norm_stats_path)
    say(args, f"wrote {info.norm_stats_path}")
    return EXIT_OK
