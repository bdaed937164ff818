"""Flow arrows, anchors and drift drawn in Blender, read into the engine's controls and baked through the same engine
path and all-or-nothing commit as every bake (``image_dynamics.controls.apply_controls``, ``image_dynamics.bake``).

What an artist draws, in the collection **"Image Dynamics Flow"**, over the image's plane:

- an **arrow**: an Empty displayed as *Single Arrow* (starts at its origin, points along its local +Z axis, as long as
  its display size times its scale), or a curve object (drawn with the Draw tool: from the first point of its first
  spline to the last). Its speed is the custom property ``image_dynamics_speed`` in image pixels per second (the
  Flow panel shows it for the active arrow); without one it moves its own length (in image pixels) per second.
- an **anchor**: an Empty of any other display type (pins motion at its origin within its display size times its
  largest scale), or a curve object whose ``image_dynamics_role`` is ``"anchor"`` (a stroke; radius
  ``image_dynamics_radius`` image pixels, default the panel's Anchor Radius).
- **annotation strokes** (Blender 4.2 ``scene.grease_pencil``; 4.5 and 5.0 ``scene.annotation``), on the frame shown
  at the scene's current frame: strokes of a layer whose name starts with "Anchor" are anchor strokes, strokes of any
  other layer are arrows from their first to their last point.

The image's plane is the object ``"ID <image> plane"`` (the material setup) or ``"ID <image> displaced"`` (the
Displace setup) when one exists, else the plane those setups make: centred at the world origin in the XY plane,
``setups.PLANE_HEIGHT`` tall. :func:`blender_to_pixels` is the one conversion from Blender's coordinates (the plane's
bottom-left corner is the picture's bottom-left, y up) to engine pixels (origin top-left, y down, pixel centres at
integers).

Reading the scene runs on the main thread (:func:`flow_request`); the result is plain data (:class:`FlowRequest`)
that a worker applies with :func:`apply` without touching ``bpy``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty, PointerProperty
from mathutils import Matrix, Vector

from .engine import UserError

COLLECTION = "Image Dynamics Flow"
SPEED_KEY = "image_dynamics_speed"
ROLE_KEY = "image_dynamics_role"
RADIUS_KEY = "image_dynamics_radius"
#: Speed given to a new arrow, image pixels per second.
DEFAULT_ARROW_SPEED = 30.0


def _poll_still_image(_self, image: bpy.types.Image) -> bool:
    return image.source in {"FILE", "GENERATED"}


class ImageDynamicsFlowSettings(bpy.types.PropertyGroup):
    """Flow and anchors of a scene (Scene.image_dynamics_flow)."""

    use_flow: BoolProperty(name="Flow", default=True,
                           description="Bake the arrows, anchors and drift of the 'Image Dynamics Flow' collection")
    flow_mask: PointerProperty(name="Flow Mask", type=bpy.types.Image, poll=_poll_still_image,
                               description="Grey image: white flows (water, clouds, smoke), black stays as it is")
    flow_feather_px: FloatProperty(name="Feather", default=4.0, min=0.0, soft_max=64.0, subtype="PIXEL",
                                   description="Softens the flow mask's edges, in image pixels")
    use_drift: BoolProperty(name="Drift", default=False,
                            description="A uniform flow inside the flow mask (the whole picture without one): clouds, "
                                        "fog")
    drift_speed: FloatProperty(name="Drift Speed", default=20.0, min=0.0, soft_max=400.0,
                               description="Drift speed in image pixels per second")
    drift_direction: FloatProperty(name="Drift Direction", default=0.0, subtype="ANGLE",
                                   description="Drift direction in the picture: 0 = right, 90 degrees = up")
    anchor_radius_px: FloatProperty(name="Anchor Radius", default=24.0, min=0.5, soft_max=400.0, subtype="PIXEL",
                                    description="Radius of anchor strokes (curves and annotations) that set none, in "
                                                "image pixels")


# ----------------------------------------------------------------------------------------------------------------------
# Coordinates


def image_plane(image: bpy.types.Image) -> tuple[Matrix, tuple[float, float]]:
    """``(world matrix, (width, height) in plane units)`` of the plane showing ``image`` (see the module notes)."""
    from .setups import PREFIX, plane_size

    size = plane_size(image)
    for name in (f"{PREFIX} {image.name} plane", f"{PREFIX} {image.name} displaced"):
        obj = bpy.data.objects.get(name)
        if obj is not None:
            return obj.matrix_world.copy(), size
    return Matrix.Identity(4), size


def blender_to_pixels(point, plane: Matrix, plane_size: tuple[float, float],
                      image_size: tuple[int, int]) -> tuple[float, float]:
    """Engine pixel ``(x, y)`` (origin top-left, x right, y down, pixel centres at integers) of a world-space point.

    The point is taken into the plane's local frame (a ``width x height`` rectangle centred at its origin in local XY,
    its bottom-left corner the picture's bottom-left, local y up) and dropped onto it; ``u, v`` in 0..1 from the
    bottom-left give ``x = u W - 0.5``, ``y = (1 - v) H - 0.5``.
    """
    local = plane.inverted_safe() @ Vector(point[:3] if len(point) >= 3 else (*point, 0.0))
    u = local.x / plane_size[0] + 0.5
    v = local.y / plane_size[1] + 0.5
    width, height = image_size
    return float(u * width - 0.5), float((1.0 - v) * height - 0.5)


def _pixels_per_unit(plane: Matrix, plane_size: tuple[float, float], image_size: tuple[int, int]) -> float:
    """Image pixels per world unit along the plane (the mean of its x and y scales)."""
    scale = plane.to_scale()
    sx = image_size[0] / (plane_size[0] * max(abs(scale.x), 1e-12))
    sy = image_size[1] / (plane_size[1] * max(abs(scale.y), 1e-12))
    return 0.5 * (sx + sy)


# ----------------------------------------------------------------------------------------------------------------------
# Reading the scene (main thread)


def _curve_points(obj: bpy.types.Object) -> list[Vector]:
    """World positions of the points of a curve object's first spline (bezier or poly/NURBS)."""
    if obj.type != "CURVE" or not obj.data.splines:
        return []
    spline = obj.data.splines[0]
    local = [p.co for p in spline.bezier_points] if spline.type == "BEZIER" else [p.co.xyz for p in spline.points]
    return [obj.matrix_world @ Vector(co[:3]) for co in local]


