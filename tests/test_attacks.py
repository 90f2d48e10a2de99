"""Attacks per engine, judged by their harm: after each one the protected table is intact (not
dropped, not shadowed by a temporary one), no file appeared, and the canary (a secret file outside
the allowed folder) is absent from the answer — not only "an error code came back".

Every table runs twice: with the guard (it must refuse) and with the guard switched off by the
test-only `guard_off` fixture (each engine's own wall must then stop the harm alone).

The smuggling family: sqlglot 30.31 renders some quoted names unquoted (type positions, EXTRACT
parts), so one quoted name could become several statements once rendered (NOTES.md). The guard
now parses what it rendered and refuses anything but the one checked tree; the engines run one
statement by their own parse (DuckDB extract_statements, PostgreSQL's cursor, sqlite3 and PyMySQL
without multi-statements).
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb
import pandas as pd
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter.sql import guard
from servers import mysql, mysql_server, pg, pg_server  # noqa: F401  (fixtures)

CANARY = "canary-3f9a1c7e"
PROTECTED = "qg_attack_cars"       # the table every attack tries to drop, write or shadow
SERVER_MARKER = "/tmp/qg_attack_pwned"   # a file a database server would write
ROWS = 3

# One quoted name that sqlglot 30.31 renders unquoted, by dialect: "{p}" is the smuggled middle.
SMUGGLERS = {
    "duckdb": {
        "cast": 'SELECT CAST(NULL AS "x); {p}; SELECT CAST(NULL AS x")',
        "try-cast": 'SELECT TRY_CAST(NULL AS "x); {p}; SELECT CAST(NULL AS x")',
        "list-type": 'SELECT CAST(NULL AS "x); {p}; SELECT CAST(NULL AS x"[])',
        "schema-qualified-type": 'SELECT CAST(NULL AS s."x); {p}; SELECT CAST(NULL AS x")',
        "convert": 'SELECT CONVERT(NULL, "x); {p}; SELECT CAST(NULL AS x")',
        "extract": 'SELECT EXTRACT("year FROM now()); {p}; SELECT EXTRACT(year" FROM now())',
    },
    "sqlite": {
        "cast": 'SELECT CAST(NULL AS "x); {p}; SELECT CAST(NULL AS x")',
        "cast-backticks": "SELECT CAST(NULL AS `x); {p}; SELECT CAST(NULL AS x`)",
        "extract": 'SELECT EXTRACT("year FROM now()); {p}; SELECT EXTRACT(year" FROM now())',
    },
    "postgres": {
        "extract": 'SELECT EXTRACT("year FROM now()); {p}; SELECT EXTRACT(year" FROM now())',
        "date-part": 'SELECT date_part("year FROM now()); {p}; SELECT EXTRACT(year", now())',
        "cast": 'SELECT CAST(NULL AS "x); {p}; SELECT CAST(NULL AS x")',
        "double-colon": 'SELECT NULL::"x; {p}; SELECT NULL::x"',
        "map-value-type": 'SELECT CAST(NULL AS MAP(VARCHAR, "x); {p}; SELECT CAST(NULL AS x"))',
        "nested-quotes": 'SELECT CAST(NULL AS "a"";b); {p}; SELECT CAST(NULL AS c")',
    },
    "mysql": {
        "extract-backticks": "SELECT EXTRACT(`year FROM NOW()); {p}; SELECT EXTRACT(year` FROM NOW())",
    },
}


SMUGGLED: set[str] = set()


def smuggled(dialect: str, payloads: dict[str, str]) -> list:
    cases = [pytest.param(template.format(p=payload), id=f"smuggle-{how}-{what}")
             for how, template in SMUGGLERS[dialect].items() for what, payload in payloads.items()]
    SMUGGLED.update(case.values[0] for case in cases)
    return cases


def rendered_as_several(sql: str, dialect: str) -> bool:
    """Whether sqlglot's plain render of `sql` reads back as more than one statement: the quirk
    the guard must refuse. (Where the render is faithful, the quoted name reaches the engine as
    one odd name and fails there, harmlessly.)"""
    import sqlglot

    try:
        rendered = sqlglot.parse_one(sql, read=dialect).sql(dialect, comments=False)
        return len([s for s in sqlglot.parse(rendered, read=dialect) if s is not None]) > 1
    except sqlglot.errors.SqlglotError:
        return False


def test_the_smuggling_family_still_bites_this_sqlglot():
    """If sqlglot stops dropping quotes, these tables test less: say so rather than pass quietly."""
    live = {dialect for dialect, templates in SMUGGLERS.items() for template in templates.values()
            if rendered_as_several(template.format(p=f"COMMIT; DROP TABLE {PROTECTED}"), dialect)}
    assert live == {"duckdb", "sqlite", "postgres", "mysql"}


# -- what each engine's attacks aim at -------------------------------------------------------------

DUCKDB_PAYLOADS = {
    "drop": f"COMMIT; DROP TABLE {PROTECTED}",
    "copy-to-file": "COPY (SELECT 1 AS x) TO 'pwned.csv'",
    "temp-table-shadow": f"CREATE TEMP TABLE {PROTECTED} AS SELECT 1 AS x",
    "read-canary": "SELECT * FROM read_text('../secret/canary.csv')",
    "read-environ": "SELECT * FROM read_text('/proc/self/environ')",
    "attach-new-file": "ATTACH 'pwned.duckdb' AS p",
}
DUCKDB_DIRECT = [
    pytest.param(f"SELECT 1; DROP TABLE {PROTECTED}", id="second-statement"),
    pytest.param("COPY (SELECT 1 AS x) TO 'pwned.csv'", id="copy-to-file"),
    pytest.param(f"CREATE TEMP TABLE {PROTECTED} AS SELECT 1 AS x", id="create-temp-table-shadow"),
    pytest.param("ATTACH 'pwned.duckdb' AS p", id="attach-new-file"),
    pytest.param("EXPORT DATABASE 'pwned_export'", id="export-database"),
    pytest.param("BEGIN TRANSACTION", id="begin"),
    pytest.param("SET enable_external_access = true", id="set-external-access"),
    pytest.param("SELECT * FROM read_text('../secret/canary.csv')", id="read-outside"),
    pytest.param("SELECT * FROM read_text('..\\secret\\canary.cs?')", id="read-backslash-glob"),
    pytest.param("SELECT * FROM '..\\secret\\canary.csv'", id="from-backslash-path"),
    pytest.param("SELECT * FROM read_csv('..\\secret\\*.csv')", id="read-csv-backslash-wildcard"),
    pytest.param("SELECT * FROM read_text('../secret/' || 'canary.csv')", id="computed-path"),
    pytest.param("SELECT * FROM read_text(['data/bad.csv', '../secret/canary.csv'])", id="read-outside-in-a-list"),
    pytest.param("SELECT * FROM read_text('data\\..\\..\\secret\\canary.cs?')", id="read-backslash-dotdot-glob"),
    pytest.param("SELECT * FROM read_csv('data/../../secret/canary.csv')", id="read-dotdot"),
    pytest.param("SELECT * FROM read_text('/proc/self/environ')", id="proc-self-environ"),
    pytest.param(f"SELECT * FROM read_csv('data/bad.csv', store_rejects = true, rejects_table = '{PROTECTED}')",
                 id="rejects-table-shadow"),
    pytest.param("SELECT * FROM read_csv('data/bad.csv', store_rejects = true, "
                 f"rejects_scan = '{PROTECTED}', ignore_errors = true)", id="rejects-scan-shadow"),
]
# File reads need the DuckDB sandbox, which the analyst's own connection cannot get (docs/databases.md).
DUCKDB_FILE_READS = {"read-outside", "read-backslash-glob", "from-backslash-path", "read-csv-backslash-wildcard",
                     "computed-path", "proc-self-environ", "read-outside-in-a-list", "read-backslash-dotdot-glob",
                     "read-dotdot", "read-canary", "read-environ"}

SQLITE_PAYLOADS = {
    "drop": f"COMMIT; DROP TABLE {PROTECTED}",
    "fts3-tokenizer": "SELECT fts3_tokenizer('simple')",
    "attach-new-file": "ATTACH 'pwned.sqlite' AS p",
}
SQLITE_DIRECT = [
    pytest.param(f"SELECT 1; DROP TABLE {PROTECTED}", id="second-statement"),
    pytest.param(f"DROP TABLE {PROTECTED}", id="drop-table"),
    pytest.param(f"INSERT INTO {PROTECTED} VALUES (99)", id="insert"),
    pytest.param("SELECT fts3_tokenizer('simple')", id="fts3-tokenizer-pointer-leak"),
    pytest.param("SELECT fts3_tokenizer('simple', x'0000000000000000')", id="fts3-tokenizer-pointer-write"),
    pytest.param("SELECT load_extension('pwned')", id="load-extension"),
    pytest.param("ATTACH 'pwned.sqlite' AS p", id="attach-new-file"),
    pytest.param("VACUUM INTO 'pwned.sqlite'", id="vacuum-into-file"),
    pytest.param(f"CREATE TEMP TABLE {PROTECTED} AS SELECT 1 AS x", id="create-temp-table-shadow"),
    pytest.param("BEGIN", id="begin"),
    pytest.param("SAVEPOINT s", id="savepoint"),
    pytest.param("PRAGMA query_only = OFF", id="pragma-query-only-off"),
    pytest.param("PRAGMA writable_schema = ON", id="pragma-writable-schema"),
]


PG_PAYLOADS = {
    "drop": f"COMMIT; DROP TABLE {PROTECTED}",
    "read-write-then-drop": f"COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DROP TABLE {PROTECTED}",
}
PG_DIRECT = [
    pytest.param(f"SELECT 1; DROP TABLE {PROTECTED}", id="second-statement"),
    pytest.param(f"COMMIT; DROP TABLE {PROTECTED}", id="commit-then-drop"),
    pytest.param(f"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DROP TABLE {PROTECTED}",
                 id="session-read-write-commit-drop"),
    pytest.param(f"SET default_transaction_read_only = off; COMMIT; INSERT INTO {PROTECTED} VALUES (99)",
                 id="default-read-write-commit-insert"),
    pytest.param(f"DROP TABLE {PROTECTED}", id="drop-table"),
    pytest.param(f"WITH d AS (DELETE FROM {PROTECTED} RETURNING *) SELECT count(*) FROM d", id="writable-cte"),
    pytest.param(f"DELETE FROM {PROTECTED} RETURNING *", id="delete-returning"),
    pytest.param(f"CREATE TEMP TABLE {PROTECTED} AS SELECT 1 AS x", id="create-temp-table-shadow"),
    pytest.param(f"COPY (SELECT 1) TO '{SERVER_MARKER}'", id="copy-to-server-file"),
    pytest.param("SELECT pg_read_file('/etc/passwd')", id="pg-read-file"),
]

MYSQL_PAYLOADS = {"drop": f"COMMIT; DROP TABLE {PROTECTED}"}
MYSQL_DIRECT = [
    pytest.param(f"SELECT 1; DROP TABLE {PROTECTED}", id="second-statement"),
    pytest.param(f"DROP TABLE {PROTECTED}", id="drop-table"),
    pytest.param(f"INSERT INTO {PROTECTED} VALUES (99)", id="insert"),
    pytest.param(f"CREATE TEMPORARY TABLE {PROTECTED} (x int)", id="create-temporary-table-shadow"),
    pytest.param("SET SESSION TRANSACTION READ WRITE", id="session-read-write"),
    pytest.param("COMMIT", id="commit"),
    pytest.param(f"SELECT * FROM customers INTO OUTFILE '{SERVER_MARKER}'", id="into-outfile"),
]

ATTACKS = {
    "duckdb": [*smuggled("duckdb", DUCKDB_PAYLOADS), *DUCKDB_DIRECT],
    "sqlite": [*smuggled("sqlite", SQLITE_PAYLOADS), *SQLITE_DIRECT],
    "postgres": [*smuggled("postgres", PG_PAYLOADS), *PG_DIRECT],
    "mysql": [*smuggled("mysql", MYSQL_PAYLOADS), *MYSQL_DIRECT],
}


# -- the folders, the canary and the guard switch --------------------------------------------------

@pytest.fixture()
def guard_off(monkeypatch):
    """The guard switched off (test-only): SQL reaches the engine as written."""
    monkeypatch.setattr(guard, "_off_for_tests", True)


@pytest.fixture()
def folders(tmp_path, monkeypatch):
    """allowed/ (the working directory and the only allowed folder) with data/ files; secret/
    outside it with the canary."""
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    (allowed / "data").mkdir(parents=True)
    secret.mkdir()
    (secret / "canary.csv").write_text(f"secret\n{CANARY}\n")
    (allowed / "data" / "bad.csv").write_text("x,y\n1,2\nbad,row,extra\n")
    monkeypatch.chdir(allowed)
    return allowed


def _files(folder) -> set[str]:
    return {os.path.relpath(os.path.join(root, name), folder)
            for root, dirs, names in os.walk(folder) for name in names + dirs}


@dataclass
class Target:
    """An engine with a protected table: how to reach it and how to count the table's rows."""

    db: Any
    count: Callable[[], Any]           # rows of the protected table, seen from outside the product
    dialect: str = "duckdb"
    name: str = ""                     # for the figures
    options: dict = field(default_factory=dict)


