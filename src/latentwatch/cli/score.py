"""The scoring commands: ``score`` (a scored row per input row, in chunks, in one process
or on Dask) and ``explain`` (the columns behind the highest or chosen rows).

Heavy modules (pandas, torch, scikit-learn) are imported inside the commands.
"""

from __future__ import annotations

import heapq
import json
from enum import Enum
from typing import Annotated, Any

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.console import literal_console, shows_progress
from latentwatch.cli.errors import fail
from latentwatch.cli.reading import (
    MAX_ROWS_PICKED,
    ModelInput,
    load_model,
    parse_rows,
    read_options,
    write_text,
)


# -- score ---------------------------------------------------------------------------------
class Engine(str, Enum):
    """Where ``score`` runs."""

    local = "local"
    dask = "dask"


def score(
    model: opt.Model,
    data: opt.Data,
    out: opt.TableOut = opt.STDIO,
    top_k: Annotated[int, opt.top_k()] = 3,
    id_column: opt.IdColumns = None,
    keep_bad_rows: Annotated[bool, typer.Option(
        "--keep-bad-rows", help="Give rows that cannot be scored an empty score and a "
        "reason instead of failing.")] = False,
    chunk_rows: opt.ChunkRows = opt.SCORE_CHUNK_ROWS,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    out_format: opt.OutFormat = None,
    device: opt.Device = None,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="local: in this process, streamed. dask: partition by partition "
        "on a Dask cluster; DATA may then be a glob or a folder of Parquet/CSV files and "
        "--out is a folder of Parquet parts, one per input partition, with _SUCCESS "
        "written last.")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", show_default="a local cluster on 127.0.0.1",
        help="--engine dask: address of a running Dask scheduler, e.g. "
        "tcp://127.0.0.1:8786 (its workers must see DATA and --out).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, show_default="the CPU count",
        help="--engine dask without --scheduler: worker processes of the local cluster "
        "(one thread each).")] = None,
    partition_rows: Annotated[int, typer.Option(
        "--partition-rows", min=1, help="--engine dask: the most rows per partition (runs "
        "of whole Parquet row groups; a CSV file is one partition).")] = 1_000_000,
    events: Annotated[str | None, typer.Option(
        "--events", show_default=False,
        help="A time-series model: also write its events (runs of consecutive flagged "
        "rows: start, end, peak and the channels behind them) to this CSV file.")] = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Score every row of DATA, in order, one output row per input row.

    Columns: the id columns, score (higher is more anomalous), is_anomaly (at the
    model's threshold), p_value (when the model has calibration scores), then
    top1, top1_nats, ... (the columns contributing most); a time-series model also
    copies its time column after the ids. DATA is read and scored in
    chunks, so memory does not grow with it; a summary goes to stderr. With --engine
    dask the partitions are scored on a Dask cluster, with the same scores bit for bit.

    [bold]Example:[/bold] latentwatch score fraud.lwm new.csv -o scores.csv -k 2

    [bold]Example:[/bold] latentwatch score fraud.lwm 'data/*.parquet' --engine dask -o scores/
    """
    if events is not None and engine is Engine.dask:
        fail("--events needs --engine local: an event can run across partitions")
    if engine is Engine.dask:
        from latentwatch.cli.dask_engine import score_on_dask

        if not read_options(decimal, thousands, encoding).plain:
            fail("--decimal, --thousands and --encoding read one file: --engine dask reads "
                 "plain UTF-8 CSV or Parquet")

        return score_on_dask(model=model, data=data, out=out, top_k=top_k, ids=id_column,
                             keep_bad_rows=keep_bad_rows, fmt=opt.value(fmt),
                             out_format=opt.value(out_format), device=device, quiet=quiet,
                             scheduler=scheduler, workers=workers,
                             partition_rows=partition_rows, verify_key=verify_key)
    if scheduler is not None or workers is not None:
        fail(f"{'--scheduler' if scheduler is not None else '--workers'} needs --engine dask")
    from tqdm.auto import tqdm

    from latentwatch.data.codec import Problem, describe_problems
    from latentwatch.data.io import TableWriter
    from latentwatch.service import chunk_rows as rows_per_chunk
    from latentwatch.service import score_table

    detector = load_model(model, device, verify_key)
    if events is not None and detector.window_ is None:
        fail("--events is for a time-series model (fitted with --time-column or --window); "
             "this model scores each row alone")
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=id_column or None,
                        options=read_options(decimal, thousands, encoding))
    source = reader.source
    collector = None
    if events is not None:
        from latentwatch.series import EventCollector
        from latentwatch.service import event_rows

        collector = EventCollector(detector.codec_.channels)
    first: list[Problem] = []
    n_bad = n_rows = n_flagged = 0
    bar = tqdm(disable=not shows_progress(quiet), unit=" rows", desc="scoring")
    context = None
    chunks = reader.chunks(rows_per_chunk(detector, chunk_rows))
    with TableWriter(out, opt.value(out_format)) as writer:
        for chunk in chunks:
            if not len(chunk):
                continue
            scored = score_table(detector, chunk, top_k=top_k, id_columns=reader.ids,
                                 source=source, context=context)
            context = scored.carry
            problems = scored.problems
            first += [Problem(p.position + n_rows, p.column, p.value, p.message)
                      for p in problems[:5 - len(first)]]
            n_bad += len(problems)
            n_rows += len(chunk)
            if problems and not keep_bad_rows:
                for rest in chunks:  # count them all, for the message
                    n_bad += int(detector.codec_.encode(rest, source).bad.sum())
                fail(f"{source}: {describe_problems(first, total=n_bad)}; fix them or pass "
                     "--keep-bad-rows to give them an empty score")
            table = scored.table if keep_bad_rows else scored.table.drop(columns="reason")
            writer.write(table)
            if collector is not None:
                collector.add(*event_rows(detector, scored, chunk))
            n_flagged += int(table["is_anomaly"].fillna(False).sum())
            bar.update(len(chunk))
        bar.close()
        if n_rows == 0:
            fail(f"{source}: no data rows")
    if not quiet:
        offset = detector.offset_
        line = "no threshold yet" if offset is None else f"above the threshold {-offset:.4g}"
        bad = (f"; {n_bad:,} rows could not be scored: {describe_problems(first, total=n_bad)}"
               if n_bad else "")
        typer.echo(f"scored {n_rows:,} rows: {n_flagged:,} anomalies "
                   f"({n_flagged / n_rows:.2%}) {line}{bad}", err=True)
    if collector is not None:
        found = write_events(collector.events(), events)
        if not quiet:
            typer.echo(f"{len(found):,} events (runs of flagged rows) written to {events}",
                       err=True)


def write_events(found: list, path: str) -> list:
    """Write events as CSV: ``start_row``, ``end_row`` and ``peak_row`` (from 1, the first
    row after the header), their times, ``rows``, ``peak_score`` and ``channels``."""
    import pandas as pd

    from latentwatch.data.io import TableWriter

    frame = pd.DataFrame({
        "start_row": [e.start + 1 for e in found], "end_row": [e.end + 1 for e in found],
        "start_time": [e.start_time for e in found], "end_time": [e.end_time for e in found],
        "rows": [e.rows for e in found], "peak_row": [e.peak + 1 for e in found],
        "peak_time": [e.peak_time for e in found],
        "peak_score": [e.peak_score for e in found],
        "channels": [e.channel_text() for e in found]})
    with TableWriter(path, "csv") as writer:
        writer.write(frame)
    return found


def event_document(event) -> dict[str, Any]:
    """An event as ``explain --json`` writes it: rows counted from 1."""
    out = event.to_dict()
    for key in ("start", "end", "peak"):
        out[f"{key}_row"] = out.pop(key) + 1
    return out


def event_text(event) -> str:
    """``rows 632-922 (11:25:35 to 11:30:38), 291 rows, peak at row 692 (score 123.1);
    channels: Flow 92%``."""
    when = (f" ({event.start_time} to {event.end_time})" if event.start_time is not None
            else "")
    return (f"rows {event.start + 1}-{event.end + 1}{when}, {event.rows} rows, peak at row "
            f"{event.peak + 1} (score {event.peak_score:.4g}); channels: "
            f"{event.channel_text() or '-'}")


def pd_numeric(values) -> bool:
    """Whether a time column's values are numbers (not timestamps)."""
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(values.dtype)
                and not pd.api.types.is_bool_dtype(values.dtype))


