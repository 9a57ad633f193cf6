"""The web dashboard: server-rendered pages for the people who monitor, triage and curate.

``router`` is a FastAPI ``APIRouter``; the application (:mod:`modelsteward.server.app`) mounts
it and puts the :class:`~modelsteward.monitor.Monitor` on ``app.state.monitor``. Pages:

- ``/login``, ``/logout``: sign in with a user and password (``steward user add NAME --role ...``);
- ``/models/{model}``: the course dashboard's panels over time (accuracy with its threshold and
  training baseline, confidence, input mix with its baseline), volume, latency percentiles,
  error rate, estimated against realised accuracy, active incidents, the latest diagnosis;
- ``/models/{model}/drift`` and ``/models/{model}/drift/{feature}``: reference against current
  distribution, every test's effect size and p-value, and both over time;
- ``/models/{model}/alerts``: incidents (acknowledge, resolve, silence) and silences;
- ``/models/{model}/review``: the review queue (claim, see why an item was routed, decide);
- ``/models/{model}/feedback``: collection rates, retrain requests and their exports;
- ``/models/{model}/plan``: the maintenance plan;
- ``/admin/tokens``: the API tokens, and revoking one while the server runs (admin role).

Every page needs a session; the roles and what each may do are listed in
:mod:`modelsteward.server.web.actions`. Pages send a Content-Security-Policy that allows
scripts, styles and images from this server only (:func:`~modelsteward.server.web._common.content_security_policy`).
"""

from __future__ import annotations

from fastapi import APIRouter

from modelsteward.server.web import actions, admin, curation, monitoring, signin, static_files

__all__ = ["router"]

router = APIRouter()
for _part in (static_files.router, signin.router, monitoring.router, actions.router, curation.router, admin.router):
    router.include_router(_part)
