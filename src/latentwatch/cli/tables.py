"""The table commands: ``schema``, ``fit``, ``score``, ``explain`` and ``info``.

Heavy modules (pandas, torch, scikit-learn) are imported inside the commands.
"""

from __future__ import annotations

import heapq
import json
import time
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.errors import fail, visible
from latentwatch.cli.reading import (
    MAX_ROWS_PICKED,
    ModelInput,
    default_model_path,
    load_model,
    name_of,
    parse_rows,
    read_training,
    training_schema,
    write_text,
)


def _console(stderr: bool = False):
    """A rich console that shows text literally: no markup, no highlighting, control
    characters of the data made visible (:func:`~latentwatch.cli.errors.visible`)."""
    from rich.console import Console

    class LiteralConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            kwargs.setdefault("markup", False)
            super().print(*(visible(o) if isinstance(o, str) else o for o in objects),
                          **kwargs)

    return LiteralConsole(stderr=stderr, highlight=False, soft_wrap=True)


def _text(value: Any):
    """User data as a rich Text: never read as markup, control characters visible."""
    from rich.text import Text

    return Text(visible(value))


def _schema_table(schema, title: str):
    from rich.table import Table

    table = Table(title=_text(title), title_justify="left", show_edge=False)
    for header in ("column", "kind", "details"):
        table.add_column(header, overflow="fold")
    for row in schema.describe():
        table.add_row(*(_text(cell) for cell in row))
    return table


SCHEMA_RULE = (
    "Which columns are modelled, and how: id (-i) and excluded (-x) columns are set "
    "aside first; the other columns then follow the Python rule: all numeric -> a "
    "numeric matrix (every column a Gaussian, gaps masked: the model "
    "VAEDetector().fit(frame) gives), otherwise an inferred schema (numeric, categorical, "
    "boolean and datetime columns, gaps). --schema infer or a schema file asks for "
    "inference on numbers too."
)


