"""Procedural scenes with exact motion: determinism, static vs moving, cantilever plants, true frames, exact spectra,
dataset shards with cancel and overwrite."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from image_dynamics import spectral
from image_dynamics.data import shards, synth
from image_dynamics.data.normalise import load_norm_stats
from image_dynamics.data.scenes import ground, plants, sky, structures
from image_dynamics.data.scenes.canvas import KIND, KIND_NAMES, MOVING_KINDS, STATIC_KINDS, Scene
from image_dynamics.data.scenes.motion import (
    MotionField,
    Term,
    expected_hidden_gains,
    harmonic,
    hidden_gain,
    is_harmonic,
)
from image_dynamics.errors import CancelledError, InputError

W, H = 96, 64  # small scenes keep the file fast; objects scale with the image height


def _static_scene(seed: int = 0) -> Scene:
    rng = np.random.default_rng(seed)
    scene = Scene(W, H)
    mood = sky.random_mood(rng, W, 30.0)
    scene.add(sky.sky(scene, rng, mood, 30.0))
    scene.add(sky.mountains(scene, rng, mood, 31.0, 12.0, 0.4))
    scene.add(ground.ground(scene, rng, mood, 30.0, "lawn"))
    scene.add(plants.hedge(scene, rng, mood, 5, 40, 50, 12, (-0.6, -0.8)))
    scene.add(structures.building(scene, rng, mood, 50, 45, 30, 25, (-0.6, -0.8)))
    scene.add(structures.fence(scene, rng, mood, 0, 90, 60, 58, 10, 10))
    scene.add(ground.rock(scene, rng, mood, 70, 62, 8))
    return scene


# ----------------------------------------------------------------------------------------------------------------------
# Determinism and labels


def test_same_seed_gives_identical_sample() -> None:
    a, b = synth.render_sample(3, W, H), synth.render_sample(3, W, H)
    assert a.family == b.family
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.coeffs, b.coeffs)
    assert np.array_equal(a.kinds, b.kinds)
    assert a.image.dtype == np.uint8 and a.image.shape == (H, W, 3)
    assert a.coeffs.dtype == np.complex64 and a.coeffs.shape == (16, 2, H, W)
    np.testing.assert_allclose(a.freqs_hz, np.arange(16) * 0.2, atol=1e-6)


def test_different_seeds_give_different_samples() -> None:
    images = [synth.render_sample(seed, W, H).image for seed in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(images[i].astype(int) - images[j]).mean() > 5


def test_sample_seeds_are_distinct_across_datasets_and_indices() -> None:
    seeds = {synth.sample_seed(s, i) for s in range(3) for i in range(50)}
    assert len(seeds) == 150
    assert synth.sample_seed(7, 3) == synth.sample_seed(7, 3)


def test_a_scene_of_static_things_has_exactly_zero_motion() -> None:
    rendered = _static_scene().render()
    assert rendered.freqs == []
    assert not rendered.coeffs.any()
    assert not rendered.moving_cover.any()
    assert set(np.unique(rendered.kinds)) <= STATIC_KINDS
    assert {KIND["sky"], KIND["ground"], KIND["structure"]} <= set(np.unique(rendered.kinds).tolist())


@pytest.mark.parametrize("seed", range(6))
def test_static_pixels_have_exactly_zero_coefficients(seed: int) -> None:
    sample = synth.render_sample(seed, W, H)
    static = sample.moving_cover == 0
    assert not sample.coeffs[:, :, static].any()  # exactly zero, every band
    assert static.any()
    assert np.isin(sample.kinds[static], list(STATIC_KINDS)).all()
    # Static-labelled pixels are static except where thin or anti-aliased moving things partly cover them.
    labelled_static = np.isin(sample.kinds, list(STATIC_KINDS))
    assert static[labelled_static].mean() > 0.5


@pytest.mark.parametrize("family", synth.FAMILIES)
def test_every_family_has_moving_kinds_with_energy(family: str) -> None:
    found = {}
    for seed in range(3):
        sample = synth.render_sample(seed, W, H, family=family)
        energy = sample.motion_energy()
        for k in np.unique(sample.kinds):
            pixels = sample.kinds == k
            if int(k) in MOVING_KINDS and pixels.sum() >= 20:
                found[KIND_NAMES[k]] = max(found.get(KIND_NAMES[k], 0.0), float(np.percentile(energy[pixels], 90)))
    expected = {"meadow": "grass", "lake": "water", "village": None, "interior": "flame", "coast": "water",
                "campfire": "flame"}[family]
    assert found, f"{family}: no moving pixels in 3 scenes"
    if expected:
        assert expected in found
    assert all(e > 1e-3 for e in found.values()), found


# ----------------------------------------------------------------------------------------------------------------------
# Motion models


def test_plant_tips_move_more_than_their_bases() -> None:
    rng = np.random.default_rng(1)
    scene = Scene(W, H)
    mood = sky.random_mood(rng, W, 20.0)
    scene.add(sky.sky(scene, rng, mood, 20.0))
    root, height = 58.0, 36.0
    scene.add(plants.grass(scene, rng, mood, plants.Wind(1.0, 2, 0.02, 0.0), root, 10, 86, height, 0.8, "green"))
    rendered = scene.render()
    energy = (np.abs(rendered.coeffs) ** 2).sum(axis=(0, 1))
    grass = (rendered.kinds == KIND["grass"]) & (rendered.moving_cover > 0.9)
    rows = np.arange(H)[:, None]
    base = grass & (rows > root - 0.15 * height) & (rows <= root + 1)
    tips = grass & (rows < root - 0.6 * height)
    assert base.sum() > 20 and tips.sum() > 20
    assert energy[tips].mean() > 8 * energy[base].mean()
    # and energy grows steadily with height above the root
    bands = [(grass & (rows < root - lo * height) & (rows >= root - hi * height)) for lo, hi in
             ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75))]
    means = [energy[b].mean() for b in bands]
    assert means[0] < means[1] < means[2]


def test_hidden_gains_are_uniform_draws_or_their_rms_under_the_expectation() -> None:
    drawn = [hidden_gain(np.random.default_rng(s), 0.2, 0.8) for s in range(3)]
    assert drawn == [float(np.random.default_rng(s).uniform(0.2, 0.8)) for s in range(3)]
    with expected_hidden_gains():
        rng = np.random.default_rng(0)
        assert hidden_gain(rng, 0.2, 0.8) == pytest.approx(np.sqrt((0.04 + 0.16 + 0.64) / 3))
        assert rng.uniform() == np.random.default_rng(0).uniform(size=2)[1]  # the draw was still consumed
    assert hidden_gain(np.random.default_rng(0), 0.2, 0.8) == drawn[0]  # the context ends with its block


@pytest.mark.parametrize("family", ["meadow", "campfire"])
def test_expected_hidden_gains_keep_the_image_and_change_only_the_amount_of_motion(family: str) -> None:
    true = synth.render_sample(11, W, H, family=family)
    with expected_hidden_gains():
        expected = synth.render_sample(11, W, H, family=family)
    assert np.array_equal(true.image, expected.image)
    e_true, e_expected = true.motion_energy(), expected.motion_energy()
    assert np.array_equal(e_true > 0, e_expected > 0)  # the same pixels move
    assert not np.allclose(e_true, e_expected)


def test_tree_trunk_moves_little_and_crown_flutters() -> None:
    rng = np.random.default_rng(4)
    scene = Scene(W, H)
    mood = sky.random_mood(rng, W, 20.0)
    scene.add(sky.sky(scene, rng, mood, 20.0))
    scene.add(plants.tree(scene, rng, mood, plants.Wind(1.0, 1, 0.0, 0.0), 48, 62, 56, "green", (-0.6, -0.8)))
    rendered = scene.render()
    energy = (np.abs(rendered.coeffs) ** 2).sum(axis=(0, 1))
    tree = (rendered.kinds == KIND["tree"]) & (rendered.moving_cover > 0.9)
    rows = np.arange(H)[:, None]
    trunk_base = tree & (rows > 62 - 8)
    crown = tree & (rows < 62 - 56 * 0.5)
    assert trunk_base.sum() > 5 and crown.sum() > 50
    assert energy[crown].mean() > 20 * energy[trunk_base].mean()


def test_frame_zero_is_the_image() -> None:
    for seed in range(4):
        sample = synth.render_sample(seed, W, H)
        assert np.array_equal(sample.frames([0.0])[0], sample.image)


def test_true_frames_move_content_by_the_forward_displacement() -> None:
    """A uniform field of 1.5 px * (cos(2 pi t / 150) - 1) moves a layer exactly 3 px left at t = 75."""
    scene = Scene(W, H)
    s = scene.full_sprite()
    x, y = s.grid()
    s.paint(np.ones_like(x), np.stack([np.sin(x * 0.7) * 0.4 + 0.5, (y % 7) / 7, (x * y % 11) / 11], axis=-1))
    scene.add(s.layer("water", MotionField([Term(harmonic(1), (1.5 + 0j, 0j))])))
    sample_image = scene.render().image
    moved = scene.frame(75.0)
    assert np.array_equal(moved[:, : W - 3], sample_image[:, 3:])
    assert not np.array_equal(moved, sample_image)


def test_harmonic_scene_loops_and_really_moves() -> None:
    for seed in (1, 2, 5):
        sample = synth.render_sample(seed, W, H, harmonic_only=True)
        assert all(is_harmonic(f) for f in sample.motion_freqs_hz)
        first, loop, middle = sample.frames([0.0, 150.0, 60.0])
        assert np.abs(loop.astype(int) - first).max() <= 1
        if sample.motion_energy().max() > 0.1:
            assert np.abs(middle.astype(int) - first).mean() > 0.05


def test_harmonic_only_keeps_the_image_and_drops_off_harmonic_terms() -> None:
    for seed in range(12):
        full = synth.render_sample(seed, W, H)
        if not all(is_harmonic(f) for f in full.motion_freqs_hz):
            break
    else:
        pytest.fail("no scene among 12 had off-harmonic motion")
    harmonic_only = synth.render_sample(seed, W, H, harmonic_only=True)
    assert np.array_equal(full.image, harmonic_only.image)
    assert all(is_harmonic(f) for f in harmonic_only.motion_freqs_hz)


def test_spectral_volume_reconstructs_harmonic_trajectories() -> None:
    sample = synth.render_sample(8, W, H, harmonic_only=True)
    traj = sample.trajectories()
    assert traj.shape == (150, 2, H, W) and traj.dtype == np.float32
    assert not traj[0].any()  # anchored: frame 0 is the input
    assert np.abs(traj).max() > 0.3
    rebuilt = spectral.displacements(sample.spectral_volume(), np.arange(150))
    np.testing.assert_allclose(rebuilt, traj, atol=1e-4 * max(1.0, float(np.abs(traj).max())))


def test_closed_form_spectrum_equals_fft_of_trajectories_with_off_harmonic_motion() -> None:
    for seed in range(12):
        sample = synth.render_sample(seed, W, H)
        if not all(is_harmonic(f) for f in sample.motion_freqs_hz):
            break
    fft = spectral.from_trajectories(sample.trajectories(), fps=30, num_bands=16)
    scale = float(np.abs(sample.coeffs).max())
    assert scale > 0
    np.testing.assert_allclose(fft.coeffs, sample.coeffs, atol=1e-5 * scale)


def test_spectral_volume_is_a_valid_motion_file(tmp_path) -> None:
    sample = synth.render_sample(2, W, H)
    sv = sample.spectral_volume()
    assert sv.natural_period_frames() == 150
    loaded = spectral.load(spectral.save(sv, tmp_path / "m.npz"))
    assert np.array_equal(loaded.coeffs, sample.coeffs)
    assert loaded.meta["seed"] == 2 and loaded.meta["family"] == sample.family


def test_bad_arguments_say_what_to_fix() -> None:
    with pytest.raises(InputError, match="family"):
        synth.render_sample(0, W, H, family="jungle")
    with pytest.raises(InputError, match="too small"):
        synth.render_sample(0, 8, 8)
    with pytest.raises(InputError, match="count"):
        synth.generate_dataset("/nonexistent-never-created", 0)


# ----------------------------------------------------------------------------------------------------------------------
# Datasets


def test_generate_dataset_writes_readable_shards_and_stats(tmp_path) -> None:
    calls = []
    info = synth.generate_dataset(tmp_path / "d", 5, seed=11, width=W, height=H, shard_size=2,
                                  progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 5) for i in range(1, 6)]
    again = shards.read_info(tmp_path / "d")
    assert (again.count, again.width, again.height, again.num_bands, again.window_frames) == (5, W, H, 16, 150)
    assert again.shards == ("shard_00000.npz", "shard_00001.npz", "shard_00002.npz")
    data = shards.load_all(again)
    assert data["images"].shape == (5, H, W, 3) and data["coeffs"].shape == (5, 16, 4, H, W)
    # every stored sample is re-rendered by its id
    for i in (0, 4):
        sample = synth.render_sample(int(data["sample_ids"][i]), W, H)
        assert np.array_equal(data["images"][i], sample.image)
        assert data["kinds"][i] == sample.family
        stored = shards.channels_to_coeffs(data["coeffs"][i])
        np.testing.assert_allclose(stored, sample.coeffs, atol=2e-3 * max(1.0, float(np.abs(sample.coeffs).max())))
    stats = load_norm_stats(info.norm_stats_path)
    assert stats.count == 5 and stats.num_bands == 16 and np.all(stats.scales > 0)


def test_cancel_keeps_finished_samples_and_a_valid_index(tmp_path) -> None:
    class Token:
        cancelled = False

    token = Token()

    def progress(done: int, total: int) -> None:
        token.cancelled = done >= 3

    info = synth.generate_dataset(tmp_path / "d", 10, width=W, height=H, shard_size=2, progress=progress, cancel=token)
    assert info.count == 3 and len(info.shards) == 2
    assert shards.read_info(tmp_path / "d").count == 3
    assert len(shards.load_all(info)["images"]) == 3
    assert load_norm_stats(info.norm_stats_path).count == 3
    assert not list((tmp_path / "d").glob(".*tmp*"))  # no temporary files left behind


def test_cancel_before_any_sample_raises_and_writes_no_index(tmp_path) -> None:
    with pytest.raises(CancelledError):
        synth.generate_dataset(tmp_path / "d", 4, width=W, height=H, cancel=lambda: True)
    assert not (tmp_path / "d" / shards.INDEX_NAME).exists()


def test_existing_dataset_is_refused_or_replaced(tmp_path) -> None:
    folder = tmp_path / "d"
    synth.generate_dataset(folder, 3, width=W, height=H, shard_size=1)
    with pytest.raises(InputError, match="overwrite"):
        synth.generate_dataset(folder, 1, width=W, height=H)
    info = synth.generate_dataset(folder, 1, seed=5, width=W, height=H, overwrite=True)
    assert info.count == 1 and info.shards == ("shard_00000.npz",)
    assert sorted(p.name for p in folder.glob("shard_*.npz")) == ["shard_00000.npz"]  # stale shards removed
    assert json.loads((folder / "norm_stats.json").read_text())["count"] == 1


def test_parallel_workers_write_the_same_dataset(tmp_path) -> None:
    one = synth.generate_dataset(tmp_path / "a", 3, seed=2, width=W, height=H, shard_size=2)
    two = synth.generate_dataset(tmp_path / "b", 3, seed=2, width=W, height=H, shard_size=2, workers=2)
    a, b = shards.load_all(one), shards.load_all(two)
    for key in ("images", "coeffs", "sample_ids", "kinds"):
        assert np.array_equal(a[key], b[key])


def test_parallel_workers_write_the_same_statistics(tmp_path) -> None:
    one = synth.generate_dataset(tmp_path / "a", 3, seed=2, width=W, height=H, shard_size=2)
    two = synth.generate_dataset(tmp_path / "b", 3, seed=2, width=W, height=H, shard_size=2, workers=2)
    assert one.norm_stats_path.read_text() == two.norm_stats_path.read_text()


def _random_samples(count: int, k: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
             (rng.standard_normal((k, 2, H, W)) + 1j * rng.standard_normal((k, 2, H, W))).astype(np.complex64))
            for _ in range(count)]


def test_writer_threads_write_the_same_shards_and_index_them_in_order(tmp_path) -> None:
    freqs = spectral.harmonic_freqs(16, 150, 30.0)
    samples = _random_samples(7)
    infos = []
    for name, threads in (("sync", 1), ("threads", 3)):
        writer = shards.ShardWriter(tmp_path / name, W, H, freqs, 30.0, 150, "test", shard_size=2,
                                    write_threads=threads)
        for i, (image, coeffs) in enumerate(samples):
            writer.add(image, coeffs, i, "kind")
        infos.append(writer.close())
    sync, threaded = infos
    assert threaded.shards == sync.shards == tuple(f"shard_{i:05d}.npz" for i in range(4))
    assert threaded.count == 7
    a, b = shards.load_all(sync), shards.load_all(threaded)
    for key in ("images", "coeffs", "sample_ids", "kinds"):
        assert np.array_equal(a[key], b[key])


def test_a_failed_shard_write_surfaces_and_leaves_only_finished_shards_indexed(tmp_path, monkeypatch) -> None:
    freqs = spectral.harmonic_freqs(16, 150, 30.0)
    real_write = shards._write_shard

    def failing(path, arrays):
        if path.name == "shard_00001.npz":
            raise OSError(28, "No space left on device")
        real_write(path, arrays)

    monkeypatch.setattr(shards, "_write_shard", failing)
    writer = shards.ShardWriter(tmp_path, W, H, freqs, 30.0, 150, "test", shard_size=2, write_threads=2)
    with pytest.raises(OSError, match="No space left"):
        for i, (image, coeffs) in enumerate(_random_samples(6)):
            writer.add(image, coeffs, i)
        writer.close()
    writer.abandon()
    index = json.loads((tmp_path / shards.INDEX_NAME).read_text())
    assert index["shards"] == ["shard_00000.npz"] and index["count"] == 2
    assert not (tmp_path / "shard_00001.npz").exists()


def test_full_size_samples_are_valid_and_report_their_speed() -> None:
    """Renders a few 256x160 samples; prints seconds per sample (run with -s to see it)."""
    times = []
    for i in range(4):
        start = time.perf_counter()
        sample = synth.render_sample(synth.sample_seed(0, i))
        times.append(time.perf_counter() - start)
        assert sample.image.shape == (160, 256, 3) and sample.coeffs.shape == (16, 2, 160, 256)
        assert np.isfinite(sample.coeffs.real).all() and np.isfinite(sample.coeffs.imag).all()
        assert np.abs(sample.trajectories()).max() <= 12.5  # the per-layer displacement cap
    print(f"\nsynthetic 256x160 sample: {np.mean(times):.3f} s mean, {np.max(times):.3f} s max over {len(times)}")
