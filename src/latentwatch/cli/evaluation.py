"""The ``evaluate`` and ``report`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.console import working
from latentwatch.cli.errors import fail
from latentwatch.cli.reading import ModelInput, load_model, read_options, write_text

PositiveLabel = Annotated[str | None, typer.Option(
    "--positive-label", show_default="1, true or yes",
    help="The value of the label column that marks an anomaly (e.g. bad, fraud, yes); "
    "every other value is a normal row.")]


def _labels(frame, column: str, source: str, positive: str | None = None):
    """0/1 labels of ``column``: 1 where it equals ``positive``; without it, 0/1,
    true/false or yes/no (1, true, yes: an anomaly)."""
    import numpy as np

    from latentwatch.data.cells import to_booleans
    from latentwatch.evaluation import binary_labels

    raw = frame[column]
    name = f"{source}: label column {column!r}"
    if raw.isna().any():
        first = int(np.flatnonzero(raw.isna().to_numpy())[0]) + 1
        fail(f"{name} is empty in {int(raw.isna().sum())} rows (first: row {first}); fill "
             "them or drop those rows")
    text = raw.astype(str).str.strip()
    found = sorted(set(text))
    shown = ", ".join(found[:6]) + (", ..." if len(found) > 6 else "")
    if positive is not None:
        wanted = positive.strip()
        if wanted not in found:
            fail(f"{name}: --positive-label {positive!r} is none of its values ({shown})")
        return (text == wanted).to_numpy(dtype=np.int64)
    flags, bad = to_booleans(raw)
    if not bad.any():
        return flags.astype(np.int64)
    try:
        return binary_labels(raw, name)
    except ValueError:
        fail(f"{name} holds {shown}: pass --positive-label VALUE, the value that marks an "
             "anomaly (or use 0/1, true/false, yes/no)")


def evaluate(
    model: opt.Model,
    data: opt.Data,
    label_column: Annotated[str, typer.Option(
        "--label-column", "-l", show_default=False,
        help="Column of DATA with the labels: 1, true or yes for an anomaly, 0, false or no "
        "for a normal row (other values: --positive-label).")],
    precision_at: Annotated[int | None, typer.Option(
        "--precision-at", min=1, show_default="the number of labelled anomalies",
        help="Cut-off for precision at k: the share of anomalies among this many "
        "highest-scoring rows.")] = None,
    positive_label: PositiveLabel = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")
                       ] = False,
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default=False, help="Also write the metrics as JSON to this "
        "file.")] = None,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    device: opt.Device = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Measure how well MODEL finds the labelled anomalies of DATA.

    Prints AUC-ROC, AUC-PR, precision, recall, F1 and the false-alarm rate at the
    model's threshold, precision at k and the confusion counts, then a table of operating
    points: precision, recall, false-alarm rate and alerts per 10,000 rows at thresholds
    from 10 to 1,000 alerts per 10,000 rows and at the model's own; for a time-series model
    also VUS-PR (range-aware), event recall (share of labelled intervals with an alarm),
    false alarms per 1,000 steps, FAR and MAR.

    [bold]Example:[/bold] latentwatch evaluate fraud.lwm labelled.csv -l is_fraud -o metrics.json
    """
    from latentwatch.evaluation import evaluate as evaluate_model

    detector = load_model(model, device, verify_key)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=[], keep=[label_column],
                        options=read_options(decimal, thousands, encoding))
    with working(f"reading {reader.source}", quiet) as say:
        frame = reader.read()
        y = _labels(frame, label_column, reader.source, positive_label)
        say(f"scoring {len(frame):,} rows of {reader.source}")
        try:
            result = evaluate_model(detector, reader.inputs(frame), y, k=precision_at)
        except ValueError as exc:  # e.g. a false_alarm_rate threshold not calibrated yet
            fail(f"{reader.source}: {exc}")
    text, table = result.to_json(), result.table()
    if detector.window_ is not None:
        import json

        from latentwatch.series_evaluation import evaluate_series

        with working(f"scoring the windows of {len(frame):,} rows", quiet):
            scores = detector.anomaly_score(reader.inputs(frame))
        offset = detector.offset_
        series = evaluate_series(y, scores, None if offset is None else scores > -offset,
                                 max_buffer=detector.window_)
        text = json.dumps({**result.to_dict(), "series": series.to_dict()}, indent=2)
        table += "\n\ntime series (labelled intervals)\n" + series.table()
    if out is not None:
        write_text(out, text + "\n")
    typer.echo(text if as_json else table)


def report(
    model: opt.Model,
    data: Annotated[str | None, typer.Argument(
        metavar="DATA", show_default=False,
        help="Optional rows to score: a CSV or Parquet file, or - for stdin.")] = None,
    out: Annotated[str, typer.Option("--out", "-o", help="HTML file to write.")
                   ] = "report.html",
    label_column: opt.LabelColumn = None,
    positive_label: PositiveLabel = None,
    n: Annotated[int, opt.n_rows("Most anomalous rows listed.", minimum=1)] = 10,
    title: Annotated[str | None, typer.Option("--title", show_default="the model's class",
                                              help="Page title.")] = None,
    seed: opt.Seed = 0,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    device: opt.Device = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", "-t", show_default=False,
        help="Column of DATA with times: adds a drift-over-time panel (the drift test "
        "of each period of --every).")] = None,
    every: Annotated[str, typer.Option(
        "--every", help="Periods of the drift panel: any pandas offset, e.g. 1d, 6h, W.")
                     ] = "1d",
    debug: opt.Debug = False,
) -> None:
    """Write a self-contained HTML report on MODEL, and on DATA when given.

    The report shows the schema and parameters, the loss curves, the score distribution
    with the threshold, ROC and PR curves (with labels), a map of the latent space, the
    most anomalous rows with their top columns and per-column reconstruction quality.
    Images are embedded: the file opens offline.

    [bold]Example:[/bold] latentwatch report fraud.lwm new.csv -l is_fraud -o report.html
    """
    from latentwatch.report import write_report

    detector = load_model(model, device, verify_key)
    X = y = None
    data_name = None
    if data is not None:
        keep = [c for c in (label_column, time_column) if c is not None]
        reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=[], keep=keep,
                            options=read_options(decimal, thousands, encoding))
        with working(f"reading {reader.source}", quiet):
            frame = reader.read()
        data_name = Path(reader.source).name if data != opt.STDIO else reader.source
        if label_column is not None:
            y = _labels(frame, label_column, reader.source, positive_label)
        X = reader.inputs(frame)
        if time_column is not None and time_column not in X.columns:
            X = X.assign(**{time_column: frame[time_column]})
    elif label_column is not None or time_column is not None:
        fail(f"{'--label-column' if label_column else '--time-column'}: needs a DATA file; "
             "pass DATA after MODEL")
    # written atomically, with the user's umask
    rows = "" if X is None else f" on {len(X):,} rows"
    with working(f"writing the report{rows} (scores, curves, latent map)", quiet):
        write_report(detector, out, X=X, y=y, title=title, top=n, data_name=data_name,
                     random_state=seed, time_column=time_column, every=every)
    if not quiet:
        typer.echo(f"wrote {out} ({Path(out).stat().st_size / 1024:.0f} KiB)", err=True)
