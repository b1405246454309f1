"""Procedurally rendered 96x96 camera frames for the vision labs (`scenes-rendered`).

Each frame is a random room-like background (gradient wall, textured table, floor lines,
tiles), then the class's objects (fruit or a person) at a random scale, position and rotation,
distractors that belong to no class, an occluder, uneven lighting, sensor noise and blur.
Variety is what makes a model trained on it learn shapes and colours rather than pixels.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from kit.data.raw import SPLITS, RawData, stratified_splits
from kit.data.spec import LabSpec
from kit.errors import DataError

RENDER = 2  # draw at 2x and downsample: cheap anti-aliasing
NEGATIVE_LABELS = ("background", "no_person", "nothing", "none")
OBJECT_LABELS = ("apple", "banana", "potato", "person")
BACKGROUNDS = ("gradient", "table", "floor", "tiles", "texture")

Colour = tuple[int, int, int]


def _jitter(rng: np.random.Generator, colour: Colour, amount: int = 20) -> Colour:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)  # type: ignore[return-value]


def _random_colour(rng: np.random.Generator, lo: int = 30, hi: int = 230) -> Colour:
    return tuple(int(v) for v in rng.integers(lo, hi, size=3))  # type: ignore[return-value]


def _gradient(size: int, top: Colour, bottom: Colour, vertical: bool) -> np.ndarray:
    t = np.linspace(0, 1, size, dtype=np.float32)
    line = np.asarray(top, np.float32) * (1 - t[:, None]) + np.asarray(bottom, np.float32) * t[:, None]
    return np.repeat(line[:, None, :], size, axis=1) if vertical else np.repeat(line[None, :, :], size, axis=0)


def render_background(rng: np.random.Generator, size: int) -> tuple[Image.Image, str]:
    """A plausible backdrop: wall gradient, table top with grain, floor with lines, tiles or texture."""
    kind = str(rng.choice(BACKGROUNDS))
    wall, other = _random_colour(rng, 60, 235), _random_colour(rng, 40, 220)
    pixels = _gradient(size, wall, _jitter(rng, wall, 40), bool(rng.random() < 0.7))
    if kind == "table":
        edge = int(size * rng.uniform(0.25, 0.6))
        wood = np.asarray(_jitter(rng, (150, 105, 60), 50), float)
        grain = np.sin(np.arange(size)[:, None] * rng.uniform(0.1, 0.4) + rng.normal(0, 1.5, (1, size))) * 12
        pixels[edge:] = wood + grain[edge:, :, None]
        pixels[edge:edge + max(1, size // 96)] *= 0.6
    elif kind == "floor":
        horizon = int(size * rng.uniform(0.35, 0.7))
        pixels[horizon:] = _gradient(size, other, _jitter(rng, other, 30), True)[horizon:]
        vanish_x = rng.uniform(0, size)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        line = _jitter(rng, tuple(int(c * 0.6) for c in other), 10)
        for x in np.linspace(-size, 2 * size, int(rng.integers(4, 10))):
            draw.line([(vanish_x, horizon), (x, size)], fill=line, width=max(1, size // 96))
        pixels = np.asarray(image, float)
    elif kind == "tiles":
        step = int(rng.integers(size // 8, size // 3))
        yy, xx = np.mgrid[0:size, 0:size]
        checker = ((yy // step + xx // step) % 2)[..., None]
        pixels = pixels * (1 - 0.15 * checker)
        pixels[(yy % step < max(1, size // 96)) | (xx % step < max(1, size // 96))] *= 0.7
    elif kind == "texture":
        coarse = rng.normal(0, 25, (8, 8, 3))
        noise = np.asarray(Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8)).resize((size, size), Image.BICUBIC), float) - 128
        pixels = pixels + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), kind


def _layer(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    return layer, ImageDraw.Draw(layer)


def draw_apple(rng: np.random.Generator, size: int) -> Image.Image:
    """Round red, green or yellow-red fruit with darker rim, highlight, stem and sometimes a leaf."""
    layer, draw = _layer(size)
    base = [(190, 30, 35), (120, 180, 50), (200, 60, 40), (150, 20, 30)][int(rng.integers(4))]
    base = _jitter(rng, base, 25)
    m = size * 0.12
    for step in range(6):
        shade = tuple(int(c * (0.7 + 0.06 * step)) for c in base)
        inset = m + step * size * 0.025
        draw.ellipse([inset, inset + size * 0.04, size - inset, size - inset], fill=shade + (255,))
    draw.ellipse([size * 0.47, size * 0.1, size * 0.53, size * 0.22], fill=(200, 0, 0, 0))  # top dimple
    hx, hy = rng.uniform(0.28, 0.45) * size, rng.uniform(0.25, 0.4) * size
    draw.ellipse([hx, hy, hx + size * 0.12, hy + size * 0.08], fill=(255, 255, 240, int(rng.integers(90, 180))))
    draw.line([(size * 0.5, size * 0.2), (size * (0.5 + rng.uniform(-0.05, 0.08)), size * 0.04)],
              fill=(90, 60, 30, 255), width=max(2, size // 40))
    if rng.random() < 0.5:
        draw.ellipse([size * 0.52, size * 0.06, size * 0.7, size * 0.14], fill=(60, 140, 40, 255))
    return layer


def draw_banana(rng: np.random.Generator, size: int) -> Image.Image:
    """Curved yellow crescent with brown tips and a few brown freckles."""
    layer, draw = _layer(size)
    yellow = _jitter(rng, [(235, 205, 50), (220, 210, 70), (240, 190, 40)][int(rng.integers(3))], 15)
    thickness = rng.uniform(0.12, 0.2)
    outer = [size * 0.05, size * 0.0, size * 0.95, size * 0.9]
    start, end = rng.uniform(10, 40), rng.uniform(140, 170)
    width = int(size * thickness)
    draw.arc(outer, start, end, fill=yellow + (255,), width=width)
    draw.arc([outer[0] + width * 0.3, outer[1] + width * 0.3, outer[2] - width * 0.3, outer[3] - width * 0.3],
             start + 4, end - 4, fill=tuple(int(c * 0.85) for c in yellow) + (255,), width=max(1, width // 3))
    cx, cy, rx, ry = size * 0.5, size * 0.45, size * 0.45, size * 0.45
    for angle in (start, end):
        a = np.deg2rad(angle)
        r = width * 0.35
        px, py = cx + (rx - width / 2) * np.cos(a), cy + (ry - width / 2) * np.sin(a)
        draw.ellipse([px - r, py - r, px + r, py + r], fill=(90, 60, 25, 255))
    for _ in range(int(rng.integers(0, 8))):
        a = np.deg2rad(rng.uniform(start + 10, end - 10))
        px, py = cx + (rx - width / 2) * np.cos(a), cy + (ry - width / 2) * np.sin(a)
        r = size * 0.015
        draw.ellipse([px - r, py - r, px + r, py + r], fill=(110, 80, 30, 230))
    return layer


def draw_potato(rng: np.random.Generator, size: int) -> Image.Image:
    """Lumpy brown ellipse with dark eyes and a dusty, uneven skin."""
    layer, draw = _layer(size)
    brown = _jitter(rng, [(170, 130, 80), (150, 110, 65), (190, 150, 100), (130, 95, 60)][int(rng.integers(4))], 15)
    angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    aspect = rng.uniform(0.55, 0.8)
    radius = 1 + 0.08 * np.convolve(rng.standard_normal(34), np.ones(7) / 7, mode="valid")[:28]
    points = [(size * 0.5 + size * 0.42 * r * np.cos(a), size * 0.5 + size * 0.42 * aspect * r * np.sin(a))
              for a, r in zip(angles, radius)]
    for step, shrink in enumerate((1.0, 0.9, 0.78, 0.62)):  # darker rim, lighter dusty middle
        ring = [(size * 0.5 + (x - size * 0.5) * shrink, size * 0.5 + (y - size * 0.5) * shrink - size * 0.02 * step)
                for x, y in points]
        draw.polygon(ring, fill=tuple(min(255, int(c * (0.78 + 0.1 * step))) for c in brown) + (255,))
    for _ in range(int(rng.integers(4, 10))):
        a, r = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.33)
        px, py = size * 0.5 + size * r * np.cos(a), size * 0.5 + size * r * aspect * np.sin(a)
        s = size * rng.uniform(0.012, 0.03)
        draw.ellipse([px - s, py - s * 0.6, px + s, py + s * 0.6], fill=(80, 55, 30, 255))
    return layer


SKIN = [(255, 220, 185), (230, 185, 140), (200, 150, 110), (150, 100, 70), (100, 65, 45), (70, 45, 30)]


def draw_person(rng: np.random.Generator, size: int) -> Image.Image:
    """Stick-and-block human: head with hair, torso, arms and legs in a random pose and clothing."""
    layer, draw = _layer(size)
    skin = _jitter(rng, SKIN[int(rng.integers(len(SKIN)))], 10)
    shirt, trousers = _random_colour(rng, 20, 240), _random_colour(rng, 10, 200)
    hair = _jitter(rng, [(30, 20, 10), (90, 60, 30), (200, 170, 90), (120, 120, 120)][int(rng.integers(4))], 10)
    cx, unit = size * 0.5, size / 8.0
    head_r = unit * 0.55
    head_y = unit * 0.8
    shoulder_y, hip_y = unit * 1.6, unit * 4.3
    limb = max(2, int(unit * 0.45))
    for side in (-1, 1):  # legs
        hip = (cx + side * unit * 0.45, hip_y)
        knee_angle = np.deg2rad(90 + side * rng.uniform(0, 25) + rng.uniform(-10, 10))
        knee = (hip[0] + np.cos(knee_angle) * unit * 1.7, hip[1] + np.sin(knee_angle) * unit * 1.7)
        foot = (knee[0] + rng.uniform(-0.4, 0.4) * unit, knee[1] + unit * 1.7)
        draw.line([hip, knee, foot], fill=trousers + (255,), width=limb + 2, joint="curve")
        draw.ellipse([foot[0] - unit * 0.4, foot[1] - unit * 0.2, foot[0] + unit * 0.4, foot[1] + unit * 0.2],
                     fill=(40, 35, 30, 255))
    draw.rounded_rectangle([cx - unit * 1.05, shoulder_y, cx + unit * 1.05, hip_y + unit * 0.3],
                           radius=unit * 0.4, fill=shirt + (255,))
    for side in (-1, 1):  # arms
        shoulder = (cx + side * unit * 0.95, shoulder_y + unit * 0.3)
        lift = np.deg2rad(rng.uniform(-70, 80))
        elbow = (shoulder[0] + side * np.sin(lift + 0.2) * unit * 1.4, shoulder[1] + np.cos(lift + 0.2) * unit * 1.4)
        bend = lift + rng.uniform(-1.2, 0.6)
        hand = (elbow[0] + side * np.sin(bend) * unit * 1.3, elbow[1] + np.cos(bend) * unit * 1.3)
        draw.line([shoulder, elbow], fill=shirt + (255,), width=limb + 1, joint="curve")
        draw.line([elbow, hand], fill=skin + (255,), width=limb, joint="curve")
        draw.ellipse([hand[0] - limb * 0.6, hand[1] - limb * 0.6, hand[0] + limb * 0.6, hand[1] + limb * 0.6],
                     fill=skin + (255,))
    draw.rectangle([cx - unit * 0.2, head_y + head_r * 0.7, cx + unit * 0.2, shoulder_y + 1], fill=skin + (255,))
    draw.ellipse([cx - head_r, head_y - head_r * 1.15, cx + head_r, head_y + head_r * 1.1], fill=skin + (255,))
    draw.chord([cx - head_r * 1.05, head_y - head_r * 1.3, cx + head_r * 1.05, head_y + head_r * 0.4],
               180, 360, fill=hair + (255,))
    for side in (-1, 1):
        ex = cx + side * head_r * 0.38
        draw.ellipse([ex - head_r * 0.1, head_y - head_r * 0.1, ex + head_r * 0.1, head_y + head_r * 0.1],
                     fill=(30, 30, 30, 255))
    return layer


def draw_distractor(rng: np.random.Generator, size: int) -> Image.Image:
    """Things that belong to no class: furniture, boxes, cups, bottles, plants, four-legged blobs."""
    layer, draw = _layer(size)
    colour = _random_colour(rng, 20, 230) + (255,)
    kind = int(rng.integers(6))
    if kind == 0:  # chair / table
        draw.rectangle([size * 0.15, size * 0.4, size * 0.85, size * 0.5], fill=colour)
        for x in (0.18, 0.78):
            draw.rectangle([size * x, size * 0.5, size * (x + 0.05), size * 0.95], fill=colour)
        if rng.random() < 0.5:
            draw.rectangle([size * 0.15, size * 0.05, size * 0.22, size * 0.45], fill=colour)
    elif kind == 1:  # box / book
        draw.rectangle([size * 0.2, size * 0.3, size * 0.8, size * 0.8], fill=colour, outline=(20, 20, 20, 255))
    elif kind == 2:  # cup / mug
        draw.rectangle([size * 0.3, size * 0.3, size * 0.65, size * 0.85], fill=colour)
        draw.arc([size * 0.55, size * 0.4, size * 0.8, size * 0.7], -90, 90, fill=colour, width=max(2, size // 20))
    elif kind == 3:  # bottle / lamp
        draw.rectangle([size * 0.4, size * 0.35, size * 0.6, size * 0.95], fill=colour)
        draw.rectangle([size * 0.46, size * 0.1, size * 0.54, size * 0.35], fill=colour)
    elif kind == 4:  # plant
        draw.rectangle([size * 0.35, size * 0.7, size * 0.65, size * 0.95], fill=(150, 80, 50, 255))
        for _ in range(6):
            a = rng.uniform(-2.6, -0.5)
            draw.line([(size * 0.5, size * 0.72), (size * 0.5 + np.cos(a) * size * 0.4, size * 0.72 + np.sin(a) * size * 0.55)],
                      fill=_jitter(rng, (50, 140, 50), 30) + (255,), width=max(2, size // 25))
    else:  # animal-like blob on four legs
        draw.ellipse([size * 0.15, size * 0.35, size * 0.8, size * 0.7], fill=colour)
        draw.ellipse([size * 0.7, size * 0.25, size * 0.95, size * 0.5], fill=colour)
        for x in (0.22, 0.35, 0.6, 0.7):
            draw.rectangle([size * x, size * 0.6, size * (x + 0.06), size * 0.92], fill=colour)
    return layer


DRAWERS: dict[str, Callable[[np.random.Generator, int], Image.Image]] = {
    "apple": draw_apple, "banana": draw_banana, "potato": draw_potato, "person": draw_person}


def _paste(canvas: Image.Image, sprite: Image.Image, rng: np.random.Generator, scale: float, rotate: float,
           allow_cut: float) -> None:
    """Scale, rotate and paste a sprite; at most `allow_cut` of its width may leave the frame."""
    size = canvas.size[0]
    side = max(8, int(size * scale))
    sprite = sprite.resize((side, side), Image.BILINEAR).rotate(rotate, resample=Image.BILINEAR, expand=True)
    w, h = sprite.size
    lo_x, hi_x = -int(w * allow_cut), size - w + int(w * allow_cut)
    lo_y, hi_y = -int(h * allow_cut), size - h + int(h * allow_cut)
    x = int(rng.integers(min(lo_x, hi_x), max(lo_x, hi_x) + 1))
    y = int(rng.integers(min(lo_y, hi_y), max(lo_y, hi_y) + 1))
    _paste_shadow(canvas, sprite, rng, side, x, y)
    canvas.paste(sprite, (x, y), sprite)


def _paste_shadow(canvas: Image.Image, sprite: Image.Image, rng: np.random.Generator, side: int, x: int, y: int) -> None:
    """Sometimes a soft contact shadow below and behind a sprite about to be pasted at (x, y)."""
    if rng.random() < 0.7:
        alpha = sprite.getchannel("A").point(lambda v: int(v * rng.uniform(0.35, 0.6)))
        shadow = Image.new("RGBA", sprite.size, (0, 0, 0, 0))
        shadow.putalpha(alpha.filter(ImageFilter.GaussianBlur(max(1.0, side / 30))))
        offset = int(side * rng.uniform(0.02, 0.07))
        canvas.paste(shadow, (x + offset, y + offset), shadow)


def _finish(canvas: Image.Image, rng: np.random.Generator, out_size: int) -> np.ndarray:
    """Blur, downsampling, uneven lighting, colour cast and sensor noise (float work at output size)."""
    if rng.random() < 0.5:
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 2.0)))
    pixels = np.asarray(canvas.resize((out_size, out_size), Image.BILINEAR), np.float32)
    ramp = np.linspace(-0.5, 0.5, out_size, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + np.float32(rng.uniform(0, 0.45)) * (np.float32(np.cos(angle)) * ramp[None, :]
                                                     + np.float32(np.sin(angle)) * ramp[:, None])
    cast = (rng.uniform(0.65, 1.2) * rng.uniform(0.92, 1.08, size=3)).astype(np.float32)
    noise = rng.standard_normal((out_size, out_size, 3), dtype=np.float32) * np.float32(rng.uniform(1, 9))
    return np.clip(pixels * light[..., None] * cast + noise, 0, 255).astype(np.uint8)


def render_scene(label: str, rng: np.random.Generator, out_size: int = 96) -> tuple[np.ndarray, str]:
    """One frame of class `label` (an object label or a negative label) -> (uint8 HxWx3, background kind)."""
    size = out_size * RENDER
    canvas, kind = render_background(rng, size)
    for _ in range(int(rng.integers(0, 3))):
        _paste(canvas, draw_distractor(rng, 64), rng, rng.uniform(0.15, 0.45), rng.uniform(-15, 15), 0.3)
    if label in DRAWERS:
        person = label == "person"
        count = 1 if person or rng.random() < 0.85 else int(rng.integers(2, 4))
        for _ in range(count):
            scale = rng.uniform(0.5, 1.2) if person else rng.uniform(0.45, 0.9) / (1 + 0.2 * (count - 1))
            rotate = rng.uniform(-20, 20) if person else rng.uniform(0, 360)
            _paste(canvas, DRAWERS[label](rng, 128), rng, scale, rotate, 0.3 if person else 0.15)
    if rng.random() < 0.2:  # occluder in front
        draw = ImageDraw.Draw(canvas)
        w, h = rng.uniform(0.1, 0.3, size=2) * size
        x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
        draw.rectangle([x, y, x + w, y + h], fill=_random_colour(rng))
    return _finish(canvas, rng, out_size), kind


def render_many(jobs: list[tuple[int, int, str, int, int]]) -> list[tuple[np.ndarray, str]]:
    """Render (seed, class index, label, number, size) jobs; each frame has its own seeded rng."""
    return [render_scene(label, np.random.default_rng([seed, 10, class_index, number]), size)
            for seed, class_index, label, number, size in jobs]


def _start_child(jobs: list[tuple[int, int, str, int, int]]) -> subprocess.Popen:
    """Render some jobs in a child Python (`python -m kit.data.scenes`): a second core, and no
    fork/spawn pitfalls when the caller has TensorFlow threads or an unguarded __main__."""
    child = subprocess.Popen([sys.executable, "-m", "kit.data.scenes"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write(json.dumps(jobs).encode())
    child.stdin.close()
    return child


def _collect_child(child: subprocess.Popen) -> list[tuple[np.ndarray, str]]:
    assert child.stdout is not None and child.stderr is not None
    payload = child.stdout.read()
    errors = child.stderr.read().decode(errors="replace")
    if child.wait() != 0:
        raise DataError(f"the scene renderer worker failed: {errors.strip()[-500:]}",
                        hint="run `kit data image-classification --size tiny` to see the error in one process")
    with np.load(io.BytesIO(payload)) as data:
        return list(zip(list(data["images"]), data["kinds"].tolist()))


def _render_all(jobs: list[tuple[int, int, str, int, int]], progress: Callable[[int, int], None] | None,
                parallel_from: int = 400) -> list[tuple[np.ndarray, str]]:
    """Render every job; with enough work and 2+ cores, the second half goes to a child process."""
    parallel = len(jobs) >= parallel_from and (os.cpu_count() or 1) >= 2
    half = len(jobs) // 2 if parallel else len(jobs)
    child = _start_child(jobs[half:]) if parallel else None
    results: list[tuple[np.ndarray, str]] = []
    for start in range(0, half, 50):
        chunk = jobs[start:min(start + 50, half)]
        results.extend(render_many(chunk))
        if progress:
            progress(min(len(jobs), len(results) * (2 if parallel else 1)), len(jobs))
    if child is not None:
        results.extend(_collect_child(child))
        if progress:
            progress(len(jobs), len(jobs))
    return results


def _worker_main() -> None:
    jobs = [tuple(job) for job in json.loads(sys.stdin.buffer.read())]
    rendered = render_many(jobs)  # type: ignore[arg-type]
    buffer = io.BytesIO()
    np.savez(buffer, images=np.stack([image for image, _ in rendered]),
             kinds=np.asarray([kind for _, kind in rendered], dtype=str))
    sys.stdout.buffer.write(buffer.getvalue())


def scenes_raw(spec: LabSpec, seed: int, fraction: float, progress: Callable[[int, int], None] | None,
               splits: tuple[str, ...] = SPLITS) -> RawData:
    """Render `samples_per_class` frames per label, split by class with the lab's fractions; only
    the frames of `splits` are rendered (the split is drawn from the labels alone)."""
    ds = spec.dataset
    for label in spec.labels:
        if label not in DRAWERS and label not in NEGATIVE_LABELS:
            raise DataError(f"the scenes-rendered generator cannot draw class '{label}' of lab {spec.name}",
                            hint=f"use labels from {', '.join(OBJECT_LABELS + NEGATIVE_LABELS)} or bring your own images")
    per_class = max(6, int(round(int(ds.get("samples_per_class", 500)) * fraction)))
    height, width = [int(v) for v in ds.get("image_size", [96, 96])]
    jobs = [(seed, class_index, label, number, height) for class_index, label in enumerate(spec.labels)
            for number in range(per_class)]
    y_all = np.asarray([job[1] for job in jobs], np.int64)
    split_all = stratified_splits(y_all, np.random.default_rng([seed, 11]), float(ds.get("validation_fraction", 0.1)),
                                  float(ds.get("test_fraction", 0.2)))
    kept = np.flatnonzero(np.isin(split_all, list(splits)))
    rendered = _render_all([jobs[i] for i in kept], progress)
    images = [image if width == height else np.asarray(Image.fromarray(image).resize((width, height)))
              for image, _ in rendered]
    x = np.stack(images) if images else np.zeros((0, height, width, 3), np.uint8)
    return RawData(x=x, y=y_all[kept], split=split_all[kept],
                   group=np.asarray([kind for _, kind in rendered], dtype=str), info={"image_size": [height, width]})


if __name__ == "__main__":
    _worker_main()
