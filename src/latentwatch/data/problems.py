"""Values a codec cannot encode: :class:`Problem`, their one-line description, and the
:class:`Encoded` rows that carry them.

>>> problems = [Problem(3, "amount", "abc", "'abc' is not a number")]
>>> describe_problems(problems)
"1 row cannot be used: row 4, column 'amount': 'abc' is not a number"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.errors import DataError, where

# At most this many offending rows are quoted in a message.
QUOTED_PROBLEMS = 5
# Why a gap the model never saw in training cannot be scored.
UNSEEN_GAP = ("is missing, but was never missing in training, so the model has no "
              "likelihood for the gap (fill it, or refit on data with gaps there)")


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

