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
.venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
