"""Builds and renders a :class:`~.scene.SceneSpec` in Blender (Cycles, CPU). Imports :mod:`bpy`: only the worker
processes of ``data render`` (and the tests that render) import this module.

Every material writes the AOVs that :mod:`.truth` reads: with ``m = 1`` on moving objects (``pass_index`` = part id
> 0) the pixel means of ``m``, ``m P``, ``m P*P``, ``m (Px Py, Py Pz, Pz Px)``, ``m id`` and ``m id^2``, where ``P`` is
the mesh attribute ``rest`` (the vertex rest positions, interpolated across each triangle exactly as the renderer
interpolates the deformed vertices). Textures are looked up at ``rest`` too, so surface detail (foam, ripples, veins,
bark) moves with the surface.

The world: camera and glossy rays see Blender's sky texture (so the visible sky and its reflections agree); diffuse
rays see a mix of the sky and one of the HDRIs shipped inside the ``bpy`` wheel, rotated: the HDRIs light the scene
but the camera never sees them. A sun lamp matches the sky's sun.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import bpy
import numpy as np

from .scene import SceneObject, SceneSpec
from .truth import PASS_NAMES

_AOVS = {"mov": "VALUE", "rest": "COLOR", "rest_sq": "COLOR", "rest_x": "COLOR", "part": "VALUE", "part_sq": "VALUE"}
assert tuple(_AOVS) == PASS_NAMES


def hdri_path(name: str) -> Path:
    """Path of an HDRI bundled with the bpy wheel (``datafiles/studiolights/world/<name>.exr``)."""
    return Path(bpy.utils.system_resource("DATAFILES", path="studiolights/world")) / f"{name}.exr"


def reset(width: int, height: int, samples: int, denoise: bool = True, threads: int = 1) -> bpy.types.Scene:
    """An empty scene with Cycles on the CPU at ``width x height`` (``threads`` render threads, 0: all cores) and
    the AOVs of :data:`truth.PASS_NAMES`."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    import addon_utils  # importable once bpy is

    addon_utils.enable("cycles", default_set=True)
    sc = bpy.context.scene
    sc.render.engine = "CYCLES"
    sc.cycles.device = "CPU"
    sc.cycles.samples = samples
    sc.cycles.use_adaptive_sampling = False
    sc.cycles.seed = 0
    sc.cycles.use_denoising = denoise
    sc.cycles.max_bounces, sc.cycles.diffuse_bounces, sc.cycles.glossy_bounces = 4, 2, 2
    sc.cycles.transmission_bounces, sc.cycles.transparent_max_bounces = 2, 4
    sc.cycles.caustics_reflective = sc.cycles.caustics_refractive = False
    if int(threads) > 0:
        sc.render.threads_mode = "FIXED"
        sc.render.threads = int(threads)
    else:  # 0: as many as the machine has
        sc.render.threads_mode = "AUTO"
    sc.render.resolution_x, sc.render.resolution_y, sc.render.resolution_percentage = width, height, 100
    sc.render.use_persistent_data = False
    vl = sc.view_layers[0]
    for name, kind in _AOVS.items():
        aov = vl.aovs.add()
        aov.name, aov.type = name, kind
    return sc


def _mesh(obj: SceneObject, positions: np.ndarray) -> bpy.types.Mesh:
    me = bpy.data.meshes.new(obj.name)
    n, f = positions.shape[0], obj.faces.shape[0]
    me.vertices.add(n)
    me.vertices.foreach_set("co", positions.astype(np.float32).ravel())
    me.loops.add(3 * f)
    me.loops.foreach_set("vertex_index", obj.faces.astype(np.int32).ravel())
    me.polygons.add(f)
    me.polygons.foreach_set("loop_start", np.arange(0, 3 * f, 3, dtype=np.int32))
    me.polygons.foreach_set("loop_total", np.full(f, 3, np.int32))
    rest = me.attributes.new("rest", "FLOAT_VECTOR", "POINT")
    rest.data.foreach_set("vector", obj.verts.astype(np.float32).ravel())
    me.update(calc_edges=True)
    me.validate(clean_customdata=False)
    if obj.smooth:
        me.shade_smooth()
    return me


