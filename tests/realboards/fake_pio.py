"""A FAKE `pio` for the upload tests (no real board or PlatformIO platform exists here).

It records its arguments (JSON lines in $FAKE_PIO_LOG), prints $FAKE_PIO_OUTPUT (a file, e.g.
PlatformIO's real offline error text) and exits with $FAKE_PIO_RC. With $FAKE_PIO_BOARD_LINK
set it plays the board too: it compiles the project it was given (-d) natively against the
stand-ins, starts that program on a pseudo-terminal and links the terminal's path at
$FAKE_PIO_BOARD_LINK (the serial port the test's fake USB descriptors show), so kit's
handshake after the "upload" talks to firmware built from exactly that project. A build
without `-t upload` (an esptool board: kit writes the images itself) also leaves ESP32-S3
images in .pio/build/ENV as PlatformIO's espressif32 platform does (bootloader.bin,
partitions.bin, firmware.bin), shaped like real ones (tests/esptool/esp_firmware.py).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tty
from pathlib import Path


def start_board(project_dir: Path, board: str, link: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from realboard_helpers import build_native

    extra = tuple(os.environ.get("FAKE_PIO_EXTRA_FLAGS", "").split())
    binary = build_native(project_dir, board, link.parent / "fake-board-build", extra)
    master, slave = pty.openpty()
    tty.setraw(slave)
    log = open(link.parent / "fake-board.stderr", "wb")
    process = subprocess.Popen([str(binary)], stdin=master, stdout=master, stderr=log, start_new_session=True)
    slave_path = os.ttyname(slave)
    os.close(slave)
    os.close(master)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(slave_path)
    Path(str(link) + ".pid").write_text(str(process.pid))


def write_esp_images(build_dir: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "esptool"))
    from esp_firmware import write_firmware

    write_firmware(build_dir, with_boot_app0=False)


def main(argv: list[str]) -> int:
    log = os.environ.get("FAKE_PIO_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps(argv) + "\n")
    output = os.environ.get("FAKE_PIO_OUTPUT")
    if output:
        sys.stdout.write(Path(output).read_text())
    code = int(os.environ.get("FAKE_PIO_RC", "0"))
    board_link = os.environ.get("FAKE_PIO_BOARD_LINK")
    if code == 0 and argv[:1] == ["run"] and "-t" not in argv:
        write_esp_images(Path(argv[argv.index("-d") + 1]) / ".pio" / "build" / argv[argv.index("-e") + 1])
    if board_link and code == 0:
        start_board(Path(argv[argv.index("-d") + 1]), os.environ["FAKE_PIO_BOARD"], Path(board_link))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
