"""One-click node setups that play a bake (docs/conventions.md, Displacement files; §5, Node setups).

- :func:`material_setup`: a material whose Image Texture plays the baked frame sequence (source SEQUENCE, frame
  duration, start frame, auto refresh, cyclic) on an image-sized plane, with an orthographic camera framing it.
- :func:`compositor_setup`: the compositor animates the still with the Displace node, driven by the *compositor*
  maps (the displacement carried to where each pixel lands, y up: the node computes ``out(q) = in(q - v(q))``).
  Blender 5.0+: ``scene.compositing_node_group``; 4.x: ``scene.node_tree``.
- :func:`displace_setup`: a plane whose vertices sit at pixel centres, carrying the still image, moved by a Displace
  modifier reading the *forward* maps (``a_t`` at each source pixel, R = x right, G = y up, pixels), so the picture
  travels with its vertices.

Displacement images are Non-Color float data. Each setup reads the last bake recorded on the image
(``Image.image_dynamics``) and reuses its own objects and nodes (found by name) when run again.
"""

from __future__ import annotations

import os

import bpy

from .engine import UserError
from .properties import relative_path, resolve_path

PREFIX = "ID"
#: Plane height in Blender units; the width follows the image's aspect ratio.
PLANE_HEIGHT = 2.0
CAMERA_DISTANCE = 5.0


# ----------------------------------------------------------------------------------------------------------------------
# Baked sequences


def sequence_stem(state, kind: str) -> tuple[str, str]:
    """``(stem, extension)`` of a baked sequence: kind ``'frames'``, ``'forward'`` or ``'compositor'``."""
    if kind == "frames":
        return state.bake_stem, ("exr" if state.bake_format == "exr" else "png")
    return f"{state.bake_stem}_{kind}", "exr"


def sequence_label(state, kind: str) -> str:
    """Name of the image datablock playing a baked sequence: the engine's pattern, ``stem_####.ext``."""
    from image_dynamics.io import sequence_pattern

    return sequence_pattern(*sequence_stem(state, kind))


def sequence_file(state, kind: str) -> str:
    """Absolute path of the first file (frame 0) of a baked sequence, named by the engine's rule
    (``image_dynamics.io.sequence_name``, the one the bake wrote)."""
    from image_dynamics.io import sequence_name

    stem, ext = sequence_stem(state, kind)
    return os.path.join(resolve_path(state.bake_dir), sequence_name(stem, 0, ext))


def require_bake(image: bpy.types.Image, kind: str) -> object:
    """The image's bake state if it has a bake of ``kind`` whose first file exists; else :class:`UserError`."""
    state = image.image_dynamics
    has = {"frames": bool(state.bake_format), "forward": state.bake_forward,
           "compositor": state.bake_compositor}[kind]
    what = {"frames": "an image sequence (Output: Image Sequence or Both)",
            "forward": "forward displacement maps (Output: Displacement Maps or Both, Forward ticked)",
            "compositor": "compositor displacement maps (Output: Displacement Maps or Both, Compositor ticked)"}[kind]
    if not state.bake_frames or not has:
        raise UserError(f"'{image.name}' has no bake with {what}. Bake it first (Image Dynamics > Output > Bake).")
    first = sequence_file(state, kind)
    if not os.path.isfile(first):
        raise UserError(f"The bake of '{image.name}' is missing: {first} not found (moved or deleted?). Bake again, "
                        "or move the bake folder back next to the .blend.")
    return state


def load_sequence(path: str, colorspace: str | None, name: str = "") -> bpy.types.Image:
    """The image datablock playing the sequence that starts at ``path`` (reused when already loaded); a new one is
    called ``name`` (default: the file name)."""
    stored = relative_path(path)
    for image in bpy.data.images:
        if image.source == "SEQUENCE" and os.path.normcase(resolve_path(image.filepath)) == os.path.normcase(path):
            image.reload()
            break
    else:
        image = bpy.data.images.load(path, check_existing=False)
        image.name = name or os.path.basename(path)
        image.source = "SEQUENCE"
        image.filepath = stored
    if colorspace:
        image.colorspace_settings.name = colorspace
    return image


