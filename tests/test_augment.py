"""Photographic realism at training time (image_dynamics.train.augment): deterministic, shape- and dtype-preserving,
every effect measurably present, geometry kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from image_dynamics.train import augment  # noqa: E402


def _texture(seed: int = 0, h: int = 40, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _high_freq(x: np.ndarray) -> float:
    """Mean squared Laplacian: energy at the finest scale."""
    return float(np.mean(cv2.Laplacian(x.astype(np.float32), cv2.CV_32F) ** 2))


def _all_on(**overrides) -> dict:
    camera = augment.draw_camera(np.random.default_rng(0))
    camera.update({e: False for e in augment.EFFECTS})
    camera.update(overrides)
    return camera


def test_same_seed_same_pictures_and_shapes_kept():
    images = np.stack([_texture(i) for i in range(6)])
    a = augment.photo_realism(images, np.random.default_rng([3, 2, 7]))
    b = augment.photo_realism(images, np.random.default_rng([3, 2, 7]))
    c = augment.photo_realism(images, np.random.default_rng([3, 2, 8]))
    assert a.shape == images.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # a step's generator is a pure function of (seed, stage, step)
    assert np.array_equal(augment.realism_rng(1, 2, 3).random(4), augment.realism_rng(1, 2, 3).random(4))
    assert not np.array_equal(augment.realism_rng(1, 2, 3).random(4), augment.realism_rng(1, 2, 4).random(4))


def test_re_expose_brings_the_chosen_pictures_to_keys_spread_over_the_range():
    from image_dynamics.model.processing import exposure_key

    images = np.stack([_texture(i) // 3 + 40 for i in range(40)])  # mid-dark pictures, key about 0.06-0.1
    before = exposure_key(images.transpose(0, 3, 1, 2) / 255.0)
    out = augment.re_expose(images, augment.exposure_rng(1, 4, 9), 1.0)
    assert out.shape == images.shape and out.dtype == np.uint8
    keys = exposure_key(out.transpose(0, 3, 1, 2) / 255.0)
    low, high = augment.EXPOSURE_KEYS
    assert keys.min() > 0.9 * low and keys.max() < 1.05 * high  # within the range (8-bit rounding, clipped highlights)
    assert keys.max() / keys.min() > 4 and not np.allclose(keys, before, rtol=0.05)  # spread out, not kept
    # the same generator state: the same pictures; probability 0: the pictures as they were, as the same array
    assert np.array_equal(out, augment.re_expose(images, augment.exposure_rng(1, 4, 9), 1.0))
    assert augment.re_expose(images, augment.exposure_rng(1, 4, 9), 0.0) is images
    half = augment.re_expose(images, augment.exposure_rng(1, 4, 9), 0.5)
    kept = [np.array_equal(a, b) for a, b in zip(half, images)]
    assert 10 <= sum(kept) <= 30
    with pytest.raises(ValueError, match="uint8"):
        augment.re_expose(images.astype(np.float32), augment.exposure_rng(1, 4, 9), 1.0)
    # the configuration's share is checked where it is set (train --set photo_exposure=...)
    import dataclasses

    from image_dynamics.errors import InputError
    from image_dynamics.train.configs import get_config

    with pytest.raises(InputError, match="photo_exposure is a share of the pictures, 0..1, got 1.5"):
        dataclasses.replace(get_config("tiny"), photo_exposure=1.5).validate()


def test_strength_zero_is_the_identity_and_bad_input_is_refused():
    images = np.stack([_texture(i) for i in range(3)])
    assert augment.photo_realism(images, np.random.default_rng(0), strength=0.0) is images
    with pytest.raises(ValueError, match="uint8"):
        augment.photo_realism(images.astype(np.float32), np.random.default_rng(0))


def test_effects_fire_at_their_probabilities():
    rng = np.random.default_rng(5)
    n = 3000
    fired = {e: 0 for e in augment.EFFECTS}
    for _ in range(n):
        camera = augment.draw_camera(rng, strength=1.0)
        for e in augment.EFFECTS:
            fired[e] += camera[e]
    p = augment.PROBABILITIES
    assert abs((fired["defocus"] + fired["blur"]) / n - p["defocus_or_blur"]) < 0.03
    assert abs(fired["defocus"] / n - p["defocus_or_blur"] / 3) < 0.03  # one lens in three is a defocus disc
    for e in ("chromatic", "downscale", "noise", "jpeg"):
        assert abs(fired[e] / n - p[e]) < 0.03, e
    half = [augment.draw_camera(rng, strength=0.5)["noise"] for _ in range(n)]
    assert abs(np.mean(half) - p["noise"] / 2) < 0.03


@pytest.mark.parametrize("effect, params", [("defocus", {"radius": 1.5}), ("blur", {"lens": 1, "sigma": 1.0}),
                                            ("blur", {"lens": 2, "streak": 4.0, "angle": 0.3}),
                                            ("downscale", {"factor": 0.5, "cubic": False})])
def test_softening_effects_remove_fine_detail(effect, params):
    image = _texture(1)
    out = augment.apply_camera(image, _all_on(**{effect: True, **params}), np.random.default_rng(0))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert _high_freq(out) < 0.5 * _high_freq(image)
    # the mean level is kept (a blur moves no light in or out)
    assert abs(float(out.mean()) - float(image.mean())) < 2.0


def test_chromatic_aberration_shifts_red_and_blue_apart_at_the_edges():
    image = np.zeros((40, 64, 3), np.uint8)
    image[:, 56:] = 255  # a white band near the right edge
    out = augment.apply_camera(image, _all_on(chromatic=True, ca=0.004), np.random.default_rng(0)).astype(np.float32)
    # red is enlarged about the centre: its edge moves right; blue shrinks: its edge moves left
    red, green, blue = (out[20, :, c] for c in range(3))
    assert red.sum() < green.sum() < blue.sum()
    assert np.array_equal(out[..., 1], image[..., 1].astype(np.float32))
    # at most about 0.13 px here (0.004 x 32 px from the centre): a sub-pixel shift, geometry kept
    assert (blue.sum() - red.sum()) / 255 < 0.3


def test_sensor_noise_has_the_drawn_strength():
    grey = np.full((80, 96, 3), 128, np.uint8)
    shot, read = 0.01, 1e-4
    out = augment.apply_camera(grey, _all_on(noise=True, shot=shot, read=read, chroma=0.0), np.random.default_rng(2))
    x = (128 / 255) ** 2.2
    expected = np.sqrt(shot * x + read) * (1 / 2.2) * x ** (1 / 2.2 - 1) * 255  # linear sigma through the curve
    measured = float(out.astype(np.float32).std())
    assert 0.85 * expected < measured < 1.15 * expected
    assert abs(float(out.mean()) - 128) < 1.0


def test_jpeg_artefacts_grow_as_quality_falls():
    image = _texture(3)
    errors = []
    for quality in (95, 60, 30):
        out = augment.apply_camera(image, _all_on(jpeg=True, quality=quality), np.random.default_rng(0))
        errors.append(float(np.abs(out.astype(np.float32) - image).mean()))
    assert 0 < errors[0] < errors[1] < errors[2]


def test_every_effect_at_once_keeps_geometry():
    image = np.zeros((40, 64, 3), np.uint8)
    cv2.circle(image, (40, 14), 5, (255, 255, 255), -1)
    camera = _all_on(defocus=True, radius=2.0, chromatic=True, ca=0.003, downscale=True, factor=0.5, noise=True,
                     shot=0.002, read=1e-5, chroma=0.2, jpeg=True, quality=70)
    out = augment.apply_camera(image, camera, np.random.default_rng(4)).astype(np.float32).mean(axis=2)
    ys, xs = np.mgrid[:40, :64]
    weights = np.clip(out - 30, 0, None)  # above the noise floor
    cy, cx = (weights * ys).sum() / weights.sum(), (weights * xs).sum() / weights.sum()
    assert abs(cx - 40) < 0.5 and abs(cy - 14) < 0.5
