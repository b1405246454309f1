"""A student's own keyword folder, synthesised offline: new words (not the kws lab's labels)
said by several espeak-ng voices, one 1 s 16 kHz WAV per clip, one sub-folder per word."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.data.audio import fit_length, rms, write_wav
from kit.data.speech import SPEECH_RMS, Speaker, espeak_variants, speaker_words

OWN_WORDS = ("apple", "banana", "cherry")
VOICES = ("en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
RATE = 16000


def own_speakers(count: int, seed: int = 7) -> list[Speaker]:
    """`count` different synthetic speakers: voice x variant x speed x pitch."""
    rng = np.random.default_rng(seed)
    variants = espeak_variants()
    speakers = []
    for number in range(count):
        index = int(rng.integers(len(variants)))
        speakers.append(Speaker(voice=VOICES[number % len(VOICES)], variant=variants[index], variant_index=index,
                                speed_wpm=int(rng.integers(130, 200)), pitch=int(rng.integers(25, 75))))
    return speakers


def make_word_folder(root: Path, words: tuple[str, ...] = OWN_WORDS, clips: int = 30, seed: int = 7) -> Path:
    """root/<word>/<speaker>.wav: `clips` speakers each saying every word, over light noise."""
    rng = np.random.default_rng([seed, 1])
    for word in words:
        (root / word).mkdir(parents=True, exist_ok=True)
    for number, speaker in enumerate(own_speakers(clips, seed)):
        for word, audio in zip(words, speaker_words(speaker, list(words), RATE)):
            clip = fit_length(audio * (SPEECH_RMS / rms(audio)) * 10 ** (rng.uniform(-4, 4) / 20), RATE)
            clip = clip + rng.normal(0, 10 ** (rng.uniform(-3.5, -2.5)), clip.size)
            write_wav(root / word / f"take{number:02d}.wav", np.clip(clip, -1, 1), RATE)
    return root
