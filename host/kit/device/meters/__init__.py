"""Power meters behind one interface (`Meter`): which name opens which class.

`open_meter(name, board, reference, port)`: `modelled` (the twins: a trace from the
instruction counts and the reference board's catalog power), `lpm01a` (ST's LPM01A
PowerShield over its serial text protocol). See docs/ARCHITECTURE.md, "Add a meter".
"""

from __future__ import annotations

from typing import Callable

from kit.catalog import Board
from kit.device.meters.base import Meter, MeterError, RunWindow, Sync
from kit.errors import KitError


def _modelled(board: Board | None, reference: Board | None, port: str | None) -> Meter:
    from kit.device.meters.modelled import ModelledMeter

    if reference is None:
        raise KitError("the modelled meter needs a board whose power kit knows",
                       hint="name the board: `kit bench BOARD --meter modelled`")
    supply = (board or reference).power.supply_v
    return ModelledMeter(supply, reference.active_power_mw, reference.idle_power_mw, reference.name)


def _lpm01a(board: Board | None, reference: Board | None, port: str | None) -> Meter:
    from kit.device.meters.lpm01a import Lpm01a

    if port is None:
        raise KitError("the LPM01A is read over its own serial port", hint="pass --meter-port /dev/ttyACM1 (its ST-LINK VCP)")
    return Lpm01a((board or reference).power.supply_v if (board or reference) else 3.3, port)


METERS: dict[str, Callable[[Board | None, Board | None, str | None], Meter]] = {
    "modelled": _modelled,
    "lpm01a": _lpm01a,
}


def open_meter(name: str, board: Board | None, reference: Board | None, port: str | None) -> Meter:
    """The meter `name`, configured from the board file (`[power]`) and `--meter-port`."""
    try:
        factory = METERS[name]
    except KeyError:
        raise KitError(f"kit has no meter named {name!r}", hint=f"use one of: {', '.join(METERS)}") from None
    return factory(board, reference, port)


def default_sync(meter: Meter, board: Board | None) -> Sync:
    """Trigger when the board file wires a timestamp pin (or the meter models one), else serial."""
    if meter.label == "modelled":
        return "trigger"
    return "trigger" if board is not None and board.power.timestamp_pin else "serial"


__all__ = ["METERS", "Meter", "MeterError", "RunWindow", "default_sync", "open_meter"]
