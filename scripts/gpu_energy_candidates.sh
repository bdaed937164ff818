#!/usr/bin/env bash
# Run RL13 (rule r34, docs/model-card.md "RL13: the energy network trained on a lent H100") and the weight-space mixes
# of rule r35: release 7's energy network trained alone for 2,760 steps of 32 images on a GPU, on 2,880 packed scenes
# (every Blender set rendered so far but the held-out ones, and 256 of the 2-D synthetic scenes); each snapshot, and
# release 6 mixed with the last one at 0.25 / 0.5 / 0.75, merged into release 7's model, calibrated by rule r30's
# formula on the run's Blender sets, and scored against release 7. Everything is made once; a rerun skips what exists.
#
# The GPU step cannot run here: step 2 prints what to run on a machine with one (on the lent H100: 2,760 steps in
# 470 s, 15 data workers). On 2 cores: 5 minutes to pack, 6 to calibrate each model, 8 to score them.
#
#   bash scripts/gpu_energy_candidates.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RELEASE6, RELEASE7, RL13_MIXTURE, data_options, release*_package
release6_package
release7_package
R=$RUNS/rl13
PACK=$RUNS/rl13_pack

# 1. the pack (the Blender sets come from scripts/train_release6.sh and scripts/specimen_candidates.sh, step 1)
blender=("${RL13_MIXTURE[@]}")
data_options "${blender[@]}"
blender_sets=("${DATA_OPTIONS[@]}")
if [ ! -f "$PACK/manifest.json" ]; then
    $PY scripts/energy_pack.py "$PACK.partial" "${blender[@]/#/$DATA/}"
    $PY scripts/energy_pack.py "$PACK.partial" "$DATA/synth_train:0.5" --limit 256
    mv "$PACK.partial" "$PACK"
fi
[ -f "$R/init/energy_init.pt" ] || $PY scripts/train_energy_device.py prepare "$RELEASE7" "$R/init"

# 2. the run, on a GPU machine (to the lent one the pack travelled in three calls of at most 64 MiB: `energy_pack.py
#    split` deals it into three folders; load_pack reads them as one)
if ! ls "$R"/energy_step*.pt > /dev/null 2>&1; then
    [ -d "${PACK}_part3" ] || $PY scripts/energy_pack.py split "$PACK" 3
    cat <<EOF
