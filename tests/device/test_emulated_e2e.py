"""End to end on the real QEMU boards: kit flash + bench + validate + invoke + stop.

Slow: each (board, model) pair builds firmware with PlatformIO and boots QEMU. Lab models are
the committed reference models (or trained once per session when none is committed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.targets import state as device_state
from kit.targets import flash, stop
from kit.device.flow import bench, validate_lab
from kit.errors import KitError, ModelError, ToolMissingError
from kit.tflm import run_tflm
from kit.paths import MODELS_DIR
from kit.upload import qemu

pytestmark = pytest.mark.slow

BOARDS = ["emu-cortex-m4", "emu-cortex-m7", "emu-rv32"]
LABS = ["kws", "visual-wake-words"]  # both have committed reference models (no training)


def kit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True, scope="module")
def stop_everything_at_the_end():
    yield
    stop(None)


@pytest.mark.parametrize("lab", LABS)
@pytest.mark.parametrize("board", BOARDS)
def test_flash_bench_validate(board, lab):
    code, out, err = kit("flash", board, lab)
    assert code == 0, err
    assert "handshake ok" in " ".join(out.split())  # rich wraps at 80 columns off a terminal
    entry = device_state.load(board)
    assert entry is not None and entry.is_alive() and entry.lab == lab

    code, out, err = kit("bench", board, "--runs", "3", "--warmup", "1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["runs"] == 3 and report["protocol"] == "kit" and report["sha256"] == entry.sha256
    # per-layer counts exclude the runtime's dispatch between ops: a few % under the whole run
    layer_sum = sum(layer["cycles"] for layer in report["layers"])
    assert 0.9 * report["instructions"]["min"] <= layer_sum <= report["instructions"]["min"]
    assert report["layers"] and abs(sum(layer["percent"] for layer in report["layers"]) - 100) < 0.01
    assert report["energy"]["label"] == "modelled"
    assert "QEMU virtual time" in report["latency_us"]["label"] and "MHz" not in report["latency_us"]["label"]
    assert "instructions counted under QEMU -icount" in report["counted"]

    result = validate_lab(board, lab, limit=3, size="tiny")
    assert result.samples == 3 and result.bit_exact, result.first_mismatch
    assert result.accuracy is not None

    code, out, _ = kit("stop", board)
    assert code == 0 and f"stopped {board}" in out
    assert not entry.is_alive() and device_state.load(board) is None


def test_a_warm_flash_neither_parses_nor_plans_the_model(monkeypatch, tmp_path):
    """The second `kit flash` of the same model builds its compiled model from the compile
    cache's metadata: the fit check and the build touch neither the parser nor the planner. No
    emulated flash runs the TFLM arena probe (bench/flash_time.py times these same runs)."""
    import kit.compile.planner as planner
    import kit.compile.tflite as tflite
    import kit.tflm as tflm

    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))  # cold: empty compile and build caches
    counts = {"parses": 0, "plans": 0, "tflm_probes": 0}
    for module, name, key in ((tflite, "load_model", "parses"), (planner, "build_plan", "plans"),
                              (tflm, "measure_arena_bytes", "tflm_probes")):
        def wrapper(*args, _function=getattr(module, name), _key=key, **kwargs):
            counts[_key] += 1
            return _function(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
    runs = []
    try:
        for _ in ("cold", "warm"):
            counts.update(parses=0, plans=0, tflm_probes=0)
            code, out, err = kit("flash", "emu-cortex-m4", "kws")
            assert code == 0, err
            assert "handshake ok" in " ".join(out.split())
            runs.append(dict(counts))
    finally:
        stop("emu-cortex-m4")
    cold, warm = runs
    assert cold["parses"] > 0 and cold["plans"] > 0 and cold["tflm_probes"] == 0
    assert warm == {"parses": 0, "plans": 0, "tflm_probes": 0}


@pytest.mark.parametrize("board", ["emu-cortex-m4", "emu-cortex-m7"])
def test_mlperf_kws_reference_model_is_bit_exact(board, mlperf_models, tmp_path):
    inputs = np.random.default_rng(7).integers(-128, 128, size=(6, 1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "in.npy", inputs)
    model = str(mlperf_models["kws_ref_model"])
    code, out, err = kit("invoke", board, "--model", model, "--input", str(tmp_path / "in.npy"),
                       "--output", str(tmp_path / "out.npy"))
    assert code == 0, (out, err)
    outputs = np.load(tmp_path / "out.npy")
    expected = np.stack([run_tflm(model, sample) for sample in inputs]).reshape(outputs.shape)
    assert outputs.dtype == np.int8 and np.array_equal(outputs, expected)


def test_two_benches_give_the_same_instruction_counts(mlperf_models):
    """Under -icount shift=0 the counts are instruction counts: identical bench after bench.
    rv32 reads mcycle; mps2's 25 MHz SysTick ticks every 40 instructions, and the harness
    starts every measurement on a tick boundary (kit_hal_timer_sync), so it repeats exactly too."""
    model = mlperf_models["kws_ref_model"]
    for board in ("emu-rv32", "emu-cortex-m4"):
        flash(board, "kws", model=model)
        first = bench(board, runs=4, warmup=1)
        second = bench(board, runs=4, warmup=1)
        stop(board)
        assert first.counts.as_dict() == second.counts.as_dict()
        assert first.counts.min == first.counts.max
        assert [layer.ticks for layer in first.layers] == [layer.ticks for layer in second.layers]


def test_real_board_with_emulate_uses_its_twin_and_its_numbers(mlperf_models):
    result = flash("nicla-vision", "kws", emulate=True, model=mlperf_models["kws_ref_model"])
    assert result.target.run_on.name == "emu-cortex-m7" and result.fit.ram_limit == 523_624
    report = bench("nicla-vision", runs=2, warmup=0)
    from kit.report.plots import plot_bench_report

    report.plot = plot_bench_report(report)
    assert report.board == "emu-cortex-m7" and report.reference_board == "nicla-vision"
    assert report.latency_us.mean == pytest.approx(report.counts.mean / 480e6 * 1e6)
    assert report.energy.power_board == "nicla-vision" and report.plot.is_file()
    assert stop("nicla-vision") == ["emu-cortex-m7"]


def test_grove_emulate_runs_kws_on_the_cortex_m55_twin_with_helium_bit_exact():
    """The Grove Vision AI V2's twin: QEMU mps3-an547, the Grove's SRAM as the limit, Helium kernels."""
    result = flash("grove-vision-ai-v2", "kws", emulate=True)
    assert result.target.run_on.name == "emu-cortex-m55" and result.fit.ram_limit == 2_516_582
    report = bench("grove-vision-ai-v2", runs=2, warmup=0)
    assert report.board == "emu-cortex-m55" and report.reference_board == "grove-vision-ai-v2"
    assert report.counts.min == report.counts.max and report.layers
    assert report.latency_us.mean == pytest.approx(report.counts.mean / 400e6 * 1e6)  # at the Grove's clock
    checked = validate_lab("grove-vision-ai-v2", "kws", limit=3, size="tiny")
    assert checked.samples == 3 and checked.bit_exact, checked.first_mismatch
    assert stop("grove-vision-ai-v2") == ["emu-cortex-m55"]


def test_real_board_without_a_board_plugged_in_says_so():
    code, _, err = kit("flash", "nano33-ble-sense", "kws")
    assert code == 2 and "no nano33-ble-sense found" in err and "--emulate" in err


@pytest.fixture(scope="module")
def huge_model(tmp_path_factory):
    """An int8 model with ~1.2 MB of weights: more than the Nano 33 BLE Sense's 960 KB flash."""
    import tensorflow as tf

    inputs = tf.keras.Input((1100,))
    outputs = tf.keras.layers.Dense(1100)(inputs)
    model = tf.keras.Model(inputs, outputs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    data = np.random.default_rng(0).normal(size=(8, 1100)).astype(np.float32)
    converter.representative_dataset = lambda: ([row[None]] for row in data)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    path = tmp_path_factory.mktemp("huge") / "huge.tflite"
    path.write_bytes(converter.convert())
    return path


def test_model_too_large_for_the_twin_names_both_sides(huge_model):
    with pytest.raises(ModelError) as caught:
        flash("nano33-ble-sense", "motion", emulate=True, model=huge_model)
    message = str(caught.value)
    assert "needs" in message and "flash" in message and "960.0 KB" in message and "nano33-ble-sense" in message
    assert device_state.load("emu-cortex-m4") is None


def test_missing_compiler_and_missing_qemu_give_the_apt_get_fix(mlperf_models, tmp_path, monkeypatch):
    model = str(mlperf_models["ad01_int8"])
    flash("emu-cortex-m4", "anomaly", model=model)  # a cached build for the QEMU case
    stop("emu-cortex-m4")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolMissingError, match="arm-none-eabi-gcc") as caught:
        flash("emu-cortex-m4", "anomaly", model=model, force=True)
    assert "apt-get install" in caught.value.hint
    only_compiler = tmp_path / "compiler-bin"
    only_compiler.mkdir()
    for tool in Path("/usr/bin").glob("arm-none-eabi-*"):  # the whole cross toolchain, no QEMU
        (only_compiler / tool.name).symlink_to(tool)
    monkeypatch.setenv("PATH", str(only_compiler))
    with pytest.raises(ToolMissingError, match="qemu-system-arm") as caught:
        flash("emu-cortex-m4", "anomaly", model=model)
    assert "apt-get install" in caught.value.hint and "qemu-system-arm" in caught.value.hint


