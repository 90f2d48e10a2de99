"""The read-only guard: exactly one query, no side effects, files only from allowed folders.

`check` parses SQL with sqlglot, refuses anything that is not a plain read-only query and returns
the AST it checked; `executable_sql` turns that AST back into SQL and proves the text is that AST:
parsed again in the same dialect it must be exactly one statement equal to the checked tree.
Always execute `executable_sql(check(sql, policy), policy.dialect)`, never the original text (MySQL
runs `/*! … */` comments as code) and never unverified rendered text (sqlglot's generator has
dropped quotes, turning one quoted name into several statements — NOTES.md).

The guard is one wall of two: connections are also opened read-only with external access limited
to the allowed folders (see NOTES.md, DuckDB). Keep both.

The rules are data, in the tables below; the functions after them only apply the tables.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from querygpt_jupyter.errors import PermissionDenied, SqlSyntaxError


@dataclass(frozen=True)
class GuardPolicy:
    """What the guard allows: the dialect to parse with, and the folders file reads may come from.

    `allowed_paths` are absolute, realpath'd directories; empty means no file may be read.
    """

    dialect: str = "duckdb"  # sqlglot dialect name: duckdb, sqlite, postgres, mysql
    allowed_paths: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------

# A statement must start with one of these tokens to be parsed at all. Anything else is refused
# by its first keyword, before sqlglot can fall back to a lenient `Command` (or fail to parse it).
QUERY_START_TOKENS = frozenset({
    TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.FROM, TokenType.TABLE,
    TokenType.L_PAREN, TokenType.PIVOT, TokenType.UNPIVOT,
})

# The node types a checked statement may be. Everything inside them is still walked.
QUERY_NODES = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery, exp.Pivot)

_DATA = "change data"
_SCHEMA = "change the schema"
_TRANSACTION = "control transactions"
_SETTINGS = "change session or engine settings"
_DATABASES = "change which databases are connected"
_MAINTENANCE = "write to the database for maintenance"
_PERMISSIONS = "change permissions"
_CODE = "run code the guard cannot see"
_RUNS_PROGRAMS = "runs programs on the server"
_ATTACHES = "connects other databases"

# Why a statement is refused, by its keyword (as written, upper-case). Read as
# "Refused: <KEYWORD> statements <reason>; only read-only queries run."
STATEMENT_REASONS: dict[str, str] = {
    "INSERT": _DATA, "UPDATE": _DATA, "DELETE": _DATA, "MERGE": _DATA, "REPLACE": _DATA,
    "UPSERT": _DATA, "TRUNCATE": _DATA, "COPY": "read or write files or programs",
    "LOAD": "load extensions or files into the database",
    "SELECT … INTO": "write their result into a table, variable or file",
    "SELECT … FOR UPDATE/SHARE": "lock rows for writing",
    "CREATE": "change the schema or session", "DROP": _SCHEMA, "ALTER": _SCHEMA,
    "COMMENT": _SCHEMA, "RENAME": _SCHEMA, "REFRESH": _DATA, "CACHE": _DATA, "UNCACHE": _DATA,
    "BEGIN": _TRANSACTION, "START": _TRANSACTION, "COMMIT": _TRANSACTION, "END": _TRANSACTION,
    "ROLLBACK": _TRANSACTION, "ABORT": _TRANSACTION, "SAVEPOINT": _TRANSACTION,
    "RELEASE": _TRANSACTION, "XA": _TRANSACTION,
    "SET": _SETTINGS, "RESET": _SETTINGS, "PRAGMA": _SETTINGS, "DECLARE": _SETTINGS,
    "DISCARD": _SETTINGS,
    "ATTACH": _DATABASES, "DETACH": _DATABASES, "USE": _DATABASES,
    "INSTALL": "download extensions", "EXPORT": "write files", "IMPORT": "read files into tables",
    "CALL": _CODE, "EXEC": _CODE, "EXECUTE": _CODE, "PREPARE": _CODE, "DEALLOCATE": _CODE,
    "DO": _CODE,
    "CHECKPOINT": _MAINTENANCE, "FORCE": "download extensions or force a checkpoint",
    "VACUUM": _MAINTENANCE, "ANALYZE": _MAINTENANCE, "REINDEX": _MAINTENANCE,
    "CLUSTER": _MAINTENANCE, "OPTIMIZE": _MAINTENANCE, "REPAIR": _MAINTENANCE,
    "FLUSH": _MAINTENANCE,
    "GRANT": _PERMISSIONS, "REVOKE": _PERMISSIONS,
    "KILL": "stop other sessions", "SHUTDOWN": "stop the server", "LOCK": "lock tables",
    "UNLOCK": "unlock tables", "LISTEN": "send or receive notifications",
    "NOTIFY": "send or receive notifications", "UNLISTEN": "send or receive notifications",
    "PUT": "move files", "GET": "move files",
    # Not queries, and some run what they wrap (DuckDB runs the query behind DESCRIBE/SUMMARIZE).
    "EXPLAIN": "run the statement they wrap (EXPLAIN ANALYZE) instead of returning data",
    "DESCRIBE": "are not queries and run the query they describe",
    "DESC": "are not queries and run the query they describe",
    "SUMMARIZE": "scan everything they wrap and are not queries",
    "SHOW": "are not queries",
    "HANDLER": "read tables row by row outside a query",
    # Spark
    "ADD": "load jars, files or archives into the session (code the server then runs)",
    "LIST": "are not queries (they list the session's jars and files)",
    "MSCK": _MAINTENANCE, "CLEAR": "clear the session's cache",
    "SELECT TRANSFORM … USING": "run a program on the server",
}
DEFAULT_STATEMENT_REASON = "are not read-only queries"

# Node types refused anywhere in the tree, by the keyword whose reason applies: a writable CTE
# (`WITH d AS (DELETE … RETURNING *) SELECT …`) hides a DELETE inside a SELECT. Looked up along
# the node's class hierarchy, so DML/DDL also catch statement types not listed by name.
REFUSED_NODES: dict[type, str] = {
    exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE",
    exp.Copy: "COPY", exp.LoadData: "LOAD", exp.TruncateTable: "TRUNCATE",
    exp.Into: "SELECT … INTO", exp.Lock: "SELECT … FOR UPDATE/SHARE",
    exp.Create: "CREATE", exp.Drop: "DROP", exp.Alter: "ALTER", exp.Comment: "COMMENT",
    exp.Refresh: "REFRESH", exp.Cache: "CACHE", exp.Uncache: "UNCACHE",
    exp.Transaction: "BEGIN", exp.Commit: "COMMIT", exp.Rollback: "ROLLBACK",
    exp.Set: "SET", exp.Pragma: "PRAGMA", exp.Declare: "DECLARE",
    exp.Attach: "ATTACH", exp.Detach: "DETACH", exp.Use: "USE", exp.Install: "INSTALL",
    exp.Export: "EXPORT", exp.Execute: "EXECUTE", exp.ExecuteSql: "EXECUTE",
    exp.Analyze: "ANALYZE", exp.Grant: "GRANT", exp.Revoke: "REVOKE", exp.Kill: "KILL",
    exp.Put: "PUT", exp.Get: "GET",
    exp.Describe: "DESCRIBE", exp.Summarize: "SUMMARIZE", exp.Show: "SHOW",
    exp.MultitableInserts: "INSERT", exp.QueryTransform: "SELECT TRANSFORM … USING",
    exp.DML: "INSERT", exp.DDL: "CREATE",
    exp.Command: "",  # sqlglot's fallback for statements it does not know: named by its keyword
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

_RUNS_SQL = "runs SQL given as a string, which the guard cannot check"
_SLEEPS = "makes the server wait"
_SERVER_FILES = "reads or writes files on the database server"
_NETWORK = "connects to other servers"
_STATE = "changes database or session state"
_LOCKS = "takes or releases locks"
_ADMIN = "controls the server or other sessions"
_SECRETS = "reveals credentials or the environment"
_POINTER = "reads process memory through a raw pointer"
_EXTENSIONS = "loads code into the database"
_JVM = "calls any Java method on the server"

# Functions refused anywhere, in every dialect (a name dangerous on one engine is refused on all).
# Read as "Refused: <name>() <reason>."
REFUSED_FUNCTIONS: dict[str, str] = {
    # DuckDB
    "query": _RUNS_SQL, "query_table": "reads a table or file named by a string",
    "json_execute_serialized_sql": _RUNS_SQL, "json_serialize_plan": _RUNS_SQL,
    "histogram": "reads a table or file named by a string",
    "histogram_values": "reads a table or file named by a string",
    "getenv": _SECRETS, "duckdb_secrets": _SECRETS, "which_secret": _SECRETS,
    "sleep_ms": _SLEEPS, "write_log": _STATE, "setseed": _STATE,
    "nextval": "advances a sequence", "setval": "changes a sequence",
    "checkpoint": _STATE, "force_checkpoint": _STATE, "truncate_duckdb_logs": _STATE,
    "enable_logging": _STATE, "disable_logging": _STATE,
    "enable_profiling": _STATE, "disable_profiling": _STATE,
    "create_external_resource": _STATE, "register_external_resource": _STATE,
    "register_external_resource_type": _STATE, "deregister_external_resource": _STATE,
    "destroy_external_resource": _STATE,
    "arrow_scan": _POINTER, "arrow_scan_dumb": _POINTER, "python_arrow_scan": _POINTER,
    "pandas_scan": _POINTER, "python_map_function": _POINTER,
    "install": _EXTENSIONS, "load": _EXTENSIONS, "load_aws_credentials": _SECRETS,
    "postgres_scan": _NETWORK, "postgres_scan_pushdown": _NETWORK, "postgres_query": _RUNS_SQL,
    "postgres_execute": _RUNS_SQL, "mysql_scan": _NETWORK, "mysql_query": _RUNS_SQL,
    "mysql_execute": _RUNS_SQL, "sqlite_attach": _ATTACHES,
    # PostgreSQL
    "pg_stat_file": _SERVER_FILES, "set_config": _STATE,
    "pg_terminate_backend": _ADMIN, "pg_cancel_backend": _ADMIN, "pg_reload_conf": _ADMIN,
    "pg_rotate_logfile": _ADMIN, "pg_switch_wal": _ADMIN, "pg_promote": _ADMIN,
    "pg_create_restore_point": _ADMIN, "pg_backup_start": _ADMIN, "pg_backup_stop": _ADMIN,
    "pg_start_backup": _ADMIN, "pg_stop_backup": _ADMIN, "pg_wal_replay_pause": _ADMIN,
    "pg_wal_replay_resume": _ADMIN, "pg_log_backend_memory_contexts": _ADMIN,
    "pg_notify": _STATE, "pg_import_system_collations": _STATE,
    "query_to_xml": _RUNS_SQL, "query_to_xmlschema": _RUNS_SQL,
    "query_to_xml_and_xmlschema": _RUNS_SQL, "cursor_to_xml": _RUNS_SQL,
    "cursor_to_xmlschema": _RUNS_SQL, "http": _NETWORK,
    "ts_stat": _RUNS_SQL, "ts_rewrite": _RUNS_SQL,  # both take a query as text and run it
    # MySQL / MariaDB
    "load_file": _SERVER_FILES, "sleep": _SLEEPS, "benchmark": _SLEEPS,
    "get_lock": _LOCKS, "release_lock": _LOCKS, "release_all_locks": _LOCKS,
    "master_pos_wait": _SLEEPS, "source_pos_wait": _SLEEPS,
    "wait_for_executed_gtid_set": _SLEEPS, "wait_until_sql_thread_after_gtids": _SLEEPS,
    "sys_exec": _RUNS_PROGRAMS, "sys_eval": _RUNS_PROGRAMS,
    "sys_get": _SECRETS, "sys_set": _STATE,
    # SQLite
    "load_extension": _EXTENSIONS, "readfile": _SERVER_FILES, "writefile": _SERVER_FILES,
    "edit": "starts an editor on the server", "fts3_tokenizer": _POINTER,
    "zipfile": _SERVER_FILES, "fsdir": _SERVER_FILES,
    # Spark (and Databricks)
    "reflect": _JVM, "java_method": _JVM, "try_reflect": _JVM,
    "identifier": "names a table or column by a string the guard cannot check",
    "try_secret": _SECRETS, "list_secrets": _SECRETS,   # `secret` is a keyword of some dialects
}

# Function-name prefixes refused the same way: families too large to list one by one.
REFUSED_FUNCTION_PREFIXES: dict[str, str] = {
    "lo_": _SERVER_FILES,  # PostgreSQL large objects: lo_import, lo_export, lo_unlink, …
    "dblink": _NETWORK,
    "pg_sleep": _SLEEPS,
    "pg_advisory": _LOCKS, "pg_try_advisory": _LOCKS,
    "pg_read_": _SERVER_FILES, "pg_ls_": _SERVER_FILES, "pg_file_": _SERVER_FILES,
    "pg_stat_reset": _STATE, "pg_create_": _STATE, "pg_drop_": _STATE,
    "pg_replication_": _STATE, "pg_logical_": _STATE,
    "http_": _NETWORK,  # pgsql-http, DuckDB http_client
    "ducklake_": _ATTACHES,
}

# Named arguments refused in any function call: they make DuckDB's CSV reader create temporary
# tables (named by the caller), which shadow real tables for every later query in the kernel.
REFUSED_NAMED_ARGUMENTS: dict[str, str] = {
    "store_rejects": "creates tables of rejected rows that can shadow real tables",
    "rejects_table": "creates a table of rejected rows that can shadow a real table",
    "rejects_scan": "creates a table of rejected scans that can shadow a real table",
}

# Functions that read files (DuckDB table functions and extensions). Allowed only when their
# first argument is a plain string literal, or a list of them, naming files under allowed folders.
FILE_READERS = frozenset({"glob", "sniff_csv", "sqlite_scan", "read_duckdb"})
FILE_READER_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_", "st_read", "sniff_")
FILE_READER_SUFFIXES = ("_scan",)

# Dialects whose engine reads a file when a table name looks like one (`FROM 'data.csv'`,
# `FROM "data.csv"`, even `FROM data.csv` on DuckDB 2.0: the dotted name is joined into a path).
TABLE_NAMES_CAN_BE_FILES = frozenset({"duckdb"})

# Dialects whose engine reads files named as `format.`path`` (Spark's SQL on files: parquet.`/data/x`,
# csv.`…`, a data source class name, …): a two-part name is a file when its first part is a format
# below or its second part looks like a path; the path must then be under an allowed folder.
FILE_FORMAT_TABLE_DIALECTS = frozenset({"spark", "spark2", "databricks", "hive"})
FILE_FORMATS = frozenset({
    "parquet", "csv", "json", "text", "binaryfile", "orc", "avro", "xml", "delta", "iceberg", "hudi",
    "libsvm", "image", "jdbc", "kafka", "hive",
})

# A table name is taken for a file path when it contains one of these characters, or when one of
# its dot-separated parts after the first is a file extension below.
PATH_CHARACTERS = frozenset("/\\~:*?[")
FILE_EXTENSIONS = frozenset({
    "csv", "tsv", "tbl", "txt", "dat", "parquet", "pq", "json", "jsonl", "ndjson", "geojson",
    "xlsx", "xls", "db", "duckdb", "ddb", "sqlite", "sqlite3", "arrow", "ipc", "feather",
    "avro", "orc", "shp", "gpkg", "fgb", "kml", "gml", "gz", "gzip", "zst", "zstd", "bz2",
    "xz", "lz4", "snappy", "zip",
})

# Dialects whose engine runs `/*! … */` (and MariaDB's `/*M! … */`) comments as code. Rendering
# drops comments anyway; refusing them says plainly that the SQL hides a statement.
EXECUTABLE_COMMENT_DIALECTS = frozenset({"mysql", "singlestore", "doris", "starrocks"})
EXECUTABLE_COMMENT_PREFIXES = ("!", "M!")

# Assignments that change session state: MySQL's `SELECT @total := …` (user variables) and
# `@@session` variables.
ASSIGNED_VARIABLES = (exp.Parameter, exp.SessionParameter)

GLOB_CHARACTERS = frozenset("*?[")
URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # s3://, https://, file:, md:, …

# How a path that is not a plain quoted string was written, for the refusal message.
NOT_PLAIN_PATHS: dict[type, str] = {
    exp.ByteString: "an escape string (e'…') that the engine decodes",
    exp.RawString: "a dollar-quoted string",
    exp.Column: "a column or bare name (DuckDB reads an unknown name as a path)",
}


# ---------------------------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------------------------


def check(sql: str, policy: GuardPolicy) -> exp.Expression:
    """Parse `sql` in policy.dialect, return the single checked query AST, or raise.

    Raises SqlSyntaxError when the SQL cannot be read and PermissionDenied, with one sentence
    naming what was refused, when it is not exactly one read-only query.
    """
    if _off_for_tests:
        return Unchecked(this=sql)
    dialect = Dialect.get_or_raise(policy.dialect)
    tokens = _tokenize(sql, dialect)
    if policy.dialect in EXECUTABLE_COMMENT_DIALECTS:
        _refuse_executable_comments(tokens)
    _check_one_query_statement(tokens)
    query = _parse(sql, tokens, dialect)
    if not isinstance(query, QUERY_NODES):
        keyword = _refused_keyword(query)
        if keyword is not None:
            _refuse_statement(keyword)
        raise PermissionDenied(
            f"Refused: the SQL is not a query (it reads as {type(query).__name__}); "
            "only read-only queries run."
        )
    for node in query.walk():
        _check_node(node, policy)
    return query


def executable_sql(query: exp.Expression, dialect: str) -> str:
    """The text to execute for a checked (and capped) query: rendered, then parsed again in the
    same dialect, and refused unless that gives back exactly one statement equal to `query`.

    This is what makes "what runs is what was checked" independent of the generator: whatever
    a future sqlglot renders wrongly (a dropped quote, a lost parenthesis) shows up as a
    different tree or a second statement here, and is refused instead of run.
    """
    if isinstance(query, Unchecked):  # the guard is switched off by a test of the engine walls
        return query.name
    sql = render(query, dialect)
    try:
        statements = [s for s in Dialect.get_or_raise(dialect).parse(sql) if s is not None]
    except (ParseError, TokenError, RecursionError):
        statements = []
    if len(statements) != 1 or not _same_query(statements[0], _without_hints(query), dialect):
        raise PermissionDenied(
            "Refused: the SQL could not be rendered back as the one query that was checked "
            "(it would run as something else); rewrite it more plainly, e.g. without quoted type names."
        )
    return sql


def _same_query(read_back: exp.Expression, checked: exp.Expression, dialect: str) -> bool:
    """Equal trees, once names mean what the engine will take them to mean: the generator quotes
    an unquoted name that is a keyword (`at` → `"at"`), which changes nothing — after folding
    unquoted names the way the dialect does, quoting is only spelling. A name whose meaning did
    change (`At` on PostgreSQL rendered as `"At"`) still differs, and so does any other node."""
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    if read_back == checked:
        return True

    def meaning(tree: exp.Expression) -> exp.Expression:
        folded = normalize_identifiers(tree.copy(), dialect=dialect)
        for identifier in folded.find_all(exp.Identifier):
            identifier.set("quoted", False)
        return folded

    return meaning(read_back) == meaning(checked)


def render(query: exp.Expression, dialect: str) -> str:
    """SQL text to execute, generated from the checked AST without comments or optimizer hints.

    Comments go because MySQL runs `/*! … */` comments as code. Hints (`/*+ … */`) go too: they
    are comments the engine parses, so a string regenerated inside one could close it early.
    """
    return _without_hints(query).sql(dialect=dialect, comments=False)


def _without_hints(query: exp.Expression) -> exp.Expression:
    if query.find(exp.Hint):
        return query.transform(lambda node: None if isinstance(node, exp.Hint) else node)
    return query


# -- a switch for tests only ------------------------------------------------------------------
# The tests of the engine walls set `_off_for_tests` (through their `guard_off` fixture) to prove
# that each engine's own read-only wall holds with this guard out of the way. It is not a setting:
# nothing but tests/ may touch it, and no configuration, environment variable or option reads it.
_off_for_tests = False


class Unchecked(exp.Expression):
    """SQL text let through unparsed while the guard is switched off for a test."""

    arg_types = {"this": True}


def _tokenize(sql: str, dialect: Dialect) -> list[Token]:
    try:
        return dialect.tokenize(sql)
    except TokenError as error:
        raise SqlSyntaxError(f"The SQL could not be read: {error}.") from error


def _refuse_executable_comments(tokens: list[Token]) -> None:
    for token in tokens:
        for comment in token.comments:
            if comment.startswith(EXECUTABLE_COMMENT_PREFIXES):
                raise PermissionDenied(
                    "Refused: the SQL holds a /*! … */ comment, which MySQL and MariaDB run as code; "
                    "write that part as plain SQL, or remove it."
                )


def _check_one_query_statement(tokens: list[Token]) -> None:
    """Refuse empty input, several statements, and a statement that does not start like a query."""
    statements = _split_statements(tokens)
    if not statements:
        raise PermissionDenied("Refused: the SQL is empty; send exactly one read-only query.")
    if len(statements) > 1:
        raise PermissionDenied(
            f"Refused: the SQL holds {len(statements)} statements separated by ';'; "
            "only one query runs at a time."
        )
    first = statements[0][0]
    if first.token_type not in QUERY_START_TOKENS:
        keyword = first.text.upper()
        if keyword not in STATEMENT_REASONS and first.token_type in NOT_KEYWORDS:
            _refuse_misspelt_query(first)
        _refuse_statement(keyword)


# Tokens sqlglot knows no keyword for. A statement starting with one is a syntax error when it is
# a number or a string, or a word close to a query keyword (`SELEC`); any other word may be some
# engine's statement sqlglot does not know (MySQL's HANDLER), so it is refused like one.
NOT_KEYWORDS = frozenset({TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER, TokenType.STRING})
QUERY_KEYWORDS = ("SELECT", "WITH", "VALUES", "FROM", "TABLE", "PIVOT", "UNPIVOT")


def _refuse_misspelt_query(first: Token) -> None:
    import difflib

    close = difflib.get_close_matches(first.text.upper(), QUERY_KEYWORDS, n=1, cutoff=0.7)
    if first.token_type == TokenType.VAR and not close:
        return  # an unknown statement word: the caller refuses it
    suggestion = f" Did you mean {close[0]}?" if close else ""
    raise SqlSyntaxError(
        f"Syntax error at line {first.line}: '{first.text}' does not start a SQL statement.{suggestion}",
        hint="A query starts with SELECT, WITH, VALUES or FROM.",
    )


def _split_statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def _parse(sql: str, tokens: list[Token], dialect: Dialect) -> exp.Expression:
    try:
        from .dialects import parser_for

        statements = parser_for(dialect).parse(tokens, sql)
    except ParseError as error:
        _refuse_into_outfile(tokens)
        first = error.errors[0] if error.errors else {}
        where = f" at line {first.get('line', '?')}, column {first.get('col', '?')}"
        what = first.get("description") or str(error)
        raise SqlSyntaxError(f"Syntax error{where}: {what}.") from error
    except RecursionError as error:
        raise SqlSyntaxError("The SQL is nested too deeply to read.") from error
    return next(statement for statement in statements if statement is not None)


def _refuse_into_outfile(tokens: list[Token]) -> None:
    """sqlglot cannot parse MySQL's `SELECT … INTO OUTFILE/DUMPFILE`: name it, not a syntax error."""
    for token, following in zip(tokens, tokens[1:]):
        if token.token_type == TokenType.INTO and following.text.upper() in ("OUTFILE", "DUMPFILE"):
            raise PermissionDenied(
                f"Refused: SELECT … INTO {following.text.upper()} writes a file on the server; "
                "only read-only queries run."
            )


