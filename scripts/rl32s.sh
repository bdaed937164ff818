#!/usr/bin/env bash
# Run RL32S (rule r60, docs/rules.md): RL29O (release 7's rebuilt network, its image encoder frozen, RL29_MIXTURE)
# with the unknown pixels of the plant close-ups (render_specimen_v10_256) counted in the loss at full weight and
# every other set's left out, 800 steps of 8, a snapshot every 100, each scored as it is (gain 1) beside release 7
# and judged by the standing clauses. Made once; a rerun skips what exists, and the run resumes where a kill stopped
# it. On 2 cores: about 25 minutes alone (40 beside RL33S), the scoring about 12.
#
#   bash scripts/rl32s.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL29_MIXTURE, release7_guard_run

TRAIN_SETTINGS="energy_freeze_encoder=true energy_unknown_weight_sources=render_specimen_v10_256=1" \
    release7_guard_run rl32s 800 100 "${RL29_MIXTURE[@]}"
