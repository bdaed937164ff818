"""Frames of an animated loop at full image resolution from a spectral volume at model resolution.

Per frame: the anchored displacement is evaluated by inverse DFT on the volume's own grid (cheap: K x 2 x h x w),
upsampled edge-aware to the image (guided by the image so motion stays inside objects), and the image is forward-warped
by softmax splatting with GID's weight ``W(p) = mean_t |a_t(p)|``. Full-resolution coefficients are never materialised
(docs/conventions.md, Resolution).

Animated amplitude edits (strength, band gains keyframed over a shot) are per-frame, per-band gains ``G [N, K]``
multiplying the inverse-DFT basis: ``a_t = sum_k G[t, k] (B[t, k] Re S_k + B[t, K + k] Im S_k)``. The splat weight
stays the one of the un-animated motion: it orders occlusion (what moves more stays in front), and recomputing it per
frame from the animated amplitude would make that order, and so the picture, flicker.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import render, spectral
from .errors import InputError
from .spectral import SpectralVolume
from .upsample import EdgeAwareUpsampler, grid_shape_for

#: Largest relative difference of aspect ratio between motion grid and image that is resampled rather than refused.
ASPECT_TOLERANCE = 0.02
#: Frames of motion averaged for the splat weight (uniformly over one loop).
WEIGHT_SAMPLES = 60


def check_aspect(sv: SpectralVolume, width: int, height: int, motion_name: str = "the motion") -> None:
    """Refuse a motion grid whose aspect ratio differs from the image's by more than 2 %."""
    grid_aspect, image_aspect = sv.width / sv.height, width / height
    # a very wide or tall image's grid rounds its short side to a few pixels, far from the image's aspect ratio;
    # the grid this program makes for such an image is still its grid
    made_for_it = (sv.height, sv.width) == grid_shape_for(width, height, max(sv.width, sv.height))
    if abs(grid_aspect / image_aspect - 1) > ASPECT_TOLERANCE and not made_for_it:
        raise InputError(
            f"{motion_name} is for a {sv.width}x{sv.height} grid (aspect {grid_aspect:.3f}) but the image is "
            f"{width}x{height} (aspect {image_aspect:.3f}); motion cannot be stretched without distorting it. "
            "Make motion for this image (`image-dynamics motion procedural IMAGE` or `image-dynamics predict IMAGE`), "
            "or crop the image to the motion's aspect ratio.")


def to_image_pixels(sv: SpectralVolume, width: int, height: int) -> SpectralVolume:
    """Rescale coefficients from grid pixels to image pixels (x by W/w, y by H/h); the grid itself is unchanged."""
    scale = np.array([width / sv.width, height / sv.height], dtype=np.float32).reshape(1, 2, 1, 1)
    return sv.with_(coeffs=(sv.coeffs * scale).astype(np.complex64))


def validate_frame_gains(frame_gains: np.ndarray | None, num_frames: int, num_bands: int) -> np.ndarray | None:
    """Check per-frame band gains and return them as float64 ``[num_frames, num_bands]`` (``None`` stays ``None``).

    Raises :class:`InputError` unless ``frame_gains`` is a real ``[num_frames, num_bands]`` array of finite values
    ``>= 0``; the message names the first bad frame (row) and band (column).
    """
    if frame_gains is None:
        return None
    gains = np.asarray(frame_gains)
    if gains.shape != (num_frames, num_bands):
        raise InputError(f"frame_gains must have shape [frames, bands] = [{num_frames}, {num_bands}] (one gain per "
                         f"rendered frame and band of the motion), got {gains.shape}.")
    if not (np.issubdtype(gains.dtype, np.number) or gains.dtype == bool) or np.iscomplexobj(gains):
        raise InputError(f"frame_gains must hold real numbers, got dtype {gains.dtype}.")
    gains = gains.astype(np.float64)
    bad = ~np.isfinite(gains) | (gains < 0)
    if bad.any():
        frame, band = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"frame_gains at frame {frame}, band {band} is {gains[frame, band]:g}; gains must be finite "
                         "and >= 0 (0 removes a band, 1 keeps it).")
    return gains


