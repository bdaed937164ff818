"""Triangle meshes of scene objects, built in numpy: vertices are rest positions (metres, world, z up).

Every function returns ``(verts float64 [N, 3], faces int32 [F, 3])``; :func:`merge` concatenates meshes.
"""

from __future__ import annotations

import math

import numpy as np


def merge(*meshes: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    verts, faces, offset = [], [], 0
    for v, f in meshes:
        verts.append(v)
        faces.append(f + offset)
        offset += v.shape[0]
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int32)
    return np.concatenate(verts), np.concatenate(faces).astype(np.int32)


def grid_faces(rows: int, cols: int, count: int = 1) -> np.ndarray:
    """int32 ``[count * 2 (rows-1) (cols-1), 3]``: triangles of ``count`` vertex grids of ``rows x cols``, stored one
    after another, row-major."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).ravel()
    one = np.concatenate([np.stack([a, a + 1, a + cols + 1], 1), np.stack([a, a + cols + 1, a + cols], 1)])
    return (one[None] + (np.arange(count) * rows * cols)[:, None, None]).reshape(-1, 3).astype(np.int32)


def polar_grid(center_xy, yaw: float, half_fov: float, r0: float, r1: float, n_r: int, n_a: int,
               height=None) -> tuple[np.ndarray, np.ndarray]:
    """A ground sheet around a camera: ``n_r`` rings log-spaced from ``r0`` to ``r1`` metres, ``n_a`` spokes over
    ``yaw +- half_fov`` (radians, 0 = +y); ``height(x, y)`` gives z (0 when None)."""
    r = np.geomspace(r0, r1, n_r)
    a = yaw + np.linspace(-half_fov, half_fov, n_a)
    rr, aa = np.meshgrid(r, a, indexing="ij")
    x = center_xy[0] - rr * np.sin(aa)
    y = center_xy[1] + rr * np.cos(aa)
    z = height(x, y) if height is not None else np.zeros_like(x)
    return np.stack([x, y, z], -1).reshape(-1, 3), grid_faces(n_r, n_a)


def blades(roots: np.ndarray, heights: np.ndarray, widths: np.ndarray, lean: np.ndarray, facing: np.ndarray,
           segments: int = 4, curl: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grass blades, reeds, stems: tapering strips from ``roots`` ``[n, 3]`` up ``heights`` ``[n]``, ``widths`` at the
    base, leaning by ``lean`` ``[n, 2]`` metres at the tip (quadratic bend), strip plane across ``facing`` radians."""
    n = roots.shape[0]
    s = np.linspace(0.0, 1.0, segments + 1)  # along the blade
    bend = s ** 2 if curl is None else s[None] ** (1.0 + curl[:, None])
    bend = np.broadcast_to(bend, (n, segments + 1))
    cx = roots[:, None, 0] + lean[:, None, 0] * bend
    cy = roots[:, None, 1] + lean[:, None, 1] * bend
    cz = roots[:, None, 2] + heights[:, None] * s[None] * (1 - 0.15 * bend)
    half = widths[:, None] * 0.5 * (1 - 0.92 * s[None])
    dx, dy = np.cos(facing)[:, None] * half, np.sin(facing)[:, None] * half
    left = np.stack([cx - dx, cy - dy, cz], -1)
    right = np.stack([cx + dx, cy + dy, cz], -1)
    verts = np.stack([left, right], axis=2).reshape(-1, 3)  # per blade: rows of (left, right)
    return verts, grid_faces(segments + 1, 2, n)


