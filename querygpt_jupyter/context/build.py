"""Assembling the context: rank entries, keep what fits, render, and prove the count.

Order of work: rank entries (tables or shard families) by BM25 + their best columns + value and
shape matches; (1) keep the best entries, each with its keys, matched and best columns listed by
name and type, up to half the budget; (2) add foreign-key bridges; (3) list more columns of the
kept entries, more for the best ones, up to 80 %; (4) more entries while they fit; (5) comments
and sample values for the columns the question speaks of; (6) more columns with what is left;
finally count the real text and trim until it fits. Column order is columns.column_order."""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..connections.catalog import Catalog
from . import render
from .columns import EntryInfo, TIME_WORDS, column_order, dates_in, key_columns, named_members
from .families import Entry, entries as make_entries
from .joins import Join, JoinGraph
from .retrieval import SchemaIndex
from .tokens import count_tokens, counter_name
from .values import ValueMatch, ValuesIndex, values_of
from .words import words

DEFAULT_BUDGET = 2_000
FIRST_PASS_SHARE = 0.5        # of the budget, for the first blocks of the best entries
SECOND_PASS_SHARE = 0.8       # ... then more columns of those entries, up to this share
FIRST_COLUMNS = 8             # columns in a first block (keys and matched columns come on top)
COLUMNS_PER_ROUND = 4
MORE_COLUMN_ROUNDS = 50
DETAILED_PER_ENTRY = 5        # columns shown with their comment and values, per entry
COLUMN_WEIGHT = 0.35          # a table's score gains this share of its best columns' scores
BEST_COLUMNS = 3
VALUE_BOOST = 2.0
SHAPE_BOOST = 0.5             # a column holds values shaped like a code the question writes
VALUES_SHOWN = 8
TOO_SMALL = "-- The schema is larger than the token budget; list_tables and describe_table show it."


@dataclass(frozen=True)
class SchemaContext:
    """The context for one question. `text` is exactly what goes in the prompt; `tokens` its
    count (cl100k_base when available, see `counter`); never more than `budget`."""

    tables: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]
    values: tuple[ValueMatch, ...]
    joins: tuple[Join, ...]
    text: str
    tokens: int
    budget: int
    whole: bool = False
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    counter: str = "cl100k_base"

    def keeps(self, table: str) -> bool:
        return table in self._kept

    @property
    def _kept(self) -> frozenset:
        return frozenset(self.tables)

    def to_dict(self) -> dict:
        return {
            "tables": list(self.tables),
            "columns": {t: list(c) for t, c in self.columns.items()},
            "values": [v.to_dict() for v in self.values],
            "joins": [j.to_dict() for j in self.joins],
            "families": {f: list(m) for f, m in self.families.items()},
            "reasons": dict(self.reasons),
            "whole": self.whole, "tokens": self.tokens, "budget": self.budget, "counter": self.counter,
            "text": self.text,
        }


@dataclass
class _Prepared:
    """Everything independent of the question, built once per catalogue."""

    catalog: Catalog
    entries: tuple[Entry, ...]
    index: SchemaIndex
    values: ValuesIndex
    graph: JoinGraph
    entry_of_table: dict[str, int]
    whole_text: str | None = None
    whole_tokens: int | None = None
    line_tokens: dict = field(default_factory=dict)
    infos: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)

    def info(self, e: int) -> "EntryInfo":
        found = self.infos.get(e)
        if found is None:
            found = self.infos[e] = EntryInfo.of(self.entries[e], self.graph)
        return found

    def rendered(self, how, column, key: bool) -> str:
        """A column's text (compact item or detailed line), rendered once per schema."""
        cache_key = (how, id(column), key)
        text = self.texts.get(cache_key)
        if text is None:
            text = self.texts[cache_key] = how(column, key)
        return text

    def tokens_of(self, line: str) -> int:
        n = self.line_tokens.get(line)
        if n is None:
            n = self.line_tokens[line] = count_tokens(line) + 1   # + the newline joining it
        return n


_cache: dict[int, tuple[weakref.ref, _Prepared]] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


def _prepared(catalog: Catalog, stored_values: Mapping | None) -> _Prepared:
    key = id(catalog)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is catalog and stored_values is None:
            return hit[1]
    entries = make_entries(catalog.tables)
    entry_of_table = {m.name: i for i, e in enumerate(entries) for m in e.members}
    stored = stored_values if stored_values is not None else getattr(catalog, "values", None)
    prepared = _Prepared(catalog, entries, SchemaIndex.build(entries), ValuesIndex(values_of(catalog.tables, stored)),
                         JoinGraph(catalog.tables), entry_of_table)
    if stored_values is None:
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = (weakref.ref(catalog), prepared)
    return prepared


