"""Feature pipelines checked against signals whose answer is known."""

from __future__ import annotations

import numpy as np

from kit.features import extract, imu_spectral, mfcc, scale_pixels, vibration_spectrum
from kit.features.mfcc import MfccConfig, hz_to_mel, log_mel, mel_matrix

CONFIG = MfccConfig()


def test_mfcc_layout_matches_kws01():
    assert (CONFIG.window, CONFIG.stride, CONFIG.fft_length) == (480, 320, 512)
    out = mfcc(np.zeros((2, 16000), np.float32), CONFIG)
    assert out.shape == (2, 49, 10) and out.dtype == np.float32


def test_pure_tone_lights_up_the_mel_bin_holding_its_frequency():
    t = np.arange(16000) / 16000
    for freq in (300.0, 1000.0, 2500.0):
        spectrum = log_mel(np.sin(2 * np.pi * freq * t)[None, :], CONFIG)[0]
        peak_bin = int(np.argmax(spectrum.mean(axis=0)))
        centres = np.linspace(hz_to_mel(CONFIG.lower_hz), hz_to_mel(CONFIG.upper_hz), CONFIG.mel_bins + 2)[1:-1]
        assert abs(peak_bin - int(np.argmin(np.abs(centres - hz_to_mel(freq))))) <= 1, freq
        assert np.ptp(spectrum[:, peak_bin]) < 1.0  # a steady tone is steady in every frame


def test_mfcc_first_coefficient_tracks_loudness():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(16000).astype(np.float32)
    quiet, loud = mfcc(np.stack([0.01 * noise, 0.1 * noise]), CONFIG)[:, :, 0].mean(axis=1)
    # 20 dB more power adds ln(100) to every log-mel bin, i.e. ln(100)*sqrt(40) to coefficient 0
    assert abs((loud - quiet) - np.log(100) * np.sqrt(CONFIG.mel_bins)) < 0.05


def test_mel_filters_cover_the_band_without_gaps():
    weights = mel_matrix(CONFIG)
    freqs = np.linspace(0, 8000, weights.shape[0])
    inside = (freqs > 100) & (freqs < 3900)
    assert (weights[inside].sum(axis=1) > 0).all()
    assert (weights[freqs > 4100].sum(axis=1) == 0).all()


def test_imu_spectral_feature_count_and_known_values():
    rate, n = 50, 100
    t = np.arange(n) / rate
    window = np.zeros((1, n, 3))
    window[0, :, 0] = np.sin(2 * np.pi * 10 * t)       # 10 Hz on x
    window[0, :, 2] = 1.0                               # gravity only on z
    features = imu_spectral(window, fft_length=32, bands=16)
    assert features.shape == (1, 57)
    x, z = features[0, :19], features[0, 38:]
    assert abs(x[0] - np.sqrt(0.5)) < 0.02             # RMS of a unit sine
    assert abs(x[1]) < 0.05                            # symmetric: no skew
    assert abs(x[2] + 1.5) < 0.05                      # a sine's excess kurtosis is -1.5
    assert int(np.argmax(x[3:])) == 5                  # 10 Hz sits in band 6 of 16 (1.56 Hz bins)
    assert z[0] < 1e-6                                 # constant gravity has no motion energy


def test_vibration_spectrum_puts_a_tone_in_its_band():
    rate, n = 1000, 256
    t = np.arange(n) / rate
    window = np.zeros((1, n, 3))
    window[0, :, 1] = np.sin(2 * np.pi * 125 * t)
    features = vibration_spectrum(window, fft_length=256, bands=32).reshape(3, 32)
    assert features.shape == (3, 32)
    assert int(np.argmax(features[1])) == 7            # 125 Hz = bin 32, bins 29..32 are band 8
    assert features[1].max() > features[0].max() + 10


def test_image_scaling():
    pixels = np.array([[[[0, 128, 255]]]], np.uint8)
    assert np.allclose(scale_pixels(pixels, "unit"), [0, 128 / 255, 1])
    assert np.allclose(scale_pixels(pixels, "signed"), [-1, 128 / 127.5 - 1, 1], atol=1e-6)
    assert extract({"type": "image", "scale": "raw"}, {}, pixels).max() == 255.0


def test_resampling_espeak_rate_keeps_a_tone_and_the_duration():
    from kit.data.audio import resample
    rate = 22050
    tone = np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)   # 1 s
    out = resample(tone, rate, 16000)
    assert out.size == 16000
    expected = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.abs(out[500:-500] - expected[500:-500]).max() < 1e-3