def test_port_held_by_another_process_is_refused_with_its_name():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    holder = subprocess.Popen([sys.executable, "-c", f"import time; f = open({path!r}, 'rb'); time.sleep(60)"])
    try:
        for _ in range(100):
            if any(link.endswith(path) or os.path.realpath(link) == path
                   for link in _fds_of(holder.pid)):
                break
            import time

            time.sleep(0.05)
        code, _, err = kit("bench", "emu-cortex-m4", "--port", path, "--runs", "1")
        assert code == 2 and "in use" in err and str(holder.pid) in err
    finally:
        holder.kill()
        holder.wait()
        os.close(master)
        os.close(slave)


def _fds_of(pid: int) -> list[str]:
    try:
        return [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return []


def test_bench_on_a_board_that_is_not_running_says_how_to_start_it():
    stop("emu-rv32")
    with pytest.raises(KitError, match="not running") as caught:
        bench("emu-rv32", runs=1)
    assert "kit flash emu-rv32" in caught.value.hint


def test_emulator_killed_mid_bench_keeps_partial_results(mlperf_models):
    from kit.bench.results import read_records

    flash("emu-rv32", "kws", model=mlperf_models["kws_ref_model"])
    entry = device_state.load("emu-rv32")
    killed = []

    def kill_after_five(done: int) -> None:
        if done == 5 and not killed:
            os.kill(entry.pid, 9)
            killed.append(done)

    with pytest.raises(KitError) as caught:
        bench("emu-rv32", runs=40, warmup=0, progress=kill_after_five)
    message = str(caught.value)
    assert "the bench stopped after" in message
    path = message.split("saved in ")[1].split()[0]
    runs = [r for r in read_records(Path(path)) if r.get("type") == "run"]
    assert len(runs) >= 5
    assert list(read_records(Path(path)))[-1]["status"] == "interrupted"
    stop("emu-rv32")
    assert device_state.load_running("emu-rv32") is None


def _balanced_accuracy(predicted: list[int], labels: np.ndarray) -> float:
    recalls = [np.mean(np.asarray(predicted)[labels == c] == c) for c in np.unique(labels)]
    return float(np.mean(recalls))


def test_validate_anomaly_lab_scores_with_the_cards_threshold():
    """The anomaly lab's on-device figure is the card's balanced accuracy: same threshold, same
    int8 outputs (bit-exact). On the host, TFLM's outputs of the whole test split scored the
    validate way give the card's number; the M4 twin then validates 160 windows spread over the
    split (both classes: the split holds its normal windows before its faults) and must give the
    host's figure for those windows. (The whole split over the twin's UART took 2-3 min of CI.)"""
    from kit.device.flow import test_inputs

    card = json.loads((MODELS_DIR / "anomaly" / "card.json").read_text())
    model = MODELS_DIR / "anomaly" / "model.tflite"
    _, scorer, reference = test_inputs("anomaly", model, None, "full")
    whole = [scorer.predict(i, output) for i, output in enumerate(reference)]
    assert _balanced_accuracy(whole, scorer.labels) == pytest.approx(card["accuracy_int8"], abs=1e-6)

    _, scorer, reference = test_inputs("anomaly", model, 160, "full")
    expected = _balanced_accuracy([scorer.predict(i, output) for i, output in enumerate(reference)], scorer.labels)
    report = validate_lab("emu-cortex-m4", "anomaly", limit=160, size="full")
    assert report.bit_exact, report.first_mismatch
    assert report.accuracy_kind == "balanced accuracy"
    assert report.samples == 160 and set(report.class_total) == {0, 1}
    assert report.accuracy == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("board", ["emu-rv32", "emu-cortex-m4"])
def test_kit_cancel_ends_a_long_infer_and_other_lines_wait_their_turn(board):
    """`infer 1000000` on kws would run for hours: `kit-cancel` stops it between runs, while
    any other command sent during a run is kept and answered after it (pipelined hosts)."""
    from kit.targets import connect
    from kit.protocol import ProtocolError
    from kit.protocol.client import RUN_RE

    flash(board, "kws")
    try:
        with connect(board) as session:
            client = session.client
            client.load(bytes(client.info.input_bytes))
            client.send("kit-infer 3")
            client.send("kit-layers")
            assert len(client.collect("kit-infer 3").match_all(RUN_RE)) == 3
            assert client.collect("kit-layers").lines[-1] == f"m-kit-layers-done-[{client.info.ops}]"
            client.send("infer 1000000 0")
            assert client.link.read_line(10) == "m-warmup-start-0"
            client.send("kit-cancel")
            with pytest.raises(ProtocolError, match=r"cancelled after [0-9]+ of 1000000 runs"):
                client.collect("infer 1000000 0", line_timeout=30)
            assert client.collect("kit-cancel").lines == []
            assert client.name() == f"kit-{board}"
    finally:
        stop(board)


@pytest.fixture(scope="module")
def faulting_model(tmp_path_factory):
    """tests/firmware/testmodel, except that an input starting with 0x7f makes its invoke
    write to an unmapped address: a real hard fault (bus fault escalated) on mps2."""
    from kit.paths import REPO_ROOT

    folder = tmp_path_factory.mktemp("faulting-model")
    source = REPO_ROOT / "tests" / "firmware" / "testmodel"
    for name in ("kit_model.h", "kit_runtime.h"):
        (folder / name).write_bytes((source / name).read_bytes())
    text = (source / "kit_model.c").read_text()
    marker = "    for (op = 0; op < TEST_OP_COUNT; op++) {\n"
    assert marker in text
    fault = ("    if (kit_model_input(m, arena)[0] == 0x7f) {\n"
             "        *(volatile uint32_t *)0xfffffff0u = 1u; /* unmapped: bus fault */\n"
             "    }\n")
    (folder / "kit_model.c").write_text(text.replace(marker, fault + marker, 1))
    return folder


def test_a_hard_fault_mid_bench_is_an_error_and_the_runs_before_it_are_kept(faulting_model, tmp_path, monkeypatch):
    """The firmware's `e-[hard fault]` path, through the client and a bench: a clear error
    naming the fault, the emulator exits (code 3), the session file marked interrupted."""
    import time

    import kit.device.bench as bench_module
    from kit.bench.results import ResultsFile, read_records
    from kit.build import build_firmware
    from kit.catalog import get_board
    from kit.link import open_link
    from kit.protocol import DeviceClient

    firmware = build_firmware("emu-cortex-m4", faulting_model).firmware
    running = qemu.start("emu-cortex-m4", firmware)
    try:
        with open_link(running.port) as link:
            client = DeviceClient.connect(link, boot_timeout=10.0)
            client.load(bytes(64))
            assert len(client.kit_infer(2).ticks) == 2  # a harmless input runs
            monkeypatch.setattr(bench_module, "bench_input", lambda size, seed=0: b"\x7f" + bytes(size - 1))
            board = get_board("emu-cortex-m4")
            results = ResultsFile.create("bench", {"board": "emu-cortex-m4"}, directory=tmp_path)
            with pytest.raises(KitError, match="hard fault") as caught, results:
                bench_module.run_bench(client, board, board, 5, 0, results)
        assert "after 0 of 5 runs" in str(caught.value)
        assert list(read_records(results.path))[-1]["status"] == "interrupted"
        deadline = time.monotonic() + 10
        while running.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
            qemu._reap(running.pid)  # noqa: SLF001 (our child: collect its exit status)
        assert not running.is_alive()
    finally:
        running.stop()


def test_validate_emulate_through_the_cli_table_and_json():
    """`kit validate REAL_BOARD LAB --emulate` starts the twin, validates, stops it."""
    code, out, err = kit("validate", "nano33-ble-sense", "motion", "--emulate", "--limit", "3", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["samples"] == 3 and report["bit_exact"] is True and report["board"] == "emu-cortex-m4"
    assert device_state.load("emu-cortex-m4") is None  # started for the command, stopped at its end
    code, out, err = kit("validate", "nano33-ble-sense", "motion", "--emulate", "--limit", "3")
    assert code == 0 and "bit-exact: all 3 outputs identical" in " ".join(out.split())
