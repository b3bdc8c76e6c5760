"""The one scoring path: a table in, one scored row per input row out.

:func:`score_table` is shared by ``latentwatch score``, ``explain`` and ``report``, the
REST server and the distributed adapters: the same rows give the same numbers everywhere.

A time-series model scores each row on the window of its last ``W`` steps, so a row's
score depends on the ``W - 1`` usable rows before it (:func:`context_rows`). A series
scored in pieces gives the scores of the whole series when each piece is sent with the
rows before it as ``context``: :func:`score_chunks` carries them from chunk to chunk,
:func:`next_context` gives them for any cut, and a REST client sends them in its request.
Without context, the first rows of a piece are scored as the start of a series
(:attr:`ScoredTable.series_start`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from latentwatch.data.codec import Encoded, Problem
from latentwatch.errors import DataError, where
from latentwatch.thresholds import conformal_p_values

# Output columns the service writes; an id column may not take one of these names.
RESERVED = ("score", "is_anomaly", "p_value", "reason")


@dataclass
class ScoredTable:
    """The result of :func:`score_table`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per input row, in order: the id columns, ``score``, ``is_anomaly`` (at
        the model's threshold; empty when it has none yet), ``p_value`` (when the model
        has calibration scores), ``top1``, ``top1_nats``, ... and ``reason`` (why a row
        could not be scored; empty otherwise).
    problems : list of Problem
        The rows that could not be scored (positions in the input).
    encoded : Encoded
        The packed rows (``encoded.good`` are the scored ones).
    scores, parts : np.ndarray
        Scores ``(n_good,)`` and per-column parts ``(n_good, n_columns)`` of the good rows.
    series_start : bool
        A time-series model only: True when fewer than :func:`context_rows` usable rows
        came before the table (no or short ``context``), so its first rows were scored
        as the start of a series. Always False for a table model.
    carry : pandas.DataFrame or None
        A time-series model only: the ``context`` of the rows that follow this table
        (:func:`next_context`); None for a table model.
    """

    table: pd.DataFrame
    problems: list[Problem]
    encoded: Encoded
    scores: np.ndarray
    parts: np.ndarray
    series_start: bool = False
    carry: pd.DataFrame | None = None

    @property
    def good(self) -> np.ndarray:
        return ~self.encoded.bad


def check_columns(model, frame: pd.DataFrame, source: str | None = None) -> None:
    """Refuse a table without the columns the model reads, naming the first missing one."""
    missing = [c for c in model.codec_.sources if c not in frame.columns]
    if missing:
        hint = ""
        if model.input_kind_ == "array":
            hint = (" (this model was fitted on an unnamed array: it reads the columns "
                    f"x0 to x{len(model.codec_.sources) - 1}; rename the file's columns or "
                    "refit on named data)")
        raise DataError(where(source, f"column {missing[0]!r} is missing; the model reads "
                                      f"{', '.join(model.codec_.sources[:12])}"
                                      f"{' ...' if len(model.codec_.sources) > 12 else ''}"
                                      + hint))


def output_ids(model, id_columns: Sequence[str]) -> list[str]:
    """The columns copied first into the scored table: ``id_columns``, then, for a
    time-series model, its time column (unless already there), so that every output row
    says when it is.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> series = SimpleNamespace(window_=8, codec_=SimpleNamespace(time_column="when"))
    >>> output_ids(series, ["sensor"]), output_ids(SimpleNamespace(window_=None), ["id"])
    (['sensor', 'when'], ['id'])
    """
    ids = list(id_columns)
    if model.window_ is None:
        return ids
    column = model.codec_.time_column
    if column is None or column in ids or column in RESERVED:
        return ids
    return [*ids, column]


def event_rows(model, scored: ScoredTable, frame: pd.DataFrame
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """What :class:`latentwatch.series.EventCollector` reads of a scored piece of a series:
    each row's flag (False where not scored or without a threshold), score, nats per
    channel ``(n, C)`` (:func:`latentwatch.series.by_channel`) and time (None without a
    time column).
    """
    from latentwatch.series import by_channel

    n = len(scored.table)
    good = scored.good
    flags = scored.table["is_anomaly"].fillna(False).to_numpy(dtype=bool)
    nats = np.zeros((n, len(model.codec_.channels)))
    nats[good] = by_channel(model.codec_, scored.parts)
    column = model.codec_.time_column
    times = frame[column].to_numpy() if column is not None and column in frame else None
    return flags, scored.table["score"].to_numpy(dtype=np.float64), nats, times


def series_events(model, scored: ScoredTable, frame: pd.DataFrame) -> list:
    """The events (runs of flagged rows, :class:`latentwatch.series.Event`) of one scored
    piece of a series; ``[]`` for a table model.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import VAEDetector
    >>> frame = pd.DataFrame({"a": np.sin(np.arange(300) / 3), "b": np.cos(np.arange(300) / 3)})
    >>> model = VAEDetector(window=8, max_epochs=3, random_state=0).fit(frame)
    >>> broken = frame.copy()
    >>> broken.loc[200:202, "a"] += 4.0
    >>> [(e.start, e.channels[0][0]) for e in series_events(model, score_table(model, broken),
    ...                                                      broken)][:1]
    [(200, 'a')]
    """
    from latentwatch.series import alarm_events

    if model.window_ is None:
        return []
    return alarm_events(model.codec_.channels, *event_rows(model, scored, frame))


def context_rows(model) -> int | None:
    """Usable rows before a row that its score depends on: ``W - 1`` for a time-series
    model with windows of ``W`` steps, None for a table model (each row scored alone).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame({"a": np.sin(np.arange(80) / 3), "b": np.cos(np.arange(80) / 3)})
    >>> series = AutoEncoderDetector(window=8, max_epochs=1, random_state=0).fit(frame)
    >>> context_rows(series), context_rows(AutoEncoderDetector(max_epochs=1).fit(frame))
    (7, None)
    """
    check_is_fitted(model, "module_")
    return None if model.window_ is None else int(model.codec_.context_rows)


def chunk_rows(model, rows: int) -> int:
    """Rows per streamed chunk: ``rows``, or fewer for long windows so that a chunk's
    packed windows stay within bounded memory."""
    return rows if model.window_ is None else model.codec_.rows_per_chunk(rows)


def next_context(model, frame: pd.DataFrame, bad: np.ndarray | None = None,
                 context: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The ``context`` of the rows that come after ``frame`` in a series: the last
    :func:`context_rows` usable rows of ``context`` followed by ``frame``.

    Parameters
    ----------
    model : fitted detector
    frame : pandas.DataFrame
        Rows of the series, with the model's columns.
    bad : array of bool or None
        ``frame``'s unusable rows (``ScoredTable.encoded.bad``); None finds them by
        reading ``frame`` after ``context``.
    context : pandas.DataFrame or None
        Usable rows just before ``frame`` (a previous :func:`next_context`).

    Returns
    -------
    pandas.DataFrame or None
        The model's columns of at most ``context_rows(model)`` rows; None for a table
        model.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame({"a": np.sin(np.arange(80) / 3), "b": np.cos(np.arange(80) / 3)})
    >>> model = AutoEncoderDetector(window=8, max_epochs=1, random_state=0).fit(frame)
    >>> whole = score_table(model, frame).table["score"]
    >>> first = score_table(model, frame.iloc[:50])
    >>> second = score_table(model, frame.iloc[50:], context=next_context(model, frame.iloc[:50]))
    >>> bool(np.allclose(second.table["score"], whole.iloc[50:]))
    True
    >>> first.series_start, second.series_start, len(first.carry)
    (True, False, 7)
    """
    rows = context_rows(model)
    if rows is None:
        return None
    sources = list(model.codec_.sources)
    if bad is None:
        bad = model.codec_.encode(frame, context=context).bad
    usable = np.flatnonzero(~np.asarray(bad, dtype=bool))
    last = frame.iloc[usable[max(0, len(usable) - rows):] if rows else usable[:0]][sources]
    short = rows - len(last)
    if short > 0 and context is not None and len(context):
        last = pd.concat([context[sources].iloc[-short:], last])
    return last


