"""SQLite files, opened `mode=ro` by URI so the engine itself refuses writes."""
from __future__ import annotations

import re

import os
import sqlite3
import threading
import urllib.parse
from typing import TYPE_CHECKING

from sqlglot import exp

from .. import errors
from .catalog import Column, ForeignKey, Table

if TYPE_CHECKING:
    import pandas as pd

    from .budget import Budget


_DENIED_ACTIONS = {"SQLITE_ATTACH", "SQLITE_DETACH", "SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE",
                   "SQLITE_CREATE_TABLE", "SQLITE_DROP_TABLE", "SQLITE_ALTER_TABLE", "SQLITE_CREATE_INDEX",
                   "SQLITE_CREATE_TRIGGER", "SQLITE_CREATE_VIEW", "SQLITE_CREATE_TEMP_TABLE", "SQLITE_TRANSACTION",
                   "SQLITE_SAVEPOINT", "SQLITE_CREATE_TEMP_VIEW", "SQLITE_CREATE_TEMP_TRIGGER",
                   "SQLITE_CREATE_TEMP_INDEX", "SQLITE_CREATE_VTABLE", "SQLITE_DROP_VTABLE"}

# Functions that reach outside the database (files, loaded code, raw pointers): denied when a
# statement using them is prepared, whatever parsed the SQL before.
_DENIED_FUNCTIONS = frozenset({"fts3_tokenizer", "fts5", "load_extension", "readfile", "writefile", "edit",
                               "zipfile", "fsdir", "sqlar_compress", "sqlar_uncompress"})


_DENIED = frozenset(getattr(sqlite3, name) for name in _DENIED_ACTIONS if hasattr(sqlite3, name))


# PRAGMAs that take an argument only to read (introspection uses them as table functions); any
# other PRAGMA with an argument sets something (`query_only = OFF`, `writable_schema = ON`).
_READ_PRAGMAS = frozenset({"table_info", "table_xinfo", "table_list", "foreign_key_list", "index_list",
                           "index_info", "index_xinfo", "database_list", "function_list", "pragma_list"})


def _refuse_writes(action: int, table, name=None, *_args) -> int:
    """A third wall inside SQLite: statements that attach, write, control transactions, set a
    PRAGMA or call a function that reaches outside the database are denied when prepared.
    (SQLite reports its own schema loading as UPDATEs of sqlite_master — mode=ro covers those; PRAGMAs
    stay allowed because introspection reads them, and the guard refuses them in queries.)"""
    if action == sqlite3.SQLITE_UPDATE and table in ("sqlite_master", "sqlite_temp_master"):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and str(name).lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and name is not None and str(table).lower() not in _READ_PRAGMAS:
        return sqlite3.SQLITE_DENY  # a PRAGMA that sets a value: it would outlive the query
    return sqlite3.SQLITE_DENY if action in _DENIED else sqlite3.SQLITE_OK


