"""The executor's C API as the firmware harness uses it: hooks, names, sizes, errors."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from kit.runtime_host.runner import load_host_model
from tests.runtime.conftest import random_inputs

HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int)


def _lib(kws_model):
    host = load_host_model(kws_model)
    return host, host._lib, host._model


def test_hook_runs_before_and_after_every_op_in_order(kws_model):
    host, lib, model = _lib(kws_model)
    calls: list[tuple[int, int]] = []
    hook = HOOK(lambda ctx, index, after: calls.append((index, after)))
    lib.kit_model_invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p, HOOK, ctypes.c_void_p]
    status = lib.kit_model_invoke(model, ctypes.c_void_p(host._arena.ctypes.data), hook, None)
    lib.kit_model_invoke.argtypes = [ctypes.c_void_p] * 4
    assert status == 0
    count = len(kws_model.op_names)
    assert calls == [(i, after) for i in range(count) for after in (0, 1)]


def test_op_names_ids_and_sizes(kws_model):
    _, lib, model = _lib(kws_model)
    lib.kit_model_op_name.restype = ctypes.c_char_p
    lib.kit_model_op_name.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.kit_model_op_count.argtypes = [ctypes.c_void_p]
    lib.kit_model_id.restype = lib.kit_model_sha256.restype = ctypes.c_char_p
    lib.kit_model_id.argtypes = lib.kit_model_sha256.argtypes = [ctypes.c_void_p]
    count = lib.kit_model_op_count(model)
    names = tuple(lib.kit_model_op_name(model, i).decode() for i in range(count))
    assert names == kws_model.op_names
    assert lib.kit_model_op_name(model, count) == b"?"
    assert lib.kit_model_id(model).decode() == "kws_ref_model"
    assert lib.kit_model_sha256(model).decode() == kws_model.sha256
    assert lib.kit_model_input_bytes(model) == 49 * 10
    assert lib.kit_model_output_bytes(model) == 12
    assert lib.kit_model_arena_bytes(model) == kws_model.arena_bytes_kit


def test_misaligned_arena_is_refused(kws_model):
    host, lib, model = _lib(kws_model)
    buffer = np.zeros(kws_model.arena_bytes_kit + 32, dtype=np.uint8)
    base = buffer.ctypes.data + ((-buffer.ctypes.data) % 16)
    assert lib.kit_model_invoke(model, ctypes.c_void_p(base + 1), None, None) == -2
    assert lib.kit_model_invoke(model, None, None, None) == -1


def test_repeated_runs_are_deterministic(kws_model):
    host, _, _ = _lib(kws_model)
    inputs = random_inputs(kws_model.input_shape, 3, seed=5)
    first = host.run(inputs)
    assert np.array_equal(first, host.run(inputs[::-1])[::-1])


def test_a_write_outside_the_arena_is_caught_after_the_invoke(kws_model):
    """The host runner keeps guard bytes each side of the arena: a kernel writing past its
    tensor is reported as the kit bug it is, instead of corrupting the Python process."""
    from kit.runtime_host.runner import ArenaOverrunError, HostModel
    from tests.runtime.conftest import random_inputs

    host = HostModel(kws_model)
    sample = host.check_inputs(random_inputs(kws_model.input_shape, 1, seed=4))[0]
    host.run_one(sample)  # intact guards: no error
    host._guarded[-1] ^= 0xFF  # what a kernel writing one byte past the arena's end does
    with pytest.raises(ArenaOverrunError, match="wrote outside its .*-byte arena"):
        host.run_one(sample)
