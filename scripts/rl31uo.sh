#!/usr/bin/env bash
# Run RL31UO (rule r57, docs/rules.md): RL29O (release 7's rebuilt network, its image encoder frozen, RL27R's replay,
# generator v17's city blocks and v18's rock among trees; RL29_MIXTURE) with unknown pixels counted in the loss at
# half weight, 400 steps of 8, a snapshot every 100, each scored as it is (gain 1) beside release 7 and judged by the
# standing clauses. Made once; a rerun skips what exists, and the run resumes where a kill stopped it. On 2 cores:
# about 13 minutes alone, the scoring about 6.
#
#   bash scripts/rl31uo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL29_MIXTURE, release7_guard_run

TRAIN_SETTINGS="energy_freeze_encoder=true energy_unknown_weight=0.5" release7_guard_run rl31uo 400 100 \
    "${RL29_MIXTURE[@]}"