def _check_no_harm(target: Target, folder, files_before: set[str], answer) -> None:
    shown = json.dumps(answer.to_dict(), default=str) + str(answer.error)
    assert CANARY not in shown, "the canary reached the answer"
    assert "PATH=" not in shown, "the environment reached the answer"
    assert _files(folder) == files_before, f"files appeared: {_files(folder) - files_before}"
    assert not os.path.exists(SERVER_MARKER), "the server wrote a file"
    assert target.count() == ROWS, "the protected table was changed or dropped"
    again = qg.run_sql(f"SELECT count(*) AS n FROM {PROTECTED}", db=target.db, **target.options)
    assert again.error is None and again.df["n"].tolist() == [ROWS], "the protected table is shadowed or gone"


def _attack(target: Target, folder, sql: str, guard_on: bool):
    before = _files(folder)
    answer = qg.run_sql(sql, db=target.db, timeout_s=20, **target.options)
    _record(target, guard_on, answer)
    if guard_on:
        assert answer.error is not None, f"the attack ran: {answer.df}"
        if sql not in SMUGGLED or rendered_as_several(sql, target.dialect):
            assert answer.error.code == "PERMISSION_DENIED", answer.error
    # With the guard off a harmless remainder may run (read_csv with reject tables, rolled back):
    # the engine wall is judged by the harm alone.
    _check_no_harm(target, folder, before, answer)
    return answer


