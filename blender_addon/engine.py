"""The add-on's one door to the ``image_dynamics`` engine, and the error type every user-facing failure uses.

The engine (and numpy, OpenCV, OpenEXR, numba under it) is imported lazily, when work is first requested, so enabling
the add-on never fails or stalls on a heavy or missing dependency: a missing engine becomes a report that says how to
fix it instead of an add-on that will not enable.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from types import ModuleType

#: What to do when the engine is missing (an extension installed without its bundled wheel, or a copied folder).
ENGINE_MISSING = ("The image_dynamics engine is not installed in this Blender. Install the add-on from the zip built "
                  "by scripts/build_extension.py (Edit > Preferences > Get Extensions > Install from Disk): it bundles "
                  "the engine wheel; copying the blender_addon folder alone does not")
#: What to do when the MODEL motion source is chosen but no model package can be found.
MODEL_MISSING = ("No motion model package is installed (looked for a folder with a model.json in the preferences' "
                 "model folder, $IMAGE_DYNAMICS_MODELS and the engine's onnx/ folder). Install one there, or choose "
                 "Motion > Source: Procedural, or a Motion File")


class UserError(Exception):
    """A failure the artist can fix; its message says what is wrong and what to do. Operators report it as ERROR."""


def require() -> ModuleType:
    """Import and return the engine package, or raise :class:`UserError` saying how to install it."""
    try:
        return importlib.import_module("image_dynamics")
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] != "image_dynamics":
            raise UserError(f"The image_dynamics engine is installed but its dependency '{exc.name}' is missing. "
                            "Install the extension zip built for your platform with all dependencies "
                            f"(scripts/build_extension.py --with-deps) ({exc}).") from None
        raise UserError(f"{ENGINE_MISSING} ({exc}).") from None


def engine_version() -> str | None:
    """The installed engine's version, or ``None`` when it cannot be imported."""
    try:
        return require().__version__
    except UserError:
        return None


def model_module(model_dir: str | None = None) -> ModuleType:
    """The engine's model runtime (``image_dynamics.model``) once a package is found, else :class:`UserError`.

    The add-on calls ``image_dynamics.model.predict_motion(pixels, model=, seed=, steps=, guidance=, progress=,
    cancel=)``; an engine without it is reported as too old rather than failing mid-run.
    """
    require()
    if importlib.util.find_spec("image_dynamics.model") is None:
        raise UserError(MODEL_MISSING + ".")
    module = importlib.import_module("image_dynamics.model")
    if not callable(getattr(module, "predict_motion", None)):
        raise UserError("The installed image_dynamics.model has no predict_motion() function this add-on can call; "
                        "update the add-on and the engine together (rebuild the extension zip).")
    if not module.find_models([model_dir] if model_dir else None):
        raise UserError(MODEL_MISSING + ".")
    return module


@functools.lru_cache(maxsize=4)
def model_available(model_dir: str = "") -> tuple[bool, str]:
    """``(available, explanation)`` of the MODEL motion source, for panels and preferences (checked once a folder)."""
    try:
        module = model_module(model_dir or None)
    except UserError as exc:
        return False, str(exc)
    names = ", ".join(m.name for m in module.find_models([model_dir] if model_dir else None))
    return True, f"motion model packages: {names}"
