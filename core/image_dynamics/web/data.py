"""The web player's data format: a versioned JSON document of typed blocks, inlined in ``index.html``.

Document (``format`` is always ``"image-dynamics-web"``; ``version`` is the container version, :data:`FORMAT_VERSION`)::

    {"format": "image-dynamics-web", "version": 1, "generator": "image-dynamics 0.1.0",
     "blocks": [{"type": "image", "version": 1, ...}, {"type": "oscillation", "version": 1, ...}]}

A player reads the block types it knows and ignores any other block with a notice on the page (flowing motion and
pokes will add blocks); a block of a known type with a newer ``version`` than the player knows is ignored the same way.

``image`` block v1: ``mime`` ``"image/png"``, ``width``, ``height`` (pixels), ``alpha`` (bool: straight alpha in the
PNG), ``colorspace`` ``"srgb"`` (display-referred 8-bit: linear inputs are sRGB-encoded), ``data`` base64 PNG.

``oscillation`` block v1 (docs/conventions.md conventions: pixels, origin top-left, x right, **y down**):

- ``grid`` ``[h, w]`` rows and columns of the motion grid; ``units`` ``"grid pixels"``: a player showing the picture
  ``W x H`` pixels large multiplies x components by ``W / w`` and y by ``H / h``;
- ``bands`` K; ``fps`` output frame rate; ``loop_frames`` L (frame L repeats frame 0); ``harmonics`` int ``[K]``,
  cycles of each band per loop (>= 1, unique), so band ``k`` has ``harmonics[k] * fps / L`` Hz (``freqs_hz``, given
  for display);
- displacement of output frame ``t`` (frames, may be fractional), anchored so frame 0 is the still:
  ``a_t = Re sum_k S_k (exp(2 pi i harmonics[k] t / L) - 1)``;
- ``encoding`` ``"int8-sqrt"``: ``data`` is base64 of int8 ``[K, h, w, 4]`` (component order ``re x, im x, re y,
  im y``, rows top to bottom), decoded as ``S = sign(q) (q / 127)^2 * scales[k][c]`` (signed square-root companding
  keeps small coefficients precise), ``scales`` float ``[K][4]`` in grid pixels;
- ``splat``: ``beta`` (softmax sharpness) and ``weight_samples``, the loop fractions ``u_j`` at which the splat weight
  ``W(p) = mean_j |a(u_j L)(p)|`` is averaged (the engine's own sample times);
- ``upsample``: ``sigma_color`` and ``radius`` of the edge-aware (joint bilateral) upsampling of the grid fields.
"""

from __future__ import annotations

import base64
import io as _io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .. import __version__
from ..errors import InputError
from ..frames import weight_times
from ..io import to_display_uint8
from ..settings import RenderPlan

FORMAT_NAME = "image-dynamics-web"
#: Version of the container (the document); blocks carry their own versions.
FORMAT_VERSION = 1
#: Block types and the highest version of each that this writer (and the bundled player) knows.
KNOWN_BLOCKS = {"image": 1, "oscillation": 1}
QUANT_LEVELS = 127
#: A band's cycles per loop must be this close to a whole number for the loop to be seamless.
HARMONIC_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class Oscillation:
    """Looping motion as the player receives it.

    Attributes:
        coeffs: complex64 ``[K, 2, h, w]`` one-sided amplitudes in grid pixels (x right, y down), edits applied.
        harmonics: int64 ``[K]`` cycles of each band per loop, unique and >= 1.
        fps: output frame rate.
        loop_frames: L, output frames per loop.
        weight_samples: float64 ``[J]`` loop fractions at which the splat weight averages ``|a_t|``.
        splat_beta: softmax-splatting sharpness.
        sigma_color: range sigma of the edge-aware upsampling (guide units, 0..1 sRGB).
    """

    coeffs: np.ndarray
    harmonics: np.ndarray
    fps: float
    loop_frames: int
    weight_samples: np.ndarray
    splat_beta: float = 1.0
    sigma_color: float = 0.1

    @property
    def freqs_hz(self) -> np.ndarray:
        """float64 ``[K]`` band frequencies in Hz."""
        return self.harmonics.astype(np.float64) * self.fps / self.loop_frames


