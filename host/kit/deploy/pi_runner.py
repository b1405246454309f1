#!/usr/bin/env python3
"""kit's runner for Linux boards (Raspberry Pi), copied to the board by `kit deploy`.

Self-contained on purpose: the board has only Python 3, numpy and a TFLite runtime, never
kit itself. It prefers LiteRT (`ai_edge_litert`) and falls back to the older
`tflite_runtime` that earlier editions of the labs installed, and always SAYS which one ran.
Every result is one JSON object per line on stdout, flushed at once, so the laptop can show
and store measurements while they stream over the SSH channel.

    python3 pi_runner.py info
    python3 pi_runner.py smoke --model model.tflite [--labels labels.txt] [--threads T]
    python3 pi_runner.py bench --model model.tflite --runs N --warmup W [--threads T]
    python3 pi_runner.py validate --model model.tflite --inputs inputs.npy [--threads T]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
import time

RUNTIMES = ("ai_edge_litert", "tflite_runtime")
THERMAL_ZONE = "/sys/class/thermal/thermal_zone0/temp"
CPU_FREQ = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
SYSTEM_SAMPLE_PERIOD_S = 1.0


class RunnerError(Exception):
    """A problem reported to the laptop as an `error` line (the laptop turns it into advice)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def emit(record):
    """One JSON line, flushed now: the laptop reads them live."""
    sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


def runtime_version(module_name):
    """The installed distribution's version, or the module's own, or 'unknown'."""
    try:
        from importlib import metadata

        distribution = {"ai_edge_litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime"}[module_name]
        return metadata.version(distribution)
    except Exception:
        module = sys.modules.get(module_name)
        return str(getattr(module, "__version__", "unknown"))


def installed_runtimes():
    """Runtimes whose package is present (importing them is left to `load_interpreter`)."""
    return [name for name in RUNTIMES if importlib.util.find_spec(name) is not None]


def load_interpreter(model_path, threads):
    """An allocated interpreter from the first runtime that imports, with the runtime's name."""
    failures = []
    for name in RUNTIMES:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            module = importlib.import_module(name + ".interpreter")
        except Exception as error:  # e.g. tflite_runtime built for numpy 1 under numpy 2
            failures.append("%s: %s" % (name, error))
            continue
        try:
            interpreter = module.Interpreter(model_path=model_path, num_threads=threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise RunnerError("bad-model", "%s cannot load %s: %s" % (name, model_path, error))
        return interpreter, name
    detail = ("; ".join(failures)) if failures else "neither ai_edge_litert nor tflite_runtime is installed"
    raise RunnerError("no-runtime", detail)


def sample_input(shape, dtype):
    """A fixed, RNG-free input, so the laptop can recompute it and compare outputs exactly."""
    import numpy as np

    count = int(np.prod(shape))
    pattern = (np.arange(count, dtype=np.int64) * 37 + 11) % 256
    dtype = np.dtype(dtype)
    if dtype == np.int8:
        values = pattern - 128
    elif dtype == np.uint8:
        values = pattern
    elif dtype == np.int16:
        values = (pattern - 128) * 64
    else:
        values = (pattern - 128) / 128.0
    return values.astype(dtype).reshape(shape)


def prepare(args):
    """Load the model and put the fixed input in place; returns everything a run needs."""
    interpreter, runtime = load_interpreter(args.model, args.threads)
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]
    data = sample_input(tuple(input_detail["shape"]), input_detail["dtype"])
    interpreter.set_tensor(input_detail["index"], data)
    return interpreter, runtime, input_detail, output_detail


def runtime_record(runtime, threads):
    return {"runtime": runtime, "runtime_version": runtime_version(runtime), "threads": threads,
            "python": platform.python_version(), "machine": platform.machine()}


def timed_invoke(interpreter):
    """One inference; the latency covers `invoke()` only, in microseconds."""
    start = time.perf_counter_ns()
    interpreter.invoke()
    return (time.perf_counter_ns() - start) / 1000.0


def read_number(path, scale):
    try:
        with open(path) as handle:
            return float(handle.read().strip()) * scale
    except (OSError, ValueError):
        return None


def read_throttled():
    """`vcgencmd get_throttled` as an int (Raspberry Pi firmware only), else None."""
    tool = shutil.which("vcgencmd")
    if tool is None:
        return None
    try:
        text = subprocess.run([tool, "get_throttled"], capture_output=True, text=True, timeout=5).stdout
        return int(text.strip().split("=", 1)[1], 16)
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def system_sample():
    """CPU temperature, clock and throttling state now; None where the board does not say."""
    return {"type": "system", "temp_c": read_number(THERMAL_ZONE, 0.001),
            "freq_mhz": read_number(CPU_FREQ, 0.001), "throttled": read_throttled()}


