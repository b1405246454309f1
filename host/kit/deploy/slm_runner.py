#!/usr/bin/env python3
"""kit's small-language-model runner for a Raspberry Pi, copied there by `kit deploy BOARD slm`.

It runs a GGUF model with llama.cpp through llama-cpp-python and prints one JSON line per
result, like pi_runner.py (copied beside it, whose `emit` and `system_sample` it uses):

    python3 slm_runner.py info
    python3 slm_runner.py smoke --model model.gguf [--prompt P] [--max-tokens N] [--threads T] [--context C]
    python3 slm_runner.py bench --model model.gguf --prompt P --runs N --max-tokens N [--threads T] [--context C]

Per generation: prompt tokens and their evaluation rate, generated tokens and their rate, time
to first token and peak resident memory. Rates come from llama.cpp's own performance counters
(`llama_perf_context`) when this llama-cpp-python has them, else from wall-clock times around the
token stream; the record says which. A benchmark generates exactly --max-tokens tokens (the end
of text token is masked, as llama.cpp's llama-bench does) so runs compare.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import sys
import time

from pi_runner import RunnerError, emit, run_handler, system_sample

DEFAULT_PROMPT = "Explain in one sentence what a microcontroller is."


def meminfo():
    """MemTotal and MemAvailable in bytes from /proc/meminfo (None where missing)."""
    values = {}
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return values.get("MemTotal"), values.get("MemAvailable")


def llama_version():
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    from importlib import metadata

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return "unknown"


def command_info(args):
    total, available = meminfo()
    emit({"type": "info", "python": platform.python_version(), "machine": platform.machine(),
          "llama_cpp": llama_version(), "mem_total": total, "mem_available": available, "cpus": os.cpu_count()})


def load(args):
    """The model in llama.cpp, quiet (its log would interleave with the JSON lines)."""
    if llama_version() is None:
        raise RunnerError("no-llama-cpp", "llama-cpp-python is not installed for " + sys.executable)
    from llama_cpp import Llama

    start = time.perf_counter()
    try:
        model = Llama(model_path=args.model, n_ctx=args.context, n_threads=args.threads, n_batch=min(512, args.context),
                      seed=1, verbose=False)
    except (ValueError, RuntimeError) as error:
        raise RunnerError("load-failed", f"llama.cpp could not load {args.model}: {error}") from error
    return model, (time.perf_counter() - start) * 1000.0


def perf_counters(model):
    """llama.cpp's own counters for the last generation, or None when this binding lacks them."""
    import llama_cpp

    function = getattr(llama_cpp, "llama_perf_context", None)
    context = getattr(getattr(model, "_ctx", None), "ctx", None)
    if function is None or context is None:
        return None
    data = function(context)
    return {"prompt_ms": float(data.t_p_eval_ms), "prompt_tokens": int(data.n_p_eval),
            "generation_ms": float(data.t_eval_ms), "generation_tokens": int(data.n_eval)}


def reset_counters(model):
    import llama_cpp

    function = getattr(llama_cpp, "llama_perf_context_reset", None)
    context = getattr(getattr(model, "_ctx", None), "ctx", None)
    if function is not None and context is not None:
        function(context)


def mask_end_of_text(model):
    """A logits processor that never lets the model end early: every run generates the same count."""
    from llama_cpp import LogitsProcessorList

    eos = model.token_eos()

    def no_eos(input_ids, scores):
        scores[eos] = -float("inf")
        return scores

    return LogitsProcessorList([no_eos])


def generate(model, prompt, max_tokens, index):
    """One generation of exactly `max_tokens` tokens from an empty cache: its timing record.

    Token by token through `Llama.generate` (greedy), not `create_completion`: the latter keeps
    generating past max_tokens until the text is whole UTF-8, so its token count varies."""
    model.reset()
    reset_counters(model)
    tokens = model.tokenize(prompt.encode("utf-8"), add_bos=True)
    if len(tokens) + max_tokens > model.n_ctx():
        raise RunnerError("context-too-small", f"the prompt ({len(tokens)} tokens) plus {max_tokens} new tokens "
                                               f"do not fit the {model.n_ctx()}-token context")
    start = time.perf_counter()
    first = None
    generated = []
    for token in model.generate(tokens, temp=0.0, logits_processor=mask_end_of_text(model)):
        if first is None:
            first = time.perf_counter()
        generated.append(token)
        if len(generated) >= max_tokens:
            break
    end = time.perf_counter()
    first = first if first is not None else end
    text = model.detokenize(generated).decode("utf-8", errors="replace")
    record = {"type": "generation", "index": index, "prompt_tokens": len(tokens), "generated_tokens": len(generated),
              "ttft_ms": (first - start) * 1000.0, "total_ms": (end - start) * 1000.0,
              "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "text": text[:400]}
    counters = perf_counters(model)
    if counters and counters["generation_tokens"] > 0 and counters["prompt_ms"] > 0 and counters["generation_ms"] > 0:
        record.update(timing="llama.cpp perf counters",
                      prompt_tokens_per_s=counters["prompt_tokens"] / counters["prompt_ms"] * 1000.0,
                      generation_tokens_per_s=counters["generation_tokens"] / counters["generation_ms"] * 1000.0)
    else:  # the first token closes the prompt's evaluation; the rest are generation
        record.update(timing="wall clock", prompt_tokens_per_s=len(tokens) / max(first - start, 1e-9),
                      generation_tokens_per_s=(len(generated) - 1) / max(end - first, 1e-9) if len(generated) > 1 else 0.0)
    return record


def start_record(args, load_ms):
    total, available = meminfo()
    return {"type": "start", "runtime": "llama-cpp-python", "runtime_version": llama_version(),
            "python": platform.python_version(), "machine": platform.machine(), "threads": args.threads,
            "context": args.context, "load_ms": load_ms, "mem_total": total, "mem_available": available}


def command_smoke(args):
    model, load_ms = load(args)
    record = generate(model, args.prompt, args.max_tokens, 0)
    record.update(start_record(args, load_ms), type="smoke")
    emit(record)


def command_bench(args):
    model, load_ms = load(args)
    start = start_record(args, load_ms)
    start.update(runs=args.runs, max_tokens=args.max_tokens)
    emit(start)
    emit(system_sample())
    generate(model, args.prompt, min(8, args.max_tokens), -1)  # warm-up, as llama-bench does: not recorded
    for index in range(args.runs):
        emit(generate(model, args.prompt, args.max_tokens, index))
        emit(system_sample())
    emit({"type": "done", "runs": args.runs})


def parse_args(argv):
    parser = argparse.ArgumentParser(description="kit small-language-model runner")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info")
    for name in ("smoke", "bench"):
        sub = commands.add_parser(name)
        sub.add_argument("--model", required=True)
        sub.add_argument("--prompt", default=DEFAULT_PROMPT)
        sub.add_argument("--max-tokens", type=int, default=8 if name == "smoke" else 64)
        sub.add_argument("--threads", type=int, default=4)
        sub.add_argument("--context", type=int, default=2048)
        if name == "bench":
            sub.add_argument("--runs", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handlers = {"info": command_info, "smoke": command_smoke, "bench": command_bench}
    return run_handler(handlers[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
