#!/usr/bin/env bash
# Run RL29O (rule r54, docs/rules.md): RL28T (release 7's rebuilt network, its image encoder frozen, RL27R's replay
# and generator v17's city blocks) with generator v18's pale bedded rock among trees beside them (RL29_MIXTURE), 800
# steps of 8, a snapshot every 100, each scored as it is (gain 1) beside release 7 and judged by the standing
# clauses. Made once; a rerun skips what exists, and the renders and the run resume where a kill stopped them. On 2
# cores: the 160 outcrops about 15 minutes where they are missing, the run about 25, the scoring about 12.
#
#   bash scripts/rl29o.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL29_MIXTURE, release7_guard_run

TRAIN_SETTINGS=energy_freeze_encoder=true release7_guard_run rl29o 800 100 "${RL29_MIXTURE[@]}"
