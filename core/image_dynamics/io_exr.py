"""OpenEXR files: named float channels, header attributes, and the displacement maps written for Blender.

Channels are float32 ``[H, W]`` arrays keyed by channel name. Displacement fields in memory follow the engine convention
(float32 ``[2, H, W]``, component 0 = x right, 1 = y down, pixels); :func:`write_displacement_exr` is the one function
in the project that turns y around for Blender (docs/conventions.md), and :func:`read_displacement_exr` undoes it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, OutputError


def _openexr():
    """The OpenEXR module, imported when a file is read or written: training code imports this package on machines
    that lack it (a lent GPU machine's image), and only EXR files need it."""
    import OpenEXR

    return OpenEXR

#: Header attributes every EXR file has (or that OpenEXR manages itself); :func:`read_exr` leaves them out.
STANDARD_ATTRIBUTES = frozenset({
    "channels", "compression", "dataWindow", "displayWindow", "lineOrder", "pixelAspectRatio", "screenWindowCenter",
    "screenWindowWidth", "type", "tiles", "name", "version", "chunkCount", "view", "multiView",
})

#: Prefix of the header attributes this project writes into displacement files.
ATTRIBUTE_PREFIX = "image_dynamics."
DISPLACEMENT_FORMAT_VERSION = 1
#: What each kind of displacement file holds (also written into the file header).
DISPLACEMENT_KINDS = {
    "forward": "forward displacement d_t at each source pixel (where that pixel moves); "
               "for a Displace modifier on a UV-mapped plane",
    "compositor": "displacement d_t carried to where each pixel lands, v(p + d(p)) = d(p); for the compositor "
                  "Displace node, which computes out(q) = in(q - v(q))",
}


def _check_channels(channels: dict[str, np.ndarray]) -> tuple[int, int]:
    if not channels:
        raise ValueError("an EXR file needs at least one channel")
    shapes = {name: np.shape(data) for name, data in channels.items()}
    first = next(iter(shapes.values()))
    if len(first) != 2 or first[0] < 1 or first[1] < 1:
        raise ValueError(f"EXR channels must be non-empty 2-D arrays [H, W], got shapes {shapes}")
    if any(shape != first for shape in shapes.values()):
        raise ValueError(f"all EXR channels must have the same shape, got {shapes}")
    return first


#: Lossless compressions every OpenEXR 2+ reader (Blender included) decodes: name -> the OpenEXR constant's name.
COMPRESSIONS = {"none": "NO_COMPRESSION", "rle": "RLE_COMPRESSION", "zips": "ZIPS_COMPRESSION",
                "zip": "ZIP_COMPRESSION", "piz": "PIZ_COMPRESSION"}


def write_exr(path: str | os.PathLike, channels: dict[str, np.ndarray], attributes: dict[str, Any] | None = None,
              half: bool = False, compression: str = "zip") -> Path:
    """Write named channels to an OpenEXR file at exactly ``path`` (the caller stages it: see ``atomic.py``).

    Args:
        path: file to write (overwritten if it exists).
        channels: channel name -> ``[H, W]`` array (any real dtype; stored as float32, or float16 if ``half``).
        attributes: extra header attributes; values are stored as strings (numbers are written with ``str``) because
            some readers keep only string attributes (Blender copies those into the image's metadata). Names of
            standard attributes are refused.
        half: store 16-bit half floats (smaller; about 3 significant digits, max 65504) instead of 32-bit floats.
        compression: one of :data:`COMPRESSIONS`, all lossless. ``'zip'`` suits smooth data (displacement fields);
            ``'piz'`` is 2-3x faster and smaller on photographic colour (1080p RGB float: about 90 ms vs 230 ms).

    The file is a single-part scanline image.
    """
    path = Path(path)
    _check_channels(channels)
    if compression not in COMPRESSIONS:
        raise ValueError(f"EXR compression must be one of {', '.join(COMPRESSIONS)}, got {compression!r}")
    dtype = np.float16 if half else np.float32
    data = {name: np.ascontiguousarray(values, dtype=dtype) for name, values in channels.items()}
    openexr = _openexr()
    header: dict[str, Any] = {"compression": getattr(openexr, COMPRESSIONS[compression]),
                              "type": openexr.scanlineimage}
    for key, value in (attributes or {}).items():
        if key in STANDARD_ATTRIBUTES:
            raise ValueError(f"EXR attribute name {key!r} is reserved by OpenEXR; choose another name")
        header[str(key)] = value if isinstance(value, str) else str(value)
    try:
        with openexr.File(header, data) as exr:
            exr.write(str(path))
    except (RuntimeError, OSError) as exc:
        raise OutputError(f"{path}: cannot write the EXR file ({exc}). Check the folder exists, is writable and the "
                          "disk has space.") from None
    return path


def _open_exr(path: Path) -> Any:
    """Open an EXR file reading every channel as its own 2-D array; raise :class:`InputError` when it cannot."""
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the path.")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an EXR file. Give the path of a file.")
    try:
        return _openexr().File(str(path), separate_channels=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable OpenEXR file ({exc}). It may be truncated, corrupt or another kind "
                         "of file; re-export it.") from None


