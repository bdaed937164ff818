"""An 8K image renders with bounded memory: the IDFT runs on the motion grid and displacement is upsampled in tiles."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from image_dynamics import io
from image_dynamics.cli import main

from .conftest import textured_rgb


@pytest.mark.slow
def test_8k_frame_renders_with_bounded_memory(tmp_path):
    width, height = 7680, 4320
    small = textured_rgb(135, 240, seed=4)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / "huge.png"), big[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    del big
    cv2.imwrite(str(tmp_path / "small.png"), small[..., ::-1])
    assert main(["-q", "motion", "procedural", str(tmp_path / "small.png"), "-o", str(tmp_path / "m.npz"),
                 "--amplitude", "0.5"]) == 0

    tracemalloc.start()
    code = main(["-q", "render", str(tmp_path / "huge.png"), "--motion", str(tmp_path / "m.npz"),
                 "-o", str(tmp_path / "out"), "--frames", "20:21"])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert code == 0
    frame = io.read_image(tmp_path / "out" / "huge_0021.png")
    assert frame.pixels.shape == (height, width, 3)
    # Full-resolution K = 16 coefficients alone would be 8.5 GB; the image as float32 RGB is 0.4 GB.
    image_bytes = width * height * 3 * 4
    assert peak < 8 * image_bytes, f"peak traced memory {peak / 2**30:.2f} GiB"
    assert np.abs(frame.pixels - io.read_image(tmp_path / "huge.png").pixels).max() > 0.05  # it moved
