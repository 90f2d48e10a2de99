"""Stage 7, explain: one sentence saying what the SQL computes, in the order a reader checks it.

It is written from the reading, not from the SQL, so a wrong reading shows in plain words
(every filter names its column as stored: `products.category` in a join).
"""
from __future__ import annotations

from typing import Any

from ...connections.catalog import Column
from .build import Statement
from .outcome import Plan
from .query import Query, lists_categories
from .view import JoinColumn, JoinView
from .vocabulary import FUNC_WORDS


def explain(statement: Statement) -> Plan:
    """The plan the planner hands back: the SQL, the chart hint and the sentence."""
    return Plan(statement.sql, _explain(statement.reading.query), statement.chart_hint)


def _explain(q: Query) -> str:
    """One sentence saying what the SQL computes, in the order a reader checks it."""
    table = q.table.name
    if isinstance(q.table, JoinView):
        table += f" on {q.table.condition}"
    if q.measures:
        parts = []
        for m in q.measures:
            if m.func == "count":
                parts.append("the number of rows" if m.column is None else f"the number of distinct {m.column.name}")
            else:
                parts.append(f"{FUNC_WORDS[m.func]} of {m.column.name}")
        if len(q.measures) == 1 and q.measures[0].func == "count" and q.measures[0].column is None:
            text = f"Counts the rows of {table}"
        else:
            text = f"Computes {_join(parts)} in {table}"
    elif q.row_level:
        text = f"Lists {_join([c.name for c in q.projections]) or 'the rows'} of {table}"
    elif q.distinct or lists_categories(q):
        text = f"Lists the distinct values of {_join([c.name for c in q.distinct or q.projections])} in {table}"
    else:
        text = f"Lists {_join([c.name for c in q.projections]) or 'the rows'} of {table}"
    if q.filters:  # every filter, its column as stored (`products.category` in a join), so a wrong one shows
        text += " where " + " and ".join(
            f"{_stored_name(column)} is {' or '.join(_quoted(v) for v in values)}" for column, values in q.filters.values())
    if q.groups:
        text += f" for each {_join([g.name for g in q.groups])}"
        if q.order_by_measure:
            desc = (q.superlative or q.top_direction) == "desc"
            which = "highest" if desc else "lowest"
            text += f", keeping the {'one' if q.limit == 1 else q.limit} with the {which} {q.measures[0].alias}"
    if q.row_level:
        if q.order_key is not None:
            desc = (q.superlative or q.top_direction) == "desc"
            text += f", the {q.limit} with the {'highest' if desc else 'lowest'} {q.order_key.name}"
        else:
            text += f", the first {q.limit}"
    return text + "."


def _stored_name(column: Column) -> str:
    return f"{column.table}.{column.source}" if isinstance(column, JoinColumn) else column.name


def _join(words: list[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


