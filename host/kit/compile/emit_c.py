"""kit's ahead-of-time emitter: a compiled `Plan` becomes `kit_model.h` / `kit_model.c`.

The generated C is plain data for the runtime in `firmware/runtime/` (structs declared in
`kit_runtime.h`): weights and biases as aligned const arrays (flash), one params struct per
op with every multiplier already resolved, every tensor's arena offset, and one
`const kit_model_t kit_model`. Nothing in it runs code, so it cannot disagree with the
runtime about arithmetic; it can only disagree about layout, which the bit-exact tests catch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kit.compile.ops import OP_NAMES, OPS, OPS_BY_NAME, OpSpec
from kit.compile.plan import OpPlan, Plan, TensorPlan
from kit.errors import ModelError

RUNTIME_VERSION = 1  # must match KIT_RUNTIME_VERSION in kit_runtime.h

C_TYPES: dict[str, str] = {
    "int8": "KIT_TYPE_INT8",
    "int32": "KIT_TYPE_INT32",
    "float32": "KIT_TYPE_FLOAT32",
    "int16": "KIT_TYPE_INT16",
    "uint8": "KIT_TYPE_UINT8",
    "int64": "KIT_TYPE_INT64",
}

# How constant bytes are written: element C type and numpy dtype (little endian in .tflite).
_CONST_ELEMENT: dict[str, tuple[str, str]] = {
    "int8": ("int8_t", "i1"),
    "int32": ("int32_t", "<i4"),
    "int16": ("int16_t", "<i2"),
    "uint8": ("uint8_t", "u1"),
}

_HEADER_NAME = "kit_model.h"
_SOURCE_NAME = "kit_model.c"


@dataclass
class _Emitted:
    """C text pieces collected while walking the plan."""

    constants: list[str]
    params: list[str]
    ops: list[str]


def _c_string(text: str) -> str:
    safe = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in text)
    return f'"{safe}"'


def _float_literal(value: float) -> str:
    """Exact C literal of a float32 value (hex float, so no decimal round trip)."""
    return float(np.float32(value)).hex() + "f"


def _double_literal(value: float) -> str:
    return float(value).hex()


def _int_list(values: Iterable[int], per_line: int = 16) -> str:
    items = [str(int(v)) for v in values]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines) if lines else "0"


def _shape4(shape: Sequence[int]) -> tuple[int, int, int, int]:
    """Extend a shape to 4-D with leading 1s (TFLM's RuntimeShape::ExtendedShape)."""
    dims = [int(d) for d in shape]
    if len(dims) > 4:
        raise ModelError(
            f"a tensor of rank {len(dims)} cannot be run by kit's runtime (4-D at most)",
            "reshape the model so that activations have at most 4 dimensions",
        )
    dims = [1] * (4 - len(dims)) + dims
    return dims[0], dims[1], dims[2], dims[3]


def _shape4_init(shape: Sequence[int]) -> str:
    n, h, w, c = _shape4(shape)
    return f"{{{n}, {h}, {w}, {c}}}"


def _mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """Fold the division by the element count into the requantization multiplier, the way
    TFLM's integer QuantizedMeanOrSum does (checked bit-exact against the tflite-micro
    interpreter): scale the Q31 multiplier up by 2^k, divide by count (truncating), and
    lower the shift by k, with k = floor(log2(count)) clamped to 32 and to 31 + shift."""
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << k) // count, shift - k


