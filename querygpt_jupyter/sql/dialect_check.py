"""The model's SQL must mean on the engine what it meant where it was written.

Models write PostgreSQL (or MySQL, or DuckDB) whatever the engine; the engine's own parser often
accepts that text and runs something else: SQLite subtracts the leading numbers of two date
strings, and sqlglot renders `TO_CHAR(d, 'YYYY-MM')` for SQLite as `CAST(d AS TEXT)`. This stage
sits between parsing and the guard:

1. `detect_source` reads which dialect the text is written in (constructs only one family of
   engines writes), so it is parsed with that dialect's meaning, not the engine's;
2. `adapt` rewrites the common date idioms sqlglot does not translate for the engine (tables
   below) and refuses, with the engine's way of saying it, what it cannot translate;
3. `check_types` refuses arithmetic and comparisons on dates whose meaning differs on the engine;
4. `render_faithfully` generates the engine's SQL with sqlglot's unsupported-level set to raise,
   and refuses a rendering that drops an argument or does not read back as itself.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from .. import errors

if TYPE_CHECKING:
    from ..connections.catalog import Catalog

ENGINE_NAMES = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL", "mysql": "MySQL/MariaDB", "spark": "Spark SQL"}

# ---------------------------------------------------------------------------------------------
# 1. Which dialect is the text written in
# ---------------------------------------------------------------------------------------------

# A construct -> the dialects where it is native with the meaning the text is read with. A
# construct native on the engine says nothing; otherwise it votes for the first dialect listed.
FUNCTION_DIALECTS: dict[str, tuple[str, ...]] = {
    "to_char": ("postgres",), "to_date": ("postgres",), "age": ("postgres",),
    "to_timestamp": ("postgres", "duckdb"), "date_trunc": ("postgres", "duckdb"),
    "date_part": ("postgres", "duckdb"), "make_date": ("postgres", "duckdb"),
    "date_format": ("mysql",), "str_to_date": ("mysql",), "curdate": ("mysql",), "curtime": ("mysql",),
    "timestampdiff": ("mysql",), "from_unixtime": ("mysql",), "unix_timestamp": ("mysql",),
    "dayofmonth": ("mysql", "duckdb"), "dayofyear": ("mysql", "duckdb"), "dayofweek": ("mysql", "duckdb"),
    "year": ("mysql", "duckdb"), "month": ("mysql", "duckdb"), "quarter": ("mysql", "duckdb"),
    "date_add": ("mysql", "duckdb"), "date_sub": ("mysql",), "datediff/2": ("mysql",),
    "datediff/3": ("duckdb",), "date_diff": ("duckdb",), "strptime": ("duckdb",), "epoch": ("duckdb",),
    "today": ("duckdb",), "strftime/value-first": ("duckdb",), "strftime/format-first": ("sqlite",),
    "julianday": ("sqlite",), "date/modifiers": ("sqlite",), "datetime/modifiers": ("sqlite",),
}
OPERATOR_DIALECTS: dict[str, tuple[str, ...]] = {"::": ("postgres", "duckdb"), "ILIKE": ("postgres", "duckdb")}
# Ties go to the engine's own dialect, then in this order.
SOURCE_PREFERENCE = ("postgres", "duckdb", "mysql", "sqlite")


def detect_source(sql: str, target: str) -> str:
    """The dialect `sql` is most likely written in: `target` unless constructs native only to
    another dialect say otherwise."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(target).tokenize(sql)
    except Exception:  # unreadable here: the parser reports it
        return target
    votes: dict[str, int] = {}

    def vote(dialects: tuple[str, ...]) -> None:
        if target not in dialects:
            votes[dialects[0]] = votes.get(dialects[0], 0) + 1

    for i, token in enumerate(tokens):
        if token.token_type == TokenType.DCOLON:
            vote(OPERATOR_DIALECTS["::"])
        elif token.token_type == TokenType.ILIKE:
            vote(OPERATOR_DIALECTS["ILIKE"])
        elif i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.L_PAREN and token.token_type != TokenType.STRING:
            name = _function_key(token.text.lower(), tokens, i + 1)
            if name in FUNCTION_DIALECTS:
                vote(FUNCTION_DIALECTS[name])
    if "mysql" in votes and any(t.token_type == TokenType.DPIPE or (t.token_type == TokenType.IDENTIFIER and sql[t.start:t.start + 1] == '"')
                                for t in tokens):
        del votes["mysql"]   # MySQL would read "name" as a string and || as OR: the text is not MySQL's
    if not votes:
        return target
    best = max(votes.values())
    return next(d for d in SOURCE_PREFERENCE if votes.get(d) == best)


def _function_key(name: str, tokens, paren: int) -> str:
    """`strftime` and `datediff` mean different things by their arguments: tell them apart."""
    from sqlglot.tokens import TokenType

    if name == "strftime":
        first = tokens[paren + 1] if paren + 1 < len(tokens) else None
        return "strftime/format-first" if first is not None and first.token_type == TokenType.STRING else "strftime/value-first"
    if name in ("date", "datetime"):
        depth = 0
        for token in tokens[paren:]:
            depth += token.token_type == TokenType.L_PAREN
            depth -= token.token_type == TokenType.R_PAREN
            if depth == 0:
                return name
            if depth == 1 and token.token_type == TokenType.COMMA:
                return f"{name}/modifiers"   # SQLite's date(x, 'start of month', '+1 day')
        return name
    if name == "datediff":
        depth, commas = 0, 0
        for token in tokens[paren:]:
            depth += token.token_type == TokenType.L_PAREN
            depth -= token.token_type == TokenType.R_PAREN
            if depth == 0:
                break
            commas += depth == 1 and token.token_type == TokenType.COMMA
        return f"datediff/{commas + 1}"
    return name


# ---------------------------------------------------------------------------------------------
# 2. Idioms the engine says differently
# ---------------------------------------------------------------------------------------------

def _unknown(engine: str, what: str, instead: str) -> errors.UnknownFunction:
    return errors.UnknownFunction(f"{ENGINE_NAMES.get(engine, engine)} has no {what}.", hint=f"On {ENGINE_NAMES.get(engine, engine)} {instead}.")


