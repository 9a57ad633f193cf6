"""Tokens and terms of texts, and one window's term counts against a vocabulary.

:func:`tokenize` and the word unigrams and bigrams it yields (``_terms``) are the units of
the whole text-drift analysis; ``_analyze`` counts them per text against a vocabulary
(with what falls outside it), and ``_fit_keys`` gives each text the keyed hash that decides
whether a :class:`~modelsteward.drift.text.TextProfile` is fitted on it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["TOKEN_PATTERN", "tokenize"]

#: Tokens are runs of letters and digits, optionally joined by apostrophes ("can't"),
#: matched on the lower-cased text.
TOKEN_PATTERN = r"[^\W_]+(?:['\u2019][^\W_]+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into word tokens (see :data:`TOKEN_PATTERN`).

    Examples
    --------
    >>> tokenize("Can't log in -- the DASHBOARD is down (error_502)!")
    ["can't", 'log', 'in', 'the', 'dashboard', 'is', 'down', 'error', '502']
    """
    return _TOKEN_RE.findall(text.lower())


def _terms(tokens: list[str]) -> list[str]:
    """Unigrams then bigrams (adjacent tokens joined by one space)."""
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def _texts(texts: object, name: str) -> list[str]:
    """The texts as a list of ``str``; ``None`` (a missing text) becomes ``""``."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise ValueError(f"{name} must be a sequence of strings, got {type(texts).__name__}")
    out: list[str] = []
    for i, t in enumerate(texts):
        if t is None:
            out.append("")
        elif isinstance(t, str):
            out.append(t)
        else:
            raise ValueError(f"{name}[{i}] must be a string or None, got {type(t).__name__}")
    return out



def _subsample(texts: list[str], max_docs: int, rng: np.random.Generator) -> list[str]:
    """At most ``max_docs`` texts, drawn without replacement, in their original order."""
    if len(texts) <= max_docs:
        return texts
    idx = np.sort(rng.choice(len(texts), size=max_docs, replace=False))
    return [texts[i] for i in idx]


def _fit_keys(texts: list[str], seed: int) -> np.ndarray:
    """A pseudo-random 64-bit key per text: keyed BLAKE2b of the text and its occurrence number.

    Identical texts get distinct keys (their 0th, 1st, ... occurrence), so a threshold on the
    key thins every distinct text at the same rate, and the keys of a list do not depend on
    its order beyond which copy of an identical text is which.
    """
    key = seed.to_bytes(8, "little")
    seen: Counter[str] = Counter()
    out = np.empty(len(texts), dtype=np.uint64)
    for i, text in enumerate(texts):
        occ = seen[text]
        seen[text] = occ + 1
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass") + b"\x00" + occ.to_bytes(8, "little"), digest_size=8, key=key)
        out[i] = int.from_bytes(digest.digest(), "little")
    return out



@dataclass(frozen=True)
class _Window:
    """One window's texts analysed against a vocabulary."""

    counts: sparse.csr_matrix  # (n_docs, V) term counts, no duplicate entries
    n_tokens: np.ndarray  # tokens per text
    n_oov: int  # tokens outside the vocabulary, all texts together
    oov_df: Counter[str]  # out-of-vocabulary token -> number of texts holding it
    oov_tf2: np.ndarray  # per text: sum over distinct out-of-vocabulary terms of (1 + ln tf)**2

    @property
    def document_frequency(self) -> np.ndarray:
        return np.bincount(self.counts.indices, minlength=self.counts.shape[1]).astype(np.int64)


def _analyze(texts: list[str], index: Mapping[str, int]) -> _Window:
    indptr = [0]
    cols: list[int] = []
    n_tokens = np.empty(len(texts), dtype=np.int64)
    n_oov = 0
    oov_df: Counter[str] = Counter()
    oov_tf2 = np.zeros(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        n_tokens[i] = len(tokens)
        oov = {t for t in tokens if t not in index}
        if oov:
            n_oov += sum(1 for t in tokens if t in oov)
            oov_df.update(oov)
        terms = _terms(tokens)
        cols.extend(index[t] for t in terms if t in index)
        indptr.append(len(cols))
        unknown = Counter(t for t in terms if t not in index)
        if unknown:
            oov_tf2[i] = sum((1.0 + math.log(c)) ** 2 for c in unknown.values())
    counts = sparse.csr_matrix(
        (np.ones(len(cols), dtype=np.float64), np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(texts), len(index)),
    )
    counts.sum_duplicates()
    return _Window(counts=counts, n_tokens=n_tokens, n_oov=n_oov, oov_df=oov_df, oov_tf2=oov_tf2)