# -- schema --------------------------------------------------------------------------------
def schema(
    data: opt.Data,
    id_column: opt.IdColumns = None,
    exclude: opt.Exclude = None,
    schema_file: opt.SchemaOption = None,
    max_categories: opt.MaxCategories = None,
    out: Annotated[str, typer.Option("--out", "-o", help="Schema JSON file, or - for "
                                                         "stdout.")] = opt.STDIO,
    fmt: opt.InputFormat = None,
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Show how [bold]fit[/bold] would read DATA, and write that schema as JSON.

    The table (on stderr) lists each column's kind and why; the JSON (on stdout or
    --out) can be edited and passed back with [bold]fit --schema FILE[/bold]. Id (-i) and
    excluded (-x) columns are set aside first; the others follow the Python rule (all
    numeric: a numeric matrix; else inferred).

    [bold]Example:[/bold] latentwatch schema transactions.csv -i transaction_id -o schema.json
    """
    from latentwatch.data.codec import resolve_schema

    source = name_of(data)
    ids, excluded = list(id_column or []), list(exclude or [])
    frame = read_training(data, opt.value(fmt), ids, schema_file)
    argument = training_schema(frame, ids=ids, exclude=excluded, schema=schema_file,
                               max_categories=max_categories, source=source)
    resolved = resolve_schema(argument, frame, source)
    if not quiet:
        _console(stderr=True).print(_schema_table(resolved, f"{source}: {len(frame):,} rows"))
    text = resolved.to_json()
    if out == opt.STDIO:
        typer.echo(text)
    else:
        write_text(out, text + "\n")
        if not quiet:
            typer.echo(f"wrote {out}", err=True)


# -- fit -----------------------------------------------------------------------------------
def _epochs(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        fail(f"--epochs {text!r}: expected a positive integer or auto")
    return number


def _contamination(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 < number <= 0.5:
        fail(f"--contamination {text!r}: expected auto or a share in (0, 0.5], e.g. 0.05")
    return number


def _hidden_dims(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        numbers = [int(v) for v in text.split(",")]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        fail(f"--hidden-dims {text!r}: expected positive widths like 128,64")
    return numbers


def _window(text: str | None) -> int | str:
    if text is None or text == "auto":
        return "auto"
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 2:
        fail(f"--window {text!r}: expected a number of steps (2 or more) or auto")
    return number


def _numeric_times(column) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype)


def fit(
    data: opt.Data,
    model: Annotated[str, typer.Option("--model", "-m", help="vae (a variational "
                                       "autoencoder), ae (an autoencoder) or another "
                                       "registered model (latentwatch.models.register).")
                     ] = "vae",
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default="DATA's name with .lwm (model.lwm for stdin)",
        help="Model file to write.")] = None,
    id_column: Annotated[list[str] | None, typer.Option(
        "--id-column", "-i", show_default=False,
        help="Id column: set aside, and copied to the output of score (repeatable).")] = None,
    exclude: opt.Exclude = None,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", "-t", show_default=False,
        help="Read DATA as a time series ordered by this column: each row is scored on the "
        "window of its last --window steps of every other numeric column (gaps and "
        "skipped timestamps masked).")] = None,
    window: Annotated[str | None, typer.Option(
        "--window", "-w", show_default="auto with --time-column",
        help="Steps per window, or auto: the dominant period of the series "
        "(autocorrelation), bounded to 8..256 and a quarter of the rows.")] = None,
    schema_file: opt.SchemaOption = None,
    max_categories: opt.MaxCategories = None,
    epochs: Annotated[str, typer.Option(
        "--epochs", help="Most training epochs (early stopping may end sooner), or auto: "
        "clip(300000 / rows, 10, 30).")] = "auto",
    seed: opt.Seed = 0,
    contamination: Annotated[str, typer.Option(
        "--contamination", help="Share of the training rows to flag, or auto: flag 1% of "
        "the held-out validation rows.")] = "auto",
    threshold: Annotated[str | None, typer.Option(
        "--threshold", show_default="--contamination",
        help="Threshold strategy instead of --contamination: false_alarm_rate:0.01, "
        "alerts:50/10000 (at most 50 alerts per 10,000 normal rows), contamination:0.05 or "
        "(VAE) log_likelihood:-40.")] = None,
    latent_dim: Annotated[int | None, typer.Option(
        "--latent-dim", min=1, show_default="clip(round(sqrt(inputs)), 2, 32)",
        help="Size of the latent layer.")] = None,
    hidden_dims: Annotated[str | None, typer.Option(
        "--hidden-dims", show_default="from the input width",
        help="Widths of the encoder's hidden layers, e.g. 128,64.")] = None,
    skip_bad_rows: Annotated[bool, typer.Option(
        "--skip-bad-rows", help="Train without the rows that cannot be read (they are "
        "counted and quoted) instead of failing.")] = False,
    purpose: Annotated[str, typer.Option(
        "--purpose", help="detect, or generate (VAE): the generative recipe, for realistic "
        "rows from latentwatch sample (see VAEDetector's purpose).")] = "detect",
    device: Annotated[str, typer.Option(
        "--device", help="Where to train: auto (CUDA when available), cpu, cuda, ...")
                      ] = "auto",
    fmt: opt.InputFormat = None,
    stream: Annotated[bool, typer.Option(
        "--stream", help="Stream DATA even when it is one file (a folder or a glob always "
        "streams): memory does not grow with the data.")] = False,
    checkpoint_dir: Annotated[str | None, typer.Option(
        "--checkpoint-dir", show_default=False,
        help="Streaming: write a checkpoint here after every epoch.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Streaming: continue from the checkpoint in --checkpoint-dir "
        "(the same model as an uninterrupted run).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No schema table or progress "
                                                               "bar.")] = False,
    debug: opt.Debug = False,
) -> None:
    """Train a detector on DATA and save it to one model file.

    DATA may be a folder or a glob of Parquet or CSV files (quote it: 'data/*.parquet'):
    it is then streamed, larger than memory (two passes learn the schema and the
    statistics, then training reads shuffled row groups, with a checkpoint per epoch
    with --checkpoint-dir, and --resume). One file is read whole unless --stream is
    given. Under torchrun --nproc-per-node N -m latentwatch fit ... the streamed fit
    trains one model with DistributedDataParallel; rank 0 writes it.

    Prints the schema the model reads DATA with, a progress bar and a summary, and says
    when training stopped at the epoch cap with the validation loss still falling.
    Id (-i) and excluded (-x) columns are set aside first; the other columns then follow
    the Python rule: all numeric gives a numeric matrix, the model (and the scores, bit
    for bit) of VAEDetector(random_state=SEED).fit(frame) on the same columns; otherwise
    the schema is inferred (see [bold]latentwatch schema[/bold]). With --time-column (or
    --window) DATA is a time series: every numeric column other than the time, id and
    excluded ones is a channel, and each row is scored on its window.

    [bold]Example:[/bold] latentwatch fit transactions.csv -i transaction_id -m vae -o fraud.lwm

    [bold]Example:[/bold] latentwatch fit pump.csv --time-column datetime -x anomaly -o pump.lwm
    """
    from latentwatch import models, thresholds
    from latentwatch.data import codec_for
    from latentwatch.data.codec import describe_problems
    from latentwatch.detector import detector_class as class_of
    from latentwatch.engine.parallel import from_environment
    from latentwatch.errors import DataError, where

    if model not in models.MODELS:
        fail(f"--model {model!r}: expected one of {', '.join(sorted(models.MODELS))}")
    detector_class = class_of(model)
    if purpose not in ("detect", "generate"):
        fail(f"--purpose {purpose!r}: use detect or generate")
    if purpose == "generate" and model != "vae":
        fail(f"--purpose generate needs --model vae (the {model} model has no generative "
             "recipe)")
    params: dict[str, Any] = {
        "max_epochs": _epochs(epochs), "contamination": _contamination(contamination),
        "hidden_dims": _hidden_dims(hidden_dims), "latent_dim": latent_dim,
        "threshold": threshold, "random_state": seed, "verbose": not quiet, "device": device,
    }
    try:  # a bad strategy is refused before the data is read
        thresholds.resolve_strategy(threshold, params["contamination"],
                                    bool(models.MODELS[model].likelihood_methods))
    except ValueError as exc:
        fail(f"--threshold: {exc}")
    if purpose == "generate":
        params["purpose"] = purpose
    source = name_of(data)
    ids, excluded = list(id_column or []), list(exclude or [])
    series = time_column is not None or window is not None
    if stream or is_dataset(data):
        if series:
            fail("--time-column and --window read one table in memory; a folder, a glob or "
                 "--stream trains on a table of independent rows")
        _fit_stream(data, detector_class, params, ids=ids, excluded=excluded,
                    schema_file=schema_file, max_categories=max_categories, out=out,
                    fmt=opt.value(fmt), checkpoint_dir=checkpoint_dir, resume=resume,
                    skip_bad_rows=skip_bad_rows, quiet=quiet)
        return
    if checkpoint_dir is not None or resume:
        fail("--checkpoint-dir and --resume apply to a streamed fit: give a folder, a glob "
             "or --stream")
    if series and (schema_file is not None or max_categories is not None):
        fail("--schema and --max-categories read tables; a time series (--time-column, "
             "--window) reads every channel as a number")
    frame = read_training(data, opt.value(fmt), ids, schema_file)
    if series:
        params.update(time_column=time_column, window=_window(window),
                      schema={"id_columns": ids, "exclude": excluded})
        codec = codec_for(frame, params["schema"], time_column=time_column,
                          window=params["window"], source=source)
    else:
        params["schema"] = training_schema(frame, ids=ids, exclude=excluded,
                                           schema=schema_file, max_categories=max_categories,
                                           source=source)
        codec = codec_for(frame, params["schema"])
    encoded = codec.fit(frame, source).encode(frame, source)
    if encoded.problems:
        text = describe_problems(encoded.problems)
        if not skip_bad_rows:
            fail(f"{source}: {text}; fix them or pass --skip-bad-rows to train without them")
        if not quiet:
            typer.echo(f"skipped: {text}", err=True)
        frame = frame.loc[~encoded.bad].reset_index(drop=True)
    detector = detector_class(**params)
    started = time.perf_counter()
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # said below, in CLI terms
        try:
            detector.fit(frame)
        except DataError as exc:
            message = str(exc)
            raise DataError(message if message.startswith(source) else where(source, message)
                            ) from exc
    seconds = time.perf_counter() - started
    if from_environment()[0] != 0:  # under torchrun, rank 0 writes the one model
        return
    target = Path(out) if out is not None else default_model_path(data)
    detector.set_params(verbose=False).save(target)
    console = _console()
    if not quiet:
        console.print(_schema_table(detector.schema_, f"{source}: {len(frame):,} rows"))
    if series:
        codec = detector.codec_
        console.print(f"window: {codec.window} steps ({codec.window_rule}); "
                      f"{len(codec.channels)} channels; sampling interval {codec.interval:g}"
                      f"{' s' if time_column and not _numeric_times(frame[time_column]) else ''}",
                      markup=False)
    history = detector.history_
    monitored = history["val_loss"] or history["train_loss"]
    best = history["best_epoch"]
    offset = detector.offset_
    threshold_text = "none yet" if offset is None else f"{-offset:.4g}"
    ranks = history.get("world_size", 1)
    console.print(
        f"trained {type(detector).__name__} on {len(frame):,} rows x "
        f"{detector.n_features_in_} columns{f' on {ranks} ranks' if ranks > 1 else ''} in "
        f"{seconds:.1f} s ({detector.n_epochs_} epochs, "
        f"best {best}: {'validation' if history['val_loss'] else 'training'} loss "
        f"{monitored[best - 1]:.4g}); threshold {threshold_text}; saved {target}",
        markup=False)
    _warn_epoch_cap(detector)


def _warn_epoch_cap(detector) -> None:
    if detector.history_["still_improving"]:
        typer.echo(f"warning: training stopped at the epoch cap ({detector.n_epochs_} "
                   "epochs) with the validation loss still falling; try --epochs "
                   f"{2 * detector.n_epochs_}", err=True)


def is_dataset(data: str) -> bool:
    """Whether DATA names several files: a folder, or a glob that is not a file's name."""
    import os

    return os.path.isdir(data) or (bool(set("*?[") & set(data)) and not os.path.isfile(data))


