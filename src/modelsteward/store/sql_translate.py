"""One place that turns the package's SQL (DuckDB dialect) into PostgreSQL SQL.

The modules write their SQL once, for DuckDB, with ``?`` (or ``$1``) parameters. For a
PostgreSQL store each statement goes through :func:`to_postgres` once (the result is cached per
statement text): sqlglot's duckdb → postgres transpiler does the bulk (types, ``QUALIFY``,
``quantile_cont``, ``list_contains``, ``epoch``, typed division), and a few hand rules cover
what it leaves as DuckDB:

* parameters become PostgreSQL's numbered ``$n`` (sent to the server separately, never
  interpolated), so a literal ``%`` needs no escaping;
* ``json_extract_string`` / ``json_extract`` / ``json_keys`` on VARCHAR columns call small SQL
  functions the PostgreSQL store defines (:data:`COMPAT_FUNCTIONS`), which read DuckDB's
  ``$.key`` paths as SQL/JSON paths;
* ``ASOF LEFT JOIN ... ON a.v >= b.v`` becomes a ``LEFT JOIN LATERAL`` that takes the closest
  row below;
* ``USING SAMPLE reservoir(N ROWS) REPEATABLE (seed)`` becomes a seeded, repeatable choice of
  N rows (ordered by a hash of the row and the seed);
* ``CAST(x AS TINYINT)`` becomes ``CAST(x AS INT)`` (PostgreSQL casts a boolean to INT only);
* ``INSERT OR REPLACE`` becomes ``ON CONFLICT ON CONSTRAINT <table>_pkey DO UPDATE``;
* ``GROUP BY ALL`` / ``ORDER BY ALL`` become column positions;
* a derived table without a name gets one (``FROM (SELECT ...) AS _q0``);
* ``CREATE OR REPLACE TABLE`` becomes ``DROP TABLE IF EXISTS`` then ``CREATE TABLE``.

``read_parquet(?)``/``read_csv_auto(?)``, ``DESCRIBE`` and ``SELECT * EXCLUDE (...)`` (which
needs the columns of the source) are handled by the connection
(:class:`~modelsteward.store.postgres_conn.PgConnection`), which reads the file with DuckDB.

>>> to_postgres("SELECT count(*) FROM t WHERE ts >= ? AND name LIKE 'a%'")
"SELECT COUNT(*) FROM t WHERE ts >= $1 AND name LIKE 'a%'"
>>> to_postgres("CREATE TABLE x (v DOUBLE, s VARCHAR)")
'CREATE TABLE x (v DOUBLE PRECISION, s TEXT)'
"""

from __future__ import annotations

import functools
import re

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from modelsteward.errors import StoreError

__all__ = ["COMPAT_FUNCTIONS", "split_statements", "to_postgres"]

# DuckDB's JSON functions over VARCHAR, read with PostgreSQL's SQL/JSON paths (same `$.key`, `$."key"`),
# and DuckDB's float predicates.
COMPAT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION steward_json_text(doc TEXT, path TEXT) RETURNS TEXT
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT jsonb_path_query_first(doc::jsonb, path::jsonpath) #>> '{}' $f$;
CREATE OR REPLACE FUNCTION steward_json(doc TEXT, path TEXT) RETURNS TEXT
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT jsonb_path_query_first(doc::jsonb, path::jsonpath)::text $f$;
CREATE OR REPLACE FUNCTION steward_json_keys(doc TEXT) RETURNS TEXT[]
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT ARRAY(SELECT jsonb_object_keys(doc::jsonb)) $f$;
CREATE OR REPLACE FUNCTION isfinite(x DOUBLE PRECISION) RETURNS BOOLEAN
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT x NOT IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) $f$;
CREATE OR REPLACE FUNCTION is_nan(x DOUBLE PRECISION) RETURNS BOOLEAN
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT x = 'NaN'::float8 $f$;
CREATE OR REPLACE FUNCTION is_inf(x DOUBLE PRECISION) RETURNS BOOLEAN
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT x IN ('Infinity'::float8, '-Infinity'::float8) $f$;
CREATE OR REPLACE FUNCTION steward_json_array_length(doc TEXT) RETURNS BIGINT
  LANGUAGE SQL IMMUTABLE AS $f$ SELECT jsonb_array_length(doc::jsonb) $f$;
