"""Export a trained :class:`~.model.MotionModel` as a model package: its ONNX graphs and ``model.json``.

``export_package(run_or_checkpoint, "my_models/default")``:

1. ``torch.onnx.export`` (TorchScript exporter, constant folding on) of the graphs of :func:`~.model.export_graphs`:
   ``image_encoder``, ``denoiser`` (frequency attention on), ``vae_decoder`` (latent un-scaling included) and, for
   a model trained with stage 4, ``energy_net``, each with a dynamic batch axis;
2. simplification: ``onnx.checker`` (full check, with shape inference) and, when the ``onnxslim`` package is
   installed, ``onnxslim.slim``; without it the exporter's constant folding is the only simplification (onnxruntime
   applies its own graph optimisations when it loads the graph);
3. a parity check per graph: onnxruntime (CPU) against torch on the example inputs, max abs difference recorded in
   ``model.json`` and at most :data:`PARITY_TOLERANCE`, else the export fails;
4. optionally fp16 copies for GPUs (``onnxruntime.transformers.float16``, inputs and outputs kept float32, the
   timestep-embedding subgraph kept float32 because ``cos(t * f)`` for ``t`` up to 999 needs more than fp16's
   11-bit mantissa);
5. ``model.json`` (see :mod:`image_dynamics.model.package`) with every file's sha256 and size.

Everything is written into a hidden staging folder beside ``out_dir`` and renamed into place at the end, so a failed
or interrupted export never leaves half a package.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..errors import ImageDynamicsError, InputError, OutputError
from ..model.package import FORMAT_VERSION, KIND, MANIFEST, file_sha256
from ..model.sampler import check_sampler_settings
from .model import MotionModel, export_graphs

DEFAULT_OPSET = 18  #: onnxruntime >= 1.14 runs it; the TorchScript exporter supports it fully
DEFAULT_LICENCE = "GPL-3.0-or-later (the weights are licensed like image-dynamics itself)"
PARITY_TOLERANCE = 1e-3


def _load_model(source: MotionModel | str | os.PathLike) -> MotionModel:
    if isinstance(source, MotionModel):
        return source
    path = Path(source)
    if path.is_dir():
        if not (path / "model.pt").is_file():
            raise InputError(f"{path}: no model.pt in this run folder. Train first (`image-dynamics train`), or pass "
                             "the checkpoint file itself.")
        path = path / "model.pt"
    return MotionModel.load(path, device="cpu")


def _simplifier() -> tuple[Any, str]:
    """``(onnxslim module or None, description)``."""
    try:
        import onnxslim
    except ImportError:
        return None, "torch constant folding + onnx.checker (onnxslim not installed)"
    return onnxslim, f"torch constant folding + onnx.checker + onnxslim {getattr(onnxslim, '__version__', '?')}"


def _timestep_nodes(model: Any, source: str = "timesteps") -> list[str]:
    """Names of the nodes computed from ``source`` and constants only (the timestep embedding and its MLP)."""
    constant = {i.name for i in model.graph.initializer}
    derived = {source}
    names = []
    for node in model.graph.node:
        inputs = [i for i in node.input if i]
        if node.op_type == "Constant" or all(i in constant for i in inputs):
            constant.update(node.output)
            continue
        if all(i in constant or i in derived for i in inputs):
            derived.update(node.output)
            names.append(node.name)
    return names


def _topological_sort(graph: Any) -> None:
    """Reorder ``graph.node`` in place so every node comes after the nodes producing its inputs."""
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ImageDynamicsError(f"fp16 conversion left a cycle or a dangling input at node {pending[0].name}")
        for node in ready:
            available.update(node.output)
        ordered += ready
        ready_ids = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in ready_ids]
    copies = [type(n)() for n in ordered]
    for copy, node in zip(copies, ordered):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def _max_abs_diff(got: list[np.ndarray], expected: tuple[torch.Tensor, ...]) -> float:
    return max(float(np.max(np.abs(g.astype(np.float64) - e.detach().cpu().double().numpy())))
               for g, e in zip(got, expected))


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1) + "\n")


def export_package(source: MotionModel | str | os.PathLike, out_dir: str | os.PathLike, name: str | None = None,
                   fp16: bool = False, opset: int = DEFAULT_OPSET, overwrite: bool = False,
                   licence: str = DEFAULT_LICENCE, data_note: str | None = None,
                   steps: int | None = None, eta: float | None = None, guidance: float | None = None,
                   energy_input_key: float | None = None, energy_gain: float | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the model package of a trained motion model.

    Args:
        source: a :class:`MotionModel`, a ``model.pt`` checkpoint, or a training run folder holding one.
        out_dir: the package folder to create (e.g. ``my_models/default``); its name is the package name by default.
        name: the package name recorded in ``model.json``.
        fp16: also write fp16 graphs (``*.fp16.onnx``) for GPU inference.
        opset: ONNX opset of the graphs (14 to 20 with this exporter; 18 runs on onnxruntime >= 1.14).
        overwrite: replace an existing package in ``out_dir``.
        licence: the weights' licence, recorded in ``model.json``.
        data_note: what data trained the model (default: the note the training run recorded).
        steps, eta, guidance: the sampler defaults the package records (default: the training configuration's), e.g.
            a guidance scale chosen by evaluating the trained model.
        energy_input_key: the exposure key the package's energy network sees each image at
            (:func:`~image_dynamics.model.processing.energy_net_input`; 0: the image as it is); default: the training
            configuration's. Recorded in the configuration the package carries too, so a model rebuilt from it agrees.
        energy_gain: the calibration gain on the energy network's band energies (``scripts/calibrate_energy_gain.py``);
            default: the model's own. Recorded in the configuration too, as ``energy_input_key`` is.
        progress: ``progress(done, total)`` after each graph written.

    Returns:
        The package folder.
    """
    import onnx
    import onnxruntime as ort

    out = Path(out_dir)
    if not 14 <= int(opset) <= 20:
        raise InputError(f"--opset must be between 14 and 20 for this exporter, got {opset}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder. Choose another output folder.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"{out}: already holds files; nothing was written. Pass --overwrite to replace the package, "
                          "or choose another folder.")
    model = _load_model(source).eval()
    if energy_input_key is not None:
        model.config = dataclasses.replace(model.config, energy_input_key=float(energy_input_key)).validate()
    if energy_gain is not None:
        model.config = dataclasses.replace(model.config, energy_gain=float(energy_gain)).validate()
    sampler = _sampler_defaults(model.config, steps, eta, guidance)
    name = name or out.resolve().name
    note = data_note if data_note is not None else (model.data_note or "not recorded")
    simplifier, simplification = _simplifier()
    graphs = export_graphs(model, batch=1)
    total = len(graphs) * (2 if fp16 else 1)
    done = 0

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out.parent}: cannot create the folder ({exc.strerror}).") from None
    stage = out.parent / f".{out.name}.export-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        graph_doc: dict[str, dict[str, Any]] = {}
        parity: dict[str, float] = {}
        parity_fp16: dict[str, Any] = {}
        for graph, spec in graphs.items():
            path = stage / f"{graph}.onnx"
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
                torch.onnx.export(spec["module"], spec["args"], str(path), input_names=spec["input_names"],
                                  output_names=spec["output_names"], dynamic_axes=spec["dynamic_axes"],
                                  opset_version=int(opset), do_constant_folding=True, dynamo=False)
            proto = onnx.load(str(path))
            onnx.checker.check_model(proto, full_check=True)
            if simplifier is not None:
                proto = simplifier.slim(proto)
                onnx.checker.check_model(proto, full_check=True)
                onnx.save(proto, str(path))
            with torch.no_grad():
                expected = spec["module"](*spec["args"])
            expected = expected if isinstance(expected, tuple) else (expected,)
            feeds = {n: a.detach().cpu().numpy() for n, a in zip(spec["input_names"], spec["args"])}
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            parity[graph] = _max_abs_diff(session.run(None, feeds), expected)
            if not parity[graph] <= PARITY_TOLERANCE:
                raise ImageDynamicsError(f"export of {graph}: onnxruntime and torch disagree by {parity[graph]:.3g} "
                                         f"(more than {PARITY_TOLERANCE}); the package was not written. Try another "
                                         "--opset, and report this as a bug.")
            graph_doc[graph] = {"inputs": spec["input_names"], "outputs": spec["output_names"],
                                "fp32": path.name}
            done += 1
            if progress is not None:
                progress(done, total)
            if fp16:
                graph_doc[graph]["fp16"], parity_fp16[graph] = _write_fp16(proto, stage / f"{graph}.fp16.onnx",
                                                                           feeds, expected)
                done += 1
                if progress is not None:
                    progress(done, total)

        doc = _manifest(model, name, int(opset), graph_doc, licence, note, simplification, parity, parity_fp16,
                        sampler)
        doc["files"] = {p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size}
                        for p in sorted(stage.glob("*.onnx"))}
        _write_json(stage / MANIFEST, doc)
        _move_into_place(stage, out, overwrite)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out


