"""The add-on's one door to the ``image_dynamics`` engine, and the error type every user-facing failure uses.

The engine (and numpy, OpenCV, OpenEXR, numba under it) is imported lazily, when work is first requested, so enabling
the add-on never fails or stalls on a heavy or missing dependency: a missing engine becomes a report that says how to
fix it instead of an add-on that will not enable.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import sys
import threading
import time
import tomllib
from types import ModuleType

#: What to do when the engine is missing (an extension installed without its bundled wheel, or a copied folder).
ENGINE_MISSING = ("The image_dynamics engine is not installed in this Blender. Install the add-on from the zip built "
                  "by scripts/build_extension.py (Edit > Preferences > Get Extensions > Install from Disk): it bundles "
                  "the engine wheel; copying the blender_addon folder alone does not")
#: What to do when the MODEL motion source is chosen but no model package can be found.
MODEL_MISSING = ("No motion model package is installed (looked for a folder with a model.json in the preferences' "
                 "Model Folder, $IMAGE_DYNAMICS_MODELS and the models shipped inside the engine). Install one there, "
                 "or choose Motion > Source: Procedural, or a Motion File")
#: The engine modules the add-on calls, imported by :func:`require` so that a missing dependency (OpenCV, Pillow,
#: OpenEXR, numba, ...) is found there, with a message, and not halfway through a job.
ENGINE_MODULES = ("image_dynamics", "image_dynamics.io", "image_dynamics.spectral", "image_dynamics.procedural",
                  "image_dynamics.settings", "image_dynamics.edits", "image_dynamics.frames", "image_dynamics.render",
                  "image_dynamics.bake", "image_dynamics.jobs")
#: Python module -> the distribution that provides it (for messages).
DISTRIBUTIONS = {"cv2": "opencv-python-headless", "PIL": "pillow", "OpenEXR": "OpenEXR", "numba": "numba",
                 "llvmlite": "llvmlite", "imageio": "imageio", "imageio_ffmpeg": "imageio-ffmpeg", "tqdm": "tqdm",
                 "onnxruntime": "onnxruntime-gpu or onnxruntime"}
#: Blender platform names (as in the extension zips' names) by (sys.platform prefix, machine).
PLATFORM_NAMES = {("linux", "x86_64"): "linux_x64", ("win32", "amd64"): "windows_x64",
                  ("darwin", "arm64"): "macos_arm64", ("darwin", "x86_64"): "macos_x64"}
#: How long a model-availability answer is kept before the folders are looked at again (panels redraw often).
MODEL_STATUS_TTL_S = 2.0


class UserError(Exception):
    """A failure the artist can fix; its message says what is wrong and what to do. Operators report it as ERROR.

    ``module``: the missing Python module, when that is the failure.
    """

    def __init__(self, message: str, module: str = "") -> None:
        super().__init__(message)
        self.module = module


def platform_zip(version: str | None = None) -> str:
    """File name of the extension zip with every dependency for this machine, e.g.
    ``image_dynamics-0.1.0-linux_x64.zip`` (the add-on's own version when ``version`` is None)."""
    version = version or addon_version()
    system = next((name for (prefix, machine), name in PLATFORM_NAMES.items()
                   if sys.platform.startswith(prefix) and platform.machine().lower() == machine), None)
    return f"image_dynamics-{version}-{system}.zip" if system else f"image_dynamics-{version}-<platform>.zip"


def addon_version() -> str:
    """The add-on's version, from its manifest (``blender_manifest.toml`` beside this file)."""
    try:
        with open(os.path.join(os.path.dirname(__file__), "blender_manifest.toml"), "rb") as fh:
            return str(tomllib.load(fh).get("version", "0"))
    except (OSError, tomllib.TOMLDecodeError):
        return "0"


def missing_dependency(name: str) -> str:
    """The one-line report for an engine dependency (Python module ``name``) this Blender does not have."""
    top = name.split(".")[0]
    distribution = DISTRIBUTIONS.get(top, top)
    return (f"Image Dynamics cannot run: the Python module '{top}' ({distribution}) is missing from this Blender; the "
            f"extension was installed without its dependencies. Install {platform_zip()} instead (built with "
            "scripts/build_extension.py --with-deps; Edit > Preferences > Get Extensions > Install from Disk).")


def require() -> ModuleType:
    """Import the engine and every engine module the add-on uses, or raise :class:`UserError` saying what is missing
    and which zip to install instead; returns the ``image_dynamics`` package."""
    try:
        for name in ENGINE_MODULES:
            importlib.import_module(name)
        return importlib.import_module("image_dynamics")
    except ImportError as exc:
        missing = exc.name or ""
        if missing and missing.split(".")[0] != "image_dynamics":
            raise UserError(missing_dependency(missing), module=missing.split(".")[0]) from None
        raise UserError(f"{ENGINE_MISSING} ({exc}).") from None


def engine_version() -> str | None:
    """The installed engine's version, or ``None`` when it (or a dependency) cannot be imported."""
    try:
        return require().__version__
    except UserError:
        return None


_engine_status: list = []  # [(monotonic time, (ready, line, short line))], at most one entry


def engine_status() -> tuple[bool, str, str]:
    """``(ready, line, short line)`` for preferences and panels: the engine's version, or what is missing and which
    zip to install. Kept :data:`MODEL_STATUS_TTL_S` seconds (panels redraw often; a failed import is retried)."""
    now = time.monotonic()
    if _engine_status and now - _engine_status[0][0] < MODEL_STATUS_TTL_S:
        return _engine_status[0][1]
    try:
        version = require().__version__
        status = (True, f"Engine: image_dynamics {version}", f"image_dynamics {version}")
    except UserError as exc:
        missing = getattr(exc, "module", "")
        short = (f"Missing Python module '{missing}': install {platform_zip()}" if missing
                 else "The image_dynamics engine is not installed (see Preferences)")
        status = (False, str(exc), short)
    _engine_status[:] = [(now, status)]
    return status


def model_module(model_dir: str | None = None) -> ModuleType:
    """The engine's model runtime (``image_dynamics.model``) once a package is found, else :class:`UserError`.

    The add-on calls ``image_dynamics.model.predict_motion(pixels, model=, seed=, steps=, guidance=, progress=,
    cancel=)``; an engine without it is reported as too old rather than failing mid-run.
    """
    require()
    if importlib.util.find_spec("image_dynamics.model") is None:
        raise UserError(MODEL_MISSING + ".")
    try:
        module = importlib.import_module("image_dynamics.model")
        importlib.import_module("image_dynamics.model.predict")
        importlib.import_module("onnxruntime")  # imported lazily by the runtime: reported here, not mid-prediction
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] != "image_dynamics":
            raise UserError(missing_dependency(exc.name), module=exc.name.split(".")[0]) from None
        raise
    if not callable(getattr(module, "predict_motion", None)):
        raise UserError("The installed image_dynamics.model has no predict_motion() function this add-on can call; "
                        "update the add-on and the engine together (rebuild the extension zip).")
    if not module.find_models([model_dir] if model_dir else None):
        raise UserError(MODEL_MISSING + ".")
    return module


