"""``models`` and ``export``: the installed motion model packages, and exporting a trained model as one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from .common import EXIT_OK, ProgressBar, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list installed motion model packages and what can run them (CPU / GPU)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("export", help="export a trained motion model (run folder or model.pt) as a model package")
    p.add_argument("source", type=Path, metavar="RUN_OR_CHECKPOINT", help="training run folder or model.pt")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FOLDER", help="package folder to write")
    p.add_argument("--name", help="package name (default: the folder's name)")
    p.add_argument("--fp16", action="store_true", help="also write fp16 graphs for GPU inference")
    p.add_argument("--opset", type=int, help="ONNX opset (default 18)")
    p.add_argument("--licence", help="licence of the weights, recorded in model.json")
    p.add_argument("--data-note", help="what data trained the model (default: what the training run recorded)")
    p.add_argument("--steps", type=int, help="default DDIM steps recorded in the package (default: the config's)")
    p.add_argument("--eta", type=float, help="default DDIM eta recorded in the package (default: the config's)")
    p.add_argument("--guidance", type=float,
                   help="default classifier-free guidance recorded in the package (1 = off; default: the config's)")
    p.add_argument("--energy-input-key", type=float, metavar="KEY",
                   help="the exposure (log-average luminance, e.g. 0.1) the motion-energy network sees each image at; "
                        "0 = the image as it is (default: the config's)")
    p.add_argument("--energy-gain", type=float, metavar="G",
                   help="calibration gain on the motion-energy network's band energies, as fitted on rendered data by "
                        "scripts/calibrate_energy_gain.py (default: the model's own, 1 after training)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing package")
    p.set_defaults(run=cmd_export)


def cmd_models(args: argparse.Namespace) -> int:
    from ..model.cache import cache_dir, cache_size
    from ..model.package import ModelPackage, ModelPackageError, find_models, search_folders
    from ..model.providers import explain_providers

    rows = []
    for found in find_models():
        try:
            rows.append({**ModelPackage.load(found.path).summary(), "found_in": found.source, "ok": True})
        except ModelPackageError as exc:
            rows.append({"name": found.name, "path": str(found.path), "found_in": found.source, "ok": False,
                         "error": str(exc)})
    entries, size = cache_size()
    report = explain_providers()
    if args.json:
        print(json.dumps({"models": rows, "searched": [str(f) for f, _ in search_folders()],
                          "providers": report.splitlines(), "cache": {"folder": str(cache_dir()),
                                                                      "entries": entries, "bytes": size}}, indent=1))
        return EXIT_OK
    if not rows:
        where = ", ".join(str(f) for f, _ in search_folders()) or "nowhere: IMAGE_DYNAMICS_MODELS is unset"
        print(f"no motion model packages installed (looked in: {where}). Export one with "
              "`image-dynamics export RUN -o MY_MODELS/default/` and set IMAGE_DYNAMICS_MODELS=MY_MODELS.")
    for row in rows:
        if row["ok"]:
            print(f"{row['name']}: K={row['K']}, {row['resolution']}, {row['size_mb']:.1f} MB"
                  f"{' (+fp16)' if row['fp16'] else ''}, {row['steps']} steps, guidance {row['guidance']:g}"
                  f"{', motion-energy network' if row['energy_net'] else ''}, licence: {row['licence']}")
            print(f"    {row['path']} ({row['found_in']}); data: {row['data']}")
        else:
            print(f"{row['name']}: BROKEN: {row['error']}")
    print("providers:")
    for line in report.splitlines():
        print(f"    {line}")
    print(f"cache: {entries} result(s), {size / 2 ** 20:.1f} MB in {cache_dir()}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from ..train.export import DEFAULT_LICENCE, DEFAULT_OPSET, export_package

    if not args.source.exists():
        raise InputError(f"{args.source}: no such run folder or checkpoint. Pass the folder given to "
                         "`image-dynamics train --out`, or its model.pt.")
    bar = ProgressBar(args.quiet)
    try:
        out = export_package(args.source, args.output, name=args.name, fp16=args.fp16,
                             opset=args.opset or DEFAULT_OPSET, overwrite=args.overwrite,
                             licence=args.licence or DEFAULT_LICENCE, data_note=args.data_note,
                             steps=args.steps, eta=args.eta, guidance=args.guidance,
                             energy_input_key=args.energy_input_key, energy_gain=args.energy_gain,
                             progress=lambda done, total: bar(done, total, "exporting"))
    finally:
        bar.close()
    doc = json.loads((out / "model.json").read_text())
    size = sum(f["bytes"] for f in doc["files"].values())
    parity = max(doc["export"]["parity_max_abs_diff_fp32"].values())
    say(args, f"wrote model package '{doc['name']}' to {out}: {len(doc['files'])} graphs, {size / 2 ** 20:.1f} MB, "
               f"K={doc['num_bands']}, {doc['resolution']['width']}x{doc['resolution']['height']}, opset "
               f"{doc['opset']}; onnxruntime matches torch to {parity:.1e}")
    return EXIT_OK
