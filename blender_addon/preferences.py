"""Add-on preferences: compute device (with what was detected and why), cache folder and its size, model folder."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from . import engine, motion
from .properties import PATH_OPTIONS

ADDON_ID = __package__
DEVICES = [
    ("AUTO", "Automatic", "Use a GPU when one is detected and passes a test run, else the CPU"),
    ("GPU", "GPU", "Use the GPU (CUDA through onnxruntime-gpu); falls back to the CPU with a report if it fails"),
    ("CPU", "CPU", "Always use the CPU"),
]

#: Result of the last device detection (kept out of the .blend; detection imports onnxruntime, so it runs on demand).
_detected: list[str] = []


class ImageDynamicsPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    compute_device: EnumProperty(name="Compute Device", items=DEVICES, default="AUTO",
                                 description="Where the motion model runs (the procedural source always uses the "
                                             "CPU)")
    cache_dir: StringProperty(name="Cache Folder", subtype="DIR_PATH", options=PATH_OPTIONS, default="",
                              description="Where predicted motion is cached by image and settings (empty: the "
                                          "add-on's user folder)")
    model_dir: StringProperty(name="Model Folder", subtype="DIR_PATH", options=PATH_OPTIONS, default="",
                              description="Folder of motion model packages (empty: the ones bundled with the "
                                          "engine)")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        version = engine.engine_version()
        layout.label(text=f"Engine: image_dynamics {version}" if version else engine.ENGINE_MISSING,
                     icon="CHECKMARK" if version else "ERROR")
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
        row.label(text=f"{folder}: {format_size(folder_size(folder))}")
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


def model_folder(context: bpy.types.Context | None = None) -> str:
    prefs = get(context)
    return bpy.path.abspath(prefs.model_dir) if prefs is not None and prefs.model_dir else ""


def folder_size(folder: str) -> int:
    """Bytes in the files directly inside ``folder`` (0 when it does not exist)."""
    try:
        return sum(entry.stat().st_size for entry in os.scandir(folder) if entry.is_file())
    except OSError:
        return 0


def format_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"


def detect_devices() -> list[str]:
    """What the motion model could run on, and why a GPU would not be used (imports onnxruntime)."""
    lines = []
    if importlib.util.find_spec("onnxruntime") is None:
        lines.append("onnxruntime is not installed: the motion model cannot run (procedural motion still works)")
        return lines
    try:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
    except Exception as exc:  # noqa: BLE001 - a broken runtime is reported, not raised
        return [f"onnxruntime failed to load: {exc}"]
    lines.append(f"onnxruntime {onnxruntime.__version__}: providers {', '.join(providers)}")
    if "CUDAExecutionProvider" not in providers:
        lines.append("No GPU: this onnxruntime build has no CUDA provider (macOS, or the CPU-only package)")
    else:
        lines.append("CUDA provider listed; it is probed with a real run before use (CUDA 12 and cuDNN 9 needed)")
    return lines


class IMAGE_DYNAMICS_OT_detect_devices(bpy.types.Operator):
    """Detect which devices the motion model could use"""

    bl_idname = "image_dynamics.detect_devices"
    bl_label = "Detect Devices"

    def execute(self, context):
        _detected[:] = detect_devices()
        self.report({"INFO"}, "; ".join(_detected))
        return {"FINISHED"}


class IMAGE_DYNAMICS_OT_clear_cache(bpy.types.Operator):
    """Delete the cached motion files (they are recomputed when needed)"""

    bl_idname = "image_dynamics.clear_cache"
    bl_label = "Clear Cache"

    def execute(self, context):
        folder = Path(cache_folder(context))
        removed = 0
        if folder.is_dir():
            for path in folder.glob("*.npz"):
                try:
                    path.unlink()
                    removed += 1
                except OSError as exc:
                    self.report({"ERROR"}, f"Cannot delete {path} ({exc.strerror}); check its permissions.")
                    return {"CANCELLED"}
            if not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
        motion.clear_memory()
        self.report({"INFO"}, f"Removed {removed} cached motion file(s) from {folder}")
        return {"FINISHED"}


classes = (ImageDynamicsPreferences, IMAGE_DYNAMICS_OT_detect_devices, IMAGE_DYNAMICS_OT_clear_cache)
