"""Videos: streaming MP4 (H.264 through imageio-ffmpeg), GIF previews (Pillow), and reading frames back.

Writers take display-ready uint8 ``[H, W, 3]`` RGB frames one at a time and write to exactly the path they are given
(the caller stages it, see ``atomic.py``). Use :func:`image_dynamics.io.to_display_uint8` to get such frames.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

from .errors import InputError, OutputError

#: GIF delays are whole centiseconds, and browsers play delays under 2 cs as 10 cs: 50 fps is the fastest honest GIF.
GIF_MIN_DELAY_CS = 2
#: A GIF frame keeps the previous frame's palette unless a palette of its own would cut the squared error by more than
#: this factor (about 1.8 dB): static parts then keep exactly the same colours from frame to frame (no flicker).
GIF_PALETTE_SWITCH_RATIO = 1.5


def _check_frame(frame: np.ndarray, expected_hw: tuple[int, int] | None) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"video frames must be uint8 [H, W, 3] RGB, got {frame.dtype} {frame.shape}; "
                         "convert with image_dynamics.io.to_display_uint8 and drop alpha")
    if expected_hw is not None and frame.shape[:2] != expected_hw:
        first, this = f"{expected_hw[1]}x{expected_hw[0]}", f"{frame.shape[1]}x{frame.shape[0]}"
        raise ValueError(f"all frames of a video must have the same size (width x height); the first was {first}, "
                         f"this one is {this}")
    return frame


def _check_fps(fps: float) -> float:
    if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate must be a positive number of frames per second, got {fps!r}. Use e.g. --fps 30.")
    return float(fps)


def pad_to_even(frame: np.ndarray) -> np.ndarray:
    """Pad ``[H, W, C]`` to even height and width by repeating the last row / column (right and bottom edges only).

    H.264 in yuv420p stores colour at half resolution, so both sizes must be even. Repeating the edge, unlike a black
    border, keeps the colour of the last real row and column intact; nothing is resized or distorted, and the image's
    top-left corner stays at (0, 0). Returns ``frame`` itself when nothing needs padding.
    """
    pad_bottom, pad_right = frame.shape[0] % 2, frame.shape[1] % 2
    if not (pad_bottom or pad_right):
        return frame
    return np.pad(frame, ((0, pad_bottom), (0, pad_right), (0, 0)), mode="edge")


def _is_complete_mp4(path: Path) -> bool:
    """Whether ``path`` is an MP4 whose top-level boxes include the index (``moov``) ffmpeg writes when it finishes."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            offset = 0
            while offset + 8 <= size:
                fh.seek(offset)
                header = fh.read(16)
                box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
                if box_type == b"moov":
                    return True
                if box_size == 1:  # 64-bit size follows the type
                    box_size = int.from_bytes(header[8:16], "big")
                if box_size < 8:  # 0 = "to the end of the file", or a corrupt size
                    return False
                offset += box_size
    except OSError:
        return False
    return False


