#!/usr/bin/env bash
# Release 5 of the default motion model: a fresh model trained on the mixture of the 2-D synthetic scenes and the
# Blender-rendered photoreal scenes, with the training-time camera (noise, JPEG, blur, defocus, chromatic aberration,
# downscaling) on. Why fresh and not a continuation of release 4: docs/model-card.md, "Release 5: the plan".
#
# Runnable once the render set exists (issue 13 item 1). Everything resumes: rerun the same line after a stop.
# Datasets and runs live outside the repository (DATA, RUNS below). On a lent GPU add: DEVICE=cuda MULT=4.
#
#   bash scripts/train_release5.sh            # CPU, the default configuration's stage lengths, then a continuation
#   DEVICE=cuda MULT=4 bash scripts/train_release5.sh
set -euo pipefail

DATA=${DATA:-/work/datasets}
RUNS=${RUNS:-/work/runs}
DEVICE=${DEVICE:-auto}
MULT=${MULT:-1}
SYNTH=$DATA/synth_train          # the 2,000 scenes release 4 was trained on (same seed: same scenes)
RENDER=$DATA/render_train        # the Blender set (docs/data.md, "Blender-rendered scenes")
HELDOUT=$DATA/render_heldout     # held-out Blender scenes: other seeds and layouts, >= 128

[ -f "$SYNTH/dataset.json" ] || image-dynamics data synth -o "$SYNTH" --count 2000 --seed 0 --workers 2
[ -f "$RENDER/dataset.json" ] || { echo "no render set in $RENDER: run 'image-dynamics data render' first" >&2; exit 2; }

# 1. a new model on the mixture: every stage (VAE, per-frequency diffusion, frequency attention, motion energy),
#    half the draws from each set, normalised by statistics over the mixture (unknown pixels left out)
image-dynamics train --config default --data "$SYNTH:1" --data "$RENDER:1" --out "$RUNS/release5_base" \
    --photo-realism 1 --seed 5 --device "$DEVICE" --batch-multiplier "$MULT"

# 2. trained on, as release 3 and 4 were on from release 2: diffusion, attention and energy from the model of step 1
#    (its VAE and statistics kept): 12,000 steps split in the configuration's proportions
image-dynamics train --config default --data "$SYNTH:1" --data "$RENDER:1" --out "$RUNS/release5" \
    --init-from "$RUNS/release5_base/model.pt" --steps 12000 --photo-realism 1 --seed 6 --device "$DEVICE" \
    --batch-multiplier "$MULT"

# 3. export beside the shipped one, then judge it (ship only if it is better; the real-photo check reports, it
#    does not choose)
image-dynamics export "$RUNS/release5" -o "$RUNS/release5_onnx" --guidance 3
image-dynamics eval --data "$DATA/test" --train-data "$SYNTH" --model "$RUNS/release5_onnx" --limit 64 --seeds 0,1,2 \
    --psnr-samples 16 -o "$RUNS/eval_release5_synth64.json"
[ -f "$HELDOUT/dataset.json" ] && image-dynamics eval --data "$HELDOUT" --model "$RUNS/release5_onnx" --limit 128 \
    --seeds 0,1,2 --psnr-samples 0 -o "$RUNS/eval_release5_render128.json"
image-dynamics eval-photos docs/realphoto --model "$RUNS/release5_onnx" -o "$RUNS/eval_photos_release5.json"
