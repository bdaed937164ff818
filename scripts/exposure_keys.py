"""How brightly the training data is exposed: the exposure key of every picture of some datasets, and the weighted
median over them, the key an energy network's input is brought to (``export --energy-input-key``, docs/model-card.md).

Usage: .venv/bin/python scripts/exposure_keys.py DATASET[:WEIGHT] [DATASET[:WEIGHT] ...] [--limit N]

Each picture's key is :func:`image_dynamics.model.processing.exposure_key` (the log-average luminance of its linear
light) on the model grid, as the network would see it. A dataset's weight is shared among its pictures, as in a
training mixture (``train --data FOLDER:WEIGHT``), so the median is the mixture's, not the largest set's.
"""

from __future__ import annotations

import argparse

import numpy as np

from image_dynamics.data.shards import iter_shards, read_info
from image_dynamics.model.processing import exposure_key, prepare_images
from image_dynamics.train.data import parse_data_spec


def dataset_keys(folder, limit: int | None = None) -> np.ndarray:
    """float64 ``[n]``: the exposure key of each of the first ``limit`` (default all) pictures of a dataset."""
    info = read_info(folder)
    keys: list[np.ndarray] = []
    for shard in iter_shards(info):
        images = shard["images"]
        keys.append(exposure_key(prepare_images(images, images.shape[2], images.shape[1])))
        if limit is not None and sum(len(k) for k in keys) >= limit:
            break
    return np.concatenate(keys)[:limit]


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at which the cumulative weight of the sorted ``values`` first reaches half the total."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", help="dataset folders, each optionally FOLDER:WEIGHT (default weight 1)")
    ap.add_argument("--limit", type=int, help="the first N pictures of each dataset")
    args = ap.parse_args()
    all_keys, all_weights = [], []
    for spec in args.datasets:
        folder, weight = parse_data_spec(spec)
        keys = dataset_keys(folder, args.limit)
        p10, p50, p90 = np.percentile(keys, [10, 50, 90])
        print(f"{folder}: {len(keys)} pictures, weight {weight:g}: key median {p50:.3f} (10-90 %: {p10:.3f}-{p90:.3f})")
        all_keys.append(keys)
        all_weights.append(np.full(len(keys), weight / len(keys)))
    median = weighted_median(np.concatenate(all_keys), np.concatenate(all_weights))
    print(f"weighted median key: {median:.4f}")


if __name__ == "__main__":
    main()
