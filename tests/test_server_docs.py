"""The REST service's documentation over real HTTP: ``/docs`` needs no network (Swagger
UI's files are served by the service itself), the OpenAPI document describes the request
and response bodies, the answers match those descriptions, and a signed model is served
only with the right ``--verify-key``."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi_offline")

from server_helpers import KEY, Server, json_records  # noqa: E402

from latentwatch import VAEDetector  # noqa: E402
from latentwatch.demos.datasets import make_transactions  # noqa: E402
from latentwatch.server_schema import (  # noqa: E402
    ErrorResponse,
    ExplainResponse,
    ScoreResponse,
)
from latentwatch.signing import write_key_pair  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    frame, _ = make_transactions(300, seed=0)
    model = VAEDetector(max_epochs=2, random_state=0, schema={"id_columns": ["transaction_id"]}
                        ).fit(frame)
    secret, public = write_key_pair(folder / "team.key")
    path = model.save(folder / "fraud.lwm", sign_key=secret)
    (folder / "key.txt").write_text(KEY + "\n")
    server = Server(path, "--api-key-file", str(folder / "key.txt"), "--verify-key",
                    str(public))
    yield server, frame, folder
    server.stop()


def test_docs_load_every_asset_from_the_service(served):
    server = served[0]
    page = server.get("/docs", headers={})
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and not [a for a in assets if "://" in a or a.startswith("//")], assets
    for asset in assets:
        answer = server.get(asset, headers={})  # no key: the docs are public, as before
        assert answer.status_code == 200, asset
        if asset.endswith("swagger-ui-bundle.js"):
            assert len(answer.content) > 500_000 and b"SwaggerUIBundle" in answer.content
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    assert "cdn" not in server.get("/redoc", headers={}).text.lower()


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_openapi_describes_the_request_and_response_bodies(served):
    document = served[0].get("/openapi.json", headers={}).json()
    for endpoint, answer in (("/v1/score", "ScoreResponse"),
                             ("/v1/explain", "ExplainResponse")):
        operation = document["paths"][endpoint]["post"]
        content = operation["requestBody"]["content"]
        assert set(content) == {"application/json", "text/csv",
                                "application/vnd.apache.parquet"}
        listed, wrapped = content["application/json"]["schema"]["oneOf"]
        assert listed["type"] == "array"
        body = _resolve(document, wrapped)
        assert set(body["properties"]) == {"rows", "context"}
        assert body["required"] == ["rows"] and body["additionalProperties"] is False
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert _resolve(document, ok)["title"] == answer
        assert _resolve(document, operation["responses"]["422"]["content"][
            "application/json"]["schema"])["title"] == "ErrorResponse"
        names = {p["name"] for p in operation["parameters"]}
        assert {"id", "top_k"} <= names
    explained = _resolve(document, document["components"]["schemas"]["ExplainResponse"])
    row = _resolve(document, explained["properties"]["rows"]["items"])
    assert "contributions" in row["properties"]


def test_the_answers_match_the_described_bodies(served):
    server, frame, _ = served
    rows = pd.read_csv(io.StringIO(frame.iloc[:5].to_csv(index=False)),
                       dtype={"transaction_id": str})
    records = json_records(rows)
    scored = server.post("/v1/score", json={"rows": records})
    assert scored.status_code == 200
    parsed = ScoreResponse.model_validate(scored.json())
    assert parsed.n_rows == 5
    assert server.post("/v1/score", json=records).json() == scored.json()
    explained = ExplainResponse.model_validate(
        server.post("/v1/explain?top_k=2", json=records).json())
    assert [len(r.contributions) for r in explained.rows] == [2] * 5
    bad = server.post("/v1/score", json=[{**records[0], "amount": "lots"}])
    assert bad.status_code == 422
    error = ErrorResponse.model_validate(bad.json())
    assert error.problems[0].row == 1 and error.problems[0].column == "amount"
    unknown = server.post("/v1/score", json={"rows": records, "extra": 1})
    assert unknown.status_code == 422 and "unknown key 'extra'" in unknown.json()["detail"]
    assert server.post("/v1/score", json=records, headers={}).status_code == 401


def test_a_signed_model_is_refused_with_another_key(served, tmp_path):
    _, _, folder = served
    _, other = write_key_pair(tmp_path / "other.key")
    with pytest.raises(RuntimeError, match="signed by key"):
        Server(folder / "fraud.lwm", "--verify-key", str(other))


def test_docs_render_in_a_browser_without_network(served):
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser")
                    if shutil.which(b)), None)
    if browser is None:
        pytest.skip("chromium is not installed (make test installs Debian's package)")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--virtual-time-budget=15000", "--dump-dom",
         served[0].url + "/docs"], capture_output=True, text=True, timeout=120).stdout
    assert "swagger-ui" in dom
    assert "/v1/score" in dom and "/v1/explain" in dom  # rendered by Swagger UI's script
