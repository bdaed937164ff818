"""Layers, drawing surfaces, noise and colour, and the scene that composites layers into frames and motion.

A scene is a list of layers in painter's order (back to front). Each layer is a premultiplied RGBA sprite (sRGB 0..1,
float32) drawn once, in frame 0, plus an optional :class:`~.motion.MotionField` over its frame-0 positions. Everything
is drawn on a canvas padded by ``margin`` pixels on every side, so content that moves into view from beyond the image
edge exists. Coordinates are image pixels (origin top-left, x right, y down; integer coordinates are pixel centres, as
in OpenCV); the padded canvas spans ``-margin .. width + margin``.

- Frame 0 (:meth:`Scene.render`): layers composited with the "over" operator; each pixel's motion coefficients are
  composited the same way, weighted by each layer's visible coverage, so a pixel fully covered by one layer carries
  exactly that layer's motion (the top layer's point at that pixel), a pixel covered only by static layers carries
  exactly zero, and anti-aliased edges carry the coverage-weighted mix of the layers they show.
- Frame t (:meth:`Scene.frame`): every moving layer is re-sampled backwards, ``out(q) = sprite(p)`` with
  ``p + d(p, t) = q`` solved by fixed-point iteration, then composited in the same order.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .motion import MAX_GRADIENT, MotionField, is_harmonic, phase_weights, stack_real

#: Per-pixel material of the layer that covers most of a pixel. The first seven never move.
KIND_NAMES = ("sky", "terrain", "ground", "rock", "structure", "static_plant", "interior",
              "grass", "plant", "tree", "water", "cloth", "flame")
KIND = {name: index for index, name in enumerate(KIND_NAMES)}
STATIC_KINDS = frozenset(range(7))
MOVING_KINDS = frozenset(range(7, len(KIND_NAMES)))

_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel (1/16 px) vertex positions
_MAX_DISPLACEMENT = 12.0  # pixels; below the canvas margin so no layer pulls content from outside the padded canvas
_INVERSE_ITERATIONS = 12


# ----------------------------------------------------------------------------------------------------------------------
# Colour and noise


def hsv(h: float, s: float, v: float) -> np.ndarray:
    """RGB float32 ``(3,)`` from hue (turns, wraps), saturation and value in 0..1."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0)), dtype=np.float32)


def pick_hsv(rng: np.random.Generator, h: tuple[float, float], s: tuple[float, float],
             v: tuple[float, float]) -> np.ndarray:
    """A colour drawn uniformly from HSV ranges."""
    return hsv(rng.uniform(*h), rng.uniform(*s), rng.uniform(*v))


def jitter(rgb: np.ndarray, rng: np.random.Generator, amount: float = 0.05) -> np.ndarray:
    """``rgb`` with independent per-channel noise of standard deviation ``amount``, clipped to 0..1."""
    return np.clip(rgb + rng.normal(0.0, amount, 3), 0.0, 1.0).astype(np.float32)


def lerp(a, b, t):
    """Linear interpolation ``a + (b - a) t`` (broadcasting)."""
    return a + (b - a) * t


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (either order)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def value_noise(rng: np.random.Generator, height: int, width: int, cell_y: float, cell_x: float) -> np.ndarray:
    """float32 ``[height, width]`` smooth noise: a Gaussian random grid of ``cell`` pixel spacing, cubic-upsampled."""
    cell_y, cell_x = max(cell_y, 1.0), max(cell_x, 1.0)
    gh, gw = int(height / cell_y) + 4, int(width / cell_x) + 4
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(grid, (int(gw * cell_x), int(gh * cell_y)), interpolation=cv2.INTER_CUBIC)
    oy, ox = int(cell_y) + int(rng.integers(0, int(cell_y) + 1)), int(cell_x) + int(rng.integers(0, int(cell_x) + 1))
    return big[oy:oy + height, ox:ox + width]


