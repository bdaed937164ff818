"""``motion``, ``predict`` and ``info``: make, predict and describe motion files (spectral volumes)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .. import io, spectral
from ..errors import InputError
from .common import EXIT_OK, ProgressBar, add_model_options, add_procedural_options, procedural_params, say
from .flow import describe_flow, register_motion_source


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("motion", help="make a motion file (spectral volume)")
    msub = p.add_subparsers(dest="motion_source", required=True, metavar="SOURCE")
    q = msub.add_parser("procedural", help="stochastic motion texture guided by the image and an optional mask")
    q.add_argument("image", type=Path)
    q.add_argument("-o", "--output", type=Path, required=True, help="motion file to write (.npz)")
    q.add_argument("--mask", type=Path, help="grayscale image: white moves, black stays")
    q.add_argument("--overwrite", action="store_true")
    add_procedural_options(q)
    q.set_defaults(run=cmd_motion_procedural)
    register_motion_source(msub)

    p = sub.add_parser("predict", help="predict a motion file (spectral volume) for IMAGE with the motion model")
    p.add_argument("image", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="motion file to write (.npz)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_model_options(p)
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("info", help="describe a motion file")
    p.add_argument("motion", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_info)


def cmd_motion_procedural(args: argparse.Namespace) -> int:
    from ..procedural import procedural_motion

    if args.output.suffix.lower() != ".npz":
        raise InputError(f"{args.output}: motion files are .npz; name the output FILE.npz.")
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    motion = procedural_motion(image.pixels, mask=mask, params=procedural_params(args))
    spectral.save(motion, args.output, overwrite=args.overwrite)
    say(args, f"wrote {args.output}: {motion.num_bands} bands on a {motion.width}x{motion.height} grid "
               f"for a {image.width}x{image.height} image")
    return EXIT_OK


def predict_motion_for(args: argparse.Namespace, image: io.LoadedImage) -> spectral.SpectralVolume:
    """Run the motion model on ``image`` with the options of :func:`add_model_options`, a bar per DDIM step."""
    from ..limits import check_seed
    from ..model.predict import MotionPredictor

    if getattr(args, "seed", None) is not None:
        check_seed(args.seed)
    predictor = MotionPredictor(args.model, provider=args.provider, notify=False)
    if predictor.notice and not args.quiet:
        print(predictor.notice, file=sys.stderr)
    notice = predictor.notice
    bar = ProgressBar(args.quiet)
    try:
        motion = predictor.predict(image.pixels, seed=args.seed, steps=args.steps, eta=args.eta,
                                   guidance=args.guidance, progress=lambda done, total: bar(done, total, "sampling"),
                                   cache=not args.no_cache, colorspace=image.colorspace)
    finally:
        bar.close()
    if predictor.notice != notice and not args.quiet:  # a GPU failed while running and the CPU finished the job
        print(predictor.notice, file=sys.stderr)
    args.motion_from_cache = predictor.last_from_cache
    return motion


def cmd_predict(args: argparse.Namespace) -> int:
    from ..atomic import refuse_existing

    if args.output.suffix.lower() != ".npz":
        raise InputError(f"{args.output}: motion files are .npz; name the output FILE.npz.")
    refuse_existing([args.output], args.overwrite)
    image = io.read_image(args.image)
    motion = predict_motion_for(args, image)
    spectral.save(motion, args.output, overwrite=args.overwrite)
    meta = motion.meta
    say(args, f"wrote {args.output}: {motion.num_bands} bands on a {motion.width}x{motion.height} grid for a "
               f"{image.width}x{image.height} image (model {meta['model']}, seed {meta['seed']}, {meta['steps']} "
               + ("steps, from the cache)" if args.motion_from_cache else
                  f"steps, {meta['provider']}, {meta['seconds']:.2f} s)"))
    return EXIT_OK


def describe(sv: spectral.SpectralVolume) -> dict:
    """A summary of a motion file: sizes, frequencies and where the motion energy is."""
    energy = spectral.motion_energy(sv)
    rms = spectral.rms_amplitude(sv)
    return {
        "bands": sv.num_bands, "grid": [sv.width, sv.height], "fps": sv.fps,
        "freqs_hz": [round(float(f), 4) for f in sv.freqs_hz],
        "band_energy_share": [round(float(e), 4) for e in spectral.band_energy_share(sv)],
        "natural_period_frames": sv.natural_period_frames(), "decay_s": sv.decay_s,
        "rms_amplitude_px": round(rms, 4), "max_amplitude_px": round(float(np.sqrt(energy.max())), 4),
        "moving_fraction": round(float((energy > 1e-4 * max(energy.max(), 1e-30)).mean()), 4), "meta": sv.meta,
        "flow": describe_flow(sv),
    }


def cmd_info(args: argparse.Namespace) -> int:
    info = describe(spectral.load(args.motion))
    if args.json:
        print(json.dumps(info, indent=1))
        return EXIT_OK
    print(f"{args.motion}: {info['bands']} bands, {info['grid'][0]}x{info['grid'][1]} grid, {info['fps']:g} fps, "
          f"loop {info['natural_period_frames']} frames")
    print("  frequencies (Hz) and share of motion energy:")
    for f, share in zip(info["freqs_hz"], info["band_energy_share"]):
        print(f"    {f:6.2f}  {'#' * int(round(share * 40)):<40} {share:6.1%}")
    print(f"  amplitude: rms {info['rms_amplitude_px']:.3f} px, max {info['max_amplitude_px']:.3f} px (grid pixels); "
          f"moving pixels {info['moving_fraction']:.0%}")
    if info["decay_s"]:
        print(f"  decay: {info['decay_s']:g} s")
    if info["flow"]:
        flow = info["flow"]
        print(f"  flow: up to {flow['max_speed_px_s']:g} px/s, mean velocity ({flow['mean_velocity_px_s'][0]:g}, "
              f"{flow['mean_velocity_px_s'][1]:g}) px/s (grid pixels, x right, y down) over "
              f"{flow['moving_fraction']:.0%} of the picture (format version 2)")
    print(f"  meta: {json.dumps(info['meta'])}")
    return EXIT_OK
