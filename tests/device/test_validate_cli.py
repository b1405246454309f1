"""`kit validate` and `kit bench` end to end through the CLI against a board on a real pty.

The board is the test peer running the motion lab's committed model under the TFLM host
interpreter, so it is bit-exact unless told to corrupt an output: that is how `kit validate`
is shown to detect a difference (report, JSON and exit code 1).
"""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner
from dut_peer import PeerBehaviour, serve_pty

from kit.cli import main
from kit.paths import MODELS_DIR
from kit.tflm import TflmInterpreter

pytestmark = pytest.mark.timeout(300)

MODEL = MODELS_DIR / "motion" / "model.tflite"


def motion_board(corrupt: set[int] = frozenset()) -> PeerBehaviour:
    """A peer that runs the motion model; the outputs of the runs in `corrupt` (counting
    from 0) get their first byte changed."""
    interpreter = TflmInterpreter(MODEL)
    runs = [0]

    def model(data: bytes) -> bytes:
        sample = np.frombuffer(data, dtype=np.int8)
        output = bytearray(np.asarray(interpreter.invoke_one(sample), dtype=np.int8).tobytes())
        if runs[0] in corrupt:
            output[0] = (output[0] + 1) & 0xFF
        runs[0] += 1
        return bytes(output)

    input_bytes = int(np.prod(interpreter.input.shape))
    output_bytes = int(np.prod(interpreter.output.shape))
    return PeerBehaviour(input_bytes=input_bytes, output_bytes=output_bytes, model=model,
                         sha256=hashlib.sha256(MODEL.read_bytes()).hexdigest())


def kit(*args: str):
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def validate(behaviour: PeerBehaviour, *extra: str):
    path, peer, _ = serve_pty(behaviour)
    try:
        return kit("validate", "emu-cortex-m4", "motion", "--port", path, "--limit", "4", *extra)
    finally:
        peer.stopped = True


