#!/usr/bin/env bash
# Run RL26K (rule r51, docs/rules.md): RL24F (release 7's rebuilt network, its image encoder frozen, RL23's sets,
# recipe and seed) with a keep term: energy_keep_weight=1, the mean log difference from release 7's own reading of
# each batch (learning without forgetting). 800 steps of 8, a snapshot every 200; each scored as it is (gain 1)
# beside release 7 and judged by the standing clauses. Made once; a rerun skips what exists, and the run resumes
# where a kill stopped it. On 2 cores about 30 minutes, and the renders of RL23's sets where they are missing.
#
#   bash scripts/rl26k.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, PY, RL23_MIXTURE, render_rl23_data, release7_package, recover_weights, guard_run

render_rl23_data
release7_package
recover_weights "$RELEASE7" "$RUNS/release7_recovered/model.pt"
TRAIN_SETTINGS="energy_freeze_encoder=true energy_keep_weight=1" guard_run rl26k \
    "$RUNS/release7_recovered/model.pt" 800 200 37 "${RL23_MIXTURE[@]}"
judge_standing rl26k
