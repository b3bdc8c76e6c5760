"""The optional packages of the Dask and Spark adapters."""

from __future__ import annotations

import importlib.util

EXTRAS = {"dask": ("dask", "distributed"), "spark": ("pyspark",)}


def require(extra: str) -> None:
    """Refuse, in one line, to run without the packages of ``extra`` ("dask", "spark").

    Examples
    --------
    >>> require("dask")
    """
    for module in EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{extra} scoring needs {module}, which is not installed; "
                              f"install it with: pip install 'latentwatch[{extra}]'")
