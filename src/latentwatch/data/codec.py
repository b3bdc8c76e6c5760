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

The codec's jobs live in modules of their own: reading cells in
:mod:`~latentwatch.data.cells`, the fitted statistics in
:mod:`~latentwatch.data.statistics`, the schema rule in
:func:`~latentwatch.data.schema.resolve_schema`, problems in
:mod:`~latentwatch.data.problems`, decoding in :mod:`~latentwatch.data.decoding`, the
blocks and the packed layout in :mod:`~latentwatch.data.blocks`; their names are
re-exported here.

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
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data import small
from latentwatch.data.blocks import Block, CodecShape, DateColumn, LaidOut, PackedLayout
from latentwatch.data.cells import (
    WEEKDAYS,
    category_codes,
    derive_feature,
    labels_of,
    note_bad,
    note_bad_dates,
    read_dates,
    to_booleans,
    to_numbers,
)
from latentwatch.data.decoding import assemble_datetimes, decode_column
from latentwatch.data.problems import (
    QUOTED_PROBLEMS,
    UNSEEN_GAP,
    Encoded,
    Problem,
    describe_problems,
)
from latentwatch.data.quantiles import to_normal_scores
from latentwatch.data.schema import (
    TableSchema,
    is_numeric_matrix,
    numeric_schema,
    resolve_schema,
)
from latentwatch.data.small import SmallFrame
from latentwatch.data.statistics import (
    MAX_DECIMALS,
    MAX_DISCRETE_VALUES,
    MAX_EXACT_INTEGER,
    MAX_FIT_MAGNITUDE,
    MAX_RARE_LABELS,
    NUMERIC_TRANSFORMS,
    POINT_MASS_SHARE,
    TableStatistics,
    categories_from_counts,
    is_discrete_column,
    label_counts,
    log_values,
)
from latentwatch.errors import DataError, where

# Label of the rare bucket where no pooled value is known (models without rare labels).
RARE_LABEL = "(other)"
# Standardised values are clipped to +-this when encoded: a value far beyond the training
# range (1e308, say) then costs a huge but finite likelihood instead of an inf/NaN score.
# Training rows never reach it (a standardised training value is at most sqrt(n_rows)).
MAX_STANDARD = 1e6
# A warning names a categorical column when at least this share of its values (and
# UNSEEN_WARN_MIN of them) were never seen in training.
UNSEEN_WARN_SHARE = 0.5
UNSEEN_WARN_MIN = 20


