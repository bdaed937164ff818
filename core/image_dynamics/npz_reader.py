"""Reading ``.npz`` archives from untrusted files: every size is checked from the headers before anything is expanded.

``numpy.load`` trusts its input: a ``.npy`` renamed ``.npz`` comes back as an array instead of an archive, a member
compressed with a method zipfile cannot expand raises ``NotImplementedError``, a header nested a thousand levels deep
raises ``RecursionError``, and a small compressed member may expand to gigabytes before any check runs. :func:`read`
opens the archive itself, checks each wanted member's zip entry (compression method, declared sizes) and ``.npy``
header (format version, dtype, shape, that the declared size matches the shape) against the caller's limits, and only
then reads the array. Every problem raises the caller's error class with one line.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Exceptions a malformed archive or header can raise from zipfile, zlib and numpy.lib.format.
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, EOFError, SyntaxError, RecursionError,
               MemoryError, OverflowError, NotImplementedError, UnicodeDecodeError, zipfile.BadZipFile,
               zipfile.LargeZipFile, zlib.error)
#: Longest ``.npy`` header read (numpy writes < 200 bytes for the arrays of this project).
MAX_HEADER_BYTES = 4096
SUPPORTED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class Member:
    """What one archive member may hold.

    Attributes:
        kinds: allowed dtype kinds (``numpy.dtype.kind``: ``'f'`` float, ``'c'`` complex, ``'i'``/``'u'`` integers,
            ``'U'`` text).
        ndim: required number of dimensions, or ``None`` for any.
        max_bytes: largest expanded size in bytes.
        required: whether the member must be present.
    """

    kinds: str
    ndim: int | None
    max_bytes: int
    required: bool = True


class _Fail(Exception):
    """Internal: a problem described in plain words; :func:`read` turns it into the caller's error."""


def _header(fh, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise _Fail(f"'{name}' has an unsupported .npy format version {version}")
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = reader(fh, max_header_size=MAX_HEADER_BYTES)
    return tuple(int(n) for n in shape), bool(fortran), np.dtype(dtype)


def read(path: str | os.PathLike, members: Mapping[str, Member], error: type[Exception],
         fix: str, what: str = ".npz archive") -> dict[str, np.ndarray]:
    """Read the ``members`` of the ``.npz`` at ``path`` after checking each against its :class:`Member` limits.

    Returns ``{name: array}`` for the members present (missing optional ones are left out). Raises ``error`` with
    ``"<path>: <what is wrong>. <fix>"`` for anything malformed: not a zip archive, a missing required member, an
    unsupported compression method, an unreadable or deeply nested header, an object dtype, a dtype or number of
    dimensions the member does not allow, a size above its limit or one that does not match the zip entry.
    ``what`` names the kind of file in messages ("not a readable motion file").
    """
    path = Path(path)

    def fail(what: str) -> Exception:
        return error(f"{path}: {what}. {fix}")

    try:
        with open(path, "rb") as probe:
            magic = probe.read(6)
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror})") from None
    if magic == b"\x93NUMPY":
        raise fail(f"not a readable {what}: it is a single .npy array, not an .npz archive of named arrays")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = {info.filename: info for info in archive.infolist()}
            out: dict[str, np.ndarray] = {}
            missing = [k for k, m in members.items() if m.required and f"{k}.npy" not in entries]
            if missing:
                raise _Fail(f"missing key(s) {', '.join(missing)} (the file holds "
                            f"{', '.join(sorted(e.removesuffix('.npy') for e in entries)) or 'nothing'})")
            for key, spec in members.items():
                info = entries.get(f"{key}.npy")
                if info is None:
                    continue
                out[key] = _read_member(archive, info, key, spec, what)
            return out
    except _Fail as exc:
        raise fail(str(exc)) from None
    except READ_ERRORS as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise fail(f"not a readable {what} ({type(exc).__name__}: {text}); it may be truncated or another "
                   "kind of file") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, spec: Member, what: str) -> np.ndarray:
    if info.compress_type not in SUPPORTED_COMPRESSION:
        raise _Fail(f"'{key}' uses zip compression method {info.compress_type}; only stored and deflated are read")
    if info.flag_bits & 0x1:
        raise _Fail(f"'{key}' is encrypted")
    if info.file_size > spec.max_bytes + MAX_HEADER_BYTES:
        raise _Fail(f"'{key}' expands to {info.file_size} bytes; at most {spec.max_bytes} are read")
    with archive.open(info) as fh:
        shape, fortran, dtype = _header(fh, key)
        if dtype.hasobject:
            raise _Fail(f"not a readable {what}: '{key}' holds Python objects (pickled data), which are never loaded")
        if dtype.kind not in spec.kinds or dtype.fields is not None or dtype.subdtype is not None:
            raise _Fail(f"'{key}' has dtype {dtype.str}, which is not allowed here")
        if spec.ndim is not None and len(shape) != spec.ndim:
            raise _Fail(f"'{key}' must have {spec.ndim} dimensions, got shape {list(shape)}")
        if any(n < 0 for n in shape):
            raise _Fail(f"'{key}' has a negative size in shape {list(shape)}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > spec.max_bytes:
            raise _Fail(f"'{key}' of shape {list(shape)} would take {nbytes} bytes; at most {spec.max_bytes} are read")
        if nbytes > info.file_size:
            raise _Fail(f"'{key}' declares shape {list(shape)} ({nbytes} bytes) but its entry holds only "
                        f"{info.file_size} bytes; the file is truncated or altered")
        data = fh.read(nbytes + 1)
    if len(data) != nbytes:
        raise _Fail(f"'{key}' holds {len(data)} bytes of data, its header says {nbytes}")
    array = np.frombuffer(data, dtype=dtype)
    if fortran and len(shape) > 1:
        array = array.reshape(shape[::-1]).transpose()
    else:
        array = array.reshape(shape)
    return np.array(array, dtype=dtype.newbyteorder("=") if dtype.kind != "U" else dtype)
