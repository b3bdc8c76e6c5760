"""The benchmark harness: one argument parser for every benchmark, lists, tables, the cache."""

from __future__ import annotations

import ast
import importlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `benchmarks` lives at the root

from benchmarks.harness import BenchmarkParser, new_parser  # noqa: E402
from benchmarks.harness.cache import PeerCache  # noqa: E402
from benchmarks.harness.cli import REQUIRED, json_object  # noqa: E402
from benchmarks.harness.tables import md_table, write_csv, write_lines  # noqa: E402

BENCHMARKS = ROOT / "benchmarks"
FOLDERS = ("detection", "series", "generation", "scale", "speed", "drift")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _scripts() -> list[Path]:
    """Every benchmark that runs as a command (it has a ``main``)."""
    found = []
    for folder in FOLDERS:
        for path in sorted((BENCHMARKS / folder).glob("*.py")):
            tree = ast.parse(path.read_text())
            if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
                found.append(path)
    return found


SCRIPTS = _scripts()


def test_every_benchmark_is_in_the_readme() -> None:
    assert {p.parent.name for p in SCRIPTS} == set(FOLDERS)
    readme = (BENCHMARKS / "README.md").read_text()
    missing = [_module(p) for p in SCRIPTS if f"python -m {_module(p)}" not in readme]
    assert missing == []


def test_only_the_harness_builds_argument_parsers() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in BENCHMARKS.rglob("*.py")
        if path.parent.name != "harness" and "ArgumentParser(" in path.read_text()
    ]
    assert offenders == []


@pytest.mark.parametrize("path", SCRIPTS, ids=_module)
def test_each_benchmark_parser_comes_from_the_harness(path: Path) -> None:
    try:
        module = importlib.import_module(_module(path))
    except ModuleNotFoundError as error:  # an optional dependency of that benchmark only
        if (error.name or "").split(".")[0] in ("benchmarks", "latentwatch"):
            raise
        pytest.skip(f"{_module(path)} needs {error.name}")
    parser = module.build_parser()
    assert isinstance(parser, BenchmarkParser)
    assert parser.prog == f"python -m {_module(path)}"
    assert f"python -m {_module(path)}" in parser.format_help()
    guard = 'if __name__ == "__main__":'
    assert guard in path.read_text(), f"{path.name} does not run as a command"


def test_lists_take_commas_and_spaces() -> None:
    parser = new_parser("benchmarks.example", "doc", seeds=[0, 1, 2], methods=None)
    assert parser.parse_args([]).seeds == [0, 1, 2]
    assert parser.parse_args(["--seeds", "3,4"]).seeds == [3, 4]
    assert parser.parse_args(["--seeds", "3", "4,5"]).seeds == [3, 4, 5]
    assert parser.parse_args(["--methods", "lw-vae,iforest", "knn"]).methods == [
        "lw-vae", "iforest", "knn"]


def test_a_bad_seed_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = new_parser("benchmarks.example", "doc", seeds=[0])
    with pytest.raises(SystemExit):
        parser.parse_args(["--seeds", "0,x"])
    assert "--seeds" in capsys.readouterr().err


def test_common_options_keep_their_types_and_defaults() -> None:
    parser = new_parser("benchmarks.example", "doc", data=Path("d"), out=None, threads=1,
                        quick=True, no_cache=True, seed=3)
    args = parser.parse_args(["--data", "x", "--threads", "2", "--quick"])
    assert args.data == Path("x") and args.out is None and args.threads == 2
    assert args.quick and not args.no_cache and args.seed == 3
    assert not hasattr(args, "seeds")  # only the options a benchmark names


def test_required_common_option() -> None:
    parser = new_parser("benchmarks.example", "doc", data=REQUIRED)
    with pytest.raises(SystemExit):
        parser.parse_args([])
    assert parser.parse_args(["--data", "f.parquet"]).data == Path("f.parquet")


def test_unknown_common_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="sedes"):
        new_parser("benchmarks.example", "doc", sedes=[0])


def test_json_object_refuses_other_json() -> None:
    assert json_object('{"beta": 0.5}') == {"beta": 0.5}
    with pytest.raises(Exception, match="JSON object"):
        json_object("[1, 2]")


def test_md_table_and_writers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"method": ["lw-vae"], "auc_roc": [0.81234], "fit_s": [float("nan")]})
    text = md_table(frame.set_index("method"), digits={"auc_roc": 2})
    assert text.splitlines() == ["| method | auc_roc | fit_s |", "|---|---:|---:|",
                                 "| lw-vae | 0.81 |  |"]
    csv = write_csv(frame, tmp_path / "a" / "b.csv")
    assert pd.read_csv(csv)["method"].tolist() == ["lw-vae"]
    md = write_lines(tmp_path / "c" / "summary.md", ["# t", "", text])
    assert md.read_text() == f"# t\n\n{text}\n"


def test_peer_cache_file_names_stay_readable(tmp_path: Path) -> None:
    """Rows cached before the harness move keep their names: the peer cache stays usable."""
    old = tmp_path / "cardio__iforest__s1__novelty__abc123.json"
    old.write_text(json.dumps({"auc_roc": 0.9, "error": ""}))
    cache = PeerCache(tmp_path)
    assert cache.get(("cardio", "novelty", 1, "iforest"), "abc123") == {"auc_roc": 0.9,
                                                                       "error": ""}
    cache.put(("wine", "unsupervised", 0, "ecod"), "k", {"auc_roc": 0.7, "error": ""})
    assert (tmp_path / "wine__ecod__s0__unsupervised__k.json").exists()
    cache.put(("wine", "unsupervised", 0, "knn"), "k", {"auc_roc": None, "error": "boom"})
    assert cache.get(("wine", "unsupervised", 0, "knn"), "k") is None  # failures retried
    assert PeerCache(None).get(("wine", "unsupervised", 0, "ecod"), "k") is None
