"""Signal-level changes that make one synthetic voice sound like many voices in many places.

A synthesizer's voices differ from real speakers in vocal-tract length, speaking rate, the room
they are heard in and the microphone that hears them. Each change here is one of those, in plain
numpy and deterministic for the generator it is given:
- speed perturbation: resampling by 0.85-1.15 (tempo, pitch and formants move together);
- vocal-tract-length warping: the spectrum's frequency axis stretched by ~0.9-1.1 (formants move,
  duration stays);
- a room: a synthetic impulse response (direct sound, a few early reflections, an exponentially
  decaying diffuse tail of a random RT60);
- a microphone's band: a high-pass and a low-pass of random cut-offs (zero-phase Butterworth
  magnitudes applied in the frequency domain).
"""

from __future__ import annotations

import numpy as np

FFT_SIZE = 512
HOP = 128


def speed_perturb(audio: np.ndarray, factor: float) -> np.ndarray:
    """The audio played `factor` times faster (factor > 1: shorter and higher), by linear interpolation."""
    if audio.size < 2 or factor == 1.0:
        return audio.astype(np.float32)
    length = max(2, int(round(audio.size / factor)))
    positions = np.arange(length) * factor
    return np.interp(positions, np.arange(audio.size), audio, right=0.0).astype(np.float32)


WINDOW = np.hanning(FFT_SIZE + 1)[:-1]
OVERLAP = FFT_SIZE // HOP


def vocal_tract_warp(audio: np.ndarray, alpha: float) -> np.ndarray:
    """Formants moved by `alpha` (> 1 higher, a shorter vocal tract): each STFT frame's magnitude is
    read at frequency f / alpha and keeps its own phase; overlap-add with a Hann window."""
    if audio.size == 0 or alpha == 1.0:
        return audio.astype(np.float32)
    count = -(-audio.size // HOP) + OVERLAP  # frames covering the audio with OVERLAP-1 hops of padding each side
    padded = np.zeros((count + OVERLAP - 1) * HOP, np.float64)
    padded[(OVERLAP - 1) * HOP:(OVERLAP - 1) * HOP + audio.size] = audio
    frames = np.lib.stride_tricks.sliding_window_view(padded, FFT_SIZE)[::HOP][:count]
    spectrum = np.fft.rfft(frames * WINDOW, axis=1)
    bins = spectrum.shape[1]
    source = np.arange(bins) / alpha
    low = np.minimum(np.floor(source).astype(int), bins - 1)
    high = np.minimum(low + 1, bins - 1)
    weight = source - np.floor(source)
    magnitude = np.abs(spectrum)
    warped = (1 - weight) * magnitude[:, low] + weight * magnitude[:, high]
    warped[:, source > bins - 1] = 0.0
    phase = spectrum / np.maximum(magnitude, 1e-12)
    pieces = np.fft.irfft(warped * phase, n=FFT_SIZE, axis=1) * WINDOW
    out = np.zeros(padded.size, np.float64)
    for part in range(OVERLAP):  # overlap-add: the frames' quarters land on consecutive hops
        block = pieces[:, part * HOP:(part + 1) * HOP].reshape(-1)
        out[part * HOP:part * HOP + block.size] += block
    norm = 1.5  # sum of a Hann window squared over 4 overlapping frames (hop = a quarter window)
    start = (OVERLAP - 1) * HOP
    return (out[start:start + audio.size] / norm).astype(np.float32)


def room_impulse_response(rng: np.random.Generator, rate: int, rt60_s: float) -> np.ndarray:
    """Direct sound at 0, 2-5 early reflections 2-25 ms later, and a diffuse tail decaying 60 dB in
    `rt60_s` seconds (exponentially shaped noise starting at ~5 ms) holding -12..+3 dB of the direct
    sound's energy, normalised to a unit peak."""
    length = max(8, int(rt60_s * rate))
    t = np.arange(length) / rate
    tail = rng.standard_normal(length) * np.exp(-6.9078 * t / rt60_s)
    onset = int(0.005 * rate)
    tail[:onset] = 0.0
    direct_to_reverberant_db = rng.uniform(-3.0, 12.0)  # near a talker (high) to across a room (low)
    response = tail * np.sqrt(10 ** (-direct_to_reverberant_db / 10) / (np.sum(tail ** 2) + 1e-12))
    response[0] = 1.0
    for _ in range(int(rng.integers(2, 6))):
        delay = int(rng.uniform(0.002, 0.025) * rate)
        if delay < length:
            response[delay] += rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.7)
    return (response / np.max(np.abs(response))).astype(np.float32)


def convolve(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Full linear convolution by FFT (the reverberant tail is kept)."""
    size = audio.size + response.size - 1
    n = 1 << int(np.ceil(np.log2(max(size, 2))))
    out = np.fft.irfft(np.fft.rfft(audio, n) * np.fft.rfft(response, n), n)[:size]
    return out.astype(np.float32)


def band_limit(audio: np.ndarray, rate: int, highpass_hz: float | None, lowpass_hz: float | None,
               order: int = 4) -> np.ndarray:
    """A microphone's pass band: Butterworth magnitudes of `order` (zero phase) for the high-pass
    and the low-pass cut-offs, applied to the whole clip's spectrum."""
    n = 1 << int(np.ceil(np.log2(max(audio.size, 2))))
    spectrum = np.fft.rfft(audio.astype(np.float64), n)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    gain = np.ones_like(freqs)
    if lowpass_hz:
        gain /= np.sqrt(1.0 + (freqs / lowpass_hz) ** (2 * order))
    if highpass_hz:
        with np.errstate(divide="ignore"):
            gain /= np.sqrt(1.0 + (highpass_hz / np.maximum(freqs, 1e-9)) ** (2 * order))
    return np.fft.irfft(spectrum * gain, n)[:audio.size].astype(np.float32)


def _range(settings: dict, key: str, default: tuple[float, float]) -> tuple[float, float]:
    lo, hi = settings.get(key, default)
    return float(lo), float(hi)


def voice_and_room(word: np.ndarray, rate: int, rng: np.random.Generator, settings: dict) -> np.ndarray:
    """One training word through the lab's [dataset.augment] changes: speed, vocal tract, room.
    Each is applied with its probability; the draws are made whether or not it applies, so a
    clip's randomness does not depend on the others'."""
    speed = rng.uniform(*_range(settings, "speed", (1.0, 1.0)))
    alpha = rng.uniform(*_range(settings, "vocal_tract", (1.0, 1.0)))
    use_room = rng.random() < float(settings.get("room_probability", 0.0))
    rt60 = rng.uniform(*_range(settings, "rt60_s", (0.15, 0.7)))
    room_seed = int(rng.integers(1 << 31))
    out = speed_perturb(word, speed)
    out = vocal_tract_warp(out, alpha)
    if use_room:
        out = convolve(out, room_impulse_response(np.random.default_rng(room_seed), rate, rt60))
    return out


def microphone(clip: np.ndarray, rate: int, rng: np.random.Generator, settings: dict) -> np.ndarray:
    """The whole clip (speech and background) through a random microphone band, with the lab's
    `band_limit_probability`."""
    use = rng.random() < float(settings.get("band_limit_probability", 0.0))
    highpass = rng.uniform(*_range(settings, "highpass_hz", (50.0, 400.0)))
    lowpass = rng.uniform(*_range(settings, "lowpass_hz", (2500.0, 7500.0)))
    return band_limit(clip, rate, highpass, lowpass) if use else clip
