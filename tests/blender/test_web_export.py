"""Export Web Player from Blender (headless ``bpy``): the page holds the same data as the engine's ``export_web``.

bpy allows one Blender per process: this module shares the ``blender`` xdist group with the other add-on tests
and enables the add-on for its own tests only.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from image_dynamics import io  # noqa: E402
from image_dynamics.procedural import ProceduralParams, procedural_motion  # noqa: E402
from image_dynamics.settings import RenderSettings  # noqa: E402
from image_dynamics.web import export_web  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ADDON = "blender_addon"

from blender_addon import blender_image, motion  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.xdist_group("blender")]

WIDTH, HEIGHT, START, END, FPS = 32, 20, 1, 12, 24


@pytest.fixture
def scene(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    motion.clear_memory()
    sc = bpy.context.scene
    sc.frame_start, sc.frame_end = START, END
    sc.render.fps, sc.render.fps_base = FPS, 1.0
    settings = sc.image_dynamics
    settings.coherence_px, settings.amplitude_px = 8.0, 3.0
    bpy.context.preferences.addons[ADDON].preferences.cache_dir = str(tmp_path / "cache")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    pixels = np.stack([0.2 + 0.3 * x / WIDTH, 0.5 + 0.1 * rng.standard_normal((HEIGHT, WIDTH)),
                       0.15 + 0.3 * y / HEIGHT], axis=-1)
    pixels[:4, :6] = (1.0, 0.0, 0.0)
    path = io.write_png(tmp_path / "still.png", np.clip(pixels, 0, 1).astype(np.float32), "srgb")
    settings.image = bpy.data.images.load(str(path))
    return sc


def page_document(index: Path) -> dict:
    found = re.search(r'type="application/json">(.*?)</script>', index.read_text(encoding="utf-8"), re.S)
    return json.loads(found.group(1))


def test_export_web_player_from_blender_matches_the_engine(scene, tmp_path):
    settings = scene.image_dynamics
    settings.strength = 1.5
    assert bpy.ops.image_dynamics.export_web() == {"FINISHED"}
    index = tmp_path / "image_dynamics" / "still" / "web" / "index.html"
    doc = page_document(index)
    pixels = blender_image.image_pixels(settings.image)[0]
    volume = procedural_motion(pixels, params=ProceduralParams(seed=settings.seed, coherence_px=8.0, strength_px=3.0))
    frames = END - START + 1
    expected = export_web(io.LoadedImage(pixels, "srgb", 8, False, Path("still.png")), volume, tmp_path / "engine",
                          RenderSettings(fps=FPS, loop_frames=frames, strength=1.5))
    reference = page_document(expected.index)
    assert doc["blocks"][1]["loop_frames"] == frames and doc["blocks"][1]["fps"] == FPS
    assert doc == reference  # the same image, motion, edits and timing as the engine's own export
    # a second export without Overwrite is refused with a report, and the page is kept
    with pytest.raises(RuntimeError, match="already exists"):
        bpy.ops.image_dynamics.export_web()
    settings.use_decay = True
    with pytest.raises(RuntimeError, match="loops forever"):
        bpy.ops.image_dynamics.export_web(directory=str(tmp_path / "other"))
    assert not (tmp_path / "other").exists()
