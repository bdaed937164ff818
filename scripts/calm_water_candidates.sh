#!/usr/bin/env bash
# Run RL15 (rule r37, docs/model-card.md "RL15 and RL16: calm water and laundry in the renders"): RL13's step 2760
# trained on for 800 steps of 8 on 2 CPU cores, on RL13's mixture plus generator v13's calm water (256 scenes) and the
# 752 scenes of render_v12_mix_1024 rendered so far; then its snapshots at steps 400 and 800 through the validation
# views, close-ups and places, and (as information) the report set. Both failed clause (a) on AUCs, which the
# calibration gain does not change, so r37's calibration and clause scoring were stopped (the rule's addendum).
# Everything is made once; a rerun skips what exists. On 2 cores: 11 minutes to render the calm set, 17 to train.
#
#   bash scripts/calm_water_candidates.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RL15_MIXTURE, data_options, render_calm_water
render_calm_water
R=$RUNS/rl15
INIT=$RUNS/rl13/merged/model_step002760.pt  # scripts/gpu_energy_candidates.sh makes it (a GPU run)
[ -f "$INIT" ] || { echo "$INIT is missing: run scripts/gpu_energy_candidates.sh first"; exit 1; }

data_options "${RL15_MIXTURE[@]}"

# 1. the run (resumes from its checkpoint if stopped)
[ -f "$R/model.pt" ] || OMP_NUM_THREADS=2 $PY -m image_dynamics.cli train --config default --init-from "$INIT" \
    --stages energy --steps 800 --photo-realism 1 --set energy_lr=2.5e-4 --set warmup_steps=50 \
    --set energy_mean_weight=1.0 --set energy_ema_decay=0.995 --set energy_shard_batches=2 --set snapshot_every=400 \
    --set photo_zoom=0.5 --set photo_zoom_max=3 --device cpu --seed 7 "${DATA_OPTIONS[@]}" \
    --data "$DATA/synth_train:0.5" --out "$R" >> "$RUNS/rl15.log" 2>&1

# 2. the snapshots as they are (no gain: only their AUCs count), beside RL13's calibrated step 2760
for set in docs/realphoto_validation docs/realphoto_validation_closeups docs/realphoto_places docs/realphoto; do
    out=$RUNS/eval_$(basename "$set")_rl15.json
    [ -f "$out" ] || $PY scripts/eval_photos_energy_net.py "$set" "$RUNS/rl13/cal/cal_model_step002760.pt" \
        "$R"/snapshots/model_step000400.pt "$R"/snapshots/model_step000800.pt --json "$out"
done
