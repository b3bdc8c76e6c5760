"""How rows given to a fitted model map onto the columns it reads.

:class:`ModelColumns` is shared by everything that reads rows for a model from outside
Python (the command line's files, the REST server's request bodies), so that the same rows
are read the same way everywhere: the model's columns (and the id or other columns asked
for), the columns to read as text (ids, text-labelled categories, datetimes), and the
matching of names. A model fitted in Python on an unnamed array reads columns ``x0, x1,
...`` and nothing else: matching other columns by position could not be checked (a
reordered file, a row-number column in place of a feature). A column whose name differs
from the model's only by spaces around it is read as that column; one that two given
columns would match is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from latentwatch.errors import DataError, where

if TYPE_CHECKING:
    import pandas as pd


def shown(names: Sequence[Any], limit: int = 12) -> str:
    """Column names for a message: the first ``limit``, then how many in all.

    Examples
    --------
    >>> shown(["a", "b", "c"], limit=2)
    'a, b, ... (3 in all)'
    """
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit
                                       else "")


@dataclass
class ColumnPlan:
    """How the columns of the given rows map to a model's.

    Attributes
    ----------
    ids : list of str
        Id columns copied to the output.
    keep : list of str
        Other columns the caller needs (labels, a colour); never model input.
    rename : dict
        Given column -> model column (names that differ only by surrounding spaces).
    """

    ids: list[str]
    keep: list[str]
    rename: dict[str, str] = field(default_factory=dict)

    def back(self) -> dict[str, str]:
        """Model column -> given column."""
        return {model: given for given, model in self.rename.items()}


class ModelColumns:
    """The columns a fitted model reads from rows given from outside Python.

    The plan is made from the first rows :meth:`apply` sees and kept for the next ones
    (the chunks of one file, one request body).

    Parameters
    ----------
    model : fitted detector
    source : str
        Name of the rows, for messages (a file, ``<request>``).
    ids : sequence of str or None
        Id columns; ``None`` takes the model's id columns that the rows have.
    keep : sequence of str
        Further columns to keep (labels, colours); they must be present.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    >>> model = AutoEncoderDetector(max_epochs=1, random_state=0).fit(frame)
    >>> columns = ModelColumns(model, "rows.csv", ids=["key"])
    >>> columns.text_columns()
    ['key']
    >>> given = frame.assign(key="k", other=1.0).rename(columns={"b": " b "})
    >>> list(columns.apply(given).columns)
    ['key', 'a', 'b']
    >>> columns.plan.back()
    {'b': ' b '}
    """

    def __init__(self, model, source: str, *, ids: Sequence[str] | None = None,
                 keep: Sequence[str] = ()) -> None:
        self.model = model
        self.source = source
        self.asked_ids = None if ids is None else list(dict.fromkeys(ids))
        self.keep = [c for c in dict.fromkeys(keep) if c is not None]
        self.plan: ColumnPlan | None = None

    @property
    def columns(self) -> list[str]:
        """The model's input columns (its names)."""
        return list(self.model.codec_.sources)

    @property
    def ids(self) -> list[str]:
        """The id columns copied to the output (known once :meth:`apply` has run)."""
        return [] if self.plan is None else self.plan.ids

    def text_columns(self) -> list[str]:
        """Columns to read as text: the ids and the model's text-labelled columns
        (categories with text labels, the source columns of derived datetime features)."""
        ids = self.asked_ids if self.asked_ids is not None else list(
            self.model.schema_.id_columns)
        text = [b.source for b in self.model.codec_.blocks
                if b.derive is not None or (b.kind != "numeric" and b.label_type == "str")]
        return list(dict.fromkeys([*ids, *text]))

    def numeric_columns(self) -> list[str]:
        """The model's numeric columns (the usual spellings of a gap are gaps there)."""
        return [b.source for b in self.model.codec_.blocks if b.kind == "numeric"]

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` as the model reads them: the id and keep columns, then the model's
        columns under the model's names; a :class:`DataError` names the first missing
        one."""
        if self.plan is None:
            self.plan = self._plan(rows)
        if self.plan.rename:
            rows = rows.rename(columns=self.plan.rename)
        wanted = list(dict.fromkeys([*self.plan.ids, *self.plan.keep, *self.columns]))
        return rows[wanted]

    def _plan(self, first: pd.DataFrame) -> ColumnPlan:
        from latentwatch.service import RESERVED

        header = [str(c) for c in first.columns]
        present = set(header)
        model_ids = list(self.model.schema_.id_columns)
        ids = ([c for c in model_ids if c in present] if self.asked_ids is None
               else self.asked_ids)
        for kind, names in (("id column", ids), ("column", self.keep)):
            for name in names:
                if name not in present:
                    near = [c for c in header if _folded(c) == _folded(name)]
                    has = (f"; the data has {near[0]!r} (the names differ in case or "
                           "spaces)" if near else f" (it has: {shown(header)})")
                    raise DataError(where(self.source, f"{kind} {name!r} is not in the "
                                                       f"data{has}"))
        for name in ids:
            if name in RESERVED:
                raise DataError(where(self.source, f"id column {name!r} has the name of an "
                                                   "output column; rename it"))
        missing = [c for c in self.columns if c not in present]
        if not missing:
            return ColumnPlan(ids, self.keep)
        n = len(self.columns)
        if self.model.input_kind_ == "array":
            raise DataError(where(self.source, (
                f"the model was fitted on an unnamed array of {n} features, so it reads "
                f"columns x0 to x{n - 1} and cannot check which of the given columns is "
                f"which; column {missing[0]!r} is missing (the data has: {shown(header)}); "
                f"name the columns x0 to x{n - 1} in the training order, or refit on named "
                "data")))
        rename = _stripped_matches(missing, header, self.source)
        if len(rename) == len(missing):
            return ColumnPlan(ids, self.keep, rename)
        missing = [c for c in missing if c not in rename.values()]
        near = [c for c in header if _folded(c) == _folded(missing[0])]
        if near:
            raise DataError(where(self.source, (
                f"column {missing[0]!r} is missing; the data has {near[0]!r} (the names "
                f"differ in case or spaces): rename it {missing[0]!r}")))
        raise DataError(where(self.source, f"column {missing[0]!r} is missing (the model "
                                           f"reads: {shown(self.columns)})"))


def _folded(name: Any) -> str:
    """A column name compared without case and spaces."""
    return "".join(str(name).split()).casefold()


def _stripped_matches(missing: Sequence[str], header: Sequence[str], source: str
                      ) -> dict[str, str]:
    """Given column -> model column, for model columns that a given column names only
    with other spaces around it (one each; two candidates are refused)."""
    by_stripped: dict[str, list[str]] = {}
    for column in header:
        by_stripped.setdefault(column.strip(), []).append(column)
    rename = {}
    for wanted in missing:
        candidates = [c for c in by_stripped.get(str(wanted).strip(), []) if c != wanted]
        if len(candidates) > 1:
            raise DataError(where(source, f"columns {candidates[0]!r} and {candidates[1]!r} "
                                          f"both stand for the model's column {wanted!r} "
                                          "(they differ only by spaces); rename one"))
        if candidates:
            rename[candidates[0]] = wanted
    return rename


__all__ = ["ColumnPlan", "ModelColumns", "shown"]
