"""Boards running Seeed's SSCMA-Micro firmware (`[upload] method = "sscma"`: the Grove
Vision AI V2): models written through the Himax bootloader's XMODEM burn, everything else
over the SSCMA AT protocol on the board's USB serial port.

kit does not build this board's firmware (the Himax SDK is a separate make project); the
SSCMA firmware must already be on the board. `kit flash BOARD LAB` compiles the lab's model
with Vela for the Ethos-U55, writes it (with SSCMA's packed model header) to the firmware's
model partition the way Himax's xmodem_send.py does, waits for the reboot and confirms over
AT that the firmware found it there (AT+MODELS?: address and size), loads it (AT+MODEL=ID)
and stores kit's record in the board's info string (AT+INFO). Only then is the board
recorded as flashed: an upload that fails half way records nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kit.errors import DeviceError, KitError
from kit.link import open_link
from kit.targets import state as device_state
from kit.targets.base import FlashRequest, FlashResult, say
from kit.targets.fit import Fit, check_fit
from kit.targets.mcu import McuTarget
from kit.targets.session import Session
from kit.targets.state import DeviceState

INFO_PREFIX = "kit"


class SscmaTarget(McuTarget):
    """A real board whose firmware is SSCMA-Micro: no kit harness, the AT protocol instead."""

    upload_methods = ("sscma",)

    def refuse(self, action: str) -> KitError | None:
        if action == "project":
            return KitError(f"kit does not build firmware for the {self.requested.title}: it runs Seeed's SSCMA-Micro",
                            hint=f"`kit flash {self.name} LAB` writes a lab's model to it; "
                                 f"`kit flash {self.name} LAB --emulate` runs kit's firmware on its Cortex-M55 twin")
        if action == "flash" and (self.requested.upload.xmodem is None or self.requested.npu is None):
            return KitError(f"{self.name}'s board file has no [upload.xmodem] or [npu] table, so kit cannot write models to it",
                            hint="add the bootloader's and the NPU's settings to its board file")
        if action == "invoke":
            return KitError(f"kit invoke cannot feed inputs to {self.name}'s SSCMA firmware (it reads its camera)",
                            hint=f"use `kit validate {self.name} LAB` (the board's own frames, scored on both sides), "
                                 f"or the twin: `kit flash {self.name} LAB --emulate`")
        return super().refuse(action)

    # --- kit flash --------------------------------------------------------------------------
    def flash(self, request: FlashRequest) -> FlashResult:
        """Vela -> fit -> XMODEM burn through the bootloader -> reboot -> AT confirmation -> record."""
        from kit.catalog import get_lab
        from kit.train.reference import choose_model

        self.check("flash")
        boot = self.requested.upload.xmodem
        assert boot is not None
        if request.lab is not None:
            get_lab(request.lab)
        port = self._upload_port(request)
        model_path = Path(choose_model(request.lab, request.model, request.log))
        vela_model, report = self._vela(model_path, request)
        image = self._image(vela_model.read_bytes(), request.lab)
        fit = Fit(flash_needed=len(image), ram_needed=report.sram_bytes, flash_limit=boot.model_partition_bytes,
                  ram_limit=self.reference.ram_bytes, board=self.name,
                  detail=f"SSCMA model partition at 0x{boot.model_address:06x}; SRAM as Vela plans it")
        say(request.log, f"fit: needs {fit.flash_needed:,} B of the model partition / {fit.ram_needed:,} B SRAM, "
                         f"{self.name} has {fit.flash_limit:,} B / {fit.ram_limit:,} B")
        check_fit(fit)
        sha256 = hashlib.sha256(vela_model.read_bytes()).hexdigest()
        info = self._write_and_confirm(port, image, vela_model, sha256, request)
        device_state.save(DeviceState(
            board=self.name, reference_board=self.name, port=port, lab=request.lab or "",
            model_path=str(model_path.resolve()), sha256=sha256, firmware=str(vela_model),
            extra={"protocol": "sscma", "vela_model": str(vela_model), "address": boot.model_address,
                   "model_id": boot.model_id, "image_bytes": len(image)}))
        return FlashResult(target=self, lab=request.lab, model_path=model_path, sha256=sha256, port=port, pid=None,
                           firmware=vela_model, fit=fit, info=info)

    def _upload_port(self, request: FlashRequest) -> str:
        from kit.link.ports import choose_port

        if request.port is not None and "://" in request.port:
            return request.port
        return choose_port(self.requested, request.port, force=request.force)

    def _vela(self, model_path: Path, request: FlashRequest):
        from kit.compile.vela import compile_for_npu
        from kit.paths import cache_dir

        assert self.requested.npu is not None
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:16]
        report = compile_for_npu(model_path, self.name, self.requested.npu, cache_dir("vela") / f"{self.name}-{digest}")
        cpu = f", {len(report.cpu_ops)} on the CPU" if report.cpu_ops else ""
        say(request.log, f"vela: {sum(report.npu_ops.values())} operators on the NPU{cpu}; "
                         f"{report.sram_bytes:,} B SRAM, estimated {report.estimated_inference_s * 1000:.2f} ms "
                         f"({report.estimate_label})")
        return Path(report.vela_model), report

    def _image(self, tflite: bytes, lab: str | None) -> bytes:
        from kit.protocol.sscma import ALGORITHM_TYPES, packed_model

        boot = self.requested.upload.xmodem
        assert boot is not None
        return packed_model(tflite, boot.model_id, ALGORITHM_TYPES[_algorithm(lab)])

    def _write_and_confirm(self, port: str, image: bytes, vela_model: Path, sha256: str,
                           request: FlashRequest) -> dict[str, str]:
        from kit.upload.himax import FlashFile, Timeouts, burn

        boot = self.requested.upload.xmodem
        assert boot is not None
        link = open_link(port, baudrate=boot.baud)
        try:
            burn(link, boot, [FlashFile(boot.model_address, image, vela_model.name)], log=request.log,
                 timeouts=self.burn_timeouts or Timeouts())
            say(request.log, "upload: every block acknowledged; the board rebooted, asking its firmware for the model")
            return self._confirm(link, len(image) - 8, sha256, request)
        finally:
            link.close()

    burn_timeouts = None  # a kit.upload.himax.Timeouts; None: the defaults (tests shorten them)

    def _confirm(self, link, model_bytes: int, sha256: str, request: FlashRequest) -> dict[str, str]:
        """The rebooted firmware must list the model at its address with its size, load it,
        and keep kit's record; otherwise the write is not claimed."""
        from kit.protocol.sscma import SscmaClient

        boot = self.requested.upload.xmodem
        assert boot is not None
        try:
            client = SscmaClient.connect(link, reply_timeout=self.confirm_timeout)
        except DeviceError as error:
            raise DeviceError(f"the model was written but the board's firmware does not answer after the reboot: "
                              f"{error.message}", hint="press RESET; if SSCMA still does not answer, restore Seeed's "
                              "firmware with SenseCraft AI, then flash again") from None
        api = str(client.identity.version.get("at_api", "?")) if client.identity else "?"
        if api != boot.firmware_at_api:
            raise DeviceError(f"the board's firmware speaks SSCMA AT API {api}, kit supports {boot.firmware_at_api}",
                              hint=f"install the firmware kit supports: {boot.firmware}")
        found = [m for m in client.models() if m.get("address") == boot.model_address]
        if not found or found[0].get("size") != model_bytes or found[0].get("id") != boot.model_id:
            raise DeviceError(f"after the reboot the firmware does not list the model kit wrote at 0x{boot.model_address:06x} "
                              f"(id {boot.model_id}, {model_bytes:,} bytes); it lists {found or 'nothing there'}",
                              hint="the write did not take: press RESET and flash again")
        client.command(f"MODEL={boot.model_id}")
        record = f"{INFO_PREFIX} {request.lab or 'model'} {sha256[:16]}"
        client.store_info(record)
        if client.read_info() != record:
            raise DeviceError("the board did not keep kit's record of the model (AT+INFO)", hint="flash again")
        say(request.log, f"confirm: SSCMA lists model id {boot.model_id} at 0x{boot.model_address:06x}, "
                         f"{model_bytes:,} bytes; loaded; AT+INFO holds {record!r}")
        return {"board": client.identity.name if client.identity else self.name,
                "model": f"sscma model {boot.model_id} ({request.lab or 'model'})"}

    confirm_timeout = 10.0
    run_timeout = 30.0   # the longest one INVOKE event may take (camera + model); tests shorten it

    def stop(self, entry: DeviceState) -> bool:
        device_state.remove(entry.board)
        return False

    # --- sessions ---------------------------------------------------------------------------
    def open_session(self, url: str, entry: DeviceState | None, line_timeout: float, boot_timeout: float) -> Session:
        from kit.protocol.sscma import SscmaClient

        link = open_link(url, baudrate=self.reference.baud)
        try:
            client = SscmaClient.connect(link, reply_timeout=max(line_timeout, boot_timeout),
                                         run_timeout=self.run_timeout)
            self._load_recorded_model(client, entry)
        except BaseException:
            link.close()
            raise
        return Session(client=client, link=link, board=self.run_on, reference=self.reference,  # type: ignore[arg-type]
                       state=entry, target=self)


    @staticmethod
    def _load_recorded_model(client, entry: DeviceState | None) -> None:
        """SSCMA-Micro 1.0.x does not load a model at boot (its init_model_hook is commented
        out): when the board reports no current model, load the one kit flashed."""
        if entry is None or (client.identity and client.identity.model.get("id")):
            return
        reply = client.command(f"MODEL={int(entry.extra.get('model_id', 1))}")
        if client.identity is not None and isinstance(reply.data, dict) and isinstance(reply.data.get("model"), dict):
            client.identity.model = reply.data["model"]


def _algorithm(lab: str | None) -> str:
    """SSCMA's algorithm for a lab's model: FOMO for detection, image classification otherwise."""
    if lab is None:
        return "imcls"
    from kit.catalog import get_lab
    from kit.data.spec import lab_spec

    return "fomo" if lab_spec(get_lab(lab)).task == "detection" else "imcls"