def _record(target: Target, guard_on: bool, answer) -> None:
    """With QUERYGPT_ATTACK_FIGURES=file, one JSON line per attack (for the figures in a report)."""
    figures = os.environ.get("QUERYGPT_ATTACK_FIGURES")
    if figures:
        with open(figures, "a") as out:
            out.write(json.dumps({"engine": target.name, "dialect": target.dialect, "guard": guard_on,
                                  "code": answer.error.code if answer.error else None}) + "\n")


# -- the engines ------------------------------------------------------------------------------------

def _duckdb_file(path) -> None:
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE {PROTECTED} AS SELECT * FROM range({ROWS}) t(a)")
    con.close()


@pytest.fixture()
def duckdb_file(folders):
    path = folders / "shop.duckdb"
    _duckdb_file(path)

    def count():
        with duckdb.connect(str(path), read_only=True) as con:  # the product's own instance, read-only
            return con.execute(f"SELECT count(*) FROM {PROTECTED}").fetchone()[0]

    return Target(str(path), count, name="duckdb file")


# The product remembers adapters by the connection object's id(): connections stay alive for the
# session so that no later test's connection gets a recycled id.
_KEPT: list = []


@pytest.fixture()
def own_duckdb(folders):
    """The analyst's own writable DuckDB connection, as a notebook holds it."""
    con = duckdb.connect(str(folders / "own.duckdb"))
    _KEPT.append(con)
    con.execute(f"CREATE TABLE {PROTECTED} AS SELECT * FROM range({ROWS}) t(a)")
    return Target(con, lambda: con.execute(f"SELECT count(*) FROM {PROTECTED}").fetchone()[0], name="own duckdb con")