def fbm(rng: np.random.Generator, height: int, width: int, scale: float, octaves: int = 4, gain: float = 0.5,
        aspect: float = 1.0) -> np.ndarray:
    """float32 ``[height, width]`` fractal noise normalised to zero mean and unit standard deviation.

    ``scale`` is the largest feature size in pixels (vertically); ``aspect`` > 1 stretches features horizontally.
    """
    total = np.zeros((height, width), dtype=np.float32)
    amp, cell = 1.0, float(scale)
    for _ in range(octaves):
        if cell < 1.0:
            break
        total += amp * value_noise(rng, height, width, cell, cell * aspect)
        amp *= gain
        cell /= 2.0
    std = float(total.std())
    return (total - total.mean()) / (std if std > 1e-6 else 1.0)


def noise_1d(rng: np.random.Generator, length: int, scale: float, octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    """float32 ``[length]`` fractal noise along a line (profiles of hills, tree lines, edges), zero mean, unit std."""
    total = np.zeros(length, dtype=np.float64)
    amp, cell = 1.0, float(scale)
    for _ in range(octaves):
        if cell < 1.0:
            break
        knots = rng.standard_normal(int(length / cell) + 4).astype(np.float32)
        smooth = cv2.resize(knots[None, :], (int(knots.size * cell), 1), interpolation=cv2.INTER_CUBIC)[0]
        start = int(rng.integers(0, max(int(cell), 1)))
        total += amp * smooth[start:start + length]
        amp *= gain
        cell /= 2.0
    std = float(total.std())
    return ((total - total.mean()) / (std if std > 1e-9 else 1.0)).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------------
# Layers and drawing


@dataclass(eq=False)
class Layer:
    """A premultiplied RGBA sprite placed at image position (left, top), and how it moves (None: never)."""

    kind: int
    left: int
    top: int
    rgba: np.ndarray  # float32 [h, w, 4], colour premultiplied by alpha
    motion: MotionField | None = None

    @property
    def height(self) -> int:
        return int(self.rgba.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgba.shape[1])


class Sprite:
    """A drawing surface over the image rectangle ``[x0, x1) x [y0, y1)`` (clipped to the padded canvas).

    Flat-coloured primitives (:meth:`fill`, :meth:`line`, :meth:`ellipse` and their batched forms) are drawn
    anti-aliased by OpenCV into an 8-bit premultiplied buffer (drawing ``(r, g, b, 1)`` over transparent black gives
    premultiplied colour); textured paint (:meth:`paint`) and shading (:meth:`multiply`) work in float on the
    accumulated result.
    """

    def __init__(self, scene: Scene, x0: float, y0: float, x1: float, y1: float) -> None:
        lo_x, lo_y = -scene.margin, -scene.margin
        hi_x, hi_y = scene.width + scene.margin, scene.height + scene.margin
        self.left = int(min(max(math.floor(x0), lo_x), hi_x - 1))
        self.top = int(min(max(math.floor(y0), lo_y), hi_y - 1))
        right = int(min(max(math.ceil(x1), self.left + 1), hi_x))
        bottom = int(min(max(math.ceil(y1), self.top + 1), hi_y))
        self.height, self.width = bottom - self.top, right - self.left
        self.rgba = np.zeros((self.height, self.width, 4), dtype=np.float32)
        self._pending: np.ndarray | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    # -- coordinates
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates ``(x, y)`` of this sprite's pixel centres, float32 ``[h, w]`` each."""
        if self._grid is None:
            ys, xs = np.mgrid[self.top:self.top + self.height, self.left:self.left + self.width]
            self._grid = xs.astype(np.float32), ys.astype(np.float32)
        return self._grid

    shift = _SHIFT

    def fixed(self, pts: np.ndarray) -> np.ndarray:
        """Image points ``[N, 2]`` as OpenCV fixed-point sprite coordinates (use with ``shift=Sprite.shift``)."""
        p = (np.asarray(pts, dtype=np.float64).reshape(-1, 2) - (self.left, self.top)) * (1 << _SHIFT)
        return np.round(p).astype(np.int32).reshape(-1, 1, 2)

    # -- flat primitives
    def _buffer(self) -> np.ndarray:
        if self._pending is None:
            self._pending = np.zeros((self.height, self.width, 4), dtype=np.uint8)
        return self._pending

    @staticmethod
    def _colours(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
        """OpenCV colours (0..255, opaque) for ``rgb`` ``[n, 3]`` or ``(3,)`` in 0..1."""
        values = (np.clip(np.asarray(rgb, dtype=np.float64).reshape(-1, 3), 0.0, 1.0) * 255.0).tolist()
        return [(r, g, b, 255.0) for r, g, b in values]

    def fill(self, pts: np.ndarray, rgb) -> None:
        """Filled polygon with vertices ``pts`` ``[N, 2]`` (image x, y)."""
        cv2.fillPoly(self._buffer(), [self.fixed(pts)], self._colours(rgb)[0], cv2.LINE_AA, _SHIFT)

    def line(self, pts: np.ndarray, rgb, thickness: int = 1) -> None:
        """Open polyline through ``pts`` ``[N, 2]`` of ``thickness`` pixels."""
        cv2.polylines(self._buffer(), [self.fixed(pts)], False, self._colours(rgb)[0], max(int(thickness), 1),
                      cv2.LINE_AA, _SHIFT)

    def ellipse(self, centre, axes, angle_deg: float, rgb) -> None:
        """Filled ellipse with semi-axes ``axes`` (pixels) rotated by ``angle_deg``."""
        self.ellipses(np.asarray([centre], np.float64), np.asarray([axes], np.float64), np.asarray([angle_deg]),
                      np.asarray(rgb, np.float64).reshape(1, 3))

    def fills(self, polys: np.ndarray, rgb: np.ndarray) -> None:
        """Many filled polygons, ``polys`` ``[n, P, 2]`` with colours ``[n, 3]``, drawn in order."""
        buf, colours = self._buffer(), self._colours(rgb)
        fixed = self.fixed(polys.reshape(-1, 2)).reshape(polys.shape[0], -1, 1, 2)
        for poly, colour in zip(fixed, colours):
            cv2.fillPoly(buf, [poly], colour, cv2.LINE_AA, _SHIFT)

    def lines(self, polys: np.ndarray, rgb: np.ndarray, thickness: int = 1) -> None:
        """Many open polylines ``[n, P, 2]`` with colours ``[n, 3]``, drawn in order."""
        buf, colours = self._buffer(), self._colours(rgb)
        fixed = self.fixed(polys.reshape(-1, 2)).reshape(polys.shape[0], -1, 1, 2)
        for poly, colour in zip(fixed, colours):
            cv2.polylines(buf, [poly], False, colour, max(int(thickness), 1), cv2.LINE_AA, _SHIFT)

    def ellipses(self, centres: np.ndarray, axes: np.ndarray, angles_deg: np.ndarray, rgb: np.ndarray) -> None:
        """Filled ellipses: centres ``[n, 2]``, semi-axes ``[n, 2]`` (pixels), angles ``[n]``, colours ``[n, 3]``."""
        buf, colours = self._buffer(), self._colours(rgb)
        c = self.fixed(centres).reshape(-1, 2).tolist()
        ax = np.maximum(np.rint(np.asarray(axes, np.float64) * (1 << _SHIFT)), 1).astype(np.int64).tolist()
        for (cx, cy), (a, b), angle, colour in zip(c, ax, np.asarray(angles_deg, np.float64).tolist(), colours):
            cv2.ellipse(buf, (cx, cy), (a, b), angle, 0.0, 360.0, colour, -1, cv2.LINE_AA, _SHIFT)

    def flush(self) -> None:
        """Composite the pending flat primitives over the float surface."""
        if self._pending is not None:
            top = self._pending.astype(np.float32) / 255.0
            self.rgba = top + self.rgba * (1.0 - top[..., 3:4])
            self._pending = None

    # -- float paint
    def mask(self) -> np.ndarray:
        """A blank uint8 coverage mask of this sprite's size, to draw on with :func:`mask_fill` and friends."""
        return np.zeros((self.height, self.width), dtype=np.uint8)

    def fill_mask(self, pts: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Coverage (float32 0..1) of the polygon ``pts`` drawn into ``mask`` (a new one if None)."""
        m = self.mask() if mask is None else mask
        cv2.fillPoly(m, [self.fixed(pts)], 255, cv2.LINE_AA, _SHIFT)
        return m.astype(np.float32) / 255.0

    def paint(self, alpha: np.ndarray, rgb: np.ndarray) -> None:
        """Paint straight colour ``rgb`` (``[h, w, 3]`` or ``(3,)``) with coverage ``alpha`` ``[h, w]`` on top."""
        self.flush()
        a = np.clip(alpha, 0.0, 1.0).astype(np.float32)[..., None]
        colour = np.broadcast_to(np.asarray(rgb, dtype=np.float32), (self.height, self.width, 3))
        self.rgba[..., :3] = colour * a + self.rgba[..., :3] * (1.0 - a)
        self.rgba[..., 3:] = a + self.rgba[..., 3:] * (1.0 - a)

    def multiply(self, shade: np.ndarray) -> None:
        """Multiply the colour of everything drawn so far by ``shade`` (``[h, w]`` or ``[h, w, 3]``)."""
        self.flush()
        s = np.asarray(shade, dtype=np.float32)
        self.rgba[..., :3] *= s[..., None] if s.ndim == 2 else s

    def layer(self, kind: str, motion: MotionField | None = None) -> Layer:
        """The finished sprite as a :class:`Layer` of material ``kind`` (a name in :data:`KIND_NAMES`)."""
        self.flush()
        np.clip(self.rgba, 0.0, None, out=self.rgba)
        self.rgba[..., :3] = np.minimum(self.rgba[..., :3], self.rgba[..., 3:4])
        return Layer(KIND[kind], self.left, self.top, self.rgba, motion)


# ----------------------------------------------------------------------------------------------------------------------
# Colour grading (screen space, the same for every frame)


@dataclass
class Grade:
    """Camera-like colour treatment of the composited frame: a 3x3 colour matrix, a gamma, a vignette."""

    matrix: np.ndarray  # float32 [3, 3] applied as rgb @ matrix.T
    gamma: float = 1.0
    vignette: float = 0.0  # darkening at the corners, 0..1

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        out = np.clip(rgb @ self.matrix.T.astype(np.float32), 0.0, 1.0)
        if self.gamma != 1.0:
            out = out ** np.float32(self.gamma)
        if self.vignette > 0.0:
            h, w = rgb.shape[:2]
            yy = (np.arange(h, dtype=np.float32)[:, None] - (h - 1) / 2) / (h / 2)
            xx = (np.arange(w, dtype=np.float32)[None, :] - (w - 1) / 2) / (w / 2)
            out = out * (1.0 - self.vignette * np.clip(0.5 * (xx * xx + yy * yy), 0.0, 1.0))[..., None]
        return out


IDENTITY_GRADE = Grade(np.eye(3, dtype=np.float32))


def quantise(rgb: np.ndarray) -> np.ndarray:
    """float 0..1 -> uint8, rounding to nearest."""
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------------------
# The scene


@dataclass
class RenderedScene:
    """Frame 0 of a scene with its per-pixel motion (all arrays over the visible image)."""

    image: np.ndarray  # uint8 [H, W, 3]
    freqs: list[float]  # the scene's motion frequencies in Hz, J of them
    coeffs: np.ndarray  # complex64 [J, 2, H, W]: per-pixel coefficients of each frequency
    kinds: np.ndarray  # uint8 [H, W]: index into KIND_NAMES of the layer with the largest visible coverage
    moving_cover: np.ndarray  # float32 [H, W]: visible coverage by moving layers (0 means exactly static)


@dataclass(eq=False)
class _Motion:
    """A moving layer's coefficients over its sprite grown by ``pad`` pixels (the region its warp can reach)."""

    freqs: list[float]
    pad: int
    coeffs: np.ndarray  # complex64 [J_l, 2, h + 2 pad, w + 2 pad]


class Scene:
    """Layers in painter's order on a padded canvas; renders frame 0 with motion, and true frames at any time."""

    def __init__(self, width: int, height: int, margin: int = 16, harmonic_only: bool = False) -> None:
        self.width, self.height, self.margin = int(width), int(height), int(margin)
        self.harmonic_only = harmonic_only
        self.layers: list[Layer] = []
        self._motion: dict[int, _Motion] = {}
        self.grade = IDENTITY_GRADE
        self.light_gradient = (0.0, 0.0)  # relative brightness change across the image in x and y

    # -- building
    def sprite(self, x0: float, y0: float, x1: float, y1: float) -> Sprite:
        return Sprite(self, x0, y0, x1, y1)

    def full_sprite(self) -> Sprite:
        m = self.margin
        return Sprite(self, -m, -m, self.width + m, self.height + m)

    def add(self, layer: Layer) -> Layer:
        """Light the layer, prepare its motion (harmonic filter, fold-over guard) and put it on top."""
        gx, gy = self.light_gradient
        if gx or gy:
            ys = (np.arange(layer.height, dtype=np.float32) + layer.top) / self.height - 0.5
            xs = (np.arange(layer.width, dtype=np.float32) + layer.left) / self.width - 0.5
            layer.rgba[..., :3] *= (1.0 + gx * xs[None, :] + gy * ys[:, None])[..., None]
        if layer.motion is not None:
            if self.harmonic_only:
                layer.motion.terms = [t for t in layer.motion.terms if is_harmonic(t.freq_hz)]
            if layer.motion.terms:
                self._motion[id(layer)] = self._prepare_motion(layer)
            else:
                layer.motion = None
        self.layers.append(layer)
        return layer

    def _prepare_motion(self, layer: Layer) -> _Motion:
        field = layer.motion
        pad = int(min(math.ceil(field.bound()), _MAX_DISPLACEMENT)) + 2
        ys, xs = np.mgrid[layer.top - pad:layer.top + layer.height + pad,
                          layer.left - pad:layer.left + layer.width + pad]
        freqs = field.freqs()
        coeffs = field.coefficients(xs.astype(np.float32), ys.astype(np.float32), freqs)
        # Bound |grad d| and |d| over all times: |e^{i phi} - 1| <= 2 for every term.
        gy = np.abs(np.diff(coeffs, axis=2))[:, :, :, :-1]
        gx = np.abs(np.diff(coeffs, axis=3))[:, :, :-1, :]
        jac = 2.0 * np.sqrt((gx.sum(axis=0) ** 2).sum(axis=0) + (gy.sum(axis=0) ** 2).sum(axis=0))
        reach = 2.0 * np.sqrt((np.abs(coeffs).sum(axis=0) ** 2).sum(axis=0))
        gain = min(1.0, MAX_GRADIENT / max(float(jac.max()), 1e-12), _MAX_DISPLACEMENT / max(float(reach.max()), 1e-12))
        if gain < 1.0:
            field.gain *= gain
            coeffs *= np.float32(gain)
        return _Motion(freqs, pad, coeffs)

    # -- compositing
    def _region(self, left: int, top: int, height: int, width: int) -> tuple[slice, slice]:
        m = self.margin
        return slice(top + m, top + m + height), slice(left + m, left + m + width)

    def _padded_shape(self) -> tuple[int, int]:
        return self.height + 2 * self.margin, self.width + 2 * self.margin

    def composite_colour(self) -> np.ndarray:
        """float32 ``[H + 2m, W + 2m, 3]``: frame 0 of the layers added so far, on the padded canvas."""
        colour = np.zeros((*self._padded_shape(), 3), dtype=np.float32)
        for layer in self.layers:
            sl = self._region(layer.left, layer.top, layer.height, layer.width)
            colour[sl] = layer.rgba[..., :3] + colour[sl] * (1.0 - layer.rgba[..., 3:4])
        return colour

    def _crop(self, padded: np.ndarray) -> np.ndarray:
        m = self.margin
        return padded[..., m:m + self.height, m:m + self.width] if padded.ndim == 4 else \
            padded[m:m + self.height, m:m + self.width]

    def render(self) -> RenderedScene:
        """Frame 0 and each pixel's motion coefficients, composited front to back by visible coverage."""
        shape = self._padded_shape()
        freqs = sorted({f for mo in self._motion.values() for f in mo.freqs})
        index = {f: j for j, f in enumerate(freqs)}
        colour = np.zeros((*shape, 3), dtype=np.float32)
        trans = np.ones(shape, dtype=np.float32)
        coeffs = np.zeros((len(freqs), 2, *shape), dtype=np.complex64)
        best = np.zeros(shape, dtype=np.float32)
        kinds = np.zeros(shape, dtype=np.uint8)
        moving = np.zeros(shape, dtype=np.float32)
        for layer in reversed(self.layers):
            sl = self._region(layer.left, layer.top, layer.height, layer.width)
            t = trans[sl]
            weight = layer.rgba[..., 3] * t
            colour[sl] += layer.rgba[..., :3] * t[..., None]
            top = weight > best[sl]
            best[sl] = np.where(top, weight, best[sl])
            kinds[sl] = np.where(top, np.uint8(layer.kind), kinds[sl])
            mo = self._motion.get(id(layer))
            if mo is not None:
                own = mo.coeffs[:, :, mo.pad:mo.pad + layer.height, mo.pad:mo.pad + layer.width]
                for j, f in enumerate(mo.freqs):
                    coeffs[(index[f], slice(None), *sl)] += own[j] * weight
                moving[sl] += weight
            trans[sl] = t * (1.0 - layer.rgba[..., 3])
        image = quantise(self.grade.apply(self._crop(colour)))
        return RenderedScene(image, freqs, np.ascontiguousarray(self._crop(coeffs)), self._crop(kinds).copy(),
                             self._crop(moving).copy())

    def _warped(self, layer: Layer, mo: _Motion, t: float) -> tuple[np.ndarray, int, int]:
        """The layer's sprite at frame time ``t`` over its reach region: ``(rgba, left, top)``."""
        h, w = mo.coeffs.shape[2:]
        disp = (phase_weights(mo.freqs, [t]).astype(np.float32) @ stack_real(mo.coeffs)).reshape(2, h, w)
        qy, qx = np.mgrid[0:h, 0:w].astype(np.float32)
        px, py = qx.copy(), qy.copy()
        for _ in range(_INVERSE_ITERATIONS):  # p = q - d(p): a contraction since |grad d| <= MAX_GRADIENT
            dx = cv2.remap(disp[0], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            dy = cv2.remap(disp[1], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            px, py = qx - dx, qy - dy
        # Sprite pixel (i, j) sits at region pixel (i + pad, j + pad).
        rgba = cv2.remap(layer.rgba, px - mo.pad, py - mo.pad, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0)
        return rgba, layer.left - mo.pad, layer.top - mo.pad

    def frame(self, t: float) -> np.ndarray:
        """The true frame at frame time ``t`` (frames at 30 fps; fractional allowed), uint8 ``[H, W, 3]``."""
        colour = np.zeros((*self._padded_shape(), 3), dtype=np.float32)
        trans = np.ones(self._padded_shape(), dtype=np.float32)
        for layer in reversed(self.layers):
            mo = self._motion.get(id(layer))
            rgba, left, top = (layer.rgba, layer.left, layer.top) if mo is None else self._warped(layer, mo, t)
            sl, rgba = self._clip_region(rgba, left, top)
            tr = trans[sl]
            colour[sl] += rgba[..., :3] * tr[..., None]
            trans[sl] = tr * (1.0 - rgba[..., 3])
        return quantise(self.grade.apply(self._crop(colour)))

    def _clip_region(self, rgba: np.ndarray, left: int, top: int) -> tuple[tuple[slice, slice], np.ndarray]:
        """Slices of the padded canvas covered by a sprite at (left, top), and the sprite cut to them."""
        m = self.margin
        ph, pw = self._padded_shape()
        r0, c0 = top + m, left + m
        r1, c1 = r0 + rgba.shape[0], c0 + rgba.shape[1]
        cr0, cc0, cr1, cc1 = max(r0, 0), max(c0, 0), min(r1, ph), min(c1, pw)
        return (slice(cr0, cr1), slice(cc0, cc1)), rgba[cr0 - r0:cr1 - r0, cc0 - c0:cc1 - c0]
