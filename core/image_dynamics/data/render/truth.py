"""Per-pixel truth of a rendered frame: spectral volume and ``known`` mask from the rest-position passes.

Every material writes shader AOVs (see :mod:`.blender`), averaged by Cycles over each pixel's samples. With ``m`` = 1
on moving objects and 0 elsewhere (static objects and the sky write nothing), the passes hold the pixel means

    ``mov = E[m]``, ``rest = E[m P]``, ``rest_sq = E[m P*P]``, ``rest_x = E[m (Px Py, Py Pz, Pz Px)]``,
    ``part = E[m id]``, ``part_sq = E[m id^2]``

of the rest position ``P`` (metres, world) and part id of the surface point each sample hits. A pixel is

- *static and known* when no sample hits a moving object (``mov == 0``): its motion is exactly 0 (the sky texture,
  buildings, rocks, ground and static objects mixing with each other);
- *unknown* when its samples mix a moving object with anything else (``0 < mov < 1``: a silhouette against a static
  thing or the sky), or two moving parts (``var(id) > 0``), or points of one moving part whose image trajectories
  spread by more than :data:`SPREAD_TOLERANCE_PX` or :data:`SPREAD_RELATIVE` times the pixel's own largest
  displacement, whichever is more: the spread is the largest deviation over the window of the trajectories of probes
  at ``mean +- sigma`` along the principal axes of the samples' rest positions from the mean's trajectory, i.e. the
  samples' standard deviation to first order (a near blade in front of a far one, a blade's tip over another's root,
  a wave hiding its own trough are unknown; blades of one field that sway alike stay known, with their mean
  trajectory), or when its moving surface's thin-lens blur exceeds :data:`BLUR_TOLERANCE_PX`;
- *known* otherwise, with the trajectory of the mean rest position ``E[P]``.

The trajectory over the 150-frame window is ``project(X(t)) - project(X(0))`` with ``X(t) = P + D(P, t)``
(:mod:`.motion`), and the spectral volume is its DFT in the one-sided scaling of docs/conventions.md (``S_0 = X_0 / T``,
``S_k = 2 X_k / T``), first 16 bands. Unknown pixels that a moving object covers carry ``mov`` times the trajectory of
their mean moving point (the coverage-weighted estimate the 2-D generator stores on anti-aliased edges), so they are
never all-zero, i.e. never look static even to a reader that ignores ``known``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Camera
from .motion import Motion

NUM_BANDS = 16
WINDOW_FRAMES = 150
SPREAD_TOLERANCE_PX = 0.25
SPREAD_RELATIVE = 0.5
BLUR_TOLERANCE_PX = 0.5
COVER_TOLERANCE = 1e-3
PART_VARIANCE_TOLERANCE = 1e-2
PASS_NAMES = ("mov", "rest", "rest_sq", "rest_x", "part", "part_sq")

#: why a pixel is unknown (``Truth.reason``)
KNOWN, MIXED_COVER, MIXED_PARTS, SPREAD, DEFOCUS = 0, 1, 2, 3, 4
REASONS = ("known", "moving object mixed with static or sky", "several moving parts", "samples move apart",
           "defocus blur")


@dataclass(eq=False)
class Truth:
    """Motion truth of one rendered frame.

    Attributes:
        coeffs: complex64 ``[16, 2, H, W]``: spectral volume (pixels, x right, y down), one-sided, docs/conventions.md.
        known: uint8 ``[H, W]``: 1 where the motion is known.
        reason: uint8 ``[H, W]``: index into :data:`REASONS` (0 where known).
        moving: bool ``[H, W]``: some sample of the pixel hits a moving object.
        rest: float64 ``[H, W, 3]``: mean rest position of the moving samples (0 where none).
        part: int32 ``[H, W]``: part id of the pixel's moving surface (0 where none).
    """

    coeffs: np.ndarray
    known: np.ndarray
    reason: np.ndarray
    moving: np.ndarray
    rest: np.ndarray
    part: np.ndarray


def pixel_trajectories(points: np.ndarray, parts: np.ndarray, motions: dict[int, Motion], camera: Camera,
                       times: np.ndarray) -> np.ndarray:
    """float64 ``[T, N, 2]``: image displacement (pixels) from frame 0 to each of the frame ``times`` ``[T]`` of the
    surface points with rest positions ``points`` ``[N, 3]`` of parts ``parts`` ``[N]`` (0 for parts without motion)."""
    times = np.asarray(times, np.float64)
    all_times = np.concatenate([[0.0], times])
    out = np.zeros((times.size, points.shape[0], 2))
    for pid in np.unique(parts):
        sel = np.nonzero(parts == pid)[0]
        motion = motions.get(int(pid))
        if motion is None:
            continue
        for start in range(0, sel.size, 4096):
            idx = sel[start:start + 4096]
            p = points[idx]
            xy = camera.project(p[None] + motion.displace(p, all_times))  # [1 + T, n, 2]
            out[:, idx] = xy[1:] - xy[:1]
    return out


def spectrum(trajectories: np.ndarray, num_bands: int = NUM_BANDS) -> np.ndarray:
    """complex128 ``[K, ...]``: one-sided DFT coefficients of trajectories ``[T, ...]`` (docs/conventions.md)."""
    t = trajectories.shape[0]
    x = np.fft.fft(trajectories, axis=0)[:num_bands] / t
    x[1:] *= 2.0
    if t % 2 == 0 and num_bands == t // 2 + 1:
        x[-1] /= 2.0
    return x


def compute_truth(passes: dict[str, np.ndarray], motions: dict[int, Motion], camera: Camera,
                  window: int = WINDOW_FRAMES, num_bands: int = NUM_BANDS,
                  spread_tolerance_px: float = SPREAD_TOLERANCE_PX, spread_relative: float = SPREAD_RELATIVE,
                  blur_tolerance_px: float = BLUR_TOLERANCE_PX) -> Truth:
    """The :class:`Truth` of a frame from its passes (float32 ``[H, W]`` or ``[H, W, 3]``, rows top-down, named as in
    :data:`PASS_NAMES`), the scene's motions by part id and its camera."""
    mov = np.asarray(passes["mov"], np.float64)
    h, w = mov.shape
    moving = mov > 1e-6
    safe = np.where(moving, mov, 1.0)
    rest = np.asarray(passes["rest"], np.float64)[..., :3] / safe[..., None]
    part_mean = np.asarray(passes["part"], np.float64) / safe
    part_var = np.asarray(passes["part_sq"], np.float64) / safe - part_mean ** 2
    part = np.where(moving, np.rint(part_mean), 0).astype(np.int32)
    reason = np.zeros((h, w), np.uint8)
    reason[moving & (part_var > PART_VARIANCE_TOLERANCE)] = MIXED_PARTS
    reason[moving & (mov < 1.0 - COVER_TOLERANCE)] = MIXED_COVER
    unknown_part = moving & ~np.isin(part, list(motions))
    reason[unknown_part] = MIXED_PARTS

    coeffs = np.zeros((num_bands, 2, h, w), np.complex64)
    ys, xs = np.nonzero(moving)
    if ys.size:
        points = rest[ys, xs]
        parts = part[ys, xs]
        traj = pixel_trajectories(points, parts, motions, camera, np.arange(window, dtype=np.float64))  # [T, N, 2]
        spec = spectrum(traj, num_bands)  # [K, N, 2]
        cover = np.where(reason[ys, xs] == MIXED_COVER, mov[ys, xs], 1.0)
        coeffs[:, :, ys, xs] = (spec * cover[None, :, None]).transpose(0, 2, 1).astype(np.complex64)

        check = reason[ys, xs] == KNOWN
        if check.any():
            cy, cx = ys[check], xs[check]
            spread = _spread_px(passes, rest, safe, cy, cx, part[cy, cx], motions, camera, traj[:, check], window)
            sub = reason[cy, cx]
            reach = np.linalg.norm(traj[:, check], axis=-1).max(axis=0)  # largest displacement over the window
            sub[spread > np.maximum(spread_tolerance_px, spread_relative * reach)] = SPREAD
            blur = camera.blur_px(rest[cy, cx])
            sub[(sub == KNOWN) & (blur > blur_tolerance_px)] = DEFOCUS
            reason[cy, cx] = sub
    known = (reason == KNOWN).astype(np.uint8)
    return Truth(coeffs, known, reason, moving, np.where(moving[..., None], rest, 0.0), part)


