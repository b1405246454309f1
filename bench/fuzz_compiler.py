"""Mutation fuzzer of kit's compiler: hostile .tflite models through `kit convert` and the host
runtime, every accepted model compared with TFLM byte for byte.

Each mutant is a seed model (the MLPerf Tiny models) with one to three structural changes
made on the flatbuffer's object tree (zero points, scales, shapes, types, buffers, tensor
indices, op codes, option fields, operator order), packed again. A worker process runs it
through kit.compile.convert (planner, C emitter, TFLM arrays and arena probe), builds and
runs kit's C runtime on the host for the accepted ones, then runs TFLM on the same inputs.
The worker reports which stage it is in, so a crash (signal) or hang is blamed on the right
side, and is replaced after every mutant that ran native code (kit's runtime, TFLM), so
memory one hostile model damaged cannot change the next one's verdict. kit's host runtime
checks guard bytes around its arena after every invoke (an overrun counts as a crash). Verdicts:

- refused: kit raised a KitError (the user sees error:/fix:, exit 2) - the wanted outcome;
- same: kit accepted and its outputs equal TFLM's;
- traceback: kit raised anything else; crash: kit's process died; hang: kit over the deadline;
- different: kit accepted and its outputs differ from TFLM's;
- tflm-failed: kit accepted but TFLM raised, crashed or hung on invoke (no reference).

    .venv/bin/python bench/fuzz_compiler.py [--seconds 600] [--mutants N] [--seed 0] [--out DIR]

prints "N inputs, M crashes, K tracebacks, J hangs, D accepted-but-different" and writes
every mutant that is not refused/same to --out (default: a temporary folder) for replay.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import select
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

SEED_DIR = REPO / "tests" / "data" / "mlperf-tiny"
DEFAULT_SEEDS = ("ad01_int8", "kws_ref_model", "str_ww_ref_model")
SAMPLES = 6
KIT_STAGES = ("load", "convert", "runtime")
BAD_VERDICTS = ("crash", "traceback", "hang", "different")


# ---------------------------------------------------------------------------- mutations


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def unpack(data: bytes) -> Any:
    """The flatbuffer's object tree (ModelT), editable in place."""
    return _schema().ModelT.InitFromPackedBuf(data, 0)


def pack(model: Any) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def rewrite(data: bytes, edit: Callable[[Any], None]) -> bytes:
    """`data` with `edit(model)` applied to its object tree (for tests of one precise change)."""
    model = unpack(data)
    edit(model)
    return pack(model)


INTERESTING_INTS = (0, 1, -1, 2, 3, 127, 128, -128, -129, 255, 256, 2**15, 2**24 + 1, 2**31 - 1, -(2**31))


def _pick_int(rng: random.Random, current: int | None = None) -> int:
    roll = rng.random()
    if current is not None and roll < 0.3:
        return int(current) + rng.choice((-2, -1, 1, 2))
    if roll < 0.8:
        return rng.choice(INTERESTING_INTS)
    return rng.randint(-300, 300)


def _graph(model: Any) -> Any:
    return model.subgraphs[0]


def _quantized_tensors(model: Any) -> list[Any]:
    return [t for t in _graph(model).tensors if t.quantization is not None and t.quantization.scale is not None]


def _mutate_zero_point(model: Any, rng: random.Random) -> str:
    import numpy as np

    tensor = rng.choice(_quantized_tensors(model))
    q = tensor.quantization
    count = len(q.zeroPoint) if q.zeroPoint is not None else 1
    value = rng.choice((128, -129, 2**31 - 1, -(2**31), 200, -200, 127, -128, 0, _pick_int(rng)))
    q.zeroPoint = np.full(count, value, dtype=np.int64)
    return f"zero point of '{tensor.name.decode(errors='replace')}' = {value}"


def _mutate_scale(model: Any, rng: random.Random) -> str:
    import numpy as np

    tensor = rng.choice(_quantized_tensors(model))
    q = tensor.quantization
    old = np.asarray(q.scale, dtype=np.float32)
    factor = rng.choice((0.0, -1.0, math.nan, math.inf, 1e-30, 1e30, 2.0, 0.5, 1.0000001, 1e-6, 1e6))
    q.scale = (old * np.float32(factor)).astype(np.float32) if math.isfinite(factor) else np.full_like(old, factor)
    return f"scale of '{tensor.name.decode(errors='replace')}' x {factor}"


