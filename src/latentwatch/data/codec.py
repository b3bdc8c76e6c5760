"""Tables to float rows for the networks, and model-space values back to valid rows.

A :class:`TableCodec` is the one object that knows how user data becomes tensors and
back. It is fitted on training rows: their schema (inferred, or given) and, per modelled
column, a :class:`Block` (a datetime column gives one block per derived feature) with
what the column needs to be read and written again: scales, ranges, categories, the
values pooled in the rare bucket, gaps. ``encode`` packs a table into one float64
matrix, the *packed rows*::

    [ encoder inputs (n_inputs) | targets (n_blocks) | observed (n_blocks) ]

Encoder inputs are the standardised numeric values (0 when missing), a one-hot vector
per categorical column (the rare bucket last; all zeros when missing), ``+1``/``-1``
per boolean (0 when missing) and, for every column that had gaps in training, a
missingness indicator. Targets hold the standardised value, the category index or the
0/1 of each column, and ``observed`` is 1 where the entry is present.

``decode`` is the inverse and the ONLY place where model-space values (standardised
numbers, category indices, 0/1 flags, gaps) become data. Every row it returns is valid
for the training schema:

* numbers in the original units, clipped to the training range, integer columns as
  integers, rounded to the decimals the training values were written with (a column
  without any value in training decodes as missing);
* only categories seen in training: the rare bucket becomes one of the values pooled in
  it (the most frequent, or one drawn by training frequency when decoding with a random
  generator); a bucket that pooled nothing is never chosen by the heads (given one,
  ``decode`` writes the first label);
* booleans in their training spelling (``bool``, ``0``/``1`` as ``Int64``, or text);
* gaps only where asked (the heads draw them at the training rate), or where a value
  is not a number (NaN); a datetime column is missing where any of its features is;
* datetime columns as timestamps again, by this rule: the time of day is the decoded
  hour (minutes and seconds drawn uniformly when a generator is given, else ``:00``);
  the date is a day of the training period with the decoded weekday (and month): drawn
  uniformly among such days, or without a generator the one nearest the middle of the
  period (when no day of the period matches, the search widens by a year, then three,
  on each side). A column without an hour feature decodes to midnight. Time-zone aware
  training timestamps decode as UTC, with the hours the model learned. ``encode``
  derives the same features from them, and a column read by a ``format`` also reads
  ISO 8601 text, so ``score`` reads what ``sample`` writes, in Python or as CSV.

A numeric matrix (an array, or a table whose columns are all numbers) is a table of
numeric columns: the same codec, with every column a Gaussian and gaps masked.

Hostile values at this boundary:

* a gap in a column that never had one in training cannot be scored (a
  :class:`Problem`, see :data:`UNSEEN_GAP`): the model learned no rate for it, and
  dropping the term would make blanking a field a way to lower a score;
* a training value beyond ``MAX_FIT_MAGNITUDE`` is refused (its column's scale would be
  infinite); at scoring, standardised values are clipped to ``+-MAX_STANDARD``, so an
  absurd value (1e308) gets a huge finite score, never inf or NaN;
* a categorical column most of whose values were never seen in training (``' grocery '``
  for ``'grocery'``) is named in a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.quantiles import fit_knots, from_normal_scores, to_normal_scores
from latentwatch.data.scaling import fit_standardizer
from latentwatch.data.schema import (
    FALSE_WORDS,
    TRUE_WORDS,
    ColumnSpec,
    TableSchema,
    infer_schema,
    parse_datetimes,
)
from latentwatch.errors import DataError, where

# How numeric columns become model-space values (see TableCodec).
NUMERIC_TRANSFORMS = ("standard", "quantile", "mixed")
# numeric_transform="mixed" reads a column by its quantiles when it has at most this many
# distinct training values, or one value holds at least POINT_MASS_SHARE of them.
MAX_DISCRETE_VALUES = 50
POINT_MASS_SHARE = 0.05
# Label of the rare bucket where no pooled value is known (models without rare labels).
RARE_LABEL = "(other)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Decoded numbers are rounded to the decimals of the training values, if at most this many.
MAX_DECIMALS = 6
# At most this many offending rows are quoted in a message.
QUOTED_PROBLEMS = 5
# At most this many values pooled in a rare bucket are remembered (most frequent first).
MAX_RARE_LABELS = 1000
# Whole numbers below this magnitude are exact in float64: such columns decode as Int64.
MAX_EXACT_INTEGER = 2.0**53
# Training values (after the log) beyond this magnitude are refused: their squares would
# overflow the standardisation (an infinite scale silently kills a column).
MAX_FIT_MAGNITUDE = 1e150
# Standardised values are clipped to +-this when encoded: a value far beyond the training
# range (1e308, say) then costs a huge but finite likelihood instead of an inf/NaN score.
# Training rows never reach it (a standardised training value is at most sqrt(n_rows)).
MAX_STANDARD = 1e6
# A warning names a categorical column when at least this share of its values (and
# UNSEEN_WARN_MIN of them) were never seen in training.
UNSEEN_WARN_SHARE = 0.5
UNSEEN_WARN_MIN = 20
UNSEEN_GAP = ("is missing, but was never missing in training, so the model has no "
              "likelihood for the gap (fill it, or refit on data with gaps there)")


@dataclass(frozen=True)
class CodecShape:
    """What a network needs to know of the data: its widths.

    Attributes
    ----------
    n_inputs : int
        Encoder input width.
    n_outputs : int
        Real-valued decoder outputs (one per numeric block).
    n_logits : int
        Decoder logits (categories, booleans, missingness).
    n_blocks : int
        Modelled columns: the width of per-column scores.
    """

    n_inputs: int
    n_outputs: int
    n_logits: int
    n_blocks: int


@dataclass
class Block:
    """One modelled column (or one feature derived from a datetime column).

    Attributes
    ----------
    name : str
        Name in the model, e.g. ``"amount"`` or ``"ts.hour"``.
    source : str
        The data column it is read from.
    kind : {"numeric", "categorical", "boolean"}
    log : bool
        Numeric: the model sees ``log(1 + x)``.
    integer : bool
        Numeric: training values were all integers (of magnitude below 2**53); decoded
        values are rounded and typed ``Int64``.
    decimals : int or None
        Numeric: the fewest decimals (up to ``MAX_DECIMALS``) that wrote every training
        value; decoded values are rounded to them (``None``: not rounded).
    mean, scale : float
        Numeric: standardisation of the (logged) value.
    low, high : float or None
        Numeric: the training range; decoded values are clipped to it.
    categories : list
        Categorical: the learned labels; index ``len(categories)`` is the rare bucket.
        Boolean: ``[false_label, true_label]`` as spelt in the training data.
    rare_values : int
        Categorical: distinct training values pooled in the rare bucket. The bucket's
        probability is shared evenly by them and one more slot for any new value, so a
        value in it costs ``-log p(bucket) + log(rare_values + 1)`` nats.
    rare_labels, rare_counts : list
        Categorical: the pooled values (at most ``MAX_RARE_LABELS``, most frequent
        first) and their training counts; a decoded rare bucket becomes one of them.
    label_type : {"str", "int", "float", "bool"}
        Type of the labels.
    derive : {"hour", "weekday", "month"} or None
        The datetime feature this block holds.
    date_format : str or None
        Datetime blocks: how the source column's text is parsed (see
        :func:`~latentwatch.data.schema.parse_datetimes`).
    missing : bool
        The training data had gaps here: missingness is an input and is modelled.
    quantiles : list of float or None
        Numeric, with the quantile transform (``TableCodec(numeric_transform="quantile")``):
        the knots of :mod:`latentwatch.data.quantiles`; the model sees the normal score
        ``Phi^-1(F(x))`` (``mean`` 0, ``scale`` 1, no log) and decoding writes
        ``F^-1(Phi(u))``, so discrete and zero-heavy columns keep their point masses.
    """

    name: str
    source: str
    kind: str
    log: bool = False
    integer: bool = False
    decimals: int | None = None
    mean: float = 0.0
    scale: float = 1.0
    low: float | None = None
    high: float | None = None
    categories: list[Any] = field(default_factory=list)
    rare_values: int = 0
    rare_labels: list[Any] = field(default_factory=list)
    rare_counts: list[int] = field(default_factory=list)
    label_type: str = "str"
    derive: str | None = None
    date_format: str | None = None
    missing: bool = False
    quantiles: list[float] | None = None

    @property
    def width(self) -> int:
        """Encoder inputs (and logits) taken by the block's value."""
        return len(self.categories) + 1 if self.kind == "categorical" else 1


