"""What every dashboard page shares: templates, the signed-in user, roles, CSRF, pagination, headers.

Pages are rendered by Jinja2 with autoescape on; every value reaches the page through the
template, so stored data (feature values, comments, rule names) is escaped. Chart data is
embedded as JSON inside ``<script type="application/json">`` (not executed; ``<``, ``>`` and
``&`` escaped) and drawn by ``/static/web/dashboard.js``: the pages carry no inline script, so
the Content-Security-Policy allows scripts from this server only.
"""

from __future__ import annotations

import functools
import math
import secrets
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from modelsteward.config import ModelConfig
from modelsteward.drift.registry import format_p
from modelsteward.errors import NotFoundError, StewardError

__all__ = [
    "CSP_TEMPLATE", "PAGE_SIZE", "ROLE_RANK", "NeedSignIn", "Page", "PageError", "Viewer", "check_form_csrf",
    "content_security_policy", "error_page", "form_fields", "monitor_of", "page", "page_bounds", "page_number", "paginate",
    "render", "require_model", "safe_next", "security_headers", "sign_in_redirect", "signed_in",
]

#: Scripts, styles, images and form targets from this server only. ``{styles}`` adds the hashes of
#: the fixed stylesheets plotly.js injects (see :mod:`~modelsteward.server.web.plotly_assets`);
#: plotly draws with ``style`` properties set from script (CSSOM), which the policy allows.
CSP_TEMPLATE = ("default-src 'self'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; font-src 'self'; "
                "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


@functools.cache
def content_security_policy() -> str:
    """The pages' Content-Security-Policy."""
    from modelsteward.server.web.plotly_assets import injected_style_hashes

    hashes = injected_style_hashes()
    return CSP_TEMPLATE.format(styles="".join(" " + h for h in hashes))


#: Roles in increasing power: a role may do everything the roles before it may.
ROLE_RANK = {"viewer": 0, "reviewer": 1, "admin": 2}

#: Rows per page of every long list.
PAGE_SIZE = 25

TEMPLATES = Path(__file__).parent / "templates"


class PageError(Exception):
    """A page that cannot be shown: rendered as an error page with ``status``."""

    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: name and role from the session, and the session's CSRF token."""

    name: str
    role: str
    csrf: str
    session: str

    def may(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[role]


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v: "—" if v is None else f"{v:.1%}"
    env.filters["num"] = _num
    env.filters["when"] = lambda v: "—" if v is None else (v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else str(v))
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.filters["p"] = lambda v: "—" if v is None else format_p(float(v))
    return env


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """Render ``template`` with ``context`` (plus the request's user and models) as a page."""
    monitor = monitor_of(request)
    page = _environment().get_template(template).render(
        viewer=getattr(request.state, "viewer", None), models=[m.name for m in monitor.config.models], **context)
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    security_headers(response)
    return response


def error_page(request: Request, error: PageError) -> HTMLResponse:
    return render(request, "error.html", {"status": error.status, "message": error.message, "hint": error.hint, "model": None},
                  status=error.status)


def monitor_of(request: Request) -> Any:
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is None:
        raise RuntimeError("the dashboard needs app.state.monitor (a modelsteward Monitor)")
    return monitor


def require_model(request: Request, name: str) -> ModelConfig:
    try:
        model: ModelConfig = monitor_of(request).model(name)
    except NotFoundError as exc:
        raise PageError(404, f"There is no model named {name!r}.", exc.hint) from None
    except Exception as exc:  # the configuration's own lookup error
        raise PageError(404, f"There is no model named {name!r}.", str(exc)) from None
    return model


def signed_in(request: Request, *, role: str = "viewer") -> Viewer:
    """The signed-in user with at least ``role``; raises :class:`NeedSignIn` or a 403 :class:`PageError`."""
    from modelsteward.server import auth

    token = request.cookies.get(auth.SESSION_COOKIE)
    user = auth.session_user(monitor_of(request).store, token) if token else None
    if user is None or token is None:
        raise NeedSignIn(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    viewer = Viewer(str(user.name), str(user.role), auth.csrf_token(token), token)
    request.state.viewer = viewer
    if not viewer.may(role):
        raise PageError(403, f"Signed in as {viewer.name} ({viewer.role}); this needs the {role} role or above.",
                        "ask an admin to change your role (`steward user add NAME --role ...`)")
    return viewer


class NeedSignIn(Exception):
    """No valid session: the page redirects to the sign-in form and back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def sign_in_redirect(next_path: str) -> RedirectResponse:
    target = safe_next(next_path)
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in: anything else (another host, ``//x``) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or any(ord(c) < 32 for c in value):
        return "/"
    return value


def form_fields(request: Request) -> dict[str, str]:
    """The POSTed form's text fields (read by :func:`page` before the handler runs)."""
    fields: dict[str, str] = getattr(request.state, "form", {})
    return fields


def check_form_csrf(request: Request, viewer: Viewer) -> dict[str, str]:
    """The POSTed form, after checking its CSRF token against the session (403 when it does not match)."""
    from modelsteward.server import auth

    fields = form_fields(request)
    if not auth.check_csrf(viewer.session, fields.get("csrf_token", "")):
        raise PageError(403, "The form's security token is missing or does not match your session.",
                        "reload the page and submit the form again")
    return fields


@dataclass(frozen=True)
class Page:
    """One page of a long list."""

    items: Sequence[Any]
    number: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(request: Request, param: str = "page") -> int:
    raw = request.query_params.get(param, "1")
    try:
        number = int(raw)
    except ValueError:
        raise PageError(400, f"Page {raw!r} is not a number.", "use ?page=1, ?page=2, ...") from None
    return max(number, 1)


def paginate(items: Sequence[Any], number: int, size: int = PAGE_SIZE) -> Page:
    """Slice an in-memory list (small state: incidents, silences, requests) into pages."""
    total = len(items)
    pages = max(1, math.ceil(total / size))
    number = min(max(number, 1), pages)
    return Page(items[(number - 1) * size:number * size], number, pages, total)


def page_bounds(total: int, number: int, size: int = PAGE_SIZE) -> tuple[int, int, int]:
    """(page number clamped, pages, offset) for a list paged in SQL."""
    pages = max(1, math.ceil(total / size))
    number = min(max(number, 1), pages)
    return number, pages, (number - 1) * size


def new_form_token() -> str:
    return secrets.token_urlsafe(32)


def page(handler: Callable[..., Response]) -> Callable[..., Awaitable[Response]]:
    """Run a page handler in the threadpool under the application's Monitor lock, and turn its refusals
    into responses: a sign-in redirect, an error page, a library error as 404 or 409.

    A POSTed form is read first (that part is asynchronous) and left on ``request.state.form``.
    """

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        if request.method == "POST":
            form = await request.form()
            request.state.form = {k: v for k, v in form.items() if isinstance(v, str)}
        lock = getattr(request.app.state, "lock", None) or _FALLBACK_LOCK
        return await run_in_threadpool(_guarded, lock, handler, request, args, kwargs)

    return wrapper


_FALLBACK_LOCK = threading.Lock()  # for an application that has no Monitor lock of its own


def _guarded(lock: Any, handler: Callable[..., Response], request: Request, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Response:
    with lock:
        try:
            return handler(*args, **kwargs)
        except NeedSignIn as exc:
            return sign_in_redirect(exc.next_path)
        except PageError as exc:
            return error_page(request, exc)
        except NotFoundError as exc:
            return error_page(request, PageError(404, exc.message, exc.hint))
        except StewardError as exc:
            return error_page(request, PageError(409, exc.message, exc.hint))
