"""The Raspberry Pi lab's 224x224 MobileNetV2 does not fit the Nicla Vision or the XIAO: `kit flash` refuses it
with the fit check's error (both sides named) before any firmware is built or QEMU booted; the Grove holds it."""

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


def test_the_224_px_model_fits_the_grove_vision_ai_v2_and_not_the_xiao(tmp_path):
    """The lab file says which boards hold it: the Grove's 2.4 MB of RAM does, the XIAO ESP32S3's
    internal 320 KB does not (the fit check kit flash runs, on the compiled reference model)."""
    from kit.catalog import get_board
    from kit.compile import convert
    from kit.paths import MODELS_DIR
    from kit.targets import fit_for_engine

    compiled = convert(MODELS_DIR / "image-classification-224" / "model.tflite", tmp_path / "compiled")
    grove = fit_for_engine(get_board("grove-vision-ai-v2"), "grove-vision-ai-v2", compiled)
    xiao = fit_for_engine(get_board("xiao-esp32s3"), "xiao-esp32s3", compiled)
    assert grove.fits and grove.ram_needed > 511 * 1024, grove
    assert not xiao.fits and xiao.flash_needed <= xiao.flash_limit and xiao.ram_needed > xiao.ram_limit, xiao
