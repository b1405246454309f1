"""TensorFlow Lite Micro C arrays for users who run TFLM themselves (Arduino IDE, own sketches).

Writes `model_data.h` / `model_data.cc` (the .tflite as a 16-byte aligned const array, its
length, input/output quantization, labels and kTensorArenaSize) and `model_ops.h` (exactly the
ops the model uses, registered on a `tflite::MicroMutableOpResolver<N>`), so a sketch needs
no guessing about resolver size, op list or arena size.

Arena margin: TFLM's arena is measured with the host interpreter, a 64-bit build of the
reference kernels. On 32-bit microcontrollers TFLM's bookkeeping structs are smaller, but
optimized kernels (CMSIS-NN, ESP-NN) request extra scratch buffers and the allocator aligns
differently, so kTensorArenaSize = measured + 10 % + 2 KiB, rounded up to 16 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kit.compile.tflite import Model, Tensor

ARENA_MARGIN_FRACTION = 0.10
ARENA_MARGIN_BYTES = 2048
_BYTES_PER_LINE = 12

# The builtin ops TFLM's MicroMutableOpResolver can register (tensorflow/lite/micro/
# micro_mutable_op_resolver.h of tflite-micro main and of the Arduino libraries kit pins; every
# other builtin, e.g. RELU_N1_TO_1, has no TFLM kernel). tests/realboards/test_tflm_resolver.py
# checks this set and resolver_method against the names recorded from those headers.
TFLM_KERNEL_OPS = frozenset({
    "ABS", "ADD", "ADD_N", "ARG_MAX", "ARG_MIN", "ASSIGN_VARIABLE", "AVERAGE_POOL_2D", "BATCH_MATMUL",
    "BATCH_TO_SPACE_ND", "BROADCAST_ARGS", "BROADCAST_TO", "CALL_ONCE", "CAST", "CEIL", "CONCATENATION",
    "CONV_2D", "COS", "CUMSUM", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE", "DIV",
    "DYNAMIC_UPDATE_SLICE", "ELU", "EMBEDDING_LOOKUP", "EQUAL", "EXP", "EXPAND_DIMS", "FILL", "FLOOR",
    "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED", "GATHER", "GATHER_ND", "GREATER", "GREATER_EQUAL",
    "HARD_SWISH", "IF", "L2_NORMALIZATION", "L2_POOL_2D", "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG",
    "LOGICAL_AND", "LOGICAL_NOT", "LOGICAL_OR", "LOGISTIC", "LOG_SOFTMAX", "MAXIMUM", "MAX_POOL_2D", "MEAN",
    "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "PACK", "PAD", "PADV2", "PRELU", "QUANTIZE",
    "READ_VARIABLE", "REDUCE_ALL", "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "ROUND", "RSQRT", "SELECT_V2", "SHAPE", "SIN", "SLICE",
    "SOFTMAX", "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE",
    "SQUARED_DIFFERENCE", "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "SVDF", "TANH", "TRANSPOSE",
    "TRANSPOSE_CONV", "UNIDIRECTIONAL_SEQUENCE_LSTM", "UNPACK", "VAR_HANDLE", "WHILE", "ZEROS_LIKE",
})

# TFLM's resolver method names that do not follow "Add" + CamelCase(op name).
_RESOLVER_EXCEPTIONS = {
    "BATCH_MATMUL": "AddBatchMatMul",
    "CUMSUM": "AddCumSum",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "PADV2": "AddPadV2",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
}


@dataclass(frozen=True)
class TflmArrays:
    """What was written, for the summary."""

    files: tuple[Path, ...]
    ops: tuple[str, ...]
    arena_bytes_measured: int
    arena_bytes_declared: int


def declared_arena_bytes(measured: int) -> int:
    """kTensorArenaSize: the measured arena plus the documented 32-bit target margin."""
    raw = int(measured * (1 + ARENA_MARGIN_FRACTION)) + ARENA_MARGIN_BYTES
    return (raw + 15) // 16 * 16


def resolver_method(op: str) -> str | None:
    """MicroMutableOpResolver method for a builtin op (CONV_2D -> AddConv2D), None when TFLM
    has no kernel for it."""
    if op not in TFLM_KERNEL_OPS:
        return None
    if op in _RESOLVER_EXCEPTIONS:
        return _RESOLVER_EXCEPTIONS[op]
    return "Add" + "".join(part.capitalize() if not part[0].isdigit() else part.upper() for part in op.split("_"))


def distinct_ops(model: Model) -> list[str]:
    """Ops in order of first use, each once."""
    return list(dict.fromkeys(model.op_names))


def _c_identifier(name: str) -> str:
    cleaned = re.sub(r"\W", "_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"m_{cleaned}"


def _c_string(text: str) -> str:
    """A C string literal holding the UTF-8 bytes of `text`: printable ASCII as is (backslash
    and quote escaped), every other byte as a three-digit octal escape ('é' -> \\303\\251)."""
    parts = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '\\"':
            parts.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            parts.append(char)
        else:
            parts.append(f"\\{byte:03o}")
    return '"' + "".join(parts) + '"'


def _bytes_table(data: bytes) -> str:
    lines = []
    for start in range(0, len(data), _BYTES_PER_LINE):
        chunk = data[start : start + _BYTES_PER_LINE]
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in chunk) + ",")
    return "\n".join(lines)


def _tensor_constants(prefix: str, tensor: Tensor) -> list[str]:
    q = tensor.quantization
    scale = q.scale[0] if q and q.scale else 0.0
    zero_point = q.zero_point[0] if q and q.zero_point else 0
    dims = ", ".join(str(d) for d in tensor.shape) or "1"
    return [
        f"constexpr float k{prefix}Scale = {scale!r}f;",
        f"constexpr int k{prefix}ZeroPoint = {zero_point};",
        f"constexpr int k{prefix}Dims[] = {{{dims}}};",
        f"constexpr int k{prefix}DimCount = {max(len(tensor.shape), 1)};",
        f"constexpr int k{prefix}Elements = {tensor.num_elements};",
        f'constexpr const char* k{prefix}Type = "{tensor.dtype}";',
    ]


def render_header(model: Model, array_name: str, labels: list[str], arena_measured: int) -> str:
    guard = f"{array_name.upper()}_MODEL_DATA_H_"
    label_lines = (
        [f"constexpr int kLabelCount = {len(labels)};", "constexpr const char* kLabels[] = {"]
        + [f"    {_c_string(label)}," for label in labels]
        + ["};"]
        if labels
        else ["constexpr int kLabelCount = 0;"]
    )
    return "\n".join(
        [
            f"// Generated by `kit convert` from a model with sha256 {model.sha256}. Do not edit.",
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            "// The .tflite flatbuffer, 16-byte aligned as TFLM requires.",
            f"extern const unsigned char {array_name}[];",
            f"extern const unsigned int {array_name}_len;",
            "",
            f"// Arena measured with the TFLM host interpreter: {arena_measured} bytes; declared with",
            f"// a margin for 32-bit targets (+{int(ARENA_MARGIN_FRACTION * 100)}% + {ARENA_MARGIN_BYTES} B).",
            f"constexpr int kTensorArenaSize = {declared_arena_bytes(arena_measured)};",
            "",
            "// Input / output quantization: real = scale * (q - zero_point).",
            *_tensor_constants("Input", model.tensors[model.inputs[0]]),
            *_tensor_constants("Output", model.tensors[model.outputs[0]]),
            "",
            *label_lines,
            "",
            f"#endif  // {guard}",
            "",
        ]
    )


def render_source(data: bytes, array_name: str) -> str:
    return "\n".join(
        [
            "// Generated by `kit convert`. Do not edit.",
            '#include "model_data.h"',
            "",
            f"alignas(16) const unsigned char {array_name}[] = {{",
            _bytes_table(data),
            "};",
            f"const unsigned int {array_name}_len = {len(data)};",
            "",
        ]
    )


def _registration(op: str) -> str:
    """One resolver call; an op without a TFLM kernel stops the C++ build with its name (the
    arrays still serve kit's own runtime, so convert itself does not refuse the model)."""
    method = resolver_method(op)
    if method is None:
        return f'#error "TensorFlow Lite Micro has no kernel for the builtin op {op}"'
    return f"  if (resolver.{method}() != kTfLiteOk) return kTfLiteError;  // {op}"


def render_ops_header(model: Model) -> str:
    ops = distinct_ops(model)
    registrations = [_registration(op) for op in ops]
    return "\n".join(
        [
            "// Generated by `kit convert`: exactly the ops this model uses. Do not edit.",
            "#ifndef MODEL_OPS_H_",
            "#define MODEL_OPS_H_",
            "",
            '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
            "",
            f"constexpr int kModelOpCount = {len(ops)};",
            "using ModelOpResolver = tflite::MicroMutableOpResolver<kModelOpCount>;",
            "",
            "// Usage: static ModelOpResolver resolver; RegisterModelOps(resolver);",
            "inline TfLiteStatus RegisterModelOps(ModelOpResolver& resolver) {",
            *registrations,
            "  return kTfLiteOk;",
            "}",
            "",
            "#endif  // MODEL_OPS_H_",
            "",
        ]
    )


def write_tflm_arrays(
    data: bytes,
    model: Model,
    out_dir: Path,
    arena_measured: int,
    labels: list[str] | None = None,
    array_name: str = "g_model",
) -> TflmArrays:
    """Write model_data.h, model_data.cc and model_ops.h into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = _c_identifier(array_name)
    files = {
        "model_data.h": render_header(model, name, list(labels or []), arena_measured),
        "model_data.cc": render_source(data, name),
        "model_ops.h": render_ops_header(model),
    }
    paths = []
    for filename, text in files.items():
        path = out_dir / filename
        path.write_text(text)
        paths.append(path)
    return TflmArrays(tuple(paths), tuple(distinct_ops(model)), arena_measured, declared_arena_bytes(arena_measured))
