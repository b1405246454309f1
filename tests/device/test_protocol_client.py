"""The protocol client against the test peer (tests/device/dut_peer.py) over ptys and TCP."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_pty, serve_tcp, toy_model

from kit.errors import DeviceError
from kit.link import LinkClosed, LinkTimeout, open_link
from kit.protocol import DeviceClient, ProtocolError

TRANSPORTS = {"pty": serve_pty, "tcp": serve_tcp}


@pytest.fixture(params=sorted(TRANSPORTS))
def connect(request):
    """connect(behaviour) -> (client, peer); closes the link afterwards."""
    opened = []

    def make(behaviour: PeerBehaviour | None = None, line_timeout: float = 2.0):
        url, peer, _ = TRANSPORTS[request.param](behaviour or PeerBehaviour())
        link = open_link(url)
        opened.append(link)
        return DeviceClient.connect(link, line_timeout=line_timeout, boot_timeout=2.0, boot_quiet=0.1), peer

    yield make
    for link in opened:
        link.close()


def test_kit_board_identifies_loads_runs_and_reports_layers(connect):
    client, peer = connect()
    assert client.is_kit and client.dut_name == "kit-sim-board"
    assert client.info.sha256 == "ab" * 32 and client.info.input_bytes == 8
    assert client.info.ticks_to_cycles(1000) == 40000
    data = bytes([1, 2, 3, 250, 5, 6, 7, 8])
    client.load(data)
    seen = []
    reply = client.kit_infer(3, on_run=lambda index, ticks: seen.append((index, ticks)))
    assert seen == [(0, 1000), (1, 1000), (2, 1000)]
    assert reply.output == toy_model(data, 4)
    assert len(reply.results) == 4
    assert [(layer.op, layer.ticks) for layer in client.layers()] == [("CONV_2D", 600), ("SOFTMAX", 400)]
    assert client.memory().stack_used == 300
    assert client.profile().model == "kws01"


def test_large_input_goes_in_several_crc_checked_chunks(connect):
    client, peer = connect(PeerBehaviour(input_bytes=500))
    data = bytes((i * 7) & 0xFF for i in range(500))
    client.load(data)
    assert sum(1 for c in peer.received if c.startswith("kit-load")) == 3
    assert client.kit_infer(1).output == toy_model(data, 4)


def test_mlperf_only_board_is_detected_and_still_measured(connect):
    client, peer = connect(PeerBehaviour(kit=False, input_bytes=40))
    assert not client.is_kit
    data = bytes(range(40))
    client.load(data)  # falls back to db load / db HH lines of 31 bytes
    assert [c.split()[0] for c in peer.received].count("db") == 3
    reply = client.infer(2)
    assert reply.per_inference_us == 40 and len(reply.results) == 4


def test_garbage_lines_inside_replies_are_tolerated(connect):
    client, _ = connect(PeerBehaviour(garbage=True))
    client.load(bytes(8))
    assert client.kit_infer(2).ticks == [1000, 1000]
    assert len(client.layers()) == 2


def test_device_error_line_becomes_a_protocol_error_with_the_text(connect):
    client, _ = connect()
    with pytest.raises(ProtocolError, match="input not loaded: have 0 of 8 bytes") as caught:
        client.kit_infer(1)
    assert caught.value.hint
    client.load(bytes(8))  # the session is still usable after an error
    assert client.kit_infer(1).ticks == [1000]


def test_truncated_output_line_is_reported_not_misparsed(connect):
    client, _ = connect(PeerBehaviour(truncate_results=True))
    client.load(bytes(8))
    with pytest.raises(ProtocolError, match="raw output"):
        client.kit_infer(1)


def test_silent_device_times_out_naming_the_last_line(connect):
    client, _ = connect(PeerBehaviour(silent_after=2), line_timeout=0.3)
    with pytest.raises(LinkTimeout, match="last line received: 'm-profile-\\[kit-0.1\\]'"):
        client.command("profile")


def test_boot_error_is_reported_as_model_not_runnable():
    # TCP like QEMU's serial server: the boot lines arrive after connecting (a tty open
    # discards what the board printed before it).
    url, _, _ = serve_tcp(PeerBehaviour(boot_error="arena too big", boot_delay=0.05))  # after pyserial's open flush
    with open_link(url) as link, pytest.raises(DeviceError, match="cannot run its model: model not runnable: arena too big"):
        DeviceClient.connect(link, boot_timeout=2.0, boot_quiet=0.1)


def test_peer_dying_mid_run_keeps_the_runs_already_seen(connect):
    client, _ = connect(PeerBehaviour(die_after_runs=2))
    client.load(bytes(8))
    seen = []
    with pytest.raises(LinkClosed):
        client.kit_infer(5, on_run=lambda index, ticks: seen.append(index))
    assert seen == [0, 1]


def test_boot_slower_than_the_quiet_wait_does_not_desynchronise_replies():
    # The banner comes after the host already sent `name%`: the boot's m-ready must not be
    # taken for the answer (a second `name%` would shift every later reply by one).
    url, peer, _ = serve_tcp(PeerBehaviour(boot_delay=0.4))
    with open_link(url) as link:
        client = DeviceClient.connect(link, line_timeout=2.0, boot_timeout=2.0, boot_quiet=0.1)
        assert client.is_kit and client.profile().model == "kws01"
    assert peer.received[:3] == ["name", "kit-info", "profile"]


def test_kit_load_lines_stay_within_the_command_limit_at_large_offsets(connect):
    client, peer = connect(PeerBehaviour(input_bytes=30_000))
    data = bytes((i * 13) & 0xFF for i in range(30_000))
    client.load(data)
    loads = [c for c in peer.received if c.startswith("kit-load")]
    assert max(len(c) for c in loads) <= 255
    assert client.kit_infer(1).output == toy_model(data, 4)
