"""Structure-aware fuzzers of every reader of untrusted files (motion .npz, prediction-cache entries, model packages,
masks), shared by tests/test_fuzz.py (a seeded, bounded run in the suite) and scripts/fuzz.py (the long run).

Each fuzzer starts from a valid file of the committed corpus (tests/fuzz_corpus/) and mutates it by structure: the
arrays, dtypes, shapes and JSON of a motion file; the fields of a model.json; the chunks of a PNG; then, sometimes, its
bytes (truncation, flipped bytes, zip header fields). A run passes when every mutated file is either read into
validated data or refused with the project's error class; anything else (a traceback) is a crash.

Mutation choices come from a :class:`Chooser`: a ``random.Random`` (long runs, reproducible by seed) or hypothesis's
``data.draw`` (the suite), so both drive the same mutators.
"""

from __future__ import annotations

import copy
import io as _io
import json
import math
import random
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CORPUS = Path(__file__).parent / "fuzz_corpus"


class Chooser:
    """Where mutation decisions come from: ``random.Random`` or a hypothesis ``data`` object."""

    def __init__(self, source: random.Random | Any) -> None:
        self.source = source

    def integer(self, low: int, high: int) -> int:
        if isinstance(self.source, random.Random):
            return self.source.randint(low, high)
        from hypothesis import strategies as st

        return self.source.draw(st.integers(low, high))

    def choice(self, options: list) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        return self.integer(1, 100) <= percent


# ----------------------------------------------------------------------------------------------------------------------
# Values a hostile file may hold

ODD_NUMBERS = [0, -1, 1, 10**400, -10**400, 2**63, 1e308, -1e308, 1e-308, 5e-324, math.nan, math.inf, -math.inf, 0.5]
ODD_JSON = [None, True, False, "", "text", "1e400", [], {}, [1, 2], {"a": 1}, *ODD_NUMBERS]


def deep(depth: int, kind: str = "list") -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def odd_json(c: Chooser) -> Any:
    pick = c.integer(0, len(ODD_JSON) + 1)
    if pick == len(ODD_JSON):
        return deep(c.choice([40, 200, 5000]), c.choice(["list", "dict"]))
    if pick == len(ODD_JSON) + 1:
        return "x" * c.choice([1000, 100_000])
    return copy.deepcopy(ODD_JSON[pick])


def odd_array(c: Chooser, like: np.ndarray) -> np.ndarray:
    """An array unlike ``like``: another dtype, shape or odd values."""
    how = c.integer(0, 6)
    if how == 0:  # another dtype
        dtype = c.choice([np.complex64, np.complex128, np.float16, np.float32, np.float64, np.int8, np.int64,
                          np.uint16, np.bool_, "U5", "S3", "datetime64[s]", ">f4", ">c8"])
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return like.astype(dtype)
        except (TypeError, ValueError):
            return np.zeros(like.shape, dtype=dtype)
    if how == 1:  # another shape, same dtype
        ndim = c.integer(0, 5)
        shape = tuple(c.choice([0, 1, 2, 3, 7]) for _ in range(ndim))
        return np.ones(shape, dtype=like.dtype)
    if how == 2:  # odd values
        out = like.copy()
        if out.size:
            flat = out.reshape(-1)
            value = c.choice([math.nan, math.inf, -math.inf, 1e38, -1e30, 0.0])
            try:
                flat[c.integer(0, flat.size - 1)] = value
            except (OverflowError, ValueError):
                pass
        return out
    if how == 3:
        return np.array(c.choice(["30", "", "{}", "nan"]))
    if how == 4:
        return np.array([c.choice([30.0, 1e308, -2.0])] * c.integer(0, 3))
    if how == 5:
        return np.array(complex(c.choice([30.0, 0.0]), c.choice([1.0, 0.0])))
    return np.array(c.choice([0, 1, -5, 2**40]), dtype=np.int64)


# ----------------------------------------------------------------------------------------------------------------------
# Motion files (.npz) and cache entries


