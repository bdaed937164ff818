"""The command-line handler: ``blender -b scene.blend -c image_dynamics bake --image NAME ...`` (render farms).

:func:`main` takes the arguments after the command id and returns an exit status (0 done, 1 failed, 2 bad arguments,
130 cancelled by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP). It uses the .blend's own Image Dynamics settings and
overrides only what is given, runs synchronously (there is no event loop in background mode), prints progress to
stdout and errors to stderr.

A farm splits one bake into chunks, ``bake --frames A:B`` in several processes into the same folder: each commits its
own files all at once (the engine's journal, :mod:`image_dynamics.atomic`) and together they equal one bake byte for
byte. SIGINT, SIGTERM and SIGHUP (a farm cancelling a task, ``timeout``, a closed terminal) stop the bake with the
folder holding the old files or the complete new ones, never a mix.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Sequence
from types import SimpleNamespace

import bpy

from . import engine, jobs, scene, setups
from .engine import UserError

COMMAND_ID = "image_dynamics"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
_handle = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"blender -b FILE.blend -c {COMMAND_ID}",
                                     description="Image Dynamics: predict motion and bake loops of a still image.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("bake", "bake an image sequence and/or displacement maps"),
                       ("predict", "compute (and cache or save) the motion only")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--image", required=True,
                       help="an image in the .blend (its name), or an image file to load")
        p.add_argument("--scene", help="scene to use (default: the .blend's active scene)")
        p.add_argument("--source", choices=("procedural", "model", "file"), help="motion source")
        p.add_argument("--motion", metavar="FILE.npz", help="motion file (implies --source file)")
        p.add_argument("--seed", type=int, help="random seed of the motion source")
        p.add_argument("--steps", type=int, help="sampler steps of the motion model (0: the model's default)")
        p.add_argument("--guidance", type=float,
                       help="classifier-free guidance of the motion model (1: off; 0: the model's default)")
        p.add_argument("--save-motion", action="store_true",
                       help="save the motion as <output>/<image>/<image>_motion.npz and use it as the source")
        p.add_argument("--save", action="store_true", help="save the .blend afterwards")
        if name == "bake":
            p.add_argument("--output", metavar="DIR", help="output folder (// = next to the .blend); the bake goes "
                                                           "to DIR/<image name>/")
            p.add_argument("--kind", choices=("sequence", "displacement", "both"), help="what to bake")
            p.add_argument("--format", choices=("png", "exr"), help="frame format")
            p.add_argument("--displacement", metavar="forward,compositor",
                           help="displacement kinds (with --kind displacement or both)")
            p.add_argument("--strength", type=float, help="amplitude factor")
            p.add_argument("--loop-frames", type=int, metavar="L", help="loop length (default: scene frame range)")
            p.add_argument("--frames", type=_frame_range, metavar="A:B",
                           help="bake only frames A to B-1 of the sequence (0-based, B exclusive: files A+1 to B), "
                                "a render farm's chunk; chunks into one folder equal one bake")
            p.add_argument("--overwrite", action="store_true", help="replace an existing bake")
            p.add_argument("--setup", metavar="material,compositor,displace",
                           help="node setups to create after baking")
    return parser


def _frame_range(text: str) -> tuple[int, int]:
    """``A:B`` -> ``(A, B)``; argparse reports a ValueError as a usage error (exit 2)."""
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(stop)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B (two whole numbers, B exclusive), got {text!r}") from None


def _apply(args: argparse.Namespace, scene: bpy.types.Scene, image: bpy.types.Image) -> None:
    """Write the given arguments into the scene's settings (what is not given keeps the .blend's values)."""
    s = scene.image_dynamics
    s.image = image
    if args.motion:
        s.motion_source, s.motion_file = "FILE", args.motion
    elif args.source:
        s.motion_source = args.source.upper()
    if args.seed is not None:
        from image_dynamics.limits import check_seed

        try:
            check_seed(args.seed, "--seed")
        except ValueError as exc:  # InputError: the engine's one rule for seeds
            raise UserError(str(exc)) from None
        s.seed = args.seed
    if args.steps is not None:
        if args.steps < 0:
            raise UserError(f"--steps must be 0 (the model's default) or more, got {args.steps}.")
        s.steps = args.steps
    if args.guidance is not None:
        if not (math.isfinite(args.guidance) and args.guidance >= 0):
            raise UserError(f"--guidance must be 0 (the model's default) or more, got {args.guidance}.")
        s.guidance = args.guidance
    if args.command != "bake":
        return
    if args.output:
        s.output_dir = args.output
    if args.kind:
        s.output_kind = args.kind.upper()
    if args.format:
        s.file_format = args.format.upper()
    if args.displacement:
        kinds = {k.strip() for k in args.displacement.split(",") if k.strip()}
        unknown = kinds - {"forward", "compositor"}
        if unknown:
            raise UserError(f"--displacement: unknown kind(s) {', '.join(sorted(unknown))}; use forward, compositor.")
        s.displacement_forward, s.displacement_compositor = "forward" in kinds, "compositor" in kinds
    if args.strength is not None:
        s.strength = args.strength
    if args.loop_frames is not None:
        s.use_scene_range, s.loop_frames = False, args.loop_frames
    if args.overwrite:
        s.overwrite = True


def _image(name: str) -> bpy.types.Image:
    image = bpy.data.images.get(name)
    if image is not None:
        return image
    path = bpy.path.abspath(name)
    if os.path.isfile(path):
        return bpy.data.images.load(path, check_existing=True)
    names = ", ".join(i.name for i in bpy.data.images) or "none"
    raise UserError(f"--image {name}: no image of that name in the .blend (images: {names}) and no such file.")


def _printer(label: str):
    last = {"stage": None, "step": -1}

    def report(done: int, total: int, stage: str) -> None:
        step = int(10 * done / total) if total else 0
        if stage != last["stage"] or step != last["step"]:
            last["stage"], last["step"] = stage, step
            print(f"image_dynamics: {label}: {stage} {done}/{total}", flush=True)

    return report


def _run(job: jobs.Job) -> jobs.Job:
    job.progress.callback = _printer(job.label)
    return jobs.begin(job, threaded=False)


def main(argv: Sequence[str]) -> int:
    """Run the command ``argv`` (the arguments after ``-c image_dynamics``); returns the exit status.

    SIGINT, SIGTERM and SIGHUP cancel it (exit 128 + the signal's number); one arriving while the bake moves its
    files into place waits until they are all in place or all rolled back.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse already printed why
        return int(exc.code or 0)
    try:
        engine.require()
    except UserError as exc:
        print(f"image_dynamics: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    from image_dynamics.atomic import Interrupted, cancel_on_signals

    received: list[int] = []  # the job catches the cancel as a KeyboardInterrupt; this keeps which signal it was
    try:
        with cancel_on_signals(on_signal=received.append):
            return _main(args)
    except Interrupted as exc:
        return _cancelled(exc.signum)
    except KeyboardInterrupt:
        return _cancelled(received[-1] if received else signal.SIGINT)


def _cancelled(signum: int) -> int:
    print(f"image_dynamics: cancelled ({signal.Signals(signum).name}); the output folder holds its old files or the "
          "complete new bake, never a mix.", file=sys.stderr)
    return 128 + int(signum)


def _main(args: argparse.Namespace) -> int:
    try:
        target = bpy.data.scenes.get(args.scene) if args.scene else bpy.context.scene
        if target is None:
            raise UserError(f"--scene {args.scene}: no such scene; scenes: {', '.join(bpy.data.scenes.keys())}.")
        context = SimpleNamespace(scene=target, space_data=None, preferences=bpy.context.preferences)
        image = _image(args.image)
        _apply(args, target, image)
        if args.command == "bake":
            job = _run(scene.bake_job(context, image, args.frames))
        else:
            job = _run(scene.predict_job(context, image))
        if job.state == jobs.CANCELLED:
            raise KeyboardInterrupt  # a signal the job caught as a cancel: main says which one
        if job.state != jobs.DONE:
            print(f"image_dynamics: error: {job.message}", file=sys.stderr)
            return EXIT_FAILED
        print(f"image_dynamics: {job.message}")
        if args.save_motion:
            saved = _run(scene.save_motion_job(context, image))
            if saved.state != jobs.DONE:
                raise UserError(saved.message)
            print(f"image_dynamics: {saved.message}")
        if args.command == "bake" and args.setup:
            for kind in (k.strip() for k in args.setup.split(",") if k.strip()):
                function = {"material": setups.material_setup, "compositor": setups.compositor_setup,
                            "displace": setups.displace_setup}.get(kind)
                if function is None:
                    raise UserError(f"--setup: unknown setup '{kind}'; use material, compositor, displace.")
                function(context, image)
                print(f"image_dynamics: {kind} setup done")
        if args.save:
            if not bpy.data.filepath:
                raise UserError("--save: this .blend has never been saved; open a saved .blend "
                                "(blender -b FILE.blend).")
            bpy.ops.wm.save_mainfile()
            print(f"image_dynamics: saved {bpy.data.filepath}")
    except UserError as exc:
        print(f"image_dynamics: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def register() -> None:
    global _handle
    _handle = bpy.utils.register_cli_command(COMMAND_ID, main)


def unregister() -> None:
    global _handle
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
