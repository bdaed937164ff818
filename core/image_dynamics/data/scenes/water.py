"""Water surfaces: superposed travelling waves and circular ripples on a ground plane seen in perspective.

The camera stands ``cam_height`` metres above a flat water plane, focal length ``focal`` pixels, horizon at image row
``horizon``. A pixel below the horizon sees the world point at depth ``z = cam_height * focal / (y - horizon)`` and
lateral ``X = (x - cx) z / focal``. Each wave is a deep-water Airy wave of amplitude ``a`` and phase ``theta(X, z)``:
surface particles move on circles, ``a cos(theta - w t)`` along the wave's direction and ``a sin(theta - w t)`` upwards,
which projects to image displacements that shrink towards the horizon. Where the wave's image wavelength drops below a
few pixels (far away) it fades out of both the motion and the texture, and each wave's local slope in the image is
capped so the warp stays one-to-one. The water's texture (reflection of the scene above, shaded by the surface slope) is
computed from the same waves, so its look tells its motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .canvas import Layer, Scene, fbm, lerp, pick_hsv, smoothstep
from .motion import BASE_HZ, MotionField, harmonic
from .sky import Mood

_MAX_SLOPE = 0.2  # per wave: largest |grad d| in the image


@dataclass(frozen=True)
class WaveTerm:
    """One travelling plane wave (``centre`` None) or circular ripple around world point ``centre`` = (X, z)."""

    freq_hz: float
    amp: float  # metres
    wavenumber: tuple[float, float]  # (kx, kz) radians per metre; for a ripple only its length counts
    phase: float
    horizon: float
    focal: float
    cam_height: float
    cx: float
    centre: tuple[float, float] | None = None
    decay: float = 1.0  # ripple: amplitude falls as 1 / sqrt(1 + r / decay)

    def _waves(self, x: np.ndarray, y: np.ndarray):
        dyh = np.maximum(y - self.horizon, 0.5)
        z = self.cam_height * self.focal / dyh
        wx = (x - self.cx) * z / self.focal
        if self.centre is None:
            gx, gz = self.wavenumber
            k = float(np.hypot(gx, gz))
            theta = gx * wx + gz * z + self.phase
            ux, uz, amp = gx / k, gz / k, self.amp
        else:
            k = float(np.hypot(*self.wavenumber))
            rx, rz = wx - self.centre[0], z - self.centre[1]
            r = np.maximum(np.hypot(rx, rz), 1e-3)
            theta = k * r + self.phase
            ux, uz = rx / r, rz / r
            gx, gz = k * ux, k * uz
            amp = self.amp / np.sqrt(1.0 + r / self.decay)
        # chain rule: dX/dx = z/f, dX/dy = -X/dyh, dz/dy = -z/dyh
        dtx = gx * z / self.focal
        dty = -(gx * wx + gz * z) / dyh
        kpix = np.hypot(dtx, dty)
        scale = dyh / self.cam_height  # pixels per metre at this depth
        slope = scale * amp * kpix
        fade = smoothstep(2 * np.pi / 3.0, 2 * np.pi / 7.0, kpix) * smoothstep(self.horizon, self.horizon + 2.0, y)
        fade = fade / np.sqrt(1.0 + (slope / _MAX_SLOPE) ** 2)
        return theta, ux, uz, amp * fade, scale, dyh, z

    def coeff(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """complex64 ``[2, ...]``: image displacement coefficients (x, y) in pixels."""
        theta, ux, uz, amp, scale, dyh, z = self._waves(x, y)
        e = amp * np.exp(-1j * theta)
        cx = scale * ux * e
        cy = -(dyh / z) * uz * e - scale * 1j * e  # depth motion foreshortened; upward motion is -y
        return np.stack([cx, cy]).astype(np.complex64)

    def surface(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Height of the surface in frame 0 in image pixels (up positive), float32 like ``x``."""
        theta, _, _, amp, scale, _, _ = self._waves(x, y)
        return (scale * amp * np.sin(theta)).astype(np.float32)

    def bound(self) -> float:
        return float(self.amp * 2.0 * 200.0 / self.cam_height)  # generous: pixels per metre stay under 200


WATER_HSV = (((0.55, 0.62), (0.5, 0.8), (0.2, 0.45)), ((0.45, 0.52), (0.4, 0.7), (0.25, 0.45)),
             ((0.25, 0.38), (0.3, 0.6), (0.15, 0.3)), ((0.08, 0.12), (0.4, 0.6), (0.2, 0.35)),
             ((0.58, 0.66), (0.2, 0.4), (0.1, 0.2)))


