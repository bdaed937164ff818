"""The static backdrop: sky with clouds (no wind: clouds never move), distant mountains, hills and tree lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .canvas import Layer, Scene, fbm, hsv, jitter, lerp, noise_1d, pick_hsv, smoothstep


@dataclass
class Mood:
    """Time of day and weather: the colours every other element is lit and hazed with."""

    name: str
    zenith: np.ndarray
    horizon: np.ndarray
    cloud_lit: np.ndarray
    cloud_shadow: np.ndarray
    cloud_cover: float  # 0 clear .. 1 overcast
    sun: tuple[float, float] | None  # image position of the sun's glow, if visible
    light: float  # overall brightness of lit surfaces
    tint: np.ndarray  # colour of the light on surfaces

    @property
    def haze(self) -> np.ndarray:
        return self.horizon


def random_mood(rng: np.random.Generator, width: int, horizon: float, night_ok: bool = False) -> Mood:
    """A mood drawn from clear day, hazy, golden hour, overcast, dawn and (optionally) night."""
    names = ["day", "day", "hazy", "golden", "overcast", "dawn"] + (["night"] if night_ok else [])
    name = names[int(rng.integers(len(names)))]
    sun = (float(rng.uniform(0.1, 0.9) * width), float(horizon * rng.uniform(0.2, 0.9)))
    if name == "day":
        return Mood(name, pick_hsv(rng, (0.55, 0.64), (0.45, 0.75), (0.6, 0.9)),
                    pick_hsv(rng, (0.52, 0.6), (0.1, 0.3), (0.85, 0.98)), hsv(0.1, 0.03, 0.98), hsv(0.6, 0.1, 0.7),
                    float(rng.uniform(0.0, 0.6)), sun if rng.random() < 0.3 else None, 1.0, hsv(0.12, 0.08, 1.0))
    if name == "hazy":
        return Mood(name, pick_hsv(rng, (0.55, 0.62), (0.2, 0.4), (0.75, 0.9)),
                    pick_hsv(rng, (0.08, 0.6), (0.05, 0.15), (0.88, 0.97)), hsv(0.1, 0.02, 0.97), hsv(0.6, 0.05, 0.8),
                    float(rng.uniform(0.0, 0.4)), sun, 0.95, hsv(0.1, 0.05, 1.0))
    if name == "golden":
        return Mood(name, pick_hsv(rng, (0.58, 0.7), (0.35, 0.6), (0.45, 0.7)),
                    pick_hsv(rng, (0.05, 0.11), (0.45, 0.75), (0.9, 1.0)), hsv(0.08, 0.35, 1.0), hsv(0.85, 0.25, 0.55),
                    float(rng.uniform(0.1, 0.6)), sun, 0.95, hsv(0.08, 0.3, 1.0))
    if name == "overcast":
        grey = rng.uniform(0.6, 0.85)
        return Mood(name, hsv(rng.uniform(0.55, 0.65), 0.08, grey * 0.9), hsv(0.6, 0.04, grey + 0.08),
                    hsv(0.6, 0.02, grey + 0.12), hsv(0.62, 0.06, grey * 0.7), float(rng.uniform(0.7, 1.0)), None,
                    0.8, hsv(0.6, 0.05, 1.0))
    if name == "dawn":
        return Mood(name, pick_hsv(rng, (0.6, 0.75), (0.25, 0.45), (0.5, 0.75)),
                    pick_hsv(rng, (0.92, 1.05), (0.25, 0.45), (0.9, 1.0)), hsv(0.95, 0.2, 1.0), hsv(0.7, 0.2, 0.6),
                    float(rng.uniform(0.1, 0.5)), sun if rng.random() < 0.5 else None, 0.9, hsv(0.97, 0.15, 1.0))
    return Mood(name, pick_hsv(rng, (0.6, 0.7), (0.5, 0.8), (0.05, 0.12)), pick_hsv(rng, (0.6, 0.7), (0.4, 0.7),
                (0.15, 0.3)), hsv(0.62, 0.2, 0.3), hsv(0.65, 0.3, 0.12), float(rng.uniform(0.0, 0.4)), None, 0.45,
                hsv(0.08, 0.5, 1.0))


def sky(scene: Scene, rng: np.random.Generator, mood: Mood, horizon: float) -> Layer:
    """Opaque full-canvas sky: gradient to the horizon, sun glow, clouds (static), stars at night."""
    s = scene.full_sprite()
    x, y = s.grid()
    t = np.clip((y - s.top) / max(horizon - s.top, 1.0), 0.0, 1.0)[..., None] ** 0.8
    colour = lerp(mood.zenith, mood.horizon, t)
    if mood.sun is not None:
        r = np.hypot(x - mood.sun[0], y - mood.sun[1])
        glow = np.exp(-r / rng.uniform(25, 60))[..., None]
        colour = colour + glow * 0.6 * (mood.cloud_lit - colour)
        colour = lerp(colour, mood.cloud_lit, smoothstep(6.0, 3.0, r)[..., None])
    if mood.cloud_cover > 0.05:
        n = fbm(rng, s.height, s.width, rng.uniform(25, 70), octaves=5, aspect=rng.uniform(1.5, 4.0))
        threshold = lerp(1.3, -0.9, mood.cloud_cover)
        cover = smoothstep(threshold, threshold + rng.uniform(0.4, 1.2), n)
        cover *= smoothstep(horizon + 2, horizon - 25, y) * 0.5 + 0.5 * smoothstep(horizon, horizon - 6, y)
        shift = int(rng.integers(2, 5))
        upper = np.vstack([n[:1].repeat(shift, 0), n[:-shift]])  # noise a few pixels higher: tops of clouds
        lit = np.clip(0.6 + 0.5 * (n - upper), 0.0, 1.0)[..., None]
        cloud = lerp(mood.cloud_shadow, mood.cloud_lit, lit)
        colour = lerp(colour, cloud, (cover * rng.uniform(0.7, 1.0))[..., None])
    if mood.name == "night":
        stars = (rng.random((s.height, s.width)) > 0.996) * rng.uniform(0.3, 1.0, (s.height, s.width))
        colour = colour + (stars * smoothstep(horizon, horizon * 0.5, y))[..., None].astype(np.float32)
    s.paint(np.ones((s.height, s.width), np.float32), colour)
    return s.layer("sky")


def _ridge(scene: Scene, rng: np.random.Generator, profile: np.ndarray, bottom: float, colour: np.ndarray,
           haze: np.ndarray, haze_amount: float, texture: float, kind: str = "terrain",
           snow: float | None = None) -> Layer:
    """Fill below a profile ``y(x)`` (one value per padded-canvas column) with a hazed, textured colour."""
    top = float(profile.min()) - 2
    s = scene.sprite(-scene.margin, top, scene.width + scene.margin, bottom)
    x, y = s.grid()
    cols = profile[: s.width][None, :]
    alpha = np.clip(y - cols + 0.5, 0.0, 1.0)
    slope = np.convolve(np.gradient(profile[: s.width]), np.ones(7) / 7.0, mode="same")[None, :]
    light_dir = 1.0 if rng.random() < 0.5 else -1.0
    depth = np.clip((y - cols) / max(bottom - top, 1.0), 0.0, 1.0)
    shade = 1.0 + 0.3 * np.clip(light_dir * slope, -1, 1) * np.exp(-depth * 6.0) - 0.15 * depth
    tex = 1.0 + texture * fbm(rng, s.height, s.width, rng.uniform(4, 12), octaves=4, aspect=rng.uniform(0.7, 2))
    rgb = colour * (shade * tex)[..., None]
    if snow is not None:
        snow_line = snow + 6.0 * fbm(rng, s.height, s.width, 8, octaves=3)
        rgb = lerp(rgb, hsv(0.6, 0.05, 0.95) * shade[..., None], smoothstep(snow_line + 2, snow_line - 2, y)[..., None])
    rgb = lerp(rgb, haze, haze_amount)
    s.paint(alpha, rgb)
    return s.layer(kind)


def mountains(scene: Scene, rng: np.random.Generator, mood: Mood, base: float, peak: float, haze: float) -> Layer:
    """A mountain range between heights ``peak`` (highest point) and ``base`` (image y), snow-capped sometimes."""
    n = scene.width + 2 * scene.margin
    ridge = 1.0 - np.abs(noise_1d(rng, n, rng.uniform(60, 160), octaves=6, gain=0.55)) * 0.6
    ridge = ridge + 0.4 * noise_1d(rng, n, rng.uniform(15, 40), octaves=4)
    ridge = (ridge - ridge.min()) / max(float(np.ptp(ridge)), 1e-6)
    profile = base - (base - peak) * (0.25 + 0.75 * ridge)
    colour = pick_hsv(rng, (0.0, 1.0), (0.05, 0.3), (0.25, 0.6)) if rng.random() < 0.6 else \
        pick_hsv(rng, (0.05, 0.12), (0.2, 0.45), (0.3, 0.6))
    snow = peak + (base - peak) * rng.uniform(0.15, 0.4) if rng.random() < 0.4 else None
    return _ridge(scene, rng, profile, base + 8, colour * mood.light, mood.haze, haze, 0.12, snow=snow)


def hills(scene: Scene, rng: np.random.Generator, mood: Mood, base: float, top: float, haze: float) -> Layer:
    """Rolling hills: a smooth profile filled with a field colour (green, dry, autumn, heather)."""
    n = scene.width + 2 * scene.margin
    profile = base - (base - top) * (0.5 + 0.5 * np.tanh(noise_1d(rng, n, rng.uniform(80, 220), octaves=3)))
    family = int(rng.integers(4))
    colour = [pick_hsv(rng, (0.18, 0.33), (0.35, 0.7), (0.35, 0.65)), pick_hsv(rng, (0.09, 0.15), (0.35, 0.6),
              (0.5, 0.75)), pick_hsv(rng, (0.02, 0.1), (0.5, 0.75), (0.4, 0.65)),
              pick_hsv(rng, (0.8, 0.95), (0.2, 0.4), (0.35, 0.55))][family]
    return _ridge(scene, rng, profile, base + 8, colour * mood.light, mood.haze, haze, 0.18)


def treeline(scene: Scene, rng: np.random.Generator, mood: Mood, base: float, height: float, haze: float) -> Layer:
    """A distant forest edge: bumpy crowns, too far away for their motion to show (static)."""
    n = scene.width + 2 * scene.margin
    bumps = np.abs(noise_1d(rng, n, rng.uniform(3, 8), octaves=2))
    broad = noise_1d(rng, n, rng.uniform(40, 120), octaves=3)
    profile = base - height * np.clip(0.55 + 0.25 * broad + 0.3 * bumps, 0.05, 1.3)
    if rng.random() < 0.3:  # conifers: sharp spikes
        spikes = np.abs(((np.arange(n) + rng.uniform(0, 9)) % rng.uniform(5, 9)) - 3.0)
        profile = profile + spikes * height * 0.08
    colour = jitter(pick_hsv(rng, (0.2, 0.42), (0.3, 0.6), (0.15, 0.35)), rng, 0.02) if rng.random() < 0.75 else \
        pick_hsv(rng, (0.02, 0.12), (0.4, 0.7), (0.3, 0.5))
    return _ridge(scene, rng, profile, base + 6, colour * mood.light, mood.haze, haze, 0.3, kind="terrain")
