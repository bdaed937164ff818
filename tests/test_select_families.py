"""scripts/select_families.py: the scenes of the kept families are copied in order, unchanged, known masks and ids
with them; a family the dataset does not hold is refused with the list of those it holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from image_dynamics.data.shards import ShardWriter, iter_shards, read_info
from image_dynamics.errors import InputError

from .conftest import load_script

H, W, K = 8, 12, 3


def _script():
    return load_script("select_families")


def _dataset(folder: Path) -> list[str]:
    kinds = ["lake", "garden", "meadow", "garden", "lake", "promenade", "meadow"]
    writer = ShardWriter(folder, W, H, np.linspace(0, 1, K), 30.0, 150, "blender-test", shard_size=3)
    rng = np.random.default_rng(0)
    for i, kind in enumerate(kinds):
        known = (rng.random((H, W)) > 0.3).astype(np.uint8)
        writer.add_channels(np.full((H, W, 3), i, np.uint8), rng.standard_normal((K, 4, H, W)).astype(np.float16),
                            100 + i, kind, known)
    writer.close()
    return kinds


def test_kept_families_are_copied_unchanged_in_order(tmp_path):
    kinds = _dataset(tmp_path / "src")
    assert _script().main([str(tmp_path / "src"), str(tmp_path / "dst"), "--keep", "lake,meadow",
                           "--shard-size", "2"]) == 0
    src = {k: np.concatenate([s[k] for s in iter_shards(read_info(tmp_path / "src"))])
           for k in ("images", "coeffs", "sample_ids", "known")}
    info = read_info(tmp_path / "dst")
    dst = {k: np.concatenate([s[k] for s in iter_shards(info)]) for k in ("images", "coeffs", "sample_ids", "kinds",
                                                                         "known")}
    chosen = [i for i, k in enumerate(kinds) if k in ("lake", "meadow")]
    assert info.count == 4 and "families=lake,meadow" in info.source
    assert list(dst["sample_ids"]) == [100 + i for i in chosen]
    assert [str(k) for k in dst["kinds"]] == [kinds[i] for i in chosen]
    for key in ("images", "coeffs", "known"):
        assert np.array_equal(dst[key], src[key][chosen])


def test_a_family_the_dataset_lacks_is_refused_with_the_ones_it_has(tmp_path):
    _dataset(tmp_path / "src")
    with pytest.raises(InputError, match="holds no scenes of pond.*garden, lake, meadow, promenade"):
        _script().main([str(tmp_path / "src"), str(tmp_path / "dst"), "--keep", "lake,pond"])
    assert not (tmp_path / "dst").exists()
