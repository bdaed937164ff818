"""Whole scenes: a sky or wall behind, then objects placed on the ground in perspective, far to near (painter's order).

Families (the ``family`` label of a sample):

- ``meadow``: hills and tree lines, grass and flowers in rows, trees, bushes, hedges, rocks, fences, sometimes a flag,
  laundry, a farmhouse or a stone wall.
- ``lake``: a far shore, open water with waves and ripples, a near bank with reeds, grass, rocks and trees.
- ``village``: houses with windows, paving, fences, hedges, lamp posts, flags, bunting and laundry; mostly static.
- ``interior``: a wall, a window with curtains, a table with candles, paintings, books, vases, house plants (static).
- ``coast``: sea waves, cliffs and boulders, a beach, dune grass.
- ``campfire``: dusk or night, a fire on the ground, dark tree lines, rocks, tents.

Object sizes scale with depth (0 at the horizon, 1 at the bottom edge) and with the image height, so the same seed
composes the same picture at any resolution.
"""

from __future__ import annotations

import math

import numpy as np

from . import cloth, flames, ground, interior, plants, sky, structures, water
from .canvas import Grade, Scene, hsv
from .sky import Mood

FAMILIES = ("meadow", "lake", "village", "interior", "coast", "campfire")
FAMILY_WEIGHTS = (0.28, 0.22, 0.17, 0.14, 0.11, 0.08)


def random_family(rng: np.random.Generator) -> str:
    w = np.asarray(FAMILY_WEIGHTS)
    return FAMILIES[int(rng.choice(len(FAMILIES), p=w / w.sum()))]


def build(scene: Scene, rng: np.random.Generator, family: str) -> None:
    """Fill ``scene`` with a random scene of ``family``."""
    {"meadow": _meadow, "lake": _lake, "village": _village, "interior": _interior, "coast": _coast,
     "campfire": _campfire}[family](scene, rng)


# ----------------------------------------------------------------------------------------------------------------------
# Shared pieces


def random_grade(rng: np.random.Generator, warm: float = 0.0) -> Grade:
    """Camera colour: saturation, white balance, a small hue shift (sometimes a large one), exposure, gamma, vignette.

    The occasional large hue rotation turns green grass purple and red roofs green, so colour alone never says "moves".
    """
    angle = rng.normal(0.0, 0.08) if rng.random() > 0.08 else rng.uniform(-np.pi, np.pi)
    axis = np.ones(3) / math.sqrt(3.0)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    hue = np.cos(angle) * np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * np.outer(axis, axis)
    sat = rng.uniform(0.75, 1.25)
    grey = np.full((3, 3), 1.0 / 3.0)
    saturation = grey + sat * (np.eye(3) - grey)
    balance = np.diag(1.0 + rng.normal(0, 0.04, 3) + np.array([warm, 0.0, -warm]) * 0.08)
    matrix = rng.uniform(0.88, 1.12) * balance @ saturation @ hue
    return Grade(matrix.astype(np.float32), float(rng.uniform(0.85, 1.15)), float(rng.uniform(0.0, 0.35)))


def _depth(scene: Scene, horizon: float, y: float) -> float:
    return float(np.clip((y - horizon) / max(scene.height - horizon, 1.0), 0.03, 1.5))


def _outdoor(scene: Scene, rng: np.random.Generator, horizon_range=(0.28, 0.58),
             night_ok: bool = False) -> tuple[Mood, float, tuple[float, float], plants.Wind]:
    horizon = scene.height * rng.uniform(*horizon_range)
    mood = sky.random_mood(rng, scene.width, horizon, night_ok=night_ok)
    if mood.sun is not None:
        lx = np.sign(mood.sun[0] - scene.width / 2) or 1.0
        light = (float(lx * 0.7), -0.7)
    else:
        a = rng.uniform(-2.6, -0.5)
        light = (float(np.cos(a)), float(np.sin(a)))
    scene.light_gradient = (float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-0.15, 0.15)))
    scene.grade = random_grade(rng, warm=1.0 if mood.name in ("golden", "dawn") else 0.0)
    scene.add(sky.sky(scene, rng, mood, horizon))
    return mood, horizon, light, plants.Wind.random(rng, scene.width)


