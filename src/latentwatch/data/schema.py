"""What each column of a table is: inferred from the data, overridable by a JSON file.

Kinds
-----
``numeric``
    Floats, and integers with more than ``CATEGORICAL_INTEGER_MAX`` distinct values.
    Modelled by a Gaussian on the standardised value; ``log: true`` models
    ``log(1 + x)`` instead (inferred for non-negative columns with skewness above
    ``LOG_SKEWNESS`` when the log makes them less skewed).
``categorical``
    Text, pandas categoricals, and integers with few distinct values. Modelled by a
    softmax over the ``max_categories`` most frequent values seen at least
    ``min_category_count`` times, plus one bucket for every other value (rare in
    training or never seen).
``boolean``
    ``bool`` columns, 0/1 columns and text columns of true/false, yes/no, t/f or y/n.
    Modelled by a Bernoulli.
``datetime``
    Timestamps, read by the column's ``format`` (see below). Not modelled as an instant,
    which would make every future row look new: each one gives categorical features, by
    default the hour of the day (unless all times are midnight) and the day of the week,
    named ``COLUMN.hour`` and ``COLUMN.weekday`` (``COLUMN.month`` on request).

Timestamps
----------
A datetime column's ``format`` says how its values are read: none for ``datetime64``
values or ISO 8601 text, ``"epoch_s"``/``"epoch_ms"`` for seconds/milliseconds since
1970-01-01 UTC (read as UTC without a time zone), or a ``strftime`` format such as
``"%d/%m/%Y %H:%M"``. Values the format does not read are missing for inference and bad
values ("is not a date/time") for the model. Inference takes a column as datetime by
this rule, and says why in the column's note:

* text the table's ``date_format`` (``fit --date-format``) reads, at least
  ``MOSTLY_DATES`` of it;
* ``datetime64`` values; text of which at least ``MOSTLY_DATES`` (95%) reads as ISO 8601;
* text shaped ``D/M/Y`` or ``M/D/Y`` (separator ``/``, ``.`` or ``-``; year of 2 or 4
  digits; optional time ``H:M`` or ``H:M:S``; the first value of that shape sets the
  format): day-first if that reads more of the values (some first field is above 12),
  month-first if that does (some second field is above 12), day-first when both read
  every value alike (the international default; the note says how to change it); neither
  reading ``MOSTLY_DATES`` of the values means it is not a datetime;
* integer columns named like a time (``time``, ``date`` or ``timestamp`` in the name, or
  ending in ``_at``) whose values all lie in [1e9, 4e9] (``epoch_s``, 2001-2096) or in
  [1e12, 4e12] (``epoch_ms``).

Identifier columns (``id_columns``) are passed through to the output and excluded
columns ignored. Inference excludes columns it cannot model (all missing, durations,
lists in a cell, numbers written with a decimal comma or thousands separators that
were read as text (the reason names the reading option),
text with as many distinct values as an identifier) and says why.

Schema file
-----------
A JSON object; every key is optional::

    {
      "columns": {"amount": {"kind": "numeric", "log": true},
                  "hour": "categorical",
                  "ts": {"kind": "datetime", "features": ["hour", "weekday"]},
                  "paid": {"kind": "datetime", "format": "%d/%m/%Y %H:%M"}},
      "id_columns": ["transaction_id"],
      "exclude": ["comment"],
      "max_categories": 50,
      "min_category_count": 5,
      "date_format": "%m/%d/%Y"
    }

Columns it lists take the given kind; the others are inferred. ``date_format`` reads
text dates of the inferred columns first (``fit --date-format``). ``TableSchema.to_dict``
writes this form with every column listed (``latentwatch schema`` prints it), so an
inferred schema can be saved, edited and passed back with ``--schema``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.errors import DataError, where

KINDS = ("numeric", "categorical", "boolean", "datetime")
DATETIME_FEATURES = ("hour", "weekday", "month")
MAX_CATEGORIES = 50
MIN_CATEGORY_COUNT = 5
# Integer columns with at most this many distinct values are categorical (hours, weekdays,
# months, small codes); with more, numeric.
CATEGORICAL_INTEGER_MAX = 24
# Non-negative numeric columns more skewed than this get a log(1 + x) transform.
LOG_SKEWNESS = 2.0
# Text columns with more distinct values than max(max_categories, this share of the rows)
# look like identifiers or free text and are excluded.
ID_LIKE_SHARE = 0.5
# Text columns where at least this share (but not all) of the values are numbers are taken
# as numeric columns with typos: fitting then names the offending rows.
MOSTLY_NUMERIC = 0.95
# Text columns where at least this share of the values read as timestamps are datetime
# columns (fitting then names the other rows).
MOSTLY_DATES = 0.95
# Datetime formats other than strftime ones: numbers since 1970-01-01 UTC, with their unit
# and the range an integer column must lie in to be inferred as one.
EPOCH_FORMATS = {"epoch_s": ("s", 1e9, 4e9), "epoch_ms": ("ms", 1e12, 4e12)}
_TIME_NAME = re.compile(r"time|date|_at$", re.IGNORECASE)
# Day and month (either order), year, optional time: "31/12/2024 10:00", "1.2.24".
_DAY_MONTH = re.compile(r"\d{1,2}([/.-])\d{1,2}\1(\d{4}|\d{2})(?:([ T])\d{1,2}:\d{2}(:\d{2})?)?")
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})
BOOLEAN_WORD_PAIRS = tuple(frozenset(p) for p in (("true", "false"), ("t", "f"), ("yes", "no"),
                                                  ("y", "n")))
_FILE_KEYS = ("columns", "id_columns", "exclude", "max_categories", "min_category_count",
              "date_format")
# Names R, pandas and spreadsheets give a column of row numbers.
INDEX_NAMES = frozenset({"", "rownames", "row.names", "row_names", "index", "level_0",
                         "row", "rowid", "row_id", "rownum", "row_number", "x"})
_UNNAMED = re.compile(r"Unnamed: \d+")
# A number written with a decimal comma, thousands separators, or both ("1.300,25").
_NUMBER_FORMATS = (
    (re.compile(r"[-+]?\d{1,3}(\.\d{3})+,\d+"), "--decimal , --thousands .",
     "decimal=',', thousands='.'"),
    (re.compile(r"[-+]?\d+,(\d{1,2}|\d{4,})"), "--decimal ,", "decimal=','"),
    (re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?"), "--thousands ,", "thousands=','"),
)
_CURRENCY = "$€£¥₹₽₩¢"
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)")
# The note of slash dates read day-first because nothing tells the order.
AMBIGUOUS_DATES = "day-first text assumed"
_COLUMN_KEYS = ("kind", "log", "features", "format", "note")


@dataclass(frozen=True)
class ColumnSpec:
    """How one data column is modelled.

    Parameters
    ----------
    name : str
        The column in the data.
    kind : {"numeric", "categorical", "boolean", "datetime"}
    log : bool, default=False
        Numeric only: model ``log(1 + x)``.
    features : tuple of str, default=()
        Datetime only: which of ``"hour"``, ``"weekday"``, ``"month"`` to derive.
    format : str or None, default=None
        Datetime only: how values are read (see :func:`parse_datetimes`).
    note : str, default=""
        Why inference chose this kind (shown to the user; no effect on the model).
    """

    name: str
    kind: str
    log: bool = False
    features: tuple[str, ...] = ()
    format: str | None = None
    note: str = ""


@dataclass(frozen=True)
class TableSchema:
    """The modelled columns of a table, its identifier columns and the ignored ones.

    Build one with :func:`infer_schema`; ``to_dict``/``from_dict`` give the JSON form.
    """

    columns: tuple[ColumnSpec, ...]
    id_columns: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    max_categories: int = MAX_CATEGORIES
    min_category_count: int = MIN_CATEGORY_COUNT
    source: str | None = field(default=None, compare=False)

    @property
    def names(self) -> list[str]:
        """The modelled columns, in data order."""
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        """The schema-file form with every column listed (JSON-serialisable)."""
        columns: dict[str, Any] = {}
        for c in self.columns:
            entry: dict[str, Any] = {"kind": c.kind}
            if c.kind == "numeric":
                entry["log"] = c.log
            if c.kind == "datetime":
                entry["features"] = list(c.features)
            if c.format is not None:
                entry["format"] = c.format
            if c.note:
                entry["note"] = c.note
            columns[c.name] = entry
        return {
            "columns": columns,
            "id_columns": list(self.id_columns),
            "exclude": [name for name, _ in self.excluded],
            "exclude_reasons": {name: reason for name, reason in self.excluded if reason},
            "max_categories": self.max_categories,
            "min_category_count": self.min_category_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> TableSchema:
        """The schema a ``to_dict`` output describes (its columns only, nothing inferred)."""
        spec = _parse(data, source)
        return cls(
            columns=tuple(spec.columns.values()),
            id_columns=spec.id_columns,
            excluded=tuple((name, spec.reasons.get(name, "")) for name in spec.exclude),
            max_categories=spec.max_categories or MAX_CATEGORIES,
            min_category_count=spec.min_category_count or MIN_CATEGORY_COUNT,
            source=source,
        )

    def to_json(self) -> str:
        """``to_dict`` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def describe(self) -> list[tuple[str, str, str]]:
        """``(column, kind, details)`` rows for display, identifiers and exclusions included."""
        rows = []
        for c in self.columns:
            details = []
            if c.log:
                details.append("log scale")
            if c.features:
                details.append("features: " + ", ".join(f"{c.name}.{f}" for f in c.features))
            if c.format is not None:
                details.append(f"format: {c.format}")
            if c.note:
                details.append(c.note)
            rows.append((c.name, c.kind, "; ".join(details)))
        rows += [(name, "id", "passed through to the output") for name in self.id_columns]
        rows += [(name, "excluded", reason or "excluded by request")
                 for name, reason in self.excluded]
        return rows