def _speed(obj: bpy.types.Object) -> float | None:
    value = obj.get(SPEED_KEY)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"Arrow '{obj.name}': its '{SPEED_KEY}' is {value!r}; give a number of image pixels per "
                        "second (or remove it to use the arrow's length per second).")
    return float(value)


def _annotation_layers(scene: bpy.types.Scene):
    notes = getattr(scene, "annotation", None) or getattr(scene, "grease_pencil", None)
    return [] if notes is None else list(notes.layers)


def _layer_strokes(layer, frame: int):
    """Strokes of ``layer`` shown at scene frame ``frame`` (the last key at or before it, else its first)."""
    frames = sorted(layer.frames, key=lambda f: f.frame_number)
    if not frames:
        return []
    shown = [f for f in frames if f.frame_number <= frame]
    return list((shown[-1] if shown else frames[0]).strokes)


@dataclass(frozen=True)
class FlowDrawing:
    """Arrows and anchors as the engine's JSON records (``image_dynamics.controls``), in engine pixels, plus the name
    each came from (for messages)."""

    arrows: list[dict[str, Any]] = field(default_factory=list)
    arrow_names: list[str] = field(default_factory=list)
    anchors: list[dict[str, Any]] = field(default_factory=list)
    anchor_names: list[str] = field(default_factory=list)


