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
    df = _dates_at_their_grain(df)
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


def _dates_at_their_grain(df: "pd.DataFrame") -> "pd.DataFrame":
    """Date columns as text at the coarsest grain that tells their values apart: years stored as
    dates read "1982", not "1982-01-01 00:00:00"."""
    import datetime

    import pandas as pd

    dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])
             or (df[c].dtype == object and len(df[c].dropna())
                 and all(isinstance(v, datetime.date) for v in df[c].dropna().head(200)))]
    if not dates:
        return df
    df = df.copy()
    for c in dates:
        values = pd.to_datetime(df[c], errors="coerce")
        known = values.dropna()
        midnight = bool((known == known.dt.normalize()).all())
        if midnight and bool(((known.dt.month == 1) & (known.dt.day == 1)).all()):
            fmt = "%Y"
        elif midnight and bool((known.dt.day == 1).all()):
            fmt = "%Y-%m"
        elif midnight:
            fmt = "%Y-%m-%d"
        else:
            fmt = "%Y-%m-%d %H:%M"
        df[c] = values.dt.strftime(fmt).astype(object).where(values.notna(), None)
    return df


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
