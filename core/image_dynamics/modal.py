"""Interactive dynamics: the spectral volume as an image-space modal basis, driven by forces.

See docs/conventions.md (motion beyond oscillation) and docs/dynamics.md.

Each band ``k`` with ``f_k > 0`` is a mode: its coefficients ``S_k(p)`` (complex ``[2]`` per pixel, image pixels) are
the mode shape, and its complex modal coordinate ``q_k(t)`` is a damped oscillator of unit mass at ``w_k = 2 pi f_k``
with damping ratio ``zeta_k`` (GID §6, Davis et al. 2015)::

    q_k'' + 2 zeta_k w_k q_k' + w_k^2 q_k = sum_e  g_e  conj(Sbar_k,e) . F_e(t)
    d(p, t) = Re sum_k S_k(p) q_k(t)                                   (float32 [2, H, W], image pixels, y down)

The 0 Hz band (no restoring force) is left out. The still is the rest state: ``q = q' = 0`` until a force acts, so no
force renders the input image itself.

**A force** ``e`` acts on a spatial weight ``w_e(p) >= 0`` summing to 1 (a point: bilinear taps at ``at``; a soft poke
of radius ``r``: ``(1 - (d/r)^2)^2`` over the disc; no point: the whole image), so ``Sbar_k,e = sum_p w_e(p) S_k(p)``.
It is an *impulse* (``duration = 0``: a kick ``q_k' += g_e conj(Sbar_k,e) . F_e`` at ``time``) or a *push* (acting over
``[time, time + duration]`` with the gain ``curve(t - time)``, piecewise linear, 1 without a curve).

**Units: forces are in image pixels.** Let ``u`` be the principal direction of motion at the force (the leading
eigenvector of ``sum_k sum_p w_e(p) Re(S_k(p) S_k(p)^H)``) and ``a_k = sum_p w_e(p) |S_k(p)^H u|^2`` the force's
mobility in band ``k``. With ``zeta -> 0`` a unit impulse along ``u`` moves the force's point along ``u`` by
``R(t) = sum_k a_k sin(w_k t) / w_k`` and a unit push held forever by ``sum_k a_k / w_k^2``. The gains are

    impulse:  g_e = 1 / max(P_imp, rho P_imp_ref),     P_imp = R(t*), t* the first zero of R'(t) = sum_k a_k cos(w_k t)
    push:     g_e = 1 / max(P_push, rho P_push_ref),   P_push = sum_k a_k / w_k^2

so, as ``zeta -> 0``, an impulse ``F`` along the point's main direction of motion (any direction where the motion is
isotropic) makes the poked pixel's first peak exactly ``|F|`` px along ``F``, and a push of ``F`` held until the
motion settles leans it ``|F|`` px. For one band both are closed forms: ``P_imp = a / w`` (peak at ``t = pi / (2 w)``)
and ``P_push = a / w^2``, and the impulse response is exactly

    d(p0, t) = |F| (w / w_d) exp(-zeta w t) sin(w_d t),   w_d = w sqrt(1 - zeta^2).

For several bands ``t*`` is found by bisection to machine precision. A push across the main direction moves the point
less (``cos^2`` of the angle for motion along one line) rather than amplifying it: normalising along ``F`` itself would
fling a branch that only sways sideways by ``|F| / cos`` when poked nearly along it, and would make the response a
non-linear function of ``F``'s direction (a force whose direction changes over time could not be summed).
``P_ref`` is the same quantity for the 99th percentile over the image of each band's ``|S_k(p)|^2`` and
``rho`` = :data:`MOBILITY_FLOOR`: a force on a pixel that barely moves (mobility below 1 % of the image's strongest,
i.e. amplitude below 10 %) is pushed proportionally less instead of flinging the parts that move; a force where the
volume is zero moves nothing.

**Integration** is exact: between consecutive times of the union of the output times and every force's break points
(start, end, curve knots), each band's input is linear in time, and the state ``(q, q')`` is advanced by the exact
solution of the linear system for a first-order-hold input (closed forms from the eigenvalues
``lambda = -zeta w +- i w_d``; see :func:`step_matrices`). Impulses are kicks at their own instants. The result does not
depend on the frame rate beyond where it is sampled.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .spectral import SpectralVolume

#: Default damping ratio zeta of every mode (settles to 1 % in about 15 periods).
DEFAULT_DAMPING_RATIO = 0.05
#: A force's mobility below this fraction of the image's strongest (99th percentile) is not amplified to |F|.
MOBILITY_FLOOR = 0.01
#: Percentile of each band's |S_k(p)|^2 over the image taken as the strongest mobility.
REFERENCE_PERCENTILE = 99.0
#: The response has settled when every mode's envelope is below this fraction of its peak.
SETTLED_FRACTION = 0.01
#: Longest default output (seconds) when the damping is light.
MAX_LENGTH_S = 60.0
#: Keys of one force in a forces file.
FORCE_KEYS = ("at", "force", "time", "duration", "radius", "curve")


# ----------------------------------------------------------------------------------------------------------------------
# Forces


@dataclass(frozen=True)
class Force:
    """One impulse or push, in image pixels and seconds.

    Attributes:
        force: ``(fx, fy)`` in image pixels (x right, y down); see the module notes for what a pixel of force means.
        at: ``(x, y)`` image pixel coordinates of the point pushed (pixel centres at integers, origin top-left), or
            ``None`` for the whole image (a wind).
        time: seconds after the first output frame when the force starts (>= 0).
        duration: seconds the force acts; 0 is an impulse.
        radius: soft-poke radius in image pixels (0: the point itself, bilinear).
        curve: ``((t, gain), ...)`` with ``t`` in seconds after ``time``, strictly increasing, ``t >= 0``: the push's
            gain over time, piecewise linear and constant beyond the ends; empty means a constant gain of 1.
    """

    force: tuple[float, float]
    at: tuple[float, float] | None = None
    time: float = 0.0
    duration: float = 0.0
    radius: float = 0.0
    curve: tuple[tuple[float, float], ...] = ()

    @property
    def is_impulse(self) -> bool:
        return self.duration == 0

    @property
    def end(self) -> float:
        """When the force stops acting (seconds)."""
        return self.time + self.duration


def _number(value: object, where: str, what: str, low: float | None = None, allow_low: bool = True) -> float:
    """A finite real number (not a bool), optionally ``>= low`` (or ``> low``); else :class:`InputError`."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    try:
        number = float(value) if ok else math.nan
    except (OverflowError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise InputError(f"{where}: must be a finite number ({what}), got {_show(value)}.")
    if low is not None and (number < low or (number == low and not allow_low)):
        bound = f">= {low:g}" if allow_low else f"> {low:g}"
        raise InputError(f"{where}: must be {bound} ({what}), got {number:g}.")
    return number


def _pair(value: object, where: str, what: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{where}: must be a pair [x, y] ({what}), got {_show(value)}.")
    return _number(value[0], where, what), _number(value[1], where, what)


def _show(value: object, limit: int = 40) -> str:
    """A short one-line rendering of a value for error messages."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, OverflowError, RecursionError):
        text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def make_force(force: Sequence[float], at: Sequence[float] | None = None, time: float = 0.0,
               duration: float | None = None, radius: float = 0.0, curve: Sequence[Sequence[float]] = (),
               where: str = "force") -> Force:
    """Validate and build a :class:`Force`; raise :class:`InputError` naming ``where`` and the bad field.

    ``duration=None`` means 0 (an impulse) without a curve and the curve's last time with one.
    """
    fx, fy = _pair(force, f"{where} 'force'", "pixels, x right, y down")
    point = None if at is None else _pair(at, f"{where} 'at'", "image pixels, x right, y down")
    start = _number(time, f"{where} 'time'", "seconds", low=0.0)
    soft = _number(radius, f"{where} 'radius'", "image pixels", low=0.0)
    if not isinstance(curve, (list, tuple)):
        raise InputError(f"{where} 'curve': must be a list of [t, gain] pairs, got {_show(curve)}.")
    knots: list[tuple[float, float]] = []
    for index, knot in enumerate(curve):
        t, gain = _pair(knot, f"{where} 'curve' point {index}", "[seconds after 'time', gain]")
        if t < 0:
            raise InputError(f"{where} 'curve' point {index}: time {t:g} s is negative; curve times are seconds "
                             "after the force's 'time', >= 0.")
        if knots and t <= knots[-1][0]:
            raise InputError(f"{where} 'curve' point {index}: time {t:g} s does not follow {knots[-1][0]:g} s; "
                             "give curve times in increasing order.")
        knots.append((t, gain))
    if duration is None:
        length = knots[-1][0] if knots else 0.0
    else:
        length = _number(duration, f"{where} 'duration'", "seconds the force acts, 0 = an impulse", low=0.0)
    if knots and length == 0:
        raise InputError(f"{where}: a 'curve' shapes a push, but its duration is 0 (an impulse); give 'duration' > 0 "
                         "or a curve whose last time is > 0.")
    return Force((fx, fy), point, start, length, soft, tuple(knots))


def read_forces(path: str | os.PathLike) -> list[Force]:
    """Read a forces file: a JSON list of ``{"at": [x, y], "force": [fx, fy], "time": s, "duration": s,
    "radius": px, "curve": [[t, gain], ...]}`` (only ``force`` is required; no ``at`` means the whole image).

    Never crashes on bad content: every problem is an :class:`InputError` of one line naming the file, the force
    (0-based) and the field.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: forces file not found. Check the path.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the forces file ({exc.strerror or exc}).") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file; a forces file is JSON text.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
    except (RecursionError, ValueError) as exc:  # nesting too deep; integers too long to parse
        raise InputError(f"{path}: not a readable JSON forces file ({str(exc).splitlines()[0][:80]}).") from None
    return forces_from_json(data, str(path))


def forces_from_json(data: object, source: str = "forces") -> list[Force]:
    """Forces from parsed JSON (see :func:`read_forces`); ``source`` names the origin in error messages."""
    if not isinstance(data, list):
        raise InputError(f"{source}: must be a JSON list of forces [{{\"at\": [x, y], \"force\": [fx, fy], ...}}], "
                         f"got {type(data).__name__ if not isinstance(data, dict) else 'an object'}.")
    forces = []
    for index, item in enumerate(data):
        where = f"{source}: force {index}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be an object {{\"force\": [fx, fy], ...}}, got {_show(item)}.")
        unknown = [key for key in item if key not in FORCE_KEYS]
        if unknown:
            raise InputError(f"{where}: unknown key {_show(unknown[0])}; a force has {', '.join(FORCE_KEYS)}.")
        if "force" not in item:
            raise InputError(f"{where}: missing 'force' [fx, fy] (pixels).")
        forces.append(make_force(item["force"], item.get("at"), item.get("time", 0.0), item.get("duration"),
                                 item.get("radius", 0.0), item.get("curve", ()), where))
    return forces


def check_forces(forces: Sequence[Force], width: int, height: int, last_time_s: float | None = None,
                 names: Sequence[str] | None = None) -> None:
    """Refuse forces outside a ``width`` x ``height`` image or starting after ``last_time_s`` (the last output frame).

    A point is inside when ``0 <= x <= width - 1`` and ``0 <= y <= height - 1`` (pixel centres). ``names`` says what to
    call each force in messages (default ``force 0``, ``force 1``, ...).
    """
    for index, force in enumerate(forces):
        name = names[index] if names is not None else f"force {index}"
        if force.at is not None:
            x, y = force.at
            if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
                raise InputError(f"{name} at ({x:g}, {y:g}) is outside the {width}x{height} image; give a "
                                 f"point with 0 <= x <= {width - 1} and 0 <= y <= {height - 1} (pixels, y down).")
        if last_time_s is not None and force.time >= last_time_s:
            kind = "impulse" if force.is_impulse else "push"
            raise InputError(f"{name} ({kind} at {force.time:g} s) starts at or after the last frame "
                             f"({last_time_s:g} s), so it would not be seen; make the output longer (--length, "
                             "--frames) or the force earlier.")


# ----------------------------------------------------------------------------------------------------------------------
# Modes


def modal_bands(sv: SpectralVolume) -> np.ndarray:
    """Indices of the bands that are modes (``f_k > 0``): int ``[M]``."""
    return np.flatnonzero(sv.freqs_hz > 0)


def damping_ratios(sv: SpectralVolume, damping_ratio: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Per-band damping ratios float64 ``[K]`` from one value or ``K`` values, each in (0, 1)."""
    values = np.asarray(damping_ratio, dtype=np.float64) if not isinstance(damping_ratio, bool) else None
    if values is None or values.ndim > 1 or (values.ndim == 1 and values.size != sv.num_bands):
        raise InputError(f"damping ratio must be one number or one per band ({sv.num_bands}), got {damping_ratio!r}.")
    zeta = np.broadcast_to(values, (sv.num_bands,)).copy()
    bad = ~np.isfinite(zeta) | (zeta <= 0) | (zeta >= 1)
    if bad.any():
        value = zeta[np.flatnonzero(bad)[0]]
        raise InputError(f"--damping-ratio must be between 0 and 1 (exclusive), got {value:g}; 0.05 rings for "
                         "about 15 periods, 0.3 settles in one or two.")
    return zeta


def point_weights(sv: SpectralVolume, width: int, height: int, at: tuple[float, float] | None,
                  radius: float) -> np.ndarray:
    """A force's spatial weight on the volume's grid: float64 ``[h, w]``, ``>= 0``, summing to 1.

    ``at`` is in image pixels (pixel centres at integers) and maps to grid position ``u = (x + 0.5) w / W - 0.5`` as in
    the upsampler; ``radius`` in image pixels is scaled per axis. A radius under one grid cell gives the 4 bilinear
    taps; ``None`` weighs every grid cell equally.
    """
    h, w = sv.height, sv.width
    if at is None:
        return np.full((h, w), 1.0 / (h * w))
    u = (at[0] + 0.5) * w / width - 0.5
    v = (at[1] + 0.5) * h / height - 0.5
    ru, rv = radius * w / width, radius * h / height
    weights = np.zeros((h, w))
    if min(ru, rv) >= 1.0:
        cols = np.arange(w)[None, :]
        rows = np.arange(h)[:, None]
        d2 = ((cols - u) / ru) ** 2 + ((rows - v) / rv) ** 2
        weights = np.where(d2 < 1.0, (1.0 - d2) ** 2, 0.0)
    else:
        u, v = min(max(u, 0.0), w - 1.0), min(max(v, 0.0), h - 1.0)
        j0, i0 = min(int(u), w - 1), min(int(v), h - 1)
        j1, i1 = min(j0 + 1, w - 1), min(i0 + 1, h - 1)
        fu, fv = u - j0, v - i0
        for i, wi in ((i0, 1 - fv), (i1, fv)):
            for j, wj in ((j0, 1 - fu), (j1, fu)):
                weights[i, j] += wi * wj
    return weights / weights.sum()


def first_peak(mobility: np.ndarray, omega: np.ndarray) -> float:
    """``R(t*)`` for ``R(t) = sum_k a_k sin(w_k t) / w_k`` and ``t*`` the first zero of ``R'`` after 0.

    ``R'(0) = sum a_k > 0`` and ``R'`` is a sum of cosines, so it changes sign; the first sign change on a grid of
    1/64 of the fastest quarter period is refined by 200 bisection steps. 0 when every ``a_k`` is 0.
    """
    a = np.asarray(mobility, dtype=np.float64)
    w = np.asarray(omega, dtype=np.float64)
    keep = a > 0
    a, w = a[keep], w[keep]
    if a.size == 0:
        return 0.0
    step = (math.pi / 2) / w.max() / 64
    horizon = 64 * 2 * math.pi / w.min()
    start = 0.0
    while start < horizon:
        grid = start + step * np.arange(1, 4097)
        slope = np.cos(np.outer(grid, w)) @ a
        sign = np.flatnonzero(slope <= 0)
        if sign.size:
            high = float(grid[sign[0]])
            low = high - step
            for _ in range(200):
                mid = 0.5 * (low + high)
                if float(np.cos(mid * w) @ a) > 0:
                    low = mid
                else:
                    high = mid
            return float(np.sin(low * w) / w @ a)
        start = float(grid[-1])
    grid = np.arange(0.0, horizon, step)  # no turn within the horizon (pathological): its largest value
    return float((np.sin(np.outer(grid, w)) / w @ a).max())


@dataclass(frozen=True)
class ModalBasis:
    """The modes of a volume in image pixels and what forces need from them.

    Attributes:
        modes: complex128 ``[M, 2, h, w]`` mode shapes ``S_k`` of the modal bands, in image pixels.
        bands: int ``[M]`` their indices in the volume.
        omega: float64 ``[M]`` angular frequencies ``2 pi f_k`` (rad/s).
        width, height: the image size the pixels refer to.
        reference: float64 ``[M]`` the 99th percentile over the grid of ``|S_k(p)|^2`` (the strongest mobility).
    """

    modes: np.ndarray
    bands: np.ndarray
    omega: np.ndarray
    width: int
    height: int
    reference: np.ndarray


def modal_basis(sv: SpectralVolume, width: int | None = None, height: int | None = None) -> ModalBasis:
    """The modes of ``sv`` scaled to an image of ``width`` x ``height`` pixels (default: the volume's grid)."""
    width = sv.width if width is None else int(width)
    height = sv.height if height is None else int(height)
    bands = modal_bands(sv)
    scale = np.array([width / sv.width, height / sv.height]).reshape(1, 2, 1, 1)
    modes = sv.coeffs[bands].astype(np.complex128) * scale
    energy = (np.abs(modes) ** 2).sum(axis=1).reshape(bands.size, -1)
    reference = np.percentile(energy, REFERENCE_PERCENTILE, axis=1) if bands.size else np.zeros(0)
    omega = 2 * np.pi * sv.freqs_hz[bands].astype(np.float64)
    return ModalBasis(modes, bands, omega, width, height, reference)


def force_gain(basis: ModalBasis, weights: np.ndarray, impulse: bool) -> tuple[np.ndarray, float]:
    """``(Sbar [M, 2] complex128, g)`` of a force with spatial ``weights`` ``[h, w]`` (module notes)."""
    modes = basis.modes
    sbar = np.tensordot(modes, weights, axes=([2, 3], [0, 1]))  # [M, 2]
    # sum_k sum_p w(p) Re(S S^H): the force's 2x2 mobility, whose leading eigenvector is the main direction
    outer = np.einsum("kahw,kbhw,hw->ab", modes, modes.conj(), weights).real
    _, vectors = np.linalg.eigh(outer)
    direction = vectors[:, -1]
    along = np.einsum("kahw,a->khw", modes.conj(), direction)
    mobility = np.einsum("khw,hw->k", np.abs(along) ** 2, weights)
    if impulse:
        size, reference = first_peak(mobility, basis.omega), first_peak(basis.reference, basis.omega)
    else:
        size = float(mobility @ basis.omega ** -2.0) if mobility.size else 0.0
        reference = float(basis.reference @ basis.omega ** -2.0) if mobility.size else 0.0
    scale = max(size, MOBILITY_FLOOR * reference)
    return sbar, (1.0 / scale if scale > 0 else 0.0)


# ----------------------------------------------------------------------------------------------------------------------
# Exact integration


def _phi_series(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``E1 = (e^x - 1) / x`` and ``E2 = (e^x - 1 - x) / x^2`` for complex ``x``, without cancellation near 0."""
    x = np.asarray(x, dtype=np.complex128)
    small = np.abs(x) < 0.5
    e1 = np.empty_like(x)
    e2 = np.empty_like(x)
    xs = x[small]
    term1 = np.ones_like(xs)  # x^n / (n + 1)!
    term2 = np.full_like(xs, 0.5)  # x^n / (n + 2)!
    sum1, sum2 = term1.copy(), term2.copy()
    for n in range(1, 24):
        term1 = term1 * xs / (n + 1)
        term2 = term2 * xs / (n + 2)
        sum1 += term1
        sum2 += term2
    e1[small], e2[small] = sum1, sum2
    xl = x[~small]
    ex = np.exp(xl)
    e1[~small] = (ex - 1) / xl
    e2[~small] = (ex - 1 - xl) / xl ** 2
    return e1, e2


def step_matrices(omega: np.ndarray, zeta: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact one-step maps of ``q'' + 2 zeta w q' + w^2 q = u`` over steps of ``h`` seconds, input linear in the step.

    Args:
        omega, zeta: float64 ``[M]`` angular frequencies and damping ratios (0 < zeta < 1).
        h: float64 ``[S]`` step lengths (>= 0).

    Returns:
        ``Phi [S, M, 2, 2]``, ``G0 [S, M, 2]``, ``G1 [S, M, 2]`` (float64) with
        ``(q, q')(t + h) = Phi (q, q')(t) + G0 u(t) + G1 u(t + h)``. With ``lambda = -zeta w + i w_d``,
        ``x = lambda h``, ``z0 = h (E1(x) - E2(x))``, ``z1 = h E2(x)``: ``G = (Im z, Im(lambda z)) / w_d``.
    """
    w = omega[None, :]
    wd = w * np.sqrt(1 - zeta[None, :] ** 2)
    sigma = zeta[None, :] * w
    hh = h[:, None]
    decay = np.exp(-sigma * hh)
    cos, sin = np.cos(wd * hh), np.sin(wd * hh)
    phi = np.empty(h.shape + omega.shape + (2, 2))
    phi[..., 0, 0] = decay * (cos + sigma / wd * sin)
    phi[..., 0, 1] = decay * sin / wd
    phi[..., 1, 0] = -decay * w ** 2 * sin / wd
    phi[..., 1, 1] = decay * (cos - sigma / wd * sin)
    lam = -sigma + 1j * wd
    e1, e2 = _phi_series(lam * hh)
    z0, z1 = hh * (e1 - e2), hh * e2
    g0 = np.stack([z0.imag / wd, (lam * z0).imag / wd], axis=-1)
    g1 = np.stack([z1.imag / wd, (lam * z1).imag / wd], axis=-1)
    return phi, g0, g1


def _gain_at(force: Force, t: np.ndarray, right: bool) -> np.ndarray:
    """The push's gain just after (``right``) or just before each time ``t``: float64, 0 outside its window."""
    if right:
        inside = (t >= force.time) & (t < force.end)
    else:
        inside = (t > force.time) & (t <= force.end)
    if force.curve:
        knots = np.asarray(force.curve, dtype=np.float64)
        gain = np.interp(t - force.time, knots[:, 0], knots[:, 1])
    else:
        gain = np.ones_like(t)
    return np.where(inside, gain, 0.0)


@dataclass(frozen=True)
class ModalResponse:
    """Modal coordinates over time.

    Attributes:
        q: complex128 ``[N, K]`` modal coordinate of every band at each output time (0 for the 0 Hz band).
        times_s: float64 ``[N]`` the output times in seconds.
    """

    q: np.ndarray
    times_s: np.ndarray

    def render_basis(self) -> np.ndarray:
        """float32 ``[N, 2K]`` weights of ``[Re S; Im S]`` (:func:`spectral.stacked_coeffs`):
        ``Re(S q) = Re S Re q - Im S Im q``."""
        return np.concatenate([self.q.real, -self.q.imag], axis=1).astype(np.float32)


def simulate(sv: SpectralVolume, forces: Sequence[Force], times_s: np.ndarray | Sequence[float],
             damping_ratio: float | Sequence[float] | np.ndarray = DEFAULT_DAMPING_RATIO,
             width: int | None = None, height: int | None = None) -> ModalResponse:
    """Every band's modal coordinate at ``times_s`` under ``forces`` (module notes), starting at rest at ``t = 0``.

    Args:
        sv: the spectral volume (its coefficients are the mode shapes; the 0 Hz band is left out).
        forces: impulses and pushes in the pixels of a ``width`` x ``height`` image (default: the volume's grid).
        times_s: float ``[N]`` output times in seconds, non-decreasing, ``>= 0``.
        damping_ratio: zeta in (0, 1), one value or one per band.

    Returns:
        :class:`ModalResponse`; ``d(p, t) = Re sum_k S_k(p) q_k(t)`` in image pixels with ``S`` scaled to the image
        (:func:`frames.to_image_pixels`), which is what the renderer does with :meth:`ModalResponse.render_basis`.
    """
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if times.size and (not np.all(np.isfinite(times)) or times[0] < 0 or np.any(np.diff(times) < 0)):
        raise InputError("output times must be finite, >= 0 s and non-decreasing.")
    zeta_all = damping_ratios(sv, damping_ratio)
    basis = modal_basis(sv, width, height)
    check_forces(forces, basis.width, basis.height)
    q_out = np.zeros((times.size, sv.num_bands), dtype=np.complex128)
    if not forces or basis.bands.size == 0 or times.size == 0:
        return ModalResponse(q_out, times)
    zeta = zeta_all[basis.bands]
    t_end = float(times[-1])
    coefficient = np.zeros((len(forces), basis.bands.size), dtype=np.complex128)  # g conj(Sbar) . F per band
    points = [np.array([0.0]), times]
    for index, force in enumerate(forces):
        weights = point_weights(sv, basis.width, basis.height, force.at, force.radius)
        sbar, gain = force_gain(basis, weights, force.is_impulse)
        coefficient[index] = gain * (sbar.conj() @ np.asarray(force.force, dtype=np.float64))
        knots = [force.time, force.end] + [force.time + t for t, _ in force.curve]
        points.append(np.array([k for k in knots if k <= t_end]))
    grid = np.unique(np.concatenate(points))
    steps = np.diff(grid)
    pushes = [i for i, f in enumerate(forces) if not f.is_impulse]
    u0 = np.zeros((steps.size, basis.bands.size), dtype=np.complex128)
    u1 = np.zeros_like(u0)
    for index in pushes:
        u0 += _gain_at(forces[index], grid[:-1], right=True)[:, None] * coefficient[index]
        u1 += _gain_at(forces[index], grid[1:], right=False)[:, None] * coefficient[index]
    kicks = np.zeros((grid.size, basis.bands.size), dtype=np.complex128)
    for index, force in enumerate(forces):
        if force.is_impulse and force.time <= t_end:
            kicks[np.searchsorted(grid, force.time)] += coefficient[index]
    phi, g0, g1 = step_matrices(basis.omega, zeta, steps)
    position = np.zeros((grid.size, basis.bands.size), dtype=np.complex128)
    q = np.zeros(basis.bands.size, dtype=np.complex128)
    velocity = np.zeros_like(q)
    for i in range(steps.size):
        velocity = velocity + kicks[i]
        p, m, n = phi[i], g0[i], g1[i]
        q, velocity = (p[:, 0, 0] * q + p[:, 0, 1] * velocity + m[:, 0] * u0[i] + n[:, 0] * u1[i],
                       p[:, 1, 0] * q + p[:, 1, 1] * velocity + m[:, 1] * u0[i] + n[:, 1] * u1[i])
        position[i + 1] = q
    q_out[:, basis.bands] = position[np.searchsorted(grid, times)]
    return ModalResponse(q_out, times)


def displacements(sv: SpectralVolume, response: ModalResponse, width: int | None = None,
                  height: int | None = None) -> np.ndarray:
    """``d(p, t) = Re sum_k S_k(p) q_k(t)`` on the volume's grid in image pixels: float32 ``[N, 2, h, w]``.

    The same numbers the renderer upsamples (without the edits it applies to ``S``); for tests and analysis.
    """
    width = sv.width if width is None else int(width)
    height = sv.height if height is None else int(height)
    scale = np.array([width / sv.width, height / sv.height]).reshape(1, 2, 1, 1)
    modes = sv.coeffs.astype(np.complex128) * scale
    return np.tensordot(response.q, modes, axes=(1, 0)).real.astype(np.float32)


def settle_time_s(sv: SpectralVolume, damping_ratio: float | Sequence[float] | np.ndarray = DEFAULT_DAMPING_RATIO,
                  ) -> float:
    """Seconds after a force until every mode's impulse response stays below 1 % of its peak.

    A mode's response is ``A exp(-sigma t) sin(w_d t)`` (``sigma = zeta w``); its peak is at
    ``t_p = atan(w_d / sigma) / w_d`` with value ``A sqrt(1 - zeta^2) exp(-sigma t_p)``, so its envelope is below
    1 % of that peak after ``t_p + ln(100 / sqrt(1 - zeta^2)) / sigma``. The maximum over the modal bands whose
    coefficients are not all zero (0 if none).
    """
    zeta = damping_ratios(sv, damping_ratio)
    active = [k for k in modal_bands(sv) if np.any(sv.coeffs[k])]
    if not active:
        return 0.0
    z = zeta[active]
    w = 2 * np.pi * sv.freqs_hz[active].astype(np.float64)
    sigma, wd = z * w, w * np.sqrt(1 - z ** 2)
    peak_time = np.arctan2(wd, sigma) / wd
    return float((peak_time + np.log(1 / (SETTLED_FRACTION * np.sqrt(1 - z ** 2))) / sigma).max())


def default_length_s(sv: SpectralVolume, forces: Sequence[Force],
                     damping_ratio: float | Sequence[float] | np.ndarray = DEFAULT_DAMPING_RATIO) -> float:
    """Output length until every mode has settled to 1 % after the last force ends, at most :data:`MAX_LENGTH_S`."""
    last = max((f.end for f in forces), default=0.0)
    return min(MAX_LENGTH_S, last + settle_time_s(sv, damping_ratio))


# ----------------------------------------------------------------------------------------------------------------------
# Rendering


def modal_plan(sv: SpectralVolume, forces: Sequence[Force], width: int, height: int, settings=None,
               mask: np.ndarray | None = None,
               damping_ratio: float | Sequence[float] | np.ndarray = DEFAULT_DAMPING_RATIO,
               length_s: float | None = None, names: Sequence[str] | None = None):
    """A :class:`~image_dynamics.settings.RenderPlan` of the response to ``forces``, for the existing bake path.

    Args:
        sv: the motion file's volume: its modes (unedited) define the response and the units of force.
        forces: in the pixels of the ``width`` x ``height`` image.
        settings: a :class:`~image_dynamics.settings.RenderSettings` for the output frame rate, ``frames`` and the
            amplitude edits (strength, band gains, cuts, mask feather). The edits shape what is seen exactly as in a
            loop: ``d = Re sum_k S'_k q_k`` with ``S'`` the edited volume, so ``strength`` 2 doubles every
            displacement. Loop options (loop frames, time stretch, decay, slow motion) are refused: a response does
            not loop.
        mask: optional motion mask (0 = still), as for a loop.
        damping_ratio: zeta in (0, 1), one value or one per band.
        length_s: output length in seconds when ``settings.frames`` is not given; default :func:`default_length_s`.
        names: what to call each force in error messages (see :func:`check_forces`).

    Returns:
        The plan: frames ``0 .. ceil(length * fps)`` (or ``settings.frames``) at ``t = n / fps`` seconds, the edited
        volume, and ``basis`` from :meth:`ModalResponse.render_basis`.
    """
    from .settings import RenderPlan, RenderSettings, edit_motion, validate_settings

    settings = settings or RenderSettings()
    validate_settings(settings)
    refused = [(settings.loop_frames is not None, "--loop-frames"), (settings.time_stretch, "--time-stretch"),
               (settings.decay_s is not None, "--decay"), (settings.slow_motion != 1.0, "--slow-motion")]
    for given, option in refused:
        if given:
            raise InputError(f"{option} is a loop option; a poke's response does not loop (it rings and settles: "
                             "set how fast with --damping-ratio and how long with --length).")
    fps = float(settings.fps or sv.fps)
    if settings.frames is not None:
        start, stop = settings.frames
    else:
        length = default_length_s(sv, forces, damping_ratio) if length_s is None else _number(
            length_s, "--length", "seconds of output", low=0.0, allow_low=False)
        start, stop = 0, int(math.ceil(length * fps - 1e-9)) + 1
    numbers_ = np.arange(start, stop, dtype=np.int64)
    times_s = numbers_ / fps
    check_forces(forces, width, height, float(times_s[-1]), names)
    # simulated on every frame from 0, so frames A:B of a farm chunk are bit for bit those of the whole render
    everything = np.arange(0, stop, dtype=np.int64) / fps
    response = simulate(sv, forces, everything, damping_ratio, width, height)
    response = ModalResponse(response.q[start:], times_s)
    motion = edit_motion(sv, settings, mask)
    if getattr(motion, "flow", None) is not None:
        motion = motion.with_(flow=None)  # a flow travels in loops; a poke moves only the oscillation's modes
    return RenderPlan(motion, numbers_, times_s * sv.fps, fps, None, basis=response.render_basis())
