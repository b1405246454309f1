"""Augmented copies of a student's own training examples, so 30 clips a class can train a model.

Each copy is the original changed the way a new recording would differ: audio shifted in
time, louder or quieter, over background noise at a random SNR (the noise kinds of the kws
generator, kit.data.noise); IMU windows with sensor noise, a gain error and a small time
shift; images flipped, cropped and brighter or darker. Only the training split is augmented:
validation and test stay the student's untouched examples.
"""

from __future__ import annotations

import numpy as np

from kit.data.audio import rms
from kit.data.noise import background
from kit.data.raw import RawData

DEFAULT_COPIES = 8
AUDIO_SNR_DB = (8.0, 30.0)
AUDIO_GAIN_DB = (-6.0, 6.0)
AUDIO_SHIFT_S = 0.1
SILENT_RMS = 1e-4


def augment_audio(clip: np.ndarray, rng: np.random.Generator, rate: int) -> np.ndarray:
    """Time shift (zero fill), gain and background noise at an SNR relative to the clip."""
    shift = int(rng.integers(-int(AUDIO_SHIFT_S * rate), int(AUDIO_SHIFT_S * rate) + 1))
    out = np.zeros_like(clip)
    if shift >= 0:
        out[shift:] = clip[:clip.size - shift]
    else:
        out[:shift] = clip[-shift:]
    out = out * 10 ** (rng.uniform(*AUDIO_GAIN_DB) / 20)
    noise, _ = background(rng, clip.size, rate, [])
    level = max(rms(out), SILENT_RMS) / 10 ** (rng.uniform(*AUDIO_SNR_DB) / 20)
    return np.clip(out + noise * level, -1, 1).astype(np.float32)


def augment_imu(window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-axis gain error, white sensor noise and a circular shift of up to a tenth of a window."""
    scale = 1 + rng.uniform(-0.1, 0.1, window.shape[-1])
    spread = float(np.std(window - window.mean(axis=0))) + 1e-3
    noise = rng.normal(0, 0.05 * spread, window.shape)
    shift = int(rng.integers(-(window.shape[0] // 10), window.shape[0] // 10 + 1))
    return (np.roll(window, shift, axis=0) * scale + noise).astype(window.dtype)


def augment_image(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Horizontal flip, a random crop of 80-100% resized back, brightness x0.75-1.25 (uint8 in, out)."""
    from PIL import Image

    height, width = image.shape[:2]
    out = image[:, ::-1] if rng.random() < 0.5 else image
    crop = rng.uniform(0.8, 1.0)
    ch, cw = max(1, int(height * crop)), max(1, int(width * crop))
    top, left = int(rng.integers(0, height - ch + 1)), int(rng.integers(0, width - cw + 1))
    piece = np.ascontiguousarray(out[top:top + ch, left:left + cw])
    mode = "L" if piece.shape[-1] == 1 else "RGB"
    resized = np.asarray(Image.fromarray(piece.squeeze(-1) if mode == "L" else piece, mode).resize(
        (width, height), Image.BILINEAR))
    resized = resized.reshape(image.shape)
    bright = resized.astype(np.float32) * rng.uniform(0.75, 1.25)
    return np.clip(bright, 0, 255).astype(np.uint8)


def augment_training(raw: RawData, kind: str, rate: int, seed: int, copies: int = DEFAULT_COPIES) -> RawData:
    """`raw` with `copies` augmented versions of every training example appended (split train,
    same label and source file as the original)."""
    train = np.flatnonzero(raw.split == "train")
    if copies <= 0 or train.size == 0:
        return raw
    rng = np.random.default_rng([seed, 41])
    extra = np.empty((train.size * copies, *raw.x.shape[1:]), raw.x.dtype)
    for number, index in enumerate(np.tile(train, copies)):
        sample = raw.x[index]
        if kind == "audio":
            extra[number] = augment_audio(sample, rng, rate)
        elif kind == "imu":
            extra[number] = augment_imu(sample, rng)
        else:
            extra[number] = augment_image(sample, rng)
    index = np.tile(train, copies)
    info = {**raw.info, "augmented_copies": int(copies), "augmented_examples": int(extra.shape[0])}
    return RawData(x=np.concatenate([raw.x, extra]), y=np.concatenate([raw.y, raw.y[index]]),
                   split=np.concatenate([raw.split, np.full(index.size, "train", dtype=raw.split.dtype)]),
                   group=np.concatenate([raw.group, raw.group[index]]), info=info)