def _spread_px(passes, rest, safe, ys, xs, parts, motions, camera, traj, window) -> np.ndarray:
    """float64 ``[N]``: largest image-trajectory difference (pixels) between the mean point of each pixel and probes
    at ``mean +- sigma`` along the principal axes of its samples' rest positions, over every 5th frame."""
    mean = rest[ys, xs]  # [N, 3]
    m = safe[ys, xs][:, None]
    sq = np.asarray(passes["rest_sq"], np.float64)[ys, xs, :3] / m
    cross = np.asarray(passes["rest_x"], np.float64)[ys, xs, :3] / m
    cov = np.empty((ys.size, 3, 3))
    for i in range(3):
        cov[:, i, i] = sq[:, i] - mean[:, i] ** 2
    for (i, j), c in zip(((0, 1), (1, 2), (2, 0)), range(3)):
        cov[:, i, j] = cov[:, j, i] = cross[:, c] - mean[:, i] * mean[:, j]
    lam, vec = np.linalg.eigh(cov)  # ascending; columns of vec are the axes
    sigma = np.sqrt(np.clip(lam, 0.0, None))  # [N, 3]
    times = np.arange(0, window, 5, dtype=np.float64)
    base = traj[::5]  # [T', N, 2]
    worst = np.zeros(ys.size)
    for axis in range(3):
        offset = sigma[:, axis:axis + 1] * vec[:, :, axis]  # [N, 3]
        for sign in (1.0, -1.0):
            probe = pixel_trajectories(mean + sign * offset, parts, motions, camera, times)
            worst = np.maximum(worst, np.linalg.norm(probe - base, axis=-1).max(axis=0))
    return worst
