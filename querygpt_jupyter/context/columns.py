"""Which columns of an entry to show first, and what a question says about dates: the
question-independent facts about each entry (keys, identifiers, date columns) and the order of its
columns for one question."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .families import Entry
from .joins import JoinGraph
from .words import words

IDENTIFIERS = 4               # identifier-like columns of a table ranked ahead of weak matches
TOP_COLUMNS = 5               # columns the question speaks of most, ahead of identifiers
_DATE_NAME = re.compile(r"(^|_)(date|day|time|timestamp|year|month)(_|$)|Date$|Time$", re.IGNORECASE)
# columns named like identifiers: what tables are joined on even when no foreign key says so
_IDENTIFIER = re.compile(r"(^|_)(id|key|code|fips|geoid|uuid|hash|barcode|number|num|no)$|[a-z0-9](Id|ID|Key|Code)$|^geoid$",
                         re.IGNORECASE)


@dataclass
class EntryInfo:
    """What ranking columns needs of an entry, independent of the question."""

    keys: set[str]
    identifiers: frozenset[int]      # the first IDENTIFIERS identifier-like columns
    dates: frozenset[int]
    name_words: list[frozenset[str]]
    member_columns: dict[str, frozenset[str]]
    names: list[str] = field(default_factory=list)
    tiers: dict = field(default_factory=dict)

    def unscored_tiers(self, dated: bool) -> tuple[list[int], list[int], list[int]]:
        """Column positions in table order: keys, identifiers (and dates when the question is
        dated), the rest — computed once per entry."""
        if dated not in self.tiers:
            keys, middle, rest = [], [], []
            for i, name in enumerate(self.names):
                if name in self.keys:
                    keys.append(i)
                elif i in self.identifiers or (dated and i in self.dates):
                    middle.append(i)
                else:
                    rest.append(i)
            self.tiers[dated] = (keys, middle, rest)
        return self.tiers[dated]

    @classmethod
    def of(cls, entry: Entry, graph: JoinGraph) -> "EntryInfo":
        columns = entry.columns
        identifiers = [i for i, c in enumerate(columns) if _IDENTIFIER.search(c.name)][:IDENTIFIERS]
        dates = [i for i, c in enumerate(columns) if c.is_temporal or _DATE_NAME.search(c.name)]
        return cls(key_columns(entry, graph), frozenset(identifiers), frozenset(dates),
                   [frozenset(words(c.name)) for c in columns],
                   {m.name: frozenset(c.name for c in m.columns) for m in entry.members},
                   names=[c.name for c in columns])


def key_columns(entry: Entry, graph: JoinGraph) -> set[str]:
    """Primary keys, both ends of foreign keys, and columns named like identifiers."""
    names = {m.name for m in entry.members}
    keys = {c.name for c in entry.columns if c.primary_key}
    for join in graph.keys:
        if join.table in names:
            keys.update(join.columns)
        if join.references in names:
            keys.update(join.ref_columns)
    return keys


def column_order(entry: Entry, e: int, scores: dict[int, float], info: "EntryInfo", matched: set[str],
                  terms: frozenset = frozenset(), dated: bool = False, shaped: set = frozenset()) -> list:
    """Keys and matched columns first; then the columns the question names outright (every word
    of the name is in the question) and the few it speaks of most; then a table's first
    identifiers (what joins use, even with no foreign key declared) and, when the question names
    a date, its date columns; then other columns the question touches (often only through a
    comment), best first; then the rest in table order."""
    columns = entry.columns
    by_score = sorted(scores, key=lambda i: (-scores[i], i))
    top = set(by_score[:TOP_COLUMNS])
    tiers: list[list[int]] = [[], [], [], [], []]
    for i in by_score:   # the scored columns, best first
        c = columns[i]
        if c.name in info.keys or c.name in matched:
            tiers[0].append(i)
        elif i in top or c.name in shaped or (info.name_words[i] and info.name_words[i] <= terms):
            tiers[1].append(i)
        elif i in info.identifiers or (dated and i in info.dates):
            tiers[2].append(i)
        else:
            tiers[3].append(i)
    special = {i for i, c in enumerate(columns) if c.name in matched or c.name in shaped} if matched or shaped else set()
    for i in special:
        if i not in scores:
            tiers[0 if columns[i].name in matched else 1].append(i)
    keys, middle, rest = info.unscored_tiers(dated)   # the others, in the table's order
    skip = scores.keys() | special
    tiers[0] += [i for i in keys if i not in skip]
    tiers[2] += [i for i in middle if i not in skip]
    tiers[4] += [i for i in rest if i not in skip]
    return [columns[i] for tier in tiers for i in tier]


def named_members(entry: Entry, question: str) -> tuple[str, ...]:
    """Shards whose date or number the question names (`20230118` for "January 18, 2023")."""
    if not entry.is_family:
        return ()
    keys = dates_in(question)
    if not keys:
        return ()
    out = []
    for member in entry.members:
        last = member.name.rpartition(".")[2]
        digits = "".join(re.findall(r"\d+", last))
        if any(digits.startswith(k) or k.startswith(digits) and len(digits) >= 4 for k in keys):
            out.append(last)
    return tuple(out[:8])


TIME_WORDS = frozenset({"date", "day", "daily", "week", "weekly", "month", "monthly", "year", "yearly", "annual",
                         "time", "when", "latest", "recent", "period", "quarter"})
_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}


def dates_in(question: str) -> set[str]:
    keys = set()
    for month, day, year in re.findall(r"\b([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", question):
        if month.lower() in _MONTHS:
            keys.add(f"{year}{_MONTHS[month.lower()]:02d}{int(day):02d}")
    for year, month, day in re.findall(r"\b(\d{4})-(\d{2})-(\d{2})\b", question):
        keys.add(year + month + day)
    for month, year in re.findall(r"\b([A-Za-z]+),?\s+(\d{4})\b", question):
        if month.lower() in _MONTHS:
            keys.add(f"{year}{_MONTHS[month.lower()]:02d}")
    if not keys:
        keys.update(re.findall(r"\b(1[89]\d\d|20\d\d)\b", question))
    return keys
