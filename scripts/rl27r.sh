#!/usr/bin/env bash
# Run RL27R (rule r52, docs/rules.md): RL24F (release 7's rebuilt network, its image encoder frozen, RL23's sets,
# recipe and seed) with release 6's four Blender training sets and RL13's plant close-ups replayed beside RL23's
# (RL27_MIXTURE), 800 steps of 8, a snapshot every 200, each scored as it is (gain 1) beside release 7 and judged by
# the standing clauses. Made once; a rerun skips what exists, and the renders and the run resume where a kill stopped
# them. On 2 cores: release 6's sets and the close-ups about 40 minutes where they are missing (RL23's 75), the run
# about 22.
#
#   bash scripts/rl27r.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL27_MIXTURE, release7_guard_run

TRAIN_SETTINGS=energy_freeze_encoder=true release7_guard_run rl27r 800 200 "${RL27_MIXTURE[@]}"