def build(spec: SceneSpec, time: float = 0.0, threads: int = 1, denoise: bool = True,
          samples: int | None = None, flat: bool = False) -> bpy.types.Scene:
    """Build ``spec`` with every moving object deformed to frame ``time``. ``flat`` replaces every material by an
    emission of its texture colour (deterministic shading for tests) and turns the world black."""
    cam = spec.camera
    sc = reset(cam.width, cam.height, spec.samples if samples is None else samples, denoise, threads)
    materials: dict[int, bpy.types.Material] = {}
    for i, obj in enumerate(spec.objects):
        positions = obj.verts if obj.motion is None else obj.motion.positions(obj.verts, time)
        ob = bpy.data.objects.new(f"{obj.name}_{i}", _mesh(obj, positions))
        ob.pass_index = obj.part
        key = id(obj.material)
        if key not in materials:
            materials[key] = _material(obj.material, flat)
        ob.data.materials.append(materials[key])
        sc.collection.objects.link(ob)
    _camera(sc, spec)
    _world(sc, spec.world, flat)
    if flat:
        sc.view_settings.view_transform = "Standard"
        sc.view_settings.look = "None"
    else:
        sc.view_settings.view_transform = "AgX"
        look = spec.world.get("look", "None")
        sc.view_settings.look = "None" if look == "None" else f"AgX - {look}"
        sc.view_settings.exposure = spec.world.get("exposure", 0.0)
    return sc


def _camera(sc, spec: SceneSpec) -> None:
    import mathutils

    cam = spec.camera
    data = bpy.data.cameras.new("camera")
    data.lens, data.sensor_width, data.sensor_fit = cam.lens_mm, cam.sensor_mm, "HORIZONTAL"
    data.clip_start, data.clip_end = 0.02, 20000.0
    if cam.fstop > 0:
        data.dof.use_dof = True
        data.dof.focus_distance = cam.focus_m
        data.dof.aperture_fstop = cam.fstop
    ob = bpy.data.objects.new("camera", data)
    ob.matrix_world = mathutils.Matrix(np.asarray(cam.matrix).tolist())
    sc.collection.objects.link(ob)
    sc.camera = ob


def _world(sc, w: dict, flat: bool) -> None:
    world = bpy.data.worlds.new("world")
    sc.world = world
    nt = world.node_tree
    nodes, links = nt.nodes, nt.links
    for n in list(nodes):
        nodes.remove(n)
    out = nodes.new("ShaderNodeOutputWorld")
    bg = nodes.new("ShaderNodeBackground")
    links.new(bg.outputs[0], out.inputs[0])
    if flat:
        bg.inputs["Color"].default_value = (0, 0, 0, 1)
        return
    sky = nodes.new("ShaderNodeTexSky")
    sky.sky_type = "MULTIPLE_SCATTERING" if "MULTIPLE_SCATTERING" in _enum(sky, "sky_type") else "NISHITA"
    sky.sun_elevation = math.radians(w["sun_elevation_deg"])
    sky.sun_rotation = math.radians(w["sun_azimuth_deg"])
    sky.sun_disc = True
    sky.sun_size = math.radians(w["sun_size_deg"])
    for attr, key in (("air_density", "air"), ("aerosol_density", "aerosol"), ("dust_density", "aerosol"),
                      ("ozone_density", "ozone")):
        if hasattr(sky, attr):
            setattr(sky, attr, w[key])
    sky_scale = nodes.new("ShaderNodeMixRGB")  # sky * strength
    sky_scale.blend_type = "MULTIPLY"
    sky_scale.inputs[0].default_value = 1.0
    links.new(sky.outputs["Color"], sky_scale.inputs[1])
    s = w["sky_strength"]
    sky_scale.inputs[2].default_value = (s, s, s, 1)
    env = nodes.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.load(str(hdri_path(w["hdri"])), check_existing=True)
    mapping = nodes.new("ShaderNodeMapping")
    coord = nodes.new("ShaderNodeTexCoord")
    mapping.inputs["Rotation"].default_value = (0, 0, math.radians(w["hdri_rotation_deg"]))
    links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    env_scale = nodes.new("ShaderNodeMixRGB")
    env_scale.blend_type = "MULTIPLY"
    env_scale.inputs[0].default_value = 1.0
    links.new(env.outputs["Color"], env_scale.inputs[1])
    e = w["hdri_strength"]
    env_scale.inputs[2].default_value = (e, e, e, 1)
    light_mix = nodes.new("ShaderNodeMixRGB")
    light_mix.inputs[0].default_value = w["hdri_mix"]
    links.new(sky_scale.outputs[0], light_mix.inputs[1])
    links.new(env_scale.outputs[0], light_mix.inputs[2])
    path = nodes.new("ShaderNodeLightPath")
    seen = nodes.new("ShaderNodeMath")  # camera or glossy ray: show the sky texture only
    seen.operation = "MAXIMUM"
    links.new(path.outputs["Is Camera Ray"], seen.inputs[0])
    links.new(path.outputs["Is Glossy Ray"], seen.inputs[1])
    pick = nodes.new("ShaderNodeMixRGB")
    links.new(seen.outputs[0], pick.inputs[0])
    links.new(light_mix.outputs[0], pick.inputs[1])
    links.new(sky_scale.outputs[0], pick.inputs[2])
    links.new(pick.outputs[0], bg.inputs["Color"])
    sun = bpy.data.lights.new("sun", "SUN")
    sun.energy = w["sun_strength"]
    sun.angle = math.radians(w["sun_size_deg"])
    el, az = math.radians(w["sun_elevation_deg"]), math.radians(w["sun_azimuth_deg"])
    warm = max(0.0, 1.0 - w["sun_elevation_deg"] / 25.0)
    sun.color = (1.0, 1.0 - 0.25 * warm, 1.0 - 0.55 * warm)
    ob = bpy.data.objects.new("sun", sun)
    # the sky texture's sun lies along (sin rot cos el, cos rot cos el, sin el) (measured: a camera looking there sees
    # the sun disc at the image centre); the lamp shines from there
    direction = (math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el))
    import mathutils
    ob.rotation_euler = mathutils.Vector(direction).to_track_quat("Z", "Y").to_euler()
    sc.collection.objects.link(ob)


