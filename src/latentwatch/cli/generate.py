"""The commands on the latent space: ``sample``, ``interpolate``, ``encode`` and
``plot-latent``.

Generated rows are decoded by the model's one decode path (valid rows of the training
schema, datetimes as timestamps), so ``latentwatch score`` reads what ``sample`` writes.
"""

from __future__ import annotations

import io
from enum import Enum
from typing import Annotated

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.errors import fail
from latentwatch.cli.reading import (
    ModelInput,
    check_row,
    load_model,
    write_bytes,
    write_table,
)


class Source(str, Enum):
    """Where ``sample`` draws latent points from."""

    auto = "auto"
    prior = "prior"
    aggregate_posterior = "aggregate-posterior"


class Decode(str, Enum):
    """How ``sample`` turns a latent point into a row."""

    auto = "auto"
    mean = "mean"
    sample = "sample"


def parse_condition(text: str) -> tuple[str, object]:
    """``"country=DE"`` to ``("country", "DE")``, ``"amount=10..50"`` to
    ``("amount", ("10", "50"))`` (a range, both ends included)."""
    column, sep, value = text.partition("=")
    if not sep or not column.strip():
        raise ValueError(f"--condition {text!r}: write COLUMN=VALUE or COLUMN=LOW..HIGH, e.g. "
                         "country=DE or amount=10..50")
    low, dots, high = value.partition("..")
    return column.strip(), ((low.strip(), high.strip()) if dots else value.strip())


class LatentPath(str, Enum):
    """The path ``interpolate`` follows."""

    linear = "linear"
    spherical = "spherical"


def _rows_frame(model, rows):
    """Decoded rows as a DataFrame (an array model's rows get its columns x0, x1, ...)."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    return pd.DataFrame(rows, columns=list(model.codec_.sources))


def _status(quiet: bool, out: str, text: str) -> None:
    if not quiet and out != opt.STDIO:
        typer.echo(text, err=True)


def sample(
    model: opt.Model,
    n: Annotated[int, opt.n_rows("Rows to generate.")] = 100,
    out: opt.TableOut = opt.STDIO,
    seed: opt.Seed = 0,
    source: Annotated[Source, typer.Option(
        "--source", help="Latent points from the prior N(0, I) or from the training rows' "
        "aggregate posterior; auto: the aggregate posterior (measured the more realistic)."
    )] = Source.auto,
    decode: Annotated[Decode, typer.Option(
        "--decode", help="mean: the most probable row at each point; sample (VAE): draw "
        "every column from the decoder, gaps at the training rate included; auto: sample "
        "for a VAE, mean for an AE.")] = Decode.auto,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", "-c", show_default=False,
        help="Keep only rows with COLUMN=VALUE (a training category, boolean or number) or "
        "COLUMN=LOW..HIGH (a numeric range, ends included); repeat for several. Rows are "
        "drawn by rejection, so the other columns follow the model's conditional "
        "distribution.")] = None,
    max_draws: Annotated[int | None, typer.Option(
        "--max-draws", min=1, show_default="max(20,000, 200 N)",
        help="With --condition: rows drawn at most before giving up.")] = None,
    temperature: Annotated[float | None, typer.Option(
        "--temperature", min=0.0, show_default="1",
        help="With --decode sample: numbers drawn with this times the decoder's standard "
        "deviation (1: its own spread; less keeps more of the correlations).")] = None,
    out_format: opt.OutFormat = None,
    device: opt.Device = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Generate new rows: the training columns, units and categories, every value valid
    (numbers in the training range, datetimes as timestamps).

    [bold]Example:[/bold] latentwatch sample fraud.lwm -n 1000 --condition country=DE -o de.csv
    """
    detector = load_model(model, device, verify_key)
    variational = detector.module_.variational
    if source is Source.prior and not variational:
        fail(f"{model}: --source prior needs a VAE (an autoencoder has no prior); use "
             "--source aggregate-posterior")
    if decode is Decode.sample and not variational:
        fail(f"{model}: --decode sample needs a VAE (an autoencoder's decoder has no "
             "distribution); use --decode mean")
    chosen = None if source is Source.auto else source.value.replace("-", "_")
    try:
        conditions = dict(parse_condition(text) for text in condition or [])
        rows = detector.sample(n, random_state=seed, source=chosen,
                               decode=None if decode is Decode.auto else decode.value,
                               conditions=conditions or None, max_draws=max_draws,
                               temperature=temperature)
    except ValueError as exc:
        fail(f"{model}: {exc}")
    write_table(_rows_frame(detector, rows), out, opt.value(out_format))
    held = f" with {', '.join(condition)}" if condition else ""
    _status(quiet, out, f"wrote {n:,} rows{held} to {out}")


