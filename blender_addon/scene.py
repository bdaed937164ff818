"""Main-thread side of Predict, Bake and Save Motion: read the scene into plain requests, make the jobs, and deliver
their results back onto the scene.

Everything a worker needs is copied out of Blender here (pixels, settings, absolute paths), so the worker code
(:mod:`.work`, :mod:`.motion`) never touches ``bpy``; a delivery looks the image up again by name, because an undo
meanwhile may have replaced it. Only the main thread may call these functions.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np

from . import blender_image, engine, flow, forces, jobs, motion, preferences, work
from .engine import UserError
from .motion import MotionRequest
from .properties import BAND_GAIN_HZ, relative_path, resolve_path
from .work import AnimatedEdits, BakeOutcome, BakeRequest, SavedMotion


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


def motion_request(context: bpy.types.Context, image: bpy.types.Image, copy_pixels: bool = True) -> MotionRequest:
    """Copy what the motion source needs out of Blender; :class:`UserError` for a missing model or file.

    ``copy_pixels=False`` leaves ``pixels`` None, for a caller that copies the buffer itself
    (:func:`.blender_image.read_buffer`) and converts it on a worker thread (the live preview)."""
    engine.require()
    settings = settings_of(context.scene)
    image = blender_image.check_still(image)
    motion_file = ""
    package_path, package_sha256 = "", ""
    if settings.motion_source == "MODEL":
        package_path, package_sha256 = engine.model_package(preferences.model_folder(context))
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
    if copy_pixels:
        pixels, colorspace = blender_image.image_pixels(image)
    else:
        pixels, colorspace = None, blender_image.colorspace_of(image)
    return MotionRequest(image_name=image.name, pixels=pixels, colorspace=colorspace,
                         source=settings.motion_source, seed=int(settings.seed), steps=int(settings.steps),
                         guidance=float(settings.guidance),
                         procedural=procedural_params(settings), motion_file=motion_file,
                         package_path=package_path, package_sha256=package_sha256,
                         provider=preferences.provider(context), cache_dir=preferences.cache_folder(context))


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


def check_chunk(chunk: tuple[int, int] | None, frames: int) -> tuple[int, int]:
    """The frames ``(start, stop)`` of a bake of ``frames`` frames: all, or a farm chunk ``--frames A:B`` (0-based,
    stop exclusive, as ``image-dynamics render --frames``) inside them; :class:`UserError` otherwise."""
    if chunk is None:
        return 0, frames
    start, stop = chunk
    if not 0 <= start < stop <= frames:
        raise UserError(f"--frames {start}:{stop} is not a part of this bake's {frames} frames; give A:B with "
                        f"0 <= A < B <= {frames} (B exclusive; file A+1 is the first one written).")
    return start, stop


def _chunk_of(animation: AnimatedEdits | None, start: int, stop: int) -> AnimatedEdits | None:
    """The per-frame animated edits of frames ``start .. stop - 1`` only (a farm chunk renders just those)."""
    if animation is None:
        return None
    return AnimatedEdits(None if animation.strengths is None else animation.strengths[start:stop],
                         None if animation.band_gains is None else animation.band_gains[start:stop])


def bake_request(context: bpy.types.Context, image: bpy.types.Image | None,
                 chunk: tuple[int, int] | None = None) -> BakeRequest:
    """Check everything a bake needs and copy it out of Blender; :class:`UserError` says what to fix.

    ``chunk``: bake only the frames ``(A, B)`` of the sequence (a render farm's share, ``--frames A:B``); each chunk
    commits its own files, and the chunks of one sequence together equal one bake of it byte for byte.
    """
    scene = context.scene
    settings = settings_of(scene)
    image = blender_image.check_still(image)
    stem = blender_image.image_stem(image)
    folder_setting, folder = output_folder(settings, stem)
    frames = loop_length(scene)
    start, stop = check_chunk(chunk, frames)
    formats, kinds = outputs(settings)
    engine.require()
    from image_dynamics.bake import planned_names

    animation = animated_edits(scene, frames)
    request_settings = render_settings(scene, frames, animation)
    if chunk is not None:
        # the loop (and so every frame's motion) stays the whole sequence's; only which frames are written changes
        animation = _chunk_of(animation, start, stop)
        request_settings = replace(request_settings, frames=(start, stop))
    mask = None
    if settings.mask is not None:
        try:
            mask = blender_image.mask_values(blender_image.check_still(settings.mask))  # the engine's rule
        except UserError as exc:
            raise UserError(f"Mask: {exc}") from None
    check_writable(folder)
    request = BakeRequest(motion=motion_request(context, image), image_name=image.name,
                          bit_depth=32 if image.is_float else 8, folder=folder, folder_setting=folder_setting,
                          stem=stem, formats=formats, displacement=kinds, overwrite=bool(settings.overwrite),
                          settings=request_settings, mask=mask, start_frame=scene.frame_start, fps=scene_fps(scene),
                          blend_path=bpy.data.filepath, animation=animation,
                          flow=flow.flow_request(scene, image, kinds),
                          forces=forces.request(scene, image, frames, scene_fps(scene)),
                          sequence_frames=frames)
    from image_dynamics.atomic import recover

    recover(folder)  # a commit cut short by SIGKILL or a crash is undone before anything looks at the folder
    if not request.overwrite:
        names = planned_names(request.output_spec(), np.arange(start, stop))
        existing = [name for name in names if (folder / name).exists()]
        if existing:
            raise UserError(f"{folder} already holds a bake of '{image.name}' ({len(existing)} file(s), e.g. "
                            f"{existing[0]}); nothing was written. Tick Image Dynamics > Output > Overwrite to replace "
                            "it, or choose another folder.")
    return request


# ----------------------------------------------------------------------------------------------------------------------
# Jobs and delivery (main thread; the work itself is in .work)


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
        state.bake_frames = request.sequence_frames or outcome.frame_count  # a farm chunk: the whole sequence
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


def bake_job(context: bpy.types.Context, image: bpy.types.Image | None,
             chunk: tuple[int, int] | None = None) -> jobs.Job:
    """A job baking ``image`` with the scene's settings (motion computed first when it is not cached); ``chunk``:
    only frames ``(A, B)`` of the sequence (see :func:`bake_request`)."""
    request = bake_request(context, image, chunk)
    return jobs.Job(f"Baking {request.image_name}", lambda progress: work.run_bake(request, progress),
                    deliver_bake)


def motion_file_target(context: bpy.types.Context, image: bpy.types.Image, path: str = "") -> tuple[str, Path]:
    """``(path as given, absolute path)`` of a Save Motion: ``path``, or by default
    ``<Output folder>/<image stem>/<image stem>_motion.npz`` beside the .blend; :class:`UserError` when unwritable."""
    settings = settings_of(context.scene)
    if not path:
        stem = blender_image.image_stem(image)
        path = output_folder(settings, stem)[0] + f"{stem}_motion.npz"
    elif path.startswith("//") and not bpy.data.filepath:
        raise UserError(f"'{path}' is relative to the .blend, which is not saved yet. Save the .blend first.")
    target = Path(resolve_path(path))
    if target.suffix.lower() != ".npz":
        raise UserError(f"{target}: motion files are .npz; give the file name the .npz extension.")
    check_writable(target.parent)
    return path, target


def deliver_saved_motion(saved: SavedMotion, scene_name: str) -> str:
    """Record the saved motion on the image and make it scene ``scene_name``'s motion source (Motion File)."""
    result = saved.result
    image = bpy.data.images.get(result.image_name)
    stored = relative_path(str(saved.path))
    if image is not None:
        _record_motion(image, result)
        image.image_dynamics.motion_file = stored
    scene = bpy.data.scenes.get(scene_name)
    if scene is not None:
        settings = settings_of(scene)
        settings.motion_source, settings.motion_file = "FILE", stored
    return f"Saved the motion of '{result.image_name}' to {stored}; Motion > Source is now Motion File"


def save_motion_job(context: bpy.types.Context, image: bpy.types.Image | None, path: str = "") -> jobs.Job:
    """A job saving the image's motion (cached, else computed in the worker) as a ``.npz``, then making it the
    scene's motion source."""
    image = blender_image.check_still(image)
    _, target = motion_file_target(context, image, path)
    request = motion_request(context, image)
    scene_name = context.scene.name
    return jobs.Job(f"Saving the motion of {request.image_name}",
                    lambda progress: work.run_save_motion(request, target, progress),
                    lambda saved: deliver_saved_motion(saved, scene_name))
