"""Static indoor things: walls, tables, windows with a view, framed pictures (painted meadows never move), books."""

from __future__ import annotations

import numpy as np

from .canvas import Layer, Scene, fbm, hsv, jitter, lerp, pick_hsv, smoothstep
from .sky import Mood


def wall(scene: Scene, rng: np.random.Generator, light: float) -> Layer:
    """An opaque wall: plaster, striped or patterned paper, wood panelling or tiles, lit unevenly."""
    s = scene.full_sprite()
    x, y = s.grid()
    base = pick_hsv(rng, (0.0, 1.0), (0.05, 0.5), (0.35, 0.9))
    other = np.clip(base * rng.uniform(0.7, 1.2) + rng.normal(0, 0.08, 3), 0, 1).astype(np.float32)
    style = int(rng.integers(5))
    if style == 0:
        mix = np.zeros_like(x)
    elif style == 1:
        period = rng.uniform(6, 20)
        mix = smoothstep(-0.2, 0.2, np.sin(x / period * 2 * np.pi))
    elif style == 2:
        period = rng.uniform(6, 14)
        mix = smoothstep(0.5, 0.3, np.hypot((x % period) - period / 2, (y % period) - period / 2) / period)
    elif style == 3:
        plank = rng.uniform(8, 18)
        mix = smoothstep(0.8, 0.2, np.abs(((x / plank) % 1.0) - 0.5) * plank - plank / 2 + 1.0)
        base = pick_hsv(rng, (0.05, 0.1), (0.4, 0.65), (0.25, 0.55))
        other = base * 0.6
    else:
        tile = rng.uniform(8, 16)
        grout = np.maximum(smoothstep(1.2, 0.4, np.abs((x % tile) - tile / 2) - tile / 2 + 1.5),
                           smoothstep(1.2, 0.4, np.abs((y % tile) - tile / 2) - tile / 2 + 1.5))
        mix, other = grout, hsv(0, 0, 0.8)
    colour = lerp(base, other, mix[..., None]) * (1.0 + 0.05 * fbm(rng, s.height, s.width, 6, octaves=3))[..., None]
    lamp = (rng.uniform(0, scene.width), rng.uniform(-20, scene.height * 0.6))
    falloff = np.exp(-np.hypot(x - lamp[0], y - lamp[1]) / rng.uniform(80, 250))
    colour = colour * (light * (0.5 + 0.6 * falloff))[..., None]
    s.paint(np.ones_like(x), colour)
    return s.layer("interior")