def _s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _f(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A function call written as-is (sqlglot's own classes would be rendered for another engine)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _int(e: exp.Expression) -> exp.Cast:
    return exp.Cast(this=e, to=exp.DataType.build("INTEGER"))


# SQLite: date_trunc unit -> strftime/date modifiers; what each date part is in strftime.
SQLITE_TRUNC_MODIFIERS = {"YEAR": ("start of year",), "MONTH": ("start of month",), "DAY": (),
                          "WEEK": ("weekday 0", "-6 days")}   # PostgreSQL's weeks start on Monday
SQLITE_TRUNC_FORMATS = {"HOUR": "%Y-%m-%d %H:00:00", "MINUTE": "%Y-%m-%d %H:%M:00", "SECOND": "%Y-%m-%d %H:%M:%S"}
SQLITE_PART_FORMATS = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M", "DOY": "%j",
                       "DAYOFYEAR": "%j", "DOW": "%w", "DAYOFWEEK": "%w", "EPOCH": "%s"}
SQLITE_STRFTIME = set("YmdHMSjwfs%")   # what strftime understands in SQLite 3.40 (%W is not ISO: left out)
PART_ALIASES = {"YEARS": "YEAR", "Y": "YEAR", "YYYY": "YEAR", "MONTHS": "MONTH", "MON": "MONTH", "DAYS": "DAY",
                "D": "DAY", "HOURS": "HOUR", "MINUTES": "MINUTE", "SECONDS": "SECOND", "WEEKS": "WEEK",
                "QUARTERS": "QUARTER", "Q": "QUARTER", "DAYOFMONTH": "DAY", "WEEKDAY": "DOW", "DAYOFWEEK": "DOW",
                "DAYOFYEAR": "DOY", "DAYOFWEEKISO": "ISODOW", "DAYOFWEEK_ISO": "ISODOW"}
INTERVAL_UNITS = {"YEAR": ("months", 12), "QUARTER": ("months", 3), "MONTH": ("months", 1), "WEEK": ("days", 7),
                  "DAY": ("days", 1), "HOUR": ("hours", 1), "MINUTE": ("minutes", 1), "SECOND": ("seconds", 1)}
ISO_FORMATS = {"%Y-%m-%d": "DATE", "%Y-%m-%d %H:%M:%S": "DATETIME", "%Y-%m-%d %H:%M": "DATETIME",
               "%Y-%m-%dT%H:%M:%S": "DATETIME"}


def _part(node: exp.Expression | None) -> str:
    if node is None:
        return ""
    name = (node.name if isinstance(node, (exp.Literal, exp.Var, exp.Column, exp.Identifier)) else node.sql()).upper().strip("'\"")
    return PART_ALIASES.get(name, name)


def _sqlite_trunc(node: exp.Expression, engine: str) -> exp.Expression:
    unit, value = _part(node.args.get("unit")), node.this
    if unit in SQLITE_TRUNC_MODIFIERS:
        return _f("DATE", value, *(_s(m) for m in SQLITE_TRUNC_MODIFIERS[unit]))
    if unit in SQLITE_TRUNC_FORMATS:
        return _f("STRFTIME", _s(SQLITE_TRUNC_FORMATS[unit]), value)
    if unit == "QUARTER":  # the month's start, moved back to the quarter's first month
        back = exp.Mod(this=exp.Paren(this=exp.Sub(this=_int(_f("STRFTIME", _s("%m"), value)), expression=exp.Literal.number(1))),
                       expression=exp.Literal.number(3))
        return _f("DATE", value, _s("start of month"), _f("PRINTF", _s("-%d months"), back))
    raise _unknown(engine, f"date truncation to {unit.lower() or 'that unit'}",
                   "truncate with date(x, 'start of month') / date(x, 'start of year') or strftime")


def _sqlite_part(unit: str, value: exp.Expression, engine: str) -> exp.Expression:
    if unit in SQLITE_PART_FORMATS:
        return _int(_f("STRFTIME", _s(SQLITE_PART_FORMATS[unit]), value))
    if unit == "SECOND":
        return exp.Cast(this=_f("STRFTIME", _s("%f"), value), to=exp.DataType.build("REAL"))
    if unit == "QUARTER":
        return exp.Paren(this=exp.IntDiv(this=exp.Add(this=_int(_f("STRFTIME", _s("%m"), value)), expression=exp.Literal.number(2)),
                                         expression=exp.Literal.number(3)))
    if unit == "ISODOW":
        w = _int(_f("STRFTIME", _s("%w"), value))
        return exp.Paren(this=exp.Add(this=exp.Mod(this=exp.Paren(this=exp.Add(this=w, expression=exp.Literal.number(6))),
                                                   expression=exp.Literal.number(7)), expression=exp.Literal.number(1)))
    raise _unknown(engine, f"date part {unit.lower() or '?'}",
                   "use CAST(strftime('%Y', d) AS INTEGER) (also %m month, %d day, %H hour, %w weekday 0=Sunday, %j day of year)")


def _sqlite_extract(node: exp.Extract, engine: str) -> exp.Expression:
    return _sqlite_part(_part(node.this), node.expression, engine)


def _sqlite_named_part(unit: str) -> Callable[[exp.Expression, str], exp.Expression]:
    return lambda node, engine: _sqlite_part(unit, _strip_casts(node.this), engine)


def _strip_casts(node: exp.Expression) -> exp.Expression:
    """sqlglot wraps MySQL's date arguments in TsOrDsToDate; SQLite reads the text as it is."""
    while isinstance(node, (exp.TsOrDsToDate, exp.TsOrDsToTimestamp)):
        node = node.this
    return node


def _sqlite_format(node: exp.TimeToStr, engine: str) -> exp.Expression:
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise _unknown(engine, "date formatting with a computed format", "write the format as a string: strftime('%Y-%m', d)")
    _check_format(fmt.this, engine, SQLITE_STRFTIME, letters=False)
    return _f("STRFTIME", _s(fmt.this), _strip_casts(node.this))


FORMAT_HINTS = {
    "sqlite": "format with strftime('%Y-%m-%d %H:%M:%S', d) codes only (%Y year, %m month, %d day, %H, %M, %S, "
              "%j day of year, %w weekday 0=Sunday): it has no month or day names; map numbers to names with CASE",
    "duckdb": "format with strftime(d, '%Y-%m-%d') codes: %b / %B month name, %a / %A day name, %j day of year, "
              "%V ISO week",
    "mysql": "format with DATE_FORMAT(d, '%Y-%m-%d') codes: %b / %M month name, %a / %W day name, %j day of year, "
             "%v ISO week",
}


def _check_format(fmt: str, engine: str, allowed: set[str] | None, letters: bool = True) -> None:
    """A format must be made of specifiers the engine knows; with `letters`, of those and
    punctuation only: letters left over from a TO_CHAR pattern (`Mon`, `Day`) had no translation
    and would be printed literally."""
    bare = re.sub(r"%.", "", fmt)
    specifiers = set(re.findall(r"%(.)", fmt))
    missing = sorted(specifiers - allowed) if allowed is not None else []
    if (letters and re.search(r"[A-Za-z]", bare)) or missing:
        what = ", ".join("%" + m for m in missing) or re.sub(r"[^A-Za-z]+", " ", bare).strip()
        raise _unknown(engine, f"date format for {what!r}", FORMAT_HINTS.get(engine, "use the engine's own date format codes"))


def _sqlite_parse_date(node: exp.Expression, engine: str) -> exp.Expression:
    fmt = node.args.get("format")
    text = fmt.this if isinstance(fmt, exp.Literal) else None
    if text not in ISO_FORMATS:
        raise _unknown(engine, f"date parsing with the format {text!r}",
                       "only ISO text (YYYY-MM-DD[ HH:MM:SS]) is a date: rearrange it with substr(), e.g. "
                       "substr(s, 7, 4) || '-' || substr(s, 4, 2) || '-' || substr(s, 1, 2) for DD/MM/YYYY")
    function = "DATE" if isinstance(node, exp.StrToDate) else ISO_FORMATS[text]
    return _f(function, node.this)


def _sqlite_from_unix(node: exp.UnixToTime, engine: str) -> exp.Expression:
    if node.args.get("scale") not in (None,) and _part(node.args.get("scale")) not in ("", "0", "SECONDS"):
        raise _unknown(engine, "epoch conversion at that scale", "use datetime(n, 'unixepoch') with n in seconds")
    return _f("DATETIME", node.this, _s("unixepoch"))


def _interval_amount(node: exp.Expression) -> tuple[int, str] | None:
    """(amount, UNIT) of an INTERVAL or DATE_ADD argument with a literal amount, else None."""
    if isinstance(node, exp.Interval):
        value, unit = node.this, _part(node.args.get("unit"))
        text = value.this if isinstance(value, exp.Literal) else None
        if text is not None and not unit:   # INTERVAL '10 year' kept whole
            match = re.fullmatch(r"\s*([+-]?\d+)\s+([A-Za-z]+)\s*", text)
            if not match:
                return None
            text, unit = match.group(1), PART_ALIASES.get(match.group(2).upper(), match.group(2).upper().rstrip("S"))
        if text is None or not re.fullmatch(r"\s*[+-]?\d+\s*", str(text)):
            return None
        return int(text), PART_ALIASES.get(unit, unit)
    return None


def _sqlite_shift(value: exp.Expression, amount: int, unit: str, engine: str, timestamp: bool) -> exp.Expression:
    """value moved by amount units, as PostgreSQL does it: a month added to 31 January is the
    last day of February (SQLite's own '+1 month' overflows into March)."""
    if unit not in INTERVAL_UNITS:
        raise _unknown(engine, f"intervals in {unit.lower() or 'that unit'}", "use date(d, '+N days') or '+N months'")
    word, factor = INTERVAL_UNITS[unit]
    n = amount * factor
    timestamp = timestamp or word in ("hours", "minutes", "seconds")
    function = "DATETIME" if timestamp else "DATE"
    shifted = _f(function, value, _s(f"{n:+d} {word}"))
    if word != "months":
        return shifted
    month_end = _f("DATE", value, _s("start of month"), _s(f"{n + 1:+d} months"), _s("-1 days"))
    if timestamp:
        month_end = exp.DPipe(this=exp.DPipe(this=month_end, expression=_s(" ")), expression=_f("TIME", value))
    return _f("MIN", shifted, month_end)


def _sqlite_interval_arith(node: exp.Expression, engine: str, types: "_Types") -> exp.Expression:
    left, right = node.this, node.expression
    if isinstance(node, exp.Add) and isinstance(left, exp.Interval):
        left, right = right, left
    parsed = _interval_amount(right)
    if parsed is None:
        raise _unknown(engine, "INTERVAL values", "move dates with date(d, '+10 years') / date(d, '-3 months') / "
                       "datetime(ts, '+2 hours') (a literal amount and one unit)")
    amount, unit = parsed
    sign = -1 if isinstance(node, exp.Sub) else 1
    return _sqlite_shift(left, sign * amount, unit, engine, types.kind(left) == "timestamp")


def _sqlite_date_add(node: exp.Expression, engine: str, types: "_Types") -> exp.Expression:
    amount = node.expression
    if isinstance(amount, exp.Interval):
        parsed = _interval_amount(amount)
    else:
        text = amount.this if isinstance(amount, exp.Literal) else None
        parsed = (int(text), _part(node.args.get("unit")) or "DAY") if text is not None and re.fullmatch(r"[+-]?\d+", str(text)) else None
    if parsed is None:
        raise _unknown(engine, "date arithmetic with a computed amount", "use date(d, '+N days') with a literal N, "
                       "or julianday(d) + n for days")
    sign = -1 if isinstance(node, exp.DateSub) else 1
    value = _strip_casts(node.this)
    return _sqlite_shift(value, sign * parsed[0], parsed[1], engine, types.kind(value) == "timestamp")


def _sqlite_date_diff(node: exp.Expression, engine: str) -> exp.Expression:
    unit = _part(node.args.get("unit")) or "DAY"
    later, earlier = _strip_casts(node.this), _strip_casts(node.expression)
    days = exp.Sub(this=_f("JULIANDAY", later), expression=_f("JULIANDAY", earlier))
    scale = {"DAY": 1, "HOUR": 24, "MINUTE": 1440, "SECOND": 86400, "WEEK": None}.get(unit, 0)
    if unit == "WEEK":
        return _int(exp.Div(this=exp.Paren(this=days), expression=exp.Literal.number(7)))
    if not scale:
        raise _unknown(engine, f"date differences in {unit.lower()}s",
                       "count days with julianday(a) - julianday(b); months with "
                       "(strftime('%Y', a) - strftime('%Y', b)) * 12 + strftime('%m', a) - strftime('%m', b)")
    return _int(exp.Mul(this=exp.Paren(this=days), expression=exp.Literal.number(scale)) if scale != 1 else days)


def _sqlite_age(node: exp.Expression, engine: str) -> exp.Expression:
    raise _unknown(engine, "AGE() or interval values", "compute days with julianday(a) - julianday(b), or years with "
                   "(strftime('%Y', a) - strftime('%Y', b))")


def _sqlite_day_name(node: exp.Expression, engine: str) -> exp.Expression:
    raise _unknown(engine, "names of days or months", "use strftime('%w', d) (0 = Sunday) or strftime('%m', d) and map "
                   "numbers to names with CASE")


def _sqlite_day_of_week(node: exp.Expression, engine: str) -> exp.Expression:
    raise _unknown(engine, "DAYOFWEEK()", "use CAST(strftime('%w', d) AS INTEGER) (0 = Sunday … 6 = Saturday)")


def _sqlite_week(node: exp.Expression, engine: str) -> exp.Expression:
    raise _unknown(engine, "ISO week numbers", "use strftime('%W', d) (weeks starting Monday, 00–53; not ISO weeks) "
                   "or group by date(d, 'weekday 0', '-6 days') for the week's Monday")


# strftime codes -> PostgreSQL TO_CHAR patterns. FM: names without PostgreSQL's blank padding,
# as MySQL, DuckDB and SQLite print them.
POSTGRES_PATTERNS = {"Y": "YYYY", "y": "YY", "m": "MM", "d": "DD", "e": "FMDD", "H": "HH24", "I": "HH12", "M": "MI",
                     "S": "SS", "f": "US", "p": "AM", "j": "DDD", "B": "FMMonth", "b": "Mon", "A": "FMDay", "a": "Dy",
                     "w": "D", "%": "%"}


def _postgres_format(node: exp.TimeToStr, engine: str) -> exp.Expression:
    """TO_CHAR with a pattern written from strftime codes by this table (sqlglot's leaves
    PostgreSQL's padding in: `Month` is 'January  ')."""
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    pattern = []
    for literal, code in re.findall(r"([^%]*)(?:%(.)|$)", fmt.this):
        if re.search(r"[A-Za-z]", literal):
            pattern.append('"' + literal.replace('"', "") + '"')
        else:
            pattern.append(literal)
        if code:
            if code not in POSTGRES_PATTERNS:
                raise _unknown(engine, f"date format code %{code}", "format with TO_CHAR(d, 'YYYY-MM-DD HH24:MI:SS') "
                               "patterns (FMMonth, Mon, FMDay, Dy, DDD, IW for ISO week)")
            pattern.append(POSTGRES_PATTERNS[code] if code != "w" else "")
            if code == "w":  # strftime %w is 0 = Sunday; TO_CHAR D is 1 = Sunday: no pattern says it
                raise _unknown(engine, "a 0-based weekday pattern", "use EXTRACT(DOW FROM d) (0 = Sunday)")
    return _f("TO_CHAR", node.this, _s("".join(pattern)))


def _untranslated_pattern(node: exp.TimeToStr, engine: str) -> exp.Expression:
    """A PostgreSQL TO_CHAR pattern sqlglot could not translate is left as letters, printed as-is."""
    fmt = node.args.get("format")
    if isinstance(fmt, exp.Literal) and fmt.is_string:
        _check_format(fmt.this, engine, None)
    return node


# MySQL/MariaDB: EXTRACT parts they do not have, as their functions.
MYSQL_PARTS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "DOW": lambda v: exp.Paren(this=exp.Sub(this=_f("DAYOFWEEK", v), expression=exp.Literal.number(1))),
    "ISODOW": lambda v: exp.Paren(this=exp.Add(this=_f("WEEKDAY", v), expression=exp.Literal.number(1))),
    "DOY": lambda v: _f("DAYOFYEAR", v), "EPOCH": lambda v: _f("UNIX_TIMESTAMP", v),
    "WEEK": lambda v: _f("WEEK", v, exp.Literal.number(3)),   # ISO weeks, as PostgreSQL counts them
}


