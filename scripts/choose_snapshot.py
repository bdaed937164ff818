"""Which snapshot of a candidate run a choice rule picks: the clauses of rules r15-r17 (docs/model-card.md, "Flowers
and unknown pixels"), computed from the JSONs that the scoring scripts write, so no session applies them by hand.

Usage: .venv/bin/python scripts/choose_snapshot.py VALIDATION.json CLOSEUPS.json [--heldout HELDOUT.json ...]
       [--places PLACES.json] [--reference KEY] [--margin 0.01] [--max-view-loss 0.05] [--closeup-factor 2]
       [--closeup-auc 0.91] [--static-ratio-floor 0.3] [--heldout-corr 0.01] [--heldout-auc 0.005]
       [--places-still-px 0.005] [--view-loss NAME=LOSS ...] [--json OUT]

VALIDATION.json and CLOSEUPS.json are ``scripts/eval_photos_energy_net.py --json`` on ``docs/realphoto_validation``
and ``docs/realphoto_validation_closeups`` (the reference model and the snapshots, one run); each HELDOUT.json is
``scripts/eval_energy_net.py --json`` on a held-out set with the same snapshots (the reference there is ``shipped
default`` or the key given). The reference is the model whose key holds ``release`` or ``shipped``, or
``--reference``. A snapshot is eligible when

- (a) its validation mean AUC is at least the reference's + ``margin`` and no view loses more than
  ``max-view-loss`` AUC, or than a tighter limit ``--view-loss NAME=LOSS`` gives a view (rule r27 on);
- (b) the close-ups' mean share above 0.5 px is at least ``closeup-factor`` times the reference's, at a mean
  close-up AUC of at least ``closeup-auc``;
- (c) the static-only views' mean motion is at most max(the reference's ratio, ``static-ratio-floor``) times each
  close-up's mean motion;
- (d) on every held-out set its energy correlation is at most ``heldout-corr`` and its AUC at most ``heldout-auc``
  below the reference's (left out when no held-out file is given: then say so);
- (e) only with ``--places`` (``eval_photos_energy_net`` on ``docs/realphoto_places``, rule r25 on): its mean AUC
  there is at least the reference's, no view loses more than ``max-view-loss``, and the static-only views' mean
  motion is at most the reference's + ``places-still-px``.

The highest validation mean AUC among the eligible wins; within 0.001 the earlier snapshot (the order of the file).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TIE_AUC = 0.001


def reference_key(keys: list[str], asked: str | None = None) -> str:
    """The reference model's key: ``asked`` when given, else the one key naming a release or the shipped model."""
    if asked is not None:
        if asked not in keys:
            raise SystemExit(f"--reference {asked!r} is not in the file; its models are: {', '.join(keys)}")
        return asked
    found = [k for k in keys if "release" in k or "shipped" in k]
    if len(found) != 1:
        raise SystemExit(f"cannot tell the reference among {', '.join(keys)}; name it with --reference")
    return found[0]


def _by_name(entry: dict) -> dict[str, dict]:
    return {image["name"]: image for image in entry["images"]}


def validation_clause(ref: dict, cand: dict, margin: float, max_view_loss: float,
                      view_loss: dict[str, float] | None = None) -> dict:
    """(a) from two ``eval_photos_energy_net`` entries of the validation views: the mean AUC, the worst view's loss
    against the reference (AUC, negative = lower) and whether the clause holds; ``view_loss`` gives some views a
    tighter limit than ``max_view_loss``."""
    ref_images, cand_images = _by_name(ref), _by_name(cand)
    losses = {name: image["auc"] - ref_images[name]["auc"] for name, image in cand_images.items()
              if image["auc"] is not None}
    unknown = sorted(set(view_loss or {}) - set(losses))
    if unknown:
        raise SystemExit(f"--view-loss names {', '.join(unknown)}, which the validation file has no AUC for")
    worst = min(losses, key=losses.get)
    mean_auc = cand["score"]["mean_auc"]
    within = all(loss >= -(view_loss or {}).get(name, max_view_loss) for name, loss in losses.items())
    return {"mean_auc": mean_auc, "worst_view": worst, "worst_loss": losses[worst],
            "ok": mean_auc >= ref["score"]["mean_auc"] + margin and within}