def read_drawing(scene: bpy.types.Scene, image: bpy.types.Image) -> FlowDrawing:
    """The arrows and anchors of the collection and the annotation strokes, converted to ``image``'s pixels."""
    settings = scene.image_dynamics_flow
    plane, size = image_plane(image)
    image_size = (int(image.size[0]), int(image.size[1]))
    per_unit = _pixels_per_unit(plane, size, image_size)
    drawing = FlowDrawing()

    def pixels(point) -> list[float]:
        return list(blender_to_pixels(point, plane, size, image_size))

    def add_arrow(name: str, start, end, speed: float | None) -> None:
        record: dict[str, Any] = {"from": pixels(start), "to": pixels(end)}
        if speed is not None:
            record["speed"] = speed
        drawing.arrows.append(record)
        drawing.arrow_names.append(name)

    def add_anchor(name: str, points, radius_px: float) -> None:
        points = [pixels(p) for p in points]
        drawing.anchors.append({"at": points[0], "radius": radius_px} if len(points) == 1 else
                               {"stroke": points, "radius": radius_px})
        drawing.anchor_names.append(name)

    collection = bpy.data.collections.get(COLLECTION)
    for obj in sorted(collection.all_objects if collection else [], key=lambda o: o.name):
        if obj.type == "EMPTY":
            world = obj.matrix_world
            length = obj.empty_display_size
            if obj.empty_display_type == "SINGLE_ARROW" and obj.get(ROLE_KEY) != "anchor":
                add_arrow(f"arrow '{obj.name}'", world.translation, world @ Vector((0.0, 0.0, length)), _speed(obj))
            else:
                radius = length * max(abs(s) for s in world.to_scale()) * per_unit
                add_anchor(f"anchor '{obj.name}'", [world.translation], radius)
        elif obj.type == "CURVE":
            points = _curve_points(obj)
            if not points:
                raise UserError(f"Curve '{obj.name}' in '{COLLECTION}' has no points; draw it again or remove it.")
            if obj.get(ROLE_KEY) == "anchor":
                add_anchor(f"anchor stroke '{obj.name}'", points,
                           float(obj.get(RADIUS_KEY, settings.anchor_radius_px)))
            else:
                add_arrow(f"arrow curve '{obj.name}'", points[0], points[-1], _speed(obj))
    for layer in _annotation_layers(scene):
        anchor_layer = layer.info.lower().startswith("anchor")
        for index, stroke in enumerate(_layer_strokes(layer, scene.frame_current)):
            points = [Vector(p.co) for p in stroke.points]
            if not points:
                continue
            name = f"annotation stroke {index} of layer '{layer.info}'"
            if anchor_layer:
                add_anchor(name, points, float(settings.anchor_radius_px))
            elif len(points) >= 2:
                add_arrow(name, points[0], points[-1], None)
    return drawing


@dataclass(frozen=True, eq=False)
class FlowRequest:
    """What a bake needs of the flow and anchors, as plain data (engine pixels; see :func:`flow_request`)."""

    image_size: tuple[int, int]
    arrows: tuple[Any, ...] = ()  # image_dynamics.controls.Arrow
    anchors: tuple[Any, ...] = ()  # image_dynamics.controls.Anchor
    drift: tuple[float, float] | None = None
    flow_mask: np.ndarray | None = None  # float32 [H, W] in 0..1, top-down
    flow_feather_px: float = 0.0

    @property
    def has_flow(self) -> bool:
        return bool(self.arrows) or self.drift is not None


def _validated(records: list[dict[str, Any]], names: list[str], parse, image_size: tuple[int, int]) -> tuple:
    """Each record through the engine's reader (``controls.parse_arrows`` / ``parse_anchors``), errors naming the
    object or stroke."""
    from image_dynamics.errors import InputError

    out = []
    for record, name in zip(records, names, strict=True):
        try:
            out += parse([record], image_size, source=name)
        except InputError as exc:
            raise UserError(f"Image Dynamics Flow: {exc}".replace(f"{name}: arrow 0", name)
                            .replace(f"{name}: anchor 0", name)) from None
    return tuple(out)


