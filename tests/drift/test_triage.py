"""Triage of a window (:mod:`modelsteward.drift.triage`) on the stream of ``tests/triage_stream.py``."""

from datetime import timedelta

import numpy as np
import pytest
from triage_stream import START, build_project

from modelsteward.drift.triage import triage
from modelsteward.monitor import Monitor


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("triage"))


def test_triage_ranks_the_segment_that_explains_the_drop_first(project):
    tmp, truth = project
    with Monitor(tmp / "steward.yaml") as mon:
        t = triage(mon.store, mon.model(), START + timedelta(weeks=1, days=2))
    assert t.window_start == START + timedelta(weeks=1)
    assert set(t.dimensions) == {"category", "tier", "channel"}
    assert t.drop is not None and t.drop.ranked[0].label == "tier=enterprise"
    ent_now = np.mean([r for w, tier, _, r in truth if w == 1 and tier == "enterprise"])
    ent_before = np.mean([r for w, tier, _, r in truth if w == 0 and tier == "enterprise"])
    top = t.drop.ranked[0]
    assert top.current_value == pytest.approx(ent_now) and top.baseline_value == pytest.approx(ent_before)
    total = np.mean([r for w, *_, r in truth if w == 1]) - np.mean([r for w, *_, r in truth if w == 0])
    tier = next(d for d in t.drop.dimensions if d.dimension == "tier")
    assert tier.total == pytest.approx(total)  # the segments' parts add up to the whole change
    by_tier = {s.segment: s for s in t.segments["tier"]}
    assert by_tier["enterprise"].volume == sum(1 for w, tr, *_ in truth if w == 1 and tr == "enterprise")
    assert t.diagnosis is not None and set(t.diagnosis["findings"]) == {"data", "concept", "label", "prediction"}
