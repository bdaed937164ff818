"""Blender-rendered training scenes (image_dynamics.data.render): the numpy side, shards with `known`, resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from image_dynamics import spectral
from image_dynamics.data import shards
from image_dynamics.data.render import truth as truth_mod
from image_dynamics.data.render.camera import Camera, look_at
from image_dynamics.data.render.motion import Motion, gerstner
from image_dynamics.data.render.scene import FAMILIES, layout
from image_dynamics.errors import InputError


def _camera(w=64, h=40, fstop=0.0, focus=10.0):
    return Camera(look_at((0, -3, 1), (0, 0, 1)), 35.0, 36.0, w, h, fstop, focus)


def test_importing_the_package_and_runtime_never_imports_bpy():
    code = textwrap.dedent("""
        import sys
        import image_dynamics, image_dynamics.spectral, image_dynamics.render, image_dynamics.model
        import image_dynamics.data.synth, image_dynamics.data.shards
        import image_dynamics.data.render, image_dynamics.data.render.dataset, image_dynamics.data.render.scene
        import image_dynamics.data.render.truth, image_dynamics.data.render.__main__
        assert 'bpy' not in sys.modules, 'bpy was imported'
        print('clean')
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "clean" in out.stdout


def test_projection_puts_the_target_at_the_centre_and_y_down():
    cam = _camera()
    centre = cam.project(np.array([[0.0, 0.0, 1.0]]))[0]
    np.testing.assert_allclose(centre, [32.0, 20.0], atol=1e-9)
    right_up = cam.project(np.array([[0.3, 0.0, 1.2]]))[0]
    assert right_up[0] > 32 and right_up[1] < 20  # +x world is right, +z world is up (smaller row)
    np.testing.assert_allclose(right_up[0] - 32, 0.3 / 3 * cam.focal_px, rtol=1e-9)


def test_gerstner_wave_moves_water_on_circles_and_forwards_at_crests():
    m = gerstner(Motion.empty(), 0.6, 0.05, 0.0, 0.0)
    t = np.arange(0, 150, dtype=float)
    d = m.displace(np.array([[0.0, 0.0, 0.0]]), t)[:, 0]
    np.testing.assert_allclose(np.hypot(d[:, 0], d[:, 2]), 0.05, rtol=1e-9)  # circle of radius a
    crest = np.argmax(d[:, 2])
    assert d[(crest + 1) % 150, 0] > d[crest, 0]  # at the crest the water moves along +x, the wave's direction
    assert np.all(np.abs(d[:, 1]) < 1e-12)


def _passes(h, w):
    z3 = np.zeros((h, w, 3), np.float32)
    return {"mov": np.zeros((h, w), np.float32), "rest": z3.copy(), "rest_sq": z3.copy(), "rest_x": z3.copy(),
            "part": np.zeros((h, w), np.float32), "part_sq": np.zeros((h, w), np.float32)}


def _put(passes, y, x, samples):
    """Fill pixel (y, x) with the means over ``samples``: list of (P or None for static/sky, part id)."""
    n = len(samples)
    for p, pid in samples:
        if p is None:
            continue
        p = np.asarray(p, np.float64)
        passes["mov"][y, x] += 1 / n
        passes["rest"][y, x] += p / n
        passes["rest_sq"][y, x] += p * p / n
        passes["rest_x"][y, x] += np.array([p[0] * p[1], p[1] * p[2], p[2] * p[0]]) / n
        passes["part"][y, x] += pid / n
        passes["part_sq"][y, x] += pid * pid / n


