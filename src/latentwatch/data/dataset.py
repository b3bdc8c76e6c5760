"""Tables larger than memory: a folder or glob of Parquet/CSV files read in pieces.

A :class:`TableDataset` is an ordered list of files (sorted paths) cut into *pieces*: a
Parquet row group, or a chunk of ``chunk_rows`` rows of a CSV file. Every row has a
global index (its position in the files taken in order), which is all the row splits
need: :func:`latentwatch.maths.hashed_uniforms` turns it into the row's uniform
draw, so whether a row validates, calibrates or trains does not depend on how the files
are cut, on the reader or on the process.

Fitting a codec takes two streaming passes with bounded memory (:func:`fit_codec_stream`):

1. a uniform sample of at most ``SCHEMA_SAMPLE_ROWS`` fitting rows (the rows with the
   smallest hashes of their global index: a *bottom-k* sample, exact and the same for any
   cutting of the files) from which the schema is inferred with
   :func:`~latentwatch.data.schema.resolve_schema`, as ``fit`` infers it from the whole
   table. On a table with fewer fitting rows the sample is the table, and the schema is
   the in-memory one; on a larger one the inference's shares (identifier-like text,
   skewness, integers with few values) are those of the sample;
2. the mergeable statistics of every modelled column
   (:class:`~latentwatch.data.statistics.TableStatistics`, the ones the in-memory fit
   takes over its one piece) over every fitting row, merged chunk by chunk: counts, gaps,
   minimum and maximum, integer-ness, decimals, and the mean and variance by Chan's
   pairwise update (exact up to rounding: the in-memory mean and scale agree to about
   1e-12 relative), label counts of categorical and datetime features and boolean
   spellings (exact while a column has at most
   :data:`~latentwatch.data.statistics.MAX_TRACKED_LABELS` distinct labels; beyond, the
   rarest half is dropped at each overflow, so the kept categories remain the most
   frequent but ``rare_values`` and ``rare_counts`` become estimates), and the training
   period of datetime columns.

The codec is a plain :class:`~latentwatch.data.codec.TableCodec` (same blocks, same
``to_dict``), so every model built on it saves, loads, scores, explains, reports and
samples like one fitted in memory. The same pass keeps the held-out rows (validation,
calibration, a sample of training rows) as raw rows, bounded by the caps of the split,
and notes values the model cannot read (file, row, column) so that a bad file fails
before training starts.

:class:`StreamingRows` is the torch ``IterableDataset`` that training reads: the
training pieces of an epoch in an order drawn from ``(seed, epoch)``, dealt to the
distributed ranks and then to the DataLoader workers so that each reads its own
(disjoint) pieces, encoded, with a bounded shuffle buffer, as float32 batches.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentwatch.data.codec import TableCodec
from latentwatch.data.files import Piece, plan_pieces, resolve_files
from latentwatch.data.io import _NULLABLE, CHUNK_ROWS, iter_tables
from latentwatch.data.schema import resolve_schema
from latentwatch.data.statistics import TableStatistics
from latentwatch.errors import DataError
from latentwatch.maths import hashed_uniforms

# Rows in the sample the schema is inferred from.
SCHEMA_SAMPLE_ROWS = 100_000
# Rows in the shuffle buffer of the training stream.
SHUFFLE_ROWS = 65_536
# At most this many bad values are quoted in a message.
QUOTED = 5


class TableDataset:
    """An ordered list of Parquet or CSV files read in pieces of bounded size.

    Parameters
    ----------
    path_or_glob : str or Path
        A folder, a glob or a file (see :func:`resolve_files`).
    fmt : {"csv", "parquet"} or None
        Overrides the extensions.
    chunk_rows : int, default=100_000
        Rows read at a time (a CSV piece; a Parquet row group is read in slices of this).
        Listing the pieces reads Parquet metadata only, but parses every CSV file once.
    text_columns : sequence of str
        Columns read as text (identifiers).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> for k in range(2):
    ...     pd.DataFrame({"x": [float(k), 1.0, 2.0]}).to_parquet(f"{folder}/p{k}.parquet")
    >>> data = TableDataset(folder)
    >>> data.n_rows, [p.start for p in data.pieces]
    (6, [0, 3])
    """

    def __init__(self, path_or_glob: str | Path, *, fmt: str | None = None,
                 chunk_rows: int = CHUNK_ROWS, text_columns: Sequence[str] = ()) -> None:
        self.path = str(path_or_glob)
        self.files, self.format = resolve_files(path_or_glob, fmt)
        self.chunk_rows = int(chunk_rows)
        self.text_columns = list(text_columns)
        self.pieces = plan_pieces(self.files, self.format, chunk_rows=self.chunk_rows,
                                  text_columns=self.text_columns)
        self.n_rows = sum(p.rows for p in self.pieces)
        if self.n_rows == 0:
            raise DataError(f"{self.path}: no data rows")

    def fingerprint(self) -> dict[str, Any]:
        """The files, their sizes and modification times: what a checkpoint must match."""
        return {"files": [str(p) for p in self.files], "format": self.format,
                "sizes": [os.path.getsize(p) for p in self.files],
                "mtimes": [int(os.path.getmtime(p)) for p in self.files],
                "rows": self.n_rows}

    def name(self, piece: Piece) -> str:
        return str(self.files[piece.file])

    def read(self, pieces: Sequence[Piece] | None = None, columns: Sequence[str] | None = None
             ) -> Iterator[tuple[Piece, int, pd.DataFrame]]:
        """``(piece, offset, rows)`` for the given pieces (all by default), in slices of at
        most ``chunk_rows`` rows; ``offset`` counts rows from the piece's first.

        Parquet pieces are read directly, in the order given; CSV files are read from
        their start, in file order, and only the asked pieces are kept (convert to
        Parquet to read a shard of a large dataset quickly).
        """
        pieces = list(self.pieces if pieces is None else pieces)
        if self.format == "parquet":
            for piece in pieces:
                yield from self._parquet_piece(piece, columns)
            return
        wanted: dict[int, dict[int, Piece]] = {}
        for piece in pieces:
            wanted.setdefault(piece.file, {})[piece.part] = piece
        for k in sorted(wanted):
            chunks = iter_tables(self.files[k], fmt="csv", chunk_rows=self.chunk_rows,
                                 columns=columns, text_columns=self.text_columns)
            last = max(wanted[k])
            for part, chunk in enumerate(chunks):
                if part in wanted[k]:
                    yield wanted[k][part], 0, chunk
                if part >= last:
                    break

    def _parquet_piece(self, piece: Piece, columns: Sequence[str] | None
                       ) -> Iterator[tuple[Piece, int, pd.DataFrame]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = self.name(piece)
        try:
            handle = pq.ParquetFile(name)
            missing = [c for c in (columns or ()) if c not in handle.schema_arrow.names]
            if missing:
                raise DataError(f"{name}: column {missing[0]!r} is missing (it has: "
                                f"{', '.join(handle.schema_arrow.names[:20])})")
            offset = 0
            for batch in handle.iter_batches(batch_size=self.chunk_rows, row_groups=[piece.part],
                                             columns=list(columns) if columns else None):
                frame = batch.to_pandas(types_mapper=_NULLABLE.get)
                yield piece, offset, frame
                offset += len(frame)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{name}: not a readable Parquet file "
                            f"({' '.join(str(exc).split())})") from exc


# -- the row splits of a stream -----------------------------------------------------------
@dataclass(frozen=True)
class StreamSplit:
    """Which rows of a dataset train, validate, calibrate, or sample the training rows.

    A row whose uniform draw ``u`` (:func:`~latentwatch.maths.hashed_uniforms` of
    its global index) is below ``calibration`` calibrates, below ``calibration +
    validation`` validates, and trains otherwise; training rows below ``calibration +
    validation + training_sample`` are also in the training sample (the rows a
    contamination threshold, the prior and the initial logits are fitted on).
    """

    key: int
    calibration: float
    validation: float
    training_sample: float

    def codes(self, start: int, n: int) -> np.ndarray:
        """Per row: 0 train, 1 validate, 2 calibrate, 3 train and in the training sample."""
        u = hashed_uniforms(self.key, start, n)
        cal, val = self.calibration, self.calibration + self.validation
        out = np.where(u < cal, 2, np.where(u < val, 1, 0)).astype(np.int8)
        out[(u >= val) & (u < val + self.training_sample)] = 3
        return out

    def to_dict(self) -> dict[str, float]:
        return {"key": self.key, "calibration": self.calibration,
                "validation": self.validation, "training_sample": self.training_sample}


# -- statistics --------------------------------------------------------------------------
class CodecStatistics:
    """The :class:`~latentwatch.data.statistics.TableStatistics` of the modelled columns
    merged chunk by chunk, and the values they could not read (named by file, row and
    column); ``codec()`` gives the :class:`TableCodec` that ``TableCodec(schema).fit``
    gives on all the rows at once (see the module docstring for where it is an estimate).

    Parameters
    ----------
    schema : TableSchema
        The resolved schema.
    sample : DataFrame
        The schema sample: the label types of categorical and boolean columns and, with
        ``numeric_transform`` ``"quantile"`` or ``"mixed"``, the quantile knots (and the
        discrete-column test) come from its values, with the first and last knot set to
        the exact minimum and maximum of the whole dataset.
    numeric_transform : {"standard", "quantile", "mixed"}
        As for :class:`~latentwatch.data.codec.TableCodec`.
    """

    def __init__(self, schema, sample: pd.DataFrame, numeric_transform: str = "standard"
                 ) -> None:
        self.schema = schema
        self.statistics = TableStatistics(schema, sample, numeric_transform)
        self.problems: list[str] = []
        self.n_problems = 0

    def add(self, frame: pd.DataFrame, fitting: np.ndarray, name: str, first_row: int) -> None:
        """Merge a chunk: ``fitting`` marks its rows the codec learns from (the others
        only count for gaps); ``first_row`` is the chunk's first row number in ``name``."""
        for spec in self.schema.columns:
            if spec.name not in frame.columns:
                raise DataError(f"{name}: column {spec.name!r} is missing (the schema "
                                f"reads: {', '.join(self.schema.names[:20])})")
        unreadable = self.statistics.update(frame, fitting)
        for column, found in unreadable.items():
            raw = frame[column]
            for problem in found:
                if problem.fatal and problem.mask.any():
                    row = int(np.argmax(problem.mask))
                    raise DataError(f"{name}: row {first_row + row}, column {column!r}: "
                                    f"{raw.iloc[row]!r} {problem.message}; rescale the column "
                                    "or exclude it")
                self._note(problem.mask, raw, name, first_row, problem.message)

    def _note(self, bad: np.ndarray, raw: pd.Series, name: str, first_row: int,
              message: str) -> None:
        rows = np.flatnonzero(bad)
        self.n_problems += len(rows)
        for row in rows[:QUOTED - len(self.problems)]:
            self.problems.append(f"{name}: row {first_row + row}, column {raw.name!r}: "
                                 f"{raw.iloc[row]!r} {message}")

    def raise_for_problems(self) -> None:
        """A :class:`DataError` quoting the first bad values, if any."""
        if self.problems:
            more = "; ..." if self.n_problems > len(self.problems) else ""
            raise DataError(f"{self.n_problems} values cannot be used: "
                            f"{'; '.join(self.problems)}{more}; fix them, or skip the bad "
                            "rows (skip_bad_rows=True, --skip-bad-rows)")

    def codec(self) -> TableCodec:
        """The fitted codec."""
        return TableCodec.from_statistics(self.statistics)


