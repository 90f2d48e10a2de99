"""Date-sharded table families (`events_20180612`, `ghcnd_1763`, `2018_q1`, `blockgroup_2010_5yr`)
as one entry: warehouses shard by day, month or year, and hundreds of identical tables would
otherwise crowd everything else out of the prompt."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from ..connections.catalog import Table

MIN_MEMBERS = 2
_DIGITS = re.compile(r"\d+")
_SHARD_KEY = re.compile(r"\d{4,}")   # a year, a month (201807) or a day (20180612)


@dataclass(frozen=True)
class Entry:
    """One thing the ranking sees: a table, or a family of shards shown once (its newest member's
    columns, plus any column only older members have)."""

    name: str                      # the table's name, or the family's pattern (`events_*`)
    members: tuple[Table, ...]     # one table, or the shards in name order

    @property
    def is_family(self) -> bool:
        return len(self.members) > 1

    @property
    def table(self) -> Table:
        return self.members[-1]

    @cached_property
    def columns(self):
        if not self.is_family:
            return self.table.columns
        seen, merged = set(), []
        for member in reversed(self.members):
            for column in member.columns:
                if column.name.lower() not in seen:
                    seen.add(column.name.lower())
                    merged.append(column)
        return tuple(merged)


def family_key(name: str) -> str | None:
    """`prefix.events_#` for a shard name, None for a table that is not one. The last name part
    must hold a run of 4+ digits (a year or a date); every digit run then becomes `#`."""
    prefix, _, last = name.rpartition(".")
    if not _SHARD_KEY.search(last):
        return None
    return f"{prefix}.{_DIGITS.sub('#', last)}" if prefix else _DIGITS.sub("#", last)


def entries(tables: tuple[Table, ...]) -> tuple[Entry, ...]:
    """Tables grouped into families where at least MIN_MEMBERS shards share a pattern; order kept
    (a family sits where its first member was)."""
    groups: dict[str, list[Table]] = {}
    for table in tables:
        key = family_key(table.name)
        if key is not None:
            groups.setdefault(key, []).append(table)
    out, placed = [], set()
    for table in tables:
        key = family_key(table.name)
        if key is not None and len(groups[key]) >= MIN_MEMBERS:
            if key not in placed:
                placed.add(key)
                members = tuple(sorted(groups[key], key=lambda t: t.name))
                out.append(Entry(key.replace("#", "*"), members))
        else:
            out.append(Entry(table.name, (table,)))
    return tuple(out)
