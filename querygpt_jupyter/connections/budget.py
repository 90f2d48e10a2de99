"""The byte budget of one result, spent while it is read: every engine's fetch hands rows or Arrow
batches to a `Budget` as they arrive and stops reading when it is spent, so memory follows the
caps (`Ask.max_cell_kb`, `Ask.max_result_mb`), not the size of what the query produced.

Values longer than the cell cap are cut (text marked with "…"); rows stop at the total cap.
Sizes are bytes of text and blobs plus a fixed cost per value, the same rule for every engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


VALUE_COST = 16             # bytes counted per text/blob value on top of its own length, and per other value
BATCH_BYTES = 16 * 2**20    # rows asked of a driver at once: about this many bytes, judged by the rows seen so far
MAX_BATCH_ROWS = 10_000
MARK = "…"


@dataclass(frozen=True)
class ByteCaps:
    """Most bytes of result kept: per text/blob value, and in total (rows beyond are dropped)."""

    cell: int = 1024 * 1024
    total: int = 256 * 1024 * 1024


class Budget:
    """What one result may still take. Feed it rows (`take_rows`) or Arrow batches (`take_batch`)
    in order; `spent` turns true when the total cap cut rows, and then the caller stops reading."""

    def __init__(self, caps: ByteCaps):
        self.caps = caps
        self.restart()

    def restart(self) -> None:
        """Nothing spent: for a reader that starts the result over."""
        self.used = 0
        self.rows_kept = 0
        self.spent = False
        self.cut_columns: dict[str, None] = {}   # ordered set of columns whose values were cut

    # -- rows from a DB-API cursor --------------------------------------------------------------
    def take_rows(self, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[tuple]:
        """The rows that fit, with long values cut; marks the budget spent at the first row that
        does not fit (that row and the rest are dropped)."""
        kept: list[tuple] = []
        for row in rows:
            size = 0
            values = list(row)
            for i, value in enumerate(values):
                length = value_length(value)
                if length > self.caps.cell and isinstance(value, (str, bytes, bytearray, memoryview)):
                    values[i] = cut_value(value, self.caps.cell)
                    self.cut_columns.setdefault(str(names[i]) if i < len(names) else str(i))
                    length = self.caps.cell
                size += length + VALUE_COST
            if self.used + size > self.caps.total:
                self.spent = True
                break
            self.used += size
            kept.append(tuple(values))
        self.rows_kept += len(kept)
        return kept

    # -- Arrow record batches -------------------------------------------------------------------
    def take_batch(self, batch: "pa.RecordBatch") -> "pa.RecordBatch":
        """The batch's first rows that fit, with long text and blob values cut. Cheap when
        nothing is long and the batch fits: sizes per row are computed only when needed."""
        import numpy as np
        import pyarrow as pa

        columns = [self._cut(name, column) for name, column in zip(batch.schema.names, batch.columns)]
        batch = pa.RecordBatch.from_arrays(columns, schema=_schema_of(batch.schema, columns))
        whole = sum(_span(column) for column in columns) + VALUE_COST * batch.num_rows * max(1, len(columns))
        if self.used + whole <= self.caps.total:
            self.used += whole
            self.rows_kept += batch.num_rows
            return batch
        sizes = np.full(batch.num_rows, VALUE_COST * max(1, len(columns)), dtype=np.int64)
        for column in columns:
            sizes += _lengths(column)
        total = np.cumsum(sizes) + self.used
        keep = int(np.searchsorted(total, self.caps.total, side="right"))
        self.spent = keep < batch.num_rows
        self.used = int(total[keep - 1]) if keep else self.used
        self.rows_kept += keep
        return batch.slice(0, keep)

    def _cut(self, name: str, column: "pa.Array") -> "pa.Array":
        if not (_is_text(column.type) or _is_blob(column.type)) or _span(column) <= self.caps.cell:
            return column   # no value can be longer than the cap
        import pyarrow.compute as pc

        longest = pc.max(pc.utf8_length(column) if _is_text(column.type) else pc.binary_length(column)).as_py()
        if longest is None or longest <= self.caps.cell:   # the cap counts characters of text
            return column
        self.cut_columns.setdefault(str(name))
        return _cut_column(column, self.caps.cell)

    # -- what the caps did -------------------------------------------------------------------------
    def notes(self) -> tuple[str, ...]:
        """One sentence per cap that cut something: which cap, why, and what to raise."""
        notes = []
        if self.cut_columns:
            columns = list(self.cut_columns)
            notes.append(f"Values longer than {size_text(self.caps.cell)} were cut (column{'s' if len(columns) > 1 else ''} "
                         f"{', '.join(columns)}); raise Ask.max_cell_kb to keep more.")
        if self.spent:
            notes.append(f"Only the first {self.rows_kept:,} rows are kept: the result is larger than "
                         f"{size_text(self.caps.total)} (Ask.max_result_mb), so the rest was not fetched.")
        return tuple(notes)


def read_rows(fetchmany: Callable[[int], Sequence[Sequence[Any]]], names: Sequence[str], budget: Budget | None,
              first: int = 1) -> "pd.DataFrame":
    """Rows from `fetchmany(n)` until the result ends or the budget is spent. The first request
    is for `first` rows; later ones for about BATCH_BYTES by the sizes seen so far, so that a
    result of 50 MB values is read one row at a time and a narrow one in large batches."""
    import pandas as pd

    kept: list[tuple] = []
    batch = max(1, first)
    seen_rows = seen_bytes = 0
    while budget is None or not budget.spent:
        rows = fetchmany(batch)
        if not rows:
            break
        seen_rows += len(rows)
        seen_bytes += sum(value_length(v) + VALUE_COST for row in rows for v in row)
        kept.extend(budget.take_rows(names, rows) if budget is not None else (tuple(r) for r in rows))
        del rows
        batch = int(min(MAX_BATCH_ROWS, max(1, BATCH_BYTES * seen_rows // max(seen_bytes, 1))))
    return pd.DataFrame.from_records(kept, columns=list(names))


def value_length(value: Any) -> int:
    """Bytes of one value as the budget counts them: text and blobs by length, others fixed."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, memoryview):
        return value.nbytes
    nbytes = getattr(value, "nbytes", None)   # numpy arrays (DuckDB lists)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, (list, tuple, dict)):
        return VALUE_COST * len(value)
    return 0


