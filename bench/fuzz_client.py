"""Fuzz kit's host serial client with hostile devices, in bounded time.

Each input is a device script: the test peer (tests/device/dut_peer.py) on a real pty, whose
boot output and replies are mutated at random (numbers made huge, zero, negative or 400
digits long; lines dropped, duplicated, cut, glued, replaced by noise or by lines that only
contain `m-ready`; bytes >= 0x80; silence; endless noise; the connection closed mid-reply;
impossible kit-info fields). The client connects and runs a 5-run bench into a results file,
as `kit bench --port PTY --runs 5` does. Every input must end, within a hard limit, either
normally or with a KitError (a clear `error:` / `fix:`): anything else is counted.

    .venv/bin/python bench/fuzz_client.py [--inputs 400] [--seconds 240] [--seed 1]

prints "N inputs, M crashes, K tracebacks, J hangs" and what it does not cover.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "device"))

from dut_peer import DutPeer, PeerBehaviour, PeerDiedWith, serve_pty  # noqa: E402

from kit.bench.results import ResultsFile  # noqa: E402
from kit.catalog import get_board  # noqa: E402
from kit.device.bench import run_bench  # noqa: E402
from kit.errors import KitError  # noqa: E402
from kit.link import open_link  # noqa: E402
from kit.protocol import DeviceClient  # noqa: E402

HARD_LIMIT_S = 30.0  # an input still running after this is a hang (its own deadlines are ~1-10 s)
NUMBERS = ["0", "-1", "1", "4294967295", "4294967296", "18446744073709551615", "18446744073709551616",
           "9" * 400, "1e9", "0x10", "", " 12", "nan", "inf", "007"]
NOISE = ["\x00\x01\x02", "\xff\xfe garbage", "m-ready-not", "xx m-ready xx", "m-ready ", " m-ready",
         "e-[", "m-kit-run-[0,", "m-lap-us-", "m-kit-info-[]", "m-results-[nan,inf]", "#" * 5000,
         "m-kit-layer-[0,CONV_2D,1]", "m-kit-load-[next=0,crc=00000000]", "m-name-dut-[]"]
INFO_FIELDS = ["proto", "clock_hz", "timer_hz", "input_bytes", "output_bytes", "ops", "arena", "in_zp",
               "out_zp", "in_scale", "out_scale", "sha256", "dropped"]


class MutatingPeer(DutPeer):
    """The test peer with a random mutation applied to some of its replies."""

    def __init__(self, behaviour: PeerBehaviour, rng: random.Random, rate: float) -> None:
        super().__init__(behaviour)
        self.rng = rng
        self.rate = rate
        self.silent = False  # stopped answering (mid-reply or between replies)

    def boot(self) -> list[str]:
        try:
            return self._mutate(super().boot())
        except PeerDiedWith as died:  # dying while booting: the partial banner, then silence
            self.silent = True
            return died.lines

    def handle(self, command: str) -> list[str]:
        lines = super().handle(command)
        return [] if self.silent else self._mutate(lines)

    def _mutate(self, lines: list[str]) -> list[str]:
        rng = self.rng
        if self.silent or rng.random() > self.rate:
            return lines
        kind = rng.choice(["number", "number", "number", "drop", "duplicate", "cut", "glue", "noise",
                           "lookalike", "silence", "die", "high-bytes", "swap"])
        lines = list(lines)
        index = rng.randrange(len(lines)) if lines else 0
        if kind == "number" and lines:
            lines[index] = _replace_a_number(lines[index], rng)
        elif kind == "drop" and lines:
            del lines[index]
        elif kind == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif kind == "cut" and lines:
            lines[index] = lines[index][: rng.randrange(len(lines[index]) + 1)]
        elif kind == "glue" and len(lines) > 1:
            lines[index - 1:index + 1] = [lines[index - 1] + lines[index]]
        elif kind in ("noise", "lookalike"):
            lines.insert(index, rng.choice(NOISE))
        elif kind == "high-bytes" and lines:
            lines[index] = "".join(chr(ord(c) | 0x80) if rng.random() < 0.2 else c for c in lines[index])
        elif kind == "swap" and len(lines) > 1:
            rng.shuffle(lines)
        elif kind == "silence":
            self.silent = True
            return lines[:index]
        elif kind == "die":
            raise PeerDiedWith(lines[:index])
        return lines


def _replace_a_number(line: str, rng: random.Random) -> str:
    import re

    spans = [m.span() for m in re.finditer(r"-?[0-9a-fx.]+", line)]
    if not spans:
        return line
    start, end = rng.choice(spans)
    return line[:start] + rng.choice(NUMBERS) + line[end:]


def hostile_behaviour(rng: random.Random) -> PeerBehaviour:
    behaviour = PeerBehaviour(kit=rng.random() < 0.8, input_bytes=rng.choice([8, 40, 490]))
    roll = rng.random()
    if roll < 0.08:
        behaviour.garbage_stream = True
    elif roll < 0.14:
        behaviour.noise_forever_after = rng.randrange(4)
        behaviour.noise_period = 0.1
    elif roll < 0.30:
        behaviour.info_fields = {rng.choice(INFO_FIELDS): rng.choice(NUMBERS + ["zz", "ab" * 31])}
    elif roll < 0.36:
        behaviour.boot_error = "arena too big"
        behaviour.boot_delay = rng.choice([0.0, 0.3, 0.8])
    elif roll < 0.42:
        behaviour.run_ticks = lambda index, value=rng.choice(NUMBERS): value if index == 2 else "1000"
    elif roll < 0.48:
        behaviour.layer_ticks = lambda index, value=rng.choice(NUMBERS): value
    if rng.random() < 0.2:
        behaviour.ready_lookalike = True
    return behaviour


def run_input(seed: int, workdir: Path) -> str:
    """One hostile device against the client: 'ok', 'error' (a KitError), or raises."""
    rng = random.Random(seed)
    behaviour = hostile_behaviour(rng)
    peer = MutatingPeer(behaviour, rng, rate=rng.choice([0.0, 0.1, 0.3, 0.6]))
    path, _, thread = serve_pty_with(peer)
    try:
        with open_link(path) as link:
            client = DeviceClient.connect(link, line_timeout=0.3, boot_timeout=1.5, boot_quiet=0.1)
            client.infer_line_timeout = 0.5
            results = ResultsFile.create("fuzz", {"board": "fuzz", "seed": seed}, directory=workdir)
            with results:
                board = get_board("emu-cortex-m4")
                run_bench(client, board, board, 5, 1, results, input_bytes=None if client.info else 490)
        return "ok"
    except KitError:
        return "error"
    finally:
        peer.stopped = True


def serve_pty_with(peer: DutPeer):
    """serve_pty, for a peer object built here (its mutations need the random generator)."""
    import os
    import tty

    from dut_peer import serve

    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)

    def close() -> None:
        time.sleep(0.2)
        os.close(master)
        os.close(slave)

    def read() -> bytes:
        return os.read(master, 4096)

    def write(data: bytes) -> None:
        os.write(master, data)

    thread = threading.Thread(target=serve, args=(peer, read, write, close), daemon=True)
    thread.start()
    return path, peer, thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=240.0, help="stop starting new inputs after this")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.inputs):
            if time.monotonic() - started > args.seconds:
                break
            seed = args.seed * 1_000_003 + number
            box: dict[str, str] = {}

            def work() -> None:
                try:
                    box["outcome"] = run_input(seed, Path(tmp))
                except Exception:  # what the CLI would show as a traceback
                    box["outcome"] = "traceback"
                    box["detail"] = traceback.format_exc(limit=4)
                except BaseException as error:  # noqa: BLE001 (MemoryError, RecursionError, SystemExit...)
                    box["outcome"] = "crash"
                    box["detail"] = repr(error)

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            worker.join(HARD_LIMIT_S)
            outcome = box.get("outcome", "hang")
            outcomes[outcome] += 1
            if outcome in ("traceback", "crash", "hang"):
                failures.append(f"seed {seed}: {outcome}\n{box.get('detail', '')}")
    total = sum(outcomes.values())
    for failure in failures[:10]:
        print(failure, file=sys.stderr)
    print(f"{total} inputs, {outcomes['crash']} crashes, {outcomes['traceback']} tracebacks, {outcomes['hang']} hangs "
          f"({outcomes['ok']} benches completed, {outcomes['error']} clean errors) in {time.monotonic() - started:.0f} s")
    print("not covered: real USB-serial drivers and baud-rate mismatches (a pty has no baud rate), "
          "rfc2217 and socket links, the Raspberry Pi SSH bench, kit validate's raw-output path beyond "
          "kit-infer, and devices that are slow but correct (time is bounded, not varied)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
