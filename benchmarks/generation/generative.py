"""The VAE as a generative model, measured: ``python -m benchmarks.generation.generative``.

Three tables, printed as markdown (and written to ``--out`` when given):

1. **Latent continuity** (digits and cardio): for 100 random pairs of held-out rows,
   decode 21 evenly spaced points on the straight latent line between them, in
   standardised units. ``jump`` = largest consecutive step / mean step (1 = perfectly
   even; a large value is a jump, i.e. a gap in the latent space); ``detour`` =
   largest distance from a decoded path point to the nearest training row, divided by
   the mean of that distance for the two decoded end points (how far off the data the
   path strays). VAE vs AE with the same architecture and latent size.
2. **Realism** (Cardiotocography from ADBench, normal rows; and ``mixed_table``): the
   models are fitted on 70% of the rows, each generator makes as many rows as the 30%
   held out, and ``benchmarks.generation.realism.realism`` compares them with the held-out rows.
   References: a random subset of the training rows (what real data scores) and the
   independent-columns baseline. Also the mixed-type ``make_transactions`` table
   (normal rows, ids dropped), compared in the columns the models generate with
   ``benchmarks.generation.realism.frame_realism``; ``--only transactions`` runs just that. The
   models generate rows of the training table (``timestamp`` as a timestamp, only
   training values); real and generated rows alike are compared through the model's
   codec, one column per block (``timestamp.hour``, ``timestamp.weekday``), and the share
   of generated rows the codec reads back is reported.
3. **Digits**: a classifier (SVC) trained on real digits labels the decoded end points
   of interpolations between 200 random pairs of held-out digits of different classes.

Only the standard library is imported at module level, so that the thread limits are
set before numpy and torch start.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.harness import BenchmarkParser, limit_threads, new_parser
from benchmarks.harness.tables import md_rows, write_lines

PAIRS = 100
STEPS = 21


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.generation.generative", __doc__, data=Path("../shared/data"),
                   out=None, quick=True, seed=0, threads=1,
                   helps={"data": "folder of ADBench NAME.npz files",
                          "out": "also write the tables here (.md)",
                          "quick": "20 epochs per model (a smoke run)"})
    p.add_argument("--only", choices=["transactions"], default=None,
                   help="run only this part (transactions: the realism of the mixed-type "
                        "transactions table; needs no data files)")
    return p


def _split(n: int, seed: int, train_share: float = 0.7):
    import numpy as np

    order = np.random.default_rng(seed).permutation(n)
    cut = int(train_share * n)
    return np.sort(order[:cut]), np.sort(order[cut:])


def standardised(model, rows):
    """Rows of a numeric matrix in the model's standardised units (its codec's blocks)."""
    import numpy as np

    blocks = model.codec_.blocks
    values = np.asarray(rows, dtype=np.float64)
    logged = np.array([b.log for b in blocks])
    values = np.where(logged, np.log1p(np.where(logged, values, 0.0)), values)
    return (values - np.array([b.mean for b in blocks])) / np.array([b.scale for b in blocks])


def continuity(model, X_train, X_test, seed: int) -> dict[str, float]:
    """Median/90th percentile ``jump`` and median ``detour`` over random pairs."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    from latentwatch.generate import step_sizes

    rng = np.random.default_rng(seed)
    train_s = standardised(model, X_train)
    neighbours = NearestNeighbors(n_neighbors=1).fit(train_s)
    jumps, detours = [], []
    for _ in range(PAIRS):
        i, j = rng.choice(len(X_test), size=2, replace=False)
        path = standardised(model, model.interpolate(X_test[i], X_test[j], steps=STEPS))
        steps = step_sizes(path)
        jumps.append(steps.max() / max(steps.mean(), 1e-12))
        distance = neighbours.kneighbors(path)[0][:, 0]
        detours.append(distance.max() / max(distance[[0, -1]].mean(), 1e-12))
    return {"jump_median": float(np.median(jumps)), "jump_p90": float(np.quantile(jumps, 0.9)),
            "detour_median": float(np.median(detours))}


