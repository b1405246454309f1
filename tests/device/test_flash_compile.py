"""What an emulated `kit flash` asks of the compiler: kit's C only (no TFLM arena probe, no TFLM
arrays), and on a warm cache no parse and no plan (the fit check reads the compiled model's
metadata). The build, boot and handshake are replaced here; tests/device/test_emulated_e2e.py
checks the same counts on a real QEMU twin."""

from __future__ import annotations

from pathlib import Path

import pytest

import kit.compile.planner as planner
import kit.compile.tflite as tflite
import kit.compile.tflm_arrays as tflm_arrays
import kit.tflm as tflm
from kit.compile import CompiledModel
from kit import targets
from kit.targets import emulated as emulated_module
from kit.targets.base import Uploaded
from kit.targets.emulated import EmulatedTarget


@pytest.fixture()
def counts(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))  # a cold compile cache
    found = {"parses": 0, "plans": 0, "tflm_probes": 0, "tflm_arrays": 0}
    for module, name, key in ((tflite, "load_model", "parses"), (planner, "build_plan", "plans"),
                              (tflm, "measure_arena_bytes", "tflm_probes"),
                              (tflm_arrays, "write_tflm_arrays", "tflm_arrays")):
        def wrapper(*args, _function=getattr(module, name), _key=key, **kwargs):
            found[_key] += 1
            return _function(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
    return found


@pytest.fixture()
def built(monkeypatch, tmp_path):
    """The compiled models handed to the firmware build; build, boot and handshake stubbed."""
    handed: list[CompiledModel] = []

    def build_firmware(target, converted, force=False, log=None):
        handed.append(converted)
        return tmp_path / "firmware.elf"

    monkeypatch.setattr(emulated_module, "build_firmware", build_firmware)
    monkeypatch.setattr(emulated_module, "refuse_if_in_use", lambda board: None)
    monkeypatch.setattr(EmulatedTarget, "upload",
                        lambda self, artifact, compiled, request: Uploaded(port="socket://127.0.0.1:1", firmware=artifact))
    monkeypatch.setattr(EmulatedTarget, "verify",
                        lambda self, entry: {"board": entry.board, "model": "kws01", "sha256": entry.sha256})
    return handed


def test_emulated_flash_compiles_kit_only_and_a_warm_one_neither_parses_nor_plans(counts, built):
    cold = targets.flash("emu-cortex-m4", "kws")
    assert counts["parses"] >= 1 and counts["plans"] >= 1
    assert counts["tflm_probes"] == 0 and counts["tflm_arrays"] == 0
    compiled = built[0]
    assert isinstance(compiled, CompiledModel) and compiled.tflm is None
    assert not Path(compiled.out_dir, "tflm").exists()
    # the fit check counted the input buffer from the metadata: 49x10 int8
    assert cold.fit.ram_needed == compiled.arena_bytes_kit + 490 + targets.HARNESS_RAM_BYTES

    for key in counts:
        counts[key] = 0
    warm = targets.flash("emu-cortex-m4", "kws")
    assert counts == {"parses": 0, "plans": 0, "tflm_probes": 0, "tflm_arrays": 0}
    assert built[1].cached and warm.fit == cold.fit and warm.sha256 == cold.sha256
