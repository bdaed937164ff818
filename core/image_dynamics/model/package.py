"""Model packages: a folder ``<name>/`` with three ONNX graphs and a ``model.json`` that describes them.

``model.json`` (format 1) holds (written by ``image_dynamics.train.export``):

- ``format_version``, ``kind``, ``name``;
- the spectral volume it predicts: ``num_bands`` (K), ``freqs_hz`` ``[K]``, ``fps``, ``window_frames``;
- ``resolution`` ``{width, height}`` (the model grid), ``coeff_grid`` ``[W, H]`` (the grid whose pixels the
  denormalised coefficients are in), ``latent`` ``{shape: [K, C, h, w], channels: C}``;
- ``normalisation``: the dataset's per-frequency statistics (the ``norm_stats.json`` document);
- ``sampler``: defaults (``steps``, ``eta``, ``guidance``) and the process (``prediction``, ``schedule``,
  ``train_timesteps``, ``timestep_spacing``, the float64 ``alphas_cumprod`` table itself);
- ``graphs``: for ``image_encoder``, ``denoiser`` and ``vae_decoder`` (and, optional, ``energy_net``) their
  ``inputs`` / ``outputs`` names and files (``fp32``, optional ``fp16``); ``opset``;
- ``energy`` ``{floor}`` when the package has an ``energy_net``: the floor (squared pixels) inside its
  ``log(E + floor)`` output; optional ``fill_coherence_px``: the energy a sample cannot carry is filled in with
  motion coherent over that many grid pixels (:func:`~.processing.coherent_fill`); optional ``input_key``: the
  network sees the image re-exposed to that log-average luminance (:func:`~.processing.energy_net_input`); optional
  ``gain``: every band energy it says is multiplied by it (:func:`~.processing.energy_from_log`, a calibration
  fitted on rendered data); optional ``flip_average`` (true/false): the network reads the picture and its mirror
  image and their log energies are averaged (:func:`~.processing.read_energy_net`);
- ``files``: every file with its ``sha256`` and ``bytes``; ``licence``; ``data_note`` (what data trained it);
- optional facts: ``training``, ``software``, ``export`` (simplifier, parity measured at export).

:meth:`ModelPackage.load` checks all of it and raises :class:`ModelPackageError` naming the file, the field and the
fix; :meth:`ModelPackage.check_session` checks a loaded graph's inputs and outputs against it (names, K, sizes).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from ..errors import InputError
from ..normalisation import NormStats, norm_stats_from_json
from .processing import ENERGY_GAIN_RANGE, ENERGY_INPUT_KEY_RANGE

FORMAT_VERSION = 1
MANIFEST = "model.json"
KIND = "image-dynamics motion model"
GRAPH_NAMES = ("image_encoder", "denoiser", "vae_decoder")
#: graphs a package may have: the motion-energy network (models trained with stage 4)
OPTIONAL_GRAPH_NAMES = ("energy_net",)
REQUIRED_FIELDS = ("format_version", "name", "num_bands", "freqs_hz", "fps", "window_frames", "resolution",
                   "coeff_grid", "latent", "normalisation", "sampler", "graphs", "opset", "files", "licence",
                   "data_note")
SAMPLER_FIELDS = ("steps", "eta", "guidance", "prediction", "schedule", "train_timesteps", "alphas_cumprod")
MODELS_ENV = "IMAGE_DYNAMICS_MODELS"
DEFAULT_MODEL = "default"
#: the first onnxruntime release implementing each ONNX opset (older releases cannot run graphs stamped with it)
_FIRST_ORT_FOR_OPSET = {15: (1, 10), 16: (1, 11), 17: (1, 12), 18: (1, 14), 19: (1, 15), 20: (1, 17), 21: (1, 18),
                        22: (1, 20), 23: (1, 22)}

_FIX_EXPORT = "Re-export the package with `image-dynamics export RUN -o PACKAGE_FOLDER --overwrite`"


class ModelPackageError(InputError):
    """A model package is missing, incomplete, corrupt or does not fit this program; the message says which part."""


@dataclass(frozen=True)
class SamplerDefaults:
    """The diffusion process of a package and its default DDIM settings."""

    steps: int
    eta: float
    guidance: float
    prediction: str
    schedule: str
    train_timesteps: int
    alphas_cumprod: np.ndarray  #: float64 ``[train_timesteps]``


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX graph of a package: input / output names and its file per precision (``fp32``, maybe ``fp16``)."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    files: dict[str, Path]


@dataclass(frozen=True, eq=False)
class ModelPackage:
    """A checked model package (see the module docstring for the fields of ``model.json``)."""

    path: Path
    doc: dict[str, Any]
    sha256: str  #: of ``model.json``, which lists every file's hash: it identifies the whole package
    name: str
    num_bands: int
    freqs_hz: np.ndarray
    fps: float
    window_frames: int
    width: int
    height: int
    coeff_grid: tuple[int, int]
    latent_shape: tuple[int, int, int, int]
    stats: NormStats
    sampler: SamplerDefaults
    graphs: dict[str, GraphSpec]
    opset: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    licence: str = ""
    data_note: str = ""
    energy_floor: float | None = None  #: set when the package has an ``energy_net`` graph
    #: coherence (grid pixels) of the motion filled in where a sample is too weak for the energy network's energy
    #: (:func:`~.processing.coherent_fill`); None: no fill (packages before release 5)
    energy_fill_px: float | None = None
    #: exposure key the energy network's input is brought to (:func:`~.processing.energy_net_input`); None: the image
    #: as it is (packages before release 6)
    energy_input_key: float | None = None
    #: calibration gain on the energy network's band energies (:func:`~.processing.energy_from_log`); 1: as trained
    #: (packages before release 7)
    energy_gain: float = 1.0
    #: read the energy network on the picture and its mirror image and average (:func:`~.processing.read_energy_net`);
    #: False: one reading (packages before release 8)
    energy_flip_average: bool = False

    @property
    def has_energy_net(self) -> bool:
        return "energy_net" in self.graphs

    # ------------------------------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> ModelPackage:
        """Read and check a package folder (or its ``model.json``).

        Args:
            path: the package folder.
            verify: check every file's size and sha256 against ``model.json`` (hashes are remembered per file size
                and modification time, so loading the same package again is cheap).

        Raises:
            ModelPackageError: saying exactly what is wrong (missing ``model.json`` or file, unreadable JSON, missing
                or malformed fields, a newer format version, a hash mismatch naming the file with the expected and
                actual hashes, an opset newer than the installed onnxruntime runs).
        """
        folder = Path(path)
        if folder.name == MANIFEST and folder.is_file():
            folder = folder.parent
        manifest = folder / MANIFEST
        if not folder.exists():
            raise ModelPackageError(f"{folder}: model package not found. Check the path, or list installed packages "
                                    "with `image-dynamics models`.")
        if not manifest.is_file():
            raise ModelPackageError(f"{folder}: not a model package (no {MANIFEST} in it). A package is a folder "
                                    f"written by `image-dynamics export`. {_FIX_EXPORT}.")
        try:
            raw = manifest.read_bytes()
            doc = json.loads(raw.decode("utf-8"))
        except OSError as exc:
            raise ModelPackageError(f"{manifest}: unreadable ({exc.strerror}).") from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelPackageError(f"{manifest}: corrupt, not valid JSON ({str(exc)[:200] or 'nested too deeply'}). "
                                    f"{_FIX_EXPORT}, or reinstall the package.") from None
        if not isinstance(doc, dict):
            raise ModelPackageError(f"{manifest}: must hold a JSON object, found {type(doc).__name__}. {_FIX_EXPORT}.")
        try:
            package = _parse(folder, doc, hashlib.sha256(raw).hexdigest())
        except ModelPackageError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
            # a field of a shape no check above foresaw: still one line, never a traceback
            raise ModelPackageError(f"{manifest}: malformed ({type(exc).__name__}: {str(exc)[:200]}). "
                                    f"{_FIX_EXPORT}.") from None
        check_opset_supported(package.opset, manifest)
        if verify:
            package.verify_files()
        return package

    def verify_files(self) -> None:
        """Check that every listed file exists with the listed size and sha256."""
        for name, entry in self.files.items():
            file = self.path / name
            if not file.is_file():
                raise ModelPackageError(f"{file}: missing from model package '{self.name}' ({MANIFEST} lists it). "
                                        f"The package is incomplete: {_FIX_EXPORT.lower()}, or reinstall it.")
            size = file.stat().st_size
            actual = file_sha256(file)
            if actual != entry["sha256"]:
                hint = (f" It is {size} bytes where {MANIFEST} says {entry['bytes']}: truncated or replaced."
                        if size != entry["bytes"] else " The file was modified or corrupted.")
                raise ModelPackageError(f"{file}: sha256 mismatch: expected {entry['sha256']}, actual {actual}.{hint} "
                                        f"{_FIX_EXPORT}, or reinstall the package.")

    # ------------------------------------------------------------------------------------------------------------------
    def graph_path(self, graph: str, precision: str = "fp32") -> Path:
        """The file of ``graph`` at ``precision`` (``fp32`` / ``fp16``)."""
        files = self.graphs[graph].files
        if precision not in files:
            raise ModelPackageError(f"{self.path}: package '{self.name}' has no {precision} {graph} graph "
                                    f"(it has {', '.join(sorted(files))}). Export it with --fp16 for GPU inference.")
        return files[precision]

    @property
    def has_fp16(self) -> bool:
        return all("fp16" in g.files for g in self.graphs.values())

    @property
    def size_bytes(self) -> int:
        return sum(int(e["bytes"]) for e in self.files.values())

    def check_session(self, graph: str, session: Any) -> None:
        """Check an ``onnxruntime`` session of ``graph`` against ``model.json``: names, K and sizes."""
        spec = self.graphs[graph]
        file = spec.files.get("fp32", next(iter(spec.files.values()))).name
        inputs = {i.name: i.shape for i in session.get_inputs()}
        outputs = {o.name: o.shape for o in session.get_outputs()}
        if tuple(inputs) != spec.inputs or tuple(outputs) != spec.outputs:
            raise ModelPackageError(
                f"{self.path / file}: graph inputs {list(inputs)} / outputs {list(outputs)} differ from {MANIFEST} "
                f"({list(spec.inputs)} / {list(spec.outputs)}). The graph belongs to another model. {_FIX_EXPORT}.")
        k, c, h, w = self.latent_shape
        expected = {"image_encoder": {"image": (3, self.height, self.width)},
                    "denoiser": {"latents": (k, c, h, w), "prediction": (k, c, h, w)},
                    "vae_decoder": {"latents": (k, c, h, w), "channels": (k, 4, self.height, self.width)},
                    "energy_net": {"image": (3, self.height, self.width),
                                   "log_band_energy": (k, self.height, self.width)}}[graph]
        for name, dims in expected.items():
            shape = inputs.get(name, outputs.get(name))
            got = tuple(shape[1:]) if shape is not None else None
            # symbolic dimensions (names where the exporter could not fix a size) match anything
            if got is not None and len(got) == len(dims) and all(
                    g == d or not isinstance(g, int) for g, d in zip(got, dims)):
                continue
            if got is not None and len(got) == len(dims) and name != "image" and got[0] != dims[0]:
                raise ModelPackageError(
                    f"{self.path / file}: this graph works on K = {got[0]} frequency bands but {MANIFEST} says "
                    f"K = {dims[0]}: the package mixes files of different models. {_FIX_EXPORT}.")
            raise ModelPackageError(f"{self.path / file}: '{name}' has shape [batch, {', '.join(map(str, got or ()))}]"
                                    f" but {MANIFEST} implies [batch, {', '.join(map(str, dims))}]. {_FIX_EXPORT}.")

    def summary(self) -> dict[str, Any]:
        """What ``image-dynamics models`` shows."""
        return {"name": self.name, "path": str(self.path), "K": self.num_bands,
                "resolution": f"{self.width}x{self.height}", "size_mb": round(self.size_bytes / 2 ** 20, 2),
                "fp16": self.has_fp16, "energy_net": self.has_energy_net, "licence": self.licence,
                **({"energy_input_key": self.energy_input_key} if self.energy_input_key else {}),
                **({"energy_gain": self.energy_gain} if self.energy_gain != 1.0 else {}),
                **({"energy_flip_average": True} if self.energy_flip_average else {}),
                "data": self.data_note,
                "steps": self.sampler.steps, "guidance": self.sampler.guidance, "sha256": self.sha256[:12]}


# ----------------------------------------------------------------------------------------------------------------------
# parsing


#: Bounds of model.json fields: far above any real model, low enough that nothing downstream overflows or allocates
#: without end.
MAX_FIELD_INT = 2**31 - 1
MAX_BANDS = 1024
MAX_MODEL_SIDE = 16384
MAX_TIMESTEPS = 100_000
MAX_FILE_BYTES = 2**40


def _short(value: Any) -> str:
    """``repr`` of a field value cut to 80 characters (a huge integer or list must not flood the message)."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long for repr
        return "a number too large to show"
    return text if len(text) <= 80 else text[:77] + "..."


