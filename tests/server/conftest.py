"""Fixtures of the service tests: a steward.yaml with review and an alert rule, tokens, and a real server.

``live_server`` runs ``steward serve`` in a subprocess on a free loopback port (the real
uvicorn, the real store file) and stops it at teardown; tests talk to it with httpx.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modelsteward.server.auth import create_token, create_user
from modelsteward.store.duckdb_store import DuckDBStore

LABELS = ["billing", "technical", "account"]


def model_dict() -> dict[str, Any]:
    return {
        "name": "tickets", "task": "multiclass", "labels": list(LABELS),
        "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}],
        "review": {"conditions": [{"kind": "confidence_below", "threshold": 0.7}], "sla": {"high": "1h", "medium": "4h"},
                   "lease": "10m"},
        "alerts": [{"name": "acc", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "severity": "high",
                    "response_sla": "1h"}],
    }


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "steward.yaml"
    path.write_text(yaml.safe_dump({"store": str(tmp_path / "steward.duckdb"), "models": [model_dict()]}), encoding="utf-8")
    return path


@pytest.fixture
def store_path(config_file: Path) -> Path:
    return config_file.parent / "steward.duckdb"


@pytest.fixture
def tokens(store_path: Path) -> dict[str, str]:
    """One token per scope (named after it), plus a reviewer's ``review`` token named ``alice``; the store is closed after."""
    out = {}
    with DuckDBStore(store_path) as store:
        for scope in ("ingest", "read", "review", "admin"):
            out[scope] = create_token(store, name=f"{scope}-bot", scopes=[scope])[1]
        out["alice"] = create_token(store, name="alice", scopes=["review", "read"])[1]
        create_user(store, "carol", "reviewer", "carol's long password")
    return out


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def prediction(i: int, **over: Any) -> dict[str, Any]:
    rec = {"prediction_id": f"p-{i}", "prediction": LABELS[i % 3], "confidence": 0.5 + (i % 5) / 10,
           "features": {"category": ["web", "phone", "mail"][i % 3], "length": float(10 + i)},
           "timestamp": f"2026-03-02T10:{i % 60:02d}:00", "latency_ms": 20.0 + i}
    rec.update(over)
    return rec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


SERVE = "import modelsteward.cli as c; c.main()"


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``start_server(config_file, *extra_args)``: ``steward serve`` in a subprocess, ready to answer."""
    started: list[LiveServer] = []

    def start(config: Path, *extra: str) -> LiveServer:
        port = free_port()
        log_path = tmp_path / f"server-{port}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "-c", str(config), "--port", str(port), *extra],
                                stdout=log_path.open("w"), stderr=subprocess.STDOUT, text=True, env=env)
        server = LiveServer(f"http://127.0.0.1:{port}", proc, log_path)
        started.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log()}")
            try:
                if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer within 60 s:\n{server.log()}")

    yield start
    for s in started:
        s.stop()
