"""The firmware harness compiled natively (host HAL) and driven over pipes and a pty: every
command of docs/PROTOCOL.md, bounds, garbage, over-long and truncated lines, binary noise."""

from __future__ import annotations

import base64
import os
import random
import re
import subprocess
import tty
import zlib

import pytest

from firmware_helpers import Console, HostHarness, checksum_model, match_one

pytestmark = pytest.mark.timeout(120)

INPUT_BYTES = 64
# Every line format docs/PROTOCOL.md defines; the harness may print nothing else.
PROTOCOL_LINES = [
    r"^m-ready$", r"^e-\[[^][]*\]$", r"^m-timestamp-mode-performance$", r"^m-init-done$",
    r"^m-kit-boot-\[proto=([0-9]+),board=([^],]+)\]$", r"^m-name-dut-\[([^]]+)]$",
    r"^m-(model|profile)-\[([^]]+)]$", r"^m-\[Expecting ([0-9]+) bytes\]$", r"^m-load-done$",
    r"^m-buffer-([0-9a-f]{2}(-[0-9a-f]{2})*)$", r"^m-warmup-start-[0-9]+$", r"^m-warmup-done$",
    r"^m-infer-start-[0-9]+$", r"^m-lap-us-([0-9]+)$", r"^m-infer-done$",
    r"^m-results-\[(-?[0-9]+\.[0-9]{3})(,-?[0-9]+\.[0-9]{3})*\]$", r"^m-kit-info-\[(.*)\]$",
    r"^m-kit-load-\[next=([0-9]+),crc=([0-9a-f]{8})\]$", r"^m-kit-run-\[([0-9]+),([0-9]+)\]$",
    r"^m-kit-output-\[([0-9a-f]*)\]$", r"^m-kit-layer-\[([0-9]+),([A-Z0-9_]+),([0-9]+)\]$",
    r"^m-kit-layers-done-\[([0-9]+)\]$",
    r"^m-kit-mem-\[arena=([0-9]+),arena_capacity=([0-9]+),stack_used=([0-9]+),stack_size=([0-9]+)\]$",
    r"^m-kit-ticks-\[([0-9]+),([0-9]+)\]$", r"^m-kit-exit-\[([0-9]+)\]$",
]


def assert_protocol_lines(lines: list[str]) -> None:
    for line in lines:
        assert any(re.match(p, line) for p in PROTOCOL_LINES), f"line outside the protocol: {line!r}"


def sample_input(seed: int = 1) -> bytes:
    return bytes(random.Random(seed).randrange(256) for _ in range(INPUT_BYTES))


def load_with_db(device: Console, data: bytes) -> list[str]:
    """As the MLPerf runner does it: `db load N`, then 31 bytes of hex per `db` line."""
    assert device.command(f"db load {len(data)}") == [f"m-[Expecting {len(data)} bytes]"]
    lines = []
    for start in range(0, len(data), 31):
        command = "db " + data[start:start + 31].hex()
        assert len(command) + 1 <= 80
        lines += device.command(command)
    return lines


def kit_info(device: Console) -> dict[str, str]:
    line = match_one(device.command("kit-info"), r"^m-kit-info-\[(.*)\]$").group(1)
    return dict(item.split("=", 1) for item in line.split(","))


def expected_results(output: bytes) -> list[float]:
    return [round((b - 256 if b > 127 else b) + 128) / 256 for b in output]


def test_boot_banner_ends_with_ready(harness):
    assert harness.boot == ["m-timestamp-mode-performance", "m-kit-boot-[proto=1,board=unknown]", "m-init-done"]


def test_name_and_profile_match_the_mlperf_runner_regexes(harness):
    assert match_one(harness.command("name"), r"^m-name-dut-\[([^]]+)]$").group(1) == "kit-unknown"
    lines = harness.command("profile")
    found = dict(re.match(r"^m-(model|profile)-\[([^]]+)]$", line).groups() for line in lines)
    assert found == {"profile": "kit-0.1.0", "model": "test01"}


def test_kit_info_fields(harness):
    info = kit_info(harness)
    assert info["proto"] == "1" and info["model"] == "test01" and len(info["sha256"]) == 64
    assert int(info["input_bytes"]) == INPUT_BYTES and int(info["output_bytes"]) == 4
    assert int(info["arena"]) <= int(info["arena_capacity"]) and info["ops"] == "3"
    assert float.fromhex(info["in_scale"]) == 0.5 and float.fromhex(info["out_scale"]) == 1 / 256
    assert info["out_zp"] == "-128" and info["in_zp"] == "0"
    assert int(info["clock_hz"]) > 0 and int(info["timer_hz"]) > 0 and info["dropped"] == "0"


