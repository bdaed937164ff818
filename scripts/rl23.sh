#!/usr/bin/env bash
# Run RL23 (rule r46, docs/rules.md; docs/model-card.md "RL23"): every dataset, run and snapshot outside the
# repository was lost between the sessions of 2026-12-06, RL13's GPU snapshots and RL15-RL22 with them, so the guard
# runs start again from what git keeps: release 7's package, its torch weights rebuilt by train.recover. On 2 CPU
# cores: the first 128 scenes of each of RL22's five guard sets and the first 640 of a broad v16 mix (about 65
# minutes), the 2-D synthetic set (6 minutes), then 1,600 steps of 8 of the energy stage with the guard runs' recipe
# (about 43 minutes), each snapshot scored as it is (gain 1) beside release 7 on the validation views, close-ups,
# places and, as information, the report set, and judged by the standing clauses (docs/rules.md). Everything is
# made once; a rerun skips what exists, and the renders and the run resume where a kill stopped them.
#
#   bash scripts/rl23.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RL23_MIXTURE, render_*, release7_package, recover_weights, guard_run

GUARD_SCENES=128
MIX_SCENES=640
render_calm_water_v16 $GUARD_SCENES
render_yard $GUARD_SCENES
render_dim_paving $GUARD_SCENES
render_park $GUARD_SCENES
render_quayside $GUARD_SCENES
render_v16_mix $MIX_SCENES
[ -f "$DATA/synth_train/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$DATA/synth_train" \
    --count 2000 --seed 0

release7_package
recover_weights "$RELEASE7" "$RUNS/release7_recovered/model.pt"
name=rl23
guard_run $name "$RUNS/release7_recovered/model.pt" 1600 400 37 "${RL23_MIXTURE[@]}"
$PY scripts/choose_snapshot.py "$RUNS/eval_realphoto_validation_$name.json" \
    "$RUNS/eval_realphoto_validation_closeups_$name.json" --places "$RUNS/eval_realphoto_places_$name.json" \
    --view-loss venice_quay=0.01 --closeup-factor 1 --json "$RUNS/choice_$name.json" | tee "$RUNS/choice_$name.txt"
