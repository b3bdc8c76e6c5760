"""The ``latentwatch`` command line."""

from __future__ import annotations

import typer

from latentwatch.cli_tables import register as register_table_commands

app = typer.Typer(
    help="Anomaly detection with autoencoders and variational autoencoders.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def demo(seed: int = typer.Option(0, help="Random seed for the data draw and the models.")) -> None:
    """Find malignant tumours among benign ones in scikit-learn's breast-cancer table."""
    from latentwatch.demo import run_demo

    run_demo(seed=seed)


@app.command()
def version() -> None:
    """Print the latentwatch version."""
    from latentwatch import __version__

    typer.echo(__version__)


register_table_commands(app)


def main() -> None:
    """Entry point of the console script."""
    app()
