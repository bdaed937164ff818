"""Writing outputs without ever leaving a half-written file or clobbering a user's file.

- :func:`atomic_output`: one file, written under a hidden temporary name in the same folder and renamed into place.
- :class:`StagedOutputs`: many files (a frame sequence) staged in a hidden folder and moved into place only when all of
  them are complete; on error or cancel the staging folder is removed and the target folder is as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import OutputError


def _check_writable_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror}). "
                          "Choose a folder you can write to.") from None
    if not folder.is_dir():
        raise OutputError(f"{folder}: exists but is not a folder. Choose another output path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: the output folder is not writable. Choose a folder you can write to, "
                          "or fix its permissions.")


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Raise :class:`OutputError` naming the first existing path unless ``overwrite``."""
    if overwrite:
        return
    existing = [p for p in paths if p.exists()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputError(f"{existing[0]}: already exists{more}; nothing was written. "
                          "Pass --overwrite to replace it, or choose another output folder.")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any error delete it.

    The temporary name keeps the suffix so format-sniffing writers (Pillow, OpenEXR) still see ``.png`` / ``.exr``.
    """
    path = Path(path)
    _check_writable_dir(path.parent)
    refuse_existing([path], overwrite)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{path}: the writer produced no file")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class StagedOutputs:
    """A transaction over many output files in one folder.

    Files are written to ``stage_path(name)`` inside a hidden staging folder next to the targets; :meth:`commit` moves
    them all into place (refusing, before moving anything, if a target appeared meanwhile and overwrite is off);
    :meth:`abort` (also on an exception inside ``with``) deletes the staging folder so nothing half-written remains.
    """

    def __init__(self, folder: str | os.PathLike, overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.overwrite = overwrite
        _check_writable_dir(self.folder)
        self.stage = Path(tempfile.mkdtemp(prefix=".image-dynamics-staging-", dir=self.folder))
        self.names: list[str] = []

    def stage_path(self, name: str) -> Path:
        """Where to write the file that will become ``folder / name``."""
        self.names.append(name)
        return self.stage / name

    def commit(self) -> list[Path]:
        targets = [self.folder / n for n in self.names]
        refuse_existing(targets, self.overwrite)
        for name, target in zip(self.names, targets):
            os.replace(self.stage / name, target)
        shutil.rmtree(self.stage, ignore_errors=True)
        return targets

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