def _mysql_extract(node: exp.Extract, engine: str) -> exp.Expression:
    build = MYSQL_PARTS.get(_part(node.this))
    return build(node.expression) if build else node


def _mysql_trunc(node: exp.Expression, engine: str) -> exp.Expression:
    """DATE_TRUNC on MySQL/MariaDB: weeks start on Monday and results are dates or datetimes, as
    PostgreSQL gives them (sqlglot's own rendering counts weeks from Sundays)."""
    unit, value = _part(node.args.get("unit")), _strip_casts(node.this)
    year_start = _f("MAKEDATE", _f("YEAR", value), exp.Literal.number(1))
    formats = {"MONTH": ("%Y-%m-01", "DATE"), "HOUR": ("%Y-%m-%d %H:00:00", "DATETIME"),
               "MINUTE": ("%Y-%m-%d %H:%i:00", "DATETIME"), "SECOND": ("%Y-%m-%d %H:%i:%s", "DATETIME")}
    if unit in formats:
        fmt, to = formats[unit]
        return exp.Cast(this=_f("DATE_FORMAT", value, _s(fmt)), to=exp.DataType.build(to))
    if unit == "YEAR":
        return year_start
    if unit == "DAY":
        return _f("DATE", value)
    if unit == "WEEK":
        return _f("DATE_SUB", _f("DATE", value), exp.Interval(this=_f("WEEKDAY", value), unit=exp.var("DAY")))
    if unit == "QUARTER":
        back = exp.Sub(this=_f("QUARTER", value), expression=exp.Literal.number(1))
        return _f("DATE_ADD", year_start, exp.Interval(this=exp.Paren(this=back), unit=exp.var("QUARTER")))
    raise _unknown(engine, f"date truncation to {unit.lower() or 'that unit'}", "use DATE_FORMAT(d, '%Y-%m-01')")


