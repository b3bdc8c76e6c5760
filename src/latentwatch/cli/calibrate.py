"""The ``calibrate`` command: calibrate a model's threshold and p-values on normal rows."""

from __future__ import annotations

from typing import Annotated

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.errors import fail
from latentwatch.cli.reading import ModelInput, load_model, read_options, sign_key_of


def calibrate(
    model: opt.Model,
    data: Annotated[str, typer.Argument(
        metavar="DATA", show_default=False,
        help="Normal rows the model did not train on: a CSV or Parquet file, or - for "
        "stdin.")],
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default="MODEL, replaced atomically",
        help="Model file to write.")] = None,
    fmt: opt.InputFormat = None,
    decimal: opt.DecimalMark = ".",
    thousands: opt.Thousands = None,
    encoding: opt.Encoding = "utf-8",
    device: opt.Device = None,
    verify_key: opt.VerifyKey = None,
    sign_key: opt.SignKey = None,
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Calibrate MODEL on DATA, normal rows it never trained on, and save it.

    The rows' scores become the calibration scores behind p-values; a false_alarm_rate
    or alerts threshold is derived from them (split conformal: a fresh normal row is
    flagged with probability at most the rate). This is the way to a threshold on a
    small table: fit with --calibration-fraction 0 on one part, calibrate on another.
    A false_alarm_rate of r needs at least 1/r - 1 rows (199 for alerts:50/10000).

    [bold]Example:[/bold] latentwatch calibrate m.lwm part2.csv (after latentwatch fit
    part1.csv --threshold alerts:50/10000 --calibration-fraction 0 -o m.lwm)
    """
    from latentwatch.thresholds import describe_threshold

    target = model if out is None else out
    sign_key = sign_key_of(sign_key)
    detector = load_model(model, device, verify_key)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=[],
                        options=read_options(decimal, thousands, encoding))
    frame = reader.read()
    try:
        detector.calibrate(reader.inputs(frame))
    except ValueError as exc:
        fail(f"{reader.source}: {exc}")
    detector.save(target, sign_key=sign_key)
    if not quiet:
        offset = detector.offset_
        typer.echo(f"calibrated on {len(frame):,} rows: threshold "
                   f"{'none' if offset is None else f'{-offset:.4g}'} "
                   f"({describe_threshold(detector)}); saved {target}", err=True)
