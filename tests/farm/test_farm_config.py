"""What `kit farm export` writes and refuses, without starting anything: the exporter YAML
for real boards (udev match that survives replugging, board from the USB id), twin specs,
and listen addresses (never every interface by default)."""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import subprocess
import sys
import time

import pytest
import yaml

from kit.catalog import list_boards
from kit.errors import CatalogError, KitError
from kit.farm.coordinator import check_listen
from kit.farm.export import Export, exporter_config, parse_twins, place_tags, safe_group, usb_exports
from kit.link.ports import DetectedPort, identify
from kit.procs import pid_alive


def usb_board():
    """A catalog board and an application-mode USB id that only it uses."""
    for board in list_boards():
        for usb_id in board.usb:
            if usb_id.mode == "app" and not usb_id.shared and len(identify(usb_id.vid, usb_id.pid)) == 1:
                return board, usb_id.vid, usb_id.pid
    pytest.fail("no catalog board with its own application-mode USB id")


def test_usb_boards_become_usb_serial_ports_matched_by_serial_number():
    board, vid, pid = usb_board()
    ports = [DetectedPort(device="/dev/ttyACM0", vid=vid, pid=pid, serial_number="ABC123",
                          matches=identify(vid, pid)),
             DetectedPort(device="/dev/ttyUSB9", vid=0x1234, pid=0x5678, matches=())]  # not a catalog board
    exports = usb_exports("lab-pc", ports)
    assert len(exports) == 1
    export = exports[0]
    assert export.board == board.name and export.cls == "USBSerialPort"
    assert export.resource["USBSerialPort"]["match"] == {"ID_SERIAL_SHORT": "ABC123"}
    config = yaml.safe_load(exporter_config(exports))
    assert config == {export.group: export.resource}
    assert place_tags(export)["board"] == export.board and place_tags(export)["kit"] == "1"


def test_exporter_yaml_holds_only_safe_group_names():
    hostile = "it's; $(rm -rf ~) {{ x }}/../y"
    export = Export(place=hostile, group=safe_group(hostile), board="emu-rv32",
                    resource={"NetworkSerialPort": {"host": "127.0.0.1", "port": 4000, "speed": 115200,
                                                    "protocol": "raw"}})
    text = exporter_config([export])
    assert hostile not in text and "{{" not in text and "/" not in export.group  # labgrid templates the file
    assert json.loads(text)[export.group]["NetworkSerialPort"]["port"] == 4000


def test_twin_specs():
    chosen = parse_twins(["emu-cortex-m4,emu-rv32", "nicla-vision=a place; with $(shell)", "emu-rv32"], "pc")
    assert chosen == [("emu-cortex-m4", "pc-emu-cortex-m4-1"), ("emu-rv32", "pc-emu-rv32-1"),
                      ("nicla-vision", "a place; with $(shell)"), ("emu-rv32", "pc-emu-rv32-2")]
    with pytest.raises(CatalogError):
        parse_twins(["no-such-board"], "pc")


@pytest.mark.parametrize("address", ["0.0.0.0:20408", "[::]:20408", ":20408", "localhost", "host:port"])
def test_listen_addresses_that_are_refused(address):
    with pytest.raises(KitError):
        check_listen(address)


def test_listen_addresses_that_are_accepted():
    assert check_listen("127.0.0.1:20408") == ("127.0.0.1", 20408)
    assert check_listen("192.168.1.10:20408") == ("192.168.1.10", 20408)


# ----------------------------------------------------------------------------- choosing places

def _place(name, board="emu-rv32", runs_on=None):
    from kit.farm.coordinator import Place

    tags = {"kit": "1", "board": board, **({"runs_on": runs_on} if runs_on else {})}
    return Place(name=name, tags=tags, acquired=None, matches=[])


def test_boards_are_whole_names_first_then_comma_lists():
    from kit.farm.bench import select_places

    places = [_place("a, b"), _place("a"), _place("b"), _place("c", board="nicla-vision", runs_on="emu-cortex-m7")]
    names = lambda chosen: [p.name for p in chosen]  # noqa: E731
    assert names(select_places(places, ["a, b"])[0]) == ["a, b"]          # a place named with a comma
    assert names(select_places(places, ["a,b"])[0]) == ["a", "b"]         # a comma list
    assert names(select_places(places, ["a", "c"])[0]) == ["a", "c"]      # the option repeated
    assert names(select_places(places, ["emu-cortex-m7"])[0]) == ["c"]    # by the twin it runs on
    assert select_places(places, ["a,nope"])[1] == ["nope"]


# ----------------------------------------------------------------------------- flashing through SSH

