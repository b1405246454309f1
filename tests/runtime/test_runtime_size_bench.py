"""bench/runtime_size.py reports a compile failure (target and gcc's stderr) and exits 1."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "runtime_size.py"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")
def test_compile_failure_prints_target_and_stderr(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("runtime_size_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "TARGETS", {"broken-gcc": (["gcc", "-include", "kit_no_such_header.h"], "size")})
    monkeypatch.setattr("sys.argv", ["runtime_size.py"])
    with pytest.raises(SystemExit) as info:
        bench.main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "broken-gcc" in err and "kit_no_such_header.h" in err
    assert "Traceback" not in err


def test_the_m4_runtime_with_optimised_kernels_stays_within_32_kb(tmp_path):
    """Issue 13's code-size bound: executor + every kernel, -O2, Arm DSP kernels, <= 32 KB of .text
    (TFLM + CMSIS-NN's is 75.6 KB). A kernel variant that pushes it over must share code instead."""
    spec = importlib.util.spec_from_file_location("runtime_size_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sizes = bench.measure_target("cortex-m4", tmp_path)
    assert isinstance(sizes, dict), sizes
    text = sizes["TOTAL"]["text"]
    assert 10_000 < text <= 32 * 1024, text
