"""Writing ``summary.md`` and ``auc_vs_peers.png`` from the results table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.detection.aggregate import (
    auc_matrix,
    failed,
    per_seed_means,
    seed_means,
    summarize_setting,
)
from benchmarks.detection.methods import PEER_LABELS, base_name, is_latentwatch
from benchmarks.harness.tables import fmt as _fmt
from benchmarks.harness.tables import md_table


def ordered_methods(results: pd.DataFrame, method_order: list[str]) -> list[str]:
    """Methods present in ``results``: peers first, then latentwatch, in ``method_order``."""
    present = list(dict.fromkeys(results["method"]))
    rank = {m: i for i, m in enumerate(method_order)}
    return sorted(present, key=lambda m: (is_latentwatch(m), rank.get(base_name(m), len(rank)), m))


def reference_method(table: pd.DataFrame) -> str | None:
    """Latentwatch method with the best mean AUC-ROC, else the best method overall."""
    scores = table["mean_auc_roc"].dropna()
    lw = scores[[is_latentwatch(m) for m in scores.index]]
    pool = lw if len(lw) else scores
    return None if pool.empty else str(pool.idxmax())


def _per_dataset_table(results: pd.DataFrame, means: pd.DataFrame, methods: list[str]) -> str:
    roc = auc_matrix(means, "auc_roc").reindex(columns=methods)
    roc = roc.reindex(sorted(roc.index, key=str.lower)).map(_fmt)
    bad = means[~means["complete"]]
    for _, r in bad.iterrows():
        roc.loc[r["dataset"], r["method"]] = "err"
    n_test = results.groupby("dataset")["n_test"].first().reindex(roc.index)
    roc.insert(0, "n_test", n_test.astype("Int64").astype(str))
    roc.index.name = "dataset"
    return md_table(roc)


def _load_line(results: pd.DataFrame) -> str:
    """How busy the machine was while the rows were computed (timings depend on it)."""
    load = pd.to_numeric(results.get("load_avg_1min", pd.Series(dtype=float)), errors="coerce")
    load = load.dropna()
    if load.empty:
        return "- 1-min load average while computing: not recorded"
    return (
        f"- 1-min load average while computing ({len(load)} rows with a record): "
        f"median {load.median():.1f}, max {load.max():.1f}, on {os.cpu_count()} CPUs "
        "(load above the CPU count means contended timings)"
    )


def write_summary(
    results: pd.DataFrame,
    path: Path,
    method_order: list[str],
    meta: Mapping[str, str],
) -> dict[str, pd.DataFrame]:
    """Write ``summary.md``; return the per-setting summary tables."""
    methods = ordered_methods(results, method_order)
    peers = [m for m in methods if not is_latentwatch(m)]
    all_means = seed_means(results)
    out = ["# ADBench benchmark summary", ""]
    out += [f"- {k}: {v}" for k, v in meta.items()]
    out += [_load_line(results)]
    out += [
        "",
        "Per setting: metrics are means over seeds per dataset, then over the datasets on "
        "which every method completed every seed. Mean rank is by AUC-ROC (1 = best). Total "
        "fit/score s are sums over datasets of the seed-mean times. W/T/L: datasets where the "
        "row method's seed-mean AUC-ROC is higher / within 0.001 / lower than the peer's. "
        "Peak memory: max over datasets of peak RSS above the pre-fit baseline (MiB).",
        "",
    ]
    tables: dict[str, pd.DataFrame] = {}
    for setting in [s for s in ("unsupervised", "novelty") if s in set(results["setting"])]:
        means = all_means[all_means["setting"] == setting]
        sub_methods = [m for m in methods if m in set(means["method"])]
        sub_peers = [p for p in peers if p in sub_methods]
        table, datasets = summarize_setting(means, sub_methods, sub_peers)
        tables[setting] = table
        all_ds = sorted(set(means["dataset"]), key=str.lower)
        excluded = [d for d in all_ds if d not in datasets]
        seeds = sorted(set(results.loc[results["setting"] == setting, "seed"]))
        out += [f"## {setting}", ""]
        out += [f"{len(datasets)} of {len(all_ds)} datasets, seeds {seeds}."]
        if excluded:
            out += [f"Excluded (some method failed): {', '.join(excluded)}."]
        out += [
            "",
            md_table(
                table, {"max_peak_mem_mb": 0, "total_fit_s": 1, "total_score_s": 2, "mean_rank": 2}
            ),
            "",
        ]
        sub_results = results[results["setting"] == setting]
        if len(seeds) > 1 and datasets:
            out += [f"### {setting}: mean AUC-ROC over the datasets, per split seed", ""]
            out += [md_table(per_seed_means(sub_results, datasets, sub_methods)), ""]
        out += [f"### {setting}: AUC-ROC per dataset (mean over seeds)", ""]
        out += [_per_dataset_table(sub_results, means, sub_methods)]
        out += [""]
    errors = results[failed(results)]
    out += ["## Failures", ""]
    if errors.empty:
        out += ["None."]
    else:
        cols = ["dataset", "setting", "seed", "method", "error"]
        out += [md_table(errors[cols].set_index("dataset"))]
    path.write_text("\n".join(out) + "\n")
    return tables


def plot(
    results: pd.DataFrame, tables: Mapping[str, pd.DataFrame], path: Path, method_order: list[str]
) -> None:
    """Per-dataset AUC-ROC of the reference method vs each peer, and fit time per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_means = seed_means(results)
    rows = [s for s in tables if tables[s]["mean_auc_roc"].notna().any()]
    if not rows:
        return
    panels = []
    for setting in rows:
        ref = reference_method(tables[setting])
        others = [m for m in tables[setting].index if not is_latentwatch(m) and m != ref]
        others = others if ref is not None else []
        panels.append((setting, ref, others))
    ncols = max(len(p[2]) for p in panels) + 1
    fig, axes = plt.subplots(
        len(rows), ncols, figsize=(3.6 * ncols, 3.6 * len(rows)), squeeze=False
    )
    for r, (setting, ref, others) in enumerate(panels):
        means = all_means[(all_means["setting"] == setting) & all_means["complete"]]
        roc = auc_matrix(means, "auc_roc")
        for c in range(ncols - 1):
            ax = axes[r][c]
            if c >= len(others):
                ax.axis("off")
                continue
            peer = others[c]
            pair = roc[[ref, peer]].dropna()
            ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
            ax.scatter(pair[peer], pair[ref], s=14)
            ax.set(
                xlim=(0, 1.02),
                ylim=(0, 1.02),
                aspect="equal",
                xlabel=f"{PEER_LABELS.get(peer, peer)} AUC-ROC",
                ylabel=f"{ref} AUC-ROC",
                title=f"{setting}: {ref} vs {peer}",
            )
            ax.title.set_fontsize(9)
        ax = axes[r][ncols - 1]
        fit = means.pivot(index="dataset", columns="method", values="fit_s")
        methods = [m for m in ordered_methods(results, method_order) if m in fit.columns]
        data = [fit[m].dropna().clip(lower=1e-4).to_numpy() for m in methods]
        ax.boxplot(data, showfliers=False)
        for i, d in enumerate(data, start=1):
            ax.scatter(np.full(len(d), i), d, s=6, alpha=0.6)
        ax.set_yscale("log")
        ax.set_xticks(range(1, len(methods) + 1), methods, rotation=60, ha="right", fontsize=7)
        ax.set(ylabel="fit seconds per dataset", title=f"{setting}: fit time")
        ax.title.set_fontsize(9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
