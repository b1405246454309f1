"""Whether a process kit started (an emulator, a QEMU run) is still alive.

Shared by the emulator launcher (kit.upload.qemu) and the running-board records
(kit.targets.state), so it sits low: it needs nothing but the OS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[-1].split()[0] == "Z"


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel SIGTERM the child when the process that started it
    dies, even by SIGKILL (Linux PR_SET_PDEATHSIG), so nothing kit started is orphaned; None
    where prctl does not exist. The signal follows the *thread* that forks: start children
    that must live on from a thread that lives as long as the process."""
    import ctypes
    import ctypes.util
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: no imports, no locks
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


PR_SET_PDEATHSIG = 1
