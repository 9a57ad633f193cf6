"""ConfidenceCalibrator: isotonic fit against SciPy (and scikit-learn), histogram binning, storage."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from modelsteward.drift.psi import quantile_edges
from modelsteward.errors import InsufficientDataError
from modelsteward.performance import ConfidenceCalibrator, positive_scores
from modelsteward.performance import calibration as calibration_module


def true_curve(c: np.ndarray) -> np.ndarray:
    """P(correct | confidence) of the simulated model: monotone and over-confident."""
    return 0.2 + 0.75 * ((c - 0.4) / 0.6) ** 0.8


def reference(n: int = 5000, seed: int = 0, decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    conf = 0.4 + 0.6 * rng.beta(2, 2, size=n)
    if decimals is not None:  # ties, as logged confidences often have
        conf = np.round(conf, decimals)
    return conf, rng.random(n) < true_curve(conf)


# -- isotonic regression -------------------------------------------------------------------


@pytest.mark.parametrize("decimals", [None, 2])
def test_isotonic_reproduces_scipy_fitted_values(decimals: int | None) -> None:
    conf, correct = reference(decimals=decimals)
    cal = ConfidenceCalibrator.fit(conf, correct, method="isotonic")
    ux, inverse = np.unique(conf, return_inverse=True)
    w = np.bincount(inverse).astype(float)
    res = isotonic_regression(np.bincount(inverse, weights=correct) / w, weights=w)
    np.testing.assert_allclose(cal.predict(ux), res.x, rtol=0, atol=1e-12)
    # Every row gets its distinct value's fitted value; the knots are the ends of the blocks.
    np.testing.assert_allclose(cal.predict(conf), res.x[inverse], rtol=0, atol=1e-12)
    assert len(cal.x) <= 2 * (res.blocks.size - 1)
    assert cal.block is not None and cal.block_rows is not None
    assert cal.block[-1] + 1 == res.blocks.size - 1
    assert list(cal.block_rows) == [int(w[a:b].sum()) for a, b in zip(res.blocks[:-1], res.blocks[1:], strict=True)]
    assert np.all(np.diff(cal.y) >= 0)


def test_isotonic_matches_scikit_learn() -> None:
    sklearn_isotonic = pytest.importorskip("sklearn.isotonic")
    conf, correct = reference(n=3000, seed=4, decimals=3)
    cal = ConfidenceCalibrator.fit(conf, correct, method="isotonic")
    iso = sklearn_isotonic.IsotonicRegression(out_of_bounds="clip").fit(conf, correct.astype(float))
    grid = np.linspace(0.0, 1.0, 501)  # between and beyond the reference values too
    np.testing.assert_allclose(cal.predict(grid), iso.predict(grid), rtol=0, atol=1e-12)


def test_isotonic_recovers_the_true_curve() -> None:
    conf, correct = reference(n=20000, seed=1)
    cal = ConfidenceCalibrator.fit(conf, correct)
    grid = np.linspace(0.5, 0.95, 10)
    assert np.max(np.abs(cal.predict(grid) - true_curve(grid))) < 0.06


# -- histogram binning and the comparison ----------------------------------------------------


def test_histogram_knots_are_bin_means() -> None:
    conf, correct = reference(n=2000, seed=2)
    cal = ConfidenceCalibrator.fit(conf, correct, method="histogram", bins=8)
    edges = quantile_edges(conf, bins=8)
    idx = np.searchsorted(edges, conf, side="left")
    for b in range(edges.size + 1):
        assert cal.x[b] == pytest.approx(conf[idx == b].mean(), abs=1e-12)
        assert cal.y[b] == pytest.approx(correct[idx == b].mean(), abs=1e-12)
    assert cal.method == "histogram"
    assert cal.block == tuple(range(edges.size + 1))
    assert cal.block_rows == tuple(int(v) for v in np.bincount(idx))


def test_isotonic_and_histogram_compared_on_held_out_rows() -> None:
    conf, correct = reference(n=5000, seed=3)
    held_conf, held_correct = reference(n=20000, seed=30)
    iso = ConfidenceCalibrator.fit(conf, correct, method="isotonic")
    hist = ConfidenceCalibrator.fit(conf, correct, method="histogram", bins=10)
    oracle = float(np.mean((true_curve(held_conf) - held_correct) ** 2))
    raw = float(np.mean((held_conf - held_correct) ** 2))  # the uncalibrated confidence
    for cal in (iso, hist):
        assert cal.brier_score(held_conf, held_correct) < oracle + 0.003
    assert iso.brier_score(held_conf, held_correct) < raw - 0.003


def test_auto_falls_back_to_histogram_without_scipy_isotonic(monkeypatch: pytest.MonkeyPatch) -> None:
    conf, correct = reference(n=500)
    assert ConfidenceCalibrator.fit(conf, correct).method == "isotonic"
    monkeypatch.setattr(calibration_module, "_ISOTONIC", None)
    assert not calibration_module.isotonic_available()
    assert ConfidenceCalibrator.fit(conf, correct).method == "histogram"
    with pytest.raises(ValueError, match=r"SciPy >= 1\.12"):
        ConfidenceCalibrator.fit(conf, correct, method="isotonic")


# -- prediction between knots ---------------------------------------------------------------


def test_predict_interpolates_and_is_flat_outside() -> None:
    cal = ConfidenceCalibrator((0.5, 0.7, 0.9), (0.4, 0.6, 0.95), "isotonic", "correct", 10)
    np.testing.assert_allclose(cal.predict([0.0, 0.5, 0.6, 0.8, 0.9, 1.0]), [0.4, 0.4, 0.5, 0.775, 0.95, 0.95])
    np.testing.assert_allclose(cal.slope([0.4, 0.5, 0.6, 0.7, 0.8, 0.95]), [0.0, 0.0, 1.0, 1.0, 1.75, 0.0])
    grid = np.linspace(0, 1, 101)
    lo, hi, t = cal.interpolation_weights(grid)
    y = np.asarray(cal.y)
    np.testing.assert_allclose((1 - t) * y[lo] + t * y[hi], cal.predict(grid), atol=1e-15)
    assert cal.predict(np.array([[0.6, 0.8]])).shape == (1, 2)


def test_block_variance() -> None:
    cal = ConfidenceCalibrator((0.5, 0.6, 0.9), (0.5, 0.5, 1.0), "isotonic", "correct", 300, None, (0, 0, 1), (100, 200))
    shrunk = np.array([(50 + 0.5) / 101, (200 + 0.5) / 201])
    variance = cal.block_variance()
    assert variance is not None
    np.testing.assert_allclose(variance, shrunk * (1 - shrunk) / np.array([100, 200]))
    assert ConfidenceCalibrator((0.5,), (0.7,), "isotonic", "correct", 1).block_variance() is None


# -- the positive-class score ----------------------------------------------------------------


def test_positive_calibrator() -> None:
    rng = np.random.default_rng(5)
    s = rng.beta(2, 2, size=8000)
    truth = np.where(rng.random(8000) < 1 / (1 + np.exp(-7 * (s - 0.55))), "pos", "neg")
    pred = np.where(s >= 0.5, "pos", "neg")
    conf = np.maximum(s, 1 - s)
    np.testing.assert_allclose(positive_scores(pred, conf, "pos"), s, atol=1e-15)
    cal = ConfidenceCalibrator.fit_positive(pred, conf, truth, positive_label="pos")
    assert (cal.target, cal.positive_label, cal.n) == ("positive", "pos", 8000)
    grid = np.linspace(0.2, 0.8, 7)
    assert np.max(np.abs(cal.predict(grid) - 1 / (1 + np.exp(-7 * (grid - 0.55))))) < 0.07


# -- storage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["isotonic", "histogram"])
def test_json_round_trip(method: Any) -> None:
    conf, correct = reference(n=3000, seed=6)
    cal = ConfidenceCalibrator.fit(conf, correct, method=method)
    text = json.dumps(cal.to_dict())
    back = ConfidenceCalibrator.from_dict(json.loads(text))
    assert back == cal
    grid = np.linspace(0, 1, 257)
    np.testing.assert_array_equal(back.predict(grid), cal.predict(grid))
    assert len(text) < 20_000  # small enough for the reference profile


def test_json_round_trip_positive() -> None:
    pred = np.array(["y", "n"] * 100)
    conf = np.linspace(0.5, 1.0, 200)
    truth = np.where(np.arange(200) % 3 == 0, "n", "y")
    cal = ConfidenceCalibrator.fit_positive(pred, conf, truth, positive_label="y")
    back = ConfidenceCalibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back == cal and back.positive_label == "y"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "other"}, "not a stored confidence calibrator"),
        ({"version": 99}, "unsupported calibrator version"),
        ({"x": [0.6, 0.5]}, "strictly increasing"),
        ({"y": [0.2, 1.5]}, r"lie in \[0, 1\]"),
        ({"y": [0.2]}, "equal length"),
        ({"x": ["a", 0.5]}, "lists of numbers"),
        ({"method": "magic"}, "method must be"),
        ({"target": "positive"}, "positive_label is required"),
        ({"block": [0, 2]}, "block number"),
        ({"block_rows": [5]}, "number of reference rows"),
        ({"block": [0, 0], "block_rows": [20]}, "share one value"),
        ({"block": None}, "go together"),
    ],
)
def test_from_dict_rejects_bad_input(change: dict[str, object], message: str) -> None:
    good = ConfidenceCalibrator((0.5, 0.9), (0.3, 0.8), "isotonic", "correct", 20, None, (0, 1), (10, 10)).to_dict()
    with pytest.raises(ValueError, match=message):
        ConfidenceCalibrator.from_dict({**good, **change})
    with pytest.raises(ValueError, match="lacks"):
        ConfidenceCalibrator.from_dict({k: v for k, v in good.items() if k != "x"})


# -- bad input -------------------------------------------------------------------------------


def test_too_few_rows() -> None:
    with pytest.raises(InsufficientDataError, match="at least 50 reference rows"):
        ConfidenceCalibrator.fit(np.full(10, 0.9), np.ones(10, dtype=bool))


@pytest.mark.parametrize(
    ("conf", "correct", "message"),
    [
        ([0.5, np.nan], [1, 0], "NaN"),
        ([0.5, 1.2], [1, 0], r"in \[0, 1\]"),
        ([0.5, 0.7], [1, 2], "0/1"),
        ([0.5, 0.7], [1], "one value per confidence"),
    ],
)
def test_bad_input(conf: list[float], correct: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConfidenceCalibrator.fit(conf, correct, min_rows=1)


def test_bad_method_and_bins() -> None:
    conf, correct = reference(n=100)
    with pytest.raises(ValueError, match="method must be"):
        ConfidenceCalibrator.fit(conf, correct, method="platt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bins must be"):
        ConfidenceCalibrator.fit(conf, correct, method="histogram", bins=1)
