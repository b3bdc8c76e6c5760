"""Reading and writing tables: CSV and Parquet by extension, ``-`` for stdin/stdout, and
chunked reading so that scoring a file takes memory that does not grow with it.

CSV files may be compressed (``.csv.gz``, ``.csv.bz2``, ``.csv.zip``, ``.csv.xz``,
``.csv.zst``). Their separator is read from the header and the lines after it (see
:func:`sniff_delimiter`): ``,`` by default, tab for ``.tsv``, and ``;``, tab or ``|`` when
that is what the file uses. Parquet is ``.parquet`` or ``.pq``. Errors are
:class:`~latentwatch.errors.DataError` with one line naming the file.

What a CSV file holds is taken literally:

* a row with fewer (or more) fields than the header is refused, naming the row (a
  short row is not read as a row with gaps); so is a header with a name twice;
* only an empty field is missing in a text column: ``NA`` (Namibia), ``None`` or
  ``null`` are values. In a column whose other values are all numbers, the usual
  spellings of a gap (:data:`NA_TOKENS`: ``NA``, ``N/A``, ``NaN``, ``null``, ...) are
  gaps, as R and spreadsheets write them;
* stdin is spooled to a temporary file first (deleted at once), so that it is checked
  like a file.

Outputs are written atomically (:mod:`latentwatch.atomic`): to a temporary file beside
the target, renamed when complete.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from latentwatch.atomic import replace_atomically, temp_file
from latentwatch.errors import DataError

STDIO = "-"
FORMATS = ("csv", "parquet")
# Rows per chunk when streaming.
CHUNK_ROWS = 100_000
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_COMPRESSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")
# Separators a CSV file may use, and how much of it is read to tell which.
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 20
_SNIFF_BYTES = 1 << 20
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# Spellings of a gap in a numeric column (pandas' default na_values): in a column with
# any value that is not a number they are text (``NA`` is Namibia's country code).
NA_TOKENS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                       "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                       "nan", "null"})
# pyarrow's block for the field-count check: a record must fit in one.
_CHECK_BLOCK = 1 << 26
# Parquet columns read into pandas' nullable types, so that gaps do not turn ints into floats.
_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
             pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(),
             pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(),
             pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}


# The first bytes of files that are not CSV text, and what they are.
MAGIC = ((b"PAR1", "a Parquet file", "name it .parquet or pass --format parquet"),
         (b"\x1f\x8b", "gzip-compressed", "name it .csv.gz"),
         (b"BZh", "bzip2-compressed", "name it .csv.bz2"),
         (b"\xfd7zXZ\x00", "xz-compressed", "name it .csv.xz"),
         (b"PK\x03\x04", "a zip archive", "name it .csv.zip"),
         (b"\x28\xb5\x2f\xfd", "zstd-compressed", "name it .csv.zst"))
# Currency signs a number may carry in a CSV file ("$1,300.00", "135,25 €").
CURRENCY = "$€£¥₹₽₩¢"


@dataclass(frozen=True)
class ReadOptions:
    """How the text of a CSV file is read (pandas' names): ``decimal`` (``","`` for
    ``135,25``), ``thousands`` (``","`` for ``1,300``; ``"."`` for ``1.300,00`` with a
    decimal comma) and ``encoding`` (``"latin-1"``, ``"cp1252"``...). Parquet files are
    typed and take none of them.

    Examples
    --------
    >>> ReadOptions(decimal=",", thousands=".").parse_number("1.300,25 €")
    1300.25
    >>> ReadOptions().parse_number("$1300.25"), ReadOptions().parse_number("1,300")
    (1300.25, None)
    """

    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if len(self.decimal) != 1 or self.decimal.isalnum():
            raise DataError(f"decimal {self.decimal!r}: expected one character such as . or ,")
        if self.thousands is not None and (len(self.thousands) != 1
                                           or self.thousands == self.decimal):
            raise DataError(f"thousands {self.thousands!r}: expected one character other "
                            f"than the decimal mark {self.decimal!r}, such as , . or a space")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise DataError(f"encoding {self.encoding!r}: not a known text encoding (e.g. "
                            "utf-8, latin-1, cp1252)") from None

    @property
    def plain(self) -> bool:
        """Whether these are the defaults (``.``, no thousands separator, UTF-8)."""
        return self == ReadOptions()

    def parse_number(self, text: str) -> float | None:
        """The number a cell's text writes (a currency sign before or after it allowed),
        or ``None``."""
        text = text.strip().strip(CURRENCY).strip()
        if text.startswith("-") and text[1:2] in CURRENCY:
            text = "-" + text[2:].strip()
        if self.thousands is not None:
            groups = text.lstrip("-").split(self.decimal)[0].split(self.thousands)
            if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3
                                    or any(len(g) != 3 for g in groups[1:])):
                return None
            text = text.replace(self.thousands, "")
        if self.decimal != ".":
            if "." in text:
                return None
            text = text.replace(self.decimal, ".")
        if not _NUMBER.fullmatch(text):
            return None
        return float(text)


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


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
    """Tab for a ``.tsv`` file (compressed or not), else a comma: the name's last table
    suffix decides (``x.tsv.scores.csv`` is a CSV file)."""
    name = Path(str(path)).name.lower()
    for compression in _COMPRESSIONS:
        name = name.removesuffix(compression)
    return "\t" if name.endswith(".tsv") else ","


def sniff_delimiter(first_lines: list[str], *, default: str = ",") -> str:
    """The separator of a CSV file, from its header line and a few lines after it.

    Each of :data:`DELIMITERS` splits the lines (quotes respected; blank lines and a last
    record left open by a quote are skipped). The first that applies wins:

    1. ``default``, if it gives every line the same number of fields, more than one;
    2. another candidate that does, the one giving the most fields;
    3. ``default``, if it splits the header at all (the reader then names the bad lines);
    4. the candidate splitting the header the most, if some line after it has that many
       fields too;
    5. ``default`` (a one-column file).

    Parameters
    ----------
    first_lines : list of str
        The header line and the lines after it, line endings kept or not.
    default : str, default=","
        The separator the file name implies (tab for ``.tsv``).

    Returns
    -------
    str
        One of :data:`DELIMITERS`, or ``default``.
    """
    records = {d: _records(first_lines, d) for d in dict.fromkeys((default, *DELIMITERS))}
    widths = {d: [len(r) for r in rows] for d, rows in records.items() if rows}
    if not widths:
        return default
    even = {d: w[0] for d, w in widths.items() if w[0] > 1 and len(set(w)) == 1}
    if default in even:
        return default
    if even:
        return max(even, key=even.get)
    if widths.get(default, [1])[0] > 1:
        return default
    split = {d: w[0] for d, w in widths.items() if w[0] > 1 and max(w[1:], default=0) >= w[0]}
    return max(split, key=split.get) if split else default


def _records(lines: list[str], delimiter: str) -> list[list[str]]:
    """The non-blank CSV records of ``lines``, up to any that a quote leaves open."""
    records = []
    try:
        for record in csv.reader(lines, delimiter=delimiter, strict=True):
            if record:
                records.append(record)
    except csv.Error:
        pass
    return records


def _delimiter(name: str, head: bytes, default: str, encoding: str = "utf-8") -> str:
    """:func:`sniff_delimiter` on the first bytes of a file, refusing a header it leaves
    whole although another separator is in it."""
    lines = io.StringIO(_decode(head, encoding), newline="").readlines()
    delimiter = sniff_delimiter(lines, default=default)
    header = next(iter(_records(lines, delimiter)), [])
    others = [d for d in DELIMITERS if d != delimiter and d in "".join(header)]
    if len(header) == 1 and others:
        raise DataError(f"{name}: 1 column found; the header contains {others[0]!r} but the "
                        f"lines do not split evenly on it — pass a file with {delimiter!r} "
                        f"separators, or with the same number of {others[0]!r} on every line")
    return delimiter


def _head(stream: BinaryIO) -> bytes:
    """The first :data:`_SNIFF_LINES` lines of a binary stream (at most about 1 MiB)."""
    lines: list[bytes] = []
    size = 0
    while len(lines) < _SNIFF_LINES and size < _SNIFF_BYTES:
        line = stream.readline(_SNIFF_BYTES - size)
        if not line:
            break
        lines.append(line)
        size += len(line)
    return b"".join(lines)


def _file_head(path: str | Path) -> bytes:
    """The first lines of a CSV file, decompressed; empty when it cannot be opened here
    (pandas then reports why)."""
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if len(names) != 1:
                    return b""
                with archive.open(names[0]) as stream:
                    return _head(stream)
        if suffix == ".zst":
            return b""
        with _OPENERS.get(suffix, open)(path, "rb") as stream:
            return _head(stream)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zipfile.BadZipFile):
        return b""


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
    numeric_columns: Sequence[str] = (),
    options: ReadOptions | None = None,
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
        CSV columns to read as text, whatever they look like (identifiers, labels): only
        an empty field is missing there.
    numeric_columns : sequence of str
        CSV columns known to be numbers: :data:`NA_TOKENS` are gaps there, and every
        value that :meth:`ReadOptions.parse_number` reads is a number.
    options : ReadOptions or None
        Decimal mark, thousands separator and encoding of a CSV file. A text column
        whose every value is a number by them (a currency sign allowed) is read as
        numbers.

    Yields
    ------
    pandas.DataFrame
        The next rows, with a ``RangeIndex`` counting from 0 in each chunk.

    Raises
    ------
    DataError
        Unreadable, empty or malformed file (a row with another number of fields than
        the header, a column named twice), or a missing column.
    """
    _check_readable(path)
    name = name_of(path)
    options = options or ReadOptions()
    if table_format(path, fmt) == "parquet":
        yield from _parquet_chunks(path, name, chunk_rows, columns)
        return
    with ExitStack() as stack:
        if str(path) == STDIO:
            path = _spool_stdin(stack)
        _check_magic(path, name)
        head, source = _file_head(path), path
        sep = _delimiter(name, head, _separator(path), options.encoding)
        header = next(iter(_records(io.StringIO(_decode(head, options.encoding),
                                                newline="").readlines(), sep)), [])
        _check_header(header, name)
        _check_field_counts(path, name, sep, len(header), options.encoding)
        try:
            yield from _csv_chunks(source, name, sep, chunk_rows, columns, text_columns,
                                   numeric_columns, options)
        except UnicodeDecodeError as exc:
            raise _encoding_error(path, name, sep, options.encoding, exc) from exc


