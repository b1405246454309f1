"""`kit report` from results files: the tables, the leaderboard rule, Markdown, and the HTML
page loaded in headless Chromium (no console errors, every plot decoded and not blank; the
screenshot is kept in the test's tmp folder)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from browser import check_page, chromium, screenshot
from kit.bench.results import ResultsFile
from kit.cli import main
from kit.report.compare import build_entries, find_sessions, leaderboard

OPS = ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]


def write_bench(folder: Path, board: str, reference: str, base_us: float, place: str = "", runs: int = 20,
                complete: bool = True) -> Path:
    header = {"board": board, "reference_board": reference, "port": "socket://127.0.0.1:1", "protocol": "kit",
              "info": {"model": "kws01", "arena": "23000"}, "lab": "kws", "runs": runs}
    if place:
        header["farm"] = {"place": place, "host": "laptop-1", "board": reference}
    results = ResultsFile.create("bench", header, directory=folder)
    rng = random.Random(board + place)
    for index in range(runs):
        results.append({"type": "run", "index": index, "ticks": 1, "latency_us": base_us * (1 + 0.05 * rng.random())})
    shares = [30, 25, 20, 5, 15, 5]
    for index, (op, share) in enumerate(zip(OPS, shares)):
        results.append({"type": "layer", "index": index, "op": op, "ticks": share, "cycles": share, "percent": share})
    results.append({"type": "memory", "arena": 22528, "arena_capacity": 64512, "stack_used": 900, "stack_size": 4096})
    if complete:
        results.close("complete", time_label=f"estimate for {reference}")
    else:
        results._handle.close()  # the process died: no end record
    return results.path


def write_validate(folder: Path, board: str, reference: str, correct: int, total: int, place: str = "") -> Path:
    header = {"board": board, "reference_board": reference, "info": {"model": "kws01"}, "lab": "kws",
              "samples": total}
    if place:
        header["farm"] = {"place": place, "host": "laptop-1", "board": reference}
    with ResultsFile.create("validate", header, directory=folder) as results:
        for index in range(total):
            results.append({"type": "sample", "index": index, "bit_exact": True, "label": 1,
                            "predicted": 1 if index < correct else 0, "output": [0, 1]})
    return results.path


@pytest.fixture
def sessions(tmp_path) -> Path:
    folder = tmp_path / "results"
    write_bench(folder, "emu-cortex-m7", "nicla-vision", 900.0, place="lab-a/nicla")
    write_validate(folder, "emu-cortex-m7", "nicla-vision", 9, 10, place="lab-a/nicla")
    write_bench(folder, "emu-cortex-m4", "nano33-ble-sense", 2500.0, place="lab-b/nano")
    write_validate(folder, "emu-cortex-m4", "nano33-ble-sense", 10, 10, place="lab-b/nano")
    write_bench(folder, "emu-rv32", "emu-rv32", 1500.0, place="it's; $(rm -rf x) <b>", complete=False)
    return folder


def test_entries_and_leaderboard(sessions):
    entries = build_entries(find_sessions([sessions], None))
    assert len(entries) == 3
    by_place = {entry.place: entry for entry in entries}
    nicla = by_place["lab-a/nicla"]
    assert nicla.accuracy == pytest.approx(0.9) and len(nicla.latencies_us) == 20
    assert 900 <= nicla.percentile(50) <= nicla.percentile(90) <= 945
    assert nicla.energy_label.startswith("modelled") and nicla.energy_uj > 0
    assert nicla.arena_bytes == 22528 and len(nicla.layers) == 6
    cut = by_place["it's; $(rm -rf x) <b>"]
    assert cut.status == "cut off" and len(cut.latencies_us) == 20  # partial results kept
    ranked, unranked = leaderboard(entries)
    assert [e.place for e in ranked] == ["lab-a/nicla", "lab-b/nano"]  # p50 first
    assert unranked == [cut]  # no on-device accuracy: listed, not ranked


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_report_page_in_headless_chromium(sessions, tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(sessions), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out / "index.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # opens offline: nothing to fetch
    assert "<b>" not in text and "&lt;b&gt;" in text  # a place name is data, escaped
    markdown = (out / "report.md").read_text()
    assert "## Leaderboard" in markdown and "lab-a/nicla" in markdown
    assert {p.name for p in (out / "plots").iterdir()} == {"latency.png", "layers.png", "accuracy-latency.png"}

    verdict = check_page(page)
    assert verdict["errors"] == [] and not [line for line in verdict["console"] if "ERROR" in line.upper()]
    assert {image["id"] for image in verdict["images"]} == {"plot-latency", "plot-layers", "plot-accuracy-latency"}
    for image in verdict["images"]:
        assert image["width"] > 100 and image["height"] > 100, image
        assert image["colours"] > 3, f"{image['id']} is blank"
    shot = screenshot(page, tmp_path / "report.png")
    assert shot.is_file() and shot.stat().st_size > 10_000
    print(f"screenshot kept: {shot}")


def test_report_needs_sessions(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    result = CliRunner().invoke(main, ["report", str(empty), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no bench or validate sessions" in result.stderr


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_browser_check_catches_a_broken_page(tmp_path):
    """The checker is shown to fail: a script error, a console error, a missing and a blank image."""
    from PIL import Image

    Image.new("RGB", (200, 200), "white").save(tmp_path / "blank.png")
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><img id='gone' src='missing.png'><img id='blank' src='blank.png'>"
                    "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    verdict = check_page(page)
    assert any("boom" in error for error in verdict["errors"])
    assert any("undefinedFunction" in error for error in verdict["errors"])
    images = {image["id"]: image for image in verdict["images"]}
    assert images["gone"]["width"] == 0
    assert images["blank"]["width"] == 200 and images["blank"]["colours"] <= 3
