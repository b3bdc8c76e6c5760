"""The command line on a time series: fit, score (streamed = whole), explain, info,
evaluate, and the one-line refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, invoke, ok

import latentwatch


def _series(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.arange(n) / 20
    frame = pd.DataFrame({
        "datetime": pd.date_range("2024-05-01", periods=n, freq="s").astype(str),
        "sensor": "P1",
        "flow": np.sin(phase) + 0.05 * rng.normal(size=n),
        "pressure": np.cos(phase) + 0.05 * rng.normal(size=n),
        "label": 0,
    })
    frame.loc[480:500, "pressure"] = -frame.loc[480:500, "pressure"]
    frame.loc[480:500, "label"] = 1
    frame.loc[100, "flow"] = np.nan
    return frame.drop(index=range(200, 204)).reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    frame = _series()
    frame.iloc[:400].to_csv(folder / "train.csv", index=False)
    frame.to_csv(folder / "new.csv", index=False)
    result = ok(invoke("fit", folder / "train.csv", "--time-column", "datetime", "-x", "label",
                       "-i", "sensor", "--epochs", "4", "-q", "-o", folder / "m.lwm"))
    return folder, frame, result


def test_fit_says_the_window_it_chose(fitted):
    folder, _, result = fitted
    assert "window: 20 steps (auto: the dominant period, 20 steps" in result.stdout
    model = latentwatch.load(folder / "m.lwm")
    assert model.window_ == 20 and model.codec_.channels == ["flow", "pressure"]


def test_score_streams_one_row_per_input_row_equal_to_the_whole(fitted):
    folder, frame, _ = fitted
    ok(invoke("score", folder / "m.lwm", folder / "new.csv", "-o", folder / "s.csv",
              "--chunk-rows", "37", "-q"))
    ok(invoke("score", folder / "m.lwm", folder / "new.csv", "-o", folder / "w.csv", "-q"))
    chunked, whole = pd.read_csv(folder / "s.csv"), pd.read_csv(folder / "w.csv")
    assert len(chunked) == len(frame) and (chunked["sensor"] == "P1").all()
    assert chunked["score"].notna().all()
    np.testing.assert_allclose(chunked["score"], whole["score"], rtol=1e-12, atol=0)
    assert (chunked["is_anomaly"] == whole["is_anomaly"]).all()
    model = latentwatch.load(folder / "m.lwm")
    direct = model.anomaly_score(frame)
    np.testing.assert_allclose(whole["score"], direct, rtol=1e-12, atol=0)
    assert chunked["top1"].str.match(r"^(flow|pressure)\[t(-\d+)?\]$").all()


def test_explain_names_channels_and_steps(fitted):
    folder, _, _ = fitted
    result = ok(invoke("explain", folder / "m.lwm", folder / "new.csv", "-n", "1",
                       "--chunk-rows", "50"))
    assert "by channel: pressure" in result.stdout
    assert "(2024-05-01T00:0" in result.stdout.split("by channel: ")[1]  # steps by time
    event = [line for line in result.stdout.splitlines() if line.startswith("  event: rows ")]
    assert len(event) == 1 and "channels: pressure" in event[0]
    lines = result.stdout.splitlines()
    number = int(lines[0].split()[1])
    assert 476 <= number <= 502  # the fault (rows 476-496 after the dropped 200-203)
    again = ok(invoke("explain", folder / "m.lwm", folder / "new.csv", "--rows", str(number),
                      "--chunk-rows", "50"))
    assert again.stdout.splitlines()[0] == lines[0]


def test_info_and_evaluate_on_a_series_model(fitted):
    folder, _, _ = fitted
    info = ok(invoke("info", folder / "m.lwm"))
    assert "series: each row is scored on the window of its last 20 steps" in info.stdout
    assert "data columns (a time series)" in info.stdout
    evaluation = ok(invoke("evaluate", folder / "m.lwm", folder / "new.csv", "-l", "label"))
    assert "VUS-PR (range-aware)" in evaluation.stdout
    assert "event recall at the threshold                1" in evaluation.stdout


def test_refusals_are_one_line(fitted, tmp_path):
    folder, frame, _ = fitted
    assert_one_line_error(invoke("sample", folder / "m.lwm", "-n", "2"),
                          "does not decode rows")
    unsorted = frame.copy()
    unsorted.loc[50, "datetime"] = unsorted.loc[10, "datetime"]
    unsorted.to_csv(tmp_path / "unsorted.csv", index=False)
    assert_one_line_error(invoke("score", folder / "m.lwm", tmp_path / "unsorted.csv"),
                          "unsorted.csv", "row 51, column 'datetime'", "sorted by time")
    texty = frame.iloc[:300].astype({"flow": object})
    texty.loc[7, "flow"] = "high"
    texty.to_csv(tmp_path / "texty.csv", index=False)
    assert_one_line_error(invoke("fit", tmp_path / "texty.csv", "--time-column", "datetime",
                                 "-x", "label", "-i", "sensor"),
                          "texty.csv", "column 'flow' is not numeric (row 8: 'high')")
    assert_one_line_error(invoke("fit", tmp_path / "texty.csv", "--time-column", "datetime",
                                 "-x", "label", "-x", "flow", "-i", "sensor", "--window", "200"),
                          "300 rows are too few for a window of 200 steps")
    assert_one_line_error(invoke("fit", tmp_path / "texty.csv", "--time-column", "when"),
                          "time column 'when' is not in the data")
    assert_one_line_error(invoke("schema", folder / "train.csv", "--time-column", "datetime",
                                 "--max-categories", "3"),
                          "--schema and --max-categories read tables")


def test_keep_bad_rows_gives_every_row_an_output_row(fitted, tmp_path):
    folder, frame, _ = fitted
    broken = frame.astype({"flow": object})
    broken.loc[50, "datetime"] = broken.loc[10, "datetime"]
    broken.loc[300, "flow"] = "n/a?"
    broken.to_csv(tmp_path / "broken.csv", index=False)
    ok(invoke("score", folder / "m.lwm", tmp_path / "broken.csv", "--keep-bad-rows",
              "--chunk-rows", "40", "-q", "-o", tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == len(frame)
    assert out["score"].isna().sum() == 2 and out["score"].isna()[[50, 300]].all()
    assert "sorted by time" in out.loc[50, "reason"] and "flow" in out.loc[300, "reason"]
    whole = latentwatch.load(folder / "m.lwm")
    from latentwatch.service import score_table

    direct = score_table(whole, broken).table["score"].to_numpy()
    np.testing.assert_allclose(out["score"], direct, rtol=1e-12, atol=0)


def test_explained_rows_past_chunk_starts_get_their_whole_file_scores(fitted, tmp_path):
    import json

    folder, frame, _ = fitted
    broken = frame.astype({"flow": object})
    broken.loc[70, "flow"] = "n/a?"  # unusable, just before the row after a chunk start
    broken.to_csv(tmp_path / "broken.csv", index=False)
    rows = [1, 37, 38, 72, 75, 481, 596]
    result = ok(invoke("explain", folder / "m.lwm", tmp_path / "broken.csv", "--rows",
                       ",".join(map(str, rows)), "--chunk-rows", "37", "--json"))
    got = {item["row"]: item["score"] for item in json.loads(result.stdout)["rows"]}
    from latentwatch.service import score_table

    whole = score_table(latentwatch.load(folder / "m.lwm"), broken).table["score"]
    np.testing.assert_allclose([got[r] for r in rows], whole.iloc[[r - 1 for r in rows]],
                               rtol=1e-9, atol=0)
    top = json.loads(ok(invoke("explain", folder / "m.lwm", tmp_path / "broken.csv", "-n", "3",
                               "--chunk-rows", "37", "--json")).stdout)["rows"]
    best = whole.sort_values(ascending=False).iloc[:3]
    assert [item["row"] for item in top] == [i + 1 for i in best.index]
    np.testing.assert_allclose([item["score"] for item in top], best, rtol=1e-9, atol=0)


def test_score_writes_events_and_reads_a_repeated_time_with_a_warning(fitted, tmp_path):
    folder, frame, _ = fitted
    repeated = frame.copy()
    repeated.loc[300, "datetime"] = repeated.loc[299, "datetime"]
    repeated.to_csv(tmp_path / "repeated.csv", index=False)
    result = ok(invoke("score", folder / "m.lwm", tmp_path / "repeated.csv", "-o",
                       tmp_path / "s.csv", "--events", tmp_path / "events.csv"))
    assert "warning: " in result.stderr and "1 row repeats the time of the row before" in (
        result.stderr)
    scores = pd.read_csv(tmp_path / "s.csv")
    assert list(scores.columns[:3]) == ["sensor", "datetime", "score"]
    assert len(scores) == len(frame) and scores["score"].notna().all()
    events = pd.read_csv(tmp_path / "events.csv")
    assert list(events.columns) == ["start_row", "end_row", "start_time", "end_time", "rows",
                                    "peak_row", "peak_time", "peak_score", "channels"]
    flagged = scores["is_anomaly"].to_numpy(dtype=bool)
    assert events["rows"].sum() == flagged.sum()
    top = events.sort_values("peak_score").iloc[-1]
    assert 477 <= top["peak_row"] <= 503 and top["channels"].startswith("pressure")
    assert top["peak_time"] == scores["datetime"].iat[top["peak_row"] - 1]
    refused = invoke("score", folder / "m.lwm", tmp_path / "repeated.csv", "--events",
                     tmp_path / "e.csv", "--engine", "dask")
    assert refused.exit_code != 0 and "--events needs --engine local" in refused.stderr
