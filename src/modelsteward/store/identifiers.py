"""SQL identifiers: every table and column name the store builds passes through :func:`quote_ident`."""

from __future__ import annotations

import re

from modelsteward.errors import StoreError

__all__ = ["quote_ident"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")  # used with fullmatch: `$` would let "x\n" through


def quote_ident(name: str) -> str:
    """Quote a validated SQL identifier; anything but letters, digits and ``_`` is refused.

    >>> quote_ident("predictions__tickets")
    '"predictions__tickets"'
    """
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise StoreError(f"invalid SQL identifier {name!r}")
    return f'"{name}"'
