"""Build the Blender extension zip ``dist/image_dynamics-<version>.zip`` (Blender 4.2+: Install from Disk).

Steps: build the engine wheel (``pip wheel --no-deps .``), copy ``blender_addon/`` into
``build/extension/image_dynamics`` with a ``wheels/`` folder holding that wheel, write the manifest's
``wheels = [...]`` list, and run Blender's own extension builder (``blender_ext.py build``, shipped inside the ``bpy``
wheel; it validates the manifest) and then its validator on the zip. Installing the zip never runs pip inside Blender:
Blender installs the bundled wheels itself.

``--with-deps`` also downloads, for each platform, binary wheels of the engine's runtime dependencies that Blender does
not ship (Blender bundles numpy 1.26; the versions chosen here work with numpy < 2) using
``pip download --only-binary=:all: --platform ...``, and builds one zip per platform (``--split-platforms``):
``image_dynamics-<version>-linux_x64.zip`` and so on. That needs network access to PyPI; the tests use only the engine
wheel.

The engine wheel carries the shipped motion model (``image_dynamics/models/default``, package data), so both zips
predict with the Model source out of the box once the dependencies are there. Measured (release 4 model): the plain
zip is 53 MB (the model is nearly all of it); the linux-x64 zip with dependencies 482 MB (onnxruntime-gpu is most of
the rest). Carrying the model as a folder beside the add-on would not make either smaller (the wheel is
compressed the same way) and would leave the engine without it outside Blender, so the wheel carries it.

Building the engine wheel needs setuptools 77 or newer in the Python that runs this script (``pip install
'setuptools>=77' wheel``; a venv with only ``bpy`` or ``.[blender]`` has an older one): the script says so instead of
failing inside pip.

Usage::

    python scripts/build_extension.py                 # dist/image_dynamics-0.1.0.zip (engine wheel only)
    python scripts/build_extension.py --with-deps     # one zip per platform, dependencies bundled
    python scripts/build_extension.py --with-deps --platform linux-x64   # only that platform's zip
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "blender_addon"

#: Runtime dependencies of the engine that Blender lacks, pinned to versions that support numpy 1.26 and Python 3.11.
#: numba needs llvmlite; onnxruntime-gpu has no macOS wheel (docs/conventions.md, Blender).
DEPENDENCIES = ["pillow>=10.0", "OpenEXR>=3.3", "imageio>=2.34", "imageio-ffmpeg>=0.5",
                "opencv-python-headless>=4.8,<4.12", "numba>=0.60,<0.62", "llvmlite>=0.43,<0.45", "tqdm>=4.66"]
#: Blender platform -> (pip platform tags, extra packages for that platform).
PLATFORMS = {
    "linux-x64": (["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
                  ["onnxruntime-gpu>=1.18"]),
    "windows-x64": (["win_amd64"], ["onnxruntime-gpu>=1.18"]),
    "macos-arm64": (["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"],
                    ["onnxruntime>=1.18"]),
    "macos-x64": (["macosx_10_15_x86_64", "macosx_11_0_x86_64", "macosx_12_0_x86_64", "macosx_13_0_x86_64"],
                  ["onnxruntime>=1.18"]),
}


def find_blender_ext() -> Path:
    """Blender's standalone extension builder inside the installed ``bpy`` wheel."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("build_extension: the bpy module is not installed (pip install bpy==5.0.1), or pass "
                         "--blender-ext PATH/TO/blender_ext.py")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    raise SystemExit("build_extension: blender_ext.py not found inside the bpy package; pass --blender-ext")


#: Oldest setuptools that builds the engine wheel (pyproject.toml's build-system; PEP 639 licence metadata).
MIN_SETUPTOOLS = (77, 0)


