"""Feature pipelines: raw sensor data -> the float32 tensors a lab's model consumes.

`extract(spec, raw)` picks the pipeline named by the lab's [features] type, so training,
validation on a board and user data all go through exactly the same code.
"""

from __future__ import annotations

import numpy as np

from kit.errors import DataError
from kit.features.image import scale_pixels
from kit.features.imu import imu_spectral, vibration_spectrum
from kit.features.mfcc import MfccConfig, log_mel, mfcc

FEATURE_TYPES = ("mfcc", "image", "imu-spectral", "vibration-spectrum")

__all__ = ["FEATURE_TYPES", "extract", "MfccConfig", "mfcc", "log_mel", "imu_spectral", "vibration_spectrum",
           "scale_pixels"]


def extract(features: dict, dataset: dict, raw: np.ndarray) -> np.ndarray:
    """Apply the lab's feature pipeline to a batch of raw samples (audio, images or IMU windows)."""
    kind = features.get("type")
    if kind == "mfcc":
        return mfcc(raw, MfccConfig.from_sections(features, dataset))[..., None]
    if kind == "image":
        return scale_pixels(raw, str(features.get("scale", "unit")))
    if kind == "imu-spectral":
        return imu_spectral(raw, int(features.get("fft_length", 32)), int(features.get("bands", 16)))
    if kind == "vibration-spectrum":
        return vibration_spectrum(raw, int(features.get("fft_length", 256)), int(features.get("bands", 32)))
    raise DataError(f"unknown feature type '{kind}' in the lab's [features]",
                    hint=f"use one of: {', '.join(FEATURE_TYPES)}")
