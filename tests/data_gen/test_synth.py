"""The festival and flite wrappers (kit.data.synth): one real call each, speed knobs, missing tools."""

from __future__ import annotations

import numpy as np
import pytest

from kit.data import synth
from kit.data.synth import SynthSpeaker, split_at_longest_pauses, synth_words
from kit.errors import ToolMissingError

WORDS = ["yes", "no", "stop", "marvin"]
RATE = 16000


def _check_words(pieces: list[np.ndarray]) -> None:
    assert len(pieces) == len(WORDS)
    for piece in pieces:
        assert piece.dtype == np.float32 and 0.1 * RATE < piece.size < 1.2 * RATE
        assert np.sqrt(np.mean(piece ** 2)) > 0.005  # speech, not a silent cut


@pytest.mark.parametrize("voice", ["kal_diphone", "cmu_us_slt_arctic_hts"])
def test_festival_says_each_word_and_its_stretch_slows_it(voice):
    normal = synth_words(SynthSpeaker("festival", voice, 0, 1.0, 0.0), WORDS, RATE)
    slow = synth_words(SynthSpeaker("festival", voice, 1, 1.3, 2.0), WORDS, RATE)
    _check_words(normal)
    _check_words(slow)
    assert sum(p.size for p in slow) > 1.15 * sum(p.size for p in normal)


def test_flite_says_each_word_from_one_call_and_its_stretch_slows_it():
    normal = synth_words(SynthSpeaker("flite", "awb", 0, 1.0, 0.0), WORDS, RATE)
    slow = synth_words(SynthSpeaker("flite", "awb", 1, 1.3, -2.0), WORDS, RATE)
    _check_words(normal)
    _check_words(slow)
    assert sum(p.size for p in slow) > 1.15 * sum(p.size for p in normal)


@pytest.mark.parametrize("name", ["festival", "flite"])
def test_a_missing_synthesizer_says_what_to_install(monkeypatch, name):
    monkeypatch.setattr(synth.shutil, "which", lambda _: None)
    with pytest.raises(ToolMissingError) as caught:
        synth_words(SynthSpeaker(name, "awb", 0, 1.0, 0.0), WORDS, RATE)
    assert name in str(caught.value) and "apt-get install" in caught.value.hint


def test_words_are_cut_at_the_longest_pauses_and_an_unclear_cut_is_refused():
    burst = np.ones(1600, np.float32) * 0.3
    gap_inside, gap_between = np.zeros(480, np.float32), np.zeros(3200, np.float32)
    word = np.concatenate([burst, gap_inside, burst])  # one word with a stop closure inside
    audio = np.concatenate([gap_between, word, gap_between, burst, gap_between, word, gap_between])
    pieces = split_at_longest_pauses(audio, RATE, 3)
    assert pieces is not None and [p.size // 160 for p in pieces] == [27, 14, 27]  # + 2 frames each side
    even = np.concatenate([burst, gap_inside, burst, gap_inside, burst])
    assert split_at_longest_pauses(even, RATE, 2) is None  # two equal pauses: which one? refuse


def test_an_unknown_festival_voice_names_the_voice():
    from kit.errors import DataError

    with pytest.raises(DataError) as caught:
        synth_words(SynthSpeaker("festival", "no_such_voice", 0, 1.0, 0.0), WORDS, RATE)
    assert "no_such_voice" in str(caught.value) and "[dataset.festival]" in caught.value.hint


def test_an_unknown_flite_voice_is_refused_not_spoken_by_the_default_voice():
    from kit.errors import DataError

    assert {"awb", "rms", "slt", "kal16"} <= set(synth.flite_voices())
    with pytest.raises(DataError) as caught:
        synth_words(SynthSpeaker("flite", "no_such_voice", 0, 1.0, 0.0), WORDS, RATE)
    assert "no_such_voice" in str(caught.value) and "flite -lv" in caught.value.hint
