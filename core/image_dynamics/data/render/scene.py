"""Scene layouts drawn from a seed: families of objects with geometry, materials, motion, light and camera.

Pure numpy (no Blender): :func:`layout` returns a :class:`SceneSpec` that :mod:`.blender` turns into a Blender scene
and :mod:`.truth` uses for the exact motion. The same seed gives the same spec, bit for bit.

Families (``FAMILY_WEIGHTS``): ``meadow`` (grass, flowers, shrubs, trees, rocks, hills and mountains), ``lake`` (a lake
with Gerstner waves and ripples, a near bank with reeds, grass and rocks, a far shore with a tree line and mountains),
``coast`` (sea swell and wind waves, a beach or rock shore, cliffs, dune grass), ``village`` (houses, walls, paving,
fences, a flag, laundry, trees and shrubs), ``garden`` (close-ups of flowers and leafy plants in front of a hedge,
wall or trees, often with a shallow depth of field), ``interior`` (a room with a table, candles, curtains at a bright
window, furniture, books and vases), ``campfire`` (a fire of several flames on logs in a ring of stones at dusk,
grass and trees around), ``waterfront``, ``rockery`` and ``promenade`` (still quays, stones and slabs beside water
and plants), ``specimen`` (close-ups of single plants) and ``still_life`` (the same close-ups of still things, and
still rooms, with nothing moving), ``calm_water`` (a canal, harbour or lake at dusk, its water still and mirroring)
``yard`` (laundry before a wall, often under a shed roof), ``park`` (trees beyond a mown lawn with still things
on it), ``quayside`` (a wide quay with calm water beside it at dusk), ``towers`` (still city blocks whose facades
are grids of windows, seen from a car-park deck or a street) and ``outcrop`` (pinnacles and cliffs of pale bedded rock
among tall trees); docs/data.md has the table. Moving objects get part ids 1, 2, ...; static ones 0.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from . import geometry as geo
from .camera import Camera, look_at
from .motion import Motion, deep_water_wavenumber, gerstner

FAMILY_WEIGHTS = {"meadow": 0.16, "lake": 0.12, "coast": 0.09, "waterfront": 0.10, "village": 0.13, "garden": 0.12,
                  "rockery": 0.09, "promenade": 0.08, "interior": 0.06, "campfire": 0.05, "specimen": 0.08,
                  "still_life": 0.05, "calm_water": 0.06, "yard": 0.05, "park": 0.05, "quayside": 0.04,
                  "towers": 0.04, "outcrop": 0.04}
FAMILIES = tuple(FAMILY_WEIGHTS)
HDRIS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")
SOURCE = "blender-v18"  # recorded in dataset.json: bump when scenes change so old and new data are not mixed
BASE_HZ = 0.2
_EXPECTED_HIDDEN_GAINS = contextvars.ContextVar("render_expected_hidden_gains", default=False)


@contextlib.contextmanager
def expected_hidden_gains() -> Iterator[None]:
    """Within this context :func:`layout` gives every amplitude factor the picture does not show its root mean square
    instead of its random draw: how strongly the wind moves plants and how far each grass field, flower bed, shrub,
    tree and flame sways or flickers. The scene, its geometry and frame 0 are unchanged (those motions are anchored:
    frame 0 shows them at rest), so its motion energy is the best estimate from appearance alone, which bounds what a
    model can score (the appearance ceiling; :func:`image_dynamics.data.render.worker.ceiling_truths`). Cloth and
    water are not hidden: frame 0 shows their folds and waves."""
    token = _EXPECTED_HIDDEN_GAINS.set(True)
    try:
        yield
    finally:
        _EXPECTED_HIDDEN_GAINS.reset(token)


def _rms(low: float, high: float) -> float:
    """Root mean square of a uniform draw from ``[low, high]``."""
    return math.sqrt((low * low + low * high + high * high) / 3.0)


def _hidden(rng: np.random.Generator, low: float, high: float) -> float:
    """A uniform draw from ``[low, high]`` the picture does not show (its RMS under :func:`expected_hidden_gains`);
    the draw is consumed either way, so the rest of the scene stays the same."""
    drawn = float(rng.uniform(low, high))
    return _rms(low, high) if _EXPECTED_HIDDEN_GAINS.get() else drawn


@dataclass
class SceneObject:
    """One mesh: rest positions ``verts`` float64 ``[N, 3]`` (metres), triangles ``faces`` int32 ``[F, 3]``, a material
    spec (``kind`` plus colours and scales), its part id (0: static) and motion (None: static)."""

    name: str
    verts: np.ndarray
    faces: np.ndarray
    material: dict
    part: int = 0
    motion: Motion | None = None
    smooth: bool = True


@dataclass
class SceneSpec:
    """Everything a render needs: objects, camera, world light (sky, HDRI, sun) and render settings."""

    seed: int
    family: str
    camera: Camera
    objects: list[SceneObject] = field(default_factory=list)
    world: dict = field(default_factory=dict)
    samples: int = 16

    @property
    def motions(self) -> dict[int, Motion]:
        return {o.part: o.motion for o in self.objects if o.part > 0 and o.motion is not None}

    def add(self, name: str, mesh: tuple[np.ndarray, np.ndarray], material: dict, motion: Motion | None = None,
            smooth: bool = True) -> SceneObject:
        part = 0 if motion is None else 1 + max((o.part for o in self.objects), default=0)
        if motion is not None:
            motion.camera_pos = self.camera.position.copy()
            motion.pixel_angle = self.camera.pixel_angle
        obj = SceneObject(name, np.asarray(mesh[0], np.float64), np.asarray(mesh[1], np.int32), material, part,
                          motion, smooth)
        if obj.verts.shape[0]:
            self.objects.append(obj)
        return obj


def _harm(rng: np.random.Generator, lo: int, hi: int) -> float:
    """A random harmonic of the 150-frame window, ``k * 0.2`` Hz with ``lo <= k <= hi``."""
    return BASE_HZ * int(rng.integers(lo, hi + 1))


def _colour(rng, base, spread=0.08):
    c = np.asarray(base, np.float64) * np.exp(rng.normal(0, spread, 3))
    return tuple(float(x) for x in np.clip(c, 0.0, 1.0))


class _Builder:
    """Shared state while laying out one scene: rng, camera, view wedge, wind."""

    def __init__(self, seed: int, family: str, width: int, height: int) -> None:
        self.rng = rng = np.random.default_rng([int(seed), 0x5EED])
        self.family = family
        close = family in ("garden", "interior")
        self.cam_h = float(rng.uniform(0.25, 1.2) if close else rng.choice([rng.uniform(1.2, 2.0),
                                                                          rng.uniform(2.0, 8.0)]))
        self.lens = float(rng.uniform(40, 100) if close else rng.uniform(18, 60))
        pitch = math.radians(rng.uniform(-18, 0) if close else rng.uniform(-14, 4))
        roll = math.radians(rng.normal(0, 1.2))
        pos = np.array([0.0, 0.0, self.cam_h])
        target = pos + np.array([0.0, math.cos(pitch), math.sin(pitch)])
        fstop, focus = 0.0, 10.0
        if (family == "garden" and rng.random() < 0.5) or rng.random() < 0.15:
            # shallow enough to show, deep enough that the plants in focus keep their known motion
            fstop = float(rng.uniform(4.0, 11.0) if close else rng.uniform(1.8, 5.6))
            focus = float(rng.uniform(0.8, 3.0) if close else rng.uniform(3.0, 15.0))
        self.camera = Camera(look_at(pos, target, roll), self.lens, 36.0, int(width), int(height), fstop, focus)
        self.half_fov = math.atan(18.0 / self.lens) * 1.15
        self.pitch = pitch
        self.wind_dir = float(rng.uniform(0, 2 * np.pi))
        self.wind = float(rng.uniform(0.25, 1.0))
        # plants show nothing of the wind's strength (cloth and water do, by their shape in frame 0)
        self.plant_wind = _rms(0.25, 1.0) if _EXPECTED_HIDDEN_GAINS.get() else self.wind
        self.gust_speed = float(rng.uniform(1.5, 4.0))
        self.spec = SceneSpec(int(seed), family, self.camera, world=self._world())

    def aim(self, target, height: float | None = None, lens: float | None = None) -> None:
        """Point the camera at ``target`` (before any object is added), optionally from another height or lens."""
        assert not self.spec.objects, "aim the camera before adding objects (their motion records its position)"
        cam = self.camera
        self.cam_h = float(height) if height is not None else self.cam_h
        self.lens = float(lens) if lens is not None else self.lens
        pos = np.array([0.0, 0.0, self.cam_h])
        forward = np.asarray(target, np.float64) - pos
        self.pitch = math.atan2(forward[2], math.hypot(forward[0], forward[1]))
        self.camera = Camera(look_at(pos, target, math.radians(self.rng.normal(0, 1.0))), self.lens, 36.0, cam.width,
                             cam.height, cam.fstop, cam.focus_m)
        self.half_fov = math.atan(18.0 / self.lens) * 1.15
        self.spec.camera = self.camera

    # -- placement ---------------------------------------------------------------------------------------------
    def scatter(self, n: int, r0: float, r1: float, spread: float = 1.0) -> np.ndarray:
        """float64 ``[n, 2]`` positions in the view wedge, log-uniform in distance (even on screen) between ``r0`` and
        ``r1`` metres (in either order)."""
        r0, r1 = sorted((float(r0), float(r1)))
        r = np.exp(self.rng.uniform(math.log(r0), math.log(max(r1, r0 * 1.001)), n))
        a = self.rng.uniform(-self.half_fov * spread, self.half_fov * spread, n)
        return np.stack([-r * np.sin(a), r * np.cos(a)], -1)

    def min_visible_r(self, surface_z: float = 0.0) -> float:
        """Nearest distance (metres) at which the camera sees a level surface at height ``surface_z`` (the ground:
        0), along the bottom edge of the frame."""
        vfov = math.atan(18.0 / self.lens * self.camera.height / self.camera.width)
        down = -(self.pitch - vfov)
        return (self.cam_h - surface_z) / math.tan(down) if down > 0.01 else 1.0

    # -- world ---------------------------------------------------------------------------------------------------
    def _world(self) -> dict:
        rng = self.rng
        elevation = float(rng.choice([rng.uniform(2, 12), rng.uniform(12, 65)], p=[0.3, 0.7]))
        return {"sun_elevation_deg": elevation, "sun_azimuth_deg": float(rng.uniform(0, 360)),
                "sun_strength": float(rng.uniform(2.0, 5.0) * min(1.0, elevation / 15 + 0.3)),
                "sun_size_deg": float(rng.uniform(0.5, 3.0)),
                "air": float(rng.uniform(0.6, 1.8)), "aerosol": float(rng.uniform(0.2, 3.0)),
                "ozone": float(rng.uniform(0.5, 2.0)), "sky_strength": float(rng.uniform(0.25, 0.5)),
                "hdri": str(rng.choice(HDRIS)), "hdri_strength": float(rng.uniform(0.3, 1.2)),
                "hdri_rotation_deg": float(rng.uniform(0, 360)), "hdri_mix": float(rng.uniform(0.3, 0.8)),
                "exposure": float(rng.normal(0.0, 0.3)), "look": str(rng.choice(["None", "Medium High Contrast",
                                                                                 "Base Contrast", "Punchy"]))}

    # -- motion ---------------------------------------------------------------------------------------------------
    def sway(self, base_z: float, length: float, tip_amp: float, power: float, flutter: float,
             flutter_len: float, origin_xy=(0.0, 0.0)) -> Motion:
        """Wind sway with a height profile (cantilever ``s^power`` from ``base_z`` over ``length``), a gust phase
        travelling with the wind, a second slow term, leaf flutter with a short wavelength, and the stem's drop."""
        rng = self.rng
        m = Motion.empty()
        cw, sw = math.cos(self.wind_dir), math.sin(self.wind_dir)
        origin = (origin_xy[0], origin_xy[1], base_z)
        f1 = _harm(rng, 1, 4)
        k1 = 2 * np.pi * f1 / self.gust_speed
        m.add(f1, (tip_amp * cw, tip_amp * sw, 0.0), (-k1 * cw, -k1 * sw, 0.0), rng.uniform(0, 6.3), origin,
              (0, 0, 1), length, power, 1.6)
        f2 = _harm(rng, 1, 6)
        a2 = tip_amp * _hidden(rng, 0.2, 0.5)
        d2 = self.wind_dir + rng.normal(0, 0.8)
        k2 = 2 * np.pi * f2 / (self.gust_speed * rng.uniform(0.7, 1.5))
        m.add(f2, (a2 * math.cos(d2 + 1.2), a2 * math.sin(d2 + 1.2), 0.0), (-k2 * math.cos(d2), -k2 * math.sin(d2), 0),
              rng.uniform(0, 6.3), origin, (0, 0, 1), length, power, 1.6)
        for _ in range(int(rng.integers(1, 3))):
            f3 = _harm(rng, 6, 15) if rng.random() < 0.8 else float(rng.uniform(1.1, 4.5))
            direction = rng.normal(size=3) * (1, 1, 0.5)
            direction /= np.linalg.norm(direction)
            kd = rng.normal(size=3)
            kd = kd / np.linalg.norm(kd) * 2 * np.pi / (flutter_len * rng.uniform(0.7, 1.4))
            m.add(f3, tuple(flutter * _hidden(rng, 0.5, 1.0) * direction), tuple(kd), rng.uniform(0, 6.3), origin,
                  (0, 0, 1), length, 0.7, 1.6)
        m.drop, m.drop_length = 0.5, length
        m.anchored = True
        return m

    # -- objects --------------------------------------------------------------------------------------------------
    def ground(self, kind: str, r0: float, r1: float, hills: float = 0.0, flat_r: float = 25.0) -> None:
        rng = self.rng
        waves = [(rng.normal(size=2) * 2 * np.pi / rng.uniform(40, 300), rng.uniform(0, 6.3)) for _ in range(4)]

        def height(x, y):
            r = np.hypot(x, y)
            ramp = np.clip((r - flat_r) / (2 * flat_r), 0, 1)
            return hills * ramp * sum(np.sin(k[0] * x + k[1] * y + p) for k, p in waves) / 2

        mesh = geo.polar_grid((0.0, 0.0), 0.0, self.half_fov * 1.25, r0, r1, 160, 64, height)
        self.spec.add("ground", mesh, self.material(kind))

    def far_tree_line(self, far: float) -> None:
        """30-90 crowns 1-3 % of ``far`` tall along a far shore or the edge of a field ``far`` to ``1.3 far`` metres
        away, swaying in the wind as :meth:`plant`'s trees do.

        Why they move: at that distance a crown's sway is a fraction of a pixel (0.03-0.3 px at 256 px wide), but
        it is more than the sky's, the shore's or a lawn's. Generator v14 and earlier drew these crowns still, which
        taught the networks that distant trees are as still as the sky: every run that added the calm-water family
        (whose lakes end in such tree lines) lost the places set's park trees (docs/model-card.md, RL15-RL19)."""
        rng = self.rng
        trees, tallest = [], 0.0
        for x, y in self.scatter(int(rng.integers(30, 90)), far * 1.02, far * 1.3, 1.2):
            hgt = rng.uniform(0.01, 0.03) * far
            tallest = max(tallest, 0.6 * hgt)
            trees.append(geo.blob((x, y, 0), (hgt * 0.3, hgt * 0.3, hgt * 0.6), rng, 0.3, 6, 8))
        amp = self.plant_wind * tallest * _hidden(rng, 0.005, 0.03)
        # the flutter's wavelength spans a crown: these blobs have too few vertices to carry leaf-sized waves
        motion = self.sway(0.0, tallest, amp, 1.5, self.plant_wind * _hidden(rng, 0.01, 0.04),
                           tallest * float(rng.uniform(0.5, 1.5)))
        self.spec.add("tree_line", geo.merge(*trees), self.material("leaf"), motion)

    def far_quay(self, x: float, far: float, width: float, top: float) -> None:
        """A quay wall across the water ``far`` metres away (centred on ``x``, ``width`` metres long, its top ``top``
        metres above the water) with 4-13 houses standing on the land behind it, all still."""
        rng = self.rng
        self.spec.add("far_quay", geo.box((x, far + 10.0, -0.3), (width, 20.0, top + 0.3)),
                      self.material(str(rng.choice(["stone_wall", "paving"]))), smooth=False)
        for hx, hy in self.scatter(int(rng.integers(4, 14)), far + 8, far + 40, 1.1):
            self.house((float(hx), float(hy)), float(rng.normal(0, 0.1)))

    def mountains(self, dist: float, height: float) -> None:
        rng = self.rng
        r = np.linspace(dist, dist * 1.6, 12)
        a = np.linspace(-self.half_fov * 1.3, self.half_fov * 1.3, 96)
        rr, aa = np.meshgrid(r, a, indexing="ij")
        ridge = np.zeros_like(aa)
        for octave in range(5):
            ridge += rng.uniform(0.3, 1.0) / (1.6 ** octave) * np.sin(aa * rng.uniform(3, 9) * 2 ** octave
                                                                      + rng.uniform(0, 6.3))
        prof = np.sin(np.pi * (rr - dist) / (0.6 * dist)).clip(0, None)
        z = height * (0.55 + 0.35 * ridge) * prof
        x, y = -rr * np.sin(aa), rr * np.cos(aa)
        mesh = (np.stack([x, y, z], -1).reshape(-1, 3), geo.grid_faces(12, 96))
        self.spec.add("mountains", mesh, self.material("mountain"))

    def grass(self, n: int, r0: float, r1: float, height: float, kind: str = "grass", width: float = 0.012,
              spread: float = 1.1) -> None:
        rng = self.rng
        xy = self.scatter(n, r0, r1, spread)
        roots = np.concatenate([xy, np.zeros((n, 1))], 1)
        heights = height * rng.uniform(0.5, 1.3, n)
        lean_dir = self.wind_dir + rng.normal(0, 0.9, n)
        lean = (heights * rng.uniform(0.05, 0.45, n))[:, None] * np.stack([np.cos(lean_dir), np.sin(lean_dir)], 1)
        # blades further away are drawn wider (tufts), so a field still covers its ground where a blade is sub-pixel
        tuft = 1.0 + np.hypot(xy[:, 0], xy[:, 1]) * self.camera.pixel_angle / width
        mesh = geo.blades(roots, heights, width * tuft * rng.uniform(0.6, 1.4, n), lean, rng.uniform(0, np.pi, n))
        amp = self.plant_wind * height * _hidden(rng, 0.08, 0.3)
        motion = self.sway(0.0, height, amp, float(rng.uniform(1.6, 2.3)), amp * _hidden(rng, 0.1, 0.35),
                           float(rng.uniform(0.3, 1.0)))
        self.spec.add(kind, mesh, self.material(kind), motion)

    def flowers(self, n: int, r0: float, r1: float, height: float, open_faces: bool = False) -> None:
        """``n`` flowers on stems of about ``height`` (metres) scattered ``r0``-``r1`` from the camera: a ring of
        petals at each stem's top, facing up (``open_faces`` False: the meadow's and garden's heads, seen from metres
        away) or, with ``open_faces``, turned 20-75 degrees from the zenith towards the camera (give or take 35
        degrees) around a solid disc of 40-80 % of the petals' length (a daisy's or sunflower's seed head), on
        stems 4-15 mm wide (6 mm otherwise): a close-up's heads show their faces, whose pixels are one surface and
        so have known motion, where petals seen edge-on are all silhouette."""
        rng = self.rng
        xy = self.scatter(n, r0, r1, 1.05)
        roots = np.concatenate([xy, np.zeros((n, 1))], 1)
        heights = height * rng.uniform(0.7, 1.3, n)
        lean = rng.normal(0, 0.06, (n, 2)) * heights[:, None]
        # close up, stems from a daisy's to a tulip's or sunflower's (4-15 mm): a wide one is a surface of its own
        stem_width = float(rng.uniform(0.004, 0.015)) if open_faces else 0.006
        stems = geo.blades(roots, heights, np.full(n, stem_width), lean, rng.uniform(0, np.pi, n), segments=5)
        tips = roots + np.concatenate([lean * 0.85, heights[:, None] * 0.87], 1)
        petals_per = int(rng.integers(5, 9))
        ang = np.linspace(0, 2 * np.pi, petals_per, endpoint=False)
        size = height * rng.uniform(0.05, 0.12)
        if open_faces:
            facing = np.arctan2(-tips[:, 1], -tips[:, 0]) + rng.normal(0, 0.6, n)  # towards the camera at (0, 0)
            tilt = rng.uniform(math.radians(20), math.radians(75), n)
            face, u, v = geo.plane_axes(np.stack([np.cos(facing) * np.sin(tilt), np.sin(facing) * np.sin(tilt),
                                                  np.cos(tilt)], -1))
            radial = np.cos(ang)[None, :, None] * u[:, None] + np.sin(ang)[None, :, None] * v[:, None]  # [n, p, 3]
            centres = (tips[:, None] + size * 0.9 * radial).reshape(-1, 3)
            normals = (face[:, None] + 0.3 * radial).reshape(-1, 3)
            along = radial.reshape(-1, 3)  # petals point out from the disc (leaves then draws nothing)
            disc = geo.discs(tips + 0.02 * size * face, face, size * rng.uniform(0.4, 0.8, n))
        else:
            centres = (tips[:, None] + size * 0.7 * np.stack([np.cos(ang), np.sin(ang), 0 * ang], -1)[None]
                       ).reshape(-1, 3)
            normals = np.tile(np.stack([0.4 * np.cos(ang), 0.4 * np.sin(ang), np.ones_like(ang)], -1), (n, 1))
            along = None
        heads = geo.leaves(centres, normals, np.full(centres.shape[0], size), rng, subdiv=1, along=along)
        amp = self.plant_wind * height * _hidden(rng, 0.06, 0.2)
        motion = self.sway(0.0, height, amp, float(rng.uniform(1.5, 2.2)), amp * _hidden(rng, 0.1, 0.3),
                           float(rng.uniform(0.4, 1.2)))
        self.spec.add("flower_stems", stems, self.material("grass"), motion)
        petal = self.material("petal")
        stems_obj = self.spec.objects[-1]
        self.spec.add("flower_heads", heads, petal, stems_obj.motion).part = stems_obj.part  # same plants, same motion
        if open_faces:
            self.spec.add("flower_discs", disc, self.material("flower_disc"), stems_obj.motion).part = stems_obj.part

    def plant(self, pos_xy, height: float, spread: float, n_leaves: int, kind: str = "leaf",
              crown_base: float = 0.0, trunk: float = 0.0, stiffness: float = 1.0, base_z: float = 0.0) -> None:
        """A shrub (trunk 0) or tree (trunk radius > 0) rooted at height ``base_z`` (metres; on a rock, say): leaves
        in an ellipsoid crown from ``crown_base`` to ``height`` above its root, swaying from the root."""
        rng = self.rng
        x, y = pos_xy
        c = np.array([x, y, base_z + crown_base + (height - crown_base) / 2])
        rad = np.array([spread, spread, (height - crown_base) / 2])
        d = rng.normal(size=(n_leaves, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        centres = c + d * rad * rng.uniform(0.55, 1.0, (n_leaves, 1)) ** 0.5
        normals = d + rng.normal(0, 0.6, (n_leaves, 3))
        area = 4 * np.pi * float(np.mean(rad)) ** 2  # crown surface, m^2: about 2.5 leaf layers over it
        leaf = float(np.clip(math.sqrt(2.5 * area / (1.6 * n_leaves)), 0.04, 0.45) * rng.uniform(0.8, 1.2))
        meshes = [geo.leaves(centres, normals, leaf * rng.uniform(0.7, 1.3, n_leaves), rng)]
        if trunk > 0:
            meshes.append(geo.tube((x, y, base_z - 0.1), (x + rng.normal(0, 0.2), y + rng.normal(0, 0.2),
                                                          base_z + height * 0.8), trunk, trunk * 0.35, 8, 5))
            for _ in range(int(rng.integers(3, 7))):
                start = np.array([x, y, base_z + crown_base + rng.uniform(0, 0.5) * (height - crown_base)])
                end = c + d[rng.integers(n_leaves)] * rad * 0.8
                meshes.append(geo.tube(start, end, trunk * 0.35, trunk * 0.1, 6, 2))
        amp = self.plant_wind * height * _hidden(rng, 0.005, 0.03) / stiffness
        motion = self.sway(base_z, height, amp, 2.0 if trunk else 1.5, self.plant_wind * _hidden(rng, 0.01, 0.04),
                           float(rng.uniform(0.5, 1.5)), origin_xy=(x, y))
        leaves_obj = self.spec.add(f"{kind}_crown", meshes[0], self.material(kind), motion)
        if trunk > 0:
            wood = self.spec.add("trunk", geo.merge(*meshes[1:]), self.material("bark"), motion)
            wood.part = leaves_obj.part

    def rocks(self, n: int, r0: float, r1: float, size: float) -> None:
        rng = self.rng
        meshes = []
        for x, y in self.scatter(n, r0, r1, 1.1):
            s = size * rng.uniform(0.3, 1.5) * (1 + math.hypot(x, y) / 40)
            meshes.append(geo.blob((x, y, 0.0), (s * rng.uniform(0.7, 1.4), s * rng.uniform(0.7, 1.4),
                                                 s * rng.uniform(0.4, 0.9)), rng))
        self.spec.add("rocks", geo.merge(*meshes), self.material("rock"))

    def _water_mesh(self, r0: float, r1: float) -> tuple[np.ndarray, np.ndarray]:
        """The water plane (z = 0) in the view wedge from ``r0`` to ``r1`` metres, its rings even in inverse
        distance (about even on screen) and about 1.2 px apart near the camera."""
        n_a = int(self.camera.width / 1.2 * 1.25)
        f_px = self.camera.focal_px
        n_r = int(np.clip(f_px * self.cam_h / r0 / 1.2, 60, 600))
        inv = np.linspace(1.0 / r0, 1.0 / r1, n_r)
        rings = 1.0 / inv
        a = np.linspace(-self.half_fov * 1.25, self.half_fov * 1.25, n_a)
        rr, aa = np.meshgrid(rings, a, indexing="ij")
        verts = np.stack([-rr * np.sin(aa), rr * np.cos(aa), np.zeros_like(rr)], -1).reshape(-1, 3)
        return verts, geo.grid_faces(n_r, n_a)

    def water(self, r0: float, r1: float, sea: bool) -> None:
        rng = self.rng
        mesh = self._water_mesh(r0, r1)
        m = Motion.empty()
        wind_dir = self.wind_dir
        if sea:
            for _ in range(int(rng.integers(1, 3))):
                f = _harm(rng, 1, 2)
                k = deep_water_wavenumber(f)
                gerstner(m, f, float(rng.uniform(0.02, 0.06) / k), math.pi / 2 + rng.normal(0, 0.4),
                         rng.uniform(0, 6.3), 6.0)
        n_waves = int(rng.integers(4, 9))
        calm = float(rng.uniform(0.5, 1.0)) * (0.5 + 0.5 * self.wind)
        for _ in range(n_waves):
            f = _harm(rng, 2, 12) if rng.random() < 0.85 else float(rng.uniform(0.5, 2.5))
            k = deep_water_wavenumber(f)
            steep = rng.uniform(0.05, 0.16) * calm / math.sqrt(n_waves / 4)
            gerstner(m, f, float(steep / k), wind_dir + rng.normal(0, 0.9), rng.uniform(0, 6.3), 6.0)
        m.fade_height = self.cam_h
        self.spec.add("sea" if sea else "lake", mesh, self.material("sea" if sea else "water"), m)

    def calm_water(self, r0: float, r1: float) -> None:
        """Still water as a canal, a harbour basin or a lake on a windless evening shows it: one or two long, low
        swells (0.2-0.6 Hz, slopes of 0.3-1.2 %: 2-7 cm at 0.2 Hz) and 5-10 small ripples of 1-3 Hz running every
        way, so that it moves about a pixel near the camera and a tenth of one far off. Its material
        (``calm_water``: dark, no foam, a faint bump) leaves a smooth surface that mirrors what stands round it, as
        the photos' water that no network here moved (docs/model-card.md, "Other directions" item 12)."""
        rng = self.rng
        m = Motion.empty()
        # steepness (amplitude x wavenumber) sets the slopes, which set how much the mirrored shore breaks up
        for _ in range(int(rng.integers(1, 3))):
            f = _harm(rng, 1, 3)
            k = deep_water_wavenumber(f)
            gerstner(m, f, float(rng.uniform(0.003, 0.012) / k), self.wind_dir + rng.normal(0, 0.6),
                     rng.uniform(0, 6.3), 6.0)
        n_ripples = int(rng.integers(5, 11))
        for _ in range(n_ripples):
            f = _harm(rng, 5, 15)
            k = deep_water_wavenumber(f)
            steep = rng.uniform(0.004, 0.02) / math.sqrt(n_ripples / 4)
            gerstner(m, f, float(steep / k), float(rng.uniform(0, 2 * np.pi)), rng.uniform(0, 6.3), 6.0)
        m.fade_height = self.cam_h
        self.spec.add("calm_water", self._water_mesh(r0, r1), self.material("calm_water"), m)

    def flag(self, pos_xy, pole_h: float, size: float, laundry: bool = False, folds: bool = False) -> None:
        """A flag on a pole, or (``laundry``) a line between two posts with cloths pegged along it; ``folds`` gives
        each cloth vertical folds in its rest shape (1-4 cm deep, 8-25 cm apart), so that cloth hanging in still air
        still looks like cloth."""
        rng = self.rng
        x, y = pos_xy
        if laundry:
            length = size * rng.uniform(3, 6)
            self.spec.add("posts", geo.merge(geo.tube((x, y, 0), (x, y, pole_h), 0.03, 0.03, 6, 1),
                                             geo.tube((x + length, y, 0), (x + length, y, pole_h), 0.03, 0.03, 6, 1)),
                          self.material("wood"))
            self.spec.add("line", geo.tube((x, y, pole_h * 0.97), (x + length, y, pole_h * 0.97), 0.005, 0.005, 4, 1),
                          self.material("metal"))
            u = 0.2
            while u < length - 0.3:
                w, h = size * rng.uniform(0.4, 1.0), size * rng.uniform(0.5, 1.2)
                top = pole_h * 0.97
                mesh = geo.sheet((x + u, y, top), (1, 0, 0), (0, 0, -1), min(w, length - u - 0.1), h,
                                 32 if folds else 10, 12)
                if folds:
                    verts = mesh[0].copy()
                    verts[:, 1] += rng.uniform(0.01, 0.04) * np.sin(2 * np.pi * (verts[:, 0] - x - u)
                                                                    / rng.uniform(0.08, 0.25) + rng.uniform(0, 6.3))
                    mesh = (verts, mesh[1])
                m = Motion.empty()
                f = _harm(rng, 2, 8)
                k = 2 * np.pi * f / rng.uniform(1.5, 4.0)
                a = self.wind * h * rng.uniform(0.03, 0.1)
                m.add(f, (0, a, 0), (0, 0, k), rng.uniform(0, 6.3), (0, 0, top), (0, 0, -1), h, 1.5, 1.0)
                m.add(_harm(rng, 1, 3), (a * 0.3, a * 0.8, 0), (0, 0, 0), rng.uniform(0, 6.3), (0, 0, top),
                      (0, 0, -1), h, 1.2, 1.0)
                self.spec.add("laundry", mesh, self.material("cloth"), m)
                u += w + rng.uniform(0.1, 0.4)
            return
        self.spec.add("pole", geo.tube((x, y, 0), (x, y, pole_h), 0.04, 0.03, 6, 1), self.material("metal"))
        direction = self.wind_dir
        ux, uy = math.cos(direction), math.sin(direction)
        w, h = size * 1.5, size
        mesh = geo.sheet((x, y, pole_h - h), (ux, uy, 0), (0, 0, 1), w, h, 16, 11)
        m = Motion.empty()
        for _ in range(2):
            f = _harm(rng, 3, 12)
            k = 2 * np.pi * f / rng.uniform(2.0, 5.0)
            a = self.wind * w * rng.uniform(0.03, 0.08)
            m.add(f, (-uy * a, ux * a, a * 0.2), (-k * ux, -k * uy, 0), rng.uniform(0, 6.3), (x, y, 0), (ux, uy, 0),
                  w, 1.3, 1.0)
        self.spec.add("flag", mesh, self.material("cloth"), m)

    def flame(self, base, height: float, radius: float) -> None:
        """A flame: waves running up it (sideways, growing with height) and a vertical flicker."""
        rng = self.rng
        m = Motion.empty()
        origin = tuple(float(v) for v in base)
        for _ in range(int(rng.integers(2, 4))):
            f = _harm(rng, 4, 15) if rng.random() < 0.8 else float(rng.uniform(3.0, 5.0))
            k = 2 * np.pi / (height * rng.uniform(0.8, 2.5))
            d = rng.uniform(0, 2 * np.pi)
            a = height * _hidden(rng, 0.04, 0.12)
            m.add(f, (a * math.cos(d), a * math.sin(d), 0.0), (0.0, 0.0, -k), rng.uniform(0, 6.3), origin,
                  (0, 0, 1), height, float(rng.uniform(1.2, 2.0)), 1.0)
        m.add(_harm(rng, 3, 12), (0.0, 0.0, height * _hidden(rng, 0.04, 0.1)), (0, 0, 0), rng.uniform(0, 6.3), origin,
              (0, 0, 1), height, 1.0, 1.0)
        m.anchored = True
        self.spec.add("flame", geo.flame(base, height, radius), self.material("flame"), m)

    def curtain(self, x0: float, x1: float, y: float, top: float, drop: float) -> None:
        """A curtain hanging from a rod: folds (frame 0 shows them) and a breeze wave running along it."""
        rng = self.rng
        mesh = geo.sheet((x0, y, top), (1, 0, 0), (0, 0, -1), x1 - x0, drop, 40, 24)
        m = Motion.empty()
        folds = 2 * np.pi / rng.uniform(0.1, 0.25)
        m.add(BASE_HZ, (0.0, rng.uniform(0.02, 0.05), 0.0), (folds, 0, 0), rng.uniform(0, 6.3), (0, 0, top),
              (0, 0, -1), drop, 0.3, 1.0)
        for _ in range(2):
            f = _harm(rng, 1, 5)
            k = 2 * np.pi / rng.uniform(0.6, 2.0)
            a = drop * self.wind * rng.uniform(0.02, 0.06)
            m.add(f, (a * 0.3, a, 0.0), (k * rng.choice([-1, 1]), 0, 0), rng.uniform(0, 6.3), (0, 0, top),
                  (0, 0, -1), drop, 1.5, 1.0)
        self.spec.add("curtain", mesh, self.material("cloth"), m)

    def house(self, pos_xy, yaw: float) -> None:
        rng = self.rng
        w, d, h = rng.uniform(5, 12), rng.uniform(5, 10), rng.uniform(3, 9)
        x, y = pos_xy
        self.spec.add("house", geo.box((x, y, -0.2), (w, d, h + 0.2), yaw), self.material("wall"), smooth=False)
        self.spec.add("roof", geo.gable_roof((x, y, h), (w, d), rng.uniform(1.5, 3.5), yaw), self.material("roof"),
                      smooth=False)
        c, s = math.cos(yaw), math.sin(yaw)
        wins = []
        floors = max(1, int(h / 3))
        for fl in range(floors):
            for i in range(max(1, int(w / 2.5))):
                lx = -w / 2 + (i + 0.5) * w / max(1, int(w / 2.5))
                lz = 1.0 + fl * 3.0
                cx, cy = x + c * lx - s * (-d / 2), y + s * lx + c * (-d / 2)
                wins.append(geo.box((cx, cy, lz), (1.0, 0.08, 1.3), yaw))
        self.spec.add("windows", geo.merge(*wins), self.material("glass"), smooth=False)

    def tower(self, pos_xy, yaw: float, size, style: str) -> None:
        """A still office or apartment block standing on ``pos_xy`` (its footprint's centre), turned by ``yaw``,
        ``size`` (width, depth, height) in metres, its facades covered by a regular grid of ``style``: ``punched``
        (rows of windows in a plastered, brick or stone wall), ``ribbon`` (a band of glass along every floor) or
        ``curtain`` (a glass wall under a grid of mullions). Only the faces turned to the camera get their grid."""
        rng = self.rng
        w, d, h = (float(v) for v in size)
        x, y = (float(v) for v in pos_xy)
        body = self.material("glass" if style == "curtain" else str(rng.choice(["wall", "wall", "stone_wall",
                                                                                "brick"])))
        self.spec.add("tower", geo.box((x, y, -0.2), (w, d, h + 0.2), yaw), body, smooth=False)
        storey, bay = float(rng.uniform(3.2, 4.2)), float(rng.uniform(1.4, 3.2))
        glass_h = storey * float(rng.uniform(0.4, 0.7))
        pane = bay * float(rng.uniform(0.45, 0.8))
        bar = float(rng.uniform(0.08, 0.3))
        first = float(rng.uniform(3.0, 6.0))  # a taller ground floor, its grid starting above it
        c, s = math.cos(yaw), math.sin(yaw)
        cells = []
        for normal_local, half_depth, span in (((0, -1), d / 2, w), ((0, 1), d / 2, w), ((-1, 0), w / 2, d),
                                               ((1, 0), w / 2, d)):
            nx = c * normal_local[0] - s * normal_local[1]
            ny = s * normal_local[0] + c * normal_local[1]
            fx, fy = x + nx * half_depth, y + ny * half_depth
            if nx * -fx + ny * -fy <= 0.0:  # the face looks away from the camera at the origin
                continue
            along = np.array([-ny, nx])  # the face's horizontal direction
            face_yaw = math.atan2(ny, nx) + math.pi / 2  # a box of size (along, across, up) lies in the face
            n_bays = max(1, int(span / bay))
            offsets = (np.arange(n_bays) + 0.5) * span / n_bays - span / 2
            levels = np.arange(first, h - storey * 0.5, storey)
            if style == "punched":
                for lz in levels:
                    for off in offsets:
                        cells.append(geo.box((fx + along[0] * off, fy + along[1] * off, lz), (pane, 0.1, glass_h),
                                             face_yaw))
            elif style == "ribbon":
                for lz in levels:
                    cells.append(geo.box((fx, fy, lz), (span - 2 * bar, 0.1, glass_h), face_yaw))
            else:  # mullions and transoms over the glass body
                for off in offsets - span / n_bays / 2:
                    cells.append(geo.box((fx + along[0] * off, fy + along[1] * off, 0.0), (bar, 0.16, h), face_yaw))
                for lz in levels:
                    cells.append(geo.box((fx, fy, lz - bar / 2), (span, 0.16, bar), face_yaw))
        if cells:
            frame = self.material("metal" if style == "curtain" else "glass")
            self.spec.add("tower_grid", geo.merge(*cells), frame, smooth=False)

    def floor(self, name: str, top: float, edge: float, material: dict) -> float:
        """A level floor the camera stands on (a quay, a promenade): from behind the camera to ``edge`` metres ahead,
        its top at height ``top`` (metres), wide enough to fill the view at its edge. Returns its width (metres)."""
        width = 4.0 * edge * math.tan(self.half_fov) + 30.0
        self.spec.add(name, geo.box((0.0, (edge - 1.0) / 2, -1.0), (width, edge + 1.0, top + 1.0)), material,
                      smooth=False)
        return width

    def fence(self, y0: float, x0: float, x1: float) -> None:
        posts = [geo.box((x, y0, 0), (0.08, 0.08, 1.1), 0) for x in np.arange(x0, x1, 1.5)]
        rails = [geo.box(((x0 + x1) / 2, y0, z), (x1 - x0, 0.04, 0.1), 0) for z in (0.4, 0.9)]
        self.spec.add("fence", geo.merge(*posts, *rails), self.material("wood"), smooth=False)

    def wall(self, y0: float, x0: float, x1: float, h: float) -> None:
        self.spec.add("wall", geo.box(((x0 + x1) / 2, y0, -0.1), (x1 - x0, 0.4, h + 0.1), 0),
                      self.material(str(self.rng.choice(["stone_wall", "brick", "wall"]))), smooth=False)

    def markings(self) -> None:
        """Painted road markings on flat paving: a dashed centre line and sometimes a stop line, bright and static
        (a yellow stripe is not a flame)."""
        rng = self.rng
        paint = self.material("paint")
        width = float(rng.uniform(0.1, 0.2))
        x = float(rng.uniform(-1.5, 1.5))
        dash, gap = float(rng.uniform(1.5, 4.0)), float(rng.uniform(1.5, 6.0))
        stripes = [geo.box((x, y + dash / 2, 0.0), (width, dash, 0.012)) for y in np.arange(1.0, 50.0, dash + gap)]
        if rng.random() < 0.4:
            stripes.append(geo.box((0.0, float(rng.uniform(3, 10)), 0.0), (float(rng.uniform(3, 7)), 0.35, 0.012)))
        self.spec.add("markings", geo.merge(*stripes), paint, smooth=False)

    def scaffold(self, side: float, x: float, y0: float, length: float, height: float) -> None:
        """A static lattice of thin metal bars and planks on a building site, in a plane facing the street."""
        bay = 2.0
        bars = []
        for y in np.arange(y0, y0 + length + 1e-6, bay):
            bars.append(geo.box((x, y, 0.0), (0.06, 0.06, height)))
        for z in np.arange(bay, height + 1e-6, bay):
            bars.append(geo.box((x, y0 + length / 2, z), (0.06, length, 0.06)))
            bars.append(geo.box((x + side * 0.5, y0 + length / 2, z - 0.06), (1.0, length, 0.04)))
        self.spec.add("scaffold", geo.merge(*bars), self.material("metal"), smooth=False)

    # -- materials ------------------------------------------------------------------------------------------------
    def material(self, kind: str) -> dict:
        rng = self.rng
        palette = {
            "grass": [(0.10, 0.22, 0.04), (0.22, 0.28, 0.06), (0.35, 0.30, 0.12), (0.08, 0.16, 0.05)],
            "dry_grass": [(0.45, 0.36, 0.18), (0.55, 0.45, 0.25)],
            "reed": [(0.30, 0.32, 0.12), (0.40, 0.36, 0.18)],
            "leaf": [(0.06, 0.16, 0.03), (0.12, 0.22, 0.05), (0.25, 0.22, 0.05), (0.35, 0.15, 0.04)],
            "petal": [(0.8, 0.7, 0.1), (0.85, 0.2, 0.15), (0.9, 0.9, 0.9), (0.5, 0.2, 0.6), (0.9, 0.5, 0.1)],
            "flower_disc": [(0.85, 0.65, 0.05), (0.45, 0.25, 0.05), (0.12, 0.08, 0.04), (0.9, 0.8, 0.3)],
            "bark": [(0.12, 0.09, 0.06), (0.25, 0.22, 0.2)],
            "rock": [(0.3, 0.28, 0.26), (0.4, 0.36, 0.3), (0.2, 0.2, 0.2), (0.45, 0.4, 0.35)],
            "crag": [(0.05, 0.05, 0.045), (0.08, 0.075, 0.065), (0.12, 0.115, 0.1), (0.07, 0.08, 0.07),
                     (0.16, 0.15, 0.13)],
            "meadow_ground": [(0.12, 0.18, 0.05), (0.2, 0.2, 0.08)],
            "lawn": [(0.10, 0.22, 0.03), (0.16, 0.26, 0.05), (0.13, 0.20, 0.06), (0.20, 0.24, 0.08)],
            "dirt": [(0.25, 0.18, 0.12), (0.35, 0.28, 0.2)],
            "sand": [(0.6, 0.52, 0.38), (0.7, 0.62, 0.48)],
            "paving": [(0.35, 0.33, 0.3), (0.45, 0.4, 0.35), (0.3, 0.25, 0.22)],
            "slabs": [(0.5, 0.48, 0.45), (0.4, 0.39, 0.37), (0.6, 0.56, 0.5), (0.32, 0.31, 0.3)],
            "gravel": [(0.45, 0.42, 0.38), (0.35, 0.32, 0.28), (0.55, 0.52, 0.48)],
            "sandstone": [(0.42, 0.33, 0.22), (0.5, 0.42, 0.3), (0.36, 0.31, 0.24), (0.55, 0.47, 0.36)],
            "asphalt": [(0.06, 0.06, 0.06), (0.09, 0.09, 0.085), (0.13, 0.125, 0.12), (0.1, 0.095, 0.09)],
            "mountain": [(0.25, 0.28, 0.3), (0.3, 0.3, 0.28), (0.2, 0.25, 0.2)],
            "water": [(0.02, 0.05, 0.05), (0.03, 0.06, 0.04), (0.05, 0.05, 0.03)],
            "sea": [(0.01, 0.05, 0.08), (0.02, 0.07, 0.07)],
            "calm_water": [(0.01, 0.02, 0.02), (0.02, 0.03, 0.025), (0.03, 0.03, 0.02), (0.01, 0.02, 0.03)],
            "cloth": [(0.8, 0.1, 0.1), (0.1, 0.2, 0.7), (0.9, 0.9, 0.85), (0.9, 0.7, 0.1), (0.2, 0.6, 0.3)],
            "wall": [(0.7, 0.65, 0.55), (0.8, 0.78, 0.7), (0.6, 0.45, 0.35), (0.75, 0.7, 0.5)],
            "brick": [(0.45, 0.2, 0.12), (0.55, 0.3, 0.2)],
            "stone_wall": [(0.4, 0.38, 0.34), (0.5, 0.45, 0.38)],
            "roof": [(0.35, 0.12, 0.08), (0.2, 0.2, 0.22), (0.4, 0.25, 0.15)],
            "wood": [(0.3, 0.2, 0.12), (0.5, 0.45, 0.4)],
            "metal": [(0.5, 0.5, 0.5)],
            "flame": [(1.0, 0.45, 0.08), (1.0, 0.6, 0.2), (1.0, 0.75, 0.35)],
            "wax": [(0.9, 0.88, 0.8), (0.8, 0.2, 0.15), (0.95, 0.9, 0.6)],
            "window": [(1.0, 0.97, 0.9), (0.85, 0.9, 1.0)],
            "glass": [(0.02, 0.02, 0.03)],
            "paint": [(0.85, 0.68, 0.08), (0.9, 0.9, 0.88)],
            "car_paint": [(0.55, 0.05, 0.04), (0.06, 0.1, 0.3), (0.8, 0.8, 0.78), (0.05, 0.05, 0.05), (0.4, 0.4, 0.42)],
        }[kind]
        base = palette[int(rng.integers(len(palette)))]
        return {"kind": kind, "color": _colour(rng, base), "color2": _colour(rng, base, 0.25),
                "scale": float(rng.uniform(0.5, 2.0)), "rough": float(rng.uniform(0.0, 1.0)),
                "seed": float(rng.uniform(0, 100))}


def pick_family(seed: int, families: tuple[str, ...] | None = None) -> str:
    """The family of the scene of ``seed``: drawn with :data:`FAMILY_WEIGHTS` among ``families`` (None: all of
    :data:`FAMILIES`), their weights rescaled to sum to one."""
    names = tuple(families) if families else FAMILIES
    unknown = [f for f in names if f not in FAMILY_WEIGHTS]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}")
    weights = np.array([FAMILY_WEIGHTS[f] for f in names], np.float64)
    return names[int(np.random.default_rng([int(seed), 0xFA]).choice(len(names), p=weights / weights.sum()))]


#: how far ``data render --exposure`` may shift a scene's exposure, in stops either way
MAX_EXPOSURE_SHIFT = 6.0


def with_exposure(spec: SceneSpec, stops: float) -> SceneSpec:
    """``spec`` with its camera exposure shifted by ``stops`` (negative: darker; the view transform's exposure, so
    the picture changes and the geometry and motion do not). The renders come out about twice as bright as
    photographs (docs/data.md, "Exposure"); ``data render --exposure`` brings a dataset closer to them."""
    if stops == 0.0:
        return spec
    return replace(spec, world={**spec.world, "exposure": spec.world.get("exposure", 0.0) + stops})


def layout(seed: int, width: int = 256, height: int = 160, family: str | None = None,
           families: tuple[str, ...] | None = None) -> SceneSpec:
    """The scene of ``seed`` at ``width x height`` pixels (``family`` forces one of :data:`FAMILIES`; otherwise it
    is drawn among ``families``, all of them when None, by :func:`pick_family`)."""
    family = family or pick_family(seed, families)
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    b = _Builder(seed, family, width, height)
    _FAMILY_BUILDERS[family](b)
    return b.spec


def _family_meadow(b: _Builder) -> None:
    rng = b.rng
    near = max(0.3, b.min_visible_r() * 0.8)
    b.ground(str(rng.choice(["meadow_ground", "dirt", "dry_grass"])), 0.2, 3000, hills=float(rng.uniform(2, 25)))
    b.mountains(float(rng.uniform(800, 3000)), float(rng.uniform(80, 600)))
    b.grass(int(rng.integers(30000, 60000)), near, 40.0, float(rng.uniform(0.2, 0.7)),
            str(rng.choice(["grass", "grass", "dry_grass"])), float(rng.uniform(0.008, 0.02)))
    if rng.random() < 0.6:
        b.flowers(int(rng.integers(40, 300)), near, 20.0, float(rng.uniform(0.25, 0.6)))
    for _ in range(int(rng.integers(0, 5))):
        p = b.scatter(1, 10, 80)[0]
        b.plant(p, float(rng.uniform(4, 12)), float(rng.uniform(1.5, 4)), int(rng.integers(1200, 2500)), "leaf",
                crown_base=float(rng.uniform(1.0, 3.0)), trunk=float(rng.uniform(0.12, 0.35)))
    for _ in range(int(rng.integers(0, 4))):
        p = b.scatter(1, 2, 20)[0]
        b.plant(p, float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.4, 1.0)), int(rng.integers(200, 600)))
    if rng.random() < 0.6:
        b.rocks(int(rng.integers(1, 8)), 2, 30, float(rng.uniform(0.2, 0.8)))
    if rng.random() < 0.25:
        b.fence(float(rng.uniform(5, 15)), -10, 10)