def interpolate(
    model: opt.Model,
    data: opt.Data,
    from_row: Annotated[int, typer.Option(
        "--from", min=1, show_default=False,
        help="Start row (from 1, the first row after the header).")],
    to_row: Annotated[int, typer.Option(
        "--to", min=1, show_default=False, help="End row (from 1, after the header).")],
    n: Annotated[int, opt.n_rows("Rows written: points on the path, both ends included.",
                                 minimum=2)] = 8,
    path: Annotated[LatentPath, typer.Option(
        "--path", help="A straight line, or spherical (slerp) between the latent means."
    )] = LatentPath.linear,
    out: opt.TableOut = opt.STDIO,
    fmt: opt.InputFormat = None,
    out_format: opt.OutFormat = None,
    device: opt.Device = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Decode evenly spaced points on the latent path between two rows of DATA.

    The path joins the two rows' latent means; the first and last rows written (steps 0
    and N-1) are the model's reconstructions of the two rows (decoded at those means),
    not the rows as given. A step column counts from 0.

    [bold]Example:[/bold] latentwatch interpolate fraud.lwm new.csv --from 3 --to 17 -n 6
    """
    import numpy as np

    detector = load_model(model, device, verify_key)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=[])
    frame = reader.read(check=False)
    start = check_row(from_row, len(frame), "--from", reader.source)
    end = check_row(to_row, len(frame), "--to", reader.source)
    ends = frame.iloc[[start, end]].reset_index(drop=True)
    reader.check(ends)
    X = reader.inputs(ends)
    rows = _rows_frame(detector, detector.interpolate(X.iloc[[0]], X.iloc[[1]], steps=n,
                                                      path=path.value))
    rows.insert(0, "step", np.arange(n))
    write_table(rows, out, opt.value(out_format))
    _status(quiet, out, f"wrote {n} rows to {out}: steps 0 and {n - 1} are the model's "
                        f"reconstructions of rows {from_row} and {to_row}")


def encode(
    model: opt.Model,
    data: opt.Data,
    out: opt.TableOut = opt.STDIO,
    variance: Annotated[bool, typer.Option(
        "--variance", help="Add the posterior variances var_z0, var_z1, ... (0 for an AE).")
                        ] = False,
    id_column: opt.IdColumns = None,
    fmt: opt.InputFormat = None,
    out_format: opt.OutFormat = None,
    device: opt.Device = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Write the latent means (columns z0, z1, ...) of the rows of DATA, in order.

    [bold]Example:[/bold] latentwatch encode fraud.lwm new.csv -i transaction_id -o codes.parquet
    """
    import pandas as pd

    detector = load_model(model, device, verify_key)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=id_column or None)
    frame = reader.read()
    mean, var = detector.encode(reader.inputs(frame), return_variance=True)
    table = pd.DataFrame({c: frame[c].to_numpy() for c in reader.ids})
    for j in range(mean.shape[1]):
        table[f"z{j}"] = mean[:, j]
    if variance:
        for j in range(var.shape[1]):
            table[f"var_z{j}"] = var[:, j]
    write_table(table, out, opt.value(out_format))
    _status(quiet, out, f"wrote {len(table):,} codes to {out}")


def plot_latent(
    model: opt.Model,
    data: opt.Data,
    out: Annotated[str, typer.Option("--out", "-o", help="Image file: .png, .svg or .pdf."
                                     )] = "latent.png",
    color_by: Annotated[str | None, typer.Option(
        "--color-by", show_default="the anomaly score",
        help="Column of DATA to colour the points by.")] = None,
    seed: opt.Seed = 0,
    fmt: opt.InputFormat = None,
    device: opt.Device = None,
    quiet: opt.Quiet = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Draw the rows of DATA in the latent space (a PCA of it beyond two dimensions).

    [bold]Example:[/bold] latentwatch plot-latent fraud.lwm new.csv --color-by merchant_category
    """
    detector = load_model(model, device, verify_key)
    reader = ModelInput(detector, data, fmt=opt.value(fmt), ids=[],
                        keep=[color_by] if color_by else [])
    frame = reader.read()
    X = reader.inputs(frame)
    if color_by is None:
        colour, label = detector.anomaly_score(X), "anomaly score"
    else:
        colour, label = frame[color_by], color_by
    figure = latent_figure(detector.encode(X), colour, label, seed=seed)
    kind = str(out).rsplit(".", 1)[-1].lower() if "." in str(out) else ""
    if kind not in ("png", "svg", "pdf"):
        fail(f"{out}: unknown image type (use .png, .svg or .pdf)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=120)
    write_bytes(out, buffer.getvalue())
    _status(quiet, out, f"wrote {out}")


def latent_figure(codes, colour, label: str, max_categories: int = 12, seed: int = 0):
    """Scatter plot of latent codes: one dimension with jitter, two as they are, or a 2-D
    PCA of more.

    ``colour`` with few distinct values (or not numeric) gets one colour per value and a
    legend (the rarest values pooled as "other"); otherwise a colour bar.
    """
    import numpy as np
    import pandas as pd
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    codes = np.asarray(codes, dtype=np.float64)
    k = codes.shape[1]
    if k == 1:
        jitter = np.random.default_rng(seed).uniform(-1, 1, len(codes))
        xy, axes_names = np.c_[codes[:, 0], jitter], ("z0", "jitter")
    elif k == 2:
        xy, axes_names = codes, ("z0", "z1")
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed).fit(codes)
        xy = pca.transform(codes)
        share = pca.explained_variance_ratio_
        axes_names = (f"PC1 of the latent means ({share[0]:.0%})", f"PC2 ({share[1]:.0%})")
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    values = pd.Series(np.asarray(colour))
    numeric = (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
               and values.nunique() > max_categories)
    if numeric:
        points = ax.scatter(xy[:, 0], xy[:, 1], c=values.to_numpy(dtype=float), s=6,
                            cmap="viridis")
        fig.colorbar(points, ax=ax, label=label)
    else:
        names = values.astype(str)
        counts = names.value_counts()
        keep = list(counts.index[:max_categories - 1]) if len(counts) > max_categories else list(
            counts.index)
        names = names.where(names.isin(keep), "other")
        groups = [*sorted(keep), *(["other"] if len(keep) < len(counts) else [])]
        palette = colormaps["tab10" if len(groups) <= 10 else "tab20"]
        for i, name in enumerate(groups):
            rows = (names == name).to_numpy()
            ax.scatter(xy[rows, 0], xy[rows, 1], s=6, color=palette(i), label=name)
        ax.legend(title=label, fontsize=7, markerscale=2)
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    ax.set_title(f"Latent space ({k}-D), {len(codes)} rows")
    fig.tight_layout()
    return fig