def _enum(node, prop: str) -> list[str]:
    return [e.identifier for e in node.bl_rna.properties[prop].enum_items]


# -- materials ---------------------------------------------------------------------------------------------------

def _aov_outputs(nt, rest_socket) -> None:
    """The AOV outputs of :mod:`.truth` from the ``rest`` attribute and the object's pass index."""
    nodes, links = nt.nodes, nt.links
    info = nodes.new("ShaderNodeObjectInfo")
    moving = nodes.new("ShaderNodeMath")
    moving.operation = "GREATER_THAN"
    moving.inputs[1].default_value = 0.5
    links.new(info.outputs["Object Index"], moving.inputs[0])
    sep = nodes.new("ShaderNodeSeparateXYZ")
    links.new(rest_socket, sep.inputs[0])

    def scaled(socket_vec):
        node = nodes.new("ShaderNodeVectorMath")
        node.operation = "SCALE"
        links.new(socket_vec, node.inputs[0])
        links.new(moving.outputs[0], node.inputs["Scale"])
        return node.outputs[0]

    def product(a, b):
        node = nodes.new("ShaderNodeMath")
        node.operation = "MULTIPLY"
        links.new(a, node.inputs[0])
        links.new(b, node.inputs[1])
        return node.outputs[0]

    def aov(name, socket, colour):
        node = nodes.new("ShaderNodeOutputAOV")
        node.aov_name = name
        links.new(socket, node.inputs["Color" if colour else "Value"])

    square = nodes.new("ShaderNodeVectorMath")
    square.operation = "MULTIPLY"
    links.new(rest_socket, square.inputs[0])
    links.new(rest_socket, square.inputs[1])
    cross = nodes.new("ShaderNodeCombineXYZ")
    x, y, z = sep.outputs
    links.new(product(x, y), cross.inputs[0])
    links.new(product(y, z), cross.inputs[1])
    links.new(product(z, x), cross.inputs[2])
    aov("mov", moving.outputs[0], False)
    aov("rest", scaled(rest_socket), True)
    aov("rest_sq", scaled(square.outputs[0]), True)
    aov("rest_x", scaled(cross.outputs[0]), True)
    part = product(info.outputs["Object Index"], moving.outputs[0])
    aov("part", part, False)
    aov("part_sq", product(part, info.outputs["Object Index"]), False)