def _family_lake(b: _Builder) -> None:
    rng = b.rng
    shore = float(rng.uniform(1.0, 6.0))
    far = float(rng.uniform(80, 800))
    b.ground(str(rng.choice(["meadow_ground", "dirt", "sand"])), 0.2, shore + 0.5)
    b.water(shore, far, sea=False)
    b.ground("meadow_ground", far, far * 8, hills=float(rng.uniform(5, 30)), flat_r=far)
    b.mountains(far * float(rng.uniform(2, 6)), float(rng.uniform(0.05, 0.3)) * far * 3)
    b.far_tree_line(far)
    near = max(0.3, b.min_visible_r() * 0.8)
    if near < shore:
        b.grass(int(rng.integers(4000, 10000)), near, shore, float(rng.uniform(0.6, 1.6)), "reed", 0.01, 1.1)
        if rng.random() < 0.6:
            b.rocks(int(rng.integers(1, 6)), near, shore + 1, float(rng.uniform(0.2, 0.6)))
    if rng.random() < 0.5:
        p = (float(rng.choice([-1, 1]) * rng.uniform(3, 8)), float(rng.uniform(4, 12)))
        b.plant(p, float(rng.uniform(5, 12)), float(rng.uniform(2, 4)), int(rng.integers(1200, 2500)), "leaf",
                crown_base=float(rng.uniform(1, 3)), trunk=float(rng.uniform(0.15, 0.35)))


