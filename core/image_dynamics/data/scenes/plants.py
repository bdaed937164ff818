"""Vegetation: grass, flowers, reeds and wheat that sway; bushes and trees that flutter; clipped hedges that don't.

Motion follows a cantilever: a stem rooted at image row ``root`` and ``height`` pixels tall is displaced by
``A * s ** p`` with ``s`` the height above the root over ``height`` (``p`` about 2), so tips move most and roots not at
all; thin stems get larger ``A``, stiff trunks a small one. Sway uses low harmonics of the window (0.2-0.8 Hz), flutter
higher ones (1-3 Hz) with a short spatial wavelength so neighbouring blades and leaves move out of phase; a gust travels
across the scene as a phase that varies with x. Bending also drops the tip a little at twice the sway frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .canvas import Layer, Scene, fbm, hsv, jitter, lerp, pick_hsv, smoothstep
from .motion import BASE_HZ, MotionField, Term, harmonic, hidden_gain
from .sky import Mood

FOLIAGE = {  # name: (hue, saturation, value) ranges, and how likely a scene picks it
    "green": (((0.2, 0.38), (0.4, 0.8), (0.3, 0.62)), 0.42),
    "yellow_green": (((0.14, 0.21), (0.45, 0.8), (0.45, 0.75)), 0.1),
    "autumn": (((0.0, 0.12), (0.6, 0.92), (0.5, 0.88)), 0.16),
    "dry": (((0.08, 0.14), (0.3, 0.6), (0.55, 0.85)), 0.12),
    "purple": (((0.85, 0.99), (0.3, 0.65), (0.25, 0.5)), 0.08),
    "blossom": (((0.88, 1.0), (0.08, 0.35), (0.85, 1.0)), 0.05),
    "blue_green": (((0.4, 0.52), (0.25, 0.5), (0.25, 0.5)), 0.07),
}
FLOWER_HSV = (((0.0, 0.03), (0.7, 0.95), (0.75, 1.0)), ((0.12, 0.16), (0.7, 1.0), (0.85, 1.0)),
              ((0.0, 1.0), (0.0, 0.08), (0.9, 1.0)), ((0.6, 0.7), (0.5, 0.8), (0.6, 0.95)),
              ((0.75, 0.85), (0.4, 0.7), (0.5, 0.85)), ((0.9, 0.97), (0.3, 0.6), (0.85, 1.0)),
              ((0.06, 0.1), (0.8, 1.0), (0.9, 1.0)))


def foliage_family(rng: np.random.Generator) -> str:
    names = list(FOLIAGE)
    weights = np.array([FOLIAGE[n][1] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def foliage_colour(rng: np.random.Generator, family: str) -> np.ndarray:
    return pick_hsv(rng, *FOLIAGE[family][0])


@dataclass
class Wind:
    """The scene's wind: shared sway frequency, a gust travelling across x, and a strength."""

    strength: float
    sway_k: int  # harmonic of the main sway
    gust_k: float  # radians per pixel of the gust's phase along x
    nonharmonic: float  # probability that a plant also moves at a frequency off the window's harmonics

    @staticmethod
    def random(rng: np.random.Generator, width: int) -> Wind:
        wavelength = rng.uniform(1.0, 4.0) * width * (1 if rng.random() < 0.5 else -1)
        return Wind(float(rng.uniform(0.5, 1.4)), int(rng.integers(1, 5)), float(2 * np.pi / wavelength), 0.35)


