"""Fixtures: the course lab as steward.yaml (the template, with changes) over a store in tmp_path,
and a small daily model whose accuracy a test sets day by day."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from modelsteward.config import StewardConfig
from modelsteward.lab import lab_draws, lab_events
from modelsteward.monitor import Monitor


def template() -> dict[str, Any]:
    text = (resources.files("modelsteward") / "templates" / "steward.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def write_lab(folder: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Write the template (after ``change(model_dict)``) and the lab's training data into ``folder``."""
    doc = template()
    if change is not None:
        change(doc["models"][0])
    (folder / "steward.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    pq.write_table(pa.table(lab_events(lab_draws()).training), folder / "training.parquet")
    return folder / "steward.yaml"


@pytest.fixture
def lab_folder(tmp_path: Path) -> Callable[..., Path]:
    """``lab_folder(change)``: :func:`write_lab` into ``tmp_path``."""
    return lambda change=None: write_lab(tmp_path, change)


@pytest.fixture
def opened() -> Iterator[list[Monitor]]:
    mons: list[Monitor] = []
    yield mons
    for m in mons:
        m.close()


DAY0 = datetime(2026, 3, 2)  # a Monday


def daily_config(retraining: dict[str, Any], **model: Any) -> StewardConfig:
    return StewardConfig.model_validate({"models": [{
        "name": "tickets", "task": "binary", "labels": ["urgent", "routine"], "window": "day",
        "features": [{"name": "category", "type": "categorical"}], "retraining": retraining, **model}]})


def log_days(mon: Monitor, accuracy: list[float], *, per_day: int = 10, start: datetime = DAY0) -> None:
    """``per_day`` predictions a day; a share ``accuracy[d]`` of them right; every one labelled
    explicitly one minute after it was made."""
    preds, fbs = [], []
    for d, acc in enumerate(accuracy):
        right = round(acc * per_day)
        for i in range(per_day):
            ts = start + timedelta(days=d, hours=1 + i)
            pid = f"d{d}-{i}"
            preds.append({"prediction_id": pid, "timestamp": ts, "prediction": "urgent", "confidence": 0.9,
                          "features": {"category": "technical"}})
            fbs.append({"prediction_id": pid, "kind": "explicit", "label": "urgent" if i < right else "routine",
                        "timestamp": ts + timedelta(minutes=1)})
    mon.log_predictions(preds)
    mon.log_feedbacks(fbs)
