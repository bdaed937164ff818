"""Photographic realism at training time: what a real camera and a real file do to a picture, applied to training
images in the data loader (never baked into datasets, so held-out sets stay comparable).

Rendered training images (the 2-D generator's and Blender's) are clean: no sensor noise, no compression, perfect
focus, no lens faults, full resolution. Real photos have all of these, and a model that has only seen clean pictures
may read noise and JPEG blocks as "fine texture that moves" (issue 13). Each training image therefore goes through
a random camera, in the order light meets it:

1. ``defocus`` (a disc kernel of radius 0.8-2.5 px) or ``blur`` (Gaussian, sigma 0.4-1.4 px, or a short motion
   streak of 2-5 px at a random angle);
2. ``chromatic``: lateral chromatic aberration, red and blue scaled about the image centre by ``1 +- s``,
   ``s`` in 0.001-0.004 (at most about 0.5 px at the edge of a 256-px image), in opposite directions;
3. ``downscale``: the picture down to 35-80 % of its size (area averaging) and back up (bilinear or bicubic);
4. ``noise``: signal-dependent sensor noise on a linearised signal, ``sigma^2 = a x + b`` (shot ``a`` up to
   0.012, read ``b`` up to 2e-4, per channel, plus a little correlated chroma noise), then re-encoded;
5. ``jpeg``: JPEG at a random quality 30-95, chroma subsampled (OpenCV's encoder, 4:2:0).

Each effect is applied with its own probability (``PROBABILITIES``) times ``strength`` (the configuration's
``photo_realism``; 0 turns everything off). Geometry is unchanged (no effect moves content by more than the
sub-pixel shift of chromatic aberration), so the motion target stays exact.

Everything is a function of the generator passed in: :func:`realism_rng` derives it from ``(seed, stage, step)``,
so a resumed run sees the same degraded pictures as an uninterrupted one.

Before the camera, :func:`re_expose` (stage 4, the configuration's ``photo_exposure``; off unless asked, so earlier
runs reproduce) can bring a picture to another exposure: the Blender renders come out about twice as bright as the
2-D synthetic scenes and the real-photo sets (median log-average luminance 0.24-0.38 per held-out set, against
0.15 and 0.11-0.14), so without it a network may read how brightly a picture is exposed as a cue to what moves.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..model.processing import normalise_exposure

#: Probability of each effect at strength 1.
PROBABILITIES = {"defocus_or_blur": 0.4, "chromatic": 0.3, "downscale": 0.35, "noise": 0.6, "jpeg": 0.6}
EFFECTS = ("defocus", "blur", "chromatic", "downscale", "noise", "jpeg")
#: Generator stream for realism draws, apart from the batch's own draws.
REALISM_STREAM = 977


#: Exposure keys (log-average luminance of linear light) a re-exposed picture is given, drawn log-uniformly: from dusk
#: to a bright overcast beach, covering the renders, the synthetic scenes and photographs alike.
EXPOSURE_KEYS = (0.05, 0.4)
#: Generator stream for exposure draws, apart from the camera's (so turning it on leaves the camera draws as they were).
EXPOSURE_STREAM = 978


def exposure_rng(seed: int, stage_key: int, step: int) -> np.random.Generator:
    """The generator of one training step's exposure draws (a pure function of seed, stage and step)."""
    return np.random.default_rng([int(seed), int(stage_key), int(step), EXPOSURE_STREAM])


def re_expose(images: np.ndarray, rng: np.random.Generator, probability: float) -> np.ndarray:
    """uint8 ``[B, H, W, 3]`` -> uint8 ``[B, H, W, 3]``: each picture, with ``probability``, re-exposed to a key drawn
    log-uniformly from :data:`EXPOSURE_KEYS` (:func:`~image_dynamics.model.processing.normalise_exposure`: one factor
    on its linear light, highlights clipped); the others as they were. Two draws per picture whatever happens, so
    the result is a function of the images, ``probability`` and the generator's state."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 [B, H, W, 3], got {images.dtype} {images.shape}")
    chosen = rng.random(len(images)) < probability
    keys = np.exp(rng.uniform(math.log(EXPOSURE_KEYS[0]), math.log(EXPOSURE_KEYS[1]), len(images)))
    if not chosen.any():
        return images
    out = images.copy()
    x = normalise_exposure(images[chosen].transpose(0, 3, 1, 2).astype(np.float32) / 255.0, keys[chosen])
    out[chosen] = (x.transpose(0, 2, 3, 1) * 255.0 + 0.5).astype(np.uint8)
    return out


def realism_rng(seed: int, stage_key: int, step: int) -> np.random.Generator:
    """The generator of one training step's realism draws (a pure function of seed, stage and step)."""
    return np.random.default_rng([int(seed), int(stage_key), int(step), REALISM_STREAM])


