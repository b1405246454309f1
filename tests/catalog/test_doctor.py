"""kit doctor: JSON structure, a missing tool yields its fix, and the individual checks."""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import subprocess
from collections import namedtuple
from pathlib import Path

import pytest
from click.testing import CliRunner

from kit import doctor
from kit.cli import main


def partial_path(tmp_path: Path, keep: tuple[str, ...]) -> str:
    """A PATH holding only `keep`: links to the real installed programs, so the machine
    looks as if everything else were not installed."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for program in keep:
        real = shutil.which(program)
        assert real, f"{program} is installed by scripts/setup.sh"
        (folder / program).symlink_to(real)
    return str(folder)


def test_json_structure_and_exit_code_when_a_compiler_is_missing(tmp_path: Path) -> None:
    path = partial_path(tmp_path, keep=("gcc", "sh", "qemu-system-arm"))
    result = CliRunner().invoke(main, ["doctor", "--json"], env={"PATH": path})
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["ok"] is False
    for check in report["checks"]:
        assert set(check) == {"category", "name", "status", "required", "detail", "fix"}
        assert check["status"] in ("ok", "warn", "missing")
        if check["status"] != "ok":
            assert check["fix"], check
    by_name = {check["name"]: check for check in report["checks"]}
    arm = by_name["arm-none-eabi-gcc"]
    assert arm["status"] == "missing" and arm["required"] is True
    assert "apt-get install" in arm["fix"] and "gcc-arm-none-eabi" in arm["fix"]
    real_qemu = subprocess.run(["qemu-system-arm", "--version"], capture_output=True, text=True).stdout
    version = re.search(r"version (\S+)", real_qemu).group(1)
    assert by_name["qemu-system-arm"]["status"] == "ok" and by_name["qemu-system-arm"]["detail"].startswith(version)
    assert by_name["gcc"]["status"] == "ok"
    assert {"python", "tools", "platformio", "serial", "disk"} <= {check["category"] for check in report["checks"]}


def test_table_prints_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["doctor"], env={"PATH": partial_path(tmp_path, keep=()), "COLUMNS": "300"})
    assert result.exit_code == 1
    row = next(line for line in result.output.splitlines() if "qemu-system-riscv32" in line)
    assert "missing" in row and "sudo apt-get install -y --no-install-recommends qemu-system-misc" in row
    assert "kit doctor: not ready:" in result.output and "required checks failed" in result.output
    assert "problem(s)" not in result.output


def test_complete_machine_passes() -> None:
    checks = doctor.check_tools(os.environ.get("PATH"))
    missing = [check.name for check in checks if check.status == "missing"]
    assert missing == [], "this project's machines have every required tool"


def test_python_pins_are_compared() -> None:
    checks = {check.name: check for check in doctor.check_python_packages({"click": "0.0.1", "no-such-dist-kit": "1.0", "rich": None})}
    assert checks["click"].status == "warn" and "tested with 0.0.1" in checks["click"].detail
    assert "pip install 'click==0.0.1'" in checks["click"].fix
    assert checks["no-such-dist-kit"].status == "missing" and checks["no-such-dist-kit"].required
    assert checks["rich"].status == "ok"
    assert doctor.pinned_requirements()["pydantic"] == "2.13.4"


def test_serial_permission_for_a_user_outside_the_group() -> None:
    group = doctor.serial_groups()[0]
    outside = doctor.check_serial_permissions(uid=65534, groups=[])
    assert outside.status == "warn" and f"usermod -aG {group}" in outside.fix and "log out" in outside.fix
    inside = doctor.check_serial_permissions(uid=65534, groups=[grp.getgrnam(group).gr_gid])
    assert inside.status == "ok"
    assert doctor.check_serial_permissions(uid=0).status == "ok"


def test_offline_scons_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "kit-home"))
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(tmp_path / "user-pio"))
    scons = {check.name: check for check in doctor.check_platformio()}["offline tool-scons"]
    assert scons.status == "warn" and "kit setup-offline" in scons.fix
    package = tmp_path / "kit-home" / "platformio" / "packages" / "tool-scons"
    package.mkdir(parents=True)
    (package / "package.json").write_text("{}")
    (package / ".piopm").write_text("{}")
    assert {check.name: check for check in doctor.check_platformio()}["offline tool-scons"].status == "ok"


def test_disk_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert doctor.check_disk(tmp_path).status in ("ok", "warn", "missing")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda _: usage(10**12, 10**12, 100 * 1024**2))
    low = doctor.check_disk(tmp_path)
    assert low.status == "missing" and low.required and "KIT_HOME" in low.fix
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda _: usage(10**12, 10**12, 1024**3))
    assert doctor.check_disk(tmp_path).status == "warn"


def test_import_check_catches_a_package_that_breaks_on_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that is installed but raises on import (like a wheel built for another numpy)."""
    (tmp_path / "kit_broken_pkg").mkdir()
    (tmp_path / "kit_broken_pkg" / "__init__.py").write_text("raise ImportError('built for another numpy')\n")
    info = tmp_path / "kit_broken_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kit-broken-pkg\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    pins = {"kit-broken-pkg": "1.0", "click": None}
    quick = {check.name: check for check in doctor.check_python_packages(pins)}
    assert quick["kit-broken-pkg"].status == "ok"  # found on the path: only a real import tells
    deep = {check.name: check for check in doctor.check_python_packages(pins, import_modules=True)}
    assert deep["kit-broken-pkg"].status == "missing"
    assert "built for another numpy" in deep["kit-broken-pkg"].detail and "--force-reinstall" in deep["kit-broken-pkg"].fix
    assert deep["click"].status == "ok" and deep["click"].detail.endswith("(imported)")


