"""The `speech-espeak` generator as RawData: speaker-disjoint splits of 1 s clips."""

from __future__ import annotations

from typing import Callable

import numpy as np

from kit.data.raw import SPLITS, RawData
from kit.data.spec import LabSpec
from kit.data.speech import generate_speech


def kws_raw(spec: LabSpec, seed: int, fraction: float, progress: Callable[[int, int], None] | None,
            splits: tuple[str, ...] = SPLITS) -> RawData:
    clips = generate_speech(spec, seed, fraction, progress, splits)
    split = np.asarray(clips.splits, dtype=str)
    noise = {kind: clips.noise_kinds.count(kind) for kind in sorted(set(clips.noise_kinds))}
    info = {"speakers": {name: len(set(np.asarray(clips.speakers)[split == name].tolist()))
                         for name in ("train", "val", "test")},
            "noise_kinds": noise, "sample_rate_hz": int(spec.dataset.get("sample_rate_hz", 16000))}
    if clips.variants_clamped is not None:
        info["espeak_variants_clamped"] = clips.variants_clamped
    return RawData(x=clips.audio, y=clips.labels, split=split, group=np.asarray(clips.speakers, dtype=str), info=info)
