"""Baking a loop to files: frame sequences, MP4/GIF and displacement EXRs, all or nothing.

Rendering runs on the calling thread while finished frames are encoded by a small pool of writer threads (PNG and EXR
encoders release the GIL), with at most a few frames in flight so memory stays bounded. Every file is written into a
hidden staging folder and moved into place only when the whole bake succeeded; a failure or cancel (Esc, Ctrl-C)
removes the staging folder, so no half-written sequence is ever left behind and no existing file is touched.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import io
from .atomic import StagedOutputs, check_file_stem, recover, refuse_existing, refuse_inputs
from .errors import InputError, OutputError
from .frames import FrameRenderer
from .jobs import Progress
from .settings import RenderPlan

FRAME_FORMATS = io.FRAME_FORMATS
VIDEO_FORMATS = {"mp4": "mp4", "gif": "gif"}
DISPLACEMENT_KINDS = tuple(io.DISPLACEMENT_KINDS)
#: Frames rendered ahead of the writers; bounds memory (a 1080p RGB float frame is 25 MB).
MAX_IN_FLIGHT = 4
#: ...and at most this many bytes of them: a frame larger than this (above about 21 megapixels RGB) is written before
#: the next one is rendered, so a bake of many frames peaks as one frame does (limits.render_memory assumes it).
MAX_IN_FLIGHT_BYTES = 256 * 2**20


@dataclass(frozen=True)
class OutputSpec:
    """Where and what to write.

    Attributes:
        folder: output folder (created if missing).
        stem: file-name stem: frames are ``<stem>_0001.png`` ... (``_0001`` is frame 0, Blender's numbering).
        formats: any of ``png``, ``png16``, ``jpeg``, ``exr`` (frame sequences), ``mp4``, ``gif``.
        displacement: any of ``forward`` (``<stem>_forward_0001.exr``), ``compositor`` (``<stem>_compositor_0001.exr``).
        overwrite: replace existing files; otherwise an existing target stops the bake before anything is written.
        gif_max_side: GIF previews are downscaled to this longest side.
        inputs: files the bake must never replace (the input image, motion file, mask).
    """

    folder: Path
    stem: str
    formats: tuple[str, ...] = ("png",)
    displacement: tuple[str, ...] = ()
    overwrite: bool = False
    gif_max_side: int = 480
    inputs: tuple[Path, ...] = ()


@dataclass
class BakeResult:
    """What a bake wrote."""

    files: list[Path] = field(default_factory=list)
    frame_count: int = 0
    seconds: float = 0.0
    patterns: list[str] = field(default_factory=list)


def validate_outputs(spec: OutputSpec) -> None:
    """Raise :class:`InputError` for unknown formats or kinds (naming the allowed ones) or a stem that is a path."""
    check_file_stem(spec.stem)
    known = set(FRAME_FORMATS) | set(VIDEO_FORMATS)
    bad = [f for f in spec.formats if f not in known]
    if bad:
        raise InputError(f"unknown output format {', '.join(bad)}; choose from {', '.join(sorted(known))}.")
    bad = [k for k in spec.displacement if k not in DISPLACEMENT_KINDS]
    if bad:
        raise InputError(f"unknown displacement kind {', '.join(bad)}; choose from {', '.join(DISPLACEMENT_KINDS)}.")
    if not spec.formats and not spec.displacement:
        raise InputError("nothing to write: give at least one --format or --displacement.")
    if spec.formats.count("png") and spec.formats.count("png16"):
        raise InputError("png and png16 would write the same file names; choose one.")


def planned_names(spec: OutputSpec, frame_numbers: np.ndarray) -> list[str]:
    """Every file name the bake will write, in the order they are produced per frame."""
    names: list[str] = []
    for fmt in spec.formats:
        if fmt in VIDEO_FORMATS:
            names.append(f"{spec.stem}.{VIDEO_FORMATS[fmt]}")
        else:
            names += [io.sequence_name(spec.stem, int(n), FRAME_FORMATS[fmt]) for n in frame_numbers]
    for kind in spec.displacement:
        names += [io.sequence_name(f"{spec.stem}_{kind}", int(n), "exr") for n in frame_numbers]
    return names


def _patterns(spec: OutputSpec) -> list[str]:
    pats = [io.sequence_pattern(spec.stem, FRAME_FORMATS[f]) for f in spec.formats if f in FRAME_FORMATS]
    pats += [f"{spec.stem}.{VIDEO_FORMATS[f]}" for f in spec.formats if f in VIDEO_FORMATS]
    pats += [io.sequence_pattern(f"{spec.stem}_{k}", "exr") for k in spec.displacement]
    return pats


#: An extra file committed together with a bake: ``(target path, writer(staged_path))``.
ExtraFile = tuple[Path, Callable[[Path], object]]


def bake(image: io.LoadedImage, render_plan: RenderPlan, spec: OutputSpec, progress: Progress | None = None,
         splat_beta: float = 1.0, extra_files: Sequence[ExtraFile] = (), flow_mask: np.ndarray | None = None,
         flow_feather_px: float = 0.0) -> BakeResult:
    """Render every frame of ``render_plan`` for ``image`` and write the outputs of ``spec``; all or nothing.

    ``extra_files`` (e.g. the motion file of ``animate --save-motion``) are written into the same staging folder
    after rendering and committed in the same all-or-nothing step as the frames.

    A plan whose motion holds a flow renders through :class:`image_dynamics.flow.FlowRenderer`, composited with
    ``flow_mask`` (``[h, w]`` in 0..1, feathered by ``flow_feather_px`` image pixels; ``None``: where the field moves).
    """
    validate_outputs(spec)
    progress = progress or Progress()
    folder = Path(spec.folder)
    names = planned_names(spec, render_plan.frame_numbers)
    targets = [folder / n for n in names] + [Path(p) for p, _ in extra_files]
    for where in {folder, *(t.parent for t in targets)}:
        recover(where)  # an interrupted earlier commit is finished or undone before anything looks at the folder
    refuse_existing(targets, spec.overwrite)
    refuse_inputs(targets, spec.inputs)
    started = time.monotonic()
    progress.start("preparing", len(render_plan.times))
    if render_plan.motion.flow is None:
        renderer = FrameRenderer(image.pixels, render_plan.motion, splat_beta=splat_beta,
                                 linear=image.colorspace == "linear")
    else:
        from .flow import renderer_for_plan

        renderer = renderer_for_plan(image.pixels, render_plan, flow_mask, flow_feather_px, splat_beta,
                                     linear=image.colorspace == "linear", displacement=spec.displacement)
    meta = {"fps": render_plan.fps, "loop_frames": render_plan.loop_frames}
    in_flight = min(MAX_IN_FLIGHT, MAX_IN_FLIGHT_BYTES // max(1, image.pixels.nbytes))

    with StagedOutputs(folder, overwrite=spec.overwrite, inputs=spec.inputs) as staged, ThreadPoolExecutor(2) as pool:
        pending: collections.deque[Future] = collections.deque()
        videos = _open_videos(spec, staged, render_plan.fps)
        try:
            progress.start("rendering", len(render_plan.times))
            flows = renderer.flows(render_plan.times, render_plan.frame_gains, basis=render_plan.basis)
            for number, flow in zip(render_plan.frame_numbers, flows):
                frame = renderer.frame(flow) if (spec.formats) else None
                for fmt in spec.formats:
                    if fmt in FRAME_FORMATS:
                        path = staged.stage_path(io.sequence_name(spec.stem, int(number), FRAME_FORMATS[fmt]))
                        pending.append(pool.submit(io.write_frame, path, frame, image.colorspace, fmt))
                for kind in spec.displacement:
                    field_ = flow if kind == "forward" else renderer.compositor_map(flow)
                    path = staged.stage_path(io.sequence_name(f"{spec.stem}_{kind}", int(number), "exr"))
                    extra = {**meta, "frame": int(number)}
                    pending.append(pool.submit(io.write_displacement_exr, path, field_, kind, extra=extra))
                if videos:
                    display = io.to_display_uint8(frame, image.colorspace)[..., :3]
                    for writer in videos.values():
                        writer.append(display)
                # the writers hold what they still need; the next flow and frame are made without these
                frame = flow = field_ = display = None
                while len(pending) > in_flight * max(1, len(spec.formats) + len(spec.displacement)):
                    pending.popleft().result()
                progress.advance()
            progress.start("writing", len(pending))
            while pending:
                pending.popleft().result()
                progress.advance()
            for writer in videos.values():
                writer.close()
            for target, write in extra_files:
                write(staged.stage_path(Path(target).absolute()))
        except BaseException as exc:
            for fut in pending:
                fut.cancel()
            for writer in videos.values():
                writer.abort()
            if isinstance(exc, OSError) and str(staged.stage) in f"{exc.filename} {exc.filename2}":
                # the message would name a file in the staging folder, which is gone once this returns
                raise OutputError(f"{folder}: writing the outputs failed ({exc.strerror or exc}); nothing was "
                                  "changed. Free some space or choose another folder.") from None
            raise
        files = staged.commit()
    return BakeResult(files, len(render_plan.times), time.monotonic() - started, _patterns(spec))


def _open_videos(spec: OutputSpec, staged: StagedOutputs, fps: float) -> dict[str, object]:
    writers: dict[str, object] = {}
    for fmt in spec.formats:
        if fmt == "mp4":
            writers[fmt] = io.VideoWriter(staged.stage_path(f"{spec.stem}.mp4"), fps=fps)
        elif fmt == "gif":
            writers[fmt] = io.GifWriter(staged.stage_path(f"{spec.stem}.gif"), fps=fps, max_side=spec.gif_max_side)
    return writers