def _as_catalog(schema_doc: Any) -> Catalog:
    if isinstance(schema_doc, Catalog):
        return schema_doc
    if isinstance(schema_doc, dict):
        catalog = Catalog.from_dict({"fingerprint": "", "dialect": "", **schema_doc})
        return catalog
    raise TypeError("schema_doc must be a Catalog or the dict of `querygpt schema --json`")


def schema_context(schema_doc: Any, question: str, budget: int = DEFAULT_BUDGET, *,
                   values: Mapping[str, Mapping[str, list]] | None = None) -> SchemaContext:
    """The context for `question` within `budget` tokens. `values`: stored distinct values
    (`{table: {column: [...]}}`) beyond the document's samples; by default those the catalogue
    carries from introspection."""
    catalog = _as_catalog(schema_doc)
    if budget < 1:
        raise ValueError("budget must be a positive number of tokens")
    prepared = _prepared(catalog, values)
    matches = prepared.values.match(question)
    whole = _whole(prepared, budget, matches)
    if whole is not None:
        return whole
    return _pruned(prepared, question, budget, matches)


def _whole(prepared: _Prepared, budget: int, matches) -> SchemaContext | None:
    if prepared.whole_tokens is None and 3 * sum(len(t.columns) for t in prepared.catalog.tables) > budget:
        return None   # every column line costs at least three tokens: it cannot fit
    if prepared.whole_text is None:
        blocks = []
        for table in prepared.catalog.tables:
            entry = Entry(table.name, (table,))
            keys = key_columns(entry, prepared.graph)
            blocks.append("\n".join([render.header(entry)] + [render.column_line(c, c.name in keys) for c in table.columns]))
        prepared.whole_text = "\n\n".join(blocks)
        # cheap lower bound first: a cl100k token is rarely over 12 characters
        prepared.whole_tokens = count_tokens(prepared.whole_text) if len(prepared.whole_text) <= 40 * max(budget, 1) * 12 else 10 ** 9
    if prepared.whole_tokens > budget:
        return None
    tables = tuple(t.name for t in prepared.catalog.tables)
    text = prepared.whole_text
    joins = prepared.graph.joins_among(set(tables))
    extra = _values_section(matches) + _joins_section(joins)
    if extra and count_tokens(text + extra) <= budget:
        text += extra
    tokens = count_tokens(text)
    return SchemaContext(tables, MappingProxyType({t.name: tuple(c.name for c in t.columns) for t in prepared.catalog.tables}),
                         tuple(matches), joins, text, tokens, budget, whole=True,
                         reasons=MappingProxyType({t: "the whole schema fits the budget" for t in tables}),
                         counter=counter_name())


class _Block:
    """One kept entry: which columns are shown in detail (comment, values), which only by name and
    type, and what that costs — kept incrementally so packing a 70k-column schema stays fast."""

    def __init__(self, prepared: _Prepared, e: int, order: list, keys: set[str], question: str):
        self.prepared, self.e, self.order, self.keys = prepared, e, order, keys
        self.entry = prepared.entries[e]
        self.detailed: list = []
        self.listed: list = []
        self.header = render.header(self.entry, named_members(self.entry, question))
        self.cost = prepared.tokens_of(self.header) + 1 + self._omitted_cost()

    def _omitted_cost(self) -> int:
        return 0 if self.shown() >= len(self.entry.columns) else 8

    def shown(self) -> int:
        return len(self.detailed) + len(self.listed)

    def listed_ids(self) -> set[int]:
        return {id(c) for c in self.listed}

    def next_columns(self, n: int) -> list:
        taken = {id(c) for c in self.detailed} | self.listed_ids()
        out = []
        for c in self.order:
            if id(c) not in taken:
                out.append(c)
                if len(out) == n:
                    break
        return out

    def item(self, column) -> str:
        return self.prepared.rendered(render.column_item, column, column.name in self.keys)

    def line(self, column) -> str:
        return self.prepared.rendered(render.column_line, column, column.name in self.keys)

    def item_cost(self, column) -> int:
        return self.prepared.tokens_of(self.item(column))

    def detail_cost(self, column) -> int:
        return self.prepared.tokens_of(self.line(column))

    def list_columns(self, columns: list) -> int:
        """Tokens that listing `columns` by name would add (not applied)."""
        extra = sum(self.item_cost(c) for c in columns) + (3 if not self.listed and columns else 0)
        after = 0 if self.shown() + len(columns) >= len(self.entry.columns) else 8
        return extra + after - self._omitted_cost()

    def apply_list(self, columns: list, delta: int) -> None:
        self.listed.extend(columns)
        self.cost += delta

    def lines(self) -> list[str]:
        position = {id(c): i for i, c in enumerate(self.entry.columns)}
        detailed = sorted(self.detailed, key=lambda c: position[id(c)])
        listed = sorted(self.listed, key=lambda c: position[id(c)])
        out = [self.header] + [self.line(c) for c in detailed]
        if listed:
            out.append(render.compact_line([self.item(c) for c in listed]))
        if self.shown() < len(self.entry.columns):
            out.append(render.omitted_line(len(self.entry.columns) - self.shown()))
        return out

    def columns(self) -> list:
        return self.detailed + self.listed


