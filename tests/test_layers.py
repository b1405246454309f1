"""Data moves one way: a package of kit may import only packages of its own or a lower layer
(catalog at the bottom, cli at the top; docs/ARCHITECTURE.md). Every import in host/kit is
read with ast, at any depth (also imports inside functions, which hide cycles from Python).

No exception is listed: an import from a lower layer to a higher one fails the test, naming
the files."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[1] / "host" / "kit"

# Lower numbers are lower layers. Packages of one layer may import each other.
LAYERS: dict[str, int] = {
    "errors": 0,
    "paths": 1, "npyfile": 1, "procs": 1,
    "catalog": 2, "tflm": 2, "features": 2,
    "data": 3,
    "compile": 4,
    "train": 5, "importers": 5,
    "build": 6, "bench": 6,
    "link": 7, "protocol": 7, "upload": 7, "deploy": 7, "runtime_host": 7,
    "targets": 8,
    "device": 9, "farm": 9,
    "report": 10,
    "doctor": 11, "cli": 11,
}


def package_of(path: Path) -> str:
    relative = path.relative_to(KIT)
    return relative.parts[0].removesuffix(".py")


def imported_packages(path: Path) -> set[str]:
    """kit packages `path` imports (absolute `kit.X...` imports; relative ones stay inside)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if node.module == "kit"]
        for name in names:
            parts = name.split(".")
            if parts[0] == "kit" and len(parts) > 1 and not parts[1].startswith("__"):
                found.add(parts[1])
    return found


def upward_imports() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) -> files, for every import from a lower layer to a higher one."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(KIT.rglob("*.py")):
        importer = package_of(path)
        if importer in ("__init__", "__main__"):  # the package itself (`python -m kit`)
            continue
        for imported in imported_packages(path) - {importer}:
            if LAYERS[imported] > LAYERS[importer]:
                found.setdefault((importer, imported), []).append(str(path.relative_to(KIT)))
    return found


def test_every_package_has_a_layer():
    packages = {package_of(path) for path in KIT.rglob("*.py")} - {"__init__", "__main__"}
    assert packages == set(LAYERS), "add the new package to LAYERS (and docs/ARCHITECTURE.md)"


def test_no_new_import_goes_up_a_layer():
    found = upward_imports()
    assert not found, f"imports from a lower layer to a higher one: {found}"


def test_an_upward_import_is_found(tmp_path, monkeypatch):
    """The scan is not vacuous: a planted import from compile (layer 4) into targets fails it."""
    fake_kit = tmp_path / "kit"
    for package in ("compile", "targets"):
        (fake_kit / package).mkdir(parents=True)
        (fake_kit / package / "__init__.py").write_text("")
    (fake_kit / "compile" / "planted.py").write_text("def f():\n    from kit.targets import flash\n")
    monkeypatch.setattr(sys.modules[__name__], "KIT", fake_kit)
    assert upward_imports() == {("compile", "targets"): ["compile/planted.py"]}
