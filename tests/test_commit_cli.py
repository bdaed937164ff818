"""The render command under signals: at every file operation of its commit and at seeded moments while rendering, the
output folder is byte for byte the old set or the complete new one (at once for SIGINT, SIGTERM, SIGHUP; after the
next run's repair for SIGKILL), with exit status 130, 143 or 129."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_dynamics import atomic

FRAMES = "1:2"


def cli(*args: str, signal_at: str | None = None, popen: bool = False):
    env = {k: v for k, v in os.environ.items() if k != atomic.SIGNAL_AT_ENV}
    if signal_at:
        env[atomic.SIGNAL_AT_ENV] = signal_at
    command = [sys.executable, "-m", "image_dynamics.cli", "-q", *args]
    if popen:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def hidden(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """An image, its motion, and an output folder's old and new contents (a render at another strength)."""
    root = tmp_path_factory.mktemp("scene")
    rng = np.random.default_rng(3)
    Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).save(root / "img.png")
    assert cli("motion", "procedural", str(root / "img.png"), "-o", str(root / "m.npz"), "--amplitude", "3"
               ).returncode == 0
    base = ["render", str(root / "img.png"), "--motion", str(root / "m.npz"), "--frames", FRAMES, "--name", "shot",
            "--displacement", "forward"]
    old_dir, new_dir = root / "old", root / "new"
    assert cli(*base, "-o", str(old_dir), "--strength", "0.5").returncode == 0
    assert cli(*base, "-o", str(new_dir), "--strength", "2").returncode == 0
    old, new = snapshot(old_dir), snapshot(new_dir)
    assert old.keys() == new.keys() and old != new and len(old) == 2
    (old_dir / "notes.txt").write_bytes(b"the user's own file")
    old = snapshot(old_dir)
    return root, base, old, {**old, **new}


def fresh_old(scene, name: str) -> Path:
    root, _, old, _ = scene
    folder = root / name
    folder.mkdir()
    for file, data in old.items():
        (folder / file).write_bytes(data)
    return folder


STATUS = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}
# journal + 2 old files out + 2 new files in + journal complete + staging removed
COMMIT_OPS = 7


@pytest.mark.parametrize("n", range(1, COMMIT_OPS + 1))
def test_sigterm_at_every_commit_operation(scene, n):
    _, base, old, new = scene
    folder = fresh_old(scene, f"term{n}")
    result = cli(*base, "-o", str(folder), "--strength", "2", "--overwrite", signal_at=f"{n}:SIGTERM")
    state = snapshot(folder)
    assert state in (old, new), n
    assert hidden(folder) == [], n
    if state == old:
        assert result.returncode == 143 and "cancelled (SIGTERM); the output folder is as it was" in result.stderr
    else:
        assert result.returncode in (0, 143)


@pytest.mark.parametrize("name,n", [("SIGINT", 3), ("SIGHUP", 5)])
def test_sigint_and_sighup_during_commit_roll_back(scene, name, n):
    _, base, old, _ = scene
    folder = fresh_old(scene, f"{name}{n}")
    result = cli(*base, "-o", str(folder), "--strength", "2", "--overwrite", signal_at=f"{n}:{name}")
    assert result.returncode == STATUS[name], result.stderr
    assert snapshot(folder) == old and hidden(folder) == []


def test_sigkill_during_commit_is_repaired_by_the_next_render(scene):
    root, base, old, new = scene
    folder = fresh_old(scene, "kill")
    result = cli(*base, "-o", str(folder), "--strength", "2", "--overwrite", signal_at="5:SIGKILL")
    assert result.returncode == -signal.SIGKILL
    assert snapshot(folder) not in (old, new)  # mixed: 2 old files moved out, 1 new moved in
    # the next run touching the folder repairs it first, then does its own work (here: refused, target exists)
    again = cli(*base, "-o", str(folder), "--strength", "2")
    assert again.returncode == 2 and "rolled back an interrupted commit" in again.stderr
    assert snapshot(folder) == old and hidden(folder) == []


def test_seeded_signal_sweep_through_rendering(scene):
    _, base, old, new = scene
    rng = random.Random(15)
    for i in range(2):
        name = rng.choice(["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
        folder = fresh_old(scene, f"sweep{i}")
        proc = cli(*base, "-o", str(folder), "--strength", "2", "--overwrite", popen=True)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(getattr(signal, name))
        proc.communicate(timeout=120)
        if name == "SIGKILL":
            atomic.recover(folder, lambda text: None)
        else:
            # a signal before the handlers are installed (during start-up) ends the process as the signal does
            assert proc.returncode in (0, STATUS[name], -getattr(signal, name)), (name, proc.returncode)
        assert snapshot(folder) in (old, new), (i, name)
        assert hidden(folder) == [], (i, name)
