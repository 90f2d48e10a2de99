"""The built-in planner, `querygpt/offline`: plain-language questions about one table → SQL, no model.

It links the question's words to one table, its columns and values stored in them, reads the
intent from a small general vocabulary (how many, average, total, highest, per, top N, distinct,
which …) and builds the SQL with sqlglot. It answers only when every word that could change the
meaning is accounted for; otherwise — an unknown word, an ambiguous column, an operation it lacks
(median, comparisons, time buckets) — it raises `AgentFailure` with a hint to configure a model,
because a wrong answer is worse than a refusal.

A question one table cannot answer may still be answered by two tables linked by exactly one
foreign key: the pair is read as one joined table (`_JoinView`) by the same stages, and answered
only for readings the join cannot distort (see `_check_join`). Three tables, two foreign keys
between the pair, or counting the `one` side through the `many` side are refused.

Stages, each a function below: tokenise → choose the table (or, failing that, a pair joined along
a foreign key) → link columns, top-N, keywords, values → account for the leftover words →
interpret the linked mentions → check the values and a join reading → build the SQL.

No word is dropped silently: each is used, known filler, or the reason for a refusal that names
it. A flag column (`is_open`) filters when its word is said. A value stored in several tables
picks the table whose name column holds it (`population of Texas` reads `state`), and a value
that is also another table's row name (`Queen`) is refused unless its column refers to that table.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlglot import exp

from ..connections.catalog import Catalog, Column, ForeignKey, Table
from ..connections.introspect import SAMPLES_PER_COLUMN
from ..errors import AgentFailure, QueryGPTError, SchemaError, how
from .language import language_of

if TYPE_CHECKING:
    import pandas as pd

# (table, column, candidate strings) -> the candidates stored in that column, with the stored case
ValueProbe = Callable[[str, str, list[str]], list[str]]



def refusal_hint() -> str:
    """What to do when the offline planner refuses, in the caller's terms (errors.how)."""
    return f"Rephrase naming the table and column, or configure a model: {how('configure_model')}."


@dataclass(frozen=True)
class Plan:
    """What a planner hands the pipeline: SQL to guard and run, and how to present it."""

    sql: str                       # in catalog.dialect
    explanation: str               # one sentence: what the query computes
    chart_hint: str | None = None  # "bar", "line", "none", or None to let the chart chooser decide


# ---------------------------------------------------------------------------------------------
# Vocabulary: small, general English tables (no dataset words). Multi-word phrases are tuples.

# Function words never name a column; filler words carry no meaning here but may be a column's
# name (a column `amount` or `value`), so a column claims them first.
_FUNCTION_WORDS = frozenset("""
a an the of in on at for from with to into within is are was were be been being do does did
have has had having there here that this these those what whats who whom whose where how
i me my we us our you your they them their it its s please can could would will should may
all any some only also just as
""".split())
_FILLER_WORDS = frozenset("""
show list give tell find get display return see let lets know name
data dataset table tables database value values amount
made built located recorded based listed named called observed registered measured reported
live lives living reside resides situated
come comes came originate originating belong belongs belonging
chart plot graph draw visualize visualise bar line pie
""".split())
_STOPWORDS = _FUNCTION_WORDS | _FILLER_WORDS

# "share of cars by origin" reads as counts per group (the pie shows the shares); nothing else.
_SHARE_NOUNS = frozenset({"share", "proportion", "percentage"})

# "as a bar chart": the chart the question asks for, when it names one.
_CHART_WORDS = {"bar": "bar", "line": "line"}
_CHART_NOUNS = frozenset({"chart", "plot", "graph"})

# Superlatives that rank by a count when no column follows ("the most airports").
_COUNT_SUPERLATIVES = frozenset({"most", "fewest", "least"})

_TIME_UNITS = frozenset({"second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade",
                         "date", "time"})

# Words that make a listing ("list the names of …") a request rather than a fragment.
_LIST_VERBS = frozenset({"list", "show", "display", "give", "return", "what", "which", "find", "get"})

_CONJUNCTIONS = frozenset({"and", "or", ",", "&"})

# Nouns that qualify a column rather than name one ("weather types"), even where another table
# has a column called `type`.
_GENERIC_NOUNS = frozenset({"type", "kind", "category", "class", "group", "sort", "label", "level", "name"})

# Nouns that mean "the rows" whatever the table ("how many records per signal").
_ROW_NOUNS = frozenset({"row", "record", "entry", "observation", "item"})

# phrase -> (kind, argument). Kinds: count, agg (avg/sum/max/min/latest/earliest), common (most
# common X: argmax of a count), distinct, group (per/by/for each), which.
_KEYWORDS: dict[tuple[str, ...], tuple[str, str | None]] = {
    ("how", "many"): ("count", None),
    ("number", "of"): ("count", "number of"),
    ("total", "number", "of"): ("count", None),
    ("total", "count", "of"): ("count", None),
    ("total", "count"): ("count", None),
    # "share of cars by origin": the parts are counts per group; the chart shows them as shares
    ("share", "of"): ("count", None), ("proportion", "of"): ("count", None),
    ("percentage", "of"): ("count", None),
    ("count", "of"): ("count", None),
    ("count",): ("count", None),
    ("counts",): ("count", None),
    ("average",): ("agg", "avg"), ("avg",): ("agg", "avg"), ("mean",): ("agg", "avg"),
    ("total",): ("agg", "sum"), ("sum",): ("agg", "sum"),
    ("maximum",): ("agg", "max"), ("max",): ("agg", "max"), ("highest",): ("agg", "max"),
    ("largest",): ("agg", "max"), ("biggest",): ("agg", "max"), ("greatest",): ("agg", "max"),
    ("most",): ("agg", "max"),
    ("minimum",): ("agg", "min"), ("min",): ("agg", "min"), ("lowest",): ("agg", "min"),
    ("smallest",): ("agg", "min"), ("least",): ("agg", "min"), ("fewest",): ("agg", "min"),
    ("latest",): ("agg", "latest"), ("most", "recent"): ("agg", "latest"), ("earliest",): ("agg", "earliest"),
    ("most", "common"): ("common", "desc"), ("most", "frequent"): ("common", "desc"),
    ("least", "common"): ("common", "asc"), ("least", "frequent"): ("common", "asc"),
    ("distinct",): ("distinct", None), ("unique",): ("distinct", None), ("different",): ("distinct", None),
    ("per",): ("group", None), ("by",): ("group", None), ("for", "each"): ("group", None),
    ("for", "every"): ("group", None), ("in", "each"): ("group", None), ("each",): ("group", None),
    ("every",): ("group", None), ("across",): ("group", None), ("grouped", "by"): ("group", None),
    ("broken", "down", "by"): ("group", None), ("split", "by"): ("group", None),
    ("which",): ("which", None),
    ("in", "total"): ("filler", None), ("overall",): ("filler", None), ("altogether",): ("filler", None),
    ("at", "least"): ("unsupported", None), ("at", "most"): ("unsupported", None),
}

# "top 5", "5 highest", "bottom 3": the word and its direction; "first N" may also mean a plain LIMIT.
_TOP_WORDS = {"top": "desc", "first": "desc", "highest": "desc", "largest": "desc", "biggest": "desc",
              "greatest": "desc", "bottom": "asc", "lowest": "asc", "smallest": "asc"}

_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}

# Words naming an operation this planner does not have: seeing one means refusing, never guessing
# a neighbouring aggregate (median is not average) or dropping a condition (more than, before).
_UNSUPPORTED = frozenset("""
median medians percentile percentiles quantile quantiles quartile quartiles mode variance var stddev std
deviation standard ratio ratios percent percentage percentages proportion proportions share fraction
rate rates growth change changes changed increase increased decrease decreased trend trends
correlation correlate correlated difference differences compare compared comparison versus vs
than more less fewer greater above below over under between before after since until during
not no none non without except excluding exclude excluded but nor neither if
cumulative running rolling moving rank ranked ranking weighted second third fourth fifth
monthly daily weekly yearly annual annually hourly quarterly
higher lower bigger smaller larger heavier lighter longer shorter older younger cheaper newer
last previous recent recently current currently today now ago past next earlier later
join joined combined together
""".split())

_AGG_WORDS = {"avg": "average", "sum": "total", "max": "maximum", "min": "minimum",
              "latest": "latest", "earliest": "earliest"}


# ---------------------------------------------------------------------------------------------
# Stage 1: tokens

@dataclass(frozen=True)
class _Token:
    text: str            # lower case
    stem: str            # singular form, so "cars" meets the table "cars" and "car"
    start: int           # character offsets in the question
    end: int
    number: float | None = None

    @property
    def is_stop(self) -> bool:
        return self.text in _STOPWORDS