def _backdrop(scene: Scene, rng: np.random.Generator, mood: Mood, horizon: float, treeline_p: float = 0.6) -> None:
    u = scene.height / 160.0
    if rng.random() < 0.35:
        peak = horizon - rng.uniform(20, 60) * u
        scene.add(sky.mountains(scene, rng, mood, horizon + 1, peak, rng.uniform(0.3, 0.6)))
    if rng.random() < 0.5:
        scene.add(sky.hills(scene, rng, mood, horizon + 1, horizon - rng.uniform(6, 25) * u, rng.uniform(0.15, 0.4)))
    if rng.random() < treeline_p:
        scene.add(sky.treeline(scene, rng, mood, horizon + 1.5, rng.uniform(4, 14) * u, rng.uniform(0.05, 0.3)))


def _spot(scene: Scene, rng: np.random.Generator, horizon: float, near: float = 1.0) -> tuple[float, float, float]:
    """A random ground position (x, y) and its depth scale; ``near`` > 1 favours the foreground."""
    y = horizon + 2 + (scene.height + 8 - horizon) * rng.random() ** (1.0 / near)
    return float(rng.uniform(-10, scene.width + 10)), float(y), _depth(scene, horizon, y)


class _Placer:
    """Collects ground objects with their base row, then adds them far to near."""

    def __init__(self) -> None:
        self.items: list[tuple[float, int, object]] = []

    def put(self, y: float, make) -> None:
        self.items.append((y, len(self.items), make))

    def add_all(self, scene: Scene) -> None:
        for _, _, make in sorted(self.items, key=lambda item: (item[0], item[1])):
            made = make()
            for layer in made if isinstance(made, list) else [made]:
                scene.add(layer)


def _vegetation(scene, rng, mood, wind, horizon, light, placer: _Placer, rows: int, families: list[str],
                trees: int, bushes: int, flowers: int, x_range=None, y_range=None) -> None:
    u = scene.height / 160.0
    x_lo, x_hi = x_range or (-20.0, scene.width + 20.0)

    def where(near=1.0):
        x, y, d = _spot(scene, rng, horizon, near)
        if y_range is not None:
            y = float(rng.uniform(y_range[0], max(y_range)))
            d = _depth(scene, horizon, y)
        return float(np.clip(x, x_lo, x_hi)), y, d

    for _ in range(rows):
        x, y, d = where(1.6)
        width = rng.uniform(40, 260) * max(d, 0.3) * u
        fam = families[int(rng.integers(len(families)))]
        style = rng.choice(["blades", "blades", "blades", "flowers", "reeds", "wheat"])
        if fam == "dry" and style == "flowers":
            style = "wheat"
        h = rng.uniform(15, 55) * d * u + 3
        placer.put(y, lambda x=x, y=y, w=width, h=h, fam=fam, st=style: plants.grass(
            scene, rng, mood, wind, y, x - w / 2, x + w / 2, h, rng.uniform(0.3, 1.2) / max(h / 30, 0.4), fam, st))
    for _ in range(flowers):
        x, y, d = where(1.3)
        h = rng.uniform(12, 35) * d * u + 3
        placer.put(y, lambda x=x, y=y, h=h: plants.grass(scene, rng, mood, wind, y, x - h, x + h, h,
                                                          rng.uniform(0.2, 0.6), families[0], "flowers"))
    for _ in range(trees):
        x, y, d = where(1.0)
        h = rng.uniform(60, 190) * d * u + 8
        fam = plants.foliage_family(rng) if rng.random() < 0.4 else families[0]
        placer.put(y, lambda x=x, y=y, h=h, fam=fam: plants.tree(scene, rng, mood, wind, x, y, h, fam, light))
    for _ in range(bushes):
        x, y, d = where(1.2)
        size = rng.uniform(10, 40) * d * u + 3
        fam = families[int(rng.integers(len(families)))]
        placer.put(y, lambda x=x, y=y, s=size, fam=fam: plants.bush(scene, rng, mood, wind, x, y, s, fam, light))