def _parse(folder: Path, doc: dict[str, Any], sha: str) -> ModelPackage:
    manifest = folder / MANIFEST

    def fail(what: str) -> ModelPackageError:
        return ModelPackageError(f"{manifest}: {what}. {_FIX_EXPORT}.")

    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise fail(f"'format_version' must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelPackageError(f"{manifest}: package format {version} is newer than this image-dynamics reads "
                                f"({FORMAT_VERSION}). Update image-dynamics (pip install -U image-dynamics).")
    missing = [f for f in REQUIRED_FIELDS if f not in doc]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")

    def integer(value: Any, what: str, minimum: int = 1, maximum: int = MAX_FIELD_INT) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise fail(f"'{what}' must be an integer from {minimum} to {maximum}, got {_short(value)}")
        return value

    def number(value: Any, what: str) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        try:
            number = float(value) if ok else math.nan
        except OverflowError:
            number = math.nan
        if not math.isfinite(number):
            raise fail(f"'{what}' must be a finite number, got {_short(value)}")
        return number

    k = integer(doc["num_bands"], "num_bands", maximum=MAX_BANDS)
    freqs = doc["freqs_hz"]
    if not isinstance(freqs, list) or len(freqs) != k:
        raise fail(f"'freqs_hz' must list K = {k} frequencies, got {freqs!r}"[:300])
    freqs_hz = np.array([number(f, "freqs_hz") for f in freqs], np.float64)
    if np.any(freqs_hz < 0) or np.any(freqs_hz > limits.MAX_HZ):
        raise fail(f"'freqs_hz' must lie from 0 to {limits.MAX_HZ:g} Hz")
    freqs_hz = freqs_hz.astype(np.float32)
    fps = number(doc["fps"], "fps")
    if not limits.MIN_FPS <= fps <= limits.MAX_FPS:
        raise fail(f"'fps' must be from {limits.MIN_FPS:g} to {limits.MAX_FPS:g}, got {fps:g}")
    window = integer(doc["window_frames"], "window_frames", 2, limits.MAX_FRAMES)
    res = doc["resolution"]
    if not isinstance(res, dict):
        raise fail(f"'resolution' must be {{\"width\": W, \"height\": H}}, got {res!r}")
    width = integer(res.get("width"), "resolution.width", maximum=MAX_MODEL_SIDE)
    height = integer(res.get("height"), "resolution.height", maximum=MAX_MODEL_SIDE)
    grid = doc["coeff_grid"]
    if not isinstance(grid, list) or len(grid) != 2:
        raise fail(f"'coeff_grid' must be [width, height], got {grid!r}")
    coeff_grid = (integer(grid[0], "coeff_grid[0]", maximum=MAX_MODEL_SIDE),
                  integer(grid[1], "coeff_grid[1]", maximum=MAX_MODEL_SIDE))
    latent = doc["latent"]
    shape = latent.get("shape") if isinstance(latent, dict) else None
    if not isinstance(shape, list) or len(shape) != 4:
        raise fail(f"'latent.shape' must be [K, C, h, w], got {shape!r}")
    latent_shape = tuple(integer(v, "latent.shape", maximum=MAX_MODEL_SIDE) for v in shape)
    if latent_shape[0] != k:
        raise fail(f"'latent.shape' [K, C, h, w] = {list(latent_shape)} has K = {latent_shape[0]} but 'num_bands' "
                   f"is {k}")
    if not isinstance(doc["normalisation"], dict):
        raise fail("'normalisation' must be the normalisation statistics object")
    stats = norm_stats_from_json(json.dumps(doc["normalisation"]), f"{manifest} 'normalisation'")
    if stats.num_bands != k:
        raise fail(f"'normalisation' has statistics for {stats.num_bands} bands but 'num_bands' is {k}: the package "
                   "mixes parts of different models")
    sampler = _parse_sampler(doc["sampler"], fail, integer, number)
    graphs = _parse_graphs(folder, doc["graphs"], doc["files"], fail)
    opset = integer(doc["opset"], "opset", 7, 1000)
    files = {}
    for name, entry in doc["files"].items():
        if (not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or len(entry["sha256"]) != 64
                or any(c not in "0123456789abcdef" for c in entry["sha256"])
                or not isinstance(entry.get("bytes"), int) or isinstance(entry["bytes"], bool)
                or not 0 <= entry["bytes"] <= MAX_FILE_BYTES):
            raise fail(f"'files' entry '{_short(name)}' must be {{\"sha256\": <64 hex digits>, \"bytes\": <size>}}")
        if Path(name).name != name or name in ("", ".", "..") or "\x00" in name:
            raise fail(f"'files' entry '{name}' must be a plain file name inside the package folder")
        files[name] = entry
    for key in ("licence", "data_note", "name"):
        if not isinstance(doc[key], str):
            raise fail(f"'{key}' must be text, got {doc[key]!r}")
    energy_floor = energy_fill_px = energy_input_key = None
    energy_gain = 1.0
    energy_flip_average = False
    if "energy_net" in graphs:
        energy = doc.get("energy")
        if not isinstance(energy, dict) or "floor" not in energy:
            raise fail("the package has an 'energy_net' graph but no 'energy': {\"floor\": F} field")
        energy_floor = number(energy["floor"], "energy.floor")
        if not energy_floor > 0:
            raise fail(f"'energy.floor' must be positive, got {energy_floor}")
        if "fill_coherence_px" in energy:
            energy_fill_px = number(energy["fill_coherence_px"], "energy.fill_coherence_px")
            if not 0.5 <= energy_fill_px <= max(width, height):
                raise fail(f"'energy.fill_coherence_px' must be between 0.5 and {max(width, height)} grid pixels, "
                           f"got {energy_fill_px}")
        if "input_key" in energy:
            energy_input_key = number(energy["input_key"], "energy.input_key")
            low, high = ENERGY_INPUT_KEY_RANGE
            if not low <= energy_input_key <= high:
                raise fail(f"'energy.input_key' must be an exposure key between {low} and {high}, "
                           f"got {energy_input_key}")
        if "gain" in energy:
            energy_gain = number(energy["gain"], "energy.gain")
            low, high = ENERGY_GAIN_RANGE
            if not low <= energy_gain <= high:
                raise fail(f"'energy.gain' must be a calibration factor between {low} and {high}, got {energy_gain}; "
                           "refit it with scripts/calibrate_energy_gain.py")
        if "flip_average" in energy:
            energy_flip_average = energy["flip_average"]
            if not isinstance(energy_flip_average, bool):
                raise fail(f"'energy.flip_average' must be true or false, got {energy_flip_average!r}")
    return ModelPackage(folder, doc, sha, doc["name"], k, freqs_hz, fps, window, width, height, coeff_grid,
                        latent_shape, stats, sampler, graphs, opset, files, doc["licence"], doc["data_note"],
                        energy_floor, energy_fill_px, energy_input_key, energy_gain, energy_flip_average)