def _disc_kernel(radius: float) -> np.ndarray:
    r = int(math.ceil(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    # anti-aliased disc: coverage falls off over one pixel at the rim
    kernel = np.clip(radius + 0.5 - np.sqrt(x * x + y * y), 0.0, 1.0)
    return (kernel / kernel.sum()).astype(np.float32)


def _streak_kernel(length: float, angle: float) -> np.ndarray:
    r = int(math.ceil(length / 2)) + 1
    kernel = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    for t in np.linspace(-length / 2, length / 2, int(length * 4) + 1):
        x, y = r + t * math.cos(angle), r + t * math.sin(angle)
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                kernel[y0 + dy, x0 + dx] += wx * wy
    return kernel / kernel.sum()


def defocus(image: np.ndarray, radius: float) -> np.ndarray:
    """float32 ``[H, W, 3]`` (0..1) convolved with an anti-aliased disc of ``radius`` pixels (edges reflected)."""
    return cv2.filter2D(image, -1, _disc_kernel(radius), borderType=cv2.BORDER_REFLECT101)


def blur(image: np.ndarray, sigma: float = 0.0, streak: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """Gaussian blur of ``sigma`` px, or (``streak`` > 0) a straight motion streak of that length at ``angle``."""
    if streak > 0:
        return cv2.filter2D(image, -1, _streak_kernel(streak, angle), borderType=cv2.BORDER_REFLECT101)
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT101)


def chromatic_aberration(image: np.ndarray, scale: float) -> np.ndarray:
    """Red scaled by ``1 + scale`` and blue by ``1 - scale`` about the image centre (bilinear); green unchanged."""
    h, w = image.shape[:2]
    out = image.copy()
    for channel, s in ((0, 1.0 + scale), (2, 1.0 - scale)):
        matrix = np.array([[s, 0, (1 - s) * (w - 1) / 2], [0, s, (1 - s) * (h - 1) / 2]], np.float32)
        out[..., channel] = cv2.warpAffine(image[..., channel], matrix, (w, h), flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REFLECT101)
    return out


def downscale(image: np.ndarray, factor: float, cubic: bool = False) -> np.ndarray:
    """Down to ``factor`` of the size by area averaging, then back to the original size (bilinear or bicubic)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR)


def sensor_noise(image: np.ndarray, rng: np.random.Generator, shot: float, read: float, chroma: float = 0.0
                 ) -> np.ndarray:
    """Signal-dependent Gaussian noise on the linearised signal (gamma 2.2): variance ``shot * x + read`` per channel,
    plus luminance-free chroma noise of ``chroma`` x that standard deviation blurred over 2 px; re-encoded, 0..1."""
    linear = np.power(np.clip(image, 0.0, 1.0), 2.2)
    sigma = np.sqrt(shot * linear + read).astype(np.float32)
    noisy = linear + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    if chroma > 0:
        colour = rng.standard_normal(image.shape, dtype=np.float32)
        colour -= colour.mean(axis=2, keepdims=True)
        noisy += chroma * sigma * cv2.GaussianBlur(colour, (0, 0), 2.0)
    return np.power(np.clip(noisy, 0.0, 1.0), 1 / 2.2).astype(np.float32)


def jpeg(image_u8: np.ndarray, quality: int) -> np.ndarray:
    """uint8 RGB ``[H, W, 3]`` through a JPEG encoder and decoder at ``quality`` (OpenCV, 4:2:0)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image_u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def draw_camera(rng: np.random.Generator, strength: float = 1.0) -> dict:
    """One random camera: which effects apply and their parameters (every draw is made, used or not, so the
    stream does not depend on the outcomes)."""
    p = {k: min(1.0, v * strength) for k, v in PROBABILITIES.items()}
    u = rng.random(6)
    params = {
        "lens": rng.integers(0, 3),  # 0 defocus, 1 Gaussian, 2 streak
        "radius": rng.uniform(0.8, 2.5), "sigma": rng.uniform(0.4, 1.4), "streak": rng.uniform(2.0, 5.0),
        "angle": rng.uniform(0, math.pi), "ca": rng.uniform(0.001, 0.004) * (1 if rng.random() < 0.5 else -1),
        "factor": rng.uniform(0.35, 0.8), "cubic": bool(rng.random() < 0.5),
        "shot": rng.uniform(0.0005, 0.012), "read": rng.uniform(0.0, 2e-4), "chroma": rng.uniform(0.0, 0.6),
        "quality": int(rng.integers(30, 96)),
    }
    lens = "defocus" if params["lens"] == 0 else "blur"
    return {"defocus": lens == "defocus" and u[0] < p["defocus_or_blur"],
            "blur": lens == "blur" and u[0] < p["defocus_or_blur"],
            "chromatic": u[1] < p["chromatic"], "downscale": u[2] < p["downscale"], "noise": u[3] < p["noise"],
            "jpeg": u[4] < p["jpeg"], **params}


def apply_camera(image_u8: np.ndarray, camera: dict, rng: np.random.Generator) -> np.ndarray:
    """uint8 ``[H, W, 3]`` through the effects ``camera`` (from :func:`draw_camera`) switches on, in order."""
    if not any(camera[e] for e in EFFECTS):
        return image_u8
    x = image_u8.astype(np.float32) / 255.0
    if camera["defocus"]:
        x = defocus(x, camera["radius"])
    if camera["blur"]:
        x = blur(x, sigma=camera["sigma"]) if camera["lens"] == 1 else blur(x, streak=camera["streak"],
                                                                             angle=camera["angle"])
    if camera["chromatic"]:
        x = chromatic_aberration(x, camera["ca"])
    if camera["downscale"]:
        x = downscale(x, camera["factor"], camera["cubic"])
    if camera["noise"]:
        x = sensor_noise(x, rng, camera["shot"], camera["read"], camera["chroma"])
    out = (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if camera["jpeg"]:
        out = jpeg(out, camera["quality"])
    return out


def photo_realism(images: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """uint8 ``[B, H, W, 3]`` -> uint8 ``[B, H, W, 3]``: each image through its own random camera.

    ``strength`` scales every effect's probability (0: the images come back unchanged, as the same array). The
    result is a function of the images, ``strength`` and the generator's state.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 [B, H, W, 3], got {images.dtype} {images.shape}")
    if strength <= 0:
        return images
    out = np.empty_like(images)
    for i, image in enumerate(images):
        camera = draw_camera(rng, strength)
        out[i] = apply_camera(np.ascontiguousarray(image), camera, rng)
    return out