"""

_RENAMES = {  # DuckDB function -> the compat function defined above
    "json_extract_string": "steward_json_text",
    "json_extract": "steward_json",
    "json_keys": "steward_json_keys",
    "json_array_length": "steward_json_array_length",
}
_RENAME_RE = re.compile(r"\b(" + "|".join(_RENAMES) + r")\s*\(", re.IGNORECASE)


def _number_parameters(sql: str) -> str:
    """Give every ``?`` a number (``$1``, ``$2``, ... in the order written); refuse a mix of styles."""
    tokens = Tokenizer().tokenize(sql)
    marks = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    if not marks:
        return sql
    if any(t.token_type == TokenType.PARAMETER for t in tokens):
        raise StoreError(f"SQL mixes '?' and '$n' parameters: {sql[:200]!r}", hint="use one parameter style per statement")
    out, last = [], 0
    for n, tok in enumerate(marks, start=1):
        out.append(sql[last:tok.start])
        out.append(f"${n}")
        last = tok.end + 1
    out.append(sql[last:])
    return "".join(out)


def _parameters_as_dollar(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Placeholder) and node.this is not None:
        return exp.var(f"${node.this}")
    if isinstance(node, exp.Placeholder):
        raise StoreError("an unnumbered parameter survived translation", hint="this is a bug in sql_translate")
    return node


def _asof_to_lateral(node: exp.Expression) -> exp.Expression:
    """``a ASOF LEFT JOIN b ON a.v >= b.v`` -> ``a LEFT JOIN LATERAL (... ORDER BY b.v DESC LIMIT 1) b ON TRUE``."""
    if not (isinstance(node, exp.Join) and (node.args.get("method") or "").upper() == "ASOF"):
        return node
    on = node.args.get("on")
    right = node.this
    alias = right.alias_or_name
    if not isinstance(on, (exp.GTE, exp.GT)) or not isinstance(on.expression, exp.Column) or on.expression.table != alias:
        raise StoreError(f"cannot translate ASOF join condition {on.sql() if on else None!r} to PostgreSQL",
                         hint="write it as `left.v >= right.v`")
    inner = exp.select("*").from_(right.copy()).where(on.copy()).order_by(exp.Ordered(this=on.expression.copy(), desc=True)).limit(1)
    lateral = exp.Lateral(this=exp.Subquery(this=inner), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    return exp.Join(this=lateral, side=node.args.get("side"), on=exp.true())


def _insert_or_replace(node: exp.Expression) -> exp.Expression:
    """``INSERT OR REPLACE INTO t (cols) ...`` -> ``... ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET col = EXCLUDED.col``.

    The tables' keys are declared inline (``PRIMARY KEY``), so PostgreSQL names them ``<table>_pkey``.
    """
    if not isinstance(node, exp.Insert) or (node.args.get("alternative") or "").upper() != "REPLACE":
        return node
    target = node.this
    if not isinstance(target, exp.Schema) or not target.expressions:
        raise StoreError("INSERT OR REPLACE needs a column list to run on PostgreSQL", hint="name the columns")
    table = target.this.name
    sets = ", ".join(f"{c.sql(dialect='postgres')} = EXCLUDED.{c.sql(dialect='postgres')}" for c in target.expressions)
    node = node.copy()
    node.set("alternative", None)
    conflict = sqlglot.parse_one(f"INSERT INTO x VALUES (1) ON CONFLICT ON CONSTRAINT {table}_pkey DO UPDATE SET {sets}",
                                 read="postgres").args["conflict"]
    node.set("conflict", conflict)
    return node


def _group_order_all(node: exp.Expression) -> exp.Expression:
    """``GROUP BY ALL`` / ``ORDER BY ALL`` -> the positions of the non-aggregate (GROUP) or of all (ORDER) output columns."""
    if not isinstance(node, exp.Select):
        return node
    group, order = node.args.get("group"), node.args.get("order")
    if group is not None and group.args.get("all"):
        keys = [i + 1 for i, e in enumerate(node.expressions) if not e.find(exp.AggFunc, exp.Window)]
        node.set("group", exp.Group(expressions=[exp.Literal.number(i) for i in keys]) if keys else None)
    if order is not None and len(order.expressions) == 1 and isinstance(order.expressions[0].this, exp.Var) \
            and order.expressions[0].this.name.upper() == "ALL":
        desc = bool(order.expressions[0].args.get("desc"))
        node.set("order", exp.Order(expressions=[exp.Ordered(this=exp.Literal.number(i + 1), desc=desc)
                                                 for i in range(len(node.expressions))]))
    return node


def _small_int_casts(node: exp.Expression) -> exp.Expression:
    """``CAST(x AS TINYINT)`` (a boolean as 0/1, in DuckDB) -> ``CAST(x AS INT)``: PostgreSQL casts a boolean to INT only."""
    if isinstance(node, exp.Cast) and node.to.this in (exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.UTINYINT):
        return exp.Cast(this=node.this, to=exp.DataType.build("INT"))
    return node


def _alias_derived_tables(tree: exp.Expression) -> exp.Expression:
    """DuckDB takes ``FROM (SELECT ...)`` without a name; PostgreSQL (before 16) wants one."""
    for n, sub in enumerate(list(tree.find_all(exp.Subquery))):
        if isinstance(sub.parent, (exp.From, exp.Join)) and not sub.alias:
            sub.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{n}")))
    return tree


def _sample_to_ordered_limit(node: exp.Expression) -> exp.Expression:
    """``SELECT ... USING SAMPLE reservoir(N ROWS) REPEATABLE (s)`` -> N rows chosen by a seeded hash."""
    if not isinstance(node, exp.Select) or node.args.get("sample") is None:
        return node
    sample = node.args["sample"]
    size = sample.args.get("size") or sample.args.get("rows")
    seed = sample.args.get("seed")
    inner = node.copy()
    inner.set("sample", None)
    salt = exp.Literal.string(str(seed.name if seed else "0"))
    key = exp.func("md5", exp.DPipe(this=exp.cast(exp.column("_sample"), "text"), expression=salt))
    derived = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_sample")))
    return exp.select("*").from_(derived).order_by(key).limit(size.copy())


def split_statements(sql: str) -> list[str]:
    """Split a script (a migration file) into its statements, each translated."""
    return [to_postgres(s.sql(dialect="duckdb")) for s in sqlglot.parse(sql, read="duckdb") if s is not None]


@functools.lru_cache(maxsize=4096)
def to_postgres(sql: str) -> str:
    """Translate one DuckDB statement (``?`` or ``$n`` parameters) into PostgreSQL with ``$n`` parameters."""
    source = _RENAME_RE.sub(lambda m: _RENAMES[m.group(1).lower()] + "(", _number_parameters(sql))
    try:
        tree = sqlglot.parse_one(source, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise StoreError(f"cannot translate SQL for PostgreSQL: {exc}", hint=f"statement: {sql[:300]}") from None
    tree = (tree.transform(_asof_to_lateral).transform(_sample_to_ordered_limit).transform(_small_int_casts).transform(_group_order_all)
            .transform(_insert_or_replace).transform(_parameters_as_dollar))
    tree = _alias_derived_tables(tree)
    if isinstance(tree, exp.Create) and tree.args.get("replace") and (tree.args.get("kind") or "").upper() == "TABLE":
        # PostgreSQL has no CREATE OR REPLACE TABLE: drop, then create (one script, run as one unit)
        tree.set("replace", False)
        return f"DROP TABLE IF EXISTS {tree.this.this.sql(dialect='postgres')}; {tree.sql(dialect='postgres')}"
    return tree.sql(dialect="postgres")
