"""Scoring on Dask and Spark, partition by partition, on the one scoring function.

Every partition goes through :func:`score_partition`, which calls
:func:`latentwatch.service.score_table`: a row's score does not depend on the rows scored
with it (``engine.scoring``), so a table scored in partitions on many workers gives the
scores of ``latentwatch score`` in one process, bit for bit, in the same order.

The model travels as the bytes of its model file (safetensors + JSON,
:func:`latentwatch.persistence.model_bytes`) in a :class:`ModelBytes`; the estimator is
never pickled. Each worker process loads the bytes once, with every check of
:func:`latentwatch.load`, and keeps the detector keyed by their SHA-256
(:func:`worker_model`).

Dask (``pip install 'latentwatch[dask]'``): :func:`score_dask` maps a Dask DataFrame, or
Parquet/CSV files read partition by partition, to a Dask DataFrame of scores;
:func:`score_to_parquet` writes one Parquet part per input partition, atomically, with a
``_SUCCESS`` manifest written last (``latentwatch score --engine dask``). Spark
(``pip install 'latentwatch[spark]'``): :func:`score_spark` is a ``mapInPandas`` with an
explicit schema and the model bytes broadcast.

Rows that cannot be scored fail their partition with a one-line
:class:`~latentwatch.errors.DataError` naming the file (or partition), the row and the
column; with ``keep_bad_rows=True`` they get an empty score and a ``reason``, as
``latentwatch score --keep-bad-rows`` gives them.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentwatch.errors import DataError, where

if TYPE_CHECKING:
    import pandas as pd

# Detectors a worker process keeps loaded (the most recently used).
WORKER_CACHE_SIZE = 4
# Rows per partition when files are read: runs of whole Parquet row groups up to this
# many rows (a CSV file is one partition).
PARTITION_ROWS = 1_000_000
# Test hook: ``"<stage>:<folder>"`` makes the first partition (over all worker processes)
# that reaches ``stage`` ("score": scored, not yet returned; "write": part written to its
# temporary file, not yet renamed) end its process with ``os._exit`` (``<stage>-raise``:
# raise an OSError instead), so that the tests can check that the engine's retry gives
# the result of a clean run. ``folder`` records that it fired.
FAULT_ENV = "LATENTWATCH_FAULT_ONCE"
SUCCESS = "_SUCCESS"
_PART = "part-{:05d}.parquet"
_EXTRAS = {"dask": ("dask", "distributed"), "spark": ("pyspark",)}
_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".csv.gz", ".csv.bz2", ".csv.xz",
             ".csv.zip", ".csv.zst")


def require(extra: str) -> None:
    """Refuse, in one line, to run without the packages of ``extra`` ("dask", "spark")."""
    import importlib.util

    for module in _EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{extra} scoring needs {module}, which is not installed; "
                              f"install it with: pip install 'latentwatch[{extra}]'")


# -- the model, as bytes ------------------------------------------------------------------
@dataclass(frozen=True)
class ModelBytes:
    """A model file's bytes and their SHA-256: what is shipped to workers.

    Attributes
    ----------
    data : bytes
        The safetensors file (:func:`latentwatch.persistence.model_bytes`).
    sha256 : str
        Hex digest of ``data``; the key of the worker cache.
    name : str
        What messages call the model.
    """

    data: bytes
    sha256: str
    name: str = "<model bytes>"

    @classmethod
    def of(cls, model: Any) -> ModelBytes:
        """The bytes of a model given as a path, bytes, :class:`ModelBytes` or fitted
        detector (serialized here, never pickled).

        Examples
        --------
        >>> import numpy as np
        >>> from latentwatch import AutoEncoderDetector
        >>> X = np.random.default_rng(0).normal(size=(100, 3))
        >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(X)
        >>> len(ModelBytes.of(model).sha256)
        64
        """
        if isinstance(model, ModelBytes):
            return model
        if isinstance(model, bytes | bytearray | memoryview):
            data, name = bytes(model), "<model bytes>"
        elif isinstance(model, str | os.PathLike):
            name = str(model)
            try:
                data = Path(model).read_bytes()
            except OSError as exc:
                from latentwatch.errors import ModelFormatError

                raise ModelFormatError(f"{name}: cannot read the model file "
                                       f"({exc.strerror or exc})") from exc
        else:
            from latentwatch.persistence import model_bytes

            data, name = model_bytes(model), f"<{type(model).__name__}>"
        return cls(data, hashlib.sha256(data).hexdigest(), name)

    def load(self):
        """The detector (checked as :func:`latentwatch.load` checks a file), on the CPU."""
        from latentwatch.persistence import load_bytes

        return load_bytes(self.data, device="cpu", name=self.name)


_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def worker_model(model: ModelBytes):
    """The detector of ``model``, loaded once per process and kept (the
    :data:`WORKER_CACHE_SIZE` most recently used), keyed by the SHA-256 of its bytes."""
    with _CACHE_LOCK:
        detector = _CACHE.get(model.sha256)
        if detector is None:
            detector = model.load()
            _CACHE[model.sha256] = detector
            while len(_CACHE) > WORKER_CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(model.sha256)
        return detector


# -- one partition ------------------------------------------------------------------------
def _fault(stage: str, key: str) -> None:
    """The :data:`FAULT_ENV` test hook: end this process at ``stage`` the first time."""
    setting = os.environ.get(FAULT_ENV, "")
    wanted, _, folder = setting.partition(":")
    if wanted not in (stage, f"{stage}-raise") or not folder:
        return
    try:
        fd = os.open(os.path.join(folder, "fault-fired"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, f"{key}\n".encode())
    os.close(fd)
    if wanted.endswith("-raise"):
        raise OSError(f"{key}: a transient failure ({FAULT_ENV})")
    os._exit(70)


def check_table_model(model, name: str) -> None:
    """Refuse a time-series model: its windows reach into the rows before each partition,
    which a partition does not have, so its scores would differ at partition starts."""
    if getattr(model.codec_, "context_rows", None) is not None:
        raise ValueError(f"{name}: a time-series model (windows of {model.codec_.window} "
                         "steps) reads the rows before each row, which a partition does not "
                         "hold; score the series in one process with latentwatch score")


def default_ids(model, columns: Sequence[str]) -> list[str]:
    """The model's id columns that the data has (what ``latentwatch score`` copies)."""
    present = set(map(str, columns))
    return [c for c in model.schema_.id_columns if c in present]