def _family_coast(b: _Builder) -> None:
    rng = b.rng
    shore = float(rng.uniform(2.0, 12.0))
    b.ground(str(rng.choice(["sand", "sand", "dirt"])), 0.2, shore + 0.5)
    b.water(shore, 3000.0, sea=True)
    side = float(rng.choice([-1, 1]))
    cliffs = []
    for _ in range(int(rng.integers(3, 9))):
        d = rng.uniform(30, 300)
        x = side * (d * math.tan(b.half_fov) * rng.uniform(0.5, 1.2))
        s = rng.uniform(0.1, 0.3) * d
        cliffs.append(geo.blob((x, d, -s * 0.2), (s, s * rng.uniform(0.5, 1.5), s * rng.uniform(0.4, 1.0)), rng,
                               0.35, 12, 18))
    b.spec.add("cliffs", geo.merge(*cliffs), b.material("rock"))
    near = max(0.3, b.min_visible_r() * 0.8)
    if near < shore:
        if rng.random() < 0.6:
            b.grass(int(rng.integers(4000, 12000)), near, shore, float(rng.uniform(0.3, 0.8)), "dry_grass", 0.008)
        b.rocks(int(rng.integers(2, 10)), near, shore + 3, float(rng.uniform(0.2, 1.0)))
    if rng.random() < 0.3:
        b.flag((float(rng.uniform(-4, 4)), shore * 0.7), float(rng.uniform(3, 6)), float(rng.uniform(0.6, 1.5)))


