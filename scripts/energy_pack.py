"""Training data for the motion-energy network alone, packed small enough to travel to a lent GPU machine.

Why: a lent machine takes at most 64 MiB per call, and the rendered training sets are 4 GB of shards (images and 64
float16 coefficient channels per pixel). The energy network needs only each pixel's band energies
``E_k = |S_k,x|^2 + |S_k,y|^2``, and those are smooth and mostly at rest, so a scene packs into about 50 kB:

- the image as a JPEG at quality 95 (training passes every image through random camera effects, JPEG at quality
  50-95 among them: :func:`image_dynamics.train.augment.photo_realism`);
- ``q = round(8 (log(E_k + floor) - log(floor)))`` as uint8 (steps of 1/8 in natural log: +-3 % in amplitude, a
  small part of the network's error), pixel-major ``[n, H, W, K]`` and LZMA-compressed;
- the known mask (1: motion known), LZMA-compressed.

    python scripts/energy_pack.py OUT_DIR DATA_DIR[:WEIGHT] ... [--limit N] [--per-file 64]

writes ``OUT_DIR/<dataset>_<i>.npz`` (``per_file`` scenes each) and ``OUT_DIR/manifest.json``; :func:`load_pack`
reads folders back as one set (their files' union).

    python scripts/energy_pack.py split PACK_DIR N

deals a pack's files into ``PACK_DIR_part1`` ... ``_partN`` (each with the manifest), to travel in N calls of at most
64 MiB; every part holds a share of every dataset, so one that did not arrive leaves a smaller mixture, not a
different one.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import math
import shutil
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

#: quantisation steps per natural-log unit of band energy
STEPS_PER_LOG = 8.0
JPEG_QUALITY = 95


def quantise_log_energy(energy: np.ndarray, floor: float) -> np.ndarray:
    """uint8 codes of band energies ``E >= 0`` (squared pixels, any shape); 0 means ``E = 0``."""
    codes = np.round((np.log(energy.astype(np.float64) + floor) - math.log(floor)) * STEPS_PER_LOG)
    return np.clip(codes, 0, 255).astype(np.uint8)


def dequantise_log_energy(codes: np.ndarray, floor: float) -> np.ndarray:
    """float32 ``log(E + floor)`` of :func:`quantise_log_energy`'s codes."""
    return (codes.astype(np.float32) / np.float32(STEPS_PER_LOG) + np.float32(math.log(floor))).astype(np.float32)


def _jpeg_bytes(image: np.ndarray) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _decode_jpeg(data: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def pack_scenes(images: np.ndarray, coeffs: np.ndarray, known: np.ndarray | None, floor: float) -> dict:
    """One file's arrays: ``images`` uint8 ``[n, H, W, 3]``, ``coeffs`` ``[n, K, 4, H, W]`` in pixels (a shard's),
    ``known`` uint8 ``[n, H, W]`` or None (all known)."""
    c = coeffs.astype(np.float32)
    codes = quantise_log_energy((c * c).sum(axis=2), floor)  # [n, K, H, W]
    jpegs = [_jpeg_bytes(np.ascontiguousarray(im)) for im in images]
    known = np.ones(images.shape[:3], np.uint8) if known is None else known.astype(np.uint8)
    return {"jpeg": np.frombuffer(b"".join(jpegs), np.uint8),
            "offsets": np.cumsum([0] + [len(j) for j in jpegs]).astype(np.int64),
            "codes_xz": np.frombuffer(lzma.compress(np.ascontiguousarray(codes.transpose(0, 2, 3, 1)).tobytes()),
                                      np.uint8),
            "known_xz": np.frombuffer(lzma.compress(known.tobytes()), np.uint8),
            "shape": np.array(codes.shape, np.int64), "floor": np.float64(floor)}


@dataclass
class PackedSet:
    """Every scene of a pack: ``images`` uint8 ``[N, H, W, 3]``, ``log_energy_codes`` uint8 ``[N, K, H, W]``,
    ``known`` uint8 ``[N, H, W]``, ``source`` int ``[N]`` (index into ``names``), ``weights`` per source (the
    mixture weight of each dataset, as ``train --data DIR:W`` takes it), ``floor`` (squared pixels)."""

    images: np.ndarray
    log_energy_codes: np.ndarray
    known: np.ndarray
    source: np.ndarray
    names: list[str]
    weights: list[float]
    floor: float

    @cached_property
    def sample_probabilities(self) -> np.ndarray:
        """float64 ``[N]``: each dataset drawn in proportion to its weight, its scenes uniformly (worked out once:
        every batch draws from it)."""
        counts = np.bincount(self.source, minlength=len(self.names)).astype(np.float64)
        w = np.asarray(self.weights, np.float64)[self.source] / counts[self.source]
        return w / w.sum()


def dataset_of(file_name: str) -> str:
    """The dataset a packed file belongs to: ``<dataset>_<i>.npz`` -> ``<dataset>`` (dataset names carry no ``_``)."""
    return file_name.rsplit("_", 1)[0]


def _unpack_file(path: Path) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, float]:
    z = np.load(path)
    n, k, h, w = (int(v) for v in z["shape"])
    offsets = z["offsets"]
    jpeg = z["jpeg"].tobytes()
    images = np.stack([_decode_jpeg(jpeg[offsets[i]:offsets[i + 1]]) for i in range(n)])
    codes = np.frombuffer(lzma.decompress(z["codes_xz"].tobytes()), np.uint8).reshape(n, h, w, k)
    known = np.frombuffer(lzma.decompress(z["known_xz"].tobytes()), np.uint8).reshape(n, h, w)
    return path.name, images, np.ascontiguousarray(codes.transpose(0, 3, 1, 2)), known.copy(), float(z["floor"])


