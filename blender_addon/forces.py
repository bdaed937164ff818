"""Forces: poke the picture with keyframed Empties and push it with Wind force fields (the engine's modal dynamics).

- An **impulse** is an Empty in the collection "Image Dynamics Forces" with the custom properties *Impulse (px)* and
  *Radius (px)* (both animatable). At every baked frame where *Impulse (px)* is not 0 the picture gets a poke of that
  many pixels at the Empty's location projected onto the image plane, along the Empty's local X axis projected onto the
  plane (``image_dynamics.modal``: as the damping goes to 0, the poked pixel swings out about that many pixels).
  Keyframe it to 0 on the frames around a poke (constant keys give a poke on every frame).
- **Wind** force fields push the whole picture with their (animated) *Strength* times *Wind Scale* (pixels per unit of
  strength) along their Z axis projected onto the plane: a wind straight into the picture pushes nothing. A field with
  *Max Distance* on pushes only while the plane's centre is within it; the falloff shape is not modelled (uniform over
  the picture). A push of F px held leans the picture's main motion by F px.
- The **image plane** is the one the add-on's setups made for the image (``ID <image> plane`` of the Material setup,
  else ``ID <image> displaced`` of the Displace setup); without one, the plane those setups would make: centred at the
  world origin, facing +Z, 2 units high (:func:`setups.plane_size`).

With *Use Forces* on, a bake evaluates the forces at every frame of the scene range (:func:`request`, on the main
thread, by ``scene.frame_set``; the current frame is restored) and renders the response instead of the loop, through
the same bake path and files as any bake (:meth:`ForcesRequest.render_plan`, called by ``work.run_bake``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import bpy
from bpy.props import BoolProperty, FloatProperty, PointerProperty
from mathutils import Matrix, Vector

from .engine import UserError

COLLECTION = "Image Dynamics Forces"
IMPULSE = "Impulse (px)"
RADIUS = "Radius (px)"
CATEGORY = "Image Dynamics"
SPACES = ("IMAGE_EDITOR", "VIEW_3D")
#: A projected direction shorter than this (an axis pointing straight at the picture) has no direction in the image.
MIN_PROJECTION = 1e-6


class ImageDynamicsForces(bpy.types.PropertyGroup):
    """``Scene.image_dynamics_forces``: whether a bake follows the forces, and their scales."""

    use_forces: BoolProperty(
        name="Use Forces", default=False,
        description="Bake the picture's response to the impulse Empties and Wind fields (rest, swing, settle) "
                    "instead of the loop")
    wind_scale: FloatProperty(
        name="Wind Scale (px per unit)", default=1.0, min=0.0, soft_max=100.0,
        description="Pixels of push per unit of a Wind field's Strength")
    damping_ratio: FloatProperty(
        name="Damping Ratio", default=0.05, min=0.001, max=0.999, soft_max=0.5, precision=3,
        description="How fast every mode settles: 0.05 rings for about 15 periods, 0.3 settles in one or two")


# ----------------------------------------------------------------------------------------------------------------------
# The image plane


@dataclass(frozen=True)
class ImagePlane:
    """Where the picture is in the world: its object matrix and size (Blender units), and the image size (pixels)."""

    matrix: Matrix
    size: tuple[float, float]
    pixels: tuple[int, int]

    def point(self, location: Vector) -> tuple[float, float]:
        """Image pixel coordinates ``(x right, y down)`` of a world point projected onto the plane (pixel centres at
        integers: the plane's corners are at ``-0.5`` and ``W - 0.5``)."""
        local = self.matrix.inverted_safe() @ Vector(location)
        (width, height), (columns, rows) = self.size, self.pixels
        return (local.x / width + 0.5) * columns - 0.5, (0.5 - local.y / height) * rows - 0.5

    def direction(self, vector: Vector) -> tuple[float, float]:
        """A world vector projected onto the plane, in image axes (x right, y down), per unit of its length."""
        axes = self.matrix.to_3x3()
        along_x, along_y = axes.col[0].normalized(), axes.col[1].normalized()
        return float(Vector(vector).dot(along_x)), -float(Vector(vector).dot(along_y))


def image_plane(image: bpy.types.Image) -> ImagePlane:
    """The plane of the add-on's setups for ``image`` (see the module notes)."""
    from .setups import PREFIX, plane_size

    for name in (f"{PREFIX} {image.name} plane", f"{PREFIX} {image.name} displaced"):
        obj = bpy.data.objects.get(name)
        if obj is not None:
            return ImagePlane(obj.matrix_world.copy(), plane_size(image), tuple(image.size))
    return ImagePlane(Matrix.Identity(4), plane_size(image), tuple(image.size))


# ----------------------------------------------------------------------------------------------------------------------
# Force objects


def forces_collection(scene: bpy.types.Scene) -> bpy.types.Collection:
    """The "Image Dynamics Forces" collection, made and linked to the scene if missing."""
    collection = bpy.data.collections.get(COLLECTION)
    if collection is None:
        collection = bpy.data.collections.new(COLLECTION)
    if collection.name not in scene.collection.children.keys():
        scene.collection.children.link(collection)
    return collection


def add_impulse(scene: bpy.types.Scene, location=(0.0, 0.0, 0.0), impulse: float = 0.0,
                radius: float = 0.0) -> bpy.types.Object:
    """A new impulse Empty (arrows; its X axis is the push direction) with animatable *Impulse (px)* and *Radius
    (px)*, in the forces collection."""
    empty = bpy.data.objects.new("Impulse", None)
    empty.empty_display_type = "ARROWS"
    empty.empty_display_size = 0.3
    empty.location = location
    forces_collection(scene).objects.link(empty)
    empty[IMPULSE] = float(impulse)
    empty.id_properties_ui(IMPULSE).update(
        description="Poke in image pixels along the Empty's X axis at every frame where this is not 0 (keyframe it)",
        soft_min=-100.0, soft_max=100.0)
    empty[RADIUS] = float(radius)
    empty.id_properties_ui(RADIUS).update(description="Soft-poke radius in image pixels (0: the point itself)",
                                          min=0.0, soft_max=200.0)
    return empty


def impulse_objects(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    collection = bpy.data.collections.get(COLLECTION)
    if collection is None or collection not in scene.collection.children_recursive:
        return []
    return sorted((obj for obj in collection.all_objects if obj.type == "EMPTY" and IMPULSE in obj.keys()),
                  key=lambda obj: obj.name)


def wind_objects(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    return sorted((obj for obj in scene.objects if obj.field is not None and obj.field.type == "WIND"),
                  key=lambda obj: obj.name)


def _wind_reaches(obj: bpy.types.Object, plane: ImagePlane) -> bool:
    field = obj.field
    if not field.use_max_distance:
        return True
    return (obj.matrix_world.translation - plane.matrix.translation).length <= field.distance_max


# ----------------------------------------------------------------------------------------------------------------------
# The request a bake carries


@dataclass(frozen=True)
class ForcesRequest:
    """The forces of a bake as plain engine data (copied out of Blender on the main thread).

    Attributes:
        forces: ``image_dynamics.modal.Force`` tuple, image pixels and seconds from the first baked frame.
        damping_ratio: zeta of every mode.
        width, height: the image size in pixels.
    """

    forces: tuple
    damping_ratio: float
    width: int
    height: int

    def render_plan(self, volume, settings, mask=None):
        """The response's plan over the bake's frames (``settings.frames``): loop options are dropped (a response
        does not loop); strength, band gains, cuts and the mask shape it as they shape a loop."""
        from image_dynamics.modal import modal_plan

        settings = replace(settings, loop_frames=None, time_stretch=False, decay_s=None, slow_motion=1.0)
        return modal_plan(volume, self.forces, self.width, self.height, settings, mask=mask,
                          damping_ratio=self.damping_ratio)


def sample(scene: bpy.types.Scene, image: bpy.types.Image, frames: int) -> tuple[list, list]:
    """Evaluate the scene at frames ``frame_start + i`` (``i < frames``): ``(impulses, wind)``.

    ``impulses``: ``(i, name, (x, y), (fx, fy), radius)`` for every Empty and frame with a non-zero impulse;
    ``wind``: float64-able ``[frames][2]`` summed wind push in pixels (x right, y down) per frame. The scene's current
    frame is restored afterwards.
    """
    settings = scene.image_dynamics_forces
    impulses_at, winds = impulse_objects(scene), wind_objects(scene)
    current = scene.frame_current, scene.frame_subframe
    impulses, wind = [], []
    try:
        for i in range(frames):
            scene.frame_set(scene.frame_start + i)
            plane = image_plane(image)
            for obj in impulses_at:
                size = float(obj[IMPULSE])
                if size == 0:
                    continue
                if not math.isfinite(size):
                    raise UserError(f"Impulse '{obj.name}' is {size} at frame {scene.frame_current}; give a number.")
                dx, dy = plane.direction(obj.matrix_world.to_3x3().col[0])
                length = math.hypot(dx, dy)
                if length < MIN_PROJECTION:
                    raise UserError(f"Impulse '{obj.name}' points straight at the picture at frame "
                                    f"{scene.frame_current}: its X axis has no direction in the image plane. Rotate it "
                                    "so its X arrow lies along the picture.")
                radius = float(obj.get(RADIUS, 0.0))
                impulses.append((i, obj.name, plane.point(obj.matrix_world.translation),
                                 (size * dx / length, size * dy / length), radius))
            push = [0.0, 0.0]
            for obj in winds:
                if obj.hide_render or not _wind_reaches(obj, plane):
                    continue
                dx, dy = plane.direction(obj.matrix_world.to_3x3().col[2].normalized())
                strength = float(obj.field.strength) * float(settings.wind_scale)
                push[0] += strength * dx
                push[1] += strength * dy
            wind.append(push)
    finally:
        scene.frame_set(current[0], subframe=current[1])
    return impulses, wind


def request(scene: bpy.types.Scene, image: bpy.types.Image, frames: int, fps: float) -> ForcesRequest | None:
    """The forces of a bake of ``frames`` frames at ``fps``, or ``None`` when *Use Forces* is off.

    :class:`UserError` names the Empty and frame of a poke outside the picture or after the last frame.
    """
    settings = getattr(scene, "image_dynamics_forces", None)  # None: the forces classes are not registered
    if settings is None or not settings.use_forces:
        return None
    from image_dynamics.errors import InputError
    from image_dynamics.modal import make_force

    width, height = image.size
    impulses, wind = sample(scene, image, frames)
    if not impulses and not any(any(push) for push in wind):
        raise UserError("Use Forces is on but nothing pushes the picture: add an impulse Empty (Image Dynamics > "
                        f"Forces > Add Impulse) and keyframe its {IMPULSE}, or a Wind force field with Strength, or "
                        "untick Use Forces.")
    forces = []
    last = (frames - 1) / fps
    for i, name, (x, y), force, radius in impulses:
        frame = scene.frame_start + i
        if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
            raise UserError(f"Impulse '{name}' at frame {frame} is outside the picture (pixel {x:.1f}, {y:.1f} of "
                            f"{width}x{height}); move it over the image plane.")
        if i / fps >= last:
            raise UserError(f"Impulse '{name}' pokes at frame {frame}, the last baked frame, so it would not be seen; "
                            "key it earlier or extend the frame range.")
        try:
            forces.append(make_force(force, (x, y), i / fps, 0.0, radius, where=f"Impulse '{name}' at frame {frame}"))
        except InputError as exc:
            raise UserError(str(exc)) from None
    if frames > 1 and any(any(push) for push in wind):
        times = [i / fps for i in range(frames)]
        for axis, unit in ((0, (1.0, 0.0)), (1, (0.0, 1.0))):
            curve = [(t, push[axis]) for t, push in zip(times, wind)]
            if any(gain for _, gain in curve):
                forces.append(make_force(unit, None, 0.0, last, 0.0, curve, where="Wind"))
    return ForcesRequest(tuple(forces), float(settings.damping_ratio), int(width), int(height))


# ----------------------------------------------------------------------------------------------------------------------
# Operator and panel


class IMAGE_DYNAMICS_OT_add_impulse(bpy.types.Operator):
    """Add an impulse Empty at the 3D cursor: key its Impulse (px) to poke the picture along its X arrow"""

    bl_idname = "image_dynamics.add_impulse"
    bl_label = "Add Impulse"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        empty = add_impulse(context.scene, context.scene.cursor.location.copy())
        for obj in context.view_layer.objects:
            obj.select_set(False)
        empty.select_set(True)
        context.view_layer.objects.active = empty
        self.report({"INFO"}, f"Added '{empty.name}' to '{COLLECTION}': keyframe its {IMPULSE} to poke")
        return {"FINISHED"}


class ForcesPanel:
    bl_label = "Forces"
    bl_options = {"DEFAULT_CLOSED"}

    def draw_header(self, context):
        self.layout.prop(context.scene.image_dynamics_forces, "use_forces", text="")

    def draw(self, context):
        layout = self.layout
        settings = context.scene.image_dynamics_forces
        layout.active = settings.use_forces
        layout.prop(settings, "damping_ratio")
        layout.prop(settings, "wind_scale")
        layout.operator("image_dynamics.add_impulse", icon="EMPTY_ARROWS")
        impulses, winds = impulse_objects(context.scene), wind_objects(context.scene)
        for obj in impulses:
            row = layout.row(align=True)
            row.label(text=obj.name, icon="EMPTY_ARROWS")
            row.prop(obj, f'["{IMPULSE}"]', text="px")
            row.prop(obj, f'["{RADIUS}"]', text="r")
        for obj in winds:
            row = layout.row(align=True)
            row.label(text=obj.name, icon="FORCE_WIND")
            row.prop(obj.field, "strength", text="")
        if not impulses and not winds:
            layout.label(text="No impulse Empties or Wind fields yet", icon="INFO")


def _panel(space: str) -> type:
    suffix = space.lower()
    return type(f"IMAGE_DYNAMICS_PT_forces_{suffix}", (ForcesPanel, bpy.types.Panel),
                {"bl_idname": f"IMAGE_DYNAMICS_PT_forces_{suffix}", "bl_space_type": space, "bl_region_type": "UI",
                 "bl_category": CATEGORY, "__doc__": ForcesPanel.bl_label})


classes = (ImageDynamicsForces, IMAGE_DYNAMICS_OT_add_impulse, *(_panel(space) for space in SPACES))


def register() -> None:
    """Register the classes and add ``Scene.image_dynamics_forces`` (call after the add-on's own classes)."""
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.image_dynamics_forces = PointerProperty(type=ImageDynamicsForces)


def unregister() -> None:
    if hasattr(bpy.types.Scene, "image_dynamics_forces"):
        del bpy.types.Scene.image_dynamics_forces
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
