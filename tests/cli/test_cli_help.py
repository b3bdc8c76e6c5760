"""Help, version, completion and the option vocabulary: one spelling, one meaning."""

from __future__ import annotations

import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import typer
from cli_helpers import invoke, ok

from latentwatch.cli import COMMANDS, app

GROUP = typer.main.get_command(app)
# option name -> the only spelling it may have, wherever it appears
SPELLINGS = {
    "out": {"--out", "-o"},
    "top_k": {"--top-k", "-k"},
    "n": {"--n-rows", "-n"},
    "id_column": {"--id-column", "-i"},
    "rows": {"--rows", "-r"},
    "from_row": {"--from"},
    "to_row": {"--to"},
    "seed": {"--seed"},
    "fmt": {"--format"},
    "out_format": {"--out-format"},
    "label_column": {"--label-column", "-l"},
    "exclude": {"--exclude", "-x"},
    "device": {"--device"},
    "chunk_rows": {"--chunk-rows"},
    "quiet": {"--quiet", "-q"},
    "debug": {"--debug"},
}


def _params(name: str) -> dict:
    return {p.name: p for p in GROUP.commands[name].params}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help_with_defaults_and_an_example(name):
    for flag in ("--help", "-h"):
        result = ok(invoke(name, flag))
        assert f"Usage: latentwatch {name}" in result.stdout
        assert f"Example: latentwatch {name}" in " ".join(result.stdout.split())
    text = ok(invoke(name, "--help")).stdout
    if "--debug" in text and name not in ("info", "demo"):
        assert "[default:" in text


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_same_option_is_spelt_the_same_everywhere(name):
    shorts: dict[str, str] = {}
    for spellings in SPELLINGS.values():
        for short in (s for s in spellings if not s.startswith("--")):
            shorts[short] = next(s for s in spellings if s.startswith("--"))
    for param in GROUP.commands[name].params:
        if param.name in SPELLINGS and param.param_type_name == "option":
            assert set(param.opts) == SPELLINGS[param.name], (name, param.name, param.opts)
        for option in param.opts:
            if option in shorts:
                assert shorts[option] in param.opts, (name, option, param.opts)
        if param.name == "id_column":
            assert param.multiple, name
        if param.param_type_name == "argument":
            assert param.metavar in ("MODEL", "DATA", "DEMO"), (name, param.metavar)


def test_arguments_and_randomness_options():
    for name in ("score", "explain", "info", "evaluate", "report", "sample", "interpolate",
                 "encode", "plot-latent"):
        assert _params(name)["model"].metavar == "MODEL", name
    for name in ("fit", "schema", "score", "explain", "evaluate", "interpolate", "encode",
                 "plot-latent"):
        assert _params(name)["data"].metavar == "DATA", name
        assert "fmt" in _params(name), name
    for name in ("fit", "sample", "report", "plot-latent", "demo"):
        assert "seed" in _params(name), name
    for name in ("score", "sample", "encode", "interpolate", "report", "plot-latent",
                 "schema", "fit", "evaluate", "info"):
        assert "out" in _params(name), name


def test_version_and_the_top_level_help():
    from latentwatch import __version__

    for flag in ("--version", "-V"):
        assert ok(invoke(flag)).stdout == f"latentwatch {__version__}\n"
    text = ok(invoke("-h")).stdout
    for name in COMMANDS:
        assert name in text
    assert "--install-completion" in text and "--show-completion" in text
    assert invoke().exit_code in (0, 2)  # no arguments: the help


def test_chunk_rows_default_is_the_readers():
    from latentwatch.cli.options import CHUNK_ROWS
    from latentwatch.data.io import CHUNK_ROWS as READER_CHUNK_ROWS

    assert CHUNK_ROWS == READER_CHUNK_ROWS


def test_help_and_version_import_no_heavy_module():
    """``latentwatch --help`` imports neither torch nor pandas nor scikit-learn."""
    heavy = {"torch", "pandas", "sklearn", "matplotlib", "pyarrow", "numpy"}
    for args in (["--help"], ["--version"], ["score", "--help"]):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "latentwatch", *args],
                                capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).parent)
        seconds = time.perf_counter() - started
        assert result.returncode == 0, result.stderr[-2000:]
        imported = {line.split("|")[-1].strip().split(".")[0]
                    for line in result.stderr.splitlines() if line.startswith("import time:")}
        assert not heavy & imported, (args, heavy & imported)
        assert seconds < 10, seconds  # well under a second on an idle machine


def test_demo_takes_the_demo_name(monkeypatch, tmp_path):
    calls = []
    bc = types.ModuleType("latentwatch.demos.breast_cancer")
    bc.run_demo = lambda seed: calls.append(("bc", seed))
    digits = types.ModuleType("latentwatch.demos.digits")
    digits.run_digits_demo = lambda out_dir, seed: calls.append(("digits", out_dir, seed))
    monkeypatch.setitem(sys.modules, "latentwatch.demos.breast_cancer", bc)
    monkeypatch.setitem(sys.modules, "latentwatch.demos.digits", digits)
    ok(invoke("demo"))
    ok(invoke("demo", "digits", "--out", tmp_path, "--seed", 2))
    ok(invoke("demo", "breast-cancer", "--seed", 1))
    assert invoke("demo", "faces").exit_code == 2
    assert calls == [("bc", 0), ("digits", tmp_path, 2), ("bc", 1)]
