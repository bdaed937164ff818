"""Framing at training time: a training picture seen through a longer lens, with its motion target transformed exactly.

Why: how far a thing moves *in pixels* depends on how large it is in the frame. A plant swaying by a tenth of its
height moves a few pixels when it is a small part of a landscape and tens of pixels when it fills a close-up. The
rendered and drawn training scenes are framed in a narrow band of focal lengths, so the motion-energy network can
learn "fine texture moves a little, large smooth shapes are still" — a rule about scale, not about what things are,
and one that leaves real close-ups of leaves almost still (issue 13: 0.0-2.8 % of a close-up's pixels above 0.5 px).

A zoom by magnification ``m`` crops a window ``1/m`` of the picture's size (same aspect ratio, anywhere inside it)
and resamples it to the full grid. That is what a lens ``m`` times longer would have seen from the same place, up to
the detail the crop lacks. Every displacement grows by the same factor, so the target's x coefficients scale by
``W / w_window`` and its y coefficients by ``H / h_window`` (the two differ from ``m`` by the window's rounding to
whole pixels). Coefficients are resampled bilinearly in pixel units, never in the normalised ``sqrt`` units, where
interpolation would bias amplitudes low; a pixel stays known only where every sample it interpolates is known, so a
silhouette's unknown band never leaks into the target.

Everything is a function of the generator passed in: :func:`zoom_rng` derives it from ``(seed, stage, step)`` in its
own stream, so runs without zoom draw exactly what they drew before.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..normalisation import signed_sqrt, signed_square

#: Generator stream for framing draws, apart from the batch's, the camera's and the exposure's.
ZOOM_STREAM = 979
#: Largest magnification a configuration may ask for: at 4x a 256-px grid is resampled from a 64-px window.
MAX_ZOOM = 4.0


def zoom_rng(seed: int, stage_key: int, step: int) -> np.random.Generator:
    """The generator of one training step's framing draws (a pure function of seed, stage and step)."""
    return np.random.default_rng([int(seed), int(stage_key), int(step), ZOOM_STREAM])


def zoom_window(height: int, width: int, magnification: float, fx: float, fy: float) -> tuple[int, int, int, int]:
    """The crop ``(y0, x0, h, w)`` in whole pixels of a ``height`` x ``width`` picture for ``magnification`` >= 1,
    placed at fractions ``fx``, ``fy`` in [0, 1] of the free room (0: left / top edge)."""
    h = min(height, max(1, round(height / magnification)))
    w = min(width, max(1, round(width / magnification)))
    return round(fy * (height - h)), round(fx * (width - w)), h, w


def zoom_sample(image: np.ndarray, target: np.ndarray, known: np.ndarray, window: tuple[int, int, int, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One picture through one zoom window.

    ``image`` uint8 ``[H, W, 3]``; ``target`` float32 ``[K, 4, H, W]``, normalised channels (x.re, x.im, y.re, y.im
    of each band, ``sign(c) * sqrt(|c| / scale_k)``); ``known`` float32 ``[H, W]`` (1: motion known). Returns the
    three at the same shapes: the image resampled bicubically, the target's displacements in pixels of the zoomed
    picture (bilinear, then scaled by the magnification along each axis), and the known mask (1 only where every
    sample interpolated from was known).
    """
    y0, x0, h, w = window
    height, width = image.shape[:2]
    if (h, w) == (height, width):
        return image, target, known
    k = target.shape[0]
    size = (width, height)
    zoomed_image = cv2.resize(np.ascontiguousarray(image[y0:y0 + h, x0:x0 + w]), size, interpolation=cv2.INTER_CUBIC)
    # pixel-proportional units: c / scale_k = sign(n) n^2, so the band scale cancels and nothing needs the statistics
    linear = signed_square(target)
    crop = np.ascontiguousarray(linear[:, :, y0:y0 + h, x0:x0 + w].reshape(k * 4, h, w).transpose(1, 2, 0))
    resized = np.empty((height, width, k * 4), np.float32)
    for start in range(0, k * 4, 256):  # OpenCV resizes at most 512 channels at once; 256 keeps it well inside
        resized[:, :, start:start + 256] = cv2.resize(crop[:, :, start:start + 256], size,
                                                      interpolation=cv2.INTER_LINEAR).reshape(height, width, -1)
    linear_out = resized.transpose(2, 0, 1).reshape(k, 4, height, width)
    gain = np.array([width / w, width / w, height / h, height / h], np.float32)[None, :, None, None]
    zoomed_target = signed_sqrt(linear_out * gain)
    zoomed_known = cv2.resize(np.ascontiguousarray(known[y0:y0 + h, x0:x0 + w], dtype=np.float32), size,
                              interpolation=cv2.INTER_LINEAR)
    return zoomed_image, zoomed_target, (zoomed_known >= 1.0 - 1e-6).astype(np.float32)


def zoom_in(images: np.ndarray, targets: np.ndarray, known: np.ndarray, rng: np.random.Generator,
            probability: float, max_zoom: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch through random zooms: each picture, with ``probability``, magnified by a factor drawn log-uniformly
    from ``[1, max_zoom]`` at a uniformly drawn place (:func:`zoom_sample`); the others unchanged.

    ``images`` uint8 ``[B, H, W, 3]``, ``targets`` float32 ``[B, K, 4, H, W]`` (normalised channels), ``known``
    float32 ``[B, H, W]``. Four draws per picture whatever happens, so the result is a function of the inputs,
    ``probability``, ``max_zoom`` and the generator's state. Returns new arrays of the same shapes and dtypes.
    """
    images, targets, known = np.asarray(images), np.asarray(targets), np.asarray(known)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 [B, H, W, 3], got {images.dtype} {images.shape}")
    b, height, width = images.shape[:3]
    if targets.shape[:1] + targets.shape[3:] != (b, height, width) or targets.shape[2] != 4:
        raise ValueError(f"targets must be [{b}, K, 4, {height}, {width}], got {targets.shape}")
    if known.shape != (b, height, width):
        raise ValueError(f"known must be [{b}, {height}, {width}], got {known.shape}")
    if not 1.0 <= max_zoom <= MAX_ZOOM:
        raise ValueError(f"max_zoom must be in 1..{MAX_ZOOM}, got {max_zoom}")
    chosen = rng.random(b) < probability
    magnification = np.exp(rng.uniform(0.0, math.log(max_zoom), b))
    fx, fy = rng.random(b), rng.random(b)
    out_images, out_targets, out_known = images.copy(), targets.astype(np.float32), known.astype(np.float32)
    for j in np.flatnonzero(chosen):
        window = zoom_window(height, width, float(magnification[j]), float(fx[j]), float(fy[j]))
        out_images[j], out_targets[j], out_known[j] = zoom_sample(images[j], out_targets[j], out_known[j], window)
    return out_images, out_targets, out_known
