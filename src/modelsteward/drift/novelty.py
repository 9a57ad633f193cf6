"""Novelty: how unusual one prediction's inputs are compared with the reference.

:class:`NoveltyScorer` gives every prediction an out-of-distribution score that reads as a
reference percentile: ``97.5`` means "more unusual than 97.5% of reference rows".  A review
rule can therefore use a threshold such as ``novelty >= 99`` and know that about 1% of
in-distribution traffic crosses it.  The score is computed once per prediction (it is
cheap: see :meth:`NoveltyScorer.score_one`) and stored with it.

The raw score is the mean Euclidean distance from the encoded row to its ``k = 10``
nearest rows of a bounded reference sample (at most 5 000 rows).  It is turned into a
percentile by comparing it with the raw scores of *other* reference rows (a held-out
calibration sample, at most 5 000 rows) - an inductive conformal p-value, so for a row from
the reference distribution the percentile is uniform on [0, 100].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelsteward.drift.multivariate import (
    FeatureEncoder,
    _check_kinds,
    _decode_array,
    _encode_array,
    _n_rows,
    _positive_int,
    _take,
)
from modelsteward.errors import InsufficientDataError

__all__ = ["MIN_REFERENCE_ROWS", "NoveltyScorer"]

#: Fewest reference rows :meth:`NoveltyScorer.fit` accepts (split between neighbours and calibration).
MIN_REFERENCE_ROWS = 100
#: Query rows per block in :meth:`NoveltyScorer.distances` (bounds the distance matrix held in memory).
_CHUNK = 1024


def _knn_mean(x: np.ndarray, neighbours: np.ndarray, sq_norms: np.ndarray, k: int) -> np.ndarray:
    """Mean Euclidean distance of each row of ``x`` to its ``k`` nearest ``neighbours`` (blocked)."""
    out = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], _CHUNK):
        xb = x[start : start + _CHUNK]
        with np.errstate(over="ignore", invalid="ignore"):  # a row beyond the float range is infinitely far
            d2 = np.einsum("ij,ij->i", xb, xb)[:, None] - 2.0 * (xb @ neighbours.T) + sq_norms[None, :]
        d2[~np.isfinite(d2)] = np.inf  # inf - inf would read NaN: a NaN percentile, not "the most novel"
        np.maximum(d2, 0.0, out=d2)
        nearest = np.partition(d2, k - 1, axis=1)[:, :k] if k < d2.shape[1] else d2
        out[start : start + xb.shape[0]] = np.sqrt(nearest).mean(axis=1)
    return out


class NoveltyScorer:
    """Per-row out-of-distribution percentile against a reference sample.

    **Score.** Rows are encoded with a :class:`~modelsteward.drift.multivariate.FeatureEncoder`
    fitted on the reference (numeric features standardised, categorical features one-hot,
    missing-value indicators), so every feature counts on a comparable scale.  The raw
    score of a row is the mean Euclidean distance to its ``k`` nearest *neighbour* rows
    (the kNN-weight outlier score of Angiulli & Pizzuti 2002, divided by ``k``).

    Why k nearest neighbours rather than an isolation forest: the distance keeps growing as
    a row moves away from the reference, so a row far outside it always scores highest,
    whereas an isolation forest's path length saturates outside the reference's bounding
    box (every far point gets about the same score) and has axis-parallel artefacts; the
    score is exact and deterministic given the stored sample; and the state is just that
    sample (plus the encoder and the calibration scores), JSON-able without pickling
    fitted trees.  The cost, a brute-force search over a bounded sample, is a matrix-vector
    product of at most 5 000 x columns per row: tens of microseconds.  Averaging over
    ``k = 10`` neighbours rather than taking the k-th distance alone smooths the score and
    tolerates a few duplicated reference rows.

    **Calibration.** The reference sample is split at random into *neighbour* rows (what
    distances are measured to) and *calibration* rows.  The raw scores of the calibration
    rows against the neighbour rows form the null distribution; a row's percentile is
    ``100 (#{c < s} + #{c = s} / 2) / n_cal``: the share of calibration rows it is more
    unusual than.  Calibration rows are not neighbours, so they are scored exactly as a
    new row from the reference distribution would be; by exchangeability such a row's
    percentile is uniform on [0, 100] (inductive conformal anomaly detection), and a
    threshold ``t`` flags about ``100 - t`` percent of in-distribution rows.  A row more
    unusual than every calibration row gets 100.

    Parameters
    ----------
    encoder : FeatureEncoder
        Fitted encoder.
    neighbours : numpy.ndarray
        Encoded neighbour rows, ``(n, len(encoder.columns))``.
    calibration : numpy.ndarray
        Raw scores of the calibration rows (sorted here).
    k : int
        Neighbours averaged.

    Use :meth:`fit` or :meth:`from_dict` rather than the constructor.

    References
    ----------
    .. [1] Angiulli, F. and Pizzuti, C. (2002). Fast outlier detection in high dimensional
       spaces. *PKDD*, LNCS 2431, 15-27.
    .. [2] Ramaswamy, S., Rastogi, R. and Shim, K. (2000). Efficient algorithms for mining
       outliers from large data sets. *SIGMOD*, 427-438.
    .. [3] Laxhammar, R. and Falkman, G. (2015). Inductive conformal anomaly detection for
       sequential detection of anomalous sub-trajectories. *Annals of Mathematics and
       Artificial Intelligence* 74(1-2), 67-94.
    .. [4] Bates, S., Candès, E., Lei, L., Romano, Y. and Sesia, M. (2023). Testing for
       outliers with conformal p-values. *Annals of Statistics* 51(1), 149-178.
    .. [5] Liu, F. T., Ting, K. M. and Zhou, Z.-H. (2008). Isolation forest. *ICDM*,
       413-422 (the alternative not chosen).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = {"x": rng.normal(size=2000), "colour": rng.choice(["red", "blue"], size=2000)}
    >>> scorer = NoveltyScorer.fit(ref, kinds={"x": "numeric", "colour": "categorical"}, seed=0)
    >>> scorer.n_neighbours, scorer.n_calibration
    (1000, 1000)
    >>> scorer.score_one({"x": 8.0, "colour": "red"})
    100.0
    >>> print(f"{scorer.score_one({'x': 0.0, 'colour': 'blue'}):.1f}")
    31.1
    >>> print(np.round(scorer.score_many({"x": [0.0, 3.0], "colour": ["blue", "green"]}), 1))
    [ 31.1 100. ]
    >>> NoveltyScorer.from_dict(scorer.to_dict()).score_one({"x": 1.5, "colour": "red"}) == scorer.score_one(
    ...     {"x": 1.5, "colour": "red"})
    True
    """

    def __init__(self, encoder: FeatureEncoder, neighbours: np.ndarray, calibration: np.ndarray, k: int) -> None:
        neighbours = np.ascontiguousarray(neighbours, dtype=np.float64)
        if neighbours.ndim != 2 or neighbours.shape[1] != len(encoder.columns):
            raise ValueError(f"neighbours must have shape (rows, {len(encoder.columns)}), got {neighbours.shape}")
        k = _positive_int(k, "k")
        if neighbours.shape[0] < k:
            raise InsufficientDataError(f"k = {k} neighbours asked of {neighbours.shape[0]} neighbour rows")
        calibration = np.sort(np.asarray(calibration, dtype=np.float64).ravel())
        if calibration.size == 0 or not np.all(np.isfinite(calibration)):
            raise ValueError("calibration must be a non-empty array of finite scores")
        self.encoder = encoder
        self.k = k
        self._neighbours = neighbours
        self._sq_norms = np.einsum("ij,ij->i", neighbours, neighbours)
        self._calibration = calibration

    @property
    def n_neighbours(self) -> int:
        """Reference rows distances are measured to."""
        return int(self._neighbours.shape[0])

    @property
    def n_calibration(self) -> int:
        """Held-out reference rows whose scores calibrate the percentiles."""
        return int(self._calibration.size)

    @classmethod
    def fit(
        cls,
        reference: Mapping[str, Any],
        *,
        kinds: Mapping[str, str],
        seed: int,
        k: int = 10,
        max_neighbours: int = 5000,
        max_calibration: int = 5000,
        top_k: int = 20,
    ) -> NoveltyScorer:
        """Fit on a reference sample: encoder, neighbour rows and calibration scores.

        At most ``max_neighbours + max_calibration`` reference rows are drawn (seeded,
        without replacement).  Half of them, at most ``max_calibration``, become calibration
        rows and the rest, at most ``max_neighbours``, neighbour rows; the encoder is fitted
        on all drawn rows.

        Parameters
        ----------
        reference : mapping of str to array_like
            One 1-D array per feature; at least 100 rows.
        kinds : mapping of str to {'numeric', 'categorical'}
            The features to use.
        seed : int
            Seeds the sampling and the split.
        k : int, default 10
            Nearest neighbours averaged.
        max_neighbours, max_calibration : int, default 5000
            Bounds on the stored neighbour rows and calibration scores.
        top_k : int, default 20
            One-hot categories kept per categorical feature.

        Returns
        -------
        NoveltyScorer

        Raises
        ------
        InsufficientDataError
            If the reference has fewer than 100 rows or fewer neighbour rows than ``k``.
        ValueError
            On invalid kinds, data or parameters.
        """
        kinds = _check_kinds(kinds)
        features = list(kinds)
        k = _positive_int(k, "k")
        max_neighbours = _positive_int(max_neighbours, "max_neighbours")
        max_calibration = _positive_int(max_calibration, "max_calibration")
        n = _n_rows(reference, features, "reference")
        if n < MIN_REFERENCE_ROWS:
            raise InsufficientDataError(f"the novelty scorer needs at least {MIN_REFERENCE_ROWS} reference rows, got {n}")
        rng = np.random.default_rng(seed)
        idx = rng.permutation(n)[: max_neighbours + max_calibration]
        n_cal = min(max_calibration, idx.size // 2)
        sample = _take(reference, features, idx)
        encoder = FeatureEncoder.fit(sample, kinds, top_k=top_k)
        x = encoder.transform(sample)
        cal_x, nb_x = x[:n_cal], x[n_cal : n_cal + max_neighbours]
        if nb_x.shape[0] < k:
            raise InsufficientDataError(f"k = {k} neighbours asked of {nb_x.shape[0]} neighbour rows")
        calibration = _knn_mean(cal_x, nb_x, np.einsum("ij,ij->i", nb_x, nb_x), k)
        return cls(encoder, nb_x, calibration, k)

    # -- raw scores ---------------------------------------------------------------------

    def _knn_mean(self, x: np.ndarray) -> np.ndarray:
        return _knn_mean(x, self._neighbours, self._sq_norms, self.k)

    def distances(self, rows: Mapping[str, Any]) -> np.ndarray:
        """Raw scores: mean distance of each row to its ``k`` nearest neighbour rows."""
        return self._knn_mean(self.encoder.transform(rows))

    def distance_one(self, row: Mapping[str, Any]) -> float:
        """Raw score of one record (feature name -> value)."""
        x = self.encoder.transform_one(row)
        with np.errstate(over="ignore", invalid="ignore"):  # as in _knn_mean: beyond the float range is infinitely far
            d2 = float(x @ x) - 2.0 * (self._neighbours @ x) + self._sq_norms
        d2[~np.isfinite(d2)] = np.inf
        np.maximum(d2, 0.0, out=d2)
        nearest = np.partition(d2, self.k - 1)[: self.k] if self.k < d2.size else d2
        return float(np.sqrt(nearest).mean())

    # -- percentiles --------------------------------------------------------------------

    def percentile(self, raw: Any) -> np.ndarray:
        """Reference percentile of raw scores: ``100 (#{c < s} + #{c = s} / 2) / n_cal``."""
        s = np.asarray(raw, dtype=np.float64)
        below = np.searchsorted(self._calibration, s, side="left")
        upto = np.searchsorted(self._calibration, s, side="right")
        return np.asarray(100.0 * (below + upto) / (2.0 * self._calibration.size), dtype=np.float64)

    def score_many(self, rows: Mapping[str, Any]) -> np.ndarray:
        """Novelty percentiles in [0, 100] of many rows (a mapping of feature -> 1-D array).

        Memory is bounded: distances are computed in blocks of 1 024 rows.
        """
        return self.percentile(self.distances(rows))

    def score_one(self, row: Mapping[str, Any]) -> float:
        """Novelty percentile in [0, 100] of one record (feature name -> value).

        The request-path entry point: one encoded vector, one matrix-vector product with the
        neighbour rows, a partial sort and a binary search.  Equal to :meth:`score_many` on
        a one-row input up to floating-point rounding of the distances.
        """
        s = self.distance_one(row)
        if math.isnan(s):
            raise ValueError("the novelty score is NaN: the row could not be encoded")
        lo = int(np.searchsorted(self._calibration, s, side="left"))
        hi = int(np.searchsorted(self._calibration, s, side="right"))
        return 100.0 * (lo + hi) / (2.0 * self._calibration.size)

    # -- state --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (arrays as base64 little-endian float64, exact)."""
        return {
            "version": 1,
            "method": "knn_mean_distance",
            "k": self.k,
            "encoder": self.encoder.to_dict(),
            "neighbours": _encode_array(self._neighbours),
            "calibration": _encode_array(self._calibration),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> NoveltyScorer:
        """Rebuild a scorer from :meth:`to_dict` output; it gives identical scores."""
        try:
            if state["version"] != 1 or state["method"] != "knn_mean_distance":
                raise ValueError(f"unsupported NoveltyScorer state: version {state['version']!r}, method {state['method']!r}")
            return cls(
                FeatureEncoder.from_dict(state["encoder"]),
                _decode_array(state["neighbours"]),
                _decode_array(state["calibration"]),
                int(state["k"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a NoveltyScorer state: {exc!r}") from None

    def __repr__(self) -> str:
        return (
            f"NoveltyScorer(k={self.k}, neighbours={self.n_neighbours}, "
            f"calibration={self.n_calibration}, columns={len(self.encoder.columns)})"
        )
