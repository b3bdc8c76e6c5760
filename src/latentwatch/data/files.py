"""The files of a table on disk and the pieces they are read in: the one file planning
of the streamed fit (:class:`~latentwatch.data.dataset.TableDataset`) and the Dask
adapter (:mod:`latentwatch.distributed`).

A folder, a glob or a list of them names an ordered list of files of one format
(:func:`resolve_files`); a file is cut into *pieces*, a Parquet row group or a chunk of a
CSV file (:func:`plan_pieces`); every row has a global index, its position in the files
taken in order.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from latentwatch.data.io import (
    _NULLABLE,
    CHUNK_ROWS,
    _check_header,
    _require,
    iter_tables,
    table_format,
)
from latentwatch.errors import DataError

_GLOB = set("*?[")


def resolve_files(paths: str | os.PathLike | Sequence[str | os.PathLike],
                  fmt: str | None = None) -> tuple[list[Path], str]:
    """The files of a dataset, in order, and their format.

    A folder gives its Parquet or CSV files (not recursing, hidden files and names
    starting with ``_`` skipped); a glob (``data/*.parquet``, ``logs/**/*.csv``) its
    matches; a file itself; a list, the files of each item in turn (a file named twice is
    read once). Paths are sorted within each item, so the global row order does not depend
    on the file system.

    Raises
    ------
    DataError
        When an item names nothing, or the files mix formats without ``fmt``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(f"{folder}/a.parquet")
    >>> files, fmt = resolve_files(folder)
    >>> [f.name for f in files], fmt
    (['a.parquet'], 'parquet')
    >>> resolve_files([])
    Traceback (most recent call last):
    ...
    latentwatch.errors.DataError: no input files given
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise DataError("no input files given")
    found = list(dict.fromkeys(p for item in items for p in _files_of(str(item), fmt)))
    text = str(items[0]) if len(items) == 1 else f"the {len(items)} inputs"
    kinds = {p: _table_kind(p) if fmt is None else fmt for p in found}
    unknown = [p for p, kind in kinds.items() if kind is None]
    if unknown:
        raise DataError(f"{unknown[0]}: unknown file type among the files of {text} (use .csv "
                        "or .parquet, or pass the format)")
    formats = sorted(set(kinds.values()))
    if len(formats) > 1:
        first = {k: next(p for p, v in kinds.items() if v == k) for k in formats}
        raise DataError(f"{text}: mixes {formats[0]} ({first[formats[0]]}) and {formats[1]} "
                        f"({first[formats[1]]}) files; give one format (e.g. a glob *.parquet)")
    return found, formats[0]


def _files_of(text: str, fmt: str | None) -> list[Path]:
    """The files one folder, glob or file names, sorted; refuses one that names none."""
    if os.path.isdir(text):
        found = [Path(text, name) for name in sorted(os.listdir(text))
                 if not name.startswith((".", "_")) and os.path.isfile(os.path.join(text, name))]
        found = [p for p in found if _table_kind(p) is not None] if fmt is None else found
        what = f"{text}: a folder with no Parquet or CSV files"
    elif _GLOB & set(text):
        found = [Path(p) for p in sorted(glob.glob(text, recursive=True)) if os.path.isfile(p)]
        what = f"{text}: no file matches"
    else:
        found = [Path(text)] if os.path.isfile(text) else []
        what = f"{text}: no such file or folder"
    if not found:
        raise DataError(what)
    return found


def _table_kind(path: Path) -> str | None:
    try:
        return table_format(path)
    except DataError:
        return None


@dataclass(frozen=True)
class Piece:
    """A part of the files read at once: a Parquet row group or a CSV chunk.

    Attributes
    ----------
    file : int
        Index into the list of files.
    part : int
        Row group (Parquet) or chunk number (CSV) in the file.
    start : int
        Global index of its first row (rows of all files counted in order from 0).
    rows : int
    first_row : int
        Its first row's number in its file, from 1 (as messages name rows).
    """

    file: int
    part: int
    start: int
    rows: int
    first_row: int


def plan_pieces(files: Sequence[str | Path], fmt: str, *, chunk_rows: int = CHUNK_ROWS,
                text_columns: Sequence[str] = ()) -> list[Piece]:
    """The pieces of ``files`` in order, empty ones left out: each Parquet row group
    (read from the metadata), or each chunk of ``chunk_rows`` rows of a CSV file (which
    parses the file once).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> path = f"{tempfile.mkdtemp()}/a.parquet"
    >>> pd.DataFrame({"x": range(5)}).to_parquet(path, row_group_size=2)
    >>> [(p.part, p.start, p.rows, p.first_row) for p in plan_pieces([path], "parquet")]
    [(0, 0, 2, 1), (1, 2, 2, 3), (2, 4, 1, 5)]
    """
    pieces: list[Piece] = []
    start = 0
    for k, path in enumerate(files):
        if fmt == "parquet":
            sizes = row_group_sizes(path)
        else:
            sizes = [len(c) for c in iter_tables(path, fmt="csv", chunk_rows=chunk_rows,
                                                 text_columns=text_columns)]
        first = 1
        for part, rows in enumerate(sizes):
            if rows:
                pieces.append(Piece(k, part, start, rows, first))
            start += rows
            first += rows
    return pieces


def row_group_sizes(path: str | Path) -> list[int]:
    """The row count of each row group of a Parquet file (from its metadata)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(str(path)).metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())})"
                        ) from exc
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def read_row_groups(path: str | Path, row_groups: Sequence[int] | None,
                    columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Row groups of a Parquet file (all with ``None``) read as
    :func:`~latentwatch.data.io.iter_tables` reads them: integers and booleans with gaps
    in pandas' nullable types; a column named twice, or a missing one, refused.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> path = f"{tempfile.mkdtemp()}/a.parquet"
    >>> pd.DataFrame({"x": range(5)}).to_parquet(path, row_group_size=2)
    >>> read_row_groups(path, [1, 2])["x"].tolist()
    [2, 3, 4]
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(str(path))
        names = parquet.schema_arrow.names
        _check_header(names, str(path))
        if columns is not None:
            _require(columns, names, str(path))
        groups = range(parquet.num_row_groups) if row_groups is None else row_groups
        table = parquet.read_row_groups(list(groups),
                                        columns=None if columns is None else list(columns))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file "
                        f"({' '.join(str(exc).split())})") from exc
    return table.to_pandas(types_mapper=_NULLABLE.get)
