"""Result values outside the DataFrame: JSON that always parses (blobs, HUGEINT/Decimal, NaN and
infinities, dates, nested lists/structs/maps) with every digit kept, and blobs as readable text.

`--json`, `Answer.to_dict()` and the tables the CLI and the notebook print all go through here, so
one odd value never costs the analyst their answer (or a traceback)."""
from __future__ import annotations

import datetime
import decimal
import math
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def blob_text(value: bytes | bytearray | memoryview) -> str:
    """A blob as DuckDB writes one: printable ASCII as is, every other byte as \\xNN."""
    raw = bytes(value)
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in raw)


def json_value(value: Any) -> Any:
    """One value as plain JSON types. Floats keep all their digits (json writes repr); NaN and
    infinities, which JSON lacks, become null; a Decimal keeps its exact text when a float would
    lose digits; blobs become their text form (blob_text)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return blob_text(value)
    if isinstance(value, dict):
        return {str(json_value(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return _other(value)


def _decimal(value: decimal.Decimal) -> Any:
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if decimal.Decimal(repr(as_float)) == value else str(value)


def _other(value: Any) -> Any:
    """numpy and pandas scalars and arrays, timedeltas, and anything else as its text."""
    import numpy as np
    import pandas as pd

    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.ndarray):
        return [json_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return json_value(value.item())
    if isinstance(value, pd.Timestamp):
        return timestamp_text(value)
    if isinstance(value, (pd.Timedelta, datetime.timedelta)):
        return pd.Timedelta(value).isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def timestamp_text(value: "pd.Timestamp") -> str:
    """ISO 8601 as pandas' JSON writes it (milliseconds, UTC as Z), with microseconds when present."""
    if value.tzinfo is not None:
        value = value.tz_convert("UTC")
    try:
        text = value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    except (NotImplementedError, ValueError):   # beyond Python's datetime (DuckDB's 'infinity' arrives as year 294247)
        text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
                f"{value.second:02d}.{value.microsecond:06d}")
    if value.microsecond % 1000 == 0:
        text = text[:-3]
    return text + ("Z" if value.tzinfo is not None else "")


def json_rows(df: "pd.DataFrame") -> list[list[Any]]:
    """The rows of `df` as lists of JSON values, column by column (vectorised where the dtype
    allows), then transposed."""
    columns = []
    for _, series in df.items():
        kind = series.dtype.kind
        if kind in "iub":
            values = series.tolist()
        elif kind == "f":
            values = [v if math.isfinite(v) else None for v in series.tolist()]
        elif kind == "M":
            values = [None if v is None else timestamp_text(v) for v in series.astype(object).where(series.notna(), None)]
        else:
            values = [json_value(v) for v in series.astype(object).tolist()]
        columns.append(values)
    if not columns:
        return [[] for _ in range(len(df))]
    return [list(row) for row in zip(*columns)] if len(df) else []

