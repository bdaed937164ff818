#!/usr/bin/env bash
# Run RL23 (rule r46, docs/rules.md; docs/model-card.md "RL23"): every dataset, run and snapshot outside the
# repository was lost between the sessions of 2026-12-06, RL13's GPU snapshots and RL15-RL22 with them, so the guard
# runs start again from what git keeps: release 7's package, its torch weights rebuilt by train.recover. On 2 CPU
# cores: the first 128 scenes of each of RL22's five guard sets and the first 640 of a broad v16 mix (about 65
# minutes), the 2-D synthetic set (6 minutes), then 1,600 steps of 8 of the energy stage with the guard runs' recipe
# (about 43 minutes), each snapshot scored as it is (gain 1) beside release 7 on the validation views, close-ups,
# places and, as information, the report set, and judged by the standing clauses (docs/rules.md). Everything is
# made once; a rerun skips what exists, and the renders and the run resume where a kill stopped them.
#
#   bash scripts/rl23.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RL23_MIXTURE, release7_guard_run

release7_guard_run rl23 1600 400 "${RL23_MIXTURE[@]}"