class VideoWriter:
    """Stream frames into an H.264 MP4 (libx264, yuv420p, BT.709, ``+faststart``) through an ffmpeg subprocess.

    Frames go straight to ffmpeg's pipe, so memory stays at about one frame whatever the video's length. Odd sizes are
    padded to even by repeating the last row / column (see :func:`pad_to_even`); :attr:`padding` records how much
    (``(right, bottom)`` in pixels) and :attr:`encoded_size` the size the video really has.

    Args:
        path: the ``.mp4`` file to write, exactly (overwritten if it exists).
        fps: frames per second.
        crf: x264 constant rate factor, 0 (lossless) to 51; 18 is visually near-lossless, +6 halves the size.
        preset: x264 speed preset (``ultrafast`` ... ``veryslow``); slower presets give smaller files.

    Use as a context manager, or call :meth:`close` when done::

        with VideoWriter(tmp_path, fps=30) as video:
            for frame in frames:
                video.write(frame)
    """

    def __init__(self, path: str | os.PathLike, fps: float, crf: int = 18, preset: str = "medium") -> None:
        if not 0 <= int(crf) <= 51:
            raise InputError(f"MP4 quality crf must be between 0 (lossless) and 51, got {crf}")
        self.path = Path(path)
        self.fps = _check_fps(fps)
        self.crf = int(crf)
        self.preset = preset
        self.frames_written = 0
        self.source_size: tuple[int, int] | None = None  # (width, height) of the frames given
        self.padding: tuple[int, int] = (0, 0)  # (right, bottom) pixels added to reach even sizes
        self._encoder = None
        self._closed = False

    @property
    def encoded_size(self) -> tuple[int, int] | None:
        """(width, height) of the video stream: the source size plus :attr:`padding`."""
        if self.source_size is None:
            return None
        return self.source_size[0] + self.padding[0], self.source_size[1] + self.padding[1]

    def _start(self, height: int, width: int) -> None:
        self.source_size = (width, height)
        self.padding = (width % 2, height % 2)
        # Convert RGB with the BT.709 matrix and tag the stream so players decode with the same one (ffmpeg's default
        # matrix is BT.601, which most players would decode as BT.709 for HD: a visible hue shift).
        colour = ("scale=out_color_matrix=bt709:out_range=tv,"
                  "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv")
        self._encoder = imageio_ffmpeg.write_frames(
            str(self.path), self.encoded_size, pix_fmt_in="rgb24", pix_fmt_out="yuv420p", fps=self.fps,
            quality=None, codec="libx264", macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-crf", str(self.crf), "-preset", self.preset, "-vf", colour, "-movflags", "+faststart",
                           "-f", "mp4"])  # MP4 whatever the (staging) file name ends with
        self._encoder.send(None)

    def write(self, frame: np.ndarray) -> None:
        """Append one uint8 ``[H, W, 3]`` RGB frame (same size as the first)."""
        if self._closed:
            raise ValueError(f"{self.path}: the video is already closed")
        expected = None if self.source_size is None else (self.source_size[1], self.source_size[0])
        frame = _check_frame(frame, expected)
        if self._encoder is None:
            self._start(*frame.shape[:2])
        try:
            self._encoder.send(np.ascontiguousarray(pad_to_even(frame)))
        except OSError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OutputError(f"{self.path}: ffmpeg stopped while writing frame {self.frames_written + 1} "
                              f"({first_line}). Check the disk has space and the folder is writable.") from None
        self.frames_written += 1

    append = write

    def close(self) -> None:
        """Finish the file (ffmpeg flushes and writes the index). Raises :class:`OutputError` if no video came out."""
        if self._closed:
            return
        self._closed = True
        if self._encoder is None:
            raise OutputError(f"{self.path}: no frames were given, so no video was written.")
        self._encoder.close()
        if not _is_complete_mp4(self.path):  # imageio-ffmpeg does not report ffmpeg's exit status
            raise OutputError(f"{self.path}: ffmpeg did not finish the video (see its messages above). "
                              "Check the disk has space and the folder is writable.")

    def abort(self) -> None:
        """Stop ffmpeg and delete the partial file; never raises (for error and cancel paths)."""
        self._closed = True
        if self._encoder is not None:
            with contextlib.suppress(Exception):
                self._encoder.close()
            self._encoder = None
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:  # keep the original error; nothing half-written stays behind
            self.abort()


def _mean_squared_error(paletted: Image.Image, original: Image.Image) -> float:
    diff = np.asarray(paletted.convert("RGB"), dtype=np.float32) - np.asarray(original, dtype=np.float32)
    return float(np.mean(diff * diff))


def gif_delays_ms(num_frames: int, fps: float) -> list[int]:
    """Per-frame GIF delays in ms (multiples of 10) whose running sum tracks ``i * 1000 / fps`` to the centisecond.

    GIF stores delays in whole centiseconds, so 30 fps (33.3 ms) becomes 30, 30, 40, ... ms instead of a constant 30 ms
    that would play 11 % fast. Delays are at least 20 ms: browsers slow shorter ones down to 100 ms.
    """
    ends = np.round(np.arange(1, num_frames + 1) * 100.0 / fps).astype(np.int64)
    delays_cs = np.diff(ends, prepend=0)
    return [int(cs) * 10 for cs in np.maximum(delays_cs, GIF_MIN_DELAY_CS)]