def _family_village(b: _Builder) -> None:
    rng = b.rng
    b.ground(str(rng.choice(["paving", "paving", "dirt"])), 0.2, 2000.0, hills=float(rng.uniform(0, 10)), flat_r=60)
    if rng.random() < 0.5:
        b.mountains(float(rng.uniform(800, 3000)), float(rng.uniform(80, 400)))
    for side in (-1, 1):
        y = float(rng.uniform(8, 14))
        while y < 80:
            x = side * float(rng.uniform(5, 9)) * (1 + y / 40)
            b.house((x + side * 4, y), float(rng.normal(0, 0.05)))
            y += float(rng.uniform(9, 16))
    if rng.random() < 0.5:
        b.house((float(rng.uniform(-6, 6)), float(rng.uniform(40, 90))), float(rng.normal(0, 0.1)))
    if rng.random() < 0.5:
        b.wall(float(rng.uniform(4, 10)), -8, float(rng.uniform(-2, 8)), float(rng.uniform(0.6, 2.0)))
    if rng.random() < 0.4:
        b.fence(float(rng.uniform(4, 10)), -3, 6)
    if rng.random() < 0.6:
        b.flag((float(rng.uniform(-3, 3)), float(rng.uniform(6, 18))), float(rng.uniform(4, 8)),
               float(rng.uniform(0.7, 1.6)))
    if rng.random() < 0.4:
        b.flag((float(rng.uniform(-4, 0)), float(rng.uniform(4, 10))), 1.8, float(rng.uniform(0.5, 0.9)),
               laundry=True)
    for _ in range(int(rng.integers(0, 4))):
        p = (float(rng.choice([-1, 1]) * rng.uniform(2.5, 5)), float(rng.uniform(5, 30)))
        b.plant(p, float(rng.uniform(4, 10)), float(rng.uniform(1.5, 3)), int(rng.integers(600, 1400)), "leaf",
                crown_base=float(rng.uniform(1.5, 3)), trunk=float(rng.uniform(0.1, 0.3)))
    for _ in range(int(rng.integers(0, 4))):
        p = (float(rng.choice([-1, 1]) * rng.uniform(1.5, 4)), float(rng.uniform(3, 15)))
        b.plant(p, float(rng.uniform(0.5, 1.3)), float(rng.uniform(0.3, 0.8)), int(rng.integers(200, 500)))
    if rng.random() < 0.5:
        b.markings()
    if rng.random() < 0.3:
        side = float(rng.choice([-1, 1]))
        b.scaffold(-side, side * float(rng.uniform(4.0, 7.0)), float(rng.uniform(6, 20)), float(rng.uniform(6, 14)),
                   float(rng.uniform(6, 16)))


def _family_waterfront(b: _Builder) -> None:
    """Open water seen from a stone quay or promenade: static paving in front of moving water, which the lake and
    coast families (their water reaches the bottom of the frame) never show, and a low, distant far shore."""
    rng = b.rng
    quay_h = float(rng.uniform(0.4, 1.6))  # paving above the water line
    cam_h = quay_h + float(rng.uniform(1.2, 1.9))
    pitch = math.radians(float(rng.uniform(-9.0, 1.0)))
    b.aim((0.0, 200.0, cam_h + 200.0 * math.tan(pitch)), height=cam_h)
    # the quay edge where the paving fills the bottom 10-45 % of the frame: the nearest paving in view, times a factor
    # (the pitch keeps the frame's bottom edge at least 9 degrees below the horizon)
    edge = float(np.clip(b.min_visible_r(quay_h) * rng.uniform(1.3, 3.0), 1.5, 40.0))
    width = b.floor("quay", quay_h, edge, b.material(str(rng.choice(["paving", "paving", "stone_wall"]))))
    if rng.random() < 0.5:  # bollards along the edge
        posts = [geo.box((x, edge - 0.3, quay_h), (0.3, 0.3, 0.5)) for x in np.arange(-width / 2, width / 2, 6.0)
                 + float(rng.uniform(0, 6))]
        b.spec.add("bollards", geo.merge(*posts), b.material(str(rng.choice(["metal", "rock"]))), smooth=False)
    if rng.random() < 0.35:  # a railing
        rail = [geo.box((x, edge - 0.15, quay_h), (0.05, 0.05, 1.0)) for x in np.arange(-width / 2, width / 2, 1.8)]
        rail += [geo.box((0.0, edge - 0.15, quay_h + z), (width, 0.05, 0.05)) for z in (0.5, 0.95)]
        b.spec.add("railing", geo.merge(*rail), b.material(str(rng.choice(["metal", "wood"]))), smooth=False)
    b.water(edge, 3000.0, sea=bool(rng.random() < 0.6))
    far = float(rng.uniform(300, 3000))
    if rng.random() < 0.5:
        b.mountains(far, float(rng.uniform(0.01, 0.08)) * far)
    else:  # a low island or far shore with a few houses
        b.ground(str(rng.choice(["meadow_ground", "dirt"])), far, far * 4, hills=float(rng.uniform(2, 20)), flat_r=far)
        for x, y in b.scatter(int(rng.integers(3, 12)), far * 1.01, far * 1.2, 0.8):
            b.house((float(x), float(y)), float(rng.uniform(0, 6.3)))
    if rng.random() < 0.5:  # a tree on the promenade
        p = (float(rng.choice([-1, 1]) * rng.uniform(3, 9)), float(rng.uniform(1.5, max(2.0, edge - 0.5))))
        crown = quay_h + float(rng.uniform(1.5, 3))
        b.plant(p, crown + float(rng.uniform(2.5, 6)), float(rng.uniform(1.5, 3)), int(rng.integers(800, 1800)), "leaf",
                crown_base=crown, trunk=float(rng.uniform(0.12, 0.3)))
    if rng.random() < 0.3:
        b.flag((float(rng.uniform(-4, 4)), float(rng.uniform(1.5, edge))), quay_h + float(rng.uniform(3, 6)),
               float(rng.uniform(0.6, 1.5)))


def _family_garden(b: _Builder) -> None:
    rng = b.rng
    b.ground(str(rng.choice(["meadow_ground", "dirt"])), 0.1, 400.0)
    back = float(rng.uniform(3, 15))
    choice = rng.integers(3)
    if choice == 0:
        b.wall(back, -30, 30, float(rng.uniform(1.5, 4)))
    elif choice == 1:
        hedge = [geo.blob((x, back, 0), (1.5, 0.8, rng.uniform(1.2, 2.2)), rng, 0.2) for x in np.arange(-20, 20, 2.2)]
        b.spec.add("hedge", geo.merge(*hedge), b.material("leaf"))
    else:
        for _ in range(int(rng.integers(2, 5))):
            p = (float(rng.uniform(-6, 6)), back + float(rng.uniform(0, 10)))
            b.plant(p, float(rng.uniform(4, 9)), float(rng.uniform(1.5, 3)), int(rng.integers(600, 1400)), "leaf",
                    crown_base=float(rng.uniform(1, 2)), trunk=float(rng.uniform(0.1, 0.3)))
    focus = b.camera.focus_m if b.camera.fstop > 0 else float(rng.uniform(0.8, 3.0))  # where the plants stand
    near = max(0.15, b.min_visible_r() * 0.8)
    b.grass(int(rng.integers(10000, 30000)), near, back, float(rng.uniform(0.1, 0.4)),
            str(rng.choice(["grass", "dry_grass"])), 0.006)
    if rng.random() < 0.8:
        b.flowers(int(rng.integers(10, 60)), max(near, focus * 0.6), focus * 1.6, float(rng.uniform(0.3, 0.8)))
    for _ in range(int(rng.integers(1, 4))):
        p = b.scatter(1, focus * 0.7, focus * 1.5, 0.8)[0]
        b.plant(p, float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.2, 0.5)), int(rng.integers(150, 400)))
    if rng.random() < 0.4:
        b.rocks(int(rng.integers(1, 4)), max(near, 1.5), back, 0.2)


