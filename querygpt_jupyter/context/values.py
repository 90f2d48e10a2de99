"""The values index: the distinct values of text columns, so that a question's "new york" finds
`cities.name = 'New York City'` and the model writes the literal the data holds.

Matching, best first: `exact` (the value appears in the question as written), `case-folded`,
`token` (every word of a question phrase is a word of the value: "new york" → 'New York City') and
`fuzzy` (edit-distance similarity ≥ FUZZY_MIN with rapidfuzz: "pittsburg" → 'Pittsburgh')."""
from __future__ import annotations

import re
from collections import defaultdict
from itertools import groupby
from dataclasses import dataclass
from typing import Iterable, Mapping

from .words import STOP_WORDS

VALUE_CHARS = 80          # longer texts (descriptions, JSON) are not values a question names
MAX_PHRASE_WORDS = 4
FUZZY_MIN = 88.0
MAX_MATCHES = 20
SHAPE_CHARS = 24          # values longer than this are not codes
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_NOT_A_NAME = re.compile(r"[\d\s.,:;/+\-eE]*")   # numbers, dates, times: no words to match
QUALITY = {"exact": 1.0, "case-folded": 0.95, "token": 0.8, "fuzzy": 0.7}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ValueMatch:
    """A phrase of the question found among a column's stored values."""

    phrase: str
    table: str
    column: str
    value: str
    how: str          # exact | case-folded | token | fuzzy
    score: float

    def to_dict(self) -> dict:
        return {"phrase": self.phrase, "table": self.table, "column": self.column, "value": self.value,
                "how": self.how, "score": round(self.score, 3)}


def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


