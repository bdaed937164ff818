"""Images in and out: reading any common still image into float32, colour encoding, frame writers, sequence names.

In memory an image is float32 ``[H, W, C]`` (C = 3 RGB or 4 RGBA, straight alpha) with values as stored
(docs/conventions.md):

- ``'srgb'``: 8- and 16-bit files (PNG, JPEG, TIFF, BMP, WebP), display-referred, 0..1, warped as they are.
- ``'linear'``: float files (OpenEXR, Radiance HDR, float TIFF), scene-linear, kept as they are (may exceed 1 or be
  negative).

A gamma is applied exactly once, when a value crosses between the two: :func:`to_display_uint8` / :func:`to_uint16`
encode linear data to sRGB for 8/16-bit files, :func:`write_exr_image` linearises sRGB data for EXR.

Writers write to exactly the path they are given; callers stage outputs with ``atomic.py``. EXR and displacement files
live in ``io_exr.py``, videos in ``io_video.py``; both are re-exported here so ``image_dynamics.io`` is the one place
to import file functions from.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InputError, OutputError
from .io_exr import (
    DISPLACEMENT_KINDS,
    read_displacement_exr,
    read_exr,
    read_exr_with_types,
    write_displacement_exr,
    write_exr,
)
from .io_video import GifWriter, VideoInfo, VideoWriter, gif_delays_ms, pad_to_even, video_frames, video_info

__all__ = [
    "DISPLACEMENT_KINDS", "FRAME_FORMATS", "GifWriter", "LoadedImage", "VideoInfo", "VideoWriter", "frame_extension",
    "gif_delays_ms", "linear_to_srgb", "mask_from_pixels", "pad_to_even", "read_displacement_exr", "read_exr",
    "read_grayscale", "read_image", "sequence_name", "sequence_pattern", "srgb_to_linear", "to_display_uint8",
    "to_uint16", "video_frames", "video_info", "write_displacement_exr", "write_exr", "write_exr_image", "write_frame",
    "write_jpeg", "write_png",
]

COLORSPACES = ("srgb", "linear")
#: Raster formats read through Pillow / OpenCV (Pillow's format names); OpenEXR and Radiance HDR are sniffed separately.
RASTER_FORMATS = frozenset({"PNG", "JPEG", "MPO", "TIFF", "BMP", "DIB", "WEBP"})
SUPPORTED_DESCRIPTION = "PNG, JPEG, TIFF, BMP, WebP, OpenEXR or Radiance HDR"

_EXR_MAGIC = b"\x76\x2f\x31\x01"
_RADIANCE_MAGICS = (b"#?RADIANCE", b"#?RGBE")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image.

    Attributes:
        pixels: float32 ``[H, W, C]``, C = 3 (RGB) or 4 (RGBA, straight alpha); grey images are repeated into RGB.
        colorspace: ``'srgb'`` (8/16-bit files: display-referred, 0..1) or ``'linear'`` (float files: scene-linear,
            unclipped).
        bit_depth: bits per stored value: 8, 16 (16-bit integer or half float) or 32 (float).
        has_alpha: whether the file had an alpha channel or transparency (then C = 4).
        path: the file it came from.
    """

    pixels: np.ndarray
    colorspace: str
    bit_depth: int
    has_alpha: bool
    path: Path

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


# ----------------------------------------------------------------------------------------------------------------------
# Reading


def _check_input_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: image not found. Check the path and the file name.")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image. Give the path of an image file.")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes). Re-export or re-download the image.")


