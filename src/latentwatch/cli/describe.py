"""The commands that describe without training or scoring: ``schema`` (how ``fit``
would read DATA) and ``info`` (what a model file holds).

Heavy modules (pandas, torch, scikit-learn) are imported inside the commands.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.console import literal, literal_console, schema_table
from latentwatch.cli.reading import (
    fit_notes,
    index_columns,
    load_model,
    name_of,
    read_options,
    read_training,
    refuse_table_options,
    training_schema,
    window_steps,
    write_text,
)

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
    time_column: opt.TimeColumn = None,
    window: opt.Window = None,
    out: Annotated[str, typer.Option("--out", "-o", help="Schema JSON file, or - for "
                                                         "stdout.")] = opt.STDIO,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    date_format: opt.DateFormat = None,
    model_index: Annotated[bool, typer.Option(
        "--model-index", help="Model columns of row numbers instead of setting them aside "
        "(as fit --model-index).")] = False,
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Show how [bold]fit[/bold] would read DATA, and write that schema as JSON.

    The table (on stderr) lists each column's kind and why; the JSON (on stdout or
    --out) can be edited and passed back with [bold]fit --schema FILE[/bold]. Id (-i) and
    excluded (-x) columns are set aside first; the others follow the Python rule (all
    numeric: a numeric matrix; else inferred). With --time-column (or --window), as
    [bold]fit[/bold] reads a time series: the time column is set aside and every other
    column is a numeric channel.

    [bold]Example:[/bold] latentwatch schema transactions.csv -i transaction_id -o schema.json
    """
    source = name_of(data)
    ids, excluded = list(id_column or []), list(exclude or [])
    series = time_column is not None or window is not None
    if series:
        refuse_table_options(schema_file, max_categories)
    frame = read_training(data, opt.value(fmt), ids, schema_file,
                          read_options(decimal, thousands, encoding))
    index_ids = [] if model_index or series else index_columns(frame, ids, excluded,
                                                                 schema_file)
    ids += index_ids
    if series:
        from latentwatch.data import codec_for

        codec = codec_for(frame, {"id_columns": ids, "exclude": excluded},
                          time_column=time_column, window=window_steps(window),
                          source=source)
        resolved = codec.fit(frame, source).schema_
    else:
        from latentwatch.data.codec import resolve_schema

        argument = training_schema(frame, ids=ids, exclude=excluded, schema=schema_file,
                                   max_categories=max_categories, source=source,
                                   date_format=date_format)
        resolved = resolve_schema(argument, frame, source)
    if not quiet:
        literal_console(stderr=True).print(schema_table(resolved, f"{source}: {len(frame):,} rows"))
    for note in fit_notes(resolved, index_ids):
        typer.echo(f"note: {note}", err=True)
    text = resolved.to_json()
    if out == opt.STDIO:
        typer.echo(text)
    else:
        write_text(out, text + "\n")
        if not quiet:
            typer.echo(f"wrote {out}", err=True)


# -- info ----------------------------------------------------------------------------------
def _data_kind(detector) -> str:
    if detector.input_kind_ == "array":
        return "an unnamed array"
    return "a table" if detector.window_ is None else "a time series"


class _FileView:
    """What ``info`` shows of a model file, read from its JSON and tensor shapes without
    torch or scikit-learn (the attributes ``info`` reads of a loaded detector)."""

    def __init__(self, meta: dict, codec, params: dict, hidden: list[int], latent: int,
                 threshold_state) -> None:
        self.input_kind_ = meta["fit"]["input_kind"]
        self.codec_ = codec
        self.schema_ = codec.schema_
        context = codec.context_rows
        self.window_ = context + 1 if context else None
        self.hidden_dims_, self.latent_dim_ = hidden, latent
        self.threshold_state_ = threshold_state
        self.offset_ = threshold_state.for_method(_score_method(meta)).offset
        self._params = params

    def get_params(self, deep: bool = False) -> dict:
        return dict(sorted(self._params.items()))


# the built-in detectors, whose network layout and default score method info knows
_BUILT_IN = {("VAEDetector", "vae"), ("AutoEncoderDetector", "ae")}


