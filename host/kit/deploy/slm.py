"""Small language models on a Raspberry Pi: `kit deploy BOARD slm` and its bench, over SSH.

Two engines, as the book's SLM lab allows:
- `llama-cpp`: a GGUF file the student has is checked here (kit.deploy.gguf_file: format, RAM
  it needs against the Pi's), pushed once (skipped when the Pi already has the same bytes) and
  run by llama.cpp through llama-cpp-python in kit's venv on the Pi (slm_runner.py);
- `ollama`: a model Ollama on the Pi has pulled (the book's lab), driven through its HTTP API
  over an SSH tunnel (kit.deploy.ollama); nothing is installed.
Either way every generation is one record on disk as it arrives: prompt-evaluation and
generation tokens/s, time to first token, peak RAM, CPU temperature and throttling.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from kit.bench.results import ResultsFile
from kit.bench.stats import LatencyStats, summarize
from kit.deploy import ollama, remote, state, wheelhouse
from kit.deploy.bench import SystemSummary, number_in
from kit.deploy.deploy import RUNNER_NAME as PI_RUNNER_NAME, RUNNER_SOURCE as PI_RUNNER_SOURCE
from kit.deploy.deploy import RemotePython, linux_board, parse_record, python_from_login_folder
from kit.deploy.gguf_file import GgufModel, check_fits, read_gguf
from kit.deploy.ssh import SshError, SshTarget, push_files, quote_command, raise_for_remote_failure, raise_for_ssh_failure, run, stream_lines
from kit.errors import DeviceError, KitError

WORKLOAD = "slm"                      # `kit deploy BOARD slm`: not a lab of labs/, a Pi workload
ENGINES = ("llama-cpp", "ollama")
RUNNER_SOURCE = Path(__file__).with_name("slm_runner.py")
RUNNER_NAME = "slm_runner.py"
MODEL_NAME = "model.gguf"
LLAMA_REQUIREMENT = "llama-cpp-python==0.3.36"
BUILD_TOOLS = ("cc", "c++", "cmake")  # pip builds llama-cpp-python from source (PyPI has no wheels)
NOT_DEPLOYED_EXIT = 97
# The book's SLM lab, measured with Ollama (llama3.2:1b on a Raspberry Pi 5, 8 GB).
BOOK_FIGURES = {"model": "llama3.2:1b", "board": "Raspberry Pi 5 (8 GB)", "engine": "ollama",
                "generation_tokens_per_s": 8.99, "prompt_tokens_per_s": 19.46}
# What a Pi can report and still be believed.
TOKENS_PER_S_RANGE = (0.0, 1e6)
MS_RANGE = (0.0, 3.6e6)
RSS_RANGE = (0.0, 1 << 40)
LINE_SILENCE_S = 600.0                # loading a 1 B model from an SD card takes a while
DEADLINE_BASE_S, DEADLINE_PER_RUN_S = 900.0, 600.0


@dataclass(frozen=True)
class PiResources:
    """Memory and build tools of the Pi, read with `free -b` and `command -v`."""

    mem_total: int | None
    mem_available: int | None
    build_tools: tuple[str, ...]

    @property
    def missing_tools(self) -> list[str]:
        return [tool for tool in BUILD_TOOLS if tool not in self.build_tools]


@dataclass
class SlmDeployResult:
    board: str
    host: str
    engine: str
    model: str
    remote_dir: str
    model_sha256: str | None
    copied: bool
    installed: bool
    ram_warning: str | None
    info: dict[str, Any] = field(default_factory=dict)
    smoke: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"board": self.board, "host": self.host, "engine": self.engine, "model": self.model,
                "remote_dir": self.remote_dir, "model_sha256": self.model_sha256, "copied": self.copied,
                "installed": self.installed, "ram_warning": self.ram_warning, "model_info": self.info, "smoke": self.smoke}


@dataclass
class SlmBenchResult:
    board: str
    host: str
    engine: str
    model: str
    runtime: str
    generations: list[dict[str, Any]]
    system: SystemSummary
    results_path: Path
    plot: Path | None = None

    def _stats(self, key: str) -> LatencyStats:
        return summarize([float(record[key]) for record in self.generations])

    @property
    def generation_tokens_per_s(self) -> LatencyStats:
        return self._stats("generation_tokens_per_s")

    @property
    def prompt_tokens_per_s(self) -> LatencyStats:
        return self._stats("prompt_tokens_per_s")

    @property
    def ttft_ms(self) -> LatencyStats:
        return self._stats("ttft_ms")

    @property
    def peak_rss_bytes(self) -> int:
        return max(int(record["peak_rss_bytes"]) for record in self.generations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board, "host": self.host, "engine": self.engine, "model": self.model, "runtime": self.runtime,
            "runs": len(self.generations), "generation_tokens_per_s": self.generation_tokens_per_s.as_dict(),
            "prompt_tokens_per_s": self.prompt_tokens_per_s.as_dict(), "ttft_ms": self.ttft_ms.as_dict(),
            "peak_rss_bytes": self.peak_rss_bytes, "timing": sorted({str(r.get("timing")) for r in self.generations}),
            "system": self.system.as_dict(), "book": BOOK_FIGURES, "results_file": str(self.results_path),
            "plot": str(self.plot) if self.plot else None,
        }


# ------------------------------------------------------------------ the Pi's side


def probe_resources(target: SshTarget) -> PiResources:
    """RAM (total, available) and which build tools exist, in one round trip."""
    tools = " ".join(BUILD_TOOLS)
    script = (f"free -b 2>/dev/null | awk '/^Mem:/ {{print \"mem=\" $2 \" \" $7}}'; "
              f"for tool in {tools}; do command -v \"$tool\" >/dev/null 2>&1 && echo \"tool=$tool\"; done; true")
    result = run(target, script, timeout_s=60)
    total = available = None
    found = []
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith("mem="):
            numbers = line[4:].split()
            if len(numbers) == 2 and all(n.isdigit() for n in numbers):
                total, available = int(numbers[0]), int(numbers[1])
        elif line.startswith("tool="):
            found.append(line[5:].strip())
    return PiResources(total, available, tuple(found))


def slm_command(layout: remote.RemoteLayout, python: str, arguments: list[str]) -> str:
    """`cd <root>/slm && <python> slm_runner.py ...`, refusing politely if nothing was deployed."""
    folder = shlex.quote(layout.lab_dir(WORKLOAD))
    return (f"cd {folder} 2>/dev/null && test -f {RUNNER_NAME} && test -f {MODEL_NAME} "
            f"|| {{ echo 'kit: nothing deployed here' >&2; exit {NOT_DEPLOYED_EXIT}; }}; "
            f"exec {python_from_login_folder(python)} {quote_command([RUNNER_NAME, *arguments])}")


def runner_record(target: SshTarget, layout: remote.RemoteLayout, python: str, arguments: list[str], kind: str,
                  timeout_s: float) -> dict[str, Any]:
    """Run the runner once (model not needed for `info`) and return its `kind` record."""
    folder = shlex.quote(layout.lab_dir(WORKLOAD))
    command = f"cd {folder} && exec {python_from_login_folder(python)} {quote_command([RUNNER_NAME, *arguments])}"
    result = run(target, command, timeout_s=timeout_s)
    stdout = result.stdout.decode(errors="replace")
    for line in stdout.splitlines():
        record = parse_record(line)
        if record is None:
            continue
        if record.get("type") == kind:
            return record
        if record.get("type") == "error":
            raise runner_failure(target, record)
    raise_for_remote_failure(target, f"the SLM runner ({arguments[0]})", result.stderr.decode(errors="replace"))
    raise AssertionError("unreachable")


def runner_failure(target: SshTarget, record: dict[str, Any]) -> KitError:
    hints = {
        "no-llama-cpp": "run `kit deploy BOARD slm --model FILE.gguf` again without --no-venv (it installs llama-cpp-python into kit's venv on the Pi)",
        "load-failed": "check that the .gguf file is a complete model of an architecture this llama.cpp knows (try it with llama.cpp on the laptop)",
        "context-too-small": "pass a larger --context or a shorter --prompt / fewer --max-tokens",
        "out-of-memory": "use a smaller model or quantisation, or a shorter --context",
    }
    return DeviceError(f"the SLM runner on {target.host}: {record.get('message')}",
                       hint=hints.get(str(record.get("code")), "run slm_runner.py by hand on the Pi to investigate"))


def remote_sha256(target: SshTarget, path: str) -> str | None:
    result = run(target, f"sha256sum {shlex.quote(path)} 2>/dev/null || true", timeout_s=600)
    words = result.stdout.decode(errors="replace").split()
    return words[0] if words and len(words[0]) == 64 else None


def push_large_file(target: SshTarget, local: Path, remote_dir: str, name: str, sha256: str, timeout_s: float = 7200) -> bool:
    """Stream one big file (no copy in memory) unless the Pi already has these bytes; verified by
    sha256 on the Pi. Returns True when it copied."""
    destination = f"{remote_dir}/{name}"
    if remote_sha256(target, destination) == sha256:
        return False
    partial = shlex.quote(destination + ".part")
    command = f"mkdir -p {shlex.quote(remote_dir)} && cat > {partial} && mv {partial} {shlex.quote(destination)}"
    with local.open("rb") as source:
        try:
            result = subprocess.run(target.command(command), stdin=source, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as error:
            raise SshError(f"copying {local.name} to {target.host} did not finish within {timeout_s:.0f} s",
                           hint="check the network to the Pi (a wired link is much faster), then deploy again") from error
    if result.returncode == 255:
        raise_for_ssh_failure(target, result.stderr.decode(errors="replace"))
    if result.returncode != 0:
        raise_for_remote_failure(target, f"copying {local.name}", result.stderr.decode(errors="replace"))
    if remote_sha256(target, destination) != sha256:
        raise DeviceError(f"{local.name} arrived on {target.host} with different bytes (sha256 mismatch)",
                          hint="check the Pi's SD card and free space, then deploy again")
    return True


# ------------------------------------------------------------------ deploy


def check_python(info: remote.RemoteInfo, target: SshTarget, interpreter: str, use_venv: bool) -> None:
    if info.python is None:
        raise DeviceError(f"no Python 3 interpreter {interpreter!r} on {target.host}",
                          hint="install it on the Pi: sudo apt-get install -y python3 python3-venv python3-pip (or pass --remote-python PATH)")
    if use_venv and not info.has_venv:
        raise DeviceError(f"Python {info.python_version} on {target.host} cannot create virtual environments (venv/ensurepip missing)",
                          hint="install it on the Pi: sudo apt-get install -y python3-venv python3-pip")


def ensure_llama_cpp(target: SshTarget, layout: remote.RemoteLayout, python: RemotePython, resources: PiResources,
                     wheels: list[Path] | None, venv_exists: bool, log: Callable[[str], None]) -> tuple[str, bool]:
    """The interpreter that imports llama_cpp on the Pi, installing it into kit's venv if needed.
    Returns (runner python, whether this call installed it)."""
    if not python.use_venv:
        info = runner_record(target, layout, python.interpreter, ["info"], "info", 120)
        if info.get("llama_cpp") is None:
            raise DeviceError(f"{python.interpreter} on {target.host} cannot import llama_cpp (llama-cpp-python)",
                              hint="drop --no-venv so kit installs it into its venv on the Pi, or install it for that Python yourself")
        return python.interpreter, False
    venv_python = f"{layout.venv}/bin/python"
    if venv_exists and runner_record(target, layout, venv_python, ["info"], "info", 120).get("llama_cpp") is not None:
        return venv_python, False
    if wheels is None and resources.missing_tools:  # refused before a venv is made or anything is installed
        raise DeviceError(
            f"{target.host} has no {', '.join(resources.missing_tools)}: pip builds llama-cpp-python from source "
            "(PyPI has no wheels for it), which needs a C/C++ compiler and cmake",
            hint="on the Pi: sudo apt-get install -y build-essential cmake, then deploy again; or build a wheel once "
                 "(`pip wheel llama-cpp-python==0.3.36` on a Pi) and pass --wheelhouse DIR",
        )
    where = "from the pushed wheels" if wheels is not None else "from PyPI, building llama.cpp on the Pi (10-20 minutes on a Pi 5)"
    log(f"installing {LLAMA_REQUIREMENT} into {layout.venv} {where}")
    remote.create_venv(target, layout, python.interpreter, python.system_site_packages)
    install_llama_cpp(target, layout, venv_python, wheels)
    if runner_record(target, layout, venv_python, ["info"], "info", 120).get("llama_cpp") is None:
        raise DeviceError(f"pip installed {LLAMA_REQUIREMENT} on {target.host} but it does not import",
                          hint="run `kit/venv/bin/python -c 'import llama_cpp'` on the Pi to see why")
    return venv_python, True


def install_llama_cpp(target: SshTarget, layout: remote.RemoteLayout, venv_python: str, wheels: list[Path] | None) -> None:
    """pip install llama-cpp-python into kit's venv on the Pi: from pushed wheels, or from PyPI
    (a source build: llama.cpp is compiled on the Pi, without -march=native so the wheel is portable)."""
    pip = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if wheels is not None:
        push_files(target, layout.wheels, {wheel.name: wheel.read_bytes() for wheel in wheels})
        pip += ["--no-index", "--find-links", layout.wheels]
    command = "CMAKE_ARGS='-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF' " + quote_command([*pip, LLAMA_REQUIREMENT])
    result = run(target, command, timeout_s=3600)
    if result.returncode == 0:
        return
    stderr = result.stderr.decode(errors="replace")
    if "No matching distribution" in stderr or "Could not find a version" in stderr or "Failed to establish" in stderr:
        where = "the pushed wheelhouse" if wheels is not None else "PyPI (from the Pi)"
        raise KitError(f"pip on {target.host} found no installable {LLAMA_REQUIREMENT} in {where}",
                       hint="give the Pi internet for the install, or pass --wheelhouse DIR holding a llama_cpp_python "
                            "wheel built on a Pi (aarch64, the Pi's Python)")
    raise_for_remote_failure(target, f"building {LLAMA_REQUIREMENT} with pip", stderr)


def deploy_slm(board_name: str, target: SshTarget, *, model: Path | None = None, engine: str = "llama-cpp",
               ollama_model: str | None = None, ollama_port: int = ollama.DEFAULT_PORT,
               layout: remote.RemoteLayout | None = None, python: RemotePython | None = None,
               wheelhouse_dir: Path | None = None, context: int = 2048, threads: int = 4,
               log: Callable[[str], None] = lambda message: None) -> SlmDeployResult:
    """Put an SLM on the Pi (or find Ollama's) and generate a few tokens once."""
    board = linux_board(board_name)
    _check_numbers(context, threads)
    if engine == "ollama":
        return _deploy_ollama(board.name, target, ollama_model, ollama_port, context, threads, log)
    if engine != "llama-cpp":
        raise KitError(f"unknown SLM engine {engine!r}", hint=f"use one of {', '.join(ENGINES)}")
    if model is None:
        raise KitError("`kit deploy BOARD slm` needs the model file: --model FILE.gguf",
                       hint="download a small GGUF model on the laptop (e.g. a Q4_K_M quantisation of a 0.5-1.5 B model), "
                            "or use --engine ollama --ollama-model NAME with a model Ollama on the Pi has pulled")
    gguf = read_gguf(model)  # refused here, before any SSH, when it is not GGUF
    layout = layout or remote.RemoteLayout()
    python = python or RemotePython()
    log(f"probing {target.host}")
    info = remote.probe(target, layout, python.interpreter)
    check_python(info, target, python.interpreter, python.use_venv)
    resources = probe_resources(target)
    warning = check_fits(gguf, context, resources.mem_total, resources.mem_available, target.host)
    if warning:
        log(warning)
    wheels = wheelhouse.wheels_in(wheelhouse_dir) if wheelhouse_dir is not None else None
    needed = gguf.size_bytes + (remote.VENV_BYTES if python.use_venv and not info.venv_exists else 0)
    remote.check_free_space(info, target, layout, needed)
    folder = layout.lab_dir(WORKLOAD)
    push_files(target, folder, {RUNNER_NAME: RUNNER_SOURCE.read_bytes(), PI_RUNNER_NAME: PI_RUNNER_SOURCE.read_bytes()})
    runner_python, installed = ensure_llama_cpp(target, layout, python, resources, wheels, info.venv_exists, log)
    sha256 = file_sha256(gguf.path)
    log(f"copying {gguf.path.name} ({gguf.size_bytes / 2**20:,.1f} MB) to {folder}")
    copied = push_large_file(target, gguf.path, folder, MODEL_NAME, sha256)
    if not copied:
        log(f"{target.host} already has these bytes in {folder}/{MODEL_NAME}: not copied again")
    log("generating a few tokens on the Pi")
    smoke = runner_record(target, layout, runner_python, ["smoke", "--model", MODEL_NAME, "--threads", str(threads),
                                                          "--context", str(context)], "smoke", 1800)
    _check_generation(smoke, target)
    state.remember(board.name, target.host, target.port, state.DeployedLab(
        WORKLOAD, layout.root, python.interpreter, python.use_venv, sha256, engine="llama-cpp", model_name=gguf.path.name))
    return SlmDeployResult(board=board.name, host=target.host, engine="llama-cpp", model=gguf.path.name, remote_dir=folder,
                           model_sha256=sha256, copied=copied, installed=installed, ram_warning=warning,
                           info=gguf.as_dict() | {"ram_needed_bytes": gguf.ram_needed_bytes(context)}, smoke=smoke)


def _deploy_ollama(board: str, target: SshTarget, model: str | None, port: int, context: int, threads: int,
                   log: Callable[[str], None]) -> SlmDeployResult:
    if not model:
        raise KitError("--engine ollama needs the model's name: --ollama-model NAME (e.g. llama3.2:1b)",
                       hint="list what the Pi has with `ollama list` on the Pi")
    with ollama.tunnel(target, port) as client:
        log(f"asking Ollama on {target.host} for {model}")
        client.require_model(model)
        smoke = client.generate(model, ollama.SMOKE_PROMPT, max_tokens=8, context=context, threads=threads)
    _check_generation(smoke, target)
    state.remember(board, target.host, target.port, state.DeployedLab(
        WORKLOAD, "", "", False, "", engine="ollama", model_name=model))
    return SlmDeployResult(board=board, host=target.host, engine="ollama", model=model, remote_dir="", model_sha256=None,
                           copied=False, installed=False, ram_warning=None, smoke=smoke)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_numbers(context: int, threads: int) -> None:
    if not 16 <= context <= 1 << 20 or not 1 <= threads <= 256:
        raise KitError(f"--context {context} / --threads {threads} is out of range",
                       hint="e.g. --context 2048 --threads 4 (a Raspberry Pi 4/5 has 4 cores)")


# ------------------------------------------------------------------ bench


def bench_slm(board_name: str, target: SshTarget, *, prompt: str, runs: int = 3, max_tokens: int = 64, threads: int = 4,
              context: int = 2048, engine: str | None = None, ollama_model: str | None = None,
              ollama_port: int = ollama.DEFAULT_PORT, layout: remote.RemoteLayout | None = None,
              python: RemotePython | None = None, results_directory: Path | None = None,
              on_record: Callable[[dict[str, Any]], None] = lambda record: None) -> SlmBenchResult:
    """`runs` generations of `max_tokens` tokens from `prompt`, each stored as it arrives."""
    board = linux_board(board_name)
    _check_numbers(context, threads)
    if runs < 1 or not 1 <= max_tokens <= 8192 or not prompt.strip():
        raise KitError("--runs must be at least 1, --max-tokens 1..8192 and --prompt not empty",
                       hint='e.g. --prompt "What is a microcontroller?" --runs 3 --max-tokens 64')
    deployed = state.recall(board.name, target.host, target.port)
    deployed = deployed if deployed is not None and deployed.lab == WORKLOAD else None
    engine = engine or (deployed.engine if deployed else "llama-cpp")
    header = {"board": board.name, "lab": WORKLOAD, "host": target.host, "engine": engine, "runs": runs,
              "max_tokens": max_tokens, "threads": threads, "context": context, "prompt": prompt}
    if engine == "ollama":
        model = ollama_model or (deployed.model_name if deployed and deployed.engine == "ollama" else None)
        if not model:
            raise KitError("which Ollama model? pass --ollama-model NAME", hint="e.g. --ollama-model llama3.2:1b")
        return _bench_ollama(board.name, target, model, ollama_port, prompt, runs, max_tokens, threads, context,
                             header, results_directory, on_record)
    if deployed is None and layout is None:
        raise KitError(f"no SLM deployed to {target.host} by this laptop yet",
                       hint=f"run `kit deploy {board.name} slm --model FILE.gguf --host {target.host}` first")
    layout = layout or remote.RemoteLayout(deployed.remote_root)
    if python is None:
        python = RemotePython(deployed.interpreter, deployed.use_venv) if deployed else RemotePython()
    model = deployed.model_name if deployed and deployed.model_name else MODEL_NAME
    arguments = ["bench", "--model", MODEL_NAME, "--prompt", prompt, "--runs", str(runs), "--max-tokens", str(max_tokens),
                 "--threads", str(threads), "--context", str(context)]
    not_deployed = KitError(f"no SLM is deployed on {target.host} (no {RUNNER_NAME} / {MODEL_NAME} in {layout.lab_dir(WORKLOAD)})",
                            hint=f"run `kit deploy {board.name} slm --model FILE.gguf --host {target.host}` first")
    lines = stream_lines(target, slm_command(layout, python.runner_python(layout), arguments), {NOT_DEPLOYED_EXIT: not_deployed},
                         silence_s=LINE_SILENCE_S, deadline_s=DEADLINE_BASE_S + DEADLINE_PER_RUN_S * runs)
    header["model"] = model
    header["model_sha256"] = deployed.model_sha256 if deployed else None
    return _collect(board.name, target, "llama-cpp", model, (parse_record(line) for line in lines), header,
                    results_directory, on_record)


def _bench_ollama(board: str, target: SshTarget, model: str, port: int, prompt: str, runs: int, max_tokens: int,
                  threads: int, context: int, header: dict[str, Any], results_directory: Path | None,
                  on_record: Callable[[dict[str, Any]], None]) -> SlmBenchResult:
    header["model"] = model

    def records() -> Iterable[dict[str, Any]]:
        with ollama.tunnel(target, port) as client:
            client.require_model(model)
            yield {"type": "start", "runtime": "ollama", "runtime_version": client.version()}
            yield ollama.system_sample(target)
            for index in range(runs):
                record = client.generate(model, prompt, max_tokens=max_tokens, context=context, threads=threads)
                yield {**record, "type": "generation", "index": index}
                yield ollama.system_sample(target)
            yield {"type": "done", "runs": runs}

    return _collect(board, target, "ollama", model, records(), header, results_directory, on_record)


def _check_generation(record: dict[str, Any], target: SshTarget) -> None:
    """Numbers a real generation can give; anything else is a broken runner (named)."""
    checks = (("generation_tokens_per_s", TOKENS_PER_S_RANGE), ("prompt_tokens_per_s", TOKENS_PER_S_RANGE),
              ("ttft_ms", MS_RANGE), ("total_ms", MS_RANGE), ("peak_rss_bytes", RSS_RANGE))
    for key, bounds in checks:
        if not number_in(record.get(key), bounds):
            raise DeviceError(f"the Pi ({target.host}) reported an impossible {key} {record.get(key)!r}",
                              hint="the runner on the Pi is not kit's: run `kit deploy BOARD slm` again")
    for key in ("prompt_tokens", "generated_tokens"):
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1 << 24:
            raise DeviceError(f"the Pi ({target.host}) reported an impossible {key} {value!r}",
                              hint="the runner on the Pi is not kit's: run `kit deploy BOARD slm` again")


def _collect(board: str, target: SshTarget, engine: str, model: str, records: Iterable[dict[str, Any] | None],
             header: dict[str, Any], results_directory: Path | None, on_record: Callable[[dict[str, Any]], None]) -> SlmBenchResult:
    results: ResultsFile | None = None
    start: dict[str, Any] = {}
    generations: list[dict[str, Any]] = []
    system = SystemSummary()
    finished = False
    try:
        for record in records:
            if record is None:
                continue
            kind = record.get("type")
            if kind == "error":
                raise runner_failure(target, record)
            if kind == "start":
                start = record
                results = ResultsFile.create("slm", {**header, **{k: record.get(k) for k in ("runtime", "runtime_version", "machine", "load_ms", "mem_total")}},
                                             results_directory)
            elif kind == "generation" and results is not None:
                _check_generation(record, target)
                if record.get("index") != len(generations):
                    raise DeviceError(f"the Pi sent generation {record.get('index')!r}, expected {len(generations)}",
                                      hint="the runner on the Pi is not kit's: run `kit deploy BOARD slm` again")
                results.append(record)
                generations.append(record)
            elif kind == "system" and results is not None:
                results.append(record)
                system.add(record)
            elif kind == "done":
                finished = True
            on_record(record)
        if not finished or not generations:
            raise DeviceError(
                f"the SLM bench on {target.host} stopped after {len(generations)} of {header['runs']} generations"
                + (f"; those are kept in {results.path}" if results else ""),
                hint="check the Pi (memory, temperature: `dmesg`, `free -h`), then run the bench again")
    except BaseException as error:
        if results is not None:
            results.close_interrupted(error, len(generations), "generation(s)")
        raise
    assert results is not None
    result = SlmBenchResult(board=board, host=target.host, engine=engine, model=model,
                            runtime=f"{start.get('runtime')} {start.get('runtime_version')}", generations=generations,
                            system=system, results_path=results.path)
    summary = {key: value for key, value in result.as_dict().items() if key not in ("results_file", "plot")}
    results.close("complete", summary=summary)
    return result
