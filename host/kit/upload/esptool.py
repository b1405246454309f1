"""Flash a PREBUILT ESP32 firmware with esptool: what a workshop hands out (a folder with
bootloader.bin, partitions.bin, firmware.bin and maybe boot_app0.bin, or a manifest JSON)
goes to the right flash offsets, and every part is MD5-verified after writing.

Where each part goes:
- bootloader and partition table: the board catalog's `[upload.esptool]` offsets (fixed by
  the chip: 0x0 and 0x8000 on the ESP32-S3);
- the application and boot_app0.bin (the OTA data that makes the bootloader start app0):
  read from the partition table itself, because that is what the bootloader will follow
  (Arduino-ESP32's default_8MB.csv puts otadata at 0xe000 and app0 at 0x10000);
- a manifest (ESP Web Tools `manifest.json` or ESP-IDF `flasher_args.json`) names its own
  offsets; a single merged image (`SKETCH.ino.merged.bin`, `firmware.factory.bin`) starts
  at the bootloader offset.

Flash mode, frequency and size are written as `keep`: a prebuilt bootloader already carries
the board's settings in its header (arduino-esp32 3.x flashes the same way), and leaving it
untouched means the flash ends up byte-identical to the files, which the MD5 check proves.

esptool runs as `python -m esptool` in a child process (its logger and exit paths stay out of
kit's process); its output is parsed for per-part progress, verification and the errors a
user can fix. Ports may be local devices or `socket://HOST:PORT` / `rfc2217://HOST:PORT` URLs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kit.catalog import get_board, list_boards
from kit.catalog.models import Board, EsptoolSettings
from kit.errors import DeviceError, KitError, ToolMissingError
from kit.link import ports as port_tools

ESP_IMAGE_MAGIC = 0xE9
PARTITION_MAGIC = b"\xaa\x50"
PARTITION_MD5_MAGIC = b"\xeb\xeb"
PARTITION_TABLE_MAX = 0xC00           # the table sector holds at most 3 KB of entries
APP_TYPE, DATA_TYPE = 0x00, 0x01
FACTORY_SUBTYPE, OTA0_SUBTYPE, OTADATA_SUBTYPE = 0x00, 0x10, 0x00
FLASH_SIZE_CODES = {0: 1, 1: 2, 2: 4, 3: 8, 4: 16, 5: 32, 6: 64, 7: 128}  # header nibble -> MB
DEFAULT_CONNECT_ATTEMPTS = 7

ROLE_ORDER = ("bootloader", "partitions", "boot_app0", "app")
ROLE_FILES = {
    "bootloader": "bootloader.bin",
    "partitions": "partitions.bin",
    "boot_app0": "boot_app0.bin",
    "app": "firmware.bin",
}
MANIFEST_NAMES = ("manifest.json", "flasher_args.json")


@dataclass(frozen=True)
class FlashPart:
    """One file and the flash offset it goes to."""

    offset: int
    path: Path
    role: str  # bootloader, partitions, boot_app0, app, or "part" (from a manifest)

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def md5(self) -> str:
        return hashlib.md5(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class FlashPlan:
    """Everything esptool needs: the chip and the parts in offset order."""

    board: str
    chip: str
    parts: tuple[FlashPart, ...]
    source: str
    notes: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(part.size for part in self.parts)


@dataclass(frozen=True)
class FlashProgress:
    """Progress of one esptool run: which part is being written and how far overall."""

    part: FlashPart
    part_fraction: float
    done_bytes: int
    total_bytes: int


@dataclass
class FlashResult:
    """What was written where, and whether esptool confirmed each part's MD5."""

    board: str
    port: str
    chip: str
    parts: tuple[FlashPart, ...]
    verified: tuple[int, ...]       # offsets whose MD5 esptool checked after writing
    seconds: float
    notes: tuple[str, ...] = ()
    output: str = field(default="", repr=False)

    @property
    def total_bytes(self) -> int:
        return sum(part.size for part in self.parts)


# --------------------------------------------------------------------------- board settings


def esptool_settings(board: Board) -> EsptoolSettings:
    """The board's `[upload.esptool]` table, or an error saying which boards have one."""
    if board.upload.esptool is None:
        raise KitError(
            f"board '{board.name}' is not flashed with esptool (upload method: {board.upload.method})",
            hint="--firmware takes a prebuilt ESP32 firmware; pick a board with an [upload.esptool] table ("
            + (", ".join(b.name for b in list_boards() if b.upload.esptool is not None) or "none")
            + f"), or run `kit flash {board.name} LAB` without --firmware",
        )
    return board.upload.esptool


