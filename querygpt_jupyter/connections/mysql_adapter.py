"""MySQL and MariaDB: each query in `START TRANSACTION READ ONLY` of a read-only session (`SET
SESSION TRANSACTION READ ONLY`), one statement per text (no CLIENT_MULTI_STATEMENTS), under a per-statement time limit
(MySQL `max_execution_time`, MariaDB `max_statement_time`), cancelled on the server with
`KILL QUERY` from a second connection; catalogue from information_schema in three queries."""
from __future__ import annotations

import re

from typing import Any

from sqlglot import exp

from .. import errors
from .catalog import Column, ForeignKey, Table
from .sqlalchemy_adapter import SQLAlchemyAdapter

# error number -> the product's error
ERRNO_ERRORS: dict[int, type[errors.QueryGPTError]] = {
    1317: errors.QueryTimeout,      # ER_QUERY_INTERRUPTED: KILL QUERY (our cancel)
    3024: errors.QueryTimeout,      # MySQL: max_execution_time exceeded
    1969: errors.QueryTimeout,      # MariaDB: max_statement_time exceeded
    1792: errors.PermissionDenied,  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: the engine's wall held
    1568: errors.PermissionDenied,  # READ WRITE refused while the read-only transaction runs
    # the role's privileges: table, column, database, FILE/SUPER, --read-only, routine
    1142: errors.PermissionDenied, 1143: errors.PermissionDenied, 1044: errors.PermissionDenied,
    1045: errors.PermissionDenied, 1227: errors.PermissionDenied, 1290: errors.PermissionDenied,
    1370: errors.PermissionDenied,
    1148: errors.PermissionDenied, 3948: errors.PermissionDenied, 4166: errors.PermissionDenied,  # LOCAL INFILE off
    1146: errors.SchemaError,       # ER_NO_SUCH_TABLE
    1054: errors.SchemaError,       # ER_BAD_FIELD_ERROR
    1049: errors.SchemaError,       # ER_BAD_DB_ERROR (on connect it is DB_CONN_FAIL: see CONNECT_FAILURES)
    1064: errors.SqlSyntaxError,    # ER_PARSE_ERROR
    1037: errors.OutOfMemory, 1038: errors.OutOfMemory, 1041: errors.OutOfMemory,  # out of memory / sort memory / resources
    3015: errors.OutOfMemory,       # ER_ENGINE_OUT_OF_MEMORY
    1305: errors.UnknownFunction,   # ER_SP_DOES_NOT_EXIST: FUNCTION db.to_char does not exist
    1582: errors.UnknownFunction, 1583: errors.UnknownFunction,  # wrong number/kind of arguments to a function
    2002: errors.DbConnFail, 2003: errors.DbConnFail, 2005: errors.DbConnFail,
    2006: errors.DbConnFail, 2013: errors.DbConnFail, 2055: errors.DbConnFail,
}
HINTS = {
    1792: "The connection is read-only: querygpt only runs queries that read.",
    1305: "The function does not exist in this server's SQL; check its name.",
}

# Tables of the URL's database; with none in the URL, every user database (names then qualified).
_IN_SCOPE = ("(TABLE_SCHEMA = DATABASE() OR (DATABASE() IS NULL AND TABLE_SCHEMA NOT IN "
             "('mysql', 'information_schema', 'performance_schema', 'sys')))")
CATALOG_TABLES = f"""
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT, TABLE_ROWS
FROM information_schema.TABLES WHERE {_IN_SCOPE} ORDER BY TABLE_SCHEMA, TABLE_NAME
"""
CATALOG_COLUMNS = f"""
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COLUMN_COMMENT, COLUMN_KEY
FROM information_schema.COLUMNS WHERE {_IN_SCOPE} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
"""
CATALOG_KEYS = f"""
SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME,
       REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE WHERE {_IN_SCOPE} AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
"""


MULTI_STATEMENTS_FLAG = 1 << 16  # CLIENT_MULTI_STATEMENTS in the client's capability flags


def _runs_several_statements(dbapi) -> bool:
    """Whether the driver connection asked the server to run several statements per text.
    PyMySQL and mysqlclient keep their flags in `client_flag`; without it, ask the server."""
    flags = getattr(dbapi, "client_flag", None)
    if isinstance(flags, int):
        return bool(flags & MULTI_STATEMENTS_FLAG)
    cursor = dbapi.cursor()
    try:
        cursor.execute("SELECT 1; SELECT 2")  # refused as a syntax error without the flag
    except Exception:  # the driver's ProgrammingError: one statement per text, as we need
        return False
    finally:
        cursor.close()
    return True