def oscillation_from_plan(render_plan: RenderPlan, splat_beta: float = 1.0, sigma_color: float = 0.1) -> Oscillation:
    """The player's motion for a render plan: the plan's edited volume, bands as whole cycles per loop.

    Bands at 0 Hz (anchoring removes them) and bands with no motion are dropped; bands landing on the same harmonic
    add. The splat weight samples are the engine's (:func:`image_dynamics.frames.weight_times`) as loop fractions.

    Raises :class:`InputError` when the plan has no loop (decay) or per-frame gains (animated edits), or when a band
    is not a whole number of cycles per loop (the engine's loop would not be seamless either).
    """
    if render_plan.loop_frames is None:
        raise InputError("a web player loops forever: motion with a decay (--decay) cannot be exported; "
                         "render it with `image-dynamics render` instead.")
    if getattr(render_plan, "basis", None) is not None:
        raise InputError("a web player plays the motion's own loop: a plan driven by forces (poke) cannot be exported "
                         "yet; render it with `image-dynamics poke` instead.")
    if render_plan.frame_gains is not None:
        raise InputError("a web player plays one fixed motion: animated strength or band gains cannot be exported; "
                         "export without them and use the player's strength control.")
    motion = render_plan.motion
    loop, fps = int(render_plan.loop_frames), float(render_plan.fps)
    cycles = motion.freqs_hz.astype(np.float64) * loop / fps
    harmonics = np.round(cycles).astype(np.int64)
    off = np.abs(cycles - harmonics) > HARMONIC_TOLERANCE
    if off.any():
        k = int(np.argmax(off))
        raise InputError(f"band {k} ({motion.freqs_hz[k]:.4g} Hz) makes {cycles[k]:.4f} cycles per {loop}-frame loop, "
                         "not a whole number, so the loop would not be seamless; give --loop-frames to re-bin it.")
    moving = (harmonics > 0) & np.any(motion.coeffs != 0, axis=(1, 2, 3))
    unique = np.unique(harmonics[moving])
    coeffs = np.zeros((unique.size, 2, motion.height, motion.width), dtype=np.complex128)
    for band in np.flatnonzero(moving):
        coeffs[np.searchsorted(unique, harmonics[band])] += motion.coeffs[band]
    samples = weight_times(motion)  # the engine's own sample times, in the volume's frames, as loop fractions
    samples = samples * fps / (motion.fps * loop)
    return Oscillation(coeffs.astype(np.complex64), unique, fps, loop, samples, float(splat_beta), float(sigma_color))


# ----------------------------------------------------------------------------------------------------------------------
# Quantisation


