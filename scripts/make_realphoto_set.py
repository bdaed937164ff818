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

Usage: ``python scripts/make_realphoto_set.py [--set report|validation] [--out DIR] [--overwrite]``; the
Blender-rendered plant close-ups are made by ``scripts/render_realphoto_plants.py``.
"""

from __future__ import annotations

import argparse
import glob
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
    """Linear float32 ``[H, W, 3]`` of an RGB EXR."""
    channels, _ = read_exr(path)
    return np.stack([channels["R"], channels["G"], channels["B"]], axis=-1).astype(np.float32)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("report", "validation"), default="report",
                        help="the report set (docs/realphoto) or the validation set (docs/realphoto_validation)")
    parser.add_argument("--out", type=Path, help="output folder (default: the set's folder under docs/)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--only", help="comma-separated view names (default: all)")
    args = parser.parse_args(argv)
    docs = Path(__file__).resolve().parents[1] / "docs"
    args.out = args.out or docs / ("realphoto" if args.set == "report" else "realphoto_validation")
    args.out.mkdir(parents=True, exist_ok=True)
    folder = hdri_folder()
    wanted = set(args.only.split(",")) if args.only else None
    for view in VIEWS if args.set == "report" else VALIDATION_VIEWS:
        if wanted is not None and view.name not in wanted:
            continue
        image = tone_map(perspective_crop(read_panorama(folder / f"{view.hdri}.exr"), view.yaw, view.pitch, view.fov),
                         view.stops)
        write_png(args.out / f"{view.name}.png", image, args.overwrite)
        if view.regions:
            write_png(args.out / f"{view.name}_labels.png", draw_labels(view.regions), args.overwrite)
        print(f"{view.name}: {view.hdri}.exr yaw {view.yaw} pitch {view.pitch} fov {view.fov}"
              f"{'' if view.regions else ' (no labels yet)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
