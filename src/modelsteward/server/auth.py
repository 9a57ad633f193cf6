"""Who may do what: user accounts and sessions for the pages, scoped tokens for the API.

Users have a role, ``viewer < reviewer < admin``; a password is kept as an argon2id hash. A
signed-in browser holds a session token (32 random bytes) in the ``steward_session`` cookie;
the store keeps only its sha256, with an expiry. Forms carry a CSRF token, an HMAC of the
session token under the server secret (``STEWARD_SECRET``, else one generated once and kept in
the store). API tokens carry scopes (``ingest``, ``read``, ``review``, ``admin``; ``admin``
implies the others) and are stored as sha256 hashes: the token itself is shown once, at
creation.

>>> from modelsteward.store.duckdb_store import DuckDBStore
>>> store = DuckDBStore(":memory:")
>>> alice = create_user(store, "alice", "reviewer", "correct horse battery")
>>> authenticate_user(store, "alice", "wrong") is None
True
>>> session = create_session(store, authenticate_user(store, "alice", "correct horse battery"))
>>> session_user(store, session)
User(name='alice', role='reviewer')
>>> check_csrf(session, csrf_token(session)), check_csrf(session, "forged")
(True, False)
>>> token, secret = create_token(store, name="ingest-bot", scopes=["ingest"])
>>> token_identity(store, secret).scopes
('ingest',)
>>> revoke_token(store, token.token_id); token_identity(store, secret) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from modelsteward.errors import ConflictError, NotFoundError, RowError, ValidationError
from modelsteward.server.errors import ApiError
from modelsteward.store.base import Store

__all__ = [
    "ROLES",
    "SCOPES",
    "SESSION_COOKIE",
    "ApiToken",
    "Principal",
    "User",
    "authenticate_user",
    "check_csrf",
    "create_session",
    "create_token",
    "create_user",
    "csrf_token",
    "init_secret",
    "list_tokens",
    "list_users",
    "require_role",
    "require_scope",
    "revoke_session",
    "revoke_token",
    "session_user",
    "token_identity",
]

SESSION_COOKIE = "steward_session"
ROLES = ("viewer", "reviewer", "admin")  # in order of rank: each role may do what those before it may
SCOPES = ("ingest", "read", "review", "admin")
SESSION_TTL = timedelta(hours=12)
TOKEN_PREFIX = "stw_"

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")  # verified against for unknown users: same time either way
_secret: bytes | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class User:
    """A person who signs in to the pages."""

    name: str
    role: str

    def has_role(self, role: str) -> bool:
        """True when this user's role is ``role`` or ranks above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class ApiToken:
    """An API token as listed: its id and owner, never the token itself."""

    token_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def to_dict(self) -> dict[str, Any]:
        return {"token_id": self.token_id, "name": self.name, "scopes": list(self.scopes),
                "created_at": self.created_at.isoformat(), "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


@dataclass(frozen=True)
class Principal:
    """Who is calling the API: the owner of a token (or of a session), and how they came in."""

    name: str
    via: str  # token | session | dev
    token_id: str | None = None


# -- users and sessions -----------------------------------------------------------------------
def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError([RowError(None, None, "role", f"unknown role {role!r}; expected one of {', '.join(ROLES)}")])


def create_user(store: Store, name: str, role: str, password: str) -> User:
    """Add a user; an existing name is refused (:class:`ConflictError`)."""
    _check_role(role)
    if not name or not name.strip():
        raise ValidationError([RowError(None, None, "name", "a user needs a name")])
    if len(password) < 8:
        raise ValidationError([RowError(None, name, "password", "a password needs at least 8 characters")])
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchall():
            raise ConflictError(f"user {name!r} exists already", ids=[name], hint="choose another name")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, NULL)", [name, role, _HASHER.hash(password), _now()]).fetchall()
    return User(name, role)


def list_users(store: Store) -> list[User]:
    return [User(n, r) for n, r in store.query("SELECT name, role FROM users WHERE disabled_at IS NULL ORDER BY name")]


