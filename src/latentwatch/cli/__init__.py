"""The ``latentwatch`` command line: one app, one error wrapper, one set of options.

=================  ============================================================
``fit``            train a detector on DATA, save it (``cli.fit``)
``score``          score every row of DATA (streamed)
``explain``        the columns behind the scores of some rows
``drift``          has the data moved from the calibration rows, and where (``cli.drift``)
``info``           describe a model file
``schema``         how ``fit`` would read DATA, as editable JSON
``evaluate``       metrics against labels (``cli.evaluation``)
``calibrate``      calibrate a threshold on normal rows (``cli.calibrate``)
``report``         a self-contained HTML report
``sample``         generate rows (``cli.generate``)
``interpolate``    rows on the latent path between two rows
``encode``         latent codes of rows
``plot-latent``    a picture of the latent space
``demo``           the breast-cancer or digits demo
``serve``          a REST scoring service (``cli.serve``)
=================  ============================================================

Every command is wrapped by :func:`latentwatch.cli.errors.guarded` and takes
``--debug``; the shared options are in :mod:`latentwatch.cli.options`. Importing this
package imports neither torch nor pandas nor scikit-learn (``latentwatch --help`` and
``--version`` answer at once): the commands import them when they run.
"""

from __future__ import annotations

import inspect
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from latentwatch.cli import calibrate, describe, evaluation, fit, generate, keys, score, serve
from latentwatch.cli import drift as drift_command
from latentwatch.cli import options as opt
from latentwatch.cli.errors import EXIT_TERMINATED, Group, guarded

app = typer.Typer(
    name="latentwatch",
    cls=Group,
    help="Anomaly detection with autoencoders and variational autoencoders, on tables "
    "(CSV or Parquet) of numbers, categories, booleans, datetimes and gaps.\n\n"
    "Start with [bold]latentwatch fit DATA[/bold], then [bold]latentwatch score MODEL "
    "DATA[/bold]. Every command's --help shows its options, their defaults and an example.",
    epilog="Example: latentwatch fit transactions.csv -o fraud.lwm && latentwatch score "
    "fraud.lwm new.csv -o scores.csv",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(show: bool) -> None:
    if show:
        from latentwatch import __version__

        typer.echo(f"latentwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the latentwatch version and exit.")] = False,
) -> None:
    """Anomaly detection with autoencoders and variational autoencoders."""


class Demo(str, Enum):
    """The demos."""

    breast_cancer = "breast-cancer"
    digits = "digits"


def demo(
    name: Annotated[Demo, typer.Argument(metavar="DEMO", help="breast-cancer or digits.")
                    ] = Demo.breast_cancer,
    seed: opt.Seed = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the digits demo's "
                                                           "pictures.")
                   ] = Path("latentwatch-digits"),
    debug: opt.Debug = False,
) -> None:
    """Run a demo: breast-cancer (find malignant tumours among benign ones) or digits
    (the VAE as a generative model of 8x8 digits; pictures go to --out).

    [bold]Example:[/bold] latentwatch demo digits -o pictures
    """
    if name is Demo.digits:
        from latentwatch.demos.digits import run_digits_demo

        run_digits_demo(out_dir=out, seed=seed)
        return
    from latentwatch.demos.breast_cancer import run_demo

    run_demo(seed=seed)


COMMANDS = {
    "fit": fit.fit,
    "score": score.score,
    "explain": score.explain,
    "drift": drift_command.drift,
    "info": describe.info,
    "schema": describe.schema,
    "evaluate": evaluation.evaluate,
    "calibrate": calibrate.calibrate,
    "report": evaluation.report,
    "sample": generate.sample,
    "interpolate": generate.interpolate,
    "encode": generate.encode,
    "plot-latent": generate.plot_latent,
    "demo": demo,
    "serve": serve.serve,
    "keygen": keys.keygen,
    "sign": keys.sign,
}



def unwrap(doc: str | None) -> str:
    """A docstring as help text: paragraphs kept, the line breaks inside them removed
    (typer keeps them as they are)."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


for _name, _command in COMMANDS.items():
    app.command(_name, help=unwrap(_command.__doc__))(guarded(_command))


def main() -> None:
    """Entry point of the ``latentwatch`` console script and ``python -m latentwatch``.

    After SIGTERM (status 143, the partial output already removed) the process ends at
    once: a native worker thread still running at interpreter shutdown could otherwise
    abort it (status -6, "terminate called without an active exception").
    """
    try:
        app(prog_name="latentwatch")
    except SystemExit as exc:
        if exc.code == EXIT_TERMINATED:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_TERMINATED)
        raise


__all__ = ["COMMANDS", "app", "main"]
