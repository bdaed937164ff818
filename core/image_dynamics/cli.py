"""The ``image-dynamics`` command.

Every error a user can cause ends with one line on stderr saying what, where and how to fix it, and exit status 2;
Ctrl-C ends with status 130 and no partial output. Long work shows a progress bar on stderr (``--quiet`` hides it).
"""

from __future__ import annotations

import os

# numba's OpenMP threads would otherwise spin after every parallel kernel and starve the PNG/EXR writer threads that
# run beside rendering (and torch, when loaded): let idle threads sleep. Must be set before numba loads its runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from . import __version__, io, spectral  # noqa: E402
from .errors import CancelledError, ImageDynamicsError, InputError  # noqa: E402
from .jobs import Progress  # noqa: E402

EXIT_OK, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 2, 130


# ----------------------------------------------------------------------------------------------------------------------
# Argument parsing helpers (each raises ArgumentTypeError with a message argparse prints as a usage error)


def _hz_gain_pairs(text: str) -> tuple[tuple[float, float], ...]:
    try:
        pairs = tuple((float(hz), float(gain)) for hz, gain in (item.split(":") for item in text.split(",") if item))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HZ:GAIN pairs separated by commas, e.g. 0:1,1.5:0.5,3:0; got {text!r}") from None
    if not pairs:
        raise argparse.ArgumentTypeError("give at least one HZ:GAIN pair")
    return pairs


def _frame_range(text: str) -> tuple[int, int]:
    try:
        start, stop = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP frame numbers (stop exclusive), e.g. 0:48; got {text!r}") from None
    return start, stop


