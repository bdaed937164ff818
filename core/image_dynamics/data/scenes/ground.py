"""Static ground: the ground plane in perspective (lawn, meadow, sand, snow, paving...), paths, rocks of all colours."""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Layer, Scene, fbm, hsv, lerp, pick_hsv, smoothstep
from .sky import Mood

GROUND_STYLES = ("lawn", "meadow", "dry", "dirt", "sand", "snow", "gravel", "paving", "red_earth", "moss")

_GROUND_HSV = {
    "lawn": ((0.22, 0.33), (0.45, 0.75), (0.35, 0.6)),
    "meadow": ((0.15, 0.25), (0.4, 0.65), (0.4, 0.65)),
    "dry": ((0.09, 0.14), (0.35, 0.6), (0.55, 0.8)),
    "dirt": ((0.05, 0.1), (0.3, 0.55), (0.25, 0.5)),
    "sand": ((0.1, 0.14), (0.2, 0.4), (0.7, 0.9)),
    "snow": ((0.55, 0.65), (0.02, 0.1), (0.85, 0.97)),
    "gravel": ((0.0, 1.0), (0.0, 0.08), (0.45, 0.7)),
    "paving": ((0.0, 1.0), (0.0, 0.15), (0.35, 0.65)),
    "red_earth": ((0.01, 0.05), (0.5, 0.75), (0.35, 0.6)),
    "moss": ((0.2, 0.3), (0.3, 0.6), (0.2, 0.4)),
}


def ground_colour(rng: np.random.Generator, style: str) -> np.ndarray:
    return pick_hsv(rng, *_GROUND_HSV[style])


def ground(scene: Scene, rng: np.random.Generator, mood: Mood, horizon: float, style: str,
           top: np.ndarray | None = None) -> Layer:
    """Opaque ground from the horizon (or a profile ``top``, one y per padded column) to the bottom of the canvas."""
    m = scene.margin
    y0 = horizon - 1 if top is None else float(top.min()) - 1
    s = scene.sprite(-m, y0, scene.width + m, scene.height + m)
    x, y = s.grid()
    depth = np.clip((y - horizon) / max(scene.height + m - horizon, 1.0), 0.0, 1.0)  # 0 at the horizon, 1 near
    base = ground_colour(rng, style)
    other = np.clip(base * rng.uniform(0.75, 1.1) + rng.normal(0, 0.03, 3), 0, 1)
    world = perspective_texture(rng, x, y, horizon, scene.width, rng.uniform(0.5, 2.0))
    patches = smoothstep(-0.6, 0.6, perspective_texture(rng, x, y, horizon, scene.width, rng.uniform(0.05, 0.2)))
    rough = {"snow": 0.06, "sand": 0.1, "lawn": 0.14}.get(style, 0.22)
    tex = 1.0 + rough * world
    colour = lerp(base, other, patches[..., None]) * tex[..., None]
    if style == "paving":
        colour = colour * _paving(y, x, horizon, scene.width, rng)[..., None]
    colour = colour * (0.85 + 0.25 * depth)[..., None] * mood.light * mood.tint
    colour = lerp(colour, mood.haze, (0.45 * (1.0 - depth) ** 6)[..., None])
    if top is None:
        alpha = np.clip(y - horizon + 0.5, 0.0, 1.0)
    else:
        alpha = np.clip(y - top[None, : s.width] + 0.5, 0.0, 1.0)
    s.paint(alpha, colour)
    return s.layer("ground")


def perspective_texture(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, horizon: float, width: int,
                        frequency: float) -> np.ndarray:
    """Fractal noise painted on the ground plane and seen in perspective: features shrink towards the horizon.

    ``frequency`` is in features per unit of ground depth (larger: finer). Contrast fades where features get smaller
    than a pixel, so the horizon does not alias.
    """
    tile = fbm(rng, 192, 192, 24.0, octaves=4)
    dy = np.maximum(y - horizon, 0.3)
    scale = 40.0 * frequency
    u = (x - width / 2) / dy * scale + 96.0
    v = scale * width / dy  # focal length ~ image width: depth foreshortens by width / dy
    sampled = cv2.remap(tile, u.astype(np.float32), (v % 10000.0).astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REFLECT_101)
    feature_px = 24.0 * dy * dy / (scale * width)  # vertical size of a feature on screen
    return sampled * smoothstep(0.7, 3.0, feature_px)


def _paving(y: np.ndarray, x: np.ndarray, horizon: float, width: int, rng: np.random.Generator) -> np.ndarray:
    """Perspective paving joints: rows spaced evenly in depth, joints converging to the vanishing point."""
    dy = np.maximum(y - horizon, 0.5)
    depth = rng.uniform(6, 14) / dy  # world depth up to a constant
    row = depth * rng.uniform(2.5, 5.0)
    world_x = (x - width * rng.uniform(0.3, 0.7)) / dy * rng.uniform(1.5, 3.0) + np.floor(row) * 0.5
    joint_r = np.abs(row - np.round(row)) / np.maximum(np.abs(np.gradient(row, axis=0)), 1e-3)
    joint_c = np.abs(world_x - np.round(world_x)) / np.maximum(np.abs(np.gradient(world_x, axis=1)), 1e-3)
    joints = np.minimum(smoothstep(0.0, 1.2, joint_r), smoothstep(0.0, 1.2, joint_c))
    return (0.65 + 0.35 * joints).astype(np.float32)


