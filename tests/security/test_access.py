"""Every API endpoint and every page refuses callers without the right credentials.

Routes are read from the application, so a new one is checked without editing this file: an
API route must declare a scope (or sit on the public allow-list below), and its scope must be
the one its method and path call for; a page must send a caller without a live session to the
sign-in form and refuse a role that is too low.

Public on purpose:

- ``/healthz``, ``/readyz``: probes of load balancers and orchestrators, which carry no token
  (issue 6: "the API refuses everything but a health check"); they answer only ``ok``/``ready``.
- ``/login`` (GET, POST): the way in.
- ``/static/web/*``: the dashboard's CSS and script and the bundled plotly.js: code, no data.
- ``/api/openapi.json``, ``/api/docs``, ``/docs/oauth2-redirect``: the published API
  description (issue 6 asks for it "at a stable path"; schema fuzzers and client generators
  read it). It describes shapes only, holds no data, and ``test_secrets.py`` checks that no
  token or password reaches it.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from modelsteward.server import auth
from modelsteward.server.app import create_app

from .conftest import MODEL, ROLE_OF, RouteInfo, Secured, app_routes, assert_error_shape, bearer, form_token, sign_in

PUBLIC = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/login"), ("POST", "/login"),
    ("GET", "/api/openapi.json"), ("GET", "/api/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/static/web/plotly.min.js"), ("GET", "/static/web/plotly.css"), ("GET", "/static/web/{name}"),
}
INGEST_PATHS = re.compile(r"/(predictions|predictions:batch|feedback|feedback:batch|route)$")
ROLE_RANK = {"viewer": 0, "reviewer": 1, "admin": 2}


def expected_scope(r: RouteInfo) -> str:
    """The scope issue 6 gives an API route: reads need ``read``; writes of events ``ingest``; people acting ``review``."""
    if r.method == "GET":
        return "read"
    return "ingest" if INGEST_PATHS.search(r.path) else "review"


def expected_role(r: RouteInfo) -> str:
    """The role a page needs (the table in :mod:`modelsteward.server.web.actions`)."""
    if r.path.startswith("/admin/"):
        return "admin"
    if r.method == "GET" or r.path == "/logout":
        return "viewer"
    return "admin" if r.path.endswith(("/silence", "/expire")) else "reviewer"


def is_api(r: RouteInfo) -> bool:
    return r.path.startswith("/api/") or r.path == "/metrics"


def concrete(path: str) -> str:
    return path.replace("{model}", MODEL).replace("{name}", "dashboard.css").replace("{feature}", "category") \
        .replace("{incident_id}", "inc-none").replace("{item_id}", "rv-none").replace("{silence_id}", "sil-none") \
        .replace("{request_id}", "rr-none").replace("{token_id}", "tok-none")


def call(client: TestClient, r: RouteInfo, **kw: object) -> object:
    if r.method == "GET":
        return client.get(concrete(r.path), **kw)  # type: ignore[arg-type]
    return client.request(r.method, concrete(r.path), json={} if is_api(r) else None, **kw)  # type: ignore[arg-type]


def classification_problems(routes: list[RouteInfo]) -> list[str]:
    problems = []
    for r in routes:
        key = (r.method, r.path)
        if key in PUBLIC:
            if r.scopes:
                problems.append(f"{key} is on the public list but asks for {r.scopes}")
        elif is_api(r):
            if r.scopes != (expected_scope(r),):
                problems.append(f"{key} needs {r.scopes or 'nothing'}; expected ({expected_scope(r)!r},)")
        elif r.in_schema:
            problems.append(f"{key} is in the API schema but outside /api/: give it a scope or hide it")
    return problems


def test_every_route_is_public_on_purpose_or_protected(secured: Secured) -> None:
    routes = app_routes(secured.client.app)  # type: ignore[arg-type]
    assert len(routes) > 40  # the walk reached the included routers
    assert classification_problems(routes) == []
    # The table in the docs is what the code does: every read takes `read`, every ingest `ingest`.
    assert {expected_scope(r) for r in routes if is_api(r) and (r.method, r.path) not in PUBLIC} == {"read", "ingest", "review"}


def test_a_route_added_without_protection_is_caught(secured: Secured) -> None:
    from fastapi import APIRouter, Depends

    app = secured.client.app
    extra = APIRouter(prefix="/api/v1")

    @extra.get("/models/{model}/leak")
    async def leak(model: str) -> dict[str, str]:
        return {"model": model}

    @extra.post("/models/{model}/wrong-scope")
    async def wrong(model: str, principal: auth.Principal = Depends(auth.require_scope("read"))) -> dict[str, str]:  # noqa: B008
        return {"model": model}

    app.include_router(extra)  # type: ignore[attr-defined]
    problems = classification_problems(app_routes(app))  # type: ignore[arg-type]
    assert len(problems) == 2 and "leak" in problems[0] and "wrong-scope" in problems[1]


def test_every_api_route_refuses_missing_wrong_revoked_and_underscoped_tokens(secured: Secured) -> None:
    client, tokens = secured.client, secured.tokens
    api = [r for r in app_routes(client.app) if is_api(r) and (r.method, r.path) not in PUBLIC]  # type: ignore[arg-type]
    failures = []
    for r in api:
        need = expected_scope(r)
        cases: list[tuple[str, dict[str, str], int, str]] = [
            ("missing", {}, 401, "unauthenticated"),
            ("wrong", bearer("stw_" + "A" * 43), 401, "invalid_token"),
            ("not ours", bearer("ghp_0123456789abcdef"), 401, "invalid_token"),
            ("basic", {"Authorization": "Basic YWRhOmFkYQ=="}, 401, "unauthenticated"),
            ("empty", {"Authorization": "Bearer "}, 401, "invalid_token"),
            ("revoked", bearer(tokens["revoked"]), 401, "invalid_token"),
        ]
        cases += [(f"scope {s}", bearer(tokens[s]), 403, "insufficient_scope") for s in auth.SCOPES if s not in (need, "admin")]
        for what, headers, status, code in cases:
            answer = call(client, r, headers=headers)
            got = (answer.status_code, answer.json().get("error", {}).get("code"))  # type: ignore[attr-defined]
            if got != (status, code):
                failures.append(f"{r.method} {r.path} with {what} token: {got}, expected {(status, code)}")
                continue
            assert_error_shape(answer.json(), status)  # type: ignore[attr-defined]
            if status == 401:
                assert answer.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]
        for s in (need, "admin"):  # the right scope gets past the door (the empty body or unknown ids may still be refused)
            answer = call(client, r, headers=bearer(tokens[s]))
            if answer.status_code in (401, 403):  # type: ignore[attr-defined]
                failures.append(f"{r.method} {r.path} refused its own scope {s}: {answer.status_code}")  # type: ignore[attr-defined]
    assert failures == []


def test_an_unauthenticated_request_learns_nothing_from_its_body(secured: Secured) -> None:
    # FastAPI parses a JSON body before running dependencies, so a malformed body is refused as
    # malformed (422) even without a token; the answer names no record and no model data.
    answer = secured.client.post(f"/api/v1/models/{MODEL}/predictions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code in (401, 422)
    assert_error_shape(answer.json(), answer.status_code)
    assert "tickets" not in answer.text.replace(f"/models/{MODEL}/", "")  # no model facts beyond the path it was sent to


def test_revocation_is_immediate_in_this_process_even_with_a_warm_cache(secured: Secured) -> None:
    client, store = secured.client, secured.store
    tok, secret = auth.create_token(store, name="short-lived", scopes=["read"])
    for _ in range(3):  # warm the 5 s cache
        assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 200
    assert auth.token_identity(store, secret) is not None
    auth.revoke_token(store, tok.token_id)
    answer = client.get("/api/v1/models", headers=bearer(secret))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token"


def test_revocation_through_the_cli_is_immediate_for_a_server_in_the_same_process(secured: Secured, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from click.testing import CliRunner

    from modelsteward.cli import main

    from .conftest import config_dict

    client, store = secured.client, secured.store
    tok, secret = auth.create_token(store, name="cli-revoked", scopes=["read"])
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 200  # cached now
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump(config_dict(tmp_path / "steward.duckdb")), encoding="utf-8")
    result = CliRunner().invoke(main, ["token", "revoke", tok.token_id, "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 401


def test_a_revocation_made_elsewhere_is_seen_once_the_cache_entry_expires(secured: Secured, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process writes only the store; this process learns of it when its cache entry ends
    # (TOKEN_CACHE_SECONDS). Simulated by writing the row directly and shrinking the cache life.
    client, store = secured.client, secured.store
    tok, secret = auth.create_token(store, name="elsewhere", scopes=["read"])
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 200
    store.query("UPDATE api_tokens SET revoked_at = now() WHERE token_id = ?", [tok.token_id])
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 200  # still cached: the documented window
    monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)
    auth._token_cache.clear()  # entries made under the old life
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 401


def test_dev_mode_is_off_unless_asked(secured: Secured) -> None:
    assert secured.client.app.state.dev is False  # type: ignore[attr-defined]
    assert secured.client.get("/api/v1/models").status_code == 401


# -- pages -----------------------------------------------------------------------------------------
def _pages(client: TestClient) -> list[RouteInfo]:
    return [r for r in app_routes(client.app) if not is_api(r) and (r.method, r.path) not in PUBLIC]  # type: ignore[arg-type]


def test_every_page_sends_a_caller_without_a_live_session_to_sign_in(secured: Secured) -> None:
    client = secured.client
    session = sign_in(client, "ada")
    client.post("/logout", data={"csrf_token": form_token(client.get(f"/models/{MODEL}").text)})
    assert auth.session_user(secured.store, session) is None  # signed out: the old cookie is dead
    failures = []
    pages = _pages(client)
    assert len(pages) >= 15
    for r in pages:
        for what, cookie in (("no", None), ("forged", "x" * 43), ("signed-out", session)):
            client.cookies.clear()
            if cookie is not None:
                client.cookies.set(auth.SESSION_COOKIE, cookie)
            data = {"csrf_token": auth.csrf_token(cookie or "none"), "comment": "x", "hours": "1", "decision": "accept"}
            answer = client.get(concrete(r.path)) if r.method == "GET" else client.post(concrete(r.path), data=data)
            if answer.status_code != 303 or not answer.headers["location"].startswith("/login"):
                failures.append(f"{r.method} {r.path} with {what} session: {answer.status_code}")
    assert failures == []


def test_every_page_refuses_a_role_below_its_own(secured: Secured) -> None:
    client = secured.client
    failures = []
    for name, role in ROLE_OF.items():
        sign_in(client, name)
        csrf = form_token(client.get(f"/models/{MODEL}").text)
        for r in _pages(client):
            need = expected_role(r)
            data = {"csrf_token": csrf, "comment": "x", "hours": "1", "decision": "accept"}
            if r.path == "/logout":
                continue  # any signed-in user may sign out (checked above)
            answer = client.get(concrete(r.path)) if r.method == "GET" else client.post(concrete(r.path), data=data)
            low = ROLE_RANK[role] < ROLE_RANK[need]
            if low and (answer.status_code != 403 or f"needs the {need} role" not in answer.text):
                failures.append(f"{name} ({role}) on {r.method} {r.path}: {answer.status_code}, expected 403")
            refused = answer.status_code in (401, 403) or answer.headers.get("location", "").startswith("/login")
            if not low and refused:
                failures.append(f"{name} ({role}) refused on {r.method} {r.path}: {answer.status_code}")
    assert failures == []


def test_pages_refuse_an_api_token_instead_of_a_session(secured: Secured) -> None:
    client = secured.client
    client.cookies.clear()
    answer = client.get(f"/models/{MODEL}", headers=bearer(secured.tokens["admin"]))
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_dev_app_still_guards_the_pages(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from modelsteward.config import StewardConfig

    from .conftest import config_dict

    cfg = StewardConfig.model_validate(config_dict(tmp_path / "s.duckdb"))
    with TestClient(create_app(cfg, store=tmp_path / "s.duckdb", dev=True), follow_redirects=False) as client:
        assert client.get("/api/v1/models").status_code == 200  # the API is open in dev mode (loopback only)
        assert client.get(f"/models/{MODEL}").status_code == 303  # the pages still need a session


def test_an_admin_revokes_a_token_from_the_dashboard_while_the_server_runs(secured: Secured) -> None:
    # With a DuckDB store `steward token revoke` cannot open the file while `steward serve` holds
    # it, so the dashboard is where a leaked token is revoked; the API refuses it at once.
    client, store = secured.client, secured.store
    tok, secret = auth.create_token(store, name="leaked", scopes=["ingest", "read"])
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 200  # cached now
    path = f"/admin/tokens/{tok.token_id}/revoke"
    sign_in(client, "rex")  # a reviewer may not
    assert client.get("/admin/tokens").status_code == 403
    assert client.post(path, data={"csrf_token": form_token(client.get(f"/models/{MODEL}").text)}).status_code == 403
    sign_in(client, "ada")
    listing = client.get("/admin/tokens")
    assert listing.status_code == 200 and tok.token_id in listing.text
    assert secret not in listing.text and all(s not in listing.text for s in secured.tokens.values())  # ids only, never secrets
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 403  # CSRF
    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 200
    done = client.post(path, data={"csrf_token": form_token(listing.text)})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/tokens?revoked={tok.token_id}"
    answer = client.get("/api/v1/models", headers=bearer(secret))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token"
    assert client.post(path, data={"csrf_token": form_token(listing.text)}).status_code == 404  # already revoked