def _csv(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(v.strip().lower() for v in text.split(",") if v.strip()))
        bad = [v for v in items if v not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown value {', '.join(bad)}; choose from {', '.join(allowed)}")
        return items

    return parse


def _add_render_options(p: argparse.ArgumentParser) -> None:
    from .bake import DISPLACEMENT_KINDS, FRAME_FORMATS, VIDEO_FORMATS

    g = p.add_argument_group("timing")
    g.add_argument("--fps", type=float, help="output frame rate (default: the motion file's, 30)")
    g.add_argument("--loop-frames", type=int, metavar="L",
                   help="loop length in output frames; bands are re-binned to harmonics of fps/L (speed kept)")
    g.add_argument("--time-stretch", action="store_true",
                   help="with --loop-frames: speed the whole motion up or down to fit instead of re-binning")
    g.add_argument("--frames", type=_frame_range, metavar="A:B", help="output frames A to B-1 (default: one loop)")
    g.add_argument("--slow-motion", type=float, default=1.0, metavar="F", help="play motion F times slower (default 1)")
    g = p.add_argument_group("motion edits")
    g.add_argument("--strength", type=float, default=1.0, help="amplitude factor: >1 magnifies, <1 calms (default 1)")
    g.add_argument("--band-gains", type=_hz_gain_pairs, default=(), metavar="HZ:GAIN,...",
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
    g.add_argument("--format", type=_csv(formats), default=("png",), metavar=",".join(formats),
                   help="what to write, comma-separated (default png); png16 keeps 16 bits; exr is linear float")
    g.add_argument("--displacement", type=_csv(DISPLACEMENT_KINDS), default=(), metavar="forward,compositor",
                   help="also write displacement EXR sequences for Blender (see README: Displacement files)")
    g.add_argument("--overwrite", action="store_true", help="replace existing output files")
    g.add_argument("--splat-beta", type=float, default=1.0, help="softmax splatting sharpness (default 1)")


def _add_procedural_options(p: argparse.ArgumentParser) -> None:
    from .procedural import ProceduralParams

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


def _add_model_options(p: argparse.ArgumentParser, seed: bool = True) -> None:
    from .model.providers import PROVIDER_NAMES

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="image-dynamics",
        description="Bring one still image to life: motion from a spectral volume, rendered as a seamless loop.")
    parser.add_argument("--version", action="version", version=f"image-dynamics {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summaries")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("render", help="render frames/video/displacement maps of IMAGE under a motion file")
    p.add_argument("image", type=Path)
    p.add_argument("--motion", type=Path, required=True, help="spectral volume .npz")
    _add_render_options(p)
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("animate", help="one shot: make motion for IMAGE and render it")
    p.add_argument("image", type=Path)
    p.add_argument("--source", choices=("model", "procedural"),
                   help="motion source: the motion model (the default when a default model package is installed) "
                        "or procedural motion")
    p.add_argument("--save-motion", type=Path, metavar="FILE.npz", help="also keep the motion file")
    _add_procedural_options(p)
    _add_model_options(p, seed=False)
    _add_render_options(p)
    p.set_defaults(run=cmd_animate, format_default=("png", "mp4", "gif"))

    p = sub.add_parser("motion", help="make a motion file (spectral volume)")
    msub = p.add_subparsers(dest="motion_source", required=True, metavar="SOURCE")
    q = msub.add_parser("procedural", help="stochastic motion texture guided by the image and an optional mask")
    q.add_argument("image", type=Path)
    q.add_argument("-o", "--output", type=Path, required=True, help="motion file to write (.npz)")
    q.add_argument("--mask", type=Path, help="grayscale image: white moves, black stays")
    q.add_argument("--overwrite", action="store_true")
    _add_procedural_options(q)
    q.set_defaults(run=cmd_motion_procedural)

    p = sub.add_parser("data", help="make training data (synthetic scenes, real videos)")
    dsub = p.add_subparsers(dest="data_source", required=True, metavar="SOURCE")
    q = dsub.add_parser("synth", help="procedural scenes with exact motion and their spectral volumes")
    q.add_argument("-o", "--output", type=Path, required=True, help="dataset folder")
    q.add_argument("--count", type=int, required=True, help="number of samples")
    q.add_argument("--seed", type=int, default=0, help="dataset seed (held-out sets: use another seed)")
    q.add_argument("--size", default="256x160", metavar="WxH", help="sample size (default 256x160)")
    q.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    q.add_argument("--overwrite", action="store_true", help="replace a dataset already in the folder")
    q.set_defaults(run=cmd_data_synth)
    q = dsub.add_parser("videos", help="your own footage: optical flow from the first frame, FFT to spectral volumes")
    q.add_argument("videos", type=Path, help="folder of video files (mp4, mov, avi, mkv, webm)")
    q.add_argument("-o", "--output", type=Path, required=True, help="dataset folder")
    q.add_argument("--size", default="256x160", metavar="WxH", help="sample size (default 256x160)")
    q.add_argument("--flow", choices=("dis", "farneback"), default="dis", help="optical flow method (default dis)")
    q.add_argument("--max-windows", type=int, help="at most this many 150-frame windows per video")
    q.add_argument("--overwrite", action="store_true", help="replace a dataset already in the folder")
    q.set_defaults(run=cmd_data_videos)
    q = dsub.add_parser("stats", help="(re)compute the per-frequency normalisation statistics of a dataset")
    q.add_argument("dataset", type=Path)
    q.set_defaults(run=cmd_data_stats)

    p = sub.add_parser("train", help="train the motion model (needs the train extra: torch)")
    p.add_argument("--config", default="default", help="tiny, default or large (default: default)")
    p.add_argument("--data", type=Path, required=True, help="training dataset folder")
    p.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, metrics.jsonl, model.pt")
    p.add_argument("--steps", type=int, help="total steps over all stages (default: the configuration's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--no-resume", action="store_true", help="start over even if the run folder has a checkpoint")
    p.add_argument("--regression", action="store_true", help="train the direct-regression baseline instead")
    p.add_argument("--overwrite", action="store_true", help="with --no-resume: replace the run folder's files")
    p.add_argument("--init-from", type=Path, metavar="MODEL_PT",
                   help="continue a trained motion model (model.pt or its run folder) in a new run: keep its VAE, "
                        "train the later stages on from its weights")
    p.add_argument("--stages", metavar="LIST",
                   help="comma-separated stages a new run trains, of vae, diffusion, freq_attention, energy (default: "
                        "all; with --init-from all but vae). E.g. --init-from MODEL --stages energy adds a "
                        "motion-energy network to a model trained without one")
    p.add_argument("--batch-multiplier", type=int, default=1, metavar="N",
                   help="a new run's batches times N, learning rates unchanged (GPUs: about the same time per step "
                        "for N times the samples; default 1)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("eval", help="evaluate motion predictors on a held-out dataset against baselines")
    p.add_argument("--data", type=Path, required=True, help="held-out dataset folder")
    p.add_argument("--train-data", type=Path, help="training set (for the mean-spectrum baseline)")
    p.add_argument("--checkpoint", type=Path, action="append", default=[],
                   help="torch checkpoint (model.pt or regression.pt); repeat for several")
    p.add_argument("--model", action="append", default=[], help="ONNX model package name or folder; repeatable")
    p.add_argument("--seeds", default="0,1,2", help="sampling seeds, comma-separated (default 0,1,2)")
    p.add_argument("--steps", type=int, help="DDIM steps (default: the model's)")
    p.add_argument("--guidance", type=float,
                   help="classifier-free guidance of the diffusion models (default: each model's own; 1 = off)")
    p.add_argument("--no-energy-net", action="store_true",
                   help="evaluate the diffusion samples alone, without rescaling them to the models' motion-energy "
                        "networks")
    p.add_argument("--limit", type=int, help="evaluate only the first N samples")
    p.add_argument("--psnr-samples", type=int, default=16, help="samples whose true frames are rendered (default 16)")
    p.add_argument("-o", "--output", type=Path, help="write the report as JSON")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("predict", help="predict a motion file (spectral volume) for IMAGE with the motion model")
    p.add_argument("image", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="motion file to write (.npz)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _add_model_options(p)
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("models", help="list installed motion model packages and what can run them (CPU / GPU)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("export", help="export a trained motion model (run folder or model.pt) as a model package")
    p.add_argument("source", type=Path, metavar="RUN_OR_CHECKPOINT", help="training run folder or model.pt")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="onnx/NAME/", help="package folder to write")
    p.add_argument("--name", help="package name (default: the folder's name)")
    p.add_argument("--fp16", action="store_true", help="also write fp16 graphs for GPU inference")
    p.add_argument("--opset", type=int, help="ONNX opset (default 18)")
    p.add_argument("--licence", help="licence of the weights, recorded in model.json")
    p.add_argument("--data-note", help="what data trained the model (default: what the training run recorded)")
    p.add_argument("--steps", type=int, help="default DDIM steps recorded in the package (default: the config's)")
    p.add_argument("--eta", type=float, help="default DDIM eta recorded in the package (default: the config's)")
    p.add_argument("--guidance", type=float,
                   help="default classifier-free guidance recorded in the package (1 = off; default: the config's)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing package")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("info", help="describe a motion file")
    p.add_argument("motion", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_info)
    return parser


# ----------------------------------------------------------------------------------------------------------------------
# Commands


class _Bar:
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


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def _settings(args: argparse.Namespace):
    from .settings import RenderSettings

    return RenderSettings(fps=args.fps, loop_frames=args.loop_frames, frames=args.frames, strength=args.strength,
                          band_gains=tuple(args.band_gains), low_cut_hz=args.low_cut, high_cut_hz=args.high_cut,
                          decay_s=args.decay, time_stretch=args.time_stretch, slow_motion=args.slow_motion,
                          mask_feather_px=args.mask_feather, splat_beta=args.splat_beta)


def _procedural_params(args: argparse.Namespace):
    from .procedural import ProceduralParams

    return ProceduralParams(dominant_hz=args.dominant_hz, falloff=args.falloff, direction_deg=args.direction,
                            directionality=args.directionality, coherence_px=args.coherence,
                            strength_px=args.amplitude, seed=args.seed)


def _render(args: argparse.Namespace, image: io.LoadedImage, motion: spectral.SpectralVolume,
            mask: np.ndarray | None) -> int:
    from .bake import OutputSpec, bake, validate_outputs
    from .settings import plan

    spec = OutputSpec(folder=args.output, stem=args.name or args.image.stem, formats=args.format,
                      displacement=args.displacement, overwrite=args.overwrite)
    validate_outputs(spec)
    settings = _settings(args)
    render_plan = plan(motion, settings, mask=mask)
    bar = _Bar(args.quiet)
    try:
        result = bake(image, render_plan, spec, Progress(callback=bar), splat_beta=settings.splat_beta)
    finally:
        bar.close()
    fps = result.frame_count / result.seconds if result.seconds else float("inf")
    _say(args, f"wrote {result.frame_count} frames ({image.width}x{image.height}, {render_plan.fps:g} fps"
               + (f", loops every {render_plan.loop_frames} frames" if render_plan.loop_frames else "")
               + f") in {result.seconds:.1f} s ({fps:.1f} frames/s) to {Path(args.output).resolve()}:")
    for pattern in result.patterns:
        _say(args, f"  {pattern}")
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    motion = spectral.load(args.motion)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    return _render(args, image, motion, mask)


def cmd_animate(args: argparse.Namespace) -> int:
    from .model.package import default_model_available
    from .procedural import procedural_motion

    source = args.source or ("model" if args.model or default_model_available() else "procedural")
    if args.source is None and source == "procedural" and not args.quiet:
        print("image-dynamics: no default motion model package is installed (onnx/default/); using procedural "
              "motion (--source procedural chooses it without this note).", file=sys.stderr)
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    if source == "model":
        motion = _predict(args, image)
        render_mask = mask
    else:
        # the procedural source shapes amplitude and stiffness with the mask itself, so the render does not apply it
        # again
        motion = procedural_motion(image.pixels, mask=mask, params=_procedural_params(args))
        render_mask = None
    if args.save_motion:
        spectral.save(motion, args.save_motion, overwrite=args.overwrite)
        _say(args, f"motion: {args.save_motion}")
    return _render(args, image, motion, mask=render_mask)


def _predict(args: argparse.Namespace, image: io.LoadedImage) -> spectral.SpectralVolume:
    """Run the motion model on ``image`` with the options of :func:`_add_model_options`, a bar per DDIM step."""
    from .model.predict import MotionPredictor

    predictor = MotionPredictor(args.model, provider=args.provider, notify=False)
    if predictor.notice and not args.quiet:
        print(predictor.notice, file=sys.stderr)
    notice = predictor.notice
    bar = _Bar(args.quiet)
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
    from .atomic import refuse_existing

    if args.output.suffix.lower() != ".npz":
        raise InputError(f"{args.output}: motion files are .npz; name the output FILE.npz.")
    refuse_existing([args.output], args.overwrite)
    image = io.read_image(args.image)
    motion = _predict(args, image)
    spectral.save(motion, args.output, overwrite=args.overwrite)
    meta = motion.meta
    _say(args, f"wrote {args.output}: {motion.num_bands} bands on a {motion.width}x{motion.height} grid for a "
               f"{image.width}x{image.height} image (model {meta['model']}, seed {meta['seed']}, {meta['steps']} "
               + ("steps, from the cache)" if args.motion_from_cache else
                  f"steps, {meta['provider']}, {meta['seconds']:.2f} s)"))
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from .model.cache import cache_dir, cache_size
    from .model.package import ModelPackage, ModelPackageError, find_models, search_folders
    from .model.providers import explain_providers

    rows = []
    for found in find_models():
        try:
            rows.append({**ModelPackage.load(found.path).summary(), "found_in": found.source, "ok": True})
        except ModelPackageError as exc:
            rows.append({"name": found.name, "path": str(found.path), "found_in": found.source, "ok": False,
                         "error": str(exc)})
    entries, size = cache_size()
    report = explain_providers()
    if args.json:
        print(json.dumps({"models": rows, "searched": [str(f) for f, _ in search_folders()],
                          "providers": report.splitlines(), "cache": {"folder": str(cache_dir()),
                                                                      "entries": entries, "bytes": size}}, indent=1))
        return EXIT_OK
    if not rows:
        where = ", ".join(str(f) for f, _ in search_folders()) or "no onnx/ folder; IMAGE_DYNAMICS_MODELS is unset"
        print(f"no motion model packages installed (looked in: {where}). Export one with "
              "`image-dynamics export RUN -o onnx/default/`.")
    for row in rows:
        if row["ok"]:
            print(f"{row['name']}: K={row['K']}, {row['resolution']}, {row['size_mb']:.1f} MB"
                  f"{' (+fp16)' if row['fp16'] else ''}, {row['steps']} steps, guidance {row['guidance']:g}"
                  f"{', motion-energy network' if row['energy_net'] else ''}, licence: {row['licence']}")
            print(f"    {row['path']} ({row['found_in']}); data: {row['data']}")
        else:
            print(f"{row['name']}: BROKEN: {row['error']}")
    print("providers:")
    for line in report.splitlines():
        print(f"    {line}")
    print(f"cache: {entries} result(s), {size / 2 ** 20:.1f} MB in {cache_dir()}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .train.export import DEFAULT_LICENCE, DEFAULT_OPSET, export_package

    if not args.source.exists():
        raise InputError(f"{args.source}: no such run folder or checkpoint. Pass the folder given to "
                         "`image-dynamics train --out`, or its model.pt.")
    bar = _Bar(args.quiet)
    try:
        out = export_package(args.source, args.output, name=args.name, fp16=args.fp16,
                             opset=args.opset or DEFAULT_OPSET, overwrite=args.overwrite,
                             licence=args.licence or DEFAULT_LICENCE, data_note=args.data_note,
                             steps=args.steps, eta=args.eta, guidance=args.guidance,
                             progress=lambda done, total: bar(done, total, "exporting"))
    finally:
        bar.close()
    doc = json.loads((out / "model.json").read_text())
    size = sum(f["bytes"] for f in doc["files"].values())
    parity = max(doc["export"]["parity_max_abs_diff_fp32"].values())
    _say(args, f"wrote model package '{doc['name']}' to {out}: {len(doc['files'])} graphs, {size / 2 ** 20:.1f} MB, "
               f"K={doc['num_bands']}, {doc['resolution']['width']}x{doc['resolution']['height']}, opset "
               f"{doc['opset']}; onnxruntime matches torch to {parity:.1e}")
    return EXIT_OK


def cmd_motion_procedural(args: argparse.Namespace) -> int:
    from .procedural import procedural_motion

    if args.output.suffix.lower() != ".npz":
        raise InputError(f"{args.output}: motion files are .npz; name the output FILE.npz.")
    image = io.read_image(args.image)
    mask = io.read_grayscale(args.mask) if args.mask else None
    motion = procedural_motion(image.pixels, mask=mask, params=_procedural_params(args))
    spectral.save(motion, args.output, overwrite=args.overwrite)
    _say(args, f"wrote {args.output}: {motion.num_bands} bands on a {motion.width}x{motion.height} grid "
               f"for a {image.width}x{image.height} image")
    return EXIT_OK


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must be WIDTHxHEIGHT, e.g. 256x160; got {text!r}.") from None
    return width, height


def cmd_data_synth(args: argparse.Namespace) -> int:
    from .data.synth import generate_dataset

    if args.count < 1:
        raise InputError(f"--count must be at least 1, got {args.count}.")
    width, height = _size(args.size)
    bar = _Bar(args.quiet)
    token = Progress().cancel
    try:
        info = generate_dataset(args.output, args.count, seed=args.seed, width=width, height=height,
                                overwrite=args.overwrite, workers=max(1, args.workers),
                                progress=lambda done, total: bar(done, total, "scenes"), cancel=token)
    finally:
        bar.close()
    _say(args, f"wrote {info.count} samples ({info.width}x{info.height}, {info.num_bands} bands) in "
               f"{len(info.shards)} shards to {info.folder}, with {info.norm_stats_path.name}")
    return EXIT_OK


def cmd_data_videos(args: argparse.Namespace) -> int:
    from .data.videos import videos_to_dataset

    width, height = _size(args.size)
    bar = _Bar(args.quiet)
    try:
        info, rejected = videos_to_dataset(args.videos, args.output, width=width, height=height, flow=args.flow,
                                           max_windows_per_video=args.max_windows, overwrite=args.overwrite,
                                           progress=lambda done, total: bar(done, total, "videos"),
                                           cancel=Progress().cancel)
    finally:
        bar.close()
    _say(args, f"wrote {info.count} samples in {len(info.shards)} shards to {info.folder}")
    for path, reason in rejected:
        _say(args, f"  dropped {path}: {reason}")
    return EXIT_OK


def cmd_data_stats(args: argparse.Namespace) -> int:
    from .data.normalise import compute_norm_stats, save_norm_stats
    from .data.shards import read_info

    info = read_info(args.dataset)
    stats = compute_norm_stats(info)
    save_norm_stats(stats, info.norm_stats_path)
    _say(args, f"wrote {info.norm_stats_path}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from .train.loop import train, train_regression
    except ImportError as exc:
        raise InputError(f"training needs PyTorch ({exc}). Install the train extra: "
                         "pip install -e '.[train]'.") from None
    bar = _Bar(args.quiet)
    token = Progress().cancel

    def on_progress(p) -> None:
        bar(p.stage_step, p.stage_steps, p.stage)

    if args.regression and (args.init_from is not None or args.stages):
        raise InputError("--init-from and --stages are for the motion model; the regression baseline always trains "
                         "its one stage from scratch. Drop --regression or the other option.")
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip()) if args.stages else None
    extra = {} if args.regression else {"init_from": args.init_from, "stages": stages}
    fn = train_regression if args.regression else train
    try:
        result = fn(args.config, args.data, args.out, steps=args.steps, resume=not args.no_resume, seed=args.seed,
                    device=args.device, progress=on_progress, cancel=lambda: token.cancelled,
                    overwrite=args.overwrite, batch_multiplier=args.batch_multiplier, **extra)
    finally:
        bar.close()
    _say(args, f"trained: {result}")
    return EXIT_OK


def _torch_predictor(path: Path, steps: int | None, guidance: float | None, use_energy_net: bool = True
                     ) -> tuple[Callable, bool]:
    """``(predict(images, seed), stochastic)`` for a torch checkpoint: the motion model or the regression baseline."""
    try:
        from .train.model import MotionModel, load_payload
        from .train.regression import RegressionModel
    except ImportError as exc:
        raise InputError(f"evaluating a torch checkpoint needs PyTorch ({exc}); install the train extra.") from None
    payload = load_payload(path, (MotionModel.checkpoint_kind, RegressionModel.checkpoint_kind))
    if payload["kind"] == RegressionModel.checkpoint_kind:
        regression = RegressionModel.from_payload(payload, path)
        return (lambda images, seed: regression.predict(images)), False
    model = MotionModel.from_payload(payload, path)
    return (lambda images, seed: model.predict(images, seed=seed, steps=steps, guidance=guidance,
                                               use_energy_net=use_energy_net)), True


def cmd_eval(args: argparse.Namespace) -> int:
    from . import evaluation as ev
    from .data.shards import read_info

    try:
        seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--seeds must be integers separated by commas, got {args.seeds!r}.") from None
    data = ev.load_test_set(read_info(args.data), limit=args.limit, psnr_samples=args.psnr_samples)
    predictors: dict[str, tuple] = {"zero motion": (ev.zero_motion(data.coeffs.shape[1]), [0])}
    if args.train_data:
        train = ev.load_test_set(read_info(args.train_data), limit=512)
        predictors["mean spectrum"] = (ev.mean_spectrum(train.coeffs), [0])
    for path in args.checkpoint:
        predict, stochastic = _torch_predictor(Path(path), args.steps, args.guidance, not args.no_energy_net)
        predictors[str(path)] = (predict, seeds if stochastic else [0])  # a deterministic model needs one run
    for name in args.model:
        from .model.predict import package_predictor

        predictors[f"onnx:{name}"] = (package_predictor(name, steps=args.steps, guidance=args.guidance,
                                                        use_energy_net=not args.no_energy_net), seeds)
    report = {"data": str(args.data), "samples": int(len(data.images)), "results": {}}
    bar = _Bar(args.quiet)
    try:
        for name, (predict, predictor_seeds) in predictors.items():
            report["results"][name] = ev.evaluate(predict, data, seeds=predictor_seeds,
                                                  progress=lambda d, t, n=name: bar(d, t, n))
    finally:
        bar.close()
    keys = ("energy_corr", "moving_auc", "band_log_power_err", "psnr_db")
    print(f"{'predictor':40s} " + " ".join(f"{k:>22s}" for k in keys))
    for name, result in report["results"].items():
        cells = [f"{result['mean'].get(k, float('nan')):9.3f} +- {result['std'].get(k, 0.0):6.3f}    " for k in keys]
        print(f"{name[-40:]:40s} " + " ".join(f"{c:>22s}" for c in cells))
    if args.output:
        from .atomic import atomic_output

        with atomic_output(args.output, overwrite=True) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
        _say(args, f"report: {args.output}")
    return EXIT_OK


def describe(sv: spectral.SpectralVolume) -> dict:
    """A summary of a motion file: sizes, frequencies and where the motion energy is."""
    energy = spectral.motion_energy(sv)
    band_energy = (np.abs(sv.coeffs) ** 2).sum(axis=(1, 2, 3))
    rms = float(np.sqrt(energy.mean() / 2))
    return {
        "bands": sv.num_bands, "grid": [sv.width, sv.height], "fps": sv.fps,
        "freqs_hz": [round(float(f), 4) for f in sv.freqs_hz],
        "band_energy_share": [round(float(e / max(band_energy.sum(), 1e-30)), 4) for e in band_energy],
        "natural_period_frames": sv.natural_period_frames(), "decay_s": sv.decay_s,
        "rms_amplitude_px": round(rms, 4), "max_amplitude_px": round(float(np.sqrt(energy.max())), 4),
        "moving_fraction": round(float((energy > 1e-4 * max(energy.max(), 1e-30)).mean()), 4), "meta": sv.meta,
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
    print(f"  meta: {json.dumps(info['meta'])}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 130 cancelled)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "format_default", None) and "--format" not in (argv if argv is not None else sys.argv[1:]):
        args.format = args.format_default
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


if __name__ == "__main__":
    sys.exit(main())
