"""Stage 3, link — leftovers: every word no earlier link claimed is accounted for, or the planner refuses.

This is what keeps the planner honest: no word is dropped silently. Each is used, known
filler, a harmless head noun (`weather types`), or the reason for a refusal that names it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ....connections.catalog import Catalog, Table
from ..outcome import refuse
from ..tokens import name_stems, normalised
from ..view import member_tables
from ..vocabulary import (
    CONJUNCTIONS, COUNT_SUPERLATIVES, GENERIC_NOUNS, KEYWORD_WORDS, ROW_NOUNS, STOPWORDS, TIME_UNITS, UNSUPPORTED,
)
from .columns import head_words
from .mentions import Links, Span
from .values import value_variants


def link_rest(links: Links, table: Table, catalog: Catalog) -> None:
    """Numbers, row nouns, conjunctions and `what <column>` get spans; stop words are dropped;
    every other word must be a harmless head noun (`la riots victims`, `weather types`) or an
    apposition (`Alaska state AK`) — else the planner refuses rather than ignore it. A word
    that names another table, one of its columns or one of its values is never harmless."""
    tokens = links.tokens
    foreign = _foreign_words(catalog, table)
    for i, token in enumerate(tokens):
        if links.owner[i] is not None:
            continue
        nxt = links.kind_at(i + 1)
        if token.number is not None:
            links.claim(Span("number", i, i + 1, token.number))
        elif token.text in CONJUNCTIONS:
            links.claim(Span("conj", i, i + 1))
        elif token.stem in ROW_NOUNS:
            links.claim(Span("rows", i, i + 1))
        elif token.text == "what" and nxt in ("column", "table"):
            links.claim(Span("which", i, i + 1))
    for i, token in enumerate(tokens):
        if links.owner[i] is not None or token.is_stop:
            continue
        if token.text in UNSUPPORTED:
            raise refuse(f"The offline planner does not handle '{token.text}' (comparisons, time buckets, "
                         "medians and the like need a model).")
        owner = _foreign_owner(links, i, foreign)
        if owner is not None:
            raise refuse(f"'{token.text}' is not in {table.name} (the table {owner} has it); the offline "
                         "planner answers questions about one table, or two linked by one foreign key.")
        if links.kind_at(i - 1) in ("table", "column", "value", "rows") \
                and (token.text != token.stem or token.stem in GENERIC_NOUNS):
            continue  # a plural head noun after a mention: "la riots victims", "rainy days" (not "… Rd")
        if _is_counted_noun(links, i) and any(c.is_text for c in table.columns):
            continue  # (rows of a table without any text column are periods, not things: crimea's months)
        if _is_apposition(links, i) or _names_next_value(links, i):
            continue
        if i in links.singular_values:
            column, value = links.singular_values[i]
            raise refuse(f"'{token.text}' may mean the value {value!r} of {column} or just the rows; "
                         f"name the column and the value (`{column} {value}`).")
        sharing = [c.name for c in table.columns if token.stem in name_stems(c.name)]
        if sharing:
            raise refuse(f"'{token.text}' could mean several columns ({', '.join(sharing)}).")
        raise refuse(f"The offline planner does not understand '{token.text}' in this question.")
    for span in links.spans():
        if span.kind == "ambiguous":
            raise refuse(f"'{span.text}' could mean several columns ({', '.join(span.arg)}).")
        if span.kind == "unsupported":
            raise refuse(f"The offline planner does not handle '{span.text}' (comparisons need a model).")


@dataclass(frozen=True)
class _Foreign:
    """Words of the other tables, each with a table it belongs to: names and column names (as
    stems: head words, or whole names) and sample values (as written)."""

    names: dict[str, str]
    values: dict[str, str]


def _foreign_words(catalog: Catalog, table: Table) -> _Foreign:
    members = member_tables(table)
    own_names = set()
    for member in members:
        own_names |= {" ".join(name_stems(member.name))} | set(name_stems(member.name))
    for column in table.columns:
        own_names.add(" ".join(name_stems(column.name)))
        own_names.update(name_stems(column.name))
    own_values = {normalised(v) for c in table.columns for v in c.samples if isinstance(v, str)}
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    for other in catalog.tables:
        if any(other.name == member.name for member in members):
            continue
        words = {" ".join(name_stems(other.name))} | set(name_stems(other.name))
        for column in other.columns:
            stems = name_stems(column.name)
            words.add(" ".join(stems))
            words.update(head_words(stems))
            for value in column.samples:
                if isinstance(value, str) and normalised(value) not in own_values:
                    values.setdefault(normalised(value), other.name)
        for word in words - own_names:
            if word and word not in STOPWORDS and word not in KEYWORD_WORDS:
                names.setdefault(word, other.name)
    return _Foreign(names, values)


def _foreign_owner(links: Links, i: int, foreign: _Foreign) -> str | None:
    """The other table a free word at `i` (alone, or starting a phrase) belongs to, if any."""
    if links.tokens[i].stem in GENERIC_NOUNS:
        return None
    for n in (3, 2, 1):
        if links.free(i, i + n):
            phrase = links.tokens[i:i + n]
            stems, text = " ".join(t.stem for t in phrase), " ".join(t.text for t in phrase)
            variants = value_variants(phrase[0]) if n == 1 else []
            if stems in foreign.names:
                return foreign.names[stems]
            for form in [text, *variants]:
                if form in foreign.values:
                    return foreign.values[form]
    return None


def _is_counted_noun(links: Links, i: int) -> bool:
    """`how many victims`, `the most deaths`: a plural noun right after a count names the rows
    counted. A time unit (`how many days`) counts rows only where rows are picked by a value or
    split by a group; alone it may mean distinct dates, so it is refused."""
    token = links.tokens[i]
    before = links.owner[i - 1] if i > 0 else None
    if before is None or token.text == token.stem or i in links.singular_values:
        return False  # "how many homicides": a filter on type = 'Homicide', or all rows? refuse
    if not (before.kind == "count" or (before.kind == "agg" and before.text in COUNT_SUPERLATIVES)):
        return False
    if token.stem in TIME_UNITS:
        return any(span.kind in ("value", "group") for span in links.spans())
    return True


def _names_next_value(links: Links, i: int) -> bool:
    """`gram positive`: a word of a column's name right before one of its values."""
    value = links.owner[i + 1] if i + 1 < len(links.tokens) else None
    return value is not None and value.kind == "value" and links.tokens[i].stem in name_stems(value.arg[0].name)


def _is_apposition(links: Links, i: int) -> bool:
    """`Alaska state AK`: a word naming the value that follows as `<column> <value>`."""
    column = links.owner[i + 1] if i + 1 < len(links.tokens) else None
    if column is None or column.kind != "column":
        return False
    value = links.owner[column.end] if column.end < len(links.tokens) else None
    return value is not None and value.kind == "value" and value.arg[0] is column.arg