def warm(model) -> None:
    """Do once what the first scoring call of ``model`` would do (build its scoring copy of
    the network), so that a server's first request is not slower than the next.

    Examples
    --------
    >>> import numpy as np
    >>> from latentwatch import AutoEncoderDetector
    >>> model = AutoEncoderDetector(max_epochs=1, random_state=0).fit(
    ...     np.random.default_rng(0).normal(size=(50, 3)))
    >>> warm(model)
    """
    check_is_fitted(model, "module_")
    model.score_encoded(np.empty((0, model.codec_.packed_width)))


def score_chunks(model, chunks: Iterable[pd.DataFrame], *,
                 context: pd.DataFrame | None = None, **options) -> Iterator[ScoredTable]:
    """:func:`score_table` over the chunks of one table or series, in order, each
    time-series chunk with the rows before it as context: the scores of the whole.

    Parameters
    ----------
    model : fitted detector
    chunks : iterable of pandas.DataFrame
        Consecutive pieces; empty ones are skipped.
    context : pandas.DataFrame or None
        Rows before the first chunk (a time-series model).
    **options
        ``top_k``, ``id_columns``, ``source``, ``keep_shown`` of :func:`score_table`.

    Yields
    ------
    ScoredTable
        One per non-empty chunk.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame({"a": np.sin(np.arange(80) / 3), "b": np.cos(np.arange(80) / 3)})
    >>> model = AutoEncoderDetector(window=8, max_epochs=1, random_state=0).fit(frame)
    >>> pieces = [frame.iloc[i:i + 25] for i in range(0, 80, 25)]
    >>> streamed = pd.concat([s.table for s in score_chunks(model, pieces)])
    >>> bool(np.allclose(streamed["score"], score_table(model, frame).table["score"]))
    True
    """
    for chunk in chunks:
        if not len(chunk):
            continue
        scored = score_table(model, chunk, context=context, **options)
        context = scored.carry
        yield scored