# -- the two passes ----------------------------------------------------------------------
@dataclass
class StreamFit:
    """What the statistics passes give: the codec and the held-out rows (raw).

    Attributes
    ----------
    codec : TableCodec
    validation, calibration, training_sample : pandas.DataFrame
        The held-out rows and the sample of training rows (model columns), in row order.
    n_rows : int
        Rows of the dataset.
    counts : dict
        Rows per split: ``train``, ``validation``, ``calibration``.
    """

    codec: TableCodec
    validation: pd.DataFrame
    calibration: pd.DataFrame
    training_sample: pd.DataFrame
    n_rows: int
    counts: dict[str, int]


def schema_sample(data: TableDataset, split: StreamSplit, size: int = SCHEMA_SAMPLE_ROWS
                  ) -> pd.DataFrame:
    """The (at most ``size``) fitting rows with the smallest hashes, in row order: a
    uniform sample that does not depend on how the files are cut."""
    kept: list[pd.DataFrame] = []
    keys: list[np.ndarray] = []
    bound = np.inf
    for piece, offset, frame in data.read():
        start = piece.start + offset
        u = hashed_uniforms(split.key ^ 0x5A17, start, len(frame))
        fitting = split.codes(start, len(frame)) != 2
        take = fitting & (u < bound)
        if not take.any():
            continue
        rows = frame.loc[take].copy()
        rows.index = start + np.flatnonzero(take)
        kept.append(rows)
        keys.append(u[take])
        if sum(len(k) for k in keys) > 2 * size:
            kept, keys, bound = _smallest(kept, keys, size)
    kept, keys, _ = _smallest(kept, keys, size)
    if not kept:
        raise DataError(f"{data.path}: no rows to fit on")
    sample = pd.concat(kept).sort_index()
    return sample.reset_index(drop=True)


