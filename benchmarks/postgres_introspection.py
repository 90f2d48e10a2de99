"""Figure: introspection of a 500-table PostgreSQL schema (keys, comments, row counts, samples),
cold (no catalogue cache) and cached (in memory, and from the disk cache in a new process).

Needs the test servers: `eval "$(bash scripts/services --env)"`, then
`.venv/bin/python benchmarks/postgres_introspection.py`. Builds the database `querygpt_bench` once
(500 tables of 200 rows, each with a foreign key to an earlier one and commented columns)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

TABLES = 500
ROWS_PER_TABLE = 200
BENCH_DATABASE = "querygpt_bench"
SCHEMA_VERSION = "500x200-v1"


def bench_urls(database: str = BENCH_DATABASE) -> tuple[str, str]:
    """(product URL, admin URL) of a benchmark database, created if missing."""
    import sqlalchemy

    try:
        url = sqlalchemy.engine.make_url(os.environ["QUERYGPT_TEST_PG_URL"])
        admin = sqlalchemy.engine.make_url(os.environ["QUERYGPT_TEST_PG_ADMIN_URL"])
    except KeyError:
        sys.exit('Start the servers first: eval "$(bash scripts/services --env)"')
    engine = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.exec_driver_sql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'").scalar():
            connection.exec_driver_sql(f"CREATE DATABASE {database}")
    engine.dispose()
    as_text = lambda u: u.set(database=database).render_as_string(hide_password=False)  # noqa: E731
    return as_text(url), as_text(admin)


def build_schema(admin_url: str) -> None:
    """500 tables t000…t499 in schema `wide`, made once (a version comment marks it done)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url)
    with engine.begin() as connection:
        done = connection.exec_driver_sql(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'wide'").scalar()
        if done == SCHEMA_VERSION:
            return
        started = time.perf_counter()
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS wide CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA wide")
        for i in range(TABLES):
            parent = f"t{i // 2:03d}" if i else None
            reference = f", parent_id integer REFERENCES wide.{parent}(id)" if parent else ""
            connection.exec_driver_sql(
                f"CREATE TABLE wide.t{i:03d} (id integer PRIMARY KEY{reference}, status text, region text, "
                "label text, amount numeric(12,2), measured double precision, created date)")
            connection.exec_driver_sql(f"COMMENT ON TABLE wide.t{i:03d} IS 'Benchmark table {i}'")
            connection.exec_driver_sql(f"COMMENT ON COLUMN wide.t{i:03d}.status IS 'Lifecycle state'")
            parent_value = ", (g %% 100) + 1" if parent else ""  # %% : psycopg2 formats even without parameters
            connection.exec_driver_sql(
                f"INSERT INTO wide.t{i:03d} SELECT g{parent_value}, (ARRAY['new', 'open', 'closed'])[g %% 3 + 1], "
                "(ARRAY['north', 'south', 'east', 'west'])[g %% 4 + 1], 'label ' || g, g * 1.5, g / 7.0, "
                f"DATE '2024-01-01' + g FROM generate_series(1, {ROWS_PER_TABLE}) g")
        connection.exec_driver_sql("GRANT USAGE ON SCHEMA wide TO querygpt")
        connection.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA wide TO querygpt")
        connection.exec_driver_sql("ALTER DATABASE querygpt_bench SET search_path = wide, public")
        connection.exec_driver_sql(f"COMMENT ON SCHEMA wide IS '{SCHEMA_VERSION}'")
        print(f"(built {TABLES} tables in {time.perf_counter() - started:.1f} s)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _cached_in_new_process(url: str, home: str) -> float:
    """A new process: imports and the first connection excluded, catalogue read from disk."""
    code = (
        "import time, sys\n"
        "from querygpt_jupyter.connections.resolve import open_connection\n"
        "from querygpt_jupyter.connections.introspect import introspect\n"
        "adapter = open_connection(sys.argv[1], ())\n"
        "t = time.perf_counter(); catalog = introspect(adapter)\n"
        "print((time.perf_counter() - t) * 1000, len(catalog.tables))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, url], env={**os.environ, "QUERYGPT_HOME": home},
                         check=True, capture_output=True, text=True).stdout.split()
    assert int(out[1]) == TABLES, out
    return float(out[0])


def main(repeats: int = 5) -> None:
    url, admin_url = bench_urls()
    build_schema(admin_url)
    home = tempfile.mkdtemp(prefix="qg-bench-home-")
    os.environ["QUERYGPT_HOME"] = home

    from querygpt_jupyter.connections import introspect as introspection
    from querygpt_jupyter.connections.resolve import open_connection

    adapter = open_connection(url, ())
    adapter.fetch("SELECT 1")  # connect and import outside the timings

    catalogue_ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        tables = adapter.schema()
        catalogue_ms.append((time.perf_counter() - t) * 1000)
    assert len(tables) == TABLES, len(tables)
    t = time.perf_counter()
    catalog = introspection.introspect(adapter, use_cache=False)
    cold_ms = (time.perf_counter() - t) * 1000
    assert len(catalog.tables) == TABLES and catalog.tables[1].foreign_keys and catalog.tables[0].row_count == ROWS_PER_TABLE
    cached_ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        assert introspection.introspect(adapter) is catalog
        cached_ms.append((time.perf_counter() - t) * 1000)
    disk_ms = statistics.median(_cached_in_new_process(url, home) for _ in range(3))
    queries = 1 + sum(1 for t in catalog.tables for c in t.columns if c.samples)

    print(f"PostgreSQL schema of {TABLES} tables x {ROWS_PER_TABLE} rows (7 columns, a foreign key and comments each)")
    print(f"  catalogue queries only (adapter.schema(), 4 queries): median {statistics.median(catalogue_ms):.0f} ms")
    print(f"  cold introspection (no cache): {cold_ms:.0f} ms "
          f"({TABLES} count queries + {queries - 1} sample queries, {cold_ms / TABLES:.1f} ms per table)")
    print(f"  cached, same process (schema() for the fingerprint + memory): median {statistics.median(cached_ms):.0f} ms")
    print(f"  cached, new process (schema() + disk cache): median {disk_ms:.0f} ms")


if __name__ == "__main__":
    main()