def plane_axes(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n, u, v)``, each ``[N, 3]``: the unit ``normals`` ``[N, 3]`` and two unit axes in the plane they face
    (``u`` horizontal unless the normal is nearly vertical; ``n``, ``u``, ``v`` right-handed)."""
    nrm = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    helper = np.where(np.abs(nrm[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(nrm, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return nrm, u, np.cross(nrm, u)


def leaves(centers: np.ndarray, normals: np.ndarray, sizes: np.ndarray, rng: np.random.Generator,
           subdiv: int = 2, along: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Leaves: flat quads of side ``sizes`` ``[n]`` (elongated 1.6:1) at ``centers`` ``[n, 3]`` facing ``normals``,
    each a ``(subdiv + 1)^2`` vertex grid so motion varying across a leaf is carried by the mesh; each turned at
    random in its plane, or with its long axis along the directions ``along`` ``[n, 3]`` (petals round a flower's
    disc; then ``rng`` is not drawn from)."""
    n = centers.shape[0]
    nrm, u, v = plane_axes(normals)
    if along is None:
        spin = rng.uniform(0, 2 * np.pi, n)[:, None]
    else:
        spin = np.arctan2((along * v).sum(axis=1), (along * u).sum(axis=1))[:, None]
    u, v = np.cos(spin) * u + np.sin(spin) * v, -np.sin(spin) * u + np.cos(spin) * v
    g = np.linspace(-0.5, 0.5, subdiv + 1)
    gu, gv = np.meshgrid(g, g, indexing="ij")
    shape = 1 - 0.7 * (2 * gu) ** 2  # leaf narrows to its ends
    off = (gu.ravel()[None, :, None] * 1.6 * sizes[:, None, None] * u[:, None]
           + (gv * shape).ravel()[None, :, None] * sizes[:, None, None] * v[:, None])
    cup = (gv ** 2).ravel()[None, :, None] * 0.3 * sizes[:, None, None] * nrm[:, None]
    verts = (centers[:, None] + off + cup).reshape(-1, 3)
    return verts, grid_faces(subdiv + 1, subdiv + 1, n)


def discs(centers: np.ndarray, normals: np.ndarray, radii: np.ndarray, dome: float = 0.25,
          sides: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Flower discs: ``[n]`` round fans of ``radii`` ``[n]`` (metres) at ``centers`` ``[n, 3]`` facing ``normals``
    ``[n, 3]``, their centre raised by ``dome`` times the radius (a daisy's or sunflower's seed head), each a centre
    vertex and a rim of ``sides``."""
    n = centers.shape[0]
    nrm, u, v = plane_axes(normals)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    rim = centers[:, None] + radii[:, None, None] * (np.cos(ang)[None, :, None] * u[:, None]
                                                      + np.sin(ang)[None, :, None] * v[:, None])
    top = centers + (dome * radii)[:, None] * nrm
    verts = np.concatenate([top[:, None], rim], axis=1).reshape(-1, 3)  # [n * (sides + 1), 3]
    first = np.arange(n)[:, None] * (sides + 1)
    j = np.arange(sides)[None]
    faces = np.stack([np.broadcast_to(first, (n, sides)), first + 1 + j, first + 1 + (j + 1) % sides], -1)
    return verts, faces.reshape(-1, 3).astype(np.int32)


def tube(base, top, r0: float, r1: float, sides: int = 8, rings: int = 4, bend=(0.0, 0.0)) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
    """A tapering tube (trunk, branch, pole, post) from ``base`` to ``top``, bowed by ``bend`` metres mid-way."""
    base, top = np.asarray(base, np.float64), np.asarray(top, np.float64)
    axis = top - base
    length = np.linalg.norm(axis)
    w = axis / length
    u = np.cross(w, [1.0, 0.0, 0.0] if abs(w[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(w, u)
    s = np.linspace(0, 1, rings + 1)
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    centre = base[None] + s[:, None] * axis[None]
    centre[:, 0] += bend[0] * np.sin(np.pi * s)
    centre[:, 1] += bend[1] * np.sin(np.pi * s)
    radius = r0 + (r1 - r0) * s
    ring = np.cos(a)[None, :, None] * u + np.sin(a)[None, :, None] * v
    verts = (centre[:, None] + radius[:, None, None] * ring).reshape(-1, 3)
    faces = []
    for i in range(rings):
        for j in range(sides):
            p, q = i * sides + j, i * sides + (j + 1) % sides
            faces += [(p, q, q + sides), (p, q + sides, p + sides)]
    return verts, np.asarray(faces, np.int32)


def blob(center, radii, rng: np.random.Generator, rough: float = 0.25, n_lat: int = 10,
         n_lon: int = 16, flat_bottom: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A rock, boulder, cliff lump or bush volume: a lat-long sphere of ``radii`` with smooth random bumps."""
    lat = np.linspace(-np.pi / 2, np.pi / 2, n_lat)
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    d = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)
    bump = np.ones(la.shape)
    for _ in range(6):
        k = rng.normal(size=3) * rng.uniform(1.0, 4.0)
        bump += rough / 3 * np.sin(d @ k + rng.uniform(0, 6.3))
    p = d * np.asarray(radii)[None, None] * bump[..., None]
    if flat_bottom:
        p[..., 2] = np.maximum(p[..., 2], -0.15 * radii[2])
    verts = p.reshape(-1, 3) + np.asarray(center)[None]
    faces = []
    for i in range(n_lat - 1):
        for j in range(n_lon):
            a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
            faces += [(a, b, b + n_lon), (a, b + n_lon, a + n_lon)]
    return verts, np.asarray(faces, np.int32)


