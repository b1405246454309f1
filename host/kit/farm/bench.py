"""`kit farm bench LAB`: bench and validate many boards of a labgrid farm from one command.

Per place, in a bounded pool of worker threads: acquire it through the coordinator (a place
another client holds is skipped, waited for, or - when named - refused), flash it through its
exporter's host over SSH when it does not run the lab's model (kit.farm.flash), check its
kit-info sha256, bench it and validate it with kit's own flows, each record written to disk as
it arrives with the place, host and board in the header, and release the place whatever
happened (a failed flash, a vanished exporter, Ctrl-C). Only a place this client acquired is
ever opened or flashed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kit.bench.results import ResultsFile
from kit.catalog import get_board
from kit.errors import KitError
from kit.farm.coordinator import KIT_TAG, FarmClient, FarmError, Place
from kit.farm.flash import SshOptions

Event = Callable[[str, str, dict[str, Any]], None]  # (place, phase, details)
LINE_TIMEOUT_S = 20.0
BOOT_TIMEOUT_S = 20.0


@dataclass
class Outcome:
    """What happened to one place."""

    place: str
    board: str
    host: str
    status: str = "pending"  # complete | failed | skipped | refused
    error: str = ""
    results: list[Path] = field(default_factory=list)
    p50_us: float | None = None
    accuracy: float | None = None
    runs_done: int = 0
    flashed: bool = False
    coordination_s: float = 0.0
    flash_s: float = 0.0
    bench_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in vars(self).items() if k != "results"}, "results": [str(p) for p in self.results]}


@dataclass
class FarmRequest:
    lab: str
    boards: list[str] | None   # None: every kit place
    runs: int = 20
    warmup: int = 2
    validate_limit: int = 10   # 0: bench only
    wait: bool = False         # wait for a held place instead of skipping it
    wait_timeout: float = 300.0
    jobs: int = 4
    flash: str = "auto"        # auto: when the board runs another model | always | never
    ssh: SshOptions = field(default_factory=SshOptions)


def _matching(places: list[Place], name: str) -> list[Place]:
    return [p for p in places if name in (p.name, p.board, p.tags.get("runs_on"))]


def select_places(places: list[Place], boards: list[str] | None) -> tuple[list[Place], list[str]]:
    """(places to bench, names that matched nothing). A name matches a place's name, its
    catalog board or the twin it runs on. Each value is first taken whole (a place named
    with a comma), and only if nothing has that name, as a comma-separated list."""
    kit_places = [p for p in places if p.tags.get(KIT_TAG) == "1"]
    if boards is None:
        return kit_places, []
    chosen: list[Place] = []
    unknown = []
    for value in boards:
        names = [value] if _matching(kit_places, value) else [n.strip() for n in value.split(",") if n.strip()]
        for name in names:
            matched = _matching(kit_places, name)
            if not matched:
                unknown.append(name)
            chosen.extend(p for p in matched if p not in chosen)
    return chosen, unknown


def serial_url(place: Place) -> str:
    resource = place.serial
    if resource is None:
        raise FarmError(f"place {place.name!r} has no serial resource online (its exporter is gone?)",
                        hint="`kit farm list` shows which places answer")
    host, port = resource.params.get("host"), resource.params.get("port")
    scheme = "socket" if resource.params.get("protocol") == "raw" else "rfc2217"
    return f"{scheme}://{host}:{int(port)}"


class FarmBench:
    """One `kit farm bench` run: the shared test inputs, the open links, the outcomes."""

    def __init__(self, client: FarmClient, request: FarmRequest, on_event: Event | None = None) -> None:
        self.client = client
        self.request = request
        self.on_event = on_event or (lambda place, phase, details: None)
        self.stopping = threading.Event()
        self._links: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.acquired: list[str] = []
        self.released: list[str] = []
        self._inputs: tuple[Any, Any, Any] | None = None
        self.model_path: Path | None = None
        self._firmware: dict[str, Path] = {}
        self._build_lock = threading.Lock()

    # --- the model every board must run, and the samples to validate on -------------------

    def prepare(self) -> None:
        from kit.device.flow import test_inputs
        from kit.train.reference import choose_model

        self.model_path = Path(choose_model(self.request.lab, None, log=None)).resolve()
        if self.request.validate_limit:
            self._inputs = test_inputs(self.request.lab, self.model_path, self.request.validate_limit, None)

    @property
    def model_sha256(self) -> str:
        assert self.model_path is not None
        return hashlib.sha256(self.model_path.read_bytes()).hexdigest()

    # --- run ------------------------------------------------------------------------------

    def run(self, places: list[Place], named: bool) -> list[Outcome]:
        outcomes = [Outcome(place=p.name, board=p.board, host=p.host) for p in places]
        with ThreadPoolExecutor(max_workers=max(1, min(self.request.jobs, len(places)))) as pool:
            futures = [pool.submit(self._one, place, outcome, named) for place, outcome in zip(places, outcomes)]
            try:
                for future in futures:
                    while not future.done():
                        time.sleep(0.1)
                    future.result()
            except BaseException:  # Ctrl-C or SIGTERM: stop the workers; each releases its place
                self.stop()
                for future in futures:
                    future.cancel()
                pool.shutdown(wait=True)
                raise
        return outcomes

    def stop(self) -> None:
        """Ctrl-C: workers stop at their next read (their links are closed) and release."""
        self.stopping.set()
        with self._lock:
            for link in self._links.values():
                try:
                    link.close()
                except Exception:  # noqa: BLE001 - closing is best effort, the release is not
                    pass

    def _event(self, outcome: Outcome, phase: str, **details: Any) -> None:
        self.on_event(outcome.place, phase, details)

    def _one(self, place: Place, outcome: Outcome, named: bool) -> None:
        try:
            self._one_place(place, outcome, named)
        except Exception as error:  # noqa: BLE001 - e.g. the coordinator failed while acquiring
            outcome.status = "failed"
            outcome.error = error.message if isinstance(error, KitError) else f"{type(error).__name__}: {error}"
            self._event(outcome, "failed", error=outcome.error)

    def _one_place(self, place: Place, outcome: Outcome, named: bool) -> None:
        started = time.monotonic()
        if self.stopping.is_set():
            outcome.status, outcome.error = "skipped", "interrupted before it started"
            return
        if not self._acquire(place, outcome, named):
            outcome.coordination_s += time.monotonic() - started
            return
        outcome.coordination_s += time.monotonic() - started
        try:
            self._measure(place, outcome)
            outcome.status = "complete"
            self._event(outcome, "complete", p50_us=outcome.p50_us, accuracy=outcome.accuracy)
        except KitError as error:
            outcome.status, outcome.error = "failed", error.message
            self._event(outcome, "failed", error=error.message)
        except Exception as error:  # noqa: BLE001 - one board's crash must not stop the farm
            outcome.status, outcome.error = "failed", f"{type(error).__name__}: {error}"
            self._event(outcome, "failed", error=outcome.error)
        finally:
            releasing = time.monotonic()
            self._release(place, outcome)
            outcome.coordination_s += time.monotonic() - releasing

    def _acquire(self, place: Place, outcome: Outcome, named: bool) -> bool:
        deadline = time.monotonic() + self.request.wait_timeout
        while True:
            current = self.client.place(place.name)
            if current.acquired and current.acquired != self.client.me:
                if self.request.wait and time.monotonic() < deadline and not self.stopping.is_set():
                    self._event(outcome, "waiting", holder=current.acquired)
                    time.sleep(1.0)
                    continue
                outcome.status = "refused" if named else "skipped"
                outcome.error = f"held by {current.acquired}"
                self._event(outcome, outcome.status, holder=current.acquired)
                return False
            try:
                self.client.acquire(place.name)
            except FarmError as error:  # someone took it between the look and the request
                if self.request.wait and time.monotonic() < deadline:
                    time.sleep(1.0)
                    continue
                outcome.status, outcome.error = ("refused" if named else "skipped"), error.message
                self._event(outcome, outcome.status, error=error.message)
                return False
            with self._lock:
                self.acquired.append(place.name)
            self._event(outcome, "acquired")
            return True

    def _release(self, place: Place, outcome: Outcome) -> None:
        try:
            self.client.release(place.name)
            with self._lock:
                self.released.append(place.name)
            self._event(outcome, "released")
        except Exception as error:  # noqa: BLE001 - reported per place; the others go on
            message = error.message if isinstance(error, KitError) else f"{type(error).__name__}: {error}"
            outcome.error = (outcome.error + "; " if outcome.error else "") + f"release failed: {message}"
            self._event(outcome, "release failed", error=message)

    # --- one board ------------------------------------------------------------------------

    def _measure(self, place: Place, outcome: Outcome) -> None:
        from kit.device.bench import run_bench
        from kit.device.validate import validate
        from kit.targets import open_target

        held = self.client.place(place.name)
        if held.acquired != self.client.me:  # never open a place this client does not hold
            raise FarmError(f"place {place.name!r} is not held by {self.client.me}", hint="`kit farm list`")
        url = serial_url(held)
        reference = get_board(held.board)
        runs_on = get_board(held.tags.get("runs_on") or held.board)
        target = open_target(reference, emulate=runs_on.name != reference.name)
        started = time.monotonic()
        link, device = self._connect(place, outcome, url)
        try:
            if self._needs_flash(device):
                self._close(place, link)
                self._flash(held, outcome)
                link, device = self._connect(place, outcome, url)
            target.prepare_client(device, None)
            self._check_model(place, device)
            farm = {"place": place.name, "host": held.host, "board": held.board, "coordinator": self.client.address,
                    "holder": self.client.me}
            header = {"board": runs_on.name, "reference_board": reference.name, "port": url,
                      "protocol": "kit" if device.info else "mlperf", "dut_name": device.dut_name,
                      "info": device.info.fields if device.info else {}, "lab": self.request.lab,
                      "model_path": str(self.model_path), "farm": farm}
            self._bench(device, runs_on, reference, header, outcome, run_bench)
            if self._inputs is not None:
                self._validate(device, runs_on, header, outcome, validate)
        finally:
            self._close(place, link)
            outcome.bench_s += time.monotonic() - started - outcome.flash_s

    def _connect(self, place: Place, outcome: Outcome, url: str) -> tuple[Any, Any]:
        from kit.link import open_link
        from kit.protocol import DeviceClient

        if self.stopping.is_set():
            raise FarmError("interrupted", hint="")
        link = open_link(url)
        with self._lock:
            self._links[place.name] = link
        try:
            self._event(outcome, "connecting", url=url)
            return link, DeviceClient.connect(link, line_timeout=LINE_TIMEOUT_S, boot_timeout=BOOT_TIMEOUT_S)
        except BaseException:
            self._close(place, link)
            raise

    def _close(self, place: Place, link: Any) -> None:
        with self._lock:
            self._links.pop(place.name, None)
        link.close()

    def _needs_flash(self, device: Any) -> bool:
        if self.request.flash == "never":
            return False
        return self.request.flash == "always" or device.info is None or device.info.sha256 != self.model_sha256

    def _twin_firmware(self, board: str) -> Path:
        """The lab's twin firmware for `board`, built here once per run (kit's build cache)."""
        from kit.farm.export import build_twin_firmware

        with self._build_lock:
            if board not in self._firmware:
                self._firmware[board] = build_twin_firmware(board, self.request.lab)[0]
            return self._firmware[board]

    def _flash(self, place: Place, outcome: Outcome) -> None:
        """Flash through the exporter's host (kit.farm.flash); a failure fails this board only."""
        from kit.farm.flash import flash_place

        started = time.monotonic()
        host = place.tags.get("ssh_host", "?")
        self._event(outcome, "flashing", host=host)
        try:
            firmware = self._twin_firmware(place.board) if place.tags.get("runs_on") else None
            flash_place(place, self.request.lab, self.model_sha256, firmware, self.request.ssh)
        except KitError as error:
            raise FarmError(f"flashing place {place.name!r} through {host} failed: {error.message}",
                            hint=error.hint) from None
        finally:
            outcome.flash_s += time.monotonic() - started
        outcome.flashed = True
        try:
            self.client.set_tags(place.name, {"lab": self.request.lab})
        except KitError:
            pass  # the tag is a label for `kit farm list`; the board itself was checked
        self._event(outcome, "flashed", host=host)

    def _check_model(self, place: Place, device: Any) -> None:
        """After the flash step the board must run this lab's model (its kit-info sha256)."""
        if device.info is None or device.info.sha256 != self.model_sha256:
            runs = device.info.model if device.info else "an MLPerf-only firmware"
            raise FarmError(
                f"place {place.name!r} runs {runs}, not the {self.request.lab} model (sha256 {self.model_sha256[:12]})",
                hint=f"bench with --flash auto (flashes through its exporter's host), or on its host: "
                     f"`kit flash {place.board} {self.request.lab}`")

    def _bench(self, device, runs_on, reference, header, outcome, run_bench) -> None:
        request = self.request
        header = {**header, "runs": request.runs, "warmup": request.warmup}

        def progress(done: int) -> None:
            outcome.runs_done = done
            self._event(outcome, "bench", done=done, total=request.runs)

        with ResultsFile.create("bench", header) as results:
            outcome.results.append(results.path)
            self._event(outcome, "bench", done=0, total=request.runs)
            report = run_bench(device, runs_on, reference, request.runs, request.warmup, results, progress)
            results.close("complete", time_label=report.time_label, p50_us=report.latency_us.p50)
        outcome.p50_us = report.latency_us.p50

    def _validate(self, device, runs_on, header, outcome, validate) -> None:
        assert self._inputs is not None
        inputs, scorer, expected = self._inputs
        total = len(inputs)
        with ResultsFile.create("validate", {**header, "samples": total}) as results:
            outcome.results.append(results.path)
            report = validate(device, runs_on.name, self.request.lab, inputs, scorer, expected, results,
                              progress=lambda done: self._event(outcome, "validate", done=done, total=total))
        outcome.accuracy = report.accuracy


