"""Live preview: a player that renders a loop's frames at a preview size on a worker thread and re-plans on every edit.

The motion (spectral volume) is computed once and cached by the caller; an edit (strength, band gains, cuts, decay,
loop length, fps, mask) never re-runs the motion source, and costs a few milliseconds besides the frame, because the
edits are linear in the coefficients:

- the timing and amplitude edits of :func:`image_dynamics.settings.plan` map the K input bands to the plan's bands by
  a real matrix ``A [K', K]`` (per-band gains, cuts and strength on the diagonal, bands merged onto loop harmonics).
  ``A`` is read off by running ``plan`` itself on a *probe* volume of K pixels whose pixel k holds 1 in band k, so the
  preview follows every rule of the engine's planner without re-implementing one;
- the mask is a per-pixel factor, applied once per mask to the cached volume, whose coefficients are then kept stacked
  (``[2K, 2hw]``, real parts then imaginary parts) and scaled from grid pixels to preview pixels;
- the edited coefficients are never formed: frame ``t``'s displacement on the grid is ``(b_t M) @ stacked`` where
  ``b_t [2K']`` is the plan's inverse-DFT weights and ``M = [[A, 0], [0, A]]``, a ``[2K]`` vector per frame;
- the edit's splat weight (GID's mean motion magnitude over 60 frames of the loop) is computed from the same vectors
  by one compiled pass (:func:`image_dynamics.preview_kernels.mean_magnitude`) and upsampled; only the warper's
  softmax weights are made anew.

The result equals the engine's frames of the image resized to the preview size (``plan`` then
:class:`~image_dynamics.frames.FrameRenderer`) up to float32 rounding (tested to within 1e-4 per pixel). The upsampler,
which depends on the image only, is built once per player.

Threads: :meth:`PreviewPlayer.start` runs a daemon worker. After an edit it renders the frame due now at once and
publishes it; otherwise it renders the *next* frame ahead of time and queues it with its due time, so a frame is ready
when it is due (:meth:`~PreviewPlayer.take` hands out the newest frame whose time has come). A host's UI thread only
calls :meth:`~PreviewPlayer.update` (records the edit, O(1)), :meth:`~PreviewPlayer.take` and
:meth:`~PreviewPlayer.next_due` (O(1)) and :meth:`~PreviewPlayer.stop`; none of them waits for rendering. Without a
worker (tests, ``blender --background``) :meth:`~PreviewPlayer.step` renders one frame on the calling thread: the same
frame path. numba's parallel kernels run under :data:`image_dynamics.render.PARALLEL_LOCK`, so a preview and a bake on
other threads take turns frame by frame.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import edits, preview_kernels, render, spectral
from .errors import ImageDynamicsError, InputError
from .frames import check_aspect, weight_times
from .settings import RenderPlan, RenderSettings, plan, validate_settings
from .spectral import SpectralVolume
from .upsample import EdgeAwareUpsampler, grid_shape_for, resize_area

#: Longest side of the preview frames, in pixels, unless the player is told otherwise.
DEFAULT_MAX_SIDE = 960
#: Marks "keep the current mask" in :meth:`PreviewPlayer.update`.
_UNCHANGED = object()
#: Frames the worker renders ahead of their time (besides the one due now).
AHEAD = 1


def preview_size(width: int, height: int, max_side: int = DEFAULT_MAX_SIDE) -> tuple[int, int]:
    """``(width, height)`` of the preview of a ``width x height`` image: longest side ``max_side``, aspect kept,
    never enlarged (the rule of :func:`~image_dynamics.upsample.grid_shape_for`)."""
    rows, columns = grid_shape_for(width, height, max_side)
    return columns, rows


def preview_image(image: np.ndarray, max_side: int = DEFAULT_MAX_SIDE) -> np.ndarray:
    """The image area-averaged to its preview size: float32 ``[h, w, C]`` (a copy even when no smaller).

    RGBA is averaged premultiplied and un-premultiplied after, so transparent pixels lend no colour to the edges.
    """
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"preview image must be [H, W, 3 or 4] (rows, columns, channels), got shape {arr.shape}.")
    width, height = preview_size(arr.shape[1], arr.shape[0], max_side)
    if (width, height) == (arr.shape[1], arr.shape[0]):
        return arr.copy()
    if arr.shape[2] == 3:
        return resize_area(arr, (height, width))
    premultiplied = np.concatenate([arr[..., :3] * arr[..., 3:], arr[..., 3:]], axis=2)
    small = resize_area(premultiplied, (height, width))
    alpha = small[..., 3:]
    np.divide(small[..., :3], alpha, out=small[..., :3], where=alpha > 0)
    small[..., :3][alpha[..., 0] <= 0] = 0.0
    return small


def bottom_up_rgba(frame: np.ndarray, premultiply: bool = False) -> np.ndarray:
    """An engine frame (float32 ``[h, w, 3 or 4]``, rows top-down, straight alpha) as the flat float32 RGBA
    sequence with rows bottom-up that Blender's ``Image.pixels.foreach_set`` (and an OpenGL texture) takes: alpha 1
    for RGB; colour times alpha when ``premultiply`` (Blender's float buffers). About 0.5 ms at 960x540."""
    arr = np.ascontiguousarray(frame, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"frame must be [H, W, 3 or 4] (rows, columns, channels), got shape {arr.shape}.")
    out = np.empty((arr.shape[0], arr.shape[1], 4), dtype=np.float32)
    with render.PARALLEL_LOCK:
        preview_kernels.pack_rgba_bottom_up(arr, out, bool(premultiply))
    return out.reshape(-1)


def _checked_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"preview image must be float [H, W, 3 or 4], got {image.dtype} {image.shape}.")
    return image


