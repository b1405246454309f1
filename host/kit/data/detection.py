"""Rendered scenes with several objects and their boxes, for the object-detection lab (`scenes-detection`).

FOMO-style training targets: the image is cut into a grid (96x96 at 1/8 -> 12x12) and the cell
that holds a box's centre carries the box's class; every other cell is background (0). The
renderer reuses kit.data.scenes' backgrounds, fruit sprites, distractors and camera effects, and
keeps object centres at least `min_center_distance` apart so two objects never share a cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from kit.data.raw import SPLITS, RawData
from kit.data.scenes import DRAWERS, RENDER, _finish, _paste_shadow, _random_colour, draw_distractor, render_background
from kit.data.spec import LabSpec
from kit.errors import DataError

GRID_STRIDE = 8  # the model's output grid is 1/8 of its input (FOMO cut of MobileNetV2)


@dataclass(frozen=True)
class Box:
    """One object in a frame: class index (1.. = labels[1:]) and its box in output pixels."""

    label: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def center(self) -> tuple[float, float]:
        """(x, y) of the box centre."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def grid_shape(image_size: tuple[int, int], stride: int = GRID_STRIDE) -> tuple[int, int]:
    height, width = image_size
    return height // stride, width // stride


def boxes_to_grid(boxes: list[Box], image_size: tuple[int, int], stride: int = GRID_STRIDE) -> np.ndarray:
    """(rows, cols) int grid: the cell holding each box centre gets the box's class, others 0."""
    rows, cols = grid_shape(image_size, stride)
    height, width = image_size
    grid = np.zeros((rows, cols), np.int64)
    for box in boxes:
        cx, cy = box.center
        col = min(cols - 1, max(0, int(cx * cols / width)))
        row = min(rows - 1, max(0, int(cy * rows / height)))
        grid[row, col] = box.label
    return grid


def _place(canvas: Image.Image, sprite: Image.Image, rng: np.random.Generator, scale: float, rotate: float,
           centers: list[tuple[float, float]], min_distance: float) -> tuple[float, float, float, float] | None:
    """Scale, rotate and paste a sprite whose centre lies in the frame and away from `centers`;
    returns its box (alpha extent) in canvas pixels, or None when no free place was found."""
    size = canvas.size[0]
    side = max(8, int(size * scale))
    sprite = sprite.resize((side, side), Image.BILINEAR).rotate(rotate, resample=Image.BILINEAR, expand=True)
    extent = sprite.getchannel("A").point(lambda v: 255 if v > 96 else 0).getbbox()
    if extent is None:
        return None
    bx0, by0, bx1, by1 = extent
    for _ in range(20):
        cx, cy = rng.uniform(0.04, 0.96, size=2) * size
        if all((cx - px) ** 2 + (cy - py) ** 2 >= min_distance ** 2 for px, py in centers):
            x, y = int(cx - (bx0 + bx1) / 2), int(cy - (by0 + by1) / 2)
            _paste_shadow(canvas, sprite, rng, side, x, y)
            canvas.paste(sprite, (x, y), sprite)
            return (max(0, x + bx0), max(0, y + by0), min(size, x + bx1), min(size, y + by1))
    return None


