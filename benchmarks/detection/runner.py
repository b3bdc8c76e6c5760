"""The benchmark loop: datasets x seeds x settings x methods, with an on-disk peer cache.

Import this module only after the thread-limiting environment variables are set (see
``benchmarks.detection.adbench``), because it imports numpy, scikit-learn and torch.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from benchmarks.detection.methods import (
    ALL_METHODS,
    Outcome,
    fit_groups,
    is_latentwatch,
    method_versions,
    run_latentwatch,
    run_peer,
    tagged,
)
from benchmarks.detection.protocol import (
    MAX_ROWS,
    Dataset,
    cache_key,
    evaluate,
    load_dataset,
    split_indices,
    training_rows,
)
from benchmarks.detection.report import plot, write_summary
from benchmarks.harness import memory
from benchmarks.harness.cache import PeerCache
from benchmarks.harness.threads import configure_threads

ROW_KEYS = ["dataset", "setting", "seed", "method"]


@dataclass
class RunConfig:
    """Everything one invocation of the harness needs."""

    data_dir: Path
    out_dir: Path
    cache_dir: Path | None
    datasets: list[str]
    methods: list[str]
    seeds: list[int]
    settings: list[str]
    threads: int
    tag: str = ""
    lw_params: dict[str, Any] = field(default_factory=dict)
    lw_vae_params: dict[str, Any] = field(default_factory=dict)
    lw_ae_params: dict[str, Any] = field(default_factory=dict)
    append: bool = False
    argv: list[str] = field(default_factory=list)
    # stratified cap on each data set's rows (protocol.MAX_ROWS by default)
    max_rows: int = MAX_ROWS


def _git_revision() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" (src/ modified)" if dirty else "")


def run_metadata(config: RunConfig) -> dict[str, str]:
    """Facts about this run for the head of ``summary.md``."""
    versions = {
        **method_versions("pyod-vae"),
        **method_versions("iforest"),
        **method_versions("lw-vae"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python -m benchmarks.detection.adbench " + " ".join(config.argv),
        "git revision": _git_revision(),
        "threads": str(config.threads),
        "host": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "peak memory method": memory.METHOD,
    }
    if config.tag or config.lw_params or config.lw_vae_params or config.lw_ae_params:
        meta["latentwatch variant"] = (
            f"tag={config.tag!r} lw_params={config.lw_params} "
            f"lw_vae_params={config.lw_vae_params} lw_ae_params={config.lw_ae_params}"
        )
    return meta


def make_row(
    data: Dataset,
    seed: int,
    setting: str,
    outcome: Outcome,
    fit_idx: np.ndarray,
    test_idx: np.ndarray,
    config: RunConfig,
) -> dict[str, Any]:
    """One ``results.csv`` row; metric errors (e.g. non-finite scores) become ``error``."""
    y_test = data.y[test_idx]
    auc_roc = auc_pr = float("nan")
    error = outcome.error
    if not error and outcome.scores is not None:
        try:
            auc_roc, auc_pr = evaluate(y_test, outcome.scores)
        except ValueError as exc:
            error = f"ValueError: {exc}"
    base = outcome.method
    return {
        "dataset": data.name,
        "setting": setting,
        "seed": seed,
        "method": tagged(base, config.tag),
        "auc_roc": auc_roc,
        "auc_pr": auc_pr,
        "fit_s": outcome.fit_s,
        "score_s": outcome.score_s,
        "peak_mem_mb": outcome.peak_mem_mb,
        "n_fit": len(fit_idx),
        "n_test": len(test_idx),
        "n_features": data.X.shape[1],
        "fit_anomalies": int(data.y[fit_idx].sum()),
        "test_anomalies": int(y_test.sum()),
        "threads": config.threads,
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "versions": ";".join(f"{k}={v}" for k, v in method_versions(base).items()),
        "lw_params": json.dumps(_lw_params(base, config)) if is_latentwatch(base) else "",
        "cached": False,
        "error": error,
    }


def _lw_params(base: str, config: RunConfig) -> dict[str, Any]:
    extra = config.lw_ae_params if base == "lw-ae" else config.lw_vae_params
    return {**config.lw_params, **extra}


def run_unit(
    data: Dataset,
    seed: int,
    setting: str,
    group: list[str],
    config: RunConfig,
    cache: PeerCache,
) -> list[dict[str, Any]]:
    """Run one fit group (one peer, or the latentwatch methods sharing a fit) on one split."""
    train_idx, test_idx = split_indices(data.y, seed)
    fit_idx = training_rows(train_idx, data.y, setting)
    X_fit, X_test = data.X[fit_idx], data.X[test_idx]
    if is_latentwatch(group[0]):
        outcomes = run_latentwatch(group, X_fit, X_test, seed, _lw_params(group[0], config))
        return [make_row(data, seed, setting, o, fit_idx, test_idx, config) for o in outcomes]
    (method,) = group
    row_id = (data.name, setting, seed, method)
    key = cache_key(
        data.name, seed, setting, method, method_versions(method), config.threads, data.fingerprint
    )
    cached = cache.get(row_id, key)
    if cached is not None:
        return [{**cached, "cached": True}]
    row = make_row(
        data, seed, setting, run_peer(method, X_fit, X_test, seed), fit_idx, test_idx, config
    )
    cache.put(row_id, key, row)
    return [row]


def warm_up(groups: list[list[str]], config: RunConfig) -> None:
    """Run every fit group once on tiny random data, untimed.

    Lazy imports and first-call initialisation (torch, numba, thread pools) would otherwise
    be charged to whichever dataset happens to come first.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4))
    for group in groups:
        if is_latentwatch(group[0]):
            run_latentwatch(group, X[:64], X[64:], 0, _lw_params(group[0], config))
        else:
            run_peer(group[0], X[:64], X[64:], 0)