def _parse_sampler(entry: Any, fail, integer, number) -> SamplerDefaults:
    if not isinstance(entry, dict):
        raise fail("'sampler' must be an object")
    missing = [f"sampler.{f}" for f in SAMPLER_FIELDS if f not in entry]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")
    if entry["prediction"] not in ("v", "epsilon"):
        raise fail(f"'sampler.prediction' must be 'v' or 'epsilon', got {entry['prediction']!r}")
    if entry.get("timestep_spacing", "trailing") != "trailing":
        raise fail(f"'sampler.timestep_spacing' {entry['timestep_spacing']!r} is not supported (only 'trailing')")
    timesteps = integer(entry["train_timesteps"], "sampler.train_timesteps", 2, MAX_TIMESTEPS)
    table = entry["alphas_cumprod"]
    if not isinstance(table, list) or len(table) != timesteps:
        raise fail(f"'sampler.alphas_cumprod' must list train_timesteps = {timesteps} numbers")
    alphas = np.array([number(a, "sampler.alphas_cumprod") for a in table], np.float64)
    if np.any(alphas <= 0) or np.any(alphas >= 1) or np.any(np.diff(alphas) >= 0):
        # equal or rising values, or 1 (no noise at all), make the sampler divide by zero
        raise fail("'sampler.alphas_cumprod' must decrease strictly within (0, 1)")
    steps = integer(entry["steps"], "sampler.steps", maximum=MAX_TIMESTEPS)
    if steps > timesteps:
        raise fail(f"'sampler.steps' {steps} exceeds train_timesteps {timesteps}")
    eta = number(entry["eta"], "sampler.eta")
    if eta < 0:
        raise fail(f"'sampler.eta' must be >= 0, got {eta}")
    return SamplerDefaults(steps, eta, number(entry["guidance"], "sampler.guidance"), entry["prediction"],
                           str(entry["schedule"]), timesteps, alphas)


