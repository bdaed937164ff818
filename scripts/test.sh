#!/usr/bin/env bash
# The whole test suite, from nothing: creates .venv (if missing) with the test, training and Blender extras, installs
# Debian's chromium for the web-player tests where it is missing (they skip, saying why, where it cannot be installed),
# runs ruff, the suite (bpy 5.0.1 in .venv), and the add-on suite on the other supported Blender versions
# (scripts/blender_envs.sh: environments cached under ~/.cache/image-dynamics/envs/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,train,blender]"
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "test.sh: chromium could not be installed; the browser tests will skip" >&2
fi
.venv/bin/ruff check --quiet .
# the add-on's extension-zip tests install the zip into a Blender with nothing but bpy (a cached environment)
IMAGE_DYNAMICS_BPY_ONLY_PYTHON="$(bash scripts/blender_envs.sh --bare 5.0.1)"
export IMAGE_DYNAMICS_BPY_ONLY_PYTHON
status=0
.venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@" || status=$?
if [ $# -eq 0 ]; then  # the whole suite: the add-on on Blender 4.2 and 4.5 LTS too (the zip with dependencies on 4.5)
  IMAGE_DYNAMICS_WITH_DEPS=1 bash scripts/blender_envs.sh 4.2.23 4.5.15 || status=1
fi
exit $status
