"""Which onnxruntime execution provider runs the model, decided by trying it, and the session options.

``onnxruntime-gpu`` lists ``CUDAExecutionProvider`` and ``TensorrtExecutionProvider`` on every machine, GPU or not;
when the CUDA or cuDNN libraries are missing, a session asked for CUDA quietly runs on the CPU instead. So a provider
is trusted only after a probe: a session on a tiny in-memory graph (a 1x1 convolution, which needs cuDNN, and a ReLU)
is built with it, must report that provider as its first, and must run once and give the right numbers. Anything else
falls back to the CPU and says why in one line, once per process:

- this onnxruntime has no such provider (the CPU-only ``onnxruntime`` package is installed);
- no NVIDIA driver (``libcuda``) or no CUDA / cuDNN runtime libraries could be loaded, naming the missing ones;
- the provider failed its probe (the error onnxruntime gave).

``auto`` tries CUDA only. TensorRT must be asked for (``tensorrt``): it builds an engine per input shape on first use,
which takes minutes, and its sessions fall back to CUDA then CPU for what it cannot run.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import io
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

log = logging.getLogger("image_dynamics.model")

PROVIDER_NAMES = ("auto", "cuda", "tensorrt", "cpu")
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
_ORT_NAMES = {"cpu": CPU, "cuda": CUDA, "tensorrt": TENSORRT}

#: A tiny ONNX model (opset 13): ``y = relu(conv1x1(x, w = 2))`` for ``x`` float ``[1, 1, 2, 2]``. Made with
#: ``onnx.helper`` (see tests/test_model_runtime.py, which rebuilds and compares it); embedded so probing needs no
#: ``onnx`` package and no file.
PROBE_MODEL = base64.b64decode(
    "CAgSDmltYWdlLWR5bmFtaWNzOnUKDwoBeAoBdxIBYyIEQ29udgoMCgFjEgF5IgRSZWx1EgVwcm9iZSoTCAEIAQgBCAEQAUIBd0oEAAAAQFobCgF4"
    "EhYKFAgBEhAKAggBCgIIAQoCCAIKAggCYhsKAXkSFgoUCAESEAoCCAEKAggBCgIIAgoCCAJCBAoAEA0=")
_PROBE_INPUT = np.array([[[[-1.0, 0.0], [1.0, 2.0]]]], dtype=np.float32)
_PROBE_OUTPUT = np.maximum(2.0 * _PROBE_INPUT, 0.0)


@dataclass(frozen=True)
class ProviderChoice:
    """What runs the model.

    Attributes:
        requested: what was asked for (``auto``, ``cuda``, ``tensorrt``, ``cpu``).
        name: what will run it: ``cuda``, ``tensorrt`` or ``cpu``.
        providers: the provider list for ``onnxruntime.InferenceSession`` (with options where needed).
        notice: one line saying why a GPU provider is not used, or ``None``.
    """

    requested: str
    name: str
    providers: list[Any] = field(default_factory=list)
    notice: str | None = None

    @property
    def on_gpu(self) -> bool:
        return self.name in ("cuda", "tensorrt")

    @property
    def ort_name(self) -> str:
        """The onnxruntime name of the first (preferred) provider, which a session on it must report first."""
        first = self.providers[0]
        return first[0] if isinstance(first, tuple) else first


# ----------------------------------------------------------------------------------------------------------------------
# facts about this machine


def physical_cores() -> int:
    """Physical cores this process may use: hyper-threads of one core share its arithmetic units, so onnxruntime
    runs fastest with one thread per physical core. Linux: distinct (package, core) pairs among the CPUs in this
    process's affinity mask; elsewhere half the logical CPUs (at least 1)."""
    logical = os.cpu_count() or 1
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:
        return max(1, logical // 2)
    cores: set[tuple[str, str]] = set()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu, package = None, "0"
            for line in fh:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "processor":
                    cpu, package = int(value), "0"
                elif key == "physical id":
                    package = value
                elif key == "core id" and cpu in allowed:
                    cores.add((package, value))
    except (OSError, ValueError):
        cores = set()
    return max(1, min(len(cores) or len(allowed), len(allowed)))


def cuda_major() -> int:
    """The CUDA major version this onnxruntime was built against (12 when it does not say)."""
    import onnxruntime as ort

    version = getattr(ort, "cuda_version", "") or ""
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 12


def _library_names(kind: str) -> list[str]:
    major = cuda_major()
    if sys.platform == "win32":
        names = {"driver": ["nvcuda.dll"], "cuda": [f"cudart64_{major}.dll", f"cublas64_{major}.dll"],
                 "cudnn": ["cudnn64_9.dll"], "tensorrt": ["nvinfer_10.dll"]}
    else:
        names = {"driver": ["libcuda.so.1"], "cuda": [f"libcudart.so.{major}", f"libcublas.so.{major}",
                                                      f"libcublasLt.so.{major}"],
                 "cudnn": ["libcudnn.so.9"], "tensorrt": ["libnvinfer.so.10"]}
    return names[kind]


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _preload_pip_libraries() -> None:
    """Let onnxruntime load CUDA / cuDNN from the ``nvidia-*`` pip packages, where those are installed."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
        preload()


def missing_gpu_libraries(provider: str = "cuda") -> str | None:
    """Why ``provider`` (``cuda`` / ``tensorrt``) cannot load here, or ``None`` when its libraries load."""
    if sys.platform == "darwin":
        return "onnxruntime has no CUDA build for macOS"
    if not _loadable(_library_names("driver")[0]):
        return f"no NVIDIA driver found ({_library_names('driver')[0]} could not be loaded): this machine has no " \
               "usable NVIDIA GPU"
    _preload_pip_libraries()
    kinds = ["cuda", "cudnn"] + (["tensorrt"] if provider == "tensorrt" else [])
    missing = [name for kind in kinds for name in _library_names(kind) if not _loadable(name)]
    if missing:
        major = cuda_major()
        extra = " and TensorRT 10" if provider == "tensorrt" else ""
        return (f"no CUDA libraries found ({', '.join(missing)} could not be loaded): onnxruntime-gpu needs the CUDA "
                f"{major} and cuDNN 9{extra} runtime libraries; install them (for example "
                f"pip install 'onnxruntime-gpu[cuda,cudnn]') or put them on the library path")
    return None


# ----------------------------------------------------------------------------------------------------------------------
# probing


def _run_probe(providers: list[Any]) -> tuple[list[str], np.ndarray]:
    """Build a session on :data:`PROBE_MODEL` with ``providers`` and run it once: (session providers, output)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # the probe's own failure is reported by us, in one line
    session = ort.InferenceSession(PROBE_MODEL, sess_options=options, providers=providers)
    (out,) = session.run(None, {"x": _PROBE_INPUT})
    return session.get_providers(), out


_PROBE_CACHE: dict[str, str | None] = {}
_SAID: set[str] = set()


def reset_probe_cache() -> None:
    """Forget probe results and notices already given (tests; after installing GPU libraries in a running Blender)."""
    _PROBE_CACHE.clear()
    _SAID.clear()


def probe_provider(name: str) -> str | None:
    """Try provider ``name`` (``cuda`` / ``tensorrt``) for real; ``None`` when it works, else why not (one phrase).

    Results are kept for the life of the process.
    """
    if name in _PROBE_CACHE:
        return _PROBE_CACHE[name]
    import onnxruntime as ort

    ort_name = _ORT_NAMES[name]
    if ort_name not in ort.get_available_providers():
        why = f"this onnxruntime ({ort.__version__}) has no {ort_name}; install onnxruntime-gpu for GPU inference"
    else:
        why = missing_gpu_libraries(name)
    if why is None:
        providers = provider_list(name)
        try:
            # onnxruntime logs its own (multi-line) errors while a provider fails to load: silence them for the probe
            ort.set_default_logger_severity(4)
            try:
                used, out = _run_probe(providers)
            finally:
                ort.set_default_logger_severity(2)
            if not used or used[0] != ort_name:
                why = f"{ort_name} failed its probe (onnxruntime fell back to {used[0] if used else 'nothing'})"
            elif not np.allclose(out, _PROBE_OUTPUT, atol=1e-3):
                why = f"{ort_name} failed its probe (wrong result {out.ravel().tolist()})"
        except Exception as exc:  # onnxruntime raises its own exception types (Fail, RuntimeException, ...)
            why = f"{ort_name} failed its probe ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]})"
    _PROBE_CACHE[name] = why
    return why


def provider_list(name: str) -> list[Any]:
    """The ``providers`` argument of an ``InferenceSession`` for ``name`` (GPU ones fall back to the CPU)."""
    if name == "cpu":
        return [CPU]
    cuda = (CUDA, {"device_id": 0})
    if name == "cuda":
        return [cuda, CPU]
    # TensorRT engines take minutes to build: keep them on disk between runs
    return [(TENSORRT, {"device_id": 0, "trt_fp16_enable": True, "trt_engine_cache_enable": True,
                        "trt_engine_cache_path": _tensorrt_cache_dir()}), cuda, CPU]


def _tensorrt_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "image-dynamics", "tensorrt")
    with contextlib.suppress(OSError):
        os.makedirs(folder, exist_ok=True)
    return folder


