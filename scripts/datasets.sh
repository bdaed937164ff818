# Sourced (not run) by the scripts that remake a model's data, runs and figures: where datasets, runs and generator
# checkouts live (override with the environment), and one way to render a Blender set with the generator version
# that made it. The datasets are not in the repository; these scripts render what is missing. Each render_* recipe
# takes an optional COUNT (default: the whole set) that renders only the set's first scenes; a later call with more
# resumes the same folder, since a dataset's scenes are drawn from its seed one by one.
DATA=${DATA:-/work/datasets}
RUNS=${RUNS:-/work/runs}
GEN=${GEN:-/work/gen}                    # git worktrees of the generator versions
PY=${PY:-.venv/bin/python}

render_with() {  # VERSION COMMIT FOLDER COUNT SEED [FAMILIES [more data render options]]; COMMIT "current": this
    # checkout's generator
    local version=$1 commit=$2 out=$3 count=$4 seed=$5 families=() core=core
    [ -n "${6:-}" ] && families=(--families "$6")
    shift $(( $# < 6 ? $# : 6 ))
    if [ "$commit" != current ]; then
        [ -d "$GEN/$version" ] || git worktree add -f "$GEN/$version" "$commit"
        core=$GEN/$version/core
    fi
    # data render resumes a folder where it stopped and returns at once when the folder is complete
    PYTHONPATH="$core" $PY -m image_dynamics.cli data render -o "$out" --count "$count" --seed "$seed" \
        --workers 2 --threads 1 "${families[@]}" "$@"
}

# the three held-out Blender sets of the gates, each rendered by the generator that made it (v4, v5, v6 rockery)
render_heldout_sets() {
    render_with v4 3ab635f "$DATA/render_heldout" 128 2
    render_with v5 8acb1a6 "$DATA/render_heldout_v5" 128 4
    render_with v6 65bad7d "$DATA/render_heldout_rockery" 64 14 rockery
}

# release 6's training data (run RZ): the synthetic scenes, the first scenes of release 5's v4, v5 and rockery sets
# rendered by their generators, and 256 v7 scenes of release 5's families
render_release6_data() {
    [ -f "$DATA/synth_train/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$DATA/synth_train" \
        --count 2000 --seed 0
    render_with v7 97ea7d7 "$DATA/render_v7_r5fam" 256 27 coast,lake,meadow,rockery,village,waterfront
    render_with v4 3ab635f "$DATA/render_train_v4_160" 160 1
    render_with v5 8acb1a6 "$DATA/render_train_v5_160" 160 3
    render_with v6 65bad7d "$DATA/render_train_rockery_96" 96 13 rockery
}

# more scenes for the next GPU run (docs/model-card.md, "Other directions" item 12): 1,024 of generator v12, every
# family in its usual share, at a seed no other set uses; started 2026-12-05 after RL13, resumable (a shard of 8 at a
# time, 3-5 s a scene on 2 cores)
render_v12_mix() {
    render_with v12 09f7fd9 "$DATA/render_v12_mix_1024" "${1:-1024}" 61
}

# calm, dim, mirror-smooth water (generator v13's calm_water family; model card "Other directions" item 12): the
# still-water guard RL12 and RL13 asked for, rendered 2026-12-05 (about 2.5 s a scene on 2 cores)
render_calm_water() {
    render_with v13 ab8488b "$DATA/render_calm_v13_256" "${1:-256}" 73 calm_water
}

# laundry before walls, in shade (generator v14's yard family): the validation courtyard's laundry, which RL13 lost;
# rendered 2026-12-05
render_yard() {
    render_with v14 a2ce3ce "$DATA/render_yard_v14_256" "${1:-256}" 83 yard
}

# still paving in dim light (generator v14's promenades, waterfront quays and village streets 1.5 stops darker): run
# RL17's guard against reading every dim, smooth, level surface as calm water (rule r39)
render_dim_paving() {
    render_with v14 a2ce3ce "$DATA/render_dim_paving_v14_192" "${1:-192}" 89 promenade,waterfront,village --exposure -1.5
}

# trees beyond a mown lawn, and every distant tree line swaying (generator v15's park family, one stop under the usual
# exposure, as photographs are): the guard the guards need, since every run that added calm water lost the places
# set's park trees (rule r42); rendered 2026-12-06
render_park() {
    render_with v15 b7cf665 "$DATA/render_park_v15_256" "${1:-256}" 97 park --exposure -1.0
}

# wide, dim, still paving beside calm water in one picture (generator v16's quayside family): the guard the Venice
# quay needs, which RL21 lost as it ran longer (0.95 -> 0.70); started 2026-12-06, resumable
render_quayside() {
    render_with v16 97614f5 "$DATA/render_quayside_v16_256" "${1:-256}" 107 quayside
}

# v13's calm water again with generator v16, whose lakes' far tree lines sway (v13's stood still): the same seeds, so
# the same canals and harbours, and lakes alike up to their tree line (its sway draws from the scene's generator);
# the truth made to agree with the parks'; started 2026-12-06, resumable
render_calm_water_v16() {
    render_with v16 97614f5 "$DATA/render_calm_v16_256" "${1:-256}" 73 calm_water
}

# every family in its usual share, rendered by generator v16 (every distant tree line sways): the broad set of run
# RL23 (rule r46), which had to start again from release 7 when every set and run outside the repository was lost
# (2026-12-06); resumable, RL23 used its first 640 scenes
render_v16_mix() {
    render_with v16 97614f5 "$DATA/render_v16_mix_1024" "${1:-1024}" 113
}

# still city blocks whose facades are grids of windows, glass bands or mullions (generator v17's towers family): the
# guard the static-only view city_towers needs, whose office facades every frozen-encoder run moved as if they were
# foliage (RL24F-RL27R, rule r53); started 2026-12-06, resumable
render_towers() {
    render_with v17 18e855c "$DATA/render_towers_v17_192" "${1:-192}" 127 towers
}

# pinnacles and cliffs of pale bedded rock among tall trees (generator v18's outcrop family): the guard the places
# set's slope needs, whose sandstone every frozen-encoder run moved with the leaves (RL24F-RL28T); started
# 2026-12-06, resumable
render_outcrop() {
    render_with v18 5b3afb8 "$DATA/render_outcrop_v18_160" "${1:-160}" 131 outcrop
}

# the Blender sets (DATASET:WEIGHT under $DATA) of run RL13 (rule r34), and of RL15 (r37): RL13's plus the calm water
# and the v12 mix's first 752 scenes; RL16 and RL17 add one set each
RL13_MIXTURE=(render_train_v4_320:1 render_train_v5_160:1 render_train_rockery_96:1 render_v7_r5fam:2
              render_still_life_256:0.5 render_still_life_v12_256:0.5 render_specimen_256:0.5
              render_specimen_v9_256:0.5 render_specimen_v10_256:0.5 render_water_v12_256:1
              render_water_dark_v12_256:0.5)
RL15_MIXTURE=("${RL13_MIXTURE[@]}" render_calm_v13_256:1.5 render_v12_mix_1024:1)
RL16_MIXTURE=("${RL15_MIXTURE[@]}" render_yard_v14_256:1.5)        # rule r38: RL15's and the yards
RL17_MIXTURE=("${RL16_MIXTURE[@]}" render_dim_paving_v14_192:1.5)  # rule r39: RL16's and dim still paving
RL20_MIXTURE=("${RL17_MIXTURE[@]}" render_park_v15_256:1.5)        # rule r42: RL17's and the parks
RL22_MIXTURE=("${RL20_MIXTURE[@]}" render_quayside_v16_256:1.5)    # rule r45: RL20's and the quaysides
# rule r46: after the loss of every set, RL23 starts from release 7 on what 2 cores render in an hour: a broad v16 mix
# and RL22's five guards, the first scenes of each (the synthetic set is added by the run)
RL23_MIXTURE=(render_v16_mix_1024:8 render_calm_v16_256:1.5 render_yard_v14_256:1.5 render_dim_paving_v14_192:1.5
              render_park_v15_256:1.5 render_quayside_v16_256:1.5)

# RL23_MIXTURE's sets at the counts RL23 (rule r46) and RL24F (r48) trained on, and the 2-D synthetic set beside them
render_rl23_data() {
    render_calm_water_v16 128
    render_yard 128
    render_dim_paving 128
    render_park 128
    render_quayside 128
    render_v16_mix 640
    [ -f "$DATA/synth_train/dataset.json" ] || $PY -m image_dynamics.cli data synth -o "$DATA/synth_train" \
        --count 2000 --seed 0
}

# close-ups of single plants (generator v10's specimen family, the last before still life), as RL13 trained on them
# (scripts/specimen_candidates.sh renders all 256); rule r52 replays the first 128
render_specimen_v10() {
    render_with v10 be84763 "$DATA/render_specimen_v10_256" "${1:-256}" 31 specimen
}

# rule r52: RL23's sets with release 6's four Blender training sets beside them (the sets release 7's network was
# trained on, replayed so that what it read well stays read well) and RL13's plant close-ups, about 40 % of the draws
RL27_MIXTURE=("${RL23_MIXTURE[@]}" render_train_v4_160:1.5 render_train_v5_160:1.5 render_train_rockery_96:1.5
              render_v7_r5fam:3 render_specimen_v10_256:1.5)
RL28_MIXTURE=("${RL27_MIXTURE[@]}" render_towers_v17_192:3)  # rule r53: RL27R's and the city blocks
RL29_MIXTURE=("${RL28_MIXTURE[@]}" render_outcrop_v18_160:3)  # rule r54: RL28T's and pale rock among trees

# a guard run from release 7's rebuilt network (its gain reset to 1) with seed 37, as rules r46-r52's, on the given
# sets (rendered first: RL23's, and release 6's when named), then judged by the standing clauses:
# release7_guard_run NAME STEPS SNAPSHOT_EVERY DATASET:WEIGHT... (TRAIN_SETTINGS from the environment, as guard_run)
release7_guard_run() {
    local name=$1 steps=$2 every=$3
    shift 3
    render_rl23_data
    case " $* " in *" render_train_v4_160:"*) render_release6_data ;; esac
    case " $* " in *" render_specimen_v10_256:"*) render_specimen_v10 128 ;; esac
    case " $* " in *" render_towers_v17_192:"*) render_towers 192 ;; esac
    case " $* " in *" render_outcrop_v18_160:"*) render_outcrop 160 ;; esac
    release7_package
    recover_weights "$RELEASE7" "$RUNS/release7_recovered/model.pt"
    guard_run "$name" "$RUNS/release7_recovered/model.pt" "$steps" "$every" 37 "$@"
    judge_standing "$name"
}

