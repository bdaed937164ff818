"""Writing outputs all or nothing: an output folder holds either its old files or the complete new set.

- :class:`StagedOutputs`: many files (frame sequences, videos, displacement maps, a motion file beside them) are
  written into a hidden staging folder next to their targets and moved into place by :meth:`StagedOutputs.commit`.
- :func:`atomic_output`: one file, written under a hidden temporary name beside it and renamed into place.

The commit is a journal, so that it can be finished or undone whatever interrupts it:

1. every new file is complete in ``<stage>/new/``; the journal ``<stage>/journal.json`` lists the targets (written to
   a temporary name, flushed to disk and renamed, so it is either absent or complete);
2. each existing target is moved into ``<stage>/old/``, then each new file is moved to its target;
3. the journal is marked complete and the staging folder removed.

Every rename is atomic, so the state of each target can be read from where its files are, and rolling back (moving
the new files back into ``new/`` and the old ones back into place) works from any point, also half way through an
earlier roll back. SIGINT, SIGTERM and SIGHUP arriving during a commit are held back until the commit has been rolled
back (the folder is exactly as before), then delivered. After SIGKILL or a power cut the folder may be mixed until the
next run that writes into it: :func:`recover` (called first by every :class:`StagedOutputs` and :func:`atomic_output`)
rolls back each unfinished journal of this host whose process is gone, removes its staging folders, and reports
staging folders of other hosts (a farm's shared folder) with their age without touching them.

A staging folder's name carries a hash of the host name and the process id; ``owner.json`` inside records the host,
PID and start time, and the owning process holds an advisory lock on it, so a process id that was reused is not
mistaken for the owner.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import InputError, OutputError

try:  # POSIX advisory locks tell a live owner from a reused process id; elsewhere the process id alone is checked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

STAGE_PREFIX = ".image-dynamics-staging-"
TMP_PREFIX = ".image-dynamics-tmp-"
OWNER_FILE = "owner.json"
JOURNAL_FILE = "journal.json"
#: Signals that cancel a run; the exit status is 128 + the signal number (130, 143, 129).
CANCEL_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
#: Test hook: ``"N:SIGNAME"`` sends that signal to this process at the N-th file operation of a commit or roll back
#: (1-based, counted per process), e.g. ``IMAGE_DYNAMICS_SIGNAL_AT=3:SIGKILL``.
SIGNAL_AT_ENV = "IMAGE_DYNAMICS_SIGNAL_AT"

Report = Callable[[str], None]


def _stderr_report(text: str) -> None:
    print(f"image-dynamics: note: {text}", file=sys.stderr)


# ----------------------------------------------------------------------------------------------------------------------
# Signals


class Interrupted(KeyboardInterrupt):
    """A cancel signal (SIGINT, SIGTERM, SIGHUP) arrived; ``signum`` says which (exit status ``128 + signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = int(signum)

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def cancel_on_signals(on_signal: Callable[[int], object] | None = None) -> Iterator[None]:
    """While active, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread (a
    ``KeyboardInterrupt``), so that ``with`` blocks clean up their staging folders as for Ctrl-C. Outside the main
    thread it does nothing (only the main thread may set signal handlers).

    ``on_signal(signum)`` is called first, for a caller whose code in between catches every ``KeyboardInterrupt`` as
    a plain cancel (the add-on's jobs) but must still exit with ``128 + signum``.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise_interrupted(signum: int, frame: object) -> None:
        if on_signal is not None:
            on_signal(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, _raise_interrupted) for s in CANCEL_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _HeldSignals:
    """Cancel signals arriving inside the block are recorded, not acted on; :attr:`pending` says whether one came.

    On leaving, the previous handlers are restored and a recorded signal is delivered again, so the caller sees it
    after the block finished (or rolled back) its file operations.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def pending(self) -> bool:
        return self.received is not None

    def _hold(self, signum: int, frame: object) -> None:
        if self.received is None:
            self.received = signum

    def __enter__(self) -> _HeldSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._hold) for s in CANCEL_SIGNALS}
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}
        if self.received is not None and exc_type is None:
            signal.raise_signal(self.received)


