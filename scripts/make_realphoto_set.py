"""The real-photo sets (docs/realphoto, docs/realphoto_validation): perspective crops of the HDRIs in the bpy wheel.

The Poly Haven HDRIs (CC0; ``bpy/*/datafiles/studiolights/world/*.exr``, 1024x512 equirectangular, linear) are
photographs of real places; the report set looks into four of them, the validation set into seven.
Each view here is a pinhole camera (yaw, pitch, horizontal field of view) looking into
one of them, sampled bilinearly from the panorama, exposed to its own log-average luminance, tone-mapped (Reinhard,
``x / (1 + x)``) and sRGB-encoded into a 512x320 8-bit PNG. At 1024 px over 360 degrees a 90-degree view holds
about 256 source pixels across, so the crops are soft, as a small phone photo enlarged would be.

Labels (``<name>_labels.png``, 8-bit grey: 255 moving, 128 static, 0 unlabelled) are polygons in pixel coordinates
of the 512x320 crop, written below, placed by looking at the crops. Static polygons are drawn after moving ones, so
a static region drawn over a moving one wins, and a 3-px band around every boundary between the two classes is left
unlabelled (edges are where a soft image mixes both). These labels were committed before any model was trained on
Blender data and are never changed (issue 13). The validation views (:data:`VALIDATION_VIEWS`, ``--set validation``)
look elsewhere into the same panoramas and into three more, with labels drawn the same way after release 5 shipped,
before any model was scored on them: they choose between models, the report set reports.

The places set (:data:`PLACES_VIEWS`, ``--set places``) looks into seven other Poly Haven panoramas (CC0), of places
no set, figure or training scene here had used: the 1k Radiance ``.hdr`` files of pmndrs/drei-assets (commit
456060a, ``hdri/``), fetched once by hand and checked by their sha256 (:data:`PLACES_SHA256`); ``--hdri-folder``
says where they are. Its labels were drawn the same way on 2026-12-05, before any model was scored on them.

Usage: ``python scripts/make_realphoto_set.py [--set report|validation|places] [--hdri-folder DIR] [--out DIR]
[--overwrite]``; the Blender-rendered plant close-ups are made by ``scripts/render_realphoto_plants.py``.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from image_dynamics.atomic import atomic_output
from image_dynamics.io_exr import read_exr

WIDTH, HEIGHT = 512, 320
MOVING, STATIC, UNLABELLED = 255, 128, 0
EDGE_PX = 3


@dataclass(frozen=True)
class View:
    """One crop: panorama, camera yaw (degrees; 0 = the panorama's centre column, positive to the right), pitch
    (degrees, positive up), horizontal field of view (degrees), exposure in stops over the log-average, and the
    label polygons ``(label, [(x, y), ...])`` in crop pixels."""

    name: str
    hdri: str
    yaw: float
    pitch: float
    fov: float
    stops: float = 0.0
    regions: tuple[tuple[int, tuple[tuple[float, float], ...]], ...] = field(default=())


def _rect(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


M, S = MOVING, STATIC

VIEWS: tuple[View, ...] = (
    # sea to the horizon, sky above, the stone quay below
    View("sunset_sea", "sunset", yaw=6.0, pitch=-12.0, fov=90.0, regions=(
        (M, ((0, 112), (512, 112), (512, 236), (0, 242))),                      # the sea
        (S, _rect(0, 0, 512, 74)),                                               # sky above the sun
        (S, ((0, 254), (512, 250), (512, 320), (0, 320))),                       # quay paving
    )),
    # the sea at the left, a promenade, a villa and trees behind a fence
    View("sunset_waterfront", "sunset", yaw=120.0, pitch=-4.0, fov=95.0, regions=(
        (M, ((0, 144), (116, 148), (80, 176), (40, 214), (0, 244))),             # the sea
        (M, ((200, 114), (250, 110), (300, 74), (332, 74), (334, 138), (200, 138))),  # trees behind the fence
        (S, ((0, 0), (326, 0), (326, 60), (292, 60), (292, 90), (160, 90), (150, 110), (0, 110))),  # sky
        (S, ((340, 40), (380, 6), (512, 6), (512, 168), (340, 160))),             # the villa
        (S, ((176, 170), (512, 176), (512, 320), (0, 320), (0, 286), (120, 262), (140, 232), (170, 216))),  # paving
    )),
    # bushes and trees behind fence posts, a gravel path in front
    View("forest_path", "forest", yaw=-64.0, pitch=4.0, fov=90.0, regions=(
        (M, _rect(10, 128, 290, 190)),                                           # the bush band
        (M, _rect(370, 95, 500, 175)),                                           # shrubs at the right
        (M, _rect(200, 10, 360, 110)),                                           # dense canopy
        (S, _rect(0, 274, 512, 320)),                                            # gravel path
        (S, _rect(150, 238, 512, 274)),                                          # leaf litter, posts, paving
        (S, _rect(305, 198, 355, 232)),                                          # rocks
    )),
    # a rock garden under trees, a bamboo fence in front
    View("forest_rocks", "forest", yaw=66.0, pitch=4.0, fov=90.0, regions=(
        (M, _rect(200, 105, 420, 160)),                                          # foliage behind the rocks
        (M, _rect(400, 95, 512, 160)),                                           # foliage at the right
        (M, _rect(110, 110, 190, 175)),                                          # leaves beside the trunk
        (M, _rect(210, 40, 320, 100)),                                           # canopy
        (S, _rect(240, 195, 470, 290)),                                          # rocks and the net
        (S, _rect(0, 240, 190, 320)),                                            # fence and rocks
    )),
    # trees at the edge of a meadow at sunrise
    View("sunrise_trees", "sunrise", yaw=-30.0, pitch=-2.0, fov=90.0, regions=(
        (M, _rect(35, 78, 155, 150)),                                            # the autumn tree
        (M, _rect(322, 80, 370, 150)),                                           # the conifer
        (M, _rect(455, 65, 512, 120)),                                           # the tree at the right
        (S, _rect(0, 0, 512, 50)),                                               # sky
        (S, _rect(170, 50, 310, 100)),                                           # sky between the trees
    )),
    # static only: office towers, a building site and a car park roof
    View("city_carpark", "city", yaw=-30.0, pitch=-2.0, fov=95.0, regions=(
        (S, _rect(0, 0, 195, 185)),                                              # glass tower
        (S, _rect(200, 0, 330, 140)),                                            # sky
        (S, _rect(340, 0, 512, 175)),                                            # building site
        (S, _rect(0, 200, 512, 320)),                                            # car park deck
    )),
)


#: The validation set (``--set validation``, written to docs/realphoto_validation): other views into the same four
#: panoramas and three more, none overlapping a view above, for choosing between models and training snapshots, so
#: that the set above stays for reporting. Same label rules.
VALIDATION_VIEWS: tuple[View, ...] = (
    # a pine over an arcade, a villa, the road and paving in front of them
    View("venice_buildings", "sunset", yaw=-140.0, pitch=-4.0, fov=90.0, regions=(
        (M, _rect(16, 8, 150, 56)),                                              # the pine's crown
        (S, _rect(200, 0, 512, 55)),                                             # sky
        (S, _rect(240, 75, 400, 150)),                                           # the villa's facade
        (S, _rect(0, 180, 512, 320)),                                            # road and paving
    )),
    # the quay looking along the promenade, the sea at the right, a bollard
    View("venice_quay", "sunset", yaw=-95.0, pitch=-10.0, fov=80.0, regions=(
        (M, ((395, 100), (512, 100), (512, 215), (470, 185), (420, 150), (395, 125))),  # the sea
        (S, _rect(190, 0, 512, 50)),                                             # sky
        (S, _rect(0, 10, 100, 110)),                                             # facade
        (S, _rect(0, 180, 300, 320)),                                            # paving
        (S, _rect(320, 210, 385, 280)),                                          # the bollard
    )),
    # a tree over a rock garden's edge, a bamboo fence, bare ground
    View("forest_tree", "forest", yaw=170.0, pitch=2.0, fov=90.0, regions=(
        (M, _rect(260, 10, 470, 120)),                                           # the tree's crown
        (M, _rect(30, 50, 120, 100)),                                            # trees at the left
        (S, _rect(0, 175, 110, 250)),                                            # rocks
        (S, _rect(0, 285, 160, 320)),                                            # bamboo fence
        (S, _rect(370, 200, 470, 250)),                                          # bare ground and a stone
    )),
    # static only: two office blocks and the car park deck
    View("city_towers", "city", yaw=90.0, pitch=-2.0, fov=95.0, regions=(
        (S, _rect(30, 10, 190, 160)),                                            # the dark tower
        (S, _rect(205, 0, 260, 110)),                                            # sky
        (S, _rect(270, 40, 470, 150)),                                           # the office block
        (S, _rect(0, 200, 512, 320)),                                            # deck
    )),
    # Added later, from places the report set does not show (the courtyard, night and interior HDRIs) and a narrow
    # view between two report views of the forest; drawn after candidates 6-9 were chosen on the four above and
    # before any model was scored on these.
    # two palms and a dense tree over a white house and a garage; the paved yard
    View("courtyard_palms", "courtyard", yaw=-15.0, pitch=8.0, fov=75.0, regions=(
        (M, _rect(120, 20, 190, 70)),                                            # the left palm's fronds
        (M, _rect(220, 50, 285, 95)),                                            # the right palm's fronds
        (M, _rect(122, 100, 262, 140)),                                          # the dense tree behind the wall
        (S, _rect(310, 5, 512, 100)),                                            # sky
        (S, _rect(50, 100, 110, 225)),                                           # the white house's wall
        (S, _rect(300, 132, 512, 160)),                                          # the garage roof
        (S, _rect(200, 168, 512, 238)),                                          # the garage front and doors
        (S, _rect(0, 252, 512, 320)),                                            # paving
    )),
    # laundry on a line under a carport roof, a plastered wall, two kennels
    View("courtyard_laundry", "courtyard", yaw=-112.0, pitch=12.0, fov=70.0, regions=(
        (M, _rect(196, 106, 322, 156)),                                          # the laundry
        (S, _rect(20, 90, 175, 290)),                                            # the wall and a meter box
        (S, _rect(120, 0, 512, 60)),                                             # the carport roof
        (S, _rect(290, 190, 500, 290)),                                          # the kennels
        (S, _rect(365, 130, 480, 195)),                                          # a window
    )),
    # a flowering tree and a border of shrubs beyond a brick wall, seen from under the carport
    View("courtyard_garden", "courtyard", yaw=160.0, pitch=0.0, fov=80.0, regions=(
        (M, _rect(55, 45, 150, 120)),                                            # the flowering tree
        (M, _rect(100, 203, 250, 224)),                                          # the shrubs at the wall's foot
        (S, _rect(170, 135, 255, 195)),                                          # the brick wall
        (S, _rect(290, 20, 512, 110)),                                           # the carport's wall
        (S, _rect(320, 130, 480, 230)),                                          # the sunlit wall
        (S, _rect(40, 252, 512, 320)),                                           # paving
    )),
    # tree crowns at dusk over a lawn (the lawn left unlabelled, like meadow grass)
    View("night_trees", "night", yaw=10.0, pitch=4.0, fov=60.0, stops=1.0, regions=(
        (M, _rect(130, 100, 345, 170)),                                          # tree crowns
        (M, _rect(390, 100, 512, 155)),                                          # tree crowns at the right
        (S, _rect(0, 0, 512, 55)),                                               # sky
    )),
    # a stone beside foliage, soft (a narrow view into the forest panorama between forest_path and forest_rocks)
    View("forest_stone", "forest", yaw=1.0, pitch=6.0, fov=38.0, regions=(
        (M, _rect(240, 150, 470, 235)),                                          # foliage
        (S, _rect(30, 150, 95, 240)),                                            # the stone
    )),
    # static only: a hotel room's door, wall, television and desk
    View("interior_room", "interior", yaw=-100.0, pitch=-10.0, fov=90.0, regions=(
        (S, _rect(20, 15, 135, 235)),                                            # the door
        (S, _rect(150, 0, 320, 200)),                                            # the wall
        (S, _rect(340, 40, 512, 160)),                                           # the television
        (S, _rect(230, 225, 480, 300)),                                          # the desk
    )),
)


#: The places set (``--set places``, written to docs/realphoto_places): eight views into seven panoramas of places this
#: project had never used, drawn on 2026-12-05 before any model was scored on them (rule r25). Trunks, lawns and
#: pastures, whose motion in wind is a matter of degree, are left unlabelled.
PLACES_VIEWS: tuple[View, ...] = (
    # sandstone pinnacles among pines and beeches, a path between them
    View("slope_rocks", "forest_slope_1k", yaw=-95.0, pitch=12.0, fov=75.0, regions=(
        (M, _rect(2, 30, 55, 110)),                                              # leaves at the left
        (M, _rect(90, 60, 125, 120)),                                            # leaves between the trunks
        (S, ((215, 100), (235, 50), (255, 32), (275, 60), (295, 85), (298, 125), (215, 130))),  # the pinnacle
        (S, _rect(415, 50, 512, 135)),                                           # the rock wall at the right
        (S, ((172, 200), (262, 200), (292, 250), (290, 320), (205, 320), (160, 262))),  # the path
    )),
    # young spruce and beech leaves before a mossy boulder, two thick trunks
    View("slope_undergrowth", "forest_slope_1k", yaw=170.0, pitch=10.0, fov=90.0, regions=(
        (M, ((232, 168), (300, 160), (322, 200), (318, 258), (240, 262), (228, 215))),  # the young spruce
        (M, ((78, 155), (125, 150), (170, 200), (170, 318), (80, 318), (78, 230))),     # beech leaves, lower left
        (S, ((330, 172), (395, 165), (440, 190), (448, 228), (340, 232))),               # the mossy boulder
        (S, _rect(20, 10, 62, 255)),                                             # the thick trunk at the left
        (S, _rect(436, 5, 462, 150)),                                            # the thick trunk at the right
    )),
    # spruces on an alpine pasture, fence posts, an overcast sky
    View("horn_meadow", "immenstadter_horn_1k", yaw=-120.0, pitch=0.0, fov=80.0, regions=(
        (M, ((25, 60), (60, 10), (150, 5), (185, 40), (180, 150), (30, 150))),  # the spruces at the left
        (M, ((262, 5), (285, 5), (312, 70), (315, 160), (245, 160), (252, 70))),  # the spruce in the middle
        (S, _rect(330, 10, 512, 100)),                                           # sky
        (S, _rect(196, 5, 236, 105)),                                            # sky between the spruces
        (S, _rect(243, 168, 251, 232)),                                          # fence post
        (S, _rect(165, 165, 171, 208)),                                          # fence post
        (S, _rect(97, 168, 102, 196)),                                           # fence post
        (S, _rect(502, 180, 512, 298)),                                          # fence post at the right edge
    )),
    # shrubs on sandstone slabs at dawn, mountains and sky behind
    View("kiara_shrubs", "kiara_1_dawn_1k", yaw=80.0, pitch=-10.0, fov=80.0, regions=(
        (M, ((240, 172), (300, 165), (335, 185), (350, 230), (330, 255), (200, 262), (185, 235), (215, 200))),  # shrub
        (M, ((10, 235), (60, 225), (115, 228), (125, 260), (60, 280), (10, 280))),  # the shrub at the left
        (S, _rect(0, 0, 440, 60)),                                               # sky
        (S, _rect(0, 100, 512, 125)),                                            # mountains
        (S, ((400, 250), (470, 215), (512, 205), (512, 320), (430, 320), (400, 290))),  # the slab at the right
        (S, _rect(20, 292, 120, 318)),                                           # the slab at the lower left
        (S, _rect(135, 232, 180, 252)),                                          # the rock behind the shrub
    )),
    # savanna trees at dusk (one stop up), a dirt track at the left
    View("savanna_trees", "dikhololo_night_1k", yaw=-110.0, pitch=0.0, fov=80.0, stops=1.0, regions=(
        (M, ((200, 75), (240, 55), (275, 62), (300, 100), (290, 125), (210, 130), (190, 110))),  # the tall tree
        (M, ((100, 100), (130, 90), (165, 95), (175, 125), (140, 150), (100, 140))),  # the tree at the left
        (S, _rect(0, 0, 512, 40)),                                               # sky
        (S, _rect(330, 40, 512, 110)),                                           # sky at the right
        (S, _rect(0, 40, 150, 85)),                                              # sky at the left
        (S, ((0, 187), (60, 172), (120, 164), (125, 172), (60, 190), (0, 214))),  # the dirt track
    )),
    # a park's tree line under a blue sky, a disc-golf basket on the lawn
    View("park_trees", "rooitou_park_1k", yaw=-130.0, pitch=-2.0, fov=60.0, regions=(
        (M, _rect(262, 82, 328, 122)),                                           # tree
        (M, _rect(337, 70, 383, 118)),                                           # tree
        (M, _rect(428, 72, 512, 122)),                                           # trees at the right
        (M, _rect(128, 100, 248, 126)),                                          # trees at the left
        (S, _rect(0, 0, 512, 60)),                                               # sky
        (S, _rect(180, 172, 212, 215)),                                          # the basket
    )),
    # static only: a street crossing, office towers, a bench, a cycle path
    View("platz_street", "potsdamer_platz_1k", yaw=20.0, pitch=5.0, fov=90.0, regions=(
        (S, _rect(0, 0, 125, 165)),                                              # glass facade
        (S, _rect(190, 0, 255, 125)),                                            # brick tower
        (S, _rect(335, 0, 450, 100)),                                            # sky
        (S, _rect(0, 205, 340, 250)),                                            # road
        (S, ((90, 300), (240, 250), (285, 262), (200, 320), (90, 320))),         # bench
        (S, _rect(390, 210, 512, 320)),                                          # cycle path and paving
    )),
    # static only: a museum hall, doors, a screen, benches, a wooden floor
    View("hall_interior", "st_fagans_interior_1k", yaw=0.0, pitch=0.0, fov=90.0, regions=(
        (S, _rect(0, 20, 240, 120)),                                             # ceiling and wall
        (S, _rect(48, 140, 108, 195)),                                           # double door
        (S, _rect(425, 133, 505, 167)),                                          # screen
        (S, _rect(20, 225, 105, 280)),                                           # bench
        (S, _rect(250, 215, 512, 265)),                                          # floor
    )),
)

#: sha256 of each places panorama (pmndrs/drei-assets, commit 456060a, ``hdri/<name>.hdr``).
PLACES_SHA256 = {
    "forest_slope_1k": "926a6bb81897919b2924f42407162b8d54be91eab2da3fe7fe19daf308cfa09a",
    "immenstadter_horn_1k": "799dd5a7b4b8db725b7d998bfa5fa7077bddb3e87e92d1ac04962309e87ee21c",
    "kiara_1_dawn_1k": "ee70fb8c8fb3e34566802191d83b299e179ecc392b97639e6c750f66e161c8e2",
    "dikhololo_night_1k": "6861489f983cdc0c22435b781a3487171bd25f25f9cc52c46ac402d48e08249e",
    "rooitou_park_1k": "af15cb5ca49de469e2ee74fcb6622cb32b36e3f9ee95504fc762d9c3d62c5163",
    "potsdamer_platz_1k": "7afe4c2f9700ee78c7477c53fa355463d7dda1fdede401432d6b5f9ff0a95696",
    "st_fagans_interior_1k": "8b73849c956e2d97e7a6cfacbe9396d90a84fcbd9b24327a37a6629150055cca",
}


def hdri_folder() -> Path:
    """The folder of the HDRIs inside the installed bpy wheel (found without importing bpy)."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("bpy is not installed: install the blender extra (pip install 'image-dynamics[blender]')")
    found = glob.glob(str(Path(list(spec.submodule_search_locations)[0]) / "*" / "datafiles" / "studiolights" /
                          "world"))
    if not found:
        raise SystemExit("the bpy wheel holds no datafiles/studiolights/world folder")
    return Path(found[0])


def read_panorama(path: Path) -> np.ndarray:
    """Linear float32 ``[H, W, 3]`` (RGB) of an RGB EXR or a Radiance ``.hdr``."""
    if path.suffix == ".hdr":
        bgr = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{path}: not a readable Radiance HDR file")
        return np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32)
    channels, _ = read_exr(path)
    return np.stack([channels["R"], channels["G"], channels["B"]], axis=-1).astype(np.float32)