def test_truth_marks_mixtures_unknown_keeps_static_known_and_unknown_never_looks_static():
    cam = _camera()
    sway = Motion.empty().add(0.4, (0.1, 0.0, 0.05), origin=(0, 0, 0), axis=(0, 0, 1), length=1.0, power=2.0)
    other = Motion.empty().add(1.0, (0.0, 0.0, 0.1))
    passes = _passes(40, 64)
    a, b = (0.0, 0.0, 1.0), (0.0, 0.0, 1.004)
    _put(passes, 0, 0, [(None, 0)] * 4)  # sky or static only
    _put(passes, 0, 1, [(a, 1), (b, 1), (a, 1), (b, 1)])  # one moving surface, tiny footprint
    _put(passes, 0, 2, [(a, 1), (None, 0), (a, 1), (a, 1)])  # silhouette against the static background
    _put(passes, 0, 3, [(a, 1), (a, 2), (a, 1), (a, 1)])  # two moving parts
    _put(passes, 0, 4, [(a, 1), (a, 1), ((0.0, 0.0, 0.05), 1), ((0.0, 0.0, 0.05), 1)])  # tip over a blade's root
    tr = truth_mod.compute_truth(passes, {1: sway, 2: other}, cam)
    assert tr.known[0, 0] == 1 and np.all(tr.coeffs[:, :, 0, 0] == 0)
    assert tr.known[0, 1] == 1 and np.abs(tr.coeffs[:, :, 0, 1]).max() > 0.1
    assert [int(tr.reason[0, x]) for x in (2, 3, 4)] == [truth_mod.MIXED_COVER, truth_mod.MIXED_PARTS,
                                                         truth_mod.SPREAD]
    assert np.all(tr.known[0, 2:5] == 0)
    energy = (np.abs(tr.coeffs[1:]) ** 2).sum(axis=(0, 1))
    assert np.all(energy[tr.moving & (tr.known == 0)] > 1e-4)  # unknown pixels are never stored as static
    # known pixel: its coefficients are the DFT of the projected trajectory of its mean rest position
    p = np.array([[0.0, 0.0, 1.002]])
    xy = cam.project(p[None] + sway.displace(p, np.arange(150.0)))[:, 0]
    sv = spectral.from_trajectories((xy - xy[0]).reshape(150, 2, 1, 1).astype(np.float32))
    np.testing.assert_allclose(tr.coeffs[:, :, 0, 1], sv.coeffs[:, :, 0, 0], atol=2e-5)


def test_defocus_blur_over_half_a_pixel_makes_moving_pixels_unknown_but_not_static_ones():
    cam = _camera(fstop=2.0, focus=1.0)
    sway = Motion.empty().add(0.4, (0.1, 0.0, 0.0))
    passes = _passes(40, 64)
    _put(passes, 0, 0, [((0.0, 0.0, 1.0), 1)] * 4)  # 3 m away, focused at 1 m: blurred
    _put(passes, 0, 1, [(None, 0)] * 4)
    tr = truth_mod.compute_truth(passes, {1: sway}, cam)
    assert cam.blur_px(np.array([0.0, 0.0, 1.0])) > 0.5
    assert tr.reason[0, 0] == truth_mod.DEFOCUS and tr.known[0, 1] == 1


def test_layout_is_a_pure_function_of_the_seed_and_families_have_motion():
    a, b = layout(11, 96, 60), layout(11, 96, 60)
    assert a.family == b.family and len(a.objects) == len(b.objects)
    for oa, ob in zip(a.objects, b.objects):
        assert np.array_equal(oa.verts, ob.verts) and oa.material == ob.material and oa.part == ob.part
    pts = np.random.default_rng(0).normal(size=(5, 3))
    for pid, m in a.motions.items():
        assert np.array_equal(m.displace(pts, [3.0, 40.0]), b.motions[pid].displace(pts, [3.0, 40.0]))
    for family in FAMILIES:
        spec = layout(5, 96, 60, family)
        if family != "towers":  # towers: street trees in half the scenes (its own test)
            assert bool(spec.motions) == (family != "still_life"), family  # all but the still close-ups move
        assert any(o.part == 0 for o in spec.objects), family  # and something static


def test_still_life_close_ups_and_rooms_are_still_and_framed_like_the_specimen_close_ups():
    subjects, distances = set(), []
    for seed in range(40):
        spec = layout(seed, 256, 160, "still_life")
        assert not spec.motions and all(o.part == 0 and o.motion is None for o in spec.objects), seed
        names = {o.name for o in spec.objects}
        subjects |= names
        # the subject stands in the middle of the frame, 0.6-4 m away, as a specimen plant does
        assert 0.6 <= spec.camera.focus_m <= 4.5 or spec.camera.fstop == 0.0, seed
        if "desk" in names:  # a still room: walls round it, nothing from the interior family that moves
            assert {"floor", "back_wall", "side_wall"} <= names and not names & {"curtain", "flame", "candle"}, seed
        distances.append(np.linalg.norm(spec.objects[-1].verts.mean(0) - spec.camera.position))
        cars = [o for o in spec.objects if o.name == "car_body"]
        for car in cars:  # parked cars stay behind the subjects, never filling the frame
            assert np.linalg.norm(car.verts.mean(0) - spec.camera.position) > 3.0, seed
    assert {"pot", "posts", "stones", "bench", "crates", "sculpture", "lamp_pole", "car_body", "wall"} <= subjects
    # and still rooms (v12): a desk and what stands round it, in about 40 % of the scenes
    rooms = [seed for seed in range(40) if "desk" in {o.name for o in layout(seed, 256, 160, "still_life").objects}]
    assert 8 <= len(rooms) <= 24
    assert {"desk_lamp", "chair", "screen", "door", "shelf", "stand"} <= subjects
    assert 0.6 <= np.median(distances) <= 5.0
    # the specimen family shares its surroundings' code and keeps its layouts: the same first objects as v10
    spec = layout(3, 256, 160, "specimen")
    assert spec.objects[0].name == "ground" and spec.motions