def configure_user(user, state) -> None:
    """Make an image user (texture node, compositor node, texture) play the bake from its start frame.

    The first baked file is frame 0 of the loop and shows at scene frame ``bake_start``; a loop repeats (cyclic), a
    decaying bake holds its last frame.
    """
    user.frame_duration = state.bake_frames
    user.frame_start = state.bake_start
    user.frame_offset = 0
    user.use_cyclic = state.bake_loops
    user.use_auto_refresh = True


def frames_colorspace(image: bpy.types.Image, state) -> str | None:
    """Colour space of the baked frames: PNG keeps the still's encoding (sRGB), EXR is Blender's linear default."""
    if state.bake_format == "exr":
        return None
    return image.colorspace_settings.name if not image.is_float else "sRGB"


# ----------------------------------------------------------------------------------------------------------------------
# Objects


def plane_size(image: bpy.types.Image) -> tuple[float, float]:
    width, height = image.size
    return PLANE_HEIGHT * width / height, PLANE_HEIGHT


def grid_mesh(name: str, image: bpy.types.Image, columns: int, rows: int, at_pixel_centres: bool) -> bpy.types.Mesh:
    """A plane mesh in the XY plane, ``columns`` x ``rows`` vertices, UVs over the image (v up).

    ``at_pixel_centres``: vertices sit at the centres of a ``columns`` x ``rows`` grid of cells covering the image
    (for displacement: with one vertex per pixel each vertex reads exactly its pixel); else at the image's corners and
    evenly between them.
    """
    width, height = plane_size(image)
    verts, uvs = [], []
    for row in range(rows):  # row 0 is the top of the picture
        v = 1.0 - (row + 0.5) / rows if at_pixel_centres else 1.0 - row / (rows - 1)
        for col in range(columns):
            u = (col + 0.5) / columns if at_pixel_centres else col / (columns - 1)
            verts.append(((u - 0.5) * width, (v - 0.5) * height, 0.0))
            uvs.append((u, v))
    faces = [(r * columns + c, (r + 1) * columns + c, (r + 1) * columns + c + 1, r * columns + c + 1)
             for r in range(rows - 1) for c in range(columns - 1)]
    mesh = bpy.data.meshes.get(name) or bpy.data.meshes.new(name)
    mesh.clear_geometry()
    mesh.from_pydata(verts, [], faces)
    layer = mesh.uv_layers.new(name="UVMap")
    for loop in mesh.loops:
        layer.data[loop.index].uv = uvs[loop.vertex_index]
    mesh.update()
    return mesh


def object_with_mesh(scene: bpy.types.Scene, name: str, mesh: bpy.types.Mesh) -> bpy.types.Object:
    obj = bpy.data.objects.get(name)
    if obj is None:
        obj = bpy.data.objects.new(name, mesh)
    else:
        obj.data = mesh
    if obj.name not in scene.collection.all_objects:
        scene.collection.objects.link(obj)
    return obj


def frame_camera(scene: bpy.types.Scene, image: bpy.types.Image) -> bpy.types.Object:
    """An orthographic camera looking down at the image plane so that it fills the frame; render size = image size."""
    width, height = plane_size(image)
    name = f"{PREFIX} Camera"
    camera = bpy.data.cameras.get(name) or bpy.data.cameras.new(name)
    camera.type = "ORTHO"
    camera.ortho_scale = max(width, height)
    camera.sensor_fit = "AUTO"
    obj = bpy.data.objects.get(name)
    if obj is None:
        obj = bpy.data.objects.new(name, camera)
    if obj.name not in scene.collection.all_objects:
        scene.collection.objects.link(obj)
    obj.location = (0.0, 0.0, CAMERA_DISTANCE)
    obj.rotation_euler = (0.0, 0.0, 0.0)
    scene.camera = obj
    scene.render.resolution_x, scene.render.resolution_y = image.size
    scene.render.resolution_percentage = 100
    return obj


