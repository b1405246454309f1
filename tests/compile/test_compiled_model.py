"""The typed compiled model: built from the cache's metadata on a hit (no parse, no plan), the
model bytes hashed once per convert, the TFLM part (arena probe and arrays) only when asked."""

from __future__ import annotations

import hashlib
import shutil

import pytest

import kit.compile.planner as planner
import kit.compile.tflite as tflite
import kit.compile.tflm_arrays as tflm_arrays
import kit.tflm as tflm
from kit.compile import CompiledModel, TensorFacts, convert
from kit.errors import ModelError
from kit.runtime_host import compile_model


@pytest.fixture()
def counts(monkeypatch, tmp_path):
    """A fresh compile cache, and call counters on the parser, the planner, the TFLM arena probe
    and the TFLM array writer (every caller looks them up at call time)."""
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    found = {"parses": 0, "plans": 0, "tflm_probes": 0, "tflm_arrays": 0}

    def counted(module, name, key):
        function = getattr(module, name)

        def wrapper(*args, **kwargs):
            found[key] += 1
            return function(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counted(tflite, "load_model", "parses")
    counted(planner, "build_plan", "plans")
    counted(tflm, "measure_arena_bytes", "tflm_probes")
    counted(tflm_arrays, "write_tflm_arrays", "tflm_arrays")
    return found


def _reset(counts: dict[str, int]) -> None:
    for key in counts:
        counts[key] = 0


@pytest.fixture()
def model_copy(mlperf_models, tmp_path):
    """The kws reference model in a folder of its own (no card beside it)."""
    path = tmp_path / "kws.tflite"
    shutil.copy(mlperf_models["kws_ref_model"], path)
    return path


def test_one_convert_hashes_the_model_bytes_once(model_copy, counts, monkeypatch):
    data = model_copy.read_bytes()
    original = hashlib.sha256
    hashed = []

    def sha256(*args, **kwargs):
        if args and bytes(args[0]) == data:
            hashed.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(hashlib, "sha256", sha256)
    for tflm_part in (False, True, True):  # cold; TFLM added to the entry; all cached
        hashed.clear()
        compiled = convert(model_copy, model_id="kws01", tflm=tflm_part)
        assert len(hashed) == 1, f"tflm={tflm_part}: the model bytes were hashed {len(hashed)} times"
        assert compiled.sha256 == original(data).hexdigest()
    hashed.clear()
    compile_model(model_copy, model_id="kws01")
    assert len(hashed) == 1


def test_a_cache_hit_needs_no_parse_and_no_plan(model_copy, counts):
    cold = convert(model_copy, model_id="kws01")
    assert not cold.cached and counts["parses"] == 1 and counts["plans"] == 1
    _reset(counts)
    warm = convert(model_copy, model_id="kws01")
    host = compile_model(model_copy, model_id="kws01")
    assert warm.cached and counts == {"parses": 0, "plans": 0, "tflm_probes": 0, "tflm_arrays": 0}
    assert isinstance(warm, CompiledModel) and type(host) is type(warm)  # one class for both
    plan = cold.plan  # built on the cold run, so no extra planning for it
    assert counts["plans"] == 0
    expected = TensorFacts(tuple(plan.input.shape), plan.input.dtype, plan.input.nbytes,
                           tuple(plan.input.scale), tuple(plan.input.zero_point))
    assert warm.input == host.input == expected and warm.input.nbytes == 490
    assert warm.output.shape == tuple(plan.output.shape) and warm.output.nbytes == 12
    assert (warm.arena_bytes_kit, warm.weight_bytes) == (plan.arena_bytes, plan.weight_bytes)
    assert warm.ops == [op.op for op in plan.ops] and warm.macs == 2_656_768
    assert warm.model_bytes == model_copy.stat().st_size and warm.sha256 == plan.model_sha256
    assert warm.kit_dir == host.directory and (warm.kit_dir / "kit_model.c").is_file()
    assert counts["parses"] == 0 and counts["plans"] == 0
    assert warm.plan is not None and counts == {"parses": 1, "plans": 1, "tflm_probes": 0, "tflm_arrays": 0}


def test_tflm_part_only_when_asked_and_added_to_an_existing_entry(model_copy, counts, tmp_path):
    kit_only = convert(model_copy, model_id="kws01")
    assert kit_only.tflm is None and not (kit_only.out_dir / "tflm").exists()
    assert counts["tflm_probes"] == 0 and counts["tflm_arrays"] == 0
    assert all(path.parent.name == "kit" for path in kit_only.files)
    with pytest.raises(ModelError, match="without its TFLM arrays"):
        kit_only.tensor_arena_size  # noqa: B018  (a property: asking for what was not produced)

    _reset(counts)
    with_tflm = convert(model_copy, tmp_path / "out", model_id="kws01", tflm=True)
    assert not with_tflm.cached and counts == {"parses": 1, "plans": 0, "tflm_probes": 1, "tflm_arrays": 1}
    assert with_tflm.arena_bytes_kit == kit_only.arena_bytes_kit <= with_tflm.arena_bytes_tflm
    assert with_tflm.tensor_arena_size > with_tflm.arena_bytes_tflm
    assert (with_tflm.tflm_dir / "model_data.cc").is_file() and with_tflm.tflm_dir.parent == tmp_path / "out"
    assert all(path.is_file() for path in with_tflm.files) and len(with_tflm.files) == 5

    _reset(counts)
    again = convert(model_copy, model_id="kws01", tflm=True)
    assert again.cached and counts == {"parses": 0, "plans": 0, "tflm_probes": 0, "tflm_arrays": 0}
    assert again.tflm == with_tflm.tflm
    kit_again = convert(model_copy, model_id="kws01")
    assert kit_again.tflm == with_tflm.tflm  # produced once, reported to every later caller
