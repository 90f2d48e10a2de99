"""PostgreSQL: each query in a READ ONLY transaction of a read-only session, with a
`statement_timeout`, opened by the server as exactly one query (a cursor) before it runs, and
cancelled on the server by the protocol's cancel request; catalogue from pg_catalog in four queries; large
results through `COPY … TO STDOUT` parsed by Arrow instead of one Python tuple per row."""
from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from sqlglot import exp

from .. import errors
from .catalog import Column, ForeignKey, Table
from .sqlalchemy_adapter import SQLAlchemyAdapter

if TYPE_CHECKING:
    import pandas as pd

    from .budget import Budget

# SQLSTATE class or code -> the product's error. Exact codes first, then their two-letter class.
SQLSTATE_ERRORS: dict[str, type[errors.QueryGPTError]] = {
    "57014": errors.QueryTimeout,        # query_canceled: statement_timeout or a cancel request
    "25006": errors.PermissionDenied,    # read_only_sql_transaction: the engine's wall held
    "25001": errors.PermissionDenied,    # active_sql_transaction: READ WRITE refused mid-transaction
    "42P11": errors.PermissionDenied,    # invalid_cursor_definition: not one query (single_query_cursor)
    "42501": errors.PermissionDenied,    # insufficient_privilege
    "42P01": errors.SchemaError,         # undefined_table
    "42703": errors.SchemaError,         # undefined_column
    "3F000": errors.SchemaError,         # invalid_schema_name
    "42601": errors.SqlSyntaxError,      # syntax_error
    "53": errors.OutOfMemory,            # insufficient_resources: out_of_memory, disk_full, too many connections
    "42883": errors.UnknownFunction,     # undefined_function ("operator does not exist" is a type error)
    "42804": errors.SqlTypeError,        # datatype_mismatch
    "42725": errors.SqlTypeError,        # ambiguous_function: operator is not unique (date + unknown)
    "42846": errors.SqlTypeError,        # cannot_coerce
    "22P02": errors.SqlTypeError,        # invalid_text_representation: a value that is not of the type
    "22007": errors.SqlTypeError,        # invalid_datetime_format
    "22008": errors.SqlTypeError,        # datetime_field_overflow
    "57P01": errors.DbConnFail, "57P02": errors.DbConnFail, "57P03": errors.DbConnFail,  # shutdown
    "08": errors.DbConnFail,             # connection_exception
    "28": errors.DbConnFail,             # invalid_authorization_specification
}
HINTS = {
    "42P11": "PostgreSQL read this as something other than one query; querygpt runs exactly one read-only query.",
    "25006": "The connection is read-only: querygpt only runs queries that read.",
    "42883": "The function does not exist with these argument types; check its name and add casts.",
    "22": "A value did not fit (types, division by zero, a bad date); check the data and the casts.",
}

# Result types that COPY's CSV renders in a form Arrow parses exactly as the driver would
# (result column type OID -> Arrow type name). Any other type falls back to the driver's rows.
COPY_TYPES = {
    16: "bool", 20: "int64", 21: "int16", 23: "int32", 26: "int64",
    700: "float32", 701: "float64",
    25: "string", 1043: "string", 1042: "string", 19: "string",
    1082: "date32", 1114: "timestamp", 1184: "timestamptz",
    1700: "numeric",
}

# Drivers known to send SQL without parameters as one simple-protocol message (several statements
# allowed); the others get one statement at a time.
SIMPLE_QUERY_DRIVERS = frozenset({"psycopg2"})
SMALL_RESULT_ROWS = 1_000   # results known to be at most this long skip the COPY path
WORK_MEM_SHARE = 8          # a query has several sorts and hashes: each gets this share of max_memory_mb

