"""The Page-Hinkley test (Page, 1954) for a change in the mean of a stream."""

from __future__ import annotations

from typing import Literal

from modelsteward.drift.online.base import DriftDetector, _check_int, _check_real, _check_value

__all__ = ["PageHinkley"]

_MODES = ("up", "down", "both")


class PageHinkley(DriftDetector):
    r"""Page-Hinkley test: a cumulative sum of deviations from the running mean.

    With :math:`\bar{x}_t` the mean of the first :math:`t` values (the value :math:`x_t`
    included), Page's statistic for an increase of the mean is

    .. math::

        m_T = \sum_{t=1}^{T} (x_t - \bar{x}_t - \delta), \qquad
        PH_T = m_T - \min_{0 \le t \le T} m_t \quad (m_0 = 0),

    and drift is signalled when :math:`PH_T > \lambda` (``threshold``). :math:`\delta`
    (``delta``) is the size of change tolerated without alarm. :math:`PH_T` is computed by
    the equivalent recursion :math:`S_T = \max(0,\ \alpha S_{T-1} + x_T - \bar{x}_T - \delta)`,
    where the forgetting factor :math:`\alpha` (``alpha``) slowly fades old evidence, as in
    MOA and river; with :math:`\alpha = 1` the recursion gives exactly :math:`PH_T`.

    ``mode="down"`` runs the mirror test :math:`\max(0,\ \alpha S^-_{T-1} + \bar{x}_T - x_T -
    \delta)` for a decrease, and ``"both"`` runs the two tests and signals when either
    crosses the threshold. On an error stream an *increase* is what matters (the model got
    worse), hence the default ``"up"``.

    No drift is signalled before the ``min_instances``-th value. After a drift the state is
    cleared on the next update, so the running mean restarts on the new concept.

    Parameters
    ----------
    min_instances : int, default 30
        Number of values read before drift can be signalled. At least 1.
    delta : float, default 0.005
        Magnitude of change tolerated: each value adds its deviation from the mean minus
        ``delta``. Non-negative.
    threshold : float, default 50.0
        The alarm threshold :math:`\lambda` on the cumulative statistic. Positive. On an
        error stream that jumps by :math:`\Delta p`, the delay is roughly
        :math:`\lambda / (\Delta p - \delta)` values (about 170 values for 0.1 to 0.4).
    alpha : float, default 0.9999
        Forgetting factor on the cumulative sum, in (0, 1].
    mode : {"up", "down", "both"}, default "up"
        Which change of the mean to detect.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range or of the wrong type.

    See Also
    --------
    modelsteward.drift.online.DDM : watches the error rate against its best level.
    modelsteward.drift.online.ADWIN : compares two adaptive sub-windows.

    Notes
    -----
    An update costs O(1) time and memory. Any finite real value is accepted, so the test
    also serves for streams other than 0/1 errors (losses, latencies); ``threshold`` is in
    the units of the stream.

    References
    ----------
    .. [1] E. S. Page, "Continuous Inspection Schemes", *Biometrika* 41(1/2), 1954,
       pp. 100-115. https://doi.org/10.2307/2333009
    .. [2] D. V. Hinkley, "Inference about the change-point from cumulative sum tests",
       *Biometrika* 58(3), 1971, pp. 509-523. https://doi.org/10.2307/2334386

    Examples
    --------
    A classifier whose error rate jumps from 10 % to 40 % at index 1000:

    >>> import numpy as np
    >>> from modelsteward.drift.online import PageHinkley
    >>> rng = np.random.default_rng(42)
    >>> errors = np.concatenate([rng.binomial(1, 0.1, 1000), rng.binomial(1, 0.4, 1000)])
    >>> ph = PageHinkley()
    >>> for i, error in enumerate(errors):
    ...     ph.update(error)
    ...     if ph.drift_detected:
    ...         print(f"drift at index {i}")
    drift at index 1129

    The delay of 129 values is below the rough estimate ``threshold / (0.4 - 0.1 - delta)``
    (about 170): the statistic already stood near 8 at the change, and 45 % of the next 130
    values were errors.
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 0.9999,
        mode: Literal["up", "down", "both"] = "up",
    ) -> None:
        super().__init__()
        self.min_instances = _check_int("min_instances", min_instances, 1)
        self.delta = _check_real("delta", delta)
        if self.delta < 0:
            raise ValueError(f"delta must be non-negative, got {delta!r}")
        self.threshold = _check_real("threshold", threshold)
        if self.threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold!r}")
        self.alpha = _check_real("alpha", alpha)
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
        self.mode: Literal["up", "down", "both"] = mode
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        self._n = 0
        self._mean = 0.0
        self._sum_up = 0.0
        self._sum_down = 0.0

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
        if self._drift_detected:
            self._reset()

        self._n += 1
        self._mean += (value - self._mean) / self._n
        deviation = value - self._mean
        if self.mode != "down":
            self._sum_up = max(0.0, self.alpha * self._sum_up + deviation - self.delta)
        if self.mode != "up":
            self._sum_down = max(0.0, self.alpha * self._sum_down - deviation - self.delta)

        if self._n >= self.min_instances:
            self._drift_detected = max(self._sum_up, self._sum_down) > self.threshold