def _rocks(scene, rng, mood, horizon, light, placer: _Placer, count: int, size=(5, 28), y_range=None) -> None:
    u = scene.height / 160.0
    palette = ground.ROCK_HSV[int(rng.integers(len(ground.ROCK_HSV)))]
    colour = None if rng.random() < 0.5 else sky.pick_hsv(rng, *palette)
    for _ in range(count):
        x, y, d = _spot(scene, rng, horizon, 1.2)
        if y_range is not None:
            y = float(rng.uniform(y_range[0], max(y_range)))
            d = _depth(scene, horizon, y)
        r = rng.uniform(*size) * d * u + 2
        c = None if colour is None else np.clip(colour * rng.uniform(0.85, 1.15), 0, 1)
        placer.put(y, lambda x=x, y=y, r=r, c=c: ground.rock(scene, rng, mood, x, y, r, light, c))


def _structures(scene, rng, mood, wind, horizon, placer: _Placer, fences=0, flags=0, laundry=0, houses=0, walls=0,
                hedges=0, posts=0, bunting=0, light=(-0.6, -0.8)) -> None:
    u = scene.height / 160.0
    for _ in range(fences):
        x, y, d = _spot(scene, rng, horizon, 1.3)
        y1 = y + rng.normal(0, 6 * d)
        w = rng.uniform(60, 300) * d * u
        h = rng.uniform(10, 22) * d * u + 2
        placer.put(max(y, y1), lambda x=x, y=y, y1=y1, w=w, h=h: structures.fence(
            scene, rng, mood, x - w / 2, x + w / 2, y, y1, h, h))
    for _ in range(flags):
        x, y, d = _spot(scene, rng, horizon, 1.0)
        h = rng.uniform(50, 120) * d * u + 10
        placer.put(y, lambda x=x, y=y, h=h: cloth.flag(scene, rng, mood, wind, x, y, h))
    for _ in range(laundry):
        x, y, d = _spot(scene, rng, horizon, 1.3)
        w = rng.uniform(50, 140) * d * u + 10
        h = rng.uniform(30, 55) * d * u + 6
        placer.put(y, lambda x=x, y=y, w=w, h=h: cloth.laundry(scene, rng, mood, wind, x - w / 2, x + w / 2, y, h))
    for _ in range(houses):
        x, y, d = _spot(scene, rng, horizon, 0.8)
        w = rng.uniform(40, 140) * d * u + 8
        h = rng.uniform(30, 110) * d * u + 8
        placer.put(y, lambda x=x, y=y, w=w, h=h: structures.building(scene, rng, mood, x - w / 2, y, w, h, light,
                                                                     0.3 if mood.name == "night" else 0.05))
    for _ in range(walls):
        x, y, d = _spot(scene, rng, horizon, 1.2)
        w = rng.uniform(40, 200) * d * u
        placer.put(y, lambda x=x, y=y, w=w, d=d: structures.stone_wall(scene, rng, mood, x - w / 2, x + w / 2, y,
                                                                       rng.uniform(6, 16) * d * u + 2))
    for _ in range(hedges):
        x, y, d = _spot(scene, rng, horizon, 1.2)
        w = rng.uniform(30, 160) * d * u + 4
        placer.put(y, lambda x=x, y=y, w=w, d=d: plants.hedge(scene, rng, mood, x - w / 2, x + w / 2, y,
                                                              rng.uniform(8, 30) * d * u + 2, light))
    for _ in range(posts):
        x, y, d = _spot(scene, rng, horizon, 1.0)
        h = rng.uniform(40, 110) * d * u + 6
        placer.put(y, lambda x=x, y=y, h=h: structures.post(scene, rng, mood, x, y, h, max(h / 40, 1.0),
                                                            lamp=rng.random() < 0.5))
    for _ in range(bunting):
        x, y, d = _spot(scene, rng, horizon, 1.0)
        h = rng.uniform(40, 90) * d * u + 8
        w = rng.uniform(60, 200) * d * u + 20
        x0, x1 = x - w / 2, x + w / 2
        y0, y1 = y - h, y - h + rng.normal(0, 8 * d)

        def make(x0=x0, x1=x1, y=y, y0=y0, y1=y1, h=h):
            pw = max(h / 45, 1.0)
            return [structures.post(scene, rng, mood, x0, y, y - y0, pw), structures.post(scene, rng, mood, x1, y,
                                                                                          y - y1, pw),
                    cloth.bunting(scene, rng, mood, wind, x0, y0, x1, y1, max(h * rng.uniform(0.08, 0.15), 3))]
        placer.put(y, make)