def box(center, size, yaw: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """An axis box (building, wall, step, table top) of ``size`` (x, y, z) standing on ``center`` (its bottom
    centre), turned by ``yaw`` radians about z."""
    sx, sy, sz = np.asarray(size, np.float64) / 2
    corners = np.array([[x, y, z] for z in (0, 2 * sz) for y in (-sy, sy) for x in (-sx, sx)])
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    verts = corners @ rot.T + np.asarray(center)[None]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [f for a, b, cc, d in quads for f in ((a, b, cc), (a, cc, d))]
    return verts, np.asarray(faces, np.int32)


def gable_roof(center, size, height: float, yaw: float = 0.0, overhang: float = 0.3) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """A gable roof over a box of ``size`` whose top is at ``center`` z."""
    sx, sy = size[0] / 2 + overhang, size[1] / 2 + overhang
    pts = np.array([[-sx, -sy, 0], [sx, -sy, 0], [sx, sy, 0], [-sx, sy, 0], [-sx, 0, height], [sx, 0, height]])
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    verts = pts @ rot.T + np.asarray(center)[None]
    faces = np.array([(0, 1, 5), (0, 5, 4), (2, 3, 4), (2, 4, 5), (0, 4, 3), (1, 2, 5)], np.int32)
    return verts, faces


def sheet(origin, u_dir, v_dir, u_len: float, v_len: float, n_u: int, n_v: int) -> tuple[np.ndarray, np.ndarray]:
    """A flat rectangle (flag, curtain, laundry, water patch): ``origin + a u_dir + b v_dir`` for ``a`` in
    ``[0, u_len]``, ``b`` in ``[0, v_len]``, as an ``n_u x n_v`` vertex grid."""
    a = np.linspace(0, u_len, n_u)
    b = np.linspace(0, v_len, n_v)
    aa, bb = np.meshgrid(a, b, indexing="ij")
    verts = (np.asarray(origin)[None, None] + aa[..., None] * np.asarray(u_dir)[None, None]
             + bb[..., None] * np.asarray(v_dir)[None, None]).reshape(-1, 3)
    return verts, grid_faces(n_u, n_v)


def flame(base, height: float, radius: float, rings: int = 10, sides: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A flame: a closed teardrop surface of revolution from ``base`` up ``height`` metres, widest (``radius``) low."""
    s = np.linspace(0.0, 1.0, rings + 1)
    r = radius * np.sin(np.pi * np.clip(s, 0, 1) ** 0.6) * (1 - s) ** 0.35 + 1e-4
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    verts = np.stack([np.cos(a)[None] * r[:, None], np.sin(a)[None] * r[:, None],
                      np.broadcast_to(s[:, None] * height, (rings + 1, sides))], -1).reshape(-1, 3)
    verts = verts + np.asarray(base, np.float64)[None]
    faces = []
    for i in range(rings):
        for j in range(sides):
            p, q = i * sides + j, i * sides + (j + 1) % sides
            faces += [(p, q, q + sides), (p, q + sides, p + sides)]
    return verts, np.asarray(faces, np.int32)
