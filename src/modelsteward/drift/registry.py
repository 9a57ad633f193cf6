"""Every drift test, declared once, and the rule that turns a test result into a verdict.

Each test has a stable name (results are stored under it), the column kinds it accepts,
whether it gives a p-value, what its effect size is and the effect at or above which a
change counts as practically large.  The statistics themselves live in
:mod:`~modelsteward.drift.ks`, :mod:`~modelsteward.drift.samples`,
:mod:`~modelsteward.drift.psi`, :mod:`~modelsteward.drift.distances` and
:mod:`~modelsteward.drift.chi_square`; ``DriftTestSpec.function`` names each one.

Default thresholds
------------------
The effect sizes do not grow with the sample size (a p-value does), so "practically large"
can be one number per test.  For comparison, the normal mean shift (in standard deviations)
at which each numeric effect reaches its default, computed from the population values
(binned tests on 10 quantile bins of the reference):

=================  ===================================  =======  ===================
test               effect                               default  normal shift to reach it
=================  ===================================  =======  ===================
ks                 KS distance D                        0.1      0.25 sd
wasserstein        W1 / reference std                   0.1      0.10 sd
psi                PSI                                  0.1      0.32 sd
jensen_shannon     JS distance (base 2)                 0.1      0.24 sd
hellinger          Hellinger distance                   0.1      0.29 sd
anderson_darling   Anderson-Darling distance            0.17     0.25 sd
cramer_von_mises   Cramér-von Mises distance            0.075    0.25 sd
=================  ===================================  =======  ===================

KS D = 0.1, PSI = 0.1 (the usual "moderate shift" line, Siddiqi 2006) and JS / Hellinger
distance 0.1 agree on roughly a quarter to a third of a standard deviation; the
Anderson-Darling and Cramér-von Mises distances, which have no customary cut-off, are set to
agree with KS.  The normalised Wasserstein distance keeps the issue's 0.1 - a tenth of the
reference spread - and is the most sensitive of the family.  Categorical: total variation
0.1 means 10 % of the mass moved between categories (the old ``share_change_pp: 10``); the
chi-square and G effect is Cohen's ``w`` (:func:`~modelsteward.drift.distances.cohens_w`)
with threshold 0.2, which is Cramér's V = 0.1 when reference and window have the same size
(``w = 2 V`` then) and is reached by a 10-point move between two 50/50 categories.  Cramér's
V itself is not used: it shrinks towards 0 when the reference is much larger than the window.

The verdict
-----------
:func:`verdict` says *drift* only when the effect is practically large **and**, for a test
with a p-value, the p-value adjusted across the features of the window
(:mod:`~modelsteward.drift.correction`, Benjamini-Hochberg by default) is below ``alpha``.
A significant change below the effect threshold is a *small_change*; anything else
*no_drift*.  Because the effects converge to their population values as windows grow, an
unchanged feature is not flagged however large the window, and a trivial but real change
becomes a *small_change*, never *drift*.  Both conditions move continuously with the data,
so there is no cliff at any row count other than the explicit ``min_samples``.

A distance without a p-value is noisy in small windows (PSI of two samples of 100 from the
same distribution is often near 0.1), so for the subject's headline verdict each kind pairs
an effect with a p-value test: :data:`VERDICT_TESTS`.  The verdicts' p-values of every
subject of a window - input features and the model's outputs (confidence, predicted class,
label) - are one family: a subject tested in a window is corrected for every other one.

The window's verdict
--------------------
:func:`dataset_verdict` answers "did the inputs of this window drift?" with its own, stricter
significance, ``drift.dataset_p_value`` (default 0.001), because it is what pages people.
The arithmetic: weekly windows make 52 decisions a year per model.  At the per-feature level
0.05 the window would be called *drift* in up to 5 % of unchanged weeks - up to 2.6 false
alarms a year per model (1.3-1.6 % of weeks measured in ``benchmarks/bench_drift_quality.py``,
the effect rule removing about two thirds).  A team watching 20 models weekly makes about
1,000 window decisions a year; 0.001 bounds its false window alarms at about one a year
across all of them, one in 19 years per model.  Per-feature verdicts keep ``p_value``, so a
0.2 sd shift still reads *drift* on its feature in the first window; when features read
*drift* but the window-level test does not pass, the window reads *small_change*.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from modelsteward.drift.correction import P_FLOOR, benjamini_hochberg, simes

__all__ = [
    "DEFAULT_CATEGORICAL",
    "DEFAULT_NUMERIC",
    "KINDS",
    "STATUSES",
    "TESTS",
    "VERDICT_TESTS",
    "DatasetVerdict",
    "DriftTestSpec",
    "Verdict",
    "dataset_verdict",
    "format_p",
    "tests_for",
    "verdict",
]

#: The column kinds a drift test can accept.
KINDS = ("numeric", "categorical")

Status = Literal["drift", "small_change", "no_drift", "not_enough_data"]

#: The verdict statuses, most to least severe.
STATUSES: tuple[Status, ...] = ("drift", "small_change", "no_drift", "not_enough_data")


@dataclass(frozen=True)
class DriftTestSpec:
    """One drift test: its stable name, what it accepts, and what it reports.

    Attributes
    ----------
    name : str
        Stable name; results are stored under it.
    kinds : frozenset of str
        Column kinds the test accepts: ``"numeric"``, ``"categorical"`` or both.
    has_p_value : bool
        Whether the test gives a p-value (which is then corrected across features).
    effect_size : str
        What the effect size is.
    default_threshold : float
        Effect size at or above which a change is practically large.
    reference : str
        The method's reference.
    function : str
        Dotted path of the function computing it.
    inputs : str
        What the function needs.
    """

    name: str
    kinds: frozenset[str]
    has_p_value: bool
    effect_size: str
    default_threshold: float
    reference: str
    function: str
    inputs: str

    def accepts(self, kind: str) -> bool:
        """Whether the test applies to columns of ``kind``."""
        return kind in self.kinds


_NUM = frozenset({"numeric"})
_CAT = frozenset({"categorical"})
_BOTH = frozenset({"numeric", "categorical"})
_GROUPED = "grouped values: the pooled distinct values with their reference and current counts"
_BINS = "counts on the reference's quantile bins (numeric) or per category, reference and current"

_SPECS = (
    DriftTestSpec(
        name="ks", kinds=_NUM, has_p_value=True,
        effect_size="KS distance D = max |F_ref - F_cur|",
        default_threshold=0.1,
        reference="Smirnov, N. V. (1939), Bull. Math. Univ. Moscou 2(2); Hodges, J. L. (1958), Arkiv för Matematik 3(43), 469-486",
        function="modelsteward.drift.ks.ks_2samp_grouped", inputs=_GROUPED,
    ),
    DriftTestSpec(
        name="wasserstein", kinds=_NUM, has_p_value=False,
        effect_size="Wasserstein-1 distance / reference standard deviation (ddof=1)",
        default_threshold=0.1,
        reference="Villani, C. (2009), Optimal Transport: Old and New, Springer, ch. 6; Ramdas, A. et al. (2017), Entropy 19(2), 47",
        function="modelsteward.drift.samples.wasserstein_normalised_grouped", inputs=_GROUPED,
    ),
    DriftTestSpec(
        name="psi", kinds=_BOTH, has_p_value=False,
        effect_size="Population Stability Index",
        default_threshold=0.1,
        reference="Siddiqi, N. (2006), Credit Risk Scorecards, Wiley, pp. 136-140",
        function="modelsteward.drift.psi.psi", inputs=_BINS,
    ),
    DriftTestSpec(
        name="jensen_shannon", kinds=_BOTH, has_p_value=False,
        effect_size="Jensen-Shannon distance, base 2",
        default_threshold=0.1,
        reference=("Lin, J. (1991), IEEE Trans. Inf. Theory 37(1), 145-151; "
                   "Endres, D. M. and Schindelin, J. E. (2003), IEEE Trans. Inf. Theory 49(7), 1858-1860"),
        function="modelsteward.drift.distances.jensen_shannon", inputs=_BINS,
    ),
    DriftTestSpec(
        name="hellinger", kinds=_NUM, has_p_value=False,
        effect_size="Hellinger distance",
        default_threshold=0.1,
        reference="Le Cam, L. and Yang, G. L. (2000), Asymptotics in Statistics, 2nd ed., Springer, ch. 3",
        function="modelsteward.drift.distances.hellinger",
        inputs="counts on the reference's quantile bins, reference and current",
    ),
    DriftTestSpec(
        name="anderson_darling", kinds=_NUM, has_p_value=True,
        effect_size="Anderson-Darling distance sqrt(A2akN (n1 + n2) / (n1 n2)); p-value limited to [0.001, 0.25]",
        default_threshold=0.17,
        reference="Scholz, F. W. and Stephens, M. A. (1987), JASA 82(399), 918-924",
        function="modelsteward.drift.samples.anderson_darling_grouped", inputs=_GROUPED,
    ),
    DriftTestSpec(
        name="cramer_von_mises", kinds=_NUM, has_p_value=True,
        effect_size="Cramér-von Mises distance sqrt(T (n1 + n2) / (n1 n2))",
        default_threshold=0.075,
        reference="Anderson, T. W. (1962), Ann. Math. Statist. 33(3), 1148-1159",
        function="modelsteward.drift.samples.cramer_von_mises_grouped", inputs=_GROUPED,
    ),
    DriftTestSpec(
        name="chi2", kinds=_CAT, has_p_value=True,
        effect_size=("Cohen's w = sqrt(chi2 / n_eff), n_eff = n_ref n_cur / (n_ref + n_cur), from "
                     "modelsteward.drift.distances.cohens_w (not the result's Cramér's V)"),
        default_threshold=0.2,
        reference=("Pearson, K. (1900), Philosophical Magazine 50(302), 157-175; "
                   "Cohen, J. (1988), Statistical Power Analysis for the Behavioral Sciences, 2nd ed., ch. 7"),
        function="modelsteward.drift.chi_square.chi_square_homogeneity", inputs="counts per category, reference and current",
    ),
    DriftTestSpec(
        name="g_test", kinds=_CAT, has_p_value=True,
        effect_size="w = sqrt(G / n_eff), n_eff = n_ref n_cur / (n_ref + n_cur)",
        default_threshold=0.2,
        reference="Wilks, S. S. (1938), Ann. Math. Statist. 9(1), 60-62; Sokal, R. R. and Rohlf, F. J. (1995), Biometry, 3rd ed., ch. 17",
        function="modelsteward.drift.distances.g_test", inputs="counts per category, reference and current",
    ),
    DriftTestSpec(
        name="total_variation", kinds=_CAT, has_p_value=False,
        effect_size="total variation distance, half the sum of absolute share changes",
        default_threshold=0.1,
        reference="Levin, D. A., Peres, Y. and Wilmer, E. L. (2009), Markov Chains and Mixing Times, AMS, section 4.1",
        function="modelsteward.drift.distances.total_variation", inputs="counts per category, reference and current",
    ),
)

#: Every drift test by its stable name, in a fixed order.
TESTS: dict[str, DriftTestSpec] = {spec.name: spec for spec in _SPECS}

#: Tests run by default on numeric columns.
DEFAULT_NUMERIC: tuple[str, ...] = ("ks", "wasserstein", "psi")

#: Tests run by default on categorical columns.
DEFAULT_CATEGORICAL: tuple[str, ...] = ("chi2", "total_variation", "psi")

#: For a subject's headline verdict: ``(effect test, p-value test)`` per kind.  The effect
#: comes from the first test and is compared with its threshold; the significance comes from
#: the second, adjusted across the features of the window.
VERDICT_TESTS: dict[str, tuple[str, str]] = {
    "numeric": ("wasserstein", "ks"),
    "categorical": ("total_variation", "chi2"),
}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {kind!r}")


def tests_for(kind: str) -> list[DriftTestSpec]:
    """Every test that accepts columns of ``kind``, in :data:`TESTS` order.

    Parameters
    ----------
    kind : {"numeric", "categorical"}
        The column kind.

    Returns
    -------
    list of DriftTestSpec

    Raises
    ------
    ValueError
        If ``kind`` is not a known kind.

    Examples
    --------
    >>> [s.name for s in tests_for("categorical")]
    ['psi', 'jensen_shannon', 'chi2', 'g_test', 'total_variation']
    >>> import random
    >>> kind = random.Random(0).choice(KINDS)
    >>> kind, len(tests_for(kind))
    ('categorical', 5)
    """
    _check_kind(kind)
    return [spec for spec in TESTS.values() if spec.accepts(kind)]


tests_for.__test__ = False  # type: ignore[attr-defined]  # a name pytest would otherwise collect


@dataclass(frozen=True)
class Verdict:
    """A verdict and one plain-language sentence explaining it."""

    status: Status
    reading: str


@dataclass(frozen=True)
class DatasetVerdict(Verdict):
    """The window's verdict over its input features, with the window-level evidence behind it.

    ``p_value`` is Simes' global p-value over the tested features (None when none has a
    p-value); ``alarming`` the positions of the features that carry a *drift* verdict.
    """

    p_value: float | None
    alarming: tuple[int, ...]


def format_p(p: float) -> str:
    """A p-value as text: two significant digits, scientific below 1e-4, ``"< 1e-300"`` at the floor.

    Never prints 0: p-values at or below :data:`~modelsteward.drift.correction.P_FLOOR`
    (underflowed tail probabilities, stored as the floor) read ``"< 1e-300"``.

    Examples
    --------
    >>> [format_p(p) for p in (0.5, 0.0123, 2e-6, 1e-300, 0.0)]
    ['0.5', '0.012', '2.0e-06', '< 1e-300', '< 1e-300']
    >>> import random
    >>> format_p(random.Random(0).uniform(0, 1e-5))
    '8.4e-06'
    """
    value = float(p)
    if value <= P_FLOOR:
        return f"< {P_FLOOR:.0e}"
    return f"{value:.2g}" if value >= 1e-4 else f"{value:.1e}"


def _p_is(name: str, p: float) -> str:
    """``"adjusted p = 0.012"`` or ``"adjusted p < 1e-300"``."""
    text = format_p(p)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def _fmt(x: float) -> str:
    return "infinite" if math.isinf(x) else f"{x:.3g}"


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return a


def _optional_p(p: float | None, name: str) -> float | None:
    if p is None:
        return None
    value = float(p)
    if math.isnan(value):
        return None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], None or NaN, got {p!r}")
    return value


def _count(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {n!r}")
    return int(n)


def verdict(
    *,
    effect: float,
    threshold: float,
    p_adjusted: float | None,
    alpha: float,
    n_current: int,
    min_samples: int,
    subject: str,
    effect_name: str = "effect",
) -> Verdict:
    """The drift verdict for one subject from an effect size and an adjusted p-value.

    * ``not_enough_data`` when ``n_current < min_samples``;
    * ``drift`` when ``effect >= threshold`` and either the test has no p-value
      (``p_adjusted`` None or NaN) or ``p_adjusted < alpha``;
    * ``small_change`` when ``p_adjusted < alpha`` but ``effect < threshold``: statistically
      clear, practically small (typical of very large windows);
    * ``no_drift`` otherwise - including a large effect that is not significant, i.e. one
      that chance alone produces often at this sample size.

    ``p_adjusted`` should be adjusted across the features of the window
    (:func:`~modelsteward.drift.correction.adjust`).  Without a p-value the verdict rests on
    the effect alone, which small windows inflate by chance: prefer the pairing of
    :data:`VERDICT_TESTS`.

    Parameters
    ----------
    effect : float
        The effect size (not NaN; may be ``inf``).
    threshold : float
        Effect size at or above which a change is practically large, finite and >= 0.
    p_adjusted : float or None
        The adjusted p-value in [0, 1]; None or NaN when the test has none.
    alpha : float
        Significance level, in (0, 1).
    n_current : int
        Number of values in the window.
    min_samples : int
        Fewest values a window needs for a verdict.
    subject : str
        What was tested, as it should read in the sentence (e.g. a feature name).
    effect_name : str, default "effect"
        Name of the effect in the sentence, e.g. ``"PSI"``.

    Returns
    -------
    Verdict
        ``status`` and ``reading``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> v = verdict(effect=0.31, threshold=0.1, p_adjusted=2e-6, alpha=0.05, n_current=5000,
    ...             min_samples=30, subject="length", effect_name="Wasserstein / std")
    >>> v.status
    'drift'
    >>> print(v.reading)
    length has drifted: Wasserstein / std = 0.31, at or above the 0.1 threshold for a practically large change (adjusted p = 2.0e-06).
    >>> import random
    >>> p = random.Random(1).uniform(0, 0.01)
    >>> print(verdict(effect=0.02, threshold=0.1, p_adjusted=p, alpha=0.05, n_current=10**6,
    ...               min_samples=30, subject="length").reading)
    length changed a little but clearly: effect = 0.02, below the 0.1 threshold for a practically large change (adjusted p = 0.0013).
    """
    e = float(effect)
    if math.isnan(e):
        raise ValueError("effect must be a number, got NaN")
    t = float(threshold)
    if not (math.isfinite(t) and t >= 0.0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    a = _check_alpha(alpha)
    p = _optional_p(p_adjusted, "p_adjusted")
    n = _count(n_current, "n_current")
    need = _count(min_samples, "min_samples")

    if n < need:
        return Verdict("not_enough_data", f"{n} values of {subject} in this window; at least {need} are needed to tell.")
    large = e >= t
    measured = f"{effect_name} = {_fmt(e)}"
    if p is None:
        if large:
            return Verdict("drift", f"{subject} has drifted: {measured}, at or above the {t:g} threshold for a practically "
                                    "large change (this test has no p-value).")
        return Verdict("no_drift", f"no evidence that {subject} changed: {measured}, below the {t:g} threshold for a "
                                   "practically large change (this test has no p-value).")
    p_text = _p_is("adjusted p", p)
    if p < a and large:
        return Verdict("drift", f"{subject} has drifted: {measured}, at or above the {t:g} threshold for a practically "
                                f"large change ({p_text}).")
    if p < a:
        return Verdict("small_change", f"{subject} changed a little but clearly: {measured}, below the {t:g} threshold "
                                       f"for a practically large change ({p_text}).")
    if large:
        return Verdict("no_drift", f"no clear change in {subject}: {measured} reaches the {t:g} threshold, but with "
                                   f"{p_text} (not below {a:g}) chance alone could explain it at this sample size.")
    return Verdict("no_drift", f"no evidence that {subject} changed: {measured} (threshold {t:g}), {p_text}.")


def dataset_verdict(
    feature_p_values: Sequence[float | None],
    feature_large: Sequence[bool],
    feature_statuses: Sequence[str],
    *,
    dataset_alpha: float,
) -> DatasetVerdict:
    """The window's verdict over its input features, with a false-alarm rate of ``dataset_alpha``.

    * *drift* when at least one feature reads *drift* (large effect, significant at the
      per-feature level) **and** its p-value, Benjamini-Hochberg adjusted across the window's
      tested input features, is below ``dataset_alpha``;
    * *small_change* when no feature passes that bar but at least one reads *drift* or
      *small_change* on its own: visible, not alarm-level;
    * *not_enough_data* when no feature could be tested (statuses ``not_enough_data`` or
      ``no_reference`` only); *no_drift* otherwise.

    Why the false-alarm rate is at most ``dataset_alpha``: some feature's BH-adjusted p is
    below ``dataset_alpha`` exactly when Simes' (1986) global test rejects "no input changed"
    at that level (:func:`~modelsteward.drift.correction.simes`), and the other conditions
    (a large effect, a per-feature *drift* verdict) can only remove alarms.  Simes' test has
    size at most ``dataset_alpha`` for independent or positively dependent p-values (Sarkar
    1998).  The bar is computed from the raw p-values here, whatever per-feature correction
    is configured, so ``drift.correction: none`` does not loosen it.  A feature whose test
    has no p-value (None) counts on its effect alone; the verdict pairs of
    :data:`VERDICT_TESTS` always have one.  The default 0.001 and the arithmetic behind it
    are in this module's docstring.

    Parameters
    ----------
    feature_p_values : sequence of float or None
        Each feature's raw p-value of its verdict test (None or NaN where it has none).
    feature_large : sequence of bool
        Whether each feature's effect reached its threshold.
    feature_statuses : sequence of str
        Each feature's verdict status (``no_reference`` is accepted as "not tested").
    dataset_alpha : float
        The window-level significance, in (0, 1).

    Returns
    -------
    DatasetVerdict
        ``status``, a one-sentence ``reading``, the Simes ``p_value`` and the ``alarming``
        features' positions.

    Raises
    ------
    ValueError
        If the sequences differ in length, a status is unknown, or a feature's status
        contradicts its evidence (``drift`` without a large effect, ``small_change`` without
        a p-value).

    References
    ----------
    .. [1] Simes, R. J. (1986). An improved Bonferroni procedure for multiple tests of
       significance. *Biometrika* 73(3), 751-754.
    .. [2] Sarkar, S. K. (1998). Some probability inequalities for ordered MTP2 random
       variables: a proof of the Simes conjecture. *Annals of Statistics* 26(2), 494-504.
    .. [3] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate.
       *J. R. Statist. Soc. B* 57(1), 289-300.

    Examples
    --------
    >>> v = dataset_verdict([1e-5, 0.4, None], [True, False, False], ["drift", "no_drift", "not_enough_data"],
    ...                     dataset_alpha=0.001)
    >>> v.status, v.alarming
    ('drift', (0,))
    >>> print(v.reading)
    1 of 2 tested features drifted (window-level Simes p = 2.0e-05, below 0.001); a window where no
    input changed is called drift with probability at most 0.001.
    >>> print(dataset_verdict([0.004, 0.4], [True, False], ["drift", "no_drift"], dataset_alpha=0.001).reading)
    1 of 2 tested features reads drift on its own, but the window does not pass its own test
    (Simes p = 0.008, not below 0.001): watch the next windows.
    >>> import numpy as np
    >>> ps = np.random.default_rng(0).uniform(0.2, 1, size=3).tolist()
    >>> dataset_verdict(ps, [False] * 3, ["no_drift"] * 3, dataset_alpha=0.001).status
    'no_drift'
    """
    da = _check_alpha(dataset_alpha)
    n = len(feature_statuses)
    if len(feature_p_values) != n or len(feature_large) != n:
        raise ValueError(f"got {len(feature_p_values)} p-values, {len(feature_large)} effect flags and {n} statuses; "
                         "one of each per feature")
    known = {*STATUSES, "no_reference"}
    tested: list[int] = []
    ps: list[float | None] = []
    for i, (raw_p, large, status) in enumerate(zip(feature_p_values, feature_large, feature_statuses, strict=True)):
        if status not in known:
            raise ValueError(f"feature {i}: unknown status {status!r}")
        p = _optional_p(raw_p, f"feature {i}'s p-value")
        if status == "drift" and not large:
            raise ValueError(f"feature {i}: status 'drift' needs a large effect (feature_large true)")
        if status == "small_change" and p is None:
            raise ValueError(f"feature {i}: status 'small_change' needs a p-value, got {raw_p!r}")
        if status not in ("not_enough_data", "no_reference"):
            tested.append(i)
            ps.append(p)
    if not tested:
        return DatasetVerdict("not_enough_data", "no feature had enough data in this window to be tested.", None, ())
    adjusted = benjamini_hochberg(ps)  # across the window's tested inputs, whatever drift.correction says
    window_p = simes(ps)
    window_p_out = None if math.isnan(window_p) else window_p
    statuses = [feature_statuses[i] for i in tested]
    alarming = tuple(i for i, status, p_adj in zip(tested, statuses, adjusted, strict=True)
                     if status == "drift" and (math.isnan(p_adj) or p_adj < da))
    n_drift, n_small, m = statuses.count("drift"), statuses.count("small_change"), len(tested)
    simes_text = "" if window_p_out is None else _p_is("Simes p", window_p_out)
    if alarming:
        past = "" if len(alarming) == n_drift else f", {len(alarming)} of them past the window-level bar"
        evidence = f" (window-level {simes_text}, below {da:g})" if simes_text else ""
        return DatasetVerdict("drift", f"{n_drift} of {m} tested features drifted{past}{evidence}; a window where no input "
                                       f"changed is called drift with probability at most {da:g}.", window_p_out, alarming)
    if n_drift:
        verb = "reads drift on its own" if n_drift == 1 else "read drift on their own"
        return DatasetVerdict("small_change", f"{n_drift} of {m} tested features {verb}, but the window "
                                              f"does not pass its own test ({simes_text}, not below {da:g}): watch the next "
                                              "windows.", window_p_out, ())
    smallest = f" ({simes_text})" if simes_text else ""
    if n_small:
        return DatasetVerdict("small_change", f"no feature drifted, but {n_small} of {m} tested features changed a little "
                                              f"but clearly{smallest}.", window_p_out, ())
    return DatasetVerdict("no_drift", f"none of the {m} tested features drifted{smallest}.", window_p_out, ())
