"""The training-clip acoustics (kit.data.acoustics): each change does what it says, deterministically."""

from __future__ import annotations

import numpy as np

from kit.data.acoustics import (band_limit, convolve, microphone, room_impulse_response, speed_perturb,
                                vocal_tract_warp, voice_and_room)

RATE = 16000
SETTINGS = {"speed": [0.85, 1.15], "vocal_tract": [0.88, 1.12], "room_probability": 1.0, "rt60_s": [0.2, 0.6],
            "band_limit_probability": 1.0, "highpass_hz": [100.0, 300.0], "lowpass_hz": [3000.0, 5000.0]}


def _power_above(audio: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1.0 / RATE)
    return float(spectrum[freqs > hz].sum() / spectrum.sum())


def _centroid(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    return float(np.sum(np.fft.rfftfreq(audio.size, 1.0 / RATE) * spectrum) / spectrum.sum())


def _band_noise(lo: float, hi: float, seed: int = 0) -> np.ndarray:
    white = np.random.default_rng(seed).standard_normal(RATE)
    return band_limit(white, RATE, lo, hi, order=8)


def test_a_low_pass_removes_the_energy_above_its_cut_off_and_a_high_pass_below():
    white = np.random.default_rng(1).standard_normal(RATE).astype(np.float32)
    assert _power_above(white, 4000.0) > 0.45
    low = band_limit(white, RATE, None, 2000.0)
    assert _power_above(low, 4000.0) < 0.005              # 4th order: -24 dB an octave above
    high = band_limit(white, RATE, 1000.0, None)
    assert 1 - _power_above(high, 500.0) < 0.005
    assert low.shape == white.shape and low.dtype == np.float32


def test_speed_perturbation_shortens_and_raises_a_tone():
    t = np.arange(RATE) / RATE
    tone = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    faster = speed_perturb(tone, 1.1)
    assert faster.size == round(RATE / 1.1)
    peak = np.fft.rfftfreq(faster.size, 1.0 / RATE)[np.abs(np.fft.rfft(faster)).argmax()]
    assert abs(peak - 550) < 3


def test_vocal_tract_warp_moves_the_spectrum_and_keeps_the_length():
    noise = _band_noise(1000.0, 2000.0)
    up, down = vocal_tract_warp(noise, 1.12), vocal_tract_warp(noise, 0.88)
    assert up.size == down.size == noise.size
    ratio_up, ratio_down = _centroid(up) / _centroid(noise), _centroid(down) / _centroid(noise)
    assert 1.07 < ratio_up < 1.17 and 0.83 < ratio_down < 0.93
    assert np.allclose(vocal_tract_warp(noise, 1.0), noise)


def test_a_room_reverberates_for_about_its_rt60():
    response = room_impulse_response(np.random.default_rng(3), RATE, 0.5)
    assert response.size == RATE // 2 and response[0] == np.max(np.abs(response)) == 1.0
    energy = response[1:].astype(np.float64) ** 2
    early, late = energy[int(0.01 * RATE):int(0.1 * RATE)].mean(), energy[int(0.35 * RATE):int(0.45 * RATE)].mean()
    assert 10 * np.log10(early / late) > 25            # ~60 dB per 0.5 s: ~36 dB over these 0.35 s
    click = np.zeros(100, np.float32)
    click[10] = 1.0
    wet = convolve(click, response)
    assert wet.size == click.size + response.size - 1 and np.allclose(wet[10:10 + response.size], response, atol=1e-5)


def test_the_changes_are_deterministic_per_generator_and_differ_between_generators():
    word = _band_noise(300.0, 3000.0, seed=4)[:8000]

    def run(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return microphone(voice_and_room(word, RATE, rng, SETTINGS), RATE, rng, SETTINGS)

    assert np.array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_without_settings_a_word_is_left_as_it_is():
    word = _band_noise(300.0, 3000.0, seed=5)[:8000].astype(np.float32)
    rng = np.random.default_rng(0)
    assert np.allclose(voice_and_room(word, RATE, rng, {}), word)
    assert np.array_equal(microphone(word, RATE, rng, {}), word)