def flow_request(scene: bpy.types.Scene, image: bpy.types.Image,
                 displacement: tuple[str, ...] = ()) -> FlowRequest | None:
    """Read and check the scene's flow drawing for a bake of ``image``; ``None`` when there is none (or Flow is off).

    :class:`UserError` names the object or stroke at fault (an arrow off the picture, a zero-length arrow, a negative
    speed, ...), a flow mask of another aspect ratio, or displacement maps asked for together with a flow.
    """
    from image_dynamics import controls

    from . import blender_image

    settings = scene.image_dynamics_flow
    if not settings.use_flow:
        return None
    image_size = (int(image.size[0]), int(image.size[1]))
    drawing = read_drawing(scene, image)
    arrows = _validated(drawing.arrows, drawing.arrow_names, controls.parse_arrows, image_size)
    anchors = _validated(drawing.anchors, drawing.anchor_names, controls.parse_anchors, image_size)
    drift = None
    if settings.use_drift:
        angle = float(settings.drift_direction)
        drift = (float(settings.drift_speed) * math.cos(angle), -float(settings.drift_speed) * math.sin(angle))
    mask = None
    if settings.flow_mask is not None:
        try:
            mask = blender_image.mask_values(blender_image.check_still(settings.flow_mask))
        except UserError as exc:
            raise UserError(f"Flow Mask: {exc}") from None
        aspect, mask_aspect = image_size[0] / image_size[1], mask.shape[1] / mask.shape[0]
        if abs(mask_aspect / aspect - 1) > 0.02:
            raise UserError(f"Flow Mask '{settings.flow_mask.name}' is {mask.shape[1]}x{mask.shape[0]} but the image "
                            f"is {image_size[0]}x{image_size[1]}; use a mask of the image's aspect ratio.")
    request = FlowRequest(image_size, arrows, anchors, drift, mask, float(settings.flow_feather_px))
    if not (request.has_flow or anchors):
        if mask is not None:
            raise UserError("A Flow Mask is set but nothing flows: add arrows to the 'Image Dynamics Flow' collection "
                            "or tick Drift (or clear the Flow Mask).")
        return None
    if request.has_flow and displacement:
        raise UserError("Displacement maps cannot be baked with a flow (each flow frame blends two warps, which no "
                        "single map reproduces). Set Output to Image Sequence, or untick Flow.")
    return request


def apply(request: FlowRequest | None, volume, image_size: tuple[int, int]):
    """The motion with the request's flow and anchors (worker thread: engine only, no ``bpy``)."""
    if request is None:
        return volume
    from image_dynamics import controls

    return controls.apply_controls(volume, image_size, arrows=request.arrows, drift=request.drift,
                                   flow_mask=request.flow_mask, flow_feather_px=request.flow_feather_px,
                                   anchors=request.anchors)


def bake_flow_mask(request: FlowRequest | None) -> tuple[np.ndarray | None, float]:
    """``(flow_mask, feather)`` for ``image_dynamics.bake.bake``."""
    if request is None or not request.has_flow:
        return None, 0.0
    return request.flow_mask, request.flow_feather_px


# ----------------------------------------------------------------------------------------------------------------------
# Operators and panel


def flow_collection(scene: bpy.types.Scene) -> bpy.types.Collection:
    """The "Image Dynamics Flow" collection, made and linked to the scene when missing."""
    collection = bpy.data.collections.get(COLLECTION)
    if collection is None:
        collection = bpy.data.collections.new(COLLECTION)
    if collection.name not in scene.collection.children:
        scene.collection.children.link(collection)
    return collection


