"""Users, sessions, CSRF and tokens: what is stored (hashes only), what is accepted, and for how long."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi import Depends
from fastapi.testclient import TestClient

from modelsteward.errors import ConflictError, NotFoundError, ValidationError
from modelsteward.server import auth
from modelsteward.server.app import create_app
from modelsteward.store.duckdb_store import DuckDBStore


@pytest.fixture
def store(db_path) -> DuckDBStore:  # type: ignore[no-untyped-def]
    s = DuckDBStore(db_path)
    yield s
    s.close()


def test_passwords_are_stored_as_argon2_hashes_and_checked(store: DuckDBStore) -> None:
    auth.create_user(store, "carol", "reviewer", "a long enough secret")
    (stored,) = store.query("SELECT password_hash FROM users WHERE name = 'carol'")[0]
    assert "a long enough secret" not in stored and stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, "a long enough secret")  # an independent check of the hash
    assert auth.authenticate_user(store, "carol", "a long enough secret") == auth.User("carol", "reviewer")
    assert auth.authenticate_user(store, "carol", "a long enough secreT") is None
    assert auth.authenticate_user(store, "nobody", "a long enough secret") is None
    with pytest.raises(ConflictError):
        auth.create_user(store, "carol", "admin", "another long secret")
    with pytest.raises(ValidationError):
        auth.create_user(store, "dave", "superuser", "a long enough secret")
    with pytest.raises(ValidationError):
        auth.create_user(store, "dave", "viewer", "short")


def test_roles_rank_viewer_reviewer_admin() -> None:
    viewer, reviewer, admin = (auth.User("u", r) for r in ("viewer", "reviewer", "admin"))
    assert [u.has_role("reviewer") for u in (viewer, reviewer, admin)] == [False, True, True]
    assert [u.has_role("admin") for u in (viewer, reviewer, admin)] == [False, False, True]
    assert all(u.has_role("viewer") for u in (viewer, reviewer, admin))


def test_sessions_are_hashed_at_rest_expire_and_revoke(store: DuckDBStore) -> None:
    user = auth.create_user(store, "carol", "viewer", "a long enough secret")
    token = auth.create_session(store, user)
    assert store.query("SELECT token_hash FROM sessions") == [(hashlib.sha256(token.encode()).hexdigest(),)]
    assert auth.session_user(store, token) == user
    assert auth.session_user(store, token + "x") is None and auth.session_user(store, None) is None
    expired = auth.create_session(store, user, ttl=timedelta(seconds=-1))
    assert auth.session_user(store, expired) is None
    auth.revoke_session(store, token)
    assert auth.session_user(store, token) is None


def test_csrf_token_is_the_hmac_of_the_session_under_the_server_secret(store: DuckDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_SECRET", "s3cret")
    auth.init_secret(store)
    expected = hmac.new(b"s3cret", b"csrf:abc", hashlib.sha256).hexdigest()
    assert auth.csrf_token("abc") == expected
    assert auth.check_csrf("abc", expected) and not auth.check_csrf("abd", expected) and not auth.check_csrf("abc", None)
    monkeypatch.delenv("STEWARD_SECRET")
    auth.init_secret(store)  # from the store: made once, the same after a restart
    first = auth.csrf_token("abc")
    auth.init_secret(store)
    assert auth.csrf_token("abc") == first != expected


def test_tokens_are_hashed_scoped_listed_and_revoked(store: DuckDBStore) -> None:
    tok, secret = auth.create_token(store, name="bot", scopes=["read", "ingest"])
    assert tok.scopes == ("ingest", "read")
    assert store.query("SELECT token_hash FROM api_tokens") == [(hashlib.sha256(secret.encode()).hexdigest(),)]
    assert secret not in str(store.query("SELECT * FROM api_tokens"))
    found = auth.token_identity(store, secret)
    assert found is not None and found.allows("read") and not found.allows("review")
    admin = auth.token_identity(store, auth.create_token(store, name="root", scopes=["admin"])[1])
    assert admin is not None and all(admin.allows(s) for s in auth.SCOPES)
    assert [t.name for t in auth.list_tokens(store)] == ["bot", "root"]
    auth.revoke_token(store, tok.token_id)
    assert auth.token_identity(store, secret) is None
    assert [t.name for t in auth.list_tokens(store)] == ["root"]
    assert [t.name for t in auth.list_tokens(store, include_revoked=True)] == ["bot", "root"]
    with pytest.raises(NotFoundError):
        auth.revoke_token(store, tok.token_id)
    with pytest.raises(ValidationError):
        auth.create_token(store, name="bot", scopes=["write"])


def test_require_role_reads_the_session_cookie(config_file) -> None:  # type: ignore[no-untyped-def]
    app = create_app(config_file)
    _reviewer = Depends(auth.require_role("reviewer"))

    @app.get("/decide-something")
    async def decide(user: auth.User = _reviewer) -> dict[str, str]:
        return {"reviewer": user.name}

    store = app.state.monitor.store
    viewer = auth.create_session(store, auth.create_user(store, "vic", "viewer", "a long enough secret"))
    reviewer = auth.create_session(store, auth.create_user(store, "rita", "reviewer", "a long enough secret"))
    with TestClient(app) as client:
        assert client.get("/decide-something").json()["error"]["status"] == 401
        client.cookies.set(auth.SESSION_COOKIE, viewer)
        assert client.get("/decide-something").json()["error"]["code"] == "insufficient_role"
        client.cookies.set(auth.SESSION_COOKIE, reviewer)
        assert client.get("/decide-something").json() == {"reviewer": "rita"}


def test_live_tokens_are_remembered_briefly_and_revocation_here_is_immediate(store: DuckDBStore,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    tok, secret = auth.create_token(store, name="ingester", scopes=["ingest"])
    assert auth.token_identity(store, secret) == tok
    # revoked by another process sharing the store (a direct UPDATE): remembered until the cache expires
    store.query("UPDATE api_tokens SET revoked_at = now() WHERE token_id = ?", [tok.token_id])
    clock[0] += auth.TOKEN_CACHE_SECONDS - 0.01
    assert auth.token_identity(store, secret) == tok
    clock[0] += 0.02
    assert auth.token_identity(store, secret) is None
    # revoked in this process: refused at once, even while remembered
    tok2, secret2 = auth.create_token(store, name="reader", scopes=["read"])
    assert auth.token_identity(store, secret2) == tok2
    auth.revoke_token(store, tok2.token_id)
    assert auth.token_identity(store, secret2) is None
    # a secret that matches no token is refused (and never remembered)
    assert auth.token_identity(store, auth.TOKEN_PREFIX + "nope") is None
