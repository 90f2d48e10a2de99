"""PostgreSQL, for real (a server started by scripts/services): introspection, SQL in the postgres
dialect, results to DataFrames, and read-only twice — the guard refuses every attack and, with the
guard bypassed, the read-only transaction, the role and statement_timeout still hold."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pandas as pd
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter.connections.sqlalchemy_adapter import SQLAlchemyAdapter
from fakes.openai_server import Reply, ScriptedOpenAIServer
from servers import pg, pg_server  # noqa: F401  (fixtures)

ATTACKS = [
    pytest.param("COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "COPY", id="copy-to-program"),
    pytest.param("COPY customers FROM PROGRAM 'echo 99,x,XX,,'", "COPY", id="copy-from-program"),
    pytest.param("SELECT pg_read_file('/etc/passwd')", "pg_read_file()", id="pg-read-file"),
    pytest.param("SELECT * FROM pg_ls_dir('.')", "pg_ls_dir()", id="pg-ls-dir"),
    pytest.param("SELECT lo_export(lo_import('/etc/passwd'), '{marker}')", "lo_", id="lo-export"),
    pytest.param("SELECT * FROM dblink('host=127.0.0.1', 'DELETE FROM orders') AS t(a int)", "dblink()", id="dblink"),
    pytest.param("SELECT pg_sleep(600)", "pg_sleep()", id="pg-sleep-beyond-the-timeout"),
    pytest.param("SET ROLE postgres", "SET", id="set-role"),
    pytest.param("WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d", "DELETE", id="writable-cte"),
    pytest.param("SELECT nextval('orders_id_seq')", "nextval()", id="nextval"),
    pytest.param("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config()", id="set-config"),
    pytest.param("SELECT * FROM customers FOR UPDATE", "FOR UPDATE", id="select-for-update"),
    pytest.param("LOCK TABLE orders", "LOCK", id="lock-table"),
    pytest.param("DO $$ BEGIN DELETE FROM orders; END $$", "DO", id="do-block"),
    pytest.param("SELECT * FROM ts_stat('SELECT to_tsvector(name) FROM customers')", "ts_stat()", id="ts-stat-runs-sql"),
    pytest.param("SELECT 1; DELETE FROM orders", "2 statements", id="second-statement"),
    pytest.param("SELECT * INTO stolen FROM customers", "INTO", id="select-into-table"),
]

# With the guard bypassed and the text sent as it is (adapter.rows: no single-query cursor either),
# the engine itself refuses: the read-only transaction (SQLSTATE 25006/25001) or the role's missing
# privileges (42501). Our role may write these tables. (adapter.fetch adds the cursor wall:
# tests/test_attacks.py.)
WALL = [
    pytest.param("INSERT INTO customers VALUES (99, 'Mallory', 'XX', NULL, NULL)", "read-only transaction", id="insert"),
    pytest.param("WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d", "read-only transaction", id="writable-cte"),
    pytest.param("SELECT nextval('orders_id_seq')", "read-only transaction", id="nextval"),
    pytest.param("SELECT setval('orders_id_seq', 1000)", "read-only transaction", id="setval"),
    pytest.param("CREATE TEMP TABLE scratch AS SELECT 1 AS a", "read-only transaction", id="create-temp-table"),
    pytest.param("SELECT * FROM customers FOR UPDATE", "read-only transaction", id="select-for-update"),
    pytest.param("SET TRANSACTION READ WRITE", "before any query", id="set-transaction-read-write"),
    pytest.param("SELECT set_config('transaction_read_only', 'off', true)", "before any query", id="set-config-read-write"),
    pytest.param("SELECT pg_read_file('/etc/passwd')", "permission denied", id="pg-read-file"),
    pytest.param("SELECT lo_export(1, '{marker}')", "permission denied", id="lo-export"),
    pytest.param("COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "pg_execute_server_program", id="copy-to-program"),
    pytest.param("SET ROLE postgres", "permission denied", id="set-role"),
]


@pytest.fixture()
def marker(tmp_path):
    """A file an attack would create: it must still not exist afterwards."""
    path = tmp_path / "pwned"
    yield str(path)
    assert not path.exists()


def engine_error(adapter, sql):
    """Run SQL past the guard, straight into the engine's wall; return the product's error."""
    with pytest.raises(Exception) as raised:
        adapter.fetch(sql)
    return adapter.classify(raised.value)


# -- connecting ----------------------------------------------------------------------------------

def test_label_and_answer_never_show_the_password(pg_server):
    answer = qg.run_sql("SELECT 1 AS one", db=pg_server.url)
    assert answer.error is None and answer.df["one"].tolist() == [1]
    assert "querygpt@127.0.0.1:" in answer.connection
    assert pg_server.password not in answer.connection
    assert pg_server.password not in json.dumps(answer.to_dict(), default=str)


def test_a_url_without_driver_uses_an_installed_one(pg_server):
    url = pg_server.url.replace("postgresql+psycopg2://", "postgresql://")
    answer = qg.run_sql("SELECT current_user AS who", db=url)
    assert answer.error is None and answer.df["who"].tolist() == ["querygpt"]


@pytest.mark.parametrize("change, reason", [
    (lambda url: re.sub(r":\d+/", ":1/", url), "nothing is listening"),
    (lambda url: url.rsplit("/", 1)[0] + "/no_such_db", "does not exist"),
    (lambda url: url.replace("querygpt:", "querygpt:wrong-", 1), "user name or password"),
])
def test_connection_failure_names_host_port_database_never_the_password(pg_server, change, reason):
    url = change(pg_server.url)
    answer = qg.run_sql("SELECT 1", db=url)
    assert answer.error.code == "DB_CONN_FAIL"
    message = str(answer.error)
    assert "127.0.0.1:" in message and "database '" in message and reason in message
    assert pg_server.password not in message and answer.error.hint


def test_cli_schema_json_has_keys_and_never_the_password(pg_server):
    done = subprocess.run([sys.executable, "-m", "querygpt_jupyter.faces.cli", "schema", "--db", pg_server.url, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pg_server.password not in done.stdout + done.stderr
    tables = {t["name"]: t for t in json.loads(done.stdout)["tables"]}
    assert tables["orders"]["foreign_keys"] == [{"columns": ["customer_id"], "references": "customers", "ref_columns": ["id"]}]


# -- introspection -------------------------------------------------------------------------------

def test_introspection_finds_keys_comments_counts_and_samples(pg_server):
    catalog = qg.schema(db=pg_server.url)
    assert catalog.dialect == "postgres"
    customers, orders, items = catalog.table("customers"), catalog.table("orders"), catalog.table("order_items")
    assert customers.comment == "People and companies who ordered at least once"
    assert customers.column("country").comment == "ISO 3166-1 alpha-2 country code"
    assert customers.column("id").primary_key and customers.row_count == 5
    assert [c.name for c in items.columns if c.primary_key] == ["order_id", "line_no"]
    assert {(fk.columns, fk.references, fk.ref_columns) for fk in items.foreign_keys} == {
        (("order_id",), "orders", ("id",)), (("product_id",), "products", ("id",))}
    assert set(orders.column("status").samples) == {"placed", "shipped", "returned"}
    assert catalog.table("cars").row_count == 406  # the demo tables are there too
    assert catalog.table("querygpt_meta.fixture") is None  # what the role may not read is not listed


def test_other_schemas_are_listed_qualified_and_queryable(pg_server):
    view = qg.schema(db=pg_server.url).table("reporting.revenue_by_country")
    assert view.comment == "Revenue per customer country" and view.row_count == 3
    assert set(view.column("country").samples) == {"GB", "US", "FI"}
    answer = qg.run_sql("SELECT country, revenue FROM reporting.revenue_by_country ORDER BY revenue DESC", db=pg_server.url)
    assert answer.error is None and answer.df["country"].tolist() == ["GB", "US", "FI"]


def test_big_tables_keep_the_planner_estimate_and_sample_their_first_rows(pg, monkeypatch):
    from querygpt_jupyter.connections import introspect

    monkeypatch.setattr(introspect, "EXACT_COUNT_MAX_ROWS", 1_000)
    monkeypatch.setattr(introspect, "SAMPLE_SCAN_ROWS", 50)
    catalog = introspect.introspect(pg, use_cache=False)
    temps = catalog.table("seattle_temps")
    assert temps.row_count == pg_server_estimate(pg, "seattle_temps") and temps.row_count > 1_000
    assert catalog.table("cars").row_count == 406  # small: counted exactly


def pg_server_estimate(adapter, table):
    return adapter.rows(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")[0][0]


# -- SQL in the postgres dialect -----------------------------------------------------------------

def test_offline_planner_writes_postgres_sql_with_the_same_answer_as_duckdb(pg_server, demo_path):
    ours = qg.ask("Average horsepower by origin", db=pg_server.url)
    demo = qg.ask("Average horsepower by origin", db="demo")
    assert ours.error is None and ours.dialect == "postgres" and '"Horsepower"' in ours.sql
    pd.testing.assert_frame_equal(ours.df, demo.df, check_dtype=False)


def test_percent_signs_reach_the_server_intact(pg_server):
    answer = qg.run_sql(
        "SELECT name, to_char(price, 'FM990.00') || ' %' AS shown, format('%s items', 2) AS f "
        "FROM products WHERE name LIKE '%Off%' OR name LIKE '%\\%%' ESCAPE '\\'", db=pg_server.url)
    assert answer.error is None, answer.error
    assert answer.df.to_dict("records") == [{"name": "50% Off Voucher", "shown": "0.00 %", "f": "2 items"}]


@pytest.fixture()
def model():
    with ScriptedOpenAIServer([]) as server:
        yield server


def ask_model(server, question, db):
    return qg.ask(question, db=db, model="openai/gpt-4o-mini", api_base=server.base_url, tools="off")


def test_sql_a_model_writes_in_another_dialect_is_transpiled_to_postgres(model, pg_server):
    model.push(Reply("```sql\nSELECT TOP 2 name FROM products ORDER BY price DESC\n```"))
    answer = ask_model(model, "The two most expensive products", pg_server.url)
    assert answer.error is None, answer.error
    assert answer.df["name"].tolist() == ['Monitor 27"', "Support plan, yearly"]
    assert answer.notes == ["Transpiled from tsql to postgres."] and "LIMIT 2" in answer.sql


def test_the_model_is_given_join_paths_from_foreign_keys(model, pg_server):
    model.push(Reply("```sql\nSELECT c.country, SUM(i.quantity * i.unit_price) AS revenue FROM orders o "
                     "JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id "
                     "GROUP BY c.country ORDER BY revenue DESC\n```"))
    answer = ask_model(model, "Revenue by customer country", pg_server.url)
    prompt = "\n".join(str(m.get("content")) for m in model.requests[0]["messages"])
    assert "orders.customer_id → customers.id" in prompt and "order_items.product_id → products.id" in prompt
    assert answer.error is None and answer.df["country"].tolist() == ["GB", "US", "FI"]


# -- results to DataFrames -----------------------------------------------------------------------

TYPED = (
    "SELECT g AS id, g::bigint * 10000000000 AS big, g / 3.0::float8 AS ratio, (g % 2 = 0) AS even, "
    "CASE WHEN g = 2 THEN NULL WHEN g = 3 THEN '' ELSE 'a,\"b\"' || chr(10) || g END AS text, "
    "DATE '2024-02-28' + g AS day, TIMESTAMP '2024-01-01 12:00:00.123456' + g * INTERVAL '1 hour' AS at, "
    "TIMESTAMPTZ '2024-01-01 12:00:00+02' AS at_tz, (g * 1.25)::numeric(8,2) AS price, g * 1.5 AS loose, "
    "CASE WHEN g = 2 THEN NULL ELSE g END AS maybe FROM generate_series(1, 1500) g"
)


def test_result_types_are_those_the_driver_gives(pg):
    """Large results go through COPY and Arrow; the values equal the driver's own rows."""
    sql = TYPED
    fast = pg.fetch(sql)
    slow = pg._in_read_only_transaction(lambda cursor: SQLAlchemyAdapter.read(pg, cursor, sql), 30)
    assert len(fast) == len(slow) == 1500
    for column in fast.columns:
        for mine, theirs in zip(fast[column], slow[column]):
            if pd.isna(theirs):
                assert pd.isna(mine), column
            else:
                assert mine == theirs, (column, mine, theirs)
    assert fast["big"].dtype == "int64" and fast["even"].dtype == bool
    assert str(fast["at"].dtype).startswith("datetime64") and isinstance(fast["day"][0], dt.date)
    assert fast["price"][0] == Decimal("1.25") and fast["loose"][0] == Decimal("1.5")
    assert fast["text"][1] is None or pd.isna(fast["text"][1])
    assert fast["text"][2] == "" and fast["text"][0] == 'a,"b"\n1'


