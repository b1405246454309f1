"""Inputs for a twin kit started on this machine go through a file the firmware reads with
semihosting (kit-load-file): a 27,648-byte camera frame in microseconds of virtual time
instead of ~5 s through the emulated UART. The outputs stay TFLM's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from kit.targets import flash, stop
from kit.targets import connect, input_folder
from kit.tflm import TflmInterpreter

pytestmark = pytest.mark.slow


def test_vision_inputs_reach_the_m4_twin_through_a_file(mlperf_models):
    model = mlperf_models["vww_96_int8"]
    try:
        flash("emu-cortex-m4", None, model=model)
        inputs = np.random.default_rng(3).integers(-128, 128, size=(3, 96, 96, 3), dtype=np.int8)
        outputs = []
        with connect("emu-cortex-m4") as session:
            client = session.client
            assert client.info.fields["host_files"] == "1" and client.host_file_dir == input_folder("emu-cortex-m4")
            for sample in inputs:
                client.load(sample.tobytes())
                outputs.append(np.frombuffer(client.kit_infer(1).output, dtype=np.int8))
            written = list(input_folder("emu-cortex-m4").iterdir())
            assert [path.name for path in written] == ["input.bin"]  # the file channel, one file
            assert written[0].read_bytes() == inputs[-1].tobytes()
        expected = TflmInterpreter(model).run(inputs).reshape(3, -1)
        assert np.array_equal(np.array(outputs), expected)
    finally:
        stop(None)


def test_the_rv32_twin_reads_inputs_through_riscv_semihosting(mlperf_models):
    """emu-rv32 reads its inputs with RISC-V semihosting too (host_files=1, input.bin)."""
    model = mlperf_models["ad01_int8"]
    try:
        flash("emu-rv32", None, model=model)
        sample = np.random.default_rng(4).integers(-128, 128, size=(1, 640), dtype=np.int8)
        with connect("emu-rv32") as session:
            assert session.client.info.fields["host_files"] == "1"
            session.client.load(sample.tobytes())
            assert (input_folder("emu-rv32") / "input.bin").read_bytes() == sample.tobytes()
            output = np.frombuffer(session.client.kit_infer(1).output, dtype=np.int8)
        assert np.array_equal(output, TflmInterpreter(model).run(sample).reshape(-1))
    finally:
        stop(None)
