"""The live preview in Blender (blender_addon/preview.py), driven through the real ``bpy`` module headless.

There is no event loop here (timers do not fire), so the tests drive the frame path directly: ``preview.advance``
renders on this thread and swaps like the timer does; the threaded test calls ``preview.tick`` itself while the
player's worker renders. Bounds asserted are ones that cannot flake (a tick under 100 ms); figures are printed, and
benchmarks/bench_preview.py measures the targets.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402  (ships with bpy)

from image_dynamics import io  # noqa: E402
from image_dynamics.frames import FrameRenderer  # noqa: E402
from image_dynamics.preview import preview_image  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings, plan  # noqa: E402

from .conftest import raise_error  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ADDON = "blender_addon"

from blender_addon import preview  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.xdist_group("blender")]

WIDTH, HEIGHT, PREVIEW_SIDE = 128, 80, 64
START, END, FPS = 1, 12, 24
FRAMES = END - START + 1


def textured(seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    img = np.stack([0.2 + 0.5 * x / WIDTH, 0.5 + 0.3 * np.sin(x / 1.5) * np.cos(y / 2.0),
                    0.2 + 0.5 * y / HEIGHT], axis=-1) + rng.normal(0, 0.1, (HEIGHT, WIDTH, 3))
    img[:4, :6] = (1.0, 0.0, 0.0)  # marker at the top left: a flipped preview would fail
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture
def scene(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    sc = bpy.context.scene
    sc.frame_start, sc.frame_end = START, END
    sc.render.fps, sc.render.fps_base = FPS, 1.0
    settings = sc.image_dynamics
    settings.coherence_px, settings.amplitude_px = 8.0, 6.0
    settings.preview_max_side = PREVIEW_SIDE
    bpy.context.preferences.addons[ADDON].preferences.cache_dir = str(tmp_path / "cache")
    path = io.write_png(tmp_path / "still.png", textured(), "srgb")
    settings.image = bpy.data.images.load(str(path))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    yield sc
    preview.stop()


def shown_pixels(image) -> np.ndarray:
    """The preview image's pixels, top-down RGB float32 [h, w, 3]."""
    width, height = image.size
    flat = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(flat)
    return flat.reshape(height, width, 4)[::-1, :, :3]


def engine_frame(index: int, **edits) -> np.ndarray:
    """The engine's frame at preview size for the scene's settings plus ``edits`` (RenderSettings fields)."""
    pixels = io.read_image(Path(bpy.path.abspath(bpy.context.scene.image_dynamics.image.filepath))).pixels
    settings = bpy.context.scene.image_dynamics
    motion = procedural_motion(pixels, params=ProceduralParams(seed=settings.seed, coherence_px=8.0,
                                                               strength_px=6.0))
    render_plan = plan(motion, RenderSettings(fps=FPS, loop_frames=FRAMES, frames=(0, FRAMES), **edits))
    renderer = FrameRenderer(preview_image(pixels, PREVIEW_SIDE), render_plan.motion)
    flow = renderer.displacement(renderer.grid_displacements(render_plan.times[index:index + 1])[0])
    return renderer.frame(flow)


def due(session, index: int) -> float:
    """A clock time at which the player shows plan frame ``index``."""
    return session.player._started_at + (index + 0.5) / FPS


def test_play_edit_gain_stop(scene):
    assert bpy.ops.image_dynamics.preview_play() == {"FINISHED"}
    session = preview.active()
    assert session is not None and not session.threaded  # background: no worker, advance() drives it
    image = bpy.data.images[session.image_name]
    assert image.name.startswith(preview.PREVIEW_NAME) and tuple(image.size) == (64, 40)
    assert preview.advance(due(session, 5)) == 5
    np.testing.assert_allclose(shown_pixels(image), engine_frame(5), atol=1.01 / 255)  # byte image: rounding
    before = shown_pixels(image).copy()
    assert np.abs(before - engine_frame(0)).mean() > 0.01  # it moved

    scene.image_dynamics.band_gains[0] = 0.0  # damp the slow bands ...
    scene.image_dynamics.band_gains[1] = 0.0
    scene.image_dynamics.strength = 2.0  # ... and magnify the rest
    assert preview.advance(due(session, 5)) == 5
    assert session.swaps[-1] == (5, 1)  # the next swapped frame is the edited one
    gains = tuple(zip((0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), (0.0, 0.0, 1, 1, 1, 1, 1)))
    np.testing.assert_allclose(shown_pixels(image), engine_frame(5, strength=2.0, band_gains=gains), atol=1.01 / 255)
    assert np.abs(shown_pixels(image) - before).mean() > 0.005

    print(f"ticks: {len(session.tick_seconds)}, longest {1000 * max(session.tick_seconds):.2f} ms")
    assert max(session.tick_seconds) < 0.1
    assert bpy.ops.image_dynamics.preview_stop() == {"FINISHED"}
    assert preview.active() is None and session.image_name not in bpy.data.images
    assert session.player.join(10)


