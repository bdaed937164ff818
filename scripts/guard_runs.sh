#!/usr/bin/env bash
# Runs RL15-RL22 (rules r37-r42, r44 and r45; docs/model-card.md "RL15-RL19: calm water, laundry and dim paving in
# the renders" and "RL20-RL22: parks, swaying tree lines and quaysides"): RL13's energy network trained on, on 2 CPU
# cores, with the guard sets. RL15-RL17 add one set each and start from a snapshot of the run before; RL18 starts from
# RL13 again with all three, RL19 goes on from RL18, RL20 goes on from RL19's step 400 with the parks (generator v15)
# added, RL21 is RL18 with the parks, four times as long, and RL22 goes on from RL21's step 1200 with the quaysides
# (generator v16) added. Each run trains the energy stage alone (learning rate 2.5e-4, 50 warm-up steps, mean term
# 1.0, EMA 0.995, photographic realism, zoom on half the pictures up to 3x), and scores its snapshots as they are (no
# calibration gain, so only their AUCs count) on the validation views, close-ups and places, and, as information, on
# the report set. A snapshot is calibrated and judged by r34's clauses only if it passes clause (a); none did.
# Everything is made once; a rerun skips what exists. On 2 cores: 8-11 minutes to render each guard set, about
# 1.2 s a training step.
#
#   bash scripts/guard_runs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, RL15-22_MIXTURE, guard_run, render_*

render_calm_water
guard_run rl15 "$RUNS/rl13/merged/model_step002760.pt" 800 400 7 "${RL15_MIXTURE[@]}"
render_yard
guard_run rl16 "$RUNS/rl15/snapshots/model_step000400.pt" 600 300 11 "${RL16_MIXTURE[@]}"
render_dim_paving
guard_run rl17 "$RUNS/rl16/snapshots/model_step000600.pt" 400 200 13 "${RL17_MIXTURE[@]}"
guard_run rl18 "$RUNS/rl13/merged/model_step002760.pt" 800 400 17 "${RL17_MIXTURE[@]}"  # r40: all guards at once
guard_run rl19 "$RUNS/rl18/snapshots/model_step000800.pt" 800 400 19 "${RL17_MIXTURE[@]}"  # r41: RL18 trained on
render_park
guard_run rl20 "$RUNS/rl19/snapshots/model_step000400.pt" 400 200 23 "${RL20_MIXTURE[@]}"  # r42: parks added
guard_run rl21 "$RUNS/rl13/merged/model_step002760.pt" 3200 400 29 "${RL20_MIXTURE[@]}"  # r44: RL18's, parks, longer
render_quayside
guard_run rl22 "$RUNS/rl21/snapshots/model_step001200.pt" 400 200 31 "${RL22_MIXTURE[@]}"  # r45: the quaysides
