#!/usr/bin/env bash
# Run RL15 (rule r37, docs/model-card.md "RL15: calm water in the renders"): RL13's step 2760 trained on for 800
# steps of 8 on 2 CPU cores, on RL13's mixture plus generator v13's calm water (256 scenes) and the 752 scenes of
# render_v12_mix_1024 rendered so far; the snapshots at steps 400 and 800 merged, calibrated by rule r30's formula on
# the run's Blender sets, and scored against release 7 with r32's clauses. Everything is made once; a rerun skips
# what exists. On 2 cores: 11 minutes to render the calm set, 20 to train, 7 to calibrate each snapshot, 10 to score.
#
#   bash scripts/calm_water_candidates.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RELEASE7, release7_package, render_calm_water
release7_package
render_calm_water
R=$RUNS/rl15
INIT=$RUNS/rl13/merged/model_step002760.pt  # scripts/gpu_energy_candidates.sh makes it (a GPU run)
[ -f "$INIT" ] || { echo "$INIT is missing: run scripts/gpu_energy_candidates.sh first"; exit 1; }

blender=(render_train_v4_320:1 render_train_v5_160:1 render_train_rockery_96:1 render_v7_r5fam:2
         render_still_life_256:0.5 render_still_life_v12_256:0.5 render_specimen_256:0.5 render_specimen_v9_256:0.5
         render_specimen_v10_256:0.5 render_water_v12_256:1 render_water_dark_v12_256:0.5 render_calm_v13_256:1.5
         render_v12_mix_1024:1)
blender_sets=()
for spec in "${blender[@]}"; do
    [ -f "$DATA/${spec%:*}/dataset.json" ] || { echo "$DATA/${spec%:*} is missing: render it first"; exit 1; }
    blender_sets+=(--data "$DATA/$spec")
done

# 1. the run (resumes from its checkpoint if stopped)
[ -f "$R/model.pt" ] || OMP_NUM_THREADS=2 $PY -m image_dynamics.cli train --config default --init-from "$INIT" \
    --stages energy --steps 800 --photo-realism 1 --set energy_lr=2.5e-4 --set warmup_steps=50 \
    --set energy_mean_weight=1.0 --set energy_ema_decay=0.995 --set energy_shard_batches=2 --set snapshot_every=400 \
    --set photo_zoom=0.5 --set photo_zoom_max=3 --device cpu --seed 7 "${blender_sets[@]}" \
    --data "$DATA/synth_train:0.5" --out "$R" >> "$RUNS/rl15.log" 2>&1

# 2. the candidates: each snapshot calibrated by rule r30's formula on the run's Blender sets at their weights
mkdir -p "$R/cal"
for snap in "$R"/snapshots/model_step000400.pt "$R"/snapshots/model_step000800.pt; do
    out=$R/cal/cal_$(basename "$snap")
    [ -f "$out" ] || $PY scripts/calibrate_energy_gain.py "$snap" "${blender_sets[@]}" --json "$out.json" --out "$out"
done

# 3. r32's clauses against release 7
REFERENCE=$RELEASE7
source scripts/score_candidates.sh  # score_and_choose
score_and_choose rl15 "$R"/cal/*.pt -- --view-loss venice_quay=0.01 --closeup-factor 1