Run on a machine with a GPU, with ${PACK}_part1-3 and $R/init copied there, then copy OUT/rl13/* to $R:
  python3 scripts/train_energy_device.py train --init init --pack PACK_FOLDERS... --out OUT/rl13 --seconds 470 \\
    --workers 15 --snapshots 4 --timing-from 120 --timing-steps 80 --set energy_batch=32 --set energy_lr=5e-4 \\
    --set energy_mean_weight=1.0 --set energy_ema_decay=0.999 --set warmup_steps=200
EOF
    exit 1
fi

# 3. rule r34: the snapshots, then (rule r35) release 6 mixed with the last one; each calibrated, then scored
mkdir -p "$R/merged" "$R/cal" "$R/wise" "$R/wise_cal"
for snap in "$R"/energy_step*.pt; do
    merged=$R/merged/model_$(basename "$snap" .pt | sed 's/energy_//').pt
    [ -f "$merged" ] || $PY scripts/train_energy_device.py merge "$RELEASE7" "$snap" "$merged"
done
for a in 025 050 075; do
    mix=$R/wise/mix_a$a.pt
    [ -f "$mix" ] || $PY scripts/mix_energy_weights.py "$RELEASE6" "$R/merged/model_step002760.pt" \
        --amount "0.${a:1:2}" -o "$mix"
done
calibrate() {  # MODEL OUT: rule r30's gain on the run's Blender sets
    [ -f "$2" ] || $PY scripts/calibrate_energy_gain.py "$1" "${blender_sets[@]}" --json "$2.json" --out "$2"
}
for m in "$R"/merged/*.pt; do calibrate "$m" "$R/cal/cal_$(basename "$m")"; done
for m in "$R"/wise/*.pt; do calibrate "$m" "$R/wise_cal/cal_$(basename "$m")"; done

REFERENCE=$RELEASE7
source scripts/score_candidates.sh  # score_and_choose
score_and_choose rl13 "$R"/cal/*.pt -- --view-loss venice_quay=0.01 --closeup-factor 1
score_and_choose rl13w "$R"/wise_cal/*.pt -- --view-loss venice_quay=0.01 --closeup-factor 1

# 4. after the choice (none eligible, and not used for it): the report set through RL13's last snapshot, its energy
#    network alone and the whole model, and the model card's figure (release 7's pictures beside it)
$PY scripts/eval_photos_energy_net.py docs/realphoto "$RELEASE7" "$R/cal/cal_model_step002760.pt" \
    --json "$RUNS/eval_realphoto_report_rl13_2760_energynet.json"
CANDIDATE=$RUNS/rl13_2760_onnx/default
[ -f "$CANDIDATE/model.json" ] || $PY -m image_dynamics.cli -q export "$R/cal/cal_model_step002760.pt" -o "$CANDIDATE" \
    --guidance 3
for model in rl13_2760:"$CANDIDATE" release7:"$RELEASE7"; do
    [ -d "$RUNS/photos_${model%%:*}" ] || $PY -m image_dynamics.cli eval-photos docs/realphoto --model "${model#*:}" \
        -o "$RUNS/eval_photos_${model%%:*}.json" --pictures "$RUNS/photos_${model%%:*}"
done
rows=$(mktemp -d)
names=()
for n in sunset_sea forest_rocks plant_wall flowers_sky; do
    ln -s "$RUNS/photos_release7/$n.png" "$rows/${n}_r7.png"
    ln -s "$RUNS/photos_rl13_2760/$n.png" "$rows/${n}_rl13.png"
    names+=("${n}_r7" "${n}_rl13")
done
$PY scripts/make_realphoto_montage.py "$rows" -o docs/images/realphoto_rl13.jpg --names "$(IFS=,; echo "${names[*]}")" \
    --captions "$(for _ in 1 2 3 4; do printf 'release 7,RL13 step 2760,'; done | sed 's/,$//')"

# 5. how RL13's network moves water as pictures are made softer, darker, smaller or brighter (rendered water and the
#    validation quay)
$PY scripts/water_probe.py "$R/cal/cal_model_step002760.pt" --water "$DATA/render_water_v12_256" --limit 48 \
    > docs/water_probe_rl13.txt

# 6. a probe (after the choice): step 2760 fed pictures re-exposed to a fixed key at test time, never trained so
mkdir -p "$R/keyprobe"
for key in 0.10 0.18 0.30; do
    out=$R/keyprobe/key${key/./}.pt
    [ -f "$out" ] || $PY - "$R/cal/cal_model_step002760.pt" "$key" "$out" <<'PYEOF'
import dataclasses, sys
from image_dynamics.train.loop import load_motion_model
model = load_motion_model(sys.argv[1])
model.config = dataclasses.replace(model.config, energy_input_key=float(sys.argv[2]))
model.save(sys.argv[3])
PYEOF
done
for set in docs/realphoto_validation docs/realphoto; do
    $PY scripts/eval_photos_energy_net.py "$set" "$R/cal/cal_model_step002760.pt" "$R"/keyprobe/*.pt \
        --json "$RUNS/eval_keyprobe_$(basename "$set").json"
done

# 7. rule r36, the probe RL14 (CPU; nothing ships from it): step 2760 trained on with a fixed input key of 0.18
[ -f "$RUNS/rl14/model.pt" ] || OMP_NUM_THREADS=2 $PY -m image_dynamics.cli train --config default \
    --init-from "$R/merged/model_step002760.pt" --stages energy --steps 400 --photo-realism 1 \
    --set energy_input_key=0.18 --set energy_lr=2.5e-4 --set warmup_steps=50 --set energy_mean_weight=1.0 \
    --set energy_ema_decay=0.995 --set energy_shard_batches=2 --set snapshot_every=100 --set photo_zoom=0.5 \
    --set photo_zoom_max=3 --device cpu --seed 5 "${blender_sets[@]}" --data "$DATA/synth_train:0.5" \
    --out "$RUNS/rl14" > "$RUNS/rl14.log" 2>&1
for set in docs/realphoto_validation docs/realphoto_validation_closeups docs/realphoto; do
    $PY scripts/eval_photos_energy_net.py "$set" "$R/cal/cal_model_step002760.pt" "$RUNS"/rl14/snapshots/*.pt \
        --json "$RUNS/eval_$(basename "$set")_rl14.json"
done
