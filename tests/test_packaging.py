"""What installs carry: one version everywhere, the shipped model inside the engine package, type information."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import image_dynamics
from image_dynamics.model import package

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_pyproject_engine_and_blender_manifest():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    manifest = tomllib.loads((ROOT / "blender_addon" / "blender_manifest.toml").read_text())["version"]
    assert image_dynamics.__version__ == project == manifest


def test_the_default_model_ships_inside_the_engine_package():
    shipped = package.shipped_models_dir()
    assert shipped == Path(image_dynamics.__file__).resolve().parent / "models"
    found = {m.name: m for m in package.find_models()}
    assert found["default"].source == "shipped" or "IMAGE_DYNAMICS_MODELS" in found["default"].source
    pkg = package.ModelPackage.load(shipped / "default")
    assert pkg.has_energy_net and pkg.size_bytes <= 64 * 2 ** 20


def test_a_users_own_default_package_comes_before_the_shipped_one(tmp_path, monkeypatch):
    import shutil

    mine = tmp_path / "mine" / "default"
    shutil.copytree(package.shipped_models_dir() / "default", mine)
    monkeypatch.setenv(package.MODELS_ENV, str(tmp_path / "mine"))
    assert package.resolve_model() == mine.resolve()
    monkeypatch.delenv(package.MODELS_ENV)
    assert package.resolve_model() == (package.shipped_models_dir() / "default").resolve()


@pytest.mark.slow
def test_the_wheel_carries_the_model_and_py_typed_and_predicts_from_another_folder(tmp_path):
    """A non-editable install: build the wheel, install it with no dependencies into a venv that sees this
    environment's packages, and run `image-dynamics models` and `predict` from an unrelated folder."""
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheel_dir), str(ROOT)], check=True)
    (wheel,) = wheel_dir.glob("image_dynamics-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for graph in ("image_encoder", "denoiser", "vae_decoder", "energy_net"):
        assert f"image_dynamics/models/default/{graph}.onnx" in names
    assert "image_dynamics/models/default/model.json" in names and "image_dynamics/py.typed" in names
    print(f"wheel: {wheel.stat().st_size / 2 ** 20:.1f} MB")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # the engine's dependencies come from this environment, after the new venv's own site-packages (where the wheel is)
    import sysconfig

    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    (site / "zz_test_deps.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if k != package.MODELS_ENV}
    # the editable install of the checkout must not shadow the wheel: run with the venv's own site-packages first
    code = ("import image_dynamics, sys; from image_dynamics.model import package as p; "
            "print(image_dynamics.__file__); print(p.resolve_model())")
    out = subprocess.run([str(py), "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    where, model = out.stdout.split()
    assert str(venv) in where and str(venv) in model, out.stdout
    sample = Path(image_dynamics.__file__).parent / "samples" / "forest.jpg"
    result = subprocess.run([str(venv / "bin" / "image-dynamics"), "-q", "predict", str(sample), "-o", "m.npz",
                             "--steps", "2"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "m.npz").stat().st_size > 0
