"""`FeatureConfig`: one lab's feature pipeline as the C struct `kit_feature_config`
(firmware/features/kit_features.h) holds it. The host fills it for ctypes; kit.build writes the
same values into a board's kit_lab.h, so both run the C with identical settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from kit.errors import DataError
from kit.features.mfcc import MfccConfig

KIND_MFCC, KIND_IMAGE, KIND_IMU_SPECTRAL, KIND_VIBRATION = 1, 2, 3, 4
KINDS = {"mfcc": KIND_MFCC, "image": KIND_IMAGE, "imu-spectral": KIND_IMU_SPECTRAL,
         "vibration-spectrum": KIND_VIBRATION}
PIXEL_SCALES = {"unit": 0, "signed": 1, "raw": 2}
KIND_NAMES = {"KIT_FEATURE_MFCC": KIND_MFCC, "KIT_FEATURE_IMAGE": KIND_IMAGE,
              "KIT_FEATURE_IMU_SPECTRAL": KIND_IMU_SPECTRAL, "KIT_FEATURE_VIBRATION": KIND_VIBRATION}
FLOAT_FIELDS = ("lower_hz", "upper_hz", "input_scale")


@dataclass(frozen=True)
class FeatureConfig:
    """Field for field the C struct, in its order (ints are uint32 but input_zero_point)."""

    kind: int
    raw_values: int = 0
    out_values: int = 0
    sample_rate_hz: int = 0
    samples: int = 0
    frame_length: int = 0
    frame_stride: int = 0
    fft_length: int = 0
    mel_bins: int = 0
    coefficients: int = 0
    frames: int = 0
    lower_hz: float = 0.0
    upper_hz: float = 0.0
    axes: int = 0
    bands: int = 0
    frame_width: int = 0
    frame_height: int = 0
    frame_channels: int = 0
    width: int = 0
    height: int = 0
    channels: int = 0
    pixel_scale: int = 0
    input_scale: float = 1.0
    input_zero_point: int = 0

    def quantized(self, scale: float, zero_point: int) -> FeatureConfig:
        """The same pipeline ending in the model's int8 input quantisation."""
        return replace(self, input_scale=float(scale), input_zero_point=int(zero_point))

    def values(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def raw_dtype(self) -> str:
        """What one raw window holds: int16 PCM, float32 IMU samples or uint8 pixels."""
        return {KIND_MFCC: "int16", KIND_IMAGE: "uint8"}.get(self.kind, "float32")

    @property
    def raw_shape(self) -> tuple[int, ...]:
        shapes = {KIND_MFCC: (self.samples,), KIND_IMAGE: (self.frame_height, self.frame_width, self.frame_channels)}
        return shapes.get(self.kind, (self.samples, self.axes))

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The float features' shape as kit.data lays them out (MFCC gets a channel axis)."""
        shapes = {KIND_MFCC: (self.frames, self.coefficients, 1), KIND_IMAGE: (self.height, self.width, self.channels)}
        return shapes.get(self.kind, (self.out_values,))


def field_names() -> list[str]:
    return [f.name for f in fields(FeatureConfig)]


def mfcc_config(config: MfccConfig, samples: int) -> FeatureConfig:
    return FeatureConfig(kind=KIND_MFCC, raw_values=samples, out_values=config.frames * config.coefficients,
                         sample_rate_hz=config.sample_rate, samples=samples, frame_length=config.window,
                         frame_stride=config.stride, fft_length=config.fft_length, mel_bins=config.mel_bins,
                         coefficients=config.coefficients, frames=config.frames, lower_hz=config.lower_hz,
                         upper_hz=config.upper_hz)


def imu_config(kind: str, samples: int, axes: int, fft_length: int, bands: int, sample_rate_hz: int = 0) -> FeatureConfig:
    per_axis = bands + (3 if kind == "imu-spectral" else 0)
    return FeatureConfig(kind=KINDS[kind], raw_values=samples * axes, out_values=axes * per_axis,
                         sample_rate_hz=sample_rate_hz, samples=samples, fft_length=fft_length, axes=axes, bands=bands)


def image_config(frame: tuple[int, int, int], model: tuple[int, int, int], scale: str) -> FeatureConfig:
    """frame and model as (height, width, channels)."""
    if scale not in PIXEL_SCALES:
        raise DataError(f"unknown image feature scale '{scale}'", hint=f"use one of: {', '.join(PIXEL_SCALES)}")
    (fh, fw, fc), (h, w, c) = frame, model
    return FeatureConfig(kind=KIND_IMAGE, raw_values=fh * fw * fc, out_values=h * w * c, frame_width=fw,
                         frame_height=fh, frame_channels=fc, width=w, height=h, channels=c,
                         pixel_scale=PIXEL_SCALES[scale])


def _window_samples(dataset: dict, key: str, default: float) -> int:
    return int(round(float(dataset.get("sample_rate_hz", 0)) * float(dataset.get(key, default))))


def lab_config(features: dict, dataset: dict, sample_shape: tuple[int, ...] = (),
               frame: tuple[int, int, int] | None = None) -> FeatureConfig:
    """The pipeline of a lab's [features] and [dataset] for one model window (what a board
    runs): audio/IMU window lengths from [dataset], image sizes from the model's input shape
    (`sample_shape`, h x w x c) and the camera `frame` (default: the model's size)."""
    kind = str(features.get("type"))
    if kind == "mfcc":
        return mfcc_config(MfccConfig.from_sections(features, dataset), _window_samples(dataset, "clip_seconds", 1.0))
    if kind in ("imu-spectral", "vibration-spectrum"):
        defaults = (32, 16) if kind == "imu-spectral" else (256, 32)
        return imu_config(kind, _window_samples(dataset, "window_seconds", 1.0), len(dataset.get("axes") or ["x"]),
                          int(features.get("fft_length", defaults[0])), int(features.get("bands", defaults[1])),
                          int(dataset.get("sample_rate_hz", 0)))
    if kind == "image":
        if len(sample_shape) != 3:
            size = dataset.get("image_size") or [96, 96]
            sample_shape = (int(size[0]), int(size[1]), int(features.get("channels", 3)))
        model = (int(sample_shape[0]), int(sample_shape[1]), int(sample_shape[2]))
        return image_config(frame or model, model, str(features.get("scale", "unit")))
    raise DataError(f"unknown feature type '{kind}' in the lab's [features]",
                    hint=f"use one of: {', '.join(KINDS)}")