def _families_of_foliage(rng: np.random.Generator) -> list[str]:
    first = plants.foliage_family(rng)
    return [first] if rng.random() < 0.5 else [first, plants.foliage_family(rng)]


# ----------------------------------------------------------------------------------------------------------------------
# Families


def _meadow(scene: Scene, rng: np.random.Generator) -> None:
    mood, horizon, light, wind = _outdoor(scene, rng)
    _backdrop(scene, rng, mood, horizon)
    style = rng.choice(["lawn", "meadow", "meadow", "dry", "dirt", "moss", "red_earth", "snow", "sand"])
    scene.add(ground.ground(scene, rng, mood, horizon, style))
    if rng.random() < 0.3:
        scene.add(ground.path(scene, rng, mood, horizon))
    placer = _Placer()
    families = _families_of_foliage(rng)
    _vegetation(scene, rng, mood, wind, horizon, light, placer, rows=int(rng.integers(3, 12)), families=families,
                trees=int(rng.integers(0, 5)), bushes=int(rng.integers(0, 4)), flowers=int(rng.integers(0, 4)))
    _rocks(scene, rng, mood, horizon, light, placer, int(rng.integers(0, 7)))
    _structures(scene, rng, mood, wind, horizon, placer, fences=int(rng.random() < 0.4), flags=int(rng.random() < 0.15),
                laundry=int(rng.random() < 0.1), houses=int(rng.random() < 0.25) * int(rng.integers(1, 3)),
                walls=int(rng.random() < 0.15), hedges=int(rng.random() < 0.35) * int(rng.integers(1, 3)), light=light)
    placer.add_all(scene)


def _lake(scene: Scene, rng: np.random.Generator) -> None:
    mood, horizon, light, wind = _outdoor(scene, rng, (0.25, 0.5))
    _backdrop(scene, rng, mood, horizon, treeline_p=0.8)
    if rng.random() < 0.25:  # a town on the far shore, standing on a strip of land
        n = scene.width + 2 * scene.margin
        strip = horizon - 1.5 - np.abs(sky.noise_1d(rng, n, rng.uniform(20, 60), octaves=3)) * 1.5
        scene.add(ground.ground(scene, rng, mood, horizon - 4, rng.choice(["lawn", "dirt", "sand"]), top=strip))
        far = _Placer()
        for _ in range(int(rng.integers(2, 7))):
            x = rng.uniform(0, scene.width)
            w, h = rng.uniform(8, 25), rng.uniform(6, 20)
            far.put(horizon, lambda x=x, w=w, h=h: structures.building(scene, rng, mood, x, horizon + 1, w, h, light,
                                                                       0.1))
        far.add_all(scene)
    calm = rng.uniform(0.0, 1.0)
    waves = water.random_waves(rng, scene, horizon, calm, ripples=int(rng.integers(0, 3)) if calm > 0.5 else 0)
    scene.add(water.water(scene, rng, mood, horizon, waves))
    placer = _Placer()
    _rocks(scene, rng, mood, horizon, light, placer, int(rng.integers(0, 4)), size=(4, 15))
    if rng.random() < 0.75:  # near bank
        n = scene.width + 2 * scene.margin
        bank_y = horizon + (scene.height - horizon) * rng.uniform(0.45, 0.9)
        profile = bank_y + (8 * sky.noise_1d(rng, n, rng.uniform(30, 100), octaves=3) +
                            np.linspace(0, rng.normal(0, 15), n)) * scene.height / 160.0
        placer.put(float(profile.min()) - 0.5, lambda: ground.ground(scene, rng, mood, horizon, rng.choice(
            ["meadow", "lawn", "dirt", "sand", "moss", "dry"]), top=profile.astype(np.float32)))
        top = min(float(np.median(profile)), scene.height - 4.0)
        families = _families_of_foliage(rng)
        _vegetation(scene, rng, mood, wind, horizon, light, placer, rows=int(rng.integers(2, 8)), families=families,
                    trees=int(rng.integers(0, 3)), bushes=int(rng.integers(0, 3)), flowers=int(rng.integers(0, 2)),
                    y_range=(top + 2, scene.height + 10))
        _rocks(scene, rng, mood, horizon, light, placer, int(rng.integers(0, 4)), y_range=(top + 2, scene.height + 5))
        _structures(scene, rng, mood, wind, horizon, placer, fences=int(rng.random() < 0.2),
                    flags=int(rng.random() < 0.1), light=light)
    placer.add_all(scene)


