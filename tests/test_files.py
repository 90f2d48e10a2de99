"""Files and file databases: CSV and Parquet under the allowed folders are queryable through DuckDB
(next to DataFrames or the demo database, from run_sql and from a `%%ask --sql` cell) and refused
outside them; SQLite and DuckDB files refuse their engine-specific attacks and stay unchanged;
JupySQL's current `%sql` connection is picked up."""
from __future__ import annotations

import hashlib
import os
import sqlite3

import duckdb
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import querygpt_jupyter as qg
from querygpt_jupyter.connections.resolve import open_connection
from querygpt_jupyter.errors import PermissionDenied

TARGETS = pd.DataFrame({"region": ["north", "south", "east"], "target": [5, 50, 7]})


@pytest.fixture()
def folders(tmp_path, monkeypatch):
    """data/ (allowed) with sales.csv and sales.parquet; private/ (not allowed) with a secret;
    data/escape.csv, a symlink to the secret."""
    data, private = tmp_path / "data", tmp_path / "private"
    data.mkdir()
    private.mkdir()
    (data / "sales.csv").write_text("region,amount\nnorth,10\nsouth,20\nnorth,5\n")
    duckdb.sql(f"COPY (SELECT 'north' AS region, 2024 AS year UNION ALL SELECT 'south', 2025) "
               f"TO '{data / 'sales.parquet'}' (FORMAT parquet)")
    (private / "secret.csv").write_text("api_key\nsk-not-for-you\n")
    (data / "escape.csv").symlink_to(private / "secret.csv")
    monkeypatch.chdir(tmp_path)
    return str(data), str(private)


# -- CSV and Parquet under the allowed folders ---------------------------------------------------

def test_a_csv_under_an_allowed_folder_joins_a_dataframe(folders):
    data, _ = folders
    answer = qg.run_sql("SELECT t.region, SUM(s.amount) AS amount, MAX(t.target) AS target FROM df t "
                        "JOIN read_csv('data/sales.csv') s USING (region) GROUP BY t.region ORDER BY t.region",
                        db=TARGETS, allowed_paths=[data])
    assert answer.error is None, answer.error
    assert answer.df.to_dict("records") == [{"region": "north", "amount": 15, "target": 5},
                                            {"region": "south", "amount": 20, "target": 50}]


@pytest.mark.parametrize("sql", [
    pytest.param("SELECT * FROM read_parquet('data/sales.parquet') ORDER BY year", id="read-parquet"),
    pytest.param("SELECT * FROM 'data/sales.parquet' ORDER BY year", id="file-as-table-name"),
    pytest.param("SELECT * FROM read_parquet('{data}/*.parquet') ORDER BY year", id="absolute-glob"),
])
def test_parquet_under_an_allowed_folder_is_queryable(folders, sql):
    data, _ = folders
    answer = qg.run_sql(sql.format(data=data), db=TARGETS, allowed_paths=[data])
    assert answer.error is None, answer.error
    assert answer.df["region"].tolist() == ["north", "south"]


def test_the_demo_database_reads_files_from_folders_other_than_those_it_was_opened_with(folders, tmp_path, demo_path):
    """DuckDB fixes a file's sandbox when the process first opens it: another set of folders gets
    the same file attached read-only to an instance of its own."""
    data, private = folders
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "origins.csv").write_text("Origin,continent\nUSA,America\nJapan,Asia\nEurope,Europe\n")
    first = qg.run_sql("SELECT * FROM read_csv('data/sales.csv')", db="demo", allowed_paths=[data])
    assert first.error is None and len(first.df) == 3
    answer = qg.run_sql("SELECT o.continent, COUNT(*) AS cars FROM cars c JOIN read_csv('elsewhere/origins.csv') o "
                        "USING (Origin) GROUP BY o.continent ORDER BY cars DESC", db="demo", allowed_paths=[str(elsewhere)])
    assert answer.error is None, answer.error
    assert answer.df.to_dict("records")[0] == {"continent": "America", "cars": 254}
    # that instance's own sandbox holds when the guard is bypassed
    adapter = open_connection("demo", (os.path.realpath(elsewhere),))
    with pytest.raises(duckdb.Error) as raised:
        adapter.fetch(f"SELECT * FROM read_csv('{data}/sales.csv')")
    assert adapter.classify(raised.value).code == "PERMISSION_DENIED"
    with pytest.raises(PermissionDenied, match="CREATE statement"):  # DuckDB's own parse: not a SELECT
        adapter.fetch("CREATE TABLE cars_copy AS SELECT * FROM cars")


