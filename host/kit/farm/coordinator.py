"""Talking to a labgrid coordinator (labgrid >= 24, gRPC): places, their resources, acquire
and release. kit schedules nothing itself: who holds a board is the coordinator's record.

labgrid's client API is asyncio; `FarmClient` runs one labgrid `ClientSession` on an event
loop in a background thread and offers blocking calls that the bench's worker threads share.
Names (places, tags, exporters) travel as gRPC strings and argv items, never through a shell.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Coroutine

from kit.errors import KitError, ToolMissingError

DEFAULT_COORDINATOR = "127.0.0.1:20408"
CALL_TIMEOUT_S = 20.0
KIT_TAG = "kit"  # places kit created carry kit=1 and board=<catalog name>


class FarmError(KitError):
    """A coordinator, exporter or place problem (the message names it)."""


def _labgrid() -> Any:
    try:
        from labgrid.remote import client
    except ImportError:
        raise ToolMissingError("labgrid is not installed: it runs the farm (coordinator, exporters, places)",
                               hint="bash scripts/setup.sh (installs the pinned labgrid), or "
                                    "`.venv/bin/pip install labgrid==26.0.1`") from None
    return client


def labgrid_tool(name: str) -> list[str]:
    """argv prefix of a labgrid program (`labgrid-coordinator`, `labgrid-exporter`), run with this
    Python so the venv's labgrid is the one used."""
    _labgrid()
    module = {"labgrid-coordinator": "labgrid.remote.coordinator", "labgrid-exporter": "labgrid.remote.exporter",
              "labgrid-client": "labgrid.remote.client"}[name]
    return [sys.executable, "-m", module]


def identity() -> str:
    """host/user as labgrid names the holder of a place (LG_HOSTNAME / LG_USERNAME override it)."""
    import getpass
    import socket

    return f"{os.environ.get('LG_HOSTNAME', socket.gethostname())}/{os.environ.get('LG_USERNAME', getpass.getuser())}"


@dataclass
class Resource:
    exporter: str
    group: str
    cls: str
    name: str
    params: dict[str, Any]
    avail: bool
    acquired: str | None

    @property
    def path(self) -> tuple[str, str, str, str]:
        return (self.exporter, self.group, self.cls, self.name)


@dataclass
class Place:
    name: str
    tags: dict[str, str]
    acquired: str | None
    matches: list[str]
    resources: list[Resource] = field(default_factory=list)

    @property
    def board(self) -> str:
        return self.tags.get("board", "")

    @property
    def serial(self) -> Resource | None:
        """The serial resource kit talks over (a twin's TCP console or ser2net's port)."""
        return next((r for r in self.resources if r.cls in ("NetworkSerialPort", "USBSerialPort")), None)

    @property
    def host(self) -> str:
        return self.serial.exporter if self.serial else ""

    @property
    def answers(self) -> bool:
        """Its exporter is connected and says the resource is there."""
        return self.serial is not None and self.serial.avail


