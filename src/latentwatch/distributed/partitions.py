"""One partition scored on a worker, through :func:`latentwatch.service.score_table`.

A row's score does not depend on the rows scored with it (``engine.scoring``), so a table
scored in partitions on many workers gives the scores of ``latentwatch score`` in one
process, bit for bit, in the same order. Rows that cannot be scored fail their partition
with a one-line :class:`~latentwatch.errors.DataError` naming the file (or partition),
the row and the column; with ``keep_bad_rows=True`` they get an empty score and a
``reason``, as ``latentwatch score --keep-bad-rows`` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from latentwatch.data.codec import Problem, describe_problems
from latentwatch.distributed.worker import ModelBytes, worker_model
from latentwatch.errors import DataError, where
from latentwatch.service import score_table


def check_table_model(model: Any, name: str) -> None:
    """Refuse a time-series model: its windows reach into the rows before each partition,
    which a partition does not have, so its scores would differ at partition starts."""
    if model.codec_.context_rows:
        raise ValueError(f"{name}: a time-series model (windows of {model.window_} "
                         "steps) reads the rows before each row, which a partition does not "
                         "hold; score the series in one process with latentwatch score")


def default_ids(model: Any, columns: Sequence[str]) -> list[str]:
    """The model's id columns that the data has (what ``latentwatch score`` copies)."""
    present = set(map(str, columns))
    return [c for c in model.schema_.id_columns if c in present]


def check_keep_input(columns: Sequence[str], scored: Sequence[str], source: str) -> None:
    """Refuse input columns that the score columns would overwrite."""
    clash = [c for c in scored if c in set(columns)]
    if clash:
        raise DataError(where(source, f"column {clash[0]!r} has the name of a score column; "
                                      "rename it or score without keep_input"))


def score_partition(
    frame: pd.DataFrame,
    model: ModelBytes,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    keep_input: bool = False,
    source: str = "<partition>",
    first_row: int = 0,
    advice: str = "pass keep_bad_rows=True",
) -> pd.DataFrame:
    """Score one partition with :func:`latentwatch.service.score_table`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The partition; its index is kept.
    model : ModelBytes
        Loaded once per worker process (:func:`~latentwatch.distributed.worker_model`).
    top_k, id_columns
        As :func:`~latentwatch.service.score_table`; ``id_columns=None`` takes the model's
        id columns that ``frame`` has.
    keep_bad_rows : bool, default=False
        Give rows that cannot be scored an empty score and a ``reason`` column (always
        present then) instead of raising.
    keep_input : bool, default=False
        Put every input column before the score columns (the id columns are then not
        repeated).
    source : str
        The file (or partition) named in messages.
    first_row : int
        Rows of ``source`` before this partition: messages count rows from 1 in
        ``source``, as ``latentwatch score`` does.
    advice : str
        How to keep bad rows, for the message.

    Returns
    -------
    pandas.DataFrame
        The columns of ``latentwatch score``'s output, one row per input row, in order.

    Raises
    ------
    DataError
        Rows that cannot be scored (without ``keep_bad_rows``): one line naming
        ``source``, the first rows (counted in ``source``) and their columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    >>> model = ModelBytes.of(AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame))
    >>> list(score_partition(frame.iloc[:5], model, top_k=1).columns)
    ['score', 'is_anomaly', 'p_value', 'top1', 'top1_nats']
    """
    detector = worker_model(model)
    ids = default_ids(detector, frame.columns) if id_columns is None else list(id_columns)
    if keep_input:
        ids = []
    scored = score_table(detector, frame, top_k=top_k, id_columns=ids, source=source)
    problems = scored.problems
    if problems and not keep_bad_rows:
        shifted = [Problem(p.position + first_row, p.column, p.value, p.message)
                   for p in problems[:5]]
        raise DataError(f"{source}: {describe_problems(shifted, total=len(problems))}; fix "
                        f"them or {advice} to give them an empty score")
    table = scored.table if keep_bad_rows else scored.table.drop(columns="reason")
    table.index = frame.index
    for name in ids:  # their own dtype, as the partition's meta says
        table[name] = frame[name]
    if keep_input:
        check_keep_input(frame.columns, table.columns, source)
        table = pd.concat([frame, table], axis=1)
    return table
