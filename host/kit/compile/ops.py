"""The ops kit runs: one registry entry per op, from which every op list in host/kit is derived.

An op crosses five places on its way from a .tflite to the device: the reader (which options
table to default), the planner (which function checks it and resolves TFLM's parameters), the
C emitter (which method writes its params struct, which constant inputs the kernel reads),
the trainer's op check, and the C runtime (enum value, kernel function, kernel file). Like
TFLM's op resolver, which maps a BuiltinOperator to one registration, kit keeps one entry per
op here; the runtime's own list is the `KIT_OPS(X)` X-macro in
firmware/runtime/include/kit_runtime.h, and tests/compile/test_op_registry.py checks that
both list the same ops in the same order with the same kernels.

Naming is fixed so the two sides need no table between them: an op named N (its TFLite
builtin name, which is also what `kit_model_op_name` reports) has the C enum `KIT_OP_<N>` and
the kernel `kit_op_<n>` (n = N in lower case) in `firmware/runtime/kernels/<kernel_file>`.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNTIME_HEADER = "firmware/runtime/include/kit_runtime.h"  # holds KIT_OPS(X), the C list
KERNELS_DIR = "firmware/runtime/kernels"


@dataclass(frozen=True)
class OpSpec:
    """Everything host and runtime need to know about one op, so adding an op is one entry."""

    name: str  # TFLite builtin operator name (schema BuiltinOperator); kit_model_op_name reports it
    builtin_code: int  # its BuiltinOperator code, as stored in a .tflite's operator codes
    kernel_file: str  # the file in firmware/runtime/kernels/ that defines `kernel`
    planner: str  # function of kit.compile.planner that checks the op and resolves its params
    emitter: str  # method of kit.compile.emit_c._OpEmitter that writes its params struct
    inputs: tuple[int, int | None]  # (fewest, most) inputs; most None: no upper bound
    padded_inputs: int = 0  # optional trailing inputs (the conv family's bias) may be left out of
    #                         the file; the planner pads them with -1 up to this count
    kernel_inputs: int | None = None  # leading inputs the kernel reads (None: all); the planner
    #                                   resolves the rest (shape, axis, paddings) on the host
    options: str | None = None  # schema options class whose defaults apply when a converter
    #                             leaves the options table out (None: kit reads no options)

    @property
    def c_enum(self) -> str:
        """The runtime's enum constant for this op (kit_op_type_t)."""
        return f"KIT_OP_{self.name}"

    @property
    def kernel(self) -> str:
        """The runtime's kernel function (kit_kernel_fn signature, declared in kit_kernels.h)."""
        return f"kit_op_{self.name.lower()}"