@dataclass
class DateColumn:
    """What a datetime column needs to be written again: its training period.

    Attributes
    ----------
    name : str
    first, last : str
        The earliest and latest training timestamps (ISO 8601).
    utc : bool
        The timestamps carried a time zone (decoded as UTC).
    """

    name: str
    first: str
    last: str
    utc: bool = False


@dataclass
class Problem:
    """A value that cannot be encoded: ``position`` counts rows from 0 in the table given."""

    position: int
    column: str
    value: Any
    message: str

    def describe(self, first_row: int = 1) -> str:
        return f"row {self.position + first_row}, column {self.column!r}: {self.message}"


@dataclass
class Encoded:
    """The packed rows of a table and what could not be encoded.

    Attributes
    ----------
    packed : np.ndarray of shape (n_rows, packed_width)
        float64; rows with a problem hold zeros and are not to be scored.
    unseen : np.ndarray of bool, shape (n_rows, n_blocks)
        Categorical entries outside the learned categories (in the rare bucket).
    problems : list of Problem
        The first problem of each bad row, in row order.
    bad : np.ndarray of bool, shape (n_rows,)
    shown : pandas.DataFrame or None
        Observed values per block, as given (datetime features derived), when asked for.
    """

    packed: np.ndarray
    unseen: np.ndarray
    problems: list[Problem]
    bad: np.ndarray
    shown: pd.DataFrame | None = None

    @property
    def good(self) -> np.ndarray:
        """The packed rows that can be scored."""
        return self.packed[~self.bad] if self.bad.any() else self.packed

    def raise_for_problems(self, source: str | None = None, first_row: int = 1) -> None:
        """Raise :class:`DataError` naming the count and the first few bad rows, if any."""
        if self.problems:
            raise DataError(where(source, describe_problems(self.problems, first_row)))


