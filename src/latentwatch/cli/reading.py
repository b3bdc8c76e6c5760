"""The command line's data boundary: the one model loader, the one reader of model input,
the training-table reader and schema rule, row selectors, and the writers.

Every command that reads DATA for a model reads it through :class:`ModelInput`: the
model's columns (and the id, label or colour columns asked for), text-labelled columns
read as text, every value checked with the file named in the message. A model fitted
in Python on an unnamed array reads columns ``x0, x1, ...`` and nothing else: matching
other columns by position could not be checked (a reordered file, a row-number column
in place of a feature). A column whose name differs from the model's only by spaces
around it is read as that column; one that two file columns would match is refused.

Every file written goes to a temporary name beside it and is renamed when complete
(:func:`latentwatch.atomic.replace_atomically`), with the mode a new file gets under
the user's umask.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentwatch.cli.options import STDIO
from latentwatch.errors import DataError, where

if TYPE_CHECKING:
    import pandas as pd


def name_of(path: str | Path) -> str:
    """How a path is named in messages (``<stdin>`` for ``-``)."""
    return "<stdin>" if str(path) == STDIO else str(path)


def _shown(names: Sequence[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit
                                       else "")


# -- models ------------------------------------------------------------------------------
def load_model(path: str | Path, device: str | None = None):
    """The one model loader of the command line (:func:`latentwatch.load`)."""
    from latentwatch.detector import load

    return load(path, device=device)


# -- model input ---------------------------------------------------------------------------
@dataclass
class ColumnPlan:
    """How the columns of a file map to a model's.

    Attributes
    ----------
    ids : list of str
        Id columns copied to the output.
    keep : list of str
        Other columns the command needs (labels, a colour); never model input.
    rename : dict
        File column -> model column (a model fitted on an unnamed array).
    """

    ids: list[str]
    keep: list[str]
    rename: dict[str, str] = field(default_factory=dict)

    def back(self) -> dict[str, str]:
        """Model column -> file column."""
        return {model: file for file, model in self.rename.items()}


class ModelInput:
    """DATA as a fitted model reads it (see the module docstring).

    A model fitted on an unnamed array reads columns ``x0, x1, ...`` (and refuses a file
    without them).

    Parameters
    ----------
    model : fitted detector
    data : str or Path
        The file, or ``-`` for stdin.
    fmt : {"csv", "parquet"} or None
    ids : sequence of str or None
        Id columns; ``None`` takes the model's id columns that DATA has.
    keep : sequence of str
        Further columns to read (labels, colours); they must be present.
    """

    def __init__(self, model, data: str | Path, *, fmt: str | None = None,
                 ids: Sequence[str] | None = None, keep: Sequence[str] = ()) -> None:
        self.model = model
        self.data = data
        self.source = name_of(data)
        self.fmt = fmt
        self.asked_ids = None if ids is None else list(dict.fromkeys(ids))
        self.keep = [c for c in dict.fromkeys(keep) if c is not None]
        self.plan: ColumnPlan | None = None

    @property
    def columns(self) -> list[str]:
        """The model's input columns (its names)."""
        return list(self.model.codec_.sources)

    @property
    def ids(self) -> list[str]:
        return [] if self.plan is None else self.plan.ids

    def _text_columns(self) -> list[str]:
        """Columns read as text: ids, keep columns and the model's text-labelled ones."""
        ids = self.asked_ids if self.asked_ids is not None else list(
            self.model.schema_.id_columns)
        text = [b.source for b in self.model.codec_.blocks
                if b.derive is not None or (b.kind != "numeric" and b.label_type == "str")]
        return list(dict.fromkeys([*ids, *text]))

    def _plan(self, first: pd.DataFrame) -> ColumnPlan:
        header = [str(c) for c in first.columns]
        present = set(header)
        model_ids = list(self.model.schema_.id_columns)
        ids = ([c for c in model_ids if c in present] if self.asked_ids is None
               else self.asked_ids)
        for kind, names in (("id column", ids), ("column", self.keep)):
            for name in names:
                if name not in present:
                    raise DataError(where(self.source, f"{kind} {name!r} is not in the data "
                                                       f"(it has: {_shown(header)})"))
        from latentwatch.service import RESERVED

        for name in ids:
            if name in RESERVED:
                raise DataError(where(self.source, f"id column {name!r} has the name of an "
                                                   "output column; rename it"))
        missing = [c for c in self.columns if c not in present]
        if not missing:
            return ColumnPlan(ids, self.keep)
        n = len(self.columns)
        if getattr(self.model, "input_kind_", "frame") == "array":
            raise DataError(where(self.source, (
                f"the model was fitted on an unnamed array of {n} features, so it reads "
                f"columns x0 to x{n - 1} and cannot check which of the file's columns is "
                f"which; column {missing[0]!r} is missing (the file has: {_shown(header)}); "
                f"name the columns x0 to x{n - 1} in the training order, or refit on named "
                "data")))
        rename = _stripped_matches(missing, header, self.source)
        if len(rename) == len(missing):
            return ColumnPlan(ids, self.keep, rename)
        missing = [c for c in missing if c not in rename.values()]
        raise DataError(where(self.source, f"column {missing[0]!r} is missing (the model "
                                           f"reads: {_shown(self.columns)})"))

    def _apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if self.plan is None:
            self.plan = self._plan(chunk)
        if self.plan.rename:
            chunk = chunk.rename(columns=self.plan.rename)
        wanted = list(dict.fromkeys([*self.plan.ids, *self.plan.keep, *self.columns]))
        return chunk[wanted]

    def _numeric_columns(self) -> list[str]:
        """The model's numeric columns (the usual spellings of a gap are gaps there)."""
        return [b.source for b in self.model.codec_.blocks if b.kind == "numeric"]

    def chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        """DATA in chunks of at most ``chunk_rows`` rows (values not checked)."""
        from latentwatch.data.io import iter_tables

        for chunk in iter_tables(self.data, fmt=self.fmt, chunk_rows=chunk_rows,
                                 text_columns=self._text_columns(),
                                 numeric_columns=self._numeric_columns()):
            yield self._apply(chunk)

    def read(self, check: bool = True) -> pd.DataFrame:
        """All of DATA: ids, keep columns and the model's columns; with ``check``, a bad
        value is a :class:`DataError` naming the file, the rows and the column."""
        from latentwatch.data.io import read_table

        frame = self._apply(read_table(self.data, fmt=self.fmt,
                                       text_columns=self._text_columns(),
                                       numeric_columns=self._numeric_columns()))
        if check:
            self.check(frame)
        return frame

    def check(self, frame: pd.DataFrame) -> None:
        """Refuse rows the model cannot read, naming the file's column."""
        encoded = self.model.codec_.encode(frame, source=self.source)
        if encoded.problems:
            back = self.plan.back() if self.plan is not None else {}
            for problem in encoded.problems:
                problem.column = back.get(problem.column, problem.column)
            encoded.raise_for_problems(self.source)

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns of a frame from :meth:`read`."""
        return frame[self.columns]


def _stripped_matches(missing: Sequence[str], header: Sequence[str], source: str
                      ) -> dict[str, str]:
    """File column -> model column, for model columns that a file column names only with
    other spaces around it (one each; two candidates are refused)."""
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


# -- training data -----------------------------------------------------------------------
def read_training(data: str | Path, fmt: str | None, ids: Sequence[str],
                  schema_file: str | None) -> pd.DataFrame:
    """The training table, with the id columns (also the schema file's) read as text."""
    from latentwatch.data.io import read_table
    from latentwatch.data.schema import read_schema_file

    text = list(ids)
    if schema_file not in (None, "infer"):
        text += list(read_schema_file(schema_file).get("id_columns", []))
    return read_table(data, fmt=fmt, text_columns=text)


def training_schema(frame: pd.DataFrame, *, ids: Sequence[str] = (),
                    exclude: Sequence[str] = (), schema: str | None = None,
                    max_categories: int | None = None, source: str | None = None):
    """The ``schema`` argument that gives the model Python gives for the same table.

    The rule: id and excluded columns are set aside first; the remaining columns then
    follow the Python rule of ``VAEDetector(schema=None)``: all numeric -> a numeric
    matrix (every column a Gaussian, gaps masked), else an inferred schema. ``schema``
    ``"infer"`` infers every column; a schema file overrides the inference for the
    columns it names.

    Returns
    -------
    None, dict or TableSchema
        ``None`` when nothing is asked (exactly Python's default).
    """
    ids, exclude = list(dict.fromkeys(ids)), list(dict.fromkeys(exclude))
    for kind, names in (("id column", ids), ("excluded column", exclude)):
        for name in names:
            if name not in frame.columns:
                raise DataError(where(source, f"{kind} {name!r} is not in the data (it has: "
                                              f"{_shown(frame.columns)})"))
    if not ids and not exclude and max_categories is None and schema in (None, "infer"):
        return schema
    overrides: dict[str, Any] = {}
    if schema not in (None, "infer"):
        from latentwatch.data.schema import read_schema_file

        overrides = dict(read_schema_file(schema))
    overrides["id_columns"] = list(dict.fromkeys([*overrides.get("id_columns", []), *ids]))
    overrides["exclude"] = list(dict.fromkeys([*overrides.get("exclude", []), *exclude]))
    if max_categories is not None:
        overrides["max_categories"] = max_categories
    if schema == "infer":
        from latentwatch.data.schema import infer_schema

        return infer_schema(frame, overrides=overrides, source=source)
    return overrides


# -- row selectors -------------------------------------------------------------------------
MAX_ROWS_PICKED = 100_000


def parse_rows(text: str, option: str = "--rows", limit: int = MAX_ROWS_PICKED) -> list[int]:
    """``"3,17,40-45"`` -> ``[3, 17, 40, ..., 45]``: row numbers from 1 (after the header).

    At most ``limit`` rows may be picked; the count is checked before any list is built.
    """
    spans: list[tuple[int, int]] = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                low, high = (int(v) for v in part.split("-", 1))
                if high < low:
                    raise ValueError
            else:
                low = high = int(part)
            spans.append((low, high))
    except ValueError:
        raise DataError(f"{option} {text!r}: expected row numbers and ranges like 3,17,40-45"
                        ) from None
    if not spans or min(low for low, _ in spans) < 1:
        raise DataError(f"{option} {text!r}: rows count from 1, the first row after the "
                        "header")
    if sum(high - low + 1 for low, high in spans) > limit:
        raise DataError(f"{option} {text!r}: picks more than {limit:,} rows; pick fewer")
    return sorted({row for low, high in spans for row in range(low, high + 1)})


def check_row(number: int, n_rows: int, option: str, source: str) -> int:
    """The position (from 0) of row ``number`` (from 1), refusing one past the end."""
    if not 1 <= number <= n_rows:
        raise DataError(f"{source}: {option} {number} is outside the data: it has rows 1 to "
                        f"{n_rows:,} (counted from 1 after the header)")
    return number - 1


# -- writing -------------------------------------------------------------------------------
def default_model_path(data: str) -> Path:
    """``DATA``'s name with its table extensions replaced by ``.lwm`` (``sales.2023.csv``
    -> ``sales.2023.lwm``, ``.hidden.csv.gz`` -> ``.hidden.lwm``; ``model.lwm`` for
    stdin), in the working directory."""
    if data == STDIO:
        return Path("model.lwm")
    name = Path(data).name
    lowered = name.lower()
    for suffix in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        if lowered.endswith(suffix):
            name, lowered = name[:-len(suffix)], lowered[:-len(suffix)]
            break
    for suffix in (".csv", ".tsv", ".txt", ".parquet", ".pq"):
        if lowered.endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
            break
    return Path((name or "model") + ".lwm")


def check_out(out: str | Path | None, *inputs: str | Path | None,
              option: str = "--out") -> None:
    """Refuse an output path that is one of the inputs (symbolic links resolved), so that
    no command overwrites the data it reads."""
    if out is None or str(out) == STDIO:
        return
    target = os.path.realpath(out)
    for given in inputs:
        if given is None or str(given) == STDIO:
            continue
        same = os.path.realpath(given) == target
        if not same and os.path.exists(out) and os.path.exists(given):
            try:
                same = os.path.samefile(out, given)
            except OSError:
                same = False
        if same:
            raise DataError(f"{option} {out}: is the input file {given}; write the output "
                            "to another file")


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> None:
    """Write a table (CSV or Parquet by extension; ``-``: CSV on stdout), atomically."""
    from latentwatch.data.io import TableWriter

    with TableWriter(path, fmt) as writer:
        writer.write(frame)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, with the user's umask; ``-`` is stdout."""
    import sys

    if str(path) == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return Path(path)
    from latentwatch.atomic import replace_atomically, temp_file

    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise DataError(f"{path}: cannot write (no such directory {directory})")
    tmp = temp_file(directory)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        replace_atomically(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """:func:`write_bytes` of UTF-8 text."""
    return write_bytes(path, text.encode("utf-8"))
