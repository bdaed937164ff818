"""Image -> spectral volume with a model package on onnxruntime: :class:`MotionPredictor` and :func:`predict_motion`.

The pipeline repeats ``MotionModel.predict`` of the torch side with the exported graphs:

1. the image (uint8 or float 0..1 sRGB ``[H, W, C]``; linear images are encoded to sRGB first) is placed on the model
   grid without distortion (:func:`~.processing.fit_to_model_grid`): resized to the largest grid of its own aspect
   ratio and mirror-padded to the training aspect ratio;
2. ``image_encoder`` -> conditioning features; 3. numpy DDIM (:mod:`.sampler`) driving ``denoiser`` (conditional and
   unconditional predictions in one batch when guidance is on); 4. ``vae_decoder`` -> normalised channels;
5. denormalised to pixels of the model grid and, when the package has an ``energy_net``, each pixel's motion rescaled
   to the energy that network predicts (:func:`~.processing.match_band_energy`);
6. cropped to the image's part: the volume's grid has the image's aspect ratio (to within half a grid pixel) and
   covers exactly the image.

Sessions stay open in a :class:`MotionPredictor`; :func:`predict_motion` keeps the last few predictors, so calling it
repeatedly does not reload graphs. Results are cached on disk (:mod:`.cache`).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import spectral
from ..errors import CancelledError, ImageDynamicsError, InputError
from ..limits import check_seed
from . import cache as motion_cache
from .package import ModelPackage, ModelPackageError, resolve_model
from .processing import (
    channels_to_output,
    coherent_fill,
    energy_from_log,
    energy_net_input,
    fit_to_model_grid,
    prepare_on_grid,
    read_energy_net,
)
from .providers import ProviderChoice, choose_providers, fallback_to_cpu, session_options
from .sampler import check_sampler_settings, sample_latents

PRECISIONS = ("auto", "fp32", "fp16")


class _GraphRunner:
    """Runs one session. On the CPU a plain ``run``; on CUDA through IO binding, with inputs that stay the same for a
    whole sample (the image features) uploaded to the GPU once (:meth:`set_constants`) instead of every step."""

    def __init__(self, session: Any, on_gpu: bool) -> None:
        self.session = session
        self.on_gpu = on_gpu
        self.output_names = [o.name for o in session.get_outputs()]
        self._constants: dict[str, Any] = {}
        self.runs = 0

    def set_constants(self, feeds: dict[str, np.ndarray]) -> None:
        if self.on_gpu:
            import onnxruntime as ort

            self._constants = {n: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(a), "cuda", 0)
                               for n, a in feeds.items()}
        else:
            self._constants = dict(feeds)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.runs += 1
        if not self.on_gpu:
            return self.session.run(self.output_names, {**self._constants, **feeds})
        binding = self.session.io_binding()
        for name, value in self._constants.items():
            binding.bind_ortvalue_input(name, value)
        for name, array in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(array))
        for name in self.output_names:
            binding.bind_output(name, "cuda")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


class MotionPredictor:
    """A model package with its onnxruntime sessions open, predicting spectral volumes for images.

    Args:
        model: a package name (``None``: ``default``), a package folder, or a loaded :class:`ModelPackage`.
        provider: ``auto``, ``cuda``, ``tensorrt`` or ``cpu`` (see :mod:`.providers`; GPU providers are probed, and a
            failure falls back to the CPU with a one-line notice).
        precision: ``auto`` (fp16 graphs on a GPU when the package has them, else fp32), ``fp32`` or ``fp16``
            (GPU only; on the CPU fp32 is used).
        notify: log fallback notices (once per process); the CLI turns this off and prints ``notice`` itself.
        folders: extra folders to look for packages by name.
    """

    def __init__(self, model: str | os.PathLike | ModelPackage | None = None, provider: str = "auto",
                 precision: str = "auto", notify: bool = True,
                 folders: list[str | os.PathLike] | None = None) -> None:
        if precision not in PRECISIONS:
            raise InputError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
        self.package = model if isinstance(model, ModelPackage) else ModelPackage.load(resolve_model(model, folders))
        self.requested_precision = precision
        self.notify = notify
        self.choice: ProviderChoice = choose_providers(provider, notify=notify)
        self._runners: dict[str, _GraphRunner] | None = None
        self._lock = threading.Lock()
        self.last_from_cache = False  #: whether the last :meth:`predict` came from the disk cache

    # --- sessions -----------------------------------------------------------------------------------------------------
    @property
    def provider(self) -> str:
        """What runs the graphs: ``cpu``, ``cuda`` or ``tensorrt``."""
        return self.choice.name

    @property
    def notice(self) -> str | None:
        """Why a GPU is not used (one line), or ``None``."""
        return self.choice.notice

    @property
    def precision(self) -> str:
        if self.choice.on_gpu and self.package.has_fp16 and self.requested_precision in ("auto", "fp16"):
            return "fp16"
        return "fp32"

    @property
    def graph_runs(self) -> int:
        """How many times any graph has run (a cached result runs none)."""
        return sum(r.runs for r in (self._runners or {}).values())

    def load_sessions(self) -> None:
        """Open the three sessions now (otherwise the first prediction does), checking them against ``model.json``."""
        if self._runners is not None:
            return
        try:
            self._runners = self._open_sessions()
        except ModelPackageError:
            raise
        except Exception as exc:
            if not self.choice.on_gpu:
                raise
            self.choice = fallback_to_cpu(self.choice, f"its sessions failed to open ({_first_line(exc)})",
                                          self.notify)
            self._runners = self._open_sessions()

    def _open_sessions(self) -> dict[str, _GraphRunner]:
        import onnxruntime as ort

        runners = {}
        precision = self.precision
        for graph in self.package.graphs:
            path = self.package.graph_path(graph, precision)
            try:
                session = ort.InferenceSession(str(path), sess_options=session_options(self.choice),
                                               providers=self.choice.providers)
            except Exception as exc:
                if self.choice.on_gpu:
                    raise
                raise ModelPackageError(
                    f"{path}: onnxruntime {ort.__version__} cannot load this graph ({_first_line(exc)}). The file "
                    "may be corrupt or truncated, or need a newer onnxruntime; re-export or reinstall the package."
                ) from None
            if self.choice.on_gpu and session.get_providers()[0] != self.choice.ort_name:
                raise RuntimeError(f"onnxruntime put {path.name} on {session.get_providers()[0]}")
            self.package.check_session(graph, session)
            runners[graph] = _GraphRunner(session, self.choice.on_gpu)
        return runners

    # --- prediction ---------------------------------------------------------------------------------------------------
    def predict(self, pixels: np.ndarray, seed: int = 0, steps: int | None = None, eta: float | None = None,
                guidance: float | None = None, progress: Callable[[int, int], None] | None = None,
                cancel: Any = None, cache: bool = True, colorspace: str = "srgb",
                cache_folder: str | os.PathLike | None = None, use_energy_net: bool = True
                ) -> spectral.SpectralVolume:
        """The spectral volume of one image.

        Args:
            pixels: ``[H, W, C]`` (C = 3 or 4; alpha is ignored) or ``[H, W]`` grey; uint8 (0..255), uint16
                (0..65535) or float (0..1 sRGB, or scene-linear with ``colorspace='linear'``).
            seed: the sample's seed (same seed, image and settings: same result on the same provider).
            steps, eta, guidance: DDIM settings; ``None`` takes the package's defaults.
            progress: ``progress(done, total)`` after every DDIM step.
            cancel: a :class:`~image_dynamics.jobs.CancelToken` or a callable returning True to stop; checked
                between steps, raising :class:`CancelledError`.
            cache: reuse and store results in the disk cache (:mod:`.cache`).
            colorspace: ``'srgb'`` or ``'linear'`` (encoded to sRGB before the model sees it, as it was trained).
            use_energy_net: rescale the sample to the package's motion-energy network (when it has one); False
                gives the diffusion sample alone (for comparisons).

        Returns:
            A :class:`~image_dynamics.spectral.SpectralVolume` on a grid of the image's aspect ratio inside the model
            grid, coefficients in pixels of that grid; ``meta`` records model, package sha256, seed, steps, eta,
            guidance, provider, precision, source size, model grid and padding.
        """
        seed = check_seed(seed, "seed")  # the one rule of every entry point (CLI --seed, add-on, Python)
        image = _check_pixels(pixels)
        if colorspace not in ("srgb", "linear"):
            raise InputError(f"colorspace must be 'srgb' or 'linear', got {colorspace!r}")
        sampler = self.package.sampler
        steps, eta, guidance = check_sampler_settings(sampler.steps if steps is None else steps,
                                                      sampler.eta if eta is None else float(eta),
                                                      sampler.guidance if guidance is None else float(guidance),
                                                      sampler.train_timesteps)
        key = None
        folder = Path(cache_folder) if cache_folder is not None else None
        energy = bool(use_energy_net) and self.package.has_energy_net
        if cache:
            key = motion_cache.cache_key(motion_cache.image_sha256(image), self.package.sha256, seed, steps, eta,
                                         guidance, self.precision, colorspace, energy)
            hit = motion_cache.load_cached(key, folder)
            self.last_from_cache = hit is not None
            if hit is not None:
                if progress is not None:
                    progress(steps, steps)
                return hit
        self.last_from_cache = False
        with self._lock:
            sv = self._predict_with_fallback(image, colorspace, int(seed), steps, eta, guidance, energy, progress,
                                             cancel)
        if key is not None:
            motion_cache.store(key, sv, folder)
        return sv

    def _predict_with_fallback(self, image, colorspace, seed, steps, eta, guidance, energy, progress, cancel):
        self.load_sessions()
        try:
            return self._predict(image, colorspace, seed, steps, eta, guidance, energy, progress, cancel)
        except (CancelledError, ImageDynamicsError, KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            if not self.choice.on_gpu:
                raise
            # a GPU provider that passed its probe can still fail on the real graphs (out of memory, a missing
            # kernel): finish on the CPU rather than fail the user's job
            self.choice = fallback_to_cpu(self.choice, f"it failed while running the model ({_first_line(exc)})",
                                          self.notify)
            self._runners = None
            self.load_sessions()
            return self._predict(image, colorspace, seed, steps, eta, guidance, energy, progress, cancel)

    def _predict(self, image: np.ndarray, colorspace: str, seed: int, steps: int, eta: float, guidance: float,
                 energy: bool, progress, cancel) -> spectral.SpectralVolume:
        pkg = self.package
        runners = self._runners
        started = time.perf_counter()
        if colorspace == "linear":
            from ..io import linear_to_srgb

            image = linear_to_srgb(np.clip(image[..., :3].astype(np.float32), 0.0, 1.0))
        height, width = image.shape[:2]
        fit = fit_to_model_grid(width, height, pkg.width, pkg.height)
        batch = prepare_on_grid(image, fit)

        features = runners["image_encoder"].run({"image": batch})
        feature_names = runners["image_encoder"].output_names
        denoiser = runners["denoiser"]
        if guidance != 1.0:
            both = {n: np.concatenate([f, np.zeros_like(f)]) for n, f in zip(feature_names, features)}
            denoiser.set_constants(both)
        else:
            denoiser.set_constants(dict(zip(feature_names, features)))

        def denoise(x: np.ndarray, t: np.ndarray, g: float) -> np.ndarray:
            if g == 1.0:
                return denoiser.run({"latents": x, "timesteps": t})[0]
            out = denoiser.run({"latents": np.concatenate([x, x]), "timesteps": np.concatenate([t, t])})[0]
            cond, uncond = out[: x.shape[0]], out[x.shape[0]:]
            return uncond + g * (cond - uncond)

        latents = sample_latents(denoise, pkg.sampler.alphas_cumprod, pkg.sampler.prediction, pkg.latent_shape,
                                 [seed], steps, eta, guidance, progress=progress, cancel=cancel, guided=True)
        (channels,) = runners["vae_decoder"].run({"latents": latents})
        band_energy = None
        if energy:
            log_energy = read_energy_net(lambda images: runners["energy_net"].run({"image": images})[0],
                                         energy_net_input(batch, pkg.energy_input_key), pkg.energy_flip_average)
            band_energy = energy_from_log(log_energy, pkg.energy_floor, pkg.energy_gain)
        fill = None
        if band_energy is not None and pkg.energy_fill_px is not None:
            fill = coherent_fill(channels.shape, pkg.energy_fill_px, seed)
        coeffs = channels_to_output(channels, pkg.stats, pkg.coeff_grid, pkg.width, pkg.height, band_energy,
                                    fill)[0]
        rows, cols = fit.crop
        meta = {"source": "model", "model": pkg.name, "package_sha256": pkg.sha256, "seed": seed, "steps": steps,
                "eta": eta, "guidance": guidance, "energy_net": energy, "provider": self.provider,
                "precision": self.precision,
                "source_size": [int(width), int(height)], "model_grid": [pkg.width, pkg.height],
                "padding": {"left": fit.left, "top": fit.top, "right": pkg.width - fit.width - fit.left,
                            "bottom": pkg.height - fit.height - fit.top},
                "window_frames": pkg.window_frames, "seconds": round(time.perf_counter() - started, 3)}
        return spectral.make(coeffs[:, :, rows, cols], pkg.freqs_hz, pkg.fps, meta)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"


def _check_pixels(pixels: np.ndarray) -> np.ndarray:
    """An image array as float32 ``[H, W, C]`` 0..1 (uint8 / uint16 scaled; grey repeated to RGB)."""
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"image pixels must be [H, W, 3] (RGB) or [H, W, 4] (RGBA), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"image pixels must be uint8, uint16 or float, got {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr[..., :3])):
        raise InputError("image pixels hold NaN or infinite values; fix the image (or its EXR channels) first")
    return arr


# ----------------------------------------------------------------------------------------------------------------------

_PREDICTORS: OrderedDict[tuple[str, str, str, str], MotionPredictor] = OrderedDict()
_KEEP = 2
_PREDICTORS_LOCK = threading.Lock()


def get_predictor(model: str | os.PathLike | ModelPackage | MotionPredictor | None = None, provider: str = "auto",
                  precision: str = "auto") -> MotionPredictor:
    """A :class:`MotionPredictor` for ``model``, reused while its package is unchanged (the last two are kept)."""
    if isinstance(model, MotionPredictor):
        return model
    package = model if isinstance(model, ModelPackage) else ModelPackage.load(resolve_model(model))
    key = (str(package.path.resolve()), package.sha256, str(provider).lower(), precision)
    with _PREDICTORS_LOCK:
        if key in _PREDICTORS:
            _PREDICTORS.move_to_end(key)
            return _PREDICTORS[key]
        predictor = MotionPredictor(package, provider, precision)
        _PREDICTORS[key] = predictor
        while len(_PREDICTORS) > _KEEP:
            _PREDICTORS.popitem(last=False)
        return predictor


def predict_motion(pixels: np.ndarray, model: str | os.PathLike | ModelPackage | MotionPredictor | None = None,
                   seed: int = 0, steps: int | None = None, eta: float | None = None, guidance: float | None = None,
                   provider: str = "auto", progress: Callable[[int, int], None] | None = None, cancel: Any = None,
                   cache: bool = True, colorspace: str = "srgb") -> spectral.SpectralVolume:
    """Predict the spectral volume of an image with a model package (``None``: the installed ``default``).

    See :meth:`MotionPredictor.predict` for the arguments and the result.
    """
    predictor = get_predictor(model, provider)
    return predictor.predict(pixels, seed=seed, steps=steps, eta=eta, guidance=guidance, progress=progress,
                             cancel=cancel, cache=cache, colorspace=colorspace)


def package_predictor(model: str | os.PathLike | ModelPackage | None = None, steps: int | None = None,
                      provider: str = "auto", guidance: float | None = None, use_energy_net: bool = True
                      ) -> Callable[[np.ndarray, int], np.ndarray]:
    """A batch predictor for :mod:`image_dynamics.evaluation`: ``(images uint8 [B, H, W, 3], seed) -> [B, K, 2, H, W]``.

    Each image is sampled with the given seed (no disk cache: evaluation measures the model, not the cache); the
    volume comes back at the image's own grid when the image is the model's size, as evaluation sets are.
    """
    predictor = MotionPredictor(model, provider=provider)

    def predict(images: np.ndarray, seed: int) -> np.ndarray:
        out = []
        for image in images:
            volume = predictor.predict(image, seed=seed, steps=steps, guidance=guidance, cache=False,
                                       use_energy_net=use_energy_net)
            if volume.coeffs.shape[2:] != image.shape[:2]:
                raise ValueError(f"model grid {volume.width}x{volume.height} differs from the evaluation images "
                                 f"{image.shape[1]}x{image.shape[0]}; evaluate at the model's training size")
            out.append(volume.coeffs)
        return np.stack(out)

    return predict