def _family_rockery(b: _Builder) -> None:
    """A rock garden or rocky slope: a mound of dark, jagged, mossy stones with shrubs rooted among them and trees
    over them, often behind a path and a wooden railing. The stones are as finely textured as the foliage and stay
    still; in real rock gardens the models trained on the other families moved the stones with the leaves."""
    rng = b.rng
    cam_h = float(rng.uniform(1.3, 2.0))
    pitch = math.radians(float(rng.uniform(-12.0, 12.0)))  # often looking up at the mound and the trees over it
    b.aim((0.0, 100.0, cam_h + 100.0 * math.tan(pitch)), height=cam_h, lens=float(rng.uniform(18, 45)))
    b.ground(str(rng.choice(["dirt", "meadow_ground", "paving"])), 0.2, 600.0, hills=float(rng.uniform(0, 15)))
    near = max(0.5, b.min_visible_r() * 0.8)
    d0 = max(near * 1.5, float(rng.uniform(2.5, 7.0)))  # the mound's foot and back (metres from the camera)
    d1 = d0 + float(rng.uniform(5.0, 20.0))
    top = float(rng.uniform(1.0, 5.0))
    tops = []  # (x, y, z) of stone tops, where shrubs can root
    for _kind in range(int(rng.integers(1, 3))):  # one or two kinds of stone
        stones = []
        for x, y in b.scatter(int(rng.integers(15, 45)), d0, d1, 1.25):
            t = float(np.clip((math.hypot(x, y) - d0) / (d1 - d0), 0.0, 1.0))
            z = top * math.sin(math.pi / 2 * t) * float(rng.uniform(0.6, 1.1))
            s = float(rng.uniform(0.3, 1.3)) * (1.0 + math.hypot(x, y) / 25.0)
            radii = (s * rng.uniform(0.7, 1.5), s * rng.uniform(0.6, 1.2), s * rng.uniform(0.5, 1.0))
            stones.append(geo.blob((x, y, z - radii[2] * 0.3), radii, rng, float(rng.uniform(0.4, 0.65)), 8, 11))
            tops.append((x, y, z + radii[2] * 0.5))
        b.spec.add("stones", geo.merge(*stones), b.material("crag"), smooth=bool(rng.random() < 0.3))
    for _ in range(int(rng.integers(3, 12))):  # shrubs and ferns rooted between the stones
        x, y, z = tops[int(rng.integers(len(tops)))]
        hgt = float(rng.uniform(0.4, 1.8))
        b.plant((x + rng.normal(0, 0.3), y + rng.normal(0, 0.3)), hgt, float(rng.uniform(0.25, 0.9)),
                int(rng.integers(150, 700)), "leaf", base_z=z * 0.9)
    for _ in range(int(rng.integers(1, 6))):  # trees on and behind the mound
        x, y = b.scatter(1, d0 + (d1 - d0) * 0.5, d1 * 1.5, 1.1)[0]
        base = top * 0.8 if math.hypot(x, y) < d1 else 0.0
        b.plant((x, y), float(rng.uniform(5, 14)), float(rng.uniform(1.5, 4)), int(rng.integers(1200, 2500)),
                "leaf", crown_base=float(rng.uniform(1.0, 4.0)), trunk=float(rng.uniform(0.12, 0.35)), base_z=base)
    if rng.random() < 0.6:  # grass at the mound's foot
        b.grass(int(rng.integers(3000, 12000)), near, d0 + 1.0, float(rng.uniform(0.15, 0.5)),
                str(rng.choice(["grass", "dry_grass"])), 0.008)
    if rng.random() < 0.5:  # a railing along the path in front
        b.fence(float(rng.uniform(max(near * 1.2, 1.5), max(near * 1.3, d0 * 0.9))), -12, 12)
    if rng.random() < 0.4:
        b.mountains(float(rng.uniform(800, 3000)), float(rng.uniform(80, 400)))


def _family_promenade(b: _Builder) -> None:
    """A promenade, terrace or garden path in the foreground: large pale stone slabs, gravel or paving, still, and
    beyond its edge either water (sea or lake) or a park of shrubs and trees, often with a facade behind them. In real
    photos the models moved the sunset sea's quay of pale slabs, a garden's gravel path and the villa behind the
    waterfront's trees; the waterfront family's quays are smaller-patterned and never front a park."""
    rng = b.rng
    floor_h = float(rng.choice([0.0, rng.uniform(0.2, 1.2)]))  # level with what lies beyond, or a raised terrace
    cam_h = floor_h + float(rng.uniform(1.3, 1.9))
    pitch = math.radians(float(rng.uniform(-14.0, 2.0)))
    b.aim((0.0, 100.0, cam_h + 100.0 * math.tan(pitch)), height=cam_h, lens=float(rng.uniform(20, 50)))
    edge = float(np.clip(b.min_visible_r(floor_h) * rng.uniform(1.3, 3.5), 1.5, 30.0))  # the promenade's far edge
    width = b.floor("promenade", floor_h, edge, b.material(str(rng.choice(["slabs", "slabs", "gravel", "paving"]))))
    if rng.random() < 0.5:  # open water beyond
        b.water(edge, 3000.0, sea=bool(rng.random() < 0.5))
        far = float(rng.uniform(300, 3000))
        b.mountains(far, float(rng.uniform(0.01, 0.08)) * far)
    else:  # a park: shrubs along the edge, trees behind them, often a facade behind the trees
        b.ground(str(rng.choice(["meadow_ground", "dirt"])), edge, 800.0, hills=float(rng.uniform(0, 10)))
        for _ in range(int(rng.integers(3, 10))):
            x, y = b.scatter(1, edge + 0.5, edge + 6.0, 1.1)[0]
            b.plant((x, y), float(rng.uniform(0.6, 2.0)), float(rng.uniform(0.4, 1.2)), int(rng.integers(200, 700)))
        for _ in range(int(rng.integers(1, 5))):
            x, y = b.scatter(1, edge + 3.0, edge + 25.0, 1.1)[0]
            b.plant((x, y), float(rng.uniform(5, 12)), float(rng.uniform(1.5, 3.5)), int(rng.integers(1000, 2200)),
                    "leaf", crown_base=float(rng.uniform(1.5, 3.5)), trunk=float(rng.uniform(0.12, 0.3)))
        if rng.random() < 0.6:
            b.house((float(rng.uniform(-8, 8)), edge + float(rng.uniform(15, 40))), float(rng.normal(0, 0.1)))
    if rng.random() < 0.35:  # a low parapet along the edge
        b.wall(edge - 0.2, -width / 2, width / 2, floor_h + float(rng.uniform(0.3, 0.8)))
    elif floor_h == 0.0 and rng.random() < 0.4:
        b.fence(edge - 0.3, -12, 12)


def _dusk(b: _Builder) -> None:
    """Dusk as photographs of calm water show it: in 70 % of scenes a low sun (1-9 degrees) and a dim sky, and the
    exposure 0.5-1.6 stops under the other families' (docs/model-card.md, "Other directions" item 12)."""
    rng, world = b.rng, b.spec.world
    if rng.random() < 0.7:
        world["sun_elevation_deg"] = float(rng.uniform(1.0, 9.0))
        world["sun_strength"] = float(rng.uniform(0.5, 2.0))
    world["exposure"] = world["exposure"] - float(rng.uniform(0.5, 1.6))


def _family_calm_water(b: _Builder) -> None:
    """Calm water at dusk: a canal between embankments and facades, a harbour basin before a far quay and its
    houses, or a still lake before a tree line, seen from a quay, a bank or a bridge. The water (:meth:`_Builder.
    calm_water`) mirrors the sky and the shore and moves little; the sun is low and the exposure 0.5-1.6 stops under
    the other families', as photographs of such water are (docs/model-card.md, "Other directions" item 12)."""
    rng = b.rng
    kind = str(rng.choice(["canal", "harbour", "lake"]))
    bridge = rng.random() < 0.25  # high over the water: it fills the bottom of the frame
    bank_h = float(rng.uniform(0.3, 1.5))
    cam_h = float(rng.uniform(3.0, 7.0)) if bridge else bank_h + float(rng.uniform(1.2, 1.9))
    pitch = math.radians(float(rng.uniform(-12.0, -2.0) if bridge else rng.uniform(-9.0, 1.0)))
    b.aim((0.0, 200.0, cam_h + 200.0 * math.tan(pitch)), height=cam_h, lens=float(rng.uniform(20, 55)))
    _dusk(b)
    if bridge:
        edge = max(0.5, b.min_visible_r() * 0.8)
    else:
        edge = float(np.clip(b.min_visible_r(bank_h) * rng.uniform(1.1, 2.5), 1.0, 25.0))
        b.floor("bank" if kind == "lake" else "quay", bank_h, edge,
                b.material(str(rng.choice(["dirt", "meadow_ground"] if kind == "lake" else ["paving", "stone_wall",
                                                                                              "slabs"]))))
    far = float(rng.uniform(60, 400) if kind != "lake" else rng.uniform(150, 1500))
    b.calm_water(edge, far * 1.2)
    if kind == "canal":  # embankments and facades along both sides, a facade or bridge closing the view
        half = float(rng.uniform(4.0, 12.0))
        for side in (-1, 1):
            b.spec.add("embankment", geo.box((side * (half + 1.0), far / 2, -0.3), (2.0, far, bank_h + 0.3)),
                       b.material("stone_wall"), smooth=False)
            y = edge + float(rng.uniform(0, 6))
            while y < far:
                b.house((side * (half + float(rng.uniform(6.5, 9.0))), y), float(rng.normal(0, 0.03)))
                y += float(rng.uniform(6, 12))
        b.house((float(rng.uniform(-4, 4)), far), 0.0)
    elif kind == "harbour":  # a far quay with its houses, mooring posts in the water
        b.far_quay(0.0, far, 8 * far, bank_h)
        posts = [geo.box((float(x), float(y), -0.5), (0.25, 0.25, bank_h + float(rng.uniform(0.8, 2.0))))
                 for x, y in b.scatter(int(rng.integers(0, 8)), edge + 2.0, far * 0.6, 0.9)]
        if posts:
            b.spec.add("mooring_posts", geo.merge(*posts), b.material("wood"), smooth=False)
    else:  # a still lake: a far shore with a tree line, hills behind
        b.ground("meadow_ground", far, far * 8, hills=float(rng.uniform(5, 30)), flat_r=far)
        b.far_tree_line(far)
        if rng.random() < 0.6:
            b.mountains(far * float(rng.uniform(2, 6)), float(rng.uniform(0.05, 0.3)) * far * 3)
    if not bridge and rng.random() < 0.4:  # a tree on the bank or quay
        p = (float(rng.choice([-1, 1]) * rng.uniform(3, 9)), float(rng.uniform(1.0, max(1.5, edge - 0.5))))
        crown = bank_h + float(rng.uniform(1.5, 3))
        b.plant(p, crown + float(rng.uniform(2.5, 6)), float(rng.uniform(1.5, 3)), int(rng.integers(800, 1800)),
                "leaf", crown_base=crown, trunk=float(rng.uniform(0.12, 0.3)))


def _family_yard(b: _Builder) -> None:
    """A yard, courtyard or open shed: laundry on one or two lines 2-6 m from the camera before a plastered, brick or
    stone wall, often under a lean-to roof that shades it, with still things about (a kennel, crates, a bench, pots,
    a door and windows in the wall) on concrete, paving or dirt; the air there is stiller than in the open. Run RL13's
    network lost the validation courtyard's laundry (AUC 0.91 -> 0.64): the village family's laundry hangs in open
    streets, small in the frame, and no family showed clothes close up before a wall, in shade."""
    rng = b.rng
    dist = float(rng.uniform(2.0, 6.0))  # to the (first) line
    back = dist + float(rng.uniform(0.8, 3.0))  # to the wall behind it
    line_h = float(rng.uniform(1.7, 2.4))
    cam_h = float(rng.uniform(1.3, 1.8))
    b.aim((float(rng.uniform(-1.0, 1.0)), back, float(rng.uniform(0.9, 1.8))), height=cam_h,
          lens=float(rng.uniform(22, 45)))
    b.wind *= float(rng.uniform(0.5, 1.0))  # sheltered: the cloth's motion follows b.wind
    b.floor("yard_floor", 0.0, back + 0.5, b.material(str(rng.choice(["paving", "slabs", "dirt", "gravel"]))))
    wall_h = float(rng.uniform(2.6, 5.0))
    b.wall(back, -20, 20, wall_h)
    openings = []
    for _ in range(int(rng.integers(0, 4))):  # windows and a door in the wall
        x, door = float(rng.uniform(-5, 5)), rng.random() < 0.3
        w, h, z = (0.9, 2.0, 0.0) if door else (float(rng.uniform(0.6, 1.4)), float(rng.uniform(0.6, 1.3)),
                                                 float(rng.uniform(1.0, 1.6)))
        openings.append(geo.box((x, back - 0.21, z), (w, 0.04, h)))
    if openings:
        b.spec.add("openings", geo.merge(*openings), b.material(str(rng.choice(["glass", "wood", "metal"]))),
                   smooth=False)
    if rng.random() < 0.6:  # a lean-to roof over the yard, on beams
        roof_z = max(line_h + 0.4, float(rng.uniform(2.4, 3.2)))
        b.spec.add("shed_roof", geo.box((0.0, back / 2, roof_z), (40.0, back + 2.0, 0.05)),
                   b.material(str(rng.choice(["metal", "wood", "roof"]))), smooth=False)
        beams = [geo.box((0.0, y, roof_z - 0.15), (40.0, 0.1, 0.15)) for y in np.arange(0.5, back, 1.5)]
        b.spec.add("beams", geo.merge(*beams), b.material(str(rng.choice(["wood", "metal"]))), smooth=False)
    for i in range(int(rng.integers(1, 3))):  # the lines of laundry
        y = dist + i * float(rng.uniform(0.6, 1.2))
        if y < back - 0.3:
            b.flag((float(rng.uniform(-3.5, -0.5)), y), line_h, float(rng.uniform(0.45, 0.9)), laundry=True,
                   folds=True)
    for _ in range(int(rng.integers(1, 4))):  # still things along the wall
        x = float(rng.uniform(-4, 4))
        kind = str(rng.choice(["kennel", "crates", "bench", "pot"]))
        if kind == "kennel":
            w, d, h = float(rng.uniform(0.6, 1.1)), float(rng.uniform(0.7, 1.2)), float(rng.uniform(0.5, 0.9))
            yk = back - d / 2 - 0.25
            b.spec.add("kennel", geo.box((x, yk, 0.0), (w, d, h)), b.material("wood"), smooth=False)
            b.spec.add("kennel_roof", geo.gable_roof((x, yk, h), (w, d), float(rng.uniform(0.2, 0.4)), math.pi / 2,
                                                     0.08), b.material(str(rng.choice(["wood", "roof"]))),
                       smooth=False)
        else:
            _still_thing(b, kind, x, back - float(rng.uniform(0.4, 1.2)), float(rng.uniform(0.5, 1.0)))
    if rng.random() < 0.3:  # a potted shrub or a climber
        x = float(rng.choice([-1, 1]) * rng.uniform(1.5, 4))
        b.plant((x, back - 0.6), float(rng.uniform(0.6, 1.8)), float(rng.uniform(0.3, 0.7)),
                int(rng.integers(150, 500)))