def _write_fp16(proto: Any, path: Path, feeds: dict[str, np.ndarray], expected: tuple[torch.Tensor, ...]
                ) -> tuple[str, Any]:
    """Convert to fp16 (io kept float32), save, and measure it on the CPU when onnxruntime's CPU kernels run it."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.transformers.float16 import convert_float_to_float16

    keep = _timestep_nodes(proto) if "timesteps" in [i.name for i in proto.graph.input] else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny weights clamped to fp16's range
        half = convert_float_to_float16(proto, keep_io_types=True, node_block_list=keep)
    _topological_sort(half.graph)  # the converter appends its input casts at the end, which onnx's checker refuses
    onnx.checker.check_model(half)
    onnx.save(half, str(path))
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        measured: Any = _max_abs_diff(session.run(None, feeds), expected)
    except Exception as exc:  # CPU kernels for some fp16 ops are missing: measured on a GPU instead
        measured = f"not run on the CPU ({type(exc).__name__})"
    return path.name, measured


def _sampler_defaults(config: Any, steps: int | None, eta: float | None, guidance: float | None) -> dict[str, Any]:
    """``steps``, ``eta``, ``guidance`` for ``model.json``: the given values, checked, else the configuration's."""
    steps, eta, guidance = check_sampler_settings(config.sample_steps if steps is None else steps,
                                                  config.sample_eta if eta is None else eta,
                                                  config.guidance if guidance is None else guidance,
                                                  config.train_timesteps)
    return {"steps": steps, "eta": eta, "guidance": guidance}


