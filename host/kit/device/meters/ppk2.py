"""Nordic Power Profiler Kit II over its USB serial port, speaking the byte commands the
`ppk2-api` package sends (kit's own implementation; the package is not needed):

  0x19 GET_META_DATA       -> ASCII `key: value` lines (calibration per range), then `END`
  0x11 SET_POWER_MODE m    (1 ampere meter, 2 source meter: the PPK2 powers the board)
  0x0d REGULATOR_SET a b   source voltage: a = 3 + (mV - 800 + 32) // 256, b = remainder
  0x0c DEVICE_RUNNING_SET s (1: DUT power on)
  0x06 AVERAGE_START / 0x07 AVERAGE_STOP

While measuring it streams 100,000 samples a second, 4 bytes each, little endian: bits 0..13
the ADC reading, 14..16 the current range (0..4), 24..31 the logic port D0..D7. A reading
becomes amps through the range's calibration from the metadata: x = (4 * adc - O) * 1.8 /
163840 / R, I = UG * (x * (GS * x + GI) + S * V + I0) (the nRF Connect Power Profiler's
formula). When the PPK2 switches its measuring range the first samples in the new range spike;
kit smooths them as nRF Connect Power Profiler and ppk2-api do (`RangeSwitchFilter`), so the
samples on disk, the energy and the peak power are the filtered ones, as those tools show them.
The timestamp pin goes to logic input D0: a 1 -> 0 transition is an edge. The PPK2 samples
D0 at 100 kHz, so the pulse must last >= 10 us: set [power] timestamp_us = 20 for it.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from kit.bench.samples import PowerSample
from kit.device.meters.base import Meter, MeterError

SAMPLE_HZ = 100_000
GET_META_DATA, SET_POWER_MODE, REGULATOR_SET, DEVICE_RUNNING_SET = 0x19, 0x11, 0x0D, 0x0C
AVERAGE_START, AVERAGE_STOP = 0x06, 0x07
METADATA_TIMEOUT_S = 2.0
KEYS = ("R", "GS", "GI", "O", "S", "I", "UG")
BATCH_SAMPLES = 2_000  # written to disk at least every 20 ms of trace


def regulator_bytes(millivolts: int) -> tuple[int, int]:
    """The two REGULATOR_SET argument bytes for a source voltage (800..5000 mV)."""
    if not 800 <= millivolts <= 5000:
        raise MeterError(f"the PPK2 sources 800..5000 mV, not {millivolts} mV", hint="set [power] supply_v")
    offset = millivolts - 800 + 32
    return 3 + offset // 256, offset % 256


def parse_metadata(text: str) -> dict[str, list[float]]:
    """Calibration per range from the metadata text (`R0: 1031.64` ...), range-checked."""
    values: dict[str, list[float | None]] = {key: [None] * 5 for key in KEYS}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if len(key) >= 2 and key[:-1] in values and key[-1] in "01234":
            try:
                values[key[:-1]][int(key[-1])] = float(value)
            except ValueError:
                raise MeterError(f"the PPK2's calibration line {line!r} is not a number",
                                 hint="update the PPK2's firmware with nRF Connect, then try again") from None
    missing = [f"{key}{i}" for key, row in values.items() for i, v in enumerate(row) if v is None]
    if missing or any(r <= 0 for r in values["R"]):  # type: ignore[operator]
        raise MeterError(f"the PPK2 sent no usable calibration ({', '.join(missing[:5]) or 'a range resistor <= 0'})",
                         hint="is this a PPK2? Unplug and replug it, then run `kit bench` again")
    return values  # type: ignore[return-value]


def ranges_of(words: np.ndarray) -> np.ndarray:
    """The measuring range (0..4) of each 32-bit sample word."""
    return np.minimum((words >> 14) & 0x7, 4).astype(np.int64)


def decode(words: np.ndarray, calibration: dict[str, list[float]], supply_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Amps and the logic byte of each 32-bit sample word."""
    adc = (words & 0x3FFF).astype(np.float64) * 4
    ranges = ranges_of(words)
    table = {key: np.asarray(calibration[key], dtype=np.float64)[ranges] for key in KEYS}
    x = (adc - table["O"]) * (1.8 / 163840) / table["R"]
    amps = table["UG"] * (x * (table["GS"] * x + table["GI"]) + (table["S"] * supply_v + table["I"]))
    return amps, ((words >> 24) & 0xFF).astype(np.uint8)


EMA_BLOCK = 512  # (1 - 0.18) ** -512 ~ 1e44: the closed form below stays well inside float64


def ema(values: np.ndarray, alpha: float, previous: float) -> np.ndarray:
    """y[i] = alpha * x[i] + (1 - alpha) * y[i-1] with y[-1] = previous, without a Python loop:
    per block y[i] = d[i] * (previous + alpha * cumsum(x / d)[i]), d[i] = (1 - alpha) ** (i + 1)."""
    out = np.empty(len(values), dtype=np.float64)
    for start in range(0, len(values), EMA_BLOCK):
        block = values[start:start + EMA_BLOCK]
        decay = (1.0 - alpha) ** np.arange(1, len(block) + 1, dtype=np.float64)
        out[start:start + len(block)] = decay * (previous + alpha * np.cumsum(block / decay))
        previous = float(out[start + len(block) - 1])
    return out


