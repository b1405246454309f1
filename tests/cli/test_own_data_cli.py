"""`kit train LAB --source DIR` checks the folder before anything heavy: a bad folder fails in a
fresh process with exit code 2, naming the folder, without TensorFlow ever being imported."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
PROBE = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: print('tensorflow loaded:', 'tensorflow' in sys.modules, file=sys.stderr))\n"
         "sys.argv = ['kit'] + sys.argv[1:]\n"
         "runpy.run_module('kit', run_name='__main__')\n")


def kit_in_subprocess(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "host"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120)


def write_clips(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for number in range(count):
        with wave.open(str(folder / f"take{number}.wav"), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(16000)
            handle.writeframes(np.zeros(16000, "<i2").tobytes())


def test_too_few_clips_fail_first_without_tensorflow(tmp_path):
    write_clips(tmp_path / "own" / "box", 6)
    write_clips(tmp_path / "own" / "wheel", 2)
    result = kit_in_subprocess("train", "kws", "--source", str(tmp_path / "own"))
    err = " ".join(result.stderr.split())
    assert result.returncode == 2, err
    assert "wheel has 2 clips" in err and "at least 5" in err and "fix:" in err
    assert "tensorflow loaded: False" in err


def test_a_broken_wav_fails_first_without_tensorflow(tmp_path):
    write_clips(tmp_path / "own" / "box", 5)
    write_clips(tmp_path / "own" / "wheel", 5)
    (tmp_path / "own" / "wheel" / "take3.wav").write_bytes(b"not a wav file, just text")
    result = kit_in_subprocess("train", "kws", "--source", str(tmp_path / "own"))
    err = " ".join(result.stderr.split())
    assert result.returncode == 2 and "take3.wav is not a WAV file" in err
    assert "tensorflow loaded: False" in err


def test_validate_checks_the_folder_before_starting_a_board(tmp_path):
    write_clips(tmp_path / "own" / "box", 5)
    result = kit_in_subprocess("validate", "emu-cortex-m4", "kws", "--source", str(tmp_path / "own"))
    err = " ".join(result.stderr.split())
    assert result.returncode == 2 and "at least 2 classes" in err and "tensorflow loaded: False" in err
