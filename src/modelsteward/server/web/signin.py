"""Sign-in and sign-out pages.

The sign-in form is protected against cross-site submission with a double-submit token: the
form carries a random value that must equal a ``SameSite=Strict`` cookie set with the form.
After sign-in every form carries the session's CSRF token (:func:`modelsteward.server.auth.csrf_token`).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from modelsteward.errors import StewardError
from modelsteward.server.web._common import (
    NeedSignIn,
    PageError,
    check_form_csrf,
    form_fields,
    monitor_of,
    new_form_token,
    page,
    render,
    safe_next,
    security_headers,
    signed_in,
)

__all__ = ["LOGIN_CSRF_COOKIE", "router"]

LOGIN_CSRF_COOKIE = "steward_login_csrf"

router = APIRouter()


def _login_form(request: Request, *, next_path: str, error: str | None = None, name: str = "", status: int = 200) -> Response:
    token = new_form_token()
    response = render(request, "login.html", {"next": next_path, "error": error, "name": name, "form_token": token, "model": None},
                      status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login", include_in_schema=False)
@page
def login_form(request: Request) -> Response:
    return _login_form(request, next_path=safe_next(request.query_params.get("next")))


@router.post("/login", include_in_schema=False)
@page
def login(request: Request) -> Response:
    from modelsteward.server import auth

    fields = form_fields(request)
    next_path = safe_next(fields.get("next"))
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, fields.get("csrf_token", "")):
        raise PageError(403, "The sign-in form's security token is missing or does not match.", "open /login again and sign in")
    name, password = fields.get("name", "").strip(), fields.get("password", "")
    store = monitor_of(request).store
    try:
        user = auth.authenticate_user(store, name, password) if name and password else None
    except StewardError:
        user = None
    if user is None:
        return _login_form(request, next_path=next_path, error="Unknown user or wrong password.", name=name, status=401)
    token = auth.create_session(store, user)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return security_headers(response)


@router.post("/logout", include_in_schema=False)
@page
def logout(request: Request) -> Response:
    from modelsteward.server import auth

    try:
        viewer = signed_in(request)
    except NeedSignIn:
        return RedirectResponse("/login", status_code=303)
    check_form_csrf(request, viewer)
    auth.revoke_session(monitor_of(request).store, viewer.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return security_headers(response)
