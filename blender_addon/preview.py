"""Live preview (Play / Stop): the loop plays in the Image Editor, in a preview image, while the artist edits it.

Play copies the image's buffer (one ``foreach_get``, about 13 ms at 1920x1080; the main thread does nothing else with
it) and starts the engine's :class:`image_dynamics.preview.PreviewPlayer`: its worker thread converts the buffer to
engine pixels, fetches the motion (the add-on's cache: computed once per image and motion settings), renders frames
at the preview size (longest side: Preview Size) at the scene's fps, and converts them to Blender's layout. The main
thread runs only :func:`tick`, a timer every :data:`TICK_S` seconds (or sooner, when the worker's next frame, rendered
ahead, is due) that reads the controls (an edit becomes ``player.update``, no rendering; the worker renders the edited
frame at once) and swaps the newest due frame into the preview image; its duration is recorded.

- Edits that only reshape the motion (strength, band gains, cuts, decay, loop, fps, mask) re-plan the cached
  spectral volume; the motion source never runs again. Procedural parameters and the motion file change the motion
  itself: the player is replaced and its worker computes (or fetches) the new motion. Source, Seed, Steps and
  Guidance are not followed (they mean a new prediction: press Predict, then Play).
- The preview image ("Image Dynamics Preview") is the add-on's, never the artist's; it is removed before every save
  and put back after, so it is never written into the .blend, and removed when the preview stops.
- The preview stops on Stop, when a file is loaded, when the add-on is disabled, and when the preview image is
  deleted.
- ``blender --background`` has no event loop (timers do not fire): Play then starts no thread; :func:`advance`
  renders the due frame on the calling thread and runs :func:`tick`, the same frame path.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import bpy
from bpy.app.handlers import persistent

from . import blender_image, engine, motion
from . import scene as scene_module
from .engine import UserError

# numba's OpenMP threads must sleep between the preview's frames, not spin on the cores Blender's UI needs (read when
# the engine first loads numba, which is after this module is imported: the engine is imported lazily).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PREVIEW_NAME = "Image Dynamics Preview"
#: Seconds between main-thread ticks (swap the newest frame, follow the controls).
TICK_S = 0.01
#: Seconds between ticks while an edit waits for its first frame (a tick costs about 0.2 ms of the main thread).
EDIT_TICK_S = 0.002
#: Procedural controls: a change needs new motion (cheap, but not an edit of the cached volume).
PROCEDURAL = ("dominant_hz", "falloff", "direction", "directionality", "coherence_px", "amplitude_px")


def blender_pixels(frame, is_float: bool):
    """An engine frame (float32 ``[h, w, C]``, top-down, straight alpha) as the flat float32 RGBA sequence, rows
    bottom-up, that ``Image.pixels.foreach_set`` takes; float buffers get premultiplied alpha (the rules of
    :func:`.blender_image.array_to_image`). Runs on the preview's worker thread (one compiled pass, about 0.5 ms at
    960x540), so the main thread only copies it in."""
    from image_dynamics.preview import bottom_up_rgba

    return bottom_up_rgba(frame, premultiply=is_float)


@dataclass(eq=False)
class Session:
    """One playing preview (main thread state).

    Attributes:
        player: the engine's player.
        request: the motion request made on Play, without pixels (new motion settings reuse them).
        pixels: the function returning the source's engine pixels (copied on Play, converted once on a worker);
            image_size: their ``(width, height)``.
        image_name: name of the preview image.
        source_name: the image being animated.
        is_float: the preview image has a float buffer (scene-linear source).
        settings: the RenderSettings last sent to the player; mask_key: (mask image name, feather) last sent.
        motion_key: the procedural parameters and motion file the player's motion was made with.
        threaded: frames are rendered by the player's worker thread (False in background mode).
        tick_seconds: wall-clock duration of every tick; tick_cpu_seconds: the main thread's CPU time in it (the
            difference is time the thread waited: for the GIL, or for a core on a loaded machine);
        swaps: ``(plan index, generation)`` of every frame swapped in;
        edit_latency: seconds from an edit to the tick that swapped in its first frame; edit_rendered: of these, the
            seconds until the worker had published that frame (the rest is the wait for the tick).
        message: the last problem to show (a control that cannot be previewed, a failed frame).
    """

    player: Any
    request: motion.MotionRequest
    pixels: Any
    image_size: tuple[int, int]
    image_name: str
    source_name: str
    is_float: bool
    settings: Any
    mask_key: tuple[str, float]
    motion_key: tuple
    max_side: int
    threaded: bool
    tick_seconds: list[float] = field(default_factory=list)
    tick_cpu_seconds: list[float] = field(default_factory=list)
    swaps: list[tuple[int, int]] = field(default_factory=list)
    edit_latency: list[float] = field(default_factory=list)
    edit_rendered: list[float] = field(default_factory=list)
    message: str = ""
    saving: bool = False


_session: Session | None = None
_stopped_because = ""  # why the last preview stopped by itself (shown in the panel until the next Play)


def active() -> Session | None:
    """The playing preview, if any."""
    return _session


def status_message() -> str:
    """What the panel shows under Play: the playing preview's problem, or why the last one stopped; '' if nothing."""
    return _session.message if _session is not None else _stopped_because