def _fit(cls, X, quick: bool, seed: int, **kwargs):
    if quick:
        kwargs["max_epochs"] = 20
    start = time.perf_counter()
    model = cls(random_state=seed, **kwargs).fit(X)
    return model, time.perf_counter() - start


def read_back(model, rows) -> float:
    """Share of the rows of a numeric matrix that ``model``'s codec reads as valid data."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(np.asarray(rows, dtype=np.float64), columns=model.codec_.sources)
    return float(np.mean(~model.codec_.encode(frame).bad)) if len(frame) else 1.0


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def realism_section(name: str, X, quick: bool, seed: int) -> tuple[str, list[list[str]]]:
    """Fit a VAE and an AE on 70% of ``X`` and compare generators with the other 30%."""
    import numpy as np
    import pandas as pd

    from benchmarks.generation.realism import discrete_columns, independent_columns, realism
    from latentwatch import AutoEncoderDetector, VAEDetector

    frame = X if isinstance(X, pd.DataFrame) else None
    values = X.to_numpy(dtype=np.float64) if frame is not None else np.asarray(X, float)
    train, test = _split(len(values), seed)
    fit_input = frame.iloc[train] if frame is not None else values[train]
    vae, vae_s = _fit(VAEDetector, fit_input, quick, seed)
    ae, ae_s = _fit(AutoEncoderDetector, fit_input, quick, seed)
    real, n = values[test], len(test)
    discrete = discrete_columns(values[train])
    rng = np.random.default_rng(seed + 1)

    def arr(rows):
        if isinstance(rows, pd.DataFrame):  # a model fitted on a DataFrame gives one
            return rows.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(rows, dtype=np.float64)

    generators = {
        "real training rows (reference)": values[train][rng.choice(len(train), n, replace=False)],
        "independent columns (baseline)": independent_columns(values[train], n, rng),
        "VAE, prior, decoder mean": arr(vae.sample(n, random_state=seed)),
        "VAE, prior, decoder sample": arr(vae.sample(n, random_state=seed, decode="sample")),
        "VAE, aggregate posterior, mean": arr(
            vae.sample(n, random_state=seed, source="aggregate_posterior")),
        "VAE, aggregate posterior, sample": arr(
            vae.sample(n, random_state=seed, source="aggregate_posterior", decode="sample")),
        "AE, aggregate posterior (mixture)": arr(ae.sample(n, random_state=seed)),
    }
    rows = []
    for k, (label, generated) in enumerate(generators.items()):
        r = realism(real, generated, discrete, seed)
        readable = read_back(vae, generated) if k >= 2 else None  # generated rows only
        rows.append([name, label, f"{r['ks']:.3f}", f"{r['tv']:.3f}", f"{r['corr']:.3f}",
                     f"{r['auc']:.3f}", _share(readable)])
    note = (f"{name}: {len(train)} training rows, {n} held out, {values.shape[1]} columns "
            f"({discrete.sum()} discrete); VAE fit {vae_s:.0f} s ({vae.n_epochs_} epochs), "
            f"AE fit {ae_s:.0f} s ({ae.n_epochs_} epochs)")
    return note, rows


TRANSACTION_IDS = ["transaction_id", "customer_id"]


def model_view(codec, frame):
    """Rows as the model sees them, through its codec: one column per block (a datetime
    column as its derived features, e.g. ``timestamp.hour``), a value pooled in a rare
    bucket as the bucket's most frequent value, numbers rounded and clipped like decoded
    ones. The same view is taken of real and of generated rows.

    Returns
    -------
    view : pandas.DataFrame
        The rows the codec reads, one column per block.
    readable : float
        Share of the rows of ``frame`` the codec reads (the others are dropped).
    """
    import numpy as np

    encoded = codec.encode(frame)
    start, n = codec.input_width, codec.n_blocks
    values = encoded.packed[:, start:start + n]
    missing = encoded.packed[:, start + n:start + 2 * n] == 0
    view = codec.block_frame(values, missing)[~encoded.bad].reset_index(drop=True)
    return view, float(np.mean(~encoded.bad)) if len(frame) else 1.0


def transactions_section(quick: bool, seed: int) -> tuple[str, list[list[str]]]:
    """Realism on the normal rows of ``make_transactions``: a VAE and an AE fitted on 70%
    of them (ids dropped), generators compared with the other 30% in the model's columns."""
    import numpy as np

    from benchmarks.generation.realism import frame_realism, independent_columns
    from latentwatch import AutoEncoderDetector, VAEDetector
    from latentwatch.demos.datasets import make_transactions

    frame, labels = make_transactions(4400, seed=seed)
    frame = frame[(labels == "normal").to_numpy()].drop(columns=TRANSACTION_IDS)
    frame = frame.reset_index(drop=True)
    train, test = _split(len(frame), seed)
    vae, vae_s = _fit(VAEDetector, frame.iloc[train], quick, seed)
    ae, ae_s = _fit(AutoEncoderDetector, frame.iloc[train], quick, seed)
    codec = vae.codec_
    numeric = [b.name for b in codec.blocks if b.kind == "numeric"]
    train_view, _ = model_view(codec, frame.iloc[train])
    real, _ = model_view(codec, frame.iloc[test])
    n = len(real)
    rng = np.random.default_rng(seed + 1)
    views = {
        "real training rows (reference)":
            (train_view.iloc[rng.choice(len(train_view), n, replace=False)]
             .reset_index(drop=True), None),
        "independent columns (baseline)": (independent_columns(train_view, n, rng), None),
    }
    generated = {
        "VAE, prior, decoder mean": vae.sample(n, random_state=seed),
        "VAE, prior, decoder sample": vae.sample(n, random_state=seed, decode="sample"),
        "VAE, aggregate posterior, mean": vae.sample(n, random_state=seed,
                                                     source="aggregate_posterior"),
        "VAE, aggregate posterior, sample": vae.sample(
            n, random_state=seed, source="aggregate_posterior", decode="sample"),
        "AE, aggregate posterior (mixture)": ae.sample(n, random_state=seed),
    }
    for label, rows in generated.items():
        # the generated rows are rows of the training table: read them as data
        views[label] = model_view(codec, rows)
    rows = []
    for label, (view, readable) in views.items():
        r = frame_realism(real, view, numeric, seed)
        rows.append(["transactions", label, f"{r['ks']:.3f}", f"{r['tv']:.3f}",
                     f"{r['corr']:.3f}", f"{r['auc']:.3f}", _share(readable)])
    note = (f"transactions: normal rows of make_transactions(4400, seed={seed}), ids dropped; "
            f"{len(train)} training rows, {n} held out; generated rows are rows of the "
            f"training table ({', '.join(codec.sources)}), read back through the VAE's codec "
            f"like the real rows and compared in its {real.shape[1]} columns "
            f"({', '.join(codec.names)}; {len(numeric)} numeric: {', '.join(numeric)}; the "
            f"others compared as labels, missing as a label of its own; a datetime column "
            f"through its derived features, as the decoder draws the date itself); "
            f"'read back' is the share of generated rows the codec reads; VAE fit "
            f"{vae_s:.0f} s ({vae.n_epochs_} epochs), AE fit {ae_s:.0f} s "
            f"({ae.n_epochs_} epochs)")
    return note, rows


