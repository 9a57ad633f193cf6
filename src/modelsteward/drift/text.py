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
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse, stats

from modelsteward.errors import InsufficientDataError

__all__ = [
    "TOKEN_PATTERN",
    "TermShift",
    "TextDriftResult",
    "TextProfile",
    "TextQuality",
    "text_drift",
    "tokenize",
]

#: Tokens are runs of letters and digits, optionally joined by apostrophes ("can't"),
#: matched on the lower-cased text.
TOKEN_PATTERN = r"[^\W_]+(?:['\u2019][^\W_]+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN)

#: Version of the :meth:`TextProfile.to_dict` layout.
PROFILE_VERSION = 1

#: Fewest texts accepted to build a profile or on either side of :func:`text_drift`.
MIN_TEXTS = 10

#: Decimals the SVD basis is rounded to at build time, so the JSON form is exact.
COMPONENT_DECIMALS = 6

_FOLDS = 5
_Z95 = 1.959963984540054

EmbedFn = Callable[[Sequence[str]], np.ndarray]


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


def _int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


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


def _rate(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


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


class TextProfile:
    """What the store keeps about the reference texts: vocabulary, idf and embedding basis.

    Build it once with :meth:`build`.  It holds

    * the **vocabulary**: the ``vocab_size`` word unigrams and bigrams (lower-cased,
      :func:`tokenize`) found in the most fit texts, with their document frequencies
      (ties broken alphabetically; terms in fewer than ``min_df`` texts left out);
    * the **representation**, either ``"tfidf_svd"``: sublinear TF-IDF over that vocabulary
      (:meth:`tfidf`) projected on a ``TruncatedSVD`` basis of ``dims`` components (latent
      semantic analysis, Deerwester et al. 1990); or ``"user"``: a function the user
      supplies that maps a sequence of texts to an ``(n, d)`` array, used instead of
      TF-IDF/SVD and never stored.

    **TF-IDF weights.**  A term's weight is ``(1 + ln tf) * idf`` with the smoothed
    ``idf = ln((1 + n) / (1 + df)) + 1`` (scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``
    before normalisation).  Each row is then divided by the norm of the *whole* text,
    out-of-vocabulary terms included at the idf of an unseen term, ``ln(1 + n) + 1``; so
    for a text whose terms are all in the vocabulary the row equals scikit-learn's
    L2-normalised one.  So a text full of words the reference never used gets a short row
    (its embedding moves toward the origin) instead of a unit row built from the few words
    it shares with the reference.

    **Fit and held-out texts.**  Vocabulary, idf and SVD basis are fitted on the texts whose
    key (a BLAKE2b hash of the seed, the text and its occurrence number) is among the
    smallest ``1 - holdout`` share, at most ``max_docs`` of them; :meth:`held_out` returns
    the others of any list of texts, and :func:`text_drift` compares only those with the
    current window (see the module notes for why).  The SVD basis is rounded to :data:`COMPONENT_DECIMALS` decimals at
    build time, so :meth:`to_dict` / :meth:`from_dict` reproduce the embeddings exactly.

    References
    ----------
    .. [1] Deerwester, S. et al. (1990). Indexing by latent semantic analysis. *Journal of
       the American Society for Information Science* 41(6), 391-407.
    .. [2] Halko, N., Martinsson, P.-G. and Tropp, J. A. (2011). Finding structure with
       randomness: probabilistic algorithms for constructing approximate matrix
       decompositions. *SIAM Review* 53(2), 217-288.

    Examples
    --------
    >>> import json
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> topics = ["my invoice is wrong", "cannot log in", "the site is down"]
    >>> texts = [f"{topics[rng.integers(3)]} ref {rng.integers(50)}" for _ in range(300)]
    >>> profile = TextProfile.build(texts, dims=3, seed=0)
    >>> profile
    TextProfile(representation='tfidf_svd', terms=..., dims=3, n_documents=150)
    >>> profile.vocabulary[:2], profile.document_frequency[:2].tolist()
    (('ref', 'is'), [150, ...])
    >>> len(profile.held_out(texts))
    150
    >>> profile.embed(["the site is down", ""]).shape
    (2, 3)
    >>> same = TextProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    >>> bool(np.array_equal(same.embed(texts), profile.embed(texts)))
    True
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        document_frequency: object,
        n_documents: int,
        *,
        idf: object | None = None,
        components: object | None = None,
        embed: EmbedFn | None = None,
        seed: int = 0,
        min_df: int = 1,
        fit_key_max: int = 0,
    ) -> None:
        self._vocabulary = tuple(str(t) for t in vocabulary)
        v = len(self._vocabulary)
        if v == 0:
            raise ValueError("the vocabulary is empty")
        self._index = {t: j for j, t in enumerate(self._vocabulary)}
        if len(self._index) != v:
            raise ValueError("the vocabulary holds duplicate terms")
        df = np.asarray(document_frequency, dtype=np.int64)
        if df.shape != (v,) or np.any(df < 0):
            raise ValueError(f"document_frequency must hold {v} non-negative counts")
        self._df = df
        self._n_documents = _int(n_documents, "n_documents", 1)
        self._seed = _int(seed, "seed", 0)
        self._min_df = _int(min_df, "min_df", 1)
        if isinstance(fit_key_max, bool) or not isinstance(fit_key_max, (int, np.integer)) or not 0 <= fit_key_max < 2**64:
            raise ValueError(f"fit_key_max must be an integer in [0, 2**64), got {fit_key_max!r}")
        self._fit_key_max = int(fit_key_max)
        if embed is not None:
            if not callable(embed):
                raise ValueError("embed must be a callable mapping a sequence of texts to an (n, d) array")
            if idf is not None or components is not None:
                raise ValueError("give either a user embedding function or idf and components, not both")
            self._idf: np.ndarray | None = None
            self._components: np.ndarray | None = None
        else:
            if idf is None or components is None:
                raise ValueError("a TF-IDF/SVD profile needs both idf and components (or pass embed=)")
            idf_arr = np.asarray(idf, dtype=np.float64)
            comp = np.asarray(components, dtype=np.float64)
            if idf_arr.shape != (v,) or not np.all(np.isfinite(idf_arr)):
                raise ValueError(f"idf must hold {v} finite values")
            if comp.ndim != 2 or comp.shape[1] != v or comp.shape[0] < 1 or not np.all(np.isfinite(comp)):
                raise ValueError(f"components must be a finite (dims, {v}) array, got shape {comp.shape}")
            self._idf, self._components = idf_arr, comp
            for a in (idf_arr, comp):
                a.flags.writeable = False
        self._df.flags.writeable = False
        self._embed_fn = embed

    # -- construction ---------------------------------------------------------------

    @classmethod
    def build(
        cls,
        texts: Sequence[str | None],
        *,
        vocab_size: int = 5000,
        dims: int = 100,
        seed: int = 0,
        max_docs: int = 20_000,
        min_df: int = 2,
        holdout: float = 0.5,
        embed: EmbedFn | None = None,
    ) -> TextProfile:
        """Build a profile from reference texts.

        Parameters
        ----------
        texts : sequence of str
            The reference texts; ``None`` counts as an empty text.
        vocab_size : int, default 5000
            Number of terms kept (unigrams and bigrams together).
        dims : int, default 100
            SVD components; fewer are kept when the vocabulary or sample is too small
            (at most ``vocab_size - 1`` and ``n - 1``).  Ignored with ``embed``.
        seed : int, default 0
            Seeds the choice of fit texts and the randomized SVD.
        max_docs : int, default 20000
            Most texts the vocabulary, idf and SVD are fitted on.
        min_df : int, default 2
            Terms found in fewer fit texts are left out of the vocabulary.
        holdout : float, default 0.5
            Share of the texts kept out of the fit, in (0, 1), for :func:`text_drift` to
            compare with (more are kept out when ``max_docs`` binds).
        embed : callable, optional
            ``embed(texts) -> (n, d) array``: a user embedding used instead of TF-IDF/SVD.
            It must be deterministic; it is not stored, so pass it again to :meth:`from_dict`.

        Returns
        -------
        TextProfile

        Raises
        ------
        InsufficientDataError
            If fewer than :data:`MIN_TEXTS` texts would be fitted on or held out, or fewer
            than two terms reach ``min_df``.
        ValueError
            If an argument is invalid.
        """
        vocab_size = _int(vocab_size, "vocab_size", 2)
        dims = _int(dims, "dims", 1)
        seed = _int(seed, "seed", 0)
        max_docs = _int(max_docs, "max_docs", MIN_TEXTS)
        min_df = _int(min_df, "min_df", 1)
        if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0.0 < holdout < 1.0:
            raise ValueError(f"holdout must be a share in (0, 1), got {holdout!r}")
        docs = _texts(texts, "texts")
        n_fit = min(max_docs, round(len(docs) * (1.0 - holdout)))
        if n_fit < MIN_TEXTS or len(docs) - n_fit < MIN_TEXTS:
            raise InsufficientDataError(
                f"a text profile fits on {1 - holdout:.0%} of the reference texts and holds out the rest; "
                f"with {len(docs)} texts that leaves {n_fit} and {len(docs) - n_fit}, and each needs at least {MIN_TEXTS}"
            )
        keys = _fit_keys(docs, seed)
        order = np.argsort(keys, kind="stable")[:n_fit]
        fit_key_max = int(keys[order[-1]])
        sample = [docs[i] for i in np.sort(order)]
        n = len(sample)
        df_all: Counter[str] = Counter()
        for text in sample:
            df_all.update(set(_terms(tokenize(text))))
        ranked = sorted((item for item in df_all.items() if item[1] >= min_df), key=lambda kv: (-kv[1], kv[0]))[:vocab_size]
        if len(ranked) < 2:
            raise InsufficientDataError(
                f"only {len(ranked)} term(s) occur in at least {min_df} of the {n} reference texts; a text profile needs at least 2",
                hint="pass more reference texts or a smaller min_df",
            )
        vocabulary = [t for t, _ in ranked]
        df = np.array([c for _, c in ranked], dtype=np.int64)
        if embed is not None:
            return cls(vocabulary, df, n, embed=embed, seed=seed, min_df=min_df, fit_key_max=fit_key_max)

        from sklearn.decomposition import TruncatedSVD

        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        index = {t: j for j, t in enumerate(vocabulary)}
        x = _tfidf(_analyze(sample, index), idf, _unseen_idf(n))
        k = min(dims, len(vocabulary) - 1, n - 1)
        svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=seed)
        svd.fit(x)
        components = np.round(np.asarray(svd.components_, dtype=np.float64), COMPONENT_DECIMALS)
        return cls(vocabulary, df, n, idf=idf, components=components, seed=seed, min_df=min_df, fit_key_max=fit_key_max)

    # -- properties -----------------------------------------------------------------

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The kept terms, most frequent first."""
        return self._vocabulary

    @property
    def document_frequency(self) -> np.ndarray:
        """Number of sampled reference texts holding each vocabulary term."""
        return self._df

    @property
    def n_documents(self) -> int:
        """Number of reference texts the profile was fitted on (its document frequencies' base)."""
        return self._n_documents

    @property
    def idf(self) -> np.ndarray | None:
        """Smoothed idf per term (``None`` with a user embedding)."""
        return self._idf

    @property
    def components(self) -> np.ndarray | None:
        """The ``(dims, V)`` SVD basis (``None`` with a user embedding)."""
        return self._components

    @property
    def representation(self) -> str:
        """``"tfidf_svd"`` or ``"user"``."""
        return "user" if self._embed_fn is not None else "tfidf_svd"

    @property
    def dims(self) -> int:
        """Embedding dimension (0 with a user embedding: it is known only once called)."""
        return 0 if self._components is None else int(self._components.shape[0])

    def _analyze(self, texts: list[str]) -> _Window:
        return _analyze(texts, self._index)

    def held_out(self, texts: Sequence[str | None]) -> list[str]:
        """The texts the profile was *not* fitted on (``None`` becomes ``""``), in order.

        Of the texts given to :meth:`build` these are exactly the held-out ones; of any
        other list, a pseudo-random share of about ``1 - n_documents / len(build texts)``.
        """
        docs = _texts(texts, "texts")
        keep = _fit_keys(docs, self._seed) > np.uint64(self._fit_key_max)
        return [d for d, k in zip(docs, keep, strict=True) if k]

    # -- representation -------------------------------------------------------------

    def tfidf(self, texts: Sequence[str | None]) -> sparse.csr_matrix:
        """Sublinear TF-IDF of ``texts`` over the vocabulary, ``(n, V)`` sparse.

        Each row is divided by the norm of the whole text, out-of-vocabulary terms included
        (see the class notes), so rows have norm at most 1.

        Raises
        ------
        ValueError
            If the profile uses a user embedding (it has no idf).
        """
        if self._idf is None:
            raise ValueError("this profile uses a user embedding function and has no TF-IDF weights")
        return _tfidf(self._analyze(_texts(texts, "texts")), self._idf, _unseen_idf(self._n_documents))

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        """Embed texts: ``(n, dims)`` float array (or what the user function returns).

        Raises
        ------
        ValueError
            If a text is not a string (or None), or a user function returns something
            other than a finite ``(n, d)`` array.
        """
        docs = _texts(texts, "texts")
        return self._embed_docs(docs, self._analyze(docs) if self._embed_fn is None else None)

    def _embed_docs(self, docs: list[str], window: _Window | None) -> np.ndarray:
        if self._embed_fn is not None:
            try:
                out = np.asarray(self._embed_fn(list(docs)), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"the embedding function did not return a numeric array: {exc}") from None
            if out.ndim != 2 or out.shape[0] != len(docs) or out.shape[1] < 1:
                raise ValueError(f"the embedding function must return an array of shape ({len(docs)}, d), got {out.shape}")
            if not np.all(np.isfinite(out)):
                raise ValueError("the embedding function returned non-finite values")
            return out
        assert self._idf is not None and self._components is not None
        w = window if window is not None else self._analyze(docs)
        x = _tfidf(w, self._idf, _unseen_idf(self._n_documents))
        return np.asarray(x @ self._components.T, dtype=np.float64)

    # -- persistence ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: vocabulary, document frequencies, idf and SVD basis as lists.

        A user embedding function is not stored (``representation == "user"``); pass it
        again to :meth:`from_dict`.
        """
        return {
            "kind": "text_profile",
            "version": PROFILE_VERSION,
            "representation": self.representation,
            "token_pattern": TOKEN_PATTERN,
            "lowercase": True,
            "ngram_range": [1, 2],
            "sublinear_tf": True,
            "n_documents": self._n_documents,
            "seed": self._seed,
            "min_df": self._min_df,
            "fit_key_max": f"{self._fit_key_max:016x}",
            "vocabulary": list(self._vocabulary),
            "document_frequency": self._df.tolist(),
            "idf": None if self._idf is None else self._idf.tolist(),
            "components": None if self._components is None else self._components.tolist(),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], *, embed: EmbedFn | None = None) -> TextProfile:
        """Rebuild a profile from :meth:`to_dict` output.

        Raises
        ------
        ValueError
            If the state is not a text profile of a known version or tokenizer, or a
            ``"user"`` profile is rebuilt without ``embed`` (or a TF-IDF one with it).
        """
        if not isinstance(state, Mapping) or state.get("kind") != "text_profile":
            raise ValueError("not a text profile (expected kind 'text_profile')")
        if state.get("version") != PROFILE_VERSION:
            raise ValueError(f"unsupported text profile version {state.get('version')!r}")
        if state.get("token_pattern") != TOKEN_PATTERN:
            raise ValueError("the text profile was built with a different tokenizer")
        representation = state.get("representation")
        try:
            common: dict[str, Any] = {
                "vocabulary": state["vocabulary"],
                "document_frequency": state["document_frequency"],
                "n_documents": state["n_documents"],
                "seed": state.get("seed", 0),
                "min_df": state.get("min_df", 1),
                "fit_key_max": int(str(state["fit_key_max"]), 16),
            }
        except KeyError as exc:
            raise ValueError(f"the text profile lacks {exc.args[0]!r}") from None
        except ValueError:
            raise ValueError(f"fit_key_max must be a hexadecimal string, got {state.get('fit_key_max')!r}") from None
        if representation == "user":
            if embed is None:
                raise ValueError("this profile was built with a user embedding function; pass it again as embed=")
            return cls(**common, embed=embed)
        if representation != "tfidf_svd":
            raise ValueError(f"unknown representation {representation!r}")
        if embed is not None:
            raise ValueError("this profile stores a TF-IDF/SVD representation; embed= applies only to 'user' profiles")
        return cls(**common, idf=state.get("idf"), components=state.get("components"))

    def __repr__(self) -> str:
        return (
            f"TextProfile(representation={self.representation!r}, terms={len(self._vocabulary)}, "
            f"dims={self.dims}, n_documents={self._n_documents})"
        )


def _unseen_idf(n_documents: int) -> float:
    """Smoothed idf of a term found in none of ``n_documents`` texts."""
    return math.log(1.0 + n_documents) + 1.0


def _tfidf(window: _Window, idf: np.ndarray, unseen_idf: float) -> sparse.csr_matrix:
    """Sublinear TF-IDF rows divided by the whole text's norm (see :class:`TextProfile`)."""
    x = sparse.csr_matrix(window.counts, dtype=np.float64, copy=True)
    np.log(x.data, out=x.data)
    x.data += 1.0
    x.data *= idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel() + unseen_idf**2 * window.oov_tf2)
    row_norms = np.repeat(norms, np.diff(x.indptr))
    x.data /= row_norms  # rows without entries repeat zero times, so no 0/0
    return x


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------


