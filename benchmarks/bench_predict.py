"""Image -> spectral volume with a model package at its default steps: onnxruntime vs torch eager, same weights.

Run: ``.venv/bin/python benchmarks/bench_predict.py --checkpoint RUN/model.pt [--package PACKAGE]
[--provider cpu|cuda] [--rounds 3]``, or ``--random-default`` to export a ``default``-configuration model with seeded
random weights to a temporary package first (the speed does not depend on the weights; the numbers are then those of
the shipped architecture before its training is done).

Each path runs in its own child process, so each peak memory is its own: ``ru_maxrss`` (the whole process: libraries,
weights, arenas) and ``tracemalloc``'s peak (Python-side allocations, numpy arrays included). The onnxruntime child
never imports torch. Both predict the same image (the bundled forest photo) with the same seed and the package's default
steps; times are the first call (sessions / weights loaded before it, not counted) and the median of ``--rounds``
further calls. The coefficients of the two paths are compared (max abs difference, relative to the largest).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI: idle OpenMP threads sleep instead of spinning

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core/image_dynamics/samples/forest.jpg"


def _image() -> np.ndarray:
    from image_dynamics import io

    return io.read_image(SAMPLE).pixels


def _worker(args: argparse.Namespace) -> None:
    """Child process: time one path, write its coefficients, print one JSON line."""
    image = _image()
    tracemalloc.start()
    if args.worker == "onnxruntime":
        from image_dynamics.model.predict import MotionPredictor

        predictor = MotionPredictor(args.package, provider=args.provider, notify=False)
        predictor.load_sessions()
        steps = predictor.package.sampler.steps

        def once() -> np.ndarray:
            return predictor.predict(image, seed=0, cache=False).coeffs

        device = f"onnxruntime {predictor.provider} ({predictor.precision})"
    else:
        import torch

        from image_dynamics.model.processing import (
            channels_to_output,
            coherent_fill,
            fit_to_model_grid,
            load_stats_json,
            prepare_on_grid,
        )
        from image_dynamics.model.providers import physical_cores
        from image_dynamics.train.model import MotionModel

        torch.set_num_threads(physical_cores())
        dev = "cuda" if args.provider == "cuda" and torch.cuda.is_available() else "cpu"
        model = MotionModel.load(args.checkpoint, device=dev)
        # the package's sampler defaults (they may have been chosen at export), not the training configuration's
        doc = json.loads((args.package / "model.json").read_text())
        sampler = doc["sampler"]
        steps, eta, guidance = int(sampler["steps"]), float(sampler["eta"]), float(sampler["guidance"])
        fill_px = doc.get("energy", {}).get("fill_coherence_px")  # the package's fill, as the runtime applies it
        fit = fit_to_model_grid(image.shape[1], image.shape[0], model.config.width, model.config.height)

        def once() -> np.ndarray:
            # the same model input as the onnxruntime path (mirror-padded to the training aspect), then the same crop
            batch = torch.from_numpy(prepare_on_grid(image, fit)).to(dev)
            with torch.no_grad():
                channels = model.sample_normalised(batch, [0], steps, eta, guidance)
            energy = model.band_energy(batch) if model.energy is not None else None  # as the package's energy_net
            fill = coherent_fill(tuple(channels.shape), fill_px, 0) if energy is not None and fill_px else None
            coeffs = channels_to_output(channels.float().cpu().numpy(), load_stats_json(model.stats_json),
                                        model.coeff_grid, model.config.width, model.config.height, energy, fill)[0]
            rows, cols = fit.crop
            return coeffs[:, :, rows, cols]

        device = f"torch {torch.__version__} eager {dev} ({torch.get_num_threads()} threads)"
    start = time.perf_counter()
    coeffs = once()
    first = time.perf_counter() - start
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    _, py_peak = tracemalloc.get_traced_memory()
    np.save(args.out, coeffs)
    print(json.dumps({"path": args.worker, "device": device, "steps": steps, "first_s": first,
                      "median_s": statistics.median(times) if times else first,
                      "best_s": min(times) if times else first,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "tracemalloc_peak_mb": py_peak / 2 ** 20}))


def _random_default_package(folder: Path) -> tuple[Path, Path]:
    """A ``default``-configuration model with seeded random weights, saved and exported (fp32) under ``folder``."""
    import torch

    from image_dynamics.data.normalise import NormStats, norm_stats_to_json
    from image_dynamics.spectral import harmonic_freqs
    from image_dynamics.train.configs import get_config
    from image_dynamics.train.export import export_package
    from image_dynamics.train.model import MotionModel

    torch.manual_seed(0)
    config = get_config("default")
    k = config.num_bands
    stats = NormStats(95.0, harmonic_freqs(k), np.geomspace(2.0, 0.05, k).astype(np.float32), 1,
                      np.ones(k, np.int64))
    model = MotionModel(config, norm_stats_to_json(stats), data_note="random weights (benchmark only)")
    with torch.no_grad():
        for param in model.parameters():
            if torch.count_nonzero(param) == 0:
                param.normal_(0.0, 0.02)
    model.unet.set_frequency_attention(True)
    checkpoint = folder / "run" / "model.pt"
    checkpoint.parent.mkdir(parents=True)
    model.save(checkpoint)
    package = export_package(checkpoint, folder / "default")
    return checkpoint, package


def _run_child(args: argparse.Namespace, path: str, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", path, "--package", str(args.package), "--checkpoint",
           str(args.checkpoint), "--provider", args.provider, "--rounds", str(args.rounds), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{path} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", type=Path, default=ROOT / "core" / "image_dynamics" / "models" / "default",
                    help="model package folder (its sampler defaults are used on both paths)")
    ap.add_argument("--checkpoint", type=Path, help="the same model's model.pt (or its run folder) for torch")
    ap.add_argument("--random-default", action="store_true",
                    help="benchmark a default-config model with random weights, exported to a temporary package")
    ap.add_argument("--provider", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker", choices=("onnxruntime", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.random_default:
            args.checkpoint, args.package = _random_default_package(tmp)
        if args.checkpoint is None:
            raise SystemExit("--checkpoint RUN/model.pt is needed for the torch side (or use --random-default)")
        if args.checkpoint.is_dir():
            args.checkpoint = args.checkpoint / "model.pt"
        doc = json.loads((args.package / "model.json").read_text())
        print(f"package {args.package} ({doc['name']}: K={doc['num_bands']}, {doc['resolution']['width']}x"
              f"{doc['resolution']['height']}, {doc['sampler']['steps']} steps); torch weights {args.checkpoint}")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
              f"load average {os.getloadavg()[0]:.2f}; image {SAMPLE.name}")
        results = {path: _run_child(args, path, tmp / f"{path}.npy") for path in ("onnxruntime", "torch")}
        ort_coeffs, torch_coeffs = np.load(tmp / "onnxruntime.npy"), np.load(tmp / "torch.npy")

    print(f"{'path':<46} {'first s':>8} {'median s':>9} {'best s':>8} {'maxrss MB':>10} {'tracemalloc MB':>15}")
    for r in results.values():
        print(f"{r['device']:<46} {r['first_s']:8.2f} {r['median_s']:9.2f} {r['best_s']:8.2f} {r['maxrss_mb']:10.0f} "
              f"{r['tracemalloc_peak_mb']:15.1f}")
    ratio = results["torch"]["median_s"] / results["onnxruntime"]["median_s"]
    diff = float(np.abs(ort_coeffs - torch_coeffs).max())
    scale = float(np.abs(torch_coeffs).max())
    print(f"onnxruntime is {ratio:.2f}x torch eager (median); coefficients agree to {diff:.2e} px "
          f"({diff / max(scale, 1e-30):.2e} of the largest, {scale:.3g} px)")


if __name__ == "__main__":
    main()
