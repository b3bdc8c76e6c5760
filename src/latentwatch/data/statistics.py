"""Mergeable per-column statistics: what a codec is fitted from.

A :class:`ColumnStatistics` gathers, from any number of pieces of rows, what the blocks
of one schema column need: gaps, count, minimum and maximum, integer-ness and decimals,
the mean and the sum of squared deviations of the (logged) values, label counts of a
categorical column or of a datetime column's features, boolean spellings and a datetime
column's period. ``merge`` of the statistics of two pieces gives those of both: exactly,
except the mean and ``M2`` (Chan's pairwise update: equal up to rounding) and label
counts past ``MAX_TRACKED_LABELS`` distinct labels (the rarest half is dropped at each
overflow, so the kept categories remain the most frequent but ``rare_values`` and
``rare_counts`` become estimates).

A :class:`TableStatistics` holds one per schema column. The table codec's ``fit`` is its
update over one piece, the whole frame (the numbers are then those of a two-pass
:func:`~latentwatch.data.scaling.fit_standardizer`, bit for bit); the streamed fit
(:func:`latentwatch.data.dataset.fit_codec_stream`) updates it piece by piece; the window
codec fits one per channel.

>>> import pandas as pd
>>> from latentwatch.data.schema import ColumnSpec
>>> spec = ColumnSpec("x", "numeric")
>>> a, b = ColumnStatistics(spec), ColumnStatistics(spec)
>>> _ = a.update(pd.Series([1.0, 2.0])); _ = b.update(pd.Series([3.0, None, 6.0]))
>>> both = a.merge(b)
>>> both.numeric.moments.mean, both.numeric.low, both.numeric.high, both.gaps
(3.0, 1.0, 6.0, True)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block, DateColumn
from latentwatch.data.cells import (
    WEEKDAYS,
    boolean_label_type,
    category_label_type,
    derive_feature,
    labels_of,
    read_dates,
    to_booleans,
    to_numbers,
)
from latentwatch.data.quantiles import fit_knots
from latentwatch.data.scaling import _RELATIVE_FLOOR
from latentwatch.data.schema import ColumnSpec, TableSchema

# Decoded numbers are rounded to the decimals of the training values, if at most this many.
MAX_DECIMALS = 6
# Whole numbers below this magnitude are exact in float64: such columns decode as Int64.
MAX_EXACT_INTEGER = 2.0**53
# Training values (after the log) beyond this magnitude are refused: their squares would
# overflow the standardisation (an infinite scale silently kills a column).
MAX_FIT_MAGNITUDE = 1e150
# At most this many values pooled in a rare bucket are remembered (most frequent first).
MAX_RARE_LABELS = 1000
# Distinct labels a column counts exactly; past this the rarest half is dropped.
MAX_TRACKED_LABELS = 200_000
# numeric_transform="mixed" reads a column by its quantiles when it has at most this many
# distinct training values, or one value holds at least POINT_MASS_SHARE of them.
MAX_DISCRETE_VALUES = 50
POINT_MASS_SHARE = 0.05
# How numeric columns become model-space values (see TableCodec).
NUMERIC_TRANSFORMS = ("standard", "quantile", "mixed")
NOT_ABOVE_MINUS_ONE = "is not above -1 (the column is on a log scale)"


def is_integer_valued(values: np.ndarray) -> bool:
    """Whether finite ``values`` are all whole numbers that float64 holds exactly (below
    ``MAX_EXACT_INTEGER`` in magnitude: beyond 2**53 every float is whole); False when
    there is none.

    >>> is_integer_valued(np.array([1.0, -3.0])), is_integer_valued(np.array([0.5]))
    (True, False)
    >>> is_integer_valued(np.array([2.0**60])), is_integer_valued(np.array([]))
    (False, False)
    """
    return bool(values.size and np.all(np.mod(values, 1) == 0)
                and np.abs(values).max() < MAX_EXACT_INTEGER)


def decimals_of(values: np.ndarray) -> int | None:
    """The fewest decimals (up to ``MAX_DECIMALS``) that write every value, or None.

    >>> decimals_of(np.array([1.25, 3.0])), decimals_of(np.array([np.pi]))
    (2, None)
    """
    for decimals in range(MAX_DECIMALS + 1):
        rounded = np.round(values, decimals)
        if np.all(np.abs(rounded - values) <= 1e-9 * np.maximum(1.0, np.abs(values))):
            return decimals
    return None


def is_discrete_column(values: np.ndarray) -> bool:
    """At most ``MAX_DISCRETE_VALUES`` distinct values, or one value holding at least
    ``POINT_MASS_SHARE`` of them (a zero-heavy column): where a Gaussian decoder spreads
    mass between the levels and the quantile transform keeps them exactly.

    >>> is_discrete_column(np.arange(10.0)), is_discrete_column(np.linspace(0, 1, 1000))
    (True, False)
    """
    if values.size == 0:
        return False
    _, counts = np.unique(values, return_counts=True)
    return bool(len(counts) <= MAX_DISCRETE_VALUES
                or counts.max() >= POINT_MASS_SHARE * values.size)


def label_counts(raw: pd.Series, label_type: str) -> pd.Series:
    """How often each present label occurs (in the label type).

    >>> label_counts(pd.Series(["a", "b", "a", None]), "str").to_dict()
    {'a': 2, 'b': 1}
    """
    labels, missing = labels_of(raw, label_type)
    return labels[~missing].value_counts(dropna=True)


def categories_from_counts(counts: pd.Series, label_type: str, schema: TableSchema,
                           distinct: int | None = None) -> dict[str, Any]:
    """The Block fields of a categorical column from its label counts (``distinct``: the
    number of distinct labels when ``counts`` holds only some of them): the kept labels
    (sorted), how many distinct values go to the rare bucket, and the most frequent of
    those with their counts."""
    order = sorted(counts.index, key=lambda label: (-counts[label], str(label)))
    frequent = [v for v in order if counts[v] >= schema.min_category_count]
    kept = set(frequent[:schema.max_categories])
    rare = [v for v in order if v not in kept][:MAX_RARE_LABELS]
    cast = {"int": int, "float": float}.get(label_type, str)
    n_distinct = len(counts) if distinct is None else max(distinct, len(counts))
    return {"categories": sorted(cast(v) for v in kept), "rare_values": n_distinct - len(kept),
            "rare_labels": [cast(v) for v in rare], "rare_counts": [int(counts[v]) for v in rare]}


def log_values(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 + x)`` (NaN where ``x <= -1``) and the mask of values not above -1."""
    below = numbers <= -1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log1p(np.where(below, np.nan, numbers)), below


