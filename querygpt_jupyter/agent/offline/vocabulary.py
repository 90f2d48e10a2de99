"""The planner's words: small, general English tables (no dataset words), shared by every stage.

A word that changes a question's meaning must be in one of these tables or name something in the
catalogue; anything else is refused. Multi-word phrases are tuples.
"""
from __future__ import annotations

# Function words never name a column; filler words carry no meaning here but may be a column's
# name (a column `amount` or `value`), so a column claims them first.
FUNCTION_WORDS = frozenset("""
a an the of in on at for from with to into within is are was were be been being do does did
have has had having there here that this these those what whats who whom whose where how
i me my we us our you your they them their it its s please can could would will should may
all any some only also just as
""".split())
FILLER_WORDS = frozenset("""
show list give tell find get display return see let lets know name
data dataset table tables database value values amount
made built located recorded based listed named called observed registered measured reported
live lives living reside resides situated
come comes came originate originating belong belongs belonging
chart plot graph draw visualize visualise bar line pie
""".split())
STOPWORDS = FUNCTION_WORDS | FILLER_WORDS

# "share of cars by origin" reads as counts per group (the pie shows the shares); nothing else.
SHARE_NOUNS = frozenset({"share", "proportion", "percentage"})

# "as a bar chart": the chart the question asks for, when it names one.
CHART_WORDS = {"bar": "bar", "line": "line"}
CHART_NOUNS = frozenset({"chart", "plot", "graph"})

# Superlatives that rank by a count when no column follows ("the most airports").
COUNT_SUPERLATIVES = frozenset({"most", "fewest", "least"})

TIME_UNITS = frozenset({"second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade",
                        "date", "time"})

# Words that make a listing ("list the names of …") a request rather than a fragment.
LIST_VERBS = frozenset({"list", "show", "display", "give", "return", "what", "which", "find", "get"})

CONJUNCTIONS = frozenset({"and", "or", ",", "&"})

# Nouns that qualify a column rather than name one ("weather types"), even where another table
# has a column called `type`.
GENERIC_NOUNS = frozenset({"type", "kind", "category", "class", "group", "sort", "label", "level", "name"})

# Nouns that mean "the rows" whatever the table ("how many records per signal").
ROW_NOUNS = frozenset({"row", "record", "entry", "observation", "item"})

# phrase -> (kind, argument). Kinds: count, agg (avg/sum/max/min/latest/earliest), common (most
# common X: argmax of a count), distinct, group (per/by/for each), which.
KEYWORDS: dict[tuple[str, ...], tuple[str, str | None]] = {
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
TOP_WORDS = {"top": "desc", "first": "desc", "highest": "desc", "largest": "desc", "biggest": "desc",
             "greatest": "desc", "bottom": "asc", "lowest": "asc", "smallest": "asc"}

NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}

# Words naming an operation this planner does not have: seeing one means refusing, never guessing
# a neighbouring aggregate (median is not average) or dropping a condition (more than, before).
UNSUPPORTED = frozenset("""
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

AGG_WORDS = {"avg": "average", "sum": "total", "max": "maximum", "min": "minimum",
             "latest": "latest", "earliest": "earliest"}
FUNC_WORDS = {"avg": "the average", "sum": "the total", "max": "the maximum", "min": "the minimum"}


def _keyword_words() -> frozenset[str]:
    words = {w for phrase in KEYWORDS for w in phrase} | set(TOP_WORDS)
    return frozenset(words - {"of", "in", "for"})


# Every word of a keyword phrase or a top-N word, but the prepositions that also join names.
KEYWORD_WORDS = _keyword_words()