def _mutate_quantization(model: Any, rng: random.Random) -> str:
    import numpy as np

    tensor = rng.choice(_quantized_tensors(model))
    q = tensor.quantization
    kind = rng.choice(("drop", "per-channel", "dimension", "zero-points-length"))
    if kind == "drop":
        tensor.quantization = None
    elif kind == "per-channel":
        count = rng.choice((2, 3, int(tensor.shape[-1]) if tensor.shape is not None and len(tensor.shape) else 2))
        q.scale = np.full(count, float(q.scale[0]), dtype=np.float32)
        q.zeroPoint = np.zeros(count, dtype=np.int64)
    elif kind == "dimension":
        q.quantizedDimension = rng.choice((0, 1, 2, 3, 4, -1, 100))
    else:
        q.zeroPoint = np.zeros(rng.choice((0, 2, 5)), dtype=np.int64)
    return f"quantization of '{tensor.name.decode(errors='replace')}': {kind}"


def _mutate_shape(model: Any, rng: random.Random) -> str:
    import numpy as np

    tensor = rng.choice(_graph(model).tensors)
    shape = [int(d) for d in (tensor.shape if tensor.shape is not None else [])]
    if not shape or rng.random() < 0.15:
        shape = shape + [1] if rng.random() < 0.5 else shape[:-1]
    else:
        dim = rng.randrange(len(shape))
        shape[dim] = rng.choice((0, -1, 1, shape[dim] + 1, max(shape[dim] - 1, 0), 2 * shape[dim], 2**24 + 1))
    tensor.shape = np.array(shape, dtype=np.int32)
    return f"shape of '{tensor.name.decode(errors='replace')}' = {shape}"


def _mutate_type(model: Any, rng: random.Random) -> str:
    tensor = rng.choice(_graph(model).tensors)
    names = [n for n in vars(_schema().TensorType) if not n.startswith("_")]
    name = rng.choice(names)
    tensor.type = getattr(_schema().TensorType, name)
    return f"type of '{tensor.name.decode(errors='replace')}' = {name}"


def _mutate_buffer_index(model: Any, rng: random.Random) -> str:
    tensor = rng.choice(_graph(model).tensors)
    tensor.buffer = rng.choice((0, rng.randrange(len(model.buffers)), len(model.buffers)))
    return f"buffer of '{tensor.name.decode(errors='replace')}' = {tensor.buffer}"


def _mutate_buffer_data(model: Any, rng: random.Random) -> str:
    import numpy as np

    filled = [i for i, b in enumerate(model.buffers) if b.data is not None and len(b.data)]
    index = rng.choice(filled)
    data = np.array(model.buffers[index].data, dtype=np.uint8)
    kind = rng.choice(("truncate", "extend", "randomise"))
    if kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif kind == "extend":
        data = np.concatenate([data, np.zeros(rng.choice((1, 4, 64)), np.uint8)])
    else:
        data = np.frombuffer(rng.randbytes(len(data)), dtype=np.uint8)
    model.buffers[index].data = data if len(data) else None
    return f"buffer {index}: {kind}"


def _mutate_graph_io(model: Any, rng: random.Random) -> str:
    import numpy as np

    graph = _graph(model)
    which = rng.choice(("inputs", "outputs"))
    tensor = rng.randrange(len(graph.tensors))
    setattr(graph, which, np.array([tensor], dtype=np.int32))
    return f"subgraph {which} = [{tensor}] ('{graph.tensors[tensor].name.decode(errors='replace')}')"


def _mutate_operator_tensor(model: Any, rng: random.Random) -> str:
    graph = _graph(model)
    operator = rng.choice(graph.operators)
    which = rng.choice(("inputs", "outputs"))
    vector = getattr(operator, which)
    position = rng.randrange(len(vector))
    vector[position] = rng.choice((-1, rng.randrange(len(graph.tensors))))
    return f"operator {graph.operators.index(operator)} {which}[{position}] = {vector[position]}"


