"""Multivariate drift: the feature encoder, the domain classifier and PCA reconstruction error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelsteward.drift.multivariate import (
    FeatureEncoder,
    PCAReconstructor,
    domain_classifier,
    pca_reconstruction,
)
from modelsteward.errors import InsufficientDataError

KINDS = {"x1": "numeric", "x2": "numeric", "x3": "numeric", "x4": "numeric", "channel": "categorical"}
CHANNELS = np.array(["web", "app", "phone", "mail"])


def sample(n: int, rng: np.random.Generator, *, rho: float = 0.9, shift: float = 0.0) -> dict[str, np.ndarray]:
    """x1, x2 standard normal with correlation ``rho``; x3 (mean ``shift``), x4 independent; a category."""
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    return {
        "x1": z1,
        "x2": rho * z1 + np.sqrt(1 - rho**2) * z2,
        "x3": rng.normal(shift, 1.0, size=n),
        "x4": rng.normal(size=n),
        "channel": rng.choice(CHANNELS, size=n, p=[0.4, 0.3, 0.2, 0.1]).astype(object),
    }


# --------------------------------------------------------------------------------------
# FeatureEncoder
# --------------------------------------------------------------------------------------


def test_encoder_standardises_and_one_hots() -> None:
    ref = {"n": np.array([1.0, 2.0, 3.0, 4.0]), "c": np.array(["b", "a", "b", "c"], dtype=object)}
    enc = FeatureEncoder.fit(ref, {"n": "numeric", "c": "categorical"}, top_k=2)
    # no missing values when fitting: no indicator columns; ties ("a", "c") broken by name
    assert enc.columns == ("n", "c=b", "c=a", "c:other")
    assert enc.column_features == ("n", "c", "c", "c")
    x = enc.transform(ref)
    np.testing.assert_allclose(x[:, 0], (ref["n"] - 2.5) / np.std(ref["n"]))
    np.testing.assert_array_equal(x[:, 1:], [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_encoder_unseen_categories_and_missing_values() -> None:
    ref = {
        "n": np.array([1.0, np.nan, 3.0, 5.0]),
        "c": np.array(["x", None, "y", "x"], dtype=object),
    }
    enc = FeatureEncoder.fit(ref, {"n": "numeric", "c": "categorical"})
    assert enc.columns == ("n", "n:missing", "c=x", "c=y", "c:other", "c:missing")
    cur = {"n": [None, np.inf, 3.0], "c": ["never-seen", np.nan, "y"]}
    x = enc.transform(cur)
    mean, std = 3.0, np.std([1.0, 3.0, 5.0])
    np.testing.assert_allclose(x, [[0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1], [(3.0 - mean) / std, 0, 0, 1, 0, 0]])
    # pandas' NA is missing too
    np.testing.assert_array_equal(enc.transform({"n": pd.array([pd.NA, 1.0], dtype="Float64"), "c": ["x", pd.NA]})[:, [1, 5]],
                                  [[1, 0], [0, 1]])


def test_encoder_without_missing_column_sends_missing_categories_to_other() -> None:
    enc = FeatureEncoder.fit({"n": [1.0, 2.0], "c": ["a", "b"]}, {"n": "numeric", "c": "categorical"})
    x = enc.transform({"n": [None], "c": [None]})
    np.testing.assert_array_equal(x, [[0.0, 0.0, 0.0, 1.0]])  # imputed to the mean; "other"


def test_encoder_constant_and_all_missing_numeric() -> None:
    enc = FeatureEncoder.fit({"k": [2.0, 2.0, 2.0], "m": [None, None, None]}, {"k": "numeric", "m": "numeric"})
    np.testing.assert_array_equal(enc.transform({"k": [2.0, 5.0], "m": [None, 7.0]}), [[0, 0, 1], [3, 7, 0]])


def test_encoder_top_k_and_round_trip() -> None:
    rng = np.random.default_rng(3)
    data = sample(500, rng)
    data["x3"][::7] = np.nan
    enc = FeatureEncoder.fit(data, KINDS, top_k=2)
    assert enc.columns == ("x1", "x2", "x3", "x3:missing", "x4", "channel=web", "channel=app", "channel:other")
    again = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert again.columns == enc.columns
    other = sample(50, rng)
    np.testing.assert_array_equal(again.transform(other), enc.transform(other))
    # the one-row fast path agrees with the batch path
    for i in range(5):
        row = {f: other[f][i] for f in KINDS}
        np.testing.assert_array_equal(enc.transform_one(row), enc.transform(other)[i])
    np.testing.assert_array_equal(enc.transform_one({**row, "x3": None, "channel": "fax"})[[3, 7]], [1.0, 1.0])


@pytest.mark.parametrize(
    ("data", "kinds", "message"),
    [
        ({"a": [1.0]}, {}, "at least one feature"),
        ({"a": [1.0]}, {"a": "text"}, "'numeric' or 'categorical'"),
        ({"a": [1.0]}, {"b": "numeric"}, "lacks feature"),
        ({"a": [1.0, 2.0], "b": [1.0]}, {"a": "numeric", "b": "numeric"}, "same number of rows"),
        ({"a": ["x", "y"]}, {"a": "numeric"}, "not numbers"),
        ({"a": [[1.0, 2.0]]}, {"a": "numeric"}, "must be 1-D"),
    ],
)
def test_encoder_rejects_bad_input(data: dict[str, object], kinds: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureEncoder.fit(data, kinds)


def test_encoder_rejects_empty_sample_and_bad_state() -> None:
    with pytest.raises(InsufficientDataError):
        FeatureEncoder.fit({"a": []}, {"a": "numeric"})
    with pytest.raises(ValueError, match="top_k"):
        FeatureEncoder.fit({"a": [1.0]}, {"a": "numeric"}, top_k=0)
    with pytest.raises(ValueError, match="not a FeatureEncoder state"):
        FeatureEncoder.from_dict({"version": 1})
    enc = FeatureEncoder.fit({"a": [1.0]}, {"a": "numeric"})
    with pytest.raises(ValueError, match="lacks feature 'a'"):
        enc.transform_one({"b": 1.0})


# --------------------------------------------------------------------------------------
# Domain classifier
# --------------------------------------------------------------------------------------


def test_domain_classifier_no_drift_few_false_positives() -> None:
    flagged = []
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        res = domain_classifier(sample(400, rng), sample(400, rng), kinds=KINDS, seed=seed, folds=5, max_iter=30, repeats=1)
        assert len(res.fold_aucs) == 5 and res.n_reference == res.n_current == 400
        assert 0.0 <= res.ci_low <= res.auc <= res.ci_high <= 1.0
        if res.drift or not res.ci_low <= 0.5 <= res.ci_high:
            flagged.append((seed, res.auc, res.ci_low, res.ci_high))
    assert len(flagged) <= 1, flagged


def test_domain_classifier_sees_a_correlation_only_shift() -> None:
    rng = np.random.default_rng(17)
    ref, cur = sample(1000, rng, rho=0.9), sample(1000, rng, rho=0.0)
    # every marginal is unchanged: per-feature tests cannot see this shift
    for f in ("x1", "x2", "x3", "x4"):
        assert stats.ks_2samp(ref[f], cur[f]).pvalue > 0.01
    res = domain_classifier(ref, cur, kinds=KINDS, seed=0, max_iter=50)
    assert res.auc > 0.7 and res.ci_low > 0.55 and res.drift and res.p_value < 1e-3
    assert set(res.top_features[:2]) == {"x1", "x2"}
    assert res.features[1].auc_drop > 5 * max(abs(f.auc_drop) for f in res.features[2:])
    json.dumps(res.to_dict())


def test_domain_classifier_ranks_a_shifted_feature_first() -> None:
    rng = np.random.default_rng(8)
    res = domain_classifier(sample(1000, rng), sample(1000, rng, shift=0.6), kinds=KINDS, seed=1, max_iter=30)
    assert res.drift and res.auc > 0.6
    assert res.top_features[0] == "x3"


def test_domain_classifier_ranks_a_new_category_first() -> None:
    rng = np.random.default_rng(9)
    ref, cur = sample(600, rng), sample(600, rng)
    cur["channel"][rng.random(600) < 0.3] = "chatbot"
    res = domain_classifier(ref, cur, kinds=KINDS, seed=2, max_iter=30, repeats=1)
    assert res.drift and res.top_features[0] == "channel"


def test_domain_classifier_balances_bounds_and_repeats() -> None:
    rng = np.random.default_rng(10)
    ref, cur = sample(900, rng), sample(300, rng)
    r1 = domain_classifier(ref, cur, kinds=KINDS, seed=3, max_rows=250, folds=3, max_iter=10, repeats=1)
    assert r1.n_reference == r1.n_current == 250
    r2 = domain_classifier(ref, cur, kinds=KINDS, seed=3, max_rows=250, folds=3, max_iter=10, repeats=1)
    assert r1 == r2  # the seed makes it repeatable


def test_domain_classifier_errors() -> None:
    rng = np.random.default_rng(11)
    with pytest.raises(InsufficientDataError, match="at least 50 current rows"):
        domain_classifier(sample(100, rng), sample(49, rng), kinds=KINDS, seed=0)
    with pytest.raises(ValueError, match="min_auc"):
        domain_classifier(sample(100, rng), sample(100, rng), kinds=KINDS, seed=0, min_auc=0.5)
    with pytest.raises(ValueError, match="folds"):
        domain_classifier(sample(100, rng), sample(100, rng), kinds=KINDS, seed=0, folds=1)
    with pytest.raises(ValueError, match="current lacks feature"):
        domain_classifier(sample(100, rng), {"x1": np.zeros(100)}, kinds=KINDS, seed=0)


# --------------------------------------------------------------------------------------
# PCA reconstruction error
# --------------------------------------------------------------------------------------


def test_pca_reconstruction_rises_when_correlation_breaks() -> None:
    rng = np.random.default_rng(12)
    res = pca_reconstruction(sample(2000, rng, rho=0.9), sample(1000, rng, rho=0.0), kinds=KINDS, seed=0)
    assert res.ratio > 1.3 and res.ratio_ci_low > 1.1 and res.p_value < 1e-6 and res.drift
    assert res.difference_ci_low > 0
    assert 0.9 <= res.explained < 1 and res.components < 8  # 4 numeric + 4 one-hot columns
    assert (res.n_reference_fit, res.n_reference_holdout, res.n_current) == (1000, 1000, 1000)
    json.dumps(res.to_dict())


def test_pca_reconstruction_no_drift_ratio_near_one() -> None:
    flagged = []
    for seed in range(10):
        rng = np.random.default_rng(200 + seed)
        res = pca_reconstruction(sample(1000, rng), sample(500, rng), kinds=KINDS, seed=seed)
        assert 0.85 < res.ratio < 1.15
        assert res.ratio_ci_low < res.ratio < res.ratio_ci_high
        if res.drift or not res.ratio_ci_low <= 1 <= res.ratio_ci_high:
            flagged.append((seed, res.ratio, res.p_value))
    assert len(flagged) <= 1, flagged


def test_pca_reconstructor_round_trip_and_errors() -> None:
    rng = np.random.default_rng(13)
    ref = sample(500, rng)
    pca = PCAReconstructor.fit(ref, kinds=KINDS, variance=0.8)
    again = PCAReconstructor.from_dict(json.loads(json.dumps(pca.to_dict())))
    cur = sample(20, rng)
    np.testing.assert_array_equal(again.errors(cur), pca.errors(cur))
    assert pca.errors(cur).shape == (20,) and np.all(pca.errors(cur) >= 0)
    with pytest.raises(ValueError, match="variance"):
        PCAReconstructor.fit(ref, kinds=KINDS, variance=1.0)
    with pytest.raises(InsufficientDataError, match="at least 100 reference rows"):
        pca_reconstruction(sample(99, rng), sample(100, rng), kinds=KINDS, seed=0)


def test_names_stay_importable_from_the_module_path() -> None:
    """The module became a package of smaller modules; its names are still imported from here."""
    import importlib

    module = importlib.import_module("modelsteward.drift.multivariate")
    public = [
        "DEFAULT_MAX_ROWS", "DomainClassifierResult", "FeatureEncoder", "FeatureSeparation", "PCAReconstructor",
        "ReconstructionResult", "domain_classifier", "pca_reconstruction"
    ]
    compat = [
        "KINDS", "MIN_ROWS", "_auc", "_check_kinds", "_decode_array", "_encode_array", "_n_rows", "_positive_int",
        "_take"
    ]  # importable here before the split too
    assert module.__all__ == public
    for name in public + compat:
        assert getattr(module, name, None) is not None, name
