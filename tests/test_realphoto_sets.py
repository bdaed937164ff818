"""The committed real-photo sets: every label map is the one its script draws from the written polygons (labels are
never changed after a model has seen them, issue 13), and every set loads through the eval-photos reader."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from image_dynamics.realphoto import load_photo_set

from .conftest import load_script

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def sets():
    return load_script("make_realphoto_set").SETS


@pytest.mark.parametrize("name", ["report", "validation", "places"])
def test_committed_labels_are_the_polygons_drawn(sets, name):
    folder_name, views = sets[name]
    draw = load_script("make_realphoto_set").draw_labels
    for view in views:
        committed = cv2.imread(str(DOCS / folder_name / f"{view.name}_labels.png"), cv2.IMREAD_GRAYSCALE)
        assert committed is not None, f"{folder_name}/{view.name}_labels.png is missing"
        np.testing.assert_array_equal(committed, draw(view.regions), err_msg=f"{folder_name}/{view.name}")


def test_places_set_loads_with_moving_and_static_only_views():
    photos = load_photo_set(DOCS / "realphoto_places")
    assert len(photos) == 8
    static_only = sorted(p.name for p in photos if not (p.labels == 255).any())
    assert static_only == ["hall_interior", "platz_street"]
    for photo in photos:
        assert (photo.labels == 128).any(), f"{photo.name} has no static label"


def test_places_refuses_another_panorama(tmp_path, sets):
    script = load_script("make_realphoto_set")
    (tmp_path / "forest_slope_1k.hdr").write_bytes(b"not the file the labels were drawn on")
    with pytest.raises(SystemExit, match="sha256"):
        script.places_panorama(tmp_path, "forest_slope_1k")
    with pytest.raises(SystemExit, match="missing"):
        script.places_panorama(tmp_path, "rooitou_park_1k")
