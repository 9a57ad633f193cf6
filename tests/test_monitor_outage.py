"""A window with no prediction at all is a window with volume 0, and volume rules see it."""

from datetime import datetime, timedelta

from modelsteward import Monitor, StewardConfig

START = datetime(2026, 1, 5)


def test_an_outage_day_has_volume_zero_and_fires_the_volume_rule(tmp_path):
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"], "window": "day",
        "alerts": [{"name": "volume_low", "metric": "volume", "condition": {"kind": "outside_band", "lower": 0.5, "upper": 2.0},
                    "baseline": "trailing", "trailing_windows": 2, "severity": "low"}]}]})
    with Monitor(cfg, store=tmp_path / "s.duckdb") as mon:
        rows = []
        for day in (0, 1, 3):  # nothing at all on day 2
            rows += [{"prediction_id": f"d{day}-{i}", "prediction": "y", "confidence": 0.9,
                      "timestamp": START + timedelta(days=day, minutes=i)} for i in range(10)]
        mon.log_predictions(rows)
        report = mon.check(until=START + timedelta(days=4))
        assert report.windows == [START + timedelta(days=d) for d in range(4)]
        volumes = [m["volume"] for _, _, m in mon.metric_history()]
        assert volumes == [10, 10, 0, 10]
        fired = [a["window_start"] for a in mon.alerts()]
        assert fired == [START + timedelta(days=2)]  # 0 < 0.5 x 10; day 3: 10 is inside [0.5, 2] x median(10, 0)=5 -> [2.5, 10]
        # Nothing new: nothing due, even the empty window is not recomputed.
        assert mon.check(until=START + timedelta(days=4)).windows == []


def test_check_reports_progress_window_by_window(tmp_path):
    cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["y", "n"], "window": "day"}]})
    with Monitor(cfg, store=tmp_path / "s.duckdb") as mon:
        mon.log_predictions([{"prediction_id": f"p{d}", "prediction": "y", "confidence": 0.9,
                              "timestamp": START + timedelta(days=d)} for d in range(3)])
        calls = []
        report = mon.check(until=START + timedelta(days=3), progress=lambda done, total: calls.append((done, total)))
        assert calls == [(1, 3), (2, 3), (3, 3)] and len(report.windows) == 3
