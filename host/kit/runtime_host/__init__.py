"""The `host` board: kit's C runtime built with the host gcc and run in-process via ctypes.

`compile_model` turns a .tflite into generated C (cached), `build_host_library` compiles it
with the runtime into a shared library (cached), `HostModel` runs it, and `invoke` is the
one-call version used by `kit invoke host`. Other boards run it through their target (kit.targets.invoke_on_board).
"""

from kit.runtime_host.build import RUNTIME_DIR, build_host_library, runtime_sources, warning_flags
from kit.runtime_host.compiled import CompiledModel, compile_model
from kit.runtime_host.runner import HostModel, invoke

__all__ = [
    "RUNTIME_DIR",
    "CompiledModel",
    "HostModel",
    "build_host_library",
    "compile_model",
    "invoke",
    "runtime_sources",
    "warning_flags",
]