@dataclass
class _FileSpec:
    columns: dict[str, ColumnSpec]
    id_columns: tuple[str, ...]
    exclude: tuple[str, ...]
    max_categories: int | None
    min_category_count: int | None
    reasons: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None


def _parse(data: Mapping[str, Any], source: str | None) -> _FileSpec:
    """Validate the schema-file form; errors name the file, the key and the column."""
    if not isinstance(data, Mapping):
        raise DataError(where(source, "a schema must be a JSON object"))
    unknown = [k for k in data if k not in (*_FILE_KEYS, "exclude_reasons")]
    if unknown:
        raise DataError(where(source, f"unknown schema key {unknown[0]!r} "
                                      f"(expected: {', '.join(_FILE_KEYS)})"))
    columns: dict[str, ColumnSpec] = {}
    raw_columns = data.get("columns", {})
    if not isinstance(raw_columns, Mapping):
        raise DataError(where(source, "'columns' must map column names to kinds"))
    for name, entry in raw_columns.items():
        columns[str(name)] = _parse_column(str(name), entry, source)
    limits = {}
    for key in ("max_categories", "min_category_count"):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise DataError(where(source, f"{key!r} must be a positive integer, not {value!r}"))
        limits[key] = value
    reasons = data.get("exclude_reasons", {})
    if not isinstance(reasons, Mapping):
        raise DataError(where(source, "'exclude_reasons' must map column names to text"))
    date_format = data.get("date_format")
    if date_format is not None and not (isinstance(date_format, str) and "%" in date_format):
        raise DataError(where(source, "'date_format' must be a strftime format such as "
                                      f"\"%m/%d/%Y %H:%M\", not {date_format!r}"))
    return _FileSpec(columns, _names(data.get("id_columns", ()), "id_columns", source),
                     _names(data.get("exclude", ()), "exclude", source), **limits,
                     reasons={str(k): str(v) for k, v in reasons.items()},
                     date_format=date_format)