def _parse_graphs(folder: Path, entry: Any, files: Any, fail) -> dict[str, GraphSpec]:
    if not isinstance(entry, dict):
        raise fail("'graphs' must be an object")
    if not isinstance(files, dict) or not files:
        raise fail("'files' must list the package's files with their sha256 and size")
    missing = [f"graphs.{g}" for g in GRAPH_NAMES if g not in entry]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")
    graphs = {}
    for name in (*GRAPH_NAMES, *(n for n in OPTIONAL_GRAPH_NAMES if n in entry)):
        g = entry[name]
        if not isinstance(g, dict) or not isinstance(g.get("inputs"), list) or not isinstance(g.get("outputs"), list) \
                or not all(isinstance(n, str) for n in g["inputs"] + g["outputs"]):
            raise fail(f"'graphs.{name}' must have 'inputs' and 'outputs' name lists")
        if "fp32" not in g:
            raise fail(f"'graphs.{name}' must name its fp32 file")
        precisions = {}
        for precision in ("fp32", "fp16"):
            if precision not in g:
                continue
            if not isinstance(g[precision], str) or g[precision] not in files:
                raise fail(f"'graphs.{name}.{precision}' names '{g[precision]}', which 'files' does not list")
            precisions[precision] = folder / g[precision]
        graphs[name] = GraphSpec(name, tuple(g["inputs"]), tuple(g["outputs"]), precisions)
    return graphs


