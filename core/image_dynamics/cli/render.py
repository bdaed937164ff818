"""``render`` and ``animate``: frames, videos and displacement maps of an image under a motion file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .. import io, spectral
from ..errors import InputError
from ..jobs import Progress
from ..limits import check_render_request
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
from .flow import add_flow_options, apply_flow_options, check_flow_outputs, flow_mask_of
from .motion import predict_motion_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render frames/video/displacement maps of IMAGE under a motion file")
    p.add_argument("image", type=Path)
    p.add_argument("--motion", type=Path, required=True, help="spectral volume .npz")
    add_render_options(p)
    add_flow_options(p)
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
    add_flow_options(p)
    p.set_defaults(run=cmd_animate)


def _inputs(args: argparse.Namespace) -> tuple[Path, ...]:
    """The files a render reads, which its outputs must never replace."""
    return tuple(p for p in (args.image, getattr(args, "motion", None), args.mask) if p is not None)


def render_outputs(args: argparse.Namespace, image: io.LoadedImage, motion: spectral.SpectralVolume,
                   mask: np.ndarray | None, extra_files: tuple = (), flow_mask: np.ndarray | None = None) -> int:
    from ..bake import OutputSpec, bake, validate_outputs
    from ..settings import plan

    spec = OutputSpec(folder=args.output, stem=args.name or args.image.stem, formats=args.format,
                      displacement=args.displacement, overwrite=args.overwrite, inputs=_inputs(args))
    validate_outputs(spec)
    check_flow_outputs(args, motion)
    settings = render_settings(args)
    render_plan = plan(motion, settings, mask=mask)
    check_render_request(image, render_plan, spec)
    bar = ProgressBar(args.quiet)
    try:
        result = bake(image, render_plan, spec, Progress(callback=bar), splat_beta=settings.splat_beta,
                      extra_files=extra_files, flow_mask=flow_mask, flow_feather_px=args.flow_feather)
    finally:
        bar.close()
    fps = result.frame_count / result.seconds if result.seconds else float("inf")
    say(args, f"wrote {result.frame_count} frames ({image.width}x{image.height}, {render_plan.fps:g} fps"
               + (f", loops every {render_plan.loop_frames} frames" if render_plan.loop_frames else "")
               + f") in {result.seconds:.1f} s ({fps:.1f} frames/s) to {Path(args.output).resolve()}:")
    for pattern in result.patterns:
        say(args, f"  {pattern}")
    return EXIT_OK


def _check_outputs_early(args: argparse.Namespace) -> None:
    """Refuse a bad --name or output before any input is read or any motion is made."""
    from ..atomic import check_file_stem

    if args.name is not None:
        check_file_stem(args.name)
    save_motion = getattr(args, "save_motion", None)
    if save_motion is not None:
        from ..atomic import refuse_existing, refuse_inputs

        if save_motion.suffix.lower() != ".npz":
            raise InputError(f"{save_motion}: motion files are .npz; name it FILE.npz.")
        refuse_existing([save_motion], args.overwrite)
        refuse_inputs([save_motion], _inputs(args))


def cmd_render(args: argparse.Namespace) -> int:
    _check_outputs_early(args)
    motion = spectral.load(args.motion)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    flow_mask = flow_mask_of(args)
    motion = apply_flow_options(args, (image.width, image.height), motion, flow_mask)
    return render_outputs(args, image, motion, mask, flow_mask=flow_mask)


def cmd_animate(args: argparse.Namespace) -> int:
    from ..model.package import default_model_available
    from ..procedural import procedural_motion

    source = args.source or ("model" if args.model or default_model_available() else "procedural")
    if args.source is None and source == "procedural" and not args.quiet:
        print("image-dynamics: no default motion model package is installed; using procedural "
              "motion (--source procedural chooses it without this note).", file=sys.stderr)
    _check_outputs_early(args)
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
    flow_mask = flow_mask_of(args)
    motion = apply_flow_options(args, (image.width, image.height), motion, flow_mask)
    extra = ()
    if args.save_motion:
        # written into the same staging folder and committed with the frames: a refused or cancelled render keeps
        # no motion file either
        extra = ((args.save_motion, lambda staged: spectral.save(motion, staged, overwrite=True)),)
    status = render_outputs(args, image, motion, mask=render_mask, extra_files=extra, flow_mask=flow_mask)
    if args.save_motion:
        say(args, f"motion: {args.save_motion}")
    return status
