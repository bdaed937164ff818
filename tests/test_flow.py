"""Flow: Euler integration, symmetric splatting loops, compositing with the flow mask, motion files with a flow."""

from __future__ import annotations

import json
import zipfile

import cv2
import numpy as np
import pytest

from image_dynamics import flow, spectral
from image_dynamics.errors import InputError, MotionFileError
from image_dynamics.settings import RenderSettings, plan


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """float32 [H, W, 3] band-limited noise in 0..1: texture at every scale phase correlation can lock on to."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 2.0)
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def pure_flow(height: int, width: int, velocity: np.ndarray, window: int = 30, fps: float = 30.0):
    """A volume with zero coefficients (nothing oscillates) holding ``velocity`` (grid = image here)."""
    return spectral.make(np.zeros((1, 2, height, width)), [0.0], fps, {"window_frames": window}, flow=velocity)


def constant(height: int, width: int, vx: float, vy: float) -> np.ndarray:
    return np.stack([np.full((height, width), vx, np.float32), np.full((height, width), vy, np.float32)])


def shift_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Translation ``s`` (x, y) with ``b(p) ~ a(p - s)``: phase correlation, Hann window, a Gaussian low-pass on the
    normalised cross-power (bilinear resampling's phase error lives at high frequencies), parabolic sub-pixel peak."""
    a, b = a - a.mean(), b - b.mean()
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    cross = np.fft.fft2(b * window) * np.conj(np.fft.fft2(a * window))
    cross /= np.abs(cross) + 1e-12
    fy, fx = np.fft.fftfreq(a.shape[0])[:, None], np.fft.fftfreq(a.shape[1])[None, :]
    surface = np.fft.ifft2(cross * np.exp(-(fx ** 2 + fy ** 2) / (2 * 0.08 ** 2))).real
    py, px = np.unravel_index(np.argmax(surface), surface.shape)

    def refine(centre: int, line: np.ndarray) -> float:
        left, mid, right = line[(centre - 1) % line.size], line[centre], line[(centre + 1) % line.size]
        value = centre + 0.5 * (left - right) / (left - 2 * mid + right)
        return value - line.size if value > line.size / 2 else value

    return np.array([refine(px, surface[py]), refine(py, surface[:, px])])


def render_loop(renderer: flow.FlowRenderer, count: int) -> list[np.ndarray]:
    times = np.arange(count) * renderer.seconds_per_frame * renderer.base.motion.fps
    return list(renderer.frames(times))


# ----------------------------------------------------------------------------------------------------------------------
# Euler integration


def test_euler_constant_field_is_exact_and_linear_field_follows_euler_recursion():
    exact = flow.euler_displacements(constant(5, 7, 12.0, -3.0), 9, 0.1)
    assert exact.shape == (10, 2, 5, 7) and exact.dtype == np.float32
    np.testing.assert_allclose(exact[:, 0, 2, 3], 1.2 * np.arange(10), rtol=1e-6)
    np.testing.assert_allclose(exact[:, 1, 2, 3], -0.3 * np.arange(10), rtol=1e-6)
    # v_x = k x: Euler gives x_n = x_0 (1 + k dt)^n while the path stays on the grid
    height, width, k, dt = 3, 40, 0.5, 0.2
    shear = np.zeros((2, height, width), np.float32)
    shear[0] = k * np.arange(width, dtype=np.float32)[None, :]
    out = flow.euler_displacements(shear, 6, dt)
    x0 = 4.0
    np.testing.assert_allclose(out[:, 0, 1, 4], x0 * (1 + k * dt) ** np.arange(7) - x0, rtol=1e-5)


def test_euler_path_keeps_few_fields_and_matches_the_full_integration_bit_for_bit():
    rng = np.random.default_rng(4)
    velocity = cv2.GaussianBlur(rng.normal(0, 20, (2, 12, 16)).astype(np.float32).transpose(1, 2, 0), (0, 0), 2)
    velocity = np.ascontiguousarray(velocity.transpose(2, 0, 1))
    full = flow.euler_displacements(velocity, 30, 0.05)
    path = flow.EulerPath(velocity, 30, 0.05)
    assert path.every == 6 and len(path._checkpoints) == 6
    for n in [0, 30, 29, 7, 12, 13, 1, 30, 18, 5]:  # any order: forward, backward, jumps
        np.testing.assert_array_equal(path(n), full[n])
    with pytest.raises(InputError, match="0..30"):
        path(31)


