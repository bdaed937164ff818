"""Frames of an animated loop at full image resolution from a spectral volume at model resolution.

Per frame: the anchored displacement is evaluated by inverse DFT on the volume's own grid (cheap: K x 2 x h x w),
upsampled edge-aware to the image (guided by the image so motion stays inside objects), and the image is forward-warped
by softmax splatting with GID's weight ``W(p) = mean_t |a_t(p)|``. Full-resolution coefficients are never materialised
(DESIGN.md §3, Resolution).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import render, spectral
from .errors import InputError
from .spectral import SpectralVolume
from .upsample import EdgeAwareUpsampler

#: Largest relative difference of aspect ratio between motion grid and image that is resampled rather than refused.
ASPECT_TOLERANCE = 0.02
#: Frames of motion averaged for the splat weight (uniformly over one loop).
WEIGHT_SAMPLES = 60


def check_aspect(sv: SpectralVolume, width: int, height: int, motion_name: str = "the motion") -> None:
    """Refuse a motion grid whose aspect ratio differs from the image's by more than 2 %."""
    grid_aspect, image_aspect = sv.width / sv.height, width / height
    if abs(grid_aspect / image_aspect - 1) > ASPECT_TOLERANCE:
        raise InputError(
            f"{motion_name} is for a {sv.width}x{sv.height} grid (aspect {grid_aspect:.3f}) but the image is "
            f"{width}x{height} (aspect {image_aspect:.3f}); motion cannot be stretched without distorting it. "
            "Make motion for this image (`image-dynamics motion procedural IMAGE` or `image-dynamics predict IMAGE`), "
            "or crop the image to the motion's aspect ratio.")


def to_image_pixels(sv: SpectralVolume, width: int, height: int) -> SpectralVolume:
    """Rescale coefficients from grid pixels to image pixels (x by W/w, y by H/h); the grid itself is unchanged."""
    scale = np.array([width / sv.width, height / sv.height], dtype=np.float32).reshape(1, 2, 1, 1)
    return sv.with_(coeffs=(sv.coeffs * scale).astype(np.complex64))


def weight_times(sv: SpectralVolume) -> np.ndarray:
    """Frame times over which the splat weight averages motion: one loop, or until a decaying motion has settled."""
    if sv.decay_s is not None:
        span = 4.6 * sv.decay_s * sv.fps
    else:
        span = float(sv.natural_period_frames())
    return np.linspace(0.0, span, WEIGHT_SAMPLES, endpoint=False)


class FrameRenderer:
    """Renders frames, forward displacement fields and compositor maps of one image under one motion.

    Args:
        image: float32 ``[H, W, C]`` (C = 3 or 4), the input image as stored (sRGB or linear).
        motion: the edited spectral volume, grid pixels, aspect ratio matching the image.
        splat_beta: softmax sharpness per pixel of mean motion.
        guide_sigma: range sigma of the edge-aware upsampling (in guide units, 0..1 for sRGB images).
        linear: the image is scene-linear (EXR): the guide is compressed before colours are compared.
    """

    def __init__(self, image: np.ndarray, motion: SpectralVolume, splat_beta: float = 1.0,
                 guide_sigma: float = 0.1, linear: bool = False) -> None:
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise InputError(f"image must be [H, W, 3 or 4], got shape {image.shape}")
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.height, self.width = image.shape[:2]
        check_aspect(motion, self.width, self.height)
        self.motion = to_image_pixels(motion, self.width, self.height)
        self.splat_beta = float(splat_beta)
        self.upsampler = EdgeAwareUpsampler(self.image[..., :3], (motion.height, motion.width), sigma_color=guide_sigma,
                                            linear_guide=linear)
        self._stacked = spectral.stacked_coeffs(self.motion)
        weight_grid = spectral.mean_motion_magnitude(self.motion, weight_times(self.motion))
        self.importance = self.upsampler.apply(weight_grid[None])[0]

    def grid_displacements(self, times: np.ndarray) -> np.ndarray:
        """Anchored displacement in image pixels on the motion grid, float32 ``[N, 2, h, w]``: one matrix product."""
        basis = spectral.displacement_basis(self.motion, times).astype(np.float32)
        return (basis @ self._stacked).reshape(len(times), 2, self.motion.height, self.motion.width)

    def displacement(self, grid_field: np.ndarray) -> np.ndarray:
        """Forward displacement ``a_t`` at every image pixel, float32 ``[2, H, W]`` (engine convention, y down)."""
        return self.upsampler.apply(grid_field)

    def frame(self, flow: np.ndarray) -> np.ndarray:
        """The image forward-warped by ``flow`` ``[2, H, W]``: float32 ``[H, W, C]``."""
        return render.warp_image(self.image, flow, self.importance, beta=self.splat_beta)

    def compositor_map(self, flow: np.ndarray) -> np.ndarray:
        """Backward map ``v`` with ``v(p + a(p)) = a(p)`` (engine convention, y down), float32 ``[2, H, W]``."""
        return render.compositor_map(flow, self.importance, beta=self.splat_beta)

    def flows(self, times: np.ndarray, chunk: int = 16) -> Iterator[np.ndarray]:
        """Full-resolution forward displacement for each time, streaming: IDFT in chunks, one field held at a time."""
        times = np.asarray(times, dtype=np.float64)
        for start in range(0, len(times), chunk):
            for grid_field in self.grid_displacements(times[start:start + chunk]):
                yield self.displacement(grid_field)

    def frames(self, times: np.ndarray) -> Iterator[np.ndarray]:
        """Rendered frames for each time, streaming."""
        for flow in self.flows(times):
            yield self.frame(flow)
