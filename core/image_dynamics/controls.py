"""Artist direction: arrows and drift that make a flow field, anchors, a strength map and direction hints.

Coordinates in every file and argument are image pixels, origin top-left, x right, y down, pixel centres at integers
(so the image spans ``-0.5 .. W - 0.5``); speeds are image pixels per second. Fields are made on the coefficients'
grid (``[2, h, w]``, grid pixels per second, see :mod:`image_dynamics.flow`).

- **Arrows** (``--arrows ARROWS.json``): ``[{"from": [x, y], "to": [x, y], "speed": px_per_s}, ...]``; ``speed`` is
  optional (default: the arrow's length per second). :func:`densify_arrows` makes a dense field inside a flow mask:
  inverse-distance weighting of the arrows' velocities (smooth, fills the whole mask), times a falloff that is 0
  outside the mask and rises to 1 a few grid pixels inside it, plus one small Gaussian correction per arrow solved so
  that the field sampled bilinearly at each arrow's start is exactly that arrow's velocity.
- **Drift** (``--drift DX,DY``): a uniform velocity inside the (feathered) flow mask, or everywhere without one.
- **Anchors** (``--anchors ANCHORS.json``): ``[{"at": [x, y], "radius": px}, {"stroke": [[x, y], ...], "radius": px}]``;
  motion (oscillation and flow) is multiplied by a gain that is 0 within one grid cell of the point or stroke (so the
  upsampled motion at the anchor is exactly 0) and rises smoothly to 1 at ``radius`` image pixels.
- **Strength map** (``--strength-map FILE``): per-pixel amplitude factor: float EXR values as stored, 8/16-bit files
  scaled to 0..2 (0 = still, 1 = as predicted, 2 = twice); it multiplies the motion on top of the motion mask.
- **Direction hint** (``--direction-hint MASK:DEGREES``): inside the mask, every band's sway is turned to the direction
  ``DEGREES`` (image coordinates as ``procedural``'s ``direction_deg``: 0 = along x, 90 = along y; a sway has an axis,
  so 90 and -90 are the same hint), keeping each pixel's energy per band and the phase of its projection on the
  direction.

Every reader validates everything and raises :class:`InputError` with one line saying what, where and how to fix.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import io, spectral
from .edits import mask_on_grid
from .errors import InputError
from .flow import check_velocity, sample_bilinear
from .spectral import SpectralVolume

#: Files larger than this are refused before parsing (a hand-made arrows file is a few kB).
MAX_CONTROL_FILE_BYTES = 4 << 20
#: Most arrows / anchor points one file may hold (the densification solves an N x N system).
MAX_ARROWS = 512
MAX_ANCHOR_POINTS = 100_000
#: Width of the falloff at the flow mask's edge, in grid pixels (at least): the field is 0 outside the mask.
EDGE_FALLOFF_GRID_PX = 2.0
#: Sigma of each arrow's exactness correction, in grid pixels.
CORRECTION_SIGMA_GRID_PX = 1.5
#: 8/16-bit strength maps are scaled from 0..1 to 0..STRENGTH_MAP_RANGE.
STRENGTH_MAP_RANGE = 2.0


@dataclass(frozen=True)
class Arrow:
    """One arrow: start, end (image pixels) and speed (image pixels per second, ``None`` = its length per second)."""

    start: tuple[float, float]
    end: tuple[float, float]
    speed: float | None = None

    @property
    def velocity(self) -> tuple[float, float]:
        """``(vx, vy)`` in image pixels per second: the unit direction start -> end times the speed."""
        dx, dy = self.end[0] - self.start[0], self.end[1] - self.start[1]
        length = math.hypot(dx, dy)
        speed = length if self.speed is None else self.speed
        return dx / length * speed, dy / length * speed


@dataclass(frozen=True)
class Anchor:
    """Points (one point, or a stroke of segments) where motion is pinned; ``radius`` in image pixels."""

    points: tuple[tuple[float, float], ...]
    radius: float


# ----------------------------------------------------------------------------------------------------------------------
# Reading control files


def read_json_file(path: str | os.PathLike, what: str) -> Any:
    """The JSON document in ``path``; :class:`InputError` (one line) when it is missing, too large or not JSON."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputError(f"{path}: the {what} file is not a regular file; give the path of a .json file.")
        if size > MAX_CONTROL_FILE_BYTES:
            raise InputError(f"{path}: the {what} file is {size} bytes, more than {MAX_CONTROL_FILE_BYTES} allowed; "
                             f"is this really a {what} file?")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found. Check the path.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} file ({exc.strerror or exc}).") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the {what} file is not UTF-8 text; save it as JSON text.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: the {what} file is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}).") from None
    except (RecursionError, ValueError) as exc:
        raise InputError(f"{path}: the {what} file is not valid JSON ({type(exc).__name__}).") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where} must be a number, got {_short(value)}.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(f"{where} must be a finite number, got {_short(value)}.")
    return number