CATALOG_TABLES = """
SELECT c.oid, n.nspname, c.relname, obj_description(c.oid, 'pg_class'), c.reltuples::bigint
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND (has_table_privilege(c.oid, 'SELECT') OR has_any_column_privilege(c.oid, 'SELECT'))
ORDER BY n.nspname, c.relname
"""
CATALOG_COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY a.attrelid, a.attnum
"""
CATALOG_KEYS = """
SELECT con.conrelid, con.contype, con.conkey, con.confrelid, con.confkey
FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
WHERE con.contype IN ('p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY con.conrelid, con.conname
"""


class PostgresAdapter(SQLAlchemyAdapter):
    kind = "postgresql"
    engine_name = "PostgreSQL"
    DRIVERS = {"psycopg2": ("psycopg2", "psycopg2-binary"), "psycopg": ("psycopg", "psycopg[binary]"),
               "pg8000": ("pg8000", "pg8000")}
    CONNECT_FAILURES = (
        (("connection refused", "could not connect", "no such file or directory"), "nothing is listening there",
         "Start the server, or check the host and port (PostgreSQL's default port is 5432)."),
        (("password authentication failed", "no password supplied", "authentication failed"),
         "the server refused the user name or password",
         "Check the user and password (put the password in the URL, or in ~/.pgpass or PGPASSWORD)."),
        (("does not exist",), "that database or role does not exist on the server",
         "Check the database name (psql -l lists them) and the user name."),
        (("could not translate host name", "name or service not known", "temporary failure in name resolution"),
         "the host name is unknown", "Check the host name in the URL."),
        (("timeout expired", "timed out"), "the server did not answer in time",
         "Check the host and port, and that a firewall lets the connection through."),
        (("no pg_hba.conf entry", "ssl"), "the server does not accept this connection (pg_hba.conf or SSL)",
         "Ask the administrator to allow this client, or add ?sslmode=require to the URL."),
    )

    @classmethod
    def dialect_for(cls, engine) -> str:
        return "postgres"

    @classmethod
    def connect_args(cls, url) -> dict:
        """For engines we create: a connect timeout, and read-only as the session default from the
        first statement on (begin_read_only sets and checks it again on every query)."""
        if url.get_driver_name() not in ("psycopg2", "psycopg"):
            return {}
        options = f"{url.query.get('options') or ''} -c default_transaction_read_only=on".strip()
        args: dict = {"options": options}
        if "connect_timeout" not in url.query:
            args["connect_timeout"] = 10
        return args

    def begin_read_only(self, cursor, dbapi, timeout_s: float) -> None:
        milliseconds = exp.Literal.number(max(1, int(timeout_s * 1000)))
        self._run(cursor, [
            # In autocommit mode the driver opens no transaction, and SET TRANSACTION would be a no-op.
            "BEGIN READ ONLY" if getattr(dbapi, "autocommit", False) else "SET TRANSACTION READ ONLY",
            # The session too, so that a transaction ended early (a COMMIT that got through) is
            # followed by read-only ones. Undone by our rollback, so a user's own pool keeps its
            # setting; our own engines also set it at connect (connect_args).
            "SET SESSION default_transaction_read_only = on",
            f"SET LOCAL statement_timeout = {milliseconds.sql('postgres')}",
            *self._work_mem(),
            # Takes the transaction's first snapshot: from then on PostgreSQL refuses
            # `SET TRANSACTION READ WRITE` (SQLSTATE 25001). And checks both settings took, and
            # that strings are read as sqlglot writes them (a backslash is no escape in '…').
            "SELECT current_setting('transaction_read_only'), current_setting('default_transaction_read_only'), "
            "current_setting('standard_conforming_strings')",
        ])
        if tuple(cursor.fetchone() or ()) != ("on", "on", "on"):
            raise errors.PermissionDenied(
                "Refused: this PostgreSQL connection could not be made read-only (with standard strings), "
                "so querygpt will not run on it.",
                hint="Connect directly to the server (not through a pooler that drops session settings).")

    def _work_mem(self) -> list[str]:
        """PostgreSQL has no memory limit per query, only per sort or hash (`work_mem`; beyond it
        they spill to disk): each gets at most WORK_MEM_SHARE of Ask.max_memory_mb, never more
        than the server's own setting. For this transaction only (set_config's is_local)."""
        if not self.memory_mb:
            return []
        cap_kb = exp.Literal.number(max(64, int(self.memory_mb) * 1024 // WORK_MEM_SHARE)).sql("postgres")
        return [f"SELECT set_config('work_mem', LEAST(pg_size_bytes(current_setting('work_mem')) / 1024, {cap_kb})"
                "::text || 'kB', true)"]

    def end_transaction(self, cursor, dbapi) -> None:
        if getattr(dbapi, "autocommit", False):
            cursor.execute("ROLLBACK")
        else:
            dbapi.rollback()

    def read(self, cursor, sql: str, budget: "Budget | None" = None) -> "pd.DataFrame":
        """Rows of exactly one query. PostgreSQL itself opens `sql` as a cursor first, and refuses
        to for several statements or for anything but a query (see single_query_cursor); only
        then are rows fetched — by COPY for large results of plain types while they stay within
        the budget, else from the cursor in batches until the budget is spent."""
        from .budget import read_rows

        big = hasattr(cursor, "copy_expert") and not _known_small_text(sql)  # psycopg2 has COPY
        self._run(cursor, [single_query_cursor(sql), f"FETCH {'0' if big else '1'} FROM {RESULT_CURSOR}"])
        names = [d[0] for d in cursor.description or ()]
        first = [] if big else cursor.fetchall()
        if big:
            import pyarrow as pa

            try:
                frame = _read_by_copy(cursor, sql, budget)
            except (pa.ArrowInvalid, _OverBudget):  # a value Arrow cannot read (e.g. 'infinity'::date), or too much
                frame = None
            if frame is not None:
                return frame

        def fetchmany(n: int) -> list:
            if first:
                rows = list(first)
                first.clear()
                return rows
            cursor.execute(f"FETCH {exp.Literal.number(int(n)).sql('postgres')} FROM {RESULT_CURSOR}")
            return cursor.fetchall()

        return read_rows(fetchmany, names, budget)

    def _run(self, cursor, statements: list[str]) -> None:
        """Our own fixed statements; psycopg2 sends them in one round trip (simple protocol)."""
        if self._engine.dialect.driver in SIMPLE_QUERY_DRIVERS:
            cursor.execute("; ".join(statements))
        else:
            for statement in statements:
                cursor.execute(statement)

    def schema(self) -> list[Table]:
        default_schema = self.rows("SELECT current_schema()")[0][0]
        relations = self.rows(CATALOG_TABLES)
        columns = self.rows(CATALOG_COLUMNS)
        keys = self.rows(CATALOG_KEYS)
        names = self.name_tables([(schema, table) for _, schema, table, _, _ in relations], default_schema)
        name_of = {oid: names[(schema, table)] for oid, schema, table, _, _ in relations}
        column_names: dict[int, dict[int, str]] = {}
        by_table: dict[int, list[tuple[str, str, str | None]]] = {}
        for oid, number, column, type_, comment in columns:
            column_names.setdefault(oid, {})[number] = column
            if oid in name_of:
                by_table.setdefault(oid, []).append((column, type_, comment))
        primary: dict[int, set[str]] = {}
        foreign: dict[int, list[ForeignKey]] = {}
        for oid, kind, key, ref_oid, ref_key in keys:
            own = column_names.get(oid, {})
            if kind == "p":
                primary[oid] = {own.get(n, "") for n in key}
            elif ref_oid in name_of:
                ref = column_names.get(ref_oid, {})
                foreign.setdefault(oid, []).append(ForeignKey(
                    tuple(own.get(n, "") for n in key), name_of[ref_oid], tuple(ref.get(n, "") for n in ref_key)))
        return [
            Table(
                name_of[oid],
                tuple(Column(c, t, comment or None, c in primary.get(oid, ())) for c, t, comment in by_table.get(oid, ())),
                comment or None,
                int(estimate) if estimate is not None and estimate >= 0 else None,
                tuple(foreign.get(oid, ())),
            )
            for oid, _, _, comment, estimate in relations
        ]

    def classify_driver_error(self, error: BaseException) -> errors.QueryGPTError | None:
        code = getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)
        primary = getattr(getattr(error, "diag", None), "message_primary", None)  # without "LINE 1: …"
        message = self._message(primary or error).removeprefix("ERROR: ").strip()
        if not code:
            if type(error).__name__ in ("OperationalError", "InterfaceError"):  # no code: the link broke
                return self.connection_failure(error)
            return None
        kind = SQLSTATE_ERRORS.get(code) or SQLSTATE_ERRORS.get(code[:2])
        hint = HINTS.get(code) or HINTS.get(code[:2])
        if kind is errors.DbConnFail:
            return self.connection_failure(error)
        if kind is errors.QueryTimeout:
            return errors.QueryTimeout(f"PostgreSQL stopped the query: {message}")
        if kind is errors.OutOfMemory:
            return errors.OutOfMemory(f"PostgreSQL ran out of resources: {message}")
        if kind is None:
            return errors.DatabaseError(f"PostgreSQL: {message}", hint=hint or "The database rejected the query.")
        if kind is errors.UnknownFunction:
            missing = re.match(r"function (\w+)\(", message)
            if not missing:  # operator does not exist: date + text, …
                return errors.SqlTypeError(f"PostgreSQL: {message}", hint="Cast the values to the types the operator takes.")
            from .functions import missing_function

            return missing_function("postgres", missing.group(1), f"PostgreSQL: {message}")
        return kind(f"PostgreSQL: {message}", hint=hint) if hint else kind(f"PostgreSQL: {message}")


RESULT_CURSOR = "querygpt_rows"


def single_query_cursor(sql: str) -> str:
    """A DO block that opens `sql` as the cursor RESULT_CURSOR, for the rows to be FETCHed.

    This is the single-statement wall for drivers that speak PostgreSQL's simple protocol
    (psycopg2 sends every execute() that way; the server runs every statement in the text).
    `sql` travels inside a dollar-quoted string, which has no escapes: only its tag can end it,
    and the tags are random and absent from `sql`. PL/pgSQL's `OPEN … FOR EXECUTE` then parses
    it and refuses more than one statement ("cannot open multi-query plan as cursor") or a
    statement that is not a query ("cannot open SET query as cursor") before anything runs.
    Built as text because sqlglot has no DO blocks; nothing but `sql` varies.
    """
    import secrets

    def tag(prefix: str, *within: str) -> str:
        while True:
            candidate = f"${prefix}{secrets.token_hex(8)}$"
            if not any(candidate in text for text in within):
                return candidate

    inner = tag("q", sql)
    outer = tag("d", sql, inner)
    return (f"DO {outer} DECLARE c refcursor := '{RESULT_CURSOR}'; "
            f"BEGIN OPEN c FOR EXECUTE {inner}{sql}{inner}; END {outer}")


class _OverBudget(Exception):
    """COPY brought a value longer than the cell cap, or more than the total cap: the cursor,
    read in batches, takes over (psycopg2 ends the COPY and keeps the transaction usable)."""


class _CopySink(io.BytesIO):
    """COPY's rows (one `write` per row) kept while they stay within the budget."""

    def __init__(self, budget: "Budget | None"):
        super().__init__()
        self._cell = budget.caps.cell if budget is not None else None
        self._total = budget.caps.total if budget is not None else None

    def write(self, data) -> int:
        if self._cell is not None and (len(data) > self._cell or self.tell() + len(data) > self._total):
            raise _OverBudget()
        return super().write(data)


