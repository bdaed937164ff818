"""A figure of a training or held-out dataset: some of its pictures beside their true motion.

Usage: .venv/bin/python scripts/make_dataset_figure.py DATASET -o docs/images/specimen_family.jpg [--count 8]
       [--columns 2] [--width 512]
Each sample becomes a pair of panels: the picture, and each pixel's true RMS displacement over one loop in pixels of
the picture resized to ``--width`` wide (bands above 0 Hz, ``sqrt(E / 2)``; the protocol of ``eval-photos``), on the
colour scale of the photo sets' pictures (inferno, square root, 0 to 2 px); pixels whose motion is unknown are
dark green. The titles give the family, the share of known pixels above 0.5 px and the share known.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from image_dynamics.data.shards import channels_to_coeffs, iter_shards, known_mask, read_info
from image_dynamics.evaluation import motion_energy
from image_dynamics.realphoto import MOVING_PX, colour_rms, titled

UNKNOWN_RGB = (0, 90, 0)


def true_rms(channels: np.ndarray, freqs_hz: np.ndarray, scale: float) -> np.ndarray:
    """float32 ``[H, W]``: RMS displacement over one loop (pixels, times ``scale``) from one sample's shard
    coefficients (float16 channels ``[K, 4, H, W]``: x/y real/imaginary), bands above 0 Hz."""
    energy = motion_energy(channels_to_coeffs(channels)[None], freqs_hz)[0]
    return (np.sqrt(energy / 2.0) * scale).astype(np.float32)


def sample_panels(image: np.ndarray, rms: np.ndarray, known: np.ndarray, kind: str) -> np.ndarray:
    """uint8 ``[H + 22, 2 W, 3]``: the picture and its true motion (unknown pixels dark green), titled."""
    motion = colour_rms(rms)
    motion[known == 0] = UNKNOWN_RGB
    share = float((rms[known > 0] > MOVING_PX).mean()) if known.any() else 0.0
    title = f"{100 * share:.0f} % above {MOVING_PX:g} px, {100 * known.mean():.0f} % known"
    return np.concatenate([titled(image, kind), titled(motion, title)], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--columns", type=int, default=2)
    ap.add_argument("--width", type=int, default=512, help="motion in pixels of the picture at this width")
    args = ap.parse_args()
    info = read_info(args.dataset)
    scale = args.width / info.width
    pairs = []
    for shard in iter_shards(info):  # the first samples only: stop reading shards once there are enough
        known = known_mask(shard)
        for i in range(min(len(shard["images"]), args.count - len(pairs))):
            rms = true_rms(shard["coeffs"][i], info.freqs_hz, scale)
            pairs.append(sample_panels(shard["images"][i], rms, known[i], str(shard["kinds"][i])))
        if len(pairs) == args.count:
            break
    if not pairs:
        raise SystemExit(f"{args.dataset}: no samples")
    blank = np.full_like(pairs[0], 255)
    pairs += [blank] * (-len(pairs) % args.columns)
    rows = [np.concatenate(pairs[r:r + args.columns], axis=1) for r in range(0, len(pairs), args.columns)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.output, quality=88)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
