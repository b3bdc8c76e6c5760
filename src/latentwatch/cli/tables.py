"""Commands on table files: ``schema``, ``fit``, ``score``, ``explain`` and ``info``.

Every command prints a one-line ``error: ...`` naming the file, column and row and exits
with status 1 on bad input; ``--debug`` shows the traceback instead. Rows are numbered
from 1, after the header.
"""

from __future__ import annotations

import functools
import heapq
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from latentwatch.errors import DataError
from latentwatch.io import CHUNK_ROWS, STDIO, TableWriter, iter_tables, name_of, read_table

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

DEBUG = typer.Option(False, "--debug", help="Show the full traceback of an error.")
FORMAT = typer.Option(None, "--format", help="csv or parquet, for stdin or an unusual name.")


def register(app: typer.Typer) -> None:
    """Add the table commands to the ``latentwatch`` app."""
    app.command("schema")(schema)
    app.command("fit")(fit)
    app.command("score")(score)
    app.command("explain")(explain)
    app.command("info")(info)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {' '.join(str(message).split())}", markup=True,
              highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _guarded(command: Callable) -> Callable:
    """Turn expected errors into one line on stderr and exit status 1 (unless ``debug``)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from latentwatch.persistence import ModelFormatError

        debug = kwargs.get("debug", False)
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except (DataError, ModelFormatError) as exc:
            if debug:
                raise
            raise _fail(str(exc)) from None
        except Exception as exc:
            if debug:
                raise
            raise _fail(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
                        ) from None

    return run


def _schema_table(schema, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    for header in ("column", "kind", "details"):
        table.add_column(header, overflow="fold")
    for row in schema.describe():
        table.add_row(*row)
    return table


def _infer(data: pd.DataFrame, source: str, id_column: list[str], exclude: list[str],
           schema_file: Path | None, max_categories: int | None):
    from latentwatch.schema import infer_schema, read_schema_file

    overrides = read_schema_file(schema_file) if schema_file is not None else None
    return infer_schema(data, id_columns=id_column, exclude=exclude, overrides=overrides,
                        max_categories=max_categories, source=source)


def _read_for_schema(data: str, fmt: str | None, id_column: list[str],
                     schema_file: Path | None) -> pd.DataFrame:
    from latentwatch.schema import read_schema_file

    ids = list(id_column)
    if schema_file is not None:
        ids += read_schema_file(schema_file).get("id_columns", [])
    return read_table(data, fmt=fmt, text_columns=ids)


ID_COLUMN = typer.Option([], "--id-column", "-i",
                         help="Column to pass through to the output (repeatable).")
EXCLUDE = typer.Option([], "--exclude", "-x", help="Column to ignore (repeatable).")
SCHEMA_FILE = typer.Option(None, "--schema", help="JSON file overriding the inferred kinds "
                                                  "(see `latentwatch schema`).")
MAX_CATEGORIES = typer.Option(None, "--max-categories",
                              help="Categories kept per column; the others share a rare "
                                   "bucket. [default: 50]")
SCHEMA_OUT = typer.Option(None, "--out", "-o", help="Write the JSON here instead of stdout.")
MODEL_OUT = typer.Option(None, "--out", "-o", help="Model file. [default: DATA's name, .lwm]")
SCORE_IDS = typer.Option([], "--id-column", "-i",
                         help="Columns to pass through. [default: the model's id columns]")
SHOW_IDS = typer.Option([], "--id-column", "-i",
                        help="Columns to show. [default: the model's id columns]")


@_guarded
def schema(
    data: str = typer.Argument(..., help="CSV or Parquet file, or - for stdin."),
    id_column: list[str] = ID_COLUMN,
    exclude: list[str] = EXCLUDE,
    schema_file: Path | None = SCHEMA_FILE,
    max_categories: int | None = MAX_CATEGORIES,
    out_file: Path | None = SCHEMA_OUT,
    fmt: str | None = FORMAT,
    debug: bool = DEBUG,
) -> None:
    """Show the schema inferred for DATA; print it as JSON (edit it, pass it to fit --schema)."""
    frame = _read_for_schema(data, fmt, id_column, schema_file)
    inferred = _infer(frame, name_of(data), id_column, exclude, schema_file, max_categories)
    err.print(_schema_table(inferred, f"{name_of(data)}: {len(frame):,} rows"))
    text = inferred.to_json()
    if out_file is None:
        typer.echo(text)
    else:
        out_file.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {out_file}")


@_guarded
def fit(
    data: str = typer.Argument(..., help="CSV or Parquet file, or - for stdin."),
    model: str = typer.Option("vae", "--model", "-m", help="vae or ae."),
    out_file: Path | None = MODEL_OUT,
    id_column: list[str] = ID_COLUMN,
    exclude: list[str] = EXCLUDE,
    schema_file: Path | None = SCHEMA_FILE,
    max_categories: int | None = MAX_CATEGORIES,
    epochs: str = typer.Option("auto", "--epochs", help="Most training epochs (early "
                                                        "stopping may end sooner), or auto."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    contamination: str = typer.Option("auto", "--contamination",
                                      help="Share of anomalies to flag in the training "
                                           "rows, or auto (1% of held-out rows)."),
    threshold: str | None = typer.Option(
        None, "--threshold", help="Threshold strategy instead of --contamination: "
        "false_alarm_rate:0.01, contamination:0.05 or log_likelihood:-40 (VAE)."),
    latent_dim: int | None = typer.Option(None, "--latent-dim", help="Latent size."),
    hidden_dims: str | None = typer.Option(None, "--hidden-dims",
                                           help="Hidden widths, e.g. 128,64."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows",
                                       help="Train without rows that cannot be read (they "
                                            "are counted and quoted) instead of failing."),
    fmt: str | None = FORMAT,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No schema or progress bar."),
    debug: bool = DEBUG,
) -> None:
    """Train a detector on DATA and save it; prints the inferred schema and progress."""
    from latentwatch import AutoEncoderDetector, VAEDetector
    from latentwatch.encoding import describe_problems, fit_layout

    if model not in ("vae", "ae"):
        raise DataError(f"--model must be vae or ae, not {model!r}")
    params: dict[str, Any] = {
        "random_state": seed, "verbose": not quiet, "latent_dim": latent_dim,
        "max_epochs": _int_or_auto(epochs, "--epochs"),
        "contamination": _contamination(contamination),
    }
    if hidden_dims:
        params["hidden_dims"] = _int_list(hidden_dims)
    if threshold is not None:
        params["threshold"] = threshold
    detector_class = VAEDetector if model == "vae" else AutoEncoderDetector
    try:  # a bad strategy fails here, before the data is read
        detector_class(threshold=threshold, contamination=params["contamination"]
                       )._threshold_strategy()
    except ValueError as exc:
        raise DataError(f"--threshold: {exc}") from None
    source = name_of(data)
    frame = _read_for_schema(data, fmt, id_column, schema_file)
    inferred = _infer(frame, source, id_column, exclude, schema_file, max_categories)
    if not quiet:
        out.print(_schema_table(inferred, f"{source}: {len(frame):,} rows"))
    encoded = fit_layout(frame, inferred, source).encode(frame, source)
    if encoded.problems:
        text = describe_problems(encoded.problems)
        if not skip_bad_rows:
            raise DataError(f"{source}: {text}; fix them or pass --skip-bad-rows")
        err.print(f"[yellow]skipped:[/yellow] {text}", markup=True)
        frame = frame.loc[~encoded.bad].reset_index(drop=True)
    detector = detector_class(schema=inferred, **params)
    started = time.perf_counter()
    detector.fit(frame)
    seconds = time.perf_counter() - started
    target = out_file or Path((Path(data).name.split(".")[0] if data != STDIO else "model")
                              + ".lwm")
    detector.set_params(verbose=False).save(target)
    monitored = detector.history_["val_loss"] or detector.history_["train_loss"]
    out.print(
        f"trained {type(detector).__name__} on {len(frame):,} rows x "
        f"{detector.n_features_in_} columns in {seconds:.1f} s ({detector.n_epochs_} epochs, "
        f"best {int(np.argmin(monitored)) + 1}: loss {min(monitored):.4g}); threshold "
        f"{-detector.offset_:.4g}; saved {target}", soft_wrap=True
    )


def _int_or_auto(value: str, option: str) -> int | str:
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        raise DataError(f"{option} must be a positive integer or auto, not {value!r}") from None
    if number < 1:
        raise DataError(f"{option} must be a positive integer or auto, not {value!r}")
    return number


def _contamination(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 0.5:
        raise DataError(f"--contamination must be auto or a number in (0, 0.5], not {value!r}")
    return number


def _int_list(value: str) -> list[int]:
    try:
        numbers = [int(v) for v in value.split(",")]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise DataError(f"--hidden-dims must be positive integers like 128,64, not {value!r}")
    return numbers


def _load(path: str):
    from latentwatch.persistence import load

    return load(path, device="cpu")


def _text_columns(model, ids: list[str]) -> list[str]:
    """Columns to read as text: the id columns and the model's text-labelled columns."""
    return [*ids, *(b.source for b in model.table_layout().blocks
                    if b.label_type == "str" or b.derive is not None)]


