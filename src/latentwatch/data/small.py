"""Reading the cells of a small frame (a row to score, a few dozen) without per-column
pandas work.

:meth:`TableCodec.encode <latentwatch.data.codec.TableCodec.encode>` reads a block's
column with :mod:`latentwatch.data.cells`, whose pandas calls (a Series, ``isna``,
``astype``, an ``Index`` lookup...) cost tens of microseconds each whatever the number of
rows: most of the time of scoring one row. For a frame of fewer than
``UNSEEN_WARN_MIN`` rows, the codec first asks :func:`block_values` here, which reads the
cells of the frame's one ``to_numpy(dtype=object)`` with Python and numpy on the common
cases: numbers in a numpy numeric column, flags in a numpy bool column, and text (or gaps)
in a text column, for categorical, boolean and log or quantile numeric blocks. The values
are those of the cells readers, bit for bit. Anything else (a cell that would be a
problem, a number written as text, a nullable or categorical dtype...) answers None, and
the codec reads that block as before, so problems and their messages are unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block
from latentwatch.data.cells import WEEKDAYS, in_utc
from latentwatch.data.quantiles import to_normal_scores
from latentwatch.data.schema import FALSE_WORDS, TRUE_WORDS

NUMBER, FLAG, TEXT = "number", "flag", "text"
_WORDS = {**dict.fromkeys(TRUE_WORDS, 1.0), **dict.fromkeys(FALSE_WORDS, 0.0)}
# a column's cells: its kind (NUMBER: floats with NaN gaps; FLAG: bools; TEXT: str or
# None) and the values
Column = tuple[str, Any]


def _kind(dtype: Any) -> str | None:
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iuf":
            return NUMBER
        if dtype.kind == "b":
            return FLAG
        return TEXT if dtype.kind == "O" else None
    return TEXT if isinstance(dtype, pd.StringDtype) else None


def _text(cells: np.ndarray) -> list[str | None] | None:
    """The cells of a text column as str or None (a gap), or None if any is neither."""
    out: list[str | None] = []
    for v in cells:
        if type(v) is str:
            out.append(v)
        elif v is None or v is pd.NA or (type(v) is float and v != v):
            out.append(None)
        else:
            return None
    return out


# ISO 8601 text that pandas and datetime.fromisoformat read alike: no fraction, no offset,
# years within pandas' nanosecond range
_PLAIN_STAMP = re.compile(r"(\d{4})-\d\d-\d\d[T ]\d\d:\d\d:\d\d", re.ASCII)
_YEARS = (1678, 2261)


def _stamp(text: str) -> dt.datetime | None:
    match = _PLAIN_STAMP.fullmatch(text)
    if match is None or not _YEARS[0] <= int(match.group(1)) <= _YEARS[1]:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


class SmallFrame:
    """The cells of a small frame, column by column (see the module docstring)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._cells = frame.to_numpy(dtype=object)
        self._position = {c: i for i, c in enumerate(frame.columns)}
        self._dtypes = list(frame.dtypes)
        self.dtypes = dict(zip(frame.columns, self._dtypes, strict=True))

    @classmethod
    def of(cls, frame: pd.DataFrame) -> SmallFrame | None:
        """The small frame of ``frame``, or None if its columns are not unique names."""
        return None if frame.columns.has_duplicates else cls(frame)

    def column(self, name: str) -> Column | None:
        """The cells of column ``name`` as (kind, values), or None where not read here."""
        i = self._position[name]
        kind = _kind(self._dtypes[i])
        cells = self._cells[:, i]
        if kind == NUMBER:
            return NUMBER, np.asarray(cells.tolist(), dtype=np.float64)
        if kind == FLAG:
            return FLAG, np.asarray(cells.tolist(), dtype=np.float64)
        if kind == TEXT:
            text = _text(cells)
            return None if text is None else (TEXT, text)
        return None


    def numbers(self, names: list[str]) -> np.ndarray | None:
        """The float values of numeric columns, one column each (NaN for a gap), or None
        unless every one is a numpy int, unsigned or float column."""
        if any(_kind(self.dtypes[name]) != NUMBER for name in names):
            return None
        index = [self._position[name] for name in names]
        return np.asarray(self._cells[:, index].tolist(), dtype=np.float64).reshape(
            len(self._cells), len(index))

    def dates(self, name: str, fmt: str | None) -> list[dt.datetime | None] | None:
        """The timestamps of an ISO 8601 text column (None for a gap), or None unless
        every present cell is plain ISO 8601 text (``2024-01-31 06:00:00``) that
        :func:`latentwatch.data.cells.read_dates` reads to the same naive timestamp."""
        column = self.column(name) if fmt is None else None
        if column is None or column[0] != TEXT:
            return None
        stamps = [None if v is None else _stamp(v) for v in column[1]]
        if any(t is None and v is not None for t, v in zip(stamps, column[1], strict=True)):
            return None
        return stamps


def derived(dates: pd.Series | list[dt.datetime | None], feature: str) -> Column:
    """:func:`latentwatch.data.cells.derive_feature` as a column: the hour or month as
    numbers (NaN for a gap), the weekday as text; of parsed dates, or of
    :meth:`SmallFrame.dates`."""
    stamps = dates if isinstance(dates, list) else [
        None if pd.isna(t) else t for t in in_utc(dates).tolist()]
    if feature == "weekday":
        return TEXT, [None if t is None else WEEKDAYS[t.weekday()] for t in stamps]
    return NUMBER, np.array([np.nan if t is None else float(t.hour if feature == "hour"
                                                             else t.month) for t in stamps])


def _number_text(value: float) -> str | None:
    if value != value:
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def block_values(block: Block, column: Column | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Model-space values (NaN when missing) and the (all False) bad mask of a block from
    its column's cells, as ``codec._block_values`` gives them; None where a cell would be
    a problem or the case is not read here."""
    if column is None:
        return None
    kind, cells = column
    n = len(cells)
    if block.kind == "numeric":
        if kind != NUMBER or np.isinf(cells).any():
            return None
        if block.log:
            if (cells <= -1).any():
                return None
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.log1p(cells)
        elif block.quantiles is not None:
            values = to_normal_scores(cells.copy(), block.quantiles)
        else:
            values = cells
        return values, np.zeros(n, dtype=bool)
    if block.kind == "boolean":
        if kind == FLAG:
            return cells, np.zeros(n, dtype=bool)
        if kind == NUMBER:
            if (~np.isnan(cells) & (cells != 0) & (cells != 1)).any():
                return None
            return cells.copy(), np.zeros(n, dtype=bool)
        flags = [np.nan if v is None else _WORDS.get(v.strip().lower()) for v in cells]
        if any(f is None for f in flags):
            return None
        return np.array(flags, dtype=np.float64), np.zeros(n, dtype=bool)
    if block.label_type == "str":
        if kind == NUMBER:
            labels = [_number_text(float(v)) for v in cells]
        elif kind == TEXT:
            labels = cells
        else:
            return None
        lookup = {c: i for i, c in reversed(list(enumerate(block.categories)))}
    elif block.label_type in ("int", "float") and kind == NUMBER:
        if (cells == 0).any():  # -0.0 and 0.0: left to pandas' own lookup
            return None
        labels = [None if v != v else float(v) for v in cells]
        lookup = {float(c): i for i, c in reversed(list(enumerate(block.categories)))}
    else:
        return None
    rare = float(len(block.categories))
    values = np.array([np.nan if label is None else lookup.get(label, rare)
                       for label in labels], dtype=np.float64)
    return values, np.zeros(n, dtype=bool)
