"""The pinhole camera of a rendered scene, mirrored in numpy: world -> pixel projection and thin-lens blur.

Pixels: origin at the top-left corner of the image, x right, y down, pixel (i, j) centred at (i + 0.5, j + 0.5)
(docs/conventions.md). The camera looks along its local -z with local +y up, as Blender's cameras do; the sensor
width spans the image width (sensor fit horizontal), so ``f_px = lens_mm / sensor_mm * width``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def look_at(position, target, roll_rad: float = 0.0) -> np.ndarray:
    """float64 ``[4, 4]`` camera-to-world matrix of a camera at ``position`` looking at ``target`` (world z up)."""
    pos, tgt = np.asarray(position, np.float64), np.asarray(target, np.float64)
    forward = tgt - pos
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    c, s = math.cos(roll_rad), math.sin(roll_rad)
    right, up = c * right + s * up, -s * right + c * up
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, up, -forward, pos
    return m


@dataclass(frozen=True)
class Camera:
    """A camera: ``matrix`` float64 ``[4, 4]`` camera-to-world, lens and sensor width in mm, image size in pixels,
    f-number (0: no depth of field) and focus distance in metres."""

    matrix: np.ndarray
    lens_mm: float
    sensor_mm: float
    width: int
    height: int
    fstop: float = 0.0
    focus_m: float = 10.0

    @property
    def position(self) -> np.ndarray:
        return np.asarray(self.matrix)[:3, 3]

    @property
    def focal_px(self) -> float:
        return self.lens_mm / self.sensor_mm * self.width

    @property
    def pixel_angle(self) -> float:
        """Radians per pixel at the image centre."""
        return 1.0 / self.focal_px

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """float64 ``[..., 3]``: world points ``[..., 3]`` in camera coordinates (looking along -z)."""
        m = np.asarray(self.matrix, np.float64)
        return (np.asarray(points, np.float64) - m[:3, 3]) @ m[:3, :3]

    def project(self, points: np.ndarray) -> np.ndarray:
        """float64 ``[..., 2]``: pixel coordinates (x right, y down) of world points ``[..., 3]``."""
        c = self.to_camera(points)
        depth = np.maximum(-c[..., 2], 1e-6)
        f = self.focal_px
        return np.stack([self.width / 2 + f * c[..., 0] / depth, self.height / 2 - f * c[..., 1] / depth], axis=-1)

    def depth(self, points: np.ndarray) -> np.ndarray:
        """float64 ``[...]``: distance in front of the camera along its axis, metres."""
        return -self.to_camera(points)[..., 2]

    def blur_px(self, points: np.ndarray) -> np.ndarray:
        """float64 ``[...]``: diameter of the thin-lens circle of confusion of world points, pixels (0 without DoF)."""
        depth = np.maximum(self.depth(points), 1e-6)
        if self.fstop <= 0:
            return np.zeros_like(depth)
        f = self.lens_mm / 1000.0
        aperture = f / self.fstop
        coc = aperture * f * np.abs(depth - self.focus_m) / (depth * max(self.focus_m - f, 1e-6))  # metres on sensor
        return coc / (self.sensor_mm / 1000.0 / self.width)
