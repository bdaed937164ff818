"""The `image-dynamics` command end to end: real files in, real files out, and every kind of bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_dynamics import io, spectral
from image_dynamics.cli import main

from .conftest import textured_rgb


def run(*args: str) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def motion_file(tmp_path: Path, rgb_png: Path) -> Path:
    out = tmp_path / "motion.npz"
    assert run("-q", "motion", "procedural", rgb_png, "-o", out, "--amplitude", "2", "--seed", "3") == 0
    return out


def test_procedural_then_render_writes_a_seamless_png_sequence(tmp_path, rgb_png, motion_file):
    out = tmp_path / "frames"
    assert run("-q", "render", rgb_png, "--motion", motion_file, "-o", out, "--loop-frames", "12") == 0
    files = sorted(out.glob("scene_*.png"))
    assert [f.name for f in files] == [f"scene_{i:04d}.png" for i in range(1, 13)]
    first = io.read_image(files[0]).pixels
    src = io.read_image(rgb_png).pixels
    np.testing.assert_allclose(first, src, atol=1 / 255 + 1e-6)  # frame 0 (file _0001) is the input image
    later = [io.read_image(f).pixels for f in files[1:]]
    assert max(np.abs(f - src).max() for f in later) > 0.05  # the image really moves
    assert not list(out.glob(".*"))  # no staging left behind


def test_render_all_formats_and_displacement_maps(tmp_path, rgb_png, motion_file):
    out = tmp_path / "all"
    code = run("-q", "render", rgb_png, "--motion", motion_file, "-o", out, "--frames", "0:4",
               "--format", "png16,exr,mp4,gif", "--displacement", "forward,compositor")
    assert code == 0
    names = {p.name for p in out.iterdir()}
    for n in range(1, 5):
        assert {f"scene_{n:04d}.png", f"scene_{n:04d}.exr", f"scene_forward_{n:04d}.exr",
                f"scene_compositor_{n:04d}.exr"} <= names
    assert {"scene.mp4", "scene.gif"} <= names
    disp, attrs = io.read_displacement_exr(out / "scene_forward_0001.exr")
    np.testing.assert_allclose(disp, 0, atol=1e-5)  # frame 0 does not move
    disp3, _ = io.read_displacement_exr(out / "scene_forward_0004.exr")
    assert np.abs(disp3).max() > 0.05


def test_animate_one_shot_defaults_to_png_mp4_gif(tmp_path, rgb_png):
    out = tmp_path / "anim"
    assert run("-q", "animate", rgb_png, "-o", out, "--loop-frames", "6", "--source", "procedural",
               "--save-motion", tmp_path / "m.npz") == 0
    assert {"scene.mp4", "scene.gif", "scene_0006.png"} <= {p.name for p in out.iterdir()}
    assert spectral.load(tmp_path / "m.npz").meta["source"] == "procedural"


@pytest.mark.parametrize("format_args", [("--format=gif",), ("--format", "gif")])
def test_animate_writes_only_the_formats_asked_for_in_either_spelling(tmp_path, rgb_png, format_args):
    out = tmp_path / "anim"
    assert run("-q", "animate", rgb_png, "-o", out, "--loop-frames", "4", "--source", "procedural",
               *format_args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["scene.gif"]


def test_each_command_group_registers_its_own_subcommands():
    from image_dynamics import cli

    def runs(parser) -> set:
        found = {parser.get_default("run")}
        for action in parser._actions:
            choices = getattr(action, "choices", None)
            for child in (choices.values() if isinstance(choices, dict) else ()):
                if hasattr(child, "_actions"):
                    found |= runs(child)
        return found - {None}

    registered = runs(cli.build_parser())
    for group in cli.COMMAND_GROUPS:
        handlers = {v for k, v in vars(group).items() if k.startswith("cmd_") and v.__module__ == group.__name__}
        assert handlers and handlers <= registered, f"{group.__name__}: {handlers - registered} not registered"


def test_info_describes_a_motion_file(motion_file, capsys):
    assert run("info", motion_file) == 0
    text = capsys.readouterr().out
    assert "16 bands" in text and "loop 150 frames" in text


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "I;16", "RGB16"])
def test_image_modes_are_handled_not_rejected(tmp_path, mode, motion_file):
    rgb = textured_rgb()
    path = tmp_path / ("in.tif" if mode in ("CMYK",) else "in.png")
    if mode == "RGB16":
        import cv2

        cv2.imwrite(str(path), (rgb.astype(np.uint16) * 257)[..., ::-1])
    elif mode == "I;16":
        Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(path)
    elif mode == "RGBA":
        Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])).save(path)
    else:
        Image.fromarray(rgb).convert(mode).save(path)
    out = tmp_path / "o"
    assert run("-q", "render", path, "--motion", motion_file, "-o", out, "--frames", "0:2") == 0
    assert len(list(out.glob("in_*.png"))) == 2


def test_tiny_image(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(textured_rgb(8, 8)).save(path)
    assert run("-q", "animate", path, "-o", tmp_path / "o", "--format", "png", "--loop-frames", "4",
               "--source", "procedural") == 0
    assert len(list((tmp_path / "o").glob("tiny_*.png"))) == 4


def corrupt_motion(tmp_path: Path, **changes) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"coeffs": (rng.normal(size=(16, 2, 6, 8)) * (1 + 0j)).astype(np.complex64),
              "freqs_hz": spectral.harmonic_freqs(), "fps": np.float64(30), "meta": np.array("{}")}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("changes, needle", [
    ({"fps": None}, "missing key"),
    ({"coeffs": np.zeros((16, 3, 6, 8), np.complex64)}, "shape"),
    ({"coeffs": np.full((16, 2, 6, 8), np.nan, np.complex64)}, "NaN"),
    ({"fps": np.float64(0)}, "fps"),
    ({"fps": np.float64(-30)}, "fps"),
    ({"coeffs": np.zeros((0, 2, 6, 8), np.complex64), "freqs_hz": np.zeros(0, np.float32)}, "K = 0"),
])
def test_bad_motion_files_exit_2_with_a_clear_message(tmp_path, rgb_png, capsys, changes, needle):
    bad = corrupt_motion(tmp_path, **changes)
    assert run("render", rgb_png, "--motion", bad, "-o", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert needle in err and str(bad) in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_missing_and_corrupt_images(tmp_path, motion_file, capsys):
    assert run("render", tmp_path / "nope.png", "--motion", motion_file, "-o", tmp_path / "o") == 2
    assert "nope.png" in capsys.readouterr().err
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    assert run("render", junk, "--motion", motion_file, "-o", tmp_path / "o") == 2
    assert "junk.png" in capsys.readouterr().err


def test_aspect_mismatch_is_refused_same_aspect_is_resampled(tmp_path, motion_file, capsys):
    square = tmp_path / "square.png"
    Image.fromarray(textured_rgb(64, 64)).save(square)
    assert run("render", square, "--motion", motion_file, "-o", tmp_path / "o") == 2
    assert "aspect" in capsys.readouterr().err
    bigger = tmp_path / "bigger.png"  # 2x the motion's source size, same aspect
    Image.fromarray(textured_rgb(96, 128)).save(bigger)
    assert run("-q", "render", bigger, "--motion", motion_file, "-o", tmp_path / "b", "--frames", "0:2") == 0


def test_existing_output_is_never_overwritten_unasked(tmp_path, rgb_png, motion_file, capsys):
    out = tmp_path / "o"
    out.mkdir()
    precious = out / "scene_0002.png"
    precious.write_bytes(b"artist's work")
    assert run("render", rgb_png, "--motion", motion_file, "-o", out, "--frames", "0:3") == 2
    assert "already exists" in capsys.readouterr().err and "--overwrite" in capsys.readouterr().err + "--overwrite"
    assert precious.read_bytes() == b"artist's work"
    assert sorted(p.name for p in out.iterdir()) == ["scene_0002.png"]
    assert run("-q", "render", rgb_png, "--motion", motion_file, "-o", out, "--frames", "0:3", "--overwrite") == 0
    assert precious.read_bytes() != b"artist's work"


def test_unwritable_output(tmp_path, rgb_png, motion_file, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert run("render", rgb_png, "--motion", motion_file, "-o", blocker / "sub") == 2
    assert "file.txt" in capsys.readouterr().err


def test_mask_limits_motion_and_other_aspect_mask_is_refused(tmp_path, rgb_png, motion_file, capsys):
    mask = np.zeros((24, 32), np.uint8)  # half the image size, same aspect: static everywhere
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "masked"
    assert run("-q", "render", rgb_png, "--motion", motion_file, "-o", out, "--frames", "0:4",
               "--mask", tmp_path / "mask.png", "--mask-feather", "0") == 0
    src = io.read_image(rgb_png).pixels
    for f in sorted(out.glob("*.png")):
        np.testing.assert_allclose(io.read_image(f).pixels, src, atol=1 / 255 + 1e-6)
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "square_mask.png")
    assert run("render", rgb_png, "--motion", motion_file, "-o", tmp_path / "m2",
               "--mask", tmp_path / "square_mask.png") == 2
    assert "mask" in capsys.readouterr().err.lower()


@pytest.mark.parametrize("args, needle", [
    (["--band-gains", "1:x"], "HZ:GAIN"),
    (["--frames", "3"], "START:STOP"),
    (["--format", "png,tiff"], "tiff"),
])
def test_bad_options_are_usage_errors(tmp_path, rgb_png, motion_file, capsys, args, needle):
    with pytest.raises(SystemExit) as exc:
        run("render", rgb_png, "--motion", motion_file, "-o", tmp_path / "o", *args)
    assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_console_script_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "image_dynamics.cli", "render", str(tmp_path / "missing.jpg"),
                           "--motion", str(tmp_path / "m.npz"), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("image-dynamics: error:") and "Traceback" not in proc.stderr


def test_data_synth_writes_a_dataset_and_refuses_to_clobber_it(tmp_path, capsys):
    from image_dynamics.data.shards import load_all, read_info

    out = tmp_path / "ds"
    assert run("-q", "data", "synth", "-o", out, "--count", "3", "--size", "64x40") == 0
    info = read_info(out)
    assert info.count == 3 and (info.width, info.height) == (64, 40) and info.norm_stats_path.exists()
    assert load_all(info)["images"].shape == (3, 40, 64, 3)
    assert run("data", "synth", "-o", out, "--count", "3", "--size", "64x40") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run("data", "synth", "-o", tmp_path / "x", "--count", "2", "--size", "64by40") == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


def test_data_videos_reports_an_empty_folder(tmp_path, capsys):
    (tmp_path / "clips").mkdir()
    assert run("data", "videos", tmp_path / "clips", "-o", tmp_path / "ds") == 2
    err = capsys.readouterr().err
    assert "no video files" in err and "Traceback" not in err


def test_linear_exr_input_stays_linear_through_a_render(tmp_path, motion_file):
    hdr = textured_rgb().astype(np.float32) / 255.0 * 4.0  # scene-linear values well above 1
    io.write_exr_image(tmp_path / "hdr.exr", hdr, "linear")
    out = tmp_path / "o"
    assert run("-q", "render", tmp_path / "hdr.exr", "--motion", motion_file, "-o", out, "--frames", "0:2",
               "--format", "exr,png") == 0
    first = io.read_image(out / "hdr_0001.exr")
    assert first.colorspace == "linear"
    np.testing.assert_allclose(first.pixels, hdr, rtol=1e-3, atol=1e-3)  # frame 0 is the input, not re-gamma'd
    png = io.read_image(out / "hdr_0001.png").pixels  # display encoding: linear -> sRGB once, clipped
    np.testing.assert_allclose(png, np.clip(io.linear_to_srgb(np.clip(hdr, 0, 1)), 0, 1), atol=1.5 / 255)


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path, rgb_png, motion_file, capsys):
    # capsys's stderr is not a TTY, like a farm job's log file: no tqdm escapes, a line per 10 % and the end
    assert run("render", rgb_png, "--motion", motion_file, "-o", tmp_path / "frames", "--loop-frames", "20") == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rendering: ")]
    assert lines[0] == "rendering: 0/20 (0%)" and lines[-1] == "rendering: 20/20 (100%)"
    assert len(lines) == 11 and "\r" not in "".join(lines)
    assert run("-q", "render", rgb_png, "--motion", motion_file, "-o", tmp_path / "quiet", "--loop-frames", "4") == 0
    assert "rendering" not in capsys.readouterr().err