def say_once(line: str) -> None:
    """Log ``line`` as a warning the first time it comes up in this process (without handlers: one stderr line)."""
    if line not in _SAID:
        _SAID.add(line)
        log.warning(line)


def choose_providers(requested: str = "auto", notify: bool = True) -> ProviderChoice:
    """Decide what runs the model.

    Args:
        requested: ``auto`` (CUDA when its probe succeeds, else CPU), ``cuda``, ``tensorrt`` or ``cpu``.
        notify: say the fallback reason once per process (as a warning on the ``image_dynamics.model`` logger).

    Returns:
        A :class:`ProviderChoice`; a GPU provider that cannot run gives the CPU with ``notice`` saying why.
    """
    requested = str(requested).lower()
    if requested not in PROVIDER_NAMES:
        raise InputError(f"unknown provider '{requested}'; choose one of {', '.join(PROVIDER_NAMES)}")
    if requested == "cpu":
        return ProviderChoice(requested, "cpu", provider_list("cpu"))
    wanted = "cuda" if requested == "auto" else requested
    why = probe_provider(wanted)
    if why is None:
        return ProviderChoice(requested, wanted, provider_list(wanted))
    label = "GPU" if requested == "auto" else wanted.upper() if wanted == "cuda" else "TensorRT"
    notice = f"image-dynamics: running the motion model on the CPU, not the {label}: {why}."
    if notify:
        say_once(notice)
    return ProviderChoice(requested, "cpu", provider_list("cpu"), notice)