def score_table(
    model,
    frame: pd.DataFrame,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] = (),
    source: str | None = None,
    keep_shown: bool = False,
    context: pd.DataFrame | None = None,
) -> ScoredTable:
    """Score every row of ``frame`` with a fitted detector.

    Parameters
    ----------
    model : fitted AutoEncoderDetector or VAEDetector
    frame : pandas.DataFrame
        Must hold the columns the model reads; others are ignored (ids are copied).
    top_k : int, default=3
        Largest contributing columns to name per row.
    id_columns : sequence of str
        Copied first, unchanged.
    source : str or None
        Name of the data, for messages.
    keep_shown : bool, default=False
        Keep the observed values per column in ``encoded.shown`` (for explanations).
    context : pandas.DataFrame or None
        A time-series model only: the rows just before ``frame``, which its windows reach
        into; they get no output row. The last :func:`context_rows` usable ones are used
        (more are fine; unusable ones are skipped); fewer, or none, score the first rows
        of ``frame`` as the start of a series. A table model refuses a non-empty context.

    Returns
    -------
    ScoredTable
        Rows that cannot be scored do not raise: they get an empty score and a reason.

    Raises
    ------
    DataError
        A column the model reads is missing (from ``frame`` or ``context``), an id column
        is wrong, or a table model is given context.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import VAEDetector
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    >>> model = VAEDetector(max_epochs=2, random_state=0).fit(frame)
    >>> list(score_table(model, frame.iloc[:2], top_k=1).table.columns)
    ['score', 'is_anomaly', 'p_value', 'top1', 'top1_nats', 'reason']
    """
    from latentwatch.explain import check_top_k

    check_is_fitted(model, "module_")
    check_top_k(top_k)
    check_columns(model, frame, source)
    for name in id_columns:
        if name not in frame.columns:
            raise DataError(where(source, f"id column {name!r} is not in the data"))
        if name in RESERVED:
            raise DataError(where(source, f"id column {name!r} has the name of an output "
                                          "column; rename it"))
    window = context_rows(model)
    given = context is not None and len(context) > 0
    if window is None:
        if given:
            raise DataError(where(source, "context rows are for a time-series model; this "
                                          "table model scores each row alone: leave the "
                                          "context out"))
        encoded = model.codec_.encode(frame, source=source, keep_shown=keep_shown)
        carry, series_start = None, False
    else:
        if given:
            check_columns(model, context, f"{source or 'the data'}: context")
            context = next_context(model, context)
        else:
            context = None
        encoded = model.codec_.encode(frame, source=source, keep_shown=keep_shown,
                                      context=context)
        series_start = window > (0 if context is None else len(context))
        carry = next_context(model, frame, encoded.bad, context)
    scores, parts = model.score_encoded(encoded.good)
    n = len(frame)
    good = ~encoded.bad
    columns: dict[str, object] = {c: frame[c].to_numpy() for c in output_ids(model, id_columns)}
    full = np.full(n, np.nan)
    full[good] = scores
    columns["score"] = full
    flags = pd.array([pd.NA] * n, dtype="boolean")
    offset = model.offset_
    if offset is not None:
        flags[good] = scores > -offset
    columns["is_anomaly"] = flags
    calibration = model.calibration_scores_
    if calibration is not None:
        p = np.full(n, np.nan)
        p[good] = conformal_p_values(calibration, scores)
        columns["p_value"] = p
    names = np.array(model.codec_.names, dtype=object)
    k = min(top_k, len(names))
    order = np.argsort(-parts, axis=1, kind="stable")[:, :k]
    for rank in range(k):
        column = np.full(n, None, dtype=object)
        nats = np.full(n, np.nan)
        column[good] = names[order[:, rank]]
        nats[good] = np.take_along_axis(parts, order[:, rank:rank + 1], axis=1)[:, 0]
        columns[f"top{rank + 1}"] = pd.array(column, dtype="string")
        columns[f"top{rank + 1}_nats"] = nats
    reason = np.full(n, None, dtype=object)
    for problem in encoded.problems:
        reason[problem.position] = f"column {problem.column!r}: {problem.message}"
    columns["reason"] = pd.array(reason, dtype="string")
    table = pd.DataFrame(columns, index=pd.RangeIndex(n))
    return ScoredTable(table, encoded.problems, encoded, scores, parts, series_start, carry)


