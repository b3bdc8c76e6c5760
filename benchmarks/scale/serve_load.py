"""Load test of ``latentwatch serve``, on loopback only, bounded in requests and time.

Fits a VAE on ``--train-rows`` transactions (``latentwatch.demos.datasets``), starts
``latentwatch serve`` on a free 127.0.0.1 port with 1 and then 2 workers, and measures:
latency (p50, p99) of ``--requests`` sequential 1-row and 1,000-row JSON requests, and
rows/s at saturation (``--clients`` concurrent clients sending 1,000-row requests for
``--seconds`` seconds). Prints a table.

    python -m benchmarks.scale.serve_load --requests 200 --seconds 15 --clients 4
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.harness import BenchmarkParser, new_parser
from latentwatch import VAEDetector
from latentwatch.demos.datasets import make_transactions


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(model: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = _port()
    process = subprocess.Popen([sys.executable, "-m", "latentwatch", "serve", str(model),
                                "--port", str(port), "--workers", str(workers), "-q"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("server did not start")


def latency(url: str, body: bytes, n: int, seconds: float) -> np.ndarray:
    """Seconds per request of up to ``n`` sequential requests (at most ``seconds``)."""
    times = []
    end = time.monotonic() + seconds
    with httpx.Client(timeout=60) as client:
        for _ in range(n):
            start = time.perf_counter()
            response = client.post(url + "/v1/score", content=body,
                                   headers={"Content-Type": "application/json"})
            times.append(time.perf_counter() - start)
            response.raise_for_status()
            if time.monotonic() > end:
                break
    return np.array(times)


def saturation(url: str, body: bytes, rows: int, clients: int, seconds: float) -> float:
    """Rows scored per second by ``clients`` concurrent clients for ``seconds``."""
    done = [0] * clients
    end = time.monotonic() + seconds

    def client(i: int) -> None:
        with httpx.Client(timeout=60) as session:
            while time.monotonic() < end:
                session.post(url + "/v1/score", content=body,
                             headers={"Content-Type": "application/json"}).raise_for_status()
                done[i] += rows

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start)


def build_parser() -> BenchmarkParser:
    """Command line options."""
    p = new_parser("benchmarks.scale.serve_load", __doc__)
    p.add_argument("--train-rows", type=int, default=20_000)
    p.add_argument("--requests", type=int, default=200, help="sequential requests per size")
    p.add_argument("--seconds", type=float, default=15.0, help="time bound of each phase")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients at saturation")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    frame, _ = make_transactions(args.train_rows, seed=0)
    folder = Path(tempfile.mkdtemp(prefix="lw-serve-load-"))
    model = VAEDetector(max_epochs=5, random_state=0,
                        schema={"id_columns": ["transaction_id"]}).fit(frame)
    model.save(folder / "model.lwm")
    rows, _ = make_transactions(1000, seed=1)
    records = json.loads(rows.to_json(orient="records", date_format="iso"))
    one, thousand = json.dumps(records[:1]).encode(), json.dumps(records).encode()
    print(f"model: VAE on {args.train_rows:,} transactions; cpu cores {os.cpu_count()}; "
          f"{args.clients} clients at saturation")
    print("| workers | 1-row p50 ms | 1-row p99 ms | 1,000-row p50 ms | 1,000-row p99 ms "
          "| rows/s at saturation |")
    print("|---|---|---|---|---|---|")
    for workers in args.workers:
        process, url = start(folder / "model.lwm", workers)
        try:
            latency(url, one, 5, 5)  # warm up
            small = latency(url, one, args.requests, args.seconds) * 1000
            large = latency(url, thousand, max(10, args.requests // 10), args.seconds) * 1000
            rate = saturation(url, thousand, 1000, args.clients, args.seconds)
        finally:
            process.terminate()
            process.wait(30)
        print(f"| {workers} | {np.percentile(small, 50):.1f} | {np.percentile(small, 99):.1f} "
              f"| {np.percentile(large, 50):.0f} | {np.percentile(large, 99):.0f} "
              f"| {rate:,.0f} |")


if __name__ == "__main__":
    main()
