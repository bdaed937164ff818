"""A trained motion model with configuration fields changed: its inference settings (e.g. rule r50's
``energy_flip_average``) tried on a network already trained, without training it again.

Usage: .venv/bin/python scripts/model_with.py MODEL OUT.pt FIELD=VALUE [FIELD=VALUE ...]

MODEL is anything :func:`image_dynamics.train.loop.load_motion_model` reads (a ``model.pt``, a snapshot, a run's
``checkpoint.pt``, a model package). The weights are copied as they are; FIELD=VALUE is read as ``train --set``
reads it (fields that shape the networks are refused). OUT is never overwritten.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from image_dynamics.errors import InputError
from image_dynamics.train.configs import override_fields
from image_dynamics.train.loop import load_motion_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="model.pt, snapshot, checkpoint.pt or package folder")
    ap.add_argument("out", help="the new model file (.pt); refused if it exists")
    ap.add_argument("settings", nargs="+", metavar="FIELD=VALUE")
    args = ap.parse_args()
    if Path(args.out).exists():
        raise SystemExit(f"{args.out} exists: choose another name or remove it first")
    try:
        model = load_motion_model(args.model)
        model.config = override_fields(model.config, args.settings)
    except InputError as error:
        raise SystemExit(str(error)) from None
    model.save(args.out)
    print(f"{args.out}: {args.model} with {' '.join(args.settings)}")


if __name__ == "__main__":
    main()
