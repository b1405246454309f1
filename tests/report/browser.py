"""Headless Chromium (Debian's `chromium`) for checking kit's HTML pages in a real browser.

`check_page` loads a copy of the page with a small checker script put first: it waits for every
image, draws each on a canvas and records whether it decoded and is not one flat colour, and
collects console errors and uncaught exceptions; the verdict is read from `--dump-dom`."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

CHECKER = """<script>
(function () {
  var errors = [];
  var original = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
  window.addEventListener('error', function (e) { errors.push('uncaught: ' + (e.message || e.type)); }, true);
  function verdict() {
    var images = Array.prototype.map.call(document.images, function (img) {
      var canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      var distinct = 0;
      if (img.complete && img.naturalWidth > 0) {
        try {
          var ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
          var data = ctx.getImageData(0, 0, canvas.width, canvas.height).data, seen = {};
          for (var i = 0; i < data.length && distinct < 50; i += 4 * 97) {
            var key = data[i] + ',' + data[i + 1] + ',' + data[i + 2];
            if (!seen[key]) { seen[key] = 1; distinct++; }
          }
        } catch (e) { errors.push('unreadable image ' + img.id + ': ' + e); distinct = -1; }
      }
      return {id: img.id, width: img.naturalWidth, height: img.naturalHeight, colours: distinct};
    });
    var out = document.createElement('pre'); out.id = 'kit-check';
    out.textContent = JSON.stringify({images: images, errors: errors});
    document.body.appendChild(out);
  }
  window.addEventListener('load', verdict);
})();
</script>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(page: Path, args: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Chromium on `page` with a throw-away profile beside it (never the user's)."""
    binary = chromium()
    assert binary is not None
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", "--allow-file-access-from-files", "--user-data-dir=" + str(page.resolve().parent / ".chromium"),
                           "--enable-logging=stderr", "--v=0", *args, page.resolve().as_uri()], capture_output=True, text=True,
                          timeout=timeout)


def check_page(page: Path) -> dict:
    """{"images": [{id, width, height, colours}], "errors": [...], "console": [lines Chromium logged]}."""
    probe = page.with_name(page.stem + ".check.html")
    text = page.read_text(encoding="utf-8")
    # First in the document, so its handlers see every error the page's own scripts raise.
    doctype = re.match(r"\s*<!DOCTYPE[^>]*>", text, re.I)
    split = doctype.end() if doctype else 0
    probe.write_text(text[:split] + CHECKER + text[split:], encoding="utf-8")
    result = _run(probe, ["--virtual-time-budget=5000", "--dump-dom"])
    found = re.search(r'<pre id="kit-check">(.*?)</pre>', result.stdout, re.S)
    assert found, f"no verdict from Chromium: {result.stdout[-500:]} {result.stderr[-1500:]}"
    verdict = json.loads(html.unescape(found.group(1)))
    verdict["console"] = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    return verdict


def screenshot(page: Path, out: Path, size: str = "1280,2400") -> Path:
    _run(page, [f"--window-size={size}", f"--screenshot={out.resolve()}", "--hide-scrollbars"])
    return out
