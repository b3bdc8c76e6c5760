"""The REST service over real HTTP: ``latentwatch serve`` in a uvicorn process on a free
loopback port, the same numbers as ``latentwatch score``, and its refusals."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

from server_helpers import AUTH, KEY, Server, json_records  # noqa: E402

import latentwatch  # noqa: E402
from latentwatch import VAEDetector  # noqa: E402
from latentwatch.demos.datasets import make_transactions  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
MAX_ROWS = 300


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    frame, _ = make_transactions(500, seed=0)
    model = VAEDetector(max_epochs=2, random_state=0, schema={"id_columns": ["transaction_id"]}
                        ).fit(frame)
    path = model.save(folder / "fraud.lwm")
    (folder / "key.txt").write_text(KEY + "\n")
    rows = frame.iloc[:40].copy()
    rows.to_csv(folder / "rows.csv", index=False)
    server = Server(path, "--api-key-file", str(folder / "key.txt"), "--max-rows",
                    str(MAX_ROWS), "--max-bytes", "200000")
    yield server, folder, path
    server.stop()


def _cli_scores(model: Path, data: Path, out: Path) -> pd.DataFrame:
    from typer.testing import CliRunner

    from latentwatch.cli import app

    result = CliRunner().invoke(app, ["score", str(model), str(data), "-o", str(out), "-q",
                                      "-k", "2"])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, dtype={"transaction_id": str})


def test_score_gives_the_numbers_of_latentwatch_score_for_json_csv_and_parquet(served):
    server, folder, model = served
    expected = _cli_scores(model, folder / "rows.csv", folder / "cli.csv")
    raw = pd.read_csv(folder / "rows.csv", dtype=str)
    bodies = {
        "application/json": json.dumps(raw.to_dict(orient="records")).encode(),
        "text/csv": (folder / "rows.csv").read_bytes(),
    }
    buffer = io.BytesIO()
    pd.read_csv(folder / "rows.csv").to_parquet(buffer)
    bodies["application/vnd.apache.parquet"] = buffer.getvalue()
    for kind, body in bodies.items():
        response = server.post("/v1/score?top_k=2", content=body,
                               headers={**AUTH, "Content-Type": kind})
        assert response.status_code == 200, (kind, response.text)
        got = pd.DataFrame(response.json()["rows"])
        assert list(got.columns) == list(expected.columns), kind
        assert list(got["transaction_id"]) == list(expected["transaction_id"]), kind
        np.testing.assert_array_equal(got["score"].to_numpy(), expected["score"].to_numpy())
        np.testing.assert_array_equal(got["p_value"].to_numpy(), expected["p_value"].to_numpy())
        assert list(got["is_anomaly"]) == list(expected["is_anomaly"]), kind
        assert list(got["top1"]) == list(expected["top1"]), kind
    # one row alone gets the score it gets among the others, bit for bit
    row = raw.iloc[7].astype(object).where(raw.iloc[7].notna(), None).to_dict()
    alone = server.post("/v1/score", json=[row]).json()["rows"][0]
    assert alone["score"] == expected["score"].iloc[7]


def test_bad_rows_limits_and_keys_are_refused_with_the_right_status(served):
    server, folder, _ = served
    raw = pd.read_csv(folder / "rows.csv", dtype=str).iloc[:5]
    records = raw.astype(object).where(raw.notna(), None).to_dict(orient="records")
    records[3]["amount"] = "abc"
    response = server.post("/v1/score", json=records)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == ("<request>: 1 row cannot be used: row 4, column 'amount': 'abc' "
                              "is not a number; fix them or pass keep_bad_rows=true to give "
                              "them an empty score")
    assert body["problems"] == [{"row": 4, "column": "amount", "value": "abc",
                                 "message": "'abc' is not a number"}]
    kept = server.post("/v1/score?keep_bad_rows=true", json=records).json()["rows"]
    assert len(kept) == 5 and kept[3]["score"] is None and "amount" in kept[3]["reason"]
    assert all(r["score"] is not None for i, r in enumerate(kept) if i != 3)
    missing = server.post("/v1/score", json=[{"amount": 3.0}])
    assert missing.status_code == 422 and "'customer_id' is missing" in missing.json()["detail"]
    too_many = server.post("/v1/score", json=[records[0]] * (MAX_ROWS + 1))
    assert too_many.status_code == 413 and "300 rows" in too_many.json()["detail"]
    too_big = server.post("/v1/score", content=b"x" * 200_001,
                          headers={**AUTH, "Content-Type": "text/csv"})
    assert too_big.status_code == 413
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": KEY[:-1]}):
        assert server.post("/v1/score", json=records[:1], headers=headers).status_code == 401
        assert server.get("/metrics", headers=headers).status_code == 401
    assert server.post("/v1/score", json=records[:1],
                       headers={"X-API-Key": KEY}).status_code == 200
    assert server.get("/healthz", headers={}).json()["status"] == "ok"


def test_model_explain_docs_and_metrics(served):
    server, folder, path = served
    model = latentwatch.load(path)
    described = server.get("/v1/model").json()
    assert described["threshold"] == -model.offset_
    assert described["columns"] == list(model.codec_.sources)
    assert described["calibrated"] is True
    assert described["versions"]["latentwatch"] == latentwatch.__version__
    assert "anomaly" in described["threshold_rule"]
    frame = pd.read_csv(folder / "rows.csv").iloc[:3]
    explained = server.post("/v1/explain?top_k=2", content=frame.to_csv(index=False),
                            headers={**AUTH, "Content-Type": "text/csv"}).json()["rows"]
    from latentwatch.explain import explain_rows

    local = explain_rows(model, pd.read_csv(folder / "rows.csv", dtype={
        "transaction_id": str}).iloc[:3], top_k=2)
    assert [r["transaction_id"] for r in explained] == list(frame["transaction_id"])
    for got, want in zip(explained, local, strict=True):
        assert got["score"] == want.score
        assert [c["column"] for c in got["contributions"]] == [
            c.column for c in want.contributions]
        assert got["contributions"][0]["text"] == str(want.contributions[0])
    assert "/v1/score" in server.get("/openapi.json", headers={}).json()["paths"]
    assert server.get("/docs", headers={}).status_code == 200
    before = _metric(server, "latentwatch_rows_scored_total")
    server.post("/v1/score", content=(folder / "rows.csv").read_bytes(),
                headers={**AUTH, "Content-Type": "text/csv"})
    text = server.get("/metrics").text
    assert _metric(server, "latentwatch_rows_scored_total") == before + 40
    assert 'latentwatch_request_seconds_bucket{endpoint="/v1/score"' in text
    assert 'latentwatch_errors_total{endpoint="/v1/score",status="401"}' in text


def _metric(server: Server, name: str) -> float:
    for line in server.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_two_workers_share_the_load_and_sum_their_metrics(served):
    _, folder, path = served
    server = Server(path, "--workers", "2")
    try:
        body = (folder / "rows.csv").read_bytes()
        for _ in range(6):
            response = server.post("/v1/score", content=body, headers={"Content-Type":
                                                                        "text/csv"})
            assert response.status_code == 200
        assert _metric(server, "latentwatch_rows_scored_total") == 6 * 40
    finally:
        server.stop()


# -- a time-series model: the rows before a request travel in it ---------------------------------
@pytest.fixture(scope="module")
def served_series(tmp_path_factory):
    from series_data import planted_series

    folder = tmp_path_factory.mktemp("serve-series")
    frame, _ = planted_series(n=500, fault=(420, 440))
    frame = frame.drop(columns="label").assign(sensor="P1")
    model = VAEDetector(time_column="when", window=12, max_epochs=2, random_state=0,
                        schema={"id_columns": ["sensor"]}).fit(frame.iloc[:300])
    path = model.save(folder / "series.lwm")
    frame.to_csv(folder / "series.csv", index=False)
    server = Server(path, "--max-rows", str(MAX_ROWS))
    yield server, folder, path
    server.stop()


def test_a_series_sent_in_pieces_with_context_gets_the_scores_of_the_whole_file(served_series):
    server, folder, path = served_series
    expected = _cli_scores(path, folder / "series.csv", folder / "cli.csv")
    raw = pd.read_csv(folder / "series.csv", dtype=str)
    assert len(expected) == len(raw) == 500
    described = server.get("/v1/model").json()
    assert described["window"] == 12 and described["context_rows"] == 11
    first = server.post("/v1/score?top_k=2", json={"rows": json_records(raw.iloc[:250])}).json()
    assert first["series_start"] is True and "start of a series" in first["warnings"][0]
    pieces = [first["rows"]]
    # the next pieces with more rows before them than needed, then exactly W - 1
    for start, end, before in ((250, 300, 0), (300, MAX_ROWS + 200, 289)):
        response = server.post("/v1/score?top_k=2", json={
            "rows": json_records(raw.iloc[start:end]),
            "context": json_records(raw.iloc[before:start])})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["series_start"] is False and body["warnings"] == []
        pieces.append(body["rows"])
    got = pd.DataFrame([row for piece in pieces for row in piece])
    assert list(got.columns) == list(expected.columns)
    assert list(got.columns[:3]) == ["sensor", "when", "score"]  # the time after the ids
    # a spike of five steps on channel a: one event where it is, named by its time (this
    # two-epoch model lets it run on for up to a window; see tests/series for the bound)
    spiked = json_records(raw.iloc[300:360])
    for record in spiked[30:35]:
        record["a"] = str(float(record["a"]) + 5.0)
    events = server.post("/v1/score", json={
        "rows": spiked, "context": json_records(raw.iloc[280:300])}).json()["events"]
    found = [e for e in events if 30 <= e["peak"] <= 41]
    assert len(found) == 1 and found[0]["start"] >= 30 and found[0]["end"] <= 30 + 11
    assert found[0]["channels"][0]["channel"] == "a"
    assert found[0]["start_time"] == raw["when"].iat[300 + found[0]["start"]]
    assert list(got["sensor"]) == list(expected["sensor"].astype(str))
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(got["p_value"], expected["p_value"], rtol=1e-9, atol=0)
    assert list(got["is_anomaly"]) == list(expected["is_anomaly"])
    assert list(got["top1"]) == list(expected["top1"])
    # without its context a piece's first rows are scored as a series start: other numbers
    alone = server.post("/v1/score", json={"rows": json_records(raw.iloc[300:340])}).json()
    assert alone["series_start"] is True
    assert not np.allclose([r["score"] for r in alone["rows"][:11]],
                           expected["score"].iloc[300:311])
    np.testing.assert_allclose([r["score"] for r in alone["rows"][11:]],
                               expected["score"].iloc[311:340], rtol=1e-9, atol=0)
    # explain takes the context too: its scores are the whole file's
    explained = server.post("/v1/explain?top_k=2", json={
        "rows": json_records(raw.iloc[300:305]), "context": json_records(raw.iloc[280:300])}).json()
    assert explained["series_start"] is False
    np.testing.assert_allclose([r["score"] for r in explained["rows"]],
                               expected["score"].iloc[300:305], rtol=1e-9, atol=0)


def test_series_context_refusals(served_series, served):
    server, folder, _ = served_series
    raw = pd.read_csv(folder / "series.csv", dtype=str)
    rows, context = json_records(raw.iloc[100:110]), json_records(raw.iloc[80:100])
    for body, status, detail in (
            ({"rows": rows, "context": {"when": "x"}}, 422,
             '<request>: "context" must be a JSON list of records (the rows before "rows" in '
             'the series)'),
            ({"rows": rows, "contxt": context}, 422,
             "<request>: unknown key 'contxt' in the JSON body; it holds \"rows\" and, for a "
             "time-series model, \"context\""),
            ({"rows": rows, "context": [{"when": r["when"], "a": r["a"]} for r in context]},
             422, "<request> context: column 'b' is missing (the model reads: when, a, b)"),
            ({"rows": rows, "context": context * (MAX_ROWS // 20 + 1)}, 413,
             "<request>: 320 context rows is over the limit of 300 context rows per request; "
             "split it")):
        response = server.post("/v1/score", json=body)
        assert response.status_code == status, response.text
        assert response.json()["detail"] == detail
    assert server.post("/v1/score", json={"rows": rows, "context": None}).json()["series_start"]
    table, table_folder, _ = served
    records = json_records(pd.read_csv(table_folder / "rows.csv", dtype=str))
    refused = table.post("/v1/score", json={"rows": records[5:8], "context": records[:5]})
    assert refused.status_code == 422
    assert refused.json()["detail"] == ('<request>: "context" is for a time-series model; this '
                                        "table model scores each row alone: send the rows "
                                        "without it")
    plain = table.post("/v1/score", json={"rows": records[5:8], "context": []}).json()
    assert "series_start" not in plain and len(plain["rows"]) == 3
    described = table.get("/v1/model").json()
    assert described["window"] is None and described["context_rows"] == 0


def test_the_server_does_not_import_the_command_line():
    src = str(Path(latentwatch.__file__).resolve().parents[1])
    code = ("import sys, latentwatch.server; "
            "cli = sorted(m for m in sys.modules if m.startswith('latentwatch.cli')); "
            "assert not cli, cli")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": src})
    assert result.returncode == 0, result.stderr
