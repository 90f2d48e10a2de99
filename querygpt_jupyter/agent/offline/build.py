"""Stage 6, build: the SQL for a reading, built as sqlglot expressions, and the chart it calls for.

Quoting and dialects are right by construction (no SQL strings are pasted together); a join is
`FROM many JOIN one ON` its foreign key, with every column qualified by its table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from sqlglot import exp

from ...connections.catalog import Column
from .outcome import refuse
from .query import Measure, Query, lists_categories
from .tokens import Token
from .view import JoinColumn, JoinView, member_tables, name_column
from .vocabulary import CHART_NOUNS, CHART_WORDS, SHARE_NOUNS

if TYPE_CHECKING:
    from .read import Reading


@dataclass(frozen=True)
class Statement:
    """The SQL a reading asks for (in the catalogue's dialect) and the chart hint that goes with it."""

    reading: Reading
    sql: str
    chart_hint: str | None


def build(reading: Reading) -> Statement:
    """The SQL, and the chart the question asks for (`… as a bar chart`) unless it makes none.
    A share (`share of cars by origin`) is answered only as counts per group of all rows."""
    query, words = reading.query, reading.subject.words
    if any(t.text in SHARE_NOUNS for t in words.tokens) and (len(query.groups) != 1 or query.filters):
        raise refuse("The offline planner answers a share only as counts per group of all rows "
                     "('share of cars by origin'); a share of a part needs a model.")
    sql, chart = _select(query, words.catalog.dialect)
    asked = _asked_chart(list(words.tokens))
    return Statement(reading, sql, asked if asked and chart != "none" else chart)


_AGG_BUILDERS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "avg": lambda e: exp.Avg(this=e), "sum": lambda e: exp.Sum(this=e),
    "max": lambda e: exp.Max(this=e), "min": lambda e: exp.Min(this=e),
}


def _col(column: Column) -> exp.Column:
    if isinstance(column, JoinColumn):
        return exp.column(column.source, table=column.table, quoted=True)  # "customers"."country"
    return exp.column(column.name, quoted=True)


def _join_clause(table: JoinView) -> exp.Join:
    """JOIN `one` ON the foreign key's columns (the FROM is `many`)."""
    assert table.many is not None and table.one is not None and table.fk is not None
    many, one, fk = table.many, table.one, table.fk
    on = exp.and_(*[exp.column(a, table=many.name, quoted=True).eq(exp.column(b, table=one.name, quoted=True))
                    for a, b in zip(fk.columns, fk.ref_columns)])
    return exp.Join(this=exp.Table(this=exp.to_identifier(one.name, quoted=True)), on=on)


def _measure_sql(m: Measure) -> exp.Expression:
    if m.func == "count":
        if m.column is None:
            inner: exp.Expression = exp.Count(this=exp.Star())
        else:
            inner = exp.Count(this=exp.Distinct(expressions=[_col(m.column)]))
    else:
        inner = _AGG_BUILDERS[m.func](_col(m.column))
    return exp.alias_(inner, m.alias, quoted=True)


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def where_clause(q: Query) -> exp.Expression | None:
    conditions = []
    for column, values in q.filters.values():
        literals = [_literal(v) for v in values]
        conditions.append(_col(column).eq(literals[0]) if len(literals) == 1 else _col(column).isin(*literals))
    return exp.and_(*conditions) if conditions else None


def _ordered(e: exp.Expression, desc: bool) -> exp.Ordered:
    return exp.Ordered(this=e, desc=desc, nulls_first=False)


def _select(q: Query, dialect: str) -> tuple[str, str | None]:
    """The SQL for `q` in `dialect`, and the chart it calls for ("none": a single number or a list)."""
    source = exp.Table(this=exp.to_identifier(member_tables(q.table)[0].name, quoted=True))
    where = where_clause(q)
    chart: str | None = None
    if q.measures:
        select = exp.select(*[_col(g) for g in q.groups], *[_measure_sql(m) for m in q.measures]).from_(source)
        if q.groups:
            select = select.group_by(*[_col(g) for g in q.groups])
            if q.order_by_measure:
                desc = (q.superlative or q.top_direction) == "desc"
                select = select.order_by(_ordered(exp.column(q.measures[0].alias, quoted=True), desc),
                                         *[_ordered(_col(g), False) for g in q.groups])
                select = select.limit(q.limit)
            else:
                select = select.order_by(*[_ordered(_col(g), False) for g in q.groups])
            chart = None   # the chart chooser decides from the rows (a line per series over time, …)
        else:
            chart = "none"
    elif q.row_level:
        columns = list(dict.fromkeys([*q.projections, *([q.order_key] if q.order_key and q.projections else [])]))
        select = exp.select(*([_col(c) for c in columns] or [exp.Star()])).from_(source)
        if q.order_key is not None:
            select = select.order_by(_ordered(_col(q.order_key), (q.superlative or q.top_direction) == "desc"))
        select = select.limit(q.limit)
    elif q.distinct or lists_categories(q):
        columns = q.distinct or q.projections
        select = exp.select(*[_col(c) for c in columns]).distinct().from_(source)
        select = select.order_by(*[_ordered(_col(c), False) for c in columns])
        chart = "none"
    else:
        select = exp.select(*([_col(c) for c in q.projections] or [exp.Star()])).from_(source)
        name = name_column(q.table)
        if name is not None and name.name in q.filters and q.projections:
            select = select.distinct()  # "area of Lake Michigan": one lake, however many rows it has
    if isinstance(q.table, JoinView):
        select = select.join(_join_clause(q.table))
    if where is not None:
        select = select.where(where)
    return select.sql(dialect=dialect), chart


def _asked_chart(tokens: list[Token]) -> str | None:
    """`… as a bar chart`: the kind of chart the question names, if any."""
    if not any(t.text in CHART_NOUNS for t in tokens):
        return None
    return next((CHART_WORDS[t.text] for t in tokens if t.text in CHART_WORDS), None)
