"""What was last deployed to each Linux board, so `kit bench-pi BOARD --host H` needs no --lab.

Stored in `$KIT_HOME/deploy-state.json`, keyed by board, host and port. It holds names and
remote paths only, never credentials.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from kit.paths import home_dir


@dataclass(frozen=True)
class DeployedLab:
    lab: str
    remote_root: str
    interpreter: str
    use_venv: bool
    model_sha256: str
    engine: str = "litert"          # what runs it: litert (labs), llama-cpp or ollama (the slm workload)
    model_name: str | None = None   # the SLM's file name, or the Ollama model's name


def _state_file():
    return home_dir() / "deploy-state.json"


def _key(board: str, host: str, port: int | None) -> str:
    return f"{board}|{host}|{port or ''}"


def _read() -> dict:
    path = _state_file()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def remember(board: str, host: str, port: int | None, deployed: DeployedLab) -> None:
    state = _read()
    state[_key(board, host, port)] = asdict(deployed)
    _state_file().write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")


def recall(board: str, host: str, port: int | None) -> DeployedLab | None:
    entry = _read().get(_key(board, host, port))
    if not isinstance(entry, dict):
        return None
    try:
        return DeployedLab(**entry)
    except TypeError:
        return None
