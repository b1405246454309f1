"""Keyword-spotting audio from espeak-ng: many synthetic speakers, noise, shifts and gains.

A "speaker" is one espeak-ng voice (accent) combined with one voice variant (timbre) and a
speed and pitch. Whole variants are held out for the test split, so test accuracy measures
what a model does on voices it never heard. Each speaker says all its words in ONE espeak-ng
call with long pauses between words; the recording is split on silence (many times faster
than one process per word).
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kit.data.audio import decode_wav_bytes, fit_length, resample, rms
from kit.data.noise import background
from kit.data.spec import LabSpec
from kit.errors import DataError, ToolMissingError

SILENCE = "_silence_"
UNKNOWN = "_unknown_"
ESPEAK_RATE = 22050
SPEECH_RMS = 0.1


@dataclass(frozen=True)
class Speaker:
    voice: str
    variant: str
    variant_index: int
    speed_wpm: int
    pitch: int

    @property
    def id(self) -> str:
        return f"{self.voice}+{self.variant}"


@dataclass
class SpeechClips:
    """1 s clips at the lab's rate with their class index, speaker id and split name."""

    audio: np.ndarray          # (N, samples) float32
    labels: np.ndarray         # (N,) int64
    speakers: list[str]
    splits: list[str]          # "train" | "val" | "test"
    noise_kinds: list[str]
    variants_clamped: dict[str, int] | None = None  # set when espeak-ng has fewer variants than asked


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if not path:
        raise ToolMissingError("espeak-ng is not installed; the keyword-spotting dataset is synthesised with it",
                               hint="sudo apt-get install -y espeak-ng")
    return path


@lru_cache(maxsize=1)
def espeak_variants() -> tuple[str, ...]:
    """Names of the installed espeak-ng voice variants (e.g. 'm3', 'f2', 'klatt'), sorted."""
    out = subprocess.run([espeak_binary(), "--voices=variant"], capture_output=True, text=True, check=False).stdout
    names = [line.split()[-1].split("/")[-1] for line in out.splitlines()[1:] if "!v/" in line]
    if not names:
        raise ToolMissingError("espeak-ng lists no voice variants", hint="reinstall espeak-ng-data")
    return tuple(sorted(set(names), key=str.lower))


def _range(section: dict, key: str, default: tuple[float, float]) -> tuple[float, float]:
    lo, hi = section.get(key, default)
    return float(lo), float(hi)


