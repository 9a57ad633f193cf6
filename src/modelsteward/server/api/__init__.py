"""The JSON API under ``/api/v1``: one router per area.

Scopes: ``ingest`` writes predictions and feedback and asks for routing decisions; ``read``
reads everything; ``review`` claims and decides review items and acknowledges, resolves and
silences alerts (people acting on what the monitor found); ``admin`` may do all of it.
"""

from fastapi import APIRouter, Depends

from modelsteward.server.api import actions, ingest, read
from modelsteward.server.limits import reject_invalid_text

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_invalid_text)])  # text the store can hold
router.include_router(ingest.router)
router.include_router(read.router)
router.include_router(actions.router)
