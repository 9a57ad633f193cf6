"""Fixtures of the security tests: an application over a store with one token per scope, a
revoked token, one user per role, and helpers to walk every route the application serves.

Routes are listed from the application itself (:func:`app_routes`), so a route added later is
checked too: the tests fail until it is protected or put on a public allow-list on purpose.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from server.conftest import model_dict  # tests/ is on sys.path (rootdir-relative packages)

from modelsteward.config import StewardConfig
from modelsteward.server import auth
from modelsteward.server.app import create_app
from modelsteward.store.duckdb_store import DuckDBStore

MODEL = "tickets"
PASSWORDS = {"vera": "vera-viewer-password", "rex": "rex-reviewer-password", "ada": "ada-admin-password"}
ROLE_OF = {"vera": "viewer", "rex": "reviewer", "ada": "admin"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class RouteInfo:
    """One (method, path) the application answers, with the scopes its dependencies require."""

    method: str
    path: str
    scopes: tuple[str, ...]
    in_schema: bool


def _required_scopes(route: Any) -> tuple[str, ...]:
    """The ``scope`` of every :func:`auth.require_scope` dependency of a route (read from the closure)."""
    found: list[str] = []

    def walk(dependant: Any) -> None:
        for sub in dependant.dependencies:
            call = sub.call
            if call is not None and getattr(call, "__qualname__", "").startswith(auth.require_scope.__name__ + "."):
                found.append(str(inspect.getclosurevars(call).nonlocals["scope"]))
            walk(sub)

    if hasattr(route, "dependant"):
        walk(route.dependant)
    return tuple(found)


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, path) of ``app``, through included routers (FastAPI keeps them lazily)."""

    def flat(routes: Any) -> Iterator[tuple[str, Any, bool]]:
        for r in routes:
            if hasattr(r, "effective_route_contexts"):  # FastAPI >= 0.16x: an included router
                for ctx in r.effective_route_contexts():
                    yield ctx.path, ctx.original_route, bool(ctx.include_in_schema)
            else:
                yield r.path, r, bool(getattr(r, "include_in_schema", False))

    out = []
    for path, route, in_schema in flat(app.routes):
        for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
            out.append(RouteInfo(method, path, _required_scopes(route), in_schema))
    return out


def config_dict(store: Path) -> dict[str, Any]:
    return {"store": str(store), "models": [model_dict()]}


@dataclass
class Secured:
    """The application under test and the credentials made for it."""

    client: TestClient
    store: DuckDBStore
    tokens: dict[str, str]  # scope name -> secret; plus "revoked"
    token_ids: dict[str, str]


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    cfg = StewardConfig.model_validate(config_dict(tmp_path / "steward.duckdb"))
    app = create_app(cfg, store=tmp_path / "steward.duckdb")
    store = app.state.monitor.store
    tokens, ids = {}, {}
    for scope in auth.SCOPES:
        tok, secret = auth.create_token(store, name=f"{scope}-bot", scopes=[scope])
        tokens[scope], ids[scope] = secret, tok.token_id
    tok, secret = auth.create_token(store, name="gone", scopes=list(auth.SCOPES))
    auth.revoke_token(store, tok.token_id)
    tokens["revoked"], ids["revoked"] = secret, tok.token_id
    for name, role in ROLE_OF.items():
        auth.create_user(store, name, role, PASSWORDS[name])
    with TestClient(app, follow_redirects=False) as client:
        yield Secured(client, store, tokens, ids)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def form_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: TestClient, name: str) -> str:
    """Sign in through the form as a browser does; returns the session cookie."""
    client.cookies.clear()
    page = client.get("/login")
    answer = client.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf_token": form_token(page.text), "next": "/"})
    assert answer.status_code == 303, answer.text
    session = client.cookies.get(auth.SESSION_COOKIE)
    assert session
    return str(session)


def assert_error_shape(body: Any, status: int) -> None:
    """The API's one error shape (see :mod:`modelsteward.server.errors`)."""
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["status"] == status and isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert "field" in err and isinstance(err["records"], list)


def fill(monitor: Any, *, items: int = 3, t0: Any = None) -> tuple[str, list[str]]:
    """Store a week of wrong predictions (one incident of rule ``acc``) and ``items`` routed review items.

    Returns the incident id and the review item ids.
    """
    from datetime import datetime, timedelta

    t0 = t0 or datetime(2026, 3, 2)
    monitor.log_predictions([{"prediction_id": f"q{i}", "prediction": "billing", "confidence": 0.9,
                              "features": {"category": "web", "length": float(i)}, "timestamp": t0 + timedelta(minutes=i)}
                             for i in range(60)])
    monitor.log_feedbacks([{"prediction_id": f"q{i}", "kind": "explicit", "label": "technical",
                            "timestamp": t0 + timedelta(minutes=i + 1)} for i in range(60)])
    monitor.check(until=t0 + timedelta(days=8))
    [incident] = monitor.alerting.incidents(model=MODEL)
    ids = []
    for i in range(items):
        monitor.log_prediction(prediction_id=f"low{i}", prediction="billing", confidence=0.5,
                               features={"category": "web", "length": 1.0}, timestamp=t0 + timedelta(hours=i))
        ids.append(monitor.route(f"low{i}").item_id)
    return str(incident["incident_id"]), ids
