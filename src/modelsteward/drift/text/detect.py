"""Did a text feature drift?  :func:`text_drift` compares current texts with the reference.

Three views (see :mod:`modelsteward.drift.text`): a cross-validated domain classifier on
the embeddings (its ROC AUC and DeLong interval from :mod:`modelsteward.drift.auc`) with
the mean-embedding shift beside it, two-proportion z-tests per vocabulary term, and the
text-quality signals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy import stats

from modelsteward.drift._checks import whole_number as _int
from modelsteward.drift.auc import delong
from modelsteward.drift.text.profile import MIN_TEXTS, TextProfile
from modelsteward.drift.text.results import TermShift, TextDriftResult, _quality, _reading
from modelsteward.drift.text.tokens import _subsample, _texts
from modelsteward.errors import InsufficientDataError

__all__ = ["text_drift"]

_FOLDS = 5
_Z95 = 1.959963984540054


def _domain_classifier(ref: np.ndarray, cur: np.ndarray, seed: int) -> tuple[float, float, tuple[float, ...]]:
    """Pooled out-of-fold AUC, its DeLong SE and the per-fold AUCs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.vstack([ref, cur])
    y = np.concatenate([np.zeros(len(ref), dtype=np.int64), np.ones(len(cur), dtype=np.int64)])
    oof = np.empty(len(y), dtype=np.float64)
    fold_aucs: list[float] = []
    split = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=seed)
    for train, test in split.split(x, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        model.fit(x[train], y[train])
        scores = np.asarray(model.decision_function(x[test]), dtype=np.float64)
        oof[test] = scores
        yt = y[test]
        fold_aucs.append(delong(scores[yt == 1], scores[yt == 0])[0])
    auc, se = delong(oof[y == 1], oof[y == 0])
    return auc, se, tuple(fold_aucs)


def _mean_shift(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """``||mean(cur) - mean(ref)|| / sqrt(trace Cov(ref))`` and its no-drift level."""
    diff = float(np.linalg.norm(cur.mean(axis=0) - ref.mean(axis=0)))
    spread = math.sqrt(float(ref.var(axis=0, ddof=1).sum()))
    noise = math.sqrt(1.0 / len(ref) + 1.0 / len(cur))
    if spread == 0.0:
        return (0.0 if diff == 0.0 else math.inf), noise
    return diff / spread, noise


def _term_tests(df_ref: np.ndarray, n_ref: int, df_cur: np.ndarray, n_cur: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shares, two-sided two-proportion z-test p-values and BH q-values per term."""
    p1 = df_ref / n_ref
    p2 = df_cur / n_cur
    pooled = (df_ref + df_cur) / (n_ref + n_cur)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p2 - p1) / se, 0.0)
    p = np.where(se > 0, 2.0 * stats.norm.sf(np.abs(z)), 1.0)
    q = np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)
    return p1, p2, p, q


def text_drift(
    profile: TextProfile,
    reference_texts: Sequence[str | None],
    current_texts: Sequence[str | None],
    *,
    seed: int,
    max_docs: int = 20_000,
    min_auc: float = 0.55,
    alpha: float = 0.05,
    top_terms: int = 20,
    new_terms: int = 10,
) -> TextDriftResult:
    """Did a text feature drift?  Domain classifier on embeddings, term evidence, quality.

    Reference texts the profile was fitted on are left out (:meth:`TextProfile.held_out`;
    the notes of :mod:`modelsteward.drift.text` say why), so the whole reference may be
    passed.  Each side is then cut to a seeded sample of at most ``max_docs`` texts (``None`` counts as an empty text).

    **Embedding drift.**  Both samples are embedded with ``profile`` (TF-IDF/SVD or the
    user's function) and a standardised logistic regression is trained to tell current
    from reference texts over stratified 5-fold cross-validation.  ``auc`` is the ROC AUC
    of the pooled out-of-fold scores; its interval is ``auc ± 1.96 SE`` (clipped to [0, 1])
    with DeLong's standard error (DeLong et al. 1988).  The verdict is ``"drift"`` when
    ``auc >= min_auc`` and the lower bound exceeds 0.5: the bound alone would flag
    negligible differences once samples are large, and ``min_auc = 0.55`` is the AUC of a
    "small" effect (a standardised mean difference of about 0.18 on one normal score).
    This is a classifier two-sample test (Lopez-Paz and Oquab 2017).  The interval treats
    the out-of-fold scores as fixed and so ignores the noise of fitting the classifier:
    with no drift, ``(auc - 0.5) / std_error`` was measured with a standard deviation of
    about 1.3 rather than 1 (synthetic tickets and pure Gaussian noise alike), so the lower
    bound alone exceeds 0.5 in roughly 5-8% of drift-free windows rather than 2.5%.  Those
    come out as ``"small_change"``; the ``min_auc`` floor keeps them from being ``"drift"``.

    **Mean shift**, the cheaper second view, is ``||m_cur - m_ref|| / sqrt(tr Cov_ref)``:
    the distance between the mean embeddings in units of the reference's root-mean-square
    spread around its mean.  With no drift its expected square is ``1/n_ref + 1/n_cur``, so
    ``mean_shift_noise = sqrt(1/n_ref + 1/n_cur)`` is the level sampling alone produces.

    **Term evidence.**  For every vocabulary term, the share of texts holding it in each
    sample is compared with the pooled two-proportion z-test (two-sided); p-values are
    adjusted across the whole vocabulary with Benjamini-Hochberg
    (``scipy.stats.false_discovery_control``), and the terms with ``q < alpha`` are ranked
    by ``|change|`` in percentage points.  ``new_terms`` lists the tokens outside the
    reference vocabulary held by the most current texts (at least 2).

    **Quality.**  Mean tokens per text, share of texts with no token and share of tokens
    outside the reference vocabulary, for each sample.

    Parameters
    ----------
    profile : TextProfile
        Built from the reference texts (:meth:`TextProfile.build`).
    reference_texts, current_texts : sequence of str
        The texts to compare; each side needs at least :data:`MIN_TEXTS`.
    seed : int
        Seeds the samples and the cross-validation folds.
    max_docs : int, default 20000
        Cap on each side's sample.
    min_auc : float, default 0.55
        AUC from which a significant separation counts as drift, in (0.5, 1].
    alpha : float, default 0.05
        False discovery rate for the term evidence, in (0, 1).
    top_terms : int, default 20
        Most significant term shifts reported.
    new_terms : int, default 10
        Most out-of-vocabulary tokens reported.

    Returns
    -------
    TextDriftResult

    Raises
    ------
    InsufficientDataError
        If fewer than :data:`MIN_TEXTS` current texts, or held-out reference texts, remain.
    ValueError
        If an argument is invalid or a user embedding function misbehaves.

    References
    ----------
    .. [1] DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). Comparing the
       areas under two or more correlated receiver operating characteristic curves: a
       nonparametric approach. *Biometrics* 44(3), 837-845.
    .. [2] Lopez-Paz, D. and Oquab, M. (2017). Revisiting classifier two-sample tests.
       *ICLR 2017*.
    .. [3] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. *Journal of the Royal
       Statistical Society B* 57(1), 289-300.
    .. [4] Rabanser, S., Günnemann, S. and Lipton, Z. C. (2019). Failing loudly: an
       empirical study of methods for detecting dataset shift. *NeurIPS 2019*.

    Examples
    --------
    >>> import numpy as np
    >>> def tickets(n, p_outage, rng):
    ...     kinds = ["my invoice is wrong", "cannot log in", "the site is down outage"]
    ...     topic = rng.choice(3, size=n, p=[(1 - p_outage) / 2, (1 - p_outage) / 2, p_outage])
    ...     return [f"{kinds[k]} order {rng.integers(100)}" for k in topic]
    >>> rng = np.random.default_rng(0)
    >>> reference = tickets(600, 0.1, rng)
    >>> profile = TextProfile.build(reference, dims=5, seed=0)
    >>> res = text_drift(profile, reference, tickets(400, 0.1, rng), seed=1)
    >>> res.verdict, res.n_significant_terms
    ('no_drift', 0)
    >>> res = text_drift(profile, reference, tickets(400, 0.5, rng), seed=1)
    >>> res.verdict, res.auc > 0.6, res.top_terms[:3]
    ('drift', True, ('down', 'down outage', 'is down'))
    >>> t = res.terms[0]
    >>> print(f"{t.term}: {t.reference_share:.2f} -> {t.current_share:.2f} ({t.change_pp:+.1f} pp)")
    down: 0.10 -> 0.43 (+33.0 pp)
    """
    if not isinstance(profile, TextProfile):
        raise ValueError(f"profile must be a TextProfile, got {type(profile).__name__}")
    seed = _int(seed, "seed", 0)
    max_docs = _int(max_docs, "max_docs", MIN_TEXTS)
    top_terms = _int(top_terms, "top_terms", 0)
    new_terms = _int(new_terms, "new_terms", 0)
    if isinstance(min_auc, bool) or not isinstance(min_auc, (int, float)) or not 0.5 < min_auc <= 1.0:
        raise ValueError(f"min_auc must be in (0.5, 1], got {min_auc!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    ref_given = _texts(reference_texts, "reference_texts")
    ref_all = profile.held_out(ref_given)
    cur_all = _texts(current_texts, "current_texts")
    if len(ref_all) < MIN_TEXTS:
        raise InsufficientDataError(
            f"text drift needs at least {MIN_TEXTS} reference texts the profile was not fitted on; "
            f"{len(ref_given)} given, {len(ref_given) - len(ref_all)} of them in the profile's fit share",
            hint="pass more reference texts, or build the profile with a larger holdout",
        )
    if len(cur_all) < MIN_TEXTS:
        raise InsufficientDataError(f"text drift needs at least {MIN_TEXTS} current texts, got {len(cur_all)}")
    rng = np.random.default_rng(seed)
    ref_docs = _subsample(ref_all, max_docs, rng)
    cur_docs = _subsample(cur_all, max_docs, rng)
    ref_w, cur_w = profile._analyze(ref_docs), profile._analyze(cur_docs)
    nr, nc = len(ref_docs), len(cur_docs)

    # (a) embedding drift
    ref_e = profile._embed_docs(ref_docs, ref_w)
    cur_e = profile._embed_docs(cur_docs, cur_w)
    if ref_e.shape[1] != cur_e.shape[1]:
        raise ValueError(f"the embedding function returned {ref_e.shape[1]} and {cur_e.shape[1]} columns for the two samples")
    auc, se, fold_aucs = _domain_classifier(ref_e, cur_e, int(rng.integers(2**31 - 1)))
    lo, hi = max(0.0, auc - _Z95 * se), min(1.0, auc + _Z95 * se)
    p_value = float(stats.norm.sf((auc - 0.5) / se)) if se > 0 else (0.0 if auc > 0.5 else 1.0)
    verdict = ("drift" if auc >= min_auc else "small_change") if lo > 0.5 else "no_drift"
    shift, noise = _mean_shift(ref_e, cur_e)

    # (b) term evidence
    p1, p2, p, q = _term_tests(ref_w.document_frequency, nr, cur_w.document_frequency, nc)
    change = 100.0 * (p2 - p1)
    sig = np.flatnonzero(q < alpha)
    order = sig[np.lexsort((sig, -np.abs(change[sig])))][:top_terms]
    vocab = profile.vocabulary
    shifts = tuple(
        TermShift(
            term=vocab[j],
            reference_share=float(p1[j]),
            current_share=float(p2[j]),
            change_pp=float(change[j]),
            p_value=float(p[j]),
            q_value=float(q[j]),
        )
        for j in order
    )
    unseen = sorted(((t, c) for t, c in cur_w.oov_df.items() if c >= 2), key=lambda tc: (-tc[1], tc[0]))[:new_terms]
    unseen_shares = tuple((t, c / nc) for t, c in unseen)

    # (c) quality and reading
    result = TextDriftResult(
        verdict=verdict,
        drift=verdict == "drift",
        auc=auc,
        ci_low=lo,
        ci_high=hi,
        std_error=se,
        p_value=p_value,
        fold_aucs=fold_aucs,
        min_auc=float(min_auc),
        mean_shift=shift,
        mean_shift_noise=noise,
        terms=shifts,
        n_significant_terms=int(sig.size),
        new_terms=unseen_shares,
        reference_quality=_quality(ref_w),
        current_quality=_quality(cur_w),
        representation=profile.representation,
        n_reference=nr,
        n_current=nc,
        reference_excluded=len(ref_given) - len(ref_all),
        seed=seed,
        reading="",
    )
    return replace(result, reading=_reading(result, alpha=float(alpha)))
