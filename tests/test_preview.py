"""The live-preview player: fast re-planning, frames equal to the engine's at preview size, edits, threads, errors.

Timing is printed, never asserted beyond bounds that cannot flake (other tests share the 2 cores); benchmarks/
bench_preview.py measures the targets.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from image_dynamics import settings as st
from image_dynamics.errors import InputError
from image_dynamics.frames import FrameRenderer
from image_dynamics.preview import FastPlan, PreviewPlayer, preview_image, preview_size
from image_dynamics.procedural import ProceduralParams, procedural_motion

WIDTH, HEIGHT, MAX_SIDE = 120, 80, 60


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    image = np.stack([xx / WIDTH, yy / HEIGHT, 0.5 + 0.5 * np.sin(xx / 2) * np.cos(yy / 3)], axis=2)
    image = (0.6 * image + 0.4 * rng.random(image.shape)).clip(0, 1).astype(np.float32)  # texture that shows motion
    motion = procedural_motion(image, params=ProceduralParams(strength_px=8.0, seed=3))
    return image, motion


def engine_frame(image, motion, settings, index, mask=None):
    """The engine's own frame at preview size: plan, FrameRenderer on the preview-size image, plain frame path."""
    render_plan = st.plan(motion, settings, mask=mask)
    renderer = FrameRenderer(preview_image(image, MAX_SIDE), render_plan.motion, splat_beta=settings.splat_beta)
    flow = renderer.displacement(renderer.grid_displacements(render_plan.times[index:index + 1])[0])
    return renderer.frame(flow), render_plan


def test_preview_size_keeps_aspect_and_never_enlarges():
    assert preview_size(1920, 1080) == (960, 540)
    assert preview_size(1080, 1920) == (540, 960)
    assert preview_size(800, 600) == (800, 600)
    assert preview_size(4000, 3000, 100) == (100, 75)


def test_preview_image_averages_rgba_premultiplied():
    image = np.zeros((4, 4, 4), dtype=np.float32)
    image[:, :2] = [1.0, 0.0, 0.0, 1.0]  # opaque red on the left
    image[:, 2:] = [0.0, 1.0, 0.0, 0.0]  # transparent "green" on the right must lend no colour
    small = preview_image(image, 2)
    assert small.shape == (2, 2, 4)
    np.testing.assert_allclose(small[:, 0], [[1.0, 0.0, 0.0, 1.0]] * 2)
    np.testing.assert_array_equal(small[:, 1], 0.0)
    copy = preview_image(image, 8)
    np.testing.assert_array_equal(copy, image)
    assert copy is not image


@pytest.mark.parametrize("settings", [
    st.RenderSettings(),
    st.RenderSettings(strength=1.7, band_gains=((0.0, 1.0), (1.0, 0.2), (3.0, 0.0)), low_cut_hz=0.3),
    st.RenderSettings(fps=24, loop_frames=48),  # coarse harmonics: several bands merge onto one
    st.RenderSettings(fps=25, loop_frames=100, time_stretch=True, high_cut_hz=2.0),
    st.RenderSettings(decay_s=0.8, strength=0.5),
])
def test_fast_plan_equals_the_engines_plan(scene, settings):
    _, motion = scene
    expected = st.plan(motion, settings)
    fast = FastPlan.make(motion, settings)
    stacked = np.concatenate([motion.coeffs.reshape(motion.num_bands, -1).real,
                              motion.coeffs.reshape(motion.num_bands, -1).imag]).astype(np.float32)
    got = fast.motion(stacked, motion.height, motion.width)
    np.testing.assert_array_equal(got.freqs_hz, expected.motion.freqs_hz)
    assert got.fps == expected.motion.fps and got.decay_s == expected.motion.decay_s
    np.testing.assert_array_equal(fast.render_plan.times, expected.times)
    assert fast.render_plan.loop_frames == expected.loop_frames
    scale = float(np.abs(expected.motion.coeffs).max())
    np.testing.assert_allclose(got.coeffs, expected.motion.coeffs, rtol=0, atol=2e-6 * scale)


def test_preview_frames_equal_engine_frames_at_preview_size(scene):
    image, motion = scene
    settings = st.RenderSettings(fps=24, loop_frames=48, strength=1.3)
    player = PreviewPlayer(image, motion, settings, max_side=MAX_SIDE, clock=lambda: 0.0)
    assert player.size == (60, 40)
    for index in (0, 7, 31):
        frame = player.step(now=(index + 0.5) / 24)
        assert frame.index == index
        expected, _ = engine_frame(image, motion, settings, index)
        assert frame.pixels.shape == expected.shape == (40, 60, 3)
        np.testing.assert_allclose(frame.pixels, expected, rtol=0, atol=1e-4)
        print(f"frame {index}: max |preview - engine| = {np.abs(frame.pixels - expected).max():.2e}")
    assert np.abs(player.render_index(7) - player.preview_pixels).mean() > 0.01  # it really moves