def _mutate_operator_arity(model: Any, rng: random.Random) -> str:
    import numpy as np

    graph = _graph(model)
    operator = rng.choice(graph.operators)
    which = rng.choice(("inputs", "outputs"))
    vector = [int(i) for i in getattr(operator, which)]
    if rng.random() < 0.5 and vector:
        vector.pop()
    else:
        vector.append(rng.randrange(len(graph.tensors)))
    setattr(operator, which, np.array(vector, dtype=np.int32))
    return f"operator {graph.operators.index(operator)} {which} = {vector}"


def _mutate_opcode(model: Any, rng: random.Random) -> str:
    graph = _graph(model)
    if rng.random() < 0.5:
        operator = rng.choice(graph.operators)
        operator.opcodeIndex = rng.randrange(len(model.operatorCodes))
        return f"operator {graph.operators.index(operator)} opcode index = {operator.opcodeIndex}"
    code = rng.choice(model.operatorCodes)
    builtin = rng.choice([v for n, v in vars(_schema().BuiltinOperator).items() if not n.startswith("_")])
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    return f"an op code = builtin {builtin}"


def _mutate_option(model: Any, rng: random.Random) -> str:
    graph = _graph(model)
    with_options = [op for op in graph.operators if op.builtinOptions is not None and vars(op.builtinOptions)]
    operator = rng.choice(with_options)
    fields = [k for k, v in vars(operator.builtinOptions).items() if isinstance(v, (int, float, bool))]
    if not fields:
        return "no option field"
    key = rng.choice(fields)
    current = getattr(operator.builtinOptions, key)
    if isinstance(current, float):
        value: Any = rng.choice((0.0, -1.0, 1e30, math.nan, current * 2))
    elif isinstance(current, bool):
        value = not current
    else:
        value = _pick_int(rng, current)
        value = max(min(value, 2**31 - 1), -(2**31))
    setattr(operator.builtinOptions, key, value)
    return f"operator {graph.operators.index(operator)} option {key} = {value}"


def _mutate_operator_order(model: Any, rng: random.Random) -> str:
    graph = _graph(model)
    kind = rng.choice(("remove", "swap", "duplicate"))
    index = rng.randrange(len(graph.operators))
    if kind == "remove" and len(graph.operators) > 1:
        graph.operators.pop(index)
    elif kind == "swap" and len(graph.operators) > 1:
        other = rng.randrange(len(graph.operators))
        graph.operators[index], graph.operators[other] = graph.operators[other], graph.operators[index]
    else:
        graph.operators.insert(index, copy.deepcopy(graph.operators[index]))
    return f"operators: {kind} at {index}"


MUTATIONS: tuple[Callable[[Any, random.Random], str], ...] = (
    _mutate_zero_point, _mutate_zero_point, _mutate_scale, _mutate_scale, _mutate_quantization, _mutate_shape,
    _mutate_shape, _mutate_type, _mutate_buffer_index, _mutate_buffer_data, _mutate_graph_io, _mutate_graph_io,
    _mutate_operator_tensor, _mutate_operator_arity, _mutate_opcode, _mutate_option, _mutate_option,
    _mutate_option, _mutate_operator_order,
)


def make_mutant(seed_data: bytes, rng: random.Random) -> tuple[bytes, str] | None:
    """One to three random mutations of a seed model; None when the tree no longer packs."""
    model = unpack(seed_data)
    notes = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        try:
            notes.append(rng.choice(MUTATIONS)(model, rng))
        except (IndexError, ValueError, TypeError, AttributeError):
            continue
    if not notes:
        return None
    try:
        return pack(model), "; ".join(notes)
    except Exception:  # a value the flatbuffer cannot hold (e.g. an int outside its field's range)
        return None


# ---------------------------------------------------------------------------- worker (one process)


_ran_native = False


