"""The all-or-nothing commit (atomic.StagedOutputs): signals at every file operation, repair after SIGKILL, stale
staging folders, names, inputs and symbolic links."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from image_dynamics import atomic
from image_dynamics.atomic import STAGE_PREFIX, StagedOutputs, check_file_stem, recover
from image_dynamics.errors import InputError, OutputError

OLD = {"f_0001.png": b"old-1", "f_0002.png": b"old-2", "notes.txt": b"user file"}
NEW = {"f_0001.png": b"new-1", "f_0002.png": b"new-2", "f_0003.png": b"new-3", "f_0004.png": b"new-4"}

# A child process that commits NEW over OLD under cancel_on_signals and exits like the CLI (128 + signal).
CHILD = """
import sys
from pathlib import Path
from image_dynamics import atomic
folder = Path(sys.argv[1])
new = {"f_0001.png": b"new-1", "f_0002.png": b"new-2", "f_0003.png": b"new-3", "f_0004.png": b"new-4"}
try:
    with atomic.cancel_on_signals():
        with atomic.StagedOutputs(folder, overwrite=True, report=lambda t: print("note:", t)) as staged:
            for name, data in new.items():
                staged.stage_path(name).write_bytes(data)
            staged.commit()
except atomic.Interrupted as exc:
    sys.exit(exc.exit_status)
except KeyboardInterrupt:
    sys.exit(130)
print("ops", atomic._FileOps.count)
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every visible file of ``folder`` with its bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def staging_folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(STAGE_PREFIX)]


def prepare(folder: Path) -> None:
    folder.mkdir()
    for name, data in OLD.items():
        (folder / name).write_bytes(data)


def run_child(folder: Path, signal_at: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop(atomic.SIGNAL_AT_ENV, None)
    if signal_at:
        env[atomic.SIGNAL_AT_ENV] = signal_at
    return subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=env, capture_output=True, text=True,
                          timeout=60)


EXPECTED_NEW = {**OLD, **NEW}


def test_commit_replaces_all_and_leaves_no_staging(tmp_path):
    folder = tmp_path / "out"
    prepare(folder)
    result = run_child(folder, None)
    assert result.returncode == 0, result.stderr
    assert snapshot(folder) == EXPECTED_NEW
    assert staging_folders(folder) == []
    # journal, 2 old files out, 4 new files in, journal complete, staging removed
    assert result.stdout.split()[-1] == "9"


