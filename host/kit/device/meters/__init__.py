"""Power meters behind one interface (`Meter`): which name opens which class.

`open_meter(name, board, reference, port)`: `modelled` (the twins: a trace from the
instruction counts and the reference board's catalog power), `lpm01a` (ST's LPM01A
PowerShield over its serial text protocol), `ppk2` (Nordic PPK2, its serial byte
commands), `js220` (Joulescope JS110/JS220, the `joulescope` package), `ina219`/`ina226` (the board's own current
sensor, read by the firmware: `kit-power`; a virtual one on the twins). See docs/ARCHITECTURE.md, "Add a meter".
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


def _ppk2(board: Board | None, reference: Board | None, port: str | None) -> Meter:
    from kit.device.meters.ppk2 import Ppk2

    if port is None:
        raise KitError("the PPK2 is read over its own USB serial port", hint="pass --meter-port /dev/ttyACM1 (its data port)")
    wired = board or reference
    return Ppk2(wired.power.supply_v if wired else 3.3, port)


def _js220(board: Board | None, reference: Board | None, port: str | None) -> Meter:
    from kit.device.meters.joulescope import Joulescope

    if port is not None:
        raise KitError("the Joulescope is found on USB by its driver, not on a serial port", hint="drop --meter-port")
    wired = board or reference
    return Joulescope(wired.power.supply_v if wired else 3.3)


def _on_board(part: str):
    def factory(board: Board | None, reference: Board | None, port: str | None) -> Meter:
        from kit.device.measure import runs_emulated
        from kit.device.meters.onboard import OnBoardMeter

        wired = reference or board
        if wired is None or wired.power.sensor != part:
            have = wired.power.sensor if wired is not None else None
            raise KitError(f"{wired.name if wired else 'this device'}'s board file names "
                           f"{'no current sensor' if have is None else 'an ' + have.upper()}, not an {part.upper()}",
                           hint="set [power] sensor (and i2c_address, shunt_ohms, pins) in the board file, "
                                f"`kit flash` again, then `kit bench BOARD --meter {have or part}`")
        if port is not None:
            raise KitError(f"the {part.upper()} is read by the board over its own serial link: it has no port",
                           hint="drop --meter-port")
        virtual = board is not None and runs_emulated(board)
        return OnBoardMeter(part, wired.power.supply_v, wired.name, virtual)
    return factory


METERS: dict[str, Callable[[Board | None, Board | None, str | None], Meter]] = {
    "modelled": _modelled,
    "lpm01a": _lpm01a,
    "ppk2": _ppk2,
    "js220": _js220,
    "ina219": _on_board("ina219"),
    "ina226": _on_board("ina226"),
}


def open_meter(name: str, board: Board | None, reference: Board | None, port: str | None) -> Meter:
    """The meter `name`, configured from the board file (`[power]`) and `--meter-port`."""
    try:
        factory = METERS[name]
    except KeyError:
        raise KitError(f"kit has no meter named {name!r}", hint=f"use one of: {', '.join(METERS)}") from None
    return factory(board, reference, port)


def choose_sync(meter: Meter, board: Board | None, requested: str | None = None) -> Sync:
    """How runs are found in the trace: the board's own timer for an on-board sensor, the
    modelled wire of the modelled meter; for a real meter `requested`, else trigger when the
    board file wires a timestamp pin, else serial timestamps."""
    if getattr(meter, "on_board", False):
        fixed: Sync | None = "board"
    elif meter.label == "modelled":
        fixed = "trigger"
    else:
        fixed = None
    if fixed is not None:
        if requested not in (None, fixed):
            raise KitError(f"the {meter.name} meter times its runs itself ({fixed}); --sync {requested} is for "
                           "external meters", hint="drop --sync")
        return fixed
    if requested is not None:
        return requested  # type: ignore[return-value]
    return "trigger" if board is not None and board.power.timestamp_pin else "serial"


__all__ = ["METERS", "Meter", "MeterError", "RunWindow", "choose_sync", "open_meter"]