def chip_name(chip: str) -> str:
    """esptool's display name of a chip id ("esp32s3" -> "ESP32-S3")."""
    from esptool.targets import CHIP_DEFS

    target = CHIP_DEFS.get(chip)
    return target.CHIP_NAME if target is not None else chip.upper()


def _image_chip_ids() -> dict[int, str]:
    from esptool.targets import CHIP_DEFS

    return {target.IMAGE_CHIP_ID: name for name, target in CHIP_DEFS.items() if target.IMAGE_CHIP_ID is not None}


# --------------------------------------------------------------------------- partition table


@dataclass(frozen=True)
class Partition:
    label: str
    type: int
    subtype: int
    offset: int
    size: int


def parse_partition_table(data: bytes, name: str = "partitions.bin") -> list[Partition]:
    """Entries of an ESP-IDF binary partition table (32-byte records, magic AA 50; an
    optional MD5 record EB EB checks the entries before it)."""
    entries: list[Partition] = []
    for start in range(0, min(len(data), PARTITION_TABLE_MAX), 32):
        record = data[start:start + 32]
        if len(record) < 32 or record[:2] == b"\xff\xff":
            break
        if record[:2] == PARTITION_MD5_MAGIC:
            if hashlib.md5(data[:start]).digest() != record[16:32]:
                raise KitError(
                    f"{name} is corrupted: its MD5 record does not match its entries",
                    hint="copy the firmware folder again from the original source",
                )
            break
        if record[:2] != PARTITION_MAGIC:
            raise KitError(
                f"{name} is not an ESP32 partition table (entry {len(entries)} starts with {record[:2].hex()}, expected aa50)",
                hint="use the partitions.bin produced by the same build as the firmware (PlatformIO: .pio/build/ENV/partitions.bin)",
            )
        ptype, subtype, offset, size = struct.unpack("<BBII", record[2:12])
        label = record[12:28].split(b"\0", 1)[0].decode("ascii", errors="replace")
        entries.append(Partition(label, ptype, subtype, offset, size))
    if not entries:
        raise KitError(f"{name} holds no partitions", hint="use the partitions.bin produced by the firmware's build")
    return entries


def boot_app_partition(table: Iterable[Partition]) -> Partition | None:
    """The app partition a fresh bootloader starts: factory if there is one, else ota_0."""
    apps = [entry for entry in table if entry.type == APP_TYPE]
    for subtype in (FACTORY_SUBTYPE, OTA0_SUBTYPE):
        found = next((entry for entry in apps if entry.subtype == subtype), None)
        if found is not None:
            return found
    return apps[0] if apps else None


def otadata_partition(table: Iterable[Partition]) -> Partition | None:
    return next((entry for entry in table if entry.type == DATA_TYPE and entry.subtype == OTADATA_SUBTYPE), None)


# --------------------------------------------------------------------------- finding the parts


def _role_of(path: Path) -> str | None:
    """Which part a file is, by PlatformIO, Arduino IDE ("sketch.ino.bootloader.bin") and
    ESP-IDF ("partition-table.bin", "ota_data_initial.bin") names."""
    name = path.name.lower()
    if not name.endswith(".bin") or "merged" in name:
        return None
    if name == "bootloader.bin" or name.endswith(".bootloader.bin"):
        return "bootloader"
    if name in ("partitions.bin", "partition-table.bin") or name.endswith(".partitions.bin"):
        return "partitions"
    if name in ("boot_app0.bin", "ota_data_initial.bin"):
        return "boot_app0"
    if name == "firmware.bin" or name.endswith(".ino.bin"):
        return "app"
    return None


def _is_merged(path: Path) -> bool:
    """A whole-flash image starting with the bootloader (Arduino IDE `SKETCH.ino.merged.bin`,
    PlatformIO / ESPHome `firmware.factory.bin`): it goes to the bootloader offset."""
    name = path.name.lower()
    return name.endswith(".bin") and ("merged" in name or name.endswith(".factory.bin"))


