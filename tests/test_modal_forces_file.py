"""The forces-file reader never crashes: valid files give forces, anything else one line naming the file and field.

The fuzz tests start from the small committed corpus in tests/data/forces/ and mutate it (bytes, and JSON values
swapped into real forces); hypothesis runs derandomized so every run checks the same inputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from image_dynamics import modal
from image_dynamics.errors import InputError

CORPUS = Path(__file__).parent / "data" / "forces"
SEEDS = {path.name: path.read_bytes() for path in sorted(CORPUS.glob("*.json"))}
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def check_outcome(read) -> None:
    """``read()`` returns valid forces or raises InputError of one line; anything else fails the test."""
    try:
        forces = read()
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 400, message
        return
    assert isinstance(forces, list)
    for force in forces:
        assert isinstance(force, modal.Force)
        values = [*force.force, force.time, force.duration, force.radius, *(force.at or ()),
                  *(v for knot in force.curve for v in knot)]
        assert all(isinstance(v, float) and math.isfinite(v) for v in values)
        assert force.time >= 0 and force.duration >= 0 and force.radius >= 0
        assert not force.curve or force.duration > 0


def test_the_corpus_reads_as_documented(tmp_path):
    poke = modal.read_forces(CORPUS / "poke.json")
    assert poke == [modal.Force((12.0, -4.0), (120.0, 80.0))]
    assert poke[0].is_impulse
    gust = modal.read_forces(CORPUS / "gust.json")[0]
    assert gust.curve == ((0.0, 0.0), (0.4, 1.0), (1.2, 0.6), (2.0, 0.0)) and gust.duration == 2.0
    assert gust.radius == 24.0 and gust.time == 0.5
    several = modal.read_forces(CORPUS / "several.json")
    assert [f.at for f in several] == [(10.5, 20.25), (100.0, 60.0), None]
    assert modal.read_forces(CORPUS / "empty.json") == []
    with pytest.raises(InputError, match=r"bad_types.json: force 0 'force': must be a finite number"):
        modal.read_forces(CORPUS / "bad_types.json")


@pytest.mark.parametrize("text, words", [
    ("{\"force\": [1, 2]}", ["must be a JSON list", "an object"]),
    ("[{\"force\": [1, 2], \"durration\": 2}]", ["force 0", "unknown key \"durration\""]),
    ("[{\"at\": [1, 2]}]", ["force 0", "missing 'force'"]),
    ("[{\"force\": [1, 2, 3]}]", ["'force'", "pair"]),
    ("[{\"force\": [1, 2], \"time\": -0.5}]", ["'time'", ">= 0"]),
    ("[{\"force\": [1, 2], \"curve\": [[0, 1], [1, NaN]]}]", ["'curve' point 1", "finite"]),
    ("[{\"force\": [1, 2]}, 7]", ["force 1", "must be an object"]),
    ("[{\"force\": [1, 2]", ["not valid JSON", "line 1"]),
    ("[" * 100000 + "]" * 100000, ["JSON"]),
    ("[{\"force\": [1, 2], \"time\": 1" + "0" * 5000 + "}]", ["forces"]),
])
def test_bad_files_are_one_line(tmp_path, text, words):
    path = tmp_path / "forces.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        modal.read_forces(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message


def test_missing_binary_and_folder(tmp_path):
    for path, word in ((tmp_path / "none.json", "not found"), (tmp_path, "cannot read")):
        with pytest.raises(InputError, match=word):
            modal.read_forces(path)
    binary = tmp_path / "forces.bin"
    binary.write_bytes(b"\xff\xfe\x00[1]")
    with pytest.raises(InputError, match="UTF-8"):
        modal.read_forces(binary)


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_fuzz_mutated_bytes(tmp_path, seed, data):
    raw = bytearray(SEEDS[seed])
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        position = data.draw(st.integers(0, len(raw)), label="position")
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="action")
        byte = data.draw(st.sampled_from(list(b"[]{}\",:.-+eE0123456789 truefalsnNaI\x00\xff")), label="byte")
        if action == "insert" or not raw or position == len(raw):
            raw.insert(position, byte)
        elif action == "replace":
            raw[position] = byte
        else:
            del raw[position]
    path = tmp_path / "fuzz.json"
    path.write_bytes(bytes(raw))
    check_outcome(lambda: modal.read_forces(path))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 400, 10 ** 400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(seed=st.sampled_from(sorted(name for name in SEEDS if name != "bad_types.json")), data=st.data())
def test_fuzz_values_swapped_into_real_forces(seed, data):
    forces = json.loads(SEEDS[seed])
    if not forces:
        forces = [{"force": [1, 0]}]
    item = forces[data.draw(st.integers(0, len(forces) - 1), label="force")]
    key = data.draw(st.sampled_from([*modal.FORCE_KEYS, "extra"]), label="key")
    item[key] = data.draw(JSON_VALUES, label="value")
    check_outcome(lambda: modal.forces_from_json(forces, "fuzz.json"))
    check_outcome(lambda: modal.forces_from_json(data.draw(JSON_VALUES, label="whole"), "fuzz.json"))
