"""Command-line commands for the VAE as a generative model.

``sample``, ``interpolate``, ``encode`` and ``plot-latent``, registered on the main
typer app by :func:`register`. Tables are read and written by :mod:`latentwatch.io`,
as CSV or Parquet by extension (``-`` writes CSV to standard output), and checked for
the model as ``latentwatch score`` checks them. Every expected failure (a missing
file, a missing or non-numeric column, a row out of range, a damaged model) ends with
a one-line ``error: ...`` naming the file and column, and exit code 1.
"""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from latentwatch.cli_tables import model_input, read_model_input
from latentwatch.errors import DataError
from latentwatch.io import STDIO, TableWriter


class Source(str, Enum):
    auto = "auto"
    prior = "prior"
    aggregate_posterior = "aggregate-posterior"


class Decode(str, Enum):
    mean = "mean"
    sample = "sample"


class LatentPath(str, Enum):
    linear = "linear"
    spherical = "spherical"


def _one_line_errors(command):
    """Turn expected exceptions into ``error: ...`` on stderr and exit code 1."""
    from latentwatch.persistence import ModelFormatError

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (DataError, ModelFormatError) as exc:
            message = str(exc)
        except ValueError as exc:  # refused by the model (e.g. wrong feature names)
            message = " ".join(str(exc).split())
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1)

    return wrapper


# -- tables ------------------------------------------------------------------------------
def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame as CSV or Parquet by extension (``-``: CSV on stdout), creating
    the folder."""
    if str(path) != STDIO:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    with TableWriter(path) as writer:
        writer.write(frame)


def _rows_frame(model, rows) -> pd.DataFrame:
    """Generated rows (array or DataFrame) as a DataFrame with the model's column names."""
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.DataFrame(rows, columns=[f"x{j}" for j in range(rows.shape[1])])


def _load(model_path: Path):
    from latentwatch.persistence import load

    return load(model_path)


# -- commands ----------------------------------------------------------------------------
Model = Annotated[Path, typer.Argument(help="A model file written by save() / latentwatch fit.")]
Data = Annotated[Path, typer.Argument(help="Rows to use: a .csv or .parquet file.")]
Out = Annotated[str, typer.Option("--out", "-o", help="Output .csv/.parquet; '-' for stdout.")]


@_one_line_errors
def sample(
    model_path: Model,
    n: Annotated[int, typer.Option("-n", "--n-rows", min=0,
                                   help="Number of rows to generate.")] = 100,
    out: Out = "-",
    seed: Annotated[int, typer.Option(help="The same seed gives the same rows.")] = 0,
    source: Annotated[Source, typer.Option(
        help="Latent points from the prior N(0, I) or the training data's aggregate "
        "posterior; auto = prior for a VAE, aggregate-posterior for an AE.")] = Source.auto,
    decode: Annotated[Decode, typer.Option(
        help="Decoder mean, or a draw from the decoder's distribution (VAE).")] = Decode.mean,
) -> None:
    """Generate new rows from a fitted model, in the training columns and units."""
    model = _load(model_path)
    chosen = None if source is Source.auto else source.value.replace("-", "_")
    rows = model.sample(n, random_state=seed, source=chosen, decode=decode.value)
    write_table(_rows_frame(model, rows), out)
    if out != "-":
        typer.echo(f"wrote {n} rows to {out}", err=True)


@_one_line_errors
def interpolate(
    model_path: Model,
    data: Data,
    from_row: Annotated[int, typer.Option("--from",
                                          help="Start row (0-based position in DATA).")],
    to_row: Annotated[int, typer.Option("--to", help="End row (0-based position in DATA).")],
    steps: Annotated[int, typer.Option("--steps", "-k", min=2,
                                       help="Rows out, end points included.")] = 8,
    path: Annotated[LatentPath, typer.Option(
        "--path", help="Straight line or spherical (slerp).")] = LatentPath.linear,
    out: Out = "-",
) -> None:
    """Decode evenly spaced points on the latent path between two rows of DATA."""
    model = _load(model_path)
    _, X = read_model_input(model, data)
    for option, row in (("--from", from_row), ("--to", to_row)):
        if not 0 <= row < len(X):
            raise DataError(f"{option} {row}: {data} has rows 0 to {len(X) - 1}")
    X = model_input(model, X)
    pick = (lambda i: X.iloc[[i]]) if isinstance(X, pd.DataFrame) else (lambda i: X[i])
    rows = _rows_frame(model, model.interpolate(pick(from_row), pick(to_row), steps=steps,
                                                path=path.value))
    rows.insert(0, "step", np.arange(steps))
    write_table(rows, out)