def path(scene: Scene, rng: np.random.Generator, mood: Mood, horizon: float) -> Layer:
    """A dirt or gravel path winding from the horizon towards the viewer (static ground)."""
    m = scene.margin
    s = scene.sprite(-m, horizon, scene.width + m, scene.height + m)
    ys = np.linspace(horizon + 1, scene.height + m, 24)
    t = (ys - horizon) / (scene.height + m - horizon)
    centre = scene.width * (rng.uniform(0.3, 0.7) + rng.uniform(-0.25, 0.25) * t ** 1.5
                            + 0.05 * np.sin(t * rng.uniform(3, 8)))
    half = 1.0 + t * scene.width * rng.uniform(0.08, 0.25)
    pts = np.concatenate([np.stack([centre - half, ys], 1), np.stack([centre + half, ys], 1)[::-1]])
    alpha = cv2.GaussianBlur(s.fill_mask(pts), (0, 0), 0.8)
    x, y = s.grid()
    style = ("dirt", "gravel", "sand", "paving")[int(rng.integers(4))]
    colour = ground_colour(rng, style) * (1.0 + 0.15 * fbm(rng, s.height, s.width, 3, octaves=3, aspect=2.0))[..., None]
    s.paint(alpha, colour * mood.light * mood.tint)
    return s.layer("ground")


ROCK_HSV = (
    ((0.0, 1.0), (0.0, 0.08), (0.35, 0.75)),  # grey
    ((0.05, 0.1), (0.25, 0.5), (0.3, 0.6)),  # brown
    ((0.01, 0.05), (0.45, 0.7), (0.4, 0.7)),  # red sandstone
    ((0.1, 0.13), (0.25, 0.45), (0.65, 0.85)),  # sandstone
    ((0.55, 0.65), (0.12, 0.3), (0.3, 0.5)),  # slate
    ((0.2, 0.32), (0.25, 0.5), (0.3, 0.5)),  # green, mossy
    ((0.0, 1.0), (0.0, 0.05), (0.82, 0.95)),  # chalk
    ((0.0, 1.0), (0.0, 0.1), (0.12, 0.25)),  # basalt
    ((0.75, 0.9), (0.1, 0.25), (0.35, 0.55)),  # purple-grey
)


def rock(scene: Scene, rng: np.random.Generator, mood: Mood, cx: float, base: float, size: float,
         light: tuple[float, float] = (-0.6, -0.8), colour: np.ndarray | None = None) -> Layer:
    """A rock of radius ``size`` pixels resting at image y ``base``, with its contact shadow (static)."""
    rx, ry = size * rng.uniform(0.8, 1.5), size * rng.uniform(0.5, 0.95)
    cy = base - ry * rng.uniform(0.5, 0.8)
    s = scene.sprite(cx - rx * 1.6 - 2, cy - ry * 1.5 - 2, cx + rx * 1.6 + 2, base + ry * 0.4 + 2)
    x, y = s.grid()
    # contact shadow
    shadow = ((x - cx) / (rx * 1.35)) ** 2 + ((y - base) / (ry * 0.3 + 1.0)) ** 2
    s.paint(np.exp(-shadow * 2.0) * 0.4, hsv(0.6, 0.3, 0.08))
    ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rad = np.ones_like(ang)
    for m in (2, 3, 4, 5):  # a lumpy outline: a few low harmonics, plus some facets
        rad += rng.uniform(0.0, 0.25 / m * 2) * np.cos(m * ang + rng.uniform(0, 2 * np.pi))
    rad += 0.03 * rng.standard_normal(ang.size)
    pts = np.stack([cx + rx * rad * np.cos(ang), cy + ry * rad * np.sin(ang)], 1)
    pts[:, 1] = np.minimum(pts[:, 1], base)
    alpha = s.fill_mask(pts)
    colour = colour if colour is not None else pick_hsv(rng, *ROCK_HSV[int(rng.integers(len(ROCK_HSV)))])
    nx, ny = (x - cx) / rx, (y - cy) / ry
    lit = np.clip(nx * light[0] + ny * light[1], -1.0, 1.0)
    shade = 0.72 + 0.35 * lit - 0.2 * smoothstep(cy, base + 1, y)
    tex = fbm(rng, s.height, s.width, rng.uniform(2, max(size * 0.5, 2.5)), octaves=3, aspect=rng.uniform(0.7, 2.0))
    rgb = colour * (shade * (1.0 + 0.14 * tex))[..., None]
    if rng.random() < 0.25:  # moss or lichen on top
        moss = smoothstep(0.1, 0.8, -ny + 0.4 * tex) * rng.uniform(0.5, 1.0)
        rgb = lerp(rgb, pick_hsv(rng, (0.15, 0.3), (0.4, 0.7), (0.3, 0.55)) * shade[..., None], moss[..., None])
    cracks = s.mask()
    for _ in range(int(rng.integers(0, 4))):
        a = rng.uniform(0, 2 * np.pi)
        start = np.array([cx + rx * 0.5 * np.cos(a), cy + ry * 0.5 * np.sin(a)])
        crack = start + np.cumsum(rng.normal(0, size * 0.15, (4, 2)), axis=0)
        cv2.polylines(cracks, [s.fixed(crack)], False, 255, 1, cv2.LINE_AA, s.shift)
    edge = np.clip(alpha - cv2.GaussianBlur(alpha, (0, 0), 1.0), 0.0, 1.0)
    rgb = rgb * (1.0 - 0.4 * cracks.astype(np.float32) / 255.0 - 0.5 * edge)[..., None]
    s.paint(alpha, rgb * mood.light * mood.tint)
    return s.layer("rock")
