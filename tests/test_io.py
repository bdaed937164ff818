"""Image, EXR, displacement-map and video files: exact round trips, colour encoding, and every kind of bad file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageOps

from image_dynamics import io, io_video
from image_dynamics.errors import InputError, OutputError


def gradient_rgb(height: int = 12, width: int = 17) -> np.ndarray:
    """uint8 [H, W, 3] with a different ramp in each channel (so channel order and orientation errors show)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x * 7 + y * 13) % 256],
                    axis=-1).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")


# ----------------------------------------------------------------------------------------------------------------------
# 8- and 16-bit images


@pytest.mark.parametrize("channels", [3, 4])
def test_png8_round_trip_is_exact(tmp_path, channels):
    rng = np.random.default_rng(1)
    levels = rng.integers(0, 256, size=(9, 13, channels))
    path = io.write_png(tmp_path / "a.png", levels.astype(np.float32) / 255, "srgb")
    image = io.read_image(path)
    assert (image.colorspace, image.bit_depth, image.has_alpha) == ("srgb", 8, channels == 4)
    assert image.pixels.dtype == np.float32 and (image.height, image.width) == (9, 13)
    np.testing.assert_array_equal(np.rint(image.pixels * 255), levels)
    # written in RGB order: an independent reader agrees
    np.testing.assert_array_equal(np.asarray(Image.open(path)), levels)


@pytest.mark.parametrize("suffix", [".bmp", ".tif", ".webp"])
def test_other_8_bit_formats_read_exactly(tmp_path, suffix):
    rgb = gradient_rgb()
    path = tmp_path / f"a{suffix}"
    Image.fromarray(rgb).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    image = io.read_image(path)
    assert (image.colorspace, image.bit_depth, image.has_alpha) == ("srgb", 8, False)
    np.testing.assert_array_equal(np.rint(image.pixels * 255), rgb)


def test_float_tiff_and_radiance_hdr_are_linear(tmp_path):
    rgb = np.random.default_rng(2).uniform(0.01, 20, size=(6, 9, 3)).astype(np.float32)
    cv2.imwrite(str(tmp_path / "f.tif"), rgb[..., ::-1], [cv2.IMWRITE_TIFF_COMPRESSION, 1])  # default is lossy LogLuv
    cv2.imwrite(str(tmp_path / "f.hdr"), rgb[..., ::-1])
    tiff = io.read_image(tmp_path / "f.tif")
    assert (tiff.colorspace, tiff.bit_depth) == ("linear", 32)
    np.testing.assert_array_equal(tiff.pixels, rgb)
    hdr = io.read_image(tmp_path / "f.hdr")
    assert hdr.colorspace == "linear"
    # RGBE: an 8-bit mantissa per channel under the pixel's largest channel's exponent
    assert np.all(np.abs(hdr.pixels - rgb) <= rgb.max(axis=2, keepdims=True) / 100)


def test_png16_keeps_single_16_bit_steps(tmp_path):
    values = np.arange(3 * 5 * 3, dtype=np.uint16).reshape(3, 5, 3) + 30000  # neighbours differ by 1/65535
    values[0, 0] = (65535, 0, 1)
    path = io.write_png(tmp_path / "a16.png", values.astype(np.float32) / 65535, "srgb", bit_depth=16)
    image = io.read_image(path)
    assert (image.bit_depth, image.colorspace, image.has_alpha) == (16, "srgb", False)
    np.testing.assert_array_equal(np.rint(image.pixels * 65535).astype(np.uint16), values)
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1], values)  # RGB order on disk


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_rgba_from_another_writer_keeps_precision_and_channel_order(tmp_path, suffix):
    rgba = np.zeros((4, 6, 4), dtype=np.uint16)
    rgba[..., 0] = 65535  # red
    rgba[..., 1] = np.arange(6) + 1000
    rgba[..., 2] = 7
    rgba[..., 3] = 40000
    path = tmp_path / f"rgba16{suffix}"
    cv2.imwrite(str(path), rgba[..., [2, 1, 0, 3]])  # OpenCV writes BGRA
    image = io.read_image(path)
    assert (image.bit_depth, image.has_alpha) == (16, True)
    np.testing.assert_array_equal(np.rint(image.pixels * 65535).astype(np.uint16), rgba)


