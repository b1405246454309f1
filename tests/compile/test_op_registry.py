"""kit.compile.ops (the compiler's op registry) and KIT_OPS (the runtime's X-macro list in
kit_runtime.h) name the same ops in the same order with the same kernels, and every op has
its planner function, its C emitter, its kernel file and a real TFLite builtin code.

The checks are functions over text and specs, so the tests below also run them on modified
copies (an op added to one side only, two ops swapped, a kernel file nobody registered) and
show they fail there."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from kit.compile import emit_c, planner
from kit.compile.ops import KERNELS_DIR, OP_NAMES, OPS, RUNTIME_HEADER, OpSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADER = REPO_ROOT / RUNTIME_HEADER
KERNELS = REPO_ROOT / KERNELS_DIR
KERNEL_DECLARATIONS = REPO_ROOT / "firmware" / "runtime" / "src" / "kit_kernels.h"
EXECUTOR = REPO_ROOT / "firmware" / "runtime" / "src" / "executor.c"
KERNEL_SIGNATURE = r"int\s+{name}\s*\(\s*const\s+kit_op_t\s*\*\s*op\s*,\s*const\s+kit_model_t\s*\*\s*m\s*,\s*uint8_t\s*\*\s*arena\s*\)\s*\{{"


def c_op_list(header_text: str) -> list[tuple[str, str]]:
    """(NAME, name) of every X(...) line of `#define KIT_OPS(X)`, in order."""
    match = re.search(r"^#define KIT_OPS\(X\)((?:.*\\\n)*.*)$", header_text, re.MULTILINE)
    assert match, f"{RUNTIME_HEADER} defines no KIT_OPS(X) list"
    body = match.group(1).replace("\\\n", "\n")
    return re.findall(r"\bX\(\s*(\w+)\s*,\s*(\w+)\s*\)", body)


def registry_mismatches(c_ops: Sequence[tuple[str, str]], specs: Sequence[OpSpec]) -> list[str]:
    """Every way the C list and the registry disagree (empty: they agree)."""
    c_names = [name for name, _ in c_ops]
    py_names = [spec.name for spec in specs]
    problems = [f"{name} is in KIT_OPS but not in kit.compile.ops" for name in c_names if name not in py_names]
    problems += [f"{name} is in kit.compile.ops but not in KIT_OPS" for name in py_names if name not in c_names]
    for label, names in (("KIT_OPS", c_names), ("kit.compile.ops", py_names)):
        problems += [f"{name} appears twice in {label}" for name in sorted({n for n in names if names.count(n) > 1})]
    if not problems and c_names != py_names:
        first = next(i for i, (c, p) in enumerate(zip(c_names, py_names)) if c != p)
        problems.append(f"enum value {first} is {c_names[first]} in KIT_OPS but {py_names[first]} in kit.compile.ops")
    by_name = {spec.name: spec for spec in specs}
    for name, kernel in c_ops:
        if name in by_name and f"kit_op_{kernel}" != by_name[name].kernel:
            problems.append(f"{name}: KIT_OPS names kernel kit_op_{kernel}, kit.compile.ops {by_name[name].kernel}")
    return problems


def kernel_definitions(kernels_dir: Path) -> dict[str, str]:
    """kit_op_* function -> the kernels/ file defining it."""
    found = {}
    for path in sorted(kernels_dir.glob("*.c")):
        for name in re.findall(KERNEL_SIGNATURE.format(name=r"(kit_op_\w+)"), path.read_text()):
            found[name] = path.name
    return found


def kernel_file_mismatches(kernels_dir: Path, specs: Sequence[OpSpec]) -> list[str]:
    """Ops whose kernel is not where the registry says, kernels and files no op registers."""
    defined = kernel_definitions(kernels_dir)
    problems = [
        f"{spec.name}: {spec.kernel} is not defined in {KERNELS_DIR}/{spec.kernel_file}"
        for spec in specs
        if defined.get(spec.kernel) != spec.kernel_file
    ]
    registered = {spec.kernel for spec in specs}
    problems += [f"{kernel} in {path} is no op's kernel" for kernel, path in defined.items() if kernel not in registered]
    files = {spec.kernel_file for spec in specs}
    problems += [f"{path.name} holds no registered kernel" for path in sorted(kernels_dir.glob("*.c")) if path.name not in files]
    return problems


def _extra_op() -> OpSpec:
    return dataclasses.replace(OPS[-1], name="SQUARE", builtin_code=92, kernel_file="square.c")


# ---------------------------------------------------------------------------- C list == registry


def test_c_op_list_equals_the_registry():
    c_ops = c_op_list(HEADER.read_text())
    assert registry_mismatches(c_ops, OPS) == []
    assert len(c_ops) == len(OPS) > 0


def test_an_op_only_in_c_is_caught():
    last = f"    X({OPS[-1].name}, {OPS[-1].name.lower()})"
    text = HEADER.read_text().replace(last, last + " \\\n    X(SQUARE, square)")
    assert c_op_list(text)[-1] == ("SQUARE", "square")
    assert registry_mismatches(c_op_list(text), OPS) == ["SQUARE is in KIT_OPS but not in kit.compile.ops"]


def test_an_op_only_in_the_registry_is_caught():
    c_ops = c_op_list(HEADER.read_text())
    assert registry_mismatches(c_ops, (*OPS, _extra_op())) == ["SQUARE is in kit.compile.ops but not in KIT_OPS"]


def test_a_different_order_or_kernel_is_caught():
    c_ops = c_op_list(HEADER.read_text())
    swapped = [c_ops[1], c_ops[0], *c_ops[2:]]
    assert registry_mismatches(swapped, OPS) == [
        f"enum value 0 is {OPS[1].name} in KIT_OPS but {OPS[0].name} in kit.compile.ops"
    ]
    renamed = [(c_ops[0][0], "conv"), *c_ops[1:]]
    assert registry_mismatches(renamed, OPS) == [f"{OPS[0].name}: KIT_OPS names kernel kit_op_conv, kit.compile.ops {OPS[0].kernel}"]


def test_kernels_and_tables_come_only_from_the_list():
    """kit_kernels.h declares the kernels and executor.c builds its tables from KIT_OPS; a
    hand-written prototype, kernel pointer or op name there would be a second list."""
    declarations = KERNEL_DECLARATIONS.read_text()
    assert "KIT_OPS(" in declarations
    assert not re.search(r"^\s*int\s+kit_op_\w+\s*\(", declarations, re.MULTILINE)
    executor = EXECUTOR.read_text()
    assert executor.count("KIT_OPS(") == 2
    assert not re.search(r"\bkit_op_(?!t\b|hook_t\b|type_t\b)\w+", executor)
    assert not any(f'"{name}"' in executor for name in OP_NAMES)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_built_runtime_has_the_registry_enum_and_names(tmp_path):
    """The compiled executor, not just the header text: KIT_OP_<NAME> has the registry index
    as its value and kit_model_op_name reports the registry name."""
    from kit.runtime_host.build import include_flags, runtime_sources, warning_flags

    enum_checks = "\n".join(f"    printf(\"%d\\n\", (int){spec.c_enum});" for spec in OPS)
    program = tmp_path / "names.c"
    program.write_text(
        "#include <stdio.h>\n#include \"kit_runtime.h\"\n"
        "int main(void) {\n"
        "    static kit_op_t ops[KIT_OP_COUNT];\n"
        "    kit_model_t model = {0};\n"
        "    int i;\n"
        "    for (i = 0; i < KIT_OP_COUNT; ++i) ops[i].type = i;\n"
        "    model.num_ops = KIT_OP_COUNT;\n"
        "    model.ops = ops;\n"
        "    printf(\"%d\\n\", (int)KIT_OP_COUNT);\n"
        f"{enum_checks}\n"
        "    for (i = 0; i < KIT_OP_COUNT; ++i) printf(\"%s\\n\", kit_model_op_name(&model, (uint32_t)i));\n"
        "    return 0;\n}\n"
    )
    binary = tmp_path / "names"
    built = subprocess.run(
        ["gcc", "-std=c99", "-O0", *warning_flags(), *include_flags(), str(program),
         *map(str, runtime_sources()), "-o", str(binary)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr
    lines = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.split()
    count = len(OPS)
    assert lines[0] == str(count)
    assert lines[1 : 1 + count] == [str(i) for i in range(count)]
    assert tuple(lines[1 + count :]) == OP_NAMES


# ---------------------------------------------------------------------------- each op is complete


def test_names_are_unique_tflite_builtins():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    assert len(set(OP_NAMES)) == len(OP_NAMES)
    for spec in OPS:
        assert getattr(schema.BuiltinOperator, spec.name, None) == spec.builtin_code, spec.name
        assert spec.options is None or hasattr(schema, spec.options), (spec.name, spec.options)


def test_every_op_has_a_planner_function_and_an_emitter():
    for spec in OPS:
        assert callable(getattr(planner, spec.planner, None)), f"{spec.name}: no kit.compile.planner.{spec.planner}"
        assert callable(getattr(emit_c._OpEmitter, spec.emitter, None)), f"{spec.name}: no _OpEmitter.{spec.emitter}"


def test_a_missing_planner_function_or_emitter_is_refused():
    """planner.py and emit_c.py look every entry's function up at import, so a registry entry
    without one stops `import kit.compile.planner` with a message naming it."""
    with pytest.raises(LookupError, match="_resolve_square"):
        planner._lowering(dataclasses.replace(_extra_op(), planner="_resolve_square"))
    with pytest.raises(LookupError, match="op_square"):
        emit_c._emitter(dataclasses.replace(_extra_op(), emitter="op_square"))


def test_every_op_has_its_kernel_file_and_every_kernel_file_is_registered():
    assert kernel_file_mismatches(KERNELS, OPS) == []


def test_an_unregistered_kernel_file_or_a_missing_kernel_is_caught(tmp_path):
    copy = tmp_path / "kernels"
    shutil.copytree(KERNELS, copy)
    (copy / "square.c").write_text(
        '#include "kit_kernels.h"\n'
        "int kit_op_square(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {\n    return 0;\n}\n"
    )
    assert kernel_file_mismatches(copy, OPS) == [
        "kit_op_square in square.c is no op's kernel", "square.c holds no registered kernel",
    ]
    (copy / "square.c").unlink()
    assert kernel_file_mismatches(copy, (*OPS, _extra_op())) == [
        f"SQUARE: kit_op_square is not defined in {KERNELS_DIR}/square.c"
    ]