def test_db_load_print_and_infer_like_the_mlperf_runner(harness):
    data = sample_input()
    assert load_with_db(harness, data) == ["m-load-done"]
    printed = harness.command("db print")
    assert all(re.match(r"^m-buffer-([0-9a-f]{2}(-[0-9a-f]{2})*)$", line) for line in printed)
    assert bytes.fromhex("".join(line[len("m-buffer-"):].replace("-", "") for line in printed)) == data
    assert [len(line[len("m-buffer-"):].split("-")) for line in printed] == [16, 16, 16, 16]
    lines = harness.command("infer 3 2")
    assert lines[:3] == ["m-warmup-start-2", "m-warmup-done", "m-infer-start-3"]
    laps = [int(m.group(1)) for m in (re.match(r"^m-lap-us-([0-9]+)$", line) for line in lines) if m]
    assert len(laps) == 2 and laps[0] <= laps[1]
    assert lines[5] == "m-infer-done"
    results = [float(v) for v in match_one(lines, r"^m-results-\[([^]]+)\]$").group(1).split(",")]
    assert results == pytest.approx(expected_results(checksum_model(data)), abs=0.0005)
    assert harness.command("results") == [lines[-1]]
    assert_protocol_lines(lines + printed)


def test_infer_argument_defaults_and_errors(harness):
    assert harness.command("infer") == ["e-[input not loaded: have 0 of 64 bytes]"]
    load_with_db(harness, sample_input(2))
    assert harness.command("infer")[:3] == ["m-warmup-start-0", "m-warmup-done", "m-infer-start-1"]
    assert harness.command("infer 0") == ["e-[runs must be 1..1000000]"]
    assert harness.command("infer x 1") == ["e-[bad number: x]"]
    assert harness.command("infer 1 99999999999") == ["e-[bad number: 99999999999]"]
    assert harness.command("infer 2 -1") == ["e-[bad number: -1]"]


@pytest.mark.parametrize("command, error", [
    ("infer 4294967295", "e-[runs must be 1..1000000]"),
    ("infer 1 4294967295", "e-[warm-up runs must be 0..1000000]"),
    ("kit-infer 4294967295", "e-[runs must be 1..1000000]"),
    ("kit-infer 1000001", "e-[runs must be 1..1000000]"),
])
def test_run_counts_are_capped_so_one_line_cannot_start_endless_work(harness, command, error):
    """Before the cap these never ended (4 billion runs) and nothing could cancel them."""
    load_with_db(harness, sample_input(3))
    assert harness.command(command, timeout=5.0) == [error]
    assert harness.command("infer 2 1")[:3] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-2"]


def test_db_load_accepts_leading_zeros_of_a_number_that_fits(harness):
    assert harness.command("db load 0000000000064") == ["m-[Expecting 64 bytes]"]
    assert harness.command("db load 00000000000000000000000000000008") == ["m-[Expecting 8 bytes]"]
    assert harness.command("db load 000000000000000000004294967296") == ["e-[db load: N must be 1..64]"]


def test_infer_after_a_partial_load_says_how_many_bytes_it_has(harness):
    assert harness.command("db load 64") == ["m-[Expecting 64 bytes]"]
    harness.command("db " + bytes(range(20)).hex())
    assert harness.command("infer") == ["e-[input not loaded: have 20 of 64 bytes]"]
    assert harness.command("db load 10") == ["m-[Expecting 10 bytes]"]
    harness.command("db " + bytes(10).hex())
    assert harness.command("infer") == ["e-[input not loaded: have 10 of 64 bytes]"]


@pytest.mark.parametrize("command, error", [
    ("db load 0", "e-[db load: N must be 1..64]"),
    ("db load 65", "e-[db load: N must be 1..64]"),
    ("db load 4294967296", "e-[db load: N must be 1..64]"),
    ("db load", "e-[db load: N must be 1..64]"),
    ("db load x", "e-[db load: N must be 1..64]"),
    ("db load 8 8", "e-[db load: N must be 1..64]"),
    ("db 00", "e-[db: no load in progress]"),
    ("db", "e-[db: expected load N, HEX or print]"),
    ("db 00 11", "e-[db: expected load N, HEX or print]"),
])
def test_db_bounds_and_malformed_commands(harness, command, error):
    assert harness.command(command) == [error]