def _village(scene: Scene, rng: np.random.Generator) -> None:
    mood, horizon, light, wind = _outdoor(scene, rng, (0.3, 0.6), night_ok=True)
    _backdrop(scene, rng, mood, horizon, treeline_p=0.4)
    scene.add(ground.ground(scene, rng, mood, horizon, rng.choice(["paving", "gravel", "dirt", "lawn", "paving"])))
    placer = _Placer()
    u = scene.height / 160.0
    street = horizon + (scene.height - horizon) * rng.uniform(0.05, 0.45)
    x = rng.uniform(-30, 0)
    while x < scene.width + 10:  # a row of houses along a street
        d = _depth(scene, horizon, street)
        w = rng.uniform(40, 120) * d * u + 10
        h = rng.uniform(40, 110) * d * u + 10
        placer.put(street, lambda x=x, w=w, h=h: structures.building(
            scene, rng, mood, x, street, w, h, light, 0.4 if mood.name == "night" else 0.03))
        x += w + rng.uniform(-5, 25) * d
    _structures(scene, rng, mood, wind, horizon, placer, fences=int(rng.integers(0, 3)), flags=int(rng.random() < 0.35),
                laundry=int(rng.random() < 0.3), hedges=int(rng.integers(0, 3)), posts=int(rng.integers(0, 3)),
                bunting=int(rng.random() < 0.25), walls=int(rng.random() < 0.2), light=light)
    families = _families_of_foliage(rng)
    _vegetation(scene, rng, mood, wind, horizon, light, placer, rows=int(rng.integers(0, 5)), families=families,
                trees=int(rng.integers(0, 3)), bushes=int(rng.integers(0, 3)), flowers=int(rng.integers(0, 3)),
                y_range=(street + 1, scene.height + 10))
    _rocks(scene, rng, mood, horizon, light, placer, int(rng.integers(0, 3)))
    placer.add_all(scene)


