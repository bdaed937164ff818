#!/usr/bin/env bash
# Creates .venv (if missing), installs the project with its test, training and Blender extras, runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,train,blender]"
exec .venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
