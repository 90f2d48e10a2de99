"""The short answer shown above the table: built from the returned rows only, so it cannot say
anything the data does not (no model call, nothing invented)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def summarize(explanation: str, df: "pd.DataFrame | None", truncated: bool = False) -> str:
    explanation = (explanation or "").strip()
    if df is None:
        return explanation
    finding = _finding(df, truncated)
    if not finding:
        return explanation
    return f"{explanation.rstrip('.')}. {finding}" if explanation else finding


def _finding(df: "pd.DataFrame", truncated: bool) -> str:
    rows, cols = df.shape
    if rows == 0:
        return "No rows match."
    if rows == 1 and cols == 1:
        return f"Answer: {_fmt(df.iat[0, 0])}."
    if rows == 1:
        pairs = ", ".join(f"{c} = {_fmt(df.iat[0, i])}" for i, c in enumerate(df.columns[:4]))
        return f"Result: {pairs}."
    numeric = [c for c in df.columns if _is_number_column(df[c])]
    labels = [c for c in df.columns if c not in numeric]
    if cols == 2 and len(labels) == 1 and len(numeric) == 1 and not truncated:
        label, measure = labels[0], numeric[0]
        ordered = df[[label, measure]].dropna().sort_values(measure, ascending=False)
        if len(ordered) >= 2:
            top, bottom = ordered.iloc[0], ordered.iloc[-1]
            return (f"Highest: {_fmt(top[label])} ({_fmt(top[measure])}); lowest: {_fmt(bottom[label])} "
                    f"({_fmt(bottom[measure])}) across {len(ordered)} {label} values.")
    return f"{rows:,}{'+' if truncated else ''} rows."


def _is_number_column(series: "pd.Series") -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "none"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
