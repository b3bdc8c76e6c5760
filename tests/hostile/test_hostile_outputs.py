"""Outputs and options: nothing overwrites an input, every way a run ends leaves no
partial file, a truncated pipe is not a success, option values are bounded before any
work, default model names do not collide."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from hostile_helpers import TALLY, invoke, refused, table

from latentwatch import atomic
from latentwatch.cli.reading import default_model_path
from latentwatch.errors import DataError


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".latentwatch-"))


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data.csv"
    table().iloc[:50].to_csv(path, index=False)
    return path


# -- --out equal to an input -----------------------------------------------------------------
@pytest.mark.parametrize("command", ["score", "encode", "explain-free"])
def test_out_equal_to_the_input_is_refused(model, data, command):
    before = data.read_bytes()
    name = command if command != "explain-free" else "interpolate"
    extra = ["--from", 1, "--to", 2] if name == "interpolate" else []
    refused(invoke(name, model, data, *extra, "-o", data), str(data), "is the input file")
    assert data.read_bytes() == before


@pytest.mark.parametrize("command", ["fit", "schema"])
def test_out_equal_to_the_training_data_is_refused(data, command):
    before = data.read_bytes()
    refused(invoke(command, data, "-i", "id", "-o", data, "-q"), "is the input file")
    assert data.read_bytes() == before


def test_out_through_a_symlink_or_dots_is_refused(model, data, tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    before = data.read_bytes()
    refused(invoke("score", model, data, "-o", link), "is the input file")
    refused(invoke("score", model, link, "-o", tmp_path / "." / "data.csv"),
            "is the input file")
    refused(invoke("sample", model, "-o", model), "is the input file")
    assert data.read_bytes() == before


# -- failed renames, orphans -----------------------------------------------------------------
def test_a_directory_as_target_leaves_nothing(model, data, tmp_path):
    target = tmp_path / "out.csv"
    target.mkdir()
    refused(invoke("score", model, data, "-o", target), str(target), "is a directory")
    refused(invoke("sample", model, "-o", target), str(target))
    assert _temps(tmp_path) == []


def test_a_name_too_long_leaves_nothing(model, data, tmp_path):
    target = tmp_path / ("x" * 300 + ".csv")
    refused(invoke("score", model, data, "-o", target), "cannot write")
    assert _temps(tmp_path) == []


def test_an_orphan_of_a_killed_writer_is_removed_by_the_next_run(model, data, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    host = atomic.host_name()
    orphan = tmp_path / f".latentwatch-{host}-{dead}-abc.tmp"
    alive = tmp_path / f".latentwatch-{host}-{os.getpid()}-def.tmp"
    other_host = tmp_path / f".latentwatch-elsewhere-{dead}-ghi.tmp"
    unrelated = tmp_path / ".latentwatch-notes.txt"
    for path in (orphan, alive, other_host, unrelated):
        path.write_text("partial")
    result = invoke("score", model, data, "-o", tmp_path / "scores.csv", "-q")
    assert result.exit_code == 0, result.stderr
    assert not orphan.exists()
    assert alive.exists() and other_host.exists() and unrelated.exists()
    TALLY["cases"] += 1
    TALLY["correct results"] += 1


def test_temp_files_carry_host_and_pid(tmp_path):
    tmp = atomic.temp_file(tmp_path)
    name = os.path.basename(tmp)
    assert name.startswith(f".latentwatch-{atomic.host_name()}-{os.getpid()}-")
    assert atomic.TEMP_NAME.match(name)
    assert socket.gethostname()


def test_replace_atomically_cleans_up_on_failure(tmp_path):
    tmp = atomic.temp_file(tmp_path)
    (tmp_path / "dir").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        atomic.replace_atomically(tmp, tmp_path / "dir")
    assert not os.path.exists(tmp)


# -- signals and pipes (real processes) --------------------------------------------------------
def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _slow_input(tmp_path, n=400_000):
    path = tmp_path / "big.csv"
    frame = table(n=n)
    frame["shop"] = frame["shop"].fillna("fuel")
    frame.to_csv(path, index=False)
    return path


def test_sigterm_during_score_exits_143_and_leaves_nothing(model, tmp_path):
    big = _slow_input(tmp_path, n=100_000)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "latentwatch", "score", str(model), str(big), "-o",
         str(out / "scores.csv"), "--chunk-rows", "2000", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    deadline = time.monotonic() + 120
    while not _temps(out) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert _temps(out), "the writer never started"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: terminated")
    assert list(out.iterdir()) == []
    TALLY["cases"] += 1
    TALLY["clear errors"] += 1


def test_a_broken_pipe_is_not_a_success(model, tmp_path):
    big = _slow_input(tmp_path, n=20_000)
    score = subprocess.Popen([sys.executable, "-m", "latentwatch", "score", str(model),
                              str(big), "--chunk-rows", "1000", "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    first = score.stdout.readline()
    assert first.startswith(b"score,") or b"score" in first
    score.stdout.close()  # what `| head -1` does
    stderr = score.stderr.read().decode()
    score.wait(timeout=120)
    assert score.returncode == 141, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "error: <stdout>: the reader closed the pipe before the end; the output is incomplete"]
    TALLY["cases"] += 1
    TALLY["clear errors"] += 1


# -- option bounds -------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["sample", "{model}", "-n", "100000000"],
    ["sample", "{model}", "-n", "-1"],
    ["interpolate", "{model}", "{data}", "--from", "1", "--to", "2", "-n", "100000000"],
    ["explain", "{model}", "{data}", "-n", "100000000"],
    ["fit", "{data}", "--max-categories", "-1"],
    ["fit", "{data}", "--max-categories", "0"],
    ["report", "{model}", "{data}", "-n", "0"],
])
def test_out_of_range_options_are_refused_before_any_work(model, data, args):
    started = time.monotonic()
    filled = [a.format(model=model, data=data) for a in args]
    line = refused(invoke(*filled), code=2)
    assert "range" in line or "greater than" in line or "Invalid value" in line, line
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("rows", ["1-2000000000", "1-100001", "0", "5-3", "a", "1,,2",
                                  "-4"])
def test_row_selectors_are_checked_before_any_list_is_built(model, data, rows):
    started = time.monotonic()
    refused(invoke("explain", model, data, "--rows", rows), "--rows")
    assert time.monotonic() - started < 30


def test_rows_past_the_end_are_refused(model, data):
    error = refused(invoke("explain", model, data, "--rows", "3,5000"))
    assert "--rows 5000 is past the end" in error


# -- default model names -----------------------------------------------------------------------
@pytest.mark.parametrize(("data_name", "model_name"), [
    ("sales.2023.csv", "sales.2023.lwm"), ("sales.2024.csv", "sales.2024.lwm"),
    (".hidden.csv", ".hidden.lwm"), ("a.b.c.csv.gz", "a.b.c.lwm"), ("x.parquet", "x.lwm"),
    ("dir/data.tsv", "data.lwm"), (".csv", ".csv.lwm"), ("-", "model.lwm"),
    ("UPPER.CSV", "UPPER.lwm")])
def test_default_model_names_keep_everything_but_the_table_extension(data_name, model_name):
    assert str(default_model_path(data_name)) == model_name


def test_two_years_of_sales_give_two_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for year in (2023, 2024):
        table(n=120, seed=year).to_csv(f"sales.{year}.csv", index=False)
        result = invoke("fit", f"sales.{year}.csv", "-i", "id", "--epochs", 1, "-q")
        assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.lwm")) == ["sales.2023.lwm",
                                                               "sales.2024.lwm"]