def _probe(volume: SpectralVolume) -> SpectralVolume:
    """A K-pixel volume with the input's bands, fps and meta: pixel k holds 1 (x component) in band k, 0 elsewhere."""
    bands = volume.num_bands
    coeffs = np.zeros((bands, 2, 1, bands), dtype=np.complex64)
    coeffs[np.arange(bands), 0, 0, np.arange(bands)] = 1.0
    return volume.with_(coeffs=coeffs, flow=None)


@dataclass(frozen=True)
class FastPlan:
    """A plan for ``settings`` as :func:`~image_dynamics.settings.plan` makes it, found through the probe.

    Attributes:
        render_plan: the plan of the probe volume: frame numbers, times, fps, loop length, and the edited motion's
            frequencies, fps, decay and meta (its coefficients are the probe's).
        band_matrix: float32 ``[K', K]``: plan band ``h`` = sum over input bands ``k`` of ``band_matrix[h, k]`` times
            band ``k`` (gains, cuts, strength, harmonic merging).
    """

    render_plan: RenderPlan
    band_matrix: np.ndarray

    @classmethod
    def make(cls, volume: SpectralVolume, settings: RenderSettings) -> FastPlan:
        probe_plan = plan(_probe(volume), settings)
        matrix = probe_plan.motion.coeffs[:, 0, 0, :]
        return cls(probe_plan, np.ascontiguousarray(matrix.real, dtype=np.float32))

    @property
    def mix(self) -> np.ndarray:
        """float64 ``[2K', 2K]`` ``[[A, 0], [0, A]]``: the plan's stacked coefficients from the input's."""
        bands_out, bands = self.band_matrix.shape
        mix = np.zeros((2 * bands_out, 2 * bands), dtype=np.float64)
        mix[:bands_out, :bands] = self.band_matrix
        mix[bands_out:, bands:] = self.band_matrix
        return mix

    def time_weights(self, times: np.ndarray) -> np.ndarray:
        """float32 ``[N, 2K]``: frame ``n``'s displacement is ``time_weights[n] @ stacked`` (the input's stacked
        coefficients, :func:`~image_dynamics.spectral.stacked_coeffs`), anchored, decayed and edited as planned."""
        basis = spectral.displacement_basis(self.render_plan.motion, times)
        return (basis @ self.mix).astype(np.float32)

    def motion(self, stacked: np.ndarray, height: int, width: int) -> SpectralVolume:
        """The plan's edited volume from the stacked (masked) input coefficients ``[2K, 2 h w]``
        (:func:`~image_dynamics.spectral.stacked_coeffs`)."""
        bands = self.band_matrix.shape[1]
        real = self.band_matrix @ stacked[:bands]
        imag = self.band_matrix @ stacked[bands:]
        coeffs = np.empty(real.shape, dtype=np.complex64)
        coeffs.real, coeffs.imag = real, imag
        shape = (self.band_matrix.shape[0], 2, height, width)
        return self.render_plan.motion.with_(coeffs=coeffs.reshape(shape))