def _refused_keyword(node: exp.Expression) -> str | None:
    """The keyword naming a refused node type (`DELETE`, `CREATE TABLE`, …), or None."""
    for cls in type(node).__mro__:
        if cls in REFUSED_NODES:
            break
    else:
        return None
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    keyword = REFUSED_NODES[cls]
    kind = node.args.get("kind")
    if isinstance(kind, str) and keyword in ("CREATE", "DROP", "ALTER", "COMMENT"):
        temporary = " TEMPORARY" if node.find(exp.TemporaryProperty) else ""
        return f"{keyword}{temporary} {kind.upper()}"
    return keyword


def _refuse_statement(keyword: str) -> None:
    reason = STATEMENT_REASONS.get(keyword) or STATEMENT_REASONS.get(
        keyword.split()[0], DEFAULT_STATEMENT_REASON
    )
    raise PermissionDenied(f"Refused: {keyword} statements {reason}; only read-only queries run.")


def _check_node(node: exp.Expression, policy: GuardPolicy) -> None:
    keyword = _refused_keyword(node)
    if keyword is not None:
        _refuse_statement(keyword)
    if isinstance(node, exp.PropertyEQ) and isinstance(node.this, ASSIGNED_VARIABLES):
        raise PermissionDenied(
            f"Refused: {node.sql(dialect=policy.dialect)} assigns a session variable; "
            "only read-only queries run."
        )
    if isinstance(node, exp.Func):
        _check_function(node, policy)
    elif isinstance(node, exp.Table) and policy.dialect in TABLE_NAMES_CAN_BE_FILES:
        _check_table_name(node, policy)
    elif isinstance(node, exp.Table) and policy.dialect in FILE_FORMAT_TABLE_DIALECTS:
        _check_file_format_table(node, policy)