def random_waves(rng: np.random.Generator, scene: Scene, horizon: float, calm: float, ripples: int = 0) -> list:
    """A wave spectrum: 2-5 travelling waves (harmonic frequencies, rarely an off-harmonic one) and some ripples.

    ``calm`` in 0..1 shortens and lowers the waves (a pond rather than a lake).
    """
    common = dict(horizon=horizon, focal=float(scene.width), cam_height=float(rng.uniform(1.2, 3.0)),
                  cx=scene.width * 0.5)
    main_dir = rng.uniform(-0.6, 0.6) + (np.pi if rng.random() < 0.3 else 0.0)
    terms = []
    for i in range(int(rng.integers(2, 6))):
        wavelength = rng.uniform(0.6, 4.0) * (1.0 - 0.7 * calm) / (1 + i * 0.3)
        direction = main_dir + rng.normal(0, 0.5)
        k = 2 * np.pi / wavelength
        steep = rng.uniform(0.05, 0.15) * (1.0 - 0.5 * calm)
        dispersion_hz = np.sqrt(9.81 * k) / (2 * np.pi)  # deep water: w^2 = g k
        f = harmonic(int(np.clip(round(dispersion_hz / BASE_HZ), 2, 15)))
        if rng.random() < 0.15:
            f = BASE_HZ * (int(rng.integers(2, 14)) + rng.uniform(0.2, 0.8))
        terms.append(WaveTerm(float(f), steep / k, (k * np.sin(direction), -k * np.cos(direction)),
                              float(rng.uniform(0, 2 * np.pi)), **common))
    for _ in range(ripples):
        dy = rng.uniform(0.35, 0.9) * (scene.height - horizon)
        z = common["cam_height"] * common["focal"] / dy
        centre = ((rng.uniform(0.1, 0.9) * scene.width - common["cx"]) * z / common["focal"], z)
        wavelength = rng.uniform(0.15, 0.5)
        terms.append(WaveTerm(harmonic(int(rng.integers(6, 15))), wavelength * rng.uniform(0.02, 0.05),
                              (2 * np.pi / wavelength, 0.0), float(rng.uniform(0, 2 * np.pi)), centre=centre,
                              decay=wavelength * 2, **common))
    return terms


def water(scene: Scene, rng: np.random.Generator, mood: Mood, horizon: float, waves: list,
          top: np.ndarray | None = None) -> Layer:
    """The water surface from the horizon (or from a far-shore profile ``top``) to the bottom of the canvas.

    Its colour mixes the reflection of the layers already in the scene (mirrored about the horizon, displaced by the
    wave slopes) with the water's own colour by a Fresnel-like weight, and is shaded by the slope of the same waves.
    """
    m = scene.margin
    s = scene.sprite(-m, horizon - 1, scene.width + m, scene.height + m)
    x, y = s.grid()
    height = np.zeros_like(x)
    for w in waves:
        height += w.surface(x, y)
    slope_y = np.gradient(height, axis=0)
    slope_x = np.gradient(height, axis=1)
    depth = np.clip((y - horizon) / max(scene.height + m - horizon, 1.0), 0.0, 1.0)
    backdrop = scene.composite_colour()
    src_y = 2.0 * horizon - y - 2.0 + slope_y * rng.uniform(4, 10) * (0.3 + depth)
    src_x = x + slope_x * rng.uniform(2, 6)
    reflection = cv2.remap(backdrop, src_x + m, src_y + m, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    reflection = cv2.GaussianBlur(reflection, (0, 0), sigmaX=0.6, sigmaY=1.2)
    own = pick_hsv(rng, *WATER_HSV[int(rng.integers(len(WATER_HSV)))]) * mood.light
    fresnel = lerp(0.9, rng.uniform(0.2, 0.5), depth ** 0.6)[..., None]
    colour = lerp(own, reflection, fresnel)
    shade_std = max(float(slope_y.std()), 1e-4)
    shade = np.clip(-slope_y / shade_std, -3, 3)
    colour = colour * (1.0 + 0.12 * shade)[..., None]
    glint = smoothstep(1.5, 2.8, shade) * (mood.sun is not None or rng.random() < 0.4)
    colour = lerp(colour, mood.cloud_lit, (glint * 0.6)[..., None])
    colour = colour * (1.0 + 0.04 * fbm(rng, s.height, s.width, 2.0, octaves=2, aspect=4.0))[..., None]
    alpha = np.clip(y - (horizon if top is None else top[None, : s.width]) + 0.5, 0.0, 1.0)
    s.paint(alpha, colour)
    return s.layer("water", MotionField(list(waves)))
