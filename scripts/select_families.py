"""Copy the scenes of some families out of a rendered dataset into a new one (for training on part of a mixture).

Usage: .venv/bin/python scripts/select_families.py SOURCE DEST --keep meadow,lake,coast [--shard-size 8]

Each sample's family is its ``kinds`` entry (what ``data render`` wrote); samples are copied in order, in storage
form (no re-encoding), with their sample ids and known masks. DEST's ``source`` is SOURCE's with the kept families
named, as ``data render --families`` names them, so DEST is never continued by a render of the whole mixture.
A family name that SOURCE does not hold is refused with the list of those it does.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from image_dynamics.data.shards import ShardWriter, iter_shards, read_info
from image_dynamics.errors import InputError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("dest")
    ap.add_argument("--keep", required=True, help="comma-separated family names")
    ap.add_argument("--shard-size", type=int, default=8)
    args = ap.parse_args(argv)
    info = read_info(args.source)
    keep = [name.strip() for name in args.keep.split(",") if name.strip()]
    held = Counter(str(kind) for shard in iter_shards(info) for kind in shard["kinds"])
    missing = [name for name in keep if name not in held]
    if missing:
        raise InputError(f"{args.source}: holds no scenes of {', '.join(missing)}; it holds "
                         f"{', '.join(sorted(held))}. Choose among those with --keep.")
    writer = ShardWriter(args.dest, info.width, info.height, info.freqs_hz, info.fps, info.window_frames,
                         f"{info.source} families={','.join(sorted(keep))}", shard_size=args.shard_size)
    for shard in iter_shards(info):
        for i, kind in enumerate(shard["kinds"]):
            if str(kind) in keep:
                known = shard["known"][i] if "known" in shard else None
                writer.add_channels(shard["images"][i], shard["coeffs"][i], int(shard["sample_ids"][i]), str(kind),
                                    known)
    writer.close()
    print(f"{args.dest}: {writer.count} scenes ({', '.join(f'{k} {held[k]}' for k in sorted(keep))})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as error:
        print(f"select_families: {error}", file=sys.stderr)
        sys.exit(2)