def _unreadable(path: Path, detail: str) -> InputError:
    return InputError(f"{path}: cannot read this image ({detail}). It may be corrupt, truncated or not a "
                      f"{SUPPORTED_DESCRIPTION} file; re-export it, or convert it to PNG.")


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels ``[H, W, C]`` upright per the EXIF orientation tag (1..8; anything else: unchanged)."""
    if orientation == 2:  # mirrored left-right
        return pixels[:, ::-1]
    if orientation == 3:  # rotated 180
        return pixels[::-1, ::-1]
    if orientation == 4:  # mirrored top-bottom
        return pixels[::-1]
    if orientation == 5:  # mirrored along the main diagonal
        return pixels.transpose(1, 0, 2)
    if orientation == 6:  # camera turned: rotate 90 degrees clockwise to view
        return np.rot90(pixels, -1)
    if orientation == 7:  # mirrored along the anti-diagonal
        return pixels[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:  # rotate 90 degrees counter-clockwise to view
        return np.rot90(pixels, 1)
    return pixels


def _exif_orientation(image: Image.Image) -> int:
    # A PNG's eXIf chunk may follow the pixel data; Pillow finds it only once the image is loaded, so a 16-bit PNG
    # (decoded by OpenCV, never loaded by Pillow) has its orientation honoured only when the chunk comes first.
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except (ValueError, TypeError, OSError, SyntaxError, struct.error):
        return 1  # a broken EXIF block does not make the pixels unreadable


def _needs_opencv(image: Image.Image, head: bytes) -> bool:
    """Whether Pillow would lose precision: 16-bit PNGs (it reduces RGB to 8 bits), deep or float TIFFs."""
    if image.format == "PNG":
        return head.startswith(_PNG_MAGIC) and len(head) > 24 and head[24] == 16
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) > 8 or image.mode in ("I", "F") or image.mode.startswith("I;16")
    return False


def _pillow_pixels(image: Image.Image, path: Path) -> tuple[np.ndarray, str, int, bool]:
    """Decoded Pillow image -> (float32 [H, W, C], colorspace, bit depth, has alpha)."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise InputError(f"{path}: 32-bit integer pixels outside 0..65535 are not supported. Save the image as "
                             "8- or 16-bit, or as OpenEXR.")
        grey = values.astype(np.float32) / np.float32(65535)
        return np.repeat(grey[..., None], 3, axis=2), "srgb", 16, False
    if mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        return np.repeat(grey[..., None], 3, axis=2), "linear", 32, False
    has_alpha = (mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
                 or (mode == "P" and image.palette is not None and image.palette.mode == "RGBA"))
    target = "RGBA" if has_alpha else "RGB"
    if mode != target:
        image = image.convert(target)  # L, LA, P, PA, 1, CMYK, YCbCr, ... (CMYK: Pillow's conversion, no ICC profile)
    return np.asarray(image, dtype=np.float32) / np.float32(255), "srgb", 8, has_alpha


def _opencv_pixels(path: Path) -> tuple[np.ndarray, str, int, bool]:
    """Decode with OpenCV keeping 16-bit and float samples -> (float32 [H, W, C] RGB(A), colorspace, depth, alpha)."""
    try:
        decoded = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise _unreadable(path, str(exc).strip().splitlines()[-1]) from None
    if decoded is None:
        raise _unreadable(path, "the decoder rejected the data")
    if decoded.ndim == 2:
        decoded = decoded[..., None]
    channels = decoded.shape[2]
    if channels == 1:
        rgba = np.repeat(decoded, 3, axis=2)
    elif channels == 2:  # grey + alpha
        rgba = decoded[..., [0, 0, 0, 1]]
    elif channels == 3:
        rgba = decoded[..., ::-1]
    elif channels == 4:
        rgba = decoded[..., [2, 1, 0, 3]]
    else:
        raise InputError(f"{path}: images with {channels} channels are not supported. Save it as RGB or RGBA.")
    if decoded.dtype == np.uint8:
        return rgba.astype(np.float32) / np.float32(255), "srgb", 8, rgba.shape[2] == 4
    if decoded.dtype == np.uint16:
        return rgba.astype(np.float32) / np.float32(65535), "srgb", 16, rgba.shape[2] == 4
    if decoded.dtype in (np.float16, np.float32):
        bits = 16 if decoded.dtype == np.float16 else 32
        return rgba.astype(np.float32), "linear", bits, rgba.shape[2] == 4
    raise InputError(f"{path}: {decoded.dtype} samples are not supported. Save the image as 8- or 16-bit or as "
                     "OpenEXR.")


