"""Settings of ``steward serve``: the ``server:`` section of ``steward.yaml``.

>>> ServerSettings().max_body_bytes == 64 * 1024 * 1024
True
"""

from __future__ import annotations

from pydantic import Field

from modelsteward.config.base import _Strict

__all__ = ["DEFAULT_MAX_BODY_BYTES", "ServerSettings"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


class ServerSettings(_Strict):
    """What the HTTP service accepts before any handler runs."""

    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=1024,
        description="Largest request body the service reads, in bytes; a larger one is refused with 413 `too_large` "
                    "before it is read (the default, 64 MiB, holds a 100,000-row batch of typical predictions).",
    )
