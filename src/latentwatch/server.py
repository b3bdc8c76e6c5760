"""The REST scoring service behind ``latentwatch serve``: FastAPI on uvicorn, on the one
scoring path (:func:`latentwatch.service.score_table`).

=====================  =================================================================
``POST /v1/score``     rows in (JSON records, CSV or Parquet by ``Content-Type``), one
                       scored row out per row in, in order: the id columns, ``score``,
                       ``is_anomaly``, ``p_value`` (calibrated models), ``top1``,
                       ``top1_nats``, ... (the columns of ``latentwatch score``)
``POST /v1/explain``   the largest contributions of each row, observed and expected
``GET /v1/model``      schema, threshold and what it means, ``window`` and
                       ``context_rows`` (time-series models), versions
``GET /healthz``       ``{"status": "ok"}`` once the model is loaded
``GET /metrics``       Prometheus text: requests, rows scored, latency, errors
``GET /docs``          the OpenAPI documentation (``/openapi.json``), served offline:
                       Swagger UI's files come from the ``fastapi-offline`` package
=====================  =================================================================

Rows that cannot be scored give 422 with the one-line message of ``latentwatch score``
and a list of the bad rows (``?keep_bad_rows=true``: 200, an empty score and a reason);
a body over ``max_rows`` rows or ``max_bytes`` bytes gives 413; with an API key, a
request to ``/v1/*`` or ``/metrics`` without it (``Authorization: Bearer KEY`` or
``X-API-Key: KEY``, compared in constant time) gives 401. Every worker loads the model
from its file (safetensors + JSON); torch runs one thread per worker (scale with
workers). With several workers, metrics are summed over them through
``prometheus_client``'s multiprocess mode (a temporary folder the parent creates).

A time-series model scores each row on the window of its last ``W`` steps, so the rows
before a request matter. The server keeps no state (it works the same with several
workers): the client sends them, as the JSON body ``{"rows": [...], "context": [...]}``
where ``context`` holds the rows that came before ``rows`` in the series (at least
``context_rows = W - 1`` usable ones, as ``GET /v1/model`` says; more are fine, unusable
ones are skipped). The scores of ``rows`` are then those ``latentwatch score`` gives the
same rows in the whole file. With fewer (or none, or a CSV or Parquet body) the first rows
are scored as the start of a series, as ``latentwatch score`` scores a file's first rows:
the response says ``"series_start": true`` with a warning. A table model refuses a
non-empty ``context`` (422). A time-series model's score response also lists its
``events``: the runs of consecutive flagged rows of ``rows``, each with its start, end,
peak and the channels behind it (:class:`latentwatch.series.Event`); a run that goes on
into the next request is listed in both.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from latentwatch import server_schema as bodies
from latentwatch.errors import DataError
from latentwatch.explain import json_value
from latentwatch.model_input import ModelColumns
from latentwatch.service import ScoredTable, context_rows, score_table, series_events, warm

ENV = "LATENTWATCH_SERVE_CONFIG"
SOURCE = "<request>"
JSON_TYPES = ("application/json",)
CSV_TYPES = {"text/csv": ".csv", "application/csv": ".csv", "text/tab-separated-values": ".tsv"}
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet",
                 "application/parquet")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0)


@dataclass(frozen=True)
class ServeConfig:
    """What a worker needs to serve a model.

    Attributes
    ----------
    model : str
        The model file.
    api_key : str or None
        Requests to ``/v1/*`` and ``/metrics`` must carry it (None: no key).
    max_rows, max_bytes : int
        Largest request body, in rows and in bytes (413 above).
    top_k : int
        Default number of contributing columns per row.
    verify_key : str or None
        A public key file: every worker refuses the model unless it is signed by the
        private key (:mod:`latentwatch.signing`).
    """

    model: str
    api_key: str | None = None
    max_rows: int = 100_000
    max_bytes: int = 64 * 2**20
    top_k: int = 3
    verify_key: str | None = None

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeConfig:
        return cls(**json.loads(os.environ[ENV]))


def read_api_key(path: str | Path) -> str:
    """The key in ``path`` (surrounding whitespace removed); refuses an empty file."""
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the API key file ({exc})") from exc
    if not key:
        raise DataError(f"{path}: the API key file is empty; write the key in it")
    return key


class RequestError(Exception):
    """A request the service refuses: HTTP ``status``, a one-line ``detail``, and the bad
    rows (``problems``) when there are some."""

    def __init__(self, status: int, detail: str, problems: list[dict] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a scored table as JSON-safe dicts, in order."""
    columns = {c: _json_column(table[c]) for c in table.columns}
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(),
                                                                      strict=True)]


def _json_column(column: pd.Series) -> list[Any]:
    """:func:`json_value` of every entry; a float column in one pass (NaN -> None)."""
    if column.dtype.kind == "f":
        return [None if v != v else v for v in column.to_numpy().tolist()]
    return [json_value(v) for v in column.to_numpy(dtype=object)]


def _as_text(value: Any) -> Any:
    """A JSON value of a text column as ``latentwatch score`` reads it from a CSV file:
    missing stays missing, anything else becomes its text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


@dataclass
class RequestRows:
    """The rows of one request as the model reads them, and the rows before them."""

    reader: ModelColumns
    frame: pd.DataFrame
    context: pd.DataFrame | None


class Scorer:
    """A loaded model and the reading of request bodies as ``latentwatch score`` reads
    files: the model's columns, text-labelled columns as text, the id columns asked for
    (or the model's that the rows have)."""

    def __init__(self, config: ServeConfig) -> None:
        from latentwatch.detector import load
        from latentwatch.persistence import read_metadata

        self.config = config
        self.model = load(config.model, device="cpu", verify_key=config.verify_key)
        self.meta = read_metadata(config.model)
        warm(self.model)

    def frame(self, body: bytes, content_type: str, ids: list[str] | None) -> RequestRows:
        """The request's rows (and context rows) with the model's columns."""

        reader = ModelColumns(self.model, SOURCE, ids=ids or None)
        kind = content_type.split(";")[0].strip().lower()
        context = None
        try:
            if kind in JSON_TYPES or kind == "":
                rows, listed = self._json_body(body)
                raw = self._json_frame(rows, reader, "rows")
                if listed:
                    context = self._context(listed)
            elif kind in CSV_TYPES or kind in PARQUET_TYPES:
                raw = self._file_frame(body, CSV_TYPES.get(kind, ".parquet"), reader)
            else:
                raise RequestError(415, f"{SOURCE}: content type {kind!r} is not one of "
                                        "application/json, text/csv, "
                                        "application/vnd.apache.parquet")
            self._check_count(len(raw), "rows")
            if len(raw) == 0:
                raise RequestError(422, f"{SOURCE}: no data rows")
            return RequestRows(reader, reader.apply(raw), context)
        except DataError as exc:
            raise RequestError(422, str(exc)) from exc

    def _check_count(self, n: int, what: str) -> None:
        if n > self.config.max_rows:
            raise RequestError(413, f"{SOURCE}: {n:,} {what} is over the limit of "
                                    f"{self.config.max_rows:,} {what} per request; split it")

    def _json_body(self, body: bytes) -> tuple[list, list | None]:
        """``(rows, context)`` of a JSON body: a list of records, or ``{"rows": [...],
        "context": [...]}``."""
        try:
            data = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError(400, f"{SOURCE}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            return data, None
        unknown = [key for key in data if key not in ("rows", "context")]
        if unknown:
            raise RequestError(422, f"{SOURCE}: unknown key {unknown[0]!r} in the JSON body; "
                                    "it holds \"rows\" and, for a time-series model, "
                                    "\"context\"")
        context = data.get("context")
        if context is not None and not isinstance(context, list):
            raise RequestError(422, f"{SOURCE}: \"context\" must be a JSON list of records "
                                    "(the rows before \"rows\" in the series)")
        return data.get("rows"), context

    def _context(self, listed: list) -> pd.DataFrame:
        """The context rows with the model's columns; a table model refuses them."""

        if context_rows(self.model) is None:
            raise RequestError(422, f"{SOURCE}: \"context\" is for a time-series model; this "
                                    "table model scores each row alone: send the rows "
                                    "without it")
        self._check_count(len(listed), "context rows")
        reader = ModelColumns(self.model, f"{SOURCE} context", ids=[])
        return reader.apply(self._json_frame(listed, reader, "context"))

    def _json_frame(self, rows: Any, reader: ModelColumns, key: str) -> pd.DataFrame:
        if not isinstance(rows, list):
            raise RequestError(422, f"{SOURCE}: expected a JSON list of records, or "
                                    "{\"rows\": [...], \"context\": [...]}")
        self._check_count(len(rows), "rows" if key == "rows" else "context rows")
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                where = "row" if key == "rows" else "context row"
                raise RequestError(422, f"{SOURCE}: {where} {position + 1} is not a JSON "
                                        "object of column: value")
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
        for column in reader.text_columns():
            if column in frame.columns:
                frame[column] = frame[column].map(_as_text).astype(object)
        return frame

    def _file_frame(self, body: bytes, suffix: str, reader: ModelColumns) -> pd.DataFrame:
        from latentwatch.data.io import read_table

        if not body:
            raise RequestError(422, f"{SOURCE}: empty body")
        with tempfile.TemporaryDirectory(prefix="latentwatch-serve-") as folder:
            path = os.path.join(folder, "body" + suffix)
            with open(path, "wb") as handle:
                handle.write(body)
            try:
                return read_table(path, text_columns=reader.text_columns())
            except DataError as exc:
                raise DataError(str(exc).replace(path, SOURCE)) from exc

    def score(self, body: bytes, content_type: str, ids: list[str] | None, top_k: int,
              keep_bad_rows: bool) -> dict[str, Any]:
        asked = self.frame(body, content_type, ids)
        scored = self._scored(asked, top_k=top_k)
        self._refuse_problems(scored, asked.reader, keep_bad_rows)
        table = scored.table if keep_bad_rows else scored.table.drop(columns="reason")
        offset = self.model.offset_
        return {"n_rows": len(table),
                "n_anomalies": int(table["is_anomaly"].fillna(False).sum()),
                "threshold": None if offset is None else -offset,
                **self._series(scored),
                **self._events(scored, asked.frame),
                "rows": records(table)}

    def _events(self, scored: ScoredTable, frame) -> dict[str, Any]:
        """A time-series model's ``events``: the runs of flagged rows of this request
        (``start``/``end``/``peak`` are row positions in ``rows``, from 0)."""
        if context_rows(self.model) is None:
            return {}
        return {"events": [e.to_dict() for e in series_events(self.model, scored, frame)]}

    def _scored(self, asked: RequestRows, **options) -> ScoredTable:

        try:
            return score_table(self.model, asked.frame, id_columns=asked.reader.ids,
                               source=SOURCE, context=asked.context, **options)
        except DataError as exc:
            raise RequestError(422, str(exc)) from exc

    def _series(self, scored: ScoredTable) -> dict[str, Any]:
        """A time-series model's ``series_start`` and, when true, a warning saying why."""

        rows = context_rows(self.model)
        if rows is None:
            return {}
        warnings = []
        if scored.series_start:
            warnings.append(f"fewer than {rows} usable context rows: the first rows were "
                            "scored as the start of a series; send the rows before them as "
                            "\"context\" to get the scores of latentwatch score on the whole "
                            "series")
        return {"series_start": scored.series_start, "warnings": warnings}

    def _refuse_problems(self, scored, reader, keep_bad_rows: bool) -> None:
        from latentwatch.data.codec import describe_problems

        if not scored.problems or keep_bad_rows:
            return
        back = reader.plan.back() if reader.plan is not None else {}
        listed = [{"row": p.position + 1, "column": back.get(p.column, p.column),
                   "value": json_value(p.value), "message": p.message} for p in scored.problems]
        for problem in scored.problems:
            problem.column = back.get(problem.column, problem.column)
        raise RequestError(422, f"{SOURCE}: {describe_problems(scored.problems)}; fix them "
                                "or pass keep_bad_rows=true to give them an empty score",
                           listed)

    def explain(self, body: bytes, content_type: str, ids: list[str] | None,
                top_k: int) -> dict[str, Any]:
        from latentwatch.explain import explain_encoded

        asked = self.frame(body, content_type, ids)
        scored = self._scored(asked, top_k=0, keep_shown=True)
        self._refuse_problems(scored, asked.reader, False)
        explanations = explain_encoded(self.model, scored.encoded, top_k=top_k,
                                       scores=(scored.scores, scored.parts))
        verdict = self.model.offset_ is not None
        frame, ids = asked.frame, asked.reader.ids
        rows = [{**{c: json_value(frame[c].iat[item.row]) for c in ids},
                 **item.to_dict(verdict)} for item in explanations]
        return {"n_rows": len(rows), **self._series(scored), "rows": rows}

    def describe(self) -> dict[str, Any]:
        import fastapi
        import torch

        from latentwatch import __version__
        from latentwatch.thresholds import describe_threshold

        model = self.model
        offset = model.offset_
        rows = context_rows(model)
        return {
            "file": Path(self.config.model).name,
            "class": type(model).__name__,
            "network": self.meta["model"]["name"],
            "columns": list(model.codec_.sources),
            "id_columns": list(model.schema_.id_columns),
            "schema": json.loads(model.schema_.to_json()),
            "threshold": None if offset is None else -offset,
            "threshold_rule": ("no threshold yet" if offset is None
                               else f"a row with score > {-offset:.6g} is an anomaly"),
            "threshold_meaning": describe_threshold(model),
            "calibrated": model.calibration_scores_ is not None,
            "window": model.window_,
            "context_rows": 0 if rows is None else rows,
            "limits": {"max_rows": self.config.max_rows, "max_bytes": self.config.max_bytes},
            "versions": {"model_file_format": self.meta["format_version"],
                         "fitted_with_latentwatch": self.meta["latentwatch_version"],
                         "latentwatch": __version__, "torch": torch.__version__,
                         "fastapi": fastapi.__version__},
        }


class Metrics:
    """The Prometheus metrics of one worker (summed over workers in multiprocess mode)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        registry = None if self.multiprocess else CollectorRegistry()
        self.registry = registry
        self.requests = Counter("latentwatch_requests", "HTTP requests served.",
                                ["endpoint", "status"], registry=registry)
        self.errors = Counter("latentwatch_errors", "Requests answered with a 4xx or 5xx "
                              "status.", ["endpoint", "status"], registry=registry)
        self.rows = Counter("latentwatch_rows_scored", "Rows scored (score and explain).",
                            registry=registry)
        self.latency = Histogram("latentwatch_request_seconds", "Time to answer a request.",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        if status >= 400:
            self.errors.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST


def create_app(config: ServeConfig):
    """The FastAPI application serving ``config.model``.

    Examples
    --------
    >>> from latentwatch.server import ServeConfig, create_app  # doctest: +SKIP
    >>> app = create_app(ServeConfig("fraud.lwm"))  # doctest: +SKIP
    """
    import torch

    from latentwatch import __version__

    torch.set_num_threads(1)
    scorer = Scorer(config)
    metrics = Metrics()
    app = _application(title="latentwatch", version=__version__,
                       description=f"Anomaly scores of {Path(config.model).name}: POST rows "
                                   "to /v1/score (JSON records, CSV or Parquet).")
    key = config.api_key.encode("utf-8") if config.api_key else None

    def authorised(request: Request) -> bool:
        if key is None:
            return True
        given = request.headers.get("x-api-key")
        header = request.headers.get("authorization", "")
        if given is None and header[:7].lower() == "bearer ":
            given = header[7:].strip()
        return hmac.compare_digest((given or "").encode("utf-8"), key)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.perf_counter()
        path = request.url.path
        endpoint = path if path in ENDPOINTS else "other"
        if (path.startswith("/v1/") or path == "/metrics") and not authorised(request):
            response = JSONResponse({"detail": "missing or wrong API key: send "
                                               "'Authorization: Bearer KEY' or 'X-API-Key: KEY'"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        else:
            response = await call_next(request)
        metrics.observe(endpoint, response.status_code, time.perf_counter() - started)
        return response

    async def body_of(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > config.max_bytes:
            raise RequestError(413, f"{SOURCE}: a body of {int(length):,} bytes is over the "
                                    f"limit of {config.max_bytes:,} bytes; split it")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_bytes:
                raise RequestError(413, f"{SOURCE}: the body is over the limit of "
                                        f"{config.max_bytes:,} bytes; split it")
            chunks.append(chunk)
        return b"".join(chunks)

    async def answer(request: Request, work, *args) -> Response:
        try:
            body = await body_of(request)
            result = await run_in_threadpool(
                work, body, request.headers.get("content-type", ""), *args)
        except RequestError as exc:
            return JSONResponse({"detail": exc.detail, "problems": exc.problems},
                                status_code=exc.status)
        metrics.rows.inc(result["n_rows"])
        return JSONResponse(result)

    @app.post("/v1/score", summary="Score rows (JSON records, CSV or Parquet)",
              openapi_extra={"requestBody": bodies.request_body("score")},
              responses=bodies.responses("ScoreResponse"))
    async def score(request: Request,
                    id: list[str] | None = Query(None, description="Id column to copy "  # noqa: B008
                                                 "(repeatable; default: the model's)"),
                    top_k: int = Query(config.top_k, ge=0, le=1000),
                    keep_bad_rows: bool = Query(False)) -> Response:
        """One output row per input row, in order: the id columns, score, is_anomaly,
        p_value (calibrated models), top1, top1_nats, ... as ``latentwatch score``."""
        return await answer(request, scorer.score, id, top_k, keep_bad_rows)

    @app.post("/v1/explain", summary="Explain rows: the columns behind their scores",
              openapi_extra={"requestBody": bodies.request_body("explain")},
              responses=bodies.responses("ExplainResponse"))
    async def explain(request: Request,
                      id: list[str] | None = Query(None),  # noqa: B008
                      top_k: int = Query(5, ge=1, le=1000)) -> Response:
        """Per row: score, verdict and the largest contributions with the value observed
        and the value the model expected."""
        return await answer(request, scorer.explain, id, top_k)

    described = scorer.describe()

    @app.get("/v1/model", summary="The model: schema, threshold, versions")
    def model() -> dict[str, Any]:
        return described

    @app.get("/healthz", summary="Liveness: the model is loaded")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "model": described["file"]}

    @app.get("/metrics", summary="Prometheus metrics")
    def metrics_text() -> Response:
        text, kind = metrics.text()
        return Response(text, media_type=kind)

    return app


def _application(**options: Any) -> FastAPI:
    """A FastAPI application whose ``/docs`` needs no network (Swagger UI's files from
    the ``fastapi-offline`` package, under ``/static-offline-docs``) and whose OpenAPI
    document describes the request and response bodies
    (:mod:`latentwatch.server_schema`)."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError as exc:
        raise ImportError("serve needs the serve extra (fastapi-offline is not installed): "
                          "pip install 'latentwatch[serve]'") from exc
    app = FastAPIOffline(**options)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                bodies.component_schemas())
        return app.openapi_schema

    app.openapi = openapi
    return app


ENDPOINTS = ("/v1/score", "/v1/explain", "/v1/model", "/healthz", "/metrics", "/docs",
             "/openapi.json")


def app_from_env():
    """The application of a uvicorn worker, from the configuration its parent put in the
    environment (``LATENTWATCH_SERVE_CONFIG``)."""
    return create_app(ServeConfig.from_env())


def run(config: ServeConfig, *, host: str = "127.0.0.1", port: int = 8000,
        workers: int = 1, log_level: str = "info") -> None:
    """Serve ``config.model`` with uvicorn until interrupted."""
    import shutil

    import uvicorn

    os.environ[ENV] = config.to_env()
    folder = None
    if workers > 1:
        folder = tempfile.mkdtemp(prefix="latentwatch-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        uvicorn.run("latentwatch.server:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


__all__ = ["ServeConfig", "app_from_env", "create_app", "read_api_key", "run"]