# ----------------------------------------------------------------------------------------------------------------------
# Reading the controls (main thread)


def preview_settings(scene: bpy.types.Scene):
    """The engine RenderSettings the preview plays: the bake's settings at the current frame, except that decaying
    motion plays until it has settled (then starts again) instead of the scene's frame range."""
    settings = scene_module.render_settings(scene, scene_module.loop_length(scene))
    return replace(settings, frames=None) if settings.decay_s is not None else settings


def _motion_key(settings) -> tuple:
    return (settings.motion_source, tuple(float(getattr(settings, name)) for name in PROCEDURAL),
            settings.motion_file)


def _mask_key(settings) -> tuple[str, float]:
    return (settings.mask.name if settings.mask is not None else "", float(settings.mask_feather_px))


def _mask(settings):
    if settings.mask is None:
        return None
    try:
        return blender_image.mask_values(blender_image.check_still(settings.mask))
    except UserError as exc:
        raise UserError(f"Mask: {exc}") from None


def _pixels_source(buffer: blender_image.ImageBuffer):
    """A function returning the engine pixels of ``buffer``, converted once, on the first call (the worker's)."""
    lock, converted = threading.Lock(), []

    def pixels():
        with lock:
            if not converted:
                converted.append(buffer.pixels()[0])
            return converted[0]

    return pixels


def _new_player(request: motion.MotionRequest, pixels, size: tuple[int, int], settings, mask, max_side: int,
                is_float: bool):
    """A player whose worker converts the copied pixels and fetches the motion (``request`` without pixels)."""
    from image_dynamics.jobs import Progress
    from image_dynamics.preview import PreviewPlayer

    def volume():
        return motion.compute(replace(request, pixels=pixels()), Progress()).volume

    return PreviewPlayer(pixels, volume, settings, mask=mask, linear=request.colorspace == "linear",
                         max_side=max_side, image_size=size, convert=lambda frame: blender_pixels(frame, is_float))


