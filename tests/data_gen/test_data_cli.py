"""`kit data`: the table of counts, previews, and clean errors."""

from __future__ import annotations

from click.testing import CliRunner
from PIL import Image

from kit.cli import main


def test_kit_data_prints_counts_and_writes_previews(tmp_path):
    result = CliRunner().invoke(main, ["data", "motion", "--size", "tiny", "--preview", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for word in ("idle", "lift", "maritime", "terrestrial", "train", "val", "test", "imu-spectral"):
        assert word in result.output
    pictures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pictures == ["idle.png", "lift.png", "maritime.png", "terrestrial.png"]
    assert all(p.stat().st_size > 1000 for p in tmp_path.glob("*.png"))


def test_kit_data_kws_preview_is_spectrograms(tmp_path, kws_tiny):
    result = CliRunner().invoke(main, ["data", "kws", "--size", "tiny", "--preview", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "test speakers" in result.output
    assert len(list(tmp_path.glob("*.png"))) == 3 * 12
    with Image.open(tmp_path / "silence-0.png") as silence, Image.open(tmp_path / "yes-0.png") as yes:
        assert silence.size == yes.size == (294, 160)


def test_kit_data_bad_input_is_an_error_without_traceback(tmp_path):
    result = CliRunner().invoke(main, ["data", "motion", "--source", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["data", "motion", "--size", "enormous"])
    assert result.exit_code == 2
