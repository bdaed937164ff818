"""scripts/choose_snapshot.py: the clauses of the choice rules, computed from the scoring scripts' JSONs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from .conftest import load_script

REF = "/runs/release6_pkg/default"


@pytest.fixture(scope="module")
def rule():
    return load_script("choose_snapshot")


def _validation(forest: float, quay: float, still_px: float) -> dict:
    images = [{"name": "forest", "auc": forest, "mean_rms_px": 0.3},
              {"name": "quay", "auc": quay, "mean_rms_px": 0.01},
              {"name": "city", "auc": None, "mean_rms_px": still_px}]
    return {"score": {"mean_auc": (forest + quay) / 2, "static_only_mean_rms_px": still_px}, "images": images}


def _closeups(flowers_px: float, share: float, auc: float = 0.93) -> dict:
    return {"images": [{"name": "flowers", "auc": auc, "mean_rms_px": flowers_px, "moving_fraction": share},
                       {"name": "grass", "auc": auc, "mean_rms_px": 0.1, "moving_fraction": share}]}


def _held(ref_corr: float, corrs: dict[str, float]) -> dict:
    models = {"shipped default": {"energy_corr": ref_corr, "moving_auc": 0.97}}
    models.update({k: {"energy_corr": v, "moving_auc": 0.97} for k, v in corrs.items()})
    return {"data": "/data/render_heldout", "models": models}


def _args(**kw):
    base = dict(reference=None, margin=0.01, max_view_loss=0.05, closeup_factor=2.0, closeup_auc=0.91,
                static_ratio_floor=0.3, heldout_corr=0.01, heldout_auc=0.005, places_still_px=0.005,
                view_loss={})
    return SimpleNamespace(**{**base, **kw})


def test_each_clause_can_fail_on_its_own_and_the_best_eligible_snapshot_wins(rule):
    validation = {"models": {REF: _validation(0.80, 0.90, 0.010),
                             "s100": _validation(0.86, 0.90, 0.010),   # eligible
                             "s200": _validation(0.87, 0.90, 0.010),   # eligible, higher: chosen
                             "s300": _validation(0.95, 0.84, 0.010),   # (a): quay lost 0.06
                             "s400": _validation(0.90, 0.90, 0.010),   # (b): close-ups not moving more
                             "s500": _validation(0.90, 0.90, 0.030),   # (c): the still view moves more
                             "s600": _validation(0.90, 0.90, 0.010)}}  # (d): held-out loss
    closeups = {"models": {REF: _closeups(0.05, 0.01), "s100": _closeups(0.05, 0.03), "s200": _closeups(0.05, 0.03),
                           "s300": _closeups(0.05, 0.03), "s400": _closeups(0.05, 0.015),
                           "s500": _closeups(0.05, 0.03), "s600": _closeups(0.05, 0.03)}}
    held = _held(0.53, {"s100": 0.53, "s200": 0.525, "s300": 0.53, "s400": 0.53, "s500": 0.53, "s600": 0.515})
    ref, rows = rule.evaluate_rule(validation, closeups, [held], _args())
    assert ref == REF
    failed = {row["snapshot"]: [c for c in "abcd" if not row[c]["ok"]] for row in rows}
    assert failed == {"s100": [], "s200": [], "s300": ["a"], "s400": ["b"], "s500": ["c"], "s600": ["d"]}
    assert rule.choose(rows)["snapshot"] == "s200"
    # the static ratio is measured against max(the reference's, the floor): a reference above the floor allows it
    assert rule.static_ratio_clause(_validation(0.8, 0.9, 0.02), _closeups(0.05, 0.01),
                                    _validation(0.8, 0.9, 0.02), _closeups(0.05, 0.01), 0.3)["ok"]


def test_ties_go_to_the_earlier_snapshot_and_no_held_out_sets_means_none_eligible(rule):
    validation = {"models": {REF: _validation(0.80, 0.90, 0.01), "s100": _validation(0.8700, 0.90, 0.01),
                             "s200": _validation(0.8715, 0.90, 0.01)}}
    closeups = {"models": {k: _closeups(0.05, 0.03 if k != REF else 0.01) for k in validation["models"]}}
    held = _held(0.53, {"s100": 0.53, "s200": 0.53})
    _, rows = rule.evaluate_rule(validation, closeups, [held], _args())
    assert rule.choose(rows)["snapshot"] == "s100"  # 0.0015 apart in mean AUC: within the tie
    _, rows = rule.evaluate_rule(validation, closeups, [], _args())
    assert rule.choose(rows) is None and all(row["d"]["ok"] is None for row in rows)


def test_the_reference_must_be_unambiguous(rule):
    assert rule.reference_key(["a", "release 6 (shipped package)"]) == "release 6 (shipped package)"
    with pytest.raises(SystemExit, match="name it with --reference"):
        rule.reference_key(["release 5", "release 6"])
    with pytest.raises(SystemExit, match="not in the file"):
        rule.reference_key(["a"], "b")


def test_files_that_do_not_score_the_same_models_get_one_clear_line(rule):
    validation = {"models": {REF: _validation(0.80, 0.90, 0.01), "s100": _validation(0.87, 0.90, 0.01)}}
    closeups = {"models": {REF: _closeups(0.05, 0.01)}}
    with pytest.raises(SystemExit, match="close-ups' file has no scores for s100"):
        rule.evaluate_rule(validation, closeups, [], _args())
    closeups["models"]["s100"] = _closeups(0.05, 0.03)
    with pytest.raises(SystemExit, match="held-out file of /data/render_heldout has no scores for s100"):
        rule.evaluate_rule(validation, closeups, [_held(0.53, {})], _args())


def test_the_places_clause_fails_on_a_lower_mean_a_lost_view_or_a_still_view_that_moves(rule):
    validation = {"models": {REF: _validation(0.80, 0.90, 0.010), **{k: _validation(0.86, 0.90, 0.010)
                                                                      for k in ("s1", "s2", "s3", "s4")}}}
    closeups = {"models": {REF: _closeups(0.05, 0.01), **{k: _closeups(0.05, 0.03) for k in ("s1", "s2", "s3", "s4")}}}
    held = _held(0.53, {k: 0.53 for k in ("s1", "s2", "s3", "s4")})
    places = {"models": {REF: _validation(0.90, 0.90, 0.004),
                         "s1": _validation(0.90, 0.91, 0.008),   # ok: 0.004 px more is within 0.005
                         "s2": _validation(0.88, 0.91, 0.004),   # mean 0.895 < 0.90
                         "s3": _validation(0.97, 0.84, 0.004),   # a view lost 0.06
                         "s4": _validation(0.90, 0.91, 0.010)}}  # the still views moved 0.006 px more
    _, rows = rule.evaluate_rule(validation, closeups, [held], _args(), places)
    assert {row["snapshot"]: row["e"]["ok"] for row in rows} == {"s1": True, "s2": False, "s3": False, "s4": False}
    assert [row["snapshot"] for row in rows if row["eligible"]] == ["s1"]
    # without the places file the rows carry no clause (e), as under the rules before r25
    _, rows = rule.evaluate_rule(validation, closeups, [held], _args())
    assert all("e" not in row and row["eligible"] for row in rows)


def test_a_tighter_limit_on_one_view(rule):
    ref, cand = _validation(0.80, 0.90, 0.01), _validation(0.95, 0.88, 0.01)  # the quay loses 0.02
    assert rule.validation_clause(ref, cand, 0.01, 0.05)["ok"]
    assert not rule.validation_clause(ref, cand, 0.01, 0.05, {"quay": 0.01})["ok"]
    assert rule.validation_clause(ref, cand, 0.01, 0.05, {"forest": 0.01})["ok"]
    assert rule.parse_view_losses(["quay=0.01"]) == {"quay": 0.01}
    with pytest.raises(SystemExit, match="NAME=LOSS"):
        rule.parse_view_losses(["quay"])
    with pytest.raises(SystemExit, match="no AUC for"):
        rule.validation_clause(ref, cand, 0.01, 0.05, {"sea": 0.01})