def plan_merged(board: Board, image: Path) -> FlashPlan:
    settings = esptool_settings(board)
    _check_image(image, "bootloader", settings.chip)
    _check_flash_size(image, board, settings)
    if settings.bootloader_offset + image.stat().st_size > board.flash_bytes:
        raise KitError(f"{image.name} is larger than the board's {board.flash_bytes:,}-byte flash", hint="use the image built for this board")
    part = FlashPart(settings.bootloader_offset, image, "merged")
    return FlashPlan(board.name, settings.chip, (part,), str(image))


def _files_by_role(files: Iterable[Path], where: str) -> dict[str, Path]:
    found: dict[str, list[Path]] = {}
    for path in files:
        role = _role_of(path)
        if role is not None:
            found.setdefault(role, []).append(path)
    chosen = {}
    for role, paths in found.items():
        if len(paths) > 1:
            listing = ", ".join(sorted(path.name for path in paths))
            raise KitError(
                f"{where} holds several {role} files: {listing}",
                hint="keep one firmware per folder, or pass the files explicitly",
            )
        chosen[role] = paths[0]
    return chosen


def _expected_listing() -> str:
    return (
        "bootloader.bin, partitions.bin, firmware.bin and optionally boot_app0.bin (PlatformIO's "
        ".pio/build/ENV/ names; Arduino IDE exports SKETCH.ino.bootloader.bin / .partitions.bin / "
        ".ino.bin work too), a single merged image (SKETCH.ino.merged.bin, firmware.factory.bin) written at the "
        "bootloader offset, or a manifest.json (ESP Web Tools) / flasher_args.json (ESP-IDF)"
    )


def _missing_error(where: str, chosen: Mapping[str, Path], present: Sequence[Path]) -> KitError:
    missing = [ROLE_FILES[role] for role in ("bootloader", "partitions", "app") if role not in chosen]
    seen = ", ".join(sorted(path.name for path in present)) or "nothing"
    return KitError(
        f"firmware in {where} is incomplete: missing {', '.join(missing)} (found: {seen})",
        hint=f"a prebuilt ESP32 firmware needs {_expected_listing()}",
    )


def _check_image(path: Path, role: str, chip: str) -> None:
    """A bootloader or app must be an ESP image (magic 0xE9) built for this chip."""
    head = path.read_bytes()[:24]
    if not head or head[0] != ESP_IMAGE_MAGIC:
        first = f"0x{head[0]:02x}" if head else "an empty file"
        raise KitError(
            f"{path.name} is not an ESP32 {role} image (it starts with {first}, images start with 0xe9)",
            hint=f"use the {ROLE_FILES[role]} from the firmware's build output, not a renamed or merged file",
        )
    if len(head) >= 14:
        (image_chip,) = struct.unpack_from("<H", head, 12)
        built_for = _image_chip_ids().get(image_chip)
        if built_for is not None and built_for != chip:
            raise KitError(
                f"{path.name} is built for {chip_name(built_for)}, but this board is an {chip_name(chip)}",
                hint=f"use the firmware built for the {chip_name(chip)} board (PlatformIO env for it), not the {chip_name(built_for)} one",
            )


def _check_flash_size(bootloader: Path, board: Board, settings: EsptoolSettings) -> None:
    """The bootloader header names the flash size it was built for; it must not exceed the board's."""
    head = bootloader.read_bytes()[:4]
    size_mb = FLASH_SIZE_CODES.get(head[3] >> 4) if len(head) == 4 else None
    board_mb = board.flash_bytes // (1024 * 1024)
    if size_mb is not None and board_mb and size_mb > board_mb:
        raise KitError(
            f"{bootloader.name} is built for {size_mb} MB of flash, the {board.title} has {board_mb} MB",
            hint=f"rebuild for this board (flash size {settings.flash_size}) or use the firmware made for it",
        )


