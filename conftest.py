"""Collection rules for ``pytest --doctest-modules src tests``: a module whose optional
dependency is not installed (the ``spark`` extra) has its examples skipped, not failed."""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("pyspark") is None:
    collect_ignore_glob.append("src/latentwatch/distributed/spark.py")
