"""pandas DataFrames as tables: what DuckDB needs so that a frame reads like the analyst sees it.

DuckDB scans most dtypes itself (object columns of strings, pandas 3's `str`, categoricals,
nullable integers, datetimes with a time zone, Arrow-backed columns). It ignores the index and
refuses a few dtypes outright; those are adapted here, without copying the data that is fine."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import pandas as pd


def is_dataframe(obj: Any) -> bool:
    """A pandas DataFrame, recognised without importing pandas (the namespace is checked often)."""
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == "DataFrame"


def as_registrable(frame: "pd.DataFrame") -> "pd.DataFrame":
    """The frame as DuckDB should see it: a meaningful index (named, e.g. after a groupby) as
    columns, column labels as unique strings, and dtypes DuckDB cannot scan (periods, intervals,
    sparse, complex numbers) converted. Unchanged frames are returned as they are."""
    out = frame
    if _index_is_data(out):
        out = out.reset_index()
    labels = _unique([_label(c) for c in out.columns])
    if labels != list(out.columns):
        out = out.set_axis(labels, axis=1)
    converted = {i: _scannable(out.iloc[:, i]) for i in range(out.shape[1]) if _needs_conversion(out.dtypes.iloc[i])}
    if converted:
        out = out.copy(deep=False)
        for i, series in converted.items():
            out.isetitem(i, series)
    return out


SAMPLED_ROWS = 1_000   # rows hashed to notice a frame changed in place (a column upper-cased, mapped)


def data_version(frame: "pd.DataFrame") -> str:
    """A cheap token that changes when the frame does: its shape, dtypes and a hash of up to
    SAMPLED_ROWS evenly spaced rows. Catalogues (row counts, sample values) are cached per token."""
    import pandas as pd

    step = max(1, len(frame) // SAMPLED_ROWS)
    try:
        digest = int(pd.util.hash_pandas_object(frame.iloc[::step], index=False).sum())
    except (TypeError, ValueError):   # unhashable cells (lists, dicts): hash their text instead
        digest = int(pd.util.hash_pandas_object(frame.iloc[::step].astype(str), index=False).sum())
    return f"{frame.shape}:{tuple(map(str, frame.dtypes))}:{digest}"


def shared_time_zone(frames: Iterable["pd.DataFrame"]) -> str | None:
    """The one time zone of every tz-aware datetime column, or None (no such column, or several
    zones): DuckDB then shows timestamps, and truncates them to days, in that zone, as pandas does."""
    zones = {str(dtype.tz) for frame in frames for dtype in frame.dtypes if getattr(dtype, "tz", None) is not None}
    return zones.pop() if len(zones) == 1 else None


def _index_is_data(frame: "pd.DataFrame") -> bool:
    """Named index levels (a groupby's keys, `set_index("day")`), or an unnamed time index, hold
    data; a plain row number does not."""
    import pandas as pd

    index = frame.index
    names = [n for n in index.names if n is not None]
    if names and len(names) == index.nlevels:
        return not {str(n) for n in names} & {str(c) for c in frame.columns}
    return index.nlevels == 1 and isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) and "index" not in frame.columns


def _label(column: Any) -> str:
    if isinstance(column, tuple):   # MultiIndex columns: ("sales", "sum") → "sales_sum"
        return "_".join(str(part) for part in column if str(part) != "")
    return str(column)


def _unique(labels: list[str]) -> list[str]:
    """Column names SQL can tell apart (DuckDB compares them case-insensitively): a repeat gets _1, _2…"""
    taken: set[str] = set()
    out = []
    for label in labels:
        name, n = label, 0
        while name.lower() in taken:
            n += 1
            name = f"{label}_{n}"
        taken.add(name.lower())
        out.append(name)
    return out


def _needs_conversion(dtype: Any) -> bool:
    import pandas as pd

    return isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype, pd.SparseDtype)) or getattr(dtype, "kind", "") == "c"


def _scannable(series: "pd.Series") -> "pd.Series":
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.PeriodDtype):
        return series.dt.start_time          # a month period → the month's first instant: dates still work
    if isinstance(dtype, pd.SparseDtype):
        return series.sparse.to_dense()
    return series.astype("string")           # intervals, complex numbers: shown as text