def window(scene: Scene, rng: np.random.Generator, mood: Mood, x0: float, y0: float, x1: float, y1: float,
           light: float) -> list[Layer]:
    """A window: the outside (sky and a distant static skyline or hills) seen through a frame with mullions."""
    sky_sprite = scene.sprite(x0, y0, x1, y1)
    x, y = sky_sprite.grid()
    horizon = lerp(y0, y1, rng.uniform(0.5, 0.9))
    t = np.clip((y - y0) / max(horizon - y0, 1.0), 0, 1)[..., None]
    sky_sprite.paint(np.ones_like(x), lerp(mood.zenith, mood.horizon, t))
    layers = [sky_sprite.layer("sky")]
    land = scene.sprite(x0, y0, x1, y1)
    lx, ly = land.grid()
    cols = np.arange(land.width, dtype=np.float32)
    if rng.random() < 0.5:
        profile = horizon - (y1 - y0) * 0.2 * (0.5 + 0.5 * np.sin(cols / rng.uniform(8, 30) + rng.uniform(0, 6)))
    else:
        widths = rng.uniform(4, 12, land.width)
        heights = rng.uniform(0.05, 0.4, land.width) * (y1 - y0)
        profile = horizon - np.repeat(heights[: int(land.width / 4) + 1], 4)[: land.width] * \
            (np.repeat(widths[: int(land.width / 4) + 1], 4)[: land.width] > 6)
    alpha = np.clip(ly - profile[None, :] + 0.5, 0, 1)
    land.paint(alpha, lerp(pick_hsv(rng, (0, 1), (0.1, 0.4), (0.2, 0.5)), mood.haze, 0.4))
    layers.append(land.layer("terrain"))
    frame = scene.sprite(x0 - 4, y0 - 4, x1 + 4, y1 + 6)
    colour = hsv(0, 0, rng.uniform(0.85, 0.97)) if rng.random() < 0.6 else pick_hsv(rng, (0.05, 0.1), (0.3, 0.6),
                                                                                     (0.2, 0.5))
    fw = max(2.0, (x1 - x0) * 0.04)
    for pts in ([[x0 - fw, y0 - fw], [x1 + fw, y0 - fw], [x1 + fw, y0], [x0 - fw, y0]],
                [[x0 - fw, y1], [x1 + fw, y1], [x1 + fw, y1 + fw * 1.5], [x0 - fw, y1 + fw * 1.5]],
                [[x0 - fw, y0], [x0, y0], [x0, y1], [x0 - fw, y1]], [[x1, y0], [x1 + fw, y0], [x1 + fw, y1], [x1, y1]]):
        frame.fill(np.array(pts), colour * light)
    mx = (x0 + x1) / 2
    frame.line(np.array([[mx, y0], [mx, y1]]), colour * light, max(int(fw * 0.6), 1))
    if rng.random() < 0.6:
        my = lerp(y0, y1, rng.uniform(0.3, 0.5))
        frame.line(np.array([[x0, my], [x1, my]]), colour * light, max(int(fw * 0.6), 1))
    layers.append(frame.layer("interior"))
    return layers


def table(scene: Scene, rng: np.random.Generator, top: float, edge: float, light: float) -> Layer:
    """A table top from image row ``top`` to its front edge at ``edge``, and its darker front below."""
    m = scene.margin
    s = scene.sprite(-m, top, scene.width + m, scene.height + m)
    x, y = s.grid()
    if rng.random() < 0.65:  # wood
        base = pick_hsv(rng, (0.04, 0.1), (0.35, 0.7), (0.2, 0.6))
        grain = fbm(rng, s.height, s.width, rng.uniform(2, 4), octaves=3, aspect=rng.uniform(6, 15))
        colour = base * (1.0 + 0.18 * grain)[..., None]
    else:  # table cloth, plain or checked
        base = pick_hsv(rng, (0.0, 1.0), (0.1, 0.7), (0.5, 0.95))
        check = rng.uniform(5, 12)
        mix = ((np.floor(x / check) + np.floor((y - top) / check * 2)) % 2) * (rng.random() < 0.5)
        colour = lerp(base, hsv(0, 0, 0.95), mix[..., None] * 0.8)
    shade = np.where(y < edge, 0.85 + 0.25 * smoothstep(top, edge, y), 0.55)
    s.paint(np.clip(y - top + 0.5, 0, 1), colour * (shade * light)[..., None])
    return s.layer("interior")