def plan_from_files(board: Board, files: Mapping[str, Path], where: str) -> FlashPlan:
    """Offsets for bootloader / partitions / boot_app0 / app files (see the module doc)."""
    settings = esptool_settings(board)
    for role in ("bootloader", "app"):
        _check_image(files[role], role, settings.chip)
    _check_flash_size(files["bootloader"], board, settings)
    table_bytes = files["partitions"].read_bytes()
    if len(table_bytes) > PARTITION_TABLE_MAX:
        raise KitError(
            f"{files['partitions'].name} is {len(table_bytes)} bytes; a partition table is at most {PARTITION_TABLE_MAX}",
            hint="use the partitions.bin from the firmware's build output",
        )
    table = parse_partition_table(table_bytes, files["partitions"].name)
    app = boot_app_partition(table)
    if app is None:
        raise KitError(f"{files['partitions'].name} has no app partition", hint="use the partition table the firmware was built with")
    notes = []
    if app.offset != settings.app_offset:
        notes.append(f"the partition table puts the app at 0x{app.offset:x} (catalog default 0x{settings.app_offset:x}); following the table")
    app_size = files["app"].stat().st_size
    if app_size > app.size:
        raise KitError(
            f"{files['app'].name} is {app_size:,} bytes but its partition '{app.label}' holds {app.size:,}",
            hint="the build used a larger partition scheme than this partitions.bin; flash the matching partitions.bin",
        )
    bootloader_room = settings.partitions_offset - settings.bootloader_offset
    if files["bootloader"].stat().st_size > bootloader_room:
        raise KitError(
            f"{files['bootloader'].name} is larger than the {bootloader_room:,} bytes before the partition table",
            hint="use the bootloader.bin built for this chip",
        )
    parts = [
        FlashPart(settings.bootloader_offset, files["bootloader"], "bootloader"),
        FlashPart(settings.partitions_offset, files["partitions"], "partitions"),
        FlashPart(app.offset, files["app"], "app"),
    ]
    otadata = otadata_partition(table)
    if "boot_app0" in files:
        if otadata is None:
            raise KitError(
                f"{files['boot_app0'].name} is present but the partition table has no otadata partition for it",
                hint="remove boot_app0.bin (the table has no OTA slots) or use the matching partitions.bin",
            )
        parts.append(FlashPart(otadata.offset, files["boot_app0"], "boot_app0"))
    elif otadata is not None:
        notes.append(
            f"no boot_app0.bin: the OTA data at 0x{otadata.offset:x} is left as it is (if the board last ran "
            "an OTA update from app1, it keeps booting that; add boot_app0.bin to start the new app)"
        )
    return FlashPlan(board.name, settings.chip, tuple(sorted(parts, key=lambda part: part.offset)), where, tuple(notes))


def _parse_offset(value: object, where: str) -> int:
    try:
        return int(value, 0) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise KitError(f"{where}: offset {value!r} is not a number", hint="offsets are integers or hex strings like \"0x10000\"") from None


def _manifest_parts(manifest: Path, data: object, chip: str) -> tuple[list[tuple[int, str]], str | None]:
    """(offset, relative path) pairs and the chip the manifest is for, from either format."""
    if not isinstance(data, dict):
        raise KitError(f"{manifest} is not a firmware manifest (expected a JSON object)", hint=f"expected {_expected_listing()}")
    if "builds" in data:  # ESP Web Tools
        builds = data["builds"] if isinstance(data["builds"], list) else []
        wanted = chip_name(chip).lower()
        families = [str(build.get("chipFamily", "")) for build in builds if isinstance(build, dict)]
        build = next((b for b in builds if isinstance(b, dict) and str(b.get("chipFamily", "")).lower() == wanted), None)
        if build is None:
            raise KitError(
                f"{manifest.name} has no build for {chip_name(chip)} (it has: {', '.join(families) or 'none'})",
                hint=f"use the firmware built for the {chip_name(chip)} board",
            )
        parts = [(_parse_offset(part.get("offset"), manifest.name), str(part.get("path", ""))) for part in build.get("parts", [])]
        return parts, chip
    if "flash_files" in data:  # ESP-IDF flasher_args.json
        files = data["flash_files"]
        if not isinstance(files, dict):
            raise KitError(f"{manifest.name}: flash_files is not an object", hint="use the flasher_args.json written by idf.py build")
        parts = [(_parse_offset(offset, manifest.name), str(path)) for offset, path in files.items()]
        manifest_chip = data.get("extra_esptool_args", {}).get("chip") if isinstance(data.get("extra_esptool_args"), dict) else None
        return parts, manifest_chip
    raise KitError(
        f"{manifest.name} is neither an ESP Web Tools manifest (\"builds\") nor an ESP-IDF flasher_args.json (\"flash_files\")",
        hint=f"expected {_expected_listing()}",
    )