@pytest.mark.parametrize("name,status", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_cancel_signal_at_every_operation_leaves_old_or_new(tmp_path, name, status):
    outcomes = set()
    for n in range(1, 10):
        folder = tmp_path / f"{name}-{n}"
        prepare(folder)
        result = run_child(folder, f"{n}:{name}")
        state = snapshot(folder)
        assert state in (OLD, EXPECTED_NEW), (n, state)
        assert staging_folders(folder) == [], n
        if state == OLD:
            assert result.returncode == status, (n, result.returncode, result.stderr)
            outcomes.add("old")
        else:
            assert result.returncode in (0, status), (n, result.returncode, result.stderr)
            outcomes.add("new")
    assert outcomes == {"old", "new"}  # a signal before the journal is complete rolls back, after it keeps the new


def test_sigkill_at_every_operation_is_repaired_by_the_next_run(tmp_path):
    for n in range(1, 10):
        folder = tmp_path / f"kill-{n}"
        prepare(folder)
        result = run_child(folder, f"{n}:SIGKILL")
        assert result.returncode == -signal.SIGKILL
        notes: list[str] = []
        recover(folder, notes.append)
        state = snapshot(folder)
        assert state in (OLD, EXPECTED_NEW), (n, state)
        assert staging_folders(folder) == [], n
        if 2 <= n <= 7:  # killed between the journal and its completion: rolled back, and said so
            assert state == OLD and any("rolled back an interrupted commit of 4 files" in t for t in notes), n


def test_failed_move_rolls_back(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    prepare(folder)
    real = atomic._rename
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 4:
            raise PermissionError(13, "Permission denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(atomic, "_rename", flaky)
    staged = StagedOutputs(folder, overwrite=True)
    for name, data in NEW.items():
        staged.stage_path(name).write_bytes(data)
    with pytest.raises(OutputError, match="cannot be replaced .*nothing was changed"):
        staged.commit()
    assert snapshot(folder) == OLD and staging_folders(folder) == []


def test_existing_target_and_folder_target_refused_before_moving(tmp_path):
    folder = tmp_path / "out"
    prepare(folder)
    with StagedOutputs(folder) as staged:
        staged.stage_path("f_0002.png").write_bytes(b"x")
        with pytest.raises(OutputError, match="f_0002.png: already exists"):
            staged.commit()
    (folder / "f_0009.png").mkdir()
    with StagedOutputs(folder, overwrite=True) as staged:
        staged.stage_path("f_0009.png").write_bytes(b"x")
        with pytest.raises(OutputError, match="is a folder where an output file would go"):
            staged.commit()
    assert (folder / "f_0009.png").is_dir()
    (folder / "f_0009.png").rmdir()
    assert snapshot(folder) == OLD and staging_folders(folder) == []


def test_dangling_symlink_needs_overwrite_and_the_link_is_replaced_not_followed(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.png").symlink_to(tmp_path / "nowhere.png")
    with StagedOutputs(folder) as staged:
        staged.stage_path("a.png").write_bytes(b"new")
        with pytest.raises(OutputError, match="a symbolic link"):
            staged.commit()
    assert (folder / "a.png").is_symlink()
    with StagedOutputs(folder, overwrite=True) as staged:
        staged.stage_path("a.png").write_bytes(b"new")
        staged.commit()
    assert not (folder / "a.png").is_symlink() and (folder / "a.png").read_bytes() == b"new"
    assert not (tmp_path / "nowhere.png").exists()


def test_inputs_are_never_replaced(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    image = folder / "shot_0001.png"
    image.write_bytes(b"input")
    (folder / "link.png").symlink_to(image)
    for name in ("shot_0001.png", "link.png"):
        with StagedOutputs(folder, overwrite=True, inputs=[image]) as staged:
            staged.stage_path(name).write_bytes(b"new")
            with pytest.raises(OutputError, match="would replace the input"):
                staged.commit()
    assert image.read_bytes() == b"input"


@pytest.mark.parametrize("stem", ["../x", "/tmp/x", "a/b", "..", ".hidden", "", "a\\b", "tab\there"])
def test_name_must_be_a_stem(stem):
    with pytest.raises(InputError, match="not a file-name stem"):
        check_file_stem(stem)
    assert check_file_stem("shot 01-final") == "shot 01-final"


def test_stage_path_refuses_paths_and_duplicates(tmp_path):
    with StagedOutputs(tmp_path) as staged:
        with pytest.raises(OutputError, match="not a path"):
            staged.stage_path("../x.png")
        staged.stage_path("a.png")
        with pytest.raises(OutputError, match="written twice"):
            staged.stage_path("a.png")


def _fake_stage(folder: Path, host_tag: str, pid: int, started: float, journal: dict | None = None) -> Path:
    stage = folder / f"{STAGE_PREFIX}{host_tag}-{pid}-abc123"
    (stage / "new").mkdir(parents=True)
    (stage / "old").mkdir()
    (stage / "new" / "0").write_bytes(b"leftover")
    (stage / atomic.OWNER_FILE).write_text(json.dumps({"host": "farm-node-7", "pid": pid, "started": started}))
    if journal is not None:
        (stage / atomic.JOURNAL_FILE).write_text(json.dumps(journal))
    return stage


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_of_this_host_is_removed_and_foreign_ones_are_reported(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    dead = _fake_stage(folder, atomic._host_tag(), _dead_pid(), time.time() - 600)
    foreign = _fake_stage(folder, "0000beef", 4242, time.time() - 7200, {"state": "commit", "targets": []})
    notes: list[str] = []
    with StagedOutputs(folder, report=notes.append) as live:
        live.stage_path("a.png").write_bytes(b"a")
        # a concurrent run (another farm chunk of this host) does not touch the live staging folder
        recover(folder, notes.append)
        assert live.stage.exists()
        live.commit()
    assert not dead.exists()
    assert foreign.exists() and (foreign / "new" / "0").read_bytes() == b"leftover"
    foreign_notes = [t for t in notes if foreign.name in t]
    assert foreign_notes and "process 4242 on host farm-node-7, 2.0 h old with an unfinished commit" in foreign_notes[0]
    assert "not touched" in foreign_notes[0]
    assert (folder / "a.png").read_bytes() == b"a"


def test_reused_pid_does_not_protect_a_stale_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    stage = _fake_stage(folder, atomic._host_tag(), os.getpid(), time.time() - 60)  # our pid, but not our lock
    recover(folder, lambda t: None)
    assert not stage.exists()


def test_stale_temporary_file_of_a_dead_process_is_removed(tmp_path):
    tmp = tmp_path / f"{atomic.TMP_PREFIX}{atomic._host_tag()}-{_dead_pid()}-0a0b0c0d.npz"
    tmp.write_bytes(b"half")
    with atomic.atomic_output(tmp_path / "m.npz") as out:
        out.write_bytes(b"whole")
    assert not tmp.exists() and (tmp_path / "m.npz").read_bytes() == b"whole"
    assert socket.gethostname()  # the host tag is derived from it
