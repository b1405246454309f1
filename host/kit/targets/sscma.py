"""Boards running Seeed's SSCMA-Micro firmware (`[upload] method = "sscma"`: the Grove
Vision AI V2): measured over the SSCMA AT protocol on the board's USB serial port.

kit does not build this board's firmware (the Himax SDK is a separate make project) and does
not write models to it yet: Seeed's tools do (SenseCraft AI in the browser, or the Himax
bootloader's XMODEM upload, `xmodem_send.py --model "MODEL_vela.tflite ADDRESS 0x00000"`).
`kit convert MODEL --target grove-vision-ai-v2` makes the Vela model those tools flash.
`kit bench` then drives inference with AT+INVOKE and reports the board's own pre-process /
inference / post-process times.
"""

from __future__ import annotations

from kit.errors import KitError
from kit.link import open_link
from kit.targets.mcu import McuTarget
from kit.targets.session import Session
from kit.targets.state import DeviceState


class SscmaTarget(McuTarget):
    """A real board whose firmware is SSCMA-Micro: no kit harness, the AT protocol instead."""

    upload_methods = ("sscma",)

    def refuse(self, action: str) -> KitError | None:
        if action in ("flash", "project"):
            return KitError(
                f"kit does not write models to the {self.requested.title} yet: its firmware is Seeed's "
                "SSCMA-Micro, flashed with Seeed's tools",
                hint=f"compile for its NPU with `kit convert MODEL.tflite --target {self.name}`, flash the "
                f"*_vela.tflite with SenseCraft AI (or {self.requested.upload.notes or 'the vendor tool'}), then "
                f"`kit bench {self.name} --port PORT`; `kit flash {self.name} LAB --emulate` runs kit's own "
                "firmware on its Cortex-M55 twin")
        if action == "invoke":
            return KitError(f"kit invoke cannot feed inputs to {self.name}'s SSCMA firmware (it reads its camera)",
                            hint=f"use `kit bench {self.name} --port PORT`, or the twin: `kit flash {self.name} LAB --emulate`")
        return super().refuse(action)

    def open_session(self, url: str, entry: DeviceState | None, line_timeout: float, boot_timeout: float) -> Session:
        from kit.protocol.sscma import SscmaClient

        link = open_link(url, baudrate=self.reference.baud)
        try:
            client = SscmaClient.connect(link, reply_timeout=max(line_timeout, boot_timeout))
        except BaseException:
            link.close()
            raise
        return Session(client=client, link=link, board=self.run_on, reference=self.reference,  # type: ignore[arg-type]
                       state=entry, target=self)
