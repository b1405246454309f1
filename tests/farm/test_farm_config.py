"""What `kit farm export` writes and refuses, without starting anything: the exporter YAML
for real boards (udev match that survives replugging, board from the USB id), twin specs,
and listen addresses (never every interface by default)."""

from __future__ import annotations

import json

import pytest
import yaml

from kit.catalog import list_boards
from kit.errors import CatalogError, KitError
from kit.farm.coordinator import check_listen
from kit.farm.export import Export, exporter_config, parse_twins, place_tags, safe_group, usb_exports
from kit.link.ports import DetectedPort, identify


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
