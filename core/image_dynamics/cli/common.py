"""What the command groups share: argument types, the option groups of rendering, procedural motion and the motion
model, the progress bar, and the settings read from parsed options."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import InputError

EXIT_OK, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 2, 130


def hz_gain_pairs(text: str) -> tuple[tuple[float, float], ...]:
    try:
        pairs = tuple((float(hz), float(gain)) for hz, gain in (item.split(":") for item in text.split(",") if item))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HZ:GAIN pairs separated by commas, e.g. 0:1,1.5:0.5,3:0; got {text!r}") from None
    if not pairs:
        raise argparse.ArgumentTypeError("give at least one HZ:GAIN pair")
    return pairs


def frame_range(text: str) -> tuple[int, int]:
    try:
        start, stop = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP frame numbers (stop exclusive), e.g. 0:48; got {text!r}") from None
    return start, stop


def csv_choices(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(v.strip().lower() for v in text.split(",") if v.strip()))
        bad = [v for v in items if v not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown value {', '.join(bad)}; choose from {', '.join(allowed)}")
        return items

    return parse


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must be WIDTHxHEIGHT, e.g. 256x160; got {text!r}.") from None
    return width, height


def add_render_options(p: argparse.ArgumentParser, default_formats: tuple[str, ...] = ("png",)) -> None:
    """The timing, edit and output options of ``render`` and every command that renders; ``default_formats`` is what
    ``--format`` means when it is not given."""
    from ..bake import DISPLACEMENT_KINDS, FRAME_FORMATS, VIDEO_FORMATS

    g = p.add_argument_group("timing")
    g.add_argument("--fps", type=float, help="output frame rate (default: the motion file's, 30)")
    g.add_argument("--loop-frames", type=int, metavar="L",
                   help="loop length in output frames; bands are re-binned to harmonics of fps/L (speed kept)")
    g.add_argument("--time-stretch", action="store_true",
                   help="with --loop-frames: speed the whole motion up or down to fit instead of re-binning")
    g.add_argument("--frames", type=frame_range, metavar="A:B", help="output frames A to B-1 (default: one loop)")
    g.add_argument("--slow-motion", type=float, default=1.0, metavar="F", help="play motion F times slower (default 1)")
    g = p.add_argument_group("motion edits")
    g.add_argument("--strength", type=float, default=1.0, help="amplitude factor: >1 magnifies, <1 calms (default 1)")
    g.add_argument("--band-gains", type=hz_gain_pairs, default=(), metavar="HZ:GAIN,...",
                   help="damping curve: gains at frequencies, linearly interpolated, e.g. 0:1,2:0.3")
    g.add_argument("--low-cut", type=float, metavar="HZ", help="remove bands below this frequency")
    g.add_argument("--high-cut", type=float, metavar="HZ", help="remove bands above this frequency")
    g.add_argument("--decay", type=float, metavar="SECONDS", help="motion settles with this time constant (no loop)")
    g.add_argument("--mask", type=Path, help="grayscale image: white moves, black stays (any size, same aspect)")
    g.add_argument("--mask-feather", type=float, default=8.0, metavar="PX", help="mask feather in pixels (default 8)")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    g.add_argument("--name", help="file-name stem (default: the image's)")
    formats = (*FRAME_FORMATS, *VIDEO_FORMATS)
    g.add_argument("--format", type=csv_choices(formats), default=default_formats, metavar=",".join(formats),
                   help=f"what to write, comma-separated (default {','.join(default_formats)}); png16 keeps 16 "
                        "bits; exr is linear float")
    g.add_argument("--displacement", type=csv_choices(DISPLACEMENT_KINDS), default=(), metavar="forward,compositor",
                   help="also write displacement EXR sequences for Blender (see README: Displacement files)")
    g.add_argument("--overwrite", action="store_true", help="replace existing output files")
    g.add_argument("--splat-beta", type=float, default=1.0, help="softmax splatting sharpness (default 1)")


def add_procedural_options(p: argparse.ArgumentParser) -> None:
    from ..procedural import ProceduralParams

    d = ProceduralParams()
    g = p.add_argument_group("procedural motion")
    g.add_argument("--dominant-hz", type=float, default=d.dominant_hz,
                   help=f"main sway frequency (default {d.dominant_hz})")
    g.add_argument("--falloff", type=float, default=d.falloff, help=f"spectrum fall-off exponent (default {d.falloff})")
    g.add_argument("--direction", type=float, default=d.direction_deg, metavar="DEG",
                   help=f"main motion direction in degrees, 0 = right, 90 = down (default {d.direction_deg})")
    g.add_argument("--directionality", type=float, default=d.directionality,
                   help=f"0 = any direction, 1 = only along --direction (default {d.directionality})")
    g.add_argument("--coherence", type=float, default=d.coherence_px, metavar="PX",
                   help=f"size of regions that move together, image pixels (default {d.coherence_px})")
    g.add_argument("--amplitude", type=float, default=d.strength_px, metavar="PX",
                   help=f"typical displacement in image pixels (default {d.strength_px})")
    g.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")


def add_model_options(p: argparse.ArgumentParser, seed: bool = True) -> None:
    from ..model.providers import PROVIDER_NAMES

    g = p.add_argument_group("motion model")
    g.add_argument("--model", metavar="NAME|PATH",
                   help="model package: an installed name (see `image-dynamics models`) or a folder (default: default)")
    if seed:
        g.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    g.add_argument("--steps", type=int, help="DDIM steps (default: the package's)")
    g.add_argument("--eta", type=float, help="DDIM eta, 0 = deterministic (default: the package's)")
    g.add_argument("--guidance", type=float, help="classifier-free guidance scale, 1 = off (default: the package's)")
    g.add_argument("--provider", choices=PROVIDER_NAMES, default="auto",
                   help="what runs the model: auto (a GPU when one works, else CPU), cuda, tensorrt, cpu")
    g.add_argument("--no-cache", action="store_true", help="run the model even when a cached result exists")


class ProgressBar:
    """A tqdm progress bar per stage on a terminal, fed by :class:`Progress` callbacks; where stderr is a log file or
    a pipe (farm jobs, CI), plain lines instead: at each stage's start and end, and every 10 % or minute between."""

    LINE_EVERY_S = 60.0

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar, self.stage = quiet, None, None
        self.lines = not sys.stderr.isatty()
        self.last_line = (0, 0.0)  # (done, time) of the last plain line

    def __call__(self, done: int, total: int, stage: str) -> None:
        if self.quiet:
            return
        if self.lines:
            self._line(done, total, stage)
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit="frame" if stage == "rendering" else "it",
                            file=sys.stderr, leave=False, dynamic_ncols=True)
        self.bar.n = done
        self.bar.refresh()

    def _line(self, done: int, total: int, stage: str) -> None:
        now = time.monotonic()
        if stage != self.stage:
            self.stage, self.last_line = stage, (-1, now)
        last_done, last_time = self.last_line
        due = (done in (0, total) or done >= last_done + max(1, total // 10)
               or now - last_time >= self.LINE_EVERY_S)
        if due and done != last_done:
            percent = f" ({100 * done // total}%)" if total > 0 else ""
            print(f"{stage}: {done}/{total}{percent}", file=sys.stderr, flush=True)
            self.last_line = (done, now)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def render_settings(args: argparse.Namespace):
    from ..settings import RenderSettings

    return RenderSettings(fps=args.fps, loop_frames=args.loop_frames, frames=args.frames, strength=args.strength,
                          band_gains=tuple(args.band_gains), low_cut_hz=args.low_cut, high_cut_hz=args.high_cut,
                          decay_s=args.decay, time_stretch=args.time_stretch, slow_motion=args.slow_motion,
                          mask_feather_px=args.mask_feather, splat_beta=args.splat_beta)


def procedural_params(args: argparse.Namespace):
    from ..limits import check_procedural
    from ..procedural import ProceduralParams

    params = ProceduralParams(dominant_hz=args.dominant_hz, falloff=args.falloff, direction_deg=args.direction,
                              directionality=args.directionality, coherence_px=args.coherence,
                              strength_px=args.amplitude, seed=args.seed)
    check_procedural(params)
    return params
