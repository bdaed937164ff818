"""Live preview: a player that renders a loop's frames at a preview size on a worker thread and re-plans on every edit.

The motion (spectral volume) is computed once and cached by the caller; an edit (strength, band gains, cuts, decay,
loop length, fps, mask) never re-runs the motion source. It costs one small re-plan and a new frame renderer at the
preview size, tens of milliseconds, because the edits are linear in the coefficients:

- the timing and amplitude edits of :func:`image_dynamics.settings.plan` map the K input bands to the plan's bands by
  a real matrix ``A [K', K]`` (per-band gains, cuts and strength on the diagonal, bands merged onto loop harmonics).
  ``A`` is read off by running ``plan`` itself on a *probe* volume of K pixels whose pixel k holds 1 in band k, so the
  preview follows every rule of the engine's planner without re-implementing one;
- the mask is a per-pixel factor, applied once per mask to the cached volume;
- the plan's coefficients are then ``A`` applied to the masked volume: one ``[2K', 2K] x [2K, 2hw]`` product.

The result equals ``plan(volume, settings, mask).motion`` up to float32 rounding (the engine multiplies band by band
in another order), and the frames are rendered by the engine's own :class:`~image_dynamics.frames.FrameRenderer` at
the preview size, so a preview frame is the engine's frame of the image resized to the preview size (tested to
within 1e-4 per pixel). The upsampler, which depends on the image only, is built once per player.

Threads: :meth:`PreviewPlayer.start` runs a daemon worker that renders the frame due at the player's clock, publishes
it, and sleeps until the next frame is due or an edit arrives. A host's UI thread only calls :meth:`~PreviewPlayer.
update` (records the edit, O(1)), :meth:`~PreviewPlayer.take` (the newest finished frame, O(1)) and
:meth:`~PreviewPlayer.stop`; none of them waits for rendering. Without a worker (tests, ``blender --background``)
:meth:`~PreviewPlayer.step` renders one frame on the calling thread: the same frame path. numba's parallel kernels run
under :data:`image_dynamics.render.PARALLEL_LOCK`, so a preview and a bake on other threads take turns frame by frame.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import edits, spectral
from .errors import ImageDynamicsError, InputError
from .frames import FrameRenderer, check_aspect
from .settings import RenderPlan, RenderSettings, plan, validate_settings
from .spectral import SpectralVolume
from .upsample import EdgeAwareUpsampler, grid_shape_for, resize_area

#: Longest side of the preview frames, in pixels, unless the player is told otherwise.
DEFAULT_MAX_SIDE = 960
#: Marks "keep the current mask" in :meth:`PreviewPlayer.update`.
_UNCHANGED = object()


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
    """

    index: int
    pixels: np.ndarray
    generation: int
    edited_at: float
    rendered_at: float
    render_seconds: float