def _kit_stage(path: Path, out_dir: Path) -> tuple[str, Any]:
    """(verdict-or-'accepted', detail): kit convert, then kit's runtime on the host."""
    global _ran_native
    import numpy as np

    from kit.compile import convert
    from kit.errors import KitError
    from kit.runtime_host import compile_model, invoke
    from kit.runtime_host.runner import ArenaOverrunError

    _say("stage convert")
    try:
        result = convert(path, out_dir, tflm=True)  # the TFLM arrays are part of what is fuzzed
        if result.refusal is not None:
            return "refused", result.refusal.message
        _say("stage runtime")
        _ran_native = True
        compiled = compile_model(path)
        rng = np.random.default_rng(len(path.name))
        inputs = rng.integers(-128, 128, size=(SAMPLES, *compiled.input_shape[1:]), dtype=np.int8)
        outputs = invoke(compiled, inputs)
    except ArenaOverrunError as error:  # kit's kernels wrote outside their arena
        return "crash", error.message
    except KitError as error:
        return "refused", error.message
    except Exception as error:
        return "traceback", "".join(traceback.format_exception(error))[-3000:]
    return "accepted", (inputs, outputs)


def _tflm_stage(path: Path, inputs: Any) -> tuple[str, Any]:
    from kit.tflm import TflmInterpreter

    _say("stage tflm")
    try:
        return "ok", TflmInterpreter(path).run(inputs)
    except Exception as error:
        return "tflm-failed", f"{type(error).__name__}: {error}"[:500]