def _short(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list, str, int, float, bool, type(None))) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _point(value: Any, where: str, image_size: tuple[int, int]) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{where} must be a point [x, y] in image pixels, got {_short(value)}.")
    x, y = _number(value[0], f"{where} x"), _number(value[1], f"{where} y")
    width, height = image_size
    if not (-0.5 <= x <= width - 0.5 and -0.5 <= y <= height - 0.5):
        raise InputError(f"{where} [{x:g}, {y:g}] is outside the {width}x{height} image (x in -0.5..{width - 0.5:g}, "
                         f"y in -0.5..{height - 0.5:g}, origin top-left); move it onto the image.")
    return x, y


def _records(data: Any, source: str, what: str, example: str) -> list[Any]:
    if not isinstance(data, list):
        raise InputError(f"{source}: {what} must be a JSON list like {example}, got {type(data).__name__}.")
    if not data:
        raise InputError(f"{source}: the {what} list is empty; give at least one, like {example}.")
    return data


def parse_arrows(data: Any, image_size: tuple[int, int], source: str = "arrows") -> list[Arrow]:
    """Validate a parsed arrows document for an image of ``image_size`` ``(W, H)``; see the module notes.

    Raises :class:`InputError` naming the arrow (0-based) for: not a list of objects, unknown keys, points that are
    not ``[x, y]`` numbers or lie outside the image, a zero-length arrow, a negative or non-finite speed, too many.
    """
    example = '[{"from": [10, 20], "to": [40, 20], "speed": 30}]'
    records = _records(data, source, "arrows", example)
    if len(records) > MAX_ARROWS:
        raise InputError(f"{source}: {len(records)} arrows, more than {MAX_ARROWS}; a few arrows per region are "
                         "enough (the field between them is interpolated).")
    arrows = []
    for index, record in enumerate(records):
        where = f"{source}: arrow {index}"
        if not isinstance(record, dict):
            raise InputError(f"{where} must be an object like {example[1:-1]}, got {_short(record)}.")
        unknown = sorted(set(record) - {"from", "to", "speed"})
        if unknown:
            raise InputError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                             "an arrow has 'from', 'to' and optionally 'speed'.")
        for key in ("from", "to"):
            if key not in record:
                raise InputError(f"{where} has no '{key}' point; give both 'from' and 'to' as [x, y].")
        start = _point(record["from"], f"{where} 'from'", image_size)
        end = _point(record["to"], f"{where} 'to'", image_size)
        if math.hypot(end[0] - start[0], end[1] - start[1]) < 1e-6:
            raise InputError(f"{where} has zero length ('from' equals 'to' = [{start[0]:g}, {start[1]:g}]), so it has "
                             "no direction; make 'to' differ from 'from'.")
        speed = None
        if record.get("speed") is not None:
            speed = _number(record["speed"], f"{where} 'speed'")
            if speed < 0:
                raise InputError(f"{where} has a negative speed {speed:g}; speeds are >= 0 pixels per second "
                                 "(point the arrow the other way to reverse it).")
        arrows.append(Arrow(start, end, speed))
    starts = {}
    for index, arrow in enumerate(arrows):
        key = (round(arrow.start[0], 6), round(arrow.start[1], 6))
        if key in starts:
            raise InputError(f"{source}: arrows {starts[key]} and {index} start at the same point "
                             f"[{arrow.start[0]:g}, {arrow.start[1]:g}]; one velocity per point.")
        starts[key] = index
    return arrows


