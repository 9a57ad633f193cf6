"""Names cannot inject SQL: configuration refuses hostile model, feature and rule names;
identifier quoting refuses them; names and ids that reach the store as values (labels, path
parameters, queue names, item ids) are bound as parameters. After every attempt the store's
tables are all there, with the same rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError
from server.conftest import model_dict

from modelsteward.config import ModelConfig, StewardConfig
from modelsteward.errors import NotFoundError, StoreError
from modelsteward.monitor import Monitor
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

from .conftest import MODEL, Secured, bearer, fill, sign_in

HOSTILE = [
    'x"; DROP TABLE feedback; --',
    "a' OR '1'='1",
    "tickets\n",
    "tickets\nDROP TABLE feedback",
    "tickets; DROP TABLE feedback",
    'predictions__tickets" ; DELETE FROM models; --',
    "../../etc/passwd",
    "tickets\u0000",
    "tick\u0435ts",  # a Cyrillic e
    "Tickets",
    "",
]
#: The names above that are not plain identifiers (letters, digits, `_`, `-`): SQL quoting must refuse them.
BREAKING = [n for n in HOSTILE if not n or not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in n)]


def snapshot(store: DuckDBStore) -> dict[str, int]:
    tables = [r[0] for r in store.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")]
    return {t: int(store.query(f"SELECT count(*) FROM {quote_ident(t)}")[0][0]) for t in sorted(tables)}


@pytest.mark.parametrize("name", HOSTILE)
def test_configuration_refuses_hostile_names(name: str) -> None:
    with pytest.raises(PydanticValidationError):
        ModelConfig.model_validate(model_dict() | {"name": name})
    with pytest.raises(PydanticValidationError):
        ModelConfig.model_validate(model_dict() | {"features": [{"name": name, "type": "categorical"}]})
    rule = dict(model_dict()["alerts"][0], name=name)
    with pytest.raises(PydanticValidationError):
        ModelConfig.model_validate(model_dict() | {"alerts": [rule]})
    with pytest.raises(PydanticValidationError):
        ModelConfig.model_validate(model_dict() | {"alerts": [dict(rule, name="acc", labels={name: "x"})]})


@pytest.mark.parametrize("name", BREAKING)
def test_identifier_quoting_refuses_hostile_names(name: str) -> None:
    with pytest.raises(StoreError):
        quote_ident(name)
    if name:
        with pytest.raises(StoreError):
            DuckDBStore.predictions_table(name)


def test_identifier_quoting_accepts_plain_names() -> None:
    assert quote_ident("predictions__tickets") == '"predictions__tickets"'
    assert DuckDBStore.predictions_table("support-tickets") == '"predictions__support_tickets"'


def test_store_and_monitor_look_ups_with_hostile_names_change_nothing(tmp_path: Any) -> None:
    cfg = StewardConfig.model_validate({"models": [model_dict()]})
    with Monitor(cfg, store=tmp_path / "s.duckdb") as mon:
        fill(mon)
        before = snapshot(mon.store)
        for name in HOSTILE:
            with pytest.raises(NotFoundError):
                mon.store.require_model(name)
            with pytest.raises(NotFoundError):
                mon.model(name)
            if name in BREAKING and name:
                with pytest.raises(StoreError):
                    mon.store.count_predictions(name)
            queue = mon.review_queue(MODEL)
            assert queue.claim("rex", queue=name) is None  # a queue name is a value: no queue matches it
            with pytest.raises(NotFoundError):
                queue.item(name)
            assert queue.items(reviewer=name) == [] or all(i.holder != name for i in queue.items(reviewer=name))
            with pytest.raises(NotFoundError):
                mon.alerting.incident(name)
        assert snapshot(mon.store) == before


def test_hostile_labels_and_values_are_stored_as_values(tmp_path: Any) -> None:
    labels = ['x"; DROP TABLE feedback; --', "a' OR '1'='1"]
    cfg = StewardConfig.model_validate({"models": [model_dict() | {"task": "binary", "labels": labels, "alerts": [],
                                                                    "review": None}]})
    t0 = datetime(2026, 3, 2)
    with Monitor(cfg, store=tmp_path / "s.duckdb") as mon:
        mon.log_predictions([{"prediction_id": f"{labels[i % 2]}-{i}", "prediction": labels[i % 2], "confidence": 0.9,
                              "features": {"category": labels[(i + 1) % 2], "length": float(i)}, "model_version": labels[0],
                              "timestamp": t0 + timedelta(minutes=i)} for i in range(40)])
        mon.log_feedbacks([{"prediction_id": f"{labels[i % 2]}-{i}", "kind": "explicit", "label": labels[0],
                            "timestamp": t0 + timedelta(minutes=i + 1)} for i in range(40)])
        mon.check(until=t0 + timedelta(days=8))
        tables = snapshot(mon.store)
        assert tables["feedback"] == 40 and tables["models"] == 1
        stored = mon.store.query(f"SELECT DISTINCT prediction FROM {DuckDBStore.predictions_table(MODEL)} ORDER BY 1")
        assert [r[0] for r in stored] == sorted(labels)
        [(_, _, metrics)] = mon.metric_history(MODEL)
        assert metrics["accuracy"] == pytest.approx(0.5)  # half the predictions are labels[0]: counted by value


def test_api_and_pages_refuse_hostile_path_parameters(secured: Secured) -> None:
    c = secured.client
    mon = c.app.state.monitor  # type: ignore[attr-defined]
    fill(mon)
    before = snapshot(mon.store)
    read, review = bearer(secured.tokens["read"]), bearer(secured.tokens["review"])
    ingest = bearer(secured.tokens["ingest"])
    from urllib.parse import quote

    for name in HOSTILE:
        if not name or "/" in name:
            continue  # not one path segment
        q = quote(name, safe="")
        for path in ("metrics", "drift", "alerts", "incidents", "review/items", "retrain-requests", "silences"):
            answer = c.get(f"/api/v1/models/{q}/{path}", headers=read)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", (name, path)
        assert c.post(f"/api/v1/models/{q}/predictions", json={"prediction_id": "z", "prediction": "billing", "confidence": 0.5},
                      headers=ingest).status_code == 404
        for path in (f"incidents/{q}", f"review/items/{q}"):
            assert c.get(f"/api/v1/models/{MODEL}/{path}", headers=read).status_code == 404
        decided = c.post(f"/api/v1/models/{MODEL}/review/items/{q}/decide", json={"decision": "accept"}, headers=review)
        assert decided.status_code in (404, 409)
        assert c.post(f"/api/v1/models/{MODEL}/review/claim", json={"queue": name}, headers=review).json() == {"item": None}
        assert c.get(f"/api/v1/models/{MODEL}/incidents?status={q}", headers=read).status_code == 422
        assert c.get(f"/api/v1/models/{MODEL}/retrain-requests?status={q}", headers=read).status_code == 200
    sign_in(c, "vera")
    for name in HOSTILE:
        if name and "/" not in name:
            assert c.get(f"/models/{quote(name, safe='')}").status_code == 404
            assert c.get(f"/models/{MODEL}/drift/{quote(name, safe='')}").status_code == 404
            assert c.get(f"/models/{MODEL}/review?state={quote(name)}").status_code == 400
    assert snapshot(mon.store) == {**before, "sessions": before["sessions"] + 1}
