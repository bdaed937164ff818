#!/usr/bin/env bash
# Rule r43 (docs/model-card.md, "RL20-RL22: parks, swaying tree lines and quaysides"): release 7's energy network
# mixed in weight space with two guard-run snapshots, (1 - a) x release 7 + a x snapshot, and the mixes scored as
# they are (no calibration gain, so only their AUCs count) on the validation views, close-ups and places, and, as
# information, on the report set. A mix is calibrated and judged by r34's clauses only if it passes clause (a) and
# (e)'s AUC parts. Made once; a rerun skips what exists. Needs scripts/guard_runs.sh's RL19 and RL20. On 2 cores:
# about 1.5 minutes a mix.
#
#   bash scripts/wise_mixes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, PY, RELEASE7, release7_package

[ -d "$RELEASE7" ] || release7_package
out=$RUNS/wise_r43
mixes=()
for tuned in rl19:400 rl20:200; do
    run=${tuned%:*} step=$(printf %06d "${tuned#*:}")
    for amount in 0.5 0.7; do
        mix=$out/${run}_s${tuned#*:}_a${amount/./}.pt
        [ -f "$mix" ] || $PY scripts/mix_energy_weights.py "$RELEASE7" "$RUNS/$run/snapshots/model_step$step.pt" \
            --amount "$amount" -o "$mix"
        mixes+=("$mix")
    done
done
for set in docs/realphoto_validation docs/realphoto_places docs/realphoto_validation_closeups docs/realphoto; do
    json=$RUNS/eval_$(basename "$set")_wise_r43.json
    [ -f "$json" ] || $PY scripts/eval_photos_energy_net.py "$set" "${mixes[@]}" --json "$json"
done
