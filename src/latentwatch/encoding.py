"""Tables to float matrices for the networks, and decoded values back to tables.

A :class:`TableLayout` is learned from a training table and a
:class:`~latentwatch.schema.TableSchema`. It is a list of :class:`Block` s, one per
modelled column (a datetime column gives one block per derived feature), and turns a
table into one float64 matrix, the *packed rows*::

    [ encoder inputs (input_width) | targets (n_blocks) | observed (n_blocks) ]

Encoder inputs are the standardised numeric values (0 when missing), a one-hot vector
per categorical column (the rare bucket last; all zeros when missing), ``+1``/``-1``
per boolean (0 when missing) and, for every column that had gaps in training, a
missingness indicator. Targets hold the standardised value, the category index or the
0/1 of each column, and ``observed`` is 1 where the entry is present.

The inverse, :meth:`TableLayout.to_frame`, turns *values in model space* (standardised
numbers, category indices, 0/1) into a table in the original units and labels: it is
how decoded or sampled network outputs become rows of the original schema.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.errors import DataError, where
from latentwatch.scaling import fit_standardizer
from latentwatch.schema import (
    FALSE_WORDS,
    TRUE_WORDS,
    ColumnSpec,
    TableSchema,
    parse_datetimes,
)

# Label of the rare bucket in decoded text columns (numeric-label columns decode it as missing).
RARE_LABEL = "(other)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Decoded numbers are rounded to the decimals of the training values, if at most this many.
MAX_DECIMALS = 6
# At most this many offending rows are quoted in a message.
QUOTED_PROBLEMS = 5


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
        Numeric: training values were all integers; decoded values are rounded.
    decimals : int or None
        Numeric: the fewest decimals (up to ``MAX_DECIMALS``) that wrote every training
        value; decoded values are rounded to them (``None``: not rounded).
    mean, scale : float
        Numeric: standardisation of the (logged) value.
    categories : list
        Categorical: the learned labels; index ``len(categories)`` is the rare bucket.
        Boolean: ``[false_label, true_label]`` as spelt in the training data.
    rare_values : int
        Categorical: distinct training values pooled in the rare bucket. The bucket's
        probability is shared evenly by them and one more slot for any new value, so a
        value in it costs ``-log p(bucket) + log(rare_values + 1)`` nats.
    label_type : {"str", "int", "float", "bool"}
        Type of the labels.
    derive : {"hour", "weekday", "month"} or None
        The datetime feature this block holds.
    missing : bool
        The training data had gaps here: missingness is an input and is modelled.
    """

    name: str
    source: str
    kind: str
    log: bool = False
    integer: bool = False
    decimals: int | None = None
    mean: float = 0.0
    scale: float = 1.0
    categories: list[Any] = field(default_factory=list)
    rare_values: int = 0
    label_type: str = "str"
    derive: str | None = None
    missing: bool = False

    @property
    def width(self) -> int:
        """Encoder inputs (and logits) taken by the block's value."""
        return len(self.categories) + 1 if self.kind == "categorical" else 1


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


