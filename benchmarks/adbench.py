"""Command line entry point: ``python -m benchmarks.adbench --data ../shared/data --out results/``.

Only the standard library is imported at module level: the thread-limiting environment
variables must be set before numpy, scikit-learn or torch are first imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
QUICK_DATASETS = ("wine", "glass", "vertebral", "WBC", "cardio")
METHOD_ALIASES = {
    "peers": ("iforest", "ecod", "knn", "knn-std", "lof", "lof-std", "pyod-ae", "pyod-vae"),
    "simple": ("iforest", "ecod", "knn", "knn-std", "lof-std"),
    "lw": ("lw-vae", "lw-vae-rp", "lw-vae-iw", "lw-vae-capped", "lw-vae-elbo", "lw-vae-recerr",
           "lw-ae"),
}


def limit_threads(n: int) -> None:
    """Set the BLAS/OpenMP thread variables (effective only before numpy/torch are imported)."""
    heavy = [m for m in ("numpy", "torch", "sklearn") if m in sys.modules]
    if heavy:
        warnings.warn(f"{heavy} imported before thread limits were set", stacklevel=2)
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _json_dict(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"beta\": 0.5}'")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Command line options."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.adbench",
        description="ADBench protocol: latentwatch vs PyOD AutoEncoder/VAE, IsolationForest, ECOD.",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data"),
        help="folder of NAME.npz files (default ../shared/data)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="output folder for results.csv, summary.md, auc_vs_peers.png",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=Path("results/.cache"),
        help="peer result cache folder (default results/.cache)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument(
        "--datasets",
        type=_comma_list,
        default=None,
        help="comma list of dataset names (default: all in --data)",
    )
    p.add_argument(
        "--methods",
        type=_comma_list,
        default=None,
        help="comma list of methods, or the aliases 'peers' and 'lw' (default: all)",
    )
    p.add_argument(
        "--seeds",
        type=lambda s: [int(x) for x in _comma_list(s)],
        default=None,
        help="comma list of split seeds (default 0,1,2)",
    )
    p.add_argument(
        "--setting",
        choices=("unsupervised", "novelty", "both"),
        default=None,
        help="training setting (default both)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch/BLAS/OpenMP threads for every method (default 1)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"development run: {','.join(QUICK_DATASETS)}, seed 0, unsupervised",
    )
    p.add_argument(
        "--lw-params",
        type=_json_dict,
        default={},
        help="JSON kwargs for every latentwatch detector, e.g. '{\"beta\": 0.5}'",
    )
    p.add_argument(
        "--lw-vae-params",
        type=_json_dict,
        default={},
        help="JSON kwargs for VAEDetector only (override --lw-params)",
    )
    p.add_argument(
        "--lw-ae-params",
        type=_json_dict,
        default={},
        help="JSON kwargs for AutoEncoderDetector only (override --lw-params)",
    )
    p.add_argument(
        "--tag", default="", help="variant tag appended to latentwatch names, e.g. lw-vae[beta0.5]"
    )
    p.add_argument(
        "--append",
        action="store_true",
        help="merge into an existing results.csv in --out instead of replacing it",
    )
    return p


def resolve_methods(requested: list[str] | None, known: tuple[str, ...]) -> list[str]:
    """Expand aliases, check names, keep the canonical order of ``known``."""
    if not requested:
        return list(known)
    names: set[str] = set()
    for item in requested:
        names.update(METHOD_ALIASES.get(item, (item,)))
    unknown = sorted(names - set(known))
    if unknown:
        raise SystemExit(
            f"unknown method(s) {unknown}; known: {list(known)} and {list(METHOD_ALIASES)}"
        )
    return [m for m in known if m in names]


def main(argv: list[str] | None = None) -> int:
    """Parse options, limit threads, then run the benchmark."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        raise SystemExit("--threads must be >= 1")
    limit_threads(args.threads)

    from benchmarks.methods import ALL_METHODS
    from benchmarks.protocol import SETTINGS, list_datasets, resolve_dataset_names
    from benchmarks.runner import RunConfig, run

    available = list_datasets(args.data)
    if not available:
        raise SystemExit(f"no *.npz datasets in {args.data}")
    datasets = args.datasets or (list(QUICK_DATASETS) if args.quick else available)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    setting = args.setting or ("unsupervised" if args.quick else "both")
    config = RunConfig(
        data_dir=args.data,
        out_dir=args.out,
        cache_dir=None if args.no_cache else args.cache,
        datasets=resolve_dataset_names(datasets, available),
        methods=resolve_methods(args.methods, ALL_METHODS),
        seeds=seeds,
        settings=list(SETTINGS) if setting == "both" else [setting],
        threads=args.threads,
        tag=args.tag,
        lw_params=args.lw_params,
        lw_vae_params=args.lw_vae_params,
        lw_ae_params=args.lw_ae_params,
        append=args.append,
        argv=argv,
    )
    results = run(config)
    n_err = int((results["error"].fillna("").astype(str) != "").sum())
    print(
        f"{len(results)} rows ({n_err} failed) -> {args.out}/results.csv, summary.md, "
        "auc_vs_peers.png",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