class _FileOps:
    """Counts the file operations of commits and roll backs; the test hook signals this process at the N-th."""

    count = 0

    @classmethod
    def step(cls) -> None:
        cls.count += 1
        spec = os.environ.get(SIGNAL_AT_ENV)
        if not spec:
            return
        at, _, name = spec.partition(":")
        if at.strip().isdigit() and int(at) == cls.count:
            os.kill(os.getpid(), getattr(signal, name.strip() or "SIGINT"))


# ----------------------------------------------------------------------------------------------------------------------
# Checks


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _check_writable_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: exists but is not a folder. Choose another output path.") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror}). "
                          "Choose a folder you can write to.") from None
    if not folder.is_dir():
        raise OutputError(f"{folder}: exists but is not a folder. Choose another output path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: the output folder is not writable. Choose a folder you can write to, "
                          "or fix its permissions.")


def check_file_stem(stem: str, option: str = "--name") -> str:
    """Return ``stem`` if it is a plain file-name stem; raise :class:`InputError` for a path or an empty name.

    A stem never contains a folder separator, is not ``.``/``..``, has no control characters and does not start
    with ``.`` (hidden files and the staging folders' names are reserved).
    """
    bad = (not stem or stem in (".", "..") or "/" in stem or "\\" in stem or stem.startswith(".")
           or any(ord(ch) < 32 for ch in stem) or len(stem.encode("utf-8", "surrogateescape")) > 200)
    if bad:
        raise InputError(f"{option} {stem!r} is not a file-name stem: give a plain name without folders, e.g. "
                         f"{option} shot01 (files go into the -o folder).")
    return stem


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Raise :class:`OutputError` naming the first existing path unless ``overwrite``.

    A symbolic link counts as existing even when it points nowhere (a dangling link is not replaced unasked); with
    ``overwrite`` the link itself is replaced, never the file it points to. A folder is never replaced.
    """
    paths = [Path(p) for p in paths]
    folders = [p for p in paths if p.is_dir() and not p.is_symlink()]
    if folders:
        raise OutputError(f"{folders[0]}: is a folder where an output file would go; nothing was written. "
                          "Move it away or choose another output name.")
    if overwrite:
        return
    existing = [p for p in paths if os.path.lexists(p)]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        link = " (a symbolic link)" if existing[0].is_symlink() else ""
        raise OutputError(f"{existing[0]}: already exists{link}{more}; nothing was written. "
                          "Pass --overwrite to replace it, or choose another output folder.")


def refuse_inputs(targets: Iterable[Path], inputs: Iterable[str | os.PathLike]) -> None:
    """Raise :class:`OutputError` if an output would replace one of the ``inputs`` (same path or same file)."""
    inputs = [Path(p) for p in inputs if p is not None]
    if not inputs:
        return
    resolved = {os.path.realpath(p): p for p in inputs}
    for target in targets:
        target = Path(target)
        real = os.path.realpath(target)
        hit = resolved.get(real) or resolved.get(os.path.abspath(target))
        if hit is None and os.path.lexists(target):
            hit = next((p for p in inputs if p.exists() and _same_file(p, target)), None)
        if hit is not None:
            raise OutputError(f"{target}: would replace the input {hit}; inputs are never overwritten. "
                              "Choose another output folder or --name.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# ----------------------------------------------------------------------------------------------------------------------
# Owners of staging folders


def _process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of process ``pid`` in clock ticks (Linux), to tell a reused process id apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _parse_stage_name(name: str) -> tuple[str, int] | None:
    """``(host tag, pid)`` from a staging or temporary name, ``None`` for a name this module did not make."""
    for prefix in (STAGE_PREFIX, TMP_PREFIX):
        if name.startswith(prefix):
            parts = name[len(prefix):].split("-")
            if len(parts) >= 3 and parts[1].isdigit():
                return parts[0], int(parts[1])
    return None


def _read_owner(stage: Path) -> dict:
    try:
        owner = json.loads((stage / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _describe_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@contextlib.contextmanager
def _owner_gone(stage: Path, pid: int) -> Iterator[bool]:
    """Yield whether the process that made ``stage`` (on this host) is gone; while yielding ``True`` this process
    holds the stage's lock, so no other process repairs it at the same time."""
    lock_path = stage / OWNER_FILE
    if fcntl is None or not lock_path.exists():
        yield not _pid_alive(pid)
        return
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except OSError:
        yield not _pid_alive(pid)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False  # the owner (or another repairing process) holds the lock
            return
        yield True
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------------------------------
# Journal


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` so that ``path`` is either absent (or its old content) or complete."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_journal(stage: Path) -> dict | None:
    try:
        journal = json.loads((stage / JOURNAL_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"state": "unreadable", "targets": []}
    if not isinstance(journal, dict) or not isinstance(journal.get("targets"), list):
        return {"state": "unreadable", "targets": []}
    return journal


def _rename(src: Path, dst: Path) -> None:
    _FileOps.step()
    os.replace(src, dst)


def _remove_tree(stage: Path) -> None:
    _FileOps.step()
    shutil.rmtree(stage, ignore_errors=True)


def _roll_back(stage: Path, targets: list[str]) -> list[str]:
    """Undo a journal's moves: each new file back into ``new/``, each old file back to its target.

    Returns the targets that could not be restored (an error while moving). Works from any intermediate state: a
    target whose staged new file is gone holds the new file; an ``old/`` entry is the file the target had before.
    """
    failed = []
    for index, target_text in enumerate(targets):
        target, new, old = Path(target_text), stage / "new" / f"{index}", stage / "old" / f"{index}"
        try:
            if not os.path.lexists(new) and os.path.lexists(target):
                _rename(target, new)
            if os.path.lexists(old):
                _rename(old, target)
        except OSError:
            failed.append(target_text)
    return failed


def _repair(stage: Path, report: Report | None, why: str) -> None:
    """Finish an unfinished journal of ``stage`` (roll back, or keep a completed one) and remove ``stage``."""
    journal = _read_journal(stage)
    if journal is not None and journal.get("state") == "commit":
        targets = [str(t) for t in journal["targets"]]
        failed = _roll_back(stage, targets)
        if failed:
            if report:
                report(f"{stage.parent}: could not undo an interrupted commit for {failed[0]} ({why}); the staging "
                       f"folder {stage.name} keeps the files; move them back by hand or delete it.")
            return
        if report:
            report(f"{stage.parent}: rolled back an interrupted commit of {len(targets)} files ({why}); "
                   "the folder holds its earlier files again.")
    _remove_tree(stage)


def recover(folder: str | os.PathLike, report: Report | None = _stderr_report) -> None:
    """Repair ``folder`` before anything else writes into it.

    For each staging folder or temporary file of this module in ``folder``: when it was made on this host by a
    process that is gone, an unfinished commit is rolled back and the leftovers are removed; when it belongs to
    another host, ``report`` is told its age and it is left alone (it may belong to a running farm job). Folders of
    live processes on this host (other chunks of a farm render, say) are not touched.
    """
    folder = Path(folder)
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith((STAGE_PREFIX, TMP_PREFIX))]
    except OSError:
        return
    here = _host_tag()
    for entry in entries:
        parsed = _parse_stage_name(entry.name)
        if parsed is None:
            continue
        host, pid = parsed
        path = Path(entry.path)
        is_stage = entry.name.startswith(STAGE_PREFIX) and entry.is_dir(follow_symlinks=False)
        if host != here:
            if report and is_stage:
                owner = _read_owner(path)
                started = owner.get("started")
                age = time.time() - started if isinstance(started, (int, float)) else _mtime_age(path)
                unfinished = " with an unfinished commit (the folder may mix old and new files)" \
                    if (_read_journal(path) or {}).get("state") == "commit" else ""
                report(f"{path}: staging folder of process {pid} on host {owner.get('host', host)!s}, "
                       f"{_describe_age(age)} old{unfinished}; not touched. Once that job has ended, run any "
                       "image-dynamics render into this folder on that host, or delete the folder.")
            continue
        if not is_stage:
            if not _pid_alive(pid):
                with contextlib.suppress(OSError):
                    path.unlink()
            continue
        owner = _read_owner(path)
        if owner.get("proc_start") is not None and _pid_alive(pid) \
                and _process_start_ticks(pid) not in (None, owner["proc_start"]):
            pid = -1  # the id now belongs to another process
        with _owner_gone(path, pid) as gone:
            if gone:
                started = owner.get("started")
                age = time.time() - started if isinstance(started, (int, float)) else _mtime_age(path)
                _repair(path, report, f"left by process {pid if pid > 0 else parsed[1]}, "
                                      f"{_describe_age(age)} ago")


def _mtime_age(path: Path) -> float:
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return 0.0


# ----------------------------------------------------------------------------------------------------------------------
# Single files


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False,
                  inputs: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any error delete it.

    The temporary name keeps the suffix so format-sniffing writers (Pillow, OpenEXR) still see ``.png`` / ``.exr``,
    and carries this host and process so a later run removes it if this process is killed. ``inputs`` are never
    replaced (:func:`refuse_inputs`).
    """
    path = Path(path)
    _check_writable_dir(path.parent)
    recover(path.parent)
    refuse_existing([path], overwrite)
    refuse_inputs([path], inputs)
    tmp = path.with_name(f"{TMP_PREFIX}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{path}: the writer produced no file")
        refuse_existing([path], overwrite)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc.strerror}); nothing was changed.") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# ----------------------------------------------------------------------------------------------------------------------
# Many files


class StagedOutputs:
    """A transaction over many output files, all or nothing.

    Files are written to :meth:`stage_path` inside a hidden staging folder in ``folder``; :meth:`commit` moves them
    all into place through a journal (see the module docstring); :meth:`abort` (also on an exception inside
    ``with``) deletes the staging folder, so the target folder is as it was.

    Args:
        folder: the output folder (created if missing); a staged name is a file in it, or an absolute path on the
            same file system (e.g. a motion file saved beside the frames).
        overwrite: replace existing targets; otherwise an existing target (or a dangling symbolic link) stops the
            commit before anything moves.
        inputs: files that must never be replaced (the input image, motion file, mask).
        report: where notes about repaired or foreign staging folders go (stderr by default).
    """

    def __init__(self, folder: str | os.PathLike, overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike] = (), report: Report | None = _stderr_report) -> None:
        self.folder = Path(folder)
        self.overwrite = overwrite
        self.inputs = [Path(p) for p in inputs if p is not None]
        _check_writable_dir(self.folder)
        recover(self.folder, report)
        self.stage = self.folder / f"{STAGE_PREFIX}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._lock_fd: int | None = None
        try:
            self.stage.mkdir()
            (self.stage / "new").mkdir()
            (self.stage / "old").mkdir()
            owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                     "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "proc_start": _process_start_ticks(os.getpid())}
            # the owner file is locked before it appears, so no other process ever sees it unlocked while we live
            tmp = self.stage / (OWNER_FILE + ".tmp")
            self._lock_fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            if fcntl is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            os.write(self._lock_fd, json.dumps(owner).encode())
            os.replace(tmp, self.stage / OWNER_FILE)
        except OSError as exc:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            shutil.rmtree(self.stage, ignore_errors=True)
            raise OutputError(f"{self.folder}: cannot write into the output folder ({exc.strerror}). "
                              "Choose a folder you can write to, or free some space.") from None
        self.targets: list[Path] = []
        #: True once :meth:`commit` has put the complete new set in place.
        self.targets_in_place = False
        self._done = False

    def stage_path(self, name: str | os.PathLike) -> Path:
        """Where to write the file that will become ``folder / name`` (or ``name`` itself when it is absolute)."""
        name = Path(name)
        if name.is_absolute():
            target = name
        else:
            if len(name.parts) != 1 or name.name in (".", ".."):
                raise OutputError(f"{name}: an output name must be a file name in {self.folder}, not a path.")
            target = self.folder / name
        if any(os.path.abspath(target) == os.path.abspath(t) for t in self.targets):
            raise OutputError(f"{target}: written twice in one output set; choose distinct names.")
        self.targets.append(target)
        return self.stage / "new" / f"{len(self.targets) - 1}{name.suffix}"

    def _staged(self, index: int) -> Path:
        return self.stage / "new" / f"{index}{self.targets[index].suffix}"

    def _check_before_moving(self) -> None:
        """Refuse (nothing moved yet) a missing file, an existing target, an input, a folder or another disk."""
        missing = [t for i, t in enumerate(self.targets) if not self._staged(i).exists()]
        if missing:
            raise OutputError(f"{missing[0]}: the writer produced no file; nothing was changed.")
        refuse_existing(self.targets, self.overwrite)
        refuse_inputs(self.targets, self.inputs)
        stage_dev = self.stage.stat().st_dev
        for target in self.targets:
            parent = target.parent
            _check_writable_dir(parent)
            if parent.stat().st_dev != stage_dev:
                raise OutputError(f"{target}: is on another disk than {self.folder}; an output set must be on one "
                                  "disk to be replaced all at once. Save it into the same folder or disk.")
        # the new files are renamed by index so the journal names them without another listing
        for index in range(len(self.targets)):
            os.replace(self._staged(index), self.stage / "new" / f"{index}")

    def commit(self) -> list[Path]:
        """Move every staged file into place, all or nothing; return the targets.

        Raises :class:`OutputError` (nothing changed) when a target exists and ``overwrite`` is off, would replace an
        input, is a folder, or a move fails; a cancel signal during the moves rolls them back before it is delivered.
        """
        if self._done:
            raise OutputError(f"{self.folder}: this output set was already committed or aborted.")
        try:
            self._check_before_moving()
        except BaseException:
            self.abort()
            raise
        targets = [os.path.abspath(t) for t in self.targets]
        with _HeldSignals() as held:
            _FileOps.step()
            _write_json(self.stage / JOURNAL_FILE, {"state": "commit", "targets": targets})
            error: OSError | None = None
            try:
                for index, target in enumerate(targets):
                    if held.pending:
                        break
                    if os.path.lexists(target):
                        _rename(Path(target), self.stage / "old" / f"{index}")
                for index, target in enumerate(targets):
                    if held.pending:
                        break
                    _rename(self.stage / "new" / f"{index}", Path(target))
            except OSError as exc:
                error = exc
            if error is not None or held.pending:
                failed = _roll_back(self.stage, targets)
                if failed:
                    self._release()
                    raise OutputError(f"{failed[0]}: an interrupted commit could not be undone; the earlier files are "
                                      f"kept in {self.stage}.") from None
                self._cleanup()
                if error is not None:
                    where = error.filename or self.folder
                    raise OutputError(f"{where}: cannot be replaced ({error.strerror}); nothing was changed.") \
                        from None
            else:
                _FileOps.step()
                _write_json(self.stage / JOURNAL_FILE, {"state": "complete", "targets": targets})
                self.targets_in_place = True
                self._cleanup()
        if held.received is not None and not self.targets_in_place:
            raise Interrupted(held.received)  # its handler ignored it, but the commit was undone: say so
        return list(self.targets)

    def _release(self) -> None:
        self._done = True
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def _cleanup(self) -> None:
        _remove_tree(self.stage)
        self._release()

    def abort(self) -> None:
        """Delete the staging folder; nothing in the output folder changes."""
        if self._done:
            return
        with _HeldSignals():
            self._cleanup()

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def __del__(self) -> None:  # a transaction dropped without commit or abort leaves nothing behind
        if not getattr(self, "_done", True):
            with contextlib.suppress(Exception):
                shutil.rmtree(self.stage, ignore_errors=True)
                self._release()
