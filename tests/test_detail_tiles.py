"""scripts/detail_tiles.py: enlarged tiles give a per-pixel network's energy back exactly, in grid pixels; the ways of
combining them with the whole picture do what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import load_script

K, H, W = 4, 10, 16


@pytest.fixture(scope="module")
def tiles():
    return load_script("detail_tiles")


def _pixelwise(batch: np.ndarray) -> np.ndarray:
    """A 'network' whose band k energy at a pixel is (k + 1) times the pixel's red value: no context at all."""
    return batch[:, :1] * np.arange(1, K + 1, dtype=np.float32)[None, :, None, None]


def test_tiles_of_a_pixelwise_network_are_the_enlarged_picture_averaged_back_in_grid_pixels(tiles):
    rng = np.random.default_rng(0)
    enlarged = rng.random((3, 2 * H, 2 * W)).astype(np.float32)
    out = tiles.tiles_band_energy(_pixelwise, enlarged)
    assert out.shape == (K, H, W)
    expected = _pixelwise(enlarged[None])[0].reshape(K, H, 2, W, 2).mean(axis=(2, 4)) / 4  # tile px are 1/2 grid px
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_tiles_see_only_their_window(tiles):
    seen = []

    def record(batch):
        seen.append(batch.shape)
        return np.ones((len(batch), K, H, W), np.float32)

    out = tiles.tiles_band_energy(record, np.zeros((3, 2 * H, 2 * W), np.float32))
    assert seen == [(9, 3, H, W)]  # 3 x 3 tiles of the grid's size, at half-tile steps
    np.testing.assert_allclose(out, 0.25)  # blending weights sum to one everywhere, the edges included
    assert list(tiles.tile_origins(2 * W, W)) == [0, W // 2, W]


def test_detail_applies_only_with_two_source_pixels_per_grid_pixel(tiles):
    assert tiles.detail_applies(512, 320, 256, 160)
    assert not tiles.detail_applies(511, 320, 256, 160)
    assert tiles.detail_applies(1024, 400, 256, 100)  # a wide picture: its footprint on the grid counts
    assert not tiles.detail_applies(256, 160, 256, 160)


def test_mean_and_geometric_are_per_band(tiles):
    a = np.full((K, H, W), 4.0, np.float32)
    b = np.full((K, H, W), 1.0, np.float32)
    np.testing.assert_allclose(tiles.combine_detail(a, b, "mean"), 2.5)
    np.testing.assert_allclose(tiles.combine_detail(a, b, "geometric"), 2.0)
    with pytest.raises(ValueError, match="unknown detail mode"):
        tiles.combine_detail(a, b, "median")


def test_local_keeps_the_whole_pictures_level_and_takes_the_tiles_pattern(tiles):
    whole = np.zeros((K, 40, 40), np.float32)
    whole[1:] = 0.3  # the whole picture: the region moves evenly, band 0 (static) untouched
    whole[0] = 7.0
    pattern = np.ones((K, 40, 40), np.float32) * 0.01
    pattern[:, :, 20:] = 0.19  # the tiles: the right half moves, the left barely
    out = tiles.combine_detail(whole, pattern, "local", sigma_px=200.0)  # a neighbourhood wider than the picture
    np.testing.assert_allclose(out[0], 7.0)
    total = out[1:].sum(axis=0)
    assert total[:, 20:].mean() / total[:, :20].mean() == pytest.approx(19.0, rel=0.05)
    assert total.mean() == pytest.approx(0.9, rel=0.05)  # the whole picture's level (3 bands of 0.3)
    np.testing.assert_allclose(out[1:] / total[None], 1 / 3, rtol=1e-4)  # the whole picture's band shares
    # tiles that agree with the whole picture change nothing
    np.testing.assert_allclose(tiles.combine_detail(whole, whole, "local", 8.0), whole, rtol=1e-3)


def test_local_may_move_a_pixel_the_whole_picture_holds_still(tiles):
    whole = np.zeros((K, 20, 20), np.float32)
    whole[1:, :, :10] = 0.2
    pattern = np.full((K, 20, 20), 0.05, np.float32)
    out = tiles.combine_detail(whole, pattern, "local", sigma_px=4.0)
    assert out[1:, :, 12].sum(axis=0).min() > 0.01  # beside moving pixels, the tiles' motion reaches it
    assert np.isfinite(out).all()
