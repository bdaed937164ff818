"""numpy pre- and post-processing of the motion model, shared by the torch model and the ONNX runtime.

- :func:`prepare_images`: pixels -> the model's float32 input ``[B, 3, h, w]``;
- :func:`normalise_exposure`: that input brought to one exposure (what packages with ``energy.input_key`` feed their
  motion-energy network, so that how bright a photo was exposed does not decide how much it moves);
- :func:`fit_to_model_grid`: how an image of any aspect ratio is placed on the model grid (resized to the largest
  grid of its own aspect that fits, then mirror-padded to the full grid) and which part of the output is the image;
- :func:`read_energy_net`: a motion-energy network's output for a batch, averaged over mirror images when the package
  asks (:func:`with_mirror_images`, :func:`mirror_average`);
- :func:`match_band_energy`: a sampled motion rescaled, pixel by pixel, to the motion-energy network's energy, and
  (packages that ask for it) the energy a sample cannot carry filled in with coherent motion (:func:`coherent_fill`);
- :func:`channels_to_output`: normalised model output -> complex64 coefficients in pixels of an output grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .. import normalisation as norm
from ..errors import InputError
from ..io import linear_to_srgb, srgb_to_linear
from ..normalisation import channels_to_coeffs


def prepare_images(images: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 (0..255) or float (0..1) ``[B, H, W, 3]`` (or one ``[H, W, 3]``) -> float32 ``[B, 3, height, width]``.

    A fourth (alpha) channel is dropped. Downsizing uses area averaging, upsizing bilinear interpolation.
    """
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
        raise InputError(f"images must be [B, H, W, 3] (RGB), got shape {arr.shape}")
    arr = arr[..., :3]
    arr = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
    if arr.shape[1:3] != (height, width):
        interp = cv2.INTER_AREA if arr.shape[2] > width else cv2.INTER_LINEAR
        arr = np.stack([cv2.resize(a, (width, height), interpolation=interp) for a in arr])
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))


#: Rec. 709 luminance weights of linear RGB.
LUMINANCE_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], np.float32)
#: The exposure keys a package or configuration may name for its energy network's input (:func:`energy_net_input`):
#: from a night scene to a bright beach; outside, the clipped highlights or the sRGB toe would swallow the picture.
ENERGY_INPUT_KEY_RANGE = (0.01, 0.5)
#: Added to every pixel's luminance before its logarithm, so black pixels do not drag the log-average to zero.
KEY_FLOOR = 1e-4


def exposure_key(images: np.ndarray) -> np.ndarray:
    """The exposure of each image: float64 ``[B]``, the log-average luminance of its linear light (Rec. 709 weights,
    :data:`KEY_FLOOR` added), from sRGB-encoded float ``[B, 3, h, w]`` in 0..1 (the model's input). A mid-grey
    picture's key is 0.18 x its brightness; the 2-D synthetic scenes' median is about 0.15."""
    arr = np.asarray(images, np.float32)
    lum = np.einsum("bchw,c->bhw", srgb_to_linear(np.clip(arr, 0.0, 1.0)), LUMINANCE_WEIGHTS)
    return np.exp(np.log(lum.astype(np.float64) + KEY_FLOOR).mean(axis=(1, 2)))


def normalise_exposure(images: np.ndarray, key: float | np.ndarray) -> np.ndarray:
    """float32 ``[B, 3, h, w]``: each sRGB image (float 0..1, the model's input) re-exposed so that its
    :func:`exposure_key` is ``key`` (one for all, or one per image ``[B]``): its linear light scaled by one factor,
    clipped at 1, re-encoded. Colours and contrast within the image are kept (up to the clipped highlights); only its
    overall brightness changes."""
    arr = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    if arr.ndim != 4 or arr.shape[1] != 3:
        raise InputError(f"images must be [B, 3, h, w], got shape {arr.shape}")
    gain = (np.asarray(key, np.float64) / exposure_key(arr)).astype(np.float32)[:, None, None, None]
    return np.ascontiguousarray(linear_to_srgb(np.clip(srgb_to_linear(arr) * gain, 0.0, 1.0)), dtype=np.float32)


