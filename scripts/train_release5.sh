#!/usr/bin/env bash
# Release 5 of the default motion model, as it was made (docs/model-card.md, "Release 5"): release 4 continued, its
# torch weights rebuilt from the shipped ONNX package (image_dynamics/train/recover.py, checked against the graphs),
# with its motion-energy network trained on in stage 4 on the mixture of the 2-D synthetic scenes and the
# Blender-rendered photoreal scenes, the training-time camera on. The diffusion model stays release 4's: a package
# has no VAE encoder, so stages 2-3 cannot be continued from it (a fresh run of all four stages is the GPU plan).
#
# Datasets and runs live outside the repository (DATA, RUNS below); everything resumes: rerun the same line after a
# stop. RENDER is a fixed snapshot of the Blender set (a folder still being rendered changes under a resumed run).
#
#   bash scripts/train_release5.sh
set -euo pipefail

DATA=${DATA:-/work/datasets}
RUNS=${RUNS:-/work/runs}
DEVICE=${DEVICE:-auto}
STEPS=${STEPS:-1500}
SYNTH=$DATA/synth_train          # the 2,000 scenes releases 2-4 were trained on (same seed: same scenes)
RENDER=$DATA/render_train_r5     # the first 664 scenes of `data render --count 1000 --seed 1` (docs/data.md)
HELDOUT=$DATA/render_heldout     # 128 held-out Blender scenes: `data render --count 128 --seed 2`
TEST=$DATA/test                  # the synthetic held-out set: `data synth --count 256 --seed 7919`

[ -f "$SYNTH/dataset.json" ] || image-dynamics data synth -o "$SYNTH" --count 2000 --seed 0 --workers 2
[ -f "$TEST/dataset.json" ] || image-dynamics data synth -o "$TEST" --count 256 --seed 7919 --workers 2
[ -f "$RENDER/dataset.json" ] || { echo "no render set in $RENDER: run 'image-dynamics data render' first" >&2; exit 2; }

# 1. release 4 continued in stage 4 on the mixture: a third of the draws synthetic, two thirds Blender
image-dynamics train --config default --data "$SYNTH:1" --data "$RENDER:2" --out "$RUNS/release5_energy" \
    --init-from core/image_dynamics/models/default --stages energy --steps "$STEPS" --photo-realism 1 --seed 5 \
    --device "$DEVICE"

# 2. export (with the coherent fill: energy.fill_coherence_px) and judge it; the real-photo check reports, it does
#    not choose
image-dynamics export "$RUNS/release5_energy" -o "$RUNS/release5_onnx" --guidance 3
image-dynamics eval --data "$TEST" --train-data "$SYNTH" --model "$RUNS/release5_onnx" --limit 64 --seeds 0,1,2 \
    --psnr-samples 16 -o "$RUNS/eval_release5_synth64.json"
image-dynamics eval --data "$HELDOUT" --model "$RUNS/release5_onnx" --limit 128 --seeds 0,1,2 --psnr-samples 0 \
    -o "$RUNS/eval_release5_render128.json"
image-dynamics eval-photos docs/realphoto --model "$RUNS/release5_onnx" -o "$RUNS/eval_photos_release5.json"