def render_detection_scene(labels: list[str], rng: np.random.Generator, out_size: int, max_objects: int,
                           min_distance: float, grayscale: bool) -> tuple[np.ndarray, list[Box], str]:
    """One frame with 0..max_objects objects of labels[1:] -> (uint8 HxWxC, boxes, background kind)."""
    size = out_size * RENDER
    canvas, kind = render_background(rng, size)
    for _ in range(int(rng.integers(0, 3))):  # clutter that belongs to no class
        sprite = draw_distractor(rng, 64)
        side = max(8, int(size * rng.uniform(0.15, 0.4)))
        sprite = sprite.resize((side, side), Image.BILINEAR).rotate(rng.uniform(-15, 15), expand=True)
        canvas.paste(sprite, (int(rng.integers(-side // 3, size - side // 2)), int(rng.integers(-side // 3, size - side // 2))), sprite)
    boxes: list[Box] = []
    centers: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(0, max_objects + 1))):
        class_index = int(rng.integers(1, len(labels)))
        scale = rng.uniform(0.22, 0.42)
        placed = _place(canvas, DRAWERS[labels[class_index]](rng, 128), rng, scale, rng.uniform(0, 360), centers,
                        min_distance * RENDER)
        if placed is None:
            continue
        x0, y0, x1, y1 = placed
        boxes.append(Box(class_index, x0 / RENDER, y0 / RENDER, x1 / RENDER, y1 / RENDER))
        centers.append(((x0 + x1) / 2, (y0 + y1) / 2))
    if rng.random() < 0.25:  # an occluder that may hide part of an object
        draw = ImageDraw.Draw(canvas)
        w, h = rng.uniform(0.06, 0.18, size=2) * size
        x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
        draw.rectangle([x, y, x + w, y + h], fill=_random_colour(rng))
    pixels = _finish(canvas, rng, out_size)
    if grayscale:
        pixels = np.asarray(Image.fromarray(pixels).convert("L"))[..., None]
    return pixels, boxes, kind


def detection_labels_ok(spec: LabSpec) -> None:
    """labels[0] is the background; the others must be objects the renderer can draw."""
    unknown = [label for label in spec.labels[1:] if label not in DRAWERS]
    if spec.labels[:1] != ["background"] or unknown:
        raise DataError(f"the scenes-detection generator cannot draw the labels {spec.labels} of lab {spec.name}",
                        hint=f"start the labels with 'background', then objects from {', '.join(sorted(DRAWERS))}")


def _split_names(count: int, rng: np.random.Generator, val_fraction: float, test_fraction: float) -> np.ndarray:
    order = rng.permutation(count)
    n_test, n_val = int(round(count * test_fraction)), int(round(count * val_fraction))
    split = np.full(count, "train", dtype=object)
    split[order[:n_test]] = "test"
    split[order[n_test:n_test + n_val]] = "val"
    return split.astype(str)


def detection_raw(spec: LabSpec, seed: int, fraction: float, progress: Callable[[int, int], None] | None,
                  splits: tuple[str, ...] = SPLITS) -> RawData:
    """Render `images` frames (scaled by `fraction`) with their FOMO grids as y: only those of `splits`."""
    detection_labels_ok(spec)
    ds = spec.dataset
    count = max(10, int(round(int(ds.get("images", 2000)) * fraction)))
    height, width = [int(v) for v in ds.get("image_size", [96, 96])]
    grayscale = int(spec.features.get("channels", 1)) == 1
    max_objects, min_distance = int(ds.get("max_objects", 4)), float(ds.get("min_center_distance", 16))
    split_all = _split_names(count, np.random.default_rng([seed, 21]), float(ds.get("validation_fraction", 0.1)),
                             float(ds.get("test_fraction", 0.2)))
    numbers = [number for number in range(count) if split_all[number] in splits]
    images, grids, kinds, all_boxes = [], [], [], []
    for done, number in enumerate(numbers, start=1):
        rng = np.random.default_rng([seed, 20, number])
        image, boxes, kind = render_detection_scene(spec.labels, rng, height, max_objects, min_distance, grayscale)
        if width != height:
            image = np.asarray(Image.fromarray(image.squeeze()).resize((width, height))).reshape(height, width, -1)
        images.append(image)
        grids.append(boxes_to_grid(boxes, (height, width)))
        kinds.append(kind)
        all_boxes.append([[b.label, round(b.x0, 1), round(b.y0, 1), round(b.x1, 1), round(b.y1, 1)] for b in boxes])
        if progress and (done % 50 == 0 or done == len(numbers)):
            progress(done, len(numbers))
    split = split_all[numbers]
    objects = int(sum(len(b) for b in all_boxes))
    return RawData(x=np.stack(images), y=np.stack(grids), split=split, group=np.asarray(kinds, dtype=str),
                   info={"image_size": [height, width], "grid": list(grid_shape((height, width))), "objects": objects})