# a package's torch weights rebuilt by train.recover (made once): recover_weights PACKAGE OUT.pt
recover_weights() {
    [ -f "$2" ] || $PY -c "from image_dynamics.train.loop import load_motion_model
load_motion_model('$1').save('$2')"
}

# a guard run (docs/model-card.md "RL15-RL19" on): the energy stage alone, trained on 2 CPU cores from INIT (learning
# rate 2.5e-4, 50 warm-up steps, mean term 1.0, EMA 0.995, photographic realism, zoom on half the pictures up to 3x,
# the 2-D synthetic set at 0.5 beside the given sets), then every snapshot scored as it is, beside release 7, on the
# validation views, close-ups, places and report set (scripts/eval_photos_energy_net.py). Made once; a rerun skips
# what exists: guard_run NAME INIT STEPS SNAPSHOT_EVERY SEED DATASET:WEIGHT...
# TRAIN_SETTINGS (environment): more FIELD=VALUE training settings, space-separated, e.g. energy_freeze_encoder=true
guard_run() {
    local name=$1 init=$2 steps=$3 every=$4 seed=$5 out=$RUNS/$1 set json snapshots setting extra=()
    shift 5
    [ -f "$init" ] || { echo "$init is missing: run the run before $name first"; return 1; }
    data_options "$@"
    for setting in ${TRAIN_SETTINGS:-}; do extra+=(--set "$setting"); done
    [ -f "$out/model.pt" ] || OMP_NUM_THREADS=2 $PY -m image_dynamics.cli train --config default \
        --init-from "$init" --stages energy --steps "$steps" --photo-realism 1 --set energy_lr=2.5e-4 \
        --set warmup_steps=50 --set energy_mean_weight=1.0 --set energy_ema_decay=0.995 \
        --set energy_shard_batches=2 --set snapshot_every="$every" --set photo_zoom=0.5 --set photo_zoom_max=3 \
        "${extra[@]}" --device cpu --seed "$seed" "${DATA_OPTIONS[@]}" --data "$DATA/synth_train:0.5" --out "$out" \
        >> "$RUNS/$name.log" 2>&1
    release7_package
    snapshots=("$out"/snapshots/model_step*.pt)
    for set in docs/realphoto_validation docs/realphoto_validation_closeups docs/realphoto_places docs/realphoto; do
        json=$RUNS/eval_$(basename "$set")_$name.json
        [ -f "$json" ] || $PY scripts/eval_photos_energy_net.py "$set" "$RELEASE7" "${snapshots[@]}" --json "$json"
    done
}