def _no_age(node: exp.Expression, engine: str) -> exp.Expression:
    raise _unknown(engine, "AGE()", f"use {ENGINE_EQUIVALENTS.get(engine, {}).get('age', 'a difference of dates')}")


def _postgres_timestamp_diff(node: exp.Expression, engine: str) -> exp.Expression:
    """MySQL's TIMESTAMPDIFF(unit, a, b): whole units from a to b."""
    unit = _part(node.args.get("unit")) or "DAY"
    later = exp.Cast(this=_strip_casts(node.this), to=exp.DataType.build("TIMESTAMP"))
    earlier = exp.Cast(this=_strip_casts(node.expression), to=exp.DataType.build("TIMESTAMP"))
    seconds = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}.get(unit)
    if seconds:
        epoch = exp.Extract(this=exp.var("EPOCH"), expression=exp.Paren(this=exp.Sub(this=later, expression=earlier)))
        return exp.Cast(this=_f("TRUNC", exp.Div(this=epoch, expression=exp.Literal.number(seconds))),
                        to=exp.DataType.build("BIGINT"))
    if unit in ("MONTH", "YEAR", "QUARTER"):
        age = _f("AGE", later, earlier)
        years = exp.Extract(this=exp.var("YEAR"), expression=age)
        months = exp.Add(this=exp.Mul(this=years, expression=exp.Literal.number(12)),
                         expression=exp.Extract(this=exp.var("MONTH"), expression=age.copy()))
        total = {"YEAR": years, "MONTH": months,
                 "QUARTER": _f("TRUNC", exp.Div(this=exp.Paren(this=months), expression=exp.Literal.number(3)))}[unit]
        return exp.Cast(this=total, to=exp.DataType.build("BIGINT"))
    raise _unknown(engine, f"TIMESTAMPDIFF in {unit.lower()}s", "subtract timestamps and EXTRACT(EPOCH FROM b - a)")


