"""A peer that speaks Ollama's HTTP API as its docs/api.md documents it (helpers for tests/deploy).

Ollama itself is not installable here, so this server plays it on 127.0.0.1: /api/version,
/api/tags, /api/ps and /api/generate streamed as NDJSON, whose last object has done=true with
total/load/prompt_eval/eval durations in nanoseconds and the token counts; a model that is not
pulled answers 404 {"error": "model \"NAME\" not found, try pulling it first"}. Generation is
simulated: one token per `token_seconds`, so the rates kit reports come from real timing.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("The", " board", " runs", " a", " tiny", " model", " on", " its", " own", ".")


@dataclass
class OllamaPeer:
    models: tuple[str, ...] = ("tinyllama:latest",)
    token_seconds: float = 0.004
    prompt_seconds_per_token: float = 0.001
    fail_after_chunks: int | None = None      # end the stream early (no final record)
    requests: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    loaded: set[str] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def start(self) -> "OllamaPeer":
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                return

            def _json(self, status: int, value: dict) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                peer.requests.append({"method": "GET", "path": self.path})
                if self.path == "/api/version":
                    self._json(200, {"version": "0.12.6"})
                elif self.path == "/api/tags":
                    self._json(200, {"models": [{"name": name, "model": name, "size": 637_700_138,
                                                 "digest": "0" * 64, "details": {"family": "llama"}} for name in peer.models]})
                elif self.path == "/api/ps":
                    self._json(200, {"models": [{"name": name, "model": name, "size": 1_234_567_890, "size_vram": 0}
                                                for name in sorted(peer.loaded)]})
                else:
                    self._json(404, {"error": "404 page not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                peer.requests.append({"method": "POST", "path": self.path, "body": body})
                if self.path != "/api/generate":
                    self._json(404, {"error": "404 page not found"})
                    return
                name = body.get("model", "")
                full = name if ":" in name else f"{name}:latest"
                if full not in peer.models:
                    self._json(404, {"error": f'model "{name}" not found, try pulling it first'})
                    return
                self._generate(full, body)

            def _generate(self, model: str, body: dict) -> None:
                started = time.perf_counter_ns()
                load_ns = 0
                if model not in peer.loaded:
                    time.sleep(0.02)
                    load_ns = time.perf_counter_ns() - started
                    peer.loaded.add(model)
                prompt_tokens = max(1, len(str(body.get("prompt", "")).split()))
                prompt_start = time.perf_counter_ns()
                time.sleep(prompt_tokens * peer.prompt_seconds_per_token)
                prompt_ns = time.perf_counter_ns() - prompt_start
                count = int(body.get("options", {}).get("num_predict", 16))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                eval_start = time.perf_counter_ns()
                for index in range(count):
                    if peer.fail_after_chunks is not None and index >= peer.fail_after_chunks:
                        self._chunk(b"")
                        return
                    time.sleep(peer.token_seconds)
                    self._line({"model": model, "created_at": "2026-12-03T00:00:00Z", "response": WORDS[index % len(WORDS)], "done": False})
                eval_ns = time.perf_counter_ns() - eval_start
                self._line({"model": model, "created_at": "2026-12-03T00:00:00Z", "response": "", "done": True,
                            "done_reason": "length", "context": [1, 2, 3], "total_duration": time.perf_counter_ns() - started,
                            "load_duration": load_ns, "prompt_eval_count": prompt_tokens, "prompt_eval_duration": prompt_ns,
                            "eval_count": count, "eval_duration": eval_ns})
                self._chunk(b"")

            def _line(self, value: dict) -> None:
                self._chunk(json.dumps(value).encode() + b"\n")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
