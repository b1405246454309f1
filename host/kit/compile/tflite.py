"""Read a .tflite flatbuffer into plain dataclasses, refusing damaged files with a ModelError.

The generated flatbuffer accessors trust every offset in the file: a damaged model makes them
raise struct errors, index errors, unicode errors or ask for absurd vector lengths. This
reader checks the header and every vector length against the file size itself, and turns
whatever the accessors still raise into one ModelError, so a user never sees a traceback.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kit.compile.ops import OPS
from kit.errors import ModelError

_FILE_IDENTIFIER = b"TFL3"
_MIN_MODEL_BYTES = 16
_MAX_MODEL_BYTES = 2**31 - 1

DTYPE_NUMPY: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "float64": np.dtype("<f8"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "int16": np.dtype("<i2"),
    "uint16": np.dtype("<u2"),
    "int32": np.dtype("<i4"),
    "uint32": np.dtype("<u4"),
    "int64": np.dtype("<i8"),
    "uint64": np.dtype("<u8"),
    "bool": np.dtype("?"),
}

_BAD_FILE_HINT = "pass a .tflite model written by the TensorFlow Lite converter (or `kit train`)"


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def _enum_names(enum_class: type) -> dict[int, str]:
    return {value: name for name, value in vars(enum_class).items() if not name.startswith("_")}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of one tensor; several scales mean per-channel along `quantized_dimension`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass
class Tensor:
    """One tensor of the graph; `data` holds the bytes of constant tensors, else None."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    buffer: int
    data: bytes | None
    quantization: Quantization | None
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        itemsize = DTYPE_NUMPY[self.dtype].itemsize if self.dtype in DTYPE_NUMPY else 1
        return self.num_elements * itemsize

    def array(self) -> np.ndarray:
        """The constant data as a numpy array of the tensor's shape."""
        if self.data is None:
            raise ModelError(f"tensor {self.index} ({self.name}) has no constant data")
        flat = np.frombuffer(self.data, dtype=DTYPE_NUMPY[self.dtype])
        return flat.reshape(self.shape) if flat.size == self.num_elements else flat


@dataclass
class Operator:
    """One node: builtin op name, tensor indices (-1 = absent optional input), options as a dict."""

    index: int
    op: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    custom_code: str | None = None


@dataclass
class Model:
    """A parsed model: the first subgraph's tensors and operators plus model-level data."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str
    metadata: dict[str, bytes]
    version: int
    num_subgraphs: int
    sha256: str
    size_bytes: int

    @property
    def op_names(self) -> list[str]:
        return [operator.op for operator in self.operators]


def load_model(source: str | Path | bytes | bytearray | memoryview, sha256: str | None = None) -> Model:
    """Parse a .tflite file or its bytes; any damage raises ModelError, never another exception.
    `sha256`: the bytes' digest when the caller already has it (the compile pipeline hashes once)."""
    data = _read_bytes(source)
    _check_header(data)
    try:
        return _parse(data, sha256)
    except ModelError:
        raise
    except RecursionError as error:
        raise _damaged(f"nesting too deep ({error})") from None
    except Exception as error:  # the generated accessors raise many types on damaged input
        raise _damaged(f"{type(error).__name__}: {error}") from None


def _read_bytes(source: str | Path | bytes | bytearray | memoryview) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    path = Path(source)
    if not path.exists():
        raise ModelError(f"model file not found: {path}", "check the path to the .tflite file")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a .tflite file", _BAD_FILE_HINT)
    try:
        return path.read_bytes()
    except OSError as error:
        raise ModelError(f"cannot read {path}: {error.strerror}", "check the file's permissions") from None


def _damaged(detail: str) -> ModelError:
    return ModelError(f"the model file is damaged or not a TensorFlow Lite flatbuffer ({detail})", _BAD_FILE_HINT)


