"""Static man-made things: buildings with windows and roofs, fences, posts and stone walls (thin and still)."""

from __future__ import annotations

import numpy as np

from .canvas import Layer, Scene, fbm, hsv, jitter, lerp, pick_hsv, smoothstep
from .sky import Mood

WALL_HSV = (((0.0, 1.0), (0.05, 0.35), (0.65, 0.92)),  # plaster, any hue
            ((0.01, 0.05), (0.45, 0.7), (0.35, 0.6)),  # brick
            ((0.0, 1.0), (0.0, 0.08), (0.4, 0.7)),  # stone, concrete
            ((0.06, 0.09), (0.4, 0.6), (0.25, 0.45)),  # timber
            ((0.25, 0.45), (0.25, 0.5), (0.4, 0.65)),  # painted green
            ((0.55, 0.65), (0.25, 0.5), (0.45, 0.75)))  # painted blue
ROOF_HSV = (((0.0, 0.04), (0.5, 0.75), (0.35, 0.55)), ((0.55, 0.65), (0.05, 0.2), (0.15, 0.3)),
            ((0.06, 0.1), (0.3, 0.5), (0.2, 0.35)), ((0.42, 0.5), (0.3, 0.5), (0.4, 0.55)),
            ((0.6, 0.66), (0.3, 0.5), (0.25, 0.45)))
WOOD_HSV = (((0.06, 0.1), (0.25, 0.5), (0.3, 0.55)), ((0.0, 1.0), (0.0, 0.05), (0.85, 0.95)),
            ((0.3, 0.4), (0.3, 0.5), (0.2, 0.35)), ((0.0, 0.03), (0.5, 0.7), (0.3, 0.5)),
            ((0.0, 1.0), (0.0, 0.05), (0.1, 0.2)), ((0.08, 0.12), (0.05, 0.15), (0.45, 0.6)))


def _stripes(coord: np.ndarray, period: float, width: float = 0.6) -> np.ndarray:
    """1 on joints of a regular grid of ``period`` pixels, anti-aliased over about a pixel; 0 between."""
    d = np.abs(((coord / period) + 0.5) % 1.0 - 0.5) * period
    return smoothstep(width + 0.6, width - 0.2, d)


def building(scene: Scene, rng: np.random.Generator, mood: Mood, x0: float, base: float, width: float,
             height: float, light: tuple[float, float], lit_windows: float = 0.0) -> Layer:
    """A house or block: textured facade, roof, a grid of windows (some lit), a door, optionally a side wall."""
    roof_kind = rng.choice(["gable", "flat", "hip"], p=[0.5, 0.3, 0.2])
    roof_h = 0.0 if roof_kind == "flat" else height * rng.uniform(0.25, 0.6)
    side = width * rng.uniform(0.15, 0.4) if rng.random() < 0.5 else 0.0
    s = scene.sprite(x0 - 2, base - height - roof_h - 2, x0 + width + side + 2, base + 2)
    x, y = s.grid()
    wall = pick_hsv(rng, *WALL_HSV[int(rng.integers(len(WALL_HSV)))])
    roof = pick_hsv(rng, *ROOF_HSV[int(rng.integers(len(ROOF_HSV)))])
    brick = rng.random() < 0.35
    unit = max(height / 25.0, 1.5)
    tex = 1.0 + 0.06 * fbm(rng, s.height, s.width, 3.0, octaves=3)
    if brick:
        rows = _stripes(y, unit * 1.2, 0.3)
        cols = _stripes(x + (np.floor(y / (unit * 1.2)) % 2) * unit * 1.5, unit * 3.0, 0.3)
        tex = tex * (1.0 - 0.25 * np.maximum(rows, cols))
    facade = np.array([[x0, base], [x0, base - height], [x0 + width, base - height], [x0 + width, base]])
    s.paint(s.fill_mask(facade), wall[None, None] * tex[..., None] * (1.0 - 0.2 * smoothstep(base - height, base, y))
            [..., None])
    if side > 0:
        sign = 1.0 if light[0] < 0 else 0.7
        pts = np.array([[x0 + width, base], [x0 + width, base - height], [x0 + width + side, base - height * 0.94],
                        [x0 + width + side, base - height * 0.06]])
        s.paint(s.fill_mask(pts), wall * 0.7 * sign * tex[..., None])
    if roof_kind == "gable":
        pts = np.array([[x0 - 2, base - height], [x0 + width / 2, base - height - roof_h],
                        [x0 + width + 2, base - height]])
    elif roof_kind == "hip":
        inset = width * rng.uniform(0.15, 0.35)
        pts = np.array([[x0 - 2, base - height], [x0 + inset, base - height - roof_h],
                        [x0 + width - inset, base - height - roof_h], [x0 + width + 2, base - height]])
    else:
        pts = np.array([[x0 - 1, base - height - 2], [x0 + width + 1, base - height - 2],
                        [x0 + width + 1, base - height], [x0 - 1, base - height]])
    roof_tex = 1.0 - 0.2 * _stripes(y, max(unit, 1.5), 0.25) + 0.05 * fbm(rng, s.height, s.width, 2.0, octaves=2)
    s.paint(s.fill_mask(pts), roof[None, None] * roof_tex[..., None])
    if side > 0 and roof_kind != "flat":
        pts = np.array([[x0 + width / 2, base - height - roof_h],
                        [x0 + width / 2 + side, base - height - roof_h * 0.94],
                        [x0 + width + side, base - height * 0.94], [x0 + width + 2, base - height]])
        s.paint(s.fill_mask(pts), roof * 0.75 * roof_tex[..., None])
    if rng.random() < 0.4 and roof_kind != "flat":
        cx = x0 + width * rng.uniform(0.6, 0.8)
        low, high = base - height - roof_h * 0.3, base - height - roof_h * 0.95
        s.fill(np.array([[cx, low], [cx, high], [cx + unit * 2, high], [cx + unit * 2, low]]), wall * 0.7)
    _windows(s, rng, mood, x0, base, width, height, wall, unit, lit_windows)
    s.multiply(np.full((s.height, s.width, 3), mood.light * mood.tint, np.float32))
    return s.layer("structure")