_RUN = re.compile(r"\d+\.\d+|[^\W_]+|[,&]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _stem(word: str) -> str:
    """A crude singular: enough for plural nouns in names and questions, applied to both sides."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _tokenise(text: str) -> list[_Token]:
    """Words of `text`, identifiers split on `_` and camelCase (`sepalLength` → sepal length)."""
    tokens = []
    for run in _RUN.finditer(text):
        offset = run.start()
        for part in _CAMEL.split(run.group()):
            lower = part.lower()
            number = None
            if _DIGITS.fullmatch(lower):
                number = float(lower)
            elif lower in _NUMBER_WORDS:
                number = float(_NUMBER_WORDS[lower])
            tokens.append(_Token(lower, _stem(lower), offset, offset + len(part), number))
            offset += len(part)
    return tokens


def _name_stems(name: str) -> tuple[str, ...]:
    return tuple(t.stem for t in _tokenise(name))


def _normalised(value: Any) -> str:
    return " ".join(t.text for t in _tokenise(str(value)))


# ---------------------------------------------------------------------------------------------
# Linked mentions

@dataclass(eq=False)
class _Span:
    """A run of tokens [start, end) linked to something: a table, a column, a value, a keyword."""

    kind: str        # table column value number rows count agg common distinct group which top conj
    start: int
    end: int
    arg: Any = None  # Table | Column | (Column, value) | number | keyword argument | (n, direction, word)
    text: str = ""
    used: bool = False
    describes_value: bool = False  # a column named before its value ("state AK"); may still group


class _Links:
    """Which token belongs to which span; stages claim free tokens and never steal."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.owner: list[_Span | None] = [None] * len(tokens)
        self.singular_values: dict[int, tuple[str, Any]] = {}  # plural words whose singular is a value

    def free(self, start: int, end: int) -> bool:
        return end <= len(self.tokens) and all(o is None for o in self.owner[start:end])

    def claim(self, span: _Span) -> _Span:
        span.text = " ".join(t.text for t in self.tokens[span.start:span.end])
        for i in range(span.start, span.end):
            self.owner[i] = span
        return span

    def kind_at(self, i: int) -> str | None:
        if 0 <= i < len(self.tokens) and self.owner[i] is not None:
            return self.owner[i].kind
        return None

    def spans(self) -> list[_Span]:
        seen, out = set(), []
        for span in self.owner:
            if span is not None and id(span) not in seen:
                seen.add(id(span))
                out.append(span)
        return out


def _refuse(message: str) -> AgentFailure:
    return AgentFailure(message, hint=refusal_hint())


def _keyword_words() -> frozenset[str]:
    words = {w for phrase in _KEYWORDS for w in phrase} | set(_TOP_WORDS)
    return frozenset(words - {"of", "in", "for"})


_KEYWORD_WORDS = _keyword_words()


# ---------------------------------------------------------------------------------------------
# Stage 2: columns (also used to guess the table when none is named)

_FULL, _INITIALS, _PARTIAL, _ABBREVIATION = 0, 1, 2, 3


def _column_patterns(table: Table) -> tuple[list[tuple[tuple[str, ...], Column, int]], dict[str, set[str]]]:
    """Every way the question may name a column: all its words (`weight in lbs`), the initials of
    a long name (`mpg`), or its head word alone (`weight`) when no other column shares that word.
    Returns the patterns and, per word, the columns using it (to spot ambiguity)."""
    patterns: list[tuple[tuple[str, ...], Column, int]] = []
    users: dict[str, set[str]] = defaultdict(set)
    for column in table.columns:
        stems = _name_stems(column.name)
        if not stems:
            continue
        patterns.append((stems, column, _FULL))
        for s in stems:
            users[s].add(column.name)
        if len(stems) >= 3:
            patterns.append((("".join(s[0] for s in stems),), column, _INITIALS))
        if len(stems) > 1:
            for s in _head_words(stems):
                if not (isinstance(table, _JoinView) and s in table.shadowed):
                    patterns.append(((s,), column, _PARTIAL))
            if stems[-1] == "name":
                patterns.append((stems[:-1], column, _PARTIAL))  # `state` for state_name: a state, by name
        if len(stems) > 1 and stems[-1] in _UNIT_WORDS and stems[-2] not in _HEAD_BEFORE:
            # `body mass` names body_mass_g: a trailing unit may go unsaid
            bare = stems[:-1]
            patterns.append((bare, column, _FULL))
            if len(bare) > 1:
                patterns.extend(((s,), column, _PARTIAL) for s in _head_words(bare)
                                if not (isinstance(table, _JoinView) and s in table.shadowed))
        if isinstance(column, _JoinColumn):
            # `customer country`, `product category`: in a join the table's name may qualify its column
            owner = _name_stems(column.table)
            source = _name_stems(column.source)
            if owner and source[:len(owner)] != owner and owner + source != stems:
                patterns.append((owner + source, column, _FULL))
    return patterns, users


_HEAD_BEFORE = frozenset({"in", "per", "of", "by", "for", "and", "to"})

# Units that end column names (`flipper_length_mm`, `price_usd`), as stems.
_UNIT_WORDS = frozenset("mm cm km m g kg mg lb oz ml l ms sec hr kwh mph kmh usd eur gbp pct".split())


def _head_words(stems: tuple[str, ...]) -> set[str]:
    """The words that name a compound alone: the last (`net generation` → generation), and the
    first when a preposition follows it (`weight in lbs` → weight). `death date` is no `death`."""
    heads = {stems[-1]}
    if len(stems) > 2 and stems[1] in _HEAD_BEFORE:
        heads.add(stems[0])
    return heads


def _link_columns(links: _Links, table: Table, min_words: int = 1) -> list[_Span]:
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
                if window[0].text != stems[0] or window[0].is_stop or window[0].text in _KEYWORD_WORDS:
                    continue
            elif tuple(t.stem for t in window) != stems:
                if n == 1 and _abbreviates(stems[0], window[0]):
                    found.append((i, 1, column, _ABBREVIATION))
                continue
            if n == 1 and (window[0].text in _FUNCTION_WORDS or window[0].text in _KEYWORD_WORDS
                           or window[0].number is not None):
                continue
            if quality == _PARTIAL and window[0].text in _UNSUPPORTED:
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
            spans.append(links.claim(_Span("ambiguous", i, i + n, sharing)))
            continue
        spans.append(links.claim(_Span("column", i, i + n, column)))
    return spans


def _abbreviates(word: str, token: _Token) -> bool:
    """A column named by a clipped word: `ret` for return, `temp` for temperature, `gas` for
    gasoline. Keywords, comparatives and short words never count."""
    text = token.text
    return (len(word) >= 3 and len(text) >= len(word) + 2 and text.startswith(word) and token.number is None
            and text not in _FUNCTION_WORDS and text not in _KEYWORD_WORDS and text not in _UNSUPPORTED)


# ---------------------------------------------------------------------------------------------
# Stage 3: values (samples from the catalogue, then the probe for columns with many values)

def _variants(token: _Token) -> list[str]:
    """Adjective forms of a stored value: rainy → rain, sunny → sun, foggy → fog."""
    word = token.text
    if len(word) >= 4 and word.endswith("y") and token.number is None:
        out = [word[:-1]]
        if word[-2] == word[-3]:
            out.append(word[:-2])
        return out
    return []


def _value_ngrams(links: _Links, question: str) -> list[tuple[int, int, list[str], list[str]]]:
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
            if any(t.text in _CONJUNCTIONS for t in window):
                continue
            if n == 1 and window[0].number is not None:
                continue
            if any(t.is_stop for t in edge_words):
                raw = question[window[0].start:window[0].end]
                if not (n == 1 and links.kind_at(i - 1) == "column" and raw.isupper()):
                    continue  # but `series I`, `state IN`: a code typed in capitals after its column
            exact = [" ".join(t.text for t in window), question[window[0].start:window[-1].end].lower()]
            grams.append((i, i + n, list(dict.fromkeys(exact)), _variants(window[0]) if n == 1 else []))
    return grams


def _claimable(links: _Links, start: int, end: int) -> bool:
    """Free tokens, or free tokens and then the one word of a column mention."""
    if links.free(start, end):
        return True
    last = links.owner[end - 1] if 0 < end <= len(links.tokens) else None
    return end - start > 1 and links.free(start, end - 1) and last is not None and last.kind == "column" \
        and last.start == end - 1 and last.end == end


def _sample_index(table: Table) -> dict[str, list[tuple[Column, Any]]]:
    index: dict[str, list[tuple[Column, Any]]] = defaultdict(list)
    for column in table.columns:
        if column.is_text:
            for value in column.samples:
                if isinstance(value, str):
                    index[value.lower()].append((column, value))
                    index[_normalised(value)].append((column, value))
    return index


def _samples_incomplete(column: Column) -> bool:
    return column.is_text and (not column.samples or len(column.samples) >= SAMPLES_PER_COLUMN)


def _link_values(links: _Links, table: Table, question: str, probe: ValueProbe | None,
                 strict: bool = True) -> list[_Span]:
    """Claim stored values: each run of free words is looked up in the samples and, for text
    columns whose samples may be incomplete, with one probe call per column. A value found in two
    columns belongs to the column named right before it (`city of Houston`) or, right after the
    table's noun (`lake Michigan`), to the table's name column; else it refuses — unless not
    `strict` (guessing the table: any column will do as evidence)."""
    grams = _value_ngrams(links, question)
    if not grams:
        return []
    index = _sample_index(table)
    singulars = {start: links.tokens[start].stem for start, end, _, _ in grams
                 if end - start == 1 and links.tokens[start].stem != links.tokens[start].text}
    if probe is not None:
        candidates = list(dict.fromkeys(s for _, _, exact, variants in grams for s in exact + variants))
        candidates += [s for s in singulars.values() if s not in candidates]
        for column in table.columns:
            if _samples_incomplete(column):
                for stored in probe(*_origin(table, column), candidates):
                    entry = (column, stored)
                    for key in {str(stored).lower(), _normalised(stored)}:
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
        if not matches:
            continue
        if len({c.name for c, _ in matches}) > 1 and strict:
            named = _column_named_before(links, start) or _name_column_by_noun(links, table, start)
            matches = [m for m in matches if named is not None and m[0].name == named.name]
            if not matches:
                raise _refuse(f"'{links.tokens[start].text}' is a value of several columns of {table.name}; "
                              "the offline planner cannot tell which one is meant.")
        column, value = matches[0]  # several entries left: one column storing two spellings
        spans.append(links.claim(_Span("value", start, end, (column, value))))
    return spans


def _dedupe(matches: Iterable[tuple[Column, Any]]) -> list[tuple[Column, Any]]:
    out = []
    for m in matches:
        if m not in out:
            out.append(m)
    return out


def _name_column_by_noun(links: _Links, table: Table, start: int) -> Column | None:
    """`lake Michigan`: right after the table's noun, a value is the table's own name."""
    before = links.owner[start - 1] if start > 0 else None
    if before is None or before.kind != "table" or before.end != start or isinstance(table, _JoinView):
        return None
    return _name_column(table)


def _name_column(table: Table) -> Column | None:
    """The column naming each row: `name`/`title`, `<table>_name`, or a text primary key."""
    stems = _name_stems(table.name)
    for column in table.columns:
        words = _name_stems(column.name)
        if words and words[-1] in ("name", "title") and (len(words) == 1 or words[:-1] == stems):
            return column
    keys = [c for c in table.columns if c.primary_key]
    return keys[0] if len(keys) == 1 and keys[0].is_text else None


def _column_named_before(links: _Links, start: int) -> Column | None:
    i = start - 1
    while i >= 0 and links.owner[i] is None and links.tokens[i].is_stop:
        i -= 1
    if links.kind_at(i) == "column":
        return links.owner[i].arg
    return None


# ---------------------------------------------------------------------------------------------
# Stage 4: the table — named in the question, or the only one its columns and values fit

def _table_mentions(tokens: list[_Token], table: Table) -> list[tuple[int, int]]:
    stems = _name_stems(table.name)
    n = len(stems)
    return [(i, i + n) for i in range(len(tokens) - n + 1) if tuple(t.stem for t in tokens[i:i + n]) == stems]


def _choose_table(tokens: list[_Token], catalog: Catalog, question: str,
                  probe: ValueProbe | None = None) -> tuple[Table, list[tuple[int, int]]]:
    """The one table the question is about, and the token ranges that name it."""
    named = _named_tables(tokens, catalog)
    if len(named) == 2:
        named = _drop_named_by_column(named, catalog)
    if len(named) > 1:
        raise _refuse(f"The question names several tables ({', '.join(sorted(named))}); the offline planner "
                      "answers questions about one table, or two linked by one foreign key.")
    if named:
        name, mentions = next(iter(named.items()))
        table = catalog.table(name)
        assert table is not None
        if len(mentions) > 1 and _namesake_column(table) is not None:
            # `Maximum wheat in wheat`: the last mention is the table, earlier ones the column
            mentions = mentions[-1:]
        return table, mentions
    return _infer_table(tokens, catalog, question, probe)


def _drop_named_by_column(named: dict[str, list[tuple[int, int]]], catalog: Catalog
                          ) -> dict[str, list[tuple[int, int]]]:
    """`cities per state`: of two named tables, a table whose noun is also a `<noun>_name` column
    of the other (city.state_name) is that column, so the question is about the other table
    alone. Kept as two tables when each names a column of the other."""
    readings = []
    for name, other in (tuple(named), tuple(reversed(tuple(named)))):
        table, noun = catalog.table(name), _name_stems(other)
        if table is not None and any(_name_stems(c.name) == noun + ("name",) for c in table.columns):
            readings.append(name)
    return {readings[0]: named[readings[0]]} if len(readings) == 1 else named


def _named_tables(tokens: list[_Token], catalog: Catalog) -> dict[str, list[tuple[int, int]]]:
    """The tables the question names, with the token ranges naming them."""
    named: dict[str, list[tuple[int, int]]] = {}
    for table in catalog.tables:
        mentions = _table_mentions(tokens, table)
        if mentions:
            named[table.name] = mentions
    # a longer name wins over a shorter one inside it ("seattle weather" over a table "weather"),
    # and so does a column of another table ("customer id" of orders over customers)
    longer = {t.name: named.get(t.name, []) + _column_mentions(tokens, t) for t in catalog.tables}
    for name, mentions in list(named.items()):
        kept = [m for m in mentions if not any(
            o != name and any(s <= m[0] and m[1] <= e and (e - s) > (m[1] - m[0]) for s, e in spans)
            for o, spans in longer.items())]
        if kept:
            named[name] = kept
        else:
            del named[name]
    return named


def _column_mentions(tokens: list[_Token], table: Table) -> list[tuple[int, int]]:
    """Token ranges spelling a column's full multi-word name."""
    found = []
    for column in table.columns:
        stems = _name_stems(column.name)
        if len(stems) > 1:
            n = len(stems)
            found += [(i, i + n) for i in range(len(tokens) - n + 1) if tuple(t.stem for t in tokens[i:i + n]) == stems]
    return found


def _namesake_column(table: Table) -> Column | None:
    """The column named like its table (`wheat.wheat`): a lone mention may mean either."""
    stems = _name_stems(table.name)
    return next((c for c in table.columns if _name_stems(c.name) == stems), None)


def _infer_table(tokens: list[_Token], catalog: Catalog, question: str,
                 probe: ValueProbe | None = None) -> tuple[Table, list[tuple[int, int]]]:
    """No table named: pick the one table whose columns, stored values and name words explain
    the question's words better than every other table (see `_dominates`). Tables that explain
    the same words tie; the tie goes to the one table that stores the question's values in its
    own name column (`population of Texas`: the state Texas, not the cities of Texas); else refuse."""
    evidence = _coverage(tokens, catalog, question, probe)
    coverage = {name: e.covered for name, e in evidence.items()}
    if not coverage:
        raise _refuse("The offline planner could not tell which table the question is about.")
    ranked = sorted(coverage, key=lambda name: -len(coverage[name]))
    best = next((name for name in ranked if _dominates(name, coverage)), None)
    if best is None:
        best = _entity_table(evidence)
    if best is None:
        names = ", ".join(sorted(ranked[:4]))
        raise _refuse(f"The question could be about several tables ({names}); name the table.")
    table = catalog.table(best)
    assert table is not None
    return table, evidence[best].partial


@dataclass(frozen=True)
class _Evidence:
    """What one table explains of the question: token indices covered by its columns, stored
    values and name words; the lone name words; the value tokens stored in its name column."""

    covered: frozenset[int]
    partial: list[tuple[int, int]]
    values: frozenset[int]
    named_values: frozenset[int]


def _entity_table(evidence: dict[str, _Evidence]) -> str | None:
    """Among the tables explaining the most (and the same) words, the one whose name column holds
    every value of the question — when there is exactly one such table."""
    tops = [n for n, e in evidence.items() if not any(e.covered < o.covered for o in evidence.values())]
    if len({evidence[n].covered for n in tops}) != 1:
        return None
    entities = [n for n in tops if evidence[n].values and evidence[n].named_values == evidence[n].values]
    return entities[0] if len(entities) == 1 else None


def _coverage(tokens: list[_Token], catalog: Catalog, question: str,
              probe: ValueProbe | None = None) -> dict[str, _Evidence]:
    """Per table, the words it explains (tables explaining none are left out). Values come from
    the catalogue's samples; when words remain that no column or table name explains, the probe
    looks them up in every table's text columns: samples are few, and a value they miss in one
    table may pick another (`area of Alaska`: a lake's state in the samples, a state's name too)."""
    evidence = _coverage_pass(tokens, catalog, question, None)
    if probe is not None:
        known = set().union(*(e.covered - e.values for e in evidence.values())) if evidence else set()
        unknown = [i for i, t in enumerate(tokens) if i not in known and not t.is_stop and t.number is None
                   and t.text not in _KEYWORD_WORDS and t.text not in _CONJUNCTIONS]
        if unknown:
            evidence = _coverage_pass(tokens, catalog, question, probe)
    return evidence


def _coverage_pass(tokens: list[_Token], catalog: Catalog, question: str,
                   probe: ValueProbe | None) -> dict[str, _Evidence]:
    evidence: dict[str, _Evidence] = {}
    for table in catalog.tables:
        links = _Links(tokens)
        spans = _link_columns(links, table)
        _link_top(links)
        _link_keywords(links)
        values = _link_values(links, table, question, probe, strict=False)
        spans += values
        if not spans:
            continue
        words = set(_name_stems(table.name))
        partial = [(i, i + 1) for i, t in enumerate(tokens)
                   if links.owner[i] is None and t.stem in words and not t.is_stop and t.text not in _KEYWORD_WORDS]
        name_column = _name_column(table)
        evidence[table.name] = _Evidence(
            frozenset({i for s in spans for i in range(s.start, s.end)} | {i for i, _ in partial}), partial,
            frozenset(i for s in values for i in range(s.start, s.end)),
            frozenset(i for s in values if name_column is not None and s.arg[0].name == name_column.name
                      for i in range(s.start, s.end)))
    return evidence


def _dominates(name: str, coverage: dict[str, frozenset[int]]) -> bool:
    """Whether `name` explains a word no other table does, and every word another table
    explains is explained here too or is a head noun after one (`weather types`)."""
    mine = coverage[name]
    for other, theirs in coverage.items():
        if other == name:
            continue
        if not mine - theirs or any(i - 1 not in mine for i in theirs - mine):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Stage 4b: two tables linked by one foreign key, read as one table by the other stages

@dataclass(frozen=True)
class _JoinColumn(Column):
    """A column of a `_JoinView`: `table`.`source` in the SQL. Its `name` is `source`, or
    `table_source` where both tables have a column of that name (`orders_id`), so every column
    of the view has its own name, as the stages expect."""

    table: str = ""
    source: str = ""


@dataclass(frozen=True)
class _JoinView(Table):
    """`many` JOIN `one` ON many.fk = one.key, as one table. Each joined row is one `many` row,
    so counting and adding up `many` means what it says, while a `one` row appears once per
    `many` row that refers to it. The key columns of `one` are left out: they equal the foreign
    key columns of `many`."""

    many: Table | None = None
    one: Table | None = None
    fk: ForeignKey | None = None
    # one-word names of columns of the other tables: with more tables in play, such a word is
    # that column, never part of a name here (`price` of products is not `unit_price`)
    shadowed: frozenset[str] = frozenset()

    @property
    def condition(self) -> str:
        assert self.many is not None and self.one is not None and self.fk is not None
        return " AND ".join(f"{self.many.name}.{a} = {self.one.name}.{b}"
                            for a, b in zip(self.fk.columns, self.fk.ref_columns))


def _members(table: Table) -> tuple[Table, ...]:
    """The catalogue tables behind `table`: itself, or the two tables of a join."""
    if isinstance(table, _JoinView):
        assert table.many is not None and table.one is not None
        return table.many, table.one
    return (table,)


def _origin(table: Table, column: Column) -> tuple[str, str]:
    """(table, column) as stored, for the probe: a join's column lives in one of its tables."""
    if isinstance(column, _JoinColumn):
        return column.table, column.source
    return table.name, column.name


def _in_view(table: Table, member: Table, column: Column | None) -> Column | None:
    """`column` of `member` as `table` (a join, or that very table) calls it; None if left out."""
    if column is None or not isinstance(table, _JoinView):
        return column
    return next((c for c in table.columns if isinstance(c, _JoinColumn)
                 and c.table == member.name and c.source == column.name), None)


def _foreign_key_pairs(catalog: Catalog) -> dict[frozenset[str], list[tuple[Table, Table, ForeignKey]]]:
    """Every pair of distinct tables linked by foreign keys → the links as (many, one, fk).
    Keys whose columns the catalogue does not list are skipped; self-references are no pairs."""
    pairs: dict[frozenset[str], list[tuple[Table, Table, ForeignKey]]] = defaultdict(list)
    for many in catalog.tables:
        for fk in dict.fromkeys(many.foreign_keys):
            one = catalog.table(fk.references)
            if one is None or one.name == many.name or not fk.columns or len(fk.columns) != len(fk.ref_columns):
                continue
            if any(many.column(c) is None for c in fk.columns) or any(one.column(c) is None for c in fk.ref_columns):
                continue
            pairs[frozenset({many.name, one.name})].append((many, one, fk))
    return pairs


def _join_view(catalog: Catalog, many: Table, one: Table, fk: ForeignKey) -> _JoinView | None:
    """The view of `many` joined to `one` along `fk`; None if its column names cannot be made unique."""
    keys = {c.lower() for c in fk.ref_columns}
    parts = [(many, many.columns), (one, tuple(c for c in one.columns if c.name.lower() not in keys))]
    clashes = Counter(c.name.lower() for _, columns in parts for c in columns)
    columns = tuple(
        _JoinColumn(c.name if clashes[c.name.lower()] == 1 else f"{t.name}_{c.name}", c.type, c.comment,
                    c.primary_key, c.samples, table=t.name, source=c.name)
        for t, cols in parts for c in cols)
    if len({c.name.lower() for c in columns}) != len(columns):
        return None
    shadowed = frozenset(stems[0] for t in catalog.tables if t.name not in (many.name, one.name)
                         for c in t.columns for stems in [_name_stems(c.name)] if len(stems) == 1)
    return _JoinView(f"{many.name} joined with {one.name}", columns, many=many, one=one, fk=fk, shadowed=shadowed)


def _join_candidates(tokens: list[_Token], catalog: Catalog, question: str,
                     pairs: dict[frozenset[str], list[tuple[Table, Table, ForeignKey]]]) -> list[frozenset[str]]:
    """The linked pairs the question may be about: every table it names is in the pair, and a
    member it does not name explains one of its words — except beside the only named table, where
    the word may be a value only the probe finds (`orders from Nora Ito`). Three named tables
    are refused: the offline planner joins two."""
    named = set(_named_tables(tokens, catalog))
    if len(named) > 2:
        raise _refuse(f"The question names {len(named)} tables ({', '.join(sorted(named))}); the offline planner "
                      "joins at most two, linked by one foreign key.")
    coverage = _coverage(tokens, catalog, question)
    out = []
    for pair in pairs:
        if not named <= pair:
            continue
        if len(named) == 1 or all(name in named or name in coverage for name in pair):
            out.append(pair)
    return sorted(out, key=sorted)


# ---------------------------------------------------------------------------------------------
# Stage 5: keywords, top-N, numbers, and the words left over

def _link_top(links: _Links) -> list[_Span]:
    """`top 5`, `first 10`, `3 highest`, `bottom 3`: a limit with a direction."""
    tokens = links.tokens
    spans = []
    for i in range(len(tokens) - 1):
        a, b = tokens[i], tokens[i + 1]
        if not links.free(i, i + 2):
            continue
        if a.text in _TOP_WORDS and _is_count(b):
            spans.append(links.claim(_Span("top", i, i + 2, (int(b.number), _TOP_WORDS[a.text], a.text))))
        elif b.text in _TOP_WORDS and b.text != "first" and _is_count(a):
            spans.append(links.claim(_Span("top", i, i + 2, (int(a.number), _TOP_WORDS[b.text], b.text))))
    return spans


def _is_count(token: _Token) -> bool:
    return token.number is not None and token.number.is_integer() and token.number > 0


def _link_keywords(links: _Links) -> list[_Span]:
    tokens = links.tokens
    phrases = sorted(_KEYWORDS, key=len, reverse=True)
    spans = []
    i = 0
    while i < len(tokens):
        for phrase in phrases:
            n = len(phrase)
            if links.free(i, i + n) and tuple(t.text for t in tokens[i:i + n]) == phrase:
                kind, arg = _KEYWORDS[phrase]
                spans.append(links.claim(_Span(kind, i, i + n, arg)))
                i += n - 1
                break
        i += 1
    return spans


def _link_rest(links: _Links, table: Table, catalog: Catalog) -> None:
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
            links.claim(_Span("number", i, i + 1, token.number))
        elif token.text in _CONJUNCTIONS:
            links.claim(_Span("conj", i, i + 1))
        elif token.stem in _ROW_NOUNS:
            links.claim(_Span("rows", i, i + 1))
        elif token.text == "what" and nxt in ("column", "table"):
            links.claim(_Span("which", i, i + 1))
    for i, token in enumerate(tokens):
        if links.owner[i] is not None or token.is_stop:
            continue
        if token.text in _UNSUPPORTED:
            raise _refuse(f"The offline planner does not handle '{token.text}' (comparisons, time buckets, "
                          "medians and the like need a model).")
        owner = _foreign_owner(links, i, foreign)
        if owner is not None:
            raise _refuse(f"'{token.text}' is not in {table.name} (the table {owner} has it); the offline "
                          "planner answers questions about one table, or two linked by one foreign key.")
        if links.kind_at(i - 1) in ("table", "column", "value", "rows") \
                and (token.text != token.stem or token.stem in _GENERIC_NOUNS):
            continue  # a plural head noun after a mention: "la riots victims", "rainy days" (not "… Rd")
        if _is_counted_noun(links, i) and any(c.is_text for c in table.columns):
            continue  # (rows of a table without any text column are periods, not things: crimea's months)
        if _is_apposition(links, i) or _names_next_value(links, i):
            continue
        if i in links.singular_values:
            column, value = links.singular_values[i]
            raise _refuse(f"'{token.text}' may mean the value {value!r} of {column} or just the rows; "
                          f"name the column and the value (`{column} {value}`).")
        sharing = [c.name for c in table.columns if token.stem in _name_stems(c.name)]
        if sharing:
            raise _refuse(f"'{token.text}' could mean several columns ({', '.join(sharing)}).")
        raise _refuse(f"The offline planner does not understand '{token.text}' in this question.")
    for span in links.spans():
        if span.kind == "ambiguous":
            raise _refuse(f"'{span.text}' could mean several columns ({', '.join(span.arg)}).")
        if span.kind == "unsupported":
            raise _refuse(f"The offline planner does not handle '{span.text}' (comparisons need a model).")


@dataclass(frozen=True)
class _Foreign:
    """Words of the other tables, each with a table it belongs to: names and column names (as
    stems: head words, or whole names) and sample values (as written)."""

    names: dict[str, str]
    values: dict[str, str]


def _foreign_words(catalog: Catalog, table: Table) -> _Foreign:
    members = _members(table)
    own_names = set()
    for member in members:
        own_names |= {" ".join(_name_stems(member.name))} | set(_name_stems(member.name))
    for column in table.columns:
        own_names.add(" ".join(_name_stems(column.name)))
        own_names.update(_name_stems(column.name))
    own_values = {_normalised(v) for c in table.columns for v in c.samples if isinstance(v, str)}
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    for other in catalog.tables:
        if any(other.name == member.name for member in members):
            continue
        words = {" ".join(_name_stems(other.name))} | set(_name_stems(other.name))
        for column in other.columns:
            stems = _name_stems(column.name)
            words.add(" ".join(stems))
            words.update(_head_words(stems))
            for value in column.samples:
                if isinstance(value, str) and _normalised(value) not in own_values:
                    values.setdefault(_normalised(value), other.name)
        for word in words - own_names:
            if word and word not in _STOPWORDS and word not in _KEYWORD_WORDS:
                names.setdefault(word, other.name)
    return _Foreign(names, values)


def _foreign_owner(links: _Links, i: int, foreign: _Foreign) -> str | None:
    """The other table a free word at `i` (alone, or starting a phrase) belongs to, if any."""
    if links.tokens[i].stem in _GENERIC_NOUNS:
        return None
    for n in (3, 2, 1):
        if links.free(i, i + n):
            phrase = links.tokens[i:i + n]
            stems, text = " ".join(t.stem for t in phrase), " ".join(t.text for t in phrase)
            variants = _variants(phrase[0]) if n == 1 else []
            if stems in foreign.names:
                return foreign.names[stems]
            for form in [text, *variants]:
                if form in foreign.values:
                    return foreign.values[form]
    return None


def _is_counted_noun(links: _Links, i: int) -> bool:
    """`how many victims`, `the most deaths`: a plural noun right after a count names the rows
    counted. A time unit (`how many days`) counts rows only where rows are picked by a value or
    split by a group; alone it may mean distinct dates, so it is refused."""
    token = links.tokens[i]
    before = links.owner[i - 1] if i > 0 else None
    if before is None or token.text == token.stem or i in links.singular_values:
        return False  # "how many homicides": a filter on type = 'Homicide', or all rows? refuse
    if not (before.kind == "count" or (before.kind == "agg" and before.text in _COUNT_SUPERLATIVES)):
        return False
    if token.stem in _TIME_UNITS:
        return any(span.kind in ("value", "group") for span in links.spans())
    return True


def _names_next_value(links: _Links, i: int) -> bool:
    """`gram positive`: a word of a column's name right before one of its values."""
    value = links.owner[i + 1] if i + 1 < len(links.tokens) else None
    return value is not None and value.kind == "value" and links.tokens[i].stem in _name_stems(value.arg[0].name)


def _is_apposition(links: _Links, i: int) -> bool:
    """`Alaska state AK`: a word naming the value that follows as `<column> <value>`."""
    column = links.owner[i + 1] if i + 1 < len(links.tokens) else None
    if column is None or column.kind != "column":
        return False
    value = links.owner[column.end] if column.end < len(links.tokens) else None
    return value is not None and value.kind == "value" and value.arg[0] is column.arg


# ---------------------------------------------------------------------------------------------
# Stage 6: interpret the mentions as a query

@dataclass(frozen=True)
class _Measure:
    func: str                 # count, avg, sum, max, min
    column: Column | None     # None: COUNT(*)
    distinct: bool = False

    @property
    def alias(self) -> str:
        if self.column is None:
            return "count"
        return f"{'count_distinct' if self.distinct else self.func}_{self.column.name}"


@dataclass
class _Query:
    table: Table
    filters: dict[str, tuple[Column, list[Any]]] = field(default_factory=dict)
    groups: list[Column] = field(default_factory=list)
    measures: list[_Measure] = field(default_factory=list)
    distinct: list[Column] = field(default_factory=list)
    projections: list[Column] = field(default_factory=list)
    row_level: bool = False          # rows of the table, not aggregates (top 5 cars by weight)
    which_rows: bool = False         # "which cars …": row-level only if a superlative follows
    which_column: bool = False       # "which cities …": ranked groups, or a plain list of values
    order_key: Column | None = None  # row-level sort column
    order_by_measure: bool = False
    top_entity: _Span | None = None
    top_direction: str | None = None
    superlative: str | None = None
    limit: int | None = None
    plain_first: bool = False        # "first 5 rows": a LIMIT without a sort
    counted: list[_Span | None] = field(default_factory=list)  # the noun each COUNT(*) counts, if named

    def add_measure(self, measure: _Measure) -> None:
        if measure not in self.measures:
            self.measures.append(measure)

    def count_rows(self, noun: _Span | None) -> None:
        """COUNT(*), remembering what the question counts: one table's rows are its rows, but in a
        join only the `many` side's are (see `_check_join`)."""
        self.add_measure(_Measure("count", None))
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

    def __init__(self, spans: list[_Span], table: Table, tokens: list[_Token]):
        self.s = [s for s in spans if s.kind not in ("ambiguous",)]
        self.q = _Query(table)
        self._implicit_which(tokens)

    def _implicit_which(self, tokens: list[_Token]) -> None:
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
            self.s.insert(first, _Span("which", self.s[first].start, self.s[first].start, text="which"))

    def at(self, i: int) -> _Span | None:
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
            return _in_view(self.q.table, span.arg, _namesake_column(span.arg))
        return span.arg if span.kind == "column" else None

    def read(self) -> _Query:
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
                raise _refuse("The question asks for two different limits.")
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
                raise _refuse("The offline planner could not tell what 'which' asks about.")
        elif span.kind == "common":
            column = self.free_column(self.next_index(i, ("table",)))
            if column is None:
                raise _refuse("The offline planner could not tell what 'most common' is about.")
            self.s[self.next_index(i, ("table",))].used = True
            span.used = True
            if column not in q.groups:
                if q.groups:
                    raise _refuse("The question groups by two different columns.")
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
            raise _refuse(f"The offline planner could not find a column to group by after '{span.text}'{words}.")
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
            alone = nxt is None and span.text in _COUNT_SUPERLATIVES  # "which race has the most (victims)"
            if len(funcs) == 1 and span.arg in ("max", "min") and (counted or alone):
                q.count_rows(nxt if counted else None)  # "which state has the most airports"
                q.superlative = _DIRECTION[span.arg]
                q.order_by_measure = True
                return
            raise _refuse(f"The offline planner could not find the column for '{span.text}'.")
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
                q.add_measure(_Measure(_measure_func(f.arg, measured), measured))
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
                raise _refuse(f"'{before.text} {span.text}' is ambiguous: the rows or the distinct values?")
            return  # "cylinder count" names the column Cylinders
        nxt = self.at(i + 1)
        counted = self.free_column(i + 2)
        if nxt is not None and nxt.kind == "distinct" and counted is not None:
            nxt.used = self.s[i + 2].used = True
            self.q.add_measure(_Measure("count", counted, distinct=True))
            return
        column = self.free_column(i + 1) if nxt is not None and nxt.kind == "column" else None
        noun = self.at(i + 2)
        counted = self.at(self.next_index(i, ("value",)))  # "how many shipped orders": orders
        counted = counted if counted is not None and counted.kind in ("table", "rows") else None
        if column is not None and noun is not None and noun.kind in ("rows", "table") and noun.start == nxt.end:
            if not set(_name_stems(column.name)) <= set(_name_stems(self.q.table.name)):
                raise _refuse(f"The offline planner does not know how '{nxt.text}' qualifies '{noun.text}'.")
            nxt.used = True  # "how many weather records": the column's word is the table's too
            column, counted = None, noun
        if column is not None and not self._followed_by_own_value(i + 1):
            if not column.is_text:
                raise _refuse(f"'{nxt.text}' after '{span.text}' is ambiguous: count the rows or the distinct values?")
            nxt.used = True
            self.q.add_measure(_Measure("count", column, distinct=True))  # "how many origins"
            return
        self.q.count_rows(counted)

    def distincts(self, i: int) -> None:
        span = self.s[i]
        if span.kind != "distinct":
            return
        j = i + 1
        column = self.free_column(j)
        if column is None:
            raise _refuse(f"The offline planner could not find the column for '{span.text}'.")
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
                    raise _refuse(f"The offline planner does not know how '{before.text}' and '{span.text}' go "
                                  "together (list several columns with 'and').")
                self.q.projections.append(span.arg)
                continue
            if span.kind == "number":
                raise _refuse(f"The offline planner does not know what {span.text} refers to.")
            raise _refuse(f"The offline planner could not use '{span.text}' in this question.")


_FLAG_PREFIXES = frozenset({"is", "has", "have", "was", "can", "does"})
_TRUE_TEXTS = {frozenset({"y", "n"}): "y", frozenset({"yes", "no"}): "yes", frozenset({"t", "f"}): "t",
               frozenset({"true", "false"}): "true", frozenset({"1", "0"}): "1"}


def _flag_value(column: Column) -> Any:
    """The stored value meaning "yes" in a flag column (`is_open`, a BOOLEAN `active`, a Y/N or
    '1'/'0' text column), so that saying the flag's word (`open businesses`) filters on it; None for
    other columns."""
    if "BOOL" in column.type.upper():
        return True
    stems = _name_stems(column.name)
    if column.is_numeric and "INT" in column.type.upper() and len(stems) > 1 and stems[0] in _FLAG_PREFIXES:
        return 1
    if column.is_text and column.samples and len(column.samples) == 2:
        truth = _TRUE_TEXTS.get(frozenset(str(v).lower() for v in column.samples))
        return next((v for v in column.samples if str(v).lower() == truth), None) if truth else None
    return None


def _measure_func(word: str, column: Column) -> str:
    if word in ("latest", "earliest"):
        if not column.is_temporal:
            raise _refuse(f"'{word}' applies to dates, and {column.name} is not one.")
        return "max" if word == "latest" else "min"
    if word in ("avg", "sum") and not column.is_numeric:
        raise _refuse(f"{column.name} is not numeric, so its {_AGG_WORDS[word]} is undefined.")
    if word in ("max", "min") and not (column.is_numeric or column.is_temporal):
        raise _refuse(f"The {_AGG_WORDS[word]} of the text column {column.name} is rarely what is meant.")
    return word


def _as_literal_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _settle_shape(q: _Query, has_list_verb: bool) -> None:
    """Settle the readings that depend on the whole question (`which airports …` without a
    superlative is a listing) and refuse combinations the builder would have to guess at."""
    if q.measures:
        if q.row_level:
            raise _refuse("The question mixes listing rows with aggregates.")
        if q.projections or q.distinct:
            names = ", ".join(c.name for c in q.projections + q.distinct)
            raise _refuse(f"The offline planner could not tell how {names} fits with the aggregate.")
        measured = {m.column.name for m in q.measures if m.column is not None}
        if any(g.name in measured for g in q.groups):
            raise _refuse("The question groups by the column it aggregates.")
        if q.order_by_measure:
            if not q.groups or q.limit is None:
                raise _refuse("The offline planner could not tell which groups to rank.")
            if (q.superlative or q.top_direction) is None:
                raise _refuse("The offline planner could not tell whether to rank from the highest or lowest.")
        return
    if q.which_rows and q.order_key is None:
        q.row_level, q.which_rows, q.limit = False, False, None  # "which airports are in Houston": a listing
    if q.which_column and q.superlative is None and len(q.groups) == 1:
        q.distinct, q.groups = q.groups, []  # "which cities are in AK": the distinct values
        q.limit, q.order_by_measure = None, False
    if q.row_level:
        if q.groups or q.distinct:
            raise _refuse("The question mixes listing rows with grouping.")
        if q.order_key is None and not q.plain_first:
            raise _refuse("The offline planner could not tell which column ranks the rows.")
        if q.order_key is not None and (q.superlative or q.top_direction) is None:
            raise _refuse("The offline planner could not tell whether to rank from the highest or lowest.")
        return
    if q.groups or q.limit is not None or q.order_by_measure:
        raise _refuse("The offline planner found a grouping or ranking but nothing to compute.")
    if q.distinct:
        if q.projections:
            raise _refuse("The offline planner could not tell how the columns fit together.")
        return
    if not (q.filters or has_list_verb):
        raise _refuse("The offline planner could not find what to compute.")


def _check_join(q: _Query, view: _JoinView) -> None:
    """Refuse the readings a join would silently change. A joined row is a `many` row carrying
    its `one` row, so: COUNT(*) must count `many`, named as such (`how many orders`), never
    `one` (`how many customers …` would count each customer once per order: COUNT(DISTINCT) is
    left to a model) nor an unnamed noun; SUM and AVG may only read `many` columns (a `one`
    column would be weighed by its number of `many` rows), while MIN, MAX and COUNT(DISTINCT)
    are unaffected; rows are not listed (a `one` row would repeat), only aggregates and distinct
    values; and both tables must be used, else the join only drops unmatched rows."""
    assert view.many is not None and view.one is not None
    many, one = view.many.name, view.one.name
    if q.row_level or not (q.measures or q.distinct or _lists_categories(q)):
        raise _refuse(f"Listing rows of {many} joined with {one} would repeat a row of {one} once per row of "
                      f"{many}; across a join the offline planner only aggregates or lists distinct values.")
    for noun in q.counted:
        if noun is not None and noun.kind == "table" and noun.arg.name == one:
            raise _refuse(f"Counting {one} through {many} would count each of them once per row of {many} "
                          "(COUNT(DISTINCT) is a reading the offline planner leaves to a model).")
        if noun is None or noun.kind != "table" or noun.arg.name != many:
            what = f"'{noun.text}'" if noun is not None else "the rows"
            raise _refuse(f"The offline planner could not tell whether {what} means {many} or {one}; "
                          f"ask 'how many {many} …'.")
    for m in q.measures:
        if m.func in ("sum", "avg") and isinstance(m.column, _JoinColumn) and m.column.table == one:
            raise _refuse(f"{_FUNC_WORDS[m.func].capitalize()} of {m.column.name} across the join would weigh each "
                          f"row of {one} by its number of rows in {many}; the offline planner will not guess.")
    columns = q.groups + q.distinct + q.projections + [c for c, _ in q.filters.values()]
    columns += [m.column for m in q.measures if m.column is not None]
    used = {c.table for c in columns if isinstance(c, _JoinColumn)} | ({many} if q.counted else set())
    if used != {many, one}:
        raise _refuse(f"The question does not use both {many} and {one}, so joining them would only drop "
                      f"the unmatched rows.")


# ---------------------------------------------------------------------------------------------
# Stage 7: SQL

_AGG_BUILDERS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "avg": lambda e: exp.Avg(this=e), "sum": lambda e: exp.Sum(this=e),
    "max": lambda e: exp.Max(this=e), "min": lambda e: exp.Min(this=e),
}
_FUNC_WORDS = {"avg": "the average", "sum": "the total", "max": "the maximum", "min": "the minimum"}