def test_types_copy_cannot_carry_come_through_the_driver(pg):
    df = pg.fetch("SELECT '{\"a\": 1}'::jsonb AS doc, ARRAY[1, 2] AS list, INTERVAL '90 minutes' AS span "
                  "FROM generate_series(1, 2000)")
    assert df["doc"][0] == {"a": 1} and df["list"][0] == [1, 2] and df["span"][0] == dt.timedelta(minutes=90)


def test_a_date_arrow_cannot_read_falls_back_to_the_driver(pg):
    df = pg.fetch("SELECT CASE WHEN g = 1 THEN 'infinity'::date ELSE DATE '2024-01-01' END AS d "
                  "FROM generate_series(1, 2000) g")
    assert df["d"][1] == dt.date(2024, 1, 1) and len(df) == 2000


def test_a_user_engine_in_autocommit_mode_still_gets_the_read_only_wall(pg_server):
    import sqlalchemy

    engine = sqlalchemy.create_engine(pg_server.url, isolation_level="AUTOCOMMIT")
    answer = qg.run_sql("SELECT count(*) AS n FROM customers", db=engine)
    assert answer.error is None and answer.df["n"].tolist() == [5]
    from querygpt_jupyter.connections.resolve import open_connection

    error = engine_error(open_connection(engine, ()), "INSERT INTO customers VALUES (98, 'x', 'XX', NULL, NULL)")
    assert error.code == "PERMISSION_DENIED"
    assert pg_server.scalar("SELECT count(*) FROM customers") == 5
    engine.dispose()