def energy_net_input(images: np.ndarray, input_key: float | None) -> np.ndarray:
    """What a motion-energy network is fed: the model input ``[B, 3, h, w]`` itself, or re-exposed to
    ``input_key`` (:func:`normalise_exposure`) when its package or configuration names one (None or 0: as it is)."""
    return normalise_exposure(images, input_key) if input_key else np.asarray(images, np.float32)


#: Largest factor by which :func:`match_band_energy` raises a pixel's sampled amplitude: more would blow a sample's
#: faint residue up into visible noise; the energy above it comes from :func:`coherent_fill` when the package asks.
MAX_ENERGY_GAIN = 4.0


#: The calibration gains a package or configuration may give its energy network (:func:`energy_from_log`): a network
#: that says a hundredth of the motion, or a hundred times it, needs training, not a gain.
ENERGY_GAIN_RANGE = (0.01, 100.0)


def energy_from_log(log_energy: np.ndarray, floor: float, gain: float = 1.0) -> np.ndarray:
    """float32 band energies ``E >= 0`` (squared pixels) from the motion-energy network's ``log(E + floor)``, times
    its calibration ``gain`` (a package's ``energy.gain``, fitted on rendered data by
    ``scripts/calibrate_energy_gain.py``): the floor comes off before the gain, so still pixels stay still."""
    energy = np.maximum(np.exp(np.asarray(log_energy, dtype=np.float32)) - np.float32(floor), np.float32(0.0))
    return energy * np.float32(gain) if gain != 1.0 else energy


def with_mirror_images(images: np.ndarray) -> np.ndarray:
    """float32 ``[2B, C, h, w]``: the batch ``images`` ``[B, C, h, w]``, then each image mirrored left to right: the
    one batch a motion-energy network reads when its package averages over mirror images (:func:`mirror_average`)."""
    images = np.asarray(images, np.float32)
    return np.concatenate([images, images[..., ::-1]])


def mirror_average(log_energy: np.ndarray) -> np.ndarray:
    """float32 ``[B, K, h, w]``: a network's ``log(E + floor)`` outputs ``[2B, K, h, w]`` on :func:`with_mirror_images`'
    batch, each image's averaged with its mirror image's mirrored back. Why the logs: the network was trained on
    randomly flipped pictures with an L1 loss on these logs, so both readings estimate the same log energy and their
    mean errs less than either (rule r50, docs/rules.md)."""
    log_energy = np.asarray(log_energy, np.float32)
    half = log_energy.shape[0] // 2
    return 0.5 * (log_energy[:half] + log_energy[half:, ..., ::-1])


def read_energy_net(run: Callable[[np.ndarray], np.ndarray], images: np.ndarray, flip_average: bool) -> np.ndarray:
    """float32 ``[B, K, h, w]`` ``log(E + floor)``: ``run`` (a motion-energy network, ``[n, 3, h, w]`` input ->
    ``[n, K, h, w]`` output) on ``images`` ``[B, 3, h, w]`` as fed (:func:`energy_net_input`), or averaged over each
    image and its mirror image when the package or configuration asks (``energy.flip_average``)."""
    if not flip_average:
        return np.asarray(run(np.asarray(images, np.float32)), np.float32)
    return mirror_average(run(with_mirror_images(images)))


def coherent_fill(shape: tuple[int, int, int, int, int], coherence_px: float, seed: int) -> np.ndarray:
    """Unit-energy coherent motion: float32 ``[B, K, 4, h, w]`` coefficient channels (x/y real/imaginary) whose four
    channels have, at every pixel and band, a sum of squares of exactly 1.

    Each channel is white Gaussian noise blurred with a Gaussian of ``coherence_px`` grid pixels (sigma), so
    neighbours closer than that move alike (a patch sways together instead of tearing); dividing by the per-pixel norm
    leaves random directions, ellipses and phases. Deterministic in ``seed`` (a stream separate from the sampler's)."""
    b, k, c, h, w = shape
    rng = np.random.default_rng([int(seed), 0x46494C4C])  # "FILL": not the stream of the diffusion noise
    noise = rng.standard_normal((b * k * c, h, w), dtype=np.float32)
    ksize = int(2 * round(3 * coherence_px) + 1)
    field = np.stack([cv2.GaussianBlur(n, (ksize, ksize), coherence_px, borderType=cv2.BORDER_REFLECT) for n in noise])
    field = field.reshape(b, k, c, h, w)
    norm_px = np.sqrt(np.square(field).sum(axis=2, keepdims=True))
    floor = np.float32(0.1) * np.sqrt(np.mean(np.square(norm_px)))  # keep rare near-zero norms from exploding
    return (field / np.maximum(norm_px, floor)).astype(np.float32)