def read_arrows(path: str | os.PathLike, image_size: tuple[int, int]) -> list[Arrow]:
    """Read and validate an arrows JSON file (see :func:`parse_arrows`)."""
    return parse_arrows(read_json_file(path, "arrows"), image_size, str(path))


def parse_anchors(data: Any, image_size: tuple[int, int], source: str = "anchors") -> list[Anchor]:
    """Validate a parsed anchors document (``{"at": [x, y], "radius": r}`` or ``{"stroke": [[x, y], ...],
    "radius": r}`` items, ``r > 0`` image pixels) for an image of ``image_size`` ``(W, H)``."""
    example = '[{"at": [10, 20], "radius": 30}, {"stroke": [[0, 5], [40, 5]], "radius": 10}]'
    records = _records(data, source, "anchors", example)
    anchors = []
    total = 0
    for index, record in enumerate(records):
        where = f"{source}: anchor {index}"
        if not isinstance(record, dict):
            raise InputError(f"{where} must be an object like {example[1:-1]}, got {_short(record)}.")
        unknown = sorted(set(record) - {"at", "stroke", "radius"})
        if unknown:
            raise InputError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                             "an anchor has 'at' (a point) or 'stroke' (a list of points), and 'radius'.")
        if ("at" in record) == ("stroke" in record):
            raise InputError(f"{where} needs exactly one of 'at' [x, y] or 'stroke' [[x, y], ...].")
        if "radius" not in record:
            raise InputError(f"{where} has no 'radius' (image pixels over which motion returns).")
        radius = _number(record["radius"], f"{where} 'radius'")
        if radius <= 0:
            raise InputError(f"{where} has radius {radius:g}; give a radius > 0 image pixels.")
        if "at" in record:
            points = (_point(record["at"], f"{where} 'at'", image_size),)
        else:
            stroke = record["stroke"]
            if not isinstance(stroke, list) or not stroke:
                raise InputError(f"{where} 'stroke' must be a non-empty list of points [[x, y], ...], "
                                 f"got {_short(stroke)}.")
            total += len(stroke)
            if total > MAX_ANCHOR_POINTS:
                raise InputError(f"{source}: more than {MAX_ANCHOR_POINTS} anchor points; simplify the strokes.")
            points = tuple(_point(p, f"{where} stroke point {i}", image_size) for i, p in enumerate(stroke))
        anchors.append(Anchor(points, radius))
    return anchors


def read_anchors(path: str | os.PathLike, image_size: tuple[int, int]) -> list[Anchor]:
    """Read and validate an anchors JSON file (see :func:`parse_anchors`)."""
    return parse_anchors(read_json_file(path, "anchors"), image_size, str(path))


def parse_drift(text: str) -> tuple[float, float]:
    """``"DX,DY"`` (image pixels per second, x right, y down) as two finite floats, or :class:`InputError`."""
    parts = str(text).split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        dx, dy = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"--drift {text!r} must be DX,DY in image pixels per second (x right, y down), "
                         "e.g. --drift 12,-3.") from None
    if not (math.isfinite(dx) and math.isfinite(dy)):
        raise InputError(f"--drift {text!r} must be finite numbers.")
    return dx, dy


def parse_direction_hint(text: str) -> tuple[str, float]:
    """``"MASK:DEGREES"`` as ``(mask path, degrees)``; the path may itself hold ':' (the last one separates)."""
    path, sep, degrees = str(text).rpartition(":")
    try:
        if not sep or not path:
            raise ValueError
        angle = float(degrees)
    except ValueError:
        raise InputError(f"--direction-hint {text!r} must be MASK:DEGREES (a mask image, then the sway direction in "
                         "degrees, 0 = along x, 90 = along y), e.g. --direction-hint reeds.png:90.") from None
    if not math.isfinite(angle):
        raise InputError(f"--direction-hint {text!r}: the angle must be a finite number of degrees.")
    return path, angle


