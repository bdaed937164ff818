"""A package's motion-energy network on the whole picture and with enlarged tiles (``scripts/detail_tiles.py``),
through onnxruntime, scored as `eval-photos` and `eval` score.

Usage: .venv/bin/python scripts/eval_detail_tiles.py FOLDER [PACKAGE] [--ways whole,mean,geometric,local8,local24]
       [--limit 64] [--json OUT]

FOLDER is a labelled photo set (``docs/realphoto_validation``, ``docs/realphoto_validation_closeups``) or a held-out
dataset (a ``dataset.json`` folder, e.g. one rendered at 512x320). PACKAGE defaults to the bundled ``default``. Each
way of running the network gives band energies on the model grid; they go through the scoring code as a volume
carrying ``sqrt(E_k)`` (with the coherent fill, a package moves every pixel by exactly its network's energy, so these
are the whole model's AUCs to about 0.01, in seconds instead of minutes of sampling). The network is deterministic:
one seed. Ways: ``whole`` (the picture resized to the grid, as releases 1-5 run), ``mean``, ``geometric``,
``localN`` (``scripts/detail_tiles.py``'s ``combine_detail``, ``local`` with sigma N grid px). Pictures smaller
than twice the grid (where tiles do not apply) get the whole picture's energy under every way.

Photo sets print, per way, the mean AUC of the labelled photos, the share of pixels above 0.5 px and each photo's
AUC / mean RMS; datasets print energy correlation and moving-static AUC over known pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from image_dynamics import spectral
from image_dynamics.data.shards import read_info
from image_dynamics.evaluation import evaluate, load_test_set
from image_dynamics.model.package import ModelPackage, resolve_model
from image_dynamics.model.processing import (
    GridFit,
    energy_from_log,
    energy_net_input,
    fit_to_model_grid,
    prepare_on_grid,
)
from image_dynamics.realphoto import evaluate_photos, load_photo_set

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detail_tiles import DETAIL_ZOOM, combine_detail, detail_applies, tiles_band_energy  # noqa: E402


def energy_runner(pkg: ModelPackage, threads: int):
    """``run(batch float32 [n, 3, h, w]) -> band energies float32 [n, K, h, w]``: the package's energy_net.onnx on
    the CPU, fed as the runtime feeds it (:func:`energy_net_input` is applied by the caller)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(pkg.graph_path("energy_net")), options, providers=["CPUExecutionProvider"])

    def run(batch: np.ndarray) -> np.ndarray:
        # one picture a run: the exported graph's batch size is not assumed
        logs = [session.run(None, {"image": batch[i:i + 1]})[0] for i in range(len(batch))]
        return energy_from_log(np.concatenate(logs), pkg.energy_floor)

    return run


def band_energy_ways(pkg: ModelPackage, run, ways: list[str]):
    """``energy_of(image uint8 [H, W, 3]) -> {way: float32 [K, h, w]}`` on the model grid (squared grid px)."""
    def energy_of(image: np.ndarray) -> dict[str, np.ndarray]:
        height, width = image.shape[:2]
        fit = fit_to_model_grid(width, height, pkg.width, pkg.height)
        whole = run(energy_net_input(prepare_on_grid(image, fit), pkg.energy_input_key))[0]
        if not detail_applies(width, height, fit.width, fit.height):
            return {way: whole for way in ways}
        z = DETAIL_ZOOM
        big_fit = GridFit(z * pkg.width, z * pkg.height, z * fit.width, z * fit.height, z * fit.left, z * fit.top)
        big = energy_net_input(prepare_on_grid(image, big_fit), pkg.energy_input_key)[0]
        tiles = tiles_band_energy(run, big)
        out = {}
        for way in ways:
            if way == "whole":
                out[way] = whole
            elif way.startswith("local"):
                out[way] = combine_detail(whole, tiles, "local", float(way[5:]))
            else:
                out[way] = combine_detail(whole, tiles, way)
        return out

    return energy_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("package", nargs="?", default="default")
    ap.add_argument("--ways", default="whole,mean,geometric,local8,local24")
    ap.add_argument("--limit", type=int, default=64, help="scenes of a held-out dataset to score (the first N)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    pkg = ModelPackage.load(resolve_model(args.package))
    ways = args.ways.split(",")
    energy_of = band_energy_ways(pkg, energy_runner(pkg, args.threads), ways)
    cache: dict[int, dict[str, np.ndarray]] = {}

    def energies(image: np.ndarray) -> dict[str, np.ndarray]:
        key = hash(image.tobytes())
        if key not in cache:
            cache[key] = energy_of(image)
        return cache[key]

    out: dict = {"folder": args.folder, "package": f"{pkg.name} {pkg.sha256[:12]}", "ways": {}}
    if (Path(args.folder) / "dataset.json").exists():
        data = load_test_set(read_info(args.folder), limit=args.limit)
        for way in ways:
            def predict(images: np.ndarray, seed: int, way=way) -> np.ndarray:
                h, w = images.shape[1:3]
                coeffs = np.zeros((len(images), pkg.num_bands, 2, h, w), np.complex64)
                for i, image in enumerate(images):  # x amplitude sqrt(E), resized to the set's size, in its px
                    energy = energies(image)[way].transpose(1, 2, 0)
                    if energy.shape[:2] != (h, w):
                        energy = cv2.resize(energy, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
                    coeffs[i, :, 0] = np.sqrt(np.maximum(energy, 0)).transpose(2, 0, 1) * (w / pkg.width)
                return coeffs
            result = evaluate(predict, data, seeds=(0,))["mean"]
            out["ways"][way] = result
            print(f"{way}: energy correlation {result['energy_corr']:.4f}, AUC {result['moving_auc']:.4f}",
                  flush=True)
    else:
        photos = load_photo_set(args.folder)
        for way in ways:
            def predict_volume(image: np.ndarray, seed: int, way=way) -> spectral.SpectralVolume:
                energy = energies(image)[way]
                coeffs = np.zeros((energy.shape[0], 2, *energy.shape[1:]), np.complex64)
                coeffs[:, 0] = np.sqrt(energy)
                return spectral.make(coeffs, pkg.freqs_hz, pkg.fps)
            report, _ = evaluate_photos(photos, predict_volume, seeds=(0,), pictures=False)
            images = report["images"]
            aucs = [i["auc"] for i in images if i["auc"] is not None]
            share = 100 * float(np.mean([i["moving_fraction"] for i in images]))
            mean_auc = float(np.mean(aucs)) if aucs else None
            out["ways"][way] = {"mean_auc": mean_auc, "share_above_half_px_percent": share, "images": images}
            print(f"{way}: mean AUC {'-' if mean_auc is None else format(mean_auc, '.4f')}, {share:.2f} % above "
                  f"0.5 px | " + " ".join(f"{i['name']} {'-' if i['auc'] is None else format(i['auc'], '.3f')}/"
                                          f"{i['mean_rms_px']:.3f}px" for i in images), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