class GifWriter:
    """A looping GIF preview (loops forever), written by Pillow when closed.

    Frames are downscaled (area average) so their longer side is at most ``max_side`` pixels, then mapped to a
    256-colour palette: the previous frame's palette while it serves this frame nearly as well as one of its own
    would (:data:`GIF_PALETTE_SWITCH_RATIO`), so still areas keep exactly the same colours and do not flicker;
    otherwise the frame's own (fast octree) palette, which later frames then reuse. GIF needs all frames at the end, so
    the writer keeps each as a P-mode (one byte per pixel) image: about ``frames * width * height`` bytes after
    downscaling, e.g. 150 frames at 480x270 are 19 MB. Delays follow :func:`gif_delays_ms`. Pillow merges identical
    consecutive frames into one longer frame.

    Args:
        path: the ``.gif`` file to write, exactly.
        fps: frames per second (GIF cannot play faster than 50).
        max_side: longest side of the GIF in pixels; ``None`` keeps the frames' size.
        colors: palette size, 2 to 256.
        dither: Floyd-Steinberg dithering (smoother gradients, but the noise pattern crawls between frames and the
            file grows); off by default.
    """

    def __init__(self, path: str | os.PathLike, fps: float, max_side: int | None = 480, colors: int = 256,
                 dither: bool = False) -> None:
        if max_side is not None and max_side < 1:
            raise InputError(f"GIF max_side must be a positive number of pixels, got {max_side}")
        if not 2 <= colors <= 256:
            raise InputError(f"GIF colors must be between 2 and 256, got {colors}")
        self.path = Path(path)
        self.fps = _check_fps(fps)
        self.max_side = max_side
        self.colors = colors
        self.dither = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
        self.frames: list[Image.Image] = []
        self._palette: Image.Image | None = None  # the palette frames are mapped to while it serves them well
        self._source_hw: tuple[int, int] | None = None
        self._closed = False

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the GIF for frames of the given size: scaled down to ``max_side``, never up."""
        if self.max_side is None or max(width, height) <= self.max_side:
            return width, height
        scale = self.max_side / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def write(self, frame: np.ndarray) -> None:
        """Append one uint8 ``[H, W, 3]`` RGB frame (same size as the first)."""
        if self._closed:
            raise ValueError(f"{self.path}: the GIF is already closed")
        frame = _check_frame(frame, self._source_hw)
        self._source_hw = frame.shape[:2]
        size = self.output_size(frame.shape[1], frame.shape[0])
        if size != (frame.shape[1], frame.shape[0]):
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)  # area average: no aliasing when shrinking
        image = Image.fromarray(np.ascontiguousarray(frame))
        # Every frame goes through the same palette mapping (not the quantiser's own assignment), so a still pixel
        # maps to the same entry in every frame that shares a palette. Fast octree: ~100x faster than median cut at
        # 480x270 and, after mapping, as close to the frame.
        own_palette = image.quantize(colors=self.colors, method=Image.Quantize.FASTOCTREE)
        own = image.quantize(palette=own_palette, dither=self.dither)
        paletted = own
        if self._palette is not None:
            shared = image.quantize(palette=self._palette, dither=self.dither)
            if _mean_squared_error(shared, image) <= GIF_PALETTE_SWITCH_RATIO * _mean_squared_error(own, image):
                paletted = shared
        self._palette = paletted
        self.frames.append(paletted)

    append = write

    def close(self) -> None:
        """Write the GIF (loop forever). Raises :class:`OutputError` if no frames were given or writing fails."""
        if self._closed:
            return
        self._closed = True
        if not self.frames:
            raise OutputError(f"{self.path}: no frames were given, so no GIF was written.")
        first, rest = self.frames[0], self.frames[1:]
        try:
            first.save(self.path, format="GIF", save_all=True, append_images=rest, loop=0,
                       duration=gif_delays_ms(len(self.frames), self.fps))
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write the GIF ({exc}). Check the folder is writable and the disk "
                              "has space.") from None
        finally:
            self.frames = []

    def abort(self) -> None:
        """Drop the frames without writing anything (for error and cancel paths)."""
        self._closed = True
        self.frames = []

    def __enter__(self) -> GifWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ----------------------------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a video's first video stream (fps and duration are 0 when unknown)."""

    width: int
    height: int
    fps: float
    duration_s: float
    codec: str


def _check_video_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: video not found. Check the path.")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file. Give the path of a video.")


def _open_video(path: Path) -> tuple[Iterator[bytes], dict]:
    _check_video_path(path)
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration, ValueError, IndexError) as exc:
        reader.close()
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: ffmpeg cannot read this as a video ({detail}). It may be corrupt, truncated or "
                         "another kind of file.") from None
    return reader, meta


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, duration and codec of a video, read from its header (no frames are decoded)."""
    path = Path(path)
    reader, meta = _open_video(path)
    reader.close()
    width, height = meta["size"]
    return VideoInfo(int(width), int(height), float(meta.get("fps") or 0.0), float(meta.get("duration") or 0.0),
                     str(meta.get("codec", "")))


def video_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Decode a video (any format ffmpeg reads) into uint8 ``[H, W, 3]`` RGB frames, one at a time.

    The file is checked and ffmpeg started when this is called (so a bad path raises :class:`InputError` here, not at
    the first ``next``); the returned iterator stops ffmpeg when exhausted, closed or garbage-collected.
    """
    path = Path(path)
    reader, meta = _open_video(path)
    width, height = meta["size"]

    def frames() -> Iterator[np.ndarray]:
        try:
            for raw in reader:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).copy()
        except RuntimeError as exc:
            raise InputError(f"{path}: the video ends in the middle of a frame ({exc}); it is probably "
                             "truncated.") from None
        finally:
            reader.close()

    return frames()
