"""Reading and validating the catalog files.

Every problem a user can make in a catalog file (TOML syntax, a missing or mistyped field,
an unknown key, a twin or lab that does not exist) becomes a CatalogError that names the
file and the field, so nobody has to read a pydantic traceback.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kit import paths
from kit.catalog.models import Board, Kit, Lab, MemoryLimits
from kit.errors import CatalogError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _display(path: Path) -> str:
    """A path as the user knows it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(paths.REPO_ROOT))
    except ValueError:
        return str(path)


def _field_name(location: tuple[Any, ...]) -> str:
    """pydantic's error location as a TOML-ish dotted key: usb[0].vid."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _describe_error(error: dict[str, Any], model: type[BaseModel]) -> str:
    """One validation error as `field 'x': what is wrong`, with a spelling hint for unknown keys."""
    location = tuple(error["loc"])
    field = _field_name(location)
    if error["type"] == "extra_forbidden":
        known = _known_keys(model, location[:-1])
        close = difflib.get_close_matches(str(location[-1]), known, n=1)
        suggestion = f" (did you mean '{close[0]}'?)" if close else ""
        return f"field '{field}': unknown key{suggestion}"
    if error["type"] == "missing":
        return f"field '{field}': required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:
        return message
    return f"field '{field}': {message} (got {error.get('input')!r})"


def _known_keys(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at `location`, for spelling suggestions."""
    current: Any = model
    for part in location:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _inner_model(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside `X`, `X | None` or `list[X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _inner_model(argument)
        if found is not None:
            return found
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors name the file and the line."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise CatalogError(f"{_display(path)} does not exist", hint="check the name and the folder") from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(
            f"{_display(path)} is not valid TOML: {error}",
            hint="fix the syntax at that line (strings need quotes, tables [name], arrays [a, b])",
        ) from None


def validate_file(path: Path, model: type[ModelT], expected_name: str) -> ModelT:
    """Read `path` and validate it as `model`; its `name` must equal `expected_name`."""
    data = read_toml(path)
    try:
        item = model.model_validate(data)
    except ValidationError as error:
        problems = [_describe_error(detail, model) for detail in error.errors()]  # type: ignore[arg-type]
        raise CatalogError(
            f"{_display(path)} is invalid: " + "; ".join(problems),
            hint=f"edit {_display(path)}; the fields are documented in kit/catalog/models.py ({model.__name__})",
        ) from None
    if getattr(item, "name") != expected_name:
        raise CatalogError(
            f"{_display(path)} is invalid: field 'name': is {getattr(item, 'name')!r} but the file is named {expected_name!r}",
            hint=f"set name = \"{expected_name}\" or rename the file",
        )
    return item


def unknown_name_error(kind: str, name: str, known: list[str], list_command: str) -> CatalogError:
    """The error for a name that is not in the catalog, with the closest known name."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if not close:
        close = [candidate for candidate in known if name and (name in candidate or candidate in name)][:1]
    suggestion = f"did you mean '{close[0]}'? " if close else ""
    return CatalogError(
        f"unknown {kind} '{name}'; known {kind}s: {', '.join(known) or '(none)'}",
        hint=f"{suggestion}run `{list_command}` to list them",
    )


def _with_article(kinds: list[str]) -> str:
    """['imu'] -> 'an imu', ['camera', 'microphone'] -> 'a camera and a microphone'."""
    return " and ".join(("an " if kind[0] in "aeiou" else "a ") + kind for kind in kinds)


class Catalog:
    """The boards, labs and kits found in three folders (the repository's by default).

    Files are re-read when they change on disk, so a long-lived process sees edits."""

    def __init__(
        self,
        boards_dir: Path | None = None,
        labs_dir: Path | None = None,
        kits_dir: Path | None = None,
    ) -> None:
        self.boards_dir = boards_dir or paths.BOARDS_DIR
        self.labs_dir = labs_dir or paths.LABS_DIR
        self.kits_dir = kits_dir or paths.KITS_DIR
        self._cache: dict[Path, tuple[tuple[int, int], BaseModel]] = {}

    # names ---------------------------------------------------------------
    def board_names(self) -> list[str]:
        return sorted(path.stem for path in self.boards_dir.glob("*.toml"))

    def lab_names(self) -> list[str]:
        return sorted(path.parent.name for path in self.labs_dir.glob("*/lab.toml"))

    def kit_names(self) -> list[str]:
        return sorted(path.stem for path in self.kits_dir.glob("*.toml"))

    # single items --------------------------------------------------------
    def get_board(self, name: str) -> Board:
        if name not in self.board_names():
            raise self._not_a_board_error(name)
        board = self._load(self.boards_dir / f"{name}.toml", Board, name)
        self._check_hal(board)
        self._check_twin(board)
        return board

    def _not_a_board_error(self, name: str) -> CatalogError:
        """Unknown board; when the name is a workshop kit or a lab, say so and what to type."""
        kit_name = name if name in self.kit_names() else f"{name}-kit" if f"{name}-kit" in self.kit_names() else None
        if kit_name is not None:
            board = self.get_kit(kit_name).board
            return CatalogError(
                f"'{name}' is a workshop kit, not a board: the {kit_name} kit is built around the board '{board}'",
                hint=f"use the board's name, e.g. `kit flash {board} LAB` (`kit kits` shows each kit's board)",
            )
        if name in self.lab_names():
            return CatalogError(
                f"'{name}' is a lab, not a board",
                hint=f"name the board first: `kit flash BOARD {name}` (`kit boards` lists the boards)",
            )
        return unknown_name_error("board", name, self.board_names(), "kit boards")

    def get_lab(self, name: str) -> Lab:
        if name not in self.lab_names():
            raise unknown_name_error("lab", name, self.lab_names(), "kit labs")
        return self._load(self.labs_dir / name / "lab.toml", Lab, name)

    def get_kit(self, name: str) -> Kit:
        if name not in self.kit_names():
            raise unknown_name_error("kit", name, self.kit_names(), "kit kits")
        kit = self._load(self.kits_dir / f"{name}.toml", Kit, name)
        self._check_kit_references(kit)
        return kit

    # lists ----------------------------------------------------------------
    def list_boards(self) -> list[Board]:
        return [self.get_board(name) for name in self.board_names()]

    def list_labs(self) -> list[Lab]:
        return [self.get_lab(name) for name in self.lab_names()]

    def list_kits(self) -> list[Kit]:
        return [self.get_kit(name) for name in self.kit_names()]

    def twin_of(self, board: Board) -> Board:
        """The emulated board that stands in for `board` (itself if it is emulated)."""
        if board.is_emulated:
            return board
        if board.emulated_twin is None:
            raise CatalogError(
                f"board '{board.name}' has no emulated twin",
                hint="emulation exists for mcu boards only; run `kit boards` to see the twins",
            )
        return self.get_board(board.emulated_twin)

    def emulation_limits(self, board: Board) -> MemoryLimits:
        """Memory limits for running `board` on its emulated twin: the REAL board's limits,
        clipped to what the emulator's memory map can hold, so a model that would not fit
        the real board does not fit its twin either."""
        twin = self.twin_of(board)
        real = board.memory_limits()
        assert twin.emulator is not None
        return MemoryLimits(
            board=board.name,
            flash_bytes=min(real.flash_bytes, twin.emulator.code_size),
            ram_bytes=min(real.ram_bytes, twin.emulator.ram_size),
        )

    # internals ------------------------------------------------------------
    def _load(self, path: Path, model: type[ModelT], name: str) -> ModelT:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]  # type: ignore[return-value]
        item = validate_file(path, model, name)
        self._cache[path] = (stamp, item)
        return item

    def _check_hal(self, board: Board) -> None:
        """firmware.hal must name a folder in firmware/hal (the HAL sources kit copies)."""
        if board.firmware is None:
            return
        hal_root = paths.FIRMWARE_DIR / "hal"
        if not (hal_root / board.firmware.hal).is_dir():
            known = sorted(path.name for path in hal_root.iterdir() if path.is_dir())
            raise CatalogError(
                f"{_display(self.boards_dir / f'{board.name}.toml')} is invalid: field 'firmware.hal': "
                f"no HAL folder firmware/hal/{board.firmware.hal}",
                hint=f"use one of the HALs: {', '.join(known)}",
            )

    def _check_twin(self, board: Board) -> None:
        if board.emulated_twin is None:
            return
        file = _display(self.boards_dir / f"{board.name}.toml")
        if board.emulated_twin not in self.board_names():
            raise CatalogError(
                f"{file} is invalid: field 'emulated_twin': board '{board.emulated_twin}' does not exist",
                hint=f"use one of the emulated boards: {', '.join(self._emulated_names())}",
            )
        twin = self._load(self.boards_dir / f"{board.emulated_twin}.toml", Board, board.emulated_twin)
        if not twin.is_emulated:
            raise CatalogError(
                f"{file} is invalid: field 'emulated_twin': board '{twin.name}' is not an emulated board (kind {twin.kind})",
                hint=f"use one of the emulated boards: {', '.join(self._emulated_names())}",
            )
        if board.firmware is not None and twin.firmware is not None and \
                board.firmware.kernels == "arm-dsp" and twin.firmware.kernels != "arm-dsp":
            raise CatalogError(
                f"{file} is invalid: field 'emulated_twin': the board runs firmware.kernels = 'arm-dsp' but its twin "
                f"'{twin.name}' cannot (kernels = '{twin.firmware.kernels}')",
                hint="pick a twin whose core has the Arm DSP extension, or set kernels = 'portable'",
            )

    def _emulated_names(self) -> list[str]:
        names = []
        for name in self.board_names():
            try:
                if self._load(self.boards_dir / f"{name}.toml", Board, name).is_emulated:
                    names.append(name)
            except CatalogError:
                continue
        return names

    def _check_kit_references(self, kit: Kit) -> None:
        file = _display(self.kits_dir / f"{kit.name}.toml")
        if kit.board not in self.board_names():
            raise CatalogError(
                f"{file} is invalid: field 'board': board '{kit.board}' does not exist",
                hint=f"known boards: {', '.join(self.board_names())}",
            )
        has = {sensor.kind for sensor in kit.sensors}
        for index, lab_name in enumerate(kit.labs):
            if lab_name not in self.lab_names():
                raise CatalogError(
                    f"{file} is invalid: field 'labs[{index}]': lab '{lab_name}' does not exist",
                    hint=f"known labs: {', '.join(self.lab_names())}",
                )
            lacking = [kind for kind in self.get_lab(lab_name).sensors if kind not in has]
            if lacking:
                raise CatalogError(
                    f"{file} is invalid: field 'labs[{index}]': lab '{lab_name}' needs {_with_article(lacking)}, "
                    f"which the kit's sensors do not include",
                    hint="add the sensor to the kit's `sensors` or drop the lab",
                )