@pytest.mark.parametrize("sql", [
    pytest.param("SELECT * FROM read_csv('private/secret.csv')", id="other-folder"),
    pytest.param("SELECT * FROM read_csv('data/../private/secret.csv')", id="dotdot"),
    pytest.param("SELECT * FROM read_csv('data/escape.csv')", id="symlink-out"),
    pytest.param("SELECT * FROM read_csv('/etc/passwd')", id="absolute"),
    pytest.param("SELECT * FROM 'private/secret.csv'", id="file-as-table-name"),
    pytest.param("SELECT * FROM read_csv('data' || '/../private/secret.csv')", id="computed-path"),
    pytest.param("COPY (SELECT 1) TO 'data/out.csv'", id="copy-into-the-allowed-folder"),
])
@pytest.mark.parametrize("db", ["dataframe", "demo"])
def test_files_outside_the_allowed_folders_are_refused(folders, demo_path, sql, db):
    data, _ = folders
    answer = qg.run_sql(sql, db=TARGETS if db == "dataframe" else "demo", allowed_paths=[data])
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED", answer.error
    assert "sk-not-for-you" not in str(answer.error) and not os.path.exists("data/out.csv")


# -- from a notebook cell ------------------------------------------------------------------------

@pytest.fixture()
def shell(demo_path, monkeypatch):
    monkeypatch.setenv("PLOOMBER_STATS_ENABLED", "false")  # JupySQL's telemetry, if a test loads it
    monkeypatch.setenv("PLOOMBER_VERSION_CHECK_DISABLED", "1")
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext querygpt_jupyter")
    yield shell
    sql_connection = __import__("sys").modules.get("sql.connection")
    if sql_connection is not None:  # JupySQL's connections are process-global: leave none behind
        sql_connection.ConnectionManager.close_all()
        sql_connection.ConnectionManager.current = None
    shell.run_cell("%unload_ext querygpt_jupyter")
    shell.reset()
    shell.rl_next_input = None
    InteractiveShell.clear_instance()


def run(shell, code, succeeds=True):
    with capture_output() as captured:
        result = shell.run_cell(code)
    assert result.success == succeeds, result.error_in_exec
    return captured, result


def test_an_ask_sql_cell_reads_a_csv_under_the_allowed_folders(shell, folders):
    data, _ = folders
    shell.user_ns["targets"] = TARGETS
    run(shell, f"%config Ask.allowed_paths = [{data!r}]")
    run(shell, "%%ask --sql --conn dataframes --name joined\n"
               "SELECT t.region, s.amount FROM targets t JOIN read_csv('data/sales.csv') s USING (region) "
               "ORDER BY s.amount")
    assert shell.user_ns["joined"]["amount"].tolist() == [5, 10, 20]
    captured, result = run(shell, "%%ask --sql --conn demo --name leaked\nSELECT * FROM read_csv('private/secret.csv')",
                           succeeds=False)
    assert result.error_in_exec.code == "PERMISSION_DENIED" and "leaked" not in shell.user_ns
    assert "sk-not-for-you" not in captured.stdout + "".join(str(o.data) for o in captured.outputs)


def test_jupysql_current_connection_is_picked_up(shell, shop_sqlite):
    run(shell, "%load_ext sql")
    run(shell, f"%sql sqlite:///{shop_sqlite}")
    from querygpt_jupyter.session import current_session

    assert "jupysql" in current_session().connection_names()
    tables, _ = run(shell, "%ask tables")
    assert "customers" in tables.stdout + "".join(str(o.data) for o in tables.outputs)
    run(shell, "%%ask --sql --name n_orders\nSELECT COUNT(*) AS n FROM orders")
    assert shell.user_ns["n_orders"]["n"].tolist() == [3]


