"""Image Dynamics for Blender: bring a still image to life.

Predict an image's oscillating motion (procedural now, the shipped model later, or a motion file), shape it with
frequency damping, strength, decay and loop length, and bake it into image-sequence textures and displacement maps
with one-click material, compositor and Displace-modifier setups. All the maths lives in the bundled ``image_dynamics``
engine; this package is the Blender front end (sidebar tab "Image Dynamics", N panel).

Modules: ``properties`` (settings in the .blend), ``preferences``, ``operators``, ``panels``, ``scene`` (main
thread: the scene read into plain requests, jobs made, results delivered), ``work`` (worker thread: bake and save,
numpy and the engine only), ``jobs`` (worker thread, progress, cancel), ``motion`` (motion sources and cache),
``warmup`` (numba's kernels compiled at enable, in a child process), ``blender_image`` (Blender image <-> engine
array), ``setups`` (node setups), ``headless`` (``blender -c image_dynamics``), ``engine`` (the one door to the
engine, and the messages for what is missing).

Enabling never imports the engine: a Blender without its dependencies (the plain zip) still enables, draws the
panels, and every operator reports the missing module and the zip to install instead.
"""

from __future__ import annotations

import bpy

from . import (
    flow,
    forces,
    headless,
    jobs,
    motion,
    operators,
    panels,
    preferences,
    preview,
    properties,
    warmup,
    web_export,
)

#: Every class, registered in this order and unregistered in reverse (property groups before what points to them).
classes = (*properties.classes, *preferences.classes, *operators.classes, *web_export.classes, *preview.classes,
           *panels.classes, *flow.classes)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    properties.attach()
    flow.attach()
    forces.register()
    headless.register()
    preview.register()
    warmup.start(preferences.numba_cache_folder())


def unregister() -> None:
    preview.unregister()
    jobs.cancel_all()
    warmup.stop()
    headless.unregister()
    forces.unregister()
    flow.detach()
    properties.detach()
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
    motion.clear_memory()