def test_grey_images_become_rgb(tmp_path):
    grey = gradient_rgb()[..., 0]
    Image.fromarray(grey).save(tmp_path / "l.png")
    Image.fromarray(np.dstack([grey, 255 - grey]), "LA").save(tmp_path / "la.png")
    grey16 = (np.arange(12 * 5, dtype=np.uint16).reshape(12, 5) * 1000 + 1)
    Image.fromarray(grey16).save(tmp_path / "i16.png")  # Pillow mode I;16

    l_img = io.read_image(tmp_path / "l.png")
    assert (l_img.pixels.shape[2], l_img.has_alpha, l_img.bit_depth) == (3, False, 8)
    np.testing.assert_array_equal(np.rint(l_img.pixels * 255), np.repeat(grey[..., None], 3, axis=2))

    la = io.read_image(tmp_path / "la.png")
    assert la.has_alpha and la.pixels.shape[2] == 4
    np.testing.assert_array_equal(np.rint(la.pixels[..., 3] * 255), 255 - grey)
    np.testing.assert_array_equal(np.rint(la.pixels[..., 1] * 255), grey)

    i16 = io.read_image(tmp_path / "i16.png")
    assert i16.bit_depth == 16 and i16.pixels.shape == (12, 5, 3)
    np.testing.assert_array_equal(np.rint(i16.pixels[..., 2] * 65535), grey16)


def test_palette_with_transparency_gives_rgba(tmp_path):
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    image.save(tmp_path / "p.png", transparency=1)  # index 1 (green) is fully transparent
    loaded = io.read_image(tmp_path / "p.png")
    assert loaded.has_alpha and loaded.bit_depth == 8
    np.testing.assert_array_equal(loaded.pixels[..., 3], (indices != 1).astype(np.float32))
    np.testing.assert_array_equal(loaded.pixels[0, 0], [1, 0, 0, 1])
    np.testing.assert_array_equal(loaded.pixels[0, 2], [0, 0, 1, 1])


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    cmyk = np.zeros((16, 32, 4), dtype=np.uint8)
    cmyk[:, :16, 0] = 255  # cyan ink on the left, nothing (white) on the right
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "c.jpg", quality=98)
    image = io.read_image(tmp_path / "c.jpg")
    assert image.pixels.shape == (16, 32, 3) and not image.has_alpha
    np.testing.assert_allclose(image.pixels[8, 4], [0, 1, 1], atol=0.03)
    np.testing.assert_allclose(image.pixels[8, 28], [1, 1, 1], atol=0.03)


