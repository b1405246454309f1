"""Feature pipelines: raw sensor data -> the tensors a lab's model consumes.

Every pipeline runs kit's portable C (firmware/features/kit_features.c, built for the host on
first use: `kit.features.native`), the same file every board compiles, so the features a
model is trained on equal the ones a board computes bit for bit. `extract(features, dataset,
raw)` picks the pipeline named by the lab's [features] type; `extract_int8` ends in the
model's int8 input. The numpy modules (`mfcc`, `imu`, `image`) are the textbook formulas the
C follows, kept as its reference (tests compare the two) and for the spectrogram preview.

Audio: training data is float audio in [-1, 1]; the board's microphone delivers int16 PCM,
so the host converts first with `audio_to_pcm16`: round(x * 32768) half to even, clamped to
[-32768, 32767]. The C turns a sample s back into s / 32768 (exact).
"""

from __future__ import annotations

import numpy as np

from kit.errors import DataError
from kit.features import native
from kit.features.config import FeatureConfig, image_config, imu_config, lab_config, mfcc_config
from kit.features.mfcc import MfccConfig, log_mel

FEATURE_TYPES = ("mfcc", "image", "imu-spectral", "vibration-spectrum")

__all__ = ["FEATURE_TYPES", "FeatureConfig", "MfccConfig", "audio_to_pcm16", "extract", "extract_int8",
           "host_config", "imu_spectral", "lab_config", "log_mel", "mfcc", "scale_pixels", "vibration_spectrum"]


def audio_to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] -> int16 PCM as a microphone delivers it (see the module doc)."""
    scaled = np.rint(np.asarray(audio, np.float32) * np.float32(32768.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def _mfcc_config(config: MfccConfig, samples: int) -> FeatureConfig:
    """The C config for clips of `samples` (at least one full set of frames: shorter clips are
    zero-padded, which is what the C does past a window's end anyway)."""
    needed = config.window + (config.frames - 1) * config.stride
    return mfcc_config(config, max(samples, needed))


def _pad_audio(pcm: np.ndarray, samples: int) -> np.ndarray:
    if pcm.shape[1] >= samples:
        return pcm
    return np.pad(pcm, ((0, 0), (0, samples - pcm.shape[1])))


def mfcc(audio: np.ndarray, config: MfccConfig) -> np.ndarray:
    """(batch, samples) float audio in [-1, 1] -> (batch, frames, coefficients) float32."""
    pcm = audio_to_pcm16(np.atleast_2d(audio))
    c_config = _mfcc_config(config, pcm.shape[1])
    out = native.features_float(c_config, _pad_audio(pcm, c_config.samples))
    return out.reshape(pcm.shape[0], config.frames, config.coefficients)


def _imu(kind: str, signal: np.ndarray, fft_length: int, bands: int) -> np.ndarray:
    signal = np.asarray(signal, np.float32)
    config = imu_config(kind, signal.shape[1], signal.shape[2], fft_length, bands)
    return native.features_float(config, signal)


def imu_spectral(signal: np.ndarray, fft_length: int = 32, bands: int = 16) -> np.ndarray:
    """(batch, samples, axes) in g -> (batch, axes * (3 + bands)): per axis RMS, skewness,
    excess kurtosis of the signal without its mean (orientation-free), then band log powers."""
    return _imu("imu-spectral", signal, fft_length, bands)


def vibration_spectrum(signal: np.ndarray, fft_length: int = 256, bands: int = 32) -> np.ndarray:
    """(batch, samples, axes) -> (batch, axes * bands) log band energies of one window."""
    return _imu("vibration-spectrum", signal, fft_length, bands)


def scale_pixels(images: np.ndarray, scale: str = "unit", channels: int | None = None) -> np.ndarray:
    """uint8 (batch, h, w, c) -> float32 (batch, h, w, channels); 'unit' [0,1], 'signed'
    [-1,1], 'raw' [0,255]; gray <-> RGB when `channels` differs from the images'."""
    images = np.asarray(images)
    frame = tuple(int(d) for d in images.shape[1:4])
    config = image_config(frame, (frame[0], frame[1], channels or frame[2]), scale)
    return native.features_float(config, images).reshape(images.shape[0], *config.out_shape)


def host_config(features: dict, dataset: dict, raw: np.ndarray) -> FeatureConfig:
    """The C config for a batch of raw windows as the host holds them (its own lengths)."""
    kind = features.get("type")
    if kind == "mfcc":
        return _mfcc_config(MfccConfig.from_sections(features, dataset), int(raw.shape[1]))
    if kind in ("imu-spectral", "vibration-spectrum"):
        defaults = (32, 16) if kind == "imu-spectral" else (256, 32)
        return imu_config(kind, int(raw.shape[1]), int(raw.shape[2]), int(features.get("fft_length", defaults[0])),
                          int(features.get("bands", defaults[1])))
    if kind == "image":
        frame = tuple(int(d) for d in raw.shape[1:4])
        channels = int(features.get("channels", frame[2]))
        return image_config(frame, (frame[0], frame[1], channels), str(features.get("scale", "unit")))
    raise DataError(f"unknown feature type '{kind}' in the lab's [features]",
                    hint=f"use one of: {', '.join(FEATURE_TYPES)}")


def _raw_for(config: FeatureConfig, raw: np.ndarray) -> np.ndarray:
    if config.kind == 1:  # MFCC: float audio -> the microphone's int16, padded to the config
        return _pad_audio(audio_to_pcm16(np.atleast_2d(raw)), config.samples)
    return raw


def extract(features: dict, dataset: dict, raw: np.ndarray) -> np.ndarray:
    """Apply the lab's feature pipeline to a batch of raw samples (audio, images or IMU windows)."""
    config = host_config(features, dataset, raw)
    out = native.features_float(config, _raw_for(config, raw))
    return out.reshape(raw.shape[0], *config.out_shape)


def extract_int8(features: dict, dataset: dict, raw: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """The model's int8 input for a batch of raw samples, as a board computes it."""
    config = host_config(features, dataset, raw).quantized(scale, zero_point)
    out = native.features_int8(config, _raw_for(config, raw))
    return out.reshape(raw.shape[0], *config.out_shape)
