"""Flow: texture that travels (waterfalls, rivers, drifting clouds, smoke) as a seamless loop.

Everything else the engine animates oscillates about the still; flow does not come back, so a loop has to be closed by
*symmetric splatting* (Holynski et al., CVPR 2021, "Animating Pictures with Eulerian Motion Fields";
docs/conventions.md, motion beyond oscillation).

Conventions (docs/conventions.md):

- the **velocity field** ``v`` is float32 ``[2, h, w]`` on the coefficients' grid of a spectral volume
  (``SpectralVolume.flow``), in *grid* pixels per second, component 0 = x (right), 1 = y (down). It is scaled to image
  pixels as coefficients are (x by ``W / w``, y by ``H / h``) and upsampled with the frame renderer's edge-aware
  upsampler.
- **Euler integration** of a static field, ``n`` steps of ``dt`` seconds (one step per output frame)::

      F_0(p) = 0,   F_{n+1}(p) = F_n(p) + dt * v(p + F_n(p))      (v sampled bilinearly, borders replicated)

  ``F_n`` says where the texture at ``p`` has travelled after ``n`` frames (a forward displacement). ``B_n`` is the same
  integration of ``-v``: where the texture came from.
- **Symmetric splatting** over a loop of ``L`` frames: step ``s`` (0..L) splats the image twice, forward by
  ``a_t + F_s`` with weight ``1 - s / L`` and backward by ``a_t + B_{L-s}`` with weight ``s / L``, into one accumulator
  (the renderer's softmax splat), then normalises and fills holes (the renderer's push-pull). Frame ``L`` is frame 0
  (forward weight 0, ``B_0 = 0``), both textures move at ``v`` in every frame, the seam included, and a pixel is a hole
  only where both warps left it uncovered: never inside a region longer than the field's travel over the loop.
- **Flow and oscillation add**: each warp moves a pixel by its flow displacement plus the anchored oscillation ``a_t``.
- **Compositing**: ``frame = m * flow_layer + (1 - m) * oscillation_frame`` with ``m`` the feathered flow mask at image
  resolution (without a mask: where the upsampled field is non-zero). Pixels with ``m = 0`` are the oscillation frame
  itself, bit for bit (the still where nothing oscillates).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import render
from .edits import mask_on_grid
from .errors import InputError
from .frames import FrameRenderer
from .settings import RenderPlan
from .spectral import SpectralVolume

#: Largest number of Euler steps (frames in one loop) kept per direction; bounds memory at (L + 1) fields per direction.
MAX_LOOP_FRAMES = 100_000


def check_velocity(flow: np.ndarray, height: int, width: int, name: str = "flow") -> np.ndarray:
    """A velocity field as C-contiguous float32 ``[2, height, width]`` (grid pixels per second), or :class:`InputError`.

    Refuses another shape, a non-real dtype and NaN or infinite values, naming ``name``.
    """
    arr = np.asarray(flow)
    if arr.shape != (2, height, width):
        raise InputError(f"{name} must be a velocity field [2, H, W] = [2, {height}, {width}] (x then y, grid pixels "
                         f"per second) on the motion grid, got shape {arr.shape}.")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} must hold real numbers (pixels per second), got dtype {arr.dtype}.")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise InputError(f"{name} holds {int(np.count_nonzero(~np.isfinite(arr)))} NaN or infinite values; "
                         "give finite speeds.")
    return arr


def sample_bilinear(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``field`` float ``[C, h, w]`` at grid positions ``x``, ``y`` (any equal shapes ``S``).

    Positions are in grid pixels (cell centres at integers); outside the grid the border cells are replicated.
    Returns float32 ``[C, *S]``.
    """
    channels, height, width = field.shape
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, width - 1.0)
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, height - 1.0)
    x0, y0 = x.astype(np.intp), y.astype(np.intp)  # non-negative after clipping: truncation is floor
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    # flat indices of the 4 taps; the +1 neighbour is clamped at the last row/column (its weight is 0 there anyway)
    i00 = y0 * width + x0
    dx = (x0 < width - 1).astype(np.intp)
    dy = (y0 < height - 1).astype(np.intp) * width
    flat = np.asarray(field, dtype=np.float32).reshape(channels, -1)
    out = np.empty((channels,) + x.shape, dtype=np.float32)
    for c in range(channels):
        plane = flat[c]
        top = plane[i00] + (plane[i00 + dx] - plane[i00]) * fx
        bottom = plane[i00 + dy] + (plane[i00 + dy + dx] - plane[i00 + dy]) * fx
        out[c] = top + (bottom - top) * fy
    return out