def motion_arrays() -> dict[str, np.ndarray]:
    with np.load(CORPUS / "motion_small.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def mutate_meta(c: Chooser, text: str) -> str:
    try:
        meta = json.loads(text)
    except ValueError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {"was": meta}
    how = c.integer(0, 4)
    if how == 0:
        meta[c.choice(["window_frames", "decay_s", "format_version", "model", "seed"])] = odd_json(c)
    elif how == 1:
        return json.dumps(odd_json(c))
    elif how == 2:
        return c.choice(["{", "{\"a\": }", "[" * 100_000, "\x00", "{\"decay_s\": NaN}", "{\"window_frames\": 1e999}"])
    elif how == 3:
        meta["nested"] = deep(c.choice([10, 40, 3000]), c.choice(["list", "dict"]))
    else:
        meta.pop(c.choice(list(meta) or ["x"]), None)
    try:
        return json.dumps(meta)
    except (ValueError, RecursionError):
        return "{}"


def mutate_motion_arrays(c: Chooser, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = dict(arrays)
    for _ in range(c.integer(1, 3)):
        key = c.choice(["coeffs", "freqs_hz", "fps", "meta", "flow"])
        how = c.integer(0, 3)
        if how == 0 and key in arrays:
            del arrays[key]
        elif key == "meta" and how in (1, 2):
            arrays["meta"] = np.array(mutate_meta(c, str(arrays.get("meta", np.array("{}")))))
        elif key == "flow" and how == 1:
            coeffs = arrays.get("coeffs", np.zeros((1, 2, 3, 4), np.complex64))
            shape = coeffs.shape[2:] if coeffs.ndim == 4 else (3, 4)
            arrays["flow"] = np.ones((2, *shape), np.float32)
        else:
            arrays[key] = odd_array(c, arrays.get(key, np.zeros(3, np.float32)))
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool) -> bytes:
    buffer = _io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def mutate_zip(c: Chooser, data: bytes) -> bytes:
    """Byte-level damage that keeps (some of) the zip structure: headers, sizes, methods, names, npy headers."""
    how = c.integer(0, 7)
    buf = bytearray(data)
    if how == 0 and buf:
        return bytes(buf[:c.integer(0, len(buf) - 1)])
    if how == 1 and buf:
        for _ in range(c.integer(1, 8)):
            buf[c.integer(0, len(buf) - 1)] = c.integer(0, 255)
        return bytes(buf)
    if how == 2:  # unsupported compression method in every local and central header
        method = c.choice([1, 6, 9, 12, 14, 93, 99])
        for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            start = 0
            while (at := buf.find(sig, start)) >= 0:
                struct.pack_into("<H", buf, at + offset, method)
                start = at + 4
        return bytes(buf)
    if how == 3:  # declared uncompressed size changed in the central directory
        at = buf.find(b"PK\x01\x02")
        if at >= 0:
            struct.pack_into("<I", buf, at + 24, c.choice([0, 1, 2**31, 2**32 - 1]))
        return bytes(buf)
    if how == 4:  # a .npy file renamed .npz
        arrays = motion_arrays()
        out = _io.BytesIO()
        np.save(out, arrays[c.choice(list(arrays))])
        return out.getvalue()
    if how == 5:  # a rewritten .npy header inside a stored archive
        return _with_npy_header(c, data)
    if how == 6:  # an encrypted flag
        at = buf.find(b"PK\x01\x02")
        if at >= 0:
            struct.pack_into("<H", buf, at + 8, 1)
        return bytes(buf)
    return bytes(buf)


def _with_npy_header(c: Chooser, data: bytes) -> bytes:
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, KeyError):
        return data
    name = c.choice(sorted(members))
    header = c.choice([
        "{'descr': '<c8', 'fortran_order': False, 'shape': (100000, 100000, 2, 2), }",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (-1, 2, 3, 4), }",
        "{'descr': '|O', 'fortran_order': False, 'shape': (), }",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 500 + ")" * 500 + ", }",
        "{'descr': '<f8', 'shape': (), }",
        "not a dict at all",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
    ])
    header_bytes = header.encode("latin1")
    pad = 64 - (10 + len(header_bytes) + 1) % 64
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header_bytes) + pad + 1) + header_bytes + b" " * pad + b"\n"
    raw = members[name]
    body = raw[raw.find(b"\n") + 1:] if raw.startswith(b"\x93NUMPY") else raw
    members[name] = blob + body
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n, b in members.items():
            archive.writestr(n, b)
    return out.getvalue()


