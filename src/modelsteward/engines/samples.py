"""Seeded samples that pick the same rows on every engine (DuckDB, PostgreSQL, Spark), written once in Ibis.

The method is a **bottom-k sample** (Cohen & Kaplan's bottom-k sketch; Rosén's order sampling
with uniform ranks): every row gets a rank ``md5(seed ":" key)`` and the ``k`` rows of smallest
rank are kept. With a hash whose values behave as independent uniform draws this is a simple
random sample without replacement: every ``k``-subset of the rows is equally likely, and a row
is included with probability ``k / N``. The rank depends on the seed and the row's key only,
never on where the row lies in a file or a partition, so the same seed gives the same rows on
every engine and in every physical order (DuckDB's ``USING SAMPLE reservoir(...) REPEATABLE``
depends on the order of its threads' chunks and exists only in DuckDB).

* the hash: ``md5`` of a string, a built-in of DuckDB, PostgreSQL and Spark that returns the
  same 32 lower-case hex digits on all three (Ibis 12 compiles ``hexdigest`` on DuckDB and
  Spark but not on PostgreSQL, so it is called as a built-in function);
* the rank: the first 13 hex digits read as an integer (52 bits: exact in int64 and float64),
  each digit's value found by its position in ``"0123456789abcdef"`` (``strpos``/``position``
  /``locate``), so no engine-specific hex parsing is involved; ties (one pair in ~10^15 at a
  million rows) are broken by the whole digest.
* the key: a unique column (``prediction_id`` for logged predictions) or, for tables without
  one (the stored reference, a reference file), the row's content with its number among
  identical rows (:func:`keyed_by_content`): identical rows cannot be told apart, so which copy is
  taken does not matter, and each copy still gets a rank of its own.

>>> import ibis
>>> con = ibis.duckdb.connect()
>>> t = ibis.memtable({"prediction_id": [f"p{i}" for i in range(1000)]})
>>> picked = sorted(con.to_pyarrow(seeded_sample(t, 5, seed=7))["prediction_id"].to_pylist())
>>> len(picked), picked == sorted(con.to_pyarrow(seeded_sample(t, 5, seed=7))["prediction_id"].to_pylist())
(5, True)
>>> import hashlib
>>> ranks = sorted((int(hashlib.md5(f"7:p{i}".encode()).hexdigest()[:13], 16), f"p{i}") for i in range(1000))
>>> picked == sorted(p for _, p in ranks[:5])  # the same rows as Python's md5 picks
True
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

__all__ = [
    "RANK_BITS", "content_text", "json_text", "keyed_by_content", "md5_hex", "prefixes_for", "sample_arrow", "sample_digest",
    "sample_rank", "seeded_sample",
]

RANK_BITS = 52  # 13 hex digits: exact in int64 and float64 on every engine
_DIGITS = "0123456789abcdef"
_BUCKETS = 16**3  # digest prefixes of 3 hex digits (prefixes_for)
_UDFS: dict[str, Any] = {}


def _ibis() -> Any:
    import ibis

    return ibis


def _builtin(name: str, sig: str) -> Any:
    """A built-in SQL function as an Ibis expression builder (compiled by name on every SQL engine)."""
    key = f"{name}:{sig}"
    if key not in _UDFS:
        ibis = _ibis()
        if sig == "s->s":
            @ibis.udf.scalar.builtin(name=name)
            def fn(value: str) -> str:  # type: ignore[empty-body]
                ...
        else:
            @ibis.udf.scalar.builtin(name=name)
            def fn(value: str, path: str) -> str:  # type: ignore[empty-body]
                ...
        _UDFS[key] = fn
    return _UDFS[key]


def md5_hex(value: Any) -> Any:
    """``md5(value)`` as 32 lower-case hex digits (DuckDB, PostgreSQL and Spark all have it built in)."""
    return _builtin("md5", "s->s")(value)


def sample_digest(key: Any, seed: int) -> Any:
    """``md5(f"{seed}:{key}")`` of a string key, as hex digits."""
    return md5_hex(_ibis().literal(f"{int(seed)}:") + key)


def sample_rank(digest: Any) -> Any:
    """The rank of a digest: ``int(digest[:13], 16)``, the same on every engine.

    Give it a column holding the digest (not the ``md5`` expression itself): the SQL engines
    would otherwise compute the hash once per digit.
    """
    ibis = _ibis()
    digits = ibis.literal(_DIGITS)
    # In double precision: every partial value is an integer below 2**52, so exact; PostgreSQL's
    # ``position`` is a 32-bit integer, which Ibis (typing ``find`` as int64) would not widen.
    rank: Any = ibis.literal(0.0, "float64")
    for i in range(RANK_BITS // 4):
        rank = rank * 16.0 + digits.find(digest.substr(i, 1)).cast("float64")
    return rank.cast("int64")


def content_text(table: Any, columns: list[str]) -> Any:
    """A text of the row's content, the same on every engine.

    The numbers enter as one integer, the sum of ``floor(x * 1e6)`` (engines print doubles
    differently, ``2.0`` against ``2``, but agree on integer arithmetic; casting each number to
    text would cost several times the hash), then the other columns as text, ``<null>`` when
    missing. Rows with different content may share the text; :func:`keyed_by_content` tells
    them apart by their numbers' order.
    """
    ibis = _ibis()
    parts: list[Any] = []
    numbers = [table[c] for c in columns if table[c].type().is_numeric()]
    if numbers:
        total: Any = ibis.literal(0, "int64")
        for col in numbers:
            scaled = (col.cast("float64").clip(-1e11, 1e11) * 1e6).floor().cast("int64")
            total = total + ibis.coalesce(scaled, ibis.literal(0, "int64"))
        parts.append(total.cast("string"))
    for c in columns:
        if not table[c].type().is_numeric():
            parts.append(ibis.coalesce(table[c].cast("string"), ibis.literal("<null>")))
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + ibis.literal("|") + p
    return joined


def keyed_by_content(table: Any, columns: list[str]) -> Any:
    """``table``'s ``columns`` and ``_sample_key``: the content text and the row's number among rows of the same text.

    Rows of the same text are numbered in the order of their numbers (doubles sort alike on
    every engine, missing last), so the key does not depend on where a row lies. Rows that
    still tie are identical in every number and every text column, so which copy gets which
    number does not matter; each copy gets a key (and a rank) of its own, so a duplicated row
    is not taken or left as a block.
    """
    ibis = _ibis()
    texts = table.select(*columns, _sample_text=content_text(table, columns))
    order = [texts[c].asc(nulls_first=False) for c in columns if texts[c].type().is_numeric()]
    copy = ibis.row_number().over(ibis.window(group_by=texts._sample_text, order_by=order or None))
    return texts.select(*columns, _sample_key=texts._sample_text + ibis.literal("#") + copy.cast("string"))


def prefixes_for(n: int, total: int) -> list[str] | None:
    """The smallest 3-hex-digit digest prefixes that hold, in expectation, comfortably more than ``n`` of ``total`` rows.

    The ``n`` rows of smallest rank all have digests starting with one of these whenever at
    least ``n`` rows do (a smaller prefix means a smaller rank), so filtering on them first
    changes nothing but the work: the rank is computed for about ``n`` rows, not ``total``.
    The expected count is ``n + 5 sqrt(n) + 64``, so a second, unfiltered run (when fewer than
    ``n`` rows pass) happens about once in three million samples. None when no filter helps.

    >>> prefixes_for(5000, 1_000_000)[:3], len(prefixes_for(5000, 1_000_000))
    (['000', '001', '002'], 23)
    >>> prefixes_for(5000, 8000) is None
    True
    """
    want = n + 5 * n ** 0.5 + 64
    m = int(-(-want * _BUCKETS // max(total, 1)))
    if m >= _BUCKETS // 2:
        return None
    return [f"{i:03x}" for i in range(m)]


def seeded_sample(table: Any, n: int, *, seed: int, key: str | None = "prediction_id", columns: list[str] | None = None,
                  prefixes: list[str] | None = None) -> Any:
    """The ``n`` rows of ``table`` of smallest rank under ``seed`` (all rows when it has fewer): a bottom-k sample.

    ``key`` names a unique string column; with ``key=None`` the rows are keyed by their content
    (``columns``, default all, :func:`keyed_by_content`). The result has the table's columns (or
    ``columns``) and ``_sample_rank`` and ``_sample_digest``, in no guaranteed order (:func:`sample_arrow`
    returns them in rank order). ``prefixes`` (:func:`prefixes_for`) keeps only the rows whose
    digest starts with one of them before ranking.
    """
    cols = list(columns or table.columns)
    keyed = keyed_by_content(table, cols) if key is None else table.select(*cols, _sample_key=table[key].cast("string"))
    hashed = keyed.select(*cols, _sample_digest=sample_digest(keyed._sample_key, seed))
    if prefixes:
        hashed = hashed.filter(hashed._sample_digest.substr(0, 3).isin(prefixes))
    ranked = hashed.mutate(_sample_rank=sample_rank(hashed._sample_digest))
    return ranked.order_by(["_sample_rank", "_sample_digest"]).limit(int(n))


def sample_arrow(engine: Any, table: Any, n: int, *, seed: int, key: str | None = "prediction_id",
                 columns: list[str] | None = None) -> pa.Table:
    """Run :func:`seeded_sample` on an :class:`~modelsteward.engines.connect.Engine`: the rows in rank order, as Arrow.

    The rows are counted first, so that only the digests of about ``n`` rows are ranked
    (:func:`prefixes_for`). Rank order is the same on every engine (SQL engines need not keep a
    subquery's order), so code that depends on the order of the rows (cross-validation folds)
    sees the same rows in the same order wherever they came from.
    """
    total = int(engine.rows(table.aggregate(n=table.count()))[0]["n"] or 0)
    prefixes = prefixes_for(n, total)
    got = engine.arrow(seeded_sample(table, n, seed=seed, key=key, columns=columns, prefixes=prefixes))
    if prefixes is not None and got.num_rows < min(n, total):  # too few rows under the prefixes (rare): rank them all
        got = engine.arrow(seeded_sample(table, n, seed=seed, key=key, columns=columns))
    got = got.sort_by([("_sample_rank", "ascending"), ("_sample_digest", "ascending")])
    return got.drop_columns(["_sample_rank", "_sample_digest"])


def json_text(engine_kind: str, column: Any, key: str) -> Any:
    """The value of ``key`` in a JSON object held as text (a string as itself, other values as JSON), per engine.

    ``key`` must be a validated attribute key (letters, digits, ``_ . -``): it is part of the path.
    """
    ibis = _ibis()
    if engine_kind == "spark":
        return _builtin("get_json_object", "ss->s")(column, ibis.literal(f"$['{key}']"))
    name = "steward_json_text" if engine_kind == "postgres" else "json_extract_string"
    return _builtin(name, "ss->s")(column, ibis.literal(f'$."{key}"'))