def plan_from_manifest(board: Board, manifest: Path) -> FlashPlan:
    """Offsets exactly as a manifest names them, after checking it is for this board's chip."""
    settings = esptool_settings(board)
    try:
        data = json.loads(manifest.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise KitError(f"cannot read firmware manifest {manifest}: {problem}", hint="the file must be JSON (manifest.json or flasher_args.json)") from None
    pairs, manifest_chip = _manifest_parts(manifest, data, settings.chip)
    if manifest_chip and manifest_chip != settings.chip:
        raise KitError(
            f"{manifest.name} is for {chip_name(manifest_chip)}, but {board.name} is an {chip_name(settings.chip)}",
            hint=f"use the firmware built for the {chip_name(settings.chip)} board",
        )
    if not pairs:
        raise KitError(f"{manifest.name} lists no files to flash", hint=f"expected {_expected_listing()}")
    parts = []
    for offset, relative in pairs:
        path = (manifest.parent / relative).resolve()
        if not relative or not path.is_file():
            raise KitError(
                f"{manifest.name} names {relative or '(empty path)'} at 0x{offset:x}, which is not in {manifest.parent}",
                hint="copy the whole firmware folder, with every file the manifest lists",
            )
        parts.append(FlashPart(offset, path, _role_of(path) or "part"))
    parts.sort(key=lambda part: part.offset)
    for before, after in zip(parts, parts[1:]):
        if before.offset + before.size > after.offset:
            raise KitError(
                f"{manifest.name}: {before.path.name} at 0x{before.offset:x} ({before.size:,} bytes) overlaps {after.path.name} at 0x{after.offset:x}",
                hint="the manifest offsets are wrong; rebuild it",
            )
    end = parts[-1].offset + parts[-1].size
    if end > board.flash_bytes:
        raise KitError(f"{manifest.name} writes up to 0x{end:x}, beyond the board's {board.flash_bytes:,}-byte flash", hint="use the firmware made for this board")
    return FlashPlan(board.name, settings.chip, tuple(parts), str(manifest))


FirmwareSource = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Mapping[int, str | os.PathLike[str]]


def plan_firmware(board: Board | str, firmware: FirmwareSource) -> FlashPlan:
    """Work out what goes where for `firmware`: a folder, a manifest JSON, a list of files
    (named like the folder's), or an explicit {offset: file} mapping."""
    target = get_board(board) if isinstance(board, str) else board
    settings = esptool_settings(target)
    if isinstance(firmware, Mapping):
        parts = []
        for offset, name in firmware.items():
            path = Path(name)
            if not path.is_file():
                raise KitError(f"firmware file {path} does not exist", hint="check the path")
            parts.append(FlashPart(int(offset), path, _role_of(path) or "part"))
        return FlashPlan(target.name, settings.chip, tuple(sorted(parts, key=lambda part: part.offset)), "explicit offsets")
    if isinstance(firmware, (str, os.PathLike)):
        path = Path(firmware).expanduser()
        if path.is_dir():
            return _plan_folder(target, path)
        if path.is_file() and path.suffix.lower() == ".json":
            return plan_from_manifest(target, path)
        if path.is_file():
            return _plan_file_list(target, [path])
        raise KitError(f"firmware {path} does not exist", hint=f"pass the folder holding {_expected_listing()}")
    return _plan_file_list(target, [Path(item).expanduser() for item in firmware])


def _plan_folder(board: Board, folder: Path) -> FlashPlan:
    present = sorted(path for path in folder.iterdir() if path.is_file())
    for manifest_name in MANIFEST_NAMES:
        if (folder / manifest_name).is_file():
            return plan_from_manifest(board, folder / manifest_name)
    chosen = _files_by_role(present, str(folder))
    merged = [path for path in present if _is_merged(path)]
    if not chosen and len(merged) == 1:
        return plan_merged(board, merged[0])
    if not all(role in chosen for role in ("bootloader", "partitions", "app")):
        raise _missing_error(str(folder), chosen, present)
    return plan_from_files(board, chosen, str(folder))


def _plan_file_list(board: Board, files: list[Path]) -> FlashPlan:
    for path in files:
        if not path.is_file():
            raise KitError(f"firmware file {path} does not exist", hint="check the path")
    if len(files) == 1 and files[0].suffix.lower() == ".json":
        return plan_from_manifest(board, files[0])
    if len(files) == 1 and _is_merged(files[0]):
        return plan_merged(board, files[0])
    chosen = _files_by_role(files, "the files given")
    unknown = [path.name for path in files if _role_of(path) is None]
    if unknown:
        raise KitError(
            f"cannot tell what {', '.join(unknown)} is (bootloader, partition table or app?)",
            hint=f"name the files like a build does: {_expected_listing()}",
        )
    if not all(role in chosen for role in ("bootloader", "partitions", "app")):
        raise _missing_error("the files given", chosen, files)
    return plan_from_files(board, chosen, "the files given")


# --------------------------------------------------------------------------- running esptool


def esptool_available() -> bool:
    return importlib.util.find_spec("esptool") is not None


def esptool_command(
    plan: FlashPlan,
    port: str,
    baud: int,
    stub: bool = True,
    compress: bool | None = None,
    connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
) -> list[str]:
    """The `python -m esptool ... write-flash` command line for `plan`."""
    command = [
        sys.executable, "-m", "esptool", "--chip", plan.chip, "--port", port, "--baud", str(baud),
        "--before", "default-reset", "--after", "hard-reset", "--connect-attempts", str(connect_attempts),
    ]
    if not stub:
        command.append("--no-stub")
    command += ["write-flash", "--flash-mode", "keep", "--flash-freq", "keep", "--flash-size", "keep"]
    if compress is True:
        command.append("--compress")
    elif compress is False:
        command.append("--no-compress")
    for part in plan.parts:
        command += [f"0x{part.offset:x}", str(part.path.resolve())]
    return command


def _neutral_cwd() -> str:
    """A working directory where `python -m esptool` cannot pick up a stray esptool.py
    (`-m` puts the current directory first on sys.path): esptool's own site-packages."""
    spec = importlib.util.find_spec("esptool")
    if spec is not None and spec.origin:
        return str(Path(spec.origin).resolve().parent.parent)
    return os.path.dirname(sys.executable)


_WRITING = re.compile(r"Writing '(?P<file>.+)' at 0x(?P<offset>[0-9a-fA-F]+)")
_PERCENT = re.compile(r"Writing at 0x[0-9a-fA-F]+\D.*?(?P<percent>\d+(?:\.\d+)?)%")
_VERIFIED = "Hash of data verified."
_FATAL = re.compile(r"(?:A fatal error occurred|A serial exception error occurred|Error): (?P<message>.+)")


class _ProgressTracker:
    """Turns esptool's output lines into FlashProgress updates."""

    def __init__(self, plan: FlashPlan, report: Callable[[FlashProgress], None] | None) -> None:
        self.plan = plan
        self.report = report
        # esptool names the file it writes only when there are several
        self.current: FlashPart | None = plan.parts[0] if len(plan.parts) == 1 else None
        self.finished_bytes = 0
        self.verified: list[int] = []

    def line(self, text: str) -> None:
        started = _WRITING.search(text)
        if started:
            offset = int(started.group("offset"), 16)
            if self.current is not None:
                self.finished_bytes += self.current.size
            self.current = next((part for part in self.plan.parts if part.offset == offset), None)
            self._emit(0.0)
            return
        progress = _PERCENT.search(text)
        if progress and self.current is not None:
            self._emit(min(1.0, float(progress.group("percent")) / 100.0))
            return
        if _VERIFIED in text and self.current is not None:
            self.verified.append(self.current.offset)

    def _emit(self, fraction: float) -> None:
        if self.report is None or self.current is None:
            return
        done = self.finished_bytes + int(self.current.size * fraction)
        self.report(FlashProgress(self.current, fraction, done, self.plan.total_bytes))


def run_esptool(
    command: Sequence[str], plan: FlashPlan, progress: Callable[[FlashProgress], None] | None = None,
    echo: Callable[[str], None] | None = None,
) -> tuple[int, str, list[int]]:
    """Run esptool, streaming its output through the progress parser. Returns the exit code,
    the whole output and the offsets whose MD5 esptool verified."""
    environment = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200", TERM="dumb")
    tracker = _ProgressTracker(plan, progress)
    lines: list[str] = []
    try:
        process = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=environment, text=True, errors="replace", bufsize=1, cwd=_neutral_cwd(),
        )
    except OSError as problem:
        raise ToolMissingError(f"cannot run esptool: {problem}", hint="pip install esptool==5.6.0 (kit's pinned version)") from None
    assert process.stdout is not None
    with process:
        for raw in process.stdout:
            for text in raw.replace("\r", "\n").splitlines():
                if not text.strip():
                    continue
                lines.append(text)
                tracker.line(text)
                if echo is not None:
                    echo(text)
    return process.returncode, "\n".join(lines), tracker.verified


