"""A release's package made from the one before it and a candidate's export: the candidate's energy network, the
base's other graphs byte for byte.

Usage: .venv/bin/python scripts/assemble_release.py BASE CANDIDATE OUT --data-note TEXT --note TEXT

BASE is the shipped package the release continues (its image encoder, denoiser and VAE decoder were not trained
again), CANDIDATE the export of the chosen, calibrated model (``image-dynamics export``). OUT gets BASE's graphs with
CANDIDATE's energy network (``energy_net.onnx``, and its fp16 file if exported), BASE's README, and CANDIDATE's
``model.json`` (the energy network's floor, gain and settings, the training facts) whose ``files`` entries name
BASE's files for the unchanged graphs (a re-export differs in bytes only), whose ``data_note`` is TEXT (the whole
lineage: an export names only its own run's data) and whose ``export.note`` says what was kept. The result is
loaded and every hash checked. OUT is never overwritten.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from image_dynamics.model.package import MANIFEST, ModelPackage

TRAINED = "energy_net"  #: the one graph a release since release 6 trains; the others are BASE's


def graph_files(entry: dict) -> list[str]:
    """The files of one ``graphs`` entry of a model.json (fp32 and, when exported, fp16)."""
    return [entry[precision] for precision in ("fp32", "fp16") if precision in entry]


def assemble(base: Path, candidate: Path, out: Path, data_note: str, note: str) -> ModelPackage:
    """Write OUT (see the module's docstring) and return it loaded, every file's hash checked."""
    if out.exists():
        raise SystemExit(f"{out} exists: choose another folder or remove it first")
    doc = json.loads((candidate / MANIFEST).read_text())
    old = json.loads((base / MANIFEST).read_text())
    if set(doc["graphs"]) != set(old["graphs"]) or TRAINED not in doc["graphs"]:
        raise SystemExit(f"{candidate} and {base} hold different graphs: {sorted(doc['graphs'])} against "
                         f"{sorted(old['graphs'])}")
    trained = graph_files(doc["graphs"][TRAINED])
    doc["graphs"] = {name: doc["graphs"][name] if name == TRAINED else old["graphs"][name] for name in old["graphs"]}
    kept = [f for name, entry in old["graphs"].items() if name != TRAINED for f in graph_files(entry)]
    doc["files"] = {**{f: old["files"][f] for f in kept}, **{f: doc["files"][f] for f in trained}}
    doc["data_note"] = data_note
    doc["export"]["note"] = note
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    readme = [p.name for p in base.iterdir() if p.is_file() and p.suffix != ".onnx" and p.name != MANIFEST]
    for name in kept + readme:
        shutil.copy2(base / name, staging / name)
    for name in trained:
        shutil.copy2(candidate / name, staging / name)
    with open(staging / MANIFEST, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    staging.rename(out)
    return ModelPackage.load(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="the shipped package the release continues")
    ap.add_argument("candidate", type=Path, help="the chosen model's export")
    ap.add_argument("out", type=Path, help="the new package folder (refused if it exists)")
    ap.add_argument("--data-note", required=True, help="what data trained the whole model, its lineage")
    ap.add_argument("--note", required=True, help="the export note: what was kept from BASE")
    args = ap.parse_args()
    package = assemble(args.base, args.candidate, args.out, args.data_note, args.note)
    print(f"{args.out}: {package.name}, sha256 {package.sha256[:12]}, {package.size_bytes / 2 ** 20:.1f} MB")


if __name__ == "__main__":
    main()
