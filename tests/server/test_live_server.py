"""Against a real server: ``steward serve`` in a subprocess (uvicorn, the store file), httpx as the client.

Durability is checked the hard way: the server is killed with SIGKILL right after answering,
and the store file is then read with DuckDB SQL, independently of the service.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import duckdb
import httpx

from modelsteward.server.auth import create_token, revoke_token
from modelsteward.store.duckdb_store import DuckDBStore

from .conftest import SERVE, auth, prediction

API = "/api/v1/models/tickets"
ERROR_KEYS = {"status", "code", "message", "field", "records"}
RECORD_KEYS = {"index", "id", "field", "problem"}


def assert_error_shape(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) >= ERROR_KEYS
    assert err["status"] == status
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and len(err["message"]) > 10
    for rec in err["records"]:
        assert set(rec) == RECORD_KEYS
    return err


def test_without_a_token_only_health_answers(config_file, tokens, start_server):
    server = start_server(config_file)
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz").status_code == 200
    for method, path in [("GET", "/api/v1/models"), ("GET", API + "/metrics"), ("GET", API + "/review/items"),
                         ("POST", API + "/predictions"), ("POST", API + "/predictions:batch"), ("POST", API + "/review/claim"),
                         ("GET", "/metrics")]:
        r = httpx.request(method, server.url + path, json=prediction(1))
        err = assert_error_shape(r, 401)
        assert "token" in err["message"]
        assert r.headers["www-authenticate"] == "Bearer"
    # The schema and its docs are public: they describe, they hold no data.
    schema = httpx.get(server.url + "/api/openapi.json").json()
    assert API.replace("tickets", "{model}") + "/predictions:batch" in schema["paths"]
    docs = httpx.get(server.url + "/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


def test_unknown_revoked_and_underscoped_tokens_are_refused(config_file, store_path, tokens, start_server):
    with DuckDBStore(store_path) as store:
        tok, revoked_secret = create_token(store, name="old", scopes=["admin"])
        revoke_token(store, tok.token_id)
    server = start_server(config_file)
    url = server.url
    assert_error_shape(httpx.get(url + "/api/v1/models", headers=auth("stw_not-a-real-token")), 401)
    assert_error_shape(httpx.get(url + "/api/v1/models", headers=auth(revoked_secret)), 401)
    assert_error_shape(httpx.get(url + "/api/v1/models", headers={"Authorization": "Basic " + tokens["admin"]}), 401)
    # ingest may write but not read; read may read but not write; neither may review
    assert_error_shape(httpx.get(url + API + "/metrics", headers=auth(tokens["ingest"])), 403)
    err = assert_error_shape(httpx.post(url + API + "/predictions", json=prediction(1), headers=auth(tokens["read"])), 403)
    assert "ingest" in err["message"]
    assert_error_shape(httpx.post(url + API + "/review/claim", headers=auth(tokens["read"])), 403)
    assert_error_shape(httpx.get(url + "/metrics", headers=auth(tokens["ingest"])), 403)
    # the right scope, and admin, get in
    assert httpx.get(url + API + "/metrics", headers=auth(tokens["read"])).status_code == 200
    assert httpx.get(url + API + "/metrics", headers=auth(tokens["admin"])).status_code == 200
    assert httpx.post(url + API + "/predictions", json=prediction(1), headers=auth(tokens["ingest"])).status_code == 201
    assert httpx.get(url + "/metrics", headers=auth(tokens["read"])).status_code == 200


def test_acknowledged_writes_survive_a_kill_and_retries_are_idempotent(config_file, store_path, tokens, start_server):
    server = start_server(config_file)
    h = auth(tokens["ingest"])
    with httpx.Client(base_url=server.url, headers=h) as client:
        singles = [prediction(i) for i in range(5)]
        answers = [client.post(API + "/predictions", json=p) for p in singles]
        assert [a.status_code for a in answers] == [201] * 5
        assert [a.json()["inserted"] for a in answers] == [1] * 5
        retry = client.post(API + "/predictions", json=singles[2])  # a client retrying after a lost answer
        assert retry.status_code == 201 and retry.json() == {"prediction_id": "p-2", "inserted": 0, "duplicate": True}
        batch = [prediction(i) for i in range(3, 203)]  # overlaps p-3, p-4 of the singles
        r = client.post(API + "/predictions:batch", json={"records": batch})
        assert r.status_code == 201 and r.json() == {"inserted": 198, "duplicates": 2, "total": 200}
        again = client.post(API + "/predictions:batch", json={"records": batch})
        assert again.json() == {"inserted": 0, "duplicates": 200, "total": 200}
        changed = client.post(API + "/predictions", json=prediction(7, confidence=0.99))
        err = assert_error_shape(changed, 409)
        assert err["records"][0]["id"] == "p-7"
        fb = client.post(API + "/feedback", json={"prediction_id": "p-1", "kind": "explicit", "label": "billing"})
        assert fb.status_code == 201
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL  # no shutdown hook ran: only committed data is on disk

    sent = {p["prediction_id"]: p for p in singles + batch}
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        rows = con.execute("SELECT prediction_id, prediction, confidence, latency_ms, strftime(ts, '%Y-%m-%dT%H:%M:%S') "
                           "FROM predictions__tickets ORDER BY prediction_id").fetchall()
        feedback = con.execute("SELECT prediction_id, kind, label FROM feedback").fetchall()
    finally:
        con.close()
    assert len(rows) == len(sent) == 203
    for pid, label, conf, latency, ts in rows:
        p = sent[pid]
        assert (label, conf, latency, ts) == (p["prediction"], p["confidence"], p["latency_ms"], p["timestamp"])
    assert feedback == [("p-1", "explicit", "billing")]


def test_every_error_has_the_one_shape(config_file, tokens, start_server):
    server = start_server(config_file)
    with httpx.Client(base_url=server.url, headers=auth(tokens["admin"])) as client:
        err = assert_error_shape(client.get("/api/v1/no-such-thing"), 404)
        assert err["code"] == "not_found"
        err = assert_error_shape(client.get("/api/v1/models/nope/metrics"), 404)
        assert "tickets" in err["message"]  # says which models exist
        assert_error_shape(client.delete(API + "/predictions"), 405)
        err = assert_error_shape(client.post(API + "/predictions", content=b"{not json", headers={"content-type": "application/json"}), 422)
        err = assert_error_shape(client.get(API + "/metrics?limit=0"), 422)
        assert err["field"] == "limit"
        err = assert_error_shape(client.post(API + "/predictions", json={**prediction(1), "confidense": 0.5}), 422)
        assert err["field"] == "confidense"
        # A batch with bad rows of both kinds (shape and content): every one of them is listed, nothing is written.
        records = [prediction(i) for i in range(10)]
        records[2]["confidence"] = "high"          # not a number
        records[5]["confidence"] = 1.5             # out of range (the library's check)
        records[7]["prediction"] = "no-such-label"  # not a label of the model
        err = assert_error_shape(client.post(API + "/predictions:batch", json={"records": records}), 422)
        assert err["code"] == "batch_rejected"
        assert [(r["index"], r["id"], r["field"]) for r in err["records"]] == [
            (2, "p-2", "confidence"), (5, "p-5", "confidence"), (7, "p-7", "prediction")]
        assert client.get(API + "/metrics").status_code == 200
        models = client.get("/api/v1/models").json()["items"]
        assert models[0]["predictions"] == 0
        err = assert_error_shape(client.post(API + "/review/items/ri-nope/decide", json={"decision": "accept"}), 404)


def test_no_token_reaches_the_log(config_file, tokens, start_server):
    server = start_server(config_file)
    for name in ("ingest", "read", "admin"):
        httpx.post(server.url + API + "/predictions", json=prediction(1), headers=auth(tokens[name]))
        httpx.get(server.url + API + "/metrics", headers=auth(tokens[name]))
    httpx.get(server.url + "/api/v1/models", headers=auth("stw_guessed-token-value"))
    server.stop()
    log = server.log()
    assert "POST /api/v1/models/tickets/predictions" in log  # the access log was on
    for secret in [*tokens.values(), "stw_guessed-token-value"]:
        assert secret not in log


def test_dev_mode_is_loopback_only_and_says_so(config_file, tmp_path, start_server):
    refused = subprocess.run([sys.executable, "-c", SERVE, "serve", "-c", str(config_file), "--dev", "--host", "0.0.0.0"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "loopback" in refused.stderr
    server = start_server(config_file, "--dev")
    assert httpx.get(server.url + "/api/v1/models").status_code == 200
    r = httpx.post(server.url + API + "/predictions", json=prediction(1))
    assert r.status_code == 201
    assert httpx.get(server.url + "/metrics").status_code == 200
    server.stop()
    assert "WITHOUT a token" in server.log()



def test_concurrent_singles_are_grouped_yet_each_gets_its_own_answer(config_file, store_path, tokens, start_server):
    import asyncio

    server = start_server(config_file)
    requests = [prediction(i) for i in range(120)]
    requests += [prediction(5), prediction(6)]                          # retries: duplicates
    requests += [prediction(500, confidence=4.0)]                        # invalid: 422, alone
    requests += [prediction(7, confidence=0.11)]                         # p-7 again, other content: 409 or the first of the two
    requests += [prediction(501, prediction="nope")]                     # invalid label

    async def send() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=server.url, headers=auth(tokens["ingest"]), limits=limits, timeout=60) as client:
            return list(await asyncio.gather(*(client.post(API + "/predictions", json=r) for r in requests)))

    answers = asyncio.run(send())
    by_status: dict[int, int] = {}
    for a in answers:
        by_status[a.status_code] = by_status.get(a.status_code, 0) + 1
    assert by_status == {201: 122, 422: 2, 409: 1}
    assert sum(a.json()["duplicate"] for a in answers if a.status_code == 201) == 2  # the two retries
    assert {a.json()["error"]["records"][0]["id"] for a in answers if a.status_code == 422} == {"p-500", "p-501"}
    server.stop(signal.SIGKILL)
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        stored = dict(con.execute("SELECT prediction_id, confidence FROM predictions__tickets").fetchall())
    finally:
        con.close()
    assert set(stored) == {f"p-{i}" for i in range(120)}
    assert all(stored[f"p-{i}"] == prediction(i)["confidence"] for i in range(120) if i != 7)
    # p-7 holds whichever of its two versions was acknowledged with 201; the other got the 409
    won = [r for r, a in zip(requests, answers, strict=True) if r["prediction_id"] == "p-7" and a.status_code == 201]
    assert len(won) == 1 and stored["p-7"] == won[0]["confidence"]


# The graceful-shutdown test (SIGTERM while a write is in flight) is in test_logs.py: it holds back
# half of the body until the server says it is shutting down, so it needs no timing guess.


def test_the_server_runs_the_monitoring_cycle_on_its_schedule(config_file, tokens, start_server):
    """Two weeks ingested over HTTP: week 1 all right, week 2 wrong on 40 of 100; the server's own pass finds 1.0 and 0.6."""
    import time
    from datetime import datetime, timedelta

    monday = datetime(2026, 3, 2)
    preds, feedback = [], []
    for week in range(2):
        for i in range(100):
            ts = monday + timedelta(weeks=week, hours=i)
            label = ["billing", "technical", "account"][i % 3]
            wrong = week == 1 and i < 40
            preds.append({**prediction(i), "prediction_id": f"w{week}-{i}", "prediction": label, "timestamp": ts.isoformat()})
            feedback.append({"prediction_id": f"w{week}-{i}", "kind": "explicit", "timestamp": ts.isoformat(),
                             "label": ["technical", "account", "billing"][i % 3] if wrong else label})
    server = start_server(config_file, "--check-every", "1s")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.post(API + "/predictions:batch", json={"records": preds}, headers=auth(tokens["ingest"])).status_code == 201
        assert client.post(API + "/feedback:batch", json={"records": feedback}, headers=auth(tokens["ingest"])).status_code == 201
        deadline, items = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            items = client.get(API + "/metrics", headers=auth(tokens["read"])).json()["items"]
            # the pass reads apart from requests: its windows are visible before its alert phase ends
            if len(items) >= 2 and client.get(API + "/alerts", headers=auth(tokens["read"])).json()["items"]:
                break
            time.sleep(0.5)
        by_week = {i["window_start"][:10]: i["metrics"].get("accuracy") for i in items}
        assert by_week["2026-03-02"] == 1.0
        assert abs(by_week["2026-03-09"] - 0.6) < 1e-12
        alerts = client.get(API + "/alerts", headers=auth(tokens["read"])).json()["items"]
        assert [(a["rule"], a["window_start"][:10]) for a in alerts] == [("acc", "2026-03-09")]


def test_check_every_is_validated():
    refused = subprocess.run([sys.executable, "-c", SERVE, "serve", "--check-every", "soon"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "30s, 5m or 1h" in refused.stderr
