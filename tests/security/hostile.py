"""A store whose every user-supplied text is hostile markup, for the rendering tests.

Each payload, if it ever became markup, would leave a trace the tests look for: an attribute
``data-pwn``, an ``on*`` event handler, a ``javascript:`` link, or a ``<script>`` element with a
body. Unicode tricks ride along (right-to-left override, zero-width joiner, a full-width ``<``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor
from modelsteward.server import auth

MODEL = "tickets"
SCRIPT = "<script>window.__pwn=1</script>"
IMG = '"><img data-pwn=1 src=x onerror=alert(1)>'
JS_URL = "javascript:alert(document.cookie)"
TEXTAREA = "</textarea><b data-pwn=2>t</b>"
SVG = "'><svg data-pwn=3 onload=alert(3)>"
UNICODE = "\u202e<i data-pwn=4>gnp.exe\u200d\uff1cscript\uff1e"
CHAT = "<!channel> <@U024BE7LH> <http://evil.example|click here> &amp;"
PAYLOADS = [SCRIPT, IMG, JS_URL, TEXTAREA, SVG, UNICODE, CHAT]
LABELS = [f"urgent{IMG}", "routine"]
USER = f"eve{SVG}"
PASSWORD = "eve's long enough password"
T0 = datetime(2026, 1, 5)  # a Monday


def config(folder: Path) -> StewardConfig:
    return StewardConfig.model_validate(config_dict(folder))


def config_dict(folder: Path) -> dict[str, Any]:
    return {"store": str(folder / "steward.duckdb"), "models": [{
        "name": MODEL, "task": "binary", "labels": LABELS, "positive_label": LABELS[0], "window": "week",
        "owner": f"team{SCRIPT}",
        "features": [{"name": "category", "type": "categorical", "description": f"the category {TEXTAREA}"},
                     {"name": "length", "type": "numeric"}],
        "reference": {"file": str(folder / "training.parquet")},
        "drift": {"min_samples": 20},
        "alerts": [{"name": "acc", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "severity": "high",
                    "response_sla": "1h", "action": f"page {SCRIPT} {CHAT}", "runbook": JS_URL, "owner": f"oncall{IMG}",
                    "labels": {"team": f"support{SVG}", "note": CHAT}}],
        "review": {"conditions": [{"kind": "confidence_below", "threshold": 0.7}], "lease": "30m"},
    }]}


def build(folder: Path) -> tuple[StewardConfig, Path, dict[str, str]]:
    """Fill a store with hostile text everywhere it can go; returns config, store and the ids made."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 200
    pq.write_table(pa.table({"category": [["web", "mail", SCRIPT][i % 3] for i in range(n)], "length": [float(i % 50) for i in range(n)],
                             "prediction": [LABELS[i % 2] for i in range(n)], "confidence": [0.9] * n,
                             "label": [LABELS[i % 2] for i in range(n)]}), folder / "training.parquet")
    cfg = config(folder)
    store = folder / "steward.duckdb"
    ids: dict[str, str] = {}
    with Monitor(cfg, store=store) as mon:
        for week in range(3):
            preds, fb = [], []
            for i in range(60):
                pid = f"w{week}-{i}"
                category = PAYLOADS[i % len(PAYLOADS)] if week == 2 else ["web", "mail"][i % 2]
                preds.append({"prediction_id": pid, "prediction": LABELS[i % 2], "confidence": 0.55 if i < len(PAYLOADS) else 0.9,
                              "features": {"category": category, "length": float(i)}, "model_version": f"v{week}{UNICODE}",
                              "timestamp": T0 + timedelta(weeks=week, minutes=7 * i), "latency_ms": 10.0,
                              "error": SCRIPT if i == 59 else None})
                fb.append({"prediction_id": pid, "kind": "explicit", "label": LABELS[(i + (week == 2)) % 2],
                           "comment": TEXTAREA, "timestamp": T0 + timedelta(weeks=week, minutes=7 * i + 1)})
            mon.log_predictions(preds)
            mon.log_feedbacks(fb)
            mon.check(until=T0 + timedelta(weeks=week + 1))
        routed = [mon.route(f"w2-{i}", routed_at=T0 + timedelta(weeks=3)).item_id for i in range(len(PAYLOADS))]
        queue = mon.review_queue(MODEL)
        auth.create_user(mon.store, USER, "admin", PASSWORD)
        auth.create_token(mon.store, name=f"bot{IMG}{CHAT}", scopes=["read"])
        queue.claim(USER, item_id=routed[0])
        queue.decide(routed[0], USER, "correct", label=LABELS[1], comment=f"{SCRIPT}{TEXTAREA}")
        queue.claim(USER, item_id=routed[1])  # held: its page shows the decision form with hostile labels
        incidents = mon.alerting.incidents(model=MODEL)
        assert incidents, "the scenario must open an incident"
        inc = incidents[0]["incident_id"]
        now = T0 + timedelta(weeks=3, hours=1)
        mon.alerting.acknowledge(inc, by=USER, now=now, comment=f"ack {IMG}")
        mon.alerting.silence([f"model={MODEL}", "rule=acc"], starts_at=now, ends_at=now + timedelta(days=365 * 5),
                             created_by=USER, comment=f"mute {SVG} {JS_URL}", now=now)
        ids.update(incident=inc, item=routed[0], held=routed[1], pending=routed[2])
        ids.update({f"routed{i}": r for i, r in enumerate(routed) if i > 2})
    return cfg, store, ids
