"""The static execution plan: the hand-off from kit's compiler to the C emitter (emit_c.py).

Everything a kernel needs is resolved here on the host, exactly as TensorFlow Lite Micro
resolves it in its Prepare() functions, so the C runtime never parses a flatbuffer, never
computes a multiplier and never allocates. Shapes, scales and zero points live on the
tensors; `OpPlan.params` holds what TFLM keeps in its per-op parameter structs.

Conventions shared by every op
------------------------------
* Activations are int8, NHWC, batch first. Constant tensors (weights, biases, shape
  operands) have `offset=None` and their bytes in `data` (little endian, as in the
  .tflite). Non-constant tensors have `offset` (byte offset in the arena) and `data=None`.
* `inputs` / `outputs` are tensor indices into `Plan.tensors`; -1 marks an optional
  input that is absent (e.g. a convolution without bias).
* Multipliers are Q31 int32 values; shifts follow TFLM's sign convention (positive =
  left shift) and are applied with TFLM's MultiplyByQuantizedMultiplier.
* `activation_min` / `activation_max` are the clamp bounds in the output's int8 domain
  (TFLM's CalculateActivationRangeQuantized for the fused activation).
* `input_offset` = -input zero point, `output_offset` = +output zero point,
  `weights_offset` = -filter zero point (0 for symmetric int8 weights).

Per-op params (keys of `OpPlan.params`)
--------------------------------------
CONV_2D            inputs (input, filter [out_c,kh,kw,in_c/groups], bias int32 or -1)
    stride_h, stride_w, dilation_h, dilation_w, padding_h, padding_w (top/left pad, as
    TFLM's ComputePaddingHeightWidth), padding_h_offset, padding_w_offset (only
    informative), input_offset, output_offset, output_multiplier: list[int] (one per
    output channel), output_shift: list[int], activation_min, activation_max,
    groups (in_c / filter in_c; 1 for ordinary convolutions), scratch_offset / scratch_bytes
    (the arena bytes the kernel's fast path may use during the op: kit.compile.scratch; absent
    or 0 bytes: none, the kernel takes its general path). With an ADD fused in
    (kit.compile.fuse): a fourth input (the ADD's other operand, the shortcut), fused_add (the
    ADD's params, below) and fused_conv_is_input2 (the convolution is the ADD's second operand).
DEPTHWISE_CONV_2D  inputs (input, filter [1,kh,kw,out_c], bias or -1)
    the CONV_2D keys except groups and fused_*, plus depth_multiplier (out_c / in_c).
FULLY_CONNECTED    inputs (input, filter [units, depth], bias or -1)
    input_offset, weights_offset, output_offset, output_multiplier: list[int],
    output_shift: list[int] (length 1 when weights are per-tensor, `units` when
    per-channel), per_channel: bool, activation_min, activation_max, batches
    (= input elements / depth), accum_depth (= depth), output_depth (= units).
AVERAGE_POOL_2D / MAX_POOL_2D  inputs (input)
    stride_h, stride_w, filter_h, filter_w, padding_h, padding_w, activation_min,
    activation_max. (TFLM requires equal input/output quantization: checked.)
ADD                inputs (input1, input2)
    left_shift (20), input1_offset, input2_offset, output_offset, input1_multiplier,
    input1_shift, input2_multiplier, input2_shift, output_multiplier, output_shift,
    activation_min, activation_max, requires_broadcast: bool,
    input1_shape4, input2_shape4, output_shape4 (shapes extended to 4-D with leading 1s).
MUL                inputs (input1, input2)
    input1_offset, input2_offset, output_offset, output_multiplier, output_shift,
    activation_min, activation_max, requires_broadcast, input1_shape4, input2_shape4,
    output_shape4.
RESHAPE            inputs (input[, shape]) -> output; a byte copy (quantization untouched). `aliased: bool` is True
    when the memory planner placed the output on the input's bytes (then a no-op).
SOFTMAX            inputs (input)   (output scale 1/256, zero point -128: checked)
    input_multiplier, input_left_shift, diff_min, depth (last dim), outer_size.
LOGISTIC           inputs (input)   (output scale 1/256, zero point -128: checked)
    input_zero_point, input_range_radius, input_multiplier, input_left_shift,
    output_zero_point, size (element count).
MEAN               inputs (input, axis const)   (at most 2 reduced axes, as TFLM)
    axes: list[int] (normalised, sorted), keep_dims: bool, input_zero_point,
    output_zero_point, input_shape, output_shape, num_elements_in_axis (count of
    reduced elements per output), output_multiplier, output_shift
    (QuantizeMultiplier(in_scale / out_scale), as TFLM's Prepare).
    The runtime follows the pinned tflite-micro wheel's integer QuantizedMeanOrSum: per
    output element an int32 sum of its input slice, minus input_zero_point * count, then
    one MultiplyByQuantizedMultiplier whose multiplier/shift already fold in 1/count
    (emit_c does the folding; checked bit-exact), plus output_zero_point, clamped to int8.
    One pass per output element, so no scratch buffer.
PAD                inputs (input, paddings const)   (a third constant_values input is refused)
    paddings: list[[before, after]] per dim (extended to 4-D), pad_value (int8: the
    output zero point), input_shape4, output_shape4.
CONCATENATION      inputs (input0, input1, ...)
    axis (normalised), outer_size, copy_sizes: list[int] (bytes per outer step for
    every input, = input dim[axis] * inner size). Inputs and output share scale/zp
    (checked), so this is a byte copy.
QUANTIZE           inputs (input int8) -> output int8 (requantize)
    input_zero_point, output_zero_point, output_multiplier, output_shift, size.
DEQUANTIZE         inputs (input int8) -> output float32 (only as the model output)
    zero_point, scale (float32 value), size. TFLM: out = (float)((double)scale * (x - zp)).
RELU               inputs (input)   (TFLM ReluQuantized)
    input_zero_point, output_zero_point, identity_multiplier, identity_shift
    (QuantizeMultiplier(double(in) / double(out))), activation_min (output zero point),
    activation_max (127), size.
RELU6              inputs (input)   (TFLM Relu6Quantized: no rescaling, the output quantization is ignored)
    lower (input zero point), upper (quantized 6.0, saturated to int8), size.
LEAKY_RELU         inputs (input)   (TFLM QuantizeLeakyRelu)
    the RELU keys plus alpha_multiplier, alpha_shift (QuantizeMultiplier(float(in * alpha / out)));
    identity_* from float(in / out); activation_min/max -128/127.
HARD_SWISH         inputs (input)   (TFLM HardSwishPrepare, 16-bit fixed point)
    input_zero_point, output_zero_point, output_multiplier / output_exponent and
    reluish_multiplier / reluish_exponent (int16 multipliers of (in/128)/out and
    (in/128)/(3/32768)), size. Exponents below -15 are refused.
TRANSPOSE          inputs (input, perm const)   (up to 6 dims; in/out quantization equal, checked)
    perm, output_shape, input_stride (the input stride of dim perm[d], per output dim d).

TANH               inputs (input)   (output scale 1/128, zero point 0: checked)
    the LOGISTIC keys (TFLM's int8 TANH shares LOGISTIC's Q4.27 input rescaling).

RESIZE_NEAREST_NEIGHBOR  inputs (input, size const)   (in/out quantization equal, checked)
    y_map, x_map: the source row / column of every output row / column (TFLM's float32
    GetNearestNeighbor with align_corners / half_pixel_centers, evaluated on the host).
RESIZE_BILINEAR    inputs (input, size const)   (in/out quantization equal, checked)
    height_scale_10, width_scale_10 (input / output size in 1/1024, TFLM's rounding),
    half_pixel_centers; the kernel is TFLM's integer ResizeBilinearInteger.
TILE               inputs (input, multiples const)   (up to 6 dims; in/out quantization equal, checked)
    input_shape, output_shape, input_stride. TFLM has no TILE; TensorFlow Lite's is a copy.
TRANSPOSE_CONV     inputs (output shape const, filter [out_c,kh,kw,in_c], input, bias int32 or -1)
    stride_h, stride_w, padding_h, padding_w (TFLM's ComputePaddingHeightWidth from the output
    size), input_offset, output_offset, output_multiplier / output_shift per channel,
    activation_min, activation_max. The kernel gathers TFLM's scattered sums (no scratch).

SUB                inputs (input1, input2)   (TFLM CalculateOpDataSub = ADD's rescaling)
    the ADD keys; the kernel subtracts the rescaled second input instead of adding it.
SUM                inputs (input, axis const)   (TFLM int8 SUM: MEAN's integer path)
    the MEAN keys plus compute_sum; emit_c keeps QuantizeMultiplier(in / out) (no 1/count).
MAXIMUM / MINIMUM  inputs (input1, input2)   (TFLM MaximumMinimumBroadcastSlow)
    the broadcast shapes only (input1_shape4, input2_shape4, output_shape4,
    requires_broadcast): raw int8 values are compared, no rescaling.
PRELU              inputs (input, alpha)   (TFLM CalculatePreluParams, BroadcastPrelu4DSlow)
    the binary keys: input1_offset / input2_offset = -zero points of input and alpha,
    input1_multiplier/shift = in / out (x >= 0), input2_multiplier/shift = in * alpha / out
    (x < 0, times the offset alpha), broadcast shapes; alpha is one per channel or per element.
RELU_N1_TO_1       inputs (input)   (no TFLM kernel: TensorFlow Lite's ReluPrepare + QuantizedReluX)
    the RELU keys: identity multiplier of the float32 quotient in / out, activation_min / max
    = out_zp + roundf(-1 / out_scale) / roundf(1 / out_scale), clamped to int8.

Reordered and fused after resolving (kit.compile.fuse): an op that is the last reader of an
input larger than its output runs right after its inputs' producers (a residual block's
strided shortcut), and a CONV_2D directly followed by the only ADD reading it becomes one
CONV_2D (above), so a plan may hold fewer ops, in another order, than the .tflite.

Folded before planning (kit.compile.fold, never in a plan): SHAPE, STRIDED_SLICE, PACK and
CONCATENATION / TRANSPOSE / RESHAPE of constants become constant tensors; EXPAND_DIMS and
SQUEEZE become RESHAPE; SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND
becomes one dilated convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kit.compile.ops import OP_NAMES

SUPPORTED_OPS: tuple[str, ...] = OP_NAMES  # the ops kit runs, in runtime enum order (kit.compile.ops)

ARENA_ALIGNMENT = 16


@dataclass
class TensorPlan:
    """One tensor: where it lives (arena offset or const data) and how it is quantized."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8", "int32", "float32", "int64", "int16", "uint8"
    scale: list[float]  # one entry per channel when per-channel, else one (empty: none)
    zero_point: list[int]
    quantized_dimension: int
    offset: int | None  # arena byte offset (non-constant tensors); None for constants
    data: bytes | None  # constant bytes; None for arena tensors
    nbytes: int

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass
class OpPlan:
    """One operator in execution order with TFLM-resolved parameters (see module doc)."""

    index: int
    op: str
    inputs: list[int]
    outputs: list[int]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """A whole model: tensors, ops in order, one input, one output, one arena."""

    tensors: list[TensorPlan]
    ops: list[OpPlan]
    input_index: int
    output_index: int
    arena_bytes: int
    model_sha256: str
    model_id: str

    @property
    def input(self) -> TensorPlan:
        return self.tensors[self.input_index]

    @property
    def output(self) -> TensorPlan:
        return self.tensors[self.output_index]

    @property
    def weight_bytes(self) -> int:
        """Bytes of constant data (weights, biases, shape operands) that go to flash."""
        return sum(t.nbytes for t in self.tensors if t.is_constant)
