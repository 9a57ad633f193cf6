"""Ground-truth resolution (``resolved_labels_sql`` through ``Monitor.labelled()``).

Expected labels are computed here in plain Python over the same events, from the rule as the
documentation states it: the most trusted source that carries a label wins (default order
expert, explicit, outcome, implicit); within a source the latest labelled feedback wins;
implicit ``accepted`` carries the prediction as its label only when
``implicit_accept_confirms`` is on; ``modified`` / ``rejected``, ratings, CSAT and escalation
carry no label.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelsteward.config import StewardConfig
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.monitor import Monitor

LABELS = ["billing", "technical", "account"]
T0 = datetime(2026, 1, 5, 9, 0)
DEFAULT = ["expert", "explicit", "outcome", "implicit"]


def _config(
    make_config: Callable[..., StewardConfig],
    model_dict: Callable[..., dict[str, Any]],
    *,
    priority: list[str] | None = None,
    confirms: bool = True,
    name: str = "routing",
) -> StewardConfig:
    gt: dict[str, Any] = {"implicit_accept_confirms": confirms}
    if priority is not None:
        gt["priority"] = priority
    return make_config(model_dict(name, task="multiclass", labels=LABELS, features=[], ground_truth=gt))


def _expected(predictions: dict[str, str], events: list[dict[str, Any]], priority: list[str], confirms: bool) -> dict[str, tuple[str, str]]:
    """prediction_id -> (label, source), by the documented rule, in plain Python."""
    out: dict[str, tuple[str, str]] = {}
    for pid, predicted in predictions.items():
        for source in priority:
            candidates = []
            for e in events:
                if e["prediction_id"] != pid or e["kind"] != source:
                    continue
                label = e.get("label")
                if label is None and source == "implicit" and e.get("action") == "accepted" and confirms:
                    label = predicted
                if label is not None:
                    candidates.append((e["timestamp"], label))
            if candidates:
                out[pid] = (max(candidates)[1], source)
                break
    return out


def _resolved(mon: Monitor, model: str = "routing") -> dict[str, tuple[str, str]]:
    t = mon.labelled(model)
    return {
        p: (lab, src)
        for p, lab, src in zip(
            t.column("prediction_id").to_pylist(), t.column("label").to_pylist(), t.column("label_source").to_pylist(), strict=True
        )
    }


def _log(mon: Monitor, predictions: dict[str, str], events: list[dict[str, Any]], model: str = "routing") -> None:
    mon.log_predictions(
        [{"prediction_id": p, "prediction": lab, "confidence": 0.8, "timestamp": T0} for p, lab in predictions.items()], model=model
    )
    if events:
        mon.log_feedbacks(events, model=model)


def _ev(pid: str, kind: str, minute: int, **kw: Any) -> dict[str, Any]:
    return {"prediction_id": pid, "kind": kind, "timestamp": T0 + timedelta(minutes=minute), **kw}


# ----------------------------------------------------------------------------------------- cases by hand


def test_each_rule_by_hand(tmp_path: Path, make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]]) -> None:
    preds = {f"p{i}": "billing" for i in range(1, 12)}
    events = [
        # p1: expert beats a later explicit correction
        _ev("p1", "explicit", 5, label="technical"),
        _ev("p1", "expert", 1, label="account"),
        # p2: explicit beats outcome and implicit
        _ev("p2", "implicit", 9, action="accepted"),
        _ev("p2", "outcome", 8, label="account"),
        _ev("p2", "explicit", 1, label="technical"),
        # p3: within a source the latest wins
        _ev("p3", "explicit", 1, label="technical"),
        _ev("p3", "explicit", 7, label="account"),
        _ev("p3", "explicit", 4, label="billing"),
        # p4: implicit accepted confirms the prediction
        _ev("p4", "implicit", 1, action="accepted"),
        # p5: modified and rejected give no label
        _ev("p5", "implicit", 1, action="modified"),
        _ev("p5", "implicit", 2, action="rejected"),
        # p6: a rating, csat or escalation is not a label
        _ev("p6", "explicit", 1, rating=1.0),
        _ev("p6", "outcome", 2, csat=1.0, escalated=True),
        # p7: outcome with a label beats implicit acceptance
        _ev("p7", "implicit", 3, action="accepted"),
        _ev("p7", "outcome", 1, label="technical", resolution_hours=2.0),
        # p8: an explicit rating without label does not hide an older explicit label
        _ev("p8", "explicit", 1, label="account"),
        _ev("p8", "explicit", 9, rating=5.0),
        # p9: a rejected suggestion alone gives no label
        _ev("p9", "implicit", 1, action="rejected"),
        # p10: expert wins even when it is the oldest of many
        _ev("p10", "expert", 0, label="technical"),
        _ev("p10", "explicit", 1, label="account"),
        _ev("p10", "outcome", 2, label="account"),
        # p11: nothing at all
    ]
    with Monitor(_config(make_config, model_dict), store=tmp_path / "s.duckdb") as mon:
        _log(mon, preds, events)
        got = _resolved(mon)
    assert got == {
        "p1": ("account", "expert"),
        "p2": ("technical", "explicit"),
        "p3": ("account", "explicit"),
        "p4": ("billing", "implicit"),
        "p7": ("technical", "outcome"),
        "p8": ("account", "explicit"),
        "p10": ("technical", "expert"),
    }
    assert got == _expected(preds, events, DEFAULT, True)


def test_implicit_acceptance_confirms_only_when_configured(
    tmp_path: Path, make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]]
) -> None:
    preds = {"a": "technical", "b": "account"}
    events = [
        _ev("a", "implicit", 1, action="accepted"),
        _ev("b", "implicit", 1, action="accepted"),
        _ev("b", "outcome", 0, label="billing"),
    ]
    with Monitor(_config(make_config, model_dict, confirms=True), store=tmp_path / "on.duckdb") as mon:
        _log(mon, preds, events)
        assert _resolved(mon) == {"a": ("technical", "implicit"), "b": ("billing", "outcome")}
    with Monitor(_config(make_config, model_dict, confirms=False), store=tmp_path / "off.duckdb") as mon:
        _log(mon, preds, events)
        assert _resolved(mon) == {"b": ("billing", "outcome")}


def test_priority_order_is_configurable(
    tmp_path: Path, make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]]
) -> None:
    preds = {"p": "billing", "q": "billing"}
    events = [
        _ev("p", "expert", 1, label="technical"),
        _ev("p", "explicit", 2, label="account"),
        _ev("p", "implicit", 3, action="accepted"),
        _ev("q", "expert", 1, label="technical"),
    ]
    cases = {
        ("explicit", "expert"): {"p": ("account", "explicit"), "q": ("technical", "expert")},
        ("implicit", "explicit", "expert"): {"p": ("billing", "implicit"), "q": ("technical", "expert")},
        ("explicit",): {"p": ("account", "explicit")},  # a source left out is never used
        ("outcome",): {},
    }
    for i, (priority, expected) in enumerate(cases.items()):
        with Monitor(_config(make_config, model_dict, priority=list(priority)), store=tmp_path / f"s{i}.duckdb") as mon:
            _log(mon, preds, events)
            assert _resolved(mon) == expected, priority


def test_feedback_of_another_model_is_ignored(
    tmp_path: Path, make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]]
) -> None:
    d = model_dict("routing", task="multiclass", labels=LABELS, features=[])
    other = model_dict("other", task="multiclass", labels=LABELS, features=[])
    with Monitor(make_config(d, other), store=tmp_path / "s.duckdb") as mon:
        _log(mon, {"p": "billing"}, [_ev("p", "expert", 1, label="technical")], model="other")
        _log(mon, {"p": "billing"}, [_ev("p", "explicit", 1, label="account")], model="routing")
        assert _resolved(mon, "routing") == {"p": ("account", "explicit")}
        assert _resolved(mon, "other") == {"p": ("technical", "expert")}


def test_late_prediction_picks_up_earlier_feedback(
    tmp_path: Path, make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]]
) -> None:
    with Monitor(_config(make_config, model_dict), store=tmp_path / "s.duckdb") as mon:
        mon.log_feedbacks([_ev("late", "implicit", 1, action="accepted"), _ev("late", "outcome", 2, escalated=True)])
        assert _resolved(mon) == {}
        mon.log_prediction(prediction_id="late", prediction="account", confidence=0.9, timestamp=T0)
        assert _resolved(mon) == {"late": ("account", "implicit")}


def test_sql_parameters_line_up_with_placeholders(make_model: Callable[..., Any]) -> None:
    model = make_model(
        "routing",
        task="multiclass",
        labels=LABELS,
        features=[],
        ground_truth={"priority": ["outcome", "expert"], "implicit_accept_confirms": False},
    )
    sql, params = resolved_labels_sql(model)
    assert sql.count("?") == len(params)
    assert params == [False, "outcome", "expert", "routing"]


# ----------------------------------------------------------------------------------------- random events

PRIORITIES = [
    DEFAULT,
    ["explicit", "expert", "implicit", "outcome"],
    ["implicit", "outcome"],
    ["outcome", "implicit", "explicit", "expert"],
]


@pytest.mark.parametrize(("priority", "confirms"), list(itertools.product(range(len(PRIORITIES)), [True, False])))
def test_random_events_match_the_rule(
    tmp_path: Path, make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]], priority: int, confirms: bool
) -> None:
    rng = np.random.default_rng(100 + priority * 2 + confirms)
    order = PRIORITIES[priority]
    preds = {f"p{i:03d}": str(rng.choice(LABELS)) for i in range(150)}
    minutes = rng.permutation(100_000)  # distinct times: "latest" is never a tie
    events: list[dict[str, Any]] = []
    for pid in preds:
        for _ in range(int(rng.integers(0, 6))):
            kind = str(rng.choice(["expert", "explicit", "outcome", "implicit"]))
            ev = _ev(pid, kind, int(minutes[len(events)]))
            if kind == "expert":
                ev["label"] = str(rng.choice(LABELS))
            elif kind == "explicit":
                if rng.random() < 0.7:
                    ev["label"] = str(rng.choice(LABELS))
                else:
                    ev["rating"] = float(rng.integers(1, 6))
            elif kind == "outcome":
                if rng.random() < 0.5:
                    ev["label"] = str(rng.choice(LABELS))
                ev["csat"] = float(rng.integers(1, 6))
            else:
                ev["action"] = str(rng.choice(["accepted", "modified", "rejected"]))
            events.append(ev)
    # feedback for predictions that never arrive is simply unused
    events.append(_ev("ghost", "expert", 999_999, label="billing"))
    with Monitor(_config(make_config, model_dict, priority=order, confirms=confirms), store=tmp_path / "s.duckdb") as mon:
        # feedback first for half of the predictions, predictions first for the rest
        half = set(list(preds)[::2])
        mon.log_feedbacks([e for e in events if e["prediction_id"] in half or e["prediction_id"] == "ghost"], model="routing")
        _log(mon, preds, [e for e in events if e["prediction_id"] not in half and e["prediction_id"] != "ghost"])
        got = _resolved(mon)
    expected = _expected(preds, events, order, confirms)
    assert len(expected) > 30  # the draw exercises the rule
    sources = {source for _, source in expected.values()}
    assert sources <= set(order) and ("implicit" in sources) == confirms
    assert got == expected