def _check_header(data: bytes) -> None:
    if len(data) < _MIN_MODEL_BYTES:
        raise _damaged(f"only {len(data)} bytes")
    if len(data) > _MAX_MODEL_BYTES:
        raise ModelError("the model is larger than 2 GiB", "microcontroller models must be far smaller")
    if data[4:8] != _FILE_IDENTIFIER:
        raise _damaged(f"file identifier {data[4:8]!r}, expected {_FILE_IDENTIFIER!r}")
    (root,) = struct.unpack_from("<I", data, 0)
    if root + 4 > len(data):
        raise _damaged(f"root table offset {root} beyond the end of the {len(data)}-byte file")


class _Guard:
    """Bounds every vector length by the file size before the accessors loop over it."""

    def __init__(self, size: int) -> None:
        self.size = size

    def length(self, value: int, what: str, element_bytes: int = 4) -> int:
        if value < 0 or value * element_bytes > self.size:
            raise _damaged(f"{what} claims {value} entries in a {self.size}-byte file")
        return value

    def index(self, value: int, limit: int, what: str) -> int:
        if not 0 <= value < limit:
            raise _damaged(f"{what} {value} out of range 0..{limit - 1}")
        return value


def _parse(data: bytes, sha256: str | None = None) -> Model:
    schema = _schema()
    guard = _Guard(len(data))
    model = schema.Model.GetRootAs(data, 0)
    buffers = _read_buffers(model, data, guard)
    opcodes = _read_opcodes(model, guard)
    num_subgraphs = guard.length(model.SubgraphsLength(), "subgraph list")
    if num_subgraphs == 0:
        raise _damaged("no subgraph")
    subgraph = model.Subgraphs(0)
    tensors = [
        _read_tensor(subgraph.Tensors(i), i, buffers, guard)
        for i in range(guard.length(subgraph.TensorsLength(), "tensor list"))
    ]
    operators = [
        _read_operator(subgraph.Operators(i), i, opcodes, len(tensors), guard)
        for i in range(guard.length(subgraph.OperatorsLength(), "operator list"))
    ]
    inputs = [guard.index(int(t), len(tensors), "subgraph input") for t in _int_vector(subgraph.InputsAsNumpy())]
    outputs = [guard.index(int(t), len(tensors), "subgraph output") for t in _int_vector(subgraph.OutputsAsNumpy())]
    return Model(
        tensors=tensors,
        operators=operators,
        inputs=inputs,
        outputs=outputs,
        description=_text(model.Description()),
        metadata=_read_metadata(model, buffers, guard),
        version=int(model.Version()),
        num_subgraphs=num_subgraphs,
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


def _int_vector(values: Any) -> list[int]:
    """Generated *AsNumpy accessors return 0 for an absent vector."""
    return [] if isinstance(values, int) else [int(v) for v in values]


def _read_buffers(model: Any, data: bytes, guard: _Guard) -> list[bytes | None]:
    buffers: list[bytes | None] = []
    for i in range(guard.length(model.BuffersLength(), "buffer list")):
        buffer = model.Buffers(i)
        offset, size = int(buffer.Offset()), int(buffer.Size())
        if offset > 1:  # large models keep buffers after the flatbuffer
            if offset + size > len(data):
                raise _damaged(f"buffer {i} lies beyond the end of the file")
            buffers.append(data[offset : offset + size] if size else None)
            continue
        length = guard.length(buffer.DataLength(), f"buffer {i}", 1)
        buffers.append(buffer.DataAsNumpy().tobytes() if length else None)
    return buffers


def _read_opcodes(model: Any, guard: _Guard) -> list[tuple[str, int, str | None]]:
    names = _enum_names(_schema().BuiltinOperator)
    opcodes = []
    for i in range(guard.length(model.OperatorCodesLength(), "operator-code list")):
        code = model.OperatorCodes(i)
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        custom = _text(code.CustomCode()) or None
        name = names.get(builtin, f"UNKNOWN_OP_{builtin}")
        opcodes.append((name, int(code.Version()), custom))
    return opcodes


def _read_quantization(tensor: Any, guard: _Guard) -> Quantization | None:
    quant = tensor.Quantization()
    if quant is None:
        return None
    guard.length(quant.ScaleLength(), "quantization scale list")
    guard.length(quant.ZeroPointLength(), "quantization zero-point list", 8)
    scales = tuple(float(s) for s in _int_or_float_vector(quant.ScaleAsNumpy()))
    zero_points = tuple(int(z) for z in _int_vector(quant.ZeroPointAsNumpy()))
    if not scales and not zero_points:
        return None
    return Quantization(scales, zero_points, int(quant.QuantizedDimension()))


def _int_or_float_vector(values: Any) -> list[Any]:
    return [] if isinstance(values, int) else list(values)


def _read_tensor(tensor: Any, index: int, buffers: list[bytes | None], guard: _Guard) -> Tensor:
    type_names = _enum_names(_schema().TensorType)
    shape = tuple(_int_vector(tensor.ShapeAsNumpy())) if guard.length(tensor.ShapeLength(), "shape") else ()
    buffer_index = int(tensor.Buffer())
    if buffers:
        guard.index(buffer_index, len(buffers), f"tensor {index} buffer")
    data = buffers[buffer_index] if buffers else None
    dtype = type_names.get(int(tensor.Type()), f"type_{tensor.Type()}").lower()
    return Tensor(
        index=index,
        name=_text(tensor.Name()),
        shape=shape,
        dtype=dtype,
        buffer=buffer_index,
        data=data,
        quantization=_read_quantization(tensor, guard),
        is_variable=bool(tensor.IsVariable()),
    )


def _read_operator(
    operator: Any, index: int, opcodes: list[tuple[str, int, str | None]], num_tensors: int, guard: _Guard
) -> Operator:
    opcode_index = guard.index(int(operator.OpcodeIndex()), len(opcodes), f"operator {index} opcode")
    name, version, custom = opcodes[opcode_index]
    guard.length(operator.InputsLength(), f"operator {index} inputs")
    guard.length(operator.OutputsLength(), f"operator {index} outputs")
    inputs = [int(t) for t in _int_vector(operator.InputsAsNumpy())]
    outputs = [int(t) for t in _int_vector(operator.OutputsAsNumpy())]
    for tensor_index in inputs:
        if tensor_index != -1:
            guard.index(tensor_index, num_tensors, f"operator {index} input tensor")
    for tensor_index in outputs:
        guard.index(tensor_index, num_tensors, f"operator {index} output tensor")
    return Operator(
        index=index,
        op=name,
        inputs=inputs,
        outputs=outputs,
        options=_read_options(operator, name),
        version=version,
        custom_code=custom,
    )


# Options classes for the ops whose options kit reads, used for their defaults when a
# converter leaves the options table out.
_DEFAULT_OPTIONS = {spec.name: spec.options for spec in OPS if spec.options}


def _snake(name: str) -> str:
    split_acronyms = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", name)  # dilationWFactor
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", split_acronyms).lower()


def _read_options(operator: Any, op_name: str) -> dict[str, Any]:
    schema = _schema()
    options_object = schema.BuiltinOptionsCreator(operator.BuiltinOptionsType(), operator.BuiltinOptions())
    if options_object is None and op_name in _DEFAULT_OPTIONS:
        options_object = getattr(schema, _DEFAULT_OPTIONS[op_name])()
    if options_object is None:
        return {}
    activation_names = _enum_names(schema.ActivationFunctionType)
    padding_names = _enum_names(schema.Padding)
    options: dict[str, Any] = {}
    for key, value in vars(options_object).items():
        key = _snake(key)
        if isinstance(value, np.ndarray):
            value = [v.item() for v in value]
        if key == "fused_activation_function":
            value = activation_names.get(int(value), f"ACTIVATION_{value}")
        elif key == "padding":
            value = padding_names.get(int(value), f"PADDING_{value}")
        options[key] = value
    return options


def _read_metadata(model: Any, buffers: list[bytes | None], guard: _Guard) -> dict[str, bytes]:
    metadata: dict[str, bytes] = {}
    for i in range(guard.length(model.MetadataLength(), "metadata list")):
        entry = model.Metadata(i)
        buffer_index = guard.index(int(entry.Buffer()), max(len(buffers), 1), "metadata buffer")
        content = buffers[buffer_index] if buffers else None
        metadata[_text(entry.Name())] = content or b""
    return metadata