def check_setuptools() -> None:
    """Exit with one line saying what to install when this Python's setuptools cannot build the engine wheel."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        version = None
    parts = tuple(int(p) for p in (version or "0").split(".")[:2] if p.isdigit())
    if version is None or parts < MIN_SETUPTOOLS:
        found = f"setuptools {version}" if version else "no setuptools"
        raise SystemExit(f"build_extension: building the engine wheel needs setuptools >= 77 and wheel, but "
                         f"{sys.executable} has {found}; install them with: {sys.executable} -m pip install "
                         "'setuptools>=77' wheel")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(str(c) for c in command), flush=True)
    return subprocess.run([str(c) for c in command], check=True, **kwargs)


def versions() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    addon = tomllib.loads((ADDON / "blender_manifest.toml").read_text())["version"]
    if project != addon:
        raise SystemExit(f"build_extension: pyproject.toml version {project} differs from blender_manifest.toml "
                         f"version {addon}; make them equal.")
    return project


def build_engine_wheel(folder: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", folder, ROOT])
    wheels = sorted(folder.glob("image_dynamics-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"build_extension: expected one image_dynamics wheel in {folder}, found {wheels}")
    return wheels[0]


def download_dependencies(folder: Path, platforms: list[str] | None = None) -> list[str]:
    """Download each platform's dependency wheels into ``folder``; return the Blender platforms covered."""
    platforms = platforms or list(PLATFORMS)
    for platform in platforms:
        tags, extra = PLATFORMS[platform]
        command = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps",
                   "--python-version", "3.11", "--implementation", "cp", "-d", folder]
        for tag in tags:
            command += ["--platform", tag]
        print(f"build_extension: dependencies for {platform}")
        run(command + DEPENDENCIES + extra)
    return platforms


def write_manifest(source: Path, target: Path, wheels: list[Path], platforms: list[str] | None) -> None:
    """Copy the manifest, adding ``wheels = [...]`` (and ``platforms`` when platform wheels are bundled)."""
    lines = source.read_text().splitlines()
    insert = next(i for i, line in enumerate(lines) if line.startswith("license"))
    extra = ["wheels = ["] + [f'  "./wheels/{w.name}",' for w in sorted(wheels)] + ["]"]
    if platforms:
        extra.append("platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]")
    target.write_text("\n".join(lines[:insert] + extra + [""] + lines[insert:]) + "\n")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--with-deps", action="store_true",
                        help="also bundle the dependencies' platform wheels (needs PyPI); one zip per platform")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist", help="where the zip goes (default dist/)")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "extension",
                        help="scratch folder (default build/extension, recreated)")
    parser.add_argument("--blender-ext", type=Path, help="path of Blender's blender_ext.py (default: from bpy)")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS), dest="platforms",
                        help="with --with-deps: only this platform (repeatable; default: all)")
    args = parser.parse_args(argv)
    if args.platforms and not args.with_deps:
        parser.error("--platform needs --with-deps")

    check_setuptools()
    version = versions()
    blender_ext = args.blender_ext or find_blender_ext()
    build = args.build_dir.resolve()
    shutil.rmtree(build, ignore_errors=True)
    package = build / "image_dynamics"
    shutil.copytree(ADDON, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels_dir = package / "wheels"
    wheels_dir.mkdir()
    build_engine_wheel(wheels_dir)
    platforms = download_dependencies(wheels_dir, args.platforms) if args.with_deps else None
    write_manifest(ADDON / "blender_manifest.toml", package / "blender_manifest.toml", sorted(wheels_dir.glob("*.whl")),
                   platforms)

    output = args.output_dir.resolve()
    output.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, blender_ext, "build", "--source-dir", package, "--output-dir", output]
    run(command + (["--split-platforms"] if platforms else []))
    zips = sorted(output.glob(f"image_dynamics-{version}*.zip"))
    for archive in zips:
        run([sys.executable, blender_ext, "validate", archive])
    main_zip = output / f"image_dynamics-{version}.zip"
    print("build_extension: wrote " + ", ".join(str(z) for z in zips))
    return main_zip if main_zip.exists() else zips[0]


if __name__ == "__main__":
    main()