def sway_field(rng: np.random.Generator, wind: Wind, root: float, height: float, amplitude: float,
               power: float = 2.0, flutter: float = 0.3, flutter_wavelength: float = 15.0) -> MotionField:
    """Cantilever sway of stems rooted on image row ``root``: ``amplitude`` px (times the wind) at ``height`` px up.

    ``flutter`` is the flutter amplitude relative to the sway; ``flutter_wavelength`` its spatial wavelength in pixels.
    """
    a = amplitude * wind.strength
    common = dict(origin=(0.0, root), axis=(0.0, -1.0), length=height, power=power, s_max=1.5)
    phase = rng.uniform(0, 2 * np.pi)
    sway = harmonic(wind.sway_k)
    terms = [
        Term(sway, (a * np.exp(1j * phase), 0.08 * a * np.exp(1j * (phase + 1.3))), wavevec=(wind.gust_k, 0.0),
             **common),
        Term(harmonic(int(rng.integers(1, 6))), (0.35 * a * np.exp(1j * rng.uniform(0, 6.3)), 0.0),
             wavevec=(2 * np.pi / rng.uniform(40, 120) * rng.choice([-1, 1]), 0.0), **common),
        Term(harmonic(2 * wind.sway_k), (0.0, 0.12 * a * np.exp(1j * 2 * phase)), wavevec=(2 * wind.gust_k, 0.0),
             **common),
    ]
    if flutter > 0:
        theta = rng.uniform(0, 2 * np.pi)
        k = 2 * np.pi / flutter_wavelength
        terms.append(Term(harmonic(int(rng.integers(6, 15))), (flutter * a * np.exp(1j * rng.uniform(0, 6.3)),
                          0.4 * flutter * a * np.exp(1j * rng.uniform(0, 6.3))),
                          wavevec=(k * np.cos(theta), k * np.sin(theta)), **common))
    if rng.random() < wind.nonharmonic:
        f = BASE_HZ * (int(rng.integers(1, 14)) + rng.uniform(0.15, 0.85)) if rng.random() < 0.7 else \
            rng.uniform(3.1, 4.5)
        terms.append(Term(float(f), (0.25 * a * np.exp(1j * rng.uniform(0, 6.3)), 0.0), **common))
    return MotionField(terms)


def _height_shade(s, root: float, height: float, dark: float = 0.55) -> np.ndarray:
    _, y = s.grid()
    h = np.clip((root - y) / height, 0.0, 1.0)
    return dark + (1.0 - dark) * 1.2 * np.sqrt(h)


def grass(scene: Scene, rng: np.random.Generator, mood: Mood, wind: Wind, root: float, x0: float, x1: float,
          height: float, density: float, family: str, style: str = "blades") -> Layer:
    """A row of stems rooted on image row ``root`` between ``x0`` and ``x1``.

    Styles: ``blades`` (grass), ``flowers`` (stems with coloured heads and leaves), ``reeds`` (tall stems with
    cattails), ``wheat`` (stems with seed heads). ``density`` is stems per pixel of row.
    """
    n = max(int((x1 - x0) * density), 1)
    s = scene.sprite(x0 - height * 0.6, root - height * 1.35, x1 + height * 0.6, root + 3)
    base = foliage_colour(rng, family)
    thick = float(np.clip(height / 45.0, 0.6, 2.2) * rng.uniform(0.7, 1.3))
    lean = rng.normal(0.0, 0.15)
    u = np.linspace(0.0, 1.0, 7)[None, :]
    xr, yr = rng.uniform(x0, x1, (n, 1)), root + rng.uniform(-0.5, 1.5, (n, 1))
    length = height * rng.uniform(0.45, 1.1, (n, 1))
    a, c = lean + rng.normal(0, 0.22, (n, 1)), rng.normal(0, 0.25, (n, 1))
    pts = np.stack([xr + length * (a * u + c * u * u), yr - length * u * (1 - 0.12 * (a * a + c * c))], axis=-1)
    colours = np.clip(base * rng.uniform(0.7, 1.2, (n, 1)) + rng.normal(0, 0.04, (n, 3)), 0, 1)
    if style != "blades" and family != "dry":
        colours = lerp(colours, hsv(0.25, 0.5, 0.45), 0.5)
    if thick > 1.3:
        half = np.stack([thick * 0.5 * (1 - u[0]) ** 0.7 + 0.25, np.zeros(u.shape[1])], axis=-1)
        s.fills(np.concatenate([pts - half, (pts + half)[:, ::-1]], axis=1), colours)
    else:
        s.lines(pts, colours)
    tips, below = pts[:, -1], pts[:, -2]
    if style == "flowers":
        leafy = rng.random(n) < 0.6
        at = pts[np.arange(n), rng.integers(2, 4, n)] + (2, 0)
        s.ellipses(at[leafy], np.tile([max(thick * 2.5, 1.5), max(thick, 0.8)], (int(leafy.sum()), 1)),
                   rng.uniform(-40, 40, int(leafy.sum())), colours[leafy])
        r = np.maximum(1.2, height * rng.uniform(0.05, 0.09, n))[:, None]
        head = pick_hsv(rng, *FLOWER_HSV[int(rng.integers(len(FLOWER_HSV)))])
        ang = 2 * np.pi * np.arange(5)[None, :] / 5 + rng.uniform(0, 1, (n, 1))
        centres = tips[:, None, :] + 0.6 * r[..., None] * np.stack([np.cos(ang), np.sin(ang)], -1)
        petals = np.clip(head + rng.normal(0, 0.05, (n, 3)), 0, 1)
        s.ellipses(centres.reshape(-1, 2), np.repeat(np.hstack([r * 0.65, r * 0.4]), 5, axis=0),
                   np.degrees(ang).ravel(), np.repeat(petals, 5, axis=0))
        middle = hsv(0.12, 0.9, 0.8) if rng.random() < 0.7 else hsv(0.08, 0.6, 0.3)
        s.ellipses(tips, np.hstack([r * 0.35, r * 0.35]), np.zeros(n), np.tile(middle, (n, 1)))
    elif style == "reeds":
        cattail = rng.random(n) < 0.45
        direction = np.degrees(np.arctan2(tips[:, 1] - below[:, 1], tips[:, 0] - below[:, 0]))
        k = int(cattail.sum())
        s.ellipses(below[cattail], np.tile([max(height * 0.09, 2), max(thick * 1.4, 1.2)], (k, 1)), direction[cattail],
                   np.tile(hsv(0.07, 0.6, 0.3), (k, 1)))
    elif style == "wheat":
        t = np.arange(4)[None, :, None] / 4.0
        grains = below[:, None, :] + (tips - below)[:, None, :] * t
        s.ellipses(grains.reshape(-1, 2), np.tile([max(thick * 1.3, 1.1), max(thick * 0.7, 0.7)], (4 * n, 1)),
                   np.full(4 * n, 90.0), np.repeat(np.clip(colours * 1.1, 0, 1), 4, axis=0))
    s.multiply(_height_shade(s, root, height)[..., None] * (mood.light * mood.tint))
    amplitude = height * hidden_gain(rng, 0.05, 0.12) * (1.6 / (0.6 + thick))
    field = sway_field(rng, wind, root, height, amplitude, power=rng.uniform(1.6, 2.3),
                       flutter=rng.uniform(0.15, 0.35), flutter_wavelength=rng.uniform(12, 35))
    return s.layer("grass" if style == "blades" else "plant", field)