def check_opset_supported(opset: int, where: Path | str) -> None:
    """Raise :class:`ModelPackageError` when the installed onnxruntime is older than graphs of ``opset`` need."""
    import onnxruntime as ort

    try:
        installed = tuple(int(v) for v in ort.__version__.split(".")[:2])
    except ValueError:
        return
    needed = _FIRST_ORT_FOR_OPSET.get(opset) or (max(_FIRST_ORT_FOR_OPSET.values()) if opset > max(
        _FIRST_ORT_FOR_OPSET) else None)
    if needed is not None and installed < needed:
        raise ModelPackageError(
            f"{where}: the graphs use ONNX opset {opset}, which onnxruntime {ort.__version__} cannot run (it needs "
            f"{needed[0]}.{needed[1]} or newer). Update onnxruntime (pip install -U onnxruntime-gpu, or onnxruntime "
            "on macOS), or export the package with a lower --opset.")


# ----------------------------------------------------------------------------------------------------------------------
# hashing


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file, remembered per (path, size, modification time)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


# ----------------------------------------------------------------------------------------------------------------------
# finding installed packages


@dataclass(frozen=True)
class InstalledModel:
    """A package folder found by :func:`find_models` (not yet checked: load it with :meth:`ModelPackage.load`)."""

    name: str
    path: Path
    source: str  #: where it was found: ``argument``, ``IMAGE_DYNAMICS_MODELS`` or ``shipped``