def probe(client: FarmClient, place: Place, timeout: float = 10.0) -> str:
    """Does the board answer? Acquire a free place, ask kit-info, release: "yes (MODEL on BOARD)",
    "held by ...", or "no: why". A place someone else holds is not opened."""
    from kit.link import open_link
    from kit.protocol import DeviceClient

    if place.acquired and place.acquired != client.me:
        return f"held by {place.acquired}"
    try:
        client.acquire(place.name)
    except KitError as error:
        return f"no: {error.message}"
    try:
        with open_link(serial_url(client.place(place.name))) as link:
            device = DeviceClient.connect(link, line_timeout=timeout, boot_timeout=timeout)
            info = device.info
            return f"yes ({info.model} on {info.board})" if info else f"yes (MLPerf Tiny: {device.dut_name})"
    except Exception as error:  # noqa: BLE001 - any failure to answer is the answer
        return f"no: {error.message if isinstance(error, KitError) else error}"
    finally:
        try:
            client.release(place.name)
        except KitError:
            pass


def bench_farm(client: FarmClient, request: FarmRequest, on_event: Event | None = None,
               on_prepared: Callable[[list[Place]], None] | None = None) -> tuple[list[Outcome], FarmBench]:
    """Select, prepare, run; every place this run acquired is released before it returns."""
    places, unknown = select_places(client.places(), request.boards)
    if unknown:
        raise FarmError(f"no farm place or board named {', '.join(repr(n) for n in unknown)}",
                        hint="`kit farm list` shows the places and their boards")
    if not places:
        raise FarmError(f"the coordinator at {client.address} has no kit places",
                        hint="export boards first: `kit farm export --coordinator HOST:PORT` on each machine")
    farm = FarmBench(client, request, on_event)
    farm.prepare()
    if on_prepared is not None:
        on_prepared(places)
    return farm.run(places, named=request.boards is not None), farm
