"""Shared fixtures: small images with texture and edges, written as real files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

SAMPLE = Path(__file__).resolve().parents[1] / "core" / "image_dynamics" / "samples" / "forest.jpg"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` imported as a module (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    return module


def textured_rgb(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 [H, W, 3]: smooth colour gradients plus texture in the top half, flat bottom half (asymmetric)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), 0.5 + 0.25 * np.sin(x / 3.0)], axis=-1)
    img[: height // 2] += rng.normal(0, 0.15, size=(height // 2, width, 3))
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


@pytest.fixture(autouse=True, scope="session")
def private_motion_cache(tmp_path_factory: pytest.TempPathFactory):
    """Predictions made by tests are cached in a temporary folder, never in the user's ~/.cache."""
    import os

    folder = tmp_path_factory.mktemp("motion-cache")
    old = os.environ.get("IMAGE_DYNAMICS_CACHE")
    os.environ["IMAGE_DYNAMICS_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("IMAGE_DYNAMICS_CACHE", None)
    else:
        os.environ["IMAGE_DYNAMICS_CACHE"] = old


@pytest.fixture
def rgb_png(tmp_path: Path) -> Path:
    path = tmp_path / "scene.png"
    Image.fromarray(textured_rgb()).save(path)
    return path


@pytest.fixture
def sample_image() -> Path:
    return SAMPLE


def edit_manifest(folder: Path, change, rehash: bool = False) -> None:
    """``change(doc)`` applied to a model package's ``model.json``; ``rehash`` records the graphs' current sha256 (a
    tampered package that its manifest vouches for)."""
    import json

    from image_dynamics.model import package as pkg_mod

    doc = json.loads((folder / "model.json").read_text())
    change(doc)
    if rehash:
        doc["files"] = {p.name: {"sha256": pkg_mod.file_sha256(p), "bytes": p.stat().st_size}
                        for p in sorted(folder.glob("*.onnx"))}
    (folder / "model.json").write_text(json.dumps(doc))
