"""The tools a model may call: look at the schema, sample values, run a small guarded probe, and
submit the answer. Schemas are OpenAI-style; `run_tool` returns the text the model sees."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .. import errors
from .prompts import SAMPLE_CHARS, data_text, one_line, table_ddl

if TYPE_CHECKING:
    import pandas as pd

    from ..connections.catalog import Catalog

SUBMIT = "submit_answer"
PROBE_ROWS = 20


def _function(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": properties, "required": required}}}


TOOLS = [
    _function("list_tables", "List the tables with their row counts and comments.", {}, []),
    _function("describe_table", "Columns, types, keys, comments and sample values of one table.",
              {"table": {"type": "string"}}, ["table"]),
    _function("sample_values", "Up to 20 distinct values of a column (most frequent first), to match a value in the question.",
              {"table": {"type": "string"}, "column": {"type": "string"}}, ["table", "column"]),
    _function("run_probe", f"Run a small read-only SELECT (at most {PROBE_ROWS} rows come back) to check an assumption.",
              {"sql": {"type": "string"}}, ["sql"]),
    _function(SUBMIT, "Submit the final SQL query that answers the question.",
              {"sql": {"type": "string", "description": "One read-only query in the connection's dialect."},
               "chart": {"type": "string", "enum": ["auto", "bar", "line", "pie", "scatter", "none"],
                         "description": "Chart that suits the answer; auto lets querygpt choose."},
               "explanation": {"type": "string", "description": "One sentence: what the query computes."}},
              ["sql"]),
]


def run_tool(name: str, arguments: dict, catalog: "Catalog", probe: Callable[[str], "pd.DataFrame"]) -> str:
    """Execute a look-up tool; errors come back as text the model can act on."""
    try:
        if name == "list_tables":
            return "\n".join(
                f"{one_line(t.name)} ({t.row_count if t.row_count is not None else '?'} rows)"
                f"{'  -- comment: ' + data_text(t.comment) if t.comment else ''}"
                for t in catalog.tables
            )
        if name == "describe_table":
            table = catalog.table(str(arguments.get("table", "")))
            if table is None:
                return f"No table {arguments.get('table')!r}. Tables: {', '.join(t.name for t in catalog.tables)}"
            return table_ddl(table)
        if name == "sample_values":
            table = catalog.table(str(arguments.get("table", "")))
            column = table.column(str(arguments.get("column", ""))) if table else None
            if column is None:
                return f"No column {arguments.get('column')!r} in table {arguments.get('table')!r}."
            from sqlglot import exp

            ident = exp.column(column.name, quoted=True)
            query = (exp.select(ident).from_(exp.Table(this=exp.to_identifier(table.name, quoted=True)))
                     .where(ident.is_(exp.null()).not_()).group_by(ident)
                     .order_by(exp.func("COUNT", exp.Star()).desc()).limit(20))
            frame = probe(query.sql(catalog.dialect))
            return "[" + ", ".join(data_text(v, SAMPLE_CHARS) for v in frame.iloc[:, 0].astype(str).tolist()) + "]"
        if name == "run_probe":
            frame = probe(str(arguments.get("sql", "")))
            # values are data: each on one line and capped, like the schema's samples
            head = frame.head(PROBE_ROWS).map(lambda v: one_line(v, 2 * SAMPLE_CHARS) if isinstance(v, str) else v)
            return head.to_csv(index=False)
        return f"Unknown tool {name!r}. Tools: {', '.join(t['function']['name'] for t in TOOLS)}."
    except errors.QueryGPTError as error:
        return f"{error.label}: {error}"
