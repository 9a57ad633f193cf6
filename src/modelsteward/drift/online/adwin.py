"""ADWIN, adaptive windowing (Bifet and Gavaldà, 2007)."""

from __future__ import annotations

import math

from modelsteward.drift.online.base import DriftDetector, _check_int, _check_real, _check_value

#: Largest magnitude ADWIN reads: beyond it the rounding of its totals exceeds its own bound.
MAX_ABS_VALUE = 1e6

__all__ = ["ADWIN", "MAX_ABS_VALUE"]


class ADWIN(DriftDetector):
    r"""Adaptive windowing: drop the old part of a window when its mean differs from the rest.

    ADWIN keeps a window :math:`W` of recent values that it believes come from one
    distribution. Every ``clock`` updates it tries each split of :math:`W` into an older
    part :math:`W_0` and a newer part :math:`W_1`, with :math:`n_0` and :math:`n_1` values
    and means :math:`\hat\mu_0, \hat\mu_1`, and cuts when

    .. math::

        |\hat\mu_0 - \hat\mu_1| > \varepsilon_{cut}
        = \sqrt{\frac{2}{m}\, \sigma^2_W \ln\frac{2}{\delta'}} + \frac{2}{3m} \ln\frac{2}{\delta'},
        \qquad \delta' = \frac{\delta}{\ln n},

    with :math:`\sigma^2_W` the variance of the whole window, :math:`n = n_0 + n_1` and
    :math:`1/m = 1/(n_0 - \ell + 1) + 1/(n_1 - \ell + 1)` (:math:`\ell` =
    ``min_window_length``). This is the variance-based bound the paper recommends in
    practice, with :math:`\delta' = \delta / \ln n` accounting for the many splits tested,
    as implemented in MOA and river. On a cut the oldest bucket is dropped and the splits are
    tried again, until none is significant; the update then reports drift. The window is
    *not* emptied: what remains is the evidence for the new concept.

    The window is stored as an exponential histogram (the paper's ADWIN2): row :math:`i`
    holds up to ``max_buckets`` buckets of :math:`2^i` values, each a (total, variance)
    pair; when a row overflows, its two oldest buckets merge into one of the next row.
    Memory and the cost of a check are :math:`O(M \log(n / M))` for :math:`M` =
    ``max_buckets``; totals and variances stay exact, only the possible split points are
    restricted to bucket boundaries.

    Parameters
    ----------
    delta : float, default 0.002
        Confidence of the cut test, in (0, 1): a smaller value means fewer false alarms and
        slower detection. 0.002 is the default of MOA and river.
    clock : int, default 32
        Splits are tested every ``clock`` updates. The algorithm as published tests after
        every value; MOA and river test every 32 to save time, which delays detection by up
        to ``clock - 1`` values. At least 1.
    max_buckets : int, default 5
        Buckets kept per row of the histogram, :math:`M` in the paper (5 in MOA and river).
        More buckets give finer split points at more cost. At least 1.
    min_window_length : int, default 5
        Minimum number of values in each sub-window for a split to be tested (river's
        default; it also enters :math:`m` above). At least 1.
    grace_period : int, default 10
        No split is tested until the window holds more than this many values (river's
        default). At least 0.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range or of the wrong type.

    See Also
    --------
    modelsteward.drift.online.DDM : watches the error rate against its best level.
    modelsteward.drift.online.PageHinkley : a cumulative-sum test on deviations from the mean.

    Notes
    -----
    Any finite real value up to :data:`MAX_ABS_VALUE` (1e6) in size is accepted, but the bound
    assumes values in [0, 1], such as an error stream; larger values are refused because the
    rounding of the running totals would then exceed the bound (a constant stream of 1e100
    would report a change at every check). Because the window keeps the newest values after a cut, a change can be
    reported on a few consecutive checks while the last values of the old concept leave the
    window.

    Every bucket boundary is a candidate split, as in MOA. River's implementation (at the
    time of writing) skips the boundary after the newest bucket of each row, so the two can
    report a change at different checks on the same stream.

    References
    ----------
    .. [1] A. Bifet and R. Gavaldà, "Learning from Time-Changing Data with Adaptive
       Windowing", in *Proceedings of the 2007 SIAM International Conference on Data
       Mining*, 2007, pp. 443-448. https://doi.org/10.1137/1.9781611972771.42

    Examples
    --------
    A classifier whose error rate jumps from 10 % to 40 % at index 1000:

    >>> import numpy as np
    >>> from modelsteward.drift.online import ADWIN
    >>> rng = np.random.default_rng(42)
    >>> errors = np.concatenate([rng.binomial(1, 0.1, 1000), rng.binomial(1, 0.4, 1000)])
    >>> adwin = ADWIN()
    >>> for i, error in enumerate(errors):
    ...     adwin.update(error)
    ...     if adwin.drift_detected:
    ...         print(f"drift at index {i}: window of {adwin.width}, error rate {adwin.estimation:.2f}")
    drift at index 1055: window of 800, error rate 0.12
    drift at index 1087: window of 224, error rate 0.27
    drift at index 1151: window of 256, error rate 0.33

    The change is found at the second check after it (checks fall every 32 values); the two
    later reports drop the values of the old concept still left in the window, after which
    the window's error rate estimates the new one.
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        super().__init__()
        self.delta = _check_real("delta", delta)
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        self.clock = _check_int("clock", clock, 1)
        self.max_buckets = _check_int("max_buckets", max_buckets, 1)
        self.min_window_length = _check_int("min_window_length", min_window_length, 1)
        self.grace_period = _check_int("grace_period", grace_period, 0)
        self._reset()

    @property
    def width(self) -> int:
        """Number of values in the current window."""
        return self._width

    @property
    def estimation(self) -> float:
        """Mean of the current window (the error rate of the current concept), 0 if empty."""
        return self._total / self._width if self._width else 0.0

    def _reset(self) -> None:
        super()._reset()
        # Row i of the histogram holds buckets of 2**i values, oldest first; a bucket is its
        # total and its variance (sum of squared deviations from the bucket's mean).
        self._totals: list[list[float]] = [[]]
        self._variances: list[list[float]] = [[]]
        self._width = 0
        self._total = 0.0
        self._variance = 0.0  # sum of squared deviations from the window's mean
        self._tick = 0

    def update(self, x: float) -> None:
        """Read the next value.

        Parameters
        ----------
        x : float
            The next value of the stream (1 or 0 for an error stream).

        Raises
        ------
        ValueError
            If ``x`` is not a finite real number.
        """
        value = _check_value(x)
        if abs(value) > MAX_ABS_VALUE:
            raise ValueError(f"ADWIN reads values of at most {MAX_ABS_VALUE:g} in size (its bound is for values in "
                             f"[0, 1]), got {x!r}; rescale the stream")
        self._insert(value)
        self._drift_detected = False
        self._tick += 1
        if self._tick % self.clock == 0 and self._width > self.grace_period:
            while self._significant_cut():
                self._drift_detected = True
                self._drop_oldest_bucket()

    def _insert(self, value: float) -> None:
        if self._width:
            mean = self._total / self._width
            self._variance += self._width * (value - mean) ** 2 / (self._width + 1)
        self._width += 1
        self._total += value
        self._totals[0].append(value)
        self._variances[0].append(0.0)

        row = 0
        while len(self._totals[row]) > self.max_buckets:
            if row + 1 == len(self._totals):
                self._totals.append([])
                self._variances.append([])
            size = 2**row
            total_a, total_b = self._totals[row][:2]
            variance_a, variance_b = self._variances[row][:2]
            # Two buckets of equal size n: n * n / (2n) * (mean_a - mean_b) ** 2 joins the variances.
            merged_variance = variance_a + variance_b + (total_a - total_b) ** 2 / (2 * size)
            del self._totals[row][:2]
            del self._variances[row][:2]
            self._totals[row + 1].append(total_a + total_b)
            self._variances[row + 1].append(merged_variance)
            row += 1

    def _drop_oldest_bucket(self) -> None:
        row = len(self._totals) - 1
        size = 2**row
        total = self._totals[row].pop(0)
        variance = self._variances[row].pop(0)
        self._width -= size
        self._total -= total
        if self._width:
            gap = total / size - self._total / self._width
            self._variance -= variance + size * self._width * gap**2 / (size + self._width)
        else:
            self._variance = 0.0
        while len(self._totals) > 1 and not self._totals[-1]:
            self._totals.pop()
            self._variances.pop()

    def _significant_cut(self) -> bool:
        """Whether some split at a bucket boundary separates two different means."""
        width = self._width
        if width < 2 * self.min_window_length:
            return False
        variance = max(self._variance, 0.0) / width  # rounding can leave a tiny negative
        log_term = math.log(2.0 * math.log(width) / self.delta)
        shift = self.min_window_length - 1
        n_old, total_old = 0, 0.0
        for row in range(len(self._totals) - 1, -1, -1):
            size = 2**row
            for total in self._totals[row]:
                n_old += size
                total_old += total
                n_new = width - n_old
                if n_new < self.min_window_length:
                    return False
                if n_old < self.min_window_length:
                    continue
                gap = total_old / n_old - (self._total - total_old) / n_new
                m_inverse = 1.0 / (n_old - shift) + 1.0 / (n_new - shift)
                epsilon = math.sqrt(2.0 * m_inverse * variance * log_term) + 2.0 / 3.0 * log_term * m_inverse
                if abs(gap) > epsilon:
                    return True
        return False
