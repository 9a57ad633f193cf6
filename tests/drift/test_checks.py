"""The argument check the drift modules share."""

from __future__ import annotations

import numpy as np
import pytest

from modelsteward.drift._checks import whole_number


def test_whole_number_accepts_integers_at_or_above_the_bound() -> None:
    assert whole_number(2, "folds", 2) == 2
    value = whole_number(np.int64(7), "k")
    assert value == 7 and type(value) is int


@pytest.mark.parametrize("bad", [True, 1.0, "3", None, 0, -4])
def test_whole_number_refuses_the_rest(bad: object) -> None:
    with pytest.raises(ValueError, match=rf"^n must be an integer >= 1, got {bad!r}$".replace("(", r"\(").replace(")", r"\)")):
        whole_number(bad, "n")
