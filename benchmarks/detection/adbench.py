"""ADBench protocol: latentwatch against PyOD, scikit-learn and ECOD on the tabular sets::

    python -m benchmarks.detection.adbench --data ../shared/data --out results/

Only the standard library is imported at module level: the thread-limiting environment
variables must be set before numpy, scikit-learn or torch are first imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.harness import BenchmarkParser, limit_threads, new_parser
from benchmarks.harness.cli import json_object

QUICK_DATASETS = ("wine", "glass", "vertebral", "WBC", "cardio")
METHOD_ALIASES = {
    "peers": ("iforest", "ecod", "knn", "knn-std", "lof", "lof-std", "pyod-ae", "pyod-vae"),
    "simple": ("iforest", "ecod", "knn", "knn-std", "lof-std"),
    "lw": ("lw-vae", "lw-vae-rp", "lw-vae-iw", "lw-vae-capped", "lw-vae-elbo", "lw-vae-recerr",
           "lw-ae"),
}


def build_parser() -> BenchmarkParser:
    """Command line options: the harness's common ones, then the latentwatch variants."""
    p = new_parser(
        "benchmarks.detection.adbench", __doc__,
        data=Path("../shared/data"), out=Path("results"), cache=Path("results/.cache"),
        no_cache=True, datasets=None, methods=None, seeds=None, threads=1, quick=True,
        helps={
            "data": "folder of NAME.npz files",
            "out": "output folder for results.csv, summary.md, auc_vs_peers.png",
            "cache": "peer result cache folder",
            "datasets": "data set names (default: all in --data)",
            "methods": "methods, or the aliases 'peers', 'simple' and 'lw' (default: all)",
            "seeds": "split seeds (default 0,1,2)",
            "quick": f"development run: {','.join(QUICK_DATASETS)}, seed 0, unsupervised",
        },
    )
    p.add_argument(
        "--setting",
        choices=("unsupervised", "novelty", "both"),
        default=None,
        help="training setting (default both)",
    )
    p.add_argument(
        "--lw-params",
        type=json_object,
        default={},
        help="JSON kwargs for every latentwatch detector, e.g. '{\"beta\": 0.5}'",
    )
    p.add_argument(
        "--lw-vae-params",
        type=json_object,
        default={},
        help="JSON kwargs for VAEDetector only (override --lw-params)",
    )
    p.add_argument(
        "--lw-ae-params",
        type=json_object,
        default={},
        help="JSON kwargs for AutoEncoderDetector only (override --lw-params)",
    )
    p.add_argument(
        "--tag", default="", help="variant tag appended to latentwatch names, e.g. lw-vae[beta0.5]"
    )
    p.add_argument(
        "--max-rows", type=int, default=None,
        help="stratified cap on each data set's rows (default: protocol.MAX_ROWS, 50,000)",
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
    limit_threads(args.threads)

    from benchmarks.detection.methods import ALL_METHODS
    from benchmarks.detection.protocol import SETTINGS, list_datasets, resolve_dataset_names
    from benchmarks.detection.runner import RunConfig, run

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
        **({"max_rows": args.max_rows} if args.max_rows else {}),
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
