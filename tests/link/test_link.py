"""The Link layer against real ptys, real TCP sockets and a real subprocess."""

from __future__ import annotations

import os
import socket
import sys
import threading
import tty

import pytest

from kit.errors import DeviceError
from kit.link import LinkClosed, LinkTimeout, StreamLink, open_link, spawn
from kit.link.base import MAX_LINE_BYTES


@pytest.fixture
def pty_pair():
    """(master fd the test writes as 'the device', slave path the Link opens)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def test_pty_lines_are_clean_despite_crlf_garbage_and_high_bytes(pty_pair):
    master, path = pty_pair
    with open_link(path) as link:
        os.write(master, b"boot\r\nm-ready\r\n\xff\xfe\x80noise\nhalf a li")
        assert link.read_line(2) == "boot"
        assert link.read_line(2) == "m-ready"
        noisy = link.read_line(2)
        assert noisy.endswith("noise") and "\ufffd" in noisy
        os.write(master, b"ne\n")
        assert link.read_line(2) == "half a line"


def test_timeout_names_the_last_line_and_the_unfinished_one(pty_pair):
    master, path = pty_pair
    with open_link(path) as link:
        os.write(master, b"m-lap-us-100\nm-lap-u")
        assert link.read_line(2) == "m-lap-us-100"
        with pytest.raises(LinkTimeout) as caught:
            link.read_line(0.3)
        message = str(caught.value)
        assert "'m-lap-us-100'" in message and "'m-lap-u'" in message and path in message


def test_timeout_on_a_silent_device_says_nothing_arrived(pty_pair):
    _, path = pty_pair
    with open_link(path) as link, pytest.raises(LinkTimeout, match="nothing at all"):
        link.read_line(0.2)


def test_endless_line_is_cut_instead_of_growing_forever(pty_pair):
    master, path = pty_pair
    payload = b"x" * (2 * MAX_LINE_BYTES + 100) + b"\n"
    with open_link(path) as link:
        writer = threading.Thread(target=os.write, args=(master, payload))
        writer.start()
        lengths = [len(link.read_line(2)) for _ in range(3)]
        writer.join()
        assert lengths == [MAX_LINE_BYTES, MAX_LINE_BYTES, 100]
        with pytest.raises(LinkTimeout) as caught:
            link.read_line(0.1)
        assert len(str(caught.value)) < 600


def test_second_open_of_a_local_port_reports_it_busy(pty_pair):
    _, path = pty_pair
    with open_link(path):
        with pytest.raises(DeviceError, match="already in use") as caught:
            open_link(path)
        assert caught.value.hint


def test_missing_port_names_the_port_and_kit_ports():
    with pytest.raises(DeviceError, match="/dev/ttyNOPE") as caught:
        open_link("/dev/ttyNOPE")
    assert "kit ports" in caught.value.hint


@pytest.fixture
def tcp_server():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server
    server.close()


def test_tcp_round_trip_and_peer_closing_is_reported(tcp_server):
    port = tcp_server.getsockname()[1]
    link = open_link(f"socket://127.0.0.1:{port}")
    peer, _ = tcp_server.accept()
    link.write("name%")
    assert peer.recv(16) == b"name%"
    peer.sendall(b"m-name-dut-[x]\r\n")
    assert link.read_line(2) == "m-name-dut-[x]"
    peer.close()
    with pytest.raises(LinkClosed) as caught:
        link.read_line(2)
    assert "lost" in str(caught.value)
    link.close()


def test_tcp_connection_refused_has_a_hint():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(DeviceError, match="connection refused") as caught:
        open_link(f"socket://127.0.0.1:{port}")
    assert "kit flash" in caught.value.hint


def test_drain_discards_boot_noise(pty_pair):
    master, path = pty_pair
    with open_link(path) as link:
        os.write(master, b"boot 1\nboot 2\npartial")
        dropped = link.drain(quiet=0.1)
        assert dropped == ["boot 1", "boot 2", "partial"]
        os.write(master, b"fresh\n")
        assert link.read_line(2) == "fresh"


ECHO_UPPER = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.upper()); sys.stdout.flush()\n"


def test_stream_link_over_a_subprocess_and_its_end():
    link = spawn([sys.executable, "-u", "-c", ECHO_UPPER], description="echo process")
    link.write(b"hello\n")
    assert link.read_line(5) == "HELLO"
    link._writer.close()  # the child sees EOF on stdin and exits
    with pytest.raises(LinkClosed, match="echo process closed the connection"):
        link.read_line(5)
    link.close()


def test_stream_link_over_a_socket_pair():
    ours, theirs = socket.socketpair()
    link = StreamLink(ours, ours, description="socketpair")
    theirs.sendall(b"a\r\nb\n")
    assert [link.read_line(2), link.read_line(2)] == ["a", "b"]
    link.write("x%")
    assert theirs.recv(8) == b"x%"
    theirs.close()
    with pytest.raises(LinkClosed):
        link.read_line(2)
    link.close()


def test_local_open_errors_are_the_port_modules_and_urls_keep_their_own():
    import errno

    from kit.link.serial_link import open_error

    denied = open_error("/dev/ttyNOPE0", PermissionError(errno.EACCES, "Permission denied"))
    assert "permission denied opening /dev/ttyNOPE0" in str(denied) and "dialout" in denied.hint
    refused = open_error("socket://127.0.0.1:9", OSError("[Errno 111] Connection refused"))
    assert "connection refused" in str(refused) and "kit flash" in refused.hint