def cut_value(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + MARK
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) > limit:
        return bytes(value[:limit])
    return value


def _span(column: "pa.Array") -> int:
    """Bytes of text or blob values, or items of lists and maps times VALUE_COST, in the column:
    read off its offsets, without a pass over the values."""
    kind = column.type
    if _is_text(kind) or _is_blob(kind) or _is_list(kind):
        offsets = getattr(column, "offsets", None)
        if offsets is not None and len(offsets):
            span = int(offsets[len(offsets) - 1].as_py()) - int(offsets[0].as_py())
            return span * (VALUE_COST if _is_list(kind) else 1)
        return int(_lengths(column).sum())
    return 0


def _lengths(column: "pa.Array"):
    """Per value: bytes of text and blobs, items of lists and maps times VALUE_COST, else 0."""
    import numpy as np
    import pyarrow.compute as pc

    kind = column.type
    if _is_text(kind) or _is_blob(kind):
        return pc.fill_null(pc.binary_length(column), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    if _is_list(kind) and getattr(column, "offsets", None) is not None:
        return np.diff(column.offsets.to_numpy(zero_copy_only=False)).astype(np.int64) * VALUE_COST
    return np.zeros(len(column), dtype=np.int64)


def _is_list(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind)


def _cut_column(column: "pa.Array", limit: int) -> "pa.Array":
    import pyarrow.compute as pc

    if _is_blob(column.type):
        return pc.binary_slice(column, 0, limit)
    long = pc.greater(pc.utf8_length(column), limit)
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(column, 0, limit), MARK, "")
    return pc.if_else(long, cut, column)


def _schema_of(schema: "pa.Schema", columns: list) -> "pa.Schema":
    import pyarrow as pa

    return pa.schema([field.with_type(column.type) for field, column in zip(schema, columns)], metadata=schema.metadata)


def _is_text(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or getattr(pa.types, "is_string_view", lambda _: False)(kind)


def _is_blob(kind) -> bool:
    import pyarrow as pa

    return (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
            or getattr(pa.types, "is_binary_view", lambda _: False)(kind))


def size_text(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n / 2**10:g} KB"