def _decode(head: bytes, encoding: str) -> str:
    """The first bytes of a file as text (a bad byte replaced: the reader names it)."""
    return head.decode(_text_encoding(encoding), errors="replace")


def _text_encoding(encoding: str) -> str:
    """``utf-8-sig`` for UTF-8 (a byte-order mark is skipped), else ``encoding``."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _check_magic(path: str | Path, name: str) -> None:
    """Refuse, in one line, a file named like plain CSV text whose first bytes say it is
    Parquet or compressed (read by its name, it would give a parser's traceback)."""
    suffix = Path(str(path)).suffix.lower()
    if suffix in _COMPRESSIONS:
        return
    try:
        with open(path, "rb") as stream:
            first = stream.read(8)
    except OSError:
        return
    for magic, what, fix in MAGIC:
        if first.startswith(magic):
            raise DataError(f"{name}: {what} (by its first bytes), not CSV text; {fix}")


def _encoding_error(path: str | Path, name: str, sep: str, encoding: str,
                    exc: UnicodeDecodeError) -> DataError:
    """The one-line error of a byte the encoding does not read: its row and column."""
    hint = ("pass --encoding latin-1 (or cp1252, the encoding of the file)"
            if codecs.lookup(encoding).name == "utf-8" else "pass the file's --encoding")
    found = _first_undecodable(path, sep, encoding)
    if found is None:
        return DataError(f"{name}: not {encoding} text (byte {exc.start}: {exc.reason}); "
                         f"{hint}")
    row, column, text = found
    place = "the header" if row == 0 else f"row {row}"
    return DataError(f"{name}: {place}, column {column!r}: not {encoding} text ({text}); "
                     f"{hint}")


def _first_undecodable(path: str | Path, sep: str, encoding: str
                       ) -> tuple[int, str, str] | None:
    """(row from 1 after the header, column, the field shown) of the first field with a
    byte ``encoding`` does not read; ``None`` if none is found."""
    with ExitStack() as stack:
        raw = _binary(path, stack)
        binary = stack.enter_context(open(raw, "rb")) if isinstance(raw, str) else raw
        text = stack.enter_context(io.TextIOWrapper(binary, encoding=_text_encoding(encoding),
                                                    errors="surrogateescape", newline=""))
        records = (r for r in csv.reader(text, delimiter=sep) if r)
        header = next(records, [])
        for row, record in enumerate(_chain(header, records)):
            for k, field in enumerate(record):
                if any("\udc80" <= ch <= "\udcff" for ch in field):
                    column = header[k] if k < len(header) else f"field {k + 1}"
                    raw_bytes = field.encode(codecs.lookup(encoding).name, "surrogateescape")
                    return row, column, raw_bytes.decode("ascii", "backslashreplace")[:40]
    return None


def _chain(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


def _csv_chunks(source, name: str, sep: str, chunk_rows: int, columns, text_columns,
                numeric_columns, options: ReadOptions) -> Iterator[pd.DataFrame]:
    try:
        reader = pd.read_csv(source, sep=sep, chunksize=chunk_rows,
                             dtype=dict.fromkeys(text_columns, "str"), low_memory=False,
                             keep_default_na=False, na_values=[""], decimal=options.decimal,
                             thousands=options.thousands,
                             encoding=_text_encoding(options.encoding))
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
                chunk = _numbers_with_gaps(chunk.reset_index(drop=True), text_columns,
                                           numeric_columns)
                yield _formatted_numbers(chunk, text_columns, numeric_columns, options)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{name}: empty file (no header row)") from exc
    except UnicodeDecodeError:
        raise
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise _read_error(name, exc) from exc


def _formatted_numbers(chunk: pd.DataFrame, text_columns: Sequence[str],
                       numeric_columns: Sequence[str], options: ReadOptions
                       ) -> pd.DataFrame:
    """Text columns of numbers written with a currency sign, or with the decimal mark and
    thousands separator of ``options`` inside quotes, read as numbers: every value in a
    column (a gap aside), or in ``numeric_columns`` each value that is one."""
    text, numeric = set(text_columns), set(numeric_columns)
    for column in chunk.columns:
        values = chunk[column]
        if column in text or not (values.dtype == object
                                  or pd.api.types.is_string_dtype(values.dtype)):
            continue
        present = values.notna().to_numpy()
        sample = values[present].iloc[:20].map(lambda v: isinstance(v, str)
                                               and options.parse_number(v) is not None)
        if not sample.any() and column not in numeric:
            continue
        parsed = values.map(lambda v: options.parse_number(v) if isinstance(v, str) else v)
        if column in numeric:
            chunk[column] = parsed.where(parsed.notna() | ~present, values)
        elif parsed[present].notna().all():
            chunk[column] = pd.to_numeric(parsed, errors="coerce")
    return chunk


def _numbers_with_gaps(chunk: pd.DataFrame, text_columns: Sequence[str],
                       numeric_columns: Sequence[str]) -> pd.DataFrame:
    """In a column of numbers but for some :data:`NA_TOKENS`, those are gaps (in
    ``numeric_columns`` always); other text, and every ``text_columns`` one, is kept."""
    text, numeric = set(text_columns), set(numeric_columns)
    for column in chunk.columns:
        values = chunk[column]
        if column in text or not (values.dtype == object
                                  or pd.api.types.is_string_dtype(values.dtype)):
            continue
        tokens = values.isin(NA_TOKENS).to_numpy()
        if not tokens.any():
            continue
        rest = values[values.notna().to_numpy() & ~tokens]
        numbers = bool(len(rest)) and bool(pd.to_numeric(rest, errors="coerce").notna().all())
        if numbers:
            chunk[column] = pd.to_numeric(values.where(~tokens), errors="coerce")
        elif column in numeric:
            chunk[column] = values.astype(object).where(~tokens, None)
    return chunk


def _check_header(header: list[str], name: str) -> None:
    """Refuse a header that names a column twice."""
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise DataError(f"{name}: column {column!r} appears twice in the header; rename "
                            "or drop one copy")
        seen.add(column)


def _spool_stdin(stack: ExitStack) -> str:
    """stdin copied to a temporary file (unlinked when ``stack`` closes)."""
    fd, spooled = tempfile.mkstemp(prefix=".latentwatch-stdin-", suffix=".csv")
    stack.callback(lambda: os.path.exists(spooled) and os.unlink(spooled))
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    if os.path.getsize(spooled) == 0:
        raise DataError("<stdin>: empty input")
    return spooled


def _binary(path: str | Path, stack: ExitStack):
    """A binary stream of a CSV file's text, decompressed as its name says."""
    suffix = Path(path).suffix.lower()
    if suffix == ".zip":
        archive = stack.enter_context(zipfile.ZipFile(path))
        names = archive.namelist()
        if len(names) != 1:
            raise DataError(f"{path}: a .zip file must hold exactly one file, not "
                            f"{len(names)}")
        return stack.enter_context(archive.open(names[0]))
    if suffix == ".xz":
        return stack.enter_context(lzma.open(path, "rb"))
    if suffix in (".gz", ".bz2", ".zst"):
        return stack.enter_context(pa.input_stream(str(path), compression="detect"))
    return str(path)


def _check_field_counts(path: str | Path, name: str, sep: str, width: int,
                        encoding: str = "utf-8") -> None:
    """Refuse a record with another number of fields than the header, naming its row.

    One vectorised pass (pyarrow) over the file; the row number of a bad record is found
    by a second, exact pass only when there is one.
    """
    import pyarrow.csv as pcsv

    if width == 0:
        return
    bad: list[tuple[int, str]] = []

    def handler(row) -> str:
        if not bad:
            bad.append((row.actual_columns, row.text))
        return "skip"

    try:
        with ExitStack() as stack:
            reader = pcsv.open_csv(
                _binary(path, stack),
                read_options=pcsv.ReadOptions(autogenerate_column_names=True,
                                              block_size=_CHECK_BLOCK,
                                              encoding=_text_encoding(encoding)),
                parse_options=pcsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                                invalid_row_handler=handler),
                convert_options=pcsv.ConvertOptions(include_columns=["f0"],
                                                    column_types={"f0": pa.string()}))
            for _ in reader:
                if bad:
                    break
    except (pa.ArrowException, OSError, ValueError, EOFError, zipfile.BadZipFile,
            lzma.LZMAError):
        return  # not CSV as pyarrow reads it: pandas reports why, or reads it
    if bad:
        row, fields = _first_bad_record(path, sep, width, encoding)
        shown = " ".join(bad[0][1].split())[:60]
        where = f"row {row}" if row else "a row"
        raise DataError(f"{name}: {where} has {fields if row else bad[0][0]} fields but the "
                        f"header has {width} ({shown!r}); fix that row (a missing "
                        "separator or quote?)")


def _first_bad_record(path: str | Path, sep: str, width: int, encoding: str = "utf-8"
                      ) -> tuple[int, int]:
    """(row number from 1 after the header, its field count) of the first record whose
    field count is not ``width``; (0, 0) if none is found."""
    with ExitStack() as stack:
        raw = _binary(path, stack)
        binary = stack.enter_context(open(raw, "rb")) if isinstance(raw, str) else raw
        text = stack.enter_context(io.TextIOWrapper(binary, encoding=_text_encoding(encoding),
                                                    errors="replace", newline=""))
        records = (r for r in csv.reader(text, delimiter=sep) if r)
        next(records, None)
        for number, record in enumerate(records, start=1):
            if len(record) != width:
                return number, len(record)
    return 0, 0


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
        folded = "".join(str(missing[0]).split()).casefold()
        near = [c for c in present if "".join(str(c).split()).casefold() == folded]
        if near:
            raise DataError(f"{name}: column {missing[0]!r} is missing; the data has "
                            f"{near[0]!r} (the names differ in case or spaces): rename it")
        raise DataError(f"{name}: column {missing[0]!r} is missing (it has: "
                        f"{', '.join(present[:20])}{' ...' if len(present) > 20 else ''})")


def _parquet_chunks(path, name: str, chunk_rows: int, columns: Sequence[str] | None
                    ) -> Iterator[pd.DataFrame]:
    try:
        source = io.BytesIO(sys.stdin.buffer.read()) if str(path) == STDIO else str(path)
        parquet = pq.ParquetFile(source)
        names = parquet.schema_arrow.names
        _check_header(names, name)
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
    numeric_columns: Sequence[str] = (),
    options: ReadOptions | None = None,
) -> pd.DataFrame:
    """Read a whole table (see :func:`iter_tables`).

    Raises
    ------
    DataError
        As ``iter_tables``, and when the file has a header but no rows.
    """
    chunks = list(iter_tables(path, fmt=fmt, chunk_rows=1 << 62, columns=columns,
                              text_columns=text_columns, numeric_columns=numeric_columns,
                              options=options))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    if len(frame) == 0:
        raise DataError(f"{name_of(path)}: no data rows")
    return frame


