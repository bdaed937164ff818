# Scoring of energy-network candidates for the release rules (docs/model-card.md, rules r17 onwards), sourced by
# scripts/specimen_candidates.sh and scripts/gpu_energy_candidates.sh after scripts/datasets.sh (PY, DATA, RUNS,
# RELEASE6).
#
# score_and_choose LABEL CANDIDATE... [-- CHOOSE_SNAPSHOT_OPTIONS...]: the validation views and close-ups and the
# places through each candidate's energy network beside the reference's, the three held-out sets (first 128 scenes),
# then scripts/choose_snapshot.py's clauses; figures in $RUNS/eval_*_LABEL.json and $RUNS/choice_LABEL.json.
#
# score_heldout LABEL CANDIDATE...: the held-out sets alone (below).
#
# package_gates LABEL MODEL.pt: the model exported (guidance 3) to $RUNS/LABEL_onnx/default, then the figures gate 2
# (the report set through the whole model, 3 seeds: $RUNS/eval_photos_LABEL.json, pictures in photos_LABEL) and gate 3
# (the synthetic floor, first 64 of the held-out synthetic set, seeds 0-2: eval_LABEL_synth64.json) are read from.
# Made once; a rerun skips what exists. On 2 cores: the export and the report set 5 minutes, the floor 15-30.
score_and_choose() {  # REFERENCE=PACKAGE in the environment judges against it instead of release 6
    local label=$1 reference=${REFERENCE:-$RELEASE6}; shift
    local candidates=() options=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do candidates+=("$1"); shift; done
    [ $# -gt 0 ] && { shift; options=("$@"); }
    for set in docs/realphoto_validation docs/realphoto_validation_closeups docs/realphoto_places; do
        $PY scripts/eval_photos_energy_net.py "$set" "$reference" "${candidates[@]}" \
            --json "$RUNS/eval_$(basename "$set")_$label.json"
    done
    score_heldout "$label" "${candidates[@]}"
    $PY scripts/choose_snapshot.py "$RUNS/eval_realphoto_validation_$label.json" \
        "$RUNS/eval_realphoto_validation_closeups_$label.json" --places "$RUNS/eval_realphoto_places_$label.json" \
        --heldout "$RUNS/eval_heldout_${label}_render_heldout.json" \
        --heldout "$RUNS/eval_heldout_${label}_render_heldout_v5.json" \
        --heldout "$RUNS/eval_heldout_${label}_render_heldout_rockery.json" "${options[@]}" \
        --json "$RUNS/choice_$label.json"
}

# score_heldout LABEL CANDIDATE...: clause (d)'s figures, the three held-out sets (first 128 scenes) through each
# candidate's energy network beside the shipped package's, in $RUNS/eval_heldout_LABEL_SET.json (written again on
# every call, so a label reused for other candidates never leaves stale scores). The energy correlation and AUC do
# not depend on a gain, so a snapshot can be scored before it is calibrated.
score_heldout() {
    local label=$1 d; shift
    for d in render_heldout render_heldout_v5 render_heldout_rockery; do
        $PY scripts/eval_energy_net.py "$DATA/$d" --limit 128 "$@" --json "$RUNS/eval_heldout_${label}_$d.json"
    done
}

package_gates() {
    local label=$1 model=$2 package=$RUNS/${1}_onnx/default
    [ -f "$package/model.json" ] || $PY -m image_dynamics.cli -q export "$model" -o "$package" --guidance 3
    [ -f "$RUNS/eval_photos_$label.json" ] || $PY -m image_dynamics.cli eval-photos docs/realphoto --model "$package" \
        -o "$RUNS/eval_photos_$label.json" --pictures "$RUNS/photos_$label"
    [ -f "$DATA/test/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$DATA/test" --count 256 --seed 7919
    [ -f "$RUNS/eval_${label}_synth64.json" ] || $PY -m image_dynamics.cli eval --data "$DATA/test" \
        --train-data "$DATA/synth_train" --model "$package" --limit 64 --seeds 0,1,2 --psnr-samples 0 \
        -o "$RUNS/eval_${label}_synth64.json"
}