def _col(column: Column) -> exp.Column:
    if isinstance(column, _JoinColumn):
        return exp.column(column.source, table=column.table, quoted=True)  # "customers"."country"
    return exp.column(column.name, quoted=True)


def _join_clause(table: _JoinView) -> exp.Join:
    """JOIN `one` ON the foreign key's columns (the FROM is `many`)."""
    assert table.many is not None and table.one is not None and table.fk is not None
    many, one, fk = table.many, table.one, table.fk
    on = exp.and_(*[exp.column(a, table=many.name, quoted=True).eq(exp.column(b, table=one.name, quoted=True))
                    for a, b in zip(fk.columns, fk.ref_columns)])
    return exp.Join(this=exp.Table(this=exp.to_identifier(one.name, quoted=True)), on=on)


def _measure_sql(m: _Measure) -> exp.Expression:
    if m.func == "count":
        if m.column is None:
            inner: exp.Expression = exp.Count(this=exp.Star())
        else:
            inner = exp.Count(this=exp.Distinct(expressions=[_col(m.column)]))
    else:
        inner = _AGG_BUILDERS[m.func](_col(m.column))
    return exp.alias_(inner, m.alias, quoted=True)


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _where(q: _Query) -> exp.Expression | None:
    conditions = []
    for column, values in q.filters.values():
        literals = [_literal(v) for v in values]
        conditions.append(_col(column).eq(literals[0]) if len(literals) == 1 else _col(column).isin(*literals))
    return exp.and_(*conditions) if conditions else None