def picture(scene: Scene, rng: np.random.Generator, x0: float, y0: float, w: float, h: float, light: float) -> Layer:
    """A framed painting: abstract colour fields or a little landscape with grass strokes (all static)."""
    s = scene.sprite(x0 - 3, y0 - 3, x0 + w + 3, y0 + h + 3)
    x, y = s.grid()
    frame = pick_hsv(rng, (0.05, 0.15), (0.3, 0.8), (0.2, 0.8)) if rng.random() < 0.7 else hsv(0, 0, rng.uniform(0.05,
                                                                                                            0.95))
    b = max(1.5, min(w, h) * 0.08)
    s.fill(np.array([[x0 - b, y0 - b], [x0 + w + b, y0 - b], [x0 + w + b, y0 + h + b], [x0 - b, y0 + h + b]]),
           frame * light)
    if rng.random() < 0.5:
        n = fbm(rng, s.height, s.width, rng.uniform(3, 10), octaves=3)
        c1, c2, c3 = (pick_hsv(rng, (0, 1), (0.3, 0.9), (0.3, 0.95)) for _ in range(3))
        art = lerp(lerp(c1, c2, smoothstep(-0.5, 0.5, n)[..., None]), c3, smoothstep(0.8, 1.4, n)[..., None])
        s.paint((np.abs(x - x0 - w / 2) <= w / 2) * (np.abs(y - y0 - h / 2) <= h / 2) * 1.0, art * light)
    else:
        hz = y0 + h * rng.uniform(0.4, 0.7)
        sky_c, land_c = pick_hsv(rng, (0.5, 0.65), (0.2, 0.6), (0.6, 0.95)), pick_hsv(rng, (0.15, 0.35), (0.4, 0.8),
                                                                                     (0.3, 0.6))
        art = np.where((y < hz)[..., None], sky_c, land_c) * (1.0 + 0.1 * fbm(rng, s.height, s.width, 2, 2))[..., None]
        s.paint((np.abs(x - x0 - w / 2) <= w / 2) * (np.abs(y - y0 - h / 2) <= h / 2) * 1.0, art * light)
        count = int(w * 0.8)  # painted grass strokes
        gx = rng.uniform(x0, x0 + w, count)
        g0 = rng.uniform(min(hz + 2, y0 + h), y0 + h, count)
        tips = np.stack([gx + rng.normal(0, 1, count), g0 - rng.uniform(0.05, 0.2, count) * h], 1)
        strokes = np.stack([np.stack([gx, g0], 1), tips], 1)
        s.lines(strokes, np.clip(land_c * 0.8 + rng.normal(0, 0.05, (count, 3)), 0, 1) * light)
    return s.layer("interior")


def books(scene: Scene, rng: np.random.Generator, x0: float, x1: float, base: float, height: float,
          light: float) -> Layer:
    """A shelf board with a row of books of many colours."""
    s = scene.sprite(x0 - 2, base - height * 1.2, x1 + 2, base + 4)
    s.fill(np.array([[x0, base], [x1, base], [x1, base + 3], [x0, base + 3]]), hsv(0.08, 0.5, 0.35) * light)
    xx = x0 + 1
    while xx < x1 - 2:
        w = rng.uniform(2, 6)
        h = height * rng.uniform(0.7, 1.1)
        tilt = rng.normal(0, 0.4) if rng.random() < 0.1 else 0.0
        lean = tilt * h * 0.2
        s.fill(np.array([[xx, base], [xx + w, base], [xx + w + lean, base - h], [xx + lean, base - h]]),
               jitter(pick_hsv(rng, (0, 1), (0.3, 0.8), (0.2, 0.8)), rng, 0.03) * light)
        xx += w + rng.uniform(0, 1)
    return s.layer("interior")


def vase(scene: Scene, rng: np.random.Generator, x: float, base: float, height: float, light: float) -> Layer:
    """A turned vase or bottle: a smooth profile shaded as a surface of revolution."""
    s = scene.sprite(x - height * 0.6, base - height - 1, x + height * 0.6, base + 1)
    gx, gy = s.grid()
    u = np.clip((base - gy) / height, 0, 1)
    belly = rng.uniform(0.2, 0.45) * height
    neck = rng.uniform(0.08, 0.2) * height
    bulge = np.maximum(np.sin(np.pi * np.clip(u * 1.2, 0, 1)), 0.0) ** 0.7
    radius = lerp(belly * bulge, neck, smoothstep(0.6, 0.85, u))
    d = (gx - x) / np.maximum(radius, 1e-3)
    alpha = smoothstep(1.05, 0.9, np.abs(d)) * (gy <= base) * (gy >= base - height)
    colour = pick_hsv(rng, (0, 1), (0.2, 0.9), (0.3, 0.9))
    shade = 0.55 + 0.5 * np.sqrt(np.clip(1 - d * d, 0, 1)) + 0.3 * smoothstep(0.5, 0.0, np.abs(d + 0.4))
    s.paint(alpha, colour[None, None] * (shade * light)[..., None])
    return s.layer("interior")