# ---------------------------------------------------------------------------------------------
# Functions and file paths
# ---------------------------------------------------------------------------------------------

_ANONYMOUS_FUNCTIONS = (exp.Anonymous, exp.AnonymousAggFunc)


def _function_names(func: exp.Func) -> list[str]:
    """Lower-case names a function may have been written with: its own, or its class's aliases."""
    if isinstance(func, _ANONYMOUS_FUNCTIONS):
        return [func.name.lower()]
    return [name.lower() for name in func.sql_names()]


def _check_function(func: exp.Func, policy: GuardPolicy) -> None:
    names = _function_names(func)
    for name in names:
        reason = REFUSED_FUNCTIONS.get(name) or next(
            (why for prefix, why in REFUSED_FUNCTION_PREFIXES.items() if name.startswith(prefix)),
            None,
        )
        if reason:
            raise PermissionDenied(f"Refused: {name}() {reason}.")
    for argument in func.expressions:
        option = _named_argument(argument)
        if option in REFUSED_NAMED_ARGUMENTS:
            raise PermissionDenied(f"Refused: {names[0]}(… {option} …) {REFUSED_NAMED_ARGUMENTS[option]}.")
    for name in names:
        if _is_file_reader(name):
            _check_file_argument(name, _path_argument(func), policy)
            return


