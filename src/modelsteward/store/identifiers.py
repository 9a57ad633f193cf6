"""SQL identifiers: every table and column name the store builds passes through :func:`quote_ident`."""

from __future__ import annotations

import re

from modelsteward.errors import StoreError

__all__ = ["quote_ident", "quote_source_column"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")  # used with fullmatch: `$` would let "x\n" through


def quote_ident(name: str) -> str:
    """Quote a validated SQL identifier; anything but letters, digits and ``_`` is refused.

    >>> quote_ident("predictions__tickets")
    '"predictions__tickets"'
    """
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise StoreError(f"invalid SQL identifier {name!r}")
    return f'"{name}"'


def quote_source_column(name: str) -> str:
    """Quote a column name that comes from a user's file (any text but NUL), for reading that file's columns.

    The store's own tables use :func:`quote_ident`; a reference file may name a column ``x value``.

    >>> print(quote_source_column('x value'), quote_source_column('a"b'))
    "x value" "a""b"
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise StoreError(f"invalid column name {name!r} in the file (empty, or a NUL character)")
    return '"' + name.replace('"', '""') + '"'
