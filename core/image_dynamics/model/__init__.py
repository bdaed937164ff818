"""Inference runtime of the motion model: model packages, onnxruntime sessions, the numpy DDIM sampler, the cache.

numpy + onnxruntime only (never torch). Importing this package is cheap: submodules load when first used.

Modules:
    processing  numpy pre- and post-processing shared with the torch model (image -> model input, channels -> pixels)
    package     ``ModelPackage`` (``<name>/model.json`` + graphs): checks, ``find_models``, ``resolve_model``
    providers   ``choose_providers`` (probing CUDA / TensorRT before trusting them), session options, reports
    sampler     DDIM in numpy, step for step the same as ``train/diffusion.py``
    predict     ``MotionPredictor`` (sessions kept open) and ``predict_motion``: image -> ``SpectralVolume``
    cache       results on disk keyed by image + package + seed + sampler settings
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ModelPackage": "package", "ModelPackageError": "package", "find_models": "package", "resolve_model": "package",
    "default_model_available": "package", "choose_providers": "providers", "explain_providers": "providers",
    "MotionPredictor": "predict", "predict_motion": "predict", "cache_size": "cache", "clear_cache": "cache",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
