"""Framing at training time (image_dynamics.train.framing): a zoomed picture's target is the motion a longer lens
would see, unknown pixels stay unknown, and the draws are deterministic and apart from every other stream."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from image_dynamics.errors import InputError  # noqa: E402
from image_dynamics.train import framing  # noqa: E402
from image_dynamics.train.configs import get_config  # noqa: E402

H, W, K = 80, 128, 3


def _smooth_texture(seed: int = 0) -> np.ndarray:
    """float32 ``[H, W, 3]`` in 0..1 with detail a few pixels across (so bilinear warps of it are accurate)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((H // 4, W // 4, 3)).astype(np.float32)
    return cv2.GaussianBlur(cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC), (0, 0), 1.5)


def _warp(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The picture whose content at ``p + d(p)`` is ``image`` at ``p`` (backward map, fine for smooth ``d``)."""
    ys, xs = np.mgrid[0:image.shape[0], 0:image.shape[1]].astype(np.float32)
    return cv2.remap(image, xs - dx, ys - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _normalised(displacement: np.ndarray) -> np.ndarray:
    """Displacements in pixels -> the training target's ``sign(c) sqrt(|c| / scale)`` with scale 1."""
    return (np.sign(displacement) * np.sqrt(np.abs(displacement))).astype(np.float32)


def _pixels(normalised: np.ndarray) -> np.ndarray:
    return np.sign(normalised) * normalised * normalised


def test_a_zoomed_target_is_the_motion_the_zoomed_pictures_show():
    # frame 0 and frame t of a smoothly moving texture, both seen through the same zoom window: the zoomed frame 0
    # warped by the zoomed target must be the zoomed frame t
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    dx = (1.2 * np.sin(xs / 19.0) + 0.6).astype(np.float32)
    dy = (0.9 * np.cos(ys / 13.0 + xs / 31.0)).astype(np.float32)
    frame0 = _smooth_texture()
    frame_t = _warp(frame0, dx, dy)
    target = np.zeros((K, 4, H, W), np.float32)
    target[1, 0], target[1, 2] = _normalised(dx), _normalised(dy)
    window = framing.zoom_window(H, W, 2.5, 0.3, 0.7)
    y0, x0, h, w = window
    zoomed0, zoomed_target, known = framing.zoom_sample((frame0 * 255).astype(np.uint8), target,
                                                        np.ones((H, W), np.float32), window)
    zoomed_t = cv2.resize(frame_t[y0:y0 + h, x0:x0 + w], (W, H), interpolation=cv2.INTER_CUBIC)
    zdx, zdy = _pixels(zoomed_target[1, 0]), _pixels(zoomed_target[1, 2])
    # the displacement grew with the magnification, along each axis by its own whole-pixel factor
    assert np.abs(zdx).max() == pytest.approx(np.abs(dx[y0:y0 + h, x0:x0 + w]).max() * W / w, rel=0.05)
    inner = (slice(8, -8), slice(8, -8))  # away from the border, where the backward warp reflects
    warped = _warp(zoomed0.astype(np.float32) / 255.0, zdx, zdy)
    error = np.abs(warped - zoomed_t)[inner].mean()
    unwarped = np.abs(zoomed0.astype(np.float32) / 255.0 - zoomed_t)[inner].mean()
    unscaled = np.abs(_warp(zoomed0.astype(np.float32) / 255.0, zdx * w / W, zdy * h / H) - zoomed_t)[inner].mean()
    assert error <= 0.2 * unwarped
    assert error <= 0.5 * unscaled  # the gain matters: the crop's own displacements are measurably wrong
    assert known.min() == 1.0 and not zoomed_target[0].any() and not zoomed_target[2].any()


def test_unknown_pixels_stay_unknown_and_never_feed_known_ones():
    target = np.ones((K, 4, H, W), np.float32)
    known = np.ones((H, W), np.float32)
    known[30:40, 50:70] = 0.0
    target[:, :, 30:40, 50:70] = 50.0  # junk where the motion is unknown
    window = framing.zoom_window(H, W, 2.0, 0.5, 0.5)
    _, zoomed_target, zoomed_known = framing.zoom_sample(np.zeros((H, W, 3), np.uint8), target, known, window)
    assert set(np.unique(zoomed_known)) <= {0.0, 1.0}
    # the hole is magnified (twice as wide and tall) and its rim is unknown too
    assert (1.0 - zoomed_known).sum() >= 4 * (1.0 - known[window[0]:window[0] + window[2],
                                                          window[1]:window[1] + window[3]]).sum()
    # every known pixel's target is the clean motion, magnified: no junk leaked in
    clean = _pixels(zoomed_target)[:, :, zoomed_known == 1]
    assert np.allclose(clean, 2.0, rtol=1e-4)


def test_draws_are_deterministic_and_only_the_chosen_share_changes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, H, W, 3), dtype=np.uint8)
    targets = rng.standard_normal((16, K, 4, H, W)).astype(np.float32)
    known = np.ones((16, H, W), np.float32)
    a = framing.zoom_in(images, targets, known, framing.zoom_rng(5, 5, 9), 0.5, 3.0)
    b = framing.zoom_in(images, targets, known, framing.zoom_rng(5, 5, 9), 0.5, 3.0)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    changed = [not np.array_equal(a[0][j], images[j]) for j in range(16)]
    assert 2 <= sum(changed) <= 14
    unchanged = [j for j in range(16) if not changed[j]]
    assert np.array_equal(a[1][unchanged], targets[unchanged])
    off = framing.zoom_in(images, targets, known, framing.zoom_rng(5, 5, 9), 0.0, 3.0)
    assert all(np.array_equal(x, y) for x, y in zip(off, (images, targets, known)))
    # a stream of its own: the exposure and camera streams are other generators
    assert framing.ZOOM_STREAM not in (977, 978)


def test_bad_zoom_settings_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="max_zoom"):
        framing.zoom_in(np.zeros((1, H, W, 3), np.uint8), np.zeros((1, K, 4, H, W), np.float32),
                        np.ones((1, H, W), np.float32), np.random.default_rng(0), 1.0, 9.0)
    cfg = get_config("tiny")
    for field, value in (("photo_zoom", 1.5), ("photo_zoom_max", 0.5), ("photo_zoom_max", 8.0)):
        with pytest.raises(InputError, match=field):
            dataclasses.replace(cfg, **{field: value}).validate()
