"""Motion energy from enlarged tiles: what a photo larger than the model grid shows and its grid-sized copy cannot.

Shared by ``scripts/eval_detail_tiles.py`` (a package's network through onnxruntime, rule r10 in the model card) and
``scripts/tiled_energy_probe.py`` (a torch network). Not a runtime option: no package can ask for it (rule r10 found
no way of combining tiles and whole picture that keeps every validation view).

The motion-energy network sees a picture at its grid's size (256x160), where a sea's ripples, a rock's grain and the
veins of leaves are finer than a grid pixel. A photo at least twice the grid's size in each direction holds that
detail. Here it is resized to ``DETAIL_ZOOM`` times the grid, cut into ``(2 zoom - 1)^2`` tiles of the grid's size
at half-tile steps, and the network is run on each tile. A tile's pixels are ``1/zoom`` of a grid pixel, so its band
energies (squared tile pixels) are divided by ``zoom^2``; the tiles are blended with Hann weights and averaged back
to the grid. A tile holds a piece of the scene without its context (a patch of a tree crown against the sky), so
the tiles' energy is combined with the whole picture's by one of :data:`DETAIL_MODES`.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

#: How far the picture is enlarged for the tiles (grid multiples); a picture needs this many pixels per grid pixel.
DETAIL_ZOOM = 2
#: How whole-picture and tile energies are combined (:func:`combine_detail`).
DETAIL_MODES = ("mean", "geometric", "local")


def detail_applies(image_width: int, image_height: int, fit_width: int, fit_height: int) -> bool:
    """True when a picture has :data:`DETAIL_ZOOM` source pixels or more per grid pixel in both directions
    (``fit_width x fit_height``: its footprint on the grid, :class:`~.processing.GridFit`)."""
    return image_width >= DETAIL_ZOOM * fit_width and image_height >= DETAIL_ZOOM * fit_height


def tile_origins(size: int, tile: int, zoom: int = DETAIL_ZOOM) -> np.ndarray:
    """int ``[2 zoom - 1]``: where tiles of ``tile`` px start along an axis of ``size`` = ``zoom * tile`` px."""
    return np.linspace(0, size - tile, 2 * zoom - 1).round().astype(int)


def hann_window(height: int, width: int) -> np.ndarray:
    """float64 ``[height, width]`` blending weights of one tile: a 2-D Hann window without its zero edges."""
    return np.outer(np.hanning(height + 2)[1:-1], np.hanning(width + 2)[1:-1])


def tiles_band_energy(run_energy: Callable[[np.ndarray], np.ndarray], enlarged: np.ndarray,
                      zoom: int = DETAIL_ZOOM) -> np.ndarray:
    """Band energies of a picture from its enlarged tiles.

    Args:
        run_energy: ``float32 [n, 3, h, w] -> band energies float [n, K, h, w]`` (squared pixels of its input): the
            motion-energy network on grid-sized pictures (exposure already brought to the package's key).
        enlarged: float32 ``[3, zoom h, zoom w]``: the picture on a grid ``zoom`` times the model's, as the network
            would be fed it.

    Returns:
        float32 ``[K, h, w]`` in squared *grid* pixels: each tile's energies divided by ``zoom^2``, blended with
        :func:`hann_window` weights, then averaged over each ``zoom x zoom`` block.
    """
    _, big_h, big_w = enlarged.shape
    h, w = big_h // zoom, big_w // zoom
    ys, xs = tile_origins(big_h, h, zoom), tile_origins(big_w, w, zoom)
    crops = np.stack([enlarged[:, y:y + h, x:x + w] for y in ys for x in xs]).astype(np.float32)
    energies = np.asarray(run_energy(np.ascontiguousarray(crops)), np.float64) / zoom ** 2  # [n, K, h, w]
    weight = hann_window(h, w)
    total = np.zeros((energies.shape[1], big_h, big_w))
    weight_sum = np.zeros((big_h, big_w))
    for energy, (y, x) in zip(energies, [(y, x) for y in ys for x in xs]):
        total[:, y:y + h, x:x + w] += energy * weight
        weight_sum[y:y + h, x:x + w] += weight
    full = total / weight_sum
    return full.reshape(full.shape[0], h, zoom, w, zoom).mean(axis=(2, 4)).astype(np.float32)


def _blur(field: np.ndarray, sigma_px: float) -> np.ndarray:
    ksize = int(2 * round(3 * sigma_px) + 1)
    return cv2.GaussianBlur(field.astype(np.float64), (ksize, ksize), sigma_px, borderType=cv2.BORDER_REFLECT)


def combine_detail(whole: np.ndarray, tiles: np.ndarray, mode: str, sigma_px: float = 8.0) -> np.ndarray:
    """One picture's band energies from the whole picture's and the tiles'.

    Args:
        whole, tiles: float ``[K, h, w]`` band energies (squared grid pixels; band 0 is the static band).
        mode: ``"mean"``: per band, their arithmetic mean; ``"geometric"``: per band, their geometric mean;
            ``"local"``: the whole picture decides how much a neighbourhood moves and the tiles where in it. The
            total over the moving bands is ``blur(T_whole) * T_tiles / blur(T_tiles)`` (Gaussian blur of
            ``sigma_px`` grid pixels), shared among the bands as the whole picture shares it (its neighbourhood
            does where the whole picture holds a pixel still).

    Returns:
        float32 ``[K, h, w]``.
    """
    whole = np.asarray(whole, np.float64)
    tiles = np.asarray(tiles, np.float64)
    if mode == "mean":
        out = 0.5 * (whole + tiles)
    elif mode == "geometric":
        out = np.sqrt(whole * tiles)
    elif mode == "local":
        tiny = 1e-12  # squared pixels: keeps still regions' ratios finite without moving anything measurably
        t_whole = whole[1:].sum(axis=0)
        t_tiles = tiles[1:].sum(axis=0)
        level = _blur(t_whole, sigma_px)
        total = level * (t_tiles + tiny) / (_blur(t_tiles, sigma_px) + tiny)
        # band shares: the pixel's own where the whole picture moves it, its neighbourhood's where it holds it still
        # (the tiles may move a pixel the whole picture did not)
        neighbourhood = np.stack([_blur(band, sigma_px) for band in whole[1:]])
        shares = (whole[1:] + 1e-3 * neighbourhood) / (t_whole + 1e-3 * level + tiny)[None]
        out = whole.copy()
        out[1:] = shares * total[None]
    else:
        raise ValueError(f"unknown detail mode {mode!r}; expected one of {', '.join(DETAIL_MODES)}")
    return out.astype(np.float32)
