"""Which chart suits a query result, and the reduced frame that is actually drawn.

Pure logic over pandas (imported lazily): no Altair here, so the agent can decide on a chart — or on
none — cheaply. `choose_chart` looks at column *roles* (time, category, measure) and at a few words
of the question; `prepare_data` aggregates, keeps the top N, or samples so Vega-Lite never receives
more than `max_rows` rows. `choose_chart` runs the same reduction to write `ChartChoice.note`, so the
note always describes the frame `prepare_data` returns — pass both the same `max_rows`/`top_n`.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import numbers
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

MARKS = ("line", "bar", "arc", "point")
TOP_N = 20            # most bars (categories) in a bar chart
MAX_ARC_SLICES = 12   # more slices than this and a pie is unreadable: draw bars instead
MAX_SERIES = 10       # most colours (lines or stacked groups) in one chart
MAX_DENSE_KEY = 50    # an integer column with at most this many distinct values can be an axis

# Hint words, from a model ("bar") or a follow-up ("as a line chart"). Checked in this order.
_HINT_WORDS = (
    ("none", ("none", "no chart", "nochart", "table", "no plot")),
    ("arc", ("pie", "arc", "donut", "doughnut")),
    ("point", ("scatter", "scatterplot", "point", "points", "dot", "dots", "bubble")),
    ("line", ("line", "lines", "trend", "area", "timeseries", "time series")),
    ("bar", ("bar", "bars", "column", "columns", "histogram")),
)
# In a question only explicit chart words count ("product line" is not a line chart).
_QUESTION_HINTS = (
    ("arc", re.compile(r"\b(pie|donut|doughnut)\b")),
    ("point", re.compile(r"\bscatter(\s*plot)?s?\b")),
    ("line", re.compile(r"\bline\s+(chart|graph|plot)s?\b")),
    ("bar", re.compile(r"\b(bar\s+(chart|graph|plot)s?|histograms?)\b")),
)
_SHARE_WORDS = re.compile(r"\b(share|shares|percent|percentage|percentages|proportion|proportions|"
                          r"breakdown|composition|fraction|pie|donut)\b|%")
_RELATION_WORDS = re.compile(r"\b(vs\.?|versus|against|correlat\w*|relationship|relation|scatter\w*)\b")
# A ranked list ("top 5 cars by horsepower", "the 3 lowest …"): sorted bars per label.
_RANK_WORDS = re.compile(r"\b(top|bottom|highest|lowest|largest|smallest|biggest|greatest|most|least|fewest|"
                         r"best|worst|cheapest|priciest)\b")
_MEAN_NAMES = re.compile(r"(^|_|\b)(avg|average|mean)(_|\b|$)", re.I)
# Name-like columns label a ranked row ("Name", "title", "product_name", "city").
_LABEL_WORDS = {"name", "title", "label", "model", "product", "city", "country", "state", "company", "player",
                "team", "artist", "album", "track", "song", "movie", "film", "book", "customer", "employee"}
_SUM_WORDS = re.compile(r"\b(total|totals|sum|sums|overall|how many|number of|count|counts)\b")
_SUM_NAMES = re.compile(r"(^|_|\b)(count|cnt|total|sum|num|n|qty|quantity|amount)(_|\b|$)", re.I)
# Numeric columns named like these hold a point in time (year 1970, month 1..12), not a measure.
_NUMERIC_TIME_WORDS = {"year", "yr", "month", "week", "day", "dow", "doy", "quarter", "hour", "minute", "decade"}
_TIME_WORDS = _NUMERIC_TIME_WORDS | {"date", "time", "timestamp", "datetime", "dt", "ts", "period", "ym", "yearmonth"}
# Unnamed string columns count as dates only in ISO form with at least a month ("2020-01").
_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?$")


@dataclass(frozen=True)
class ChartChoice:
    """What to draw. Field names are column names of the result.

    For ``mark="arc"`` (a pie) ``x`` is None, ``color`` holds the category and ``y`` the value
    (the slice angle, "theta"). For bars ``x`` is the category axis even when the chart is drawn
    horizontally. ``aggregate`` ("mean" | "sum") is set when rows repeat a key and
    ``prepare_data`` combines them.
    """

    mark: str                 # "line" | "bar" | "arc" | "point"
    x: str | None
    y: str | None
    color: str | None = None
    x_type: str = "nominal"   # quantitative | temporal | nominal | ordinal
    y_type: str = "quantitative"
    sort: str | None = None   # "-y": bars sorted by the measure, largest first; "y": smallest first
    title: str = ""
    note: str | None = None   # said with the chart: why not the kind asked for; how the drawn data was reduced
    aggregate: str | None = None
    ranked: bool = False      # one bar per row of a ranked list: repeated labels are told apart, not summed

    def __post_init__(self) -> None:
        if self.mark not in MARKS:
            raise ValueError(f"unknown chart mark {self.mark!r}; expected one of {', '.join(MARKS)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ChartChoice":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def normalize_hint(hint: str | None) -> str | None:
    """'as a line chart' -> 'line', 'pie' -> 'arc', 'no chart' -> 'none'; unknown words -> None."""
    if not hint:
        return None
    text = " ".join(re.findall(r"[a-z]+", hint.lower()))
    for mark, words in _HINT_WORDS:
        if any(re.search(rf"\b{word}\b", text) for word in words):
            return mark
    return None


def choose_chart(question: str, df: "pd.DataFrame", hint: str | None = None, max_rows: int = 5000,
                 top_n: int = TOP_N, sql: str | None = None, dialect: str | None = None) -> ChartChoice | None:
    """The chart that suits `df` as an answer to `question`, or None when a chart would not help
    (a single value or row, no numeric column, or ``hint="none"``). See `decide_chart`."""
    return decide_chart(question, df, hint, max_rows, top_n, sql, dialect)[0]


def decide_chart(question: str, df: "pd.DataFrame", hint: str | None = None, max_rows: int = 5000,
                 top_n: int = TOP_N, sql: str | None = None,
                 dialect: str | None = None) -> tuple[ChartChoice | None, str | None]:
    """(the chart, or None; a sentence for the answer when a chart the question asked for could
    not be drawn as asked). `hint` — or chart words in the question ("as a pie") — picks the
    shape when the data allows it. `sql`, when given, limits the measure to what the question
    names or the SQL selects by name: columns that only came with `SELECT *` are not drawn
    unless the question names them."""
    question = (question or "").lower()
    asked = normalize_hint(hint)
    if asked is None or asked == "none":   # the question's own words outrank "no chart" from a planner
        asked = _hint_from_question(question) or asked
    if df is None or len(df) < 2 or len(df.columns) == 0 or asked == "none":
        few = df is not None and len(df) == 1 and asked not in (None, "none")
        return None, (f"Not {_KIND_NAMES[asked]}: the answer is a single row; no chart." if few else None)
    df = _normalized(df)
    roles = _Roles.of(df, question)
    roles = _only_wanted_measures(roles, df, question, sql, dialect)
    if not roles.measures:
        return None, (f"Not {_KIND_NAMES[asked]}: the result has no column of numbers the question asks about; "
                      "no chart." if asked else None)
    choice, why_not = (_shape_for_hint(asked, roles, df, question, top_n) if asked else (None, None))
    if choice is None:
        choice = _shape_for_data(roles, df, question)
        if asked and why_not is None:
            why_not = f"the result has no {'time or category' if asked in ('line', 'bar') else 'category'} column for one"
    note = None
    if asked and why_not:
        drawn = f"drew {_KIND_NAMES[choice.mark]} instead" if choice is not None else "no chart"
        note = f"Not {_KIND_NAMES[asked]}: {why_not}; {drawn}."
    if choice is None:
        return None, note
    _, reduced = _reduce(choice, df, max_rows, top_n)
    notes = " ".join(n for n in (note, reduced) if n) or None
    return dataclasses.replace(choice, note=notes), None


_KIND_NAMES = {"line": "a line chart", "bar": "a bar chart", "arc": "a pie chart", "point": "a scatter plot"}


def prepare_data(choice: ChartChoice, df: "pd.DataFrame", max_rows: int = 5000, top_n: int = TOP_N) -> "pd.DataFrame":
    """The frame to chart: only the chosen columns, repeated keys aggregated, the top `top_n`
    categories, lines and scatters sampled deterministically. Never more than `max_rows` rows."""
    data, _ = _reduce(choice, _normalized(df), max_rows, top_n)
    return data


def describe_chart(choice: ChartChoice, n_rows: int) -> str:
    """One line for text/plain, e.g. 'Bar chart of AVG(Horsepower) by Origin (3 bars)'."""
    if choice.mark == "arc":
        return f"Pie chart of {choice.y} by {choice.color} ({_plural(n_rows, 'slice')})"
    kind = {"line": "Line chart", "bar": "Bar chart", "point": "Scatter plot"}.get(choice.mark, "Chart")
    what = f"{choice.y} vs {choice.x}" if choice.mark == "point" else f"{choice.y} by {choice.x}"
    if choice.color:
        what += f" and {choice.color}"
    unit = {"bar": "bar", "line": "point", "point": "point"}.get(choice.mark, "row")
    return f"{kind} of {what} ({_plural(n_rows, unit)})"


# --- column roles ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Column:
    name: str
    kind: str          # "time" | "category" | "measure"
    vl_type: str       # the Vega-Lite type it gets on an axis
    nunique: int


@dataclass(frozen=True)
class _Roles:
    times: tuple[_Column, ...]
    categories: tuple[_Column, ...]
    measures: tuple[_Column, ...]
    relation: bool      # the question asks how two measures relate ("vs", "correlation")

    @classmethod
    def of(cls, df: "pd.DataFrame", question: str) -> "_Roles":
        columns = [c for c in (_profile(df[name]) for name in df.columns) if c is not None]
        relation = bool(_RELATION_WORDS.search(question))
        columns = _promote_integer_key(columns, df, question, relation)
        informative = [c for c in columns if c.kind == "measure" or c.nunique > 1]
        return cls(
            times=tuple(c for c in informative if c.kind == "time"),
            categories=tuple(c for c in informative if c.kind == "category"),
            measures=tuple(c for c in informative if c.kind == "measure"),
            relation=relation,
        )


def _profile(series: "pd.Series") -> _Column | None:
    """The role of one column from its dtype, its values and its name; None if it cannot be charted."""
    import pandas as pd
    from pandas.api import types

    name = str(series.name)
    values = series.dropna()
    if values.empty:
        return None
    nunique = int(values.nunique())
    dtype = series.dtype
    if types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return _Column(name, "category", "nominal", nunique)
    if types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return _Column(name, "time", "temporal", nunique)
    if types.is_timedelta64_dtype(dtype) or types.is_complex_dtype(dtype):
        return None
    if types.is_numeric_dtype(dtype):
        return _numeric_column(name, values, nunique)
    sample = values.head(200).tolist()
    if all(isinstance(v, (datetime.date, pd.Timestamp)) for v in sample):
        return _Column(name, "time", "temporal", nunique)
    if all(isinstance(v, (numbers.Number, decimal.Decimal)) and not isinstance(v, bool) for v in sample):
        return _numeric_column(name, pd.to_numeric(values, errors="coerce").dropna(), nunique)
    if all(isinstance(v, str) for v in sample):
        if (_is_time_named(name) or all(_ISO_DATE.match(v) for v in sample)) and _parses_as_dates(values):
            return _Column(name, "time", "temporal", nunique)
        return _Column(name, "category", "nominal", nunique)
    if all(isinstance(v, (str, numbers.Number, decimal.Decimal, datetime.date)) for v in sample):
        return _Column(name, "category", "nominal", nunique)   # mixed scalars: drawn as text
    return None


def _numeric_column(name: str, values: "pd.Series", nunique: int) -> _Column | None:
    if values.empty:
        return None
    integral = _is_integral(values)
    if integral and _is_time_named(name, numeric=True):
        return _Column(name, "time", "ordinal" if nunique <= 40 else "quantitative", nunique)
    if _is_id_named(name):
        return _Column(name, "category", "nominal", nunique) if integral else None
    return _Column(name, "measure", "quantitative", nunique)


def _promote_integer_key(columns: list[_Column], df: "pd.DataFrame", question: str, relation: bool) -> list[_Column]:
    """An integer column the rows are grouped by (`Cylinders`, `age`) is an axis, not a measure:
    the question says 'by/per <it>', or it is a dense key (distinct per row, few values)."""
    measures = [c for c in columns if c.kind == "measure"]
    if len(measures) < 2 or relation:
        return columns
    for col in measures:
        values = df[col.name].dropna()
        if not _is_integral(values):
            continue
        # "top 5 cars by horsepower": in a ranking, "by" names the measure, not a grouping
        named = _mentioned_after_by(col.name, question) and not _RANK_WORDS.search(question)
        dense = (col.nunique == len(values) and col.nunique <= MAX_DENSE_KEY
                 and float(values.max()) - float(values.min()) + 1 <= 2 * col.nunique)
        if named or (dense and col is measures[0]):
            return [dataclasses.replace(c, kind="category", vl_type="ordinal") if c is col else c for c in columns]
    return columns


def _is_integral(values: "pd.Series") -> bool:
    import pandas as pd
    from pandas.api import types

    if types.is_bool_dtype(values.dtype):
        return False
    if types.is_integer_dtype(values.dtype):
        return True
    numeric = pd.to_numeric(values, errors="coerce").dropna().astype("float64")
    return not numeric.empty and bool(((numeric % 1) == 0).all())


def _name_tokens(name: str) -> list[str]:
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.findall(r"[a-z]+", snake.lower())


def _is_time_named(name: str, numeric: bool = False) -> bool:
    words = _NUMERIC_TIME_WORDS if numeric else _TIME_WORDS
    return any(token in words for token in _name_tokens(name))


def _is_id_named(name: str) -> bool:
    tokens = _name_tokens(name)
    return bool(tokens) and tokens[-1] in {"id", "pk", "key"}


def _parses_as_dates(values: "pd.Series") -> bool:
    import pandas as pd

    parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
    return bool(parsed.notna().all())


def _mentioned_after_by(name: str, question: str) -> bool:
    words = " ".join(_name_tokens(name))
    if not words:
        return False
    pattern = r"\b(by|per|each|across)\s+(\w+\s+){0,3}?" + re.escape(words).replace(r"\ ", r"[\s_]+") + r"s?\b"
    return re.search(pattern, question) is not None


def _mentioned(name: str, question: str) -> int | None:
    """Where the question names a column (its words, any separator), or None."""
    words = _name_tokens(name)
    if sum(map(len, words)) < 3:   # "x", "n": too short to find in prose
        return None
    match = re.search(r"\b" + r"[\s_]*".join(map(re.escape, words)) + r"s?\b", question)
    return match.start() if match else None


def _hint_from_question(question: str) -> str | None:
    for mark, pattern in _QUESTION_HINTS:
        if pattern.search(question):
            return mark
    return None


# --- shapes ------------------------------------------------------------------------------------

def _shape_for_data(roles: _Roles, df: "pd.DataFrame", question: str) -> ChartChoice | None:
    """The rules: a ranked list → sorted bars per label; time → a line (one per series);
    category + measure → bar (or pie for share questions); two measures → scatter; else none."""
    if roles.relation and len(roles.measures) >= 2:
        return _point(roles, df, question)
    y = _pick_measure(roles.measures, question)
    if _RANK_WORDS.search(question):
        ranked = _ranked(roles, df, question, y)
        if ranked is not None or roles.categories:   # ranked rows with no label: no chart
            return ranked
    if roles.times:
        return _line(roles.times[0], y, roles, df, question)
    if roles.categories:
        category = _pick_category(roles.categories, question)
        if _SHARE_WORDS.search(question):
            pie, _ = _arc(category, y, df, question)
            if pie is not None:
                return pie
        return _bar(category, y, roles, df, question)
    if len(roles.measures) >= 2:
        return _point(roles, df, question)
    return None


def _shape_for_hint(hint: str, roles: _Roles, df: "pd.DataFrame", question: str,
                    top_n: int) -> tuple[ChartChoice | None, str | None]:
    """(the hinted shape, None) if the data has what it needs, else (None, why not) and the data
    decides."""
    y = _pick_measure(roles.measures, question)
    others = [m for m in roles.measures if m is not y]
    if hint == "line":
        axes = [*roles.times, *([_pick_category(roles.categories, question)] if roles.categories else []), *others]
        return (_line(axes[0], y, roles, df, question), None) if axes else (None, None)
    if hint == "bar":   # same axis the data would get: time first, then a category
        if roles.times:
            x = roles.times[0]
            if x.nunique > _MAX_TIME_BARS:
                return None, f"{x.nunique:,} {x.name} values are too many bars to read"
            bar = _bar(x, y, roles, df, question)
            if bar.color and not _additive(y.name, bar.aggregate, question):
                return None, (f"bars stacked per {bar.color} would add up its {y.name} values, "
                              "which are not parts of a total")
            return bar, None
        if roles.categories:
            if _RANK_WORDS.search(question) and (ranked := _ranked(roles, df, question, y)) is not None:
                return ranked, None
            return _bar(_pick_category(roles.categories, question), y, roles, df, question), None
        dense = [m for m in others if m.nunique <= top_n]
        if dense:
            return _bar(dataclasses.replace(dense[0], kind="category", vl_type="ordinal"), y, roles, df, question), None
        return None, None
    if hint == "arc":
        first = [_pick_category(roles.categories, question)] if roles.categories else []
        reasons = []
        for c in dict.fromkeys([*first, *roles.categories, *roles.times]):
            pie, why = _arc(c, y, df, question)
            if pie is not None:
                return pie, None
            reasons.append(why)
        return None, (reasons[0] if reasons else None)
    if hint == "point":
        if len(roles.measures) >= 2:
            return _point(roles, df, question), None
        x = roles.times[0] if roles.times else (_pick_category(roles.categories, question) if roles.categories else None)
        return (None, None) if x is None else (ChartChoice("point", x.name, y.name, x_type=x.vl_type, title=f"{y.name} by {x.name}"), None)
    return None, None


_MAX_TIME_BARS = 40   # more dates than this are a line, whatever was asked


def _ranked(roles: _Roles, df: "pd.DataFrame", question: str, y: _Column) -> ChartChoice | None:
    """A ranked list drawn as bars of the ranked measure per label (the name-like column), in the
    order of the ranking; None when no column labels the rows one by one."""
    label = _label_column(roles, df, question)
    if label is None:
        return None
    values = df[y.name].dropna()
    order = "y" if values.is_monotonic_increasing and not values.is_monotonic_decreasing else "-y"
    return ChartChoice("bar", label.name, y.name, x_type="nominal", sort=order, title=f"{y.name} by {label.name}",
                       ranked=True)


def _label_column(roles: _Roles, df: "pd.DataFrame", question: str) -> _Column | None:
    """The text column that labels the rows: one named like a name (repeats are told apart when
    drawn), else one with a distinct value per row — the question's, else the first."""
    text = [c for c in roles.categories if c.vl_type == "nominal" and df[c.name].notna().all()]
    named_like = [c for c in text if any(t in _LABEL_WORDS for t in _name_tokens(c.name)) and c.nunique > len(df) // 2]
    unique = [c for c in text if c.nunique == len(df)]
    mentioned = [c for c in unique if _mentioned(c.name, question) is not None]
    return next(iter(named_like or mentioned or unique), None)


def _additive(y: str, aggregate: str | None, question: str) -> bool:
    """Can values of `y` from different groups be added (counts, totals, generation) — or are they
    averages, prices, rates, temperatures, which a stacked bar would sum into nonsense?"""
    if aggregate == "mean" or _MEAN_NAMES.search(y) or _INTENSIVE_NAMES.search(y):
        return False
    return not (_MEAN_NAMES.search(question) and not _SUM_NAMES.search(y))


_INTENSIVE_NAMES = re.compile(r"(^|_|\b)(price|prices|rate|rates|ratio|pct|percent|percentage|share|temp|"
                              r"temperature|speed|density|score|rating|age)(_|\b|$)", re.I)


def _only_wanted_measures(roles: _Roles, df: "pd.DataFrame", question: str, sql: str | None,
                          dialect: str | None) -> _Roles:
    """Drop measures that only came with `SELECT *` and that the question does not name: a chart of
    them would answer a question nobody asked. SQL run without a question keeps them all."""
    if not sql or not question.strip():
        return roles
    selected = _selected_by_name(sql, dialect)
    if selected is None:   # no star, or SQL we cannot read: every column was chosen
        return roles
    wanted = tuple(m for m in roles.measures if m.name in selected or _mentioned(m.name, question) is not None)
    return dataclasses.replace(roles, measures=wanted)


def _selected_by_name(sql: str, dialect: str | None) -> frozenset[str] | None:
    """Output names the outer SELECT lists besides a `*`, and the columns it is ordered by; None
    when it has no `*` (or is not a plain query)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect or None)
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, exp.Query):
        return None
    projections = tree.selects
    star = any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
               for e in projections)
    if not star:
        return None
    named = {e.alias_or_name for e in projections if not isinstance(e, exp.Star) and e.alias_or_name}
    order = tree.args.get("order")
    ranked_by = {c.name for o in (order.expressions if order else []) for c in o.find_all(exp.Column)}
    return frozenset(named | ranked_by)   # the column a listing is ranked by is chosen too


def _line(x: _Column, y: _Column, roles: _Roles, df: "pd.DataFrame", question: str) -> ChartChoice:
    color = _pick_color(df, x, roles.categories, series=True)
    aggregate = _aggregate_for("line", df, [x.name, color], y.name, question)
    x_type = "quantitative" if x.kind == "measure" else x.vl_type
    return ChartChoice("line", x.name, y.name, color=color, x_type=x_type, aggregate=aggregate,
                       title=_title(y.name, aggregate, x.name, color))


def _bar(x: _Column, y: _Column, roles: _Roles, df: "pd.DataFrame", question: str) -> ChartChoice:
    color = _pick_color(df, x, roles.categories, series=False)
    aggregate = _aggregate_for("bar", df, [x.name, color], y.name, question)
    sort = "-y" if x.vl_type == "nominal" else None   # numbers and dates keep their own order
    return ChartChoice("bar", x.name, y.name, color=color, x_type=x.vl_type, sort=sort, aggregate=aggregate,
                       title=_title(y.name, aggregate, x.name, color))


def _arc(category: _Column, y: _Column, df: "pd.DataFrame", question: str) -> tuple[ChartChoice | None, str | None]:
    """(a pie, None) only for a few categories and values that can be parts of a whole; else
    (None, why not)."""
    import pandas as pd

    values = pd.to_numeric(df[y.name], errors="coerce")
    if category.nunique > MAX_ARC_SLICES:
        return None, f"{category.nunique:,} {category.name} values are too many slices to read"
    if bool((values < 0).any()) or not bool((values > 0).any()):
        return None, f"{y.name} has values below zero, which cannot be slices"
    if _MEAN_NAMES.search(y.name) or (_MEAN_NAMES.search(question) and not _SUM_NAMES.search(y.name)):
        return None, f"{y.name} holds averages, which are not parts of a whole"
    aggregate = "sum" if df[category.name].duplicated().any() else None
    return ChartChoice("arc", None, y.name, color=category.name, x_type="nominal", aggregate=aggregate,
                       sort="-y", title=_title(y.name, aggregate, category.name, None)), None


def _point(roles: _Roles, df: "pd.DataFrame", question: str) -> ChartChoice:
    named = sorted((pos, i) for i, m in enumerate(roles.measures) if (pos := _mentioned(m.name, question)) is not None)
    order = [roles.measures[i] for _, i in named] + [m for m in roles.measures if _mentioned(m.name, question) is None]
    if len(named) >= 2:          # "Y vs X"
        y, x = order[0], order[1]
    elif len(named) == 1:
        y, x = order[0], order[1]
    else:
        x, y = order[0], order[1]
    groups = [c for c in roles.categories if 2 <= c.nunique <= MAX_SERIES]
    color = groups[0].name if groups else None
    return ChartChoice("point", x.name, y.name, color=color, x_type="quantitative", title=f"{y.name} vs {x.name}")


def _pick_measure(measures: tuple[_Column, ...], question: str) -> _Column:
    named = [(pos, m) for m in measures if (pos := _mentioned(m.name, question)) is not None]
    return min(named, key=lambda pair: pair[0])[1] if named else measures[0]


def _pick_category(categories: tuple[_Column, ...], question: str = "") -> _Column:
    """The category the question names ("by product"), else the first one that makes a readable
    axis, else the first one."""
    named = [(pos, c) for c in categories if (pos := _mentioned(c.name, question)) is not None]
    if named:
        return min(named, key=lambda pair: pair[0])[1]
    return next((c for c in categories if c.nunique <= TOP_N), categories[0])


def _pick_color(df: "pd.DataFrame", x: _Column, categories: tuple[_Column, ...], series: bool) -> str | None:
    """A second category that splits the rows sharing an x value (symbol per date, variety per
    site). Few values first; for lines, any column that makes (x, it) a key (capped later)."""
    if not df[x.name].duplicated().any():
        return None
    splitting = [c for c in categories if c.name != x.name
                 and len(df[[x.name, c.name]].drop_duplicates()) > x.nunique]
    few = [c for c in splitting if c.nunique <= MAX_SERIES]
    if few:
        return few[0].name
    if series:
        keys = [c for c in splitting if not df.duplicated([x.name, c.name]).any()]
        return keys[0].name if keys else None
    return None


def _aggregate_for(mark: str, df: "pd.DataFrame", keys: list[str | None], y: str, question: str) -> str | None:
    """None when every key is distinct; else how repeated rows combine: sums for counts and
    totals, means for everything else (a sum of horsepower means nothing)."""
    keys = [k for k in keys if k]
    if not df.duplicated(keys).any():
        return None
    if mark == "arc" or _SUM_WORDS.search(question) or _SUM_NAMES.search(y):
        return "sum"
    return "mean"


def _title(y: str, aggregate: str | None, x: str, color: str | None) -> str:
    measure = {"mean": f"Mean {y}", "sum": f"Total {y}"}.get(aggregate or "", y)
    return f"{measure} by {x}" + (f" and {color}" if color else "")


# --- reduction ---------------------------------------------------------------------------------

def _normalized(df: "pd.DataFrame") -> "pd.DataFrame":
    """String column names, no duplicate names (SQL allows them), a named index as a column."""
    if df.index.names != [None]:
        df = df.reset_index()
    if not all(isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    if df.columns.duplicated().any():
        df = df.loc[:, ~df.columns.duplicated()]
    return df


def _reduce(choice: ChartChoice, df: "pd.DataFrame", max_rows: int, top_n: int) -> tuple["pd.DataFrame", str | None]:
    """The charted frame and the sentence that says how it differs from `df` (None if it does not)."""
    import pandas as pd

    if max_rows < 1 or top_n < 1:
        raise ValueError("max_rows and top_n must be at least 1")
    columns = list(dict.fromkeys(c for c in (choice.x, choice.y, choice.color) if c))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"the chart needs columns the result does not have: {', '.join(missing)}")
    data = df[columns].copy()
    notes: list[str] = []

    y = choice.y
    data[y] = pd.to_numeric(data[y], errors="coerce").astype("float64").replace([math.inf, -math.inf], math.nan)
    if choice.x and choice.x != y:
        data[choice.x] = _coerce_axis(data[choice.x], choice.x_type)
    for name in (choice.color, choice.x if choice.x_type == "nominal" else None):
        if name and name != y and data[name].dtype == object:
            data[name] = data[name].astype("str").where(data[name].notna())
    required = [y] + ([choice.x] if choice.x and choice.x_type != "nominal" else [])
    data = data.dropna(subset=required)

    keys = [k for k in ([choice.color] if choice.mark == "arc" else [choice.x, choice.color]) if k and k != y]
    if choice.ranked and data.duplicated(keys).any():
        data[choice.x] = _told_apart(data[choice.x])
    if choice.mark != "point" and keys and data.duplicated(keys).any():
        how = choice.aggregate or "sum"
        rows = len(data)
        data = data.groupby(keys, sort=False, dropna=False, observed=True)[y].agg(how).reset_index()
        notes.append(f"{'averaged' if how == 'mean' else 'summed'} {rows:,} rows per {' and '.join(keys)}")

    category = choice.color if choice.mark == "arc" else (choice.x if choice.mark == "bar" and not _on_time_axis(choice) else None)
    if category:
        data, kept, total = _top(data, category, y, top_n, smallest=choice.sort == "y")
        if kept < total:
            notes.append(f"showing the top {kept} of {total:,} categories")
    if choice.color and choice.mark in ("bar", "line", "point"):
        data, kept, total = _top(data, choice.color, y, MAX_SERIES)
        if kept < total:
            notes.append(f"showing the top {kept} of {total:,} {choice.color} values")

    if len(data) > max_rows:
        rows = len(data)
        data = _sample(data, choice, max_rows)
        notes.append(f"sampled {len(data):,} of {rows:,} rows")

    data = _ordered(data, choice).reset_index(drop=True)
    note = "; ".join(notes)
    return data, (note[:1].upper() + note[1:] + ".") if note else None


def _told_apart(labels: "pd.Series") -> "pd.Series":
    """Repeated labels numbered in order of appearance: 'ford pinto', 'ford pinto (2)'."""
    seen = labels.groupby(labels, sort=False).cumcount()
    return labels.where(seen == 0, labels + " (" + (seen + 1).astype(str) + ")")


def _coerce_axis(series: "pd.Series", vl_type: str) -> "pd.Series":
    """Dates as datetimes and numbers as numbers, whatever the driver returned (DuckDB gives
    `datetime.date` and `Decimal` objects, SQLite gives ISO strings)."""
    import pandas as pd
    from pandas.api import types

    if vl_type == "temporal" and not types.is_datetime64_any_dtype(series.dtype):
        if isinstance(series.dtype, pd.PeriodDtype):
            return series.dt.to_timestamp()
        text = series.map(lambda v: v.isoformat() if isinstance(v, datetime.date) else v)
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    if vl_type in ("quantitative", "ordinal") and series.dtype == object:
        numeric = pd.to_numeric(series, errors="coerce")
        if numeric.notna().sum() == series.notna().sum():
            return numeric
    return series


def _top(data: "pd.DataFrame", column: str, y: str, n: int, smallest: bool = False) -> tuple["pd.DataFrame", int, int]:
    """Rows of the `n` values of `column` with the largest (or smallest) total `y` (ties: first seen)."""
    totals = data.groupby(column, sort=False, dropna=False, observed=True)[y].sum()
    if len(totals) <= n:
        return data, len(totals), len(totals)
    keep = totals.sort_values(ascending=smallest, kind="stable").index[:n]
    return data[data[column].isin(keep)], n, len(totals)


def _sample(data: "pd.DataFrame", choice: ChartChoice, max_rows: int) -> "pd.DataFrame":
    """Deterministic: lines keep every k-th point of each series (their shape survives), the rest
    a seeded random sample in the original order."""
    if choice.mark == "line" or _on_time_axis(choice):
        data = _ordered(data, choice)
        step = math.ceil(len(data) / max_rows)
        return data.iloc[::step]
    if choice.mark == "point":
        return data.sample(n=max_rows, random_state=0).sort_index()
    return _ordered(data, choice).head(max_rows)


def _on_time_axis(choice: ChartChoice) -> bool:
    """x is a time (dates, or years as numbers): never reorder it or keep only its "top" values."""
    return bool(choice.x) and (choice.x_type == "temporal"
                               or (choice.x_type != "nominal" and _is_time_named(choice.x, numeric=True)))


def _ordered(data: "pd.DataFrame", choice: ChartChoice) -> "pd.DataFrame":
    if choice.mark == "line":
        by = [c for c in (choice.color, choice.x) if c]
        return data.sort_values(by, kind="stable")
    if choice.mark in ("bar", "arc") and choice.sort in ("-y", "y"):
        return data.sort_values(choice.y, ascending=choice.sort == "y", kind="stable")
    if choice.mark == "bar" and choice.x:
        return data.sort_values(choice.x, kind="stable")
    return data


def _plural(n: int, word: str) -> str:
    plural = word + ("es" if word.endswith("ch") else "s")
    return f"{n:,} {word if n == 1 else plural}"
