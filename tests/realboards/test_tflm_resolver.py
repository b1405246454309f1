"""model_ops.h calls TFLM's MicroMutableOpResolver by name: every name kit writes must be the
method the pinned TFLM versions really have (recorded from their headers in
data/tflm_resolvers.toml), for every builtin op a .tflite can hold, and the stand-in
resolvers in stubs/tflm/<library>/ must declare exactly those methods."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from kit.build.realboard import TFLM_LIBRARY_FILE, tflm_library
from kit.compile.tflite import _enum_names, _schema
from kit.compile.tflm_arrays import render_ops_header, resolver_method

from realboard_helpers import STUBS

RESOLVERS = tomllib.loads((Path(__file__).parent / "data" / "tflm_resolvers.toml").read_text())
NEWEST = "tflite-micro"
PINNED_HALS = tuple(tomllib.loads(TFLM_LIBRARY_FILE.read_text())["hal"])


def builtin_ops() -> list[str]:
    """Every builtin op name of the TFLite schema kit reads models with."""
    return sorted(set(_enum_names(_schema().BuiltinOperator).values()))


def test_every_builtin_op_maps_to_the_newest_tflm_method_or_to_none() -> None:
    ops = builtin_ops()
    assert len(ops) > 150 and set(RESOLVERS[NEWEST]) <= set(ops)
    wrong = {op: (resolver_method(op), RESOLVERS[NEWEST].get(op)) for op in ops
             if resolver_method(op) != RESOLVERS[NEWEST].get(op)}
    assert wrong == {}


@pytest.mark.parametrize("op, method", [("CUMSUM", "AddCumSum"), ("PADV2", "AddPadV2"),
                                        ("UNIDIRECTIONAL_SEQUENCE_LSTM", "AddUnidirectionalSequenceLSTM"),
                                        ("BATCH_MATMUL", "AddBatchMatMul"), ("RELU_N1_TO_1", None)])
def test_the_names_issue_18_found_wrong(op: str, method: str | None) -> None:
    assert resolver_method(op) == method


@pytest.mark.parametrize("hal", PINNED_HALS)
def test_each_pinned_library_has_recorded_names_that_agree(hal: str) -> None:
    library = Path(tflm_library(hal).header).stem
    assert library in RESOLVERS, f"record {library}'s resolver methods in data/tflm_resolvers.toml"
    assert {op: resolver_method(op) for op in RESOLVERS[library]} == RESOLVERS[library]


@pytest.mark.parametrize("hal", PINNED_HALS)
def test_stand_in_resolver_declares_exactly_the_pinned_methods(hal: str) -> None:
    library = Path(tflm_library(hal).header).stem
    text = (STUBS / "tflm" / library / "kit_stub_resolver_methods.h").read_text()
    assert sorted(re.findall(r"KIT_STUB_ADD\((\w+)\)", text)) == sorted(set(RESOLVERS[library].values()))


def test_an_op_without_a_tflm_kernel_stops_the_tflm_build_by_name() -> None:
    header = render_ops_header(SimpleNamespace(op_names=["CONV_2D", "RELU_N1_TO_1", "CONV_2D"]))
    assert "resolver.AddConv2D()" in header
    assert '#error "TensorFlow Lite Micro has no kernel for the builtin op RELU_N1_TO_1"' in header
    assert "AddReluN1To1" not in header