def check_keep_input(columns: Sequence[str], scored: Sequence[str], source: str) -> None:
    """Refuse input columns that the score columns would overwrite."""
    clash = [c for c in scored if c in set(columns)]
    if clash:
        raise DataError(where(source, f"column {clash[0]!r} has the name of a score column; "
                                      "rename it or score without keep_input"))


def score_partition(
    frame: pd.DataFrame,
    model: ModelBytes,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    keep_input: bool = False,
    source: str = "<partition>",
    first_row: int = 0,
    advice: str = "pass keep_bad_rows=True",
) -> pd.DataFrame:
    """Score one partition with :func:`latentwatch.service.score_table`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The partition; its index is kept.
    model : ModelBytes
        Loaded once per worker process (:func:`worker_model`).
    top_k, id_columns
        As :func:`~latentwatch.service.score_table`; ``id_columns=None`` takes the model's
        id columns that ``frame`` has.
    keep_bad_rows : bool, default=False
        Give rows that cannot be scored an empty score and a ``reason`` column (always
        present then) instead of raising.
    keep_input : bool, default=False
        Put every input column before the score columns (the id columns are then not
        repeated).
    source : str
        The file (or partition) named in messages.
    first_row : int
        Rows of ``source`` before this partition: messages count rows from 1 in
        ``source``, as ``latentwatch score`` does.
    advice : str
        How to keep bad rows, for the message.

    Returns
    -------
    pandas.DataFrame
        The columns of ``latentwatch score``'s output, one row per input row, in order.

    Raises
    ------
    DataError
        Rows that cannot be scored (without ``keep_bad_rows``): one line naming
        ``source``, the first rows (counted in ``source``) and their columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    >>> model = ModelBytes.of(AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame))
    >>> list(score_partition(frame.iloc[:5], model, top_k=1).columns)
    ['score', 'is_anomaly', 'p_value', 'top1', 'top1_nats']
    """
    import pandas as pd

    from latentwatch.data.codec import Problem, describe_problems
    from latentwatch.service import score_table

    detector = worker_model(model)
    ids = default_ids(detector, frame.columns) if id_columns is None else list(id_columns)
    if keep_input:
        ids = []
    scored = score_table(detector, frame, top_k=top_k, id_columns=ids, source=source)
    problems = scored.problems
    if problems and not keep_bad_rows:
        shifted = [Problem(p.position + first_row, p.column, p.value, p.message)
                   for p in problems[:5]]
        raise DataError(f"{source}: {describe_problems(shifted, total=len(problems))}; fix "
                        f"them or {advice} to give them an empty score")
    table = scored.table if keep_bad_rows else scored.table.drop(columns="reason")
    table.index = frame.index
    for name in ids:  # their own dtype, as the partition's meta says
        table[name] = frame[name]
    if keep_input:
        check_keep_input(frame.columns, table.columns, source)
        table = pd.concat([frame, table], axis=1)
    _fault("score", f"{source}:{first_row}")
    return table