@dataclass
class Moments:
    """Count, mean and sum of squared deviations ``M2`` of a column's values.

    >>> a = Moments.of_columns(np.array([[1.0], [2.0]]))[0]
    >>> b = Moments.of_columns(np.array([[3.0], [6.0]]))[0]
    >>> a.merge(b)
    Moments(n=4, mean=3.0, m2=14.0)
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @staticmethod
    def of_columns(matrix: np.ndarray) -> list[Moments]:
        """The moments of every column of a finite ``(n, k)`` matrix, summed as
        :func:`~latentwatch.data.scaling.fit_standardizer` sums them (so one piece gives
        its mean and scale bit for bit)."""
        n = len(matrix)
        if n == 0:
            return [Moments() for _ in range(matrix.shape[1])]
        mean = matrix.sum(axis=0) / n
        deviations = matrix - mean
        m2 = (deviations * deviations).sum(axis=0)
        return [Moments(n, float(mu), float(s)) for mu, s in zip(mean, m2, strict=True)]

    @staticmethod
    def of_table(matrix: np.ndarray) -> list[Moments]:
        """Moments of each column's finite values: the matrix at once when it is all
        finite, else column by column (as the table codec has always standardised)."""
        if np.isfinite(matrix).all():
            return Moments.of_columns(matrix)
        out = []
        for k in range(matrix.shape[1]):
            finite = matrix[:, k][np.isfinite(matrix[:, k])]
            out.append(Moments.of_columns(finite[:, None])[0])
        return out

    def merge(self, other: Moments) -> Moments:
        """Chan, Golub and LeVeque (1979): ``delta = mean_b - mean_a``, ``n = n_a + n_b``,
        ``mean = mean_a + delta n_b / n``, ``M2 = M2_a + M2_b + delta^2 n_a n_b / n``;
        merging with an empty side gives the other side unchanged."""
        if other.n == 0:
            return Moments(self.n, self.mean, self.m2)
        if self.n == 0:
            return Moments(other.n, other.mean, other.m2)
        total = self.n + other.n
        delta = other.mean - self.mean
        return Moments(total, self.mean + delta * other.n / total,
                       self.m2 + other.m2 + delta * delta * self.n * other.n / total)

    def standardizer(self) -> tuple[float, float]:
        """Mean and scale as :func:`~latentwatch.data.scaling.fit_standardizer` gives
        them (``0, 1`` without values; scale 1 for a constant column)."""
        if self.n == 0:
            return 0.0, 1.0
        sd = float(np.sqrt(max(self.m2, 0.0) / self.n))
        return self.mean, 1.0 if sd <= _RELATIVE_FLOOR * max(1.0, abs(self.mean)) else sd


@dataclass
class NumericStatistics:
    """Range, integer-ness, decimals and moments of a numeric column's finite values."""

    count: int = 0
    low: float | None = None
    high: float | None = None
    integer: bool = True
    decimals: int | None = 0
    moments: Moments = field(default_factory=Moments)

    def update(self, finite: np.ndarray, moments: Moments) -> None:
        """Add a piece's finite values (raw units) and the moments of its model values."""
        if finite.size:
            self.merge(NumericStatistics(int(finite.size), float(finite.min()),
                                         float(finite.max()), is_integer_valued(finite),
                                         decimals_of(finite)))
        self.moments = self.moments.merge(moments)

    def merge(self, other: NumericStatistics) -> NumericStatistics:
        """Add another piece's statistics (in place; returns self)."""
        self.moments = self.moments.merge(other.moments)
        if not other.count:
            return self
        if not self.count:
            self.count, self.low, self.high = other.count, other.low, other.high
            self.integer, self.decimals = other.integer, other.decimals
            return self
        self.count += other.count
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.integer = self.integer and other.integer
        self.decimals = (None if self.decimals is None or other.decimals is None
                         else max(self.decimals, other.decimals))
        return self