def test_euler_refuses_bad_steps_and_fields():
    with pytest.raises(InputError, match="steps"):
        flow.euler_displacements(constant(2, 2, 1, 1), -1, 0.1)
    with pytest.raises(InputError, match="dt_s"):
        flow.euler_displacements(constant(2, 2, 1, 1), 3, 0.0)
    bad = constant(2, 2, 1, 1)
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        flow.euler_displacements(bad, 3, 0.1)


# ----------------------------------------------------------------------------------------------------------------------
# Symmetric splatting loops


def test_constant_field_moves_texture_at_set_speed_within_2_percent():
    height, width, fps, loop = 96, 128, 20.0, 20
    velocity = np.array([40.0, 25.0])  # image px/s: 2 px and 1.25 px per frame
    image = textured(height, width)
    renderer = flow.FlowRenderer(image, pure_flow(height, width, constant(height, width, *velocity), loop, fps),
                                 loop, 1.0 / fps)
    frames = render_loop(renderer, loop + 1)
    crop = slice(24, -24)
    shifts = np.array([shift_between(frames[i][crop, crop].mean(2), frames[i + 1][crop, crop].mean(2))
                       for i in range(loop)]) * fps
    mean_speed = np.linalg.norm(shifts.mean(axis=0))
    assert abs(mean_speed / np.linalg.norm(velocity) - 1) < 0.02
    speeds = np.linalg.norm(shifts, axis=1)
    assert np.all(np.abs(speeds / np.linalg.norm(velocity) - 1) < 0.06), speeds
    angles = np.degrees(np.arctan2(shifts[:, 1], shifts[:, 0]))
    assert np.all(np.abs(angles - np.degrees(np.arctan2(*velocity[::-1]))) < 4.0)
    # across the seam (frame L-1 -> frame L, which is frame 0): the same speed within 5 %
    seam = np.linalg.norm(shift_between(frames[loop - 1][crop, crop].mean(2), frames[0][crop, crop].mean(2))) * fps
    assert abs(seam / np.linalg.norm(velocity) - 1) < 0.05


@pytest.mark.parametrize("loop", [2, 3, 7, 16])
def test_frame_L_is_frame_0_and_the_seam_changes_like_any_other_frame(loop):
    height, width, fps = 40, 56, 24.0
    image = textured(height, width, seed=loop)
    sv = pure_flow(height, width, constant(height, width, 18.0, -7.0), loop, fps)
    renderer = flow.FlowRenderer(image, sv, loop, 1.0 / fps)
    zero_grid = np.zeros((2, height, width), np.float32)
    start, end = renderer.fields(0, zero_grid), renderer.fields(loop, zero_grid)
    assert start.backward is None and end.forward is None  # each end of the loop is one warp
    np.testing.assert_array_equal(renderer.frame(end), renderer.frame(start))
    np.testing.assert_array_equal(renderer.frame(start), image)
    frames = render_loop(renderer, loop + 1)
    np.testing.assert_array_equal(frames[loop], frames[0])
    changes = [np.abs(frames[i + 1] - frames[i]).mean() for i in range(loop)]
    assert min(changes) > 0  # the texture really moves in every frame
    assert changes[-1] <= 1.5 * np.median(changes)


def test_no_hole_inside_the_mask_while_travel_is_shorter_than_the_region():
    height, width, fps, loop = 32, 80, 10.0, 10
    mask = np.zeros((height, width), np.float32)
    mask[8:24, 20:60] = 1.0  # 40 px long along the flow
    image = textured(height, width)

    def holes(speed: float) -> int:
        sv = pure_flow(height, width, constant(height, width, speed, 0.0) * mask, loop, fps)
        renderer = flow.FlowRenderer(image, sv, loop, 1.0 / fps, flow_mask=mask)
        count = 0
        for step in range(1, loop):
            _, weight_sum = renderer.symmetric_splat(renderer.fields(step, np.zeros((2, height, width), np.float32)))
            count += int(np.count_nonzero(weight_sum[mask > 0] == 0))
        return count

    assert holes(30.0) == 0  # travels 30 px over the loop
    assert holes(36.0) == 0
    assert holes(60.0) > 0  # 60 px > 40 px: the two warps' gaps overlap (the check above can fail)


