#!/usr/bin/env bash
# Creates .venv (if missing), installs the project, and animates the bundled sample photo into out/forest/:
# a looping MP4 and GIF and a PNG sequence; then drives the Blender add-on headless on the same photo (out/blender/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[blender]"
sample=core/image_dynamics/samples/forest.jpg
.venv/bin/image-dynamics animate "$sample" -o out/forest --format png,mp4,gif --save-motion out/forest/forest_motion.npz \
    --overwrite
# the same through the Blender add-on, headless (bpy module): bake, node setups, a Workbench render, a saved .blend
.venv/bin/python scripts/demo_blender.py
echo "Done: open out/forest/forest.mp4 (or forest.gif); the PNG frames are out/forest/forest_0001.png onwards;"
echo "      the Blender scene is out/blender/forest_demo.blend."