def interleave_fc_weights(weights: np.ndarray) -> np.ndarray:
    """FULLY_CONNECTED weights [units, depth] in the order kit_mat_1x4_blocked reads them:
    per block of 4 units, the 4 rows' bytes k..k+3 one after the other for each k = 0, 4,
    ...; then the 4 rows' last depth % 4 bytes, row by row. Units past the last full block
    keep their rows. Same bytes, so the same size in flash."""
    units, depth = weights.shape
    full, k4 = units // 4 * 4, depth // 4 * 4
    if full == 0:
        return weights.reshape(-1)
    blocks = weights[:full].reshape(-1, 4, depth)
    # explicit sizes: numpy cannot infer a -1 from an empty head (depth < 4)
    head = blocks[:, :, :k4].reshape(len(blocks), 4, k4 // 4, 4).transpose(0, 2, 1, 3).reshape(len(blocks), 4 * k4)
    tail = blocks[:, :, k4:].reshape(len(blocks), -1)
    return np.concatenate([np.concatenate([head, tail], axis=1).reshape(-1), weights[full:].reshape(-1)])


def _fc_weight_layouts(plan: Plan) -> dict[int, bytes]:
    """Constant FULLY_CONNECTED filters to store interleaved (interleave_fc_weights): those
    with symmetric weights that no other kind of operand reads. Their ops get a kernel_bias,
    which is what tells the runtime the layout."""
    layouts: dict[int, bytes] = {}
    other_uses = {i for op in plan.ops for pos, i in enumerate(op.inputs) if op.op != "FULLY_CONNECTED" or pos != 1}
    for op in plan.ops:
        if op.op != "FULLY_CONNECTED" or len(op.inputs) < 2 or op.params.get("weights_offset", 0) != 0:
            continue
        tensor = plan.tensors[op.inputs[1]]
        if tensor.data is None or tensor.index in other_uses or tensor.dtype != "int8":
            continue
        weights = np.frombuffer(tensor.data, dtype=np.int8).reshape(int(op.params["output_depth"]), -1)
        layouts[tensor.index] = interleave_fc_weights(weights).tobytes()
    return layouts


def _const_array(tensor: TensorPlan, data: bytes | None = None) -> str:
    """A const array in flash, 16-byte aligned so kernels may read words. `data` replaces
    the tensor's bytes when the kernels read a reordered layout."""
    assert tensor.data is not None
    c_type, np_type = _CONST_ELEMENT.get(tensor.dtype, ("uint8_t", "u1"))
    values = np.frombuffer(tensor.data if data is None else data, dtype=np.dtype(np_type))
    body = _int_list(values.tolist())
    return (
        f"/* tensor {tensor.index}: {tensor.name[:60].replace('*/', '')} {list(tensor.shape)} {tensor.dtype} */\n"
        f"static const {c_type} kit_const_{tensor.index}[{max(len(values), 1)}] KIT_ALIGN16 = {{\n    {body}\n}};\n"
    )


def _check_multipliers(op: OpPlan, multipliers: Sequence[int]) -> None:
    """The kernels' branch-free requantization (kit_requantize) needs Q31 multipliers other
    than INT32_MIN; TFLM's QuantizeMultiplier never makes one, so this only stops a bad plan."""
    if any(int(m) == -(2**31) for m in multipliers):
        raise ModelError(
            f"op {op.op} (node {op.index}) has a requantization multiplier of -2^31",
            "re-quantize the model with TFLite's converter (multipliers lie in [2^30, 2^31))",
        )


class _OpEmitter:
    """Turns one OpPlan into its params struct; one method per op family."""

    def __init__(self, plan: Plan, out: _Emitted, fc_layouts: dict[int, bytes] | None = None) -> None:
        self.plan = plan
        self.out = out
        self.fc_layouts = fc_layouts or {}

    def tensor(self, index: int) -> TensorPlan:
        return self.plan.tensors[index]

    def int_array(self, name: str, values: Sequence[int]) -> str:
        self.out.params.append(
            f"static const int32_t {name}[{max(len(values), 1)}] = {{\n    {_int_list(values)}\n}};\n"
        )
        return name

    def struct(self, c_type: str, name: str, fields: dict[str, Any]) -> str:
        body = ",\n".join(f"    .{key} = {value}" for key, value in fields.items())
        self.out.params.append(f"static const {c_type} {name} = {{\n{body}\n}};\n")
        return name

    def emit(self, op: OpPlan) -> str:
        """The op's params struct (its name); `_check_plan` has refused ops kit does not run."""
        return _EMITTERS[op.op](self, op, f"kit_params_{op.index}")

    def kernel_bias(self, op: OpPlan, name: str, rows: int, taps_axis_last: bool) -> str:
        """bias + input_offset * sum(filter) per output channel, wrapped to int32 as the
        kernels' int32 sums wrap: the fast kernels add raw int8 products to it and give
        TFLM's sums bit for bit. `taps_axis_last`: DEPTHWISE filters are [1, kh, kw, c]."""
        filter_data = self.tensor(op.inputs[1]).data
        if filter_data is None:
            return "NULL"
        weights = np.frombuffer(filter_data, dtype=np.int8).astype(np.int64)
        sums = weights.reshape(-1, rows).sum(axis=0) if taps_axis_last else weights.reshape(rows, -1).sum(axis=1)
        bias = np.zeros(rows, dtype=np.int64)
        if len(op.inputs) > 2 and op.inputs[2] >= 0 and self.tensor(op.inputs[2]).data is not None:
            bias = np.frombuffer(self.tensor(op.inputs[2]).data, dtype="<i4").astype(np.int64)
        folded = (bias + int(op.params["input_offset"]) * sums + 2**31) % 2**32 - 2**31
        return self.int_array(name + "_kernel_bias", folded.tolist())

    def _conv_fields(self, op: OpPlan, name: str) -> dict[str, Any]:
        p = op.params
        _check_multipliers(op, p["output_multiplier"])
        out_shape = self.tensor(op.outputs[0]).shape
        multipliers = list(p["output_multiplier"])
        shifts = list(p["output_shift"])
        channels = _shape4(out_shape)[3]
        if len(multipliers) == 1 and channels > 1:  # per-tensor: TFLM replicates per channel
            multipliers, shifts = multipliers * channels, shifts * channels
        return {
            "input": _shape4_init(self.tensor(op.inputs[0]).shape),
            "filter": _shape4_init(self.tensor(op.inputs[1]).shape),
            "output": _shape4_init(out_shape),
            "stride_h": p["stride_h"],
            "stride_w": p["stride_w"],
            "dilation_h": p["dilation_h"],
            "dilation_w": p["dilation_w"],
            "pad_h": p["padding_h"],
            "pad_w": p["padding_w"],
            "depth_multiplier": p.get("depth_multiplier", 1),
            "input_offset": p["input_offset"],
            "output_offset": p["output_offset"],
            "activation_min": p["activation_min"],
            "activation_max": p["activation_max"],
            "output_multiplier": self.int_array(name + "_multiplier", multipliers),
            "output_shift": self.int_array(name + "_shift", shifts),
            "scratch_offset": p.get("scratch_offset", 0),
            "scratch_bytes": p.get("scratch_bytes", 0),
        }

    def op_conv_2d(self, op: OpPlan, name: str) -> str:
        fields = self._conv_fields(op, name)
        in_c = _shape4(self.tensor(op.inputs[0]).shape)[3]
        filter_shape = _shape4(self.tensor(op.inputs[1]).shape)
        if filter_shape[3] == in_c:  # not grouped: the im2col kernel applies
            fields["kernel_bias"] = self.kernel_bias(op, name, filter_shape[0], taps_axis_last=False)
        if "fused_add" in op.params:  # kit.compile.fuse: inputs (input, filter, bias, shortcut)
            conv_is_input2 = bool(op.params["fused_conv_is_input2"])
            operands = [op.inputs[3], op.outputs[0]] if conv_is_input2 else [op.outputs[0], op.inputs[3]]
            add = OpPlan(index=op.index, op="ADD", inputs=operands, outputs=list(op.outputs),
                         params=op.params["fused_add"])
            fields.update(fused_add="&" + self.op_binary(add, name + "_add"), fused_add_input=op.inputs[3],
                          fused_conv_is_input2=int(conv_is_input2))
        return self.struct("kit_conv_params_t", name, fields)

    def op_depthwise_conv_2d(self, op: OpPlan, name: str) -> str:
        fields = self._conv_fields(op, name)
        channels = _shape4(self.tensor(op.outputs[0]).shape)[3]
        fields["kernel_bias"] = self.kernel_bias(op, name, channels, taps_axis_last=True)
        return self.struct("kit_conv_params_t", name, fields)

    def op_transpose_conv(self, op: OpPlan, name: str) -> str:
        p = op.params
        _check_multipliers(op, p["output_multiplier"])
        out_shape = self.tensor(op.outputs[0]).shape
        channels = _shape4(out_shape)[3]
        multipliers, shifts = list(p["output_multiplier"]), list(p["output_shift"])
        if len(multipliers) == 1 and channels > 1:  # per-tensor: TFLM replicates per channel
            multipliers, shifts = multipliers * channels, shifts * channels
        return self.struct("kit_conv_params_t", name, {
            "input": _shape4_init(self.tensor(op.inputs[2]).shape),
            "filter": _shape4_init(self.tensor(op.inputs[1]).shape),
            "output": _shape4_init(out_shape),
            "stride_h": p["stride_h"],
            "stride_w": p["stride_w"],
            "dilation_h": 1,
            "dilation_w": 1,
            "pad_h": p["padding_h"],
            "pad_w": p["padding_w"],
            "depth_multiplier": 1,
            "input_offset": p["input_offset"],
            "output_offset": p["output_offset"],
            "activation_min": p["activation_min"],
            "activation_max": p["activation_max"],
            "output_multiplier": self.int_array(name + "_multiplier", multipliers),
            "output_shift": self.int_array(name + "_shift", shifts),
            "kernel_bias": "NULL",
        })

    def op_fully_connected(self, op: OpPlan, name: str) -> str:
        p = op.params
        return self.struct(
            "kit_fc_params_t",
            name,
            {
                "batches": p["batches"],
                "accum_depth": p["accum_depth"],
                "output_depth": p["output_depth"],
                "input_offset": p["input_offset"],
                "weights_offset": p.get("weights_offset", 0),
                "output_offset": p["output_offset"],
                "activation_min": p["activation_min"],
                "activation_max": p["activation_max"],
                "per_channel": 1 if len(p["output_multiplier"]) > 1 else 0,
                "output_multiplier": self.int_array(name + "_multiplier", p["output_multiplier"]),
                "output_shift": self.int_array(name + "_shift", p["output_shift"]),
                "kernel_bias": self.kernel_bias(op, name, p["output_depth"], taps_axis_last=False)
                if op.inputs[1] in self.fc_layouts else "NULL",
            },
        )

    def op_pool(self, op: OpPlan, name: str) -> str:
        """AVERAGE_POOL_2D and MAX_POOL_2D."""
        p = op.params
        return self.struct(
            "kit_pool_params_t",
            name,
            {
                "input": _shape4_init(self.tensor(op.inputs[0]).shape),
                "output": _shape4_init(self.tensor(op.outputs[0]).shape),
                "stride_h": p["stride_h"],
                "stride_w": p["stride_w"],
                "filter_h": p["filter_h"],
                "filter_w": p["filter_w"],
                "pad_h": p["padding_h"],
                "pad_w": p["padding_w"],
                "activation_min": p["activation_min"],
                "activation_max": p["activation_max"],
            },
        )

    def op_binary(self, op: OpPlan, name: str) -> str:
        """ADD, SUB, MUL, MAXIMUM and MINIMUM (one params struct)."""
        p = op.params
        return self.struct(
            "kit_binary_params_t",
            name,
            {
                "input1": _shape4_init(p.get("input1_shape4", self.tensor(op.inputs[0]).shape)),
                "input2": _shape4_init(p.get("input2_shape4", self.tensor(op.inputs[1]).shape)),
                "output": _shape4_init(p.get("output_shape4", self.tensor(op.outputs[0]).shape)),
                "requires_broadcast": int(bool(p.get("requires_broadcast", False))),
                "left_shift": p.get("left_shift", 0),
                "input1_offset": p["input1_offset"],
                "input2_offset": p["input2_offset"],
                "output_offset": p["output_offset"],
                "input1_multiplier": p.get("input1_multiplier", 0),
                "input1_shift": p.get("input1_shift", 0),
                "input2_multiplier": p.get("input2_multiplier", 0),
                "input2_shift": p.get("input2_shift", 0),
                "output_multiplier": p["output_multiplier"],
                "output_shift": p["output_shift"],
                "activation_min": p["activation_min"],
                "activation_max": p["activation_max"],
            },
        )

    def op_reshape(self, op: OpPlan, name: str) -> str:
        source = self.tensor(op.inputs[0])
        target = self.tensor(op.outputs[0])
        aliased = bool(op.params.get("aliased", False)) or (
            source.offset is not None and source.offset == target.offset
        )
        return self.struct("kit_reshape_params_t", name, {"bytes": 0 if aliased else source.nbytes})

    def op_softmax(self, op: OpPlan, name: str) -> str:
        p = op.params
        keys = ("input_multiplier", "input_left_shift", "diff_min", "depth", "outer_size")
        return self.struct("kit_softmax_params_t", name, {key: p[key] for key in keys})

    def op_logistic(self, op: OpPlan, name: str) -> str:
        p = op.params
        keys = ("input_zero_point", "input_range_radius", "input_multiplier", "input_left_shift", "size")
        return self.struct("kit_logistic_params_t", name, {key: p[key] for key in keys})

    def op_tanh(self, op: OpPlan, name: str) -> str:
        return self.op_logistic(op, name)

    def op_resize_nearest_neighbor(self, op: OpPlan, name: str) -> str:
        p = op.params
        return self.struct("kit_resize_nearest_params_t", name, {
            "input": _shape4_init(self.tensor(op.inputs[0]).shape),
            "output": _shape4_init(self.tensor(op.outputs[0]).shape),
            "y_map": self.int_array(name + "_y_map", p["y_map"]),
            "x_map": self.int_array(name + "_x_map", p["x_map"]),
        })

    def op_resize_bilinear(self, op: OpPlan, name: str) -> str:
        p = op.params
        return self.struct("kit_resize_bilinear_params_t", name, {
            "input": _shape4_init(self.tensor(op.inputs[0]).shape),
            "output": _shape4_init(self.tensor(op.outputs[0]).shape),
            "height_scale_10": p["height_scale_10"],
            "width_scale_10": p["width_scale_10"],
            "half_pixel_centers": int(bool(p["half_pixel_centers"])),
        })

    def op_tile(self, op: OpPlan, name: str) -> str:
        p = op.params
        rank = len(p["output_shape"])

        def padded(values: list[int], fill: int) -> str:
            return "{" + _int_list(list(values) + [fill] * (6 - rank)) + "}"

        return self.struct("kit_tile_params_t", name, {
            "rank": rank,
            "input_shape": padded(p["input_shape"], 1),
            "output_shape": padded(p["output_shape"], 1),
            "input_stride": padded(p["input_stride"], 0),
        })

    def op_mean(self, op: OpPlan, name: str) -> str:
        """MEAN and SUM (SUM's multiplier has no 1/count folded in)."""
        p = op.params
        input_shape = list(p.get("input_shape", self.tensor(op.inputs[0]).shape))
        rank = len(input_shape)
        shift_dims = 4 - rank
        axes = sorted({(int(a) + rank) % rank for a in p["axes"]})
        mask = sum(1 << (a + shift_dims) for a in axes)
        in4 = _shape4(input_shape)
        out4 = tuple(1 if mask & (1 << d) else in4[d] for d in range(4))
        count = math.prod(in4[d] for d in range(4) if mask & (1 << d))
        if p.get("compute_sum"):
            multiplier, shift = int(p["output_multiplier"]), int(p["output_shift"])
        else:
            multiplier, shift = _mean_multiplier(int(p["output_multiplier"]), int(p["output_shift"]), count)
        return self.struct(
            "kit_mean_params_t",
            name,
            {
                "input": _shape4_init(in4),
                "output": _shape4_init(out4),
                "axis_mask": mask,
                "input_zero_point": p["input_zero_point"],
                "output_zero_point": p["output_zero_point"],
                "num_elements_in_axis": count,
                "multiplier": multiplier,
                "shift": shift,
            },
        )

    def op_pad(self, op: OpPlan, name: str) -> str:
        p = op.params
        paddings = [list(pair) for pair in p["paddings"]]
        paddings = [[0, 0]] * (4 - len(paddings)) + paddings
        return self.struct(
            "kit_pad_params_t",
            name,
            {
                "input": _shape4_init(p.get("input_shape4", self.tensor(op.inputs[0]).shape)),
                "output": _shape4_init(p.get("output_shape4", self.tensor(op.outputs[0]).shape)),
                "before": "{" + ", ".join(str(int(pair[0])) for pair in paddings) + "}",
                "pad_value": p["pad_value"],
            },
        )

    def op_concatenation(self, op: OpPlan, name: str) -> str:
        p = op.params
        return self.struct(
            "kit_concat_params_t",
            name,
            {
                "outer_size": p["outer_size"],
                "num_inputs": len(op.inputs),
                "copy_sizes": self.int_array(name + "_sizes", p["copy_sizes"]),
            },
        )

    def op_quantize(self, op: OpPlan, name: str) -> str:
        p = op.params
        keys = ("input_zero_point", "output_zero_point", "output_multiplier", "output_shift", "size")
        return self.struct("kit_quantize_params_t", name, {key: p[key] for key in keys})

    def op_dequantize(self, op: OpPlan, name: str) -> str:
        p = op.params
        scale = float(np.float32(p["scale"]))
        return self.struct(
            "kit_dequantize_params_t",
            name,
            {"zero_point": p["zero_point"], "size": p["size"], "scale": _double_literal(scale)},
        )

    def _relu_family(self, op: OpPlan, name: str) -> str:
        p = op.params
        _check_multipliers(op, [p["identity_multiplier"], p.get("alpha_multiplier", 0)])
        keys = ("input_zero_point", "output_zero_point", "size", "identity_multiplier", "identity_shift",
                "activation_min", "activation_max")
        fields = {key: p[key] for key in keys}
        fields.update(alpha_multiplier=p.get("alpha_multiplier", 0), alpha_shift=p.get("alpha_shift", 0))
        return self.struct("kit_relu_params_t", name, fields)

    def op_relu(self, op: OpPlan, name: str) -> str:
        return self._relu_family(op, name)

    def op_leaky_relu(self, op: OpPlan, name: str) -> str:
        return self._relu_family(op, name)

    def op_relu6(self, op: OpPlan, name: str) -> str:
        p = op.params
        return self.struct("kit_relu6_params_t", name, {key: p[key] for key in ("lower", "upper", "size")})

    def op_hard_swish(self, op: OpPlan, name: str) -> str:
        p = op.params
        keys = ("input_zero_point", "output_zero_point", "size", "reluish_multiplier", "reluish_exponent",
                "output_multiplier", "output_exponent")
        return self.struct("kit_hard_swish_params_t", name, {key: p[key] for key in keys})

    def op_transpose(self, op: OpPlan, name: str) -> str:
        """TRANSPOSE, STRIDED_SLICE and SLICE: one strided gather."""
        p = op.params
        rank = len(p["output_shape"])
        padding = [1] * (6 - rank)
        return self.struct(
            "kit_transpose_params_t",
            name,
            {
                "rank": rank,
                "element_bytes": 1,
                "start": int(p.get("start", 0)),
                "output_shape": "{" + _int_list(list(p["output_shape"]) + padding) + "}",
                "input_stride": "{" + _int_list(list(p["input_stride"]) + [0] * (6 - rank)) + "}",
            },
        )


_Emitter = Callable[[_OpEmitter, OpPlan, str], str]


def _emitter(spec: OpSpec) -> _Emitter:
    """The _OpEmitter method kit.compile.ops names for `spec`; looked up once at import, so an
    entry without its method fails every test at once."""
    method = getattr(_OpEmitter, spec.emitter, None)
    if not callable(method):
        raise LookupError(f"kit.compile.ops names {spec.emitter} as the C emitter of {spec.name}, "
                          "but kit.compile.emit_c._OpEmitter has no such method")
    return method


_EMITTERS: dict[str, _Emitter] = {spec.name: _emitter(spec) for spec in OPS}


def _used_constants(plan: Plan) -> list[int]:
    """Constants the kernels read (shape, axis and paddings operands are resolved on the host)."""
    used = set()
    for op in plan.ops:
        inputs = op.inputs[: OPS_BY_NAME[op.op].kernel_inputs]
        used.update(i for i in inputs if i >= 0 and plan.tensors[i].is_constant)
    return sorted(used)


def _tensor_entry(tensor: TensorPlan, emitted_constants: set[int]) -> str:
    if tensor.is_constant:
        data = f"kit_const_{tensor.index}" if tensor.index in emitted_constants else "NULL"
        return f"    {{-1, {data}, {tensor.nbytes}}}, /* {tensor.index} const */"
    offset = -1 if tensor.offset is None else int(tensor.offset)
    return f"    {{{offset}, NULL, {tensor.nbytes}}}, /* {tensor.index} */"


def _check_plan(plan: Plan) -> None:
    for role, tensor in (("input", plan.input), ("output", plan.output)):
        if tensor.offset is None:
            raise ModelError(
                f"the model {role} tensor {tensor.name!r} has no arena offset",
                "compile the model with kit.compile so the memory planner places every tensor",
            )
    for op in plan.ops:
        if op.op not in OPS_BY_NAME:
            raise ModelError(
                f"op {op.op} (node {op.index}) has no kit C kernel",
                f"use only these ops: {', '.join(OP_NAMES)}",
            )
        if len(op.outputs) != 1:
            raise ModelError(
                f"op {op.op} (node {op.index}) has {len(op.outputs)} outputs; kit kernels produce one",
                "use only single-output ops",
            )
    if len(plan.tensors) > 32767:
        raise ModelError("the model has more than 32767 tensors", "use a smaller model")


def render_source(plan: Plan) -> str:
    """The text of kit_model.c for a plan."""
    _check_plan(plan)
    emitted = _Emitted(constants=[], params=[], ops=[])
    constants = _used_constants(plan)
    fc_layouts = _fc_weight_layouts(plan)
    for index in constants:
        emitted.constants.append(_const_array(plan.tensors[index], fc_layouts.get(index)))
    op_emitter = _OpEmitter(plan, emitted, fc_layouts)
    for position, op in enumerate(plan.ops):
        params_name = op_emitter.emit(op)
        inputs = ", ".join(str(int(i)) for i in op.inputs) or "-1"
        emitted.params.append(f"static const int16_t kit_inputs_{op.index}[] = {{{inputs}}};\n")
        emitted.ops.append(
            f"    {{{OPS_BY_NAME[op.op].c_enum}, {len(op.inputs)}, kit_inputs_{op.index}, {int(op.outputs[0])}, "
            f"&{params_name}}}, /* {position}: {op.op} */"
        )
    constant_set = set(constants)
    tensors = "\n".join(_tensor_entry(t, constant_set) for t in plan.tensors)
    inp, out = plan.input, plan.output
    return "\n".join(
        [
            f"/* Generated by kit.compile.emit_c from model {plan.model_id} (sha256 {plan.model_sha256}). */",
            "/* Do not edit: regenerate with `kit convert`. */",
            "#include <stddef.h>",
            "#include <stdint.h>",
            "",
            f'#include "{_HEADER_NAME}"',
            "",
            "#if defined(__GNUC__)",
            "#define KIT_ALIGN16 __attribute__((aligned(16)))",
            "#else",
            "#define KIT_ALIGN16",
            "#endif",
            "",
            "".join(emitted.constants),
            "".join(emitted.params),
            f"static const kit_tensor_t kit_tensors[{max(len(plan.tensors), 1)}] = {{",
            tensors,
            "};",
            "",
            f"static const kit_op_t kit_ops[{max(len(plan.ops), 1)}] = {{",
            "\n".join(emitted.ops),
            "};",
            "",
            "const kit_model_t kit_model = {",
            f"    .runtime_version = {RUNTIME_VERSION},",
            f"    .id = {_c_string(plan.model_id)},",
            f"    .sha256 = {_c_string(plan.model_sha256)},",
            f"    .arena_bytes = {int(plan.arena_bytes)}u,",
            f"    .num_tensors = {len(plan.tensors)},",
            "    .tensors = kit_tensors,",
            f"    .num_ops = {len(plan.ops)},",
            "    .ops = kit_ops,",
            f"    .input_tensor = {plan.input_index},",
            f"    .output_tensor = {plan.output_index},",
            f"    .input_type = {C_TYPES.get(inp.dtype, 'KIT_TYPE_INT8')},",
            f"    .output_type = {C_TYPES.get(out.dtype, 'KIT_TYPE_INT8')},",
            f"    .input_scale = {_float_literal(inp.scale[0] if inp.scale else 0.0)},",
            f"    .output_scale = {_float_literal(out.scale[0] if out.scale else 0.0)},",
            f"    .input_zero_point = {int(inp.zero_point[0]) if inp.zero_point else 0},",
            f"    .output_zero_point = {int(out.zero_point[0]) if out.zero_point else 0},",
            "};",
            "",
        ]
    )


def model_header(banner: str, defines: list[str]) -> str:
    """The text of a kit_model.h: `banner` (a C comment), kit_runtime.h, the `#define` lines
    (comment lines allowed) and `extern const kit_model_t kit_model;`. Shared by this emitter
    and kit.build.realboard's TFLM engine header, so both declare the model the same way."""
    guard = "KIT_MODEL_H"
    return "\n".join(
        [
            banner,
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            '#include "kit_runtime.h"',
            "",
            *defines,
            "",
            "#ifdef __cplusplus",
            'extern "C" {',
            "#endif",
            "",
            "extern const kit_model_t kit_model;",
            "",
            "#ifdef __cplusplus",
            "}",
            "#endif",
            "",
            f"#endif /* {guard} */",
            "",
        ]
    )


def render_header(plan: Plan) -> str:
    """The text of kit_model.h: the model symbol and its sizes as macros."""
    inp, out = plan.input, plan.output
    return model_header(
        f"/* Generated by kit.compile.emit_c from model {plan.model_id}. Do not edit. */",
        [
            f"#define KIT_MODEL_ID {_c_string(plan.model_id)}",
            f"#define KIT_MODEL_SHA256 {_c_string(plan.model_sha256)}",
            f"#define KIT_MODEL_ARENA_BYTES {int(plan.arena_bytes)}u",
            f"#define KIT_MODEL_INPUT_BYTES {int(inp.nbytes)}u",
            f"#define KIT_MODEL_OUTPUT_BYTES {int(out.nbytes)}u",
            f"#define KIT_MODEL_INPUT_SCALE {_float_literal(inp.scale[0] if inp.scale else 0.0)}",
            f"#define KIT_MODEL_INPUT_ZERO_POINT {int(inp.zero_point[0]) if inp.zero_point else 0}",
            f"#define KIT_MODEL_OUTPUT_SCALE {_float_literal(out.scale[0] if out.scale else 0.0)}",
            f"#define KIT_MODEL_OUTPUT_ZERO_POINT {int(out.zero_point[0]) if out.zero_point else 0}",
            f"#define KIT_MODEL_OP_COUNT {len(plan.ops)}u",
            f"#define KIT_MODEL_WEIGHT_BYTES {int(plan.weight_bytes)}u",
        ],
    )


def emit_model(plan: Plan, out_dir: Path) -> list[Path]:
    """Write kit_model.h and kit_model.c for `plan` into `out_dir`; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = out_dir / _HEADER_NAME
    source = out_dir / _SOURCE_NAME
    header.write_text(render_header(plan))
    source.write_text(render_source(plan))
    return [header, source]