@pytest.fixture()
def dataframes(folders):
    frame = pd.DataFrame({"a": range(ROWS)})
    return Target({PROTECTED: frame}, lambda: len(frame), name="dataframes")


def _sqlite_file(path) -> None:
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE {PROTECTED} (a INTEGER)")
    con.executemany(f"INSERT INTO {PROTECTED} VALUES (?)", [(i,) for i in range(ROWS)])
    con.commit()
    con.close()


def _sqlite_count(path):
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {PROTECTED}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture()
def sqlite_file(folders):
    path = str(folders / "shop.sqlite")
    _sqlite_file(path)
    return Target(path, lambda: _sqlite_count(path), "sqlite", "sqlite file")


@pytest.fixture()
def own_sqlite(folders):
    """The analyst's own writable sqlite3 connection."""
    path = str(folders / "own.sqlite")
    _sqlite_file(path)
    con = sqlite3.connect(path)
    _KEPT.append(con)
    return Target(con, lambda: con.execute(f"SELECT count(*) FROM {PROTECTED}").fetchone()[0], "sqlite", "own sqlite3 con")


def _server_table(server, owner_sql: list[str]) -> None:
    with server.admin.connect() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {PROTECTED}")
        connection.exec_driver_sql(f"CREATE TABLE {PROTECTED} (a int)")
        connection.exec_driver_sql(f"INSERT INTO {PROTECTED} VALUES {', '.join(f'({i})' for i in range(ROWS))}")
        for statement in owner_sql:
            connection.exec_driver_sql(statement)
        connection.commit()


