#!/usr/bin/env bash
# Rule r50 (docs/rules.md): nine energy networks already trained, each read on the picture and its mirror image with
# the log energies averaged (energy_flip_average): release 7's (its gain kept), RL24F's four snapshots and RL25F's
# four. Scored beside release 7 as it ships on the validation views, close-ups and places, and, as information, the
# report set, then judged by the standing clauses. Made once; a rerun skips what exists. On 2 cores about 15 minutes.
# Needs RL24F's and RL25F's snapshots under $RUNS (scripts/rl24f.sh makes them).
#
#   bash scripts/r50.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, PY, RELEASE7, release7_package, judge_standing

name=r50
out=$RUNS/$name
mkdir -p "$out"
release7_package
sources=("$RELEASE7:release7")
for run_steps in "rl24f:400 800 1200 1600" "rl25f:100 200 300 400"; do
    run=${run_steps%%:*}
    for step in ${run_steps#*:}; do
        sources+=("$RUNS/$run/snapshots/model_step$(printf %06d "$step").pt:${run}_step$(printf %06d "$step")")
    done
done
candidates=()
for spec in "${sources[@]}"; do
    source_model=${spec%:*} candidate=$out/${spec##*:}_flip.pt
    [ -f "$candidate" ] || $PY scripts/model_with.py "$source_model" "$candidate" energy_flip_average=true
    candidates+=("$candidate")
done
for set in docs/realphoto_validation docs/realphoto_validation_closeups docs/realphoto_places docs/realphoto; do
    json=$RUNS/eval_$(basename "$set")_$name.json
    [ -f "$json" ] || $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE7" "${candidates[@]}" --json "$json"
done
judge_standing $name
