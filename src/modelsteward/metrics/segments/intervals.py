"""Intervals for a proportion, a difference of proportions and a difference of means.

Wilson's score interval [1]_, Newcombe's hybrid score interval for ``p1 - p0`` built from two
Wilson intervals [2]_, and a normal (Welch) interval from sums and sums of squares: what the
segment triage reports beside each change.

References
----------
.. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
   inference. *Journal of the American Statistical Association*, 22(158), 209–212.
.. [2] Newcombe, R. G. (1998). Interval estimation for the difference between independent
   proportions: comparison of eleven methods. *Statistics in Medicine*, 17(8), 873–890.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from modelsteward.errors import InsufficientDataError

__all__ = ["Z95", "newcombe_interval", "wilson_interval"]

Z95 = NormalDist().inv_cdf(0.975)


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion [1]_ (95 % by default).

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if not (math.isfinite(successes) and math.isfinite(n)):
        raise ValueError(f"successes and trials must be finite numbers, got {successes!r} of {n!r}")
    if n <= 0:
        raise InsufficientDataError("a proportion of zero trials has no interval")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and the number of trials, got {successes!r} of {n!r}")
    p = successes / n
    if p > 0.5:  # the interval of 1 - p, mirrored, keeps the exact 1 at p = 1
        lower, upper = _wilson_low_share(1.0 - p, n, z)
        return max(0.0, 1.0 - upper), min(1.0, 1.0 - lower)
    lower, upper = _wilson_low_share(p, n, z)
    return max(0.0, lower), min(1.0, upper)


def _wilson_low_share(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson bounds for ``p <= 0.5``: the upper root directly, the lower one from the product.

    The bounds are the roots of ``(1 + z^2/n) t^2 - (2p + z^2/n) t + p^2``, so
    ``lower = p^2 / ((1 + z^2/n) upper)``, free of the cancellation in ``centre - half``
    (which left a lower bound above ``p = 0`` for huge ``n``).
    """
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    upper = centre + half
    return (p * p / (denom * upper) if upper > 0 else 0.0), upper


def newcombe_interval(x1: float, n1: float, x0: float, n0: float, z: float = Z95) -> tuple[float, float]:
    """Interval of ``x1/n1 - x0/n0`` by Newcombe's hybrid score method (his method 10) [2]_.

    >>> [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    """
    l1, u1 = wilson_interval(x1, n1, z)  # validates both proportions before dividing
    l0, u0 = wilson_interval(x0, n0, z)
    p1, p0 = x1 / n1, x0 / n0
    d = p1 - p0
    return d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def _mean_interval(s1: float, q1: float, n1: float, s0: float, q0: float, n0: float) -> tuple[float, float] | None:
    """Normal (Welch) interval of a difference of means, from sums and sums of squares."""
    if n1 < 2 or n0 < 2:
        return None
    var1 = max(0.0, (q1 - s1 * s1 / n1) / (n1 - 1))
    var0 = max(0.0, (q0 - s0 * s0 / n0) / (n0 - 1))
    d = s1 / n1 - s0 / n0
    half = Z95 * math.sqrt(var1 / n1 + var0 / n0)
    return d - half, d + half