def test_edit_changes_the_next_frame_without_the_motion_source(scene):
    image, motion = scene
    calls = []

    def load_motion():
        calls.append(1)
        return motion

    base = st.RenderSettings(fps=30, loop_frames=60)
    player = PreviewPlayer(image, load_motion, base, max_side=MAX_SIDE, clock=lambda: 0.0)
    before = player.step(now=10.5 / 30)
    assert before.generation == 0
    stronger = st.RenderSettings(fps=30, loop_frames=60, strength=2.5, band_gains=((0.0, 1.0), (3.0, 0.3)))
    player.update(stronger)
    assert player.take() is before  # the old frame is still the newest until a frame is rendered
    after = player.step(now=10.5 / 30)
    assert after.generation == 1 and player.take() is after and player.take() is None
    expected, _ = engine_frame(image, motion, stronger, 10)
    np.testing.assert_allclose(after.pixels, expected, atol=1e-4)
    assert np.abs(after.pixels - before.pixels).mean() > 0.01
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
    mask[:, WIDTH // 2:] = 1.0
    player.update(mask=mask)
    masked = player.step(now=10.5 / 30)
    expected, _ = engine_frame(image, motion, stronger, 10, mask=mask)
    np.testing.assert_allclose(masked.pixels, expected, atol=1e-4)
    player.update(mask=None)
    np.testing.assert_allclose(player.step(now=10.5 / 30).pixels, after.pixels, atol=1e-6)
    assert calls == [1]  # edits never asked for the motion again


def test_decay_plays_until_settled_then_restarts(scene):
    image, motion = scene
    clock = {"now": 0.0}
    settings = st.RenderSettings(fps=30, decay_s=0.5)
    player = PreviewPlayer(image, motion, settings, max_side=MAX_SIDE, clock=lambda: clock["now"])
    frames = player.frame_count()
    assert frames == len(st.plan(motion, settings).times) == int(np.ceil(4.6 * 0.5 * 30)) + 1
    assert player.due_index(5.0 / 30 + 0.01) == 5
    assert player.due_index((frames + 2) / 30 + 0.01) == 2  # settled: starts again
    clock["now"] = 3.0
    player.update(st.RenderSettings(fps=30, decay_s=0.25))
    assert player.step(now=3.0).index == 0  # an edit with decay on replays from the input image
    assert player.frame_count() == int(np.ceil(4.6 * 0.25 * 30)) + 1


def test_threaded_player_shows_edits_and_stops(scene):
    image, motion = scene
    player = PreviewPlayer(image, motion, st.RenderSettings(fps=30, loop_frames=30), max_side=MAX_SIDE)
    player.start()
    take_seconds = []

    def wait_for(condition, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            began = time.perf_counter()
            frame = player.take()
            take_seconds.append(time.perf_counter() - began)
            if frame is not None and condition(frame):
                return frame
            time.sleep(0.002)
        raise AssertionError(f"no such frame within {timeout} s (error: {player.error})")

    wait_for(lambda f: True)
    edited_at = time.monotonic()
    player.update(st.RenderSettings(fps=30, loop_frames=30, strength=3.0))
    shown = wait_for(lambda f: f.generation == 1)
    latency = time.monotonic() - edited_at
    expected, _ = engine_frame(image, motion, st.RenderSettings(fps=30, loop_frames=30, strength=3.0), shown.index)
    np.testing.assert_allclose(shown.pixels, expected, atol=1e-4)
    player.stop()
    assert player.join(20)
    assert not player.running and player.error is None
    print(f"edit to frame {1000 * latency:.1f} ms; take() longest {1000 * max(take_seconds):.3f} ms; "
          f"{player.frames_rendered} frames rendered")
    assert max(take_seconds) < 0.1


def test_errors_are_clear(scene):
    image, motion = scene
    with pytest.raises(InputError, match="low-cut"):
        PreviewPlayer(image, motion, st.RenderSettings(low_cut_hz=2.0, high_cut_hz=1.0))
    player = PreviewPlayer(image, motion, max_side=MAX_SIDE)
    with pytest.raises(InputError, match="--strength"):
        player.update(st.RenderSettings(strength=-1.0))
    with pytest.raises(InputError, match="longest side"):
        PreviewPlayer(image, motion, max_side=1)
    wrong = PreviewPlayer(image[:, :40], motion, max_side=MAX_SIDE)  # a 40x80 image for a 120x80 motion grid
    wrong.start()
    assert wrong.join(20)
    assert wrong.error is not None and "aspect" in wrong.error
    flowing = motion.with_(flow=np.ones((2, motion.height, motion.width), dtype=np.float32))
    with pytest.raises(InputError, match="flow field"):
        PreviewPlayer(image, flowing, max_side=MAX_SIDE).step()


def test_splat_weight_of_an_edit_equals_the_engines(scene):
    from image_dynamics import spectral
    from image_dynamics.frames import to_image_pixels, weight_times
    from image_dynamics.preview import mean_motion_magnitude

    _, motion = scene
    for settings in (st.RenderSettings(strength=1.7, band_gains=((0.0, 1.0), (1.0, 0.2), (3.0, 0.0))),
                     st.RenderSettings(fps=24, loop_frames=48), st.RenderSettings(decay_s=0.8)):
        fast = FastPlan.make(motion, settings)
        expected_motion = to_image_pixels(st.plan(motion, settings).motion, 60, 40)
        expected = spectral.mean_motion_magnitude(expected_motion, weight_times(expected_motion))
        stacked = spectral.stacked_coeffs(motion)
        planes = stacked.reshape(stacked.shape[0], 2, -1)
        planes[:, 0] *= np.float32(60 / motion.width)
        planes[:, 1] *= np.float32(40 / motion.height)
        got = mean_motion_magnitude(fast, stacked, motion.height, motion.width)
        assert got.shape == expected.shape and got.dtype == np.float32 and expected.max() > 0.5
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * float(expected.max()))


def test_bottom_up_rgba_is_blenders_layout():
    from image_dynamics.preview import bottom_up_rgba

    rgb = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3) / 20
    flat = bottom_up_rgba(rgb)
    assert flat.dtype == np.float32 and flat.shape == (2 * 3 * 4,)
    rows = flat.reshape(2, 3, 4)
    np.testing.assert_array_equal(rows[::-1, :, :3], rgb)  # first row in memory is the image's bottom row
    np.testing.assert_array_equal(rows[..., 3], 1.0)
    rgba = np.concatenate([rgb, np.full((2, 3, 1), 0.5, np.float32)], axis=2)
    np.testing.assert_array_equal(bottom_up_rgba(rgba).reshape(2, 3, 4)[::-1], rgba)
    premultiplied = bottom_up_rgba(rgba, premultiply=True).reshape(2, 3, 4)[::-1]
    np.testing.assert_allclose(premultiplied[..., :3], rgb * 0.5)
    np.testing.assert_array_equal(premultiplied[..., 3], 0.5)
    with pytest.raises(InputError, match="frame must be"):
        bottom_up_rgba(rgb[..., :2])


