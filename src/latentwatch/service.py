"""The one scoring path: a table in, one scored row per input row out.

:func:`score_table` is shared by ``latentwatch score``, ``explain`` and ``report``, and is
what a REST server or a distributed adapter calls: the same rows give the same numbers
everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    """

    table: pd.DataFrame
    problems: list[Problem]
    encoded: Encoded
    scores: np.ndarray
    parts: np.ndarray

    @property
    def good(self) -> np.ndarray:
        return ~self.encoded.bad


def check_columns(model, frame: pd.DataFrame, source: str | None = None) -> None:
    """Refuse a table without the columns the model reads, naming the first missing one."""
    missing = [c for c in model.codec_.sources if c not in frame.columns]
    if missing:
        hint = ""
        if getattr(model, "input_kind_", "frame") == "array":
            hint = (" (this model was fitted on an unnamed array: it reads the columns "
                    f"x0 to x{len(model.codec_.sources) - 1}; rename the file's columns or "
                    "refit on named data)")
        raise DataError(where(source, f"column {missing[0]!r} is missing; the model reads "
                                      f"{', '.join(model.codec_.sources[:12])}"
                                      f"{' ...' if len(model.codec_.sources) > 12 else ''}"
                                      + hint))


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
        A time-series model only: the rows just before ``frame`` (the last
        ``codec_.context_rows`` usable ones are enough), which its windows reach into;
        they get no output row. Scoring a series in chunks with the previous rows as
        context gives the scores of the whole series.

    Returns
    -------
    ScoredTable
        Rows that cannot be scored do not raise: they get an empty score and a reason.

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
    extra = {} if context is None else {"context": context}
    encoded = model.codec_.encode(frame, source=source, keep_shown=keep_shown, **extra)
    scores, parts = model.score_encoded(encoded.good)
    n = len(frame)
    good = ~encoded.bad
    table = pd.DataFrame({c: frame[c].to_numpy() for c in id_columns})
    full = np.full(n, np.nan)
    full[good] = scores
    table["score"] = full
    flags = pd.array([pd.NA] * n, dtype="boolean")
    offset = model.offset_
    if offset is not None:
        flags[good] = scores > -offset
    table["is_anomaly"] = flags
    calibration = model.calibration_scores_
    if calibration is not None:
        p = np.full(n, np.nan)
        p[good] = conformal_p_values(calibration, scores)
        table["p_value"] = p
    names = np.array(model.codec_.names, dtype=object)
    k = min(top_k, len(names))
    order = np.argsort(-parts, axis=1, kind="stable")[:, :k]
    for rank in range(k):
        column = np.full(n, None, dtype=object)
        nats = np.full(n, np.nan)
        column[good] = names[order[:, rank]]
        nats[good] = np.take_along_axis(parts, order[:, rank:rank + 1], axis=1)[:, 0]
        table[f"top{rank + 1}"] = pd.array(column, dtype="string")
        table[f"top{rank + 1}_nats"] = nats
    reason = np.full(n, None, dtype=object)
    for problem in encoded.problems:
        reason[problem.position] = f"column {problem.column!r}: {problem.message}"
    table["reason"] = pd.array(reason, dtype="string")
    return ScoredTable(table, encoded.problems, encoded, scores, parts)
