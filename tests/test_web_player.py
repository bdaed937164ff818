"""The web player: its data format, ``export_web``, the ``export-web`` command, and frames rendered by a real browser.

The browser tests load the exported page by its file:// URL in headless Chromium (WebGL2 on SwiftShader, the software
renderer) and compare its frames with the engine's at the same size. They skip, with one line, only where no Chromium
is installed (scripts/test.sh installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_dynamics import io, spectral
from image_dynamics.cli import main
from image_dynamics.errors import InputError, OutputError
from image_dynamics.frames import FrameRenderer
from image_dynamics.procedural import ProceduralParams, procedural_motion
from image_dynamics.settings import RenderSettings, plan
from image_dynamics.web import INDEX_NAME, build_page, export_web, refuse_unplayable
from image_dynamics.web import data as webdata
from image_dynamics.web.browser import HeadlessChromium, find_chromium

SAMPLE = Path(__file__).resolve().parents[1] / "core" / "image_dynamics" / "samples" / "forest.jpg"
WIDTH, HEIGHT = 160, 100


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    """A 160x100 crop of the bundled forest photograph (an asymmetric, textured picture)."""
    folder = tmp_path_factory.mktemp("web_still")
    picture = Image.open(SAMPLE).convert("RGB")
    picture = picture.resize((WIDTH, round(WIDTH * picture.height / picture.width)), Image.Resampling.LANCZOS)
    picture = picture.crop((0, 0, WIDTH, HEIGHT))
    path = folder / "still.png"
    picture.save(path)
    return path


@pytest.fixture(scope="module")
def motion(still) -> spectral.SpectralVolume:
    """Strong procedural motion (8 px peaks), so frames differ clearly from the still."""
    return procedural_motion(io.read_image(still).pixels, params=ProceduralParams(strength_px=8.0, seed=3))


def page_document(index: Path) -> dict:
    text = index.read_text(encoding="utf-8")
    found = re.search(r'<script id="image-dynamics-data" type="application/json">(.*?)</script>', text, re.S)
    assert found, "the page holds its data block"
    return json.loads(found.group(1))


# ----------------------------------------------------------------------------------------------------------------------
# Data format


def test_quantisation_round_trip_error_is_within_one_level_of_the_largest_coefficient():
    rng = np.random.default_rng(0)
    coeffs = (rng.normal(size=(3, 2, 7, 9)) + 1j * rng.normal(size=(3, 2, 7, 9))) * np.array([2.0, 0.3, 0.01])[
        :, None, None, None]
    coeffs[1, 0] = 0  # a component with no motion keeps scale 0 and decodes to exact zeros
    q, scales = webdata.quantise(coeffs)
    assert q.dtype == np.int8 and q.shape == (3, 7, 9, 4) and scales.shape == (3, 4)
    assert scales[1, 0] == 0 and scales[1, 1] == 0
    back = webdata.dequantise(q, scales)
    assert back.dtype == np.complex64 and back.shape == coeffs.shape
    assert np.all(back[1, 0] == 0)
    # signed sqrt companding: the error of a value v is at most about sqrt(v / s) * s / 127 <= s / 127
    for k in range(3):
        for c, part in enumerate((coeffs[k, 0].real, coeffs[k, 0].imag, coeffs[k, 1].real, coeffs[k, 1].imag)):
            decoded = (back[k, 0].real, back[k, 0].imag, back[k, 1].real, back[k, 1].imag)[c]
            assert np.abs(decoded - part).max() <= scales[k, c] / 127 * 1.01 + 1e-12
    # small values are kept relatively finer than a linear int8 code would (its step is s / 127)
    small = np.abs(coeffs[0, 0].real) < scales[0, 0] / 50
    assert np.abs(back[0, 0].real - coeffs[0, 0].real)[small].max() < scales[0, 0] / 127 / 3


def test_oscillation_matches_the_plan_displacements(motion):
    render_plan = plan(motion, RenderSettings(loop_frames=60, strength=1.5, fps=24))
    osc = webdata.oscillation_from_plan(render_plan)
    assert osc.loop_frames == 60 and osc.fps == 24
    assert np.all(osc.harmonics >= 1) and np.all(np.diff(osc.harmonics) > 0)
    np.testing.assert_allclose(osc.freqs_hz, osc.harmonics * 24 / 60)
    engine = spectral.displacements(render_plan.motion, render_plan.times[[0, 7, 33]])
    for row, frame in enumerate((0, 7, 33)):
        np.testing.assert_allclose(webdata.displacement(osc, frame), engine[row], atol=2e-4)
    np.testing.assert_array_equal(webdata.displacement(osc, 60), webdata.displacement(osc, 0))
    # the splat weight is averaged at the engine's own sample times (frames.weight_times), as loop fractions
    assert osc.weight_samples.shape == (60,) and osc.weight_samples[0] == 0 and osc.weight_samples[-1] < 1


def test_oscillation_block_round_trip_keeps_the_motion_to_a_small_fraction_of_a_pixel(motion):
    osc = webdata.oscillation_from_plan(plan(motion, RenderSettings()))
    block = json.loads(webdata.to_json(webdata.document([webdata.oscillation_block(osc)])))["blocks"][0]
    assert block["type"] == "oscillation" and block["version"] == 1 and block["y_axis"] == "down"
    assert block["grid"] == [motion.height, motion.width] and block["bands"] == osc.coeffs.shape[0]
    back = webdata.decode_oscillation(block)
    np.testing.assert_array_equal(back.harmonics, osc.harmonics)
    for frame in (11, 75):
        exact, decoded = webdata.displacement(osc, frame), webdata.displacement(back, frame)
        rms = np.sqrt(np.mean(exact ** 2))
        assert rms > 1.0  # the motion is strong (grid pixels = image pixels here)
        assert np.sqrt(np.mean((decoded - exact) ** 2)) < 0.02 * rms


def test_zero_hz_and_silent_bands_are_dropped_and_shared_harmonics_add():
    coeffs = np.zeros((4, 2, 3, 5), dtype=np.complex64)
    coeffs[0] = 5.0  # 0 Hz: anchoring removes it
    coeffs[1, 0] = 1.0 + 1.0j
    coeffs[3, 1] = 2.0
    sv = spectral.make(coeffs, np.array([0.0, 0.2, 0.4, 0.21]), 30.0, {"window_frames": 150})
    osc = webdata.oscillation_from_plan(plan(sv, RenderSettings(loop_frames=150)))
    assert osc.harmonics.tolist() == [1]  # 0.2 and 0.21 Hz both land on harmonic 1; 0.4 Hz is silent
    np.testing.assert_allclose(osc.coeffs[0, 0], 1.0 + 1.0j)
    np.testing.assert_allclose(osc.coeffs[0, 1], 2.0)


def test_a_band_that_is_not_a_whole_number_of_cycles_per_loop_is_refused():
    coeffs = np.ones((2, 2, 2, 2), dtype=np.complex64)
    sv = spectral.make(coeffs, np.array([0.25, 0.33]), 30.0, {})  # natural period 120 frames: 0.33 Hz is 1.32 cycles
    with pytest.raises(InputError, match="not a whole number"):
        webdata.oscillation_from_plan(plan(sv, RenderSettings()))


@pytest.mark.parametrize(("settings", "flag"), [
    (RenderSettings(decay_s=2.0), "--decay"),
    (RenderSettings(frames=(0, 10)), "--frames"),
    (RenderSettings(slow_motion=2.0), "--slow-motion"),
])
def test_settings_a_player_cannot_honour_are_refused(settings, flag):
    with pytest.raises(InputError, match=f"cannot honour {flag}"):
        refuse_unplayable(settings)


def test_motion_with_a_flow_is_refused_not_silently_dropped(still, motion, tmp_path):
    import inspect

    if "flow" not in inspect.signature(spectral.make).parameters:
        pytest.skip("this engine has no flow fields yet")
    flowing = spectral.make(motion.coeffs, motion.freqs_hz, motion.fps, motion.meta,
                            flow=np.ones((2, motion.height, motion.width), dtype=np.float32))
    with pytest.raises(InputError, match="cannot play the flow"):
        export_web(io.read_image(still), flowing, tmp_path / "web")
    assert not (tmp_path / "web" / INDEX_NAME).exists()


def test_build_page_inlines_data_and_player_and_escapes_the_title():
    doc = webdata.document([{"type": "future", "version": 1, "note": "</script><b>"}])
    page = build_page(doc, "a <b> & __DATA__")
    assert "a &lt;b&gt; &amp; __DATA__" in page
    assert page.count("<script") == 2 and page.count("</script>") == 2 and "<b>" not in page
    assert "__PLAYER__" not in page and "class Player" in page
    found = re.search(r'type="application/json">(.*?)</script>', page, re.S)
    assert json.loads(found.group(1)) == doc


# ----------------------------------------------------------------------------------------------------------------------
# export_web and the command


def test_export_web_writes_one_self_contained_page_all_or_nothing(still, motion, tmp_path):
    image = io.read_image(still)
    out = tmp_path / "player"
    result = export_web(image, motion, out, RenderSettings(strength=1.2, loop_frames=75))
    assert result.index == out / INDEX_NAME and sorted(p.name for p in out.iterdir()) == [INDEX_NAME]
    assert result.size_bytes == result.index.stat().st_size < 3_000_000
    assert (result.width, result.height, result.loop_frames, result.fps) == (WIDTH, HEIGHT, 75, 30.0)
    doc = page_document(result.index)
    assert doc["format"] == "image-dynamics-web" and doc["version"] == 1
    image_block, osc_block = doc["blocks"]
    assert image_block["type"] == "image" and (image_block["width"], image_block["height"]) == (WIDTH, HEIGHT)
    assert osc_block["loop_frames"] == 75 and osc_block["bands"] == result.bands
    assert "http://" not in result.index.read_text() and "https://" not in result.index.read_text()
    with pytest.raises(OutputError, match="already exists"):
        export_web(image, motion, out, RenderSettings())
    before = result.index.read_bytes()
    assert result.index.read_bytes() == before
    export_web(image, motion, out, RenderSettings(), overwrite=True)
    assert result.index.read_bytes() != before
    assert sorted(p.name for p in out.iterdir()) == [INDEX_NAME]  # no staging folder left behind


def test_export_web_command_and_its_one_line_refusals(still, motion, tmp_path, capsys):
    motion_path = tmp_path / "m.npz"
    spectral.save(motion, motion_path)
    out = tmp_path / "web"
    assert main(["export-web", str(still), "--motion", str(motion_path), "-o", str(out), "--strength", "1.5",
                 "--loop-frames", "90", "--fps", "24", "--band-gains", "0:1,3:0.5"]) == 0
    assert "index.html" in capsys.readouterr().out
    assert page_document(out / INDEX_NAME)["blocks"][1]["fps"] == 24
    for extra, flag in ((["--decay", "2"], "--decay"), (["--frames", "0:10"], "--frames"),
                        (["--slow-motion", "2"], "--slow-motion"), (["--format", "mp4"], "--format"),
                        (["--displacement", "forward"], "--displacement"), (["--name", "x"], "--name")):
        assert main(["export-web", str(still), "--motion", str(motion_path), "-o", str(tmp_path / "no"),
                     *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"cannot honour {flag}" in err and "Traceback" not in err
    assert not (tmp_path / "no" / INDEX_NAME).exists()


# ----------------------------------------------------------------------------------------------------------------------
# In a real browser

BROWSER = find_chromium()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def browser():
    with HeadlessChromium(BROWSER) as chromium:
        yield chromium


def engine_frames(image: io.LoadedImage, render_plan, frames: list[int]) -> list[np.ndarray]:
    renderer = FrameRenderer(image.pixels, render_plan.motion, splat_beta=1.0)
    times = np.asarray(frames, dtype=np.float64) * render_plan.motion.fps / render_plan.fps
    return [io.to_display_uint8(f, image.colorspace).astype(np.int16) for f in renderer.frames(times)]


@needs_browser
@pytest.mark.slow
def test_browser_frames_match_the_engine(still, motion, tmp_path, browser):
    image = io.read_image(still)
    settings = RenderSettings(loop_frames=60, strength=1.2)
    result = export_web(image, motion, tmp_path / "player", settings)
    render_plan = plan(motion, settings)
    loop = render_plan.loop_frames
    frames = [13, 41]
    engine = engine_frames(image, render_plan, frames)
    still_px = io.to_display_uint8(image.pixels, image.colorspace).astype(np.int16)
    first = browser.frame(result.index, 0)
    assert first.shape == (HEIGHT, WIDTH, 4) and np.all(first[..., 3] == 255)
    first = first[..., :3].astype(np.int16)
    assert np.abs(first - still_px).max() <= 1  # frame 0 is the still
    for frame, eng in zip(frames, engine):
        web = browser.frame(result.index, frame)[..., :3].astype(np.int16)
        overall = np.abs(web - eng).mean()
        moving = np.abs(eng - still_px).max(axis=2) > 4
        engine_motion = np.abs(eng - still_px)[moving].mean()
        web_error = np.abs(web - eng)[moving].mean()
        print(f"frame {frame}: mean abs diff {overall:.3f}/255 overall, {web_error:.3f}/255 on the {moving.sum()} "
              f"moving pixels, where the engine differs from the still by {engine_motion:.2f}/255")
        assert moving.mean() > 0.2 and engine_motion > 8  # the test motion is strong
        assert overall <= 3.0
        assert web_error <= 0.25 * engine_motion
        assert np.abs(web - first).mean() >= 0.5 * np.abs(eng - still_px).mean()
    last = browser.frame(result.index, loop)[..., :3].astype(np.int16)
    np.testing.assert_array_equal(last, first)  # frame L is frame 0: the loop is seamless


@needs_browser
@pytest.mark.slow
def test_browser_width_parameter_sets_the_size(still, motion, tmp_path, browser):
    result = export_web(io.read_image(still), motion, tmp_path / "player", RenderSettings())
    small = browser.frame(result.index, 0, width=80)
    assert small.shape == (50, 80, 4)
    reference = np.asarray(Image.open(still).resize((80, 50), Image.Resampling.BILINEAR), dtype=np.int16)
    assert np.abs(small[..., :3].astype(np.int16) - reference).mean() < 6  # the still, shrunk
    moved = browser.frame(result.index, 40, width=80)
    assert np.abs(moved.astype(np.int16) - small.astype(np.int16)).mean() > 2


def rewrite_data(index: Path, edit) -> None:
    text = index.read_text(encoding="utf-8")
    start = text.index('type="application/json">') + len('type="application/json">')
    end = text.index("</script>", start)
    index.write_text(text[:start] + edit(text[start:end]) + text[end:], encoding="utf-8")


@needs_browser
@pytest.mark.slow
def test_broken_or_newer_data_shows_a_clear_message_and_unknown_blocks_a_notice(still, motion, tmp_path, browser):
    result = export_web(io.read_image(still), motion, tmp_path / "player", RenderSettings(loop_frames=30))
    url = result.index.resolve().as_uri()
    good = result.index.read_text(encoding="utf-8")

    def add_block(text: str) -> str:
        doc = json.loads(text)
        doc["blocks"].append({"type": "flow", "version": 1, "data": ""})
        return json.dumps(doc)

    rewrite_data(result.index, add_block)
    assert browser.open(url + "?frame=5") == "ready"
    notices = browser.notices()
    assert len(notices) == 1 and '"flow"' in notices[0] and "ignored" in notices[0]

    def short_motion_data(text: str) -> str:  # 6 bytes of the motion data missing
        doc = json.loads(text)
        doc["blocks"][1]["data"] = doc["blocks"][1]["data"][:-8]
        return json.dumps(doc)

    cases = {
        "truncated": (lambda text: text[: len(text) // 2], "not valid JSON"),
        "short motion data": (short_motion_data, "expected K*h*w*4"),
        "newer": (lambda text: text.replace('"version":1', '"version":2', 1), "format version 2"),
    }
    for name, (edit, expected) in cases.items():
        result.index.write_text(good, encoding="utf-8")
        rewrite_data(result.index, edit)
        assert browser.open(url) == "error", name
        message = browser.message()
        print(f"{name}: {message}")
        assert message.startswith("This web player cannot start:") and expected in message, name
        assert "export-web" in message
        assert not browser.canvas_visible()


CONTROLS_SCRIPT = """
(() => {
  const player = imageDynamicsPlayer;
  const set = (id, value) => {
    const el = document.getElementById(id);
    el.value = String(value);
    el.dispatchEvent(new Event('input'));
  };
  const button = document.getElementById('play');
  button.click();  // pause
  const frame = (t) => { player.render(t); return player.readPixelsBase64(); };
  const out = {paused: button.textContent, size: player.player.size};
  out.still = frame(0);
  out.moving = frame(20);
  set('strength', 0);
  out.frozen = frame(20);
  set('strength', 1);
  set('highcut', 0);
  out.cut_all = frame(20);
  set('highcut', document.getElementById('highcut').step);
  out.first_band = frame(20);
  set('highcut', document.getElementById('highcut').max);
  const step = Number(document.getElementById('lowcut').step);
  set('lowcut', step);
  out.low_cut_first = frame(20);
  set('lowcut', 2 * step);
  out.low_cut_second = frame(20);
  set('lowcut', 0);
  out.restored = frame(20);
  return out;
})()
"""


@needs_browser
@pytest.mark.slow
def test_player_controls_edit_what_plays(still, motion, tmp_path, browser):
    result = export_web(io.read_image(still), motion, tmp_path / "player", RenderSettings(loop_frames=60))
    browser.set_viewport(200, 220)
    try:
        assert browser.open(result.index.resolve().as_uri()) == "playing"
        assert browser.evaluate("!document.getElementById('controls').hidden")
        out = browser.evaluate(CONTROLS_SCRIPT)
    finally:
        browser.set_viewport(1280, 800)
    assert out["paused"] == "Play"
    width, height = out["size"]
    assert 0 < width <= 200 and abs(width / height - WIDTH / HEIGHT) < 0.05  # fitted to the window, aspect kept
    frames = {k: np.frombuffer(base64.b64decode(v), np.uint8).astype(np.int16)
              for k, v in out.items() if k not in ("paused", "size")}
    assert np.abs(frames["moving"] - frames["still"]).mean() > 5
    np.testing.assert_array_equal(frames["frozen"], frames["still"])  # strength 0: the still
    np.testing.assert_array_equal(frames["cut_all"], frames["still"])  # high cut 0 Hz: no band is left
    full = np.abs(frames["moving"] - frames["still"]).mean()
    first = np.abs(frames["first_band"] - frames["still"]).mean()
    assert 0.2 * full < first < full  # high cut at the first harmonic: that band alone moves
    np.testing.assert_array_equal(frames["low_cut_first"], frames["moving"])  # cuts are inclusive: nothing removed
    assert 0 < np.abs(frames["low_cut_second"] - frames["still"]).mean() < full  # the first band removed
    np.testing.assert_array_equal(frames["restored"], frames["moving"])


@needs_browser
@pytest.mark.slow
def test_browser_frames_of_a_picture_with_alpha_match_the_engine(still, motion, tmp_path, browser):
    rgb = io.read_image(still).pixels
    alpha = np.clip(np.linspace(-0.5, 1.5, WIDTH, dtype=np.float32), 0, 1)[None, :, None] * np.ones((HEIGHT, 1, 1))
    path = io.write_png(tmp_path / "cutout.png", np.concatenate([rgb, alpha.astype(np.float32)], axis=2), "srgb")
    image = io.read_image(path)
    assert image.pixels.shape[2] == 4 and image.pixels[:, :20, 3].max() == 0  # a fully transparent strip
    settings = RenderSettings(loop_frames=60)
    result = export_web(image, motion, tmp_path / "player", settings)
    (engine,) = engine_frames(image, plan(motion, settings), [17])
    web = browser.frame(result.index, 17).astype(np.int16)
    still_px = io.to_display_uint8(image.pixels, image.colorspace).astype(np.int16)
    moving = np.abs(engine - still_px).max(axis=2) > 4
    print(f"alpha: mean abs diff {np.abs(web - engine).mean():.3f}/255, {np.abs(web - engine)[moving].mean():.3f}/255 "
          f"on moving pixels, engine motion {np.abs(engine - still_px)[moving].mean():.2f}/255")
    assert np.abs(web - engine).mean() <= 3.0
    assert np.abs(web - engine)[moving].mean() <= 0.25 * np.abs(engine - still_px)[moving].mean()
    clear = np.all(engine == 0, axis=2)  # fully transparent, no colour
    assert clear.sum() > 500 and np.abs(web[clear]).max() <= 1
