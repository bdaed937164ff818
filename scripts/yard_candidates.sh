#!/usr/bin/env bash
# Run RL16 (rule r38, docs/model-card.md "RL15 and RL16: calm water and laundry in the renders"): RL15's snapshot at
# step 400 (scripts/calm_water_candidates.sh; its step 800 scored lower on the validation views) trained on for 600
# steps of 8 on 2 CPU cores, on RL15's mixture plus generator v14's yard family (256 scenes); the snapshots at steps
# 300 and 600 calibrated by rule r30's formula on the run's Blender sets and scored against release 7 with r32's
# clauses. Everything is made once; a rerun skips what exists. On 2 cores: 12 minutes to render the yards, 13 to
# train, 8 to calibrate each snapshot, 10 to score.
#
#   bash scripts/yard_candidates.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RELEASE7, RL15_MIXTURE, data_options, render_yard
release7_package
render_yard
R=$RUNS/rl16
INIT=$RUNS/rl15/snapshots/model_step000400.pt
[ -f "$INIT" ] || { echo "$INIT is missing: run scripts/calm_water_candidates.sh first"; exit 1; }
data_options "${RL15_MIXTURE[@]}" render_yard_v14_256:1.5

# 1. the run (resumes from its checkpoint if stopped)
[ -f "$R/model.pt" ] || OMP_NUM_THREADS=2 $PY -m image_dynamics.cli train --config default --init-from "$INIT" \
    --stages energy --steps 600 --photo-realism 1 --set energy_lr=2.5e-4 --set warmup_steps=50 \
    --set energy_mean_weight=1.0 --set energy_ema_decay=0.995 --set energy_shard_batches=2 --set snapshot_every=300 \
    --set photo_zoom=0.5 --set photo_zoom_max=3 --device cpu --seed 11 "${DATA_OPTIONS[@]}" \
    --data "$DATA/synth_train:0.5" --out "$R" >> "$RUNS/rl16.log" 2>&1

# 2. the candidates, calibrated by rule r30's formula on the run's Blender sets at their weights
mkdir -p "$R/cal"
for snap in "$R"/snapshots/model_step000300.pt "$R"/snapshots/model_step000600.pt; do
    out=$R/cal/cal_$(basename "$snap")
    [ -f "$out" ] || $PY scripts/calibrate_energy_gain.py "$snap" "${DATA_OPTIONS[@]}" --json "$out.json" --out "$out"
done

# 3. r32's clauses against release 7
REFERENCE=$RELEASE7
source scripts/score_candidates.sh  # score_and_choose
score_and_choose rl16 "$R"/cal/*.pt -- --view-loss venice_quay=0.01 --closeup-factor 1
