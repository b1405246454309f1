"""ESP32 direct flashing: kit.upload.esptool drives the real esptool (5.6.0) over
socket:// against rom_peer, a stand-in ESP32-S3 ROM loader that checks every packet and
keeps what it received in an 8 MB flash image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from esp_firmware import esp_image, partition_table, write_firmware
from rom_peer import PeerOptions, RomPeer

from kit.catalog import get_board
from kit.errors import DeviceError, KitError
from kit.upload.esptool import (
    FlashProgress,
    flash_firmware,
    parse_partition_table,
    plan_firmware,
)

BOARD = "xiao-esp32s3"


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_firmware(tmp_path_factory.mktemp("fw") / "kws-xiao")


def assert_flash_holds(peer: RomPeer, placed: dict[int, Path]) -> None:
    for offset, path in placed.items():
        data = path.read_bytes()
        assert bytes(peer.flash[offset:offset + len(data)]) == data, f"{path.name} at 0x{offset:x}"


def test_flash_folder_through_stub_writes_every_part_at_its_offset(firmware: dict[str, Path]) -> None:
    seen: list[FlashProgress] = []
    with RomPeer() as peer:
        result = flash_firmware(BOARD, firmware["app"].parent, peer.url, progress=seen.append)
    assert peer.log.violations == []
    assert peer.log.stub_started and peer.log.stub_bytes > 1000  # esptool's stub was uploaded and "ran"
    assert "FLASH_DEFL_DATA" in peer.log.commands  # compressed transfer, inflated by the peer
    assert peer.log.bauds == [460800]  # the catalog's baud
    placed = {0x0: firmware["bootloader"], 0x8000: firmware["partitions"], 0xE000: firmware["boot_app0"], 0x10000: firmware["app"]}
    assert_flash_holds(peer, placed)
    # nothing else was touched: the byte after the app is still erased
    end = 0x10000 + firmware["app"].stat().st_size
    assert peer.flash[end:end + 64] == b"\xff" * 64
    assert sorted(result.verified) == sorted(placed)
    assert [part.offset for part in result.parts] == sorted(placed)
    assert seen and seen[-1].done_bytes == seen[-1].total_bytes == result.total_bytes
    assert [item.done_bytes for item in seen] == sorted(item.done_bytes for item in seen)


def test_rom_only_with_compression_uses_rom_deflate_commands(firmware: dict[str, Path]) -> None:
    with RomPeer() as peer:
        result = flash_firmware(get_board(BOARD), firmware["app"].parent, peer.url, baud=115200, stub=False, compress=True)
    assert peer.log.violations == []
    assert not peer.log.stub_started
    assert "SPI_ATTACH" in peer.log.commands and "FLASH_DEFL_BEGIN" in peer.log.commands
    assert peer.log.bauds == []  # 115200 is the ROM's own rate: no change requested
    assert_flash_holds(peer, {part.offset: part.path for part in result.parts})


def test_corrupted_md5_is_a_verification_error(firmware: dict[str, Path]) -> None:
    with RomPeer(PeerOptions(corrupt_md5=True)) as peer, pytest.raises(DeviceError) as caught:
        flash_firmware(BOARD, firmware["app"].parent, peer.url)
    error = caught.value
    assert "verification failed" in error.message and "bootloader.bin" in error.message
    assert error.hint and "--baud" in error.hint and "erase-flash" in error.hint


def test_silent_peer_gives_the_download_mode_instructions(firmware: dict[str, Path]) -> None:
    with RomPeer(PeerOptions(silent=True)) as peer, pytest.raises(DeviceError) as caught:
        flash_firmware(BOARD, firmware["app"].parent, peer.url, connect_attempts=1)
    error = caught.value
    assert "no answer" in error.message and peer.url in error.message
    assert error.hint and "hold BOOT" in error.hint and "RESET" in error.hint


def test_wrong_chip_names_the_chip_found_and_the_board(firmware: dict[str, Path]) -> None:
    with RomPeer(PeerOptions(chip="esp32")) as peer, pytest.raises(DeviceError) as caught:
        flash_firmware(BOARD, firmware["app"].parent, peer.url)
    assert "is an ESP32," in caught.value.message and BOARD in caught.value.message and "ESP32-S3" in caught.value.message
    assert peer.log.writes == []


def test_folder_without_bootloader_lists_what_is_expected(firmware: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "handout"
    folder.mkdir()
    for role in ("partitions", "app"):
        shutil.copy(firmware[role], folder)
    with pytest.raises(KitError) as caught:
        flash_firmware(BOARD, folder, "socket://127.0.0.1:9")  # fails before any connection
    assert "missing bootloader.bin" in caught.value.message
    assert "firmware.bin" in caught.value.message  # what was found
    assert caught.value.hint and "partitions.bin" in caught.value.hint and "manifest.json" in caught.value.hint


def test_image_built_for_another_chip_is_refused_before_connecting(tmp_path: Path) -> None:
    files = write_firmware(tmp_path / "fw", with_boot_app0=False)
    files["bootloader"].write_bytes(esp_image("esp32", 2_000, seed=5))
    with pytest.raises(KitError) as caught:
        plan_firmware(BOARD, files["app"].parent)
    assert "built for ESP32, but this board is an ESP32-S3" in caught.value.message


def test_no_boot_app0_is_allowed_with_a_note(tmp_path: Path) -> None:
    files = write_firmware(tmp_path / "fw", with_boot_app0=False)
    plan = plan_firmware(BOARD, files["app"].parent)
    assert [part.offset for part in plan.parts] == [0x0, 0x8000, 0x10000]
    assert any("boot_app0" in note for note in plan.notes)


def test_esp_web_tools_manifest_places_parts_where_it_says(firmware: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "web"
    folder.mkdir()
    for role, path in firmware.items():
        shutil.copy(path, folder / path.name)
    manifest = {
        "name": "kws on XIAO",
        "builds": [
            {"chipFamily": "ESP32", "parts": [{"path": "nope.bin", "offset": 4096}]},
            {"chipFamily": "ESP32-S3", "parts": [
                {"path": "bootloader.bin", "offset": 0},
                {"path": "partitions.bin", "offset": 32768},
                {"path": "boot_app0.bin", "offset": 57344},
                {"path": "firmware.bin", "offset": 0x20000},
            ]},
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with RomPeer() as peer:
        result = flash_firmware(BOARD, folder, peer.url)
    assert peer.log.violations == []
    assert_flash_holds(peer, {0x0: folder / "bootloader.bin", 0x8000: folder / "partitions.bin",
                              0xE000: folder / "boot_app0.bin", 0x20000: folder / "firmware.bin"})
    assert len(result.verified) == 4


def test_manifest_for_another_chip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flasher_args.json").write_text(json.dumps(
        {"flash_files": {"0x1000": "bootloader.bin"}, "extra_esptool_args": {"chip": "esp32"}}))
    with pytest.raises(KitError, match="is for ESP32, but xiao-esp32s3 is an ESP32-S3"):
        plan_firmware(BOARD, tmp_path)


def test_partition_table_parsing_and_md5_check() -> None:
    table = parse_partition_table(partition_table())
    assert [(entry.label, entry.offset) for entry in table][:3] == [("nvs", 0x9000), ("otadata", 0xE000), ("app0", 0x10000)]
    damaged = bytearray(partition_table())
    damaged[2 * 32 + 4] ^= 0x01  # flip a bit in app0's offset: the MD5 record no longer matches
    with pytest.raises(KitError, match="corrupted"):
        parse_partition_table(bytes(damaged))
    with pytest.raises(KitError, match="not an ESP32 partition table"):
        parse_partition_table(b"\x12\x34" + b"\0" * 30)


def test_app_larger_than_its_partition_is_refused(tmp_path: Path) -> None:
    files = write_firmware(tmp_path / "fw", with_boot_app0=False)
    small = [("app0", 0x00, 0x10, 0x10000, 0x4000)]
    files["partitions"].write_bytes(partition_table(small))
    with pytest.raises(KitError, match="holds 16,384"):
        plan_firmware(BOARD, files["app"].parent)


def test_board_without_esptool_is_refused(firmware: dict[str, Path]) -> None:
    with pytest.raises(KitError, match="not flashed with esptool"):
        plan_firmware("emu-cortex-m4", firmware["app"].parent)


def test_kit_flash_firmware_cli_end_to_end(firmware: dict[str, Path]) -> None:
    from click.testing import CliRunner

    from kit.cli import main

    with RomPeer() as peer:
        result = CliRunner().invoke(main, ["flash", BOARD, "kws", "--firmware", str(firmware["app"].parent), "--port", peer.url])
    assert result.exit_code == 0, result.output
    assert peer.log.violations == []
    assert_flash_holds(peer, {0x0: firmware["bootloader"], 0x10000: firmware["app"]})
    assert "0x010000" in result.output and "firmware.bin" in result.output and "flashed" in result.output


def test_kit_flash_firmware_cli_reports_missing_files_without_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kit.cli import main

    (tmp_path / "firmware.bin").write_bytes(b"\xe9" + b"\0" * 100)
    result = CliRunner().invoke(main, ["flash", BOARD, "kws", "--firmware", str(tmp_path), "--port", "socket://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "missing bootloader.bin, partitions.bin" in result.output and "Traceback" not in result.output


def _exchange(sock: "socket.socket", packet: bytes, replies: int = 1) -> list[bytes]:
    """Send one request to the peer and read `replies` SLIP frames back."""
    from rom_peer import slip_decode, slip_encode

    sock.sendall(slip_encode(packet))
    frames: list[bytes] = []
    buffer = b""
    while len(frames) < replies:
        buffer += sock.recv(4096)
        while buffer.count(b"\xc0") >= 2:
            start = buffer.index(b"\xc0")
            end = buffer.index(b"\xc0", start + 1)
            frames.append(slip_decode(buffer[start + 1:end]))
            buffer = buffer[end + 1:]
    return frames


def test_peer_refuses_bad_checksums_and_sequence_numbers() -> None:
    """The peer is a checker, not an echo: a wrong checksum or a skipped block is refused
    with the ROM's status bytes and recorded as a violation."""
    import socket
    import struct

    from rom_peer import FLASH_BEGIN, FLASH_DATA, SYNC, SYNC_PAYLOAD, xor_checksum

    def request(op: int, data: bytes, checksum: int = 0) -> bytes:
        return struct.pack("<BBHI", 0, op, len(data), checksum) + data

    def status(reply: bytes) -> tuple[int, int]:
        return reply[-4], reply[-3]  # ROM replies end in failed, error, 2 reserved bytes

    block = bytes(range(256)) * 4
    with RomPeer() as peer, socket.create_connection(("127.0.0.1", int(peer.url.rsplit(":", 1)[1])), timeout=5) as sock:
        assert len(_exchange(sock, request(SYNC, SYNC_PAYLOAD), replies=8)) == 8
        (begun,) = _exchange(sock, request(FLASH_BEGIN, struct.pack("<IIII", 2048, 2, 1024, 0x10000)))
        assert status(begun) == (0, 0)
        (bad_sum,) = _exchange(sock, request(FLASH_DATA, struct.pack("<IIII", 1024, 0, 0, 0) + block, xor_checksum(block) ^ 1))
        assert status(bad_sum) == (1, 0x07)
        (skipped,) = _exchange(sock, request(FLASH_DATA, struct.pack("<IIII", 1024, 1, 0, 0) + block, xor_checksum(block)))
        assert status(skipped) == (1, 0x06)
        (good,) = _exchange(sock, request(FLASH_DATA, struct.pack("<IIII", 1024, 0, 0, 0) + block, xor_checksum(block)))
        assert status(good) == (0, 0)
    assert bytes(peer.flash[0x10000:0x10400]) == block
    assert len(peer.log.violations) == 2 and "checksum" in peer.log.violations[0] and "seq 1" in peer.log.violations[1]


