"""What each engine calls a function: the names of the engines, the equivalents of functions a
model writes in another dialect, and the error an adapter raises when its engine says a function
is missing. Adapters classify their engine's errors with these; sql/dialect_check.py reads them
to catch a foreign function before it runs."""
from __future__ import annotations

from .. import errors

ENGINE_NAMES = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL", "mysql": "MySQL/MariaDB", "spark": "Spark SQL"}

# engine -> function a model wrote (lower case) -> how the engine says it.
ENGINE_EQUIVALENTS: dict[str, dict[str, str]] = {
    "sqlite": {
        "to_char": "strftime('%Y-%m', d)", "date_format": "strftime('%Y-%m', d)", "date_trunc": "date(d, 'start of month')",
        "extract": "CAST(strftime('%Y', d) AS INTEGER)", "date_part": "CAST(strftime('%Y', d) AS INTEGER)",
        "year": "CAST(strftime('%Y', d) AS INTEGER)", "month": "CAST(strftime('%m', d) AS INTEGER)",
        "day": "CAST(strftime('%d', d) AS INTEGER)", "to_date": "date(s) on ISO text 'YYYY-MM-DD'",
        "str_to_date": "date(s) on ISO text 'YYYY-MM-DD'", "to_timestamp": "datetime(n, 'unixepoch')",
        "from_unixtime": "datetime(n, 'unixepoch')", "unix_timestamp": "strftime('%s', ts)",
        "datediff": "julianday(a) - julianday(b)", "date_diff": "julianday(a) - julianday(b)",
        "age": "julianday(a) - julianday(b)", "date_add": "date(d, '+1 days')", "date_sub": "date(d, '-1 days')",
        "now": "datetime('now')", "curdate": "date('now')", "concat": "a || b", "if": "iif(cond, a, b)",
        "left": "substr(s, 1, n)", "right": "substr(s, -n)", "string_agg": "group_concat(x, ',')",
        "split_part": "substr() with instr()", "greatest": "max(a, b)", "least": "min(a, b)",
    },
    "duckdb": {
        "to_char": "strftime(d, '%Y-%m')", "date_format": "strftime(d, '%Y-%m')", "to_date": "strptime(s, '%Y-%m-%d')::DATE",
        "str_to_date": "strptime(s, '%d/%m/%Y')", "datediff": "date_diff('day', a, b)", "julianday": "julian(d)",
        "unix_timestamp": "epoch(ts)", "from_unixtime": "to_timestamp(n)", "curdate": "current_date",
        "timestampdiff": "date_diff('hour', a, b)", "group_concat": "string_agg(x, ',')",
    },
    "postgres": {
        "date_format": "TO_CHAR(d, 'YYYY-MM')", "strftime": "TO_CHAR(d, 'YYYY-MM')", "datediff": "b::date - a::date",
        "date_diff": "b::date - a::date", "year": "EXTRACT(YEAR FROM d)", "month": "EXTRACT(MONTH FROM d)",
        "day": "EXTRACT(DAY FROM d)", "julianday": "EXTRACT(EPOCH FROM d) / 86400", "ifnull": "COALESCE(a, b)",
        "curdate": "CURRENT_DATE", "str_to_date": "TO_DATE(s, 'DD/MM/YYYY')", "strptime": "TO_TIMESTAMP(s, 'YYYY-MM-DD')",
        "date_add": "d + INTERVAL '1 day'", "date_sub": "d - INTERVAL '1 day'", "group_concat": "string_agg(x, ',')",
        "from_unixtime": "TO_TIMESTAMP(n)", "unix_timestamp": "EXTRACT(EPOCH FROM ts)", "timestampdiff": "EXTRACT(EPOCH FROM b - a)",
        "if": "CASE WHEN cond THEN a ELSE b END", "iif": "CASE WHEN cond THEN a ELSE b END",
    },
    "mysql": {
        "to_char": "DATE_FORMAT(d, '%Y-%m')", "strftime": "DATE_FORMAT(d, '%Y-%m')", "date_trunc": "DATE_FORMAT(d, '%Y-%m-01')",
        "to_date": "STR_TO_DATE(s, '%Y-%m-%d')", "date_part": "EXTRACT(YEAR FROM d)", "julianday": "TO_DAYS(d)",
        "age": "TIMESTAMPDIFF(YEAR, b, a)", "string_agg": "GROUP_CONCAT(x SEPARATOR ',')", "date_diff": "DATEDIFF(a, b)",
        "strptime": "STR_TO_DATE(s, '%Y-%m-%d')", "epoch": "UNIX_TIMESTAMP(ts)",
    },
}


def missing_function(engine: str, name: str | None, message: str) -> errors.UnknownFunction:
    """The error for a function the engine says it lacks, with the engine's equivalent if known."""
    engine_name = ENGINE_NAMES.get(engine, engine)
    equivalent = ENGINE_EQUIVALENTS.get(engine, {}).get((name or "").lower())
    hint = (f"On {engine_name} use {equivalent} ({name.upper()} is not {engine_name} SQL)." if name and equivalent
            else f"Use a function {engine_name} has (check the name and the number of arguments).")
    return errors.UnknownFunction(message, hint=hint)