def closeup_share(entry: dict) -> tuple[float, float]:
    """(mean share of pixels above 0.5 px, mean AUC) over the close-ups of one entry."""
    images = entry["images"]
    return (sum(i["moving_fraction"] for i in images) / len(images), sum(i["auc"] for i in images) / len(images))


def closeup_clause(ref: dict, cand: dict, factor: float, min_auc: float) -> dict:
    """(b): the close-ups move at least ``factor`` times the reference's share, at a mean AUC of ``min_auc``."""
    share, auc = closeup_share(cand)
    return {"share": share, "auc": auc, "ok": share >= factor * closeup_share(ref)[0] and auc >= min_auc}


def static_ratio_clause(ref_val: dict, ref_close: dict, val: dict, close: dict, floor: float) -> dict:
    """(c): the static-only views' mean motion over each close-up's, against max(the reference's ratio, floor)."""
    def ratios(v, c):
        still = v["score"]["static_only_mean_rms_px"]
        return {image["name"]: still / image["mean_rms_px"] for image in c["images"]}

    limits = {name: max(r, floor) for name, r in ratios(ref_val, ref_close).items()}
    got = ratios(val, close)
    return {"static_px": val["score"]["static_only_mean_rms_px"], "ratios": got,
            "ok": all(got[name] <= limits[name] for name in got)}


def places_clause(ref: dict, cand: dict, max_view_loss: float, still_px: float) -> dict:
    """(e) from two ``eval_photos_energy_net`` entries of the places set: (a)'s figures with no margin, and the
    static-only views' mean motion (px) at most the reference's + ``still_px``."""
    row = validation_clause(ref, cand, 0.0, max_view_loss)
    still, ref_still = cand["score"]["static_only_mean_rms_px"], ref["score"]["static_only_mean_rms_px"]
    return {**row, "static_px": still, "ok": row["ok"] and still <= ref_still + still_px}


def heldout_clause(sets: list[tuple[str, dict, dict]], max_corr_loss: float, max_auc_loss: float) -> dict:
    """(d) from ``(set, reference figures, candidate figures)`` of ``eval_energy_net``: no set loses more than the
    limits; ``ok`` None when there are no sets."""
    if not sets:
        return {"corr": {}, "ok": None}
    corr = {name: c["energy_corr"] for name, _, c in sets}
    ok = all(c["energy_corr"] >= r["energy_corr"] - max_corr_loss and c["moving_auc"] >= r["moving_auc"] - max_auc_loss
             for _, r, c in sets)
    return {"corr": corr, "ok": ok}


def choose(rows: list[dict]) -> dict | None:
    """The eligible row (all clauses ok; a held-out clause of None counts as not scored, so not eligible) with the
    highest validation mean AUC, the earlier within :data:`TIE_AUC`."""
    best = None
    for row in rows:
        if not row["eligible"]:
            continue
        if best is None or row["a"]["mean_auc"] > best["a"]["mean_auc"] + TIE_AUC:
            best = row
    return best


def evaluate_rule(validation: dict, closeups: dict, heldouts: list[dict], args,
                  places: dict | None = None) -> tuple[str, list[dict]]:
    """The reference key and one row per snapshot with every clause ((e) only when ``places`` is given)."""
    val, close = validation["models"], closeups["models"]
    if places is not None and [k for k in val if k not in places["models"]]:
        raise SystemExit("the places file has no scores for some models: score the same models on "
                         "docs/realphoto_places (scripts/eval_photos_energy_net.py)")
    ref = reference_key(list(val), args.reference)
    missing = [k for k in val if k not in close]
    if missing:
        raise SystemExit(f"the close-ups' file has no scores for {', '.join(missing)}: score the same models on "
                         "docs/realphoto_validation_closeups (scripts/eval_photos_energy_net.py)")
    for held in heldouts:
        absent = [k for k in val if k != ref and k not in held["models"]]
        if absent:
            raise SystemExit(f"the held-out file of {held['data']} has no scores for {', '.join(absent)}: score the "
                             "same snapshots there (scripts/eval_energy_net.py)")
    rows = []
    for key in val:
        if key == ref:
            continue
        sets = []
        for held in heldouts:
            models = held["models"]
            ref_held = reference_key(list(models), args.reference if args.reference in models else None)
            sets.append((Path(held["data"]).name, models[ref_held], models[key]))
        row = {"snapshot": key,
               "a": validation_clause(val[ref], val[key], args.margin, args.max_view_loss, args.view_loss),
               "b": closeup_clause(close[ref], close[key], args.closeup_factor, args.closeup_auc),
               "c": static_ratio_clause(val[ref], close[ref], val[key], close[key], args.static_ratio_floor),
               "d": heldout_clause(sets, args.heldout_corr, args.heldout_auc)}
        if places is not None:
            row["e"] = places_clause(places["models"][ref], places["models"][key], args.max_view_loss,
                                     args.places_still_px)
        row["eligible"] = all(row[c]["ok"] for c in "abcde" if c in row)
        rows.append(row)
    return ref, rows