# driver module -> its unbuffered cursor class ("module:Class")
UNBUFFERED_CURSORS = {"pymysql": "pymysql.cursors:SSCursor", "MySQLdb": "MySQLdb.cursors:SSCursor"}


def _unbuffered_cursor(cursor):
    """A cursor of the same connection that streams rows from the server; `cursor` itself
    when the driver has none we know (mysql-connector's default cursor streams already)."""
    import importlib

    connection = getattr(cursor, "connection", None)
    target = UNBUFFERED_CURSORS.get(type(connection).__module__.split(".")[0])
    if connection is None or target is None:
        return cursor
    module, name = target.split(":")
    return connection.cursor(getattr(importlib.import_module(module), name))


class MySQLAdapter(SQLAlchemyAdapter):
    kind = "mysql"
    engine_name = "MySQL"
    DRIVERS = {"mysqldb": ("MySQLdb", "mysqlclient"), "pymysql": ("pymysql", "PyMySQL"),
               "mysqlconnector": ("mysql.connector", "mysql-connector-python")}
    CONNECT_FAILURES = (
        (("can't connect", "connection refused"), "nothing is listening there",
         "Start the server, or check the host and port (MySQL's default port is 3306)."),
        (("to database",), "the user may not use that database, or it does not exist",
         "Check the database name (SHOW DATABASES lists those the user may use) and the user's grants."),
        (("access denied",), "the server refused the user name or password",
         "Check the user and password, and that the user may connect from this host."),
        (("unknown database",), "that database does not exist on the server",
         "Check the database name (SHOW DATABASES lists them)."),
        (("name or service not known", "nodename nor servname", "getaddrinfo", "unknown mysql server host"),
         "the host name is unknown", "Check the host name in the URL."),
        (("timed out",), "the server did not answer in time",
         "Check the host and port, and that a firewall lets the connection through."),
    )

    def __init__(self, engine, *, owned: bool):
        super().__init__(engine, owned=owned)
        if engine.url.get_backend_name() == "mariadb":
            self.engine_name = "MariaDB"

    @classmethod
    def dialect_for(cls, engine) -> str:
        return "mysql"

    @classmethod
    def connect_args(cls, url) -> dict:
        args: dict = {}
        if url.get_driver_name() in ("pymysql", "mysqldb") and "connect_timeout" not in url.query:
            args["connect_timeout"] = 10
        if url.get_driver_name() == "mysqldb":
            args["multi_statements"] = False  # mysqlclient turns CLIENT_MULTI_STATEMENTS on by default
        return args

    def _is_mariadb(self) -> bool:
        return bool(getattr(self._engine.dialect, "is_mariadb", False))

    def begin_read_only(self, cursor, dbapi, timeout_s: float) -> None:
        """Read-only twice: the session (so a COMMIT that got through is followed by read-only
        transactions) and this transaction; both checked, and never on a connection that would
        run several statements from one text."""
        if _runs_several_statements(dbapi):
            raise errors.PermissionDenied(
                f"Refused: this {self.engine_name} connection runs several statements from one text "
                "(CLIENT_MULTI_STATEMENTS), so querygpt will not run on it.",
                hint="Connect without the multi-statements client flag.")
        # Session variables, reset in end_transaction: the pool may be the user's own.
        if self._is_mariadb():
            self.engine_name = "MariaDB"
            seconds = exp.Literal.number(round(max(timeout_s, 0.001), 3))
            cursor.execute(f"SET SESSION max_statement_time = {seconds.sql('mysql')}")
        else:
            milliseconds = exp.Literal.number(max(1, int(timeout_s * 1000)))
            cursor.execute(f"SET SESSION max_execution_time = {milliseconds.sql('mysql')}")
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        # Explicit, so it holds whether or not the driver is in autocommit mode.
        cursor.execute("START TRANSACTION READ ONLY")
        cursor.execute(f"SELECT @@session.{self._read_only_variable()}")
        if tuple(cursor.fetchone() or ()) != (1,):
            raise errors.PermissionDenied(
                f"Refused: this {self.engine_name} connection could not be made read-only, so querygpt will not run on it.")

    def end_transaction(self, cursor, dbapi) -> None:
        cursor.execute("ROLLBACK")
        variable = "max_statement_time" if self._is_mariadb() else "max_execution_time"
        cursor.execute(f"SET SESSION {variable} = DEFAULT")
        cursor.execute("SET SESSION TRANSACTION READ WRITE")  # the user's pool gets its connection back as it was

    def read(self, cursor, sql: str, budget=None):
        """Through an unbuffered cursor (the default one reads the whole result into memory in
        execute()), so rows come as the budget takes them; closing it reads and drops the rest."""
        unbuffered = _unbuffered_cursor(cursor)
        try:
            return super().read(unbuffered, sql, budget)
        finally:
            if unbuffered is not cursor:
                unbuffered.close()

    def _read_only_variable(self) -> str:
        return "tx_read_only" if self._is_mariadb() else "transaction_read_only"

    def session_id(self, dbapi) -> Any:
        thread_id = getattr(dbapi, "thread_id", None)
        if callable(thread_id):
            return thread_id()
        cursor = dbapi.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]

    def cancel(self, running) -> None:
        """KILL QUERY stops the statement and keeps its connection (KILL would close it). Sent on
        a connection of its own, outside the pool, which the running query may have exhausted."""
        if running.session_id is None:
            return
        dialect = self._engine.dialect
        cargs, cparams = dialect.create_connect_args(self._engine.url)
        other = dialect.connect(*cargs, **{**cparams, **self.connect_args(self._engine.url)})
        try:
            other.cursor().execute(f"KILL QUERY {exp.Literal.number(int(running.session_id)).sql('mysql')}")
        finally:
            other.close()

    def schema(self) -> list[Table]:
        default_schema = self.rows("SELECT DATABASE()")[0][0]
        relations = self.rows(CATALOG_TABLES)
        columns = self.rows(CATALOG_COLUMNS)
        keys = self.rows(CATALOG_KEYS)
        names = self.name_tables([(schema, table) for schema, table, *_ in relations], default_schema)
        by_table: dict[tuple[str, str], list[Column]] = {}
        for schema, table, column, type_, comment, key in columns:
            by_table.setdefault((schema, table), []).append(Column(column, type_, comment or None, key == "PRI"))
        foreign: dict[tuple[str, str], dict[str, tuple[list, tuple, list]]] = {}
        for schema, table, constraint, column, ref_schema, ref_table, ref_column in keys:
            if (ref_schema, ref_table) not in names:
                continue
            fk = foreign.setdefault((schema, table), {}).setdefault(constraint, ([], (ref_schema, ref_table), []))
            fk[0].append(column)
            fk[2].append(ref_column)
        return [
            Table(
                names[(schema, table)],
                tuple(by_table.get((schema, table), ())),
                None if kind == "VIEW" or not comment else comment,
                int(estimate) if estimate is not None else None,
                tuple(ForeignKey(tuple(cols), names[ref], tuple(ref_cols))
                      for cols, ref, ref_cols in foreign.get((schema, table), {}).values()),
            )
            for schema, table, kind, comment, estimate in relations
        ]

    def classify_driver_error(self, error: BaseException) -> errors.QueryGPTError | None:
        number = error.args[0] if error.args and isinstance(error.args[0], int) else None
        if number is None:
            return None
        detail = self._message(error.args[1] if len(error.args) > 1 else error)
        kind = ERRNO_ERRORS.get(number)
        hint = HINTS.get(number)
        if kind is errors.DbConnFail:
            return self.connection_failure(error)
        if kind is errors.QueryTimeout:
            return errors.QueryTimeout(f"{self.engine_name} stopped the query: {detail}")
        routine = re.search(r"for routine '(?:\w+\.)?(\w+)'", detail) if number == 1370 else None
        if routine:  # an unknown function is looked up as a stored routine the account may not run
            from .functions import missing_function

            return missing_function("mysql", routine.group(1), f"{self.engine_name}: {detail}")
        if kind is None:
            return errors.DatabaseError(f"{self.engine_name}: {detail}", hint=hint or "The database rejected the query.")
        if kind is errors.UnknownFunction:
            from .functions import missing_function

            missing = re.search(r"FUNCTION (?:\w+\.)?(\w+) does not exist", detail) or re.search(r"function '(\w+)'", detail)
            return missing_function("mysql", missing.group(1) if missing else None, f"{self.engine_name}: {detail}")
        return kind(f"{self.engine_name}: {detail}", hint=hint) if hint else kind(f"{self.engine_name}: {detail}")
