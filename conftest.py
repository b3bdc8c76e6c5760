"""Collection rules: ``pytest`` runs the docstring examples of every module under ``src``
(as ``--doctest-modules`` would, but not over ``tests``, whose conftest modules share a
name); a module whose optional dependency is not installed (the ``spark`` extra) has its
examples skipped, not failed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from _pytest.doctest import DoctestModule

SRC = Path(__file__).resolve().parent / "src"
OPTIONAL = {"distributed/spark.py": "pyspark"}


def pytest_collect_file(file_path: Path, parent):
    if (file_path.suffix != ".py" or file_path.name == "__main__.py"
            or SRC not in file_path.parents):
        return None
    if parent.config.getoption("doctestmodules", False):
        return None  # the doctest plugin collects them itself
    relative = file_path.relative_to(SRC / "latentwatch").as_posix()
    needed = OPTIONAL.get(relative)
    if needed is not None and importlib.util.find_spec(needed) is None:
        return None
    return DoctestModule.from_parent(parent, path=file_path)
