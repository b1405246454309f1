"""`kit flash grove-vision-ai-v2 LAB` against a peer of the board on a pty (the Himax
bootloader and SSCMA-Micro on one port, tests/device/sscma_peer.py; no board here): the
XMODEM sender's CRC-16 and checksum, 128- and 1024-byte blocks and resends; the whole
flash (Vela model at 0x400000 behind SSCMA's packed header, reboot, AT confirmation, state
recorded); and the failures: the board cancels or stops ACKing half way (clear error,
nothing recorded), and a firmware that does not answer after the reboot."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kit.catalog import get_board
from kit.errors import DeviceError
from kit.link import open_link
from kit.protocol.sscma import packed_model
from kit.targets import state as device_state
from kit.targets.sscma import SscmaTarget
from kit.upload import xmodem
from kit.upload.himax import FlashFile, Timeouts, burn, preamble
from tests.device.sscma_peer import SscmaBehaviour, serve_pty

GROVE = "grove-vision-ai-v2"
MODEL = Path(__file__).resolve().parents[2] / "models" / "visual-wake-words" / "model.tflite"
FAST = Timeouts(reset=5.0, prompt=3.0, reboot=5.0, block=0.25, transfer=30.0)


@pytest.fixture
def board():
    stops = []

    def start(**behaviour):
        path, peer, stop = serve_pty(SscmaBehaviour(**behaviour))
        stops.append(stop)
        return path, peer

    yield start
    for stop in stops:
        stop.set()


def _boot(protocol: str = "xmodem"):
    return get_board(GROVE).upload.xmodem.model_copy(update={"protocol": protocol})


def test_crc_and_packets_are_the_xmodem_ones():
    assert xmodem.crc16_xmodem(b"123456789") == 0x31C3  # the CRC-16/XMODEM check value
    block = xmodem.packet(1, b"abc", 128, crc=True)
    assert block[:3] == b"\x01\x01\xfe" and len(block) == 133 and block[6:131] == b"\x1a" * 125
    assert xmodem.packet(255, b"x", 1024, crc=False)[:3] == b"\x02\xff\x00"
    assert len(xmodem.packet(2, b"x", 1024, crc=False)) == 1028
    head = preamble(0x400000, 0, 128)
    assert head[:12] == bytes.fromhex("c05a 00004000 00000000 5ac0") and head[12:] == b"\xff" * 116
    assert head[2:6] == (0x400000).to_bytes(4, "little") and head[10:12] == b"\x5a\xc0" and len(head) == 128


class _Naks:
    """A receiver that asks for CRC, then NAKs every block (a line too noisy to get through)."""

    def __init__(self, answer: bool = True) -> None:
        self.written: list[bytes] = []
        self.asked = False
        self.answer = answer  # False: never answers a block (each try waits its block timeout)

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def read_raw(self, timeout: float) -> bytes:
        if not self.asked:
            self.asked = True
            return b"C"
        if not self.answer:
            time.sleep(min(timeout, 0.01))
            return b""
        return bytes([xmodem.NAK]) if self.written and self.written[-1][0] in (xmodem.SOH, xmodem.STX) else b""


def test_retries_then_cancel_and_the_overall_deadline():
    channel = _Naks()
    with pytest.raises(xmodem.XmodemError, match=r"block 1 of 2 \(0 bytes confirmed, 3 tries") as caught:
        xmodem.send(channel, b"x" * 200, xmodem.XmodemSettings(retries=3, block_timeout=0.05), "blob")
    assert caught.value.acked_bytes == 0 and len(channel.written) == 4 and channel.written[-1] == b"\x18" * 3
    channel = _Naks(answer=False)
    with pytest.raises(xmodem.XmodemError, match="stopped acknowledging .* overall deadline of 0.3 s passed"):
        xmodem.send(channel, b"x" * 200, xmodem.XmodemSettings(retries=10**6, block_timeout=0.05, deadline=0.3), "blob")
    # each try waits its 0.05 s block timeout: the 0.3 s deadline, not a million tries, ends it
    assert 1 <= len(channel.written) - 1 <= 7 and channel.written[-1] == b"\x18" * 3


@pytest.mark.parametrize("protocol,crc", [("xmodem", True), ("xmodem1k", False)])
def test_burn_writes_the_bytes_at_their_offset(board, protocol, crc):
    path, peer = board(crc=crc, nak_blocks={2})  # block 2 is NAKed once: it must be resent
    data = bytes(range(256)) * 11 + b"tail"
    with open_link(path, baudrate=921600) as link:
        sent = burn(link, _boot(protocol), [FlashFile(0x400000, data, "blob")], timeouts=FAST)
    assert sent[0].crc is crc and sent[0].resends == 1 and sent[0].bytes_sent == len(data)
    assert bytes(peer.flash[0x400000:0x400000 + len(data)]) == data
    assert peer.files[-1][0] == 0x400000 and peer.boots >= 2  # AT+RST, then the reboot after `y`


def test_flash_writes_the_vela_model_and_confirms_it_over_at(board, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, peer = board(factory_model_bytes=0)
    target = _target()
    logged: list[str] = []
    from kit.targets.base import FlashRequest

    result = target.flash(FlashRequest(lab="visual-wake-words", model=MODEL, port=path, log=logged.append))
    vela = result.firmware.read_bytes()
    image = packed_model(vela, 1, 4)
    assert result.firmware.name.endswith("_vela.tflite") and bytes(peer.flash[0x400000:0x400000 + len(image)]) == image
    assert peer.info == f"kit visual-wake-words {result.sha256[:16]}"
    assert any(c.endswith("MODEL=1") for c in peer.commands)
    entry = device_state.load(GROVE)
    assert entry is not None and entry.sha256 == result.sha256 and entry.extra["address"] == 0x400000
    assert any("confirm: SSCMA lists model id 1 at 0x400000" in line for line in logged), logged


@pytest.mark.parametrize("failure,message", [
    ({"cancel_after_blocks": 6}, "cancelled the XMODEM transfer"),
    ({"stop_acking_after_blocks": 6}, "stopped acknowledging"),
])
def test_an_upload_that_fails_half_way_claims_nothing(board, tmp_path, monkeypatch, failure, message):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, peer = board(factory_model_bytes=0, **failure)
    from kit.targets.base import FlashRequest

    with pytest.raises(DeviceError, match=message) as caught:
        _target().flash(FlashRequest(lab="visual-wake-words", model=MODEL, port=path))
    assert "bytes confirmed" in caught.value.message and "flash again" in caught.value.hint
    assert device_state.load(GROVE) is None
    assert peer.info == ""


def test_a_board_that_does_not_answer_after_the_reboot(board, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, _ = board(factory_model_bytes=0, silent_after_reboot=True)
    from kit.targets.base import FlashRequest

    with pytest.raises(DeviceError, match="written but the board's firmware does not answer"):
        _target(confirm_timeout=1.0).flash(FlashRequest(lab="visual-wake-words", model=MODEL, port=path))
    assert device_state.load(GROVE) is None


def test_a_board_whose_bootloader_never_appears(board):
    path, _ = board(reboot_on_rst=False)
    with open_link(path, baudrate=921600) as link, pytest.raises(DeviceError, match="did not offer its XMODEM burn") as caught:
        burn(link, _boot(), [FlashFile(0x400000, b"x" * 300, "blob")], timeouts=Timeouts(reset=1.0))
    assert "press RESET" in caught.value.hint


def _target(confirm_timeout: float = 5.0) -> SscmaTarget:
    target = SscmaTarget(get_board(GROVE))
    target.burn_timeouts = FAST
    target.confirm_timeout = confirm_timeout
    return target


def test_flash_then_validate_end_to_end_on_the_cli(board, tmp_path, monkeypatch):
    """`kit flash grove-vision-ai-v2 LAB --port P` then `kit validate` on what it recorded."""
    from click.testing import CliRunner

    from kit.cli import main
    from tests.device.test_grove_validate import camera_frames

    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, peer = board(factory_model_bytes=0, model=MODEL, frames=camera_frames(4), model_loaded_at_boot=False)
    flashed = CliRunner().invoke(main, ["flash", GROVE, "visual-wake-words", "--model", str(MODEL), "--port", path])
    assert flashed.exit_code == 0 and "flashed grove-vision-ai-v2" in flashed.output, flashed.output
    peer.current_model = 0  # power-cycled: SSCMA-Micro 1.0.x loads no model at boot
    loads = sum(c.endswith("MODEL=1") for c in peer.commands)
    checked = CliRunner().invoke(main, ["validate", GROVE, "visual-wake-words", "--limit", "4", "--json"])
    assert checked.exit_code == 0, checked.output
    import json

    report = json.loads(checked.output[checked.output.index("{"):])
    assert report["frames"] == 4 and report["protocol"] == "sscma" and 0 <= report["agreement"] <= 1
    assert sum(c.endswith("MODEL=1") for c in peer.commands) == loads + 1  # kit loaded the model it flashed