def _pruned(prepared: _Prepared, question: str, budget: int, matches) -> SchemaContext:
    terms = list(words(question))
    term_set = frozenset(terms)
    dated = bool(dates_in(question)) or bool(term_set & TIME_WORDS)
    entry_scores, column_scores = prepared.index.rank(terms)
    per_entry: dict[int, list[float]] = {}
    scores_of: dict[int, dict[int, float]] = {}
    for (e, i), s in column_scores.items():
        per_entry.setdefault(e, []).append(s)
        scores_of.setdefault(e, {})[i] = s
    score = {}
    for e in range(len(prepared.entries)):
        best = sorted(per_entry.get(e, ()), reverse=True)[:BEST_COLUMNS]
        score[e] = entry_scores.get(e, 0.0) + COLUMN_WEIGHT * sum(best)
    matched_columns: dict[int, set[str]] = {}
    shaped: dict[int, set[str]] = {}
    for m in matches:
        e = prepared.entry_of_table.get(m.table)
        if e is None:
            continue
        score[e] += VALUE_BOOST * m.score
        matched_columns.setdefault(e, set()).add(m.column)
    for table, column in prepared.values.shaped_like(question):
        e = prepared.entry_of_table.get(table)
        if e is not None:
            shaped.setdefault(e, set()).add(column)
    for e in shaped:
        score[e] += SHAPE_BOOST
    ranked = sorted(range(len(prepared.entries)), key=lambda e: (-score[e], e))

    matches = _one_per_entry_column(prepared, matches)[:VALUES_SHOWN]
    value_lines: dict[int, int] = {}   # tokens of the value lines an entry brings along
    for m in matches:
        e = prepared.entry_of_table.get(m.table)
        value_lines[e] = value_lines.get(e, 0) + prepared.tokens_of(_value_line(m))
    used = 6 if matches else 0        # the values section's title
    blocks: dict[int, _Block] = {}
    reasons: dict[int, str] = {}

    orders: dict[int, list] = {}

    def block_for(e: int) -> _Block:
        info = prepared.info(e)
        if e not in orders:
            orders[e] = column_order(prepared.entries[e], e, scores_of.get(e, {}), info,
                                      matched_columns.get(e, set()), term_set, dated, shaped.get(e, set()))
        return _Block(prepared, e, orders[e], info.keys, question)

    def take(e: int, why: str, limit: float, first: int) -> bool:
        nonlocal used
        if used + 3 * min(first, len(prepared.entries[e].columns)) + 8 > limit:
            return False   # cannot fit: not worth ordering its columns
        block = block_for(e)
        must = [c for c in block.order if c.name in block.keys or c.name in matched_columns.get(e, set())]
        must_ids = {id(c) for c in must}
        columns = (must + [c for c in block.order if id(c) not in must_ids])[:max(first, len(must))]
        delta = block.list_columns(columns)
        block.cost += value_lines.get(e, 0)
        if used + block.cost + delta > limit:
            return False
        block.apply_list(columns, delta)
        blocks[e] = block
        reasons[e] = why
        used += block.cost
        return True

    # 1. the best entries, each with its keys, matched and best columns by name
    first_limit = budget * FIRST_PASS_SHARE
    for e in ranked:
        if used >= first_limit:
            break
        take(e, _why(e, entry_scores, per_entry, matched_columns), first_limit, FIRST_COLUMNS)
    # 2. foreign-key bridges between what was kept
    for name in prepared.graph.bridges([prepared.entries[e].table.name for e in blocks]):
        e = prepared.entry_of_table.get(name)
        if e is not None and e not in blocks:
            take(e, "joins two kept tables (foreign keys)", budget, FIRST_COLUMNS)
    # 3. more columns of kept entries, a few at a time, more for the best entries
    used = _grow_columns(blocks, used, budget * SECOND_PASS_SHARE)
    # 4. more entries while they fit
    for e in ranked:
        if e not in blocks:
            take(e, _why(e, entry_scores, per_entry, matched_columns), budget, FIRST_COLUMNS)
    # 5. details (comment, sample values) for the columns the question speaks of
    upgrades = []
    listed = {e: b.listed_ids() for e, b in blocks.items()}
    for (e, i), s in column_scores.items():
        if e in blocks:
            column = blocks[e].entry.columns[i]
            if id(column) in listed[e]:
                upgrades.append((-s, e, i, column))
    upgrades.sort(key=lambda x: x[:3])
    for _, e, _, c in upgrades:
        block = blocks[e]
        if len(block.detailed) >= DETAILED_PER_ENTRY:
            continue
        delta = block.detail_cost(c) - block.item_cost(c)
        if used + delta <= budget:
            block.listed = [x for x in block.listed if x is not c]
            block.detailed.append(c)
            block.cost += delta
            used += delta
    # 6. whatever is left: still more columns
    _grow_columns(blocks, used, budget)
    return _finish(prepared, budget, list(blocks), blocks, reasons, matches)