def _leaf_clumps(s, rng: np.random.Generator, mask: np.ndarray, colour: np.ndarray, count: int, size: float,
                 light: tuple[float, float], centre: tuple[float, float], radius: tuple[float, float]) -> None:
    """Scatter small leaf ellipses over the coverage ``mask`` (drawn flat, shaded by position towards the light)."""
    ys, xs = np.nonzero(mask > 0.5)
    if xs.size == 0:
        return
    idx = rng.integers(0, xs.size, count)
    x = xs[idx] + s.left + rng.uniform(-0.5, 0.5, count)
    y = ys[idx] + s.top + rng.uniform(-0.5, 0.5, count)
    nx, ny = (x - centre[0]) / radius[0], (y - centre[1]) / radius[1]
    lit = 0.75 + 0.35 * np.clip(nx * light[0] + ny * light[1], -1, 1)
    colours = np.clip(colour * (lit * rng.uniform(0.75, 1.15, count))[:, None] + rng.normal(0, 0.03, (count, 3)), 0, 1)
    axes = size * np.stack([rng.uniform(0.6, 1.3, count), rng.uniform(0.35, 0.7, count)], axis=1)
    s.ellipses(np.stack([x, y], 1), axes, rng.uniform(0, 180, count), colours)


def _crown(s, rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, colour: np.ndarray,
           light: tuple[float, float], leaf: float, lumps: int = 7) -> None:
    """A leafy crown: a union of lumps, textured, lit from ``light``, with leaf clumps on top."""
    mask = s.mask()
    for _ in range(lumps):
        ang, r = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.6)
        ex, ey = cx + rx * r * np.cos(ang), cy + ry * r * np.sin(ang)
        er = rng.uniform(0.35, 0.6)
        cv2.ellipse(mask, (int((ex - s.left) * 16), int((ey - s.top) * 16)),
                    (max(int(rx * er * 16), 16), max(int(ry * er * 16), 16)), 0, 0, 360, 255, -1, cv2.LINE_AA, 4)
    alpha = mask.astype(np.float32) / 255.0
    x, y = s.grid()
    nx, ny = (x - cx) / rx, (y - cy) / ry
    lit = np.clip((nx * light[0] + ny * light[1]) * 0.6, -1, 1)
    tex = fbm(rng, s.height, s.width, max(leaf * 1.5, 2.0), octaves=3)
    shade = (0.7 + 0.3 * lit) * (1.0 + 0.22 * tex) - 0.2 * smoothstep(-0.2, 1.0, ny)
    holes = smoothstep(-1.6, -1.1, tex)
    s.paint(alpha * holes, colour[None, None] * shade[..., None])
    edge = alpha * (1.0 - cv2.erode(alpha, np.ones((3, 3), np.uint8), iterations=max(int(leaf), 1)))
    _leaf_clumps(s, rng, edge + (rng.random(alpha.shape) < 0.08) * alpha, colour, int(rx * ry * 0.25) + 10, leaf,
                 light, (cx, cy), (rx, ry))