def _family_park(b: _Builder) -> None:
    """A park or common seen across its lawn: trees alone and in groups 25-150 m away and a tree line at the far edge
    (all swaying), with still things on the mown grass (a bin, a bench, a lamp, posts, a disc-golf basket), often a
    wall or houses behind the trees, under a wide sky. The lawn is left still: mown grass a few centimetres high
    moves less than the trees by far. The places set's park trees fell in every guard run (0.883 -> 0.113, RL15-RL19)
    and no family showed lawns before distant trees."""
    rng = b.rng
    cam_h = float(rng.uniform(1.3, 1.9))
    b.aim((0.0, 200.0, cam_h + 200.0 * math.tan(math.radians(float(rng.uniform(-7.0, 3.0))))), height=cam_h,
          lens=float(rng.uniform(18, 50)))
    far = float(rng.uniform(60, 400))
    b.ground("lawn", 0.2, far * 1.35)
    b.ground("meadow_ground", far * 1.3, far * 8, hills=float(rng.uniform(2, 20)), flat_r=far * 1.3)
    b.far_tree_line(far)
    if rng.random() < 0.5:
        b.mountains(far * float(rng.uniform(3, 8)), float(rng.uniform(0.05, 0.2)) * far * 3)
    if rng.random() < 0.4:  # a wall or houses along the far edge, between and behind the trees
        if rng.random() < 0.5:
            b.wall(far * float(rng.uniform(0.85, 1.0)), -far, far, float(rng.uniform(1.5, 3.5)))
        else:
            for x, y in b.scatter(int(rng.integers(2, 8)), far * 1.05, far * 1.3, 1.0):
                b.house((float(x), float(y)), float(rng.normal(0, 0.2)))
    for _ in range(int(rng.integers(2, 10))):  # trees on the lawn, alone or in small groups
        x, y = b.scatter(1, 25, min(150.0, far * 0.95), 1.1)[0]
        for _ in range(int(rng.choice([1, 1, 2, 3]))):
            p = (float(x + rng.normal(0, 4)), float(y + rng.normal(0, 3)))
            height = float(rng.uniform(6, 18))
            b.plant(p, height, height * float(rng.uniform(0.2, 0.4)), int(rng.integers(1000, 2200)), "leaf",
                    crown_base=height * float(rng.uniform(0.2, 0.45)), trunk=float(rng.uniform(0.15, 0.45)))
    for _ in range(int(rng.integers(1, 5))):  # still things on the lawn
        x, y = b.scatter(1, 4, 40, 0.9)[0]
        kind = str(rng.choice(["basket", "pot", "bench", "lamp", "posts", "sculpture"]))
        if kind == "basket":  # a standard size: 1.45 m to the top of its pole
            _still_thing(b, kind, float(x), float(y), 1.45)
        else:
            low, high = {"pot": (0.5, 1.0), "bench": (0.7, 1.0), "posts": (0.8, 1.3), "lamp": (3.0, 5.0),
                         "sculpture": (1.0, 3.0)}[kind]
            _still_thing(b, kind, float(x), float(y), float(rng.uniform(low, high)))


def _family_quayside(b: _Builder) -> None:
    """A wide stone quay running away from the camera, calm water along one side of it and facades along the other,
    at dusk: wide, dim, level paving and calm water side by side in one picture and one light, the paving still and
    the water moving. Every guard run lost the validation set's Venice quay, whose slabs they moved as if they were
    water (RL21: 0.95 -> 0.70 as it ran longer); the calm-water family puts its quays across the bottom of the frame,
    before the water, never beside it."""
    rng = b.rng
    side = float(rng.choice([-1.0, 1.0]))  # the water's side: +x (right) or -x (left)
    bank_h = float(rng.uniform(0.4, 1.5))
    cam_h = bank_h + float(rng.uniform(1.4, 1.8))
    pitch = math.radians(float(rng.uniform(-8.0, 1.0)))
    b.aim((side * float(rng.uniform(0.0, 60.0)), 200.0, cam_h + 200.0 * math.tan(pitch)), height=cam_h,
          lens=float(rng.uniform(18, 40)))
    _dusk(b)
    edge = float(rng.uniform(1.5, 8.0))  # sideways from the camera to the quay's edge, metres
    width = edge + float(rng.uniform(6.0, 25.0))  # from the edge to the facades
    length = float(rng.uniform(150.0, 600.0))
    quay = geo.box((side * (edge - width / 2), length / 2 - 5.0, -1.0), (width, length + 10.0, bank_h + 1.0))
    b.spec.add("quay", quay, b.material(str(rng.choice(["slabs", "paving", "stone_wall"]))), smooth=False)
    far = float(rng.uniform(300.0, 2000.0))
    b.calm_water(max(0.5, b.min_visible_r() * 0.8), far * 1.2)
    y = float(rng.uniform(0.0, 6.0))
    while y < min(length, 250.0):  # facades along the landward side
        b.house((-side * (width - edge + float(rng.uniform(3.0, 5.0))), y), float(rng.normal(0, 0.03)))
        y += float(rng.uniform(6.0, 12.0))
    if rng.random() < 0.5:  # a far shore across the water: a quay and houses; otherwise open water to the horizon
        b.far_quay(side * far * 0.5, far, 4 * far, bank_h)
    for _ in range(int(rng.integers(2, 8))):  # still things on the quay: bollards, lamps, benches, pots
        x = side * edge - side * float(rng.uniform(0.3, width - 1.0))
        kind = str(rng.choice(["posts", "posts", "lamp", "bench", "pot"]))
        low, high = {"posts": (0.5, 0.9), "lamp": (3.0, 5.0), "bench": (0.7, 1.0), "pot": (0.5, 1.0)}[kind]
        _still_thing(b, kind, x, float(rng.uniform(3.0, 60.0)), float(rng.uniform(low, high)))
    posts = [geo.box((side * (edge + float(rng.uniform(1.0, 6.0))), float(rng.uniform(3.0, 80.0)), -0.5),
                     (0.25, 0.25, bank_h + float(rng.uniform(0.8, 2.0)))) for _ in range(int(rng.integers(0, 6)))]
    if posts:
        b.spec.add("mooring_posts", geo.merge(*posts), b.material("wood"), smooth=False)


def _family_towers(b: _Builder) -> None:
    """Office and apartment blocks of a city, their facades regular grids of windows, glass bands or mullions, seen
    from a car-park deck over parked cars or from a street between them: all still, with a few street trees in half
    the scenes. Every energy network trained on Blender scenes before this family moved the validation
    set's distant office facades as if their rows of windows were foliage (runs RL24F-RL27R: the static-only views
    0.9-1.6 times the flowers close-up, against release 7's 0.41); no family showed a block taller than a house."""
    rng = b.rng
    street = rng.random() < 0.4
    cam_h = float(rng.uniform(1.4, 1.9) if street or rng.random() < 0.7 else rng.uniform(4.0, 12.0))
    pitch = math.radians(float(rng.uniform(-6.0, 10.0)))
    b.aim((float(rng.uniform(-25.0, 25.0)), 200.0, cam_h + 200.0 * math.tan(pitch)), height=cam_h,
          lens=float(rng.uniform(18, 45)))
    world = b.spec.world
    if rng.random() < 0.5:  # the grey sky of a city day: a weak sun
        world["sun_strength"] = float(rng.uniform(0.3, 1.5))
    world["exposure"] = world["exposure"] - float(rng.uniform(0.0, 1.0))  # city photographs keep the sky unclipped
    b.ground(str(rng.choice(["asphalt", "asphalt", "paving", "slabs"])), 0.2, 3000.0, flat_r=2000.0)
    if rng.random() < 0.6:
        b.markings()
    styles = ("punched", "ribbon", "curtain")
    if street:  # blocks along both sides of a street running away from the camera
        half = float(rng.uniform(8.0, 20.0))
        for side in (-1.0, 1.0):
            y = float(rng.uniform(2.0, 10.0))
            while y < 300.0:
                depth = float(rng.uniform(15.0, 40.0))
                length = float(rng.uniform(15.0, 50.0))
                height = float(rng.uniform(12.0, 90.0))
                b.tower((side * (half + depth / 2), y + length / 2), float(rng.normal(0, 0.02)),
                        (depth, length, height), str(rng.choice(styles)))
                y += length + float(rng.uniform(0.0, 15.0))
        things = int(rng.integers(2, 8))
    else:  # a deck or a square, a parapet and parked cars along its far edge, the blocks beyond it
        edge = float(rng.uniform(15.0, 60.0))
        if rng.random() < 0.7:
            b.wall(edge, -edge * 2, edge * 2, float(rng.uniform(0.5, 1.2)))
        for x, y in b.scatter(int(rng.integers(3, 14)), edge - 6.0, edge - 2.0, 1.1):
            _still_thing(b, "car", float(x), float(y), 1.5)
        for x, y in b.scatter(int(rng.integers(3, 10)), edge + 20.0, edge + float(rng.uniform(80.0, 400.0)), 1.2):
            width = float(rng.uniform(15.0, 60.0))
            b.tower((float(x), float(y)), float(rng.uniform(-0.8, 0.8)),
                    (width, width * float(rng.uniform(0.5, 1.2)), float(rng.uniform(15.0, 150.0))),
                    str(rng.choice(styles)))
        things = int(rng.integers(0, 4))
    for x, y in b.scatter(int(rng.integers(0, 12)), 600.0, 2000.0, 1.2):  # the skyline further off
        width = float(rng.uniform(20.0, 60.0))
        b.spec.add("skyline", geo.box((float(x), float(y), -0.2), (width, width, float(rng.uniform(20.0, 200.0))),
                                      float(rng.uniform(0, 1.5))), b.material(str(rng.choice(["wall", "glass"]))),
                   smooth=False)
    for _ in range(things):
        x, y = b.scatter(1, 4, 40, 0.8)[0]
        kind = str(rng.choice(["lamp", "posts", "bench", "pot", "car"]))
        low, high = {"lamp": (3.0, 8.0), "posts": (0.6, 1.2), "bench": (0.7, 1.0), "pot": (0.5, 1.0),
                     "car": (1.5, 1.5)}[kind]
        _still_thing(b, kind, float(x), float(y), float(rng.uniform(low, high)))
    if rng.random() < 0.5:  # a few street trees
        for _ in range(int(rng.integers(1, 5))):
            x, y = b.scatter(1, 8, 80, 1.0)[0]
            height = float(rng.uniform(3.0, 9.0))
            b.plant((float(x), float(y)), height, height * float(rng.uniform(0.2, 0.35)), int(rng.integers(500, 1200)),
                    "leaf", crown_base=height * float(rng.uniform(0.3, 0.5)), trunk=float(rng.uniform(0.1, 0.25)))


