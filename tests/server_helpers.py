"""``latentwatch serve`` over real HTTP for the tests: a server in a child process on a free
loopback port, and rows as the JSON records a client sends. (A module of its own, not
conftest.py: the REST tests and the command-line contract tests import it by name.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

import latentwatch

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def json_records(raw: pd.DataFrame) -> list[dict]:
    """Rows as JSON records, gaps as null."""
    return raw.astype(object).where(raw.notna(), None).to_dict(orient="records")


class Server:
    """``latentwatch serve MODEL ARGS`` in a child process, stopped on exit.

    The constructor waits until ``/healthz`` answers; with ``wait=False`` it returns at
    once and :meth:`wait` does (so that several servers start side by side).
    """

    def __init__(self, model: Path, *args: str, wait: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        src = str(Path(latentwatch.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "latentwatch", "serve", str(model), "--port",
             str(self.port), "-q", *args], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        if wait:
            self.wait()

    def wait(self, seconds: float = 120) -> Server:
        """Wait until the server answers ``/healthz``; raise if it exits or never does."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stdout.read().decode())
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the server did not start within {seconds:g} s")

    def post(self, path: str, **kwargs) -> httpx.Response:
        kwargs.setdefault("headers", AUTH)
        return httpx.post(self.url + path, timeout=60, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        kwargs.setdefault("headers", AUTH)
        return httpx.get(self.url + path, timeout=60, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
