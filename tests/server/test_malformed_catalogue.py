"""The catalogue of malformed inputs: each case is a request and the answer it gets, kept as a table.

Each row sends one request to the in-process app (an admin token, a store file, a body limit of
1 MiB) and checks the answer: its status, the one error shape with its code, the field at fault
and the first rejected record. Then it counts the rows of every table a write touches, with SQL
on the store, to check that nothing was written by a rejected request (and exactly what was
expected by an accepted one), and sends a good prediction to check that the service still
takes one. The transport-level cases (a body shorter or longer than its Content-Length, an
oversized body, a chunked one) go to a real ``steward serve`` over raw sockets.

docs/reliability.md prints this table (case -> answer).
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from modelsteward.server.app import create_app
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore

from .conftest import model_dict, prediction

API = "/api/v1/models/tickets"
LIMIT = 1024 * 1024  # server.max_body_bytes of the catalogue's steward.yaml
EMOJI_LABEL = "urgent 🔥"  # a label with a 4-byte character
WRITTEN_TABLES = (DuckDBStore.predictions_table("tickets"), "feedback", "review_items", "silences")
_fresh = itertools.count()


def config_dict(store: Path) -> dict[str, Any]:
    model = model_dict()
    model["labels"] = [*model["labels"], EMOJI_LABEL]
    return {"store": str(store), "models": [model], "server": {"max_body_bytes": LIMIT}}


def raw(text: str) -> bytes:
    return text.encode("utf-8")


def nested(depth: int) -> bytes:
    return raw('{"prediction_id": "deep", "prediction": "billing", "confidence": 0.5, "features": {"category": '
               + "[" * depth + "]" * depth + "}}")


def pred(pid: str, **over: Any) -> dict[str, Any]:
    """A valid prediction with this id (and the given fields changed)."""
    return prediction(0, prediction_id=pid, **over)


def without(rec: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in keys}


@dataclass(frozen=True)
class Case:
    """One malformed input and the answer it gets."""

    name: str
    body: Any  # a JSON value (sent as JSON), bytes (sent as they are) or a callable making the bytes
    status: int
    code: str | None = None  # the error's code (None for an accepted request)
    field: str | None = None  # the error's field, when it names one
    record: tuple[int | None, str | None] | None = None  # (index, field) of the first rejected record
    path: str = "/predictions"
    headers: dict[str, str] = dc_field(default_factory=dict)
    before: tuple[tuple[str, Any], ...] = ()  # requests sent first (that must succeed)
    written: int = 0  # rows the request adds
    says: str = ""  # a phrase the message must hold
    reply: tuple[tuple[str, Any], ...] = ()  # fields an accepted request's answer must hold


CATALOGUE: list[Case] = [
    # --- the body is not JSON, or not a JSON object
    Case("truncated JSON", raw('{"prediction_id": "t1", "prediction": "bil'), 422, "invalid_json", "body", (None, "body"),
         says="not valid JSON"),
    Case("not UTF-8", b'{"prediction_id": "t2\xff\xfe"}', 422, "invalid_json", "body", says="not text in UTF-8"),
    Case("empty body", b"", 422, "validation_error", "body"),
    Case("JSON null", b"null", 422, "validation_error", "body"),
    Case("JSON array instead of an object", b"[]", 422, "validation_error", "body"),
    Case("trailing garbage after the object", raw(json.dumps(pred("t3")) + " }"), 422, "invalid_json", "body"),
    Case("wrong content type (text/plain)", raw(json.dumps(pred("t4"))), 415, "unsupported_media_type", "body",
         headers={"content-type": "text/plain"}, says="Content-Type: application/json"),
    Case("form-encoded body", b"prediction_id=t5&prediction=billing", 415, "unsupported_media_type", "body",
         headers={"content-type": "application/x-www-form-urlencoded"}),
    Case("no content type", raw(json.dumps(pred("t6"))), 415, "unsupported_media_type", "body", headers={"content-type": ""}),
    Case("oversized body (Content-Length past the limit)", b"{" + b" " * LIMIT + b"}", 413, "too_large", "body",
         path="/predictions:batch", says="server.max_body_bytes"),
    Case("oversized body sent chunked (no Content-Length)", lambda: iter([b'{"records": [', b" " * LIMIT, b"]}"]), 413,
         "too_large", "body", path="/predictions:batch"),
    # --- deep, huge and non-finite values
    Case("values nested 10,000 levels deep", nested(10_000), 422, "invalid_json", "body", says="nested deeper"),
    Case("values nested 200 levels deep (parsed; not text)", nested(200), 422, "batch_rejected", "category",
         (0, "category"), says="expected text"),
    Case("integer of 5,000 digits", raw('{"prediction_id": "h1", "prediction": "billing", "confidence": 0.5, "latency_ms": '
                                        + "9" * 5000 + "}"), 422, "invalid_json", "body", says="4,300 digits"),
    Case("integer of 400 digits (past a float)", raw('{"prediction_id": "h2", "prediction": "billing", "confidence": 0.5, '
                                                     '"latency_ms": ' + "9" * 400 + "}"), 422, "validation_error", "latency_ms"),
    Case("1e400 (overflows to infinity)", raw('{"prediction_id": "h3", "prediction": "billing", "confidence": 1e400}'), 422,
         "batch_rejected", "confidence", (0, "confidence"), says="finite"),
    Case("NaN literal", raw('{"prediction_id": "h4", "prediction": "billing", "confidence": NaN}'), 422, "batch_rejected",
         "confidence", (0, "confidence")),
    Case("Infinity literal", raw('{"prediction_id": "h5", "prediction": "billing", "confidence": 0.5, "latency_ms": Infinity}'),
         422, "batch_rejected", "latency_ms", (0, "latency_ms")),
    Case("-Infinity in a numeric feature", raw('{"prediction_id": "h6", "prediction": "billing", "confidence": 0.5, '
                                               '"features": {"length": -Infinity}}'), 422, "batch_rejected", "length", (0, "length")),
    # --- unicode edge cases
    Case("lone surrogate escaped in an id", raw('{"prediction_id": "u1\\ud800", "prediction": "billing", "confidence": 0.5}'),
         422, "invalid_text", "prediction_id", (None, "prediction_id"), says="surrogate"),
    Case("lone low surrogate in a feature value", raw('{"prediction_id": "u2", "prediction": "billing", "confidence": 0.5, '
                                                      '"features": {"category": "\\udfff"}}'), 422, "invalid_text",
         "features.category"),
    Case("lone surrogate in a batch row", raw('{"records": [' + json.dumps(pred("u3")) + ', {"prediction_id": "u4\\udbff", '
                                              '"prediction": "billing", "confidence": 0.5}]}'), 422, "invalid_text",
         "prediction_id", (1, "prediction_id"), path="/predictions:batch"),
    Case("lone surrogate in a feedback comment", raw('{"prediction_id": "p-0", "kind": "explicit", "label": "billing", '
                                                     '"comment": "\\ud83d"}'), 422, "invalid_text", "comment", path="/feedback"),
    Case("escaped surrogate pair (an emoji) is fine", raw('{"prediction_id": "u5-\\ud83d\\ude80", "prediction": "billing", '
                                                          '"confidence": 0.5}'), 201, written=1),
    Case("NUL byte in an id (stored as sent)", raw('{"prediction_id": "u6\\u0000nul", "prediction": "billing", "confidence": 0.5}'),
         201, written=1),
    Case("right-to-left marks in an id (stored as sent)", pred("u7\u202eltr\u200f"), 201, written=1),
    Case("4-byte emoji in an id and a feature", pred("🚀-u8", features={"category": "🔥", "length": 1.0}), 201, written=1),
    Case("4-byte emoji in a configured label", pred("u9", prediction=EMOJI_LABEL), 201, written=1),
    Case("emoji label that is not configured", pred("u10", prediction="billing 🔥"), 422, "batch_rejected", "prediction",
         (0, "prediction"), says="expected one of"),
    Case("id of 100,000 characters (stored as sent)", pred("x" * 100_000), 201, written=1),
    # --- duplicates
    Case("duplicate id in a batch, different content", {"records": [pred("d1"), pred("d1", confidence=0.9)]}, 422,
         "batch_rejected", "prediction_id", (1, "prediction_id"), path="/predictions:batch", says="different content"),
    Case("duplicate id in a batch, same content (collapsed)", {"records": [pred("d2"), pred("d2")]}, 201,
         path="/predictions:batch", written=1, reply=(("inserted", 1), ("duplicates", 1))),
    Case("same id again with different content", pred("d3", confidence=0.91), 409, "conflict", record=(None, None),
         before=(("/predictions", pred("d3")),), says="d3"),
    Case("same id again, same content (a retry)", pred("d4"), 201, before=(("/predictions", pred("d4")),),
         reply=(("inserted", 0), ("duplicate", True))),
    Case("same id again in a batch, different content", {"records": [pred("d5", confidence=0.6)]}, 409, "conflict",
         path="/predictions:batch", before=(("/predictions", pred("d5")),)),
    Case("feedback id again with different content", {"prediction_id": "p-0", "kind": "explicit", "label": "technical",
                                                       "feedback_id": "f1"}, 409, "conflict", path="/feedback",
         before=(("/feedback", {"prediction_id": "p-0", "kind": "explicit", "label": "billing", "feedback_id": "f1"}),)),
    # --- wrong types, unknown and missing fields
    Case("confidence as text", pred("w1", confidence="high"), 422, "validation_error", "confidence"),
    Case("features not an object", pred("w2", features="web"), 422, "validation_error", "features"),
    Case("prediction as a number", pred("w3", prediction=5), 422, "validation_error", "prediction"),
    Case("timestamp as a number", pred("w4", timestamp=1767225600), 422, "validation_error", "timestamp"),
    Case("probability as text", pred("w5", probabilities={"billing": "most"}), 422, "validation_error", "probabilities.billing"),
    Case("numeric feature as text", pred("w6", features={"category": "web", "length": "long"}), 422, "batch_rejected",
         "length", (0, "length")),
    Case("feedback rating as text", {"prediction_id": "p-0", "kind": "explicit", "rating": "five"}, 422, "validation_error",
         "rating", path="/feedback"),
    Case("batch records not a list", {"records": {"prediction_id": "w7"}}, 422, "validation_error", "records",
         path="/predictions:batch"),
    Case("batch row not an object", {"records": [pred("w8"), 7]}, 422, "validation_error", record=(1, None),
         path="/predictions:batch"),
    Case("unknown field", {**pred("k1"), "confidense": 0.5}, 422, "validation_error", "confidense"),
    Case("unknown field in a batch row", {"records": [pred("k2"), {**pred("k3"), "colour": "red"}]}, 422, "batch_rejected",
         "colour", (1, "colour"), path="/predictions:batch"),
    Case("unknown field next to records", {"records": [pred("k4")], "model": "tickets"}, 422, "validation_error", "model",
         path="/predictions:batch"),
    Case("unknown feature", pred("k5", features={"category": "web", "colour": "red"}), 422, "batch_rejected", "colour",
         (0, "colour")),
    Case("missing prediction (and no error)", without(pred("m1"), "prediction"), 422, "batch_rejected", "prediction",
         (0, "prediction"), says="missing"),
    Case("missing confidence", without(pred("m2"), "confidence"), 422, "batch_rejected", "confidence", (0, "confidence")),
    Case("feedback without prediction_id", {"kind": "explicit", "label": "billing"}, 422, "validation_error", "prediction_id",
         path="/feedback"),
    Case("feedback of an unknown kind", {"prediction_id": "p-0", "kind": "gossip", "label": "billing"}, 422, "batch_rejected",
         "kind", (0, "kind"), path="/feedback"),
    Case("route without prediction_id", {"confidence": 0.2}, 422, "validation_error", "prediction_id", path="/route"),
    # --- values out of their domain
    Case("timestamp that is no date", pred("v1", timestamp="yesterday"), 422, "batch_rejected", "timestamp", (0, "timestamp")),
    Case("timestamp with month 13", pred("v2", timestamp="2026-13-45T00:00:00"), 422, "batch_rejected", "timestamp",
         (0, "timestamp")),
    Case("empty timestamp", pred("v3", timestamp=""), 422, "batch_rejected", "timestamp", (0, "timestamp")),
    Case("negative latency", pred("v4", latency_ms=-5.0), 422, "batch_rejected", "latency_ms", (0, "latency_ms"), says=">= 0"),
    Case("confidence above 1", pred("v5", confidence=1.5), 422, "batch_rejected", "confidence", (0, "confidence"), says="[0, 1]"),
    Case("confidence below 0", pred("v6", confidence=-0.1), 422, "batch_rejected", "confidence", (0, "confidence")),
    Case("unknown label", pred("v7", prediction="refund"), 422, "batch_rejected", "prediction", (0, "prediction")),
    Case("feedback with an unknown label", {"prediction_id": "p-0", "kind": "explicit", "label": "refund"}, 422,
         "batch_rejected", "label", (0, "label"), path="/feedback"),
    Case("unknown model", pred("v8"), 404, "not_found", path="/../nope/predictions", says="tickets"),
    Case("batch with one bad row among good ones (nothing written)",
         {"records": [pred("b1"), pred("b2", confidence=2.0), pred("b3")]}, 422, "batch_rejected", "confidence",
         (1, "confidence"), path="/predictions:batch", says="nothing from this batch was written"),
    Case("100,001 records in one batch", {"records": [{}] * 100_001}, 422, "validation_error", "records",
         path="/predictions:batch", says="100000"),
    Case("silence of an empty duration", {"duration": "", "comment": "x"}, 422, "validation_error", "duration",
         path="/silences"),
    Case("silence of 99999999999999 days", {"duration": "99999999999999d", "comment": "x"}, 422, "validation_error",
         "duration", path="/silences"),
    Case("silence ending after the year 9999", {"duration": "2d", "comment": "x", "starts_at": "9999-12-31T00:00:00"},
         422, "validation_error", path="/silences", says="9999"),
]


@dataclass
class Service:
    client: TestClient
    store: DuckDBStore

    def rows(self) -> dict[str, int]:
        """Rows of every table a write touches, counted with SQL on the store."""
        return {t: int(self.store.query(f"SELECT count(*) FROM {t}")[0][0]) for t in WRITTEN_TABLES}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("catalogue")
    config = root / "steward.yaml"
    config.write_text(yaml.safe_dump(config_dict(root / "steward.duckdb")), encoding="utf-8")
    with DuckDBStore(root / "steward.duckdb") as store:
        admin = create_token(store, name="catalogue", scopes=["admin"])[1]
    app = create_app(config)
    with TestClient(app, headers={"Authorization": f"Bearer {admin}"}) as client:
        assert client.post(API + "/predictions", json=prediction(0)).status_code == 201  # p-0, for feedback to point at
        yield Service(client, app.state.monitor.store)


def send(client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    hdrs = {"content-type": "application/json", **(headers or {})}
    if callable(body):
        content: Any = body()
    elif isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if hdrs["content-type"] == "":
        del hdrs["content-type"]
    return client.post(API + path if not path.startswith("/..") else "/api/v1/models" + path[3:], content=content, headers=hdrs)


def assert_error(r: httpx.Response, case: Case) -> dict[str, Any]:
    assert r.status_code == case.status, r.text[:500]
    body = r.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert {"status", "code", "message", "field", "records"} <= set(err)
    assert err["status"] == case.status and err["code"] == case.code
    assert isinstance(err["message"], str) and len(err["message"]) > 15
    if case.field is not None:
        assert err["field"] == case.field, err
    if case.record is not None:
        assert err["records"], err
        first = err["records"][0]
        assert set(first) == {"index", "id", "field", "problem"}
        assert (first["index"], first["field"]) == case.record, err["records"]
        assert first["problem"]
    assert case.says in err["message"], err["message"][:300]
    return err


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_malformed_input_gets_its_answer_and_writes_nothing(service: Service, case: Case) -> None:
    for path, body in case.before:
        assert send(service.client, path, body).status_code == 201
    before = service.rows()
    r = send(service.client, case.path, case.body, case.headers)
    if case.code is None:
        assert r.status_code == case.status, r.text[:500]
        assert all(r.json()[k] == v for k, v in case.reply), r.text[:500]
    else:
        assert_error(r, case)
    after = service.rows()
    assert sum(after.values()) - sum(before.values()) == case.written, (before, after)
    # The service still takes a good record afterwards.
    good = f"good-{next(_fresh)}"
    assert send(service.client, "/predictions", pred(good)).status_code == 201
    assert service.store.query(f"SELECT count(*) FROM {WRITTEN_TABLES[0]} WHERE prediction_id = ?", [good]) == [(1,)]


def test_accepted_unicode_is_stored_exactly_as_sent(service: Service) -> None:
    """The ids the catalogue let in come back byte for byte (read with SQL)."""
    ids = ["u5-🚀", "u6\x00nul", "u7\u202eltr\u200f", "🚀-u8", "x" * 100_000]
    for pid in ids:
        rows = service.store.query(f"SELECT prediction_id FROM {WRITTEN_TABLES[0]} WHERE prediction_id = ?", [pid])
        assert rows == [(pid,)], pid[:20]
    emoji = service.store.query(f"SELECT prediction FROM {WRITTEN_TABLES[0]} WHERE prediction_id = 'u9'")
    assert emoji == [(EMOJI_LABEL,)]


def test_every_catalogue_answer_is_in_the_schema(service: Service) -> None:
    """Each status the catalogue met is documented for its route, with the one error shape."""
    schema = service.client.get("/api/openapi.json").json()
    for case in CATALOGUE:
        route = "/api/v1/models/{model}" + case.path.replace("/..", "").replace("/nope", "")
        responses = schema["paths"][route]["post"]["responses"]
        assert str(case.status) in responses, (case.name, route, sorted(responses))
        if case.status >= 400:
            assert responses[str(case.status)]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


# --- transport-level cases against a real `steward serve` --------------------------------------------


@pytest.fixture
def live(tmp_path: Path, start_server: Callable[..., Any]) -> Iterator[tuple[Any, str, Path]]:
    store = tmp_path / "steward.duckdb"
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump(config_dict(store)), encoding="utf-8")
    with DuckDBStore(store) as st:
        admin = create_token(st, name="catalogue", scopes=["admin"])[1]
    server = start_server(config)
    yield server, admin, store


def exchange(url: str, head: bytes, body: bytes, *, shut: bool = False, timeout: float = 10) -> bytes:
    """Send raw bytes on one connection and read until the server closes it (or ``timeout``)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head + body)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def request_head(path: str, token: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {token}",
             *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answers(data: bytes) -> list[tuple[int, bytes]]:
    """(status, body) of each HTTP/1.1 response in ``data``."""
    out = []
    while data.startswith(b"HTTP/1.1 "):
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
        out.append((status, rest[:length]))
        data = rest[length:]
    return out


def stored(store: Path) -> int:
    with duckdb.connect(str(store), read_only=True) as con:
        return sum(int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in WRITTEN_TABLES)  # type: ignore[index]


def test_transport_level_malformed_bodies_against_a_real_server(live: tuple[Any, str, Path]) -> None:
    server, admin, store = live
    path = API + "/predictions"
    body = json.dumps(pred("live-1")).encode()
    catalogue: dict[str, tuple[int, str | None]] = {}

    # Body shorter than its Content-Length, then the client stops sending: no answer, nothing stored.
    got = exchange(server.url, request_head(path, admin, content_type="application/json", content_length=str(len(body) + 50)),
                   body, shut=True, timeout=3)
    catalogue["body shorter than Content-Length"] = (answers(got)[0][0] if answers(got) else 0, None)
    assert answers(got) == []  # the server waits for the rest, then sees the client leave: nothing to answer

    # Body longer than its Content-Length: the declared bytes are a truncated JSON (the app answers 422 invalid_json),
    # the rest is no HTTP request: uvicorn's parser answers 400 and closes the connection, often before the 422 is sent.
    got = answers(exchange(server.url, request_head(path, admin, content_type="application/json", content_length="20"), body))
    assert got and got[0][0] in (400, 422) and got[-1][0] == 400
    if got[0][0] == 422:
        assert json.loads(got[0][1])["error"]["code"] == "invalid_json"
    catalogue["body longer than Content-Length"] = (got[0][0], None)

    # Content-Length that is no number: refused by the HTTP parser before the application.
    got = answers(exchange(server.url, request_head(path, admin, content_type="application/json", content_length="ten"), body))
    assert got and got[0][0] == 400
    catalogue["Content-Length that is no number"] = (400, None)

    # Oversized, declared: 413 at once (nothing read), the connection closed.
    got = answers(exchange(server.url, request_head(path + ":batch", admin, content_type="application/json",
                                                    content_length=str(LIMIT + 1)), b"{"))
    assert got[0][0] == 413 and json.loads(got[0][1])["error"]["code"] == "too_large"
    catalogue["oversized, declared Content-Length"] = (413, "too_large")

    # Oversized, chunked: 413 once the limit is passed.
    chunk = b" " * (256 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in [b'{"records": [', *[chunk] * 5]) + b"0\r\n\r\n"
    got = answers(exchange(server.url, request_head(path + ":batch", admin, content_type="application/json",
                                                    transfer_encoding="chunked"), chunks))
    assert got[0][0] == 413 and json.loads(got[0][1])["error"]["code"] == "too_large"
    catalogue["oversized, chunked"] = (413, "too_large")

    # Truncated JSON with an honest Content-Length.
    cut = body[: len(body) // 2]
    got = answers(exchange(server.url, request_head(path, admin, content_type="application/json", content_length=str(len(cut))), cut))
    assert got[0][0] == 422 and json.loads(got[0][1])["error"]["code"] == "invalid_json"
    catalogue["truncated JSON, honest Content-Length"] = (422, "invalid_json")

    # The server still answers and takes a good record; nothing of the above was stored.
    r = httpx.post(server.url + path, json=pred("live-2"), headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 201, r.text
    server.stop()
    with duckdb.connect(str(store), read_only=True) as con:
        ids = [row[0] for row in con.execute(f"SELECT prediction_id FROM {WRITTEN_TABLES[0]}").fetchall()]
    assert ids == ["live-2"]
    assert stored(store) == 1
    print("\n" + "\n".join(f"{k}: {v}" for k, v in catalogue.items()))