def _windows(s, rng: np.random.Generator, mood: Mood, x0: float, base: float, width: float, height: float,
             wall: np.ndarray, unit: float, lit_windows: float) -> None:
    floors = int(np.clip(height / rng.uniform(12, 22), 1, 8))
    cols = max(1, int(width / rng.uniform(10, 20)))
    frame = jitter(hsv(0, 0, 0.95), rng) if rng.random() < 0.6 else pick_hsv(rng, (0, 1), (0.2, 0.6), (0.15, 0.5))
    glass_top, glass_bottom = lerp(mood.zenith, np.float32([0.1, 0.12, 0.15]), 0.5), np.float32([0.08, 0.1, 0.13])
    fh, fw = height / floors, width / cols
    wh, ww = fh * rng.uniform(0.4, 0.6), fw * rng.uniform(0.35, 0.6)
    door_col = int(rng.integers(cols)) if rng.random() < 0.8 else -1
    for f in range(floors):
        for c in range(cols):
            cx, cy = x0 + (c + 0.5) * fw, base - height + (f + 0.45) * fh
            if f == floors - 1 and c == door_col:
                dw, dh = ww * 1.1, fh * 0.8
                s.fill(np.array([[cx - dw / 2, base], [cx - dw / 2, base - dh], [cx + dw / 2, base - dh],
                                 [cx + dw / 2, base]]), pick_hsv(rng, (0, 1), (0.3, 0.7), (0.2, 0.5)))
                continue
            rect = np.array([[cx - ww / 2, cy + wh / 2], [cx - ww / 2, cy - wh / 2], [cx + ww / 2, cy - wh / 2],
                             [cx + ww / 2, cy + wh / 2]])
            s.fill(rect + [[-1, 1], [-1, -1], [1, -1], [1, 1]], frame)
            lit = rng.random() < lit_windows
            glass = hsv(0.11, 0.6, 0.95) if lit else lerp(glass_top, glass_bottom, rng.uniform(0, 1))
            s.fill(rect, glass)
            if ww > 5:
                s.line(np.array([[cx, cy - wh / 2], [cx, cy + wh / 2]]), frame, 1)
            if wh > 6:
                s.line(np.array([[cx - ww / 2, cy], [cx + ww / 2, cy]]), frame, 1)


