"""Motion of rendered objects: a displacement of every rest position ``P`` (metres, world, z up) over time.

A moving object's surface point with rest position ``P`` is at ``P + D(P, t)`` at frame time ``t`` (frames at
:data:`FPS`), and frame 0 shows the object at ``P + D(P, 0)`` (a flag's folds, a wave's crest: the picture shows
the motion's own shape; anchored motions below are at rest in frame 0). ``D`` is a sum of travelling sinusoids with
spatial envelopes,

    ``D(P, t) = Re sum_j amp_j env_j(P) exp(i (2 pi f_j t / FPS + wavevec_j . P + phase_j))``

    ``env_j(P) = clip(((P - origin_j) . axis_j) / length_j, 0, s_max_j) ** power_j * fade_j(P)``

(``axis_j = 0`` gives ``env = 1``), plus a vertical drop ``-drop * |D_xy|^2 / drop_length`` that shortens a bending
stem; an *anchored* motion subtracts ``D(P, 0)``, so frame 0 shows the object at rest (plants and flames, whose
amplitudes the picture must not reveal). This one form covers cantilever sway with a height profile (axis z from the
root), leaf flutter (short wavelength), Gerstner waves (a horizontal term a quarter period ahead of a vertical one,
``wavevec = -k``), cloth waves running away from the fixed edge (axis away from the pole) and flame waves (axis up).
``fade_j`` removes a wave where its wavelength on screen is below ``fade_px`` pixels (what the mesh cannot carry), as
a function of the distance from the camera, so it is still a function of the rest position.

The Blender scene is deformed by these very functions (the mesh vertices of frame t are ``P + D(P, t)``), so the
rendered motion and the truth cannot disagree beyond the mesh's linear interpolation between vertices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FPS = 30.0


@dataclass
class Motion:
    """The motion of one moving object (one part id). Arrays have one row per term j.

    Attributes:
        freqs_hz: float64 ``[J]``.
        amps: float64 ``[J, 3]`` metres (complex phases go in ``phases``).
        wavevecs: float64 ``[J, 3]`` radians per metre.
        phases: float64 ``[J]`` radians.
        origins: float64 ``[J, 3]`` metres; axes float64 ``[J, 3]`` (unit, or 0 for no axial envelope);
        lengths, powers, s_max: float64 ``[J]``.
        fade_px: float64 ``[J]``: fade a term out where its wavelength ``2 pi / |wavevec|`` covers fewer pixels than
            this (0: never).
        drop: vertical drop coefficient; drop_length: metres.
        camera_pos: float64 ``[3]`` and pixel_angle (radians per pixel), used by ``fade_px``.
        fade_height: for a horizontal surface (water), the camera's height above it in metres: the part of a
            wave's screen wavelength along the view ray is then also foreshortened by ``height / distance`` (0:
            distance only).
        anchored: subtract ``D(P, 0)``, so frame 0 shows the object at rest (plants, flames: the picture then does
            not reveal how far they sway, see :func:`image_dynamics.data.render.scene.expected_hidden_gains`).
    """

    freqs_hz: np.ndarray
    amps: np.ndarray
    wavevecs: np.ndarray
    phases: np.ndarray
    origins: np.ndarray
    axes: np.ndarray
    lengths: np.ndarray
    powers: np.ndarray
    s_max: np.ndarray
    fade_px: np.ndarray
    drop: float = 0.0
    drop_length: float = 1.0
    camera_pos: np.ndarray = field(default_factory=lambda: np.zeros(3))
    pixel_angle: float = 1e-3
    fade_height: float = 0.0
    anchored: bool = False

    @staticmethod
    def empty() -> Motion:
        z1, z3 = np.zeros(0), np.zeros((0, 3))
        return Motion(z1, z3, z3, z1, z3, z3, z1, z1, z1, z1)

    def add(self, freq_hz: float, amp, wavevec=(0.0, 0.0, 0.0), phase: float = 0.0, origin=(0.0, 0.0, 0.0),
            axis=(0.0, 0.0, 0.0), length: float = 1.0, power: float = 1.0, s_max: float = 1.0,
            fade_px: float = 0.0) -> Motion:
        """Append one term (see the module docstring) and return self."""
        def row(a, v):
            return np.concatenate([a, np.asarray(v, np.float64).reshape(1, -1)])

        def val(a, v):
            return np.concatenate([a, [float(v)]])
        self.freqs_hz, self.amps, self.wavevecs = val(self.freqs_hz, freq_hz), row(self.amps, amp), \
            row(self.wavevecs, wavevec)
        self.phases, self.origins, self.axes = val(self.phases, phase), row(self.origins, origin), row(self.axes, axis)
        self.lengths, self.powers, self.s_max = val(self.lengths, length), val(self.powers, power), \
            val(self.s_max, s_max)
        self.fade_px = val(self.fade_px, fade_px)
        return self

    def __len__(self) -> int:
        return int(self.freqs_hz.shape[0])

    def envelopes(self, points: np.ndarray) -> np.ndarray:
        """float64 ``[J, N]``: each term's envelope at rest positions ``points`` float ``[N, 3]``."""
        p = np.asarray(points, np.float64)
        s = ((p @ self.axes.T).T - (self.origins * self.axes).sum(axis=1)[:, None]) / self.lengths[:, None]
        has_axis = np.abs(self.axes).sum(axis=1) > 0
        env = np.where(has_axis[:, None], np.clip(s, 0.0, self.s_max[:, None]) ** self.powers[:, None], 1.0)
        fading = self.fade_px > 0
        if fading.any():
            dist = np.linalg.norm(p - self.camera_pos, axis=1)  # [N]
            wavelength = 2 * np.pi / np.maximum(np.linalg.norm(self.wavevecs, axis=1), 1e-9)  # [J] metres
            px = wavelength[:, None] / np.maximum(dist[None] * self.pixel_angle, 1e-9)
            if self.fade_height > 0:  # foreshortening of the wave's crests along the view ray
                ray = (p - self.camera_pos)[:, :2]
                ray = ray / np.maximum(np.linalg.norm(ray, axis=1, keepdims=True), 1e-9)
                k_hat = self.wavevecs[:, :2] / np.maximum(np.linalg.norm(self.wavevecs[:, :2], axis=1,
                                                                         keepdims=True), 1e-9)
                along = np.abs(k_hat @ ray.T)  # [J, N]
                squash = np.clip(self.fade_height / np.maximum(dist, 1e-9), 0.0, 1.0)[None]
                px = px * np.sqrt((along * squash) ** 2 + 1.0 - along ** 2)
            ramp = np.clip((px - self.fade_px[:, None]) / self.fade_px[:, None].clip(1e-9), 0.0, 1.0)
            env = np.where(fading[:, None], env * ramp * ramp * (3 - 2 * ramp), env)
        return env

    def displace(self, points: np.ndarray, times: np.ndarray) -> np.ndarray:
        """float64 ``[T, N, 3]``: ``D(P, t)`` at rest positions ``points`` ``[N, 3]``, frame times ``times`` ``[T]``."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        times = np.atleast_1d(np.asarray(times, np.float64))
        if len(self) == 0:
            return np.zeros((times.size, p.shape[0], 3))
        if self.anchored:
            both = self._displace(p, np.concatenate([[0.0], times]))
            return both[1:] - both[:1]
        return self._displace(p, times)

    def _displace(self, p: np.ndarray, times: np.ndarray) -> np.ndarray:
        spatial = self.envelopes(p) * np.exp(1j * (p @ self.wavevecs.T + self.phases).T)  # [J, N]
        temporal = np.exp(2j * np.pi * times[:, None] * self.freqs_hz[None] / FPS)  # [T, J]
        out = np.empty((times.size, p.shape[0], 3))
        for c in range(3):
            out[..., c] = (temporal @ (self.amps[:, c:c + 1] * spatial)).real
        if self.drop:
            out[..., 2] -= self.drop * (out[..., 0] ** 2 + out[..., 1] ** 2) / self.drop_length
        return out

    def positions(self, points: np.ndarray, time: float) -> np.ndarray:
        """float64 ``[N, 3]``: where the rest positions ``points`` are at frame ``time`` (the mesh of that frame)."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        return p + self.displace(p, [time])[0]


