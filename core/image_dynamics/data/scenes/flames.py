"""Flames: candles (static wax body, flickering flame) and camp fires (static logs, several flames).

A flame is a teardrop, white-yellow at its core and orange-red at its edge, translucent at the tip. It flickers as waves
running up it: ``A s^p cos(w t + k y + phi)`` with ``s`` the height above the wick, so the base stays put and the tip
moves most, at faster harmonics (1-3 Hz) than plants; some flames also flicker above the 16 bands (3-5 Hz), which the
truncated spectral volume cannot hold, as in real clips. Its glow on the surroundings is a static translucent layer.
"""

from __future__ import annotations

import numpy as np

from .canvas import Layer, Scene, hsv, lerp, pick_hsv, smoothstep
from .motion import BASE_HZ, MotionField, Term, harmonic, hidden_gain

CORE = np.float32([1.0, 0.97, 0.86])
MID = np.float32([1.0, 0.72, 0.22])
EDGE = np.float32([0.93, 0.3, 0.05])
BLUE = np.float32([0.25, 0.35, 0.9])


def flame_field(rng: np.random.Generator, x: float, base: float, height: float, strength: float,
                nonharmonic: float = 0.35) -> MotionField:
    common = dict(origin=(x, base), axis=(0.0, -1.0), length=height, power=rng.uniform(1.2, 1.7), s_max=1.3)
    k = 2 * np.pi / (height * rng.uniform(1.2, 2.5))
    terms = [
        Term(harmonic(int(rng.integers(4, 12))), (hidden_gain(rng, 0.08, 0.16) * height * strength *
                                                   np.exp(1j * rng.uniform(0, 6.3)), 0.0), wavevec=(0.0, k), **common),
        Term(harmonic(int(rng.integers(8, 16))), (hidden_gain(rng, 0.03, 0.07) * height * strength *
                                                   np.exp(1j * rng.uniform(0, 6.3)), 0.0), wavevec=(0.0, 1.7 * k),
             **common),
        Term(harmonic(int(rng.integers(6, 16))), (0.0, hidden_gain(rng, 0.05, 0.1) * height * strength *
                                                   np.exp(1j * rng.uniform(0, 6.3))), **common),
    ]
    if rng.random() < nonharmonic:
        off_band = rng.random() < 0.5
        f = rng.uniform(3.2, 5.0) if off_band else BASE_HZ * (int(rng.integers(5, 14)) + rng.uniform(0.2, 0.8))
        terms.append(Term(float(f), (0.04 * height * strength * np.exp(1j * rng.uniform(0, 6.3)), 0.0),
                          wavevec=(0.0, k), **common))
    return MotionField(terms)


def flame(scene: Scene, rng: np.random.Generator, x: float, base: float, height: float, strength: float = 1.0,
          warmth: float = 0.0) -> Layer:
    """A flame standing on (x, base), ``height`` px tall; ``warmth`` 0..1 shifts it from candle yellow to fire red."""
    width = height * rng.uniform(0.28, 0.42)
    lean = rng.normal(0, 0.08)
    s = scene.sprite(x - width - 3, base - height * 1.25 - 3, x + width + 3, base + width * 0.5 + 3)
    gx, gy = s.grid()
    u = (base - gy) / height
    bottom = np.sqrt(np.clip(1.0 - ((0.3 - u) / 0.36) ** 2, 0.0, 1.0))
    top = np.clip(1.0 - (u - 0.3) / 0.72, 0.0, 1.0) ** 1.3
    half = width / 2 * np.where(u < 0.3, bottom, top)
    d = np.abs(gx - x - lean * height * np.clip(u, 0, 1) ** 2) / np.maximum(half, 1e-3)
    alpha = smoothstep(1.2, 0.7, d) * (half > 0.05) * np.clip(1.0 - 0.5 * np.clip(u, 0, 1) ** 2, 0, 1)
    t = np.clip(d * 0.65 + np.clip(u, 0, 1) * 0.5, 0.0, 1.0)[..., None]
    mid, edge = lerp(MID, EDGE, warmth * 0.6), lerp(EDGE, np.float32([0.7, 0.1, 0.02]), warmth)
    colour = lerp(lerp(CORE, mid, smoothstep(0.25, 0.6, t)), edge, smoothstep(0.6, 1.0, t))
    colour = lerp(colour, BLUE, (smoothstep(0.18, 0.0, u) * smoothstep(0.3, 0.9, d) * (1 - warmth))[..., None])
    s.paint(alpha, colour)
    return s.layer("flame", flame_field(rng, x, base, height, strength))