@_one_line_errors
def encode(
    model_path: Model,
    data: Data,
    out: Out = "-",
    variance: Annotated[bool, typer.Option("--variance",
                                           help="Add posterior variances.")] = False,
    id_column: Annotated[str | None, typer.Option(
        help="A DATA column to copy to the output.")] = None,
) -> None:
    """Write the latent means (columns z0, z1, ...) of the rows of DATA."""
    model = _load(model_path)
    frame, X = read_model_input(model, data, keep=[id_column] if id_column else [])
    mean, var = model.encode(model_input(model, X), return_variance=True)
    table = pd.DataFrame(mean, columns=[f"z{j}" for j in range(mean.shape[1])])
    if variance:
        for j in range(var.shape[1]):
            table[f"var_z{j}"] = var[:, j]
    if id_column is not None:
        table.insert(0, id_column, frame[id_column].to_numpy())
    write_table(table, out)
    if out != "-":
        typer.echo(f"wrote {len(table)} codes to {out}", err=True)


@_one_line_errors
def plot_latent(
    model_path: Model,
    data: Data,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output image (.png).")] = Path(
        "latent.png"),
    color_by: Annotated[str | None, typer.Option(
        help="DATA column to colour by (default: the anomaly score).")] = None,
) -> None:
    """Draw the rows of DATA in the latent space (a PCA of it beyond two dimensions)."""
    model = _load(model_path)
    frame, X = read_model_input(model, data, keep=[color_by] if color_by else [])
    X = model_input(model, X)
    if color_by is None:
        colour, label = model.anomaly_score(X), "anomaly score"
    else:
        colour, label = frame[color_by], color_by
    figure = latent_figure(model.encode(X), colour, label)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=120)
    except (OSError, ValueError) as exc:
        raise DataError(f"{out}: cannot write the image ({exc})") from exc
    typer.echo(f"wrote {out}", err=True)


def latent_figure(codes: np.ndarray, colour, label: str, max_categories: int = 12):
    """Scatter plot of latent codes: the two dimensions, one with jitter, or a 2-D PCA.

    ``colour`` with few distinct values (or non-numeric) gets one colour per value and a
    legend (the rarest values pooled as "other"); otherwise a colour bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = codes.shape[1]
    if k == 1:
        xy = np.c_[codes[:, 0], np.random.default_rng(0).uniform(-1, 1, len(codes))]
        axes_names = ("z0", "jitter")
    elif k == 2:
        xy, axes_names = codes, ("z0", "z1")
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=0).fit(codes)
        xy = pca.transform(codes)
        share = pca.explained_variance_ratio_
        axes_names = (f"PC1 of the latent means ({share[0]:.0%})",
                      f"PC2 ({share[1]:.0%})")
    fig, ax = plt.subplots(figsize=(6, 5))
    values = pd.Series(np.asarray(colour))
    numeric = pd.api.types.is_numeric_dtype(values) and values.nunique() > max_categories
    if numeric:
        points = ax.scatter(xy[:, 0], xy[:, 1], c=values.to_numpy(dtype=float), s=6,
                            cmap="viridis")
        fig.colorbar(points, ax=ax, label=label)
    else:
        counts = values.astype(str).value_counts()
        keep = list(counts.index[:max_categories - 1]) if len(counts) > max_categories else list(
            counts.index)
        names = values.astype(str).where(values.astype(str).isin(keep), "other")
        groups = [*sorted(keep), *(["other"] if len(keep) < len(counts) else [])]
        palette = plt.cm.tab10 if len(groups) <= 10 else plt.cm.tab20
        for i, name in enumerate(groups):
            rows = (names == name).to_numpy()
            ax.scatter(xy[rows, 0], xy[rows, 1], s=6, color=palette(i), label=name)
        ax.legend(title=label, fontsize=7, markerscale=2)
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    ax.set_title(f"Latent space ({k}-D), {len(codes)} rows")
    fig.tight_layout()
    return fig


def register(app: typer.Typer) -> None:
    """Add ``sample``, ``interpolate``, ``encode`` and ``plot-latent`` to ``app``."""
    app.command("sample")(sample)
    app.command("interpolate")(interpolate)
    app.command("encode")(encode)
    app.command("plot-latent")(plot_latent)
