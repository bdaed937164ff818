"""A self-contained web player of an animated image: one ``index.html`` that plays the loop with WebGL2.

:func:`export_web` writes ``<folder>/index.html`` holding the still (PNG) and the edited spectral volume at grid
resolution (int8, see :mod:`image_dynamics.web.data` for the versioned format) inline: browsers refuse textures from
sibling files on ``file://``, so nothing is read from disk or network at view time. The hand-written player
(``player.js``, package data) runs the engine's own frame path in shaders at the display's resolution: inverse DFT on
the grid, edge-aware upsampling, softmax splatting of every pixel as a point, push-pull hole filling.
``index.html?frame=N&width=W`` shows frame N paused, W pixels wide, so a frame can be compared with the engine's.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..atomic import StagedOutputs
from ..errors import InputError, OutputError
from ..frames import check_aspect
from ..io import LoadedImage
from ..settings import RenderSettings, plan
from ..spectral import SpectralVolume
from . import data
from .data import FORMAT_NAME, FORMAT_VERSION, Oscillation, oscillation_from_plan

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "INDEX_NAME", "Oscillation", "WebExport", "build_page", "export_web",
           "refuse_unplayable"]

INDEX_NAME = "index.html"
#: Most bands the player's shaders take (uniform arrays); a loop re-bin never gives more than the file's K.
MAX_BANDS = 64


@dataclass(frozen=True)
class WebExport:
    """What :func:`export_web` wrote.

    Attributes:
        index: path of ``index.html``.
        size_bytes: its size.
        width, height: the still's size in pixels (the player's default width).
        grid: ``(h, w)`` of the motion grid.
        bands: frequency bands in the player's data.
        fps: output frame rate; loop_frames: frames per loop.
    """

    index: Path
    size_bytes: int
    width: int
    height: int
    grid: tuple[int, int]
    bands: int
    fps: float
    loop_frames: int


def refuse_unplayable(settings: RenderSettings, motion: SpectralVolume | None = None) -> None:
    """Raise :class:`InputError` (one line) for a setting a looping web player cannot honour."""
    if settings.decay_s is not None or (motion is not None and motion.decay_s is not None):
        raise InputError("export-web cannot honour --decay: a web player loops forever. Render a settling clip with "
                         "`image-dynamics render`, or export without --decay.")
    if settings.frames is not None:
        raise InputError("export-web cannot honour --frames: the player plays the whole loop. Export without "
                         "--frames (`?frame=N` in the page's address shows one frame).")
    if settings.slow_motion != 1.0:
        raise InputError("export-web cannot honour --slow-motion: use the player's speed control instead.")
    if motion is not None and getattr(motion, "flow", None) is not None:
        raise InputError("export-web cannot play the flow in this motion file yet (the web player plays oscillating "
                         "motion only). Render it with `image-dynamics render`, or export motion without a flow.")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def build_page(doc: dict, title: str) -> str:
    """``index.html`` text: the player template with ``doc`` (see :mod:`.data`) and the player script inlined."""
    page = _asset("player.html")
    script = _asset("player.js")
    if "<script" in script.lower() or "</script" in script.lower() or "<!--" in script:
        raise AssertionError("player.js must not contain script tags or comment openers")
    for marker in ("__TITLE__", "__DATA__", "__PLAYER__"):
        if page.count(marker) != 1:
            raise AssertionError(f"player.html must hold {marker} exactly once")
    values = {"__TITLE__": html.escape(title), "__DATA__": data.to_json(doc), "__PLAYER__": script}
    # filled left to right so that no inserted text is ever searched for a marker
    out, rest = [], page
    for marker in sorted(values, key=page.index):
        before, _, rest = rest.partition(marker)
        out += [before, values[marker]]
    return "".join(out + [rest])


def export_web(image: LoadedImage, motion: SpectralVolume, folder: str | os.PathLike,
               settings: RenderSettings | None = None, mask: np.ndarray | None = None, overwrite: bool = False,
               title: str | None = None, inputs: tuple[str | os.PathLike, ...] = ()) -> WebExport:
    """Write a web player of ``image`` moving by ``motion`` (edited by ``settings``) to ``folder/index.html``.

    Args:
        image: the still (8/16-bit sRGB or linear EXR; the page holds it as 8-bit sRGB, so linear images are
            warped in display space by the player).
        motion: the spectral volume, any grid of the image's aspect ratio.
        folder: output folder (created if missing).
        settings: render edits and timing (strength, band gains, cuts, mask feather, fps, loop frames, time stretch,
            splat beta); decay, frame ranges and slow motion are refused (:func:`refuse_unplayable`).
        mask: optional grayscale float ``[H, W]`` (white moves), as ``render --mask``.
        overwrite: replace an existing ``index.html``; otherwise an existing one is an :class:`OutputError`.
        title: page title (default: the image file's stem).
        inputs: files the output must never replace (the motion file, the mask); the image's own path is added.

    Returns a :class:`WebExport`. The file is written through :class:`StagedOutputs`: all or nothing.
    """
    settings = settings or RenderSettings()
    refuse_unplayable(settings, motion)
    check_aspect(motion, image.width, image.height, motion_name=f"the motion ({motion.width}x{motion.height} grid)")
    render_plan = plan(motion, settings, mask=mask)
    osc = oscillation_from_plan(render_plan, splat_beta=settings.splat_beta)
    if osc.coeffs.shape[0] > MAX_BANDS:
        raise InputError(f"the motion has {osc.coeffs.shape[0]} moving bands; the web player takes at most "
                         f"{MAX_BANDS}. Drop some with --high-cut or --low-cut.")
    doc = data.document([data.image_block(image.pixels, image.colorspace), data.oscillation_block(osc)])
    page = build_page(doc, title if title is not None else f"{Path(image.path).stem} — Image Dynamics")
    folder = Path(folder)
    with StagedOutputs(folder, overwrite=overwrite, inputs=(image.path, *inputs)) as staged:
        path = staged.stage_path(INDEX_NAME)
        try:
            path.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{folder / INDEX_NAME}: cannot write the file ({exc.strerror or exc}). Check the "
                              "folder is writable and the disk has space.") from None
        (index,) = staged.commit()
    return WebExport(index, index.stat().st_size, image.width, image.height, (int(osc.coeffs.shape[2]),
                     int(osc.coeffs.shape[3])), int(osc.coeffs.shape[0]), osc.fps, osc.loop_frames)