def _material(m: dict, flat: bool) -> bpy.types.Material:
    mat = bpy.data.materials.new(m["kind"])
    nt = mat.node_tree if mat.node_tree is not None else _ensure_nodes(mat)
    nodes, links = nt.nodes, nt.links
    for n in list(nodes):
        nodes.remove(n)
    out = nodes.new("ShaderNodeOutputMaterial")
    attr = nodes.new("ShaderNodeAttribute")
    attr.attribute_name = "rest"
    attr.attribute_type = "GEOMETRY"
    rest = attr.outputs["Vector"]
    _aov_outputs(nt, rest)
    kind = m["kind"]
    scale = m["scale"]
    # texture coordinates: the rest position, so textures move with the surface
    mapping = nodes.new("ShaderNodeMapping")
    links.new(rest, mapping.inputs["Vector"])
    mapping.inputs["Location"].default_value = (m["seed"], m["seed"] * 0.37, m["seed"] * 0.61)
    vec = mapping.outputs["Vector"]
    noise = nodes.new("ShaderNodeTexNoise")
    links.new(vec, noise.inputs["Vector"])
    noise_scale = {"mountain": 0.01, "water": 0.6, "sea": 0.2, "calm_water": 0.3}.get(kind, 1.0)
    noise.inputs["Scale"].default_value = noise_scale * 2.0 * scale
    noise.inputs["Detail"].default_value = 6.0
    ramp = nodes.new("ShaderNodeMixRGB")
    links.new(noise.outputs["Fac"], ramp.inputs[0])
    ramp.inputs[1].default_value = (*m["color"], 1)
    ramp.inputs[2].default_value = (*m["color2"], 1)
    colour = ramp.outputs[0]
    if kind in ("paving", "brick", "stone_wall", "slabs"):
        brick = nodes.new("ShaderNodeTexBrick")
        links.new(vec, brick.inputs["Vector"])
        brick.inputs["Scale"].default_value = {"paving": 1.5, "brick": 4.0, "stone_wall": 2.0, "slabs": 0.4}[kind]
        brick.inputs["Color1"].default_value = (*m["color"], 1)
        brick.inputs["Color2"].default_value = (*m["color2"], 1)
        mortar = tuple(min(1.0, c * 1.3 + 0.05) for c in m["color"])
        if kind == "slabs":  # large slabs (about 1.2 x 0.6 m) with thin dark joints
            mortar = tuple(c * 0.45 for c in m["color"])
            brick.inputs["Mortar Size"].default_value = 0.006
        brick.inputs["Mortar"].default_value = (*mortar, 1)
        colour = brick.outputs["Color"]
    if kind in ("rock", "crag", "gravel", "mountain", "dirt", "sand", "meadow_ground", "lawn", "bark", "asphalt",
                "sandstone"):
        vor = nodes.new("ShaderNodeTexVoronoi")
        links.new(vec, vor.inputs["Vector"])
        grain = {"mountain": 0.02, "crag": 3.0, "gravel": 40.0, "lawn": 60.0, "asphalt": 80.0, "sandstone": 2.0}.get(
            kind, 6.0)
        vor.inputs["Scale"].default_value = grain * scale
        mix = nodes.new("ShaderNodeMixRGB")
        mix.blend_type = "MULTIPLY"
        mix.inputs[0].default_value = 0.5
        links.new(colour, mix.inputs[1])
        links.new(vor.outputs["Distance"], mix.inputs[2])
        colour = mix.outputs[0]
    if kind in ("crag", "sandstone"):
        # patches of moss and lichen, fixed to the stone like every texture here (still stone can look busy)
        moss_tex = nodes.new("ShaderNodeTexNoise")
        links.new(vec, moss_tex.inputs["Vector"])
        moss_tex.inputs["Scale"].default_value = 4.0 * scale
        moss_tex.inputs["Detail"].default_value = 8.0
        moss_ramp = nodes.new("ShaderNodeValToRGB")
        moss_ramp.color_ramp.elements[0].position = 0.45 + 0.15 * m["rough"]
        moss_ramp.color_ramp.elements[1].position = 0.6 + 0.15 * m["rough"]
        links.new(moss_tex.outputs["Fac"], moss_ramp.inputs["Fac"])
        moss = nodes.new("ShaderNodeMixRGB")
        links.new(moss_ramp.outputs["Color"], moss.inputs[0])
        links.new(colour, moss.inputs[1])
        moss.inputs[2].default_value = (0.05, 0.09, 0.02, 1) if m["seed"] < 60 else (0.22, 0.22, 0.17, 1)
        colour = moss.outputs[0]
    if flat:
        emit = nodes.new("ShaderNodeEmission")
        links.new(colour, emit.inputs["Color"])
        links.new(emit.outputs[0], out.inputs["Surface"])
        return mat
    if kind in ("flame", "window"):
        emit = nodes.new("ShaderNodeEmission")
        links.new(colour, emit.inputs["Color"])
        emit.inputs["Strength"].default_value = (1.2 if kind == "flame" else 3.0) * (0.6 + 0.8 * m["rough"])
        links.new(emit.outputs[0], out.inputs["Surface"])
        return mat
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    links.new(colour, bsdf.inputs["Base Color"])
    rough = {"water": 0.03, "sea": 0.06, "calm_water": 0.01 + 0.03 * m["rough"], "glass": 0.05,
             "metal": 0.35, "lawn": 0.9 + 0.1 * m["rough"]}.get(kind, 0.5 + 0.45 * m["rough"])
    bsdf.inputs["Roughness"].default_value = rough
    if kind == "lawn":  # blades scatter light every way: a lawn with a dielectric sheen mirrors the sky at grazing
        # angles and turns pale grey, as no photographed lawn is
        bsdf.inputs["Specular IOR Level"].default_value = 0.1
    if kind == "metal":
        bsdf.inputs["Metallic"].default_value = 1.0
    if kind == "calm_water":
        bsdf.inputs["IOR"].default_value = 1.33
    bump = nodes.new("ShaderNodeBump")
    bump_noise = nodes.new("ShaderNodeTexNoise")
    links.new(vec, bump_noise.inputs["Vector"])
    bump_noise.inputs["Scale"].default_value = {"water": 8.0, "sea": 3.0, "calm_water": 6.0}.get(kind, 20.0) * scale
    bump_noise.inputs["Detail"].default_value = 4.0
    links.new(bump_noise.outputs["Fac"], bump.inputs["Height"])
    # calm water: a faint bump, so that the mirrored shore stays whole (the photos' still water is smooth)
    bump.inputs["Strength"].default_value = {"water": 0.15, "sea": 0.25, "calm_water": 0.03, "glass": 0.0,
                                             "metal": 0.05, "crag": 0.8}.get(kind, 0.4)
    links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    shader = bsdf.outputs[0]
    if kind in ("water", "sea"):
        # foam and ripple streaks fixed to the surface (rest coordinates), so they move with it
        foam_tex = nodes.new("ShaderNodeTexNoise")
        links.new(vec, foam_tex.inputs["Vector"])
        foam_tex.inputs["Scale"].default_value = (1.5 if kind == "sea" else 3.0) * scale
        foam_tex.inputs["Detail"].default_value = 8.0
        foam_ramp = nodes.new("ShaderNodeValToRGB")
        foam_ramp.color_ramp.elements[0].position = 0.62 if kind == "sea" else 0.7
        foam_ramp.color_ramp.elements[1].position = 0.75 if kind == "sea" else 0.8
        links.new(foam_tex.outputs["Fac"], foam_ramp.inputs["Fac"])
        foam = nodes.new("ShaderNodeBsdfDiffuse")
        foam.inputs["Color"].default_value = (0.8, 0.82, 0.82, 1)
        mix = nodes.new("ShaderNodeMixShader")
        links.new(foam_ramp.outputs["Color"], mix.inputs[0])
        links.new(shader, mix.inputs[1])
        links.new(foam.outputs[0], mix.inputs[2])
        shader = mix.outputs[0]
    elif kind in ("grass", "dry_grass", "reed", "leaf", "petal", "cloth"):
        translucent = nodes.new("ShaderNodeBsdfTranslucent")
        links.new(colour, translucent.inputs["Color"])
        mix = nodes.new("ShaderNodeMixShader")
        mix.inputs[0].default_value = 0.3 if kind != "cloth" else 0.15
        links.new(shader, mix.inputs[1])
        links.new(translucent.outputs[0], mix.inputs[2])
        shader = mix.outputs[0]
    links.new(shader, out.inputs["Surface"])
    return mat