def make_oriented_jpeg(path: Path, orientation: int) -> np.ndarray:
    stored = np.zeros((16, 24, 3), dtype=np.uint8)
    stored[:8, :8] = (255, 0, 0)  # a red block in the stored top-left corner
    stored[8:, 16:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    return stored


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.jpg"
    make_oriented_jpeg(path, orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    np.testing.assert_array_equal(np.rint(io.read_image(path).pixels * 255), expected)


def test_exif_orientation_6_turns_the_photo_clockwise(tmp_path):
    make_oriented_jpeg(tmp_path / "o6.jpg", 6)
    pixels = io.read_image(tmp_path / "o6.jpg").pixels
    assert pixels.shape == (24, 16, 3)  # portrait
    np.testing.assert_allclose(pixels[2, 13], [1, 0, 0], atol=0.05)  # stored top-left is now top-right
    np.testing.assert_allclose(pixels[21, 2], [0, 0, 1], atol=0.05)  # stored bottom-right is now bottom-left


# ----------------------------------------------------------------------------------------------------------------------
# Bad files


def assert_input_error(path: Path, *words: str) -> None:
    with pytest.raises(InputError) as info:
        io.read_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_missing_file_and_folder_are_input_errors(tmp_path):
    assert_input_error(tmp_path / "nope.png", "not found")
    assert_input_error(tmp_path, "folder")
    (tmp_path / "empty.png").write_bytes(b"")
    assert_input_error(tmp_path / "empty.png", "empty")


def test_zero_size_image_is_an_input_error(tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 0, 5, 8, 2, 0, 0, 0)  # width 0, height 5, 8-bit RGB
    path = tmp_path / "zero.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))
    assert_input_error(path, "cannot read")


def test_random_bytes_are_an_input_error(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(0).bytes(400))
    assert_input_error(path, "cannot read")


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_truncated_png_is_an_input_error(tmp_path, bit_depth):
    full = io.write_png(tmp_path / "full.png", np.random.default_rng(0).random((40, 40, 3)), "srgb", bit_depth)
    data = full.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    assert_input_error(cut, "truncated")


def test_truncated_exr_and_unsupported_format_are_input_errors(tmp_path):
    full = io.write_exr_image(tmp_path / "full.exr", np.random.default_rng(0).random((30, 30, 3)), "linear")
    cut = tmp_path / "cut.exr"
    cut.write_bytes(full.read_bytes()[:200])
    assert_input_error(cut, "EXR")
    Image.fromarray(gradient_rgb()).save(tmp_path / "anim.gif")
    assert_input_error(tmp_path / "anim.gif", "GIF", "PNG")


# ----------------------------------------------------------------------------------------------------------------------
# Colour encoding


def test_srgb_and_linear_invert_each_other():
    values = np.linspace(-2, 4, 6001, dtype=np.float32)
    np.testing.assert_allclose(io.linear_to_srgb(io.srgb_to_linear(values)), values, atol=2e-6, rtol=2e-6)
    np.testing.assert_allclose(io.srgb_to_linear(io.linear_to_srgb(values)), values, atol=2e-6, rtol=2e-6)
    # reference points of IEC 61966-2-1
    np.testing.assert_allclose(io.srgb_to_linear(np.array([0, 0.04045, 0.5, 1])), [0, 0.04045 / 12.92, 0.21404, 1],
                               atol=2e-5)
    np.testing.assert_allclose(io.linear_to_srgb(np.array([0.0031308, 0.18])), [0.04045, 0.46135], atol=2e-5)


def test_to_display_uint8_rounds_and_encodes_colour_not_alpha():
    levels = np.arange(256, dtype=np.float32)
    srgb = np.stack([levels / 255] * 3, axis=-1)[None]
    np.testing.assert_array_equal(io.to_display_uint8(srgb, "srgb")[0, :, 0], np.arange(256))
    edge = np.array([[[0.5 / 255 - 1e-4, 0.5 / 255 + 1e-4, -1, 2]]], dtype=np.float32)  # [1, 1, 4]
    np.testing.assert_array_equal(io.to_display_uint8(edge, "srgb"), [[[0, 1, 0, 255]]])
    linear = np.array([[[0.18, 0.5, np.nan, 0.18]]], dtype=np.float32)
    np.testing.assert_array_equal(io.to_display_uint8(linear, "linear"), [[[118, 188, 0, 46]]])  # alpha 0.18 -> 46
    np.testing.assert_array_equal(io.to_uint16(np.full((1, 1, 3), 1 / 65535, np.float32), "srgb"), [[[1, 1, 1]]])


def test_write_png_encodes_linear_pixels_once(tmp_path):
    linear = np.full((2, 3, 3), 0.18, dtype=np.float32)
    io.write_png(tmp_path / "l.png", linear, "linear")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "l.png")), 118)


def test_jpeg_composites_alpha_over_black(tmp_path):
    pixels = np.zeros((16, 16, 4), dtype=np.float32)
    pixels[..., :3] = (0.8, 0.6, 0.4)
    pixels[:, 8:, 3] = 1.0  # left half transparent, right half opaque
    io.write_jpeg(tmp_path / "a.jpg", pixels, "srgb")
    back = io.read_image(tmp_path / "a.jpg")
    assert back.pixels.shape == (16, 16, 3)
    np.testing.assert_allclose(back.pixels[8, 2], 0, atol=0.02)
    np.testing.assert_allclose(back.pixels[8, 13], (0.8, 0.6, 0.4), atol=0.02)


def test_read_grayscale_picks_grey_luma_or_alpha(tmp_path):
    grey = gradient_rgb()[..., 0]
    Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(io.read_grayscale(tmp_path / "g.png"), grey.astype(np.float32) / 255)

    colour = gradient_rgb()
    Image.fromarray(colour).save(tmp_path / "c.png")
    luma = (colour.astype(np.float32) / 255) @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    np.testing.assert_allclose(io.read_grayscale(tmp_path / "c.png"), luma, atol=1e-6)

    painted = np.zeros(grey.shape + (4,), dtype=np.uint8)  # black paint whose alpha is the mask
    painted[..., 3] = grey
    Image.fromarray(painted, "RGBA").save(tmp_path / "a.png")
    mask = io.read_grayscale(tmp_path / "a.png")
    assert mask.dtype == np.float32 and mask.shape == grey.shape
    np.testing.assert_array_equal(mask, grey.astype(np.float32) / 255)


# ----------------------------------------------------------------------------------------------------------------------
# OpenEXR