class SQLiteAdapter:
    kind = "sqlite"
    dialect = "sqlite"

    def __init__(self, path: str, memory_mb: int | None = None):
        import sqlite3

        if not os.path.exists(path):
            raise errors.DbConnFail(f"The SQLite file {path} does not exist.", hint="Check the path; querygpt never creates databases.")
        self.path = os.path.abspath(path)
        self.label = f"sqlite:///{self.path}"
        uri = "file:" + urllib.parse.quote(self.path) + "?mode=ro"
        try:
            self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._con.execute("PRAGMA query_only = ON")
            # mode=ro covers the main file only: ATTACH would open (and create) other files writable
            self._con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            if memory_mb:
                # Process-wide in SQLite, and it can only be lowered from SQL: the tightest limit
                # of this process's connections holds (a recursive CTE otherwise took 3 GB). Set
                # before the authorizer, which denies every PRAGMA that sets a value.
                limit = exp.Literal.number(int(memory_mb) * 2**20).sql("sqlite")
                self._con.execute(f"PRAGMA hard_heap_limit = {limit}")
            self._con.set_authorizer(_refuse_writes)
            self._con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise errors.DbConnFail(f"Could not open the SQLite file {path}: {exc}.") from None
        self._lock = threading.Lock()

    @classmethod
    def from_connection(cls, con, memory_mb: int | None = None) -> "SQLiteAdapter":
        """A user's sqlite3 connection: reopen its main file read-only (theirs may be writable)."""
        rows = con.execute("PRAGMA database_list").fetchall()
        path = next((r[2] for r in rows if r[1] == "main"), "")
        if not path:
            raise errors.DbConnFail(
                "This sqlite3 connection is in memory, so querygpt cannot open it read-only.",
                hint="Save the data to a file, or load it into a DataFrame and ask about that.",
            )
        return cls(path, memory_mb)

    reads_within_budget = True

    def fetch(self, sql: str, timeout_s: float | None = None, budget: "Budget | None" = None) -> "pd.DataFrame":
        """Cancelled by interrupt(). Rows are stepped in batches sized by what came so far and
        stop at the budget (connections/budget.py); the statement is then reset, its rest never read."""
        with self._lock:
            try:
                return self._read(sql, budget)
            except sqlite3.OperationalError as error:
                if "decode" not in str(error):
                    raise
            # Text that is not UTF-8 (SQLite stores what it is given): read again, such bytes as U+FFFD.
            if budget is not None:
                budget.restart()
            self._con.text_factory = lambda raw: raw.decode("utf-8", "replace")
            try:
                return self._read(sql, budget)
            finally:
                self._con.text_factory = str

    def _read(self, sql: str, budget: "Budget | None") -> "pd.DataFrame":
        from .budget import read_rows

        cursor = self._con.execute(sql)
        try:
            names = [d[0] for d in cursor.description or ()]
            return read_rows(cursor.fetchmany, names, budget)
        finally:
            cursor.close()

    def interrupt(self) -> None:
        self._con.interrupt()

    def schema(self) -> list[Table]:
        with self._lock:
            names = [r[0] for r in self._con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )]
            tables = []
            for name in names:
                info = self._con.execute("SELECT name, type, pk FROM pragma_table_info(?)", (name,)).fetchall()
                fks: dict[int, list] = {}
                for row in self._con.execute('SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?)', (name,)):
                    fks.setdefault(row[0], []).append(row[1:])
                tables.append(Table(
                    name,
                    tuple(Column(c, t or "", None, bool(pk)) for c, t, pk in info),
                    foreign_keys=tuple(
                        ForeignKey(tuple(r[1] for r in refs), refs[0][0], tuple(r[2] or "" for r in refs))
                        for refs in fks.values()
                    ),
                ))
        return tables

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        message = str(error).strip() or type(error).__name__
        lowered = message.lower()
        if "interrupted" in lowered:
            return errors.QueryCancelled("The query was interrupted.")
        if isinstance(error, MemoryError) or "out of memory" in lowered or "string or blob too big" in lowered:
            return errors.OutOfMemory(f"SQLite ran out of the memory it may use ({message}).")
        if "no such table" in lowered or "no such column" in lowered or "ambiguous column" in lowered:
            return errors.SchemaError(message[:1].upper() + message[1:] + ".")
        if "one statement at a time" in lowered:  # sqlite3's execute() runs a single statement
            return errors.PermissionDenied("Refused: SQLite reads this SQL as several statements; only one query runs at a time.")
        if any(word in lowered for word in ("readonly", "read-only", "not authorized", "authorization denied")):
            return errors.PermissionDenied(message)
        if "syntax error" in lowered:
            return errors.SqlSyntaxError(message, hint="Check the SQL's syntax for SQLite.")
        missing = re.search(r"no such function: (\w+)", message)
        if missing or "wrong number of arguments to function" in lowered:
            from .functions import missing_function

            return missing_function("sqlite", missing.group(1) if missing else None, message)
        if "datatype mismatch" in lowered:
            return errors.SqlTypeError(message)
        return errors.DatabaseError(message)

    def close(self) -> None:
        self._con.close()
