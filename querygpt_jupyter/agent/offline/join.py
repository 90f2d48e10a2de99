"""Stage 2, failing that — join: a question one table cannot answer, read against two tables linked by one key.

Tried only when the one-table reading refuses, so one-table answers never change. Each linked
pair is read as a `JoinView` through the same reading stages, and answered only for readings the
join cannot distort (`_check_join`): counting or summing across a join is easy to get wrong.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ...connections.catalog import Catalog, ForeignKey, Table
from ...errors import AgentFailure
from .choose import Subject, coverage_by_table, named_tables
from .outcome import Plan, refuse
from .query import Query, lists_categories
from .tokens import Token, Words, name_stems
from .view import JoinColumn, JoinView
from .vocabulary import FUNC_WORDS

if TYPE_CHECKING:
    from .read import Reading


@dataclass(frozen=True)
class KeyLink:
    """`many`.fk refers to `one`: one way to join a pair of tables."""

    many: Table
    one: Table
    fk: ForeignKey


def _foreign_key_pairs(catalog: Catalog) -> dict[frozenset[str], list[KeyLink]]:
    """Every pair of distinct tables linked by foreign keys → the links (many, one, fk).
    Keys whose columns the catalogue does not list are skipped; self-references are no pairs."""
    pairs: dict[frozenset[str], list[KeyLink]] = defaultdict(list)
    for many in catalog.tables:
        for fk in dict.fromkeys(many.foreign_keys):
            one = catalog.table(fk.references)
            if one is None or one.name == many.name or not fk.columns or len(fk.columns) != len(fk.ref_columns):
                continue
            if any(many.column(c) is None for c in fk.columns) or any(one.column(c) is None for c in fk.ref_columns):
                continue
            pairs[frozenset({many.name, one.name})].append(KeyLink(many, one, fk))
    return pairs


def _join_view(catalog: Catalog, key: KeyLink) -> JoinView | None:
    """The view of `many` joined to `one` along `fk`; None if its column names cannot be made unique."""
    many, one, fk = key.many, key.one, key.fk
    keys = {c.lower() for c in fk.ref_columns}
    parts = [(many, many.columns), (one, tuple(c for c in one.columns if c.name.lower() not in keys))]
    clashes = Counter(c.name.lower() for _, columns in parts for c in columns)
    columns = tuple(
        JoinColumn(c.name if clashes[c.name.lower()] == 1 else f"{t.name}_{c.name}", c.type, c.comment,
                   c.primary_key, c.samples, table=t.name, source=c.name)
        for t, cols in parts for c in cols)
    if len({c.name.lower() for c in columns}) != len(columns):
        return None
    shadowed = frozenset(stems[0] for t in catalog.tables if t.name not in (many.name, one.name)
                         for c in t.columns for stems in [name_stems(c.name)] if len(stems) == 1)
    return JoinView(f"{many.name} joined with {one.name}", columns, many=many, one=one, fk=fk, shadowed=shadowed)


def _join_candidates(tokens: list[Token], catalog: Catalog, question: str,
                     pairs: dict[frozenset[str], list[KeyLink]]) -> list[frozenset[str]]:
    """The linked pairs the question may be about: every table it names is in the pair, and a
    member it does not name explains one of its words — except beside the only named table, where
    the word may be a value only the probe finds (`orders from Nora Ito`). Three named tables
    are refused: the offline planner joins two."""
    named = set(named_tables(tokens, catalog))
    if len(named) > 2:
        raise refuse(f"The question names {len(named)} tables ({', '.join(sorted(named))}); the offline planner "
                     "joins at most two, linked by one foreign key.")
    coverage = coverage_by_table(tokens, catalog, question)
    out = []
    for pair in pairs:
        if not named <= pair:
            continue
        if len(named) == 1 or all(name in named or name in coverage for name in pair):
            out.append(pair)
    return sorted(out, key=sorted)


def _check_join(q: Query, view: JoinView) -> None:
    """Refuse the readings a join would silently change. A joined row is a `many` row carrying
    its `one` row, so: COUNT(*) must count `many`, named as such (`how many orders`), never
    `one` (`how many customers …` would count each customer once per order: COUNT(DISTINCT) is
    left to a model) nor an unnamed noun; SUM and AVG may only read `many` columns (a `one`
    column would be weighed by its number of `many` rows), while MIN, MAX and COUNT(DISTINCT)
    are unaffected; rows are not listed (a `one` row would repeat), only aggregates and distinct
    values; and both tables must be used, else the join only drops unmatched rows."""
    assert view.many is not None and view.one is not None
    many, one = view.many.name, view.one.name
    if q.row_level or not (q.measures or q.distinct or lists_categories(q)):
        raise refuse(f"Listing rows of {many} joined with {one} would repeat a row of {one} once per row of "
                     f"{many}; across a join the offline planner only aggregates or lists distinct values.")
    for noun in q.counted:
        if noun is not None and noun.kind == "table" and noun.arg.name == one:
            raise refuse(f"Counting {one} through {many} would count each of them once per row of {many} "
                         "(COUNT(DISTINCT) is a reading the offline planner leaves to a model).")
        if noun is None or noun.kind != "table" or noun.arg.name != many:
            what = f"'{noun.text}'" if noun is not None else "the rows"
            raise refuse(f"The offline planner could not tell whether {what} means {many} or {one}; "
                         f"ask 'how many {many} …'.")
    for m in q.measures:
        if m.func in ("sum", "avg") and isinstance(m.column, JoinColumn) and m.column.table == one:
            raise refuse(f"{FUNC_WORDS[m.func].capitalize()} of {m.column.name} across the join would weigh each "
                         f"row of {one} by its number of rows in {many}; the offline planner will not guess.")
    columns = [*q.groups, *q.distinct, *q.projections, *(c for c, _ in q.filters.values())]
    columns += [m.column for m in q.measures if m.column is not None]
    used = {c.table for c in columns if isinstance(c, JoinColumn)} | ({many} if q.counted else set())
    if used != {many, one}:
        raise refuse(f"The question does not use both {many} and {one}, so joining them would only drop "
                     f"the unmatched rows.")


def plan_joins(words: Words, refusal: AgentFailure, read: Callable[[Subject], Reading],
               write: Callable[[Reading], Plan]) -> Plan:
    """The one answer a join along a foreign key gives, or a refusal. Every candidate pair (see
    `_join_candidates`) is read as a `JoinView` (`read`: the planner's reading stages); the
    question is answered (`write`) only when exactly one pair, linked by exactly one key, reads it
    safely (`_check_join`). A pair linked by several keys that reads it is refused (which key?),
    and so are answers from two different pairs. Without an answer, the refusal that explains
    best is given: a reading understood but unsafe, else the failure of the only candidate, else
    the one-table refusal."""
    catalog = words.catalog
    pairs = _foreign_key_pairs(catalog)
    if not pairs:
        raise refusal
    answers: list[Plan] = []
    unsafe: list[tuple[JoinView, AgentFailure]] = []
    failed: list[tuple[JoinView, AgentFailure]] = []
    several_keys: list[frozenset[str]] = []
    for pair in _join_candidates(list(words.tokens), catalog, words.question, pairs):
        for key in pairs[pair]:
            view = _join_view(catalog, key)
            if view is None:
                continue
            try:
                reading = read(Subject(words, view))
            except AgentFailure as failure:
                failed.append((view, failure))
                continue
            if len(pairs[pair]) > 1:
                several_keys.append(pair)
                continue
            try:
                _check_join(reading.query, view)
            except AgentFailure as failure:
                unsafe.append((view, failure))
                continue
            answers.append(write(reading))
    if several_keys:
        a, b = sorted(several_keys[0])
        keys = "; ".join(f"{key.many.name}.{', '.join(key.fk.columns)} → {key.one.name}"
                         for key in pairs[several_keys[0]])
        raise refuse(f"Several foreign keys link {a} and {b} ({keys}); the offline planner cannot tell which "
                     "join the question means.")
    if len({plan.sql for plan in answers}) == 1:
        return answers[0]
    if answers:
        raise refuse("The question could be answered by joining different pairs of tables; name the tables.")
    for reasons in (unsafe, failed):
        if len(reasons) == 1:
            view, failure = reasons[0]
            raise refuse(f"The question needs several tables; read as {view.name} on {view.condition}: "
                         f"{failure.message}")
        if reasons:
            break
    raise refusal