def _manifest(model: MotionModel, name: str, opset: int, graphs: dict[str, Any], licence: str, data_note: str,
              simplification: str, parity: dict[str, float], parity_fp16: dict[str, Any],
              sampler: dict[str, Any]) -> dict[str, Any]:
    import onnx
    import onnxruntime as ort

    cfg = model.config
    facts = model.facts()
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "name": name,
        "num_bands": cfg.num_bands,
        "freqs_hz": [float(np.format_float_positional(np.float32(f))) for f in model.freqs_hz],
        "fps": float(model.fps),
        "window_frames": int(model.window_frames),
        "resolution": {"width": cfg.width, "height": cfg.height},
        "coeff_grid": [int(v) for v in model.coeff_grid],
        "latent": {"shape": list(model.latent_shape), "channels": cfg.latent_channels,
                   "downsample": cfg.latent_downsample},
        "normalisation": json.loads(model.stats_json),
        "sampler": {**sampler, "prediction": cfg.prediction, "schedule": cfg.beta_schedule,
                    "train_timesteps": cfg.train_timesteps, "timestep_spacing": "trailing",
                    "alphas_cumprod": [float(a) for a in model.schedule.alphas_cumprod]},
        "graphs": graphs,
        "opset": opset,
        "files": {},
        "licence": licence,
        "data_note": data_note,
        **({"energy": {"floor": float(cfg.energy_floor),
                       **({"fill_coherence_px": float(cfg.energy_fill_px)} if cfg.energy_fill_px > 0 else {}),
                       **({"input_key": float(cfg.energy_input_key)} if cfg.energy_input_key > 0 else {}),
                       **({"gain": float(cfg.energy_gain)} if cfg.energy_gain != 1.0 else {}),
                       **({"flip_average": True} if cfg.energy_flip_average else {})}}
           if model.energy is not None else {}),
        "training": {"config_name": facts["config_name"], "config": facts["config"],
                     "frequency_attention_trained": facts["frequency_attention"],
                     "energy_net_trained": facts["energy_net"]},
        "export": {"created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                   "simplification": simplification, "parity_max_abs_diff_fp32": parity,
                   "parity_max_abs_diff_fp16_cpu": parity_fp16 or None},
        "software": {"image_dynamics": __version__, "torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxruntime": ort.__version__},
    }


def _move_into_place(stage: Path, out: Path, overwrite: bool) -> None:
    """Rename the staged package to ``out`` (an old package there is moved aside first, then deleted)."""
    old = None
    if out.exists():
        if any(out.iterdir()) and not overwrite:
            raise OutputError(f"{out}: already holds files; nothing was written. Pass --overwrite to replace it.")
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)