# -- Dask ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One partition of files: ``rows`` rows of ``path`` from row ``first_row`` (from 0),
    its Parquet row groups ``row_groups`` (``None``: the whole file)."""

    path: str
    first_row: int
    rows: int | None
    row_groups: tuple[int, ...] | None


def expand_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """Files named by a path, a glob, a folder (its table files) or a list of them, in
    sorted order within each; refuses a pattern that matches nothing.

    Examples
    --------
    >>> expand_paths([])
    Traceback (most recent call last):
    ...
    latentwatch.errors.DataError: no input files given
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise DataError("no input files given")
    files: list[str] = []
    for item in map(str, items):
        if os.path.isdir(item):
            found = sorted(os.path.join(item, n) for n in os.listdir(item)
                           if n.lower().endswith(_SUFFIXES) and not n.startswith(("_", ".")))
            what = f"{item}: a folder with no Parquet or CSV files"
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item) if os.path.isfile(p))
            what = f"{item}: no file matches this pattern"
        else:
            found, what = [item], ""
        if not found:
            raise DataError(what)
        files += found
    return list(dict.fromkeys(files))


def plan_pieces(files: Sequence[str], partition_rows: int = PARTITION_ROWS,
                fmt: str | None = None) -> list[Piece]:
    """The partitions of ``files``, in order: runs of whole Parquet row groups holding at
    most ``partition_rows`` rows (at least one group each); a CSV file is one piece."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from latentwatch.data.io import _check_readable, table_format

    pieces = []
    for path in files:
        _check_readable(path)
        if table_format(path, fmt) != "parquet":
            pieces.append(Piece(path, 0, None, None))
            continue
        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable Parquet file "
                            f"({' '.join(str(exc).split())})") from exc
        groups: list[int] = []
        first = count = 0
        for group in range(meta.num_row_groups):
            n = meta.row_group(group).num_rows
            if groups and count + n > partition_rows:
                pieces.append(Piece(path, first, count, tuple(groups)))
                first, count, groups = first + count, 0, []
            groups.append(group)
            count += n
        if groups or not pieces or pieces[-1].path != path:
            pieces.append(Piece(path, first, count, tuple(groups)))
    return pieces


def _text_columns(model, ids: Sequence[str]) -> list[str]:
    """CSV columns read as text, as ``latentwatch score`` reads them: the ids and the
    model's text-labelled columns."""
    text = [b.source for b in model.codec_.blocks
            if b.derive is not None or (b.kind != "numeric" and b.label_type == "str")]
    return list(dict.fromkeys([*ids, *text]))


