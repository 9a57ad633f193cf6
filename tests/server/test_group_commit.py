"""The group writer: each request in a group learns whether its id was stored before, from a real store."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import duckdb

from modelsteward.errors import ConflictError
from modelsteward.monitor import Monitor
from modelsteward.server.group_commit import GroupWriter


def _rec(i: int, confidence: float = 0.9) -> dict[str, Any]:
    return {"prediction_id": f"p{i}", "prediction": "billing", "confidence": confidence,
            "features": {"category": "web", "length": float(i)}}


def _stored(store: Path) -> dict[str, float]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return dict(con.execute("SELECT prediction_id, confidence FROM predictions__tickets").fetchall())
    finally:
        con.close()


def test_a_group_mixing_new_ids_earlier_ids_and_copies_answers_each(config_file: Path, store_path: Path) -> None:
    with Monitor(config_file) as mon:
        mon.log_predictions([_rec(1), _rec(2)], model="tickets")
        writer = GroupWriter(mon, threading.Lock())
        group = [_rec(3), _rec(1), _rec(4), _rec(3), _rec(2), _rec(5)]
        answers = writer._write_group("tickets", group)
        # by hand: p1, p2 were stored before; the second p3 is a copy of the first
        assert answers == [False, True, False, True, True, False]
        assert writer._write_group("tickets", [_rec(3), _rec(4)]) == [True, True]  # all stored: nothing inserted
        assert writer._write_group("tickets", [_rec(6), _rec(6)]) == [False, True]
    assert sorted(_stored(store_path)) == [f"p{i}" for i in range(1, 7)]


def test_a_bad_row_in_a_group_fails_alone(config_file: Path, store_path: Path) -> None:
    with Monitor(config_file) as mon:
        mon.log_predictions([_rec(1)], model="tickets")
        writer = GroupWriter(mon, threading.Lock())
        answers = writer._write_group("tickets", [_rec(7), _rec(1, confidence=0.5), _rec(8)])
        assert answers[0] is False and answers[2] is False
        assert isinstance(answers[1], ConflictError)  # same id, other content
    assert _stored(store_path) == {"p1": 0.9, "p7": 0.9, "p8": 0.9}


def test_concurrent_writes_share_groups_and_are_stored_once(config_file: Path, store_path: Path) -> None:
    async def run(mon: Monitor) -> list[bool]:
        writer = GroupWriter(mon, threading.Lock())
        recs = [_rec(i) for i in range(40)] + [_rec(i) for i in range(0, 40, 4)]
        return list(await asyncio.gather(*(writer.write("tickets", r) for r in recs)))

    with Monitor(config_file) as mon:
        answers = asyncio.run(run(mon))
    assert answers[:40] == [False] * 40 and answers[40:] == [True] * 10
    assert len(_stored(store_path)) == 40
