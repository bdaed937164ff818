"""The ``image-dynamics`` command.

Every error a user can cause ends with one line on stderr saying what, where and how to fix it, and exit status 2;
Ctrl-C ends with status 130 and no partial output. Long work shows a progress bar on stderr (``--quiet`` hides it).

Each command group is a module of this package with a ``register(subparsers)`` function that adds its subcommands and
sets ``run`` to their handlers; :data:`COMMAND_GROUPS` lists them in the order ``--help`` shows them.
"""

from __future__ import annotations

import os

# numba's OpenMP threads would otherwise spin after every parallel kernel and starve the PNG/EXR writer threads that
# run beside rendering (and torch, when loaded): let idle threads sleep. Must be set before numba loads its runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import CancelledError, ImageDynamicsError  # noqa: E402
from . import data, models, motion, render, train  # noqa: E402
from .common import EXIT_BAD_INPUT, EXIT_CANCELLED  # noqa: E402

COMMAND_GROUPS = (render, motion, models, data, train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="image-dynamics",
        description="Bring one still image to life: motion from a spectral volume, rendered as a seamless loop.")
    parser.add_argument("--version", action="version", version=f"image-dynamics {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summaries")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 130 cancelled)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (KeyboardInterrupt, CancelledError):
        print("image-dynamics: cancelled; no partial output was left behind.", file=sys.stderr)
        return EXIT_CANCELLED
    except ImageDynamicsError as exc:
        print(f"image-dynamics: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print("image-dynamics: error: out of memory. Render fewer frames at once (--frames) or a smaller image.",
              file=sys.stderr)
        return EXIT_BAD_INPUT