def _ordered(e: exp.Expression, desc: bool) -> exp.Ordered:
    return exp.Ordered(this=e, desc=desc, nulls_first=False)


def _build(q: _Query, dialect: str) -> Plan:
    source = exp.Table(this=exp.to_identifier(_members(q.table)[0].name, quoted=True))
    where = _where(q)
    chart: str | None = None
    if q.measures:
        select = exp.select(*[_col(g) for g in q.groups], *[_measure_sql(m) for m in q.measures]).from_(source)
        if q.groups:
            select = select.group_by(*[_col(g) for g in q.groups])
            if q.order_by_measure:
                desc = (q.superlative or q.top_direction) == "desc"
                select = select.order_by(_ordered(exp.column(q.measures[0].alias, quoted=True), desc),
                                         *[_ordered(_col(g), False) for g in q.groups])
                select = select.limit(q.limit)
            else:
                select = select.order_by(*[_ordered(_col(g), False) for g in q.groups])
            chart = None   # the chart chooser decides from the rows (a line per series over time, …)
        else:
            chart = "none"
    elif q.row_level:
        columns = list(dict.fromkeys(q.projections + ([q.order_key] if q.order_key and q.projections else [])))
        select = exp.select(*([_col(c) for c in columns] or [exp.Star()])).from_(source)
        if q.order_key is not None:
            select = select.order_by(_ordered(_col(q.order_key), (q.superlative or q.top_direction) == "desc"))
        select = select.limit(q.limit)
    elif q.distinct or _lists_categories(q):
        columns = q.distinct or q.projections
        select = exp.select(*[_col(c) for c in columns]).distinct().from_(source)
        select = select.order_by(*[_ordered(_col(c), False) for c in columns])
        chart = "none"
    else:
        select = exp.select(*([_col(c) for c in q.projections] or [exp.Star()])).from_(source)
        name = _name_column(q.table)
        if name is not None and name.name in q.filters and q.projections:
            select = select.distinct()  # "area of Lake Michigan": one lake, however many rows it has
    if isinstance(q.table, _JoinView):
        select = select.join(_join_clause(q.table))
    if where is not None:
        select = select.where(where)
    return Plan(select.sql(dialect=dialect), _explain(q), chart)


