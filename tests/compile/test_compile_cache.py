"""One compile pipeline: `kit convert` and `kit invoke` (compile_model) share one cache folder."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from kit.compile import convert
from kit.errors import ModelError
from kit.runtime_host import compile_model
from kit.runtime_host.dispatch import resolve_model


@pytest.fixture()
def carded_model(mlperf_models, tmp_path):
    folder = tmp_path / "anomaly"
    folder.mkdir()
    model = folder / "model.tflite"
    shutil.copy(mlperf_models["ad01_int8"], model)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    card = {"lab": "anomaly-cache", "sha256": sha, "labels": ["normal", "anomalous"]}
    (folder / "card.json").write_text(json.dumps(card))
    return model


def test_invoke_and_convert_share_one_compiled_copy(carded_model, monkeypatch):
    path, model_id = resolve_model(carded_model)
    assert model_id == "anomaly-cache"  # from the card, not the file stem "model"
    converted = convert(carded_model)
    assert converted.model_id == model_id and converted.kit_dir is not None

    import kit.compile.planner as planner

    def no_planning(*args, **kwargs):
        raise AssertionError("a cache hit must not rebuild the plan")

    monkeypatch.setattr(planner, "build_plan", no_planning)
    compiled = compile_model(path, model_id=model_id)
    assert compiled.directory == converted.kit_dir  # the same cache folder, not a second compile
    assert compiled.arena_bytes == converted.arena_bytes_kit
    again = convert(carded_model)
    assert again.cached and again.arena_bytes_kit == converted.arena_bytes_kit
    assert again.ops == converted.ops and again.weight_bytes == converted.weight_bytes
    with pytest.raises(AssertionError, match="must not rebuild"):
        again.plan  # the plan is rebuilt only when asked for


def test_compile_model_raises_a_cached_refusal(tmp_path):
    from . import tiny_models

    model, shape = tiny_models.with_elu()
    path = tmp_path / "elu.tflite"
    path.write_bytes(tiny_models.convert(model, shape, "int8"))
    for _ in range(2):  # compiled, then from the cache
        with pytest.raises(ModelError, match=r"\(ELU\)"):
            compile_model(path)
