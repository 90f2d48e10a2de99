"""The catalogue: what introspection found, as frozen dataclasses.

This is the one typed hand-off between introspection and prompting (planner, LLM prompts, `%ask
tables`, `querygpt schema --json`). Its `to_dict()` is the contract's JSON shape.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str | None = None
    primary_key: bool = False
    samples: tuple[Any, ...] = ()

    @property
    def is_text(self) -> bool:
        return any(word in self.type.upper() for word in ("CHAR", "TEXT", "STRING", "VARCHAR", "ENUM"))

    @property
    def is_numeric(self) -> bool:
        upper = self.type.upper()
        return any(word in upper for word in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "NUMERIC", "REAL", "HUGEINT"))

    @property
    def is_temporal(self) -> bool:
        upper = self.type.upper()
        return any(word in upper for word in ("DATE", "TIME"))


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    references: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    comment: str | None = None
    row_count: int | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


@dataclass(frozen=True)
class Catalog:
    dialect: str
    fingerprint: str
    tables: tuple[Table, ...] = field(default_factory=tuple)
    # the values index: {table: {column: (most frequent distinct values, …)}}; kept in the
    # schema cache, left out of to_dict() (the ▶ document) unless asked for
    values: Mapping[str, Mapping[str, tuple]] | None = field(default=None, compare=False, repr=False)

    def table(self, name: str) -> Table | None:
        lowered = name.lower()
        return next((t for t in self.tables if t.name.lower() == lowered), None)

    def to_dict(self, values: bool = False) -> dict:
        if values:
            return {**self.to_dict(), "values": {t: {c: [_json_safe(v) for v in vs] for c, vs in cs.items()}
                                                 for t, cs in (self.values or {}).items()}}
        return {
            "dialect": self.dialect,
            "fingerprint": self.fingerprint,
            "tables": [
                {
                    "name": t.name,
                    "comment": t.comment,
                    "row_count": t.row_count,
                    "columns": [
                        {"name": c.name, "type": c.type, "comment": c.comment,
                         "primary_key": c.primary_key, "samples": [_json_safe(s) for s in c.samples]}
                        for c in t.columns
                    ],
                    "foreign_keys": [
                        {"columns": list(fk.columns), "references": fk.references, "ref_columns": list(fk.ref_columns)}
                        for fk in t.foreign_keys
                    ],
                }
                for t in self.tables
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Catalog":
        stored = data.get("values")
        return cls(
            values={t: {c: tuple(vs) for c, vs in cs.items()} for t, cs in stored.items()} if stored else None,
            dialect=data["dialect"],
            fingerprint=data["fingerprint"],
            tables=tuple(
                Table(
                    name=t["name"],
                    comment=t.get("comment"),
                    row_count=t.get("row_count"),
                    columns=tuple(
                        Column(c["name"], c["type"], c.get("comment"), bool(c.get("primary_key")), tuple(c.get("samples") or ()))
                        for c in t["columns"]
                    ),
                    foreign_keys=tuple(
                        ForeignKey(tuple(fk["columns"]), fk["references"], tuple(fk["ref_columns"]))
                        for fk in t.get("foreign_keys") or ()
                    ),
                )
                for t in data["tables"]
            ),
        )


def fingerprint_of(dialect: str, columns: Iterable[tuple[str, str, str]]) -> str:
    """A short, stable hash of (table, column, type) triples: equal schemas share cached catalogues."""
    digest = hashlib.sha256(dialect.encode())
    for table, column, type_ in sorted(columns):
        digest.update(json.dumps([table, column, type_]).encode())
    return digest.hexdigest()[:16]


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
