"""Which processes are connected to a local TCP port: an emulated board's serial socket
takes one client at a time, so a connected process is a kit command (or a terminal) using
the board right now.

Read from /proc/net/tcp{,6} (ESTABLISHED sockets whose remote end is 127.0.0.1:PORT) and
the socket inodes in /proc/*/fd of the processes this user may inspect.
"""

from __future__ import annotations

from pathlib import Path

from kit.link.ports import PortHolder, _proc_name, pids_with_open

ESTABLISHED = "01"
LOOPBACK_V4 = "0100007F"
LOOPBACK_V6_MAPPED = "0000000000000000FFFF00000100007F"


def _client_inodes(port: int) -> set[str]:
    """Inodes of ESTABLISHED sockets whose remote end is loopback:`port` (the clients' side)."""
    inodes: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != ESTABLISHED:
                continue
            address, _, hex_port = fields[2].partition(":")
            if address in (LOOPBACK_V4, LOOPBACK_V6_MAPPED) and hex_port and int(hex_port, 16) == port:
                inodes.add(fields[9])
    return inodes


def tcp_clients(port: int, ignore_pids: tuple[int, ...] = ()) -> list[PortHolder]:
    """Processes connected to 127.0.0.1:`port` now (empty when none, or when /proc is absent)."""
    inodes = _client_inodes(port)
    if not inodes:
        return []
    holders = []
    for pid in sorted(pids_with_open(frozenset(f"socket:[{inode}]" for inode in inodes)) - set(ignore_pids)):
        name, command = _proc_name(pid)
        holders.append(PortHolder(pid, name, command))
    return holders


__all__ = ["tcp_clients"]
