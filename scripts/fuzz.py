"""The long fuzz run over every reader of untrusted files (motion .npz, cache entries, model packages, masks).

    python scripts/fuzz.py --minutes 30            # all readers, time shared between them
    python scripts/fuzz.py --minutes 5 --reader motion --seed 1000

Uses the same structure-aware mutators as tests/test_fuzz.py (tests/fuzzing.py), driven by ``random.Random(seed)``
with consecutive seeds, so a crash is reproduced by its seed: ``--reader R --seed S --cases 1``. Crashing inputs are
copied to ``--crashes`` (default fuzz-crashes/) with the traceback beside them; the exit status is 1 if any crashed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzzing import READERS, Chooser, run_case  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    parser.add_argument("--reader", choices=sorted(READERS), action="append",
                        help="fuzz only this reader (repeatable; default all)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--cases", type=int, help="stop after this many cases per reader")
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs go")
    args = parser.parse_args(argv)
    readers = args.reader or sorted(READERS)
    deadline = time.monotonic() + args.minutes * 60
    counts: Counter = Counter()
    crashes = 0
    seed = args.seed
    warnings.simplefilter("ignore")
    while time.monotonic() < deadline:
        if args.cases is not None and all(counts[r] >= args.cases for r in readers):
            break
        for reader in readers:
            with tempfile.TemporaryDirectory() as folder:
                try:
                    run_case(reader, Chooser(random.Random(seed)), Path(folder))
                except Exception:  # noqa: BLE001 - a crash is what we look for
                    crashes += 1
                    keep = args.crashes / f"{reader}-seed{seed}"
                    shutil.copytree(folder, keep, dirs_exist_ok=True)
                    (keep / "traceback.txt").write_text(traceback.format_exc())
                    print(f"CRASH {reader} seed {seed}: {traceback.format_exc().splitlines()[-1]} -> {keep}")
            counts[reader] += 1
        seed += 1
    total = sum(counts.values())
    print(f"{total} cases ({', '.join(f'{r} {n}' for r, n in sorted(counts.items()))}), seeds {args.seed}..{seed - 1}, "
          f"{crashes} crash(es)")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
