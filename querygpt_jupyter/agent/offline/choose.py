"""Stage 2, choose: the one table a question is about — named in it, or the only one that fits.

Without a named table, every table is linked to the question in turn (columns, keywords,
values) and the table explaining the most words wins, when it explains them better than every
other. The same evidence tells connections/choose.py which database a question is about.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...connections.catalog import Catalog, Table
from .link.columns import link_columns
from .link.keywords import link_keywords, link_top
from .link.mentions import Links, table_mentions
from .link.values import link_values
from .outcome import refuse
from .tokens import Token, Words, name_stems, tokenise
from .view import name_column, namesake_column
from .vocabulary import CONJUNCTIONS, FUNCTION_WORDS, KEYWORD_WORDS

if TYPE_CHECKING:
    from .probe import ValueProbe


@dataclass(frozen=True)
class Subject:
    """What the question is read against: a table (or a join's view) and the token ranges naming
    it; the words, catalogue and probe travel along."""

    words: Words
    table: Table
    mentions: tuple[tuple[int, int], ...] = ()


def choose(words: Words) -> Subject:
    """The one table the question is about, or a refusal (then a join may answer: join.py)."""
    table, mentions = _choose_table(list(words.tokens), words.catalog, words.question, words.probe)
    return Subject(words, table, tuple(mentions))


def _choose_table(tokens: list[Token], catalog: Catalog, question: str,
                  probe: ValueProbe | None = None) -> tuple[Table, list[tuple[int, int]]]:
    """The one table the question is about, and the token ranges that name it."""
    named = named_tables(tokens, catalog)
    if len(named) == 2:
        named = _drop_named_by_column(named, catalog)
    if len(named) > 1:
        raise refuse(f"The question names several tables ({', '.join(sorted(named))}); the offline planner "
                     "answers questions about one table, or two linked by one foreign key.")
    if named:
        name, mentions = next(iter(named.items()))
        table = catalog.table(name)
        assert table is not None
        if len(mentions) > 1 and namesake_column(table) is not None:
            # `Maximum wheat in wheat`: the last mention is the table, earlier ones the column
            mentions = mentions[-1:]
        return table, mentions
    return _infer_table(tokens, catalog, question, probe)


def _drop_named_by_column(named: dict[str, list[tuple[int, int]]], catalog: Catalog
                          ) -> dict[str, list[tuple[int, int]]]:
    """`cities per state`: of two named tables, a table whose noun is also a `<noun>_name` column
    of the other (city.state_name) is that column, so the question is about the other table
    alone. Kept as two tables when each names a column of the other."""
    readings = []
    for name, other in (tuple(named), tuple(reversed(tuple(named)))):
        table, noun = catalog.table(name), name_stems(other)
        if table is not None and any(name_stems(c.name) == noun + ("name",) for c in table.columns):
            readings.append(name)
    return {readings[0]: named[readings[0]]} if len(readings) == 1 else named


def named_tables(tokens: list[Token], catalog: Catalog) -> dict[str, list[tuple[int, int]]]:
    """The tables the question names, with the token ranges naming them."""
    named: dict[str, list[tuple[int, int]]] = {}
    for table in catalog.tables:
        mentions = table_mentions(tokens, table)
        if mentions:
            named[table.name] = mentions
    # a longer name wins over a shorter one inside it ("seattle weather" over a table "weather"),
    # and so does a column of another table ("customer id" of orders over customers)
    longer = {t.name: named.get(t.name, []) + _column_mentions(tokens, t) for t in catalog.tables}
    for name, mentions in list(named.items()):
        kept = [m for m in mentions if not any(
            o != name and any(s <= m[0] and m[1] <= e and (e - s) > (m[1] - m[0]) for s, e in spans)
            for o, spans in longer.items())]
        if kept:
            named[name] = kept
        else:
            del named[name]
    return named


def _column_mentions(tokens: list[Token], table: Table) -> list[tuple[int, int]]:
    """Token ranges spelling a column's full multi-word name."""
    found = []
    for column in table.columns:
        stems = name_stems(column.name)
        if len(stems) > 1:
            n = len(stems)
            found += [(i, i + n) for i in range(len(tokens) - n + 1) if tuple(t.stem for t in tokens[i:i + n]) == stems]
    return found




def _infer_table(tokens: list[Token], catalog: Catalog, question: str,
                 probe: ValueProbe | None = None) -> tuple[Table, list[tuple[int, int]]]:
    """No table named: pick the one table whose columns, stored values and name words explain
    the question's words better than every other table (see `_dominates`). Tables that explain
    the same words tie; the tie goes to the one table that stores the question's values in its
    own name column (`population of Texas`: the state Texas, not the cities of Texas); else refuse."""
    evidence = coverage_by_table(tokens, catalog, question, probe)
    coverage = {name: e.covered for name, e in evidence.items()}
    if not coverage:
        raise refuse("The offline planner could not tell which table the question is about.")
    ranked = sorted(coverage, key=lambda name: -len(coverage[name]))
    best = next((name for name in ranked if _dominates(name, coverage)), None)
    if best is None:
        best = _entity_table(evidence)
    if best is None:
        names = ", ".join(sorted(ranked[:4]))
        raise refuse(f"The question could be about several tables ({names}); name the table.")
    table = catalog.table(best)
    assert table is not None
    return table, evidence[best].partial


@dataclass(frozen=True)
class _Evidence:
    """What one table explains of the question: token indices covered by its columns, stored
    values and name words; the lone name words; the value tokens stored in its name column."""

    covered: frozenset[int]
    partial: list[tuple[int, int]]
    values: frozenset[int]
    named_values: frozenset[int]


def _entity_table(evidence: dict[str, _Evidence]) -> str | None:
    """Among the tables explaining the most (and the same) words, the one whose name column holds
    every value of the question — when there is exactly one such table."""
    tops = [n for n, e in evidence.items() if not any(e.covered < o.covered for o in evidence.values())]
    if len({evidence[n].covered for n in tops}) != 1:
        return None
    entities = [n for n in tops if evidence[n].values and evidence[n].named_values == evidence[n].values]
    return entities[0] if len(entities) == 1 else None


def coverage_by_table(tokens: list[Token], catalog: Catalog, question: str,
                      probe: ValueProbe | None = None) -> dict[str, _Evidence]:
    """Per table, the words it explains (tables explaining none are left out). Values come from
    the catalogue's samples; when words remain that no column or table name explains, the probe
    looks them up in every table's text columns: samples are few, and a value they miss in one
    table may pick another (`area of Alaska`: a lake's state in the samples, a state's name too)."""
    evidence = _coverage_pass(tokens, catalog, question, None)
    if probe is not None:
        known = set().union(*(e.covered - e.values for e in evidence.values())) if evidence else set()
        unknown = [i for i, t in enumerate(tokens) if i not in known and not t.is_stop and t.number is None
                   and t.text not in KEYWORD_WORDS and t.text not in CONJUNCTIONS]
        if unknown:
            evidence = _coverage_pass(tokens, catalog, question, probe)
    return evidence


def _coverage_pass(tokens: list[Token], catalog: Catalog, question: str,
                   probe: ValueProbe | None) -> dict[str, _Evidence]:
    evidence: dict[str, _Evidence] = {}
    for table in catalog.tables:
        links = Links(tokens)
        spans = link_columns(links, table)
        link_top(links)
        link_keywords(links)
        values = link_values(links, table, question, probe, strict=False, stored=catalog.values)
        spans += values
        if not spans:
            continue
        words = set(name_stems(table.name))
        partial = [(i, i + 1) for i, t in enumerate(tokens)
                   if links.owner[i] is None and t.stem in words and not t.is_stop and t.text not in KEYWORD_WORDS]
        own_name = name_column(table)
        evidence[table.name] = _Evidence(
            frozenset({i for s in spans for i in range(s.start, s.end)} | {i for i, _ in partial}), partial,
            frozenset(i for s in values for i in range(s.start, s.end)),
            frozenset(i for s in values if own_name is not None and s.arg[0].name == own_name.name
                      for i in range(s.start, s.end)))
    return evidence


def _dominates(name: str, coverage: dict[str, frozenset[int]]) -> bool:
    """Whether `name` explains a word no other table does, and every word another table
    explains is explained here too or is a head noun after one (`weather types`)."""
    mine = coverage[name]
    for other, theirs in coverage.items():
        if other == name:
            continue
        if not mine - theirs or any(i - 1 not in mine for i in theirs - mine):
            return False
    return True


def explained_words(question: str, catalog: Catalog) -> frozenset[str]:
    """The question's content words (lower case) this catalogue accounts for: as the planner links
    them (table names, columns, sample values), plus any word of a table's or column's name
    (`body mass` of body_mass_g). Cheap (no queries): it tells which of several connections a
    question is about (connections/choose.py)."""
    tokens = tokenise(question)
    covered: set[int] = set()
    for evidence in coverage_by_table(tokens, catalog, question).values():
        covered |= evidence.covered
    name_words = set()
    for table in catalog.tables:
        for start, end in table_mentions(tokens, table):
            covered.update(range(start, end))
        name_words.update(name_stems(table.name))
        for column in table.columns:
            name_words.update(name_stems(column.name))
    covered.update(i for i, t in enumerate(tokens) if t.stem in name_words)
    return frozenset(tokens[i].text for i in covered
                     if tokens[i].text not in FUNCTION_WORDS and tokens[i].text not in KEYWORD_WORDS
                     and tokens[i].number is None and len(tokens[i].text) > 1)