def shipped_models_dir() -> Path:
    """The folder of the model packages that ship inside the engine (``image_dynamics/models/``: package data of the
    wheel, the Blender extension's copy of it, or the source checkout's ``core/image_dynamics/models/``)."""
    return Path(__file__).resolve().parents[1] / "models"


def search_folders(folders: list[str | os.PathLike] | None = None) -> list[tuple[Path, str]]:
    """Where packages are looked for, in order: ``folders`` (e.g. the add-on's Model Folder preference),
    ``$IMAGE_DYNAMICS_MODELS`` (os.pathsep-separated), then the packages shipped inside the engine."""
    found: list[tuple[Path, str]] = [(Path(f), "argument") for f in folders or []]
    env = os.environ.get(MODELS_ENV, "")
    found += [(Path(p), MODELS_ENV) for p in env.split(os.pathsep) if p.strip()]
    shipped = shipped_models_dir()
    if shipped.is_dir():
        found.append((shipped, "shipped"))
    return found


def find_models(folders: list[str | os.PathLike] | None = None) -> list[InstalledModel]:
    """Installed packages: every folder with a ``model.json`` in (or being) one of :func:`search_folders`.

    A name found twice is listed once, from the first folder (arguments before the environment before the shipped
    packages), so a user's own ``default`` replaces the shipped one.
    """
    models: dict[str, InstalledModel] = {}
    for folder, source in search_folders(folders):
        candidates = [folder] if (folder / MANIFEST).is_file() else (
            sorted(p for p in folder.iterdir() if (p / MANIFEST).is_file()) if folder.is_dir() else [])
        for path in candidates:
            models.setdefault(path.name, InstalledModel(path.name, path.resolve(), source))
    return list(models.values())