def test_exr_image_keeps_values_above_one_and_negative(tmp_path):
    rng = np.random.default_rng(3)
    pixels = rng.normal(0, 4, size=(7, 11, 3)).astype(np.float32)
    pixels[0, 0] = (1e4, -3.5, 0.0)
    image = io.read_image(io.write_exr_image(tmp_path / "f.exr", pixels, "linear"))
    assert (image.colorspace, image.bit_depth, image.has_alpha) == ("linear", 32, False)
    np.testing.assert_array_equal(image.pixels, pixels)

    half = io.read_image(io.write_exr_image(tmp_path / "h.exr", pixels, "linear", half=True))
    assert half.bit_depth == 16
    np.testing.assert_array_equal(half.pixels, pixels.astype(np.float16).astype(np.float32))


def test_exr_image_linearises_srgb_and_premultiplies_alpha_on_disk(tmp_path):
    pixels = np.zeros((2, 2, 4), dtype=np.float32)
    pixels[..., :3] = 0.5
    pixels[..., 3] = [[1.0, 0.5], [0.25, 0.0]]
    path = io.write_exr_image(tmp_path / "a.exr", pixels, "srgb")
    raw, _ = io.read_exr(path)
    lin = io.srgb_to_linear(np.float32(0.5))
    np.testing.assert_allclose(raw["R"], lin * pixels[..., 3], rtol=1e-6)  # premultiplied, linear
    np.testing.assert_array_equal(raw["A"], pixels[..., 3])
    image = io.read_image(path)
    assert image.has_alpha and image.colorspace == "linear"
    np.testing.assert_allclose(image.pixels[0, :, :3], lin, rtol=1e-6)  # straight again where alpha > 0
    np.testing.assert_allclose(image.pixels[1, 0, :3], lin, rtol=1e-6)


def test_exr_with_luminance_only_and_blender_layers(tmp_path):
    y = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
    io.write_exr(tmp_path / "y.exr", {"Y": y})
    np.testing.assert_array_equal(io.read_image(tmp_path / "y.exr").pixels, np.repeat(y[..., None], 3, axis=2))
    layers = {f"ViewLayer.Combined.{c}": y * (i + 1) for i, c in enumerate("RGBA")}
    layers["ViewLayer.Depth.Z"] = y
    io.write_exr(tmp_path / "layers.exr", layers, half=True)
    image = io.read_image(tmp_path / "layers.exr")
    assert image.has_alpha and image.bit_depth == 16
    covered = y > 0
    np.testing.assert_allclose(image.pixels[..., 1][covered], 0.5, rtol=1e-3)  # G / A = 2y / 4y


