"""Joulescope JS110 / JS220 through the `joulescope` package (v1 API; the optional extra
`pip install 'kit-mlsys[joulescope]'`), which kit imports only when this meter is opened.

The API surface kit uses, and nothing more: `joulescope.scan_require_one(config="auto")`,
`device.open()`, `device.parameter_set(name, value)` (`sensor_power` on, `i_range` auto,
`sampling_frequency`, `current_lsb` = `gpi0`: the general-purpose input 0 rides in the
current's LSB field), `device.start()` / `device.stop()` / `device.close()`, and
`device.stream_buffer.sample_id_range` / `.samples_get(start, stop, fields=[...])` whose
`["signals"][field]["value"]` are arrays. The board's timestamp pin goes to GPI0; a 1 -> 0
transition there is an edge. kit reads at 100 kHz, so the pulse must last >= 10 us
([power] timestamp_us = 20). The meter's clock is the sample id / the sampling frequency.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import numpy as np

from kit.bench.samples import PowerSample
from kit.device.meters.base import Meter, MeterError
from kit.errors import ToolMissingError

SAMPLE_HZ = 100_000
FIELDS = ["current", "voltage", "current_lsb"]
STALL_S = 2.0  # a stream that stops advancing this long while acquiring is a lost device


def _scan_one() -> Any:
    try:
        import joulescope
    except ImportError:
        raise ToolMissingError("the Joulescope meter needs the `joulescope` package",
                               hint="pip install 'kit-mlsys[joulescope]' (joulescope==1.5.0)") from None
    try:
        return joulescope.scan_require_one(config="auto")
    except Exception as error:  # the package raises RuntimeError/ValueError for none or several
        raise MeterError(f"no single Joulescope found: {error}",
                         hint="plug in exactly one JS110/JS220 and close the Joulescope UI") from None


class Joulescope(Meter):
    name = "js220"
    title = "Joulescope"

    def __init__(self, supply_v: float, scan: Callable[[], Any] | None = None) -> None:
        super().__init__(supply_v, None)
        self._scan = scan or _scan_one
        self._device: Any = None
        self._reader: threading.Thread | None = None
        self._running = False
        self._next_id: int | None = None
        self._first_id = 0
        self._last_gpi = 1

    def _open(self) -> None:
        self._device = self._scan()
        try:
            self._device.open()
            for name, value in (("sensor_power", "on"), ("i_range", "auto"), ("sampling_frequency", SAMPLE_HZ),
                                ("current_lsb", "gpi0")):
                self._device.parameter_set(name, value)
        except MeterError:
            raise
        except Exception as error:
            raise MeterError(f"the Joulescope refused its settings: {error}",
                             hint="update the joulescope package / device firmware, then try again") from None

    def _start(self) -> None:
        self._next_id, self._last_gpi = None, 1
        self._device.start()
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="joulescope-reader", daemon=True)
        self._reader.start()

    def _stop(self) -> None:
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        try:
            self._device.stop()
        except Exception as error:
            self._fail(f"the Joulescope did not stop cleanly ({error})")

    def _close(self) -> None:
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if self._device is not None:
            try:
                self._device.close()
            except Exception:  # a device already gone
                pass

    def _read_loop(self) -> None:
        advanced = time.monotonic()
        while self._running:
            try:
                start, end = self._device.stream_buffer.sample_id_range
                if start is None or end is None:
                    raise RuntimeError("its stream buffer is gone")
                if self._next_id is None:
                    self._next_id = self._first_id = end
                if end <= self._next_id:
                    if time.monotonic() - advanced > STALL_S:
                        raise RuntimeError(f"no samples for {STALL_S:g} s")
                    time.sleep(0.002)
                    continue
                data = self._device.stream_buffer.samples_get(max(self._next_id, start), end, fields=FIELDS)
            except Exception as error:
                self._fail(f"the Joulescope disconnected mid-run ({error})")
                return
            self._take(max(self._next_id, start), data)
            self._next_id = end
            advanced = time.monotonic()

    def _take(self, first: int, data: dict) -> None:
        signals = data["signals"]
        current = np.asarray(signals["current"]["value"], dtype=np.float64)
        voltage = np.asarray(signals["voltage"]["value"], dtype=np.float64)
        gpi = np.asarray(signals["current_lsb"]["value"], dtype=np.int8)
        if not (len(current) == len(voltage) == len(gpi)):
            self._fail("the Joulescope sent fields of different lengths")
            return
        previous = np.concatenate(([self._last_gpi], gpi[:-1])) if len(gpi) else gpi
        for index in np.nonzero((previous == 1) & (gpi == 0))[0]:
            self._edge((first + int(index) - self._first_id) / SAMPLE_HZ)
        if len(gpi):
            self._last_gpi = int(gpi[-1])
        base = first - self._first_id
        # NaN marks a sample the instrument could not take (range switch): dropped, not zero
        self._deliver([PowerSample((base + i) / SAMPLE_HZ, float(c), float(v))
                       for i, (c, v) in enumerate(zip(current, voltage)) if np.isfinite(c) and np.isfinite(v)])