def authenticate_user(store: Store, name: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None (unknown names take as long as wrong passwords)."""
    rows = store.query("SELECT role, password_hash FROM users WHERE name = ? AND disabled_at IS NULL", [name])
    stored = rows[0][1] if rows else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return User(name, rows[0][0]) if rows else None


def create_session(store: Store, user: User, *, ttl: timedelta = SESSION_TTL) -> str:
    """Start a session for ``user``; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with store.transaction() as con:
        con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)", [_sha256(token), user.name, now, now + ttl]).fetchall()
    return token


def session_user(store: Store, session_token: str | None) -> User | None:
    """The user of a live session (not expired, not revoked, user not disabled), else None."""
    if not session_token:
        return None
    rows = store.query(
        "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user_name "
        "WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.disabled_at IS NULL",
        [_sha256(session_token), _now()],
    )
    return User(rows[0][0], rows[0][1]) if rows else None


def revoke_session(store: Store, session_token: str) -> None:
    """End a session (sign-out); an unknown token is ignored."""
    with store.transaction() as con:
        con.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                    [_now(), _sha256(session_token)]).fetchall()


# -- CSRF ------------------------------------------------------------------------------------
def init_secret(store: Store | None = None) -> None:
    """Load the server secret: ``STEWARD_SECRET``, else the store's (created once and kept there)."""
    global _secret
    env = os.environ.get("STEWARD_SECRET")
    if env:
        _secret = env.encode("utf-8")
        return
    if store is None:
        _secret = secrets.token_bytes(32)
        return
    with store.transaction() as con:
        rows = con.execute("SELECT value FROM server_state WHERE key = 'csrf_secret'").fetchall()
        if rows:
            _secret = bytes.fromhex(rows[0][0])
        else:
            _secret = secrets.token_bytes(32)
            con.execute("INSERT INTO server_state VALUES ('csrf_secret', ?, ?)", [_secret.hex(), _now()]).fetchall()


def _server_secret() -> bytes:
    if _secret is None:
        init_secret(None)
    assert _secret is not None
    return _secret


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: put it in every form of that session's pages."""
    return hmac.new(_server_secret(), b"csrf:" + session_token.encode("utf-8"), hashlib.sha256).hexdigest()


def check_csrf(session_token: str | None, value: str | None) -> bool:
    """True when ``value`` is the CSRF token of this session (compared in constant time)."""
    if not session_token or not value:
        return False
    return hmac.compare_digest(csrf_token(session_token), value)


