"""Administration pages (admin role): the API tokens, and revoking one while the server runs.

A DuckDB store takes one writing process, so ``steward token revoke`` cannot open the store
while ``steward serve`` holds it; a leaked token is revoked here instead, and the running
server refuses it from the next request on (:func:`modelsteward.server.auth.revoke_token`
clears the process's token cache). Tokens are listed by id, owner and scopes, never by secret.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from modelsteward.server.web._common import check_form_csrf, monitor_of, page, render, security_headers, signed_in

__all__ = ["router"]

log = logging.getLogger("modelsteward.server")

router = APIRouter()


@router.get("/admin/tokens", include_in_schema=False)
@page
def tokens(request: Request) -> Response:
    from modelsteward.server import auth

    signed_in(request, role="admin")
    done = request.query_params.get("revoked")
    listed = auth.list_tokens(monitor_of(request).store, include_revoked=True)
    return render(request, "tokens.html", {"model": None, "tab": "tokens", "tokens": listed,
                                           "done": done if done in {t.token_id for t in listed} else None})


@router.post("/admin/tokens/{token_id}/revoke", include_in_schema=False)
@page
def revoke(request: Request, token_id: str) -> Response:
    from modelsteward.server import auth

    viewer = signed_in(request, role="admin")
    check_form_csrf(request, viewer)
    auth.revoke_token(monitor_of(request).store, token_id)  # an unknown or revoked id: a 404 page
    log.info("token %s revoked by %s", token_id, viewer.name)
    return security_headers(RedirectResponse(f"/admin/tokens?revoked={quote(token_id, safe='')}", status_code=303))
