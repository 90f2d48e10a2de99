"""What the stages read as "the table": a catalogue table, or two joined along a foreign key.

A `JoinView` is a `Table` whose columns are `JoinColumn`s, so the link and read stages work on a
join unchanged; only the join's checks and the SQL builder look inside it. Also here: the column
naming a table's rows (`name_column`), which several stages consult.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...connections.catalog import Column, ForeignKey, Table
from .tokens import name_stems


@dataclass(frozen=True)
class JoinColumn(Column):
    """A column of a `JoinView`: `table`.`source` in the SQL. Its `name` is `source`, or
    `table_source` where both tables have a column of that name (`orders_id`), so every column
    of the view has its own name, as the stages expect."""

    table: str = ""
    source: str = ""


@dataclass(frozen=True)
class JoinView(Table):
    """`many` JOIN `one` ON many.fk = one.key, as one table. Each joined row is one `many` row,
    so counting and adding up `many` means what it says, while a `one` row appears once per
    `many` row that refers to it. The key columns of `one` are left out: they equal the foreign
    key columns of `many`."""

    many: Table | None = None
    one: Table | None = None
    fk: ForeignKey | None = None
    # one-word names of columns of the other tables: with more tables in play, such a word is
    # that column, never part of a name here (`price` of products is not `unit_price`)
    shadowed: frozenset[str] = frozenset()

    @property
    def condition(self) -> str:
        assert self.many is not None and self.one is not None and self.fk is not None
        return " AND ".join(f"{self.many.name}.{a} = {self.one.name}.{b}"
                            for a, b in zip(self.fk.columns, self.fk.ref_columns))


def member_tables(table: Table) -> tuple[Table, ...]:
    """The catalogue tables behind `table`: itself, or the two tables of a join."""
    if isinstance(table, JoinView):
        assert table.many is not None and table.one is not None
        return table.many, table.one
    return (table,)


def origin(table: Table, column: Column) -> tuple[str, str]:
    """(table, column) as stored, for the probe: a join's column lives in one of its tables."""
    if isinstance(column, JoinColumn):
        return column.table, column.source
    return table.name, column.name


def in_view(table: Table, member: Table, column: Column | None) -> Column | None:
    """`column` of `member` as `table` (a join, or that very table) calls it; None if left out."""
    if column is None or not isinstance(table, JoinView):
        return column
    return next((c for c in table.columns if isinstance(c, JoinColumn)
                 and c.table == member.name and c.source == column.name), None)


def name_column(table: Table) -> Column | None:
    """The column naming each row: `name`/`title`, `<table>_name`, or a text primary key."""
    stems = name_stems(table.name)
    for column in table.columns:
        words = name_stems(column.name)
        if words and words[-1] in ("name", "title") and (len(words) == 1 or words[:-1] == stems):
            return column
    keys = [c for c in table.columns if c.primary_key]
    return keys[0] if len(keys) == 1 and keys[0].is_text else None


def namesake_column(table: Table) -> Column | None:
    """The column named like its table (`wheat.wheat`): a lone mention may mean either."""
    stems = name_stems(table.name)
    return next((c for c in table.columns if name_stems(c.name) == stems), None)

