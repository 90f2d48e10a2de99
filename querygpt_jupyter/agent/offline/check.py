"""Stage 5, check: refuse readings that are well formed but may count or filter the wrong thing.

Both checks look beyond the question's table (another table naming the same value) or into the
data (rows that repeat one thing), which the reader cannot see from the words alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...connections.catalog import Catalog, Column, Table
from .build import where_clause
from .outcome import refuse
from .query import Query
from .link.values import samples_incomplete
from .tokens import name_stems
from .view import JoinView, name_column

if TYPE_CHECKING:
    from .probe import ValueProbe
    from .read import Reading


def check(reading: Reading) -> Reading:
    """The reading unchanged, or a refusal. A join's reading is checked by join.py instead."""
    words = reading.subject.words
    _check_values_elsewhere(reading.query, words.catalog, words.probe)
    _check_counted_rows(reading.query, words.probe)
    return reading


def _check_counted_rows(q: Query, probe: ValueProbe | None) -> None:
    """`How many rivers`: COUNT(*) counts rivers only if each river has one row. A table without
    a key whose rows repeat a name with the same numbers (one row per state a river crosses, its
    length on each) spreads one thing over several rows: counting rows would be wrong, so the
    planner refuses. Rows that share a name but differ (two cars called `ford pinto`) are counted."""
    if isinstance(q.table, JoinView) or q.groups or not any(n is not None and n.kind == "table" for n in q.counted):
        return
    name = name_column(q.table)
    spread = getattr(probe, "spread", None)
    if name is None or spread is None or any(c.primary_key for c in q.table.columns):
        return
    numbers = [c.name for c in q.table.columns if c.is_numeric]
    if spread(q.table.name, name.name, numbers, where_clause(q)):
        raise refuse(f"Rows of {q.table.name} repeat a {name.name} with the same values, so one of them may take "
                     f"several rows: count the rows or the distinct {name.name}?")


def _check_values_elsewhere(q: Query, catalog: Catalog, probe: ValueProbe | None) -> None:
    """A value filtered in one column that is also the name of a row of another table (`Queen`: a
    composer of a track, and an artist) may mean either; it is refused unless the column refers
    to that table (city.state_name holds states: `cities in Texas` is the state Texas)."""
    if isinstance(q.table, JoinView):
        return
    own = name_column(q.table)
    others = [(t, n) for t in catalog.tables for n in [name_column(t)]
              if t.name != q.table.name and n is not None and n.is_text]
    for column, values in q.filters.values():
        texts = [v for v in values if isinstance(v, str)]
        if not texts or column is own or any(_refers_to(q.table, column, t, n) for t, n in others):
            continue  # the row's own name (`capital of Ohio`), or a column saying what it holds
        for other, name in others:
            if samples_incomplete(name):
                found = probe(other.name, name.name, texts) if probe is not None else []
            else:
                found = [v for v in name.samples if isinstance(v, str) and v.lower() in {t.lower() for t in texts}]
            if found:
                raise refuse(f"'{found[0]}' is a {column.name} in {q.table.name} and also the {name.name} of a row of "
                             f"{other.name}; the offline planner cannot tell which one the question means.")


def _refers_to(table: Table, column: Column, other: Table, name: Column) -> bool:
    """Whether `column` holds references to rows of `other`: a foreign key, or a name saying so
    (`state_name` → state, `city_name` like the city table's own `city_name`)."""
    if any(fk.references.lower() == other.name.lower() and column.name in fk.columns for fk in table.foreign_keys):
        return True
    stems, owner = name_stems(column.name), name_stems(other.name)
    return stems[:len(owner)] == owner or stems == name_stems(name.name)


