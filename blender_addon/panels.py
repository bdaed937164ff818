"""The sidebar tab "Image Dynamics" (N panel) in the Image Editor, the 3D Viewport and the Compositor.

One set of panel classes is defined once (draw code only) and stamped out for each editor, since Blender needs a
distinct class per space. Drawing reads properties and cached summaries only: it never runs engine work or touches
files.
"""

from __future__ import annotations

import bpy

from . import engine, jobs, motion, preferences, preview, scene
from .properties import BAND_GAIN_HZ

CATEGORY = "Image Dynamics"
#: (space type, suffix of the class names, extra poll)
SPACES = (
    ("IMAGE_EDITOR", "image_editor", None),
    ("VIEW_3D", "view_3d", None),
    ("NODE_EDITOR", "compositor",
     lambda context: getattr(context.space_data, "tree_type", "") == "CompositorNodeTree"),
)
BAR_WIDTH = 20


def _image(context):
    try:
        return scene.source_image(context)
    except engine.UserError:
        return None


def draw_job(layout, job: jobs.Job) -> None:
    box = layout.box()
    box.label(text=job.status_text(), icon="TIME")
    box.progress(factor=job.fraction, text=f"{job.fraction:.0%}")
    box.operator("image_dynamics.cancel", icon="CANCEL")


class MotionPanel:
    bl_label = "Image Dynamics"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.image_dynamics
        ready, _, short = engine.engine_status()
        if not ready:
            layout.label(text=short, icon="ERROR")
        layout.template_ID(settings, "image", open="image.open")
        image = _image(context)
        if settings.image is None and image is not None:
            layout.label(text=f"Using the editor's image: {image.name}", icon="INFO")
        layout.prop(settings, "motion_source")
        col = layout.column(align=True)
        if settings.motion_source == "MODEL":
            available, why = engine.model_available(preferences.model_folder(context))
            if not available:
                col.label(text="No motion model installed yet", icon="ERROR")
            col.prop(settings, "seed")
            col.prop(settings, "steps")
            col.prop(settings, "guidance")
        elif settings.motion_source == "PROCEDURAL":
            for name in ("seed", "dominant_hz", "falloff", "direction", "directionality", "coherence_px",
                         "amplitude_px"):
                col.prop(settings, name)
        else:
            col.prop(settings, "motion_file", text="")
        job = jobs.active()
        if job is not None:
            draw_job(layout, job)
        row = layout.row(align=True)
        row.enabled = job is None
        row.operator("image_dynamics.predict", icon="PLAY")
        row.operator("image_dynamics.save_motion", icon="FILE_TICK", text="Save")
        row = layout.row(align=True)
        playing = preview.active() is not None
        row.operator(f"image_dynamics.preview_{'stop' if playing else 'play'}", icon="PAUSE" if playing else "PLAY")
        row.prop(settings, "preview_max_side", text="")
        if preview.status_message():
            layout.label(text=preview.status_message(), icon="ERROR")
        summary = motion.summary_for(image.name) if image is not None else None
        if summary is not None:
            layout.label(text=f"Motion: {len(summary.freqs_hz)} bands, {summary.grid[0]}x{summary.grid[1]} grid, "
                              f"rms {summary.rms_px:.2f} px")


class FrequenciesPanel:
    bl_label = "Frequencies"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.image_dynamics
        layout.prop(settings, "strength")
        col = layout.column(align=True)
        col.label(text="Band gains (damping curve):")
        for index, hz in enumerate(BAND_GAIN_HZ):
            col.prop(settings, "band_gains", index=index, text=f"{hz:g} Hz")
        row = layout.row(align=True)
        row.prop(settings, "use_low_cut", text="")
        sub = row.row(align=True)
        sub.active = settings.use_low_cut
        sub.prop(settings, "low_cut_hz")
        row = layout.row(align=True)
        row.prop(settings, "use_high_cut", text="")
        sub = row.row(align=True)
        sub.active = settings.use_high_cut
        sub.prop(settings, "high_cut_hz")
        row = layout.row(align=True)
        row.prop(settings, "use_decay", text="")
        sub = row.row(align=True)
        sub.active = settings.use_decay
        sub.prop(settings, "decay_s")
        image = _image(context)
        summary = motion.summary_for(image.name) if image is not None else None
        box = layout.box()
        if summary is None:
            box.label(text="Predict to see the motion spectrum")
            return
        box.label(text="Predicted motion energy per band:")
        col = box.column(align=True)
        col.scale_y = 0.6
        for hz, share in zip(summary.freqs_hz, summary.energy_share):
            col.label(text=f"{hz:4.1f} Hz {'|' * int(round(share * BAR_WIDTH * 2)):<{BAR_WIDTH}} {share:5.1%}")