# ----------------------------------------------------------------------------------------------------------------------
# Fields on the grid


def _grid_positions(grid_w: int, grid_h: int, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Image-pixel position of every grid cell centre: float64 ``(x [h, w], y [h, w])``."""
    width, height = image_size
    x = (np.arange(grid_w, dtype=np.float64) + 0.5) * width / grid_w - 0.5
    y = (np.arange(grid_h, dtype=np.float64) + 0.5) * height / grid_h - 0.5
    return np.broadcast_to(x[None, :], (grid_h, grid_w)), np.broadcast_to(y[:, None], (grid_h, grid_w))


def _to_grid(x: float, y: float, grid_w: int, grid_h: int, image_size: tuple[int, int]) -> tuple[float, float]:
    width, height = image_size
    return (x + 0.5) * grid_w / width - 0.5, (y + 0.5) * grid_h / height - 0.5


def flow_mask_on_grid(mask: np.ndarray, grid_w: int, grid_h: int, image_size: tuple[int, int],
                      feather_px: float = 0.0) -> np.ndarray:
    """A flow mask (``[h', w']`` in 0..1, white flows) on the grid by the engine's one mask resampler
    (:func:`edits.mask_on_grid`: aspect checked against the image, feathered in image pixels): float32 ``[h, w]``."""
    return mask_on_grid(mask, grid_w, grid_h, feather_px, source_size=image_size, name="flow mask")


def edge_falloff(flow_mask_grid: np.ndarray | None, grid_w: int, grid_h: int,
                 ramp_grid_px: float = EDGE_FALLOFF_GRID_PX) -> np.ndarray:
    """0 outside the flow mask (values < 0.5), rising smoothly to 1 at ``ramp_grid_px`` inside: float32 ``[h, w]``.

    ``None`` (no mask): 1 everywhere (the image border is not a mask edge).
    """
    if flow_mask_grid is None:
        return np.ones((grid_h, grid_w), dtype=np.float32)
    inside = (flow_mask_grid >= 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(np.pad(inside, 1, constant_values=1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    t = np.clip(distance / max(ramp_grid_px, 1e-6), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t) * inside).astype(np.float32)


def densify_arrows(arrows: Sequence[Arrow], grid_w: int, grid_h: int, image_size: tuple[int, int],
                   flow_mask_grid: np.ndarray | None = None, ramp_grid_px: float = EDGE_FALLOFF_GRID_PX) -> np.ndarray:
    """A dense velocity field from arrows: float32 ``[2, grid_h, grid_w]``, grid pixels per second.

    Args:
        arrows: validated arrows (image pixels, image pixels per second).
        grid_w, grid_h: the coefficients' grid.
        image_size: ``(W, H)`` of the image the arrows were drawn on.
        flow_mask_grid: optional float ``[grid_h, grid_w]`` flow mask on the grid (0..1); the field is 0 where it is
            below 0.5 and falls to 0 towards its edge. ``None``: the whole image flows.
        ramp_grid_px: width of the falloff inside the mask edge, grid pixels.

    Returns:
        ``falloff(p) * (IDW(p) + sum_i c_i exp(-|p - s_i|^2 / 2 sigma^2))`` where IDW is inverse-square-distance
        weighting of the arrows' velocities and ``c_i`` are solved (least squares) so that the field sampled
        bilinearly at each start ``s_i`` equals arrow ``i``'s velocity. Raises :class:`InputError` when an arrow starts
        outside the flow mask.
    """
    width, height = image_size
    to_grid = np.array([grid_w / width, grid_h / height])
    falloff = edge_falloff(flow_mask_grid, grid_w, grid_h, ramp_grid_px)
    gy, gx = np.mgrid[0:grid_h, 0:grid_w].astype(np.float64)
    starts = np.array([_to_grid(*a.start, grid_w, grid_h, image_size) for a in arrows], dtype=np.float64)
    velocities = np.array([a.velocity for a in arrows], dtype=np.float64) * to_grid  # grid px / s
    for index, (sx, sy) in enumerate(starts):
        if sample_bilinear(falloff[None], np.array([sx]), np.array([sy]))[0, 0] <= 1e-3:
            x, y = arrows[index].start
            raise InputError(f"arrow {index} starts at [{x:g}, {y:g}], outside the flow mask (or on its very edge, "
                             "where flow falls to 0); start it inside the white part of the flow mask.")
    # inverse-distance weighting: smooth between arrows, the whole mask covered, no overshoot
    weight_total = np.zeros((grid_h, grid_w))
    blended = np.zeros((2, grid_h, grid_w))
    for (sx, sy), velocity in zip(starts, velocities, strict=True):
        weight = 1.0 / ((gx - sx) ** 2 + (gy - sy) ** 2 + 0.25)
        weight_total += weight
        blended += velocity[:, None, None] * weight
    base = falloff * blended / weight_total
    # exactness at each start: Gaussian bumps whose amplitudes make the bilinear samples hit the arrows' velocities
    bumps = np.stack([falloff * np.exp(-((gx - sx) ** 2 + (gy - sy) ** 2) / (2 * CORRECTION_SIGMA_GRID_PX ** 2))
                      for sx, sy in starts])
    at_starts = sample_bilinear(bumps.astype(np.float32), starts[:, 0], starts[:, 1]).T.astype(np.float64)  # [i, j]
    residual = velocities - sample_bilinear(base.astype(np.float32), starts[:, 0], starts[:, 1]).T
    amplitudes = np.linalg.lstsq(at_starts, residual, rcond=1e-6)[0]  # [j, 2]
    field = base + np.tensordot(amplitudes.T, bumps, axes=(1, 0))
    return field.astype(np.float32)


def uniform_drift(drift: tuple[float, float], grid_w: int, grid_h: int, image_size: tuple[int, int],
                  flow_mask_grid: np.ndarray | None = None) -> np.ndarray:
    """A uniform velocity ``drift`` (image pixels per second) inside the flow mask, float32 ``[2, h, w]`` in grid
    pixels per second: ``drift * mask`` (the mask feathered as given), or ``drift`` everywhere without a mask."""
    width, height = image_size
    mask = np.ones((grid_h, grid_w), np.float32) if flow_mask_grid is None else flow_mask_grid.astype(np.float32)
    scale = (drift[0] * grid_w / width, drift[1] * grid_h / height)
    return np.stack([mask * np.float32(scale[0]), mask * np.float32(scale[1])]).astype(np.float32)


def anchor_gain(anchors: Sequence[Anchor], grid_w: int, grid_h: int, image_size: tuple[int, int]) -> np.ndarray:
    """Gain of the motion at every grid cell, float32 ``[h, w]`` in 0..1: 0 within one grid cell's diagonal of an
    anchor point or stroke (so the bilinear/edge-aware upsampled motion is exactly 0 there), smoothstep to 1 at the
    anchor's ``radius`` image pixels (at least two cell diagonals)."""
    width, height = image_size
    px, py = _grid_positions(grid_w, grid_h, image_size)
    core = math.hypot(width / grid_w, height / grid_h)
    gain = np.ones((grid_h, grid_w), dtype=np.float64)
    for anchor in anchors:
        points = np.asarray(anchor.points, dtype=np.float64)
        distance = np.hypot(px - points[0, 0], py - points[0, 1])
        for (ax, ay), (bx, by) in zip(points[:-1], points[1:], strict=True):
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = 0.0 if length2 == 0 else np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
            distance = np.minimum(distance, np.hypot(px - (ax + t * dx), py - (ay + t * dy)))
        outer = max(anchor.radius, 2.0 * core)
        t = np.clip((distance - core) / (outer - core), 0.0, 1.0)
        gain *= t * t * (3.0 - 2.0 * t)
    return gain.astype(np.float32)


def read_strength_map(path: str | os.PathLike) -> np.ndarray:
    """A strength map as float32 ``[H, W]`` >= 0: float EXR values as stored, 8/16-bit values scaled to 0..2.

    Colour files give their Rec. 709 luma (grey files their grey value, as :func:`io.read_grayscale`); refuses
    negative or non-finite values.
    """
    image = io.read_image(path)
    rgb = image.pixels[..., :3]
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        values = rgb[..., 0].copy()
    else:
        values = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    if image.colorspace != "linear":
        values = values * np.float32(STRENGTH_MAP_RANGE)
    if not np.isfinite(values).all():
        raise InputError(f"{path}: the strength map holds NaN or infinite values; give finite values >= 0.")
    if values.min() < 0:
        raise InputError(f"{path}: the strength map holds negative values (down to {values.min():g}); strengths are "
                         ">= 0 (0 = still, 1 = as predicted, 2 = twice as strong).")
    return values.astype(np.float32)


def strength_on_grid(strength: np.ndarray, grid_w: int, grid_h: int, image_size: tuple[int, int],
                     feather_px: float = 0.0) -> np.ndarray:
    """A strength map resampled to the grid by the engine's one mask resampler (aspect checked, feathered):
    float32 ``[h, w]``, values kept (not clipped to 1)."""
    values = np.asarray(strength, dtype=np.float32)
    top = max(1.0, float(values.max()) if values.size else 1.0)
    resampled = mask_on_grid(values / np.float32(top), grid_w, grid_h, feather_px, source_size=image_size,
                             name="strength map")
    return resampled * np.float32(top)


def scale_motion(sv: SpectralVolume, gain_grid: np.ndarray) -> SpectralVolume:
    """The volume with coefficients and flow (if any) multiplied per grid cell by ``gain_grid`` float ``[h, w]``."""
    gain = np.asarray(gain_grid, dtype=np.float32)
    if gain.shape != (sv.height, sv.width):
        raise InputError(f"gain must be a map on the motion grid [{sv.height}, {sv.width}], got {gain.shape}.")
    coeffs = (sv.coeffs * gain[None, None]).astype(np.complex64)
    flow = None if sv.flow is None else (sv.flow * gain[None]).astype(np.float32)
    return spectral.validate(sv.with_(coeffs=coeffs, flow=flow))


def direction_hint(sv: SpectralVolume, region_grid: np.ndarray, degrees: float) -> SpectralVolume:
    """Turn each band's sway towards ``degrees`` where ``region_grid`` (float ``[h, w]`` in 0..1) is set.

    For band ``k`` at pixel ``p`` with ``S = (S_x, S_y)`` and unit direction ``u = (cos a, sin a)`` (engine axes):
    the turned coefficient is ``u * sqrt(|S_x|^2 + |S_y|^2) * c / |c|`` with ``c = u . S`` (the projection's phase; a
    sway exactly across ``u`` keeps the phase of its larger component), blended as ``(1 - m) S + m S_turned``.
    """
    region = np.asarray(region_grid, dtype=np.float32)
    if region.shape != (sv.height, sv.width):
        raise InputError(f"direction-hint region must be on the motion grid [{sv.height}, {sv.width}], "
                         f"got {region.shape}.")
    angle = math.radians(degrees)
    ux, uy = math.cos(angle), math.sin(angle)
    sx, sy = sv.coeffs[:, 0].astype(np.complex128), sv.coeffs[:, 1].astype(np.complex128)
    energy = np.sqrt(np.abs(sx) ** 2 + np.abs(sy) ** 2)
    projection = ux * sx + uy * sy
    larger = np.where(np.abs(sx) >= np.abs(sy), sx, sy)
    phase_source = np.where(np.abs(projection) > 1e-12 * np.maximum(energy, 1e-30), projection, larger)
    magnitude = np.abs(phase_source)
    phase = np.divide(phase_source, magnitude, out=np.ones_like(phase_source), where=magnitude > 0)
    turned = energy * phase
    m = region[None]
    coeffs = np.stack([(1 - m) * sx + m * ux * turned, (1 - m) * sy + m * uy * turned], axis=1)
    return spectral.validate(sv.with_(coeffs=coeffs.astype(np.complex64)))


def with_flow(sv: SpectralVolume, velocity: np.ndarray | None) -> SpectralVolume:
    """The volume with ``velocity`` (grid pixels per second, ``[2, h, w]``) added to its flow (``None``: unchanged)."""
    if velocity is None:
        return sv
    velocity = check_velocity(velocity, sv.height, sv.width)
    total = velocity if sv.flow is None else sv.flow + velocity
    return spectral.validate(sv.with_(flow=total.astype(np.float32)))


# ----------------------------------------------------------------------------------------------------------------------
# All controls at once (the one path the CLI and the Blender add-on share)


def apply_controls(motion: SpectralVolume, image_size: tuple[int, int], *, arrows: Sequence[Arrow] = (),
                   drift: tuple[float, float] | None = None, flow_mask: np.ndarray | None = None,
                   flow_feather_px: float = 0.0, anchors: Sequence[Anchor] = (),
                   strength: np.ndarray | None = None,
                   direction: tuple[np.ndarray, float] | None = None) -> SpectralVolume:
    """``motion`` with flow added (arrows, drift) and the direction controls applied, in this order: flow, direction
    hint, strength map, anchors (so anchors pin the finished motion).

    Args:
        motion: the motion (grid pixels; its flow, if any, is kept and added to).
        image_size: ``(W, H)`` of the image every coordinate refers to.
        arrows: validated arrows (:func:`parse_arrows`), densified inside ``flow_mask``.
        drift: ``(dx, dy)`` image pixels per second, uniform inside the (feathered) flow mask, or everywhere.
        flow_mask: ``[h', w']`` in 0..1, white flows, the image's aspect ratio.
        flow_feather_px: feather of the flow mask (drift and direction-hint region), image pixels.
        anchors: validated anchors (:func:`parse_anchors`).
        strength: ``[h', w']`` strength map (:func:`read_strength_map`).
        direction: ``(region [h', w'] in 0..1, degrees)``.

    Raises :class:`InputError` (one line) for a flow mask with nothing to make it flow, and whatever the steps refuse.
    """
    grid_w, grid_h = motion.width, motion.height
    feather = float(flow_feather_px)
    if not (math.isfinite(feather) and feather >= 0):
        raise InputError(f"flow mask feather must be a number >= 0 (image pixels), got {feather:g}.")
    mask_grid = None if flow_mask is None else flow_mask_on_grid(flow_mask, grid_w, grid_h, image_size)
    velocity = None
    if arrows:
        velocity = densify_arrows(arrows, grid_w, grid_h, image_size, mask_grid)
    if drift is not None:
        feathered = None if flow_mask is None else flow_mask_on_grid(flow_mask, grid_w, grid_h, image_size, feather)
        moving = uniform_drift(drift, grid_w, grid_h, image_size, feathered)
        velocity = moving if velocity is None else velocity + moving
    if flow_mask is not None and velocity is None and motion.flow is None:
        raise InputError("a flow mask says where flow goes but nothing makes it flow: give arrows, a drift or a "
                         "motion file that holds a flow (`image-dynamics motion flow`).")
    motion = with_flow(motion, velocity)
    if direction is not None:
        region, degrees = direction
        region_grid = mask_on_grid(region, grid_w, grid_h, feather, source_size=image_size,
                                   name="direction-hint mask")
        motion = direction_hint(motion, region_grid, degrees)
    if strength is not None:
        motion = scale_motion(motion, strength_on_grid(strength, grid_w, grid_h, image_size))
    if anchors:
        motion = scale_motion(motion, anchor_gain(anchors, grid_w, grid_h, image_size))
    return motion
