"""Predict and Bake as jobs: plain requests read from the scene (main thread), engine work (worker thread), and the
delivery that records results on the image (main thread).

Everything a worker needs is copied out of Blender first (pixels, settings, absolute paths), so the worker never
touches ``bpy``; the delivery looks the image up again by name, because an undo meanwhile may have replaced it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import blender_image, engine, jobs, motion, preferences
from .engine import UserError
from .motion import MotionRequest
from .properties import BAND_GAIN_HZ, relative_path, resolve_path


def settings_of(scene: bpy.types.Scene):
    return scene.image_dynamics


def source_image(context: bpy.types.Context, image_name: str = "") -> bpy.types.Image | None:
    """The image to work on: ``image_name`` if given, else the sidebar's Image, else the Image Editor's image."""
    if image_name:
        image = bpy.data.images.get(image_name)
        if image is None:
            raise UserError(f"No image named '{image_name}' in this .blend. Images here: "
                            f"{', '.join(i.name for i in bpy.data.images) or 'none'}.")
        return image
    settings = settings_of(context.scene)
    if settings.image is not None:
        return settings.image
    space = getattr(context, "space_data", None)
    if space is not None and space.type == "IMAGE_EDITOR" and space.image is not None:
        return space.image
    return None


# ----------------------------------------------------------------------------------------------------------------------
# Requests (main thread)


def procedural_params(settings) -> dict[str, float]:
    """ProceduralParams keyword arguments from the scene settings (seed excluded: it is part of every source)."""
    return {"dominant_hz": float(settings.dominant_hz), "falloff": float(settings.falloff),
            "direction_deg": float(np.degrees(settings.direction)), "directionality": float(settings.directionality),
            "coherence_px": float(settings.coherence_px), "strength_px": float(settings.amplitude_px)}


def motion_request(context: bpy.types.Context, image: bpy.types.Image) -> MotionRequest:
    """Copy what the motion source needs out of Blender; :class:`UserError` for a missing model or file."""
    engine.require()
    settings = settings_of(context.scene)
    image = blender_image.check_still(image)
    motion_file = ""
    if settings.motion_source == "MODEL":
        engine.model_module(preferences.model_folder(context) or None)
    elif settings.motion_source == "FILE":
        if not settings.motion_file:
            raise UserError("Motion source is Motion File but no file is chosen. Pick a .npz in Image Dynamics > "
                            "Motion > Motion File, or switch the source to Procedural.")
        if settings.motion_file.startswith("//") and not bpy.data.filepath:
            raise UserError(f"The motion file '{settings.motion_file}' is relative to the .blend, which is not saved "
                            "yet. Save the .blend, or choose the file again with an absolute path.")
        motion_file = resolve_path(settings.motion_file)
        if not os.path.isfile(motion_file):
            raise UserError(f"Motion file {motion_file} not found. Choose an existing .npz in Image Dynamics > "
                            "Motion > Motion File.")
    pixels, colorspace = blender_image.image_pixels(image)
    return MotionRequest(image_name=image.name, pixels=pixels, colorspace=colorspace,
                         source=settings.motion_source, seed=int(settings.seed), steps=int(settings.steps),
                         guidance=float(settings.guidance),
                         procedural=procedural_params(settings), motion_file=motion_file,
                         model_dir=preferences.model_folder(context), cache_dir=preferences.cache_folder(context))


@dataclass(frozen=True, eq=False)
class BakeRequest:
    """One bake as plain data (see :func:`bake_request`)."""

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
    mask: np.ndarray | None
    start_frame: int
    fps: float
    blend_path: str = ""
    animation: AnimatedEdits | None = None  # per-frame strength and band gains; None: not animated

    def output_spec(self):
        from image_dynamics.bake import OutputSpec

        return OutputSpec(folder=self.folder, stem=self.stem, formats=self.formats, displacement=self.displacement,
                          overwrite=self.overwrite)


def loop_length(scene: bpy.types.Scene) -> int:
    """Frames in the loop: the scene's frame range, or the Loop Frames setting; at least 2."""
    settings = settings_of(scene)
    if settings.use_scene_range:
        frames = scene.frame_end - scene.frame_start + 1
        if frames < 2:
            raise UserError(f"The scene's frame range {scene.frame_start}-{scene.frame_end} is {max(frames, 0)} "
                            "frame(s); a loop needs at least 2. Raise the End frame (Output Properties > Frame "
                            "Range), or untick Loop > Scene Frame Range and set Loop Frames.")
        return frames
    return int(settings.loop_frames)


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def output_folder(settings, stem: str) -> tuple[str, Path]:
    """``(folder as stored, absolute folder)`` of an image's bake: ``<Output folder>/<stem>/``."""
    base = settings.output_dir or "//"
    if base.startswith("//") and not bpy.data.filepath:
        raise UserError(f"The output folder '{base}' is relative to the .blend, which is not saved yet. Save the "
                        ".blend first (File > Save), or choose an absolute folder in Image Dynamics > Output.")
    stored = base.rstrip("/\\") + "/" + stem + "/"
    return stored, Path(resolve_path(stored))


