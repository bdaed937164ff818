"""Flow and direction options on the command line: `motion flow`, `render`/`animate` with arrows, drift, anchors,
strength maps and direction hints, `info`, and every bad input as one line with exit 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_dynamics import io, spectral
from image_dynamics.cli import main

from .conftest import textured_rgb

WIDTH, HEIGHT = 64, 48


def run(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def scene(tmp_path: Path) -> dict:
    """An image, a flow mask (a band across the middle), arrows inside it and anchors."""
    Image.fromarray(textured_rgb(HEIGHT, WIDTH)).save(tmp_path / "scene.png")
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[16:32, 8:56] = 255
    Image.fromarray(mask).save(tmp_path / "river.png")
    (tmp_path / "arrows.json").write_text(json.dumps([{"from": [14, 24], "to": [30, 24], "speed": 24},
                                                      {"from": [44, 22], "to": [54, 26]}]))
    (tmp_path / "anchors.json").write_text(json.dumps([{"at": [10, 8], "radius": 6}]))
    return {"image": tmp_path / "scene.png", "mask": tmp_path / "river.png", "arrows": tmp_path / "arrows.json",
            "anchors": tmp_path / "anchors.json", "dir": tmp_path}


def test_motion_flow_then_info_then_render_a_seamless_pure_flow_loop(scene, capsys):
    motion = scene["dir"] / "river.npz"
    assert run("-q", "motion", "flow", scene["image"], "--arrows", scene["arrows"], "--flow-mask", scene["mask"],
               "--flow-feather", "0", "-o", motion) == 0
    loaded = spectral.load(motion)
    assert loaded.flow is not None and not loaded.coeffs.any()
    with np.load(motion) as npz:
        assert json.loads(str(npz["meta"]))["format_version"] == 2
    assert run("info", motion) == 0
    assert "flow: up to" in capsys.readouterr().out
    out = scene["dir"] / "frames"
    assert run("-q", "render", scene["image"], "--motion", motion, "--flow-mask", scene["mask"], "--flow-feather", "0",
               "--loop-frames", "8", "--fps", "8", "-o", out) == 0
    files = sorted(out.glob("scene_*.png"))
    assert len(files) == 8
    still = io.read_image(scene["image"]).pixels
    frames = [io.read_image(f).pixels for f in files]
    np.testing.assert_array_equal(frames[0], still)
    outside = np.ones((HEIGHT, WIDTH), bool)
    outside[14:34, 6:58] = False  # the mask and the one-pixel reach of bilinear resampling
    for frame in frames:
        np.testing.assert_array_equal(frame[outside], still[outside])
    assert np.abs(frames[4][18:30, 12:50] - still[18:30, 12:50]).mean() > 0.02  # the river flows


def test_animate_with_drift_and_direction_controls_saves_the_flow(scene):
    out, saved = scene["dir"] / "anim", scene["dir"] / "saved.npz"
    grey = np.full((HEIGHT, WIDTH), 128, np.uint8)
    Image.fromarray(grey).save(scene["dir"] / "strength.png")
    assert run("-q", "animate", scene["image"], "--source", "procedural", "--drift", "12,0", "--flow-mask",
               scene["mask"], "--anchors", scene["anchors"], "--strength-map", scene["dir"] / "strength.png",
               "--direction-hint", f"{scene['mask']}:90", "--frames", "0:3", "--format", "png",
               "--save-motion", saved, "-o", out) == 0
    assert len(list(out.glob("scene_*.png"))) == 3
    motion = spectral.load(saved)
    assert motion.flow is not None and np.abs(motion.flow[0]).max() > 0 and not motion.flow[1].any()


def _bad_arrows(scene, content):
    path = scene["dir"] / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize(("args", "needle"), [
    (lambda s: ["--arrows", _bad_arrows(s, [{"from": [70, 5], "to": [5, 5]}])],
     "arrow 0 'from' [70, 5] is outside the 64x48 image"),
    (lambda s: ["--arrows", _bad_arrows(s, [{"from": [20, 20], "to": [20, 20]}])], "arrow 0 has zero length"),
    (lambda s: ["--arrows", _bad_arrows(s, [{"from": [20, 20], "to": [30, 20], "speed": -2}])],
     "arrow 0 has a negative speed -2"),
    (lambda s: ["--arrows", _bad_arrows(s, b"{not json")], "the arrows file is not valid JSON"),
    (lambda s: ["--arrows", s["dir"] / "missing.json"], "arrows file not found"),
    (lambda s: ["--arrows", s["arrows"], "--flow-mask", _wide_mask(s)], "flow mask is 128x48"),
    (lambda s: ["--drift", "3", "--flow-mask", s["mask"]], "--drift"),
    (lambda s: ["--anchors", _bad_arrows(s, [{"at": [1, 1], "radius": -1}])], "radius -1"),
    (lambda s: ["--drift", "5,0", "--displacement", "forward"], "cannot be written for a motion that holds a flow"),
])
def test_bad_flow_input_is_one_line_exit_2_and_nothing_written(scene, capsys, args, needle):
    out = scene["dir"] / "never"
    code = run("render", scene["image"], "--motion", _procedural(scene), "-o", out, "--frames", "0:2",
               *args(scene))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_motion_flow_refusals_write_nothing(scene, capsys):
    target = scene["dir"] / "f.npz"
    assert run("motion", "flow", scene["image"], "-o", target) == 2
    assert "needs --arrows" in capsys.readouterr().err
    arrows = _bad_arrows(scene, [{"from": [60, 2], "to": [62, 2]}])
    assert run("motion", "flow", scene["image"], "--arrows", arrows, "--flow-mask", scene["mask"], "-o", target) == 2
    assert "outside the flow mask" in capsys.readouterr().err
    assert not target.exists()


def _wide_mask(scene) -> Path:
    path = scene["dir"] / "wide.png"
    Image.fromarray(np.full((HEIGHT, 2 * WIDTH), 255, np.uint8)).save(path)
    return path


def _procedural(scene) -> Path:
    path = scene["dir"] / "proc.npz"
    if not path.exists():
        assert run("-q", "motion", "procedural", scene["image"], "-o", path, "--seed", "1") == 0
    return path