def velocity_at(flow: np.ndarray, x: float, y: float, image_size: tuple[int, int]) -> tuple[float, float]:
    """The velocity in *image* pixels per second at image position ``(x, y)`` (pixels, origin top-left).

    Args:
        flow: float ``[2, h, w]`` velocity in grid pixels per second.
        x, y: image position; pixel centres at integers (cv2's convention, as the upsampler uses).
        image_size: ``(W, H)`` of the image.
    """
    width, height = image_size
    grid_h, grid_w = flow.shape[1:]
    gx, gy = (x + 0.5) * grid_w / width - 0.5, (y + 0.5) * grid_h / height - 0.5
    vx, vy = sample_bilinear(flow, np.array([gx]), np.array([gy]))[:, 0]
    return float(vx) * width / grid_w, float(vy) * height / grid_h


def euler_displacements(velocity: np.ndarray, steps: int, dt_s: float) -> np.ndarray:
    """Euler-integrated displacements of a static field: float32 ``[steps + 1, 2, h, w]`` in grid pixels.

    Args:
        velocity: float ``[2, h, w]`` grid pixels per second (x right, y down).
        steps: number of Euler steps ``n`` (>= 0).
        dt_s: seconds per step (> 0).

    Returns:
        ``F[0] = 0`` and ``F[n + 1](p) = F[n](p) + dt * v(p + F[n](p))``: where the texture at grid cell ``p`` has
        travelled after ``n`` steps. A constant field gives exactly ``n * dt * v``.
    """
    velocity = check_velocity(velocity, *np.asarray(velocity).shape[1:], name="velocity")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or not 0 <= steps <= MAX_LOOP_FRAMES:
        raise InputError(f"steps must be a whole number in 0..{MAX_LOOP_FRAMES}, got {steps!r}.")
    if not (isinstance(dt_s, numbers.Real) and math.isfinite(dt_s) and dt_s > 0):
        raise InputError(f"dt_s (seconds per step) must be a positive number, got {dt_s!r}.")
    height, width = velocity.shape[1:]
    out = np.zeros((int(steps) + 1, 2, height, width), dtype=np.float32)
    grid = np.mgrid[0:height, 0:width].astype(np.float64)[::-1]  # (x, y) of every cell
    for n in range(int(steps)):
        out[n + 1] = _euler_step(velocity, out[n], grid, np.float32(dt_s))
    return out


def _euler_step(velocity: np.ndarray, current: np.ndarray, grid: np.ndarray, dt: np.float32) -> np.ndarray:
    """``F + dt v(p + F)`` for one step (float32 ``[2, h, w]``); ``grid`` is float64 ``[2, h, w]`` cell (x, y)."""
    if not current.any():
        return dt * velocity  # v(p + 0) = v(p): skips one sampling and keeps a constant field exact
    return current + dt * sample_bilinear(velocity, grid[0] + current[0], grid[1] + current[1])


