"""Stage 3, link — values: runs of words that spell a value stored in a column (`Texas`, `rainy`).

Looked up in the catalogue's samples and its values index (the most frequent distinct values of
every text column, built at introspection), then, for text columns whose samples may be incomplete,
with one probe call per column. Several words may also name the one stored value whose words
they are a run of (`new york` → 'New York City'). A value of several columns must be told apart by
the question.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ....connections.catalog import Column, Table
from ....connections.introspect import SAMPLES_PER_COLUMN
from ..outcome import refuse
from ..tokens import Token, normalised
from ..view import JoinView, name_column, origin
from ..vocabulary import CONJUNCTIONS
from .mentions import Links, Span

if TYPE_CHECKING:
    from ..probe import ValueProbe


def value_variants(token: Token) -> list[str]:
    """Adjective forms of a stored value: rainy → rain, sunny → sun, foggy → fog."""
    word = token.text
    if len(word) >= 4 and word.endswith("y") and token.number is None:
        out = [word[:-1]]
        if word[-2] == word[-3]:
            out.append(word[:-2])
        return out
    return []


def _value_ngrams(links: Links, question: str) -> list[tuple[int, int, list[str], list[str]]]:
    """Runs of free tokens that could spell a stored value: (start, end, exact forms, variants),
    longest first. A lone stop word counts only in capitals right after a column (`series I`).
    A run may end on a one-word column mention: `Santa Clara County` is a county, not the city
    Santa Clara and a column (`_claimable`)."""
    tokens = links.tokens
    grams = []
    for n in (4, 3, 2, 1):
        for i in range(len(tokens) - n + 1):
            if not _claimable(links, i, i + n):
                continue
            window = tokens[i:i + n]
            edge_words = (window[0], window[-1])
            if any(t.text in CONJUNCTIONS for t in window):
                continue
            if n == 1 and window[0].number is not None:
                continue
            if any(t.is_stop for t in edge_words):
                raw = question[window[0].start:window[0].end]
                if not (n == 1 and links.kind_at(i - 1) == "column" and raw.isupper()):
                    continue  # but `series I`, `state IN`: a code typed in capitals after its column
            exact = [" ".join(t.text for t in window), question[window[0].start:window[-1].end].lower()]
            grams.append((i, i + n, list(dict.fromkeys(exact)), value_variants(window[0]) if n == 1 else []))
    return grams


def _claimable(links: Links, start: int, end: int) -> bool:
    """Free tokens, or free tokens and then the one word of a column mention."""
    if links.free(start, end):
        return True
    last = links.owner[end - 1] if 0 < end <= len(links.tokens) else None
    return end - start > 1 and links.free(start, end - 1) and last is not None and last.kind == "column" \
        and last.start == end - 1 and last.end == end


StoredValues = Mapping[str, Mapping[str, Iterable[Any]]]   # Catalog.values: {table: {column: values}}


def _sample_index(table: Table, stored: StoredValues | None = None) -> dict[str, list[tuple[Column, Any]]]:
    """Each text column's samples and indexed values, by lower-cased and by normalised spelling
    (exact and case-folded matches only: a run of words names a value only if it spells it)."""
    index: dict[str, list[tuple[Column, Any]]] = defaultdict(list)
    for column in table.columns:
        if column.is_text:
            name, source = origin(table, column)
            indexed = (stored or {}).get(name, {}).get(source, ())
            for value in dict.fromkeys((*column.samples, *indexed)):
                if isinstance(value, str):
                    for key in {value.lower(), normalised(value)}:
                        if (column, value) not in index[key]:
                            index[key].append((column, value))
    return index


def samples_incomplete(column: Column) -> bool:
    return column.is_text and (not column.samples or len(column.samples) >= SAMPLES_PER_COLUMN)


def link_values(links: Links, table: Table, question: str, probe: ValueProbe | None,
                strict: bool = True, stored: StoredValues | None = None) -> list[Span]:
    """Claim stored values: each run of free words is looked up in the samples, the values index
    (`stored`, the catalogue's) and, for text
    columns whose samples may be incomplete, with one probe call per column. A value found in two
    columns belongs to the column named right before it (`city of Houston`) or, right after the
    table's noun (`lake Michigan`), to the table's name column; else it refuses — unless not
    `strict` (guessing the table: any column will do as evidence)."""
    grams = _value_ngrams(links, question)
    if not grams:
        return []
    index = _sample_index(table, stored)
    singulars = {start: links.tokens[start].stem for start, end, _, _ in grams
                 if end - start == 1 and links.tokens[start].stem != links.tokens[start].text}
    if probe is not None:
        candidates = list(dict.fromkeys(s for _, _, exact, variants in grams for s in exact + variants))
        candidates += [s for s in singulars.values() if s not in candidates]
        for column in table.columns:
            if samples_incomplete(column):
                for stored in probe(*origin(table, column), candidates):
                    entry = (column, stored)
                    for key in {str(stored).lower(), normalised(stored)}:
                        if entry not in index[key]:
                            index[key].append(entry)
    links.singular_values.update({i: (index[singular][0][0].name, index[singular][0][1])
                                  for i, singular in singulars.items() if index.get(singular)})
    spans = []
    for start, end, exact, variants in grams:
        if not _claimable(links, start, end):
            continue
        matches = _dedupe(m for form in exact for m in index.get(form, ()))
        if not matches:
            matches = _dedupe(m for form in variants for m in index.get(form, ()))
        if not matches and end - start >= 2:
            matches = _token_match(index, exact[0])
        if not matches:
            continue
        if len({c.name for c, _ in matches}) > 1 and strict:
            named = _column_named_before(links, start) or _name_column_by_noun(links, table, start)
            matches = [m for m in matches if named is not None and m[0].name == named.name]
            if not matches:
                raise refuse(f"'{links.tokens[start].text}' is a value of several columns of {table.name}; "
                             "the offline planner cannot tell which one is meant.")
        column, value = matches[0]  # several entries left: one column storing two spellings
        spans.append(links.claim(Span("value", start, end, (column, value))))
    return spans


def _token_match(index: dict[str, list[tuple[Column, Any]]], words: str) -> list[tuple[Column, Any]]:
    """Several words that are a run of the words of exactly one stored value: `new york` →
    'New York City'. Two values holding the run (`port` of 'Port Haven' and 'Port Bay') are no
    match: the question does not say which."""
    found = _dedupe(entry for key, entries in index.items() if f" {words} " in f" {key} " and key != words
                    for entry in entries)
    return found if len({(c.name, str(v).lower()) for c, v in found}) == 1 else []


def _dedupe(matches: Iterable[tuple[Column, Any]]) -> list[tuple[Column, Any]]:
    out = []
    for m in matches:
        if m not in out:
            out.append(m)
    return out


def _name_column_by_noun(links: Links, table: Table, start: int) -> Column | None:
    """`lake Michigan`: right after the table's noun, a value is the table's own name."""
    before = links.owner[start - 1] if start > 0 else None
    if before is None or before.kind != "table" or before.end != start or isinstance(table, JoinView):
        return None
    return name_column(table)




def _column_named_before(links: Links, start: int) -> Column | None:
    i = start - 1
    while i >= 0 and links.owner[i] is None and links.tokens[i].is_stop:
        i -= 1
    if links.kind_at(i) == "column":
        return links.owner[i].arg
    return None

