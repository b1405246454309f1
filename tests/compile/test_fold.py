"""kit.compile.fold on hand-built graphs: what is constant is evaluated, plumbing becomes
RESHAPE, a space-to-batch triple becomes a dilated convolution only when it is one, and
anything else is left for the planner to refuse by name."""

from __future__ import annotations

import numpy as np

from kit.compile.fold import fold_model
from kit.compile.tflite import Model, Operator, Quantization, Tensor

Q = Quantization((0.05,), (3,))


class _Graph:
    """Tensors and operators added one by one; `model()` wraps them as a parsed Model."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []

    def tensor(self, shape, dtype="int8", value=None, quantization=Q) -> int:
        data = None if value is None else np.asarray(value, dtype={"int32": "<i4", "int8": "i1"}[dtype]).tobytes()
        index = len(self.tensors)
        self.tensors.append(Tensor(index, f"t{index}", tuple(shape), dtype, index, data,
                                   quantization if dtype == "int8" else None))
        return index

    def op(self, name, inputs, outputs, **options) -> None:
        self.operators.append(Operator(len(self.operators), name, list(inputs), list(outputs), options))

    def model(self, output: int) -> Model:
        return Model(self.tensors, self.operators, [0], [output], "", {}, 3, 1, "0" * 64, 0)


def _flatten_graph() -> tuple[_Graph, int]:
    """What Keras Flatten with an open batch writes: SHAPE, STRIDED_SLICE, PACK, RESHAPE."""
    g = _Graph()
    x = g.tensor((1, 2, 3, 4))
    shape = g.tensor((4,), "int32")
    begin, end, strides = (g.tensor((1,), "int32", v) for v in ([0], [1], [1]))
    batch = g.tensor((), "int32")
    rest = g.tensor((), "int32", 24)
    new_shape = g.tensor((2,), "int32")
    out = g.tensor((1, 24))
    g.op("SHAPE", [x], [shape], out_type=2)
    g.op("STRIDED_SLICE", [shape, begin, end, strides], [batch], begin_mask=0, end_mask=0, ellipsis_mask=0,
         new_axis_mask=0, shrink_axis_mask=1)
    g.op("PACK", [batch, rest], [new_shape], values_count=2, axis=0)
    g.op("RESHAPE", [x, new_shape], [out])
    return g, out


def test_shape_arithmetic_folds_to_a_constant_shape():
    g, out = _flatten_graph()
    folded = fold_model(g.model(out))
    assert folded.op_names == ["RESHAPE"]
    reshape = folded.operators[0]
    assert reshape.index == 3  # original node index kept for messages
    assert folded.tensors[reshape.inputs[1]].array().tolist() == [1, 24]
    assert g.tensors[reshape.inputs[1]].data is None  # the input model is left alone


def test_a_slice_kit_does_not_fold_stays_in_the_graph():
    g, out = _flatten_graph()
    g.operators[1].options["ellipsis_mask"] = 1
    assert fold_model(g.model(out)).op_names == ["STRIDED_SLICE", "PACK", "RESHAPE"]


def test_expand_dims_and_squeeze_become_reshapes():
    g = _Graph()
    x = g.tensor((1, 8, 3))
    axis = g.tensor((), "int32", 1)
    expanded, squeezed = g.tensor((1, 1, 8, 3)), g.tensor((1, 8, 3))
    g.op("EXPAND_DIMS", [x, axis], [expanded])
    g.op("SQUEEZE", [expanded], [squeezed], squeeze_dims=[1])
    folded = fold_model(g.model(squeezed))
    assert folded.op_names == ["RESHAPE", "RESHAPE"]
    assert [op.inputs for op in folded.operators] == [[x], [expanded]]


def _dilated_graph(crops) -> tuple[_Graph, int]:
    """SPACE_TO_BATCH_ND (block 2, no padding) -> VALID CONV_2D 3x3 -> BATCH_TO_SPACE_ND on 12x12."""
    g = _Graph()
    x = g.tensor((1, 12, 12, 3))
    block = g.tensor((2,), "int32", [2, 2])
    paddings = g.tensor((2, 2), "int32", [[0, 0], [0, 0]])
    crop = g.tensor((2, 2), "int32", crops)
    batched = g.tensor((4, 6, 6, 3))
    weights = g.tensor((4, 3, 3, 3), value=np.ones((4, 3, 3, 3)), quantization=Quantization((0.1,), (0,)))
    conv_out = g.tensor((4, 4, 4, 4), quantization=Quantization((0.2,), (-1,)))
    out = g.tensor((1, 8 - sum(crops[0]), 8 - sum(crops[1]), 4), quantization=Quantization((0.2,), (-1,)))
    g.op("SPACE_TO_BATCH_ND", [x, block, paddings], [batched])
    g.op("CONV_2D", [x + 4, weights], [conv_out], padding="VALID", stride_h=1, stride_w=1,
         dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="NONE")
    g.op("BATCH_TO_SPACE_ND", [conv_out, block, crop], [out])
    return g, out


def test_space_to_batch_around_a_convolution_is_a_dilated_convolution():
    g, out = _dilated_graph([[0, 0], [0, 0]])
    folded = fold_model(g.model(out))
    assert folded.op_names == ["CONV_2D"]
    conv = folded.operators[0]
    assert conv.inputs[0] == 0 and conv.outputs == [out]
    assert (conv.options["dilation_h_factor"], conv.options["dilation_w_factor"], conv.options["padding"]) == (2, 2, "VALID")


def test_crops_that_match_no_padding_are_not_folded():
    g, out = _dilated_graph([[1, 0], [0, 0]])  # a leading pad of -1: no SAME or VALID gives it
    assert fold_model(g.model(out)).op_names == ["SPACE_TO_BATCH_ND", "CONV_2D", "BATCH_TO_SPACE_ND"]


def test_a_reshape_whose_shape_operand_contradicts_the_file_is_refused_with_a_hint():
    """Open-batch UpSampling2D files carry placeholder shapes kit cannot plan from."""
    import pytest

    from kit.compile.planner import build_plan
    from kit.errors import ModelError

    g = _Graph()
    x = g.tensor((1, 2, 3, 4))
    new_shape = g.tensor((2,), "int32", [1, 24])
    out = g.tensor((1, 12, 2))
    g.op("RESHAPE", [x, new_shape], [out])
    with pytest.raises(ModelError, match=r"shape operand \[1, 24\] contradicts the file's shape \[1, 12, 2\]") as raised:
        build_plan(g.model(out))
    assert "batch_size=1" in raised.value.hint
