"""Text drift: TF-IDF/SVD profile, domain classifier, term evidence and quality signals.

Synthetic support tickets: a template per topic (billing, login, outage, refund) with
Zipf-distributed filler words inserted at random positions, optionally a ticket number.
Expected statistics are recomputed here from scikit-learn, scipy or by hand.
"""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift.text import (
    COMPONENT_DECIMALS,
    TextProfile,
    _terms,
    text_drift,
    tokenize,
)
from modelsteward.errors import InsufficientDataError

TOPICS = {
    "billing": [
        "i was charged twice on my invoice",
        "my invoice shows the wrong billing amount",
        "there is an extra charge on my card",
    ],
    "login": [
        "i cannot log in to my account",
        "my password reset does not work",
        "my account is locked after the login error",
    ],
    "outage": [
        "my dashboard is down and there is an outage",
        "outage i cannot reach the site it is down",
        "the service is down again for my team another outage",
    ],
    "refund": [
        "i would like a refund for my order",
        "please process my refund the product was damaged",
        "when will i receive the refund for my cancelled order",
    ],
}
OUTAGE_WORDS = {w for t in TOPICS["outage"] for w in t.split()}
FILLER_WORDS = (
    "please thanks hello hi team urgent asap again still now today yesterday week help support "
    "issue problem question quick update customer client user company office phone email app "
    "website browser mobile desktop version number reference ticket case note attached "
    "screenshot regards best cheers sorry confused frustrated happy waiting reply soon time "
    "minutes hours days also just really very some any every other same different new old "
    "first last next could would should can will may might must need want like know think see "
    "look find get tried working broken slow fast fine good bad great poor total partial small "
    "large simple"
)
FILLER = FILLER_WORDS.split()
ZIPF = 1.0 / np.arange(1, len(FILLER) + 1)
ZIPF /= ZIPF.sum()
LAUNCH_WORDS = ["zephyr", "hyperdesk", "quantumsync", "novapad"]

BASE_MIX = {"billing": 0.35, "login": 0.30, "outage": 0.10, "refund": 0.25}
OUTAGE_MIX = {"billing": 0.20, "login": 0.20, "outage": 0.40, "refund": 0.20}