REALISM_LEGEND = (
    "KS: mean Kolmogorov-Smirnov distance over numeric columns; TV: mean total "
    "variation over discrete columns; corr: mean |difference| of the correlation "
    "matrices (on a one-hot encoding for transactions); AUC: real-vs-generated "
    "classifier (0.5 = indistinguishable). Lower is better everywhere. Read back: share of "
    "the generated rows that the model's codec reads as valid data (1 = all).\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit_threads(args.threads)
    import numpy as np
    from sklearn.svm import SVC

    from benchmarks.generation.realism import mixed_table
    from latentwatch import AutoEncoderDetector, VAEDetector
    from latentwatch.demos.digits import DIGITS_VAE, dequantized_digits

    started = time.perf_counter()
    seed = args.seed
    out: list[str] = []

    def emit(text: str = "") -> None:
        print(text, flush=True)
        out.append(text)

    def write_out() -> None:
        if args.out:
            write_lines(args.out, out)

    if args.only == "transactions":
        note, rows = transactions_section(args.quick, seed)
        emit("## Realism of generated transactions against held-out real rows\n")
        emit(REALISM_LEGEND)
        emit(md_rows(["data", "generator", "KS", "TV", "corr", "AUC", "read back"], rows))
        emit(f"\n{note}; total time {time.perf_counter() - started:.0f} s, "
             f"{args.threads} thread(s).")
        write_out()
        return 0

    # -- digits: models shared by the continuity and the end-point tables ----------------
    X, X_raw, y = dequantized_digits(seed)
    train, test = _split(len(y), seed)
    digits_models = {
        "VAE 2-D (demo)": _fit(VAEDetector, X[train], args.quick, seed, **DIGITS_VAE)[0],
        "AE 2-D (same network)": _fit(AutoEncoderDetector, X[train], args.quick, seed,
                                      **DIGITS_VAE)[0],
        "VAE 8-D": _fit(VAEDetector, X[train], args.quick, seed,
                        **{**DIGITS_VAE, "latent_dim": 8})[0],
    }

    # -- 1. continuity -------------------------------------------------------------------
    cardio = np.load(args.data / "cardio.npz")
    Xc = cardio["X"][cardio["y"] == 0]
    ctrain, ctest = _split(len(Xc), seed)
    cardio_models = {"VAE": _fit(VAEDetector, Xc[ctrain], args.quick, seed)[0],
                     "AE": _fit(AutoEncoderDetector, Xc[ctrain], args.quick, seed)[0]}
    rows = []
    for data, models, X_train, X_test in (("digits", digits_models, X[train], X[test]),
                                          ("cardio", cardio_models, Xc[ctrain], Xc[ctest])):
        for label, model in models.items():
            c = continuity(model, X_train, X_test, seed)
            rows.append([data, label, str(model.latent_dim_), f"{c['jump_median']:.2f}",
                         f"{c['jump_p90']:.2f}", f"{c['detour_median']:.2f}"])
    emit("## Latent continuity along straight-line interpolations (100 pairs, 21 points)\n")
    emit(md_rows(["data", "model", "latent", "jump median", "jump p90", "detour median"], rows))
    emit()

    # -- 2. realism ----------------------------------------------------------------------
    ctg = np.load(args.data / "Cardiotocography.npz")
    sections = [realism_section("Cardiotocography", ctg["X"][ctg["y"] == 0], args.quick, seed),
                realism_section("mixed_table", mixed_table(3000, seed), args.quick, seed),
                transactions_section(args.quick, seed)]
    emit("## Realism of generated rows against held-out real rows\n")
    emit(REALISM_LEGEND)
    emit(md_rows(["data", "generator", "KS", "TV", "corr", "AUC", "read back"],
                [row for _, rows_ in sections for row in rows_]))
    for note, _ in sections:
        emit(f"\n{note}")
    emit()

    # -- 3. digits end points ------------------------------------------------------------
    reader = SVC().fit(X_raw[train], y[train])
    rng = np.random.default_rng(seed + 2)
    pairs = []
    while len(pairs) < 200:
        i, j = rng.choice(test, size=2, replace=False)
        if y[i] != y[j]:
            pairs.append((i, j))
    rows = [["real digits (reference)", f"{np.mean(reader.predict(X_raw[test]) == y[test]):.3f}",
             "-"]]
    for label, model in digits_models.items():
        hits = []
        for i, j in pairs:
            strip = model.interpolate(X[i], X[j], steps=8)
            labels = reader.predict(np.asarray(strip)[[0, -1]])
            hits.append([labels[0] == y[i], labels[1] == y[j]])
        hits = np.asarray(hits)
        rows.append([label, f"{hits.mean():.3f}", f"{hits.all(axis=1).mean():.3f}"])
    emit("## Digits: a classifier trained on real digits reads the interpolation end points\n")
    emit(md_rows(["model", "end points read as their class", "both ends right"], rows))
    emit(f"\n200 pairs of held-out digits of different classes; total time "
         f"{time.perf_counter() - started:.0f} s on {args.threads} thread(s).")
    write_out()
    return 0


if __name__ == "__main__":
    sys.exit(main())
