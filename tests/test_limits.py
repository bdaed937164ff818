"""Requests are checked against image_dynamics.limits before work starts, the limit named in the message."""

from __future__ import annotations

import numpy as np
import pytest

from image_dynamics import limits, spectral
from image_dynamics.errors import InputError
from image_dynamics.procedural import ProceduralParams
from image_dynamics.settings import RenderSettings, plan


@pytest.fixture(scope="module")
def motion() -> spectral.SpectralVolume:
    coeffs = np.zeros((4, 2, 6, 8), np.complex64)
    coeffs[1] = 0.5
    return spectral.make(coeffs, spectral.harmonic_freqs(4), 30.0, {"window_frames": 150})


@pytest.mark.parametrize("settings,message", [
    (RenderSettings(fps=1e308), "--fps 1e+308 is too large: at most 1000 frames per second"),
    (RenderSettings(fps=1e-308), "--fps 1e-308 is too small: at least 0.1 frames per second"),
    (RenderSettings(slow_motion=1e308), "--slow-motion 1e+308 is too large: at most 1000"),
    (RenderSettings(slow_motion=1e-308), "--slow-motion 1e-308 is too small: at least 0.001"),
    (RenderSettings(decay_s=1e308), "--decay 1e+308 is too large: at most 3600 seconds"),
    (RenderSettings(decay_s=1e-308), "--decay 1e-308 is too small: at least 0.001 seconds"),
    (RenderSettings(strength=1e30), "--strength 1e+30 is too large: at most 1000"),
    (RenderSettings(band_gains=((1.0, 1e30),)), "--band-gains gain 1e+30 is too large"),
    (RenderSettings(splat_beta=1e300), "--splat-beta 1e+300 is too large"),
    (RenderSettings(frames=(0, 10**9)), "at most 100000 frames per render"),
    (RenderSettings(frames=(10**12, 10**12 + 5)), "frame numbers go up to 9999999 at most"),
    (RenderSettings(loop_frames=10**9), "--loop-frames 1000000000 would write 1000000000 frames; at most 100000"),
])
def test_absurd_settings_are_refused_naming_the_limit(motion, settings, message):
    with pytest.raises(InputError) as info:
        plan(motion, settings)
    assert message in str(info.value)


def test_frame_count_from_timing_is_refused_before_frame_arrays_exist(motion):
    # 1000 fps x 1000 slow motion x a 5 s loop: 5e6 frames, refused before np.arange builds them
    with pytest.raises(InputError, match="would write 5000000 frames; at most 100000 frames per render"):
        plan(motion, RenderSettings(fps=1000, slow_motion=1000))
    with pytest.raises(InputError, match="at most 100000 frames"):
        plan(motion, RenderSettings(decay_s=3600, fps=100))


def test_settings_within_limits_plan_normally(motion):
    p = plan(motion, RenderSettings(fps=24, slow_motion=2, strength=3, frames=(5, 9)))
    assert p.frame_numbers.tolist() == [5, 6, 7, 8]


@pytest.mark.parametrize("seed,ok", [(0, True), (2**32 - 1, True), (-1, False), (2**32, False), (1.5, False),
                                     (True, False), ("3", False)])
def test_seed_range(seed, ok):
    if ok:
        assert limits.check_seed(seed) == seed
    else:
        with pytest.raises(InputError, match="--seed"):
            limits.check_seed(seed)


def test_seed_message_says_the_range():
    with pytest.raises(InputError, match="--seed -1 is out of range: seeds are whole numbers from 0 to 4294967295"):
        limits.check_seed(-1)


def test_procedural_limits():
    with pytest.raises(InputError, match="--coherence 1e\\+308 is too large: at most 100000 pixels"):
        limits.check_procedural(ProceduralParams(coherence_px=1e308))
    with pytest.raises(InputError, match="--amplitude 1e\\+300 is too large: at most 100000 pixels"):
        limits.check_procedural(ProceduralParams(strength_px=1e300))
    with pytest.raises(InputError, match="--dominant-hz 1e\\+300 is too large: at most 1000 Hz"):
        limits.check_procedural(ProceduralParams(dominant_hz=1e300))
    limits.check_procedural(ProceduralParams())