def _grow_columns(blocks: dict, used: int, limit: float) -> int:
    """Round after round, list the next columns of each kept entry: the p-th best entry gets
    about COLUMNS_PER_ROUND * 2 / (p + 1) of them a round, so the likeliest tables fill first."""
    for _ in range(MORE_COLUMN_ROUNDS):
        grew = False
        for p, block in enumerate(blocks.values()):
            columns = block.next_columns(max(1, round(COLUMNS_PER_ROUND * 2 / (p + 1))))
            if not columns:
                continue
            delta = block.list_columns(columns)
            if used + delta <= limit:
                block.apply_list(columns, delta)
                used += delta
                grew = True
        if not grew:
            break
    return used


def _one_per_entry_column(prepared: _Prepared, matches) -> list:
    """A value found in every shard of a family, or in same-named columns of several tables, is
    one finding, shown once (where it matched best)."""
    out, seen = [], set()
    for m in matches:
        key = (m.column.lower(), m.value)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _why(e, entry_scores, per_entry, matched_columns) -> str:
    parts = []
    if entry_scores.get(e):
        parts.append(f"its name or comment matches the question (BM25 {entry_scores[e]:.1f})")
    if per_entry.get(e):
        parts.append(f"{len(per_entry[e])} of its columns match")
    if matched_columns.get(e):
        parts.append("holds values the question names")
    return "; ".join(parts) or "no match: shown while the budget allows"


def _values_section(matches) -> str:
    if not matches:
        return ""
    return "\n".join(["", "", "-- Values named in the question, as stored:"] + [_value_line(m) for m in matches])


def _value_line(m: ValueMatch) -> str:
    return (f"  {render.one_line(m.table)}.{render.one_line(m.column)} = {render.data_text(m.value, 80)}"
            f" -- {m.how} match of {render.data_text(m.phrase, 60)}")


def _joins_section(joins) -> str:
    if not joins:
        return ""
    lines = ["", "", "-- Join paths (foreign keys):"]
    for j in joins:
        lines.append(f"  {render.one_line(j.table)}({', '.join(j.columns)}) → "
                     f"{render.one_line(j.references)}({', '.join(j.ref_columns)})")
    return "\n".join(lines)


def _finish(prepared: _Prepared, budget: int, order: list[int], blocks: dict, reasons: dict,
            matches) -> SchemaContext:
    """Render, count the real text, and drop the least important parts until it fits."""
    shown_matches = list(matches[:VALUES_SHOWN])
    while True:
        kept_tables = [m.name for e in order for m in prepared.entries[e].members]
        kept_set = set(kept_tables)
        joins = prepared.graph.joins_among(kept_set)
        visible = [m for m in shown_matches if m.table in kept_set]
        text = "\n\n".join("\n".join(blocks[e].lines()) for e in order)
        text += _values_section(visible) + _joins_section(joins)
        tokens = count_tokens(text)
        if tokens <= budget or not order:
            break
        _shrink(order, blocks)
    if not order or tokens > budget:   # not even one entry fits: say so rather than send a partial table
        text = TOO_SMALL if count_tokens(TOO_SMALL) <= budget else ""
        tokens = count_tokens(text)
        order, visible, joins = [], [], ()
    families = {prepared.entries[e].name: tuple(m.name for m in prepared.entries[e].members)
                for e in order if prepared.entries[e].is_family}
    tables = tuple(m.name for e in order for m in prepared.entries[e].members)
    columns = {}
    for e in order:
        shown = [c.name for c in blocks[e].columns()]
        for member, names in prepared.info(e).member_columns.items():
            columns[member] = tuple(n for n in shown if n in names)
    why = {m.name: reasons.get(e, "") for e in order for m in prepared.entries[e].members}
    return SchemaContext(tables, MappingProxyType(columns), tuple(visible), tuple(joins), text, tokens, budget,
                         whole=False, families=MappingProxyType(families), reasons=MappingProxyType(why),
                         counter=counter_name())


def _shrink(order: list[int], blocks: dict) -> None:
    """One step smaller: the last listed (or detailed) non-key column of the last entry that has
    one, else the last entry."""
    for e in reversed(order):
        block = blocks[e]
        for pool in (block.listed, block.detailed):
            removable = [c for c in pool if c.name not in block.keys]
            if removable:
                pool.remove(removable[-1])
                return
    order.pop()