class TableCodec(LaidOut):
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
    layout : PackedLayout
        Where each block sits in a packed row (``input_width``, ``n_blocks``... are read
        from it).

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "n": [1, 2, 2]})
    >>> codec = TableCodec().fit(frame)
    >>> codec.names, codec.packed_width, codec.context_rows, codec.can_decode
    (['x', 'n'], 6, 0, True)
    >>> codec.decode(codec.encode(frame).packed[:, 2:4])["n"].tolist()
    [1, 2, 2]
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
        missingness flag: the :class:`~latentwatch.data.statistics.TableStatistics` of one
        piece, the frame (the streamed fit merges the same statistics piece by piece).

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
        if not schema.columns:
            raise DataError(where(source, "no column left to model; the table needs at least "
                                          "one column that is not an id or excluded"))
        _refuse_huge(frame if gaps_in is None else gaps_in, schema, source)
        statistics = TableStatistics(schema, frame, self.numeric_transform)
        statistics.update(frame)
        if gaps_in is not None:
            statistics.mark_gaps(gaps_in)
        return self._set(schema, statistics.blocks(), statistics.dates())

    @classmethod
    def from_blocks(cls, schema: TableSchema, blocks: list[Block],
                    dates: list[DateColumn] | None = None) -> TableCodec:
        """The codec of given fitted blocks (the window codec's steps, a model file)."""
        return cls(schema)._set(schema, blocks, list(dates or []))

    @classmethod
    def from_statistics(cls, statistics: TableStatistics) -> TableCodec:
        """The codec fitted on the rows ``statistics`` gathered (the streamed fit)."""
        return cls(statistics.schema, statistics.numeric_transform)._set(
            statistics.schema, statistics.blocks(), statistics.dates())

    def _set(self, schema: TableSchema, blocks: list[Block], dates: list[DateColumn]
             ) -> TableCodec:
        self.schema_ = schema
        self.layout = PackedLayout(blocks)
        self.dates = list(dates)
        self.sources = list(dict.fromkeys(b.source for b in self.blocks))
        return self

    # -- capabilities (see latentwatch.data.protocol.Codec) ------------------------------
    kind = "table"
    context_rows = 0
    can_decode = True

    @property
    def column_blocks(self) -> list[Block]:
        """The blocks that describe the data's columns: every block."""
        return self.blocks

    def training_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The packed rows a model trains on: the training rows themselves."""
        return rows

    def block_weights(self, rows: np.ndarray) -> np.ndarray | None:
        """Weights of the parts in the scores: None, a table row is scored as it is."""
        return None

    def rows_per_chunk(self, chunk_rows: int) -> int:
        """Rows of a streamed chunk: ``chunk_rows`` (a table row is one packed row)."""
        return chunk_rows

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
    def encode(self, frame: pd.DataFrame, source: str | None = None, keep_shown: bool = False,
               context: pd.DataFrame | None = None) -> Encoded:
        """Pack a table into float64 rows.

        Parameters
        ----------
        frame : pandas.DataFrame
            Must hold every source column; other columns are ignored.
        source : str or None
            Name of the data, for error messages.
        keep_shown : bool, default=False
            Also return the observed value of every block (for explanations).
        context : pandas.DataFrame or None
            Ignored: a table row is read on its own (``context_rows`` is 0).

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
        cells = (SmallFrame.of(frame) if n < UNSEEN_WARN_MIN and not keep_shown
                 else None)
        fast = self._encode_plain_numbers(frame, packed, bad_cells, messages, cells)
        for j, block in enumerate(self.blocks):
            if j in fast:
                if keep_shown:
                    shown[block.name] = frame[block.source].to_numpy(dtype=np.float64,
                                                                     na_value=np.nan)
                continue
            raw = None if cells is not None else frame[block.source]
            bad_dates = None
            if block.derive is not None:
                if block.source not in parsed_dates:
                    stamps = None if cells is None else cells.dates(block.source,
                                                                    block.date_format)
                    parsed_dates[block.source] = (
                        read_dates(frame[block.source], block.date_format) if stamps is None
                        else (stamps, np.zeros(n, dtype=bool)))
                dates, bad_dates = parsed_dates[block.source]
                if bad_dates.any():
                    note_bad_dates(messages, bad_dates, j, frame[block.source],
                                   block.date_format)
                raw = None if cells is not None else derive_feature(dates, block.derive)
            quick = None if cells is None else small.block_values(
                block, cells.column(block.source) if block.derive is None
                else small.derived(dates, block.derive))
            if quick is not None:
                (values, bad), shown_values = quick, None
            else:
                if raw is None and block.derive is not None:
                    if isinstance(dates, list):
                        dates = read_dates(frame[block.source], block.date_format)[0]
                    raw = derive_feature(dates, block.derive)
                raw = frame[block.source] if raw is None else raw
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
                              bad_cells: np.ndarray, messages: dict,
                              cells: SmallFrame | None = None) -> set[int]:
        """Encode at once the numeric blocks without a log whose column holds numbers (a
        numeric matrix is all of them); returns their block indices. Same values as the
        block-by-block path (read from ``cells`` for a small frame)."""
        if frame.columns.has_duplicates:
            return set()
        dtypes = (cells.dtypes if cells is not None
                  else dict(zip(frame.columns, frame.dtypes, strict=True)))
        blocks = [j for j in self.numeric if not self.blocks[j].log
                  and self.blocks[j].quantiles is None
                  and pd.api.types.is_numeric_dtype(dtypes[self.blocks[j].source])
                  and not pd.api.types.is_bool_dtype(dtypes[self.blocks[j].source])]
        if not blocks:
            return set()
        columns = [self.blocks[j].source for j in blocks]
        values = (cells.numbers(columns) if cells is not None else None)
        if values is None:
            values = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(values)
        for k in np.flatnonzero(infinite.any(axis=0)):
            note_bad(messages, infinite[:, k], int(blocks[k]), frame[columns[k]], "is infinite")
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
            note_bad(messages, below & ~bad, j, raw, "is not above -1 (the column is on a log "
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



def _refuse_huge(frame: pd.DataFrame, schema: TableSchema, source: str | None) -> None:
    """Refuse training values whose standardisation would overflow, naming the first."""
    numeric = [spec for spec in schema.columns if spec.kind == "numeric"]
    if not numeric:
        return
    columns = []
    for spec in numeric:
        numbers, _ = to_numbers(frame[spec.name])
        columns.append(log_values(numbers)[0] if spec.log else numbers)
    matrix = np.column_stack(columns)
    with np.errstate(invalid="ignore"):
        huge = np.abs(matrix) > MAX_FIT_MAGNITUDE
    if not huge.any():
        return
    row, k = np.argwhere(huge)[0]
    logged = " after the log" if numeric[k].log else ""
    raise DataError(where(source, (
        f"row {row + 1}, column {numeric[k].name!r}: {float(matrix[row, k])!r} is too large "
        f"to model (beyond +-{MAX_FIT_MAGNITUDE:.0e}{logged}: the "
        "column's scale would be infinite); rescale the column (other units) or exclude it")))


def fit_codec(frame: pd.DataFrame, schema: Any = None, source: str | None = None) -> TableCodec:
    """``TableCodec(schema).fit(frame, source)``."""
    return TableCodec(schema).fit(frame, source)


__all__ = [
    "MAX_DECIMALS", "MAX_DISCRETE_VALUES", "MAX_EXACT_INTEGER", "MAX_FIT_MAGNITUDE",
    "MAX_RARE_LABELS", "MAX_STANDARD", "NUMERIC_TRANSFORMS", "POINT_MASS_SHARE",
    "QUOTED_PROBLEMS", "RARE_LABEL", "UNSEEN_GAP", "WEEKDAYS", "Block", "CodecShape",
    "DateColumn", "Encoded", "PackedLayout", "Problem", "TableCodec", "assemble_datetimes",
    "categories_from_counts", "category_codes", "decode_column", "derive_feature",
    "describe_problems", "fit_codec", "is_discrete_column", "is_numeric_matrix",
    "label_counts", "labels_of", "numeric_schema", "read_dates", "resolve_schema",
    "to_booleans", "to_numbers",
]
