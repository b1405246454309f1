"""Speech synthesizers besides espeak-ng: festival and flite, both offline Debian packages.

A model trained on one synthesizer learns that synthesizer's voice, not the words; festival's
diphone and HTS voices and flite's clustergen voices are built from recordings of real speakers,
so they sound unlike espeak-ng's formant synthesis and unlike each other. Each call says all of
one speaker's words: festival writes one file per word from one process (a Scheme script),
flite says the words as sentences in one call and the recording is cut at its longest pauses.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kit.data.audio import read_wav, resample
from kit.errors import DataError, ToolMissingError

SYNTH_TIMEOUT_S = 120.0
# Festival's diphone voices take an absolute F0 target; these are the voices' own means (their .scm files).
FESTIVAL_F0_MEAN = {"kal_diphone": 105.0, "ked_diphone": 105.0}
# The Debian package of each festival voice (for the hint when one is missing).
FESTIVAL_PACKAGES = {"kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k",
                     "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}
# flite's clustergen/diphone voices: typical F0 means, so a pitch shift in semitones maps to a target.
FLITE_F0_MEAN = {"kal": 105.0, "kal16": 105.0, "awb": 110.0, "rms": 100.0, "slt": 170.0}


@dataclass(frozen=True)
class SynthSpeaker:
    """One synthetic speaker: a synthesizer's voice said slower/faster and higher/lower."""

    synth: str            # "festival" | "flite"
    voice: str            # e.g. "kal_diphone", "awb"
    take: int             # which variation of the voice
    stretch: float        # duration stretch (> 1 slower)
    semitones: float      # pitch shift from the voice's own mean

    @property
    def id(self) -> str:
        return f"{self.synth}:{self.voice}"


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise ToolMissingError(f"{name} is not installed; the lab's [dataset.{package.split()[0]}] voices need it",
                               hint=f"sudo apt-get install -y --no-install-recommends {package}")
    return path


def festival_binary() -> str:
    return _binary("festival", "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts")


def flite_binary() -> str:
    return _binary("flite", "flite")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def festival_script(speaker: SynthSpeaker, words: list[str], folder: Path) -> str:
    """The Scheme that selects the voice, sets its speed and pitch and saves one WAV per word."""
    lines = [f"(voice_{speaker.voice})", f"(Parameter.set 'Duration_Stretch {speaker.stretch:.4f})"]
    factor = 2.0 ** (speaker.semitones / 12.0)
    if speaker.voice.endswith("_hts"):  # HTS ignores Duration_Stretch: its engine takes a rate and half-tones
        lines.append(f"(set! hts_engine_params (append hts_engine_params (list '(\"-r\" {1.0 / speaker.stretch:.4f}) "
                     f"'(\"-fm\" {speaker.semitones:.3f}))))")
    else:
        mean = FESTIVAL_F0_MEAN.get(speaker.voice, 105.0) * factor
        lines.append(f"(set! int_lr_params '((target_f0_mean {mean:.2f}) (target_f0_std {mean * 0.14:.2f}) "
                     "(model_f0_mean 170) (model_f0_std 34)))")
    for index, word in enumerate(words):
        target = _quote(str(folder / f"{index}.wav"))
        lines.append(f"(utt.save.wave (utt.synth (Utterance Text {_quote(word)})) {target} 'riff)")
    return "\n".join(lines) + "\n"


def _voice_hint(speaker: SynthSpeaker) -> str:
    if speaker.synth == "festival":
        package = FESTIVAL_PACKAGES.get(speaker.voice, "the festvox package of the voice")
        return (f"install it (sudo apt-get install -y --no-install-recommends {package}) or name an installed "
                "voice (/usr/share/festival/voices) in the lab's [dataset.festival] voices")
    return "`flite -lv` lists the installed voices: name one of them in the lab's [dataset.flite] voices"