def _open_csv(tmp: str, path: str, stack: ExitStack) -> TextIO:
    """A UTF-8 text handle on ``tmp``, compressed as the name ``path`` says (closed by
    ``stack``)."""
    suffix, inner = Path(path).suffix.lower(), Path(path).stem
    raw: BinaryIO = stack.enter_context(open(tmp, "wb"))  # noqa: SIM115 (stack closes it)
    if suffix == ".gz":
        raw = stack.enter_context(gzip.GzipFile(inner, "wb", fileobj=raw))
    elif suffix == ".bz2":
        raw = stack.enter_context(bz2.BZ2File(raw, "wb"))
    elif suffix == ".xz":
        raw = stack.enter_context(lzma.LZMAFile(raw, "wb"))  # noqa: SIM115
    elif suffix == ".zip":
        archive = stack.enter_context(zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED))
        raw = stack.enter_context(archive.open(inner, "w", force_zip64=True))
    return stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


class TableWriter:
    """Write a table chunk by chunk to CSV or Parquet (by extension), or ``-`` for stdout.

    A file is written to a temporary name beside it and renamed when the writer closes
    without error, so a failed run leaves no partial output (stdout cannot be taken back).
    CSV files are compressed as their name says (``.gz``, ``.bz2``, ``.xz``, ``.zip``; not
    ``.zst``) and ``.tsv`` ones are tab-separated.

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
        self._csv: TextIO | None = None
        self._stack = ExitStack()
        self._sep = _separator(self.path)
        if self.format == "csv" and self.path.lower().endswith(".zst"):
            raise DataError(f"{self.path}: cannot write .zst files; use .csv.gz, .csv.bz2, "
                            ".csv.xz or .csv.zip")
        if self.path == STDIO and self.format == "csv":
            self._tmp = None
        else:
            directory = Path(self.path).parent if self.path != STDIO else None
            if directory is not None and not directory.is_dir():
                raise DataError(f"{self.path}: cannot write (no such directory {directory})")
            self._tmp = temp_file(directory if directory is not None
                                  else tempfile.gettempdir())

    def write(self, frame: pd.DataFrame) -> None:
        """Append rows (the first call fixes the columns)."""
        if self.format == "csv":
            if self._tmp is None:
                frame.to_csv(sys.stdout, index=False, header=not self._csv_started)
                sys.stdout.flush()
            else:
                if self._csv is None:
                    self._csv = _open_csv(self._tmp, self.path, self._stack)
                frame.to_csv(self._csv, index=False, header=not self._csv_started,
                             sep=self._sep)
            self._csv_started = True
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False, schema=self._schema)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self._tmp, self._schema)
            self._parquet.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file and move it into place (on any failure, nothing is left)."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            self._stack.close()
        except BaseException:
            self.abort()
            raise
        if self._tmp is None:
            return
        tmp, self._tmp = self._tmp, None
        try:
            if self.path == STDIO:
                with open(tmp, "rb") as f:
                    shutil.copyfileobj(f, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                replace_atomically(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def abort(self) -> None:
        """Drop what was written (the file keeps its previous contents, if any)."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            self._stack.close()
        except Exception:
            pass
        finally:
            self._parquet = None
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