def test_worker_renders_ahead_and_take_waits_for_the_due_time(scene):
    image, motion = scene
    clock = {"now": 0.0}
    player = PreviewPlayer(image, motion, st.RenderSettings(fps=10, loop_frames=20), max_side=MAX_SIDE,
                           clock=lambda: clock["now"])
    player.start()
    try:
        deadline = time.monotonic() + 20
        while player.frames_rendered < 2 and time.monotonic() < deadline:  # frame 0 now, frame 1 ahead
            time.sleep(0.002)
        assert player.frames_rendered == 2, player.error
        time.sleep(0.05)
        assert player.frames_rendered == 2  # no further ahead than one frame while the clock stands still
        assert player.next_due() == -np.inf  # published at once
        first = player.take()
        assert first.index == 0 and player.take() is None  # frame 1 is not due yet
        assert player.next_due() == pytest.approx(0.1)
        clock["now"] = 0.1
        second = player.take()
        assert second.index == 1 and second.due_at == pytest.approx(0.1)
        while player.frames_rendered < 3 and time.monotonic() < deadline:  # frame 2 follows, ahead again
            time.sleep(0.002)
        assert player.next_due() == pytest.approx(0.2)
        clock["now"] = 0.15
        player.update(st.RenderSettings(fps=10, loop_frames=20, strength=2.0))
        while time.monotonic() < deadline:  # the edit's frame is published at once, not at its due time
            frame = player.take()
            if frame is not None and frame.generation == 1:
                break
            time.sleep(0.002)
        assert frame.generation == 1 and frame.index == 1
    finally:
        player.stop()
        assert player.join(20)


def test_image_given_as_a_function_is_converted_on_the_first_frame(scene):
    image, motion = scene
    calls = []

    def pixels():
        calls.append(1)
        return image

    player = PreviewPlayer(pixels, motion, st.RenderSettings(fps=24, loop_frames=48), max_side=MAX_SIDE,
                           image_size=(WIDTH, HEIGHT), clock=lambda: 0.0)
    assert player.size == (60, 40) and calls == []  # the size is known before the pixels
    frame = player.step(now=7.5 / 24)
    expected, _ = engine_frame(image, motion, st.RenderSettings(fps=24, loop_frames=48), 7)
    np.testing.assert_allclose(frame.pixels, expected, atol=1e-4)
    player.step(now=8.5 / 24)
    assert calls == [1]
    with pytest.raises(InputError, match="image_size"):
        PreviewPlayer(pixels, motion)
    with pytest.raises(InputError, match="not the image's"):
        PreviewPlayer(image, motion, image_size=(WIDTH + 1, HEIGHT))
    liar = PreviewPlayer(pixels, motion, image_size=(WIDTH + 1, HEIGHT), max_side=MAX_SIDE)  # aspect within 2 %
    with pytest.raises(InputError, match="announced"):
        liar.step()
