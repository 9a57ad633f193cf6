"""Structured logs of ``steward serve``: a real server in a subprocess, its stdout read line by line.

Every stdout line must be one JSON object; the access log must name who called and carry the
request id; no token, password, session cookie or Authorization header may appear anywhere in
what the process writes (stdout or stderr).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

from modelsteward.server.logs import configure_logging, unconfigure_logging, valid_request_id

from .conftest import SERVE, auth, free_port, prediction

API = "/api/v1/models/tickets"
PASSWORD = "carol's long password"  # the tokens fixture's user carol
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def lines(self) -> list[str]:
        return self.stdout.read_text(encoding="utf-8").splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def everything(self) -> str:
        return self.stdout.read_text(encoding="utf-8") + self.stderr.read_text(encoding="utf-8")

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line being written
                if predicate(record):
                    return record
            time.sleep(0.05)
        raise AssertionError(f"no such log line within {timeout} s:\n{self.everything()}")

    def terminate(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(config, *args, env=...)``: ``steward serve`` with stdout and stderr kept apart (stdout is a file: no TTY)."""
    started: list[Served] = []

    def start(config: Path, *extra: str, env: dict[str, str] | None = None) -> Served:
        port = free_port()
        out, errs = tmp_path / f"stdout-{port}.log", tmp_path / f"stderr-{port}.log"
        environ = {k: v for k, v in os.environ.items() if k != "STEWARD_LOG_FORMAT"}
        environ.update(PYTHONUNBUFFERED="1", **(env or {}))
        with out.open("wb") as o, errs.open("wb") as e:
            proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "-c", str(config), "--port", str(port), *extra],
                                    stdout=o, stderr=e, env=environ)
        served = Served(f"http://127.0.0.1:{port}", proc, out, errs)
        started.append(served)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{served.everything()}")
            try:
                if httpx.get(served.url + "/healthz", timeout=1).status_code == 200:
                    return served
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer within 60 s:\n{served.everything()}")

    yield start
    for s in started:
        if s.process.poll() is None:
            s.process.kill()
            s.process.wait()


def token_ids(store_path: Path) -> dict[str, str]:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        return dict(con.execute("SELECT name, token_id FROM api_tokens").fetchall())
    finally:
        con.close()


def access(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["logger"] == "modelsteward.access"]


