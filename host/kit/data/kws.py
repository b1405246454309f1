"""The `speech-espeak` generator as RawData: speaker-disjoint splits of 1 s clips."""

from __future__ import annotations

from typing import Callable

import numpy as np

from kit.data.raw import SPLITS, RawData
from kit.data.spec import LabSpec
from kit.data.speech import generate_speech, held_out_synthesizers


def _of_synth(groups: np.ndarray, name: str) -> np.ndarray:
    """Which group ids belong to synthesizer `name` (espeak-ng's ids have no "<synth>:" prefix)."""
    if name == "espeak-ng":
        return ~np.char.startswith(groups, "festival:") & ~np.char.startswith(groups, "flite:")
    return np.char.startswith(groups, f"{name}:")


def kws_raw(spec: LabSpec, seed: int, fraction: float, progress: Callable[[int, int], None] | None,
            splits: tuple[str, ...] = SPLITS) -> RawData:
    clips = generate_speech(spec, seed, fraction, progress, splits)
    split = np.asarray(clips.splits, dtype=str)
    noise = {kind: clips.noise_kinds.count(kind) for kind in sorted(set(clips.noise_kinds))}
    info = {"speakers": {name: len(set(np.asarray(clips.speakers)[split == name].tolist()))
                         for name in ("train", "val", "test")},
            "noise_kinds": noise, "sample_rate_hz": int(spec.dataset.get("sample_rate_hz", 16000))}
    held_out = held_out_synthesizers(spec.dataset)
    if held_out:  # test groups "<synth>:<voice>": the card reports them apart from the held-out speakers
        info["held_out_synthesizers"] = held_out
    groups = np.asarray(clips.speakers, dtype=str)
    info["synthesizer_clips"] = {name: {part: int(np.sum((split == part) & _of_synth(groups, name))) for part in SPLITS}
                                 for name in ("espeak-ng", "festival", "flite")
                                 if np.any(_of_synth(groups, name))}
    if clips.variants_clamped is not None:
        info["espeak_variants_clamped"] = clips.variants_clamped
    return RawData(x=clips.audio, y=clips.labels, split=split, group=np.asarray(clips.speakers, dtype=str), info=info)