# --------------------------------------------------------------------------- failures


def _fatal_message(output: str) -> str:
    found = [match.group("message").strip() for match in _FATAL.finditer(output)]
    if found:
        return found[-1]
    tail = [line for line in output.splitlines() if line.strip()]
    return tail[-1].strip() if tail else "no output"


def _bootloader_steps(board: Board) -> str:
    return board.bootloader_hint or "hold the BOOT button, press and release RESET, then release BOOT"


def explain_failure(output: str, exit_code: int, board: Board, port: str, plan: FlashPlan) -> KitError:
    """The KitError (with its fix) for a failed esptool run."""
    chip = chip_name(plan.chip)
    remote = "://" in port
    wrong_chip = re.search(r"This chip is (?P<found>[\w-]+(?:\([\w]+\))?), not (?P<wanted>[\w-]+)", output)
    if wrong_chip:
        return DeviceError(
            f"the board on {port} is an {wrong_chip.group('found')}, but {board.name} is an {chip}",
            hint=f"the chip on that port is an {wrong_chip.group('found')}: run the command with that board's name "
            f"(`kit boards` lists them), or plug in the {board.title} and choose its port (`kit ports`)",
        )
    wrong_image = re.search(r"'(?P<file>[^']+)' is not an? (?P<chip>[\w-]+) image|Input does not contain an? (?P<chip2>[\w-]+) image", output)
    if wrong_image:
        name = Path(wrong_image.group("file")).name if wrong_image.group("file") else "the bootloader"
        return KitError(
            f"{name} is not an {chip} image: esptool refused to write it",
            hint=f"use the firmware built for the {board.title} ({chip})",
        )
    if "MD5 of file does not match data in flash" in output or "written flash region is empty" in output:
        bad = _last_written_part(output, plan)
        where = f" at 0x{bad.offset:x} ({bad.path.name})" if bad else ""
        return DeviceError(
            f"verification failed: the flash{where} does not hold what was written (MD5 mismatch)",
            hint=f"run the command again with a lower --baud (e.g. 115200) and a short data USB cable plugged straight "
            f"into the computer; if it keeps failing, erase the chip first: "
            f"`python -m esptool --chip {plan.chip} --port {port} erase-flash`",
        )
    no_answer = any(
        text in output
        for text in ("Failed to connect", "No serial data received", "Wrong boot mode detected", "getting no sync reply", "Invalid head of packet")
    )
    if no_answer:
        if remote:
            hint = (f"make sure the bridge at {port} (RFC2217 server or socket) is running and wired to the {board.title}, "
                    f"and put the board in download mode: {_bootloader_steps(board)}; then run the command again")
        else:
            hint = (f"put the {board.title} in download mode: {_bootloader_steps(board)}; then run the command again "
                    "(on the XIAO the port may change name in download mode: check `kit ports`)")
        return DeviceError(f"no answer from the {chip} bootloader on {port}", hint=hint)
    if re.search(r"Could not open .*port|could not open port|Permission denied|Errno 13|Errno 16|busy", output, re.IGNORECASE):
        if remote:
            return DeviceError(f"cannot connect to {port}: {_fatal_message(output)}", hint="check the host and port of the bridge, and that it is running")
        if re.search(r"Errno 2\]|No such file", output):
            return DeviceError(f"serial port {port} does not exist", hint="check the name with `kit ports` and that the board is plugged in")
        if re.search(r"Permission denied|Errno 13", output):
            return port_tools.permission_error(port)
        if re.search(r"Errno 16|Errno 11|Device or resource busy|exclusively lock", output, re.IGNORECASE):
            return port_tools.busy_error(port, port_tools.port_holders(port))
        return DeviceError(f"cannot open {port}: {_fatal_message(output)}", hint="check the port name with `kit ports` and that the board is plugged in")
    if re.search(r"Timed out waiting for packet|Serial data stream stopped|Lost connection|Packet content transfer stopped", output):
        return DeviceError(
            f"the connection to {port} dropped while flashing: {_fatal_message(output)}",
            hint="use a short data USB cable straight into the computer (no hub), try a lower --baud (115200), and run again",
        )
    return DeviceError(
        f"esptool failed (exit {exit_code}): {_fatal_message(output)}",
        hint="the esptool output above says more; run again with a lower --baud, or see https://docs.espressif.com/projects/esptool/en/latest/troubleshooting.html",
    )


