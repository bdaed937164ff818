"""The rendered motion truth is exact: frame 0 warped by the stored motion matches a rendered frame t (drives bpy)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.blender
bpy = pytest.importorskip("bpy")

from image_dynamics import spectral  # noqa: E402
from image_dynamics.data import shards  # noqa: E402
from image_dynamics.data.render import blender, geometry  # noqa: E402
from image_dynamics.data.render.camera import Camera, look_at  # noqa: E402
from image_dynamics.data.render.motion import Motion  # noqa: E402
from image_dynamics.data.render.scene import FAMILIES, SOURCE, SceneSpec  # noqa: E402
from image_dynamics.data.render.truth import compute_truth  # noqa: E402

W, H, T = 80, 48, 20


def _scene() -> SceneSpec:
    cam = Camera(look_at((0.0, -3.0, 0.9), (0.0, 0.0, 0.9)), 35.0, 36.0, W, H)
    spec = SceneSpec(0, "test", cam, samples=4)
    wall = {"kind": "wall", "color": (0.9, 0.8, 0.2), "color2": (0.1, 0.3, 0.2), "scale": 1.0, "rough": 0.5,
            "seed": 3.0}
    cloth = {"kind": "cloth", "color": (0.9, 0.1, 0.1), "color2": (0.1, 0.2, 0.9), "scale": 0.6, "rough": 0.5,
             "seed": 7.0}
    spec.add("wall", geometry.box((0.0, 1.5, -1.0), (6.0, 0.2, 4.0)), wall, smooth=False)
    # a flag on a pole at x = -0.7: a wave running away from the pole, in the image plane, a few pixels at t
    motion = Motion.empty()
    motion.add(0.4, (0.0, 0.0, 0.3), wavevec=(-2.0, 0.0, 0.0), phase=0.3, origin=(-0.7, 0.0, 0.0),
               axis=(1.0, 0.0, 0.0), length=1.4, power=1.3)
    motion.add(0.2, (0.16, 0.0, 0.0), phase=1.0, origin=(-0.7, 0.0, 0.0), axis=(1.0, 0.0, 0.0), length=1.4)
    spec.add("flag", geometry.sheet((-0.7, 0.0, 0.4), (1, 0, 0), (0, 0, 1), 1.4, 0.9, 60, 40), cloth, motion)
    return spec


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample ``img`` [H, W, C] at pixel coordinates (x right, y down, centres at +0.5)."""
    x, y = np.clip(x - 0.5, 0, img.shape[1] - 1.001), np.clip(y - 0.5, 0, img.shape[0] - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    return ((img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx) * (1 - fy)
            + (img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx) * fy)


def test_frame_zero_warped_by_the_stored_motion_matches_the_rendered_frame_t(tmp_path):
    spec = _scene()
    image0, passes0 = blender.render(blender.build(spec, 0.0, threads=2, denoise=False, flat=True), tmp_path)
    image_t, passes_t = blender.render(blender.build(spec, float(T), threads=2, denoise=False, flat=True), tmp_path)
    truth = compute_truth(passes0, spec.motions, spec.camera)
    # the camera model is Blender's: each known pixel's mean surface point, where frame 0 shows it, projects onto the
    # pixel's centre
    ky, kx = np.nonzero((truth.known == 1) & truth.moving)
    shown = spec.motions[1].positions(truth.rest[ky, kx], 0.0)
    offset = spec.camera.project(shown) - np.stack([kx + 0.5, ky + 0.5], -1)
    assert np.all(np.abs(offset.mean(axis=0)) < 0.03) and np.abs(offset).max() < 0.5  # 4 samples: jitter, no bias
    # through the shard format (float16 channels, known), as training reads it
    writer = shards.ShardWriter(tmp_path / "ds", W, H, spectral.harmonic_freqs(16, 150, 30.0), 30.0, 150, "test")
    writer.add(image0, truth.coeffs, 0, "test", truth.known)
    stored = shards.load_all(writer.close())
    sv = spectral.make(shards.channels_to_coeffs(stored["coeffs"][0]), spectral.harmonic_freqs(16, 150, 30.0), 30.0)
    d = spectral.displacements(sv, np.array([float(T)]))[0]  # [2, H, W] forward, pixels
    ys, xs = np.mgrid[0:H, 0:W]
    qx, qy = xs + 0.5 + d[0], ys + 0.5 + d[1]
    # still visible at t: the surface point found where it went is the same one (not covered, not uncovered)
    rest_t = _bilinear(passes_t["rest"][..., :3].astype(np.float64), qx, qy)
    mov_t = _bilinear(passes_t["mov"][..., None].astype(np.float64), qx, qy)[..., 0]
    same = np.linalg.norm(rest_t - truth.rest, axis=-1) < 0.01
    inside = (qx > 1) & (qx < W - 1) & (qy > 1) & (qy < H - 1)
    valid = (stored["known"][0] == 1) & truth.moving & (mov_t > 0.999) & same & inside
    assert valid.sum() > 300
    assert np.median(np.hypot(d[0], d[1])[valid]) >= 3.0  # the flag really travels
    f0, ft = image0.astype(np.float64) / 255, image_t.astype(np.float64) / 255
    warped_error = np.abs(_bilinear(ft, qx, qy) - f0)[valid].mean()
    unwarped_error = np.abs(ft - f0)[valid].mean()
    assert warped_error <= 0.2 * unwarped_error, (warped_error, unwarped_error)
    assert warped_error <= 2 / 255, warped_error
    # static pixels (wall) are known and have no motion; unknown pixels all carry motion
    static = ~truth.moving
    assert static.sum() > 500 and stored["known"][0][static].min() == 1
    assert np.all(np.abs(truth.coeffs[:, :, static]) == 0)
    energy = (np.abs(truth.coeffs[1:]) ** 2).sum(axis=(0, 1))
    assert np.all(energy[stored["known"][0] == 0] > 0)


def test_data_render_cli_writes_scenes_with_known_masks_and_continues_a_folder(tmp_path):
    from image_dynamics.cli import main
    from image_dynamics.data.synth import sample_seed

    out = tmp_path / "r"
    args = ["-q", "data", "render", "-o", str(out), "--size", "48x32", "--samples", "1", "--shard-size", "1",
            "--seed", "3"]
    assert main([*args, "--count", "1"]) == 0
    assert main([*args, "--count", "2"]) == 0  # continues: renders only the second scene
    info = shards.read_info(out)
    data = shards.load_all(info)
    assert info.count == 2 and info.source == SOURCE and info.norm_stats_path.exists()
    assert list(data["sample_ids"]) == [sample_seed(3, 0), sample_seed(3, 1)]
    assert data["known"].shape == (2, 32, 48) and data["images"].std() > 5  # a picture, not a blank
    assert set(data["kinds"]) <= set(FAMILIES)


def test_the_sun_lamp_shines_from_the_sun_disc_the_sky_shows(tmp_path):
    world = {"sun_elevation_deg": 25.0, "sun_azimuth_deg": 130.0, "sun_strength": 1.0, "sun_size_deg": 2.0, "air": 1.0,
             "aerosol": 1.0, "ozone": 1.0, "sky_strength": 0.3, "hdri": "city", "hdri_strength": 0.5,
             "hdri_rotation_deg": 0.0, "hdri_mix": 0.5, "exposure": 0.0, "look": "None"}
    probe = SceneSpec(0, "sky", Camera(look_at((0, 0, 0), (0, 1, 0)), 20.0, 36.0, 64, 40), world=world, samples=4)
    sc = blender.build(probe, threads=2, denoise=False)
    towards_sun = np.array(sc.objects["sun"].rotation_euler.to_matrix())[:, 2]  # a sun lamp shines along its local -z
    spec = SceneSpec(0, "sky", Camera(look_at((0, 0, 0), towards_sun), 20.0, 36.0, 64, 40), world=world, samples=4)
    image, _ = blender.render(blender.build(spec, threads=2, denoise=False), tmp_path)
    luminance = image.astype(np.float64).sum(axis=-1)
    y, x = np.unravel_index(np.argmax(luminance), luminance.shape)
    assert abs(x + 0.5 - 32) <= 2 and abs(y + 0.5 - 20) <= 2  # the sun disc is where the lamp comes from


def test_ceiling_truths_share_the_render_and_differ_only_in_hidden_amplitudes():
    from image_dynamics.data.render.scene import layout
    from image_dynamics.data.render.worker import ceiling_truths

    seed = next(s for s in range(100) if layout(s, 48, 32).family == "meadow")
    truth, expected = ceiling_truths(seed, 48, 32, threads=2, samples=2)
    assert np.array_equal(truth.moving, expected.moving)  # the same render: the same surfaces
    assert (truth.known == expected.known).mean() > 0.95  # known also depends on how far things move (0.25 px floor)
    assert np.all(expected.coeffs[:, :, ~truth.moving] == 0)
    energy = (np.abs(truth.coeffs[1:]) ** 2).sum(axis=(0, 1))
    energy_expected = (np.abs(expected.coeffs[1:]) ** 2).sum(axis=(0, 1))
    moving = truth.moving & (truth.known == 1)
    assert moving.sum() > 20 and not np.allclose(energy[moving], energy_expected[moving])


@pytest.mark.parametrize("seed", [3, 12])  # pots and crates outdoors; a room with a desk, lamp and screen
def test_a_still_life_close_up_renders_all_known_and_exactly_still(seed):
    from image_dynamics.data.render.worker import render_scene

    spec, image, truth = render_scene(seed, 64, 40, threads=2, samples=2, family="still_life")
    assert spec.family == "still_life" and image.std() > 5
    assert not truth.moving.any() and truth.known.mean() == 1.0  # no silhouette mixes a moving surface
    assert np.all(truth.coeffs == 0)


@pytest.mark.parametrize("family, seed", [("rockery", 2), ("promenade", 3), ("promenade", 6), ("specimen", 0),
                                          ("calm_water", 1), ("park", 1), ("towers", 7), ("outcrop", 0)])
# crag; slabs, gravel; a potted shrub before a wall; a harbour quay before calm water; trees beyond a lawn; a street
# tree between office blocks; pale bedded rock among trees
def test_still_surface_families_render_their_stones_and_floors_still_and_known_and_their_plants_moving(family, seed):
    from image_dynamics.data.render.worker import render_scene

    spec, image, truth = render_scene(seed, 64, 40, threads=2, samples=2, family=family)
    assert spec.family == family and image.std() > 5
    still = ~truth.moving & (truth.known == 1)
    assert still.mean() > 0.2 and (truth.moving & (truth.known == 1)).sum() > 10
    assert np.all(truth.coeffs[:, :, still] == 0)  # stones, floors, ground and sky: exactly no motion
