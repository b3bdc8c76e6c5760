"""Scoring on Spark (``pip install 'latentwatch[spark]'``): :func:`score_spark` is a
``mapInPandas`` with an explicit schema, the model's bytes broadcast once, each Arrow
batch through :func:`~latentwatch.distributed.score_partition`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from latentwatch.distributed.extras import require
from latentwatch.distributed.partitions import check_table_model, default_ids, score_partition
from latentwatch.distributed.worker import ModelBytes, worker_model


def spark_schema(meta: pd.DataFrame, input_schema=None):
    """The Spark schema of score columns (``meta``: an empty scored partition); id and
    input columns take their type from ``input_schema``."""
    from pyspark.sql import types as T

    known = {f.name: f for f in (input_schema.fields if input_schema is not None else ())}
    fields = []
    for name, dtype in meta.dtypes.items():
        if name in known:
            fields.append(known[name])
        elif str(dtype) == "boolean":
            fields.append(T.StructField(name, T.BooleanType(), True))
        elif str(dtype) == "float64":
            fields.append(T.StructField(name, T.DoubleType(), True))
        else:
            fields.append(T.StructField(name, T.StringType(), True))
    return T.StructType(fields)


def _spark_batches(batches: Iterator[pd.DataFrame], model: ModelBytes, options: dict
                   ) -> Iterator[pd.DataFrame]:
    """Score each Arrow batch of a Spark partition; rows counted across its batches."""
    from pyspark import TaskContext

    context = TaskContext.get()
    source = f"spark partition {context.partitionId() if context else 0}"
    first_row = 0
    for frame in batches:
        yield score_partition(frame.set_axis(range(first_row, first_row + len(frame))),
                              model, source=source, first_row=first_row, **options
                              ).reset_index(drop=True)
        first_row += len(frame)


def score_spark(
    model: Any,
    spark_df,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    keep_input: bool = False,
):
    """Score a Spark DataFrame with ``mapInPandas``: partition by partition, the model's
    bytes broadcast once.

    Parameters
    ----------
    model : str, Path, bytes, ModelBytes or fitted detector
        As :func:`~latentwatch.distributed.score_dask`; executors get the broadcast
        bytes, never a pickled estimator.
    spark_df : pyspark.sql.DataFrame
    top_k, id_columns, keep_bad_rows, keep_input
        As :func:`~latentwatch.distributed.score_dask`; a bad row fails its task with a
        message naming ``spark partition N``, the row (from 1 in the partition) and the
        column.

    Returns
    -------
    pyspark.sql.DataFrame
        The columns of ``latentwatch score`` (explicit schema: ids and kept input
        columns with their own types, ``score`` double, ``is_anomaly`` boolean, ...),
        one row per input row, in each partition's order.

    Examples
    --------
    >>> from pyspark.sql import SparkSession                     # doctest: +SKIP
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()  # doctest: +SKIP
    >>> scores = score_spark("fraud.lwm", spark.read.parquet("data/"))  # doctest: +SKIP
    >>> scores.write.parquet("scores/")                          # doctest: +SKIP
    """
    require("spark")
    from latentwatch.explain import check_top_k
    from latentwatch.service import check_columns

    check_top_k(top_k)
    carrier = ModelBytes.of(model)
    detector = worker_model(carrier)
    check_table_model(detector, carrier.name)
    empty = _spark_empty(spark_df)
    check_columns(detector, empty, "the Spark DataFrame")
    ids = default_ids(detector, empty.columns) if id_columns is None else list(id_columns)
    options = {"top_k": top_k, "id_columns": ids, "keep_bad_rows": keep_bad_rows,
               "keep_input": keep_input, "advice": "pass keep_bad_rows=True"}
    meta = score_partition(empty, carrier, **options)
    schema = spark_schema(meta, spark_df.schema)
    shared = spark_df.sparkSession.sparkContext.broadcast(carrier.data)
    sha, name = carrier.sha256, carrier.name

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        yield from _spark_batches(batches, ModelBytes(shared.value, sha, name), options)

    return spark_df.mapInPandas(score, schema)


def _spark_empty(spark_df) -> pd.DataFrame:
    """An empty pandas frame with the columns (and Arrow-mapped types) of ``spark_df``."""
    try:
        return spark_df.limit(0).toPandas()
    except Exception:  # a type Arrow cannot map: the columns are enough
        return pd.DataFrame(columns=spark_df.columns)
