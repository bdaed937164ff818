"""Blender-rendered plant close-ups for the real-photo development set (docs/realphoto/), with their labels.

Three small scenes built with ``bpy`` and rendered with Cycles on the CPU at 512x320 (32 samples, denoised), lit
by the bundled forest HDRI (camera rays see a plain sky gradient instead) and a sun:

- ``plant_wall``: a leafy plant in a pot against a plastered wall, on stone paving;
- ``grass_rocks``: tufts of long grass between rocks, on gravel;
- ``flowers_sky``: flowers on tall stems in front of a low wall and the sky.

Labels come from a second render of the same camera in which every plant emits white and everything else is
black (1 sample, no denoising, no depth of field: which surface each pixel's centre sees): plants are moving (255);
walls, pots, rocks, ground and the sky are static (128); a 1-px band around every moving/static boundary is
unlabelled (0). Scene and geometry
are functions of a fixed seed, so a rerun gives the same labels; the images may differ by a few levels between
CPUs (Cycles and OIDN are not bit-stable across instruction sets).

Usage: ``python scripts/render_realphoto_plants.py [--out docs/realphoto] [--samples 32] [--overwrite]
[--seed-offset N]`` (the committed pictures were rendered with 32 samples; the validation set's close-ups are
``--out docs/realphoto_validation_closeups --seed-offset 20``: other scenes of the same three designs).
Needs the blender extra (bpy); about a minute per scene on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_realphoto_set import HEIGHT, MOVING, STATIC, UNLABELLED, WIDTH, hdri_folder, write_png  # noqa: E402

PLANT, STILL = 1, 2


def _reset():
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def _material(name: str, colour, roughness=0.6, noise_scale=0.0, bump=0.0, translucent=0.0, brick=False):
    """A Principled BSDF whose base colour varies with a noise texture (``noise_scale`` > 0) or bricks."""
    import bpy

    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = roughness
    rgb = tuple(colour) + (1.0,)
    if noise_scale > 0 or brick:
        coords = nodes.new("ShaderNodeTexCoord")
        if brick:
            tex = nodes.new("ShaderNodeTexBrick")
            tex.inputs["Color1"].default_value = rgb
            tex.inputs["Color2"].default_value = tuple(c * 0.8 for c in colour) + (1.0,)
            tex.inputs["Mortar"].default_value = (0.55, 0.53, 0.5, 1.0)
            tex.inputs["Scale"].default_value = 6.0
            links.new(coords.outputs["Object"], tex.inputs["Vector"])
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
            fac = tex.outputs["Fac"]
        else:
            tex = nodes.new("ShaderNodeTexNoise")
            tex.inputs["Scale"].default_value = noise_scale
            tex.inputs["Detail"].default_value = 8.0
            links.new(coords.outputs["Object"], tex.inputs["Vector"])
            ramp = nodes.new("ShaderNodeValToRGB")
            ramp.color_ramp.elements[0].color = tuple(c * 0.6 for c in colour) + (1.0,)
            ramp.color_ramp.elements[1].color = tuple(min(1.0, c * 1.3) for c in colour) + (1.0,)
            links.new(tex.outputs["Fac"], ramp.inputs["Fac"])
            links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
            fac = tex.outputs["Fac"]
        if bump > 0:
            bump_node = nodes.new("ShaderNodeBump")
            bump_node.inputs["Strength"].default_value = bump
            links.new(fac, bump_node.inputs["Height"])
            links.new(bump_node.outputs["Normal"], bsdf.inputs["Normal"])
    else:
        bsdf.inputs["Base Color"].default_value = rgb
    if translucent > 0:
        mix = nodes.new("ShaderNodeMixShader")
        trans = nodes.new("ShaderNodeBsdfTranslucent")
        trans.inputs["Color"].default_value = rgb
        mix.inputs["Fac"].default_value = translucent
        out = nodes["Material Output"]
        links.new(bsdf.outputs["BSDF"], mix.inputs[1])
        links.new(trans.outputs["BSDF"], mix.inputs[2])
        links.new(mix.outputs["Shader"], out.inputs["Surface"])
    return mat


def _object(name: str, verts, faces, material, index: int, smooth: bool = True):
    import bpy

    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(map(float, v)) for v in verts], [], [tuple(f) for f in faces])
    mesh.update()
    if smooth:
        for poly in mesh.polygons:
            poly.use_smooth = True
    obj = bpy.data.objects.new(name, mesh)
    obj.data.materials.append(material)
    obj.pass_index = index
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _strip(centre: np.ndarray, widths: np.ndarray, side: np.ndarray):
    """Quads along a centre line ``[n, 3]`` with half-widths ``[n]`` across the unit vector ``side`` ``[3]``."""
    verts, faces = [], []
    for i, (c, w) in enumerate(zip(centre, widths)):
        verts += [c - side * w, c + side * w]
        if i:
            a = 2 * (i - 1)
            faces.append((a, a + 1, a + 3, a + 2))
    return verts, faces


def _merge(parts):
    verts, faces = [], []
    for v, f in parts:
        base = len(verts)
        verts += list(v)
        faces += [tuple(base + i for i in face) for face in f]
    return verts, faces


def _blade(rng, base, height, lean, width, segments=10):
    """A grass blade or leaf: a bent strip rising from ``base`` (metres), leaning by ``lean`` (radians)."""
    t = np.linspace(0, 1, segments)
    azimuth = rng.uniform(0, 2 * math.pi)
    horiz = np.array([math.cos(azimuth), math.sin(azimuth), 0.0])
    centre = base + np.outer(t, [0, 0, height]) + np.outer(np.sin(lean) * height * t ** 2, horiz)
    side = np.cross(horiz, [0, 0, 1.0])
    return _strip(centre, width * np.sin(np.pi * (0.15 + 0.85 * t)) * (1 - 0.9 * t), side)


def _leaf(rng, anchor, direction, length, width, droop, segments=8):
    """An elliptic leaf from ``anchor`` along ``direction`` (unit, 3), drooping by ``droop`` metres at its tip."""
    t = np.linspace(0, 1, segments)
    centre = anchor + np.outer(t * length, direction) - np.outer(droop * t ** 2, [0, 0, 1.0])
    side = np.cross(direction, [0, 0, 1.0])
    norm = np.linalg.norm(side)
    side = side / norm if norm > 1e-6 else np.array([1.0, 0, 0])
    side = side * math.cos(rng.uniform(-0.5, 0.5)) + np.array([0, 0, 1.0]) * math.sin(rng.uniform(-0.3, 0.3))
    return _strip(centre, width * np.sin(np.pi * t) + 1e-3, side / np.linalg.norm(side))


def _rock(name, centre, radius, material, seed):
    """An icosphere dented by a noise displacement (static)."""
    import bpy

    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=4, radius=radius, location=tuple(centre))
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = (1.0, 1.0, 0.65)
    tex = bpy.data.textures.new(f"{name}_noise", "CLOUDS")
    tex.noise_scale = 0.6
    mod = obj.modifiers.new("displace", "DISPLACE")
    mod.texture, mod.strength = tex, radius * 0.35
    obj.data.materials.append(material)
    obj.pass_index = STILL
    bpy.ops.object.shade_smooth()
    return obj


def _plane(name, size, location, rotation, material):
    import bpy

    bpy.ops.mesh.primitive_plane_add(size=size, location=location, rotation=rotation)
    obj = bpy.context.active_object
    obj.name = name
    obj.data.materials.append(material)
    obj.pass_index = STILL
    return obj


def _world(scene, hdri: Path, strength: float = 1.0):
    """The HDRI lights the scene; camera rays see a sky gradient (the HDRI is never in the picture)."""
    import bpy

    world = bpy.data.worlds.new("world")
    scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    for node in list(nodes):
        nodes.remove(node)
    env = nodes.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.load(str(hdri))
    light = nodes.new("ShaderNodeBackground")
    light.inputs["Strength"].default_value = strength
    links.new(env.outputs["Color"], light.inputs["Color"])
    geometry = nodes.new("ShaderNodeTexCoord")
    sep = nodes.new("ShaderNodeSeparateXYZ")
    links.new(geometry.outputs["Window"], sep.inputs["Vector"])
    ramp = nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = (0.75, 0.82, 0.9, 1.0)
    ramp.color_ramp.elements[1].color = (0.32, 0.5, 0.8, 1.0)
    links.new(sep.outputs["Y"], ramp.inputs["Fac"])
    sky = nodes.new("ShaderNodeBackground")
    sky.inputs["Strength"].default_value = 1.2
    links.new(ramp.outputs["Color"], sky.inputs["Color"])
    path = nodes.new("ShaderNodeLightPath")
    mix = nodes.new("ShaderNodeMixShader")
    links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
    links.new(light.outputs["Background"], mix.inputs[1])
    links.new(sky.outputs["Background"], mix.inputs[2])
    out = nodes.new("ShaderNodeOutputWorld")
    links.new(mix.outputs["Shader"], out.inputs["Surface"])


def _camera_and_sun(scene, location, target, lens, sun_rotation, sun_strength=2.0, f_stop=None, focus=None):
    import bpy
    from mathutils import Vector

    cam_data = bpy.data.cameras.new("camera")
    cam_data.lens = lens
    if f_stop is not None:
        cam_data.dof.use_dof = True
        cam_data.dof.aperture_fstop = f_stop
        cam_data.dof.focus_distance = focus
    cam = bpy.data.objects.new("camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = location
    cam.rotation_euler = (Vector(target) - Vector(location)).to_track_quat("-Z", "Y").to_euler()
    scene.camera = cam
    sun_data = bpy.data.lights.new("sun", "SUN")
    sun_data.energy = sun_strength
    sun_data.angle = math.radians(3)
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = sun_rotation
    scene.collection.objects.link(sun)


def build_plant_wall(rng):
    wall = _material("plaster", (0.72, 0.66, 0.58), noise_scale=30.0, bump=0.2)
    paving = _material("paving", (0.5, 0.48, 0.45), noise_scale=12.0, bump=0.4, brick=True)
    pot = _material("pot", (0.55, 0.27, 0.16), noise_scale=20.0)
    leaf = _material("leaf", (0.12, 0.35, 0.07), roughness=0.45, noise_scale=8.0, translucent=0.25)
    _plane("wall", 6, (0, 0.6, 1.5), (math.pi / 2, 0, 0), wall)
    _plane("ground", 8, (0, -1, 0), (0, 0, 0), paving)
    import bpy

    bpy.ops.mesh.primitive_cylinder_add(radius=0.18, depth=0.32, location=(0, 0, 0.16))
    bpy.context.active_object.data.materials.append(pot)
    bpy.context.active_object.pass_index = STILL
    parts = []
    for _ in range(36):
        azimuth = rng.uniform(0, 2 * math.pi)
        rise = rng.uniform(0.2, 0.9)
        direction = np.array([math.cos(azimuth), math.sin(azimuth) * 0.6, rise])
        direction /= np.linalg.norm(direction)
        stem_len = rng.uniform(0.15, 0.45)
        anchor = np.array([0, 0, 0.3]) + direction * stem_len
        parts.append(_leaf(rng, anchor, direction, rng.uniform(0.18, 0.3), rng.uniform(0.04, 0.07),
                           rng.uniform(0.05, 0.15)))
        stem = np.array([0, 0, 0.3]) + np.outer(np.linspace(0, stem_len, 5), direction)
        parts.append(_strip(stem, np.full(5, 0.006), np.array([1.0, 0, 0])))
    _object("plant", *_merge(parts), leaf, PLANT)
    return dict(location=(0.15, -1.15, 0.7), target=(0, 0, 0.5), lens=40, sun_rotation=(0.9, 0.2, 0.6),
                f_stop=4.0, focus=1.75)


def build_grass_rocks(rng):
    gravel = _material("gravel", (0.42, 0.39, 0.35), noise_scale=60.0, bump=0.6)
    stone = _material("stone", (0.45, 0.44, 0.42), roughness=0.8, noise_scale=6.0, bump=0.5)
    grass = _material("grass", (0.25, 0.42, 0.1), roughness=0.5, noise_scale=5.0, translucent=0.3)
    _plane("ground", 12, (0, 0, 0), (0, 0, 0), gravel)
    for i, (x, y, r) in enumerate([(-0.55, 0.3, 0.32), (0.5, 0.6, 0.42), (0.05, -0.1, 0.18), (1.1, -0.2, 0.25)]):
        _rock(f"rock{i}", (x, y, r * 0.3), r, stone, i)
    parts = []
    for cx, cy in [(-0.15, 0.35), (0.2, 0.25), (-0.9, -0.2), (0.85, 0.1), (0.45, -0.35), (-0.45, -0.45)]:
        for _ in range(45):
            base = np.array([cx + rng.normal(0, 0.06), cy + rng.normal(0, 0.06), 0.0])
            parts.append(_blade(rng, base, rng.uniform(0.3, 0.65), rng.uniform(0.2, 0.8), rng.uniform(0.01, 0.018)))
    _object("grass", *_merge(parts), grass, PLANT)
    return dict(location=(0.0, -1.7, 0.8), target=(0.0, 0.2, 0.28), lens=35, sun_rotation=(0.8, 0.1, -0.8),
                f_stop=None, focus=None)


def build_flowers_sky(rng):
    wall = _material("stone_wall", (0.55, 0.5, 0.45), noise_scale=4.0, bump=0.5, brick=True)
    soil = _material("soil", (0.25, 0.18, 0.12), noise_scale=40.0, bump=0.5)
    stem = _material("stem", (0.18, 0.4, 0.1), noise_scale=10.0, translucent=0.2)
    petals = _material("petals", (0.85, 0.75, 0.15), roughness=0.4, noise_scale=15.0, translucent=0.3)
    _plane("ground", 12, (0, 0, 0), (0, 0, 0), soil)
    import bpy

    bpy.ops.mesh.primitive_cube_add(size=1, location=(0, 2.5, 0.35), scale=(6, 0.4, 0.7))
    bpy.context.active_object.data.materials.append(wall)
    bpy.context.active_object.pass_index = STILL
    stems, heads = [], []
    for _ in range(22):
        base = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-0.2, 0.8), 0.0])
        height = rng.uniform(0.6, 1.1)
        lean = rng.uniform(-0.15, 0.15)
        t = np.linspace(0, 1, 10)
        centre = base + np.outer(t, [lean * height, 0, height]) + np.outer(t ** 2, [lean * 0.3, 0, 0])
        stems.append(_strip(centre, np.full(10, 0.011), np.array([1.0, 0, 0])))
        for j in range(2):
            a = rng.uniform(0.2, 0.6)
            stems.append(_leaf(rng, centre[3 + 2 * j], np.array([math.cos(j * math.pi + a), 0.3, 0.4]) / 1.1,
                               0.15, 0.025, 0.05))
        top = centre[-1]
        ring = [top + 0.09 * np.array([math.cos(k * math.pi / 8), math.sin(k * math.pi / 8) * 0.5 - 0.2,
                                       0.3 * math.sin(k * math.pi / 8) + 0.02]) for k in range(16)]
        verts = [top] + ring
        faces = [(0, 1 + k, 1 + (k + 1) % 16) for k in range(16)]
        heads.append((verts, faces))
    _object("stems", *_merge(stems), stem, PLANT)
    _object("flowers", *_merge(heads), petals, PLANT)
    return dict(location=(0.0, -1.5, 0.75), target=(0.0, 0.4, 0.8), lens=38, sun_rotation=(1.0, 0.0, 0.4),
                f_stop=None, focus=None)


SCENES = {"plant_wall": (build_plant_wall, 11), "grass_rocks": (build_grass_rocks, 12),
          "flowers_sky": (build_flowers_sky, 13)}


def render_scene(name: str, samples: int, workdir: Path, seed_offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render one scene: uint8 sRGB image ``[320, 512, 3]`` and its object-index map int ``[320, 512]``.
    ``seed_offset`` > 0 draws another scene of the same design (the validation set's close-ups)."""
    import bpy

    build, seed = SCENES[name]
    seed += seed_offset
    scene = _reset()
    camera = build(np.random.default_rng(seed))
    _world(scene, hdri_folder() / "forest.exr")
    _camera_and_sun(scene, camera["location"], camera["target"], camera["lens"], camera["sun_rotation"],
                    f_stop=camera["f_stop"], focus=camera["focus"])
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = True
    scene.cycles.seed = seed
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "AgX"
    scene.view_settings.look = "AgX - Medium High Contrast"
    scene.view_settings.exposure = -0.8
    png = workdir / f"{name}.png"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.render.filepath = str(png)
    bpy.ops.render.render(write_still=True)
    import cv2

    image = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    return image, _plant_mask(scene, workdir / f"{name}_mask.png")