def test_nothing_listening_at_the_socket_url(firmware: dict[str, Path]) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        url = f"socket://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(DeviceError) as caught:
        flash_firmware(BOARD, firmware["app"].parent, url, connect_attempts=1)
    assert f"cannot connect to {url}" in caught.value.message
    assert caught.value.hint and "bridge" in caught.value.hint


def test_local_port_held_by_another_program_is_named(firmware: dict[str, Path]) -> None:
    import os
    import pty
    import subprocess

    controller, device = pty.openpty()
    path = os.ttyname(device)
    holder = subprocess.Popen(["sleep", "30"], stdin=device)
    try:
        with pytest.raises(DeviceError) as caught:
            flash_firmware(BOARD, firmware["app"].parent, path)
        assert "already in use by sleep" in caught.value.message and str(holder.pid) in caught.value.message
    finally:
        holder.kill()
        holder.wait()
        os.close(device)
        os.close(controller)


def test_secure_download_mode_cannot_verify_unless_told_to_accept_it(firmware: dict[str, Path]) -> None:
    with RomPeer(PeerOptions(secure_download=True)) as peer, pytest.raises(DeviceError) as caught:
        flash_firmware(BOARD, firmware["app"].parent, peer.url)
    assert "secure download mode" in caught.value.message and caught.value.hint and "--no-verify" in caught.value.hint
    with RomPeer(PeerOptions(secure_download=True)) as peer:
        result = flash_firmware(BOARD, firmware["app"].parent, peer.url, verify=False)
    assert result.verified == () and not peer.log.stub_started and peer.log.violations == []
    assert_flash_holds(peer, {part.offset: part.path for part in result.parts})


