"""Stage 3, link: every word of the question tied to what it names, before anything is read.

Order matters and is fixed here: the subject's table names, then columns (longest first, so
`temp min` is a column before `min` is a keyword), top-N, keywords, stored values, and last the
words left over, which must all be accounted for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..view import JoinView, member_tables
from .columns import link_columns
from .keywords import link_keywords, link_top
from .leftovers import link_rest
from .mentions import Links, Span, table_mentions
from .values import link_values

if TYPE_CHECKING:
    from ..choose import Subject


@dataclass(frozen=True)
class Mentions:
    """The subject's question as linked mentions, in question order."""

    subject: Subject
    spans: tuple[Span, ...]


def link(subject: Subject) -> Mentions:
    """Link the question's words to the subject. In a join, multi-word column names are linked
    before table names (`customer country` is a column, not the table customers and a word)."""
    words, table = subject.words, subject.table
    tokens = list(words.tokens)
    links = Links(tokens)
    if isinstance(table, JoinView):
        link_columns(links, table, min_words=2)
        named = [(start, end, member) for member in member_tables(table)
                 for start, end in table_mentions(tokens, member)]
        for start, end, member in sorted(named, key=lambda m: m[0] - m[1]):  # longest first
            if links.free(start, end):
                links.claim(Span("table", start, end, member))
    else:
        for start, end in subject.mentions:
            links.claim(Span("table", start, end, table))
    link_columns(links, table)
    link_top(links)
    link_keywords(links)
    link_values(links, table, words.question, words.probe, stored=words.catalog.values)
    link_rest(links, table, words.catalog)
    return Mentions(subject, tuple(sorted(links.spans(), key=lambda s: s.start)))
