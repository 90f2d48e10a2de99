"""The query a question asks for: filters, groups, measures, ranking — what the read stage hands on.

Shared by the stages after reading (checks, join checks, SQL, explanation); frozen, so none of
them can change what another one sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ...connections.catalog import Column, Table

if TYPE_CHECKING:
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


@dataclass(frozen=True)
class Query:
    """What the question asks for, settled: the later stages only read it."""

    table: Table
    filters: Mapping[str, tuple[Column, tuple[Any, ...]]]  # column name -> (column, values: any of them)
    groups: tuple[Column, ...] = ()
    measures: tuple[Measure, ...] = ()
    distinct: tuple[Column, ...] = ()
    projections: tuple[Column, ...] = ()
    row_level: bool = False          # rows of the table, not aggregates (top 5 cars by weight)
    order_key: Column | None = None  # row-level sort column
    order_by_measure: bool = False
    top_direction: str | None = None
    superlative: str | None = None
    limit: int | None = None
    plain_first: bool = False        # "first 5 rows": a LIMIT without a sort
    counted: tuple[Span | None, ...] = ()  # the noun each COUNT(*) counts, if named


def lists_categories(q: Query) -> bool:
    """`What are the species?`: listing only low-cardinality columns means their distinct values."""
    return bool(q.projections) and not q.filters and all(c.samples for c in q.projections)