# -- timeouts ------------------------------------------------------------------------------------

SLOW = "SELECT count(*) FROM generate_series(1, 1000000000) a"


def running_queries(pg_server, text):
    return pg_server.scalar(
        f"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%%{text}%%' "
        "AND pid <> pg_backend_pid()")


def test_a_timeout_cancels_on_the_server_and_the_connection_stays_usable(pg_server):
    started = time.monotonic()
    answer = qg.run_sql(SLOW, db=pg_server.url, timeout_s=1)
    assert answer.error.code == "QUERY_TIMEOUT" and time.monotonic() - started < 8
    time.sleep(0.3)
    assert running_queries(pg_server, "generate_series(1, 1000000000)") == 0
    again = qg.run_sql("SELECT count(*) AS n FROM orders", db=pg_server.url)
    assert again.error is None and again.df["n"].tolist() == [8]


def test_statement_timeout_stops_the_query_on_its_own(pg):
    """The server's own limit, without the client's cancel (e.g. the kernel died)."""
    started = time.monotonic()
    error = engine_error_with_timeout(pg, SLOW, 0.5)
    assert error.code == "QUERY_TIMEOUT" and "statement timeout" in str(error)
    assert time.monotonic() - started < 5
    assert pg.fetch("SELECT 1 AS one")["one"].tolist() == [1]