def _server_count(server):
    try:
        return server.scalar(f"SELECT count(*) FROM {PROTECTED}")
    except Exception as error:  # the table is gone
        return f"unreadable: {str(error).splitlines()[0]}"


@pytest.fixture()
def postgres(pg_server, folders):
    """A table the product's role owns: only the read-only walls keep it from dropping it."""
    _server_table(pg_server, [f"ALTER TABLE {PROTECTED} OWNER TO querygpt"])
    return Target(pg_server.url, lambda: _server_count(pg_server), "postgres", "postgresql")


@pytest.fixture()
def mariadb(mysql_server, folders):
    """A table the product's account may write and drop: only the read-only walls protect it."""
    database = mysql_server.url.rsplit("/", 1)[1].split("?")[0]
    _server_table(mysql_server, [f"GRANT ALL PRIVILEGES ON {database}.{PROTECTED} TO 'querygpt'@'127.0.0.1'"])
    return Target(mysql_server.url, lambda: _server_count(mysql_server), "mysql", "mariadb")


# -- guard on: refused, no harm --------------------------------------------------------------------

DUCKDB_TARGETS = ["duckdb_file", "own_duckdb", "dataframes"]


@pytest.mark.parametrize("engine", DUCKDB_TARGETS)
@pytest.mark.parametrize("sql", ATTACKS["duckdb"])
def test_duckdb_attack_is_refused_without_harm(request, engine, sql, folders):
    _attack(request.getfixturevalue(engine), folders, sql, guard_on=True)


@pytest.mark.parametrize("engine", ["sqlite_file", "own_sqlite"])
@pytest.mark.parametrize("sql", ATTACKS["sqlite"])
def test_sqlite_attack_is_refused_without_harm(request, engine, sql, folders):
    _attack(request.getfixturevalue(engine), folders, sql, guard_on=True)


@pytest.mark.parametrize("sql", ATTACKS["postgres"])
def test_postgres_attack_is_refused_without_harm(postgres, sql, folders):
    _attack(postgres, folders, sql, guard_on=True)


@pytest.mark.parametrize("sql", ATTACKS["mysql"])
def test_mariadb_attack_is_refused_without_harm(mariadb, sql, folders):
    _attack(mariadb, folders, sql, guard_on=True)