def read_piece(piece: Piece, columns: Sequence[str] | None, text_columns: Sequence[str] = (),
               numeric_columns: Sequence[str] = (), fmt: str | None = None) -> pd.DataFrame:
    """The rows of one piece, read as :func:`latentwatch.data.io.iter_tables` reads them,
    with an index counting rows from 0 in the file."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from latentwatch.data.io import _NULLABLE, _check_header, _require, iter_tables, table_format

    if table_format(piece.path, fmt) == "parquet":
        try:
            parquet = pq.ParquetFile(piece.path)
            names = parquet.schema_arrow.names
            _check_header(names, piece.path)
            if columns is not None:
                _require(columns, names, piece.path)
            table = parquet.read_row_groups(list(piece.row_groups or ()),
                                            columns=None if columns is None else list(columns))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{piece.path}: not a readable Parquet file "
                            f"({' '.join(str(exc).split())})") from exc
        frame = table.to_pandas(types_mapper=_NULLABLE.get)
    else:
        chunks = list(iter_tables(piece.path, fmt=fmt, chunk_rows=1 << 62, columns=columns,
                                  text_columns=text_columns, numeric_columns=numeric_columns))
        frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    frame.index = pd.RangeIndex(piece.first_row, piece.first_row + len(frame))
    return frame


def _score_placed(frame: pd.DataFrame, model: ModelBytes, places: Sequence[tuple[str, int]],
                  options: dict, partition_info: dict | None = None) -> pd.DataFrame:
    """Score partition ``N`` of files: ``places[N]`` is its file and first row."""
    source, first_row = places[(partition_info or {}).get("number", 0)]
    return score_partition(frame, model, source=source, first_row=first_row, **options)


def _score_numbered(frame: pd.DataFrame, model: ModelBytes, options: dict,
                    partition_info: dict | None = None) -> pd.DataFrame:
    number = (partition_info or {}).get("number")
    source = "<partition>" if number is None else f"partition {number}"
    return score_partition(frame, model, source=source, **options)


def _model_arg(carrier: ModelBytes):
    """``carrier`` as one graph key (a Delayed), so that it is sent to each worker once
    rather than once per task."""
    import dask

    return dask.delayed(carrier, name=f"latentwatch-model-{carrier.sha256[:16]}")


def score_dask(
    model: Any,
    data: Any,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    keep_input: bool = False,
    partition_rows: int = PARTITION_ROWS,
    fmt: str | None = None,
    advice: str = "pass keep_bad_rows=True",
):
    """Score a Dask DataFrame, or Parquet/CSV files, partition by partition.

    Parameters
    ----------
    model : str, Path, bytes, ModelBytes or fitted detector
        A model file, its bytes, or a detector (serialized to bytes here). Workers get
        the bytes and load them once per process; the estimator is never pickled.
    data : dask.dataframe.DataFrame, str, Path or list of them
        A Dask DataFrame, or files: a path, a glob (``"data/*.parquet"``), a folder or a
        list; Parquet files are split into runs of whole row groups of at most
        ``partition_rows`` rows, a CSV file is one partition. Files are read as
        ``latentwatch score`` reads them.
    top_k : int, default=3
        Largest contributing columns named per row.
    id_columns : sequence of str or None
        Columns copied first; ``None`` takes the model's id columns present.
    keep_bad_rows : bool, default=False
        Give rows that cannot be scored an empty score and a ``reason`` instead of
        failing the partition with a :class:`~latentwatch.errors.DataError` naming the
        file (for a DataFrame: ``partition N``), the row (from 1 in the file, or in the
        partition) and the column.
    keep_input : bool, default=False
        Keep every input column before the score columns.
    partition_rows : int
        Files only: the most rows per partition (one row group at least).
    fmt : {"csv", "parquet"} or None
        Files only: their format, instead of their extension.
    advice : str
        How the message says to keep bad rows.

    Returns
    -------
    dask.dataframe.DataFrame
        One partition per input partition, in order, each row where it was, with the
        columns of ``latentwatch score`` (the ids, ``score``, ``is_anomaly``, ``p_value``,
        ``top1``, ``top1_nats``, ..., and ``reason`` with ``keep_bad_rows``) and the
        input's index (files: the row's position in its file, from 0). Scores are those
        of one process, bit for bit. Compute with ``retries=`` to retry partitions whose
        worker failed.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> from latentwatch import AutoEncoderDetector
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame)
    >>> scores = score_dask(model, dd.from_pandas(frame, npartitions=2), top_k=1)
    >>> bool((scores["score"].compute(scheduler="sync") == model.anomaly_score(frame)).all())
    True
    """
    require("dask")
    import dask.dataframe as dd

    from latentwatch.explain import check_top_k
    from latentwatch.service import check_columns

    check_top_k(top_k)
    carrier = ModelBytes.of(model)
    detector = worker_model(carrier)
    check_table_model(detector, carrier.name)
    options = {"top_k": top_k, "id_columns": id_columns, "keep_bad_rows": keep_bad_rows,
               "keep_input": keep_input, "advice": advice}
    if isinstance(data, dd.DataFrame):
        empty = data._meta
        check_columns(detector, empty, "the Dask DataFrame")
        meta = score_partition(empty, carrier, **options)
        return data.map_partitions(_score_numbered, _model_arg(carrier), options, meta=meta,
                                   align_dataframes=False)
    return _score_files(carrier, detector, data, options, partition_rows, fmt)


def _score_files(carrier: ModelBytes, detector, data: Any, options: dict,
                 partition_rows: int, fmt: str | None):
    """:func:`score_dask` of files: read on the workers, each partition knowing its file
    and first row (for messages)."""
    import dask.dataframe as dd

    if not isinstance(partition_rows, int) or partition_rows < 1:
        raise ValueError(f"partition_rows={partition_rows!r}: expected a positive integer")
    pieces = plan_pieces(expand_paths(data), partition_rows, fmt)
    first = pieces[0].path
    ids = options["id_columns"]
    empty = (read_piece(Piece(first, 0, 0, ()), None, fmt=fmt) if _is_parquet(first, fmt)
             else _csv_head(first, detector, ids, fmt))
    ids = default_ids(detector, empty.columns) if ids is None else list(ids)
    options = {**options, "id_columns": ids}
    columns = (None if options["keep_input"]
               else list(dict.fromkeys([*ids, *detector.codec_.sources])))
    for name in columns or ():
        if name not in empty.columns:
            kind = "id column" if name in ids else "column"
            raise DataError(where(first, f"{kind} {name!r} is not in the data"))
    if columns is not None:
        empty = empty[columns]
    meta = score_partition(empty, carrier, **options)
    numeric = [b.source for b in detector.codec_.blocks if b.kind == "numeric"]
    frames = dd.from_map(read_piece, pieces, columns=columns,
                         text_columns=_text_columns(detector, ids), numeric_columns=numeric,
                         fmt=fmt, meta=empty, enforce_metadata=False)
    places = [(p.path, p.first_row) for p in pieces]
    return frames.map_partitions(_score_placed, _model_arg(carrier), places, options,
                                 meta=meta, align_dataframes=False)


def _is_parquet(path: str, fmt: str | None) -> bool:
    from latentwatch.data.io import table_format

    return table_format(path, fmt) == "parquet"


def _csv_head(path: str, detector, ids, fmt) -> pd.DataFrame:
    from latentwatch.data.io import iter_tables

    first = next(iter_tables(path, fmt=fmt, chunk_rows=50,
                             text_columns=_text_columns(detector, ids or ())))
    return first.iloc[:0]


# -- partitioned Parquet output -----------------------------------------------------------
_OWN = re.compile(r"^(part-[0-9]{5,}\.parquet|_SUCCESS|\.latentwatch-.*)$")
_PART_NAME = re.compile(r"^part-[0-9]{5,}\.parquet$")


def _prepare_out(out: Path) -> None:
    """``out`` as a folder for parts: created if missing; refused if it is a file or holds
    anything but an earlier run's parts (so that nothing of the user's is replaced)."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: is a file; --out names a folder for the Parquet parts")
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(n for n in os.listdir(out) if not _OWN.match(n))
    if foreign:
        raise DataError(f"{out}: holds {foreign[0]!r}, which is not a part of scores; write "
                        "the parts to an empty or new folder")


