"""The compiled model: one typed record of what kit.compile produced, for every later stage.

`CompiledModel` is what `kit.compile.convert` and `kit.runtime_host.compile_model` return. Its
fields come from the compile cache's metadata (kit.compile.cache: `kit.json`, and
`summary.json` when the TFLM part was produced), so a cache hit builds it without parsing or
planning the model: the fit check, the firmware build and the host runner read only these
fields. `plan` is the one exception, built on first use (the C emitter's input; bench and
test code that inspect the plan's tensors).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import ModelError


@dataclass(frozen=True)
class TensorFacts:
    """A model input or output as firmware and runners need it: shape, dtype, bytes, quantization."""

    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()

    @classmethod
    def of_tensor(cls, tensor: Any) -> TensorFacts:
        """From a kit.compile.tflite Tensor."""
        quantization = tensor.quantization
        return cls(
            shape=tuple(int(d) for d in tensor.shape),
            dtype=str(tensor.dtype),
            nbytes=int(tensor.nbytes),
            scale=tuple(float(s) for s in quantization.scale) if quantization else (),
            zero_point=tuple(int(z) for z in quantization.zero_point) if quantization else (),
        )

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> TensorFacts:
        return cls(
            shape=tuple(int(d) for d in value["shape"]),
            dtype=str(value["dtype"]),
            nbytes=int(value["nbytes"]),
            scale=tuple(float(s) for s in value.get("scale") or ()),
            zero_point=tuple(int(z) for z in value.get("zero_point") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype, "nbytes": self.nbytes,
                "scale": list(self.scale), "zero_point": list(self.zero_point)}


@dataclass(frozen=True)
class TflmFacts:
    """The TFLM part, present only when it was asked for (`convert(..., tflm=True)`)."""

    arena_bytes: int  # measured by the TFLM arena probe
    tensor_arena_size: int  # kTensorArenaSize declared in model_data.h (measured + margin)
    files: tuple[str, ...]  # file names in tflm/


@dataclass
class CompiledModel:
    """One model compiled by kit.compile: where its C lives and every fact later stages need."""

    out_dir: Path
    key: str  # the cache folder's name: identifies the generated C (also after a copy to --out)
    model_id: str
    sha256: str
    labels: list[str]
    ops: list[str]  # the model's operators in execution order (one per node)
    tensors: int
    inputs: tuple[TensorFacts, ...]  # the graph's input tensors (kit and TFLM firmware take one)
    outputs: tuple[TensorFacts, ...]
    arena_bytes_kit: int  # 0 when kit's planner refused the model
    weight_bytes: int
    model_bytes: int
    macs: int
    tflm: TflmFacts | None = None
    kit_ops: list[str] = field(default_factory=list)  # what kit's C runs, after folding (empty: refused)
    cached: bool = False
    card_path: Path | None = None
    card_updated: bool = False
    refusal: ModelError | None = None
    _data: bytes | None = field(default=None, repr=False, compare=False)
    _plan: Any = field(default=None, repr=False, compare=False)

    # --- where the C is ---------------------------------------------------------------------

    @property
    def kit_dir(self) -> Path | None:
        """kit_model.c/.h, or None when kit's planner refused the model."""
        return self.out_dir / "kit" if self.refusal is None else None

    @property
    def tflm_dir(self) -> Path:
        """The TFLM C arrays; asking for them when convert was not asked to write them is a bug."""
        self.require_tflm()
        return self.out_dir / "tflm"

    @property
    def files(self) -> list[Path]:
        """Every generated file: TFLM arrays (when produced), then kit_model.h and kit_model.c."""
        tflm = [self.out_dir / "tflm" / name for name in self.tflm.files] if self.tflm is not None else []
        kit = [self.out_dir / "kit" / name for name in ("kit_model.h", "kit_model.c")] if self.kit_dir else []
        return tflm + kit

    def require_kit(self) -> Path:
        """kit's C model folder, or the planner's refusal (a ModelError) when there is none."""
        if self.refusal is not None:
            raise self.refusal
        return self.out_dir / "kit"

    def require_tflm(self) -> TflmFacts:
        """The TFLM facts; absent when the model was compiled for kit's engine only."""
        if self.tflm is None:
            raise ModelError(f"model {self.model_id} was compiled without its TFLM arrays",
                             "compile it with `kit convert MODEL.tflite` (convert(..., tflm=True))")
        return self.tflm

    # --- the TFLM figures (kit convert's table, the TFLM engine's fit check and project) ---

    @property
    def arena_bytes_tflm(self) -> int:
        return self.require_tflm().arena_bytes

    @property
    def tensor_arena_size(self) -> int:
        return self.require_tflm().tensor_arena_size

    # --- what kit's host runner and kit invoke read (kit.runtime_host, kit.device.invoke) ---

    @property
    def directory(self) -> Path:
        """kit's C folder (raises the refusal when there is none)."""
        return self.require_kit()

    @property
    def header(self) -> Path:
        return self.directory / "kit_model.h"

    @property
    def source(self) -> Path:
        return self.directory / "kit_model.c"

    @property
    def sources(self) -> list[Path]:
        return [self.source]

    @property
    def input(self) -> TensorFacts | None:
        """The (first) input tensor; None only for a graph that declares none."""
        return self.inputs[0] if self.inputs else None

    @property
    def output(self) -> TensorFacts | None:
        return self.outputs[0] if self.outputs else None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._io("input").shape

    @property
    def input_dtype(self) -> str:
        return self._io("input").dtype

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._io("output").shape

    @property
    def output_dtype(self) -> str:
        return self._io("output").dtype

    @property
    def op_names(self) -> tuple[str, ...]:
        """The ops kit's C model runs, in order (shape arithmetic and reshapes folded away);
        `ops` keeps the model file's operators."""
        return tuple(self.kit_ops)

    @property
    def op_counts(self) -> dict[str, int]:
        return dict(Counter(self.ops))

    def _io(self, role: str) -> TensorFacts:
        facts = self.input if role == "input" else self.output
        if facts is None:
            raise ModelError(f"model {self.model_id} declares no {role} tensor",
                             "export the model with one input and one output tensor")
        return facts

    # --- the plan, only for those that need the planner's tensors ---------------------------

    @property
    def plan(self) -> Any:
        """kit's Plan (None when the planner refused the model): parsed and planned on first use
        after a cache hit. The fit check, the build and the runners never need it."""
        if self._plan is None and self.refusal is None and self._data is not None:
            from kit.compile.planner import build_plan
            from kit.compile.tflite import load_model

            self._plan = build_plan(load_model(self._data, sha256=self.sha256), model_id=self.model_id)
        return self._plan

    def to_dict(self) -> dict[str, Any]:
        """The JSON `kit convert --json` prints."""
        return {
            "model_id": self.model_id,
            "sha256": self.sha256,
            "out_dir": str(self.out_dir),
            "tflm_dir": str(self.out_dir / "tflm") if self.tflm is not None else None,
            "kit_dir": str(self.kit_dir) if self.kit_dir else None,
            "files": [str(p) for p in self.files],
            "ops": self.ops,
            "kit_ops": self.kit_ops,
            "op_counts": self.op_counts,
            "tensors": self.tensors,
            "inputs": [facts.to_json() for facts in self.inputs],
            "outputs": [facts.to_json() for facts in self.outputs],
            "arena_bytes_kit": self.arena_bytes_kit,
            "arena_bytes_tflm": self.tflm.arena_bytes if self.tflm else None,
            "tensor_arena_size": self.tflm.tensor_arena_size if self.tflm else None,
            "weight_bytes": self.weight_bytes,
            "model_bytes": self.model_bytes,
            "macs": self.macs,
            "labels": self.labels,
            "cached": self.cached,
            "card_path": str(self.card_path) if self.card_path else None,
            "card_updated": self.card_updated,
            "kit_refusal": {"error": self.refusal.message, "fix": self.refusal.hint} if self.refusal else None,
        }


__all__ = ["CompiledModel", "TensorFacts", "TflmFacts"]