def test_flow_stays_inside_its_feathered_mask_bit_for_bit():
    height, width, fps, loop = 40, 64, 30.0, 12
    mask = np.zeros((height, width), np.float32)
    mask[10:30, 16:48] = 1.0
    image = textured(height, width, seed=3)
    sv = pure_flow(height, width, constant(height, width, 45.0, 10.0), loop, fps)
    renderer = flow.FlowRenderer(image, sv, loop, 1.0 / fps, flow_mask=mask, flow_feather_px=1.5)
    far = cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0  # beyond the feather's reach (4 sigma + 1)
    frames = render_loop(renderer, loop)
    for frame in frames:
        np.testing.assert_array_equal(frame[far], image[far])
    inside = mask > 0
    assert np.abs(frames[5][inside] - image[inside]).mean() > 0.02


def test_flow_layer_rendered_over_the_masks_region_equals_the_whole_image_render():
    height, width, fps, loop = 60, 90, 30.0, 10
    mask = np.zeros((height, width), np.float32)
    mask[5:25, 50:85] = 1.0
    image = textured(height, width, seed=7)
    sv = pure_flow(height, width, constant(height, width, 30.0, 6.0) * mask, loop, fps)
    renderer = flow.FlowRenderer(image, sv, loop, 1.0 / fps, flow_mask=mask)
    zero = np.zeros((2, height, width), np.float32)
    for step in (1, 4, 9):
        fields = renderer.fields(step, zero)
        rows, cols = renderer.region(fields)
        assert (rows.stop - rows.start) * (cols.stop - cols.start) < 0.4 * height * width
        whole = renderer.flow_layer(fields)
        covered = renderer.symmetric_splat(fields)[1] > 0  # hole filling may draw on other pixels in the region
        assert np.count_nonzero(~covered) <= 2
        expected = image + mask[..., None] * (whole - image)
        np.testing.assert_allclose(renderer.frame(fields)[covered], expected[covered], atol=2e-6)


def test_rgba_flows_premultiplied_and_opaque_rgba_matches_rgb():
    height, width, loop = 24, 40, 8
    rgb = textured(height, width, seed=9) * np.float32(0.5)  # every channel <= 0.5
    opaque = np.concatenate([rgb, np.ones((height, width, 1), np.float32)], axis=2)
    sv = pure_flow(height, width, constant(height, width, 40.0, 0.0), loop, 10.0)
    plain = flow.FlowRenderer(rgb, sv, loop, 0.1)
    fields = plain.fields(3, np.zeros((2, height, width), np.float32))
    np.testing.assert_allclose(flow.FlowRenderer(opaque, sv, loop, 0.1).frame(fields)[..., :3], plain.frame(fields),
                               atol=1e-6)
    cut = opaque.copy()
    cut[:, :20] = (1.0, 1.0, 1.0, 0.0)  # a transparent left half whose (hidden) colour is white
    frame = flow.FlowRenderer(cut, sv, loop, 0.1).frame(fields)
    seen = frame[..., 3] > 1e-3
    assert seen.any() and (frame[..., 3] < 0.999).any()  # transparency moved with the texture
    assert frame[seen][:, :3].max() <= 0.5 + 1e-5  # premultiplied: no white bleeds out of the transparent pixels


def test_flow_and_oscillation_add_in_each_warp():
    height, width, fps, loop = 24, 32, 30.0, 10
    coeffs = np.zeros((2, 2, height, width), np.complex64)
    coeffs[1, 0] = 1.5  # 3 Hz sway along x, 1.5 px
    sv = spectral.make(coeffs, [0.0, 3.0], fps, {"window_frames": loop}, flow=constant(height, width, 6.0, 3.0))
    renderer = flow.FlowRenderer(textured(height, width), sv, loop, 1.0 / fps)
    grid = renderer.base.grid_displacements(np.array([3.0]))[0]
    fields = renderer.fields(3, grid)
    np.testing.assert_allclose(fields.oscillation, grid, atol=1e-5)
    np.testing.assert_allclose(fields.forward[0], grid[0] + 0.6, atol=1e-5)
    np.testing.assert_allclose(fields.forward[1], grid[1] + 0.3, atol=1e-5)
    np.testing.assert_allclose(fields.backward[0], grid[0] - 6.0 * 7 / fps, atol=1e-5)
    assert fields.backward_weight == pytest.approx(0.3)


