#!/usr/bin/env bash
# Release 6 candidate of the default motion model, as it was made (docs/model-card.md, "Release 6"): release 5's
# weights unchanged, its motion-energy network fed each image re-exposed to the training mixture's median exposure
# key (energy.input_key). No training: what it needs is release 5's package, the synthetic held-out set and the
# held-out Blender sets, each rendered by the generator version that made it (git worktrees of the commits below:
# the sets are not in the repository). Everything is made once; a rerun skips what exists.
#
#   bash scripts/release6.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-/work/datasets}
RUNS=${RUNS:-/work/runs}
GEN=${GEN:-/work/gen}                       # worktrees of the generator versions
PY=${PY:-.venv/bin/python}
TEST=$DATA/test                             # `data synth --count 256 --seed 7919`
SYNTH=$DATA/synth_train                     # `data synth --count 2000 --seed 0` (eval's normalisation statistics)
HELDOUT=$DATA/render_heldout                # generator v4 (3ab635f): --count 128 --seed 2
HELDOUT_V5=$DATA/render_heldout_v5          # generator v5 (8acb1a6): --count 128 --seed 4
HELDOUT_ROCKERY=$DATA/render_heldout_rockery  # generator v6 (65bad7d): --families rockery --count 64 --seed 14
RELEASE5=core/image_dynamics/models/default # while release 5 is the shipped package; afterwards: git show 65bad7d
CANDIDATE=$RUNS/release6_onnx/default

[ -f "$TEST/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$TEST" --count 256 --seed 7919
[ -f "$SYNTH/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$SYNTH" --count 2000 --seed 0
render_with() {  # VERSION COMMIT FOLDER COUNT SEED [FAMILIES]
    local version=$1 commit=$2 out=$3 count=$4 seed=$5 families=()
    [ -n "${6:-}" ] && families=(--families "$6")
    [ -f "$out/dataset.json" ] && return
    [ -d "$GEN/$version" ] || git worktree add -f "$GEN/$version" "$commit"
    PYTHONPATH="$GEN/$version/core" $PY -m image_dynamics.cli data render -o "$out" --count "$count" --seed "$seed" \
        --workers 2 --threads 1 "${families[@]}"
}
render_with v4 3ab635f "$HELDOUT" 128 2
render_with v5 8acb1a6 "$HELDOUT_V5" 128 4
render_with v6 65bad7d "$HELDOUT_ROCKERY" 64 14 rockery

# 1. the key: the weighted median exposure of release 5's training mixture at its weights (synthetic 1, v4 1, v5 2,
#    rockery 1), measured on sets of the same generators (the training sets themselves are not needed)
$PY scripts/exposure_keys.py "$TEST:1" "$HELDOUT:1" "$HELDOUT_V5:2" "$HELDOUT_ROCKERY:1" | tee "$RUNS/exposure_keys.txt"
KEY=$(awk '/weighted median key/ {printf "%.2g", $4}' "$RUNS/exposure_keys.txt")

# 2. release 5's torch weights (rebuilt from its package) exported again with the key: the graphs come out byte for
#    byte release 5's, only model.json changes
[ -f "$RUNS/release5_recovered/model.pt" ] || $PY -c "
from image_dynamics.train.loop import load_motion_model
load_motion_model('$RELEASE5').save('$RUNS/release5_recovered/model.pt')"
[ -f "$CANDIDATE/model.json" ] || $PY -m image_dynamics.cli export "$RUNS/release5_recovered" -o "$CANDIDATE" \
    --guidance 3 --energy-input-key "$KEY"

# 3. the rule (docs/model-card.md, "Release 6"): validation set, held-out Blender sets, synthetic floor, then the
#    report set as a veto only
$PY scripts/eval_photos_energy_net.py docs/realphoto_validation "$RELEASE5" "$CANDIDATE" \
    --json "$RUNS/eval_validation_release6.json"
for d in "$HELDOUT" "$HELDOUT_V5" "$HELDOUT_ROCKERY"; do
    $PY scripts/eval_energy_net.py "$d" --limit 128 "$CANDIDATE"
done
[ -f "$RUNS/eval_release6_synth64.json" ] || $PY -m image_dynamics.cli eval --data "$TEST" --train-data "$SYNTH" \
    --model "$CANDIDATE" --limit 64 --seeds 0,1,2 --psnr-samples 16 -o "$RUNS/eval_release6_synth64.json"
[ -f "$RUNS/eval_photos_release6.json" ] || $PY -m image_dynamics.cli eval-photos docs/realphoto \
    --model "$CANDIDATE" -o "$RUNS/eval_photos_release6.json" --pictures "$RUNS/photos_release6"
