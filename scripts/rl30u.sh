#!/usr/bin/env bash
# Run RL30U (rule r56, docs/rules.md): RL28T (release 7's rebuilt network, its image encoder frozen, RL27R's replay
# and generator v17's city blocks; RL28_MIXTURE) with unknown pixels counted in the loss at half weight, 800 steps of
# 8, a snapshot every 100, each scored as it is (gain 1) beside release 7 and judged by the standing clauses. Made
# once; a rerun skips what exists, and the run resumes where a kill stopped it. On 2 cores: about 25 minutes alone,
# the scoring about 12.
#
#   bash scripts/rl30u.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL28_MIXTURE, release7_guard_run

TRAIN_SETTINGS="energy_freeze_encoder=true energy_unknown_weight=0.5" release7_guard_run rl30u 800 100 \
    "${RL28_MIXTURE[@]}"
