"""The ``latentwatch`` command line."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from latentwatch import cli_tables, commands_generative, commands_report

app = typer.Typer(
    help="Anomaly detection with autoencoders and variational autoencoders.",
    no_args_is_help=True,
    add_completion=False,
)


class Demo(str, Enum):
    breast_cancer = "breast-cancer"
    digits = "digits"


@app.command()
def demo(
    name: Annotated[Demo, typer.Argument(help="Which demo to run.")] = Demo.breast_cancer,
    seed: int = typer.Option(0, help="Random seed for the data draw and the models."),
    out: Annotated[Path, typer.Option(help="Folder for the digits pictures.")] = Path(
        "latentwatch-digits"),
) -> None:
    """Run a demo: breast-cancer (tumours) or digits (the VAE as a generative model).

    breast-cancer finds malignant tumours among benign ones; digits trains a VAE on 8x8
    digits and writes pictures into --out.
    """
    if name is Demo.digits:
        from latentwatch.demo_digits import run_digits_demo

        run_digits_demo(out_dir=out, seed=seed)
        return
    from latentwatch.demo import run_demo

    run_demo(seed=seed)


@app.command()
def version() -> None:
    """Print the latentwatch version."""
    from latentwatch import __version__

    typer.echo(__version__)


cli_tables.register(app)  # fit, score, explain, info, schema
commands_report.register(app)  # evaluate, report
commands_generative.register(app)  # sample, interpolate, encode, plot-latent


def main() -> None:
    """Entry point of the console script."""
    app()