# SQLite's date(x, modifier, …) and julianday(x) on engines with real dates.
SQLITE_MODIFIER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s+(day|hour|minute|second)s?\s*$", re.I)


def _from_sqlite_date(node: exp.Anonymous, engine: str) -> exp.Expression:
    """date(x, 'start of month', '+1 day') / datetime(x, '-3 hours') / datetime(n, 'unixepoch')."""
    function = node.name.lower()
    if not node.expressions:
        return node
    value, *modifiers = node.expressions
    result: exp.Expression = value
    for i, modifier in enumerate(modifiers):
        text = modifier.this.lower().strip() if isinstance(modifier, exp.Literal) and modifier.is_string else None
        start = re.fullmatch(r"start of (month|year|day)", text or "")
        shift = SQLITE_MODIFIER.match(text or "")
        if text == "unixepoch" and i == 0:
            result = exp.AtTimeZone(this=exp.UnixToTime(this=value), zone=_s("UTC"))   # SQLite's epoch is UTC
        elif start:
            result = exp.TimestampTrunc(this=exp.Cast(this=result, to=exp.DataType.build("TIMESTAMP")),
                                        unit=exp.var(start.group(1).upper()))
        elif shift:
            result = exp.Add(this=exp.Cast(this=result, to=exp.DataType.build("TIMESTAMP")),
                             expression=exp.Interval(this=_s(shift.group(1)), unit=exp.var(shift.group(2).upper())))
        else:   # months and years overflow differently from this engine; weekday, localtime, …
            raise _unknown(engine, f"equivalent of SQLite's date modifier {modifier.sql()}",
                           "use DATE_TRUNC('month', d) and d + INTERVAL '1 month' (months end on the month's last day)")
    return exp.Cast(this=result, to=exp.DataType.build("DATE" if function == "date" else "TIMESTAMP"))


def _from_sqlite_julianday(node: exp.Anonymous, engine: str) -> exp.Expression:
    """SQLite's Julian day number (noon-based, fractional), from the Unix epoch."""
    if len(node.expressions) != 1:
        return node
    epoch = exp.Extract(this=exp.var("EPOCH"), expression=exp.Cast(this=node.expressions[0], to=exp.DataType.build("TIMESTAMP")))
    days = exp.Div(this=epoch, expression=exp.Literal.number("86400.0"))
    return exp.Paren(this=exp.Add(this=days, expression=exp.Literal.number("2440587.5")))


Rewrite = Callable[..., exp.Expression]
# engine -> node class -> rewrite(node, engine[, types]). Applied bottom-up on the parsed tree.
REWRITES: dict[str, dict[type, Rewrite]] = {
    "sqlite": {
        exp.DateTrunc: _sqlite_trunc, exp.TimestampTrunc: _sqlite_trunc, exp.DatetimeTrunc: _sqlite_trunc,
        exp.TimeTrunc: _sqlite_trunc,
        exp.Extract: _sqlite_extract, exp.Year: _sqlite_named_part("YEAR"), exp.Month: _sqlite_named_part("MONTH"),
        exp.Day: _sqlite_named_part("DAY"), exp.DayOfMonth: _sqlite_named_part("DAY"),
        exp.DayOfYear: _sqlite_named_part("DOY"), exp.Quarter: _sqlite_named_part("QUARTER"),
        exp.DayOfWeek: _sqlite_day_of_week, exp.DayOfWeekIso: _sqlite_named_part("ISODOW"),
        exp.Week: _sqlite_week, exp.WeekOfYear: _sqlite_week, exp.Dayname: _sqlite_day_name,
        exp.TimeToStr: _sqlite_format, exp.StrToDate: _sqlite_parse_date, exp.StrToTime: _sqlite_parse_date,
        exp.UnixToTime: _sqlite_from_unix,
        exp.DateDiff: _sqlite_date_diff, exp.TimestampDiff: _sqlite_date_diff,
        exp.DateAdd: _sqlite_date_add, exp.DateSub: _sqlite_date_add, exp.TsOrDsAdd: _sqlite_date_add,
    },
    # MySQL has no DATE_TRUNC and no EXTRACT(DOW …), whoever wrote them.
    "mysql": {exp.Extract: _mysql_extract, exp.DateTrunc: _mysql_trunc, exp.TimestampTrunc: _mysql_trunc},
}
# engine -> source dialect -> node class -> rewrite: idioms whose translation depends on where
# the text came from ("*": from any other dialect).
SOURCE_REWRITES: dict[str, dict[str, dict[type, Rewrite]]] = {
    "postgres": {"*": {exp.TimeToStr: _postgres_format, exp.TimestampDiff: _postgres_timestamp_diff}},
}
# A TO_CHAR pattern is checked for untranslated letters on every other engine, before its rewrite.
PRE_CHECKS: dict[str, dict[type, Callable[[exp.Expression, str], exp.Expression]]] = {
    "postgres": {exp.TimeToStr: _untranslated_pattern},
}
# Engines without NULLS FIRST/LAST: sqlglot emulates the source's NULL order only on expressions,
# so `ORDER BY 1` written for another engine is expanded to the projection it names.
EXPAND_POSITIONAL_ORDER = frozenset({"mysql"})
# Rewrites that need to know the operands' types (dates vs timestamps).
TYPED_REWRITES: dict[str, tuple[type, ...]] = {"sqlite": (exp.DateAdd, exp.DateSub, exp.TsOrDsAdd)}
# Functions without a class in sqlglot, by name: engine -> lower-case name -> rewrite.
NAMED_REWRITES: dict[str, dict[str, Rewrite]] = {"sqlite": {"age": _sqlite_age, "monthname": _sqlite_day_name,
                                                            "now": lambda node, engine: exp.CurrentTimestamp()},
                                                 "mysql": {"age": _no_age}}
# engine -> source dialect -> function name -> rewrite: SQLite's own spellings on engines with dates.
SQLITE_SPELLINGS: dict[str, Rewrite] = {"date": _from_sqlite_date, "datetime": _from_sqlite_date,
                                        "julianday": _from_sqlite_julianday}