@dataclass
class LabelCounts:
    """Counts of a column's labels, capped at ``MAX_TRACKED_LABELS`` distinct ones."""

    counts: pd.Series = field(default_factory=lambda: pd.Series(dtype=np.int64))
    dropped: int = 0

    def add(self, chunk: pd.Series) -> None:
        """Add the label counts of a piece (the rarest half goes past the cap)."""
        merged = self.counts.add(chunk, fill_value=0) if len(self.counts) else chunk
        if len(merged) > MAX_TRACKED_LABELS:
            order = merged.sort_values(ascending=False, kind="stable")
            keep = MAX_TRACKED_LABELS // 2
            self.dropped += len(order) - keep
            merged = order.iloc[:keep]
        self.counts = merged.astype(np.int64)

    def merge(self, other: LabelCounts) -> LabelCounts:
        """Add another piece's counts (in place; returns self)."""
        if len(other.counts):
            self.add(other.counts)
        self.dropped += other.dropped
        return self

    def distinct(self) -> int:
        """Distinct labels seen (counted ones and dropped ones)."""
        return len(self.counts) + self.dropped


@dataclass
class Unreadable:
    """Present values of a piece a column cannot read: their mask and why (``fatal``: the
    fit cannot go on, e.g. a value too large to model)."""

    mask: np.ndarray
    message: str
    fatal: bool = False


def _feature_label_type(feature: str) -> str:
    return "str" if feature == "weekday" else "int"


