#!/usr/bin/env bash
# Creates .venv (if missing), installs the project, and animates the bundled sample photo into out/forest/:
# a looping MP4 and GIF and a PNG sequence.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[blender]"
sample=core/image_dynamics/samples/forest.jpg
.venv/bin/image-dynamics animate "$sample" -o out/forest --format png,mp4,gif --save-motion out/forest/forest_motion.npz \
    --overwrite
echo "Done: open out/forest/forest.mp4 (or forest.gif); the PNG frames are out/forest/forest_0001.png onwards."
