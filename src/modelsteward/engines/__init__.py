"""The window aggregations written once (Ibis) and the engines that run them: DuckDB, PostgreSQL, Spark.

:mod:`~modelsteward.engines.aggregates` holds the expressions; :mod:`~modelsteward.engines.connect`
gives an :class:`~modelsteward.engines.connect.Engine` (chosen by the ``engine:`` section of
``steward.yaml``); :mod:`~modelsteward.engines.metrics` and :mod:`~modelsteward.engines.drift`
turn the summaries into window metrics and drift results; :mod:`~modelsteward.engines.check`
runs a pass whose state goes to the store; :mod:`~modelsteward.engines.parquet_log` writes the
date-partitioned Parquet log that Spark and DuckDB read. See ``docs/scaling.md``.
"""