NAMED_BY_SOURCE: dict[str, dict[str, dict[str, Rewrite]]] = {
    "duckdb": {"sqlite": SQLITE_SPELLINGS}, "postgres": {"sqlite": SQLITE_SPELLINGS},
}


def adapt(tree: exp.Expression, catalog: "Catalog", engine: str, source: str | None = None) -> exp.Expression:
    """The tree (read in `source`, default the engine's dialect) with the engine's own spelling
    of date idioms; raises UnknownFunction, naming the engine's way, for an idiom it cannot express."""
    source = source or engine
    table = dict(REWRITES.get(engine, {}))
    if source != engine:
        by_source = SOURCE_REWRITES.get(engine, {})
        table.update(by_source.get("*", {}))
        table.update(by_source.get(source, {}))
    named = dict(NAMED_REWRITES.get(engine, {}))
    if source != engine:
        named.update(NAMED_BY_SOURCE.get(engine, {}).get(source, {}))
    if not table and not named and source == engine:
        return tree
    types = _Types(tree, catalog, engine)
    typed = TYPED_REWRITES.get(engine, ())

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Add, exp.Sub)) and engine == "sqlite" and (
                isinstance(node.expression, exp.Interval) or isinstance(node.this, exp.Interval)):
            return _sqlite_interval_arith(node, engine, types)
        if isinstance(node, exp.Anonymous) and node.name.lower() in named:
            return named[node.name.lower()](node, engine)
        check = PRE_CHECKS.get(source, {}).get(type(node)) if source != engine else None
        if check is not None:
            check(node, engine)
        handler = table.get(type(node))
        if handler is None:
            return node
        return handler(node, engine, types) if isinstance(node, typed) else handler(node, engine)

    if source != engine and engine in EXPAND_POSITIONAL_ORDER:
        _expand_positional_order(tree)
    for node in reversed(list(tree.walk(bfs=False))):  # children first: a rewrite sees rewritten arguments
        new = rewrite(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _expand_positional_order(tree: exp.Expression) -> None:
    for select in tree.find_all(exp.Select):
        order = select.args.get("order")
        for ordered in order.expressions if order else []:
            position = ordered.this
            if isinstance(position, exp.Literal) and position.is_int and 0 < int(position.this) <= len(select.expressions):
                projection = select.expressions[int(position.this) - 1]
                ordered.set("this", projection.this.copy() if isinstance(projection, exp.Alias) else projection.copy())


# ---------------------------------------------------------------------------------------------
# 3. Dates in arithmetic and comparisons
# ---------------------------------------------------------------------------------------------

TEMPORAL = {exp.DataType.Type.DATE: "date", exp.DataType.Type.DATE32: "date"}
NUMERIC_TYPES = exp.DataType.NUMERIC_TYPES
TEXT_DATE_FUNCTIONS = {"date": "date", "datetime": "timestamp"}  # SQLite's, as written by adapt()


class _Types:
    """What kind of value each expression is. Column types come from the catalogue through
    sqlglot's qualify + annotate_types (on a copy: qualifying rewrites names and aliases, which
    the SQL the user sees must keep); the rest is inferred from the node itself."""

    def __init__(self, tree: exp.Expression, catalog: "Catalog", engine: str):
        self.columns: dict[int, exp.DataType] = {}
        used = {t.name.lower() for t in tree.find_all(exp.Table)}   # a large catalogue costs nothing here
        schema = {t.name: {c.name: _declared(c) for c in t.columns} for t in catalog.tables
                  if "." not in t.name and t.name.lower() in used}
        self.ok = bool(schema)
        originals = [n for n in tree.walk(bfs=False) if isinstance(n, exp.Column)]
        try:
            from sqlglot.optimizer.annotate_types import annotate_types
            from sqlglot.optimizer.qualify import qualify

            copy = qualify(tree.copy(), schema=schema, dialect=engine, validate_qualify_columns=False,
                           quote_identifiers=False, identify=False, expand_stars=False)
            annotate_types(copy, schema=schema, dialect=engine)
            copies = [n for n in copy.walk(bfs=False) if isinstance(n, exp.Column)]
            if [c.name.lower() for c in copies] == [c.name.lower() for c in originals]:
                self.columns = {id(o): c.type for o, c in zip(originals, copies) if c.type is not None}
        except Exception:  # qualify/annotate are checks, not gates: fall back to names
            pass
        if not self.columns:  # a column name found in exactly one of the query's tables
            used = {t.name.lower() for t in tree.find_all(exp.Table)}
            by_name: dict[str, list[str]] = {}
            for table in catalog.tables:
                if table.name.lower() in used:
                    for column in table.columns:
                        by_name.setdefault(column.name.lower(), []).append(_declared(column))
            for column in originals:
                found = by_name.get(column.name.lower(), [])
                if len(found) == 1:
                    self.columns[id(column)] = exp.DataType.build(found[0])

    def kind(self, node: exp.Expression | None) -> str | None:
        """"date", "timestamp", "number", "interval" or None (text, unknown, other)."""
        if node is None:
            return None
        if isinstance(node, (exp.Paren, exp.Alias)):
            return self.kind(node.this)
        if isinstance(node, exp.Column):
            return _kind_of_type(self.columns.get(id(node)))
        if isinstance(node, exp.Interval):
            return "interval"
        if isinstance(node, exp.Literal):
            return None if node.is_string else "number"
        if isinstance(node, exp.CurrentDate):
            return "date"
        if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDatetime)):
            return "timestamp"
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return _kind_of_type(node.to)
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name in TEXT_DATE_FUNCTIONS:
                return TEXT_DATE_FUNCTIONS[name]
            if name in ("min", "max") and node.expressions:
                return self.kind(node.expressions[0])
            return "number" if name in ("julianday",) else None
        if isinstance(node, (exp.Max, exp.Min, exp.AnyValue, exp.First, exp.Last)):
            return self.kind(node.this)
        if isinstance(node, (exp.Coalesce, exp.Case, exp.If)):
            branches = [node.this, *node.expressions] if isinstance(node, exp.Coalesce) else \
                [*(i.args.get("true") for i in node.args.get("ifs") or []), node.args.get("default")] \
                if isinstance(node, exp.Case) else [node.args.get("true"), node.args.get("false")]
            kinds = {self.kind(b) for b in branches if b is not None and not isinstance(b, exp.Null)}
            return kinds.pop() if len(kinds) == 1 else None
        if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc, exp.DateAdd, exp.DateSub, exp.TsOrDsToDate,
                             exp.StrToDate, exp.Date)):
            return "date" if not isinstance(node, exp.TimestampTrunc) else "timestamp"
        if isinstance(node, (exp.StrToTime, exp.UnixToTime, exp.TsOrDsToTimestamp)):
            return "timestamp"
        if isinstance(node, (exp.Count, exp.Extract, exp.Year, exp.Month, exp.Day, exp.DateDiff, exp.Length,
                             exp.Neg, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Round, exp.Abs)):
            return "number"
        if isinstance(node, (exp.Add, exp.Sub)):
            left, right = self.kind(node.this), self.kind(node.expression)
            if left == right == "number":
                return "number"
            if {left, right} <= {"date", "timestamp", "interval", "number"} and (left in ("date", "timestamp")):
                return left if right != left else "number"
            return None
        if isinstance(node, (exp.Sum, exp.Avg)):
            return "number" if self.kind(node.this) == "number" else None
        return None


