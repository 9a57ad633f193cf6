"""Schema-driven fuzzing of the HTTP API from its own OpenAPI schema (schemathesis).

The app runs in process on a temporary DuckDB store that holds some data (predictions with
feedback, review items, an incident), so the fuzzed calls reach past "not found". Each
operation gets a bounded number of examples (``MAX_EXAMPLES``), valid and invalid ones, with
Hypothesis derandomized so that a CI run is reproducible; no deadline (DuckDB writes vary).

Two runs: with an admin token (the calls get past auth and reach the handlers) and without a
token (every API call must be refused with a documented 401). Both hold the same checks: no
5xx, every status, content type and body as the schema documents them (the schema documents
the one error shape for every error a route can answer).

Each operation is its own test, driven by ``operation.as_strategy()`` under ``@given``:
schemathesis's own pytest integration (``@schema.parametrize()``) does not run on pytest 9.2, and
its plugin ends an ASGI application's lifespan (closing our store) after every test, so the
fuzzed app is wrapped without one.

Figures: ``.venv/bin/pytest -q -s tests/server/test_schema_fuzz.py`` prints the operations,
examples and statuses of both runs (docs/reliability.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from modelsteward.config import StewardConfig
from modelsteward.server.app import create_app
from modelsteward.server.auth import create_token
from modelsteward.server.scheduler import run_cycle
from modelsteward.store.duckdb_store import DuckDBStore

from .conftest import model_dict, prediction

MAX_EXAMPLES = 25  # per operation and mode (valid, invalid) with the token
ANONYMOUS_EXAMPLES = 8  # per operation and mode without it: every one is refused the same way
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))

# What the two runs saw, printed at the end of the module (the figures of docs/reliability.md).
SEEN: dict[str, Counter[str]] = {"token": Counter(), "anonymous": Counter()}
STATUSES: dict[str, Counter[int]] = {"token": Counter(), "anonymous": Counter()}


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    """Prints what the two runs did, after the module (seen with ``-s``)."""
    yield
    for run in ("token", "anonymous"):
        if SEEN[run]:
            print(f"\nschemathesis {run}: {len(SEEN[run])} operations, {sum(SEEN[run].values())} examples, "
                  f"statuses {dict(sorted(STATUSES[run].items()))}")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, dict[str, list[str]]]]:
    """The app on a store with data, an admin token, and ids that exist (for path parameters)."""
    from fastapi.testclient import TestClient

    root = tmp_path_factory.mktemp("fuzz")
    config = root / "steward.yaml"
    config.write_text(yaml.safe_dump({"store": str(root / "steward.duckdb"), "models": [model_dict()]}), encoding="utf-8")
    with DuckDBStore(root / "steward.duckdb") as store:
        admin = create_token(store, name="fuzzer", scopes=["admin"])[1]
    app = create_app(config)
    ids = _seed(TestClient(app), {"Authorization": f"Bearer {admin}"}, app)  # without the lifespan: its end closes the store
    yield app, admin, ids
    app.state.monitor.close()


def _seed(client: Any, headers: dict[str, str], app: Any) -> dict[str, list[str]]:
    """Predictions with feedback, review items, a monitoring pass (an incident); the ids of what exists."""
    api = "/api/v1/models/tickets"
    r = client.post(api + "/predictions:batch", headers=headers, json={"records": [prediction(i) for i in range(60)]})
    assert r.status_code == 201, r.text
    fb = [{"prediction_id": f"p-{i}", "kind": "explicit", "label": "billing" if i % 4 else "technical"} for i in range(60)]
    assert client.post(api + "/feedback:batch", headers=headers, json={"records": fb}).status_code == 201
    for i in range(5):
        assert client.post(api + "/route", headers=headers, json={"prediction_id": f"p-{i}"}).status_code == 200
    with app.state.lock:
        run_cycle(app.state.monitor, until=datetime(2026, 3, 16))  # windows, drift, alerts: an incident to act on
    return {"item_id": [it["item_id"] for it in client.get(api + "/review/items", headers=headers).json()["items"]],
            "incident_id": [i["incident_id"] for i in client.get(api + "/incidents", headers=headers).json()["items"]]}


def _without_lifespan(app: Any) -> Any:
    """``app`` for schemathesis, which ends an application's lifespan (closing our store) after each test."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[Any, str, dict[str, list[str]]]) -> Any:
    app, _admin, _ids = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", _without_lifespan(app))
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    return schema


def _operations() -> dict[str, bool]:
    """``METHOD /path`` of every operation, and whether it takes a query or a body (an app on an in-memory store tells)."""
    app = create_app(StewardConfig.model_validate({"models": [model_dict()]}), store=":memory:")
    try:
        return {f"{m.upper()} {path}": bool([p for p in op.get("parameters", []) if p["in"] != "path"] or op.get("requestBody"))
                for path, ops in app.openapi()["paths"].items() for m, op in ops.items()}
    finally:
        app.state.monitor.close()


TAKES_INPUT = _operations()
OPERATIONS = list(TAKES_INPUT)


def _aim(case: schemathesis.Case, ids: dict[str, list[str]]) -> None:
    """Point a valid case at data that exists: mostly the configured model, sometimes a stored item or incident."""
    params = case.path_parameters or {}
    if "model" in params and len(str(params["model"])) % 4 != 3:
        params["model"] = "tickets"
    for key in ("item_id", "incident_id"):
        if key in params and ids.get(key) and len(str(params[key])) % 2 == 0:
            params[key] = ids[key][len(str(params[key])) % len(ids[key])]


def _fuzz(schema: Any, label: str, run: str, headers: dict[str, str], ids: dict[str, list[str]], checks: list[Any],
          modes: tuple[GenerationMode, ...], examples: int, extra: Any = None) -> None:
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    for mode in modes if TAKES_INPUT[label] else modes[:1]:  # path parameters alone (text) have no invalid value
        _fuzz_mode(operation, mode, label, run, headers, ids, checks, examples, extra)
    assert SEEN[run][label] > 0  # the operation was called


def _fuzz_mode(operation: Any, mode: GenerationMode, label: str, run: str, headers: dict[str, str], ids: dict[str, list[str]],
               checks: list[Any], examples: int, extra: Any) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE:
            _aim(case, ids)
        response = case.call_and_validate(headers=headers, checks=checks)
        SEEN[run][label] += 1
        STATUSES[run][response.status_code] += 1
        if extra is not None:
            extra(case, response)

    one()


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_with_an_admin_token_answers_within_its_schema(label: str, api_schema: Any, fuzz_app: Any) -> None:
    _app, admin, ids = fuzz_app
    _fuzz(api_schema, label, "token", {"Authorization": f"Bearer {admin}"}, ids, CHECKS,
          (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), MAX_EXAMPLES)


def _refused(case: schemathesis.Case, response: Any) -> None:
    if case.path.startswith("/api/v1") or case.path == "/metrics":
        assert response.status_code == 401, (case.method, case.formatted_path, response.status_code, response.text[:300])
        assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_without_a_token_refuses_within_its_schema(label: str, api_schema: Any, fuzz_app: Any) -> None:
    _app, _admin, ids = fuzz_app
    _fuzz(api_schema, label, "anonymous", {}, ids, CHECKS[:4], (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
          ANONYMOUS_EXAMPLES, _refused)