def _run(command: list[str], who: str, hint: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, check=False, timeout=SYNTH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DataError(f"{who} did not finish in {SYNTH_TIMEOUT_S:.0f} s", hint="check the synthesizer runs by hand") from None
    if result.returncode != 0:
        raise DataError(f"{who} failed: {result.stderr.decode(errors='replace').strip()[-300:]}", hint=hint)


def festival_words(speaker: SynthSpeaker, words: list[str], rate: int) -> list[np.ndarray]:
    """The speaker saying each word (one festival process, one utterance per word) at `rate`."""
    binary = festival_binary()
    with tempfile.TemporaryDirectory(prefix="kit-festival-") as name:
        folder = Path(name)
        script = folder / "say.scm"
        script.write_text(festival_script(speaker, words, folder))
        _run([binary, "--batch", str(script)], f"festival voice {speaker.voice}", _voice_hint(speaker))
        pieces = []
        for index in range(len(words)):
            path = folder / f"{index}.wav"
            if not path.is_file():
                raise DataError(f"festival voice {speaker.voice} wrote no audio for '{words[index]}'",
                                hint=_voice_hint(speaker))
            audio, source_rate = read_wav(path)
            pieces.append(resample(trim(audio), source_rate, rate))
    return pieces


def trim(audio: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """The audio without its leading and trailing silence (10 ms frames below 2% of the peak level)."""
    hop = 160
    frames = audio[: audio.size // hop * hop].reshape(-1, hop)
    if frames.size == 0:
        return audio
    energy = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    voiced = np.flatnonzero(energy > energy.max() * threshold)
    if voiced.size == 0:
        return audio
    return audio[max(0, (voiced[0] - 2) * hop):(voiced[-1] + 3) * hop].copy()


def split_at_longest_pauses(audio: np.ndarray, rate: int, expected: int) -> list[np.ndarray] | None:
    """Cut `expected` words at the `expected - 1` longest pauses between voiced frames.

    Returns None unless every chosen pause is clearly longer (1.3x) than every pause inside a word,
    so a mis-cut falls back to one call per word instead of mislabelling a clip."""
    hop = max(1, rate // 100)
    frames = audio[: audio.size // hop * hop].reshape(-1, hop)
    energy = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    if energy.size == 0 or energy.max() <= 0:
        return None
    voiced = np.flatnonzero(energy > energy.max() * 0.02)
    gaps = np.diff(voiced) - 1
    if expected == 1:
        return [audio[max(0, (voiced[0] - 2) * hop):(voiced[-1] + 3) * hop].copy()]
    if np.count_nonzero(gaps > 0) < expected - 1:
        return None
    order = np.argsort(-gaps, kind="stable")
    chosen, rest = order[:expected - 1], order[expected - 1:]
    if gaps[chosen].min() < 5 or (rest.size and gaps[chosen].min() < 1.3 * gaps[rest].max()):
        return None
    cuts = sorted(int(i) for i in chosen)
    starts = [voiced[0]] + [voiced[i + 1] for i in cuts]
    ends = [voiced[i] for i in cuts] + [voiced[-1]]
    return [audio[max(0, (a - 2) * hop):(b + 3) * hop].copy() for a, b in zip(starts, ends)]


def _flite_command(speaker: SynthSpeaker, text: str, out: Path) -> list[str]:
    mean = FLITE_F0_MEAN.get(speaker.voice, 110.0) * 2.0 ** (speaker.semitones / 12.0)
    return [flite_binary(), "-voice", speaker.voice, "--setf", f"duration_stretch={speaker.stretch:.4f}",
            "--setf", f"int_f0_target_mean={mean:.2f}", "-t", text, "-o", str(out)]


@lru_cache(maxsize=1)
def flite_voices() -> tuple[str, ...]:
    """The voices this flite has built in (`flite -lv`): it silently speaks with its default voice
    when asked for one it lacks, which would put a wrong voice under a held-out voice's name."""
    out = subprocess.run([flite_binary(), "-lv"], capture_output=True, text=True, check=False).stdout
    return tuple(out.split(":", 1)[-1].split())


def flite_words(speaker: SynthSpeaker, words: list[str], rate: int) -> list[np.ndarray]:
    """The speaker saying each word: one flite call for all of them ("Yes. No. ..."), cut at the
    pauses; a word at a time when the cut is not clean."""
    if speaker.voice not in flite_voices():
        raise DataError(f"flite has no voice '{speaker.voice}' (it has {', '.join(flite_voices())})",
                        hint=_voice_hint(speaker))
    with tempfile.TemporaryDirectory(prefix="kit-flite-") as name:
        out = Path(name) / "say.wav"
        _run(_flite_command(speaker, " ".join(f"{word.capitalize()}." for word in words), out),
             f"flite voice {speaker.voice}", _voice_hint(speaker))
        audio, source_rate = read_wav(out)
        pieces = split_at_longest_pauses(audio, source_rate, len(words))
        if pieces is None:
            pieces = []
            for word in words:
                _run(_flite_command(speaker, f"{word.capitalize()}.", out), f"flite voice {speaker.voice}",
                     _voice_hint(speaker))
                single, source_rate = read_wav(out)
                pieces.append(trim(single))
    return [resample(piece, source_rate, rate) for piece in pieces]


SYNTHESIZERS = {"festival": festival_words, "flite": flite_words}


def synth_words(speaker: SynthSpeaker, words: list[str], rate: int) -> list[np.ndarray]:
    """Dispatch to the speaker's synthesizer."""
    if speaker.synth not in SYNTHESIZERS:
        raise DataError(f"unknown speech synthesizer '{speaker.synth}'",
                        hint=f"use one of {', '.join(SYNTHESIZERS)} as a [dataset.<synthesizer>] table")
    return SYNTHESIZERS[speaker.synth](speaker, words, rate)
