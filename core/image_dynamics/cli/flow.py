"""Flow and direction options of ``render`` / ``animate`` and the ``motion flow`` command.

``--flow-mask``, ``--arrows``, ``--drift`` make or add to the motion's flow field; ``--anchors``, ``--strength-map`` and
``--direction-hint`` direct the oscillating motion (anchors and strength the flow too). ``motion flow IMAGE --arrows
ARROWS.json -o F.npz`` writes a motion file holding a flow (format_version 2), with zero coefficients (pure flow) or on
top of an existing motion (``--motion``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import controls, io, spectral
from ..errors import InputError
from ..procedural import grid_size
from .common import EXIT_OK, say

#: Longest side of the grid of a pure-flow motion file (the procedural source's default).
DEFAULT_FLOW_GRID = 256


def add_flow_options(p: argparse.ArgumentParser, direction: bool = True) -> None:
    """The ``flow and direction`` option group (``direction``: also anchors, strength map and direction hint)."""
    g = p.add_argument_group("flow and direction")
    g.add_argument("--flow-mask", type=Path, metavar="MASK",
                   help="grayscale image: white flows (water, clouds, smoke); same aspect as the image")
    g.add_argument("--flow-feather", type=float, default=4.0, metavar="PX",
                   help="feather of the flow mask in image pixels (default 4)")
    g.add_argument("--arrows", type=Path, metavar="ARROWS.json",
                   help='flow directions: [{"from": [x, y], "to": [x, y], "speed": px_per_s}, ...] in image pixels, '
                        "x right, y down (speed defaults to the arrow's length per second)")
    g.add_argument("--drift", metavar="DX,DY",
                   help="uniform flow in image pixels per second inside the flow mask (the whole image without one)")
    if direction:
        g.add_argument("--anchors", type=Path, metavar="ANCHORS.json",
                       help='points or strokes where motion is pinned: [{"at": [x, y], "radius": px} or '
                            '{"stroke": [[x, y], ...], "radius": px}]')
        g.add_argument("--strength-map", type=Path, metavar="FILE",
                       help="per-pixel strength: 8/16-bit 0..1 maps to 0..2 (0.5 grey = as predicted), EXR as stored")
        g.add_argument("--direction-hint", metavar="MASK:DEGREES",
                       help="turn the sway inside MASK to DEGREES (0 = along x, 90 = along y), keeping its energy")


def flow_mask_of(args: argparse.Namespace) -> np.ndarray | None:
    """The ``--flow-mask`` image as float32 ``[h, w]`` in 0..1, or ``None``."""
    return io.read_grayscale(args.flow_mask) if getattr(args, "flow_mask", None) else None


def apply_flow_options(args: argparse.Namespace, image_size: tuple[int, int], motion: spectral.SpectralVolume,
                       flow_mask: np.ndarray | None) -> spectral.SpectralVolume:
    """``motion`` with the flow (arrows, drift) added and the direction controls applied, every file read and checked
    first (:func:`image_dynamics.controls.apply_controls`, the path the Blender add-on takes too).

    Args:
        args: parsed options of :func:`add_flow_options`.
        image_size: ``(W, H)`` of the image.
        motion: the motion (grid pixels).
        flow_mask: the ``--flow-mask`` values or ``None``.
    """
    arrows = controls.read_arrows(args.arrows, image_size) if args.arrows is not None else ()
    drift = controls.parse_drift(args.drift) if args.drift is not None else None
    direction = None
    if getattr(args, "direction_hint", None) is not None:
        path, degrees = controls.parse_direction_hint(args.direction_hint)
        direction = (io.read_grayscale(path), degrees)
    strength_path = getattr(args, "strength_map", None)
    strength = controls.read_strength_map(strength_path) if strength_path is not None else None
    anchors_path = getattr(args, "anchors", None)
    anchors = controls.read_anchors(anchors_path, image_size) if anchors_path is not None else ()
    return controls.apply_controls(motion, image_size, arrows=arrows, drift=drift, flow_mask=flow_mask,
                                   flow_feather_px=args.flow_feather, anchors=anchors, strength=strength,
                                   direction=direction)


def check_flow_outputs(args: argparse.Namespace, motion: spectral.SpectralVolume) -> None:
    """Refuse, before anything is rendered, output options a flow cannot honour."""
    if motion.flow is None:
        return
    if getattr(args, "displacement", ()):
        raise InputError(f"--displacement {','.join(args.displacement)} cannot be written for a motion that holds a "
                         "flow (each flow frame blends two warps, which no single map reproduces); write frames only.")
    if getattr(args, "decay", None) is not None:
        raise InputError("--decay cannot be combined with flow: flow loops, decaying motion does not. Leave out "
                         "--decay, or render without the flow.")


# ----------------------------------------------------------------------------------------------------------------------
# motion flow IMAGE


def register_motion_source(msub: argparse._SubParsersAction) -> None:
    """Add ``motion flow`` to the ``motion`` command's sources."""
    q = msub.add_parser("flow", help="a motion file holding a flow field (arrows, drift), pure flow or on top of a "
                                     "motion file")
    q.add_argument("image", type=Path)
    q.add_argument("-o", "--output", type=Path, required=True, help="motion file to write (.npz)")
    q.add_argument("--motion", type=Path, metavar="FILE.npz",
                   help="add the flow to this motion file (its grid); default: no oscillation (pure flow)")
    q.add_argument("--grid", type=int, default=DEFAULT_FLOW_GRID, metavar="PX",
                   help=f"longest side of a pure-flow grid (default {DEFAULT_FLOW_GRID})")
    q.add_argument("--fps", type=float, default=spectral.DEFAULT_FPS, help="frame rate of a pure-flow file (30)")
    q.add_argument("--overwrite", action="store_true")
    add_flow_options(q, direction=False)
    q.set_defaults(run=cmd_motion_flow)