class ColumnStatistics:
    """The mergeable statistics of one schema column (see the module docstring).

    Parameters
    ----------
    spec : ColumnSpec
    label_type : str or None
        Label type of a categorical or boolean column (``None``: read from the first
        piece).
    standardised : bool, default=True
        A numeric column whose model values are standardised (not quantiles): its moments
        are gathered.
    """

    def __init__(self, spec: ColumnSpec, label_type: str | None = None,
                 standardised: bool = True) -> None:
        self.spec = spec
        self.label_type = label_type
        self.standardised = standardised
        self.gaps = False
        self.date_gaps = False
        self.numeric = NumericStatistics()
        self.labels: dict[str, LabelCounts] = {}
        self.spellings: dict[float, dict[str, int]] = {}
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self.utc = False

    def model_values(self, raw: pd.Series) -> np.ndarray:
        """A numeric column's values as the model standardises them (logged where the
        schema asks; NaN where not a finite number)."""
        numbers, _ = to_numbers(raw)
        return log_values(numbers)[0] if self.spec.log else numbers

    def update(self, raw: pd.Series, fitting: np.ndarray | None = None,
               moments: Moments | None = None) -> list[Unreadable]:
        """Add a piece: ``fitting`` marks the rows learned from (all by default; the
        others only count for gaps), ``moments`` those of its fitting model values when
        computed with other columns. Returns what could not be read."""
        self.gaps = self.gaps or bool(raw.isna().any())
        kind = self.spec.kind
        fit_raw = raw if fitting is None else raw[fitting]
        if kind == "numeric":
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._update_numeric(raw, fitting, moments)
        if kind == "boolean":
            flags, bad = to_booleans(raw)
            if self.label_type is None:
                self.label_type = boolean_label_type(fit_raw)
            fit_flags = flags if fitting is None else flags[fitting]
            text = fit_raw.astype(object).where(fit_raw.notna(), None)
            for flag in (0.0, 1.0):
                spelt = text[fit_flags == flag].map(lambda v: str(v).strip()).value_counts()
                into = self.spellings.setdefault(flag, {})
                for word, count in spelt.items():
                    into[word] = into.get(word, 0) + int(count)
            return [Unreadable(bad, "is not a boolean (true/false, yes/no, 1/0)")]
        if kind == "datetime":
            dates, bad = read_dates(raw, self.spec.format)
            self.date_gaps = self.date_gaps or bool(dates.isna().any())
            self.utc = self.utc or getattr(dates.dt, "tz", None) is not None
            fit_dates = dates if fitting is None else dates[fitting]
            present = fit_dates.dropna()
            if len(present):
                low, high = present.min(), present.max()
                self.first = low if self.first is None else min(self.first, low)
                self.last = high if self.last is None else max(self.last, high)
            for feature in self.spec.features:
                derived = derive_feature(fit_dates, feature)
                self.labels.setdefault(feature, LabelCounts()).add(
                    label_counts(derived, _feature_label_type(feature)))
            return [Unreadable(bad, "is not a date/time")]
        if self.label_type is None:
            self.label_type = category_label_type(fit_raw)
        self.labels.setdefault("", LabelCounts()).add(label_counts(fit_raw, self.label_type))
        return []

    def _update_numeric(self, raw: pd.Series, fitting: np.ndarray | None,
                        moments: Moments | None) -> list[Unreadable]:
        numbers, bad = to_numbers(raw)
        out = [Unreadable(bad, "is not a finite number")]
        transformed = numbers
        if self.spec.log:
            transformed, below = log_values(numbers)
            out.append(Unreadable(below & ~bad, NOT_ABOVE_MINUS_ONE))
        with np.errstate(invalid="ignore"):
            huge = np.abs(transformed) > MAX_FIT_MAGNITUDE
        out.append(Unreadable(huge, f"is too large to model (beyond +-{MAX_FIT_MAGNITUDE:.0e})",
                              fatal=True))
        if fitting is not None:
            numbers, transformed = numbers[fitting], transformed[fitting]
        if moments is None:
            finite = transformed[np.isfinite(transformed)]
            moments = (Moments.of_columns(finite[:, None])[0] if self.standardised
                       else Moments())
        self.numeric.update(numbers[np.isfinite(numbers)], moments)
        return out

    def merge(self, other: ColumnStatistics) -> ColumnStatistics:
        """The statistics of both pieces (a new object; neither side changes)."""
        out = copy.deepcopy(self)
        out.label_type = self.label_type if self.label_type is not None else other.label_type
        out.gaps = self.gaps or other.gaps
        out.date_gaps = self.date_gaps or other.date_gaps
        out.utc = self.utc or other.utc
        out.numeric.merge(other.numeric)
        for key, counts in other.labels.items():
            out.labels.setdefault(key, LabelCounts()).merge(counts)
        for flag, words in other.spellings.items():
            into = out.spellings.setdefault(flag, {})
            for word, count in words.items():
                into[word] = into.get(word, 0) + count
        if other.first is not None:
            out.first = other.first if out.first is None else min(out.first, other.first)
            out.last = other.last if out.last is None else max(out.last, other.last)
        return out

    # -- blocks --------------------------------------------------------------------------
    def blocks(self, schema: TableSchema, knots: list[float] | None = None,
               missing: bool = False) -> list[Block]:
        """The fitted blocks of the column (``knots``: a numeric column read by its
        quantiles; ``missing``: gaps are modelled even if none was seen here)."""
        spec, gaps = self.spec, missing or self.gaps
        if spec.kind == "numeric":
            stats = self.numeric
            mean, scale = stats.moments.standardizer() if knots is None else (0.0, 1.0)
            return [Block(spec.name, spec.name, "numeric", log=spec.log and knots is None,
                          integer=bool(stats.count) and stats.integer,
                          decimals=stats.decimals if stats.count else 0, mean=mean,
                          scale=scale, low=stats.low, high=stats.high, missing=gaps,
                          label_type="float", quantiles=knots)]
        if spec.kind == "boolean":
            label_type = self.label_type or "str"
            labels = ([False, True] if label_type == "bool" else [0, 1] if label_type == "int"
                      else [max(self.spellings.get(flag, {}).items(), key=lambda kv: kv[1],
                                default=(fallback,))[0]
                            for flag, fallback in ((0.0, "false"), (1.0, "true"))])
            return [Block(spec.name, spec.name, "boolean", categories=labels,
                          label_type=label_type, missing=gaps)]
        if spec.kind == "datetime":
            out = []
            for feature in spec.features:
                label_type = _feature_label_type(feature)
                tracked = self.labels.get(feature, LabelCounts())
                learned = categories_from_counts(tracked.counts, label_type, schema,
                                                 tracked.distinct())
                if feature == "weekday":
                    learned["categories"] = sorted(learned["categories"], key=WEEKDAYS.index)
                out.append(Block(f"{spec.name}.{feature}", spec.name, "categorical",
                                 label_type=label_type, derive=feature, date_format=spec.format,
                                 missing=gaps or self.date_gaps, **learned))
            return out
        label_type = self.label_type or "str"
        tracked = self.labels.get("", LabelCounts())
        return [Block(spec.name, spec.name, "categorical", label_type=label_type, missing=gaps,
                      **categories_from_counts(tracked.counts, label_type, schema,
                                               tracked.distinct()))]

    def date_column(self) -> DateColumn:
        """A datetime column's training period (1970-01-01 without any date)."""
        if self.first is None or self.last is None:
            return DateColumn(self.spec.name, "1970-01-01T00:00:00", "1970-01-01T00:00:00",
                              self.utc)
        first, last = self.first, self.last
        if self.utc:
            first, last = first.tz_convert("UTC"), last.tz_convert("UTC")
        return DateColumn(self.spec.name, first.isoformat(), last.isoformat(), self.utc)


