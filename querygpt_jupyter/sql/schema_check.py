"""Before running a model's SQL: parse it in the connection's dialect (transpiling when it was
written in another one) and check every table and column exists, naming the nearest valid names —
the specific error the model needs to correct itself."""
from __future__ import annotations

import difflib
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError

from .. import errors
from ..connections.catalog import Catalog

# dialects models commonly write in, tried in this order when the connection's own fails to parse
FALLBACK_DIALECTS = ("postgres", "mysql", "tsql", "bigquery", "snowflake", "duckdb", "sqlite", "oracle")


def normalize_sql(sql: str, catalog: Catalog) -> tuple[str, str | None]:
    """(SQL in the catalog's dialect, the dialect it was transpiled from or None).

    The text is read in the dialect it is written in (`dialect_check.detect_source`; the
    engine's own parser accepts much PostgreSQL and gives it another meaning), its date idioms
    are spelt the engine's way, date arithmetic whose meaning differs is refused, and the SQL
    returned is rendered faithfully — what runs is what was checked."""
    from .dialect_check import adapt, check_types, detect_source, render_faithfully

    dialect = catalog.dialect
    source = detect_source(sql, dialect)
    candidates = (source, *(d for d in (dialect, *FALLBACK_DIALECTS) if d != source))
    first_error: ParseError | None = None
    for candidate in candidates:
        try:
            tree = _parse_one(sql, candidate)
        except ParseError as error:
            first_error = first_error or error
            continue
        transpiled_from = None if candidate == dialect else candidate
        break
    else:
        raise errors.SqlSyntaxError(_parse_message(first_error), hint=f"Write valid {dialect} SQL.") from None
    check_names(tree, catalog)
    tree = adapt(tree, catalog, dialect, candidate)
    check_types(tree, catalog, dialect)
    return render_faithfully(tree, dialect), transpiled_from


def check_names(tree: exp.Expression, catalog: Catalog) -> None:
    """Raise SchemaError for a table or column that does not exist, with the closest names."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    known_tables = {t.name.lower(): t for t in catalog.tables}
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or name.lower() in ctes or isinstance(table.this, exp.Func):
            continue
        full = f"{table.db}.{name}" if table.db else name   # `reporting.revenue` for another schema
        if full.lower() in known_tables or name.lower() in known_tables:
            continue
        name = full
        close = difflib.get_close_matches(name.lower(), list(known_tables), n=3, cutoff=0.5)
        hint = f"Did you mean {', '.join(known_tables[c].name for c in close)}?" if close else \
            f"Tables: {', '.join(t.name for t in catalog.tables[:30])}."
        raise errors.SchemaError(f"Unknown table {name!r}.", hint=hint)
    if any("." in t.name for t in catalog.tables):
        return  # tables in several schemas: the database itself reports unknown columns (fed back too)
    schema = {t.name: {c.name: c.type or "TEXT" for c in t.columns} for t in catalog.tables}
    try:
        from sqlglot.optimizer.qualify import qualify

        qualify(tree.copy(), schema=schema, dialect=catalog.dialect, validate_qualify_columns=True,
                quote_identifiers=False, identify=False)
    except OptimizeError as exc:
        match = re.search(r"Column '([^']+)' could not be resolved", str(exc))
        if not match:
            return  # qualify could not follow the query (unusual syntax): let the database judge it
        column = match.group(1)
        columns = {c.name.lower(): (t.name, c.name) for t in catalog.tables if t.name.lower() in
                   {x.name.lower() for x in tree.find_all(exp.Table)} for c in t.columns}
        close = difflib.get_close_matches(column.lower(), list(columns), n=3, cutoff=0.5)
        hint = ("Did you mean " + ", ".join(f"{columns[c][0]}.{columns[c][1]}" for c in close) + "?") if close else \
            "Columns: " + ", ".join(f"{t}.{c}" for t, c in list(columns.values())[:40]) + "."
        raise errors.SchemaError(f"Unknown column {column!r}.", hint=hint) from None
    except Exception:  # qualify is a check, not a gate: a crash in it must not block a valid query
        return


def _parse_one(sql: str, dialect: str) -> exp.Expression:
    statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    if len(statements) != 1:
        raise ParseError(f"Expected one statement, found {len(statements)}.")
    return statements[0]


def _parse_message(error: ParseError) -> str:
    details = getattr(error, "errors", None) or []
    if details:
        first = details[0]
        return f"The SQL does not parse: {first.get('description', 'syntax error')} (line {first.get('line')}, column {first.get('col')})."
    return f"The SQL does not parse: {str(error).splitlines()[0]}"
