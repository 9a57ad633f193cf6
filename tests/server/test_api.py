"""The API in process (FastAPI's TestClient): reads against the library, people's actions, pages, /metrics.

The store is filled through the library first (two weekly windows whose accuracy is known by
construction, an alert rule that fires on it), then served; answers are compared with what the
library or plain SQL says about the same store.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from modelsteward.monitor import Monitor
from modelsteward.server.app import create_app
from modelsteward.server.auth import create_token

from .conftest import LABELS, auth, prediction

API = "/api/v1/models/tickets"
MONDAY = datetime(2026, 3, 2)


def _fill(mon: Monitor) -> dict[str, Any]:
    """Two weeks of predictions with feedback: week 1 all right (accuracy 1), week 2 wrong on 40 of 100 (0.6)."""
    records, feedback = [], []
    for week in range(2):
        for i in range(100):
            pid = f"w{week}-{i}"
            ts = MONDAY + timedelta(weeks=week, hours=i)
            label = LABELS[i % 3]
            wrong = week == 1 and i < 40
            records.append({**prediction(i), "prediction_id": pid, "prediction": label, "timestamp": ts.isoformat()})
            feedback.append({"prediction_id": pid, "kind": "explicit", "label": LABELS[(i + 1) % 3] if wrong else label,
                             "timestamp": (ts + timedelta(minutes=5)).isoformat()})
    mon.log_predictions(records)
    mon.log_feedbacks(feedback)
    report = mon.check(until=MONDAY + timedelta(weeks=2, days=1))
    return {"report": report}


@pytest.fixture
def filled(config_file: Path, store_path: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with Monitor(config_file) as mon:
        _fill(mon)
        for i in range(7):  # low confidence: routed to review
            mon.log_prediction(**{k: v for k, v in prediction(1000 + i, confidence=0.55).items() if k != "timestamp"})
            mon.route(f"p-{1000 + i}")
    with TestClient(create_app(config_file)) as client:
        yield client


def test_metrics_history_is_the_library_s(filled: TestClient, tokens: dict[str, str]) -> None:
    body = filled.get(API + "/metrics", headers=auth(tokens["read"])).json()
    mon = filled.app.state.monitor  # type: ignore[attr-defined]
    history = mon.metric_history("tickets")
    assert [datetime.fromisoformat(i["window_start"]) for i in body["items"]] == [ws for ws, _, _ in history]
    accuracy = [i["metrics"]["accuracy"] for i in body["items"]]
    assert accuracy[:2] == pytest.approx([1.0, 0.6])  # by construction of the data
    # every value equals the library's (non-finite values become null)
    for item, (_, _, m) in zip(body["items"], history, strict=True):
        assert item["metrics"] == {k: (v if v is None or math.isfinite(v) else None) for k, v in m.items()}


def test_lists_paginate_with_next_links_that_cover_everything(filled: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["read"])
    expected = [r[0] for r in filled.app.state.monitor.store.query(  # type: ignore[attr-defined]
        "SELECT prediction_id FROM review_items WHERE model = 'tickets'")]
    assert len(expected) == 7
    seen, url, pages = [], API + "/review/items?limit=3", 0
    while url:
        body = filled.get(url, headers=h).json()
        seen += [i["prediction_id"] for i in body["items"]]
        url, pages = body["next"], pages + 1
    assert pages == 3 and sorted(seen) == sorted(expected) and len(set(seen)) == 7
    pending = filled.get(API + "/review/items?state=pending&limit=1000", headers=h).json()
    assert len(pending["items"]) == 7 and pending["next"] is None
    bad = filled.get(API + "/review/items?state=finished", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "state"
    drift = filled.get(API + "/drift?limit=2", headers=h).json()
    total = filled.app.state.monitor.store.query("SELECT count(*) FROM drift_results")[0][0]  # type: ignore[attr-defined]
    assert len(drift["items"]) == min(2, total)
    assert (drift["next"] is not None) == (total > 2)


def test_alert_fires_and_people_acknowledge_and_resolve_it_as_themselves(filled: TestClient, tokens: dict[str, str]) -> None:
    read, alice = auth(tokens["read"]), auth(tokens["alice"])
    alerts = filled.get(API + "/alerts", headers=read).json()["items"]
    assert [(a["rule"], a["value"]) for a in alerts] == [("acc", pytest.approx(0.6))]
    incidents = filled.get(API + "/incidents", headers=read).json()["items"]
    assert len(incidents) == 1 and incidents[0]["status"] == "open"
    iid = incidents[0]["incident_id"]
    # The actor comes from the token; a body naming someone else is refused, not obeyed.
    forged = filled.post(f"{API}/incidents/{iid}/acknowledge", json={"comment": "x", "by": "mallory"}, headers=alice)
    assert forged.status_code == 422 and forged.json()["error"]["field"] == "by"
    assert filled.post(f"{API}/incidents/{iid}/acknowledge", json={"comment": "looking"}, headers=read).status_code == 403
    ack = filled.post(f"{API}/incidents/{iid}/acknowledge", json={"comment": "looking"}, headers=alice)
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "alice"
    done = filled.post(f"{API}/incidents/{iid}/resolve", headers=alice)
    assert done.json()["status"] == "resolved" and done.json()["resolved_by"] == "alice"
    again = filled.post(f"{API}/incidents/{iid}/resolve", headers=alice)
    assert again.status_code == 409 and again.json()["error"]["incident_id"] == iid
    stored = filled.app.state.monitor.store.query(  # type: ignore[attr-defined]
        "SELECT status, acknowledged_by, resolved_by FROM incidents WHERE incident_id = ?", [iid])
    assert stored == [("resolved", "alice", "alice")]
    detail = filled.get(f"{API}/incidents/{iid}", headers=read).json()
    people = [(e["kind"], e["actor"]) for e in detail["events"] if e["kind"] in ("acknowledged", "resolved")]
    assert people == [("acknowledged", "alice"), ("resolved", "alice")]
    assert filled.post(f"{API}/incidents/inc-nope/resolve", headers=alice).status_code == 404


def test_silences_are_created_listed_and_expired_for_the_model(filled: TestClient, tokens: dict[str, str]) -> None:
    alice = auth(tokens["alice"])
    made = filled.post(API + "/silences", json={"matchers": ["rule=acc"], "duration": "2h", "comment": "retraining"}, headers=alice)
    assert made.status_code == 201
    s = made.json()
    assert s["matchers"] == ["rule=acc", "model=tickets"] and s["created_by"] == "alice" and s["status"] == "active"
    assert datetime.fromisoformat(s["ends_at"]) - datetime.fromisoformat(s["starts_at"]) == timedelta(hours=2)
    listed = filled.get(API + "/silences", headers=alice).json()["items"]
    assert [x["silence_id"] for x in listed] == [s["silence_id"]]
    bad = filled.post(API + "/silences", json={"matchers": ["rule=acc"], "duration": "2h", "comment": " "}, headers=alice)
    assert bad.status_code == 422 and "comment" in bad.json()["error"]["message"]
    ended = filled.post(f"{API}/silences/{s['silence_id']}/expire", headers=alice).json()
    assert ended["status"] == "expired"
    assert filled.post(f"{API}/silences/sil-nope/expire", headers=alice).status_code == 404


def test_review_claims_and_decisions_are_made_as_the_token_owner(filled: TestClient, tokens: dict[str, str]) -> None:
    alice = auth(tokens["alice"])
    forged = filled.post(API + "/review/claim", json={"reviewer": "mallory"}, headers=alice)
    assert forged.status_code == 422
    claimed = filled.post(API + "/review/claim", headers=alice).json()["item"]
    assert claimed["holder"] == "alice" and claimed["state"] == "in_review"
    item = claimed["item_id"]
    # someone else (another token) cannot decide alice's item
    other = auth(tokens["review"])
    refused = filled.post(f"{API}/review/items/{item}/decide", json={"decision": "accept"}, headers=other)
    assert refused.status_code == 409 and refused.json()["error"]["holder"] == "alice"
    forged = filled.post(f"{API}/review/items/{item}/decide", json={"decision": "accept", "reviewer": "mallory"}, headers=alice)
    assert forged.status_code == 422
    decided = filled.post(f"{API}/review/items/{item}/decide", json={"decision": "correct", "label": "account"}, headers=alice)
    assert decided.status_code == 200 and decided.json()["reviewer"] == "alice"
    retry = filled.post(f"{API}/review/items/{item}/decide", json={"decision": "correct", "label": "account"}, headers=alice)
    assert retry.json()["replayed"] is True
    store = filled.app.state.monitor.store  # type: ignore[attr-defined]
    decisions = store.query("SELECT reviewer, decision, label FROM review_decisions WHERE item_id = ?", [item])
    assert decisions == [("alice", "correct", "account")]
    assert store.query("SELECT reviewer, label FROM feedback WHERE kind = 'expert'") == [("alice", "account")]
    detail = filled.get(f"{API}/review/items/{item}", headers=alice).json()
    assert detail["state"] == "decided" and [d["reviewer"] for d in detail["decisions"]] == ["alice"]


def test_route_decides_and_queues(filled: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["ingest"])
    low = filled.post(API + "/route", json={"prediction_id": "r-1", "prediction": "billing", "confidence": 0.3,
                                            "features": {"category": "web", "length": 3.0}}, headers=h).json()
    high = filled.post(API + "/route", json={"prediction_id": "r-2", "prediction": "billing", "confidence": 0.95,
                                             "features": {"category": "web", "length": 3.0}}, headers=h).json()
    assert (low["route"], high["route"]) == ("human", "automatic")  # the policy's threshold is 0.7
    store = filled.app.state.monitor.store  # type: ignore[attr-defined]
    assert store.query("SELECT item_id FROM review_items WHERE prediction_id = 'r-1'") == [(low["item_id"],)]
    assert store.query("SELECT count(*) FROM review_items WHERE prediction_id = 'r-2'") == [(0,)]


def test_prometheus_metrics_match_the_store(filled: TestClient, tokens: dict[str, str]) -> None:
    filled.post(API + "/predictions", json={**prediction(1), "confidence": 7}, headers=auth(tokens["ingest"]))  # refused
    text = filled.get("/metrics", headers=auth(tokens["read"])).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    store = filled.app.state.monitor.store  # type: ignore[attr-defined]
    n = store.query("SELECT count(*) FROM predictions__tickets")[0][0]
    assert samples[("steward_predictions", (("model", "tickets"),))] == n == 207
    last = store.query("SELECT metric, value FROM window_metrics WHERE window_start = (SELECT max(window_start) FROM window_metrics) "
                       "AND value IS NOT NULL")
    for metric, value in last:
        assert samples[("steward_window_metric", (("metric", metric), ("model", "tickets")))] == pytest.approx(value)
    assert samples[("steward_window_metric", (("metric", "accuracy"), ("model", "tickets")))] == pytest.approx(0.6)
    assert samples[("steward_incidents_open", (("model", "tickets"), ("severity", "high")))] == 1
    assert samples[("steward_review_items", (("model", "tickets"), ("state", "pending")))] == 7
    assert samples[("steward_ingest_rejected", (("kind", "predictions"),))] == 1


def test_a_revoked_token_stops_working_at_once(filled: TestClient) -> None:
    from modelsteward.server.auth import revoke_token

    store = filled.app.state.monitor.store  # type: ignore[attr-defined]
    tok, secret = create_token(store, name="temp", scopes=["read"])
    assert filled.get("/api/v1/models", headers=auth(secret)).status_code == 200
    revoke_token(store, tok.token_id)
    assert filled.get("/api/v1/models", headers=auth(secret)).status_code == 401


def test_nothing_secret_reaches_the_log(filled: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    for secret in tokens.values():
        filled.get(API + "/metrics", headers=auth(secret))
        filled.post(API + "/predictions", json={"bad": 1}, headers=auth(secret))
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records  # httpx / the app did log the requests
    for secret in tokens.values():
        assert secret not in text
