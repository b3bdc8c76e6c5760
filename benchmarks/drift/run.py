"""The drift test on real tables: false alarms, power, the columns named, and
``partial_fit`` against a refit.

For each ADBench set (normal rows only; ``/work/shared/data``) a seeded split gives
training rows, reference rows (``calibrate``: the rows the drift test keeps) and a pool
of fresh normal rows. One numeric column is also cut into its quartiles and read as a
category (``q1`` to ``q4``), so that a category's frequency can move. Batches of 100, 500
and 2,000 rows are drawn from the pool, as it is (false alarms) or shifted:

* ``mean+0.25sd``, ``mean+0.5sd``, ``mean+1sd``: one numeric column moved;
* ``category x2``: rows drawn so that category ``q1`` is twice as frequent (a real
  sub-population shift: its rows keep their other columns);
* ``correlation removed``: the most correlated pair's second column permuted over the
  pool (marginals unchanged);
* ``covariate (model indifferent)``: rows drawn with weight 2 where the model's score is
  below its median (the data become more typical: no more alarms are due).

Methods: the model's test (``detector.drift``; ``per_column_rule``: the same tests
combined as issue 28 first did, a categorical column's two tests halved within the column
and then Bonferroni over ``1 + n_columns``), per-column KS with Bonferroni (chi-square
for the category; what Alibi Detect's ``TabularDrift`` does), and an MMD permutation test
(a Gaussian kernel with the median bandwidth, approximated by 256 random Fourier
features, 100 permutations). For every batch the reference rows (1,000) are drawn
afresh from the held-out normal rows and the batch from the others, so that the false-
alarm rate is the one the guarantee is about (over reference and batch) rather than that
of one draw; every method compares the batch with the same reference rows.
``partial_fit``: the normal rows of the new regime are the old ones with two
columns moved by 1 sd and one scaled by 1.5; the anomalies move the same way. AUC on the
new regime's held-out rows and anomalies of: the old model, ``partial_fit`` on 2,000 new
rows, a refit on the old training rows + those 2,000 rows; and each one's time.

    python -m benchmarks.drift.run --datasets magic.gamma,shuttle --out results/drift
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score

from benchmarks.harness import new_parser
from benchmarks.harness.tables import md_table, write_csv, write_lines
from latentwatch import VAEDetector, load_bytes
from latentwatch import drift as drift_maths
from latentwatch.pipeline import category_counts

SIZES = (100, 500, 2000)
LEVEL = 0.05


def build_parser():
    """Command line options."""
    p = new_parser("benchmarks.drift.run", __doc__, data=Path("/work/shared/data"),
                   out=Path("results/drift"), seed=0, datasets=["magic.gamma", "shuttle"],
                   helps={"data": "folder of ADBench NAME.npz files",
                          "out": "folder for results.csv, partial_fit.csv, speed.csv"})
    p.add_argument("--batches", type=int, default=200, help="batches per cell (null)")
    p.add_argument("--power-batches", type=int, default=100, help="batches per shifted cell")
    p.add_argument("--mmd-batches", type=int, default=40, help="batches per cell for MMD")
    p.add_argument("--reference-rows", type=int, default=1000,
                   help="calibration rows the test keeps (drawn afresh for every batch)")
    p.add_argument("--shifts", default=None,
                   help="comma-separated shifts to run (default all), e.g. 'none,category x2'")
    p.add_argument("--sizes", default=None,
                   help="comma-separated batch sizes (default 100,500,2000)")
    p.add_argument("--tests-only", action="store_true",
                   help="skip the speed and partial_fit measurements")
    return p


def table(path: Path, rng) -> tuple[pd.DataFrame, pd.DataFrame, str, str, tuple[str, str]]:
    """Normal and anomalous rows as frames, the moved column, the category, the pair."""
    data = np.load(path)
    X, y = data["X"], data["y"]
    names = [f"c{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names)
    distinct = frame.nunique()
    numeric = [c for c in names if distinct[c] > 20]
    cat_source = numeric[-1]
    bins = np.quantile(frame.loc[y == 0, cat_source], [0.25, 0.5, 0.75])
    frame["cat"] = pd.Categorical(np.array(["q1", "q2", "q3", "q4"])[
        np.searchsorted(bins, frame[cat_source].to_numpy())])
    frame = frame.drop(columns=cat_source)
    numeric = [c for c in numeric if c != cat_source]
    corr = frame.loc[y == 0, numeric].corr().abs().to_numpy().copy()
    np.fill_diagonal(corr, 0)
    i, j = np.unravel_index(np.argmax(corr), corr.shape)
    moved = numeric[0] if numeric[0] not in (numeric[i], numeric[j]) else numeric[1]
    return frame[y == 0].reset_index(drop=True), frame[y == 1].reset_index(drop=True), \
        moved, "cat", (numeric[i], numeric[j])


def ks_bonferroni(ref: pd.DataFrame, batch: pd.DataFrame) -> float:
    p = []
    for c in ref.columns:
        if isinstance(ref[c].dtype, pd.CategoricalDtype):
            levels = ref[c].cat.categories
            a = ref[c].value_counts().reindex(levels).to_numpy()
            b = batch[c].value_counts().reindex(levels).to_numpy()
            p.append(stats.chi2_contingency(np.vstack([a, b]) + 0.5)[1])
        else:
            p.append(stats.ks_2samp(ref[c].to_numpy(), batch[c].to_numpy(),
                                    method="asymp").pvalue)
    return drift_maths.combine(p)


class MMD:
    """MMD^2 with random Fourier features of a Gaussian kernel; permutation p-value."""

    def __init__(self, ref: np.ndarray, rng, features=256, permutations=100):
        self.mean, self.sd = ref.mean(0), ref.std(0) + 1e-9
        z = (ref - self.mean) / self.sd
        sub = z[rng.choice(len(z), min(len(z), 1000), replace=False)]
        d = np.sqrt(((sub[:, None] - sub[None]) ** 2).sum(-1))
        bandwidth = np.median(d[d > 0])
        self.W = rng.normal(size=(z.shape[1], features)) / bandwidth
        self.b = rng.uniform(0, 2 * np.pi, features)
        self.ref = self.phi(ref)
        self.rng, self.permutations = rng, permutations

    def phi(self, X):
        return np.sqrt(2 / self.W.shape[1]) * np.cos(((X - self.mean) / self.sd) @ self.W
                                                     + self.b)

    def p_value(self, batch: np.ndarray) -> float:
        pooled = np.vstack([self.ref, self.phi(batch)])
        n = len(self.ref)
        stat = np.sum((pooled[:n].mean(0) - pooled[n:].mean(0)) ** 2)
        count = 0
        for _ in range(self.permutations):
            order = self.rng.permutation(len(pooled))
            a, b = pooled[order[:n]], pooled[order[n:]]
            count += np.sum((a.mean(0) - b.mean(0)) ** 2) >= stat
        return (1 + count) / (1 + self.permutations)


def numeric_matrix(frame: pd.DataFrame) -> np.ndarray:
    return pd.get_dummies(frame, columns=["cat"], dtype=float).to_numpy(dtype=float)


def run_set(name: str, args, rows: list, pf_rows: list, speed_rows: list) -> None:
    rng = np.random.default_rng(args.seed)
    normal, anomalies, moved, cat, pair = table(args.data / f"{name}.npz", rng)
    order = rng.permutation(len(normal))
    n_train = min(8000, len(normal) // 2)
    train = normal.iloc[order[:n_train]].reset_index(drop=True)
    pool = normal.iloc[order[n_train:]].reset_index(drop=True)
    started = time.perf_counter()
    model = VAEDetector(random_state=args.seed).fit(train)
    fit_seconds = time.perf_counter() - started
    names = model.codec_.names
    columns = pd.get_dummies(pool, columns=["cat"], dtype=float).columns
    sd = normal[moved].std()
    base_packed = model._rows(pool)
    base_scores, base_parts = model.score_encoded(base_packed)
    base_matrix = numeric_matrix(pool)
    below = base_scores < np.median(base_scores)
    permuted = pool.copy()
    permuted[pair[1]] = rng.permutation(permuted[pair[1]].to_numpy())
    kinds = {
        "none": (pool, None),
        "mean+0.25sd": (pool.assign(**{moved: pool[moved] + 0.25 * sd}), None),
        "mean+0.5sd": (pool.assign(**{moved: pool[moved] + 0.5 * sd}), None),
        "mean+1sd": (pool.assign(**{moved: pool[moved] + 1.0 * sd}), None),
        "category x2": (pool, np.where(pool[cat] == "q1", 3.0, 1.0)),
        "correlation removed": (permuted, None),
        "covariate (model indifferent)": (pool, np.where(below, 2.0, 1.0)),
    }
    expected = {"mean+0.25sd": {moved}, "mean+0.5sd": {moved}, "mean+1sd": {moved},
                "category x2": {cat}, "correlation removed": set(pair)}
    n_ref = min(args.reference_rows, len(pool) // 2)
    if args.shifts:
        wanted = [k.strip() for k in args.shifts.split(",")]
        unknown = sorted(set(wanted) - set(kinds))
        if unknown:
            raise SystemExit(f"--shifts {unknown}: not a shift; use some of {list(kinds)}")
        kinds = {k: kinds[k] for k in wanted}
    sizes = SIZES if not args.sizes else tuple(int(v) for v in args.sizes.split(","))
    for kind, (frame, weights) in kinds.items():
        packed = model._rows(frame)
        scores, parts = model.score_encoded(packed)
        matrix = pd.get_dummies(frame, columns=["cat"], dtype=float).reindex(
            columns=columns, fill_value=0.0).to_numpy(dtype=float)
        for size in sizes:
            n_batches = args.batches if kind == "none" else args.power_batches
            ours = ks = mm = named = score_only = per_column = 0
            n_mmd = min(n_batches, args.mmd_batches)
            for b in range(n_batches):
                # a fresh reference every batch: the guarantee is over both draws
                shuffled = rng.permutation(len(pool))
                ref_idx, rest = shuffled[:n_ref], shuffled[n_ref:]
                prob = None if weights is None else weights[rest] / weights[rest].sum()
                idx = rest[rng.choice(len(rest), min(size, len(rest)),
                                      replace=prob is not None, p=prob)]
                reference = drift_maths.DriftReference(
                    "importance_weighted", base_scores[ref_idx], base_parts[ref_idx],
                    counts=category_counts(model.codec_, base_packed[ref_idx]))
                result = drift_maths.drift_test(
                    reference, scores[idx], parts[idx], names, LEVEL,
                    counts=category_counts(model.codec_, packed[idx]))
                ours += result.drift
                # issue 28's first rule: each column's own p-value, Bonferroni over 1 + n
                per_column += drift_maths.combine(
                    [result.score_p_value, *(c.p_value for c in result.columns)]) <= LEVEL
                score_only += result.score_p_value <= LEVEL
                if result.drift and kind in expected:
                    named += result.columns[0].column in expected[kind]
                ks += ks_bonferroni(pool.iloc[ref_idx], frame.iloc[idx]) <= LEVEL
                if b < n_mmd:
                    mm += MMD(base_matrix[ref_idx], rng).p_value(matrix[idx]) <= LEVEL
            rows.append({"set": name, "shift": kind, "batch": size,
                         "latentwatch": ours / n_batches,
                         "score_test_only": score_only / n_batches,
                         "per_column_rule": per_column / n_batches,
                         "ks_bonferroni": ks / n_batches,
                         "mmd": mm / n_mmd, "named_first": named / ours if ours and
                         kind in expected else np.nan, "batches": n_batches,
                         "mmd_batches": n_mmd, "reference_rows": n_ref})
            print(rows[-1], flush=True)
    if args.tests_only:
        return
    # drift on 100,000 rows, one thread
    model.calibrate(pool.iloc[:n_ref])
    big = pool.iloc[rng.choice(len(pool), 100_000)].reset_index(drop=True)
    model.set_params(n_jobs=1)
    torch.set_num_threads(1)
    started = time.perf_counter()
    model.anomaly_score(big)
    score_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.drift(big)
    drift_seconds = time.perf_counter() - started
    speed_rows.append({"set": name, "rows": 100_000, "drift_s": drift_seconds,
                       "anomaly_score_s": score_seconds,
                       "test_overhead": drift_seconds / score_seconds - 1,
                       "fit_s": fit_seconds})
    print(speed_rows[-1], flush=True)
    # partial_fit against a refit
    def new_regime(f):
        cols = [c for c in f.columns if c != cat][:3]
        g = f.copy()
        g[cols[0]] = g[cols[0]] + normal[cols[0]].std()
        g[cols[1]] = g[cols[1]] - normal[cols[1]].std()
        g[cols[2]] = normal[cols[2]].mean() + 1.5 * (g[cols[2]] - normal[cols[2]].mean())
        return g
    new = new_regime(pool.iloc[rng.permutation(len(pool))[:4000]].reset_index(drop=True))
    update, test_normal = new.iloc[:2000], new.iloc[2000:]
    test_anom = new_regime(anomalies.iloc[rng.permutation(len(anomalies))[:500]])
    test = pd.concat([test_normal, test_anom], ignore_index=True)
    labels = np.r_[np.zeros(len(test_normal)), np.ones(len(test_anom))]
    auc_old = roc_auc_score(labels, model.anomaly_score(test))
    model.set_params(n_jobs=None)
    copy = load_bytes(model.to_bytes())
    started = time.perf_counter()
    copy.partial_fit(update)
    pf_seconds = time.perf_counter() - started
    started = time.perf_counter()
    refit = VAEDetector(random_state=args.seed).fit(pd.concat([train, update],
                                                              ignore_index=True))
    refit_seconds = time.perf_counter() - started
    pf_rows.append({"set": name, "auc_old_model": auc_old,
                    "auc_partial_fit": roc_auc_score(labels, copy.anomaly_score(test)),
                    "auc_refit": roc_auc_score(labels, refit.anomaly_score(test)),
                    "partial_fit_s": pf_seconds, "refit_s": refit_seconds})
    print(pf_rows[-1], flush=True)


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("ignore")
    rows, pf_rows, speed_rows = [], [], []
    for name in args.datasets:
        run_set(name, args, rows, pf_rows, speed_rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {stem: found for stem, found in
              {"results": rows, "partial_fit": pf_rows, "speed": speed_rows}.items() if found}
    for stem, found in tables.items():
        write_csv(pd.DataFrame(found), out / f"{stem}.csv")
    summary = [md_table(pd.DataFrame(found)) for found in tables.values()]
    write_lines(out / "summary.md", summary)
    print("\n\n".join(summary))


if __name__ == "__main__":
    main()
