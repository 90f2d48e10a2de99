"""A chart that aggregates is computed in the engine when the table was cut at the row cap.

The result frame holds only the first `max_rows` rows; summing or averaging those per key would
draw a silently partial chart. Instead the chart's own aggregation (`ChartChoice.aggregate` per
x/colour key) runs as SQL over the checked query — without the cap — and only one row per group
comes back: `SELECT key, SUM(y) AS y, COUNT(*) AS n FROM (<checked query>) GROUP BY key`. The SQL
is built with sqlglot expressions, checked again by the guard and run by the same executor under a
small row cap. Charts that draw rows as they are (scatters, a line of distinct points) keep the
first rows and say so.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

if TYPE_CHECKING:
    import pandas as pd

    from ..connections.base import Adapter
    from .choose import ChartChoice

ROWS_COLUMN = "_qg_rows"   # the per-group row count the aggregation also returns


@dataclass(frozen=True)
class EngineChart:
    """The per-group frame the engine returned (before the chart's top-N/ordering)."""

    data: "pd.DataFrame"
    sql: str            # the text that ran (checked, capped)
    rows_read: int      # rows transferred from the engine for the chart
    total_rows: int     # rows of the full result the chart covers


def keys_of(choice: "ChartChoice") -> list[str]:
    """The columns rows are grouped by, as `choose._reduce` groups them."""
    keys = [choice.color] if choice.mark == "arc" else [choice.x, choice.color]
    return list(dict.fromkeys(k for k in keys if k and k != choice.y))


def aggregation_query(choice: "ChartChoice", checked: exp.Expression) -> exp.Select | None:
    """The chart's aggregation over `checked` (a checked query, without the row cap), or None
    when the chart does not aggregate rows."""
    keys = keys_of(choice)
    if choice.mark == "point" or choice.ranked or not choice.aggregate or not keys or not choice.y:
        return None
    function = {"sum": exp.Sum, "mean": exp.Avg}.get(choice.aggregate)
    if function is None:
        return None
    inner = checked.copy()
    if isinstance(inner, exp.Select) and not inner.args.get("limit") and not inner.args.get("offset"):
        inner.set("order", None)     # no meaning inside a GROUP BY's source; some engines refuse it there
    source = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_qg_chart")))
    columns = [exp.column(k, quoted=True) for k in keys]
    measure = exp.alias_(function(this=exp.column(choice.y, quoted=True)), choice.y, quoted=True)
    rows = exp.alias_(exp.Count(this=exp.Star()), ROWS_COLUMN, quoted=True)
    return exp.select(*columns, measure, rows).from_(source).group_by(*[c.copy() for c in columns])


def run_aggregation(choice: "ChartChoice", checked: exp.Expression, adapter: "Adapter", *, max_groups: int,
                    timeout_s: float, allowed_paths=()) -> EngineChart | None:
    """Run the chart's aggregation through the guard and executor; None when the chart does not
    aggregate or has more groups than `max_groups` (then the table's first rows are drawn)."""
    from ..sql import guard
    from ..sql.execute import run_query

    query = aggregation_query(choice, checked)
    if query is None:
        return None
    policy = guard.GuardPolicy(dialect=adapter.dialect, allowed_paths=allowed_paths)
    rechecked = guard.check(guard.render(query, adapter.dialect), policy)   # the same wall as any query
    result = run_query(adapter, rechecked, max_rows=max_groups, timeout_s=timeout_s)
    if result.truncated:
        return None
    data = result.df
    total = int(data[ROWS_COLUMN].fillna(0).astype("int64").sum()) if len(data) else 0
    return EngineChart(data.drop(columns=[ROWS_COLUMN]), result.sql, len(data), total)


def chart_over_all_rows(choice: "ChartChoice", engine: EngineChart, why_not: str | None, shown_rows: int,
                        max_rows: int) -> tuple["ChartChoice", "pd.DataFrame"]:
    """The choice (its note rewritten) and the frame to draw from the engine's groups."""
    from .choose import _reduce

    keys = keys_of(choice)
    flat = dataclasses.replace(choice, aggregate=None)     # one row per group already
    data, reduced = _reduce(flat, engine.data, max_rows, _top_n())
    how = "Averaged" if choice.aggregate == "mean" else "Summed"
    covers = (f"{how} all {engine.total_rows:,} rows per {' and '.join(keys)} in the database: the chart covers "
              f"every row, the table shows the first {shown_rows:,}.")
    note = " ".join(n for n in (why_not, covers, reduced) if n)
    return dataclasses.replace(choice, note=note), data


def first_rows_note(shown_rows: int) -> str:
    return f"The chart shows the first {shown_rows:,} rows only (the table's); the query returns more."


def why_not_part(choice: "ChartChoice", df: "pd.DataFrame", max_rows: int) -> str | None:
    """The why-not sentence of `choice.note` (what `decide_chart` put before the reduction note)."""
    from .choose import _normalized, _reduce

    if not choice.note:
        return None
    _, reduced = _reduce(choice, _normalized(df), max_rows, _top_n())
    if reduced and choice.note.endswith(reduced):
        return choice.note[: -len(reduced)].strip() or None
    return choice.note if not reduced else None


def _top_n() -> int:
    from .choose import TOP_N

    return TOP_N
