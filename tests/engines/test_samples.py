"""Seeded bottom-k samples: the same rows on every engine, and a uniform random sample without replacement.

The expected rows are computed in Python with :mod:`hashlib` (md5 of ``"seed:key"``, the first 13
hex digits as the rank), independently of the engines' SQL; every engine must return exactly them.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any

import dataset as D
import numpy as np
import pyarrow as pa
import pytest
from engine_cases import make_engine
from scipy import stats

from modelsteward.config import ModelConfig
from modelsteward.drift.joint_window import JointDrift
from modelsteward.engines.connect import Engine
from modelsteward.engines.samples import prefixes_for, sample_arrow


def _rank(text: str) -> tuple[int, str]:
    digest = hashlib.md5(text.encode()).hexdigest()
    return int(digest[:13], 16), digest


def bottom_k(keys: list[str], k: int, seed: int) -> list[str]:
    """The k keys of smallest md5 rank under ``seed``, in rank order (the definition, in plain Python)."""
    return sorted(keys, key=lambda key: _rank(f"{seed}:{key}"))[:k]


def _week_ids(start: Any) -> list[str]:
    return [f"{start:%Y%m%d}-{i}" for i in range(D.N_WEEK)]  # the dataset's prediction ids (dataset.week_rows)


def _window(engine: Engine, mon: Any) -> Any:
    events = engine.events(mon.model())
    return events.filter((events.ts >= D.WEEK2) & (events.ts < D.WEEK2 + timedelta(weeks=1)))


@pytest.mark.parametrize("seed", [0, 7, 123456])
def test_the_same_seed_takes_the_same_predictions_on_every_engine(engine_and_monitor: tuple[Engine, Any], seed: int) -> None:
    engine, mon = engine_and_monitor
    got = sample_arrow(engine, _window(engine, mon), 150, seed=seed, columns=["prediction_id"])
    assert got.column("prediction_id").to_pylist() == bottom_k(_week_ids(D.WEEK2), 150, seed)


def test_a_window_smaller_than_the_sample_is_taken_whole(engine_and_monitor: tuple[Engine, Any]) -> None:
    engine, mon = engine_and_monitor
    got = sample_arrow(engine, _window(engine, mon), 5000, seed=3, columns=["prediction_id"])
    assert got.column("prediction_id").to_pylist() == bottom_k(_week_ids(D.WEEK2), 5000, 3)


def _multivariate_model(mon: Any, rows: int = 300) -> ModelConfig:
    data = mon.model().model_dump(by_alias=True)
    data["diagnosis"] = {"multivariate": {"enabled": True, "sample_rows": rows, "seed": 5}}
    return ModelConfig.model_validate(data)


def test_the_multivariate_window_sample_is_the_same_rows_on_every_engine(engine_and_monitor: tuple[Engine, Any]) -> None:
    engine, mon = engine_and_monitor
    model = _multivariate_model(mon)
    got = JointDrift(mon.store, model, engine=engine).window_sample(D.WEEK2, D.WEEK2 + timedelta(weeks=1))
    # the same rows, read from the dataset itself
    preds, _ = D.week_rows(D.WEEK2, drifted=True, seed=12)
    by_id = {p["prediction_id"]: p["features"] for p in preds}
    chosen = bottom_k(_week_ids(D.WEEK2), 300, 5)
    want_x = np.array([by_id[i].get("x", np.nan) for i in chosen], dtype=float)
    np.testing.assert_array_equal(got["x"], want_x)
    assert got["category"].tolist() == [by_id[i].get("category") for i in chosen]


def _content_text(x: float | None, category: str | None) -> str:
    number = math.floor(min(max(x, -1e11), 1e11) * 1e6) if x is not None else 0
    return f"{number}|{category if category is not None else '<null>'}"


@pytest.mark.parametrize("kind", ["duckdb-store", "postgres"])
def test_the_reference_sample_is_the_same_rows_on_both_stores(kind: str, request: pytest.FixtureRequest) -> None:
    engine, mon = make_engine(kind, request)
    model = _multivariate_model(mon, rows=400)
    got = JointDrift(mon.store, model).reference_sample()
    # the reference table holds the file's rows (x rounded to 3 places): key them by content in Python
    import pyarrow.parquet as pq

    ref = pq.read_table(mon.model().reference.file).to_pylist()
    rows = [(r["x"], r["category"]) for r in ref]
    keyed: list[tuple[str, tuple[Any, Any]]] = []
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for row in rows:
        groups.setdefault(_content_text(*row), []).append(row)
    for text, members in groups.items():
        members.sort(key=lambda r: (r[0] is None, r[0] if r[0] is not None else 0.0))
        keyed += [(f"{text}#{i}", r) for i, r in enumerate(members)]
    ranked = sorted(keyed, key=lambda kr: _rank(f"5:{kr[0]}"))[:400]
    np.testing.assert_array_equal(got["x"], np.array([r[0] for _, r in ranked], dtype=float))
    assert got["category"].tolist() == [r[1] for _, r in ranked]


def test_the_text_of_an_attribute_is_read_alike_on_every_engine(engine_and_monitor: tuple[Engine, Any]) -> None:
    import json

    from modelsteward.engines.samples import json_text

    engine, _ = engine_and_monitor
    ids = [f"t{i}" for i in range(300)]
    docs = [json.dumps({"body": f"ticket {i} about {'billing' if i % 3 else 'outage'}", "n": i}) if i % 7 else None for i in range(300)]
    table = engine.upload(pa.table({"prediction_id": ids, "attributes": docs}))
    texts = table.select("prediction_id", t=json_text(engine.kind, table.attributes, "body"))
    texts = texts.filter(texts.t.notnull())
    got = sample_arrow(engine, texts, 40, seed=9, columns=["prediction_id", "t"])
    present = [i for i, d in zip(ids, docs, strict=True) if d is not None]
    want = bottom_k(present, 40, 9)
    assert got.column("prediction_id").to_pylist() == want
    assert got.column("t").to_pylist() == [json.loads(docs[int(i[1:])])["body"] for i in want]


# -- uniformity (DuckDB in memory: the rank is the same expression on every engine) ---------------

@pytest.fixture(scope="module")
def duck() -> Engine:
    import ibis

    return Engine("duckdb", ibis.duckdb.connect())


def test_every_row_is_included_with_probability_k_over_n(duck: Engine) -> None:
    import ibis

    from modelsteward.engines.samples import md5_hex, sample_rank

    n, k, seeds = 40, 10, 400
    # every seed's bottom-k in one query, with the module's own hash and rank expressions
    grid = duck.upload(pa.table({"seed": [str(s) for s in range(seeds) for _ in range(n)],
                                 "prediction_id": [f"row-{i}" for _ in range(seeds) for i in range(n)]}))
    hashed = grid.mutate(d=md5_hex(grid.seed + ibis.literal(":") + grid.prediction_id))
    ranked = hashed.mutate(r=sample_rank(hashed.d))
    ranked = ranked.mutate(pos=ibis.row_number().over(ibis.window(group_by="seed", order_by=["r", "d"])))
    picked = duck.arrow(ranked.filter(ranked.pos < k).select("seed", "prediction_id")).to_pylist()
    table = duck.upload(pa.table({"prediction_id": [f"row-{i}" for i in range(n)]}))
    for seed in (0, 1, 399):  # the same rows as the sample itself takes
        assert {r["prediction_id"] for r in picked if r["seed"] == str(seed)} == \
            set(sample_arrow(duck, table, k, seed=seed, columns=["prediction_id"]).column("prediction_id").to_pylist())
    counts = dict.fromkeys(range(n), 0)
    per_seed: dict[str, set[str]] = {}
    for r in picked:
        counts[int(r["prediction_id"].split("-")[1])] += 1
        per_seed.setdefault(r["seed"], set()).add(r["prediction_id"])
    assert {len(v) for v in per_seed.values()} == {k} and len(per_seed) == seeds  # without replacement
    # each count ~ Binomial(seeds, k/n); two-sided bound with a Bonferroni correction over the rows
    lo, hi = stats.binom.ppf([0.0005 / n, 1 - 0.0005 / n], seeds, k / n)
    assert all(lo <= c <= hi for c in counts.values()), counts
    # and the counts are not too even either (a round-robin would pass the bound): their spread is binomial
    var = np.var(list(counts.values()), ddof=1)
    expected = seeds * (k / n) * (1 - k / n) * n / (n - 1)  # the counts sum to seeds*k: exchangeable, slightly negatively correlated
    chi = (n - 1) * var / expected
    assert stats.chi2.ppf(0.0005, n - 1) < chi < stats.chi2.ppf(0.9995, n - 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sample_matches_the_population_by_chi_square_and_ks(duck: Engine, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, k = 20_000, 3_000
    cats = rng.choice(list("abcdef"), n, p=[0.4, 0.25, 0.15, 0.1, 0.07, 0.03])
    x = rng.lognormal(0.0, 1.0, n)
    table = duck.upload(pa.table({"prediction_id": [f"p{i}" for i in range(n)], "c": cats, "x": x}))
    got = sample_arrow(duck, table, k, seed=seed, columns=["c", "x"])
    sampled = np.array(got.column("c").to_pylist())
    levels = sorted(set(cats))
    observed = [int((sampled == c).sum()) for c in levels]
    expected = [k * float((cats == c).mean()) for c in levels]
    assert stats.chisquare(observed, expected).pvalue > 0.001
    assert stats.ks_2samp(np.array(got.column("x").to_pylist()), x).pvalue > 0.001


def test_duplicated_rows_keyed_by_content_are_not_taken_as_blocks(duck: Engine) -> None:
    # 40 distinct texts, each repeated 50 times: a sample keyed by the text alone would take or
    # leave all 50 copies together, and the counts per text would be 0 or 50.
    texts = [f"ticket kind {i % 40}" for i in range(2000)]
    table = duck.upload(pa.table({"t": texts}))
    got = sample_arrow(duck, table, 400, seed=4, key=None, columns=["t"]).column("t").to_pylist()
    assert len(got) == 400
    observed = [got.count(f"ticket kind {i}") for i in range(40)]
    # without replacement from 40 groups of 50: each count is hypergeometric (2000, 50, 400), mean 10
    assert max(observed) < stats.hypergeom.ppf(1 - 0.0005 / 40, 2000, 50, 400) + 1
    assert stats.chisquare(observed, [10.0] * 40).pvalue > 0.001


def test_the_prefix_filter_never_changes_the_sample(duck: Engine) -> None:
    n = 60_000
    table = duck.upload(pa.table({"prediction_id": [f"id{i}" for i in range(n)]}))
    assert prefixes_for(500, n) is not None  # the filter is in use at this size
    got = sample_arrow(duck, table, 500, seed=11, columns=["prediction_id"]).column("prediction_id").to_pylist()
    assert got == bottom_k([f"id{i}" for i in range(n)], 500, 11)
