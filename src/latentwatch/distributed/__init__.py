"""Scoring on Dask and Spark, partition by partition, on the one scoring function.

Every partition goes through :func:`score_partition`, which calls
:func:`latentwatch.service.score_table`: a table scored in partitions on many workers
gives the scores of ``latentwatch score`` in one process, bit for bit, in the same order.

One job per module:

- :mod:`~latentwatch.distributed.worker`: the model travels as the bytes of its file
  (:class:`ModelBytes`), loaded once per worker process, keyed by their SHA-256
  (:func:`worker_model`); the estimator is never pickled;
- :mod:`~latentwatch.distributed.partitions`: one partition scored
  (:func:`score_partition`);
- :mod:`~latentwatch.distributed.planning`: files cut into partitions
  (:func:`plan_partitions`) on the data wing's file planning
  (:mod:`latentwatch.data.files`);
- :mod:`~latentwatch.distributed.dask`: :func:`score_dask`, a Dask DataFrame of scores;
- :mod:`~latentwatch.distributed.parts`: :func:`score_to_parquet`, one Parquet part per
  partition written atomically and a ``_SUCCESS`` manifest written last
  (``latentwatch score --engine dask``);
- :mod:`~latentwatch.distributed.spark`: :func:`score_spark`, a ``mapInPandas``.

The names below are imported when first used, so ``import latentwatch.distributed``
imports neither Dask nor Spark.

Examples
--------
>>> from latentwatch.distributed import score_dask
>>> score_dask.__module__
'latentwatch.distributed.dask'
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ModelBytes": "worker", "worker_model": "worker", "WORKER_CACHE_SIZE": "worker",
    "score_partition": "partitions", "check_table_model": "partitions",
    "default_ids": "partitions",
    "Partition": "planning", "plan_partitions": "planning", "read_partition": "planning",
    "PARTITION_ROWS": "planning",
    "score_dask": "dask",
    "score_to_parquet": "parts", "SUCCESS": "parts",
    "score_spark": "spark", "spark_schema": "spark",
    "require": "extras",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
