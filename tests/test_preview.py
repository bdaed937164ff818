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
