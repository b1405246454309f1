"""Ollama on a Raspberry Pi, driven through its HTTP API over an SSH tunnel.

The book's SLM lab runs models with Ollama, which listens on the Pi's 127.0.0.1:11434 only.
kit never opens that port to the network: `ssh -N -L` forwards a free loopback port of the
laptop to it, with the same keys and host-key checks as every other kit command. Endpoints
and fields are those of Ollama's `docs/api.md`: /api/version, /api/tags, /api/ps and a streamed
/api/generate whose last object carries prompt_eval_count/_duration and eval_count/_duration
(nanoseconds).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from kit.deploy.ssh import SshTarget, raise_for_ssh_failure, run
from kit.errors import DeviceError, KitError

DEFAULT_PORT = 11434
SMOKE_PROMPT = "Say hello in three words."
TUNNEL_START_S = 20.0
REQUEST_TIMEOUT_S = 30.0          # per read: silence this long from Ollama is a hang
GENERATE_DEADLINE_S = 1800.0      # one generation, model load included
MAX_LINE_BYTES = 1 << 20
INSTALL_HINT = ("install Ollama on the Pi (`curl -fsSL https://ollama.com/install.sh | sh`) and start it "
                "(`sudo systemctl start ollama`); if it listens elsewhere, pass --ollama-port")
SYSTEM_SCRIPT = ("cat /sys/class/thermal/thermal_zone0/temp 2>/dev/null | sed 's/^/temp=/'; "
                 "cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq 2>/dev/null | sed 's/^/freq=/'; "
                 "command -v vcgencmd >/dev/null 2>&1 && vcgencmd get_throttled | sed 's/^throttled=/throttled=/'; true")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def tunnel(target: SshTarget, remote_port: int = DEFAULT_PORT) -> Iterator["OllamaClient"]:
    """A client for Ollama on the Pi, through `ssh -N -L` kept open for the block."""
    if not 0 < remote_port < 65536:
        raise KitError(f"--ollama-port {remote_port} is out of range", hint=f"Ollama's default is {DEFAULT_PORT}")
    local_port = _free_port()
    argv = [*target.base_command(), "-N", "-o", "ExitOnForwardFailure=yes",
            "-L", f"127.0.0.1:{local_port}:127.0.0.1:{remote_port}", "--", target.host]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_tunnel(process, target, local_port)
        yield OllamaClient(f"http://127.0.0.1:{local_port}", target.host, remote_port)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_for_tunnel(process: subprocess.Popen, target: SshTarget, port: int) -> None:
    deadline = time.monotonic() + TUNNEL_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise_for_ssh_failure(target, stderr)
            raise DeviceError(f"the SSH tunnel to {target.host} closed at once: {stderr.strip()}",
                              hint="check that the Pi's sshd allows port forwarding (AllowTcpForwarding)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise DeviceError(f"the SSH tunnel to {target.host} did not open within {TUNNEL_START_S:.0f} s",
                      hint="check the network to the Pi, then try again")


@dataclass
class OllamaClient:
    base: str
    host: str
    remote_port: int

    def _not_running(self, error: BaseException) -> DeviceError:
        return DeviceError(f"nothing answers as Ollama on port {self.remote_port} of {self.host} ({error or type(error).__name__})",
                           hint=INSTALL_HINT)

    def _request(self, path: str, body: dict[str, Any] | None = None, timeout: float = REQUEST_TIMEOUT_S):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            raise self._http_error(error, body) from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout) as error:
            raise self._not_running(error) from None

    def _http_error(self, error: urllib.error.HTTPError, body: dict[str, Any] | None) -> KitError:
        try:
            message = str(json.loads(error.read().decode(errors="replace")).get("error", ""))
        except (ValueError, AttributeError, OSError):
            message = ""
        model = (body or {}).get("model")
        if error.code == 404 and model:
            return KitError(f"Ollama on {self.host} does not have the model {model!r}: {message or 'not found'}",
                            hint=f"pull it on the Pi once: `ollama pull {model}` (or pick one from `ollama list`)")
        return DeviceError(f"Ollama on {self.host} answered HTTP {error.code}: {message or error.reason}",
                           hint="see `journalctl -u ollama` on the Pi")

    def _json(self, path: str) -> dict[str, Any]:
        try:
            with self._request(path) as response:
                value = json.loads(response.read(MAX_LINE_BYTES).decode(errors="replace"))
        except (http.client.HTTPException, ConnectionError, socket.timeout) as error:
            raise self._not_running(error) from None
        except ValueError:
            raise DeviceError(f"port {self.remote_port} of {self.host} answered, but not with Ollama's JSON ({path})",
                              hint=f"is something else listening there? {INSTALL_HINT}") from None
        if not isinstance(value, dict):
            raise DeviceError(f"Ollama on {self.host} sent {path} as {type(value).__name__}, not an object", hint=INSTALL_HINT)
        return value

    def version(self) -> str:
        return str(self._json("/api/version").get("version", "unknown"))

    def models(self) -> list[str]:
        entries = self._json("/api/tags").get("models", [])
        return [str(entry.get("name")) for entry in entries if isinstance(entry, dict)]

    def require_model(self, model: str) -> None:
        names = self.models()
        if model not in names and f"{model}:latest" not in names:
            raise KitError(f"Ollama on {self.host} has not pulled {model!r} (it has: {', '.join(names) or 'no models'})",
                           hint=f"on the Pi: `ollama pull {model}`, then run this again")

    def model_memory(self, model: str) -> int | None:
        """Bytes the loaded model occupies (/api/ps `size`), or None when Ollama does not list it."""
        for entry in self._json("/api/ps").get("models", []):
            if isinstance(entry, dict) and entry.get("name") in (model, f"{model}:latest"):
                size = entry.get("size")
                return int(size) if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
        return None

    def generate(self, model: str, prompt: str, *, max_tokens: int, context: int, threads: int) -> dict[str, Any]:
        """One streamed generation: its timing record, rates from Ollama's own counters and
        the time to the first token measured here (through the tunnel)."""
        body = {"model": model, "prompt": prompt, "stream": True,
                "options": {"num_predict": max_tokens, "num_ctx": context, "num_thread": threads, "temperature": 0, "seed": 1}}
        start = time.perf_counter()
        first: float | None = None
        final: dict[str, Any] | None = None
        pieces: list[str] = []
        with self._request("/api/generate", body, timeout=REQUEST_TIMEOUT_S) as response:
            for chunk in self._chunks(response, start):
                if "error" in chunk:
                    raise DeviceError(f"Ollama on {self.host} stopped the generation: {chunk['error']}",
                                      hint="see `journalctl -u ollama` on the Pi (out of memory?)")
                if chunk.get("response") and first is None:
                    first = time.perf_counter()
                pieces.append(str(chunk.get("response", "")))
                if chunk.get("done"):
                    final = chunk
                    break
        end = time.perf_counter()
        if final is None:
            raise DeviceError(f"Ollama on {self.host} ended the stream without its final record",
                              hint="see `journalctl -u ollama` on the Pi")
        return self._record(final, model, start, first or end, end, "".join(pieces))

    def _chunks(self, response, start: float) -> Iterator[dict[str, Any]]:
        while True:
            if time.perf_counter() - start > GENERATE_DEADLINE_S:
                raise DeviceError(f"Ollama on {self.host} was still generating after {GENERATE_DEADLINE_S:.0f} s: stopped",
                                  hint="ask for fewer tokens (--max-tokens) or a smaller model")
            try:
                line = response.readline(MAX_LINE_BYTES)
            except (socket.timeout, TimeoutError):
                raise DeviceError(f"Ollama on {self.host} sent nothing for {REQUEST_TIMEOUT_S:.0f} s", hint="check the Pi (`free -h`, `dmesg`)") from None
            except (http.client.HTTPException, ConnectionError) as error:
                raise self._not_running(error) from None
            if not line:
                return
            try:
                chunk = json.loads(line)
            except ValueError:
                raise DeviceError(f"Ollama on {self.host} sent a line that is not JSON: {line[:80]!r}", hint=INSTALL_HINT) from None
            if isinstance(chunk, dict):
                yield chunk

    def _record(self, final: dict[str, Any], model: str, start: float, first: float, end: float, text: str) -> dict[str, Any]:
        def count(key: str) -> int:
            value = final.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DeviceError(f"Ollama on {self.host} sent {key} = {value!r}", hint=INSTALL_HINT)
            return value

        prompt_tokens, prompt_ns = count("prompt_eval_count"), count("prompt_eval_duration")
        generated, generation_ns = count("eval_count"), count("eval_duration")
        memory = self.model_memory(model)
        return {
            "timing": "ollama counters", "prompt_tokens": prompt_tokens, "generated_tokens": generated,
            "prompt_tokens_per_s": prompt_tokens / (prompt_ns / 1e9) if prompt_ns else 0.0,
            "generation_tokens_per_s": generated / (generation_ns / 1e9) if generation_ns else 0.0,
            "ttft_ms": (first - start) * 1000.0, "ttft_source": "laptop, through the SSH tunnel",
            "total_ms": count("total_duration") / 1e6, "load_ms": count("load_duration") / 1e6,
            "peak_rss_bytes": memory if memory is not None else 0,
            "memory_source": "ollama /api/ps size of the loaded model" if memory is not None else "unavailable",
            "done_reason": final.get("done_reason"), "text": text[:400],
        }


def system_sample(target: SshTarget) -> dict[str, Any]:
    """CPU temperature, clock and throttling of the Pi now (None where it does not say)."""
    result = run(target, SYSTEM_SCRIPT, timeout_s=30)
    values: dict[str, str] = {}
    for line in result.stdout.decode(errors="replace").splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()

    def number(key: str, scale: float) -> float | None:
        try:
            return float(values[key]) * scale
        except (KeyError, ValueError):
            return None

    try:
        throttled: int | None = int(values["throttled"], 16)
    except (KeyError, ValueError):
        throttled = None
    return {"type": "system", "temp_c": number("temp", 0.001), "freq_mhz": number("freq", 0.001), "throttled": throttled}