def _reading(model, data: str, fmt: str | None, chunk_rows: int, ids: list[str]):
    """Chunks of DATA with the columns the model reads and the id columns."""
    columns = list(dict.fromkeys([*ids, *model.table_layout().sources]))
    return iter_tables(data, fmt=fmt, chunk_rows=chunk_rows, columns=columns,
                       text_columns=_text_columns(model, ids))


def read_model_input(
    model, data: str | Path, *, keep: Sequence[str] = (), fmt: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read all of DATA for a fitted model, as ``score`` reads it, and check every value.

    Parameters
    ----------
    model : fitted detector
    data : str or Path
        CSV or Parquet file (by extension, or ``fmt``), or ``-`` for stdin.
    keep : sequence of str
        Other columns the caller needs (labels, ids, a colour), read as they look; they
        must be present and are never model input.
    fmt : {"csv", "parquet"} or None

    Returns
    -------
    frame : pandas.DataFrame
        The table read (the model's columns and ``keep``).
    X : pandas.DataFrame
        The model's input columns: as read for a table model (the model encodes them),
        as float64 for a model fitted on numbers (its ``feature_names_in_``, or for a
        model fitted on an unnamed matrix the numeric columns not in ``keep``). Pass it
        through :func:`model_input`.

    Raises
    ------
    DataError
        One line naming the file, and the column and first bad rows where they apply.
    """
    from latentwatch.encoding import to_numbers

    source = name_of(data)
    keep = list(dict.fromkeys(keep))
    named = getattr(model, "feature_names_in_", None) is not None
    layout = model.table_layout()
    columns = list(dict.fromkeys([*keep, *layout.sources])) if named else None
    frame = read_table(data, fmt=fmt, columns=columns,
                       text_columns=_text_columns(model, []) if named else ())
    if named:
        inputs = list(layout.sources)
    else:
        inputs = [str(c) for c in frame.columns
                  if c not in keep and pd.api.types.is_numeric_dtype(frame[c])]
        if len(inputs) != model.n_features_in_:
            shown = ", ".join(map(repr, inputs[:8])) + (", ..." if len(inputs) > 8 else "")
            raise DataError(f"{source}: {len(inputs)} numeric input columns ({shown}), but "
                            f"the model was fitted on {model.n_features_in_} unnamed features")
    X = frame[inputs]
    checked = X if named else X.set_axis(layout.sources, axis=1)
    encoded, _ = model.encode_table(checked, source=source)
    if encoded.problems:
        if not named:  # name the file's columns, not the model's x0, x1, ...
            real = dict(zip(layout.sources, inputs, strict=True))
            for problem in encoded.problems:
                problem.column = real.get(problem.column, problem.column)
        encoded.raise_for_problems(source)
    if getattr(model, "layout_", None) is None:
        X = pd.DataFrame({c: to_numbers(X[c])[0] for c in inputs}, index=X.index)
    return frame, X


def model_input(model, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
    """``X`` from :func:`read_model_input` as the model takes it: a DataFrame when it was
    fitted on named columns, else an array."""
    return X if getattr(model, "feature_names_in_", None) is not None else X.to_numpy()


def _model_ids(model, id_column: list[str]) -> list[str]:
    if id_column:
        return list(id_column)
    schema = getattr(model, "schema_", None)
    return list(schema.id_columns) if schema is not None else []


@_guarded
def score(
    model_file: str = typer.Argument(..., metavar="MODEL", help="Model file from `fit`."),
    data: str = typer.Argument(..., help="CSV or Parquet file, or - for stdin."),
    out_file: str = typer.Option(STDIO, "--out", "-o", help="CSV or Parquet file (by "
                                                            "extension), or - for stdout."),
    top_k: int = typer.Option(3, "--top-k", "-k", min=0,
                              help="Largest contributing columns to name per row."),
    id_column: list[str] = SCORE_IDS,
    keep_bad_rows: bool = typer.Option(False, "--keep-bad-rows",
                                       help="Give rows that cannot be scored an empty score "
                                            "and a reason instead of failing."),
    chunk_rows: int = typer.Option(CHUNK_ROWS, "--chunk-rows", min=1,
                                   help="Rows read and scored at a time."),
    fmt: str | None = FORMAT,
    out_format: str | None = typer.Option(None, "--out-format", help="csv or parquet."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary."),
    debug: bool = DEBUG,
) -> None:
    """Score every row of DATA, in order: id columns, score, is_anomaly, top columns."""
    from tqdm.auto import tqdm

    from latentwatch.encoding import Problem, describe_problems
    from latentwatch.explain import score_frame

    detector = _load(model_file)
    source = name_of(data)
    ids = _model_ids(detector, id_column)
    chunks = _reading(detector, data, fmt, chunk_rows, ids)
    first: list[Problem] = []
    n_bad = n_rows = n_flagged = 0
    bar = tqdm(disable=True if quiet else None, unit=" rows", desc="scoring", file=sys.stderr)
    with TableWriter(out_file, out_format) as writer:
        for chunk in chunks:
            table, problems = score_frame(detector, chunk, top_k=top_k, id_columns=ids,
                                          source=source)
            first += [Problem(p.position + n_rows, p.column, p.value, p.message)
                      for p in problems[:5 - len(first)]]
            n_bad += len(problems)
            if problems and not keep_bad_rows:
                layout = detector.table_layout()
                n_rows += len(chunk)
                for rest in chunks:
                    n_bad += int(layout.encode(rest, source).bad.sum())
                raise DataError(f"{source}: {describe_problems(first, total=n_bad)}; fix them "
                                "or pass --keep-bad-rows to give them an empty score")
            if not keep_bad_rows:
                table = table.drop(columns="reason")
            writer.write(table)
            n_rows += len(chunk)
            n_flagged += int(table["is_anomaly"].sum())
            bar.update(len(chunk))
        bar.close()
        if n_rows == 0:
            raise DataError(f"{source}: no data rows")
    if not quiet:
        bad = (f"; {n_bad:,} rows could not be scored: {describe_problems(first, total=n_bad)}"
               if n_bad else "")
        err.print(f"scored {n_rows:,} rows: {n_flagged:,} anomalies ({n_flagged / n_rows:.2%}) "
                  f"above the threshold {-detector.offset_:.4g}{bad}", soft_wrap=True)


def _parse_rows(value: str) -> list[int]:
    """``"3,17,40-45"`` -> ``[3, 17, 40, ..., 45]`` (row numbers from 1)."""
    rows: list[int] = []
    try:
        for part in value.split(","):
            if "-" in part:
                low, high = (int(v) for v in part.split("-", 1))
                rows.extend(range(low, high + 1))
            else:
                rows.append(int(part))
    except ValueError:
        raise DataError(f"--rows must be row numbers and ranges like 3,17,40-45, not {value!r}"
                        ) from None
    if not rows or min(rows) < 1:
        raise DataError(f"--rows counts from 1 (the first row after the header), got {value!r}")
    return sorted(set(rows))


@_guarded
def explain(
    model_file: str = typer.Argument(..., metavar="MODEL", help="Model file from `fit`."),
    data: str = typer.Argument(..., help="CSV or Parquet file, or - for stdin."),
    rows: str | None = typer.Option(None, "--rows", "-r",
                                    help="Rows to explain, e.g. 3,17,40-45 (from 1, after the "
                                         "header). [default: the --top highest scores]"),
    top: int = typer.Option(5, "--top", "-n", min=1,
                            help="Without --rows: explain this many highest-scoring rows."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="Columns per row."),
    id_column: list[str] = SHOW_IDS,
    chunk_rows: int = typer.Option(CHUNK_ROWS, "--chunk-rows", min=1),
    fmt: str | None = FORMAT,
    debug: bool = DEBUG,
) -> None:
    """Explain rows of DATA: score, largest contributions, observed and expected values."""
    from latentwatch.explain import explain_encoded

    detector = _load(model_file)
    source = name_of(data)
    ids = _model_ids(detector, id_column)
    wanted = _parse_rows(rows) if rows is not None else None
    picked: list[tuple[int, pd.DataFrame]] = []
    best: list[tuple[float, int, pd.DataFrame]] = []
    n_rows = 0
    for chunk in _reading(detector, data, fmt, chunk_rows, ids):
        if wanted is not None:
            positions = [r - 1 - n_rows for r in wanted if n_rows < r <= n_rows + len(chunk)]
            picked += [(n_rows + p + 1, chunk.iloc[[p]]) for p in positions]
        else:
            encoded, network_rows = detector.encode_table(chunk, source=source)
            scores, _ = detector.score_rows(network_rows)
            good = np.flatnonzero(~encoded.bad)
            for position, value in zip(good, scores, strict=True):
                key = (float(value), -(n_rows + int(position) + 1))
                if len(best) < top:
                    heapq.heappush(best, (*key, chunk.iloc[[position]]))
                elif key > best[0][:2]:
                    heapq.heapreplace(best, (*key, chunk.iloc[[position]]))
        n_rows += len(chunk)
    if n_rows == 0:
        raise DataError(f"{source}: no data rows")
    if wanted is not None:
        past = [r for r in wanted if r > n_rows]
        if past:
            raise DataError(f"{source}: row {past[0]} is past the end ({n_rows:,} rows)")
    else:
        picked = [(-number, row) for _, number, row in
                  sorted(best, key=lambda item: item[:2], reverse=True)]
    threshold = -detector.offset_
    for number, row in picked:
        encoded, network_rows = detector.encode_table(row.reset_index(drop=True),
                                                      source=source, keep_shown=True)
        label = "  ".join(f"{c}={row[c].iloc[0]}" for c in ids)
        if encoded.bad[0]:
            out.print(f"row {number}  {label}  cannot be scored: "
                      f"{encoded.problems[0].describe().split(', ', 1)[1]}")
            continue
        explanation = explain_encoded(detector, encoded, network_rows, top_k=top_k)[0]
        verdict = "anomaly" if explanation.is_anomaly else "normal"
        out.print(f"[bold]row {number}[/bold]  {label}  score {explanation.score:.4g} "
                  f"({verdict}; threshold {threshold:.4g})", markup=True, soft_wrap=True)
        for item in explanation.contributions:
            out.print(f"  {item.nats:+9.3g}  {item}", soft_wrap=True, markup=False)


@_guarded
def info(
    model_file: str = typer.Argument(..., metavar="MODEL", help="Model file from `fit`."),
    as_json: bool = typer.Option(False, "--json", help="Print the model's metadata as JSON."),
    debug: bool = DEBUG,
) -> None:
    """Describe a model file: schema, parameters, training history and threshold."""
    from latentwatch.persistence import read_metadata
    from latentwatch.thresholds import describe_threshold

    meta = read_metadata(model_file)
    if as_json:
        typer.echo(json.dumps(meta, indent=2))
        return
    detector = _load(model_file)
    state = meta["state"]
    out.print(f"[bold]{model_file}[/bold]: {meta['class']} (model format "
              f"{meta['format_version']}, latentwatch {meta['latentwatch_version']})",
              markup=True)
    inputs = detector._network_shape(detector.n_features_in_)[0]
    out.print(f"network: {inputs} inputs -> {detector.hidden_dims_} -> latent "
              f"{detector.latent_dim_}")
    if detector.schema_ is not None:
        out.print(_layout_table(detector))
    else:
        names = getattr(detector, "feature_names_in_", None)
        out.print(f"numeric matrix of {detector.n_features_in_} features"
                  + (f": {', '.join(map(str, names))}" if names is not None else ""))
    params = {k: v for k, v in meta["params"].items() if k != "schema"}
    out.print("parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()),
              soft_wrap=True)
    history = state["history_"]
    train, val = history["train_loss"], history["val_loss"]
    best = (int(np.argmin(val)) + 1, min(val)) if val else (int(np.argmin(train)) + 1,
                                                            min(train))
    out.print(f"training: {state['n_epochs_']} epochs; loss {train[0]:.4g} -> {train[-1]:.4g} "
              f"(train){f', {val[0]:.4g} -> {val[-1]:.4g} (validation)' if val else ''}; "
              f"best epoch {best[0]} ({best[1]:.4g}, weights kept)")
    out.print(f"threshold: score > {-detector.offset_:.6g} is an anomaly "
              f"({describe_threshold(detector)})", soft_wrap=True)


def _layout_table(detector) -> Table:
    schema, layout = detector.schema_, detector.layout_
    table = Table(title="schema", title_justify="left", show_edge=False)
    for header in ("column", "kind", "learned"):
        table.add_column(header, overflow="fold")
    for block in layout.blocks:
        if block.kind == "numeric":
            centre = block.mean
            learned = (f"{'log(1+x) ' if block.log else ''}mean {centre:.4g}, sd {block.scale:.4g}"
                       + (", integers" if block.integer else ""))
        elif block.kind == "boolean":
            learned = f"{block.categories[1]} / {block.categories[0]}"
        else:
            shown = ", ".join(map(str, block.categories[:8]))
            more = ", ..." if len(block.categories) > 8 else ""
            learned = f"{len(block.categories)} categories + rare bucket: {shown}{more}"
        if block.missing:
            learned += "; gaps modelled"
        table.add_row(block.name, block.kind, learned)
    for name, kind, details in schema.describe():
        if kind in ("id", "excluded"):
            table.add_row(name, kind, details)
    return table