def model_package(model_dir: str = "") -> tuple[str, str]:
    """``(folder, sha256)`` of the ``default`` model package the MODEL source will run (the Model Folder first, then
    ``$IMAGE_DYNAMICS_MODELS``, then the models shipped with the engine); :class:`UserError` when there is none.

    The sha256 is the package's own (of its ``model.json``, which lists every file's hash), so motion cached for a
    package is never served for a replaced one.
    """
    module = model_module(model_dir or None)
    from image_dynamics.errors import ImageDynamicsError
    from image_dynamics.model.package import ModelPackage

    try:
        path = module.resolve_model(None, folders=[model_dir] if model_dir else None)
        return str(path), ModelPackage.load(path, verify=False).sha256
    except ImageDynamicsError as exc:
        raise UserError(f"{MODEL_MISSING} ({exc}).") from None


_model_status: dict[str, tuple[float, tuple[bool, str]]] = {}
_model_status_lock = threading.Lock()


def model_available(model_dir: str = "") -> tuple[bool, str]:
    """``(available, explanation)`` of the MODEL motion source, for panels and preferences.

    Panels redraw many times a second, so an answer is kept :data:`MODEL_STATUS_TTL_S` seconds per folder; after that
    the folders are looked at again, so a package installed (or removed) while Blender runs shows up on the next
    redraw. :func:`forget_model_status` drops the kept answers at once (Model Folder changed).
    """
    now = time.monotonic()
    with _model_status_lock:
        kept = _model_status.get(model_dir)
        if kept is not None and now - kept[0] < MODEL_STATUS_TTL_S:
            return kept[1]
    try:
        module = model_module(model_dir or None)
        names = ", ".join(m.name for m in module.find_models([model_dir] if model_dir else None))
        status = (True, f"motion model packages: {names}")
    except UserError as exc:
        status = (False, str(exc))
    with _model_status_lock:
        _model_status[model_dir] = (now, status)
    return status


def forget_model_status() -> None:
    """Make the next :func:`model_available` look at the folders again."""
    with _model_status_lock:
        _model_status.clear()
