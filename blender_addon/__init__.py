"""Image Dynamics for Blender: bring a still image to life.

Predict an image's oscillating motion (procedural now, the shipped model later, or a motion file), shape it with
frequency damping, strength, decay and loop length, and bake it into image-sequence textures and displacement maps
with one-click material, compositor and Displace-modifier setups. All the maths lives in the bundled ``image_dynamics``
engine; this package is the Blender front end (sidebar tab "Image Dynamics", N panel).

Modules: ``properties`` (settings in the .blend), ``preferences``, ``operators``, ``panels``, ``tasks`` (predict and
bake as jobs), ``jobs`` (worker thread, progress, cancel), ``motion`` (motion sources and cache), ``blender_image``
(Blender image <-> engine array), ``setups`` (node setups), ``headless`` (``blender -c image_dynamics``).
"""

from __future__ import annotations

import bpy

from . import headless, jobs, motion, operators, panels, preferences, properties

#: Every class, registered in this order and unregistered in reverse (property groups before what points to them).
classes = (*properties.classes, *preferences.classes, *operators.classes, *panels.classes)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    properties.attach()
    headless.register()


def unregister() -> None:
    jobs.cancel_all()
    headless.unregister()
    properties.detach()
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
    motion.clear_memory()
