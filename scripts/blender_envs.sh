#!/usr/bin/env bash
# The Blender add-on suite (tests/blender) against other bpy versions than the main .venv's (default 4.2.23 and
# 4.5.15, the LTS releases), each in its own virtual environment cached outside the clone:
#
#   ~/.cache/image-dynamics/envs/bpy-<version>/       bpy, numpy<2, the engine's runtime dependencies, pytest
#   ~/.cache/image-dynamics/envs/bpy-<version>-only/  bpy alone (Blender as shipped: what an extension zip meets)
#
# The environments hold third-party packages only; they are made once (again when the requirements change: a stamp
# file records them) and this checkout is installed into the first with `pip install --no-deps` on every run, so a
# fresh clone (CI) tests its own code. The bpy-only environment is where the extension zip is installed
# (tests/blender/test_addon.py reads its python from $IMAGE_DYNAMICS_BPY_ONLY_PYTHON).
#
# With IMAGE_DYNAMICS_WITH_DEPS=1, the linux-x64 extension zip with every dependency is built once per run
# (scripts/build_extension.py --with-deps --platform linux-x64; the wheels come from pip's cache after the first time)
# and the last version's suite installs it into its bpy-only environment and predicts with the shipped model.
#
# Usage: scripts/blender_envs.sh [VERSION ...]     (environment: IMAGE_DYNAMICS_ENVS overrides the cache folder)
#        scripts/blender_envs.sh --prepare VERSION  (only make or update both environments of VERSION)
#        scripts/blender_envs.sh --bare VERSION     (make the bpy-only environment of VERSION; print its python)
set -euo pipefail
cd "$(dirname "$0")/.."
ENVS="${IMAGE_DYNAMICS_ENVS:-$HOME/.cache/image-dynamics/envs}"
PIP_QUIET=(-q --disable-pip-version-check)

runtime_requirements() {  # the engine's runtime dependencies, from pyproject.toml (one per line)
  python3 - <<'EOF'
import tomllib
for requirement in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    print(requirement)
EOF
}

# make_env FOLDER REQUIREMENT...: a venv holding exactly these requirements (remade when they change)
make_env() {
  local folder="$1"
  shift
  local wanted
  wanted="$(printf '%s\n' "$@")"
  if [ -x "$folder/bin/python" ] && [ "$(cat "$folder/.requirements" 2>/dev/null)" = "$wanted" ]; then
    return 0
  fi
  echo "blender_envs: creating $folder" >&2
  rm -rf "$folder"
  mkdir -p "$(dirname "$folder")"
  python3 -m venv "$folder"
  "$folder/bin/python" -m pip install "${PIP_QUIET[@]}" "$@"
  printf '%s' "$wanted" > "$folder/.requirements"
}

prepare() {  # prepare VERSION: both environments of one bpy version
  local version="$1"
  local -a runtime
  mapfile -t runtime < <(runtime_requirements)
  make_env "$ENVS/bpy-$version" "bpy==$version" "numpy<2" "${runtime[@]}" "pytest>=8" "setuptools>=77" wheel
  make_env "$ENVS/bpy-$version-only" "bpy==$version" "numpy<2"
}

if [ "${1:-}" = "--prepare" ]; then
  prepare "$2"
  exit 0
fi
if [ "${1:-}" = "--bare" ]; then
  make_env "$ENVS/bpy-$2-only" "bpy==$2" "numpy<2"
  echo "$ENVS/bpy-$2-only/bin/python"
  exit 0
fi

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(4.2.23 4.5.15)
status=0
with_deps_zip=""
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
last="${versions[${#versions[@]}-1]}"
for version in "${versions[@]}"; do
  prepare "$version"
  env="$ENVS/bpy-$version"
  if ! log="$("$env/bin/python" -m pip install "${PIP_QUIET[@]}" --no-deps --no-build-isolation --force-reinstall . \
      2>&1)"; then
    echo "$log" >&2
    exit 1
  fi
  if [ "${IMAGE_DYNAMICS_WITH_DEPS:-0}" = 1 ] && [ "$version" = "$last" ]; then
    echo "blender_envs: building the linux-x64 extension zip with its dependencies"
    "$env/bin/python" scripts/build_extension.py --with-deps --platform linux-x64 --output-dir "$scratch/dist" \
      --build-dir "$scratch/build" > "$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; exit 1; }
    with_deps_zip="$(ls "$scratch"/dist/image_dynamics-*-linux_x64.zip)"
  fi
  echo "blender_envs: add-on suite on bpy $version"
  started=$SECONDS
  IMAGE_DYNAMICS_BPY_ONLY_PYTHON="$ENVS/bpy-$version-only/bin/python" IMAGE_DYNAMICS_WITH_DEPS_ZIP="$with_deps_zip" \
    "$env/bin/python" -m pytest -q -p no:cacheprovider -W ignore::pytest.PytestUnknownMarkWarning tests/blender \
    || status=1
  echo "blender_envs: bpy $version took $((SECONDS - started)) s"
done
exit $status
