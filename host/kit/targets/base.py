"""What every kind of board does, in one base class; one subclass per kind says how.

`kit flash` is one pipeline for every board (BoardTarget.flash): refuse what the kind cannot
do, check the board is there, pick the model, compile it, check it fits the REFERENCE board
(the real board an emulated twin stands in for), build, upload, handshake, record. A kind
overrides only its steps (build, upload, where its port is, what a tick means, how it says
no). Commands never branch on a board's name or kind: they ask its target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from kit.catalog import Board
from kit.compile.compiled import CompiledModel
from kit.errors import DeviceError, KitError
from kit.link import open_link
from kit.protocol import DeviceClient
from kit.targets import state as device_state
from kit.targets.fit import Fit, check_fit, fit_for_engine
from kit.targets.session import Session, check_model, handshake
from kit.targets.state import DeviceState

Log = Callable[[str], None] | None


def say(log: Log, message: str) -> None:
    if log is not None:
        log(message)


@dataclass
class FlashRequest:
    """What the user asked `kit flash` for."""

    lab: str | None
    model: Path | str | None = None
    force: bool = False
    port: str | None = None
    engine: str = "kit"
    model_id: str | None = None
    log: Log = None


@dataclass
class Uploaded:
    """Where the flashed board answers, and what was written to it."""

    port: str
    firmware: Path
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    tcp_port: int | None = None
    log_path: str = ""


@dataclass
class FlashResult:
    target: "BoardTarget"
    lab: str | None
    model_path: Path
    sha256: str
    port: str
    pid: int | None
    firmware: Path
    fit: Fit
    info: dict[str, str]


class BoardTarget:
    """One board as kit drives it: `requested` is what the user named, `run_on` the board that
    executes the firmware, `reference` the board whose limits, clock and power apply."""

    kind: ClassVar[str] = ""                      # the board file's `kind` this class serves
    upload_methods: ClassVar[tuple[str, ...]] = ()  # its `upload.method` values (empty: any)
    emulated: ClassVar[bool] = False              # ticks are QEMU instruction counts
    engines: ClassVar[tuple[str, ...]] = ("kit",)  # what `--engine` may name
    benched_over_ssh: ClassVar[bool] = False      # `kit bench` runs over SSH, not a serial link

    def __init__(self, requested: Board, run_on: Board | None = None, reference: Board | None = None) -> None:
        self.requested = requested
        self.run_on = run_on or requested
        self.reference = reference or requested

    # --- identity -------------------------------------------------------------------------

    @classmethod
    def serves(cls, board: Board) -> bool:
        return board.kind == cls.kind and (not cls.upload_methods or board.upload.method in cls.upload_methods)

    @property
    def name(self) -> str:
        return self.requested.name

    @property
    def label(self) -> str:
        if self.run_on.name == self.reference.name:
            return self.run_on.name
        return f"{self.run_on.name} (emulating {self.reference.name})"

    @property
    def count_unit(self) -> str:
        """What a tick count from this board means."""
        return "instructions" if self.emulated else "cycles"

    # --- refusals: each kind says once what it cannot do, and what to do instead ----------

    def refuse(self, action: str) -> KitError | None:
        """The error for `action` ("flash", "measure", "project", "deploy", "invoke",
        "emulate") on this kind of board, or None when it can."""
        if action == "deploy":
            return KitError(f"{self.name} is not a Linux board: `kit deploy` copies a model to a board over SSH",
                            hint=f"use `kit flash {self.name} LAB` for microcontroller and emulated boards; "
                                 "`kit deploy` is for Linux boards (kit boards lists them)")
        if action == "invoke":
            return KitError(f"kit invoke cannot run on {self.name} ({self.requested.kind} board) yet",
                            hint="use the host or an emulated board (see kit boards)")
        return None

    def check(self, action: str) -> None:
        error = self.refuse(action)
        if error is not None:
            raise error

    # --- the one flash pipeline -----------------------------------------------------------

    def flash(self, request: FlashRequest) -> FlashResult:
        """Model -> compiled C -> fit check -> firmware -> upload -> handshake -> record."""
        from kit.catalog import get_lab
        from kit.train.reference import choose_model

        self.check("flash")
        if request.engine not in self.engines:
            raise KitError(f"--engine {request.engine} is not available on {self.label}",
                           hint=f"use --engine {' or '.join(self.engines)}")
        if request.lab is not None:
            get_lab(request.lab)  # an unknown lab is reported before any port is probed or anything built
        self.before_build(request)
        model_path = choose_model(request.lab, request.model, request.log)
        compiled = self.compile(model_path, request)
        fit = fit_for_engine(self.reference, self.label, compiled, request.engine)
        say(request.log, f"fit: needs {fit.flash_needed:,} B flash / {fit.ram_needed:,} B RAM, "
                         f"{self.reference.name} has {fit.flash_limit:,} B / {fit.ram_limit:,} B")
        check_fit(fit)
        artifact = self.build(compiled, model_path, request)
        uploaded = self.upload(artifact, compiled, request)
        entry = DeviceState(
            board=self.run_on.name, reference_board=self.reference.name, port=uploaded.port, lab=request.lab or "",
            model_path=str(Path(model_path).resolve()), sha256=compiled.sha256, firmware=str(uploaded.firmware),
            pid=uploaded.pid, extra=uploaded.extra, tcp_port=uploaded.tcp_port, log_path=uploaded.log_path,
        )
        info = self.verify(entry)
        say(request.log, f"handshake: {info.get('board')} runs {info.get('model')} sha256 {compiled.sha256[:12]}")
        return FlashResult(target=self, lab=request.lab, model_path=Path(model_path), sha256=compiled.sha256,
                           port=uploaded.port, pid=uploaded.pid, firmware=uploaded.firmware, fit=fit, info=info)

    def before_build(self, request: FlashRequest) -> None:
        """Checks that need no model (is the board there, is it free)."""

    def compile(self, model_path: Path, request: FlashRequest) -> CompiledModel:
        """kit's C always; TFLM's arrays and arena probe only for `--engine tflm`."""
        from kit.catalog.mlperf import model_id_for
        from kit.compile import convert

        model_id = model_id_for(model_path, request.lab, request.model is None, request.model_id)
        return convert(model_path, model_id=model_id, tflm=request.engine == "tflm")

    def build(self, compiled: CompiledModel, model_path: Path, request: FlashRequest) -> Any:
        """The kind's artifact: a firmware image, or a PlatformIO project."""
        raise NotImplementedError

    def upload(self, artifact: Any, compiled: CompiledModel, request: FlashRequest) -> Uploaded:
        raise NotImplementedError

    def verify(self, entry: DeviceState) -> dict[str, str]:
        """Handshake (the board runs this model), then record it for bench/validate/stop."""
        device_state.remove(entry.board)
        info = handshake(entry.port, entry.sha256)
        device_state.save(entry)
        return info

    # --- finding and connecting to the flashed board --------------------------------------

    def running_entry(self) -> DeviceState | None:
        """The state entry for this board name: the running board itself, or the twin that
        stands in for it (`kit bench nicla-vision` after `kit flash nicla-vision kws --emulate`)."""
        direct = device_state.load(self.name)
        if direct is not None:
            return direct
        return next((entry for entry in device_state.all_states() if entry.reference_board == self.name), None)

    def not_running(self) -> DeviceError:
        return DeviceError(f"kit did not flash {self.name} and no --port was given",
                           hint="pass the board's port: `--port /dev/ttyACM0`")

    def require_running(self) -> DeviceState:
        self.check("measure")
        entry = self.running_entry()
        if entry is None:
            raise self.not_running()
        if not entry.is_alive():
            device_state.remove(entry.board)
            raise DeviceError(
                f"{entry.board} is no longer running (its emulator, process {entry.pid}, has exited)",
                hint=f"start it again: `kit flash {self.name} {entry.lab}`",
            )
        return entry

    def resolve_port(self, port: str | None = None, force: bool = False) -> tuple[str, DeviceState | None]:
        """(port or URL to open, the state entry kit recorded for it)."""
        self.check("measure")
        if port is not None:
            return port, None
        entry = self.require_running()
        return entry.port, entry

    def open_session(self, url: str, entry: DeviceState | None, line_timeout: float, boot_timeout: float) -> Session:
        link = open_link(url, baudrate=self.reference.baud)
        try:
            client = DeviceClient.connect(link, line_timeout=line_timeout, boot_timeout=boot_timeout)
            check_model(client, entry)
            self.prepare_client(client, entry)
        except BaseException:
            link.close()
            raise
        return Session(client=client, link=link, board=self.run_on, reference=self.reference, state=entry, target=self)

    def prepare_client(self, client: DeviceClient, entry: DeviceState | None) -> None:
        """Per-kind client settings (an emulator's load window, its input file folder)."""

    # --- stopping and `kit invoke` -------------------------------------------------------

    def stop(self, entry: DeviceState) -> bool:
        """Forget a flashed board (a real board keeps running its firmware); True if it ran."""
        device_state.remove(entry.board)
        return False

    def invoke(self, compiled: CompiledModel, inputs: np.ndarray) -> np.ndarray:
        self.check("invoke")
        raise AssertionError("unreachable: refuse('invoke') must refuse a kind without invoke")