class PreviewPlayer:
    """Plays an image's edited motion at a preview size; edits re-plan without re-running the motion source.

    Args:
        image: float32 ``[H, W, C]`` (C = 3 or 4, straight alpha), the full-resolution image as stored.
        motion: its (unedited) spectral volume, or a callable returning it, called on the first frame (on the worker
            thread once started): a host can hand over a motion that is still to be loaded from its cache.
        settings: the edits and timing; ``frames`` limits the played range (``None``: one loop, or until a decaying
            motion has settled); ``splat_beta`` and ``mask_feather_px`` as in a render.
        mask: optional ``[h, w]`` motion mask in 0..1 (image aspect ratio), as for a render.
        linear: the image is scene-linear (EXR).
        max_side: longest side of the preview in pixels.
        convert: optional function of an engine frame (float32 ``[h, w, C]``) run on the rendering thread, e.g. the
            host's pixel layout; its result is what :meth:`take` hands out.
        clock: monotonic time in seconds (tests pass a fake clock).
    """

    def __init__(self, image: np.ndarray, motion: SpectralVolume | Callable[[], SpectralVolume],
                 settings: RenderSettings | None = None, *, mask: np.ndarray | None = None, linear: bool = False,
                 max_side: int = DEFAULT_MAX_SIDE, convert: Callable[[np.ndarray], np.ndarray] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] not in (3, 4) or not np.issubdtype(image.dtype, np.floating):
            raise InputError(f"preview image must be float [H, W, 3 or 4], got {image.dtype} {image.shape}.")
        if not isinstance(max_side, (int, np.integer)) or max_side < 2:
            raise InputError(f"preview size (longest side) must be a whole number of pixels >= 2, got {max_side!r}.")
        settings = settings or RenderSettings()
        validate_settings(settings)
        self.full_size = (int(image.shape[1]), int(image.shape[0]))
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
        self._stacked: np.ndarray | None = None  # masked input coefficients, [2K, 2hw]
        self._plan: FastPlan | None = None
        self._renderer: FrameRenderer | None = None
        self._generation = 0
        self._edited_at = clock()
        self._started_at = clock()
        self._latest: PreviewFrame | None = None
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

    def take(self) -> PreviewFrame | None:
        """The newest finished frame not taken before, or ``None``."""
        with self._lock:
            frame, self._latest = self._latest, None
        return frame

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
    def renderer(self) -> FrameRenderer | None:
        """The frame renderer of the current edit (preview-size image, edited motion)."""
        return self._renderer

    @property
    def preview_pixels(self) -> np.ndarray | None:
        """The preview-size image (float32 ``[h, w, C]``), once prepared."""
        return self._image

    def frame_count(self) -> int:
        """Frames in one cycle of the preview: the loop's length, or until a decaying motion has settled."""
        self._apply_pending()
        return len(self._plan.render_plan.times)

    def due_index(self, now: float | None = None) -> int:
        """The plan index due at clock time ``now``: the player's fps from its start (or a decay's restart)."""
        self._apply_pending()
        render_plan = self._plan.render_plan
        now = self.clock() if now is None else now
        elapsed = max(0.0, now - self._started_at)
        return int(elapsed * render_plan.fps) % len(render_plan.times)

    def render_index(self, index: int) -> np.ndarray:
        """The engine frame at plan index ``index`` with the current edits: float32 ``[h, w, C]`` (no ``convert``)."""
        self._apply_pending()
        times = self._plan.render_plan.times
        if not 0 <= index < len(times):
            raise InputError(f"preview frame index {index} is outside the plan's {len(times)} frames.")
        grid = self._renderer.grid_displacements(times[index:index + 1])[0]
        return self._renderer.frame_from_grid(grid)

    def step(self, now: float | None = None) -> PreviewFrame:
        """Apply the newest edit, render the frame due at ``now`` and publish it for :meth:`take`; returns it."""
        began = time.perf_counter()
        self._apply_pending()
        index = self.due_index(now)
        pixels = self.render_index(index)
        if self.convert is not None:
            pixels = self.convert(pixels)
        frame = PreviewFrame(index, pixels, self._generation, self._edited_at, self.clock(),
                             time.perf_counter() - began)
        with self._lock:
            self._latest = frame
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
        self._image = preview_image(self._source_image, max(self.size))
        self._source_image = None  # the full-resolution pixels are no longer needed
        self._upsampler = EdgeAwareUpsampler(self._image[..., :3], (volume.height, volume.width),
                                             linear_guide=self.linear)
        self._volume = volume
        self._set_mask(self._mask)
        self._set_settings(self._settings, restart=False)

    def _set_mask(self, mask: np.ndarray | None) -> None:
        masked = self._volume if mask is None else edits.apply_mask(self._volume, mask, self._settings.mask_feather_px)
        self._mask = mask
        self._stacked = spectral.stacked_coeffs(masked)

    def _set_settings(self, settings: RenderSettings, restart: bool) -> None:
        fast = FastPlan.make(self._volume, settings)
        motion = fast.motion(self._stacked, self._volume.height, self._volume.width)
        self._renderer = FrameRenderer(self._image, motion, splat_beta=settings.splat_beta, linear=self.linear,
                                       upsampler=self._upsampler)
        self._plan = fast
        self._settings = settings
        if restart:
            self._started_at = self.clock()

    def _apply_pending(self) -> None:
        self._prepare()
        with self._lock:
            pending, self._pending, generation = self._pending, None, self._edits
        if pending is None:
            return
        settings, mask, edited_at = pending
        feather_changed = settings.mask_feather_px != self._settings.mask_feather_px
        if mask is not _UNCHANGED or (feather_changed and self._mask is not None):
            self._settings = replace(self._settings, mask_feather_px=settings.mask_feather_px)
            self._set_mask(self._mask if mask is _UNCHANGED else mask)
        decaying = settings.decay_s is not None
        self._set_settings(settings, restart=decaying)
        self._generation, self._edited_at = generation, edited_at

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()  # an edit arriving while this frame renders wakes the wait below at once
                self.step()
                if self._stop.is_set():
                    break
                fps = self._plan.render_plan.fps
                elapsed = max(0.0, self.clock() - self._started_at)
                next_due = self._started_at + (int(elapsed * fps) + 1) / fps
                self._wake.wait(max(0.0, next_due - self.clock()))
        except ImageDynamicsError as exc:
            self.error = str(exc)
        except MemoryError:
            self.error = "Preview: out of memory; use a smaller preview size."
        except Exception as exc:  # noqa: BLE001 - a host shows this line; the traceback goes to the console
            traceback.print_exc()
            self.error = f"Preview: internal error {type(exc).__name__}: {exc}"