def _smallest(kept: list[pd.DataFrame], keys: list[np.ndarray], size: int):
    if not kept:
        return kept, keys, np.inf
    frame = pd.concat(kept)
    key = np.concatenate(keys)
    if len(key) <= size:
        return [frame], [key], np.inf
    order = np.argsort(key, kind="stable")[:size]
    return [frame.iloc[order]], [key[order]], float(key[order[-1]])


def fit_codec_stream(data: TableDataset, schema: Any, split: StreamSplit, *,
                     sample_rows: int = SCHEMA_SAMPLE_ROWS, skip_bad_rows: bool = False,
                     numeric_transform: str = "standard") -> StreamFit:
    """Fit a codec on a dataset in two streaming passes and keep the held-out rows.

    Parameters
    ----------
    data : TableDataset
    schema : TableSchema, dict, "infer" or None
        As for :class:`TableCodec` (resolved on the schema sample).
    split : StreamSplit
    sample_rows : int
        Rows of the schema sample.
    skip_bad_rows : bool
        Do not refuse values the model cannot read (training then drops their rows).
    numeric_transform : {"standard", "quantile", "mixed"}
        As for :class:`TableCodec`; quantile knots come from the schema sample, their ends
        from the whole dataset's extremes (see :class:`CodecStatistics`).

    Returns
    -------
    StreamFit

    Raises
    ------
    DataError
        A missing column, nothing to model, or (unless ``skip_bad_rows``) values the model
        cannot read, naming file, row and column.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> for k in range(3):
    ...     pd.DataFrame({"x": rng.normal(size=100)}).to_parquet(f"{folder}/p{k}.parquet")
    >>> fitted = fit_codec_stream(TableDataset(folder), None, StreamSplit(1, 0.0, 0.1, 0.1))
    >>> fitted.codec.names, fitted.counts["train"] + fitted.counts["validation"]
    (['x'], 300)
    """
    sample = schema_sample(data, split, sample_rows)
    resolved = resolve_schema(schema, sample, data.path)
    stats = CodecStatistics(resolved, sample, numeric_transform)
    held: dict[int, list[pd.DataFrame]] = {1: [], 2: [], 3: []}
    counts = {"train": 0, "validation": 0, "calibration": 0}
    for piece, offset, frame in data.read():
        start = piece.start + offset
        codes = split.codes(start, len(frame))
        stats.add(frame, codes != 2, data.name(piece), piece.first_row + offset)
        for code in held:
            rows = frame.loc[codes == code]
            if len(rows):
                rows.index = start + np.flatnonzero(codes == code)
                held[code].append(rows[resolved.names])
        counts["train"] += int(np.isin(codes, (0, 3)).sum())
        counts["validation"] += int((codes == 1).sum())
        counts["calibration"] += int((codes == 2).sum())
    if not skip_bad_rows:
        stats.raise_for_problems()
    if not resolved.columns:
        raise DataError(f"{data.path}: no column left to model")
    empty = pd.DataFrame({c: sample[c].iloc[:0] for c in resolved.names})
    joined = {code: pd.concat(parts) if parts else empty for code, parts in held.items()}
    return StreamFit(stats.codec(), joined[1], joined[2], joined[3], data.n_rows, counts)