def test_every_stdout_line_is_json_with_the_fields_and_no_secret_is_logged(config_file, store_path, tokens, serve):
    ids = token_ids(store_path)  # read before the server holds the store
    server = serve(config_file, "--check-every", "1s")
    client = httpx.Client(base_url=server.url, timeout=30)
    sent: dict[str, httpx.Response] = {}
    sent["ingest"] = client.post(API + "/predictions", json=prediction(1), headers={**auth(tokens["ingest"]), "X-Request-ID": "ingest-1"})
    # a token put in the query string by mistake is redacted, and the header's token is never logged
    sent["read"] = client.get(API + "/metrics", params={"token": tokens["read"], "limit": "5"},
                              headers={**auth(tokens["read"]), "X-Request-ID": "read-1"})
    sent["guess"] = client.get("/api/v1/models", headers={**auth("stw_guessed-token-value"), "X-Request-ID": "guess-1"})
    form = client.get("/login", headers={"X-Request-ID": "form-1"})
    csrf = CSRF_FIELD.search(form.text)
    assert csrf is not None
    sent["login"] = client.post("/login", data={"name": "carol", "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/"},
                                headers={"X-Request-ID": "login-1"})
    assert sent["login"].status_code == 303
    session = client.cookies.get("steward_session")
    assert session
    sent["page"] = client.get("/models/tickets", headers={"X-Request-ID": "page-1"})
    assert [sent[k].status_code for k in ("ingest", "read", "guess", "page")] == [201, 200, 401, 200]
    cycle = server.wait_for(lambda r: r.get("event") == "monitoring_cycle")
    client.close()
    assert server.terminate() in (0, -signal.SIGTERM)

    lines = server.lines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) == len(lines) > 10
    for r in records:
        assert {"ts", "level", "logger", "message"} <= set(r)
        ts = datetime.fromisoformat(r["ts"])
        assert r["ts"].endswith("Z") and ts.utcoffset() is not None and ts.utcoffset().total_seconds() == 0
        assert abs((datetime.now(UTC) - ts).total_seconds()) < 3600
        assert r["level"] in {"debug", "info", "warning", "error", "critical"}
    loggers = {r["logger"] for r in records}
    assert {"modelsteward.server", "modelsteward.access", "uvicorn.error"} <= loggers  # uvicorn's own lines too

    by_id = {r["request_id"]: r for r in access(records)}
    ingest = by_id["ingest-1"]
    assert ingest["message"] == "POST /api/v1/models/tickets/predictions 201"
    assert (ingest["method"], ingest["path"], ingest["route"], ingest["status"]) == (
        "POST", "/api/v1/models/tickets/predictions", "/api/v1/models/{model}/predictions", 201)
    assert ingest["bytes"] == len(sent["ingest"].content)
    assert isinstance(ingest["duration_ms"], float) and ingest["duration_ms"] >= 0
    assert ingest["client"] == "127.0.0.1"
    assert (ingest["user"], ingest["auth"], ingest["token_id"]) == ("ingest-bot", "token", ids["ingest-bot"])
    read = by_id["read-1"]
    assert read["route"] == "/api/v1/models/{model}/metrics" and read["token_id"] == ids["read-bot"]
    assert sorted(read["query"].split("&")) == ["limit=5", "token=***"]
    assert by_id["guess-1"]["status"] == 401 and "user" not in by_id["guess-1"]  # nobody was let in
    assert (by_id["page-1"]["user"], by_id["page-1"]["auth"], by_id["page-1"]["route"]) == ("carol", "session", "/models/{model}")
    assert by_id["login-1"]["status"] == 303
    for name, response in sent.items():
        assert response.headers["x-request-id"] == f"{name}-1", name

    assert cycle["models"] == ["tickets"] and cycle["status"] == "ok"
    assert {"windows", "alerts_fired", "duration_ms"} <= set(cycle)
    started = [r for r in records if r.get("event") == "startup"]
    assert len(started) == 1 and started[0]["models"] == ["tickets"] and started[0]["check_every_s"] == 1.0
    [shutdown] = [r for r in records if r.get("event") == "shutdown"]
    # every request it answered was counted, and none was left unfinished
    assert shutdown["requests_served"] == len(access(records)) and shutdown["requests_unfinished"] == 0

    everything = server.everything()
    for secret in [*tokens.values(), "stw_guessed-token-value", PASSWORD, session, csrf.group(1)]:
        assert secret not in everything
    assert "Bearer" not in everything and "authorization" not in everything.lower()
    assert "steward_session" not in everything


def test_request_ids_round_trip_and_unsafe_ones_are_replaced(config_file, tokens, serve):
    server = serve(config_file, "--dev")  # dev mode's warning is a JSON line too
    with httpx.Client(base_url=server.url) as client:
        refused = client.get("/api/v1/models/nope/alerts")  # an error answer, JSON
        page = client.get("/login")  # a page sets its own security headers
        kept = client.get("/healthz", headers={"X-Request-ID": "trace.4bf92f35-77b3:1_a"})
        assert kept.headers["x-request-id"] == "trace.4bf92f35-77b3:1_a"
        unsafe = ["a b", "x" * 65, "<script>", "id\u00e9".encode(), "a/b", ""]
        answers = [client.get("/healthz", headers={"X-Request-ID": value}) for value in unsafe]
        fresh = [client.get("/healthz") for _ in range(3)]
    for answer in (kept, refused, page, *answers):  # no browser may sniff any answer as something else
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
    made = [a.headers["x-request-id"] for a in answers + fresh]
    assert all(valid_request_id(m) for m in made)
    assert not set(made) & set(unsafe)
    assert len(set(made)) == len(made)  # each request its own
    assert server.terminate() in (0, -signal.SIGTERM)
    logged = [r["request_id"] for r in access(server.records())][-(1 + len(made)):]  # after the start-up polls
    assert logged == ["trace.4bf92f35-77b3:1_a", *made]  # the same ids the client saw, in order
    assert [r["level"] for r in server.records() if r.get("event") == "dev_mode"] == ["warning"]
    stdout = server.stdout.read_text(encoding="utf-8")
    assert "<script>" not in stdout and "x" * 65 not in stdout  # a refused id is not written either


def test_text_format_on_request(config_file, serve):
    server = serve(config_file, env={"STEWARD_LOG_FORMAT": "text"})
    httpx.get(server.url + "/healthz", headers={"X-Request-ID": "text-1"})
    assert server.terminate() in (0, -signal.SIGTERM)
    lines = server.lines()
    assert lines and not any(line.startswith("{") for line in lines)
    line = next(line for line in lines if "request_id=text-1" in line)
    assert "modelsteward.access  GET /healthz 200" in line and "status=200" in line
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO ", line)


