"""Stage 3, link — columns: every way a question may name a column, claimed longest first.

Also used, table by table, to guess the table when the question names none (choose.py).
"""
from __future__ import annotations

from collections import defaultdict

from ....connections.catalog import Column, Table
from ..tokens import Token, name_stems
from ..view import JoinColumn, JoinView
from ..vocabulary import FUNCTION_WORDS, KEYWORD_WORDS, UNSUPPORTED
from .mentions import Links, Span

_FULL, _INITIALS, _PARTIAL, _ABBREVIATION = 0, 1, 2, 3


def _column_patterns(table: Table) -> tuple[list[tuple[tuple[str, ...], Column, int]], dict[str, set[str]]]:
    """Every way the question may name a column: all its words (`weight in lbs`), the initials of
    a long name (`mpg`), or its head word alone (`weight`) when no other column shares that word.
    Returns the patterns and, per word, the columns using it (to spot ambiguity)."""
    patterns: list[tuple[tuple[str, ...], Column, int]] = []
    users: dict[str, set[str]] = defaultdict(set)
    for column in table.columns:
        stems = name_stems(column.name)
        if not stems:
            continue
        patterns.append((stems, column, _FULL))
        for s in stems:
            users[s].add(column.name)
        if len(stems) >= 3:
            patterns.append((("".join(s[0] for s in stems),), column, _INITIALS))
        if len(stems) > 1:
            for s in head_words(stems):
                if not (isinstance(table, JoinView) and s in table.shadowed):
                    patterns.append(((s,), column, _PARTIAL))
            if stems[-1] == "name":
                patterns.append((stems[:-1], column, _PARTIAL))  # `state` for state_name: a state, by name
        if len(stems) > 1 and stems[-1] in _UNIT_WORDS and stems[-2] not in _HEAD_BEFORE:
            # `body mass` names body_mass_g: a trailing unit may go unsaid
            bare = stems[:-1]
            patterns.append((bare, column, _FULL))
            if len(bare) > 1:
                patterns.extend(((s,), column, _PARTIAL) for s in head_words(bare)
                                if not (isinstance(table, JoinView) and s in table.shadowed))
        if isinstance(column, JoinColumn):
            # `customer country`, `product category`: in a join the table's name may qualify its column
            owner = name_stems(column.table)
            source = name_stems(column.source)
            if owner and source[:len(owner)] != owner and owner + source != stems:
                patterns.append((owner + source, column, _FULL))
    return patterns, users


_HEAD_BEFORE = frozenset({"in", "per", "of", "by", "for", "and", "to"})

# Units that end column names (`flipper_length_mm`, `price_usd`), as stems.
_UNIT_WORDS = frozenset("mm cm km m g kg mg lb oz ml l ms sec hr kwh mph kmh usd eur gbp pct".split())


def head_words(stems: tuple[str, ...]) -> set[str]:
    """The words that name a compound alone: the last (`net generation` → generation), and the
    first when a preposition follows it (`weight in lbs` → weight). `death date` is no `death`."""
    heads = {stems[-1]}
    if len(stems) > 2 and stems[1] in _HEAD_BEFORE:
        heads.add(stems[0])
    return heads


def link_columns(links: Links, table: Table, min_words: int = 1) -> list[Span]:
    """Claim column mentions, longest first, so `temp min` is a column before `min` is a keyword
    and `miles per gallon` before `per` groups. A lone shared word (`temp` of temp_max and
    temp_min) becomes an `ambiguous` span that later refuses if nothing else explains it.
    `min_words=2` claims only multi-word names (a join claims `customer country` before the
    table name `customer` inside it)."""
    tokens = links.tokens
    patterns, users = _column_patterns(table)
    patterns = [p for p in patterns if len(p[0]) >= min_words]
    found = []
    for i in range(len(tokens)):
        for stems, column, quality in patterns:
            n = len(stems)
            window = tokens[i:i + n]
            if len(window) != n:
                continue
            if quality == _INITIALS:
                if window[0].text != stems[0] or window[0].is_stop or window[0].text in KEYWORD_WORDS:
                    continue
            elif tuple(t.stem for t in window) != stems:
                if n == 1 and _abbreviates(stems[0], window[0]):
                    found.append((i, 1, column, _ABBREVIATION))
                continue
            if n == 1 and (window[0].text in FUNCTION_WORDS or window[0].text in KEYWORD_WORDS
                           or window[0].number is not None):
                continue
            if quality == _PARTIAL and window[0].text in UNSUPPORTED:
                continue
            found.append((i, n, column, quality))
    found.sort(key=lambda f: (-f[1], f[3], f[0]))
    abbreviated = defaultdict(set)
    for i, _, column, quality in found:
        if quality == _ABBREVIATION:
            abbreviated[i].add(column.name)
    spans = []
    for i, n, column, quality in found:
        if not links.free(i, i + n) or (quality == _ABBREVIATION and len(abbreviated[i]) > 1):
            continue
        if quality == _PARTIAL and len(users[tokens[i].stem]) > 1:
            sharing = sorted(users[tokens[i].stem])
            spans.append(links.claim(Span("ambiguous", i, i + n, sharing)))
            continue
        spans.append(links.claim(Span("column", i, i + n, column)))
    return spans


def _abbreviates(word: str, token: Token) -> bool:
    """A column named by a clipped word: `ret` for return, `temp` for temperature, `gas` for
    gasoline. Keywords, comparatives and short words never count."""
    text = token.text
    return (len(word) >= 3 and len(text) >= len(word) + 2 and text.startswith(word) and token.number is None
            and text not in FUNCTION_WORDS and text not in KEYWORD_WORDS and text not in UNSUPPORTED)