def test_db_lines_are_all_or_nothing(harness):
    harness.command("db load 4")
    assert harness.command("db 0a0") == ["e-[db: bad hex]"]
    assert harness.command("db 0g") == ["e-[db: bad hex]"]
    assert harness.command("db 0102") == []
    assert harness.command("db 030405") == ["e-[db: too many bytes (1 more than expected)]"]
    assert harness.command("db print") == ["m-buffer-01-02"]
    assert harness.command("db 0A0b") == ["m-load-done"]
    assert harness.command("db print") == ["m-buffer-01-02-0a-0b"]
    assert harness.command("db 00") == ["e-[db: too many bytes (1 more than expected)]"]
    assert harness.command("infer") == ["e-[input not loaded: have 4 of 64 bytes]"]


def test_kit_load_base64_chunks_with_running_crc(harness):
    data = sample_input(3)
    offset = 0
    for size in (30, 30, 4):
        chunk = data[offset:offset + size]
        lines = harness.command(f"kit-load {offset} {base64.b64encode(chunk).decode()}")
        offset += size
        m = match_one(lines, r"^m-kit-load-\[next=([0-9]+),crc=([0-9a-f]{8})\]$")
        assert int(m.group(1)) == offset and int(m.group(2), 16) == zlib.crc32(data[:offset])
    assert lines[-1] == "m-load-done"
    lines = harness.command("kit-infer 2")
    assert [re.match(r"^m-kit-run-\[([0-9]+),([0-9]+)\]$", l).group(1) for l in lines[:2]] == ["0", "1"]
    output = bytes.fromhex(match_one(lines, r"^m-kit-output-\[([0-9a-f]*)\]$").group(1))
    assert output == checksum_model(data)
    assert_protocol_lines(lines)


def test_kit_load_file_reads_the_whole_input_from_a_host_file(harness, tmp_path):
    """kit-load-file PATH: the board reads the input itself (the host build from its own file
    system, twins by semihosting); the reply is the last kit-load's, so hosts check its CRC."""
    assert kit_info(harness)["host_files"] == "1"
    data = sample_input(5)
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    lines = harness.command(f"kit-load-file {path}")
    m = match_one(lines, r"^m-kit-load-\[next=([0-9]+),crc=([0-9a-f]{8})\]$")
    assert int(m.group(1)) == INPUT_BYTES and int(m.group(2), 16) == zlib.crc32(data) and lines[-1] == "m-load-done"
    output = bytes.fromhex(match_one(harness.command("kit-infer 1"), r"^m-kit-output-\[([0-9a-f]*)\]$").group(1))
    assert output == checksum_model(data)
    short = tmp_path / "short.bin"
    short.write_bytes(data[:10])
    assert harness.command(f"kit-load-file {short}") == [f"e-[kit-load-file: file has 10 bytes, the model takes {INPUT_BYTES}]"]
    assert harness.command(f"kit-load-file {tmp_path / 'missing.bin'}") == ["e-[kit-load-file: cannot read the file]"]
    assert harness.command("kit-load-file") == ["e-[kit-load-file: expected PATH]"]
    assert "input not loaded: have 0 of 64 bytes" in harness.command("kit-infer 1")[0]  # a failed load leaves nothing


@pytest.mark.parametrize("command, error", [
    ("kit-load 0 abc", "e-[kit-load: bad base64]"),
    ("kit-load 0 @@@@", "e-[kit-load: bad base64]"),
    ("kit-load 0 A===", "e-[kit-load: bad base64]"),
    ("kit-load 0 AA=A", "e-[kit-load: bad base64]"),
    ("kit-load 0", "e-[kit-load: expected OFFSET BASE64]"),
    ("kit-load 5 AAAA", "e-[kit-load offset 5, expected 0]"),
    ("kit-load x AAAA", "e-[bad number: x]"),
    ("kit-load 0 " + base64.b64encode(bytes(65)).decode(), "e-[kit-load: chunk past input end]"),
    ("kit-load 0 " + base64.b64encode(bytes(181)).decode(), "e-[kit-load: chunk over 180 bytes]"),
    ("kit-load 0 " + base64.b64encode(bytes(200)).decode(), "e-[line too long]"),
])
def test_kit_load_errors(harness, command, error):
    assert harness.command(command) == [error]


def test_kit_load_refuses_a_gap_and_restarts_at_offset_zero(harness):
    harness.command("kit-load 0 " + base64.b64encode(bytes(range(6))).decode())
    assert harness.command("kit-load 9 AAAA") == ["e-[kit-load offset 9, expected 6]"]
    lines = harness.command("kit-load 0 AAEC")
    assert lines == [f"m-kit-load-[next=3,crc={zlib.crc32(bytes([0, 1, 2])):08x}]"]


