"""The user's own detection data: a folder of images with boxes, in one of three common layouts.

- Edge Impulse: `bounding_boxes.labels`, JSON {"version": 1, "type": "bounding-box-labels",
  "boundingBoxes": {"<image file>": [{"label", "x", "y", "width", "height"}, ...]}} (pixels,
  x/y the top-left corner).
- COCO: one `*.json` with "images" [{"id", "file_name"}], "annotations" [{"image_id",
  "category_id", "bbox": [x, y, width, height]}] (pixels) and "categories" [{"id", "name"}].
- YOLO: beside each image a `.txt` with lines `class x_center y_center width height`, all but the
  class relative to the image (0..1); class names in `classes.txt` (one a line) or, without it,
  class k is the lab's label k + 1.

Images are resized to the lab's input (boxes scaled with them) and turned into FOMO grids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from kit.data.detection import Box, _split_names, boxes_to_grid
from kit.data.raw import RawData
from kit.data.spec import LabSpec
from kit.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
EI_FILE = "bounding_boxes.labels"
# A box in source pixels: (label name, x0, y0, x1, y1)
SourceBox = tuple[str, float, float, float, float]


def _fail(where: str, problem: str, fix: str) -> DataError:
    return DataError(f"{where}: {problem}", hint=fix)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(str(path), f"is not readable JSON ({error})", "fix or re-export the annotation file") from error


def _number(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"'{field}' is {value!r}, not a number", f"give '{field}' in pixels as a number")
    return float(value)


def read_edge_impulse(path: Path) -> dict[str, list[SourceBox]]:
    data = _read_json(path)
    boxes = data.get("boundingBoxes") if isinstance(data, dict) else None
    if not isinstance(boxes, dict):
        raise _fail(str(path), "has no \"boundingBoxes\" object",
                    "export the data from Edge Impulse as object detection (bounding_boxes.labels)")
    out: dict[str, list[SourceBox]] = {}
    for name, entries in boxes.items():
        if not isinstance(entries, list):
            raise _fail(f"{path} entry '{name}'", "is not a list of boxes", "give each image a list of boxes")
        out[name] = []
        for index, entry in enumerate(entries):
            where = f"{path} entry '{name}' box {index}"
            if not isinstance(entry, dict) or "label" not in entry:
                raise _fail(where, "has no \"label\"", "give every box label, x, y, width, height")
            x, y = _number(entry.get("x"), where, "x"), _number(entry.get("y"), where, "y")
            w, h = _number(entry.get("width"), where, "width"), _number(entry.get("height"), where, "height")
            out[name].append((str(entry["label"]), x, y, x + w, y + h))
    return out


def read_coco(path: Path) -> dict[str, list[SourceBox]]:
    data = _read_json(path)
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        raise _fail(str(path), "is not a COCO file (it needs \"images\", \"annotations\" and \"categories\" lists)",
                    "export the boxes as COCO JSON")
    try:
        names = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        files = {int(i["id"]): str(i["file_name"]) for i in data["images"]}
    except (KeyError, TypeError, ValueError) as error:
        raise _fail(str(path), f"has a category or image without id/name/file_name ({error})",
                    "give every category an id and name and every image an id and file_name") from error
    out: dict[str, list[SourceBox]] = {name: [] for name in files.values()}
    for index, ann in enumerate(data["annotations"]):
        where = f"{path} annotations[{index}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in files or ann.get("category_id") not in names:
            raise _fail(where, "names an image_id or category_id that is not in the file",
                        "make every annotation point at a listed image and category")
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise _fail(where, f"bbox is {bbox!r}, not [x, y, width, height]", "give bbox as [x, y, width, height] in pixels")
        x, y, w, h = (_number(v, where, "bbox") for v in bbox)
        out[files[ann["image_id"]]].append((names[ann["category_id"]], x, y, x + w, y + h))
    return out


def read_yolo(source: Path, images: list[Path], labels: list[str]) -> dict[str, list[tuple[str, float, float, float, float]]]:
    """Relative YOLO boxes (label, x0, y0, x1, y1 in 0..1) per image name; an image without a .txt has none."""
    classes_file = source / "classes.txt"
    names = ([line.strip() for line in classes_file.read_text().splitlines() if line.strip()]
             if classes_file.is_file() else labels[1:])
    out: dict[str, list[SourceBox]] = {}
    for image in images:
        text_file = image.with_suffix(".txt")
        out[image.name] = []
        if not text_file.is_file():
            continue
        for number, line in enumerate(text_file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{text_file} line {number}"
            parts = line.split()
            try:
                values = [float(v) for v in parts[1:]]
                cls = int(parts[0])
            except (ValueError, IndexError):
                values, cls = [], -1
            if len(parts) != 5 or len(values) != 4:
                raise _fail(where, f"'{line.strip()}' is not 'class x_center y_center width height'",
                            "write five numbers per box: an integer class, then relative centre and size")
            if not 0 <= cls < len(names):
                raise _fail(where, f"class {parts[0]} is not one of 0..{len(names) - 1}",
                            "list the class names in classes.txt, one a line, in the order of the ids")
            if not all(0.0 <= v <= 1.0 for v in values):
                raise _fail(where, "coordinates must be relative to the image (between 0 and 1)",
                            "divide x and width by the image width, y and height by its height")
            xc, yc, w, h = values
            out[image.name].append((names[cls], xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2))
    return out


def _annotations(source: Path, images: list[Path], labels: list[str]) -> tuple[str, dict[str, list[SourceBox]]]:
    if (source / EI_FILE).is_file():
        return "edge-impulse", read_edge_impulse(source / EI_FILE)
    coco = sorted(source.glob("*.json"))
    if len(coco) == 1:
        return "coco", read_coco(coco[0])
    if len(coco) > 1:
        raise _fail(str(source), f"holds {len(coco)} JSON files", "keep exactly one COCO annotation file in the folder")
    if any(image.with_suffix(".txt").is_file() for image in images):
        return "yolo", read_yolo(source, images, labels)
    raise _fail(str(source), "has no boxes (no bounding_boxes.labels, COCO .json or YOLO .txt files)",
                f"add boxes in one of these formats; classes: {', '.join(labels[1:])}")


def _load_image(path: Path, size: tuple[int, int], grayscale: bool) -> tuple[np.ndarray, tuple[int, int]]:
    try:
        with Image.open(path) as image:
            original = image.size
            converted = image.convert("L" if grayscale else "RGB").resize((size[1], size[0]), Image.BILINEAR)
    except (OSError, UnidentifiedImageError) as error:
        raise _fail(str(path), f"is not a readable image ({error})", "replace or remove the file") from error
    pixels = np.asarray(converted, np.uint8)
    return (pixels[..., None] if grayscale else pixels), original


def read_detection_folder(spec: LabSpec, source: Path, seed: int,
                          progress: Callable[[int, int], None] | None = None) -> RawData:
    """Images and their boxes from `source` -> RawData with FOMO grids as y."""
    images = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not images:
        raise _fail(str(source), "holds no .png/.jpg/.jpeg images", "put the images and their boxes in one folder")
    layout, boxes = _annotations(source, images, spec.labels)
    by_name = {p.name: p for p in images}
    missing = sorted(set(boxes) - set(by_name))
    if missing:
        raise _fail(str(source), f"boxes name image(s) not in the folder: {', '.join(missing[:3])}",
                    "copy those images next to the annotations or drop their entries")
    height, width = [int(v) for v in spec.dataset.get("image_size", [96, 96])]
    grayscale = int(spec.features.get("channels", 1)) == 1
    pixels, grids = [], []
    for number, path in enumerate(images):
        image, (src_w, src_h) = _load_image(path, (height, width), grayscale)
        relative = layout == "yolo"
        sx, sy = (width, height) if relative else (width / src_w, height / src_h)
        frame_boxes = []
        for index, (name, x0, y0, x1, y1) in enumerate(boxes.get(path.name, [])):
            if name not in spec.labels[1:]:
                raise _fail(f"{path.name} box {index}", f"label '{name}' is not an object class of lab {spec.name}",
                            f"use one of: {', '.join(spec.labels[1:])}")
            frame_boxes.append(Box(spec.labels.index(name), x0 * sx, y0 * sy, x1 * sx, y1 * sy))
        pixels.append(image)
        grids.append(boxes_to_grid(frame_boxes, (height, width)))
        if progress:
            progress(number + 1, len(images))
    split = _split_names(len(images), np.random.default_rng([seed, 21]), float(spec.dataset.get("validation_fraction", 0.1)),
                         float(spec.dataset.get("test_fraction", 0.2)))
    return RawData(x=np.stack(pixels), y=np.stack(grids), split=split,
                   group=np.asarray([p.name for p in images], dtype=str), info={"annotation_format": layout})
