"""What every engine adapter offers: run read-only SQL, cancel it, describe its schema.

Engine differences (read-only wall, cancel, catalogue queries, error classes) live in one small
adapter per engine; everything above this layer is engine-agnostic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from ..errors import QueryGPTError
    from .catalog import Table


@dataclass(frozen=True)
class SchemaColumn:
    """One row of a cheap schema listing: enough to fingerprint and to build the catalogue."""

    table: str
    column: str
    type: str
    comment: str | None = None
    primary_key: bool = False


class Adapter(Protocol):
    kind: str        # "duckdb", "sqlite", "sqlalchemy"
    dialect: str     # sqlglot dialect name
    label: str       # safe to show and store: never contains a password

    def fetch(self, sql: str, timeout_s: float | None = None) -> "pd.DataFrame":
        """Run one already-checked query inside the engine's read-only wall; blocking. Engines
        with a server-side limit (statement_timeout, max_statement_time) set it to `timeout_s`;
        the caller also cancels from the client side when it runs out. Adapters with
        `reads_within_budget = True` also take `budget=` (connections/budget.py) and stop reading when
        it is spent; for the others the byte caps are applied after the fetch."""

    def interrupt(self) -> None:
        """Cancel the query running in another thread; the connection must stay usable."""

    def schema(self) -> "list[Table]":
        """Tables with columns, keys and comments (no row counts or samples: introspect adds them)."""

    def classify(self, error: BaseException) -> "QueryGPTError":
        """Map an engine exception to the product's error codes."""

    def close(self) -> None: ...