def test_kit_layers_mem_ticks_and_results(harness):
    assert harness.command("results") == ["e-[no inference yet]"]
    layers = harness.command("kit-layers")
    assert layers[-1] == "m-kit-layers-done-[3]"
    assert [l.split(",")[1] for l in layers[:-1]] == ["CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    load_with_db(harness, sample_input(4))
    harness.command("kit-infer 1")
    ticks = [int(l.rstrip("]").split(",")[2]) for l in harness.command("kit-layers")[:-1]]
    assert ticks[1] > 0
    memory = match_one(harness.command("kit-mem"), r"^m-kit-mem-\[arena=([0-9]+),arena_capacity=([0-9]+),"
                       r"stack_used=([0-9]+),stack_size=([0-9]+)\]$")
    assert memory.group(3, 4) == ("0", "0")  # the host build has no stack bounds
    first, second = (int(match_one(harness.command("kit-ticks"), r"^m-kit-ticks-\[([0-9]+),([0-9]+)\]$").group(1))
                     for _ in range(2))
    assert second >= first


def test_unknown_commands_are_echoed_sanitised_and_truncated(harness):
    assert harness.command("hello") == ["e-[unknown command: hello]"]
    assert harness.command("x" * 40) == ["e-[unknown command: " + "x" * 20 + "]"]
    assert harness.command("a[b]c") == ["e-[unknown command: a?b?c]"]
    assert harness.command("a b c d e f g h i") == ["e-[too many arguments]"]


@pytest.mark.parametrize("length, too_long", [(255, False), (256, True), (1000, True), (5000, True)])
def test_over_long_lines_are_discarded_and_reported(harness, length, too_long):
    reply = harness.command("y" * length)
    assert reply == (["e-[line too long]"] if too_long else ["e-[unknown command: " + "y" * 20 + "]"])
    assert harness.command("name") == ["m-name-dut-[kit-unknown]"]


def test_line_endings_spaces_and_truncated_commands(harness):
    harness.send("name\r\n")
    assert harness.reply() == ["m-name-dut-[kit-unknown]"]
    harness.send("\n\r%%%")
    harness.send("  db   load   64  \n")
    assert harness.reply() == ["m-[Expecting 64 bytes]"]
    for truncated, error in [("db loa", "e-[db: bad hex]"), ("kit-inf", "e-[unknown command: kit-inf]"),
                             ("infe", "e-[unknown command: infe]")]:
        assert harness.command(truncated) == [error]


def test_non_ascii_bytes_are_dropped_and_counted(harness):
    harness.send(b"\xffna\x00me\x80\x1b%")
    assert harness.reply() == ["m-name-dut-[kit-unknown]"]
    assert kit_info(harness)["dropped"] == "4"


def test_binary_noise_never_breaks_the_parser(harness):
    rng = random.Random(7)
    noise = bytes(rng.choice(b"%\n\x00\xff db load kit-infer 0123456789abcdef") if rng.random() < 0.3
                  else rng.randrange(256) for _ in range(20000))
    harness.send(noise)
    harness.send(b"%\nname%")
    lines = []
    while True:
        line = harness.read_line()
        lines.append(line)
        if line == "m-name-dut-[kit-unknown]":
            break
    assert harness.read_line() == "m-ready"
    assert_protocol_lines(lines)
    assert harness.process.poll() is None
    assert int(kit_info(harness)["dropped"]) > 1000


def test_kit_exit_ends_the_program_with_the_code(harness):
    assert harness.command("kit-exit 300") == ["e-[bad number: exit code must be 0..255]"]
    harness.send("kit-exit 7%")
    assert harness.read_line() == "m-kit-exit-[7]"
    assert harness.process.wait(timeout=10) == 7


def test_end_of_input_ends_the_host_build(host_harness_binary):
    device = HostHarness(host_harness_binary)
    assert device.close() == 0


def test_harness_over_a_pty(host_harness_binary):
    controller, peripheral = os.openpty()
    tty.setraw(peripheral)
    process = subprocess.Popen([str(host_harness_binary)], stdin=peripheral, stdout=peripheral, close_fds=True)
    os.close(peripheral)
    try:
        console = Console(controller, controller)
        assert console.reply()[-1] == "m-init-done"
        assert console.command("name") == ["m-name-dut-[kit-unknown]"]
        load_with_db(console, sample_input(5))
        lines = console.command("kit-infer 1")
        assert bytes.fromhex(match_one(lines, r"^m-kit-output-\[([0-9a-f]*)\]$").group(1)) == \
            checksum_model(sample_input(5))
        console.send("kit-exit 0%")
        assert console.read_line() == "m-kit-exit-[0]"
        assert process.wait(timeout=10) == 0
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
