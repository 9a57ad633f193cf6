"""DDM, the Drift Detection Method of Gama et al. (2004)."""

from __future__ import annotations

import math

from modelsteward.drift.online.base import DriftDetector, _check_int, _check_real, _check_value

__all__ = ["DDM"]


class DDM(DriftDetector):
    r"""Drift Detection Method: a rise of the error rate beyond its best level seen so far.

    The stream is a model's errors (1 = wrong, 0 = right). After :math:`i` values the error
    rate is :math:`p_i` and, treating the errors as Bernoulli trials, its standard deviation is
    :math:`s_i = \sqrt{p_i (1 - p_i) / i}`. While the concept is stable the error rate of a
    learner should not grow, so DDM remembers :math:`p_{min}` and :math:`s_{min}`, the values
    at the update where :math:`p_i + s_i` was lowest, and signals

    * a *warning* when :math:`p_i + s_i > p_{min} + w \, s_{min}` (``warning_threshold``
      :math:`w = 2`, about a 95 % one-sided level under the normal approximation);
    * a *drift* when :math:`p_i + s_i > p_{min} + d \, s_{min}` (``drift_threshold``
      :math:`d = 3`, about 99 %).

    The tests start at the ``warm_start``-th value (the normal approximation to the binomial
    needs about 30 values). The comparisons are strict, as in MOA and river: with ``>=`` a
    stream with no errors at all (:math:`p = s = 0`) would signal drift on every update.
    After a drift the state is cleared on the next update, so the detector learns the new
    concept from scratch, as the paper prescribes for the learner.

    Known limit of the method: if the first ``warm_start`` values hold no error,
    :math:`p_{min} = s_{min} = 0` and the first error afterwards is a drift. With an error
    rate of 0.1 this happens with probability :math:`0.9^{30} \approx 4\,\%` after each
    (re)start; pick a larger ``warm_start`` for models with a low error rate.

    Parameters
    ----------
    warm_start : int, default 30
        Number of values read before the tests start (called ``min_num_instances`` in MOA
        and in older versions of river). At least 1.
    warning_threshold : float, default 2.0
        Number of standard deviations :math:`s_{min}` above :math:`p_{min}` that opens the
        warning zone. Positive.
    drift_threshold : float, default 3.0
        Number of standard deviations :math:`s_{min}` above :math:`p_{min}` that signals
        drift. At least ``warning_threshold``.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range or of the wrong type.

    See Also
    --------
    modelsteward.drift.online.ADWIN : compares two sub-windows; needs no warm start.
    modelsteward.drift.online.PageHinkley : a cumulative-sum test on deviations from the mean.

    Notes
    -----
    Only the error count and the number of values are kept, so an update costs O(1) time
    and memory. :meth:`update` accepts only 0 and 1 (booleans included).

    References
    ----------
    .. [1] J. Gama, P. Medas, G. Castillo and P. Rodrigues, "Learning with Drift
       Detection", in *Advances in Artificial Intelligence - SBIA 2004*, Lecture Notes in
       Computer Science 3171, Springer, 2004, pp. 286-295.
       https://doi.org/10.1007/978-3-540-28645-5_29

    Examples
    --------
    A classifier whose error rate jumps from 10 % to 40 % at index 1000:

    >>> import numpy as np
    >>> from modelsteward.drift.online import DDM
    >>> rng = np.random.default_rng(42)
    >>> errors = np.concatenate([rng.binomial(1, 0.1, 1000), rng.binomial(1, 0.4, 1000)])
    >>> ddm = DDM()
    >>> ddm.update_many(errors)
    [173, 1091]

    The alarm at index 173 is a false one, of the small-sample kind described above; the
    change itself is found 91 values late. A longer warm start avoids the false alarm here:

    >>> DDM(warm_start=100).update_many(errors)
    [1024]
    """

    def __init__(self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0) -> None:
        super().__init__()
        self.warm_start = _check_int("warm_start", warm_start, 1)
        self.warning_threshold = _check_real("warning_threshold", warning_threshold)
        if self.warning_threshold <= 0:
            raise ValueError(f"warning_threshold must be positive, got {warning_threshold!r}")
        self.drift_threshold = _check_real("drift_threshold", drift_threshold)
        if self.drift_threshold < self.warning_threshold:
            raise ValueError(f"drift_threshold ({drift_threshold!r}) must be at least warning_threshold ({warning_threshold!r})")
        self._reset()

    @property
    def warning_detected(self) -> bool:
        """Whether the last update fell in the warning zone (false when it detected drift)."""
        return self._warning_detected

    def _reset(self) -> None:
        super()._reset()
        self._warning_detected = False
        self._n = 0
        self._n_errors = 0
        # p_min and s_min are recorded together, at the update where p + s was lowest.
        self._p_min = math.inf
        self._s_min = math.inf
        self._ps_min = math.inf

    def update(self, x: float) -> None:
        """Read the next error indicator.

        Parameters
        ----------
        x : {0, 1}
            1 if the prediction was wrong, 0 if it was right.

        Raises
        ------
        ValueError
            If ``x`` is not 0 or 1.
        """
        value = _check_value(x)
        if value != 0.0 and value != 1.0:
            raise ValueError(f"DDM reads a binary error stream (0 or 1), got {x!r}")
        if self._drift_detected:
            self._reset()

        self._n += 1
        self._n_errors += int(value)
        if self._n < self.warm_start:
            return

        p = self._n_errors / self._n
        s = math.sqrt(p * (1.0 - p) / self._n)
        if p + s <= self._ps_min:
            self._p_min, self._s_min, self._ps_min = p, s, p + s

        if p + s > self._p_min + self.drift_threshold * self._s_min:
            self._drift_detected = True
            self._warning_detected = False
        else:
            self._warning_detected = p + s > self._p_min + self.warning_threshold * self._s_min
