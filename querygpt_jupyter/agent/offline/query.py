"""The query a question asks for, as the read stage fills it in: filters, groups, measures, ranking.

Shared by the stages after reading (checks, join checks, SQL, explanation), which only read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...connections.catalog import Column, Table
from .link.mentions import Span


@dataclass(frozen=True)
class Measure:
    func: str                 # count, avg, sum, max, min
    column: Column | None     # None: COUNT(*)
    distinct: bool = False

    @property
    def alias(self) -> str:
        if self.column is None:
            return "count"
        return f"{'count_distinct' if self.distinct else self.func}_{self.column.name}"


@dataclass
class Query:
    table: Table
    filters: dict[str, tuple[Column, list[Any]]] = field(default_factory=dict)
    groups: list[Column] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    distinct: list[Column] = field(default_factory=list)
    projections: list[Column] = field(default_factory=list)
    row_level: bool = False          # rows of the table, not aggregates (top 5 cars by weight)
    which_rows: bool = False         # "which cars …": row-level only if a superlative follows
    which_column: bool = False       # "which cities …": ranked groups, or a plain list of values
    order_key: Column | None = None  # row-level sort column
    order_by_measure: bool = False
    top_entity: Span | None = None
    top_direction: str | None = None
    superlative: str | None = None
    limit: int | None = None
    plain_first: bool = False        # "first 5 rows": a LIMIT without a sort
    counted: list[Span | None] = field(default_factory=list)  # the noun each COUNT(*) counts, if named

    def add_measure(self, measure: Measure) -> None:
        if measure not in self.measures:
            self.measures.append(measure)

    def count_rows(self, noun: Span | None) -> None:
        """COUNT(*), remembering what the question counts: one table's rows are its rows, but in a
        join only the `many` side's are (see `_check_join`)."""
        self.add_measure(Measure("count", None))
        self.counted.append(noun)

    def add_filter(self, column: Column, value: Any) -> None:
        values = self.filters.setdefault(column.name, (column, []))[1]
        if value not in values:
            values.append(value)

def lists_categories(q: Query) -> bool:
    """`What are the species?`: listing only low-cardinality columns means their distinct values."""
    return bool(q.projections) and not q.filters and all(c.samples for c in q.projections)

