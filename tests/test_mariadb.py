"""MariaDB (the MySQL family), for real (a server started by scripts/services): introspection, SQL
in the mysql dialect, results to DataFrames, and read-only twice — the guard refuses every attack
and, with the guard bypassed, START TRANSACTION READ ONLY, max_statement_time and the account's
missing privileges still hold."""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from decimal import Decimal

import pandas as pd
import pytest

import querygpt_jupyter as qg
from fakes.openai_server import Reply, ScriptedOpenAIServer
from servers import mysql, mysql_server  # noqa: F401  (fixtures)

ATTACKS = [
    pytest.param("LOAD DATA INFILE '/etc/passwd' INTO TABLE customers", "LOAD", id="load-data-infile"),
    pytest.param("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE customers", "LOAD", id="load-data-local-infile"),
    pytest.param("SELECT * FROM customers INTO OUTFILE '{marker}'", "INTO OUTFILE", id="into-outfile"),
    pytest.param("SELECT name FROM customers LIMIT 1 INTO DUMPFILE '{marker}'", "INTO DUMPFILE", id="into-dumpfile"),
    pytest.param("SELECT * FROM customers /*!50000 INTO OUTFILE '{marker}' */", "/*! … */",
                 id="into-outfile-in-executable-comment"),
    pytest.param("SELECT LOAD_FILE('/etc/passwd')", "load_file()", id="load-file"),
    pytest.param("SELECT SLEEP(600)", "sleep()", id="sleep"),
    pytest.param("SELECT BENCHMARK(1000000000, MD5('x'))", "benchmark()", id="benchmark"),
    pytest.param("SET GLOBAL max_connections = 1", "SET", id="set-global"),
    pytest.param("SET @@global.max_connections = 1", "SET", id="set-global-variable"),
    pytest.param("SELECT GET_LOCK('querygpt', 10)", "get_lock()", id="get-lock"),
    pytest.param("SELECT @n := COUNT(*) FROM orders", "session variable", id="user-variable-assignment"),
    pytest.param("SELECT * FROM customers FOR UPDATE", "FOR UPDATE", id="select-for-update"),
    pytest.param("LOCK TABLES customers WRITE", "LOCK", id="lock-tables"),
    pytest.param("HANDLER customers OPEN", "HANDLER", id="handler"),
    pytest.param("DO SLEEP(10)", "DO", id="do"),
    pytest.param("REPLACE INTO customers VALUES (1, 'Mallory', 'XX', NULL, NULL)", "REPLACE", id="replace"),
    pytest.param("SELECT 1; DELETE FROM orders", "2 statements", id="second-statement"),
]

# With the guard bypassed (adapter.fetch): the read-only transaction (1792) or the account (no FILE,
# SUPER or CREATE privilege). DDL commits implicitly in MySQL, but the session is read-only too.
WALL = [
    pytest.param("INSERT INTO customers VALUES (99, 'Mallory', 'XX', NULL, NULL)", "READ ONLY transaction", id="insert"),
    pytest.param("UPDATE orders SET status = 'lost'", "READ ONLY transaction", id="update"),
    pytest.param("DELETE FROM order_items", "READ ONLY transaction", id="delete"),
    pytest.param("CREATE TEMPORARY TABLE scratch (a int)", "READ ONLY transaction", id="create-temporary-table"),
    pytest.param("SELECT * FROM customers FOR UPDATE", "READ ONLY transaction", id="select-for-update"),
    pytest.param("SET TRANSACTION READ WRITE", "can't be changed", id="set-transaction-read-write"),
    pytest.param("LOAD DATA INFILE '/etc/passwd' INTO TABLE customers", "Access denied", id="load-data-infile"),
    pytest.param("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE customers", "disabled", id="load-data-local"),
    pytest.param("SELECT * FROM customers INTO OUTFILE '{marker}'", "FILE privilege", id="into-outfile"),
    pytest.param("SET GLOBAL max_connections = 1", "SUPER", id="set-global"),
    # DDL commits implicitly, but the next transaction is read-only too (SET SESSION TRANSACTION READ ONLY)
    pytest.param("CREATE TABLE stolen AS SELECT * FROM customers", "READ ONLY transaction", id="create-table"),
]


@pytest.fixture()
def marker(tmp_path):
    """A file an attack would create (the server runs as another user: /tmp is shared)."""
    path = tmp_path / "pwned"
    tmp_path.chmod(0o777)
    yield str(path)
    assert not path.exists()


