"""Aggregation of the per-run results table: seed means, ranks, wins/ties/losses.

Input is the ``results.csv`` table, one row per (dataset, seed, setting, method) with at
least the columns ``dataset, seed, setting, method, auc_roc, auc_pr, fit_s, score_s,
peak_mem_mb, error``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIE_TOLERANCE = 0.001
METRICS = ("auc_roc", "auc_pr", "fit_s", "score_s", "peak_mem_mb")


def failed(results: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows that recorded an error."""
    return results["error"].fillna("").astype(str).str.len() > 0


def seed_means(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (setting, dataset, method).

    A group with any failed seed is marked ``complete=False``; its means cover the seeds
    that succeeded (NaN if none did).
    """
    ok = results[~failed(results)]
    keys = ["setting", "dataset", "method"]
    means = ok.groupby(keys)[list(METRICS)].mean()
    counts = (
        results.assign(_failed=failed(results))
        .groupby(keys)
        .agg(n_seeds=("seed", "nunique"), n_errors=("_failed", "sum"))
    )
    out = counts.join(means, how="left").reset_index()
    out["complete"] = out["n_errors"] == 0
    return out


def complete_datasets(means: pd.DataFrame, methods: list[str]) -> list[str]:
    """Datasets (of one setting) on which every method in ``methods`` completed all seeds."""
    sub = means[means["method"].isin(methods)]
    per = sub.groupby("dataset").agg(n=("method", "nunique"), ok=("complete", "all"))
    keep = per.index[(per["n"] == len(set(methods))) & per["ok"]]
    return sorted(keep, key=str.lower)


def auc_matrix(means: pd.DataFrame, metric: str = "auc_roc") -> pd.DataFrame:
    """Datasets x methods table of one seed-mean metric (one setting)."""
    return means.pivot(index="dataset", columns="method", values=metric)


def mean_ranks(auc: pd.DataFrame) -> pd.Series:
    """Mean over datasets of each method's rank (1 = highest AUC; ties share the mean rank)."""
    return auc.rank(axis=1, ascending=False, method="average").mean(axis=0)


def wins_ties_losses(
    a: pd.Series, b: pd.Series, tol: float = TIE_TOLERANCE
) -> tuple[int, int, int]:
    """Count datasets where ``a`` beats, ties (``|a - b| < tol``) or loses to ``b``."""
    diff = (a - b).dropna()
    ties = int((diff.abs() < tol).sum())
    wins = int((diff >= tol).sum())
    return wins, ties, len(diff) - wins - ties


def summarize_setting(
    means: pd.DataFrame, methods: list[str], peers: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Summary over the complete datasets of one setting, one row per method.

    The datasets used are those on which every method completed every seed, ignoring
    methods that completed no dataset at all (their rows stay empty), so a variant that
    always fails does not blank the whole table.

    Columns: n_datasets, mean_auc_roc, mean_auc_pr, mean_rank, total_fit_s, total_score_s,
    max_peak_mem_mb and one ``W/T/L vs PEER`` column per peer (AUC-ROC, tie tolerance
    0.001). Returns the table and the list of datasets used.
    """
    usable = [m for m in methods if means.loc[means["method"] == m, "complete"].any()]
    datasets = complete_datasets(means, usable)
    sub = means[means["dataset"].isin(datasets) & means["method"].isin(usable)]
    roc = auc_matrix(sub, "auc_roc").reindex(columns=usable)
    grouped = sub.groupby("method")
    table = pd.DataFrame(
        {
            "mean_auc_roc": grouped["auc_roc"].mean(),
            "mean_auc_pr": grouped["auc_pr"].mean(),
            "mean_rank": mean_ranks(roc) if datasets else np.nan,
            "total_fit_s": grouped["fit_s"].sum(),
            "total_score_s": grouped["score_s"].sum(),
            "max_peak_mem_mb": grouped["peak_mem_mb"].max(),
        }
    ).reindex(methods)
    table.insert(0, "n_datasets", [len(datasets) if m in usable else 0 for m in methods])
    for peer in peers:
        col = []
        for m in methods:
            if m == peer or not datasets or m not in usable or peer not in usable:
                col.append("—")
            else:
                col.append("{}/{}/{}".format(*wins_ties_losses(roc[m], roc[peer])))
        table[f"W/T/L vs {peer}"] = col
    table.index.name = "method"
    return table, datasets


def per_seed_means(
    results: pd.DataFrame, datasets: list[str], methods: list[str], metric: str = "auc_roc"
) -> pd.DataFrame:
    """Methods x seeds table of the mean over ``datasets`` of one metric, plus its SD.

    The spread across seeds of these means shows how much the split alone moves the
    headline numbers (the noise to compare differences with).
    """
    ok = results[~failed(results) & results["dataset"].isin(datasets)]
    table = ok.groupby(["method", "seed"])[metric].mean().unstack("seed").reindex(methods)
    table.columns = [f"seed {c}" for c in table.columns]
    if table.shape[1] > 1:
        table["sd over seeds"] = table.std(axis=1, ddof=1)
    table.index.name = "method"
    return table
