"""Stage 4, read: the linked mentions, in question order, read as one query (`Query`).

Filters first, then who is ranked (top/which), then groups, aggregates, counts and distinct; a
mention left unused means the question was not understood, and the shape is then settled (or
refused) from the whole question.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ...connections.catalog import Column, Table
from .link.mentions import Span
from .outcome import refuse
from .query import Measure, Query
from .tokens import Token, name_stems
from .view import in_view, namesake_column
from .vocabulary import AGG_WORDS, COUNT_SUPERLATIVES, LIST_VERBS

if TYPE_CHECKING:
    from .choose import Subject
    from .link import Mentions


@dataclass(frozen=True)
class Reading:
    """What the question asks of its subject, as a query the later stages check and build."""

    subject: Subject
    query: Query


def read(mentions: Mentions) -> Reading:
    """The query the mentions ask for, its shape settled; refuses a mention it cannot use. The
    reader marks its own copies of the spans as used, so `mentions` stays as it was handed on."""
    words, table = mentions.subject.words, mentions.subject.table
    draft = _Reader([replace(s) for s in mentions.spans], table, list(words.tokens)).read()
    _settle_shape(draft, any(t.text in LIST_VERBS for t in words.tokens))
    return Reading(mentions.subject, draft.freeze())


@dataclass
class _Draft:
    """The query as the reader fills it in, mention by mention; `freeze` hands it on."""

    table: Table
    filters: dict[str, tuple[Column, list[Any]]] = field(default_factory=dict)
    groups: list[Column] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    distinct: list[Column] = field(default_factory=list)
    projections: list[Column] = field(default_factory=list)
    row_level: bool = False          # rows of the table, not aggregates (top 5 cars by weight)
    which_rows: bool = False         # "which cars …": row-level only if a superlative follows
    which_column: bool = False       # "which cities …": ranked groups, or a plain list of values
    order_key: Column | None = None  # row-level sort column
    order_by_measure: bool = False
    top_entity: Span | None = None
    top_direction: str | None = None
    superlative: str | None = None
    limit: int | None = None
    plain_first: bool = False        # "first 5 rows": a LIMIT without a sort
    counted: list[Span | None] = field(default_factory=list)  # the noun each COUNT(*) counts, if named

    def freeze(self) -> Query:
        return Query(self.table, MappingProxyType({name: (column, tuple(values))
                                                   for name, (column, values) in self.filters.items()}),
                     tuple(self.groups), tuple(self.measures), tuple(self.distinct), tuple(self.projections),
                     self.row_level, self.order_key, self.order_by_measure, self.top_direction,
                     self.superlative, self.limit, self.plain_first, tuple(self.counted))

    def add_measure(self, measure: Measure) -> None:
        if measure not in self.measures:
            self.measures.append(measure)

    def count_rows(self, noun: Span | None) -> None:
        """COUNT(*), remembering what the question counts: one table's rows are its rows, but in a
        join only the `many` side's are (see `_check_join`)."""
        self.add_measure(Measure("count", None))
        self.counted.append(noun)

    def add_filter(self, column: Column, value: Any) -> None:
        values = self.filters.setdefault(column.name, (column, []))[1]
        if value not in values:
            values.append(value)


_DIRECTION = {"max": "desc", "latest": "desc", "min": "asc", "earliest": "asc"}
_SUPERLATIVE_LINKS = frozenset({"with", "has", "had", "having", "that"})


