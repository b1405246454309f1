"""Multiply-accumulate counts per operator, for model cards and instructions-per-MAC figures.

Counting rules (the ones MLPerf Tiny's published figures use):
* CONV_2D: out_h * out_w * out_c * k_h * k_w * (in_c / groups)
* DEPTHWISE_CONV_2D: out_h * out_w * out_c * k_h * k_w
* FULLY_CONNECTED: output elements * input depth (units * depth per batch row)
* MUL: one multiply per output element; every other op (pooling, ADD, SOFTMAX, MEAN, ...)
  counts 0 MACs: they are memory or elementwise work, not multiply-accumulates.
Bias additions are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.compile.tflite import Model, Operator


@dataclass(frozen=True)
class OpCost:
    """MACs and constant parameters (weights + biases, in elements) of one operator."""

    index: int
    op: str
    macs: int
    params: int
    name: str = ""


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _op_macs(model: Model, operator: Operator) -> int:
    tensors = model.tensors
    if not operator.outputs:
        return 0
    output = tensors[operator.outputs[0]]
    out_elements = _elements(output.shape)
    if operator.op == "CONV_2D" and len(operator.inputs) >= 2:
        filter_shape = tensors[operator.inputs[1]].shape  # [out_c, k_h, k_w, in_c / groups]
        if len(filter_shape) == 4:
            return out_elements * filter_shape[1] * filter_shape[2] * filter_shape[3]
    if operator.op == "DEPTHWISE_CONV_2D" and len(operator.inputs) >= 2:
        filter_shape = tensors[operator.inputs[1]].shape  # [1, k_h, k_w, out_c]
        if len(filter_shape) == 4:
            return out_elements * filter_shape[1] * filter_shape[2]
    if operator.op == "FULLY_CONNECTED" and len(operator.inputs) >= 2:
        filter_shape = tensors[operator.inputs[1]].shape  # [units, depth]
        if len(filter_shape) == 2:
            return out_elements * filter_shape[1]
    if operator.op == "MUL":
        return out_elements
    return 0


def _op_params(model: Model, operator: Operator) -> int:
    return sum(
        model.tensors[t].num_elements
        for t in operator.inputs
        if t >= 0 and model.tensors[t].is_constant and operator.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    )


def count_macs(model: Model) -> list[OpCost]:
    """One OpCost per operator in execution order; sum the `macs` for the model total."""
    costs = []
    for operator in model.operators:
        output_name = model.tensors[operator.outputs[0]].name if operator.outputs else ""
        costs.append(
            OpCost(
                index=operator.index,
                op=operator.op,
                macs=_op_macs(model, operator),
                params=_op_params(model, operator),
                name=output_name,
            )
        )
    return costs


def total_macs(model: Model) -> int:
    return sum(cost.macs for cost in count_macs(model))