def emission_material(name: str, picture: bpy.types.Image, with_alpha: bool):
    """A material showing ``picture`` unlit (Emission), with transparency from its alpha when ``with_alpha``.

    Returns ``(material, image texture node)``.
    """
    material = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    if not material.node_tree:  # Blender 4.x: node trees are opt-in
        material.use_nodes = True
    tree = material.node_tree
    tree.nodes.clear()
    texture = tree.nodes.new("ShaderNodeTexImage")
    texture.name = texture.label = f"{PREFIX} Frames"
    texture.image = picture
    texture.extension = "EXTEND"
    texture.location = (-500, 0)
    emission = tree.nodes.new("ShaderNodeEmission")
    emission.location = (-200, 0)
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    output.location = (250, 0)
    tree.links.new(texture.outputs["Color"], emission.inputs["Color"])
    if with_alpha:
        transparent = tree.nodes.new("ShaderNodeBsdfTransparent")
        transparent.location = (-200, -150)
        mix = tree.nodes.new("ShaderNodeMixShader")
        mix.location = (50, 0)
        tree.links.new(texture.outputs["Alpha"], mix.inputs["Fac"])
        tree.links.new(transparent.outputs[0], mix.inputs[1])
        tree.links.new(emission.outputs[0], mix.inputs[2])
        tree.links.new(mix.outputs[0], output.inputs["Surface"])
    else:
        tree.links.new(emission.outputs[0], output.inputs["Surface"])
    tree.nodes.active = texture  # Workbench's Texture colour shows the active image texture
    return material, texture


def assign_material(obj: bpy.types.Object, material: bpy.types.Material) -> None:
    if obj.data.materials:
        obj.data.materials[0] = material
    else:
        obj.data.materials.append(material)


# ----------------------------------------------------------------------------------------------------------------------
# Setups


def material_setup(context: bpy.types.Context, image: bpy.types.Image, target: bpy.types.Object | None = None,
                   camera: bool = True) -> tuple[bpy.types.Material, bpy.types.Object]:
    """A material playing the baked frames, on ``target`` (a mesh) or on a new image-sized plane."""
    scene = context.scene
    state = require_bake(image, "frames")
    sequence = load_sequence(sequence_file(state, "frames"), frames_colorspace(image, state),
                             sequence_label(state, "frames"))
    with_alpha = image.alpha_mode != "NONE" and image.depth in (32, 128)
    material, texture = emission_material(f"{PREFIX} {image.name}", sequence, with_alpha)
    configure_user(texture.image_user, state)
    if target is None:
        mesh = grid_mesh(f"{PREFIX} {image.name} plane", image, 2, 2, at_pixel_centres=False)
        target = object_with_mesh(scene, f"{PREFIX} {image.name} plane", mesh)
        if camera:
            frame_camera(scene, image)
    elif target.type != "MESH":
        raise UserError(f"'{target.name}' is a {target.type.lower()}, not a mesh; select a mesh object, or run the "
                        "setup with nothing selected to make a plane.")
    assign_material(target, material)
    return material, target