def _score_method(meta: dict) -> str:
    """The score method a built-in detector of this file scores with (``auto`` resolved
    as :class:`latentwatch.VAEDetector` resolves it)."""
    params = meta["params"]
    method = params.get("score_method", "auto")
    if method != "auto":
        return method
    series = params.get("time_column") is not None or params.get("window") is not None
    if meta["class"] == "AutoEncoderDetector" or series:
        return "reconstruction_error"
    return "importance_weighted"


def _network_dims(shapes: dict[str, tuple[int, ...]]) -> list[int]:
    """``[n_inputs, *hidden, latent]`` of a built-in model from its weights' shapes: the
    encoder's linear layers in order, then the VAE's ``latent_mean``."""
    encoder = sorted((tuple(int(p) for p in name.split(".")[2:-1]), shape)
                     for name, shape in shapes.items()
                     if name.startswith("module.encoder.") and name.endswith(".weight"))
    chain = [encoder[0][1][1], *(shape[0] for _, shape in encoder)] if encoder else []
    mean = shapes.get("module.latent_mean.weight")
    if mean is not None:
        chain = [*(chain or [mean[1]]), mean[0]]
    return chain


def _file_view(path, meta: dict, tensors: dict):
    """The ``info`` view of a checked model file of a built-in detector, or None where
    only a full load can describe it (another registered model, inconsistent contents:
    the full load then says what is wrong)."""
    try:
        if (meta["class"], meta["model"]["name"]) not in _BUILT_IN:
            return None
        from latentwatch.data import codec_from_dict
        from latentwatch.model_file import check_contents, params_from_json
        from latentwatch.thresholds import ThresholdState

        codec = codec_from_dict(meta["codec"])
        check_contents(path, meta, codec)
        chain = _network_dims({name: t.shape for name, t in tensors.items()})
        config = params_from_json(meta["model"]["config"])
        hidden, latent = config.get("hidden_dims"), config.get("latent_dim")
        if (len(chain) < 2 or chain[0] != codec.shape.n_inputs
                or (hidden is not None and list(hidden) != chain[1:-1])
                or (latent is not None and latent != chain[-1])):
            return None
        calibration = {name[len("calibration."):]: t.array().copy()
                       for name, t in tensors.items() if name.startswith("calibration.")}
        state = ThresholdState.from_dict(meta["threshold"], calibration)
        return _FileView(meta, codec, params_from_json(meta["params"]), chain[1:-1],
                         chain[-1], state)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _signer(header: dict[str, str]) -> str | None:
    """The key id a model file's header names as its signer (not verified), or None."""
    from latentwatch import signing

    try:
        return str(json.loads(header[signing.HEADER_KEY]).get("key_id"))
    except (KeyError, ValueError, AttributeError, TypeError):
        return None


def info(
    model: opt.Model,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model file's metadata "
                                                         "as JSON.")] = False,
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default=False,
        help="Write the metadata JSON to this file (as --json prints it).")] = None,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Describe a model file: data schema, network, parameters, training and threshold.

    [bold]Example:[/bold] latentwatch info fraud.lwm
    """
    from latentwatch.model_file import read_checked
    from latentwatch.thresholds import describe_threshold

    meta, tensors, header = read_checked(model, verify_key=verify_key)
    if as_json or out is not None:
        text = json.dumps(meta, indent=2)
        if out is not None:
            write_text(out, text + "\n")
            typer.echo(f"wrote {out}", err=True)
        if as_json:
            typer.echo(text)
        return
    detector = _file_view(model, meta, tensors) or load_model(model, "cpu", verify_key)
    console = literal_console()
    console.print(f"{model}: {meta['class']} (model format {meta['format_version']}, "
                  f"latentwatch {meta['latentwatch_version']})", markup=False)
    key = _signer(header)
    console.print("signature: " + ("none" if key is None else f"signed by key {key}, "
                  + ("verified" if verify_key else "not verified (pass --verify-key)")),
                  markup=False)
    codec = detector.codec_
    console.print(f"data: {codec.n_blocks} modelled columns from {len(codec.sources)} data "
                  f"columns ({_data_kind(detector)}); network {codec.shape.n_inputs} inputs "
                  f"-> {detector.hidden_dims_} -> latent {detector.latent_dim_} "
                  f"({meta['model']['name']})", markup=False)
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
        table.add_row(literal(block.name), block.kind, literal(learned))
    for name, kind, details in detector.schema_.describe():
        if kind in ("id", "excluded"):
            table.add_row(literal(name), kind, literal(details))
    return table
