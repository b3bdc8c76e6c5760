"""What the estimator needs of a codec: the :class:`Codec` protocol, capabilities stated.

Both :class:`~latentwatch.data.codec.TableCodec` and
:class:`~latentwatch.data.windows.WindowCodec` satisfy it, so the estimator, the engine
and the outputs call these members without asking which kind of data they hold: a table
has no context rows, decodes, trains on its rows as they are and scales no score; a
series needs ``W - 1`` rows before a chunk, does not decode, adds partial windows to
training and scales a partial window's score to a full window's.

>>> import pandas as pd
>>> from latentwatch.data.codec import TableCodec
>>> isinstance(TableCodec().fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]})), Codec)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from latentwatch.data.blocks import Block, CodecShape
from latentwatch.data.problems import Encoded


@runtime_checkable
class Codec(Protocol):
    """A fitted codec as the estimator uses it.

    Attributes
    ----------
    kind : str
        The data kind written in the model file (``"table"``, ``"window"``).
    context_rows : int
        Usable rows a chunk needs from before it (``W - 1`` for windows, 0 for tables):
        encoding a chunk with that many rows of ``context`` gives the rows of the whole.
    can_decode : bool
        Whether :meth:`decode` writes rows of the data (False for windows: it refuses).
    shape : CodecShape
        The widths a network over the codec needs.
    names : list of str
        The blocks' names, in packed order.
    sources : list of str
        The data columns the codec reads.
    packed_width : int
        Width of an encoded row.
    blocks : list of Block
        The modelled entries, in packed order (what the heads read).
    column_blocks : list of Block
        The blocks that describe the data's columns (a series: one per channel).
    """

    kind: str
    context_rows: int
    can_decode: bool

    @property
    def shape(self) -> CodecShape: ...

    @property
    def names(self) -> list[str]: ...

    @property
    def packed_width(self) -> int: ...

    @property
    def blocks(self) -> list[Block]: ...

    @property
    def column_blocks(self) -> list[Block]: ...

    sources: list[str]

    def fit(self, frame: pd.DataFrame, source: str | None = None) -> Codec:
        """Learn from training rows; returns the codec."""

    def encode(self, frame: pd.DataFrame, source: str | None = None, keep_shown: bool = False,
               context: pd.DataFrame | None = None) -> Encoded:
        """Packed rows of ``frame`` (``context``: rows before it, see ``context_rows``)."""

    def decode(self, values: np.ndarray, missing: np.ndarray | None = None,
               rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Model-space values to rows of the data (refuses when not ``can_decode``)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form :func:`latentwatch.data.codec_from_dict` reads back."""

    def training_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The packed rows a model trains on, given the training rows (windows add
        partial windows; a table returns ``rows``)."""

    def block_weights(self, rows: np.ndarray) -> np.ndarray | None:
        """Weights ``(n, n_blocks)`` of the per-block parts in a row's score (``score =
        sum(parts * weights)``; windows: the newest steps only), or None: every part
        counts once."""

    def rows_per_chunk(self, chunk_rows: int) -> int:
        """Rows of a streamed chunk that keep its packed rows within bounded memory."""