def engine_error(adapter, sql, **options):
    with pytest.raises(Exception) as raised:
        adapter.fetch(sql, **options)
    return adapter.classify(raised.value)


# -- connecting ----------------------------------------------------------------------------------

def test_label_and_answer_never_show_the_password(mysql_server):
    answer = qg.run_sql("SELECT 1 AS one", db=mysql_server.url)
    assert answer.error is None and answer.df["one"].tolist() == [1]
    assert "querygpt@127.0.0.1:" in answer.connection and mysql_server.password not in answer.connection
    assert mysql_server.password not in json.dumps(answer.to_dict(), default=str)


def test_a_url_without_driver_uses_an_installed_one(mysql_server):
    answer = qg.run_sql("SELECT CURRENT_USER() AS who", db=mysql_server.url.replace("mysql+pymysql://", "mysql://"))
    assert answer.error is None and answer.df["who"].tolist() == ["querygpt@127.0.0.1"]


@pytest.mark.parametrize("change, reason", [
    (lambda url: re.sub(r":\d+/", ":1/", url), "nothing is listening"),
    (lambda url: url.rsplit("/", 1)[0] + "/no_such_db", "may not use that database"),
    (lambda url: url.replace("querygpt:", "querygpt:wrong-", 1), "user name or password"),
])
def test_connection_failure_names_host_port_database_never_the_password(mysql_server, change, reason):
    answer = qg.run_sql("SELECT 1", db=change(mysql_server.url))
    assert answer.error.code == "DB_CONN_FAIL"
    message = str(answer.error)
    assert "127.0.0.1:" in message and "database '" in message and reason in message
    assert mysql_server.password not in message


# -- introspection -------------------------------------------------------------------------------

def test_introspection_finds_keys_comments_counts_and_samples(mysql_server):
    catalog = qg.schema(db=mysql_server.url)
    assert catalog.dialect == "mysql"
    customers, orders, items = catalog.table("customers"), catalog.table("orders"), catalog.table("order_items")
    assert customers.comment == "People and companies who ordered at least once"
    assert customers.column("country").comment == "ISO 3166-1 alpha-2 country code"
    assert customers.column("id").primary_key and customers.row_count == 5
    assert [c.name for c in items.columns if c.primary_key] == ["order_id", "line_no"]
    assert {(fk.columns, fk.references, fk.ref_columns) for fk in items.foreign_keys} == {
        (("order_id",), "orders", ("id",)), (("product_id",), "products", ("id",))}
    assert [(fk.columns, fk.references) for fk in orders.foreign_keys] == [(("customer_id",), "customers")]
    assert set(orders.column("status").samples) == {"placed", "shipped", "returned"}
    assert catalog.table("cars").row_count == 406
    assert catalog.table("fixture") is None and catalog.table("querygpt_meta.fixture") is None


# -- SQL in the mysql dialect --------------------------------------------------------------------

def test_offline_planner_writes_mysql_sql_with_the_same_answer_as_duckdb(mysql_server, demo_path):
    ours = qg.ask("Average horsepower by origin", db=mysql_server.url)
    demo = qg.ask("Average horsepower by origin", db="demo")
    assert ours.error is None and ours.dialect == "mysql" and "`Horsepower`" in ours.sql
    pd.testing.assert_frame_equal(ours.df, demo.df, check_dtype=False)


def test_percent_signs_reach_the_server_intact(mysql_server):
    answer = qg.run_sql(
        "SELECT name, DATE_FORMAT(created_at, '%Y-%m') AS month, CONCAT(100, '%') AS pct "
        "FROM customers WHERE name LIKE '%Love%'", db=mysql_server.url)
    assert answer.error is None, answer.error
    assert answer.df.to_dict("records") == [{"name": "Ada Lovelace", "month": "2023-01", "pct": "100%"}]


def test_result_types(mysql):
    df = mysql.fetch("SELECT id, price, name, CAST('2024-01-02 03:04:05' AS DATETIME) AS at, created "
                     "FROM products, (SELECT DATE '2024-01-01' AS created) d ORDER BY id")
    assert df["price"][0] == Decimal("49.90") and df["name"][3] == "50% Off Voucher"
    assert df["at"][0] == pd.Timestamp("2024-01-02 03:04:05") and df["created"][0] == dt.date(2024, 1, 1)


