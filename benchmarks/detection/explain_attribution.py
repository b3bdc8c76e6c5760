"""Explanations that name the edited cell: top-1 accuracy of per-column attributions.

One cell of each anomalous row is edited; an explanation is right when its top-1 column
is the edited one. Tables (read offline):

- ``credit``: :func:`latentwatch.demos.credit.make_credit`, 13 columns (9 integer with
  gaps, 4 categorical), 3,000 training rows;
- ``breast_cancer``: scikit-learn's bundled Wisconsin table, 30 measurements and the
  diagnosis as a categorical column, 60% of its 569 rows for training;
- ``wine``: scikit-learn's bundled wine table, 13 measurements and the cultivar as a
  categorical column, 60% of its 178 rows for training.

Edits, in a column chosen uniformly among the modelled ones (``sd`` is the training
standard deviation of the column; the sign is random unless it would leave the training
range below):

- ``mild``: a number moves by 3 sd; a category becomes another one, drawn by training
  frequency;
- ``strong``: a number moves by 10 sd; a category becomes the least frequent other one;
- ``extreme``: a number becomes ``x + 1e3 sd``, ``1e6 (|x| + sd)`` or ``1e308`` (in
  turn); a category becomes a label never seen in training.

Methods (:mod:`latentwatch.attribution`): ``parts`` (today's ranking: each column's
part of the score, which sum to it), ``loo`` (leave one column out: the fall of the
score when the column is masked and not scored), ``conditional`` (the column's part
when the encoder does not see it) and ``counterfactual`` (the fall of the score when the
cell takes the value the model expects given the other columns; what ``explain``
ranks by) and ``cf_loo_mean`` (the mean of the last and ``loo``). Rows are counted
twice: all planted rows, and the flagged ones (above the model's threshold; the rows an
analyst reads explanations of: an edit that leaves the row normal cannot be named)::

    python -m benchmarks.detection.explain_attribution --seeds 0,1,2
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import BenchmarkParser, new_parser
from benchmarks.harness.cli import comma_list
from benchmarks.harness.tables import md_table, write_csv

SIZES = ("mild", "strong", "extreme")
METHODS = ("parts", "loo", "conditional", "counterfactual", "cf_loo_mean")
ROWS_PER_SIZE = 60


def table(name: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)`` normal rows of a table."""
    if name == "credit":
        from latentwatch.demos.credit import make_credit

        frame = make_credit(4000, seed=seed)
        return frame.iloc[:3000].reset_index(drop=True), frame.iloc[3000:].reset_index(drop=True)
    from sklearn import datasets

    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine}[name]
    bunch = loader(as_frame=True)
    frame = bunch.frame.copy()
    label = "diagnosis" if name == "breast_cancer" else "cultivar"
    frame[label] = np.asarray(bunch.target_names)[frame.pop("target").to_numpy()]
    order = np.random.default_rng(seed).permutation(len(frame))
    n_train = round(0.6 * len(frame))
    return (frame.iloc[np.sort(order[:n_train])].reset_index(drop=True),
            frame.iloc[np.sort(order[n_train:])].reset_index(drop=True))


def edit(value, size: str, column: pd.Series, k: int, rng: np.random.Generator,
         boolean: bool = False):
    """The edited value of one cell (``k`` counts the edits, to take extremes in turn; a
    boolean is flipped whatever the size)."""
    if boolean:
        counts = column.value_counts()
        return counts.index[counts.index != value][0]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.dropna().to_numpy(dtype=np.float64)
        sd = float(values.std()) or 1.0
        x = float(value)
        if size == "extreme":
            return [x + 1e3 * sd, 1e6 * (abs(x) + sd), 1e308][k % 3]
        step = (3.0 if size == "mild" else 10.0) * sd
        sign = rng.choice([-1.0, 1.0])
        if x + sign * step < values.min():
            sign = 1.0
        return x + sign * step
    counts = column.value_counts()
    others = counts[counts.index != value]
    if size == "extreme":
        return f"edited-{k}"
    if size == "strong":
        return others.index[-1]
    return rng.choice(others.index.to_numpy(), p=(others / others.sum()).to_numpy())


