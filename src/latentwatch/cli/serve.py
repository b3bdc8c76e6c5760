"""``latentwatch serve``: the REST scoring service (:mod:`latentwatch.server`)."""

from __future__ import annotations

from typing import Annotated

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.errors import fail


def serve(
    model: opt.Model,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on; 127.0.0.1 answers this machine only, 0.0.0.0 "
        "every network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Worker processes, each loading MODEL from its file and "
        "scoring on one thread.")] = 1,
    api_key_file: Annotated[str | None, typer.Option(
        "--api-key-file", show_default="no key",
        help="File holding the API key that requests to /v1/* and /metrics must send "
        "('Authorization: Bearer KEY' or 'X-API-Key: KEY').")] = None,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=1, help="Most rows per request (413 above).")] = 100_000,
    max_bytes: Annotated[int, typer.Option(
        "--max-bytes", min=1, help="Largest request body in bytes (413 above).")
                         ] = 64 * 2**20,
    top_k: Annotated[int, opt.top_k()] = 3,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log warnings only.")] = False,
    verify_key: opt.VerifyKey = None,
    debug: opt.Debug = False,
) -> None:
    """Serve MODEL over HTTP: POST rows (JSON records, CSV or Parquet) to /v1/score and
    get one scored row back per row, the numbers of [bold]latentwatch score[/bold].

    Also POST /v1/explain, GET /v1/model, /healthz, /metrics (Prometheus) and /docs
    (OpenAPI). Bad rows give 422 naming column and row, a body over --max-rows or
    --max-bytes 413, a request without the key of --api-key-file 401. For a time-series
    model, send the rows before a request's rows with them, statelessly, as
    {"rows": [...], "context": [...]} (GET /v1/model says how many: context_rows).

    [bold]Example:[/bold] latentwatch serve fraud.lwm --port 8000 --workers 2
    """
    try:
        import fastapi  # noqa: F401
        import fastapi_offline  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        fail(f"serve needs the serve extra ({exc.name} is not installed): pip install "
             "'latentwatch[serve]'")
    from latentwatch.cli.reading import load_model
    from latentwatch.server import ServeConfig, read_api_key, run

    load_model(model, "cpu", verify_key)  # refused here, in one line, before any worker
    key = read_api_key(api_key_file) if api_key_file is not None else None
    config = ServeConfig(model=str(model), api_key=key, max_rows=max_rows,
                         max_bytes=max_bytes, top_k=top_k,
                         verify_key=None if verify_key is None else str(verify_key))
    run(config, host=host, port=port, workers=workers,
        log_level="warning" if quiet else "info")
