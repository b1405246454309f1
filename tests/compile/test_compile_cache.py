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
    assert compiled.arena_bytes_kit == converted.arena_bytes_kit
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


def test_a_result_another_process_put_in_place_first_is_kept(tmp_path):
    """Two processes compiling one model at once (a farm's exporters, parallel tests): the
    second rename finds the first's complete folder, keeps it and drops its own copy."""
    from kit.compile.cache import KIT_META_NAME, _move_into_place

    folder = tmp_path / "model-abc"
    folder.mkdir()
    (folder / KIT_META_NAME).write_text("{}")          # the other process's complete entry
    (folder / "theirs").write_text("kept")
    staging = tmp_path / "model-abc.tmp1"
    staging.mkdir()
    (staging / KIT_META_NAME).write_text("{}")
    _move_into_place(staging, folder, folder / KIT_META_NAME)
    assert (folder / "theirs").read_text() == "kept" and not staging.exists()

    incomplete = tmp_path / "model-def"
    incomplete.mkdir()
    (incomplete / "half").write_text("")               # an interrupted earlier attempt: replaced
    staging = tmp_path / "model-def.tmp1"
    staging.mkdir()
    (staging / KIT_META_NAME).write_text("{}")
    _move_into_place(staging, incomplete, incomplete / KIT_META_NAME)
    assert (incomplete / KIT_META_NAME).is_file() and not (incomplete / "half").exists()
