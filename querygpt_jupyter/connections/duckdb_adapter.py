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

    from .budget import Budget


def _sandbox(con, allowed_paths: tuple[str, ...], memory_mb: int | None = None) -> None:
    """Lock the connection: file access only under allowed roots, memory bounded, settings frozen.

    `read_only=True` alone is not a sandbox (NOTES.md): it still reads any file and can COPY out.
    The order matters: allowed_directories cannot change once external access is off, and nothing
    changes after lock_configuration. Without a memory limit DuckDB takes 80% of RAM (and spills
    to disk without end): one exponential recursive CTE reached 20 GB.
    """
    locked = con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]
    if locked and not con.execute("SELECT current_setting('enable_external_access')").fetchone()[0]:
        return  # the file's database instance was already sandboxed by an earlier connection of this process
    roots = exp.Array(expressions=[exp.Literal.string(os.path.join(p, "")) for p in allowed_paths])
    con.execute("SET enable_progress_bar = false")  # it prints to stdout: --json would not parse
    if memory_mb:
        size = exp.Literal.string(f"{int(memory_mb)}MB").sql("duckdb")
        con.execute(f"SET memory_limit = {size}")
        con.execute(f"SET max_temp_directory_size = {size}")
    con.execute(f"SET allowed_directories = {roots.sql('duckdb')}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


# What the label of the analyst's own DuckDB connection says: DuckDB 2.0 has no sandbox for a
# database another connection of this process opened writable (measured on 2.0.1: ATTACH …
# (READ_ONLY) from a fresh instance is a "Unique file handle conflict", connect(path,
# read_only=True) a "different configuration", and enable_external_access / allowed_directories
# are GLOBAL-only settings), so file reads outside the allowed folders meet the guard alone.
SHARED_ONE_WALL = "(shared; one wall: file reads checked by the guard only)"

# SELECT, and MULTI: DuckDB's own expansion of one PIVOT whose columns it must look up first (a
# statement of the text, expanded by DuckDB — not a second statement of the text).
QUERY_STATEMENT_TYPES = frozenset({"SELECT", "MULTI"})


def single_select(con, sql: str):
    """DuckDB's own parse of `sql`: exactly one statement, and a query (QUERY_STATEMENT_TYPES;
    DESCRIBE and SUMMARIZE are SELECTs to DuckDB), else PermissionDenied. The Statement returned
    is what runs, so text DuckDB reads as several statements can never run a second one, whatever
    any other parser thought of it."""
    statements = con.extract_statements(sql)  # a syntax error raises ParserException: classified later
    if len(statements) != 1:
        raise errors.PermissionDenied(
            f"Refused: DuckDB reads this SQL as {len(statements)} statements; only one query runs at a time.")
    statement = statements[0]
    if statement.type.name not in QUERY_STATEMENT_TYPES:
        raise errors.PermissionDenied(
            f"Refused: DuckDB reads this SQL as a {statement.type.name} statement; only read-only queries run.")
    return statement


# Arrow batch rows: about BATCH_BYTES by the widest each row can be once DuckDB has cut its values,
# but never fewer than DuckDB's own vector (2048 rows, which it holds at once anyway: a batch at
# most doubles that; smaller batches cost ~0.15 ms each, 13x slower on 1M rows) nor more than MAX.
BATCH_BYTES = 64 * 2**20
MIN_BATCH_ROWS, MAX_BATCH_ROWS = 2048, 16_384
_CUT_IN_ENGINE = {"VARCHAR": "left", "BLOB": "array_slice"}


def _read_within(relation, budget: "Budget") -> "pd.DataFrame":
    """The relation's rows within `budget`: text and blob values longer than the cell cap are cut
    to one character more by DuckDB itself (so a 50 MB string never reaches Arrow; the budget
    then cuts it to the cap and marks it), and batches stop at the total cap."""
    import duckdb
    import pyarrow as pa

    cell = budget.caps.cell
    kinds = [str(t).upper() for t in relation.types]
    names = list(relation.columns)
    if len(set(names)) == len(names) and any(kind in _CUT_IN_ENGINE or _as_text(kind) for kind in kinds):
        projection = []
        for name, kind in zip(names, kinds):
            column = duckdb.ColumnExpression(name)
            if _as_text(kind):   # DuckDB's own text of it: exact, where Arrow would lose or refuse it
                column = column.cast(duckdb.sqltype("VARCHAR")).alias(name)
                kind = "VARCHAR"
            if kind == "VARCHAR":
                column = duckdb.FunctionExpression("left", column, duckdb.ConstantExpression(cell + 1)).alias(name)
            elif kind == "BLOB":
                column = duckdb.FunctionExpression("array_slice", column, duckdb.ConstantExpression(1),
                                                   duckdb.ConstantExpression(cell + 1)).alias(name)
            projection.append(column)
        relation = relation.project(*projection)
    widest = sum(cell + 16 if kind in _CUT_IN_ENGINE or kind.endswith("]") or kind.startswith(("STRUCT", "MAP", "UNION"))
                 else 16 for kind in kinds)
    rows = max(MIN_BATCH_ROWS, min(MAX_BATCH_ROWS, BATCH_BYTES // max(widest, 1)))
    reader = relation.to_arrow_reader(rows)
    batches = []
    try:
        for batch in reader:
            batches.append(budget.take_batch(batch))
            if budget.spent:
                break
    except (OSError, pa.ArrowException) as error:   # an error in a later chunk comes through Arrow's stream
        raise _duckdb_error(error) from None
    finally:
        reader.close()   # ends DuckDB's pending result before the rollback
    schema = batches[0].schema if batches else reader.schema
    return _frame(pa.Table.from_batches(batches, schema=schema))


# DuckDB's message prefix -> its exception class, for errors that reach us through Arrow's stream
# as OSError (so that classify() still tells out-of-memory, interrupts and type errors apart).
_STREAM_ERRORS = {"Out of Memory Error": "OutOfMemoryException", "INTERRUPT Error": "InterruptException",
                  "Conversion Error": "ConversionException", "Invalid Input Error": "InvalidInputException",
                  "Permission Error": "PermissionException", "Binder Error": "BinderException",
                  "Catalog Error": "CatalogException", "IO Error": "IOException"}


def _duckdb_error(error: BaseException) -> BaseException:
    import duckdb

    prefix = str(error).split(":", 1)[0].strip()
    return getattr(duckdb, _STREAM_ERRORS.get(prefix, "Error"), duckdb.Error)(str(error))


# Types DuckDB hands to Arrow wrongly or that pandas cannot hold (UHUGEINT arrives as a negative
# decimal, VARINT and BIT as raw bytes, a UNION not at all): fetched as DuckDB's text instead.
_TEXT_TYPES = frozenset({"UHUGEINT", "VARINT", "BIGNUM", "BIT"})


def _as_text(kind: str) -> bool:
    return kind in _TEXT_TYPES or kind.startswith("UNION(")


def _frame(table) -> "pd.DataFrame":
    """Arrow to pandas; a column pandas cannot hold (a DATE of 'infinity' overflows Python's
    dates) comes as text, so one odd value never costs the whole answer, and lists or structs
    of zoned timestamps as Python values (pandas' arrays inside them drop the zone)."""
    import pandas as pd
    import pyarrow as pa

    zoned = {i for i, field in enumerate(table.schema) if pa.types.is_nested(field.type) and "tz=" in str(field.type)}
    if not zoned:
        try:
            return table.to_pandas()
        except (ValueError, OverflowError, pa.ArrowNotImplementedError):
            pass
    columns = {}
    for i, column in enumerate(table.columns):
        try:
            columns[i] = pd.Series(column.to_pylist(), dtype=object) if i in zoned else column.to_pandas()
        except (ValueError, OverflowError, pa.ArrowNotImplementedError):
            columns[i] = pd.Series(_texts(column), dtype=object)
    frame = pd.DataFrame(columns)
    frame.columns = table.column_names
    return frame


def _texts(column) -> list:
    """Each value as text; dates and timestamps out of Python's range as DuckDB writes them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_date32(column.type) or pa.types.is_timestamp(column.type):
        storage = pc.cast(column, pa.int32() if pa.types.is_date32(column.type) else pa.int64()).to_pylist()
        edge = 2**31 - 1 if pa.types.is_date32(column.type) else 2**63 - 1
        out = []
        for value, raw in zip(column, storage):
            if raw is None:
                out.append(None)
            elif abs(raw) >= edge - 1:
                out.append("infinity" if raw > 0 else "-infinity")
            else:
                try:
                    out.append(value.as_py())
                except (ValueError, OverflowError):
                    out.append(str(raw))
        return out
    try:
        return pc.cast(column, pa.string()).to_pylist()
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return [None if not value.is_valid else str(value) for value in column]


def _type_name(data_type: str) -> str:
    """The type as prompts and the catalogue show it: a pandas categorical arrives as an ENUM
    listing every category (thousands of them, at times); the samples carry the values."""
    return "ENUM" if data_type.startswith("ENUM(") else data_type.strip('"')


class DuckDBAdapter:
    """Every query runs as one DuckDB SELECT statement inside a transaction that is always rolled
    back, so nothing it does (a temporary table, a sequence step) outlives it."""

    kind = "duckdb"
    dialect = "duckdb"
    data_version: str | None = None   # set for DataFrames: their catalogue is cached per frame, in memory

    def __init__(self, con, label: str, *, owned: bool):
        self._con = con
        self.label = label
        self._owned = owned
        self._lock = threading.Lock()

    @classmethod
    def open_file(cls, path: str, allowed_paths: tuple[str, ...], memory_mb: int | None = None) -> "DuckDBAdapter":
        import duckdb

        if not os.path.exists(path):
            raise errors.DbConnFail(f"The DuckDB file {path} does not exist.", hint="Check the path; querygpt never creates databases.")
        try:
            con = duckdb.connect(path, read_only=True)
            _sandbox(con, allowed_paths, memory_mb)
        except duckdb.Error as exc:
            raise errors.DbConnFail(
                f"Could not open the DuckDB file {path}: {str(exc).splitlines()[0]}",
                hint="If this process already opened it for writing, pass that connection object instead of the path.",
            ) from None
        return cls(con, f"duckdb:///{path}", owned=True)

    @classmethod
    def wrap(cls, user_con, label: str) -> "DuckDBAdapter":
        """A user's connection: a cursor of it (its own transaction, always rolled back).

        Not sandboxed: DuckDB cannot open the same file again in this process with another
        configuration, nor attach it read-only a second time, and external access is a setting of
        the whole database instance that can never be turned back on (all measured on 2.0) —
        locking it would break the analyst's own connection. So on the analyst's own connection
        the walls are the guard, DuckDB's own parse (one SELECT) and the rollback; pass the file's
        path instead (with the writable connection closed) for the read-only sandbox.
        """
        return cls(user_con.cursor(), f"{label} {SHARED_ONE_WALL}", owned=True)

    @classmethod
    def for_frames(cls, frames: "dict[str, pd.DataFrame]", allowed_paths: tuple[str, ...],
                   memory_mb: int | None = None) -> "DuckDBAdapter":
        """An in-memory DuckDB where each DataFrame is a view named after its variable. Frames are
        adapted first where DuckDB would lose or refuse something (a named index, dtypes it cannot
        scan), and timestamps show in the frames' own time zone when they share one."""
        import duckdb

        from .frames import as_registrable, data_version, shared_time_zone

        prepared = {str(name): as_registrable(frame) for name, frame in frames.items()}
        con = duckdb.connect(":memory:")
        for name, frame in prepared.items():
            con.register(name, frame)
        zone = shared_time_zone(prepared.values())
        if zone:
            con.execute(f"SET TimeZone = {exp.Literal.string(zone).sql('duckdb')}")
        _sandbox(con, allowed_paths, memory_mb)
        adapter = cls(con, "dataframes:" + ",".join(sorted(prepared)), owned=True)
        adapter.data_version = ";".join(f"{name}={data_version(frame)}" for name, frame in prepared.items())
        return adapter

    reads_within_budget = True

    def fetch(self, sql: str, timeout_s: float | None = None, budget: "Budget | None" = None) -> "pd.DataFrame":
        """Cancelled by interrupt(). With a budget, long text and blobs are cut inside DuckDB and
        Arrow batches are read until the budget is spent (the rest is never converted)."""
        with self._lock:
            statement = single_select(self._con, sql)
            self._con.execute("BEGIN TRANSACTION")
            try:
                relation = self._con.sql(statement)
                if budget is None:
                    return _frame(relation.to_arrow_table())
                return _read_within(relation, budget)
            finally:
                self._con.execute("ROLLBACK")

    def interrupt(self) -> None:
        self._con.interrupt()

    def schema(self) -> list[Table]:
        """Tables and views of the current schema, and the temporary ones: DataFrames registered on
        the connection live in the `temp` catalogue, and shadow a table of the same name."""
        scope = ("((database_name = current_database() AND schema_name = current_schema()) "
                 "OR (database_name = 'temp' AND schema_name = 'main'))")
        with self._lock:
            columns = self._con.execute(
                "SELECT database_name = 'temp', table_name, column_name, data_type, comment FROM duckdb_columns() "
                f"WHERE NOT internal AND {scope} ORDER BY table_name, column_index"
            ).fetchall()
            tables = self._con.execute(
                f"SELECT database_name = 'temp', table_name, comment FROM duckdb_tables() WHERE {scope} UNION ALL "
                f"SELECT database_name = 'temp', view_name, comment FROM duckdb_views() WHERE NOT internal AND {scope}"
            ).fetchall()
            constraints = self._con.execute(
                "SELECT database_name = 'temp', table_name, constraint_type, constraint_column_names, referenced_table, "
                f"referenced_column_names FROM duckdb_constraints() WHERE {scope} "
                "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
            ).fetchall()
        temporary = {name for is_temp, name, *_ in columns if is_temp}
        visible = lambda is_temp, name: is_temp or name not in temporary  # noqa: E731  (temp shadows main)
        comments = {name: comment for is_temp, name, comment in tables if visible(is_temp, name)}
        primary = {(t, c) for is_temp, t, kind, cols, _, _ in constraints
                   if kind == "PRIMARY KEY" and visible(is_temp, t) for c in cols}
        foreign: dict[str, list[ForeignKey]] = {}
        for is_temp, t, kind, cols, ref_table, ref_cols in constraints:
            if kind == "FOREIGN KEY" and visible(is_temp, t):
                foreign.setdefault(t, []).append(ForeignKey(tuple(cols), ref_table, tuple(ref_cols)))
        by_table: dict[str, list[Column]] = {}
        for is_temp, t, c, type_, comment in columns:
            if visible(is_temp, t):
                by_table.setdefault(t, []).append(Column(c, _type_name(type_), comment or None, (t, c) in primary))
        # registered DataFrames appear in duckdb_columns but not in duckdb_views on some versions
        names = list(dict.fromkeys([*comments, *by_table]))
        return [
            Table(name, tuple(by_table.get(name, ())), comments.get(name) or None, None, tuple(foreign.get(name, ())))
            for name in names if by_table.get(name)
        ]

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        import duckdb

        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if isinstance(error, duckdb.InterruptException):
            return errors.QueryCancelled("The query was interrupted.")
        if isinstance(error, duckdb.OutOfMemoryException):
            return errors.OutOfMemory(f"DuckDB ran out of the memory it may use: {first_line}")
        if "maximum total string size" in first_line:   # Arrow's 2 GB of text per column and batch
            return errors.OutOfMemory("The result is too large to fetch: one column holds more than 2 GB of text.",
                                      hint="Select fewer rows or shorter values (e.g. left(col, 1000)).")
        missing = re.search(r"Function with name (\w+) does not exist", first_line)
        if isinstance(error, duckdb.CatalogException) and missing:
            from .functions import missing_function

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