def _lists_categories(q: _Query) -> bool:
    """`What are the species?`: listing only low-cardinality columns means their distinct values."""
    return bool(q.projections) and not q.filters and all(c.samples for c in q.projections)


def _explain(q: _Query) -> str:
    """One sentence saying what the SQL computes, in the order a reader checks it."""
    table = q.table.name
    if isinstance(q.table, _JoinView):
        table += f" on {q.table.condition}"
    if q.measures:
        parts = []
        for m in q.measures:
            if m.func == "count":
                parts.append("the number of rows" if m.column is None else f"the number of distinct {m.column.name}")
            else:
                parts.append(f"{_FUNC_WORDS[m.func]} of {m.column.name}")
        if len(q.measures) == 1 and q.measures[0].func == "count" and q.measures[0].column is None:
            text = f"Counts the rows of {table}"
        else:
            text = f"Computes {_join(parts)} in {table}"
    elif q.row_level:
        text = f"Lists {_join([c.name for c in q.projections]) or 'the rows'} of {table}"
    elif q.distinct or _lists_categories(q):
        text = f"Lists the distinct values of {_join([c.name for c in q.distinct or q.projections])} in {table}"
    else:
        text = f"Lists {_join([c.name for c in q.projections]) or 'the rows'} of {table}"
    if q.filters:  # every filter, its column as stored (`products.category` in a join), so a wrong one shows
        text += " where " + " and ".join(
            f"{_stored_name(column)} is {' or '.join(_quoted(v) for v in values)}" for column, values in q.filters.values())
    if q.groups:
        text += f" for each {_join([g.name for g in q.groups])}"
        if q.order_by_measure:
            desc = (q.superlative or q.top_direction) == "desc"
            which = "highest" if desc else "lowest"
            text += f", keeping the {'one' if q.limit == 1 else q.limit} with the {which} {q.measures[0].alias}"
    if q.row_level:
        if q.order_key is not None:
            desc = (q.superlative or q.top_direction) == "desc"
            text += f", the {q.limit} with the {'highest' if desc else 'lowest'} {q.order_key.name}"
        else:
            text += f", the first {q.limit}"
    return text + "."


