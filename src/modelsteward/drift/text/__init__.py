"""Drift of a free-text feature (the running example: support-ticket text).

Three views of one question, *do current texts read like the reference texts?*

* **Embedding drift.**  Texts become vectors, and a domain classifier tries to tell current
  texts from reference texts (cross-validated ROC AUC with a DeLong interval).  A second,
  cheaper view is the distance between the mean embeddings in units of the reference's
  spread.  The default vectors work offline: TF-IDF over a fixed reference vocabulary
  reduced by a truncated SVD (latent semantic analysis); a user may supply any embedding
  function instead (e.g. a sentence encoder they host themselves).
* **Term evidence.**  The terms (word unigrams and bigrams) whose document frequency moved
  most, each with a two-proportion z-test, Benjamini-Hochberg-adjusted across the
  vocabulary, plus the commonest terms the reference vocabulary does not know.
* **Text quality.**  Mean length in tokens, share of empty texts and share of
  out-of-vocabulary tokens, per window.

Nothing is downloaded: the representation is built from the reference texts alone and is
JSON-able (:meth:`TextProfile.to_dict`) so the store can keep it.  scikit-learn is needed
to build a profile (``TruncatedSVD``) and for the domain classifier; it is imported only
when those run.

**The profile is fitted on part of the reference; drift is measured on the rest.**  A
vocabulary chosen on some texts fits those texts better than any new ones (a term with a
borderline count made the cut *because* it occurred there), and a domain classifier picks
that up: on synthetic tickets, the texts a profile was fitted on against fresh texts from
the same source gave cross-validated AUCs of 0.57-0.69 instead of 0.5.  So
:meth:`TextProfile.build` fits on a seeded ``1 - holdout`` share of the texts it is given
(chosen by a keyed hash of each text and its occurrence number, so the choice does not
depend on the order of the texts), and :func:`text_drift` leaves out every reference text
that falls in that share (:meth:`TextProfile.held_out`).  The whole reference can then be
passed to both; a reference that does not overlap the profile's texts loses the same
share at random, which costs power but introduces no bias.

**Why TF-IDF over a fixed vocabulary rather than hashed n-grams.**  The same top-``V``
vocabulary indexes the representation, the term evidence and the out-of-vocabulary share,
so every number refers to readable terms; and the stored SVD basis has ``dims x V``
entries, whereas a hashed representation needs ``dims x 2**18`` or so, too large to keep
as JSON.  Terms outside the vocabulary have no coordinate of their own (they only shrink a
text's TF-IDF row, see :class:`TextProfile`); the out-of-vocabulary share and
:attr:`TextDriftResult.new_terms` watch them instead.

**Where things are.**  :mod:`~modelsteward.drift.text.tokens` (tokens, terms, per-window
counts), :mod:`~modelsteward.drift.text.profile` (:class:`TextProfile`, TF-IDF),
:mod:`~modelsteward.drift.text.detect` (:func:`text_drift`) and
:mod:`~modelsteward.drift.text.results` (what it returns); the ROC AUC and DeLong interval
come from :mod:`modelsteward.drift.auc`.  Import every name from here.
"""

from __future__ import annotations

from modelsteward.drift.auc import delong, midranks
from modelsteward.drift.text.detect import text_drift
from modelsteward.drift.text.profile import COMPONENT_DECIMALS as COMPONENT_DECIMALS
from modelsteward.drift.text.profile import MIN_TEXTS as MIN_TEXTS
from modelsteward.drift.text.profile import PROFILE_VERSION as PROFILE_VERSION
from modelsteward.drift.text.profile import EmbedFn as EmbedFn
from modelsteward.drift.text.profile import TextProfile
from modelsteward.drift.text.results import TermShift, TextDriftResult, TextQuality
from modelsteward.drift.text.tokens import TOKEN_PATTERN, tokenize
from modelsteward.drift.text.tokens import _terms as _terms

__all__ = [
    "TOKEN_PATTERN",
    "TermShift",
    "TextDriftResult",
    "TextProfile",
    "TextQuality",
    "text_drift",
    "tokenize",
]

# The names before the split; the redundant aliases above keep the constants and
# ``_terms`` importable from here too, outside __all__.
_delong, _midrank = delong, midranks
