#!/usr/bin/env bash
# Run RL28T (rule r53, docs/rules.md): RL27R (release 7's rebuilt network, its image encoder frozen, RL23's sets and
# release 6's with RL13's plant close-ups replayed) with generator v17's still city blocks beside them
# (RL28_MIXTURE), 800 steps of 8, a snapshot every 200, each scored as it is (gain 1) beside release 7 and judged by
# the standing clauses. Made once; a rerun skips what exists, and the renders and the run resume where a kill stopped
# them. On 2 cores: the 192 towers about 15 minutes where they are missing, the run about 25.
#
#   bash scripts/rl28t.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL28_MIXTURE, release7_guard_run

TRAIN_SETTINGS=energy_freeze_encoder=true release7_guard_run rl28t 800 200 "${RL28_MIXTURE[@]}"