def compositor_tree(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """The scene's compositing node tree, created if needed (5.0+: a node group; 4.x: ``scene.node_tree``)."""
    if hasattr(scene, "compositing_node_group"):
        tree = scene.compositing_node_group
        if tree is None:
            tree = bpy.data.node_groups.new(f"{PREFIX} Compositing", "CompositorNodeTree")
            scene.compositing_node_group = tree
        if not any(item.item_type == "SOCKET" and item.in_out == "OUTPUT" for item in tree.interface.items_tree):
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        return tree
    scene.use_nodes = True
    return scene.node_tree


def _node(tree: bpy.types.NodeTree, name: str, node_type: str, location: tuple[float, float]) -> bpy.types.Node:
    node = tree.nodes.get(name)
    if node is None or node.bl_idname != node_type:
        if node is not None:
            tree.nodes.remove(node)
        node = tree.nodes.new(node_type)
        node.name = node.label = name
    node.location = location
    return node


def _output_socket(tree: bpy.types.NodeTree) -> bpy.types.NodeSocket:
    """Where the compositor's result goes: the group output (5.0+) or the Composite node (4.x)."""
    if hasattr(bpy.context.scene, "compositing_node_group"):
        output = next((n for n in tree.nodes if n.bl_idname == "NodeGroupOutput"), None)
        if output is None:
            output = tree.nodes.new("NodeGroupOutput")
        output.location = (400, 0)
        return output.inputs[0]
    output = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeComposite"), None)
    if output is None:
        output = tree.nodes.new("CompositorNodeComposite")
    output.location = (400, 0)
    return output.inputs["Image"]


def _math(tree, name: str, operation: str, location, *inputs) -> bpy.types.NodeSocket:
    """A Math node ``name`` computing ``operation`` of ``inputs`` (sockets are linked, numbers set); its output."""
    node = _node(tree, name, "CompositorNodeMath", location)
    node.operation, node.use_clamp = operation, False
    for socket, value in zip(node.inputs, inputs):
        if isinstance(value, bpy.types.NodeSocket):
            tree.links.new(value, socket)
        else:
            socket.default_value = value
    return node.outputs[0]


def _bilinear_displace(tree, still, maps, width: int, height: int) -> bpy.types.NodeSocket:
    """``out(q) = in(q - v(q))`` sampled bilinearly, built from four nearest-texel Map UV reads (Blender 4.5).

    4.5's Displace and anisotropic Map UV filter every sample (EWA) with a footprint that grows wherever the map
    varies: sharp edges blur by tens of levels. Here the sample point ``s = q - v`` (Image Coordinates' pixel centres
    minus the map, both y up) is split into ``floor(s)`` and ``fract(s)``; the four surrounding texels are read with
    Map UV's Nearest filter and mixed with the fractions, which is the engine's backward warp exactly (the compositor
    maps keep ``s`` inside the picture, so no read falls outside).
    """
    coordinates = _node(tree, f"{PREFIX} Pixel Coordinates", "CompositorNodeImageCoordinates", (-200, 350))
    tree.links.new(still.outputs["Image"], coordinates.inputs["Image"])
    pixel = _node(tree, f"{PREFIX} Pixel XY", "CompositorNodeSeparateXYZ", (0, 350))
    tree.links.new(coordinates.outputs["Pixel"], pixel.inputs["Vector"])
    channels = _node(tree, f"{PREFIX} Map Channels", "CompositorNodeSeparateColor", (-200, -200))
    channels.mode = "RGB"
    tree.links.new(maps.outputs["Image"], channels.inputs["Image"])
    taps = {}
    for axis, (coordinate, offset, size) in enumerate(((pixel.outputs["X"], channels.outputs["Red"], width),
                                                        (pixel.outputs["Y"], channels.outputs["Green"], height))):
        x = 200 + 150 * axis
        sample = _math(tree, f"{PREFIX} Sample {'XY'[axis]}", "SUBTRACT", (x, 300), coordinate, offset)
        whole = _math(tree, f"{PREFIX} Floor {'XY'[axis]}", "FLOOR", (x, 200), sample)
        taps[axis, "fraction"] = _math(tree, f"{PREFIX} Fraction {'XY'[axis]}", "FRACT", (x, 100), sample)
        for step in (0, 1):  # texel centre floor(s) + step, normalised: (floor(s) + step + 0.5) / size
            taps[axis, step] = _math(tree, f"{PREFIX} Tap {'XY'[axis]}{step}", "MULTIPLY_ADD", (x, -100 * step),
                                     whole, 1.0 / size, (step + 0.5) / size)
    reads = {}
    for dy in (0, 1):
        for dx in (0, 1):
            uv = _node(tree, f"{PREFIX} Tap UV {dx}{dy}", "CompositorNodeCombineXYZ", (600, -150 * (2 * dy + dx)))
            tree.links.new(taps[0, dx], uv.inputs["X"])
            tree.links.new(taps[1, dy], uv.inputs["Y"])
            uv.inputs["Z"].default_value = 1.0  # Map UV reads z as the coverage
            read = _node(tree, f"{PREFIX} Tap {dx}{dy}", "CompositorNodeMapUV", (800, -150 * (2 * dy + dx)))
            read.filter_type = "NEAREST"
            tree.links.new(still.outputs["Image"], read.inputs["Image"])
            tree.links.new(uv.outputs["Vector"], read.inputs["UV"])
            reads[dx, dy] = read.outputs["Image"]
    rows = []
    for dy in (0, 1):
        mix = _node(tree, f"{PREFIX} Mix X{dy}", "CompositorNodeMixRGB", (1000, -200 * dy))
        mix.blend_type, mix.use_alpha, mix.use_clamp = "MIX", False, False
        tree.links.new(taps[0, "fraction"], mix.inputs["Fac"])
        tree.links.new(reads[0, dy], mix.inputs[1])
        tree.links.new(reads[1, dy], mix.inputs[2])
        rows.append(mix.outputs["Image"])
    mix = _node(tree, f"{PREFIX} Displace", "CompositorNodeMixRGB", (1200, 0))
    mix.blend_type, mix.use_alpha, mix.use_clamp = "MIX", False, False
    tree.links.new(taps[1, "fraction"], mix.inputs["Fac"])
    tree.links.new(rows[0], mix.inputs[1])
    tree.links.new(rows[1], mix.inputs[2])
    return mix.outputs["Image"]


def compositor_setup(context: bpy.types.Context, image: bpy.types.Image,
                     set_resolution: bool = True) -> bpy.types.NodeTree:
    """Still image -> displaced by the compositor maps -> output; render size set to the image size.

    The result is the engine's backward warp ``out(q) = in(q - v(q))``, bilinear, on every supported Blender:
    5.0+ uses the Displace node (a vector in pixels, edges extended); 4.5 a bilinear read built from Map UV nodes
    (:func:`_bilinear_displace`: its Displace node filters); 4.2-4.4 the Displace node with the map as its per-pixel
    X / Y Scale. The compositor maps never sample outside the picture (``render.samples_inside``), so edges are
    opaque on all of them.
    """
    scene = context.scene
    state = require_bake(image, "compositor")
    maps = load_sequence(sequence_file(state, "compositor"), "Non-Color", sequence_label(state, "compositor"))
    tree = compositor_tree(scene)
    still = _node(tree, f"{PREFIX} Still", "CompositorNodeImage", (-400, 100))
    still.image = image
    vector = _node(tree, f"{PREFIX} Compositor Maps", "CompositorNodeImage", (-400, -200))
    vector.image = maps
    configure_user(vector, state)
    if _has_input("CompositorNodeDisplace", "Displacement"):  # Blender 5.0+: a vector in pixels, with edge handling
        displace = _node(tree, f"{PREFIX} Displace", "CompositorNodeDisplace", (0, 0))
        tree.links.new(still.outputs["Image"], displace.inputs["Image"])
        tree.links.new(vector.outputs["Image"], displace.inputs["Displacement"])
        for axis in ("Extension X", "Extension Y"):
            displace.inputs[axis].default_value = "Extend"  # the engine's maps assume replicated edges
        result = displace.outputs["Image"]
    elif hasattr(bpy.types, "CompositorNodeImageCoordinates"):  # Blender 4.5
        result = _bilinear_displace(tree, still, vector, *image.size)
    else:  # Blender 4.2-4.4: the map's channels go in as the per-pixel X / Y Scale of a constant (1, 1) Vector
        # The node samples at q - Vector(q) * Scale(q), with an EWA filter sized by how the *Vector* input varies
        # between neighbouring pixels (a blur of about a pixel wherever the map is not constant); the Scale inputs
        # are read at q alone, so a constant Vector makes every sample plain bilinear, as the engine's
        # backward_warp.
        displace = _node(tree, f"{PREFIX} Displace", "CompositorNodeDisplace", (0, 0))
        tree.links.new(still.outputs["Image"], displace.inputs["Image"])
        channels = _node(tree, f"{PREFIX} Map Channels", "CompositorNodeSeparateColor", (-200, -200))
        channels.mode = "RGB"
        tree.links.new(vector.outputs["Image"], channels.inputs["Image"])
        for link in list(displace.inputs["Vector"].links):
            tree.links.remove(link)
        vector_input = displace.inputs["Vector"]
        vector_input.default_value = (1.0,) * len(vector_input.default_value)
        tree.links.new(channels.outputs["Red"], displace.inputs["X Scale"])
        tree.links.new(channels.outputs["Green"], displace.inputs["Y Scale"])
        result = displace.outputs["Image"]
    tree.links.new(result, _output_socket(tree))
    scene.render.use_compositing = True
    if scene.camera is None:  # Blender 4.x renders nothing, not even the compositor, without a camera
        frame_camera(scene, image)
    if set_resolution:
        scene.render.resolution_x, scene.render.resolution_y = image.size
        scene.render.resolution_percentage = 100
    return tree


def _has_input(node_type: str, name: str) -> bool:
    """Whether nodes of ``node_type`` have an input socket ``name`` (made and removed in a scratch node group)."""
    group = bpy.data.node_groups.new("ID probe", "CompositorNodeTree")
    try:
        return name in group.nodes.new(node_type).inputs
    finally:
        bpy.data.node_groups.remove(group)


def displace_setup(context: bpy.types.Context, image: bpy.types.Image, max_side: int = 256,
                   camera: bool = True) -> bpy.types.Object:
    """A plane carrying the still image, deformed by a Displace modifier reading the forward maps.

    The plane has one vertex per cell of a grid of at most ``max_side`` cells on the image's long side (one per
    pixel for small images), at the cell centres; the modifier's strength converts pixels to Blender units.
    """
    scene = context.scene
    state = require_bake(image, "forward")
    maps = load_sequence(sequence_file(state, "forward"), "Non-Color",
                             sequence_label(state, "forward"))
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    columns, rows = max(2, round(width * scale)), max(2, round(height * scale))
    name = f"{PREFIX} {image.name} displaced"
    mesh = grid_mesh(name, image, columns, rows, at_pixel_centres=True)
    obj = object_with_mesh(scene, name, mesh)
    material, _ = emission_material(f"{PREFIX} {image.name} still", image,
                                    image.alpha_mode != "NONE" and image.depth in (32, 128))
    assign_material(obj, material)
    texture = bpy.data.textures.get(name) or bpy.data.textures.new(name, "IMAGE")
    texture.image = maps
    texture.use_clamp = False  # displacement is signed
    texture.use_interpolation = True  # bilinear: exact at pixel centres, smooth between them
    texture.filter_size = 0.1
    texture.extension = "EXTEND"
    configure_user(texture.image_user, state)
    modifier = obj.modifiers.get("Image Dynamics") or obj.modifiers.new("Image Dynamics", "DISPLACE")
    modifier.texture = texture
    modifier.texture_coords = "UV"
    modifier.uv_layer = "UVMap"
    modifier.direction = "RGB_TO_XYZ"
    modifier.space = "LOCAL"
    modifier.mid_level = 0.0
    modifier.strength = PLANE_HEIGHT / height  # Blender units per image pixel
    if camera:
        frame_camera(scene, image)
    return obj
