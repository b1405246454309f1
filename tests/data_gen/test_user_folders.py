"""The user's own data: one sub-folder per class, for each modality, and the errors that guide them."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kit.data import load_dataset
from kit.errors import DataError

KWS_LABELS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_"]


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def make_kws_folder(root: Path, files_per_class: int = 5, labels: list[str] = KWS_LABELS) -> Path:
    for index, label in enumerate(labels):
        (root / label).mkdir(parents=True)
        for number in range(files_per_class):
            rate = 22050 if number % 2 else 8000     # resampled to 16 kHz
            seconds = 1.3 if number == 0 else 0.6     # cropped / padded to 1 s
            t = np.arange(int(rate * seconds)) / rate
            write_wav(root / label / f"clip{number}.wav", 0.3 * np.sin(2 * np.pi * (200 + 150 * index) * t), rate)
    return root


def test_wav_folder_becomes_mfcc_features(tmp_path):
    dataset = load_dataset("kws", seed=0, source=make_kws_folder(tmp_path / "kws"))
    copies = dataset.metadata["augmented_copies"]
    assert copies >= 1 and len(dataset.x_val) + len(dataset.x_test) + len(dataset.x_train) // (copies + 1) == 5 * 12
    assert dataset.labels == KWS_LABELS  # folders named exactly like the lab's classes keep its order
    assert dataset.x_train.shape[1:] == (49, 10, 1) and dataset.x_train.dtype == np.float32
    assert dataset.metadata["generator"] == "user-folder"
    assert all(g.endswith(".wav") for g in dataset.test_groups)
    assert set(dataset.y_test.tolist()) == set(range(len(KWS_LABELS)))   # every class tested


def test_user_split_depends_on_seed_only(tmp_path):
    folder = make_kws_folder(tmp_path / "kws")
    first = load_dataset("kws", seed=3, source=folder, use_cache=False)
    again = load_dataset("kws", seed=3, source=folder, use_cache=False)
    assert np.array_equal(first.test_groups, again.test_groups) and np.array_equal(first.x_train, again.x_train)


def test_png_and_jpeg_folder_is_resized_to_96(tmp_path):
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for label in ("no_person", "person"):
        (root / label).mkdir(parents=True)
        for number in range(5):
            pixels = rng.integers(0, 255, (60 + number * 20, 80, 3), dtype=np.uint8)
            suffix = "png" if number % 2 else "jpg"
            Image.fromarray(pixels).save(root / label / f"frame{number}.{suffix}")
        (root / label / "notes.txt").write_text("ignored: not an image")
    dataset = load_dataset("visual-wake-words", seed=0, source=root)
    assert dataset.x_train.shape[1:] == (96, 96, 3)
    assert 0.0 <= dataset.x_train.min() and dataset.x_train.max() <= 1.0
    copies = dataset.metadata["augmented_copies"]
    assert len(dataset.y_val) + len(dataset.y_test) + len(dataset.y_train) // (copies + 1) == 10
    assert dataset.x_train.dtype == np.float32 and dataset.x_train.shape[0] == dataset.y_train.shape[0]


def write_csv(path: Path, signal: np.ndarray, header: str | None) -> None:
    lines = [header] if header else []
    lines += [",".join(f"{v:.5f}" for v in row) for row in signal]
    path.write_text("\n".join(lines) + "\n")


def test_csv_recordings_are_cut_into_windows(tmp_path):
    root = tmp_path / "motion"
    rng = np.random.default_rng(1)
    for index, label in enumerate(("idle", "lift", "maritime", "terrestrial")):
        (root / label).mkdir(parents=True)
        for number in range(4):
            samples = 250 if number == 0 else 100      # 5 s -> 2 windows (rest dropped), 2 s -> 1 window
            signal = rng.normal(0, 0.01 * (index + 1), (samples, 3)) + [0, 0, 1]
            if number == 2:    # a time column and the axes in another order
                t = np.arange(samples)[:, None] * 20
                write_csv(root / label / f"rec{number}.csv", np.hstack([t, signal[:, [2, 0, 1]]]), "timestamp,az,ax,ay")
            else:
                write_csv(root / label / f"rec{number}.csv", signal, "ax,ay,az" if number else None)
    dataset = load_dataset("motion", seed=0, source=root)
    assert dataset.x_train.shape[1:] == (57,)
    copies = dataset.metadata["augmented_copies"]
    counts = [int(dataset.metadata["counts"]["train"][label] // (copies + 1)
                  + sum(dataset.metadata["counts"][s][label] for s in ("val", "test"))) for label in dataset.labels]
    assert counts == [5, 5, 5, 5]
    # whole recordings stay in one split
    names = dataset.test_groups.tolist()
    assert len(names) == len(set(names)) or all(n.endswith("rec0.csv") for n in names if names.count(n) > 1)


def test_anomaly_folder_trains_on_normal_only(tmp_path):
    root = tmp_path / "motor"
    rng = np.random.default_rng(2)
    for label in ("normal", "anomaly"):
        (root / label).mkdir(parents=True)
        for number in range(5):
            write_csv(root / label / f"w{number}.csv", rng.normal(0, 0.1, (256, 3)), "ax,ay,az")
    dataset = load_dataset("anomaly", seed=0, source=root)
    assert (dataset.y_train == 0).all() and (dataset.y_val == 0).all()
    assert (dataset.y_test == 1).sum() == 5 and dataset.labels == ["normal", "anomaly"]
    assert dataset.x_test.shape[1:] == (96,)


def test_folder_names_are_the_classes_in_sorted_order(tmp_path):
    root = make_kws_folder(tmp_path / "own", labels=["wheel", "box", "_silence_"])
    dataset = load_dataset("kws", source=root)
    assert dataset.labels == ["_silence_", "box", "wheel"]
    assert set(dataset.y_test.tolist()) == {0, 1, 2}


def test_class_with_too_few_files_names_the_folder(tmp_path):
    root = make_kws_folder(tmp_path / "own", labels=["box", "wheel"])
    (root / "wheel" / "clip4.wav").unlink()
    with pytest.raises(DataError) as caught:
        load_dataset("kws", source=root)
    assert "wheel" in caught.value.message and "4 clips" in caught.value.message and "at least 5" in caught.value.message


def test_empty_class_folder_is_an_error(tmp_path):
    root = make_kws_folder(tmp_path / "kws", files_per_class=5, labels=["box", "wheel"])
    for path in (root / "wheel").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="no .wav files"):
        load_dataset("kws", source=root)


@pytest.mark.parametrize("lab, label, name, content", [
    ("kws", "yes", "broken.wav", b"RIFF....WAVEnot really"),
    ("visual-wake-words", "no_person", "broken.png", b"\x89PNG\r\n\x1a\n truncated"),
    ("motion", "idle", "broken.csv", b"ax,ay,az\n0.1,0.2,hello\n"),
])
def test_unreadable_file_is_named(tmp_path, lab, label, name, content):
    root = tmp_path / "data"
    labels = {"kws": KWS_LABELS, "visual-wake-words": ["no_person", "person"],
              "motion": ["idle", "lift", "maritime", "terrestrial"]}[lab]
    for other in labels:  # every class gets enough good files, so only the broken one is at fault
        (root / other).mkdir(parents=True)
        for number in range(5):
            if lab == "kws":
                write_wav(root / other / f"good{number}.wav", np.zeros(8000), 16000)
            elif lab == "motion":
                write_csv(root / other / f"good{number}.csv", np.zeros((100, 3)), "ax,ay,az")
            else:
                Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / other / f"good{number}.png")
    (root / label / name).write_bytes(content)
    with pytest.raises(DataError) as caught:
        load_dataset(lab, source=root)
    assert name in caught.value.message


def test_short_csv_names_the_file_and_the_window(tmp_path):
    root = tmp_path / "motion"
    for label in ("idle", "lift", "maritime", "terrestrial"):
        (root / label).mkdir(parents=True)
        write_csv(root / label / "short.csv", np.zeros((10, 3)), "ax,ay,az")
    with pytest.raises(DataError, match=r"short.csv has 10 samples, fewer than one 100-sample window"):
        load_dataset("motion", source=root)


def test_missing_source_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("motion", source=tmp_path / "nowhere")


def test_validation_reads_only_the_named_held_out_files(tmp_path):
    from kit.data.dataset import load_source_examples

    root = make_kws_folder(tmp_path / "own", labels=["box", "wheel"])
    x, y, files = load_source_examples("kws", root, ["box", "wheel"], ["wheel/clip1.wav", "box/clip3.wav"])
    assert x.shape == (2, 49, 10, 1) and sorted(files.tolist()) == ["box/clip3.wav", "wheel/clip1.wav"]
    assert {(f, int(label)) for f, label in zip(files, y)} == {("box/clip3.wav", 0), ("wheel/clip1.wav", 1)}
    with pytest.raises(DataError, match="not classes of this model"):
        load_source_examples("kws", root, ["box", "lid"])


@pytest.mark.parametrize(("encoding", "channels"), [
    (["-b", "8", "-e", "unsigned-integer"], 1), (["-b", "16"], 2), (["-b", "24"], 1), (["-b", "32", "-e", "signed-integer"], 2),
    (["-b", "32", "-e", "floating-point"], 1), (["-b", "32", "-e", "floating-point"], 2),
])
def test_wav_files_of_every_common_encoding_read_as_the_same_audio(tmp_path, encoding, channels):
    """8/16/24/32-bit integer and 32-bit float WAV (Audacity's default export), mono or
    stereo, as sox writes them, all read as the same mono signal."""
    import subprocess

    from kit.data.audio import read_wav

    reference = tmp_path / "reference.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(reference), "synth", "0.5", "sine", "440", "vol", "0.5"], check=True)
    other = tmp_path / "other.wav"
    subprocess.run(["sox", str(reference), "-c", str(channels), *encoding, str(other)], check=True)
    expected, rate = read_wav(reference)
    audio, other_rate = read_wav(other)
    assert rate == other_rate == 16000 and audio.shape == expected.shape == (8000,)
    tolerance = 1 / 64 if encoding[1] == "8" else 1e-4
    assert np.max(np.abs(audio - expected)) <= tolerance
    assert 0.45 < np.max(np.abs(audio)) < 0.55
