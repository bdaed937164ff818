"""Farm chunks compose, inputs are never replaced, and animate --save-motion commits with the frames."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_dynamics.cli import main


def cli_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "image_dynamics.cli", "-q", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def visible(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("farm")
    rng = np.random.default_rng(7)
    Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8)).save(root / "img.png")
    assert main(["-q", "motion", "procedural", str(root / "img.png"), "-o", str(root / "m.npz"), "--amplitude",
                 "4"]) == 0
    return root


def test_three_concurrent_chunks_equal_one_render_byte_for_byte(scene):
    common = ["render", str(scene / "img.png"), "--motion", str(scene / "m.npz"), "--format", "png,exr",
              "--displacement", "forward,compositor", "--slow-motion", "1.7"]
    single = scene / "single"
    assert main(["-q", *common, "-o", str(single), "--frames", "0:12"]) == 0
    farm = scene / "farm"
    chunks = [cli_process(*common, "-o", str(farm), "--frames", r) for r in ("0:5", "5:11", "11:12")]
    for proc in chunks:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    expected = visible(single)
    assert len(expected) == 12 * 4
    got = visible(farm)
    assert got.keys() == expected.keys()
    differing = [name for name in expected if got[name] != expected[name]]
    assert differing == []
    assert [p.name for p in farm.iterdir() if p.name.startswith(".")] == []


def test_animate_save_motion_is_committed_with_the_frames(scene, capsys):
    out = scene / "anim"
    out.mkdir()
    (out / "img_0002.png").write_bytes(b"someone's frame")
    args = ["-q", "animate", str(scene / "img.png"), "--source", "procedural", "-o", str(out), "--format", "png",
            "--frames", "0:3", "--save-motion", str(out / "motion.npz")]
    assert main(args) == 2  # refused: a frame exists
    assert "img_0002.png: already exists" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["img_0002.png"]  # no motion file either
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["img_0001.png", "img_0002.png", "img_0003.png", "motion.npz"]


def test_save_motion_must_not_replace_an_input(scene, capsys):
    args = ["-q", "animate", str(scene / "img.png"), "--source", "procedural", "-o", str(scene / "x"),
            "--frames", "0:2", "--format", "png", "--save-motion", str(scene / "img.png"), "--overwrite"]
    assert main(args) == 2
    assert "motion files are .npz" in capsys.readouterr().err


def test_render_never_replaces_its_input_image(scene, capsys):
    folder = scene / "inplace"
    folder.mkdir()
    image = folder / "shot_0002.png"
    image.write_bytes((scene / "img.png").read_bytes())
    before = image.read_bytes()
    code = main(["-q", "render", str(image), "--motion", str(scene / "m.npz"), "-o", str(folder), "--name", "shot",
                 "--frames", "0:3", "--overwrite"])
    assert code == 2
    assert "would replace the input" in capsys.readouterr().err
    assert image.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["shot_0002.png"]


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "sub/dir"])
def test_name_with_a_path_is_refused_before_any_work(scene, capsys, name):
    out = scene / "named"
    assert main(["-q", "render", str(scene / "img.png"), "--motion", str(scene / "m.npz"), "-o", str(out),
                 "--name", name]) == 2
    assert "is not a file-name stem" in capsys.readouterr().err
    assert not out.exists() and not (scene / "escape_0001.png").exists()


def test_dangling_symlink_target_needs_overwrite(scene, capsys):
    out = scene / "links"
    out.mkdir()
    (out / "img_0001.png").symlink_to(scene / "nowhere.png")
    args = ["-q", "render", str(scene / "img.png"), "--motion", str(scene / "m.npz"), "-o", str(out), "--frames",
            "0:1"]
    assert main(args) == 2
    assert "img_0001.png: already exists (a symbolic link)" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert not (out / "img_0001.png").is_symlink() and not (scene / "nowhere.png").exists()


def test_nan_pixels_are_refused_by_render(scene, capsys):
    import OpenEXR

    pixels = np.full((40, 56, 3), 0.5, np.float32)
    pixels[3, 4, 1] = np.nan
    path = scene / "nan.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": pixels}) as exr:
        exr.write(str(path))
    assert main(["-q", "render", str(path), "--motion", str(scene / "m.npz"), "-o", str(scene / "nanout")]) == 2
    assert "NaN or infinite" in capsys.readouterr().err
    assert not (scene / "nanout").exists() or visible(scene / "nanout") == {}


def test_broken_pipe_is_quiet(scene):
    proc = subprocess.run(f"{sys.executable} -m image_dynamics.cli info {scene / 'm.npz'} | head -c 10",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_a_frame_does_not_depend_on_the_frames_rendered_with_it():
    """The root cause of chunked renders differing from a full one: a BLAS matrix product over N frames sums in an
    order that depends on N (one row goes through gemv, several through gemm), so a frame of a 0:12 render and the
    same frame of a one-frame chunk differed in the last bits of the displacement (measured here on a 256x160 grid:
    8e-7 px with the old product; such differences flip a rounded pixel now and then)."""
    from image_dynamics.frames import FrameRenderer
    from image_dynamics.procedural import procedural_motion

    pixels = np.random.default_rng(7).random((160, 256, 3)).astype(np.float32)
    renderer = FrameRenderer(pixels, procedural_motion(pixels))
    times = np.arange(12) * 0.7
    together = renderer.grid_displacements(times)
    for i in range(len(times)):
        for start, stop in ((i, i + 1), (max(0, i - 2), i + 3)):
            alone = renderer.grid_displacements(times[start:stop])[i - start]
            assert np.array_equal(alone, together[i]), (i, start, stop)


def test_disk_full_names_the_output_folder_not_the_deleted_staging_folder(scene, monkeypatch):
    from image_dynamics import bake as bake_module
    from image_dynamics import io, spectral
    from image_dynamics.errors import OutputError
    from image_dynamics.settings import RenderSettings, plan

    def full_disk(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(io, "write_frame", full_disk)
    out = scene / "full"
    p = plan(spectral.load(scene / "m.npz"), RenderSettings(frames=(0, 3)))
    with pytest.raises(OutputError) as info:
        bake_module.bake(io.read_image(scene / "img.png"), p, bake_module.OutputSpec(out, "s"))
    message = str(info.value)
    assert message.startswith(f"{out}: writing the outputs failed (No space left on device); nothing was changed")
    assert "staging" not in message and list(out.iterdir()) == []


def test_numba_cache_falls_back_to_a_temporary_folder_without_a_writable_home(monkeypatch, tmp_path):
    import tempfile

    from image_dynamics import cli

    monkeypatch.setattr(cli.os, "access", lambda path, mode: False)  # neither the install nor HOME is writable
    env = {"HOME": str(tmp_path / "nohome"), "XDG_CACHE_HOME": str(tmp_path / "nohome" / ".cache")}
    fallback = cli.numba_cache_fallback(env)
    assert fallback is not None and fallback.startswith(tempfile.gettempdir())
    assert cli.numba_cache_fallback({**env, "NUMBA_CACHE_DIR": "/mine"}) is None  # the add-on's own choice is kept
    monkeypatch.setattr(cli.os, "access", lambda path, mode: True)
    assert cli.numba_cache_fallback(env) is None