def command_info(args):
    numpy_version = None
    if importlib.util.find_spec("numpy") is not None:
        import numpy

        numpy_version = numpy.__version__
    emit({"type": "info", "python": platform.python_version(), "machine": platform.machine(),
          "runtimes": installed_runtimes(), "numpy": numpy_version})


def command_smoke(args):
    interpreter, runtime, input_detail, output_detail = prepare(args)
    latency_us = timed_invoke(interpreter)
    output = interpreter.get_tensor(output_detail["index"]).reshape(-1)
    labels = []
    if args.labels:
        with open(args.labels, encoding="utf-8") as handle:
            labels = [line.strip() for line in handle if line.strip()]
    top = int(output.argmax())
    record = {"type": "smoke", "output": [float(v) if output.dtype.kind == "f" else int(v) for v in output],
              "output_dtype": str(output.dtype), "input_shape": [int(v) for v in input_detail["shape"]],
              "input_dtype": str(input_detail["dtype"].__name__), "top_index": top,
              "top_label": labels[top] if top < len(labels) else None, "latency_us": latency_us}
    record.update(runtime_record(runtime, args.threads))
    emit(record)


def command_bench(args):
    interpreter, runtime, _, _ = prepare(args)
    start = {"type": "start", "runs": args.runs, "warmup": args.warmup}
    start.update(runtime_record(runtime, args.threads))
    emit(start)
    emit(system_sample())
    for _ in range(args.warmup):
        interpreter.invoke()
    last_sample = time.monotonic()
    for index in range(args.runs):
        emit({"type": "inference", "index": index, "latency_us": timed_invoke(interpreter)})
        if time.monotonic() - last_sample >= SYSTEM_SAMPLE_PERIOD_S:
            emit(system_sample())
            last_sample = time.monotonic()
    emit(system_sample())
    emit({"type": "done", "runs": args.runs})


def command_validate(args):
    """One inference per input of an .npy batch (the lab's int8 test inputs made on the laptop)."""
    import numpy as np

    interpreter, runtime = load_interpreter(args.model, args.threads)
    detail, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    inputs = np.load(args.inputs, allow_pickle=False)
    shape = tuple(int(v) for v in detail["shape"])
    if inputs.dtype != np.dtype(detail["dtype"]) or tuple(inputs.shape[1:]) != shape[1:]:
        raise RunnerError("bad-inputs", "the inputs are %s %s, the model takes %s %s"
                          % (inputs.dtype, tuple(inputs.shape[1:]), np.dtype(detail["dtype"]), shape[1:]))
    start = {"type": "start", "samples": int(inputs.shape[0])}
    start.update(runtime_record(runtime, args.threads))
    emit(start)
    for index in range(inputs.shape[0]):
        interpreter.set_tensor(detail["index"], inputs[index:index + 1])
        latency_us = timed_invoke(interpreter)
        values = interpreter.get_tensor(output["index"]).reshape(-1)
        emit({"type": "sample", "index": index, "output": [int(v) for v in values], "latency_us": latency_us})
    emit({"type": "done", "samples": int(inputs.shape[0])})


def parse_args(argv):
    parser = argparse.ArgumentParser(description="kit runner for Linux boards")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info")
    for name in ("smoke", "bench", "validate"):
        sub = commands.add_parser(name)
        sub.add_argument("--model", required=True)
        sub.add_argument("--threads", type=int, default=1)
        if name == "smoke":
            sub.add_argument("--labels")
        elif name == "validate":
            sub.add_argument("--inputs", required=True)
        else:
            sub.add_argument("--runs", type=int, default=100)
            sub.add_argument("--warmup", type=int, default=10)
    return parser.parse_args(argv)


def run_handler(handler, args):
    """Run one command; a problem becomes an `error` line (and status 3) the laptop turns into advice.
    Shared by the runners copied beside this one (pi_camera.py, slm_runner.py)."""
    try:
        handler(args)
    except RunnerError as error:
        emit({"type": "error", "code": error.code, "message": error.message})
        return 3
    except MemoryError:
        emit({"type": "error", "code": "out-of-memory", "message": "the board ran out of memory"})
        return 3
    except OSError as error:
        emit({"type": "error", "code": "os-error", "message": str(error)})
        return 3
    return 0


def require_numpy(args):
    if args.command != "info" and importlib.util.find_spec("numpy") is None:
        raise RunnerError("no-numpy", "numpy is not installed for " + sys.executable)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handlers = {"info": command_info, "smoke": command_smoke, "bench": command_bench, "validate": command_validate}

    def checked(parsed):
        require_numpy(parsed)
        handlers[parsed.command](parsed)

    return run_handler(checked, args)


if __name__ == "__main__":
    sys.exit(main())
