"""The examples in the docstrings run: ``pytest`` collects them from ``src`` (the project's
pytest settings and the root conftest.py), so no module's examples are left out."""

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
OPTIONAL = {"latentwatch.distributed.spark": "pyspark"}


def _with_examples() -> list[str]:
    names = []
    for path in sorted((ROOT / "src" / "latentwatch").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docs = [ast.get_docstring(node) or "" for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                              | ast.AsyncFunctionDef)]
        if any(">>>" in doc for doc in docs):
            parts = list(path.relative_to(ROOT / "src").with_suffix("").parts)
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_with_examples_has_them_collected():
    """``pytest`` with the project's settings collects the examples of each module."""
    assert "src" in SETTINGS["testpaths"]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "src"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    modules = {str(Path(*name.split(".")).with_suffix(".py")) for name in _with_examples()}
    missing = sorted(m for m in modules
                     if f"src/{m}" not in collected
                     and f"src/{m.replace('.py', '/__init__.py')}" not in collected
                     and m.replace("/", ".")[:-3] not in OPTIONAL)
    assert not missing, missing


def test_there_are_examples_to_run():
    assert len(_with_examples()) >= 30


@pytest.mark.parametrize("name", _with_examples())
def test_a_module_with_examples_imports_and_doctest_finds_them(name):
    """A module that fails to import would fail collection; one with an optional
    dependency is skipped by the root conftest.py only when that dependency is missing.
    Its examples must be where doctest looks (docstrings of the module's own objects)."""
    if name in OPTIONAL and importlib.util.find_spec(OPTIONAL[name]) is None:
        pytest.skip(f"{OPTIONAL[name]} is not installed")
    module = importlib.import_module(name)
    found = [t for t in doctest.DocTestFinder().find(module) if t.examples]
    assert found, f"{name} has '>>>' in a docstring but doctest finds no example in it"
