"""Small but well-formed ESP32 firmware files for the flashing tests: ESP images made with
esptool's own image writer, and a binary partition table laid out like Arduino-ESP32's
default_8MB.csv (nvs, otadata at 0xe000, app0 at 0x10000, app1, spiffs, coredump)."""

from __future__ import annotations

import hashlib
import random
import struct
import tempfile
from pathlib import Path

from esptool.bin_image import ESP32FirmwareImage, ESP32S3FirmwareImage, ELFSection

DEFAULT_8MB = [
    ("nvs", 0x01, 0x02, 0x9000, 0x5000),
    ("otadata", 0x01, 0x00, 0xE000, 0x2000),
    ("app0", 0x00, 0x10, 0x10000, 0x330000),
    ("app1", 0x00, 0x11, 0x340000, 0x330000),
    ("spiffs", 0x01, 0x82, 0x670000, 0x180000),
    ("coredump", 0x01, 0x03, 0x7F0000, 0x10000),
]


def partition_table(entries: list[tuple[str, int, int, int, int]] = DEFAULT_8MB, with_md5: bool = True) -> bytes:
    """The binary form gen_esp32part.py writes: 32-byte records, an MD5 record, 0xFF padding."""
    body = b"".join(
        b"\xaa\x50" + struct.pack("<BBII", ptype, subtype, offset, size) + label.encode().ljust(16, b"\0") + b"\0" * 4
        for label, ptype, subtype, offset, size in entries
    )
    if with_md5:
        body += b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(body).digest()
    return body.ljust(0xC00, b"\xff")


def esp_image(chip: str, code_bytes: int, seed: int, flash_size_code: int = 3) -> bytes:
    """An ESP image (magic 0xE9, extended header with the chip id, checksum, SHA-256) with
    one code and one data segment of pseudo-random but compressible content."""
    rng = random.Random(seed)
    image = ESP32S3FirmwareImage() if chip == "esp32s3" else ESP32FirmwareImage()
    text = bytes(rng.choice(b"\x00\x01\x36\x41\x88\xff") for _ in range(code_bytes))
    data = bytes(rng.getrandbits(8) for _ in range(512))
    image.entrypoint = 0x403C9000
    image.segments = [ELFSection(b".iram0.text", 0x403C9000, text, 0), ELFSection(b".dram0.data", 0x3FCE3000, data, 0)]
    image.flash_mode = 2  # dio
    image.flash_size_freq = (flash_size_code << 4) | 0x0F  # size nibble, 80 MHz
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "image.bin"
        image.save(str(out))
        return out.read_bytes()


def boot_app0() -> bytes:
    """8 KB shaped like Arduino's boot_app0.bin (two OTA-data sectors, the first naming
    sequence 1); its bytes are only compared after flashing, never booted."""
    select = struct.pack("<I", 1) + b"\xff" * 20 + struct.pack("<I", 0x12345678)
    return (select + b"\xff" * (0x1000 - len(select))) * 2


def write_firmware(folder: Path, chip: str = "esp32s3", app_bytes: int = 48_000, with_boot_app0: bool = True) -> dict[str, Path]:
    """A PlatformIO-style firmware folder; returns role -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "bootloader": folder / "bootloader.bin",
        "partitions": folder / "partitions.bin",
        "app": folder / "firmware.bin",
    }
    files["bootloader"].write_bytes(esp_image(chip, 6_000, seed=1))
    files["partitions"].write_bytes(partition_table())
    files["app"].write_bytes(esp_image(chip, app_bytes, seed=2))
    if with_boot_app0:
        files["boot_app0"] = folder / "boot_app0.bin"
        files["boot_app0"].write_bytes(boot_app0())
    return files