def _kind_of_type(dtype: exp.DataType | None) -> str | None:
    if dtype is None:
        return None
    if dtype.this in TEMPORAL:
        return "date"
    if dtype.this in exp.DataType.TEMPORAL_TYPES:
        return "timestamp"
    if dtype.this in NUMERIC_TYPES:
        return "number"
    return None


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _declared(column) -> str:
    """The column's type for the checks: a text column whose sampled values are all ISO dates
    (SQLite and MySQL files often keep dates in TEXT/VARCHAR) counts as a date."""
    samples = [s for s in column.samples if s is not None]
    if column.is_text and samples and all(isinstance(s, str) for s in samples):
        if all(ISO_DATE.match(s) for s in samples):
            return "DATE"
        if all(ISO_TIMESTAMP.match(s) for s in samples):
            return "TIMESTAMP"
    return _type_name(column.type)


def _type_name(declared: str) -> str:
    try:
        exp.DataType.build(declared or "TEXT")
        return declared or "TEXT"
    except Exception:
        return "TEXT"


# engine -> (what the engine does with dates in arithmetic, the advice for each mistake)
DATE_ARITHMETIC: dict[str, dict[str, str]] = {
    "sqlite": {
        "stores": "SQLite stores dates as text, and arithmetic on text uses only its leading number",
        "difference": "use julianday(a) - julianday(b) for days between dates "
                      "(CAST(julianday(a) - julianday(b) AS INTEGER) for whole days; * 24 for hours)",
        "shift": "use date(d, '+N days') (or '-N days', '+N months') to move a date; julianday(d) + n for a day number",
        "compare": "compare a date with a date string ('2020-01-01') or its parts: CAST(strftime('%Y', d) AS INTEGER) = 2020",
        "aggregate": "average julianday(d) and turn it back with date(AVG(julianday(d))), or average a difference in days",
    },
    "mysql": {
        "stores": "MySQL/MariaDB turn dates into numbers like 20240131 in arithmetic",
        "difference": "use DATEDIFF(a, b) for days between dates (TIMESTAMPDIFF(HOUR, b, a) for hours)",
        "shift": "use DATE_ADD(d, INTERVAL N DAY) / DATE_SUB(d, INTERVAL N MONTH) or d + INTERVAL N DAY",
        "compare": "compare a date with a date string ('2020-01-01') or its parts: YEAR(d) = 2020",
        "aggregate": "average a difference such as DATEDIFF(a, b), or FROM_DAYS(AVG(TO_DAYS(d)))",
    },
}
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def check_types(tree: exp.Expression, catalog: "Catalog", engine: str) -> None:
    """Refuse date arithmetic and comparisons whose result on the engine differs from what they
    mean in PostgreSQL (days between dates, dates moved by days, dates before a date)."""
    rules = DATE_ARITHMETIC.get(engine)
    if rules is None:
        return
    types = _Types(tree, catalog, engine)
    if not types.ok:
        return
    kind = types.kind
    for node in tree.walk():
        if isinstance(node, exp.Sub):
            left, right = kind(node.this), kind(node.expression)
            if left in ("date", "timestamp") and right in ("date", "timestamp"):
                _refuse(node, engine, rules, "difference", "subtracts two dates")
            if left in ("date", "timestamp") and right == "number":
                _refuse(node, engine, rules, "shift", "subtracts a number from a date")
        elif isinstance(node, exp.Add):
            left, right = kind(node.this), kind(node.expression)
            if {left, right} in ({"date", "number"}, {"timestamp", "number"}):
                _refuse(node, engine, rules, "shift", "adds a number to a date")
            if left in ("date", "timestamp") and right in ("date", "timestamp"):
                _refuse(node, engine, rules, "difference", "adds two dates")
        elif isinstance(node, COMPARISONS):
            left, right = kind(node.this), kind(node.expression)
            if {left, right} in ({"date", "number"}, {"timestamp", "number"}):
                _refuse(node, engine, rules, "compare", "compares a date with a number")
        elif isinstance(node, exp.Between):
            if kind(node.this) in ("date", "timestamp") and "number" in (kind(node.args.get("low")), kind(node.args.get("high"))):
                _refuse(node, engine, rules, "compare", "compares a date with numbers")
        elif isinstance(node, (exp.Avg, exp.Sum)):
            if kind(node.this) in ("date", "timestamp"):
                _refuse(node, engine, rules, "aggregate", f"takes the {'average' if isinstance(node, exp.Avg) else 'sum'} of dates")


def _refuse(node: exp.Expression, engine: str, rules: dict[str, str], advice: str, what: str) -> None:
    written = node.sql(dialect=engine)
    raise errors.SqlTypeError(
        f"`{written[:120]}` {what}: {rules['stores']}; the result would be wrong.",
        hint=f"On {ENGINE_NAMES[engine]} {rules[advice]}.",
    )


# ---------------------------------------------------------------------------------------------
# 4. Render for the engine, faithfully or not at all
# ---------------------------------------------------------------------------------------------

def render_faithfully(tree: exp.Expression, engine: str) -> str:
    """The engine's SQL for `tree`, or UnknownFunction when sqlglot cannot say it there
    (it would drop an argument or print an unknown construct) or the text does not read back
    as the same query."""
    from .guard import Unchecked

    if isinstance(tree, Unchecked):  # the guard is switched off by a test of the engine walls alone
        return tree.name
    name = ENGINE_NAMES.get(engine, engine)
    try:
        text = tree.sql(dialect=engine, unsupported_level=ErrorLevel.RAISE, comments=False)
    except UnsupportedError as error:
        detail = str(error).splitlines()[0]
        node = re.search(r"expression '(\w+)'", detail)
        function = _sql_name(node.group(1)) if node else None
        equivalent = ENGINE_EQUIVALENTS.get(engine, {}).get((function or "").lower())
        raise errors.UnknownFunction(
            f"{name} cannot run this query as written: {detail.rstrip('.')} (it would be dropped or changed).",
            hint=f"On {name} use {equivalent}." if equivalent else f"Rewrite that part with {name}'s own functions.") from None
    import sqlglot

    try:  # read back: the same columns and values, and a rendering that no longer changes
        again = sqlglot.parse_one(text, read=engine)
        regenerated = again.sql(dialect=engine, comments=False)
        stable = sqlglot.parse_one(regenerated, read=engine).sql(dialect=engine, comments=False) == regenerated
    except ParseError:
        again, stable = None, False
    lost = _lost(tree, again) if again is not None else []
    if not stable or lost:
        raise errors.UnknownFunction(
            f"Rendering this query for {name} would change it{': ' + ', '.join(lost[:3]) + ' would be dropped' if lost else ''}.",
            hint=f"Rewrite it with {name}'s own functions.")
    return text


