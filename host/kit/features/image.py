"""Image features: the pixels themselves, scaled the way the lab's model expects."""

from __future__ import annotations

import numpy as np

from kit.errors import DataError

SCALES = {"unit": (1 / 255.0, 0.0), "signed": (2 / 255.0, -1.0), "raw": (1.0, 0.0)}


def scale_pixels(images: np.ndarray, scale: str = "unit") -> np.ndarray:
    """uint8 (batch, h, w, c) -> float32; 'unit' [0,1], 'signed' [-1,1], 'raw' [0,255]."""
    if scale not in SCALES:
        raise DataError(f"unknown image feature scale '{scale}'", hint=f"use one of: {', '.join(SCALES)}")
    factor, offset = SCALES[scale]
    return (images.astype(np.float32) * np.float32(factor) + np.float32(offset)).astype(np.float32)
