"""CONV_2D + ADD fused into one op, so a residual block's sum is written over its shortcut.

In a ResNet block the shortcut x stays live while two convolutions run; the block's last
CONV_2D output then needs its own bytes until the ADD. Folding the ADD into that CONV_2D
(each output element requantized, then added to x's element with the ADD's own integer
arithmetic, exactly as TFLM's ADD kernel would) lets the sum be written over x in place, so
the convolution's output is never stored. The fused op keeps the name CONV_2D, takes x as a
fourth input and carries the ADD's resolved params under `fused_add` (with `fused_conv_is_input2`:
the ADD's operand order matters for its rounding).

Fused only when it is exact and simple: the ADD comes right after the CONV_2D, reads its
output once (the other operand being an earlier activation of the same shape, no broadcast),
and nothing else reads the convolution's output.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kit.compile.tflite import Model


def _readers(model: Model) -> dict[int, int]:
    counts: dict[int, int] = {}
    for operator in model.operators:
        for index in operator.inputs:
            counts[index] = counts.get(index, 0) + 1
    return counts


def _fusable(model: Model, params: list[dict[str, Any]], position: int, readers: dict[int, int]) -> int | None:
    """The ADD operand position (0 or 1) that is the CONV_2D at `position`'s output, or None."""
    conv, add = model.operators[position], model.operators[position + 1]
    if conv.op != "CONV_2D" or add.op != "ADD" or len(conv.outputs) != 1 or len(add.inputs) != 2:
        return None
    produced = conv.outputs[0]
    if params[position + 1].get("requires_broadcast", True) or produced in model.outputs or readers.get(produced) != 1:
        return None
    if produced not in add.inputs or add.inputs[0] == add.inputs[1]:
        return None
    conv_slot = add.inputs.index(produced)
    other = model.tensors[add.inputs[1 - conv_slot]]
    if other.is_constant or tuple(other.shape) != tuple(model.tensors[produced].shape):
        return None
    if model.tensors[produced].dtype != "int8" or len(conv.inputs) != 3:
        return None
    return conv_slot


def fuse_conv_add(model: Model, params: list[dict[str, Any]]) -> tuple[Model, list[dict[str, Any]]]:
    """The model and params with every fusable CONV_2D + ADD pair made one CONV_2D op."""
    readers = _readers(model)
    operators, fused_params = [], []
    position = 0
    while position < len(model.operators):
        conv_slot = _fusable(model, params, position, readers) if position + 1 < len(model.operators) else None
        if conv_slot is None:
            operators.append(model.operators[position])
            fused_params.append(params[position])
            position += 1
            continue
        conv, add = model.operators[position], model.operators[position + 1]
        shortcut = add.inputs[1 - conv_slot]
        operators.append(dataclasses.replace(conv, inputs=[*conv.inputs, shortcut], outputs=list(add.outputs)))
        fused_params.append({**params[position], "fused_add": dict(params[position + 1]),
                             "fused_conv_is_input2": conv_slot == 1})
        position += 2
    return dataclasses.replace(model, operators=operators), fused_params


def _producers(model: Model) -> dict[int, int]:
    return {index: position for position, operator in enumerate(model.operators) for index in operator.outputs}


def run_shortcuts_early(model: Model, params: list[dict[str, Any]]) -> tuple[Model, list[dict[str, Any]]]:
    """Move an op up to just after the producers of its inputs when it is the last reader of
    an input larger than its own output (a residual block's strided 1x1 shortcut): the big
    input then dies before the block's main branch runs. Only the order of independent ops
    changes (every op still runs after what it reads), so every output is the same."""
    operators, ordered = list(model.operators), list(params)
    position = 0
    while position < len(operators):
        operator = operators[position]
        producers = _producers(dataclasses.replace(model, operators=operators))
        ready = max((producers.get(index, -1) for index in operator.inputs if index >= 0), default=-1)
        last_reader = {index: max(p for p, op in enumerate(operators) if index in op.inputs)
                       for index in operator.inputs if index >= 0 and not model.tensors[index].is_constant}
        frees = any(last == position and model.tensors[index].nbytes > model.tensors[operator.outputs[0]].nbytes
                    for index, last in last_reader.items()) if len(operator.outputs) == 1 else False
        if frees and ready + 1 < position:
            operators.insert(ready + 1, operators.pop(position))
            ordered.insert(ready + 1, ordered.pop(position))
        position += 1
    return dataclasses.replace(model, operators=operators), ordered
