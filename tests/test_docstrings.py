"""The examples in the docstrings run: ``pytest`` collects them from ``src`` (the project's
pytest settings), so no module's examples can be left out without this failing."""

import ast
import importlib
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


def test_the_examples_of_src_are_collected():
    assert "--doctest-modules" in SETTINGS["addopts"].split()
    assert "src" in SETTINGS["testpaths"]


def test_there_are_examples_to_run():
    assert len(_with_examples()) >= 30


@pytest.mark.parametrize("name", _with_examples())
def test_a_module_with_examples_imports(name):
    """A module that fails to import would fail collection; one with an optional
    dependency is skipped by the root conftest.py only when that dependency is missing."""
    if name in OPTIONAL and importlib.util.find_spec(OPTIONAL[name]) is None:
        pytest.skip(f"{OPTIONAL[name]} is not installed")
    importlib.import_module(name)
