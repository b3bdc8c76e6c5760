"""The data behind the report's data sections, computed once through the one scoring path.

:func:`score_for_report` sends the rows through :func:`latentwatch.service.score_table`
(scores, per-column parts, decisions, p-values and the rows that cannot be scored) and
asks the model once for what it expected of every scored row: the most probable value of
each modelled column (one per block of ``model.codec_``, so ``ts.hour`` for a datetime
column), decoded to the original units and labels by the codec's one decode path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.codec import Problem
from latentwatch.engine.scoring import expectations
from latentwatch.evaluation import Evaluation, binary_labels, evaluate_scores
from latentwatch.service import RESERVED, score_table
from latentwatch.thresholds import describe_threshold


@dataclass
class Scored:
    """Everything the data sections need.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows given (all of them).
    positions : np.ndarray of int
        Positions in ``frame`` (from 0) of the rows that were scored.
    problems : list of Problem
        The rows that could not be scored, and why.
    scores, parts : np.ndarray
        Scores ``(n_scored,)`` and per-column parts ``(n_scored, n_blocks)``.
    flagged : np.ndarray of bool or None
        The threshold's decisions (None while the model has no threshold).
    p_values : np.ndarray or None
        Conformal p-values (None without calibration scores).
    y : np.ndarray of int or None
        Labels of the scored rows (1 = anomaly).
    n_labelled_anomalies : int
        Anomalies among all the labelled rows, scored or not.
    observed, expected : pandas.DataFrame
        One column per block: the value in the data (datetime features derived) and the
        model's most probable value, in the original units and labels.
    present : np.ndarray of bool
        ``(n_scored, n_blocks)``: the entry is in the data (not a gap).
    targets, expected_codes : np.ndarray
        ``(n_scored, n_blocks)`` model-space values: observed (standardised number,
        category index, 0/1) and most probable.
    probability : np.ndarray
        ``(n_scored, n_blocks)``: model probability of the observed category or boolean
        (NaN for numbers and gaps).
    ids : pandas.DataFrame or None
        The schema's id columns present in the data, for the scored rows.
    evaluation : Evaluation or None
        With labels: the metrics over the scored rows.
    rows : np.ndarray or None
        The packed scored rows (for the counterfactual explanations of the top rows).
    """

    frame: pd.DataFrame
    positions: np.ndarray
    problems: list[Problem]
    scores: np.ndarray
    parts: np.ndarray
    flagged: np.ndarray | None
    p_values: np.ndarray | None
    y: np.ndarray | None
    n_labelled_anomalies: int
    observed: pd.DataFrame
    expected: pd.DataFrame
    present: np.ndarray
    targets: np.ndarray
    expected_codes: np.ndarray
    probability: np.ndarray
    ids: pd.DataFrame | None
    evaluation: Evaluation | None
    rows: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Rows given."""
        return len(self.frame)

    @property
    def n_scored(self) -> int:
        return len(self.scores)


def as_frame(model: Any, X: Any) -> pd.DataFrame:
    """``X`` as a table of the columns the model reads.

    A DataFrame is taken as it is (the codec reads its columns by name; other columns are
    ignored); an array must have one column per data column of the model, in training
    order (``x0, x1, ...`` for a model fitted on an array).

    Raises
    ------
    ValueError
        When an array has the wrong number of columns.
    """
    if isinstance(X, pd.DataFrame):
        if not all(isinstance(c, str) for c in X.columns):
            X = X.set_axis([str(c) for c in X.columns], axis=1)
        return X
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    names = list(model.codec_.sources)
    if array.ndim != 2 or array.shape[1] != len(names):
        raise ValueError(f"X has {array.shape[1] if array.ndim == 2 else array.shape} "
                         f"columns, but the model reads {len(names)}: pass a DataFrame with "
                         "its columns, or an array with one column per column")
    return pd.DataFrame(array, columns=names)


def score_for_report(model: Any, X: Any, y: Any = None, source: str | None = None) -> Scored:
    """Score ``X`` (and evaluate against ``y``) for the report.

    Rows that cannot be scored are kept in ``problems``, never raised; a table without a
    column the model reads raises :class:`~latentwatch.errors.DataError` (naming
    ``source``, the data's name, when given).

    Raises
    ------
    ValueError
        When the labels are not 0/1 or do not have one per row.
    """
    frame = as_frame(model, X)
    labels = None if y is None else binary_labels(y)
    if labels is not None and len(labels) != len(frame):
        raise ValueError(f"{len(labels)} labels for {len(frame)} rows: give one label per row")
    codec = model.codec_
    ids = [c for c in model.schema_.id_columns if c in frame.columns and c not in RESERVED]
    result = score_table(model, frame, top_k=0, id_columns=ids, source=source,
                         keep_shown=True)
    good = result.good
    positions = np.flatnonzero(good)
    scores, parts = result.scores, result.parts
    flagged = None if model.offset_ is None else (  # no threshold yet: no decisions
        result.table["is_anomaly"].to_numpy(dtype=bool, na_value=False)[good])
    p_values = (result.table["p_value"].to_numpy()[good] if "p_value" in result.table
                else None)
    rows = result.encoded.good
    values, probability = expectations(model.module_, model.heads_, rows, model.device_)
    expected = codec.block_frame(values)
    shown = result.encoded.shown
    observed = (shown.iloc[positions].reset_index(drop=True) if shown is not None
                else pd.DataFrame(index=range(len(rows))))
    targets = rows[:, codec.input_width:codec.input_width + codec.n_blocks]
    present = rows[:, codec.input_width + codec.n_blocks:
                   codec.input_width + 2 * codec.n_blocks] > 0.5
    y_good = None if labels is None else labels[good]
    evaluation = None
    if y_good is not None and len(y_good):
        evaluation = evaluate_scores(
            y_good, scores, flagged if flagged is not None else np.zeros(len(scores), bool),
            threshold=describe_threshold(model),
            model_threshold=None if model.offset_ is None else -model.offset_)
    return Scored(
        frame=frame, positions=positions, problems=list(result.problems), scores=scores,
        parts=parts, flagged=flagged, p_values=p_values, y=y_good,
        n_labelled_anomalies=0 if labels is None else int(labels.sum()),
        observed=observed, expected=expected, present=present, targets=targets,
        expected_codes=values, probability=probability,
        ids=result.table.loc[good, ids].reset_index(drop=True) if ids else None,
        evaluation=evaluation, rows=rows)
