"""Operators: Predict, Bake and Save Motion (modal with progress and Esc in the UI, synchronous from scripts and in
background mode), Cancel, and the three node setups. Every failure becomes a report that says what to do.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from . import blender_image, engine, jobs, scene, setups
from .engine import UserError
from .properties import PATH_OPTIONS

IMAGE_NAME_DOC = "Image to use (default: the sidebar's Image, else the Image Editor's)"


def _report_job(operator: bpy.types.Operator, job: jobs.Job) -> set[str]:
    if job.state == jobs.DONE:
        operator.report({"INFO"}, job.message)
        return {"FINISHED"}
    operator.report({"WARNING"} if job.state == jobs.CANCELLED else {"ERROR"}, job.message)
    return {"CANCELLED"}


def _redraw_sidebars(context: bpy.types.Context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"IMAGE_EDITOR", "VIEW_3D", "NODE_EDITOR"}:
                area.tag_redraw()


class _JobOperator:
    """A job operator: ``execute`` runs synchronously (scripts, ``--background``, redo); ``invoke`` (a click in the
    UI) runs the job in a worker thread, polled every 0.1 s by a window timer, with progress in the status bar and
    Esc to cancel."""

    image_name: StringProperty(name="Image", description=IMAGE_NAME_DOC, options={"SKIP_SAVE"})

    def make_job(self, context: bpy.types.Context) -> jobs.Job:
        raise NotImplementedError

    def _new_job(self, context: bpy.types.Context) -> jobs.Job:
        engine.require()  # a missing dependency is one report naming it, before anything else runs
        return self.make_job(context)

    def execute(self, context):
        try:
            job = jobs.begin(self._new_job(context), threaded=False)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return _report_job(self, job)

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            self._job = jobs.begin(self._new_job(context), threaded=True)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(jobs.POLL_INTERVAL_S, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 1000)
        context.workspace.status_text_set(self._job.status_text())
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC" and event.value == "PRESS":
            job.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if not job.poll():
            context.window_manager.progress_update(int(job.fraction * 1000))
            context.workspace.status_text_set(job.status_text())
            _redraw_sidebars(context)
            return {"PASS_THROUGH"}
        self._finish(context)
        return _report_job(self, job)

    def _finish(self, context) -> None:
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        jobs.release(self._job)
        _redraw_sidebars(context)


class IMAGE_DYNAMICS_OT_predict(_JobOperator, bpy.types.Operator):
    """Compute the image's motion with the chosen source (cached: edits never recompute it)"""

    bl_idname = "image_dynamics.predict"
    bl_label = "Predict Motion"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context):
        return scene.predict_job(context, scene.source_image(context, self.image_name))


class IMAGE_DYNAMICS_OT_bake(_JobOperator, bpy.types.Operator):
    """Bake the loop: an image sequence and/or displacement maps, into <Folder>/<image name>/"""

    bl_idname = "image_dynamics.bake"
    bl_label = "Bake"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context):
        return scene.bake_job(context, scene.source_image(context, self.image_name))


class IMAGE_DYNAMICS_OT_cancel(bpy.types.Operator):
    """Cancel the running Image Dynamics job (same as Esc); nothing half-written is left"""

    bl_idname = "image_dynamics.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return jobs.active() is not None

    def execute(self, context):
        jobs.active().cancel()
        return {"FINISHED"}


class IMAGE_DYNAMICS_OT_save_motion(_JobOperator, bpy.types.Operator):
    """Save the image's motion as a .npz beside the .blend and use it as the motion source (portable to a farm)"""

    bl_idname = "image_dynamics.save_motion"
    bl_label = "Save Motion"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"} | PATH_OPTIONS,
                             description="Where to save (default: <Folder>/<image name>/<image name>_motion.npz)")

    def make_job(self, context):
        return scene.save_motion_job(context, scene.source_image(context, self.image_name), self.filepath)


class _SetupOperator:
    image_name: StringProperty(name="Image", description=IMAGE_NAME_DOC, options={"SKIP_SAVE"})

    def setup(self, context, image) -> str:
        raise NotImplementedError

    def execute(self, context):
        try:
            engine.require()
            image = blender_image.check_still(scene.source_image(context, self.image_name))
            message = self.setup(context, image)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, message)
        return {"FINISHED"}


class IMAGE_DYNAMICS_OT_setup_material(_SetupOperator, bpy.types.Operator):
    """A material whose Image Texture plays the baked sequence, on an image-sized plane (or the active mesh)"""

    bl_idname = "image_dynamics.setup_material"
    bl_label = "Material"
    bl_options = {"REGISTER", "UNDO"}

    use_active: BoolProperty(name="Active Object", default=False,
                             description="Put the material on the active mesh instead of a new plane")
    camera: BoolProperty(name="Camera", default=True,
                         description="Frame the plane with an orthographic camera and set the render size")

    def setup(self, context, image):
        target = context.active_object if self.use_active else None
        if self.use_active and target is None:
            raise UserError("Active Object is ticked but nothing is active; select a mesh, or untick it.")
        material, obj = setups.material_setup(context, image, target=target, camera=self.camera)
        return f"Material '{material.name}' plays the bake of '{image.name}' on '{obj.name}'"


class IMAGE_DYNAMICS_OT_setup_compositor(_SetupOperator, bpy.types.Operator):
    """Animate the still in the compositor: Displace node driven by the compositor displacement maps"""

    bl_idname = "image_dynamics.setup_compositor"
    bl_label = "Compositor"
    bl_options = {"REGISTER", "UNDO"}

    set_resolution: BoolProperty(name="Render Size", default=True, description="Set the render size to the image's")

    def setup(self, context, image):
        tree = setups.compositor_setup(context, image, set_resolution=self.set_resolution)
        return f"Compositor '{tree.name}' displaces '{image.name}' with its compositor maps"


class IMAGE_DYNAMICS_OT_setup_displace(_SetupOperator, bpy.types.Operator):
    """A plane carrying the still, moved by a Displace modifier reading the forward displacement maps"""

    bl_idname = "image_dynamics.setup_displace"
    bl_label = "Displace Modifier"
    bl_options = {"REGISTER", "UNDO"}

    max_side: IntProperty(name="Resolution", default=256, min=2, max=4096,
                          description="Vertices along the image's long side (one per pixel for smaller images)")
    camera: BoolProperty(name="Camera", default=True,
                         description="Frame the plane with an orthographic camera and set the render size")

    def setup(self, context, image):
        obj = setups.displace_setup(context, image, max_side=self.max_side, camera=self.camera)
        return f"'{obj.name}' moves with the forward maps of '{image.name}'"


classes = (IMAGE_DYNAMICS_OT_predict, IMAGE_DYNAMICS_OT_bake, IMAGE_DYNAMICS_OT_cancel,
           IMAGE_DYNAMICS_OT_save_motion, IMAGE_DYNAMICS_OT_setup_material, IMAGE_DYNAMICS_OT_setup_compositor,
           IMAGE_DYNAMICS_OT_setup_displace)