def test_threaded_player_swaps_frames_on_ticks(scene):
    session = preview.play(bpy.context, threaded=True)
    image = bpy.data.images[session.image_name]
    deadline = time.monotonic() + 30
    intervals = []
    while len(session.swaps) < 5 and time.monotonic() < deadline:
        intervals.append(preview.tick())
        time.sleep(0.005)
    assert len(session.swaps) >= 5, session.player.error
    assert all(0.001 <= interval <= preview.TICK_S for interval in intervals)  # the timer keeps running
    scene.image_dynamics.strength = 3.0
    interval = preview.tick()  # the edit is sent to the player here
    assert interval <= preview.EDIT_TICK_S or session.swaps[-1][1] == 1  # while it is not shown, ticks come soon
    while session.swaps[-1][1] < 1 and time.monotonic() < deadline:
        preview.tick()
        time.sleep(0.002)
    index, generation = session.swaps[-1]
    assert generation == 1
    np.testing.assert_allclose(shown_pixels(image), engine_frame(index, strength=3.0), atol=1.01 / 255)
    preview.stop()
    assert session.player.join(10)
    print(f"{len(session.swaps)} frames swapped; ticks longest {1000 * max(session.tick_seconds):.2f} ms; "
          f"edit to swapped frame {1000 * session.edit_latency[0]:.1f} ms")
    assert max(session.tick_seconds) < 0.1


def test_file_load_and_image_deletion_stop_the_preview(scene, tmp_path):
    session = preview.play(bpy.context)
    preview.advance()
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "scene.blend"))
    assert preview.active() is None and "another file was loaded" in session.message
    assert preview.status_message() == session.message  # the panel says why
    assert session.player.join(10)

    session = preview.play(bpy.context)
    bpy.data.images.remove(bpy.data.images[session.image_name])
    assert preview.tick() is None
    assert preview.active() is None and "deleted" in session.message


def test_preview_image_is_never_saved(scene, tmp_path):
    session = preview.play(bpy.context)
    preview.advance()
    # a user that would make Blender save it (an Image Editor showing it is one; headless has none)
    bpy.data.images[session.image_name].use_fake_user = True
    saved = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(saved), copy=True)
    assert preview.active() is session and session.image_name in bpy.data.images  # back after the save
    assert preview.advance() is not None
    with bpy.data.libraries.load(str(saved)) as (data_from, _data_to):
        names = list(data_from.images)
    assert "still.png" in names and not any(name.startswith(preview.PREVIEW_NAME) for name in names)


def test_bad_control_keeps_playing_and_says_why(scene):
    session = preview.play(bpy.context)
    preview.advance()
    settings = scene.image_dynamics
    settings.use_low_cut, settings.low_cut_hz = True, 2.5
    settings.use_high_cut, settings.high_cut_hz = True, 1.0
    assert preview.advance() is not None
    assert "Low Cut" in session.message and session.swaps[-1][1] == 0
    settings.high_cut_hz = 3.0
    preview.advance()
    assert session.message == "" and session.swaps[-1][1] == 1


def test_disabling_the_addon_stops_the_preview(scene):
    session = preview.play(bpy.context, threaded=True)
    addon_utils.disable(ADDON, default_set=True)
    try:
        assert preview.active() is None and "disabled" in session.message
        assert session.player.join(10) and not session.player.running
        assert not bpy.app.timers.is_registered(preview.tick)
    finally:
        assert addon_utils.enable(ADDON, default_set=True, handle_error=raise_error) is not None