def _names(value: Any, key: str, source: str | None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DataError(where(source, f"{key!r} must be a list of column names"))
    return tuple(str(v) for v in value)


def _parse_column(name: str, entry: Any, source: str | None) -> ColumnSpec:
    if isinstance(entry, str):
        entry = {"kind": entry}
    if not isinstance(entry, Mapping):
        raise DataError(where(source, f"column {name!r}: expected a kind or an object, "
                                      f"not {entry!r}"))
    unknown = [k for k in entry if k not in _COLUMN_KEYS]
    if unknown:
        raise DataError(where(source, f"column {name!r}: unknown key {unknown[0]!r} "
                                      f"(expected: {', '.join(_COLUMN_KEYS)})"))
    kind = entry.get("kind")
    if kind not in KINDS:
        raise DataError(where(source, f"column {name!r}: kind {kind!r} is not one of "
                                      f"{', '.join(KINDS)}"))
    log = entry.get("log", False)
    if not isinstance(log, bool) or (log and kind != "numeric"):
        raise DataError(where(source, f"column {name!r}: 'log' must be true or false and only "
                                      "numeric columns take it"))
    features = entry.get("features")
    if features is not None and kind != "datetime":
        raise DataError(where(source, f"column {name!r}: only datetime columns take 'features'"))
    if kind == "datetime":
        features = tuple(features) if features is not None else ("hour", "weekday")
        bad = [f for f in features if f not in DATETIME_FEATURES]
        if bad or not features:
            raise DataError(where(source, f"column {name!r}: datetime features must be some of "
                                          f"{', '.join(DATETIME_FEATURES)}, not {list(features)}"))
    fmt = entry.get("format")
    if fmt is not None and kind != "datetime":
        raise DataError(where(source, f"column {name!r}: only datetime columns take 'format'"))
    if fmt is not None and not (isinstance(fmt, str) and (fmt in EPOCH_FORMATS or "%" in fmt)):
        raise DataError(where(source, f"column {name!r}: 'format' must be \"epoch_s\", "
                                      "\"epoch_ms\" or a strftime format such as "
                                      f"\"%d/%m/%Y %H:%M\", not {fmt!r}"))
    return ColumnSpec(name, kind, log=log, features=tuple(features or ()), format=fmt,
                      note=str(entry.get("note", "")))


def read_schema_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON schema file into its dict form (validated).

    Raises
    ------
    DataError
        If the file cannot be read, is not JSON, or is not a valid schema.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the schema file ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    _parse(data, str(path))
    return data


def infer_schema(
    frame: pd.DataFrame,
    *,
    id_columns: Iterable[str] = (),
    exclude: Iterable[str] = (),
    overrides: Mapping[str, Any] | None = None,
    max_categories: int | None = None,
    min_category_count: int | None = None,
    source: str | None = None,
) -> TableSchema:
    """Infer how to model each column of ``frame`` (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        The training table (string column names).
    id_columns, exclude : iterable of str
        Columns to pass through, and columns to ignore; added to those of ``overrides``.
    overrides : mapping or None
        The schema-file form (see :func:`read_schema_file`); its columns are not inferred.
    max_categories, min_category_count : int or None
        Override the file's values and the defaults (50 and 5).
    source : str or None
        Name of the data (file) for error messages.

    Returns
    -------
    TableSchema

    Raises
    ------
    DataError
        If a named column is not in the data, or no column is left to model.
    """
    spec = _parse(overrides or {}, source)
    ids = tuple(dict.fromkeys([*spec.id_columns, *id_columns]))
    excluded = tuple(dict.fromkeys([*spec.exclude, *exclude]))
    present = set(frame.columns)
    for option, names in (("id column", ids), ("excluded column", excluded),
                          ("schema column", tuple(spec.columns))):
        for name in names:
            if name not in present:
                raise DataError(where(source, f"{option} {name!r} is not in the data "
                                              f"(columns: {_list(frame.columns)})"))
    columns, dropped = [], [(name, spec.reasons.get(name, "")) for name in excluded]
    for name in frame.columns:
        if name in ids or name in excluded:
            continue
        if name in spec.columns:
            columns.append(spec.columns[name])
            continue
        inferred = infer_column(frame[name], max_categories or spec.max_categories
                                or MAX_CATEGORIES, date_format=spec.date_format)
        if isinstance(inferred, str):
            dropped.append((name, inferred))
        else:
            columns.append(inferred)
    if not columns:
        raise DataError(where(source, "no column left to model (all are ids or excluded: "
                                      f"{_list(frame.columns)})"))
    return TableSchema(
        columns=tuple(columns),
        id_columns=ids,
        excluded=tuple(dropped),
        max_categories=max_categories or spec.max_categories or MAX_CATEGORIES,
        min_category_count=min_category_count or spec.min_category_count or MIN_CATEGORY_COUNT,
        source=source,
    )


def _list(names: Iterable[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def infer_column(series: pd.Series, max_categories: int = MAX_CATEGORIES, *,
                 date_format: str | None = None) -> ColumnSpec | str:
    """The inferred :class:`ColumnSpec` of one column, or the reason to exclude it.

    ``date_format`` (a ``strftime`` format) reads text dates first, when it reads
    ``MOSTLY_DATES`` of the values.
    """
    name = str(series.name)
    values = series.dropna()
    if values.empty:
        return "no values (all missing)"
    if values.dtype == object:
        nested = np.fromiter((isinstance(v, list | tuple | dict | set | np.ndarray)
                              for v in series.to_numpy()), dtype=bool, count=len(series))
        if nested.any():
            row = int(np.flatnonzero(nested)[0])
            return (f"holds lists or mappings, not one value per cell (row {row + 1}: "
                    f"{_short(series.iloc[row])}); flatten it into columns to model it")
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnSpec(name, "boolean")
    if isinstance(dtype, pd.CategoricalDtype):
        return ColumnSpec(name, "categorical", note=f"{values.nunique()} categories")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime_spec(name, values)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "durations are not modelled; convert them to numbers (e.g. seconds)"
    if pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_complex_dtype(dtype):
            return "complex numbers are not modelled"
        numbers = values.to_numpy(dtype=np.float64)
        epoch = _epoch_format(name, numbers)
        if epoch is not None:
            return _datetime_spec(name, parse_datetimes(values, epoch), epoch, note=(
                f"integers read as {'milli' if epoch == 'epoch_ms' else ''}seconds since "
                "1970 UTC (to change it, set \"format\" or \"kind\": \"numeric\" in the schema)"))
        return _numeric_spec(name, numbers)
    return _text_spec(name, values, max_categories, date_format)


def _short(value: Any, width: int = 40) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= width else text[:width - 3] + "..."


def number_hint(value: Any) -> str:
    """How to read ``value`` as a number when it is written with a decimal comma or
    thousands separators (a currency sign allowed), or ``""``.

    Examples
    --------
    >>> number_hint("135,25")
    "a decimal comma? read the file with --decimal , (decimal=',')"
    >>> number_hint("$1,300.00")
    "thousands separators? read the file with --thousands , (thousands=',')"
    >>> number_hint("abc")
    ''
    """
    if not isinstance(value, str):
        return ""
    text = value.strip().strip(_CURRENCY).strip()
    for pattern, option, python in _NUMBER_FORMATS:
        if pattern.fullmatch(text):
            what = ("a decimal comma" if "decimal" in option else "thousands separators")
            return f"{what}? read the file with {option} ({python})"
    return ""


def index_like_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of row numbers written by R or pandas: named like an index (``rownames``,
    ``Unnamed: 0``, ``index``, ``X``, an empty name...) and holding distinct integers
    in increasing order. Modelled, they make the position in the file a feature.

    Examples
    --------
    >>> frame = pd.DataFrame({"Unnamed: 0": [3, 4, 7], "amount": [1.0, 2.0, 3.0]})
    >>> index_like_columns(frame)
    ['Unnamed: 0']
    """
    found = []
    for column in frame.columns:
        name = str(column)
        if name.strip().lower() not in INDEX_NAMES and not _UNNAMED.fullmatch(name):
            continue
        values = frame[column]
        if values.isna().any() or pd.api.types.is_bool_dtype(values.dtype):
            continue
        if not pd.api.types.is_integer_dtype(values.dtype):
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.isna().any() or np.mod(numbers.to_numpy(dtype=np.float64), 1).any():
                continue
            values = numbers
        if len(values) > 1 and bool(values.is_monotonic_increasing) and values.is_unique:
            found.append(name)
    return found


def _epoch_format(name: str, values: np.ndarray) -> str | None:
    """``"epoch_s"``/``"epoch_ms"`` for integers named like a time, in that unit's range."""
    if not _TIME_NAME.search(name) or not np.isfinite(values).all() or np.mod(values, 1).any():
        return None
    for fmt, (_, low, high) in EPOCH_FORMATS.items():
        if np.all((values >= low) & (values <= high)):
            return fmt
    return None


def _numeric_spec(name: str, values: np.ndarray, note: str = "") -> ColumnSpec:
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    prefix = f"{note}; " if note else ""
    if len(distinct) == 2 and distinct[0] == 0 and distinct[1] == 1:
        return ColumnSpec(name, "boolean", note=prefix + "only 0 and 1")
    integral = bool(np.all(np.mod(finite, 1) == 0))
    if integral and len(distinct) <= CATEGORICAL_INTEGER_MAX:
        return ColumnSpec(name, "categorical",
                          note=prefix + f"integers with {len(distinct)} distinct values")
    skew = _skewness(finite)
    if finite.size and finite.min() >= 0 and skew > LOG_SKEWNESS:
        log_skew = _skewness(np.log1p(finite))
        if abs(log_skew) < skew:
            return ColumnSpec(name, "numeric", log=True,
                              note=prefix + f"skewed ({skew:.1f}; {log_skew:.1f} after log)")
    return ColumnSpec(name, "numeric", note=note)


def _skewness(values: np.ndarray) -> float:
    if values.size < 3:
        return 0.0
    centred = values - values.mean()
    sd = np.sqrt(np.mean(centred**2))
    return float(np.mean(centred**3) / sd**3) if sd > 0 else 0.0


def _datetime_spec(name: str, parsed: pd.Series, fmt: str | None = None, note: str = ""
                   ) -> ColumnSpec:
    parsed = pd.to_datetime(parsed).dropna()
    at_midnight = bool((parsed.dt.hour == 0).all() and (parsed.dt.minute == 0).all())
    features = ("weekday",) if at_midnight else ("hour", "weekday")
    extra = "dates only" if at_midnight else ""
    return ColumnSpec(name, "datetime", features=features, format=fmt,
                      note="; ".join(p for p in (note, extra) if p))


def parse_datetimes(values: pd.Series, fmt: str | None = None) -> pd.Series:
    """Timestamps read by a datetime column's format; entries it does not read become NaT.

    Parameters
    ----------
    values : pandas.Series
        ``datetime64`` values are returned as they are, whatever ``fmt``.
    fmt : str or None
        ``None``: ISO 8601 text. ``"epoch_s"``/``"epoch_ms"``: numbers (or number text) of
        seconds/milliseconds since 1970-01-01 UTC, as timestamps without a time zone.
        Otherwise a ``strftime`` format, e.g. ``"%d/%m/%Y %H:%M"``.

    Returns
    -------
    pandas.Series
        ``datetime64`` values (time-zone aware when the text has mixed UTC offsets).
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in (
            "datetime", "datetime64", "date", "empty"):
        try:
            return pd.to_datetime(values, errors="coerce")
        except (ValueError, TypeError):
            return pd.to_datetime(values, errors="coerce", utc=True)
    if fmt in EPOCH_FORMATS:
        if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(
                values.dtype):
            values = pd.to_numeric(values.map(str, na_action="ignore"), errors="coerce")
        return pd.to_datetime(values.astype("float64"), unit=EPOCH_FORMATS[fmt][0],
                              errors="coerce")
    text = values.map(str, na_action="ignore").astype(object).str.strip()
    try:
        return pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce")
    except (ValueError, TypeError):
        return pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce", utc=True)


def _text_spec(name: str, values: pd.Series, max_categories: int,
               date_format: str | None = None) -> ColumnSpec | str:
    if values.map(lambda v: isinstance(v, bool | np.bool_)).all():
        return ColumnSpec(name, "boolean")
    text = values.astype(str).str.strip()
    words = set(text.str.lower().unique()[:3])
    if any(words <= pair for pair in BOOLEAN_WORD_PAIRS):
        return ColumnSpec(name, "boolean", note="true/false text")
    numbers = pd.to_numeric(text, errors="coerce")
    share = float(numbers.notna().mean())
    if MOSTLY_NUMERIC <= share < 1.0:
        bad = text[numbers.isna()]
        return _numeric_spec(name, numbers.dropna().to_numpy(dtype=np.float64),
                             note=f"{len(bad)} values are not numbers, e.g. {bad.iloc[0]!r}")
    sample = text.iloc[:1000]
    hints = sample.map(number_hint)
    plain = sample.map(lambda v: bool(_PLAIN_NUMBER.fullmatch(v.strip(_CURRENCY).strip())))
    if (share < MOSTLY_NUMERIC and (hints != "").any()
            and ((hints != "") | plain).mean() >= MOSTLY_NUMERIC):
        example = sample[hints != ""].iloc[0]
        return (f"numbers written like {example!r}, not read as numbers: "
                f"{hints[hints != ''].iloc[0]}")
    if date_format is not None:
        parsed = parse_datetimes(text, date_format)
        if parsed.notna().mean() >= MOSTLY_DATES:
            return _datetime_spec(name, parsed, date_format,
                                  note=_unread("read by the date format given", text, parsed))
    if (share <= 1 - MOSTLY_DATES
            and sample.str.contains(r"\d[-/:T ]?\d", regex=True).mean() >= MOSTLY_DATES):
        spec = _text_datetime_spec(name, text)
        if spec is not None:
            return spec
    distinct = text.nunique()
    if distinct > max(max_categories, ID_LIKE_SHARE * len(text)):
        return (f"{distinct} distinct values in {len(text)} rows: looks like an identifier or "
                "free text (declare it categorical to model it, or an id to pass it through)")
    return ColumnSpec(name, "categorical", note=f"{distinct} distinct values")



def _text_datetime_spec(name: str, text: pd.Series) -> ColumnSpec | None:
    """The datetime spec of text that reads as ISO 8601 or day/month dates (see the module
    docstring), or ``None``."""
    parsed = parse_datetimes(text)
    if parsed.notna().mean() >= MOSTLY_DATES:
        return _datetime_spec(name, parsed, note=_unread("ISO 8601 text", text, parsed))
    shape = next(filter(None, map(_DAY_MONTH.fullmatch, text.iloc[:1000])), None)
    if shape is None:
        return None
    separator, year, at, seconds = shape.groups()
    rest = ("%Y" if len(year) == 4 else "%y") + (f"{at}%H:%M{':%S' if seconds else ''}"
                                                 if at else "")
    day_first, month_first = (f"%d{separator}%m{separator}{rest}",
                              f"%m{separator}%d{separator}{rest}")
    by_day, by_month = parse_datetimes(text, day_first), parse_datetimes(text, month_first)
    day_share, month_share = by_day.notna().mean(), by_month.notna().mean()
    if max(day_share, month_share) < MOSTLY_DATES:
        return None
    if month_share > day_share:
        return _datetime_spec(name, by_month, month_first,
                              note=_unread("month-first text (some second field is above 12)",
                                           text, by_month))
    note = "day-first text (some first field is above 12)"
    if (by_day.notna() == by_month.notna()).all():
        note = (f"{AMBIGUOUS_DATES} (every value reads either way; for month-first pass "
                f"--date-format {month_first} or set \"format\": \"{month_first}\" in the "
                "schema)")
    return _datetime_spec(name, by_day, day_first, note=_unread(note, text, by_day))


def _unread(note: str, text: pd.Series, parsed: pd.Series) -> str:
    """``note``, plus in how many rows the value is not a date/time, and the first."""
    bad = text[parsed.isna().to_numpy()]
    if bad.empty:
        return note
    return f"{note}; not a date/time in {len(bad)} of {len(text)} rows, e.g. {bad.iloc[0]!r}"


# -- the rule that picks how a table is read ------------------------------------------
def numeric_schema(frame: pd.DataFrame, id_columns: tuple[str, ...] = (),
                   excluded: tuple[str, ...] = ()) -> TableSchema:
    """The schema of a numeric matrix: every column a Gaussian numeric column, no log
    (the id and excluded columns set aside)."""
    aside = {*id_columns, *excluded}
    return TableSchema(columns=tuple(ColumnSpec(str(c), "numeric", note="numeric matrix")
                                     for c in frame.columns if c not in aside),
                       id_columns=tuple(id_columns),
                       excluded=tuple((name, "") for name in excluded if name not in
                                      id_columns))


def is_numeric_matrix(frame: pd.DataFrame) -> bool:
    """Whether every column holds plain numbers (booleans and text do not count)."""
    return all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)
               and not pd.api.types.is_complex_dtype(d) for d in frame.dtypes)


def resolve_schema(schema: Any, frame: pd.DataFrame, source: str | None = None) -> TableSchema:
    """The schema to fit: the ONE rule that picks how a table is read.

    ``None``: a table whose columns are all numbers is a numeric matrix
    (:func:`numeric_schema`); any other table gets an inferred schema. ``"infer"``:
    always infer (e.g. log scales and categorical integers on a numeric table). A dict
    (the schema-file form) overrides the inference for the columns it names; one that
    names no columns only sets id and excluded columns aside, and the other columns then
    follow the rule of ``None`` (this is how the command line's ``--id-column`` and
    ``--exclude`` give the model Python gives for the same columns). A
    :class:`TableSchema` is used as it is.
    """
    if isinstance(schema, TableSchema):
        missing = [c for c in (*schema.names, *schema.id_columns) if c not in frame.columns]
        if missing:
            raise DataError(where(source, f"column {missing[0]!r} of the schema is not in the "
                                          "data"))
        return schema
    if schema is None or (isinstance(schema, dict) and not schema.get("columns")
                          and set(schema) <= {"id_columns", "exclude", "exclude_reasons",
                                              "date_format"}):
        ids = tuple(dict.fromkeys((schema or {}).get("id_columns", ())))
        excluded = tuple(dict.fromkeys((schema or {}).get("exclude", ())))
        rest = frame.drop(columns=[c for c in {*ids, *excluded} if c in frame.columns])
        if len(rest.columns) and len(rest.columns) + len({*ids, *excluded}) == len(
                frame.columns) and is_numeric_matrix(rest):
            return numeric_schema(frame, ids, excluded)
    return infer_schema(frame, overrides=schema if isinstance(schema, dict) else None,
                        source=source)
