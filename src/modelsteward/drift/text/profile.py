"""The reference side of text drift: :class:`TextProfile` (vocabulary, idf, embedding basis).

Also the TF-IDF weighting it embeds texts with (``_tfidf``) and the constants of its stored
form.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from modelsteward.drift._checks import whole_number as _int
from modelsteward.drift.text.tokens import TOKEN_PATTERN, _analyze, _fit_keys, _terms, _texts, _Window, tokenize
from modelsteward.errors import InsufficientDataError

__all__ = ["COMPONENT_DECIMALS", "MIN_TEXTS", "PROFILE_VERSION", "EmbedFn", "TextProfile"]

#: Version of the :meth:`TextProfile.to_dict` layout.
PROFILE_VERSION = 1

#: Fewest texts accepted to build a profile or on either side of :func:`text_drift`.
MIN_TEXTS = 10

#: Decimals the SVD basis is rounded to at build time, so the JSON form is exact.
COMPONENT_DECIMALS = 6

EmbedFn = Callable[[Sequence[str]], np.ndarray]


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
    current window (the notes of :mod:`modelsteward.drift.text` say why).  The SVD basis is
    rounded to :data:`COMPONENT_DECIMALS` decimals at build time, so :meth:`to_dict` / :meth:`from_dict` reproduce the embeddings exactly.

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
        with np.errstate(invalid="ignore", divide="ignore"):  # identical texts: scikit-learn's unused variance ratio is 0/0
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


