"""The ``evaluate`` and ``report`` commands; ``cli.py`` registers them with :func:`register`.

Errors (unreadable model or data, a missing column, bad labels) print one line naming
the file and, where it applies, the column, and exit with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from latentwatch.errors import DataError


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` and ``report`` commands to ``app``."""
    app.command("evaluate")(evaluate_command)
    app.command("report")(report_command)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _load_model(path: Path):
    from latentwatch.persistence import ModelFormatError, load

    try:
        return load(path)
    except ModelFormatError as exc:
        _fail(str(exc))


def _read(detector, data: Path, label_column: str | None):
    """The model's input columns of DATA and its labels (``None`` without a label column)."""
    from latentwatch.cli_tables import read_model_input
    from latentwatch.evaluation import binary_labels
    from latentwatch.io import name_of

    keep = [label_column] if label_column is not None else []
    frame, X = read_model_input(detector, data, keep=keep)
    if label_column is None:
        return X, None
    try:
        y = binary_labels(frame[label_column],
                          f"{name_of(data)}: label column {label_column!r}")
    except ValueError as exc:
        raise DataError(str(exc)) from None
    return X, y


def evaluate_command(
    model: Annotated[Path, typer.Argument(help="Model file written by save() (.lwm).")],
    data: Annotated[Path, typer.Argument(help="Labelled rows: a .csv or .parquet file.")],
    label_column: Annotated[str, typer.Option(
        "--label-column", "-l", help="Column of 0/1 labels (1 = anomaly).")],
    k: Annotated[int | None, typer.Option(
        "--k", help="Cut-off for precision at k (default: the number of anomalies).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON instead of a table.")] = False,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Also write the metrics as JSON to this file.")] = None,
) -> None:
    """Measure how well MODEL finds the labelled anomalies in DATA.

    Prints AUC-ROC, AUC-PR, precision/recall/F1 and the false-alarm rate at the model's
    threshold, precision at k and the confusion counts.
    """
    from latentwatch.cli_tables import model_input
    from latentwatch.evaluation import evaluate

    detector = _load_model(model)
    try:
        X, y = _read(detector, data, label_column)
        result = evaluate(detector, model_input(detector, X), y, k=k)
    except DataError as exc:
        _fail(str(exc))
    except ValueError as exc:  # includes NotFittedError (an uncalibrated threshold)
        _fail(f"{data}: {exc}")
    if output is not None:
        try:
            output.write_text(result.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            _fail(f"{output}: cannot write ({exc.strerror or exc})")
    typer.echo(result.to_json() if as_json else result.table())


def report_command(
    model: Annotated[Path, typer.Argument(help="Model file written by save() (.lwm).")],
    data: Annotated[Path | None, typer.Argument(
        help="Optional rows to score: a .csv or .parquet file.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"),
    label_column: Annotated[str | None, typer.Option(
        "--label-column", "-l", help="Column of 0/1 labels (1 = anomaly) in DATA.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Most anomalous rows to list.")] = 10,
    title: Annotated[str | None, typer.Option("--title", help="Page title.")] = None,
) -> None:
    """Write a self-contained HTML report on MODEL, and on DATA when given.

    The report shows the schema and parameters, the loss curves, the score
    distribution with the threshold, ROC and PR curves (with labels), a map of the
    latent space, the most anomalous rows with their top columns and per-feature
    reconstruction quality. Images are embedded: the file opens offline.
    """
    from latentwatch.report import write_report

    detector = _load_model(model)
    X = y = None
    if data is not None:
        try:
            X, y = _read(detector, data, label_column)
        except DataError as exc:
            _fail(str(exc))
    elif label_column is not None:
        _fail("--label-column needs a DATA file")
    try:
        path = write_report(detector, out, X, y, title=title, top=top,
                            data_name=None if data is None else data.name)
    except OSError as exc:
        _fail(f"{out}: cannot write ({exc.strerror or exc})")
    except ValueError as exc:
        _fail(f"{data}: {exc}")
    typer.echo(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