def test_an_unexpected_error_is_logged_with_its_request_id(tmp_path):
    """In process: a route that fails; the 500 answer, its error line and its access line share the request id."""
    from modelsteward.config import StewardConfig
    from modelsteward.server.app import create_app

    cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["a", "b"], "features": []}]})
    app = create_app(cfg, store=":memory:", dev=True)

    def boom() -> None:
        raise RuntimeError("something broke")

    app.add_api_route("/boom", boom)
    stream = io.StringIO()
    handler = configure_logging("json", "info", stream=stream)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/boom", headers={"X-Request-ID": "boom-1"})
            other = client.get("/healthz")
    finally:
        unconfigure_logging(handler)
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal_error"
    assert answer.headers["x-request-id"] == "boom-1"  # the request log wraps even the server-error layer
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [r for r in records if r["level"] == "error" and r["logger"] == "modelsteward.server"]
    assert len(errors) == 1 and errors[0]["request_id"] == "boom-1" and "RuntimeError" in errors[0]["exception"]
    [line] = [r for r in access(records) if r["path"] == "/boom"]
    assert (line["status"], line["level"], line["request_id"], line["route"]) == (500, "error", "boom-1", "/boom")
    healthz = [r for r in access(records) if r["path"] == "/healthz"]
    assert healthz[0]["request_id"] == other.headers["x-request-id"] != "boom-1"


def test_sigterm_during_a_write_finishes_it_and_logs_the_shutdown(config_file, store_path, tokens, serve):
    """The body is sent in two halves with the signal in between, so the request is surely in flight when it comes."""
    server = serve(config_file)
    body = json.dumps({"records": [prediction(i) for i in range(2000)]}).encode()
    half = len(body) // 2
    signalled = threading.Event()
    result: dict[str, Any] = {}

    def chunks() -> Iterator[bytes]:
        yield body[:half]
        signalled.wait(60)
        yield body[half:]

    def post() -> None:
        result["answer"] = httpx.post(server.url + API + "/predictions:batch", content=chunks(), timeout=120,
                                      headers={**auth(tokens["ingest"]), "Content-Type": "application/json",
                                               "Content-Length": str(len(body)), "X-Request-ID": "in-flight"})

    sender = threading.Thread(target=post)
    sender.start()
    server.wait_for(lambda r: r.get("message") == "Application startup complete.")
    time.sleep(0.5)  # the first half reaches the server
    server.process.send_signal(signal.SIGTERM)
    server.wait_for(lambda r: r.get("message") == "Shutting down")
    with pytest.raises(httpx.TransportError):  # no new connection is taken while shutting down
        httpx.get(server.url + "/healthz", timeout=5)
    signalled.set()
    sender.join(timeout=120)
    assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    answer = result["answer"]
    assert answer.status_code == 201 and answer.json()["inserted"] == 2000
    records = server.records()
    order = [r.get("event") or r["message"] for r in records]
    write = next(i for i, r in enumerate(records) if r.get("request_id") == "in-flight" and r["logger"] == "modelsteward.access")
    assert records[write]["status"] == 201
    assert order.index("Shutting down") < write  # answered after the signal: it was in flight
    assert write < order.index("shutdown") < order.index(f"Finished server process [{server.process.pid}]")
    [shutdown] = [r for r in records if r.get("event") == "shutdown"]
    assert shutdown["requests_unfinished"] == 0
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM predictions__tickets").fetchall() == [(2000,)]
    finally:
        con.close()


def test_a_request_cancelled_before_its_answer_is_logged_as_unanswered():
    """Straight through the middleware: a handler cancelled before answering (shutdown's grace period ran out)."""
    import asyncio

    from modelsteward.server.logs import RequestLog

    async def stuck(scope, receive, send):
        raise asyncio.CancelledError

    async def nothing(message=None):
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/slow", "query_string": b"", "client": ("10.0.0.9", 4000),
             "headers": [(b"x-request-id", b"slow-1"), (b"authorization", b"Bearer stw_secret")]}
    stream = io.StringIO()
    handler = configure_logging("json", "info", stream=stream)
    middleware = RequestLog(stuck)
    try:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(middleware(scope, nothing, nothing))
    finally:
        unconfigure_logging(handler)
    [line] = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert (line["message"], line["level"], line["status"], line["request_id"], line["client"]) == (
        "POST /slow unanswered", "warning", None, "slow-1", "10.0.0.9")
    assert (middleware.in_flight, middleware.served) == (0, 1)
    assert "stw_secret" not in stream.getvalue()