def test_shards_store_known_and_read_datasets_without_it_as_all_known(tmp_path):
    freqs = spectral.harmonic_freqs(16, 150, 30.0)
    img = np.zeros((32, 48, 3), np.uint8)
    coeffs = np.zeros((16, 2, 32, 48), np.complex64)
    known = np.ones((32, 48), np.uint8)
    known[3:5, 7:9] = 0
    w = shards.ShardWriter(tmp_path / "a", 48, 32, freqs, 30.0, 150, "t", shard_size=2)
    w.add(img, coeffs, 1, "x", known)
    w.add(img, coeffs, 2, "x")  # no mask: all known
    w.add(img, coeffs, 3, "x")
    info = w.close()
    data = shards.load_all(info)
    assert data["known"].shape == (3, 32, 48) and data["known"].dtype == np.uint8
    assert data["known"][0].sum() == 48 * 32 - 4 and data["known"][1:].min() == 1
    first, second = list(shards.iter_shards(info))
    assert "known" in first and "known" not in second  # a shard without masks stores none
    assert shards.known_mask(second).min() == 1


_FAKE_RUN = textwrap.dedent("""
    import sys, time
    import numpy as np
    from image_dynamics.data.render import dataset

    def fake_job(job):  # stands in for the bpy worker: the resume logic is what is tested here
        seed, w, h, threads, samples, _families, _exposure = job
        time.sleep(float(sys.argv[3]))
        rng = np.random.default_rng(seed % (2 ** 32))
        known = (rng.random((h, w)) > 0.2).astype(np.uint8)
        channels = rng.normal(size=(16, 4, h, w)).astype(np.float16)
        return seed, "meadow", rng.integers(0, 255, (h, w, 3), dtype=np.uint8), channels, known

    dataset._render_job = fake_job
    dataset.generate_render_dataset(sys.argv[1], int(sys.argv[2]), seed=5, width=40, height=32, shard_size=2,
                                    workers=0)
""")


def test_a_killed_render_run_resumes_losing_at_most_one_shard(tmp_path):
    from image_dynamics.data.synth import sample_seed

    script = tmp_path / "run.py"
    script.write_text(_FAKE_RUN)
    out = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, str(script), str(out), "9", "0.15"])
    index = out / shards.INDEX_NAME
    deadline = time.time() + 30
    while time.time() < deadline and not (index.exists() and json.loads(index.read_text())["count"] >= 4):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = shards.read_info(out)
    assert 4 <= killed.count < 9 and not (out / "norm_stats.json").exists()
    subprocess.run([sys.executable, str(script), str(out), "9", "0"], check=True, timeout=60)
    info = shards.read_info(out)
    data = shards.load_all(info)
    assert info.count == 9 and len(info.shards) == 5
    assert list(data["sample_ids"]) == [sample_seed(5, i) for i in range(9)]  # in order, none twice, none missing
    assert data["known"].shape == (9, 32, 40) and (out / "norm_stats.json").exists()