def tree(scene: Scene, rng: np.random.Generator, mood: Mood, wind: Wind, x: float, base: float, height: float,
         family: str, light: tuple[float, float]) -> Layer:
    """A tree ``height`` px tall rooted at (x, base): stiff trunk (little sway), fluttering crown."""
    conifer = rng.random() < 0.25
    trunk_w = height * rng.uniform(0.04, 0.08)
    crown_y = base - height * rng.uniform(0.6, 0.72)
    rx, ry = height * rng.uniform(0.22, 0.4), height * rng.uniform(0.22, 0.33)
    s = scene.sprite(x - rx * 1.5 - 2, base - height * 1.1 - 2, x + rx * 1.5 + 2, base + 3)
    bark = pick_hsv(rng, (0.05, 0.1), (0.2, 0.5), (0.2, 0.4)) if rng.random() < 0.8 else hsv(0.1, 0.05, 0.85)
    lean = rng.normal(0, 0.05) * height
    top = np.array([x + lean, crown_y if not conifer else base - height])
    trunk = np.array([[x - trunk_w / 2, base + 1], [x + trunk_w / 2, base + 1], [top[0] + trunk_w * 0.2, top[1]],
                      [top[0] - trunk_w * 0.2, top[1]]])
    s.fill(trunk, bark * mood.light)
    colour = foliage_colour(rng, family) * mood.light * mood.tint
    leaf = max(1.0, height / 45.0)
    if conifer:
        tiers = int(rng.integers(4, 8))
        mask = s.mask()
        for i in range(tiers):
            t = i / tiers
            y_bottom = base - height * (0.12 + 0.8 * t)
            half = rx * (1.0 - 0.85 * t) * rng.uniform(0.9, 1.1)
            tip_y = y_bottom - height * rng.uniform(0.25, 0.35)
            cx_t = x + lean * t
            teeth = np.linspace(0, 1, 9)
            droop = (teeth * 2 - 1) ** 2 * height * 0.04  # branch tips hang down
            edge = np.stack([cx_t - half + teeth * half * 2, y_bottom + droop + rng.uniform(-1, 1, 9) * leaf], 1)
            s.fill_mask(np.vstack([edge, [[cx_t, tip_y]]]), mask)
        alpha = mask.astype(np.float32) / 255.0
        gx, gy = s.grid()
        needles = fbm(rng, s.height, s.width, max(leaf * 1.2, 1.5), octaves=2)
        side = np.clip((gx - x) / max(rx, 1.0) * light[0], -1, 1)
        shade = (0.8 + 0.25 * side) * (1.0 + 0.25 * needles) * (0.8 + 0.3 * smoothstep(base, base - height, gy))
        s.paint(alpha, colour[None, None] * shade[..., None])
        cx, cy, crx, cry = x + lean * 0.5, base - height * 0.55, rx, height * 0.45
    else:
        for _ in range(int(rng.integers(2, 6))):
            end = top + (rng.uniform(-rx, rx) * 0.6, rng.uniform(-ry * 0.6, ry * 0.1))
            s.line(np.array([top + (0, ry * 0.5), end]), bark * 0.8 * mood.light, max(int(trunk_w * 0.35), 1))
        _crown(s, rng, top[0], top[1], rx, ry, colour, light, leaf)
        cx, cy, crx, cry = top[0], top[1], rx, ry
    s.multiply(0.85 + 0.15 * smoothstep(base, base - height * 0.2, s.grid()[1]))
    field = sway_field(rng, wind, base, height, height * hidden_gain(rng, 0.012, 0.03), power=2.0, flutter=0.0)
    k = 2 * np.pi / rng.uniform(8, 20) / max(leaf, 1.0) ** 0.5
    for _ in range(2):
        theta = rng.uniform(0, 2 * np.pi)
        fa = wind.strength * hidden_gain(rng, 0.3, 1.0) * leaf
        field.terms.append(Term(harmonic(int(rng.integers(5, 16))), (fa * np.exp(1j * rng.uniform(0, 6.3)),
                                0.6 * fa * np.exp(1j * rng.uniform(0, 6.3))),
                                blob=(cx, cy, crx * 1.2, cry * 1.2), wavevec=(k * np.cos(theta), k * np.sin(theta))))
    return s.layer("tree", field)