def label_types(schema: TableSchema, sample: pd.DataFrame) -> dict[str, str]:
    """The label type of every categorical and boolean column, read from ``sample``."""
    out = {}
    for spec in schema.columns:
        if spec.kind == "categorical":
            out[spec.name] = category_label_type(sample[spec.name])
        elif spec.kind == "boolean":
            out[spec.name] = boolean_label_type(sample[spec.name])
    return out


def quantile_knots(values: np.ndarray, transform: str) -> np.ndarray | None:
    """Quantile knots of a numeric column's finite sample ``values`` under
    ``numeric_transform`` (``None``: the column is standardised)."""
    finite = values[np.isfinite(values)]
    if transform == "standard" or finite.size == 0 or (
            transform == "mixed" and not is_discrete_column(finite)):
        return None
    return fit_knots(finite)


class TableStatistics:
    """One :class:`ColumnStatistics` per schema column, updated piece by piece.

    Parameters
    ----------
    schema : TableSchema
        The resolved schema.
    sample : pandas.DataFrame
        Rows the label types and, with ``numeric_transform`` ``"quantile"`` or ``"mixed"``,
        the quantile knots (and the discrete-column test) come from; the first and last
        knot are then set to the exact minimum and maximum over every piece. The table
        codec passes the whole training frame, the streamed fit its schema sample.
    numeric_transform : {"standard", "quantile", "mixed"}

    Examples
    --------
    >>> import pandas as pd
    >>> from latentwatch.data.schema import infer_schema
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 4.0, 5.0], "c": ["a", "b", "a", "a"]})
    >>> schema = infer_schema(frame)
    >>> whole = TableStatistics(schema, frame)
    >>> _ = whole.update(frame)
    >>> halves = TableStatistics(schema, frame)
    >>> _ = halves.update(frame.iloc[:2]); _ = halves.update(frame.iloc[2:])
    >>> whole.blocks() == halves.blocks()
    True
    """

    def __init__(self, schema: TableSchema, sample: pd.DataFrame,
                 numeric_transform: str = "standard") -> None:
        if numeric_transform not in NUMERIC_TRANSFORMS:
            raise ValueError(f"numeric_transform must be one of {NUMERIC_TRANSFORMS}; got "
                             f"{numeric_transform!r}")
        self.schema = schema
        self.numeric_transform = numeric_transform
        types = label_types(schema, sample)
        self.knots: dict[str, np.ndarray | None] = {
            spec.name: quantile_knots(to_numbers(sample[spec.name])[0], numeric_transform)
            for spec in schema.columns if spec.kind == "numeric"}
        self.columns = {spec.name: ColumnStatistics(spec, types.get(spec.name),
                                                    self.knots.get(spec.name) is None)
                        for spec in schema.columns}

    def update(self, frame: pd.DataFrame, fitting: np.ndarray | None = None
               ) -> dict[str, list[Unreadable]]:
        """Add a piece (every schema column must be in ``frame``); ``fitting`` marks the
        rows learned from. Returns what each column could not read."""
        standardised = [spec.name for spec in self.schema.columns if spec.kind == "numeric"
                        and self.columns[spec.name].standardised]
        moments: dict[str, Moments] = {}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if standardised:
                matrix = np.column_stack([self.columns[name].model_values(frame[name])
                                          for name in standardised])
                if fitting is not None:
                    matrix = matrix[fitting]
                moments = dict(zip(standardised, Moments.of_table(matrix), strict=True))
            return {spec.name: self.columns[spec.name].update(
                        frame[spec.name], fitting, moments.get(spec.name))
                    for spec in self.schema.columns}

    def merge(self, other: TableStatistics) -> TableStatistics:
        """The statistics of both (a new object)."""
        out = copy.copy(self)
        out.columns = {name: column.merge(other.columns[name])
                       for name, column in self.columns.items()}
        return out

    def mark_gaps(self, frame: pd.DataFrame) -> None:
        """Model gaps in the columns that have gaps in ``frame`` (the whole table a
        fitted part comes from), so that every row of it can be encoded."""
        for name, column in self.columns.items():
            column.gaps = column.gaps or bool(frame[name].isna().any())

    def blocks(self) -> list[Block]:
        """The fitted blocks of every column, in schema order."""
        out: list[Block] = []
        for spec in self.schema.columns:
            column = self.columns[spec.name]
            knots = self.knots.get(spec.name)
            if knots is not None and column.numeric.count:
                knots = knots.copy()
                knots[0], knots[-1] = column.numeric.low, column.numeric.high
            out.extend(column.blocks(self.schema, None if knots is None or not
                                     column.numeric.count else knots.tolist()))
        return out

    def dates(self) -> list[DateColumn]:
        """The training period of every datetime column."""
        return [self.columns[spec.name].date_column() for spec in self.schema.columns
                if spec.kind == "datetime"]
