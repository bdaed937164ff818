#!/usr/bin/env bash
# The exposure candidates after release 5, as they were made (docs/model-card.md, "Exposure"), each judged by a
# rule written before it was scored (the rules are quoted in the model card):
#   1. release 5's weights unchanged, its motion-energy network fed each image re-exposed to the training mixture's
#      median exposure key (energy.input_key): needs release 5's package, the synthetic held-out set and the held-out
#      Blender sets, each rendered by the generator version that made it (git worktrees of the commits below);
#   2. two runs from release 5 in stage 4 on the synthetic scenes and generator v7's, with and without re-exposed
#      training pictures (photo_exposure), their models kept every 100 steps and chosen among on the validation set.
# The datasets are not in the repository. Everything is made once; a rerun skips what exists.
#
#   bash scripts/exposure_candidates.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, GEN, PY, RELEASE5, render_with, render_heldout_sets, release5_package
release5_package
TEST=$DATA/test                             # `data synth --count 256 --seed 7919`
SYNTH=$DATA/synth_train                     # `data synth --count 2000 --seed 0` (eval's normalisation statistics)
HELDOUT=$DATA/render_heldout                # generator v4 (3ab635f): --count 128 --seed 2
HELDOUT_V5=$DATA/render_heldout_v5          # generator v5 (8acb1a6): --count 128 --seed 4
HELDOUT_ROCKERY=$DATA/render_heldout_rockery  # generator v6 (65bad7d): --families rockery --count 64 --seed 14
RENDER_V7=$DATA/render_train_v7            # generator v7, every family: `data render --count 1000 --seed 17`
RENDER_V7_SNAP=$DATA/render_train_v7_snap  # the 64 shards (512 scenes) rendered when the runs started: hard links
CANDIDATE=$RUNS/exposure_key_onnx/default

[ -f "$TEST/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$TEST" --count 256 --seed 7919
[ -f "$SYNTH/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$SYNTH" --count 2000 --seed 0
render_heldout_sets                         # HELDOUT, HELDOUT_V5, HELDOUT_ROCKERY

# 1. the key: the weighted median exposure of release 5's training mixture at its weights (synthetic 1, v4 1, v5 2,
#    rockery 1), measured on sets of the same generators (the training sets themselves are not needed)
$PY scripts/exposure_keys.py "$TEST:1" "$HELDOUT:1" "$HELDOUT_V5:2" "$HELDOUT_ROCKERY:1" | tee "$RUNS/exposure_keys.txt"
KEY=$(awk '/weighted median key/ {printf "%.2g", $4}' "$RUNS/exposure_keys.txt")

# 2. release 5's torch weights (rebuilt from its package) exported again with the key: the graphs come out byte for
#    byte release 5's, only model.json changes
recover_weights "$RELEASE5" "$RUNS/release5_recovered/model.pt"
[ -f "$CANDIDATE/model.json" ] || $PY -m image_dynamics.cli export "$RUNS/release5_recovered" -o "$CANDIDATE" \
    --guidance 3 --energy-input-key "$KEY"

# 3. the rule (docs/model-card.md, "Release 6"): validation set, held-out Blender sets, synthetic floor, then the
#    report set as a veto only
[ -f "$RUNS/eval_validation_exposure_key.json" ] || $PY scripts/eval_photos_energy_net.py \
    docs/realphoto_validation "$RELEASE5" "$CANDIDATE" --json "$RUNS/eval_validation_exposure_key.json"
for d in "$HELDOUT" "$HELDOUT_V5" "$HELDOUT_ROCKERY"; do
    out="$RUNS/eval_heldout_exposure_key_$(basename "$d").json"
    [ -f "$out" ] || $PY scripts/eval_energy_net.py "$d" --limit 128 "$CANDIDATE" --json "$out"
done
# (it failed the validation set and two held-out sets; its synthetic floor and report set were not scored)

# 4. runs A (re-exposed pictures) and B (the control) from release 5: 500 steps each, side by side on one thread each
# (the session paused the render once 64 shards were done, for the runs' CPU time; a rerun renders all 1,000 first)
[ -f "$RENDER_V7_SNAP/dataset.json" ] || $PY -m image_dynamics.cli data render -o "$RENDER_V7" --count 1000 \
    --seed 17 --workers 2 --threads 1
[ -f "$RENDER_V7_SNAP/dataset.json" ] || $PY -c "
import json, os, pathlib
src, dst = pathlib.Path('$RENDER_V7'), pathlib.Path('$RENDER_V7_SNAP')
doc = json.loads((src / 'dataset.json').read_text())
doc['shards'] = doc['shards'][:64]; doc['count'] = 64 * 8
dst.mkdir(parents=True)
for name in doc['shards']: os.link(src / name, dst / name)
(dst / 'dataset.json').write_text(json.dumps(doc))"
common=(--config default --data "$SYNTH:1" --data "$RENDER_V7_SNAP:4" --init-from "$RUNS/release5_recovered/model.pt"
        --stages energy --steps 500 --photo-realism 1 --lr-scale 0.5 --set energy_mean_weight=0.2
        --set energy_shard_batches=2 --set energy_ema_decay=0.995 --set snapshot_every=100 --device cpu)
OMP_NUM_THREADS=1 $PY -m image_dynamics.cli train "${common[@]}" --seed 21 --set photo_exposure=0.5 \
    --out "$RUNS/exposure_a" &
OMP_NUM_THREADS=1 $PY -m image_dynamics.cli train "${common[@]}" --seed 21 --out "$RUNS/exposure_b" &
wait
$PY scripts/eval_photos_energy_net.py docs/realphoto_validation "$RELEASE5" "$RUNS"/exposure_a/snapshots/*.pt \
    "$RUNS"/exposure_b/snapshots/*.pt --json "$RUNS/eval_validation_exposure_runs.json"

# 5. run C (not shipped unless the model card says so): one exposure key, 0.18, for every picture in training and in
#    the package (energy_input_key), from release 5, 500 steps on the same data; chosen on the validation set only if
#    a snapshot beats release 5 by 0.01
$PY -m image_dynamics.cli train "${common[@]}" --seed 21 --set energy_input_key=0.18 --out "$RUNS/exposure_c"
$PY scripts/eval_photos_energy_net.py docs/realphoto_validation "$RELEASE5" "$RUNS"/exposure_c/snapshots/*.pt \
    --json "$RUNS/eval_validation_exposure_c.json"