# -- guard off: each engine's wall alone -----------------------------------------------------------

def _wall_cases(engine: str, cases: list) -> list:
    if engine != "own_duckdb":
        return cases
    return [case for case in cases if not any(read in case.id for read in DUCKDB_FILE_READS)]


@pytest.mark.parametrize("engine, sql", [
    pytest.param(engine, *case.values, id=f"{engine}-{case.id}")
    for engine in DUCKDB_TARGETS for case in _wall_cases(engine, ATTACKS["duckdb"])
])
def test_duckdb_wall_alone_stops_the_attack(request, engine, sql, folders, guard_off):
    _attack(request.getfixturevalue(engine), folders, sql, guard_on=False)


# The analyst's own writable DuckDB connection has one wall for file reads (docs/databases.md):
# pinned, so that the day DuckDB can sandbox a shared database this fails and the label goes.
READ_CANARY = "SELECT * FROM read_text('../secret/canary.csv')"


def test_own_duckdb_connection_is_labelled_as_one_wall(own_duckdb, folders):
    answer = qg.run_sql(f"SELECT count(*) AS n FROM {PROTECTED}", db=own_duckdb.db, chart=False)
    assert answer.error is None and "one wall" in answer.to_dict()["connection"]


def test_own_duckdb_connection_file_reads_are_refused_by_the_guard(own_duckdb, folders):
    answer = qg.run_sql(READ_CANARY, db=own_duckdb.db, chart=False)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED" and CANARY not in str(answer.to_dict())


def test_own_duckdb_connection_file_reads_meet_the_guard_alone(own_duckdb, folders, guard_off):
    answer = qg.run_sql(READ_CANARY, db=own_duckdb.db, chart=False)
    assert answer.error is None and CANARY in str(answer.to_dict()["rows"])   # the documented gap


def test_the_same_file_by_path_has_both_walls(folders, guard_off):
    path = folders / "closed.duckdb"
    _duckdb_file(path)   # written, then closed: the product opens it read-only in the sandbox
    answer = qg.run_sql(READ_CANARY, db=str(path), chart=False)
    assert answer.error is not None and CANARY not in str(answer.to_dict())
    assert "one wall" not in answer.to_dict()["connection"]


@pytest.mark.parametrize("engine", ["sqlite_file", "own_sqlite"])
@pytest.mark.parametrize("sql", ATTACKS["sqlite"])
def test_sqlite_wall_alone_stops_the_attack(request, engine, sql, folders, guard_off):
    _attack(request.getfixturevalue(engine), folders, sql, guard_on=False)


@pytest.mark.parametrize("sql", ATTACKS["postgres"])
def test_postgres_wall_alone_stops_the_attack(postgres, sql, folders, guard_off):
    _attack(postgres, folders, sql, guard_on=False)


@pytest.mark.parametrize("sql", ATTACKS["mysql"])
def test_mariadb_wall_alone_stops_the_attack(mariadb, sql, folders, guard_off):
    _attack(mariadb, folders, sql, guard_on=False)


# -- the demo database (issue 12's own cases) -------------------------------------------------------

DEMO_ATTACKS = [
    pytest.param('SELECT CAST(NULL AS "guid); COPY (SELECT 1 AS x) TO \'pwned.csv\'; SELECT CAST(NULL AS guid")',
                 id="smuggled-copy-to-file"),
    pytest.param('SELECT CAST(NULL AS "guid); CREATE TEMP TABLE cars AS SELECT 1 AS x; SELECT CAST(NULL AS guid")',
                 id="smuggled-temp-table-shadow"),
    pytest.param('SELECT CAST(NULL AS "guid); COMMIT; DROP TABLE cars; SELECT CAST(NULL AS guid")', id="smuggled-drop"),
    pytest.param("COPY (SELECT 1 AS x) TO 'pwned.csv'", id="copy-to-file-under-allowed-folder"),
    pytest.param("CREATE TEMP TABLE cars AS SELECT 1 AS x", id="temp-table-shadow"),
    pytest.param("SELECT * FROM read_csv('data/bad.csv', store_rejects = true, rejects_table = 'cars')",
                 id="rejects-table-shadow"),
    pytest.param("SELECT * FROM read_text('../secret/canary.csv')", id="read-outside"),
    pytest.param("SELECT * FROM read_text('..\\secret\\canary.cs?')", id="read-backslash-glob"),
]


