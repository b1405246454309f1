"""The sensors a build compiles, from the board file (and a workshop kit's file), as firmware
defines and PlatformIO lib_deps. Both kinds of build call `sensor_defines`: a real board's
Arduino HAL compiles only the drivers its board carries, and a twin's virtual sensors answer
as the real board's parts.

Defines per sensor the HAL reads (one with a `hal_part`): KIT_HAVE_<KIND> (MICROPHONE, IMU,
CAMERA), KIT_<KIND>_<hal_part> (e.g. KIT_IMU_LSM6DSOX), KIT_<KIND>_I2C_ADDR and one
KIT_<KIND>_PIN_<NAME> per pin. A board with `revisions` builds one of them (the first by
default); a kit (kits/<name>.toml, same board) adds its own sensors, replacing the board's of
the same kind when it names a `hal_part`.
"""

from __future__ import annotations

from kit import catalog
from kit.catalog.models import Board, Sensor
from kit.errors import KitError

# The sensor kinds kit_hal.h has calls for (KIT_SENSOR_*), and their define names.
HAL_KINDS = {"microphone": "MICROPHONE", "imu": "IMU", "camera": "CAMERA"}


def build_revision(board: Board, revision: str | None) -> str | None:
    """The revision this build is for: `revision` if the board lists it, else the first one."""
    if revision is None:
        return board.revisions[0] if board.revisions else None
    if revision not in board.revisions:
        known = ", ".join(board.revisions) or "none"
        raise KitError(f"{board.name} has no revision '{revision}' (its board file lists: {known})",
                       hint=f"use one of: {known}" if board.revisions else "leave --revision out for this board")
    return revision


def _kit_sensors(board: Board, kit: str | None) -> list[Sensor]:
    if kit is None:
        return []
    kit_obj = catalog.get_kit(kit)
    if kit_obj.board != board.name:
        raise KitError(f"the {kit} kit is built around {kit_obj.board}, not {board.name}",
                       hint=f"build it for its board: `kit project {kit_obj.board} LAB --kit {kit}`")
    return list(kit_obj.sensors)


def build_sensors(board: Board, revision: str | None = None, kit: str | None = None) -> list[Sensor]:
    """The sensors the HAL drives in this build (each with a hal_part), one per kind."""
    chosen = build_revision(board, revision)
    sensors = [s for s in board.sensors if s.hal_part and s.revision in (None, chosen)]
    for extra in _kit_sensors(board, kit):
        if extra.hal_part:
            sensors = [s for s in sensors if s.kind != extra.kind] + [extra]
    return [s for s in sensors if s.kind in HAL_KINDS]


def sensor_defines(board: Board, revision: str | None = None, kit: str | None = None) -> list[str]:
    """-D flags naming the sensors (and their parts, I2C addresses and pins) this build compiles."""
    flags: list[str] = []
    for sensor in build_sensors(board, revision, kit):
        kind = HAL_KINDS[sensor.kind]
        flags += [f"-DKIT_HAVE_{kind}", f"-DKIT_{kind}_{sensor.hal_part}"]
        if sensor.i2c_address is not None:
            flags.append(f"-DKIT_{kind}_I2C_ADDR=0x{sensor.i2c_address:02X}")
        flags += [f"-DKIT_{kind}_PIN_{name.upper()}={number}" for name, number in sensor.pins.items()]
    return flags


def sensor_lib_deps(board: Board, revision: str | None = None, kit: str | None = None) -> list[str]:
    """The pinned PlatformIO libraries of the drivers this build compiles (core libraries need none)."""
    return [driver for sensor in build_sensors(board, revision, kit) for driver in sensor.drivers]


__all__ = ["HAL_KINDS", "build_revision", "build_sensors", "sensor_defines", "sensor_lib_deps"]
