"""Bit-exactness on generated models that cover every kernel option the runtime supports."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from kit.compile.ops import OP_NAMES
from kit.runtime_host import compile_model, invoke
from tests.runtime.conftest import random_inputs
from tests.runtime.references import reference_engine, reference_outputs

SEEDS = range(32)
SAMPLES = 100
_ops_seen: collections.Counter = collections.Counter()


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_model_matches_tflm(seed, zoo_model):
    model = zoo_model(seed)
    compiled = compile_model(model.path)
    _ops_seen.update(compiled.op_names)
    inputs = random_inputs(compiled.input_shape, SAMPLES, seed=seed)
    expected = reference_outputs(model.reference, inputs)
    actual = invoke(compiled, inputs)
    differing = np.flatnonzero((actual != expected).reshape(SAMPLES, -1).any(axis=1))
    assert differing.size == 0, (
        f"seed {seed} ({model.description}; ops {compiled.op_names}): {differing.size} samples differ from "
        f"{reference_engine(model.reference)}, first kit {actual[differing[0]].tolist()} "
        f"reference {expected[differing[0]].tolist()}"
    )


@pytest.mark.slow
def test_zoo_covered_every_kernel():
    """Runs after the zoo: the seeds must have produced every op kit supports."""
    if not _ops_seen:
        pytest.skip("the generated-model tests did not run in this session")
    wanted = set(OP_NAMES)
    assert wanted <= set(_ops_seen), f"never generated: {sorted(wanted - set(_ops_seen))}"
