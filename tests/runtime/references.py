"""What the bit-exactness tests compare kit with. The project's reference is TFLM (the
tflite-micro interpreter); a model with an op TFLM has no kernel for (RELU_N1_TO_1) is
compared with TensorFlow Lite's own reference kernels instead: LiteRT's interpreter with the
BUILTIN_REF op resolver (its reference_ops, not the optimized or XNNPACK paths)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TFLM = "TFLM"
LITERT_REF = "TensorFlow Lite reference kernels (LiteRT BUILTIN_REF)"
NO_TFLM_KERNEL = frozenset({"RELU_N1_TO_1"})


def reference_engine(path: Path | str) -> str:
    """TFLM, unless the file holds an op TFLM cannot run."""
    from kit.compile.tflite import load_model

    return LITERT_REF if NO_TFLM_KERNEL & set(load_model(Path(path)).op_names) else TFLM


def _litert_reference_run(path: Path | str, inputs: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]["index"]
    outputs = []
    for sample in np.asarray(inputs):
        interpreter.set_tensor(source["index"], sample.reshape(source["shape"]).astype(source["dtype"]))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target)[0].copy())
    return np.stack(outputs)


def reference_outputs(path: Path | str, inputs: np.ndarray) -> np.ndarray:
    """The reference engine's outputs for a batch, shape (N, *output.shape[1:])."""
    from kit.tflm import TflmInterpreter

    if reference_engine(path) == LITERT_REF:
        return _litert_reference_run(path, inputs)
    return TflmInterpreter(path).run(inputs)
