#!/usr/bin/env bash
# Run RL24F (rule r48, docs/rules.md): RL23 again (the same sets, recipe and seed, from release 7's rebuilt
# network), with one change: the energy network's image encoder frozen (energy_freeze_encoder), so that only the
# decoder and heads learn the guards and release 7's features stay as they are. Then rule r47's mixes of release 7
# with its snapshots: (1 - a) x release 7 + a x snapshot, a = 0.5, for the last snapshot and for S, the snapshot
# with the highest validation mean AUC among the others (the earlier within the chooser's TIE_AUC). Everything is
# scored as it is (gain 1) beside release 7 and judged by the standing clauses. Made once; a rerun skips what exists,
# and the renders and the run resume where a kill stopped them. On 2 cores: the renders about 65 minutes (RL23's,
# skipped where they exist), the run about 30 minutes, the mixes 3.
#
#   bash scripts/rl24f.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/datasets.sh  # RUNS, PY, RL23_MIXTURE, release7_guard_run

STEPS=${STEPS:-1600}
EVERY=${EVERY:-400}
name=${NAME:-rl24f}
TRAIN_SETTINGS=energy_freeze_encoder=true release7_guard_run $name $STEPS $EVERY "${RL23_MIXTURE[@]}"
[ "$name" = rl24f ] || exit 0  # rule r49's shorter run RL25F has no mixes

# S: the best validation mean AUC among the snapshots before the last, the earlier within TIE_AUC
best=$($PY - "$RUNS/eval_realphoto_validation_$name.json" $STEPS <<'PY'
import json, re, sys
sys.path.insert(0, "scripts")
from choose_snapshot import TIE_AUC  # the chooser's own tie rule
models = json.load(open(sys.argv[1]))["models"]
steps = {int(re.search(r"step0*(\d+)", k).group(1)): m["score"]["mean_auc"] for k, m in models.items()
         if re.search(r"step0*(\d+)", k)}
best = None
for step in sorted(s for s in steps if s != int(sys.argv[2])):
    if best is None or steps[step] > steps[best] + TIE_AUC:
        best = step
print(best)
PY
)
bash scripts/wise_mixes.sh wise_r48 "$name:$STEPS $name:$best" "0.5"
judge_standing wise_r48