class IMAGE_DYNAMICS_OT_add_flow_arrow(bpy.types.Operator):
    """Add a flow arrow (a Single Arrow Empty lying on the image plane, pointing right) at the 3D cursor"""

    bl_idname = "image_dynamics.add_flow_arrow"
    bl_label = "Add Flow Arrow"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        obj = bpy.data.objects.new("Flow Arrow", None)
        obj.empty_display_type = "SINGLE_ARROW"
        obj.empty_display_size = 0.5
        obj.location = context.scene.cursor.location
        obj.rotation_euler = (0.0, math.pi / 2, 0.0)  # local +Z along world +X: pointing right on the plane
        obj[SPEED_KEY] = DEFAULT_ARROW_SPEED
        flow_collection(context.scene).objects.link(obj)
        return {"FINISHED"}


class IMAGE_DYNAMICS_OT_add_flow_anchor(bpy.types.Operator):
    """Add an anchor (a Sphere Empty: motion is pinned at its centre, within its size) at the 3D cursor"""

    bl_idname = "image_dynamics.add_flow_anchor"
    bl_label = "Add Anchor"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        obj = bpy.data.objects.new("Flow Anchor", None)
        obj.empty_display_type = "SPHERE"
        obj.empty_display_size = 0.2
        obj.location = context.scene.cursor.location
        flow_collection(context.scene).objects.link(obj)
        return {"FINISHED"}


class FlowPanel:
    bl_label = "Flow"
    bl_options = {"DEFAULT_CLOSED"}

    def draw_header(self, context):
        self.layout.prop(context.scene.image_dynamics_flow, "use_flow", text="")

    def draw(self, context):
        layout = self.layout
        settings = context.scene.image_dynamics_flow
        layout.active = settings.use_flow
        collection = bpy.data.collections.get(COLLECTION)
        objects = list(collection.all_objects) if collection else []
        arrows = sum(1 for o in objects if (o.type == "EMPTY" and o.empty_display_type == "SINGLE_ARROW"
                                            and o.get(ROLE_KEY) != "anchor")
                     or (o.type == "CURVE" and o.get(ROLE_KEY) != "anchor"))
        layout.label(text=f"{arrows} arrow(s), {len(objects) - arrows} anchor(s) in '{COLLECTION}'")
        row = layout.row(align=True)
        row.operator("image_dynamics.add_flow_arrow", icon="EMPTY_SINGLE_ARROW")
        row.operator("image_dynamics.add_flow_anchor", icon="PINNED")
        active = context.active_object
        if active is not None and active in objects and SPEED_KEY in active:
            layout.prop(active, f'["{SPEED_KEY}"]', text=f"{active.name} Speed (px/s)")
        layout.template_ID(settings, "flow_mask", open="image.open")
        layout.prop(settings, "flow_feather_px")
        layout.prop(settings, "use_drift")
        col = layout.column(align=True)
        col.active = settings.use_drift
        col.prop(settings, "drift_speed")
        col.prop(settings, "drift_direction")
        layout.prop(settings, "anchor_radius_px")


def _panels() -> tuple[type, ...]:
    from .panels import SPACES, _make_panel

    return tuple(_make_panel(space, suffix, extra_poll, "flow", FlowPanel, "motion")
                 for space, suffix, extra_poll in SPACES)


#: Register after ``properties.classes`` and the main panels (the Flow panel is a child of Motion).
classes = (ImageDynamicsFlowSettings, IMAGE_DYNAMICS_OT_add_flow_arrow, IMAGE_DYNAMICS_OT_add_flow_anchor,
           *_panels())


def attach() -> None:
    """Add ``Scene.image_dynamics_flow`` (after :data:`classes` are registered)."""
    bpy.types.Scene.image_dynamics_flow = PointerProperty(type=ImageDynamicsFlowSettings)


def detach() -> None:
    """Remove what :func:`attach` added (before :data:`classes` are unregistered)."""
    if hasattr(bpy.types.Scene, "image_dynamics_flow"):
        del bpy.types.Scene.image_dynamics_flow
