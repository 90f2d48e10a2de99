"""Figure: a 1M-row PostgreSQL result to a DataFrame through querygpt (read-only transaction,
`COPY … TO STDOUT` parsed by Arrow) against `pandas.read_sql` on the same engine, same run.

Needs the test servers: `eval "$(bash scripts/services --env)"`, then
`.venv/bin/python benchmarks/postgres_transfer.py`. Builds `transfer_1m` in `querygpt_transfer` once."""
from __future__ import annotations

import os
import statistics
import tempfile
import time

from postgres_introspection import bench_urls

ROWS = 1_000_000
SQL = "SELECT id, grp, x, label, day, at FROM public.transfer_1m"


def build_table(admin_url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url)
    with engine.begin() as connection:
        exists = connection.exec_driver_sql("SELECT to_regclass('public.transfer_1m') IS NOT NULL").scalar()
        if exists and connection.exec_driver_sql("SELECT COUNT(*) FROM public.transfer_1m").scalar() == ROWS:
            return
        connection.exec_driver_sql("DROP TABLE IF EXISTS public.transfer_1m")
        # %% : psycopg2 formats SQL text even when given no parameters
        connection.exec_driver_sql(
            "CREATE TABLE public.transfer_1m AS SELECT g AS id, g %% 1000 AS grp, random() AS x, "
            "'name_' || (g %% 5000) AS label, DATE '2020-01-01' + (g %% 1500) AS day, "
            "TIMESTAMP '2020-01-01' + g * INTERVAL '1 second' AS at "
            f"FROM generate_series(1, {ROWS}) g")
        connection.exec_driver_sql("GRANT SELECT ON public.transfer_1m TO querygpt")
    engine.dispose()


def main(repeats: int = 5) -> None:
    import pandas as pd

    url, admin_url = bench_urls("querygpt_transfer")
    build_table(admin_url)
    os.environ.setdefault("QUERYGPT_HOME", tempfile.mkdtemp(prefix="qg-bench-home-"))

    import querygpt_jupyter as qg
    from querygpt_jupyter.connections.resolve import open_connection
    from querygpt_jupyter.connections.sqlalchemy_adapter import SQLAlchemyAdapter

    adapter = open_connection(url, ())
    engine = adapter._engine  # the same engine and pool as ours

    def read_sql() -> int:
        with engine.connect() as connection:
            return len(pd.read_sql(SQL, connection))

    def fetch() -> int:
        return len(adapter.fetch(SQL))

    def run_sql() -> int:
        answer = qg.run_sql(SQL, db=url, max_rows=ROWS, timeout_s=300)
        assert answer.error is None, answer.error
        return len(answer.df)

    def driver_rows() -> int:  # our read-only transaction without COPY: the driver's tuples
        return len(adapter._in_read_only_transaction(lambda cursor: SQLAlchemyAdapter.read(adapter, cursor, SQL), 300))

    runs = {"pandas.read_sql": read_sql, "adapter.fetch": fetch, "run_sql": run_sql, "driver rows": driver_rows}
    assert {name: fn() for name, fn in runs.items()} == dict.fromkeys(runs, ROWS)  # warm up
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - t) * 1000)
    median = {name: statistics.median(values) for name, values in timings.items()}
    print(f"PostgreSQL, {ROWS:,} rows x 6 columns (int, int, float, text, date, timestamp), median of {repeats}:")
    for name, ms in median.items():
        print(f"  {name:<16} {ms:8.0f} ms")
    print(f"  ratio pandas.read_sql / adapter.fetch: {median['pandas.read_sql'] / median['adapter.fetch']:.2f}x")
    print(f"  ratio pandas.read_sql / run_sql (guard, cap, read-only transaction): "
          f"{median['pandas.read_sql'] / median['run_sql']:.2f}x")
    print(f"  ratio pandas.read_sql / driver rows (no COPY): {median['pandas.read_sql'] / median['driver rows']:.2f}x")


if __name__ == "__main__":
    main()