class TableLayout:
    """The blocks of a fitted table model and the packing of tables into float rows.

    Parameters
    ----------
    blocks : list of Block
    """

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = list(blocks)
        self.names = [b.name for b in self.blocks]
        self.sources = list(dict.fromkeys(b.source for b in self.blocks))
        kinds = np.array([b.kind for b in self.blocks])
        self.numeric = np.flatnonzero(kinds == "numeric")
        self.categorical = np.flatnonzero(kinds == "categorical")
        self.boolean = np.flatnonzero(kinds == "boolean")
        self.with_missing = np.array([i for i, b in enumerate(self.blocks) if b.missing], int)
        starts = np.cumsum([0] + [b.width for b in self.blocks])
        self.input_start = starts[:-1]
        n_values = int(starts[-1])
        self.input_width = n_values + len(self.with_missing)
        self.n_blocks = len(self.blocks)
        self.n_outputs = len(self.numeric)
        # logits: every categorical block's categories, then booleans, then missingness
        widths = [self.blocks[i].width for i in self.categorical]
        self.logit_start = np.cumsum([0, *widths])[:-1].astype(int)
        n_category_logits = int(sum(widths))
        self.boolean_logits = n_category_logits + np.arange(len(self.boolean))
        self.missing_logits = n_category_logits + len(self.boolean) + np.arange(
            len(self.with_missing))
        self.n_logits = n_category_logits + len(self.boolean) + len(self.with_missing)
        self.packed_width = self.input_width + 2 * self.n_blocks

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; ``from_dict`` restores it exactly."""
        return {"blocks": [asdict(b) for b in self.blocks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableLayout:
        return cls([Block(**b) for b in data["blocks"]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableLayout) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"TableLayout({', '.join(f'{b.name}:{b.kind}' for b in self.blocks)})"

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
        n_values = self.input_width - len(self.with_missing)
        parsed_dates: dict[str, tuple[pd.Series, np.ndarray]] = {}
        for j, block in enumerate(self.blocks):
            raw = frame[block.source]
            bad_dates = None
            if block.derive is not None:
                if block.source not in parsed_dates:
                    parsed_dates[block.source] = _dates(raw)
                dates, bad_dates = parsed_dates[block.source]
                _note(messages, bad_dates, j, raw, "is not a date/time")
                raw = derive_feature(dates, block.derive)
            values, bad, shown_values = self._block_values(block, raw, j, messages)
            if bad_dates is not None:
                bad = bad | bad_dates
            bad_cells[:, j] = bad
            observed = ~np.isnan(values) & ~bad
            start = self.input_start[j]
            if block.kind == "numeric":
                standard = (values - block.mean) / block.scale
                standard = np.where(observed, standard, 0.0)
                packed[:, start] = standard
                packed[:, target0 + j] = standard
            elif block.kind == "categorical":
                code = np.where(observed, values, 0).astype(np.int64)
                unseen[:, j] = observed & (code == len(block.categories))
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
            packed[:, n_values + k] = 1.0 - packed[:, observed0 + j]
        bad_rows = bad_cells.any(axis=1)
        problems = []
        for row in np.flatnonzero(bad_rows):
            j = int(np.argmax(bad_cells[row]))
            value, message = messages[(int(row), j)]
            problems.append(Problem(int(row), self.blocks[j].source, value, message))
        packed[bad_rows] = 0.0
        return Encoded(packed, unseen, problems, bad_rows,
                       pd.DataFrame(shown, index=frame.index) if keep_shown else None)

    def _block_values(
        self, block: Block, raw: pd.Series, j: int, messages: dict
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
            else:
                transformed = numbers
            return np.where(bad, np.nan, transformed), bad, numbers
        if block.kind == "boolean":
            flags, bad = to_booleans(raw, messages, j)
            return flags, bad, raw
        codes, missing = category_codes(raw, block)
        values = np.where(missing, np.nan, codes).astype(np.float64)
        return values, np.zeros(len(raw), dtype=bool), raw

    # -- rows to tables ------------------------------------------------------------------
    def to_frame(self, values: np.ndarray, missing: np.ndarray | None = None) -> pd.DataFrame:
        """Model-space values to a table in the original units and labels.

        Parameters
        ----------
        values : np.ndarray of shape (n_rows, n_blocks)
            Standardised (and logged) numbers, category indices (the rare bucket is
            ``len(categories)``) and 0/1 flags, in block order.
        missing : np.ndarray of bool, shape (n_rows, n_blocks), or None
            Entries to leave missing.

        Returns
        -------
        pandas.DataFrame
            One column per block (a datetime column gives its derived features, e.g.
            ``ts.hour``): numbers in the original units (rounded for integer columns),
            categories as labels (the rare bucket as ``"(other)"`` for text, missing
            otherwise), booleans with their training spelling.
        """
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.n_blocks)
        missing = (np.zeros(values.shape, dtype=bool) if missing is None
                   else np.asarray(missing, dtype=bool))
        return pd.DataFrame({
            block.name: decode_column(block, values[:, j], missing[:, j])
            for j, block in enumerate(self.blocks)
        })


def decode_column(block: Block, values: np.ndarray, missing: np.ndarray) -> pd.Series:
    """One block's model-space values in the original units and labels."""
    if block.kind == "numeric":
        numbers = values * block.scale + block.mean
        if block.log:
            numbers = np.expm1(numbers)
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
        return pd.Series(out)
    rare = RARE_LABEL if block.label_type == "str" else None
    out = np.array([*labels, rare], dtype=object)[codes]
    out[missing] = None
    if block.label_type == "int":
        return pd.Series(pd.array(out, dtype="Int64"))
    if block.label_type == "float":
        return pd.Series(pd.array(out, dtype="Float64"))
    return pd.Series(out, dtype=object)