def test_sql_a_model_writes_in_another_dialect_is_transpiled_to_mysql(mysql_server):
    with ScriptedOpenAIServer([Reply("```sql\nSELECT TOP 2 name FROM products ORDER BY price DESC\n```")]) as model:
        answer = qg.ask("The two most expensive products", db=mysql_server.url, model="openai/gpt-4o-mini",
                        api_base=model.base_url, tools="off")
    assert answer.error is None, answer.error
    assert answer.df["name"].tolist() == ['Monitor 27"', "Support plan, yearly"]
    assert answer.notes == ["Transpiled from tsql to mysql."] and "LIMIT 2" in answer.sql


# -- timeouts ------------------------------------------------------------------------------------

SLOW = "SELECT COUNT(*) AS n FROM seattle_temps a, seattle_temps b, seattle_temps c"


def running_queries(mysql_server):
    return mysql_server.scalar(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' "
        "AND INFO LIKE '%%seattle_temps c%%' AND ID <> CONNECTION_ID()")


def test_a_timeout_cancels_on_the_server_and_the_connection_stays_usable(mysql_server):
    started = time.monotonic()
    answer = qg.run_sql(SLOW, db=mysql_server.url, timeout_s=1)
    assert answer.error.code == "QUERY_TIMEOUT" and time.monotonic() - started < 8
    time.sleep(0.3)
    assert running_queries(mysql_server) == 0
    again = qg.run_sql("SELECT COUNT(*) AS n FROM orders", db=mysql_server.url)
    assert again.error is None and again.df["n"].tolist() == [8]


def test_max_statement_time_stops_the_query_on_its_own(mysql):
    started = time.monotonic()
    error = engine_error(mysql, SLOW, timeout_s=0.5)
    assert error.code == "QUERY_TIMEOUT" and "max_statement_time" in str(error)
    assert time.monotonic() - started < 5
    assert mysql.fetch("SELECT 1 AS one")["one"].tolist() == [1]


def test_interrupt_from_another_thread_kills_the_query_not_the_connection(mysql):
    threading.Timer(0.5, mysql.interrupt).start()
    error = engine_error(mysql, SLOW)
    assert error.code == "QUERY_TIMEOUT" and "interrupted" in str(error)
    assert mysql.fetch("SELECT 2 AS two")["two"].tolist() == [2]


def test_interrupt_works_when_the_query_holds_the_pools_only_connection(mysql_server):
    import sqlalchemy

    from querygpt_jupyter.connections.resolve import open_connection

    engine = sqlalchemy.create_engine(mysql_server.url, pool_size=1, max_overflow=0, pool_timeout=30)
    adapter = open_connection(engine, ())
    threading.Timer(0.5, adapter.interrupt).start()
    started = time.monotonic()
    assert engine_error(adapter, SLOW).code == "QUERY_TIMEOUT" and time.monotonic() - started < 5
    engine.dispose()


def test_session_limits_are_reset_for_the_next_user_of_the_connection(mysql_server):
    import sqlalchemy

    engine = sqlalchemy.create_engine(mysql_server.url, pool_size=1, max_overflow=0)
    assert qg.run_sql("SELECT 1", db=engine).error is None
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT @@max_statement_time").scalar() == 0
        assert connection.exec_driver_sql("SELECT @@in_transaction").scalar() == 0
    engine.dispose()


# -- attacks: refused by the guard, database unchanged -------------------------------------------

@pytest.mark.parametrize("sql, named", ATTACKS)
def test_attack_is_refused_and_the_database_is_unchanged(mysql_server, sql, named, marker):
    before = mysql_server.snapshot()
    answer = qg.run_sql(sql.format(marker=marker), db=mysql_server.url, timeout_s=10)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED", answer.error
    assert named in str(answer.error)
    assert mysql_server.snapshot() == before


@pytest.mark.parametrize("sql, says", WALL)
def test_with_the_guard_bypassed_the_engine_still_refuses(mysql, mysql_server, sql, says, marker):
    before = mysql_server.snapshot()
    error = engine_error(mysql, sql.format(marker=marker))
    assert error.code == "PERMISSION_DENIED" and says in str(error), error
    assert mysql_server.snapshot() == before
    assert mysql.fetch("SELECT 1 AS one")["one"].tolist() == [1]


def test_load_file_without_the_file_privilege_reads_nothing(mysql):
    assert mysql.fetch("SELECT LOAD_FILE('/etc/passwd') AS f")["f"].tolist() == [None]