def _named_argument(argument: exp.Expression) -> str | None:
    """The lower-case name of a `name = value` / `name := value` argument, else None."""
    named = isinstance(argument, (exp.EQ, exp.PropertyEQ, exp.Kwarg))
    if named and isinstance(argument.this, (exp.Column, exp.Identifier, exp.Var)):
        return argument.this.name.lower()
    return None


def _is_file_reader(name: str) -> bool:
    return (
        name in FILE_READERS
        or name.startswith(FILE_READER_PREFIXES)
        or name.endswith(FILE_READER_SUFFIXES)
    )


def _path_argument(func: exp.Func) -> exp.Expression | None:
    """The argument naming the file(s): the first positional one for every reader we know."""
    first = func.args.get("this")
    if not isinstance(func, _ANONYMOUS_FUNCTIONS) and isinstance(first, exp.Expression):
        return first
    return func.expressions[0] if func.expressions else None


def _check_file_argument(reader: str, argument: exp.Expression | None, policy: GuardPolicy) -> None:
    """A path must be a plain string literal (or a list of them): the engine evaluates anything
    else — concatenations, casts, escape strings — before opening the file."""
    if argument is None or (isinstance(argument, exp.Array) and not argument.expressions):
        raise PermissionDenied(f"Refused: {reader} names no file to read.")
    literals = argument.expressions if isinstance(argument, exp.Array) else [argument]
    for literal in literals:
        if not (isinstance(literal, exp.Literal) and literal.is_string):
            written = NOT_PLAIN_PATHS.get(type(literal)) or (
                f"an expression ({literal.sql(dialect=policy.dialect)})"
            )
            raise PermissionDenied(
                f"Refused: {reader}'s path is {written}, not a plain quoted string, "
                "so the file it reads cannot be checked."
            )
        _check_path(reader, literal.this, policy)