@pytest.mark.parametrize("guard_on", [True, False], ids=["guard-on", "guard-off"])
@pytest.mark.parametrize("sql", DEMO_ATTACKS)
def test_demo_attack_leaves_no_file_and_no_shadow(sql, guard_on, folders, demo_path, monkeypatch):
    if not guard_on:
        monkeypatch.setattr(guard, "_off_for_tests", True)
    before = _files(folders)
    answer = qg.run_sql(sql, db="demo")
    _record(Target("demo", lambda: None, name="demo"), guard_on, answer)
    if guard_on:
        assert answer.error is not None and answer.error.code == "PERMISSION_DENIED", answer.error
    assert CANARY not in json.dumps(answer.to_dict(), default=str) + str(answer.error)
    assert _files(folders) == before
    cars = qg.run_sql("SELECT count(*) AS n FROM cars", db="demo")
    assert cars.error is None and cars.df["n"].tolist() == [406]


# -- the walls one at a time, below the product -----------------------------------------------------

def test_postgres_session_stays_read_only_after_a_smuggled_commit(pg, postgres):
    """Sent as plain text (no cursor wall), a COMMIT ends the read-only transaction; the next
    one is read-only by the session's default, so the DROP still fails."""
    with pytest.raises(Exception) as raised:
        pg.rows(f"COMMIT; DROP TABLE {PROTECTED}")
    assert pg.classify(raised.value).code == "PERMISSION_DENIED"
    assert postgres.count() == ROWS


def test_postgres_session_default_is_read_only_from_connect(pg_server):
    import sqlalchemy

    from querygpt_jupyter.connections.postgres_adapter import PostgresAdapter

    url = sqlalchemy.engine.make_url(pg_server.url)
    engine = sqlalchemy.create_engine(url, connect_args=PostgresAdapter.connect_args(url))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
    engine.dispose()


def test_postgres_users_own_engine_gets_its_session_back_unchanged(pg_server):
    import sqlalchemy

    engine = sqlalchemy.create_engine(pg_server.url, pool_size=1, max_overflow=0)
    answer = qg.run_sql("SELECT 1 AS one", db=engine)
    assert answer.error is None
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "off"
    engine.dispose()


def test_mariadb_session_stays_read_only_after_a_commit(mysql, mariadb):
    def commit_then_drop(cursor):
        cursor.execute("COMMIT")
        cursor.execute(f"DROP TABLE {PROTECTED}")

    with pytest.raises(Exception) as raised:
        mysql._in_read_only_transaction(commit_then_drop, 10)
    assert mysql.classify(raised.value).code == "PERMISSION_DENIED"
    assert mariadb.count() == ROWS


def test_mariadb_refuses_a_connection_that_runs_several_statements(mysql_server, mariadb):
    import sqlalchemy
    from pymysql.constants import CLIENT

    engine = sqlalchemy.create_engine(mysql_server.url, connect_args={"client_flag": CLIENT.MULTI_STATEMENTS})
    answer = qg.run_sql("SELECT 1 AS one", db=engine)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED"
    assert "several statements" in str(answer.error)
    engine.dispose()


def test_mariadb_users_own_engine_gets_its_session_back_read_write(mysql_server):
    import sqlalchemy

    engine = sqlalchemy.create_engine(mysql_server.url, pool_size=1, max_overflow=0)
    assert qg.run_sql("SELECT 1 AS one", db=engine).error is None
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT @@session.tx_read_only").scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("sql", [
    pytest.param("SELECT 1; SELECT 2", id="two-queries"),
    pytest.param(f"SELECT 1; DROP TABLE {PROTECTED}", id="query-then-drop"),
    pytest.param("COPY (SELECT 1) TO 'pwned.csv'", id="copy"),
    pytest.param("PRAGMA version", id="pragma"),
    pytest.param("CALL pragma_version()", id="call"),
])
def test_duckdb_runs_only_one_select_by_its_own_parse(sql):
    from querygpt_jupyter import errors
    from querygpt_jupyter.connections.duckdb_adapter import single_select

    with pytest.raises(errors.PermissionDenied):
        single_select(duckdb.connect(), sql)