def parse_view_losses(items: list[str]) -> dict[str, float]:
    """``["venice_quay=0.01"]`` -> ``{"venice_quay": 0.01}``; one clear line for anything else."""
    limits = {}
    for item in items:
        name, _, loss = item.partition("=")
        try:
            limits[name] = float(loss)
        except ValueError:
            raise SystemExit(f"--view-loss {item!r}: write NAME=LOSS, e.g. venice_quay=0.01") from None
    return limits


def places_text(e: dict | None) -> str:
    """Clause (e) as printed after the others ('' when the places set was not given)."""
    if e is None:
        return ""
    return (f" | (e) places {e['mean_auc']:.3f}, worst {e['worst_loss']:+.3f} {e['worst_view']}, static "
            f"{e['static_px']:.4f} px {'ok' if e['ok'] else 'NO'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("validation", type=Path)
    ap.add_argument("closeups", type=Path)
    ap.add_argument("--heldout", type=Path, action="append", default=[])
    ap.add_argument("--places", type=Path, help="docs/realphoto_places scores: adds clause (e)")
    ap.add_argument("--reference")
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--max-view-loss", type=float, default=0.05)
    ap.add_argument("--closeup-factor", type=float, default=2.0)
    ap.add_argument("--closeup-auc", type=float, default=0.91)
    ap.add_argument("--static-ratio-floor", type=float, default=0.3)
    ap.add_argument("--heldout-corr", type=float, default=0.01)
    ap.add_argument("--heldout-auc", type=float, default=0.005)
    ap.add_argument("--places-still-px", type=float, default=0.005)
    ap.add_argument("--view-loss", action="append", default=[], metavar="NAME=LOSS",
                    help="a tighter limit on one validation view's AUC loss than --max-view-loss")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.view_loss = parse_view_losses(args.view_loss)
    ref, rows = evaluate_rule(json.loads(args.validation.read_text()), json.loads(args.closeups.read_text()),
                              [json.loads(p.read_text()) for p in args.heldout], args,
                              json.loads(args.places.read_text()) if args.places else None)
    print(f"reference: {ref}")
    for row in rows:
        a, b, c, d = (row[k] for k in "abcd")
        held = "not scored" if d["ok"] is None else " ".join(f"{k} {v:.3f}" for k, v in d["corr"].items())
        print(f"{row['snapshot']}: (a) {a['mean_auc']:.3f}, worst {a['worst_loss']:+.3f} {a['worst_view']} "
              f"{'ok' if a['ok'] else 'NO'} | (b) {100 * b['share']:.2f} % at AUC {b['auc']:.3f} "
              f"{'ok' if b['ok'] else 'NO'} | (c) static {c['static_px']:.3f} px, ratios "
              f"{' '.join(f'{r:.2f}' for r in c['ratios'].values())} {'ok' if c['ok'] else 'NO'} | (d) {held} "
              f"{'-' if d['ok'] is None else 'ok' if d['ok'] else 'NO'}" + places_text(row.get("e")))
    chosen = choose(rows)
    if not any(row["d"]["ok"] is not None for row in rows):
        print("held-out sets not given: (d) not scored, so no snapshot is eligible yet")
    print(f"chosen: {chosen['snapshot'] if chosen else 'none eligible'}")
    if args.json:
        args.json.write_text(json.dumps({"reference": ref, "rows": rows,
                                         "chosen": chosen["snapshot"] if chosen else None}, indent=1) + "\n")


if __name__ == "__main__":
    main()