def mean_motion_magnitude(fast: FastPlan, stacked: np.ndarray, height: int, width: int) -> np.ndarray:
    """GID's splat weight of the planned motion on its grid, float32 ``[h, w]`` (the pixels of ``stacked``).

    Equals :func:`image_dynamics.spectral.mean_motion_magnitude` of the plan's motion over
    :func:`~image_dynamics.frames.weight_times` up to float32 rounding, without forming the edited motion.

    Args:
        fast: the plan.
        stacked: float32 ``[2K, 2 h w]`` input coefficients (already in the pixels the weight is wanted in).
        height, width: the grid.
    """
    weights = np.ascontiguousarray(fast.time_weights(weight_times(fast.render_plan.motion)))
    out = np.empty(height * width, dtype=np.float32)
    with render.PARALLEL_LOCK:
        preview_kernels.mean_magnitude(weights, stacked.reshape(stacked.shape[0], 2, height * width), out)
    return out.reshape(height, width)


@dataclass(frozen=True, eq=False)
class PreviewFrame:
    """A finished preview frame.

    Attributes:
        index: position in the plan (0 = the input image); the loop's frame ``index`` or the decay's.
        pixels: float32 ``[h, w, C]`` engine frame, or what the player's ``convert`` made of it.
        generation: how many edits (:meth:`PreviewPlayer.update` calls) the frame reflects.
        edited_at: clock time (s) of the newest edit it reflects (the player's start for generation 0).
        rendered_at: clock time (s) when it was published.
        render_seconds: time spent making it (re-planning after an edit included).
        due_at: clock time (s) from which :meth:`PreviewPlayer.take` hands it out (``-inf``: at once).
    """

    index: int
    pixels: np.ndarray
    generation: int
    edited_at: float
    rendered_at: float
    render_seconds: float
    due_at: float = -math.inf