def test_memory_estimate_names_gigabytes():
    estimate = limits.render_memory(8000, 8000)
    # benchmarks/bench_memory.py measured (traced peak, float64 splat sums, one frame) 2.63 GB for 8000x8000 RGB,
    # 3.07 GB RGBA, 0.84 GB for 3000x3000 RGB (whole-frame sums), 1.11 GB RGBA: the estimate covers each, by < 30 %
    for width, height, channels, measured in ((8000, 8000, 3, 2.63e9), (8000, 8000, 4, 3.07e9),
                                              (3000, 3000, 3, 0.84e9), (3000, 3000, 4, 1.11e9)):
        assert measured < limits.render_memory(width, height, channels).bytes < 1.3 * measured
    with pytest.raises(InputError, match=r"rendering 8000x8000 frames needs about 3\.3 GB of memory, but only about "
                                         r"1\.0 GB are available"):
        limits.check_memory(estimate, available=10**9)
    limits.check_memory(estimate, available=64 * 10**9)


def test_memory_estimate_follows_the_renderer():
    from image_dynamics import render

    # the image size where the renderer starts splatting in windows is where the estimate changes
    assert limits.WINDOWED_RENDER_MIN_PIXELS == render.KEEP_BUFFERS_MAX_PIXELS
    at_limit = limits.render_memory(3000, 3000).bytes  # 9.0 MP: whole-frame sums
    assert at_limit == 9_000_000 * limits.RENDER_BYTES_PER_PIXEL
    assert limits.render_memory(3000, 3001).bytes == 9_003_000 * limits.WINDOWED_RENDER_BYTES_PER_PIXEL < at_limit
    assert limits.render_memory(640, 480, channels=4).bytes == 640 * 480 * (limits.RENDER_BYTES_PER_PIXEL
                                                                            + limits.ALPHA_BYTES_PER_PIXEL)


def test_image_size_limits():
    limits.check_image_size(65535, 2)
    with pytest.raises(InputError, match="at most 65535 pixels a side"):
        limits.check_image_size(70000, 2)
    with pytest.raises(InputError, match="400 megapixels"):
        limits.check_image_size(30000, 30000)


def test_available_memory_is_known_here():
    available = limits.available_memory()
    assert available is None or available > 0


@pytest.mark.parametrize("width,height", [(3000, 9), (7, 2000), (1000, 3)])
def test_very_wide_or_tall_images_render_with_the_motion_made_for_them(width, height):
    from image_dynamics.frames import check_aspect
    from image_dynamics.upsample import grid_shape_for

    h, w = grid_shape_for(width, height, 256)
    sv = spectral.make(np.ones((2, 2, h, w), np.complex64), spectral.harmonic_freqs(2), 30.0)
    check_aspect(sv, width, height)  # its own grid is accepted although rounding changed the aspect ratio
    other = spectral.make(np.ones((2, 2, h + 5, w + 5), np.complex64), spectral.harmonic_freqs(2), 30.0)
    with pytest.raises(InputError, match="motion cannot be stretched"):
        check_aspect(other, width, height)


def test_cli_refuses_a_negative_seed_and_absurd_values_with_one_line(tmp_path, capsys):
    from PIL import Image

    from image_dynamics.cli import main

    Image.new("RGB", (16, 12), (90, 120, 40)).save(tmp_path / "img.png")
    assert main(["-q", "predict", str(tmp_path / "img.png"), "-o", str(tmp_path / "m.npz"), "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed -1 is out of range: seeds are whole numbers from 0 to 4294967295" in err
    assert not (tmp_path / "m.npz").exists()
    assert main(["-q", "animate", str(tmp_path / "img.png"), "--source", "procedural", "-o", str(tmp_path / "o"),
                 "--coherence", "1e308"]) == 2
    assert "--coherence 1e+308 is too large: at most 100000 pixels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