def _read_by_copy(cursor, sql: str, budget: "Budget | None" = None) -> "pd.DataFrame | None":
    """Rows as CSV from `COPY (query) TO STDOUT`, parsed by Arrow with the types the server
    reported for the open cursor. None when a type has no exact CSV reading; _OverBudget when
    a row is longer than the cell cap or the rows more than the total cap.

    The COPY wraps the very text PostgreSQL just accepted as one query (not a re-rendering): a
    text that parses as one statement has no `;` token except, at most, trailing ones, so
    `COPY (\n<sql>\n) TO …` holds no statement separator — or is a syntax error, and PostgreSQL
    parses the whole message before running any of it.
    """
    description = cursor.description or ()
    if not description or any(d[1] not in COPY_TYPES for d in description):
        return None
    names = [d[0] for d in description]
    kinds = [COPY_TYPES[d[1]] for d in description]
    buffer = _CopySink(budget)
    cursor.copy_expert("COPY (\n" + sql + "\n) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    frame = _csv_to_frame(buffer, names, kinds)
    if budget is not None:   # within the caps, by the CSV's size
        budget.used, budget.rows_kept = buffer.tell(), len(frame)
    return frame


def _known_small_text(sql: str) -> bool:
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        query = sqlglot.parse_one(sql, read="postgres")
    except SqlglotError:
        return True  # no COPY for what sqlglot cannot read: the cursor path is always exact
    return not isinstance(query, exp.Query) or _known_small(query)


def _known_small(query: exp.Expression) -> bool:
    """A top-level LIMIT of at most SMALL_RESULT_ROWS, or an aggregate without GROUP BY (one row)."""
    limit = query.args.get("limit")
    value = limit.expression if isinstance(limit, exp.Limit) else None
    if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= SMALL_RESULT_ROWS:
        return True
    return (
        isinstance(query, exp.Select) and not query.args.get("group") and bool(query.expressions)
        and all(_aggregates(projection) for projection in query.expressions)
    )


def _aggregates(projection: exp.Expression) -> bool:
    return any(not agg.find_ancestor(exp.Window) for agg in projection.find_all(exp.AggFunc))


def _csv_to_frame(buffer, names: list[str], kinds: list[str]) -> "pd.DataFrame":
    """PostgreSQL's CSV (NULL unquoted and empty, '' quoted) to a DataFrame of the right types."""
    import decimal

    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    arrow_types = {
        "bool": pa.bool_(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
        "float32": pa.float32(), "float64": pa.float64(), "string": pa.string(), "date32": pa.date32(),
        "timestamp": pa.timestamp("us"), "timestamptz": pa.timestamp("us", tz="UTC"),
        "numeric": pa.string(),  # exact: read as text, then Decimal, as the driver gives it
    }
    # Arrow wants unique column names while parsing; the query's own names are put back after.
    keys = [f"c{i}" for i in range(len(names))]
    table = pcsv.read_csv(
        buffer,
        read_options=pcsv.ReadOptions(column_names=keys, block_size=1 << 24),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types={k: arrow_types[kind] for k, kind in zip(keys, kinds)},
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["t"], false_values=["f"],
        ),
    )
    frame = table.to_pandas()
    for key, kind in zip(keys, kinds):
        if kind == "numeric":
            values = [None if v is None else decimal.Decimal(v) for v in table.column(key).to_pylist()]
            frame[key] = pd.Series(values, index=frame.index, dtype=object)
    frame.columns = names
    return frame
