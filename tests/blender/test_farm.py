"""Render-farm chunks and signals in the add-on's headless ``bake`` (``blender -b FILE.blend -c image_dynamics bake``),
driven through the real ``bpy`` module: chunks baked by concurrent processes into one folder equal one bake byte for
byte, and SIGINT, SIGTERM or SIGHUP at any file operation of the commit leave the old files or the complete new set.

Tiny scenes (32x20 pixels, 4 to 6 frames) keep it fast; the three chunk processes run at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from image_dynamics import atomic, io  # noqa: E402

from .conftest import asymmetric_pixels  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from blender_addon import headless, motion  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.xdist_group("blender")]

#: One chunk of a farm job: what ``blender -b farm.blend -c image_dynamics bake ... --frames A:B`` runs, in a process
#: of its own (argv: the .blend, the checkout, then the bake's arguments).
CHUNK = """
import sys
import bpy
import addon_utils  # importable once bpy is

blend, root, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, root)
bpy.ops.wm.open_mainfile(filepath=blend)
addon_utils.enable("blender_addon", default_set=True, handle_error=lambda exc: (_ for _ in ()).throw(exc))
from blender_addon import headless
sys.exit(headless.main(argv))
"""


@pytest.fixture
def farm_blend(tmp_path) -> Path:
    """A saved .blend (tmp_path/farm.blend): frames 1-6 at 24 fps, the asymmetric still as image 'still.png',
    procedural motion with its strength keyframed (0.5 at frame 1, 2 at frame 6), frames and both kinds of
    displacement map."""
    bpy.ops.wm.read_homefile(use_empty=True)
    motion.clear_memory()
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 6
    scene.render.fps, scene.render.fps_base = 24, 1.0
    settings = scene.image_dynamics
    settings.coherence_px, settings.amplitude_px = 8.0, 3.0
    settings.output_kind = "BOTH"
    settings.displacement_forward = settings.displacement_compositor = True
    for frame, strength in ((1, 0.5), (6, 2.0)):  # a chunk reads the animation at its own frames
        settings.strength = strength
        settings.keyframe_insert("strength", frame=frame)
    image = bpy.data.images.load(str(io.write_png(tmp_path / "still.png", asymmetric_pixels(), "srgb")))
    settings.image = image
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "farm.blend"))
    return tmp_path / "farm.blend"


def contents(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones too: a staging folder left behind counts) and its bytes."""
    return {p.name: (p.read_bytes() if p.is_file() else b"<folder>") for p in sorted(folder.iterdir())}