def test_remote_commands_quote_every_name():
    from kit.deploy.ssh import quote_command
    from kit.farm.flash import board_flash_argv, twin_reflash_argv

    kit = ["env", "KIT_HOME=/home/me/kit state", "/opt/kit/.venv/bin/python", "-m", "kit"]
    argv = twin_reflash_argv(kit, "laptop; rm -rf ~", "twin1-$(id)", "a" * 64, "b" * 64, "kws")
    assert shlex.split(quote_command(argv)) == argv  # the remote shell sees exactly these words
    argv = board_flash_argv(kit, "nicla-vision", "kws", "/dev/ttyACM0")
    assert argv[-5:] == ["flash", "nicla-vision", "kws", "--port", "/dev/ttyACM0"]


def test_a_place_without_an_ssh_host_or_with_a_bad_one_is_refused():
    from kit.farm.flash import SshOptions, ssh_target

    with pytest.raises(KitError, match="ssh_host"):
        ssh_target(_place("p"), SshOptions())
    place = _place("p")
    place.tags["ssh_host"] = "-oProxyCommand=touch /tmp/x"  # never read as an ssh option
    with pytest.raises(KitError, match="not a valid"):
        ssh_target(place, SshOptions())


def test_usb_ports_are_matched_as_what_labgrid_publishes():
    board, vid, pid = usb_board()
    export = usb_exports("pc", [DetectedPort(device="/dev/ttyACM0", vid=vid, pid=pid, serial_number="S1",
                                             matches=identify(vid, pid))])[0]
    assert export.cls == "USBSerialPort" and export.published_cls == "NetworkSerialPort"
    tags = place_tags(export, "lab-pc-3")
    assert tags["ssh_host"] == "lab-pc-3" and shlex.split(tags["kit_cmd"])[-2:] == ["-m", "kit"]


def test_reflash_here_refuses_damaged_firmware(kit_home):
    from kit.farm.flash import reflash_here

    data = b"\x7fELF" + bytes(100)
    with pytest.raises(KitError, match="damaged"):
        reflash_here("pc", "twin1-emu-rv32", "a" * 64, hashlib.sha256(b"other").hexdigest(), "kws", io.BytesIO(data))


def test_the_control_socket_refuses_what_is_not_one_of_its_twins(kit_home, tmp_path):
    from kit.farm.export import Exporter, TwinControl, ask_exporter

    twin = Export(place="p", group="twin1-emu-rv32", board="emu-rv32", runs_on="emu-rv32",
                  resource={"NetworkSerialPort": {"host": "127.0.0.1", "port": 4000, "speed": 115200, "protocol": "raw"}})
    exporter = Exporter(name="unit-control", coordinator="", config_path=tmp_path / "x.yaml", exports=[twin])
    control = TwinControl(exporter)
    try:
        assert oct(control.path.stat().st_mode & 0o777) == "0o600"
        reply = ask_exporter("unit-control", {"group": "nope", "firmware": "/x", "model_sha256": "a" * 64})
        assert not reply["ok"] and "no twin in group" in reply["error"]
        outside = tmp_path / "fw.elf"
        outside.write_bytes(b"x")
        reply = ask_exporter("unit-control", {"group": twin.group, "firmware": str(outside), "model_sha256": "a" * 64})
        assert not reply["ok"] and "no received firmware" in reply["error"]
    finally:
        control.close()
    with pytest.raises(KitError, match="no `kit farm export --name unit-control` runs"):
        ask_exporter("unit-control", {})


# ----------------------------------------------------------------------------- no orphans

def test_children_die_with_the_process_that_started_them(tmp_path):
    """SIGKILL a process whose child was started with die_with_parent: the kernel ends the child."""
    script = ("import subprocess, sys, time; from kit.procs import die_with_parent; "
              "p = subprocess.Popen(['sleep', '60'], preexec_fn=die_with_parent()); print(p.pid, flush=True); "
              "time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert pid_alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(child)


def test_the_next_start_reaps_what_a_killed_exporter_left(kit_home):
    from kit.farm.export import pid_file, reap_stale, record_pids

    left = subprocess.Popen(["sleep", "60"])
    other = subprocess.Popen(["sleep", "61"])
    try:
        record_pids("unit-stale", [left.pid, other.pid])
        recorded = json.loads(pid_file("unit-stale").read_text())
        recorded["owner"] = 2 ** 22 + 7  # a dead exporter
        recorded["children"][1]["cmdline"] = "sleep\x0099\x00"  # that pid now runs something else: spared
        pid_file("unit-stale").write_text(json.dumps(recorded))
        assert reap_stale("unit-stale") == [left.pid]
        assert left.poll() is not None and other.poll() is None
        assert not pid_file("unit-stale").exists()
    finally:
        for process in (left, other):
            process.kill()
            process.wait()