class _Reader:
    """Reads the ordered mentions: filters first, then who is ranked (top/which), then groups,
    aggregates, counts and distinct; any mention left unused means the question was not
    understood."""

    def __init__(self, spans: list[Span], table: Table, tokens: list[Token]):
        self.s = [s for s in spans if s.kind not in ("ambiguous",)]
        self.q = _Draft(table)
        self._implicit_which(tokens)

    def _implicit_which(self, tokens: list[Token]) -> None:
        """`State with the most airports`, `Car with the highest horsepower`: a question opening
        on a noun + `with` + a superlative asks `which` as surely as the word itself."""
        first = next((k for k, span in enumerate(self.s) if span.kind != "filler"), None)
        if first is None or self.s[first].kind not in ("column", "table", "rows"):
            return
        if not all(t.is_stop for t in tokens[:self.s[first].start]):
            return
        link = tokens[self.s[first].end].text if self.s[first].end < len(tokens) else ""
        superlative = self.at(first + 1)
        if link in _SUPERLATIVE_LINKS and superlative is not None and superlative.kind == "agg" \
                and superlative.arg in _DIRECTION:
            self.s.insert(first, Span("which", self.s[first].start, self.s[first].start, text="which"))

    def at(self, i: int) -> Span | None:
        return self.s[i] if 0 <= i < len(self.s) else None

    def next_index(self, i: int, skip: tuple[str, ...] = ()) -> int:
        j = i + 1
        while j < len(self.s) and self.s[j].kind in skip:
            j += 1
        return j

    def free_column(self, i: int) -> Column | None:
        span = self.at(i)
        if span is None or span.used:
            return None
        if span.kind == "table":
            return in_view(self.q.table, span.arg, namesake_column(span.arg))
        return span.arg if span.kind == "column" else None

    def read(self) -> _Draft:
        for span in self.s:
            if span.kind == "filler":
                span.used = True
        for step in (self.filters, self.ranking, self.groups, self.aggregates, self.counts, self.distincts):
            for i in range(len(self.s)):
                if not self.s[i].used:
                    step(i)
        self.leftovers()
        return self.q

    # -- steps ------------------------------------------------------------------------------
    def filters(self, i: int) -> None:
        span = self.s[i]
        before = self.at(i - 1)
        if span.kind == "column" and not span.used and _flag_value(span.arg) is not None \
                and not (before is not None and before.kind in ("group", "agg", "distinct", "common")
                         and before.end == span.start):
            self.q.add_filter(span.arg, _flag_value(span.arg))  # "open businesses", "businesses that are open"
            span.used = True
        elif span.kind == "value":
            column, value = span.arg
            self.q.add_filter(column, value)
            span.used = True
            before = self.at(i - 1)
            if before is not None and before.kind == "column" and before.arg is column:
                before.used = before.describes_value = True  # "city of Houston", "state AK"
        elif span.kind == "number":
            numbers = [i]
            j = i + 1
            while self.at(j) is not None and self.at(j).kind == "conj" and self.at(j + 1) is not None \
                    and self.at(j + 1).kind == "number":
                numbers.append(j + 1)
                j += 2
            column = self.free_column(j)
            if column is None or not column.is_numeric:
                return
            for k in numbers:
                self.q.add_filter(column, _as_literal_number(self.s[k].arg))
                self.s[k].used = True
            self.s[j].used = True

    def ranking(self, i: int) -> None:
        span = self.s[i]
        q = self.q
        if span.kind == "top" or (span.kind == "number" and self._entity(i + 1)):
            n = span.arg[0] if span.kind == "top" else span.arg
            if span.kind == "number" and not float(n).is_integer():
                return
            direction = span.arg[1] if span.kind == "top" else None
            if q.limit is not None:
                raise refuse("The question asks for two different limits.")
            span.used = True
            q.limit, q.top_direction = int(n), direction
            entity = self.at(i + 1)
            if entity is not None and entity.kind in ("table", "rows"):
                q.row_level = True
                q.plain_first = span.kind == "top" and span.arg[2] == "first"
                q.top_entity = entity
            elif entity is not None and entity.kind == "column" and not entity.used:
                entity.used = True
                q.top_entity = entity
                after = self.at(i + 2)
                if entity.arg.is_text or (after is not None and after.kind == "group" and after.text == "by"):
                    q.groups.append(entity.arg)  # "top 3 sites by total yield"
                    q.order_by_measure = True
                else:
                    q.row_level = True  # "lowest 3 temps": rows ranked by that column
                    q.order_key = entity.arg
            else:
                q.order_by_measure = True
        elif span.kind == "which":
            entity = self.at(i + 1)
            if entity is not None and entity.kind == "number":
                span.used = True  # "which 3 states have …": the number ranks
                return
            if q.limit is not None or entity is None:
                return
            span.used = True
            q.limit = 1
            if entity.kind == "column" and not entity.used:
                entity.used = q.which_column = True
                q.groups.append(entity.arg)
                q.order_by_measure = True
            elif entity.kind in ("table", "rows"):
                q.row_level = q.which_rows = True
            else:
                raise refuse("The offline planner could not tell what 'which' asks about.")
        elif span.kind == "common":
            column = self.free_column(self.next_index(i, ("table",)))
            if column is None:
                raise refuse("The offline planner could not tell what 'most common' is about.")
            self.s[self.next_index(i, ("table",))].used = True
            span.used = True
            if column not in q.groups:
                if q.groups:
                    raise refuse("The question groups by two different columns.")
                q.groups.append(column)
            q.count_rows(None)
            q.order_by_measure, q.superlative = True, span.arg
            q.limit = q.limit or 1

    def _entity(self, i: int) -> bool:
        """Whether a bare number before this mention reads as a limit: `5 cars with the …`."""
        span = self.at(i)
        if span is None:
            return False
        if span.start != self.s[i - 1].end:
            return False  # "1932 in barley" is no limit
        if span.kind in ("table", "rows"):
            return True
        return span.kind == "column" and not span.used and span.arg.is_text

    def groups(self, i: int) -> None:
        span = self.s[i]
        if span.kind != "group":
            return
        q = self.q
        span.used = True
        before = self.at(i - 1)
        if q.top_entity is not None and before is q.top_entity and q.groups:
            return  # "top 3 sites BY total yield": `by` introduces the measure
        j = i + 1
        counted = self.at(j)
        if counted is not None and counted.kind == "count" and counted.arg == "number of":
            counted.used = True  # "per number of cylinders" is "per cylinders"
            j += 1
        column = self.free_column(j)
        if column is None and self.at(j) is not None and self.at(j).describes_value:
            column = self.at(j).arg  # "by symbol for AAPL and MSFT"
        if column is None:
            target = self.at(j)
            words = f" '{target.text}'" if target is not None else ""
            raise refuse(f"The offline planner could not find a column to group by after '{span.text}'{words}.")
        if q.row_level and q.order_key is None and span.text == "by":
            q.order_key = column  # "top 5 cars by weight"
            self.s[j].used = True
            return
        while column is not None:
            self.s[j].used = True
            if column not in q.groups:
                q.groups.append(column)
            conj = self.at(j + 1)
            if conj is None or conj.kind != "conj":
                break
            j += 2
            column = self.free_column(j)
            if column is None or self._followed_by_own_value(j):
                break

    def _followed_by_own_value(self, j: int) -> bool:
        after = self.at(j + 1)
        return after is not None and after.kind == "value" and after.arg[0] is self.s[j].arg

    def aggregates(self, i: int) -> None:
        span = self.s[i]
        if span.kind != "agg":
            return
        q = self.q
        funcs = [span]
        j = self.next_index(i, ("table",))
        nxt = self.at(j)
        following = self.at(j + 1)
        if nxt is not None and nxt.kind == "count" and nxt.arg == "number of" and following is not None \
                and following.kind == "column" and following.arg.is_numeric:
            nxt.used = True  # "average number of cylinders" is the average of Cylinders
            j += 1
            nxt = following
        if nxt is not None and nxt.kind == "agg" and not nxt.used and span.arg in _DIRECTION:
            span.used = True  # "highest average price": ranks the groups by the next aggregate
            q.superlative = _DIRECTION[span.arg]
            q.order_by_measure = True
            return
        while nxt is not None and nxt.kind == "conj" and self.at(j + 1) is not None and self.at(j + 1).kind == "agg":
            funcs.append(self.at(j + 1))  # "average and maximum horsepower"
            j = self.next_index(j + 1, ("table",))
            nxt = self.at(j)
        for f in funcs:
            f.used = True
        column = self.free_column(j)
        noun = self.at(i + 1)
        if column is not None and len(funcs) == 1 and span.arg in _DIRECTION and noun is not None \
                and noun.kind == "table" and noun.start == span.end and not q.measures and q.limit is None:
            q.row_level, q.limit = True, 1  # "the largest track in bytes": a track, not the largest bytes
        if column is None and self.free_column(i + 1) is not None:
            j = i + 1  # "maximum wheat" where wheat is both the table and its column
            column = self.free_column(j)
        if column is None:
            nxt = self.at(i + 1)
            counted = nxt is not None and nxt.kind in ("table", "rows")
            alone = nxt is None and span.text in COUNT_SUPERLATIVES  # "which race has the most (victims)"
            if len(funcs) == 1 and span.arg in ("max", "min") and (counted or alone):
                q.count_rows(nxt if counted else None)  # "which state has the most airports"
                q.superlative = _DIRECTION[span.arg]
                q.order_by_measure = True
                return
            raise refuse(f"The offline planner could not find the column for '{span.text}'.")
        columns = [j]
        while self.at(j + 1) is not None and self.at(j + 1).kind == "conj" and self.free_column(j + 2) is not None \
                and not self._followed_by_own_value(j + 2):
            j += 2
            columns.append(j)
        if q.row_level and len(funcs) == 1 and len(columns) == 1 and span.arg in _DIRECTION and q.order_key is None:
            q.order_key = column  # "which car has the highest horsepower"
            q.superlative = _DIRECTION[span.arg]
            self.s[j].used = True
            return
        ranked_groups = q.order_by_measure and q.groups and q.limit is not None and not q.measures
        for k in columns:
            measured = self.free_column(k)
            self.s[k].used = True
            for f in funcs:
                q.add_measure(Measure(_measure_func(f.arg, measured), measured))
        if ranked_groups and len(funcs) == 1 and span.arg in _DIRECTION and q.superlative is None:
            q.superlative = _DIRECTION[span.arg]  # "which site has the highest yield": rank by MAX

    def counts(self, i: int) -> None:
        span = self.s[i]
        if span.kind != "count":
            return
        span.used = True
        before = self.at(i - 1)
        if span.text.split()[0] in ("count", "counts") and before is not None and before.kind == "column" \
                and before.end == span.start:
            if not before.arg.is_numeric:
                raise refuse(f"'{before.text} {span.text}' is ambiguous: the rows or the distinct values?")
            return  # "cylinder count" names the column Cylinders
        nxt = self.at(i + 1)
        counted = self.free_column(i + 2)
        if nxt is not None and nxt.kind == "distinct" and counted is not None:
            nxt.used = self.s[i + 2].used = True
            self.q.add_measure(Measure("count", counted, distinct=True))
            return
        column = self.free_column(i + 1) if nxt is not None and nxt.kind == "column" else None
        noun = self.at(i + 2)
        counted = self.at(self.next_index(i, ("value",)))  # "how many shipped orders": orders
        counted = counted if counted is not None and counted.kind in ("table", "rows") else None
        if column is not None and noun is not None and noun.kind in ("rows", "table") and noun.start == nxt.end:
            if not set(name_stems(column.name)) <= set(name_stems(self.q.table.name)):
                raise refuse(f"The offline planner does not know how '{nxt.text}' qualifies '{noun.text}'.")
            nxt.used = True  # "how many weather records": the column's word is the table's too
            column, counted = None, noun
        if column is not None and not self._followed_by_own_value(i + 1):
            if not column.is_text:
                raise refuse(f"'{nxt.text}' after '{span.text}' is ambiguous: count the rows or the distinct values?")
            nxt.used = True
            self.q.add_measure(Measure("count", column, distinct=True))  # "how many origins"
            return
        self.q.count_rows(counted)

    def distincts(self, i: int) -> None:
        span = self.s[i]
        if span.kind != "distinct":
            return
        j = i + 1
        column = self.free_column(j)
        if column is None:
            raise refuse(f"The offline planner could not find the column for '{span.text}'.")
        span.used = True
        while column is not None:
            self.s[j].used = True
            self.q.distinct.append(column)
            if self.at(j + 1) is None or self.at(j + 1).kind != "conj":
                break
            j += 2
            column = self.free_column(j)

    def leftovers(self) -> None:
        for span in self.s:
            if span.used or span.kind in ("table", "rows", "conj"):
                continue
            if span.kind == "column":
                before = self.at(self.s.index(span) - 1)
                if self.q.measures and before is not None and before.kind == "value" and before.end == span.start:
                    continue  # "gram negative bacteria": the noun the value describes
                if before is not None and before.kind == "column" and before.arg in self.q.projections:
                    raise refuse(f"The offline planner does not know how '{before.text}' and '{span.text}' go "
                                 "together (list several columns with 'and').")
                self.q.projections.append(span.arg)
                continue
            if span.kind == "number":
                raise refuse(f"The offline planner does not know what {span.text} refers to.")
            raise refuse(f"The offline planner could not use '{span.text}' in this question.")


