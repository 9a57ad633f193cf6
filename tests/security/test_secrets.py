"""No token, password or receiver secret appears where others can read it: the server's output
(stdout and stderr of a real ``steward serve``), error answers, the OpenAPI schema, or the CLI's
output (``token list``, ``validate``, ``notify log``, ``notify test``)."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from server.conftest import LiveServer, model_dict, start_server  # noqa: F401 - the fixture, used by name

from modelsteward.server.auth import create_token, create_user, revoke_token
from modelsteward.store.duckdb_store import DuckDBStore

from .sinks import smtp_sink

PASSWORD = "carol-password-Zq7!secret"
ENV_SECRETS = {
    "HOOK_KEY": "hookkey-8f2a1c0d9e",
    "HOOK_SECRET": "hmac-secret-77c1f0a9",
    "SLACK_A": "TSECRETA1",
    "SLACK_B": "BSECRETB2",
    "SLACK_C": "slacksecretc3xyz",
    "SMTP_PASSWORD": "smtp-pass-4e9d0b7a",
}
HAND_WRITTEN = "handwritten-pw-5c3e"


def _config(folder: Path, smtp_port: int, hook_port: int) -> Path:
    cfg: dict[str, Any] = {
        "store": str(folder / "steward.duckdb"), "models": [model_dict()],
        "notifications": {
            "receivers": [
                {"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{hook_port}/hook?key=${{HOOK_KEY}}",
                 "secret_env": "HOOK_SECRET",
                 "timeout": 2},
                {"name": "slack", "type": "apprise", "url": "slack://${SLACK_A}/${SLACK_B}/${SLACK_C}"},
                {"name": "mail", "type": "apprise",
                 "url": f"mailto://bob:${{SMTP_PASSWORD}}@127.0.0.1:{smtp_port}?from=s@example.com&to=o@example.com&mode=insecure"},
                {"name": "hand", "type": "webhook", "url": f"http://ops:{HAND_WRITTEN}@127.0.0.1:9/x", "timeout": 2},
            ],
            "route": {"receiver": "hook", "group_wait": 0, "routes": [
                {"receiver": "slack", "continue": True}, {"receiver": "mail", "continue": True}, {"receiver": "hand", "continue": True},
                {"receiver": "hook"}]},
            "retry": {"max_attempts": 1},
        },
    }
    path = folder / "steward.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that answers 500 (so the failure, with its URL, gets logged and stored)."""

    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV_SECRETS}
    return subprocess.run([sys.executable, "-c", "import modelsteward.cli as c; c.main()", *args, "-c", str(config)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_no_secret_reaches_logs_answers_schema_or_cli(tmp_path: Path, start_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    for k, v in ENV_SECRETS.items():
        monkeypatch.setenv(k, v)  # the server subprocess inherits them
    hook = http.server.HTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with smtp_sink() as (smtp_port, _mail):
        config = _config(tmp_path, smtp_port, hook.server_port)
        with DuckDBStore(tmp_path / "steward.duckdb") as store:
            ingest = create_token(store, name="ingest-bot", scopes=["ingest"])[1]
            reader = create_token(store, name="reader", scopes=["read"])[1]
            gone_tok, gone = create_token(store, name="gone", scopes=["admin"])
            revoke_token(store, gone_tok.token_id)
            create_user(store, "carol", "admin", PASSWORD)
        tokens = [ingest, reader, gone]
        secrets = tokens + [PASSWORD, HAND_WRITTEN, *ENV_SECRETS.values()]
        server: LiveServer = start_server(config, "--check-every", "1s", "--log-level", "debug")
        answers: list[str] = []
        with httpx.Client(base_url=server.url, timeout=30) as web:
            t0 = datetime.now().replace(microsecond=0) - timedelta(days=10)
            records = [{"prediction_id": f"p{i}", "prediction": "billing", "confidence": 0.9,
                        "features": {"category": "web", "length": 1.0},
                        "timestamp": (t0 + timedelta(minutes=i)).isoformat()} for i in range(60)]
            r = web.post("/api/v1/models/tickets/predictions:batch", json={"records": records},
                         headers={"Authorization": f"Bearer {ingest}"})
            assert r.status_code == 201, r.text
            fb = [{"prediction_id": f"p{i}", "kind": "explicit", "label": "technical",
                   "timestamp": (t0 + timedelta(minutes=i + 1)).isoformat()} for i in range(60)]
            assert web.post("/api/v1/models/tickets/feedback:batch", json={"records": fb},
                             headers={"Authorization": f"Bearer {ingest}"}).status_code == 201
            # Refused and odd requests: each carries a secret somewhere a careless log would print it.
            for headers, path in [({"Authorization": f"Bearer {gone}"}, "/api/v1/models"),
                                  ({"Authorization": f"Bearer {reader}"}, "/api/v1/models/tickets/predictions"),
                                  ({"Authorization": f"Bearer {ingest}"}, "/api/v1/models"),
                                  ({"Authorization": f"Bearer {reader}x"}, "/api/v1/models"),
                                  ({"Authorization": f"Token {reader}"}, "/metrics"),
                                  ({"Authorization": f"Bearer {reader}"}, "/metrics"),
                                  ({"Authorization": f"Bearer {reader}"}, "/api/v1/models/nope/metrics"),
                                  ({}, f"/api/v1/models?access_token={reader}&api_key={ingest}"),
                                  ({}, f"/login?password={PASSWORD}")]:
                answers.append(web.get(path, headers=headers).text)
            answers.append(web.post("/api/v1/models/tickets/predictions", content=b'{"prediction_id": ',
                                     headers={"Authorization": f"Bearer {ingest}", "Content-Type": "application/json"}).text)
            page = web.get("/login")
            form = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert form
            for password in (PASSWORD + "-wrong", PASSWORD):
                answers.append(web.post("/login", data={"name": "carol", "password": password, "csrf_token": form.group(1),
                                                         "next": "/"}).text)
                page = web.get("/login")
                form = re.search(r'name="csrf_token" value="([^"]+)"', page.text) or form
            schema = web.get("/api/openapi.json").text
            docs = web.get("/api/docs").text
            # Wait for the scheduler to fire the incident and try every receiver (each fails or lands in the sink).
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not _Refusing.seen:
                time.sleep(0.5)
            time.sleep(3)  # the other receivers of the same pass
        server.stop()
        hook.shutdown()
        log = server.log()
    assert _Refusing.seen and "key=" in _Refusing.seen[0]  # delivery was tried, with the secret where it belongs: on the wire
    assert _leaks(log, secrets) == [], log[-3000:]
    assert _leaks("\n".join(answers), secrets) == []
    assert _leaks(schema + docs, secrets) == []
    schemes = json.loads(schema).get("components", {}).get("securitySchemes", {})
    assert schemes == {} or all("bearer" in json.dumps(s).lower() or "http" in json.dumps(s).lower() for s in schemes.values())

    outputs = {}
    for args in (["token", "list"], ["token", "list", "--all", "--json"], ["validate"], ["validate", "--json"],
                 ["notify", "log"], ["notify", "log", "--json"], ["notify", "test", "hook"], ["notify", "test", "hand"],
                 ["notify", "test", "mail"]):
        done = _cli(config, *args)
        outputs[" ".join(args)] = done.stdout + done.stderr
    assert all(_leaks(text, secrets) == [] for text in outputs.values()), {k: _leaks(v, secrets) for k, v in outputs.items()}
    assert any("tok-" in text for text in outputs.values())  # the token list did list the tokens (by id)
    attempts = outputs["notify log --json"]
    assert "***" in attempts or "failed" in attempts  # failed deliveries are logged, with the secrets masked