def default_model_available(folders: list[str | os.PathLike] | None = None) -> bool:
    """Whether a package named ``default`` is installed (found; not yet checked)."""
    return any(m.name == DEFAULT_MODEL for m in find_models(folders))


def resolve_model(name_or_path: str | os.PathLike | None = None,
                  folders: list[str | os.PathLike] | None = None) -> Path:
    """The folder of a package given by name (``None``: ``default``) or by path."""
    target = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    path = Path(target)
    looks_like_path = isinstance(name_or_path, os.PathLike) or os.sep in target or (
        os.altsep is not None and os.altsep in target) or target.startswith(".")
    if path.exists() or looks_like_path:
        if path.name == MANIFEST and path.is_file():
            path = path.parent
        if not path.exists():
            raise ModelPackageError(f"{path}: model package not found. Check the path, or list installed packages "
                                    "with `image-dynamics models`.")
        return path
    models = find_models(folders)
    for model in models:
        if model.name == target:
            return model.path
    where = ", ".join(str(f) for f, _ in search_folders(folders)) or f"nowhere ({MODELS_ENV} unset)"
    have = ", ".join(m.name for m in models) or "none"
    raise ModelPackageError(
        f"no model package named '{target}' is installed (looked in: {where}; found: {have}). Export one with "
        f"`image-dynamics export RUN -o MY_MODELS/{target}/`, point {MODELS_ENV} at MY_MODELS, or pass a "
        "package folder with --model PATH.")