def _stream_schema(ids: list[str], excluded: list[str], schema_file: str | None,
                   max_categories: int | None):
    """The ``schema`` argument of a streamed fit: the in-memory rule without a frame."""
    from latentwatch.data.schema import MAX_CATEGORIES, read_schema_file

    if not ids and not excluded and max_categories is None and schema_file in (None, "infer"):
        return schema_file
    overrides: dict[str, Any] = {}
    if schema_file not in (None, "infer"):
        overrides = dict(read_schema_file(schema_file))
    overrides["id_columns"] = list(dict.fromkeys([*overrides.get("id_columns", []), *ids]))
    overrides["exclude"] = list(dict.fromkeys([*overrides.get("exclude", []), *excluded]))
    if max_categories is not None or schema_file == "infer":
        overrides["max_categories"] = max_categories or overrides.get("max_categories",
                                                                      MAX_CATEGORIES)
    return overrides


def _fit_stream(data: str, detector_class, params: dict, *, ids, excluded, schema_file,
                max_categories, out, fmt, checkpoint_dir, resume, skip_bad_rows,
                quiet) -> None:
    """``fit`` on a folder or glob: ``detector.fit_dataset``; rank 0 saves."""
    import os

    from sklearn.exceptions import ConvergenceWarning

    from latentwatch.engine.parallel import from_environment

    if resume and checkpoint_dir is None:
        fail("--resume needs --checkpoint-dir (where the checkpoint is)")
    main = from_environment()[0] == 0
    params["schema"] = _stream_schema(ids, excluded, schema_file, max_categories)
    params["verbose"] = params["verbose"] and main
    detector = detector_class(**params)
    name = Path(data.rstrip("/")).name if os.path.isdir(data) else "model"
    target = Path(out) if out is not None else Path(f"{name or 'model'}.lwm")

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        detector.fit_dataset(data, fmt=fmt, checkpoint_dir=checkpoint_dir, resume=resume,
                             skip_bad_rows=skip_bad_rows, text_columns=tuple(ids))
    if not main:
        return
    detector.set_params(verbose=False).save(target)
    seconds = time.perf_counter() - started
    history = detector.history_
    rows = history["rows"]
    console = _console()
    if not quiet:
        console.print(_schema_table(detector.schema_, f"{name_of(data)}: "
                                                      f"{sum(rows.values()):,} rows"))
    monitored = history["val_loss"] or history["train_loss"]
    best = history["best_epoch"]
    offset = detector.offset_
    ranks = history["world_size"]
    resumed = f", {history['resumed_from']} resumed" if history["resumed_from"] else ""
    on_ranks = f" on {ranks} ranks" if ranks > 1 else ""
    console.print(
        f"trained {type(detector).__name__} on {rows['train']:,} streamed rows "
        f"({rows['validation']:,} validation, {rows['calibration']:,} calibration) x "
        f"{detector.n_features_in_} columns in {seconds:.1f} s"
        f"{on_ranks} ({detector.n_epochs_} epochs{resumed}, best {best}: loss "
        f"{monitored[best - 1]:.4g}); threshold "
        f"{'none yet' if offset is None else f'{-offset:.4g}'}; saved {target}", markup=False)
    _warn_epoch_cap(detector)


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
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Score every row of DATA, in order, one output row per input row.

    Columns: the id columns, score (higher is more anomalous), is_anomaly (at the
    model's threshold), p_value (when the model has calibration scores), then
    top1, top1_nats, ... (the columns contributing most). DATA is read and scored in
    chunks, so memory does not grow with it; a summary goes to stderr. With --engine
    dask the partitions are scored on a Dask cluster, with the same scores bit for bit.

    [bold]Example:[/bold] latentwatch score fraud.lwm new.csv -o scores.csv -k 2

    [bold]Example:[/bold] latentwatch score fraud.lwm 'data/*.parquet' --engine dask -o scores/
    """
    if engine is Engine.dask:
        from latentwatch.cli.dask_engine import score_on_dask

        return score_on_dask(model=model, data=data, out=out, top_k=top_k, ids=id_column,
                             keep_bad_rows=keep_bad_rows, fmt=opt.value(fmt),
                             out_format=opt.value(out_format), device=device, quiet=quiet,
                             scheduler=scheduler, workers=workers,
                             partition_rows=partition_rows)
    if scheduler is not None or workers is not None:
        fail(f"{'--scheduler' if scheduler is not None else '--workers'} needs --engine dask")
    from tqdm.auto import tqdm

    from latentwatch.data.codec import Problem, describe_problems
    from latentwatch.data.io import TableWriter
    from latentwatch.service import chunk_rows as rows_per_chunk
    from latentwatch.service import score_table

    detector = load_model(model, device)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=id_column or None)
    source = reader.source
    first: list[Problem] = []
    n_bad = n_rows = n_flagged = 0
    bar = tqdm(disable=True if quiet else None, unit=" rows", desc="scoring")
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
    top_k: Annotated[int, opt.top_k(1)] = 5,
    id_column: opt.IdColumns = None,
    chunk_rows: opt.ChunkRows = opt.CHUNK_ROWS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanations as JSON "
                                                         "instead of text.")] = False,
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default=False,
        help="Also write the explanations as JSON to this file.")] = None,
    fmt: opt.InputFormat = None,
    device: opt.Device = None,
    debug: opt.Debug = False,
) -> None:
    """Explain rows of DATA: score, verdict, and the columns contributing most, with the
    value observed and the value the model expected (--json: as JSON, one object per row
    with its row number, ids, score, verdict and contributions; --out: also to a file).

    [bold]Example:[/bold] latentwatch explain fraud.lwm new.csv --rows 3,17 -k 3
    """
    import numpy as np

    from latentwatch.explain import explain_encoded, json_value
    from latentwatch.service import chunk_rows as rows_per_chunk
    from latentwatch.service import context_rows, next_context, score_table

    detector = load_model(model, device)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=id_column or None)
    source = reader.source
    wanted = parse_rows(rows) if rows is not None else None
    picked: list[tuple[int, Any]] = []
    best: list[tuple[float, int, Any]] = []
    n_seen = 0
    series = context_rows(detector) is not None
    context = None

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
    threshold = "no threshold yet" if offset is None else f"threshold {-offset:.4g}"
    console = _console()
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
        documents.append({**ids, **explanation.to_dict(offset is not None), "row": number})
        if as_json:
            continue
        verdict = "no verdict"
        if offset is not None:
            verdict = "anomaly" if explanation.is_anomaly else "normal"
        console.print(f"{head}  score {explanation.score:.4g} ({verdict}; {threshold})",
                      markup=False)
        for item in explanation.contributions:
            console.print(f"  {item.nats:+9.3g}  {item}", markup=False)
        if detector.window_ is not None:
            from latentwatch.series import describe_channels

            console.print(f"  by channel: {describe_channels(detector.codec_, scored.parts[0])}",
                          markup=False)
    text = json.dumps({"threshold": None if offset is None else -offset, "rows": documents},
                      indent=2)
    if out is not None:
        write_text(out, text + "\n")
    if as_json:
        typer.echo(text)


# -- info ----------------------------------------------------------------------------------
def info(
    model: opt.Model,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model file's metadata "
                                                         "as JSON.")] = False,
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default=False,
        help="Write the metadata JSON to this file (as --json prints it).")] = None,
    debug: opt.Debug = False,
) -> None:
    """Describe a model file: data schema, network, parameters, training and threshold.

    [bold]Example:[/bold] latentwatch info fraud.lwm
    """
    from latentwatch.persistence import read_metadata
    from latentwatch.thresholds import describe_threshold

    meta = read_metadata(model)
    if as_json or out is not None:
        text = json.dumps(meta, indent=2)
        if out is not None:
            write_text(out, text + "\n")
            typer.echo(f"wrote {out}", err=True)
        if as_json:
            typer.echo(text)
        return
    detector = load_model(model, "cpu")
    console = _console()
    console.print(f"{model}: {meta['class']} (model format {meta['format_version']}, "
                  f"latentwatch {meta['latentwatch_version']})", markup=False)
    codec = detector.codec_
    console.print(f"data: {codec.n_blocks} modelled columns from {len(codec.sources)} data "
                  f"columns ({'an unnamed array' if detector.input_kind_ == 'array' else 'a table'}"
                  f"); network {codec.shape.n_inputs} inputs -> {detector.hidden_dims_} -> "
                  f"latent {detector.latent_dim_} ({meta['model']['name']})", markup=False)
    console.print(_codec_table(detector))
    if detector.window_ is not None:
        console.print(f"series: each row is scored on the window of its last {codec.window} "
                      f"steps ({codec.window_rule}) of {len(codec.channels)} channels; time "
                      f"column {codec.time_column!r}, sampling interval {codec.interval:g}",
                      markup=False)
    params = {k: v for k, v in detector.get_params(deep=False).items() if k != "schema"}
    console.print("parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()),
                  markup=False)
    history = meta["fit"]["history"]
    train, val = history["train_loss"], history["val_loss"]
    best = history.get("best_epoch") or 1
    line = (f"training: {len(train)} epochs; loss {train[0]:.4g} -> {train[-1]:.4g} (train)"
            + (f", {val[0]:.4g} -> {val[-1]:.4g} (validation)" if val else "")
            + f"; best epoch {best} ({(val or train)[best - 1]:.4g}, weights kept)")
    if history.get("still_improving"):
        line += "; stopped at the epoch cap with the loss still falling"
    console.print(line, markup=False)
    offset = detector.offset_
    cut = "none yet" if offset is None else f"score > {-offset:.6g} is an anomaly"
    console.print(f"threshold: {cut} ({describe_threshold(detector)})", markup=False)


def _codec_table(detector):
    from rich.table import Table

    table = Table(title="schema", title_justify="left", show_edge=False)
    for header in ("column", "kind", "learned"):
        table.add_column(header, overflow="fold")
    for block in detector.codec_.column_blocks:
        if block.kind == "numeric":
            learned = (f"{'log(1+x) ' if block.log else ''}mean {block.mean:.4g}, sd "
                       f"{block.scale:.4g}, range {block.low:.4g} to {block.high:.4g}"
                       if block.low is not None else f"mean {block.mean:.4g}")
            if block.integer:
                learned += ", integers"
        elif block.kind == "boolean":
            learned = f"{block.categories[1]} / {block.categories[0]}"
        else:
            shown = ", ".join(map(str, block.categories[:8]))
            more = ", ..." if len(block.categories) > 8 else ""
            learned = f"{len(block.categories)} categories + rare bucket: {shown}{more}"
        if block.missing:
            learned += "; gaps modelled"
        table.add_row(_text(block.name), block.kind, _text(learned))
    for name, kind, details in detector.schema_.describe():
        if kind in ("id", "excluded"):
            table.add_row(_text(name), kind, _text(details))
    return table
