"""Worker-thread side of Predict, Bake and Save Motion: plain requests in, engine results out, never ``bpy``.

:mod:`.scene` builds the requests on the main thread (everything a worker needs is copied out of Blender first:
pixels, settings, absolute paths) and delivers the results back onto the scene; the functions here run in a job's
worker thread (:mod:`.jobs`) and touch only numpy, the engine and the files the request names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import motion, warmup
from .engine import UserError
from .motion import MotionRequest


@dataclass(frozen=True)
class AnimatedEdits:
    """Strength and damping curve of every baked frame, sampled from the scene's F-curves.

    Attributes:
        strengths: amplitude factor of baked frame ``i`` (scene frame ``frame_start + i``); ``None``: not animated.
        band_gains: damping curve ``((hz, gain), ...)`` of baked frame ``i``; ``None``: no band is animated (a band
            without an F-curve keeps its current gain on every frame).
    """

    strengths: tuple[float, ...] | None
    band_gains: tuple[tuple[tuple[float, float], ...], ...] | None


@dataclass(frozen=True, eq=False)
class BakeRequest:
    """One bake as plain data (see ``scene.bake_request``)."""

    motion: MotionRequest
    image_name: str
    bit_depth: int
    folder: Path
    folder_setting: str
    stem: str
    formats: tuple[str, ...]
    displacement: tuple[str, ...]
    overwrite: bool
    settings: Any  # image_dynamics.settings.RenderSettings
    mask: np.ndarray | None  # float32 [H, W] in 0..1 (1 = moves), from image_dynamics.io.mask_from_pixels
    start_frame: int
    fps: float
    blend_path: str = ""
    animation: AnimatedEdits | None = None  # per-frame strength and band gains; None: not animated
    flow: Any = None  # blender_addon.flow.FlowRequest (arrows, anchors, drift, flow mask); None: none
    forces: Any = None  # blender_addon.forces.ForcesRequest: bake the response to the scene's forces, not the loop
    sequence_frames: int = 0  # frames of the whole sequence (a farm chunk bakes a part of it); 0: frame_count

    def output_spec(self):
        from image_dynamics.bake import OutputSpec

        return OutputSpec(folder=self.folder, stem=self.stem, formats=self.formats, displacement=self.displacement,
                          overwrite=self.overwrite)


@dataclass(frozen=True, eq=False)
class BakeOutcome:
    request: BakeRequest
    motion: motion.MotionResult
    files: list[Path]
    frame_count: int
    seconds: float
    patterns: list[str]
    loop_frames: int | None


def run_bake(request: BakeRequest, progress) -> BakeOutcome:
    """Motion (cached or computed), plan and bake: the engine's all-or-nothing bake into the request's folder.

    A bake started while the render kernels are still being compiled at enable (:mod:`.warmup`) first waits for
    that, as a stage of its own (the motion and the frames then run on the compiled kernels).
    """
    from image_dynamics.bake import bake
    from image_dynamics.io import LoadedImage
    from image_dynamics.limits import check_render_request
    from image_dynamics.settings import animated_gains, plan, with_frame_gains

    warmup.wait(progress)
    motion_result = motion.compute(request.motion, progress)
    image = LoadedImage(request.motion.pixels, request.motion.colorspace, request.bit_depth,
                        request.motion.pixels.shape[2] == 4, Path(request.image_name))
    volume, flow_mask, flow_feather = motion_result.volume, None, 0.0
    if request.flow is not None:
        # .flow also defines the scene's flow properties (bpy); only its numpy half runs here, and only when asked
        from . import flow

        volume = flow.apply(request.flow, volume, (image.width, image.height))
        flow_mask, flow_feather = flow.bake_flow_mask(request.flow)
    if request.forces is not None:
        render_plan = request.forces.render_plan(volume, request.settings, mask=request.mask)
    else:
        render_plan = plan(volume, request.settings, mask=request.mask)
    if request.animation is not None:
        gains = animated_gains(render_plan.motion, request.animation.strengths, request.animation.band_gains)
        render_plan = with_frame_gains(render_plan, gains)
    check_render_request(image, render_plan)  # the engine's limits (size, memory, NaN pixels), as the CLI checks them
    result = bake(image, render_plan, request.output_spec(), progress, splat_beta=request.settings.splat_beta,
                  flow_mask=flow_mask, flow_feather_px=flow_feather)
    return BakeOutcome(request, motion_result, result.files, result.frame_count, result.seconds, result.patterns,
                       render_plan.loop_frames)


@dataclass(frozen=True, eq=False)
class SavedMotion:
    """A motion computed (or taken from the cache) and written as a motion file."""

    result: motion.MotionResult
    path: Path


def run_save_motion(request: MotionRequest, target: Path, progress) -> SavedMotion:
    """The request's motion (cached, else computed) written to ``target`` (``.npz``, replaced atomically)."""
    from image_dynamics.errors import ImageDynamicsError

    result = motion.compute(request, progress)
    try:
        written = motion.save(result.volume, target)
    except ImageDynamicsError as exc:
        raise UserError(f"Could not save the motion: {exc}") from None
    return SavedMotion(result, written)