def quantise(coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """complex ``[K, 2, h, w]`` -> (int8 ``[K, h, w, 4]``, float32 ``[K, 4]`` scales), signed-sqrt companded.

    Component order ``re x, im x, re y, im y``; each band and component has its own scale (its largest magnitude).
    """
    planes = np.stack([coeffs[:, 0].real, coeffs[:, 0].imag, coeffs[:, 1].real, coeffs[:, 1].imag], axis=-1)
    planes = planes.astype(np.float64)
    scales = np.abs(planes).max(axis=(1, 2)).astype(np.float32)  # [K, 4]
    safe = np.where(scales > 0, scales, 1.0).astype(np.float64)[:, None, None, :]
    q = np.round(np.sign(planes) * np.sqrt(np.abs(planes) / safe) * QUANT_LEVELS)
    return np.clip(q, -QUANT_LEVELS, QUANT_LEVELS).astype(np.int8), scales


def dequantise(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Inverse of :func:`quantise`: int8 ``[K, h, w, 4]`` and scales ``[K, 4]`` -> complex64 ``[K, 2, h, w]``."""
    unit = q.astype(np.float32) / np.float32(QUANT_LEVELS)
    planes = np.sign(unit) * unit * unit * np.asarray(scales, dtype=np.float32)[:, None, None, :]
    out = np.empty((q.shape[0], 2) + q.shape[1:3], dtype=np.complex64)
    out[:, 0] = planes[..., 0] + 1j * planes[..., 1]
    out[:, 1] = planes[..., 2] + 1j * planes[..., 3]
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Blocks


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image_block(pixels: np.ndarray, colorspace: str) -> dict[str, Any]:
    """The still as an 8-bit sRGB PNG block; float ``[H, W, C]`` pixels as :class:`image_dynamics.io.LoadedImage`."""
    display = to_display_uint8(pixels, colorspace)
    alpha = display.shape[2] == 4
    buffer = _io.BytesIO()
    Image.fromarray(display, "RGBA" if alpha else "RGB").save(buffer, format="PNG", optimize=False, compress_level=6)
    return {"type": "image", "version": 1, "mime": "image/png", "width": int(display.shape[1]),
            "height": int(display.shape[0]), "alpha": alpha, "colorspace": "srgb", "data": _b64(buffer.getvalue())}


def oscillation_block(osc: Oscillation) -> dict[str, Any]:
    """The ``oscillation`` block (v1) of ``osc``: quantised coefficients and timing."""
    q, scales = quantise(osc.coeffs)
    return {
        "type": "oscillation", "version": 1,
        "grid": [int(osc.coeffs.shape[2]), int(osc.coeffs.shape[3])],
        "units": "grid pixels", "y_axis": "down",
        "bands": int(osc.coeffs.shape[0]),
        "fps": float(osc.fps), "loop_frames": int(osc.loop_frames),
        "harmonics": [int(h) for h in osc.harmonics],
        "freqs_hz": [round(float(f), 6) for f in osc.freqs_hz],
        "encoding": "int8-sqrt", "layout": "band, row, column, (re x, im x, re y, im y)",
        "scales": [[float(s) for s in band] for band in scales],
        "splat": {"beta": float(osc.splat_beta), "weight_samples": [float(u) for u in osc.weight_samples]},
        "upsample": {"sigma_color": float(osc.sigma_color), "radius": 1},
        "data": _b64(np.ascontiguousarray(q).tobytes()),
    }


def document(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The top-level document holding ``blocks``."""
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "generator": f"image-dynamics {__version__}",
            "blocks": blocks}


def to_json(doc: dict[str, Any]) -> str:
    """Compact JSON safe inside an HTML ``<script>`` element: every ``<`` is written ``\\u003c``, so no ``</script``
    can close it early and no ``<!--`` can change how the element is parsed."""
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


# ----------------------------------------------------------------------------------------------------------------------
# Reading back (tests, tools)


def decode_oscillation(block: dict[str, Any]) -> Oscillation:
    """An :class:`Oscillation` from an ``oscillation`` block (coefficients dequantised)."""
    h, w = (int(v) for v in block["grid"])
    k = int(block["bands"])
    raw = np.frombuffer(base64.b64decode(block["data"]), dtype=np.int8)
    if raw.size != k * h * w * 4:
        raise InputError(f"oscillation block: data holds {raw.size} values, expected K*h*w*4 = {k * h * w * 4}.")
    coeffs = dequantise(raw.reshape(k, h, w, 4), np.asarray(block["scales"], dtype=np.float32))
    splat = block["splat"]
    return Oscillation(coeffs, np.asarray(block["harmonics"], dtype=np.int64), float(block["fps"]),
                       int(block["loop_frames"]), np.asarray(splat["weight_samples"], dtype=np.float64),
                       float(splat["beta"]), float(block["upsample"]["sigma_color"]))


def displacement(osc: Oscillation, frame: float) -> np.ndarray:
    """Anchored displacement of output frame ``frame`` in grid pixels, float32 ``[2, h, w]`` (y down)."""
    cycles = np.mod(osc.harmonics.astype(np.float64) * frame, osc.loop_frames) / osc.loop_frames
    phase = np.exp(2j * math.pi * cycles) - 1.0
    return np.tensordot(phase, osc.coeffs.astype(np.complex128), axes=(0, 0)).real.astype(np.float32)
