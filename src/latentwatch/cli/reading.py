"""The command line's data boundary: the one model loader, the one reader of model input,
the training-table reader and schema rule, row selectors, and the writers.

Every command that reads DATA for a model reads it through :class:`ModelInput`: the
columns of :class:`latentwatch.model_input.ModelColumns` (the model's, and the id, label
or colour columns asked for; text-labelled columns read as text; the same reading as the
REST server's), every value checked with the file named in the message.

Every file written goes to a temporary name beside it and is renamed when complete
(:func:`latentwatch.atomic.replace_atomically`), with the mode a new file gets under
the user's umask.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentwatch.cli.options import STDIO
from latentwatch.errors import DataError, where
from latentwatch.model_input import ModelColumns, shown

if TYPE_CHECKING:
    import pandas as pd

    from latentwatch.data.io import ReadOptions


def name_of(path: str | Path) -> str:
    """How a path is named in messages (``<stdin>`` for ``-``)."""
    return "<stdin>" if str(path) == STDIO else str(path)


# -- models ------------------------------------------------------------------------------
def sign_key_of(path: str | None):
    """The private key of ``--sign-key`` (None without one): a bad key file is refused
    before any work."""
    if path is None:
        return None
    from latentwatch.signing import private_key

    return private_key(path)


def load_model(path: str | Path, device: str | None = None, verify_key: str | None = None):
    """The one model loader of the command line (:func:`latentwatch.load`); with
    ``verify_key`` (``--verify-key``) an unsigned or wrongly signed file is refused."""
    from latentwatch.detector import load

    return load(path, device=device, verify_key=verify_key)


def read_options(decimal: str = ".", thousands: str | None = None,
                 encoding: str = "utf-8") -> ReadOptions:
    """``--decimal``, ``--thousands`` and ``--encoding`` as the reader takes them
    (refused in one line when they do not make sense)."""
    from latentwatch.data.io import ReadOptions

    try:
        return ReadOptions(decimal=decimal, thousands=thousands, encoding=encoding)
    except DataError as exc:
        raise DataError(f"--{exc}") from None


# -- model input ---------------------------------------------------------------------------
class ModelInput(ModelColumns):
    """DATA as a fitted model reads it (see the module docstring): the columns of
    :class:`latentwatch.model_input.ModelColumns`, read from a file.

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
    options : ReadOptions or None
        Decimal mark, thousands separator and encoding of a CSV file.
    """

    def __init__(self, model, data: str | Path, *, fmt: str | None = None,
                 ids: Sequence[str] | None = None, keep: Sequence[str] = (),
                 options: ReadOptions | None = None) -> None:
        super().__init__(model, name_of(data), ids=ids, keep=keep)
        self.data = data
        self.fmt = fmt
        self.options = options

    def chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        """DATA in chunks of at most ``chunk_rows`` rows (values not checked)."""
        from latentwatch.data.io import iter_tables

        for chunk in iter_tables(self.data, fmt=self.fmt, chunk_rows=chunk_rows,
                                 text_columns=self.text_columns(),
                                 numeric_columns=self.numeric_columns(),
                                 options=self.options):
            yield self.apply(chunk)

    def read(self, check: bool = True) -> pd.DataFrame:
        """All of DATA: ids, keep columns and the model's columns; with ``check``, a bad
        value is a :class:`DataError` naming the file, the rows and the column."""
        from latentwatch.data.io import read_table

        frame = self.apply(read_table(self.data, fmt=self.fmt,
                                      text_columns=self.text_columns(),
                                      numeric_columns=self.numeric_columns(),
                                      options=self.options))
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


# -- training data -----------------------------------------------------------------------
# Fewest rows a training table may have.
MIN_TRAINING_ROWS = 2


def read_training(data: str | Path, fmt: str | None, ids: Sequence[str],
                  schema_file: str | None, options: ReadOptions | None = None
                  ) -> pd.DataFrame:
    """The training table, with the id columns (also the schema file's) read as text;
    one with fewer than :data:`MIN_TRAINING_ROWS` rows is refused, naming the file."""
    from latentwatch.data.io import read_table
    from latentwatch.data.schema import read_schema_file

    text = list(ids)
    if schema_file not in (None, "infer"):
        text += list(read_schema_file(schema_file).get("id_columns", []))
    frame = read_table(data, fmt=fmt, text_columns=text, options=options)
    if len(frame) < MIN_TRAINING_ROWS:
        raise DataError(f"{name_of(data)}: {len(frame)} data row; training needs at least "
                        f"{MIN_TRAINING_ROWS} (hundreds for a useful model)")
    return frame


def index_columns(frame: pd.DataFrame, ids: Sequence[str], exclude: Sequence[str],
                  schema_file: str | None) -> list[str]:
    """Columns of row numbers (:func:`latentwatch.data.schema.index_like_columns`) not
    already named by ``-i``, ``-x`` or the schema file: ``fit`` sets them aside as ids."""
    from latentwatch.data.schema import index_like_columns, read_schema_file

    named = {*ids, *exclude}
    if schema_file not in (None, "infer"):
        given = read_schema_file(schema_file)
        named |= {*given.get("columns", {}), *given.get("id_columns", []),
                  *given.get("exclude", [])}
    return [c for c in index_like_columns(frame) if c not in named]


def fit_notes(schema, index_ids: Sequence[str]) -> list[str]:
    """What ``fit`` says even when quiet: row-number columns set aside, slash dates read
    day-first although they read either way, numbers left unread for their format."""
    from latentwatch.data.schema import AMBIGUOUS_DATES

    notes = [f"column {name!r} holds row numbers (distinct increasing integers): set aside "
             "as an id, not modelled; pass --model-index to model it" for name in index_ids]
    for column in schema.columns:
        if column.kind == "datetime" and column.note.startswith(AMBIGUOUS_DATES):
            notes.append(f"column {column.name!r}: slash dates read day-first "
                         f"({column.format}); {column.note.split('(', 1)[1].split(')')[0]}")
    for name, reason in schema.excluded:
        if "--decimal" in reason or "--thousands" in reason:
            notes.append(f"column {name!r} is not modelled: {reason}")
    return notes


def training_schema(frame: pd.DataFrame, *, ids: Sequence[str] = (),
                    exclude: Sequence[str] = (), schema: str | None = None,
                    max_categories: int | None = None, source: str | None = None,
                    date_format: str | None = None):
    """The ``schema`` argument that gives the model Python gives for the same table.

    The rule: id and excluded columns are set aside first; the remaining columns then
    follow the Python rule of ``VAEDetector(schema=None)``: all numeric -> a numeric
    matrix (every column a Gaussian, gaps masked), else an inferred schema. ``schema``
    ``"infer"`` infers every column; a schema file overrides the inference for the
    columns it names. ``date_format`` reads the text dates of the inferred columns.

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
                                              f"{shown(frame.columns)})"))
    if (not ids and not exclude and max_categories is None and date_format is None
            and schema in (None, "infer")):
        return schema
    overrides: dict[str, Any] = {}
    if schema not in (None, "infer"):
        from latentwatch.data.schema import read_schema_file

        overrides = dict(read_schema_file(schema))
    if date_format is not None:
        if "%" not in date_format:
            raise DataError(f"--date-format {date_format!r}: expected a strftime format "
                            "such as %m/%d/%Y or %d.%m.%Y %H:%M")
        overrides["date_format"] = date_format
    overrides["id_columns"] = list(dict.fromkeys([*overrides.get("id_columns", []), *ids]))
    overrides["exclude"] = list(dict.fromkeys([*overrides.get("exclude", []), *exclude]))
    if max_categories is not None:
        overrides["max_categories"] = max_categories
    if schema == "infer":
        from latentwatch.data.schema import infer_schema

        return infer_schema(frame, overrides=overrides, source=source)
    return overrides


def window_steps(text: str | None) -> int | str:
    """The ``--window`` of a time series: a number of steps (2 or more) or ``"auto"``.

    Examples
    --------
    >>> window_steps("24"), window_steps(None)
    (24, 'auto')
    """
    if text is None or text == "auto":
        return "auto"
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 2:
        raise DataError(f"--window {text!r}: expected a number of steps (2 or more) or auto")
    return number


def refuse_table_options(schema_file: str | None, max_categories: int | None) -> None:
    """Refuse ``--schema`` and ``--max-categories`` for a time series (``--time-column``,
    ``--window``), whose channels are all read as numbers."""
    if schema_file is not None or max_categories is not None:
        raise DataError("--schema and --max-categories read tables; a time series "
                        "(--time-column, --window) reads every channel as a number")


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
    from latentwatch.atomic import write_bytes as write_atomically

    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise DataError(f"{path}: cannot write (no such directory {directory})")
    return write_atomically(path, data)


def write_text(path: str | Path, text: str) -> Path:
    """:func:`write_bytes` of UTF-8 text."""
    return write_bytes(path, text.encode("utf-8"))