# -- SQLite files: attacks refused, file unchanged -----------------------------------------------

SQLITE_ATTACKS = [
    pytest.param("ATTACH DATABASE '{elsewhere}' AS other", "ATTACH", id="attach"),
    pytest.param("SELECT load_extension('{elsewhere}')", "load_extension()", id="load-extension"),
    pytest.param("PRAGMA writable_schema = ON", "PRAGMA", id="pragma-writable-schema"),
    pytest.param("PRAGMA query_only = OFF", "PRAGMA", id="pragma-query-only-off"),
    pytest.param("VACUUM INTO '{elsewhere}'", "VACUUM", id="vacuum-into"),
    pytest.param("SELECT writefile('{elsewhere}', 'x')", "writefile()", id="writefile"),
    pytest.param("INSERT INTO orders VALUES (9, 1, 1.0)", "INSERT", id="insert"),
    pytest.param("SELECT 1; DROP TABLE orders", "2 statements", id="second-statement"),
]


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.parametrize("sql, named", SQLITE_ATTACKS)
def test_sqlite_attack_is_refused_and_the_file_is_unchanged(shop_sqlite, tmp_path, sql, named):
    elsewhere = tmp_path / "elsewhere.db"
    before = digest(shop_sqlite)
    answer = qg.run_sql(sql.format(elsewhere=elsewhere), db=shop_sqlite)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED" and named in str(answer.error)
    assert digest(shop_sqlite) == before and not elsewhere.exists()


@pytest.mark.parametrize("sql", [
    pytest.param("INSERT INTO orders VALUES (9, 1, 1.0)", id="insert"),
    pytest.param("DELETE FROM orders", id="delete"),
    pytest.param("CREATE TABLE stolen AS SELECT * FROM customers", id="create-table"),
    pytest.param("SELECT load_extension('/tmp/evil.so')", id="load-extension"),
])
def test_sqlite_mode_ro_refuses_writes_when_the_guard_is_bypassed(shop_sqlite, sql):
    adapter = open_connection(shop_sqlite, ())
    before = digest(shop_sqlite)
    with pytest.raises(sqlite3.Error) as raised:
        adapter.fetch(sql)
    assert adapter.classify(raised.value).code == "PERMISSION_DENIED"
    assert digest(shop_sqlite) == before


def test_sqlite_engine_refuses_attach_when_the_guard_is_bypassed(shop_sqlite, tmp_path):
    adapter = open_connection(shop_sqlite, ())
    try:
        adapter.fetch(f"ATTACH DATABASE '{tmp_path / 'created.db'}' AS other")
    except sqlite3.Error:
        pass
    assert not (tmp_path / "created.db").exists()


# -- DuckDB files: attacks refused, file unchanged -----------------------------------------------

@pytest.mark.parametrize("sql, named", [
    pytest.param("ATTACH '{elsewhere}' AS other", "ATTACH", id="attach"),
    pytest.param("COPY customers TO '{elsewhere}'", "COPY", id="copy-to"),
    pytest.param("INSTALL httpfs", "INSTALL", id="install"),
    pytest.param("SET enable_external_access = true", "SET", id="set"),
    pytest.param("CREATE TEMP TABLE t AS SELECT * FROM customers", "CREATE", id="create-temp-table"),
])
def test_duckdb_attack_is_refused_and_the_file_is_unchanged(shop_duckdb, tmp_path, sql, named):
    elsewhere = tmp_path / "elsewhere.csv"
    before = digest(shop_duckdb)
    answer = qg.run_sql(sql.format(elsewhere=elsewhere), db=shop_duckdb, allowed_paths=[str(tmp_path)])
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED" and named in str(answer.error)
    assert digest(shop_duckdb) == before and not elsewhere.exists()