def _ensure_nodes(mat):
    mat.use_nodes = True
    return mat.node_tree


# -- rendering -----------------------------------------------------------------------------------------------------

def render(sc, workdir: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render ``sc``: uint8 ``[H, W, 3]`` display image (view transform applied) and the AOV passes (float32
    ``[H, W]`` or ``[H, W, 3]``, rows top-down)."""
    import OpenEXR
    from PIL import Image

    workdir = Path(workdir)
    exr = workdir / "passes.exr"
    png = workdir / "image.png"
    settings = sc.render.image_settings
    settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"
    settings.color_depth = "32"
    settings.exr_codec = "ZIP"
    sc.render.filepath = str(exr)
    bpy.ops.render.render(write_still=True)
    settings.media_type = "IMAGE"
    settings.file_format = "PNG"
    settings.color_mode = "RGB"
    settings.color_depth = "8"
    bpy.data.images["Render Result"].save_render(str(png), scene=sc)
    image = np.asarray(Image.open(png).convert("RGB"), dtype=np.uint8)
    passes = {}
    layer = sc.view_layers[0].name
    with OpenEXR.File(str(exr), separate_channels=True) as f:
        channels = {}
        for part in f.parts:
            channels.update({k: v.pixels for k, v in part.channels.items()})
    for name, kind in _AOVS.items():
        if kind == "VALUE":
            passes[name] = np.asarray(channels[f"{layer}.{name}.X"], np.float32)
        else:
            passes[name] = np.stack([np.asarray(channels[f"{layer}.{name}.{c}"], np.float32) for c in "RGB"], -1)
    return image, passes