def _sql_name(class_name: str) -> str | None:
    node = getattr(exp, class_name, None)
    try:
        return node.sql_names()[0] if node is not None else None
    except Exception:
        return None


def _lost(tree: exp.Expression, rendered: exp.Expression) -> list[str]:
    """Columns, or a number of literals, that the checked tree has and its rendering does not
    (literals are counted, not compared: formats and units are legitimately respelt)."""
    before = {c.name.lower() for c in tree.find_all(exp.Column)}
    after = {c.name.lower() for c in rendered.find_all(exp.Column)}
    lost = sorted(before - after)
    literals = len(list(tree.find_all(exp.Literal))) - len(list(rendered.find_all(exp.Literal)))
    return lost + ([f"{literals} value{'s' if literals > 1 else ''}"] if literals > 0 else [])


# ---------------------------------------------------------------------------------------------
# 5. When the engine itself says a function is missing: its own way of saying it
# ---------------------------------------------------------------------------------------------

# engine -> function a model wrote (lower case) -> how the engine says it.
ENGINE_EQUIVALENTS: dict[str, dict[str, str]] = {
    "sqlite": {
        "to_char": "strftime('%Y-%m', d)", "date_format": "strftime('%Y-%m', d)", "date_trunc": "date(d, 'start of month')",
        "extract": "CAST(strftime('%Y', d) AS INTEGER)", "date_part": "CAST(strftime('%Y', d) AS INTEGER)",
        "year": "CAST(strftime('%Y', d) AS INTEGER)", "month": "CAST(strftime('%m', d) AS INTEGER)",
        "day": "CAST(strftime('%d', d) AS INTEGER)", "to_date": "date(s) on ISO text 'YYYY-MM-DD'",
        "str_to_date": "date(s) on ISO text 'YYYY-MM-DD'", "to_timestamp": "datetime(n, 'unixepoch')",
        "from_unixtime": "datetime(n, 'unixepoch')", "unix_timestamp": "strftime('%s', ts)",
        "datediff": "julianday(a) - julianday(b)", "date_diff": "julianday(a) - julianday(b)",
        "age": "julianday(a) - julianday(b)", "date_add": "date(d, '+1 days')", "date_sub": "date(d, '-1 days')",
        "now": "datetime('now')", "curdate": "date('now')", "concat": "a || b", "if": "iif(cond, a, b)",
        "left": "substr(s, 1, n)", "right": "substr(s, -n)", "string_agg": "group_concat(x, ',')",
        "split_part": "substr() with instr()", "greatest": "max(a, b)", "least": "min(a, b)",
    },
    "duckdb": {
        "to_char": "strftime(d, '%Y-%m')", "date_format": "strftime(d, '%Y-%m')", "to_date": "strptime(s, '%Y-%m-%d')::DATE",
        "str_to_date": "strptime(s, '%d/%m/%Y')", "datediff": "date_diff('day', a, b)", "julianday": "julian(d)",
        "unix_timestamp": "epoch(ts)", "from_unixtime": "to_timestamp(n)", "curdate": "current_date",
        "timestampdiff": "date_diff('hour', a, b)", "group_concat": "string_agg(x, ',')",
    },
    "postgres": {
        "date_format": "TO_CHAR(d, 'YYYY-MM')", "strftime": "TO_CHAR(d, 'YYYY-MM')", "datediff": "b::date - a::date",
        "date_diff": "b::date - a::date", "year": "EXTRACT(YEAR FROM d)", "month": "EXTRACT(MONTH FROM d)",
        "day": "EXTRACT(DAY FROM d)", "julianday": "EXTRACT(EPOCH FROM d) / 86400", "ifnull": "COALESCE(a, b)",
        "curdate": "CURRENT_DATE", "str_to_date": "TO_DATE(s, 'DD/MM/YYYY')", "strptime": "TO_TIMESTAMP(s, 'YYYY-MM-DD')",
        "date_add": "d + INTERVAL '1 day'", "date_sub": "d - INTERVAL '1 day'", "group_concat": "string_agg(x, ',')",
        "from_unixtime": "TO_TIMESTAMP(n)", "unix_timestamp": "EXTRACT(EPOCH FROM ts)", "timestampdiff": "EXTRACT(EPOCH FROM b - a)",
        "if": "CASE WHEN cond THEN a ELSE b END", "iif": "CASE WHEN cond THEN a ELSE b END",
    },
    "mysql": {
        "to_char": "DATE_FORMAT(d, '%Y-%m')", "strftime": "DATE_FORMAT(d, '%Y-%m')", "date_trunc": "DATE_FORMAT(d, '%Y-%m-01')",
        "to_date": "STR_TO_DATE(s, '%Y-%m-%d')", "date_part": "EXTRACT(YEAR FROM d)", "julianday": "TO_DAYS(d)",
        "age": "TIMESTAMPDIFF(YEAR, b, a)", "string_agg": "GROUP_CONCAT(x SEPARATOR ',')", "date_diff": "DATEDIFF(a, b)",
        "strptime": "STR_TO_DATE(s, '%Y-%m-%d')", "epoch": "UNIX_TIMESTAMP(ts)",
    },
}


def missing_function(engine: str, name: str | None, message: str) -> errors.UnknownFunction:
    """The error for a function the engine says it lacks, with the engine's equivalent if known."""
    engine_name = ENGINE_NAMES.get(engine, engine)
    equivalent = ENGINE_EQUIVALENTS.get(engine, {}).get((name or "").lower())
    hint = (f"On {engine_name} use {equivalent} ({name.upper()} is not {engine_name} SQL)." if name and equivalent
            else f"Use a function {engine_name} has (check the name and the number of arguments).")
    return errors.UnknownFunction(message, hint=hint)