def match_band_energy(pixels: np.ndarray, band_energy: np.ndarray, max_gain: float = MAX_ENERGY_GAIN,
                      fill: np.ndarray | None = None) -> np.ndarray:
    """Sampled coefficient channels rescaled so each pixel moves as much as the motion-energy network says.

    Args:
        pixels: float32 ``[B, K, 4, h, w]`` coefficient channels (x/y real/imaginary) in pixels of the data's grid.
        band_energy: float ``[B, K, h, w]`` the network's band energies ``E_k`` (squared pixels, same grid).
        fill: optional float32 ``[B, K, 4, h, w]`` unit-energy coherent motion (:func:`coherent_fill`) for the energy
            the sample cannot carry.

    Returns:
        float32 ``[B, K, 4, h, w]``: every band of a pixel times one gain ``g = sqrt(E_net / E_sample)`` (both summed
        over the bands with f > 0), at most ``max_gain``. One gain per pixel keeps the sample's spectrum: its mix
        of frequencies, its phases, its directions and its frame-0 anchoring; only the amount of motion changes.
        With ``fill``, the energy left over, ``D = E_net - g^2 E_sample`` (zero wherever the gain is not capped), is
        added as ``fill``'s motion with band ``k`` carrying ``D * E_k / E_net`` (scaled so the pixel's energy is
        ``E_net`` exactly, cross term with the sample included): where the diffusion sample has (almost)
        no motion but the energy network says the pixel moves, it moves by the network's spectrum with coherent random
        directions and phases instead of staying still.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    bands = np.asarray(band_energy, dtype=np.float32)
    target = bands[:, 1:].sum(axis=1)
    sampled = np.square(pixels[:, 1:]).sum(axis=(1, 2))
    gain = np.minimum(np.sqrt(target / np.maximum(sampled, 1e-12)), np.float32(max_gain))
    out = pixels * gain[:, None, None]
    if fill is not None:
        # only capped pixels fall short (elsewhere g^2 E_sample = E_net up to rounding, which must not add noise)
        deficit = np.where(gain < np.float32(max_gain), 0.0, np.maximum(target - np.square(gain) * sampled, 0.0))
        share = bands[:, 1:] * (deficit / np.maximum(target, 1e-12))[:, None]  # [B, K-1, h, w]
        added = np.asarray(fill, dtype=np.float32)[:, 1:] * np.sqrt(share)[:, :, None]  # energy D on average
        # scaled by the a >= 0 that makes |g s + a F|^2 = E_net exactly (a = 1 where the sample is still): the fill
        # is not orthogonal to the sample, and their cross term would leave a pixel's energy off the network's
        dot = (out[:, 1:] * added).sum(axis=(1, 2))
        norm2 = np.square(added).sum(axis=(1, 2))
        scale = (np.sqrt(np.square(dot) + norm2 * deficit) - dot) / np.maximum(norm2, 1e-30)
        out[:, 1:] += added * np.where(norm2 > 0, scale, 0.0)[:, None, None]
    return out.astype(np.float32)


def channels_to_output(channels: np.ndarray, stats: Any, coeff_grid: tuple[int, int], out_width: int,
                       out_height: int, band_energy: np.ndarray | None = None, fill: np.ndarray | None = None
                       ) -> np.ndarray:
    """Normalised channels ``[B, K, 4, h, w]`` -> complex64 coefficients ``[B, K, 2, out_height, out_width]`` in pixels.

    Denormalising gives pixels of ``coeff_grid`` (the training data's grid); with ``band_energy`` ``[B, K, h, w]``
    (the motion-energy network's output on the same grid) they are rescaled to it (:func:`match_band_energy`); maps
    are then resized to the output grid and x / y values scaled by the width / height ratios. ``fill`` (with
    ``band_energy``): :func:`match_band_energy`'s coherent motion for the energy a sample cannot carry.
    """
    pixels = np.asarray(norm.denormalise(np.asarray(channels, dtype=np.float32), stats), dtype=np.float32)
    if band_energy is not None:
        pixels = match_band_energy(pixels, band_energy, fill=fill)
    b, k, c, h, w = pixels.shape
    if (w, h) != (out_width, out_height):
        interp = cv2.INTER_AREA if out_width < w else cv2.INTER_LINEAR
        maps = pixels.reshape(b, k * c, h, w).transpose(0, 2, 3, 1)
        maps = np.stack([cv2.resize(m, (out_width, out_height), interpolation=interp) for m in maps])
        pixels = maps.transpose(0, 3, 1, 2).reshape(b, k, c, out_height, out_width)
    gain = np.array([out_width / coeff_grid[0]] * 2 + [out_height / coeff_grid[1]] * 2, np.float32)
    return channels_to_coeffs(pixels * gain[None, None, :, None, None])


def load_stats_json(text: str) -> Any:
    """Normalisation statistics from the JSON text of a ``norm_stats.json`` (as stored in checkpoints)."""
    return norm.norm_stats_from_json(text)


@dataclass(frozen=True)
class GridFit:
    """Where an image sits on the model grid.

    The image is resized to ``width x height`` (the largest grid of its own aspect ratio, rounded to whole pixels,
    that fits the ``model_width x model_height`` grid) and mirror-padded by ``left`` / ``top`` pixels before and the
    rest after. The model's output, cropped to ``[top:top + height, left:left + width]``, covers exactly the image.
    """

    model_width: int
    model_height: int
    width: int
    height: int
    left: int
    top: int

    @property
    def padded(self) -> bool:
        return (self.width, self.height) != (self.model_width, self.model_height)

    @property
    def crop(self) -> tuple[slice, slice]:
        """``(rows, columns)`` of the image inside the model grid."""
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


def fit_to_model_grid(image_width: int, image_height: int, model_width: int, model_height: int) -> GridFit:
    """Place an ``image_width x image_height`` image on the model grid without distorting it.

    An image of the training aspect ratio fills the grid (no padding). A wider one keeps the full grid width and
    fewer rows, a taller one the full height and fewer columns; the rest is padding split evenly (the odd pixel after).
    Rounding to whole grid pixels changes the aspect ratio by less than half a grid pixel.
    """
    if image_width < 1 or image_height < 1:
        raise InputError(f"image size must be at least 1x1 pixels, got {image_width}x{image_height}")
    aspect = image_width / image_height
    if aspect >= model_width / model_height:
        width, height = model_width, min(model_height, max(1, round(model_width / aspect)))
    else:
        width, height = min(model_width, max(1, round(model_height * aspect))), model_height
    return GridFit(model_width, model_height, width, height, (model_width - width) // 2, (model_height - height) // 2)


def prepare_on_grid(pixels: np.ndarray, fit: GridFit) -> np.ndarray:
    """One image ``[H, W, C]`` (uint8 0..255 or float 0..1) -> float32 ``[1, 3, model_h, model_w]`` placed per ``fit``.

    Padding mirrors the image about its border (``numpy.pad`` mode ``symmetric``, repeated for pads larger than the
    image), so the model sees a continuation of the scene rather than a hard edge or a black bar.
    """
    image = prepare_images(pixels, fit.width, fit.height)
    if not fit.padded:
        return image
    pad = ((0, 0), (0, 0), (fit.top, fit.model_height - fit.height - fit.top),
           (fit.left, fit.model_width - fit.width - fit.left))
    return np.ascontiguousarray(np.pad(image, pad, mode="symmetric"))