def variant_counts(ds: dict, available: int) -> tuple[int, int, dict[str, int] | None]:
    """(variants used, variants held out for test, clamp record or None).

    A lab may ask for more variants than this espeak-ng installs; wrapping around would give two
    "speakers" the same voice, one of them held out and the other in training. The count is
    clamped to the installed variants instead (held-out count scaled alike) and the record says so.
    """
    requested = int(ds.get("variants_per_voice", available))
    held = int(ds.get("held_out_variants", max(1, requested // 5)))
    if requested <= available:
        return requested, held, None
    if available < 2:
        raise DataError(f"espeak-ng installs {available} voice variant(s); held-out test speakers need at least 2",
                        hint="install the full espeak-ng-data package")
    held = max(1, min(available - 1, int(round(held * available / requested))))
    record = {"variants_per_voice_requested": requested, "variants_available": available, "held_out_variants": held}
    return available, held, record


def plan_speakers(spec: LabSpec, seed: int, fraction: float,
                  variants: tuple[str, ...] | None = None) -> tuple[list[Speaker], set[int]]:
    """All speakers used for this seed/size and the set of variant indices held out for test.

    `variants` defaults to the installed espeak-ng variants (tests pass a short list).
    """
    ds = spec.dataset
    rng = np.random.default_rng([seed, 1])
    variants = espeak_variants() if variants is None else tuple(variants)
    total, held, _ = variant_counts(ds, len(variants))
    chosen_count = max(3, int(round(total * fraction)))
    held_count = max(1, int(round(held * fraction)))
    chosen = sorted(rng.choice(total, size=min(chosen_count, total), replace=False).tolist())
    held_out = set(rng.choice(chosen, size=min(held_count, len(chosen) - 1), replace=False).tolist())
    speed_lo, speed_hi = _range(ds, "speed_wpm", (125.0, 200.0))
    pitch_lo, pitch_hi = _range(ds, "pitch", (20.0, 80.0))
    takes = max(1, int(ds.get("takes_per_speaker", 1)))
    speakers = []
    for voice in ds.get("voices", ["en"]):
        for index in chosen:
            for _ in range(takes):  # the same voice again, faster or slower, higher or lower
                speakers.append(Speaker(voice=voice, variant=variants[index], variant_index=index,
                                        speed_wpm=int(rng.integers(speed_lo, speed_hi + 1)),
                                        pitch=int(rng.integers(pitch_lo, pitch_hi + 1))))
    return speakers, held_out


def _run_espeak(speaker: Speaker, text: str, gap: int) -> np.ndarray:
    command = [espeak_binary(), "-v", f"{speaker.voice}+{speaker.variant}", "-s", str(speaker.speed_wpm),
               "-p", str(speaker.pitch), "-g", str(gap), "--stdout", text]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or len(result.stdout) <= 44:
        raise DataError(f"espeak-ng failed for voice {speaker.id}: {result.stderr.decode(errors='replace').strip()}",
                        hint="check `espeak-ng --voices=en` lists the voices named in the lab's [dataset] voices")
    audio, rate = decode_wav_bytes(result.stdout, f"espeak-ng output for {speaker.id}")
    return audio if rate == ESPEAK_RATE else resample(audio, rate, ESPEAK_RATE)


def split_on_silence(audio: np.ndarray, rate: int, expected: int, min_gap_s: float = 0.18) -> list[np.ndarray] | None:
    """Cut a recording of `expected` words separated by pauses into one array per word.

    Returns None when the cut does not give exactly `expected` pieces (the caller then falls
    back to one espeak-ng call per word), so a mis-split can never mislabel a clip.
    """
    hop = max(1, rate // 100)
    frames = audio[: audio.size // hop * hop].reshape(-1, hop)
    energy = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    if energy.size == 0 or energy.max() <= 0:
        return None
    voiced = energy > energy.max() * 0.02
    runs: list[list[int]] = []
    min_gap = int(min_gap_s * 100)
    for index in np.flatnonzero(voiced):
        if runs and index - runs[-1][1] <= min_gap:
            runs[-1][1] = int(index)
        else:
            runs.append([int(index), int(index)])
    runs = [run for run in runs if run[1] - run[0] >= 3]
    if len(runs) != expected:
        return None
    pad = 2
    return [audio[max(0, (a - pad) * hop):(b + 1 + pad) * hop].copy() for a, b in runs]


def speaker_words(speaker: Speaker, words: list[str], rate: int) -> list[np.ndarray]:
    """One speaker saying each word, as separate arrays at `rate`."""
    recording = _run_espeak(speaker, " ".join(words), gap=60)
    pieces = split_on_silence(recording, ESPEAK_RATE, len(words))
    if pieces is None:
        pieces = []
        for word in words:
            single = _run_espeak(speaker, word, gap=10)
            cut = split_on_silence(single, ESPEAK_RATE, 1, min_gap_s=10.0)
            pieces.append(cut[0] if cut else single)
    return [resample(piece, ESPEAK_RATE, rate) for piece in pieces]


def _place(word: np.ndarray, length: int, rng: np.random.Generator, shift: int) -> np.ndarray:
    """Put a word in a clip, centred then shifted by up to +-shift samples, never cut off if it fits."""
    if word.size >= length:
        return fit_length(word, length)
    centre = (length - word.size) // 2
    start = int(np.clip(centre + rng.integers(-shift, shift + 1), 0, length - word.size))
    clip = np.zeros(length, np.float32)
    clip[start:start + word.size] = word
    return clip


def _augment(word: np.ndarray | None, length: int, rate: int, rng: np.random.Generator, ds: dict,
             pool: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """A word (or silence when None) with volume change, time shift and background noise."""
    snr_lo, snr_hi = _range(ds, "noise_db", (5.0, 30.0))
    vol_lo, vol_hi = _range(ds, "volume_db", (-6.0, 6.0))
    shift = int(float(ds.get("time_shift_ms", 100)) * rate / 1000)
    noise, kind = background(rng, length, rate, pool)
    if word is None:
        level = 10 ** rng.uniform(-3.5, -1.3)
        return np.clip(noise * level, -1, 1).astype(np.float32), kind
    gain = SPEECH_RMS / rms(word) * 10 ** (rng.uniform(vol_lo, vol_hi) / 20)
    speech = word * gain
    noise_level = rms(speech) / 10 ** (rng.uniform(snr_lo, snr_hi) / 20)
    clip = _place(speech, length, rng, shift) + noise * noise_level
    return np.clip(clip, -1, 1).astype(np.float32), kind


def generate_speech(spec: LabSpec, seed: int, fraction: float, progress=None,
                    keep: tuple[str, ...] = ("train", "val", "test")) -> SpeechClips:
    """Synthesise the kws clips: keywords, unknown words and silence, split by speaker; only the
    speakers of the `keep` splits are synthesised (each speaker's clips are drawn from its own seed)."""
    ds = spec.dataset
    rate = int(ds.get("sample_rate_hz", 16000))
    length = int(round(float(ds.get("clip_seconds", 1.0)) * rate))
    keywords = [label for label in spec.labels if label not in (SILENCE, UNKNOWN)]
    unknown_words = [str(w) for w in ds.get("unknown_words", [])]
    unknown_per_speaker = int(ds.get("unknown_per_speaker", 1)) if UNKNOWN in spec.labels else 0
    if unknown_per_speaker and not unknown_words:
        raise DataError(f"lab {spec.name} has an {UNKNOWN} class but no [dataset] unknown_words",
                        hint="list some non-keyword words in [dataset] unknown_words")
    speakers, held_out = plan_speakers(spec, seed, fraction)
    split_rng = np.random.default_rng([seed, 2])
    val_fraction = float(ds.get("validation_fraction", 0.1))
    splits: dict[str, str] = {}
    for speaker in speakers:  # every take of one speaker lands in the same split
        if speaker.id in splits:
            continue
        if speaker.variant_index in held_out:
            splits[speaker.id] = "test"
        else:
            splits[speaker.id] = "val" if split_rng.random() < val_fraction else "train"
    word_lists = []
    for number, speaker in enumerate(speakers):
        pick = np.random.default_rng([seed, 3, number])
        extra = pick.choice(unknown_words, size=unknown_per_speaker, replace=False).tolist() if unknown_per_speaker else []
        word_lists.append(keywords + extra)

    chosen = [number for number, speaker in enumerate(speakers) if splits[speaker.id] in keep]

    def synthesise(number: int) -> list[np.ndarray]:
        return speaker_words(speakers[number], word_lists[number], rate)

    recorded: dict[int, list[np.ndarray]] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for number, words in zip(chosen, pool.map(synthesise, chosen)):
            recorded[number] = words
            if progress:
                progress(len(recorded), len(chosen))
    pools: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for number in chosen:
        pools[splits[speakers[number].id]].extend(recorded[number][len(keywords):])
    copies = int(ds.get("augment_copies", 1))
    per_speaker = (len(keywords) + unknown_per_speaker + (1 if SILENCE in spec.labels else 0)) * copies
    audio = np.empty((len(chosen) * per_speaker, length), np.float32)  # filled in place: no stacking copy
    labels, owners, split_names, kinds = [], [], [], []
    for number in chosen:
        speaker = speakers[number]
        rng = np.random.default_rng([seed, 4, number])
        split = splits[speaker.id]
        items: list[tuple[np.ndarray | None, str]] = list(zip(recorded[number], word_lists[number][:len(keywords)]
                                                              + [UNKNOWN] * unknown_per_speaker))
        if SILENCE in spec.labels:
            items.append((None, SILENCE))
        for _ in range(copies):
            for word, label in items:
                audio[len(labels)], kind = _augment(word, length, rate, rng, ds, pools[split])
                labels.append(spec.labels.index(label))
                owners.append(speaker.id)
                split_names.append(split)
                kinds.append(kind)
    clamped = variant_counts(ds, len(espeak_variants()))[2]
    return SpeechClips(audio, np.asarray(labels, np.int64), owners, split_names, kinds, clamped)
