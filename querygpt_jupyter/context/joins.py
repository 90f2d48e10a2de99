"""Join paths from foreign keys: the bridge tables a question needs without naming them
(`students` ↔ `enrollments` ↔ `courses`), and the key pairs the model should join on."""
from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from ..connections.catalog import Table

MAX_BRIDGE_HOPS = 3   # longer chains are rarely what a question means


@dataclass(frozen=True)
class Join:
    """`table(columns) → references(ref_columns)`: one foreign key between kept tables."""

    table: str
    columns: tuple[str, ...]
    references: str
    ref_columns: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"table": self.table, "columns": list(self.columns), "references": self.references,
                "ref_columns": list(self.ref_columns)}


class JoinGraph:
    def __init__(self, tables: tuple[Table, ...]):
        names = {t.name.lower(): t.name for t in tables}
        self.edges: dict[str, set[str]] = defaultdict(set)
        self.keys: list[Join] = []
        for table in tables:
            for fk in table.foreign_keys:
                target = names.get(fk.references.lower()) or _by_last_part(names, fk.references)
                if target is None or target == table.name:
                    continue
                self.edges[table.name].add(target)
                self.edges[target].add(table.name)
                self.keys.append(Join(table.name, fk.columns, target, fk.ref_columns))

    def path(self, start: str, goal: str) -> list[str] | None:
        """The shortest chain of tables from start to goal (both included), or None."""
        if start == goal:
            return [start]
        previous = {start: None}
        queue = deque([(start, 0)])
        while queue:
            node, hops = queue.popleft()
            if hops >= MAX_BRIDGE_HOPS:
                continue
            for nxt in sorted(self.edges.get(node, ())):
                if nxt in previous:
                    continue
                previous[nxt] = node
                if nxt == goal:
                    chain = [goal]
                    while previous[chain[-1]] is not None:
                        chain.append(previous[chain[-1]])
                    return chain[::-1]
                queue.append((nxt, hops + 1))
        return None

    def bridges(self, kept: list[str]) -> list[str]:
        """Tables not in `kept` that lie on the shortest path between two kept tables, most
        important pair (earliest in `kept`) first."""
        out: list[str] = []
        for i, a in enumerate(kept):
            for b in kept[i + 1:]:
                if b in self.edges.get(a, ()):
                    continue
                chain = self.path(a, b)
                for middle in (chain or [])[1:-1]:
                    if middle not in kept and middle not in out:
                        out.append(middle)
        return out

    def joins_among(self, kept: set[str]) -> tuple[Join, ...]:
        return tuple(j for j in self.keys if j.table in kept and j.references in kept)


def _by_last_part(names: dict[str, str], reference: str) -> str | None:
    """A reference written without its schema (`customers` for `sales.customers`), if unique."""
    last = reference.lower().rpartition(".")[2]
    hits = [n for key, n in names.items() if key.rpartition(".")[2] == last]
    return hits[0] if len(hits) == 1 else None