def mutated_motion_file(c: Chooser) -> bytes:
    arrays = motion_arrays()
    if c.chance(20):  # one metadata field of an otherwise valid file
        meta = json.loads(str(arrays["meta"]))
        meta[c.choice(["window_frames", "decay_s", "format_version"])] = odd_json(c)
        try:
            arrays["meta"] = np.array(json.dumps(meta))
        except (ValueError, RecursionError):
            pass
    elif c.chance(80):
        arrays = mutate_motion_arrays(c, arrays)
    try:
        data = npz_bytes(arrays, compressed=c.chance(50))
    except (ValueError, TypeError):
        data = npz_bytes(motion_arrays(), compressed=True)
    if c.chance(35):
        data = mutate_zip(c, data)
    return data


def check_motion_load(path: Path) -> str:
    """Load ``path`` with :func:`spectral.load`; return ``"ok"`` or the refusal's message. Anything else raises."""
    from image_dynamics import spectral
    from image_dynamics.errors import MotionFileError

    try:
        sv = spectral.load(path)
    except MotionFileError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message, message
        return message
    spectral.validate(sv)
    assert sv.coeffs.dtype == np.complex64 and sv.freqs_hz.dtype == np.float32
    return "ok"


def check_cache_load(path: Path) -> str:
    """A cache entry: :func:`model.cache.load_cached` returns a volume or ``None`` (a miss), never raises."""
    from image_dynamics.model import cache

    key = path.stem
    result = cache.load_cached(key, path.parent)
    if result is None:
        assert not path.exists(), "an unreadable cache entry is removed"
        return "miss"
    return "ok"


# ----------------------------------------------------------------------------------------------------------------------
# Model packages (model.json)


def model_doc() -> dict:
    return json.loads((CORPUS / "model.json").read_text())


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if len(prefix) > 6:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list) and value:
        for i in sorted({0, len(value) - 1}):
            out += _paths(value[i], (*prefix, i))
    return out


