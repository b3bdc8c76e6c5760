"""The options and arguments shared by the commands: one spelling, one meaning.

==================  ==================================================================
``MODEL``           a model file (``.lwm``) written by ``fit`` or ``save()``
``DATA``            a CSV or Parquet file (by extension), or ``-`` for stdin
``--out/-o``        every output: model, scores, samples, codes, report, image, JSON
``--format``        the format of DATA: csv or parquet (for stdin or an unusual name)
``--out-format``    the format of a table written to ``--out``
``-k/--top-k``      columns named per row
``-n/--n-rows``     a count of rows (rows to generate, to list, to explain)
``--rows``          rows picked by number, e.g. ``3,17,40-45``; ``--from``/``--to`` one
                    row each; rows count from 1, the first row after the header
``-i/--id-column``  a column copied to the output / shown with a row (repeatable)
``--seed``          seeds every random draw of the command
``--device``        where the network runs
``--decimal``       the decimal mark of a CSV file (``,`` for ``135,25``)
``--thousands``     its thousands separator (``,`` for ``1,300``)
``--encoding``      its text encoding (``latin-1``, ``cp1252``...)
``--verify-key``    a public key: refuse a model not signed by its private key
``-q/--quiet``      no progress bar, tables or summaries on stderr
``--debug``         a traceback instead of the one-line error
==================  ==================================================================

Nothing heavy is imported here (the defaults below are plain values), so that
``latentwatch --help`` stays fast.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

# Rows read and scored at a time; the same as latentwatch.data.io.CHUNK_ROWS (a test
# checks), kept here so that --help does not import pandas.
CHUNK_ROWS = 100_000
# Rows ``score`` reads and scores at a time: a row's score does not depend on the chunk,
# and smaller chunks hold less (200,000 transactions: peak RSS 690 MiB at 20,000 rows a
# chunk, 928 MiB at 100,000; benchmarks/README.md).
SCORE_CHUNK_ROWS = 20_000
STDIO = "-"


class Format(str, Enum):
    """A table format."""

    csv = "csv"
    parquet = "parquet"


def value(choice: Enum | None) -> str | None:
    """The text of an enum choice (``None`` stays ``None``)."""
    return None if choice is None else str(choice.value)


Model = Annotated[str, typer.Argument(
    metavar="MODEL", show_default=False,
    help="Model file written by [bold]latentwatch fit[/bold] or save() (.lwm).")]
Data = Annotated[str, typer.Argument(
    metavar="DATA", show_default=False,
    help="CSV or Parquet file (by extension; CSV may be compressed), or - for stdin.")]
InputFormat = Annotated[Format | None, typer.Option(
    "--format", show_default="by the extension of DATA",
    help="Format of DATA: csv or parquet (for stdin or an unusual file name).")]
OutFormat = Annotated[Format | None, typer.Option(
    "--out-format", show_default="by the extension of --out; csv for -",
    help="Format of the table written to --out.")]
TableOut = Annotated[str, typer.Option(
    "--out", "-o", help="Output table: .csv (optionally .gz, .bz2, .xz, .zip), .tsv, "
    ".parquet, or - for stdout.")]
IdColumns = Annotated[list[str] | None, typer.Option(
    "--id-column", "-i", show_default="the model's id columns present in DATA",
    help="Column of DATA to copy to the output and show with each row (repeatable).")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of every random draw: the same seed "
                                                  "gives the same result.")]
Device = Annotated[str | None, typer.Option(
    "--device", show_default="the model's (auto: CUDA when available, else the CPU)",
    help="Where the network runs: auto, cpu, cuda, cuda:1, ...")]
TimeColumn = Annotated[str | None, typer.Option(
    "--time-column", "-t", show_default=False,
    help="Read DATA as a time series ordered by this column: each row is scored on the "
    "window of its last --window steps of every other numeric column (gaps and "
    "skipped timestamps masked).")]
Window = Annotated[str | None, typer.Option(
    "--window", "-w", show_default="auto with --time-column",
    help="Steps per window, or auto: the dominant period of the series "
    "(autocorrelation), bounded to 8..256 and a quarter of the rows.")]
ChunkRows = Annotated[int, typer.Option("--chunk-rows", min=1,
                                        help="Rows read and scored at a time.")]
VerifyKey = Annotated[str | None, typer.Option(
    "--verify-key", envvar="LATENTWATCH_VERIFY_KEY", show_default="no check",
    help="Ed25519 public key file (PEM, ssh-ed25519 or raw): refuse MODEL unless it is "
    "signed by its private key ([bold]fit --sign-key[/bold]; [bold]latentwatch keygen"
    "[/bold] makes a pair).")]
SignKey = Annotated[str | None, typer.Option(
    "--sign-key", envvar="LATENTWATCH_SIGN_KEY", show_default="unsigned",
    help="Ed25519 private key file: sign the model file, so that --verify-key with the "
    "public key accepts it and refuses any edited copy.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q",
                                     help="No progress bar, tables or summaries on stderr.")]
Debug = Annotated[bool, typer.Option("--debug",
                                     help="Show the full traceback of an error instead of "
                                          "one line.")]
LabelColumn = Annotated[str | None, typer.Option(
    "--label-column", "-l", show_default=False,
    help="Column of DATA with the labels: 1 (or true) for an anomaly, 0 for a normal row.")]
Exclude = Annotated[list[str] | None, typer.Option(
    "--exclude", "-x", show_default=False, help="Column of DATA to ignore (repeatable).")]
SchemaOption = Annotated[str | None, typer.Option(
    "--schema", show_default="the rule above",
    help="JSON schema file overriding the inference for the columns it names (see "
    "[bold]latentwatch schema[/bold]), or [bold]infer[/bold] to infer every column, "
    "numeric ones included (log scales, categorical integers).")]
MaxCategories = Annotated[int | None, typer.Option(
    "--max-categories", min=1, show_default="50",
    help="Categories kept per column; rarer values share one rare bucket.")]


DecimalMark = Annotated[str, typer.Option(
    "--decimal", help="Decimal mark of the numbers in a CSV DATA: . or , (135,25).")]
Thousands = Annotated[str | None, typer.Option(
    "--thousands", show_default="none",
    help="Thousands separator of the numbers in a CSV DATA: , (1,300) or . (1.300,25 "
    "with --decimal ,). Currency signs ($, €, £...) are read without it.")]
Encoding = Annotated[str, typer.Option(
    "--encoding", help="Text encoding of a CSV DATA: utf-8, latin-1, cp1252, ...")]
DateFormat = Annotated[str | None, typer.Option(
    "--date-format", show_default="ISO 8601, or D/M/Y or M/D/Y by the values",
    help="strftime format of the text dates of DATA, e.g. %m/%d/%Y %H:%M (US) or "
    "%d.%m.%Y: the model keeps it and reads new data with it.")]


def top_k(minimum: int = 0, what: str = "Columns named per row, largest contribution first."
          ) -> object:
    """``-k/--top-k``: columns per row (use it as ``Annotated[int, top_k()] = 3``)."""
    return typer.Option("--top-k", "-k", min=minimum, help=what)


# The most rows one command generates or lists: checked before anything is allocated.
MAX_ROWS = 1_000_000


def n_rows(what: str, minimum: int = 0, maximum: int = MAX_ROWS) -> object:
    """``-n/--n-rows``: a count of rows, at most ``maximum`` (checked before any work)."""
    return typer.Option("--n-rows", "-n", min=minimum, max=maximum, help=what)

