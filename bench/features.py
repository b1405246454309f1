"""Feature extraction beside inference, in instructions, for every lab on every twin.

Each lab's committed reference model is built with its kit_lab.h; the twin computes the
features of a few of the lab's own raw test windows (`kit-features`: the int8 model input from
one raw window, tables prepared by an untimed first call) and runs the model on that input
(`kit-infer`). QEMU runs with -icount shift=0, so both are exact instruction counts (the mps2
twins read them through a 25 MHz SysTick: +-40 instructions). The goal anchor of the MFCC is
printed beside the measured number.

    .venv/bin/python bench/features.py [--windows N] [--labs kws,motion] [--boards emu-cortex-m4,...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

import numpy as np  # noqa: E402

from kit import build as kit_build  # noqa: E402
from kit.catalog import get_lab  # noqa: E402
from kit.compile import convert  # noqa: E402
from kit.data import load_raw  # noqa: E402
from kit.errors import KitError  # noqa: E402
from kit.features import audio_to_pcm16  # noqa: E402
from kit.link import open_link  # noqa: E402
from kit.paths import MODELS_DIR  # noqa: E402
from kit.protocol.client import DeviceClient  # noqa: E402
from kit.upload import qemu  # noqa: E402

BOARDS = ["emu-cortex-m4", "emu-cortex-m7", "emu-cortex-m55", "emu-rv32"]
LABS = ["kws", "motion", "anomaly", "image-classification", "visual-wake-words"]
GOAL_BOARD, GOAL_LAB, GOAL_INSTRUCTIONS = "emu-cortex-m4", "kws", 4_000_000


def sensor_windows(lab: str, count: int) -> list[bytes]:
    """`count` raw test windows as the lab's sensor delivers them (int16 PCM, float32 IMU, uint8 pixels)."""
    raw = load_raw(lab, seed=0, size="tiny")
    windows = raw.x[raw.split == "test"][:count]
    kind = get_lab(lab).features.type
    if kind == "mfcc":
        return [audio_to_pcm16(w).tobytes() for w in windows]
    dtype = np.uint8 if kind == "image" else np.float32
    return [np.ascontiguousarray(w, dtype).tobytes() for w in windows]


def measure(board: str, lab: str, windows: list[bytes], folder: Path) -> tuple[float, float]:
    """(median feature instructions, median inference instructions) on `board`."""
    result = kit_build.build(board, convert(MODELS_DIR / lab / "model.tflite"))
    running = qemu.start(board, result.firmware)
    try:
        client = DeviceClient.connect(open_link(running.port))
        assert client.info is not None
        features, inference = [], []
        for index, window in enumerate(windows):
            path = folder / f"{board}-{lab}-{index}.bin"
            path.write_bytes(window)
            reply = client.kit_features(path)
            features.append(client.info.ticks_to_cycles(reply.ticks))
            assert reply.values is not None
            client.load(reply.values)
            inference.append(client.info.ticks_to_cycles(client.kit_infer(1).ticks[0]))
        client.link.close()
    finally:
        qemu.terminate(running.pid)
    return statistics.median(features), statistics.median(inference)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--labs", default=",".join(LABS))
    parser.add_argument("--boards", default=",".join(BOARDS))
    args = parser.parse_args()
    print(f"{'board':<15} {'lab':<21} {'feature instr':>14} {'inference instr':>16} {'features/total':>15}")
    goal = None
    with tempfile.TemporaryDirectory() as folder:
        for lab in args.labs.split(","):
            windows = sensor_windows(lab, args.windows)
            for board in args.boards.split(","):
                try:
                    features, inference = measure(board, lab, windows, Path(folder))
                except KitError as error:
                    print(f"{board:<15} {lab:<21} error: {error.message}", flush=True)
                    continue
                except (AssertionError, OSError, TimeoutError) as error:  # one twin's failure keeps the other rows
                    print(f"{board:<15} {lab:<21} error: {type(error).__name__}: {error}", flush=True)
                    continue
                share = features / (features + inference)
                print(f"{board:<15} {lab:<21} {features:>14,.0f} {inference:>16,.0f} {share:>15.1%}", flush=True)
                if (board, lab) == (GOAL_BOARD, GOAL_LAB):
                    goal = features
    measured = "not measured" if goal is None else f"{goal:,.0f} ({'met' if goal <= GOAL_INSTRUCTIONS else 'NOT met'})"
    print(f"\ngoal: kws MFCC on emu-cortex-m4 <= {GOAL_INSTRUCTIONS:,} instructions; measured {measured}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