def test_three_concurrent_chunks_equal_one_bake_byte_for_byte(farm_blend, tmp_path, capsys):
    assert headless.main(["bake", "--image", "still.png", "--output", "//single/"]) == 0
    single = contents(tmp_path / "single" / "still")
    assert sorted(single) == ([f"still_{i:04d}.png" for i in range(1, 7)]
                              + [f"still_compositor_{i:04d}.exr" for i in range(1, 7)]
                              + [f"still_forward_{i:04d}.exr" for i in range(1, 7)])

    chunks = [subprocess.Popen([sys.executable, "-c", CHUNK, str(farm_blend), str(ROOT), "bake", "--image",
                                "still.png", "--output", "//chunks/", "--frames", frames],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
              for frames in ("0:2", "2:4", "4:6")]
    results = [(chunk.wait(timeout=240), *chunk.communicate()) for chunk in chunks]
    for status, out, err in results:
        assert status == 0, out[-1500:] + err[-1500:]
        assert "Baked 2 frames" in out
    assert contents(tmp_path / "chunks" / "still") == single  # no staging folder left, every byte the same

    # a chunk bakes only its own files and refuses only when they exist; out-of-range and malformed ranges
    capsys.readouterr()
    assert headless.main(["bake", "--image", "still.png", "--output", "//chunks/", "--frames", "2:4"]) == 1
    assert "already holds a bake" in capsys.readouterr().err
    assert headless.main(["bake", "--image", "still.png", "--output", "//part/", "--frames", "5:6"]) == 0
    assert sorted(contents(tmp_path / "part" / "still")) == ["still_0006.png", "still_compositor_0006.exr",
                                                            "still_forward_0006.exr"]
    assert bpy.data.images["still.png"].image_dynamics.bake_frames == 6  # setups play the whole sequence
    assert headless.main(["bake", "--image", "still.png", "--output", "//bad/", "--frames", "4:7"]) == 1
    assert "--frames 4:7 is not a part of this bake's 6 frames" in capsys.readouterr().err
    assert headless.main(["bake", "--image", "still.png", "--output", "//bad/", "--frames", "4-6"]) == 2
    assert "expected A:B" in capsys.readouterr().err
    assert headless.main(["bake", "--image", "still.png", "--output", "//bad/", "--seed", "-1"]) == 1
    assert "--seed -1 is out of range: seeds are whole numbers from 0 to 4294967295" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.fixture
def old_and_new(farm_blend, tmp_path):
    """A 4-frame bake with forward maps in //sig/ (the old set) and the same bake with another seed in //new/."""
    scene = bpy.context.scene
    scene.frame_end = 4
    scene.image_dynamics.displacement_compositor = False
    bpy.ops.wm.save_mainfile()  # what a bake in another process (blender -b farm.blend) sees
    base = ["bake", "--image", "still.png"]
    assert headless.main([*base, "--output", "//sig/"]) == 0
    assert headless.main([*base, "--output", "//new/", "--seed", "5"]) == 0
    old, new = contents(tmp_path / "sig" / "still"), contents(tmp_path / "new" / "still")
    assert sorted(old) == sorted(new) and old != new and len(old) == 8
    return [*base, "--output", "//sig/", "--seed", "5", "--overwrite"], old, new


def test_a_signal_at_every_file_operation_of_the_commit_leaves_old_or_new(old_and_new, tmp_path, monkeypatch,
                                                                          capsys):
    argv, old, new = old_and_new
    folder = tmp_path / "sig" / "still"
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    seen = set()
    for at in range(1, 200):
        sig = signals[at % 3]
        monkeypatch.setenv(atomic.SIGNAL_AT_ENV, f"{at}:{sig.name}")
        monkeypatch.setattr(atomic._FileOps, "count", 0)
        status = headless.main(argv)
        now = contents(folder)
        if status == 0:  # past the last file operation: the signal never came
            assert now == new
            break
        assert status == 128 + sig, (at, sig, status)
        assert f"cancelled ({sig.name})" in capsys.readouterr().err
        assert now in (old, new), f"signal {sig.name} at file operation {at} left a mix"
        seen.add("new" if now == new else "old")
        if now == new:  # the signal came after the last move: put the old set back for the next operation
            for name, data in old.items():
                (folder / name).write_bytes(data)
    else:
        pytest.fail("the commit never finished")
    assert at > 17 and seen == {"old", "new"}  # 8 files moved out and 8 in: every operation was hit


def test_a_signal_while_rendering_leaves_the_old_set(old_and_new, tmp_path, monkeypatch, capsys):
    argv, old, _ = old_and_new

    def printer(label):
        def report(done, total, stage):
            if stage == "rendering" and done >= 2:
                os.kill(os.getpid(), signal.SIGHUP)
        return report

    monkeypatch.setattr(headless, "_printer", printer)
    assert headless.main(argv) == 128 + signal.SIGHUP
    assert "cancelled (SIGHUP)" in capsys.readouterr().err
    assert contents(tmp_path / "sig" / "still") == old


def test_a_bake_killed_during_its_commit_is_repaired_by_the_next_bake(old_and_new, farm_blend, tmp_path, capsys):
    argv, old, new = old_and_new
    folder = tmp_path / "sig" / "still"
    env = {**os.environ, atomic.SIGNAL_AT_ENV: "12:SIGKILL"}  # half way through moving the new files in
    killed = subprocess.run([sys.executable, "-c", CHUNK, str(farm_blend), str(ROOT), *argv], env=env,
                            capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-1500:] + killed.stderr[-1500:]
    mixed = contents(folder)  # SIGKILL cannot be caught: a mix, and the journal to undo it
    assert any(name.startswith(atomic.STAGE_PREFIX) for name in mixed)
    assert {name: data for name, data in mixed.items() if not name.startswith(".")} not in (old, new)
    # the next bake into the folder (even one that is refused: no --overwrite) first rolls the commit back
    assert headless.main(argv[:-1]) == 1
    assert "already holds a bake" in capsys.readouterr().err
    assert contents(folder) == old


def test_a_bake_needing_more_memory_than_is_available_is_refused_before_any_work(farm_blend, tmp_path, monkeypatch,
                                                                               capsys):
    from image_dynamics import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 10_000)  # bytes: far less than any frame needs
    assert headless.main(["bake", "--image", "still.png", "--output", "//memory/"]) == 1
    err = capsys.readouterr().err
    assert "rendering 32x20 frames needs about" in err and "GB of memory, but only about" in err
    assert not (tmp_path / "memory").exists()