class PreviewPlayer:
    """Plays an image's edited motion at a preview size; edits re-plan without re-running the motion source.

    Args:
        image: float32 ``[H, W, C]`` (C = 3 or 4, straight alpha), the full-resolution image as stored, or a callable
            returning it, called on the first frame (a host's pixel conversion then runs on the worker thread);
            a callable needs ``image_size``.
        motion: its (unedited) spectral volume, or a callable returning it, called on the first frame (on the worker
            thread once started): a host can hand over a motion that is still to be loaded from its cache.
        settings: the edits and timing; ``frames`` limits the played range (``None``: one loop, or until a decaying
            motion has settled); ``splat_beta`` and ``mask_feather_px`` as in a render.
        mask: optional ``[h, w]`` motion mask in 0..1 (image aspect ratio), as for a render.
        linear: the image is scene-linear (EXR).
        max_side: longest side of the preview in pixels.
        convert: optional function of an engine frame (float32 ``[h, w, C]``) run on the rendering thread, e.g. the
            host's pixel layout (:func:`bottom_up_rgba`); its result is what :meth:`take` hands out.
        clock: monotonic time in seconds (tests pass a fake clock).
        image_size: ``(width, height)`` of the image in pixels; required when ``image`` is a callable (the player's
            size is known before its pixels), checked against the array otherwise.
    """

    def __init__(self, image: np.ndarray | Callable[[], np.ndarray],
                 motion: SpectralVolume | Callable[[], SpectralVolume], settings: RenderSettings | None = None, *,
                 mask: np.ndarray | None = None, linear: bool = False, max_side: int = DEFAULT_MAX_SIDE,
                 convert: Callable[[np.ndarray], np.ndarray] | None = None,
                 clock: Callable[[], float] = time.monotonic, image_size: tuple[int, int] | None = None) -> None:
        if callable(image):
            if image_size is None or len(image_size) != 2 or min(int(v) for v in image_size) < 1:
                raise InputError(f"a preview image given as a function needs image_size=(width, height), got "
                                 f"{image_size!r}.")
            self.full_size = (int(image_size[0]), int(image_size[1]))
        else:
            image = _checked_image(image)
            self.full_size = (int(image.shape[1]), int(image.shape[0]))
            if image_size is not None and tuple(image_size) != self.full_size:
                raise InputError(f"image_size {tuple(image_size)} is not the image's {self.full_size}.")
        if not isinstance(max_side, (int, np.integer)) or max_side < 2:
            raise InputError(f"preview size (longest side) must be a whole number of pixels >= 2, got {max_side!r}.")
        settings = settings or RenderSettings()
        validate_settings(settings)
        self.size = preview_size(*self.full_size, int(max_side))
        self.linear = bool(linear)
        self.convert = convert
        self.clock = clock
        self._source_image = image
        self._motion_source = motion
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: tuple[RenderSettings, object, float] | None = None
        self._edits = 0
        self._settings = settings
        self._mask = mask
        # prepared on the rendering thread (first step)
        self._image: np.ndarray | None = None
        self._volume: SpectralVolume | None = None
        self._upsampler: EdgeAwareUpsampler | None = None
        self._stacked: np.ndarray | None = None  # masked input coefficients in preview pixels, [2K, 2hw]
        self._plan: FastPlan | None = None
        self._warper: render.Warper | None = None
        self._generation = 0
        self._edited_at = clock()
        self._started_at = clock()
        self._ready: deque[PreviewFrame] = deque()  # published frames not taken, in due order
        self.last_index = -1
        self.error: str | None = None
        self.frames_rendered = 0

    # -- host side (any thread; O(1), never waits for rendering) ------------------------------------------------------

    def update(self, settings: RenderSettings | None = None, mask: object = _UNCHANGED) -> None:
        """Record an edit; the next frame rendered reflects it. Bad settings raise :class:`InputError` here.

        ``settings`` replaces all edits and timing (``None``: unchanged); ``mask`` replaces the mask (``None``
        removes it; omitted: unchanged). Only the newest of several edits made before a frame is rendered is applied.
        """
        if settings is not None:
            validate_settings(settings)
        now = self.clock()
        with self._lock:
            previous = self._pending
            base_settings = previous[0] if previous else self._settings
            base_mask = previous[1] if previous else _UNCHANGED
            self._pending = (settings or base_settings, base_mask if mask is _UNCHANGED else mask, now)
            self._edits += 1
        self._wake.set()

    def take(self, now: float | None = None) -> PreviewFrame | None:
        """The newest published frame whose time has come (at clock time ``now``) and that was not taken before, or
        ``None``; older ones are dropped. A host calling this is done with the frame it took before."""
        now = self.clock() if now is None else now
        frame = None
        with self._lock:
            while self._ready and self._ready[0].due_at <= now:
                frame = self._ready.popleft()
        return frame

    def next_due(self) -> float | None:
        """Clock time at which the next published frame is due (a host may wait until then), or ``None``."""
        with self._lock:
            return self._ready[0].due_at if self._ready else None

    @property
    def edits(self) -> int:
        """Number of :meth:`update` calls so far (a frame's ``generation`` reaches it once the edit is shown)."""
        return self._edits

    @property
    def running(self) -> bool:
        """The worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> PreviewPlayer:
        """Start the worker thread (playing begins at frame 0)."""
        if self._thread is not None:
            raise RuntimeError("this preview player was already started; make a new one to play again")
        self._started_at = self.clock()
        self._thread = threading.Thread(target=self._run, name="image_dynamics: preview", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the worker to end after the frame it is rendering; returns at once (see :meth:`join`)."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True if it has (or never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # -- rendering side: the worker's thread once started, else the caller's (never both) ------------------------------

    @property
    def render_plan(self) -> RenderPlan | None:
        """The probe plan in use (frame numbers, times, fps, loop length), once the first frame was rendered."""
        return self._plan.render_plan if self._plan is not None else None

    @property
    def preview_pixels(self) -> np.ndarray | None:
        """The preview-size image (float32 ``[h, w, C]``), once prepared."""
        return self._image

    def frame_count(self) -> int:
        """Frames in one cycle of the preview: the loop's length, or until a decaying motion has settled."""
        self._apply_pending()
        return len(self._plan.render_plan.times)

    def _tick(self, now: float) -> int:
        """Frame periods since the start (or a decay's restart) at clock time ``now``, not wrapped."""
        return int(max(0.0, now - self._started_at) * self._plan.render_plan.fps)

    def _due_time(self, tick: int) -> float:
        return self._started_at + tick / self._plan.render_plan.fps

    def due_index(self, now: float | None = None) -> int:
        """The plan index due at clock time ``now``: the player's fps from its start (or a decay's restart)."""
        self._apply_pending()
        return self._tick(self.clock() if now is None else now) % len(self._plan.render_plan.times)

    def render_index(self, index: int) -> np.ndarray:
        """The engine frame at plan index ``index`` with the current edits: float32 ``[h, w, C]`` (no ``convert``)."""
        self._apply_pending()
        times = self._plan.render_plan.times
        if not 0 <= index < len(times):
            raise InputError(f"preview frame index {index} is outside the plan's {len(times)} frames.")
        weights = self._plan.time_weights(times[index:index + 1])[0]
        grid = (weights @ self._stacked).reshape(2, self._volume.height, self._volume.width)
        return self._warper.warp_grid(grid, self._upsampler)

    def step(self, now: float | None = None) -> PreviewFrame:
        """Apply the newest edit, render the frame due at ``now`` and publish it for :meth:`take` at once; returns
        it."""
        began = time.perf_counter()
        self._apply_pending()
        index = self.due_index(now)
        return self._publish(index, began, -math.inf, replace_queue=True)

    def _publish(self, index: int, began: float, due_at: float, replace_queue: bool) -> PreviewFrame:
        pixels = self.render_index(index)
        if self.convert is not None:
            pixels = self.convert(pixels)
        frame = PreviewFrame(index, pixels, self._generation, self._edited_at, self.clock(),
                             time.perf_counter() - began, due_at)
        with self._lock:
            if replace_queue:
                self._ready.clear()
            self._ready.append(frame)
        self.last_index = index
        self.frames_rendered += 1
        return frame

    def _prepare(self) -> None:
        if self._volume is not None:
            return
        volume = self._motion_source() if callable(self._motion_source) else self._motion_source
        if not isinstance(volume, SpectralVolume):
            raise InputError(f"preview motion must be a SpectralVolume, got {type(volume).__name__}.")
        check_aspect(volume, *self.full_size)
        if volume.flow is not None:
            raise InputError("this motion holds a flow field (travelling motion), which the live preview does not play "
                             "yet; bake the loop to see it, or preview a motion without flow.")
        image = self._source_image
        if callable(image):
            image = _checked_image(image())
            if (image.shape[1], image.shape[0]) != self.full_size:
                raise InputError(f"the preview's image is {image.shape[1]}x{image.shape[0]} pixels, not the "
                                 f"{self.full_size[0]}x{self.full_size[1]} it was announced as.")
        self._image = preview_image(image, max(self.size))
        self._source_image = None  # the full-resolution pixels are no longer needed
        check_aspect(volume, *self.size)
        self._upsampler = EdgeAwareUpsampler(self._image[..., :3], (volume.height, volume.width),
                                             linear_guide=self.linear)
        self._volume = volume
        self._set_mask(self._mask)
        self._set_settings(self._settings, restart=False)

    def _set_mask(self, mask: np.ndarray | None) -> None:
        """The masked coefficients, stacked and scaled from grid pixels to preview pixels (x by w'/w, y by h'/h)."""
        masked = self._volume if mask is None else edits.apply_mask(self._volume, mask, self._settings.mask_feather_px)
        self._mask = mask
        stacked = spectral.stacked_coeffs(masked)
        planes = stacked.reshape(stacked.shape[0], 2, -1)
        planes[:, 0] *= np.float32(self.size[0] / self._volume.width)
        planes[:, 1] *= np.float32(self.size[1] / self._volume.height)
        self._stacked = stacked

    def _set_settings(self, settings: RenderSettings, restart: bool) -> None:
        fast = FastPlan.make(self._volume, settings)
        weight_grid = mean_motion_magnitude(fast, self._stacked, self._volume.height, self._volume.width)
        importance = self._upsampler.apply(weight_grid[None])[0]
        self._warper = render.Warper(self._image, importance, beta=settings.splat_beta)
        self._plan = fast
        self._settings = settings
        if restart:
            self._started_at = self.clock()

    def _apply_pending(self) -> bool:
        """Prepare on the first call, then apply the newest edit if any; True if one was applied."""
        self._prepare()
        with self._lock:
            pending, self._pending, generation = self._pending, None, self._edits
        if pending is None:
            return False
        settings, mask, edited_at = pending
        feather_changed = settings.mask_feather_px != self._settings.mask_feather_px
        if mask is not _UNCHANGED or (feather_changed and self._mask is not None):
            self._settings = replace(self._settings, mask_feather_px=settings.mask_feather_px)
            self._set_mask(self._mask if mask is _UNCHANGED else mask)
        decaying = settings.decay_s is not None
        self._set_settings(settings, restart=decaying)
        self._generation, self._edited_at = generation, edited_at
        return True

    def _run(self) -> None:
        """The worker: the frame due now at once after an edit (or when late), else the next frame ahead of time."""
        try:
            next_tick = None  # the tick of the next frame to render
            while not self._stop.is_set():
                self._wake.clear()  # an edit arriving while a frame renders wakes the wait below at once
                began = time.perf_counter()
                edited = self._apply_pending()
                now_tick = self._tick(self.clock())
                if edited or next_tick is None or next_tick <= now_tick:  # edit, first frame, or late: at once
                    tick = now_tick
                    self._publish(tick % len(self._plan.render_plan.times), began, -math.inf, replace_queue=True)
                else:
                    tick = next_tick
                    self._publish(tick % len(self._plan.render_plan.times), began, self._due_time(tick),
                                  replace_queue=False)
                next_tick = tick + 1
                if self._stop.is_set():
                    break
                # sleep until the frame before the next one is due, so at most AHEAD frames wait in the queue
                self._wake.wait(max(0.0, self._due_time(next_tick - AHEAD) - self.clock()))
        except ImageDynamicsError as exc:
            self.error = str(exc)
        except MemoryError:
            self.error = "Preview: out of memory; use a smaller preview size."
        except Exception as exc:  # noqa: BLE001 - a host shows this line; the traceback goes to the console
            traceback.print_exc()
            self.error = f"Preview: internal error {type(exc).__name__}: {exc}"
