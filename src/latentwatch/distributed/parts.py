"""Scores written as a folder of Parquet parts (``latentwatch score --engine dask``):
one part per input partition, each written atomically in a staging folder, the parts of
an earlier run replaced only once every new part is written, and a ``_SUCCESS`` manifest
written last.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from latentwatch.atomic import host_name, process_alive, replace_atomically, temp_file
from latentwatch.distributed.dask import score_dask
from latentwatch.distributed.extras import require
from latentwatch.distributed.planning import PARTITION_ROWS, plan_partitions
from latentwatch.errors import DataError

SUCCESS = "_SUCCESS"
_PART = "part-{:05d}.parquet"
_OWN = re.compile(r"^(part-[0-9]{5,}\.parquet|_SUCCESS|\.latentwatch-.*)$")
_PART_NAME = re.compile(r"^part-[0-9]{5,}\.parquet$")
_STAGING = re.compile(r"^\.latentwatch-(?P<host>[A-Za-z0-9_.-]+)-(?P<pid>[0-9]+)-run$")
_NO_PART = {"part": "", "rows": 0, "flagged": 0, "bad": 0, "reasons": []}


def prepare_out(out: Path) -> None:
    """``out`` as a folder for parts: created if missing; refused if it is a file or holds
    anything but an earlier run's parts (so that nothing of the user's is replaced)."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: is a file; --out names a folder for the Parquet parts")
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(n for n in os.listdir(out) if not _OWN.match(n))
    if foreign:
        raise DataError(f"{out}: holds {foreign[0]!r}, which is not a part of scores; write "
                        "the parts to an empty or new folder")


def write_part(table: pd.DataFrame, staging: str, name: str, keep_bad_rows: bool) -> dict:
    """Write one scored part (``reason`` kept with ``keep_bad_rows``) to ``staging/name``
    atomically, unless it has bad rows that are not to be kept; its summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

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
        replace_atomically(tmp, os.path.join(staging, name))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return summary


def _staging(out: Path) -> Path:
    return out / f".latentwatch-{host_name()}-{os.getpid()}-run"


def _remove_dead_staging(out: Path) -> None:
    """Remove the staging folders that runs on this host left when they were killed."""
    for name in os.listdir(out):
        match = _STAGING.match(name)
        if match and match["host"] == host_name() and not process_alive(int(match["pid"])):
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
    on_part: Callable[[dict], None] | None = None,
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
        As :func:`~latentwatch.distributed.score_dask` (``paths``: files, a glob, a
        folder or a list).
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
    import dask

    out = Path(out)
    partitions = plan_partitions(paths, partition_rows, fmt)
    files = list(dict.fromkeys(p.path for p in partitions))
    for path in files:
        if os.path.realpath(path).startswith(os.path.realpath(out) + os.sep):
            raise DataError(f"{out}: holds the input file {path}; write the parts elsewhere")
    prepare_out(out)
    _remove_dead_staging(out)
    scored = score_dask(model, files, top_k=top_k, id_columns=id_columns,
                        keep_bad_rows=True, partition_rows=partition_rows, fmt=fmt,
                        advice=advice)
    staging = _staging(out)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    names = [_PART.format(i) for i in range(len(partitions))]
    try:
        write = dask.delayed(write_part, pure=False)
        tasks = [write(part, str(staging), name, keep_bad_rows)
                 for part, name in zip(scored.to_delayed(), names, strict=True)]
        summaries = _run(tasks, client, retries, keep_bad_rows, on_part)
        bad = [(p, s) for p, s in zip(partitions, summaries, strict=True) if s["bad"]]
        if bad and not keep_bad_rows:
            partition, summary = bad[0]
            quoted = "; ".join(f"row {row + 1}, {reason}" for row, reason in
                               summary["reasons"])
            total = sum(s["bad"] for p, s in bad if p.path == partition.path)
            noun = "row cannot" if total == 1 else "rows cannot"
            more = "; ..." if total > len(summary["reasons"]) else ""
            raise DataError(f"{partition.path}: {total} {noun} be used: {quoted}{more}; fix "
                            f"them or {advice} to give them an empty score")
        _replace_parts(out, staging, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = {"parts": [{"part": n, "source": p.path, "first_row": p.first_row,
                           "rows": s["rows"]} for n, p, s in zip(names, partitions, summaries,
                                                                    strict=True)],
                "rows": sum(s["rows"] for s in summaries)}
    tmp = temp_file(out)
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    replace_atomically(tmp, out / SUCCESS)
    reasons = [(p.path, row + 1, reason) for p, s in zip(partitions, summaries, strict=True)
               for row, reason in s["reasons"]]
    return {"rows": manifest["rows"], "flagged": sum(s["flagged"] for s in summaries),
            "bad": sum(s["bad"] for s in summaries), "parts": len(names), "files": len(files),
            "reasons": [f"{path}: row {row}, {reason}" for path, row, reason in reasons[:5]]}


def _replace_parts(out: Path, staging: Path, names: Sequence[str]) -> None:
    """The new parts in place of an earlier run's: ``_SUCCESS`` goes first, stale parts
    next, then each new part is renamed from ``staging``."""
    old = [n for n in os.listdir(out) if _PART_NAME.match(n) or n == SUCCESS]
    if SUCCESS in old:
        os.unlink(out / SUCCESS)
    for name in old:
        if name != SUCCESS and name not in names:
            os.unlink(out / name)
    for name in names:
        os.replace(staging / name, out / name)


def _run(tasks: list, client, retries: int, keep_bad_rows: bool,
         on_part: Callable[[dict], None] | None) -> list[dict]:
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
        return results + [_NO_PART] * (len(tasks) - len(results))
    from distributed import as_completed

    futures = client.compute(tasks, retries=retries)
    order = {f.key: i for i, f in enumerate(futures)}
    found: list[dict | None] = [None] * len(futures)
    try:
        for future in as_completed(futures):
            summary = future.result()
            found[order[future.key]] = summary
            if on_part is not None:
                on_part(summary)
            if summary["bad"] and not keep_bad_rows:
                break
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [r if r is not None else _NO_PART for r in found]