def pure_flow_volume(image_size: tuple[int, int], grid_max_side: int, fps: float) -> spectral.SpectralVolume:
    """Zero coefficients (one 0 Hz band) on a grid of at most ``grid_max_side`` with the image's aspect ratio."""
    if grid_max_side < 2:
        raise InputError(f"--grid must be at least 2 pixels, got {grid_max_side}.")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"--fps must be a positive number, got {fps:g}.")
    grid_w, grid_h = grid_size(image_size[0], image_size[1], grid_max_side)
    meta = {"source": "flow", "source_size": [int(image_size[0]), int(image_size[1])],
            "window_frames": spectral.DEFAULT_WINDOW_FRAMES}
    return spectral.make(np.zeros((1, 2, grid_h, grid_w), np.complex64), [0.0], fps, meta)


def cmd_motion_flow(args: argparse.Namespace) -> int:
    from ..atomic import refuse_existing, refuse_inputs
    from ..frames import check_aspect

    if args.output.suffix.lower() != ".npz":
        raise InputError(f"{args.output}: motion files are .npz; name the output FILE.npz.")
    if args.arrows is None and args.drift is None:
        raise InputError("motion flow needs --arrows ARROWS.json or --drift DX,DY (or both) to make a flow.")
    refuse_existing([args.output], args.overwrite)
    refuse_inputs([args.output], tuple(p for p in (args.image, args.motion, args.arrows, args.flow_mask) if p))
    image = io.read_image(args.image)
    size = (image.width, image.height)
    if args.motion is not None:
        motion = spectral.load(args.motion)
        check_aspect(motion, *size, motion_name=str(args.motion))
    else:
        motion = pure_flow_volume(size, args.grid, args.fps)
    motion = apply_flow_options(args, size, motion, flow_mask_of(args))
    spectral.save(motion, args.output, overwrite=args.overwrite)
    speed = np.hypot(motion.flow[0] * size[0] / motion.width, motion.flow[1] * size[1] / motion.height)
    say(args, f"wrote {args.output}: flow on a {motion.width}x{motion.height} grid for a {size[0]}x{size[1]} image, "
              f"up to {speed.max():.1f} px/s, moving {np.mean(speed > 0):.0%} of the picture")
    return EXIT_OK


def describe_flow(sv: spectral.SpectralVolume) -> dict | None:
    """``info``'s summary of a flow field (grid pixels per second), or ``None`` without one."""
    if sv.flow is None:
        return None
    speed = np.hypot(sv.flow[0], sv.flow[1])
    moving = speed > 0
    mean = sv.flow[:, moving].mean(axis=1) if moving.any() else np.zeros(2)
    return {"max_speed_px_s": round(float(speed.max()), 4),
            "mean_velocity_px_s": [round(float(mean[0]), 4), round(float(mean[1]), 4)],
            "moving_fraction": round(float(moving.mean()), 4)}