def pd_timestamp(seconds: float):
    """Seconds since 1970 (UTC) as a timestamp without a zone."""
    import pandas as pd

    return pd.Timestamp(round(seconds * 1e9))


# -- explain -------------------------------------------------------------------------------
def explain(
    model: opt.Model,
    data: opt.Data,
    rows: Annotated[str | None, typer.Option(
        "--rows", "-r", show_default="the -n highest-scoring rows",
        help="Rows to explain, e.g. 3,17,40-45 (from 1, the first row after the header).")
                    ] = None,
    n: Annotated[int, opt.n_rows("Without --rows: explain this many highest-scoring rows.",
                                 minimum=1, maximum=MAX_ROWS_PICKED)] = 5,
    top_k: Annotated[int, opt.top_k(1, "Cells named per row, the largest attribution "
                                       "first.")] = 5,
    id_column: opt.IdColumns = None,
    chunk_rows: opt.ChunkRows = opt.CHUNK_ROWS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanations as JSON "
                                                         "instead of text.")] = False,
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default=False,
        help="Also write the explanations as JSON to this file.")] = None,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    device: opt.Device = None,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Explain rows of DATA: score, verdict, and the cells that make each row unusual,
    with the value observed and the value the model expects given the other columns.
    Cells are ranked by how much the score falls (nats, the number before each) when the
    cell holds its expected value (--json: as JSON, one object per row with its row
    number, ids, score, verdict and contributions, each with its attribution and its part
    of the score; --out: also to a file).
    For a time-series model: the channels behind the score, with the times of their steps,
    and (without --rows) the event, the run of flagged rows, a flagged row belongs to.

    [bold]Example:[/bold] latentwatch explain fraud.lwm new.csv --rows 3,17 -k 3
    """
    import numpy as np

    from latentwatch.explain import explain_encoded, format_nats, json_value
    from latentwatch.service import chunk_rows as rows_per_chunk
    from latentwatch.service import context_rows, next_context, score_table

    detector = load_model(model, device, verify_key)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=id_column or None,
                        options=read_options(decimal, thousands, encoding))
    source = reader.source
    wanted = parse_rows(rows) if rows is not None else None
    picked: list[tuple[int, Any]] = []
    best: list[tuple[float, int, Any]] = []
    n_seen = 0
    series = context_rows(detector) is not None
    context = None
    collector = None
    if series and wanted is None:
        from latentwatch.series import EventCollector
        from latentwatch.service import event_rows

        collector = EventCollector(detector.codec_.channels)

    def before(chunk, position: int, bad) -> Any:
        """The context of row ``position`` of ``chunk`` scored alone."""
        if not series:
            return None
        return next_context(detector, chunk.iloc[:position], bad[:position], context)

    for chunk in reader.chunks(rows_per_chunk(detector, chunk_rows)):
        if wanted is not None:
            positions = [r - 1 - n_seen for r in wanted if n_seen < r <= n_seen + len(chunk)]
            bad = (detector.codec_.encode(chunk, source, context=context).bad if series
                   else None)
            picked += [(n_seen + p + 1, (chunk.iloc[[p]], before(chunk, p, bad)))
                       for p in positions]
        else:
            scored = score_table(detector, chunk, top_k=0, source=source, context=context)
            scores, bad = scored.table["score"], scored.encoded.bad
            if collector is not None:
                collector.add(*event_rows(detector, scored, chunk))
            for position in np.flatnonzero(scores.notna().to_numpy()):
                key = (float(scores.iat[position]), -(n_seen + int(position) + 1))
                if len(best) < n:
                    heapq.heappush(best, (*key, (chunk.iloc[[position]],
                                                 before(chunk, position, bad))))
                elif key > best[0][:2]:
                    heapq.heapreplace(best, (*key, (chunk.iloc[[position]],
                                                    before(chunk, position, bad))))
        if series:
            context = next_context(detector, chunk, bad, context)
        n_seen += len(chunk)
    if n_seen == 0:
        fail(f"{source}: no data rows")
    if wanted is not None:
        past = [r for r in wanted if r > n_seen]
        if past:
            fail(f"{source}: --rows {past[0]} is past the end ({n_seen:,} rows, counted from 1 "
                 "after the header)")
    else:
        picked = [(-number, row) for _, number, row in
                  sorted(best, key=lambda item: item[:2], reverse=True)]
    offset = detector.offset_
    threshold = "no threshold yet" if offset is None else f"threshold {format_nats(-offset)}"
    found = {} if collector is None else {row: event for event in collector.events()
                                          for row in range(event.start, event.end + 1)}
    console = literal_console()
    documents: list[dict[str, Any]] = []
    for number, (row, preceding) in picked:
        scored = score_table(detector, row.reset_index(drop=True), top_k=0, source=source,
                             keep_shown=True, context=preceding)
        label = "  ".join(f"{c}={row[c].iloc[0]}" for c in reader.ids)
        head = f"row {number}" + (f"  {label}" if label else "")
        ids = {c: json_value(row[c].iloc[0]) for c in reader.ids}
        if scored.problems:
            reason = scored.problems[0]
            documents.append({"row": number, **ids, "score": None,
                              "reason": f"column {reason.column!r}: {reason.message}"})
            if not as_json:
                console.print(f"{head}  cannot be scored: column {reason.column!r}: "
                              f"{reason.message}", markup=False)
            continue
        explanation = explain_encoded(detector, scored.encoded, top_k=top_k,
                                      scores=(scored.scores, scored.parts))[0]
        event = found.get(number - 1)
        documents.append({**ids, **explanation.to_dict(offset is not None), "row": number,
                          **({"event": event_document(event)} if event else {})})
        if as_json:
            continue
        verdict = "no verdict"
        if offset is not None:
            verdict = "anomaly" if explanation.is_anomaly else "normal"
        console.print(f"{head}  score {format_nats(explanation.score)} ({verdict}; "
                      f"{threshold})", markup=False)
        for item in explanation.contributions:
            console.print(f"  {format_nats(item.attribution, sign=True):>9}  {item}",
                          markup=False)
        if detector.window_ is not None:
            from latentwatch.series import describe_channels

            column = detector.codec_.time_column
            when = None
            if column is not None:
                from latentwatch.data.windows import parse_times

                seconds = parse_times(row[column])[0][0]
                when = (seconds if pd_numeric(row[column]) else
                        pd_timestamp(seconds)) if np.isfinite(seconds) else None
            console.print("  by channel: "
                          f"{describe_channels(detector.codec_, scored.parts[0], when=when)}",
                          markup=False)
            if event is not None:
                console.print(f"  event: {event_text(event)}", markup=False)
    text = json.dumps({"threshold": None if offset is None else -offset, "rows": documents},
                      indent=2)
    if out is not None:
        write_text(out, text + "\n")
    if as_json:
        typer.echo(text)
