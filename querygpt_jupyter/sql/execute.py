"""Run a checked query: row cap in the SQL, a timeout that really cancels, Ctrl-C that leaves the
connection usable, results to pandas (through Arrow where the engine offers it)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .. import errors

if TYPE_CHECKING:
    import pandas as pd

    from ..connections.base import Adapter


@dataclass(frozen=True)
class QueryResult:
    df: "pd.DataFrame"
    truncated: bool
    sql: str            # the text that ran: rendered from the checked AST (with the cap), verified
    elapsed_ms: float


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


def run_query(adapter: "Adapter", query: exp.Expression, *, max_rows: int, timeout_s: float) -> QueryResult:
    from . import guard

    capped = query if isinstance(query, guard.Unchecked) else cap(query, max_rows)
    sql = guard.executable_sql(capped, adapter.dialect)  # refused unless it re-parses as `capped`
    started = time.perf_counter()
    df = run_blocking(adapter, sql, timeout_s)
    truncated = len(df) > max_rows
    if truncated:
        df = df.iloc[:max_rows]
    return QueryResult(df, truncated, sql, (time.perf_counter() - started) * 1000)


def run_blocking(adapter: "Adapter", sql: str, timeout_s: float) -> Any:
    """`adapter.fetch(sql)` in a worker thread, so that a timeout or Ctrl-C can cancel it with the
    engine's own interrupt while this thread stays responsive."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = adapter.fetch(sql, timeout_s=timeout_s)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="querygpt-query", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s
    try:
        while worker.is_alive():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _cancel(adapter, worker)
                raise errors.QueryTimeout(f"The query ran longer than {timeout_s:g} s and was cancelled.")
            worker.join(min(remaining, 0.25))
    except KeyboardInterrupt:
        _cancel(adapter, worker)
        raise errors.QueryCancelled("The query was stopped (interrupted).") from None
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, errors.QueryGPTError):
            raise error
        raise adapter.classify(error) from None
    return outcome["value"]


def _cancel(adapter: "Adapter", worker: threading.Thread) -> None:
    adapter.interrupt()
    worker.join(10)