def deep_water_wavenumber(freq_hz: float, gravity: float = 9.81) -> float:
    """Radians per metre of a deep-water wave of ``freq_hz``: the dispersion ``w^2 = g k``."""
    omega = 2 * math.pi * freq_hz
    return omega * omega / gravity


def gerstner(motion: Motion, freq_hz: float, amplitude: float, direction_rad: float, phase: float,
             fade_px: float = 0.0, gravity: float = 9.81) -> Motion:
    """Add one deep-water Gerstner wave: frequency ``freq_hz``, amplitude metres, travelling towards
    ``direction_rad`` (in the xy plane); its wavenumber follows the dispersion ``w^2 = g k``. Particles move on
    circles, ``z = a cos(theta)`` and ``x_h = -a k^ sin(theta)`` with ``theta = k . P - w t``: a crest moves its
    water forwards."""
    k = deep_water_wavenumber(freq_hz, gravity)
    kx, ky = math.cos(direction_rad), math.sin(direction_rad)
    wavevec = (-k * kx, -k * ky, 0.0)  # the terms' phase is w t - k . P = -theta: crests travel along +direction
    motion.add(freq_hz, (0.0, 0.0, amplitude), wavevec, phase, fade_px=fade_px)
    return motion.add(freq_hz, (amplitude * kx, amplitude * ky, 0.0), wavevec, phase - math.pi / 2, fade_px=fade_px)
