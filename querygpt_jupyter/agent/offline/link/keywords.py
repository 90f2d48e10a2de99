"""Stage 3, link — keywords: the general vocabulary (how many, average, per, top 5, which …).

Runs after columns, so `temp min` is a column before `min` is an aggregate.
"""
from __future__ import annotations

from ..tokens import Token
from ..vocabulary import KEYWORDS, TOP_WORDS
from .mentions import Links, Span


def link_top(links: Links) -> list[Span]:
    """`top 5`, `first 10`, `3 highest`, `bottom 3`: a limit with a direction."""
    tokens = links.tokens
    spans = []
    for i in range(len(tokens) - 1):
        a, b = tokens[i], tokens[i + 1]
        if not links.free(i, i + 2):
            continue
        if a.text in TOP_WORDS and _is_count(b):
            spans.append(links.claim(Span("top", i, i + 2, (int(b.number), TOP_WORDS[a.text], a.text))))
        elif b.text in TOP_WORDS and b.text != "first" and _is_count(a):
            spans.append(links.claim(Span("top", i, i + 2, (int(a.number), TOP_WORDS[b.text], b.text))))
    return spans


def _is_count(token: Token) -> bool:
    return token.number is not None and token.number.is_integer() and token.number > 0


def link_keywords(links: Links) -> list[Span]:
    tokens = links.tokens
    phrases = sorted(KEYWORDS, key=len, reverse=True)
    spans = []
    i = 0
    while i < len(tokens):
        for phrase in phrases:
            n = len(phrase)
            if links.free(i, i + n) and tuple(t.text for t in tokens[i:i + n]) == phrase:
                kind, arg = KEYWORDS[phrase]
                spans.append(links.claim(Span(kind, i, i + n, arg)))
                i += n - 1
                break
        i += 1
    return spans
