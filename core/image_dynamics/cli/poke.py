"""``poke``: the response of an image to a poke, a push or a forces file, through the modal dynamics of a motion file.

The picture rests as the still until the first force, swings, and settles (``image_dynamics.modal``); the frames go
through the same all-or-nothing bake as ``render``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import io, spectral
from ..errors import InputError
from ..jobs import Progress
from .common import EXIT_OK, ProgressBar, add_render_options, render_settings, say


def _pair(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers X,Y (e.g. 120,80), got {text!r}") from None
    return x, y


def register(sub: argparse._SubParsersAction) -> None:
    from ..modal import DEFAULT_DAMPING_RATIO, MAX_LENGTH_S

    p = sub.add_parser("poke", help="poke IMAGE (or push it with a forces file) and render how it swings and settles",
                       description="Render the response of IMAGE to forces through the modes of a motion file: the "
                                   "still until the force, then a swing that settles. Forces are in image pixels: an "
                                   "impulse of F px swings the poked pixel out about F px, a push of F px held leans "
                                   "it F px.")
    p.add_argument("image", type=Path)
    p.add_argument("--motion", type=Path, required=True, help="spectral volume .npz (its bands are the modes)")
    g = p.add_argument_group("force")
    g.add_argument("--at", type=_pair, metavar="X,Y", help="point pushed, image pixels (x right, y down)")
    g.add_argument("--force", type=_pair, metavar="FX,FY", help="force in pixels (x right, y down)")
    g.add_argument("--at-time", type=float, default=0.0, metavar="S", help="when the force starts, seconds (default 0)")
    g.add_argument("--duration", type=float, default=0.0, metavar="S",
                   help="how long the force acts, seconds; 0 = an impulse (default)")
    g.add_argument("--radius", type=float, default=0.0, metavar="PX", help="soft-poke radius, image pixels (default 0)")
    g.add_argument("--forces", type=Path, metavar="FILE.json",
                   help="more impulses and pushes: a JSON list of {\"at\": [x, y], \"force\": [fx, fy], \"time\": s, "
                        "\"duration\": s, \"radius\": px, \"curve\": [[t, gain], ...]} (see README)")
    g = p.add_argument_group("dynamics")
    g.add_argument("--damping-ratio", type=float, default=DEFAULT_DAMPING_RATIO, metavar="ZETA",
                   help=f"damping ratio of every mode, 0 < ZETA < 1 (default {DEFAULT_DAMPING_RATIO}); --band-gains "
                        "still shapes the amplitudes")
    g.add_argument("--length", type=float, metavar="S",
                   help=f"output length, seconds (default: until every mode is below 1 %% of its peak, at most "
                        f"{MAX_LENGTH_S:g} s)")
    add_render_options(p)
    p.set_defaults(run=cmd_poke)


def forces_from_args(args: argparse.Namespace) -> tuple[list, list[str]]:
    """The ``--at``/``--force`` force (if given) followed by the forces file's, and what to call each in messages."""
    from ..modal import make_force, read_forces

    forces, names = [], []
    if (args.at is None) != (args.force is None):
        given, missing = ("--at", "--force") if args.force is None else ("--force", "--at")
        raise InputError(f"{given} needs {missing}: give both (--at X,Y --force FX,FY), or a --forces file.")
    if args.force is not None:
        forces.append(make_force(args.force, args.at, args.at_time, args.duration, args.radius, where="--force"))
        names.append("--at/--force")
    elif args.duration or args.at_time or args.radius:
        raise InputError("--at-time, --duration and --radius shape the --at/--force poke; give --at X,Y --force FX,FY "
                         "(a forces file has its own time, duration and radius per force).")
    if args.forces is not None:
        from_file = read_forces(args.forces)
        forces += from_file
        names += [f"{args.forces}: force {index}" for index in range(len(from_file))]
    if not forces:
        raise InputError("nothing pokes the image: give --at X,Y --force FX,FY, or --forces FILE.json.")
    return forces, names


def cmd_poke(args: argparse.Namespace) -> int:
    from ..bake import OutputSpec, bake, validate_outputs
    from ..limits import check_render_request
    from ..modal import modal_plan

    spec = OutputSpec(folder=args.output, stem=args.name or args.image.stem, formats=args.format,
                      displacement=args.displacement, overwrite=args.overwrite,
                      inputs=tuple(p for p in (args.image, args.motion, args.mask, args.forces) if p is not None))
    validate_outputs(spec)
    forces, names = forces_from_args(args)
    motion = spectral.load(args.motion)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    settings = render_settings(args)
    render_plan = modal_plan(motion, forces, image.width, image.height, settings, mask=mask,
                             damping_ratio=args.damping_ratio, length_s=args.length, names=names)
    check_render_request(image, render_plan, spec)
    bar = ProgressBar(args.quiet)
    try:
        result = bake(image, render_plan, spec, Progress(callback=bar), splat_beta=settings.splat_beta)
    finally:
        bar.close()
    say(args, f"wrote {result.frame_count} frames ({image.width}x{image.height}, {render_plan.fps:g} fps, "
              f"{len(forces)} force{'s' if len(forces) != 1 else ''}, damping ratio {args.damping_ratio:g}) in "
              f"{result.seconds:.1f} s to {Path(args.output).resolve()}:")
    for pattern in result.patterns:
        say(args, f"  {pattern}")
    return EXIT_OK