class EulerPath:
    """``F_n`` of :func:`euler_displacements` for any ``n`` in ``0..steps`` without keeping all ``steps + 1`` fields.

    One pass stores every ``C``-th field (``C = ceil(sqrt(steps + 1))``); a request recomputes the ``C`` fields of its
    segment from the checkpoint below it and keeps that segment, so memory is about ``2 sqrt(steps)`` fields and a
    loop rendered in order (or in reverse) costs about two integrations. Results are bit-identical to
    :func:`euler_displacements` (the same steps in the same order).

    Args:
        velocity: float ``[2, h, w]`` grid pixels per second.
        steps: the largest ``n`` asked for.
        dt_s: seconds per step.
    """

    def __init__(self, velocity: np.ndarray, steps: int, dt_s: float) -> None:
        euler_displacements(np.zeros((2, 1, 1), np.float32), steps, dt_s)  # the same argument checks
        self.velocity = check_velocity(velocity, *np.asarray(velocity).shape[1:], name="velocity")
        self.steps, self.dt = int(steps), np.float32(dt_s)
        height, width = self.velocity.shape[1:]
        self._grid = np.mgrid[0:height, 0:width].astype(np.float64)[::-1]
        self.every = max(1, math.ceil(math.sqrt(self.steps + 1)))
        self._checkpoints: dict[int, np.ndarray] = {0: np.zeros((2, height, width), dtype=np.float32)}
        current = self._checkpoints[0]
        for n in range(self.steps):
            current = _euler_step(self.velocity, current, self._grid, self.dt)
            if (n + 1) % self.every == 0:
                self._checkpoints[n + 1] = current
        self._segment: tuple[int, list[np.ndarray]] | None = None

    def __call__(self, n: int) -> np.ndarray:
        """float32 ``[2, h, w]`` ``F_n`` in grid pixels (do not modify it)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 0 <= n <= self.steps:
            raise InputError(f"step must be a whole number in 0..{self.steps}, got {n!r}.")
        start = (int(n) // self.every) * self.every
        if self._segment is None or self._segment[0] != start:
            fields = [self._checkpoints[start]]
            for _ in range(min(self.every, self.steps - start + 1) - 1):
                fields.append(_euler_step(self.velocity, fields[-1], self._grid, self.dt))
            self._segment = (start, fields)
        return self._segment[1][int(n) - start]


@dataclass(frozen=True)
class FlowFields:
    """The displacements of one output frame, image resolution, image pixels (engine convention, y down).

    Attributes:
        step: ``s`` in ``0..L``, frames since the loop started.
        oscillation: float32 ``[2, H, W]``, the anchored oscillation ``a_t`` (zeros when nothing oscillates).
        forward: float32 ``[2, H, W]`` ``a_t + F_s``, or ``None`` when its weight ``1 - s / L`` is 0.
        backward: float32 ``[2, H, W]`` ``a_t + B_{L-s}``, or ``None`` when its weight ``s / L`` is 0.
        backward_weight: ``s / L``.
    """

    step: int
    oscillation: np.ndarray
    forward: np.ndarray | None
    backward: np.ndarray | None
    backward_weight: float


class FlowRenderer:
    """Frames of one image under a flow field plus the oscillation of a spectral volume, as a loop of ``L`` frames.

    Args:
        image: float32 ``[H, W, C]`` (C = 3 or 4), the input image as stored.
        motion: the edited spectral volume (grid pixels) holding ``flow`` (grid pixels per second); its coefficients
            may all be zero (pure flow).
        loop_frames: ``L``, output frames in one loop (frame ``L`` repeats frame 0), >= 2.
        seconds_per_frame: seconds of motion between output frames (``1 / fps``, or ``1 / (fps * slow_motion)``).
        flow_mask: optional ``[h', w']`` values in 0..1 (1 = flows) with the image's aspect ratio; ``None`` composites
            where the upsampled field is non-zero.
        flow_feather_px: Gaussian feather of ``flow_mask`` in image pixels.
        splat_beta, guide_sigma, linear: as :class:`~image_dynamics.frames.FrameRenderer`.

    Memory: about ``4 sqrt(L)`` grid fields (float32 ``2 h w``, 295 kB each on a 256x144 grid) for the integrated
    displacements (:class:`EulerPath`, both directions), plus what the frame renderer holds.
    """

    def __init__(self, image: np.ndarray, motion: SpectralVolume, loop_frames: int, seconds_per_frame: float,
                 flow_mask: np.ndarray | None = None, flow_feather_px: float = 0.0, splat_beta: float = 1.0,
                 guide_sigma: float = 0.1, linear: bool = False) -> None:
        if motion.flow is None:
            raise InputError("this motion holds no flow field; make one with `image-dynamics motion flow` or give "
                             "--arrows / --drift.")
        if loop_frames is None:
            raise InputError("flow needs a loop: a decaying motion (--decay) has no loop length; leave out --decay "
                             "when the motion holds a flow.")
        if isinstance(loop_frames, bool) or not isinstance(loop_frames, numbers.Integral) or \
                not 2 <= loop_frames <= MAX_LOOP_FRAMES:
            raise InputError(f"loop_frames must be a whole number of frames in 2..{MAX_LOOP_FRAMES}, "
                             f"got {loop_frames!r}.")
        if not (isinstance(seconds_per_frame, numbers.Real) and math.isfinite(seconds_per_frame)
                and seconds_per_frame > 0):
            raise InputError(f"seconds_per_frame must be a positive number, got {seconds_per_frame!r}.")
        self.base = FrameRenderer(image, motion, splat_beta=splat_beta, guide_sigma=guide_sigma, linear=linear)
        self.image = self.base.image
        self.height, self.width = self.base.height, self.base.width
        self.loop_frames = int(loop_frames)
        self.seconds_per_frame = float(seconds_per_frame)
        self.velocity = check_velocity(motion.flow, motion.height, motion.width)
        self._to_image = np.array([self.width / motion.width, self.height / motion.height],
                                  dtype=np.float32).reshape(2, 1, 1)
        if flow_mask is None:
            speed = self.base.displacement(self.velocity * self._to_image)
            self.mask = (np.hypot(speed[0], speed[1]) > 0).astype(np.float32)
        else:
            self.mask = mask_on_grid(flow_mask, self.width, self.height, flow_feather_px,
                                     source_size=(self.width, self.height), name="flow mask")
        rows, cols = np.nonzero(self.mask.any(axis=1))[0], np.nonzero(self.mask.any(axis=0))[0]
        self._box = None if rows.size == 0 else (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        self._box_mask = None if self._box is None else np.ascontiguousarray(self.mask[self._box][..., None])
        self._paths: tuple[EulerPath, EulerPath] | None = None

    # -- integration ----------------------------------------------------------------------------------------------

    def integrated(self) -> tuple[EulerPath, EulerPath]:
        """The forward (``v``) and backward (``-v``) Euler paths over one loop, grid pixels (made on first use)."""
        if self._paths is None:
            self._paths = (EulerPath(self.velocity, self.loop_frames, self.seconds_per_frame),
                           EulerPath(-self.velocity, self.loop_frames, self.seconds_per_frame))
        return self._paths

    def steps_of(self, times: np.ndarray) -> np.ndarray:
        """Loop step of each frame time, int64 ``[N]``: output frame ``n = t / (fps_motion * seconds_per_frame)``
        (``times`` in frames of the motion's fps, as ``RenderPlan.times``), step ``n mod L``."""
        frames = np.asarray(times, dtype=np.float64) / (self.base.motion.fps * self.seconds_per_frame)
        return np.mod(np.rint(frames).astype(np.int64), self.loop_frames)

    def fields(self, step: int, oscillation_grid: np.ndarray) -> FlowFields:
        """Image-resolution displacements of loop step ``step`` (0..L inclusive) with the grid oscillation
        ``oscillation_grid`` float ``[2, h, w]`` in image pixels (from :meth:`FrameRenderer.grid_displacements`)."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not 0 <= step <= self.loop_frames:
            raise InputError(f"step must be a whole number in 0..{self.loop_frames}, got {step!r}.")
        forward_path, backward_path = self.integrated()
        weight = step / self.loop_frames
        oscillates = bool(np.any(oscillation_grid))
        zero = np.zeros((2, self.height, self.width), dtype=np.float32)
        oscillation = self.base.displacement(oscillation_grid) if oscillates else zero
        forward = None if weight == 1.0 else \
            self.base.displacement(oscillation_grid + forward_path(step) * self._to_image)
        backward = None if weight == 0.0 else \
            self.base.displacement(oscillation_grid + backward_path(self.loop_frames - step) * self._to_image)
        return FlowFields(int(step), oscillation, forward, backward, float(weight))

    # -- rendering ------------------------------------------------------------------------------------------------

    def flows(self, times: np.ndarray, frame_gains: np.ndarray | None = None,
              basis: np.ndarray | None = None) -> Iterator[FlowFields]:
        """The fields of each output frame, streaming (the same call as :meth:`FrameRenderer.flows`).

        Args:
            times: float ``[N]`` times in frames of the motion's fps (``RenderPlan.times``): the oscillation's time,
                and the flow's loop step (:meth:`steps_of`).
            frame_gains: optional ``[N, K]`` per-frame band gains of the oscillation.
            basis: must be ``None``: modal dynamics (a basis replacing the loop) does not loop, flow does.
        """
        if basis is not None:
            raise InputError("a flow cannot be combined with interactive (modal) dynamics, which does not loop; "
                             "render the flow and the dynamics separately.")
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        steps = self.steps_of(times)
        for start in range(0, times.size, 16):
            part = None if frame_gains is None else np.asarray(frame_gains)[start:start + 16]
            grids = self.base.grid_displacements(times[start:start + 16], part)
            for step, grid in zip(steps[start:start + 16], grids, strict=True):
                yield self.fields(int(step), grid)

    def region(self, fields: FlowFields) -> tuple[slice, slice]:
        """Rows and columns the flow layer of ``fields`` is rendered on: the flow mask's bounding box grown by the
        largest displacement of either warp plus 2 pixels (the splat's bilinear taps), so no source outside it can
        land inside the box. The whole image when the mask is empty."""
        if self._box is None:
            return slice(0, self.height), slice(0, self.width)
        reach = max(float(np.abs(f).max()) for f in (fields.forward, fields.backward) if f is not None)
        margin = int(math.ceil(reach)) + 2
        rows, cols = self._box
        return (slice(max(0, rows.start - margin), min(self.height, rows.stop + margin)),
                slice(max(0, cols.start - margin), min(self.width, cols.stop + margin)))

    def symmetric_splat(self, fields: FlowFields,
                        region: tuple[slice, slice] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The un-normalised symmetric splat of the image (premultiplied when RGBA): ``(accum [h, w, C],
        weight_sum [h, w])`` over ``region`` (rows, columns; default the whole image: sources and targets outside it
        are left out). Pixels with ``weight_sum == 0`` are the ones hole filling will invent."""
        region = region or (slice(0, self.height), slice(0, self.width))
        values = _premultiplied(self.image[region])
        importance = self.base.importance[region]
        accum: np.ndarray | None = None
        weight_sum: np.ndarray | None = None
        for weight, field in ((1.0 - fields.backward_weight, fields.forward),
                              (fields.backward_weight, fields.backward)):
            if field is None or weight == 0.0:
                continue
            part, part_weight = render.softmax_splat(values, field[(slice(None), *region)], importance,
                                                     self.base.splat_beta)
            scale = part.dtype.type(weight)
            part *= scale
            part_weight *= scale
            if accum is None:
                accum, weight_sum = part, part_weight
            else:
                accum += part
                weight_sum += part_weight
        assert accum is not None and weight_sum is not None  # at least one of the two weights is positive
        return accum, weight_sum

    def flow_layer(self, fields: FlowFields, region: tuple[slice, slice] | None = None) -> np.ndarray:
        """The image moved by flow plus oscillation over ``region`` (default: the whole image), float32
        ``[h, w, C]``, holes filled (before compositing)."""
        region = region or (slice(0, self.height), slice(0, self.width))
        terms = [f for f in (fields.forward, fields.backward) if f is not None]
        if len(terms) == 1:
            # one warp alone (loop start and end): the renderer's own path, bit-exact when nothing moves
            return render.warp_image(self.image[region], terms[0][(slice(None), *region)],
                                     self.base.importance[region], beta=self.base.splat_beta)
        accum, weight_sum = self.symmetric_splat(fields, region)
        out = render.fill_holes(accum, weight_sum)
        if out.shape[2] == 4:
            _unpremultiply(out)
        return out

    def frame(self, fields: FlowFields) -> np.ndarray:
        """The output frame: the flow layer composited over the oscillation frame by the flow mask, float32
        ``[H, W, C]``. Where the mask is 0 the result is the oscillation frame bit for bit.

        The flow layer is rendered only over :meth:`region` (a river across a fifth of the picture costs a fifth of a
        full splat); covered pixels are the same as a whole-image render, holes are filled from the region.
        """
        base = self.base.frame(fields.oscillation)
        if self._box is None:
            return base
        rows, cols = region = self.region(fields)
        layer = self.flow_layer(fields, region)
        box_rows, box_cols = self._box
        inner = (slice(box_rows.start - rows.start, box_rows.stop - rows.start),
                 slice(box_cols.start - cols.start, box_cols.stop - cols.start))
        # base + m (layer - base) inside the mask's bounding box; m = 0 adds exactly 0, so those pixels keep base
        box = base[self._box]
        box += self._box_mask * (layer[inner] - box)
        return base

    def frames(self, times: np.ndarray, frame_gains: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Rendered frames, streaming (arguments as :meth:`flows`)."""
        for fields in self.flows(times, frame_gains):
            yield self.frame(fields)

    def compositor_map(self, fields: FlowFields) -> np.ndarray:
        """Refused: a flow frame blends two warps, so no single displacement map reproduces it."""
        raise InputError("displacement maps cannot be written for a motion that holds a flow (each frame blends two "
                         "warps, which no single map reproduces); write frames, or leave out the flow.")


def renderer_for_plan(image: np.ndarray, render_plan: RenderPlan, flow_mask: np.ndarray | None = None,
                      flow_feather_px: float = 0.0, splat_beta: float = 1.0, linear: bool = False,
                      displacement: tuple[str, ...] = ()) -> FlowRenderer:
    """A :class:`FlowRenderer` for a render plan whose motion holds a flow.

    The loop is the plan's ``loop_frames``; seconds per output frame come from the plan's own timing (its motion loops
    every ``natural_period_frames`` frames of ``motion.fps``, which is ``loop_frames`` output frames). Refuses
    displacement outputs (``displacement`` kinds, see :meth:`FlowRenderer.compositor_map`), a decaying motion and a
    modal-dynamics basis, each in one line, before anything is rendered.
    """
    if displacement:
        raise InputError(f"--displacement {','.join(displacement)} cannot be written for a motion that holds a flow "
                         "(each flow frame blends two warps, which no single map reproduces); write frames only.")
    if render_plan.loop_frames is None:
        raise InputError("flow needs a loop: leave out --decay when the motion holds a flow.")
    if getattr(render_plan, "basis", None) is not None:
        raise InputError("a flow cannot be combined with interactive (modal) dynamics, which does not loop; "
                         "render the flow and the dynamics separately.")
    motion = render_plan.motion
    seconds = motion.natural_period_frames() / motion.fps / render_plan.loop_frames
    return FlowRenderer(image, motion, render_plan.loop_frames, seconds, flow_mask=flow_mask,
                        flow_feather_px=flow_feather_px, splat_beta=splat_beta, linear=linear)


def _premultiplied(image: np.ndarray) -> np.ndarray:
    if image.shape[2] != 4:
        return image
    alpha = image[..., 3:]
    return np.ascontiguousarray(np.concatenate([image[..., :3] * alpha, alpha], axis=2))


def _unpremultiply(image: np.ndarray) -> None:
    alpha = image[..., 3:]
    np.divide(image[..., :3], alpha, out=image[..., :3], where=alpha > 0)
    image[..., :3][alpha[..., 0] <= 0] = 0.0