def judge(path: Path, out_dir: Path) -> dict[str, Any]:
    """The verdict for one model file, in this process (the worker loop and tests call it)."""
    import numpy as np

    verdict, detail = _kit_stage(path, out_dir)
    if verdict != "accepted":
        return {"verdict": verdict, "detail": detail, "native": _ran_native}
    inputs, kit_outputs = detail
    status, reference = _tflm_stage(path, inputs)
    if status != "ok":
        return {"verdict": status, "detail": reference, "native": True}
    kit_outputs, reference = np.asarray(kit_outputs), np.asarray(reference)
    if kit_outputs.shape != reference.shape or kit_outputs.dtype != reference.dtype:
        return {"verdict": "different", "native": True, "detail": f"kit {kit_outputs.shape} {kit_outputs.dtype}, "
                                                                  f"tflm {reference.shape} {reference.dtype}"}
    if not np.array_equal(kit_outputs, reference, equal_nan=kit_outputs.dtype.kind == "f"):
        gap = np.abs(kit_outputs.astype(np.float64) - reference.astype(np.float64))
        return {"verdict": "different", "detail": f"max difference {np.nanmax(gap)}", "native": True}
    return {"verdict": "same", "detail": "", "native": True}


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def worker_main() -> int:
    """Read model paths on stdin, answer `result {json}` per path; stage lines before each stage."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.simplefilter("ignore")
    for line in sys.stdin:
        path = Path(line.strip())
        with tempfile.TemporaryDirectory(prefix="fuzz-out-") as out:
            result = judge(path, Path(out))
        _say("result " + json.dumps(result))
    return 0


# ---------------------------------------------------------------------------- campaign (parent)


class _Worker:
    """One worker process; `run` returns (verdict, detail, stage) and restarts it after a death."""

    def __init__(self, deadline_seconds: float) -> None:
        self.deadline_seconds = deadline_seconds
        self.process: subprocess.Popen | None = None
        self.jobs = 0
        self._pending = b""

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
        self._pending = b""
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def _read_line(self, end: float) -> str | None:
        """One line from the worker by the deadline; '' when it died, None on timeout (raw reads:
        a buffered reader would hide a second line from select)."""
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], max(end - time.monotonic(), 0))
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return ""
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode(errors="replace") + "\n"

    def run(self, path: Path) -> tuple[str, str, str]:
        if self.process is None or self.jobs >= 150:  # fresh process now and then: loaded libraries pile up
            self.stop()
            self.process, self.jobs = self._start(), 0
        self.jobs += 1
        assert self.process.stdin is not None
        self.process.stdin.write(f"{path}\n".encode())
        stage, end = "load", time.monotonic() + self.deadline_seconds
        while True:
            line = self._read_line(end)
            if line is None:
                self.stop()
                return ("hang" if stage in KIT_STAGES else "tflm-failed"), f"no answer in {self.deadline_seconds:.0f} s", stage
            if not line:
                code = self.process.wait()
                self.process = None
                return ("crash" if stage in KIT_STAGES else "tflm-failed"), f"worker died (status {code})", stage
            if line.startswith("stage "):
                stage = line.split()[1]
            elif line.startswith("result "):
                result = json.loads(line[len("result "):])
                if result.get("native"):
                    # kit's runtime and TFLM ran native code on a hostile model in this process:
                    # the next mutant gets a fresh one, so no damage carries over to it.
                    self.stop()
                return result["verdict"], str(result["detail"]), stage


@dataclass
class Summary:
    """Counts of each verdict plus the notes of every bad one."""

    verdicts: Counter = field(default_factory=Counter)
    findings: list[dict[str, str]] = field(default_factory=list)

    @property
    def inputs(self) -> int:
        return sum(self.verdicts.values())

    def line(self) -> str:
        v = self.verdicts
        return (f"{self.inputs} inputs, {v['crash']} crashes, {v['traceback']} tracebacks, {v['hang']} hangs, "
                f"{v['different']} accepted-but-different")

    def details(self) -> str:
        v = self.verdicts
        return (f"({v['refused']} refused with a KitError, {v['same']} accepted and equal to TFLM, "
                f"{v['tflm-failed']} accepted but TFLM cannot run them)")


def run_campaign(
    seeds: list[Path], mutants: int, seconds: float, seed: int = 0, out_dir: Path | None = None,
    deadline_seconds: float = 120.0, progress: Callable[[str], None] | None = None,
) -> Summary:
    """Up to `mutants` mutants (or until `seconds` pass), each judged in the worker process."""
    rng = random.Random(seed)
    seed_data = [(path.stem, path.read_bytes()) for path in seeds]
    summary, worker = Summary(), _Worker(deadline_seconds)
    stop_at = time.monotonic() + seconds
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-mutants-"))
    try:
        number = 0
        while summary.inputs < mutants and time.monotonic() < stop_at:
            name, data = rng.choice(seed_data)
            made = make_mutant(data, rng)
            if made is None:
                continue
            number += 1
            mutant, note = made
            path = scratch / f"{name}-{number:05d}.tflite"
            path.write_bytes(mutant)
            verdict, detail, stage = worker.run(path)
            summary.verdicts[verdict] += 1
            if verdict in BAD_VERDICTS or verdict == "tflm-failed":
                finding = {"verdict": verdict, "stage": stage, "mutation": note, "file": path.name,
                           "detail": detail.strip().splitlines()[-1] if detail.strip() else ""}
                summary.findings.append(finding)
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    (out_dir / path.name).write_bytes(mutant)
                    with (out_dir / "findings.jsonl").open("a") as log:
                        log.write(json.dumps(finding) + "\n")
                if progress is not None:
                    progress(f"{verdict} at {stage}: {note} ({finding['detail']})")
            path.unlink()
    finally:
        worker.stop()
        for leftover in scratch.glob("*"):
            leftover.unlink()
        scratch.rmdir()
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="time budget (default 600)")
    parser.add_argument("--mutants", type=int, default=1_000_000, help="stop after this many mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(DEFAULT_SEEDS), help="seed models from tests/data/mlperf-tiny")
    parser.add_argument("--seed-dir", type=Path, help="also use every .tflite in this folder as a seed "
                        "(e.g. generated zoo models, which reach MEAN, PAD, CONCATENATION, MUL, ...)")
    parser.add_argument("--out", type=Path, help="folder for the mutants that are not refused/same")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main()
    seeds = [SEED_DIR / f"{name}.tflite" for name in args.models.split(",") if name]
    seeds += sorted(args.seed_dir.glob("*.tflite")) if args.seed_dir else []
    missing = [str(p) for p in seeds if not p.is_file()]
    if missing:
        print(f"error: seed model not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    os.environ.setdefault("KIT_HOME", tempfile.mkdtemp(prefix="fuzz-kit-home-"))
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="fuzz-findings-"))
    summary = run_campaign(seeds, args.mutants, args.seconds, args.seed, out_dir, progress=print)
    print(summary.line())
    print(summary.details())
    print(f"findings: {out_dir}")
    return 1 if any(summary.verdicts[v] for v in BAD_VERDICTS) else 0


if __name__ == "__main__":
    sys.exit(main())
