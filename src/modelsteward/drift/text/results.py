"""What :func:`~modelsteward.drift.text.text_drift` returns, and the plain-language reading of it.

:class:`TermShift` (one term's moved document share), :class:`TextQuality` (one window's
text-quality signals) and :class:`TextDriftResult`; ``_reading`` writes the result's
paragraph for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from modelsteward.drift.text.tokens import _Window

__all__ = ["TermShift", "TextDriftResult", "TextQuality"]


@dataclass(frozen=True)
class TermShift:
    """One vocabulary term whose document share moved.

    Shares are the fractions of texts holding the term; ``change_pp`` is
    ``100 * (current_share - reference_share)``; ``p_value`` is the two-proportion z-test's,
    ``q_value`` the Benjamini-Hochberg-adjusted one across the whole vocabulary.
    """

    term: str
    reference_share: float
    current_share: float
    change_pp: float
    p_value: float
    q_value: float


@dataclass(frozen=True)
class TextQuality:
    """Text-quality signals of one window.

    ``mean_tokens`` is the mean number of tokens per text; ``empty_share`` the share of
    texts with no token (empty, blank, punctuation only or missing); ``oov_share`` the
    share of tokens that are not in the reference vocabulary (0 when there are no tokens).
    """

    n_texts: int
    mean_tokens: float
    empty_share: float
    oov_share: float


@dataclass(frozen=True)
class TextDriftResult:
    """Result of :func:`text_drift`.

    ``auc`` is the pooled out-of-fold ROC AUC of the domain classifier, ``ci_low`` /
    ``ci_high`` its 95% DeLong interval, ``std_error`` the DeLong standard error and
    ``p_value`` one-sided for AUC > 0.5; ``fold_aucs`` are per fold, for information.
    ``verdict`` is ``"drift"`` (``auc >= min_auc`` and ``ci_low > 0.5``; then ``drift`` is
    true), ``"small_change"`` (``ci_low > 0.5`` but ``auc < min_auc``) or ``"no_drift"``.
    ``mean_shift`` is the distance between the mean embeddings over the reference's spread,
    ``mean_shift_noise`` the value expected from sampling alone.  ``terms`` are the
    significant term shifts, largest ``|change_pp|`` first (at most ``top_terms``), of
    ``n_significant_terms``; ``new_terms`` the commonest current tokens outside the
    reference vocabulary with their current document share.  ``n_reference`` and
    ``n_current`` are the compared sample sizes; ``reference_excluded`` counts the reference
    texts left out because the profile was fitted on them (or on their key share).
    """

    verdict: str
    drift: bool
    auc: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    fold_aucs: tuple[float, ...]
    min_auc: float
    mean_shift: float
    mean_shift_noise: float
    terms: tuple[TermShift, ...]
    n_significant_terms: int
    new_terms: tuple[tuple[str, float], ...]
    reference_quality: TextQuality
    current_quality: TextQuality
    representation: str
    n_reference: int
    n_current: int
    reference_excluded: int
    seed: int
    reading: str

    @property
    def top_terms(self) -> tuple[str, ...]:
        """The significant terms, largest change first."""
        return tuple(t.term for t in self.terms)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (tuples become lists)."""
        out = asdict(self)
        out["fold_aucs"] = list(self.fold_aucs)
        out["terms"] = [asdict(t) for t in self.terms]
        out["new_terms"] = [[t, s] for t, s in self.new_terms]
        return out


def _rate(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def _quality(window: _Window) -> TextQuality:
    n = len(window.n_tokens)
    total = int(window.n_tokens.sum())
    return TextQuality(
        n_texts=n,
        mean_tokens=_rate(total, n),
        empty_share=_rate(int(np.count_nonzero(window.n_tokens == 0)), n),
        oov_share=_rate(window.n_oov, total),
    )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"




def _reading(res: TextDriftResult, *, alpha: float) -> str:
    """The result in a few sentences: verdict with AUC, mean shift, moved terms, new words, quality."""
    what = "user-supplied embeddings" if res.representation == "user" else "TF-IDF/SVD embeddings"
    auc_txt = f"AUC {res.auc:.2f}, 95% CI {res.ci_low:.2f}-{res.ci_high:.2f}; 0.5 means indistinguishable"
    if res.verdict == "drift":
        head = f"The text drifted: a classifier on {what} tells current texts from reference texts ({auc_txt})."
    elif res.verdict == "small_change":
        head = (
            f"Perhaps a slight change in the text, not counted as drift: a classifier on {what} separates "
            f"current from reference texts only slightly ({auc_txt}; drift needs {res.min_auc:.2f}), "
            "which also happens by chance in some windows without drift."
        )
    else:
        head = f"No drift in the text: a classifier on {what} cannot reliably tell current texts from reference texts ({auc_txt})."
    parts = [head]
    parts.append(
        f"The mean embedding moved {res.mean_shift:.2f} reference spreads "
        f"(sampling noise alone gives about {res.mean_shift_noise:.2f})."
    )
    n_sig = res.n_significant_terms
    if n_sig == 0:
        parts.append(f"No term's share of texts changed significantly (Benjamini-Hochberg, FDR {alpha:g}).")
    else:
        rose = [t for t in res.terms if t.change_pp > 0][:5]
        fell = [t for t in res.terms if t.change_pp < 0][:3]

        def fmt(ts: Sequence[TermShift]) -> str:
            return ", ".join(f"'{t.term}' {_pct(t.reference_share)} -> {_pct(t.current_share)} ({t.change_pp:+.1f} pp)" for t in ts)

        sentence = f"{n_sig} term(s) changed their share of texts significantly (Benjamini-Hochberg, FDR {alpha:g})."
        if rose:
            sentence += f" Rose most: {fmt(rose)}."
        if fell:
            sentence += f" Fell most: {fmt(fell)}."
        parts.append(sentence)
    notable_new = [(t, s) for t, s in res.new_terms if s >= 0.01][:5]
    if notable_new:
        parts.append(
            "Common current words the reference vocabulary lacks: " + ", ".join(f"'{t}' ({_pct(s)} of texts)" for t, s in notable_new) + "."
        )
    ref_q, cur_q = res.reference_quality, res.current_quality
    parts.append(
        f"Text quality, reference -> current: out-of-vocabulary tokens {_pct(ref_q.oov_share)} -> {_pct(cur_q.oov_share)}, "
        f"empty texts {_pct(ref_q.empty_share)} -> {_pct(cur_q.empty_share)}, "
        f"mean length {ref_q.mean_tokens:.1f} -> {cur_q.mean_tokens:.1f} tokens."
    )
    return " ".join(parts)