@pytest.mark.parametrize("sql", ["PRAGMA query_only = OFF", "PRAGMA writable_schema = ON", "PRAGMA cache_size = 1"])
def test_sqlite_settings_cannot_be_changed_even_without_the_guard(sqlite_file, sql, guard_off):
    assert qg.run_sql(sql, db=sqlite_file.db).error.code == "PERMISSION_DENIED"
    assert qg.run_sql("PRAGMA query_only", db=sqlite_file.db).df.values.tolist() == [[1]]


def test_sqlite_execute_refuses_a_second_statement(sqlite_file):
    from querygpt_jupyter.connections.sqlite_adapter import SQLiteAdapter

    adapter = SQLiteAdapter(sqlite_file.db)
    with pytest.raises(Exception) as raised:
        adapter.fetch(f"SELECT 1; DROP TABLE {PROTECTED}")
    assert adapter.classify(raised.value).code == "PERMISSION_DENIED"
    assert sqlite_file.count() == ROWS


# -- legit stays legit ------------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    pytest.param('SELECT CAST(a AS VARCHAR) AS v FROM "qg_attack_cars" ORDER BY a', id="cast"),
    pytest.param("SELECT EXTRACT(year FROM DATE '2024-05-01') AS y FROM qg_attack_cars LIMIT 1", id="extract"),
    pytest.param("SELECT a::DOUBLE AS d, TRY_CAST('x' AS INTEGER) AS t FROM qg_attack_cars ORDER BY a", id="casts"),
    pytest.param("SELECT * FROM read_csv('data\\bad.cs?', ignore_errors = true)", id="backslash-glob-inside"),
    pytest.param("PIVOT qg_attack_cars ON a USING count(*)", id="pivot-looking-up-its-columns"),
    pytest.param("SELECT * FROM (PIVOT qg_attack_cars ON a USING count(*)) ORDER BY 1", id="pivot-in-a-query"),
])
@pytest.mark.parametrize("engine", DUCKDB_TARGETS)
def test_ordinary_queries_still_run_on_duckdb(request, engine, sql):
    answer = qg.run_sql(sql, db=request.getfixturevalue(engine).db)
    assert answer.error is None, answer.error
    assert len(answer.df) >= 1


# -- what runs is what was checked, whatever the generator does ------------------------------------

@pytest.mark.parametrize("quirk", [
    pytest.param(lambda sql: sql + "; DROP TABLE t", id="adds-a-statement"),
    pytest.param(lambda sql: sql.replace('"', "").replace("`", ""), id="drops-quotes"),
    pytest.param(lambda sql: sql.replace("= 1", "= 2"), id="changes-a-value"),
    pytest.param(lambda sql: sql.replace("(", "", 1), id="loses-a-parenthesis"),
    pytest.param(lambda sql: "", id="renders-nothing"),
])
@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "mysql", "sqlite"])
def test_a_rendering_that_is_not_the_checked_query_is_refused(monkeypatch, quirk, dialect):
    """A stand-in for any future generator bug: the rendered text must read back as the tree."""
    from sqlglot import exp

    from querygpt_jupyter import errors

    query = exp.select(exp.func("upper", exp.column("the name", quoted=True)).as_("n")).from_("t").where("x = 1")
    checked = guard.check(query.sql(dialect), guard.GuardPolicy(dialect=dialect))
    assert guard.executable_sql(checked, dialect)  # faithful as it is
    render = guard.render
    monkeypatch.setattr(guard, "render", lambda query, d: quirk(render(query, d)))
    with pytest.raises(errors.PermissionDenied, match="rendered back"):
        guard.executable_sql(checked, dialect)