# -- the training stream -----------------------------------------------------------------
def deal_pieces(pieces: Sequence[Piece], weights: Sequence[int], n_shards: int,
                order: np.ndarray) -> list[list[Piece]]:
    """Deal pieces (taken in ``order``) to ``n_shards`` shards, each to the shard with the
    fewest rows so far (ties to the lowest shard): disjoint shards whose sizes differ by at
    most one piece.

    >>> parts = [Piece(0, k, 10 * k, 10, 1) for k in range(4)]
    >>> [[p.part for p in s] for s in deal_pieces(parts, [10, 10, 10, 10], 2, np.arange(4))]
    [[0, 2], [1, 3]]
    """
    shards: list[list[Piece]] = [[] for _ in range(n_shards)]
    sizes = np.zeros(n_shards, dtype=np.int64)
    for k in order:
        target = int(np.argmin(sizes))
        shards[target].append(pieces[k])
        sizes[target] += weights[k]
    return shards


def _torch_iterable():
    from torch.utils.data import IterableDataset

    return IterableDataset


class StreamingRows(_torch_iterable()):
    """The training rows of a dataset as shuffled float32 batches, one shard per reader.

    Each epoch the pieces are put in an order drawn from ``(seed, epoch)`` and dealt to
    ``world_size * num_workers`` shards (:func:`deal_pieces`, by their training rows): rank
    ``r``'s worker ``w`` reads shard ``r * num_workers + w`` only. Rows are encoded,
    the training rows kept (bad rows dropped when ``skip_bad_rows``, else a
    :class:`DataError` naming file, row and column), and pass through a shuffle buffer of
    ``shuffle_rows`` rows: when it is full it is permuted and all but half of it leaves
    as batches; at the end the rest leaves, permuted. Every draw comes from ``(seed, epoch,
    shard)``, so an epoch's batches are the same on every run, and after a resume.

    Parameters
    ----------
    data : TableDataset
    codec : TableCodec
        Fitted.
    split : StreamSplit
    batch_size : int
        Rows per batch (of one rank).
    seed : int
    rank, world_size : int
    shuffle_rows : int
    skip_bad_rows : bool
    num_workers : int
        DataLoader workers per rank (0: read in the training process).
    """

    def __init__(self, data: TableDataset, codec: TableCodec, split: StreamSplit, *,
                 batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 shuffle_rows: int = SHUFFLE_ROWS, skip_bad_rows: bool = False,
                 num_workers: int = 0) -> None:
        self.data = data
        self.codec = codec
        self.split = split
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.shuffle_rows = max(int(shuffle_rows), 2 * self.batch_size)
        self.skip_bad_rows = skip_bad_rows
        self.num_workers = int(num_workers)
        self.epoch = 0
        self.weights = [self._training_rows(p) for p in data.pieces]

    def __getstate__(self) -> dict[str, Any]:
        """Workers get the codec as its JSON form, never a pickled object."""
        state = dict(self.__dict__)
        state["codec"] = json.dumps(self.codec.to_dict())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        from latentwatch.data import codec_from_dict

        state = dict(state)
        state["codec"] = codec_from_dict(json.loads(state["codec"]))
        self.__dict__.update(state)

    def _training_rows(self, piece: Piece) -> int:
        return int(np.isin(self.split.codes(piece.start, piece.rows), (0, 3)).sum())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, *parts]))

    def shards(self, epoch: int) -> list[list[Piece]]:
        """The pieces of every shard (rank-major, then worker) in epoch ``epoch``."""
        workers = max(self.num_workers, 1)
        order = self._rng(epoch).permutation(len(self.data.pieces))
        return deal_pieces(self.data.pieces, self.weights, self.world_size * workers, order)

    def shard_of(self, epoch: int, worker: int = 0) -> list[Piece]:
        return self.shards(epoch)[self.rank * max(self.num_workers, 1) + worker]

    def __iter__(self):
        import torch

        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else info.id
        shard = self.rank * max(self.num_workers, 1) + worker
        rng = self._rng(self.epoch, shard, 1)
        buffer = np.empty((0, self.codec.packed_width), dtype=np.float32)
        for rows in self._rows(self.shard_of(self.epoch, worker)):
            buffer = np.concatenate([buffer, rows])
            if len(buffer) >= self.shuffle_rows:
                buffer = buffer[rng.permutation(len(buffer))]
                n_out = (len(buffer) - self.shuffle_rows // 2) // self.batch_size
                for k in range(n_out):
                    yield torch.from_numpy(buffer[k * self.batch_size:(k + 1) * self.batch_size])
                buffer = buffer[n_out * self.batch_size:].copy()
        buffer = buffer[rng.permutation(len(buffer))]
        for start in range(0, len(buffer), self.batch_size):
            yield torch.from_numpy(buffer[start:start + self.batch_size])

    def _rows(self, pieces: Sequence[Piece]) -> Iterator[np.ndarray]:
        """Encoded training rows of the pieces, piece by piece."""
        for piece, offset, frame in self.data.read(pieces, self.codec.sources):
            start = piece.start + offset
            keep = np.isin(self.split.codes(start, len(frame)), (0, 3))
            encoded = self.codec.encode(frame, source=self.data.name(piece))
            if encoded.problems and not self.skip_bad_rows:
                encoded.raise_for_problems(self.data.name(piece), piece.first_row + offset)
            keep &= ~encoded.bad
            yield encoded.packed[keep].astype(np.float32)

    def row_indices(self, epoch: int) -> np.ndarray:
        """Global indices of the training rows this rank reads in ``epoch`` (all workers):
        what the tests check the shards with."""
        out = []
        for worker in range(max(self.num_workers, 1)):
            for piece in self.shard_of(epoch, worker):
                codes = self.split.codes(piece.start, piece.rows)
                out.append(piece.start + np.flatnonzero(np.isin(codes, (0, 3))))
        return np.sort(np.concatenate(out)) if out else np.empty(0, dtype=np.int64)