def _exr_layer_prefix(names: list[str]) -> str | None:
    """The layer whose colour to read: '' for plain R,G,B / Y files, else e.g. 'ViewLayer.Combined.' (Blender)."""
    names_set = set(names)
    prefixes = set()
    for name in names:
        for channel in ("R", "Y"):
            if name.endswith(channel):
                prefix = name[:-1]
                if prefix == "" or prefix.endswith("."):
                    if channel == "Y" or {prefix + "G", prefix + "B"} <= names_set:
                        prefixes.add(prefix)
    if not prefixes:
        return None
    if "" in prefixes:
        return ""
    combined = sorted(p for p in prefixes if "combined" in p.lower())
    return combined[0] if combined else sorted(prefixes)[0]


def _exr_pixels(path: Path) -> tuple[np.ndarray, str, int, bool]:
    """EXR colour (R,G,B or Y, plus A) -> straight-alpha linear float32 [H, W, C]."""
    channels, _, bits = read_exr_with_types(path)
    prefix = _exr_layer_prefix(list(channels))
    if prefix is None:
        raise InputError(f"{path}: the EXR has no colour channels (R, G, B or Y); it has "
                         f"{', '.join(sorted(channels))}. Export the image with its RGB channels.")
    names = [prefix + c for c in "RGB"] if prefix + "R" in channels else [prefix + "Y"] * 3
    alpha_name = prefix + "A"
    if alpha_name in channels:
        names.append(alpha_name)
    pixels = np.stack([channels[n] for n in names], axis=2)
    if alpha_name in channels:
        # EXR colour is premultiplied by alpha (OpenEXR convention); images in memory carry straight alpha.
        alpha = pixels[..., 3:]
        covered = alpha > 0
        pixels[..., :3] = np.where(covered, pixels[..., :3] / np.where(covered, alpha, 1), pixels[..., :3])
    return pixels, "linear", max(bits[n] for n in names), alpha_name in channels


def _raster_pixels(path: Path, head: bytes) -> tuple[np.ndarray, str, int, bool]:
    try:
        with Image.open(path) as image:
            if image.format not in RASTER_FORMATS:
                raise InputError(f"{path}: {image.format} images are not supported. Convert it to PNG (or "
                                 f"{SUPPORTED_DESCRIPTION}).")
            if _needs_opencv(image, head):
                orientation = _exif_orientation(image)
                decoded = _opencv_pixels(path)
            else:
                image.load()
                orientation = _exif_orientation(image)
                decoded = _pillow_pixels(image, path)
    except UnidentifiedImageError:
        if head.startswith(_TIFF_MAGICS):  # e.g. float RGB TIFF, which Pillow cannot open
            return _opencv_pixels(path)
        raise _unreadable(path, "not a recognised image format") from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: the image is too large to read safely ({exc}). Downscale it first.") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, KeyError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _unreadable(path, str(exc) or type(exc).__name__) from None
    pixels, colorspace, bits, has_alpha = decoded
    return _apply_orientation(pixels, orientation), colorspace, bits, has_alpha