def engine_error_with_timeout(adapter, sql, timeout_s):
    with pytest.raises(Exception) as raised:
        adapter.fetch(sql, timeout_s=timeout_s)
    return adapter.classify(raised.value)


def test_interrupt_from_another_thread_cancels_a_running_query(pg):
    threading.Timer(0.5, pg.interrupt).start()
    error = engine_error(pg, SLOW)
    assert error.code == "QUERY_TIMEOUT" and "user request" in str(error)
    assert pg.fetch("SELECT 2 AS two")["two"].tolist() == [2]


# -- attacks: refused by the guard, database unchanged -------------------------------------------

@pytest.mark.parametrize("sql, named", ATTACKS)
def test_attack_is_refused_and_the_database_is_unchanged(pg_server, sql, named, marker):
    before = pg_server.snapshot()
    answer = qg.run_sql(sql.format(marker=marker), db=pg_server.url, timeout_s=10)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED", answer.error
    assert named in str(answer.error)
    assert pg_server.snapshot() == before


@pytest.mark.parametrize("sql, says", WALL)
def test_with_the_guard_bypassed_the_engine_still_refuses(pg, pg_server, sql, says, marker):
    before = pg_server.snapshot()
    with pytest.raises(Exception) as raised:
        pg.rows(sql.format(marker=marker))
    error = pg.classify(raised.value)
    assert error.code == "PERMISSION_DENIED" and says in str(error), error
    assert pg_server.snapshot() == before
    assert pg.fetch("SELECT current_user AS who")["who"].tolist() == ["querygpt"]  # still usable, same role


def test_the_role_is_not_a_superuser(pg):
    assert pg.rows("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user") == [
        (False, False, False)]


def test_the_product_never_prints_the_password(pg_server, tmp_path):
    env = {**os.environ, "QUERYGPT_HOME": str(tmp_path)}
    for args in (["sql", "SELECT * FROM nope", "--db", pg_server.url, "--json"],
                 ["sql", "DELETE FROM orders", "--db", pg_server.url],
                 ["ask", "Average horsepower by origin", "--db", pg_server.url]):
        done = subprocess.run([sys.executable, "-m", "querygpt_jupyter.faces.cli", *args], capture_output=True,
                              text=True, env=env, timeout=120)
        assert pg_server.password not in done.stdout + done.stderr, args
