"""Reading and writing tables: CSV and Parquet by extension, ``-`` for stdin/stdout, and
chunked reading so that scoring a file takes memory that does not grow with it.

CSV files may be compressed (``.csv.gz``, ``.csv.bz2``, ``.csv.zip``, ``.csv.xz``,
``.csv.zst``); ``.tsv`` is tab-separated. Parquet is ``.parquet`` or ``.pq``. Errors are
:class:`~latentwatch.errors.DataError` with one line naming the file.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from latentwatch.errors import DataError

STDIO = "-"
FORMATS = ("csv", "parquet")
# Rows per chunk when streaming.
CHUNK_ROWS = 100_000
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_COMPRESSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")
# Parquet columns read into pandas' nullable types, so that gaps do not turn ints into floats.
_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
             pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(),
             pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(),
             pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}


def name_of(path: str | Path) -> str:
    """How a path is named in messages (``<stdin>``/``<stdout>`` for ``-``)."""
    return "<stdin>" if str(path) == STDIO else str(path)


def table_format(path: str | Path, fmt: str | None = None) -> str:
    """``"csv"`` or ``"parquet"``: ``fmt`` when given, else from the extension (CSV for ``-``).

    Raises
    ------
    DataError
        If the extension is not one of a CSV or Parquet file.
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise DataError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    if str(path) == STDIO:
        return "csv"
    name = Path(path).name.lower()
    for compression in _COMPRESSIONS:
        name = name.removesuffix(compression)
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    raise DataError(f"{path}: unknown file type (use .csv, .tsv or .parquet, optionally "
                    "compressed, or pass --format)")


def _separator(path: str | Path) -> str:
    return "\t" if ".tsv" in Path(str(path)).name.lower() else ","


def _check_readable(path: str | Path) -> None:
    if str(path) == STDIO:
        return
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: cannot read (permission denied)")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")


def iter_tables(
    path: str | Path,
    *,
    fmt: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    columns: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
) -> Iterator[pd.DataFrame]:
    """Read a table in chunks of at most ``chunk_rows`` rows.

    Parameters
    ----------
    path : str or Path
        A file, or ``-`` for stdin (Parquet from stdin is buffered whole: it cannot be
        read before its end).
    fmt : {"csv", "parquet"} or None
        Overrides the extension.
    chunk_rows : int
    columns : sequence of str or None
        Only these columns (all when ``None``); a missing one is an error naming it.
    text_columns : sequence of str
        CSV columns to read as text, whatever they look like (identifiers, labels).

    Yields
    ------
    pandas.DataFrame
        The next rows, with a ``RangeIndex`` counting from 0 in each chunk.

    Raises
    ------
    DataError
        Unreadable, empty or malformed file, or a missing column.
    """
    _check_readable(path)
    name = name_of(path)
    if table_format(path, fmt) == "parquet":
        yield from _parquet_chunks(path, name, chunk_rows, columns)
        return
    stdin = str(path) == STDIO
    try:
        reader = pd.read_csv(sys.stdin.buffer if stdin else path, sep=_separator(path),
                             chunksize=chunk_rows, dtype=dict.fromkeys(text_columns, "str"),
                             low_memory=False)
        with reader:
            first = True
            for chunk in reader:
                if first:
                    names = [str(c) for c in chunk.columns]
                    if columns is not None:
                        _require(columns, names, name)
                    first = False
                if columns is not None:
                    chunk = chunk[list(columns)]
                yield chunk.reset_index(drop=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{name}: empty file (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise _read_error(name, exc) from exc


def _read_error(name: str, exc: Exception) -> DataError:
    if isinstance(exc, UnicodeDecodeError):
        return DataError(f"{name}: not UTF-8 text (byte {exc.start}: {exc.reason})")
    message = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror:
        message = exc.strerror
    return DataError(f"{name}: cannot read ({message})")


def _require(columns: Sequence[str], present: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise DataError(f"{name}: column {missing[0]!r} is missing (it has: "
                        f"{', '.join(present[:20])}{' ...' if len(present) > 20 else ''})")


def _parquet_chunks(path, name: str, chunk_rows: int, columns: Sequence[str] | None
                    ) -> Iterator[pd.DataFrame]:
    try:
        source = io.BytesIO(sys.stdin.buffer.read()) if str(path) == STDIO else str(path)
        parquet = pq.ParquetFile(source)
        names = parquet.schema_arrow.names
        if columns is not None:
            _require(columns, names, name)
        if parquet.metadata.num_rows == 0:
            yield parquet.schema_arrow.empty_table().to_pandas()
            return
        for batch in parquet.iter_batches(batch_size=chunk_rows,
                                          columns=list(columns) if columns is not None else None):
            yield batch.to_pandas(types_mapper=_NULLABLE.get)
    except (pa.ArrowException, OSError, ValueError) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"{name}: not a readable Parquet file ({message})") from exc


def read_table(
    path: str | Path,
    *,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a whole table (see :func:`iter_tables`).

    Raises
    ------
    DataError
        As ``iter_tables``, and when the file has a header but no rows.
    """
    chunks = list(iter_tables(path, fmt=fmt, chunk_rows=1 << 62, columns=columns,
                              text_columns=text_columns))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    if len(frame) == 0:
        raise DataError(f"{name_of(path)}: no data rows")
    return frame


class TableWriter:
    """Write a table chunk by chunk to CSV or Parquet (by extension), or ``-`` for stdout.

    A file is written to a temporary name beside it and renamed when the writer closes
    without error, so a failed run leaves no partial output (stdout cannot be taken back).

    Parameters
    ----------
    path : str or Path
    fmt : {"csv", "parquet"} or None
    """

    def __init__(self, path: str | Path, fmt: str | None = None) -> None:
        self.path = str(path)
        self.format = table_format(path, fmt)
        self.rows = 0
        self._schema: pa.Schema | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._csv_started = False
        if self.path == STDIO and self.format == "csv":
            self._tmp = None
        else:
            directory = Path(self.path).parent if self.path != STDIO else None
            if directory is not None and not directory.is_dir():
                raise DataError(f"{self.path}: cannot write (no such directory {directory})")
            try:
                fd, self._tmp = tempfile.mkstemp(prefix=".latentwatch-", suffix=".tmp",
                                                 dir=directory)
            except OSError as exc:
                raise DataError(f"{self.path}: cannot write ({exc.strerror or exc})") from exc
            os.close(fd)

    def write(self, frame: pd.DataFrame) -> None:
        """Append rows (the first call fixes the columns)."""
        if self.format == "csv":
            target = sys.stdout if self._tmp is None else self._tmp
            mode = "a" if self._csv_started else "w"
            if self._tmp is None:
                frame.to_csv(target, index=False, header=not self._csv_started)
                sys.stdout.flush()
            else:
                frame.to_csv(target, index=False, header=not self._csv_started, mode=mode)
            self._csv_started = True
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False, schema=self._schema)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self._tmp, self._schema)
            self._parquet.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._parquet is not None:
            self._parquet.close()
        if self._tmp is None:
            return
        if self.path == STDIO:
            with open(self._tmp, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            os.unlink(self._tmp)
        else:
            os.replace(self._tmp, self.path)
        self._tmp = None

    def abort(self) -> None:
        """Drop what was written (the file keeps its previous contents, if any)."""
        if self._parquet is not None:
            self._parquet.close()
        if self._tmp is not None and os.path.exists(self._tmp):
            os.unlink(self._tmp)
        self._tmp = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
