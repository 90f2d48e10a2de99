"""DuckDB files, the demo database, users' own DuckDB connections and namespace DataFrames."""
from __future__ import annotations

import re

import os
import threading
from typing import TYPE_CHECKING

from sqlglot import exp

from .. import errors
from .catalog import Column, ForeignKey, Table

if TYPE_CHECKING:
    import pandas as pd


def _sandbox(con, allowed_paths: tuple[str, ...]) -> None:
    """Lock the connection: file access only under allowed roots, settings frozen.

    `read_only=True` alone is not a sandbox (NOTES.md): it still reads any file and can COPY out.
    The order matters: allowed_directories cannot change once external access is off.
    """
    locked = con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]
    if locked and not con.execute("SELECT current_setting('enable_external_access')").fetchone()[0]:
        return  # the file's database instance was already sandboxed by an earlier connection of this process
    roots = exp.Array(expressions=[exp.Literal.string(os.path.join(p, "")) for p in allowed_paths])
    con.execute(f"SET allowed_directories = {roots.sql('duckdb')}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


class DuckDBAdapter:
    kind = "duckdb"
    dialect = "duckdb"

    def __init__(self, con, label: str, *, owned: bool, rollback_wall: bool):
        self._con = con
        self.label = label
        self._owned = owned
        self._rollback_wall = rollback_wall  # for connections we did not open read-only ourselves
        self._lock = threading.Lock()

    @classmethod
    def open_file(cls, path: str, allowed_paths: tuple[str, ...]) -> "DuckDBAdapter":
        import duckdb

        if not os.path.exists(path):
            raise errors.DbConnFail(f"The DuckDB file {path} does not exist.", hint="Check the path; querygpt never creates databases.")
        try:
            con = duckdb.connect(path, read_only=True)
            _sandbox(con, allowed_paths)
        except duckdb.Error as exc:
            raise errors.DbConnFail(
                f"Could not open the DuckDB file {path}: {str(exc).splitlines()[0]}",
                hint="If this process already opened it for writing, pass that connection object instead of the path.",
            ) from None
        return cls(con, f"duckdb:///{path}", owned=True, rollback_wall=False)

    @classmethod
    def wrap(cls, user_con, label: str) -> "DuckDBAdapter":
        """A user's connection: a cursor of it (own transaction) with every query rolled back."""
        return cls(user_con.cursor(), label, owned=True, rollback_wall=True)

    @classmethod
    def for_frames(cls, frames: "dict[str, pd.DataFrame]", allowed_paths: tuple[str, ...]) -> "DuckDBAdapter":
        """An in-memory DuckDB where each DataFrame is a view named after its variable."""
        import duckdb

        con = duckdb.connect(":memory:")
        for name, frame in frames.items():
            con.register(name, frame)
        _sandbox(con, allowed_paths)
        return cls(con, "dataframes:" + ",".join(sorted(frames)), owned=True, rollback_wall=False)

    def fetch(self, sql: str, timeout_s: float | None = None) -> "pd.DataFrame":  # cancelled by interrupt()
        with self._lock:
            if self._rollback_wall:
                self._con.execute("BEGIN TRANSACTION")
                try:
                    return self._con.sql(sql).to_arrow_table().to_pandas()
                finally:
                    self._con.execute("ROLLBACK")
            return self._con.sql(sql).to_arrow_table().to_pandas()

    def interrupt(self) -> None:
        self._con.interrupt()

    def schema(self) -> list[Table]:
        with self._lock:
            columns = self._con.execute(
                "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
                "WHERE NOT internal AND schema_name = current_schema() AND database_name = current_database() "
                "ORDER BY table_name, column_index"
            ).fetchall()
            tables = dict(self._con.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = current_schema() "
                "AND database_name = current_database() UNION ALL "
                "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND schema_name = current_schema() "
                "AND database_name = current_database()"
            ).fetchall())
            constraints = self._con.execute(
                "SELECT table_name, constraint_type, constraint_column_names, referenced_table, referenced_column_names "
                "FROM duckdb_constraints() WHERE schema_name = current_schema() AND database_name = current_database() "
                "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
            ).fetchall()
        primary = {(t, c) for t, kind, cols, _, _ in constraints if kind == "PRIMARY KEY" for c in cols}
        foreign: dict[str, list[ForeignKey]] = {}
        for t, kind, cols, ref_table, ref_cols in constraints:
            if kind == "FOREIGN KEY":
                foreign.setdefault(t, []).append(ForeignKey(tuple(cols), ref_table, tuple(ref_cols)))
        by_table: dict[str, list[Column]] = {}
        for t, c, type_, comment in columns:
            by_table.setdefault(t, []).append(Column(c, type_, comment or None, (t, c) in primary))
        # registered DataFrames appear in duckdb_columns but not in duckdb_views on some versions
        names = list(dict.fromkeys([*tables, *by_table]))
        return [
            Table(name, tuple(by_table.get(name, ())), tables.get(name) or None, None, tuple(foreign.get(name, ())))
            for name in names if by_table.get(name)
        ]

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        import duckdb

        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if isinstance(error, duckdb.InterruptException):
            return errors.QueryCancelled("The query was interrupted.")
        missing = re.search(r"Function with name (\w+) does not exist", first_line)
        if isinstance(error, duckdb.CatalogException) and missing:
            from ..sql.dialect_check import missing_function

            return missing_function("duckdb", missing.group(1), first_line)
        if isinstance(error, duckdb.ConversionException) or (isinstance(error, duckdb.BinderException) and (
                "No function matches" in first_line or "Cannot compare" in first_line or "No operator" in first_line
                or "best candidate function" in first_line)):
            return errors.SqlTypeError(first_line, hint="Cast the values to the types the function or operator takes.")
        if isinstance(error, (duckdb.CatalogException, duckdb.BinderException)):
            return errors.SchemaError(first_line)
        if isinstance(error, duckdb.ParserException):
            return errors.SqlSyntaxError(first_line, hint="Check the SQL's syntax for DuckDB.")
        if isinstance(error, (duckdb.PermissionException,)) or "read-only" in first_line.lower():
            return errors.PermissionDenied(first_line)
        if isinstance(error, duckdb.ConnectionException):
            return errors.DbConnFail(first_line)
        return errors.DatabaseError(first_line, hint="The database rejected the query; check types and values.")

    def close(self) -> None:
        if self._owned:
            self._con.close()