def _interior(scene: Scene, rng: np.random.Generator) -> None:
    light = float(rng.uniform(0.45, 1.0))
    scene.grade = random_grade(rng, warm=1.0)
    scene.light_gradient = (float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.2, 0.2)))
    scene.add(interior.wall(scene, rng, light))
    w, h = scene.width, scene.height
    u = h / 160.0
    mood = sky.random_mood(rng, w, h * 0.5)
    breeze = plants.Wind(float(rng.uniform(0.3, 1.0)), int(rng.integers(1, 4)), 0.0, 0.3)
    table_top = h * rng.uniform(0.5, 0.8) if rng.random() < 0.85 else h + 20
    window_at = rng.random() < 0.6
    if window_at:
        x0 = rng.uniform(0.05, 0.6) * w
        x1 = x0 + rng.uniform(0.2, 0.4) * w
        y0, y1 = rng.uniform(0.05, 0.2) * h, min(table_top - 5 * u, rng.uniform(0.45, 0.7) * h)
        for layer in interior.window(scene, rng, mood, x0, y0, x1, y1, light):
            scene.add(layer)
        if rng.random() < 0.75:
            rod = y0 - rng.uniform(3, 8) * u
            length = min(table_top, h) + 10 * u - rod
            cw = (x1 - x0) * rng.uniform(0.25, 0.45)
            scene.add(cloth.curtain(scene, rng, breeze, x0 - cw * 0.6, x0 + cw * 0.4, rod, length, light))
            scene.add(cloth.curtain(scene, rng, breeze, x1 - cw * 0.4, x1 + cw * 0.6, rod, length, light))
    for _ in range(int(rng.integers(0, 3))):
        pw, ph = rng.uniform(15, 45) * u, rng.uniform(12, 35) * u
        px, py = rng.uniform(0, max(w - pw, 1)), rng.uniform(5 * u, max(table_top - ph - 10 * u, 6 * u))
        scene.add(interior.picture(scene, rng, px, py, pw, ph, light))
    if rng.random() < 0.3 and not window_at:
        sx = rng.uniform(0, w * 0.6)
        scene.add(interior.books(scene, rng, sx, sx + rng.uniform(30, 90) * u, rng.uniform(0.2, 0.45) * h,
                                 rng.uniform(10, 20) * u, light))
    if table_top < h:
        edge = table_top + (h - table_top) * rng.uniform(0.6, 1.3)
        scene.add(interior.table(scene, rng, table_top, edge, light))
    placer = _Placer()
    depth_lo, depth_hi = table_top + 2, min(table_top + (h - table_top) * 0.7, h - 4)
    for _ in range(int(rng.integers(1, 7))):
        y = rng.uniform(depth_lo, max(depth_hi, depth_lo + 1))
        s = 0.6 + 0.8 * (y - table_top) / max(h - table_top, 1)
        x, ch, cw = rng.uniform(0.04, 0.96) * w, rng.uniform(8, 45) * s * u, rng.uniform(4, 10) * s * u
        placer.put(y, lambda x=x, y=y, ch=ch, cw=cw: flames.candle(scene, rng, x, y, ch, cw, light,
                                                                   float(rng.uniform(0.5, 1.3))))
    for _ in range(int(rng.integers(0, 3))):
        y = rng.uniform(depth_lo, max(depth_hi, depth_lo + 1))
        x = rng.uniform(0, w)
        placer.put(y, lambda x=x, y=y: interior.vase(scene, rng, x, y, rng.uniform(12, 40) * u, light))
    if rng.random() < 0.4:
        y = rng.uniform(depth_lo, max(depth_hi, depth_lo + 1))
        x = rng.uniform(0, w)
        placer.put(y, lambda x=x, y=y: plants.potted_plant(scene, rng, x, y, rng.uniform(10, 25) * u, light))
    placer.add_all(scene)


def _coast(scene: Scene, rng: np.random.Generator) -> None:
    mood, horizon, light, wind = _outdoor(scene, rng, (0.25, 0.5))
    if rng.random() < 0.3:
        top = horizon - rng.uniform(4, 15) * scene.height / 160.0
        scene.add(sky.hills(scene, rng, mood, horizon + 1, top, rng.uniform(0.3, 0.6)))
    waves = water.random_waves(rng, scene, horizon, calm=rng.uniform(0.0, 0.4))
    scene.add(water.water(scene, rng, mood, horizon, waves))
    placer = _Placer()
    n = scene.width + 2 * scene.margin
    beach_y = horizon + (scene.height - horizon) * rng.uniform(0.35, 0.85)
    profile = beach_y + (6 * sky.noise_1d(rng, n, rng.uniform(40, 120), octaves=3) +
                         np.linspace(0, rng.normal(0, 20), n)) * scene.height / 160.0
    placer.put(float(profile.min()) - 0.5, lambda: ground.ground(scene, rng, mood, horizon, rng.choice(
        ["sand", "sand", "gravel", "dry"]), top=profile.astype(np.float32)))
    u = scene.height / 160.0
    if rng.random() < 0.7:  # a cliff of big boulders on one side
        side = rng.uniform(0, 0.3) if rng.random() < 0.5 else rng.uniform(0.7, 1.0)
        colour = sky.pick_hsv(rng, *ground.ROCK_HSV[int(rng.integers(len(ground.ROCK_HSV)))])
        for _ in range(int(rng.integers(3, 8))):
            x = (side + rng.normal(0, 0.08)) * scene.width
            y = rng.uniform(horizon + 3, scene.height + 5)
            r = rng.uniform(15, 45) * _depth(scene, horizon, y) * u + 4
            placer.put(y, lambda x=x, y=y, r=r: ground.rock(scene, rng, mood, x, y, r, light,
                                                           np.clip(colour * rng.uniform(0.8, 1.2), 0, 1)))
    top = min(float(np.median(profile)), scene.height - 4.0)
    _rocks(scene, rng, mood, horizon, light, placer, int(rng.integers(0, 5)), y_range=(top, scene.height + 5))
    _vegetation(scene, rng, mood, wind, horizon, light, placer, rows=int(rng.integers(1, 7)),
                families=["dry", "yellow_green", "blue_green"][: int(rng.integers(1, 4))], trees=0,
                bushes=int(rng.integers(0, 2)), flowers=0, y_range=(top + 3, scene.height + 10))
    _structures(scene, rng, mood, wind, horizon, placer, flags=int(rng.random() < 0.2), posts=int(rng.random() < 0.3),
                light=light)
    placer.add_all(scene)