def _show(image: bpy.types.Image, replacing: set[str]) -> None:
    """Show ``image`` in every Image Editor that shows nothing or one of ``replacing`` (names)."""
    window_manager = bpy.context.window_manager
    for window in getattr(window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                space = area.spaces.active
                if space.image is None or space.image.name in replacing:
                    space.image = image
                area.tag_redraw()


def _preview_image(session: Session, width: int, height: int) -> bpy.types.Image:
    image = bpy.data.images.new(PREVIEW_NAME, width, height, alpha=True, float_buffer=session.is_float)
    image.use_fake_user = False
    session.image_name = image.name
    return image


# ----------------------------------------------------------------------------------------------------------------------
# Play, tick, stop


def tick_interval(session: Session, now: float | None = None) -> float:
    """Seconds to the next tick: :data:`TICK_S` (how often the controls are read); :data:`EDIT_TICK_S` while an edit
    is not shown yet (the worker renders its frame at once); less when the worker's next frame, rendered ahead, is due
    sooner, so it is swapped in on time (at least 1 ms)."""
    player = session.player
    shown = session.swaps[-1][1] if session.swaps else 0
    interval = EDIT_TICK_S if player.edits > shown else TICK_S
    due = player.next_due()
    if due is None:
        return interval
    now = time.monotonic() if now is None else now
    return min(interval, max(0.001, due - now))


def play(context: bpy.types.Context, image: bpy.types.Image | None = None, threaded: bool | None = None) -> Session:
    """Start previewing ``image`` (default: the sidebar's or the editor's); a playing preview is stopped first.

    :class:`UserError` for what the artist must fix (no image, no model, a bad control). ``threaded`` defaults to
    ``not bpy.app.background``.
    """
    global _session, _stopped_because
    stop()
    _stopped_because = ""
    engine.require()
    scene = context.scene
    settings = scene_module.settings_of(scene)
    image = blender_image.check_still(image or scene_module.source_image(context))
    request = scene_module.motion_request(context, image, copy_pixels=False)
    buffer = blender_image.read_buffer(image)  # the one copy on the main thread; converted on the worker
    pixels, size = _pixels_source(buffer), (buffer.width, buffer.height)
    render_settings = preview_settings(scene)
    mask = _mask(settings)
    max_side = int(settings.preview_max_side)
    is_float = request.colorspace == "linear"
    player = _new_player(request, pixels, size, render_settings, mask, max_side, is_float)
    threaded = not bpy.app.background if threaded is None else threaded
    session = Session(player, request, pixels, size, "", image.name, is_float, render_settings, _mask_key(settings),
                      _motion_key(settings), max_side, threaded)
    preview = _preview_image(session, *player.size)
    _show(preview, {image.name})
    _session = session
    if threaded:
        player.start()
        bpy.app.timers.register(tick, first_interval=0.0, persistent=False)
    return session


def stop(message: str = "") -> str:
    """Stop the preview (any reason): the worker ends after its frame, the preview image is removed and editors
    showing it go back to the source image. Never waits for the worker. Returns ``message``."""
    global _session, _stopped_because
    session, _session = _session, None
    if session is None:
        return message
    _stopped_because = message
    if message:
        print(f"image_dynamics: {message}")
    session.player.stop()
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    image = bpy.data.images.get(session.image_name)
    if image is not None:
        source = bpy.data.images.get(session.source_name)
        window_manager = bpy.context.window_manager
        for window in getattr(window_manager, "windows", ()):
            for area in window.screen.areas:
                if area.type == "IMAGE_EDITOR" and area.spaces.active.image == image:
                    area.spaces.active.image = source
        bpy.data.images.remove(image)
    session.message = message
    return message


def advance(now: float | None = None) -> Any:
    """Background mode (no event loop): render the due frame on this thread, then run :func:`tick`; returns the
    frame swapped in, or ``None`` when the preview stopped."""
    session = _session
    if session is None:
        return None
    _follow_controls(session)
    session.player.step(now)
    tick()
    return session.player.last_index if _session is session else None


def tick() -> float | None:
    """Main-thread timer: follow the controls, swap the newest finished frame into the preview image. Returns the
    interval to the next tick, or ``None`` (timer ends) when the preview stopped."""
    began, began_cpu = time.perf_counter(), time.thread_time()
    session = _session
    if session is None:
        return None
    try:
        if session.saving:
            return TICK_S
        image = bpy.data.images.get(session.image_name)
        if image is None:
            stop("Preview stopped: its image was deleted.")
            return None
        if session.player.error:
            stop(session.player.error)
            return None
        _follow_controls(session)
        frame = session.player.take()
        if frame is not None:
            image.pixels.foreach_set(frame.pixels)
            image.update()
            for window in getattr(bpy.context.window_manager, "windows", ()):
                for area in window.screen.areas:
                    if area.type == "IMAGE_EDITOR":
                        area.tag_redraw()
            if session.swaps and frame.generation > session.swaps[-1][1]:
                session.edit_latency.append(time.monotonic() - frame.edited_at)
                session.edit_rendered.append(frame.rendered_at - frame.edited_at)
            session.swaps.append((frame.index, frame.generation))
        return tick_interval(session)
    finally:
        session.tick_seconds.append(time.perf_counter() - began)
        session.tick_cpu_seconds.append(time.thread_time() - began_cpu)


def _follow_controls(session: Session) -> None:
    """Send changed controls to the player (cheap: property reads and a comparison; no rendering here)."""
    from image_dynamics.errors import ImageDynamicsError

    scene = bpy.context.scene
    settings = scene_module.settings_of(scene)
    try:
        render_settings = preview_settings(scene)
        max_side = int(settings.preview_max_side)
        motion_key = _motion_key(settings)
        if motion_key != session.motion_key or max_side != session.max_side:
            _replace_player(session, settings, render_settings, motion_key, max_side)
            return
        mask_key = _mask_key(settings)
        if mask_key[0] != session.mask_key[0]:
            session.player.update(render_settings, mask=_mask(settings))
        elif render_settings != session.settings:
            session.player.update(render_settings)
        else:
            return
        session.settings, session.mask_key, session.message = render_settings, mask_key, ""
    except (UserError, ImageDynamicsError) as exc:  # e.g. low cut above high cut: keep the last good settings
        session.message = str(exc)


def _replace_player(session: Session, settings, render_settings, motion_key: tuple, max_side: int) -> None:
    """New motion (procedural parameters, motion file) or size: a new player from the pixels copied on Play."""
    if settings.motion_source != session.request.source:
        raise UserError("The motion source changed: press Predict, then Play, to preview the new motion.")
    request = session.request
    if request.source == "PROCEDURAL":
        request = replace(request, procedural=scene_module.procedural_params(settings))
    elif request.source == "FILE":
        request = scene_module.motion_request(bpy.context, bpy.data.images[session.source_name], copy_pixels=False)
    old = session.player
    player = _new_player(request, session.pixels, session.image_size, render_settings, _mask(settings), max_side,
                         session.is_float)
    old.stop()
    if max_side != session.max_side:
        image = bpy.data.images.get(session.image_name)
        if image is not None and tuple(image.size) != player.size:
            image.scale(*player.size)
    session.player, session.request, session.motion_key, session.max_side = player, request, motion_key, max_side
    session.settings, session.mask_key = render_settings, _mask_key(settings)
    if session.threaded:
        player.start()


# ----------------------------------------------------------------------------------------------------------------------
# Handlers: never save the preview image, stop on file load


@persistent
def _on_load_pre(*_args) -> None:
    stop("Preview stopped: another file was loaded.")


@persistent
def _on_save_pre(*_args) -> None:
    session = _session
    if session is None:
        return
    session.saving = True
    image = bpy.data.images.get(session.image_name)
    if image is not None:
        bpy.data.images.remove(image)


@persistent
def _on_save_post(*_args) -> None:
    session = _session
    if session is None:
        return
    image = _preview_image(session, *session.player.size)
    _show(image, set())
    session.saving = False


HANDLERS = (("load_pre", _on_load_pre), ("save_pre", _on_save_pre), ("save_post", _on_save_post))


def register() -> None:
    for name, handler in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if handler not in handlers:
            handlers.append(handler)


def unregister() -> None:
    stop("Preview stopped: the add-on was disabled.")
    for name, handler in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if handler in handlers:
            handlers.remove(handler)


# ----------------------------------------------------------------------------------------------------------------------
# Operators


class IMAGE_DYNAMICS_OT_preview_play(bpy.types.Operator):
    """Play the loop live in the Image Editor at Preview Size; edits show at once (the motion is not recomputed)"""

    bl_idname = "image_dynamics.preview_play"
    bl_label = "Play Preview"

    def execute(self, context):
        try:
            session = play(context)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        width, height = session.player.size
        self.report({"INFO"}, f"Previewing '{session.source_name}' at {width}x{height} in '{session.image_name}'")
        return {"FINISHED"}


class IMAGE_DYNAMICS_OT_preview_stop(bpy.types.Operator):
    """Stop the live preview and remove its image"""

    bl_idname = "image_dynamics.preview_stop"
    bl_label = "Stop Preview"

    @classmethod
    def poll(cls, context):
        return _session is not None

    def execute(self, context):
        stop()
        return {"FINISHED"}


classes = (IMAGE_DYNAMICS_OT_preview_play, IMAGE_DYNAMICS_OT_preview_stop)