class FarmClient:
    """One labgrid client session; thread-safe blocking calls."""

    def __init__(self, address: str = DEFAULT_COORDINATOR) -> None:
        client = _labgrid()
        self.address = address
        self.me = identity()
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._session = client.start_session(
                address, loop=self._loop, extra={"args": argparse.Namespace(allow_unmatched=False, kick=False)})
        except Exception as error:  # labgrid raises its own ServerError, grpc its errors
            self._loop.close()
            raise FarmError(f"cannot reach the labgrid coordinator at {address}: {error}",
                            hint=f"start it (`kit farm coordinator --listen {address}`) or pass --coordinator HOST:PORT")
        finally:
            asyncio.set_event_loop(None)
        self._thread = threading.Thread(target=self._loop.run_forever, name="labgrid-client", daemon=True)
        self._thread.start()

    def _call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = CALL_TIMEOUT_S) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise FarmError(f"the coordinator at {self.address} did not answer within {timeout:g} s",
                            hint="check that labgrid-coordinator runs there") from None
        except Exception as error:
            if isinstance(error, KitError):
                raise
            details = error.details() if hasattr(error, "details") else str(error)  # grpc's AioRpcError
            raise FarmError(f"the coordinator at {self.address} refused: {details}", hint="see `kit farm list`") from None

    async def _sync(self) -> None:
        await self._session.sync_with_coordinator()

    def refresh(self) -> None:
        self._call(self._sync())

    def resources(self) -> list[Resource]:
        self.refresh()
        found = []
        for exporter, groups in list(self._session.resources.items()):
            for group, entries in list(groups.items()):
                for name, entry in list(entries.items()):
                    if "cls" not in entry.data:  # its exporter is gone: labgrid leaves an empty entry
                        continue
                    found.append(Resource(exporter, group, entry.cls, name, dict(entry.params), bool(entry.avail),
                                          entry.acquired))
        return found

    def places(self) -> list[Place]:
        resources = self.resources()
        places = []
        for place in list(self._session.places.values()):
            matched = [r for r in resources if place.getmatch(r.path) is not None]
            places.append(Place(name=place.name, tags=dict(place.tags), acquired=place.acquired,
                                matches=[repr(m) for m in place.matches], resources=matched))
        return sorted(places, key=lambda p: p.name)

    def place(self, name: str) -> Place:
        found = next((p for p in self.places() if p.name == name), None)
        if found is None:
            raise FarmError(f"the coordinator has no place {name!r}", hint="`kit farm list` shows the places")
        return found

    def ensure_place(self, name: str, pattern: str, tags: dict[str, str]) -> None:
        """Create (or update) place `name` matching `pattern` (exporter/group/cls[/name])."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        async def go() -> None:
            await self._sync()
            stub = self._session.stub
            if name not in self._session.places:
                await stub.AddPlace(pb.AddPlaceRequest(name=name))
                await self._sync()
            place = self._session.places[name]
            if not any(repr(m) == pattern for m in place.matches):
                for match in list(place.matches):
                    await stub.DeletePlaceMatch(pb.DeletePlaceMatchRequest(placename=name, pattern=repr(match)))
                await stub.AddPlaceMatch(pb.AddPlaceMatchRequest(placename=name, pattern=pattern))
            await stub.SetPlaceTags(pb.SetPlaceTagsRequest(placename=name, tags=tags))
            await self._sync()

        self._call(go())

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        """Update some of a place's tags (an empty value removes one)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        async def go() -> None:
            await self._session.stub.SetPlaceTags(pb.SetPlaceTagsRequest(placename=name, tags=tags))
            await self._sync()

        self._call(go())

    def acquire(self, name: str) -> None:
        """Acquire place `name` for this host/user. The coordinator refuses a place that is
        held (one atomic check on its side), and then records us as the holder."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        async def go() -> None:
            await self._session.stub.AcquirePlace(pb.AcquirePlaceRequest(placename=name))
            await self._sync()

        self._call(go())
        holder = self.place(name).acquired
        if holder != self.me:  # the coordinator is the record: trust it, not our request
            raise FarmError(f"place {name!r} is held by {holder}, not by {self.me}", hint="see `kit farm list`")

    def release(self, name: str) -> None:
        """Release a place this client holds. `fromuser` makes the coordinator itself release it
        only if we are the holder: a place someone else holds is never released (no --kick)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        async def go() -> None:
            await self._session.stub.ReleasePlace(pb.ReleasePlaceRequest(placename=name, fromuser=self.me))
            await self._sync()

        self._call(go())
        holder = self.place(name).acquired
        if holder == self.me:
            raise FarmError(f"the coordinator still lists place {name!r} as held by {self.me}",
                            hint=f"release it by hand: `labgrid-client -x {self.address} -p PLACE release`")

    def close(self) -> None:
        try:
            self._call(self._session.stop(), timeout=5.0)
        except KitError:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)

    def __enter__(self) -> "FarmClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_listen(address: str) -> tuple[str, int]:
    """HOST:PORT with an explicit host: kit never listens on every interface by default."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise FarmError(f"{address!r} is not HOST:PORT", hint="e.g. --listen 127.0.0.1:20408 or 192.168.1.10:20408")
    if host.strip("[]") in ("", "0.0.0.0", "::"):
        raise FarmError(f"--listen {address} would accept every network's clients",
                        hint="name the lab network's interface address, e.g. --listen 192.168.1.10:20408")
    return host, int(port)


def start_coordinator(listen: str, workdir: str, log: Any = None) -> subprocess.Popen[bytes]:
    """labgrid-coordinator on `listen` (its places file lives in `workdir`)."""
    check_listen(listen)
    return subprocess.Popen([*labgrid_tool("labgrid-coordinator"), "--listen", listen], cwd=workdir,
                            stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)


def have_ser2net() -> bool:
    return shutil.which("ser2net") is not None or os.path.isfile("/usr/sbin/ser2net")
