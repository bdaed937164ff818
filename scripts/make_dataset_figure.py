"""A figure of a training or held-out dataset: some of its pictures beside their true motion, and beside the motion
that energy networks predict for them.

Usage: .venv/bin/python scripts/make_dataset_figure.py DATASET -o docs/images/specimen_family.jpg [--count 8]
       [--samples 2,3] [--photo PICTURE.png ...] [--model LABEL=MODEL ...] [--columns 2] [--width 512]
Each sample becomes a pair of panels: the picture, and each pixel's true RMS displacement over one loop in pixels of
the picture resized to ``--width`` wide (bands above 0 Hz, ``sqrt(E / 2)``; the protocol of ``eval-photos``), on the
colour scale of the photo sets' pictures (inferno, square root, 0 to 2 px); pixels whose motion is unknown are
dark green. The titles give the family, the share of known pixels above 0.5 px and the share known. ``--samples``
picks samples by index instead of the first ``--count``. Each ``--photo`` (a picture with no truth, resized to the
dataset's grid) comes first, beside its labels where ``<name>_labels.png`` lies beside it, otherwise a grey panel.
Each ``--model`` (anything ``scripts/eval_photos_energy_net.py`` takes: a package, a run's ``model.pt`` or a snapshot)
adds a panel per picture: its energy network's motion on the same scale, titled with the share above 0.5 px; then
``--columns`` 1 keeps one picture per row.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from image_dynamics.data.shards import channels_to_coeffs, iter_shards, known_mask, read_info
from image_dynamics.evaluation import motion_energy
from image_dynamics.realphoto import LABEL_SUFFIX, MOVING_PX, colour_rms, label_overlay, loop_rms, titled

UNKNOWN_RGB = (0, 90, 0)
NO_TRUTH_RGB = (200, 200, 200)


def true_rms(channels: np.ndarray, freqs_hz: np.ndarray, scale: float) -> np.ndarray:
    """float32 ``[H, W]``: RMS displacement over one loop (pixels, times ``scale``) from one sample's shard
    coefficients (float16 channels ``[K, 4, H, W]``: x/y real/imaginary), bands above 0 Hz."""
    return loop_rms(motion_energy(channels_to_coeffs(channels)[None], freqs_hz)[0]) * np.float32(scale)


def predicted_rms(energy: np.ndarray, scale: float) -> np.ndarray:
    """float32 ``[h, w]``: RMS displacement over one loop (pixels, times ``scale``) from an energy network's band
    energies ``[K, h, w]`` (squared grid pixels), bands above 0 Hz: the same measure as :func:`true_rms`."""
    return loop_rms(np.asarray(energy, np.float64)[1:].sum(axis=0)) * np.float32(scale)


def sample_panels(image: np.ndarray, rms: np.ndarray | None, known: np.ndarray | None, kind: str,
                  labels: np.ndarray | None = None) -> np.ndarray:
    """uint8 ``[H + 22, 2 W, 3]``: the picture and its true motion (unknown pixels dark green), titled; with ``rms``
    None (a photo) the second panel shows its ``labels`` (uint8 ``[H, W]``, eval-photos' 255 moving, 128 static)
    over it, or is grey without them."""
    if rms is None:
        if labels is not None:
            return np.concatenate([titled(image, kind), titled(label_overlay(image, labels),
                                                               "labels: red moving, blue static")], axis=1)
        return np.concatenate([titled(image, kind), titled(np.full_like(image, NO_TRUTH_RGB), "no truth")], axis=1)
    motion = colour_rms(rms)
    motion[known == 0] = UNKNOWN_RGB
    share = float((rms[known > 0] > MOVING_PX).mean()) if known.any() else 0.0
    title = f"{100 * share:.0f} % above {MOVING_PX:g} px, {100 * known.mean():.0f} % known"
    return np.concatenate([titled(image, kind), titled(motion, title)], axis=1)


def photo_label_map(photo: Path, size: tuple[int, int]) -> np.ndarray | None:
    """uint8 ``[h, w]`` for ``size`` ``(w, h)``: the label map ``<name>_labels.png`` beside ``photo`` (nearest
    neighbour, so its three values stay), or None where there is none."""
    path = photo.with_name(photo.stem + LABEL_SUFFIX + ".png")
    if not path.is_file():
        return None
    return np.asarray(Image.open(path).convert("L").resize(size, Image.NEAREST))


def model_panel(rms: np.ndarray, label: str) -> np.ndarray:
    """uint8 ``[h + 22, w, 3]``: a network's predicted motion on the truth's colour scale, titled with ``label`` and
    its share above 0.5 px."""
    return titled(colour_rms(rms), f"{label}: {100 * float((rms > MOVING_PX).mean()):.1f} % above {MOVING_PX:g} px")


def parse_samples(text: str) -> list[int] | None:
    """Sorted distinct sample indices from ``--samples`` (``"2,3"``); None for an empty option (the first
    ``--count``); one clear line for anything else."""
    if not text.strip():
        return None
    try:
        wanted = sorted({int(i) for i in text.split(",") if i.strip()})
    except ValueError:
        raise SystemExit(f"--samples {text!r}: write sample indices separated by commas, for example 2,3") from None
    if not wanted or wanted[0] < 0:
        raise SystemExit(f"--samples {text!r}: write sample indices of 0 or more, for example 2,3")
    return wanted


def _energy_networks(specs: list[str]) -> list[tuple[str, object]]:
    """``(label, model)`` for each ``LABEL=MODEL``; torch only when asked."""
    from image_dynamics.train.loop import load_motion_model

    models = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise SystemExit(f"--model {spec!r}: write LABEL=MODEL, for example 'release 6=runs/release6_pkg/default'")
        models.append((label, load_motion_model(path)))
    return models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--samples", default="", help="sample indices, comma-separated (instead of the first --count)")
    ap.add_argument("--photo", type=Path, action="append", default=[], help="a picture with no truth, drawn first")
    ap.add_argument("--model", action="append", default=[], help="LABEL=MODEL: add its energy network's motion")
    ap.add_argument("--columns", type=int, default=2)
    ap.add_argument("--width", type=int, default=512, help="motion in pixels of the picture at this width")
    args = ap.parse_args()
    info = read_info(args.dataset)
    scale = args.width / info.width
    wanted = parse_samples(args.samples)
    count = len(wanted) if wanted is not None else args.count
    pictures = [(np.asarray(Image.open(p).convert("RGB").resize((info.width, info.height), Image.LANCZOS)), None,
                 None, p.stem, photo_label_map(p, (info.width, info.height))) for p in args.photo]
    index = 0
    for shard in iter_shards(info):  # the first samples only: stop reading shards once there are enough
        known = known_mask(shard)
        for i in range(len(shard["images"])):
            if (wanted is None or index in wanted) and len(pictures) < count + len(args.photo):
                rms = true_rms(shard["coeffs"][i], info.freqs_hz, scale)
                pictures.append((shard["images"][i], rms, known[i], str(shard["kinds"][i]), None))
            index += 1
        if len(pictures) == count + len(args.photo):
            break
    if not pictures:
        raise SystemExit(f"{args.dataset}: no samples")
    if wanted is not None and len(pictures) < count + len(args.photo):
        raise SystemExit(f"--samples {args.samples}: {args.dataset} holds {index} samples (0 to {index - 1}); "
                         "pick indices below that")
    models = _energy_networks(args.model) if args.model else []
    panels = []
    for image, rms, known_px, kind, labels in pictures:
        row = [sample_panels(image, rms, known_px, kind, labels)]
        if models:
            from eval_photos_energy_net import whole_picture_energy  # noqa: PLC0415 (torch only when asked)

            row += [model_panel(predicted_rms(whole_picture_energy(m, image), scale), label) for label, m in models]
        panels.append(np.concatenate(row, axis=1))
    blank = np.full_like(panels[0], 255)
    panels += [blank] * (-len(panels) % args.columns)
    rows = [np.concatenate(panels[r:r + args.columns], axis=1) for r in range(0, len(panels), args.columns)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.output, quality=88)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