_FLAG_PREFIXES = frozenset({"is", "has", "have", "was", "can", "does"})
_TRUE_TEXTS = {frozenset({"y", "n"}): "y", frozenset({"yes", "no"}): "yes", frozenset({"t", "f"}): "t",
               frozenset({"true", "false"}): "true", frozenset({"1", "0"}): "1"}


def _flag_value(column: Column) -> Any:
    """The stored value meaning "yes" in a flag column (`is_open`, a BOOLEAN `active`, a Y/N or
    '1'/'0' text column), so that saying the flag's word (`open businesses`) filters on it; None for
    other columns."""
    if "BOOL" in column.type.upper():
        return True
    stems = name_stems(column.name)
    if column.is_numeric and "INT" in column.type.upper() and len(stems) > 1 and stems[0] in _FLAG_PREFIXES:
        return 1
    if column.is_text and column.samples and len(column.samples) == 2:
        truth = _TRUE_TEXTS.get(frozenset(str(v).lower() for v in column.samples))
        return next((v for v in column.samples if str(v).lower() == truth), None) if truth else None
    return None


def _measure_func(word: str, column: Column) -> str:
    if word in ("latest", "earliest"):
        if not column.is_temporal:
            raise refuse(f"'{word}' applies to dates, and {column.name} is not one.")
        return "max" if word == "latest" else "min"
    if word in ("avg", "sum") and not column.is_numeric:
        raise refuse(f"{column.name} is not numeric, so its {AGG_WORDS[word]} is undefined.")
    if word in ("max", "min") and not (column.is_numeric or column.is_temporal):
        raise refuse(f"The {AGG_WORDS[word]} of the text column {column.name} is rarely what is meant.")
    return word