class RangeSwitchFilter:
    """The spike filter of nRF Connect Power Profiler (SerialDevice.getAdcResult) and ppk2-api
    (get_adc_result), with their defaults. Two running averages follow every sample: `avg`
    (alpha 0.18) and `avg4` (alpha 0.06, for range 4, the highest-current range). For the
    `samples` (3) samples from a range switch on, the output is the running average instead of
    the sample: `avg4` in range 4, else `avg`; in range 4 the first two of them do not update
    either average (their spike is left out). Other samples pass unchanged. State carries over
    from one chunk to the next and is reset at each acquisition start (as Power Profiler does at
    AVERAGE_START). Vectorised: the windows depend only on the ranges, the averages are EMAs."""

    def __init__(self, alpha: float = 0.18, alpha4: float = 0.06, samples: int = 3) -> None:
        self.alpha, self.alpha4, self.samples = alpha, alpha4, samples
        self.reset()

    def reset(self) -> None:
        self._count = 0
        self._last_range: int | None = None
        self._last_switch: int | None = None  # absolute index of the latest range switch
        self._avg: float | None = None
        self._avg4: float | None = None

    def __call__(self, amps: np.ndarray, ranges: np.ndarray) -> np.ndarray:
        if len(amps) == 0:
            return amps
        index = np.arange(self._count, self._count + len(amps))
        previous = np.concatenate(([ranges[0] if self._last_range is None else self._last_range], ranges[:-1]))
        switched = np.where(ranges != previous, index, -1)
        if self._last_switch is not None:
            switched[0] = max(switched[0], self._last_switch)
        last_switch = np.maximum.accumulate(switched)
        since = np.where(last_switch >= 0, index - last_switch, self.samples)
        smoothed = since < self.samples
        held = smoothed & (ranges == 4) & (since < 2)
        avg = self._averages(amps, held, self.alpha, self._avg)
        avg4 = self._averages(amps, held, self.alpha4, self._avg4)
        self._avg, self._avg4 = float(avg[-1]), float(avg4[-1])
        self._count += len(amps)
        self._last_range = int(ranges[-1])
        self._last_switch = int(last_switch[-1]) if last_switch[-1] >= 0 else None
        return np.where(smoothed, np.where(ranges == 4, avg4, avg), amps)

    @staticmethod
    def _averages(amps: np.ndarray, held: np.ndarray, alpha: float, previous: float | None) -> np.ndarray:
        """The running average after each sample; a held sample keeps the one before it."""
        # previous is None only at an acquisition's first sample, which is never held (no switch yet)
        start = float(amps[0]) if previous is None else previous
        running = np.concatenate(([start], ema(amps[~held], alpha, start)))
        return running[np.cumsum(~held)]  # a held sample takes the latest update before it


class Ppk2(Meter):
    name = "ppk2"
    title = "Nordic PPK2"

    def __init__(self, supply_v: float, port: str, source: bool = True, spike_filter: bool = True) -> None:
        super().__init__(supply_v, port)
        self.source = source
        self.spike_filter = RangeSwitchFilter() if spike_filter else None
        self.calibration: dict[str, list[float]] = {}
        self._serial = None
        self._reader: threading.Thread | None = None
        self._running = False
        self._count = 0
        self._last_d0 = 1
        self._pending = b""

    def _write(self, *payload: int) -> None:
        try:
            self._serial.write(bytes(payload))
        except Exception as error:  # pyserial raises SerialException/OSError
            self._fail(f"the PPK2 on {self.port} went away ({error})")
            self.check_alive()

    def _open(self) -> None:
        import serial

        try:
            self._serial = serial.serial_for_url(self.port, baudrate=9600, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as error:
            raise MeterError(f"cannot open the PPK2 on {self.port}: {error}",
                             hint="check the port (the PPK2's data port) and that nRF Connect does not hold it") from None
        self._write(GET_META_DATA)
        self.calibration = parse_metadata(self._read_metadata())
        self._write(SET_POWER_MODE, 2 if self.source else 1)
        self._write(REGULATOR_SET, *regulator_bytes(int(round(self.supply_v * 1000))))
        self._write(DEVICE_RUNNING_SET, 1)

    def _read_metadata(self) -> str:
        deadline = time.monotonic() + METADATA_TIMEOUT_S
        text = b""
        while b"END" not in text:
            if time.monotonic() > deadline:
                raise MeterError(f"the PPK2 on {self.port} sent no metadata within {METADATA_TIMEOUT_S:g} s "
                                 f"(got {len(text)} bytes)", hint="is this the PPK2's port? Replug it and try again")
            text += self._serial.read(4096)
        return text.decode("ascii", "replace")

    def _start(self) -> None:
        self._count, self._last_d0, self._pending = 0, 1, b""
        if self.spike_filter is not None:
            self.spike_filter.reset()
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="ppk2-reader", daemon=True)
        self._write(AVERAGE_START)
        self._reader.start()

    def _stop(self) -> None:
        self._write(AVERAGE_STOP)
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=2.0)

    def _close(self) -> None:
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # closing a vanished port
                pass

    def _read_loop(self) -> None:
        while self._running:
            try:
                chunk = self._serial.read(max(4, min(self._serial.in_waiting, BATCH_SAMPLES * 4)))
            except Exception as error:
                self._fail(f"the PPK2 on {self.port} disconnected mid-run ({error})")
                return
            if chunk:
                self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        data = self._pending + chunk
        usable = len(data) - len(data) % 4
        self._pending = data[usable:]
        if not usable:
            return
        words = np.frombuffer(data[:usable], dtype="<u4")
        amps, logic = decode(words, self.calibration, self.supply_v)
        if self.spike_filter is not None:
            amps = self.spike_filter(amps, ranges_of(words))
        first = self._count
        d0 = (logic & 1).astype(np.int8)
        previous = np.concatenate(([self._last_d0], d0[:-1]))
        for index in np.nonzero((previous == 1) & (d0 == 0))[0]:
            self._edge((first + int(index)) / SAMPLE_HZ)
        self._last_d0 = int(d0[-1])
        self._count += len(words)
        self._deliver([PowerSample((first + i) / SAMPLE_HZ, float(a), self.supply_v) for i, a in enumerate(amps)])
