"""The Raspberry Pi lab's 224x224 MobileNetV2 does not fit a microcontroller: `kit flash` refuses it
with the fit check's error (both sides named) before any firmware is built or QEMU booted."""

from __future__ import annotations

import re

from click.testing import CliRunner

from kit.cli import main


def test_flash_refuses_the_224_px_model_on_the_nicla_vision(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(main, ["flash", "nicla-vision", "image-classification-224", "--emulate"])
    assert result.exit_code != 0
    message = " ".join(result.output.split())
    assert "the model does not fit emu-cortex-m7 (emulating nicla-vision)" in message and "too little RAM" in message
    needed = re.search(r"needs ([0-9.]+) KB flash / ([0-9.]+) KB RAM", message)
    assert needed and float(needed.group(2)) > 511.4, message  # kit's arena alone is 602,592 B (card)
    assert "board has 768.0 KB flash / 511.4 KB RAM" in message
    assert "use a smaller model" in message and "Traceback" not in result.output
    assert not (tmp_path / "home" / "cache" / "builds").exists()  # refused before any firmware build