def test_missing_platformio_hint_uses_the_pyproject_pin(monkeypatch):
    from kit import doctor

    monkeypatch.setattr(doctor.shutil, "which", lambda *args, **kwargs: None)
    pio = {check.name: check for check in doctor.check_platformio()}["pio"]
    assert pio.status == "missing"
    assert f"platformio=={doctor.pinned_requirements()['platformio']}" in pio.fix
    assert doctor.pinned_requirements()["pillow"] and doctor.MODULE_OF["pillow"] == "PIL"


def test_verdict_counts_and_names_the_problems() -> None:
    ok = doctor.Check("tools", "gcc", "ok", True, "12")
    warn = doctor.Check("tools", "ssh", "warn", False, "", "apt-get install openssh-client")
    failed = doctor.Check("disk", "kit state folder", "missing", True, "", "set KIT_HOME")
    assert doctor.verdict([ok]) == "ready: every check passed"
    assert doctor.verdict([ok, warn]).startswith("ready, with 1 warning (ssh)")
    assert doctor.verdict([failed, warn, warn]).startswith("not ready: 1 required check failed (kit state folder); 2 warnings")


def test_read_only_kit_home_is_a_failed_check(tmp_path: Path) -> None:
    """A read-only KIT_HOME (a read-only mount: permission bits do not stop root) fails the
    doctor with the fix, instead of `ready`."""
    folder = tmp_path / "ro-home"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    try:
        result = CliRunner().invoke(main, ["doctor", "--json"], env={"KIT_HOME": str(folder)})
        by_name = {check["name"]: check for check in json.loads(result.output)["checks"]}
        home = by_name["kit state folder"]
        assert result.exit_code == 1
        assert home["status"] == "missing" and "cannot write" in home["detail"] and "KIT_HOME" in home["fix"]
        nested = doctor.check_kit_home(folder / "not" / "yet")
        assert nested.status == "missing"  # it would be created inside the read-only mount
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    assert doctor.check_kit_home(folder / "new").status == "ok" and "will be created" in doctor.check_kit_home(folder / "new").detail