def _plant_mask(scene, path: Path) -> np.ndarray:
    """Which object each pixel's centre sees, as int ``[H, W]`` (PLANT or STILL): the scene rendered again with
    every plant an emitter of 1, everything else (world included) black, 1 sample, no denoising, a 0.01-px filter."""
    import bpy

    white = bpy.data.materials.new("mask_plant")
    white.use_nodes = True
    nodes = white.node_tree.nodes
    emit = nodes.new("ShaderNodeEmission")
    emit.inputs["Strength"].default_value = 1.0
    white.node_tree.links.new(emit.outputs["Emission"], nodes["Material Output"].inputs["Surface"])
    black = bpy.data.materials.new("mask_still")
    black.use_nodes = True
    black.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0, 0, 0, 1)
    black.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 1.0
    for obj in scene.objects:
        if obj.type == "MESH":
            obj.data.materials.clear()
            obj.data.materials.append(white if obj.pass_index == PLANT else black)
        elif obj.type == "LIGHT":
            obj.data.energy = 0.0
    scene.world = None
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.filter_width = 0.01
    scene.cycles.max_bounces = 0
    scene.view_settings.view_transform = "Standard"
    if scene.camera.data.dof.use_dof:
        scene.camera.data.dof.use_dof = False  # which surface a pixel's centre sees, not how blurred it is
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    import cv2

    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return np.where(mask > 127, PLANT, STILL).astype(np.int32)


