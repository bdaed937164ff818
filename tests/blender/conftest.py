"""What every add-on test module shares: the add-on enabled through Blender's own add-on loader, once per module, on a
factory-fresh Blender, and disabled after it (a module may define its own ``addon`` fixture instead)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDON = "blender_addon"


def raise_error(exc: BaseException) -> None:
    """``handle_error`` for addon_utils.enable: a failure to enable fails the test with its own exception."""
    raise exc


@pytest.fixture(scope="module", autouse=True)
def addon():
    bpy = pytest.importorskip("bpy")
    import addon_utils  # ships with bpy

    if str(ROOT) not in sys.path:  # the add-on is imported as the package in the checkout
        sys.path.insert(0, str(ROOT))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    module = addon_utils.enable(ADDON, default_set=True, handle_error=raise_error)
    assert module is not None
    yield module
    addon_utils.disable(ADDON, default_set=True)


def asymmetric_pixels(seed: int = 1, width: int = 32, height: int = 20) -> np.ndarray:
    """float32 [height, width, 3] sRGB: textured green (procedural motion finds it mobile), red marker at the top
    left (a flipped or shifted picture fails the tests that look for it)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([0.2 + 0.3 * x / width, 0.5 + 0.2 * np.sin(x / 2.0) + 0.1 * rng.standard_normal((height, width)),
                    0.15 + 0.3 * y / height], axis=-1)
    img[:4, :6] = (1.0, 0.0, 0.0)
    return np.clip(img, 0, 1).astype(np.float32)