def _stored_name(column: Column) -> str:
    return f"{column.table}.{column.source}" if isinstance(column, _JoinColumn) else column.name


def _join(words: list[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------
# The planner

class OfflinePlanner:
    """Plans questions about one table, or two linked by one foreign key, without a model;
    refuses (AgentFailure) when unsure."""

    model = "querygpt/offline"

    def plan(self, question: str, catalog: Catalog, probe: ValueProbe | None = None) -> Plan:
        tokens = _tokenise(question)
        if not tokens:
            raise _refuse("The question is empty.")
        language = language_of(question)
        if language is not None:
            raise AgentFailure(
                f"The offline planner reads questions in English, and this one looks like {language}.",
                hint=f"Ask in English, or configure a model that reads it: {how('configure_model')}.",
            )
        if not catalog.tables:
            raise SchemaError("The database has no tables to ask about.",
                              hint=f"Check that it is the database holding your data ({how('choose_db')}); "
                                   f"{how('show_tables')} lists what querygpt sees.")
        probe = _RememberingProbe(probe) if probe is not None else None
        try:
            table, mentions = _choose_table(tokens, catalog, question, probe)
            return _plan_on(table, mentions, tokens, question, catalog, probe)
        except AgentFailure as refusal:
            # only a question one table cannot answer is tried on a join: one-table answers stay as they were
            return _plan_join(tokens, question, catalog, probe, refusal)


def _plan_on(table: Table, mentions: list[tuple[int, int]], tokens: list[_Token], question: str,
             catalog: Catalog, probe: ValueProbe | None) -> Plan:
    return _finish(_read(table, mentions, tokens, question, catalog, probe), tokens, catalog)


def _read(table: Table, mentions: list[tuple[int, int]], tokens: list[_Token], question: str,
          catalog: Catalog, probe: ValueProbe | None) -> _Query:
    """Stages 2–6 on one table or one `_JoinView`. In a join, multi-word column names are linked
    before table names (`customer country` is a column, not the table customers and a word)."""
    links = _Links(tokens)
    if isinstance(table, _JoinView):
        _link_columns(links, table, min_words=2)
        named = [(start, end, member) for member in _members(table) for start, end in _table_mentions(tokens, member)]
        for start, end, member in sorted(named, key=lambda m: m[0] - m[1]):  # longest first
            if links.free(start, end):
                links.claim(_Span("table", start, end, member))
    else:
        for start, end in mentions:
            links.claim(_Span("table", start, end, table))
    _link_columns(links, table)
    _link_top(links)
    _link_keywords(links)
    _link_values(links, table, question, probe)
    _link_rest(links, table, catalog)
    query = _Reader(sorted(links.spans(), key=lambda s: s.start), table, tokens).read()
    _settle_shape(query, any(t.text in _LIST_VERBS for t in tokens))
    _check_values_elsewhere(query, catalog, probe)
    _check_counted_rows(query, probe)
    return query


def _check_counted_rows(q: _Query, probe: ValueProbe | None) -> None:
    """`How many rivers`: COUNT(*) counts rivers only if each river has one row. A table without
    a key whose rows repeat a name with the same numbers (one row per state a river crosses, its
    length on each) spreads one thing over several rows: counting rows would be wrong, so the
    planner refuses. Rows that share a name but differ (two cars called `ford pinto`) are counted."""
    if isinstance(q.table, _JoinView) or q.groups or not any(n is not None and n.kind == "table" for n in q.counted):
        return
    name = _name_column(q.table)
    spread = getattr(probe, "spread", None)
    if name is None or spread is None or any(c.primary_key for c in q.table.columns):
        return
    numbers = [c.name for c in q.table.columns if c.is_numeric]
    if spread(q.table.name, name.name, numbers, _where(q)):
        raise _refuse(f"Rows of {q.table.name} repeat a {name.name} with the same values, so one of them may take "
                      f"several rows: count the rows or the distinct {name.name}?")


def _check_values_elsewhere(q: _Query, catalog: Catalog, probe: ValueProbe | None) -> None:
    """A value filtered in one column that is also the name of a row of another table (`Queen`: a
    composer of a track, and an artist) may mean either; it is refused unless the column refers
    to that table (city.state_name holds states: `cities in Texas` is the state Texas)."""
    if isinstance(q.table, _JoinView):
        return
    own = _name_column(q.table)
    others = [(t, n) for t in catalog.tables for n in [_name_column(t)]
              if t.name != q.table.name and n is not None and n.is_text]
    for column, values in q.filters.values():
        texts = [v for v in values if isinstance(v, str)]
        if not texts or column is own or any(_refers_to(q.table, column, t, n) for t, n in others):
            continue  # the row's own name (`capital of Ohio`), or a column saying what it holds
        for other, name in others:
            if _samples_incomplete(name):
                found = probe(other.name, name.name, texts) if probe is not None else []
            else:
                found = [v for v in name.samples if isinstance(v, str) and v.lower() in {t.lower() for t in texts}]
            if found:
                raise _refuse(f"'{found[0]}' is a {column.name} in {q.table.name} and also the {name.name} of a row of "
                              f"{other.name}; the offline planner cannot tell which one the question means.")


def _refers_to(table: Table, column: Column, other: Table, name: Column) -> bool:
    """Whether `column` holds references to rows of `other`: a foreign key, or a name saying so
    (`state_name` → state, `city_name` like the city table's own `city_name`)."""
    if any(fk.references.lower() == other.name.lower() and column.name in fk.columns for fk in table.foreign_keys):
        return True
    stems, owner = _name_stems(column.name), _name_stems(other.name)
    return stems[:len(owner)] == owner or stems == _name_stems(name.name)


def _finish(query: _Query, tokens: list[_Token], catalog: Catalog) -> Plan:
    """Stage 7, and the chart the question asks for."""
    if any(t.text in _SHARE_NOUNS for t in tokens) and (len(query.groups) != 1 or query.filters):
        raise _refuse("The offline planner answers a share only as counts per group of all rows "
                      "('share of cars by origin'); a share of a part needs a model.")
    plan = _build(query, catalog.dialect)
    asked = _asked_chart(tokens)
    return Plan(plan.sql, plan.explanation, asked) if asked and plan.chart_hint != "none" else plan


def _plan_join(tokens: list[_Token], question: str, catalog: Catalog, probe: ValueProbe | None,
               refusal: AgentFailure) -> Plan:
    """The one answer a join along a foreign key gives, or a refusal. Every candidate pair (see
    `_join_candidates`) is read as a `_JoinView`; the question is answered only when exactly one
    pair, linked by exactly one key, reads it safely (`_check_join`). A pair linked by several
    keys that reads it is refused (which key?), and so are answers from two different pairs.
    Without an answer, the refusal that explains best is given: a reading understood but unsafe,
    else the failure of the only candidate, else the one-table refusal."""
    pairs = _foreign_key_pairs(catalog)
    if not pairs:
        raise refusal
    answers: list[Plan] = []
    unsafe: list[tuple[_JoinView, AgentFailure]] = []
    failed: list[tuple[_JoinView, AgentFailure]] = []
    several_keys: list[frozenset[str]] = []
    for pair in _join_candidates(tokens, catalog, question, pairs):
        for many, one, fk in pairs[pair]:
            view = _join_view(catalog, many, one, fk)
            if view is None:
                continue
            try:
                query = _read(view, [], tokens, question, catalog, probe)
            except AgentFailure as failure:
                failed.append((view, failure))
                continue
            if len(pairs[pair]) > 1:
                several_keys.append(pair)
                continue
            try:
                _check_join(query, view)
            except AgentFailure as failure:
                unsafe.append((view, failure))
                continue
            answers.append(_finish(query, tokens, catalog))
    if several_keys:
        a, b = sorted(several_keys[0])
        keys = "; ".join(f"{many.name}.{', '.join(fk.columns)} → {one.name}"
                         for many, one, fk in pairs[several_keys[0]])
        raise _refuse(f"Several foreign keys link {a} and {b} ({keys}); the offline planner cannot tell which "
                      "join the question means.")
    if len({plan.sql for plan in answers}) == 1:
        return answers[0]
    if answers:
        raise _refuse("The question could be answered by joining different pairs of tables; name the tables.")
    for reasons in (unsafe, failed):
        if len(reasons) == 1:
            view, failure = reasons[0]
            raise _refuse(f"The question needs several tables; read as {view.name} on {view.condition}: "
                          f"{failure.message}")
        if reasons:
            break
    raise refusal


def _asked_chart(tokens: list[_Token]) -> str | None:
    """`… as a bar chart`: the kind of chart the question names, if any."""
    if not any(t.text in _CHART_NOUNS for t in tokens):
        return None
    return next((_CHART_WORDS[t.text] for t in tokens if t.text in _CHART_WORDS), None)


class _RememberingProbe:
    """The probe for one question: a column is asked only about candidates it was not asked
    about yet, so choosing the table and reading it do not repeat lookups."""

    def __init__(self, probe: ValueProbe):
        self.probe = probe
        self.asked: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.found: dict[tuple[str, str], list[str]] = defaultdict(list)

    def spread(self, *args: Any) -> bool | None:
        spread = getattr(self.probe, "spread", None)
        return spread(*args) if spread is not None else None

    def __call__(self, table: str, column: str, candidates: list[str]) -> list[str]:
        key = (table, column)
        wanted = {c.lower() for c in candidates}
        new = [c for c in candidates if c.lower() not in self.asked[key]]
        if new:
            self.asked[key] |= {c.lower() for c in new}
            self.found[key] += [v for v in self.probe(table, column, new) if v not in self.found[key]]
        return [v for v in self.found[key] if v.lower() in wanted or _normalised(v) in wanted]


def make_probe(run: Callable[[str], "pd.DataFrame"], dialect: str) -> ValueProbe:
    """A ValueProbe over `run` (executes SQL, returns a DataFrame): one read-only
    `SELECT DISTINCT col FROM t WHERE lower(col) IN (...)` per call. A failing lookup finds nothing
    rather than failing the question: the planner then refuses or answers from the samples."""

    def probe(table: str, column: str, candidates: list[str]) -> list[str]:
        candidates = [c for c in dict.fromkeys(c.lower() for c in candidates) if c]
        if not candidates:
            return []
        col = exp.column(column, quoted=True)
        query = (
            exp.select(col).distinct()
            .from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
            .where(exp.func("lower", col.copy()).isin(*[exp.Literal.string(c) for c in candidates]))
            .limit(50)
        )
        try:
            frame = run(query.sql(dialect=dialect))
        except QueryGPTError:
            return []
        return [v for v in frame.iloc[:, 0].tolist() if isinstance(v, str)]

    def spread(table: str, name: str, numbers: list[str], where: exp.Expression | None) -> bool | None:
        """Whether the rows picked by `where` repeat a `name` while each name has one set of
        `numbers` (one thing over several rows). Two counting queries; None if they fail."""
        source = exp.Table(this=exp.to_identifier(table, quoted=True))
        counts = exp.select(exp.Count(this=exp.Star()),
                            exp.Count(this=exp.Distinct(expressions=[exp.column(name, quoted=True)]))).from_(source)
        kinds = exp.select(*[exp.column(c, quoted=True) for c in [name, *numbers]]).distinct().from_(source.copy())
        if where is not None:
            counts, kinds = counts.where(where.copy()), kinds.where(where.copy())
        kinds = exp.select(exp.Count(this=exp.Star())).from_(kinds.subquery("kinds"))
        try:
            rows, names = run(counts.sql(dialect=dialect)).iloc[0].tolist()
            distinct = run(kinds.sql(dialect=dialect)).iloc[0, 0]
        except QueryGPTError:
            return None
        return bool(rows > names and distinct == names)

    probe.spread = spread  # type: ignore[attr-defined]
    return probe


def explained_words(question: str, catalog: Catalog) -> frozenset[str]:
    """The question's content words (lower case) this catalogue accounts for: as the planner links
    them (table names, columns, sample values), plus any word of a table's or column's name
    (`body mass` of body_mass_g). Cheap (no queries): it tells which of several connections a
    question is about (connections/choose.py)."""
    tokens = _tokenise(question)
    covered: set[int] = set()
    for evidence in _coverage(tokens, catalog, question).values():
        covered |= evidence.covered
    name_words = set()
    for table in catalog.tables:
        for start, end in _table_mentions(tokens, table):
            covered.update(range(start, end))
        name_words.update(_name_stems(table.name))
        for column in table.columns:
            name_words.update(_name_stems(column.name))
    covered.update(i for i, t in enumerate(tokens) if t.stem in name_words)
    return frozenset(tokens[i].text for i in covered
                     if tokens[i].text not in _FUNCTION_WORDS and tokens[i].text not in _KEYWORD_WORDS
                     and tokens[i].number is None and len(tokens[i].text) > 1)