# -- drift (see latentwatch.drift) ----------------------------------------------------------
def drift_frame(model, frame: pd.DataFrame, *, level: float = 0.05,
                source: str | None = None):
    """The drift test of a table (``model.drift``), rows that cannot be read left out
    and counted (``n_skipped``).

    Raises
    ------
    DataError
        A column the model reads is missing.
    sklearn.exceptions.NotFittedError
        The model has no drift reference (an old model file): one line saying what to do.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import VAEDetector
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame(rng.normal(size=(1000, 3)), columns=list("abc"))
    >>> model = VAEDetector(max_epochs=3, random_state=0).fit(frame)
    >>> drift_frame(model, frame.iloc[:200] + [0, 0, 3]).columns[0].column
    'c'
    """
    check_is_fitted(model, "module_")
    check_columns(model, frame, source)
    encoded = model.codec_.encode(frame, source=source)
    return model.drift_encoded(encoded.good, level=level, n_skipped=int(encoded.bad.sum()))


def times_of(frame: pd.DataFrame, time_column: str, source: str | None = None) -> pd.Series:
    """``frame[time_column]`` as datetimes; a :class:`DataError` names the column when it
    is missing or not read as times."""
    if time_column not in frame.columns:
        raise DataError(where(source, f"time column {time_column!r} is not in the data"))
    column = frame[time_column]
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.reset_index(drop=True)
    try:
        return pd.Series(pd.to_datetime(column, format="mixed")).reset_index(drop=True)
    except (ValueError, TypeError) as exc:
        raise DataError(where(source, f"time column {time_column!r}: values are not dates "
                                      f"or times ({' '.join(str(exc).split())[:80]})")
                        ) from None


def drift_over_time(model, frame: pd.DataFrame, time_column: str, every: str = "1d", *,
                    level: float = 0.05, source: str | None = None) -> list[tuple[Any, Any]]:
    """:func:`drift_frame` of each period of ``every`` (a pandas offset) of
    ``frame[time_column]``: ``[(period start, DriftResult), ...]`` in time order. Rows
    without a time are in no period; a period with fewer than
    :data:`latentwatch.drift.MIN_ROWS` rows has no p-value. Each period is tested at
    ``level``: over ``k`` periods of unchanged data about ``level * k`` alarms are
    expected.
    """
    from latentwatch import drift

    times = times_of(frame, time_column, source)
    frame = frame.reset_index(drop=True)
    return [(start, drift_frame(model, frame.iloc[rows], level=level, source=source))
            for start, rows in drift.periods(times, every)]
