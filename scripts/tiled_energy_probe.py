"""Probe: a motion-energy network run on enlarged, overlapping tiles of a picture instead of the whole picture at once.

Usage: .venv/bin/python scripts/tiled_energy_probe.py FOLDER MODEL [--zoom 2] [--threads 2] [--limit 64]

The network sees pictures at its grid's size (256x160), where the ripples of a distant sea or the grain of a rock are
finer than a grid pixel. Here the picture is resized to ``zoom`` times the grid and cut into ``(2 zoom - 1)^2`` tiles
of the grid's size at half-tile steps. Each tile's band energies are divided by ``zoom^2``: its pixels are
``1/zoom`` of a grid pixel. The tiles are blended with Hann weights and averaged back to the grid. The script
prints, for the labelled photo set in FOLDER, the figures of the whole picture, of the tiles alone, and of their mean
(``scripts/eval_photos_energy_net.py``'s protocol and score: the mean AUC of the photos with moving labels, and the
share of pixels above 0.5 px). FOLDER may also be a held-out dataset (a ``dataset.json`` folder): then the first
``--limit`` scenes are scored as ``scripts/eval_energy_net.py`` scores them (energy correlation and moving-static
AUC over known pixels). A probe, not a runtime option: no package can ask for it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detail_tiles import tiles_band_energy  # noqa: E402
from eval_energy_net import energy_predictor  # noqa: E402
from eval_photos_energy_net import energy_volume_predictor, whole_picture_energy  # noqa: E402

from image_dynamics.data.shards import read_info  # noqa: E402
from image_dynamics.evaluation import evaluate, load_test_set  # noqa: E402
from image_dynamics.realphoto import evaluate_photos, load_photo_set  # noqa: E402
from image_dynamics.train.loop import load_motion_model  # noqa: E402


def tiled_energy(model, image: np.ndarray, zoom: int = 2) -> np.ndarray:
    """float ``[K, h, w]`` (squared grid pixels): the network on enlarged tiles, blended and averaged to the grid
    (``detail_tiles.tiles_band_energy``)."""
    w, h = model.config.width, model.config.height
    big = cv2.resize(image, (w * zoom, h * zoom), interpolation=cv2.INTER_CUBIC if image.shape[1] < w * zoom
                     else cv2.INTER_AREA)

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(model.band_energy(torch.from_numpy(batch)))

    return tiles_band_energy(run, np.ascontiguousarray(big.transpose(2, 0, 1), dtype=np.float32) / 255.0, zoom)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("model")
    ap.add_argument("--zoom", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=64, help="scenes of a held-out dataset to score (the first N)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_motion_model(args.model)
    ways = {"whole picture": whole_picture_energy,
            f"tiles at {args.zoom}x": lambda m, im: tiled_energy(m, im, args.zoom),
            "mean of the two": lambda m, im: 0.5 * (whole_picture_energy(m, im) + tiled_energy(m, im, args.zoom))}
    if (Path(args.folder) / "dataset.json").exists():
        data = load_test_set(read_info(args.folder), limit=args.limit)
        for name, energy_of in ways.items():
            result = evaluate(energy_predictor(model, energy_of), data, seeds=(0,))["mean"]
            print(f"{name}: energy correlation {result['energy_corr']:.3f}, AUC {result['moving_auc']:.3f}", flush=True)
        return
    photos = load_photo_set(args.folder)
    for name, energy_of in ways.items():
        report, _ = evaluate_photos(photos, energy_volume_predictor(model, energy_of), seeds=(0,), pictures=False)
        images = report["images"]
        aucs = [i["auc"] for i in images if i["auc"] is not None]
        share = 100 * np.mean([i["moving_fraction"] for i in images])
        print(f"{name}: mean AUC {np.mean(aucs):.3f}, {share:.2f} % above 0.5 px | " + " ".join(
            f"{i['name']} {'-' if i['auc'] is None else format(i['auc'], '.2f')}/{i['mean_rms_px']:.3f}px"
            for i in images), flush=True)


if __name__ == "__main__":
    main()