def _layered_rock(b: _Builder, x: float, y: float, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """A pinnacle or a stretch of cliff of bedded rock standing on ``(x, y)``: rough lumps stacked in beds 0.8-2 m
    thick, each overlapping the one below by half and a little off it, narrowing upwards (``width`` at the foot,
    metres)."""
    rng = b.rng
    layers, z = [], -0.5
    while z < height:
        thick = float(rng.uniform(0.8, 2.0))
        w = width * (1.0 - 0.3 * z / height) * float(rng.uniform(0.85, 1.1))
        layers.append(geo.blob((x + rng.normal(0, 0.06 * width), y + rng.normal(0, 0.04 * width), z),
                               (w / 2, w / 2 * float(rng.uniform(0.6, 1.0)), thick), rng,
                               float(rng.uniform(0.35, 0.6)), 10, 14))
        z += thick * float(rng.uniform(0.45, 0.65))
    return geo.merge(*layers)


def _family_outcrop(b: _Builder) -> None:
    """Pinnacles, ledges and boulders of pale bedded rock in a wood: tall trees whose crowns sway high over their still
    trunks, undergrowth and grass around the rock, on bare or grassy woodland ground. The places set's slope (a
    sandstone pinnacle and cliff among pines) fell in every frozen-encoder run (AUC 0.90 -> 0.84-0.88, RL24F-RL27R),
    its rock moved with the leaves; the rockery's stones are dark crags heaped in a mound, never tall, pale rock
    between trunks."""
    rng = b.rng
    cam_h = float(rng.uniform(1.4, 1.9))
    pitch = math.radians(float(rng.uniform(-8.0, 14.0)))  # often looking up at the rock and the crowns over it
    b.aim((float(rng.uniform(-20.0, 20.0)), 100.0, cam_h + 100.0 * math.tan(pitch)), height=cam_h,
          lens=float(rng.uniform(18, 40)))
    b.ground(str(rng.choice(["dirt", "meadow_ground", "meadow_ground"])), 0.2, 600.0,
             hills=float(rng.uniform(0.0, 8.0)), flat_r=70.0)
    rock = b.material("sandstone")
    rocks = []
    for x, y in b.scatter(int(rng.integers(1, 4)), 6.0, 40.0, 1.0):  # pinnacles
        height = float(rng.uniform(3.0, 12.0))
        rocks.append(_layered_rock(b, float(x), float(y), height * float(rng.uniform(0.35, 0.7)), height))
    if rng.random() < 0.7:  # a cliff of the same rock across the view
        dist = float(rng.uniform(8.0, 35.0))
        height = float(rng.uniform(2.0, 8.0))
        span = dist * math.tan(b.half_fov) * float(rng.uniform(0.6, 1.6))
        x0 = float(rng.uniform(-span, span * 0.3))
        for x in np.arange(x0, x0 + span, float(rng.uniform(1.8, 3.5))):
            rocks.append(_layered_rock(b, float(x), dist + float(rng.normal(0, 0.8)),
                                       float(rng.uniform(2.5, 4.5)), height * float(rng.uniform(0.7, 1.2))))
    for x, y in b.scatter(int(rng.integers(2, 10)), 2.5, 30.0, 1.1):  # boulders fallen from it
        s = float(rng.uniform(0.3, 1.4))
        rocks.append(geo.blob((float(x), float(y), -0.2), (s, s * float(rng.uniform(0.6, 1.0)), s * 0.6), rng,
                              float(rng.uniform(0.2, 0.45)), 8, 12))
    b.spec.add("outcrop", geo.merge(*rocks), rock, smooth=bool(rng.random() < 0.5))
    b.far_tree_line(float(rng.uniform(400.0, 1200.0)))  # the wood closes the view
    for x, y in b.scatter(int(rng.integers(10, 24)), 3.0, 80.0, 1.25):  # tall trees, crowns over the trunks
        height = float(rng.uniform(10.0, 25.0))
        b.plant((float(x), float(y)), height, float(rng.uniform(2.0, 4.5)), int(rng.integers(800, 1800)), "leaf",
                crown_base=height * float(rng.uniform(0.25, 0.6)), trunk=float(rng.uniform(0.15, 0.35)))
    for x, y in b.scatter(int(rng.integers(3, 12)), 2.0, 25.0, 1.1):  # undergrowth
        b.plant((float(x), float(y)), float(rng.uniform(0.3, 1.5)), float(rng.uniform(0.3, 1.0)),
                int(rng.integers(150, 600)))
    if rng.random() < 0.6:
        near = max(0.5, b.min_visible_r() * 0.8)
        b.grass(int(rng.integers(3000, 10000)), near, float(rng.uniform(6.0, 15.0)), float(rng.uniform(0.15, 0.45)),
                str(rng.choice(["grass", "dry_grass"])), 0.008)


def _frame_height(b: _Builder, dist: float, lens: float) -> float:
    """The height (metres) that the frame spans ``dist`` metres from the camera through a ``lens`` mm lens."""
    return dist * b.camera.sensor_mm * b.camera.height / b.camera.width / lens


def _room_shell(b: _Builder, depth: float, half: float, height: float, floor: dict, wall: dict) -> None:
    """A roofless room round the camera: a floor of material ``floor``, a back wall ``depth`` metres ahead and two
    side walls ``half`` metres to either side, ``height`` metres tall, of material ``wall``."""
    b.spec.add("floor", geo.box((0, depth / 2, -0.1), (2 * half, depth + 2, 0.1)), floor, smooth=False)
    b.spec.add("back_wall", geo.box((0, depth, -0.1), (2 * half, 0.2, height)), wall, smooth=False)
    for side in (-1, 1):
        b.spec.add("side_wall", geo.box((side * half, depth / 2, -0.1), (0.2, depth + 2, height)), wall, smooth=False)


def _table_mesh(x: float, y: float, width: float, depth: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """A table (top 4 cm thick and four legs 5 cm square) centred on ``(x, y)``, ``width x depth x height``
    metres."""
    top = geo.box((x, y, height - 0.04), (width, depth, 0.04))
    legs = [geo.box((x + sx * (width / 2 - 0.05), y + sy * (depth / 2 - 0.05), 0), (0.05, 0.05, height - 0.04))
            for sx in (-1, 1) for sy in (-1, 1)]
    return geo.merge(top, *legs)


def _chair_mesh(x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """A chair whose seat (45 cm square, 42 cm high) is centred on ``(x, y)``, its back towards -y."""
    chair = [geo.box((x, y, 0.42), (0.45, 0.45, 0.05)), geo.box((x, y - 0.22, 0.42), (0.45, 0.05, 0.5))]
    chair += [geo.box((x + sx * 0.2, y + sy * 0.2, 0), (0.04, 0.04, 0.42)) for sx in (-1, 1) for sy in (-1, 1)]
    return geo.merge(*chair)


def _family_interior(b: _Builder) -> None:
    rng = b.rng
    depth = float(rng.uniform(2.5, 6.0))  # distance to the back wall
    ty = float(rng.uniform(0.8, min(1.8, depth - 0.8)))
    th = float(rng.uniform(0.7, 0.8))
    b.aim((float(rng.uniform(-0.2, 0.2)), ty + float(rng.uniform(0.0, 0.8)), th + float(rng.uniform(0.05, 0.4))),
          height=th + float(rng.uniform(0.1, 0.7)), lens=float(rng.uniform(30, 70)))
    half = float(rng.uniform(2.5, 5.0))
    wall = b.material(str(rng.choice(["wall", "wall", "brick", "wood"])))
    _room_shell(b, depth, half, 4.5, b.material("wood"), wall)
    # a bright window in the back wall with curtains in front of it
    wx = float(rng.uniform(-half * 0.5, half * 0.5))
    ww, wz, wh = float(rng.uniform(0.8, 1.8)), float(rng.uniform(0.8, 1.2)), float(rng.uniform(1.0, 1.8))
    b.spec.add("window", geo.box((wx, depth - 0.11, wz), (ww, 0.02, wh)), b.material("window"), smooth=False)
    if rng.random() < 0.95:
        top = wz + wh + 0.15
        drop = top - float(rng.uniform(0.3, 0.9))
        gap = float(rng.uniform(0.1, 0.5)) * ww
        b.curtain(wx - ww / 2 - 0.3, wx - gap / 2, depth - 0.25, top, drop)
        b.curtain(wx + gap / 2, wx + ww / 2 + 0.3, depth - 0.25, top, drop)
    # a table with candles and things on it
    tw, td = float(rng.uniform(0.8, 1.8)), float(rng.uniform(0.6, 1.0))
    b.spec.add("table", _table_mesh(0.0, ty, tw, td, th), b.material("wood"), smooth=False)
    for _ in range(int(rng.integers(2, 7))):
        cx, cy = float(rng.uniform(-tw / 2.5, tw / 2.5)), ty + float(rng.uniform(-td / 3, td / 3))
        ch, cr = float(rng.uniform(0.06, 0.3)), float(rng.uniform(0.015, 0.04))
        b.spec.add("candle", geo.tube((cx, cy, th), (cx, cy, th + ch), cr, cr, 10, 1), b.material("wax"))
        b.flame((cx, cy, th + ch + 0.004), float(rng.uniform(0.04, 0.09)), float(rng.uniform(0.01, 0.02)))
    for _ in range(int(rng.integers(0, 3))):  # vases and books
        x = float(rng.uniform(-tw / 2.5, tw / 2.5))
        if rng.random() < 0.5:
            b.spec.add("vase", geo.tube((x, ty + 0.1, th), (x, ty + 0.1, th + rng.uniform(0.15, 0.35)),
                                        rng.uniform(0.04, 0.08), rng.uniform(0.02, 0.06), 12, 4, (0.01, 0.0)),
                       b.material(str(rng.choice(["wax", "metal", "rock"]))))
        else:
            b.spec.add("book", geo.box((x, ty, th), (rng.uniform(0.15, 0.3), 0.22, rng.uniform(0.03, 0.08)),
                                       rng.uniform(-0.5, 0.5)), b.material("cloth"), smooth=False)
    if rng.random() < 0.6:  # a chair and a shelf
        cx = float(rng.choice([-1, 1]) * rng.uniform(0.8, 1.5))
        b.spec.add("chair", _chair_mesh(cx, ty - 0.2), b.material("wood"), smooth=False)
    if rng.random() < 0.5:
        sx = float(rng.choice([-1, 1]) * half * 0.7)
        b.spec.add("shelf", geo.box((sx, depth - 0.3, 0), (1.0, 0.35, rng.uniform(1.2, 2.0))), b.material("wood"),
                   smooth=False)
    if rng.random() < 0.4:  # a house plant by the window
        px = wx + float(rng.choice([-1, 1]) * (ww / 2 + 0.4))
        b.spec.add("pot", geo.tube((px, depth - 0.6, 0), (px, depth - 0.6, 0.3), 0.15, 0.2, 10, 1), b.material("rock"))
        b.plant((px, depth - 0.6), float(rng.uniform(0.8, 1.4)), float(rng.uniform(0.25, 0.45)),
                int(rng.integers(120, 300)), crown_base=0.35, stiffness=2.0)


def _family_campfire(b: _Builder) -> None:
    rng = b.rng
    fy = float(rng.uniform(2.0, 6.0))
    fx = float(rng.uniform(-0.3, 0.3)) * fy
    b.aim((fx, fy, float(rng.uniform(0.2, 1.5))), height=float(rng.uniform(0.6, 1.8)))
    b.spec.world["sun_elevation_deg"] = float(rng.uniform(-2.0, 6.0))
    b.spec.world["sun_strength"] = float(rng.uniform(0.2, 1.0))
    b.spec.world["hdri"] = str(rng.choice(["night", "sunset", "sunrise", "forest"]))
    b.spec.world["hdri_strength"] = float(rng.uniform(0.05, 0.3))
    b.ground(str(rng.choice(["dirt", "meadow_ground", "sand"])), 0.2, 2000.0, hills=float(rng.uniform(2, 20)))
    ring = float(rng.uniform(0.4, 0.8))
    stones = [geo.blob((fx + ring * math.cos(a), fy + ring * math.sin(a), 0), (0.12, 0.12, 0.09), rng, 0.3, 6, 8)
              for a in np.linspace(0, 2 * np.pi, int(rng.integers(8, 14)), endpoint=False)]
    b.spec.add("stones", geo.merge(*stones), b.material("rock"))
    logs = []
    for a in rng.uniform(0, np.pi, int(rng.integers(3, 6))):
        dx, dy = 0.45 * ring * math.cos(a), 0.45 * ring * math.sin(a)
        logs.append(geo.tube((fx - dx, fy - dy, 0.05), (fx + dx, fy + dy, 0.12), 0.05, 0.04, 8, 1))
    b.spec.add("logs", geo.merge(*logs), b.material("bark"))
    for _ in range(int(rng.integers(3, 7))):
        ox, oy = rng.normal(0, 0.15 * ring, 2)
        b.flame((fx + ox, fy + oy, 0.08), float(rng.uniform(0.25, 0.8)), float(rng.uniform(0.06, 0.15)))
    if rng.random() < 0.7:  # grass beyond the fire
        b.grass(int(rng.integers(10000, 30000)), fy + ring + 0.5, 25.0, float(rng.uniform(0.15, 0.5)),
                str(rng.choice(["grass", "dry_grass"])), 0.01)
    for _ in range(int(rng.integers(1, 5))):
        p = b.scatter(1, 8, 40)[0]
        b.plant(p, float(rng.uniform(5, 12)), float(rng.uniform(1.5, 3.5)), int(rng.integers(1200, 2500)), "leaf",
                crown_base=float(rng.uniform(1, 3)), trunk=float(rng.uniform(0.15, 0.35)))


def _close_up_surroundings(b: _Builder, dist: float, focus_m: float, size: float, top: float) -> None:
    """What surrounds a close-up's subjects (``size`` metres tall, ``top`` metres at their highest, ``dist`` metres
    from the camera), all of it still: the depth of field (focused at ``focus_m`` with the background soft, or all
    sharp: never the draw of other families' cameras, which may focus metres behind the subject and leave it
    unknown), the ground, a low or high wall, stones or open sky behind, and sometimes stones or a kerb in front."""
    rng = b.rng
    fstop = float(rng.uniform(2.8, 11.0)) if rng.random() < 0.6 else 0.0
    b.camera = b.spec.camera = replace(b.camera, fstop=fstop, focus_m=focus_m)
    b.ground(str(rng.choice(["paving", "slabs", "gravel", "dirt", "meadow_ground"])), 0.05, 200.0)
    behind = dist + float(rng.uniform(0.3, 3.0))
    backdrop = rng.choice(["wall", "high_wall", "stones", "open"])
    if backdrop in ("wall", "high_wall"):  # low: sky above it; high: the wall fills the background
        b.wall(behind, -20.0, 20.0, float(rng.uniform(0.3, 1.0) * top) if backdrop == "wall"
               else float(rng.uniform(2.5, 5.0)))
    elif backdrop == "stones":
        b.rocks(int(rng.integers(3, 10)), dist * 0.7, behind + 2.0, float(rng.uniform(0.1, 0.4)) * size + 0.05)
    elif rng.random() < 0.5:
        b.mountains(float(rng.uniform(500, 3000)), float(rng.uniform(50, 400)))
    if rng.random() < 0.5:
        b.rocks(int(rng.integers(1, 5)), max(0.3, dist * 0.5), dist * 0.9, float(rng.uniform(0.05, 0.2)) * size + 0.03)


def _family_specimen(b: _Builder) -> None:
    """A close-up of one to three plants against still surroundings: a shrub in a pot, a clump of long grass or
    flowers on tall stems, 0.6-2.5 m from the camera, before a wall, stones, paving or open sky. The plants fill a
    fifth to two thirds of the frame and sway by several pixels; the pot, wall, stones and ground beside them stay
    still. The other families see plants from metres away (the garden family's beds fill the frame with foliage),
    and the models trained on them moved single plants in close-ups by tenths of a pixel."""
    rng = b.rng
    dist = float(rng.uniform(0.6, 2.5))  # camera to the subject (metres)
    lens = float(rng.uniform(28, 85))
    frame_h = _frame_height(b, dist, lens)
    size = frame_h * float(rng.uniform(0.5, 1.2))  # the subject's height
    pot_h = float(rng.uniform(0.15, 0.45)) * size if rng.random() < 0.5 else 0.0
    cam_h = float(np.clip(rng.uniform(0.3, 1.3) * (pot_h + size), 0.15, 1.8))
    b.aim((0.0, dist, pot_h + size * float(rng.uniform(0.35, 0.6))), height=cam_h, lens=lens)
    _close_up_surroundings(b, dist, math.hypot(dist, cam_h - pot_h - size / 2), size, pot_h + size)
    subjects = int(rng.integers(1, 4))
    for i in range(subjects):
        x = 0.0 if i == 0 else float(rng.uniform(-0.6, 0.6)) * frame_h * 1.6
        y = dist * (1.0 if i == 0 else float(rng.uniform(0.85, 1.2)))
        # flowers half the time: a close-up's flowers are the plants no model moved (v9: a quarter)
        kind = str(rng.choice(["shrub", "grass", "flowers", "flowers"]))
        h = size * (1.0 if i == 0 else float(rng.uniform(0.5, 1.0)))
        if kind == "shrub":
            base = pot_h if i == 0 else 0.0
            if base > 0:
                radius = float(rng.uniform(0.2, 0.4)) * size
                b.spec.add("pot", geo.tube((x, y, 0.0), (x, y, base), radius * 0.75, radius, 16, 2),
                           b.material(str(rng.choice(["brick", "wall", "stone_wall", "metal"]))))
                b.spec.add("soil", geo.blob((x, y, base - 0.02 * size), (radius, radius, 0.04 * size), rng, 0.1),
                           b.material("dirt"))
            # rooted in the pot or the ground; half of them on visible stems (a crown raised on a stem would float)
            stem = float(rng.uniform(0.006, 0.02)) * h if rng.random() < 0.5 else 0.0
            b.plant((x, y), h, h * float(rng.uniform(0.25, 0.6)), int(rng.integers(300, 1200)), "leaf",
                    crown_base=h * float(rng.uniform(0.1, 0.4)) if stem else 0.0, trunk=stem, base_z=base,
                    stiffness=float(rng.uniform(0.15, 0.5)))  # a small plant bends more for its height than a tree
        elif kind == "grass":
            b.grass(int(rng.integers(150, 1200)), y * 0.95, y * 1.05, h,
                    str(rng.choice(["grass", "dry_grass", "reed"])), float(rng.uniform(0.004, 0.012)),
                    spread=float(rng.uniform(0.1, 0.5)))
        else:
            b.flowers(int(rng.integers(5, 40)), y * 0.9, y * 1.15, h, open_faces=True)


def _family_still_life(b: _Builder) -> None:
    """A close-up of still things framed as the specimen family frames its plants: pots and vases, posts and
    bollards, a pile of stones, a bench, crates, a plinth with a sculpture, a lamp, 0.6-4 m from the camera, before
    the same walls, stones, paving or sky, with the same depth of field, and sometimes parked cars further back.
    Nothing in it moves. Models trained with the specimen close-ups moved still pictures more (the static-only
    validation views 0.014 -> 0.03 px, runs RS-RF2): that framing, soft backgrounds and walls came only with moving
    subjects. From v12, 40 % of them are indoors instead (:func:`_still_room`), drawn apart so that the outdoor ones
    are v11's, vertex for vertex."""
    if np.random.default_rng([b.spec.seed, 0x1D00]).random() < 0.4:
        _still_room(b)
        return
    rng = b.rng
    dist = float(rng.uniform(0.6, 4.0))
    lens = float(rng.uniform(28, 85))
    frame_h = _frame_height(b, dist, lens)
    size = frame_h * float(rng.uniform(0.5, 1.2))
    cam_h = float(np.clip(rng.uniform(0.3, 1.3) * size, 0.15, 1.8))
    b.aim((0.0, dist, size * float(rng.uniform(0.35, 0.6))), height=cam_h, lens=lens)
    _close_up_surroundings(b, dist, math.hypot(dist, cam_h - size / 2), size, size)
    if rng.random() < 0.3:  # parked cars further back, the band that drifted in the city views
        for _ in range(int(rng.integers(1, 4))):
            _still_thing(b, "car", float(rng.uniform(-6.0, 6.0)), dist + float(rng.uniform(3.0, 12.0)), 1.5)
    for i in range(int(rng.integers(1, 4))):
        x = 0.0 if i == 0 else float(rng.uniform(-0.6, 0.6)) * frame_h * 1.6
        y = dist * (1.0 if i == 0 else float(rng.uniform(0.85, 1.2)))
        h = size * (1.0 if i == 0 else float(rng.uniform(0.5, 1.0)))
        kind = str(rng.choice(["pot", "posts", "stones", "bench", "crates", "sculpture", "lamp"]))
        _still_thing(b, kind, x, y, h)


def _still_room(b: _Builder) -> None:
    """A still corner of a room seen from 1-1.7 m up, 1.2-3.5 m from the back wall (24-50 mm): a desk or table, and
    some of a desk lamp, a chair, a television or a framed picture on the wall, a door, a shelf with books, a
    folding stand on thin legs, boxes on the floor. Nothing moves: no curtains, flames or plants. Models trained
    with the specimen close-ups moved a hotel room's desk, lamp and television (validation view interior_room,
    0.016 -> 0.020-0.023 px, run RL), and the interior family's rooms always hold something that moves."""
    rng = b.rng
    depth = float(rng.uniform(1.2, 3.5))
    desk_y, desk_h = depth - float(rng.uniform(0.35, 0.6)), float(rng.uniform(0.7, 0.78))
    desk_x = float(rng.uniform(-0.8, 0.8))
    b.aim((desk_x + float(rng.uniform(-0.4, 0.4)), desk_y, desk_h + float(rng.uniform(-0.3, 0.4))),
          height=float(rng.uniform(1.0, 1.7)), lens=float(rng.uniform(24, 50)))
    # a soft background behind the desk, or all sharp (never the other families' draw, which may focus metres away)
    fstop = float(rng.uniform(2.8, 8.0)) if rng.random() < 0.3 else 0.0
    b.camera = b.spec.camera = replace(b.camera, fstop=fstop, focus_m=math.hypot(desk_y, b.cam_h - desk_h))
    half = float(rng.uniform(1.5, 3.0))
    wall = b.material(str(rng.choice(["wall", "wall", "brick", "wood"])))
    _room_shell(b, depth, half, 3.0, b.material(str(rng.choice(["wood", "slabs", "paving"]))), wall)
    dw, dd = float(rng.uniform(0.9, 1.8)), float(rng.uniform(0.5, 0.75))
    b.spec.add("desk", _table_mesh(desk_x, desk_y, dw, dd, desk_h), b.material(str(rng.choice(["wood", "metal"]))),
               smooth=False)
    if rng.random() < 0.6:  # a desk lamp: a round foot, a thin stem and a shade or a ball
        lx, ly = desk_x + float(rng.uniform(-0.4, 0.4)) * dw, desk_y + float(rng.uniform(-0.15, 0.15))
        stem = float(rng.uniform(0.25, 0.5))
        shade = float(rng.uniform(0.05, 0.12))
        lamp = geo.merge(geo.tube((lx, ly, desk_h), (lx, ly, desk_h + 0.02), 0.08, 0.07, 16, 1),
                         geo.tube((lx, ly, desk_h), (lx, ly, desk_h + stem), 0.008, 0.008, 8, 1),
                         geo.blob((lx, ly, desk_h + stem), (shade, shade, 0.7 * shade), rng, 0.05))
        b.spec.add("desk_lamp", lamp, b.material(str(rng.choice(["metal", "wax", "wood"]))))
    for _ in range(int(rng.integers(0, 4))):  # papers, books, a closed laptop
        b.spec.add("desk_things", geo.box((desk_x + float(rng.uniform(-0.35, 0.35)) * dw,
                                           desk_y + float(rng.uniform(-0.2, 0.2)) * dd, desk_h),
                                          (float(rng.uniform(0.15, 0.35)), float(rng.uniform(0.2, 0.3)),
                                           float(rng.uniform(0.005, 0.05))), float(rng.uniform(-0.6, 0.6))),
                   b.material(str(rng.choice(["cloth", "window", "metal", "wall"]))), smooth=False)
    if rng.random() < 0.7:
        b.spec.add("chair", _chair_mesh(desk_x + float(rng.uniform(-0.3, 0.3)), desk_y - dd / 2 - 0.25),
                   b.material(str(rng.choice(["wood", "metal", "cloth"]))), smooth=False)
    if rng.random() < 0.6:  # a television (dark glass in a thin frame) or a framed picture on the back wall
        tw, th = float(rng.uniform(0.6, 1.4)), float(rng.uniform(0.4, 0.8))
        tx, tz = float(rng.uniform(-half * 0.6, half * 0.6)), desk_h + float(rng.uniform(0.25, 0.7))
        b.spec.add("screen_frame", geo.box((tx, depth - 0.14, tz), (tw + 0.04, 0.04, th + 0.04)),
                   b.material(str(rng.choice(["metal", "wood"]))), smooth=False)
        b.spec.add("screen", geo.box((tx, depth - 0.165, tz + 0.02), (tw, 0.01, th)),
                   b.material(str(rng.choice(["glass", "glass", "cloth", "wall"]))), smooth=False)
    if rng.random() < 0.4:  # a door in the back or a side wall
        side = float(rng.choice([-1, 1]))
        b.spec.add("door", geo.box((side * float(rng.uniform(0.4, 0.8)) * half, depth - 0.11, 0.0),
                                   (0.9, 0.04, 2.05)), b.material(str(rng.choice(["wood", "wall", "glass"]))),
                   smooth=False)
    if rng.random() < 0.4:  # a shelf with books
        sx = float(rng.choice([-1, 1]) * half * 0.7)
        sh = float(rng.uniform(1.0, 2.0))
        b.spec.add("shelf", geo.box((sx, depth - 0.3, 0), (0.9, 0.3, sh)), b.material("wood"), smooth=False)
        books = [geo.box((sx + float(rng.uniform(-0.35, 0.35)), depth - 0.45, z),
                         (float(rng.uniform(0.03, 0.08)), 0.02, float(rng.uniform(0.18, 0.3))))
                 for z in np.arange(0.3, sh - 0.2, 0.4) for _ in range(int(rng.integers(2, 8)))]
        if books:
            b.spec.add("books", geo.merge(*books), b.material("cloth"), smooth=False)
    if rng.random() < 0.3:  # a folding stand on thin crossed legs, straps on top
        fx, fy = float(rng.uniform(-half * 0.6, half * 0.6)), desk_y - float(rng.uniform(0.2, 0.8))
        legs = [geo.tube((fx + sx * 0.28, fy - 0.2, 0.0), (fx + sx * 0.28, fy + 0.2, 0.5), 0.01, 0.01, 6, 1)
                for sx in (-1, 1)]
        legs += [geo.tube((fx + sx * 0.28, fy + 0.2, 0.0), (fx + sx * 0.28, fy - 0.2, 0.5), 0.01, 0.01, 6, 1)
                 for sx in (-1, 1)]
        straps = [geo.box((fx, fy + d, 0.49), (0.6, 0.05, 0.01)) for d in (-0.12, 0.0, 0.12)]
        b.spec.add("stand", geo.merge(*legs, *straps), b.material("metal"))
    for _ in range(int(rng.integers(0, 3))):  # boxes or a bag on the floor
        s = float(rng.uniform(0.2, 0.5))
        b.spec.add("boxes", geo.box((float(rng.uniform(-half * 0.8, half * 0.8)), float(rng.uniform(0.8, depth - 0.3)),
                                     0.0), (s, s * 0.8, s * 0.7), float(rng.uniform(-0.5, 0.5))),
                   b.material(str(rng.choice(["wood", "cloth", "metal"]))), smooth=False)


def _still_thing(b: _Builder, kind: str, x: float, y: float, h: float) -> None:
    """One still object of ``kind`` standing at ``(x, y)`` on the ground, about ``h`` metres tall (a car keeps a
    car's size), with part id 0."""
    rng = b.rng
    add = b.spec.add
    if kind == "pot":  # an empty pot, urn or vase
        r = h * float(rng.uniform(0.2, 0.45))
        add("pot", geo.tube((x, y, 0.0), (x, y, h), r * float(rng.uniform(0.6, 1.0)), r, 16, 4,
                            (float(rng.uniform(-0.1, 0.1)) * r, 0.0)),
            b.material(str(rng.choice(["brick", "wall", "stone_wall", "metal", "wax", "rock"]))))
    elif kind == "posts":  # bollards or fence posts in a row
        n, r, gap = int(rng.integers(1, 6)), h * float(rng.uniform(0.04, 0.1)), h * float(rng.uniform(0.4, 1.2))
        yaw = float(rng.uniform(-0.6, 0.6))
        posts = [geo.tube((x + i * gap * math.cos(yaw), y + i * gap * math.sin(yaw), 0.0),
                          (x + i * gap * math.cos(yaw), y + i * gap * math.sin(yaw), h), r, r * 0.9, 12, 1)
                 for i in range(n)]
        add("posts", geo.merge(*posts), b.material(str(rng.choice(["metal", "wood", "stone_wall"]))))
    elif kind == "stones":  # a cairn or a heap of stones
        stones = [geo.blob((x + rng.normal(0, 0.25 * h), y + rng.normal(0, 0.2 * h), z),
                           (0.3 * h * rng.uniform(0.6, 1.3), 0.3 * h * rng.uniform(0.6, 1.3), 0.22 * h), rng)
                  for z in np.linspace(0.0, 0.7 * h, int(rng.integers(2, 7)))]
        add("stones", geo.merge(*stones), b.material("rock"))
    elif kind == "bench":
        w, d, seat = h * float(rng.uniform(1.5, 3.0)), h * 0.5, h * 0.5
        yaw = float(rng.uniform(-0.5, 0.5))
        parts = [geo.box((x, y, seat), (w, d, 0.08 * h), yaw), geo.box((x, y + d / 2, seat), (w, 0.06 * h, h - seat),
                                                                      yaw)]
        parts += [geo.box((x + sx * (w / 2 - 0.05 * h), y, 0.0), (0.08 * h, d, seat), yaw) for sx in (-1, 1)]
        add("bench", geo.merge(*parts), b.material(str(rng.choice(["wood", "metal"]))), smooth=False)
    elif kind == "crates":
        crates = []
        for i in range(int(rng.integers(1, 5))):
            s = h * float(rng.uniform(0.35, 0.6))
            crates.append(geo.box((x + rng.normal(0, 0.4 * h), y + rng.normal(0, 0.2 * h), 0.0 if i < 2 else s),
                                  (s, s, s), float(rng.uniform(-0.4, 0.4))))
        add("crates", geo.merge(*crates), b.material(str(rng.choice(["wood", "cloth", "metal"]))), smooth=False)
    elif kind == "sculpture":  # a plinth with a rounded stone or bronze form on it
        p = h * float(rng.uniform(0.3, 0.6))
        add("plinth", geo.box((x, y, 0.0), (0.5 * h, 0.5 * h, p), float(rng.uniform(-0.5, 0.5))),
            b.material(str(rng.choice(["stone_wall", "wall", "slabs"]))), smooth=False)
        add("sculpture", geo.blob((x, y, p), (0.25 * h, 0.2 * h, 0.5 * (h - p)), rng, 0.4),
            b.material(str(rng.choice(["metal", "rock", "wall"]))))
    elif kind == "lamp":  # a lamp post or a standing lamp: a pole and a head
        r = h * float(rng.uniform(0.015, 0.04))
        add("lamp_pole", geo.tube((x, y, 0.0), (x, y, h), r * 1.5, r, 10, 1), b.material("metal"))
        head = h * float(rng.uniform(0.08, 0.2))
        add("lamp_head", geo.blob((x, y, h - 0.3 * head), (head, head, 0.6 * head), rng, 0.05),
            b.material(str(rng.choice(["metal", "wax", "glass"]))))
    elif kind == "basket":  # a disc-golf basket: a pole ``h`` tall, a tray and a cage of chains over it
        r = float(rng.uniform(0.3, 0.35))
        chains = [geo.tube((x + r * math.cos(a), y + r * math.sin(a), h * 0.75 / 1.45),
                           (x + 0.6 * r * math.cos(a), y + 0.6 * r * math.sin(a), h * 1.35 / 1.45), 0.012, 0.012, 4, 1)
                  for a in np.linspace(0, 2 * np.pi, 16, endpoint=False)]
        parts = [geo.tube((x, y, 0.0), (x, y, h), 0.025, 0.025, 8, 1),
                 geo.tube((x, y, h * 0.55 / 1.45), (x, y, h * 0.75 / 1.45), r, r, 16, 1), *chains]
        add("basket", geo.merge(*parts), b.material("metal"), smooth=False)
    elif kind == "car":  # a parked car: body, cabin and four wheels, about 4.2 x 1.8 x 1.5 m
        yaw = float(rng.choice([0.0, math.pi / 2]) + rng.uniform(-0.3, 0.3))
        c, s = math.cos(yaw), math.sin(yaw)
        length, width = float(rng.uniform(3.8, 4.8)), float(rng.uniform(1.7, 1.9))
        paint = b.material("car_paint")
        add("car_body", geo.box((x, y, 0.3), (length, width, 0.7), yaw), paint, smooth=False)
        add("car_cabin", geo.box((x - 0.2 * length * c, y - 0.2 * length * s, 1.0), (0.5 * length, 0.9 * width,
                                                                                      0.5), yaw),
            b.material("glass"), smooth=False)
        wheels = []
        for along in (-0.32, 0.32):
            for side in (-0.5, 0.5):
                cx = x + along * length * c - side * width * s
                cy = y + along * length * s + side * width * c
                # an axle 20 cm long across the car, along (-sin, cos)
                wheels.append(geo.tube((cx + 0.1 * s, cy - 0.1 * c, 0.33), (cx - 0.1 * s, cy + 0.1 * c, 0.33),
                                       0.33, 0.33, 14, 1))
        add("car_wheels", geo.merge(*wheels), b.material("rock"))
    else:
        raise ValueError(f"unknown still thing {kind!r}")


_FAMILY_BUILDERS = {"meadow": _family_meadow, "lake": _family_lake, "coast": _family_coast,
                    "waterfront": _family_waterfront, "village": _family_village, "garden": _family_garden,
                    "rockery": _family_rockery, "promenade": _family_promenade, "interior": _family_interior,
                    "campfire": _family_campfire, "specimen": _family_specimen,
                    "still_life": _family_still_life, "calm_water": _family_calm_water, "yard": _family_yard,
                    "park": _family_park, "quayside": _family_quayside, "towers": _family_towers,
                    "outcrop": _family_outcrop}
assert tuple(_FAMILY_BUILDERS) == FAMILIES