def test_data_render_cli_refuses_bad_input_with_one_line(tmp_path, capsys):
    from image_dynamics.cli import main
    from image_dynamics.data.synth import generate_dataset

    assert main(["data", "render", "-o", str(tmp_path / "r"), "--count", "0"]) == 2
    assert "--count must be at least 1" in capsys.readouterr().err
    assert main(["data", "render", "-o", str(tmp_path / "r"), "--count", "2", "--size", "64by40"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    generate_dataset(tmp_path / "synth", 1, width=48, height=32)  # a 2-D synthetic dataset is not continued
    assert main(["data", "render", "-o", str(tmp_path / "synth"), "--count", "2", "--size", "48x32"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "synthetic-v1" in err and "Traceback" not in err


def test_an_error_in_a_scene_keeps_the_samples_before_it_and_a_rerun_continues(tmp_path, monkeypatch):
    from image_dynamics.data.render import dataset
    from image_dynamics.data.synth import sample_seed

    failing = {sample_seed(4, 5)}

    def job(j):
        seed, w, h, _threads, _samples, _families, _exposure = j
        if seed in failing:
            raise RuntimeError("scene failed")
        return seed, "lake", np.zeros((h, w, 3), np.uint8), np.zeros((16, 4, h, w), np.float16), \
            np.ones((h, w), np.uint8)

    monkeypatch.setattr(dataset, "_render_job", job)
    with pytest.raises(RuntimeError, match="scene failed"):
        dataset.generate_render_dataset(tmp_path, 8, seed=4, width=40, height=32, shard_size=4, workers=0)
    assert shards.read_info(tmp_path).count == 5  # a full shard and a short one
    failing.clear()
    info = dataset.generate_render_dataset(tmp_path, 8, seed=4, width=40, height=32, shard_size=4, workers=0)
    assert list(shards.load_all(info)["sample_ids"]) == [sample_seed(4, i) for i in range(8)]


def test_expected_hidden_gains_keep_the_picture_and_change_only_what_it_does_not_show():
    from image_dynamics.data.render.scene import expected_hidden_gains

    for family in ("meadow", "village", "campfire", "coast"):
        drawn = layout(21, 96, 60, family)
        with expected_hidden_gains():
            expected = layout(21, 96, 60, family)
        assert [o.name for o in drawn.objects] == [o.name for o in expected.objects]
        changed = set()
        for a, b in zip(drawn.objects, expected.objects):
            assert np.array_equal(a.verts, b.verts) and a.material == b.material
            if a.motion is None:
                continue
            # frame 0 (the mesh Blender renders) is the same: the picture does not change
            np.testing.assert_allclose(a.motion.positions(a.verts, 0.0), b.motion.positions(b.verts, 0.0), atol=1e-12)
            if not np.array_equal(a.motion.amps, b.motion.amps):
                changed.add(a.name)
        hidden = {o.name for o in drawn.objects if o.motion is not None and o.motion.anchored}
        assert changed == hidden, family  # exactly the anchored (plant, flame) motions take their RMS
        assert hidden or family == "coast", family  # these scenes of seed 21 hold plants or flames
        assert not any(o.motion.anchored for o in drawn.objects if o.name in ("lake", "sea", "flag", "laundry"))


def test_waterfront_scenes_show_static_paving_below_moving_water_and_streets_hold_static_paint_and_scaffolds():
    # the real photos this family answers: a quay in the bottom of the frame, the sea above it (docs/data.md)
    for seed in range(12):
        spec = layout(seed, 256, 160, "waterfront")
        quay = next(o for o in spec.objects if o.name == "quay")
        water = [o for o in spec.objects if o.name in ("sea", "lake")]
        assert quay.part == 0 and len(water) == 1 and water[0].part > 0
        top = quay.verts[:, 2].max()
        edge = quay.verts[:, 1].max()
        rows = spec.camera.project(np.array([[0.0, edge, top]]))[0, 1] / spec.camera.height  # 0 top, 1 bottom
        assert 0.5 < rows < 0.92, (seed, rows)  # the quay's edge is in the lower half: paving below, water above
        assert spec.camera.position[2] > top + 1.0  # standing on it
    names = {o.name: o.part for seed in range(40) for o in layout(seed, 96, 60, "village").objects}
    assert names.get("markings") == 0 and names.get("scaffold") == 0


def test_rockery_scenes_hold_still_stones_in_view_and_plants_that_sway_from_their_roots_on_them():
    # the real photo this family answers: a rock garden whose stones the earlier models moved (docs/data.md)
    rooted_on_stone = 0
    for seed in range(10):
        spec = layout(seed, 256, 160, "rockery")
        stones = [o for o in spec.objects if o.name == "stones"]
        assert stones and all(o.part == 0 and o.motion is None for o in stones)
        stone_px = spec.camera.project(np.concatenate([o.verts for o in stones]))
        inside = ((stone_px[:, 0] >= 0) & (stone_px[:, 0] < 256) & (stone_px[:, 1] >= 0) & (stone_px[:, 1] < 160))
        assert inside.mean() > 0.3, seed  # the mound is in the frame, not beside it
        for crown in (o for o in spec.objects if o.name == "leaf_crown"):
            assert crown.part > 0
            root_z = crown.motion.origins[0, 2]
            if root_z > 0.1:
                rooted_on_stone += 1
                low = crown.verts[crown.verts[:, 2] < root_z + 0.05]  # leaves at the root barely move
                high = crown.verts[crown.verts[:, 2] > crown.verts[:, 2].max() - 0.05]
                times = np.arange(0, 150, 10)
                assert (np.abs(crown.motion.displace(low, times)).max() if len(low) else 0.0) < \
                    np.abs(crown.motion.displace(high, times)).max()
    assert rooted_on_stone >= 10


def test_specimen_scenes_frame_plants_close_up_that_sway_by_pixels_beside_still_surroundings():
    # the pictures this family answers: close-ups of single plants, which the earlier models moved by tenths of a pixel
    times = np.arange(0, 150, 5)
    still, medians = set(), []
    for seed in range(10):
        spec = layout(seed, 256, 160, "specimen")
        still |= {o.name for o in spec.objects if o.part == 0}
        plants = [o for o in spec.objects if o.part > 0]
        verts = np.concatenate([o.verts for o in plants])
        px = spec.camera.project(verts)
        inside = (px[:, 0] >= 0) & (px[:, 0] < 256) & (px[:, 1] >= 0) & (px[:, 1] < 160)
        rows = px[inside, 1]
        assert inside.sum() > 100 and np.ptp(rows) > 0.4 * 160, seed  # plants in the frame fill much of its height
        swing = []
        for o in plants:
            shown = inside[:len(o.verts)]
            inside = inside[len(o.verts):]
            pts = o.verts[shown][::7]
            moved = np.stack([spec.camera.project(pts + d) for d in o.motion.displace(pts, times)])
            swing.append(np.hypot(*(moved - moved.mean(0)).transpose(2, 0, 1)).max(0))
        medians.append(np.median(np.concatenate(swing)))
        assert medians[-1] > 0.4, seed  # calm days too, but never still
    assert np.median(medians) > 1.0  # in most scenes most of the plant moves by more than a pixel
    assert {"wall", "pot", "soil", "rocks", "ground"} <= still  # what stands beside the plants stays still


def test_specimen_flowers_turn_open_faces_with_a_disc_to_the_camera_and_other_families_keep_theirs():
    # edge-on petals are all silhouette (unknown motion) at the grid's size; a face with a solid disc is one surface
    faced = 0
    for seed in range(40):
        spec = layout(seed, 256, 160, "specimen")
        by_name = {o.name: o for o in spec.objects}
        if "flower_heads" not in by_name:
            continue
        assert "flower_discs" in by_name, seed
        discs, stems = by_name["flower_discs"], by_name["flower_stems"]
        assert discs.part == stems.part and discs.motion is stems.motion  # one plant, one motion
        fans = discs.verts.reshape(-1, 13, 3)  # a raised centre and a rim of 12
        normals = fans[:, 0] - fans[:, 1:].mean(axis=1)
        to_camera = spec.camera.position[None] - fans[:, 0]
        cosine = (normals * to_camera).sum(1) / np.linalg.norm(normals, axis=1) / np.linalg.norm(to_camera, axis=1)
        assert np.mean(cosine > 0.2) >= 0.7, seed  # most faces turned to the camera, not edge-on
        rim = spec.camera.project(fans[:, 1:].reshape(-1, 3)).reshape(-1, 12, 2)
        assert np.median(np.ptp(rim[..., 0], axis=1)) > 2.0, seed  # several pixels across at 256 px
        faced += 1
    assert faced >= 5
    for family in ("meadow", "garden"):  # their flowers, seen from metres away, stay as they were
        names = {o.name for s in range(30) for o in layout(s, 256, 160, family).objects}
        assert "flower_heads" in names and "flower_discs" not in names


def test_render_families_can_be_chosen_and_a_folder_resumes_only_with_the_same_ones(tmp_path, monkeypatch, capsys):
    from image_dynamics.cli import main
    from image_dynamics.data.render import dataset
    from image_dynamics.data.render.scene import pick_family

    assert {pick_family(s, ("rockery", "lake")) for s in range(60)} == {"rockery", "lake"}
    assert {layout(s, 96, 60, families=("rockery",)).family for s in range(4)} == {"rockery"}
    assert len({pick_family(s) for s in range(400)}) == len(FAMILIES)
    asked = []

    def job(j):
        seed, w, h, _threads, _samples, families, _exposure = j
        asked.append(families)
        return seed, pick_family(seed, families), np.zeros((h, w, 3), np.uint8), \
            np.zeros((16, 4, h, w), np.float16), np.ones((h, w), np.uint8)

    monkeypatch.setattr(dataset, "_render_job", job)
    info = dataset.generate_render_dataset(tmp_path / "r", 4, seed=4, width=40, height=32, shard_size=2, workers=0,
                                           families=("rockery",))
    assert info.source.endswith("families=rockery") and set(asked) == {("rockery",)}
    assert set(shards.load_all(info)["kinds"]) == {"rockery"}
    with pytest.raises(InputError, match="cannot resume"):  # every family into a rockery-only folder: refused
        dataset.generate_render_dataset(tmp_path / "r", 6, seed=4, width=40, height=32, shard_size=2, workers=0)
    assert main(["data", "render", "-o", str(tmp_path / "q"), "--count", "2", "--families", "rockery,cliffs"]) == 2
    err = capsys.readouterr().err
    assert "no family 'cliffs'" in err and "rockery" in err and "Traceback" not in err


def test_an_exposure_shift_darkens_the_picture_only_and_a_folder_resumes_only_with_the_same_shift(
        tmp_path, monkeypatch, capsys):
    from image_dynamics.cli import main
    from image_dynamics.data.render import dataset
    from image_dynamics.data.render.scene import with_exposure

    spec = layout(11, 96, 60, family="lake")
    dark = with_exposure(spec, -1.9)
    assert dark.world["exposure"] == pytest.approx(spec.world["exposure"] - 1.9)
    assert {k: v for k, v in dark.world.items() if k != "exposure"} == \
        {k: v for k, v in spec.world.items() if k != "exposure"}
    assert dark.objects is spec.objects and dark.camera == spec.camera  # same geometry, so the same motion
    assert with_exposure(spec, 0.0) is spec
    asked = []

    def job(j):
        seed, w, h, _threads, _samples, _families, exposure = j
        asked.append(exposure)
        return seed, "lake", np.zeros((h, w, 3), np.uint8), np.zeros((16, 4, h, w), np.float16), \
            np.ones((h, w), np.uint8)

    monkeypatch.setattr(dataset, "_render_job", job)
    info = dataset.generate_render_dataset(tmp_path / "d", 4, seed=4, width=40, height=32, shard_size=2, workers=0,
                                           families=("lake",), exposure_stops=-1.9)
    assert info.source.endswith("families=lake exposure=-1.9") and set(asked) == {-1.9}
    with pytest.raises(InputError, match="cannot resume"):  # the same folder at another exposure: refused
        dataset.generate_render_dataset(tmp_path / "d", 6, seed=4, width=40, height=32, shard_size=2, workers=0,
                                        families=("lake",))
    plain = dataset.generate_render_dataset(tmp_path / "p", 2, seed=4, width=40, height=32, shard_size=2, workers=0)
    assert "exposure" not in plain.source  # no shift: the source reads as before
    assert main(["data", "render", "-o", str(tmp_path / "q"), "--count", "2", "--exposure", "-9"]) == 2
    err = capsys.readouterr().err
    assert "--exposure -9" in err and "between -6 and 6" in err and "Traceback" not in err


def test_promenade_scenes_put_still_slabs_or_gravel_in_front_of_water_or_a_park_with_facades():
    # the real photos this family answers: the sunset sea's slab quay, a garden's gravel path, a villa behind trees
    beyond = set()
    for seed in range(16):
        spec = layout(seed, 256, 160, "promenade")
        floor = next(o for o in spec.objects if o.name == "promenade")
        assert floor.part == 0 and floor.material["kind"] in ("slabs", "gravel", "paving")
        edge, top = floor.verts[:, 1].max(), floor.verts[:, 2].max()
        rows = spec.camera.project(np.array([[0.0, edge, top]]))[0, 1] / spec.camera.height
        assert 0.3 < rows < 0.95, (seed, rows)  # the floor fills the bottom of the frame, what lies beyond is above
        movers = [o for o in spec.objects if o.part > 0]
        assert movers, seed
        beyond.add("water" if any(o.name in ("sea", "lake") for o in movers) else "park")
        assert all(o.part == 0 for o in spec.objects if o.name in ("house", "roof", "wall", "fence"))
    assert beyond == {"water", "park"}


def _in_frame(spec, points: np.ndarray) -> np.ndarray:
    """bool ``[N]``: which of the world points (metres, ``[N, 3]``) the scene's camera projects inside its frame."""
    uv = spec.camera.project(points)
    return (uv[:, 0] >= 0) & (uv[:, 0] < spec.camera.width) & (uv[:, 1] >= 0) & (uv[:, 1] < spec.camera.height)


def _slopes(motion) -> float:
    """The largest summed slope (amplitude x wavenumber over the vertical terms) of a water object's waves."""
    return float((np.abs(motion.amps[:, 2]) * np.linalg.norm(motion.wavevecs, axis=1)).sum())


def test_calm_water_scenes_put_dim_smooth_water_between_still_banks_facades_and_far_shores():
    # the photos this family answers: the dusk sea and the Venice quay, dim and smooth (docs/water_appearance.txt)
    kinds, still = set(), ("quay", "bank", "embankment", "house", "roof", "windows", "far_quay", "mooring_posts",
                           "ground", "mountains")
    ratios = []
    for seed in range(16):
        spec = layout(seed, 256, 160, "calm_water")
        water = [o for o in spec.objects if o.part > 0 and o.material["kind"] == "calm_water"]
        assert len(water) == 1, seed
        assert all(o.part == 0 for o in spec.objects if o.name in still)
        names = {o.name for o in spec.objects}
        kinds.add("canal" if "embankment" in names else "harbour" if "far_quay" in names else "lake")
        lake = layout(seed, 256, 160, "lake")
        lake_water = next(o for o in lake.objects if o.name == "lake")
        ratios.append(_slopes(water[0].motion) / _slopes(lake_water.motion))
        # both families draw the world alike from the seed, so the calm scene is the lake's 0.5-1.6 stops darker
        assert -1.6 <= spec.world["exposure"] - lake.world["exposure"] <= -0.5, seed
    assert kinds == {"canal", "harbour", "lake"}
    assert np.median(ratios) < 0.4 and max(ratios) < 1.0, ratios  # smoother than the lake family's waves


def test_yard_scenes_hang_folded_laundry_close_before_a_still_wall_and_still_things():
    # the photo this family answers: the validation courtyard's laundry under a shed roof before an orange wall
    roofs = 0
    for seed in range(12):
        spec = layout(seed, 256, 160, "yard")
        laundry = [o for o in spec.objects if o.name == "laundry"]
        assert laundry and all(o.part > 0 for o in laundry), seed
        assert all(o.part == 0 for o in spec.objects if o.name != "laundry" and o.name not in ("leaf_crown", "trunk"))
        wall = next(o for o in spec.objects if o.name == "wall")
        distance = np.linalg.norm(laundry[0].verts.mean(axis=0)[:2] - spec.camera.position[:2])
        assert 1.5 < distance < 7.5 and wall.verts[:, 1].min() > laundry[0].verts[:, 1].max(), seed
        depth = np.ptp(laundry[0].verts[:, 1])  # the folds: the rest shape is not flat
        assert 0.015 < depth < 0.1, (seed, depth)
        roofs += any(o.name == "shed_roof" for o in spec.objects)
    assert 0 < roofs < 12
    # the village family's laundry keeps its flat rest shape (its scenes are v12's, vertex for vertex)
    village = [o for seed in range(40) for o in layout(seed, 96, 60, "village").objects if o.name == "laundry"]
    assert village and all(np.ptp(o.verts[:, 1]) < 1e-9 for o in village)


def test_park_scenes_sway_near_and_distant_trees_beyond_a_still_lawn_and_still_things():
    # the photo this family answers: the places set's park trees (a tree line beyond a lawn, a disc-golf basket)
    baskets = 0
    for seed in range(12):
        spec = layout(seed, 256, 160, "park")
        by_name = {}
        for o in spec.objects:
            by_name.setdefault(o.name, []).append(o)
        assert [o.part > 0 for o in by_name["tree_line"]] == [True], seed
        assert by_name["leaf_crown"] and all(o.part > 0 for o in by_name["leaf_crown"]), seed
        movers = {o.name for o in spec.objects if o.part > 0}
        assert movers <= {"tree_line", "leaf_crown", "trunk"}, (seed, movers)  # lawn, things, houses: still
        lawn = by_name["ground"][0]
        assert lawn.material["kind"] == "lawn" and np.ptp(lawn.verts[:, 2]) < 1e-9, seed  # mown and level
        baskets += "basket" in by_name
    assert 0 < baskets < 12


@pytest.mark.parametrize("family", ["lake", "calm_water", "park"])
def test_distant_tree_lines_sway_a_fraction_of_a_pixel_more_than_nothing(family):
    # generator v14 drew them still, and the networks learned that distant trees are as still as the sky
    from image_dynamics.data.render.motion import FPS

    amplitudes = []
    for seed in range(40):
        spec = layout(seed, 256, 160, family)
        for o in spec.objects:
            if o.name == "tree_line":
                distance = np.linalg.norm(o.verts.mean(axis=0) - spec.camera.position)
                tip = np.abs(o.motion.amps[:2]).max()  # metres, the two sway terms' largest
                amplitudes.append(tip / distance / spec.camera.pixel_angle)
                assert np.all(o.motion.freqs_hz < FPS / 2)
    pixels = np.array(amplitudes)
    assert len(pixels) >= 5 and np.all(pixels > 0.002) and np.median(pixels) < 1.0, pixels


def test_quayside_scenes_put_still_dim_paving_and_calm_water_side_by_side():
    # the photo this family answers: the validation set's Venice quay, wide slabs beside the lagoon at dusk
    sides = set()
    for seed in range(12):
        spec = layout(seed, 256, 160, "quayside")
        movers = [o for o in spec.objects if o.part > 0]
        assert [o.name for o in movers] == ["calm_water"], seed  # the quay, facades and things are still
        quay = next(o for o in spec.objects if o.name == "quay")
        top = quay.verts[:, 2].max()
        x_edge = quay.verts[:, 0].max() if quay.verts[:, 0].mean() < 0 else quay.verts[:, 0].min()
        side = 1.0 if x_edge > 0 else -1.0
        sides.add(side)
        # 20 m ahead, the quay's top just inside its edge and the water just beyond it: both in the frame
        points = np.array([[x_edge - side * 1.0, 20.0, top], [x_edge + side * 1.0, 20.0, 0.0]])
        assert np.all(_in_frame(spec, points)), (seed, spec.camera.project(points))
        # every family draws the world alike from the seed, so the quay is the lake's 0.5-1.6 stops darker
        assert -1.6 <= spec.world["exposure"] - layout(seed, 256, 160, "lake").world["exposure"] <= -0.5, seed
    assert sides == {-1.0, 1.0}


def test_towers_scenes_show_still_blocks_whose_facades_are_grids_turned_to_the_camera():
    # the photo this family answers: the validation set's city towers, office blocks with rows of windows that every
    # frozen-encoder network moved as if they were foliage
    styles_seen, trees = set(), 0
    for seed in range(16):
        spec = layout(seed, 256, 160, "towers")
        movers = {o.name for o in spec.objects if o.part > 0}
        assert movers <= {"leaf_crown", "trunk"}, (seed, movers)  # blocks, grids, cars, paving, skyline: still
        trees += bool(movers)
        towers = [o for o in spec.objects if o.name == "tower"]
        grids = [o for o in spec.objects if o.name == "tower_grid"]
        assert towers and len(grids) == len(towers), seed  # every block shows at least one face with its grid
        for grid in grids:
            styles_seen.add(grid.material["kind"])
            centre = grid.verts.mean(axis=0)
            assert np.linalg.norm(centre[:2]) < 2500, seed
        # the grids are in the picture, not behind the camera
        assert _in_frame(spec, np.concatenate([g.verts for g in grids])).mean() > 0.05, seed
    assert styles_seen == {"glass", "metal"}  # windows in walls or bands, and mullions over glass
    assert 0 < trees < 16


def test_outcrop_scenes_stand_still_bedded_rock_among_swaying_trees():
    # the photo this family answers: the places set's slope, a sandstone pinnacle and cliff among pines
    for seed in range(8):
        spec = layout(seed, 256, 160, "outcrop")
        movers = {o.name for o in spec.objects if o.part > 0}
        assert movers <= {"leaf_crown", "trunk", "tree_line", "grass", "dry_grass"}, (seed, movers)
        assert "leaf_crown" in movers, seed
        rock = [o for o in spec.objects if o.name == "outcrop"]
        assert len(rock) == 1 and rock[0].part == 0 and rock[0].material["kind"] == "sandstone", seed
        assert _in_frame(spec, rock[0].verts).mean() > 0.05, seed  # the rock is in the picture
