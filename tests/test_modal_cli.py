"""`image-dynamics poke` end to end: the still until the force, a swing after it, forces files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from image_dynamics import io
from image_dynamics.cli import main


def run(*args: object) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def motion_file(tmp_path: Path, rgb_png: Path) -> Path:
    out = tmp_path / "motion.npz"
    assert run("-q", "motion", "procedural", rgb_png, "-o", out, "--amplitude", "2", "--seed", "3",
               "--coherence", "12") == 0
    return out


def test_poke_rests_until_the_force_then_swings(tmp_path, rgb_png, motion_file):
    out = tmp_path / "poke"
    code = run("-q", "poke", rgb_png, "--motion", motion_file, "--at", "20,12", "--force", "6,-2", "--at-time", "0.2",
               "--length", "1", "--fps", "10", "-o", out, "--displacement", "forward")
    assert code == 0
    frames = sorted(out.glob("scene_[0-9]*.png"))
    assert [f.name for f in frames] == [f"scene_{i:04d}.png" for i in range(1, 12)]  # 0 .. 1 s at 10 fps
    still = io.read_image(rgb_png).pixels
    pixels = [io.read_image(f).pixels for f in frames]
    for frame in pixels[:3]:  # t = 0, 0.1, 0.2 s: the force starts at 0.2 s
        assert np.array_equal(frame, still)
    assert all(np.abs(frame - still).max() > 0.02 for frame in pixels[3:6])
    moved = io.read_displacement_exr(out / "scene_forward_0004.exr")[0]
    size = np.hypot(moved[0], moved[1])
    assert size[12, 20] > 0.3 and size[12, 20] > size.mean()
    assert not list(out.glob(".*"))  # nothing staged left behind


def test_a_zero_force_renders_the_still_bit_for_bit(tmp_path, rgb_png, motion_file):
    out = tmp_path / "zero"
    assert run("-q", "poke", rgb_png, "--motion", motion_file, "--at", "20,12", "--force", "0,0", "--length", "0.5",
               "-o", out, "--fps", "8") == 0
    still = io.read_image(rgb_png).pixels
    frames = sorted(out.glob("*.png"))
    assert len(frames) == 5 and all(np.array_equal(io.read_image(f).pixels, still) for f in frames)


def test_a_forces_file_adds_to_the_poke(tmp_path, rgb_png, motion_file):
    forces = tmp_path / "forces.json"
    forces.write_text(json.dumps([{"at": [44, 10], "force": [0, 8], "time": 0.3, "duration": 0.4, "radius": 6,
                                   "curve": [[0, 0], [0.2, 1], [0.4, 0]]}]))
    common = ["--motion", motion_file, "--length", "1.2", "--fps", "10", "--format", "exr",
              "--displacement", "forward"]
    assert run("-q", "poke", rgb_png, *common, "--at", "20,12", "--force", "5,1", "-o", tmp_path / "a") == 0
    assert run("-q", "poke", rgb_png, *common, "--forces", forces, "-o", tmp_path / "b") == 0
    assert run("-q", "poke", rgb_png, *common, "--at", "20,12", "--force", "5,1", "--forces", forces,
               "-o", tmp_path / "ab") == 0
    for n in (6, 9, 13):  # 0.5, 0.8 and 1.2 s: during the gust and after it
        name = f"scene_forward_{n:04d}.exr"
        a, b, ab = (io.read_displacement_exr(tmp_path / d / name)[0] for d in ("a", "b", "ab"))
        assert np.abs(b).max() > 0.05
        np.testing.assert_allclose(ab, a + b, atol=1e-4)


def test_strength_doubles_every_displacement(tmp_path, rgb_png, motion_file):
    common = ["-q", "poke", rgb_png, "--motion", motion_file, "--at", "20,12", "--force", "3,0", "--length", "0.6",
              "--fps", "10", "--format", "exr", "--displacement", "forward"]
    assert run(*common, "-o", tmp_path / "one") == 0
    assert run(*common, "--strength", "2", "-o", tmp_path / "two") == 0
    one = io.read_displacement_exr(tmp_path / "one" / "scene_forward_0005.exr")[0]
    two = io.read_displacement_exr(tmp_path / "two" / "scene_forward_0005.exr")[0]
    assert np.abs(one).max() > 0.05
    np.testing.assert_allclose(two, 2 * one, atol=1e-4)


@pytest.mark.parametrize("extra, words", [
    (["--at", "64,12", "--force", "1,0"], ["--at/--force at (64, 12) is outside the 64x48 image"]),
    (["--at", "20,12", "--force", "nan,1"], ["--force 'force'", "finite"]),
    (["--at", "20,12", "--force", "1,0", "--damping-ratio", "-0.2"], ["--damping-ratio", "between 0 and 1"]),
    (["--at", "20,12", "--force", "1,0", "--at-time", "3", "--length", "2"], ["after the last frame", "--length"]),
    (["--at", "20,12", "--force", "1,0", "--loop-frames", "30"], ["--loop-frames", "does not loop"]),
    (["--at", "20,12", "--force", "1,0", "--slow-motion", "2"], ["--slow-motion", "does not loop"]),
    (["--at", "20,12"], ["--at needs --force"]),
    ([], ["nothing pokes the image"]),
    (["--duration", "1"], ["--at-time, --duration and --radius"]),
    (["--forces", "missing.json"], ["missing.json", "not found"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, rgb_png, motion_file, capsys, extra, words):
    out = tmp_path / "bad"
    code = run("poke", rgb_png, "--motion", motion_file, "-o", out, *extra)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("image-dynamics: error: "), err
    for word in words:
        assert word in err
    assert not out.exists() or not any(out.iterdir())


def test_existing_frames_are_not_overwritten(tmp_path, rgb_png, motion_file, capsys):
    out = tmp_path / "keep"
    args = ["-q", "poke", rgb_png, "--motion", motion_file, "--at", "20,12", "--force", "2,0", "--length", "0.2",
            "--fps", "10", "-o", out]
    assert run(*args) == 0
    before = (out / "scene_0002.png").read_bytes()
    assert run(*args, "--force", "9,0") == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "scene_0002.png").read_bytes() == before


def test_a_bad_force_in_a_file_is_named_by_file_and_index(tmp_path, rgb_png, motion_file, capsys):
    forces = tmp_path / "forces.json"
    forces.write_text(json.dumps([{"at": [3, 3], "force": [1, 0]}, {"at": [10, 60], "force": [0, 1], "time": 0.2}]))
    code = run("poke", rgb_png, "--motion", motion_file, "--forces", forces, "--length", "1", "-o", tmp_path / "o")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{forces}: force 1 at (10, 60) is outside the 64x48 image" in err