def places_panorama(folder: Path, name: str) -> Path:
    """The places panorama ``<folder>/<name>.hdr``, checked against :data:`PLACES_SHA256`."""
    path = folder / f"{name}.hdr"
    if not path.is_file():
        raise SystemExit(f"{path}: missing; --hdri-folder must hold the 1k HDRIs of pmndrs/drei-assets (commit "
                         f"456060a, hdri/)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != PLACES_SHA256[name]:
        raise SystemExit(f"{path}: sha256 {digest[:12]}..., expected {PLACES_SHA256[name][:12]}...: another file "
                         f"than the one the labels were drawn on")
    return path


def perspective_crop(panorama: np.ndarray, yaw: float, pitch: float, fov: float, width: int = WIDTH,
                     height: int = HEIGHT) -> np.ndarray:
    """Linear float32 ``[height, width, 3]``: a pinhole view into an equirectangular ``panorama`` ``[Hp, Wp, 3]``
    (column 0 at longitude -180 degrees, row 0 at latitude +90), bilinear, wrapping around in longitude."""
    hp, wp = panorama.shape[:2]
    focal = (width / 2) / math.tan(math.radians(fov) / 2)
    xs = (np.arange(width, dtype=np.float64) + 0.5 - width / 2) / focal
    ys = -(np.arange(height, dtype=np.float64) + 0.5 - height / 2) / focal
    x, y = np.meshgrid(xs, ys)
    z = np.ones_like(x)
    p = math.radians(pitch)
    y2 = y * math.cos(p) + z * math.sin(p)
    z2 = -y * math.sin(p) + z * math.cos(p)
    lon = math.radians(yaw) + np.arctan2(x, z2)
    lat = np.arctan2(y2, np.hypot(x, z2))
    u = ((lon / (2 * math.pi) + 0.5) % 1.0) * wp - 0.5
    v = (0.5 - lat / math.pi) * hp - 0.5
    wrapped = np.concatenate([panorama, panorama[:, :1]], axis=1)  # so column wp-1 interpolates into column 0
    return cv2.remap(wrapped, u.astype(np.float32), v.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def tone_map(linear: np.ndarray, stops: float = 0.0) -> np.ndarray:
    """uint8 sRGB ``[H, W, 3]``: exposure to 0.18 x the log-average luminance x 2^stops, Reinhard, sRGB curve."""
    lum = linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    key = float(np.exp(np.log(lum + 1e-4).mean()))
    x = linear * (0.18 * 2.0 ** stops / key)
    x = x / (1.0 + x)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.clip(x, 0, None), 1 / 2.4) - 0.055)
    return (np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def draw_labels(regions, width: int = WIDTH, height: int = HEIGHT, edge_px: int = EDGE_PX) -> np.ndarray:
    """uint8 ``[height, width]`` label map from ``(label, polygon)`` regions (later ones over earlier ones), with a
    band of ``edge_px`` around every moving/static boundary set to unlabelled."""
    labels = np.zeros((height, width), np.uint8)
    for value, polygon in regions:
        pts = np.round(np.asarray(polygon, np.float64) * 8).astype(np.int32)  # 3 fractional bits
        cv2.fillPoly(labels, [pts], int(value), lineType=cv2.LINE_8, shift=3)
    if edge_px > 0:
        kernel = np.ones((2 * edge_px + 1, 2 * edge_px + 1), np.uint8)
        near_moving = cv2.dilate((labels == MOVING).astype(np.uint8), kernel) > 0
        near_static = cv2.dilate((labels == STATIC).astype(np.uint8), kernel) > 0
        labels[near_moving & near_static] = UNLABELLED
    return labels


def write_png(path: Path, pixels: np.ndarray, overwrite: bool) -> None:
    with atomic_output(path, overwrite=overwrite) as tmp:
        ok, data = cv2.imencode(".png", pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise SystemExit(f"{path}: PNG encoding failed")
        tmp.write_bytes(data.tobytes())


SETS = {"report": ("realphoto", VIEWS), "validation": ("realphoto_validation", VALIDATION_VIEWS),
        "places": ("realphoto_places", PLACES_VIEWS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=tuple(SETS), default="report",
                        help="the report set (docs/realphoto), the validation set (docs/realphoto_validation) or the "
                             "places set (docs/realphoto_places)")
    parser.add_argument("--hdri-folder", type=Path,
                        help="the places set's panoramas (pmndrs/drei-assets hdri/); the other sets use bpy's")
    parser.add_argument("--out", type=Path, help="output folder (default: the set's folder under docs/)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--only", help="comma-separated view names (default: all)")
    args = parser.parse_args(argv)
    docs = Path(__file__).resolve().parents[1] / "docs"
    folder_name, views = SETS[args.set]
    args.out = args.out or docs / folder_name
    if args.set == "places" and args.hdri_folder is None:
        raise SystemExit("--set places needs --hdri-folder: the 1k HDRIs of pmndrs/drei-assets (commit 456060a, hdri/)")
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else None
    bpy_panoramas = None if args.set == "places" else hdri_folder()
    for view in views:
        if wanted is not None and view.name not in wanted:
            continue
        path = (places_panorama(args.hdri_folder, view.hdri) if bpy_panoramas is None
                else bpy_panoramas / f"{view.hdri}.exr")
        image = tone_map(perspective_crop(read_panorama(path), view.yaw, view.pitch, view.fov), view.stops)
        write_png(args.out / f"{view.name}.png", image, args.overwrite)
        if view.regions:
            write_png(args.out / f"{view.name}_labels.png", draw_labels(view.regions), args.overwrite)
        print(f"{view.name}: {path.name} yaw {view.yaw} pitch {view.pitch} fov {view.fov}"
              f"{'' if view.regions else ' (no labels yet)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