# the standing clauses (docs/rules.md) over a guard run's or a mix's scores: judge_standing NAME (after guard_run NAME
# or scripts/wise_mixes.sh NAME); the verdict in $RUNS/choice_NAME.json and .txt
judge_standing() {
    $PY scripts/choose_snapshot.py "$RUNS/eval_realphoto_validation_$1.json" \
        "$RUNS/eval_realphoto_validation_closeups_$1.json" --places "$RUNS/eval_realphoto_places_$1.json" \
        --view-loss venice_quay=0.01 --closeup-factor 1 --reference "$RELEASE7" --json "$RUNS/choice_$1.json" \
        | tee "$RUNS/choice_$1.txt"
}

# --data options for DATASET:WEIGHT names under $DATA, refusing any that is not rendered: data_options NAME...
data_options() {
    local spec
    DATA_OPTIONS=()
    for spec in "$@"; do
        [ -f "$DATA/${spec%:*}/dataset.json" ] || { echo "$DATA/${spec%:*} is missing: render it first"; return 1; }
        DATA_OPTIONS+=(--data "$DATA/$spec")
    done
}

# a shipped release's package taken from git: release_package FOLDER COMMIT (the commit that shipped it)
release_package() {
    [ -f "$1/model.json" ] && return
    mkdir -p "$1"
    local f
    for f in model.json README.md energy_net.onnx image_encoder.onnx denoiser.onnx vae_decoder.onnx; do
        git show "$2:core/image_dynamics/models/default/$f" > "$1/$f"
    done
}

# the references the scripts score against, so that they do not move when a later release ships
RELEASE5=${RELEASE5:-$RUNS/release5_pkg/default}   # release 5, shipped until release 6
release5_package() { release_package "$RELEASE5" 1524ff4; }
RELEASE6=${RELEASE6:-$RUNS/release6_pkg/default}   # release 6, shipped until release 7
release6_package() { release_package "$RELEASE6" f2e9710; }
RELEASE7=${RELEASE7:-$RUNS/release7_pkg/default}   # release 7 (release 6 with a calibration gain)
release7_package() { release_package "$RELEASE7" 3a5ecbf; }