def fallback_to_cpu(choice: ProviderChoice, reason: str, notify: bool = True) -> ProviderChoice:
    """A CPU choice after a GPU provider failed on the real graphs (``reason`` says how)."""
    notice = f"image-dynamics: running the motion model on the CPU, not {choice.name.upper()}: {reason}."
    if notify:
        say_once(notice)
    return ProviderChoice(choice.requested, "cpu", provider_list("cpu"), notice)


def session_options(choice: ProviderChoice | None = None) -> Any:
    """``onnxruntime.SessionOptions``: one intra-op thread per physical core, every graph optimisation, quiet logs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = physical_cores()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # idle pool threads sleep instead of spinning: on a CPU shared with Blender's UI, a renderer or other jobs, spinning
    # threads steal the cores the working ones need (measured on 2 busy cores: 0.19 -> 0.125 s per denoiser step)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # No "session.set_denormal_as_zero": it switches the calling thread's FPU to flush-to-zero, a state that leaks into
    # the host process (numpy, Blender) after the run.
    return options


# ----------------------------------------------------------------------------------------------------------------------
# reports


def explain_providers() -> str:
    """A human-readable report: onnxruntime build, providers it lists, what each probe found, what ``auto`` uses.

    The ``image-dynamics models`` command and the Blender preferences show it.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return f"onnxruntime is not installed ({exc}); install image-dynamics with its dependencies."
    lines = [f"onnxruntime {ort.__version__} ({getattr(ort, 'package_name', 'onnxruntime')}, "
             f"CUDA {getattr(ort, 'cuda_version', '') or 'none'}); providers listed: "
             f"{', '.join(ort.get_available_providers())}",
             f"CPU: {physical_cores()} physical core(s) used for inference"]
    for name in ("cuda", "tensorrt"):
        if _ORT_NAMES[name] not in ort.get_available_providers():
            lines.append(f"{name.upper() if name == 'cuda' else 'TensorRT'}: not in this onnxruntime build")
            continue
        why = probe_provider(name)
        lines.append(f"{name.upper() if name == 'cuda' else 'TensorRT'}: "
                     + ("works (probe ran)" if why is None else f"not usable: {why}"))
    auto = choose_providers("auto", notify=False)
    lines.append(f"auto uses: {auto.name.upper() if auto.name != 'cpu' else 'CPU'}")
    return "\n".join(lines)
