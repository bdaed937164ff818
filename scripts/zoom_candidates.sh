#!/usr/bin/env bash
# The zoom candidates after release 5, as they were made (docs/model-card.md, "Zoom"), each judged by a rule written
# before it was scored (quoted in the model card):
#   1. runs Z2 and Z3: release 5 in stage 4 on the synthetic scenes and generator v7's, a share of the pictures seen
#      through a longer lens (photo_zoom, up to 2x and 3x), models kept every 100 steps;
#   2. runs ZF and BF: the same on v7's scenes of the families release 5 was trained on, with zoom up to 3x and
#      without (the control; it was stopped at step 282 to free its core, so only its snapshots 100 and 200 exist);
#   3. run ZF22: ZF with seed 22, the candidate of rule r9.
# Each snapshot is scored on the validation views and the validation close-ups (energy network alone); the one a
# rule chooses goes through the held-out Blender sets, the report set and the synthetic floor.
# Needs what scripts/exposure_candidates.sh makes first (the datasets, release 5's weights rebuilt from its package:
# $RUNS/release5_recovered/model.pt, the v7 snapshot set). Everything is made once; a rerun skips what exists.
#
#   bash scripts/zoom_candidates.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RELEASE5, release5_package
release5_package
SYNTH=$DATA/synth_train
RENDER_V7_SNAP=$DATA/render_train_v7_snap    # 512 generator-v7 scenes (scripts/exposure_candidates.sh)
RENDER_V7_R5=$DATA/render_train_v7_r5families  # of those, the 355 of release 5's families
CLOSEUPS=docs/realphoto_validation_closeups

# 0. the validation close-ups (committed; this remakes them) and the family subset
[ -f "$CLOSEUPS/plant_wall_31.png" ] || $PY scripts/render_realphoto_plants.py --out "$CLOSEUPS" --seed-offset 20
[ -f "$RENDER_V7_R5/dataset.json" ] || $PY scripts/select_families.py "$RENDER_V7_SNAP" "$RENDER_V7_R5" \
    --keep meadow,lake,coast,village,waterfront,rockery

common=(--config default --init-from "$RUNS/release5_recovered/model.pt" --stages energy --steps 500
        --photo-realism 1 --lr-scale 0.5 --set energy_mean_weight=0.2 --set energy_shard_batches=2
        --set energy_ema_decay=0.995 --set snapshot_every=100 --device cpu --seed 21)
run() {  # NAME DATA... -- SETTINGS...: one run on one thread, skipped when its model exists
    local name=$1; shift
    [ -f "$RUNS/$name/model.pt" ] || OMP_NUM_THREADS=1 $PY -m image_dynamics.cli train "${common[@]}" "$@" \
        --out "$RUNS/$name" > "$RUNS/$name.log" 2>&1
}

# 1. runs Z2 and Z3, side by side
run zoom_2 --data "$SYNTH:1" --data "$RENDER_V7_SNAP:4" --set photo_zoom=0.5 --set photo_zoom_max=2 &
run zoom_3 --data "$SYNTH:1" --data "$RENDER_V7_SNAP:4" --set photo_zoom=0.5 --set photo_zoom_max=3 &
wait
# 2. runs ZF and BF, side by side
run zoom_f --data "$SYNTH:1" --data "$RENDER_V7_R5:4" --set photo_zoom=0.5 --set photo_zoom_max=3 &
run control_f --data "$SYNTH:1" --data "$RENDER_V7_R5:4" &
wait
# 3. run ZF22, alone
run zoom_f22 --data "$SYNTH:1" --data "$RENDER_V7_R5:4" --set photo_zoom=0.5 --set photo_zoom_max=3 --seed 22

# 4. every snapshot on the validation views and close-ups (release 5 is scored first, for reference)
for set in docs/realphoto_validation "$CLOSEUPS"; do
    $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE5" \
        "$RUNS"/{zoom_2,zoom_3,zoom_f,control_f,zoom_f22}/snapshots/*.pt --json "$RUNS/eval_$(basename "$set")_zoom.json"
done

# 5. the gates for the snapshots the rules chose (each stopped at the first gate it failed; the report set was
#    scored for both anyway, the synthetic floor for neither)
gates() {  # NAME SNAPSHOT
    local name=$1 snap=$2 pkg=$RUNS/$1_onnx/default
    for d in render_heldout render_heldout_v5 render_heldout_rockery; do
        $PY scripts/eval_energy_net.py "$DATA/$d" --limit 128 "$snap" --json "$RUNS/eval_heldout_${name}_$d.json"
    done
    [ -f "$pkg/model.json" ] || $PY -m image_dynamics.cli -q export "$snap" -o "$pkg" --guidance 3
    $PY -m image_dynamics.cli eval-photos docs/realphoto --model "$pkg" -o "$RUNS/eval_photos_$name.json" \
        --pictures "$RUNS/photos_$name"
    # the last gate, not reached by either: the synthetic floor through onnxruntime
    # $PY -m image_dynamics.cli eval --data "$DATA/test" --train-data "$SYNTH" --model "$pkg" --limit 64 \
    #     --seeds 0,1,2 --psnr-samples 0 -o "$RUNS/eval_${name}_synth64.json"
}
gates z3s300 "$RUNS/zoom_3/snapshots/model_step000300.pt"
gates zf22s200 "$RUNS/zoom_f22/snapshots/model_step000200.pt"
# 6. the v4 held-out set for three more snapshots of the family runs (is the v4 loss systematic?)
$PY scripts/eval_energy_net.py "$DATA/render_heldout" --limit 128 "$RUNS/zoom_f/snapshots/model_step000200.pt" \
    "$RUNS/control_f/snapshots/model_step000200.pt" "$RUNS/zoom_f22/snapshots/model_step000300.pt" \
    --json "$RUNS/eval_heldout_v4_noise.json"