def _last_written_part(output: str, plan: FlashPlan) -> FlashPart | None:
    found = list(_WRITING.finditer(output))
    if not found:
        return None
    offset = int(found[-1].group("offset"), 16)
    return next((part for part in plan.parts if part.offset == offset), None)


def _unverified_error(unverified: Sequence[FlashPart], output: str) -> DeviceError:
    names = ", ".join(f"{part.path.name} at 0x{part.offset:x}" for part in unverified)
    if "Secure Download Mode" in output:
        return DeviceError(
            f"the firmware was written but not verified ({names}): the chip is in secure download mode, "
            "where the ROM refuses to read flash back",
            hint="that is an eFuse setting of this chip; if you trust the transfer, flash again with --no-verify "
            "(Python: verify=False)",
        )
    return DeviceError(
        f"esptool wrote the firmware but did not confirm the MD5 of {names}",
        hint="run again; if esptool keeps skipping the check, flash with --no-verify (Python: verify=False) "
        "and watch the board's serial output to confirm it boots",
    )


# --------------------------------------------------------------------------- the entry point


def resolve_port(board: Board, port: str | None, force: bool = False) -> str:
    """The port to flash through: URLs as given, local ports checked (exists, permitted,
    not held by another program); without a port, the board's USB id picks one."""
    chosen = port_tools.choose_port(board, port, force=force, allow_bootloader=True)
    port_tools.open_checks(chosen)
    return chosen