def gained_basis(sv: SpectralVolume, times: np.ndarray, frame_gains: np.ndarray | None = None) -> np.ndarray:
    """:func:`spectral.displacement_basis` with band ``k``'s columns (``k`` and ``K + k``) of row ``n`` multiplied by
    ``frame_gains[n, k]``: float32 ``[N, 2K]``. ``None`` gives the plain basis, unchanged."""
    basis = spectral.displacement_basis(sv, times)
    if frame_gains is not None:
        gains = validate_frame_gains(frame_gains, basis.shape[0], sv.num_bands)
        basis = basis * np.concatenate([gains, gains], axis=1)
    return basis.astype(np.float32)


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
        upsampler: an upsampler already built for this image, grid shape, ``guide_sigma`` and ``linear`` (a preview
            re-creates the renderer on every edit; the upsampler depends on none of the edits); ``None`` builds one.
    """

    def __init__(self, image: np.ndarray, motion: SpectralVolume, splat_beta: float = 1.0,
                 guide_sigma: float = 0.1, linear: bool = False, upsampler: EdgeAwareUpsampler | None = None) -> None:
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise InputError(f"image must be [H, W, 3 or 4], got shape {image.shape}")
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.height, self.width = image.shape[:2]
        check_aspect(motion, self.width, self.height)
        self.motion = to_image_pixels(motion, self.width, self.height)
        self.splat_beta = float(splat_beta)
        if upsampler is not None and (upsampler.full_shape != (self.height, self.width)
                                      or upsampler.grid_shape != (motion.height, motion.width)):
            raise InputError(f"upsampler is for a {upsampler.grid_shape} grid and a {upsampler.full_shape} image, not "
                             f"{(motion.height, motion.width)} and {(self.height, self.width)}.")
        self.upsampler = upsampler or EdgeAwareUpsampler(self.image[..., :3], (motion.height, motion.width),
                                                         sigma_color=guide_sigma, linear_guide=linear)
        self._stacked = spectral.stacked_coeffs(self.motion)
        weight_grid = spectral.mean_motion_magnitude(self.motion, weight_times(self.motion))
        self.importance = self.upsampler.apply(weight_grid[None])[0]
        self.warper = render.Warper(self.image, self.importance, beta=self.splat_beta)

    def grid_displacements(self, times: np.ndarray, frame_gains: np.ndarray | None = None,
                           basis: np.ndarray | None = None) -> np.ndarray:
        """Anchored displacement in image pixels on the motion grid, float32 ``[N, 2, h, w]``.

        ``frame_gains``: optional float ``[N, K]``, band ``k`` of frame ``n`` scaled by ``frame_gains[n, k]``
        (animated strength and band gains); ``None`` renders the motion as it is.
        ``basis``: optional float ``[N, 2K]`` weights of ``[Re S; Im S]`` used instead of the inverse DFT's (modal
        dynamics, :meth:`image_dynamics.modal.ModalResponse.render_basis`); ``frame_gains`` then still scale it.

        Each frame is summed over its ``2K`` basis terms in one fixed order, not by a matrix product over all ``N``
        frames at once: a BLAS product may sum in an order that depends on how many rows it is given, so a frame
        rendered in a farm chunk (``--frames A:B``) would differ in the last bit from the same frame of a full render.
        """
        if basis is None:
            basis = gained_basis(self.motion, times, frame_gains)
        else:
            basis = np.asarray(basis, dtype=np.float32)
            if basis.shape != (len(times), 2 * self.motion.num_bands):
                raise InputError(f"basis must have shape [frames, 2 x bands] = [{len(times)}, "
                                 f"{2 * self.motion.num_bands}], got {basis.shape}.")
            gains = validate_frame_gains(frame_gains, len(times), self.motion.num_bands)
            if gains is not None:
                basis = basis * np.concatenate([gains, gains], axis=1).astype(np.float32)
        out = np.empty((basis.shape[0], self._stacked.shape[1]), dtype=np.float32)
        for row, weights in zip(out, basis):
            np.multiply(self._stacked[0], weights[0], out=row)
            for term in range(1, weights.size):
                row += weights[term] * self._stacked[term]
        return out.reshape(len(times), 2, self.motion.height, self.motion.width)

    def displacement(self, grid_field: np.ndarray) -> np.ndarray:
        """Forward displacement ``a_t`` at every image pixel, float32 ``[2, H, W]`` (engine convention, y down)."""
        return self.upsampler.apply(grid_field)

    def frame(self, flow: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The image forward-warped by ``flow`` ``[2, H, W]``: float32 ``[H, W, C]`` (into ``out`` when given).

        Equal, bit for bit, to ``render.warp_image(self.image, flow, self.importance, beta=self.splat_beta)``.
        """
        return self.warper.warp(flow, out)

    def frame_from_grid(self, grid_field: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``frame(displacement(grid_field))`` without a new full-resolution flow per frame (the preview's path)."""
        return self.warper.warp_grid(grid_field, self.upsampler, out)

    def compositor_map(self, flow: np.ndarray) -> np.ndarray:
        """Backward map ``v`` with ``v(p + a(p)) = a(p)`` (engine convention, y down), float32 ``[2, H, W]``, its
        sample points kept inside the picture (:func:`render.samples_inside`: no edge holes in any compositor)."""
        return render.samples_inside(render.compositor_map(flow, self.importance, beta=self.splat_beta))

    def flows(self, times: np.ndarray, frame_gains: np.ndarray | None = None,
              chunk: int = 16, basis: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Full-resolution forward displacement for each time, streaming: IDFT in chunks, one field held at a time.

        ``frame_gains``: optional float ``[N, K]`` per-frame band gains; ``basis``: optional ``[N, 2K]`` weights
        replacing the inverse DFT's (see :meth:`grid_displacements`).
        """
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        gains = validate_frame_gains(frame_gains, times.size, self.motion.num_bands)
        for start in range(0, len(times), chunk):
            part = None if gains is None else gains[start:start + chunk]
            rows = None if basis is None else basis[start:start + chunk]
            for grid_field in self.grid_displacements(times[start:start + chunk], part, rows):
                yield self.displacement(grid_field)

    def frames(self, times: np.ndarray, frame_gains: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Rendered frames for each time, streaming (``frame_gains`` as in :meth:`flows`)."""
        for flow in self.flows(times, frame_gains):
            yield self.frame(flow)
