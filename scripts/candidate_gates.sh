#!/usr/bin/env bash
# A candidate that passed clause (a) and (e)'s AUC parts of the standing clauses (docs/rules.md), taken the rest of
# the way: calibrated by rule r30's formula on its run's Blender sets at their mixture weights (the 2-D synthetic set
# left out), then (b), (c), (d) (the three held-out sets, rendered by their generators if missing) and the rest of
# (e) against release 7 (scripts/score_candidates.sh, which judges them), then the figures that gate 2 (the report
# set through the whole model, 3 seeds), gate 3 (the synthetic floor) and r30's clause 3 (every static-only picture
# at most 0.05 px) are read from, on the exported package (package_gates); those three are judged by reading them.
# Made once; a rerun skips what exists. On 2 cores: calibration 8 minutes, the held-out renders 16 and their scoring
# 5, the export and the report set 5, the synthetic floor 15-30.
#
#   bash scripts/candidate_gates.sh LABEL CANDIDATE.pt DATASET:WEIGHT...
#   e.g. bash scripts/candidate_gates.sh r48_mix /work/runs/wise_r48/rl24f_s400_a05.pt "${RL23_MIXTURE[@]}"
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh         # DATA, RUNS, PY, RELEASE7, release7_package, render_heldout_sets, data_options
source scripts/score_candidates.sh  # score_and_choose, package_gates

label=$1 candidate=$2
shift 2
release7_package
data_options "$@"
calibrated=$RUNS/${label}_cal.pt
[ -f "$calibrated" ] || $PY scripts/calibrate_energy_gain.py "$candidate" "${DATA_OPTIONS[@]}" \
    --json "$RUNS/${label}_cal.json" --out "$calibrated"
render_heldout_sets
REFERENCE=$RELEASE7 score_and_choose "$label" "$calibrated" -- --view-loss venice_quay=0.01 --closeup-factor 1 \
    | tee "$RUNS/choice_$label.txt"

package_gates "$label" "$calibrated"
echo "gates of $label done: $RUNS/choice_$label.txt, eval_photos_$label.json, eval_${label}_synth64.json"