def flash_firmware(
    board: Board | str,
    firmware_dir_or_files: FirmwareSource,
    port: str | None = None,
    baud: int | None = None,
    verify: bool = True,
    *,
    progress: Callable[[FlashProgress], None] | None = None,
    log: Callable[[str], None] | None = None,
    echo: Callable[[str], None] | None = None,
    stub: bool = True,
    compress: bool | None = None,
    connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
    force_port: bool = False,
) -> FlashResult:
    """Write a prebuilt ESP32 firmware to `board` through `port` and verify it.

    `verify`: esptool 5 always compares each part's MD5 with the flash after writing (the old
    `--verify` flag is gone); with verify=True kit also insists that esptool confirmed every
    part (it skips the check in secure download mode), else raises. `stub=False` talks to the
    ROM loader only (slower, no compression by default). `progress` receives FlashProgress
    updates, `log` kit's notes, `echo` every esptool output line.
    """
    target = get_board(board) if isinstance(board, str) else board
    settings = esptool_settings(target)
    plan = plan_firmware(target, firmware_dir_or_files)
    if not esptool_available():
        raise ToolMissingError("esptool is not installed in kit's Python environment", hint="pip install esptool==5.6.0")
    chosen_port = resolve_port(target, port, force=force_port)
    for note in plan.notes:
        if log is not None:
            log(f"note: {note}")
    command = esptool_command(plan, chosen_port, baud or settings.baud, stub=stub, compress=compress, connect_attempts=connect_attempts)
    started = time.monotonic()
    exit_code, output, verified = run_esptool(command, plan, progress, echo)
    seconds = time.monotonic() - started
    if exit_code != 0:
        raise explain_failure(output, exit_code, target, chosen_port, plan)
    unverified = [part for part in plan.parts if part.offset not in verified]
    if verify and unverified:
        raise _unverified_error(unverified, output)
    return FlashResult(target.name, chosen_port, plan.chip, plan.parts, tuple(verified), seconds, plan.notes, output)


__all__ = [
    "FlashPart", "FlashPlan", "FlashProgress", "FlashResult", "Partition", "boot_app_partition", "chip_name",
    "esptool_command", "esptool_settings", "explain_failure", "flash_firmware", "otadata_partition",
    "parse_partition_table", "plan_firmware", "plan_from_files", "plan_from_manifest", "resolve_port", "run_esptool",
]
