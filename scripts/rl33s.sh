#!/usr/bin/env bash
# Run RL33S (rule r61, docs/rules.md): RL32S (rule r60) with the plant close-ups drawn three times as often
# (render_specimen_v10_256 at weight 4.5 in place of RL29_MIXTURE's 1.5), their unknown pixels counted at full
# weight and every other set's left out, 800 steps of 8, a snapshot every 100, each scored as it is (gain 1) beside
# release 7 and judged by the standing clauses. Made once; a rerun skips what exists, and the run resumes where a
# kill stopped it. On 2 cores: about 25 minutes alone (40 beside RL32S), the scoring about 12.
#
#   bash scripts/rl33s.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL29_MIXTURE, release7_guard_run

TRAIN_SETTINGS="energy_freeze_encoder=true energy_unknown_weight_sources=render_specimen_v10_256=1" \
    release7_guard_run rl33s 800 100 "${RL29_MIXTURE[@]/render_specimen_v10_256:1.5/render_specimen_v10_256:4.5}"
