#!/usr/bin/env bash
# Release 7 as it was made (docs/model-card.md, "Release 7"): release 6's graphs, byte for byte, with one calibration
# gain on its energy network's band energies, fitted on release 6's own Blender training sets (rule r30, written
# before the gain was computed): g = sum_d w_d T_d / sum_d w_d P_d, the mixture-weighted mean true over mean predicted
# moving energy of every known pixel. Nothing is trained. On 2 cores: a minute to fit the gain (plus release 6's data,
# if it must be rendered: scripts/train_release6.sh step 1), a minute to score the photo sets with the energy network,
# four for eval-photos, 15-30 for the synthetic floor.
#
#   bash scripts/train_release7.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # DATA, RUNS, PY, RELEASE6, release6_package, render_release6_data
release6_package
render_release6_data

# 1. the gain, on release 6's Blender training sets at their weights in its mixture (the 2-D synthetic set left out)
CAL=$RUNS/calibration_release6.json
[ -f "$CAL" ] || $PY scripts/calibrate_energy_gain.py "$RELEASE6" --data "$DATA/render_train_v4_160:1" \
    --data "$DATA/render_train_v5_160:1" --data "$DATA/render_train_rockery_96:1" --data "$DATA/render_v7_r5fam:2" \
    --json "$CAL"
GAIN=$(PYTHONPATH=scripts $PY -c "import json; from calibrate_energy_gain import rounded_gain
print(rounded_gain(json.load(open('$CAL'))['gain']))")  # 3 significant digits (rule r30)

# 2. the package: release 6's folder, its model.json with the gain in 'energy' and in the configuration it carries
PACKAGE=$RUNS/release7_pkg/default
if [ ! -f "$PACKAGE/model.json" ]; then
    mkdir -p "$(dirname "$PACKAGE")" && cp -r "$RELEASE6" "$PACKAGE"
    $PY - "$PACKAGE" "$GAIN" <<'EOF'
import json, sys
package, gain = sys.argv[1], float(sys.argv[2])
doc = json.load(open(f"{package}/model.json"))
doc["energy"]["gain"] = gain
doc["training"]["config"]["energy_gain"] = gain
doc["export"]["note"] = ("release 6's four graphs, byte for byte; energy.gain calibrates its energy network to the "
                         "mean motion of its Blender training scenes (scripts/calibrate_energy_gain.py, rule r30)")
with open(f"{package}/model.json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
EOF
fi

# 3. figures: the photo sets through the energy network alone (release 6 beside it), the report set through the whole
#    model, one held-out set (a pure scale leaves its correlation and AUC as they were), the synthetic floor
for set in docs/realphoto_validation docs/realphoto_validation_closeups docs/realphoto_places; do
    $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE6" "$PACKAGE" --json "$RUNS/eval_$(basename $set)_release7.json"
done
$PY -m image_dynamics.cli eval-photos docs/realphoto --model "$PACKAGE" -o "$RUNS/eval_photos_release7.json" \
    --pictures "$RUNS/photos_release7"
$PY scripts/eval_energy_net.py "$DATA/render_heldout" --limit 128 "$PACKAGE"
[ -f "$DATA/test/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$DATA/test" --count 256 --seed 7919
$PY -m image_dynamics.cli eval --data "$DATA/test" --train-data "$DATA/synth_train" --model "$PACKAGE" \
    --limit 64 --seeds 0,1,2 --psnr-samples 0 -o "$RUNS/eval_release7_synth64.json"
echo "release 7 package: $PACKAGE (gain $GAIN)"
