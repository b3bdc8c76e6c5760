"""Terminal and HTML injection: user data (cells, column names, category labels, ids,
file names, titles) is shown literally on the console and escaped in the report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hostile_helpers import TALLY, invoke, refused

import latentwatch
from latentwatch.cli.errors import one_line, visible

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
MARKUP = "[/]"
LINK = "[link=https://evil.example]click[/link]"
ESC = "\x1b[31mRED\x1b]8;;https://evil.example\x07"


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory):
    """A model whose column names, categories and ids all carry payloads."""
    folder = tmp_path_factory.mktemp("inject [final]")
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "id": [f"r{i}" for i in range(n)],
        f"amount {SCRIPT}": rng.normal(size=n),
        f"shop {IMG}": rng.choice([SCRIPT, IMG, MARKUP, LINK], size=n),
        f"kind {MARKUP}": rng.choice(["a", "b"], size=n),
    })
    frame.loc[3, "id"] = SCRIPT
    frame.loc[4, "id"] = IMG
    frame.loc[5, "id"] = ESC
    frame.loc[6, "id"] = LINK
    data = folder / "export [final].csv"
    frame.to_csv(data, index=False)
    model = folder / "m [x].lwm"
    result = invoke("fit", data, "-i", "id", "-o", model, "--epochs", 2)
    assert result.exit_code == 0, result.stderr
    return folder, data, model, frame, result


def _literal(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text
    assert "Traceback" not in text


def test_fit_prints_names_literally(hostile_model):
    _, _, _, _, result = hostile_model
    _literal(result.stdout + result.stderr)
    assert "export [final].csv" in result.stdout
    assert f"amount {SCRIPT}" in result.stdout and f"kind {MARKUP}" in result.stdout
    TALLY["cases"] += 1
    TALLY["correct results"] += 1


def test_explain_and_info_print_data_literally(hostile_model):
    _, data, model, _, _ = hostile_model
    result = invoke("explain", model, data, "--rows", "4-7", "-i", "id")
    assert result.exit_code == 0, result.stderr
    _literal(result.stdout)
    assert f"id={SCRIPT}" in result.stdout and f"id={LINK}" in result.stdout
    assert "id=\\x1b[31mRED" in result.stdout
    info = invoke("info", model)
    assert info.exit_code == 0, info.stderr
    _literal(info.stdout)
    assert MARKUP in info.stdout and "m [x].lwm" in info.stdout
    schema = invoke("schema", data, "-i", "id", "-o", data.with_name("s.json"))
    assert schema.exit_code == 0 and "export [final].csv" in schema.stderr
    TALLY["cases"] += 3
    TALLY["correct results"] += 3


@pytest.mark.parametrize("payload", [MARKUP, LINK, ESC, "\u202egnp.exe", "[bold red]x"])
def test_errors_show_payloads_literally(hostile_model, tmp_path, payload):
    _, _, model, frame, _ = hostile_model
    bad = frame.iloc[:5].copy().astype({f"amount {SCRIPT}": object})
    bad.iloc[2, 1] = payload
    path = tmp_path / "bad [x].csv"
    bad.to_csv(path, index=False)
    line = refused(invoke("score", model, path), "bad [x].csv", "row 3", "not a number")
    _literal(line)
    assert visible(payload) in line or repr(payload)[1:-1] in line


def test_visible_escapes_control_and_format_characters():
    assert visible("a\x1b[0mb") == "a\\x1b[0mb"
    assert visible("x\u202ey") == "x\\u202ey"
    assert visible("tab\tnew\nline") == "tab\tnew\nline"
    assert visible("plain [/] <b> é 🙂") == "plain [/] <b> é 🙂"
    assert one_line("a\n\x1b b") == "a \\x1b b"


def test_the_report_escapes_every_user_string(hostile_model, tmp_path):
    _, _, model, frame, _ = hostile_model
    labelled = frame.assign(label=(np.arange(len(frame)) % 17 == 0).astype(int))
    path = tmp_path / f"{IMG.replace('/', '')}.csv"
    labelled.to_csv(path, index=False)
    out = tmp_path / "report.html"
    result = invoke("report", model, path, "-l", "label", "-o", out, "--title",
                    f"{SCRIPT}{IMG}", "-n", 200)
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.lower().count("<script") == 0
    assert "<img src=x" not in page.lower()  # the report's own images are data: URIs
    assert re.search(r"\sonerror\s*=", page.replace("&quot;&gt;&lt;img src=x onerror=", ""),
                     re.I) is None
    assert '" onerror' not in page and "'><img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, escaped
    python_page = latentwatch.load(model)
    from latentwatch.report import build_report

    html = build_report(python_page, labelled.drop(columns=["label"]), title=SCRIPT)
    assert "<script" not in html.lower() and "<img src=x" not in html.lower()
    TALLY["cases"] += 2
    TALLY["correct results"] += 2