def tickets(n: int, mix: dict[str, float], seed: int, *, launch: float = 0.0, numbers: bool = True) -> list[str]:
    """``n`` synthetic tickets; a share ``launch`` of them mention new product words."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    p = np.array([mix[k] for k in names])
    out = []
    for k in rng.choice(len(names), size=n, p=p / p.sum()):
        words = TOPICS[names[k]][rng.integers(3)].split()
        filler = [str(w) for w in rng.choice(FILLER, size=rng.poisson(6), p=ZIPF)]
        if rng.random() < launch:
            filler += [str(w) for w in rng.choice(LAUNCH_WORDS, size=2, replace=False)] + ["launch"]
        for w in filler:
            words.insert(int(rng.integers(len(words) + 1)), w)
        if numbers:
            words += ["order", str(rng.integers(400))]
        out.append(" ".join(words))
    return out


def toy_embed(texts: Sequence[str]) -> np.ndarray:
    """A tiny deterministic embedding: hashed bag of words in 16 dimensions, L2-normalised."""
    out = np.zeros((len(texts), 16))
    for i, text in enumerate(texts):
        for tok in tokenize(text):
            out[i, zlib.crc32(tok.encode()) % 16] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@pytest.fixture(scope="module")
def reference() -> list[str]:
    return tickets(2000, BASE_MIX, seed=0)


@pytest.fixture(scope="module")
def profile(reference: list[str]) -> TextProfile:
    return TextProfile.build(reference, dims=50, seed=0)


# --------------------------------------------------------------------------------------
# Tokenizer and profile
# --------------------------------------------------------------------------------------


def test_tokenize_and_terms() -> None:
    assert tokenize("Can't LOG in: error_502, Café down!!") == ["can't", "log", "in", "error", "502", "café", "down"]
    assert tokenize("  ...  ") == []
    assert _terms(["site", "is", "down"]) == ["site", "is", "down", "site is", "is down"]


def test_profile_vocabulary_counts_fit_texts(reference: list[str], profile: TextProfile) -> None:
    held = Counter(profile.held_out(reference))
    fit = list((Counter(reference) - held).elements())
    assert profile.n_documents == len(fit) == 1000
    assert held.total() == 1000
    df: Counter[str] = Counter()
    for text in fit:
        df.update(set(_terms(tokenize(text))))
    vocab = profile.vocabulary
    assert profile.document_frequency.tolist() == [df[t] for t in vocab]
    # Most frequent first, ties alphabetical; nothing below min_df=2; the cut is a true top-V.
    keys = [(-df[t], t) for t in vocab]
    assert keys == sorted(keys)
    assert min(profile.document_frequency) >= 2
    left_out = [c for t, c in df.items() if t not in set(vocab)]
    assert len(vocab) == 5000 or max(left_out, default=0) < 2
    assert {"outage", "is down", "invoice", "refund"} <= set(vocab)
    assert profile.dims == 50 and profile.components is not None and profile.components.shape == (50, len(vocab))
    assert np.array_equal(profile.components, np.round(profile.components, COMPONENT_DECIMALS))


def test_held_out_is_order_free_and_thins_duplicates_evenly(reference: list[str], profile: TextProfile) -> None:
    rng = np.random.default_rng(1)
    shuffled = [reference[i] for i in rng.permutation(len(reference))]
    assert Counter(profile.held_out(shuffled)) == Counter(profile.held_out(reference))
    # Copies of one text get their own keys, so about half of 400 empty texts are held out.
    kept = len(profile.held_out([""] * 400))
    assert 150 < kept < 250
    # A missing text is an empty one.
    assert profile.held_out([None] * 400) == [""] * kept


def test_tfidf_matches_sklearn(reference: list[str], profile: TextProfile) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    fit = list((Counter(reference) - Counter(profile.held_out(reference))).elements())
    vec = TfidfVectorizer(analyzer=lambda s: _terms(tokenize(s)), vocabulary=list(profile.vocabulary), sublinear_tf=True, norm=None).fit(
        fit
    )
    assert profile.idf is not None
    np.testing.assert_allclose(profile.idf, vec.idf_, rtol=1e-12)

    texts = tickets(50, BASE_MIX, seed=7, launch=0.5) + ["", "my invoice shows the wrong billing amount"]
    raw = vec.transform(texts).toarray()
    # Our rows divide by the norm of the whole text: unseen terms count at idf ln(1 + n) + 1.
    unseen_idf = math.log(1 + profile.n_documents) + 1
    vocab = set(profile.vocabulary)
    oov_sq = np.array([sum((1 + math.log(c)) ** 2 for t, c in Counter(_terms(tokenize(s))).items() if t not in vocab) for s in texts])
    norms = np.sqrt((raw**2).sum(axis=1) + unseen_idf**2 * oov_sq)
    expected = np.divide(raw, norms[:, None], out=np.zeros_like(raw), where=norms[:, None] > 0)
    np.testing.assert_allclose(profile.tfidf(texts).toarray(), expected, rtol=1e-12, atol=1e-15)
    # A text made only of vocabulary terms gets sklearn's unit row.
    assert oov_sq[-1] == 0
    np.testing.assert_allclose(np.linalg.norm(profile.tfidf(texts[-1:]).toarray()), 1.0)
    assert profile.components is not None
    np.testing.assert_allclose(profile.embed(texts), profile.tfidf(texts) @ profile.components.T, rtol=1e-12)


def test_profile_round_trips_through_json(reference: list[str], profile: TextProfile) -> None:
    state = json.loads(json.dumps(profile.to_dict()))
    assert state["representation"] == "tfidf_svd" and len(state["components"]) == 50
    same = TextProfile.from_dict(state)
    texts = reference[:300] + tickets(100, OUTAGE_MIX, seed=3, launch=0.3) + [""]
    assert np.array_equal(same.embed(texts), profile.embed(texts))
    assert same.vocabulary == profile.vocabulary and same.held_out(reference) == profile.held_out(reference)
    assert np.array_equal(same.document_frequency, profile.document_frequency)


# --------------------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------------------


def test_no_drift_across_seeds(reference: list[str], profile: TextProfile) -> None:
    false_alarms = 0
    aucs = []
    for seed in range(10):
        res = text_drift(profile, reference, tickets(600, BASE_MIX, seed=100 + seed), seed=seed)
        aucs.append(res.auc)
        assert res.n_reference == 1000 and res.reference_excluded == 1000 and res.n_current == 600
        false_alarms += res.drift or res.n_significant_terms > 0
    assert false_alarms <= 1, aucs
    assert abs(float(np.mean(aucs)) - 0.5) < 0.03


def test_topic_shift_is_drift_with_outage_terms_on_top(reference: list[str], profile: TextProfile) -> None:
    res = text_drift(profile, reference, tickets(600, OUTAGE_MIX, seed=11), seed=0)
    assert res.drift and res.verdict == "drift"
    assert res.auc > 0.6 and res.ci_low > 0.5 and res.ci_low <= res.auc <= res.ci_high
    assert len(res.fold_aucs) == 5
    assert res.mean_shift > 3 * res.mean_shift_noise
    top = res.terms[:5]
    assert {t.term for t in top[:2]} == {"outage", "down"}
    for t in top:
        assert t.change_pp > 5 and set(t.term.split()) <= OUTAGE_WORDS, t
    # Ranked by |change| among the significant terms; shares recomputed by hand.
    changes = [abs(t.change_pp) for t in res.terms]
    assert changes == sorted(changes, reverse=True)
    held = profile.held_out(reference)
    assert len(held) == res.n_reference
    outage = next(t for t in res.terms if t.term == "outage")
    assert outage.reference_share == sum("outage" in tokenize(s) for s in held) / len(held)
    assert outage.q_value < 0.05 and outage.p_value <= outage.q_value
    assert any(t.change_pp < 0 and t.term in {"invoice", "password", "refund"} for t in res.terms)
    assert "drifted" in res.reading and "'outage'" in res.reading
    json.dumps(res.to_dict())


def test_term_p_values_are_two_proportion_z_tests_with_bh(reference: list[str], profile: TextProfile) -> None:
    cur = tickets(600, OUTAGE_MIX, seed=12)
    res = text_drift(profile, reference, cur, seed=1, top_terms=10_000)
    held = profile.held_out(reference)

    def df(texts: list[str]) -> Counter[str]:
        c: Counter[str] = Counter()
        for s in texts:
            c.update(set(_terms(tokenize(s))))
        return c

    df_r, df_c = df(held), df(cur)
    n1, n2 = len(held), len(cur)
    x1 = np.array([df_r[t] for t in profile.vocabulary], dtype=float)
    x2 = np.array([df_c[t] for t in profile.vocabulary], dtype=float)
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = np.divide(x2 / n2 - x1 / n1, se, out=np.zeros_like(se), where=se > 0)
    p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
    q = stats.false_discovery_control(p)
    assert res.n_significant_terms == int((q < 0.05).sum()) == len(res.terms)
    index = {t: j for j, t in enumerate(profile.vocabulary)}
    for t in res.terms:
        j = index[t.term]
        assert t.p_value == pytest.approx(p[j], rel=1e-9, abs=1e-300)
        assert t.q_value == pytest.approx(q[j], rel=1e-9, abs=1e-300)
        assert t.change_pp == pytest.approx(100 * (x2[j] / n2 - x1[j] / n1), abs=1e-9)


def test_new_product_words_raise_the_oov_share(reference: list[str], profile: TextProfile) -> None:
    res = text_drift(profile, reference, tickets(600, BASE_MIX, seed=21, launch=0.5), seed=2)
    ref_q, cur_q = res.reference_quality, res.current_quality
    assert cur_q.oov_share > ref_q.oov_share + 0.05
    assert {t for t, _ in res.new_terms[:5]} == set(LAUNCH_WORDS) | {"launch"}
    launch_share = dict(res.new_terms)["launch"]
    assert 0.4 < launch_share < 0.6
    assert res.drift  # a fifth of the tokens are unknown: TF-IDF rows shrink, the classifier sees it
    assert "'launch'" in res.reading


def test_quality_signals_by_hand(profile: TextProfile) -> None:
    ref = ["my invoice is wrong", "refund please"] * 10
    cur = ["", None, "   ", "my zzz invoice"] + ["refund please"] * 16
    res = text_drift(profile, ref * 3, cur, seed=0)
    q = res.current_quality
    assert q.n_texts == 20 and q.empty_share == pytest.approx(3 / 20)
    assert q.mean_tokens == pytest.approx((3 + 2 * 16) / 20)
    assert q.oov_share == pytest.approx(1 / 35)  # "zzz"
    assert res.reference_quality.oov_share == 0.0 and res.reference_quality.empty_share == 0.0


# --------------------------------------------------------------------------------------
# User-supplied embedding
# --------------------------------------------------------------------------------------


def test_user_embedding(reference: list[str]) -> None:
    prof = TextProfile.build(reference, seed=0, embed=toy_embed)
    assert prof.representation == "user" and prof.dims == 0 and prof.components is None
    texts = reference[:5]
    assert np.array_equal(prof.embed(texts), toy_embed(texts))
    same = TextProfile.from_dict(json.loads(json.dumps(prof.to_dict())), embed=toy_embed)
    assert np.array_equal(same.embed(texts), prof.embed(texts)) and same.vocabulary == prof.vocabulary
    with pytest.raises(ValueError, match="embed="):
        TextProfile.from_dict(prof.to_dict())
    with pytest.raises(ValueError, match="TF-IDF"):
        prof.tfidf(texts)

    calm = text_drift(prof, reference, tickets(600, BASE_MIX, seed=31), seed=0)
    assert calm.verdict == "no_drift" and calm.representation == "user"
    shifted = text_drift(prof, reference, tickets(600, OUTAGE_MIX, seed=32), seed=0)
    assert shifted.drift and shifted.auc > 0.55 and {"outage", "down"} <= set(shifted.top_terms[:3])
    assert "user-supplied embeddings" in shifted.reading


def test_bad_user_embedding_is_reported(reference: list[str]) -> None:
    prof = TextProfile.build(reference[:200], seed=0, embed=lambda ts: np.ones(len(ts)))
    with pytest.raises(ValueError, match="shape"):
        prof.embed(["a", "b"])
    prof = TextProfile.build(reference[:200], seed=0, embed=lambda ts: np.full((len(ts), 2), np.nan))
    with pytest.raises(ValueError, match="non-finite"):
        text_drift(prof, reference[:200], reference[:50], seed=0)


# --------------------------------------------------------------------------------------
# Pieces and errors
# --------------------------------------------------------------------------------------


def test_errors(reference: list[str], profile: TextProfile) -> None:
    with pytest.raises(InsufficientDataError):
        TextProfile.build(reference[:15])
    with pytest.raises(InsufficientDataError, match="2"):
        TextProfile.build([f"w{i}" for i in range(100)])
    bad_build: list[dict[str, Any]] = [{"dims": 0}, {"vocab_size": 1}, {"holdout": 1.0}, {"holdout": 0}, {"seed": -1}, {"min_df": True}]
    for bad in bad_build:
        with pytest.raises(ValueError):
            TextProfile.build(reference, **bad)
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        profile.embed(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="sequence"):
        profile.embed("one string")
    with pytest.raises(InsufficientDataError, match="current"):
        text_drift(profile, reference, reference[:5], seed=0)
    with pytest.raises(InsufficientDataError, match="not fitted on"):
        text_drift(profile, list((Counter(reference) - Counter(profile.held_out(reference))).elements()), reference, seed=0)
    for bad in ({"min_auc": 0.5}, {"alpha": 0.0}, {"seed": 1.5}, {"max_docs": 3}):
        with pytest.raises(ValueError):
            text_drift(profile, reference, reference, **{"seed": 0, **bad})  # type: ignore[arg-type]
    state = profile.to_dict()
    for key, value in (("kind", "x"), ("version", 99), ("token_pattern", r"\w+"), ("representation", "bert")):
        with pytest.raises(ValueError):
            TextProfile.from_dict({**state, key: value})
    with pytest.raises(ValueError, match="components"):
        TextProfile.from_dict({**state, "components": [[0.0] * 3]})
    with pytest.raises(ValueError, match="lacks"):
        TextProfile.from_dict({k: v for k, v in state.items() if k != "vocabulary"})
    with pytest.raises(ValueError, match="user"):
        TextProfile.from_dict(state, embed=toy_embed)


def test_names_stay_importable_from_the_module_path() -> None:
    """The module became a package of smaller modules; its names are still imported from here."""
    import importlib

    module = importlib.import_module("modelsteward.drift.text")
    public = [
        "TOKEN_PATTERN", "TermShift", "TextDriftResult", "TextProfile", "TextQuality", "text_drift", "tokenize"
    ]
    compat = [
        "COMPONENT_DECIMALS", "EmbedFn", "MIN_TEXTS", "PROFILE_VERSION", "_delong", "_midrank", "_terms"
    ]  # importable here before the split too
    assert module.__all__ == public
    for name in public + compat:
        assert getattr(module, name, None) is not None, name
