"""The real PlatformIO, offline: `kit flash` on a machine that cannot download the board's
platform gets kit's "what to run and what to carry" error from PlatformIO's own failure (not a
replayed text). The network is closed for it: HTTP(S) go to a refused loopback port, so it
fails the way a workshop machine without internet does (after PlatformIO's own retries,
about a minute)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit.build.realboard import project_for_lab
from kit.errors import ToolMissingError
from kit.upload import pio

pytestmark = pytest.mark.slow

REFUSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


def test_real_pio_without_internet_says_what_to_run_and_carry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    core = tmp_path / "pio-core"
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(core))
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, REFUSED)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    project = project_for_lab("nicla-vision", "kws", out_dir=tmp_path / "nicla")
    with pytest.raises(ToolMissingError) as error:
        pio.upload(project, "/dev/ttyACM0")
    assert "ststm32" in error.value.message  # PlatformIO's own words: the platform it could not install
    hint = error.value.hint
    assert f"pio pkg install -d {project.project_dir} -e nicla-vision" in hint
    assert f"{core}/platforms" in hint and f"{core}/packages" in hint
    assert not (core / "platforms" / "ststm32").exists()
    assert os.environ["HTTPS_PROXY"] == REFUSED
