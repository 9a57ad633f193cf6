"""The error-stream part of concept drift in the run: chunked feeding and the change points reported."""

from datetime import datetime, timedelta

import numpy as np

from modelsteward.drift.concept_window import error_stream_changes
from modelsteward.drift.online import ADWIN, PageHinkley


def test_feeding_in_chunks_finds_the_same_change_points_as_one_pass():
    rng = np.random.default_rng(8)
    errors = np.concatenate([rng.binomial(1, 0.1, 3000), rng.binomial(1, 0.35, 3000)]).astype(float)
    times = [datetime(2026, 1, 1) + timedelta(minutes=i) for i in range(errors.size)]
    direct = ADWIN().update_many(errors.tolist())
    chunked = error_stream_changes(errors, times, 0, ADWIN(), chunk=7)
    assert [c["position"] for c in chunked] == direct
    assert direct and 3000 <= direct[0] < 3300


def test_only_change_points_inside_the_window_are_reported_with_times_and_rates():
    rng = np.random.default_rng(9)
    errors = np.concatenate([rng.binomial(1, 0.05, 2000), rng.binomial(1, 0.5, 1000)]).astype(float)
    times = [datetime(2026, 1, 1) + timedelta(minutes=i) for i in range(errors.size)]
    every = PageHinkley().update_many(errors.tolist())
    found = error_stream_changes(errors, times, 1500, PageHinkley())
    assert [c["position"] + 1500 for c in found] == [i for i in every if i >= 1500]
    first = found[0]
    assert first["time"] == times[first["position"] + 1500]
    i = first["position"] + 1500
    assert first["error_rate_before"] == errors[max(0, i - 200):i + 1].mean()
    assert first["error_rate_after"] == errors[i + 1:i + 201].mean()
