#!/usr/bin/env bash
# One run's snapshots averaged in weight space (rule r55, docs/rules.md): the energy networks of steps A and B of a
# run, 0.5 x A + 0.5 x B, for each pair given, and the plain average of four snapshots as averages of averages; the
# averages scored as they are (gain 1) beside release 7 on the validation views, close-ups and places and, as
# information, the report set, then judged by the standing clauses (judge_standing). Snapshots of one run descend
# from one another, so they are one network, and with the encoder frozen only the decoder differs. Made once; a rerun
# skips what exists. On 2 cores: about 1.5 minutes an average.
#
#   bash scripts/snapshot_averages.sh NAME RUN "A:B ..." [W:X:Y:Z]
#   e.g. bash scripts/snapshot_averages.sh avg_rl28t rl28t "400:800 600:800" 200:400:600:800
# AMOUNT (environment, default 0.5) is B's share in each pair: (1 - AMOUNT) x A + AMOUNT x B (rule r59).
# A step may name another run's snapshot as OTHER@STEP (rule r58: two runs from one start with one frozen encoder,
# whose decoders are averaged as a model soup): bash scripts/snapshot_averages.sh soup_r58 rl29o "400:rl30u@700"
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, PY, RELEASE7, release7_package, judge_standing

name=$1 run=$2
read -r -a pairs <<< "$3"
four=${4:-}
[ -d "$RELEASE7" ] || release7_package
out=$RUNS/$name
mkdir -p "$out"
snapshot() {  # STEP or OTHER_RUN@STEP -> its snapshot file
    case $1 in
        *@*) echo "$RUNS/${1%@*}/snapshots/model_step$(printf %06d "${1#*@}").pt" ;;
        *) echo "$RUNS/$run/snapshots/model_step$(printf %06d "$1").pt" ;;
    esac
}
amount=${AMOUNT:-0.5}
average() {  # average A.pt B.pt OUT.pt [B's share, default 0.5]
    [ -f "$3" ] || $PY scripts/mix_energy_weights.py "$1" "$2" --amount "${4:-0.5}" -o "$3"
}
models=()
for pair in "${pairs[@]}"; do
    a=${pair%:*} b=${pair#*:}
    mix=$out/s${a/@/_}_s${b/@/_}.pt
    [ "$amount" = 0.5 ] || mix=$out/s${a/@/_}_s${b/@/_}_a${amount/./}.pt
    average "$(snapshot "$a")" "$(snapshot "$b")" "$mix" "$amount"
    models+=("$mix")
done
if [ -n "$four" ]; then
    IFS=: read -r w x y z <<< "$four"
    average "$(snapshot "$w")" "$(snapshot "$x")" "$out/s${w}_s${x}.pt"
    average "$(snapshot "$y")" "$(snapshot "$z")" "$out/s${y}_s${z}.pt"
    average "$out/s${w}_s${x}.pt" "$out/s${y}_s${z}.pt" "$out/s${w}_s${x}_s${y}_s${z}.pt"
    models+=("$out/s${w}_s${x}_s${y}_s${z}.pt")
fi
for set in docs/realphoto_validation docs/realphoto_places docs/realphoto_validation_closeups docs/realphoto; do
    json=$RUNS/eval_$(basename "$set")_$name.json
    [ -f "$json" ] || $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE7" "${models[@]}" --json "$json"
done
judge_standing "$name"
