"""``eval-photos``: the real-photo check of a motion model (:mod:`image_dynamics.realphoto`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .common import EXIT_OK, ProgressBar, say


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be whole numbers separated by commas, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed, e.g. 0,1,2")
    return seeds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-photos",
                       help="score a motion model on labelled photos: does what should move (255 in "
                            "<name>_labels.png) out-move what should stay still (128)?")
    p.add_argument("folder", type=Path, metavar="DIR",
                   help="folder of <name>.png photos with <name>_labels.png (8-bit grey: 255 moving, 128 static, "
                        "0 unlabelled), e.g. docs/realphoto")
    p.add_argument("-o", "--output", type=Path, required=True, help="report to write (JSON)")
    p.add_argument("--pictures", type=Path, metavar="DIR",
                   help="folder for one picture per photo: input, labels, motion RMS, a frame (default: beside the "
                        "report, in <report name>_pictures)")
    p.add_argument("--no-pictures", action="store_true", help="write the report only")
    p.add_argument("--model", metavar="NAME|PATH",
                   help="model package: an installed name (see `image-dynamics models`) or a folder (default: "
                        "default)")
    p.add_argument("--seeds", type=_seeds, default=(0, 1, 2), help="sampling seeds (default 0,1,2)")
    p.add_argument("--provider", default="auto", help="what runs the model: auto, cuda, tensorrt or cpu")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report and pictures")
    p.set_defaults(run=cmd_eval_photos)


def cmd_eval_photos(args: argparse.Namespace) -> int:
    from .. import realphoto
    from ..atomic import refuse_existing

    if args.output.suffix.lower() != ".json":
        raise InputError(f"{args.output}: the report is JSON; name it FILE.json.")
    pictures_dir = None if args.no_pictures else (
        args.pictures or args.output.with_name(f"{args.output.stem}_pictures"))
    photos = realphoto.load_photo_set(args.folder)
    targets = [args.output] + ([] if pictures_dir is None else [pictures_dir / f"{p.name}.png" for p in photos])
    refuse_existing(targets, args.overwrite)  # before minutes of predictions
    predict, package = realphoto.package_volume_predictor(args.model, args.provider)
    bar = ProgressBar(args.quiet)
    try:
        report, pictures = realphoto.evaluate_photos(photos, predict, args.seeds, pictures=pictures_dir is not None,
                                                     progress=lambda done, total: bar(done, total, "predict"))
    finally:
        bar.close()
    report = {"model": package, "folder": str(args.folder), **report}
    realphoto.write_outputs(report, pictures, args.output, pictures_dir, overwrite=args.overwrite)
    if not args.quiet:
        for r in report["images"]:
            auc = "  n/a" if r["auc"] is None else f"{r['auc']:.3f}"
            moving = "" if r["labelled_moving_fraction"] is None else \
                f" (of the moving-labelled: {100 * r['labelled_moving_fraction']:.1f} %)"
            print(f"{r['name']:<24} AUC {auc}  mean RMS {r['mean_rms_px']:.3f} px  moving > 0.5 px "
                  f"{100 * r['moving_fraction']:.1f} %{moving}")
    say(args, f"wrote {args.output}" + ("" if pictures_dir is None else f" and {len(pictures)} pictures in "
                                                                         f"{pictures_dir}"))
    return EXIT_OK