class ValuesIndex:
    """Distinct values per (table, column), with an inverted list from each word to the values
    that hold it. Build it once per schema fingerprint; matching a question is then a few dict
    look-ups plus rapidfuzz on the values that share a word prefix."""

    def __init__(self, values: Mapping[tuple[str, str], Iterable[object]]):
        self.values: list[tuple[str, str, str]] = []
        self.by_word: dict[str, list[int]] = defaultdict(list)
        self.by_prefix: dict[str, list[int]] = defaultdict(list)
        self.words: list[tuple[str, ...]] = []
        self.shapes: dict[str, dict[tuple[str, str], tuple[int, int]]] = defaultdict(dict)
        seen = set()
        for (table, column), items in values.items():
            for item in items:
                if not isinstance(item, str):
                    continue
                text = item.strip()
                if not text or len(text) > VALUE_CHARS or (table, column, text) in seen:
                    continue
                seen.add((table, column, text))
                if len(text) <= SHAPE_CHARS and _CODE.fullmatch(text):
                    ranges = self.shapes[_shape(text)]
                    low, high = ranges.get((table, column), (len(text), len(text)))
                    ranges[(table, column)] = (min(low, len(text)), max(high, len(text)))
                if _NOT_A_NAME.fullmatch(text) or text[0] in "{[<":   # numbers, dates, JSON, markup
                    continue
                folded = _folded_words(text)
                if not folded:
                    continue
                i = len(self.values)
                self.values.append((table, column, text))
                self.words.append(folded)
                for w in set(folded):
                    self.by_word[w].append(i)
                    if len(w) >= 4:
                        self.by_prefix[w[:3]].append(i)

    def shaped_like(self, question: str) -> set[tuple[str, str]]:
        """Columns whose values look like a code the question writes (`BRCA`, `CDH1`, `'94728'`):
        same character classes, similar length. Weak evidence — it ranks columns, and is not
        reported as a value match."""
        out = set()
        for literal in _literals(question):
            found = self.shapes.get(_shape(literal), {})
            for key, (low, high) in found.items():
                if low - 3 <= len(literal) <= high + 3:
                    out.add(key)
        return out

    def __len__(self) -> int:
        return len(self.values)

    def match(self, question: str, limit: int = MAX_MATCHES) -> tuple[ValueMatch, ...]:
        """The question's phrases found among the values, best first, at most one per
        (table, column, value)."""
        q_words = _folded_words(question)
        q_text = " " + " ".join(q_words) + " "
        best: dict[int, ValueMatch] = {}

        def offer(i: int, phrase: str, how: str, score: float) -> None:
            current = best.get(i)
            if current is None or score > current.score:
                table, column, value = self.values[i]
                best[i] = ValueMatch(phrase, table, column, value, how, score)

        phrases = _phrases(q_words)
        for phrase_words in phrases:
            content = [w for w in phrase_words if w not in STOP_WORDS]
            if not content:
                continue
            if sum(map(len, phrase_words)) < 3 and not _written_as_code(phrase_words, question):
                continue   # "s" of "repository's", "us": only "CA" or "US" as written
            candidates = set.intersection(*(set(self.by_word.get(w, ())) for w in phrase_words))
            phrase = " ".join(phrase_words)
            for i in candidates:
                value_words = self.words[i]
                coverage = len(phrase_words) / len(value_words)
                if value_words == phrase_words:
                    raw = self.values[i][2]
                    how = "exact" if raw in question else "case-folded"
                    offer(i, raw if how == "exact" else phrase, how, QUALITY[how] * (1 + 0.1 * len(phrase_words)))
                elif max(len(w) for w in content) >= 3 and (coverage >= 0.5 or len(content) >= 2):
                    offer(i, phrase, "token", QUALITY["token"] * coverage * (1 + 0.1 * len(phrase_words)))
        self._fuzzy(phrases, q_text, offer)
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.table, m.column, m.value))
        return tuple(ranked[:limit])

    def _fuzzy(self, phrases, q_text, offer) -> None:
        try:
            from rapidfuzz import fuzz
        except ImportError:   # the exact, folded and token matches still work
            return
        for phrase_words in phrases:
            phrase = " ".join(phrase_words)
            if len(phrase) < 5 or all(w in STOP_WORDS for w in phrase_words) or any(w.isdigit() for w in phrase_words):
                continue
            pool = set()
            for w in phrase_words:
                if len(w) >= 4:
                    pool.update(self.by_prefix.get(w[:3], ()))
            for i in pool:
                value = " ".join(self.words[i])
                if abs(len(value) - len(phrase)) > max(3, len(phrase) // 4):
                    continue
                score = fuzz.ratio(phrase, value)
                if score >= FUZZY_MIN and f" {value} " not in q_text:
                    offer(i, phrase, "fuzzy", QUALITY["fuzzy"] * score / 100 * (1 + 0.1 * len(phrase_words)))


_CLASSES = str.maketrans({**{c: "A" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
                          **{c: "a" for c in "abcdefghijklmnopqrstuvwxyz"}, **{c: "9" for c in "0123456789"}})


def _written_as_code(phrase_words: tuple[str, ...], question: str) -> bool:
    """A short phrase counts only when the question writes it in capitals, as a code ("CA")."""
    return all(re.search(rf"\b{re.escape(w.upper())}\b", question) for w in phrase_words)


def _shape(text: str) -> str:
    """Character classes with runs collapsed: 'CDH1' → 'A9', 'TCGA-BRCA' → 'A-A', 'x_12' → 'a_9'
    (codes are ASCII: _CODE admits nothing else)."""
    return "".join(k for k, _ in groupby(text.translate(_CLASSES)))


def _literals(question: str) -> list[str]:
    """What a question writes as a code rather than as words: quoted text, words of two or more
    capitals (BRCA, TCGA-BRCA), and words mixing letters and digits (CDH1, SNORA31)."""
    quoted = [a or b or c for a, b, c in re.findall(r"'([^']{1,40})'|\"([^\"]{1,40})\"|`([^`]{1,40})`", question)]
    codes = [w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]", question)
             if (sum(ch.isupper() for ch in w) >= 2 and not any(ch.islower() for ch in w))
             or (any(ch.isdigit() for ch in w) and any(ch.isalpha() for ch in w))]
    return [q for q in quoted + codes if _CODE.fullmatch(q)]


def _phrases(q_words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every run of 1..MAX_PHRASE_WORDS words that neither starts nor ends with a stop word."""
    out = []
    for n in range(MAX_PHRASE_WORDS, 0, -1):
        for start in range(len(q_words) - n + 1):
            run = q_words[start:start + n]
            if run[0] in STOP_WORDS or run[-1] in STOP_WORDS:
                continue
            out.append(run)
    return out


def values_of(tables, stored: Mapping[str, Mapping[str, list]] | None = None) -> dict[tuple[str, str], list]:
    """The values to index: each text column's samples, plus what introspection stored in the
    schema cache (`{table: {column: [values]}}`, text columns only)."""
    out: dict[tuple[str, str], list] = {}
    for table in tables:
        for column in table.columns:
            if column.samples and column.is_text:
                out.setdefault((table.name, column.name), []).extend(column.samples)
    for table, columns in (stored or {}).items():
        for column, items in columns.items():
            out.setdefault((table, column), []).extend(items)
    return out