def _campfire(scene: Scene, rng: np.random.Generator) -> None:
    horizon = scene.height * rng.uniform(0.3, 0.55)
    mood = sky.random_mood(rng, scene.width, horizon, night_ok=True)
    if mood.name not in ("night", "golden", "dawn"):
        mood = sky.random_mood(np.random.default_rng(int(rng.integers(1 << 30))), scene.width, horizon, night_ok=True)
        mood.light = min(mood.light, 0.6)
    scene.grade = random_grade(rng, warm=1.0)
    scene.add(sky.sky(scene, rng, mood, horizon))
    wind = plants.Wind.random(rng, scene.width)
    light = (-0.5, -0.8)
    dark = Mood(mood.name, mood.zenith, mood.horizon, mood.cloud_lit, mood.cloud_shadow, mood.cloud_cover, mood.sun,
                min(mood.light, 0.55), mood.tint)
    scene.add(sky.treeline(scene, rng, dark, horizon + 1.5, rng.uniform(8, 25), 0.05))
    scene.add(ground.ground(scene, rng, dark, horizon, rng.choice(["dirt", "meadow", "sand", "moss", "dry"])))
    placer = _Placer()
    u = scene.height / 160.0
    fy = horizon + (scene.height - horizon) * rng.uniform(0.4, 0.85)
    fx = rng.uniform(0.2, 0.8) * scene.width
    size = rng.uniform(15, 35) * _depth(scene, horizon, fy) * u + 6
    placer.put(fy, lambda: flames.campfire(scene, rng, fx, fy, size, dark.light))
    for _ in range(int(rng.integers(0, 3))):  # tents
        x, y, d = _spot(scene, rng, horizon, 1.0)
        w = rng.uniform(30, 70) * d * u + 6

        def tent(x=x, y=y, w=w):
            s = scene.sprite(x - w, y - w, x + w, y + 2)
            c = sky.pick_hsv(rng, (0, 1), (0.3, 0.8), (0.3, 0.7)) * dark.light
            s.fill(np.array([[x - w / 2, y], [x, y - w * 0.6], [x + w / 2, y]]), c)
            s.fill(np.array([[x - w * 0.1, y], [x, y - w * 0.4], [x + w * 0.1, y]]), c * 0.3)
            return s.layer("structure")
        placer.put(y, tent)
    _rocks(scene, rng, dark, horizon, light, placer, int(rng.integers(0, 5)))
    _vegetation(scene, rng, dark, wind, horizon, light, placer, rows=int(rng.integers(1, 6)),
                families=_families_of_foliage(rng), trees=int(rng.integers(0, 3)), bushes=int(rng.integers(0, 2)),
                flowers=0)
    scene.add(flames.glow(scene, fx, fy - size * 0.4, size * 2.5, hsv(0.07, 0.8, 1.0), 0.25, kind="ground"))
    placer.add_all(scene)