def _custom_attributes(header: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in header.items() if key not in STANDARD_ATTRIBUTES}


def read_exr_with_types(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, int]]:
    """Like :func:`read_exr`, plus each channel's stored bits per value (16 for half, 32 for float and uint)."""
    path = Path(path)
    channels, bits = {}, {}
    try:
        with _open_exr(path) as exr:
            header = dict(exr.header())  # a view that the file empties when it closes
            for name, channel in exr.channels().items():
                if channel.xSampling != 1 or channel.ySampling != 1:
                    raise InputError(f"{path}: channel {name!r} is subsampled (a luminance/chroma EXR), which is not "
                                     "supported. Re-save the file as full-resolution RGB.")
                stored = channel.pixels
                bits[name] = 16 if stored.dtype == np.float16 else 32
                channels[name] = np.array(stored, dtype=np.float32, order="C", copy=True)  # outlive the file
    except InputError:
        raise
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the EXR pixel data ({exc}). The file may be truncated or corrupt; "
                         "re-export it.") from None
    if not channels:
        raise InputError(f"{path}: the EXR file has no channels. Re-export it with its colour channels.")
    shape = next(iter(channels.values())).shape
    if shape[0] < 1 or shape[1] < 1:
        raise InputError(f"{path}: the EXR image is empty ({shape[1]}x{shape[0]} pixels).")
    return channels, _custom_attributes(header), bits


