#!/usr/bin/env bash
# Release 6 as it was made (docs/model-card.md, "Release 6"): release 5's energy network trained on for 100 steps
# (run RZ, rule r11, written before the data was rendered), on the synthetic scenes, the first scenes of release 5's
# own Blender sets re-rendered by their generators, and new generator-v7 scenes of release 5's families, half the
# pictures zoomed. Everything is made once; a rerun skips what exists. On 2 cores: about 40 minutes to render the
# training data, 13 to train, 25 to render the held-out sets and 20 to score.
#
#   bash scripts/train_release6.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, GEN, PY, RELEASE5, render_with, render_release6_data, render_heldout_sets
source scripts/score_candidates.sh  # package_gates
release5_package

# 0. release 5's weights, rebuilt from its package
recover_weights "$RELEASE5" "$RUNS/release5_recovered/model.pt"

# 1. training data: 2,000 synthetic scenes, the first scenes of release 5's v4, v5 and rockery sets, 256 v7 scenes
render_release6_data

# 2. run RZ: 500 steps, the averaged weights kept every 100
[ -f "$RUNS/rz/model.pt" ] || OMP_NUM_THREADS=2 $PY -m image_dynamics.cli train --config default \
    --init-from "$RUNS/release5_recovered/model.pt" --stages energy --steps 500 --photo-realism 1 --lr-scale 0.5 \
    --set energy_mean_weight=0.2 --set energy_shard_batches=2 --set energy_ema_decay=0.995 --set snapshot_every=100 \
    --set photo_zoom=0.5 --set photo_zoom_max=3 --device cpu --seed 23 \
    --data "$DATA/synth_train:1" --data "$DATA/render_train_v4_160:1" --data "$DATA/render_train_v5_160:1" \
    --data "$DATA/render_train_rockery_96:1" --data "$DATA/render_v7_r5fam:2" --out "$RUNS/rz" > "$RUNS/rz.log" 2>&1

# 3. the choice: every snapshot on the validation views and close-ups (release 5 first, for reference)
for set in docs/realphoto_validation docs/realphoto_validation_closeups; do
    $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE5" "$RUNS"/rz/snapshots/*.pt \
        --json "$RUNS/eval_$(basename "$set")_rz.json"
done
SNAP=$RUNS/rz/snapshots/model_step000100.pt  # the one snapshot rule r11 found eligible

# 4. the gates: held-out Blender sets (rendered by their generators), the report set, the synthetic floor
render_heldout_sets
for d in render_heldout render_heldout_v5 render_heldout_rockery; do
    $PY scripts/eval_energy_net.py "$DATA/$d" --limit 128 "$SNAP" --json "$RUNS/eval_heldout_rz_$d.json"
done
package_gates rz100 "$SNAP"
CANDIDATE=$RUNS/rz100_onnx/default

# 5. the package: release 5's folder with the new energy_net.onnx and the candidate's model.json, whose entries for
#    the three unchanged graphs point at release 5's files (the same weights; a re-export differs in bytes only) and
#    whose data note names the whole lineage (the export's own names only run RZ's data)
PACKAGE=$RUNS/release6_pkg/default
[ -f "$PACKAGE/model.json" ] || $PY scripts/assemble_release.py "$RELEASE5" "$CANDIDATE" "$PACKAGE" \
    --data-note "release 5 (2000 samples from synth_train (synthetic-v1), 1000 from render_train (blender-v4), \
1000 from render_train_v5 (blender-v5), 320 from render_train_rockery (blender-v6 families=rockery)) trained on for \
100 steps of stage 4: 2000 samples from synth_train at weight 0.17, the first 160 of render_train at 0.17, the first \
160 of render_train_v5 at 0.17, the first 96 of render_train_rockery at 0.17, 256 samples from render_v7_r5fam \
(blender-v7 families=coast,lake,meadow,rockery,village,waterfront) at 0.33; half the pictures zoomed by up to 3x; \
256x160" \
    --note "image_encoder, denoiser and vae_decoder are release 5's files, byte for byte (the same weights; only the \
motion-energy network was trained)"
echo "release 6 package: $PACKAGE (all but the export date and parity figures as shipped)"