def plant(train: pd.DataFrame, test: pd.DataFrame, columns: dict[str, str], seed: int
          ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``ROWS_PER_SIZE`` edited copies of test rows per size: the rows, their edited
    column and the size; ``columns`` maps the modelled columns to their kinds."""
    rng = np.random.default_rng(seed + 1000)
    kinds, columns = columns, list(columns)
    rows, where, sizes = [], [], []
    for size in SIZES:
        picks = rng.choice(len(test), ROWS_PER_SIZE, replace=len(test) < ROWS_PER_SIZE)
        for k, i in enumerate(picks):
            row = test.iloc[[i]].astype(object).copy()
            column = columns[rng.integers(len(columns))]
            while pd.isna(row[column].iat[0]):
                column = columns[rng.integers(len(columns))]
            row[column] = [edit(row[column].iat[0], size, train[column], k, rng,
                                 kinds[column] == "boolean")]
            rows.append(row)
            where.append(column)
            sizes.append(size)
    planted = pd.concat(rows, ignore_index=True)
    for c in test.columns:
        if pd.api.types.is_numeric_dtype(test[c]):
            planted[c] = pd.to_numeric(planted[c]).astype(np.float64)
    return planted, where, sizes


def rankings(model, planted: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each method's top-1 block index of every planted row (rows that cannot be scored
    get -1)."""
    from latentwatch import attribution

    encoded = model.codec_.encode(planted)
    good = ~encoded.bad
    rows = encoded.good
    scores, parts = model.score_encoded(rows)
    cf = attribution.counterfactual_attribution(model, rows, scores=scores).attribution
    loo = attribution.leave_one_out(model, rows, scores)
    values = {"parts": parts, "loo": loo,
              "conditional": attribution.conditional_parts(model, rows),
              "counterfactual": cf, "cf_loo_mean": (cf + loo) / 2}
    out = {}
    for method, value in values.items():
        top = np.full(len(planted), -1)
        top[good] = np.argmax(value, axis=1)
        out[method] = top
    flagged = np.zeros(len(planted), bool)
    if model.offset_ is not None:
        flagged[good] = scores > -model.offset_
    out["flagged"] = flagged
    return out


def run(names: list[str], seeds: list[int], models: list[str], max_epochs) -> pd.DataFrame:
    from latentwatch import AutoEncoderDetector, VAEDetector

    classes = {"ae": AutoEncoderDetector, "vae": VAEDetector}
    records = []
    for name in names:
        for seed in seeds:
            train, test = table(name, seed)
            for kind in models:
                start = time.perf_counter()
                model = classes[kind](random_state=seed, max_epochs=max_epochs).fit(train)
                fitted = time.perf_counter() - start
                columns = {b.source: b.kind for b in model.codec_.blocks}
                planted, where, sizes = plant(train, test, columns, seed)
                start = time.perf_counter()
                tops = rankings(model, planted)
                explained = time.perf_counter() - start
                names_ = np.array([*model.codec_.names, "(not scored)"], dtype=object)
                for i in range(len(planted)):
                    kind_of = model.codec_.blocks[model.codec_.names.index(where[i])].kind
                    record = {"table": name, "seed": seed, "model": kind, "size": sizes[i],
                              "column": where[i], "column_kind": kind_of,
                              "flagged": bool(tops["flagged"][i])}
                    for method in METHODS:
                        record[method] = bool(names_[tops[method][i]] == where[i])
                    records.append(record)
                print(f"{name} seed {seed} {kind}: fit {fitted:.1f} s, every ranking of "
                      f"{len(planted)} rows {explained:.1f} s", flush=True)
    return pd.DataFrame(records)


def summary(results: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Share of rows whose top-1 column is the edited one, per method."""
    out = results.groupby(by)[list(METHODS)].mean()
    out["rows"] = results.groupby(by).size()
    out["flagged"] = results.groupby(by)["flagged"].mean()
    out.index = [" / ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in out.index]
    out.index.name = " / ".join(by)
    return out


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.detection.explain_attribution", __doc__, seeds=[0, 1, 2],
                   out=Path("results/explain_attribution.csv"))
    p.add_argument("--tables", type=comma_list, default=["credit", "breast_cancer", "wine"])
    p.add_argument("--models", type=comma_list, default=["ae", "vae"])
    p.add_argument("--max-epochs", default="auto",
                   type=lambda s: s if s == "auto" else int(s))
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    results = run(args.tables, args.seeds, args.models, args.max_epochs)
    write_csv(results, args.out)
    digits = {m: 3 for m in METHODS} | {"flagged": 2}
    flagged = results[results["flagged"]]
    print("flagged rows\n" + md_table(summary(flagged, ["size"]), digits))
    print("all planted rows\n" + md_table(summary(results, ["size"]), digits))
    print("flagged rows\n" + md_table(summary(flagged, ["size", "column_kind"]), digits))
    print("all planted rows\n" + md_table(summary(results, ["size", "column_kind"]), digits))
    print("flagged rows\n" + md_table(summary(flagged, ["table", "model", "size"]), digits))


if __name__ == "__main__":
    main()
