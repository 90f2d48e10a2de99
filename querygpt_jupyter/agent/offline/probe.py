"""Stored values the catalogue's samples miss, looked up in the database while a question is planned.

Samples are a few values per column; a question may name any of the others (`orders from Nora
Ito`). The probe asks the database, read-only, for exactly the candidate strings of the question.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable

from sqlglot import exp

from ...errors import QueryGPTError
from .tokens import normalised

if TYPE_CHECKING:
    import pandas as pd

# (table, column, candidate strings) -> the candidates stored in that column, with the stored case
ValueProbe = Callable[[str, str, list[str]], list[str]]

class RememberingProbe:
    """The probe for one question: a column is asked only about candidates it was not asked
    about yet, so choosing the table and reading it do not repeat lookups."""

    def __init__(self, probe: ValueProbe):
        self.probe = probe
        self.asked: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.found: dict[tuple[str, str], list[str]] = defaultdict(list)

    def spread(self, *args: Any) -> bool | None:
        spread = getattr(self.probe, "spread", None)
        return spread(*args) if spread is not None else None

    def __call__(self, table: str, column: str, candidates: list[str]) -> list[str]:
        key = (table, column)
        wanted = {c.lower() for c in candidates}
        new = [c for c in candidates if c.lower() not in self.asked[key]]
        if new:
            self.asked[key] |= {c.lower() for c in new}
            self.found[key] += [v for v in self.probe(table, column, new) if v not in self.found[key]]
        return [v for v in self.found[key] if v.lower() in wanted or normalised(v) in wanted]


def make_probe(run: Callable[[str], "pd.DataFrame"], dialect: str) -> ValueProbe:
    """A ValueProbe over `run` (executes SQL, returns a DataFrame): one read-only
    `SELECT DISTINCT col FROM t WHERE lower(col) IN (...)` per call. A failing lookup finds nothing
    rather than failing the question: the planner then refuses or answers from the samples."""

    def probe(table: str, column: str, candidates: list[str]) -> list[str]:
        candidates = [c for c in dict.fromkeys(c.lower() for c in candidates) if c]
        if not candidates:
            return []
        col = exp.column(column, quoted=True)
        query = (
            exp.select(col).distinct()
            .from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
            .where(exp.func("lower", col.copy()).isin(*[exp.Literal.string(c) for c in candidates]))
            .limit(50)
        )
        try:
            frame = run(query.sql(dialect=dialect))
        except QueryGPTError:
            return []
        return [v for v in frame.iloc[:, 0].tolist() if isinstance(v, str)]

    def spread(table: str, name: str, numbers: list[str], where: exp.Expression | None) -> bool | None:
        """Whether the rows picked by `where` repeat a `name` while each name has one set of
        `numbers` (one thing over several rows). Two counting queries; None if they fail."""
        source = exp.Table(this=exp.to_identifier(table, quoted=True))
        counts = exp.select(exp.Count(this=exp.Star()),
                            exp.Count(this=exp.Distinct(expressions=[exp.column(name, quoted=True)]))).from_(source)
        kinds = exp.select(*[exp.column(c, quoted=True) for c in [name, *numbers]]).distinct().from_(source.copy())
        if where is not None:
            counts, kinds = counts.where(where.copy()), kinds.where(where.copy())
        kinds = exp.select(exp.Count(this=exp.Star())).from_(kinds.subquery("kinds"))
        try:
            rows, names = run(counts.sql(dialect=dialect)).iloc[0].tolist()
            distinct = run(kinds.sql(dialect=dialect)).iloc[0, 0]
        except QueryGPTError:
            return None
        return bool(rows > names and distinct == names)

    probe.spread = spread  # type: ignore[attr-defined]
    return probe

