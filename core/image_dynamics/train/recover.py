"""A trainable motion model rebuilt from an exported package whose torch checkpoint is lost.

Release 4's ``model.pt`` did not survive; its ONNX package did. Every weight the runtime uses is in the package's
graphs: most initializers keep their torch names, and those that ``torch.onnx.export``'s constant folding renamed
(``onnx::MatMul_N``: a ``Linear`` weight, transposed; ``onnx::Mul_N`` / ``onnx::Add_N``: a ``GroupNorm``'s affine
weight / bias reshaped to ``[C, 1, 1]``; the VAE decoder's latent unscaling) are found through the node that consumes
them, whose name is the module's scope (``/unet/down_blocks.0.0/norm1/Mul`` -> ``unet.down_blocks.0.0.norm1.weight``).

What the package cannot give back is the VAE *encoder* (the runtime never encodes coefficients): it stays at its
initialisation and is marked in the facts (``vae_encoder_trained: False``), so a run from the rebuilt model may train
stage 4 (the motion-energy network, which needs only images) but must not build latents with that encoder.
:func:`check_recovered` compares every rebuilt graph with the package's own on the same inputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..model.package import ModelPackage
from .model import CHECKPOINT_FORMAT, MotionModel, export_graphs

#: graph file -> (prefix of its initializer names in front of the MotionModel state-dict key, the state-dict subtree
#: its weights belong to). A name is tried inside the subtree first, then as it is (a graph exported
#: from the submodule itself names its weights relative to it).
_GRAPH_PREFIX = {"image_encoder": ("", "encoder."), "denoiser": ("", "unet."),
                 "vae_decoder": ("model.", "vae.decoder."), "energy_net": ("", "energy.")}


def _facts_from_package(meta: dict[str, Any]) -> dict[str, Any]:
    """Checkpoint facts (:meth:`MotionModel.facts`) from a package's checked ``model.json``."""
    training = meta.get("training") or {}
    if "config" not in training:
        raise InputError("this package does not record its training configuration; it cannot be rebuilt for training")
    return {"config_name": training["config_name"], "config": training["config"],
            "stats_json": json.dumps(meta["normalisation"]), "coeff_grid": list(meta["coeff_grid"]),
            "freqs_hz": list(meta["freqs_hz"]), "fps": float(meta["fps"]), "window_frames": int(meta["window_frames"]),
            "data_note": str(meta.get("data_note", "")),
            "frequency_attention": bool(training.get("frequency_attention_trained", True)),
            "energy_net": "energy_net" in meta.get("graphs", {})}


def _as_package(package: str | os.PathLike | ModelPackage) -> ModelPackage:
    """``package`` itself, or the package folder read and checked (fields, files, hashes) by
    :meth:`ModelPackage.load`."""
    return package if isinstance(package, ModelPackage) else ModelPackage.load(package)


def _scope_param(node_name: str, leaf: str, subtree: str, state: dict[str, torch.Tensor]) -> str | None:
    """The state-dict key of parameter ``leaf`` (``weight`` / ``bias``) of the module that ran node ``node_name``.

    A scope lists the modules entered on the way (``/energy/stages.0/stages.0.0/norm1/Mul``) but skips those whose
    methods other than ``forward`` were called, so it is matched by its tail: the longest run of its last components
    that names exactly one parameter under ``subtree``."""
    parts = [p for p in node_name.split("/") if p][:-1]
    for n in range(len(parts), 0, -1):
        tail = "." + ".".join(parts[-n:]) + "." + leaf
        hits = [k for k in state if k.startswith(subtree) and ("." + k).endswith(tail)]
        if len(hits) == 1:
            return hits[0]
    return None


