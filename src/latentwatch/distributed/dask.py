"""Scoring on Dask (``pip install 'latentwatch[dask]'``): :func:`score_dask` maps a Dask
DataFrame, or Parquet/CSV files read partition by partition on the workers, to a Dask
DataFrame of scores, each partition through
:func:`~latentwatch.distributed.score_partition`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from latentwatch.distributed.extras import require
from latentwatch.distributed.partitions import check_table_model, default_ids, score_partition
from latentwatch.distributed.planning import (
    PARTITION_ROWS,
    csv_text_columns,
    empty_frame,
    plan_partitions,
    read_partition,
)
from latentwatch.distributed.worker import ModelBytes, worker_model
from latentwatch.errors import DataError, where


def _score_placed(frame: pd.DataFrame, model: ModelBytes, places: Sequence[tuple[str, int]],
                  options: dict, partition_info: dict | None = None) -> pd.DataFrame:
    """Score partition ``N`` of files: ``places[N]`` is its file and first row."""
    source, first_row = places[(partition_info or {}).get("number", 0)]
    return score_partition(frame, model, source=source, first_row=first_row, **options)


def _score_numbered(frame: pd.DataFrame, model: ModelBytes, options: dict,
                    partition_info: dict | None = None) -> pd.DataFrame:
    number = (partition_info or {}).get("number")
    source = "<partition>" if number is None else f"partition {number}"
    return score_partition(frame, model, source=source, **options)


def _model_arg(carrier: ModelBytes):
    """``carrier`` as one graph key (a Delayed), so that it is sent to each worker once
    rather than once per task."""
    import dask

    return dask.delayed(carrier, name=f"latentwatch-model-{carrier.sha256[:16]}")


def score_dask(
    model: Any,
    data: Any,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    keep_input: bool = False,
    partition_rows: int = PARTITION_ROWS,
    fmt: str | None = None,
    advice: str = "pass keep_bad_rows=True",
):
    """Score a Dask DataFrame, or Parquet/CSV files, partition by partition.

    Parameters
    ----------
    model : str, Path, bytes, ModelBytes or fitted detector
        A model file, its bytes, or a detector (serialized to bytes here). Workers get
        the bytes and load them once per process; the estimator is never pickled.
    data : dask.dataframe.DataFrame, str, Path or list of them
        A Dask DataFrame, or files of one format: a path, a glob (``"data/*.parquet"``),
        a folder or a list; Parquet files are split into runs of whole row groups of at
        most ``partition_rows`` rows, a CSV file is one partition. Files are read as
        ``latentwatch score`` reads them.
    top_k : int, default=3
        Largest contributing columns named per row.
    id_columns : sequence of str or None
        Columns copied first; ``None`` takes the model's id columns present.
    keep_bad_rows : bool, default=False
        Give rows that cannot be scored an empty score and a ``reason`` instead of
        failing the partition with a :class:`~latentwatch.errors.DataError` naming the
        file (for a DataFrame: ``partition N``), the row (from 1 in the file, or in the
        partition) and the column.
    keep_input : bool, default=False
        Keep every input column before the score columns.
    partition_rows : int
        Files only: the most rows per partition (one row group at least).
    fmt : {"csv", "parquet"} or None
        Files only: their format, instead of their extension.
    advice : str
        How the message says to keep bad rows.

    Returns
    -------
    dask.dataframe.DataFrame
        One partition per input partition, in order, each row where it was, with the
        columns of ``latentwatch score`` (the ids, ``score``, ``is_anomaly``, ``p_value``,
        ``top1``, ``top1_nats``, ..., and ``reason`` with ``keep_bad_rows``) and the
        input's index (files: the row's position in its file, from 0). Scores are those
        of one process, bit for bit. Compute with ``retries=`` to retry partitions whose
        worker failed.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame)
    >>> scores = score_dask(model, dd.from_pandas(frame, npartitions=2), top_k=1)
    >>> bool((scores["score"].compute(scheduler="sync") == model.anomaly_score(frame)).all())
    True
    """
    require("dask")
    import dask.dataframe as dd

    from latentwatch.explain import check_top_k
    from latentwatch.service import check_columns

    check_top_k(top_k)
    carrier = ModelBytes.of(model)
    detector = worker_model(carrier)
    check_table_model(detector, carrier.name)
    options = {"top_k": top_k, "id_columns": id_columns, "keep_bad_rows": keep_bad_rows,
               "keep_input": keep_input, "advice": advice}
    if isinstance(data, dd.DataFrame):
        empty = data._meta
        check_columns(detector, empty, "the Dask DataFrame")
        meta = score_partition(empty, carrier, **options)
        return data.map_partitions(_score_numbered, _model_arg(carrier), options, meta=meta,
                                   align_dataframes=False)
    return _score_files(carrier, detector, data, options, partition_rows, fmt)


def _score_files(carrier: ModelBytes, detector: Any, data: Any, options: dict,
                 partition_rows: int, fmt: str | None):
    """:func:`score_dask` of files: read on the workers, each partition knowing its file
    and first row (for messages)."""
    import dask.dataframe as dd

    partitions = plan_partitions(data, partition_rows, fmt)
    first = partitions[0]
    ids = options["id_columns"]
    empty = empty_frame(first, csv_text_columns(detector, ids or ()))
    ids = default_ids(detector, empty.columns) if ids is None else list(ids)
    options = {**options, "id_columns": ids}
    columns = (None if options["keep_input"]
               else list(dict.fromkeys([*ids, *detector.codec_.sources])))
    for name in columns or ():
        if name not in empty.columns:
            kind = "id column" if name in ids else "column"
            raise DataError(where(first.path, f"{kind} {name!r} is not in the data"))
    if columns is not None:
        empty = empty[columns]
    meta = score_partition(empty, carrier, **options)
    numeric = [b.source for b in detector.codec_.blocks if b.kind == "numeric"]
    frames = dd.from_map(read_partition, partitions, columns=columns,
                         text_columns=csv_text_columns(detector, ids), numeric_columns=numeric,
                         meta=empty, enforce_metadata=False)
    places = [(p.path, p.first_row) for p in partitions]
    return frames.map_partitions(_score_placed, _model_arg(carrier), places, options,
                                 meta=meta, align_dataframes=False)