# In runtime enum order: entry i is kit_op_type_t value i (the order of KIT_OPS in C).
OPS: tuple[OpSpec, ...] = (
    OpSpec("CONV_2D", 3, "conv_2d.c", "_resolve_conv", "op_conv_2d", (2, 3), padded_inputs=3,
           options="Conv2DOptionsT"),
    OpSpec("DEPTHWISE_CONV_2D", 4, "depthwise_conv_2d.c", "_resolve_depthwise", "op_depthwise_conv_2d", (2, 3),
           padded_inputs=3, options="DepthwiseConv2DOptionsT"),
    OpSpec("FULLY_CONNECTED", 9, "fully_connected.c", "_resolve_fully_connected", "op_fully_connected", (2, 3),
           padded_inputs=3, options="FullyConnectedOptionsT"),
    OpSpec("AVERAGE_POOL_2D", 1, "pooling.c", "_resolve_pool", "op_pool", (1, 1), options="Pool2DOptionsT"),
    OpSpec("MAX_POOL_2D", 17, "pooling.c", "_resolve_pool", "op_pool", (1, 1), options="Pool2DOptionsT"),
    OpSpec("ADD", 0, "add.c", "_resolve_add", "op_binary", (2, 2), options="AddOptionsT"),
    OpSpec("RESHAPE", 22, "reshape.c", "_resolve_reshape", "op_reshape", (1, 2), kernel_inputs=1,
           options="ReshapeOptionsT"),
    OpSpec("SOFTMAX", 25, "softmax.c", "_resolve_softmax", "op_softmax", (1, 1), options="SoftmaxOptionsT"),
    OpSpec("MEAN", 40, "mean.c", "_resolve_mean", "op_mean", (2, 2), kernel_inputs=1, options="ReducerOptionsT"),
    OpSpec("PAD", 34, "pad.c", "_resolve_pad", "op_pad", (2, 3), kernel_inputs=1),
    OpSpec("CONCATENATION", 2, "concatenation.c", "_resolve_concatenation", "op_concatenation", (1, None),
           options="ConcatenationOptionsT"),
    OpSpec("MUL", 18, "mul.c", "_resolve_mul", "op_binary", (2, 2), options="MulOptionsT"),
    OpSpec("LOGISTIC", 14, "logistic.c", "_resolve_logistic", "op_logistic", (1, 1)),
    OpSpec("QUANTIZE", 114, "quantize.c", "_resolve_quantize", "op_quantize", (1, 1)),
    OpSpec("DEQUANTIZE", 6, "quantize.c", "_resolve_dequantize", "op_dequantize", (1, 1)),
    OpSpec("RELU", 19, "activations.c", "_resolve_relu", "op_relu", (1, 1)),
    OpSpec("RELU6", 21, "activations.c", "_resolve_relu6", "op_relu6", (1, 1)),
    OpSpec("LEAKY_RELU", 98, "activations.c", "_resolve_leaky_relu", "op_leaky_relu", (1, 1),
           options="LeakyReluOptionsT"),
    OpSpec("HARD_SWISH", 117, "hard_swish.c", "_resolve_hard_swish", "op_hard_swish", (1, 1)),
    OpSpec("TRANSPOSE", 39, "transpose.c", "_resolve_transpose", "op_transpose", (2, 2), kernel_inputs=1),
    OpSpec("TANH", 28, "tanh.c", "_resolve_tanh", "op_tanh", (1, 1)),
    OpSpec("RESIZE_NEAREST_NEIGHBOR", 97, "resize.c", "_resolve_resize_nearest_neighbor",
           "op_resize_nearest_neighbor", (2, 2), kernel_inputs=1, options="ResizeNearestNeighborOptionsT"),
    OpSpec("RESIZE_BILINEAR", 23, "resize.c", "_resolve_resize_bilinear", "op_resize_bilinear", (2, 2),
           kernel_inputs=1, options="ResizeBilinearOptionsT"),
    OpSpec("TILE", 69, "tile.c", "_resolve_tile", "op_tile", (2, 2), kernel_inputs=1),
    OpSpec("TRANSPOSE_CONV", 67, "transpose_conv.c", "_resolve_transpose_conv", "op_transpose_conv", (3, 4),
           padded_inputs=4, options="TransposeConvOptionsT"),
    OpSpec("SUB", 41, "add.c", "_resolve_sub", "op_binary", (2, 2), options="SubOptionsT"),
    OpSpec("MAXIMUM", 55, "maximum_minimum.c", "_resolve_maximum_minimum", "op_binary", (2, 2)),
    OpSpec("MINIMUM", 57, "maximum_minimum.c", "_resolve_maximum_minimum", "op_binary", (2, 2)),
    OpSpec("SUM", 74, "mean.c", "_resolve_sum", "op_mean", (2, 2), kernel_inputs=1, options="ReducerOptionsT"),
    OpSpec("STRIDED_SLICE", 45, "transpose.c", "_resolve_strided_slice", "op_transpose", (4, 4), kernel_inputs=1,
           options="StridedSliceOptionsT"),
    OpSpec("SLICE", 65, "transpose.c", "_resolve_slice", "op_transpose", (3, 3), kernel_inputs=1),
    OpSpec("PRELU", 54, "prelu.c", "_resolve_prelu", "op_binary", (2, 2)),
    OpSpec("RELU_N1_TO_1", 20, "activations.c", "_resolve_relu_n1_to_1", "op_relu", (1, 1)),
)

OP_NAMES: tuple[str, ...] = tuple(spec.name for spec in OPS)
OPS_BY_NAME: dict[str, OpSpec] = {spec.name: spec for spec in OPS}
