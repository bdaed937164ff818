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


def numba_cache_fallback(environ: dict[str, str] = os.environ) -> str | None:  # type: ignore[assignment]
    """A writable folder for numba's compiled-kernel cache when the usual places are not writable, else ``None``.

    numba caches next to the engine's sources, else in ``$XDG_CACHE_HOME`` or ``~/.cache``; a user whose HOME is
    not writable running a read-only install would crash at import. ``NUMBA_CACHE_DIR`` set by the caller (the
    Blender add-on sets its own) is always kept.
    """
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    engine = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.access(engine, os.W_OK):
        return None
    cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    probe = cache_home
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe) if os.path.dirname(probe) != probe else ""
    if probe and os.access(probe, os.W_OK):
        return None
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"image-dynamics-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")


_fallback = numba_cache_fallback()
if _fallback:
    os.environ["NUMBA_CACHE_DIR"] = _fallback

import argparse  # noqa: E402
import contextlib  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from .. import __version__  # noqa: E402
from ..atomic import Interrupted, cancel_on_signals  # noqa: E402
from ..errors import CancelledError, ImageDynamicsError  # noqa: E402
from . import data, models, motion, photos, poke, render, train, web  # noqa: E402
from .common import EXIT_BAD_INPUT, EXIT_CANCELLED  # noqa: E402

COMMAND_GROUPS = (render, poke, web, motion, models, data, train, photos)
#: Exit status when stdout's reader closed the pipe (128 + SIGPIPE, what a shell reports for a killed writer).
EXIT_BROKEN_PIPE = 141


def signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name


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
    """Entry point; returns the exit status (0 ok, 2 bad input, 128 + signal when cancelled: 130 Ctrl-C, 143
    SIGTERM, 129 SIGHUP)."""
    args = build_parser().parse_args(argv)
    try:
        with cancel_on_signals():
            return args.run(args)
    except Interrupted as exc:
        print(f"image-dynamics: cancelled ({signal_name(exc.signum)}); the output folder is as it was.",
              file=sys.stderr)
        return exc.exit_status
    except (KeyboardInterrupt, CancelledError):
        print("image-dynamics: cancelled; the output folder is as it was.", file=sys.stderr)
        return EXIT_CANCELLED
    except BrokenPipeError:
        # the reader of our output went away (`image-dynamics info X | head`): stop quietly, as `cat` does
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except ImageDynamicsError as exc:
        print(f"image-dynamics: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print("image-dynamics: error: ran out of memory although the request was within the limits "
              "(docs/reliability.md); other programs may be using it. Render a smaller image or close them.",
              file=sys.stderr)
        return EXIT_BAD_INPUT