def fence(scene: Scene, rng: np.random.Generator, mood: Mood, x0: float, x1: float, base0: float, base1: float,
          height0: float, height1: float) -> Layer:
    """A fence from (x0, base0) to (x1, base1), its height interpolating along it: rails, pickets or wire (static)."""
    style = rng.choice(["rail", "picket", "wire", "lattice"], p=[0.35, 0.35, 0.15, 0.15])
    top = min(base0 - height0, base1 - height1)
    s = scene.sprite(min(x0, x1) - 3, top - 3, max(x0, x1) + 3, max(base0, base1) + 3)
    colour = pick_hsv(rng, *WOOD_HSV[int(rng.integers(len(WOOD_HSV)))]) * mood.light * mood.tint
    length = abs(x1 - x0)
    spacing = rng.uniform(0.6, 1.2) * max(height0, height1) * (0.25 if style == "picket" else 1.0)
    n = max(int(length / max(spacing, 2.0)), 1)
    post_w = max(1, int(round(max(height0, height1) / 12)))
    for i in range(n + 1):
        t = i / n
        px, pb, ph = lerp(x0, x1, t), lerp(base0, base1, t), lerp(height0, height1, t)
        tip = [[px, pb - ph - ph * 0.12]] if style == "picket" else []
        pts = np.array([[px - post_w / 2, pb], [px - post_w / 2, pb - ph], *tip, [px + post_w / 2, pb - ph],
                        [px + post_w / 2, pb]])
        s.fill(pts, jitter(colour, rng, 0.03))
    rails = {"rail": (0.3, 0.75), "picket": (0.25, 0.7), "wire": (0.2, 0.45, 0.7, 0.95), "lattice": (0.1, 0.9)}[style]
    thick = post_w if style == "rail" else 1
    for r in rails:
        s.line(np.array([[x0, base0 - height0 * r], [x1, base1 - height1 * r]]), colour * (0.5 if style == "wire" else
                                                                                          0.9), thick)
    if style == "lattice":
        for i in range(2 * n):
            t0, t1 = i / (2 * n), (i + 1) / (2 * n)
            a = [lerp(x0, x1, t0), lerp(base0, base1, t0) - lerp(height0, height1, t0) * 0.1]
            b = [lerp(x0, x1, t1), lerp(base0, base1, t1) - lerp(height0, height1, t1) * 0.9]
            s.line(np.array([a, b]), colour, 1)
    return s.layer("structure")


def post(scene: Scene, rng: np.random.Generator, mood: Mood, x: float, base: float, height: float,
         width: float, colour: np.ndarray | None = None, lamp: bool = False) -> Layer:
    """A pole (flagpole, lamp post, line post): thin and static, shaded as a cylinder."""
    s = scene.sprite(x - width - 4, base - height - 6, x + width + 4, base + 2)
    xs, _ = s.grid()
    colour = colour if colour is not None else pick_hsv(rng, *WOOD_HSV[int(rng.integers(len(WOOD_HSV)))])
    alpha = s.fill_mask(np.array([[x - width / 2, base], [x - width / 2, base - height], [x + width / 2, base - height],
                                  [x + width / 2, base]]))
    shade = 0.7 + 0.45 * np.clip(1.0 - np.abs(xs - x + width * 0.2) / max(width, 1.0), 0, 1)
    s.paint(alpha, colour[None, None] * shade[..., None] * mood.light * mood.tint)
    if lamp:
        s.ellipse((x, base - height), (width * 1.6 + 1, width * 1.2 + 1), 0, hsv(0.12, 0.3, 0.95) * mood.light)
    else:
        s.ellipse((x, base - height), (width * 0.8 + 0.5, width * 0.8 + 0.5), 0, colour * mood.light)
    return s.layer("structure")


def stone_wall(scene: Scene, rng: np.random.Generator, mood: Mood, x0: float, x1: float, base: float,
               height: float) -> Layer:
    """A dry-stone wall of rounded stones (static)."""
    s = scene.sprite(x0 - 2, base - height - 2, x1 + 2, base + 2)
    stone = pick_hsv(rng, (0.0, 1.0), (0.0, 0.15), (0.35, 0.7))
    s.fill(np.array([[x0, base], [x0, base - height], [x1, base - height], [x1, base]]), stone * 0.35)
    rows = max(2, int(height / max(height / 4, 3)))
    rh = height / rows
    for r in range(rows):
        xx = x0 + rng.uniform(0, rh)
        while xx < x1:
            w = rh * rng.uniform(1.0, 2.2)
            c = jitter(stone * rng.uniform(0.7, 1.2), rng, 0.03)
            s.ellipse((min(xx + w / 2, x1 - 1), base - (r + 0.5) * rh), (w / 2 - 0.3, rh / 2 - 0.2), 0, c)
            xx += w
    _, y = s.grid()
    s.multiply((0.8 + 0.3 * smoothstep(base, base - height, y))[..., None] * mood.light * mood.tint)
    return s.layer("structure")
