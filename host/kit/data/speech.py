"""Keyword-spotting audio from espeak-ng (and festival / flite, kit.data.synth): many synthetic
speakers, noise, shifts and gains; training clips also through other rooms and microphones.

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

from kit.data.acoustics import microphone, voice_and_room
from kit.data.audio import decode_wav_bytes, fit_length, resample, rms
from kit.data.noise import background
from kit.data.spec import LabSpec
from kit.data.synth import SynthSpeaker, synth_words
from kit.errors import DataError, ToolMissingError

SILENCE = "_silence_"
UNKNOWN = "_unknown_"
SYNTH_TABLES = ("festival", "flite")  # [dataset.<name>] tables, in this order
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
             pool: list[np.ndarray], acoustic: np.random.Generator | None = None) -> tuple[np.ndarray, str]:
    """A word (or silence when None) with volume change, time shift and background noise; with an
    `acoustic` generator (training clips of a lab with [dataset.augment]) also another speed, vocal
    tract, room and microphone (kit.data.acoustics), drawn from that generator alone."""
    settings = ds.get("augment") or {}
    snr_lo, snr_hi = _range(ds, "noise_db", (5.0, 30.0))
    vol_lo, vol_hi = _range(ds, "volume_db", (-6.0, 6.0))
    shift = int(float(ds.get("time_shift_ms", 100)) * rate / 1000)
    noise, kind = background(rng, length, rate, pool)
    if word is None:
        level = 10 ** rng.uniform(-3.5, -1.3)
        clip = noise * level
    else:
        if acoustic is not None:
            word = voice_and_room(word, rate, acoustic, settings)
        gain = SPEECH_RMS / rms(word) * 10 ** (rng.uniform(vol_lo, vol_hi) / 20)
        speech = word * gain
        noise_level = rms(speech) / 10 ** (rng.uniform(snr_lo, snr_hi) / 20)
        clip = _place(speech, length, rng, shift) + noise * noise_level
    if acoustic is not None:
        clip = microphone(clip, rate, acoustic, settings)
    return np.clip(clip, -1, 1).astype(np.float32), kind


def class_names(ds: dict) -> tuple[str, str]:
    """(silence class, unknown class): a lab names them in [dataset] silence_label / unknown_label
    (the book's kws-yesno says "noise" and "unknown"); kws keeps _silence_ and _unknown_."""
    return str(ds.get("silence_label", SILENCE)), str(ds.get("unknown_label", UNKNOWN))


@dataclass(frozen=True)
class Take:
    """One synthesised take: who says it, its group id and split, its words and its rng stream."""

    speaker: Speaker | SynthSpeaker
    group: str
    split: str
    words: tuple[str, ...]
    stream: tuple[int, ...]
    copies: int


def held_out_synthesizers(ds: dict) -> list[str]:
    """Synthesizers the lab keeps out of training entirely (role = "held-out"): test split only."""
    return [name for name in SYNTH_TABLES if (ds.get(name) or {}).get("role") == "held-out"]


def _extra_words(rng: np.random.Generator, unknown_words: list[str], count: int) -> list[str]:
    return rng.choice(unknown_words, size=count, replace=False).tolist() if count else []


def espeak_takes(spec: LabSpec, seed: int, fraction: float, keywords: list[str], unknown_words: list[str],
                 unknown_count: int, copies: int) -> list[Take]:
    """espeak-ng's takes: whole variants held out as the test speakers, other speakers train or val."""
    speakers, held_out = plan_speakers(spec, seed, fraction)
    split_rng = np.random.default_rng([seed, 2])
    val_fraction = float(spec.dataset.get("validation_fraction", 0.1))
    splits: dict[str, str] = {}
    for speaker in speakers:  # every take of one speaker lands in the same split
        if speaker.id in splits:
            continue
        if speaker.variant_index in held_out:
            splits[speaker.id] = "test"
        else:
            splits[speaker.id] = "val" if split_rng.random() < val_fraction else "train"
    takes = []
    for number, speaker in enumerate(speakers):
        extra = _extra_words(np.random.default_rng([seed, 3, number]), unknown_words, unknown_count)
        takes.append(Take(speaker, speaker.id, splits[speaker.id], tuple(keywords + extra), (seed, 4, number), copies))
    return takes


def synth_takes(ds: dict, name: str, seed: int, fraction: float, keywords: list[str], unknown_words: list[str],
                unknown_count: int) -> list[Take]:
    """A [dataset.<name>] synthesizer's takes: `speakers_per_voice` variations of each voice (the
    synthesizer's own speed and pitch knobs). role "train": each take is train or val; role
    "held-out": every take is test, grouped "<synth>:<voice>"."""
    table = ds.get(name) or {}
    number_of = SYNTH_TABLES.index(name)
    rng = np.random.default_rng([seed, 8, number_of])
    held_out = table.get("role") == "held-out"
    per_voice = max(1, int(round(int(table.get("speakers_per_voice", 10)) * fraction)))
    stretch = _range(table, "duration_stretch", (0.85, 1.2))
    semitones = _range(table, "semitones", (-3.0, 3.0))
    val_fraction = float(ds.get("validation_fraction", 0.1))
    copies = int(table.get("augment_copies", ds.get("augment_copies", 1)))
    takes = []
    for voice in table.get("voices", []):
        for take in range(per_voice):
            speaker = SynthSpeaker(name, str(voice), take, round(float(rng.uniform(*stretch)), 4),
                                   round(float(rng.uniform(*semitones)), 3))
            split = "test" if held_out else ("val" if rng.random() < val_fraction else "train")
            group = speaker.id if held_out else f"{speaker.id}/{take}"
            stream = (seed, 6, number_of, len(takes))
            extra = _extra_words(np.random.default_rng([seed, 5, number_of, len(takes)]), unknown_words, unknown_count)
            takes.append(Take(speaker, group, split, tuple(keywords + extra), stream, copies))
    return takes


def _say(take: Take, rate: int) -> list[np.ndarray]:
    if isinstance(take.speaker, SynthSpeaker):
        return synth_words(take.speaker, list(take.words), rate)
    return speaker_words(take.speaker, list(take.words), rate)


def generate_speech(spec: LabSpec, seed: int, fraction: float, progress=None,
                    keep: tuple[str, ...] = ("train", "val", "test")) -> SpeechClips:
    """Synthesise the kws clips: keywords, unknown words and silence, split by speaker; only the
    takes of the `keep` splits are synthesised (each take's clips are drawn from its own seed).
    espeak-ng always speaks; [dataset.festival] / [dataset.flite] add those synthesizers."""
    ds = spec.dataset
    rate = int(ds.get("sample_rate_hz", 16000))
    length = int(round(float(ds.get("clip_seconds", 1.0)) * rate))
    silence, unknown = class_names(ds)
    keywords = [label for label in spec.labels if label not in (silence, unknown)]
    unknown_words = [str(w) for w in ds.get("unknown_words", [])]
    unknown_count = int(ds.get("unknown_per_speaker", 1)) if unknown in spec.labels else 0
    if unknown_count and not unknown_words:
        raise DataError(f"lab {spec.name} has an {unknown} class but no [dataset] unknown_words",
                        hint="list some non-keyword words in [dataset] unknown_words")
    copies = int(ds.get("augment_copies", 1))
    takes = espeak_takes(spec, seed, fraction, keywords, unknown_words, unknown_count, copies)
    for name in SYNTH_TABLES:
        if name in ds:
            takes += synth_takes(ds, name, seed, fraction, keywords, unknown_words, unknown_count)
    chosen = [take for take in takes if take.split in keep]

    recorded: list[list[np.ndarray]] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for words in pool.map(lambda take: _say(take, rate), chosen):
            recorded.append(words)
            if progress:
                progress(len(recorded), len(chosen))
    pools: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for take, words in zip(chosen, recorded):
        pools[take.split].extend(words[len(keywords):])
    has_silence = silence in spec.labels
    total = sum((len(take.words) + (1 if has_silence else 0)) * take.copies for take in chosen)
    audio = np.empty((total, length), np.float32)  # filled in place: no stacking copy
    labels, owners, split_names, kinds = [], [], [], []
    augmenting = bool(ds.get("augment"))
    for take, words in zip(chosen, recorded):
        rng = np.random.default_rng(list(take.stream))
        acoustic = np.random.default_rng([*take.stream, 7]) if augmenting and take.split == "train" else None
        items: list[tuple[np.ndarray | None, str]] = list(zip(words, keywords + [unknown] * unknown_count))
        if has_silence:
            items.append((None, silence))
        for _ in range(take.copies):
            for word, label in items:
                audio[len(labels)], kind = _augment(word, length, rate, rng, ds, pools[take.split], acoustic)
                labels.append(spec.labels.index(label))
                owners.append(take.group)
                split_names.append(take.split)
                kinds.append(kind)
    clamped = variant_counts(ds, len(espeak_variants()))[2]
    return SpeechClips(audio, np.asarray(labels, np.int64), owners, split_names, kinds, clamped)
