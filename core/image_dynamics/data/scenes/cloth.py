"""Cloth: flags on poles, laundry and bunting on lines, curtains at windows.

Cloth is fixed along one edge (the pole, the line, the rod) and free elsewhere; its motion is a wave running away from
the fixed edge, ``A s^p cos(w t + phi - k s)``, with ``s`` the distance from that edge. Frame 0 draws the cloth already
displaced by the same wave at ``t = 0`` (its folds and wavy edges are the motion's own shape), and shades it by the
wave's slope, so the look of the folds tells where and how it will move.
"""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Layer, Scene, hsv, jitter, pick_hsv
from .motion import MotionField, Term, harmonic
from .plants import Wind
from .sky import Mood
from .structures import post

BRIGHT_HSV = ((0.0, 1.0), (0.55, 0.95), (0.55, 0.95))
PASTEL_HSV = ((0.0, 1.0), (0.1, 0.35), (0.75, 0.98))


def _cloth_colour(rng: np.random.Generator) -> np.ndarray:
    r = rng.random()
    if r < 0.5:
        return pick_hsv(rng, *BRIGHT_HSV)
    if r < 0.8:
        return pick_hsv(rng, *PASTEL_HSV)
    return hsv(0, 0, rng.uniform(0.1, 0.95))


def _design(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """float32 ``[height, width, 3]`` flag or fabric design: stripes, tricolours, crosses, discs, checks, plain."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = (xx + 0.5) / width, (yy + 0.5) / height
    colours = [_cloth_colour(rng) for _ in range(3)]
    kind = int(rng.integers(7))
    if kind == 0:
        index = np.minimum((u * 3).astype(int), 2)
    elif kind == 1:
        index = np.minimum((v * 3).astype(int), 2)
    elif kind == 2:
        index = (v > 0.5).astype(int)
    elif kind == 3:
        index = ((np.abs(u - 0.35) < 0.08) | (np.abs(v - 0.5) < 0.12)).astype(int)
    elif kind == 4:
        index = (((u - 0.45) * width) ** 2 + ((v - 0.5) * height) ** 2 < (0.3 * height) ** 2).astype(int)
    elif kind == 5:
        n = int(rng.integers(4, 12))
        index = ((v * n).astype(int) % 2) + ((u < 0.4) & (v < 0.5)) * (2 - ((v * n).astype(int) % 2))
    else:
        n = int(rng.integers(3, 9))
        index = ((u * n).astype(int) + (v * n * height / max(width, 1)).astype(int)) % 2
    return np.stack(colours)[np.clip(index, 0, 2)]


def _wave_terms(rng: np.random.Generator, wind: Wind, origin: tuple[float, float], axis: tuple[float, float],
                length: float, amplitude: float, across: tuple[float, float], low: bool) -> list[Term]:
    """Waves running along ``axis`` from the fixed edge; displacement mostly along ``across`` (unit vector)."""
    k = 2 * np.pi / (length * rng.uniform(0.6, 1.4))
    common = dict(origin=origin, axis=axis, length=length, power=rng.uniform(1.1, 1.6), s_max=1.05,
                  wavevec=(-axis[0] * k, -axis[1] * k))
    f1 = harmonic(int(rng.integers(1, 5)) if low else int(rng.integers(4, 11)))
    f2 = harmonic(int(rng.integers(2, 8)) if low else int(rng.integers(6, 16)))
    terms = []
    for f, a in ((f1, amplitude), (f2, amplitude * rng.uniform(0.2, 0.45))):
        c = a * np.exp(1j * rng.uniform(0, 2 * np.pi))
        terms.append(Term(f, (c * across[0] + 0.2j * c * axis[0], c * across[1] + 0.2j * c * axis[1]), **common))
    if rng.random() < wind.nonharmonic:
        terms.append(Term(float(harmonic(1) * (int(rng.integers(2, 12)) + rng.uniform(0.2, 0.8))),
                          (0.2 * amplitude * across[0], 0.2 * amplitude * across[1]), **common))
    return terms


def _frozen_offset(field: MotionField, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cloth's displacement from flat at t = 0: ``Re sum c`` (x and y), where frame 0 draws it."""
    coeffs = field.coefficients(xs, ys, field.freqs())
    total = coeffs.sum(axis=0).real
    return total[0], total[1]


def _drape(s, field: MotionField, texture: np.ndarray, to_cloth) -> None:
    """Paint ``texture`` onto sprite ``s`` as cloth displaced by the field's t = 0 state and shaded by its slope.

    ``to_cloth(x, y)`` maps flat image positions to texture (column, row) coordinates.
    """
    x, y = s.grid()
    ox, oy = _frozen_offset(field, x, y)
    # Backward map: the cloth point seen at p sits at p - offset(p) when flat (offsets are small and smooth).
    u, v = to_cloth(x - ox, y - oy)
    rgba = np.concatenate([texture, np.ones((*texture.shape[:2], 1), np.float32)], axis=2)
    sampled = cv2.remap(rgba, u.astype(np.float32), v.astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    slope = np.zeros_like(oy)
    if oy.shape[0] > 1 and oy.shape[1] > 1:
        slope = np.gradient(oy, axis=1) + np.gradient(ox, axis=0)
    shade = 1.0 + 0.5 * np.clip(slope / max(float(np.abs(slope).max()), 1e-3), -1, 1) * 0.6
    s.paint(sampled[..., 3], sampled[..., :3] * shade[..., None])


def flag(scene: Scene, rng: np.random.Generator, mood: Mood, wind: Wind, x: float, base: float,
         pole_height: float) -> list[Layer]:
    """A flagpole (static) and its flag flapping downwind (waves run from the pole to the fly end)."""
    pole_w = max(1.0, pole_height / 45)
    layers = [post(scene, rng, mood, x, base, pole_height, pole_w, colour=hsv(0, 0, rng.uniform(0.5, 0.9)))]
    length = pole_height * rng.uniform(0.3, 0.5)
    hf = length * rng.uniform(0.5, 0.7)
    side = 1.0 if rng.random() < 0.5 else -1.0
    top = base - pole_height + pole_w
    amp = length * rng.uniform(0.05, 0.12) * wind.strength
    x0 = x + side * pole_w / 2
    field = MotionField(_wave_terms(rng, wind, (x0, top), (side, 0.0), length, amp, (0.0, 1.0), low=False))
    s = scene.sprite(min(x0, x0 + side * length) - amp * 2 - 2, top - amp * 2.5 - 2,
                     max(x0, x0 + side * length) + amp * 2 + 2, top + hf + amp * 2.5 + 2)
    th, tw = max(int(hf * 2), 2), max(int(length * 2), 2)
    texture = _design(rng, th, tw)
    _drape(s, field, texture, lambda px, py: ((px - x0) * side * tw / length - 0.5, (py - top) * th / hf - 0.5))
    s.multiply(np.full((s.height, s.width, 3), mood.light * mood.tint, np.float32))
    layers.append(s.layer("cloth", field))
    return layers


def laundry(scene: Scene, rng: np.random.Generator, mood: Mood, wind: Wind, x0: float, x1: float, base: float,
            height: float) -> list[Layer]:
    """Two posts, a sagging line (static) and clothes pegged on it, each swinging from its top edge."""
    pw = max(1.0, height / 30)
    layers = [post(scene, rng, mood, x0, base, height, pw), post(scene, rng, mood, x1, base, height, pw)]
    top = base - height
    sag = (x1 - x0) * rng.uniform(0.02, 0.06)
    line_y = lambda xx: top + 4 * sag * ((xx - x0) / (x1 - x0)) * (1 - (xx - x0) / (x1 - x0))  # noqa: E731
    s = scene.sprite(x0, top - 2, x1, top + sag + 3)
    xs = np.linspace(x0, x1, 24)
    s.line(np.stack([xs, line_y(xs)], 1), hsv(0, 0, rng.uniform(0.05, 0.4)) * mood.light, 1)
    layers.append(s.layer("structure"))
    xx = x0 + rng.uniform(3, 8)
    while xx < x1 - 6:
        w = height * rng.uniform(0.2, 0.45)
        if xx + w > x1 - 3:
            break
        h = w * rng.uniform(0.8, 1.8)
        cx = xx + w / 2
        item_top = line_y(cx)
        amp = h * rng.uniform(0.05, 0.14) * wind.strength
        field = MotionField(_wave_terms(rng, wind, (cx, item_top), (0.0, 1.0), h, amp, (1.0, 0.0), low=True))
        c = scene.sprite(xx - amp * 2.5 - 2, item_top - 2, xx + w + amp * 2.5 + 2, item_top + h + amp + 2)
        th, tw = max(int(h * 2), 2), max(int(w * 2), 2)
        texture = _design(rng, th, tw) if rng.random() < 0.5 else \
            np.broadcast_to(_cloth_colour(rng), (th, tw, 3)).astype(np.float32)
        folds = 1.0 + 0.12 * np.sin(np.arange(tw, dtype=np.float32) / tw * 2 * np.pi * rng.uniform(1.5, 4))
        texture = texture * folds[None, :, None]
        _drape(c, field, texture, lambda px, py, xx=xx, it=item_top, w=w, h=h, tw=tw, th=th:
               ((px - xx) * tw / w - 0.5, (py - it) * th / h - 0.5))
        for peg in (xx + 1, xx + w - 1):
            c.fill(np.array([[peg - 0.7, item_top - 1.5], [peg + 0.7, item_top - 1.5], [peg + 0.7, item_top + 1.5],
                             [peg - 0.7, item_top + 1.5]]), hsv(rng.uniform(0, 1), 0.5, 0.7))
        c.multiply(np.full((c.height, c.width, 3), mood.light * mood.tint, np.float32))
        layers.append(c.layer("cloth", field))
        xx += w + rng.uniform(1, 6)
    return layers


def curtain(scene: Scene, rng: np.random.Generator, wind: Wind, x0: float, x1: float, rod: float, length: float,
            light: float) -> Layer:
    """A curtain panel hanging from a rod at image row ``rod``, folds swaying in a breeze."""
    w = x1 - x0
    amp = length * rng.uniform(0.015, 0.05) * wind.strength
    field = MotionField(_wave_terms(rng, wind, ((x0 + x1) / 2, rod), (0.0, 1.0), length, amp, (1.0, 0.0), low=True))
    s = scene.sprite(x0 - amp * 2.5 - 2, rod - 2, x1 + amp * 2.5 + 2, rod + length + amp + 2)
    th, tw = max(int(length), 2), max(int(w * 2), 2)
    base = _cloth_colour(rng) * 0.9 if rng.random() < 0.6 else _design(rng, th, tw)
    texture = np.broadcast_to(base, (th, tw, 3)).astype(np.float32)
    period = rng.uniform(4, 9)
    folds = 1.0 + 0.22 * np.sin(np.arange(tw, dtype=np.float32) / 2.0 / period * 2 * np.pi + rng.uniform(0, 6))
    texture = texture * folds[None, :, None]
    _drape(s, field, texture, lambda px, py: ((px - x0) * tw / w - 0.5, (py - rod) * th / length - 0.5))
    s.multiply(np.full((s.height, s.width), light, np.float32))
    return s.layer("cloth", field)


def bunting(scene: Scene, rng: np.random.Generator, mood: Mood, wind: Wind, x0: float, y0: float, x1: float,
            y1: float, size: float) -> Layer:
    """A string of triangular pennants between two points, swinging from the string."""
    direction = np.array([x1 - x0, y1 - y0], dtype=np.float64)
    direction /= max(np.linalg.norm(direction), 1e-6)
    normal = (float(-direction[1]), float(direction[0])) if direction[0] > 0 else \
        (float(direction[1]), float(-direction[0]))
    if normal[1] < 0:
        normal = (-normal[0], -normal[1])
    amp = size * rng.uniform(0.06, 0.15) * wind.strength
    field = MotionField(_wave_terms(rng, wind, (x0, y0), normal, size, amp, (direction[0], direction[1]), low=False))
    s = scene.sprite(min(x0, x1) - 3, min(y0, y1) - 3, max(x0, x1) + 3, max(y0, y1) + size + amp * 3 + 3)
    s.line(np.array([[x0, y0], [x1, y1]]), hsv(0, 0, 0.3) * mood.light, 1)
    count = max(int(np.hypot(x1 - x0, y1 - y0) / (size * 0.9)), 1)
    colours = [_cloth_colour(rng) for _ in range(int(rng.integers(2, 5)))]
    for i in range(count):
        a = np.array([x0, y0]) + (np.array([x1, y1]) - [x0, y0]) * (i + 0.1) / count
        b = np.array([x0, y0]) + (np.array([x1, y1]) - [x0, y0]) * (i + 0.8) / count
        tip = (a + b) / 2 + np.array(normal) * size
        s.fill(np.array([a, b, tip]), jitter(colours[i % len(colours)], rng, 0.02) * mood.light * mood.tint)
    return s.layer("cloth", field)
