"""Reading cells: numbers, booleans, dates and their derived features, and labels.

Every reader returns the values in model terms (floats with NaN for missing, 0/1 flags,
timestamps, labels of one type) and the mask of present values it could not read; the
codec turns that mask into :class:`~latentwatch.data.problems.Problem` rows, the streamed
statistics into messages naming file and row.

>>> import pandas as pd
>>> numbers, bad = to_numbers(pd.Series(["1.5", "abc", None]))
>>> numbers.tolist()[0], bad.tolist()
(1.5, [False, True, False])
>>> to_booleans(pd.Series(["Yes", "n"]))[0].tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block
from latentwatch.data.schema import (
    EPOCH_FORMATS,
    FALSE_WORDS,
    TRUE_WORDS,
    number_hint,
    parse_datetimes,
)

# Labels of the weekday feature of a datetime column.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def to_numbers(raw: pd.Series, messages: dict | None = None, j: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Floats (NaN when missing) and the mask of values that are not finite numbers."""
    dtype = raw.dtype
    if pd.api.types.is_bool_dtype(dtype) and not raw.isna().any():
        numbers = raw.to_numpy(dtype=np.float64)
        parse_failed = np.zeros(len(raw), dtype=bool)
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        parse_failed = np.zeros(len(raw), dtype=bool)
    else:
        missing = raw.isna().to_numpy()
        text = raw.astype(object).where(~missing, None)
        parsed = pd.to_numeric(text, errors="coerce")
        numbers = np.asarray(parsed, dtype=np.float64)
        parse_failed = ~missing & np.isnan(numbers)
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            parse_failed = ~missing
    infinite = np.isinf(numbers)
    if messages is not None:
        values = raw.to_numpy()
        for row in np.flatnonzero(parse_failed):
            hint = number_hint(values[row])
            messages.setdefault((int(row), j), (values[row], f"{values[row]!r} is not a number"
                                                + (f" ({hint})" if hint else "")))
        note_bad(messages, infinite, j, raw, "is infinite")
    return np.where(infinite | parse_failed, np.nan, numbers), parse_failed | infinite


