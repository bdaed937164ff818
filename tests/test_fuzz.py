"""Fuzz tests of every reader of untrusted files: a mutated file is read into validated data or refused with the
project's error and one line, never a traceback. Seeded from tests/fuzz_corpus/ and derandomised, so the suite is
repeatable; ``scripts/fuzz.py --minutes N`` is the long run. All of them together take well under 60 s."""

from __future__ import annotations

import random
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import CORPUS, Chooser, run_case


def fuzz(examples: int) -> settings:
    """Derandomised (the same cases every run), no example database, no deadline (a shared CI machine)."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))


def _one(reader: str, data) -> str:
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_case(reader, Chooser(data), Path(folder))


@fuzz(400)
@given(st.data())
def test_motion_file_reader_never_crashes(data):
    _one("motion", data)


@fuzz(150)
@given(st.data())
def test_cache_entry_unreadable_is_a_miss(data):
    assert _one("cache", data) in ("ok", "miss")


@fuzz(200)
@given(st.data())
def test_model_package_reader_never_crashes(data):
    _one("model", data)


@fuzz(150)
@given(st.data())
def test_mask_reader_never_crashes(data):
    _one("mask", data)


def _messages(reader: str, seeds: range) -> list[str]:
    return [_one(reader, random.Random(seed)) for seed in seeds]


MOTION_CHECKS = [
    "not a readable motion file (BadZipFile",  # truncated, flipped bytes
    "it is a single .npy array",  # a .npy renamed .npz
    "uses zip compression method",  # unsupported zip entries
    "is encrypted",
    "holds Python objects",  # pickled arrays are never loaded
    "would take",  # sizes checked from the npy header before expanding
    "Cannot parse header",  # malformed npy headers
    "missing key(s)",
    "'fps' must be a single number (real), got shape () dtype complex",  # complex fps
    "'fps' must be a positive number",
    "'meta' is nested more than 32 levels deep",  # deeply nested meta
    "'meta' is not valid JSON",
    "meta 'window_frames' must be a whole number",  # non-numeric metadata
    "meta 'decay_s' must be a number of seconds",
    "'coeffs' must be complex",
    "NaN or infinite values",
    "has dtype",
]
MODEL_CHECKS = [
    "corrupt, not valid JSON",
    "missing field(s)",
    "must be an integer from",  # huge and negative integers
    "must be a finite number",
    "'sampler.alphas_cumprod' must decrease strictly within (0, 1)",  # degenerate noise schedule
    "'fps' must be from 0.1 to 1000",
    "must have 'inputs' and 'outputs' name lists",  # wrong types
]


def test_each_fuzzer_reaches_the_named_checks():
    motion = _messages("motion", range(700))
    missed = [check for check in MOTION_CHECKS if not any(check in m for m in motion)]
    assert not missed, f"the motion fuzzer never reached: {missed}"
    assert "ok" in motion  # and some mutations stay valid files

    model = _messages("model", range(250))
    missed = [check for check in MODEL_CHECKS if not any(check in m for m in model)]
    assert not missed, f"the model fuzzer never reached: {missed}"

    cache = _messages("cache", range(60))
    assert {"ok", "miss"} <= set(cache)

    masks = _messages("mask", range(80))
    assert "ok" in masks and any("cannot read this image" in m for m in masks)


def test_corpus_files_are_valid():
    from image_dynamics import io, spectral
    from image_dynamics.model.package import ModelPackage

    assert spectral.load(CORPUS / "motion_small.npz").num_bands == 3
    assert io.read_grayscale(CORPUS / "mask.png").shape == (6, 8)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "model.json").write_bytes((CORPUS / "model.json").read_bytes())
        assert ModelPackage.load(folder, verify=False).num_bands >= 1


@pytest.mark.parametrize("broken", ["huge integer", "wrong type"])
def test_one_broken_package_does_not_hide_healthy_ones(tmp_path, monkeypatch, broken):
    import json

    from image_dynamics.model.package import ModelPackage, ModelPackageError, find_models

    doc = json.loads((CORPUS / "model.json").read_text())
    for name in ("good", "bad"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.json").write_text(json.dumps(doc))
    bad = dict(doc, num_bands=10**400) if broken == "huge integer" else dict(doc, sampler=[1, 2])
    (tmp_path / "bad" / "model.json").write_text(json.dumps(bad))
    monkeypatch.setenv("IMAGE_DYNAMICS_MODELS", str(tmp_path))
    results = {}
    for found in find_models():
        if found.source != "IMAGE_DYNAMICS_MODELS":
            continue
        try:
            results[found.name] = ModelPackage.load(found.path, verify=False).name
        except ModelPackageError as exc:
            results[found.name] = str(exc)
    assert results["good"] == doc["name"]
    assert "must be an integer from 1 to 1024" in results["bad"] or "'sampler' must be an object" in results["bad"]