def _note(messages: dict, bad: np.ndarray, j: int, raw: pd.Series, message: str) -> None:
    """Remember the value and message of the first bad cell of each row in block ``j``."""
    values = raw.to_numpy()
    for row in np.flatnonzero(bad):
        messages.setdefault((int(row), j), (values[row], f"{values[row]!r} {message}"))


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


def _dates(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    parsed = parse_datetimes(raw)
    return parsed, (raw.notna() & parsed.isna()).to_numpy()


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
def fit_layout(frame: pd.DataFrame, schema: TableSchema, source: str | None = None) -> TableLayout:
    """Learn the blocks of ``schema`` from a training table.

    Numeric columns get their standardisation (after the log where asked), categorical
    columns their ``max_categories`` most frequent labels seen at least
    ``min_category_count`` times (others go to the rare bucket), booleans their spelling,
    and every column that has gaps a missingness flag.

    Raises
    ------
    DataError
        If a schema column is missing from ``frame``.
    """
    missing_columns = [c for c in schema.names if c not in frame.columns]
    if missing_columns:
        raise DataError(where(source, f"column {missing_columns[0]!r} is missing"))
    blocks: list[Block] = []
    for spec in schema.columns:
        blocks.extend(_fit_blocks(frame[spec.name], spec, schema))
    _fit_numeric_scales(frame, blocks)
    return TableLayout(blocks)


def _fit_blocks(raw: pd.Series, spec: ColumnSpec, schema: TableSchema) -> list[Block]:
    gaps = bool(raw.isna().any())
    if spec.kind == "numeric":
        numbers, _ = to_numbers(raw)
        finite = numbers[np.isfinite(numbers)]
        integer = bool(finite.size and np.all(np.mod(finite, 1) == 0))
        return [Block(spec.name, spec.name, "numeric", log=spec.log, integer=integer,
                      decimals=_decimals(finite), missing=gaps, label_type="float")]
    if spec.kind == "boolean":
        return [Block(spec.name, spec.name, "boolean", categories=_boolean_labels(raw),
                      label_type=_boolean_label_type(raw), missing=gaps)]
    if spec.kind == "datetime":
        dates, _ = _dates(raw)
        out = []
        for feature in spec.features:
            derived = derive_feature(dates, feature)
            label_type = "str" if feature == "weekday" else "int"
            categories, pooled = _learn_categories(derived, label_type, schema)
            if feature == "weekday":
                categories = sorted(categories, key=WEEKDAYS.index)
            out.append(Block(f"{spec.name}.{feature}", spec.name, "categorical",
                             categories=categories, rare_values=pooled, label_type=label_type,
                             derive=feature, missing=bool(dates.isna().any())))
        return out
    label_type = _category_label_type(raw)
    categories, pooled = _learn_categories(raw, label_type, schema)
    return [Block(spec.name, spec.name, "categorical", label_type=label_type, missing=gaps,
                  categories=categories, rare_values=pooled)]


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


def _learn_categories(raw: pd.Series, label_type: str, schema: TableSchema
                      ) -> tuple[list[Any], int]:
    """The kept labels (sorted) and how many distinct values go to the rare bucket."""
    labels, missing = labels_of(raw, label_type)
    counts = labels[~missing].value_counts(dropna=True)
    frequent = counts[counts >= schema.min_category_count]
    kept = sorted(frequent.index, key=lambda label: (-frequent[label], str(label)))
    kept = kept[:schema.max_categories]
    pooled = len(counts) - len(kept)
    if label_type == "int":
        return sorted(int(v) for v in kept), pooled
    if label_type == "float":
        return sorted(float(v) for v in kept), pooled
    return sorted(str(v) for v in kept), pooled


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


def _fit_numeric_scales(frame: pd.DataFrame, blocks: list[Block]) -> None:
    numeric = [b for b in blocks if b.kind == "numeric"]
    if not numeric:
        return
    columns = []
    for block in numeric:
        numbers, _ = to_numbers(frame[block.source])
        if block.log:
            with np.errstate(invalid="ignore", divide="ignore"):
                numbers = np.log1p(np.where(numbers > -1, numbers, np.nan))
        columns.append(numbers)
    matrix = np.column_stack(columns)
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


def numeric_layout(names: list[str], mean: np.ndarray, scale: np.ndarray) -> TableLayout:
    """The all-Gaussian layout of a model fitted on a plain numeric matrix."""
    return TableLayout([Block(str(name), str(name), "numeric", mean=float(m), scale=float(s),
                              label_type="float")
                        for name, m, s in zip(names, mean, scale, strict=True)])