def _check_table_name(table: exp.Table, policy: GuardPolicy) -> None:
    """DuckDB reads a file when a table name looks like one (a "replacement scan")."""
    if not isinstance(table.this, exp.Identifier):
        return
    name = ".".join(part.name for part in table.parts)
    extensions = {part.lower() for part in name.split(".")[1:]}
    if PATH_CHARACTERS.intersection(name) or FILE_EXTENSIONS & extensions:
        _check_path(f'FROM "{name}"', name, policy)


def _check_file_format_table(table: exp.Table, policy: GuardPolicy) -> None:
    """Spark reads `format.`path`` as the file at path (spark.sql.runSQLOnFiles, on by default)."""
    if not isinstance(table.this, exp.Identifier) or not table.args.get("db"):
        return
    source, name = table.text("db"), table.name
    last = source.rsplit(".", 1)[-1].lower()   # a class name (org.apache.spark.sql.parquet) ends in its format
    if last in FILE_FORMATS or source.lower() in FILE_FORMATS or PATH_CHARACTERS.intersection(name):
        _check_path(f"{source}.`{name}`", name, policy)


def _check_path(reader: str, path: str, policy: GuardPolicy) -> None:
    """Refuse a path unless every way the engine may read it is a local file inside an allowed
    folder: DuckDB's glob takes a backslash for a folder separator (`..\\secret\\*.csv`), so a path
    is checked as written and with its backslashes read as slashes."""
    for reading in dict.fromkeys((path, path.replace("\\", "/"))):
        _check_one_path(reader, path, reading, policy)


