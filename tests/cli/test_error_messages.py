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


@pytest.mark.parametrize("args", [
    ["convert", str(KWS_MODEL), "--out", "/proc/kit-no-such/out"],
    ["project", "nicla-vision", "kws", "--out", "/proc/kit-no-such/project"],
])
def test_unwritable_out_folder(args: list[str]) -> None:
    assert_clean_error(run(args), "cannot create the --out folder", args[-1])


def _bad_npy_files(folder: Path) -> dict[str, str]:
    """File name -> what the error must say about it."""
    import numpy as np

    (folder / "text.npy").write_text("0.1, 0.2\n")
    (folder / "empty.npy").write_bytes(b"")
    np.save(folder / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(folder / "archive.npz", x=np.zeros(3, np.int8))
    (folder / "a-folder").mkdir()
    truncated = folder / "truncated.npy"
    np.save(truncated, np.zeros((1, 49, 10, 1), np.int8))
    truncated.write_bytes(truncated.read_bytes()[:200])
    return {"text.npy": "not a .npy file", "empty.npy": "empty (0 bytes)", "objects.npy": "Python objects",
            "archive.npz": ".npz archive", "a-folder": "is a folder", "truncated.npy": "truncated",
            "missing.npy": "no such file"}


def test_invoke_unreadable_input_file(tmp_path: Path) -> None:
    for name, says in _bad_npy_files(tmp_path).items():
        result = run(["invoke", "host", "--model", "kws", "--input", str(tmp_path / name),
                      "--output", str(tmp_path / "out.npy")])
        assert_clean_error(result, f"cannot read input file {tmp_path / name}", says, "numpy.save")


def test_import_unreadable_calibration_file(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not read: the calibration file is refused first")
    for name, says in _bad_npy_files(tmp_path).items():
        if name in ("missing.npy", "a-folder"):
            continue  # click's own Path(exists=True, dir_okay=False) refuses these
        result = run(["import", str(model), "--calibration", str(tmp_path / name)])
        assert_clean_error(result, "cannot read calibration file", says)


def test_invoke_output_paths(tmp_path: Path) -> None:
    import numpy as np

    inputs = tmp_path / "in.npy"
    np.save(inputs, np.zeros((1, 49, 10, 1), np.int8))
    base = ["invoke", "host", "--model", "kws", "--input", str(inputs), "--output"]
    assert_clean_error(run([*base, "/proc/kit-no-such/out.npy"]), "cannot create the folder for --output")
    assert_clean_error(run([*base, str(tmp_path)]), f"--output {tmp_path} is a folder")
    # a name without .npy is written as given (numpy.save alone would write out.npy and the CLI would lie)
    result = run([*base, str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "out").shape == (1, 12)


@pytest.mark.parametrize("args", [["bench", "host"], ["validate", "host", "kws", "--limit", "1"]])
def test_bench_and_validate_on_the_host_board(args: list[str]) -> None:
    result = run(args)
    assert_clean_error(result, "host is this computer", "kit invoke host")
    assert "--port" not in result.output


def test_stop_with_nothing_running_says_so(tmp_path):
    result = run(["stop", "--all"], env={"KIT_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0 and "nothing to stop" in result.output


def test_flash_with_an_unknown_lab_names_it_before_touching_ports(tmp_path):
    result = run(["flash", "nicla-vision", "kws2"], env={"KIT_HOME": str(tmp_path / "home")})
    assert_clean_error(result, "unknown lab 'kws2'", "did you mean 'kws'?")
    assert "serial port" not in result.output
