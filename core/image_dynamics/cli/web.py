"""``export-web``: a self-contained web player (one ``index.html``) of an image under a motion file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import io, spectral
from ..errors import InputError
from .common import EXIT_OK, add_render_options, render_settings, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-web", help="write a web player of IMAGE under a motion file: DIR/index.html, "
                                          "playable from disk in any browser with WebGL2")
    p.add_argument("image", type=Path)
    p.add_argument("--motion", type=Path, required=True, help="spectral volume .npz")
    p.add_argument("--title", help="page title (default: the image's name)")
    add_render_options(p, default_formats=())
    p.set_defaults(run=cmd_export_web)


def refuse_output_options(args: argparse.Namespace) -> None:
    """One line for each render output option a web player has no use for."""
    if args.format:
        raise InputError(f"export-web cannot honour --format {','.join(args.format)}: it writes DIR/index.html only. "
                         "Render frames or videos with `image-dynamics render`.")
    if args.displacement:
        raise InputError("export-web cannot honour --displacement: displacement maps are for Blender. Write them "
                         "with `image-dynamics render`.")
    if args.name is not None:
        raise InputError("export-web cannot honour --name: the player is always DIR/index.html (give the folder "
                         "with -o, the page title with --title).")


def cmd_export_web(args: argparse.Namespace) -> int:
    from ..web import export_web, refuse_unplayable

    refuse_output_options(args)
    settings = render_settings(args)
    refuse_unplayable(settings)
    motion = spectral.load(args.motion)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    result = export_web(image, motion, args.output, settings, mask=mask, overwrite=args.overwrite, title=args.title,
                        inputs=tuple(p for p in (args.image, args.motion, args.mask) if p is not None))
    say(args, f"wrote {result.index.resolve()} ({result.size_bytes / 1e6:.1f} MB: {result.width}x{result.height} "
              f"image, {result.bands} bands on a {result.grid[1]}x{result.grid[0]} grid, loops every "
              f"{result.loop_frames} frames at {result.fps:g} fps); open it in a browser with WebGL2.")
    return EXIT_OK
