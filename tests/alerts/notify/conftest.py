"""A real HTTP receiver on loopback that checks signatures on its own, and notification helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modelsteward.alerts.notify import Notification
from modelsteward.config import StewardConfig

SECRET = "hook-secret-8c1f2e"  # what the tests export as the signing secret; must never be logged


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None  # None: no signature header

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HookServer:
    """Counts requests; fails the first ``fail_first`` with ``fail_status``; verifies HMAC with ``secret``."""

    secret: str | None = None
    fail_first: int = 0
    fail_status: int = 500
    received: list[Received] = field(default_factory=list)
    requests: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def delivered(self) -> list[Received]:
        """Requests answered with success."""
        return self.received

    def verify(self, headers: dict[str, str], body: bytes) -> bool | None:
        header = headers.get("X-Steward-Signature")
        if header is None:
            return None
        parts = dict(p.split("=", 1) for p in header.split(","))
        if self.secret is None or parts.get("t") != headers.get("X-Steward-Timestamp"):
            return False
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))


@pytest.fixture
def hook() -> Iterator[HookServer]:
    state = HookServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items()}
            with lock:
                state.requests += 1
                failing = state.requests <= state.fail_first
                if not failing:
                    state.received.append(Received(self.path, headers, body, state.verify(headers, body)))
            self.send_response(state.fail_status if failing else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def make_notification(kind: str = "firing", *, incident: str = "inc-1", rule: str = "accuracy_drop", model: str = "tickets",
                      severity: str = "high", at: datetime = datetime(2026, 1, 12), **extra: Any) -> Notification:
    labels = {"model": model, "rule": rule, "severity": severity, "owner": extra.pop("owner", "ml-team")}
    labels.update(extra.pop("labels", {}))
    fields: dict[str, Any] = {
        "summary": f"{rule} on {model}", "value": 0.81, "threshold": 0.85,
        "window_start": datetime(2026, 1, 5), "window_end": datetime(2026, 1, 12), "owner": labels["owner"],
        "runbook": f"https://runbooks.example/{rule}", "response_sla": "1h",
    }
    fields.update(extra)
    return Notification(kind=kind, incident_id=incident, fingerprint=f"fp-{incident}", labels=labels,  # type: ignore[arg-type]
                        severity=severity, at=at, **fields)


@pytest.fixture
def notification() -> Callable[..., Notification]:
    return make_notification


def notify_config(receivers: list[dict[str, Any]], route: dict[str, Any], **extra: Any) -> StewardConfig:
    return StewardConfig.model_validate({
        "models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"]}],
        "notifications": {"receivers": receivers, "route": route, **extra},
    })
