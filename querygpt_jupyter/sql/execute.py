"""Run a checked query: row cap in the SQL, a timeout that really cancels, Ctrl-C that leaves the
connection usable, results to pandas (through Arrow where the engine offers it)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..connections.budget import ByteCaps
from ..connections.running import run_blocking

if TYPE_CHECKING:
    import pandas as pd

    from ..connections.base import Adapter


@dataclass(frozen=True)
class QueryResult:
    df: "pd.DataFrame"
    truncated: bool
    sql: str            # the text that ran: rendered from the checked AST (with the cap), verified
    elapsed_ms: float
    notes: tuple[str, ...] = ()   # what the byte caps cut, for the answer


def cap(query: exp.Expression, max_rows: int) -> exp.Expression:
    """The query limited to `max_rows + 1` rows, so the engine stops early and we can tell
    whether it cut. A smaller LIMIT of the user's own is kept; ORDER BY keeps its meaning."""
    limit = max_rows + 1
    if isinstance(query, (exp.Select, exp.SetOperation)):
        existing = query.args.get("limit")
        if existing is None:
            return query.copy().limit(limit)
        value = existing.expression if isinstance(existing, exp.Limit) else None
        if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= max_rows:
            return query
    wrapped = exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier("_capped")))
    return exp.select("*").from_(wrapped).limit(limit)


def run_query(adapter: "Adapter", query: exp.Expression, *, max_rows: int, timeout_s: float,
              byte_caps: ByteCaps = ByteCaps()) -> QueryResult:
    from . import guard

    capped = query if isinstance(query, guard.Unchecked) else cap(query, max_rows)
    sql = guard.executable_sql(capped, adapter.dialect)  # refused unless it re-parses as `capped`
    started = time.perf_counter()
    if getattr(adapter, "reads_within_budget", False):
        # The adapter stops reading at the caps (connections/budget.py): memory follows the caps, not the result.
        from ..connections.budget import Budget

        budget = Budget(byte_caps)
        df = run_blocking(adapter, sql, timeout_s, budget=budget)
        cut_rows, notes = budget.spent, budget.notes()
    else:  # an adapter that reads everything first: cut afterwards
        df = run_blocking(adapter, sql, timeout_s)
        df, cut_rows, notes = limit_bytes(df, byte_caps)
    truncated = len(df) > max_rows
    if truncated:
        df = df.iloc[:max_rows]
        notes = (*notes, f"Only the first {max_rows:,} rows are kept: the query returns more (Ask.max_rows).")
    return QueryResult(df, truncated or cut_rows, sql, (time.perf_counter() - started) * 1000, notes)


def limit_bytes(df: "pd.DataFrame", caps: ByteCaps) -> "tuple[pd.DataFrame, bool, tuple[str, ...]]":
    """Cut text and blob values longer than `caps.cell` (marked with "…"), then keep the first
    rows that fit in `caps.total` bytes. Returns (frame, rows were dropped, notes). Numeric
    columns cost their item size; only text-like columns are measured value by value."""
    import numpy as np

    from ..connections.budget import cut_value, size_text

    sizes = np.zeros(len(df), dtype=np.int64)
    cut_columns: list[str] = []
    replaced: dict[int, "pd.Series"] = {}
    for position, (name, series) in enumerate(df.items()):
        kind = series.dtype.kind
        if kind in "biufcmM":
            sizes += series.dtype.itemsize
            continue
        lengths = _lengths(series)
        sizes += lengths + 16
        if len(lengths) and lengths.max() > caps.cell:
            replaced[position] = series.map(lambda v: cut_value(v, caps.cell))
            cut_columns.append(str(name))
            sizes += np.minimum(lengths, caps.cell) - lengths
    if replaced:
        df = df.copy()
        for position, series in replaced.items():
            df.isetitem(position, series)
    notes: list[str] = []
    if cut_columns:
        notes.append(f"Values longer than {size_text(caps.cell)} were cut (column{'s' if len(cut_columns) > 1 else ''} "
                     f"{', '.join(cut_columns)}); raise Ask.max_cell_kb to keep more.")
    total = np.cumsum(sizes)
    if len(total) and total[-1] > caps.total:
        keep = int(np.searchsorted(total, caps.total, side="right"))
        notes.append(f"Only the first {keep:,} of {len(df):,} rows are kept: the result is larger than "
                     f"{size_text(caps.total)} (Ask.max_result_mb).")
        return df.iloc[:keep], True, tuple(notes)
    return df, False, tuple(notes)


def _lengths(series: "pd.Series"):
    """Bytes of each value (about: characters for text), 0 for missing; vectorised for text dtypes."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.StringDtype):
        return series.str.len().fillna(0).to_numpy(dtype=np.int64)
    from ..connections.budget import value_length

    return np.fromiter((value_length(v) for v in series.array), dtype=np.int64, count=len(series))