def _check_one_path(reader: str, written: str, path: str, policy: GuardPolicy) -> None:
    reads = f"Refused: {reader} reads '{written}'"
    if "://" in path or URL_PATTERN.match(path):
        raise PermissionDenied(
            f"{reads}, a URL; only local files under the allowed folders can be read."
        )
    if path.startswith("~"):
        raise PermissionDenied(
            f"{reads}, which starts with ~ (a home folder); give a path under the allowed folders."
        )
    if not policy.allowed_paths:
        raise PermissionDenied(f"{reads}, but reading files is turned off (no allowed folders).")
    folder, name = os.path.split(path)
    if GLOB_CHARACTERS.intersection(folder) or "**" in name:
        raise PermissionDenied(
            f"{reads}, which has wildcards in its folder part; "
            "wildcards are allowed only in the file name."
        )
    roots = tuple(os.path.realpath(root) for root in policy.allowed_paths)
    try:
        locations = _real_locations(folder, name)
    except (ValueError, OSError) as error:  # e.g. an embedded NUL byte
        raise PermissionDenied(f"{reads}, which is not a usable file path ({error}).") from error
    for location in locations:
        if not _inside(location, roots):
            really = "" if location == written else f" (really {location})"
            raise PermissionDenied(
                f"{reads}{really}, which is outside the allowed folders ({', '.join(roots)})."
            )


def _real_locations(folder: str, name: str) -> list[str]:
    """Every real place the engine may open for folder/name, relative to the current directory.

    `..` is resolved two ways, because DuckDB 2.0 does both: after following symlinks (the
    kernel's way, for a plain path) and lexically first (its glob's way) — `allowed/link/../../*`
    differ when `link` points deeper. realpath follows symlinks, as the engine does; each entry a
    file-name wildcard matches is resolved too, since a symlink among them may point outside.
    """
    absolute = os.path.join(os.getcwd(), folder)
    folders = {os.path.realpath(absolute), os.path.realpath(os.path.normpath(absolute))}
    if not GLOB_CHARACTERS.intersection(name):
        return [os.path.realpath(os.path.join(real, name)) for real in folders]
    return [*folders, *(match for real in folders for match in _glob_matches(real, name))]


def _glob_matches(real_folder: str, pattern: str) -> list[str]:
    """Real locations of the entries in a folder that match a file-name wildcard. fnmatch, unlike
    glob, also matches hidden files, as the engine's glob may."""
    try:
        entries = os.listdir(real_folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [
        os.path.realpath(os.path.join(real_folder, entry))
        for entry in entries
        if fnmatch.fnmatchcase(entry, pattern)
    ]


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)
