"""Quantile binning and the Population Stability Index, against hand calculation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift import bin_counts, psi, quantile_edges
from modelsteward.errors import InsufficientDataError


def test_quantile_edges_by_hand() -> None:
    # Linear quantiles of 1..10 at 1/4, 2/4, 3/4: positions 2.25, 4.5, 6.75 (0-based).
    np.testing.assert_allclose(quantile_edges(np.arange(1, 11), bins=4), [3.25, 5.5, 7.75])
    # Seven zeros then 1, 2, 3 with 10 bins: positions 0.9, 1.8, ..., 8.1; six quantiles are 0.
    np.testing.assert_allclose(quantile_edges([0] * 7 + [1, 2, 3], bins=10), [0.0, 0.3, 1.2, 2.1])


def test_quantile_edges_dedupe_and_ignore_nan() -> None:
    assert quantile_edges([4.0] * 50, bins=10).tolist() == [4.0]
    assert quantile_edges([1, np.nan, 2, 3, np.nan, 4, 5], bins=2).tolist() == [3.0]
    edges = quantile_edges(np.random.default_rng(3).normal(size=999), bins=10)
    assert edges.size == 9 and np.all(np.diff(edges) > 0)


@pytest.mark.parametrize("bins", [1, 0, -3, 2.0, True, "10"])
def test_quantile_edges_rejects_bad_bins(bins: object) -> None:
    with pytest.raises(ValueError, match="bins"):
        quantile_edges([1, 2, 3], bins=bins)  # type: ignore[arg-type]


def test_quantile_edges_rejects_empty_and_infinite() -> None:
    with pytest.raises(InsufficientDataError):
        quantile_edges([], bins=4)
    with pytest.raises(InsufficientDataError):
        quantile_edges([np.nan, np.nan], bins=4)
    with pytest.raises(ValueError, match="infinite"):
        quantile_edges([1.0, np.inf, 2.0], bins=4)
    with pytest.raises(ValueError, match="1-D"):
        quantile_edges([[1.0, 2.0]], bins=4)


def test_bin_counts_are_right_closed() -> None:
    sample = [-np.inf, 0.5, 1.0, 1.0000001, 2.0, 2.5, np.inf, np.nan]
    # (-inf, 1] holds -inf, 0.5, 1.0; (1, 2] holds 1.0000001, 2.0; (2, inf) holds 2.5, inf.
    assert bin_counts(sample, [1.0, 2.0]).tolist() == [3, 2, 2]
    assert bin_counts([1, 2, 3], []).tolist() == [3]
    assert bin_counts([], [0.0]).tolist() == [0, 0]
    assert bin_counts([np.nan], [0.0]).dtype == np.int64


def test_bin_counts_match_digitize_on_random_data() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        ref = rng.integers(0, 8, size=500).astype(float)  # many values equal to an edge
        cur = np.concatenate([rng.integers(-1, 10, size=400).astype(float), [np.nan] * 3])
        edges = quantile_edges(ref, bins=int(rng.integers(2, 12)))
        finite = cur[~np.isnan(cur)]
        # np.digitize(right=True) puts x in bin i when edges[i-1] < x <= edges[i].
        expected = np.bincount(np.digitize(finite, edges, right=True), minlength=edges.size + 1)
        np.testing.assert_array_equal(bin_counts(cur, edges), expected)
        loop = [sum(1 for v in finite if (k == 0 or v > edges[k - 1]) and (k == edges.size or v <= edges[k]))
                for k in range(edges.size + 1)]
        assert bin_counts(cur, edges).tolist() == loop


@pytest.mark.parametrize("edges", [[2.0, 1.0], [1.0, 1.0], [0.0, np.nan], [np.inf], [[1.0, 2.0]]])
def test_bin_counts_rejects_bad_edges(edges: object) -> None:
    with pytest.raises(ValueError, match="edges"):
        bin_counts([1.0, 2.0], edges)


def test_psi_by_hand() -> None:
    # shares r = (.5, .3, .2), c = (.3, .3, .4)
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0.0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi([50, 30, 20], [30, 30, 40]) == pytest.approx(expected, rel=1e-12)
    assert psi([50, 30, 20], [30, 30, 40]) == pytest.approx(0.2407945609, rel=1e-9)


def test_psi_zero_share_is_floored_at_eps() -> None:
    hand = (1.0 - 0.5) * math.log(1.0 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert psi([50, 50], [100, 0]) == pytest.approx(hand, rel=1e-12)
    hand = (0.5 - 1e-3) * math.log(0.5 / 1e-3) + (0.5 - 1.0) * math.log(0.5 / 1.0)
    assert psi([0, 10], [5, 5], eps=1e-3) == pytest.approx(hand, rel=1e-12)
    # A bin empty on both sides contributes nothing.
    assert psi([50, 30, 20, 0], [30, 30, 40, 0]) == pytest.approx(psi([50, 30, 20], [30, 30, 40]), rel=1e-12)


def test_psi_equals_symmetrised_kl_divergence() -> None:
    rng = np.random.default_rng(9)
    for _ in range(50):
        k = int(rng.integers(2, 20))
        ref = rng.integers(1, 1000, size=k)
        cur = rng.integers(1, 1000, size=k)
        jeffreys = stats.entropy(cur, ref) + stats.entropy(ref, cur)  # normalises its inputs
        assert psi(ref, cur) == pytest.approx(jeffreys, rel=1e-10)
        assert psi(cur, ref) == pytest.approx(psi(ref, cur), rel=1e-12)


def test_psi_of_same_distribution_is_zero() -> None:
    assert psi([10, 20, 30], [10, 20, 30]) == 0.0
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0, abs=1e-15)


def test_psi_end_to_end_detects_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=20_000)
    edges = quantile_edges(ref)
    same = psi(bin_counts(ref, edges), bin_counts(rng.normal(size=20_000), edges))
    shifted = psi(bin_counts(ref, edges), bin_counts(rng.normal(0.5, size=20_000), edges))
    assert same < 0.01 < 0.2 < shifted


def test_psi_rejects_bad_input() -> None:
    with pytest.raises(InsufficientDataError, match="reference"):
        psi([0, 0], [1, 2])
    with pytest.raises(InsufficientDataError, match="current"):
        psi([1, 2], [0, 0])
    with pytest.raises(ValueError, match="same length"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        psi([1, -2], [1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        psi([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="non-empty"):
        psi([], [])
    for eps in (0.0, -1e-4, 1.0, math.nan, "a"):
        with pytest.raises(ValueError, match="eps"):
            psi([1, 2], [2, 1], eps=eps)  # type: ignore[arg-type]
