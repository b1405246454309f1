"""What a first-hour workshop student sees when they get a path or file wrong: a clean
`error: ... / fix: ...` and exit code 2, never a Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kit.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
KWS_MODEL = REPO_ROOT / "models" / "kws" / "model.tflite"


def run(args: list[str], env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def assert_clean_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "error:" in result.output and "fix:" in result.output, result.output
    text = " ".join(result.output.split())
    for needle in needles:
        assert needle in text, result.output


@pytest.mark.parametrize("home", ["/proc/kit-home-test", "FILE/sub"])
def test_unwritable_kit_home(tmp_path: Path, home: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    home = home.replace("FILE", str(blocker))
    result = run(["stop", "--all"], env={"KIT_HOME": home})
    assert_clean_error(result, "KIT_HOME folder", home, "set KIT_HOME")