def _set(doc: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def mutate_model_doc(c: Chooser, doc: dict) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(c.integer(1, 3)):
        if not isinstance(doc, dict):
            break
        paths = [p for p in _paths(doc) if p]
        path = c.choice(paths)
        how = c.integer(0, 4)
        if how == 0:
            doc = _set(doc, path, None, delete=True)
        elif how == 1:
            doc = _set(doc, path, odd_json(c))
        elif how == 2:  # a degenerate noise schedule
            table = doc["sampler"]["alphas_cumprod"] if isinstance(doc.get("sampler"), dict) and isinstance(
                doc["sampler"].get("alphas_cumprod"), list) else None
            if table:
                n = len(table)
                doc["sampler"]["alphas_cumprod"] = c.choice([[1.0] * n, [0.5] * n, [0.0] * n,
                                                             [i / n for i in range(1, n + 1)], table[::-1],
                                                             table[:-1] + [table[-2]]])
        elif how == 3:  # huge integers where sizes go
            key = c.choice(["num_bands", "window_frames", "opset", "fps"])
            doc[key] = c.choice([10**400, 2**63, 10**9, -3, 0])
            if key == "num_bands" and c.chance(50):
                doc["freqs_hz"] = [0.0] * min(doc[key], 10) if isinstance(doc[key], int) and doc[key] > 0 else []
        else:
            doc = _set(doc, path, deep(c.choice([30, 3000]), c.choice(["list", "dict"])))
    return doc


def mutated_model_json(c: Chooser) -> bytes:
    doc = mutate_model_doc(c, model_doc())
    try:
        text = json.dumps(doc)
    except (ValueError, RecursionError):
        text = "[" * 100_000
    if c.chance(10):
        data = bytearray(text.encode())
        for _ in range(c.integer(1, 5)):
            data[c.integer(0, len(data) - 1)] = c.integer(0, 255)
        return bytes(data)
    return text.encode()


def check_model_load(folder: Path) -> str:
    """Load the package in ``folder`` (without hashing its graphs); return ``"ok"`` or the refusal's message."""
    from image_dynamics.model.package import ModelPackage, ModelPackageError

    try:
        package = ModelPackage.load(folder, verify=False)
    except ModelPackageError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 2000, message[:300]
        return message
    package.summary()
    return "ok"


# ----------------------------------------------------------------------------------------------------------------------
# Masks (images)


def mutated_mask(c: Chooser) -> bytes:
    from PIL import Image

    mode = c.choice(["L", "LA", "RGB", "RGBA", "I;16", "1", "P", "F"])
    w, h = c.integer(1, 9), c.integer(1, 9)
    image = Image.new(mode, (w, h))
    buf = _io.BytesIO()
    fmt = c.choice(["PNG", "TIFF", "BMP"] if mode != "F" else ["TIFF"])
    try:
        image.save(buf, fmt)
    except (OSError, ValueError, KeyError):
        Image.new("L", (w, h)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    if c.chance(60) and data:
        if c.chance(50):
            data = data[:c.integer(0, len(data) - 1)]
        else:
            for _ in range(c.integer(1, 6)):
                data[c.integer(0, len(data) - 1)] = c.integer(0, 255)
    if c.chance(5):  # a huge declared PNG size
        data = bytearray((CORPUS / "mask.png").read_bytes())
        struct.pack_into(">II", data, 16, c.choice([100_000, 2**31 - 1]), c.choice([100_000, 1]))
    return bytes(data)


def check_mask_load(path: Path) -> str:
    from image_dynamics import io
    from image_dynamics.errors import InputError

    try:
        mask = io.read_grayscale(path)
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)
        return str(exc)
    assert mask.dtype == np.float32 and mask.ndim == 2
    return "ok"


# ----------------------------------------------------------------------------------------------------------------------
# One fuzz case of each reader


def run_case(reader: str, c: Chooser, folder: Path) -> str:
    """Make one mutated input for ``reader`` in ``folder`` and read it; returns what the reader said."""
    if reader == "motion":
        path = folder / "m.npz"
        path.write_bytes(mutated_motion_file(c))
        return check_motion_load(path)
    if reader == "cache":
        path = folder / ("0" * 64 + ".npz")
        path.write_bytes(mutated_motion_file(c))
        return check_cache_load(path)
    if reader == "model":
        package = folder / "pkg"
        package.mkdir(exist_ok=True)
        (package / "model.json").write_bytes(mutated_model_json(c))
        return check_model_load(package)
    if reader == "mask":
        path = folder / "mask.png"
        path.write_bytes(mutated_mask(c))
        return check_mask_load(path)
    raise ValueError(reader)


READERS: dict[str, Callable] = {"motion": check_motion_load, "cache": check_cache_load, "model": check_model_load,
                                "mask": check_mask_load}


def write_corpus(folder: Path = CORPUS) -> None:
    """(Re)write the valid seed files of the corpus (the model.json is copied from the shipped default package)."""
    from PIL import Image

    from image_dynamics import spectral

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    coeffs = (rng.normal(size=(3, 2, 4, 5)) + 1j * rng.normal(size=(3, 2, 4, 5))).astype(np.complex64)
    sv = spectral.make(coeffs, spectral.harmonic_freqs(3), 30.0, {"window_frames": 150, "source": "fuzz corpus"},
                       decay_s=2.0)
    spectral.save(sv, folder / "motion_small.npz", overwrite=True)
    Image.fromarray((rng.random((6, 8)) * 255).astype(np.uint8), "L").save(folder / "mask.png")
    shipped = Path(spectral.__file__).parent / "models" / "default" / "model.json"
    (folder / "model.json").write_bytes(shipped.read_bytes())
