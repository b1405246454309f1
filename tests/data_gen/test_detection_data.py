"""Detection data: rendered scenes with FOMO grids, and the user's boxes in Edge Impulse, COCO and
YOLO layouts (real files on disk), with errors that name the file and entry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kit.data.detection import detection_raw
from kit.data.detection_user import read_detection_folder
from kit.data.spec import lab_spec
from kit.errors import DataError

SPEC = lab_spec("object-detection")


def images(folder: Path, names=("a.png", "b.jpg"), size=(192, 96)) -> Path:
    folder.mkdir(exist_ok=True)
    for name in names:
        Image.new("RGB", size, (120, 60, 30)).save(folder / name)
    return folder


def cells(grid: np.ndarray) -> set[tuple[int, int, int]]:
    return {(int(r), int(c), int(grid[r, c])) for r, c in zip(*np.nonzero(grid))}


def test_rendered_scenes_have_grids_with_objects_and_grayscale_frames():
    raw = detection_raw(SPEC, seed=0, fraction=0.01, progress=None)
    assert raw.x.shape == (24, 96, 96, 1) and raw.x.dtype == np.uint8
    assert raw.y.shape == (24, 12, 12) and set(np.unique(raw.y)) <= {0, 1, 2}
    assert raw.info["objects"] == int(np.count_nonzero(raw.y)) > 10  # one cell per object
    assert set(raw.split) == {"train", "val", "test"}


def test_edge_impulse_layout(tmp_path):
    folder = images(tmp_path / "ei")
    (folder / "bounding_boxes.labels").write_text(json.dumps({"version": 1, "type": "bounding-box-labels",
        "boundingBoxes": {"a.png": [{"label": "apple", "x": 0, "y": 0, "width": 20, "height": 10}],
                          "b.jpg": [{"label": "banana", "x": 150, "y": 60, "width": 40, "height": 30}]}}))
    raw = read_detection_folder(SPEC, folder, seed=0)
    assert raw.info["annotation_format"] == "edge-impulse"
    # 192x96 -> 96x96: x halves. apple centre (10, 5) -> (5, 5): cell (0, 0); banana (170, 75) -> (85, 75): (9, 10)
    assert cells(raw.y[0]) == {(0, 0, 1)} and cells(raw.y[1]) == {(9, 10, 2)}


def test_coco_layout(tmp_path):
    folder = images(tmp_path / "coco")
    (folder / "annotations.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 192, "height": 96}, {"id": 2, "file_name": "b.jpg"}],
        "categories": [{"id": 7, "name": "banana"}, {"id": 3, "name": "apple"}],
        "annotations": [{"image_id": 2, "category_id": 7, "bbox": [96, 40, 32, 16]},
                        {"image_id": 2, "category_id": 3, "bbox": [0, 80, 16, 16]}]}))
    raw = read_detection_folder(SPEC, folder, seed=0)
    assert cells(raw.y[0]) == set() and cells(raw.y[1]) == {(6, 7, 2), (11, 0, 1)}


def test_yolo_layout_with_and_without_classes_file(tmp_path):
    folder = images(tmp_path / "yolo")
    (folder / "a.txt").write_text("1 0.5 0.5 0.1 0.2\n\n0 0.95 0.05 0.05 0.05\n")
    raw = read_detection_folder(SPEC, folder, seed=0)
    assert raw.info["annotation_format"] == "yolo"
    assert cells(raw.y[0]) == {(6, 6, 2), (0, 11, 1)} and cells(raw.y[1]) == set()
    (folder / "classes.txt").write_text("banana\napple\n")
    assert cells(read_detection_folder(SPEC, folder, seed=0).y[0]) == {(6, 6, 1), (0, 11, 2)}


@pytest.mark.parametrize("line, message", [
    ("0 0.5 0.5 0.1", "a.txt line 2: '0 0.5 0.5 0.1' is not 'class x_center"),
    ("5 0.5 0.5 0.1 0.1", "a.txt line 2: class 5 is not one of 0..1"),
    ("0 50 40 10 10", "a.txt line 2: coordinates must be relative"),
])
def test_bad_yolo_lines_name_file_and_line(tmp_path, line, message):
    folder = images(tmp_path / "yolo")
    (folder / "a.txt").write_text(f"0 0.5 0.5 0.1 0.1\n{line}\n")
    with pytest.raises(DataError) as error:
        read_detection_folder(SPEC, folder, seed=0)
    assert message in error.value.message and error.value.hint


def test_bad_edge_impulse_and_coco_entries(tmp_path):
    folder = images(tmp_path / "ei")
    labels = folder / "bounding_boxes.labels"
    labels.write_text(json.dumps({"boundingBoxes": {"a.png": [{"label": "apple", "x": "3", "y": 0, "width": 1, "height": 1}]}}))
    with pytest.raises(DataError, match=r"entry 'a.png' box 0: 'x' is '3', not a number"):
        read_detection_folder(SPEC, folder, seed=0)
    labels.write_text(json.dumps({"boundingBoxes": {"a.png": [{"label": "pear", "x": 3, "y": 0, "width": 1, "height": 1}]}}))
    with pytest.raises(DataError, match="label 'pear' is not an object class"):
        read_detection_folder(SPEC, folder, seed=0)
    labels.write_text("{not json")
    with pytest.raises(DataError, match="is not readable JSON"):
        read_detection_folder(SPEC, folder, seed=0)
    coco = images(tmp_path / "coco")
    (coco / "c.json").write_text(json.dumps({"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "apple"}],
                                             "annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]}))
    with pytest.raises(DataError, match=r"annotations\[0\]: bbox is \[1, 2, 3\]"):
        read_detection_folder(SPEC, coco, seed=0)
    empty = images(tmp_path / "none")
    with pytest.raises(DataError, match="has no boxes") as error:
        read_detection_folder(SPEC, empty, seed=0)
    assert "apple, banana" in error.value.hint
