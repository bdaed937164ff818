"""The one place that converts between Blender images and the engine's arrays (docs/conventions.md, Pixel coordinates).

Blender: ``Image.pixels`` is a flat float sequence of ``width * height * channels`` values, rows **bottom-up**
(row 0 is the bottom of the picture), RGBA for every 8-bit and float image. Byte images hold their stored values
(sRGB-encoded 0..1 for ordinary photos) with straight alpha; float images (EXR, HDR, 16-bit PNG, float generated
images) hold scene-linear values with **premultiplied** alpha.

Engine: float32 ``[H, W, C]`` (C = 3, or 4 with straight alpha), rows **top-down** (origin top-left, x right, y
down), values as stored, with a colour space name ``'srgb'`` (display-referred, from byte buffers) or ``'linear'``
(scene-linear, from float buffers).

Pixels are always taken from Blender's own buffer, never re-read from disk, so packed, generated, painted (unsaved)
and relinked images all work, and the engine sees exactly what the artist sees. Only the main thread may call these
functions (``bpy`` data is not thread-safe); the arrays they return are plain numpy and may go to a worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from .engine import UserError

#: Image sources that hold one still picture.
STILL_SOURCES = frozenset({"FILE", "GENERATED"})


def image_label(image: bpy.types.Image) -> str:
    """How messages name an image: its name, plus where its pixels come from."""
    if image.packed_file is not None:
        return f"image '{image.name}' (packed in the .blend)"
    if image.source == "GENERATED":
        return f"image '{image.name}' (generated in Blender)"
    if image.filepath:
        return f"image '{image.name}' ({bpy.path.abspath(image.filepath)})"
    return f"image '{image.name}'"


def check_still(image: bpy.types.Image | None) -> bpy.types.Image:
    """Return ``image`` if it is a still with pixels; else raise :class:`UserError` saying what to do."""
    if image is None:
        raise UserError("No image selected. Choose one in the sidebar (N) > Image Dynamics > Image, or open one in "
                        "the Image Editor.")
    if image.source == "TILED":
        raise UserError(f"{image_label(image)} is a UDIM tiled image; Image Dynamics animates one still picture. "
                        "Choose a single image.")
    if image.source not in STILL_SOURCES:
        raise UserError(f"{image_label(image)} is a {image.source.lower()} ({image.type.lower()}), not a still "
                        "picture. Choose a still image (PNG, JPEG, EXR, ...).")
    width, height = image.size
    if width == 0 or height == 0:  # reading the size loads the file; a missing or broken file gives 0 x 0
        where = f"its file {bpy.path.abspath(image.filepath)}" if image.filepath else "it has no file and"
        raise UserError(f"Image '{image.name}' has no pixels: {where} is missing or unreadable. Relink it (Image "
                        "Editor > Image > Replace) or reload it (Alt+R).")
    return image


def colorspace_of(image: bpy.types.Image) -> str:
    """The engine colour space of an image's buffer: ``'linear'`` for float buffers, else ``'srgb'``."""
    return "linear" if image.is_float else "srgb"


def blender_to_array(image: bpy.types.Image) -> np.ndarray:
    """An image's buffer exactly as Blender holds it, rows turned top-down: float32 ``[H, W, channels]``.

    No colour or alpha conversion (float buffers stay premultiplied); see :func:`image_pixels` for engine pixels.
    """
    return read_buffer(image).array()


@dataclass(frozen=True)
class ImageBuffer:
    """A copy of an image's buffer as Blender holds it (one ``foreach_get``: the only part that needs the main
    thread); :meth:`pixels` converts it on any thread.

    Attributes:
        flat: float32 ``[height * width * channels]``, rows bottom-up, as ``Image.pixels``.
        width, height, channels: its layout.
        is_float: a float buffer (scene-linear, premultiplied alpha).
        alpha_mode: the image's ``alpha_mode``.
    """

    flat: np.ndarray
    width: int
    height: int
    channels: int
    is_float: bool
    alpha_mode: str

    def array(self) -> np.ndarray:
        """float32 ``[H, W, channels]`` top-down, no conversion (see :func:`blender_to_array`)."""
        return np.ascontiguousarray(self.flat.reshape(self.height, self.width, self.channels)[::-1])

    def pixels(self) -> tuple[np.ndarray, str]:
        """Engine pixels and colour space, as :func:`image_pixels` describes them."""
        raw = self.array()
        colorspace = "linear" if self.is_float else "srgb"
        channels = raw.shape[2]
        if channels == 1:
            return np.ascontiguousarray(np.repeat(raw, 3, axis=2)), colorspace
        if channels == 2:  # grey + alpha
            raw = raw[..., [0, 0, 0, 1]]
        rgb = raw[..., :3]
        alpha = raw[..., 3] if raw.shape[2] == 4 else None
        if alpha is None or self.alpha_mode == "NONE" or bool(np.all(alpha >= 1.0)):
            return np.ascontiguousarray(rgb), colorspace
        pixels = np.ascontiguousarray(raw[..., :4])
        if self.is_float:
            covered = alpha > 0
            pixels[..., :3] = np.where(covered[..., None], rgb / np.where(covered, alpha, 1.0)[..., None], rgb)
        return pixels, colorspace