def glow(scene: Scene, x: float, y: float, radius: float, colour: np.ndarray, strength: float,
         kind: str = "interior") -> Layer:
    """A static warm halo: translucent light over whatever lies below."""
    s = scene.sprite(x - radius * 2.5, y - radius * 2.5, x + radius * 2.5, y + radius * 2.5)
    gx, gy = s.grid()
    r2 = ((gx - x) ** 2 + (gy - y) ** 2) / radius ** 2
    s.paint(strength * np.exp(-r2), colour)
    return s.layer(kind)


def candle(scene: Scene, rng: np.random.Generator, x: float, base: float, height: float, width: float,
           light: float, breeze: float) -> list[Layer]:
    """A wax candle (static body, lit top, drips, wick), its flame and its glow."""
    flame_h = width * rng.uniform(1.2, 2.0) + 3
    top = base - height
    layers = [glow(scene, x, top - flame_h * 0.5, flame_h * rng.uniform(1.5, 3.0), np.float32([1.0, 0.7, 0.35]),
                   rng.uniform(0.15, 0.35))]
    s = scene.sprite(x - width, top - 4, x + width, base + 2)
    gx, gy = s.grid()
    wax = pick_hsv(rng, (0.0, 1.0), (0.0, 0.15), (0.85, 0.97)) if rng.random() < 0.5 else \
        pick_hsv(rng, (0.0, 1.0), (0.4, 0.8), (0.5, 0.85))
    body = np.array([[x - width / 2, base], [x - width / 2, top], [x + width / 2, top], [x + width / 2, base]])
    shade = 0.6 + 0.45 * np.clip(1.0 - np.abs(gx - x + width * 0.15) / (width * 0.6), 0, 1)
    shade = shade * (1.0 + 0.35 * smoothstep(top + height * 0.3, top, gy))  # lit by its own flame
    s.paint(s.fill_mask(body), wax[None, None] * shade[..., None] * light)
    s.ellipse((x, top), (width / 2, max(width * 0.15, 0.6)), 0, np.clip(wax * 1.15 * light + 0.1, 0, 1))
    for _ in range(int(rng.integers(0, 4))):
        drip = (x + rng.uniform(-width / 2, width / 2), top + rng.uniform(0, max(height * 0.25, 1.0)))
        s.ellipse(drip, (max(width * 0.08, 0.7), rng.uniform(1, 3)), 0, wax * 0.95 * light)
    s.line(np.array([[x, top], [x + rng.normal(0, 0.3), top - 2.5]]), hsv(0, 0, 0.1), 1)
    layers.append(s.layer("interior"))
    layers.append(flame(scene, rng, x, top - 2, flame_h, strength=breeze))
    return layers


def campfire(scene: Scene, rng: np.random.Generator, x: float, base: float, size: float,
             light: float) -> list[Layer]:
    """Crossed logs (static), several tall flames and their glow on the ground."""
    layers = [glow(scene, x, base - size * 0.3, size * 1.2, np.float32([1.0, 0.5, 0.15]), 0.45, kind="ground")]
    s = scene.sprite(x - size * 1.2, base - size * 0.5, x + size * 1.2, base + size * 0.3)
    for _ in range(int(rng.integers(3, 6))):
        a = rng.uniform(-0.5, 0.5)
        half = size * rng.uniform(0.5, 0.9)
        p = np.array([[x - half * np.cos(a), base - half * np.sin(a) * 0.3], [x + half * np.cos(a),
                                                                              base + half * np.sin(a) * 0.3]])
        s.line(p, pick_hsv(rng, (0.05, 0.09), (0.4, 0.6), (0.15, 0.3)) * light, max(int(size * 0.12), 2))
    for _ in range(int(rng.integers(4, 9))):
        s.ellipse((x + rng.uniform(-size * 0.4, size * 0.4), base + rng.uniform(-2, 2)), (1.5, 1.0), 0,
                  hsv(0.04, 0.9, 1.0))
    layers.append(s.layer("structure"))
    for _ in range(int(rng.integers(3, 7))):
        fx = x + rng.normal(0, size * 0.2)
        layers.append(flame(scene, rng, fx, base - rng.uniform(0, size * 0.15), size * rng.uniform(0.6, 1.3),
                            strength=hidden_gain(rng, 0.8, 1.3), warmth=rng.uniform(0.3, 1.0)))
    return layers
