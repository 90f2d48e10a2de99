"""Build the catalogue of a connection: tables, columns, keys, row counts, sample values of
low-cardinality text columns and the values index (the most frequent distinct values of every
text column, capped, for schema_context's value matching), cached by the schema's fingerprint
(memory and disk)."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlglot import exp

from .. import errors
from ..paths import data_home
from .catalog import Catalog, Table, fingerprint_of

if TYPE_CHECKING:
    from .base import Adapter

SAMPLE_MAX_DISTINCT = 30   # a text column with at most this many values is "low-cardinality"
SAMPLES_PER_COLUMN = 10
VALUES_PER_COLUMN = 100    # the values index keeps a text column's this many most frequent values
VALUE_CHARS = 80           # longer texts are prose, not values a question names
QUERY_TIMEOUT_S = 10.0
# Server adapters give the planner's row estimate in Table.row_count. Above this many rows the
# estimate is kept and samples come from the first SAMPLE_SCAN_ROWS rows, not a full scan.
EXACT_COUNT_MAX_ROWS = 100_000
SAMPLE_SCAN_ROWS = 10_000

_memory: dict[tuple, Catalog] = {}


def introspect(adapter: "Adapter", *, use_cache: bool = True) -> Catalog:
    """The catalogue, cached by the schema's fingerprint. An adapter with a `data_version` (the
    DataFrames of a namespace) is cached by that too, and only in memory: equal columns do not
    mean equal rows, and the analyst's frames are not written to disk."""
    tables = adapter.schema()
    fingerprint = fingerprint_of(adapter.dialect, [(t.name, c.name, c.type) for t in tables for c in t.columns])
    version = getattr(adapter, "data_version", None)
    key = (adapter.label, fingerprint) if version is None else (adapter.label, fingerprint, version)
    if use_cache:
        cached = _memory.get(key) or (_read_disk(key) if version is None else None)
        if cached is not None:
            _memory[key] = cached
            return cached
    values: dict[str, dict[str, tuple]] = {}
    catalog = Catalog(adapter.dialect, fingerprint, tuple(_with_statistics(adapter, t, values) for t in tables),
                      values=values)
    if version is None:
        _write_disk(key, catalog)
    else:   # frames change often: keep only their latest version in memory
        for stale in [k for k in _memory if len(k) == 3 and k[0] == adapter.label]:
            del _memory[stale]
    _memory[key] = catalog
    return catalog


def _with_statistics(adapter: "Adapter", table: Table, values: dict | None = None) -> Table:
    """Row count, and distinct samples of text columns with few values: one query, then one per
    text column (its most frequent values: samples when it has few, the values index always)."""
    from .running import run_blocking

    source = _source(adapter, table)
    text_columns = [c for c in table.columns if c.is_text]
    projections = [exp.alias_(exp.func("COUNT", exp.Star()), "n", quoted=True)]
    projections += [
        exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column(c.name, quoted=True)])), f"d{i}", quoted=True)
        for i, c in enumerate(text_columns)
    ]
    try:
        counts = run_blocking(adapter, exp.select(*projections).from_(source).sql(adapter.dialect), QUERY_TIMEOUT_S)
    except errors.QueryGPTError:
        return table
    row = counts.iloc[0].tolist()
    row_count = table.row_count if _is_big(table) or not _counts_rows(adapter) else int(row[0])
    samples: dict[str, tuple] = {}
    for column, distinct in zip(text_columns, row[1:]):
        if not 0 < int(distinct):
            continue
        ident = exp.column(column.name, quoted=True)
        query = (
            exp.select(ident).from_(source).where(ident.is_(exp.null()).not_())
            .group_by(ident).order_by(exp.func("COUNT", exp.Star()).desc(), ident)
            .limit(SAMPLES_PER_COLUMN if values is None else VALUES_PER_COLUMN)
        )
        try:
            found = run_blocking(adapter, query.sql(adapter.dialect), QUERY_TIMEOUT_S).iloc[:, 0].tolist()
        except errors.QueryGPTError:
            continue
        if int(distinct) <= SAMPLE_MAX_DISTINCT:
            samples[column.name] = tuple(found[:SAMPLES_PER_COLUMN])
        if values is not None:
            kept = tuple(v for v in found if isinstance(v, str) and 0 < len(v) <= VALUE_CHARS)
            if kept:
                values.setdefault(table.name, {})[column.name] = kept
    columns = tuple(replace(c, samples=samples.get(c.name, ())) for c in table.columns)
    return replace(table, row_count=row_count, columns=columns)


def _counts_rows(adapter: "Adapter") -> bool:
    """False for engines where a full count is a cluster job (Spark): their row counts come
    from the catalogue's statistics only, and samples from the first rows."""
    return getattr(adapter, "counts_rows", True)


def _is_big(table: Table) -> bool:
    return table.row_count is not None and table.row_count > EXACT_COUNT_MAX_ROWS


def _source(adapter: "Adapter", table: Table) -> exp.Expression:
    """What the statistics read: the table (in its schema, when the adapter knows one), or only
    its first rows when the engine estimates it to be big."""
    reference = getattr(adapter, "table_reference", None)
    source = reference(table.name) if reference else exp.Table(this=exp.to_identifier(table.name, quoted=True))
    if not _is_big(table) and _counts_rows(adapter):
        return source
    return exp.select("*").from_(source).limit(SAMPLE_SCAN_ROWS).subquery("_first_rows")


def _disk_path(key: tuple[str, str]) -> str:
    label_hash = hashlib.sha256(key[0].encode()).hexdigest()[:16]
    return os.path.join(data_home(), "catalogs", f"{label_hash}-{key[1]}.json")


def _read_disk(key: tuple[str, str]) -> Catalog | None:
    try:
        with open(_disk_path(key)) as f:
            data = json.load(f)
        if "values" not in data:   # written before the values index: build it once more
            return None
        return Catalog.from_dict(data)
    except (OSError, ValueError, KeyError):
        return None


def _write_disk(key: tuple[str, str], catalog: Catalog) -> None:
    path = _disk_path(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(catalog.to_dict(values=True), f)
    os.replace(tmp, path)