def test_plan_timing_gives_the_set_speed_on_a_coarser_grid():
    """Flow on a grid half the image size, scaled to image pixels; the loop length and rate come from the plan."""
    height, width = 64, 96
    sv = pure_flow(height // 2, width // 2, constant(height // 2, width // 2, 10.0, 0.0))  # 20 image px/s along x
    render_plan = plan(sv, RenderSettings(fps=10.0, loop_frames=8))
    renderer = flow.renderer_for_plan(textured(height, width), render_plan)
    assert renderer.seconds_per_frame == pytest.approx(0.1)
    np.testing.assert_array_equal(renderer.steps_of(render_plan.times), np.arange(8))
    fields = next(iter(renderer.flows(render_plan.times[1:2])))
    np.testing.assert_allclose(fields.forward[0], 2.0, atol=1e-5)
    np.testing.assert_allclose(fields.backward[0], -14.0, atol=1e-5)


def test_renderer_refusals():
    sv = spectral.make(np.zeros((1, 2, 8, 8)), [0.0], 30.0)
    with pytest.raises(InputError, match="no flow"):
        flow.FlowRenderer(np.zeros((8, 8, 3), np.float32), sv, 10, 0.1)
    with_flow = sv.with_(flow=constant(8, 8, 1, 1))
    with pytest.raises(InputError, match="decay"):
        flow.FlowRenderer(np.zeros((8, 8, 3), np.float32), with_flow, None, 0.1)
    with pytest.raises(InputError, match=r"flow mask is 16x8 \(aspect 2.000\) but the image is 8x8"):
        flow.FlowRenderer(np.zeros((8, 8, 3), np.float32), with_flow, 10, 0.1, flow_mask=np.ones((8, 16)))
    renderer = flow.FlowRenderer(np.zeros((8, 8, 3), np.float32), with_flow, 10, 0.1)
    with pytest.raises(InputError, match="displacement maps"):
        renderer.compositor_map(renderer.fields(1, np.zeros((2, 8, 8), np.float32)))


# ----------------------------------------------------------------------------------------------------------------------
# Motion files


def _format_version(path) -> int:
    with np.load(path) as npz:
        return json.loads(str(npz["meta"]))["format_version"]


def test_motion_file_with_flow_is_version_2_and_round_trips(tmp_path):
    velocity = constant(6, 9, 2.5, -1.0)
    velocity[:, 2:4] = 0
    sv = pure_flow(6, 9, velocity)
    path = spectral.save(sv, tmp_path / "f.npz")
    assert _format_version(path) == spectral.FLOW_FORMAT_VERSION == 2
    back = spectral.load(path)
    assert back.flow.dtype == np.float32
    np.testing.assert_array_equal(back.flow, velocity)


def test_old_motion_files_load_unchanged(tmp_path):
    coeffs = (np.random.default_rng(1).normal(size=(3, 2, 5, 7)) * (1 + 1j)).astype(np.complex64)
    sv = spectral.make(coeffs, [0.0, 0.2, 0.4], 30.0, {"window_frames": 150, "seed": 4})
    path = spectral.save(sv, tmp_path / "old.npz")
    assert _format_version(path) == 1
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["coeffs.npy", "fps.npy", "freqs_hz.npy", "meta.npy"]
    back = spectral.load(path)
    assert back.flow is None
    np.testing.assert_array_equal(back.coeffs, coeffs)
    np.testing.assert_array_equal(back.freqs_hz, sv.freqs_hz)
    assert back.meta["seed"] == 4 and back.fps == 30.0


def test_motion_file_with_a_bad_flow_is_refused_in_one_line(tmp_path):
    path = tmp_path / "bad.npz"
    meta = json.dumps({"format_version": 2})
    np.savez(path, coeffs=np.zeros((1, 2, 4, 4), np.complex64), freqs_hz=np.zeros(1, np.float32),
             fps=np.float64(30), meta=np.array(meta), flow=np.zeros((2, 4, 5), np.float32))
    with pytest.raises(MotionFileError, match=r"'flow' must be a float velocity field \[2, H, W\] = \[2, 4, 4\]"):
        spectral.load(path)
    np.savez(path, coeffs=np.zeros((1, 2, 4, 4), np.complex64), freqs_hz=np.zeros(1, np.float32),
             fps=np.float64(30), meta=np.array(json.dumps({"format_version": 3})))
    with pytest.raises(MotionFileError, match="newer than this program reads"):
        spectral.load(path)
