"""Lexical retrieval: Okapi BM25 over the schema's entries (tables and shard families) and over
its columns, in pure Python with inverted lists.

Why BM25 in Python rather than SQLite FTS5: the documents are tiny and field-weighted (a word in
a table name counts more than one in a column comment), the index must be rebuilt per schema in
milliseconds and held in memory, and FTS5's tokenizer cannot split camelCase or snake_case — so
we would tokenize in Python anyway. Postings for a 70k-column schema score a question in a few
milliseconds."""
from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from .families import Entry
from .words import words

K1 = 1.2
B = 0.75
# how much one occurrence weighs, by where it is
NAME_WEIGHT = 3.0
PATH_WEIGHT = 1.0          # the schema/dataset part of a qualified name
COLUMN_WEIGHT = 1.0
COMMENT_WEIGHT = 0.5
COLUMN_NAME_WEIGHT = 2.0   # in a column's own document
TABLE_IN_COLUMN_WEIGHT = 0.5
MIN_PREFIX = 3             # shortest abbreviation that counts
PREFIX_WEIGHT = 0.5
COMMENT_WORDS = 60         # words of a comment that count (long census notes would drown the rest)


class BM25:
    """Weighted-term BM25: each document is a Counter of term -> weighted frequency."""

    def __init__(self, documents: list[Counter]):
        self.lengths = [sum(d.values()) for d in documents]
        self.average = (sum(self.lengths) / len(self.lengths)) if documents else 1.0
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, document in enumerate(documents):
            for term, tf in document.items():
                self.postings[term].append((i, tf))
        self._sorted: list[str] | None = None
        n = len(documents)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, terms) -> dict[int, float]:
        """`terms`: words, or (word, weight) pairs."""
        out: dict[int, float] = defaultdict(float)
        weighted = dict.fromkeys(terms, 1.0) if not terms or isinstance(next(iter(terms)), str) else dict(terms)
        for term, weight in weighted.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = K1 * (1 - B + B * self.lengths[i] / (self.average or 1.0))
                out[i] += weight * idf * tf * (K1 + 1) / (tf + norm)
        return out

    def expand(self, terms: list[str]) -> dict[str, float]:
        """The question's words, plus the index's words that abbreviate one of them or that one
        of them abbreviates (`pop` for "population", `temp` for "temperature") at PREFIX_WEIGHT."""
        if self._sorted is None:
            self._sorted = sorted(self.postings)
        out = dict.fromkeys(terms, 1.0)
        for term in set(terms):
            if len(term) < 4 or term.isdigit():
                continue
            for size in range(MIN_PREFIX, len(term)):   # index words that are prefixes of the term
                prefix = term[:size]
                if prefix in self.postings and prefix not in out:
                    out[prefix] = PREFIX_WEIGHT
            i = bisect.bisect_left(self._sorted, term)   # index words the term is a prefix of
            while i < len(self._sorted) and self._sorted[i].startswith(term):
                if self._sorted[i] not in out:
                    out[self._sorted[i]] = PREFIX_WEIGHT
                i += 1
        return out


def _name_parts(name: str) -> tuple[str, str]:
    path, _, last = name.rpartition(".")
    return path, last


def entry_document(entry: Entry) -> Counter:
    path, last = _name_parts(entry.name)
    doc: Counter = Counter()
    for w in words(last.replace("*", " ")):
        doc[w] += NAME_WEIGHT
    for w in words(path):
        doc[w] += PATH_WEIGHT
    if entry.table.comment:
        for w in words(entry.table.comment)[:COMMENT_WORDS]:
            doc[w] += COMMENT_WEIGHT
    for column in entry.columns:
        for w in words(column.name):
            doc[w] += COLUMN_WEIGHT
        if column.comment:
            for w in set(words(column.comment)[:COMMENT_WORDS]):
                doc[w] += COMMENT_WEIGHT / 2
    return doc


def column_document(entry: Entry, column) -> Counter:
    doc: Counter = Counter()
    for w in words(column.name):
        doc[w] += COLUMN_NAME_WEIGHT
    if column.comment:
        for w in words(column.comment)[:COMMENT_WORDS]:
            doc[w] += COMMENT_WEIGHT
    return doc


@dataclass
class SchemaIndex:
    """Everything about a schema that does not depend on the question, built once per fingerprint."""

    entries: tuple[Entry, ...]
    tables: BM25
    columns: BM25
    column_of: list[tuple[int, int]]    # column document -> (entry, column position)

    @classmethod
    def build(cls, entries: tuple[Entry, ...]) -> "SchemaIndex":
        column_docs, column_of = [], []
        for e, entry in enumerate(entries):
            for c, column in enumerate(entry.columns):
                column_docs.append(column_document(entry, column))
                column_of.append((e, c))
        return cls(entries, BM25([entry_document(e) for e in entries]), BM25(column_docs), column_of)

    def rank(self, terms: list[str]) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
        """(entry -> score, (entry, column) -> score) for the question's terms."""
        column_scores = {self.column_of[i]: s for i, s in self.columns.scores(self.columns.expand(terms)).items()}
        return self.tables.scores(terms), column_scores