def describe_problems(problems: list[Problem], first_row: int = 1, total: int | None = None) -> str:
    """``"3 rows cannot be used: row 4, column 'amount': 'abc' is not a number; ..."``."""
    total = len(problems) if total is None else total
    quoted = "; ".join(p.describe(first_row) for p in problems[:QUOTED_PROBLEMS])
    more = "; ..." if total > QUOTED_PROBLEMS else ""
    noun = "row cannot" if total == 1 else "rows cannot"
    return f"{total} {noun} be used: {quoted}{more}"


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
                          and set(schema) <= {"id_columns", "exclude", "exclude_reasons"}):
        ids = tuple(dict.fromkeys((schema or {}).get("id_columns", ())))
        excluded = tuple(dict.fromkeys((schema or {}).get("exclude", ())))
        rest = frame.drop(columns=[c for c in {*ids, *excluded} if c in frame.columns])
        if len(rest.columns) and len(rest.columns) + len({*ids, *excluded}) == len(
                frame.columns) and is_numeric_matrix(rest):
            return numeric_schema(frame, ids, excluded)
    return infer_schema(frame, overrides=schema if isinstance(schema, dict) else None,
                        source=source)


class TableCodec:
    """Reads tables into packed float rows and writes model-space values back as rows.

    Parameters
    ----------
    schema : TableSchema, dict, "infer" or None, default=None
        How to read the table (see :func:`resolve_schema`); resolved in :meth:`fit`.
    numeric_transform : {"standard", "quantile", "mixed"}, default="standard"
        How numeric columns become model-space values: standardised (after the log where
        the schema asks), or as normal scores of their training quantiles
        (:mod:`latentwatch.data.quantiles`; for generation: exact point masses and
        marginals, but values beyond the training range all read as its ends);
        ``"mixed"``: quantiles for the discrete and zero-heavy columns only (see
        :func:`is_discrete_column`), standardised otherwise.

    Attributes (after ``fit``)
    --------------------------
    schema_ : TableSchema
    blocks : list of Block
    dates : list of DateColumn
    """

    def __init__(self, schema: Any = None, numeric_transform: str = "standard") -> None:
        if numeric_transform not in NUMERIC_TRANSFORMS:
            raise ValueError(f"numeric_transform must be one of {NUMERIC_TRANSFORMS}; got "
                             f"{numeric_transform!r}")
        self.schema = schema
        self.numeric_transform = numeric_transform

    # -- fitting -------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, source: str | None = None, *,
            gaps_in: pd.DataFrame | None = None) -> TableCodec:
        """Learn the schema and the blocks from training rows.

        ``gaps_in`` (the whole training table when ``frame`` is a part of it) also marks
        the columns with gaps there as columns with modelled gaps, so that every training
        row can be encoded.

        Numeric columns get their standardisation (after the log where asked) and range,
        categorical columns their ``max_categories`` most frequent labels seen at least
        ``min_category_count`` times (others go to the rare bucket, remembered), booleans
        their spelling, datetime columns their period, and every column that has gaps a
        missingness flag.

        Raises
        ------
        DataError
            If a schema column is missing from ``frame`` or nothing is left to model.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return self._fit(frame, source, gaps_in)

    def _fit(self, frame: pd.DataFrame, source: str | None, gaps_in: pd.DataFrame | None
             ) -> TableCodec:
        schema = resolve_schema(self.schema, frame, source)
        missing_columns = [c for c in schema.names if c not in frame.columns]
        if missing_columns:
            raise DataError(where(source, f"column {missing_columns[0]!r} is missing"))
        blocks: list[Block] = []
        dates: list[DateColumn] = []
        for spec in schema.columns:
            gappy = gaps_in is not None and bool(gaps_in[spec.name].isna().any())
            blocks.extend(_fit_blocks(frame[spec.name], spec, schema, gappy,
                                      self.numeric_transform))
            if spec.kind == "datetime":
                dates.append(_fit_dates(frame[spec.name], spec))
        if not blocks:
            raise DataError(where(source, "no column left to model; the table needs at least "
                                          "one column that is not an id or excluded"))
        _fit_numeric_scales(frame, blocks, source, gaps_in)
        return self._set(schema, blocks, dates)

    def _set(self, schema: TableSchema, blocks: list[Block], dates: list[DateColumn]
             ) -> TableCodec:
        self.schema_ = schema
        self.blocks = list(blocks)
        self.dates = list(dates)
        self.names = [b.name for b in self.blocks]
        self.sources = list(dict.fromkeys(b.source for b in self.blocks))
        kinds = np.array([b.kind for b in self.blocks])
        self.numeric = np.flatnonzero(kinds == "numeric")
        self.categorical = np.flatnonzero(kinds == "categorical")
        self.boolean = np.flatnonzero(kinds == "boolean")
        self.with_missing = np.array([i for i, b in enumerate(self.blocks) if b.missing], int)
        starts = np.cumsum([0] + [b.width for b in self.blocks])
        self.input_start = starts[:-1]
        self.n_values = int(starts[-1])
        self.input_width = self.n_values + len(self.with_missing)
        self.n_blocks = len(self.blocks)
        # logits: every categorical block's categories, then booleans, then missingness
        widths = [self.blocks[i].width for i in self.categorical]
        self.logit_start = np.cumsum([0, *widths])[:-1].astype(int)
        n_category_logits = int(sum(widths))
        self.boolean_logits = n_category_logits + np.arange(len(self.boolean))
        self.missing_logits = n_category_logits + len(self.boolean) + np.arange(
            len(self.with_missing))
        self.n_logits = n_category_logits + len(self.boolean) + len(self.with_missing)
        self.packed_width = self.input_width + 2 * self.n_blocks
        return self

    @property
    def shape(self) -> CodecShape:
        """The widths a network over this codec needs."""
        return CodecShape(self.input_width, len(self.numeric), self.n_logits, self.n_blocks)

    def is_fitted(self) -> bool:
        return hasattr(self, "blocks")

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; ``from_dict`` restores it exactly."""
        out = {"kind": "table", "schema": self.schema_.to_dict(),
               "blocks": [asdict(b) for b in self.blocks],
               "dates": [asdict(d) for d in self.dates]}
        if self.numeric_transform != "standard":
            out["numeric_transform"] = self.numeric_transform
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableCodec:
        schema = TableSchema.from_dict(data["schema"])
        return cls(schema, data.get("numeric_transform", "standard"))._set(
            schema, [Block(**b) for b in data["blocks"]],
            [DateColumn(**d) for d in data.get("dates", [])])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableCodec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        if not self.is_fitted():
            return f"TableCodec(schema={self.schema!r})"
        return f"TableCodec({', '.join(f'{b.name}:{b.kind}' for b in self.blocks)})"

    # -- tables to rows ------------------------------------------------------------------
    def encode(
        self, frame: pd.DataFrame, source: str | None = None, keep_shown: bool = False
    ) -> Encoded:
        """Pack a table into float64 rows.

        Parameters
        ----------
        frame : pandas.DataFrame
            Must hold every source column; other columns are ignored.
        source : str or None
            Name of the data, for error messages.
        keep_shown : bool, default=False
            Also return the observed value of every block (for explanations).

        Returns
        -------
        Encoded

        Raises
        ------
        DataError
            If a source column is missing. Bad values do not raise: they are listed in
            ``Encoded.problems``.
        """
        missing_columns = [c for c in self.sources if c not in frame.columns]
        if missing_columns:
            raise DataError(where(source, f"column {missing_columns[0]!r} is missing (the model "
                                          f"reads: {', '.join(self.sources)})"))
        n = len(frame)
        packed = np.zeros((n, self.packed_width))
        unseen = np.zeros((n, self.n_blocks), dtype=bool)
        bad_cells = np.zeros((n, self.n_blocks), dtype=bool)
        messages: dict[tuple[int, int], tuple[Any, str]] = {}
        shown: dict[str, Any] = {}
        target0, observed0 = self.input_width, self.input_width + self.n_blocks
        parsed_dates: dict[str, tuple[pd.Series, np.ndarray]] = {}
        fast = self._encode_plain_numbers(frame, packed, bad_cells, messages)
        for j, block in enumerate(self.blocks):
            if j in fast:
                if keep_shown:
                    shown[block.name] = frame[block.source].to_numpy(dtype=np.float64,
                                                                     na_value=np.nan)
                continue
            raw = frame[block.source]
            bad_dates = None
            if block.derive is not None:
                if block.source not in parsed_dates:
                    parsed_dates[block.source] = _dates(raw, block.date_format)
                dates, bad_dates = parsed_dates[block.source]
                _note(messages, bad_dates, j, raw, "is not a date/time")
                raw = derive_feature(dates, block.derive)
            values, bad, shown_values = _block_values(block, raw, j, messages)
            if bad_dates is not None:
                bad = bad | bad_dates
            if not block.missing:
                gaps = np.isnan(values) & ~bad
                _note_gaps(messages, gaps, j)
                bad = bad | gaps
            bad_cells[:, j] = bad
            observed = ~np.isnan(values) & ~bad
            start = self.input_start[j]
            if block.kind == "numeric":
                with np.errstate(over="ignore", invalid="ignore"):
                    standard = np.clip((values - block.mean) / block.scale, -MAX_STANDARD,
                                       MAX_STANDARD)
                standard = np.where(observed, standard, 0.0)
                packed[:, start] = standard
                packed[:, target0 + j] = standard
            elif block.kind == "categorical":
                code = np.where(observed, values, 0).astype(np.int64)
                unseen[:, j] = observed & (code == len(block.categories))
                _warn_unseen(block, raw, unseen[:, j], observed, source)
                rows = np.flatnonzero(observed)
                packed[rows, start + code[rows]] = 1.0
                packed[:, target0 + j] = code
            else:
                flag = np.where(observed, values, 0.0)
                packed[:, start] = np.where(observed, 2.0 * flag - 1.0, 0.0)
                packed[:, target0 + j] = flag
            packed[:, observed0 + j] = observed
            if keep_shown:
                shown[block.name] = shown_values
        for k, j in enumerate(self.with_missing):
            packed[:, self.n_values + k] = 1.0 - packed[:, observed0 + j]
        bad_rows = bad_cells.any(axis=1)
        problems = []
        for row in np.flatnonzero(bad_rows):
            j = int(np.argmax(bad_cells[row]))
            value, message = messages[(int(row), j)]
            problems.append(Problem(int(row), self.blocks[j].source, value, message))
        packed[bad_rows] = 0.0
        return Encoded(packed, unseen, problems, bad_rows,
                       pd.DataFrame(shown, index=frame.index) if keep_shown else None)

    def _encode_plain_numbers(self, frame: pd.DataFrame, packed: np.ndarray,
                              bad_cells: np.ndarray, messages: dict) -> set[int]:
        """Encode at once the numeric blocks without a log whose column holds numbers (a
        numeric matrix is all of them); returns their block indices. Same values as the
        block-by-block path."""
        if frame.columns.has_duplicates:
            return set()
        dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
        blocks = [j for j in self.numeric if not self.blocks[j].log
                  and self.blocks[j].quantiles is None
                  and pd.api.types.is_numeric_dtype(dtypes[self.blocks[j].source])
                  and not pd.api.types.is_bool_dtype(dtypes[self.blocks[j].source])]
        if not blocks:
            return set()
        columns = [self.blocks[j].source for j in blocks]
        values = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(values)
        for k in np.flatnonzero(infinite.any(axis=0)):
            _note(messages, infinite[:, k], int(blocks[k]), frame[columns[k]], "is infinite")
        mean = np.array([self.blocks[j].mean for j in blocks])
        scale = np.array([self.blocks[j].scale for j in blocks])
        gaps = np.isnan(values)
        observed = ~gaps & ~infinite
        with np.errstate(over="ignore"):
            standard = np.clip(np.where(observed, (values - mean) / scale, 0.0),
                               -MAX_STANDARD, MAX_STANDARD)
        index = np.asarray(blocks)
        packed[:, self.input_start[index]] = standard
        packed[:, self.input_width + index] = standard
        packed[:, self.input_width + self.n_blocks + index] = observed
        unseen_gaps = gaps & ~np.array([self.blocks[j].missing for j in blocks])
        for k in np.flatnonzero(unseen_gaps.any(axis=0)):
            _note_gaps(messages, unseen_gaps[:, k], int(blocks[k]))
        bad_cells[:, index] = infinite | unseen_gaps
        return set(int(j) for j in blocks)

    # -- rows to tables ------------------------------------------------------------------
    def block_frame(self, values: np.ndarray, missing: np.ndarray | None = None,
                    rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Model-space values to one column per block, in the original units and labels.

        Parameters
        ----------
        values : np.ndarray of shape (n_rows, n_blocks)
            Standardised (and logged) numbers, category indices (the rare bucket is
            ``len(categories)``) and 0/1 flags, in block order.
        missing : np.ndarray of bool, shape (n_rows, n_blocks), or None
            Entries to leave missing.
        rng : numpy.random.Generator or None
            Draws the pooled value of a rare bucket by training frequency; without it,
            the most frequent pooled value.

        Returns
        -------
        pandas.DataFrame
            One column per block (``ts.hour`` for a datetime feature), valid values only.
        """
        values = np.asarray(values, dtype=np.float64)
        values = values[None] if values.ndim == 1 else values
        if values.ndim != 2 or values.shape[1] != self.n_blocks:
            raise ValueError(f"values must have shape (n_rows, {self.n_blocks}), one column "
                             f"per block ({', '.join(self.names)}), not {values.shape}")
        missing = (np.zeros(values.shape, dtype=bool) if missing is None
                   else np.broadcast_to(np.asarray(missing, dtype=bool), values.shape))
        return pd.DataFrame({
            block.name: decode_column(block, values[:, j], missing[:, j], rng)
            for j, block in enumerate(self.blocks)
        })

    def decode(self, values: np.ndarray, missing: np.ndarray | None = None,
               rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Model-space values to rows of the training table (see the module docstring).

        Parameters
        ----------
        values, missing, rng
            As for :meth:`block_frame`; ``rng`` also draws the date and the minutes of a
            datetime column.

        Returns
        -------
        pandas.DataFrame
            One column per modelled data column (``self.sources``), in the training
            order; datetime columns as timestamps.
        """
        blocks = self.block_frame(values, missing, rng)
        out = {}
        dates = {d.name: d for d in self.dates}
        for name in self.sources:
            if name in dates:
                parts = {b.derive: blocks[b.name] for b in self.blocks
                         if b.source == name}
                out[name] = assemble_datetimes(dates[name], parts, rng)
            else:
                out[name] = blocks[name]
        return pd.DataFrame(out)


def _block_values(block: Block, raw: pd.Series, j: int, messages: dict
                  ) -> tuple[np.ndarray, np.ndarray, Any]:
    """Model-space values (NaN when missing), bad-value mask and shown values of a block."""
    if block.kind == "numeric":
        numbers, bad = to_numbers(raw, messages, j)
        if block.log:
            below = numbers <= -1
            _note(messages, below & ~bad, j, raw, "is not above -1 (the column is on a log "
                                                 "scale)")
            bad = bad | below
            with np.errstate(invalid="ignore", divide="ignore"):
                transformed = np.log1p(np.where(below, np.nan, numbers))
        elif block.quantiles is not None:
            transformed = to_normal_scores(np.where(bad, np.nan, numbers), block.quantiles)
        else:
            transformed = numbers
        return np.where(bad, np.nan, transformed), bad, numbers
    if block.kind == "boolean":
        flags, bad = to_booleans(raw, messages, j)
        return flags, bad, raw
    codes, missing = category_codes(raw, block)
    values = np.where(missing, np.nan, codes).astype(np.float64)
    return values, np.zeros(len(raw), dtype=bool), raw


def decode_column(block: Block, values: np.ndarray, missing: np.ndarray,
                  rng: np.random.Generator | None = None) -> pd.Series:
    """One block's model-space values as valid data in the original units and labels.

    A value that is not a number (NaN) decodes as missing, as does every value of a
    numeric column that had no value in training (it has no range).
    """
    missing = missing | np.isnan(values)
    if block.kind == "numeric":
        low, high = block.low, block.high
        if low is None or high is None:
            missing, low, high = np.ones(len(values), dtype=bool), 0.0, 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            numbers = values * block.scale + block.mean
            if block.log:
                numbers = np.expm1(numbers)
            if block.quantiles is not None:
                numbers = from_normal_scores(numbers, block.quantiles)
        numbers = np.clip(np.nan_to_num(numbers, nan=low), low, high)
        if block.integer:
            rounded = pd.array(np.round(numbers).astype(np.int64), dtype="Int64")
            rounded[missing] = pd.NA
            return pd.Series(rounded)
        if block.decimals is not None:
            numbers = np.round(numbers, block.decimals)
        return pd.Series(np.where(missing, np.nan, numbers))
    labels = list(block.categories)
    top = 1 if block.kind == "boolean" else len(labels)
    codes = np.clip(np.round(np.nan_to_num(values)), 0, top).astype(np.int64)
    if block.kind == "boolean":
        out = np.array(labels, dtype=object)[codes]
        out[missing] = None
        if block.label_type == "bool":
            return pd.Series(out, dtype="boolean")
        if block.label_type == "int":
            return pd.Series(pd.array(out, dtype="Int64"))
        return pd.Series(out, dtype=object)
    out = np.empty(len(codes), dtype=object)
    known = codes < len(labels)
    out[known] = np.array(labels, dtype=object)[codes[known]] if labels else None
    out[~known] = _rare_draws(block, int((~known).sum()), rng)
    out[missing] = None
    if block.label_type == "int":
        return pd.Series(pd.array(out, dtype="Int64"))
    if block.label_type == "float":
        return pd.Series(pd.array(out, dtype="Float64"))
    return pd.Series(out, dtype=object)


def _rare_draws(block: Block, n: int, rng: np.random.Generator | None) -> np.ndarray:
    """``n`` values for a decoded rare bucket: pooled training values, by frequency."""
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    if not block.rare_labels:  # a bucket that pooled nothing: the first label, a valid one
        out[:] = block.categories[0] if block.categories else None
        return out
    if rng is None:
        out[:] = block.rare_labels[0]
        return out
    counts = np.asarray(block.rare_counts, dtype=np.float64)
    picks = rng.choice(len(block.rare_labels), size=n, p=counts / counts.sum())
    out[:] = np.array(block.rare_labels, dtype=object)[picks]
    return out


def assemble_datetimes(column: DateColumn, parts: dict[str, pd.Series],
                       rng: np.random.Generator | None = None) -> pd.Series:
    """Timestamps with the decoded ``hour``/``weekday``/``month`` of a datetime column.

    The date is a day of the training period ``[first, last]`` with the decoded weekday
    and month: drawn uniformly among those days with ``rng``, else the one nearest the
    middle of the period. When no day of the period matches (a short period), the search
    widens by a year on each side. The time is the decoded hour (midnight without an
    hour feature) plus, with ``rng``, uniformly drawn minutes and seconds. A row whose
    features are missing is missing (``NaT``).
    """
    first = pd.Timestamp(column.first).tz_localize(None).normalize()
    last = pd.Timestamp(column.last).tz_localize(None).normalize()
    n = len(next(iter(parts.values())))
    missing = np.zeros(n, dtype=bool)
    for series in parts.values():
        missing |= series.isna().to_numpy()
    weekday = parts.get("weekday")
    month = parts.get("month")
    hour = parts.get("hour")
    wanted_wd = (np.full(n, -1) if weekday is None else
                 weekday.map(lambda v: WEEKDAYS.index(v) if v in WEEKDAYS else -1).to_numpy())
    wanted_m = (np.full(n, -1) if month is None else
                month.astype("Float64").fillna(-1).to_numpy(dtype=np.float64).astype(int))
    days = np.empty(n, dtype="datetime64[D]")
    middle = first + (last - first) / 2
    for wd, m in set(zip(wanted_wd.tolist(), wanted_m.tolist(), strict=True)):
        rows = np.flatnonzero((wanted_wd == wd) & (wanted_m == m))
        for widen in (0, 366, 3 * 366):
            span = pd.date_range(first - pd.Timedelta(days=widen),
                                 last + pd.Timedelta(days=widen), freq="D")
            ok = np.ones(len(span), dtype=bool)
            if wd >= 0:
                ok &= span.day_of_week.to_numpy() == wd
            if m >= 1:
                ok &= span.month.to_numpy() == m
            if ok.any():
                candidates = span[ok]
                break
        else:
            candidates = pd.DatetimeIndex([middle.normalize()])
        if rng is None:
            nearest = int(np.argmin(np.abs((candidates - middle).total_seconds())))
            days[rows] = candidates[nearest].to_datetime64()
        else:
            days[rows] = candidates[rng.integers(len(candidates), size=len(rows))].to_numpy()
    seconds = np.zeros(n)
    if hour is not None:
        seconds += 3600.0 * hour.astype("Float64").fillna(0).to_numpy(dtype=np.float64)
    if rng is not None and hour is not None:
        seconds += rng.integers(0, 3600, size=n)
    stamps = pd.Series(days.astype("datetime64[ns]")) + pd.to_timedelta(seconds, unit="s")
    stamps[missing] = pd.NaT
    return stamps.dt.tz_localize("UTC") if column.utc else stamps


def _note(messages: dict, bad: np.ndarray, j: int, raw: pd.Series, message: str) -> None:
    """Remember the value and message of the first bad cell of each row in block ``j``."""
    values = raw.to_numpy()
    for row in np.flatnonzero(bad):
        messages.setdefault((int(row), j), (values[row], f"{values[row]!r} {message}"))


def _note_gaps(messages: dict, gaps: np.ndarray, j: int) -> None:
    """Remember the gaps of block ``j`` that the model never saw in training."""
    for row in np.flatnonzero(gaps):
        messages.setdefault((int(row), j), (None, UNSEEN_GAP))


def _warn_unseen(block: Block, raw: pd.Series, bucket: np.ndarray, observed: np.ndarray,
                 source: str | None) -> None:
    """Warn when most values of a categorical column were never seen in training."""
    n_observed = int(observed.sum())
    if n_observed < UNSEEN_WARN_MIN or bucket.sum() < UNSEEN_WARN_SHARE * n_observed:
        return
    if block.rare_values > len(block.rare_labels):  # not every pooled value is known
        return
    labels, _ = labels_of(raw[bucket], block.label_type)
    pooled = list(block.rare_labels)
    new = labels[~labels.isin(pooled)] if pooled else labels
    if len(new) < UNSEEN_WARN_SHARE * n_observed:
        return
    example = new.iloc[0]
    key = {str(c).strip().casefold(): c for c in block.categories}
    near = key.get(str(example).strip().casefold())
    hint = (f" ({example!r} matches {near!r} once spaces and case are ignored)"
            if near is not None else "")
    learned = ", ".join(repr(c) for c in block.categories[:8])
    warnings.warn(where(source, (
        f"column {block.source!r}: {len(new):,} of {n_observed:,} values were never seen in "
        f"training, e.g. {example!r}{hint}; they all score as new values (learned: "
        f"{learned}{', ...' if len(block.categories) > 8 else ''}): check the spelling, "
        "spaces and case")), UserWarning, stacklevel=4)


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
        _note(messages, parse_failed, j, raw, "is not a number")
        _note(messages, infinite, j, raw, "is infinite")
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
        _note(messages, bad, j, raw, "is not a boolean (true/false, yes/no, 1/0)")
    return np.where(bad | missing, np.nan, numbers), bad


def _word(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return str(int(value))
    return str(value).strip().lower()


def _dates(raw: pd.Series, fmt: str | None = None) -> tuple[pd.Series, np.ndarray]:
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


def derive_feature(dates: pd.Series, feature: str) -> pd.Series:
    """``hour`` (0-23), ``weekday`` (``"Mon"``...) or ``month`` (1-12); missing stays missing."""
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



# -- fitting ---------------------------------------------------------------------------
def _fit_blocks(raw: pd.Series, spec: ColumnSpec, schema: TableSchema,
                gappy: bool = False, transform: str = "standard") -> list[Block]:
    gaps = gappy or bool(raw.isna().any())
    if spec.kind == "numeric":
        numbers, _ = to_numbers(raw)
        finite = numbers[np.isfinite(numbers)]
        # integers only where int64 holds them exactly (beyond 2**53 floats are all whole)
        integer = bool(finite.size and np.all(np.mod(finite, 1) == 0)
                       and np.abs(finite).max() < MAX_EXACT_INTEGER)
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
        quantile = transform == "quantile" or (transform == "mixed"
                                               and is_discrete_column(finite))
        knots = fit_knots(finite).tolist() if quantile and finite.size else None
        return [Block(spec.name, spec.name, "numeric", log=spec.log and knots is None,
                      integer=integer, decimals=_decimals(finite), low=low, high=high,
                      missing=gaps, label_type="float", quantiles=knots)]
    if spec.kind == "boolean":
        return [Block(spec.name, spec.name, "boolean", categories=_boolean_labels(raw),
                      label_type=_boolean_label_type(raw), missing=gaps)]
    if spec.kind == "datetime":
        dates, _ = _dates(raw, spec.format)
        out = []
        for feature in spec.features:
            derived = derive_feature(dates, feature)
            label_type = "str" if feature == "weekday" else "int"
            learned = _learn_categories(derived, label_type, schema)
            if feature == "weekday":
                learned["categories"] = sorted(learned["categories"], key=WEEKDAYS.index)
            out.append(Block(f"{spec.name}.{feature}", spec.name, "categorical",
                             label_type=label_type, derive=feature, date_format=spec.format,
                             missing=gappy or bool(dates.isna().any()), **learned))
        return out
    label_type = _category_label_type(raw)
    return [Block(spec.name, spec.name, "categorical", label_type=label_type, missing=gaps,
                  **_learn_categories(raw, label_type, schema))]


def is_discrete_column(values: np.ndarray) -> bool:
    """At most ``MAX_DISCRETE_VALUES`` distinct values, or one value holding at least
    ``POINT_MASS_SHARE`` of them (a zero-heavy column): where a Gaussian decoder spreads
    mass between the levels and the quantile transform keeps them exactly."""
    if values.size == 0:
        return False
    _, counts = np.unique(values, return_counts=True)
    return bool(len(counts) <= MAX_DISCRETE_VALUES
                or counts.max() >= POINT_MASS_SHARE * values.size)


def _fit_dates(raw: pd.Series, spec: ColumnSpec) -> DateColumn:
    dates, _ = _dates(raw, spec.format)
    present = dates.dropna()
    utc = getattr(dates.dt, "tz", None) is not None
    if present.empty:
        return DateColumn(spec.name, "1970-01-01T00:00:00", "1970-01-01T00:00:00", utc)
    first, last = present.min(), present.max()
    if utc:
        first, last = first.tz_convert("UTC"), last.tz_convert("UTC")
    return DateColumn(spec.name, first.isoformat(), last.isoformat(), utc)


def _decimals(values: np.ndarray) -> int | None:
    for decimals in range(MAX_DECIMALS + 1):
        rounded = np.round(values, decimals)
        if np.all(np.abs(rounded - values) <= 1e-9 * np.maximum(1.0, np.abs(values))):
            return decimals
    return None


def _category_label_type(raw: pd.Series) -> str:
    dtype = raw.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = pd.to_numeric(raw.dropna().astype(object), errors="coerce").to_numpy(float)
        return "int" if np.all(np.mod(numbers, 1) == 0) else "float"
    return "str"


def _learn_categories(raw: pd.Series, label_type: str, schema: TableSchema) -> dict[str, Any]:
    """The kept labels (sorted), how many distinct values go to the rare bucket, and the
    most frequent of those with their counts (the Block fields of a categorical column)."""
    return categories_from_counts(label_counts(raw, label_type), label_type, schema)


def label_counts(raw: pd.Series, label_type: str) -> pd.Series:
    """How often each present label occurs (in the label type): what a categorical block
    learns from, and what streamed chunks add up (``a.add(b, fill_value=0)``)."""
    labels, missing = labels_of(raw, label_type)
    return labels[~missing].value_counts(dropna=True)


def categories_from_counts(counts: pd.Series, label_type: str, schema: TableSchema,
                           distinct: int | None = None) -> dict[str, Any]:
    """The Block fields of a categorical column from its label counts (``distinct``: the
    number of distinct labels when ``counts`` holds only some of them)."""
    order = sorted(counts.index, key=lambda label: (-counts[label], str(label)))
    frequent = [v for v in order if counts[v] >= schema.min_category_count]
    kept = set(frequent[:schema.max_categories])
    rare = [v for v in order if v not in kept][:MAX_RARE_LABELS]
    cast = {"int": int, "float": float}.get(label_type, str)
    n_distinct = len(counts) if distinct is None else max(distinct, len(counts))
    return {"categories": sorted(cast(v) for v in kept), "rare_values": n_distinct - len(kept),
            "rare_labels": [cast(v) for v in rare], "rare_counts": [int(counts[v]) for v in rare]}


def _boolean_label_type(raw: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(raw.dtype) or raw.dropna().map(
            lambda v: isinstance(v, bool | np.bool_)).all():
        return "bool"
    return "int" if pd.api.types.is_numeric_dtype(raw.dtype) else "str"


def _boolean_labels(raw: pd.Series) -> list[Any]:
    kind = _boolean_label_type(raw)
    if kind == "bool":
        return [False, True]
    if kind == "int":
        return [0, 1]
    flags, _ = to_booleans(raw)
    text = raw.astype(object).where(raw.notna(), None)
    labels = []
    for flag, fallback in ((0.0, "false"), (1.0, "true")):
        spelt = text[flags == flag].map(lambda v: str(v).strip()).value_counts()
        labels.append(str(spelt.index[0]) if len(spelt) else fallback)
    return labels


def _refuse_huge(matrix: np.ndarray, blocks: list[Block], source: str | None) -> None:
    """Refuse training values whose standardisation would overflow, naming the first."""
    with np.errstate(invalid="ignore"):
        huge = np.abs(matrix) > MAX_FIT_MAGNITUDE
    if not huge.any():
        return
    row, k = np.argwhere(huge)[0]
    logged = " after the log" if blocks[k].log else ""
    raise DataError(where(source, (
        f"row {row + 1}, column {blocks[k].source!r}: {float(matrix[row, k])!r} is too large "
        f"to model (beyond +-{MAX_FIT_MAGNITUDE:.0e}{logged}: the "
        "column's scale would be infinite); rescale the column (other units) or exclude it")))


def _numeric_matrix(frame: pd.DataFrame, numeric: list[Block]) -> np.ndarray:
    columns = []
    for block in numeric:
        numbers, _ = to_numbers(frame[block.source])
        if block.log:
            with np.errstate(invalid="ignore", divide="ignore"):
                numbers = np.log1p(np.where(numbers > -1, numbers, np.nan))
        columns.append(numbers)
    return np.column_stack(columns)


def _fit_numeric_scales(frame: pd.DataFrame, blocks: list[Block], source: str | None = None,
                        whole: pd.DataFrame | None = None) -> None:
    """Means and scales of the numeric blocks; ``whole`` (the table ``frame`` is part of)
    is checked for values too large to model, so that a message names its rows."""
    numeric = [b for b in blocks if b.kind == "numeric"]
    if not numeric:
        return
    matrix = _numeric_matrix(frame, numeric)
    _refuse_huge(matrix if whole is None else _numeric_matrix(whole, numeric), numeric,
                 source)
    numeric = [b for b in numeric if b.quantiles is None]  # normal scores: mean 0, scale 1
    if not numeric:
        return
    matrix = _numeric_matrix(frame, numeric)
    if np.isfinite(matrix).all():
        means, scales = fit_standardizer(matrix)
    else:
        means, scales = np.empty(len(numeric)), np.empty(len(numeric))
        for k in range(len(numeric)):
            finite = matrix[:, k][np.isfinite(matrix[:, k])]
            mean, scale = fit_standardizer(finite[:, None]) if finite.size else ([0.0], [1.0])
            means[k], scales[k] = mean[0], scale[0]
    for block, mean, scale in zip(numeric, means, scales, strict=True):
        block.mean, block.scale = float(mean), float(scale)




def fit_codec(frame: pd.DataFrame, schema: Any = None, source: str | None = None) -> TableCodec:
    """``TableCodec(schema).fit(frame, source)``."""
    return TableCodec(schema).fit(frame, source)
