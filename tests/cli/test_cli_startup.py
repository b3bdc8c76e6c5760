"""The commands that only describe the command line start without the heavy libraries:
``latentwatch --help``, ``--version`` and a command's ``--help`` import neither torch nor
scikit-learn, pandas or matplotlib (checked in a fresh interpreter's ``sys.modules``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import latentwatch

HEAVY = ("torch", "sklearn", "pandas", "matplotlib")
PROBE = ("import json, runpy, sys; sys.argv = ['latentwatch', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('latentwatch', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["score", "--help"],
                                  ["info", "--help"]])
def test_describing_the_command_line_imports_no_heavy_library(args):
    src = str(Path(latentwatch.__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, env={"PYTHONPATH": src}, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "latentwatch" in result.stdout
    assert json.loads(lines[-1]) == []