def _midrank(x: np.ndarray) -> np.ndarray:
    return np.asarray(stats.rankdata(x, method="average"), dtype=np.float64)


def _delong(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """Mann-Whitney AUC of ``pos`` over ``neg`` and its DeLong standard error."""
    m, n = pos.size, neg.size
    ranks = _midrank(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - _midrank(pos)) / n
    v01 = 1.0 - (ranks[m:] - _midrank(neg)) / m
    var = float(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    return float(v10.mean()), math.sqrt(max(var, 0.0))


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
        fold_aucs.append(_delong(scores[yt == 1], scores[yt == 0])[0])
    auc, se = _delong(oof[y == 1], oof[y == 0])
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


def _reading(
    *,
    verdict: str,
    auc: float,
    lo: float,
    hi: float,
    min_auc: float,
    mean_shift: float,
    noise: float,
    terms: Sequence[TermShift],
    n_sig: int,
    alpha: float,
    new_terms: Sequence[tuple[str, float]],
    ref_q: TextQuality,
    cur_q: TextQuality,
    representation: str,
) -> str:
    what = "user-supplied embeddings" if representation == "user" else "TF-IDF/SVD embeddings"
    auc_txt = f"AUC {auc:.2f}, 95% CI {lo:.2f}-{hi:.2f}; 0.5 means indistinguishable"
    if verdict == "drift":
        head = f"The text drifted: a classifier on {what} tells current texts from reference texts ({auc_txt})."
    elif verdict == "small_change":
        head = (
            f"Perhaps a slight change in the text, not counted as drift: a classifier on {what} separates "
            f"current from reference texts only slightly ({auc_txt}; drift needs {min_auc:.2f}), "
            "which also happens by chance in some windows without drift."
        )
    else:
        head = f"No drift in the text: a classifier on {what} cannot reliably tell current texts from reference texts ({auc_txt})."
    parts = [head]
    shift = f"The mean embedding moved {mean_shift:.2f} reference spreads (sampling noise alone gives about {noise:.2f})."
    parts.append(shift)
    if n_sig == 0:
        parts.append(f"No term's share of texts changed significantly (Benjamini-Hochberg, FDR {alpha:g}).")
    else:
        rose = [t for t in terms if t.change_pp > 0][:5]
        fell = [t for t in terms if t.change_pp < 0][:3]

        def fmt(ts: Sequence[TermShift]) -> str:
            return ", ".join(f"'{t.term}' {_pct(t.reference_share)} -> {_pct(t.current_share)} ({t.change_pp:+.1f} pp)" for t in ts)

        sentence = f"{n_sig} term(s) changed their share of texts significantly (Benjamini-Hochberg, FDR {alpha:g})."
        if rose:
            sentence += f" Rose most: {fmt(rose)}."
        if fell:
            sentence += f" Fell most: {fmt(fell)}."
        parts.append(sentence)
    notable_new = [(t, s) for t, s in new_terms if s >= 0.01][:5]
    if notable_new:
        parts.append(
            "Common current words the reference vocabulary lacks: " + ", ".join(f"'{t}' ({_pct(s)} of texts)" for t, s in notable_new) + "."
        )
    parts.append(
        f"Text quality, reference -> current: out-of-vocabulary tokens {_pct(ref_q.oov_share)} -> {_pct(cur_q.oov_share)}, "
        f"empty texts {_pct(ref_q.empty_share)} -> {_pct(cur_q.empty_share)}, "
        f"mean length {ref_q.mean_tokens:.1f} -> {cur_q.mean_tokens:.1f} tokens."
    )
    return " ".join(parts)


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
    the module notes say why), so the whole reference may be passed.  Each side is then cut
    to a seeded sample of at most ``max_docs`` texts (``None`` counts as an empty text).

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
    ref_q, cur_q = _quality(ref_w), _quality(cur_w)
    reading = _reading(
        verdict=verdict,
        auc=auc,
        lo=lo,
        hi=hi,
        min_auc=float(min_auc),
        mean_shift=shift,
        noise=noise,
        terms=shifts,
        n_sig=int(sig.size),
        alpha=float(alpha),
        new_terms=unseen_shares,
        ref_q=ref_q,
        cur_q=cur_q,
        representation=profile.representation,
    )
    return TextDriftResult(
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
        reference_quality=ref_q,
        current_quality=cur_q,
        representation=profile.representation,
        n_reference=nr,
        n_current=nc,
        reference_excluded=len(ref_given) - len(ref_all),
        seed=seed,
        reading=reading,
    )