def labels_from_index(index: np.ndarray, edge_px: int = 1) -> np.ndarray:
    """uint8 labels from an object-index map: plants moving, everything else (sky too) static, a band of ``edge_px``
    around every boundary unlabelled (1 px: the map is exact, so only anti-aliasing mixes the two)."""
    import cv2

    labels = np.where(index == PLANT, MOVING, STATIC).astype(np.uint8)
    kernel = np.ones((2 * edge_px + 1, 2 * edge_px + 1), np.uint8)
    near_moving = cv2.dilate((labels == MOVING).astype(np.uint8), kernel) > 0
    near_static = cv2.dilate((labels == STATIC).astype(np.uint8), kernel) > 0
    labels[near_moving & near_static] = UNLABELLED
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "realphoto")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--only", help="comma-separated scene names (default: all)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--seed-offset", type=int, default=0,
                        help="draw other scenes of the same designs, written as <name>_<seed>.png (0: the report "
                             "set's close-ups)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only.split(",") if args.only else list(SCENES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            image, index = render_scene(name, args.samples, Path(tmp), args.seed_offset)
            stem = f"{name}_{SCENES[name][1] + args.seed_offset}" if args.seed_offset else name
            write_png(args.out / f"{stem}.png", image, args.overwrite)
            write_png(args.out / f"{stem}_labels.png", labels_from_index(index), args.overwrite)
            print(f"{stem}: {(index == PLANT).mean():.1%} plant pixels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
