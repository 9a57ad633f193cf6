"""Deterministic audit sampling: the same prediction id always gets the same answer.

An id is hashed (BLAKE2b, 64 bits, with a salt) to a number ``u`` in ``[0, 1)``; the id is
sampled when ``u < percent / 100``. The hash spreads ids uniformly, so over many ids the
realised rate matches the configured percentage (binomially), whatever the ids look like
(sequential numbers, UUIDs). Changing the salt draws another, independent sample; raising the
percentage keeps every id sampled before (the sample only grows).

>>> audit_sampled("ticket-1", 5.0, salt="tickets") == audit_sampled("ticket-1", 5.0, salt="tickets")
True
>>> sum(audit_sampled(f"t-{i}", 5.0, salt="tickets") for i in range(10_000))
535
>>> 0.0 <= audit_fraction("ticket-1", salt="tickets") < 1.0
True
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["audit_fraction", "audit_sampled"]

_SCALE = float(2**64)


def audit_fraction(prediction_id: str, *, salt: str = "") -> float:
    """Where the id falls in ``[0, 1)``: its salted 64-bit hash divided by 2**64."""
    digest = blake2b(prediction_id.encode("utf-8"), digest_size=8, key=salt.encode("utf-8")[:64]).digest()
    return int.from_bytes(digest, "big") / _SCALE


def audit_sampled(prediction_id: str, percent: float, *, salt: str = "") -> bool:
    """Whether the id belongs to the ``percent`` % audit sample drawn with ``salt``."""
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    return audit_fraction(prediction_id, salt=salt) < percent / 100.0