def test_single_merged_image_goes_to_the_bootloader_offset(firmware: dict[str, Path], tmp_path: Path) -> None:
    import subprocess
    import sys

    merged = tmp_path / "kws.ino.merged.bin"
    parts = [("0x0", "bootloader"), ("0x8000", "partitions"), ("0xe000", "boot_app0"), ("0x10000", "app")]
    subprocess.run([sys.executable, "-m", "esptool", "--chip", "esp32s3", "merge-bin", "-o", str(merged),
                    *[item for offset, role in parts for item in (offset, str(firmware[role]))]],
                   check=True, capture_output=True)
    seen: list[FlashProgress] = []
    with RomPeer() as peer:
        result = flash_firmware(BOARD, tmp_path, peer.url, progress=seen.append)
    assert peer.log.violations == [] and result.verified == (0,)
    assert_flash_holds(peer, {0x0: firmware["bootloader"], 0x8000: firmware["partitions"],
                              0xE000: firmware["boot_app0"], 0x10000: firmware["app"]})
    assert seen[-1].done_bytes == merged.stat().st_size


def test_flash_cli_passes_force_to_the_port_check(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from kit.cli.device import flash_command
    from kit.errors import DeviceError
    from kit.upload import esptool as esptool_module

    seen: dict[str, object] = {}

    def fake_flash(*args, **kwargs):
        seen.update(kwargs)
        raise DeviceError("stop here")

    monkeypatch.setattr(esptool_module, "flash_firmware", fake_flash)
    result = CliRunner().invoke(flash_command, ["xiao-esp32s3", "kws", "--firmware", str(tmp_path), "--force"])
    assert isinstance(result.exception, DeviceError) and seen["force_port"] is True
