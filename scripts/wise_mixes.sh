#!/usr/bin/env bash
# Release 7's energy network mixed in weight space with guard-run snapshots, (1 - a) x release 7 + a x snapshot, and
# the mixes scored as they are (no calibration gain, so only their AUCs count), beside release 7, on the validation
# views, close-ups and places, and, as information, on the report set. A mix is calibrated and judged by the standing
# clauses (docs/rules.md) only if it passes clause (a) and (e)'s AUC parts. Made once; a rerun skips what exists.
# On 2 cores: about 1.5 minutes a mix.
#
#   bash scripts/wise_mixes.sh [NAME "RUN:STEP|NETWORK.pt ..." "AMOUNT ..."]
#
# Without arguments, rule r43's mixes (docs/model-card.md, "RL20-RL22"): wise_r43 "rl19:400 rl20:200" "0.5 0.7",
# which need scripts/guard_runs.sh's RL19 and RL20. Rule r47's (docs/rules.md): wise_r47 "rl23:1600 ..." "0.5 0.7".
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, PY, RELEASE7, release7_package

name=${1:-wise_r43}
read -r -a tuned_snapshots <<< "${2:-rl19:400 rl20:200}"
read -r -a amounts <<< "${3:-0.5 0.7}"
[ -d "$RELEASE7" ] || release7_package
out=$RUNS/$name
mixes=()
for tuned in "${tuned_snapshots[@]}"; do
    case $tuned in
        *.pt) snapshot=$tuned stem=$(basename "$tuned" .pt) ;;  # a network made elsewhere, e.g. a soup
        *) snapshot=$RUNS/${tuned%:*}/snapshots/model_step$(printf %06d "${tuned#*:}").pt
           stem=${tuned%:*}_s${tuned#*:} ;;
    esac
    for amount in "${amounts[@]}"; do
        mix=$out/${stem}_a${amount/./}.pt
        [ -f "$mix" ] || $PY scripts/mix_energy_weights.py "$RELEASE7" "$snapshot" --amount "$amount" -o "$mix"
        mixes+=("$mix")
    done
done
for set in docs/realphoto_validation docs/realphoto_places docs/realphoto_validation_closeups docs/realphoto; do
    json=$RUNS/eval_$(basename "$set")_$name.json
    [ -f "$json" ] || $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE7" "${mixes[@]}" --json "$json"
done