def _load_graph(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    """An ONNX file's graph and its initializers as arrays ``{name: array}``."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    return graph, {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def _graph_weights(graph: Any, inits: dict[str, np.ndarray], prefix: tuple[str, str],
                   state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """State-dict entries ``{key: array}`` recovered from one ONNX graph (shapes as the torch parameters')."""
    name_prefix, subtree = prefix
    found: dict[str, np.ndarray] = {}
    for name, value in inits.items():
        stripped = name[len(name_prefix):] if name_prefix and name.startswith(name_prefix) else name
        key = next((k for k in (subtree + stripped, stripped) if k in state), None)
        if key is not None:
            found[key] = value
    folded = {"MatMul": ("weight", lambda v: v.T), "Mul": ("weight", lambda v: v.reshape(-1)),
              "Add": ("bias", lambda v: v.reshape(-1))}
    for node in graph.node:
        if node.op_type not in folded:
            continue
        leaf, unfold = folded[node.op_type]
        for name in node.input:
            if name in inits and name.startswith("onnx::"):
                key = _scope_param(node.name, leaf, subtree, state)
                if key is not None and key not in found:
                    found[key] = unfold(inits[name])
    return found


def rebuild_from_package(package_dir: str | os.PathLike | ModelPackage) -> tuple[MotionModel, list[str]]:
    """The :class:`MotionModel` whose export is the package at ``package_dir``, and the state-dict keys the package
    could not supply (the VAE encoder's; :class:`InputError` if any other is missing)."""
    package = _as_package(package_dir)
    model = MotionModel.from_facts(_facts_from_package(package.doc))
    state = model.state_dict()
    recovered: dict[str, np.ndarray] = {}
    for name in package.graphs:
        graph, inits = _load_graph(package.graph_path(name))
        recovered.update(_graph_weights(graph, inits, _GRAPH_PREFIX[name], state))
        if name == "vae_decoder":
            recovered.update(_latent_stats(graph, inits, model))
    missing = [k for k in state if k not in recovered]
    unexpected = [k for k in missing if not k.startswith("vae.encoder.")]
    if unexpected:
        raise InputError(f"{package_dir}: the package lacks weights for {len(unexpected)} parameters, e.g. "
                         f"{', '.join(unexpected[:4])}")
    for key, value in recovered.items():
        if tuple(value.shape) != tuple(state[key].shape):
            raise InputError(f"{package_dir}: weight {key} has shape {value.shape}, the model wants "
                             f"{tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.array(value, copy=True)).to(state[key].dtype)
    model.load_state_dict(state)
    model.vae_encoder_trained = not any(k.startswith("vae.encoder.") for k in missing)
    return model.eval(), missing


def _latent_stats(graph: Any, inits: dict[str, np.ndarray], model: MotionModel) -> dict[str, np.ndarray]:
    """``latent_mean`` / ``latent_std`` ``[K, C]`` from the decoder graph's unscaling (``x * std + mean``, the two
    folded constants shaped ``[K, C, 1, 1]`` or broadcastable to it)."""
    k, c = model.latent_mean.shape
    out: dict[str, np.ndarray] = {}
    for node in graph.node:
        for name in node.input:
            value = inits.get(name)
            if value is None or value.size != k * c or not name.startswith("onnx::"):
                continue
            if node.op_type == "Mul":
                out["latent_std"] = value.reshape(k, c)
            elif node.op_type == "Add":
                out["latent_mean"] = value.reshape(k, c)
    return out


def check_recovered(model: MotionModel, package_dir: str | os.PathLike | ModelPackage) -> dict[str, float]:
    """Largest absolute difference between each rebuilt torch graph and the package's ONNX graph on the same
    example inputs ``{graph: max |torch - onnx|}``."""
    import onnxruntime as ort

    package = _as_package(package_dir)
    diffs: dict[str, float] = {}
    for graph, spec in export_graphs(model).items():
        session = ort.InferenceSession(str(package.graph_path(graph)), providers=["CPUExecutionProvider"])
        feeds = {n: a.detach().cpu().numpy() for n, a in zip(spec["input_names"], spec["args"])}
        with torch.no_grad():
            expected = spec["module"](*spec["args"])
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        got = session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})
        diffs[graph] = max(float(np.abs(np.asarray(e.detach().cpu().numpy()) - g).max())
                           for e, g in zip(expected, got))
    return diffs


#: Largest difference a rebuilt graph may show against the package's own (float32 reassociation gives ~1e-5).
PARITY_TOLERANCE = 1e-3


def package_payload(package_dir: str | os.PathLike) -> dict[str, Any]:
    """A ``model.pt`` payload (:meth:`MotionModel.save`'s content) rebuilt from the package at ``package_dir`` and
    checked against it (:func:`check_recovered`); :class:`InputError` when a graph does not come back exactly."""
    package = _as_package(package_dir)
    model, _ = rebuild_from_package(package)
    diffs = check_recovered(model, package)
    worst = max(diffs, key=diffs.get)
    if diffs[worst] > PARITY_TOLERANCE:
        raise InputError(f"{package_dir}: the rebuilt {worst} graph differs from the package's by {diffs[worst]:.2g} "
                         f"(at most {PARITY_TOLERANCE} expected); this package cannot be continued")
    return {"kind": model.checkpoint_kind, "format_version": CHECKPOINT_FORMAT, **model.facts(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "rebuilt_parity": diffs}
