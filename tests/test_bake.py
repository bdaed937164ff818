"""Baking is all or nothing: cancel, Ctrl-C and errors leave no files; writing overlaps rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from image_dynamics import io
from image_dynamics.bake import OutputSpec, bake, planned_names
from image_dynamics.errors import CancelledError, OutputError
from image_dynamics.jobs import CancelToken, Progress
from image_dynamics.procedural import ProceduralParams, procedural_motion
from image_dynamics.settings import RenderSettings, plan


@pytest.fixture
def job(rgb_png: Path):
    image = io.read_image(rgb_png)
    motion = procedural_motion(image.pixels, params=ProceduralParams(strength_px=2.0, seed=1))
    return image, plan(motion, RenderSettings(loop_frames=10))


def test_names_follow_blender_sequence_numbering(tmp_path, job):
    _, p = job
    spec = OutputSpec(tmp_path, "shot", formats=("png", "mp4"), displacement=("compositor",))
    names = planned_names(spec, p.frame_numbers)
    assert names[0] == "shot_0001.png" and names[9] == "shot_0010.png"
    assert "shot.mp4" in names and "shot_compositor_0001.exr" in names


def test_progress_reports_every_frame(tmp_path, job):
    image, p = job
    seen = []
    bake(image, p, OutputSpec(tmp_path, "s"), Progress(callback=lambda d, t, s: seen.append((s, d, t))))
    rendering = [d for s, d, t in seen if s == "rendering"]
    assert rendering[-1] == 10 and rendering == sorted(rendering)


@pytest.mark.parametrize("how", ["cancel", "interrupt", "error"])
def test_interrupted_bake_leaves_nothing(tmp_path, job, how):
    image, p = job
    out = tmp_path / "out"
    token = CancelToken()

    def on_progress(done, total, stage):
        if stage == "rendering" and done == 4:
            if how == "cancel":
                token.cancel()
            elif how == "interrupt":
                raise KeyboardInterrupt
            else:
                raise OSError("disk full")

    expected = {"cancel": CancelledError, "interrupt": KeyboardInterrupt, "error": OSError}[how]
    with pytest.raises(expected):
        bake(image, p, OutputSpec(out, "s", formats=("png", "mp4", "gif"), displacement=("forward",)),
             Progress(callback=on_progress, cancel=token))
    assert list(out.iterdir()) == []  # neither frames nor the staging folder


def test_existing_target_stops_before_any_work(tmp_path, job):
    image, p = job
    out = tmp_path / "out"
    out.mkdir()
    (out / "s_0005.png").write_bytes(b"keep")
    calls = []
    with pytest.raises(OutputError, match="s_0005.png"):
        bake(image, p, OutputSpec(out, "s"), Progress(callback=lambda *a: calls.append(a)))
    assert calls == [] and (out / "s_0005.png").read_bytes() == b"keep"
    assert sorted(x.name for x in out.iterdir()) == ["s_0005.png"]


def test_rgba_alpha_survives_the_bake(tmp_path):
    from PIL import Image

    rgba = np.zeros((32, 48, 4), np.uint8)
    rgba[..., :3] = 180
    rgba[8:24, 12:36, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    image = io.read_image(tmp_path / "cut.png")
    motion = procedural_motion(image.pixels, params=ProceduralParams(strength_px=1.0))
    bake(image, plan(motion, RenderSettings(frames=(0, 3))), OutputSpec(tmp_path / "o", "cut"))
    frame = io.read_image(tmp_path / "o" / "cut_0001.png")
    assert frame.has_alpha
    np.testing.assert_allclose(frame.pixels[..., 3], rgba[..., 3] / 255, atol=1 / 255 + 1e-6)