def check_writable(folder: Path) -> None:
    """:class:`UserError` unless ``folder`` exists writable, or its nearest existing parent is a writable folder."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"Cannot write to {folder}: {probe} is a file, not a folder. Choose another folder in Image "
                        "Dynamics > Output > Folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write to {folder}: {probe} is not writable. Choose a folder you can write to in "
                        "Image Dynamics > Output > Folder.")


def render_settings(scene: bpy.types.Scene, frames: int, animation: AnimatedEdits | None = None):
    """The engine's RenderSettings from the scene: edits at the current frame, loop, fps.

    What ``animation`` samples per frame (see :func:`animated_edits`) is left out here (strength 1, no damping curve)
    and applied on top as the plan's frame gains; the splat weight then comes from the motion without it.
    """
    from image_dynamics.settings import RenderSettings

    animated_strength = animation is not None and animation.strengths is not None
    gains_animated = animation is not None and animation.band_gains is not None
    s = settings_of(scene)
    gains = tuple(float(g) for g in s.band_gains)
    band_gains = tuple(zip(BAND_GAIN_HZ, gains)) if any(g != 1.0 for g in gains) and not gains_animated else ()
    low = float(s.low_cut_hz) if s.use_low_cut else None
    high = float(s.high_cut_hz) if s.use_high_cut else None
    if low is not None and high is not None and low > high:
        raise UserError(f"Low Cut {low:g} Hz is above High Cut {high:g} Hz, so nothing would move. Swap them in "
                        "Image Dynamics > Frequencies.")
    return RenderSettings(fps=scene_fps(scene), loop_frames=frames if s.seamless else None, frames=(0, frames),
                          strength=1.0 if animated_strength else float(s.strength), band_gains=band_gains,
                          low_cut_hz=low, high_cut_hz=high, decay_s=float(s.decay_s) if s.use_decay else None,
                          time_stretch=bool(s.time_stretch and s.seamless), mask_feather_px=float(s.mask_feather_px))


def find_fcurve(id_data: bpy.types.ID, data_path: str, index: int = 0) -> bpy.types.FCurve | None:
    """The F-curve animating ``id_data``'s ``data_path[index]`` in its active action, or ``None``.

    Blender 4.4+ layered actions keep F-curves in channelbags (one per layer strip and slot; 5.0 drops
    ``Action.fcurves``); 4.2 has only ``Action.fcurves``. Muted curves count as absent (Blender ignores them too).
    NLA strips and drivers are not looked at.
    """
    anim = id_data.animation_data
    action = anim.action if anim is not None else None
    if action is None:
        return None
    curve = None
    slot = getattr(anim, "action_slot", None)
    if slot is not None and hasattr(action, "layers"):
        for layer in action.layers:
            for strip in layer.strips:
                bag = strip.channelbag(slot)
                curve = bag.fcurves.find(data_path, index=index) if bag is not None else None
                if curve is not None:
                    break
            if curve is not None:
                break
    if curve is None and getattr(action, "fcurves", None) is not None:  # 4.2 (and 4.4's legacy view)
        curve = action.fcurves.find(data_path, index=index)
    return None if curve is None or curve.mute else curve


@dataclass(frozen=True)
class AnimatedEdits:
    """Strength and damping curve of every baked frame, sampled from the scene's F-curves.

    Attributes:
        strengths: amplitude factor of baked frame ``i`` (scene frame ``frame_start + i``); ``None``: not animated.
        band_gains: damping curve ``((hz, gain), ...)`` of baked frame ``i``, at :data:`BAND_GAIN_HZ`; ``None``: no
            band is animated (a band without an F-curve keeps its current gain on every frame).
    """

    strengths: tuple[float, ...] | None
    band_gains: tuple[tuple[tuple[float, float], ...], ...] | None


def animated_edits(scene: bpy.types.Scene, frames: int) -> AnimatedEdits | None:
    """Sample animated strength and band gains at scene frames ``frame_start + i``, ``i < frames``; ``None`` when
    neither is animated (then the bake reads the current values, exactly as an un-animated bake).

    F-curves are evaluated directly (no ``frame_set``: no depsgraph update, nothing in the scene changes); values are
    clamped to the property's hard range as Blender clamps animated values. Decay is not sampled: it is read at the
    current frame.
    """
    settings = settings_of(scene)
    strength_curve = find_fcurve(scene, "image_dynamics.strength")
    gain_curves = [find_fcurve(scene, "image_dynamics.band_gains", band) for band in range(len(BAND_GAIN_HZ))]
    if strength_curve is None and all(curve is None for curve in gain_curves):
        return None
    properties = settings.bl_rna.properties

    def sample(curve, current: float, name: str) -> tuple[float, ...]:
        if curve is None:
            return (float(current),) * frames
        low, high = properties[name].hard_min, properties[name].hard_max
        return tuple(min(max(float(curve.evaluate(scene.frame_start + i)), low), high) for i in range(frames))

    strengths = None if strength_curve is None else sample(strength_curve, settings.strength, "strength")
    band_gains = None
    if any(curve is not None for curve in gain_curves):
        per_band = [sample(curve, settings.band_gains[band], "band_gains") for band, curve in enumerate(gain_curves)]
        band_gains = tuple(tuple(zip(BAND_GAIN_HZ, (gains[i] for gains in per_band))) for i in range(frames))
    return AnimatedEdits(strengths, band_gains)


def outputs(settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(frame formats, displacement kinds)`` chosen in Output."""
    formats = (settings.file_format.lower(),) if settings.output_kind in {"SEQUENCE", "BOTH"} else ()
    kinds: tuple[str, ...] = ()
    if settings.output_kind in {"DISPLACEMENT", "BOTH"}:
        kinds = tuple(k for k, on in (("forward", settings.displacement_forward),
                                      ("compositor", settings.displacement_compositor)) if on)
        if not kinds:
            raise UserError("Output includes displacement maps but neither Forward nor Compositor is ticked. Tick "
                            "one in Image Dynamics > Output.")
    return formats, kinds


