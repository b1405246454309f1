"""kit.data.layout: a --source folder is checked from names and file headers alone, fast,
and every mistake is an error naming the file or folder and the fix."""

from __future__ import annotations

import struct
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kit.data.layout import MIN_EXAMPLES, check_source, wav_seconds
from kit.data.spec import lab_spec
from kit.errors import DataError

KWS, MOTION, VWW, ANOMALY = (lab_spec(name) for name in ("kws", "motion", "visual-wake-words", "anomaly"))


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((0.2 * np.sin(np.arange(int(rate * seconds)) / 5) * 32767).astype("<i2").tobytes())


def audio_folder(root: Path, classes=("box", "wheel"), count: int = MIN_EXAMPLES) -> Path:
    for label in classes:
        for number in range(count):
            write_wav(root / label / f"c{number}.wav")
    return root


def test_summary_counts_each_class_in_sorted_order(tmp_path):
    root = audio_folder(tmp_path / "own", classes=("wheel", "box", "_silence_"), count=6)
    (root / "box" / "notes.txt").write_text("not audio")
    (root / ".DS_Store").mkdir()
    layout = check_source(KWS, root)
    assert layout.labels == ["_silence_", "box", "wheel"] and layout.files == 18
    line = layout.summary()
    assert "3 classes (_silence_ 6, box 6, wheel 6 clips)" in line and "18 files checked" in line
    assert "ignored 1 non-.wav file(s) in box/ (notes.txt)" in line


def test_folders_named_like_the_lab_keep_its_order(tmp_path):
    root = audio_folder(tmp_path / "kws", classes=tuple(KWS.labels))
    assert check_source(KWS, root).labels == KWS.labels


def test_a_few_hundred_files_are_checked_in_well_under_a_second(tmp_path):
    root = audio_folder(tmp_path / "own", classes=("a", "b", "c", "d"), count=75)
    start = time.perf_counter()
    layout = check_source(KWS, root)
    assert layout.files == 300 and time.perf_counter() - start < 1.0


def test_streamed_wav_with_zero_sizes_is_read_from_the_file_length(tmp_path):
    """espeak-ng --stdout and some recorders leave the RIFF and data sizes at 0."""
    path = tmp_path / "streamed.wav"
    write_wav(path, seconds=0.5)
    data = bytearray(path.read_bytes())
    data[4:8] = b"\0\0\0\0"
    data[data.index(b"data") + 4:data.index(b"data") + 8] = b"\0\0\0\0"
    path.write_bytes(bytes(data))
    assert wav_seconds(path) == pytest.approx(0.5)


@pytest.mark.parametrize("name, content, message", [
    ("empty.wav", b"", "is empty (0 bytes)"),
    ("voice.wav", b"ID3\x03\x00 an mp3 renamed", "is not a WAV file"),
    ("nofmt.wav", b"RIFF\x10\x00\x00\x00WAVEdata\x04\x00\x00\x00\x00\x00\x00\x00", "has no fmt chunk"),
    ("click.wav", None, "ms of audio"),
])
def test_a_broken_clip_is_named(tmp_path, name, content, message):
    root = audio_folder(tmp_path / "own")
    if content is None:
        write_wav(root / "wheel" / name, seconds=0.01)
    else:
        (root / "wheel" / name).write_bytes(content)
    with pytest.raises(DataError) as caught:
        check_source(KWS, root)
    assert name in caught.value.message and message in caught.value.message and caught.value.hint


def test_unsupported_wav_encoding_says_how_to_convert(tmp_path):
    root = audio_folder(tmp_path / "own")
    fmt = struct.pack("<HHIIHH", 2, 1, 16000, 8000, 1, 4)  # MS ADPCM
    (root / "box" / "adpcm.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
                                             + b"data\x04\x00\x00\x00\x01\x02\x03\x04")
    with pytest.raises(DataError) as caught:
        check_source(KWS, root)
    assert "adpcm.wav" in caught.value.message and "sox" in caught.value.hint


def test_files_directly_in_the_folder_are_refused(tmp_path):
    root = audio_folder(tmp_path / "own")
    write_wav(root / "stray.wav")
    with pytest.raises(DataError) as caught:
        check_source(KWS, root)
    assert "stray.wav" in caught.value.message and "sub-folder" in caught.value.hint


def test_one_class_is_not_a_classifier(tmp_path):
    root = audio_folder(tmp_path / "own", classes=("box",))
    with pytest.raises(DataError, match="at least 2 classes"):
        check_source(KWS, root)


def test_too_few_examples_name_the_folder(tmp_path):
    root = audio_folder(tmp_path / "own", count=MIN_EXAMPLES)
    (root / "box" / "c0.wav").unlink()
    with pytest.raises(DataError) as caught:
        check_source(KWS, root)
    assert str(root / "box") in caught.value.message and f"at least {MIN_EXAMPLES}" in caught.value.message


def test_a_folder_of_other_files_names_what_it_holds(tmp_path):
    root = audio_folder(tmp_path / "own")
    (root / "lid").mkdir()
    (root / "lid" / "take1.m4a").write_bytes(b"\0\0\0 ftypM4A ")
    with pytest.raises(DataError) as caught:
        check_source(KWS, root)
    assert "lid" in caught.value.message and "take1.m4a" in caught.value.message and "sox" in caught.value.hint


def test_images_are_checked_from_their_headers(tmp_path):
    root = tmp_path / "images"
    for label in ("cup", "pen"):
        (root / label).mkdir(parents=True)
        for number in range(MIN_EXAMPLES):
            Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(root / label / f"i{number}.jpg")
    assert check_source(VWW, root).summary().startswith(f"{root}: 2 classes (cup 5, pen 5 images)")
    (root / "pen" / "bad.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match="bad.png"):
        check_source(VWW, root)


def test_imu_windows_are_counted_from_rows(tmp_path):
    root = tmp_path / "motion"
    for label in ("shake", "still"):
        (root / label).mkdir(parents=True)
        rows = "\n".join("0.1,0.2,1.0" for _ in range(250))  # 5 s at 50 Hz: 2 windows of 100
        for number in range(3):
            (root / label / f"r{number}.csv").write_text("ax,ay,az\n" + rows + "\n")
    layout = check_source(MOTION, root)
    assert [folder.examples for folder in layout.classes] == [6, 6] and "windows" in layout.summary()
    (root / "still" / "one_column.csv").write_text("ax\n" + "0.1\n" * 120)
    with pytest.raises(DataError, match="one_column.csv has 1 data column"):
        check_source(MOTION, root)


def test_anomaly_lab_needs_its_normal_folder(tmp_path):
    root = tmp_path / "motor"
    (root / "quiet").mkdir(parents=True)
    with pytest.raises(DataError) as caught:
        check_source(ANOMALY, root)
    assert "normal" in caught.value.message and str(root / "normal") in caught.value.hint