def to_booleans(raw: pd.Series, messages: dict | None = None, j: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """0/1 floats (NaN when missing) and the mask of values that are not booleans.

    Accepted: booleans, 0 and 1, and (any case) true/false, t/f, yes/no, y/n.
    """
    missing = raw.isna().to_numpy()
    if pd.api.types.is_bool_dtype(raw.dtype):
        flags = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        return flags, np.zeros(len(raw), dtype=bool)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~missing & (numbers != 0) & (numbers != 1)
    else:
        words = raw.astype(object).where(~missing, "").map(_word).to_numpy(dtype=object)
        numbers = np.full(len(raw), np.nan)
        numbers[np.isin(words, list(TRUE_WORDS))] = 1.0
        numbers[np.isin(words, list(FALSE_WORDS))] = 0.0
        bad = ~missing & np.isnan(numbers)
    if messages is not None:
        note_bad(messages, bad, j, raw, "is not a boolean (true/false, yes/no, 1/0)")
    return np.where(bad | missing, np.nan, numbers), bad


def _word(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return str(int(value))
    return str(value).strip().lower()


def read_dates(raw: pd.Series, fmt: str | None = None) -> tuple[pd.Series, np.ndarray]:
    """Timestamps read by ``fmt``, and the mask of present values that are not dates.

    A column read by a format (``"epoch_s"``, ``"%d/%m/%Y"``...) also reads ISO 8601 text,
    which is how a decoded table's timestamps are written as text: ``score`` then reads
    the CSV that ``sample`` wrote. Such text with an offset is converted to UTC when the
    format gives timestamps without a time zone; text without one is taken as UTC when the
    format gives timestamps with one.
    """
    parsed = parse_datetimes(raw, fmt)
    failed = (raw.notna() & parsed.isna()).to_numpy()
    if fmt is not None and failed.any():
        retried = parse_datetimes(raw[failed], None)
        if retried.notna().any():
            tz, retried_tz = getattr(parsed.dt, "tz", None), getattr(retried.dt, "tz", None)
            if retried_tz is None and tz is not None:
                retried = retried.dt.tz_localize("UTC")
            if tz is None and retried_tz is not None:
                retried = retried.dt.tz_convert("UTC").dt.tz_localize(None)
            elif tz is not None:
                retried = retried.dt.tz_convert(tz)
            parsed = parsed.copy()
            parsed[failed] = retried.to_numpy()
            failed = (raw.notna() & parsed.isna()).to_numpy()
    return parsed, failed


# Excel's serial day numbers of 1954 to 2118: a date column exported as numbers.
_EXCEL_SERIALS = (20_000, 80_000)


def date_problem(value: Any, fmt: str | None) -> str:
    """Why ``value`` is not a date/time of a column read by ``fmt``, naming the format
    expected.

    Examples
    --------
    >>> date_problem("01.01.2013", "%d/%m/%Y")
    "'01.01.2013' is not a date/time (expected %d/%m/%Y, e.g. 31/01/2024)"
    >>> date_problem(41275, None)[:60]
    '41275 is not a date/time: it looks like an Excel serial day '
    """
    expected = expected_date(fmt)
    number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    if fmt not in EPOCH_FORMATS and pd.notna(number) and (
            _EXCEL_SERIALS[0] <= number <= _EXCEL_SERIALS[1]):
        return (f"{value!r} is not a date/time: it looks like an Excel serial day number; "
                f"write the dates as text when exporting (expected {expected})")
    return f"{value!r} is not a date/time (expected {expected})"


def expected_date(fmt: str | None) -> str:
    """A datetime format as a person reads it, with an example.

    Examples
    --------
    >>> expected_date(None)
    'ISO 8601, e.g. 2024-01-31 06:00'
    """
    if fmt is None:
        return "ISO 8601, e.g. 2024-01-31 06:00"
    if fmt in EPOCH_FORMATS:
        return f"{fmt}, {'milli' if fmt == 'epoch_ms' else ''}seconds since 1970 UTC"
    return f"{fmt}, e.g. {pd.Timestamp('2024-01-31 06:00').strftime(fmt)}"


def note_bad_dates(messages: dict, bad: np.ndarray, j: int, raw: pd.Series,
                   fmt: str | None) -> None:
    """:func:`note_bad` for values that are not dates, naming the expected format."""
    values = raw.to_numpy()
    for row in np.flatnonzero(bad):
        messages.setdefault((int(row), j), (values[row], date_problem(values[row], fmt)))


def in_utc(dates: pd.Series) -> pd.Series:
    """Time-zone aware timestamps converted to UTC (without a zone); naive ones as they are.

    The same instant written with two UTC offsets (``06:00Z``, ``01:00-05:00``) is then the
    same timestamp; a naive one keeps the clock the data were written in.

    Examples
    --------
    >>> stamps = pd.Series(pd.to_datetime(["2024-01-01T01:00:00-05:00"]))
    >>> str(in_utc(stamps).iloc[0])
    '2024-01-01 06:00:00'
    """
    if getattr(dates.dt, "tz", None) is None:
        return dates
    return dates.dt.tz_convert("UTC").dt.tz_localize(None)


def derive_feature(dates: pd.Series, feature: str) -> pd.Series:
    """``hour`` (0-23), ``weekday`` (``"Mon"``...) or ``month`` (1-12) of the UTC time
    (:func:`in_utc`); missing stays missing."""
    dates = in_utc(dates)
    if feature == "weekday":
        index = dates.dt.day_of_week
        names = np.array(WEEKDAYS, dtype=object)[index.fillna(0).astype(int).to_numpy()]
        return pd.Series(np.where(index.isna(), None, names), index=dates.index, dtype=object)
    part = dates.dt.hour if feature == "hour" else dates.dt.month
    return pd.Series(part, index=dates.index).astype("Int64")


def labels_of(raw: pd.Series, label_type: str) -> tuple[pd.Series, np.ndarray]:
    """Values in the label type of a categorical block, and the missing mask.

    Text labels compare as strings (integral numbers written without ``.0``); numeric
    labels compare as numbers, text that is not a number matching none.
    """
    missing = raw.isna().to_numpy()
    if label_type == "str":
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            numbers = raw.to_numpy(dtype=np.float64, na_value=np.nan)
            text = [_number_text(v) for v in numbers]
            return pd.Series(text, index=raw.index, dtype=object), missing
        return raw.astype(object).where(~missing, None).map(
            lambda v: v if v is None or isinstance(v, str) else str(v)), missing
    numbers = pd.to_numeric(raw.astype(object).where(~missing, None), errors="coerce")
    return pd.Series(np.asarray(numbers, dtype=np.float64), index=raw.index), missing


def _number_text(value: float) -> str | None:
    if np.isnan(value):
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def category_codes(raw: pd.Series, block: Block) -> tuple[np.ndarray, np.ndarray]:
    """Category index per row (the rare bucket for values outside the categories)."""
    labels, missing = labels_of(raw, block.label_type)
    lookup = [float(c) for c in block.categories] if block.label_type != "str" else list(
        block.categories)
    codes = pd.Index(lookup, dtype=object if block.label_type == "str" else np.float64
                     ).get_indexer(labels.to_numpy())
    return np.where(codes < 0, len(block.categories), codes), missing


def note_bad(messages: dict, bad: np.ndarray, j: int, raw: pd.Series, message: str) -> None:
    """Remember the value and message of the first bad cell of each row in block ``j``."""
    values = raw.to_numpy()
    for row in np.flatnonzero(bad):
        messages.setdefault((int(row), j), (values[row], f"{values[row]!r} {message}"))



def category_label_type(raw: pd.Series) -> str:
    """``"int"``, ``"float"`` or ``"str"``: how a categorical column's labels compare."""
    dtype = raw.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = pd.to_numeric(raw.dropna().astype(object), errors="coerce").to_numpy(float)
        return "int" if np.all(np.mod(numbers, 1) == 0) else "float"
    return "str"



def boolean_label_type(raw: pd.Series) -> str:
    """``"bool"``, ``"int"`` (0/1) or ``"str"``: how a boolean column is spelt."""
    if pd.api.types.is_bool_dtype(raw.dtype) or raw.dropna().map(
            lambda v: isinstance(v, bool | np.bool_)).all():
        return "bool"
    return "int" if pd.api.types.is_numeric_dtype(raw.dtype) else "str"

