"""The ``fit`` command: train a detector on a file in memory, or on a folder or glob of
files streamed (``detector.fit_dataset``), in one process or under torchrun.

Heavy modules (pandas, torch, scikit-learn) are imported inside the command.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.console import literal_console, schema_table, shows_progress
from latentwatch.cli.errors import fail
from latentwatch.cli.reading import (
    default_model_path,
    fit_notes,
    index_columns,
    name_of,
    read_options,
    read_training,
    refuse_table_options,
    sign_key_of,
    training_schema,
    window_steps,
)


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
    time_column: opt.TimeColumn = None,
    window: opt.Window = None,
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
    calibration_fraction: Annotated[float | None, typer.Option(
        "--calibration-fraction", min=0.0, max=0.9, show_default="0.1",
        help="With a false_alarm_rate or alerts threshold: share of the rows set aside to "
        "calibrate it (0: none; then run latentwatch calibrate MODEL NORMAL_DATA).")] = None,
    model_index: Annotated[bool, typer.Option(
        "--model-index", help="Model columns of row numbers (rownames, Unnamed: 0, index "
        "holding distinct increasing integers) instead of setting them aside as ids.")
                           ] = False,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    date_format: opt.DateFormat = None,
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
    sign_key: opt.SignKey = None,
    verify_key: opt.VerifyKey = None,
    warm_start: Annotated[str | None, typer.Option(
        "--warm-start", show_default=False,
        help="Continue training this model file on DATA (new normal rows) instead of "
        "fitting from scratch (partial_fit): its columns, codec and parameters are kept, "
        "and it is recalibrated on held-out rows of DATA; --out is the new file.")] = None,
    debug: opt.Debug = False,
) -> None:
    """Train a detector on DATA and save it to one model file.

    DATA may be a folder or a glob of Parquet or CSV files (quote it: 'data/*.parquet'):
    it is then streamed, larger than memory (two passes learn the schema and the
    statistics, then training reads shuffled row groups, with a checkpoint per epoch
    with --checkpoint-dir, and --resume). One file is read whole unless --stream is
    given. Under torchrun --nproc-per-node N -m latentwatch fit ... either route trains
    one model with DistributedDataParallel (the ranks share the rows); rank 0 writes it.

    Prints the schema the model reads DATA with, a progress bar and a summary, and says
    when training stopped at the epoch cap with the validation loss still falling.
    Columns of row numbers (rownames, Unnamed: 0, index: distinct increasing integers) are
    set aside as ids, and said (--model-index models them); slash dates that read either
    way are read day-first, and said (--date-format %m/%d/%Y for month-first); numbers
    written 135,25 or 1,300 need --decimal or --thousands (docs/data-files.md).
    Id (-i) and excluded (-x) columns are set aside first; the other columns then follow
    the Python rule: all numeric gives a numeric matrix, the model (and the scores, bit
    for bit) of VAEDetector(random_state=SEED).fit(frame) on the same columns; otherwise
    the schema is inferred (see [bold]latentwatch schema[/bold]). With --time-column (or
    --window) DATA is a time series: every numeric column other than the time, id and
    excluded ones is a channel, and each row is scored on its window.

    [bold]Example:[/bold] latentwatch fit transactions.csv -i transaction_id -m vae -o fraud.lwm

    [bold]Example:[/bold] latentwatch fit pump.csv --time-column datetime -x anomaly -o pump.lwm

    [bold]Example:[/bold] latentwatch fit june.csv --warm-start fraud.lwm -o fraud-june.lwm
    """
    if warm_start is not None:
        _fit_warm(data, warm_start, out, fmt=opt.value(fmt), skip_bad_rows=skip_bad_rows,
                  device=device, quiet=quiet, verify_key=verify_key,
                  sign_key=sign_key_of(sign_key),
                  options=read_options(decimal, thousands, encoding))
        return
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
        "threshold": threshold, "random_state": seed, "verbose": shows_progress(quiet),
        "device": device,
    }
    try:  # a bad strategy is refused before the data is read
        strategy = thresholds.resolve_strategy(threshold, params["contamination"],
                                               bool(models.MODELS[model].likelihood_methods))
    except ValueError as exc:
        fail(f"--threshold: {exc}")
    if calibration_fraction is not None:
        params["threshold"] = strategy = _with_calibration(strategy, calibration_fraction)
    options = read_options(decimal, thousands, encoding)
    if purpose == "generate":
        params["purpose"] = purpose
    sign_key = sign_key_of(sign_key)  # a bad key is refused before any work
    source = name_of(data)
    ids, excluded = list(id_column or []), list(exclude or [])
    series = time_column is not None or window is not None
    if stream or is_dataset(data):
        if series:
            fail("--time-column and --window read one table in memory; a folder, a glob or "
                 "--stream trains on a table of independent rows")
        if not options.plain or date_format is not None:
            fail("--decimal, --thousands, --encoding and --date-format read one file in "
                 "memory; a folder, a glob or --stream reads plain UTF-8 CSV or Parquet")
        _fit_stream(data, detector_class, params, ids=ids, excluded=excluded,
                    schema_file=schema_file, max_categories=max_categories, out=out,
                    fmt=opt.value(fmt), checkpoint_dir=checkpoint_dir, resume=resume,
                    skip_bad_rows=skip_bad_rows, quiet=quiet, sign_key=sign_key)
        return
    if checkpoint_dir is not None or resume:
        fail("--checkpoint-dir and --resume apply to a streamed fit: give a folder, a glob "
             "or --stream")
    if series:
        refuse_table_options(schema_file, max_categories)
    frame = read_training(data, opt.value(fmt), ids, schema_file, options)
    _check_calibration(strategy, len(frame), source)
    index_ids = [] if model_index or series else index_columns(frame, ids, excluded,
                                                                 schema_file)
    ids += index_ids
    if series:
        params.update(time_column=time_column, window=window_steps(window),
                      schema={"id_columns": ids, "exclude": excluded})
        codec = codec_for(frame, params["schema"], time_column=time_column,
                          window=params["window"], source=source)
    else:
        params["schema"] = training_schema(frame, ids=ids, exclude=excluded,
                                           schema=schema_file, max_categories=max_categories,
                                           source=source, date_format=date_format)
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
    detector.set_params(verbose=False).save(target, sign_key=sign_key)
    console = literal_console()
    if not quiet:
        console.print(schema_table(detector.schema_, f"{source}: {len(frame):,} rows"))
    for note in fit_notes(detector.schema_, index_ids):
        typer.echo(f"note: {note}", err=True)
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
        f"{monitored[best - 1]:.4g}); threshold {threshold_text}; saved {target}"
        f"{_signed(sign_key)}",
        markup=False)
    _warn_epoch_cap(detector)


def _with_calibration(strategy, fraction: float):
    """The threshold strategy with ``--calibration-fraction``; refused for a strategy
    that calibrates on no split."""
    import dataclasses

    from latentwatch.thresholds import FalseAlarmRate

    if not isinstance(strategy, FalseAlarmRate):
        fail(f"--calibration-fraction {fraction:g}: only a false_alarm_rate or alerts "
             "--threshold is calibrated on a split")
    return dataclasses.replace(strategy, calibration_fraction=fraction)


def _check_calibration(strategy, n_rows: int, source: str) -> None:
    """Refuse, before training, a calibration split too small, in command-line terms."""
    from latentwatch.thresholds import check_calibration_split

    try:
        check_calibration_split(strategy, n_rows, raise_hint=(
            "raise --calibration-fraction or the rate, or pass --calibration-fraction 0 "
            "and run latentwatch calibrate MODEL NORMAL_DATA after fit"))
    except ValueError as exc:
        fail(f"{source}: {exc}")


def _warn_epoch_cap(detector) -> None:
    if detector.history_["still_improving"]:
        typer.echo(f"warning: training stopped at the epoch cap ({detector.n_epochs_} "
                   "epochs) with the validation loss still falling; try --epochs "
                   f"{2 * detector.n_epochs_}", err=True)


def _signed(sign_key) -> str:
    """What the summary line says of the signature."""
    if sign_key is None:
        return ""
    from latentwatch.signing import key_id

    return f", signed by key {key_id(sign_key)}"


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
                quiet, sign_key=None) -> None:
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
    detector.set_params(verbose=False).save(target, sign_key=sign_key)
    seconds = time.perf_counter() - started
    history = detector.history_
    rows = history["rows"]
    console = literal_console()
    if not quiet:
        console.print(schema_table(detector.schema_, f"{name_of(data)}: "
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
        f"{'none yet' if offset is None else f'{-offset:.4g}'}; saved {target}"
        f"{_signed(sign_key)}", markup=False)
    _warn_epoch_cap(detector)


def _fit_warm(data: str, parent: str, out: str | None, *, fmt: str | None,
              skip_bad_rows: bool, device: str, quiet: bool, verify_key: str | None,
              sign_key, options) -> None:
    """``fit DATA --warm-start MODEL -o NEW``: ``partial_fit`` of the parent on DATA."""
    from sklearn.exceptions import ConvergenceWarning

    from latentwatch.cli.reading import ModelInput, load_model
    from latentwatch.data.codec import describe_problems

    if out is None:
        fail("--warm-start needs --out (the new model file; the parent stays as it is)")
    if Path(out).resolve() == Path(parent).resolve():
        fail(f"--out {out!r} is the --warm-start model; write the updated model to a new file")
    if is_dataset(data):
        fail("--warm-start reads one file in memory; give a CSV or Parquet file")
    detector = load_model(parent, None if device == "auto" else device, verify_key)
    reader = ModelInput(detector, data, fmt=fmt, ids=[], options=options)
    frame = reader.inputs(reader.read(check=False))
    encoded = detector.codec_.encode(frame, source=reader.source)
    if encoded.problems:
        text = describe_problems(encoded.problems)
        if not skip_bad_rows:
            fail(f"{reader.source}: {text}; fix them or pass --skip-bad-rows to train "
                 "without them")
        if not quiet:
            typer.echo(f"skipped: {text}", err=True)
        frame = frame.loc[~encoded.bad].reset_index(drop=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        detector.set_params(verbose=not quiet).partial_fit(frame)
    seconds = time.perf_counter() - started
    target = detector.set_params(verbose=False).save(out, sign_key=sign_key)
    lineage = detector.lineage_
    literal_console().print(
        f"updated {type(detector).__name__} from {parent} (sha256 "
        f"{lineage['parent_sha256'][:12]}) on {len(frame):,} new rows in {seconds:.1f} s "
        f"({detector.n_epochs_} epochs; update {lineage['updates']}, "
        f"{lineage['rows_seen']:,} training rows seen in all){_signed(sign_key)}; saved {target}",
        markup=False)