def bake_request(context: bpy.types.Context, image: bpy.types.Image | None) -> BakeRequest:
    """Check everything a bake needs and copy it out of Blender; :class:`UserError` says what to fix."""
    scene = context.scene
    settings = settings_of(scene)
    image = blender_image.check_still(image)
    stem = blender_image.image_stem(image)
    folder_setting, folder = output_folder(settings, stem)
    frames = loop_length(scene)
    formats, kinds = outputs(settings)
    engine.require()
    from image_dynamics.bake import planned_names

    animation = animated_edits(scene, frames)
    request_settings = render_settings(scene, frames, animation)
    mask = None
    if settings.mask is not None:
        try:
            mask = blender_image.mask_values(blender_image.check_still(settings.mask))
        except UserError as exc:
            raise UserError(f"Mask: {exc}") from None
    check_writable(folder)
    request = BakeRequest(motion=motion_request(context, image), image_name=image.name,
                          bit_depth=32 if image.is_float else 8, folder=folder, folder_setting=folder_setting,
                          stem=stem, formats=formats, displacement=kinds, overwrite=bool(settings.overwrite),
                          settings=request_settings, mask=mask, start_frame=scene.frame_start, fps=scene_fps(scene),
                          blend_path=bpy.data.filepath, animation=animation)
    if not request.overwrite:
        names = planned_names(request.output_spec(), np.arange(frames))
        existing = [name for name in names if (folder / name).exists()]
        if existing:
            raise UserError(f"{folder} already holds a bake of '{image.name}' ({len(existing)} file(s), e.g. "
                            f"{existing[0]}); nothing was written. Tick Image Dynamics > Output > Overwrite to replace "
                            "it, or choose another folder.")
    return request


# ----------------------------------------------------------------------------------------------------------------------
# Work (worker thread) and delivery (main thread)


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
    """Motion (cached or computed), plan and bake: the engine's all-or-nothing bake into the request's folder."""
    from image_dynamics.bake import bake
    from image_dynamics.io import LoadedImage
    from image_dynamics.settings import animated_gains, plan, with_frame_gains

    motion_result = motion.compute(request.motion, progress)
    image = LoadedImage(request.motion.pixels, request.motion.colorspace, request.bit_depth,
                        request.motion.pixels.shape[2] == 4, Path(request.image_name))
    render_plan = plan(motion_result.volume, request.settings, mask=request.mask)
    if request.animation is not None:
        gains = animated_gains(render_plan.motion, request.animation.strengths, request.animation.band_gains)
        render_plan = with_frame_gains(render_plan, gains)
    result = bake(image, render_plan, request.output_spec(), progress, splat_beta=request.settings.splat_beta)
    return BakeOutcome(request, motion_result, result.files, result.frame_count, result.seconds, result.patterns,
                       render_plan.loop_frames)