class LoopPanel:
    bl_label = "Loop"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        current = context.scene
        settings = current.image_dynamics
        layout.prop(settings, "use_scene_range")
        row = layout.row()
        if settings.use_scene_range:
            row.label(text=f"Loop: {current.frame_end - current.frame_start + 1} frames")
        else:
            row.prop(settings, "loop_frames")
        layout.label(text=f"Starts at frame {current.frame_start}, {scene.scene_fps(current):g} fps (scene)")
        layout.prop(settings, "seamless")
        row = layout.row()
        row.active = settings.seamless
        row.prop(settings, "time_stretch")


class MaskPanel:
    bl_label = "Mask"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        settings = context.scene.image_dynamics
        self.layout.template_ID(settings, "mask", open="image.open")
        self.layout.prop(settings, "mask_feather_px")


class OutputPanel:
    bl_label = "Output"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.image_dynamics
        layout.prop(settings, "output_kind", text="")
        if settings.output_kind in {"DISPLACEMENT", "BOTH"}:
            row = layout.row(align=True)
            row.prop(settings, "displacement_forward", toggle=True)
            row.prop(settings, "displacement_compositor", toggle=True)
        if settings.output_kind in {"SEQUENCE", "BOTH"}:
            layout.prop(settings, "file_format")
        layout.prop(settings, "output_dir")
        layout.prop(settings, "overwrite")
        row = layout.row()
        row.enabled = jobs.active() is None
        row.scale_y = 1.4
        row.operator("image_dynamics.bake", icon="RENDER_ANIMATION")
        layout.operator("image_dynamics.export_web", icon="WORLD")


class SetupsPanel:
    bl_label = "Setups"

    def draw(self, context):
        layout = self.layout
        image = _image(context)
        state = image.image_dynamics if image is not None else None
        if state is None or not state.bake_frames:
            layout.label(text="Bake first, then set up:")
        else:
            kinds = [k for k, on in (("frames", bool(state.bake_format)), ("forward", state.bake_forward),
                                     ("compositor", state.bake_compositor)) if on]
            layout.label(text=f"Bake: {state.bake_frames} frames ({', '.join(kinds)})")
            layout.label(text=state.bake_dir)
        col = layout.column(align=True)
        col.operator("image_dynamics.setup_material", icon="MATERIAL")
        col.operator("image_dynamics.setup_compositor", icon="NODE_COMPOSITING")
        col.operator("image_dynamics.setup_displace", icon="MOD_DISPLACE")


PANELS = (("motion", MotionPanel, None), ("frequencies", FrequenciesPanel, "motion"), ("loop", LoopPanel, "motion"),
          ("mask", MaskPanel, "motion"), ("output", OutputPanel, None), ("setups", SetupsPanel, None))


def _make_panel(space: str, suffix: str, extra_poll, key: str, body: type, parent: str | None) -> type:
    attrs = {"bl_idname": f"IMAGE_DYNAMICS_PT_{key}_{suffix}", "bl_space_type": space, "bl_region_type": "UI",
             "bl_category": CATEGORY, "__doc__": body.bl_label}
    if parent is not None:
        attrs["bl_parent_id"] = f"IMAGE_DYNAMICS_PT_{parent}_{suffix}"
    if extra_poll is not None:
        attrs["poll"] = classmethod(lambda cls, context: extra_poll(context))
    return type(f"IMAGE_DYNAMICS_PT_{key}_{suffix}", (body, bpy.types.Panel), attrs)


classes = tuple(_make_panel(space, suffix, extra_poll, key, body, parent)
                for space, suffix, extra_poll in SPACES for key, body, parent in PANELS)
