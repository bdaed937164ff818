"""``render`` and ``animate``: frames, videos and displacement maps of an image under a motion file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .. import io, spectral
from ..jobs import Progress
from .common import (
    EXIT_OK,
    ProgressBar,
    add_model_options,
    add_procedural_options,
    add_render_options,
    procedural_params,
    render_settings,
    say,
)
from .motion import predict_motion_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render frames/video/displacement maps of IMAGE under a motion file")
    p.add_argument("image", type=Path)
    p.add_argument("--motion", type=Path, required=True, help="spectral volume .npz")
    add_render_options(p)
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("animate", help="one shot: make motion for IMAGE and render it")
    p.add_argument("image", type=Path)
    p.add_argument("--source", choices=("model", "procedural"),
                   help="motion source: the motion model (the default when a default model package is installed) "
                        "or procedural motion")
    p.add_argument("--save-motion", type=Path, metavar="FILE.npz", help="also keep the motion file")
    add_procedural_options(p)
    add_model_options(p, seed=False)
    add_render_options(p, default_formats=("png", "mp4", "gif"))
    p.set_defaults(run=cmd_animate)


def render_outputs(args: argparse.Namespace, image: io.LoadedImage, motion: spectral.SpectralVolume,
            mask: np.ndarray | None) -> int:
    from ..bake import OutputSpec, bake, validate_outputs
    from ..settings import plan

    spec = OutputSpec(folder=args.output, stem=args.name or args.image.stem, formats=args.format,
                      displacement=args.displacement, overwrite=args.overwrite)
    validate_outputs(spec)
    settings = render_settings(args)
    render_plan = plan(motion, settings, mask=mask)
    bar = ProgressBar(args.quiet)
    try:
        result = bake(image, render_plan, spec, Progress(callback=bar), splat_beta=settings.splat_beta)
    finally:
        bar.close()
    fps = result.frame_count / result.seconds if result.seconds else float("inf")
    say(args, f"wrote {result.frame_count} frames ({image.width}x{image.height}, {render_plan.fps:g} fps"
               + (f", loops every {render_plan.loop_frames} frames" if render_plan.loop_frames else "")
               + f") in {result.seconds:.1f} s ({fps:.1f} frames/s) to {Path(args.output).resolve()}:")
    for pattern in result.patterns:
        say(args, f"  {pattern}")
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    motion = spectral.load(args.motion)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    return render_outputs(args, image, motion, mask)


def cmd_animate(args: argparse.Namespace) -> int:
    from ..model.package import default_model_available
    from ..procedural import procedural_motion

    source = args.source or ("model" if args.model or default_model_available() else "procedural")
    if args.source is None and source == "procedural" and not args.quiet:
        print("image-dynamics: no default motion model package is installed; using procedural "
              "motion (--source procedural chooses it without this note).", file=sys.stderr)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    if source == "model":
        motion = predict_motion_for(args, image)
        render_mask = mask
    else:
        # the procedural source shapes amplitude and stiffness with the mask itself, so the render does not apply it
        # again
        motion = procedural_motion(image.pixels, mask=mask, params=procedural_params(args))
        render_mask = None
    if args.save_motion:
        spectral.save(motion, args.save_motion, overwrite=args.overwrite)
        say(args, f"motion: {args.save_motion}")
    return render_outputs(args, image, motion, mask=render_mask)