# -- API tokens ------------------------------------------------------------------------------
def create_token(store: Store, *, name: str, scopes: Sequence[str]) -> tuple[ApiToken, str]:
    """Make an API token for ``name`` with ``scopes``; returns it and the secret, shown only now."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValidationError([RowError(None, None, "scope",
                                        f"unknown scope(s) {', '.join(bad)}" if bad else "a token needs at least one scope"
                                        )], hint=f"scopes are {', '.join(SCOPES)}")
    if not name or not name.strip():
        raise ValidationError([RowError(None, None, "name", "a token needs the name of its owner")])
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(token_id="tok-" + secrets.token_hex(4), name=name,
                     scopes=tuple(s for s in SCOPES if s in scopes), created_at=_now())
    with store.transaction() as con:
        con.execute("INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                    [token.token_id, name, json.dumps(list(token.scopes)), _sha256(secret), token.created_at]).fetchall()
    return token, secret


def _token(row: tuple[Any, ...]) -> ApiToken:
    return ApiToken(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4])


def list_tokens(store: Store, *, include_revoked: bool = False) -> list[ApiToken]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    return [_token(r) for r in store.query(
        f"SELECT token_id, name, scopes, created_at, revoked_at FROM api_tokens{where} ORDER BY created_at, token_id")]


def revoke_token(store: Store, token_id: str) -> None:
    """Revoke a token by id; an unknown or already revoked id raises :class:`NotFoundError`."""
    with store.transaction() as con:
        if not con.execute("SELECT 1 FROM api_tokens WHERE token_id = ? AND revoked_at IS NULL", [token_id]).fetchall():
            raise NotFoundError(f"no live token {token_id!r}", hint="`steward token list` shows the live tokens")
        con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", [_now(), token_id]).fetchall()
    with _token_cache_lock:  # effective at once in this process
        for key in [k for k, (t, _) in _token_cache.items() if t.token_id == token_id]:
            del _token_cache[key]


#: How long a live token found in the store is remembered by this process. A revocation made in
#: this process (``revoke_token``) takes effect at once; one made by another process sharing the
#: store takes effect within this many seconds. Unknown secrets are never remembered.
TOKEN_CACHE_SECONDS = 5.0
_token_cache: dict[tuple[int, str], tuple[ApiToken, float]] = {}
_token_cache_lock = threading.Lock()


def token_identity(store: Store, secret: str | None, *, fresh: bool = False) -> ApiToken | None:
    """The live token whose secret this is, else None.

    Each request carries its token, so live tokens are remembered for
    :data:`TOKEN_CACHE_SECONDS` (keyed by the secret's hash) to keep the look-up off the store,
    where it would wait behind ingest writes. ``fresh`` reads the store even on a hit (the ingest
    fast path refreshes a live entry before it expires, server/fast_ingest.py).
    """
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    digest = _sha256(secret)
    key, now = (id(store), digest), time.monotonic()
    with _token_cache_lock:
        hit = _token_cache.get(key)
    if hit is not None and hit[1] > now and not fresh:
        return hit[0]
    rows = store.query("SELECT token_id, name, scopes, created_at, revoked_at FROM api_tokens "
                       "WHERE token_hash = ? AND revoked_at IS NULL", [digest])
    token = _token(rows[0]) if rows else None
    with _token_cache_lock:
        if token is None:
            _token_cache.pop(key, None)
        else:
            if len(_token_cache) > 10_000:  # bounded: drop everything rather than grow
                _token_cache.clear()
            _token_cache[key] = (token, now + TOKEN_CACHE_SECONDS)
    return token


# -- FastAPI dependencies --------------------------------------------------------------------
def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    kind, _, value = header.partition(" ")
    return value.strip() if kind.lower() == "bearer" else None


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: the caller's ``Authorization: Bearer`` token must be live and have ``scope``.

    In dev mode (``steward serve --dev``, loopback only) every call is let in as ``dev``.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; expected one of {SCOPES}")

    async def dependency(request: Request) -> Principal:
        if getattr(request.app.state, "dev", False):
            principal = request.state.principal = Principal(name="dev", via="dev")  # state: for the access log (server/logs.py)
            return principal
        secret = _bearer(request)
        if secret is None:
            raise ApiError(401, "unauthenticated", "this endpoint needs an API token: send `Authorization: Bearer <token>` "
                           "(create one with `steward token create`)")
        store = request.app.state.monitor.store
        token = await run_in_threadpool(token_identity, store, secret)
        if token is None:
            raise ApiError(401, "invalid_token", "the token is unknown or revoked; create a new one with `steward token create`")
        if not token.allows(scope):
            raise ApiError(403, "insufficient_scope",
                           f"token {token.token_id} has scopes {', '.join(token.scopes)} but this endpoint needs {scope!r}; "
                           f"create a token with `--scope {scope}`")
        principal = request.state.principal = Principal(name=token.name, via="token", token_id=token.token_id)  # state: access log
        return principal

    return dependency


def require_role(role: str) -> Callable[[Request], Awaitable[User]]:
    """Dependency: the request's session cookie must belong to a user of ``role`` or above."""
    _check_role(role)

    async def dependency(request: Request) -> User:
        store = request.app.state.monitor.store
        user = await run_in_threadpool(session_user, store, request.cookies.get(SESSION_COOKIE))
        if user is None:
            raise ApiError(401, "not_signed_in", "sign in first")
        if not user.has_role(role):
            raise ApiError(403, "insufficient_role", f"this needs the {role} role; {user.name} is a {user.role}")
        return user

    return dependency