def _record_motion(image: bpy.types.Image, result: motion.MotionResult) -> None:
    image.image_dynamics.motion_key = result.key
    motion.set_summary(image.name, result.summary)


def deliver_motion(result: motion.MotionResult) -> str:
    """Record the motion's cache key and spectrum on the image."""
    image = bpy.data.images.get(result.image_name)
    if image is not None:
        _record_motion(image, result)
    grid = result.summary.grid
    return (f"Motion for '{result.image_name}': {len(result.summary.freqs_hz)} bands on a {grid[0]}x{grid[1]} grid "
            f"({result.origin}, {result.seconds:.2f} s)")


def deliver_bake(outcome: BakeOutcome) -> str:
    """Record the bake on the image (for setups), reload images showing the old files, and say what was written."""
    request = outcome.request
    same_file = bpy.data.filepath == request.blend_path  # another .blend may have been opened meanwhile
    image = bpy.data.images.get(request.image_name) if same_file else None
    where = request.folder_setting if same_file else str(request.folder)
    if image is not None:
        _record_motion(image, outcome.motion)
        state = image.image_dynamics
        state.bake_dir = where
        state.bake_stem = request.stem
        state.bake_frames = outcome.frame_count
        state.bake_start = request.start_frame
        state.bake_fps = request.fps
        state.bake_loops = outcome.loop_frames is not None
        state.bake_format = request.formats[0] if request.formats else ""
        state.bake_forward = "forward" in request.displacement
        state.bake_compositor = "compositor" in request.displacement
    written = {os.path.normcase(os.path.abspath(p)) for p in outcome.files}
    for other in bpy.data.images:  # a re-bake with Overwrite: show the new frames
        if other.source in {"SEQUENCE", "FILE"} and other.filepath:
            if os.path.normcase(os.path.abspath(bpy.path.abspath(other.filepath))) in written:
                other.reload()
    fps = outcome.frame_count / outcome.seconds if outcome.seconds else 0.0
    missing = "" if image is not None else (" (the image was renamed, removed or its .blend closed meanwhile: setups "
                                            "cannot find this bake)")
    return (f"Baked {outcome.frame_count} frames of '{request.image_name}' in {outcome.seconds:.1f} s "
            f"({fps:.1f} frames/s) to {where}: {', '.join(outcome.patterns)}{missing}")


def predict_job(context: bpy.types.Context, image: bpy.types.Image | None) -> jobs.Job:
    """A job computing (or fetching from cache) the motion of ``image`` with the scene's motion settings."""
    request = motion_request(context, image)
    return jobs.Job(f"Predicting motion of {request.image_name}", lambda progress: motion.compute(request, progress),
                    deliver_motion)


def bake_job(context: bpy.types.Context, image: bpy.types.Image | None) -> jobs.Job:
    """A job baking ``image`` with the scene's settings (motion computed first when it is not cached)."""
    request = bake_request(context, image)
    return jobs.Job(f"Baking {request.image_name}", lambda progress: run_bake(request, progress), deliver_bake)


def save_motion(context: bpy.types.Context, image: bpy.types.Image, path: str = "") -> str:
    """Save the image's motion (cached, else computed now) as a ``.npz`` and make it the scene's motion source.

    ``path`` defaults to ``<Output folder>/<image stem>/<image stem>_motion.npz``, beside the .blend. Returns the
    path as stored (``//``-relative when the .blend is saved).
    """
    from image_dynamics.errors import ImageDynamicsError
    from image_dynamics.jobs import Progress

    settings = settings_of(context.scene)
    if not path:
        stem = blender_image.image_stem(image)
        path = output_folder(settings, stem)[0] + f"{stem}_motion.npz"
    elif path.startswith("//") and not bpy.data.filepath:
        raise UserError(f"'{path}' is relative to the .blend, which is not saved yet. Save the .blend first.")
    target = Path(resolve_path(path))
    check_writable(target.parent)
    try:
        result = motion.compute(motion_request(context, image), Progress())
        written = motion.save(result.volume, target)
    except ImageDynamicsError as exc:
        raise UserError(f"Could not save the motion: {exc}") from None
    _record_motion(image, result)
    stored = relative_path(str(written))
    image.image_dynamics.motion_file = stored
    settings.motion_source, settings.motion_file = "FILE", stored
    return stored