def _as_literal_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _settle_shape(q: _Draft, has_list_verb: bool) -> None:
    """Settle the readings that depend on the whole question (`which airports …` without a
    superlative is a listing) and refuse combinations the builder would have to guess at."""
    if q.measures:
        if q.row_level:
            raise refuse("The question mixes listing rows with aggregates.")
        if q.projections or q.distinct:
            names = ", ".join(c.name for c in q.projections + q.distinct)
            raise refuse(f"The offline planner could not tell how {names} fits with the aggregate.")
        measured = {m.column.name for m in q.measures if m.column is not None}
        if any(g.name in measured for g in q.groups):
            raise refuse("The question groups by the column it aggregates.")
        if q.order_by_measure:
            if not q.groups or q.limit is None:
                raise refuse("The offline planner could not tell which groups to rank.")
            if (q.superlative or q.top_direction) is None:
                raise refuse("The offline planner could not tell whether to rank from the highest or lowest.")
        return
    if q.which_rows and q.order_key is None:
        q.row_level, q.which_rows, q.limit = False, False, None  # "which airports are in Houston": a listing
    if q.which_column and q.superlative is None and len(q.groups) == 1:
        q.distinct, q.groups = q.groups, []  # "which cities are in AK": the distinct values
        q.limit, q.order_by_measure = None, False
    if q.row_level:
        if q.groups or q.distinct:
            raise refuse("The question mixes listing rows with grouping.")
        if q.order_key is None and not q.plain_first:
            raise refuse("The offline planner could not tell which column ranks the rows.")
        if q.order_key is not None and (q.superlative or q.top_direction) is None:
            raise refuse("The offline planner could not tell whether to rank from the highest or lowest.")
        return
    if q.groups or q.limit is not None or q.order_by_measure:
        raise refuse("The offline planner found a grouping or ranking but nothing to compute.")
    if q.distinct:
        if q.projections:
            raise refuse("The offline planner could not tell how the columns fit together.")
        return
    if not (q.filters or has_list_verb):
        raise refuse("The offline planner could not find what to compute.")

