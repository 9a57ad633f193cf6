"""Multiple-testing correction against scipy.stats.false_discovery_control and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift.correction import P_FLOOR, adjust, benjamini_hochberg, bonferroni, floor_p, simes


def test_benjamini_hochberg_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        m = int(rng.integers(1, 60))
        ps = rng.uniform(size=m) ** float(rng.choice([1.0, 3.0, 10.0]))
        if rng.random() < 0.3:  # ties, exact zeros and ones
            ps[rng.integers(0, m, size=m // 3 + 1)] = ps[0]
            ps[rng.integers(0, m)] = 0.0
            ps[rng.integers(0, m)] = 1.0
        expected = stats.false_discovery_control(ps, method="bh")
        np.testing.assert_allclose(benjamini_hochberg(ps), expected, rtol=1e-12, atol=0)


def test_benjamini_hochberg_by_hand() -> None:
    # Sorted p = (0.001, 0.1, 0.5, 0.6), m = 4: p m / i = (0.004, 0.2, 0.667, 0.6) -> step-up min.
    np.testing.assert_allclose(benjamini_hochberg([0.5, 0.6, 0.1, 0.001]), [0.6, 0.6, 0.2, 0.004], rtol=1e-12)
    assert benjamini_hochberg([0.03]).tolist() == [0.03]
    assert benjamini_hochberg([]).shape == (0,)
    # Adjusted values never fall below the raw ones, nor exceed 1.
    ps = np.random.default_rng(2).uniform(size=50)
    adjusted = benjamini_hochberg(ps)
    assert np.all(adjusted >= ps) and np.all(adjusted <= 1.0)


def test_missing_p_values_pass_through_and_are_not_counted() -> None:
    ps = [0.01, None, 0.04, math.nan, 0.03]
    present = [0.01, 0.04, 0.03]
    for f, scipy_like in (
        (benjamini_hochberg, stats.false_discovery_control(present, method="bh")),
        (bonferroni, np.minimum(np.array(present) * 3, 1.0)),
    ):
        out = f(ps)
        assert np.isnan(out[1]) and np.isnan(out[3])
        np.testing.assert_allclose(out[[0, 2, 4]], scipy_like, rtol=1e-12)
    assert np.isnan(benjamini_hochberg([None, None])).all()


def test_bonferroni_by_hand() -> None:
    np.testing.assert_allclose(bonferroni([0.01, 0.02, 0.5]), [0.03, 0.06, 1.0], rtol=1e-12)
    assert bonferroni([0.2]).tolist() == [0.2]
    ps = np.random.default_rng(3).uniform(size=20)
    assert np.all(bonferroni(ps) >= benjamini_hochberg(ps) - 1e-15)  # BH is never stricter


def test_adjust_dispatches() -> None:
    ps = [0.01, 0.02, None, 0.5]
    np.testing.assert_array_equal(adjust(ps), benjamini_hochberg(ps))
    np.testing.assert_array_equal(adjust(ps, "bh"), benjamini_hochberg(ps))
    np.testing.assert_array_equal(adjust(ps, "bonferroni"), bonferroni(ps))
    np.testing.assert_array_equal(adjust(ps, "none"), [0.01, 0.02, np.nan, 0.5])
    with pytest.raises(ValueError, match="method"):
        adjust(ps, "holm")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[0.1, 1.5], [-0.01], ["x"], [math.inf]])
def test_p_values_are_validated(bad: list[object]) -> None:
    for f in (benjamini_hochberg, bonferroni):
        with pytest.raises(ValueError, match="p-value"):
            f(bad)  # type: ignore[arg-type]


def test_bh_controls_the_chance_of_any_rejection_under_the_global_null() -> None:
    # 20 independent uniform p-values: BH at 0.05 rejects anything in ~5 % of families,
    # uncorrected testing in ~64 %.
    rng = np.random.default_rng(4)
    ps = rng.uniform(size=(4000, 20))
    any_bh = np.mean([np.any(benjamini_hochberg(row) < 0.05) for row in ps])
    any_raw = np.mean(np.any(ps < 0.05, axis=1))
    assert any_bh <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 4000)
    assert any_raw > 0.55


def test_simes_is_the_smallest_bh_adjusted_p_value_and_matches_by_hand() -> None:
    # Simes (1986): min_i p_(i) m / i, computed here by hand, against the library and scipy's BH.
    rng = np.random.default_rng(5)
    for _ in range(200):
        m = int(rng.integers(1, 40))
        ps = rng.uniform(size=m) ** float(rng.choice([1.0, 4.0]))
        by_hand = float(np.min(np.sort(ps) * m / np.arange(1, m + 1)))
        assert simes(ps) == pytest.approx(min(by_hand, 1.0), rel=1e-12)
        assert simes(ps) == pytest.approx(float(stats.false_discovery_control(ps, method="bh").min()), rel=1e-12)
    assert simes([0.02, None, math.nan]) == 0.02
    assert math.isnan(simes([]))


def test_simes_rejects_at_most_alpha_of_null_families() -> None:
    rng = np.random.default_rng(6)
    alpha, families = 0.02, 20_000
    ps = rng.uniform(size=(families, 20))
    rate = float(np.mean([simes(row) < alpha for row in ps]))
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / families)
    assert rate >= 0.8 * alpha  # independent tests use almost all of it


def test_floor_p_keeps_p_values_finite_on_a_log_scale() -> None:
    assert floor_p(0.0) == floor_p(5e-324) == P_FLOOR == 1e-300
    assert math.isfinite(math.log10(floor_p(0.0)))  # type: ignore[arg-type]
    assert floor_p(2e-300) == 2e-300 and floor_p(1.0) == 1.0
    assert floor_p(None) is None and floor_p(math.nan) is None
