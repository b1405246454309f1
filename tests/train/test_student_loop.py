"""The student's loop of the book's kws lab, end to end on the Cortex-M4 twin, with their own
classes: `kit capture` records three new words (not the lab's labels) from the twin's virtual
microphone, fed with recordings of 30 speakers; `kit train kws --source` learns them; `kit flash`
puts the model on the twin; `kit run` classifies the held-out clips with the board computing its
own MFCCs; `kit validate --source` scores the same clips with the host's features. Both must beat
chance (1/3) clearly and agree exactly, since the board's features are the host's bit for bit.
It also holds the checks of training on an own folder: the card's own-data record, the cached
retrain's next steps, and the lab's own test set refused for a model of other classes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.bench.results import read_records
from kit.cli import main
from kit.device.recordings import read_wav
from own_helpers import OWN_WORDS, make_word_folder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
BOARD = "emu-cortex-m4"
CLIPS = 30


def kit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def speaker_recordings(folder: Path, out: Path) -> dict[str, Path]:
    """One continuous 16 kHz recording per word: its 30 one-second takes back to back, what a
    student saying the word 30 times into the board's microphone gives."""
    import wave

    out.mkdir(parents=True)
    recordings = {}
    for word in OWN_WORDS:
        takes = [read_wav(path)[0] for path in sorted((folder / word).glob("*.wav"))]
        assert len(takes) == CLIPS and all(len(take) == 16000 for take in takes)
        recordings[word] = out / f"{word}.wav"
        with wave.open(str(recordings[word]), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(16000)
            handle.writeframes(np.concatenate(takes).astype("<i2").tobytes())
    return recordings


def card_json(out: str) -> dict:
    return json.loads(out[out.index('{\n  "'):])


def test_capture_train_flash_run_validate_own_words_on_the_twin(tmp_path):
    recordings = speaker_recordings(make_word_folder(tmp_path / "speakers", OWN_WORDS, clips=CLIPS),
                                    tmp_path / "recordings")
    captured = tmp_path / "my-words"
    code, _, err = kit("flash", BOARD, "kws")  # any kws firmware records; the student's own comes later
    assert code == 0, err
    try:
        for word, recording in recordings.items():
            code, out, err = kit("capture", BOARD, "--sensor", "mic", "--label", word, "--lab", "kws",
                                 "--seconds", str(CLIPS), "--out", str(captured), "--source", str(recording))
            assert code == 0, err + out
    finally:
        kit("stop", BOARD)
    for word, recording in recordings.items():  # sample-exact: 30 complete 1 s files per word
        files = sorted((captured / word).glob("*.wav"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        assert len(files) == CLIPS
        got = np.concatenate([read_wav(path)[0] for path in files])
        assert np.array_equal(got, read_wav(recording)[0])

    code, out, err = kit("train", "kws", "--source", str(captured), "--json")
    assert code == 0, err
    card = card_json(out)
    assert card["labels"] == sorted(OWN_WORDS)
    model = Path(card["artifacts"]["tflite"])
    own = card["own_data"]
    held_out = own["test_files"]
    assert card["output"]["shape"] == [1, 3] and len(held_out) == card["test_samples"] == 18  # 20% of 3 x 30
    assert own["labels"] == sorted(OWN_WORDS) and own["augmented_copies"] >= 1 and own["base"]
    assert "diagnosis" not in card and "targets" not in card  # the lab's targets are for its classes
    assert Path(card["artifacts"]["keras"]).is_file()
    print(f"own words captured on {BOARD}: float {card['accuracy_float']:.3f}, "
          f"int8 {card['accuracy_int8']:.3f} on {len(held_out)} held-out clips (chance 0.333)")
    assert card["accuracy_int8"] >= 0.6

    code, out, err = kit("train", "kws", "--source", str(captured))  # cached: prints the next steps
    assert code == 0, err
    flat = " ".join(out.split())
    assert f"kit flash BOARD kws --model {model}" in flat
    assert f"kit validate BOARD kws --model {model} --source {captured.resolve()}" in flat

    clips = tmp_path / "held-out"
    clips.mkdir()
    truth = {}
    for name in held_out:  # one folder the run plays file by file
        target = clips / name.replace("/", "-")
        shutil.copy(captured / name, target)
        truth[str(target)] = name.split("/")[0]
    code, _, err = kit("flash", BOARD, "kws", "--model", str(model))
    assert code == 0, err
    try:
        code, out, err = kit("run", BOARD, "--source", str(clips), "--results-dir", str(tmp_path / "runs"), "--plain")
        assert code == 0, err + out
        code, report_text, err = kit("validate", BOARD, "kws", "--model", str(model), "--source", str(captured), "--json")
        assert code == 0, err
        lab_code, _, lab_err = kit("validate", BOARD, "kws", "--model", str(model))
    finally:
        kit("stop", BOARD)
    records = [r for r in read_records(next((tmp_path / "runs").glob("run-*.jsonl"))) if r["type"] == "live"]
    assert len(records) == len(held_out)  # a 1 s clip is one window
    assert all(r["label_name"] in OWN_WORDS and r["dropped"] == 0 for r in records)
    run_accuracy = np.mean([r["label_name"] == truth[r["source"]] for r in records])
    report = json.loads(report_text)
    print(f"kit run on the twin (board-computed MFCC): {run_accuracy:.3f}; kit validate: {report['accuracy']:.3f}")
    assert report["test_set"] == "own-held-out" and report["samples"] == len(held_out) and report["bit_exact"]
    assert report["accuracy"] == pytest.approx(card["accuracy_int8"])
    assert run_accuracy == pytest.approx(report["accuracy"])
    assert "18 held-out files" in report["test_set_text"]
    # the lab's generated test set has other classes: kit says to use the folder instead
    assert lab_code == 2 and "trained on your own classes (apple, banana, cherry)" in lab_err
    assert f"--source {captured}" in lab_err
