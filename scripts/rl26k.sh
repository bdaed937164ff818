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

source scripts/datasets.sh  # RL23_MIXTURE, release7_guard_run

TRAIN_SETTINGS="energy_freeze_encoder=true energy_keep_weight=1" release7_guard_run rl26k 800 200 "${RL23_MIXTURE[@]}"