def _write_part(table: pd.DataFrame, staging: str, name: str, keep_bad_rows: bool) -> dict:
    """Write one scored part (``reason`` kept with ``keep_bad_rows``) to ``staging/name``
    atomically, unless it has bad rows that are not to be kept; its summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from latentwatch.data.io import replace_atomically, temp_file

    bad = table["reason"].notna()
    summary = {"part": name, "rows": len(table),
               "flagged": int(table["is_anomaly"].fillna(False).sum()), "bad": int(bad.sum()),
               "reasons": [(int(i), str(r)) for i, r in table.loc[bad, "reason"].iloc[:5].items()]}
    if summary["bad"] and not keep_bad_rows:
        return summary
    if not keep_bad_rows:
        table = table.drop(columns="reason")
    tmp = temp_file(staging)
    try:
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
        _fault("write", name)
        replace_atomically(tmp, os.path.join(staging, name))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return summary


def _staging(out: Path) -> Path:
    from latentwatch.data.io import _host

    return out / f".latentwatch-{_host()}-{os.getpid()}-run"


def _remove_dead_staging(out: Path) -> None:
    """Remove the staging folders that runs on this host left when they were killed."""
    import shutil

    from latentwatch.data.io import _alive, _host

    pattern = re.compile(r"^\.latentwatch-(?P<host>[A-Za-z0-9_.-]+)-(?P<pid>[0-9]+)-run$")
    for name in os.listdir(out):
        match = pattern.match(name)
        if match and match["host"] == _host() and not _alive(int(match["pid"])):
            shutil.rmtree(out / name, ignore_errors=True)


def score_to_parquet(
    model: Any,
    paths: Any,
    out: str | os.PathLike,
    *,
    client=None,
    retries: int = 2,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    partition_rows: int = PARTITION_ROWS,
    fmt: str | None = None,
    advice: str = "pass keep_bad_rows=True",
    on_part=None,
) -> dict:
    """Score files with Dask and write one Parquet part per input partition to ``out``.

    Parts are named ``part-00000.parquet``, ... in input order (files sorted, then
    row groups), each written to a temporary file and renamed when complete, in a
    staging folder inside ``out``; when every part is written, the parts of an earlier
    run are replaced by the new ones and ``_SUCCESS`` is written last (a JSON manifest:
    each part's source file, first row and row count). A folder without ``_SUCCESS``
    is incomplete; a failed run leaves an earlier run's output as it was.

    Parameters
    ----------
    model, paths, top_k, id_columns, partition_rows, fmt, advice
        As :func:`score_dask` (``paths``: files, a glob, a folder or a list).
    out : str or Path
        The folder (created if missing; it may hold only an earlier run's parts).
    client : distributed.Client or None
        Where to run; ``None`` uses the current client (or Dask's default scheduler).
    retries : int, default=2
        Retries of a partition whose task failed (a worker that dies is handled by the
        scheduler, whose ``allowed-failures`` bounds how often).
    keep_bad_rows : bool, default=False
        Without it, the first partition with a row that cannot be scored stops the run
        with a one-line :class:`~latentwatch.errors.DataError` (file, rows counted from 1
        in the file, column); nothing is written.
    on_part : callable or None
        Called with each part's summary as it completes (progress).

    Returns
    -------
    dict
        ``rows``, ``flagged``, ``bad``, ``reasons`` (the first few ``(row, reason)``,
        rows from 1 in their file), ``parts`` and ``files``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, os
    >>> from latentwatch import AutoEncoderDetector
    >>> folder = tempfile.mkdtemp()
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("abc"))
    >>> frame.to_parquet(os.path.join(folder, "a.parquet"))
    >>> model = AutoEncoderDetector(max_epochs=2, random_state=0).fit(frame)
    >>> summary = score_to_parquet(model, os.path.join(folder, "*.parquet"),
    ...                            os.path.join(folder, "scores"))
    >>> summary["rows"], sorted(os.listdir(os.path.join(folder, "scores")))
    (200, ['_SUCCESS', 'part-00000.parquet'])
    """
    require("dask")
    import shutil

    import dask

    from latentwatch.data.io import replace_atomically, temp_file

    out = Path(out)
    files = expand_paths(paths)
    pieces = plan_pieces(files, partition_rows, fmt)
    for path in files:
        if os.path.realpath(path).startswith(os.path.realpath(out) + os.sep):
            raise DataError(f"{out}: holds the input file {path}; write the parts elsewhere")
    _prepare_out(out)
    _remove_dead_staging(out)
    scored = score_dask(model, files, top_k=top_k, id_columns=id_columns,
                        keep_bad_rows=True, partition_rows=partition_rows, fmt=fmt,
                        advice=advice)
    staging = _staging(out)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    names = [_PART.format(i) for i in range(len(pieces))]
    try:
        write = dask.delayed(_write_part, pure=False)
        tasks = [write(part, str(staging), name, keep_bad_rows)
                 for part, name in zip(scored.to_delayed(), names, strict=True)]
        summaries = _run(tasks, client, retries, keep_bad_rows, on_part)
        bad = [(piece, s) for piece, s in zip(pieces, summaries, strict=True) if s["bad"]]
        if bad and not keep_bad_rows:
            piece, summary = bad[0]
            quoted = "; ".join(f"row {row + 1}, {reason}" for row, reason in
                               summary["reasons"])
            total = sum(s["bad"] for p, s in bad if p.path == piece.path)
            noun = "row cannot" if total == 1 else "rows cannot"
            more = "; ..." if total > len(summary["reasons"]) else ""
            raise DataError(f"{piece.path}: {total} {noun} be used: {quoted}{more}; fix them "
                            f"or {advice} to give them an empty score")
        old = [n for n in os.listdir(out) if _PART_NAME.match(n) or n == SUCCESS]
        if SUCCESS in old:
            os.unlink(out / SUCCESS)
        for name in old:
            if name != SUCCESS and name not in names:
                os.unlink(out / name)
        for name in names:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = {"parts": [{"part": n, "source": p.path, "first_row": p.first_row,
                           "rows": s["rows"]} for n, p, s in zip(names, pieces, summaries,
                                                                    strict=True)],
                "rows": sum(s["rows"] for s in summaries)}
    tmp = temp_file(out)
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    replace_atomically(tmp, out / SUCCESS)
    reasons = [(p.path, row + 1, reason) for p, s in zip(pieces, summaries, strict=True)
               for row, reason in s["reasons"]]
    return {"rows": manifest["rows"], "flagged": sum(s["flagged"] for s in summaries),
            "bad": sum(s["bad"] for s in summaries), "parts": len(names), "files": len(files),
            "reasons": [f"{path}: row {row}, {reason}" for path, row, reason in reasons[:5]]}


def _run(tasks, client, retries: int, keep_bad_rows: bool, on_part) -> list[dict]:
    """Compute the write tasks (on ``client`` when given), in order; without
    ``keep_bad_rows`` the first part with bad rows cancels the rest."""
    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            client = None
    if client is None:
        results = []
        for task in tasks:
            summary = task.compute(retries=retries)
            results.append(summary)
            if on_part is not None:
                on_part(summary)
            if summary["bad"] and not keep_bad_rows:
                break
        return results + [{"part": "", "rows": 0, "flagged": 0, "bad": 0, "reasons": []}
                          ] * (len(tasks) - len(results))
    from distributed import as_completed

    futures = client.compute(tasks, retries=retries)
    order = {f.key: i for i, f in enumerate(futures)}
    results: list[dict | None] = [None] * len(futures)
    try:
        for future in as_completed(futures):
            summary = future.result()
            results[order[future.key]] = summary
            if on_part is not None:
                on_part(summary)
            if summary["bad"] and not keep_bad_rows:
                break
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [r if r is not None else {"part": "", "rows": 0, "flagged": 0, "bad": 0,
                                     "reasons": []} for r in results]


# -- Spark --------------------------------------------------------------------------------
def spark_schema(meta: pd.DataFrame, input_schema=None):
    """The Spark schema of score columns (``meta``: an empty scored partition); id and
    input columns take their type from ``input_schema``."""
    from pyspark.sql import types as T

    known = {f.name: f for f in (input_schema.fields if input_schema is not None else ())}
    fields = []
    for name, dtype in meta.dtypes.items():
        if name in known:
            fields.append(known[name])
        elif str(dtype) == "boolean":
            fields.append(T.StructField(name, T.BooleanType(), True))
        elif str(dtype) == "float64":
            fields.append(T.StructField(name, T.DoubleType(), True))
        else:
            fields.append(T.StructField(name, T.StringType(), True))
    return T.StructType(fields)


def _spark_batches(batches: Iterator[pd.DataFrame], model: ModelBytes, options: dict
                   ) -> Iterator[pd.DataFrame]:
    """Score each Arrow batch of a Spark partition; rows counted across its batches."""
    from pyspark import TaskContext

    context = TaskContext.get()
    source = f"spark partition {context.partitionId() if context else 0}"
    first_row = 0
    for frame in batches:
        yield score_partition(frame.set_axis(range(first_row, first_row + len(frame))),
                              model, source=source, first_row=first_row, **options
                              ).reset_index(drop=True)
        first_row += len(frame)


def score_spark(
    model: Any,
    spark_df,
    *,
    top_k: int = 3,
    id_columns: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
    keep_input: bool = False,
):
    """Score a Spark DataFrame with ``mapInPandas``: partition by partition, the model's
    bytes broadcast once.

    Parameters
    ----------
    model : str, Path, bytes, ModelBytes or fitted detector
        As :func:`score_dask`; executors get the broadcast bytes, never a pickled
        estimator.
    spark_df : pyspark.sql.DataFrame
    top_k, id_columns, keep_bad_rows, keep_input
        As :func:`score_dask`; a bad row fails its task with a message naming
        ``spark partition N``, the row (from 1 in the partition) and the column.

    Returns
    -------
    pyspark.sql.DataFrame
        The columns of ``latentwatch score`` (explicit schema: ids and kept input
        columns with their own types, ``score`` double, ``is_anomaly`` boolean, ...),
        one row per input row, in each partition's order.

    Examples
    --------
    >>> from pyspark.sql import SparkSession                     # doctest: +SKIP
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()  # doctest: +SKIP
    >>> scores = score_spark("fraud.lwm", spark.read.parquet("data/"))  # doctest: +SKIP
    >>> scores.write.parquet("scores/")                          # doctest: +SKIP
    """
    require("spark")
    from latentwatch.explain import check_top_k
    from latentwatch.service import check_columns

    check_top_k(top_k)
    carrier = ModelBytes.of(model)
    detector = worker_model(carrier)
    check_table_model(detector, carrier.name)
    empty = _spark_empty(spark_df)
    check_columns(detector, empty, "the Spark DataFrame")
    ids = default_ids(detector, empty.columns) if id_columns is None else list(id_columns)
    options = {"top_k": top_k, "id_columns": ids, "keep_bad_rows": keep_bad_rows,
               "keep_input": keep_input, "advice": "pass keep_bad_rows=True"}
    meta = score_partition(empty, carrier, **options)
    schema = spark_schema(meta, spark_df.schema)
    shared = spark_df.sparkSession.sparkContext.broadcast(carrier.data)
    sha, name = carrier.sha256, carrier.name

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        yield from _spark_batches(batches, ModelBytes(shared.value, sha, name), options)

    return spark_df.mapInPandas(score, schema)


def _spark_empty(spark_df) -> pd.DataFrame:
    """An empty pandas frame with the columns (and Arrow-mapped types) of ``spark_df``."""
    import pandas as pd

    try:
        return spark_df.limit(0).toPandas()
    except Exception:  # a type Arrow cannot map: the columns are enough
        return pd.DataFrame(columns=spark_df.columns)
