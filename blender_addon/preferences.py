"""Add-on preferences: compute device (with what was detected and why), cache folder and its size, model folder.

The cache folder is the engine's motion cache (``image_dynamics.model.cache``): the add-on's model predictions and
procedural motion are stored there once, and Clear Cache empties it with the engine's ``clear_cache``.
"""

from __future__ import annotations

import os
import tempfile

import bpy
from bpy.props import EnumProperty, StringProperty

from . import engine, motion
from .properties import PATH_OPTIONS

ADDON_ID = __package__
DEVICES = [
    ("AUTO", "Automatic", "Use a GPU when one is detected and passes a test run, else the CPU"),
    ("GPU", "GPU", "Use the GPU (CUDA 13 and cuDNN 9 through onnxruntime-gpu 1.31); falls back to the CPU with a "
                   "report if it fails"),
    ("CPU", "CPU", "Always use the CPU"),
]

#: Compute Device -> the engine's provider name.
PROVIDERS = {"AUTO": "auto", "GPU": "cuda", "CPU": "cpu"}

#: Result of the last device detection (kept out of the .blend; detection imports onnxruntime, so it runs on demand).
_detected: list[str] = []


def _model_folder_changed(_self, _context) -> None:
    engine.forget_model_status()


class ImageDynamicsPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    compute_device: EnumProperty(name="Compute Device", items=DEVICES, default="AUTO",
                                 description="Where the motion model runs (the procedural source always uses the "
                                             "CPU)")
    cache_dir: StringProperty(name="Cache Folder", subtype="DIR_PATH", options=PATH_OPTIONS, default="",
                              description="Where predicted motion is cached by image and settings (empty: the "
                                          "add-on's user folder)")
    model_dir: StringProperty(name="Model Folder", subtype="DIR_PATH", options=PATH_OPTIONS, default="",
                              update=_model_folder_changed,
                              description="Folder of motion model packages, looked at before $IMAGE_DYNAMICS_MODELS "
                                          "and the default model shipped inside the engine (empty: those alone)")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        ready, status, _ = engine.engine_status()
        layout.label(text=status, icon="CHECKMARK" if ready else "ERROR")
        box = layout.box()
        box.prop(self, "compute_device")
        available, why = engine.model_available(model_folder(context))
        box.label(text=f"Motion model: {why}", icon="CHECKMARK" if available else "INFO")
        for line in _detected or ["Devices not detected yet"]:
            box.label(text=line)
        box.operator("image_dynamics.detect_devices", icon="VIEWZOOM")
        box = layout.box()
        box.prop(self, "cache_dir")
        folder = cache_folder(context)
        row = box.row()
        row.label(text=f"{folder}: {cache_summary(folder)}")
        row.operator("image_dynamics.clear_cache", icon="TRASH")
        layout.prop(self, "model_dir")


def get(context: bpy.types.Context | None = None) -> ImageDynamicsPreferences | None:
    """The add-on's preferences, or None when it was registered without being enabled (plain ``register()``)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def cache_folder(context: bpy.types.Context | None = None) -> str:
    """The motion cache folder: the preference, else the extension's user folder, else the system temp folder."""
    prefs = get(context)
    if prefs is not None and prefs.cache_dir:
        return bpy.path.abspath(prefs.cache_dir)
    if ADDON_ID.startswith("bl_ext."):
        try:
            return bpy.utils.extension_path_user(ADDON_ID, path="cache", create=True)
        except (ValueError, OSError):
            pass
    return os.path.join(tempfile.gettempdir(), "image_dynamics_cache")


def numba_cache_folder() -> str:
    """The folder the add-on owns for numba's compiled kernels (``NUMBA_CACHE_DIR``): the extension's user folder,
    else (a legacy add-on) the system temp folder. Never the engine's install folder nor the home folder, either of
    which may be read-only."""
    if ADDON_ID.startswith("bl_ext."):
        try:
            return bpy.utils.extension_path_user(ADDON_ID, path="numba", create=True)
        except (ValueError, OSError):
            pass
    return os.path.join(tempfile.gettempdir(), "image_dynamics_numba")


def model_folder(context: bpy.types.Context | None = None) -> str:
    prefs = get(context)
    return bpy.path.abspath(prefs.model_dir) if prefs is not None and prefs.model_dir else ""


def provider(context: bpy.types.Context | None = None) -> str:
    """The engine provider of the Compute Device preference: ``'auto'``, ``'cuda'`` or ``'cpu'``."""
    prefs = get(context)
    return PROVIDERS[prefs.compute_device] if prefs is not None else "auto"


def cache_summary(folder: str) -> str:
    """``'3 motions, 1.2 MB'`` in the cache folder (the engine's count), or why it cannot be counted."""
    if not engine.engine_status()[0]:  # kept a moment: this draws on every redraw
        return "engine not available"
    from image_dynamics.model.cache import cache_size

    count, size = cache_size(folder)
    return f"{count} motion(s), {format_size(size)}"


def format_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"


def detect_devices() -> list[str]:
    """What the motion model could run on, and why a GPU would not be used: the engine's own report (it imports
    onnxruntime and probes CUDA with a real run; onnxruntime-gpu 1.31 needs CUDA 13 and cuDNN 9)."""
    engine.require()
    try:
        from image_dynamics.model.providers import explain_providers

        return explain_providers().splitlines()
    except ImportError as exc:
        return [engine.missing_dependency(exc.name or "onnxruntime")]
    except Exception as exc:  # noqa: BLE001 - a broken runtime is reported, not raised
        return [f"onnxruntime failed to load: {exc}"]


class IMAGE_DYNAMICS_OT_detect_devices(bpy.types.Operator):
    """Detect which devices the motion model could use"""

    bl_idname = "image_dynamics.detect_devices"
    bl_label = "Detect Devices"

    def execute(self, context):
        try:
            _detected[:] = detect_devices()
        except engine.UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, "; ".join(_detected))
        return {"FINISHED"}


class IMAGE_DYNAMICS_OT_clear_cache(bpy.types.Operator):
    """Delete the cached motion files (they are recomputed when needed)"""

    bl_idname = "image_dynamics.clear_cache"
    bl_label = "Clear Cache"

    def execute(self, context):
        try:
            engine.require()
        except engine.UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        from image_dynamics.model.cache import cache_size, clear_cache

        folder = cache_folder(context)
        removed, size = clear_cache(folder)
        left, _ = cache_size(folder)
        motion.clear_memory()
        if left:
            self.report({"ERROR"}, f"Could not delete {left} cached motion file(s) in {folder}; check its "
                                   "permissions.")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Removed {removed} cached motion file(s) ({format_size(size)}) from {folder}")
        return {"FINISHED"}


classes = (ImageDynamicsPreferences, IMAGE_DYNAMICS_OT_detect_devices, IMAGE_DYNAMICS_OT_clear_cache)