def merge_results(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``new`` plus the rows of ``old`` that ``new`` does not redo (same row keys)."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    if new.empty:
        return old.reset_index(drop=True)
    redo = pd.MultiIndex.from_frame(new[ROW_KEYS])
    keep = ~pd.MultiIndex.from_frame(old[ROW_KEYS]).isin(redo)
    return pd.concat([old[keep], new], ignore_index=True)


def _write(results: pd.DataFrame, config: RunConfig, final: bool) -> None:
    config.out_dir.mkdir(parents=True, exist_ok=True)
    results.to_csv(config.out_dir / "results.csv", index=False)
    if final and not results.empty:
        order = list(ALL_METHODS)
        tables = write_summary(results, config.out_dir / "summary.md", order, run_metadata(config))
        plot(results, tables, config.out_dir / "auc_vs_peers.png", order)


def run(config: RunConfig) -> pd.DataFrame:
    """Run the benchmark, writing ``results.csv`` after each dataset and the report at the end."""
    configure_threads(config.threads)
    old = None
    csv = config.out_dir / "results.csv"
    if config.append and csv.exists():
        old = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    cache = PeerCache(config.cache_dir)
    groups = fit_groups(config.methods)
    total = len(config.datasets) * len(config.seeds) * len(config.settings) * len(groups)
    warm_up(groups, config)
    rows: list[dict[str, Any]] = []
    with tqdm(total=total, desc="adbench", unit="fit", dynamic_ncols=True, file=sys.stderr) as bar:
        for name in config.datasets:
            bar.set_postfix_str(f"{name} loading")
            data = load_dataset(config.data_dir, name, config.max_rows)
            for seed in config.seeds:
                for setting in config.settings:
                    for group in groups:
                        bar.set_postfix_str(f"{name} s{seed} {setting} {'+'.join(group)}")
                        rows.extend(run_unit(data, seed, setting, group, config, cache))
                        bar.update()
            _write(merge_results(old, pd.DataFrame(rows)), config, final=False)
    results = merge_results(old, pd.DataFrame(rows))
    _write(results, config, final=True)
    return results
