"""The ingest fast path (server/fast_ingest.py) and the batch media types: same answers, same stored rows as the routes.

The reference for every comparison is the FastAPI route and the library's list-of-dicts path:
a fresh token is not yet in the process's cache, so its first request takes the route; the same
request again takes the fast path. Columns made by ``rows_table`` are checked against the
list-of-dicts path over generated rows (hypothesis), successes and refusals alike.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsteward.config import ModelConfig
from modelsteward.errors import BatchRejected
from modelsteward.records import normalise_predictions
from modelsteward.server.api.ingest import PredictionIn, _prediction_record
from modelsteward.server.api.ingest_formats import PredictionRow, rows_table
from modelsteward.server.app import create_app
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore

from .conftest import LABELS, auth, model_dict, prediction

API = "/api/v1/models/tickets"
NDJSON = "application/x-ndjson"
ARROW = "application/vnd.apache.arrow.stream"


def _arrow(records: list[dict[str, Any]]) -> bytes:
    flat = [{**{k: v for k, v in r.items() if k != "features"}, **r.get("features", {})} for r in records]
    keys = list(dict.fromkeys(k for r in flat for k in r))
    table = pa.Table.from_pydict({k: [r.get(k) for r in flat] for k in keys})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _ndjson(records: list[Any]) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


def _stored(client: TestClient) -> dict[str, tuple[Any, ...]]:
    """The stored rows by id, read with SQL through the served store (one process holds the file)."""
    rows = client.app.state.monitor.store.query("SELECT * EXCLUDE (ingested_at) FROM predictions__tickets")  # type: ignore[attr-defined]
    return {r[0]: r[1:] for r in rows}


@pytest.fixture
def client(config_file: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(config_file)) as c:
        yield c


def test_the_three_media_types_store_what_the_json_route_stores(client: TestClient, store_path: Path,
                                                                 tokens: dict[str, str]) -> None:
    head = auth(tokens["ingest"])
    base = [prediction(i, attributes={"tier": "gold"} if i % 2 else None, probabilities={"billing": 0.25, "technical": 0.5,
                                                                                         "account": 0.25})
            for i in range(80)]
    base = [{k: v for k, v in r.items() if v is not None} for r in base]

    def renamed(prefix: str) -> list[dict[str, Any]]:
        return [{**r, "prediction_id": prefix + r["prediction_id"]} for r in base]

    # the route reads the first request of this token (not cached yet): the reference
    assert client.post(API + "/predictions:batch", json={"records": renamed("route-")}, headers=head).json()["inserted"] == 80
    answers = [
        client.post(API + "/predictions:batch", json={"records": renamed("json-")}, headers=head),
        client.post(API + "/predictions:batch", content=_ndjson(renamed("nd-")), headers={**head, "Content-Type": NDJSON}),
        client.post(API + "/predictions:batch", content=_arrow(renamed("arrow-")), headers={**head, "Content-Type": ARROW}),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [(201, {"inserted": 80, "duplicates": 0, "total": 80})] * 3
    stored = _stored(client)
    assert len(stored) == 320
    for prefix in ("json-", "nd-", "arrow-"):
        for r in base:
            pid = r["prediction_id"]
            assert stored[prefix + pid] == stored["route-" + pid], (prefix, pid)
    # sent again: idempotent in every media type
    again = client.post(API + "/predictions:batch", content=_arrow(renamed("arrow-")), headers={**head, "Content-Type": ARROW})
    assert again.json() == {"inserted": 0, "duplicates": 80, "total": 80}


def test_an_arrow_batch_with_bad_fields_names_each_row_and_field(client: TestClient, store_path: Path,
                                                                 tokens: dict[str, str]) -> None:
    records = [prediction(i) for i in range(10)]
    records[3]["confidence"] = 1.5
    records[5]["prediction"] = "refund"
    records[7]["features"] = {**records[7]["features"], "colour": "red"}
    r = client.post(API + "/predictions:batch", content=_arrow(records), headers={**auth(tokens["ingest"]), "Content-Type": ARROW})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "batch_rejected"
    got = {(x["index"], x["id"], x["field"]) for x in err["records"]}
    assert got == {(3, "p-3", "confidence"), (5, "p-5", "prediction"), (7, "p-7", "colour")}
    assert _stored(client) == {}  # nothing written
    garbage = client.post(API + "/predictions:batch", content=b"not arrow", headers={**auth(tokens["ingest"]), "Content-Type": ARROW})
    assert garbage.status_code == 422 and garbage.json()["error"]["field"] == "body"


def test_ndjson_reports_bad_lines_and_bad_rows_together(client: TestClient, store_path: Path, tokens: dict[str, str]) -> None:
    lines: list[Any] = [prediction(i) for i in range(6)]
    lines[1] = "{not json"
    lines[2] = {**prediction(2), "confidence": 2.0}
    lines[4] = {**prediction(4), "colour": "red"}  # a field PredictionIn does not have
    r = client.post(API + "/predictions:batch", content=_ndjson(lines) + b"\n\n",
                    headers={**auth(tokens["ingest"]), "Content-Type": NDJSON})
    assert r.status_code == 422
    got = sorted((x["index"], x["field"]) for x in r.json()["error"]["records"])
    assert got == [(1, None), (2, "confidence"), (4, "colour")]
    assert _stored(client) == {}


def test_refusals_are_the_route_s_own(config_file: Path, store_path: Path, tokens: dict[str, str]) -> None:
    """Each request twice with a new token: first through the route (token not cached), then through the fast path."""
    with_bad_rows = [prediction(0), {**prediction(1), "confidence": 3.0}, {**prediction(2), "prediction": "x"},
                     {**prediction(3), "latency_ms": -1.0}]
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/predictions:batch", {"records": with_bad_rows}),
        ("/predictions:batch", {"records": [prediction(5), {**prediction(6), "confidence": "high"}]}),
        ("/predictions", {**prediction(7), "confidence": 9.0}),
        ("/predictions", {**prediction(8), "colour": "red"}),
        ("/predictions", {**prediction(9), "confidence": "0.75"}),  # pydantic reads numeric text: stored
    ]
    answers = []
    for path, body in cases:
        with DuckDBStore(store_path) as store:  # made while no server holds the store, as `steward token create` is
            secret = create_token(store, name="fresh", scopes=["ingest"])[1]
        with TestClient(create_app(config_file)) as fresh:
            first = fresh.post(API + path, json=body, headers=auth(secret))
            second = fresh.post(API + path, json=body, headers=auth(secret))
        answers.append((path, first.status_code, second.status_code))
        expected = first.json() if first.status_code != 201 else {**first.json(), "inserted": 0, "duplicate": True}  # sent twice
        assert (second.status_code, second.json()) == (first.status_code, expected), path
    assert [a[1] for a in answers] == [422, 422, 422, 422, 201]


def test_singles_answer_as_the_route_does(client: TestClient, store_path: Path, tokens: dict[str, str]) -> None:
    head = auth(tokens["ingest"])
    first = client.post(API + "/predictions", json=prediction(1), headers=head)  # the route (token not cached yet)
    fast = [client.post(API + "/predictions", json=prediction(i), headers=head) for i in (1, 2, 2)]
    assert first.json() == {"prediction_id": "p-1", "inserted": 1, "duplicate": False}
    assert [f.json() for f in fast] == [{"prediction_id": "p-1", "inserted": 0, "duplicate": True},
                                        {"prediction_id": "p-2", "inserted": 1, "duplicate": False},
                                        {"prediction_id": "p-2", "inserted": 0, "duplicate": True}]
    clash = client.post(API + "/predictions", json={**prediction(2), "confidence": 0.51}, headers=head)
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "conflict"
    assert clash.json()["error"]["records"][0]["id"] == "p-2"
    generated = client.post(API + "/predictions", json={k: v for k, v in prediction(3).items() if k != "prediction_id"}, headers=head)
    assert generated.status_code == 201 and len(generated.json()["prediction_id"]) == 36
    refused = client.post(API + "/predictions", json=prediction(4), headers=auth(tokens["read"]))  # no ingest scope
    assert refused.status_code == 403
    assert sorted(_stored(client)) == sorted(["p-1", "p-2", generated.json()["prediction_id"]])


def test_arrow_and_ndjson_refusals_have_the_one_shape(client: TestClient, tokens: dict[str, str]) -> None:
    body = _arrow([prediction(1)])
    scope = client.post(API + "/predictions:batch", content=body, headers={**auth(tokens["read"]), "Content-Type": ARROW})
    assert scope.status_code == 403 and scope.json()["error"]["code"] == "insufficient_scope"
    unknown = client.post(API + "/predictions:batch", content=body, headers={**auth("stw_not-a-token"), "Content-Type": ARROW})
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"] == "Bearer"
    model = client.post("/api/v1/models/nope/predictions:batch", content=_ndjson([prediction(1)]),
                        headers={**auth(tokens["ingest"]), "Content-Type": NDJSON})
    assert model.status_code == 404 and model.json()["error"]["code"] == "not_found"
    empty = client.post(API + "/predictions:batch", content=b"\n\n",
                        headers={**auth(tokens["ingest"]), "Content-Type": NDJSON})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "body"


def test_the_schema_documents_the_batch_media_types(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    content = schema["paths"]["/api/v1/models/{model}/predictions:batch"]["post"]["requestBody"]["content"]
    assert {"application/json", NDJSON, ARROW} <= set(content)


# -- columns from typed rows against the list-of-dicts path ------------------------------------------
MODEL = ModelConfig.model_validate({**model_dict(), "features": [{"name": "category", "type": "categorical"},
                                                                 {"name": "length", "type": "numeric"}]})
text = st.one_of(st.none(), st.sampled_from([*LABELS, "other", " ", ""]))
number = st.one_of(st.none(), st.floats(-0.5, 1.5), st.integers(-2, 2), st.just(float("inf")))
feature_value = st.one_of(st.none(), st.sampled_from(["web", "mail"]), st.floats(-5, 5), st.integers(0, 3), st.booleans())
row = st.fixed_dictionaries({}, optional={
    "prediction_id": st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", " "])),
    "prediction": text, "confidence": number, "latency_ms": number, "error": st.one_of(st.none(), st.just("boom")),
    "timestamp": st.one_of(st.none(), st.sampled_from(["2026-03-02T10:00:00", "2026-03-02T11:30:00Z", "yesterday"])),
    "model_version": st.one_of(st.none(), st.just("v2")),
    "probabilities": st.one_of(st.none(), st.dictionaries(st.sampled_from(LABELS + ["x"]), st.floats(0, 1), max_size=3)),
    "attributes": st.one_of(st.none(), st.dictionaries(st.sampled_from(["tier", "region"]), st.sampled_from(["a", 1]), max_size=2)),
    "features": st.dictionaries(st.sampled_from(["category", "length", "colour"]), feature_value, max_size=3),
})


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _outcome(data: Any) -> Any:
    """The table (or the refusal) of the library's validation, with generated ids (random UUIDs) masked."""
    def plain(rid: Any) -> Any:
        return "<generated>" if isinstance(rid, str) and _UUID.fullmatch(rid) else rid

    try:
        table = normalise_predictions(data, MODEL)
    except BatchRejected as exc:
        return [(e.index, plain(e.record_id), e.field, e.problem) for e in exc.rows]
    given = table.schema.metadata[b"ts_given"]
    rows = [{**r, "prediction_id": plain(r["prediction_id"])} for r in table.to_pylist()]
    if given == b"0":  # rows without a timestamp get the time of validation, which differs between two calls
        rows = [{k: v for k, v in r.items() if k != "ts"} for r in rows]
    return given, rows


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(row, min_size=1, max_size=6))
def test_columns_read_as_the_list_of_dicts_path_reads_them(rows: list[dict[str, Any]]) -> None:
    texts = [json.dumps(r) for r in rows]
    try:
        typed = [msgspec.json.decode(t.encode(), type=PredictionRow) for t in texts]
    except msgspec.DecodeError:  # Infinity is not JSON: msgspec refuses it and the route reads the body
        assert any("Infinity" in t for t in texts)
        return
    table = rows_table(typed, MODEL)
    reference = [_prediction_record(PredictionIn.model_validate(r)) for r in rows]
    if table is None:  # handed to the reference path; only for inputs it would read differently
        feats = [r.get("features", {}) for r in rows]
        assert any(type(f["category"]) not in (str, type(None)) for f in feats if "category" in f) \
            or any(type(f["length"]) not in (float, int, type(None)) for f in feats if "length" in f) \
            or all(rec == {"features": {}} for rec in reference)
        return
    assert _outcome(table) == _outcome(reference)


def test_typical_rows_take_the_columns() -> None:
    typed = [msgspec.json.decode(json.dumps(prediction(i)).encode(), type=PredictionRow) for i in range(3)]
    table = rows_table(typed, MODEL)
    assert table is not None and table.column("length").to_pylist() == [10.0, 11.0, 12.0]
