"""What a codec is made of: its blocks (one per modelled column or derived feature),
the datetime columns it writes again, and the packed-row layout both codecs share.

A :class:`PackedLayout` is computed from the blocks alone: where each block's inputs,
target and observed flag sit in a packed row, and where its logits sit in a decoder's
output. The table codec and the window codec both hold one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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



class PackedLayout:
    """Where every block sits in a packed row and in a decoder's logits.

    Packed rows are ``[ encoder inputs (input_width) | targets (n_blocks) | observed
    (n_blocks) ]``; encoder inputs are every block's value (``width`` each) then one
    missingness indicator per block with modelled gaps. Logits are every categorical
    block's categories, then one per boolean, then one per block with modelled gaps.

    Parameters
    ----------
    blocks : list of Block

    Examples
    --------
    >>> layout = PackedLayout([Block("x", "x", "numeric", missing=True),
    ...                        Block("c", "c", "categorical", categories=["a", "b"])])
    >>> layout.input_width, layout.n_logits, layout.packed_width
    (5, 4, 9)
    """

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = list(blocks)
        self.names = [b.name for b in self.blocks]
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
        widths = [self.blocks[i].width for i in self.categorical]
        self.logit_start = np.cumsum([0, *widths])[:-1].astype(int)
        n_category_logits = int(sum(widths))
        self.boolean_logits = n_category_logits + np.arange(len(self.boolean))
        self.missing_logits = n_category_logits + len(self.boolean) + np.arange(
            len(self.with_missing))
        self.n_logits = n_category_logits + len(self.boolean) + len(self.with_missing)
        self.packed_width = self.input_width + 2 * self.n_blocks

    @property
    def shape(self) -> CodecShape:
        """The widths a network over these blocks needs."""
        return CodecShape(self.input_width, len(self.numeric), self.n_logits, self.n_blocks)


class LaidOut:
    """The layout's attributes read on a codec (``codec.blocks``, ``codec.n_blocks``...):
    what the heads, the models and the engine read, the same for tables and windows."""

    layout: PackedLayout | None = None

    def is_fitted(self) -> bool:
        """Whether the codec has its blocks."""
        return self.layout is not None

    def _laid_out(self) -> PackedLayout:
        if self.layout is None:
            raise AttributeError(f"this {type(self).__name__} is not fitted yet: call fit first")
        return self.layout

    blocks = property(lambda self: self._laid_out().blocks)
    names = property(lambda self: self._laid_out().names)
    numeric = property(lambda self: self._laid_out().numeric)
    categorical = property(lambda self: self._laid_out().categorical)
    boolean = property(lambda self: self._laid_out().boolean)
    with_missing = property(lambda self: self._laid_out().with_missing)
    input_start = property(lambda self: self._laid_out().input_start)
    n_values = property(lambda self: self._laid_out().n_values)
    input_width = property(lambda self: self._laid_out().input_width)
    n_blocks = property(lambda self: self._laid_out().n_blocks)
    logit_start = property(lambda self: self._laid_out().logit_start)
    boolean_logits = property(lambda self: self._laid_out().boolean_logits)
    missing_logits = property(lambda self: self._laid_out().missing_logits)
    n_logits = property(lambda self: self._laid_out().n_logits)
    packed_width = property(lambda self: self._laid_out().packed_width)
    shape = property(lambda self: self._laid_out().shape,
                     doc="The widths a network over this codec needs.")
