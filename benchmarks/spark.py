"""Spark figures (issue 16), on a local Spark started here (`spark-local`, Spark Connect):

1. the first answer: session start included and excluded; then the per-turn overhead of
   `querygpt_jupyter.ask` against running the same SQL with `spark.sql(...).toPandas()`;
2. a chart over a 10M-row Spark table (spark.range-based): rows transferred to the kernel and
   wall time, against collecting the table;
3. a chart of raw rows over that table (the table is cut at max_rows): the chart's aggregation
   runs in Spark (charts/pushdown.py), against collecting every row and grouping in pandas.

    .venv/bin/python benchmarks/spark.py [--rows 10000000] [--turns 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore", FutureWarning)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QUERYGPT_HOME", tempfile.mkdtemp(prefix="querygpt-bench-"))

    import duckdb

    import querygpt_jupyter as qg
    from querygpt_jupyter.connections.demo import ensure_demo_db
    from querygpt_jupyter.connections.spark_adapter import local_classic_session, local_server_url

    began = time.perf_counter()
    url = local_server_url()
    start_s = time.perf_counter() - began
    classic = local_classic_session()
    with duckdb.connect(ensure_demo_db(), read_only=True) as con:
        cars = con.sql('SELECT * FROM "cars"').to_arrow_table().to_pandas()
    classic.createDataFrame(cars).write.mode("overwrite").saveAsTable("cars")
    load_s = time.perf_counter() - began - start_s

    question = "Average horsepower by origin"
    t0 = time.perf_counter()
    first = qg.ask(question, db=url)
    first_s = time.perf_counter() - t0
    assert first.error is None, first.error
    print(f"local Spark start (JVM + Spark Connect server): {start_s:.1f} s; loading the cars table: {load_s:.1f} s")
    print(f"first answer ({question!r}), session running: {first_s:.2f} s "
          f"(schema {first.timings.get('schema', 0) / 1000:.2f} s, executing {first.timings.get('executing', 0) / 1000:.2f} s); "
          f"with the session start: {start_s + first_s:.1f} s")

    from pyspark.sql import SparkSession

    plain = SparkSession.builder.remote(url).create()
    ours, theirs = [], []
    for _ in range(args.turns):
        t0 = time.perf_counter()
        answer = qg.ask(question, db=url)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain.sql(answer.sql).toPandas()
        theirs.append(time.perf_counter() - t0)
    print(f"per turn, median of {args.turns}: querygpt ask {statistics.median(ours) * 1000:.0f} ms, "
          f"spark.sql(sql).toPandas() {statistics.median(theirs) * 1000:.0f} ms, "
          f"overhead {(statistics.median(ours) - statistics.median(theirs)) * 1000:.0f} ms")

    big = "qg_bench_events"
    classic.range(args.rows).selectExpr(
        "id", "CASE id % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' WHEN 3 THEN 'west' ELSE 'centre' END AS region",
        "CAST(id % 1000 AS DOUBLE) / 10 AS amount",
    ).write.mode("overwrite").saveAsTable(big)
    chart_question = f"Total amount by region in {big}"
    qg.schema(db=url)  # the catalogue once (cached afterwards), as a notebook has it after its first turn
    t0 = time.perf_counter()
    charted = qg.ask(chart_question, db=url)
    chart_s = time.perf_counter() - t0
    assert charted.error is None, charted.error
    t0 = time.perf_counter()
    collected = plain.table(big).toPandas()
    collect_s = time.perf_counter() - t0
    print(f"chart over {args.rows:,} rows ({chart_question!r}): {len(charted.df)} rows to the kernel, "
          f"{chart_s:.2f} s, chart {'yes' if charted.chart_spec else 'no'}; SQL: {charted.sql}")
    print(f"collecting the table instead: {len(collected):,} rows to the kernel, {collect_s:.2f} s, "
          f"{collected.memory_usage(deep=True).sum() / 2**20:.0f} MB in pandas")

    from querygpt_jupyter.charts import pushdown
    from querygpt_jupyter.charts.choose import decide_chart
    from querygpt_jupyter.connections.resolve import open_connection
    from querygpt_jupyter.sql import guard

    raw_sql = f"SELECT region, amount FROM {big}"
    t0 = time.perf_counter()
    raw = qg.run_sql(raw_sql, db=url, question="total amount by region")
    assert raw.error is None and raw.truncated, raw.error
    assert raw.chart_spec is not None    # run_sql builds its chart on first access: the aggregation runs here
    raw_s = time.perf_counter() - t0
    adapter = open_connection(url, ())
    choice, _ = decide_chart("total amount by region", raw.df)
    t0 = time.perf_counter()
    engine = pushdown.run_aggregation(choice, guard.check(raw_sql, guard.GuardPolicy(dialect="spark")), adapter,
                                      max_groups=5000, timeout_s=600)
    engine_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    grouped = collected.groupby("region")["amount"].sum()
    group_s = time.perf_counter() - t0
    print(f"chart of raw rows ({raw_sql!r}, table cut at {len(raw.df):,}): the turn {raw_s:.2f} s; the chart's "
          f"aggregation in Spark alone {engine_s:.2f} s, {engine.rows_read} rows to the kernel for the chart "
          f"(covering {engine.total_rows:,} rows); note: {raw.chart_note!r}")
    print(f"collecting every row and grouping in pandas instead: {len(collected):,} rows, "
          f"{collect_s + group_s:.2f} s ({len(grouped)} groups)")
    plain.stop()


if __name__ == "__main__":
    sys.exit(main())
