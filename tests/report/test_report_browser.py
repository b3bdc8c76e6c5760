"""The report in a real browser: headless Chromium loads it offline and renders its images.

Chromium is Debian's ``chromium`` package, which ``make test`` installs with apt-get when
it is missing (so CI runs these tests). Without it the tests skip and say why; with
``LATENTWATCH_INSTALL_BROWSER=1`` the setup first installs it with apt-get (as root).

Set ``LATENTWATCH_UPDATE_SCREENSHOT=1`` to also refresh ``docs/report-top.png``, the
screenshot in docs/thresholds.md, from the screenshot test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from latentwatch import VAEDetector
from latentwatch.report import write_report

BROWSERS = ("chromium", "chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "report-top.png"
HEADER_RGB = np.array([0x2F, 0x5D, 0x8A]) / 255  # --accent in the report's CSS

# Appended to a copy of the report: after load, writes what each <img> decoded to.
IMAGE_PROBE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify([...document.images].map(i => ({
    complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})));
  document.body.appendChild(out);
});
</script>"""


def _install_chromium() -> str | None:
    """Install Debian's chromium; return why not when it cannot be done."""
    if shutil.which("apt-get") is None:
        return "chromium is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return "chromium is not installed and installing it with apt-get needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
        except subprocess.TimeoutExpired:
            return f"'{' '.join(command)}' timed out"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return f"'{' '.join(command)}' failed: {tail[0]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        if os.environ.get("LATENTWATCH_INSTALL_BROWSER") != "1":
            pytest.skip("no headless browser for the report test: chromium is not installed "
                        "(make test installs it; or set LATENTWATCH_INSTALL_BROWSER=1 to "
                        "install it with apt-get)")
        reason = _install_chromium()
        found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
        if found is None:
            pytest.skip(f"no headless browser for the report test: {reason or 'not found'}")
    return found


def run_chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="lw-chromium-") as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report_file(chromium, planted, tmp_path_factory) -> Path:
    """The report of a VAE on numeric sensor columns, with labels (the screenshot in
    docs/thresholds.md); fitted only when there is a browser to show it."""
    X_train, X_test, y_test = planted
    columns = [f"sensor_{i:02d}" for i in range(X_train.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning at the epoch cap
        model = VAEDetector(max_epochs=30, random_state=0,
                            threshold="false_alarm_rate:0.05").fit(
            pd.DataFrame(X_train, columns=columns))
    return write_report(model, tmp_path_factory.mktemp("browser") / "report.html",
                        pd.DataFrame(X_test, columns=columns), y_test, data_name="pumps.csv",
                        title="latentwatch report: pump sensors")


def probe_images(browser: str, document: str, folder: Path) -> list[dict]:
    """What each ``<img>`` of ``document`` decoded to in the browser."""
    probed = folder / "probed.html"
    probed.write_text(document.replace("</body>", IMAGE_PROBE + "</body>"), encoding="utf-8")
    done = run_chromium(browser, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="image-probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, "the probe did not run: " + done.stdout[-500:]
    return json.loads(match.group(1).replace("&quot;", '"'))


def test_every_image_renders_in_chromium(chromium, report_file, tmp_path):
    document = report_file.read_text(encoding="utf-8")
    found = probe_images(chromium, document, tmp_path)
    assert len(found) == document.count("<img ") == 5
    for image in found:
        assert image["complete"] and image["width"] > 300 and image["height"] > 100, image


def test_a_mixed_table_report_renders_in_chromium(chromium, fitted, tmp_path):
    case = fitted("vae", "mixed")  # categories, a boolean, gaps, a datetime, bad rows
    path = write_report(case.model, tmp_path / "mixed.html", case.X_bad, case.y)
    document = path.read_text(encoding="utf-8")
    found = probe_images(chromium, document, tmp_path)
    assert len(found) == document.count("<img ") == 5
    for image in found:
        assert image["complete"] and image["width"] > 300 and image["height"] > 100, image


def test_screenshot_of_the_top_of_the_page(chromium, report_file, tmp_path):
    shot = tmp_path / "top.png"
    done = run_chromium(chromium, "--window-size=1280,900", f"--screenshot={shot}",
                        report_file.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1280)
    # the header band is drawn in the accent colour ...
    header = pixels[10:60, 100:1180]
    assert np.mean(np.all(np.abs(header - HEADER_RGB) < 0.03, axis=-1)) > 0.8
    # ... the page below it is mostly light but not blank: text, cards and a plot
    body = pixels[150:]
    assert body.mean() > 0.8
    assert np.mean(body.mean(axis=-1) < 0.5) > 0.003  # dark text and lines
    colours = len(np.unique((body * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert colours > 200  # anti-aliased text and a plot, not flat boxes
    if os.environ.get("LATENTWATCH_UPDATE_SCREENSHOT") == "1":
        from PIL import Image  # a matplotlib dependency

        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        Image.open(shot).convert("RGB").quantize(colors=96).save(DOCS_SCREENSHOT, optimize=True)
