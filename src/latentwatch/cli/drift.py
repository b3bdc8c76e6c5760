"""The ``drift`` command: has DATA moved away from what the model was calibrated on, and
where (``service.drift_frame``), or period by period (``service.drift_over_time``).

Exit status: 0 (no drift, or drift without ``--fail-on-drift``), 3 (drift found with
``--fail-on-drift``), 1 (an error). Heavy modules are imported inside the command.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.console import literal_console
from latentwatch.cli.reading import ModelInput, load_model, read_options

#: Exit status of ``--fail-on-drift`` when drift is found.
EXIT_DRIFT = 3
#: Columns listed in the text output.
SHOWN_COLUMNS = 10


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _verdict(result) -> str:
    if result.p_value is None:
        return "too few rows"
    return "DRIFT" if result.drift else "no drift"


def _print_batch(console, source: str, result) -> None:
    skipped = f" ({result.n_skipped:,} unreadable rows left out)" if result.n_skipped else ""
    console.print(f"{source}: {result.n_rows:,} rows{skipped}; {_verdict(result)} "
                  f"(p = {_number(result.p_value)} at level {result.level:g}; score test p = "
                  f"{_number(result.score_p_value)})", markup=False)
    if not result.columns:
        return
    width = max(len("column"), *(len(c.column) for c in result.columns[:SHOWN_COLUMNS]))
    console.print(f"{'column':<{width}}  {'shift':>7}  p_value", markup=False)
    for column in result.columns[:SHOWN_COLUMNS]:
        console.print(f"{column.column:<{width}}  {column.shift:>+7.3f}  "
                      f"{_number(column.p_value)}", markup=False)
    if len(result.columns) > SHOWN_COLUMNS:
        console.print(f"... {len(result.columns) - SHOWN_COLUMNS} more columns (--json "
                      "lists them all)", markup=False)


def _print_periods(console, source: str, every: str, periods: list) -> None:
    console.print(f"{source}: drift per period of {every}", markup=False)
    console.print(f"{'period start':<20}  {'rows':>8}  {'p_value':>8}  {'drift':<12}  "
                  "top column (shift)", markup=False)
    for start, result in periods:
        top = (f"{result.columns[0].column} ({result.columns[0].shift:+.3f})"
               if result.columns else "-")
        console.print(f"{start!s:<20}  {result.n_rows:>8,}  {_number(result.p_value):>8}  "
                      f"{_verdict(result):<12}  {top}", markup=False)


def drift(
    model: opt.Model,
    data: opt.Data,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document: drift, p_value, n_rows, columns (largest "
        "shift first); with --time-column, one per period under periods.")] = False,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help=f"Exit with status {EXIT_DRIFT} when drift is found (in "
        "any period), for pipelines.")] = False,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", "-t", show_default=False,
        help="Test each period of this column's times separately (see --every).")] = None,
    every: Annotated[str, typer.Option(
        "--every", help="Period length with --time-column: any pandas offset, e.g. 1d, "
        "6h, W, MS.")] = "1d",
    level: Annotated[float, typer.Option(
        "--level", help="Significance level: drift when the p-value is at most this.")
                     ] = 0.05,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    device: opt.Device = None,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Test whether DATA comes from the distribution MODEL was calibrated on, and which
    columns moved.

    Prints one p-value for the batch (a test of its conformal p-values' uniformity and a
    test per column of its share of the score, combined) and, per column, a shift in
    [-1, 1] (positive: the column explains more of the score than on the calibration
    rows) with its p-value, largest shift first. Rows that cannot be read are left out
    and counted. With --time-column each period of --every is tested on its own.

    [bold]Example:[/bold] latentwatch drift fraud.lwm today.csv --fail-on-drift

    [bold]Example:[/bold] latentwatch drift fraud.lwm month.parquet -t timestamp --every 1d --json
    """
    from latentwatch import drift as drift_maths
    from latentwatch import service

    drift_maths.check_level(level)
    detector = load_model(model, device, verify_key)
    detector.drift_reference()  # an old model file is refused before DATA is read
    keep = [time_column] if time_column is not None else []
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=[], keep=keep,
                        options=read_options(decimal, thousands, encoding))
    frame = reader.read(check=False)
    source = reader.source
    console = literal_console()
    document: dict[str, Any]
    if time_column is None:
        result = service.drift_frame(detector, reader.inputs(frame), level=level,
                                     source=source)
        found = result.drift
        document = result.to_dict()
        if not as_json:
            _print_batch(console, source, result)
    else:
        drift_maths.periods(frame[time_column].iloc[:0], every)  # a bad offset first
        periods = service.drift_over_time(detector, frame, time_column, every, level=level,
                                          source=source)
        found = any(result.drift for _, result in periods)
        document = {"drift": found, "time_column": time_column, "every": every,
                    "level": level, "periods": [{"start": str(start), **result.to_dict()}
                                                for start, result in periods]}
        if not as_json:
            _print_periods(console, source, every, periods)
    if as_json:
        typer.echo(json.dumps(document))
    if found and fail_on_drift:
        raise typer.Exit(EXIT_DRIFT)