def load_pack(folders: list[str | Path], workers: int = 1) -> PackedSet:
    """The union of the packs in ``folders`` (each with its ``manifest.json``), decoded (``workers`` processes)."""
    manifest: dict[str, float] = {}
    files: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        manifest.update(json.loads((folder / "manifest.json").read_text())["weights"])
        files += sorted(folder.glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"no packed scenes in {folders}")
    if workers > 1:
        from multiprocessing import Pool
        with Pool(workers) as pool:
            parts = pool.map(_unpack_file, files)
    else:
        parts = [_unpack_file(f) for f in files]
    names = sorted(manifest)
    source = np.concatenate([np.full(len(p[1]), names.index(dataset_of(p[0]))) for p in parts])
    present = sorted(set(source.tolist()))  # a dataset none of whose files travelled is left out of the mixture
    remap = {old: new for new, old in enumerate(present)}
    floors = {p[4] for p in parts}
    if len(floors) != 1:
        raise ValueError(f"packs made with different floors: {sorted(floors)}")
    return PackedSet(images=np.concatenate([p[1] for p in parts]),
                     log_energy_codes=np.concatenate([p[2] for p in parts]),
                     known=np.concatenate([p[3] for p in parts]), source=np.array([remap[s] for s in source]),
                     names=[names[i] for i in present], weights=[manifest[names[i]] for i in present],
                     floor=floors.pop())


def pack_dataset(folder: Path, name: str, out: Path, limit: int, per_file: int, floor: float) -> int:
    """The first ``limit`` scenes of the shards in ``folder`` packed into ``out/<name>_<i>.npz``, ``per_file`` (or
    the next whole shard's worth) each; returns the scene count."""
    buffer: dict[str, list] = {"images": [], "coeffs": [], "known": []}
    count = index = 0

    def flush() -> int:
        if not buffer["images"]:
            return index
        known = None if any(k is None for k in buffer["known"]) else np.concatenate(buffer["known"])
        arrays = pack_scenes(np.concatenate(buffer["images"]), np.concatenate(buffer["coeffs"]), known, floor)
        np.savez(out / f"{name}_{index:03d}.npz", **arrays)
        for v in buffer.values():
            v.clear()
        return index + 1

    for shard in sorted(folder.glob("shard_*.npz")):
        z = np.load(shard)
        take = min(len(z["images"]), limit - count)
        buffer["images"].append(z["images"][:take])
        buffer["coeffs"].append(z["coeffs"][:take])
        buffer["known"].append(z["known"][:take] if "known" in z.files else None)
        count += take
        if sum(len(b) for b in buffer["images"]) >= per_file:
            index = flush()
        if count >= limit:
            break
    flush()
    return count


def split_pack(folder: Path, parts: int) -> list[Path]:
    """Deal the files of the pack in ``folder`` into ``parts`` sibling folders ``<folder>_part<i>`` (copies, each
    with the manifest): each dataset's files in turn, each file to the part that holds the fewest bytes so far."""
    files = sorted(folder.glob("*.npz"))
    out = [folder.parent / f"{folder.name}_part{i + 1}" for i in range(parts)]
    sizes = [0] * parts
    for target in out:
        target.mkdir(parents=True, exist_ok=False)
        shutil.copy(folder / "manifest.json", target)
    for dataset in sorted({dataset_of(f.name) for f in files}):
        for f in (f for f in files if dataset_of(f.name) == dataset):
            i = sizes.index(min(sizes))
            shutil.copy(f, out[i])
            sizes[i] += f.stat().st_size
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["split"]:
        if len(argv) != 3:
            raise SystemExit("usage: energy_pack.py split PACK_DIR N")
        for part in split_pack(Path(argv[1]), int(argv[2])):
            print(f"{part}: {sum(f.stat().st_size for f in part.iterdir()) / 2 ** 20:.1f} MiB")
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from image_dynamics.train.configs import get_config
    from image_dynamics.train.data import parse_data_spec

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("data", nargs="+", help="DATA_DIR[:WEIGHT], as train --data takes them")
    parser.add_argument("--limit", type=int, default=0, help="at most this many scenes of each dataset (0: all)")
    parser.add_argument("--per-file", type=int, default=64)
    args = parser.parse_args(argv)
    floor = get_config("default").energy_floor
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    weights = json.loads(manifest_path.read_text())["weights"] if manifest_path.exists() else {}
    for spec in args.data:
        folder, weight = parse_data_spec(spec)
        name = folder.name.replace("_", "-")
        weights[name] = weight
        count = pack_dataset(folder, name, args.out, args.limit or 1 << 30, args.per_file, floor)
        print(f"{name}: {count} scenes at weight {weight}", flush=True)
        manifest_path.write_text(json.dumps({"weights": weights, "floor": floor}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