def read_buffer(image: bpy.types.Image) -> ImageBuffer:
    """Copy an image's buffer (main thread; about 13 ms at 1920x1080); convert it with :meth:`ImageBuffer.pixels`."""
    check_still(image)
    width, height = image.size
    channels = image.channels
    flat = np.empty(width * height * channels, dtype=np.float32)
    image.pixels.foreach_get(flat)
    return ImageBuffer(flat, int(width), int(height), int(channels), bool(image.is_float), str(image.alpha_mode))


def image_pixels(image: bpy.types.Image) -> tuple[np.ndarray, str]:
    """Engine pixels of a Blender image: ``(float32 [H, W, C] top-down, straight alpha; 'srgb' | 'linear')``.

    C is 4 only when the image uses alpha (alpha mode not NONE and some pixel not opaque), else 3; grey (1-channel)
    buffers are repeated into RGB. Float buffers are un-premultiplied where alpha > 0.
    """
    return read_buffer(image).pixels()


def loaded_image(image: bpy.types.Image):
    """The engine's :class:`image_dynamics.io.LoadedImage` of a Blender image (for bakes and motion sources)."""
    from image_dynamics.io import LoadedImage

    pixels, colorspace = image_pixels(image)
    bit_depth = 32 if image.is_float else 8
    path = Path(bpy.path.abspath(image.filepath)) if image.filepath else Path(image.name)
    return LoadedImage(pixels, colorspace, bit_depth, pixels.shape[2] == 4, path)


def mask_values(image: bpy.types.Image) -> np.ndarray:
    """A motion mask from a Blender image: float32 ``[H, W]`` in 0..1, top-down (1 = moves, 0 = still).

    The engine's rule (``image_dynamics.io.mask_from_pixels``, which the CLI's ``--mask`` uses too) applied to the
    image's engine pixels (straight alpha, values as stored): a transparency mask's alpha, else the grey value or
    luma of the colour times the alpha.
    """
    from image_dynamics.io import mask_from_pixels

    return mask_from_pixels(image_pixels(image)[0])


def array_to_image(pixels: np.ndarray, name: str, colorspace: str = "srgb",
                   image: bpy.types.Image | None = None) -> bpy.types.Image:
    """Write engine pixels (float32 ``[H, W, C]``, C = 1, 3 or 4, top-down, straight alpha) into a Blender image.

    Creates a generated image called ``name`` (float buffer when ``colorspace == 'linear'``), or fills ``image`` when
    given and of the same size and buffer type. Rows are turned bottom-up; float buffers get premultiplied alpha.
    Non-colour data (displacement, masks) should use ``colorspace='linear'`` and set the image to Non-Color after.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4) or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError(f"pixels must be a non-empty [H, W, 1, 3 or 4] array, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    is_float = colorspace == "linear"
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., :3] = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., :1]
    if pixels.shape[2] == 4:
        rgba[..., 3] = pixels[..., 3]
        if is_float:
            rgba[..., :3] *= rgba[..., 3:]
    reuse = image is not None and tuple(image.size) == (width, height) and image.is_float == is_float
    if not reuse:
        if image is not None:
            bpy.data.images.remove(image)
        image = bpy.data.images.new(name, width, height, alpha=pixels.shape[2] == 4, float_buffer=is_float)
    image.pixels.foreach_set(np.ascontiguousarray(rgba[::-1]).reshape(-1))
    image.update()
    return image


def image_stem(image: bpy.types.Image) -> str:
    """A file-name stem for an image's outputs: its name without an image extension, made file-system safe."""
    name = image.name
    root, ext = os.path.splitext(name)
    if ext.lower() in {".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp", ".webp", ".hdr", ".tga"}:
        name = root
    return bpy.path.clean_name(name) or "image"
