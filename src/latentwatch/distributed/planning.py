"""Files cut into Dask partitions, on the data wing's file planning
(:mod:`latentwatch.data.files`): runs of whole Parquet row groups (its pieces) of at most
``partition_rows`` rows, or a whole CSV file, each read on a worker as
``latentwatch score`` reads the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from latentwatch.data.files import Piece, plan_pieces, read_row_groups, resolve_files
from latentwatch.data.io import iter_tables

# Rows per partition when files are read: runs of whole Parquet row groups up to this
# many rows (a CSV file is one partition).
PARTITION_ROWS = 1_000_000


@dataclass(frozen=True)
class Partition:
    """One partition of files: consecutive pieces (row groups) of one Parquet file, or,
    with no pieces, the whole file (a CSV file, or a Parquet file without rows).

    Attributes
    ----------
    path : str
    format : {"csv", "parquet"}
    pieces : tuple of Piece
    """

    path: str
    format: str
    pieces: tuple[Piece, ...] = ()

    @property
    def first_row(self) -> int:
        """Rows of the file before this partition."""
        return self.pieces[0].first_row - 1 if self.pieces else 0

    @property
    def rows(self) -> int | None:
        """Its rows; ``None`` for a whole CSV file (known once read)."""
        if not self.pieces:
            return None if self.format == "csv" else 0
        return sum(p.rows for p in self.pieces)

    @property
    def row_groups(self) -> tuple[int, ...] | None:
        """Its Parquet row groups; ``None``: the whole file."""
        return tuple(p.part for p in self.pieces) if self.pieces else None


def plan_partitions(paths: str | os.PathLike | Sequence[str | os.PathLike],
                    partition_rows: int = PARTITION_ROWS, fmt: str | None = None
                    ) -> list[Partition]:
    """The partitions of the files ``paths`` names (a file, a glob, a folder or a list;
    see :func:`latentwatch.data.files.resolve_files`), in order: runs of whole Parquet row
    groups of at most ``partition_rows`` rows (one group at least); a CSV file whole.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"x": range(5)}).to_parquet(f"{folder}/a.parquet", row_group_size=2)
    >>> [(p.first_row, p.rows, p.row_groups) for p in plan_partitions(folder, 3)]
    [(0, 2, (0,)), (2, 3, (1, 2))]
    """
    if not isinstance(partition_rows, int) or partition_rows < 1:
        raise ValueError(f"partition_rows={partition_rows!r}: expected a positive integer")
    files, found = resolve_files(paths, fmt)
    if found != "parquet":
        return [Partition(str(path), found) for path in files]
    by_file: dict[int, list[Piece]] = {}
    for piece in plan_pieces(files, found):
        by_file.setdefault(piece.file, []).append(piece)
    partitions = []
    for k, path in enumerate(files):
        run: list[Piece] = []
        for piece in by_file.get(k, []):
            if run and sum(p.rows for p in run) + piece.rows > partition_rows:
                partitions.append(Partition(str(path), found, tuple(run)))
                run = []
            run.append(piece)
        partitions.append(Partition(str(path), found, tuple(run)))
    return partitions


def csv_text_columns(model: Any, ids: Sequence[str]) -> list[str]:
    """CSV columns read as text, as ``latentwatch score`` reads them: the ids and the
    model's text-labelled columns."""
    text = [b.source for b in model.codec_.blocks
            if b.derive is not None or (b.kind != "numeric" and b.label_type == "str")]
    return list(dict.fromkeys([*ids, *text]))


def read_partition(partition: Partition, columns: Sequence[str] | None,
                   text_columns: Sequence[str] = (), numeric_columns: Sequence[str] = ()
                   ) -> pd.DataFrame:
    """The rows of one partition, read as :func:`latentwatch.data.io.iter_tables` reads
    them, with an index counting rows from 0 in the file."""
    if partition.format == "parquet":
        frame = read_row_groups(partition.path, partition.row_groups, columns)
    else:
        chunks = list(iter_tables(partition.path, fmt="csv", chunk_rows=1 << 62,
                                  columns=columns, text_columns=text_columns,
                                  numeric_columns=numeric_columns))
        frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    frame.index = pd.RangeIndex(partition.first_row, partition.first_row + len(frame))
    return frame


def empty_frame(partition: Partition, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """No rows, with the columns and types that :func:`read_partition` gives (a CSV
    file's from its first rows)."""
    if partition.format == "parquet":
        return read_row_groups(partition.path, [])
    first = next(iter_tables(partition.path, fmt="csv", chunk_rows=50,
                             text_columns=text_columns))
    return first.iloc[:0]