def read_image(path: str | os.PathLike) -> LoadedImage:
    """Read a still image into float32, keeping its precision and its colour encoding.

    Formats: PNG, JPEG, TIFF, BMP, WebP (Pillow; 16-bit PNG and 16-bit / float TIFF through OpenCV, because Pillow
    reduces 16-bit RGB to 8 bits), OpenEXR (R,G,B(,A) or Y channels, half or float; in a multi-layer file the plain
    or 'Combined' layer) and Radiance HDR. Grey images (L, LA, I;16) are repeated into RGB; palette images (with or
    without transparency), CMYK and YCbCr are converted to RGB(A). The EXIF orientation is applied (JPEG, WebP, TIFF,
    8-bit PNG). EXR colour is premultiplied by alpha on disk and returned un-premultiplied (where alpha > 0).

    Raises:
        InputError: the path is missing, a folder, empty, unreadable, corrupt, truncated, an unsupported format, or
            the image has zero size; the message names the path and what to do.
    """
    path = Path(path)
    _check_input_file(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(_EXR_MAGIC):
        pixels, colorspace, bits, has_alpha = _exr_pixels(path)
    elif head.startswith(_RADIANCE_MAGICS):
        pixels, colorspace, bits, has_alpha = _opencv_pixels(path)
    else:
        pixels, colorspace, bits, has_alpha = _raster_pixels(path, head)
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InputError(f"{path}: the image has zero size ({pixels.shape[1]}x{pixels.shape[0]} pixels).")
    return LoadedImage(np.ascontiguousarray(pixels, dtype=np.float32), colorspace, bits, has_alpha, path)


def mask_from_pixels(pixels: np.ndarray) -> np.ndarray:
    """A motion mask from image pixels: float32 ``[H, W]`` in 0..1 (1 = moves, 0 = still).

    The one rule for masks, used for files (:func:`read_grayscale`, the CLI's ``--mask``) and by the Blender add-on:

    - a mask painted as transparency (one colour everywhere, alpha below 1 somewhere) gives its alpha;
    - any other image gives the grey value of its colour (a grey image's value exactly, else the Rec. 709 luma
      0.2126 R + 0.7152 G + 0.0722 B of the stored values) times its alpha (1 where opaque or without alpha).

    So white moves and black stays, an opaque image's alpha changes nothing (a black opaque RGBA mask moves
    nothing), and transparent parts of a painted mask stay still. Values are clipped to 0..1 (linear EXR masks too).

    Args:
        pixels: float ``[H, W]``, ``[H, W, 1]``, ``[H, W, 2]`` (grey + alpha), ``[H, W, 3]`` or ``[H, W, 4]``
            (straight alpha), values as stored.
    """
    values = np.asarray(pixels, dtype=np.float32)
    if values.ndim == 2:
        values = values[..., None]
    if values.ndim != 3 or values.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"mask pixels must be [H, W] or [H, W, 1-4], got shape {values.shape}")
    channels = values.shape[2]
    rgb = values[..., :3] if channels >= 3 else np.repeat(values[..., :1], 3, axis=2)
    alpha = values[..., channels - 1] if channels in (2, 4) else None
    if alpha is not None and not np.all(alpha >= 1.0) and np.all(rgb == rgb[0, 0]):
        grey = alpha
    else:
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            grey = rgb[..., 0]
        else:
            grey = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
        if alpha is not None:
            grey = grey * np.clip(alpha, 0.0, 1.0)
    return np.clip(grey, 0.0, 1.0).astype(np.float32)


def read_grayscale(path: str | os.PathLike) -> np.ndarray:
    """Read a motion mask: float32 ``[H, W]`` in 0..1 (1 = moves, 0 = still), by :func:`mask_from_pixels`'s rule
    (a transparency mask's alpha, else the grey value or luma of the colour times the alpha)."""
    return mask_from_pixels(read_image(path).pixels)


# ----------------------------------------------------------------------------------------------------------------------
# Colour encoding


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values -> linear light (IEC 61966-2-1), float32.

    Odd-symmetric and extended past 1, so negative and over-range values round-trip through :func:`linear_to_srgb`.
    """
    v = np.asarray(values, dtype=np.float32)
    a = np.abs(v)
    out = np.where(a <= np.float32(0.04045), a / np.float32(12.92),
                   ((a + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4))
    return np.copysign(out, v).astype(np.float32)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded values (IEC 61966-2-1), float32; the exact inverse of :func:`srgb_to_linear`."""
    v = np.asarray(values, dtype=np.float32)
    a = np.abs(v)
    out = np.where(a <= np.float32(0.0031308), a * np.float32(12.92),
                   np.float32(1.055) * a ** np.float32(1 / 2.4) - np.float32(0.055))
    return np.copysign(out, v).astype(np.float32)


def _check_pixels(pixels: np.ndarray, colorspace: str) -> np.ndarray:
    if colorspace not in COLORSPACES:
        raise ValueError(f"colorspace must be one of {COLORSPACES}, got {colorspace!r}")
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError(f"pixels must be a non-empty [H, W, 3 or 4] array, got shape {pixels.shape}")
    return pixels