def test_exr_channels_and_attributes_round_trip(tmp_path):
    channels = {"u": np.array([[1.5, -2.0]], np.float32), "v": np.array([[3e38, 0.0]], np.float32)}
    io.write_exr(tmp_path / "c.exr", channels, {"note": "hello", "count": 3})
    back, attributes = io.read_exr(tmp_path / "c.exr")
    assert set(back) == {"u", "v"} and all(back[k].dtype == np.float32 for k in back)
    np.testing.assert_array_equal(back["v"], channels["v"])
    assert attributes == {"note": "hello", "count": "3"}
    with pytest.raises(ValueError, match="same shape"):
        io.write_exr(tmp_path / "bad.exr", {"a": np.zeros((2, 2)), "b": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="reserved"):
        io.write_exr(tmp_path / "bad.exr", channels, {"compression": "none"})


def asymmetric_field(height: int = 5, width: int = 8) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([0.25 * x - 1.0, 0.5 * y + 0.125 * x + 2.0])  # [2, H, W], x right, y down


@pytest.mark.parametrize("kind", ["forward", "compositor"])
def test_displacement_exr_flips_y_for_blender_and_back(tmp_path, kind):
    disp = asymmetric_field()
    path = io.write_displacement_exr(tmp_path / "d.exr", disp, kind, fps=24.0, frame=7, extra={"source": "x.png"})
    raw, header = io.read_exr(path)
    np.testing.assert_array_equal(raw["R"], disp[0])
    np.testing.assert_array_equal(raw["G"], -disp[1])  # y up in the file
    np.testing.assert_array_equal(raw["B"], 0)
    np.testing.assert_array_equal(raw["A"], 1)
    assert header["image_dynamics.map"] == kind and header["image_dynamics.y_direction"] == "up"

    back, attributes = io.read_displacement_exr(path)
    assert back.dtype == np.float32 and back.shape == (2, 5, 8)
    np.testing.assert_array_equal(back, disp)
    assert attributes["map"] == kind and attributes["units"] == "pixels"
    assert (attributes["width"], attributes["height"]) == ("8", "5")
    assert (attributes["fps"], attributes["frame"], attributes["source"]) == ("24.0", "7", "x.png")


def test_displacement_kind_and_file_are_validated(tmp_path):
    with pytest.raises(InputError, match="backward"):
        io.write_displacement_exr(tmp_path / "d.exr", asymmetric_field(), "backward")
    io.write_exr(tmp_path / "plain.exr", {"R": np.zeros((2, 2)), "G": np.zeros((2, 2))})
    with pytest.raises(InputError, match="not an image-dynamics displacement file"):
        io.read_displacement_exr(tmp_path / "plain.exr")


# ----------------------------------------------------------------------------------------------------------------------
# Frames and sequences


def test_write_frame_dispatches_by_format(tmp_path):
    pixels = gradient_rgb().astype(np.float32) / 255
    depths = {}
    for fmt in io.FRAME_FORMATS:
        path = io.write_frame(tmp_path / f"f.{fmt}.{io.frame_extension(fmt)}", pixels, "srgb", fmt)
        depths[fmt] = (io.read_image(path).bit_depth, io.read_image(path).colorspace)
    assert depths == {"png": (8, "srgb"), "png16": (16, "srgb"), "jpeg": (8, "srgb"), "exr": (32, "linear")}
    np.testing.assert_allclose(io.read_image(tmp_path / "f.exr.exr").pixels, io.srgb_to_linear(pixels), rtol=1e-6)
    with pytest.raises(InputError, match="png16"):
        io.write_frame(tmp_path / "x.tga", pixels, "srgb", "tga")


def test_sequence_names_follow_blender_numbering():
    assert io.sequence_name("shot", 0, "png") == "shot_0001.png"
    assert io.sequence_name("shot", 149, ".exr") == "shot_0150.exr"
    assert io.sequence_name("shot", 12344, "png") == "shot_12345.png"
    assert io.sequence_pattern("shot", "png") == "shot_####.png"
    with pytest.raises(ValueError):
        io.sequence_name("shot", -1, "png")


# ----------------------------------------------------------------------------------------------------------------------
# Video


def moving_frames(count: int, height: int, width: int) -> list[np.ndarray]:
    """Smooth colourful content moving a few pixels per frame (what H.264 and a 256-colour palette are made for)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for t in range(count):
        r = 0.5 + 0.35 * np.sin((x + 2 * t) / 8)
        g = 0.15 + 0.7 * y / (height - 1)
        b = 0.5 + 0.35 * np.cos((x + y - t) / 11)
        frames.append((np.stack([r, g, b], axis=-1) * 255).round().astype(np.uint8))
    return frames


def test_mp4_of_odd_size_is_padded_and_reads_back(tmp_path):
    frames = moving_frames(12, 21, 33)
    path = tmp_path / "v.mp4"
    with io.VideoWriter(path, fps=10) as video:
        for frame in frames:
            video.write(frame)
    assert video.padding == (1, 1) and video.encoded_size == (34, 22) and video.frames_written == 12
    info = io.video_info(path)
    assert (info.width, info.height, info.fps, info.codec) == (34, 22, 10.0, "h264")
    back = list(io.video_frames(path))
    assert len(back) == 12 and all(f.shape == (22, 34, 3) and f.dtype == np.uint8 for f in back)
    for original, decoded in zip(frames, back, strict=True):
        assert psnr(decoded[:21, :33], original) > 30
        assert psnr(decoded[21:, :33], original[20:21]) > 25  # padding repeats the last row
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    assert io_video._is_complete_mp4(path)
    path.with_name("cut.mp4").write_bytes(data[: data.index(b"moov") - 4])  # a video ffmpeg never finished
    assert not io_video._is_complete_mp4(path.with_name("cut.mp4"))


@pytest.mark.parametrize("colour", [(200, 40, 60), (30, 180, 90), (60, 70, 220)])
def test_mp4_uses_bt709_and_decodes_colours_back(tmp_path, colour):
    """Players decode HD video with BT.709; ffmpeg's default RGB -> YUV matrix is BT.601 (luma 12 levels off here)."""
    path = tmp_path / "c.mp4"
    with io.VideoWriter(path, fps=10) as video:
        video.write(np.full((16, 16, 3), colour, dtype=np.uint8))
    raw = imageio_ffmpeg.read_frames(str(path), pix_fmt="yuv420p", bits_per_pixel=12)
    next(raw)
    luma = np.frombuffer(next(raw), dtype=np.uint8)[: 16 * 16]
    raw.close()
    r, g, b = colour
    expected = 16 + 219 * (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255  # BT.709, limited range
    assert abs(float(luma.mean()) - expected) < 1.5
    (frame,) = list(io.video_frames(path))
    np.testing.assert_allclose(frame[8, 8], colour, atol=3)


def test_video_writer_refuses_bad_frames_and_cleans_up(tmp_path):
    path = tmp_path / "v.mp4"
    video = io.VideoWriter(path, fps=5)
    with pytest.raises(ValueError, match="uint8"):
        video.write(np.zeros((4, 4, 3), np.float32))
    video.write(np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="same size"):
        video.write(np.zeros((6, 4, 3), np.uint8))
    video.abort()
    assert not path.exists()
    with pytest.raises(OutputError, match="no frames"):
        io.VideoWriter(tmp_path / "none.mp4", fps=5).close()
    with pytest.raises(InputError, match="frame rate"):
        io.VideoWriter(path, fps=0)


def test_video_writer_makes_mp4_under_any_staging_name_and_aborts_on_error(tmp_path):
    staged = tmp_path / ".v.part"
    with io.VideoWriter(staged, fps=24) as video:
        for frame in moving_frames(3, 8, 10):
            video.append(frame)
    assert io.video_info(staged).codec == "h264" and staged.read_bytes()[4:8] == b"ftyp"
    failed = tmp_path / "failed.mp4"
    with pytest.raises(RuntimeError, match="render failed"), io.VideoWriter(failed, fps=24) as video:
        video.write(moving_frames(1, 8, 10)[0])
        raise RuntimeError("render failed")
    assert not failed.exists()


def test_video_frames_rejects_missing_and_non_video_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        io.video_frames(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(InputError, match=str(junk).replace("\\", "\\\\")):
        list(io.video_frames(junk))


def test_gif_loops_forever_with_right_frames_and_delays(tmp_path):
    frames = moving_frames(9, 30, 40)
    path = tmp_path / "g.gif"
    with io.GifWriter(path, fps=25, max_side=None) as gif:
        for frame in frames:
            gif.write(frame)
    with Image.open(path) as image:
        assert image.info["loop"] == 0 and image.n_frames == 9 and image.size == (40, 30)
        delays, decoded = [], []
        for index in range(image.n_frames):
            image.seek(index)
            delays.append(image.info["duration"])
            decoded.append(np.asarray(image.convert("RGB")))
    assert delays == [40] * 9
    for original, back in zip(frames, decoded, strict=True):
        assert psnr(back, original) > 32


def test_gif_keeps_still_areas_identical_from_frame_to_frame(tmp_path):
    frames = [f.copy() for f in [moving_frames(1, 30, 40)[0]] * 4]
    for t, frame in enumerate(frames):
        frame[:6, t * 6:t * 6 + 6] = (250, 250, 250)  # a small moving white square; the rest stays still
    with io.GifWriter(tmp_path / "still.gif", fps=10, max_side=None) as gif:
        for frame in frames:
            gif.write(frame)
    decoded = []
    with Image.open(tmp_path / "still.gif") as image:
        for index in range(image.n_frames):
            image.seek(index)
            decoded.append(np.asarray(image.convert("RGB")))
    assert len(decoded) == 4
    for back in decoded[1:]:
        np.testing.assert_array_equal(back[6:], decoded[0][6:])  # no palette flicker below the square


def test_gif_downscales_and_spreads_centisecond_delays(tmp_path):
    path = tmp_path / "small.gif"
    with io.GifWriter(path, fps=30, max_side=20) as gif:
        for frame in moving_frames(3, 30, 40):
            gif.append(frame)
    with Image.open(path) as image:
        assert image.size == (20, 15) and image.n_frames == 3
        durations = []
        for index in range(3):
            image.seek(index)
            durations.append(image.info["duration"])
    assert durations == io.gif_delays_ms(3, 30) == [30, 40, 30]
    delays = io.gif_delays_ms(30, 30)
    assert sum(delays) == 1000 and set(delays) == {30, 40}
    assert io.gif_delays_ms(4, 100) == [20, 20, 20, 20]  # browsers slow delays under 20 ms down