def read_exr(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read every channel of a single-part OpenEXR file.

    Returns:
        ``(channels, attributes)``: channel name -> float32 ``[H, W]`` (half and uint channels are widened to float32),
        and the header attributes other than the standard ones (:data:`STANDARD_ATTRIBUTES`), as OpenEXR returns them
        (strings stay strings).

    Raises:
        InputError: the file is missing, a folder, corrupt, truncated or not an EXR file.
    """
    channels, attributes, _ = read_exr_with_types(path)
    return channels, attributes


# ----------------------------------------------------------------------------------------------------------------------
# Displacement maps for Blender


def check_displacement_kind(kind: str) -> str:
    """Return ``kind`` if it names a displacement map this project writes, else raise :class:`InputError`."""
    if kind not in DISPLACEMENT_KINDS:
        raise InputError(f"unknown displacement map kind {kind!r}; use one of "
                         f"{', '.join(map(repr, DISPLACEMENT_KINDS))} ('forward' for a Displace modifier, 'compositor' "
                         "for the compositor Displace node).")
    return kind


def write_displacement_exr(path: str | os.PathLike, disp: np.ndarray, kind: str, fps: float | None = None,
                           frame: int | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write one displacement field as a full-float EXR for Blender, at exactly ``path``.

    This is the only place where y turns around: in memory y points down (engine convention), in the file y points
    up (Blender's image rows and UV v axis run bottom-up).

    Args:
        disp: float ``[2, H, W]`` displacement in pixels, engine convention (component 0 = x right, 1 = y down).
        kind: ``'forward'`` (``d_t`` at each source pixel: for a Displace modifier on a UV-mapped plane) or
            ``'compositor'`` (``d_t`` carried to where each pixel lands: for the compositor Displace node, which
            computes ``out(q) = in(q - v(q))``). See :data:`DISPLACEMENT_KINDS`.
        fps, frame: optional frame rate and frame number, recorded in the header.
        extra: more header attributes, stored as ``image_dynamics.<key>`` strings.

    File layout: channels ``R`` = x (pixels, right), ``G`` = y (pixels, **up**: the engine's y negated), ``B`` = 0,
    ``A`` = 1, 32-bit float; attributes ``image_dynamics.map`` (the kind), ``.map_meaning``, ``.units`` = ``pixels``,
    ``.x_direction`` = ``right``, ``.y_direction`` = ``up``, ``.channels``, ``.width``, ``.height``,
    ``.format_version``, and ``.fps`` / ``.frame`` when given.
    """
    check_displacement_kind(kind)
    disp = np.asarray(disp)
    if disp.ndim != 3 or disp.shape[0] != 2 or disp.shape[1] < 1 or disp.shape[2] < 1:
        raise ValueError(f"displacement must have shape [2, H, W] (x, y components), got {disp.shape}")
    height, width = disp.shape[1:]
    attributes: dict[str, Any] = {
        "map": kind,
        "map_meaning": DISPLACEMENT_KINDS[kind],
        "units": "pixels",
        "x_direction": "right",
        "y_direction": "up",
        "channels": "R = x (pixels, right), G = y (pixels, up), B = 0, A = 1",
        "width": width,
        "height": height,
        "format_version": DISPLACEMENT_FORMAT_VERSION,
    }
    if fps is not None:
        attributes["fps"] = repr(float(fps))
    if frame is not None:
        attributes["frame"] = int(frame)
    for key, value in (extra or {}).items():
        if key in attributes:
            raise ValueError(f"extra attribute {key!r} would replace one this function writes; choose another name")
        attributes[key] = value
    x = disp[0].astype(np.float32)
    channels = {"R": x, "G": -disp[1].astype(np.float32), "B": np.zeros_like(x), "A": np.ones_like(x)}
    return write_exr(path, channels, {ATTRIBUTE_PREFIX + k: v for k, v in attributes.items()}, half=False)


def read_displacement_exr(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a file written by :func:`write_displacement_exr`.

    Returns:
        ``(disp, attributes)``: float32 ``[2, H, W]`` in the engine convention (x right, y **down**, pixels), and the
        ``image_dynamics.*`` header attributes with the prefix removed (``attributes['map']`` is the kind).

    Raises:
        InputError: not an EXR file, or not a displacement file this project wrote (missing channels or attributes).
    """
    path = Path(path)
    channels, header = read_exr(path)
    attributes = {key[len(ATTRIBUTE_PREFIX):]: value for key, value in header.items()
                  if key.startswith(ATTRIBUTE_PREFIX)}
    kind = attributes.get("map")
    if kind not in DISPLACEMENT_KINDS:
        raise InputError(f"{path}: not an image-dynamics displacement file (header attribute "
                         f"'{ATTRIBUTE_PREFIX}map' is {kind!r}, expected one of {', '.join(DISPLACEMENT_KINDS)}). "
                         "Write displacement maps with image_dynamics.io.write_displacement_exr.")
    if "R" not in channels or "G" not in channels:
        raise InputError(f"{path}: displacement file lacks its R (x) and G (y) channels; it has "
                         f"{', '.join(sorted(channels))}. Re-export it.")
    y_direction = attributes.get("y_direction", "up")
    if y_direction not in ("up", "down"):
        raise InputError(f"{path}: header attribute '{ATTRIBUTE_PREFIX}y_direction' is {y_direction!r}; "
                         "expected 'up' or 'down'. Re-export the file.")
    y = -channels["G"] if y_direction == "up" else channels["G"]
    return np.stack([channels["R"], y]).astype(np.float32), attributes
