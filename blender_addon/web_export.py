"""Export Web Player: the image's motion, edited as the sidebar says, as a self-contained ``index.html``.

The operator reads the scene on the main thread (the same requests a bake makes: motion source, edits, loop, fps,
mask), then a job computes or fetches the motion and calls the engine's :func:`image_dynamics.web.export_web` in a
worker thread. The page goes to ``<Output folder>/<image name>/web/index.html`` unless a folder is given. Animated
strength and band gains are exported at their current values (a web player plays one motion; its strength control
scales it live); decay is refused, as ``export-web`` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import bpy
from bpy.props import StringProperty

from . import blender_image, engine, jobs, motion, scene
from .engine import UserError
from .operators import _JobOperator
from .properties import PATH_OPTIONS, resolve_path

WEB_FOLDER = "web"


@dataclass(frozen=True, eq=False)
class WebRequest:
    """One web export as plain data (built on the main thread by :func:`web_request`)."""

    motion: motion.MotionRequest
    image_name: str
    bit_depth: int
    folder: Path
    settings: Any  # image_dynamics.settings.RenderSettings
    mask: Any  # float32 [H, W] 0..1 or None
    overwrite: bool


@dataclass(frozen=True)
class WebOutcome:
    request: WebRequest
    index: Path
    size_bytes: int
    bands: int
    loop_frames: int


def web_request(context: bpy.types.Context, image: bpy.types.Image | None, directory: str = "") -> WebRequest:
    """Check everything a web export needs and copy it out of Blender; :class:`UserError` says what to fix."""
    sc = context.scene
    settings = scene.settings_of(sc)
    image = blender_image.check_still(image)
    if settings.use_decay:
        raise UserError("A web player loops forever and cannot play Decay. Untick Image Dynamics > Loop > Decay to "
                        "export it (bakes keep the decay).")
    if directory:
        if directory.startswith("//") and not bpy.data.filepath:
            raise UserError(f"'{directory}' is relative to the .blend, which is not saved yet. Save the .blend first.")
        folder = Path(resolve_path(directory))
    else:
        folder = scene.output_folder(settings, blender_image.image_stem(image))[1] / WEB_FOLDER
    engine.require()
    render_settings = replace(scene.render_settings(sc, scene.loop_length(sc)), frames=None)
    mask = None
    if settings.mask is not None:
        try:
            mask = blender_image.mask_values(blender_image.check_still(settings.mask))
        except UserError as exc:
            raise UserError(f"Mask: {exc}") from None
    scene.check_writable(folder)
    index = folder / "index.html"
    if index.exists() and not settings.overwrite:
        raise UserError(f"{index} already exists; nothing was written. Tick Image Dynamics > Output > Overwrite to "
                        "replace it, or choose another folder.")
    return WebRequest(motion=scene.motion_request(context, image), image_name=image.name,
                      bit_depth=32 if image.is_float else 8, folder=folder, settings=render_settings, mask=mask,
                      overwrite=bool(settings.overwrite))


def run_web_export(request: WebRequest, progress) -> WebOutcome:
    """Worker thread: the motion (cached or computed), then the engine's all-or-nothing web export."""
    from image_dynamics.errors import ImageDynamicsError
    from image_dynamics.io import LoadedImage
    from image_dynamics.web import export_web

    result = motion.compute(request.motion, progress)
    pixels = request.motion.pixels
    image = LoadedImage(pixels, request.motion.colorspace, request.bit_depth, pixels.shape[2] == 4,
                        Path(request.image_name))
    progress.start("writing the web player", 1)
    try:
        written = export_web(image, result.volume, request.folder, request.settings, mask=request.mask,
                             overwrite=request.overwrite, title=f"{request.image_name} — Image Dynamics")
    except ImageDynamicsError as exc:
        raise UserError(f"Could not export the web player: {exc}") from None
    progress.advance()
    return WebOutcome(request, written.index, written.size_bytes, written.bands, written.loop_frames)


def deliver_web(outcome: WebOutcome) -> str:
    return (f"Web player of '{outcome.request.image_name}' written to {outcome.index} "
            f"({outcome.size_bytes / 1e6:.1f} MB, {outcome.bands} bands, loops every {outcome.loop_frames} frames); "
            "open it in a browser with WebGL2")


def web_job(context: bpy.types.Context, image: bpy.types.Image | None, directory: str = "") -> jobs.Job:
    request = web_request(context, image, directory)
    return jobs.Job(f"Exporting a web player of {request.image_name}",
                    lambda progress: run_web_export(request, progress), deliver_web)


class IMAGE_DYNAMICS_OT_export_web(_JobOperator, bpy.types.Operator):
    """Write a web player (one self-contained index.html, WebGL2) of the image's loop with the current edits"""

    bl_idname = "image_dynamics.export_web"
    bl_label = "Export Web Player"
    bl_options = {"REGISTER"}

    directory: StringProperty(name="Folder", subtype="DIR_PATH", options={"SKIP_SAVE"} | PATH_OPTIONS,
                              description="Folder for index.html (default: <Output folder>/<image name>/web/)")

    def make_job(self, context):
        return web_job(context, scene.source_image(context, self.image_name), self.directory)


classes = (IMAGE_DYNAMICS_OT_export_web,)