def _display_referred(pixels: np.ndarray, colorspace: str) -> np.ndarray:
    """sRGB-encoded float32 copy of ``pixels``: linear colour is encoded, alpha never is."""
    pixels = _check_pixels(pixels, colorspace)
    if colorspace == "srgb":
        return pixels.astype(np.float32)  # always a copy: quantisation below works in place
    out = pixels.astype(np.float32)
    out[..., :3] = linear_to_srgb(out[..., :3])
    return out


def _quantise(values: np.ndarray, maximum: int, dtype: type) -> np.ndarray:
    """Round 0..1 float32 (modified in place; NaN -> 0) to integers 0..maximum."""
    np.nan_to_num(values, copy=False, nan=0.0)
    np.clip(values, 0.0, 1.0, out=values)
    values *= np.float32(maximum)
    values += np.float32(0.5)  # non-negative, so truncation after +0.5 rounds to nearest
    return values.astype(dtype)


#: Rows of float32 working copy per band when quantising (about 24 MB of a 8000-pixel-wide RGB frame): the whole
#: frame's copy would be 0.77 GB at 8000x8000 on top of the frame itself.
QUANTISE_BAND_VALUES = 6_000_000


def _quantised(pixels: np.ndarray, colorspace: str, maximum: int, dtype: type) -> np.ndarray:
    """:func:`_quantise` of :func:`_display_referred` a band of rows at a time (element-wise, so the same values)."""
    pixels = _check_pixels(pixels, colorspace)
    out = np.empty(pixels.shape, dtype=dtype)
    rows = max(1, QUANTISE_BAND_VALUES // (pixels.shape[1] * pixels.shape[2]))
    for start in range(0, pixels.shape[0], rows):
        out[start:start + rows] = _quantise(_display_referred(pixels[start:start + rows], colorspace), maximum, dtype)
    return out


def to_display_uint8(pixels: np.ndarray, colorspace: str) -> np.ndarray:
    """float32 ``[H, W, C]`` -> uint8 ``[H, W, C]`` for display: linear RGB gets the sRGB curve (alpha does not),
    then values are clipped to 0..1 and rounded to the nearest of 256 levels."""
    return _quantised(pixels, colorspace, 255, np.uint8)


def to_uint16(pixels: np.ndarray, colorspace: str) -> np.ndarray:
    """Like :func:`to_display_uint8` with 65536 levels: uint16 ``[H, W, C]`` for 16-bit PNG / TIFF."""
    return _quantised(pixels, colorspace, 65535, np.uint16)


# ----------------------------------------------------------------------------------------------------------------------
# Writing frames


def _write_encoded(path: Path, encoded: np.ndarray) -> None:
    try:
        encoded.tofile(path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the file ({exc.strerror or exc}). Check the folder exists, is "
                          "writable and the disk has space.") from None


def write_png(path: str | os.PathLike, pixels: np.ndarray, colorspace: str, bit_depth: int = 8,
              compress_level: int = 1) -> Path:
    """Write an RGB(A) PNG at exactly ``path``; linear pixels are sRGB-encoded first.

    Args:
        pixels: float32 ``[H, W, 3 or 4]``, straight alpha.
        colorspace: ``'srgb'`` or ``'linear'``.
        bit_depth: 8 or 16.
        compress_level: zlib level 0..9. The default 1, with zlib's run-length strategy, encodes a 1080p frame in
            about 90 ms on one core (level 6: about 500 ms) and gives files as small as level 3 on photographs.
    """
    path = Path(path)
    if bit_depth not in (8, 16):
        raise ValueError(f"PNG bit_depth must be 8 or 16, got {bit_depth}")
    if not 0 <= compress_level <= 9:
        raise ValueError(f"PNG compress_level must be 0..9, got {compress_level}")
    encoded = to_display_uint8(pixels, colorspace) if bit_depth == 8 else to_uint16(pixels, colorspace)
    bgr = cv2.cvtColor(encoded, cv2.COLOR_RGBA2BGRA if encoded.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, png = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, int(compress_level),
                                         cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
    if not ok:
        raise OutputError(f"{path}: the PNG encoder failed for an image of shape {encoded.shape}.")
    _write_encoded(path, png)
    return path


def write_jpeg(path: str | os.PathLike, pixels: np.ndarray, colorspace: str, quality: int = 95) -> Path:
    """Write an RGB JPEG at exactly ``path`` (Pillow, 4:2:0 chroma); linear pixels are sRGB-encoded first.

    JPEG has no alpha: RGBA pixels are composited over black (colour times alpha, in the pixels' own encoding: the
    premultiplication the renderer itself uses), so transparent areas come out black.
    """
    path = Path(path)
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {quality}")
    pixels = _check_pixels(pixels, colorspace)
    if pixels.shape[2] == 4:
        pixels = pixels[..., :3] * pixels[..., 3:]
    encoded = to_display_uint8(pixels, colorspace)
    try:
        Image.fromarray(encoded).save(path, format="JPEG", quality=int(quality))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the JPEG ({exc}). Check the folder is writable and the disk has "
                          "space.") from None
    return path


def write_exr_image(path: str | os.PathLike, pixels: np.ndarray, colorspace: str, half: bool = False,
                    compression: str = "piz") -> Path:
    """Write pixels as a scene-linear R,G,B(,A) OpenEXR at exactly ``path`` (32-bit float, or half if ``half``).

    sRGB pixels are linearised (the one gamma step); linear pixels are written as they are. With alpha, colour is
    premultiplied on disk as OpenEXR and Blender expect (:func:`read_image` undoes it). ``compression`` is lossless
    (see :data:`image_dynamics.io_exr.COMPRESSIONS`); PIZ is the fastest on photographic frames.
    """
    pixels = _check_pixels(pixels, colorspace)
    rgb = pixels[..., :3].astype(np.float32)
    if colorspace == "srgb":
        rgb = srgb_to_linear(rgb)
    channels = {}
    if pixels.shape[2] == 4:
        alpha = pixels[..., 3].astype(np.float32)
        rgb = rgb * alpha[..., None]
        channels["A"] = alpha
    channels.update(R=rgb[..., 0], G=rgb[..., 1], B=rgb[..., 2])
    return write_exr(path, channels, half=half, compression=compression)


#: Frame formats by name -> file extension.
FRAME_FORMATS = {"png": "png", "png16": "png", "jpeg": "jpg", "exr": "exr"}


def frame_extension(format: str) -> str:
    """File extension (no dot) of a frame format name (see :data:`FRAME_FORMATS`)."""
    if format not in FRAME_FORMATS:
        raise InputError(f"unknown frame format {format!r}; use one of {', '.join(FRAME_FORMATS)} "
                         "(png16 = 16-bit PNG, exr = linear float OpenEXR).")
    return FRAME_FORMATS[format]


def write_frame(path: str | os.PathLike, pixels: np.ndarray, colorspace: str, format: str) -> Path:
    """Write one frame at exactly ``path`` as ``'png'`` (8-bit), ``'png16'``, ``'jpeg'`` or ``'exr'`` (linear float)."""
    frame_extension(format)
    if format == "png":
        return write_png(path, pixels, colorspace, bit_depth=8)
    if format == "png16":
        return write_png(path, pixels, colorspace, bit_depth=16)
    if format == "jpeg":
        return write_jpeg(path, pixels, colorspace)
    return write_exr_image(path, pixels, colorspace)


# ----------------------------------------------------------------------------------------------------------------------
# Sequence names


def sequence_name(stem: str, index: int, ext: str) -> str:
    """File name of frame ``index`` (0-based; index 0 is t = 0) in Blender's numbering: ``stem_0001.ext`` first."""
    if index < 0:
        raise ValueError(f"frame index must be >= 0, got {index}")
    return f"{stem}_{index + 1:04d}.{ext.lstrip('.')}"


def sequence_pattern(stem: str, ext: str) -> str:
    """How a sequence's names look, for messages and docs: ``stem_####.ext``."""
    return f"{stem}_####.{ext.lstrip('.')}"