def bush(scene: Scene, rng: np.random.Generator, mood: Mood, wind: Wind, x: float, base: float, size: float,
         family: str, light: tuple[float, float]) -> Layer:
    """A loose, leafy bush (moves: sway growing with height and leaf flutter)."""
    rx, ry = size * rng.uniform(0.8, 1.3), size * rng.uniform(0.5, 0.8)
    cy = base - ry * 0.8
    s = scene.sprite(x - rx * 1.3 - 2, cy - ry * 1.3 - 2, x + rx * 1.3 + 2, base + 3)
    colour = foliage_colour(rng, family) * mood.light * mood.tint
    leaf = max(1.0, size / 14.0)
    _crown(s, rng, x, cy, rx, ry, colour, light, leaf, lumps=int(rng.integers(4, 9)))
    field = sway_field(rng, wind, base, 2 * ry, size * hidden_gain(rng, 0.03, 0.07), power=1.5, flutter=0.5,
                       flutter_wavelength=rng.uniform(6, 14) * leaf)
    return s.layer("plant", field)


def hedge(scene: Scene, rng: np.random.Generator, mood: Mood, x0: float, x1: float, base: float, height: float,
          light: tuple[float, float]) -> Layer:
    """A clipped hedge, box or rounded (static: dense and stiff; often green, so green alone never means motion)."""
    s = scene.sprite(x0 - 2, base - height - 2, x1 + 2, base + 2)
    x, y = s.grid()
    r = height * rng.uniform(0.05, 0.4)
    pts = np.array([[x0, base], [x0, base - height + r], [x0 + r, base - height], [x1 - r, base - height],
                    [x1, base - height + r], [x1, base]])
    alpha = s.fill_mask(pts)
    colour = pick_hsv(rng, (0.2, 0.38), (0.35, 0.75), (0.2, 0.5)) if rng.random() < 0.8 else \
        pick_hsv(rng, (0.95, 1.05), (0.4, 0.7), (0.3, 0.5))
    tex = fbm(rng, s.height, s.width, rng.uniform(1.5, 3.0), octaves=2)
    top_light = smoothstep(base, base - height, y) * 0.3 + 0.75
    side = 1.0 - 0.25 * smoothstep(x0 + (x1 - x0) * 0.8, x1, x) * (light[0] < 0)
    s.paint(alpha, colour * (top_light * side * (1.0 + 0.25 * tex))[..., None] * mood.light * mood.tint)
    return s.layer("static_plant")


def potted_plant(scene: Scene, rng: np.random.Generator, x: float, base: float, size: float, light_level: float,
                 moving: MotionField | None = None) -> Layer:
    """A house plant in a pot (static indoors: no wind), leaves radiating from the pot."""
    s = scene.sprite(x - size * 1.3, base - size * 2.2, x + size * 1.3, base + 2)
    pot = pick_hsv(rng, (0.0, 1.0), (0.2, 0.7), (0.3, 0.85))
    w, h = size * 0.45, size * 0.6
    s.fill(np.array([[x - w, base - h], [x + w, base - h], [x + w * 0.75, base], [x - w * 0.75, base]]), pot)
    colour = foliage_colour(rng, "green" if rng.random() < 0.8 else "purple")
    for _ in range(int(rng.integers(6, 14))):
        ang = rng.uniform(-2.6, -0.5)
        length = size * rng.uniform(0.7, 1.5)
        tip = np.array([x + length * np.cos(ang), base - h + length * np.sin(ang)])
        root = np.array([x + rng.uniform(-w * 0.5, w * 0.5), base - h])
        mid = (root + tip) / 2
        s.line(np.array([root, mid]), colour * 0.7, 1)
        s.ellipse(mid * 0.4 + tip * 0.6, (length * 0.3, length * rng.uniform(0.08, 0.15)), np.degrees(ang),
                  jitter(colour * rng.uniform(0.7, 1.2), rng, 0.03))
    s.multiply(np.full((s.height, s.width), light_level, np.float32))
    return s.layer("static_plant" if moving is None else "plant", moving)
