"""Fixtures for the Raspberry Pi deploy tests: one loopback sshd per session (see sshd_server.py)."""

from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

from sshd_server import SshServer, start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> Iterator[SshServer]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def laptop_python() -> str:
    """The interpreter the "Pi" runs the runner with: this test run's own (it has ai_edge_litert)."""
    return sys.executable


@pytest.fixture
def remote_root(tmp_path) -> str:
    """A fresh folder on the "Pi" per test (absolute, so nothing lands in root's home)."""
    folder = tmp_path / "pi-home" / "kit"
    return str(folder)


@pytest.fixture
def clean_env(monkeypatch):
    """Keep a developer's SSH agent out of the tests: only the given key may be offered."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return os.environ