def test_validate_detects_one_wrong_output_and_exits_1():
    code, out, err = validate(motion_board(corrupt={2}), "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["samples"] == 4 and report["matching_samples"] == 3 and report["bit_exact"] is False
    mismatch = report["first_mismatch"]
    assert mismatch["index"] == 2 and mismatch["device"][0] == (mismatch["reference"][0] + 129) % 256 - 128
    assert mismatch["device"][1:] == mismatch["reference"][1:]
    # the card's K-means: the 4 known test windows against 4 windows of each unseen motion
    anomaly = report["anomaly"]
    assert anomaly["known_windows"] == 4 and anomaly["windows_per_kind"] == 4
    assert anomaly["kinds"] == ["shake", "drop", "tumble", "walk"] and anomaly["known_recall"] == 1.0
    assert anomaly["balanced_accuracy"] == (anomaly["known_recall"] + anomaly["unseen_recall"]) / 2 >= 0.9


def test_validate_table_of_a_bit_exact_board_exits_0():
    code, out, err = validate(motion_board())
    assert code == 0, err
    flat = " ".join(out.split())
    assert "4 test samples" in flat and "bit-exact: all 4 outputs identical to the TFLM host interpreter" in flat
    assert "anomaly (K-means, host float32 twin of the board's C): balanced accuracy" in flat
    assert "results:" in flat


def test_validate_table_names_the_first_difference():
    code, out, _ = validate(motion_board(corrupt={0, 3}))
    flat = " ".join(out.split())
    assert code == 1 and "NOT bit-exact: 2 of 4 outputs differ from TFLM; first at sample 0" in flat


def test_validate_without_a_terminal_prints_plain_progress_lines():
    _, _, err = validate(motion_board())
    assert "validate emu-cortex-m4 motion (samples): 4/4" in err


def test_bench_table_csv_values_and_plot(tmp_path):
    from PIL import Image

    path, peer, _ = serve_pty(PeerBehaviour())
    csv_path = tmp_path / "runs.csv"
    try:
        code, out, err = kit("bench", "nicla-vision", "--port", path, "--runs", "7", "--warmup", "1",
                             "--csv", str(csv_path))
    finally:
        peer.stopped = True
    assert code == 0, err
    assert "bench nicla-vision (runs): 7/7" in err  # plain progress lines off a terminal
    flat = " ".join(out.split())
    assert "kit bench nicla-vision" in flat and "(7 runs, 1 warm-up)" in flat
    for row in ("min", "p50", "p90", "p99", "max", "mean", "std"):
        assert f" {row} " in flat
    assert "CONV_2D" in flat and "SOFTMAX" in flat and "energy/inference" in flat
    rows = list(csv.DictReader(csv_path.open()))
    assert [int(row["index"]) for row in rows] == list(range(7))
    # the peer's runs take 1000 ticks of a 25 MHz timer: measured on silicon, 40 µs
    assert {row["ticks"] for row in rows} == {"1000"}
    assert all(float(row["cycles"]) == 40_000 and float(row["latency_us"]) == pytest.approx(40.0) for row in rows)
    plot = flat.split("plot: ")[1].split()[0]
    with Image.open(plot) as image:
        assert image.size == (1200, 400)
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 5 and (pixels < 128).mean() > 0.005  # drawn, not blank


def test_bench_no_plot_writes_no_png():
    path, peer, _ = serve_pty(PeerBehaviour())
    try:
        code, out, err = kit("bench", "emu-cortex-m4", "--port", path, "--runs", "3", "--no-plot", "--json")
    finally:
        peer.stopped = True
    assert code == 0, err
    report = json.loads(out)
    assert report["plot"] is None
    assert not list(__import__("pathlib").Path(report["results_file"]).parent.glob(
        __import__("pathlib").Path(report["results_file"]).stem + ".png"))


def test_emulated_twin_output_says_what_was_counted_and_estimated():
    path, peer, _ = serve_pty(PeerBehaviour())
    from kit.targets import state as device_state

    device_state.save(device_state.DeviceState(
        board="emu-rv32", reference_board="xiao-esp32s3", port=path, lab="kws", model_path="m.tflite",
        sha256="ab" * 32, pid=None))
    try:
        code, out, err = kit("bench", "xiao-esp32s3", "--runs", "3", "--no-plot")
    finally:
        device_state.remove("emu-rv32")
        peer.stopped = True
    assert code == 0, err
    flat = " ".join(out.split())
    assert "estimate for xiao-esp32s3 at 240 MHz" in flat
    assert "rv32imc instructions counted under QEMU -icount" in flat
    assert "xiao-esp32s3 runs xtensa-lx7 code, not rv32imc: a rough guide only" in flat


def test_bare_emulated_board_is_not_given_a_1000_mhz_clock():
    path, peer, _ = serve_pty(PeerBehaviour())
    try:
        code, out, err = kit("bench", "emu-cortex-m4", "--port", path, "--runs", "3", "--no-plot", "--json")
    finally:
        peer.stopped = True
    assert code == 0, err
    label = json.loads(out)["latency_us"]["label"]
    assert "1000 MHz" not in label and "QEMU virtual time" in label and "no real chip" in label
    assert json.loads(out)["counted"].startswith("armv7em instructions counted under QEMU -icount")


def test_rfc2217_link_benches_through_the_cli():
    """An rfc2217:// URL (a network serial server) reaches the same device as its pty."""
    import socket
    import threading

    import serial
    from serial import rfc2217

    path, peer, _ = serve_pty(PeerBehaviour())
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def bridge() -> None:
        """An RFC 2217 server for the pty: pyserial's PortManager answers the telnet option
        and port-setting negotiation (on a loop:// stand-in: a pty has no modem lines), the
        bytes go to and from the pty."""
        connection, _ = server.accept()
        device = serial.Serial(path, timeout=0.05)

        class Writer:  # what PortManager writes its telnet replies to
            write = connection.sendall

        redirector = rfc2217.PortManager(serial.serial_for_url("loop://"), Writer())

        def to_client() -> None:
            while not peer.stopped:
                data = device.read(4096)
                if data:
                    connection.sendall(b"".join(redirector.escape(data)))

        threading.Thread(target=to_client, daemon=True).start()
        while not peer.stopped:
            data = connection.recv(4096)
            if not data:
                break
            device.write(b"".join(redirector.filter(data)))

    threading.Thread(target=bridge, daemon=True).start()
    try:
        code, out, err = kit("bench", "emu-cortex-m4", "--port", f"rfc2217://127.0.0.1:{port}", "--runs", "3",
                             "--no-plot", "--json")
    finally:
        peer.stopped = True
        server.close()
    assert code == 0, err
    assert json.loads(out)["runs"] == 3 and peer.received[:2] == ["name", "kit-info"]


def test_handshake_mismatch_names_both_hashes():
    from kit.targets import handshake

    path, peer, _ = serve_pty(PeerBehaviour(sha256="cd" * 32))
    try:
        with pytest.raises(Exception) as caught:
            handshake(path, "ab" * 32, line_timeout=2.0)
    finally:
        peer.stopped = True
    message = str(caught.value)
    assert "handshake failed" in message and "cd" * 32 in message and "ab" * 32 in message


def test_validate_limit_generates_only_a_small_dataset_when_the_full_one_is_not_cached(tmp_path, monkeypatch):
    """--limit 4 needs 4 test samples: generating the lab's whole dataset first took minutes
    (6.5 min for kws). The smallest generated size that holds them is used, and said."""
    from kit.catalog import get_lab
    from kit.data.dataset import cache_key
    from kit.data.spec import lab_spec
    from kit.paths import cache_dir

    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    code, out, err = validate(motion_board())
    assert code == 0, err
    assert "generating the test split of the tiny motion dataset for --limit 4" in err
    assert "spread over the tiny generated dataset" in err
    spec = lab_spec(get_lab("motion"))
    cached = {path.name for path in cache_dir("datasets").glob("*.npz")}
    assert cached == {f"motion-{cache_key(spec, 0, 0.03, None, ('test',))}.npz"}  # the tiny test split only
    # The figure is put beside the card's, and the different test set is said
    assert "model card: accuracy 99.5% on the full test split; this run used the tiny generated set" in " ".join(out.split())
    code, out, _ = validate(motion_board(), "--json")
    report = json.loads(out)
    assert report["test_set"] == "tiny" and report["card_accuracy"] == json.loads(
        (MODELS_DIR / "motion" / "card.json").read_text())["accuracy_int8"]
